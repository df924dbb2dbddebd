//! What citizens say of services: usefulness votes and satisfaction ratings, their running totals,
//! the agencies' reading of them, and the forgetting of who sent them (see the migration
//! `opinion` for what is kept and for how long).

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::checklist::checklist;
use domain::feedback::{
    ChannelSatisfaction, FeedbackEntry, FeedbackFilter, NotUsefulReason, Opinion, OpinionReport,
    PanelInput, RatingChannel, RatingEntry, RatingFilter, RatingSummary, Satisfaction,
    ServiceMention, Usefulness,
};
use domain::organization::OrganizationSummary;
use domain::query::{Page, PageRequest};
use uuid::Uuid;

use crate::reads::find_id;
use crate::rows::{OrganizationRow, ServiceRow};
use crate::schema::{organizations, service_feedback, service_opinion, service_ratings, services};
use crate::StoreError;

const PUBLISHED: &str = "published";

/// The id of the published service with this id or slug.
pub async fn published_service_id(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> Result<Option<Uuid>, StoreError> {
    let query = services::table
        .select(services::id)
        .filter(services::status.eq(PUBLISHED))
        .into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(services::id.eq(id)),
        Err(_) => query.filter(services::slug.eq(id_or_slug.to_owned())),
    };
    Ok(query.first(conn).await.optional()?)
}

/// The organization with this id or slug, in brief.
pub async fn organization(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> Result<Option<OrganizationSummary>, StoreError> {
    let Some(id) = find_id!(conn, organizations, id_or_slug)? else {
        return Ok(None);
    };
    organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first::<OrganizationRow>(conn)
        .await
        .optional()?
        .map(|row| row.summary())
        .transpose()
}

/// Whether a vote was new or replaced the same sender's earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Created,
    Replaced,
    /// Another sender rated this protocol within the window: refused.
    ProtocolTaken,
}

/// Who sent a vote, as keyed hashes under each live day secret (today's first).
#[derive(Debug, Clone, Default)]
pub struct Pseudonyms {
    pub sender: Vec<Vec<u8>>,
    /// Of the request protocol, for ratings that give one.
    pub protocol: Vec<Vec<u8>>,
}

/// Serialises the votes on one service, so two copies of the same vote sent at once are one.
async fn lock_service_votes(conn: &mut AsyncPgConnection, service_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('opinion:' || $1))")
        .bind::<Text, _>(service_id.to_string())
        .execute(conn)
        .await
        .map(drop)
}

/// Overwrites the `earlier` vote with `values`, or inserts them as a new vote on the service.
macro_rules! replace_or_insert {
    ($conn:expr, $table:ident, $earlier:expr, $service_id:expr, $values:expr) => {
        match $earlier {
            Some(id) => {
                diesel::update($table::table.find(id))
                    .set($values)
                    .execute($conn)
                    .await?;
                Ok(Recorded::Replaced)
            }
            None => {
                diesel::insert_into($table::table)
                    .values(($table::service_id.eq($service_id), $values))
                    .execute($conn)
                    .await?;
                Ok(Recorded::Created)
            }
        }
    };
}

/// Records a usefulness vote; one from the same sender on the same service within `window_s`
/// seconds replaces it instead of counting twice.
pub async fn record_feedback(
    conn: &mut AsyncPgConnection,
    service_id: Uuid,
    useful: bool,
    reason: Option<NotUsefulReason>,
    comment: Option<&str>,
    who: &Pseudonyms,
    window_s: i64,
) -> Result<Recorded, StoreError> {
    let reason = reason.map(NotUsefulReason::code);
    let current = who.sender.as_slice().first().cloned();
    conn.transaction::<_, StoreError, _>(async |conn| {
        lock_service_votes(conn, service_id).await?;
        let earlier: Option<i64> = service_feedback::table
            .filter(service_feedback::service_id.eq(service_id))
            .filter(service_feedback::sender.eq_any(&who.sender))
            .filter(service_feedback::created_at.gt(recent(window_s)))
            .order(service_feedback::created_at.desc())
            .select(service_feedback::id)
            .first(conn)
            .await
            .optional()?;
        let values = (
            service_feedback::useful.eq(useful),
            service_feedback::reason.eq(reason),
            service_feedback::comment.eq(comment),
            service_feedback::sender.eq(&current),
            service_feedback::created_at.eq(diesel::dsl::now),
        );
        replace_or_insert!(conn, service_feedback, earlier, service_id, values)
    })
    .await
}

