//! Public read queries. Only published services are visible here.

use std::collections::HashMap;

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use diesel::sql_types::{Float8, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::checklist::checklist;
use domain::near::Near;
use domain::organization::{Organization, OrganizationSummary, Sphere};
use domain::place::{Location, LocationListItem, Municipality};
use domain::query::{Page, PageRequest, ServiceFilter, ServiceSort};
use domain::service::{Service, ServiceContent, ServiceRef, ServiceStatus, ServiceSummary};
use domain::taxonomy::{into_tree, LifeEvent, SegmentCode, TaxonRef, Topic, TopicRow};
use uuid::Uuid;

use crate::rows::{LocationRow, MunicipalityRow, OrganizationRow, ServiceRow};
use crate::schema::{
    life_events, locations, municipalities, organizations, related_services, service_channel_types,
    service_life_events, service_locations, service_municipalities, service_popularity,
    service_segments, service_topics, services, topics,
};
use crate::StoreError;

const PUBLISHED: &str = "published";

/// A service filter whose references were found; `None` fields mean "any".
struct ResolvedFilter {
    organization_id: Option<Uuid>,
    topic_ids: Option<Vec<Uuid>>,
    life_event_id: Option<Uuid>,
    segment: Option<&'static str>,
    municipality: Option<i32>,
    channel: Option<&'static str>,
    free: Option<bool>,
    digital: Option<bool>,
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// Looks an id-or-slug up in a table with `id` and `slug` columns.
macro_rules! find_id {
    ($conn:expr, $table:ident, $key:expr) => {{
        let key: &str = $key;
        let query = $table::table.select($table::id).into_boxed();
        let query = match Uuid::parse_str(key) {
            Ok(id) => query.filter($table::id.eq(id)),
            Err(_) => query.filter($table::slug.eq(key.to_owned())),
        };
        query.first::<Uuid>($conn).await.optional()
    }};
}
pub(crate) use find_id;

/// The topics and all their descendants.
pub(crate) async fn topic_subtree(
    conn: &mut AsyncPgConnection,
    roots: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let all: Vec<(Uuid, Option<Uuid>)> = topics::table
        .select((topics::id, topics::parent_id))
        .load(conn)
        .await?;
    let mut ids = roots.to_vec();
    let mut frontier = ids.clone();
    while let Some(parent) = frontier.pop() {
        for (id, _) in all.iter().filter(|(_, p)| *p == Some(parent)) {
            if !ids.contains(id) {
                ids.push(*id);
                frontier.push(*id);
            }
        }
    }
    Ok(ids)
}

pub(crate) async fn municipality_exists(
    conn: &mut AsyncPgConnection,
    ibge_code: i32,
) -> Result<bool, StoreError> {
    let found: i64 = municipalities::table
        .filter(municipalities::ibge_code.eq(ibge_code))
        .count()
        .get_result(conn)
        .await?;
    Ok(found > 0)
}

/// Resolves slugs to ids; `None` when a referenced record does not exist (nothing can match).
async fn resolve(
    conn: &mut AsyncPgConnection,
    filter: &ServiceFilter,
) -> Result<Option<ResolvedFilter>, StoreError> {
    let organization_id = match &filter.organization {
        Some(key) => match find_id!(conn, organizations, key)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
        None => None,
    };
    let topic_ids = match &filter.topic {
        Some(key) => match find_id!(conn, topics, key)? {
            Some(id) => Some(topic_subtree(conn, &[id]).await?),
            None => return Ok(None),
        },
        None => None,
    };
    let life_event_id = match &filter.life_event {
        Some(key) => match find_id!(conn, life_events, key)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
        None => None,
    };
    if let Some(code) = filter.municipality {
        if !municipality_exists(conn, code).await? {
            return Ok(None);
        }
    }
    Ok(Some(ResolvedFilter {
        organization_id,
        topic_ids,
        life_event_id,
        segment: filter.segment.map(SegmentCode::code),
        municipality: filter.municipality,
        channel: filter.channel.map(|c| c.code()),
        free: filter.free,
        digital: filter.digital,
        modified_after: filter.modified_after,
    }))
}

/// Applies the AND-combined filters to a boxed query over `services` (alone or joined).
macro_rules! apply_filters {
    ($query:expr, $filter:expr) => {{
        let f: &ResolvedFilter = $filter;
        let mut query = $query.filter(services::status.eq(PUBLISHED));
        if let Some(id) = f.organization_id {
            query = query.filter(services::organization_id.eq(id));
        }
        if let Some(ids) = &f.topic_ids {
            query = query.filter(exists(
                service_topics::table
                    .filter(service_topics::service_id.eq(services::id))
                    .filter(service_topics::topic_id.eq_any(ids.clone())),
            ));
        }
        if let Some(id) = f.life_event_id {
            query = query.filter(exists(
                service_life_events::table
                    .filter(service_life_events::service_id.eq(services::id))
                    .filter(service_life_events::life_event_id.eq(id)),
            ));
        }
        if let Some(code) = f.segment {
            query = query.filter(exists(
                service_segments::table
                    .filter(service_segments::service_id.eq(services::id))
                    .filter(service_segments::segment_code.eq(code)),
            ));
        }
        if let Some(code) = f.channel {
            query = query.filter(exists(
                service_channel_types::table
                    .filter(service_channel_types::service_id.eq(services::id))
                    .filter(service_channel_types::channel_type.eq(code)),
            ));
        }
        if let Some(ibge) = f.municipality {
            query = query.filter(
                services::statewide.or(exists(
                    service_municipalities::table
                        .filter(service_municipalities::service_id.eq(services::id))
                        .filter(service_municipalities::ibge_code.eq(ibge)),
                )),
            );
        }
        if let Some(free) = f.free {
            query = query.filter(services::free.eq(free));
        }
        if let Some(digital) = f.digital {
            query = query.filter(services::digital.eq(digital));
        }
        if let Some(after) = f.modified_after {
            query = query.filter(services::updated_at.gt(after));
        }
        query
    }};
}

/// One page of published services matching every filter.
pub async fn list_services(
    conn: &mut AsyncPgConnection,
    filter: &ServiceFilter,
    sort: ServiceSort,
    page: PageRequest,
) -> Result<Page<ServiceSummary>, StoreError> {
    if sort != ServiceSort::Popular {
        return list_page(conn, filter, sort, page).await;
    }
    // The `popular` page takes several statements (the total, the viewed services, how many
    // of them come before the page, the others), and flushes change the scores between them:
    // one snapshot, or a page could repeat or skip a service, or disagree with its total.
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| list_page(conn, filter, sort, page).await)
        .await
}

async fn list_page(
    conn: &mut AsyncPgConnection,
    filter: &ServiceFilter,
    sort: ServiceSort,
    page: PageRequest,
) -> Result<Page<ServiceSummary>, StoreError> {
    let Some(resolved) = resolve(conn, filter).await? else {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
        });
    };
    let total: i64 = apply_filters!(services::table.into_boxed(), &resolved)
        .select(count_star())
        .get_result(conn)
        .await?;
    let query = apply_filters!(
        services::table
            .inner_join(organizations::table)
            .select((ServiceRow::as_select(), OrganizationRow::as_select()))
            .into_boxed(),
        &resolved
    );
    let query = match sort {
        // Without a search text there is no relevance: name order.
        ServiceSort::Name | ServiceSort::Relevance => {
            query.order((services::name.asc(), services::id.asc()))
        }
        ServiceSort::Updated => query.order((services::updated_at.desc(), services::id.asc())),
        ServiceSort::Popular => {
            let rows = popular_page(conn, &resolved, page).await?;
            let items = rows
                .iter()
                .map(|(service, organization)| service.summary(organization.summary()?))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Page { items, total });
        }
    };
    let rows: Vec<(ServiceRow, OrganizationRow)> = query
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    let items = rows
        .iter()
        .map(|(service, organization)| service.summary(organization.summary()?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total })
}

