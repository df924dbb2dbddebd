//! The public change feed: a client following it from zero holds exactly the public catalogue,
//! entries come in commit order without gaps or duplicates even with concurrent writers, and only
//! public changes appear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use carta_tests::{app_for, etag_of, get, request, send, state, token_for, TestDb};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use domain::access::Role;
use serde_json::{json, Value};
use uuid::Uuid;

/// Ids of a SQL query's rows.
async fn ids(db: &TestDb, sql: &str) -> BTreeSet<(String, Uuid)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        resource: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut conn = db.connect().await;
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
    rows.into_iter().map(|row| (row.resource, row.id)).collect()
}

/// The public catalogue, as a set of (resource, id).
async fn public_catalogue(db: &TestDb) -> BTreeSet<(String, Uuid)> {
    ids(
        db,
        "SELECT 'service' AS resource, id FROM services WHERE status = 'published'
         UNION ALL SELECT 'organization', id FROM organizations
         UNION ALL SELECT 'topic', id FROM topics
         UNION ALL SELECT 'life_event', id FROM life_events
         UNION ALL SELECT 'location', id FROM locations",
    )
    .await
}

/// Follows the feed after `cursor` to its end; returns the entries and the last cursor.
async fn follow<S, B>(app: &S, cursor: Option<&str>, limit: u32) -> (Vec<Value>, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut entries = Vec::new();
    let mut cursor = cursor.map(str::to_owned);
    loop {
        let uri = match &cursor {
            Some(after) => format!("/v1/changes?after={after}&limit={limit}"),
            None => format!("/v1/changes?limit={limit}"),
        };
        let reply = get(app, &uri).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("cache-control"), Some("no-cache"));
        let body = reply.json();
        let page = body["changes"].as_array().unwrap().clone();
        assert!(page.len() <= limit as usize);
        let next = body["next_cursor"].as_str().unwrap().to_owned();
        if let Some(last) = page.last() {
            assert_eq!(last["cursor"], next.as_str());
        } else if let Some(given) = &cursor {
            assert_eq!(&next, given, "an empty page keeps the cursor");
        }
        entries.extend(page);
        cursor = Some(next);
        if body["has_more"] == false {
            return (entries, cursor.unwrap());
        }
    }
}

/// What a syncing client holds after applying the entries.
fn apply(
    held: &mut BTreeMap<(String, Uuid), String>,
    entries: &[Value],
) -> BTreeSet<(String, Uuid)> {
    for entry in entries {
        let key = (
            entry["resource"].as_str().unwrap().to_owned(),
            entry["id"].as_str().unwrap().parse().unwrap(),
        );
        match entry["operation"].as_str().unwrap() {
            "upsert" => {
                held.insert(key, entry["href"].as_str().unwrap().to_owned());
            }
            "delete" => {
                held.remove(&key);
            }
            other => panic!("unknown operation {other}"),
        }
    }
    held.keys().cloned().collect()
}

#[actix_web::test]
async fn following_the_feed_from_zero_yields_the_public_catalogue() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let (entries, _) = follow(&app, None, 7).await;
    let mut held = BTreeMap::new();
    assert_eq!(apply(&mut held, &entries), public_catalogue(&db).await);
    let cursors: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    assert_eq!(cursors.len(), entries.len(), "no duplicate entries");
    for ((resource, id), href) in &held {
        let reply = get(&app, href).await;
        assert_eq!(
            reply.status, 200,
            "{resource} {id} at {href}: {}",
            reply.text
        );
        assert_eq!(reply.json()["id"], id.to_string());
    }
    let first = &entries[0];
    for member in [
        "cursor",
        "resource",
        "id",
        "slug",
        "event",
        "operation",
        "href",
        "occurred_at",
    ] {
        assert!(first.get(member).is_some(), "{member} in {first}");
    }
}

