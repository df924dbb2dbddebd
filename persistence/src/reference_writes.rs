//! The write side of the reference data: organizations, topics, life events, search synonym
//! groups and municipalities (admins) and service units (editors of their organization). Like a service's changes, each
//! write is one transaction that locks the record's row (`FOR UPDATE`), compares the version the
//! client read (its `ETag`), checks every reference at once, writes, and records the change in the
//! audit log.
//!
//! Deletes refuse (`InUse`) while anything still refers to the record, including the editable
//! version of a service (its newest revision), rather than let a foreign key fail or cascade and
//! drop a link silently. Locking the row `FOR UPDATE` first also holds off writers that would add
//! a reference meanwhile: their foreign key check waits for this transaction.
//!
//! The seed and importers save the same records by natural key (`crate::writes`); both share the
//! column lists (`OrganizationValues`, `LocationValues`, `MunicipalityValues`).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::organization::{Organization, OrganizationDraft};
use domain::place::{GeoPoint, Location, LocationDraft, Municipality};
use domain::revision::changed_fields;
use domain::search::{terms_in_other_groups, SynonymGroupDetail, SynonymGroupDraft};
use domain::taxonomy::{LifeEvent, LifeEventDraft, TaxonRef, TopicDetail, TopicDraft};
use domain::validation::{Errors, FieldError};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

pub use crate::editing::Actor;
use crate::reads::find_id;
use crate::rows::{LocationRow, MunicipalityRow, OrganizationRow};
use crate::schema::{
    api_clients, life_events, locations, municipalities, organizations, search_synonyms,
    service_life_events, service_topics, services, topics,
};
use crate::writes::{fingerprint, LocationValues, MunicipalityValues, OrganizationValues};
use crate::{audit, StoreError};

// ----- Versions -----

/// The version of a record with an `updated_at` column, as its `ETag` carries it: that instant in
/// microseconds. Every write here moves it forward by at least a microsecond, so two states of a
/// record never share a version.
///
/// Values derived from other records and shown with it (an organization's or a topic's
/// `service_count`, the names of its parent, organization or municipality) are not part of the
/// version: they change without the record changing, and no client edits them through it.
pub fn timestamp_version(updated_at: DateTime<Utc>) -> String {
    updated_at.timestamp_micros().to_string()
}

/// The version of a municipality, which has no `updated_at`: a hash of the municipality as the
/// public reads it, so it changes exactly when the municipality does.
pub fn municipality_version(municipality: &Municipality) -> String {
    fingerprint(municipality)[..32].to_owned()
}

/// `updated_at` for a write: now, but always after the previous one (the clock may step back).
fn next_timestamp(previous: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    // Stored with microseconds: compare at that precision.
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    now.max(previous + TimeDelta::microseconds(1))
}

/// Whether the version a client read (any of the tags its `If-Match` lists) is the current one.
fn check_version(expected: &[String], current: &str) -> Result<(), WriteError> {
    if expected.iter().any(|tag| tag == current) {
        Ok(())
    } else {
        Err(WriteError::Stale)
    }
}

/// A record with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub item: T,
    pub version: String,
}

// ----- Errors -----

/// Records of one kind that still refer to a record being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// What refers to it, in pt-BR: `serviços`, `unidades de atendimento`.
    pub what: &'static str,
    pub count: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such record")]
    NotFound,
    #[error("the record changed since it was read")]
    Stale,
    /// Replacing a record that exists needs the version the client read.
    #[error("a version is required to replace an existing record")]
    VersionRequired,
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// Other records still refer to it; empty when a foreign key refused the write.
    #[error("still referred to")]
    InUse(Vec<Usage>),
}

fn field(pointer: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// The field a uniqueness constraint guards, with the message for a value another record holds.
fn taken(constraint: &str) -> Option<FieldError> {
    let (pointer, message) = match constraint {
        "organizations_slug_key" => ("/slug", "Outro órgão já usa este identificador (slug)."),
        "organizations_siorg_code_key" => ("/codes/siorg", "Outro órgão já tem este código SIORG."),
        "organizations_cnpj_key" => ("/codes/cnpj", "Outro órgão já tem este CNPJ."),
        "topics_slug_key" => ("/slug", "Outro tema já usa este identificador (slug)."),
        "life_events_slug_key" => (
            "/slug",
            "Outro evento da vida já usa este identificador (slug).",
        ),
        "locations_pkey" => ("/id", "Já existe uma unidade de atendimento com este id."),
        _ => return None,
    };
    Some(field(pointer, "taken", message))
}

impl From<diesel::result::Error> for WriteError {
    fn from(error: diesel::result::Error) -> Self {
        // The checks above every write find these first; the constraints only answer when another
        // writer got in between, and then say the same thing.
        match StoreError::from(error) {
            StoreError::ForeignKey(_) => WriteError::InUse(Vec::new()),
            StoreError::Conflict(constraint) => match taken(&constraint) {
                Some(field) => WriteError::Invalid(vec![field]),
                None => WriteError::Store(StoreError::Conflict(constraint)),
            },
            other => WriteError::Store(other),
        }
    }
}

// ----- Shared steps -----

/// Top-level fields that differ between two states (all of them for a new record).
fn changes<T: Serialize>(before: Option<&T>, after: &T) -> Result<Vec<String>, StoreError> {
    let before = match before {
        Some(before) => serde_json::to_value(before)?,
        None => json!({}),
    };
    Ok(changed_fields(&before, &serde_json::to_value(after)?))
}

fn usage(usages: &mut Vec<Usage>, what: &'static str, count: i64) {
    if count > 0 {
        usages.push(Usage { what, count });
    }
}

fn refuse_if_used(usages: Vec<Usage>) -> Result<(), WriteError> {
    if usages.is_empty() {
        Ok(())
    } else {
        Err(WriteError::InUse(usages))
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

/// The part of a service's reference checks that looks at its editable version: the newest
/// revision's form.
const IN_EDITABLE_FORM: &str = "EXISTS (SELECT 1 FROM service_revisions r \
     WHERE r.service_id = s.id AND r.number = s.revision AND r.form";

/// Services that link a record (by id, in `link_table`) or whose editable version names it (in
/// the form's array `member`, by `key`).
async fn services_naming(
    conn: &mut AsyncPgConnection,
    link_table: &'static str,
    link_column: &'static str,
    member: &'static str,
    id: Uuid,
    key: &str,
) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT count(*) AS value FROM services s \
         WHERE EXISTS (SELECT 1 FROM {link_table} l WHERE l.service_id = s.id AND l.{link_column} = $1) \
         OR {IN_EDITABLE_FORM} -> '{member}' @> jsonb_build_array($2::text))"
    );
    Ok(diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Text, _>(key)
        .get_result::<Count>(conn)
        .await?
        .value)
}

