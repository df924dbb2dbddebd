//! `carta import govbr-xml` on fixture files written for the purpose (tests/fixtures/govbr-xml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use carta_api::import::import_govbr_xml;
use carta_tests::{app, get, TestDb};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/govbr-xml")
}

#[actix_web::test]
async fn imports_valid_files_reports_bad_ones_and_is_idempotent() {
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    let report = import_govbr_xml(&mut conn, &fixtures()).await.unwrap();
    assert_eq!(report.files, 7);
    assert_eq!(report.created, 5, "{}", report.render());
    let failed: Vec<&str> = report.failed.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(failed, vec!["malformado-xml-quebrado.xml", "sem-nome.xml"]);
    assert!(report.failed[0].1.contains("line"), "{:?}", report.failed);
    assert!(!report.unmapped.is_empty(), "unknown elements are reported");
    assert!(report
        .unmapped
        .iter()
        .any(|(file, u)| file == "emitir-certidao-de-regularidade.xml"
            && u.path.contains("canal-de-prestacao")));
    assert_eq!(report.organ_pages, 2);

    // Nothing half-written from the bad files.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM services")
            .await,
        5
    );
    // Organizations identified by SIORG code, each once.
    assert_eq!(
        db.scalar_i64("SELECT count(DISTINCT siorg_code) AS value FROM organizations")
            .await,
        db.scalar_i64("SELECT count(*) AS value FROM organizations")
            .await
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS value FROM organizations WHERE siorg_code IN ('1945', '382')"
        )
        .await,
        2
    );

    let snapshot =
        "SELECT count(*) + sum(extract(epoch FROM updated_at))::bigint AS value FROM services";
    let before = db.scalar_i64(snapshot).await;
    let orgs_before = db
        .scalar_i64("SELECT count(*) + sum(extract(epoch FROM updated_at))::bigint AS value FROM organizations")
        .await;
    let again = import_govbr_xml(&mut conn, &fixtures()).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 5));
    assert_eq!(db.scalar_i64(snapshot).await, before);
    assert_eq!(
        db.scalar_i64("SELECT count(*) + sum(extract(epoch FROM updated_at))::bigint AS value FROM organizations")
            .await,
        orgs_before
    );
}

#[actix_web::test]
async fn imported_services_are_published_with_their_source_and_checklist() {
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    import_govbr_xml(&mut conn, &fixtures()).await.unwrap();
    let app = app(&db).await;
    let reply = get(&app, "/v1/services/emitir-certidao-de-regularidade").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["status"], "published");
    assert_eq!(body["source"]["source"], "govbr");
    assert_eq!(
        body["source"]["external_id"],
        "emitir-certidao-de-regularidade"
    );
    assert_eq!(body["organization"]["sphere"], "federal");
    assert_eq!(body["compliance"]["items"].as_array().unwrap().len(), 11);
    assert!(!body["steps"].as_array().unwrap().is_empty());
    let organization = get(
        &app,
        &format!(
            "/v1/organizations/{}",
            body["organization"]["slug"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert_eq!(organization["codes"]["siorg"], "1945");
    // The organ page enriched what the service record named.
    assert!(organization["description"].is_string() || organization["contact"].is_string());
    let listed = get(&app, "/v1/services?per_page=100").await.json();
    assert_eq!(listed["total"], 5);
}

/// The whole federal corpus, when it is at hand: `CARTA_GOVBR_DIR=../shared/data/govbr-cartas-v3
/// cargo test -p carta-tests --test import_govbr -- --ignored`.
#[actix_web::test]
#[ignore]
async fn imports_the_whole_federal_corpus() {
    let dir = std::env::var("CARTA_GOVBR_DIR")
        .unwrap_or_else(|_| "../../shared/data/govbr-cartas-v3".into());
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    let report = import_govbr_xml(&mut conn, std::path::Path::new(&dir))
        .await
        .unwrap();
    assert_eq!(report.files, 1856);
    assert!(report.failed.is_empty(), "{}", report.render());
    assert_eq!(report.created, 1856);
    let again = import_govbr_xml(&mut conn, std::path::Path::new(&dir))
        .await
        .unwrap();
    assert_eq!(again.unchanged, 1856, "{}", again.render());
}

#[actix_web::test]
async fn a_record_named_like_an_address_of_the_api_gets_another_slug() {
    let db = TestDb::empty().await;
    let mut conn = db.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let xml = std::fs::read_to_string(
        fixtures().join("cartas-servico/v3/servicos/consultar-situacao-cadastral.xml"),
    )
    .unwrap()
    .replace("<id>consultar-situacao-cadastral</id>", "<id>popular</id>");
    std::fs::write(dir.path().join("popular.xml"), xml).unwrap();
    let report = import_govbr_xml(&mut conn, dir.path()).await.unwrap();
    assert_eq!(report.created, 1, "{}", report.render());
    // The slug was only wished for: no rule is broken.
    assert!(
        report.invalid.iter().all(|(_, e)| e.pointer != "/slug"),
        "{}",
        report.render()
    );

    let app = app(&db).await;
    let page = get(&app, "/v1/services/popular-govbr").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json()["source"]["external_id"], "popular");
    // `/v1/services/popular` is still the most viewed services.
    let popular = get(&app, "/v1/services/popular").await;
    assert_eq!(popular.status, 200, "{}", popular.text);
    assert!(popular.json()["items"].is_array(), "{}", popular.text);

    let again = import_govbr_xml(&mut conn, dir.path()).await.unwrap();
    assert_eq!(again.unchanged, 1, "{}", again.render());
}
