//! Writing the reference data: organizations, topics, life events, search synonym groups and
//! municipalities (admins only) and service units (editors of the unit's organization; admins
//! anywhere).
//!
//! As with services, every change to an existing record needs `If-Match` with the `ETag` the
//! client read (428 without it, 412 when the record changed since), so two writers never overwrite
//! each other silently; bodies are read whole, with every invalid field listed at once (422), and
//! members no field takes are errors. Deletes answer 409 `in_use` while anything still refers to
//! the record (including the editable version of a service): nothing is unlinked behind anyone's
//! back. Every write is in the audit log.
//!
//! The checks run in this order: the caller's role (403), the record (404), `If-Match` (428),
//! then the body (422), so a caller without the right learns nothing from validation.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, patch, post, put, web, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use domain::access::Role;
use domain::organization::{Organization, OrganizationDraft};
use domain::place::{Location, LocationDraft, Municipality};
use domain::reference::{
    validate_life_event, validate_location, validate_municipality, validate_organization,
    validate_topic,
};
use domain::search::{validate_synonym_group, SynonymGroupDetail, SynonymGroupDraft};
use domain::taxonomy::{LifeEvent, LifeEventDraft, TopicDetail, TopicDraft};
use domain::validation::FieldError;
use persistence::reference_writes::{self as store, Actor, Put, Usage, Versioned, WriteError};
use persistence::StoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, InvalidField, Problem};
use crate::query::{NoParams, Strict};
use crate::routes::support::{
    etag, if_match, merge_patch, optional_if_match, read_body, refresh_search, request_id,
};
use crate::search::synonym_key;
use crate::AppState;

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Store(error) => ApiError::Store(error),
            WriteError::NotFound => ApiError::NotFound("O registro não existe (mais)."),
            WriteError::Stale => ApiError::PreconditionFailed,
            WriteError::VersionRequired => ApiError::PreconditionRequired,
            WriteError::Invalid(errors) => {
                ApiError::InvalidBody(errors.into_iter().map(InvalidField::from).collect())
            }
            WriteError::InUse(usages) => ApiError::Conflict {
                code: "in_use",
                detail: in_use(&usages),
            },
        }
    }
}

fn in_use(usages: &[Usage]) -> String {
    if usages.is_empty() {
        return "Outro registro passou a se referir a este durante a alteração. Leia de novo e \
                refaça."
            .into();
    }
    let list: Vec<String> = usages
        .iter()
        .map(|usage| format!("{}: {}", usage.what, usage.count))
        .collect();
    format!(
        "Ainda há registros que se referem a este ({}). Mude ou exclua essas referências antes.",
        list.join("; ")
    )
}

fn actor<'a>(caller: &'a Caller, request_id: &'a Option<String>) -> Actor<'a> {
    Actor {
        principal: &caller.0,
        request_id: request_id.as_deref(),
    }
}

/// A written record as the public reads it, with its `ETag`; never cached.
fn respond<T: Serialize>(
    status: StatusCode,
    written: Versioned<T>,
    location: Option<String>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag(&written.version)));
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response.json(written.item)
}

fn read_only(pointer: &str, message: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: "read_only".into(),
        message: message.to_owned(),
    }
}

/// `body` with `member` set to `value` when it has none (an id the path gives).
fn with_default(
    body: &serde_json::Value,
    member: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.entry(member).or_insert(value);
    }
    body
}

// ----- Records only admins write: organizations, topics, life events, synonym groups -----

/// A record only admins write, addressed by id or slug (synonym groups: by number).
trait AdminRecord {
    /// What clients write (references by slug).
    type Draft: DeserializeOwned + Serialize;
    /// What the public reads.
    type Item: Serialize;
    /// Its number or UUID.
    type Id: Copy + std::fmt::Display;
    /// Where the public reads them, e.g. `/v1/topics`.
    const COLLECTION: &'static str;
    const NOT_FOUND: &'static str;