/// Serializes changes of parents in one tree, so two concurrent moves cannot close a cycle that
/// neither sees alone.
async fn lock_tree(conn: &mut AsyncPgConnection, tree: &str) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(tree)
        .execute(conn)
        .await?;
    Ok(())
}

/// The id of the parent a record of a tree (`organizations`, `topics`) names by slug, checked: it
/// must exist (KEY SHARE: it cannot be deleted before this transaction ends), and must not be the
/// record itself or below it. Problems go to `errors`, on `/parent`.
macro_rules! checked_parent {
    ($conn:expr, $table:ident, $errors:expr, $parent:expr, $own:expr, $what:literal, $cycle:literal) => {{
        let mut parent_id: Option<Uuid> = None;
        if let Some(parent) = $parent {
            let found: Option<Uuid> = $table::table
                .filter($table::slug.eq(parent))
                .select($table::id)
                .for_key_share()
                .first($conn)
                .await
                .optional()?;
            match (found, $own) {
                (None, _) => $errors.add(
                    "/parent",
                    "unknown",
                    format!(concat!("O ", $what, " `{}` não existe."), parent),
                ),
                (Some(found), Some(own)) => {
                    let parents: HashMap<Uuid, Option<Uuid>> = $table::table
                        .select(($table::id, $table::parent_id))
                        .load::<(Uuid, Option<Uuid>)>($conn)
                        .await?
                        .into_iter()
                        .collect();
                    if is_at_or_above(&parents, found, own) {
                        $errors.add("/parent", "invalid", $cycle);
                    }
                    parent_id = Some(found);
                }
                (Some(found), None) => parent_id = Some(found),
            }
        }
        parent_id
    }};
}

/// Whether `node` is `start` or one of its ancestors, in a tree of `id → parent`.
fn is_at_or_above(parents: &HashMap<Uuid, Option<Uuid>>, start: Uuid, node: Uuid) -> bool {
    let mut current = Some(start);
    // Bounded by the tree's size, should the stored tree already hold a cycle.
    for _ in 0..=parents.len() {
        match current {
            Some(id) if id == node => return true,
            Some(id) => current = parents.get(&id).copied().flatten(),
            None => return false,
        }
    }
    false
}

async fn municipality_exists(conn: &mut AsyncPgConnection, code: i32) -> Result<bool, StoreError> {
    // KEY SHARE: it cannot be deleted before this transaction ends.
    let found: Option<i32> = municipalities::table
        .find(code)
        .select(municipalities::ibge_code)
        .for_key_share()
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

// ----- Organizations -----

/// An organization's id by id or slug.
pub use crate::editing::organization_id;

async fn organization_draft_of(
    conn: &mut AsyncPgConnection,
    row: OrganizationRow,
) -> Result<OrganizationDraft, StoreError> {
    let parent = match row.parent_id {
        Some(id) => Some(
            organizations::table
                .find(id)
                .select(organizations::slug)
                .first::<String>(conn)
                .await?,
        ),
        None => None,
    };
    let organization = row.into_organization(None, 0)?;
    Ok(OrganizationDraft {
        slug: organization.slug,
        name: organization.name,
        acronym: organization.acronym,
        kind: organization.kind,
        sphere: organization.sphere,
        branch: organization.branch,
        parent,
        codes: organization.codes,
        description: organization.description,
        contact: organization.contact,
        website: organization.website,
        ombudsman_url: organization.ombudsman_url,
        source: None,
    })
}

/// An organization as written (its parent by slug), with its version: what a merge patch applies
/// to. `source` is left out: it is provenance, kept by imports.
pub async fn organization_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Versioned<OrganizationDraft>>, StoreError> {
    let row: Option<OrganizationRow> = organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let version = timestamp_version(row.updated_at);
    Ok(Some(Versioned {
        item: organization_draft_of(conn, row).await?,
        version,
    }))
}

/// The organization as the public reads it, with its version.
pub async fn find_organization(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Versioned<Organization>>, StoreError> {
    Ok(crate::reads::find_organization(conn, key)
        .await?
        .map(|item| Versioned {
            version: timestamp_version(item.updated_at),
            item,
        }))
}

async fn read_organization(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Versioned<Organization>, WriteError> {
    find_organization(conn, &id.to_string())
        .await?
        .ok_or(WriteError::NotFound)
}

/// Checks what an organization refers to and the codes only one may hold, every problem at once;
/// returns its parent's id.
async fn resolve_organization(
    conn: &mut AsyncPgConnection,
    draft: &OrganizationDraft,
    own: Option<Uuid>,
) -> Result<Option<Uuid>, WriteError> {
    let mut errors = Errors::default();
    let holder = organization_id(conn, &draft.slug).await?;
    if holder.is_some() && holder != own {
        errors.add(
            "/slug",
            "taken",
            "Outro órgão já usa este identificador (slug).",
        );
    }
    if let Some(siorg) = &draft.codes.siorg {
        let holder: Option<Uuid> = organizations::table
            .filter(organizations::siorg_code.eq(siorg))
            .select(organizations::id)
            .first(conn)
            .await
            .optional()?;
        if holder.is_some() && holder != own {
            errors.add(
                "/codes/siorg",
                "taken",
                "Outro órgão já tem este código SIORG.",
            );
        }
    }
    if let Some(cnpj) = &draft.codes.cnpj {
        let holder: Option<Uuid> = organizations::table
            .filter(organizations::cnpj.eq(cnpj))
            .select(organizations::id)
            .first(conn)
            .await
            .optional()?;
        if holder.is_some() && holder != own {
            errors.add("/codes/cnpj", "taken", "Outro órgão já tem este CNPJ.");
        }
    }
    if let Some(code) = draft.codes.ibge {
        if !municipality_exists(conn, code).await? {
            errors.add(
                "/codes/ibge",
                "unknown",
                format!("O município de código IBGE {code} não existe."),
            );
        }
    }
    let parent_id = checked_parent!(
        conn,
        organizations,
        &mut errors,
        draft.parent.as_deref(),
        own,
        "órgão",
        "Um órgão não pode ficar abaixo de si mesmo nem de um órgão subordinado a ele."
    );
    errors.into_result().map_err(WriteError::Invalid)?;
    Ok(parent_id)
}

/// Creates an organization. Created through here it has no `source` (provenance).
pub async fn create_organization(
    conn: &mut AsyncPgConnection,
    draft: &OrganizationDraft,
    actor: Actor<'_>,
) -> Result<Versioned<Organization>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let parent_id = resolve_organization(conn, draft, None).await?;
        let mut stored = draft.clone();
        stored.source = None;
        let id: Uuid = diesel::insert_into(organizations::table)
            .values((
                organizations::slug.eq(&draft.slug),
                OrganizationValues::of(&stored, parent_id),
            ))
            .returning(organizations::id)
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "organization.create",
                target_type: "organization",
                target_id: &id.to_string(),
                organization_id: Some(id),
                detail: json!({ "slug": draft.slug, "changed_fields": changes(None, &stored)? }),
            },
        )
        .await?;
        read_organization(conn, id).await
    })
    .await
}

