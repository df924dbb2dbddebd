//! The write side of services: the editable version, workflow transitions, revisions and the
//! audit log, each change in one transaction that locks the service's row, so two writers of the
//! same service are serialized and the second one sees the first one's revision.
//!
//! A service's editable version is its newest revision (or, for services stored by the seed or an
//! importer and not edited since, its row). The `services` row is what the public reads: until a
//! service is first published it mirrors the editable version; afterwards only publication and
//! archiving change it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::access::{Denied, Principal};
use domain::checklist::{publication_blockers, ChecklistItem};
use domain::query::{Page, PageRequest};
use domain::revision::{changed_fields, Revision, RevisionSummary};
use domain::service::{ServiceForm, ServiceStatus};
use domain::validation::FieldError;
use domain::workflow::{next_status, public_status, Action, NotAllowed};
use uuid::Uuid;

use crate::rows::{OrganizationRow, ServiceRow};
use crate::schema::{
    life_events, locations, municipalities, organizations, related_services, service_locations,
    service_municipalities, service_old_slugs, service_revisions, service_segments, service_topics,
    services, topics,
};
use crate::writes::{fingerprint, replace_links, write_service_row, ServiceRowValues};
use crate::{audit, StoreError};

/// Who makes a change, for the revision and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub principal: &'a Principal,
    pub request_id: Option<&'a str>,
}

/// What a client read, to detect that a service changed since (its `ETag`): the newest revision,
/// and the row's last update (the seed and importers change rows without revisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub revision: i32,
    pub updated_micros: i64,
}

impl Version {
    fn of(row: &ServiceRow) -> Version {
        Version {
            revision: row.revision,
            updated_micros: row.updated_at.timestamp_micros(),
        }
    }
}

/// The editable version of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Editable {
    pub id: Uuid,
    /// Its newest revision; 0 when it has none yet (stored by the seed or an importer).
    pub revision: i32,
    /// State of the editable version.
    pub status: ServiceStatus,
    /// State of the version the public reads.
    pub public_status: ServiceStatus,
    pub organization_id: Uuid,
    pub form: ServiceForm,
    pub updated_at: DateTime<Utc>,
}

impl Editable {
    pub fn version(&self) -> Version {
        Version {
            revision: self.revision,
            updated_micros: self.updated_at.timestamp_micros(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Store(StoreError),
    /// The caller lacks the role in the service's organization, or in the one the form moves it to.
    #[error(transparent)]
    Denied(Denied),
    /// A record the form refers to went away while the change was written.
    #[error("a referenced record changed meanwhile")]
    ReferenceChanged,
    #[error("no such service")]
    NotFound,
    #[error("the service changed since it was read")]
    Stale,
    #[error(transparent)]
    Workflow(NotAllowed),
    #[error("the publication checklist is incomplete")]
    Blocked(Vec<ChecklistItem>),
    #[error("invalid references")]
    Invalid(Vec<FieldError>),
    #[error("another service has this slug")]
    SlugTaken,
    #[error("published services are archived, not deleted")]
    Published,
    #[error("no such revision")]
    NoRevision,
}

/// The constraints only answer when another writer got in between the checks and the write.
impl From<StoreError> for EditError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(constraint) if constraint == "services_slug_key" => {
                EditError::SlugTaken
            }
            StoreError::ForeignKey(_) => EditError::ReferenceChanged,
            other => EditError::Store(other),
        }
    }
}

impl From<diesel::result::Error> for EditError {
    fn from(error: diesel::result::Error) -> Self {
        EditError::from(StoreError::from(error))
    }
}

