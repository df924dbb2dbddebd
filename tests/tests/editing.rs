//! Agencies edit their own services: creation, validation, the publication workflow, revisions,
//! optimistic concurrency, scope and the audit log, through the real app on a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use carta_tests::{app_for, etag_of, get, send, state, token_for, Reply, TestDb, REQUEST_ID};
use diesel_async::RunQueryDsl;
use domain::access::Role;
use serde_json::{json, Value};
use uuid::Uuid;

/// A request with a bearer token (every editing endpoint needs one).
fn request(
    method: Method,
    uri: &str,
    token: &str,
    etag: Option<&str>,
    body: Option<&Value>,
) -> Request {
    carta_tests::request(method, uri, Some(token), etag, body)
}

async fn service_id(db: &TestDb, slug: &str) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut conn = db.connect().await;
    let row: Row = diesel::sql_query("SELECT id FROM services WHERE slug = $1")
        .bind::<diesel::sql_types::Text, _>(slug)
        .get_result(&mut conn)
        .await
        .unwrap();
    row.id
}

/// The editable version and its ETag.
async fn draft<S, B>(app: &S, token: &str, id: Uuid) -> (Value, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = send(
        app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/draft"),
            token,
            None,
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let etag = etag_of(&reply);
    (reply.json(), etag)
}

/// What `/draft` answered, as a form to create a service from (its read-only members removed).
fn without_read_only(mut read: Value) -> Value {
    let form = read.as_object_mut().unwrap();
    for computed in [
        "id",
        "revision",
        "status",
        "public_status",
        "organization_id",
        "updated_at",
    ] {
        form.remove(computed);
    }
    read
}

/// Submits the editable version (at `etag`) as `editor`, then publishes it as `publisher`.
async fn submit_and_publish<S, B>(
    app: &S,
    editor: &str,
    publisher: &str,
    id: &str,
    etag: &str,
) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let submit = format!("/v1/services/{id}/submit");
    let submitted = send(
        app,
        request(Method::POST, &submit, editor, Some(etag), None),
    )
    .await;
    let publish = format!("/v1/services/{id}/publish");
    let etag = etag_of(&submitted);
    send(
        app,
        request(Method::POST, &publish, publisher, Some(&etag), None),
    )
    .await
}

/// A complete form: a seeded published service's, under a new slug and name.
async fn complete_form<S, B>(app: &S, token: &str, db: &TestDb, slug: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (read, _) = draft(app, token, service_id(db, "renovar-cnh").await).await;
    let mut form = without_read_only(read);
    let form = form.as_object_mut().unwrap();
    form.insert("slug".into(), json!(slug));
    form.insert(
        "name".into(),
        json!("Emitir licença de teste para veículos"),
    );
    form.insert("related_services".into(), json!([]));
    Value::Object(form.clone())
}

#[actix_web::test]
async fn an_editor_creates_a_draft_that_the_public_does_not_see() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let form = complete_form(&app, &editor, &db, "licenca-de-teste").await;
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/services?reason=Novo%20servi%C3%A7o",
            &editor,
            None,
            Some(&form),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let body = created.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/v1/services/{id}/draft")
    );
    assert!(created.header("etag").unwrap().starts_with("\"1-"));
    assert_eq!(body["status"], "draft");
    assert_eq!(body["revision"], 1);
    assert_eq!(body["name"], "Emitir licença de teste para veículos");
    get(&app, "/v1/services/licenca-de-teste")
        .await
        .problem(404, "not_found");
    let search = get(&app, "/v1/services?q=licenca%20de%20teste")
        .await
        .json();
    assert!(!search.to_string().contains("licenca-de-teste"));
}