/// Replaces an organization if it is still at an `expected` version. Its `source` stays. A write
/// that changes nothing keeps the version and records nothing.
pub async fn update_organization(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    draft: &OrganizationDraft,
    actor: Actor<'_>,
) -> Result<Versioned<Organization>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: OrganizationRow = organizations::table
            .find(id)
            .select(OrganizationRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(row.updated_at))?;
        let previous = row.updated_at;
        let before = organization_draft_of(conn, row).await?;
        if draft.parent.is_some() {
            lock_tree(conn, "organizations.parent_id").await?;
        }
        let parent_id = resolve_organization(conn, draft, Some(id)).await?;
        let mut stored = draft.clone();
        stored.source = None;
        let changed = changes(Some(&before), &stored)?;
        if !changed.is_empty() {
            stored.source = organizations::table
                .find(id)
                .select(organizations::source)
                .first(conn)
                .await?;
            diesel::update(organizations::table.find(id))
                .set((
                    organizations::slug.eq(&draft.slug),
                    OrganizationValues::of(&stored, parent_id),
                    organizations::updated_at.eq(next_timestamp(previous)),
                ))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action: "organization.update",
                    target_type: "organization",
                    target_id: &id.to_string(),
                    organization_id: Some(id),
                    detail: json!({ "slug": draft.slug, "changed_fields": changed }),
                },
            )
            .await?;
        }
        read_organization(conn, id).await
    })
    .await
}