/// The editable version of a service, by id.
pub async fn editable(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Editable>, StoreError> {
    let row: Option<ServiceRow> = services::table
        .find(id)
        .select(ServiceRow::as_select())
        .first(conn)
        .await
        .optional()?;
    match row {
        Some(row) => Ok(Some(editable_of(conn, row).await?)),
        None => Ok(None),
    }
}

async fn editable_of(
    conn: &mut AsyncPgConnection,
    row: ServiceRow,
) -> Result<Editable, StoreError> {
    let public = row.status()?;
    let latest: Option<(String, serde_json::Value)> = match row.revision {
        0 => None,
        number => Some(
            service_revisions::table
                .find((row.id, number))
                .select((service_revisions::status, service_revisions::form))
                .first(conn)
                .await?,
        ),
    };
    let (status, form) = match latest {
        Some((status, form)) if status != ServiceStatus::Published.as_str() => {
            (parse_status(&status)?, serde_json::from_value(form)?)
        }
        // Not edited since it was stored or published: the row is that version, and its links
        // name today's slugs (an organization or topic may have been renamed since).
        Some((status, _)) => (parse_status(&status)?, form_of_row(conn, &row).await?),
        None => (public, form_of_row(conn, &row).await?),
    };
    Ok(Editable {
        id: row.id,
        revision: row.revision,
        status,
        public_status: public,
        organization_id: row.organization_id,
        form,
        updated_at: row.updated_at,
    })
}

fn parse_status(value: &str) -> Result<ServiceStatus, StoreError> {
    ServiceStatus::parse(value).ok_or_else(|| StoreError::Corrupt(format!("status `{value}`")))
}

/// The form a stored row and its links amount to.
async fn form_of_row(
    conn: &mut AsyncPgConnection,
    row: &ServiceRow,
) -> Result<ServiceForm, StoreError> {
    let id = row.id;
    let organization: String = organizations::table
        .find(row.organization_id)
        .select(organizations::slug)
        .first(conn)
        .await?;
    let mut segments: Vec<_> = service_segments::table
        .filter(service_segments::service_id.eq(id))
        .select(service_segments::segment_code)
        .load::<String>(conn)
        .await?
        .iter()
        .filter_map(|code| domain::taxonomy::SegmentCode::from_code(code))
        .collect();
    segments.sort();
    let topics = service_topics::table
        .inner_join(topics::table)
        .filter(service_topics::service_id.eq(id))
        .select(topics::slug)
        .order(topics::slug.asc())
        .load(conn)
        .await?;
    let life_events = crate::schema::service_life_events::table
        .inner_join(life_events::table)
        .filter(crate::schema::service_life_events::service_id.eq(id))
        .select(life_events::slug)
        .order(life_events::slug.asc())
        .load(conn)
        .await?;
    let municipalities = service_municipalities::table
        .filter(service_municipalities::service_id.eq(id))
        .select(service_municipalities::ibge_code)
        .order(service_municipalities::ibge_code.asc())
        .load(conn)
        .await?;
    let related_services = related_services::table
        .inner_join(services::table.on(services::id.eq(related_services::related_id)))
        .filter(related_services::service_id.eq(id))
        .select(services::slug)
        .order(related_services::position.asc())
        .load(conn)
        .await?;
    let locations = service_locations::table
        .filter(service_locations::service_id.eq(id))
        .select(service_locations::location_id)
        .order(service_locations::position.asc())
        .load(conn)
        .await?;
    Ok(ServiceForm {
        slug: row.slug.clone(),
        organization,
        content: row.content()?,
        segments,
        topics,
        life_events,
        municipalities,
        related_services,
        locations,
    })
}

/// The ids a form's references name.
struct Links {
    organization_id: Uuid,
    topics: Vec<Uuid>,
    life_events: Vec<Uuid>,
    related: Vec<Uuid>,
}

/// The ids of records named by slug in a table with `id` and `slug`; each unknown one is an error
/// at `pointer/i`. KEY SHARE: none can be deleted before the write that links it commits.
macro_rules! ids_of_slugs {
    ($conn:expr, $table:ident, $slugs:expr, $errors:expr, $pointer:literal, $what:literal) => {{
        let mut ids: Vec<Uuid> = Vec::new();
        for (i, slug) in $slugs.iter().enumerate() {
            let id: Option<Uuid> = $table::table
                .filter($table::slug.eq(slug))
                .select($table::id)
                .for_key_share()
                .first($conn)
                .await
                .optional()?;
            match id {
                // Named twice: linked once.
                Some(id) if ids.contains(&id) => {}
                Some(id) => ids.push(id),
                None => $errors.add(
                    format!(concat!($pointer, "/{}"), i),
                    "unknown",
                    format!(concat!($what, " `{}` não existe."), slug),
                ),
            }
        }
        ids
    }};
}

/// Looks every reference of the form up; all unknown ones are reported at once.
async fn resolve_links(
    conn: &mut AsyncPgConnection,
    form: &ServiceForm,
    own_id: Option<Uuid>,
) -> Result<Links, EditError> {
    let mut errors = domain::validation::Errors::default();
    let organization_id = organization_id(conn, &form.organization).await?;
    if organization_id.is_none() {
        errors.add(
            "/organization",
            "unknown",
            format!("O órgão `{}` não existe.", form.organization),
        );
    }
    let topic_ids = ids_of_slugs!(conn, topics, &form.topics, &mut errors, "/topics", "O tema");
    let life_event_ids = ids_of_slugs!(
        conn,
        life_events,
        &form.life_events,
        &mut errors,
        "/life_events",
        "O evento da vida"
    );
    for (i, code) in form.municipalities.iter().enumerate() {
        let found: i64 = municipalities::table
            .find(code)
            .count()
            .get_result(conn)
            .await?;
        if found == 0 {
            errors.add(
                format!("/municipalities/{i}"),
                "unknown",
                format!("O município de código IBGE {code} não existe."),
            );
        }
    }
    let mut related = Vec::new();
    for (i, slug) in form.related_services.iter().enumerate() {
        let id: Option<Uuid> = services::table
            .filter(services::slug.eq(slug))
            .select(services::id)
            .first(conn)
            .await
            .optional()?;
        match id {
            Some(id) if Some(id) == own_id => errors.add(
                format!("/related_services/{i}"),
                "invalid",
                "Um serviço não pode ser relacionado a si mesmo.",
            ),
            Some(id) => related.push(id),
            None => errors.add(
                format!("/related_services/{i}"),
                "unknown",
                format!("O serviço `{slug}` não existe."),
            ),
        }
    }
    for (i, id) in form.locations.iter().enumerate() {
        let found: i64 = locations::table.find(id).count().get_result(conn).await?;
        if found == 0 {
            errors.add(
                format!("/locations/{i}"),
                "unknown",
                format!("A unidade de atendimento `{id}` não existe."),
            );
        }
    }
    errors.into_result().map_err(EditError::Invalid)?;
    Ok(Links {
        organization_id: organization_id.unwrap_or_default(),
        topics: topic_ids,
        life_events: life_event_ids,
        related,
    })
}

/// An organization's id by slug or id.
pub async fn organization_id(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(crate::reads::find_id!(conn, organizations, key)?)
}

/// Fails when another service holds the slug.
async fn ensure_slug_free(
    conn: &mut AsyncPgConnection,
    slug: &str,
    own_id: Option<Uuid>,
) -> Result<(), EditError> {
    let holder: Option<Uuid> = services::table
        .filter(services::slug.eq(slug))
        .select(services::id)
        .first(conn)
        .await
        .optional()?;
    match holder {
        Some(holder) if Some(holder) != own_id => Err(EditError::SlugTaken),
        _ => Ok(()),
    }
}

/// Writes the public row from a form, with its links.
async fn write_public(
    conn: &mut AsyncPgConnection,
    id: Option<Uuid>,
    form: &ServiceForm,
    status: ServiceStatus,
    published_at: Option<DateTime<Utc>>,
    links: &Links,
) -> Result<Uuid, EditError> {
    ensure_slug_free(conn, &form.slug, id).await?;
    let row = ServiceRowValues {
        form,
        status,
        published_at,
        fingerprint: &fingerprint(form),
        source: None,
    };
    let id = write_service_row(conn, id, &row).await?;
    replace_links(conn, id, form, &links.topics, &links.life_events).await?;
    crate::writes::save_related_service_ids(conn, id, &links.related).await?;
    if status == ServiceStatus::Published {
        // A slug a service used to have stops redirecting once another is published under it
        // (until then, its address keeps leading to the renamed service).
        diesel::delete(service_old_slugs::table.find(&form.slug))
            .execute(conn)
            .await?;
    }
    Ok(id)
}

struct NewRevision<'a> {
    service_id: Uuid,
    number: i32,
    status: ServiceStatus,
    action: Action,
    form: &'a ServiceForm,
    changed: Vec<String>,
    reason: Option<&'a str>,
    organization_id: Uuid,
}

