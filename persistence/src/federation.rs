//! Federation: storing the records of another portal's feed (matched by source and external id,
//! never duplicated) and reading the published catalogue page by page for exports.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::organization::{Branch, ExternalCodes, OrganizationDraft, OrganizationKind, Sphere};
use domain::service::{Service, ServiceDraft, ServiceStatus, SourceRef};
use domain::validation::{RESERVED_SERVICE_SLUGS, SLUG_MAX};
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

use crate::rows::{OrganizationRow, ServiceRow};
use crate::schema::{organizations, services};
use crate::writes::{self, save_organization, OrganizationKey, Outcome, Saved};
use crate::StoreError;

/// Who provides a feed record's service.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedProvider {
    /// The provider as the feed names it: matched within the source by its id, else by its
    /// name, and created when missing.
    Named {
        external_id: Option<String>,
        name: String,
        website: Option<String>,
        /// Sphere given to a provider created here.
        sphere: Sphere,
    },
    /// An organization already stored, by slug (for records that name no provider).
    Existing(String),
}

/// A slug no other record of the table holds: `base`, then `base-suffix`, `base-suffix-2`...
/// each cut to fit [`SLUG_MAX`].
fn slug_candidate(base: &str, suffix: &str, attempt: usize) -> String {
    let tail = match attempt {
        0 => String::new(),
        1 => format!("-{suffix}"),
        n => format!("-{suffix}-{n}"),
    };
    let room = SLUG_MAX.saturating_sub(tail.len());
    // Slugs are ASCII: byte indexes are char indexes.
    let head = base[..base.len().min(room)].trim_end_matches('-');
    format!("{head}{tail}")
}

/// The first of `base`'s candidates for `source` that no row of `$table` holds and that is not
/// one of the `$reserved` slugs (addresses the API keeps for itself).
macro_rules! free_slug {
    ($conn:expr, $table:ident, $base:expr, $source:expr, $reserved:expr) => {{
        let reserved: &[&str] = $reserved;
        let mut attempt = 0;
        loop {
            let candidate = slug_candidate($base, $source, attempt);
            let taken: i64 = match reserved.contains(&candidate.as_str()) {
                true => 1,
                false => {
                    $table::table
                        .filter($table::slug.eq(&candidate))
                        .count()
                        .get_result($conn)
                        .await?
                }
            };
            if taken == 0 {
                break candidate;
            }
            attempt += 1;
        }
    }};
}

/// The slug of the provider, found or created. The feed is the authority on the name and site of
/// the providers it introduced; anything else edited here about them is kept.
async fn provider_slug(
    conn: &mut AsyncPgConnection,
    source: &str,
    provider: &FeedProvider,
    base_slug: &str,
) -> Result<String, StoreError> {
    let (external_id, name, website, sphere) = match provider {
        FeedProvider::Existing(slug) => {
            return organizations::table
                .filter(organizations::slug.eq(slug))
                .select(organizations::slug)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| StoreError::missing("organization", slug));
        }
        FeedProvider::Named {
            external_id,
            name,
            website,
            sphere,
        } => (external_id, name, website, *sphere),
    };
    let found: Option<(Uuid, String)> = match external_id {
        Some(external_id) => organizations::table
            .filter(organizations::source.eq(source))
            .filter(organizations::external_id.eq(external_id))
            .select((organizations::id, organizations::slug))
            .first(conn)
            .await
            .optional()?,
        None => organizations::table
            .filter(organizations::source.eq(source))
            .filter(organizations::name.eq(name))
            .select((organizations::id, organizations::slug))
            .order(organizations::created_at.asc())
            .first(conn)
            .await
            .optional()?,
    };
    if let Some((id, slug)) = found {
        diesel::update(organizations::table.find(id))
            .filter(
                organizations::name
                    .ne(name)
                    .or(organizations::website.is_distinct_from(website)),
            )
            .set((
                organizations::name.eq(name),
                organizations::website.eq(website),
                organizations::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        return Ok(slug);
    }
    let draft = OrganizationDraft {
        slug: free_slug!(conn, organizations, base_slug, source, &[]),
        name: name.clone(),
        acronym: None,
        kind: match sphere {
            Sphere::Municipal => OrganizationKind::Municipality,
            Sphere::Private => OrganizationKind::PrivateCompany,
            Sphere::Federal | Sphere::State => OrganizationKind::Other,
        },
        sphere,
        branch: match sphere {
            Sphere::Private => Branch::None,
            _ => Branch::Executive,
        },
        parent: None,
        codes: ExternalCodes::default(),
        description: None,
        contact: None,
        website: website.clone(),
        ombudsman_url: None,
        source: Some(source.to_owned()),
    };
    let (id, slug) = save_organization(conn, &draft, OrganizationKey::Slug, false).await?;
    diesel::update(organizations::table.find(id))
        .set(organizations::external_id.eq(external_id))
        .execute(conn)
        .await?;
    Ok(slug)
}

/// The slug of an imported service: the one it was stored under (so links to it keep working),
/// else the first free one from `wished` that the API does not keep for itself.
pub(crate) async fn service_slug(
    conn: &mut AsyncPgConnection,
    source: &SourceRef,
    wished: &str,
) -> Result<String, StoreError> {
    let stored: Option<String> = services::table
        .filter(services::source.eq(&source.source))
        .filter(services::external_id.eq(&source.external_id))
        .select(services::slug)
        .first(conn)
        .await
        .optional()?;
    Ok(match stored {
        Some(slug) => slug,
        None => free_slug!(
            conn,
            services,
            wished,
            &source.source,
            RESERVED_SERVICE_SLUGS
        ),
    })
}

/// Saves one feed record, all or nothing. `draft` must carry its source; its slug is the wanted
/// one for a new service (the stored slug of a known one stays, so links to it keep working) and
/// its organization is ignored: `provider` names it, with `provider_slug` as the slug wanted for a
/// provider created here. `raw` is the record as the source sent it.
pub async fn save_feed_service(
    conn: &mut AsyncPgConnection,
    provider: &FeedProvider,
    provider_base_slug: &str,
    draft: &ServiceDraft,
    raw: &serde_json::Value,
) -> Result<Saved, StoreError> {
    let Some(source) = draft.source.clone() else {
        return Err(StoreError::missing(
            "source of the record",
            &draft.form.slug,
        ));
    };
    conn.transaction::<_, StoreError, _>(async |conn| {
        let mut draft = draft.clone();
        draft.form.organization =
            provider_slug(conn, &source.source, provider, provider_base_slug).await?;
        draft.form.slug = service_slug(conn, &source, &draft.form.slug).await?;
        let mut saved = writes::save_service_in_transaction(conn, &draft).await?;
        let raw_changed = diesel::update(services::table.find(saved.id))
            .filter(services::source_data.is_distinct_from(raw))
            .set(services::source_data.eq(raw))
            .execute(conn)
            .await?;
        if raw_changed > 0 && saved.outcome == Outcome::Unchanged {
            saved.outcome = Outcome::Updated;
        }
        Ok(saved)
    })
    .await
}

/// Archives the published services of `source` whose external id is not in `present`: the
/// source no longer offers them. Returns how many. Their fingerprint is cleared, so a record
/// that comes back is written again (and published) by the next import.
pub async fn archive_dropped(
    conn: &mut AsyncPgConnection,
    source: &str,
    present: &[String],
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        services::table
            .filter(services::source.eq(source))
            .filter(services::status.eq(ServiceStatus::Published.as_str()))
            .filter(diesel::dsl::not(services::external_id.eq_any(present))),
    )
    .set((
        services::status.eq(ServiceStatus::Archived.as_str()),
        services::fingerprint.eq(""),
        services::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await?)
}

/// Which published services an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// The whole public catalogue.
    All,
    /// Only the catalogue's own services, not those imported from other portals.
    OwnOnly,
}

