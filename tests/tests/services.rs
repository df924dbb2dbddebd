//! The public service list and detail, through the real app on a seeded database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::http::Method;
use carta_tests::{app, get, slugs, TestDb};
use domain::service::ServiceStatus;
use persistence::seed;

fn published_slugs(filter: impl Fn(&domain::service::ServiceDraft) -> bool) -> Vec<String> {
    let mut slugs: Vec<String> = seed::data()
        .unwrap()
        .services
        .into_iter()
        .filter(|s| s.status == ServiceStatus::Published && filter(s))
        .map(|s| s.form.slug)
        .collect();
    slugs.sort();
    slugs
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[actix_web::test]
async fn detran_lists_exactly_its_published_services_with_envelope_and_links() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let reply = get(&app, "/v1/services?organization=detran-mt&per_page=100").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let expected = published_slugs(|s| s.form.organization == "detran-mt");
    assert!(expected.len() >= 5);
    assert_eq!(sorted(slugs(&body)), expected);
    assert_eq!(body["total"], expected.len());
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 100);
    // Summaries, not details.
    assert!(body["items"][0]["steps"].is_null());
    assert_eq!(body["items"][0]["organization"]["slug"], "detran-mt");

    let paged = get(
        &app,
        "/v1/services?organization=detran-mt&per_page=2&page=2",
    )
    .await;
    let link = paged.header("link").unwrap();
    assert!(link.contains("page=1>; rel=\"first\""), "{link}");
    assert!(link.contains("page=1>; rel=\"prev\""), "{link}");
    assert!(link.contains("page=3>; rel=\"next\""), "{link}");
    assert!(link.contains("organization=detran-mt"), "{link}");
    assert_eq!(paged.json()["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn only_published_services_are_public() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let all = get(&app, "/v1/services?per_page=100").await.json();
    let listed = slugs(&all);
    assert_eq!(sorted(listed.clone()), published_slugs(|_| true));
    for draft in seed::data()
        .unwrap()
        .services
        .iter()
        .filter(|s| s.status != ServiceStatus::Published)
    {
        assert!(!listed.contains(&draft.form.slug));
        // Archived services are gone (410); drafts were never public (404).
        let (status, code) = match draft.status {
            ServiceStatus::Archived => (410, "gone"),
            _ => (404, "not_found"),
        };
        get(&app, &format!("/v1/services/{}", draft.form.slug))
            .await
            .problem(status, code);
    }
}

#[actix_web::test]
async fn filters_combine_with_and() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "free=true",
            published_slugs(|s| s.form.content.free == Some(true)),
        ),
        (
            "digital=false",
            published_slugs(|s| !s.form.content.is_digital()),
        ),
        (
            "channel=in_person",
            published_slugs(|s| {
                s.form
                    .content
                    .channel_types()
                    .contains(&domain::taxonomy::ChannelTypeCode::InPerson)
            }),
        ),
        (
            "segment=companies",
            published_slugs(|s| {
                s.form
                    .segments
                    .contains(&domain::taxonomy::SegmentCode::Companies)
            }),
        ),
        (
            "organization=detran-mt&digital=true&free=false",
            published_slugs(|s| {
                s.form.organization == "detran-mt"
                    && s.form.content.is_digital()
                    && s.form.content.free == Some(false)
            }),
        ),
        (
            // Statewide services plus those offered in Cuiabá.
            "municipality=5103403",
            published_slugs(|s| {
                s.form.municipalities.is_empty() || s.form.municipalities.contains(&5103403)
            }),
        ),
        (
            // Sinop has no municipal services in the sample: only statewide ones.
            "municipality=5107909&organization=prefeitura-cuiaba",
            Vec::new(),
        ),
    ];
    for (query, expected) in cases {
        let body = get(&app, &format!("/v1/services?per_page=100&{query}"))
            .await
            .json();
        assert_eq!(sorted(slugs(&body)), expected, "{query}");
    }
    // A life event and a topic taken from the seed itself.
    let with_event = data
        .services
        .iter()
        .find(|s| s.status == ServiceStatus::Published && !s.form.life_events.is_empty())
        .unwrap();
    let event = &with_event.form.life_events[0];
    let body = get(
        &app,
        &format!("/v1/services?per_page=100&life_event={event}"),
    )
    .await
    .json();
    assert_eq!(
        sorted(slugs(&body)),
        published_slugs(|s| s.form.life_events.contains(event))
    );
    // A topic includes its sub-topics.
    let child = data.topics.iter().find(|t| t.parent.is_some()).unwrap();
    let parent = child.parent.clone().unwrap();
    let subtree: Vec<String> = data
        .topics
        .iter()
        .filter(|t| t.slug == parent || t.parent.as_deref() == Some(parent.as_str()))
        .map(|t| t.slug.clone())
        .collect();
    let body = get(&app, &format!("/v1/services?per_page=100&topic={parent}"))
        .await
        .json();
    assert_eq!(
        sorted(slugs(&body)),
        published_slugs(|s| s.form.topics.iter().any(|t| subtree.contains(t)))
    );
    // Unknown references match nothing, not even statewide services.
    for query in [
        "organization=nao-existe",
        "topic=nao-existe",
        "life_event=nao-existe",
        "municipality=9999999",
    ] {
        let body = get(&app, &format!("/v1/services?{query}")).await.json();
        assert_eq!(body["total"], 0, "{query}");
    }
}

