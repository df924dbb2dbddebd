//! Test harness: every test gets its own PostgreSQL database, cloned from a migrated (and, for
//! most tests, seeded) template, and drops it when done. Tests run in parallel and leave nothing.
//!
//! Templates are named after a fingerprint of the migrations and the seed data, so a change to
//! either builds a fresh one; an advisory lock makes concurrent test processes build it once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test;
use carta_api::auth::keys::load_trusted_issuers;
use carta_api::auth::AuthSettings;
use carta_api::{build_app, AppState};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use domain::access::Role;
use persistence::{admin, pool, seed, writes, PoolSettings};

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("CARTA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Migrated, no catalogue.
    Empty,
    /// Migrated and loaded with the sample catalogue.
    Seeded,
}

/// The text of every migration file, so editing one rebuilds the templates.
fn migration_sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("migrations folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((path.display().to_string(), text));
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../persistence/migrations");
    let mut sources = Vec::new();
    walk(&root, &mut sources);
    sources.sort();
    sources
}

fn template_name(contents: Contents) -> String {
    let seed = seed::data().expect("seed data");
    let fingerprint = writes::fingerprint(&(
        migration_sources(),
        env!("CARGO_PKG_VERSION"),
        &seed.organizations,
        &seed.topics,
        &seed.life_events,
        &seed.locations,
        &seed.services,
        &seed.municipalities,
    ));
    let kind = match contents {
        Contents::Empty => "empty",
        Contents::Seeded => "seeded",
    };
    format!("carta_tpl_{kind}_{}", &fingerprint[..16])
}

async fn ensure_template(contents: Contents) -> String {
    let name = template_name(contents);
    let server = server_url();
    let mut lock = admin::connect(&server)
        .await
        .expect("connect to the test server");
    lock.batch_execute(&format!("SELECT pg_advisory_lock(hashtext('{name}'))"))
        .await
        .unwrap();
    if !admin::database_exists(&mut lock, &name).await.unwrap() {
        drop_stale_templates(&mut lock, &name).await;
        // Built under another name and renamed when complete, so a crash never leaves a
        // half-built template behind under the real name.
        let building = format!("{name}_building");
        admin::drop_database(&server, &building).await.unwrap();
        lock.batch_execute(&format!("CREATE DATABASE \"{building}\""))
            .await
            .unwrap();
        let url = admin::with_database(&server, &building).unwrap();
        admin::migrate(&url).await.expect("migrate the template");
        if contents == Contents::Seeded {
            let mut conn = admin::connect(&url).await.unwrap();
            seed::run(&mut conn).await.expect("seed the template");
        }
        lock.batch_execute(&format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
        ))
        .await
        .unwrap();
    }
    lock.batch_execute(&format!("SELECT pg_advisory_unlock(hashtext('{name}'))"))
        .await
        .unwrap();
    name
}

/// Templates of the same kind built from older migrations or seed data.
async fn drop_stale_templates(conn: &mut AsyncPgConnection, current: &str) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let prefix = current.rsplit_once('_').map(|(p, _)| p).unwrap_or(current);
    let stale: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 || '\\_%' AND datname <> $2 AND datname NOT LIKE '%\\_building'",
    )
    .bind::<diesel::sql_types::Text, _>(prefix)
    .bind::<diesel::sql_types::Text, _>(current)
    .load(conn)
    .await
    .unwrap_or_default();
    for Name { datname } in stale {
        let _ = admin::drop_database(&server_url(), &datname).await;
    }
}

/// A database of one test, dropped when the value is.
pub struct TestDb {
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn new(contents: Contents) -> TestDb {
        let template = ensure_template(contents).await;
        let name = format!("carta_test_{}", uuid::Uuid::new_v4().simple());
        admin::clone_database(&server_url(), &template, &name)
            .await
            .expect("clone the template");
        TestDb {
            url: admin::with_database(&server_url(), &name).unwrap(),
            name,
        }
    }

    pub async fn seeded() -> TestDb {
        TestDb::new(Contents::Seeded).await
    }

    pub async fn empty() -> TestDb {
        TestDb::new(Contents::Empty).await
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        admin::connect(&self.url).await.unwrap()
    }

    /// An organization's id by slug.
    pub async fn organization_id(&self, slug: &str) -> uuid::Uuid {
        let mut conn = self.connect().await;
        persistence::editing::organization_id(&mut conn, slug)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no organization {slug}"))
    }

    /// A single value of a SQL query, for assertions on what was stored.
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            value: i64,
        }
        let mut conn = self.connect().await;
        let row: Row = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
        row.value
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async: use a runtime of its own on a plain thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(admin::drop_database(&server_url(), &name))
        })
        .join();
    }
}

/// The real application on a test database.
pub async fn app(
    db: &TestDb,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    app_for(state(db).await).await
}

/// How often test apps poll the change log: short, so freshness tests wait little.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The application state on `db`, with its search index built and following the database.
pub async fn state(db: &TestDb) -> AppState {
    let settings = PoolSettings {
        max_size: 4,
        ..PoolSettings::default()
    };
    let search = carta_api::search::SearchSettings {
        follow_every: FOLLOW_EVERY,
        ..Default::default()
    };
    AppState::start(
        pool::build_pool(&db.url, &settings).unwrap(),
        &search,
        auth_settings(),
    )
    .await
    .unwrap()
    .with_webhooks(webhook_settings())
}

