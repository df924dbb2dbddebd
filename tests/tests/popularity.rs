//! Popularity: page views counted in memory (once per client and flush window) and flushed in
//! batches, `sort=popular` on the list and on search, `GET /v1/services/popular`, the search
//! boost, and popularity answers kept fresh in the answer cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use carta_api::client_address::TrustedProxies;
use carta_api::import::govbr_feed::{import_govbr_feed, FeedImport};
use carta_api::AppState;
use carta_tests::{app_for, get, ok, rename_sql, request, send, slugs, state, token_for, TestDb};
use diesel_async::SimpleAsyncConnection;
use domain::access::Role;
use domain::organization::Sphere;
use domain::service::ServiceStatus;
use domain::taxonomy::SegmentCode;
use serde_json::Value;

const IPTU_CUIABA: &str = "emitir-segunda-via-iptu-cuiaba";
const ALVARA_CUIABA: &str = "solicitar-alvara-funcionamento-cuiaba";
const GANHA_TEMPO: &str = "agendar-atendimento-ganha-tempo";
const OUVIDORIA: &str = "registrar-manifestacao-ouvidoria";
/// Barra do Garças: only statewide services and the Ganha Tempo scheduling are offered there.
const BARRA_DO_GARCAS: i32 = 5101803;

// ----------------------------------------------------------------------------------------------
// Helpers

/// A client address no other call has used (each client counts once per service and window).
fn new_client() -> SocketAddr {
    static CLIENTS: AtomicU32 = AtomicU32::new(1);
    let [_, b, c, d] = CLIENTS.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    SocketAddr::from(([10, b, c, d], 50_000))
}

/// A GET of `uri` from the client at `peer`.
fn get_from(uri: &str, peer: SocketAddr) -> TestRequest {
    TestRequest::get().uri(uri).peer_addr(peer)
}

/// Reads a service page `times` times, as `times` citizens would.
async fn view<S, B>(app: &S, slug: &str, times: usize)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for _ in 0..times {
        let uri = format!("/v1/services/{slug}");
        let reply = send(app, get_from(&uri, new_client()).to_request()).await;
        assert_eq!(reply.status, 200, "{slug}: {}", reply.text);
    }
}

