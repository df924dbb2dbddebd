//! Storing catalogue records by their natural keys (slugs, SIORG and IBGE codes). Used by the seed
//! and the importers; every save is idempotent: saving the same record twice changes nothing.

use chrono::Utc;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::organization::OrganizationDraft;
use domain::place::{LocationDraft, Municipality};
use domain::service::{ServiceDraft, ServiceForm, ServiceStatus};
use domain::taxonomy::{LifeEventDraft, TopicDraft};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::schema::{
    life_events, locations, municipalities, organizations, related_services, service_channel_types,
    service_life_events, service_locations, service_municipalities, service_segments,
    service_topics, services, topics,
};
use crate::StoreError;

/// Hex SHA-256 of a value's JSON form: stable across runs and toolchains.
pub fn fingerprint<T: serde::Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Copy)]
pub struct Saved {
    pub id: Uuid,
    pub outcome: Outcome,
}

/// The stored columns of an organization but its slug: what a save or an edit writes.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = organizations, treat_none_as_null = true)]
pub(crate) struct OrganizationValues<'a> {
    name: &'a str,
    acronym: Option<&'a str>,
    kind: &'static str,
    sphere: &'static str,
    branch: &'static str,
    parent_id: Option<Uuid>,
    siorg_code: Option<&'a str>,
    ibge_code: Option<i32>,
    cnpj: Option<&'a str>,
    description: Option<&'a str>,
    contact: Option<&'a str>,
    website: Option<&'a str>,
    ombudsman_url: Option<&'a str>,
    source: Option<&'a str>,
}

impl<'a> OrganizationValues<'a> {
    pub(crate) fn of(draft: &'a OrganizationDraft, parent_id: Option<Uuid>) -> Self {
        OrganizationValues {
            name: &draft.name,
            acronym: draft.acronym.as_deref(),
            kind: draft.kind.code(),
            sphere: draft.sphere.code(),
            branch: draft.branch.code(),
            parent_id,
            siorg_code: draft.codes.siorg.as_deref(),
            ibge_code: draft.codes.ibge,
            cnpj: draft.codes.cnpj.as_deref(),
            description: draft.description.as_deref(),
            contact: draft.contact.as_deref(),
            website: draft.website.as_deref(),
            ombudsman_url: draft.ombudsman_url.as_deref(),
            source: draft.source.as_deref(),
        }
    }
}

/// The stored columns of a service unit but its id.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = locations, treat_none_as_null = true)]
pub(crate) struct LocationValues<'a> {
    organization_id: Uuid,
    name: &'a str,
    street: &'a str,
    number: Option<&'a str>,
    complement: Option<&'a str>,
    district: Option<&'a str>,
    postal_code: Option<&'a str>,
    municipality: i32,
    lat: Option<f64>,
    lon: Option<f64>,
    opening_hours: serde_json::Value,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    accessibility: Option<&'a str>,
    responsible_sector: Option<&'a str>,
}

impl<'a> LocationValues<'a> {
    pub(crate) fn of(draft: &'a LocationDraft, organization_id: Uuid) -> Result<Self, StoreError> {
        Ok(LocationValues {
            organization_id,
            name: &draft.name,
            street: &draft.address.street,
            number: draft.address.number.as_deref(),
            complement: draft.address.complement.as_deref(),
            district: draft.address.district.as_deref(),
            postal_code: draft.address.postal_code.as_deref(),
            municipality: draft.municipality,
            lat: draft.point.map(|p| p.lat),
            lon: draft.point.map(|p| p.lon),
            opening_hours: serde_json::to_value(&draft.opening_hours)?,
            phone: draft.phone.as_deref(),
            email: draft.email.as_deref(),
            accessibility: draft.accessibility.as_deref(),
            responsible_sector: draft.responsible_sector.as_deref(),
        })
    }
}

/// A municipality's columns.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = municipalities, primary_key(ibge_code))]
pub(crate) struct MunicipalityValues<'a> {
    ibge_code: i32,
    name: &'a str,
    state: &'a str,
    lat: f64,
    lon: f64,
    is_capital: bool,
}