/// A page of the `popular` order: services viewed in the window (those with a score), most
/// viewed first, then the others by name; ties by name, then id. Read as two ranges, each along
/// an index (scores; published names), so a page costs milliseconds on 100,000 services where one
/// sort of every service by its score (a join and a sort of every filtered row) took 150 ms.
async fn popular_page(
    conn: &mut AsyncPgConnection,
    resolved: &ResolvedFilter,
    page: PageRequest,
) -> Result<Vec<(ServiceRow, OrganizationRow)>, StoreError> {
    let wanted = i64::from(page.per_page);
    let mut rows: Vec<(ServiceRow, OrganizationRow)> = apply_filters!(
        services::table
            .inner_join(organizations::table)
            .inner_join(service_popularity::table)
            .select((ServiceRow::as_select(), OrganizationRow::as_select()))
            .into_boxed(),
        resolved
    )
    .order((
        service_popularity::score.desc(),
        services::name.asc(),
        services::id.asc(),
    ))
    .limit(wanted)
    .offset(page.offset())
    .load(conn)
    .await?;
    let found = rows.len() as i64;
    if found == wanted {
        return Ok(rows);
    }
    // The viewed ones end on this page (or before it: then count them to know where it starts
    // among the others).
    let viewed = match found {
        0 => apply_filters!(
            services::table
                .inner_join(service_popularity::table)
                .into_boxed(),
            resolved
        )
        .select(count_star())
        .get_result::<i64>(conn)
        .await?
        .min(page.offset()),
        _ => page.offset() + found,
    };
    let others: Vec<(ServiceRow, OrganizationRow)> = apply_filters!(
        services::table
            .inner_join(organizations::table)
            .left_join(service_popularity::table)
            .select((ServiceRow::as_select(), OrganizationRow::as_select()))
            .into_boxed(),
        resolved
    )
    .filter(service_popularity::service_id.is_null())
    .order((services::name.asc(), services::id.asc()))
    .limit(wanted - found)
    .offset(page.offset() + found - viewed)
    .load(conn)
    .await?;
    rows.extend(others);
    Ok(rows)
}