/// Deletes an organization nothing refers to any more: no service (nor a service's editable
/// version), service unit, subordinate organization or API client.
pub async fn delete_organization(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: OrganizationRow = organizations::table
            .find(id)
            .select(OrganizationRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(row.updated_at))?;
        let mut usages = Vec::new();
        let sql = format!(
            "SELECT count(*) AS value FROM services s WHERE s.organization_id = $1 \
             OR {IN_EDITABLE_FORM} ->> 'organization' IN ($2, $1::text))"
        );
        let services: Count = diesel::sql_query(sql)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .bind::<diesel::sql_types::Text, _>(&row.slug)
            .get_result(conn)
            .await?;
        usage(&mut usages, "serviços", services.value);
        let units: i64 = locations::table
            .filter(locations::organization_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "unidades de atendimento", units);
        let children: i64 = organizations::table
            .filter(organizations::parent_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "órgãos subordinados", children);
        let clients: i64 = api_clients::table
            .filter(api_clients::organization_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "clientes da API", clients);
        refuse_if_used(usages)?;
        diesel::delete(organizations::table.find(id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "organization.delete",
                target_type: "organization",
                target_id: &id.to_string(),
                organization_id: Some(id),
                detail: json!({ "slug": row.slug, "name": row.name }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

// ----- Topics -----

type TopicColumns = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<Uuid>,
    DateTime<Utc>,
);

macro_rules! topic_columns {
    () => {
        (
            topics::id,
            topics::slug,
            topics::name,
            topics::description,
            topics::parent_id,
            topics::updated_at,
        )
    };
}

/// A topic's id by id or slug.
pub async fn topic_id(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<Uuid>, StoreError> {
    Ok(find_id!(conn, topics, key)?)
}

async fn taxon_ref(conn: &mut AsyncPgConnection, id: Uuid) -> Result<TaxonRef, StoreError> {
    let (id, slug, name) = topics::table
        .find(id)
        .select((topics::id, topics::slug, topics::name))
        .first::<(Uuid, String, String)>(conn)
        .await?;
    Ok(TaxonRef { id, slug, name })
}

/// A topic with its parent, children and published-service tags (its subtree's, as in the tree).
pub async fn find_topic(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Versioned<TopicDetail>>, StoreError> {
    let Some(id) = topic_id(conn, key).await? else {
        return Ok(None);
    };
    let row: Option<TopicColumns> = topics::table
        .find(id)
        .select(topic_columns!())
        .first(conn)
        .await
        .optional()?;
    let Some((id, slug, name, description, parent_id, updated_at)) = row else {
        return Ok(None);
    };
    let parent = match parent_id {
        Some(parent) => Some(taxon_ref(conn, parent).await?),
        None => None,
    };
    let children = topics::table
        .filter(topics::parent_id.eq(id))
        .select((topics::id, topics::slug, topics::name))
        .order((topics::name.asc(), topics::id.asc()))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(|(id, slug, name)| TaxonRef { id, slug, name })
        .collect();
    let subtree = crate::reads::topic_subtree(conn, &[id]).await?;
    let service_count: i64 = service_topics::table
        .inner_join(services::table)
        .filter(services::status.eq("published"))
        .filter(service_topics::topic_id.eq_any(&subtree))
        // A service tagged with two topics of the subtree is one service.
        .select(diesel::dsl::count(service_topics::service_id).aggregate_distinct())
        .get_result(conn)
        .await?;
    Ok(Some(Versioned {
        version: timestamp_version(updated_at),
        item: TopicDetail {
            id,
            slug,
            name,
            description,
            parent,
            children,
            service_count,
            updated_at,
        },
    }))
}

async fn read_topic(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Versioned<TopicDetail>, WriteError> {
    find_topic(conn, &id.to_string())
        .await?
        .ok_or(WriteError::NotFound)
}

async fn topic_draft_of(
    conn: &mut AsyncPgConnection,
    (_, slug, name, description, parent_id, _): TopicColumns,
) -> Result<TopicDraft, StoreError> {
    let parent = match parent_id {
        Some(parent) => Some(taxon_ref(conn, parent).await?.slug),
        None => None,
    };
    Ok(TopicDraft {
        slug,
        name,
        description,
        parent,
    })
}

/// A topic as written (its parent by slug), with its version.
pub async fn topic_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Versioned<TopicDraft>>, StoreError> {
    let row: Option<TopicColumns> = topics::table
        .find(id)
        .select(topic_columns!())
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let version = timestamp_version(row.5);
    Ok(Some(Versioned {
        item: topic_draft_of(conn, row).await?,
        version,
    }))
}

/// Checks a topic's slug and parent, every problem at once; returns the parent's id.
async fn resolve_topic(
    conn: &mut AsyncPgConnection,
    draft: &TopicDraft,
    own: Option<Uuid>,
) -> Result<Option<Uuid>, WriteError> {
    let mut errors = Errors::default();
    let holder = topic_id(conn, &draft.slug).await?;
    if holder.is_some() && holder != own {
        errors.add(
            "/slug",
            "taken",
            "Outro tema já usa este identificador (slug).",
        );
    }
    let parent_id = checked_parent!(
        conn,
        topics,
        &mut errors,
        draft.parent.as_deref(),
        own,
        "tema",
        "Um tema não pode ficar abaixo de si mesmo nem de um de seus subtemas."
    );
    errors.into_result().map_err(WriteError::Invalid)?;
    Ok(parent_id)
}

pub async fn create_topic(
    conn: &mut AsyncPgConnection,
    draft: &TopicDraft,
    actor: Actor<'_>,
) -> Result<Versioned<TopicDetail>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let parent_id = resolve_topic(conn, draft, None).await?;
        let id: Uuid = diesel::insert_into(topics::table)
            .values((
                topics::slug.eq(&draft.slug),
                topics::name.eq(&draft.name),
                topics::description.eq(&draft.description),
                topics::parent_id.eq(parent_id),
            ))
            .returning(topics::id)
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "topic.create",
                target_type: "topic",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "slug": draft.slug, "changed_fields": changes(None, draft)? }),
            },
        )
        .await?;
        read_topic(conn, id).await
    })
    .await
}

/// Replaces a topic if it is still at an `expected` version; a move under one of its own
/// sub-topics is refused. A write that changes nothing keeps the version and records nothing.
pub async fn update_topic(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    draft: &TopicDraft,
    actor: Actor<'_>,
) -> Result<Versioned<TopicDetail>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: TopicColumns = topics::table
            .find(id)
            .select(topic_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        let previous = row.5;
        check_version(expected, &timestamp_version(previous))?;
        let before = topic_draft_of(conn, row).await?;
        if draft.parent.is_some() {
            lock_tree(conn, "topics.parent_id").await?;
        }
        let parent_id = resolve_topic(conn, draft, Some(id)).await?;
        let changed = changes(Some(&before), draft)?;
        if !changed.is_empty() {
            diesel::update(topics::table.find(id))
                .set((
                    topics::slug.eq(&draft.slug),
                    topics::name.eq(&draft.name),
                    topics::description.eq(&draft.description),
                    topics::parent_id.eq(parent_id),
                    topics::updated_at.eq(next_timestamp(previous)),
                ))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action: "topic.update",
                    target_type: "topic",
                    target_id: &id.to_string(),
                    organization_id: None,
                    detail: json!({ "slug": draft.slug, "changed_fields": changed }),
                },
            )
            .await?;
        }
        read_topic(conn, id).await
    })
    .await
}