/// A service's id by slug, read from the list (which counts no view).
async fn id_of<S, B>(app: &S, slug: &str) -> uuid::Uuid
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let list = ok(app, "/v1/services?per_page=100").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["slug"] == slug)
        .unwrap_or_else(|| panic!("no service {slug}"))["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Views stored in the database, all services and days.
async fn stored_views(db: &TestDb) -> i64 {
    db.scalar_i64("SELECT coalesce(sum(views), 0)::int8 AS value FROM service_views")
        .await
}

async fn stored_views_of(db: &TestDb, slug: &str) -> i64 {
    db.scalar_i64(&format!(
        "SELECT coalesce(sum(v.views), 0)::int8 AS value FROM service_views v \
         JOIN services s ON s.id = v.service_id WHERE s.slug = '{slug}'"
    ))
    .await
}

async fn execute(db: &TestDb, sql: &str) {
    let mut conn = db.connect().await;
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// (slug, views) of a popular answer.
fn ranked(body: &Value) -> Vec<(String, i64)> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {body}"))
        .iter()
        .map(|item| {
            (
                item["slug"].as_str().unwrap().to_owned(),
                item["views"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
    expected
        .iter()
        .map(|(slug, views)| ((*slug).to_owned(), *views))
        .collect()
}

/// A published statewide service of the seed for citizens only.
fn statewide_for_citizens_only() -> String {
    persistence::seed::data()
        .unwrap()
        .services
        .into_iter()
        .find(|s| {
            s.status == ServiceStatus::Published
                && s.form.municipalities.is_empty()
                && s.form.segments == [SegmentCode::Citizens]
        })
        .expect("a statewide service for citizens only")
        .form
        .slug
}

async fn app_and_state(
    db: &TestDb,
) -> (
    AppState,
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
) {
    let state = state(db).await;
    let app = app_for(state.clone()).await;
    (state, app)
}

// ----------------------------------------------------------------------------------------------
// Counting

#[actix_web::test]
async fn views_are_counted_in_memory_and_written_by_one_flush() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;

    // The first read renders the page; the next four are answered from the answer cache, and
    // count all the same.
    view(&app, IPTU_CUIABA, 5).await;
    // Nothing is written per view.
    assert_eq!(stored_views(&db).await, 0);
    assert_eq!(state.popularity.pending(), 5);

    state.flush_views().await.unwrap();
    assert_eq!(state.popularity.pending(), 0);
    assert_eq!(stored_views_of(&db, IPTU_CUIABA).await, 5);
    // One daily bucket per service, no trace of who read.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM service_views")
            .await,
        1
    );

    // By id too; the next flush adds to today's bucket.
    let id = ok(&app, &format!("/v1/services/{IPTU_CUIABA}")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    view(&app, &id, 2).await;
    assert_eq!(stored_views(&db).await, 5);
    state.flush_views().await.unwrap();
    assert_eq!(stored_views_of(&db, IPTU_CUIABA).await, 8);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM service_views")
            .await,
        1
    );
    assert_eq!(
        db.scalar_i64("SELECT score AS value FROM service_popularity")
            .await,
        8
    );

    // A flush with nothing counted writes nothing.
    state.flush_views().await.unwrap();
    assert_eq!(stored_views(&db).await, 8);
}

#[actix_web::test]
async fn revalidations_count_but_head_feed_reads_tokens_and_drafts_do_not() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    let uri = format!("/v1/services/{IPTU_CUIABA}");
    let page = send(&app, get_from(&uri, new_client()).to_request()).await;
    let etag = page.header("etag").unwrap().to_owned();
    let id = page.json()["id"].as_str().unwrap().to_owned();

    // A 304 is the page read again (by another reader: each counts once per window).
    let revalidated = send(
        &app,
        get_from(&uri, new_client())
            .insert_header(("If-None-Match", etag.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(revalidated.status, 304);

    // Each of these from a reader not counted yet: none counts, and not for being a repeat.
    let head = send(
        &app,
        TestRequest::default()
            .method(Method::HEAD)
            .uri(&uri)
            .peer_addr(new_client())
            .to_request(),
    )
    .await;
    assert_eq!(head.status, 200);
    let feed_read = send(
        &app,
        get_from(&format!("{uri}?change=1"), new_client()).to_request(),
    )
    .await;
    assert_eq!(feed_read.status, 200, "{}", feed_read.text);
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let with_token = send(&app, request(Method::GET, &uri, Some(&admin), None, None)).await;
    assert_eq!(with_token.status, 200, "{}", with_token.text);
    let draft = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/draft"),
            Some(&admin),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(draft.status, 200, "{}", draft.text);
    // Neither do answers that show no service.
    let missing = send(
        &app,
        get_from("/v1/services/no-such-service", new_client()).to_request(),
    )
    .await;
    assert_eq!(missing.status, 404);

    assert_eq!(state.popularity.pending(), 2);
    state.flush_views().await.unwrap();
    assert_eq!(stored_views(&db).await, 2);
}

#[actix_web::test]
async fn the_background_task_flushes_on_its_timer() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    let _flusher = state.spawn_view_flusher(Duration::from_millis(100));
    view(&app, ALVARA_CUIABA, 3).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored_views(&db).await < 3 {
        assert!(Instant::now() < deadline, "the views were never flushed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored_views_of(&db, ALVARA_CUIABA).await, 3);
    // Already visible in the popular list of this instance.
    let popular = ok(&app, "/v1/services/popular").await;
    assert_eq!(ranked(&popular), pairs(&[(ALVARA_CUIABA, 3)]));
}

#[actix_web::test]
async fn a_client_counts_once_per_service_and_flush_window() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    let uri = format!("/v1/services/{IPTU_CUIABA}");
    let reader = new_client();
    // Reloading the page, from the database, the answer cache or as a 304: one view.
    let first = send(&app, get_from(&uri, reader).to_request()).await;
    let etag = first.header("etag").unwrap().to_owned();
    for _ in 0..20 {
        assert_eq!(
            send(&app, get_from(&uri, reader).to_request()).await.status,
            200
        );
    }
    let revalidated = send(
        &app,
        get_from(&uri, reader)
            .insert_header(("If-None-Match", etag.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(state.popularity.pending(), 1);
    // Another page by the same reader counts; so does another reader.
    let alvara = format!("/v1/services/{ALVARA_CUIABA}");
    send(&app, get_from(&alvara, reader).to_request()).await;
    send(&app, get_from(&uri, new_client()).to_request()).await;
    assert_eq!(state.popularity.pending(), 3);
    // `X-Forwarded-For` from a peer that is not a trusted proxy is anyone's to write.
    for forged in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let forwarded = get_from(&uri, reader)
            .insert_header(("X-Forwarded-For", forged))
            .to_request();
        send(&app, forwarded).await;
    }
    assert_eq!(state.popularity.pending(), 3);

    // The next window counts the reader again, and only the counts were written.
    state.flush_views().await.unwrap();
    assert_eq!(stored_views_of(&db, IPTU_CUIABA).await, 2);
    send(&app, get_from(&uri, reader).to_request()).await;
    send(&app, get_from(&uri, reader).to_request()).await;
    assert_eq!(state.popularity.pending(), 1);
    state.flush_views().await.unwrap();
    assert_eq!(stored_views_of(&db, IPTU_CUIABA).await, 3);

    // Behind a trusted proxy, the client is the address it forwards.
    let proxied = state
        .clone()
        .with_trusted_proxies(TrustedProxies::parse(&["10.255.255.254".to_owned()]).unwrap());
    let proxied_app = app_for(proxied.clone()).await;
    let proxy = SocketAddr::from(([10, 255, 255, 254], 443));
    for client in ["203.0.113.7", "203.0.113.8", "203.0.113.7"] {
        let forwarded = get_from(&uri, proxy)
            .insert_header(("X-Forwarded-For", client))
            .to_request();
        assert_eq!(send(&proxied_app, forwarded).await.status, 200);
    }
    assert_eq!(proxied.popularity.pending(), 2);
}

// ----------------------------------------------------------------------------------------------
// Orders

#[actix_web::test]
async fn sort_popular_lists_the_most_viewed_first_then_by_name() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    view(&app, OUVIDORIA, 1).await;
    view(&app, IPTU_CUIABA, 3).await;
    view(&app, GANHA_TEMPO, 2).await;
    state.flush_views().await.unwrap();

    let by_name = slugs(&ok(&app, "/v1/services?per_page=100").await);
    let popular = ok(&app, "/v1/services?sort=popular&per_page=100").await;
    let order = slugs(&popular);
    assert_eq!(order[..3], [IPTU_CUIABA, GANHA_TEMPO, OUVIDORIA]);
    // The services never viewed follow, by name.
    let rest: Vec<&String> = by_name
        .iter()
        .filter(|slug| ![IPTU_CUIABA, GANHA_TEMPO, OUVIDORIA].contains(&slug.as_str()))
        .collect();
    assert_eq!(order[3..].iter().collect::<Vec<_>>(), rest);
    assert_eq!(popular["total"], by_name.len());
    // Same item shape as the list.
    assert!(popular["items"][0]["name"].is_string());
    assert!(popular["items"][0].get("views").is_none());

    // With filters, and paged.
    let cuiaba = slugs(
        &ok(
            &app,
            "/v1/services?sort=popular&municipality=5103403&per_page=2",
        )
        .await,
    );
    assert_eq!(cuiaba, [IPTU_CUIABA, GANHA_TEMPO]);
    // Pages cut the same order, across the end of the viewed services and past it.
    for per_page in [2, 5] {
        let mut paged = Vec::new();
        for page in 1..=order.len().div_ceil(per_page) {
            let uri = format!("/v1/services?sort=popular&per_page={per_page}&page={page}");
            paged.extend(slugs(&ok(&app, &uri).await));
        }
        assert_eq!(paged, order, "per_page={per_page}");
    }
}

#[actix_web::test]
async fn a_popular_page_is_read_from_one_snapshot() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    view(&app, IPTU_CUIABA, 2).await;
    view(&app, OUVIDORIA, 1).await;
    state.flush_views().await.unwrap();
    let before = slugs(&ok(&app, "/v1/services?sort=popular&per_page=100&page=1").await);
    assert_eq!(before[..2], [IPTU_CUIABA, OUVIDORIA]);

    // Another instance's flush holds the scores while the page is read (after its total was
    // counted), and commits a new most viewed service.
    let mut flush = db.connect().await;
    flush
        .batch_execute("BEGIN; LOCK TABLE service_popularity IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiting = "SELECT count(*)::int8 AS value FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let read = get(&app, "/v1/services?sort=popular&per_page=100");
    let meanwhile = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while db.scalar_i64(waiting).await == 0 {
            assert!(
                Instant::now() < deadline,
                "the page never reached the scores"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The read waits inside a transaction begun before its statement: one snapshot.
        let in_transaction = db
            .scalar_i64(&format!("{waiting} AND xact_start < query_start"))
            .await;
        flush
            .batch_execute(&format!(
                "INSERT INTO service_popularity (service_id, score, refreshed_on) \
                     SELECT id, 50, (now() AT TIME ZONE 'UTC')::date FROM services \
                     WHERE slug = '{GANHA_TEMPO}'; \
                 COMMIT"
            ))
            .await
            .unwrap();
        in_transaction
    };
    let (page, in_transaction) = futures_util::future::join(read, meanwhile).await;
    assert_eq!(
        in_transaction, 1,
        "the popular page is not read in one transaction"
    );
    // The page is the catalogue as it stood when its total was counted: no service twice, none
    // missing.
    let page = page.json();
    assert_eq!(slugs(&page), before);
    assert_eq!(page["total"], before.len());
}

#[actix_web::test]
async fn sort_popular_in_a_search_orders_the_matches_by_views_with_the_same_facets() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    let relevance = ok(&app, "/v1/services?q=agua&per_page=100").await;
    let matches = slugs(&relevance);
    assert!(matches.len() >= 3, "{matches:?}");
    // The last match by relevance becomes the first by popularity.
    let least = matches.last().unwrap().clone();
    view(&app, &least, 2).await;
    view(&app, &matches[1], 1).await;
    state.flush_views().await.unwrap();

    let popular = ok(&app, "/v1/services?q=agua&sort=popular&per_page=100").await;
    let order = slugs(&popular);
    assert_eq!(order[0], least);
    assert_eq!(order[1], matches[1]);
    // Unviewed matches keep their relevance order.
    let unviewed: Vec<&String> = matches
        .iter()
        .filter(|slug| **slug != least && **slug != matches[1])
        .collect();
    assert_eq!(order[2..].iter().collect::<Vec<_>>(), unviewed);
    assert_eq!(popular["facets"], relevance["facets"]);
    assert_eq!(popular["total"], relevance["total"]);
    assert!(popular["items"][0]["highlights"]["name"].is_string());
}

#[actix_web::test]
async fn sort_popular_in_a_search_keeps_the_matches_with_every_word_first() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    // Only the IPTU service has every word; the others have "segunda via" only.
    let search = "/v1/services?q=segunda%20via%20iptu&per_page=100";
    let matches = slugs(&ok(&app, search).await);
    assert_eq!(matches[0], IPTU_CUIABA);
    assert!(matches.len() >= 3, "{matches:?}");
    // Partial matches far more viewed than the full one, which has no view at all.
    view(&app, &matches[2], 5).await;
    view(&app, &matches[1], 3).await;
    state.flush_views().await.unwrap();

    let order = slugs(&ok(&app, &format!("{search}&sort=popular")).await);
    assert_eq!(
        order[..3],
        [IPTU_CUIABA, matches[2].as_str(), matches[1].as_str()],
        "the full match first, then the partial ones by views"
    );
}

#[actix_web::test]
async fn sort_popular_in_a_search_keeps_the_matches_with_more_words_above_those_with_one() {
    let db = TestDb::seeded().await;
    // No service has every word, one has two of them, one a single word.
    execute(&db, &rename_sql("emitir-gta", "Viajar com seu quetzo")).await;
    execute(&db, &rename_sql("emitir-ptv", "Autorizar pirlim no zambo")).await;
    let (state, app) = app_and_state(&db).await;
    state.search.catch_up(&state.pool).await.unwrap();
    view(&app, "emitir-gta", 3).await;
    state.flush_views().await.unwrap();
    let search = "/v1/services?q=quetzo%20pirlim%20zambo&sort=popular";
    assert_eq!(
        slugs(&ok(&app, search).await),
        ["emitir-ptv", "emitir-gta"],
        "two words before one, however viewed"
    );
}

#[actix_web::test]
async fn suggestions_of_the_most_viewed_services_come_first() {
    let db = TestDb::seeded().await;
    for (slug, name) in [
        ("emitir-segunda-via-conta-agua", "Quiosque alfa"),
        ("solicitar-ligacao-agua-esgoto", "Quiosque beta da praça"),
    ] {
        execute(&db, &rename_sql(slug, name)).await;
    }
    let (state, app) = app_and_state(&db).await;
    state.search.catch_up(&state.pool).await.unwrap();
    let suggested = |body: Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|item| item["service_slug"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let typed = "/v1/search/suggest?q=quios";
    // Unviewed: the shorter text first.
    assert_eq!(
        suggested(ok(&app, typed).await),
        [
            "emitir-segunda-via-conta-agua",
            "solicitar-ligacao-agua-esgoto"
        ]
    );
    view(&app, "solicitar-ligacao-agua-esgoto", 3).await;
    state.flush_views().await.unwrap();
    // The cached answer is not served once the boosts change.
    assert_eq!(
        suggested(ok(&app, typed).await),
        [
            "solicitar-ligacao-agua-esgoto",
            "emitir-segunda-via-conta-agua"
        ]
    );
}

#[actix_web::test]
async fn the_search_boost_breaks_ties_but_never_lifts_a_weaker_match() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    // Two services equally relevant for "xyzzy" (the word once, in names of the same length),
    // and a third with it only in its description: a clearly weaker match.
    execute(
        &db,
        "UPDATE services SET name = 'Quiosque xyzzy alfa', \
             content = jsonb_set(content, '{name}', '\"Quiosque xyzzy alfa\"'), updated_at = now() \
             WHERE slug = 'emitir-segunda-via-conta-agua'; \
         UPDATE services SET name = 'Quiosque xyzzy beta', \
             content = jsonb_set(content, '{name}', '\"Quiosque xyzzy beta\"'), updated_at = now() \
             WHERE slug = 'solicitar-ligacao-agua-esgoto'; \
         UPDATE services SET content = jsonb_set(content, '{description}', \
             '\"Atendimento no quiosque xyzzy da praça.\"'), updated_at = now() \
             WHERE slug = 'registrar-manifestacao-ouvidoria';",
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let tie = "/v1/services?q=xyzzy";
    let before = slugs(&ok(&app, tie).await);
    // Equal scores: by name.
    assert_eq!(
        before,
        [
            "emitir-segunda-via-conta-agua",
            "solicitar-ligacao-agua-esgoto",
            OUVIDORIA
        ]
    );

    // One view of "beta" breaks the tie; the weak match, far more viewed, stays last.
    view(&app, "solicitar-ligacao-agua-esgoto", 1).await;
    view(&app, OUVIDORIA, 200).await;
    state.flush_views().await.unwrap();
    let after = slugs(&ok(&app, tie).await);
    assert_eq!(
        after,
        [
            "solicitar-ligacao-agua-esgoto",
            "emitir-segunda-via-conta-agua",
            OUVIDORIA
        ]
    );
    // Explicit relevance is the same order.
    assert_eq!(
        slugs(&ok(&app, &format!("{tie}&sort=relevance")).await),
        after
    );
}

#[actix_web::test]
async fn searches_keep_their_cached_answers_until_a_boost_step_changes() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    let alfa = "emitir-segunda-via-conta-agua";
    let beta = "solicitar-ligacao-agua-esgoto";
    execute(
        &db,
        &format!(
            "UPDATE services SET name = 'Quiosque xyzzy alfa', \
                 content = jsonb_set(content, '{{name}}', '\"Quiosque xyzzy alfa\"'), updated_at = now() \
                 WHERE slug = '{alfa}'; \
             UPDATE services SET name = 'Quiosque xyzzy beta', \
                 content = jsonb_set(content, '{{name}}', '\"Quiosque xyzzy beta\"'), updated_at = now() \
                 WHERE slug = '{beta}';"
        ),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let tie = "/v1/services?q=xyzzy";
    let by_views = "/v1/services?q=xyzzy&sort=popular";
    assert_eq!(slugs(&ok(&app, tie).await), [alfa, beta]);
    let tag = get(&app, tie).await.header("etag").unwrap().to_owned();
    let boost_epoch = state.popularity.boost_epoch();
    let epoch = state.popularity.epoch();

    // A flush between rereads moves the views (and `sort=popular`), not the boosts: the
    // relevance answers stay cached as they were.
    view(&app, beta, 1).await;
    state
        .popularity
        .flush(&state.pool, &state.search, false)
        .await
        .unwrap();
    assert!(state.popularity.epoch() > epoch);
    assert_eq!(state.popularity.boost_epoch(), boost_epoch);
    assert_eq!(slugs(&ok(&app, by_views).await), [beta, alfa]);
    let kept = get(&app, tie).await;
    assert_eq!(slugs(&kept.json()), [alfa, beta]);
    assert_eq!(kept.header("etag"), Some(tag.as_str()));

    // The periodic reread of every score brings the boost: the first view is a step.
    state.flush_views().await.unwrap();
    assert_eq!(state.popularity.boost_epoch(), boost_epoch + 1);
    assert_eq!(slugs(&ok(&app, tie).await), [beta, alfa]);
    let beta_id = id_of(&app, beta).await;
    let step = state.search.boosts().level(&beta_id);
    // One view on a quiet instance is not the full boost (its scale tops out at 100 views or
    // more), and boosts come in tenths.
    assert_eq!(step, 2);
    assert!(state.search.boosts().boost(&beta_id) < 1.05);

    // One more view moves no step: the rereads leave the searches cached.
    view(&app, beta, 1).await;
    let epoch = state.popularity.epoch();
    state.flush_views().await.unwrap();
    assert!(state.popularity.epoch() > epoch, "the views moved");
    assert_eq!(state.popularity.boost_epoch(), boost_epoch + 1);
    assert_eq!(state.search.boosts().level(&beta_id), step);
    // Many more views do.
    view(&app, beta, 40).await;
    state.flush_views().await.unwrap();
    assert_eq!(state.popularity.boost_epoch(), boost_epoch + 2);
    assert!(state.search.boosts().level(&beta_id) > step);
}

// ----------------------------------------------------------------------------------------------
// GET /v1/services/popular

#[actix_web::test]
async fn the_popular_endpoint_lists_the_most_viewed_with_their_views() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    // Nothing viewed yet: nothing is popular.
    let empty = ok(&app, "/v1/services/popular").await;
    assert_eq!(empty["items"], serde_json::json!([]));
    assert_eq!(empty["window_days"], 30);

    let citizens_only = statewide_for_citizens_only();
    view(&app, IPTU_CUIABA, 5).await;
    view(&app, ALVARA_CUIABA, 4).await;
    view(&app, GANHA_TEMPO, 3).await;
    view(&app, &citizens_only, 2).await;
    view(&app, OUVIDORIA, 1).await;
    state.flush_views().await.unwrap();

    let all = ok(&app, "/v1/services/popular").await;
    assert_eq!(
        ranked(&all),
        pairs(&[
            (IPTU_CUIABA, 5),
            (ALVARA_CUIABA, 4),
            (GANHA_TEMPO, 3),
            (&citizens_only, 2),
            (OUVIDORIA, 1)
        ])
    );
    // The list's item, plus the views.
    let mut first = all["items"][0].clone();
    assert_eq!(
        first.as_object_mut().unwrap().remove("views"),
        Some(5.into())
    );
    let listed = ok(&app, "/v1/services?sort=popular&per_page=1").await;
    assert_eq!(first, listed["items"][0]);
    assert_eq!(all["window_days"], 30);

    // Statewide services count in every municipality.
    let barra = ok(
        &app,
        &format!("/v1/services/popular?municipality={BARRA_DO_GARCAS}"),
    )
    .await;
    assert_eq!(
        ranked(&barra),
        pairs(&[(GANHA_TEMPO, 3), (&citizens_only, 2), (OUVIDORIA, 1)])
    );
    let companies = ok(&app, "/v1/services/popular?segment=companies").await;
    assert_eq!(
        ranked(&companies),
        pairs(&[(ALVARA_CUIABA, 4), (OUVIDORIA, 1)])
    );
    let both = ok(
        &app,
        "/v1/services/popular?segment=citizens&municipality=5103403&limit=3",
    )
    .await;
    assert_eq!(
        ranked(&both),
        pairs(&[(IPTU_CUIABA, 5), (GANHA_TEMPO, 3), (&citizens_only, 2)])
    );
    let two = ok(&app, "/v1/services/popular?limit=2").await;
    assert_eq!(ranked(&two).len(), 2);
    // A well-formed code of a municipality that does not exist: nothing, as in the list.
    let nowhere = ok(&app, "/v1/services/popular?municipality=9999999").await;
    assert_eq!(nowhere["items"], serde_json::json!([]));

    // An archived service is no longer popular.
    execute(
        &db,
        &format!("UPDATE services SET status = 'archived', updated_at = now() WHERE slug = '{IPTU_CUIABA}'"),
    )
    .await;
    state.search.catch_up(&state.pool).await.unwrap();
    let after = ok(&app, "/v1/services/popular?limit=1").await;
    assert_eq!(ranked(&after), pairs(&[(ALVARA_CUIABA, 4)]));
}

#[actix_web::test]
async fn bad_popular_parameters_are_422_problems() {
    let db = TestDb::seeded().await;
    let (_, app) = app_and_state(&db).await;
    for (uri, parameter, code) in [
        ("/v1/services/popular?limit=0", "limit", "out_of_range"),
        ("/v1/services/popular?limit=51", "limit", "out_of_range"),
        ("/v1/services/popular?limit=dez", "limit", "invalid"),
        (
            "/v1/services/popular?segment=cidadaos",
            "segment",
            "invalid",
        ),
        (
            "/v1/services/popular?municipality=51",
            "municipality",
            "invalid",
        ),
        ("/v1/services/popular?page=2", "page", "unknown"),
        ("/v1/services/popular?limit=5&limit=6", "limit", "duplicate"),
    ] {
        let body = get(&app, uri).await.problem(422, "invalid_query");
        let errors = body["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["parameter"] == parameter
                && e["code"] == code
                && e["message"].as_str().is_some_and(|m| !m.is_empty())),
            "{uri}: {body}"
        );
    }
    // Every bad parameter at once.
    let body = get(&app, "/v1/services/popular?limit=0&segment=x")
        .await
        .problem(422, "invalid_query");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let sort = get(&app, "/v1/services?sort=popularity")
        .await
        .problem(422, "invalid_query");
    assert_eq!(sort["errors"][0]["parameter"], "sort");
}

// ----------------------------------------------------------------------------------------------
// Caching

#[actix_web::test]
async fn popularity_answers_follow_a_flush_instead_of_the_cache() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    view(&app, IPTU_CUIABA, 1).await;
    state.flush_views().await.unwrap();
    let uris = [
        "/v1/services/popular",
        "/v1/services?sort=popular&per_page=3",
        "/v1/services?q=segunda%20via&sort=popular&per_page=3",
    ];
    for uri in uris {
        assert_eq!(slugs(&ok(&app, uri).await)[0], IPTU_CUIABA, "{uri}");
    }
    // Dated once their second is over; but those read from the database change with any
    // instance's flush, which this one does not see: they carry no date, only their tag.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = get(&app, uris[0]).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(first.header("last-modified"), None, "{}", uris[0]);
    assert_eq!(get(&app, uris[1]).await.header("last-modified"), None);
    let searched = get(&app, uris[2]).await;
    let dated = searched.header("last-modified").unwrap().to_owned();

    view(&app, "emitir-segunda-via-conta-agua", 3).await;
    // Until the flush, the cached answers stand.
    assert_eq!(slugs(&ok(&app, uris[0]).await), [IPTU_CUIABA]);
    state.flush_views().await.unwrap();
    for uri in uris {
        assert_eq!(
            slugs(&ok(&app, uri).await)[0],
            "emitir-segunda-via-conta-agua",
            "{uri}: a stale answer from the cache"
        );
    }
    // Validators follow the scores too: neither the old tag nor the old date is current.
    let by_tag = send(
        &app,
        TestRequest::get()
            .uri(uris[0])
            .insert_header(("If-None-Match", etag.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(by_tag.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let by_date = send(
        &app,
        TestRequest::get()
            .uri(uris[2])
            .insert_header(("If-Modified-Since", dated.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(
        by_date.status, 200,
        "a search is dated by this instance's scores, not only the catalogue"
    );
    assert_ne!(by_date.header("last-modified"), Some(dated.as_str()));
    // An undated answer is never confirmed by a date.
    let undated = send(
        &app,
        TestRequest::get()
            .uri(uris[0])
            .insert_header(("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"))
            .to_request(),
    )
    .await;
    assert_eq!(undated.status, 200);
}

#[actix_web::test]
async fn a_feed_import_never_takes_a_reserved_slug() {
    let db = TestDb::seeded().await;
    let feed = std::env::temp_dir().join(format!("carta-feed-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &feed,
        serde_json::json!([{
            "id": "popular-1",
            "name": "Popular",
            "description": "Programa municipal de habitação popular.",
            "url": "https://www.cuiaba.mt.gov.br/servicos/popular",
            "date": "2026-09-15",
            "organization": {"id": "smhab", "name": "Secretaria Municipal de Habitação"}
        }])
        .to_string(),
    )
    .unwrap();
    let mut conn = db.connect().await;
    let import = FeedImport {
        source: "cuiaba",
        sphere: Sphere::Municipal,
        default_organization: None,
    };
    let report = import_govbr_feed(&mut conn, &import, feed.to_str().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_file(&feed);
    assert_eq!(report.created, 1, "{}", report.render());
    // Its slug was chosen, not given: nothing to report about it.
    assert!(
        report.invalid.iter().all(|(_, e)| e.pointer != "/slug"),
        "{}",
        report.render()
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM services WHERE slug = 'popular'")
            .await,
        0
    );
    let app = app_for(state(&db).await).await;
    let imported = ok(&app, "/v1/services/popular-cuiaba").await;
    assert_eq!(imported["name"], "Popular");
    // The address stays the list.
    assert_eq!(ok(&app, "/v1/services/popular").await["window_days"], 30);
}

#[actix_web::test]
async fn scores_written_by_another_instance_are_read_at_start() {
    let db = TestDb::seeded().await;
    let (state, app) = app_and_state(&db).await;
    view(&app, ALVARA_CUIABA, 2).await;
    state.flush_views().await.unwrap();
    // A second instance sees them for search ranking and the popular order.
    let (other, other_app) = app_and_state(&db).await;
    let alvara = ok(&app, &format!("/v1/services/{ALVARA_CUIABA}")).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(other.search.popularity().views(&alvara), 2);
    assert!(other.search.boosts().level(&alvara) > 0);
    let popular = ok(&other_app, "/v1/services/popular").await;
    assert_eq!(ranked(&popular), pairs(&[(ALVARA_CUIABA, 2)]));
}
