//! Building the index from PostgreSQL and following the change log afterwards.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use domain::search::ChangedEntity;
use persistence::search::{self as store, ChangeHorizon};
use persistence::DbPool;
use uuid::Uuid;

use super::{SearchError, SearchIndex};

/// Services read from the database per round trip while building.
const BUILD_PAGE: i64 = 2_000;

/// Where following the log stands.
#[derive(Default)]
pub(super) struct FollowState {
    /// Every change of a transaction below it has been applied.
    horizon: Option<ChangeHorizon>,
    /// Changes at or above the horizon already applied, by id, with their transaction.
    applied: HashMap<i64, i64>,
}

/// An index of every published service, following the database from the moment it was read.
pub async fn build(
    pool: &DbPool,
    settings: &super::SearchSettings,
) -> Result<Arc<SearchIndex>, SearchError> {
    let index = Arc::new(SearchIndex::new(settings)?);
    let mut conn = persistence::pool::connection(pool).await?;
    // Read before the catalogue: a change committed while we read is then applied again later,
    // which is harmless, rather than missed.
    let horizon = store::change_horizon(&mut conn).await?;
    index.set_vocabulary(store::vocabulary(&mut conn).await?)?;
    // Reading the next page overlaps with indexing this one.
    let (pages, mut received) = tokio::sync::mpsc::channel(2);
    let reader = tokio::spawn(async move {
        let mut after = None;
        loop {
            let page = match store::documents_after(&mut conn, after, BUILD_PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    let _ = pages.send(Err(error)).await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = Some(last.summary.id);
            if pages.send(Ok(page)).await.is_err() {
                return;
            }
        }
    });
    while let Some(page) = received.recv().await {
        let page = page?;
        let staging = Arc::clone(&index);
        // Tantivy indexes on its own threads; adding only queues the documents.
        tokio::task::spawn_blocking(move || staging.stage(page, &[]))
            .await
            .map_err(|_| SearchError::Poisoned)??;
    }
    reader.await.map_err(|_| SearchError::Poisoned)?;
    let publishing = Arc::clone(&index);
    tokio::task::spawn_blocking(move || publishing.publish(Vec::new()))
        .await
        .map_err(|_| SearchError::Poisoned)??;
    index.follow.lock().await.horizon = Some(horizon);
    Ok(index)
}

impl SearchIndex {
    /// Applies every change committed since the last call. Write paths call it after their commit
    /// so the writer's own instance shows the change at once; a follower task calls it on a timer
    /// for changes made elsewhere. Returns the number of changes applied.
    pub async fn catch_up(self: &Arc<Self>, pool: &DbPool) -> Result<usize, SearchError> {
        let mut state = self.follow.lock().await;
        let Some(from) = state.horizon else {
            return Ok(0);
        };
        let mut conn = persistence::pool::connection(pool).await?;
        let horizon = store::change_horizon(&mut conn).await?;
        let changes = store::changes_from(&mut conn, from).await?;
        let fresh: Vec<_> = changes
            .iter()
            .filter(|change| !state.applied.contains_key(&change.id))
            .collect();

        let mut services: HashSet<Uuid> = HashSet::new();
        let mut organizations = Vec::new();
        let mut topics = Vec::new();
        let mut vocabulary_changed = false;
        for change in &fresh {
            match change.entity {
                ChangedEntity::Service(id) => {
                    services.insert(id);
                }
                ChangedEntity::Organization(id) => {
                    organizations.push(id);
                    vocabulary_changed = true;
                }
                ChangedEntity::Topic(id) => {
                    topics.push(id);
                    vocabulary_changed = true;
                }
                ChangedEntity::LifeEvent(_)
                | ChangedEntity::Synonym
                | ChangedEntity::Municipality => vocabulary_changed = true,
                ChangedEntity::Location => {}
            }
        }
        if vocabulary_changed {
            self.set_vocabulary(store::vocabulary(&mut conn).await?)?;
        }
        if !organizations.is_empty() || !topics.is_empty() {
            services.extend(store::services_linked_to(&mut conn, &organizations, &topics).await?);
        }
        if !services.is_empty() {
            let ids: Vec<Uuid> = services.into_iter().collect();
            let mut documents = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(BUILD_PAGE as usize) {
                documents.extend(store::documents_by_id(&mut conn, chunk).await?);
            }
            let public: HashSet<Uuid> = documents.iter().map(|d| d.summary.id).collect();
            let removed: Vec<Uuid> = ids.into_iter().filter(|id| !public.contains(id)).collect();
            let applying = Arc::clone(self);
            tokio::task::spawn_blocking(move || {
                let stale = applying.stage(documents, &removed)?;
                applying.publish(stale)
            })
            .await
            .map_err(|_| SearchError::Poisoned)??;
        }

        let applied = fresh.len();
        if applied > 0 {
            // Pages rendered from what changed (a service unit, say) must not be served again,
            // even when the index itself did not change.
            self.invalidate();
        }
        let fresh_ids: Vec<(i64, i64)> = fresh.iter().map(|c| (c.id, c.transaction)).collect();
        state.applied.extend(fresh_ids);
        // Below the new horizon nothing will be read again.
        state
            .applied
            .retain(|_, transaction| *transaction >= horizon.0);
        state.horizon = Some(horizon);
        Ok(applied)
    }
}

/// Follows the change log every `every` while the index is in use.
pub fn spawn_follower(
    index: &Arc<SearchIndex>,
    pool: DbPool,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let index = Arc::downgrade(index);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(index) = index.upgrade() else { break };
            if let Err(error) = index.catch_up(&pool).await {
                tracing::warn!(%error, "search index could not follow the catalogue; will retry");
            }
        }
    })
}