async fn record_revision(
    conn: &mut AsyncPgConnection,
    revision: NewRevision<'_>,
    actor: Actor<'_>,
) -> Result<(), EditError> {
    diesel::insert_into(service_revisions::table)
        .values((
            service_revisions::service_id.eq(revision.service_id),
            service_revisions::number.eq(revision.number),
            service_revisions::status.eq(revision.status.as_str()),
            service_revisions::action.eq(revision.action.as_str()),
            service_revisions::form
                .eq(serde_json::to_value(revision.form).map_err(StoreError::from)?),
            service_revisions::changed_fields.eq(&revision.changed),
            service_revisions::reason.eq(revision.reason),
            service_revisions::author.eq(&actor.principal.subject),
            service_revisions::client_id.eq(&actor.principal.client_id),
            service_revisions::organization_id.eq(revision.organization_id),
            service_revisions::request_id.eq(actor.request_id),
        ))
        .execute(conn)
        .await?;
    diesel::update(services::table.find(revision.service_id))
        .set(services::revision.eq(revision.number))
        .execute(conn)
        .await?;
    audit::record(
        conn,
        &audit::Entry {
            actor,
            action: &format!("service.{}", revision.action.as_str()),
            target_type: "service",
            target_id: &revision.service_id.to_string(),
            organization_id: Some(revision.organization_id),
            detail: serde_json::json!({
                "revision": revision.number,
                "status": revision.status.as_str(),
                "changed_fields": revision.changed,
                "reason": revision.reason,
            }),
        },
    )
    .await?;
    Ok(())
}