#[actix_web::test]
async fn malformed_cursors_and_unknown_parameters_are_refused() {
    let db = TestDb::empty().await;
    let app = app_for(state(&db).await).await;
    for cursor in ["nonsense!", "cDE=", "MTI", "cC0x", "cDAx", ""] {
        let reply = get(&app, &format!("/v1/changes?after={cursor}")).await;
        assert_eq!(reply.status, 422, "{cursor}: {}", reply.text);
    }
    let body = get(&app, "/v1/changes?after=zzz")
        .await
        .problem(422, "invalid_cursor");
    assert_eq!(body["errors"][0]["parameter"], "after");
    get(&app, "/v1/changes?since=1")
        .await
        .problem(422, "invalid_query");
    get(&app, "/v1/changes?limit=1001")
        .await
        .problem(422, "invalid_query");
    get(&app, "/v1/changes?limit=0")
        .await
        .problem(422, "invalid_query");
    // An empty feed answers its start, never null.
    let body = get(&app, "/v1/changes").await.json();
    assert!(body["next_cursor"].is_string());
    assert_eq!(body["has_more"], false);
}

#[actix_web::test]
async fn publication_edits_archive_and_deletion_are_entries_but_draft_saves_are_not() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let app = app_for(state).await;
    let (_, head) = follow(&app, None, 1000).await;
    let id: Uuid = get(&app, "/v1/services/renovar-cnh").await.json()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // A draft save of a published service changes nothing public.
    let draft_uri = format!("/v1/services/{id}/draft");
    let read = send(
        &app,
        request(Method::GET, &draft_uri, Some(&editor), None, None),
    )
    .await;
    let patch = carta_tests::merge_patch(
        &draft_uri,
        &editor,
        &etag_of(&read),
        &json!({"name": "Renovar a CNH (rascunho)"}),
    );
    let patched = send(&app, patch).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let (entries, head) = follow(&app, Some(&head), 100).await;
    assert!(
        entries.is_empty(),
        "draft saves are not public: {entries:?}"
    );

    // Its publication is.
    let submitted = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            Some(&editor),
            Some(&etag_of(&patched)),
            None,
        ),
    )
    .await;
    let published = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            Some(&publisher),
            Some(&etag_of(&submitted)),
            None,
        ),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let (entries, head) = follow(&app, Some(&head), 100).await;
    let own: Vec<&Value> = entries
        .iter()
        .filter(|e| e["id"] == id.to_string())
        .collect();
    assert_eq!(own.len(), 1, "one entry per change: {entries:?}");
    assert_eq!(own[0]["event"], "service.updated");
    assert_eq!(own[0]["operation"], "upsert");
    // The address is unique to the change: no cache holds an older copy under it.
    let href = own[0]["href"].as_str().unwrap();
    assert!(
        href.starts_with(&format!("/v1/services/{id}?change=")),
        "{href}"
    );
    assert_eq!(own[0]["slug"], "renovar-cnh");

    // Archiving removes it from the public catalogue.
    let archived = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/archive"),
            Some(&publisher),
            Some(&etag_of(&published)),
            None,
        ),
    )
    .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    let (entries, head) = follow(&app, Some(&head), 100).await;
    let own: Vec<&Value> = entries
        .iter()
        .filter(|e| e["id"] == id.to_string())
        .collect();
    assert_eq!(own.len(), 1, "{entries:?}");
    assert_eq!(own[0]["event"], "service.archived");
    assert_eq!(own[0]["operation"], "delete");

    // Renaming a topic updates it and the published services showing it.
    let mut conn = db.connect().await;
    conn.batch_execute(
        "UPDATE topics SET name = 'Trânsito e veículos' WHERE id =
           (SELECT topic_id FROM service_topics st JOIN services s ON s.id = st.service_id
             WHERE s.status = 'published' ORDER BY s.slug LIMIT 1)",
    )
    .await
    .unwrap();
    let tagged = ids(
        &db,
        "SELECT 'service' AS resource, s.id FROM services s JOIN service_topics st ON st.service_id = s.id
           JOIN topics t ON t.id = st.topic_id WHERE t.name = 'Trânsito e veículos' AND s.status = 'published'",
    )
    .await;
    let (entries, head) = follow(&app, Some(&head), 100).await;
    let topic_entries = entries
        .iter()
        .filter(|e| e["event"] == "topic.updated")
        .count();
    assert!(topic_entries >= 1, "{entries:?}");
    let updated_services: BTreeSet<(String, Uuid)> = entries
        .iter()
        .filter(|e| e["event"] == "service.updated")
        .map(|e| {
            (
                "service".to_owned(),
                e["id"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert!(!tagged.is_empty());
    assert_eq!(updated_services, tagged);

    // Deleting a published row is a deletion; a change to an unpublished row is nothing.
    conn.batch_execute(
        "DELETE FROM services WHERE id = (SELECT id FROM services WHERE status = 'published' ORDER BY slug LIMIT 1);
         UPDATE services SET updated_at = now() WHERE status <> 'published'",
    )
    .await
    .unwrap();
    let (entries, _) = follow(&app, Some(&head), 100).await;
    let deleted: Vec<&Value> = entries
        .iter()
        .filter(|e| e["event"] == "service.deleted")
        .collect();
    assert_eq!(deleted.len(), 1, "{entries:?}");
    assert_eq!(deleted[0]["operation"], "delete");
    assert!(
        entries
            .iter()
            .all(|e| e["event"] != "service.updated" || e["id"] != deleted[0]["id"]),
        "{entries:?}"
    );
    let mut held = BTreeMap::new();
    let (all, _) = follow(&app, None, 1000).await;
    assert_eq!(apply(&mut held, &all), public_catalogue(&db).await);
}

#[actix_web::test]
async fn concurrent_writers_leave_no_gap_or_duplicate() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 12;
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let services: Vec<Uuid> = ids(
        &db,
        "SELECT 'service' AS resource, id FROM services ORDER BY id",
    )
    .await
    .into_iter()
    .map(|(_, id)| id)
    .collect();
    assert!(services.len() >= WRITERS, "enough services to share out");

    let writers = (0..WRITERS).map(|writer| {
        let mine: Vec<Uuid> = services
            .iter()
            .copied()
            .skip(writer)
            .step_by(WRITERS)
            .collect();
        let db = &db;
        async move {
            let mut conn = db.connect().await;
            for round in 0..ROUNDS {
                let id = mine[round % mine.len()];
                let other = mine[(round + 1) % mine.len()];
                // Transactions start in one order and commit in another (random sleeps), some
                // touch two services, some roll back.
                let sleep = (writer * 7 + round * 3) % 10;
                let change = match round % 4 {
                    0 => format!(
                        "UPDATE services SET status = CASE status WHEN 'published' THEN 'archived' ELSE 'published' END,
                            published_at = coalesce(published_at, now()) WHERE id = '{id}';"
                    ),
                    1 => format!(
                        "UPDATE services SET updated_at = now() WHERE id IN ('{id}', '{other}');"
                    ),
                    2 => format!(
                        "UPDATE services SET status = 'published', published_at = coalesce(published_at, now())
                          WHERE id = '{id}';
                         UPDATE services SET updated_at = now() WHERE id = '{other}';"
                    ),
                    _ => format!("UPDATE services SET status = 'archived' WHERE id = '{id}';"),
                };
                let end = if round % 5 == 4 { "ROLLBACK" } else { "COMMIT" };
                conn.batch_execute(&format!(
                    "BEGIN; {change} SELECT pg_sleep({sleep} / 1000.0); {end};"
                ))
                .await
                .unwrap();
            }
        }
    });
    let done = std::sync::atomic::AtomicBool::new(false);
    let reader = async {
        // A reader following while writers commit never sees a position before a lower one.
        let mut conn = db.connect().await;
        let mut last = 0;
        loop {
            let finished =
                std::sync::atomic::AtomicBool::load(&done, std::sync::atomic::Ordering::SeqCst);
            let changes = persistence::feed::changes_after(&mut conn, last, 1000)
                .await
                .unwrap();
            for change in &changes {
                assert_eq!(change.position, last + 1, "no gap, no duplicate");
                last = change.position;
            }
            if finished && changes.is_empty() {
                return last;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let writing = async {
        futures_util::future::join_all(writers).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (last, ()) = futures_util::future::join(reader, writing).await;
    let head = db
        .scalar_i64("SELECT position AS value FROM feed_clock")
        .await;
    assert_eq!(last, head);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM public_changes WHERE position IS NULL")
            .await,
        0
    );
    let (entries, _) = follow(&app, None, 1000).await;
    assert_eq!(entries.len() as i64, head, "positions 1..=head, each once");
    let mut held = BTreeMap::new();
    assert_eq!(apply(&mut held, &entries), public_catalogue(&db).await);
}
