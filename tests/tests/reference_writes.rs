//! Writing the reference data: organizations, topics, life events and municipalities (admins) and
//! service units (editors of their organization), with versions, validation, scope, the audit log
//! and search, through the real app on a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use carta_tests::{
    app_for, etag_of, get, merge_patch, request, send, state, token_for, TestDb, REQUEST_ID,
};
use diesel_async::RunQueryDsl;
use domain::access::Role;
use serde_json::{json, Value};

/// A public read and its ETag.
async fn read<S, B>(app: &S, uri: &str) -> (Value, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = get(app, uri).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
    // A public read's tag is the record's version, a dot and its body's hash: writes answer
    // with the version alone, and accept either in `If-Match`.
    let etag = etag_of(&reply);
    let version = etag
        .trim_matches('"')
        .split_once('.')
        .map_or(etag.clone(), |(version, _)| format!("\"{version}\""));
    (reply.json(), version)
}

fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_pointers(problem: &Value, expected: &[&str]) {
    let found = pointers(problem);
    for pointer in expected {
        assert!(
            found.iter().any(|p| p == pointer),
            "{pointer} missing in {found:?}"
        );
    }
    for error in problem["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().unwrap().len() > 5, "{error}");
    }
}

fn organization_body(slug: &str, name: &str) -> Value {
    json!({
        "slug": slug,
        "name": name,
        "acronym": "OGE-MT",
        "kind": "direct_administration",
        "sphere": "state",
        "branch": "executive",
        "parent": "seplag-mt",
        "codes": {"ibge": 5103403},
        "description": "Recebe manifestações sobre os serviços do Estado.",
        "website": "https://www.ouvidoria.mt.gov.br",
    })
}

fn location_body(organization: &str, name: &str) -> Value {
    json!({
        "organization": organization,
        "name": name,
        "address": {"street": "Avenida Getúlio Vargas", "number": "100", "postal_code": "78005000"},
        "municipality": 5103403,
        "point": {"lat": -15.6, "lon": -56.1},
        "opening_hours": [{"weekday": "monday", "opens": "08:00", "closes": "17:00"}],
        "phone": "(65) 3000-0000",
    })
}

