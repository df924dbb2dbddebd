//! Agencies edit their own services: the editable version (`/draft`), the workflow actions,
//! revisions and deletion. Every write to an existing service needs `If-Match` with the ETag of
//! the editable version the client read, so two editors never overwrite each other silently.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::access::Role;
use domain::revision::{diff, FieldChange, Revision, RevisionSummary};
use domain::service::{ServiceContent, ServiceForm, ServiceStatus};
use domain::validation::validate_service;
use domain::workflow::Action;
use persistence::editing::{self, Actor, Change, EditError, Editable, Version};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, InvalidField, Problem};
use crate::pagination::{self, Paginated};
use crate::query::{NoParams, QueryModel, QueryParams, Strict};
use crate::routes::support::{self, refresh_search, request_id};
use crate::AppState;

/// The editable version of a service: pending changes if any, else the current version.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditableService {
    pub id: Uuid,
    /// Number of the newest revision (0: not edited through the API yet).
    pub revision: i32,
    /// State of this editable version.
    pub status: ServiceStatus,
    /// State of the version the public sees.
    pub public_status: ServiceStatus,
    pub organization_id: Uuid,
    #[serde(flatten)]
    pub form: ServiceForm,
    pub updated_at: DateTime<Utc>,
}

/// A strong ETag for the editable version.
fn etag(version: Version) -> String {
    support::etag(&format!("{}-{}", version.revision, version.updated_micros))
}

/// A version from the value of one of our entity tags (unquoted).
fn parse_version(tag: &str) -> Option<Version> {
    let (revision, micros) = tag.split_once('-')?;
    Some(Version {
        revision: revision.parse().ok()?,
        updated_micros: micros.parse().ok()?,
    })
}

/// The version `If-Match` names: 428 without the header, 412 when it names none we issued (the
/// first of several that parses is taken).
fn if_match(req: &HttpRequest) -> ApiResult<Version> {
    support::if_match(req)?
        .iter()
        .find_map(|tag| parse_version(tag))
        .ok_or(ApiError::PreconditionFailed)
}

fn respond(status: actix_web::http::StatusCode, editable: Editable) -> HttpResponse {
    let tag = etag(editable.version());
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, tag));
    if status == actix_web::http::StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!("/v1/services/{}/draft", editable.id),
        ));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response.json(EditableService {
        id: editable.id,
        revision: editable.revision,
        status: editable.status,
        public_status: editable.public_status,
        organization_id: editable.organization_id,
        form: editable.form,
        updated_at: editable.updated_at,
    })
}

impl From<EditError> for ApiError {
    fn from(error: EditError) -> Self {
        match error {
            EditError::Store(error) => ApiError::Store(error),
            EditError::Denied(denied) => ApiError::Forbidden(denied.message()),
            EditError::ReferenceChanged => ApiError::Conflict {
                code: "reference_changed",
                detail: "Um registro a que o serviço se refere mudou ao mesmo tempo. Leia de \
novo e refaça a alteração."
                    .into(),
            },
            EditError::NotFound => ApiError::NotFound("Serviço não encontrado."),
            EditError::NoRevision => ApiError::NotFound("Revisão não encontrada."),
            EditError::Stale => ApiError::PreconditionFailed,
            EditError::Workflow(not_allowed) => ApiError::Conflict {
                code: "transition_not_allowed",
                detail: not_allowed.message(),
            },
            EditError::Blocked(items) => ApiError::ChecklistIncomplete(items),
            EditError::Invalid(errors) => {
                ApiError::InvalidBody(errors.into_iter().map(InvalidField::from).collect())
            }
            EditError::SlugTaken => ApiError::InvalidBody(vec![InvalidField {
                parameter: None,
                pointer: Some("/slug".into()),
                code: "taken".into(),
                message: "Outro serviço já usa este identificador (slug).".into(),
            }]),
            EditError::Published => ApiError::Conflict {
                code: "published_service",
                detail: "Serviços já publicados não são excluídos: arquive-os.".into(),
            },
        }
    }
}

/// Reads a service form from JSON: type errors, members no field takes and rule violations are
/// 422s with pointers.
fn read_form(value: &serde_json::Value) -> ApiResult<ServiceForm> {
    // The text fields are flattened into the form, and serde loses the path of an error inside a
    // flattened part: read them on their own first, so a type error names its field.
    support::deserialize::<ServiceContent>(value)?;
    support::read_body(value, |form| {
        validate_service(form).err().unwrap_or_default()
    })
}

