//! HTTP behaviour of public reads: validators and 304s, cache policy, content coding, CORS, the
//! cache of published pages, `modified_after` and `fields`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::test::TestRequest;
use carta_tests::{app, app_for, get, send, state, TestDb};
use diesel_async::SimpleAsyncConnection;
use serde_json::Value;

const DETAIL: &str = "/v1/services/abrir-empresa";

fn with(uri: &str, headers: &[(&str, &str)]) -> actix_http::Request {
    let mut request = TestRequest::get().uri(uri);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    request.to_request()
}

async fn execute(db: &TestDb, sql: &str) {
    let mut conn = db.connect().await;
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[actix_web::test]
async fn public_reads_carry_strong_validators_and_answer_conditional_requests_with_304() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    // A change is dated once its second is over (see the undated answers test).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for uri in [
        DETAIL,
        "/v1/services?per_page=5",
        "/v1/services?q=empresa",
        "/v1/organizations",
        "/v1/topics",
        "/v1/locations",
        "/v1/search/suggest?q=emp",
    ] {
        let first = get(&app, uri).await;
        assert_eq!(first.status, 200, "{uri}: {}", first.text);
        let etag = first.header("etag").unwrap().to_owned();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "{uri}: strong tag {etag}"
        );
        let modified = first.header("last-modified").unwrap().to_owned();
        assert_eq!(
            first.header("cache-control"),
            Some("public, max-age=60, stale-while-revalidate=300"),
            "{uri}"
        );
        assert!(first.header("vary").unwrap().contains("Accept-Encoding"));

        // The same answer twice has the same tag (and a second instance would compute it too).
        assert_eq!(get(&app, uri).await.header("etag"), Some(etag.as_str()));

        let revalidated = send(&app, with(uri, &[("If-None-Match", &etag)])).await;
        assert_eq!(revalidated.status, 304, "{uri}");
        assert!(revalidated.text.is_empty());
        assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
        assert!(revalidated.header("cache-control").is_some());
        let listed = format!("\"other\", W/{etag}");
        let weak = send(&app, with(uri, &[("If-None-Match", &listed)])).await;
        assert_eq!(
            weak.status, 304,
            "{uri}: weak comparison, any tag of the list"
        );
        let other = send(&app, with(uri, &[("If-None-Match", "\"other\"")])).await;
        assert_eq!(other.status, 200, "{uri}");
        assert_eq!(other.text, first.text);

        let since = send(&app, with(uri, &[("If-Modified-Since", &modified)])).await;
        assert_eq!(since.status, 304, "{uri}");
        let before = send(
            &app,
            with(
                uri,
                &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
            ),
        )
        .await;
        assert_eq!(before.status, 200, "{uri}");
        // If-None-Match decides when both are given.
        let both = send(
            &app,
            with(
                uri,
                &[
                    ("If-None-Match", "\"other\""),
                    ("If-Modified-Since", &modified),
                ],
            ),
        )
        .await;
        assert_eq!(both.status, 200, "{uri}");
    }

    // A record read from the database for each request is validated by its tag alone: its
    // counts may change without the catalogue's last change date moving.
    let organization = get(&app, "/v1/organizations/detran-mt").await;
    let tag = organization.header("etag").unwrap().to_owned();
    assert!(organization.header("last-modified").is_none());
    let revalidated = send(
        &app,
        with("/v1/organizations/detran-mt", &[("If-None-Match", &tag)]),
    )
    .await;
    assert_eq!(revalidated.status, 304);

    // HEAD answers as GET does (the server sends no body for it).
    let head = send(
        &app,
        TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri(DETAIL)
            .to_request(),
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.header("etag").is_some());

    // Errors and probes are not validated.
    let missing = get(&app, "/v1/services/nao-existe").await;
    assert_eq!(missing.status, 404);
    assert!(missing.header("etag").is_none());
    let live = get(&app, "/health/live").await;
    assert_eq!(live.header("cache-control"), Some("no-store"));
    assert!(live.header("etag").is_none());
}