#[actix_web::test]
async fn invalid_bodies_get_every_error_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let bad = json!({
        "slug": "Não Vale", "organization": "detran-mt", "name": "x".repeat(151),
        "description": "", "nmae": "typo", "topics": ["nao-existe"],
        "municipalities": [5103403, 51],
        "steps": [{"title": " ", "titel": "typo"}]
    });
    let reply = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&bad)),
    )
    .await;
    let problem = reply.problem(422, "invalid_body");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    for expected in [
        "/nmae",
        "/steps/0/titel",
        "/slug",
        "/name",
        "/description",
        "/steps/0/title",
        "/municipalities/1",
    ] {
        assert!(
            pointers.contains(&expected),
            "{expected} missing in {pointers:?}"
        );
    }
    for error in problem["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().unwrap().len() > 3);
    }
    // References are checked by the write: every unknown one at once.
    let mut unknown = complete_form(&app, &editor, &db, "com-referencias-ruins").await;
    unknown["topics"] = json!(["nao-existe"]);
    unknown["related_services"] = json!(["tambem-nao"]);
    let reply = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&unknown)),
    )
    .await;
    let problem = reply.problem(422, "invalid_body");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/topics/0", "/related_services/0"]);
    // A type error names its field; a missing required member too.
    let reply = send(
        &app,
        request(
            Method::POST,
            "/v1/services",
            &editor,
            None,
            Some(&json!({"slug": "a", "organization": "detran-mt", "description": "d"})),
        ),
    )
    .await;
    assert_eq!(
        reply.problem(422, "invalid_body")["errors"][0]["pointer"],
        "/name"
    );
    let reply = send(&app, request(Method::POST, "/v1/services", &editor, None, Some(&json!({"slug": "a", "organization": "detran-mt", "name": "n", "description": "d", "free": "sim"})))).await;
    assert_eq!(
        reply.problem(422, "invalid_body")["errors"][0]["pointer"],
        "/free"
    );
}

#[actix_web::test]
async fn malformed_oversized_and_non_json_bodies_are_problems() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let auth = (header::AUTHORIZATION, format!("Bearer {editor}"));
    let malformed = TestRequest::post()
        .uri("/v1/services")
        .insert_header(auth.clone())
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload("{\"slug\": ")
        .to_request();
    send(&app, malformed).await.problem(400, "malformed_body");
    let big = TestRequest::post()
        .uri("/v1/services")
        .insert_header(auth.clone())
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(format!(
            "{{\"description\": \"{}\"}}",
            "a".repeat(2 * 1024 * 1024)
        ))
        .to_request();
    send(&app, big).await.problem(413, "payload_too_large");
    let text = TestRequest::post()
        .uri("/v1/services")
        .insert_header(auth)
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload("oi")
        .to_request();
    send(&app, text)
        .await
        .problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn the_workflow_allows_only_its_transitions_and_publishing_needs_the_checklist() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let app = app_for(state).await;
    // An incomplete service cannot be published; the 422 lists what is missing.
    let thin = json!({"slug": "servico-incompleto", "organization": "detran-mt", "name": "Serviço incompleto", "description": "Algo."});
    let created = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&thin)),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let etag = etag_of(&created);
    let publish_draft = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            &publisher,
            Some(&etag),
            None,
        ),
    )
    .await;
    publish_draft.problem(409, "transition_not_allowed");
    let submitted = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            &editor,
            Some(&etag),
            None,
        ),
    )
    .await;
    assert_eq!(submitted.json()["status"], "in_review");
    let etag = etag_of(&submitted);
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            &editor,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(409, "transition_not_allowed");
    // An editor may not publish.
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            &editor,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(403, "forbidden");
    let blocked = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            &publisher,
            Some(&etag),
            None,
        ),
    )
    .await;
    let problem = blocked.problem(422, "checklist_incomplete");
    let missing: Vec<&str> = problem["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    for expected in ["art7_s2_iii", "art7_s2_iv", "min_keywords"] {
        assert!(missing.contains(&expected), "{expected} not in {missing:?}");
    }
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/archive"),
            &publisher,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(409, "transition_not_allowed");
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/restore"),
            &publisher,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(409, "transition_not_allowed");

    // A complete one goes draft → in_review → published → archived → draft.
    let form = complete_form(&app, &editor, &db, "licenca-completa").await;
    let created = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&form)),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let published = submit_and_publish(
        &app,
        &editor,
        &publisher,
        &id.to_string(),
        &etag_of(&created),
    )
    .await;
    assert_eq!(
        published.json()["status"],
        "published",
        "{}",
        published.text
    );
    // Public at once, and searchable at once on this instance.
    assert_eq!(get(&app, "/v1/services/licenca-completa").await.status, 200);
    let found = get(&app, "/v1/services?q=licenca%20de%20teste%20veiculos")
        .await
        .json();
    assert_eq!(found["items"][0]["slug"], "licenca-completa", "{found}");
    let archived = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/archive"),
            &publisher,
            Some(&etag_of(&published)),
            None,
        ),
    )
    .await;
    assert_eq!(archived.json()["status"], "archived");
    get(&app, "/v1/services/licenca-completa")
        .await
        .problem(410, "gone");
    get(&app, &format!("/v1/services/{id}"))
        .await
        .problem(410, "gone");
    // Archived services are not edited before they are restored.
    let mut edit = form.clone();
    edit["name"] = json!("Outro nome");
    send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{id}/draft"),
            &editor,
            Some(&etag_of(&archived)),
            Some(&edit),
        ),
    )
    .await
    .problem(409, "transition_not_allowed");
    let restored = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/restore"),
            &publisher,
            Some(&etag_of(&archived)),
            None,
        ),
    )
    .await;
    assert_eq!(restored.json()["status"], "draft");
    assert_eq!(restored.json()["public_status"], "archived");
}

