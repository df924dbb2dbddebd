//! What the in-process search index reads: published services as search documents, the names
//! facets show, and the change log it follows.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::place::MunicipalityRef;
use domain::search::{ChangedEntity, SearchDocument, SearchLinks, SearchVocabulary, SynonymGroup};
use domain::taxonomy::{SegmentCode, TaxonRef};
use uuid::Uuid;

use crate::rows::{OrganizationRow, ServiceRow};
use crate::schema::{
    life_events, municipalities, organizations, search_synonyms, service_life_events,
    service_municipalities, service_segments, service_topics, services, topics,
};
use crate::StoreError;

const PUBLISHED: &str = "published";

/// Published services with ids above `after`, in id order: the caller pages through the whole
/// catalogue without holding it all in memory.
pub async fn documents_after(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<SearchDocument>, StoreError> {
    let mut query = services::table
        .inner_join(organizations::table)
        .select((ServiceRow::as_select(), OrganizationRow::as_select()))
        .filter(services::status.eq(PUBLISHED))
        .order(services::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(services::id.gt(after));
    }
    let rows = query.load::<(ServiceRow, OrganizationRow)>(conn).await?;
    documents(conn, rows).await
}

/// The published ones among `ids`; an id missing from the answer is not public (any more).
pub async fn documents_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<Vec<SearchDocument>, StoreError> {
    let rows = services::table
        .inner_join(organizations::table)
        .select((ServiceRow::as_select(), OrganizationRow::as_select()))
        .filter(services::status.eq(PUBLISHED))
        .filter(services::id.eq_any(ids))
        .load::<(ServiceRow, OrganizationRow)>(conn)
        .await?;
    documents(conn, rows).await
}

/// Services (any status) of these organizations or tagged with these topics or their
/// sub-topics: what a rename or a move of either affects.
pub async fn services_linked_to(
    conn: &mut AsyncPgConnection,
    organization_ids: &[Uuid],
    topic_ids: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let subtree = match topic_ids {
        [] => Vec::new(),
        roots => crate::reads::topic_subtree(conn, roots).await?,
    };
    let topic_ids = subtree.as_slice();
    let mut ids: Vec<Uuid> = services::table
        .filter(services::organization_id.eq_any(organization_ids))
        .select(services::id)
        .load(conn)
        .await?;
    ids.extend(
        service_topics::table
            .filter(service_topics::topic_id.eq_any(topic_ids))
            .select(service_topics::service_id)
            .load::<Uuid>(conn)
            .await?,
    );
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn documents(
    conn: &mut AsyncPgConnection,
    rows: Vec<(ServiceRow, OrganizationRow)>,
) -> Result<Vec<SearchDocument>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|(row, _)| row.id).collect();
    let parents: HashMap<Uuid, Option<Uuid>> = topics::table
        .select((topics::id, topics::parent_id))
        .load::<(Uuid, Option<Uuid>)>(conn)
        .await?
        .into_iter()
        .collect();
    let mut links: HashMap<Uuid, SearchLinks> = HashMap::with_capacity(ids.len());
    for (service, topic) in service_topics::table
        .filter(service_topics::service_id.eq_any(&ids))
        .select((service_topics::service_id, service_topics::topic_id))
        .load::<(Uuid, Uuid)>(conn)
        .await?
    {
        let topic_ids = &mut links.entry(service).or_default().topic_ids;
        let mut next = Some(topic);
        // Walks up to the root; the bound guards against a cycle the schema does not forbid.
        for _ in 0..32 {
            let Some(topic) = next else { break };
            if !topic_ids.contains(&topic) {
                topic_ids.push(topic);
            }
            next = parents.get(&topic).copied().flatten();
        }
    }
    for (service, life_event) in service_life_events::table
        .filter(service_life_events::service_id.eq_any(&ids))
        .select((
            service_life_events::service_id,
            service_life_events::life_event_id,
        ))
        .load::<(Uuid, Uuid)>(conn)
        .await?
    {
        links
            .entry(service)
            .or_default()
            .life_event_ids
            .push(life_event);
    }
    for (service, code) in service_segments::table
        .filter(service_segments::service_id.eq_any(&ids))
        .select((service_segments::service_id, service_segments::segment_code))
        .load::<(Uuid, String)>(conn)
        .await?
    {
        if let Some(segment) = SegmentCode::from_code(&code) {
            links.entry(service).or_default().segments.push(segment);
        }
    }
    for (service, ibge) in service_municipalities::table
        .filter(service_municipalities::service_id.eq_any(&ids))
        .select((
            service_municipalities::service_id,
            service_municipalities::ibge_code,
        ))
        .load::<(Uuid, i32)>(conn)
        .await?
    {
        links.entry(service).or_default().municipalities.push(ibge);
    }
    rows.into_iter()
        .map(|(row, organization)| {
            let content = row.content()?;
            let summary = row.summary_of(&content, organization.summary()?)?;
            let mut service_links = links.remove(&row.id).unwrap_or_default();
            service_links.statewide = row.statewide;
            Ok(SearchDocument::new(summary, &content, service_links))
        })
        .collect()
}

