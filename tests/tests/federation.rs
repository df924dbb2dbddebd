//! Federation: the gov.br feed out (`/v1/federation/govbr`), the same shape in
//! (`carta import govbr-feed`, from a file or a URL), and the bulk exports (NDJSON and CSV).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use actix_web::HttpServer;
use carta_api::build_app;
use carta_api::import::govbr_feed::{import_govbr_feed, FeedImport, FeedReport};
use carta_api::import::import_govbr_xml;
use carta_api::routes::exports::DEFAULT_PORTAL_URL;
use carta_tests::{app, fixtures, get, state, TestDb};
use domain::organization::Sphere;
use serde_json::Value;

const PUBLISHED: &str = "SELECT count(*) AS value FROM services WHERE status = 'published'";

fn cuiaba() -> FeedImport<'static> {
    FeedImport {
        source: "cuiaba",
        sphere: Sphere::Municipal,
        default_organization: None,
    }
}

fn cuiaba_feed() -> String {
    fixtures()
        .join("govbr-feed/cuiaba.json")
        .display()
        .to_string()
}

/// The slugs of the services of a source, by external id.
async fn imported(db: &TestDb, source: &str) -> HashMap<String, (String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        external_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    use diesel_async::RunQueryDsl;
    let mut conn = db.connect().await;
    let rows: Vec<Row> =
        diesel::sql_query("SELECT external_id, slug, status FROM services WHERE source = $1")
            .bind::<diesel::sql_types::Text, _>(source)
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter()
        .map(|row| (row.external_id, (row.slug, row.status)))
        .collect()
}

fn counts(report: &FeedReport) -> (usize, usize, usize, usize) {
    (
        report.created,
        report.updated,
        report.unchanged,
        report.archived,
    )
}

#[actix_web::test]
async fn imports_a_municipal_feed_file_skipping_what_it_cannot_map() {
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    let report = import_govbr_feed(&mut conn, &cuiaba(), &cuiaba_feed())
        .await
        .unwrap();
    let summary = report.render();
    assert_eq!(report.records, 10, "{summary}");
    assert_eq!(counts(&report), (6, 0, 0, 0), "{summary}");
    let skipped: Vec<&str> = report.skipped.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        skipped,
        vec![
            "record 6 (id 106)",
            "record 7 (id 107)",
            "record 8 (id 108)",
            "record 9"
        ],
        "{summary}"
    );
    assert!(report.failed.is_empty(), "{summary}");
    assert!(
        summary.contains("6 created") && summary.contains("4 skipped"),
        "{summary}"
    );
    // Imported as the source published it, and reported.
    assert!(report
        .invalid
        .iter()
        .any(|(record, e)| record == "record 10 (id 110)" && e.pointer == "/description"));
    assert!(report
        .ignored
        .iter()
        .any(|(record, member)| record == "record 10 (id 110)" && member == "date"));

    let services = imported(&db, "cuiaba").await;
    assert_eq!(services.len(), 6);
    assert!(services.values().all(|(_, status)| status == "published"));
    // Same name, another record: another slug. No id: the url keys the record.
    assert_eq!(services["101"].0, "alvara-de-funcionamento");
    assert_eq!(services["102"].0, "alvara-de-funcionamento-cuiaba");
    assert!(services.contains_key("https://www.cuiaba.mt.gov.br/servicos/iptu-segunda-via"));
    // Providers: matched by id, else by name, within the source; each created once.
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS value FROM organizations WHERE source = 'cuiaba' AND sphere = 'municipal'"
        )
        .await,
        4
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM services WHERE source_data IS NULL")
            .await,
        0,
        "the raw record is kept"
    );

    let app = app(&db).await;
    let body = get(&app, "/v1/services/alvara-de-funcionamento")
        .await
        .json();
    assert_eq!(body["source"]["source"], "cuiaba");
    assert_eq!(body["source"]["external_id"], "101");
    assert_eq!(
        body["source"]["url"],
        "https://www.cuiaba.mt.gov.br/servicos/alvara-de-funcionamento"
    );
    assert_eq!(body["source"]["updated_at"], "2026-10-01T16:00:00Z");
    assert_eq!(body["popular_names"][1], "Licença de funcionamento");
    assert_eq!(body["keywords"][2], "comércio");
    assert_eq!(
        body["organization"]["name"],
        "Secretaria Municipal de Desenvolvimento Econômico"
    );
    assert_eq!(body["organization"]["sphere"], "municipal");

    // Again: nothing changes.
    let snapshot =
        "SELECT count(*) + sum(extract(epoch FROM updated_at))::bigint AS value FROM services";
    let before = db.scalar_i64(snapshot).await;
    let again = import_govbr_feed(&mut conn, &cuiaba(), &cuiaba_feed())
        .await
        .unwrap();
    assert_eq!(counts(&again), (0, 0, 6, 0), "{}", again.render());
    assert_eq!(db.scalar_i64(snapshot).await, before);

    // With a default provider, the record that names none is imported too.
    let with_default = FeedImport {
        default_organization: Some("secretaria-municipal-de-educacao"),
        ..cuiaba()
    };
    let third = import_govbr_feed(&mut conn, &with_default, &cuiaba_feed())
        .await
        .unwrap();
    assert_eq!(counts(&third), (1, 0, 6, 0), "{}", third.render());
    let body = get(&app, "/v1/services/transporte-escolar").await.json();
    assert_eq!(
        body["organization"]["slug"],
        "secretaria-municipal-de-educacao"
    );
}