/// Deletes a topic without sub-topics that no service (nor a service's editable version) names.
pub async fn delete_topic(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: TopicColumns = topics::table
            .find(id)
            .select(topic_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(row.5))?;
        let slug = row.1;
        let mut usages = Vec::new();
        let children: i64 = topics::table
            .filter(topics::parent_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "subtemas", children);
        let services =
            services_naming(conn, "service_topics", "topic_id", "topics", id, &slug).await?;
        usage(&mut usages, "serviços", services);
        refuse_if_used(usages)?;
        diesel::delete(topics::table.find(id)).execute(conn).await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "topic.delete",
                target_type: "topic",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "slug": slug, "name": row.2 }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

// ----- Life events -----

type LifeEventColumns = (Uuid, String, String, Option<String>, DateTime<Utc>);

macro_rules! life_event_columns {
    () => {
        (
            life_events::id,
            life_events::slug,
            life_events::name,
            life_events::description,
            life_events::updated_at,
        )
    };
}

/// A life event's id by id or slug.
pub async fn life_event_id(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(find_id!(conn, life_events, key)?)
}

/// A life event with its published services, as listed.
pub async fn find_life_event(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<Versioned<LifeEvent>>, StoreError> {
    let Some(id) = life_event_id(conn, key).await? else {
        return Ok(None);
    };
    let row: Option<LifeEventColumns> = life_events::table
        .find(id)
        .select(life_event_columns!())
        .first(conn)
        .await
        .optional()?;
    let Some((id, slug, name, description, updated_at)) = row else {
        return Ok(None);
    };
    let service_count: i64 = service_life_events::table
        .inner_join(services::table)
        .filter(services::status.eq("published"))
        .filter(service_life_events::life_event_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    Ok(Some(Versioned {
        version: timestamp_version(updated_at),
        item: LifeEvent {
            id,
            slug,
            name,
            description,
            service_count,
            updated_at,
        },
    }))
}

async fn read_life_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Versioned<LifeEvent>, WriteError> {
    find_life_event(conn, &id.to_string())
        .await?
        .ok_or(WriteError::NotFound)
}

/// A life event as written, with its version.
pub async fn life_event_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Versioned<LifeEventDraft>>, StoreError> {
    let row: Option<LifeEventColumns> = life_events::table
        .find(id)
        .select(life_event_columns!())
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(_, slug, name, description, updated_at)| Versioned {
            item: LifeEventDraft {
                slug,
                name,
                description,
            },
            version: timestamp_version(updated_at),
        }),
    )
}

async fn ensure_life_event_slug_free(
    conn: &mut AsyncPgConnection,
    slug: &str,
    own: Option<Uuid>,
) -> Result<(), WriteError> {
    let holder = life_event_id(conn, slug).await?;
    if holder.is_some() && holder != own {
        return Err(WriteError::Invalid(
            taken("life_events_slug_key").into_iter().collect(),
        ));
    }
    Ok(())
}

pub async fn create_life_event(
    conn: &mut AsyncPgConnection,
    draft: &LifeEventDraft,
    actor: Actor<'_>,
) -> Result<Versioned<LifeEvent>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        ensure_life_event_slug_free(conn, &draft.slug, None).await?;
        let id: Uuid = diesel::insert_into(life_events::table)
            .values((
                life_events::slug.eq(&draft.slug),
                life_events::name.eq(&draft.name),
                life_events::description.eq(&draft.description),
            ))
            .returning(life_events::id)
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "life_event.create",
                target_type: "life_event",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "slug": draft.slug, "changed_fields": changes(None, draft)? }),
            },
        )
        .await?;
        read_life_event(conn, id).await
    })
    .await
}

/// Replaces a life event if it is still at an `expected` version. A write that changes nothing
/// keeps the version and records nothing.
pub async fn update_life_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    draft: &LifeEventDraft,
    actor: Actor<'_>,
) -> Result<Versioned<LifeEvent>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let (_, slug, name, description, previous): LifeEventColumns = life_events::table
            .find(id)
            .select(life_event_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(previous))?;
        ensure_life_event_slug_free(conn, &draft.slug, Some(id)).await?;
        let before = LifeEventDraft {
            slug,
            name,
            description,
        };
        let changed = changes(Some(&before), draft)?;
        if !changed.is_empty() {
            diesel::update(life_events::table.find(id))
                .set((
                    life_events::slug.eq(&draft.slug),
                    life_events::name.eq(&draft.name),
                    life_events::description.eq(&draft.description),
                    life_events::updated_at.eq(next_timestamp(previous)),
                ))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action: "life_event.update",
                    target_type: "life_event",
                    target_id: &id.to_string(),
                    organization_id: None,
                    detail: json!({ "slug": draft.slug, "changed_fields": changed }),
                },
            )
            .await?;
        }
        read_life_event(conn, id).await
    })
    .await
}

/// Deletes a life event no service (nor a service's editable version) names.
pub async fn delete_life_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let (_, slug, name, _, updated_at): LifeEventColumns = life_events::table
            .find(id)
            .select(life_event_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(updated_at))?;
        let services = services_naming(
            conn,
            "service_life_events",
            "life_event_id",
            "life_events",
            id,
            &slug,
        )
        .await?;
        let mut usages = Vec::new();
        usage(&mut usages, "serviços", services);
        refuse_if_used(usages)?;
        diesel::delete(life_events::table.find(id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "life_event.delete",
                target_type: "life_event",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "slug": slug, "name": name }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

// ----- Municipalities -----

/// A municipality with its version.
pub async fn find_municipality(
    conn: &mut AsyncPgConnection,
    ibge_code: i32,
) -> Result<Option<Versioned<Municipality>>, StoreError> {
    let row: Option<MunicipalityRow> = municipalities::table
        .find(ibge_code)
        .select(MunicipalityRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|row| {
        let item = Municipality::from(row);
        Versioned {
            version: municipality_version(&item),
            item,
        }
    }))
}

