//! Webhooks: signed deliveries of the change feed, in order, retried after a receiver outage,
//! never by two workers at once, and subscriptions scoped to their owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use carta_api::webhooks::Deliverer;
use carta_tests::{app_for, request, send, state, token_for, webhook_settings, TestDb};
use diesel_async::SimpleAsyncConnection;
use domain::access::Role;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    idempotency_key: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

/// A partner's endpoint: answers `status`, after `delay_ms`, and records what it got.
#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    receiver: web::Data<Receiver>,
) -> HttpResponse {
    let now = receiver.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    receiver.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = receiver.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    receiver.received.lock().unwrap().push(Received {
        event: header("carta-event"),
        delivery: header("carta-delivery"),
        idempotency_key: header("idempotency-key"),
        signature: header("carta-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
    });
    receiver.in_flight.fetch_sub(1, Ordering::SeqCst);
    let status = receiver.status.load(Ordering::SeqCst);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// Starts a receiver on `listener`.
fn start_receiver(listener: std::net::TcpListener, receiver: Arc<Receiver>) {
    let data = web::Data::from(receiver);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(receive))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
}

/// Checks `Carta-Signature` as a partner would: HMAC-SHA256 of "<t>.<body>" with the secret.
fn signature_valid(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.to_owned()),
            Some(("v1", value)) => signature = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    age.abs() < 300 && expected == signature
}

/// Three published services, updated in three transactions.
async fn update_three_services(db: &TestDb) -> Vec<String> {
    let mut conn = db.connect().await;
    let mut slugs = Vec::new();
    for offset in 0..3 {
        conn.batch_execute(&format!(
            "UPDATE services SET updated_at = now() WHERE id =
               (SELECT id FROM services WHERE status = 'published' ORDER BY slug OFFSET {offset} LIMIT 1);
             UPDATE life_events SET description = 'x' WHERE id = (SELECT id FROM life_events LIMIT 1)"
        ))
        .await
        .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Slug {
            #[diesel(sql_type = diesel::sql_types::Text)]
            slug: String,
        }
        let row: Slug = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT slug FROM services WHERE status = 'published' ORDER BY slug OFFSET {offset} LIMIT 1"
            )),
            &mut conn,
        )
        .await
        .unwrap();
        slugs.push(row.slug);
    }
    slugs
}

#[actix_web::test]
async fn deliveries_are_signed_in_order_and_survive_a_receiver_outage() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let partner = state
        .auth
        .issue(
            "partner-a",
            Role::Reader,
            vec![db.organization_id("detran-mt").await],
        )
        .unwrap();
    let pool = state.pool.clone();
    let app = app_for(state).await;

    // The receiver's port, reserved and released: nothing listens there yet (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/carta");
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/webhooks",
            Some(&partner),
            None,
            Some(&json!({"url": url, "events": ["service.*"]})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["owner"], "partner-a");

    let slugs = update_three_services(&db).await;
    let deliverer = Deliverer::new(pool.clone(), webhook_settings()).unwrap();
    assert_eq!(deliverer.run_once().await.unwrap(), 0, "receiver down");

    // The receiver comes back, failing at first.
    let receiver = Arc::new(Receiver::default());
    receiver.status.store(503, Ordering::SeqCst);
    start_receiver(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        receiver.clone(),
    );
    assert_eq!(deliverer.run_once().await.unwrap(), 0, "503 is a failure");
    receiver.status.store(200, Ordering::SeqCst);
    assert_eq!(deliverer.run_once().await.unwrap(), 3);
    assert_eq!(deliverer.run_once().await.unwrap(), 0, "nothing left");

    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 4, "one 503, then the three entries");
    let bodies: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        received[0].delivery, received[1].delivery,
        "a retry keeps its delivery id"
    );
    let delivered: Vec<String> = bodies[1..]
        .iter()
        .map(|b| b["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, slugs, "in commit order, only service events");
    for (got, body) in received.iter().zip(&bodies) {
        assert!(
            signature_valid(&secret, &got.signature, &got.body),
            "{got:?}"
        );
        assert!(!signature_valid(
            "another secret",
            &got.signature,
            &got.body
        ));
        let mut tampered = got.body.clone();
        tampered[0] = b' ';
        assert!(!signature_valid(&secret, &got.signature, &tampered));
        assert_eq!(got.event, body["event"].as_str().unwrap());
        assert_eq!(got.event, "service.updated");
        assert_eq!(got.idempotency_key, got.delivery);
        assert!(got.delivery.parse::<uuid::Uuid>().is_ok());
        assert_eq!(got.content_type, "application/json");
        assert!(body["cursor"].is_string() && body["href"].is_string());
    }
    let ids: std::collections::BTreeSet<&str> =
        received[1..].iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!(ids.len(), 3);

    // The log shows every attempt, newest first.
    let log = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/webhooks/{id}/deliveries"),
            Some(&partner),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let log = log.json();
    let items = log["items"].as_array().unwrap();
    assert_eq!(log["total"], 5);
    let oldest_first: Vec<&Value> = items.iter().rev().collect();
    assert!(oldest_first[0]["status_code"].is_null());
    assert!(oldest_first[0]["error"].is_string());
    assert_eq!(oldest_first[0]["attempt"], 1);
    assert_eq!(oldest_first[1]["status_code"], 503);
    assert_eq!(oldest_first[1]["attempt"], 2);
    assert_eq!(oldest_first[2]["status_code"], 200);
    assert_eq!(oldest_first[2]["attempt"], 3);
    assert_eq!(oldest_first[3]["attempt"], 1);
    assert_eq!(
        oldest_first[0]["delivery_id"],
        oldest_first[2]["delivery_id"]
    );
}

#[actix_web::test]
async fn two_workers_never_deliver_to_one_subscription_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let pool = state.pool.clone();
    let app = app_for(state).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let receiver = Arc::new(Receiver::default());
    receiver.status.store(204, Ordering::SeqCst);
    receiver.delay_ms.store(30, Ordering::SeqCst);
    start_receiver(listener, receiver.clone());
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/webhooks",
            Some(&admin),
            None,
            Some(&json!({"url": url, "events": ["*"], "owner": "partner-b"})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["owner"], "partner-b");
    update_three_services(&db).await;

    let first = Deliverer::new(pool.clone(), webhook_settings()).unwrap();
    let second = Deliverer::new(pool.clone(), webhook_settings()).unwrap();
    let (a, b) = futures_util::future::join(first.run_once(), second.run_once()).await;
    // Three services and three life event updates.
    assert_eq!(a.unwrap() + b.unwrap(), 6);
    assert_eq!(receiver.most_in_flight.load(Ordering::SeqCst), 1);
    let received = receiver.received.lock().unwrap().clone();
    let deliveries: std::collections::BTreeSet<&str> =
        received.iter().map(|r| r.delivery.as_str()).collect();
    assert_eq!(deliveries.len(), received.len(), "each event once");
    assert_eq!(received.len(), 6);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS value FROM webhook_subscriptions s, feed_clock c WHERE s.cursor = c.position"
        )
        .await,
        1,
        "the cursor reached the head"
    );
}