/// The members of `EditableService` a client cannot set are dropped, so that what it read can be
/// sent back changed: the path and `If-Match` say which version is replaced. A `status` other than
/// the stored one is refused: the state changes through the workflow endpoints, not a field.
fn without_read_only_members(
    mut body: serde_json::Value,
    current: &Editable,
) -> ApiResult<serde_json::Value> {
    let Some(members) = body.as_object_mut() else {
        return Ok(body);
    };
    for name in [
        "id",
        "revision",
        "public_status",
        "organization_id",
        "updated_at",
    ] {
        members.remove(name);
    }
    match members.remove("status") {
        Some(status) if status != serde_json::json!(current.status) => {
            Err(ApiError::InvalidBody(vec![InvalidField {
                parameter: None,
                pointer: Some("/status".into()),
                code: "read_only".into(),
                message: "O estado muda pelas ações submit, publish, archive e restore, não por \
este campo."
                    .into(),
            }]))
        }
        _ => Ok(body),
    }
}

/// `reason`: why the change is made, kept in the revision.
pub struct ChangeQuery {
    reason: Option<String>,
}

impl QueryModel for ChangeQuery {
    const PARAMETERS: &'static [&'static str] = &["reason"];

    fn read(params: &mut QueryParams) -> Self {
        ChangeQuery {
            reason: params.text("reason", 500),
        }
    }
}

/// Documents `reason`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ChangeParams {
    /// Why the change is made (kept in the revision), at most 500 characters.
    #[param(example = "Atualização da taxa conforme Lei 12.345/2026")]
    reason: Option<String>,
}

fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound("Serviço não encontrado."))
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<Editable> {
    let mut conn = state.connection().await?;
    editing::editable(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("Serviço não encontrado."))
}

/// Creates a service as a draft (revision 1). Requires `editor` in the form's organization.
#[utoipa::path(
    tag = "editing",
    params(ChangeParams),
    request_body(content = ServiceForm, content_type = "application/json"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 201, description = "Created; `ETag` and `Location` name the editable version", body = EditableService),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all of them listed with pointers", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/services")]
pub async fn create_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: Strict<ChangeQuery>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let form = read_form(&body)?;
    let organization = {
        let mut conn = state.connection().await?;
        editing::organization_id(&mut conn, &form.organization).await?
    };
    // Outside one's organizations (an unknown one included) is 403; an admin may create in any,
    // and an unknown organization is then a 422 from the write.
    caller.require(Role::Editor, organization)?;
    let request_id = request_id(&req);
    let actor = Actor {
        principal: &caller.0,
        request_id: request_id.as_deref(),
    };
    let mut conn = state.connection().await?;
    let created = editing::create(&mut conn, &form, query.0.reason.as_deref(), actor).await?;
    drop(conn);
    refresh_search(&state).await;
    Ok(respond(actix_web::http::StatusCode::CREATED, created))
}

/// The editable version of a service, with its `ETag`. Requires `reader` in its organization.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id")),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "The editable version", body = EditableService),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the caller's organizations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/services/{id}/draft")]
pub async fn get_draft(
    state: web::Data<AppState>,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let current = load(&state, parse_id(&path)?).await?;
    caller.require(Role::Reader, Some(current.organization_id))?;
    Ok(respond(actix_web::http::StatusCode::OK, current))
}

/// The checks every change to an existing service makes first, in this order: the caller's role
/// in the service's organization (403), then `If-Match` (428); the body comes after, so a caller
/// outside the service's organization learns nothing from its validation.
async fn prepare(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    id: Uuid,
    role: Role,
) -> ApiResult<(Editable, Version)> {
    let current = load(state, id).await?;
    caller.require(role, Some(current.organization_id))?;
    let expected = if_match(req)?;
    // What the handler builds on (a merge patch's base) must be the version the client named;
    // the write checks again on the locked row.
    if current.version() != expected {
        return Err(ApiError::PreconditionFailed);
    }
    Ok((current, expected))
}