#[actix_web::test]
async fn editing_a_published_service_keeps_the_public_version_until_publication() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "renovar-cnh").await;
    let (form, etag) = draft(&app, &editor, id).await;
    assert_eq!(form["revision"], 0, "seeded services have no revision yet");
    let before = get(&app, "/v1/services/renovar-cnh").await.json();
    let patch = json!({"name": "Renovar a CNH (novo texto)", "acronym": null});
    let patch_request = TestRequest::patch()
        .uri(&format!("/v1/services/{id}/draft?reason=Texto%20revisto"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {editor}")))
        .insert_header((header::IF_MATCH, etag.as_str()))
        .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
        .set_payload(patch.to_string())
        .to_request();
    let patched = send(&app, patch_request).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let body = patched.json();
    assert_eq!(body["status"], "draft");
    assert_eq!(body["public_status"], "published");
    assert_eq!(body["name"], "Renovar a CNH (novo texto)");
    assert_eq!(
        body["keywords"], form["keywords"],
        "a merge patch keeps what it does not name"
    );
    assert_eq!(
        get(&app, "/v1/services/renovar-cnh").await.json()["name"],
        before["name"]
    );
    let published = submit_and_publish(
        &app,
        &editor,
        &publisher,
        &id.to_string(),
        &etag_of(&patched),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(
        get(&app, "/v1/services/renovar-cnh").await.json()["name"],
        "Renovar a CNH (novo texto)"
    );

    // A renamed slug answers 308 to the new address once published.
    let mut renamed = published.json();
    renamed = without_read_only(renamed);
    renamed["slug"] = json!("renovar-carteira-de-motorista");
    let put = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{id}/draft"),
            &editor,
            Some(&etag_of(&published)),
            Some(&renamed),
        ),
    )
    .await;
    let published =
        submit_and_publish(&app, &editor, &publisher, &id.to_string(), &etag_of(&put)).await;
    assert_eq!(published.status, 200, "{}", published.text);
    let moved = get(&app, "/v1/services/renovar-cnh").await;
    assert_eq!(moved.status, 308);
    assert_eq!(
        moved.header("location"),
        Some("/v1/services/renovar-carteira-de-motorista")
    );
    assert_eq!(
        get(&app, "/v1/services/renovar-carteira-de-motorista")
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn every_change_is_a_revision_with_diff_and_rollback() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let reader = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    let app = app_for(state).await;
    let form = complete_form(&app, &editor, &db, "com-revisoes").await;
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/services?reason=Cria%C3%A7%C3%A3o",
            &editor,
            None,
            Some(&form),
        ),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let mut changed = form.clone();
    changed["name"] = json!("Nome alterado");
    changed["keywords"] = json!(["a", "b", "c"]);
    let put = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{id}/draft?reason=Ajuste"),
            &editor,
            Some(&etag_of(&created)),
            Some(&changed),
        ),
    )
    .await;
    assert_eq!(put.json()["revision"], 2);

    let list = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/revisions"),
            &reader,
            None,
            None,
        ),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json()["items"].clone();
    assert_eq!(items[0]["number"], 2);
    assert_eq!(items[0]["action"], "update");
    assert_eq!(items[0]["reason"], "Ajuste");
    assert_eq!(items[0]["author"], "test-editor");
    assert_eq!(items[0]["changed_fields"], json!(["keywords", "name"]));
    assert_eq!(items[1]["number"], 1);
    assert_eq!(items[1]["action"], "create");

    let first = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/revisions/1"),
            &reader,
            None,
            None,
        ),
    )
    .await
    .json();
    assert_eq!(first["form"]["name"], form["name"]);
    let diff = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/revisions/1/diff/2"),
            &reader,
            None,
            None,
        ),
    )
    .await
    .json();
    assert_eq!(diff["changes"][1]["field"], "name");
    assert_eq!(diff["changes"][1]["before"], form["name"]);
    assert_eq!(diff["changes"][1]["after"], "Nome alterado");
    send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/revisions/9"),
            &reader,
            None,
            None,
        ),
    )
    .await
    .problem(404, "not_found");

    let rolled = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/revisions/1/rollback"),
            &editor,
            Some(&etag_of(&put)),
            None,
        ),
    )
    .await;
    assert_eq!(rolled.status, 200, "{}", rolled.text);
    assert_eq!(rolled.json()["revision"], 3);
    assert_eq!(rolled.json()["name"], form["name"]);
    let latest = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{id}/revisions/3"),
            &reader,
            None,
            None,
        ),
    )
    .await
    .json();
    assert_eq!(latest["action"], "rollback");
    // Revisions are immutable, even to SQL.
    let mut conn = db.connect().await;
    let tampering = diesel::sql_query("UPDATE service_revisions SET reason = 'x'")
        .execute(&mut conn)
        .await;
    assert!(tampering.is_err());
}