/// A recent rating's id, sender and protocol hashes.
type RatingMatch = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// Records a rating; one from the same sender on the same service within `window_s` seconds
/// replaces it. A protocol another sender rated within the window is refused.
pub async fn record_rating(
    conn: &mut AsyncPgConnection,
    service_id: Uuid,
    stars: i32,
    channel: RatingChannel,
    comment: Option<&str>,
    who: &Pseudonyms,
    window_s: i64,
) -> Result<Recorded, StoreError> {
    let stars = i16::try_from(stars).map_err(|_| StoreError::Corrupt("stars".into()))?;
    let sender = who.sender.as_slice().first().cloned();
    let protocol = who.protocol.as_slice().first().cloned();
    conn.transaction::<_, StoreError, _>(async |conn| {
        lock_service_votes(conn, service_id).await?;
        let recent_matches: Vec<RatingMatch> = service_ratings::table
            .filter(service_ratings::service_id.eq(service_id))
            .filter(
                service_ratings::sender
                    .eq_any(&who.sender)
                    .or(service_ratings::protocol.eq_any(&who.protocol)),
            )
            .filter(service_ratings::created_at.gt(recent(window_s)))
            .order(service_ratings::created_at.desc())
            .select((
                service_ratings::id,
                service_ratings::sender,
                service_ratings::protocol,
            ))
            .load(conn)
            .await?;
        let own =
            |sender: &Option<Vec<u8>>| sender.as_ref().is_some_and(|s| who.sender.contains(s));
        // A protocol is rated once; someone else naming it (a guess at a sequential number,
        // say) must not overwrite the citizen's rating.
        if recent_matches.iter().any(|(_, sender, protocol)| {
            protocol.as_ref().is_some_and(|p| who.protocol.contains(p)) && !own(sender)
        }) {
            return Ok(Recorded::ProtocolTaken);
        }
        let earlier = recent_matches
            .iter()
            .find(|(_, sender, _)| own(sender))
            .map(|(id, _, _)| *id);
        let values = (
            service_ratings::stars.eq(stars),
            service_ratings::channel.eq(channel.code()),
            service_ratings::comment.eq(comment),
            service_ratings::with_protocol.eq(protocol.is_some()),
            service_ratings::sender.eq(&sender),
            service_ratings::protocol.eq(&protocol),
            service_ratings::created_at.eq(diesel::dsl::now),
        );
        replace_or_insert!(conn, service_ratings, earlier, service_id, values)
    })
    .await
}

/// The database's "now minus `window_s` seconds".
fn recent(window_s: i64) -> diesel::expression::SqlLiteral<diesel::sql_types::Timestamptz> {
    sql(&format!("now() - interval '{} seconds'", window_s.max(0)))
}

/// Erases the pseudonyms of votes older than the window: after this, nothing links a vote to
/// its sender or to the sender's other votes.
pub async fn forget_senders(
    conn: &mut AsyncPgConnection,
    window_s: i64,
) -> Result<usize, StoreError> {
    let feedback = diesel::update(
        service_feedback::table
            .filter(service_feedback::sender.is_not_null())
            .filter(service_feedback::created_at.le(recent(window_s))),
    )
    .set(service_feedback::sender.eq(None::<Vec<u8>>))
    .execute(conn)
    .await?;
    let ratings = diesel::update(
        service_ratings::table
            .filter(
                service_ratings::sender
                    .is_not_null()
                    .or(service_ratings::protocol.is_not_null()),
            )
            .filter(service_ratings::created_at.le(recent(window_s))),
    )
    .set((
        service_ratings::sender.eq(None::<Vec<u8>>),
        service_ratings::protocol.eq(None::<Vec<u8>>),
    ))
    .execute(conn)
    .await?;
    Ok(feedback + ratings)
}

/// Every service's totals with the version of its votes (see the migration), for services that
/// ever had one.
pub async fn all_totals(
    conn: &mut AsyncPgConnection,
) -> Result<Vec<(Uuid, Opinion, i64)>, StoreError> {
    let rows: Vec<(Uuid, i32, i32, i32, i32, i64)> = service_opinion::table
        .select((
            service_opinion::service_id,
            service_opinion::useful,
            service_opinion::not_useful,
            service_opinion::ratings,
            service_opinion::stars_sum,
            service_opinion::version,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, useful, not_useful, ratings, stars_sum, version)| {
            let totals = opinion(
                useful.into(),
                not_useful.into(),
                ratings.into(),
                stars_sum.into(),
            );
            (id, totals, version)
        })
        .collect())
}

fn opinion(useful: i64, not_useful: i64, ratings: i64, stars_sum: i64) -> Opinion {
    Opinion {
        usefulness: Usefulness::new(useful, not_useful),
        satisfaction: RatingSummary::new(ratings, stars_sum),
    }
}