#[actix_web::test]
async fn a_publication_changes_the_tag_and_ends_the_304s() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let first = get(&app, DETAIL).await;
    let etag = first.header("etag").unwrap().to_owned();

    execute(
        &db,
        "UPDATE services SET name = 'Abrir empresa (novo nome)', \
         content = jsonb_set(content, '{name}', '\"Abrir empresa (novo nome)\"'), updated_at = now() \
         WHERE slug = 'abrir-empresa'",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();

    let after = send(&app, with(DETAIL, &[("If-None-Match", &etag)])).await;
    assert_eq!(after.status, 200, "the cached page was dropped");
    assert_eq!(after.json()["name"], "Abrir empresa (novo nome)");
    assert_ne!(after.header("etag"), Some(etag.as_str()));
}

#[actix_web::test]
async fn published_pages_are_served_from_memory_until_the_catalogue_changes() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let first = get(&app, DETAIL).await;
    assert_eq!(first.status, 200);
    let list = get(&app, "/v1/services?organization=sefaz-mt").await;

    // A write that bypasses the change log (triggers off) is not seen: the page is not read
    // from the database again...
    execute(
        &db,
        "SET session_replication_role = replica; \
         UPDATE services SET name = 'Renomeado por fora', \
         content = jsonb_set(content, '{name}', '\"Renomeado por fora\"') WHERE slug = 'abrir-empresa'; \
         UPDATE organizations SET name = 'Renomeada por fora' WHERE slug = 'sefaz-mt'",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&app, DETAIL).await.text, first.text);
    // An address from the change feed is read fresh.
    let fresh = get(&app, &format!("{DETAIL}?change=7")).await;
    assert_eq!(fresh.json()["name"], "Renomeado por fora");
    assert_eq!(get(&app, DETAIL).await.text, first.text, "and not kept");
    get(&app, &format!("{DETAIL}?change=x"))
        .await
        .problem(422, "invalid_query");
    get(&app, &format!("{DETAIL}?page=2"))
        .await
        .problem(422, "invalid_query");
    assert_eq!(
        get(&app, "/v1/services?organization=sefaz-mt").await.text,
        list.text
    );

    // ...until the change log says something changed, as any write through the catalogue does.
    execute(
        &db,
        "INSERT INTO catalogue_changes (entity, entity_id) \
         SELECT 'location', id::text FROM locations LIMIT 1",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if get(&app, DETAIL).await.json()["name"] == "Renomeado por fora" {
            break;
        }
        assert!(Instant::now() < deadline, "the page was never dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(
        get(&app, "/v1/services?organization=sefaz-mt").await.text,
        list.text
    );
}

fn decoded(coding: &str, body: &[u8]) -> String {
    let mut out = String::new();
    match coding {
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_string(&mut out)
            .unwrap(),
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_string(&mut out)
            .unwrap(),
        other => panic!("unexpected coding {other}"),
    };
    out
}

#[actix_web::test]
async fn bodies_are_compressed_as_negotiated_each_coding_with_its_own_tag() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let plain = get(&app, DETAIL).await;
    let plain_tag = plain.header("etag").unwrap().to_owned();
    for (accept, coding) in [
        ("br", "br"),
        ("gzip, deflate", "gzip"),
        ("gzip;q=0.5, br;q=1.0", "br"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let response =
            actix_web::test::call_service(&app, with(DETAIL, &[("Accept-Encoding", accept)])).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let body = actix_web::test::read_body(response).await;
        assert_eq!(
            headers.get(header::CONTENT_ENCODING).unwrap(),
            coding,
            "{accept}"
        );
        assert!(body.len() < plain.text.len() / 2, "{accept}: compressed");
        assert_eq!(decoded(coding, &body), plain.text, "{accept}");
        let tag = headers
            .get(header::ETAG)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(
            tag, plain_tag,
            "{accept}: another representation, another tag"
        );

        // The compressed form revalidates with its own tag.
        let again = send(
            &app,
            with(
                DETAIL,
                &[("Accept-Encoding", accept), ("If-None-Match", &tag)],
            ),
        )
        .await;
        assert_eq!(again.status, 304);
        assert!(again.header("content-encoding").is_none());
    }
    // Nothing acceptable but identity: identity.
    let identity = send(&app, with(DETAIL, &[("Accept-Encoding", "identity")])).await;
    assert!(identity.header("content-encoding").is_none());
    assert_eq!(identity.text, plain.text);
}