/// Webhook settings for tests: receivers on localhost over plain HTTP, retries without waiting.
pub fn webhook_settings() -> carta_api::webhooks::WebhookSettings {
    carta_api::webhooks::WebhookSettings {
        allow_http_localhost: true,
        retry_base: std::time::Duration::ZERO,
        ..Default::default()
    }
}

/// The test fixtures' folder.
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Carta's defaults, trusting the two pretend identity providers of `fixtures/auth`.
pub fn auth_settings() -> AuthSettings {
    AuthSettings {
        trusted_issuers: load_trusted_issuers(&fixtures().join("auth/issuers.json")).unwrap(),
        ..AuthSettings::default()
    }
}

/// The state identity provider of the fixtures.
pub const IDP: &str = "https://login.mt.gov.br";

/// Claims as the state identity provider would send them: valid for 10 minutes, for `carta`.
pub fn idp_claims(role: &str, orgs: &[uuid::Uuid]) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    serde_json::json!({
        "iss": IDP, "sub": "maria.silva", "aud": "carta",
        "iat": now, "nbf": now, "exp": now + 600,
        "role": role, "orgs": orgs,
    })
}

/// Signs claims with a fixture key: `idp-rsa` (RS256), `idp-ec` (ES256) or `partner-rsa` (RS256,
/// the same RSA key under the partner issuer's JWKS).
pub fn sign(claims: &serde_json::Value, kid: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let auth = fixtures().join("auth");
    let (algorithm, key) = match kid {
        "idp-ec" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&std::fs::read(auth.join("idp-ec.key")).unwrap()).unwrap(),
        ),
        _ => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&std::fs::read(auth.join("idp-rsa.key")).unwrap()).unwrap(),
        ),
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token of Carta's own issuer for `role` in the organizations with these slugs.
pub async fn token_for(state: &AppState, db: &TestDb, role: Role, org_slugs: &[&str]) -> String {
    let mut orgs = Vec::new();
    for slug in org_slugs {
        orgs.push(db.organization_id(slug).await);
    }
    state
        .auth
        .issue(&format!("test-{}", role.as_str()), role, orgs)
        .unwrap()
}

pub async fn app_for(
    state: AppState,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(build_app(state).unwrap()).await
}

/// The `X-Request-Id` write helpers send, so tests can find it in the audit log.
pub const REQUEST_ID: &str = "test-request-1";

/// A request with an optional bearer token, `If-Match` and JSON body.
pub fn request(
    method: actix_web::http::Method,
    uri: &str,
    token: Option<&str>,
    etag: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Request {
    use actix_web::http::header;
    let mut builder = test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("X-Request-Id", REQUEST_ID));
    if let Some(token) = token {
        builder = builder.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    if let Some(etag) = etag {
        builder = builder.insert_header((header::IF_MATCH, etag));
    }
    if let Some(body) = body {
        builder = builder.set_json(body);
    }
    builder.to_request()
}

/// A JSON merge patch, as `application/merge-patch+json`.
pub fn merge_patch(uri: &str, token: &str, etag: &str, patch: &serde_json::Value) -> Request {
    use actix_web::http::header;
    test::TestRequest::patch()
        .uri(uri)
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .insert_header((header::IF_MATCH, etag))
        .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
        .insert_header(("X-Request-Id", REQUEST_ID))
        .set_payload(patch.to_string())
        .to_request()
}

/// The strong `ETag` of a successful write or read.
pub fn etag_of(reply: &Reply) -> String {
    assert!(reply.status.is_success(), "{}", reply.text);
    let etag = reply.header("etag").unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong tag: {etag}"
    );
    etag
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code; returns the body.
    pub fn problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string() && body["detail"].is_string());
        // Every problem a test meets is documented where its `type` points, with its status.
        let documented = carta_api::error::problem_type(code)
            .unwrap_or_else(|| panic!("{code} is not in error::PROBLEM_TYPES"));
        assert_eq!(documented.status, status, "{code}");
        assert_eq!(body["title"], documented.title);
        assert_eq!(body["type"], format!("/docs/problems#{code}"));
        body
    }
}

pub async fn send<S, B>(app: &S, request: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get<S, B>(app: &S, uri: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::get().uri(uri).to_request()).await
}

/// The body of a GET that must answer 200.
pub async fn ok<S, B>(app: &S, uri: &str) -> serde_json::Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = get(app, uri).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
    reply.json()
}

/// The slugs of a list response's items.
pub fn slugs(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["slug"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Renames a service the way the application stores names: the column and the document.
pub fn rename_sql(slug: &str, name: &str) -> String {
    let name = name.replace('\'', "''");
    format!(
        "UPDATE services SET name = '{name}', content = jsonb_set(content, '{{name}}', to_jsonb('{name}'::text)), \
         updated_at = now() WHERE slug = '{slug}'"
    )
}