/// The most viewed published services matching `filter` (views in the popularity window), at
/// most `limit`, each with its views; ties by name, then id. Services never viewed are left out.
pub async fn popular_services(
    conn: &mut AsyncPgConnection,
    filter: &ServiceFilter,
    limit: u32,
) -> Result<Vec<(ServiceSummary, i64)>, StoreError> {
    let Some(resolved) = resolve(conn, filter).await? else {
        return Ok(Vec::new());
    };
    // Walks the score index from the top and stops at `limit` matches.
    let rows: Vec<(ServiceRow, OrganizationRow, i64)> = apply_filters!(
        services::table
            .inner_join(organizations::table)
            .inner_join(service_popularity::table)
            .select((
                ServiceRow::as_select(),
                OrganizationRow::as_select(),
                service_popularity::score,
            ))
            .into_boxed(),
        &resolved
    )
    .order((
        service_popularity::score.desc(),
        services::name.asc(),
        services::id.asc(),
    ))
    .limit(i64::from(limit))
    .load(conn)
    .await?;
    rows.iter()
        .map(|(service, organization, views)| {
            Ok((service.summary(organization.summary()?)?, *views))
        })
        .collect()
}

/// A published service by id or slug, with everything it links to.
pub async fn find_service(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> Result<Option<Service>, StoreError> {
    let query = services::table
        .inner_join(organizations::table)
        .select((ServiceRow::as_select(), OrganizationRow::as_select()))
        .filter(services::status.eq(PUBLISHED))
        .into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(services::id.eq(id)),
        Err(_) => query.filter(services::slug.eq(id_or_slug.to_owned())),
    };
    let Some((row, organization)) = query
        .first::<(ServiceRow, OrganizationRow)>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    Ok(assemble_services(conn, vec![(row, organization)])
        .await?
        .pop())
}