#[actix_web::test]
async fn updates_need_a_current_etag() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "mudar-categoria-cnh").await;
    let (mut form, etag) = draft(&app, &editor, id).await;
    form = without_read_only(form);
    let uri = format!("/v1/services/{id}/draft");
    send(&app, request(Method::PUT, &uri, &editor, None, Some(&form)))
        .await
        .problem(428, "precondition_required");
    send(
        &app,
        request(Method::PUT, &uri, &editor, Some("*"), Some(&form)),
    )
    .await
    .problem(428, "precondition_required");
    send(
        &app,
        request(Method::PUT, &uri, &editor, Some("\"7-1\""), Some(&form)),
    )
    .await
    .problem(412, "precondition_failed");
    send(
        &app,
        request(
            Method::PUT,
            &uri,
            &editor,
            Some(&format!("W/{etag}")),
            Some(&form),
        ),
    )
    .await
    .problem(412, "precondition_failed");
    form["name"] = json!("Mudar a categoria da CNH");
    let saved = send(
        &app,
        request(Method::PUT, &uri, &editor, Some(&etag), Some(&form)),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    // The old ETag is stale now.
    send(
        &app,
        request(Method::PUT, &uri, &editor, Some(&etag), Some(&form)),
    )
    .await
    .problem(412, "precondition_failed");
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            &editor,
            None,
            None,
        ),
    )
    .await
    .problem(428, "precondition_required");
    send(
        &app,
        request(
            Method::DELETE,
            &format!("/v1/services/{id}"),
            &editor,
            None,
            None,
        ),
    )
    .await
    .problem(428, "precondition_required");
}