    fn rules(draft: &Self::Draft) -> Vec<FieldError>;
    fn id(item: &Self::Item) -> Self::Id;
    async fn find_id(
        conn: &mut AsyncPgConnection,
        key: &str,
    ) -> Result<Option<Self::Id>, StoreError>;
    async fn draft(
        conn: &mut AsyncPgConnection,
        id: Self::Id,
    ) -> Result<Option<Versioned<Self::Draft>>, StoreError>;
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &Self::Draft,
        actor: Actor<'_>,
    ) -> Result<Versioned<Self::Item>, WriteError>;
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Self::Id,
        expected: &[String],
        draft: &Self::Draft,
        actor: Actor<'_>,
    ) -> Result<Versioned<Self::Item>, WriteError>;
    async fn delete(
        conn: &mut AsyncPgConnection,
        id: Self::Id,
        expected: &[String],
        actor: Actor<'_>,
    ) -> Result<(), WriteError>;
}

struct Organizations;

impl AdminRecord for Organizations {
    type Draft = OrganizationDraft;
    type Item = Organization;
    type Id = Uuid;
    const COLLECTION: &'static str = "/v1/organizations";
    const NOT_FOUND: &'static str = "Nenhum órgão tem este id ou slug.";

    fn rules(draft: &OrganizationDraft) -> Vec<FieldError> {
        let mut errors = validate_organization(draft).err().unwrap_or_default();
        if draft.source.is_some() {
            errors.push(read_only(
                "/source",
                "A origem (source) é registrada pelas importações e não muda pela API.",
            ));
        }
        errors
    }
    fn id(item: &Organization) -> Uuid {
        item.id
    }
    async fn find_id(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<Uuid>, StoreError> {
        store::organization_id(conn, key).await
    }
    async fn draft(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> Result<Option<Versioned<OrganizationDraft>>, StoreError> {
        store::organization_draft(conn, id).await
    }
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &OrganizationDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<Organization>, WriteError> {
        store::create_organization(conn, draft, actor).await
    }
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        draft: &OrganizationDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<Organization>, WriteError> {
        store::update_organization(conn, id, expected, draft, actor).await
    }
    async fn delete(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        actor: Actor<'_>,
    ) -> Result<(), WriteError> {
        store::delete_organization(conn, id, expected, actor).await
    }
}

struct Topics;

impl AdminRecord for Topics {
    type Draft = TopicDraft;
    type Item = TopicDetail;
    type Id = Uuid;
    const COLLECTION: &'static str = "/v1/topics";
    const NOT_FOUND: &'static str = "Nenhum tema tem este id ou slug.";

    fn rules(draft: &TopicDraft) -> Vec<FieldError> {
        validate_topic(draft).err().unwrap_or_default()
    }
    fn id(item: &TopicDetail) -> Uuid {
        item.id
    }
    async fn find_id(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<Uuid>, StoreError> {
        store::topic_id(conn, key).await
    }
    async fn draft(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> Result<Option<Versioned<TopicDraft>>, StoreError> {
        store::topic_draft(conn, id).await
    }
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &TopicDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<TopicDetail>, WriteError> {
        store::create_topic(conn, draft, actor).await
    }
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        draft: &TopicDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<TopicDetail>, WriteError> {
        store::update_topic(conn, id, expected, draft, actor).await
    }
    async fn delete(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        actor: Actor<'_>,
    ) -> Result<(), WriteError> {
        store::delete_topic(conn, id, expected, actor).await
    }
}

struct LifeEvents;

impl AdminRecord for LifeEvents {
    type Draft = LifeEventDraft;
    type Item = LifeEvent;
    type Id = Uuid;
    const COLLECTION: &'static str = "/v1/life-events";
    const NOT_FOUND: &'static str = "Nenhum evento da vida tem este id ou slug.";

    fn rules(draft: &LifeEventDraft) -> Vec<FieldError> {
        validate_life_event(draft).err().unwrap_or_default()
    }
    fn id(item: &LifeEvent) -> Uuid {
        item.id
    }
    async fn find_id(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<Uuid>, StoreError> {
        store::life_event_id(conn, key).await
    }
    async fn draft(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> Result<Option<Versioned<LifeEventDraft>>, StoreError> {
        store::life_event_draft(conn, id).await
    }
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &LifeEventDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<LifeEvent>, WriteError> {
        store::create_life_event(conn, draft, actor).await
    }
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        draft: &LifeEventDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<LifeEvent>, WriteError> {
        store::update_life_event(conn, id, expected, draft, actor).await
    }
    async fn delete(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        expected: &[String],
        actor: Actor<'_>,
    ) -> Result<(), WriteError> {
        store::delete_life_event(conn, id, expected, actor).await
    }
}

/// A merge patch applies to the version the client named: 412 when the record read to build on
/// is another (the write checks again on the locked row, so a change after this read is 412 too).
fn patch_base_is(read: &str, expected: &[String]) -> ApiResult<()> {
    match expected.iter().any(|tag| tag == read) {
        true => Ok(()),
        false => Err(ApiError::PreconditionFailed),
    }
}

async fn find<R: AdminRecord>(state: &AppState, key: &str) -> ApiResult<R::Id> {
    let mut conn = state.connection().await?;
    R::find_id(&mut conn, key)
        .await?
        .ok_or(ApiError::NotFound(R::NOT_FOUND))
}

/// These records are in the search index (names, vocabulary): a write shows there at once.
async fn create<R: AdminRecord>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    body: &serde_json::Value,
) -> ApiResult<HttpResponse> {
    let draft = read_body(body, R::rules)?;
    let request_id = request_id(req);
    let mut conn = state.connection().await?;
    let created = R::create(&mut conn, &draft, actor(caller, &request_id)).await?;
    drop(conn);
    refresh_search(state).await;
    let location = format!("{}/{}", R::COLLECTION, R::id(&created.item));
    Ok(respond(StatusCode::CREATED, created, Some(location)))
}

async fn update<R: AdminRecord>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    (id, expected): (R::Id, Vec<String>),
    draft: &R::Draft,
) -> ApiResult<HttpResponse> {
    let request_id = request_id(req);
    let mut conn = state.connection().await?;
    let updated = R::update(&mut conn, id, &expected, draft, actor(caller, &request_id)).await?;
    drop(conn);
    refresh_search(state).await;
    Ok(respond(StatusCode::OK, updated, None))
}

async fn replace<R: AdminRecord>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    key: &str,
    body: &serde_json::Value,
) -> ApiResult<HttpResponse> {
    let id = find::<R>(state, key).await?;
    let expected = if_match(req)?;
    let draft = read_body(body, R::rules)?;
    update::<R>(state, req, caller, (id, expected), &draft).await
}

async fn merge<R: AdminRecord>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    key: &str,
    patch: &serde_json::Value,
) -> ApiResult<HttpResponse> {
    let id = find::<R>(state, key).await?;
    let expected = if_match(req)?;
    let current = {
        let mut conn = state.connection().await?;
        R::draft(&mut conn, id)
            .await?
            .ok_or(ApiError::NotFound(R::NOT_FOUND))?
    };
    patch_base_is(&current.version, &expected)?;
    let draft = read_body(&merge_patch(&current.item, patch)?, R::rules)?;
    update::<R>(state, req, caller, (id, expected), &draft).await
}

async fn remove<R: AdminRecord>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    key: &str,
) -> ApiResult<HttpResponse> {
    let id = find::<R>(state, key).await?;
    let expected = if_match(req)?;
    let request_id = request_id(req);
    let mut conn = state.connection().await?;
    R::delete(&mut conn, id, &expected, actor(caller, &request_id)).await?;
    drop(conn);
    refresh_search(state).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The create, replace, merge-patch and delete endpoints of a record only admins write.
macro_rules! admin_endpoints {
    (
        record: $record:ident, draft: $draft:ident, item: $item:ident, tag: $tag:literal,
        collection: $collection:literal, one: $one:literal,
        param: ($param:literal, $param_type:ident), key: $key:literal,
        create: ($create:ident, $create_doc:literal),
        replace: ($replace:ident, $replace_doc:literal),
        patch: ($patch:ident, $patch_doc:literal),
        delete: ($delete:ident, $delete_doc:literal $(, $in_use:literal)?),
        invalid: $invalid:literal $(,)?
    ) => {
        #[doc = $create_doc]
        #[utoipa::path(
            tag = $tag,
            request_body(content = $draft, content_type = "application/json"),
            security(("bearer" = ["admin"])),
            responses(
                (status = 201, description = "Created, as the public reads it", body = $item,
                    headers(("ETag" = String, description = "Strong entity tag of this version"),
                        ("Location" = String, description = "Where it is read"))),
                (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $invalid, body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($collection)]
        pub async fn $create(
            state: web::Data<AppState>,
            req: HttpRequest,
            caller: Caller,
            _: Strict<NoParams>,
            body: web::Json<serde_json::Value>,
        ) -> ApiResult<HttpResponse> {
            caller.require(Role::Admin, None)?;
            create::<$record>(&state, &req, &caller, &body).await
        }

        #[doc = $replace_doc]
        #[utoipa::path(
            tag = $tag,
            params(($param = $param_type, Path, description = $key),
                ("If-Match" = String, Header, description = "ETag of the version you read")),
            request_body(content = $draft, content_type = "application/json"),
            security(("bearer" = ["admin"])),
            responses(
                (status = 200, description = "Saved, as the public reads it", body = $item,
                    headers(("ETag" = String, description = "Strong entity tag of the new version"))),
                (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $invalid, body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[put($one)]
        pub async fn $replace(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
            caller: Caller,
            _: Strict<NoParams>,
            body: web::Json<serde_json::Value>,
        ) -> ApiResult<HttpResponse> {
            caller.require(Role::Admin, None)?;
            replace::<$record>(&state, &req, &caller, &path, &body).await
        }

        #[doc = $patch_doc]
        #[utoipa::path(
            tag = $tag,
            params(($param = $param_type, Path, description = $key),
                ("If-Match" = String, Header, description = "ETag of the version you read")),
            request_body(content = Object, content_type = "application/merge-patch+json",
                description = "Members to change (RFC 7396), as in the create body: `null` removes an optional one"),
            security(("bearer" = ["admin"])),
            responses(
                (status = 200, description = "Saved, as the public reads it", body = $item,
                    headers(("ETag" = String, description = "Strong entity tag of the new version"))),
                (status = 400, description = "Malformed JSON, or not an object", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $invalid, body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[patch($one)]
        pub async fn $patch(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
            caller: Caller,
            _: Strict<NoParams>,
            body: web::Json<serde_json::Value>,
        ) -> ApiResult<HttpResponse> {
            caller.require(Role::Admin, None)?;
            merge::<$record>(&state, &req, &caller, &path, &body).await
        }

        #[doc = $delete_doc]
        #[utoipa::path(
            tag = $tag,
            params(($param = $param_type, Path, description = $key),
                ("If-Match" = String, Header, description = "ETag of the version you read")),
            security(("bearer" = ["admin"])),
            responses(
                (status = 204, description = "Deleted"),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
                $((status = 409, description = $in_use, body = Problem, content_type = "application/problem+json"),)?
                (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[delete($one)]
        pub async fn $delete(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
            caller: Caller,
            _: Strict<NoParams>,
        ) -> ApiResult<HttpResponse> {
            caller.require(Role::Admin, None)?;
            remove::<$record>(&state, &req, &caller, &path).await
        }
    };
}

admin_endpoints! {
    record: Organizations, draft: OrganizationDraft, item: Organization, tag: "organizations",
    collection: "/organizations", one: "/organizations/{id_or_slug}",
    param: ("id_or_slug", String),
    key: "Organization id (UUID) or slug",
    create: (create_organization,
        "Creates an organization (`parent` names its superior by slug). Requires `admin`."),
    replace: (replace_organization,
        "Replaces an organization: a renamed slug or a new parent show in search at once. `source` \
(provenance) is kept by imports and refused here. Requires `admin`."),
    patch: (patch_organization,
        "Changes part of an organization with a JSON merge patch (RFC 7396) on its create body. \
Requires `admin`."),
    delete: (delete_organization,
        "Deletes an organization nothing refers to. Requires `admin`.",
        "In use (`in_use`): services (or a service's editable version), service units, subordinate organizations or API clients refer to it"),
    invalid: "Invalid fields, all listed with pointers: a slug, SIORG code or CNPJ another organization holds (`taken`), an unknown parent or municipality (`unknown`), a parent below it (`invalid`), `source` (`read_only`)",
}

admin_endpoints! {
    record: Topics, draft: TopicDraft, item: TopicDetail, tag: "taxonomies",
    collection: "/topics", one: "/topics/{id_or_slug}",
    param: ("id_or_slug", String),
    key: "Topic id (UUID) or slug",
    create: (create_topic,
        "Creates a topic (área de interesse), under `parent` (a slug) or as a root. Requires `admin`."),
    replace: (replace_topic,
        "Replaces a topic; moving it moves its sub-topics along. Requires `admin`."),
    patch: (patch_topic,
        "Changes part of a topic with a JSON merge patch (RFC 7396) on its create body. Requires \
`admin`."),
    delete: (delete_topic,
        "Deletes a topic without sub-topics or services. Requires `admin`.",
        "In use (`in_use`): it has sub-topics, or services (or a service's editable version) are tagged with it"),
    invalid: "Invalid fields, all listed with pointers: a slug another topic holds (`taken`), an unknown parent (`unknown`), a parent that is the topic or one of its sub-topics (`invalid` on `/parent`)",
}

admin_endpoints! {
    record: LifeEvents, draft: LifeEventDraft, item: LifeEvent, tag: "taxonomies",
    collection: "/life-events", one: "/life-events/{id_or_slug}",
    param: ("id_or_slug", String),
    key: "Life event id (UUID) or slug",
    create: (create_life_event, "Creates a life event (linha da vida). Requires `admin`."),
    replace: (replace_life_event, "Replaces a life event. Requires `admin`."),
    patch: (patch_life_event,
        "Changes part of a life event with a JSON merge patch (RFC 7396) on its create body. \
Requires `admin`."),
    delete: (delete_life_event,
        "Deletes a life event no service names. Requires `admin`.",
        "In use (`in_use`): services (or a service's editable version) are linked to it"),
    invalid: "Invalid fields, all listed with pointers: a slug another life event holds (`taken`)",
}

// ----- Synonym groups (admins) -----

struct SynonymGroups;

impl AdminRecord for SynonymGroups {
    type Draft = SynonymGroupDraft;
    type Item = SynonymGroupDetail;
    type Id = i32;
    const COLLECTION: &'static str = "/v1/search/synonyms";
    const NOT_FOUND: &'static str = NO_SYNONYM_GROUP;

    fn rules(draft: &SynonymGroupDraft) -> Vec<FieldError> {
        validate_synonym_group(draft, synonym_key)
            .err()
            .unwrap_or_default()
    }
    fn id(item: &SynonymGroupDetail) -> i32 {
        item.id
    }
    async fn find_id(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<i32>, StoreError> {
        let Ok(id) = key.parse() else {
            return Ok(None);
        };
        Ok(store::synonym_group(conn, id)
            .await?
            .map(|found| found.item.id))
    }
    async fn draft(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> Result<Option<Versioned<SynonymGroupDraft>>, StoreError> {
        store::synonym_group_draft(conn, id).await
    }
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &SynonymGroupDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<SynonymGroupDetail>, WriteError> {
        store::create_synonym_group(conn, draft, &synonym_key, actor).await
    }
    async fn update(
        conn: &mut AsyncPgConnection,
        id: i32,
        expected: &[String],
        draft: &SynonymGroupDraft,
        actor: Actor<'_>,
    ) -> Result<Versioned<SynonymGroupDetail>, WriteError> {
        store::update_synonym_group(conn, id, expected, draft, &synonym_key, actor).await
    }
    async fn delete(
        conn: &mut AsyncPgConnection,
        id: i32,
        expected: &[String],
        actor: Actor<'_>,
    ) -> Result<(), WriteError> {
        store::delete_synonym_group(conn, id, expected, actor).await
    }
}

pub(crate) const NO_SYNONYM_GROUP: &str = "Nenhum grupo de sinônimos tem este número.";

admin_endpoints! {
    record: SynonymGroups, draft: SynonymGroupDraft, item: SynonymGroupDetail, tag: "search",
    collection: "/search/synonyms", one: "/search/synonyms/{id}",
    param: ("id", i32), key: "Synonym group number",
    create: (create_synonym_group,
        "Creates a synonym group: a search with any of its terms also finds the services that \
use the others, on this instance at once and on every other within seconds. Requires `admin`."),
    replace: (replace_synonym_group, "Replaces a synonym group. Requires `admin`."),
    patch: (patch_synonym_group,
        "Changes part of a synonym group with a JSON merge patch (RFC 7396) on its create body \
(`terms`, an array, is replaced whole). Requires `admin`."),
    delete: (delete_synonym_group,
        "Deletes a synonym group: its terms are searched as typed again. Requires `admin`."),
    invalid: "Invalid fields, all listed with pointers: fewer than two terms or more than 20 (`too_few`, `too_many` on `/terms`), an empty term (`required`), a term of words search ignores only (`no_words`), the same term twice (`duplicate`), a term another group has (`taken`)",
}

// ----- Municipalities (admins) -----

const NO_MUNICIPALITY: &str = "Nenhum município tem este código IBGE.";

/// An IBGE code from the path; one that is no number names no municipality.
pub(crate) fn ibge_code(raw: &str) -> ApiResult<i32> {
    raw.parse().map_err(|_| ApiError::NotFound(NO_MUNICIPALITY))
}

fn municipality_rules(municipality: &Municipality, code: i32) -> Vec<FieldError> {
    let mut errors = validate_municipality(municipality)
        .err()
        .unwrap_or_default();
    if municipality.ibge_code != code {
        errors.push(read_only(
            "/ibge_code",
            "O código IBGE é o do endereço e não muda.",
        ));
    }
    errors
}

async fn put_municipality(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    municipality: &Municipality,
    expected: Option<&[String]>,
) -> ApiResult<HttpResponse> {
    let request_id = request_id(req);
    let mut conn = state.connection().await?;
    let (put, stored) = store::put_municipality(
        &mut conn,
        municipality,
        expected,
        actor(caller, &request_id),
    )
    .await?;
    drop(conn);
    // Municipality names label the search facets.
    refresh_search(state).await;
    Ok(match put {
        Put::Created => {
            let location = format!("/v1/municipalities/{}", municipality.ibge_code);
            respond(StatusCode::CREATED, stored, Some(location))
        }
        Put::Replaced => respond(StatusCode::OK, stored, None),
    })
}

/// Creates a municipality under its IBGE code (without `If-Match`), or replaces it (with the
/// `If-Match` of the version you read). Requires `admin`.
#[utoipa::path(
    tag = "places",
    params(("ibge_code" = i32, Path, description = "7-digit IBGE code", example = 5103403),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you read: required to replace one, absent to create one")),
    request_body(content = Municipality, content_type = "application/json",
        description = "The municipality; `ibge_code` may be left out (the path gives it)"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Replaced", body = Municipality,
            headers(("ETag" = String, description = "Strong entity tag of the new version"))),
        (status = 201, description = "Created", body = Municipality,
            headers(("ETag" = String, description = "Strong entity tag of this version"),
                ("Location" = String, description = "Where it is read"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The code is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed (or created, or deleted) since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers (a state that is not the code's: `/state`)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "It exists and If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/municipalities/{ibge_code}")]
pub async fn replace_municipality(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    caller.require(Role::Admin, None)?;
    let code = ibge_code(&path)?;
    let expected = optional_if_match(&req)?;
    if expected.is_none() {
        // Replacing one needs the version read: say so before looking at the body. The write
        // checks again, in its transaction.
        let mut conn = state.connection().await?;
        if store::find_municipality(&mut conn, code).await?.is_some() {
            return Err(ApiError::PreconditionRequired);
        }
    }
    let body = with_default(&body, "ibge_code", code.into());
    let municipality = read_body(&body, |m| municipality_rules(m, code))?;
    put_municipality(&state, &req, &caller, &municipality, expected.as_deref()).await
}

/// Changes part of a municipality with a JSON merge patch (RFC 7396). Requires `admin`.
#[utoipa::path(
    tag = "places",
    params(("ibge_code" = i32, Path, description = "7-digit IBGE code", example = 5103403),
        ("If-Match" = String, Header, description = "ETag of the version you read")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "Members of the municipality to change"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Saved", body = Municipality,
            headers(("ETag" = String, description = "Strong entity tag of the new version"))),
        (status = 400, description = "Malformed JSON, or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such municipality", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/municipalities/{ibge_code}")]
pub async fn patch_municipality(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    caller.require(Role::Admin, None)?;
    let code = ibge_code(&path)?;
    let current = {
        let mut conn = state.connection().await?;
        store::find_municipality(&mut conn, code)
            .await?
            .ok_or(ApiError::NotFound(NO_MUNICIPALITY))?
    };
    let expected = if_match(&req)?;
    patch_base_is(&current.version, &expected)?;
    let municipality = read_body(&merge_patch(&current.item, &body)?, |m| {
        municipality_rules(m, code)
    })?;
    put_municipality(&state, &req, &caller, &municipality, Some(&expected)).await
}

/// Deletes a municipality nothing refers to. Requires `admin`.
#[utoipa::path(
    tag = "places",
    params(("ibge_code" = i32, Path, description = "7-digit IBGE code", example = 5103403),
        ("If-Match" = String, Header, description = "ETag of the version you read")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such municipality", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "In use (`in_use`): organizations, service units or services (or a service's editable version) refer to it", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/municipalities/{ibge_code}")]
pub async fn delete_municipality(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Role::Admin, None)?;
    let code = ibge_code(&path)?;
    let mut conn = state.connection().await?;
    if store::find_municipality(&mut conn, code).await?.is_none() {
        return Err(ApiError::NotFound(NO_MUNICIPALITY));
    }
    let expected = if_match(&req)?;
    let request_id = request_id(&req);
    store::delete_municipality(&mut conn, code, &expected, actor(&caller, &request_id)).await?;
    drop(conn);
    refresh_search(&state).await;
    Ok(HttpResponse::NoContent().finish())
}

// ----- Service units (editors of their organization) -----

const NO_LOCATION: &str = "Nenhuma unidade de atendimento tem este id.";

fn location_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(NO_LOCATION))
}

fn location_rules(draft: &LocationDraft, id: Option<Uuid>) -> Vec<FieldError> {
    let mut errors = validate_location(draft).err().unwrap_or_default();
    if id.is_some_and(|id| id != draft.id) {
        errors.push(read_only(
            "/id",
            "O id de uma unidade de atendimento é o do endereço e não muda.",
        ));
    }
    errors
}

/// The organization that runs a unit: the scope its writes are checked in.
async fn location_owner(state: &AppState, id: Uuid) -> ApiResult<Uuid> {
    let mut conn = state.connection().await?;
    store::location_organization(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound(NO_LOCATION))
}

/// The organization a unit's body names, when it exists (an unknown one is a 422 of the write).
async fn named_organization(state: &AppState, draft: &LocationDraft) -> ApiResult<Option<Uuid>> {
    let mut conn = state.connection().await?;
    Ok(store::organization_id(&mut conn, &draft.organization).await?)
}

/// Moving a unit to another organization: the caller must be an editor there too.
async fn require_in_target(
    state: &AppState,
    caller: &Caller,
    draft: &LocationDraft,
    owner: Uuid,
) -> ApiResult<()> {
    match named_organization(state, draft).await? {
        Some(target) if target != owner => caller.require(Role::Editor, Some(target)),
        _ => Ok(()),
    }
}

async fn update_location(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    (id, expected): (Uuid, Vec<String>),
    draft: &LocationDraft,
) -> ApiResult<HttpResponse> {
    let request_id = request_id(req);
    let mut conn = state.connection().await?;
    let updated =
        store::update_location(&mut conn, id, &expected, draft, actor(caller, &request_id)).await?;
    Ok(respond(StatusCode::OK, updated, None))
}

/// Creates a service unit (unidade de atendimento). Carta gives it an id unless the body names a
/// new one. Requires `editor` in the organization the body names.
#[utoipa::path(
    tag = "places",
    request_body(content = LocationDraft, content_type = "application/json",
        description = "The unit; `id` may be left out (Carta assigns one), `organization` is a slug or id"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 201, description = "Created, as the public reads it", body = Location,
            headers(("ETag" = String, description = "Strong entity tag of this version"),
                ("Location" = String, description = "Where it is read"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers: an unknown organization or municipality (`unknown`), an id in use (`taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/locations")]
pub async fn create_location(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let body = with_default(&body, "id", Uuid::new_v4().to_string().into());
    let draft = read_body(&body, |draft| location_rules(draft, None))?;
    // Outside one's organizations (an unknown one included) is 403; an admin may create in any,
    // and an unknown organization is then a 422 from the write.
    caller.require(Role::Editor, named_organization(&state, &draft).await?)?;
    let request_id = request_id(&req);
    let mut conn = state.connection().await?;
    let created = store::create_location(&mut conn, &draft, actor(&caller, &request_id)).await?;
    let location = format!("/v1/locations/{}", draft.id);
    Ok(respond(StatusCode::CREATED, created, Some(location)))
}

/// Replaces a service unit; naming another organization moves it there. Requires `editor` in
/// its organization (and, to move it, in the other one).
#[utoipa::path(
    tag = "places",
    params(("id" = Uuid, Path, description = "Location id"),
        ("If-Match" = String, Header, description = "ETag of the version you read")),
    request_body(content = LocationDraft, content_type = "application/json",
        description = "The unit; `id` may be left out (the path gives it)"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "Saved, as the public reads it", body = Location,
            headers(("ETag" = String, description = "Strong entity tag of the new version"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of its organization (or of the one it moves to)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/locations/{id}")]
pub async fn replace_location(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = location_id(&path)?;
    let owner = location_owner(&state, id).await?;
    caller.require(Role::Editor, Some(owner))?;
    let expected = if_match(&req)?;
    let body = with_default(&body, "id", id.to_string().into());
    let draft = read_body(&body, |draft| location_rules(draft, Some(id)))?;
    require_in_target(&state, &caller, &draft, owner).await?;
    update_location(&state, &req, &caller, (id, expected), &draft).await
}

/// Changes part of a service unit with a JSON merge patch (RFC 7396); a new `organization` moves
/// it. Requires `editor` in its organization (and, to move it, in the other one).
#[utoipa::path(
    tag = "places",
    params(("id" = Uuid, Path, description = "Location id"),
        ("If-Match" = String, Header, description = "ETag of the version you read")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "Members of the unit to change, as in the create body"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "Saved, as the public reads it", body = Location,
            headers(("ETag" = String, description = "Strong entity tag of the new version"))),
        (status = 400, description = "Malformed JSON, or not an object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of its organization (or of the one it moves to)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/locations/{id}")]
pub async fn patch_location(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = location_id(&path)?;
    let owner = location_owner(&state, id).await?;
    caller.require(Role::Editor, Some(owner))?;
    let expected = if_match(&req)?;
    let current = {
        let mut conn = state.connection().await?;
        store::location_draft(&mut conn, id)
            .await?
            .ok_or(ApiError::NotFound(NO_LOCATION))?
    };
    patch_base_is(&current.version, &expected)?;
    let draft = read_body(&merge_patch(&current.item, &body)?, |draft| {
        location_rules(draft, Some(id))
    })?;
    require_in_target(&state, &caller, &draft, owner).await?;
    update_location(&state, &req, &caller, (id, expected), &draft).await
}

/// Deletes a service unit no service lists (in its public or its editable version): the link
/// would otherwise vanish with the unit. Requires `editor` in its organization.
#[utoipa::path(
    tag = "places",
    params(("id" = Uuid, Path, description = "Location id"),
        ("If-Match" = String, Header, description = "ETag of the version you read")),
    security(("bearer" = ["editor"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of its organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "In use (`in_use`): services (or a service's editable version) list it; take it out of them first", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/locations/{id}")]
pub async fn delete_location(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let id = location_id(&path)?;
    caller.require(Role::Editor, Some(location_owner(&state, id).await?))?;
    let expected = if_match(&req)?;
    let request_id = request_id(&req);
    let mut conn = state.connection().await?;
    store::delete_location(&mut conn, id, &expected, actor(&caller, &request_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
