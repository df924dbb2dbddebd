//! Authentication and authorization: bearer tokens from every trusted issuer, the attacks they
//! must resist, organization scope, the client-credentials token endpoint, its failure limiter,
//! how client secrets are stored, Carta's JWKS and key rotation, and secrets kept out of the audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test::TestRequest;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use carta_api::auth::clients::{self, NewClient};
use carta_tests::{
    app_for, fixtures, get, idp_claims, send, sign, state, token_for, Reply, TestDb,
};
use domain::access::Role;
use serde_json::{json, Value};

/// The id of a service of `organization` (slug), from the public list.
async fn service_of<S, B>(app: &S, organization: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let list = get(app, &format!("/v1/services?organization={organization}")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.json()["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no service of {organization}: {}", list.text))
        .to_owned()
}

/// The id of a service of any organization but detran-mt.
async fn service_outside_detran<S, B>(app: &S) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let list = get(app, "/v1/services?per_page=100").await.json();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["organization"]["slug"] != "detran-mt")
        .expect("a service of another organization")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /v1/services/{id}/draft` with this `Authorization` value (none when `None`).
async fn draft<S, B>(app: &S, id: &str, authorization: Option<&str>) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = TestRequest::get().uri(&format!("/v1/services/{id}/draft"));
    if let Some(value) = authorization {
        request = request.insert_header((header::AUTHORIZATION, value.to_owned()));
    }
    send(app, request.to_request()).await
}

async fn draft_with<S, B>(app: &S, id: &str, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    draft(app, id, Some(&format!("Bearer {token}"))).await
}

async fn bearer_get<S, B>(app: &S, uri: &str, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = TestRequest::get()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    send(app, request).await
}

fn assert_invalid_token(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.text);
    assert_eq!(
        reply.json()["code"],
        "invalid_token",
        "{case}: {}",
        reply.text
    );
    reply.problem(401, "invalid_token");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with(r#"Bearer realm="carta", error="invalid_token""#),
        "{case}: WWW-Authenticate {challenge:?}"
    );
}

/// A POST to the token endpoint with a form body.
fn token_request(body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/v1/auth/token")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

fn with_basic(request: TestRequest, client_id: &str, secret: &str) -> TestRequest {
    request.insert_header((header::AUTHORIZATION, basic(client_id, secret)))
}

async fn new_client(db: &TestDb, role: Role) -> NewClient {
    let mut conn = db.connect().await;
    clients::create(&mut conn, "Parceiro de teste", Some("detran-mt"), role)
        .await
        .unwrap()
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

/// The payload of a JWT, unverified.
fn payload(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .unwrap()
        .claims
}

/// Claims of the state identity provider with a token id too, so only the attack under test
/// differs from a token that is accepted.
fn complete_claims(orgs: &[uuid::Uuid]) -> Value {
    let mut claims = idp_claims("reader", orgs);
    claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    claims
}

#[actix_web::test]
async fn forged_expired_and_malformed_tokens_are_rejected() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let detran = db.organization_id("detran-mt").await;
    let id = service_of(&app, "detran-mt").await;
    let now = chrono::Utc::now().timestamp();
    let base = complete_claims(&[detran]);
    let valid = sign(&base, "idp-rsa");
    // The control: every attack below is one change away from this accepted token.
    assert_eq!(draft_with(&app, &id, &valid).await.status, 200);
    let [head, body, signature]: [String; 3] = parts(&valid).try_into().unwrap();

    let with = |changes: Value| {
        let mut claims = base.clone();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let none = format!(
        "{}.{}.",
        b64_json(&json!({"alg": "none", "typ": "JWT", "kid": "idp-rsa"})),
        b64_json(&base)
    );
    let hmac_with_public_key = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("idp-rsa".into());
        let public_pem = std::fs::read(fixtures().join("auth/idp-rsa.pub.pem")).unwrap();
        jsonwebtoken::encode(
            &header,
            &base,
            &jsonwebtoken::EncodingKey::from_secret(&public_pem),
        )
        .unwrap()
    };
    let mut escalated = payload(&valid);
    escalated["role"] = json!("admin");
    let tampered = format!("{head}.{}.{signature}", b64_json(&escalated));
    let es256_header = format!(
        "{}.{body}.{signature}",
        b64_json(&json!({"alg": "ES256", "typ": "JWT", "kid": "idp-rsa"}))
    );
    let eddsa_header = format!(
        "{}.{body}.{signature}",
        b64_json(&json!({"alg": "EdDSA", "typ": "JWT", "kid": "idp-rsa"}))
    );
    let mut no_exp = base.clone();
    no_exp.as_object_mut().unwrap().remove("exp");

    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        ("HS256 keyed with the RSA public key", hmac_with_public_key),
        ("unknown kid", sign(&base, "no-such-key")),
        (
            "expired beyond the leeway",
            sign(
                &with(json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})),
                "idp-rsa",
            ),
        ),
        (
            "not valid for 10 more minutes",
            sign(
                &with(json!({"nbf": now + 600, "exp": now + 1200})),
                "idp-rsa",
            ),
        ),
        (
            "untrusted issuer",
            sign(&with(json!({"iss": "https://evil.example"})), "idp-rsa"),
        ),
        (
            "Carta's issuer with an identity provider's key",
            sign(&with(json!({"iss": "carta"})), "idp-rsa"),
        ),
        (
            "partner issuer with a kid of another issuer",
            sign(
                &with(json!({"iss": "https://idp.partner.example"})),
                "idp-rsa",
            ),
        ),
        (
            "wrong audience",
            sign(&with(json!({"aud": "other-api"})), "idp-rsa"),
        ),
        ("no exp", sign(&no_exp, "idp-rsa")),
        (
            "unknown role",
            sign(&with(json!({"role": "root"})), "idp-rsa"),
        ),
        ("tampered payload (reader to admin)", tampered),
        ("one character of the payload changed", {
            let mut bytes = body.clone().into_bytes();
            let at = bytes.len() / 2;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            format!("{head}.{}.{signature}", String::from_utf8(bytes).unwrap())
        }),
        ("signature dropped", format!("{head}.{body}")),
        ("empty signature", format!("{head}.{body}.")),
        ("ES256 in the header of an RS256 key", es256_header),
        ("EdDSA in the header of an RS256 key", eddsa_header),
        ("garbage", "not-a-jwt".into()),
        ("three garbage parts", "a.b.c".into()),
    ];
    for (case, token) in &cases {
        let reply = draft_with(&app, &id, token).await;
        assert_invalid_token(&reply, case);
    }

    // No credentials at all, or credentials of another scheme: no token presented.
    for (case, authorization) in [
        ("no Authorization", None),
        ("Basic credentials", Some(basic("someone", "secret"))),
        ("empty bearer", Some("Bearer ".to_owned())),
    ] {
        let reply = draft(&app, &id, authorization.as_deref()).await;
        reply.problem(401, "unauthenticated");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="carta""#),
            "{case}"
        );
    }
}

#[actix_web::test]
async fn tokens_of_every_trusted_issuer_and_algorithm_are_accepted() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let detran = db.organization_id("detran-mt").await;
    let id = service_of(&app, "detran-mt").await;

    let claims = idp_claims("reader", &[detran]);
    let mut partner = claims.clone();
    partner["iss"] = json!("https://idp.partner.example");
    for (case, token) in [
        ("RS256, state IdP PEM key", sign(&claims, "idp-rsa")),
        ("ES256, state IdP PEM key", sign(&claims, "idp-ec")),
        ("RS256, partner JWKS", sign(&partner, "partner-rsa")),
        (
            "EdDSA, Carta's own key",
            token_for(&state, &db, Role::Reader, &["detran-mt"]).await,
        ),
    ] {
        let reply = draft_with(&app, &id, &token).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
    }
}

#[actix_web::test]
async fn clock_skew_within_the_leeway_is_tolerated() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let detran = db.organization_id("detran-mt").await;
    let id = service_of(&app, "detran-mt").await;
    let now = chrono::Utc::now().timestamp();

    let mut late = complete_claims(&[detran]);
    late["iat"] = json!(now - 900);
    late["nbf"] = json!(now - 900);
    late["exp"] = json!(now - 10);
    let reply = draft_with(&app, &id, &sign(&late, "idp-ec")).await;
    assert_eq!(reply.status, 200, "expired 10 s ago: {}", reply.text);

    let mut early = complete_claims(&[detran]);
    early["nbf"] = json!(now + 10);
    let reply = draft_with(&app, &id, &sign(&early, "idp-ec")).await;
    assert_eq!(reply.status, 200, "valid in 10 s: {}", reply.text);

    late["exp"] = json!(now - 90);
    let reply = draft_with(&app, &id, &sign(&late, "idp-ec")).await;
    assert_invalid_token(&reply, "expired 90 s ago");
}

#[actix_web::test]
async fn readers_see_only_their_organizations_and_admins_see_all() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let own = service_of(&app, "detran-mt").await;
    let other = service_outside_detran(&app).await;

    let reader = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    let reply = draft_with(&app, &own, &reader).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["id"], own.as_str());
    draft_with(&app, &other, &reader)
        .await
        .problem(403, "forbidden");
    bearer_get(&app, "/v1/audit", &reader)
        .await
        .problem(403, "forbidden");

    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    for id in [&own, &other] {
        let reply = draft_with(&app, id, &admin).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let audit = bearer_get(&app, "/v1/audit", &admin).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
}

#[actix_web::test]
async fn the_token_endpoint_issues_tokens_to_registered_clients() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let detran = db.organization_id("detran-mt").await;
    let id = service_of(&app, "detran-mt").await;
    let client = new_client(&db, Role::Editor).await;

    let by_basic = with_basic(
        token_request("grant_type=client_credentials"),
        &client.client_id,
        &client.secret,
    );
    let in_body = token_request(&format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id, client.secret
    ));
    for (case, request) in [("Basic", by_basic), ("body", in_body)] {
        let reply = send(&app, request.to_request()).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{case}");
        let body = reply.json();
        assert_eq!(body["token_type"], "Bearer", "{case}");
        assert_eq!(body["expires_in"], 900, "{case}");
        let token = body["access_token"].as_str().unwrap();

        let reply = draft_with(&app, &id, token).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);

        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA, "{case}");
        assert_eq!(
            header.kid.as_deref(),
            Some(state.auth.own_keys.signing().unwrap().0.as_str()),
            "{case}"
        );
        let claims = payload(token);
        assert_eq!(claims["iss"], "carta", "{case}");
        assert_eq!(claims["aud"], "carta", "{case}");
        assert_eq!(claims["sub"], client.client_id.as_str(), "{case}");
        assert_eq!(claims["role"], "editor", "{case}");
        assert_eq!(claims["orgs"], json!([detran]), "{case}");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            900,
            "{case}"
        );
    }
}

#[actix_web::test]
async fn the_token_endpoint_reports_oauth_errors() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let client = new_client(&db, Role::Editor).await;
    let (client_id, secret) = (client.client_id.as_str(), client.secret.as_str());
    let good_body = format!("client_id={client_id}&client_secret={secret}");

    let oauth = |reply: &Reply, status: u16, error: &str, case: &str| {
        let body = reply.problem(status, error);
        assert_eq!(body["error"], error, "{case}");
        assert!(body["error_description"].is_string(), "{case}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{case}");
    };

    let reply = send(&app, token_request(&good_body).to_request()).await;
    oauth(&reply, 400, "invalid_request", "no grant_type");

    let reply = send(
        &app,
        token_request(&format!("grant_type=password&{good_body}")).to_request(),
    )
    .await;
    oauth(&reply, 400, "unsupported_grant_type", "password grant");

    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            client_id,
            "wrong-secret",
        )
        .to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "wrong secret, Basic");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Basic realm="carta""#)
    );

    let reply = send(
        &app,
        token_request(&format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret=wrong"
        ))
        .to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "wrong secret, body");

    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            "carta-nosuchclient",
            secret,
        )
        .to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "unknown client");

    let reply = send(
        &app,
        token_request("grant_type=client_credentials").to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "no client credentials");

    let reply = send(
        &app,
        with_basic(
            token_request(&format!("grant_type=client_credentials&{good_body}")),
            client_id,
            secret,
        )
        .to_request(),
    )
    .await;
    oauth(&reply, 400, "invalid_request", "Basic and body at once");

    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials&grant_type=client_credentials"),
            client_id,
            secret,
        )
        .to_request(),
    )
    .await;
    oauth(&reply, 400, "invalid_request", "repeated parameter");

    let json_request = TestRequest::post()
        .uri("/v1/auth/token")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::AUTHORIZATION, basic(client_id, secret)))
        .set_payload(r#"{"grant_type":"client_credentials"}"#);
    let reply = send(&app, json_request.to_request()).await;
    oauth(&reply, 400, "invalid_request", "JSON body");

    // The right secret works until the client is revoked, then never again.
    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            client_id,
            secret,
        )
        .to_request(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut conn = db.connect().await;
    assert!(clients::revoke(&mut conn, client_id).await.unwrap());
    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            client_id,
            secret,
        )
        .to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "revoked, Basic");
    let reply = send(
        &app,
        token_request(&format!("grant_type=client_credentials&{good_body}")).to_request(),
    )
    .await;
    oauth(&reply, 401, "invalid_client", "revoked, body");
}

#[actix_web::test]
async fn repeated_wrong_secrets_lock_the_client_out() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let client = new_client(&db, Role::Editor).await;
    let bystander = new_client(&db, Role::Reader).await;
    let attempt = |secret: &str, client_id: &str, peer: &str| {
        with_basic(
            token_request("grant_type=client_credentials"),
            client_id,
            secret,
        )
        .peer_addr(peer.parse().unwrap())
        .to_request()
    };

    for i in 0..10 {
        let reply = send(
            &app,
            attempt(&format!("guess-{i}"), &client.client_id, "10.0.0.1:1234"),
        )
        .await;
        reply.problem(401, "invalid_client");
    }
    // Right secret, even from another address: still locked out.
    for peer in ["10.0.0.1:1234", "10.0.0.9:4321"] {
        let reply = send(&app, attempt(&client.secret, &client.client_id, peer)).await;
        reply.problem(429, "too_many_requests");
        let retry_after: u64 = reply
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(
            (1..=300).contains(&retry_after),
            "Retry-After {retry_after}"
        );
    }
    // Another client, from another address, is not affected.
    let reply = send(
        &app,
        attempt(&bystander.secret, &bystander.client_id, "10.0.0.2:1234"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[actix_web::test]
async fn many_failures_from_one_address_lock_that_address_out() {
    let db = TestDb::seeded().await;
    let app = app_for(state(&db).await).await;
    let client = new_client(&db, Role::Editor).await;
    let attempt = |client_id: &str, secret: &str, peer: &str| {
        with_basic(
            token_request("grant_type=client_credentials"),
            client_id,
            secret,
        )
        .peer_addr(peer.parse().unwrap())
        .to_request()
    };
    // 30 failures spread over client ids, none of them reaching its own limit.
    for i in 0..30 {
        let reply = send(
            &app,
            attempt(&format!("carta-guess{i:04}"), "x", "10.0.0.5:1000"),
        )
        .await;
        reply.problem(401, "invalid_client");
    }
    let reply = send(
        &app,
        attempt(&client.client_id, &client.secret, "10.0.0.5:1001"),
    )
    .await;
    reply.problem(429, "too_many_requests");
    assert!(reply.header("retry-after").is_some());
    let reply = send(
        &app,
        attempt(&client.client_id, &client.secret, "10.0.0.6:1000"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[actix_web::test]
async fn client_secrets_are_stored_only_as_argon2_hashes() {
    let db = TestDb::seeded().await;
    let first = new_client(&db, Role::Editor).await;
    let second = new_client(&db, Role::Editor).await;
    assert_ne!(first.secret, second.secret);
    assert!(first.secret.len() >= 40, "secret {}", first.secret);
    for client in [&first, &second] {
        let hashed = db
            .scalar_i64(&format!(
                "SELECT count(*) AS value FROM api_clients WHERE client_id = '{}' \
                 AND secret_hash LIKE '$argon2%' AND strpos(secret_hash, '{}') = 0",
                client.client_id, client.secret
            ))
            .await;
        assert_eq!(hashed, 1, "client {}", client.client_id);
    }
    // Nowhere in any column of any client, nor in the audit log.
    for table in ["api_clients", "audit_log"] {
        for secret in [&first.secret, &second.secret] {
            let found = db
                .scalar_i64(&format!(
                    "SELECT count(*) AS value FROM {table} t \
                     WHERE strpos(row_to_json(t)::text, '{secret}') > 0"
                ))
                .await;
            assert_eq!(found, 0, "secret found in {table}");
        }
    }
    // Salted: the same kind of secret never hashes alike.
    let distinct = db
        .scalar_i64("SELECT count(DISTINCT secret_hash) AS value FROM api_clients")
        .await;
    let all = db
        .scalar_i64("SELECT count(*) AS value FROM api_clients")
        .await;
    assert_eq!(distinct, all);
}

#[actix_web::test]
async fn the_jwks_publishes_carta_keys_across_a_rotation() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let id = service_of(&app, "detran-mt").await;

    let jwks = get(&app, "/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200, "{}", jwks.text);
    let jwks = jwks.json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let first = &keys[0];
    assert_eq!(first["kty"], "OKP");
    assert_eq!(first["crv"], "Ed25519");
    assert_eq!(first["alg"], "EdDSA");
    assert_eq!(first["use"], "sig");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(first["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert!(first.get("d").is_none(), "private key published: {jwks}");
    let old_kid = first["kid"].as_str().unwrap().to_owned();

    let old_token = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    assert_eq!(
        jsonwebtoken::decode_header(&old_token)
            .unwrap()
            .kid
            .as_deref(),
        Some(old_kid.as_str())
    );
    verify_with_jwks(&jwks, &old_token);

    let mut conn = db.connect().await;
    persistence::credentials::add_signing_key(
        &mut conn,
        &carta_api::auth::keys::generate_key().unwrap(),
        false,
    )
    .await
    .unwrap();
    state.auth.own_keys.reload(&state.pool).await.unwrap();

    let rotated = get(&app, "/.well-known/jwks.json").await.json();
    let kids: Vec<&str> = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "{rotated}");
    assert!(kids.contains(&old_kid.as_str()), "{rotated}");

    let new_token = token_for(&state, &db, Role::Reader, &["detran-mt"]).await;
    let new_kid = jsonwebtoken::decode_header(&new_token)
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert!(kids.contains(&new_kid.as_str()), "{rotated}");
    verify_with_jwks(&rotated, &old_token);
    verify_with_jwks(&rotated, &new_token);

    for (case, token) in [
        ("before rotation", &old_token),
        ("after rotation", &new_token),
    ] {
        let reply = draft_with(&app, &id, token).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
    }
}

/// Checks a token as a third party would, with only the published JWKS.
fn verify_with_jwks(jwks: &Value, token: &str) {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("the token's key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&["carta"]);
    validation.set_audience(&["carta"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
}

#[actix_web::test]
async fn the_audit_log_never_holds_secrets_or_tokens() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let id = service_of(&app, "detran-mt").await;
    let client = new_client(&db, Role::Editor).await;

    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            &client.client_id,
            &client.secret,
        )
        .to_request(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    // A failed attempt too: the wrong secret must not be kept either.
    let wrong = "wrong-secret-that-must-not-be-logged";
    let reply = send(
        &app,
        with_basic(
            token_request("grant_type=client_credentials"),
            &client.client_id,
            wrong,
        )
        .to_request(),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text);

    // A write made with the client's token.
    let current = draft_with(&app, &id, &token).await;
    assert_eq!(current.status, 200, "{}", current.text);
    let etag = current.header("etag").unwrap().to_owned();
    let patch = TestRequest::patch()
        .uri(&format!("/v1/services/{id}/draft?reason=teste"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .insert_header((header::IF_MATCH, etag))
        .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
        .set_payload(r#"{"outcome":"Documento emitido."}"#)
        .to_request();
    let reply = send(&app, patch).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let mut conn = db.connect().await;
    assert!(clients::revoke(&mut conn, &client.client_id).await.unwrap());

    let admin = token_for(&state, &db, Role::Admin, &[]).await;
    let audit = bearer_get(&app, "/v1/audit?per_page=100", &admin).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let actions: Vec<String> = audit.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["action"].as_str().unwrap().to_owned())
        .collect();
    for action in ["client.create", "client.revoke"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action}: {}",
            audit.text
        );
    }
    assert!(
        audit.text.contains(&client.client_id),
        "the client's rows are listed: {}",
        audit.text
    );
    assert!(actions.len() >= 3, "the write is audited: {}", audit.text);

    let signature = token.rsplit('.').next().unwrap();
    for (what, value) in [
        ("secret", client.secret.as_str()),
        ("wrong secret", wrong),
        ("access token", token.as_str()),
        ("token signature", signature),
        ("admin token", admin.as_str()),
    ] {
        assert!(
            !audit.text.contains(value),
            "{what} in the audit: {}",
            audit.text
        );
        let stored = db
            .scalar_i64(&format!(
                "SELECT count(*) AS value FROM audit_log t \
                 WHERE strpos(row_to_json(t)::text, '{value}') > 0"
            ))
            .await;
        assert_eq!(stored, 0, "{what} in audit_log");
    }
    let hashes = db
        .scalar_i64(
            "SELECT count(*) AS value FROM audit_log t \
             WHERE strpos(row_to_json(t)::text, '$argon2') > 0",
        )
        .await;
    assert_eq!(hashes, 0, "a secret hash in audit_log");
}

#[actix_web::test]
async fn an_issuer_grants_no_role_above_its_ceiling_nor_names_carta_clients() {
    let db = TestDb::seeded().await;
    let state = state(&db).await;
    let app = app_for(state.clone()).await;
    let detran = db.organization_id("detran-mt").await;
    let id = service_of(&app, "detran-mt").await;
    // The partner identity provider is trusted up to `publisher` (fixtures/auth/issuers.json).
    let mut claims = idp_claims("publisher", &[detran]);
    claims["iss"] = json!("https://idp.partner.example");
    claims["client_id"] = json!("carta-0123456789abcdef");
    let publisher = sign(&claims, "partner-rsa");
    assert_eq!(draft_with(&app, &id, &publisher).await.status, 200);
    claims["role"] = json!("admin");
    let admin = sign(&claims, "partner-rsa");
    assert_invalid_token(
        &bearer_get(&app, "/v1/audit", &admin).await,
        "admin from a partner",
    );
    // The state's provider may grant admin; its `client_id` claim is not taken as Carta's.
    let mut state_admin = idp_claims("admin", &[]);
    state_admin["client_id"] = json!("carta-0123456789abcdef");
    let token = sign(&state_admin, "idp-rsa");
    let created = send(
        &app,
        TestRequest::post()
            .uri("/v1/life-events")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .set_json(json!({"slug": "mudar-de-cidade", "name": "Mudar de cidade"}))
            .to_request(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let log = bearer_get(&app, "/v1/audit?action=life_event.create", &token).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let entry = &log.json()["items"][0];
    assert_eq!(entry["actor"], "maria.silva");
    assert!(entry.get("client_id").is_none(), "{entry}");
}