#[actix_web::test]
async fn of_two_concurrent_updates_exactly_one_wins_and_nothing_is_lost() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "mudar-categoria-cnh").await;
    let (mut form, etag) = draft(&app, &editor, id).await;
    form = without_read_only(form);
    let uri = format!("/v1/services/{id}/draft");
    for round in 0..5 {
        let (_, etag) = if round == 0 {
            (form.clone(), etag.clone())
        } else {
            draft(&app, &editor, id).await
        };
        let mut first = form.clone();
        first["name"] = json!(format!("Versão A{round}"));
        let mut second = form.clone();
        second["name"] = json!(format!("Versão B{round}"));
        let (a, b) = futures_util::future::join(
            send(
                &app,
                request(Method::PUT, &uri, &editor, Some(&etag), Some(&first)),
            ),
            send(
                &app,
                request(Method::PUT, &uri, &editor, Some(&etag), Some(&second)),
            ),
        )
        .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
        let winner = if a.status == 200 { &first } else { &second };
        let (stored, _) = draft(&app, &editor, id).await;
        assert_eq!(stored["name"], winner["name"]);
        assert_eq!(stored["revision"], round + 1);
    }
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT count(*) AS value FROM service_revisions WHERE service_id = '{id}'"
        ))
        .await,
        5
    );
}

#[actix_web::test]
async fn no_write_endpoint_lets_an_agency_touch_another_agencys_service() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let detran_publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let sefaz_admin_like = token_for(&state, &db, Role::Publisher, &["sefaz-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "pagar-ipva").await;
    let (mut form, etag) = draft(&app, &sefaz_admin_like, id).await;
    form = without_read_only(form);
    let patch = json!({"name": "x"});
    let attempts: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, format!("/v1/services/{id}/draft"), None),
        (Method::PUT, format!("/v1/services/{id}/draft"), Some(&form)),
        (
            Method::PATCH,
            format!("/v1/services/{id}/draft"),
            Some(&patch),
        ),
        (Method::POST, format!("/v1/services/{id}/submit"), None),
        (Method::POST, format!("/v1/services/{id}/publish"), None),
        (Method::POST, format!("/v1/services/{id}/archive"), None),
        (Method::POST, format!("/v1/services/{id}/restore"), None),
        (Method::DELETE, format!("/v1/services/{id}"), None),
        (Method::GET, format!("/v1/services/{id}/revisions"), None),
        (
            Method::POST,
            format!("/v1/services/{id}/revisions/1/rollback"),
            None,
        ),
        (Method::POST, "/v1/services".to_owned(), Some(&form)),
    ];
    for (method, uri, body) in attempts {
        let reply = send(
            &app,
            request(method.clone(), &uri, &detran_publisher, Some(&etag), body),
        )
        .await;
        reply.problem(403, "forbidden");
    }
    // Moving one's own service into another agency is refused too.
    let own = service_id(&db, "renovar-cnh").await;
    let (mut own_form, own_etag) = draft(&app, &detran_publisher, own).await;
    own_form = without_read_only(own_form);
    own_form["organization"] = json!("sefaz-mt");
    send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{own}/draft"),
            &detran_publisher,
            Some(&own_etag),
            Some(&own_form),
        ),
    )
    .await
    .problem(403, "forbidden");
    // Nothing changed.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM service_revisions")
            .await,
        0
    );
}