/// Whether a `put_municipality` created the municipality or replaced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    Replaced,
}

/// Stores a municipality under its IBGE code: creates it when absent and no version is expected,
/// replaces it when present and still at an `expected` version. A version expected of a
/// municipality that does not exist (any more) is stale; replacing one without a version is
/// refused (`VersionRequired`).
pub async fn put_municipality(
    conn: &mut AsyncPgConnection,
    municipality: &Municipality,
    expected: Option<&[String]>,
    actor: Actor<'_>,
) -> Result<(Put, Versioned<Municipality>), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let code = municipality.ibge_code;
        let row: Option<MunicipalityRow> = municipalities::table
            .find(code)
            .select(MunicipalityRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let (put, action, changed) = match row {
            None => {
                if expected.is_some() {
                    return Err(WriteError::Stale);
                }
                let inserted = diesel::insert_into(municipalities::table)
                    .values(MunicipalityValues::of(municipality))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                if inserted == 0 {
                    // Another writer created it meanwhile: what this client saw (nothing) is stale.
                    return Err(WriteError::Stale);
                }
                (
                    Put::Created,
                    "municipality.create",
                    changes(None, municipality)?,
                )
            }
            Some(row) => {
                let expected = expected.ok_or(WriteError::VersionRequired)?;
                let current = Municipality::from(row);
                check_version(expected, &municipality_version(&current))?;
                let changed = changes(Some(&current), municipality)?;
                if !changed.is_empty() {
                    diesel::update(municipalities::table.find(code))
                        .set(MunicipalityValues::of(municipality))
                        .execute(conn)
                        .await?;
                }
                (Put::Replaced, "municipality.update", changed)
            }
        };
        if !changed.is_empty() {
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action,
                    target_type: "municipality",
                    target_id: &code.to_string(),
                    organization_id: None,
                    detail: json!({ "name": municipality.name, "changed_fields": changed }),
                },
            )
            .await?;
        }
        let stored = find_municipality(conn, code)
            .await?
            .ok_or(WriteError::NotFound)?;
        Ok((put, stored))
    })
    .await
}

/// Deletes a municipality no organization, service unit or service (nor a service's editable
/// version) refers to.
pub async fn delete_municipality(
    conn: &mut AsyncPgConnection,
    ibge_code: i32,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: MunicipalityRow = municipalities::table
            .find(ibge_code)
            .select(MunicipalityRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        let current = Municipality::from(row);
        check_version(expected, &municipality_version(&current))?;
        let mut usages = Vec::new();
        let organizations: i64 = organizations::table
            .filter(organizations::ibge_code.eq(ibge_code))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "órgãos", organizations);
        let units: i64 = locations::table
            .filter(locations::municipality.eq(ibge_code))
            .count()
            .get_result(conn)
            .await?;
        usage(&mut usages, "unidades de atendimento", units);
        let sql = format!(
            "SELECT count(*) AS value FROM services s \
             WHERE EXISTS (SELECT 1 FROM service_municipalities l \
                 WHERE l.service_id = s.id AND l.ibge_code = $1) \
             OR {IN_EDITABLE_FORM} -> 'municipalities' @> jsonb_build_array($1))"
        );
        let services: Count = diesel::sql_query(sql)
            .bind::<diesel::sql_types::Integer, _>(ibge_code)
            .get_result(conn)
            .await?;
        usage(&mut usages, "serviços", services.value);
        refuse_if_used(usages)?;
        diesel::delete(municipalities::table.find(ibge_code))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "municipality.delete",
                target_type: "municipality",
                target_id: &ibge_code.to_string(),
                organization_id: None,
                detail: json!({ "name": current.name, "state": current.state }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

// ----- Service units -----

/// The organization that runs a service unit.
pub async fn location_organization(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    Ok(locations::table
        .find(id)
        .select(locations::organization_id)
        .first(conn)
        .await
        .optional()?)
}

/// The service unit as the public reads it, with its version.
pub async fn find_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Versioned<Location>>, StoreError> {
    Ok(crate::reads::find_location(conn, id)
        .await?
        .map(|item| Versioned {
            version: timestamp_version(item.updated_at),
            item,
        }))
}

async fn read_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Versioned<Location>, WriteError> {
    find_location(conn, id).await?.ok_or(WriteError::NotFound)
}

type LocationColumns = (LocationRow, Uuid, i32);

/// Its row, organization id and municipality: what the draft is made of.
macro_rules! location_columns {
    () => {
        (
            LocationRow::as_select(),
            locations::organization_id,
            locations::municipality,
        )
    };
}

async fn location_draft_of(
    conn: &mut AsyncPgConnection,
    (row, organization_id, municipality): LocationColumns,
) -> Result<LocationDraft, StoreError> {
    let organization: String = organizations::table
        .find(organization_id)
        .select(organizations::slug)
        .first(conn)
        .await?;
    Ok(LocationDraft {
        id: row.id,
        organization,
        name: row.name,
        address: domain::place::Address {
            street: row.street,
            number: row.number,
            complement: row.complement,
            district: row.district,
            postal_code: row.postal_code,
        },
        municipality,
        point: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
            _ => None,
        },
        opening_hours: serde_json::from_value(row.opening_hours)?,
        phone: row.phone,
        email: row.email,
        accessibility: row.accessibility,
        responsible_sector: row.responsible_sector,
    })
}

/// A service unit as written (its organization by slug), with its version.
pub async fn location_draft(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Versioned<LocationDraft>>, StoreError> {
    let row: Option<LocationColumns> = locations::table
        .find(id)
        .select(location_columns!())
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let version = timestamp_version(row.0.updated_at);
    Ok(Some(Versioned {
        item: location_draft_of(conn, row).await?,
        version,
    }))
}

/// Checks a service unit's references (and, for a new one, that its id is free), every problem
/// at once; returns its organization's id.
async fn resolve_location(
    conn: &mut AsyncPgConnection,
    draft: &LocationDraft,
    creating: bool,
) -> Result<Uuid, WriteError> {
    let mut errors = Errors::default();
    if creating && location_organization(conn, draft.id).await?.is_some() {
        errors.add(
            "/id",
            "taken",
            "Já existe uma unidade de atendimento com este id.",
        );
    }
    // KEY SHARE, as for the municipality: neither can be deleted before this transaction ends.
    let organization_id = match organization_id(conn, &draft.organization).await? {
        Some(id) => organizations::table
            .find(id)
            .select(organizations::id)
            .for_key_share()
            .first::<Uuid>(conn)
            .await
            .optional()?,
        None => None,
    };
    if organization_id.is_none() {
        errors.add(
            "/organization",
            "unknown",
            format!("O órgão `{}` não existe.", draft.organization),
        );
    }
    if !municipality_exists(conn, draft.municipality).await? {
        errors.add(
            "/municipality",
            "unknown",
            format!(
                "O município de código IBGE {} não existe.",
                draft.municipality
            ),
        );
    }
    errors.into_result().map_err(WriteError::Invalid)?;
    organization_id.ok_or(WriteError::NotFound)
}

/// Creates a service unit under the draft's id.
pub async fn create_location(
    conn: &mut AsyncPgConnection,
    draft: &LocationDraft,
    actor: Actor<'_>,
) -> Result<Versioned<Location>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let organization_id = resolve_location(conn, draft, true).await?;
        diesel::insert_into(locations::table)
            .values((
                locations::id.eq(draft.id),
                LocationValues::of(draft, organization_id)?,
            ))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "location.create",
                target_type: "location",
                target_id: &draft.id.to_string(),
                organization_id: Some(organization_id),
                detail: json!({ "name": draft.name, "changed_fields": changes(None, draft)? }),
            },
        )
        .await?;
        read_location(conn, draft.id).await
    })
    .await
}