/// The totals of one service.
pub async fn service_totals(
    conn: &mut AsyncPgConnection,
    service_id: Uuid,
) -> Result<Opinion, StoreError> {
    let row: Option<(i32, i32, i32, i32)> = service_opinion::table
        .find(service_id)
        .select((
            service_opinion::useful,
            service_opinion::not_useful,
            service_opinion::ratings,
            service_opinion::stars_sum,
        ))
        .first(conn)
        .await
        .optional()?;
    let (useful, not_useful, ratings, stars_sum) = row.unwrap_or_default();
    Ok(opinion(
        useful.into(),
        not_useful.into(),
        ratings.into(),
        stars_sum.into(),
    ))
}

/// Whose votes a report covers.
#[derive(Debug, Clone, Copy)]
pub enum ReportScope {
    Service(Uuid),
    /// The organization's published services.
    Organization(Uuid),
}

/// The public report: usefulness, and satisfaction with its distribution and split by channel.
pub async fn report(
    conn: &mut AsyncPgConnection,
    scope: ReportScope,
) -> Result<OpinionReport, StoreError> {
    let services_in_scope = services::table
        .select(services::id)
        .filter(services::status.eq(PUBLISHED))
        .into_boxed();
    let services_in_scope = match scope {
        ReportScope::Service(id) => services_in_scope.filter(services::id.eq(id)),
        ReportScope::Organization(id) => services_in_scope.filter(services::organization_id.eq(id)),
    };
    let (useful, not_useful): (Option<i64>, Option<i64>) = service_opinion::table
        .filter(service_opinion::service_id.eq_any(services_in_scope))
        .select((
            sql::<Nullable<BigInt>>("sum(useful)::bigint"),
            sql::<Nullable<BigInt>>("sum(not_useful)::bigint"),
        ))
        .first(conn)
        .await?;

    let services_in_scope = services::table
        .select(services::id)
        .filter(services::status.eq(PUBLISHED))
        .into_boxed();
    let services_in_scope = match scope {
        ReportScope::Service(id) => services_in_scope.filter(services::id.eq(id)),
        ReportScope::Organization(id) => services_in_scope.filter(services::organization_id.eq(id)),
    };
    let groups: Vec<(String, i16, i64)> = service_ratings::table
        .filter(service_ratings::service_id.eq_any(services_in_scope))
        .group_by((service_ratings::channel, service_ratings::stars))
        .select((
            service_ratings::channel,
            service_ratings::stars,
            count_star(),
        ))
        .load(conn)
        .await?;

    let mut distribution = [0i64; 5];
    let mut by_channel: Vec<(RatingChannel, i64, i64)> = Vec::new();
    for (channel, stars, count) in groups {
        let channel = RatingChannel::from_code(&channel)
            .ok_or_else(|| StoreError::Corrupt(format!("rating channel {channel}")))?;
        let index = usize::try_from(stars - 1)
            .ok()
            .filter(|i| *i < 5)
            .ok_or_else(|| StoreError::Corrupt(format!("{stars} stars")))?;
        distribution[index] += count;
        match by_channel.iter_mut().find(|(c, _, _)| *c == channel) {
            Some(entry) => {
                entry.1 += count;
                entry.2 += count * i64::from(stars);
            }
            None => by_channel.push((channel, count, count * i64::from(stars))),
        }
    }
    by_channel.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let ratings: i64 = distribution.iter().sum();
    let stars_sum: i64 = by_channel.iter().map(|(_, _, sum)| sum).sum();
    Ok(OpinionReport {
        usefulness: Usefulness::new(useful.unwrap_or(0), not_useful.unwrap_or(0)),
        satisfaction: Satisfaction {
            summary: RatingSummary::new(ratings, stars_sum),
            distribution,
            by_channel: by_channel
                .into_iter()
                .map(|(channel, count, sum)| ChannelSatisfaction {
                    channel,
                    summary: RatingSummary::new(count, sum),
                })
                .collect(),
        },
    })
}

/// The organization's services (any status) matching `service` (id or slug), or all of them.
fn organization_services(
    organization_id: Uuid,
    service: Option<&str>,
) -> services::BoxedQuery<'static, diesel::pg::Pg, diesel::sql_types::Uuid> {
    let query = services::table
        .select(services::id)
        .filter(services::organization_id.eq(organization_id))
        .into_boxed();
    match service.map(|key| (Uuid::parse_str(key), key.to_owned())) {
        None => query,
        Some((Ok(id), _)) => query.filter(services::id.eq(id)),
        Some((Err(_), slug)) => query.filter(services::slug.eq(slug)),
    }
}

/// Agencies see when a vote was given to the hour: the exact instant could be matched against
/// other records (a proxy's log) to find who gave it.
fn to_the_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::DurationRound;
    at.duration_trunc(chrono::TimeDelta::hours(1)).unwrap_or(at)
}