#[actix_web::test]
async fn sorts_by_name_or_last_update() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let body = get(&app, "/v1/services?per_page=100").await.json();
    let names: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    let mut by_name = names.clone();
    by_name.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names.len(), by_name.len());
    assert_eq!(names.first(), by_name.first());

    let mut conn = db.connect().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "UPDATE services SET updated_at = now() + interval '1 hour' WHERE slug = 'consultar-multas-de-transito'",
    )
    .await
    .unwrap();
    let body = get(&app, "/v1/services?sort=updated&per_page=1")
        .await
        .json();
    assert_eq!(slugs(&body), vec!["consultar-multas-de-transito"]);
}

#[actix_web::test]
async fn detail_carries_the_whole_record_by_slug_or_id() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let source = data
        .services
        .iter()
        .find(|s| {
            s.status == ServiceStatus::Published
                && !s.form.locations.is_empty()
                && s.form
                    .content
                    .steps
                    .iter()
                    .any(|st| !st.documents.cases.is_empty())
        })
        .expect("a seeded service with cases and locations");
    let reply = get(&app, &format!("/v1/services/{}", source.form.slug)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["name"], source.form.content.name.as_str());
    assert_eq!(
        body["organization"]["slug"],
        source.form.organization.as_str()
    );
    assert_eq!(
        body["steps"].as_array().unwrap().len(),
        source.form.content.steps.len()
    );
    let step = &body["steps"][0];
    assert!(step["title"].is_string());
    assert!(step["documents"]["default"].is_array());
    assert!(step["channels"]["default"].is_array());
    assert!(body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| !s["documents"]["cases"].as_array().unwrap().is_empty()));
    assert_eq!(
        body["locations"].as_array().unwrap().len(),
        source.form.locations.len()
    );
    assert_eq!(
        body["topics"].as_array().unwrap().len(),
        source.form.topics.len()
    );
    assert!(body["time_estimate"]["kind"].is_string());
    let items = body["compliance"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert!(items
        .iter()
        .all(|i| i["reason"].is_string() && i["present"].is_boolean()));

    let id = body["id"].as_str().unwrap();
    let by_id = get(&app, &format!("/v1/services/{id}")).await.json();
    assert_eq!(by_id["slug"], source.form.slug.as_str());
}

#[actix_web::test]
async fn the_checklist_reports_what_is_missing() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let mut complete = 0;
    let mut incomplete = 0;
    for service in data
        .services
        .iter()
        .filter(|s| s.status == ServiceStatus::Published)
    {
        let body = get(&app, &format!("/v1/services/{}", service.form.slug))
            .await
            .json();
        let compliance = &body["compliance"];
        let missing = compliance["missing"].as_array().unwrap();
        if compliance["complete"] == true {
            complete += 1;
            assert!(missing.is_empty());
        } else {
            incomplete += 1;
            let absent: Vec<&serde_json::Value> = compliance["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["present"] == false)
                .map(|i| &i["code"])
                .collect();
            assert_eq!(absent.len(), missing.len());
        }
    }
    assert!(complete > 0 && incomplete > 0);
}