/// Creates a service as a draft (revision 1).
pub async fn create(
    conn: &mut AsyncPgConnection,
    form: &ServiceForm,
    reason: Option<&str>,
    actor: Actor<'_>,
) -> Result<Editable, EditError> {
    conn.transaction::<_, EditError, _>(async |conn| {
        let links = resolve_links(conn, form, None).await?;
        let id = write_public(conn, None, form, ServiceStatus::Draft, None, &links).await?;
        record_revision(
            conn,
            NewRevision {
                service_id: id,
                number: 1,
                status: ServiceStatus::Draft,
                action: Action::Create,
                form,
                changed: changed_fields(&serde_json::json!({}), &to_json(form)?),
                reason,
                organization_id: links.organization_id,
            },
            actor,
        )
        .await?;
        editable(conn, id).await?.ok_or(EditError::NotFound)
    })
    .await
}

fn to_json(form: &ServiceForm) -> Result<serde_json::Value, StoreError> {
    Ok(serde_json::to_value(form)?)
}

/// A change to an existing service: an edit (`form` given), a workflow action, or a rollback.
pub struct Change<'a> {
    pub action: Action,
    /// The new form, for edits and rollbacks.
    pub form: Option<&'a ServiceForm>,
    pub reason: Option<&'a str>,
}