#[actix_web::test]
async fn only_never_published_services_are_deleted() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let published = service_id(&db, "renovar-cnh").await;
    let (_, etag) = draft(&app, &editor, published).await;
    send(
        &app,
        request(
            Method::DELETE,
            &format!("/v1/services/{published}"),
            &editor,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(409, "published_service");
    let unpublished = service_id(&db, "mudar-categoria-cnh").await;
    let (_, etag) = draft(&app, &editor, unpublished).await;
    let deleted = send(
        &app,
        request(
            Method::DELETE,
            &format!("/v1/services/{unpublished}"),
            &editor,
            Some(&etag),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    send(
        &app,
        request(
            Method::GET,
            &format!("/v1/services/{unpublished}/draft"),
            &editor,
            None,
            None,
        ),
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn every_write_is_in_the_audit_log_for_admins() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let form = complete_form(&app, &editor, &db, "auditado").await;
    let created = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&form)),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            &editor,
            Some(&etag_of(&created)),
            None,
        ),
    )
    .await;
    send(&app, request(Method::GET, "/v1/audit", &editor, None, None))
        .await
        .problem(403, "forbidden");
    let log = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/audit?target_id={id}"),
            &admin,
            None,
            None,
        ),
    )
    .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let body = log.json();
    assert_eq!(body["total"], 2);
    let newest = &body["items"][0];
    assert_eq!(newest["action"], "service.submit");
    assert_eq!(newest["actor"], "test-editor");
    assert_eq!(newest["client_id"], "test-editor");
    assert_eq!(newest["role"], "editor");
    assert_eq!(
        newest["organization_id"],
        db.organization_id("detran-mt").await.to_string()
    );
    assert_eq!(newest["target_type"], "service");
    assert_eq!(newest["request_id"], REQUEST_ID);
    assert_eq!(body["items"][1]["action"], "service.create");
    let filtered = send(
        &app,
        request(
            Method::GET,
            "/v1/audit?action=service.create&actor=test-editor",
            &admin,
            None,
            None,
        ),
    )
    .await
    .json();
    assert_eq!(filtered["total"], 1);
    assert!(
        !log.text.contains(&editor),
        "the audit log never holds tokens"
    );
    send(
        &app,
        request(Method::GET, "/v1/audit?since=ontem", &admin, None, None),
    )
    .await
    .problem(422, "invalid_query");
    send(
        &app,
        request(Method::GET, "/v1/audit?quem=eu", &admin, None, None),
    )
    .await
    .problem(422, "invalid_query");
}

#[actix_web::test]
async fn what_was_read_can_be_sent_back_changed_but_not_its_state() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "mudar-categoria-cnh").await;
    let (mut read, etag) = draft(&app, &editor, id).await;
    read["status"] = json!("published");
    let uri = format!("/v1/services/{id}/draft");
    let refused = send(
        &app,
        request(Method::PUT, &uri, &editor, Some(&etag), Some(&read)),
    )
    .await;
    assert_eq!(
        refused.problem(422, "invalid_body")["errors"][0]["pointer"],
        "/status"
    );
    read["status"] = json!("draft");
    read["name"] = json!("Mudar a categoria da CNH");
    let saved = send(
        &app,
        request(Method::PUT, &uri, &editor, Some(&etag), Some(&read)),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.json()["name"], "Mudar a categoria da CNH");
    assert_eq!(saved.json()["revision"], 1);
}

#[actix_web::test]
async fn publishing_never_moves_a_service_out_of_the_publishers_scope() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let both = token_for(&state, &db, Role::Editor, &["detran-mt", "sefaz-mt"]).await;
    let detran_publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let sefaz_publisher = token_for(&state, &db, Role::Publisher, &["sefaz-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "renovar-cnh").await;
    let (mut form, etag) = draft(&app, &both, id).await;
    form["organization"] = json!("sefaz-mt");
    let moved = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{id}/draft"),
            &both,
            Some(&etag),
            Some(&form),
        ),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let submitted = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/submit"),
            &both,
            Some(&etag_of(&moved)),
            None,
        ),
    )
    .await;
    let etag = etag_of(&submitted);
    // A publisher of the service's organization only may not publish it into another one.
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            &detran_publisher,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(403, "forbidden");
    send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/publish"),
            &sefaz_publisher,
            Some(&etag),
            None,
        ),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        get(&app, "/v1/services/renovar-cnh").await.json()["organization"]["slug"],
        "detran-mt"
    );
}