/// Up to `limit` published services after `after`, in id order: keyset pages.
async fn published_page(
    conn: &mut AsyncPgConnection,
    scope: ExportScope,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Service>, StoreError> {
    let mut query = services::table
        .inner_join(organizations::table)
        .select((ServiceRow::as_select(), OrganizationRow::as_select()))
        .filter(services::status.eq(ServiceStatus::Published.as_str()))
        .into_boxed();
    if scope == ExportScope::OwnOnly {
        query = query.filter(services::source.is_null());
    }
    if let Some(after) = after {
        query = query.filter(services::id.gt(after));
    }
    let rows: Vec<(ServiceRow, OrganizationRow)> = query
        .order(services::id.asc())
        .limit(limit)
        .load(conn)
        .await?;
    crate::reads::assemble_services(conn, rows).await
}

/// Sends the published services to `pages`, `page_size` at a time, all read from one snapshot
/// (a REPEATABLE READ, READ ONLY transaction): an export is consistent however long the client
/// takes to read it, and holds one page in memory. Stops early, without error, when the receiver
/// is gone; a failure is sent as the last item.
pub async fn send_published_services(
    conn: &mut AsyncPgConnection,
    scope: ExportScope,
    page_size: i64,
    pages: Sender<Result<Vec<Service>, StoreError>>,
) {
    let result = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let mut after = None;
            loop {
                let page = published_page(conn, scope, after, page_size).await?;
                let Some(last) = page.last() else {
                    return Ok(());
                };
                after = Some(last.id);
                let full = page.len() as i64 == page_size;
                if pages.send(Ok(page)).await.is_err() || !full {
                    return Ok(());
                }
            }
        })
        .await;
    if let Err(error) = result {
        let _ = pages.send(Err(error)).await;
    }
}

/// The website of every organization that has one (a few hundred rows: read once per feed).
pub async fn organization_websites(
    conn: &mut AsyncPgConnection,
) -> Result<HashMap<Uuid, String>, StoreError> {
    let rows: Vec<(Uuid, String)> = organizations::table
        .filter(organizations::website.is_not_null())
        .select((organizations::id, organizations::website.assume_not_null()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_candidates_add_the_source_then_a_number_and_fit() {
        assert_eq!(slug_candidate("alvara", "cuiaba", 0), "alvara");
        assert_eq!(slug_candidate("alvara", "cuiaba", 1), "alvara-cuiaba");
        assert_eq!(slug_candidate("alvara", "cuiaba", 3), "alvara-cuiaba-3");
        let long = "a-".repeat(150) + "b";
        let candidate = slug_candidate(&long, "cuiaba", 2);
        assert!(candidate.len() <= SLUG_MAX);
        assert!(domain::validation::is_valid_slug(&candidate), "{candidate}");
    }
}