#[actix_web::test]
async fn admins_create_read_replace_patch_and_delete_organizations() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let body = organization_body("ouvidoria-geral-mt", "Ouvidoria-Geral do Estado");
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/organizations",
            Some(&admin),
            None,
            Some(&body),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let organization = created.json();
    let id = organization["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/v1/organizations/{id}")
    );
    assert_eq!(organization["parent"]["slug"], "seplag-mt");
    assert_eq!(organization["codes"]["ibge"], 5103403);
    assert_eq!(organization["service_count"], 0);
    // The public read carries the same version.
    let (read_back, etag) = read(&app, "/v1/organizations/ouvidoria-geral-mt").await;
    assert_eq!(etag, etag_of(&created));
    assert_eq!(read_back, organization);

    // A full replacement, renaming the slug.
    let mut replacement = body.clone();
    replacement["slug"] = json!("ouvidoria-mt");
    replacement["name"] = json!("Ouvidoria-Geral de Mato Grosso");
    let replaced = send(
        &app,
        request(
            Method::PUT,
            "/v1/organizations/ouvidoria-geral-mt",
            Some(&admin),
            Some(&etag),
            Some(&replacement),
        ),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.header("cache-control"), Some("no-store"));
    let etag = etag_of(&replaced);
    assert_eq!(replaced.json()["slug"], "ouvidoria-mt");
    assert_eq!(replaced.json()["id"], id.as_str());
    get(&app, "/v1/organizations/ouvidoria-geral-mt")
        .await
        .problem(404, "not_found");
    assert_eq!(read(&app, &format!("/v1/organizations/{id}")).await.1, etag);

    // Writing the same again changes nothing, not even the version.
    let same = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/organizations/{id}"),
            Some(&admin),
            Some(&etag),
            Some(&replacement),
        ),
    )
    .await;
    assert_eq!(etag_of(&same), etag);

    // A merge patch: `null` removes a member, nested objects merge.
    let patched = send(
        &app,
        merge_patch(
            "/v1/organizations/ouvidoria-mt",
            &admin,
            &etag,
            &json!({"acronym": null, "parent": null, "codes": {"cnpj": "12345678000190"}}),
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let body = patched.json();
    assert!(body.get("acronym").is_none(), "{body}");
    assert!(body.get("parent").is_none(), "{body}");
    assert_eq!(body["codes"]["cnpj"], "12345678000190");
    assert_eq!(body["codes"]["ibge"], 5103403, "untouched members stay");
    assert_eq!(body["name"], "Ouvidoria-Geral de Mato Grosso");
    let etag = etag_of(&patched);
    // Plain JSON is accepted for a merge patch too.
    let patched = send(
        &app,
        request(
            Method::PATCH,
            "/v1/organizations/ouvidoria-mt",
            Some(&admin),
            Some(&etag),
            Some(&json!({"acronym": "OGE"})),
        ),
    )
    .await;
    assert_eq!(patched.json()["acronym"], "OGE");
    let etag = etag_of(&patched);
    send(
        &app,
        request(
            Method::PATCH,
            "/v1/organizations/ouvidoria-mt",
            Some(&admin),
            Some(&etag),
            Some(&json!(["not", "an", "object"])),
        ),
    )
    .await
    .problem(400, "malformed_body");

    let deleted = send(
        &app,
        request(
            Method::DELETE,
            "/v1/organizations/ouvidoria-mt",
            Some(&admin),
            Some(&etag),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    get(&app, &format!("/v1/organizations/{id}"))
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn admins_write_topics_and_life_events() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;

    // Topics: a root, a child; the single read shows the tree around it.
    let root = send(
        &app,
        request(
            Method::POST,
            "/v1/topics",
            Some(&admin),
            None,
            Some(
                &json!({"slug": "cultura", "name": "Cultura", "description": "Museus e eventos."}),
            ),
        ),
    )
    .await;
    assert_eq!(root.status, 201, "{}", root.text);
    let root_id = root.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        root.header("location").unwrap(),
        format!("/v1/topics/{root_id}")
    );
    let child = send(
        &app,
        request(
            Method::POST,
            "/v1/topics",
            Some(&admin),
            None,
            Some(&json!({"slug": "museus", "name": "Museus", "parent": "cultura"})),
        ),
    )
    .await;
    assert_eq!(child.status, 201, "{}", child.text);
    assert_eq!(child.json()["parent"]["slug"], "cultura");
    let (root, root_etag) = read(&app, "/v1/topics/cultura").await;
    assert_eq!(root["children"][0]["slug"], "museus");
    assert_eq!(root["service_count"], 0);
    assert!(get(&app, "/v1/topics").await.text.contains("museus"));
    // A topic with services counts its subtree's, as the tree does.
    let (transit, _) = read(&app, "/v1/topics/transito-e-veiculos").await;
    let tree = get(&app, "/v1/topics").await.json();
    let in_tree = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "transito-e-veiculos")
        .unwrap();
    assert_eq!(transit["service_count"], in_tree["service_count"]);

    let replaced = send(
        &app,
        request(
            Method::PUT,
            "/v1/topics/cultura",
            Some(&admin),
            Some(&root_etag),
            Some(&json!({"slug": "cultura-e-lazer", "name": "Cultura e lazer"})),
        ),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json()["slug"], "cultura-e-lazer");
    assert!(
        replaced.json().get("description").is_none(),
        "PUT replaces whole"
    );
    let (_, museus_etag) = read(&app, "/v1/topics/museus").await;
    let patched = send(
        &app,
        merge_patch(
            "/v1/topics/museus",
            &admin,
            &museus_etag,
            &json!({"description": "Acervos públicos."}),
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["parent"]["slug"], "cultura-e-lazer");
    let deleted = send(
        &app,
        request(
            Method::DELETE,
            "/v1/topics/museus",
            Some(&admin),
            Some(&etag_of(&patched)),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    get(&app, "/v1/topics/museus")
        .await
        .problem(404, "not_found");

    // Life events.
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/life-events",
            Some(&admin),
            None,
            Some(&json!({"slug": "mudar-de-cidade", "name": "Mudar de cidade"})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["service_count"], 0);
    let (event, etag) = read(&app, "/v1/life-events/mudar-de-cidade").await;
    assert_eq!(etag, etag_of(&created));
    assert_eq!(event["name"], "Mudar de cidade");
    let patched = send(
        &app,
        merge_patch(
            "/v1/life-events/mudar-de-cidade",
            &admin,
            &etag,
            &json!({"description": "Transferir cadastros e documentos."}),
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let replaced = send(
        &app,
        request(
            Method::PUT,
            &format!("/v1/life-events/{}", event["id"].as_str().unwrap()),
            Some(&admin),
            Some(&etag_of(&patched)),
            Some(&json!({"slug": "mudanca", "name": "Mudança de cidade"})),
        ),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert!(get(&app, "/v1/life-events")
        .await
        .text
        .contains("Mudança de cidade"));
    let deleted = send(
        &app,
        request(
            Method::DELETE,
            "/v1/life-events/mudanca",
            Some(&admin),
            Some(&etag_of(&replaced)),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
}

#[actix_web::test]
async fn a_topic_never_moves_below_itself() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    for (slug, parent) in [("a", None), ("b", Some("a")), ("c", Some("b"))] {
        let created = send(
            &app,
            request(
                Method::POST,
                "/v1/topics",
                Some(&admin),
                None,
                Some(&json!({"slug": slug, "name": slug.to_uppercase(), "parent": parent})),
            ),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let (_, etag) = read(&app, "/v1/topics/a").await;
    for parent in ["c", "b"] {
        let problem = send(
            &app,
            merge_patch("/v1/topics/a", &admin, &etag, &json!({"parent": parent})),
        )
        .await
        .problem(422, "invalid_body");
        assert_eq!(pointers(&problem), vec!["/parent"]);
    }
    let problem = send(
        &app,
        merge_patch("/v1/topics/a", &admin, &etag, &json!({"parent": "a"})),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(pointers(&problem), vec!["/parent"]);
    let problem = send(
        &app,
        merge_patch(
            "/v1/topics/a",
            &admin,
            &etag,
            &json!({"parent": "nao-existe"}),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(problem["errors"][0]["code"], "unknown");
    // Nothing was written: the version still holds, and a legal move works.
    let moved = send(
        &app,
        merge_patch(
            "/v1/topics/a",
            &admin,
            &etag,
            &json!({"parent": "transito-e-veiculos"}),
        ),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    // Organizations refuse cycles the same way.
    let (_, etag) = read(&app, "/v1/organizations/seplag-mt").await;
    let problem = send(
        &app,
        merge_patch(
            "/v1/organizations/seplag-mt",
            &admin,
            &etag,
            &json!({"parent": "ganha-tempo"}),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(pointers(&problem), vec!["/parent"]);
}

#[actix_web::test]
async fn only_admins_write_organizations_taxonomies_and_municipalities() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let publisher = token_for(&state, &db, Role::Publisher, &["detran-mt"]).await;
    let editor = token_for(&state, &db, Role::Editor, &["seplag-mt"]).await;
    let app = app_for(state).await;
    let (_, org_etag) = read(&app, "/v1/organizations/detran-mt").await;
    let (_, topic_etag) = read(&app, "/v1/topics/cnh").await;
    let (_, event_etag) = read(&app, "/v1/life-events/veiculos").await;
    let (_, city_etag) = read(&app, "/v1/municipalities/5103403").await;
    let organization = organization_body("nova", "Nova");
    let topic = json!({"slug": "novo", "name": "Novo"});
    let city = json!({"name": "Cuiabá", "state": "MT", "point": {"lat": -15.6, "lon": -56.1}, "is_capital": true});
    let cases: Vec<(Method, &str, Option<&str>, Option<&Value>)> = vec![
        (Method::POST, "/v1/organizations", None, Some(&organization)),
        (
            Method::PUT,
            "/v1/organizations/detran-mt",
            Some(org_etag.as_str()),
            Some(&organization),
        ),
        (
            Method::PATCH,
            "/v1/organizations/detran-mt",
            Some(org_etag.as_str()),
            Some(&topic),
        ),
        (
            Method::DELETE,
            "/v1/organizations/detran-mt",
            Some(org_etag.as_str()),
            None,
        ),
        (Method::POST, "/v1/topics", None, Some(&topic)),
        (
            Method::PUT,
            "/v1/topics/cnh",
            Some(topic_etag.as_str()),
            Some(&topic),
        ),
        (
            Method::PATCH,
            "/v1/topics/cnh",
            Some(topic_etag.as_str()),
            Some(&topic),
        ),
        (
            Method::DELETE,
            "/v1/topics/cnh",
            Some(topic_etag.as_str()),
            None,
        ),
        (Method::POST, "/v1/life-events", None, Some(&topic)),
        (
            Method::PUT,
            "/v1/life-events/veiculos",
            Some(event_etag.as_str()),
            Some(&topic),
        ),
        (
            Method::PATCH,
            "/v1/life-events/veiculos",
            Some(event_etag.as_str()),
            Some(&topic),
        ),
        (
            Method::DELETE,
            "/v1/life-events/veiculos",
            Some(event_etag.as_str()),
            None,
        ),
        (Method::PUT, "/v1/municipalities/5199999", None, Some(&city)),
        (
            Method::PUT,
            "/v1/municipalities/5103403",
            Some(city_etag.as_str()),
            Some(&city),
        ),
        (
            Method::PATCH,
            "/v1/municipalities/5103403",
            Some(city_etag.as_str()),
            Some(&city),
        ),
        (
            Method::DELETE,
            "/v1/municipalities/5103403",
            Some(city_etag.as_str()),
            None,
        ),
    ];
    for (method, uri, etag, body) in cases {
        for token in [&publisher, &editor] {
            let reply = send(&app, request(method.clone(), uri, Some(token), etag, body)).await;
            let problem = reply.problem(403, "forbidden");
            assert!(
                problem["detail"].as_str().unwrap().contains("admin"),
                "{method} {uri}: {problem}"
            );
        }
        send(&app, request(method.clone(), uri, None, etag, body))
            .await
            .problem(401, "unauthenticated");
    }
    // Nothing changed.
    assert_eq!(read(&app, "/v1/organizations/detran-mt").await.1, org_etag);
    assert_eq!(read(&app, "/v1/municipalities/5103403").await.1, city_etag);
    get(&app, "/v1/municipalities/5199999")
        .await
        .problem(404, "not_found");
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM audit_log")
            .await,
        0
    );
}

#[actix_web::test]
async fn writes_need_the_version_that_was_read() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let detran_unit = "/v1/locations/00000000-0000-4000-8000-000000000011";
    let (unit, unit_etag) = read(&app, detran_unit).await;
    let (organization, org_etag) = read(&app, "/v1/organizations/detran-mt").await;
    let (_, topic_etag) = read(&app, "/v1/topics/cnh").await;
    let (_, city_etag) = read(&app, "/v1/municipalities/5103403").await;
    let mut unit_body = location_body("detran-mt", unit["name"].as_str().unwrap());
    unit_body["name"] = json!("DETRAN-MT – Sede");
    let org_body = json!({
        "slug": "detran-mt", "name": "Departamento Estadual de Trânsito de Mato Grosso",
        "kind": organization["kind"], "sphere": "state", "branch": "executive",
    });
    let topic_body = json!({"slug": "cnh", "name": "CNH", "parent": "transito-e-veiculos"});
    let city_body = json!({"name": "Cuiabá", "state": "MT", "point": {"lat": -15.601, "lon": -56.0974}, "is_capital": true});
    let cases: Vec<(Method, &str, &str, &str, Option<&Value>)> = vec![
        (
            Method::PUT,
            "/v1/organizations/detran-mt",
            admin.as_str(),
            org_etag.as_str(),
            Some(&org_body),
        ),
        (
            Method::PATCH,
            "/v1/organizations/detran-mt",
            admin.as_str(),
            org_etag.as_str(),
            Some(&org_body),
        ),
        (
            Method::DELETE,
            "/v1/organizations/detran-mt",
            admin.as_str(),
            org_etag.as_str(),
            None,
        ),
        (
            Method::PUT,
            "/v1/topics/cnh",
            admin.as_str(),
            topic_etag.as_str(),
            Some(&topic_body),
        ),
        (
            Method::DELETE,
            "/v1/topics/cnh",
            admin.as_str(),
            topic_etag.as_str(),
            None,
        ),
        (
            Method::PUT,
            "/v1/municipalities/5103403",
            admin.as_str(),
            city_etag.as_str(),
            Some(&city_body),
        ),
        (
            Method::PATCH,
            "/v1/municipalities/5103403",
            admin.as_str(),
            city_etag.as_str(),
            Some(&city_body),
        ),
        (
            Method::DELETE,
            "/v1/municipalities/5103403",
            admin.as_str(),
            city_etag.as_str(),
            None,
        ),
        (
            Method::PUT,
            detran_unit,
            editor.as_str(),
            unit_etag.as_str(),
            Some(&unit_body),
        ),
        (
            Method::PATCH,
            detran_unit,
            editor.as_str(),
            unit_etag.as_str(),
            Some(&unit_body),
        ),
        (
            Method::DELETE,
            detran_unit,
            editor.as_str(),
            unit_etag.as_str(),
            None,
        ),
    ];
    for (method, uri, token, etag, body) in &cases {
        for missing in [None, Some("*")] {
            send(
                &app,
                request(method.clone(), uri, Some(token), missing, *body),
            )
            .await
            .problem(428, "precondition_required");
        }
        let weak = format!("W/{etag}");
        for stale in ["\"1\"", "\"nao-e-versao\"", weak.as_str()] {
            send(
                &app,
                request(method.clone(), uri, Some(token), Some(stale), *body),
            )
            .await
            .problem(412, "precondition_failed");
        }
    }
    // A write with the version read moves it: the old one is stale from then on.
    let (method, uri, token, etag, body) = &cases[8];
    let saved = send(
        &app,
        request(method.clone(), uri, Some(token), Some(etag), *body),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_ne!(etag_of(&saved), unit_etag);
    assert_eq!(read(&app, detran_unit).await.1, etag_of(&saved));
    send(
        &app,
        request(method.clone(), uri, Some(token), Some(etag), *body),
    )
    .await
    .problem(412, "precondition_failed");
    // One of several tags is enough.
    let several = format!("\"1\", {}", etag_of(&saved));
    let saved = send(
        &app,
        merge_patch(
            detran_unit,
            &editor,
            &several,
            &json!({"phone": "(65) 3615-4800"}),
        ),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
}

#[actix_web::test]
async fn of_two_concurrent_updates_exactly_one_wins_and_nothing_is_lost() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let body = organization_body("detran-mt", "Departamento Estadual de Trânsito");
    let unit = "/v1/locations/00000000-0000-4000-8000-000000000011";
    for round in 0..5 {
        let (_, etag) = read(&app, "/v1/organizations/detran-mt").await;
        let mut first = body.clone();
        first["name"] = json!(format!("Versão A{round}"));
        let mut second = body.clone();
        second["name"] = json!(format!("Versão B{round}"));
        let (a, b) = futures_util::future::join(
            send(
                &app,
                request(
                    Method::PUT,
                    "/v1/organizations/detran-mt",
                    Some(&admin),
                    Some(&etag),
                    Some(&first),
                ),
            ),
            send(
                &app,
                request(
                    Method::PUT,
                    "/v1/organizations/detran-mt",
                    Some(&admin),
                    Some(&etag),
                    Some(&second),
                ),
            ),
        )
        .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
        let (winner, reply) = if a.status == 200 {
            (&first, &a)
        } else {
            (&second, &b)
        };
        let (stored, stored_etag) = read(&app, "/v1/organizations/detran-mt").await;
        assert_eq!(stored["name"], winner["name"]);
        assert_eq!(stored_etag, etag_of(reply));

        // Merge patches of a service unit race the same way, each changing another field: the
        // loser's change is refused, never merged over the winner's.
        let (_, etag) = read(&app, unit).await;
        let phone = json!({"phone": format!("(65) 3000-000{round}")});
        let sector = json!({"responsible_sector": format!("Setor {round}")});
        let (a, b) = futures_util::future::join(
            send(&app, merge_patch(unit, &editor, &etag, &phone)),
            send(&app, merge_patch(unit, &editor, &etag, &sector)),
        )
        .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
        let (stored, _) = read(&app, unit).await;
        if a.status == 200 {
            assert_eq!(stored["phone"], phone["phone"]);
            assert_ne!(stored["responsible_sector"], sector["responsible_sector"]);
        } else {
            assert_eq!(stored["responsible_sector"], sector["responsible_sector"]);
            assert_ne!(stored["phone"], phone["phone"]);
        }
    }
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS value FROM audit_log WHERE action IN ('organization.update', 'location.update')"
        )
        .await,
        10,
        "one entry per winning write"
    );
}

#[actix_web::test]
async fn invalid_bodies_get_every_error_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    // The rules of the fields, and members no field takes.
    let mut bad = organization_body("Não Vale", " ");
    bad["acronym"] = json!("x".repeat(31));
    bad["codes"] = json!({"cnpj": "03.467.321/0001-99", "siorg": "12a"});
    bad["website"] = json!("www.exemplo.gov.br");
    bad["source"] = json!("govbr");
    bad["nmae"] = json!("typo");
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/organizations",
            Some(&admin),
            None,
            Some(&bad),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_pointers(
        &problem,
        &[
            "/nmae",
            "/slug",
            "/name",
            "/acronym",
            "/codes/cnpj",
            "/codes/siorg",
            "/website",
            "/source",
        ],
    );
    // References and unique values, all at once.
    let mut taken = organization_body("detran-mt", "Outro DETRAN");
    taken["parent"] = json!("nao-existe");
    taken["codes"] = json!({"ibge": 5199999, "cnpj": "03467321000199"});
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/organizations",
            Some(&admin),
            None,
            Some(&taken),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_pointers(
        &problem,
        &["/slug", "/parent", "/codes/ibge", "/codes/cnpj"],
    );
    let codes: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["taken", "taken", "unknown", "unknown"]);
    // A slug another record holds, on an update.
    let (_, etag) = read(&app, "/v1/life-events/veiculos").await;
    let problem = send(
        &app,
        merge_patch(
            "/v1/life-events/veiculos",
            &admin,
            &etag,
            &json!({"slug": "documentos-e-certidoes"}),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(problem["errors"][0]["code"], "taken");
    // A missing member and a wrong type name their field.
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/topics",
            Some(&admin),
            None,
            Some(&json!({"slug": "sem-nome"})),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(pointers(&problem), vec!["/name"]);
    assert_eq!(problem["errors"][0]["code"], "required");

    // Service units.
    let mut unit = location_body("detran-mt", "");
    unit["address"]["postal_code"] = json!("78005-000");
    unit["municipality"] = json!(51);
    unit["point"] = json!({"lat": -95.0, "lon": -56.1});
    unit["opening_hours"] = json!([{"weekday": "monday", "opens": "18:00", "closes": "08:00"}]);
    unit["email"] = json!("sem-arroba");
    unit["horario"] = json!("8h");
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&editor),
            None,
            Some(&unit),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_pointers(
        &problem,
        &[
            "/horario",
            "/name",
            "/address/postal_code",
            "/municipality",
            "/point/lat",
            "/opening_hours/0/closes",
            "/email",
        ],
    );
    let mut unit = location_body("detran-mt", "Posto novo");
    unit["municipality"] = json!(5199999);
    unit["id"] = json!("00000000-0000-4000-8000-000000000012");
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&editor),
            None,
            Some(&unit),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_pointers(&problem, &["/id", "/municipality"]);

    // Municipalities: the state of the code, and the code of the path.
    let problem = send(
        &app,
        request(
            Method::PUT,
            "/v1/municipalities/5199999",
            Some(&admin),
            None,
            Some(&json!({"ibge_code": 5199998, "name": "", "state": "GO",
                "point": {"lat": 0.0, "lon": 200.0}, "is_capital": false})),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_pointers(&problem, &["/ibge_code", "/name", "/state", "/point/lon"]);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM audit_log")
            .await,
        0,
        "nothing was written"
    );
}

#[actix_web::test]
async fn municipalities_are_created_by_put_and_replaced_with_if_match() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let uri = "/v1/municipalities/5199999";
    get(&app, uri).await.problem(404, "not_found");
    let city = json!({"name": "Nova Cidade", "state": "MT",
        "point": {"lat": -12.5, "lon": -55.7}, "is_capital": false});
    // Naming a version of a municipality that does not exist is stale.
    send(
        &app,
        request(Method::PUT, uri, Some(&admin), Some("\"abc\""), Some(&city)),
    )
    .await
    .problem(412, "precondition_failed");
    let created = send(
        &app,
        request(Method::PUT, uri, Some(&admin), None, Some(&city)),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some(uri));
    assert_eq!(created.json()["ibge_code"], 5199999);
    let (read_back, etag) = read(&app, uri).await;
    assert_eq!(etag, etag_of(&created));
    assert_eq!(read_back["name"], "Nova Cidade");
    // Now it exists: replacing it needs the version.
    send(
        &app,
        request(Method::PUT, uri, Some(&admin), None, Some(&city)),
    )
    .await
    .problem(428, "precondition_required");
    let mut renamed = city.clone();
    renamed["name"] = json!("Nova Cidade do Norte");
    let replaced = send(
        &app,
        request(Method::PUT, uri, Some(&admin), Some(&etag), Some(&renamed)),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let etag = etag_of(&replaced);
    let patched = send(
        &app,
        merge_patch(uri, &admin, &etag, &json!({"is_capital": true})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["name"], "Nova Cidade do Norte");
    assert_eq!(patched.json()["is_capital"], true);
    let listed = format!(
        "{}{}",
        get(&app, "/v1/municipalities?state=MT&per_page=100&page=1")
            .await
            .text,
        get(&app, "/v1/municipalities?state=MT&per_page=100&page=2")
            .await
            .text
    );
    assert!(listed.contains("Nova Cidade do Norte"));
    let deleted = send(
        &app,
        request(
            Method::DELETE,
            uri,
            Some(&admin),
            Some(&etag_of(&patched)),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    get(&app, uri).await.problem(404, "not_found");
    get(&app, "/v1/municipalities/cuiaba")
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn editors_write_the_service_units_of_their_organizations_only() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let detran = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let sefaz = token_for(&state, &db, Role::Editor, &["sefaz-mt"]).await;
    let both = token_for(&state, &db, Role::Editor, &["detran-mt", "sefaz-mt"]).await;
    let reader = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;

    // Creating: only in one's own organizations (an unknown one included).
    let body = location_body("detran-mt", "Posto DETRAN Shopping");
    for (token, organization) in [
        (&sefaz, "detran-mt"),
        (&detran, "sefaz-mt"),
        (&detran, "nao-existe"),
        (&reader, "detran-mt"),
    ] {
        let mut body = body.clone();
        body["organization"] = json!(organization);
        send(
            &app,
            request(
                Method::POST,
                "/v1/locations",
                Some(token),
                None,
                Some(&body),
            ),
        )
        .await
        .problem(403, "forbidden");
    }
    let mut unknown = body.clone();
    unknown["organization"] = json!("nao-existe");
    let problem = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&admin),
            None,
            Some(&unknown),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(pointers(&problem), vec!["/organization"]);
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&detran),
            None,
            Some(&body),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/locations/{id}");
    assert_eq!(created.header("location"), Some(uri.as_str()));
    assert_eq!(created.json()["organization"]["slug"], "detran-mt");
    assert_eq!(created.json()["municipality"]["name"], "Cuiabá");
    let (_, etag) = read(&app, &uri).await;
    assert_eq!(etag, etag_of(&created));

    // Another organization's editor can change nothing of it.
    let mut renamed = body.clone();
    renamed["name"] = json!("Outro nome");
    send(
        &app,
        request(Method::PUT, &uri, Some(&sefaz), Some(&etag), Some(&renamed)),
    )
    .await
    .problem(403, "forbidden");
    send(
        &app,
        merge_patch(&uri, &sefaz, &etag, &json!({"name": "Outro"})),
    )
    .await
    .problem(403, "forbidden");
    send(
        &app,
        request(Method::DELETE, &uri, Some(&sefaz), Some(&etag), None),
    )
    .await
    .problem(403, "forbidden");
    // Before its version or body is even looked at.
    send(
        &app,
        request(Method::PUT, &uri, Some(&sefaz), None, Some(&json!({}))),
    )
    .await
    .problem(403, "forbidden");

    // Moving it to another organization needs the role in both.
    send(
        &app,
        merge_patch(&uri, &detran, &etag, &json!({"organization": "sefaz-mt"})),
    )
    .await
    .problem(403, "forbidden");
    let mut moved = body.clone();
    moved["organization"] = json!("sefaz-mt");
    send(
        &app,
        request(Method::PUT, &uri, Some(&detran), Some(&etag), Some(&moved)),
    )
    .await
    .problem(403, "forbidden");
    // The id is the path's.
    let mut other_id = body.clone();
    other_id["id"] = json!("00000000-0000-4000-8000-000000000099");
    let problem = send(
        &app,
        request(
            Method::PUT,
            &uri,
            Some(&detran),
            Some(&etag),
            Some(&other_id),
        ),
    )
    .await
    .problem(422, "invalid_body");
    assert_eq!(pointers(&problem), vec!["/id"]);
    let moved = send(
        &app,
        merge_patch(&uri, &both, &etag, &json!({"organization": "sefaz-mt"})),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json()["organization"]["slug"], "sefaz-mt");
    let etag = etag_of(&moved);
    // Now it is SEFAZ's: DETRAN's editor is out, SEFAZ's is in.
    send(
        &app,
        request(Method::DELETE, &uri, Some(&detran), Some(&etag), None),
    )
    .await
    .problem(403, "forbidden");
    let deleted = send(
        &app,
        request(Method::DELETE, &uri, Some(&sefaz), Some(&etag), None),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    get(&app, &uri).await.problem(404, "not_found");
    // Someone else's unit: 403 to an editor, whatever the request.
    send(
        &app,
        request(
            Method::DELETE,
            "/v1/locations/00000000-0000-4000-8000-000000000016",
            Some(&detran),
            Some("\"1\""),
            None,
        ),
    )
    .await
    .problem(403, "forbidden");
}

#[actix_web::test]
async fn records_still_referred_to_are_not_deleted() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let delete_refused = |uri: String, token: String| {
        let app = &app;
        async move {
            let (_, etag) = read(app, &uri).await;
            let problem = send(
                app,
                request(Method::DELETE, &uri, Some(&token), Some(&etag), None),
            )
            .await
            .problem(409, "in_use");
            assert_eq!(read(app, &uri).await.1, etag, "{uri} is still there");
            problem["detail"].as_str().unwrap().to_owned()
        }
    };
    let detail = delete_refused("/v1/organizations/detran-mt".into(), admin.clone()).await;
    assert!(
        detail.contains("serviços") && detail.contains("unidades de atendimento"),
        "{detail}"
    );
    let detail = delete_refused("/v1/organizations/seplag-mt".into(), admin.clone()).await;
    assert!(detail.contains("órgãos subordinados"), "{detail}");
    let detail = delete_refused("/v1/topics/transito-e-veiculos".into(), admin.clone()).await;
    assert!(detail.contains("subtemas"), "{detail}");
    let detail = delete_refused("/v1/topics/cnh".into(), admin.clone()).await;
    assert!(detail.contains("serviços"), "{detail}");
    delete_refused("/v1/life-events/veiculos".into(), admin.clone()).await;
    let detail = delete_refused("/v1/municipalities/5103403".into(), admin.clone()).await;
    assert!(
        detail.contains("órgãos") && detail.contains("unidades de atendimento"),
        "{detail}"
    );
    delete_refused(
        "/v1/locations/00000000-0000-4000-8000-000000000011".into(),
        editor.clone(),
    )
    .await;

    // An organization an API client acts for.
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/organizations",
            Some(&admin),
            None,
            Some(&organization_body("com-cliente", "Com cliente")),
        ),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let mut conn = db.connect().await;
    diesel::sql_query(format!(
        "INSERT INTO api_clients (client_id, name, role, organization_id, secret_hash) \
         VALUES ('cliente-teste', 'Cliente', 'editor', '{id}', 'x')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let detail = delete_refused(format!("/v1/organizations/{id}"), admin.clone()).await;
    assert!(detail.contains("clientes da API"), "{detail}");

    // A unit only a service's editable version lists (the public version does not yet): deleting
    // it would leave the draft naming nothing, so it is refused too.
    let unit = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&editor),
            None,
            Some(&location_body("detran-mt", "Posto novo")),
        ),
    )
    .await;
    let unit_id = unit.json()["id"].as_str().unwrap().to_owned();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let service: Row = diesel::sql_query("SELECT id FROM services WHERE slug = 'renovar-cnh'")
        .get_result(&mut conn)
        .await
        .unwrap();
    let draft_uri = format!("/v1/services/{}/draft", service.id);
    let draft = send(
        &app,
        request(Method::GET, &draft_uri, Some(&editor), None, None),
    )
    .await;
    let mut locations = draft.json()["locations"].as_array().unwrap().clone();
    locations.push(json!(unit_id));
    let saved = send(
        &app,
        merge_patch(
            &draft_uri,
            &editor,
            &etag_of(&draft),
            &json!({"locations": locations}),
        ),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert!(!get(&app, "/v1/services/renovar-cnh")
        .await
        .text
        .contains(&unit_id));
    delete_refused(format!("/v1/locations/{unit_id}"), editor.clone()).await;
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS value FROM audit_log WHERE action LIKE '%.delete'")
            .await,
        0
    );
}

#[actix_web::test]
async fn every_write_is_in_the_audit_log() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/organizations",
            Some(&admin),
            None,
            Some(&organization_body("auditada", "Auditada")),
        ),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let patched = send(
        &app,
        merge_patch(
            "/v1/organizations/auditada",
            &admin,
            &etag_of(&created),
            &json!({"name": "Auditada de novo", "website": null}),
        ),
    )
    .await;
    send(
        &app,
        request(
            Method::DELETE,
            "/v1/organizations/auditada",
            Some(&admin),
            Some(&etag_of(&patched)),
            None,
        ),
    )
    .await;
    let log = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/audit?target_type=organization&target_id={id}"),
            Some(&admin),
            None,
            None,
        ),
    )
    .await
    .json();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "organization.delete",
            "organization.update",
            "organization.create"
        ]
    );
    let update = &log["items"][1];
    assert_eq!(update["actor"], "test-admin");
    assert_eq!(update["client_id"], "test-admin");
    assert_eq!(update["role"], "admin");
    assert_eq!(update["organization_id"], id.as_str());
    assert_eq!(update["request_id"], REQUEST_ID);
    assert_eq!(
        update["detail"]["changed_fields"],
        json!(["name", "website"])
    );
    assert!(log["items"][0]["at"].is_string());

    // A service unit's entries name its organization, for the agency's own audit.
    let unit = send(
        &app,
        request(
            Method::POST,
            "/v1/locations",
            Some(&editor),
            None,
            Some(&location_body("detran-mt", "Posto auditado")),
        ),
    )
    .await;
    let unit_id = unit.json()["id"].as_str().unwrap().to_owned();
    let detran = db.organization_id("detran-mt").await.to_string();
    let log = send(
        &app,
        request(
            Method::GET,
            &format!("/v1/audit?organization={detran}&action=location.create"),
            Some(&admin),
            None,
            None,
        ),
    )
    .await
    .json();
    assert_eq!(log["total"], 1);
    assert_eq!(log["items"][0]["target_id"], unit_id.as_str());
    assert_eq!(log["items"][0]["actor"], "test-editor");
    for (uri, body) in [
        (
            "/v1/topics",
            json!({"slug": "auditado", "name": "Auditado"}),
        ),
        (
            "/v1/life-events",
            json!({"slug": "auditado", "name": "Auditado"}),
        ),
    ] {
        let reply = send(
            &app,
            request(Method::POST, uri, Some(&admin), None, Some(&body)),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    send(
        &app,
        request(
            Method::PUT,
            "/v1/municipalities/5199999",
            Some(&admin),
            None,
            Some(&json!({"name": "Auditada", "state": "MT",
                "point": {"lat": -12.0, "lon": -55.0}, "is_capital": false})),
        ),
    )
    .await;
    for action in ["topic.create", "life_event.create", "municipality.create"] {
        assert_eq!(
            db.scalar_i64(&format!(
                "SELECT count(*) AS value FROM audit_log WHERE action = '{action}' \
                 AND request_id = '{REQUEST_ID}' AND actor = 'test-admin'"
            ))
            .await,
            1,
            "{action}"
        );
    }
    let all = send(
        &app,
        request(
            Method::GET,
            "/v1/audit?per_page=100",
            Some(&admin),
            None,
            None,
        ),
    )
    .await;
    assert!(
        !all.text.contains(&admin) && !all.text.contains(&editor),
        "never tokens"
    );
}

#[actix_web::test]
async fn an_organization_rename_shows_in_search_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let before = get(&app, "/v1/services?q=cnh&organization=detran-mt")
        .await
        .json();
    let total = before["total"].as_i64().unwrap();
    assert!(total > 0);
    let (_, etag) = read(&app, "/v1/organizations/detran-mt").await;
    let renamed = send(
        &app,
        merge_patch(
            "/v1/organizations/detran-mt",
            &admin,
            &etag,
            &json!({"slug": "detran-mato-grosso", "name": "Departamento de Trânsito de MT"}),
        ),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    // No waiting for the follower: the write caught the index up.
    let after = get(&app, "/v1/services?q=cnh&organization=detran-mato-grosso")
        .await
        .json();
    assert_eq!(after["total"].as_i64().unwrap(), total, "{after}");
    assert_eq!(
        after["items"][0]["organization"]["name"],
        "Departamento de Trânsito de MT"
    );
    assert_eq!(
        get(&app, "/v1/services?q=cnh&organization=detran-mt")
            .await
            .json()["total"],
        0
    );
}

#[actix_web::test]
async fn seed_saves_move_updated_at_only_when_something_changes() {
    let db = TestDb::seeded().await;
    let mut conn = db.connect().await;
    let data = persistence::seed::data().unwrap();
    let stamp = |table: &'static str, key: String| {
        let db = &db;
        async move {
            db.scalar_i64(&format!(
                "SELECT (extract(epoch FROM updated_at) * 1000000)::bigint AS value \
                 FROM {table} WHERE {key}"
            ))
            .await
        }
    };
    let unit = data.locations[0].clone();
    let event = data.life_events[0].clone();
    let unit_key = format!("id = '{}'", unit.id);
    let event_key = format!("slug = '{}'", event.slug);
    let unit_before = stamp("locations", unit_key.clone()).await;
    let event_before = stamp("life_events", event_key.clone()).await;
    persistence::writes::save_location(&mut conn, &unit)
        .await
        .unwrap();
    persistence::writes::save_life_event(&mut conn, &event)
        .await
        .unwrap();
    assert_eq!(stamp("locations", unit_key.clone()).await, unit_before);
    assert_eq!(stamp("life_events", event_key.clone()).await, event_before);
    let mut unit = unit;
    unit.phone = Some("(65) 0000-0000".into());
    let mut event = event;
    event.description = None;
    persistence::writes::save_location(&mut conn, &unit)
        .await
        .unwrap();
    persistence::writes::save_life_event(&mut conn, &event)
        .await
        .unwrap();
    assert!(stamp("locations", unit_key).await > unit_before);
    assert!(stamp("life_events", event_key).await > event_before);
}

#[actix_web::test]
async fn a_renamed_municipality_is_renamed_in_search_facets_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let facet_label = |body: &Value| {
        body["facets"]["municipality"]
            .as_array()
            .unwrap()
            .iter()
            .find(|value| value["value"] == "5103403")
            .map(|value| value["label"].as_str().unwrap().to_owned())
    };
    let before = get(&app, "/v1/services?q=atendimento&municipality=5103403")
        .await
        .json();
    assert_eq!(facet_label(&before).as_deref(), Some("Cuiabá (MT)"));
    let (_, etag) = read(&app, "/v1/municipalities/5103403").await;
    let renamed = send(
        &app,
        merge_patch(
            "/v1/municipalities/5103403",
            &admin,
            &etag,
            &json!({"name": "Cuiabá (capital)"}),
        ),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    // Another query: the answer to the first may be cached until the index changes.
    let after = get(&app, "/v1/services?q=atendimento%20&municipality=5103403")
        .await
        .json();
    assert_eq!(
        facet_label(&after).as_deref(),
        Some("Cuiabá (capital) (MT)")
    );
}

// ----- Synonym groups -----

fn first_slug(body: &Value) -> &str {
    body["items"][0]["slug"].as_str().unwrap_or("")
}

#[actix_web::test]
async fn admins_keep_the_synonym_groups_and_search_uses_them_at_once() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    // The vocabulary the migrations seed is public, by number.
    let all = get(&app, "/v1/search/synonyms").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let groups = all.json();
    let groups = groups.as_array().unwrap();
    assert!(groups.len() >= 80, "{}", groups.len());
    assert!(groups.iter().any(|g| g["terms"][0] == "rg"));
    let numbers: Vec<i64> = groups.iter().map(|g| g["id"].as_i64().unwrap()).collect();
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(
        get(&app, "/v1/services?q=zarabatana").await.json()["total"],
        0
    );

    let created = send(
        &app,
        request(
            Method::POST,
            "/v1/search/synonyms",
            Some(&admin),
            None,
            Some(&json!({"terms": ["  zarabatana ", "vistoria"], "note": "Teste"})),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let group = created.json();
    let id = group["id"].as_i64().unwrap();
    assert_eq!(group["terms"], json!(["zarabatana", "vistoria"]));
    assert_eq!(
        created.header("location").unwrap(),
        format!("/v1/search/synonyms/{id}")
    );
    // Searchable at once on the instance that wrote it.
    let found = get(&app, "/v1/services?q=zarabatana").await.json();
    assert_eq!(first_slug(&found), "agendar-vistoria-veicular", "{found}");
    let uri = format!("/v1/search/synonyms/{id}");
    let (read_back, etag) = read(&app, &uri).await;
    assert_eq!(read_back, group);
    assert_eq!(etag, etag_of(&created));

    // Replaced: the old term is searched as typed again, the new one finds its services.
    let replaced = send(
        &app,
        request(
            Method::PUT,
            &uri,
            Some(&admin),
            Some(&etag),
            Some(&json!({"terms": ["zarabatana", "outorga"]})),
        ),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json()["note"], Value::Null);
    let found = get(&app, "/v1/services?q=zarabatana").await.json();
    assert_eq!(first_slug(&found), "solicitar-outorga-agua", "{found}");

    let patched = send(
        &app,
        merge_patch(
            &uri,
            &admin,
            &etag_of(&replaced),
            &json!({"note": "Nome popular"}),
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["terms"], json!(["zarabatana", "outorga"]));

    let deleted = send(
        &app,
        request(
            Method::DELETE,
            &uri,
            Some(&admin),
            Some(&etag_of(&patched)),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(get(&app, &uri).await.status, 404);
    assert_eq!(
        get(&app, "/v1/services?q=zarabatana").await.json()["total"],
        0
    );
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT count(*) AS value FROM audit_log WHERE target_type = 'synonym_group' \
             AND target_id = '{id}' AND action IN ('synonym_group.create', \
             'synonym_group.update', 'synonym_group.delete')"
        ))
        .await,
        4
    );
}

#[actix_web::test]
async fn synonym_groups_refuse_what_search_would_misread() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let editor = token_for(&state, &db, Role::Editor, &["detran-mt"]).await;
    let app = app_for(state).await;
    let groups = || db.scalar_i64("SELECT count(*) AS value FROM search_synonyms");
    let before = groups().await;
    let post = |token: Option<&str>, body: Value| {
        request(
            Method::POST,
            "/v1/search/synonyms",
            token,
            None,
            Some(&body),
        )
    };

    // Each expression in one group only, as search reads it: the CPF group has "cadastro de
    // pessoa física".
    let taken = send(
        &app,
        post(
            Some(&admin),
            json!({"terms": ["Cadastros de Pessoa Fisica", "zarabatana"]}),
        ),
    )
    .await;
    assert_eq!(taken.status, 422, "{}", taken.text);
    let problem = taken.json();
    assert_pointers(&problem, &["/terms/0"]);
    assert_eq!(problem["errors"][0]["code"], "taken", "{problem}");
    // The group that has it, found as search reads it.
    let holder = get(
        &app,
        "/v1/search/synonyms?term=cadastros%20de%20pessoa%20f%C3%ADsica",
    )
    .await
    .json();
    assert_eq!(holder.as_array().unwrap().len(), 1, "{holder}");
    assert_eq!(holder[0]["terms"][0], "cpf", "{holder}");
    let nobody = get(&app, "/v1/search/synonyms?term=zarabatana")
        .await
        .json();
    assert_eq!(nobody, json!([]));

    let invalid = send(
        &app,
        post(
            Some(&admin),
            json!({"terms": ["zarabatana", "ZARABATANA", "de", " "], "note": ""}),
        ),
    )
    .await;
    assert_eq!(invalid.status, 422, "{}", invalid.text);
    let problem = invalid.json();
    let codes: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("/terms/1", "duplicate"),
        ("/terms/2", "no_words"),
        ("/terms/3", "required"),
        ("/note", "required"),
    ] {
        assert!(
            codes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {codes:?}"
        );
    }
    let alone = send(&app, post(Some(&admin), json!({"terms": ["zarabatana"]}))).await;
    assert_eq!(alone.status, 422);
    assert_pointers(&alone.json(), &["/terms"]);
    let unknown = send(
        &app,
        post(
            Some(&admin),
            json!({"terms": ["zarabatana", "vistoria"], "weight": 2}),
        ),
    )
    .await;
    assert_eq!(unknown.status, 422);
    assert_pointers(&unknown.json(), &["/weight"]);

    let good = json!({"terms": ["zarabatana", "vistoria"]});
    assert_eq!(send(&app, post(None, good.clone())).await.status, 401);
    assert_eq!(
        send(&app, post(Some(&editor), good.clone())).await.status,
        403
    );
    assert_eq!(groups().await, before);

    // Changes need the version read.
    let (_, etag) = read(&app, "/v1/search/synonyms/1").await;
    let replace = |etag: Option<&str>| {
        request(
            Method::PUT,
            "/v1/search/synonyms/1",
            Some(&admin),
            etag,
            Some(&json!({"terms": ["rg", "carteira de identidade", "carteiras de identidade"]})),
        )
    };
    assert_eq!(send(&app, replace(None)).await.status, 428);
    assert_eq!(send(&app, replace(Some("\"1\""))).await.status, 412);
    // A change made in SQL (as the vocabulary migrations make them) moves the version too: the
    // admin who read before it cannot overwrite it.
    let mut conn = db.connect().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "UPDATE search_synonyms SET note = 'Revisto' WHERE id = 1",
    )
    .await
    .unwrap();
    assert_eq!(send(&app, replace(Some(&etag))).await.status, 412);
    let (_, etag) = read(&app, "/v1/search/synonyms/1").await;
    // A group keeps its own terms when replaced: they are not "taken" from itself. Variants
    // search reads alike may stay side by side (as the seeded groups have them).
    let kept = send(&app, replace(Some(&etag))).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(get(&app, "/v1/search/synonyms/nove").await.status, 404);
    assert_eq!(get(&app, "/v1/search/synonyms/99999").await.status, 404);
    assert_eq!(get(&app, "/v1/search/synonyms?q=rg").await.status, 422);
}

/// The rules admins write by are the ones the shipped vocabulary keeps: each seeded group can be
/// saved as it is.
#[actix_web::test]
async fn every_seeded_synonym_group_can_be_saved_as_it_is() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let app = app_for(state).await;
    let groups = get(&app, "/v1/search/synonyms").await.json();
    for group in groups.as_array().unwrap() {
        let uri = format!("/v1/search/synonyms/{}", group["id"]);
        let (_, etag) = read(&app, &uri).await;
        let mut body = json!({"terms": group["terms"]});
        if let Some(note) = group.get("note") {
            body["note"] = note.clone();
        }
        let saved = send(
            &app,
            request(Method::PUT, &uri, Some(&admin), Some(&etag), Some(&body)),
        )
        .await;
        assert_eq!(saved.status, 200, "{group}: {}", saved.text);
        // Nothing changed: the version stays.
        assert_eq!(etag_of(&saved), etag);
    }
}