/// Groups `(service id, value)` rows by service, keeping their order.
fn group_by_service<T>(rows: Vec<(Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (service_id, value) in rows {
        grouped.entry(service_id).or_default().push(value);
    }
    grouped
}

/// Full services from their rows, with everything they link to: one query per kind of link for
/// the whole batch, so reading many services costs as many round trips as reading one.
pub(crate) async fn assemble_services(
    conn: &mut AsyncPgConnection,
    rows: Vec<(ServiceRow, OrganizationRow)>,
) -> Result<Vec<Service>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|(row, _)| row.id).collect();
    let mut topics = group_by_service(
        service_topics::table
            .inner_join(topics::table)
            .filter(service_topics::service_id.eq_any(&ids))
            .select((
                service_topics::service_id,
                (topics::id, topics::slug, topics::name),
            ))
            .order((topics::name.asc(), topics::id.asc()))
            .load::<(Uuid, (Uuid, String, String))>(conn)
            .await?,
    );
    let mut life_events = group_by_service(
        service_life_events::table
            .inner_join(life_events::table)
            .filter(service_life_events::service_id.eq_any(&ids))
            .select((
                service_life_events::service_id,
                (life_events::id, life_events::slug, life_events::name),
            ))
            .order((life_events::name.asc(), life_events::id.asc()))
            .load::<(Uuid, (Uuid, String, String))>(conn)
            .await?,
    );
    let mut segments = group_by_service(
        service_segments::table
            .filter(service_segments::service_id.eq_any(&ids))
            .select((service_segments::service_id, service_segments::segment_code))
            .load::<(Uuid, String)>(conn)
            .await?,
    );
    let mut municipalities = group_by_service(
        service_municipalities::table
            .inner_join(municipalities::table)
            .filter(service_municipalities::service_id.eq_any(&ids))
            .select((
                service_municipalities::service_id,
                MunicipalityRow::as_select(),
            ))
            .order((municipalities::name.asc(), municipalities::ibge_code.asc()))
            .load::<(Uuid, MunicipalityRow)>(conn)
            .await?,
    );
    let mut locations = group_by_service(
        service_locations::table
            .inner_join(locations::table.inner_join(municipalities::table))
            .filter(service_locations::service_id.eq_any(&ids))
            .select((
                service_locations::service_id,
                (LocationRow::as_select(), MunicipalityRow::as_select()),
            ))
            .order(service_locations::position.asc())
            .load::<(Uuid, (LocationRow, MunicipalityRow))>(conn)
            .await?,
    );
    let mut related = group_by_service(
        related_services::table
            .inner_join(services::table.on(services::id.eq(related_services::related_id)))
            .filter(related_services::service_id.eq_any(&ids))
            .filter(services::status.eq(PUBLISHED))
            .select((
                related_services::service_id,
                (services::id, services::slug, services::name),
            ))
            .order(related_services::position.asc())
            .load::<(Uuid, (Uuid, String, String))>(conn)
            .await?,
    );

    let taxa = |rows: Option<Vec<(Uuid, String, String)>>| -> Vec<TaxonRef> {
        rows.unwrap_or_default()
            .into_iter()
            .map(|(id, slug, name)| TaxonRef { id, slug, name })
            .collect()
    };
    let mut services = Vec::with_capacity(rows.len());
    for (row, organization) in rows {
        let id = row.id;
        let mut segment_codes: Vec<SegmentCode> = segments
            .remove(&id)
            .unwrap_or_default()
            .iter()
            .filter_map(|code| SegmentCode::from_code(code))
            .collect();
        segment_codes.sort();
        let organization = organization.summary()?;
        let content = row.content()?;
        let compliance = checklist(&content, &organization);
        services.push(Service {
            id,
            slug: row.slug.clone(),
            digital: row.digital,
            status: row.status()?,
            channel_types: content.channel_types(),
            content,
            organization,
            segments: segment_codes,
            topics: taxa(topics.remove(&id)),
            life_events: taxa(life_events.remove(&id)),
            statewide: row.statewide,
            municipalities: municipalities
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(MunicipalityRow::reference)
                .collect(),
            locations: locations
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(|(location, municipality)| location.summary(municipality))
                .collect(),
            related_services: related
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|(id, slug, name)| ServiceRef { id, slug, name })
                .collect(),
            source: row.source(),
            compliance,
            opinion: Default::default(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            published_at: row.published_at,
        });
    }
    Ok(services)
}

