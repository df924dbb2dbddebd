use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::access::Role;
use domain::audit::{AuditFilter, AuditRecord};
use domain::query::PageRequest;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::pagination::{self, Paginated, PAGE_PARAMETERS};
use crate::query::{QueryModel, QueryParams, Strict};
use crate::AppState;

/// Filters combine with AND.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditQuery {
    /// The token subject (client id or person).
    actor: Option<String>,
    /// Organization id of the target.
    organization: Option<Uuid>,
    /// E.g. `service.publish`.
    action: Option<String>,
    /// E.g. `service`.
    target_type: Option<String>,
    target_id: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    since: Option<DateTime<Utc>>,
    /// Until this instant (RFC 3339), exclusive.
    until: Option<DateTime<Utc>>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct AuditList {
    filter: AuditFilter,
    page: PageRequest,
}

impl QueryModel for AuditList {
    const PARAMETERS: &'static [&'static str] = &[
        "actor",
        "organization",
        "action",
        "target_type",
        "target_id",
        "since",
        "until",
        PAGE_PARAMETERS[0],
        PAGE_PARAMETERS[1],
    ];

    fn read(params: &mut QueryParams) -> Self {
        let instant = |raw: &str| {
            DateTime::parse_from_rfc3339(raw)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        };
        AuditList {
            filter: AuditFilter {
                actor: params.text("actor", 200),
                organization_id: params.parsed(
                    "organization",
                    |raw| Uuid::parse_str(raw).ok(),
                    "use o id (UUID) do órgão",
                ),
                action: params.text("action", 100),
                target_type: params.text("target_type", 100),
                target_id: params.text("target_id", 200),
                since: params.parsed("since", instant, "use uma data RFC 3339"),
                until: params.parsed("until", instant, "use uma data RFC 3339"),
            },
            page: pagination::read_page(params),
        }
    }
}

/// The audit log of every write, newest first. Requires `admin`.
#[utoipa::path(
    tag = "admin",
    params(AuditQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "A page of audit records", body = Paginated<AuditRecord>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: Strict<AuditList>,
) -> ApiResult<HttpResponse> {
    caller.require(Role::Admin, None)?;
    let mut conn = state.connection().await?;
    let page = persistence::audit::list(&mut conn, &query.0.filter, query.0.page).await?;
    pagination::respond(&req, query.0.page, page)
}
