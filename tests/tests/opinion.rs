//! Citizens' votes: usefulness feedback and ratings, their figures, limits, duplicate
//! suppression, the agencies' reading, the monitoring panel, and that nothing personal is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use carta_api::opinion::OpinionSettings;
use carta_tests::*;
use domain::access::Role;
use serde_json::{json, Value};

/// A vote as a browser at `address` with this `User-Agent` sends it.
fn vote(uri: &str, address: &str, agent: &str, body: &Value) -> actix_http::Request {
    TestRequest::post()
        .uri(uri)
        .peer_addr(format!("{address}:50000").parse().unwrap())
        .insert_header(("User-Agent", agent))
        .set_json(body)
        .to_request()
}

const USEFUL: &str = "/v1/services/renovar-cnh/feedback";
const RATINGS: &str = "/v1/services/renovar-cnh/ratings";

async fn refreshed(state: &carta_api::AppState) {
    state
        .opinions
        .refresh(&state.pool, &state.search)
        .await
        .unwrap();
}

#[actix_web::test]
async fn votes_are_counted_and_shown_in_pages_lists_and_searches() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    // Rendered and cached before any vote: the figures must not stay stale.
    let before = get(&app, "/v1/services/renovar-cnh").await.json();
    assert_eq!(before["usefulness"], json!({"useful": 0, "not_useful": 0}));
    assert_eq!(before["satisfaction"], json!({"ratings": 0}));

    let reply = send(
        &app,
        vote(USEFUL, "198.51.100.1", "a", &json!({"useful": true})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["replaced"], false);
    assert_eq!(reply.json()["usefulness"]["useful"], 1);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let reply = send(
        &app,
        vote(
            USEFUL,
            "198.51.100.2",
            "a",
            &json!({"useful": false, "reason": "outdated", "comment": "A taxa mudou."}),
        ),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    for (address, stars) in [("198.51.100.3", 5), ("198.51.100.4", 2)] {
        let body = json!({"stars": stars, "channel": "in_person"});
        assert_eq!(
            send(&app, vote(RATINGS, address, "a", &body)).await.status,
            201
        );
    }

    refreshed(&state).await;
    let expected_usefulness = json!({"useful": 1, "not_useful": 1, "useful_percent": 50.0});
    let expected_satisfaction = json!({"ratings": 2, "average": 3.5});
    let page = get(&app, "/v1/services/renovar-cnh").await.json();
    assert_eq!(page["usefulness"], expected_usefulness);
    assert_eq!(page["satisfaction"], expected_satisfaction);
    for list in [
        "/v1/services?organization=detran-mt&per_page=100",
        "/v1/services?q=renovar%20cnh",
    ] {
        let body = get(&app, list).await.json();
        let item = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["slug"] == "renovar-cnh")
            .unwrap_or_else(|| panic!("{list}: {body}"));
        assert_eq!(item["usefulness"], expected_usefulness, "{list}");
        assert_eq!(item["satisfaction"], expected_satisfaction, "{list}");
    }
    let projected = get(
        &app,
        "/v1/services?organization=detran-mt&fields=slug,usefulness",
    )
    .await
    .json();
    assert!(projected["items"][0]["usefulness"].is_object());
    assert!(projected["items"][0].get("satisfaction").is_none());
}