/// Applies a change if the service is still at the `expected` version (the caller's `If-Match`).
pub async fn change(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: Version,
    change: Change<'_>,
    actor: Actor<'_>,
) -> Result<Editable, EditError> {
    conn.transaction::<_, EditError, _>(async |conn| {
        let row: ServiceRow = services::table
            .find(id)
            .select(ServiceRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(EditError::NotFound)?;
        if Version::of(&row) != expected {
            return Err(EditError::Stale);
        }
        // The authoritative scope check, on the locked row: the handler's own check ran on a
        // read that another writer may have changed since.
        let role = change.action.required_role();
        actor
            .principal
            .require(role, Some(row.organization_id))
            .map_err(EditError::Denied)?;
        let published_at = row.published_at;
        let organization_id = row.organization_id;
        let current = editable_of(conn, row).await?;
        let next = next_status(change.action, current.status, current.public_status)
            .map_err(EditError::Workflow)?;
        let form = change.form.unwrap_or(&current.form);
        let changed = changed_fields(&to_json(&current.form)?, &to_json(form)?);
        if change.action == Action::Update && changed.is_empty() {
            // Nothing to record: the same version stays, with its ETag.
            return Ok(current);
        }
        // Archiving and restoring write no form anywhere: they do not depend on its references
        // still resolving (a renamed topic must not block an archive).
        let links = match change.action {
            Action::Archive | Action::Restore => None,
            _ => Some(resolve_links(conn, form, Some(id)).await?),
        };
        let target_organization = links
            .as_ref()
            .map_or(organization_id, |links| links.organization_id);
        if target_organization != organization_id {
            // Moving a service to another organization needs the role there too, whether the
            // move is written now or by a later publication of this form.
            actor
                .principal
                .require(role, Some(target_organization))
                .map_err(EditError::Denied)?;
        }
        if change.action == Action::Publish {
            let organization: OrganizationRow = organizations::table
                .find(target_organization)
                .select(OrganizationRow::as_select())
                .first(conn)
                .await?;
            let blockers = publication_blockers(&form.content, &organization.summary()?);
            if !blockers.is_empty() {
                return Err(EditError::Blocked(blockers));
            }
        }
        let public = public_status(next, current.public_status);
        let was_public = matches!(
            current.public_status,
            ServiceStatus::Published | ServiceStatus::Archived
        );
        match (next, public) {
            // Publication, or a service never published: the public row follows the form.
            (ServiceStatus::Published, _) | (_, ServiceStatus::Draft | ServiceStatus::InReview) => {
                let stored_slug: String = services::table
                    .find(id)
                    .select(services::slug)
                    .first(conn)
                    .await?;
                let published_at = match next {
                    ServiceStatus::Published => published_at.or(Some(Utc::now())),
                    _ => published_at,
                };
                let Some(links) = &links else {
                    return Err(EditError::Store(StoreError::Corrupt(
                        "a form written without its references".into(),
                    )));
                };
                write_public(conn, Some(id), form, public, published_at, links).await?;
                if was_public && stored_slug != form.slug {
                    diesel::insert_into(service_old_slugs::table)
                        .values((
                            service_old_slugs::slug.eq(&stored_slug),
                            service_old_slugs::service_id.eq(id),
                        ))
                        .on_conflict(service_old_slugs::slug)
                        .do_update()
                        .set(service_old_slugs::service_id.eq(id))
                        .execute(conn)
                        .await?;
                }
            }
            (_, public) if public != current.public_status => {
                diesel::update(services::table.find(id))
                    .set((
                        services::status.eq(public.as_str()),
                        services::updated_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
            }
            _ => {}
        }
        record_revision(
            conn,
            NewRevision {
                service_id: id,
                number: current.revision + 1,
                status: next,
                action: change.action,
                form,
                changed,
                reason: change.reason,
                organization_id: target_organization,
            },
            actor,
        )
        .await?;
        editable(conn, id).await?.ok_or(EditError::NotFound)
    })
    .await
}

/// Deletes a service never published; published ones are archived instead, so the record of
/// what was promised to citizens stays.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: Version,
    actor: Actor<'_>,
) -> Result<(), EditError> {
    conn.transaction::<_, EditError, _>(async |conn| {
        let row: ServiceRow = services::table
            .find(id)
            .select(ServiceRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(EditError::NotFound)?;
        if Version::of(&row) != expected {
            return Err(EditError::Stale);
        }
        if matches!(
            row.status()?,
            ServiceStatus::Published | ServiceStatus::Archived
        ) {
            return Err(EditError::Published);
        }
        diesel::delete(services::table.find(id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "service.delete",
                target_type: "service",
                target_id: &id.to_string(),
                organization_id: Some(row.organization_id),
                detail: serde_json::json!({ "slug": row.slug, "revision": row.revision }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

#[derive(Queryable)]
struct RevisionRow {
    number: i32,
    status: String,
    action: String,
    changed_fields: Vec<Option<String>>,
    reason: Option<String>,
    author: String,
    client_id: Option<String>,
    organization_id: Uuid,
    created_at: DateTime<Utc>,
}

impl RevisionRow {
    fn summary(self) -> Result<RevisionSummary, StoreError> {
        Ok(RevisionSummary {
            number: self.number,
            status: parse_status(&self.status)?,
            action: Action::parse(&self.action)
                .ok_or_else(|| StoreError::Corrupt(format!("action `{}`", self.action)))?,
            changed_fields: self.changed_fields.into_iter().flatten().collect(),
            reason: self.reason,
            author: self.author,
            client_id: self.client_id,
            organization_id: self.organization_id,
            created_at: self.created_at,
        })
    }
}

macro_rules! revision_columns {
    () => {
        (
            service_revisions::number,
            service_revisions::status,
            service_revisions::action,
            service_revisions::changed_fields,
            service_revisions::reason,
            service_revisions::author,
            service_revisions::client_id,
            service_revisions::organization_id,
            service_revisions::created_at,
        )
    };
}

/// A service's revisions, newest first.
pub async fn revisions(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<RevisionSummary>, StoreError> {
    let total: i64 = service_revisions::table
        .filter(service_revisions::service_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    let rows: Vec<RevisionRow> = service_revisions::table
        .filter(service_revisions::service_id.eq(id))
        .order(service_revisions::number.desc())
        .select(revision_columns!())
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(RevisionRow::summary)
            .collect::<Result<_, _>>()?,
        total,
    })
}

/// One revision with its form.
pub async fn revision(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    number: i32,
) -> Result<Option<Revision>, StoreError> {
    let found: Option<(RevisionRow, serde_json::Value)> = service_revisions::table
        .find((id, number))
        .select((revision_columns!(), service_revisions::form))
        .first(conn)
        .await
        .optional()?;
    match found {
        Some((row, form)) => Ok(Some(Revision {
            summary: row.summary()?,
            form: serde_json::from_value(form)?,
        })),
        None => Ok(None),
    }
}

/// What the public endpoint answers for a service that is not published: archived (410) or
/// renamed (308 to the current slug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPublished {
    Archived,
    MovedTo(String),
}

/// Why a public lookup by id or slug found no published service, when there is a reason to tell.
pub async fn not_published(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> Result<Option<NotPublished>, StoreError> {
    let query = services::table
        .select((services::status, services::slug))
        .into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(services::id.eq(id)),
        Err(_) => query.filter(services::slug.eq(id_or_slug.to_owned())),
    };
    match query.first::<(String, String)>(conn).await.optional()? {
        Some((status, _)) if status == "archived" => return Ok(Some(NotPublished::Archived)),
        // A draft may hold the slug another service was renamed from: the redirect still holds.
        Some(_) if Uuid::parse_str(id_or_slug).is_ok() => return Ok(None),
        _ => {}
    }
    let moved: Option<(String, String)> = service_old_slugs::table
        .inner_join(services::table)
        .filter(service_old_slugs::slug.eq(id_or_slug))
        .select((services::slug, services::status))
        .first(conn)
        .await
        .optional()?;
    Ok(match moved {
        Some((_, status)) if status == "archived" => Some(NotPublished::Archived),
        Some((slug, status)) if status == "published" => Some(NotPublished::MovedTo(slug)),
        _ => None,
    })
}