async fn apply(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    (id, expected): (Uuid, Version),
    action: Action,
    form: Option<&ServiceForm>,
    reason: Option<&str>,
) -> ApiResult<HttpResponse> {
    // Moving the service to the organization a form names needs the role there too: checked by
    // the write, on the locked row.
    let request_id = request_id(req);
    let actor = Actor {
        principal: &caller.0,
        request_id: request_id.as_deref(),
    };
    let mut conn = state.connection().await?;
    let changed = editing::change(
        &mut conn,
        id,
        expected,
        Change {
            action,
            form,
            reason,
        },
        actor,
    )
    .await?;
    drop(conn);
    refresh_search(state).await;
    Ok(respond(actix_web::http::StatusCode::OK, changed))
}

/// Replaces the editable version. On a published service this starts a new draft; the public
/// keeps seeing the published version until the draft is published. Requires `editor`.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"), ChangeParams,
        ("If-Match" = String, Header, description = "ETag of the editable version you read")),
    request_body(content = ServiceForm, content_type = "application/json"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "Saved as a new revision", body = EditableService),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived: restore it first", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/services/{id}/draft")]
pub async fn put_draft(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    query: Strict<ChangeQuery>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&path)?;
    let (current, expected) = prepare(&state, &req, &caller, id, Role::Editor).await?;
    let form = read_form(&without_read_only_members(body.into_inner(), &current)?)?;
    apply(
        &state,
        &req,
        &caller,
        (id, expected),
        Action::Update,
        Some(&form),
        query.0.reason.as_deref(),
    )
    .await
}

/// Changes part of the editable version with a JSON merge patch (RFC 7396): members given
/// replace the current ones, `null` removes one. Requires `editor`.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"), ChangeParams,
        ("If-Match" = String, Header, description = "ETag of the editable version you read")),
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "Members of the service form to change"),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "Saved as a new revision", body = EditableService),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived: restore it first", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/services/{id}/draft")]
pub async fn patch_draft(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    query: Strict<ChangeQuery>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&path)?;
    let (current, expected) = prepare(&state, &req, &caller, id, Role::Editor).await?;
    let form = read_form(&support::merge_patch(&current.form, &body)?)?;
    apply(
        &state,
        &req,
        &caller,
        (id, expected),
        Action::Update,
        Some(&form),
        query.0.reason.as_deref(),
    )
    .await
}

macro_rules! workflow_action {
    ($name:ident, $path:literal, $action:expr, $role:literal, $summary:literal, $conflict:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "editing",
            params(("id" = Uuid, Path, description = "Service id"), ChangeParams,
                ("If-Match" = String, Header, description = "ETag of the editable version you read")),
            security(("bearer" = [$role])),
            responses(
                (status = 200, description = "Done; the new state is in `status`", body = EditableService),
                (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Lacks the role in the organization", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = $conflict, body = Problem, content_type = "application/problem+json"),
                (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Publication checklist incomplete (`missing` lists the items)", body = Problem, content_type = "application/problem+json"),
                (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
            caller: Caller,
            query: Strict<ChangeQuery>,
        ) -> ApiResult<HttpResponse> {
            let id = parse_id(&path)?;
            let (_, expected) = prepare(&state, &req, &caller, id, $action.required_role()).await?;
            let reason = query.0.reason.as_deref();
            apply(&state, &req, &caller, (id, expected), $action, None, reason).await
        }
    };
}

workflow_action!(
    submit_service,
    "/services/{id}/submit",
    Action::Submit,
    "editor",
    "Sends a draft for review (draft → in_review). Requires `editor`.",
    "Not a draft"
);
workflow_action!(
    publish_service,
    "/services/{id}/publish",
    Action::Publish,
    "publisher",
    "Publishes the version in review (in_review → published) when the Lei 13.460 checklist is complete. Requires `publisher`.",
    "Not in review"
);
workflow_action!(
    archive_service,
    "/services/{id}/archive",
    Action::Archive,
    "publisher",
    "Withdraws a published service (→ archived; the public endpoint answers 410). Requires `publisher`.",
    "Not published"
);
workflow_action!(
    restore_service,
    "/services/{id}/restore",
    Action::Restore,
    "publisher",
    "Brings an archived service back as a draft, to be reviewed and published again. Requires `publisher`.",
    "Not archived"
);

/// Deletes a service that was never published (published ones are archived). Requires `editor`.
#[utoipa::path(
    tag = "editing",
    params(("id_or_slug" = Uuid, Path, description = "Service id (only the id: slugs change)"),
        ("If-Match" = String, Header, description = "ETag of the editable version you read")),
    security(("bearer" = ["editor"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Published or archived: archive instead", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/services/{id_or_slug}")]
pub async fn delete_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&path)?;
    let (_, expected) = prepare(&state, &req, &caller, id, Role::Editor).await?;
    let request_id = request_id(&req);
    let actor = Actor {
        principal: &caller.0,
        request_id: request_id.as_deref(),
    };
    let mut conn = state.connection().await?;
    editing::delete(&mut conn, id, expected, actor).await?;
    drop(conn);
    refresh_search(&state).await;
    Ok(HttpResponse::NoContent().finish())
}

/// A service's revisions, newest first. Requires `reader` in its organization.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"), pagination::PageParams),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "A page of revisions", body = Paginated<RevisionSummary>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the caller's organizations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/services/{id}/revisions")]
pub async fn list_revisions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    query: Strict<pagination::PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&path)?;
    let current = load(&state, id).await?;
    caller.require(Role::Reader, Some(current.organization_id))?;
    let mut conn = state.connection().await?;
    let page = editing::revisions(&mut conn, id, query.0 .0).await?;
    pagination::respond(&req, query.0 .0, page)
}