impl<'a> MunicipalityValues<'a> {
    pub(crate) fn of(municipality: &'a Municipality) -> Self {
        MunicipalityValues {
            ibge_code: municipality.ibge_code,
            name: &municipality.name,
            state: &municipality.state,
            lat: municipality.point.lat,
            lon: municipality.point.lon,
            is_capital: municipality.is_capital,
        }
    }
}

pub async fn save_municipalities(
    conn: &mut AsyncPgConnection,
    items: &[Municipality],
) -> Result<(), StoreError> {
    for chunk in items.chunks(1000) {
        let rows: Vec<_> = chunk.iter().map(MunicipalityValues::of).collect();
        diesel::insert_into(municipalities::table)
            .values(rows)
            .on_conflict(municipalities::ibge_code)
            .do_update()
            .set((
                municipalities::name.eq(excluded(municipalities::name)),
                municipalities::state.eq(excluded(municipalities::state)),
                municipalities::lat.eq(excluded(municipalities::lat)),
                municipalities::lon.eq(excluded(municipalities::lon)),
                municipalities::is_capital.eq(excluded(municipalities::is_capital)),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

async fn organization_id_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> Result<Uuid, StoreError> {
    organizations::table
        .filter(organizations::slug.eq(slug))
        .select(organizations::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::missing("organization", slug))
}

/// How an organization is matched against the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationKey {
    Slug,
    /// Federal bodies are identified by their SIORG code; the slug of the first save stays.
    Siorg,
}

/// Saves an organization. With `overwrite` false an existing one is left as it is (a service record
/// names its provider, but the provider's own page is the better source).
pub async fn save_organization(
    conn: &mut AsyncPgConnection,
    draft: &OrganizationDraft,
    key: OrganizationKey,
    overwrite: bool,
) -> Result<(Uuid, String), StoreError> {
    let existing: Option<(Uuid, String)> = match (key, &draft.codes.siorg) {
        (OrganizationKey::Siorg, Some(siorg)) => organizations::table
            .filter(organizations::siorg_code.eq(siorg))
            .select((organizations::id, organizations::slug))
            .first(conn)
            .await
            .optional()?,
        _ => organizations::table
            .filter(organizations::slug.eq(&draft.slug))
            .select((organizations::id, organizations::slug))
            .first(conn)
            .await
            .optional()?,
    };
    if let Some(found) = &existing {
        if !overwrite {
            return Ok(found.clone());
        }
    }
    let parent_id = match &draft.parent {
        Some(slug) => Some(organization_id_by_slug(conn, slug).await?),
        None => None,
    };
    let values = OrganizationValues::of(draft, parent_id);
    match existing {
        Some((id, slug)) => {
            // Only touch the row (and its updated_at) when something differs.
            let changed = diesel::update(organizations::table.find(id))
                .filter(
                    organizations::name
                        .ne(&draft.name)
                        .or(organizations::acronym.is_distinct_from(&draft.acronym))
                        .or(organizations::kind.ne(draft.kind.code()))
                        .or(organizations::sphere.ne(draft.sphere.code()))
                        .or(organizations::branch.ne(draft.branch.code()))
                        .or(organizations::parent_id.is_distinct_from(parent_id))
                        .or(organizations::siorg_code.is_distinct_from(&draft.codes.siorg))
                        .or(organizations::ibge_code.is_distinct_from(draft.codes.ibge))
                        .or(organizations::cnpj.is_distinct_from(&draft.codes.cnpj))
                        .or(organizations::description.is_distinct_from(&draft.description))
                        .or(organizations::contact.is_distinct_from(&draft.contact))
                        .or(organizations::website.is_distinct_from(&draft.website))
                        .or(organizations::ombudsman_url.is_distinct_from(&draft.ombudsman_url))
                        .or(organizations::source.is_distinct_from(&draft.source)),
                )
                .set((values, organizations::updated_at.eq(Utc::now())))
                .execute(conn)
                .await?;
            let _ = changed;
            Ok((id, slug))
        }
        None => {
            let id = diesel::insert_into(organizations::table)
                .values((organizations::slug.eq(&draft.slug), values))
                .returning(organizations::id)
                .get_result(conn)
                .await?;
            Ok((id, draft.slug.clone()))
        }
    }
}

/// Saves a topic by slug; its parent must already exist.
pub async fn save_topic(
    conn: &mut AsyncPgConnection,
    draft: &TopicDraft,
) -> Result<Uuid, StoreError> {
    let parent_id = match &draft.parent {
        Some(slug) => Some(
            topics::table
                .filter(topics::slug.eq(slug))
                .select(topics::id)
                .first::<Uuid>(conn)
                .await
                .optional()?
                .ok_or_else(|| StoreError::missing("topic", slug))?,
        ),
        None => None,
    };
    let existing: Option<Uuid> = topics::table
        .filter(topics::slug.eq(&draft.slug))
        .select(topics::id)
        .first(conn)
        .await
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(topics::table.find(id))
                .filter(
                    topics::name
                        .ne(&draft.name)
                        .or(topics::description.is_distinct_from(&draft.description))
                        .or(topics::parent_id.is_distinct_from(parent_id)),
                )
                .set((
                    topics::name.eq(&draft.name),
                    topics::description.eq(&draft.description),
                    topics::parent_id.eq(parent_id),
                    topics::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            Ok(id)
        }
        None => Ok(diesel::insert_into(topics::table)
            .values((
                topics::slug.eq(&draft.slug),
                topics::name.eq(&draft.name),
                topics::description.eq(&draft.description),
                topics::parent_id.eq(parent_id),
            ))
            .returning(topics::id)
            .get_result(conn)
            .await?),
    }
}

/// Saves a life event by slug; its row (and `updated_at`) is touched only when something differs.
pub async fn save_life_event(
    conn: &mut AsyncPgConnection,
    draft: &LifeEventDraft,
) -> Result<Uuid, StoreError> {
    let existing: Option<Uuid> = life_events::table
        .filter(life_events::slug.eq(&draft.slug))
        .select(life_events::id)
        .first(conn)
        .await
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(life_events::table.find(id))
                .filter(
                    life_events::name
                        .ne(&draft.name)
                        .or(life_events::description.is_distinct_from(&draft.description)),
                )
                .set((
                    life_events::name.eq(&draft.name),
                    life_events::description.eq(&draft.description),
                    life_events::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            Ok(id)
        }
        None => Ok(diesel::insert_into(life_events::table)
            .values((
                life_events::slug.eq(&draft.slug),
                life_events::name.eq(&draft.name),
                life_events::description.eq(&draft.description),
            ))
            .returning(life_events::id)
            .get_result(conn)
            .await?),
    }
}

/// Saves a service unit by id; its row (and `updated_at`) is touched only when something differs.
pub async fn save_location(
    conn: &mut AsyncPgConnection,
    draft: &LocationDraft,
) -> Result<Uuid, StoreError> {
    let organization_id = organization_id_by_slug(conn, &draft.organization).await?;
    let values = LocationValues::of(draft, organization_id)?;
    let inserted = diesel::insert_into(locations::table)
        .values((locations::id.eq(draft.id), &values))
        .on_conflict(locations::id)
        .do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        diesel::update(locations::table.find(draft.id))
            .filter(
                locations::organization_id
                    .ne(organization_id)
                    .or(locations::name.ne(values.name))
                    .or(locations::street.ne(values.street))
                    .or(locations::number.is_distinct_from(values.number))
                    .or(locations::complement.is_distinct_from(values.complement))
                    .or(locations::district.is_distinct_from(values.district))
                    .or(locations::postal_code.is_distinct_from(values.postal_code))
                    .or(locations::municipality.ne(values.municipality))
                    .or(locations::lat.is_distinct_from(values.lat))
                    .or(locations::lon.is_distinct_from(values.lon))
                    .or(locations::opening_hours.ne(&values.opening_hours))
                    .or(locations::phone.is_distinct_from(values.phone))
                    .or(locations::email.is_distinct_from(values.email))
                    .or(locations::accessibility.is_distinct_from(values.accessibility))
                    .or(locations::responsible_sector.is_distinct_from(values.responsible_sector)),
            )
            .set((&values, locations::updated_at.eq(Utc::now())))
            .execute(conn)
            .await?;
    }
    Ok(draft.id)
}

async fn ids_by_slug(
    conn: &mut AsyncPgConnection,
    what: &'static str,
    slugs: &[String],
    table: SlugTable,
) -> Result<Vec<Uuid>, StoreError> {
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let id: Option<Uuid> = match table {
            SlugTable::Topics => topics::table
                .filter(topics::slug.eq(slug))
                .select(topics::id)
                .first(conn)
                .await
                .optional()?,
            SlugTable::LifeEvents => life_events::table
                .filter(life_events::slug.eq(slug))
                .select(life_events::id)
                .first(conn)
                .await
                .optional()?,
            SlugTable::Services => services::table
                .filter(services::slug.eq(slug))
                .select(services::id)
                .first(conn)
                .await
                .optional()?,
        };
        let id = id.ok_or_else(|| StoreError::missing(what, slug))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[derive(Clone, Copy)]
enum SlugTable {
    Topics,
    LifeEvents,
    Services,
}

/// Saves a service with all its links, in one transaction. An imported service (with a source) is
/// matched by (source, external id), any other by slug. Related services are saved separately
/// (`save_related_services`), since they may name services saved later.
pub async fn save_service(
    conn: &mut AsyncPgConnection,
    draft: &ServiceDraft,
) -> Result<Saved, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        save_service_in_transaction(conn, draft).await
    })
    .await
}