#[actix_web::test]
async fn figures_by_service_organization_and_channel() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let ratings = [
        ("renovar-cnh", "web", 3),
        ("renovar-cnh", "web", 4),
        ("renovar-cnh", "in_person", 5),
        ("emitir-segunda-via-cnh", "phone", 1),
    ];
    for (i, (service, channel, stars)) in ratings.iter().enumerate() {
        let reply = send(
            &app,
            vote(
                &format!("/v1/services/{service}/ratings"),
                &format!("198.51.100.{}", i + 10),
                "a",
                &json!({"stars": stars, "channel": channel}),
            ),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    send(
        &app,
        vote(USEFUL, "198.51.100.30", "a", &json!({"useful": true})),
    )
    .await;
    refreshed(&state).await;

    let service = get(&app, "/v1/services/renovar-cnh/opinion").await.json();
    assert_eq!(
        service["satisfaction"],
        json!({
            "ratings": 3, "average": 4.0, "distribution": [0, 0, 1, 1, 1],
            "by_channel": [
                {"channel": "web", "ratings": 2, "average": 3.5},
                {"channel": "in_person", "ratings": 1, "average": 5.0},
            ]
        })
    );
    assert_eq!(service["usefulness"]["useful"], 1);

    let organization = get(&app, "/v1/organizations/detran-mt/opinion")
        .await
        .json();
    assert_eq!(organization["satisfaction"]["ratings"], 4);
    assert_eq!(organization["satisfaction"]["average"], 3.25);
    assert_eq!(
        organization["satisfaction"]["distribution"],
        json!([1, 0, 1, 1, 1])
    );
    assert_eq!(
        organization["satisfaction"]["by_channel"][2],
        json!({"channel": "phone", "ratings": 1, "average": 1.0})
    );
    let other = get(&app, "/v1/organizations/sefaz-mt/opinion").await.json();
    assert_eq!(
        other["satisfaction"],
        json!({"ratings": 0, "distribution": [0, 0, 0, 0, 0], "by_channel": []})
    );

    // A changed rating that leaves the totals as they were still reaches the cached reports.
    let moved = vote(
        RATINGS,
        "198.51.100.12",
        "a",
        &json!({"stars": 5, "channel": "web"}),
    );
    assert_eq!(send(&app, moved).await.status, 200);
    refreshed(&state).await;
    let service = get(&app, "/v1/services/renovar-cnh/opinion").await.json();
    assert_eq!(
        service["satisfaction"]["by_channel"][0],
        json!({"channel": "web", "ratings": 3, "average": 4.0})
    );

    get(&app, "/v1/services/nao-existe/opinion")
        .await
        .problem(404, "not_found");
    get(&app, "/v1/organizations/nao-existe/opinion")
        .await
        .problem(404, "not_found");
    get(&app, "/v1/services/renovar-cnh/opinion?x=1")
        .await
        .problem(422, "invalid_query");
}

#[actix_web::test]
async fn bad_votes_are_refused_field_by_field() {
    let db = TestDb::seeded().await;
    let app = app(&db).await;
    let cases = [
        (USEFUL, json!({"useful": false}), "/reason", "required"),
        (
            USEFUL,
            json!({"useful": true, "reason": "unclear"}),
            "/reason",
            "invalid",
        ),
        (
            USEFUL,
            json!({"useful": false, "reason": "other"}),
            "/comment",
            "required",
        ),
        (
            USEFUL,
            json!({"useful": false, "reason": "nope"}),
            "/reason",
            "invalid",
        ),
        (
            USEFUL,
            json!({"useful": true, "comment": "x".repeat(501)}),
            "/comment",
            "too_long",
        ),
        (
            USEFUL,
            json!({"useful": true, "who": "me"}),
            "/who",
            "unknown",
        ),
        (USEFUL, json!({}), "/useful", "required"),
        (
            RATINGS,
            json!({"stars": 6, "channel": "web"}),
            "/stars",
            "out_of_range",
        ),
        (
            RATINGS,
            json!({"stars": 3, "channel": "pombo"}),
            "/channel",
            "invalid",
        ),
        (
            RATINGS,
            json!({"stars": 3, "channel": "web", "protocol": "a b"}),
            "/protocol",
            "invalid",
        ),
    ];
    for (uri, body, pointer, code) in cases {
        let problem = send(&app, vote(uri, "198.51.100.1", "a", &body))
            .await
            .problem(422, "invalid_body");
        let error = &problem["errors"][0];
        assert_eq!(
            (error["pointer"].as_str(), error["code"].as_str()),
            (Some(pointer), Some(code)),
            "{body}: {problem}"
        );
        assert!(error["message"].as_str().unwrap().len() > 5);
    }
    let body = json!({"useful": true});
    for missing in [
        "nao-existe",
        "mudar-categoria-cnh",
        "declarar-vacinacao-febre-aftosa",
    ] {
        send(
            &app,
            vote(
                &format!("/v1/services/{missing}/feedback"),
                "198.51.100.1",
                "a",
                &body,
            ),
        )
        .await
        .problem(404, "not_found");
    }
}

#[actix_web::test]
async fn a_second_vote_of_the_same_sender_or_protocol_replaces_the_first() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let no = json!({"useful": false, "reason": "unclear"});
    let first = send(
        &app,
        vote(USEFUL, "198.51.100.1", "phone", &json!({"useful": true})),
    )
    .await;
    assert_eq!(first.status, 201);
    // The same person changes their mind: replaced, not counted twice.
    let second = send(&app, vote(USEFUL, "198.51.100.1", "phone", &no)).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json()["replaced"], true);
    assert_eq!(
        second.json()["usefulness"],
        json!({"useful": 0, "not_useful": 1, "useful_percent": 0.0})
    );
    // Another device behind the same carrier address, and another address: both count.
    assert_eq!(
        send(&app, vote(USEFUL, "198.51.100.1", "laptop", &no))
            .await
            .status,
        201
    );
    assert_eq!(
        send(&app, vote(USEFUL, "198.51.100.2", "phone", &no))
            .await
            .status,
        201
    );
    // The same vote on another service counts there.
    let other = "/v1/services/pagar-ipva/feedback";
    assert_eq!(
        send(&app, vote(other, "198.51.100.1", "phone", &no))
            .await
            .status,
        201
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM service_feedback")
            .await,
        4
    );

    // Ratings: a protocol is rated once. Its sender may change the rating; someone else naming
    // the same protocol (a guess at a sequential number) cannot overwrite it.
    let rate = |stars: i32, protocol: &str| json!({"stars": stars, "channel": "web", "protocol": protocol});
    let first = vote(RATINGS, "198.51.100.5", "a", &rate(1, "2026/0001-X"));
    assert_eq!(send(&app, first).await.status, 201);
    let guess = vote(RATINGS, "198.51.100.6", "b", &rate(5, " 2026/0001-x "));
    send(&app, guess)
        .await
        .problem(409, "protocol_already_rated");
    let changed = vote(RATINGS, "198.51.100.5", "a", &rate(2, "2026/0001-X"));
    let again = send(&app, changed).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        again.json()["satisfaction"],
        json!({"ratings": 1, "average": 2.0})
    );
    let another = vote(RATINGS, "198.51.100.7", "c", &rate(4, "2026/0002-X"));
    assert_eq!(send(&app, another).await.status, 201);

    // Two copies of one vote sent at once count once.
    let copies = (0..4).map(|_| {
        send(
            &app,
            vote(other, "198.51.100.9", "z", &json!({"useful": true})),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(copies)
        .await
        .iter()
        .map(|reply| reply.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    refreshed(&state).await;
    let page = get(&app, "/v1/services/pagar-ipva").await.json();
    assert_eq!(
        page["usefulness"],
        json!({"useful": 1, "not_useful": 1, "useful_percent": 50.0})
    );
}

#[actix_web::test]
async fn votes_are_limited_per_address_and_per_service() {
    let db = TestDb::seeded().await;
    let state = state(&db).await.with_opinions(OpinionSettings {
        per_address_per_minute: 3,
        per_service_per_minute: 5,
        ..OpinionSettings::default()
    });
    let app = app_for(state).await;
    let yes = json!({"useful": true});
    let services = ["renovar-cnh", "pagar-ipva", "emitir-cartao-sus"];
    for service in services {
        let reply = send(
            &app,
            vote(
                &format!("/v1/services/{service}/feedback"),
                "203.0.113.1",
                "a",
                &yes,
            ),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let limited = send(
        &app,
        vote(
            "/v1/services/abrir-empresa/ratings",
            "203.0.113.1",
            "a",
            &json!({"stars": 4, "channel": "web"}),
        ),
    )
    .await;
    limited.problem(429, "vote_limit");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // Many addresses on one service: the service's limit holds (one was spent above).
    for i in 0..4 {
        let reply = send(
            &app,
            vote(USEFUL, &format!("203.0.113.{}", i + 10), "a", &yes),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    send(&app, vote(USEFUL, "203.0.113.50", "a", &yes))
        .await
        .problem(429, "vote_limit");
    // Other services and other addresses are not affected.
    let reply = send(
        &app,
        vote(
            "/v1/services/pagar-ipva/feedback",
            "203.0.113.50",
            "a",
            &yes,
        ),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // A refused vote is not stored.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM service_feedback")
            .await,
        8
    );
}

#[actix_web::test]
async fn nothing_personal_is_stored() {
    let db = TestDb::seeded().await;
    let state = state(&db).await.with_opinions(OpinionSettings {
        duplicate_window: Duration::from_secs(1),
        ..OpinionSettings::default()
    });
    let app = app_for(state.clone()).await;
    let address = "203.0.113.77";
    let agent = "Mozilla/5.0 (Carta teste 4242)";
    let protocol = "PROTO-777-ZZ";
    let feedback = json!({
        "useful": false, "reason": "other",
        "comment": "Sou Maria, CPF 123.456.789-09, e-mail maria.silva@exemplo.com, fone 65 99876-5432.\u{202E}\u{7}"
    });
    assert_eq!(
        send(&app, vote(USEFUL, address, agent, &feedback))
            .await
            .status,
        201
    );
    let rating = json!({"stars": 4, "channel": "in_person", "protocol": protocol, "comment": "ok"});
    assert_eq!(
        send(&app, vote(RATINGS, address, agent, &rating))
            .await
            .status,
        201
    );

    let dump = String::from_utf8(
        std::process::Command::new("pg_dump")
            .args(["--data-only", "--dbname", &db.url])
            .output()
            .expect("pg_dump")
            .stdout,
    )
    .unwrap();
    assert!(dump.contains("Sou Maria"), "the dump holds the data");
    for personal in [
        address,
        agent,
        protocol,
        "PROTO",
        "123.456.789-09",
        "12345678909",
        "maria.silva",
        "99876",
        "\u{202E}",
    ] {
        assert!(!dump.contains(personal), "{personal:?} was stored");
    }
    assert!(
        dump.contains("Sou Maria, CPF [removido], e-mail [removido], fone [removido]"),
        "{}",
        dump.lines()
            .find(|line| line.contains("Sou Maria"))
            .unwrap_or_default()
    );

    // Past the window the pseudonyms themselves are erased: votes can no longer be linked.
    let linked = "SELECT (SELECT count(*) FROM service_feedback WHERE sender IS NOT NULL) \
                  + (SELECT count(*) FROM service_ratings WHERE sender IS NOT NULL OR protocol IS NOT NULL) AS value";
    assert_eq!(db.scalar_i64(linked).await, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    refreshed(&state).await;
    assert_eq!(db.scalar_i64(linked).await, 0);
    // And a new vote from the same sender counts anew.
    assert_eq!(
        send(&app, vote(USEFUL, address, agent, &json!({"useful": true})))
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn agencies_read_the_reasons_and_comments_of_their_own_services() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let votes = [
        (
            USEFUL,
            json!({"useful": false, "reason": "outdated", "comment": "Valor antigo."}),
        ),
        (USEFUL, json!({"useful": true})),
        (
            "/v1/services/pagar-ipva/feedback",
            json!({"useful": false, "reason": "unclear", "comment": "Segredo da Sefaz"}),
        ),
        (
            RATINGS,
            json!({"stars": 2, "channel": "in_person", "comment": "Fila longa.", "protocol": "123"}),
        ),
    ];
    for (i, (uri, body)) in votes.iter().enumerate() {
        let reply = send(&app, vote(uri, &format!("198.51.100.{i}"), "a", body)).await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }
    let detran = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let read = |uri: &str, token: Option<&str>| request(Method::GET, uri, token, None, None);

    let body = send(
        &app,
        read(
            "/v1/organizations/detran-mt/feedback?useful=false",
            Some(&detran),
        ),
    )
    .await
    .json();
    assert_eq!(body["total"], 1, "{body}");
    let entry = &body["items"][0];
    assert_eq!(entry["service"]["slug"], "renovar-cnh");
    assert_eq!(entry["reason"], "outdated");
    assert_eq!(entry["comment"], "Valor antigo.");
    let all = send(
        &app,
        read("/v1/organizations/detran-mt/feedback", Some(&detran)),
    )
    .await
    .json();
    assert_eq!(all["total"], 2);
    assert!(
        !all.to_string().contains("Segredo"),
        "another agency's comment leaked"
    );
    let by_reason = send(
        &app,
        read(
            "/v1/organizations/detran-mt/feedback?reason=unclear",
            Some(&detran),
        ),
    )
    .await
    .json();
    assert_eq!(by_reason["total"], 0);

    let ratings = send(
        &app,
        read("/v1/organizations/detran-mt/ratings?stars=2", Some(&detran)),
    )
    .await
    .json();
    assert_eq!(ratings["total"], 1, "{ratings}");
    assert_eq!(ratings["items"][0]["comment"], "Fila longa.");
    assert_eq!(ratings["items"][0]["with_protocol"], true);
    assert!(ratings["items"][0].get("protocol").is_none());

    let sefaz = token_for(&state, &db, Role::Editor, &["sefaz-mt"]).await;
    send(
        &app,
        read("/v1/organizations/detran-mt/feedback", Some(&sefaz)),
    )
    .await
    .problem(403, "forbidden");
    send(
        &app,
        read("/v1/organizations/detran-mt/ratings", Some(&sefaz)),
    )
    .await
    .problem(403, "forbidden");
    let reader = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    send(
        &app,
        read("/v1/organizations/detran-mt/feedback", Some(&reader)),
    )
    .await
    .problem(403, "forbidden");
    send(&app, read("/v1/organizations/detran-mt/feedback", None))
        .await
        .problem(401, "unauthenticated");
    send(
        &app,
        read("/v1/organizations/detran-mt/ratings?stars=9", Some(&detran)),
    )
    .await
    .problem(422, "invalid_query");
    send(
        &app,
        read(
            "/v1/organizations/detran-mt/feedback?page=1&x=2",
            Some(&detran),
        ),
    )
    .await
    .problem(422, "invalid_query");
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let sefaz_votes = send(
        &app,
        read("/v1/organizations/sefaz-mt/feedback", Some(&admin)),
    )
    .await
    .json();
    assert_eq!(sefaz_votes["items"][0]["comment"], "Segredo da Sefaz");
}

#[actix_web::test]
async fn the_panel_of_an_organization() {
    let db = TestDb::seeded().await;
    let mut conn = db.connect().await;
    // One service left unreviewed for two years.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "UPDATE services SET updated_at = now() - interval '2 years' WHERE slug = 'pagar-ipva'",
    )
    .await
    .unwrap();
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let rating = json!({"stars": 5, "channel": "web"});
    send(
        &app,
        vote(
            "/v1/services/pagar-ipva/ratings",
            "198.51.100.1",
            "a",
            &rating,
        ),
    )
    .await;
    refreshed(&state).await;

    let published = db
        .scalar_i64(
            "SELECT count(*) AS value FROM services s JOIN organizations o ON o.id = s.organization_id \
             WHERE o.slug = 'sefaz-mt' AND s.status = 'published'",
        )
        .await;
    let digital = db
        .scalar_i64(
            "SELECT count(*) AS value FROM services s JOIN organizations o ON o.id = s.organization_id \
             WHERE o.slug = 'sefaz-mt' AND s.status = 'published' AND s.digital",
        )
        .await;
    let panel = get(&app, "/v1/organizations/sefaz-mt/panel").await.json();
    assert_eq!(panel["organization"]["slug"], "sefaz-mt");
    assert_eq!(panel["published_services"], published);
    assert_eq!(panel["fully_digital"]["count"], digital);
    let percent = (digital as f64 * 1000.0 / published as f64).round() / 10.0;
    assert_eq!(panel["fully_digital"]["percent"], percent);
    assert!(panel["checklist_complete"]["count"].as_i64().unwrap() <= published);
    assert_eq!(panel["not_reviewed_in_12_months"]["count"], 1);
    assert_eq!(panel["least_recently_reviewed"][0]["slug"], "pagar-ipva");
    assert_eq!(panel["satisfaction"]["ratings"], 1);
    assert_eq!(panel["usefulness"], json!({"useful": 0, "not_useful": 0}));

    // The checklist share agrees with the service pages' own checklists.
    let list = get(
        &app,
        "/v1/services?organization=sefaz-mt&fields=slug&per_page=100",
    )
    .await
    .json();
    let mut complete = 0;
    for item in list["items"].as_array().unwrap() {
        let page = get(
            &app,
            &format!("/v1/services/{}", item["slug"].as_str().unwrap()),
        )
        .await
        .json();
        complete += i64::from(page["compliance"]["complete"] == true);
    }
    assert_eq!(panel["checklist_complete"]["count"], complete);

    get(&app, "/v1/organizations/nao-existe/panel")
        .await
        .problem(404, "not_found");
}