#[actix_web::test]
async fn any_origin_may_read_only_configured_origins_may_write() {
    let db = TestDb::seeded().await;
    let mut state = state(&db).await;
    state.cors_write_origins = vec!["https://editor.mt.gov.br".to_owned()].into();
    let app = app_for(state).await;
    let preflight = |origin: &str, method: &str| {
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri(DETAIL)
            .insert_header(("Origin", origin.to_owned()))
            .insert_header(("Access-Control-Request-Method", method.to_owned()))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, if-match, content-type",
            ))
            .to_request()
    };

    // A read from any page.
    let read = send(
        &app,
        with(DETAIL, &[("Origin", "https://prefeitura.example")]),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.header("access-control-allow-origin"),
        Some("https://prefeitura.example")
    );
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for name in ["etag", "link", "last-modified", "x-request-id"] {
        assert!(exposed.contains(name), "{name} exposed: {exposed}");
    }
    assert!(read.header("vary").unwrap().contains("Origin"));
    let reading = send(&app, preflight("https://prefeitura.example", "GET")).await;
    assert_eq!(reading.status, 200);
    assert_eq!(
        reading.header("access-control-allow-origin"),
        Some("https://prefeitura.example")
    );

    // A write only from the configured editor.
    let writing = send(&app, preflight("https://editor.mt.gov.br", "PATCH")).await;
    assert_eq!(writing.status, 200, "{}", writing.text);
    assert_eq!(
        writing.header("access-control-allow-origin"),
        Some("https://editor.mt.gov.br")
    );
    assert!(writing
        .header("access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
    let allowed = writing
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("if-match"));
    assert!(writing.header("access-control-max-age").is_some());
    assert!(writing.header("access-control-allow-credentials").is_none());

    let refused = send(&app, preflight("https://prefeitura.example", "PATCH")).await;
    refused.problem(403, "forbidden");
    assert!(refused.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn lists_take_modified_after_and_minimal_fields() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let all: Value = get(&app, "/v1/services?per_page=100&fields=id,updated_at")
        .await
        .json();
    let items = all["items"].as_array().unwrap();
    assert!(items.len() > 10);
    for item in items {
        let mut keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["id", "updated_at"]);
    }

    execute(
        &db,
        "UPDATE services SET updated_at = '2020-01-01T00:00:00Z'; \
         UPDATE services SET updated_at = '2026-06-01T00:00:00Z' WHERE slug = 'abrir-empresa'",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    for uri in [
        "/v1/services?modified_after=2025-01-01T00:00:00Z&fields=slug",
        "/v1/services?q=empresa&modified_after=2025-01-01T00:00:00%2B00:00&fields=slug",
    ] {
        let recent: Value = get(&app, uri).await.json();
        assert_eq!(recent["total"], 1, "{uri}: {recent}");
        assert_eq!(
            recent["items"][0],
            serde_json::json!({"slug": "abrir-empresa"})
        );
    }
    let later: Value = get(&app, "/v1/services?modified_after=2026-06-01T00:00:00Z")
        .await
        .json();
    assert_eq!(later["total"], 0, "strictly after");

    execute(
        &db,
        "UPDATE organizations SET updated_at = '2020-01-01T00:00:00Z'; \
         UPDATE organizations SET updated_at = '2026-06-01T00:00:00Z' WHERE slug = 'detran-mt'; \
         UPDATE locations SET updated_at = '2020-01-01T00:00:00Z'; \
         UPDATE locations SET updated_at = '2026-06-01T00:00:00Z' \
           WHERE id = (SELECT id FROM locations ORDER BY name LIMIT 1)",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let organizations: Value = get(
        &app,
        "/v1/organizations?modified_after=2025-01-01T00:00:00Z&fields=slug,updated_at",
    )
    .await
    .json();
    assert_eq!(organizations["total"], 1, "{organizations}");
    assert_eq!(
        organizations["items"][0],
        serde_json::json!({"slug": "detran-mt", "updated_at": "2026-06-01T00:00:00Z"})
    );
    let locations: Value = get(
        &app,
        "/v1/locations?modified_after=2025-01-01T00:00:00Z&fields=id",
    )
    .await
    .json();
    assert_eq!(locations["total"], 1, "{locations}");
    assert_eq!(
        locations["items"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id"]
    );

    // The taxonomies: life events flat, topics as a tree keeping the ancestors of a change.
    execute(
        &db,
        "UPDATE life_events SET updated_at = '2020-01-01T00:00:00Z'; \
         UPDATE life_events SET updated_at = '2026-06-01T00:00:00Z' \
           WHERE slug = (SELECT slug FROM life_events ORDER BY slug LIMIT 1); \
         UPDATE topics SET updated_at = '2020-01-01T00:00:00Z'; \
         UPDATE topics SET updated_at = '2026-06-01T00:00:00Z' \
           WHERE id = (SELECT id FROM topics WHERE parent_id IS NOT NULL ORDER BY slug LIMIT 1)",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let events: Value = get(
        &app,
        "/v1/life-events?modified_after=2025-01-01T00:00:00Z&fields=slug,updated_at",
    )
    .await
    .json();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["slug", "updated_at"]
    );
    let topics: Value = get(
        &app,
        "/v1/topics?modified_after=2025-01-01T00:00:00Z&fields=id,updated_at",
    )
    .await
    .json();
    let roots = topics.as_array().unwrap();
    assert_eq!(roots.len(), 1, "the changed topic's root only: {topics}");
    assert_eq!(
        roots[0]["updated_at"], "2020-01-01T00:00:00Z",
        "an unchanged ancestor"
    );
    let children = roots[0]["children"].as_array().unwrap();
    assert_eq!(children.len(), 1, "{topics}");
    assert_eq!(children[0]["updated_at"], "2026-06-01T00:00:00Z");
    let mut keys: Vec<&String> = children[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["children", "id", "updated_at"]);

    // Municipalities: any write dates the row.
    let before: Value = get(&app, "/v1/municipalities?state=MT&per_page=1")
        .await
        .json();
    assert!(before["total"].as_i64().unwrap() > 100);
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(10)).await;
    execute(
        &db,
        "UPDATE municipalities SET name = 'Cuiabá (capital)' WHERE ibge_code = 5103403",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let changed: Value = get(
        &app,
        &format!(
            "/v1/municipalities?modified_after={}&fields=ibge_code",
            since.replace('+', "%2B")
        ),
    )
    .await
    .json();
    assert_eq!(changed["total"], 1, "{changed}");
    assert_eq!(
        changed["items"][0],
        serde_json::json!({"ibge_code": 5103403})
    );

    for (uri, parameter, code) in [
        (
            "/v1/municipalities?fields=updated_at",
            "fields",
            "unknown_field",
        ),
        ("/v1/topics?fields=parent", "fields", "unknown_field"),
        (
            "/v1/life-events?modified_after=0",
            "modified_after",
            "invalid",
        ),
        ("/v1/organizations?fields=secret", "fields", "unknown_field"),
        (
            "/v1/locations?modified_after=x",
            "modified_after",
            "invalid",
        ),
        ("/v1/services?fields=id,password", "fields", "unknown_field"),
        (
            "/v1/services?modified_after=ontem",
            "modified_after",
            "invalid",
        ),
        (
            "/v1/services?modified_after=2026-01-01",
            "modified_after",
            "invalid",
        ),
    ] {
        let problem = get(&app, uri).await.problem(422, "invalid_query");
        let error = &problem["errors"][0];
        assert_eq!(error["code"], code, "{uri}: {problem}");
        assert!(error.to_string().contains(parameter), "{uri}: {problem}");
    }
}

#[actix_web::test]
async fn answers_are_not_dated_within_the_second_of_a_change() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(get(&app, DETAIL).await.header("last-modified").is_some());
    execute(
        &db,
        "UPDATE services SET updated_at = now() WHERE slug = 'abrir-empresa'",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    // Another change may follow within this second under the same date: the client must rely on
    // the tag until the second is over.
    let fresh = get(&app, DETAIL).await;
    if let Some(modified) = fresh.header("last-modified") {
        let modified = httpdate_seconds(modified);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(modified < now, "dated within its own second");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(get(&app, DETAIL).await.header("last-modified").is_some());
}

fn httpdate_seconds(value: &str) -> u64 {
    let at = chrono::DateTime::parse_from_rfc2822(value).unwrap();
    u64::try_from(at.timestamp()).unwrap()
}