/// Published services per organization.
async fn published_counts_by_organization(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, i64>, StoreError> {
    let counts: Vec<(Uuid, i64)> = services::table
        .filter(services::status.eq(PUBLISHED))
        .filter(services::organization_id.eq_any(ids))
        .group_by(services::organization_id)
        .select((services::organization_id, count_star()))
        .load(conn)
        .await?;
    Ok(counts.into_iter().collect())
}

#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    pub sphere: Option<Sphere>,
    /// Only those changed after this instant (incremental sync).
    pub modified_after: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list_organizations(
    conn: &mut AsyncPgConnection,
    filter: &OrganizationFilter,
    page: PageRequest,
) -> Result<Page<Organization>, StoreError> {
    let mut count_query = organizations::table.into_boxed();
    let mut query = organizations::table
        .select(OrganizationRow::as_select())
        .into_boxed();
    if let Some(sphere) = filter.sphere {
        count_query = count_query.filter(organizations::sphere.eq(sphere.code()));
        query = query.filter(organizations::sphere.eq(sphere.code()));
    }
    if let Some(after) = filter.modified_after {
        count_query = count_query.filter(organizations::updated_at.gt(after));
        query = query.filter(organizations::updated_at.gt(after));
    }
    let total: i64 = count_query.count().get_result(conn).await?;
    let rows: Vec<OrganizationRow> = query
        .order((organizations::name.asc(), organizations::id.asc()))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let counts = published_counts_by_organization(conn, &ids).await?;
    let parent_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.parent_id).collect();
    let parents: HashMap<Uuid, OrganizationSummary> = organizations::table
        .filter(organizations::id.eq_any(parent_ids))
        .select(OrganizationRow::as_select())
        .load::<OrganizationRow>(conn)
        .await?
        .iter()
        .map(|row| Ok((row.id, row.summary()?)))
        .collect::<Result<_, StoreError>>()?;
    let items = rows
        .into_iter()
        .map(|row| {
            let parent = row.parent_id.and_then(|id| parents.get(&id).cloned());
            let count = counts.get(&row.id).copied().unwrap_or(0);
            row.into_organization(parent, count)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total })
}

pub async fn find_organization(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> Result<Option<Organization>, StoreError> {
    let Some(id) = find_id!(conn, organizations, id_or_slug)? else {
        return Ok(None);
    };
    let Some(row) = organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first::<OrganizationRow>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let parent = match row.parent_id {
        Some(parent_id) => Some(
            organizations::table
                .find(parent_id)
                .select(OrganizationRow::as_select())
                .first::<OrganizationRow>(conn)
                .await?
                .summary()?,
        ),
        None => None,
    };
    let count = published_counts_by_organization(conn, &[id])
        .await?
        .get(&id)
        .copied()
        .unwrap_or(0);
    Ok(Some(row.into_organization(parent, count)?))
}

/// A topic and the published services tagged with it or with one of its sub-topics.
#[derive(QueryableByName)]
struct TopicCountRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    topic_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    services: i64,
}

/// The topic forest with published-service counts.
pub async fn topic_tree(conn: &mut AsyncPgConnection) -> Result<Vec<Topic>, StoreError> {
    // Each service once per topic, however many topics of the subtree it is tagged with (two
    // siblings, or a topic and its parent): the count the `topic` filter finds. Only a topic with
    // sub-topics can meet a service twice, so only those count distinct services (a sort of
    // their tags); the others count their tags, and the published tags are read once for both.
    let counts: HashMap<Uuid, i64> = diesel::sql_query(
        "WITH RECURSIVE subtree (topic_id, member_id) AS ( \
             SELECT id, id FROM topics \
             WHERE EXISTS (SELECT 1 FROM topics AS child WHERE child.parent_id = topics.id) \
             UNION \
             SELECT subtree.topic_id, topics.id FROM topics \
             JOIN subtree ON topics.parent_id = subtree.member_id), \
         tags AS MATERIALIZED ( \
             SELECT service_topics.topic_id, service_topics.service_id FROM service_topics \
             JOIN services ON services.id = service_topics.service_id \
             WHERE services.status = $1) \
         SELECT subtree.topic_id, count(DISTINCT tags.service_id) AS services \
         FROM subtree JOIN tags ON tags.topic_id = subtree.member_id \
         GROUP BY subtree.topic_id \
         UNION ALL \
         SELECT tags.topic_id, count(*) AS services FROM tags \
         WHERE NOT EXISTS (SELECT 1 FROM topics AS child WHERE child.parent_id = tags.topic_id) \
         GROUP BY tags.topic_id",
    )
    .bind::<diesel::sql_types::Text, _>(PUBLISHED)
    .load::<TopicCountRow>(conn)
    .await?
    .into_iter()
    .map(|row| (row.topic_id, row.services))
    .collect();
    let rows = topics::table
        .select((
            topics::id,
            topics::parent_id,
            topics::slug,
            topics::name,
            topics::description,
            topics::updated_at,
        ))
        .load::<(
            Uuid,
            Option<Uuid>,
            String,
            String,
            Option<String>,
            chrono::DateTime<chrono::Utc>,
        )>(conn)
        .await?
        .into_iter()
        .map(
            |(id, parent_id, slug, name, description, updated_at)| TopicRow {
                service_count: counts.get(&id).copied().unwrap_or(0),
                updated_at,
                id,
                parent_id,
                slug,
                name,
                description,
            },
        )
        .collect();
    Ok(into_tree(rows))
}