/// An organization's usefulness votes, newest first.
pub async fn list_feedback(
    conn: &mut AsyncPgConnection,
    filter: &FeedbackFilter,
    page: PageRequest,
) -> Result<Page<FeedbackEntry>, StoreError> {
    macro_rules! filtered {
        () => {{
            let mut query = service_feedback::table
                .inner_join(services::table)
                .filter(service_feedback::service_id.eq_any(organization_services(
                    filter.organization_id,
                    filter.service.as_deref(),
                )))
                .into_boxed();
            if let Some(useful) = filter.useful {
                query = query.filter(service_feedback::useful.eq(useful));
            }
            if let Some(reason) = filter.reason {
                query = query.filter(service_feedback::reason.eq(reason.code()));
            }
            if let Some(since) = filter.since {
                query = query.filter(service_feedback::created_at.ge(since));
            }
            query
        }};
    }
    let total: i64 = filtered!().select(count_star()).first(conn).await?;
    type Row = (
        i64,
        Uuid,
        String,
        String,
        bool,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = filtered!()
        .order((
            service_feedback::created_at.desc(),
            service_feedback::id.desc(),
        ))
        .select((
            service_feedback::id,
            services::id,
            services::slug,
            services::name,
            service_feedback::useful,
            service_feedback::reason,
            service_feedback::comment,
            service_feedback::created_at,
        ))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    let items =
        rows.into_iter()
            .map(
                |(id, service_id, slug, name, useful, reason, comment, created_at)| {
                    let reason = match reason {
                        Some(code) => Some(NotUsefulReason::from_code(&code).ok_or_else(|| {
                            StoreError::Corrupt(format!("feedback reason {code}"))
                        })?),
                        None => None,
                    };
                    Ok(FeedbackEntry {
                        id,
                        service: ServiceMention {
                            id: service_id,
                            slug,
                            name,
                        },
                        useful,
                        reason,
                        comment,
                        created_at,
                    })
                },
            )
            .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page { items, total })
}

/// An organization's ratings, newest first.
pub async fn list_ratings(
    conn: &mut AsyncPgConnection,
    filter: &RatingFilter,
    page: PageRequest,
) -> Result<Page<RatingEntry>, StoreError> {
    macro_rules! filtered {
        () => {{
            let mut query = service_ratings::table
                .inner_join(services::table)
                .filter(service_ratings::service_id.eq_any(organization_services(
                    filter.organization_id,
                    filter.service.as_deref(),
                )))
                .into_boxed();
            if let Some(channel) = filter.channel {
                query = query.filter(service_ratings::channel.eq(channel.code()));
            }
            if let Some(stars) = filter.stars.and_then(|s| i16::try_from(s).ok()) {
                query = query.filter(service_ratings::stars.eq(stars));
            }
            if let Some(since) = filter.since {
                query = query.filter(service_ratings::created_at.ge(since));
            }
            query
        }};
    }
    let total: i64 = filtered!().select(count_star()).first(conn).await?;
    type Row = (
        i64,
        Uuid,
        String,
        String,
        i16,
        String,
        Option<String>,
        bool,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = filtered!()
        .order((
            service_ratings::created_at.desc(),
            service_ratings::id.desc(),
        ))
        .select((
            service_ratings::id,
            services::id,
            services::slug,
            services::name,
            service_ratings::stars,
            service_ratings::channel,
            service_ratings::comment,
            service_ratings::with_protocol,
            service_ratings::created_at,
        ))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(
            |(id, service_id, slug, name, stars, channel, comment, with_protocol, created_at)| {
                Ok(RatingEntry {
                    id,
                    service: ServiceMention {
                        id: service_id,
                        slug,
                        name,
                    },
                    stars: stars.into(),
                    channel: RatingChannel::from_code(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("rating channel {channel}")))?,
                    comment,
                    with_protocol,
                    created_at: to_the_hour(created_at),
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page { items, total })
}

/// The organization's published services, with what the panel counts of each.
pub async fn panel_services(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> Result<Vec<PanelInput>, StoreError> {
    let rows: Vec<(ServiceRow, OrganizationRow)> = services::table
        .inner_join(organizations::table)
        .filter(services::organization_id.eq(organization_id))
        .filter(services::status.eq(PUBLISHED))
        .order((services::name.asc(), services::id.asc()))
        .select((ServiceRow::as_select(), OrganizationRow::as_select()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(row, organization)| {
            let content = row.content()?;
            let checklist = checklist(&content, &organization.summary()?);
            Ok(PanelInput {
                service: ServiceMention {
                    id: row.id,
                    slug: row.slug.clone(),
                    name: content.name,
                },
                digital: row.digital,
                checklist_complete: checklist.complete,
                updated_at: row.updated_at,
            })
        })
        .collect()
}