#[actix_web::test]
async fn partners_manage_only_their_own_subscriptions() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let org = db.organization_id("detran-mt").await;
    let a = state
        .auth
        .issue("partner-a", Role::Reader, vec![org])
        .unwrap();
    let b = state
        .auth
        .issue("partner-b", Role::Reader, vec![org])
        .unwrap();
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let create = |token: &str, body: Value| {
        request(Method::POST, "/v1/webhooks", Some(token), None, Some(&body))
    };

    let created = send(
        &app,
        create(&a, json!({"url": "https://a.example.org/hook", "events": ["service.published", "topic.*"]})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/webhooks/{id}");

    let list = |token: &str| request(Method::GET, "/v1/webhooks", Some(token), None, None);
    let own = send(&app, list(&a)).await.json();
    assert_eq!(own["total"], 1);
    assert!(
        own["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(
        own["items"][0]["events"],
        json!(["service.published", "topic.*"])
    );
    assert_eq!(send(&app, list(&b)).await.json()["total"], 0);
    assert_eq!(send(&app, list(&admin)).await.json()["total"], 1);
    for method in [Method::GET, Method::DELETE] {
        let reply = send(&app, request(method, &uri, Some(&b), None, None)).await;
        reply.problem(404, "not_found");
    }
    send(
        &app,
        request(
            Method::GET,
            &format!("{uri}/deliveries"),
            Some(&b),
            None,
            None,
        ),
    )
    .await
    .problem(404, "not_found");
    let got = send(&app, request(Method::GET, &uri, Some(&a), None, None)).await;
    assert_eq!(got.status, 200, "{}", got.text);

    // Only an admin subscribes for someone else; bad input is a 422 naming each field.
    send(
        &app,
        create(
            &b,
            json!({"url": "https://b.example.org/", "events": ["*"], "owner": "partner-a"}),
        ),
    )
    .await
    .problem(403, "forbidden");
    let invalid = send(
        &app,
        create(
            &b,
            json!({"url": "http://b.example.org/", "events": ["service.created", "*"], "extra": 1}),
        ),
    )
    .await;
    let body = invalid.problem(422, "invalid_body");
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    for pointer in ["/url", "/events/0", "/extra"] {
        assert!(pointers.contains(&pointer), "{pointer} in {pointers:?}");
    }
    send(&app, create(&b, json!({"url": "nonsense", "events": []})))
        .await
        .problem(422, "invalid_body");
    // A subscription cannot reach into the network Carta runs in.
    for internal in [
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ] {
        let refused = send(&app, create(&b, json!({"url": internal, "events": ["*"]})))
            .await
            .problem(422, "invalid_body");
        assert_eq!(
            refused["errors"][0]["pointer"], "/url",
            "{internal}: {refused}"
        );
    }
    send(
        &app,
        request(
            Method::POST,
            "/v1/webhooks",
            None,
            None,
            Some(&json!({"url": "https://x.example.org/", "events": ["*"]})),
        ),
    )
    .await
    .problem(401, "unauthenticated");

    let deleted = send(&app, request(Method::DELETE, &uri, Some(&a), None, None)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    send(&app, request(Method::GET, &uri, Some(&a), None, None))
        .await
        .problem(404, "not_found");
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS value FROM audit_log WHERE action IN ('webhook.create', 'webhook.delete')"
        )
        .await,
        2
    );
}