pub(crate) async fn save_service_in_transaction(
    conn: &mut AsyncPgConnection,
    draft: &ServiceDraft,
) -> Result<Saved, StoreError> {
    let mut stored = draft.clone();
    stored.form.related_services.clear();
    let fingerprint = fingerprint(&stored);
    let existing: Option<(Uuid, String, String, Option<chrono::DateTime<Utc>>)> =
        match &draft.source {
            Some(source) => services::table
                .filter(services::source.eq(&source.source))
                .filter(services::external_id.eq(&source.external_id))
                .select((
                    services::id,
                    services::fingerprint,
                    services::status,
                    services::published_at,
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?,
            // Records without a source are matched by slug, never an imported one.
            None => services::table
                .filter(services::slug.eq(&draft.form.slug))
                .filter(services::source.is_null())
                .select((
                    services::id,
                    services::fingerprint,
                    services::status,
                    services::published_at,
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?,
        };
    if let Some((id, stored_fingerprint, _, _)) = &existing {
        if *stored_fingerprint == fingerprint {
            return Ok(Saved {
                id: *id,
                outcome: Outcome::Unchanged,
            });
        }
    }

    let topic_ids = ids_by_slug(conn, "topic", &draft.form.topics, SlugTable::Topics).await?;
    let life_event_ids = ids_by_slug(
        conn,
        "life event",
        &draft.form.life_events,
        SlugTable::LifeEvents,
    )
    .await?;
    for code in &draft.form.municipalities {
        if !crate::reads::municipality_exists(conn, *code).await? {
            return Err(StoreError::missing("municipality", code));
        }
    }
    for id in &draft.form.locations {
        let found: i64 = locations::table.find(id).count().get_result(conn).await?;
        if found == 0 {
            return Err(StoreError::missing("location", id));
        }
    }

    let published = draft.status == ServiceStatus::Published;
    let published_at = match &existing {
        Some((_, _, status, at)) if status == "published" && published => *at,
        _ if published => Some(Utc::now()),
        _ => None,
    };
    let row = ServiceRowValues {
        form: &draft.form,
        status: draft.status,
        published_at,
        fingerprint: &fingerprint,
        source: draft.source.as_ref(),
    };
    let existing_id = existing.as_ref().map(|(id, _, _, _)| *id);
    let id = write_service_row(conn, existing_id, &row).await?;
    let outcome = match existing_id {
        Some(_) => Outcome::Updated,
        None => Outcome::Created,
    };
    replace_links(conn, id, &draft.form, &topic_ids, &life_event_ids).await?;
    Ok(Saved { id, outcome })
}

/// What the `services` row of a service holds.
pub(crate) struct ServiceRowValues<'a> {
    pub form: &'a ServiceForm,
    pub status: ServiceStatus,
    pub published_at: Option<chrono::DateTime<Utc>>,
    pub fingerprint: &'a str,
    pub source: Option<&'a domain::service::SourceRef>,
}

/// Inserts the row (`id` None) or overwrites it; returns its id.
pub(crate) async fn write_service_row(
    conn: &mut AsyncPgConnection,
    id: Option<Uuid>,
    row: &ServiceRowValues<'_>,
) -> Result<Uuid, StoreError> {
    let form = row.form;
    let content = serde_json::to_value(&form.content)?;
    let source = row.source;
    let values = (
        services::slug.eq(&form.slug),
        services::status.eq(row.status.as_str()),
        services::name.eq(&form.content.name),
        services::free.eq(form.content.free),
        services::digital.eq(form.content.is_digital()),
        services::statewide.eq(form.municipalities.is_empty()),
        services::content.eq(content),
        services::fingerprint.eq(row.fingerprint),
        services::source.eq(source.map(|s| s.source.clone())),
        services::external_id.eq(source.map(|s| s.external_id.clone())),
        services::source_url.eq(source.and_then(|s| s.url.clone())),
        services::source_updated_at.eq(source.and_then(|s| s.updated_at)),
        services::published_at.eq(row.published_at),
    );
    let organization_id = organization_id_by_slug(conn, &form.organization).await?;
    match id {
        Some(id) => {
            diesel::update(services::table.find(id))
                .set((
                    values,
                    services::organization_id.eq(organization_id),
                    services::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            Ok(id)
        }
        None => Ok(diesel::insert_into(services::table)
            .values((values, services::organization_id.eq(organization_id)))
            .returning(services::id)
            .get_result(conn)
            .await?),
    }
}

/// Replaces the `(service_id, $column)` rows of a link table with the given values.
macro_rules! replace_rows {
    ($conn:expr, $table:ident, $column:ident, $id:expr, $values:expr) => {{
        diesel::delete($table::table.filter($table::service_id.eq($id)))
            .execute($conn)
            .await?;
        let rows: Vec<_> = $values
            .into_iter()
            .map(|value| ($table::service_id.eq($id), $table::$column.eq(value)))
            .collect();
        diesel::insert_into($table::table)
            .values(rows)
            .execute($conn)
            .await?;
    }};
}

pub(crate) async fn replace_links(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    form: &ServiceForm,
    topic_ids: &[Uuid],
    life_event_ids: &[Uuid],
) -> Result<(), StoreError> {
    replace_rows!(
        conn,
        service_topics,
        topic_id,
        id,
        topic_ids.iter().copied()
    );
    replace_rows!(
        conn,
        service_life_events,
        life_event_id,
        id,
        life_event_ids.iter().copied()
    );
    let mut segments: Vec<&str> = form.segments.iter().map(|s| s.code()).collect();
    segments.sort_unstable();
    segments.dedup();
    replace_rows!(conn, service_segments, segment_code, id, segments);
    let channel_types: Vec<&str> = form
        .content
        .channel_types()
        .iter()
        .map(|c| c.code())
        .collect();
    replace_rows!(conn, service_channel_types, channel_type, id, channel_types);
    let mut municipality_codes = form.municipalities.clone();
    municipality_codes.sort_unstable();
    municipality_codes.dedup();
    replace_rows!(
        conn,
        service_municipalities,
        ibge_code,
        id,
        municipality_codes
    );

    let mut location_ids: Vec<Uuid> = Vec::new();
    for location in &form.locations {
        if !location_ids.contains(location) {
            location_ids.push(*location);
        }
    }
    diesel::delete(service_locations::table.filter(service_locations::service_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::insert_into(service_locations::table)
        .values(
            location_ids
                .iter()
                .zip(0..)
                .map(|(l, position)| {
                    (
                        service_locations::service_id.eq(id),
                        service_locations::location_id.eq(*l),
                        service_locations::position.eq(position),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the related services of a service to the given slugs, in order; writes only when they
/// differ. Returns the slugs that name no stored service (they are skipped).
pub async fn save_related_services(
    conn: &mut AsyncPgConnection,
    service_id: Uuid,
    slugs: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut wanted: Vec<Uuid> = Vec::new();
    let mut missing = Vec::new();
    for slug in slugs {
        let single = std::slice::from_ref(slug);
        match ids_by_slug(conn, "service", single, SlugTable::Services).await {
            Ok(ids) => wanted.extend(ids),
            Err(StoreError::MissingReference { .. }) => missing.push(slug.clone()),
            Err(other) => return Err(other),
        }
    }
    save_related_service_ids(conn, service_id, &wanted).await?;
    Ok(missing)
}

/// Sets the related services of a service to the given ids, in order and in one transaction;
/// writes only when they differ.
pub async fn save_related_service_ids(
    conn: &mut AsyncPgConnection,
    service_id: Uuid,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    let mut wanted: Vec<Uuid> = Vec::new();
    for id in ids {
        if *id != service_id && !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    conn.transaction::<_, StoreError, _>(async |conn| {
        let current: Vec<Uuid> = related_services::table
            .filter(related_services::service_id.eq(service_id))
            .order(related_services::position.asc())
            .select(related_services::related_id)
            .load(conn)
            .await?;
        if current == wanted {
            return Ok(());
        }
        diesel::delete(related_services::table.filter(related_services::service_id.eq(service_id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = wanted
            .iter()
            .zip(0..)
            .map(|(related, position)| {
                (
                    related_services::service_id.eq(service_id),
                    related_services::related_id.eq(*related),
                    related_services::position.eq(position),
                )
            })
            .collect();
        diesel::insert_into(related_services::table)
            .values(rows)
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Inserts a topic unless one with its slug exists (imports never rename or move a topic).
async fn ensure_topic(conn: &mut AsyncPgConnection, draft: &TopicDraft) -> Result<(), StoreError> {
    diesel::insert_into(topics::table)
        .values((
            topics::slug.eq(&draft.slug),
            topics::name.eq(&draft.name),
            topics::description.eq(&draft.description),
        ))
        .on_conflict(topics::slug)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// A slug free for a record identified elsewhere by `code`: `slug`, or `slug-code` when another
/// record holds it.
async fn free_organization_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
    siorg: Option<&str>,
) -> Result<String, StoreError> {
    let holder: Option<Option<String>> = organizations::table
        .filter(organizations::slug.eq(slug))
        .select(organizations::siorg_code)
        .first(conn)
        .await
        .optional()?;
    Ok(match (holder, siorg) {
        (Some(held_by), Some(code)) if held_by.as_deref() != Some(code) => format!("{slug}-{code}"),
        _ => slug.to_owned(),
    })
}

/// Saves an organization from a federated source, matched by SIORG code. `overwrite` as in
/// `save_organization`.
pub async fn save_federated_organization(
    conn: &mut AsyncPgConnection,
    draft: &OrganizationDraft,
    overwrite: bool,
) -> Result<(Uuid, String), StoreError> {
    let mut draft = draft.clone();
    draft.slug = free_organization_slug(conn, &draft.slug, draft.codes.siorg.as_deref()).await?;
    save_organization(conn, &draft, OrganizationKey::Siorg, overwrite).await
}

/// Saves one imported service with its provider and topics, all or nothing: a bad record never
/// leaves half a service. The provider is matched by SIORG code and left as it is when known; the
/// slug is chosen as for a feed record (see [`crate::federation::service_slug`]).
pub async fn save_imported_service(
    conn: &mut AsyncPgConnection,
    organization: &OrganizationDraft,
    topic_drafts: &[TopicDraft],
    draft: &ServiceDraft,
) -> Result<Saved, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        let (_, organization_slug) = save_federated_organization(conn, organization, false).await?;
        for topic in topic_drafts {
            ensure_topic(conn, topic).await?;
        }
        let mut draft = draft.clone();
        draft.form.organization = organization_slug;
        if let Some(source) = &draft.source {
            draft.form.slug =
                crate::federation::service_slug(conn, source, &draft.form.slug).await?;
        }
        save_service_in_transaction(conn, &draft).await
    })
    .await
}