#[actix_web::test]
async fn bad_queries_get_problem_details_naming_each_parameter() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let cases = [
        ("/v1/services?colour=blue", "colour", "unknown"),
        ("/v1/services?per_page=101", "per_page", "out_of_range"),
        ("/v1/services?per_page=0", "per_page", "out_of_range"),
        ("/v1/services?page=abc", "page", "invalid"),
        ("/v1/services?free=sim", "free", "invalid"),
        ("/v1/services?segment=aliens", "segment", "invalid"),
        ("/v1/services?channel=pigeon", "channel", "invalid"),
        ("/v1/services?municipality=51", "municipality", "invalid"),
        ("/v1/services?sort=random", "sort", "invalid"),
        ("/v1/services?organization=", "organization", "invalid"),
        ("/v1/services?free=true&free=false", "free", "duplicate"),
        ("/v1/services?page=999", "page", "out_of_range"),
        ("/v1/services/renovar-cnh?x=1", "x", "unknown"),
        ("/v1/topics?x=1", "x", "unknown"),
        ("/v1/organizations?sphere=galactic", "sphere", "invalid"),
        ("/v1/municipalities?state=Mato", "state", "invalid"),
        ("/v1/locations?municipality=abc", "municipality", "invalid"),
        // Bytes that are not UTF-8 are not a search for "�".
        ("/v1/services?q=%ff", "q", "invalid"),
        ("/v1/search/suggest?q=certid%C3", "q", "invalid"),
    ];
    for (uri, parameter, code) in cases {
        let body = get(&app, uri).await.problem(422, "invalid_query");
        let errors = body["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["parameter"] == parameter
                && e["code"] == code
                && e["message"].is_string()),
            "{uri}: {body}"
        );
    }
    // Every problem at once.
    let body = get(&app, "/v1/services?colour=blue&per_page=500&free=x")
        .await
        .problem(422, "invalid_query");
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn unknown_ids_and_routes_are_404_problems() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for uri in [
        "/v1/services/nao-existe",
        "/v1/services/00000000-0000-4000-8000-000000000000",
        "/v1/organizations/nao-existe",
        "/v1/locations/00000000-0000-4000-8000-00000000ffff",
        "/v1/locations/not-a-uuid",
        "/v1/nothing-here",
        // An encoded NUL reaches no handler (PostgreSQL cannot take it as text).
        "/v1/services/a%00b",
        "/v1/services/a%00b/locations",
        "/v1/services/a%00b/opinion",
        "/v1/organizations/a%00b/panel",
        "/v1/topics/a%00b",
    ] {
        get(&app, uri).await.problem(404, "not_found");
    }
    // A path that exists, with a method it does not take: 405 with the methods it takes.
    for (method, uri, allow) in [
        (Method::POST, "/v1/segments", "GET, HEAD"),
        (
            Method::GET,
            "/v1/services/00000000-0000-4000-8000-000000000000/publish",
            "POST",
        ),
        (Method::PUT, "/docs", "GET, HEAD"),
        // Matched as the router matches it: percent-decoded.
        (Method::PUT, "/v1/%74opics", "GET, HEAD, POST"),
        (
            Method::POST,
            "/v1/topics/saude",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
    ] {
        let reply = carta_tests::send(
            &app,
            actix_web::test::TestRequest::default()
                .method(method.clone())
                .uri(uri)
                .to_request(),
        )
        .await;
        reply.problem(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {uri}");
    }
    // A path that does not exist is 404 whatever the method.
    let reply = carta_tests::send(
        &app,
        actix_web::test::TestRequest::delete()
            .uri("/v1/nothing-here")
            .to_request(),
    )
    .await;
    reply.problem(404, "not_found");
}

/// Slugs are lowercase and UUIDs read in any case: a filter typed in capitals names the same
/// record, in lists, searches and service units, rather than silently matching nothing.
#[actix_web::test]
async fn filters_name_records_in_any_case() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    for (lower, upper) in [
        (
            "/v1/services?organization=detran-mt",
            "/v1/services?organization=DETRAN-MT",
        ),
        (
            "/v1/services?q=cnh&organization=detran-mt",
            "/v1/services?q=cnh&organization=Detran-MT",
        ),
        (
            "/v1/locations?organization=ganha-tempo",
            "/v1/locations?organization=GANHA-TEMPO",
        ),
    ] {
        let expected = get(&app, lower).await.json();
        assert_ne!(expected["total"], 0, "{lower}");
        let found = get(&app, upper).await.json();
        assert_eq!(found["total"], expected["total"], "{upper}");
        assert_eq!(found["items"], expected["items"], "{upper}");
    }
    let topic = get(&app, "/v1/topics").await.json();
    let id = topic[0]["id"].as_str().unwrap().to_uppercase();
    let by_id = get(&app, &format!("/v1/services?topic={id}")).await.json();
    let slug = topic[0]["slug"].as_str().unwrap();
    let by_slug = get(&app, &format!("/v1/services?topic={slug}"))
        .await
        .json();
    assert_eq!(by_id["total"], by_slug["total"]);
}