#[actix_web::test]
async fn a_bad_source_or_feed_is_an_error_not_a_crash() {
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    let bad_source = FeedImport {
        source: "Cuiabá",
        ..cuiaba()
    };
    assert!(import_govbr_feed(&mut conn, &bad_source, &cuiaba_feed())
        .await
        .is_err());
    let not_a_list = fixtures().join("auth/issuers.json").display().to_string();
    let error = import_govbr_feed(&mut conn, &cuiaba(), &not_a_list)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not a JSON array"), "{error}");
    assert!(
        import_govbr_feed(&mut conn, &cuiaba(), "/nonexistent/feed.json")
            .await
            .is_err()
    );
    assert!(
        import_govbr_feed(&mut conn, &cuiaba(), "http://127.0.0.1:9/feed.json")
            .await
            .is_err()
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM services")
            .await,
        0
    );
}

/// The published services as a catalogue's NDJSON export lists them, by `key`.
async fn exported_by<S, B>(app: &S, key: impl Fn(&Value) -> String) -> HashMap<String, Value>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = get(app, "/v1/export/services.ndjson").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .text
        .lines()
        .map(|line| {
            let service: Value = serde_json::from_str(line).unwrap();
            (key(&service), service)
        })
        .collect()
}

/// What the feed carries of a service, to compare two catalogues.
fn feed_view(service: &Value) -> Value {
    serde_json::json!({
        "name": service["name"],
        "description": service["description"],
        "popular_names": service["popular_names"],
        "keywords": service["keywords"],
        "organization": service["organization"]["name"],
    })
}