#[actix_web::test]
async fn renaming_an_organization_strands_no_service() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "renovar-cnh").await;
    // A first edit and publication, so the service has revisions naming `detran-mt`.
    let (mut form, etag) = draft(&app, &publisher, id).await;
    form["name"] = json!("Renovar a CNH");
    let put = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/services/{id}/draft"),
            &publisher,
            Some(&etag),
            Some(&form),
        ),
    )
    .await;
    let published = submit_and_publish(
        &app,
        &publisher,
        &publisher,
        &id.to_string(),
        &etag_of(&put),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let organization = get(&app, "/v1/organizations/detran-mt").await;
    let renamed = TestRequest::patch()
        .uri("/v1/organizations/detran-mt")
        .insert_header((header::AUTHORIZATION, format!("Bearer {admin}")))
        .insert_header((header::IF_MATCH, organization.header("etag").unwrap()))
        .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
        .set_payload(json!({"slug": "detran-mato-grosso"}).to_string())
        .to_request();
    assert_eq!(send(&app, renamed).await.status, 200);
    let (form, etag) = draft(&app, &publisher, id).await;
    assert_eq!(
        form["organization"], "detran-mato-grosso",
        "the editable version names today's slug"
    );
    let archived = send(
        &app,
        request(
            Method::POST,
            &format!("/v1/services/{id}/archive"),
            &publisher,
            Some(&etag),
            None,
        ),
    )
    .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
}

#[actix_web::test]
async fn a_patch_builds_only_on_the_version_it_names() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let id = service_id(&db, "renovar-cnh").await;
    let (_, etag) = draft(&app, &editor, id).await;
    let patch = |etag: &str, body: Value| {
        TestRequest::patch()
            .uri(&format!("/v1/services/{id}/draft"))
            .insert_header((header::AUTHORIZATION, format!("Bearer {editor}")))
            .insert_header((header::IF_MATCH, etag.to_owned()))
            .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
            .set_payload(body.to_string())
            .to_request()
    };
    let first = send(&app, patch(&etag, json!({"acronym": "RCNH"}))).await;
    let first_etag = etag_of(&first);
    // A tag for a version that does not exist yet is never accepted, however it was guessed.
    let (revision, micros) = first_etag.trim_matches('"').split_once('-').unwrap();
    let guessed = format!("\"{}-{micros}\"", revision.parse::<i32>().unwrap() + 1);
    send(&app, patch(&guessed, json!({"name": "Outro"})))
        .await
        .problem(412, "precondition_failed");
    // Nothing to change: the same version and tag, no revision.
    let same = send(&app, patch(&first_etag, json!({"acronym": "RCNH"}))).await;
    assert_eq!(etag_of(&same), first_etag);
    assert_eq!(same.json()["revision"], 1);
}

#[actix_web::test]
async fn racing_creates_and_null_characters_are_answered_not_failed() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let form = json!({"slug": "corrida", "organization": "detran-mt", "name": "Corrida", "description": "Teste."});
    let (a, b) = futures_util::future::join(
        send(
            &app,
            request(Method::POST, "/v1/services", &editor, None, Some(&form)),
        ),
        send(
            &app,
            request(Method::POST, "/v1/services", &editor, None, Some(&form)),
        ),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 422], "{} / {}", a.text, b.text);
    let loser = if a.status == 422 { &a } else { &b };
    assert_eq!(
        loser.problem(422, "invalid_body")["errors"][0]["code"],
        "taken"
    );
    let twice = json!({"slug": "duas-vezes", "organization": "detran-mt", "name": "Duas vezes",
        "description": "Teste.", "topics": ["cnh", "cnh"], "municipalities": [5103403, 5103403]});
    let created = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&twice)),
    )
    .await;
    assert_eq!(
        created.status, 201,
        "a reference named twice is linked once: {}",
        created.text
    );
    let nul = json!({"slug": "nulo", "organization": "detran-mt", "name": "a\u{0}b", "description": "Teste."});
    let reply = send(
        &app,
        request(Method::POST, "/v1/services", &editor, None, Some(&nul)),
    )
    .await;
    assert_eq!(
        reply.problem(422, "invalid_body")["errors"][0]["pointer"],
        "/name"
    );
    send(
        &app,
        request(
            Method::POST,
            "/v1/services?reason=a%00b",
            &editor,
            None,
            Some(&form),
        ),
    )
    .await
    .problem(422, "invalid_query");
}
