//! Organizations, taxonomies, places, health, docs and request ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use carta_tests::{app, get, slugs, TestDb};
use persistence::seed;

#[actix_web::test]
async fn organizations_list_and_detail_with_service_counts() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let body = get(&app, "/v1/organizations?per_page=100").await.json();
    assert_eq!(body["total"], data.organizations.len());
    let state = get(&app, "/v1/organizations?sphere=private&per_page=100")
        .await
        .json();
    assert!(state["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["sphere"] == "private"));
    assert!(state["total"].as_i64().unwrap() >= 1);

    let detran = get(&app, "/v1/organizations/detran-mt").await;
    assert_eq!(detran.status, 200);
    let detran = detran.json();
    let published = data
        .services
        .iter()
        .filter(|s| {
            s.form.organization == "detran-mt"
                && s.status == domain::service::ServiceStatus::Published
        })
        .count();
    assert_eq!(detran["service_count"], published);
    assert_eq!(detran["kind"], "autarchy");
    let by_id = get(
        &app,
        &format!("/v1/organizations/{}", detran["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(by_id.json()["slug"], "detran-mt");
}

#[actix_web::test]
async fn topic_counts_are_the_services_the_topic_filter_finds() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let mut topics: Vec<serde_json::Value> = get(&app, "/v1/topics")
        .await
        .json()
        .as_array()
        .unwrap()
        .clone();
    let mut checked = 0;
    while let Some(topic) = topics.pop() {
        topics.extend(topic["children"].as_array().unwrap().iter().cloned());
        let slug = topic["slug"].as_str().unwrap();
        let listed = get(&app, &format!("/v1/services?topic={slug}&per_page=1"))
            .await
            .json();
        let detail = get(&app, &format!("/v1/topics/{slug}")).await.json();
        assert_eq!(topic["service_count"], listed["total"], "tree: {slug}");
        assert_eq!(detail["service_count"], listed["total"], "detail: {slug}");
        checked += 1;
    }
    assert!(checked > 30);
    // The seed tags one service with two sub-topics of this one (ICMS and IPVA): it counts once
    // here, so the sub-topics' counts add up to more.
    let tree = get(&app, "/v1/topics").await.json();
    let taxes = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "impostos-e-tributos")
        .unwrap();
    let in_children: i64 = taxes["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["service_count"].as_i64().unwrap())
        .sum();
    assert!(taxes["service_count"].as_i64().unwrap() < in_children);
}

#[actix_web::test]
async fn topics_form_a_tree_and_taxonomies_are_listed() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let data = seed::data().unwrap();
    let tree = get(&app, "/v1/topics").await.json();
    let roots = tree.as_array().unwrap();
    assert_eq!(
        roots.len(),
        data.topics.iter().filter(|t| t.parent.is_none()).count()
    );
    let nested: usize = roots
        .iter()
        .map(|r| r["children"].as_array().unwrap().len())
        .sum();
    assert!(nested > 0);
    // A topic counts its sub-topics' services (see topic_counts_are_the_services_the_topic_filter_finds).
    for root in roots {
        for child in root["children"].as_array().unwrap() {
            assert!(
                root["service_count"].as_i64().unwrap() >= child["service_count"].as_i64().unwrap()
            );
        }
    }

    let events = get(&app, "/v1/life-events").await.json();
    assert_eq!(events.as_array().unwrap().len(), data.life_events.len());
    let segments = get(&app, "/v1/segments").await.json();
    assert_eq!(segments.as_array().unwrap().len(), 4);
    let channels = get(&app, "/v1/channel-types").await.json();
    assert_eq!(channels.as_array().unwrap().len(), 18);
    assert!(channels
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "in_person" && c["govbr_name"] == "presencial"));
}

#[actix_web::test]
async fn municipalities_and_locations() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let mt = get(&app, "/v1/municipalities?state=MT&per_page=100")
        .await
        .json();
    assert_eq!(mt["total"], 142);
    assert!(mt["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["state"] == "MT"));
    let lower = get(&app, "/v1/municipalities?state=mt&per_page=1")
        .await
        .json();
    assert_eq!(lower["total"], 142);

    let data = seed::data().unwrap();
    let all = get(&app, "/v1/locations?per_page=100").await.json();
    assert_eq!(all["total"], data.locations.len());
    let cuiaba = get(&app, "/v1/locations?municipality=5103403&per_page=100")
        .await
        .json();
    let expected = data
        .locations
        .iter()
        .filter(|l| l.municipality == 5103403)
        .count();
    assert_eq!(cuiaba["total"], expected);
    assert!(cuiaba["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["municipality"]["ibge_code"] == 5103403));
    let hub = get(&app, "/v1/locations?organization=ganha-tempo&per_page=100")
        .await
        .json();
    assert!(hub["total"].as_i64().unwrap() >= 5);

    let first = &data.locations[0];
    let reply = get(&app, &format!("/v1/locations/{}", first.id)).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["name"], first.name.as_str());
    assert!(body["opening_hours"].is_array());
    assert_eq!(body["organization"]["slug"], first.organization.as_str());
}

#[actix_web::test]
async fn health_docs_openapi_and_request_ids() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let live = get(&app, "/health/live").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["status"], "ok");
    assert_eq!(get(&app, "/health/ready").await.status, 200);

    let docs = get(&app, "/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger-ui-bundle.js"));
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"] {
        assert_eq!(
            get(&app, &format!("/docs/{asset}")).await.status,
            200,
            "{asset}"
        );
    }
    // The page every problem's `type` points to lists each code as an anchor.
    let problems = get(&app, "/docs/problems").await;
    assert_eq!(problems.status, 200);
    assert!(problems
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    for problem in carta_api::error::PROBLEM_TYPES {
        assert!(
            problems.text.contains(&format!("id=\"{}\"", problem.code)),
            "{}",
            problem.code
        );
    }
    let json = get(&app, "/openapi.json").await.json();
    assert!(json["paths"]["/v1/services"].is_object());
    let yaml = get(&app, "/openapi.yaml").await;
    assert!(yaml.text.starts_with("openapi: 3."));

    let generated = live.header("x-request-id").unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok());
    let echoed = carta_tests::send(
        &app,
        actix_web::test::TestRequest::get()
            .uri("/health/live")
            .insert_header(("X-Request-Id", "portal-abc-123"))
            .to_request(),
    )
    .await;
    assert_eq!(echoed.header("x-request-id"), Some("portal-abc-123"));
    let error = get(&app, "/v1/services/nao-existe").await;
    assert!(error.header("x-request-id").is_some());
}