/// Replaces a service unit (possibly moving it to another organization) if it is still at an
/// `expected` version. A write that changes nothing keeps the version and records nothing.
pub async fn update_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    draft: &LocationDraft,
    actor: Actor<'_>,
) -> Result<Versioned<Location>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let row: LocationColumns = locations::table
            .find(id)
            .select(location_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        let previous = row.0.updated_at;
        let from_organization = row.1;
        check_version(expected, &timestamp_version(previous))?;
        let before = location_draft_of(conn, row).await?;
        let organization_id = resolve_location(conn, draft, false).await?;
        let changed = changes(Some(&before), draft)?;
        if !changed.is_empty() {
            diesel::update(locations::table.find(id))
                .set((
                    LocationValues::of(draft, organization_id)?,
                    locations::updated_at.eq(next_timestamp(previous)),
                ))
                .execute(conn)
                .await?;
            let mut detail = json!({ "name": draft.name, "changed_fields": changed });
            if from_organization != organization_id {
                detail["from_organization_id"] = json!(from_organization);
            }
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action: "location.update",
                    target_type: "location",
                    target_id: &id.to_string(),
                    organization_id: Some(organization_id),
                    detail,
                },
            )
            .await?;
        }
        read_location(conn, id).await
    })
    .await
}

/// Deletes a service unit no service lists, in its public version or its editable one: the
/// link would otherwise vanish with it (`ON DELETE CASCADE`) without anyone deciding so.
pub async fn delete_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let (row, organization_id, _): LocationColumns = locations::table
            .find(id)
            .select(location_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(row.updated_at))?;
        let services = services_naming(
            conn,
            "service_locations",
            "location_id",
            "locations",
            id,
            &id.to_string(),
        )
        .await?;
        let mut usages = Vec::new();
        usage(&mut usages, "serviços", services);
        refuse_if_used(usages)?;
        diesel::delete(locations::table.find(id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "location.delete",
                target_type: "location",
                target_id: &id.to_string(),
                organization_id: Some(organization_id),
                detail: json!({ "name": row.name }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

// ----- Synonym groups (admins) -----

type SynonymColumns = (
    i32,
    Vec<Option<String>>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

macro_rules! synonym_columns {
    () => {
        (
            search_synonyms::id,
            search_synonyms::terms,
            search_synonyms::note,
            search_synonyms::created_at,
            search_synonyms::updated_at,
        )
    };
}

fn synonym_group_of(
    (id, terms, note, created_at, updated_at): SynonymColumns,
) -> Versioned<SynonymGroupDetail> {
    Versioned {
        version: timestamp_version(updated_at),
        item: SynonymGroupDetail {
            id,
            terms: terms.into_iter().flatten().collect(),
            note,
            created_at,
            updated_at,
        },
    }
}

/// Every synonym group, by number.
pub async fn synonym_groups(
    conn: &mut AsyncPgConnection,
) -> Result<Vec<SynonymGroupDetail>, StoreError> {
    let rows: Vec<SynonymColumns> = search_synonyms::table
        .select(synonym_columns!())
        .order(search_synonyms::id.asc())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| synonym_group_of(row).item)
        .collect())
}

pub async fn synonym_group(
    conn: &mut AsyncPgConnection,
    id: i32,
) -> Result<Option<Versioned<SynonymGroupDetail>>, StoreError> {
    let row: Option<SynonymColumns> = search_synonyms::table
        .find(id)
        .select(synonym_columns!())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(synonym_group_of))
}

/// A synonym group as written, with its version.
pub async fn synonym_group_draft(
    conn: &mut AsyncPgConnection,
    id: i32,
) -> Result<Option<Versioned<SynonymGroupDraft>>, StoreError> {
    Ok(synonym_group(conn, id).await?.map(|found| Versioned {
        version: found.version,
        item: SynonymGroupDraft {
            terms: found.item.terms,
            note: found.item.note,
        },
    }))
}

/// Refuses terms another group has. Writers of the table take turns (the lock is held to the
/// end of the transaction), so two groups written at once cannot both take one expression.
async fn ensure_terms_free(
    conn: &mut AsyncPgConnection,
    draft: &SynonymGroupDraft,
    key: &(dyn Fn(&str) -> String + Sync),
    own: Option<i32>,
) -> Result<(), WriteError> {
    diesel::sql_query("LOCK TABLE search_synonyms IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    let mut others = crate::search::synonym_groups(conn).await?;
    others.retain(|group| Some(group.id) != own);
    let errors = terms_in_other_groups(draft, key, &others);
    match errors.is_empty() {
        true => Ok(()),
        false => Err(WriteError::Invalid(errors)),
    }
}

async fn read_synonym_group(
    conn: &mut AsyncPgConnection,
    id: i32,
) -> Result<Versioned<SynonymGroupDetail>, WriteError> {
    synonym_group(conn, id).await?.ok_or(WriteError::NotFound)
}

/// Creates a synonym group; `key` reads a term as search does (see
/// [`domain::search::validate_synonym_group`]).
pub async fn create_synonym_group(
    conn: &mut AsyncPgConnection,
    draft: &SynonymGroupDraft,
    key: &(dyn Fn(&str) -> String + Sync),
    actor: Actor<'_>,
) -> Result<Versioned<SynonymGroupDetail>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        ensure_terms_free(conn, draft, key, None).await?;
        let id: i32 = diesel::insert_into(search_synonyms::table)
            .values((
                search_synonyms::terms.eq(&draft.terms),
                search_synonyms::note.eq(&draft.note),
            ))
            .returning(search_synonyms::id)
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "synonym_group.create",
                target_type: "synonym_group",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "terms": draft.terms, "changed_fields": changes(None, draft)? }),
            },
        )
        .await?;
        read_synonym_group(conn, id).await
    })
    .await
}