async fn revision_of(state: &AppState, id: Uuid, number: i32) -> ApiResult<Revision> {
    let mut conn = state.connection().await?;
    editing::revision(&mut conn, id, number)
        .await?
        .ok_or(ApiError::NotFound("Revisão não encontrada."))
}

/// One revision with the whole form it recorded. Requires `reader`.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"), ("number" = i32, Path, description = "Revision number")),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "The revision", body = Revision),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the caller's organizations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service or revision", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/services/{id}/revisions/{number}")]
pub async fn get_revision(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<web::Json<Revision>> {
    let id = parse_id(&path.0)?;
    let current = load(&state, id).await?;
    caller.require(Role::Reader, Some(current.organization_id))?;
    Ok(web::Json(revision_of(&state, id, path.1).await?))
}

/// The fields that differ between two revisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    pub changes: Vec<FieldChange>,
}

/// Differences from revision `number` to revision `to`, field by field. Requires `reader`.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"),
        ("number" = i32, Path, description = "The older revision"),
        ("to" = i32, Path, description = "The newer revision")),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "The differences", body = RevisionDiff),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Outside the caller's organizations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service or revision", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/services/{id}/revisions/{number}/diff/{to}")]
pub async fn diff_revisions(
    state: web::Data<AppState>,
    path: web::Path<(String, i32, i32)>,
    caller: Caller,
    _: Strict<NoParams>,
) -> ApiResult<web::Json<RevisionDiff>> {
    let id = parse_id(&path.0)?;
    let current = load(&state, id).await?;
    caller.require(Role::Reader, Some(current.organization_id))?;
    let from = revision_of(&state, id, path.1).await?;
    let to = revision_of(&state, id, path.2).await?;
    let json = |revision: &Revision| {
        serde_json::to_value(&revision.form).map_err(|e| ApiError::Internal(e.to_string()))
    };
    Ok(web::Json(RevisionDiff {
        from: path.1,
        to: path.2,
        changes: diff(&json(&from)?, &json(&to)?),
    }))
}

/// Makes a new draft revision with the form of an earlier one. Requires `editor`.
#[utoipa::path(
    tag = "editing",
    params(("id" = Uuid, Path, description = "Service id"), ("number" = i32, Path, description = "Revision to go back to"),
        ChangeParams,
        ("If-Match" = String, Header, description = "ETag of the editable version you read")),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "Rolled back, as a new revision", body = EditableService),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service or revision", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived: restore it first", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The old form no longer holds (e.g. a topic was removed)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/services/{id}/revisions/{number}/rollback")]
pub async fn rollback_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i32)>,
    caller: Caller,
    query: Strict<ChangeQuery>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&path.0)?;
    let (_, expected) = prepare(&state, &req, &caller, id, Role::Editor).await?;
    let old = revision_of(&state, id, path.1).await?;
    let reason = query
        .0
        .reason
        .unwrap_or_else(|| format!("Volta à revisão {}", path.1));
    apply(
        &state,
        &req,
        &caller,
        (id, expected),
        Action::Rollback,
        Some(&old.form),
        Some(&reason),
    )
    .await
}