#[actix_web::test]
async fn readiness_fails_cleanly_without_a_database() {
    // A pool pointing at a database that does not exist: 503 problem, no database text leaked.
    let db = TestDb::empty().await;
    let mut state = carta_tests::state(&db).await;
    state.pool = persistence::pool::build_pool(
        "postgres://postgres@127.0.0.1:5432/carta_does_not_exist",
        &persistence::PoolSettings::default(),
    )
    .unwrap();
    let app = actix_web::test::init_service(carta_api::build_app(state).unwrap()).await;
    let reply = get(&app, "/health/ready").await;
    reply.problem(503, "service_unavailable");
    assert!(
        !reply.text.contains("carta_does_not_exist"),
        "{}",
        reply.text
    );
    let list = get(&app, "/v1/services").await;
    list.problem(503, "service_unavailable");
    assert!(
        !list.text.to_lowercase().contains("database \""),
        "{}",
        list.text
    );
}

#[actix_web::test]
async fn seeding_twice_changes_nothing() {
    let db = TestDb::seeded().await;
    let before = db
        .scalar_i64("SELECT count(*) + coalesce(sum(extract(epoch FROM updated_at))::bigint, 0) AS value FROM services")
        .await;
    let mut conn = db.connect().await;
    seed::run(&mut conn).await.unwrap();
    let after = db
        .scalar_i64("SELECT count(*) + coalesce(sum(extract(epoch FROM updated_at))::bigint, 0) AS value FROM services")
        .await;
    assert_eq!(before, after);
    let app = app(&db).await;
    let body = get(&app, "/v1/services?per_page=100").await.json();
    let mut listed = slugs(&body);
    listed.dedup();
    assert_eq!(listed.len(), body["total"].as_u64().unwrap() as usize);
}