/// Names for filters and facets, and the synonym table.
pub async fn vocabulary(conn: &mut AsyncPgConnection) -> Result<SearchVocabulary, StoreError> {
    let taxon = |(id, slug, name): (Uuid, String, String)| TaxonRef { id, slug, name };
    let organizations = organizations::table
        .select((organizations::id, organizations::slug, organizations::name))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(taxon)
        .collect();
    let topics = topics::table
        .select((topics::id, topics::slug, topics::name, topics::parent_id))
        .load::<(Uuid, String, String, Option<Uuid>)>(conn)
        .await?
        .into_iter()
        .map(|(id, slug, name, parent)| (TaxonRef { id, slug, name }, parent))
        .collect();
    let life_events = life_events::table
        .select((life_events::id, life_events::slug, life_events::name))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(taxon)
        .collect();
    // All of them (a few thousand): a service may be linked to any later.
    let municipalities = municipalities::table
        .select((
            municipalities::ibge_code,
            municipalities::name,
            municipalities::state,
        ))
        .load::<(i32, String, String)>(conn)
        .await?
        .into_iter()
        .map(|(ibge_code, name, state)| MunicipalityRef {
            ibge_code,
            name,
            state,
        })
        .collect();
    Ok(SearchVocabulary {
        organizations,
        topics,
        life_events,
        municipalities,
        synonyms: synonym_groups(conn).await?,
    })
}

/// Every synonym group's terms, by number: what search expands queries with.
pub(crate) async fn synonym_groups(
    conn: &mut AsyncPgConnection,
) -> Result<Vec<SynonymGroup>, StoreError> {
    Ok(search_synonyms::table
        .select((search_synonyms::id, search_synonyms::terms))
        .order(search_synonyms::id.asc())
        .load::<(i32, Vec<Option<String>>)>(conn)
        .await?
        .into_iter()
        .map(|(id, terms)| SynonymGroup {
            id,
            terms: terms.into_iter().flatten().collect(),
        })
        .collect())
}

/// A position in the change log: every transaction with a lower id has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeHorizon(pub i64);

/// One recorded change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub transaction: i64,
    pub entity: ChangedEntity,
}

#[derive(QueryableByName)]
struct HorizonRow {
    #[diesel(sql_type = BigInt)]
    horizon: i64,
}

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    transaction: i64,
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    entity_id: String,
}

/// The current horizon: changes of transactions below it are all committed or gone.
pub async fn change_horizon(conn: &mut AsyncPgConnection) -> Result<ChangeHorizon, StoreError> {
    let row: HorizonRow = diesel::sql_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon",
    )
    .get_result(conn)
    .await?;
    Ok(ChangeHorizon(row.horizon))
}

/// Committed changes of transactions at or above `from`. Read the horizon first, then this: the
/// next call from that horizon then misses nothing, though it may repeat some changes.
pub async fn changes_from(
    conn: &mut AsyncPgConnection,
    from: ChangeHorizon,
) -> Result<Vec<Change>, StoreError> {
    let rows: Vec<ChangeRow> = diesel::sql_query(
        "SELECT id, xid::text::bigint AS transaction, entity, entity_id \
         FROM catalogue_changes WHERE xid >= $1::text::xid8 ORDER BY id",
    )
    .bind::<Text, _>(from.0.to_string())
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let uuid = || Uuid::parse_str(&row.entity_id).ok();
            let entity = match row.entity.as_str() {
                "service" => ChangedEntity::Service(uuid()?),
                "organization" => ChangedEntity::Organization(uuid()?),
                "topic" => ChangedEntity::Topic(uuid()?),
                "life_event" => ChangedEntity::LifeEvent(uuid()?),
                "synonym" => ChangedEntity::Synonym,
                "municipality" => ChangedEntity::Municipality,
                "location" => ChangedEntity::Location,
                _ => return None,
            };
            Some(Change {
                id: row.id,
                transaction: row.transaction,
                entity,
            })
        })
        .collect())
}