pub async fn list_life_events(conn: &mut AsyncPgConnection) -> Result<Vec<LifeEvent>, StoreError> {
    let counts: HashMap<Uuid, i64> = service_life_events::table
        .inner_join(services::table)
        .filter(services::status.eq(PUBLISHED))
        .group_by(service_life_events::life_event_id)
        .select((service_life_events::life_event_id, count_star()))
        .load::<(Uuid, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    Ok(life_events::table
        .select((
            life_events::id,
            life_events::slug,
            life_events::name,
            life_events::description,
            life_events::updated_at,
        ))
        .order(life_events::name.asc())
        .load::<(
            Uuid,
            String,
            String,
            Option<String>,
            chrono::DateTime<chrono::Utc>,
        )>(conn)
        .await?
        .into_iter()
        .map(|(id, slug, name, description, updated_at)| LifeEvent {
            service_count: counts.get(&id).copied().unwrap_or(0),
            updated_at,
            id,
            slug,
            name,
            description,
        })
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct MunicipalityFilter {
    /// Two-letter state code.
    pub state: Option<String>,
    /// Only those changed after this instant (incremental sync).
    pub modified_after: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list_municipalities(
    conn: &mut AsyncPgConnection,
    filter: &MunicipalityFilter,
    page: PageRequest,
) -> Result<Page<Municipality>, StoreError> {
    let mut count_query = municipalities::table.into_boxed();
    let mut query = municipalities::table
        .select(MunicipalityRow::as_select())
        .into_boxed();
    if let Some(state) = &filter.state {
        count_query = count_query.filter(municipalities::state.eq(state.clone()));
        query = query.filter(municipalities::state.eq(state.clone()));
    }
    if let Some(after) = filter.modified_after {
        count_query = count_query.filter(municipalities::updated_at.gt(after));
        query = query.filter(municipalities::updated_at.gt(after));
    }
    let total: i64 = count_query.count().get_result(conn).await?;
    let items = query
        .order((municipalities::name.asc(), municipalities::ibge_code.asc()))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load::<MunicipalityRow>(conn)
        .await?
        .into_iter()
        .map(Municipality::from)
        .collect();
    Ok(Page { items, total })
}

#[derive(Debug, Clone, Default)]
pub struct LocationFilter {
    pub municipality: Option<i32>,
    /// Organization id or slug.
    pub organization: Option<String>,
    /// Only those changed after this instant (incremental sync).
    pub modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only units within the radius of this point, nearest first, each with its distance; units
    /// without coordinates are left out.
    pub near: Option<Near>,
}

#[declare_sql_function]
extern "SQL" {
    /// Great-circle distance in km, rounded to 10 m; NULL when an argument is (see the `near`
    /// migration).
    fn near_distance_km(
        lat1: Nullable<Float8>,
        lon1: Nullable<Float8>,
        lat2: Nullable<Float8>,
        lon2: Nullable<Float8>,
    ) -> Nullable<Float8>;
}

/// Applies a location filter (its organization already resolved, and optionally a set of units)
/// to a boxed query over `locations` (alone or joined).
macro_rules! apply_location_filters {
    ($query:expr, $filter:expr, $organization_id:expr, $only:expr) => {{
        let f: &LocationFilter = $filter;
        let mut query = $query;
        if let Some(code) = f.municipality {
            query = query.filter(locations::municipality.eq(code));
        }
        if let Some(after) = f.modified_after {
            query = query.filter(locations::updated_at.gt(after));
        }
        if let Some(id) = $organization_id {
            query = query.filter(locations::organization_id.eq(id));
        }
        if let Some(ids) = $only {
            query = query.filter(locations::id.eq_any(ids));
        }
        if let Some(near) = f.near {
            // The box first, so the (lat, lon) index discards most units before any is measured.
            let bbox = near.bounding_box();
            query = query
                .filter(locations::lat.between(bbox.lat_min, bbox.lat_max))
                .filter(locations::lon.between(bbox.lon_min, bbox.lon_max))
                .filter(
                    near_distance_km(
                        near.point.lat,
                        near.point.lon,
                        locations::lat,
                        locations::lon,
                    )
                    .le(near.radius_km),
                );
        }
        query
    }};
}

pub async fn list_locations(
    conn: &mut AsyncPgConnection,
    filter: &LocationFilter,
    page: PageRequest,
) -> Result<Page<LocationListItem>, StoreError> {
    let organization_id = match &filter.organization {
        Some(key) => match find_id!(conn, organizations, key)? {
            Some(id) => Some(id),
            None => {
                return Ok(Page {
                    items: Vec::new(),
                    total: 0,
                })
            }
        },
        None => None,
    };
    locations_page(conn, filter, organization_id, None, page).await
}

/// A page of units matching `filter`, among `only` when given: nearest first when the filter
/// has a point, else by name; ties by name, then id.
async fn locations_page(
    conn: &mut AsyncPgConnection,
    filter: &LocationFilter,
    organization_id: Option<Uuid>,
    only: Option<&[Uuid]>,
    page: PageRequest,
) -> Result<Page<LocationListItem>, StoreError> {
    let total: i64 =
        apply_location_filters!(locations::table.into_boxed(), filter, organization_id, only)
            .count()
            .get_result(conn)
            .await?;
    // Without a point both are NULL, so is every distance, and the order is by name.
    let lat = filter.near.map(|near| near.point.lat);
    let lon = filter.near.map(|near| near.point.lon);
    let items = apply_location_filters!(
        locations::table
            .inner_join(organizations::table)
            .inner_join(municipalities::table)
            .select((
                LocationRow::as_select(),
                OrganizationRow::as_select(),
                MunicipalityRow::as_select(),
                near_distance_km(lat, lon, locations::lat, locations::lon),
            ))
            .into_boxed(),
        filter,
        organization_id,
        only
    )
    .order((
        near_distance_km(lat, lon, locations::lat, locations::lon).asc(),
        locations::name.asc(),
        locations::id.asc(),
    ))
    .limit(i64::from(page.per_page))
    .offset(page.offset())
    .load::<(LocationRow, OrganizationRow, MunicipalityRow, Option<f64>)>(conn)
    .await?
    .into_iter()
    .map(|(location, organization, municipality, distance_km)| {
        Ok(LocationListItem {
            location: location.into_location(organization.summary()?, &municipality)?,
            distance_km,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page { items, total })
}

/// The units where a published service (by id or slug) is offered: those the service lists and
/// those its channels name, as its page shows them; `None` when no published service has that
/// id or slug.
pub async fn service_locations(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
    filter: &LocationFilter,
    page: PageRequest,
) -> Result<Option<Page<LocationListItem>>, StoreError> {
    let query = services::table
        .filter(services::status.eq(PUBLISHED))
        .select((services::id, services::content))
        .into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(services::id.eq(id)),
        Err(_) => query.filter(services::slug.eq(id_or_slug.to_owned())),
    };
    let Some((service_id, content)) = query
        .first::<(Uuid, serde_json::Value)>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let content: ServiceContent = serde_json::from_value(content)?;
    let mut ids: Vec<Uuid> = service_locations::table
        .filter(service_locations::service_id.eq(service_id))
        .select(service_locations::location_id)
        .load(conn)
        .await?;
    for id in content.channel_location_ids() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Some(
        locations_page(conn, filter, None, Some(&ids), page).await?,
    ))
}

pub async fn find_location(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Location>, StoreError> {
    let row = locations::table
        .inner_join(organizations::table)
        .inner_join(municipalities::table)
        .filter(locations::id.eq(id))
        .select((
            LocationRow::as_select(),
            OrganizationRow::as_select(),
            MunicipalityRow::as_select(),
        ))
        .first::<(LocationRow, OrganizationRow, MunicipalityRow)>(conn)
        .await
        .optional()?;
    row.map(|(location, organization, municipality)| {
        location.into_location(organization.summary()?, &municipality)
    })
    .transpose()
}

/// Status of every service, for the import report and tests.
pub async fn count_services_by_status(
    conn: &mut AsyncPgConnection,
) -> Result<Vec<(ServiceStatus, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = services::table
        .group_by(services::status)
        .select((services::status, count_star()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(status, count)| {
            ServiceStatus::parse(&status)
                .map(|s| (s, count))
                .ok_or_else(|| StoreError::Corrupt(format!("unknown status `{status}`")))
        })
        .collect()
}