#[actix_web::test]
async fn federation_round_trip_between_two_catalogues_over_http() {
    // The state catalogue, served for real: the importer fetches its feed over HTTP.
    let origin = TestDb::seeded().await;
    let origin_state = state(&origin).await;
    let server_state = origin_state.clone();
    let server = HttpServer::new(move || build_app(server_state.clone()).unwrap())
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let feed_url = format!("http://{address}/v1/federation/govbr");

    let origin_app = carta_tests::app_for(origin_state).await;
    let feed = get(&origin_app, "/v1/federation/govbr").await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    assert_eq!(feed.header("content-type"), Some("application/json"));
    assert_eq!(feed.header("cache-control"), Some("public, max-age=300"));
    let items = feed.json();
    let items = items.as_array().unwrap();
    assert_eq!(items.len() as i64, origin.scalar_i64(PUBLISHED).await);
    let renew = items
        .iter()
        .find(|item| item["url"] == format!("{DEFAULT_PORTAL_URL}renovar-cnh"))
        .expect("the portal page of each service");
    assert!(renew["id"].is_string() && renew["date"].is_string());
    assert!(renew["organization"]["name"].is_string() && renew["organization"]["id"].is_string());
    assert!(renew["popular_names"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["name"].is_string()));

    let copy = TestDb::empty().await;
    let mut conn = copy.connect().await;
    let state_feed = FeedImport {
        source: "mt",
        sphere: Sphere::State,
        default_organization: None,
    };
    let first = import_govbr_feed(&mut conn, &state_feed, &feed_url)
        .await
        .unwrap();
    assert_eq!(counts(&first), (items.len(), 0, 0, 0), "{}", first.render());
    assert!(first.skipped.is_empty() && first.failed.is_empty());

    // The same services on both sides, the copy keyed by the origin's ids.
    let by_id = |service: &Value| service["id"].as_str().unwrap().to_owned();
    let by_external_id = |service: &Value| {
        service["source"]["external_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let origin_services = exported_by(&origin_app, by_id).await;
    let copy_app = app(&copy).await;
    let copied = exported_by(&copy_app, by_external_id).await;
    assert_eq!(copied.len(), origin_services.len());
    for (id, service) in &origin_services {
        let copy = copied.get(id).unwrap_or_else(|| panic!("{id} not copied"));
        assert_eq!(feed_view(copy), feed_view(service));
        assert_eq!(copy["source"]["source"], "mt");
        assert_eq!(copy["organization"]["sphere"], "state");
    }

    // Re-import: nothing duplicated, nothing rewritten.
    let again = import_govbr_feed(&mut conn, &state_feed, &feed_url)
        .await
        .unwrap();
    assert_eq!(counts(&again), (0, 0, items.len(), 0), "{}", again.render());
    assert_eq!(
        copy.scalar_i64("SELECT count(*) AS value FROM services")
            .await,
        items.len() as i64
    );

    // The origin renames one service and archives another.
    let renamed = origin_services
        .values()
        .find(|s| s["slug"] == "renovar-cnh")
        .unwrap();
    let dropped = origin_services
        .values()
        .find(|s| s["slug"] != "renovar-cnh")
        .unwrap();
    let mut origin_conn = origin.connect().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!(
        "UPDATE services SET name = 'Renovar a CNH vencida', \
         content = jsonb_set(content, '{{name}}', '\"Renovar a CNH vencida\"'), updated_at = now() \
         WHERE id = '{}'",
        renamed["id"].as_str().unwrap()
    ))
    .execute(&mut origin_conn)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "UPDATE services SET status = 'archived' WHERE id = '{}'",
        dropped["id"].as_str().unwrap()
    ))
    .execute(&mut origin_conn)
    .await
    .unwrap();
    let copy_slug_before = copied[renamed["id"].as_str().unwrap()]["slug"].clone();

    let third = import_govbr_feed(&mut conn, &state_feed, &feed_url)
        .await
        .unwrap();
    assert_eq!(
        counts(&third),
        (0, 1, items.len() - 2, 1),
        "{}",
        third.render()
    );
    let after = exported_by(&copy_app, by_external_id).await;
    assert_eq!(after.len(), items.len() - 1);
    let updated = &after[renamed["id"].as_str().unwrap()];
    assert_eq!(updated["name"], "Renovar a CNH vencida");
    assert_eq!(updated["slug"], copy_slug_before, "slugs are stable");
    assert!(!after.contains_key(dropped["id"].as_str().unwrap()));
    let gone = get(
        &copy_app,
        &format!(
            "/v1/services/{}",
            copied[dropped["id"].as_str().unwrap()]["slug"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    assert_eq!(gone.status, 410, "{}", gone.text);
    assert_eq!(
        copy.scalar_i64("SELECT count(*) AS value FROM services")
            .await,
        items.len() as i64,
        "never duplicated"
    );
    handle.stop(false).await;
}

/// Adds `count` published services straight in the database, so exports span several pages.
async fn add_services(db: &TestDb, count: i64) {
    use diesel_async::RunQueryDsl;
    let mut conn = db.connect().await;
    diesel::sql_query(format!(
        "INSERT INTO services (slug, organization_id, status, name, digital, content, fingerprint, published_at) \
         SELECT 'servico-extra-' || n, (SELECT id FROM organizations ORDER BY slug LIMIT 1), 'published', \
                'Serviço extra ' || n, false, \
                jsonb_build_object('name', 'Serviço extra ' || n, 'description', 'Descrição; com \"aspas\"', 'steps', '[]'::jsonb), \
                '', now() \
         FROM generate_series(1, {count}) AS n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[actix_web::test]
async fn exports_stream_every_published_service_as_ndjson_and_csv() {
    let db = TestDb::seeded().await;
    add_services(&db, 450).await;
    // Imported services are part of the public catalogue, not of the state's own feed.
    let mut conn = db.connect().await;
    import_govbr_xml(&mut conn, &fixtures().join("govbr-xml"))
        .await
        .unwrap();
    let published = db.scalar_i64(PUBLISHED).await;
    let own = db
        .scalar_i64(
            "SELECT count(*) AS value FROM services WHERE status = 'published' AND source IS NULL",
        )
        .await;
    assert!(published > own && own > 450);
    let app = app(&db).await;

    let reply = get(&app, "/v1/export/services.ndjson").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"carta-servicos.ndjson\"")
    );
    let lines: Vec<Value> = reply
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len() as i64, published);
    let mut ids: Vec<&str> = lines.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len() as i64, published, "each service once");
    assert!(lines.iter().all(|s| s["status"] == "published"));
    // Each line is the service's own document.
    for slug in [
        "renovar-cnh",
        "emitir-certidao-de-regularidade",
        "servico-extra-7",
    ] {
        let line = lines.iter().find(|s| s["slug"] == slug).unwrap();
        let single = get(&app, &format!("/v1/services/{slug}")).await.json();
        assert_eq!(line, &single, "{slug}");
    }

    let reply = get(&app, "/v1/export/services.csv").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"carta-servicos.csv\"")
    );
    let mut reader = csv::Reader::from_reader(reply.text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..3], ["id", "slug", "name"]);
    let rows: Vec<HashMap<String, String>> = reader.deserialize().map(Result::unwrap).collect();
    assert_eq!(rows.len() as i64, published);
    let renew = rows
        .iter()
        .find(|row| row["slug"] == "renovar-cnh")
        .unwrap();
    let document = lines.iter().find(|s| s["slug"] == "renovar-cnh").unwrap();
    assert_eq!(renew["name"], document["name"].as_str().unwrap());
    assert_eq!(
        renew["organization"],
        document["organization"]["name"].as_str().unwrap()
    );
    assert_eq!(renew["url"], format!("{DEFAULT_PORTAL_URL}renovar-cnh"));
    let topics: Vec<&str> = document["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(renew["topics"], topics.join(";"));
    let extra = rows
        .iter()
        .find(|row| row["slug"] == "servico-extra-1")
        .unwrap();
    assert_eq!(extra["free"], "", "unknown stays empty");

    let feed = get(&app, "/v1/federation/govbr").await.json();
    assert_eq!(feed.as_array().unwrap().len() as i64, own);

    for uri in [
        "/v1/federation/govbr?page=2",
        "/v1/export/services.ndjson?format=xml",
        "/v1/export/services.csv?x=1",
    ] {
        get(&app, uri).await.problem(422, "invalid_query");
    }
}

#[actix_web::test]
async fn exports_beyond_the_instances_slots_are_refused_for_a_while() {
    let db = TestDb::seeded().await;
    let mut state = state(&db).await;
    state.exports = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    let slots = state.exports.clone();
    let app = actix_web::test::init_service(build_app(state).unwrap()).await;
    // A finished export gives its slot back.
    for _ in 0..2 {
        let export = get(&app, "/v1/export/services.csv").await;
        assert_eq!(export.status, 200, "{}", export.text);
        for _ in 0..100 {
            if slots.available_permits() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    // While every slot is taken, the next export is a 503 to retry later, not a queue.
    let _held = slots.clone().acquire_owned().await.unwrap();
    for uri in [
        "/v1/export/services.ndjson",
        "/v1/export/services.csv",
        "/v1/federation/govbr",
    ] {
        let busy = get(&app, uri).await;
        busy.problem(503, "busy");
        assert_eq!(busy.header("retry-after"), Some("30"), "{uri}");
    }
}