/// Replaces a synonym group if it is still at an `expected` version. A write that changes
/// nothing keeps the version and records nothing.
pub async fn update_synonym_group(
    conn: &mut AsyncPgConnection,
    id: i32,
    expected: &[String],
    draft: &SynonymGroupDraft,
    key: &(dyn Fn(&str) -> String + Sync),
    actor: Actor<'_>,
) -> Result<Versioned<SynonymGroupDetail>, WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let (_, terms, note, _, previous): SynonymColumns = search_synonyms::table
            .find(id)
            .select(synonym_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(previous))?;
        ensure_terms_free(conn, draft, key, Some(id)).await?;
        let before = SynonymGroupDraft {
            terms: terms.into_iter().flatten().collect(),
            note,
        };
        let changed = changes(Some(&before), draft)?;
        if !changed.is_empty() {
            diesel::update(search_synonyms::table.find(id))
                .set((
                    search_synonyms::terms.eq(&draft.terms),
                    search_synonyms::note.eq(&draft.note),
                    search_synonyms::updated_at.eq(next_timestamp(previous)),
                ))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                &audit::Entry {
                    actor,
                    action: "synonym_group.update",
                    target_type: "synonym_group",
                    target_id: &id.to_string(),
                    organization_id: None,
                    detail: json!({
                        "terms_before": before.terms,
                        "terms": draft.terms,
                        "changed_fields": changed,
                    }),
                },
            )
            .await?;
        }
        read_synonym_group(conn, id).await
    })
    .await
}

/// Deletes a synonym group: nothing refers to one.
pub async fn delete_synonym_group(
    conn: &mut AsyncPgConnection,
    id: i32,
    expected: &[String],
    actor: Actor<'_>,
) -> Result<(), WriteError> {
    conn.transaction::<_, WriteError, _>(async |conn| {
        let (_, terms, _, _, updated_at): SynonymColumns = search_synonyms::table
            .find(id)
            .select(synonym_columns!())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WriteError::NotFound)?;
        check_version(expected, &timestamp_version(updated_at))?;
        diesel::delete(search_synonyms::table.find(id))
            .execute(conn)
            .await?;
        let terms: Vec<String> = terms.into_iter().flatten().collect();
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "synonym_group.delete",
                target_type: "synonym_group",
                target_id: &id.to_string(),
                organization_id: None,
                detail: json!({ "terms": terms }),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_below_itself_is_a_cycle() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let parents = HashMap::from([(a, None), (b, Some(a)), (c, Some(b))]);
        // Moving `a` under `c` (its grandchild) would close a cycle; under nothing of its own not.
        assert!(is_at_or_above(&parents, c, a));
        assert!(is_at_or_above(&parents, a, a));
        assert!(!is_at_or_above(&parents, a, c));
        // A stored cycle does not loop forever.
        let looping = HashMap::from([(a, Some(b)), (b, Some(a))]);
        assert!(!is_at_or_above(&looping, a, c));
    }

    #[test]
    fn versions_move_forward() {
        let later = Utc::now() + TimeDelta::days(1);
        assert!(next_timestamp(later) > later);
        let municipality = Municipality {
            ibge_code: 5_103_403,
            name: "Cuiabá".into(),
            state: "MT".into(),
            point: GeoPoint {
                lat: -15.6,
                lon: -56.1,
            },
            is_capital: true,
        };
        let mut renamed = municipality.clone();
        renamed.name = "Cuiabá ".into();
        assert_ne!(
            municipality_version(&municipality),
            municipality_version(&renamed)
        );
    }
}
