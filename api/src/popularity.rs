//! Popularity: views of public service pages, counted in memory and flushed in batches, and the
//! scores read back for ordering and for a mild search boost.
//!
//! A view costs an atomic increment: nothing is written per view. Every `CARTA_VIEWS_FLUSH_MS` a
//! background task adds the counts to the database in one statement
//! (`persistence::popularity::record_views`), which also refreshes the scores of the services
//! counted. Scores are views of the last [`WINDOW_DAYS`] days.
//!
//! Answers ordered by popularity are cached like every other, under keys that carry the
//! popularity epoch: it moves when this instance's copy of the scores changes, so those answers
//! are recomputed while the rest of the cache stays. The copy changes after each flush that
//! counted something here, and at each reload of every score (every [`RELOAD_EVERY`]), which
//! brings other instances' views and the window's daily move.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use persistence::{DbPool, StoreError};
use uuid::Uuid;

use crate::search::SearchIndex;

pub use persistence::popularity::WINDOW_DAYS;

/// How often every score is read again: other instances' views and the window's move reach this
/// instance's copy (and the answers it orders) within this, plus their flush interval.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);
/// The strongest boost popularity gives a search score: the most viewed service's score is
/// multiplied by 1 + this. Enough to order near-ties, never to pass a clearly better match.
pub const MAX_BOOST: f32 = 0.1;
/// Marks the cache keys of answers that depend on popularity; never in a path or query string
/// (a fragment is not sent).
const EPOCH_MARK: &str = "#popularity=";

/// A copy of the scores (views in the window) of every service viewed in it.
#[derive(Debug, Default)]
pub struct Scores {
    views: HashMap<Uuid, u64>,
    /// ln(1 + the highest score): boosts are shares of it.
    log_max: f32,
}

impl Scores {
    fn new(views: HashMap<Uuid, u64>) -> Scores {
        let max = views.values().copied().max().unwrap_or(0);
        Scores {
            views,
            log_max: (max as f32).ln_1p(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Views of the service in the window.
    pub fn views(&self, id: &Uuid) -> u64 {
        self.views.get(id).copied().unwrap_or(0)
    }

    /// What a search multiplies the service's score by: 1 without views, up to 1 + [`MAX_BOOST`]
    /// for the most viewed, on a log scale (ten times the views is not ten times the boost).
    pub fn boost(&self, views: u64) -> f32 {
        if views == 0 || self.log_max <= 0.0 {
            return 1.0;
        }
        1.0 + MAX_BOOST * ((views as f32).ln_1p() / self.log_max).min(1.0)
    }
}

/// Marks a response that depends on popularity: its `Last-Modified` also follows the scores.
#[derive(Clone, Copy)]
pub struct DependsOnPopularity;

/// Views counted since the last flush, and where this instance's copy of the scores stands.
pub struct Popularity {
    /// Read-locked to count a service already counted since the flush (an atomic increment),
    /// write-locked only for its first view and by the flush, which takes the whole map.
    counts: RwLock<HashMap<Uuid, AtomicU64>>,
    /// Moves whenever the copy of the scores changes.
    epoch: AtomicU64,
    /// When the copy last changed (Unix seconds; 0: never).
    modified_at: AtomicU64,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
}

impl Default for Popularity {
    fn default() -> Self {
        Popularity {
            counts: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            modified_at: AtomicU64::new(0),
            flushing: tokio::sync::Mutex::new(()),
        }
    }
}

impl Popularity {
    /// Counts one view of a published service's page.
    pub fn count(&self, id: Uuid) {
        {
            let counts = self.counts.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = counts.get(&id) {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.counts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Views counted and not yet flushed.
    pub fn pending(&self) -> u64 {
        self.counts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    fn take(&self) -> Vec<(Uuid, i64)> {
        std::mem::take(&mut *self.counts.write().unwrap_or_else(PoisonError::into_inner))
            .into_iter()
            .map(|(id, count)| (id, i64::try_from(count.into_inner()).unwrap_or(i64::MAX)))
            .filter(|(_, views)| *views > 0)
            .collect()
    }

    /// Puts back counts a failed flush could not write, for the next one.
    fn restore(&self, taken: Vec<(Uuid, i64)>) {
        let mut counts = self.counts.write().unwrap_or_else(PoisonError::into_inner);
        for (id, views) in taken {
            counts
                .entry(id)
                .or_default()
                .fetch_add(u64::try_from(views).unwrap_or(0), Ordering::Relaxed);
        }
    }

    /// The popularity epoch: part of the cache key of every answer ordered by popularity.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The cache key of an answer to `req` that depends on popularity.
    pub fn cache_key(&self, req: &actix_web::HttpRequest) -> String {
        format!(
            "{}?{}{EPOCH_MARK}{}",
            req.path(),
            req.query_string(),
            self.epoch()
        )
    }

    /// When this instance's copy of the scores last changed (the Unix epoch if never).
    pub fn modified_at(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(self.modified_at.load(Ordering::SeqCst))
    }

    /// Writes the views counted since the last flush (one statement, one transaction) and
    /// updates the copy of the scores the search ranks with. With `reload`, also moves every
    /// score's window when the day changed and reads every score again. Counts that could not be
    /// written are kept for the next flush.
    pub async fn flush(
        &self,
        pool: &DbPool,
        search: &SearchIndex,
        reload: bool,
    ) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        let counts = self.take();
        if counts.is_empty() && !reload {
            return Ok(());
        }
        let mut conn = match persistence::pool::connection(pool).await {
            Ok(conn) => conn,
            Err(error) => {
                self.restore(counts);
                return Err(error);
            }
        };
        let touched = match persistence::popularity::record_views(&mut conn, &counts).await {
            Ok(touched) => touched,
            Err(error) => {
                self.restore(counts);
                return Err(error);
            }
        };
        let current = search.popularity();
        let views = if reload {
            persistence::popularity::scores(&mut conn)
                .await?
                .into_iter()
                .map(|(id, score)| (id, u64::try_from(score).unwrap_or(0)))
                .collect()
        } else {
            let mut views = current.views.clone();
            views.extend(
                touched
                    .into_iter()
                    .map(|(id, score)| (id, u64::try_from(score).unwrap_or(0))),
            );
            views
        };
        if views != current.views {
            search.set_popularity(Arc::new(Scores::new(views)));
            // After the new scores are visible: a request that reads the new epoch ranks with
            // them, and its answer is never dated later than its content.
            self.epoch.fetch_add(1, Ordering::SeqCst);
            search.forget_answers_keyed(EPOCH_MARK);
            self.modified_at.fetch_max(
                crate::http_caching::unix_seconds(std::time::SystemTime::now()),
                Ordering::SeqCst,
            );
        }
        Ok(())
    }
}

/// Flushes the views every `every`, and reads every score again every [`RELOAD_EVERY`], while
/// the state is in use.
pub fn spawn_flusher(
    popularity: &Arc<Popularity>,
    search: &Arc<SearchIndex>,
    pool: DbPool,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let popularity = Arc::downgrade(popularity);
    let search = Arc::downgrade(search);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The state was loaded at start.
        ticks.tick().await;
        let mut reloaded = Instant::now();
        loop {
            ticks.tick().await;
            let (Some(popularity), Some(search)) = (popularity.upgrade(), search.upgrade()) else {
                break;
            };
            let reload = reloaded.elapsed() >= RELOAD_EVERY;
            if reload {
                reloaded = Instant::now();
            }
            if let Err(error) = popularity.flush(&pool, &search, reload).await {
                tracing::warn!(%error, "could not flush the view counts; will retry");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boost_is_mild_log_scaled_and_neutral_without_views() {
        let most = Uuid::from_u128(1);
        let some = Uuid::from_u128(2);
        let scores = Scores::new(HashMap::from([(most, 1000), (some, 10)]));
        assert_eq!(scores.boost(0), 1.0);
        assert!((scores.boost(scores.views(&most)) - (1.0 + MAX_BOOST)).abs() < 1e-6);
        let share = scores.boost(scores.views(&some)) - 1.0;
        // Log-scaled: a hundredth of the views is a third of the boost, not a hundredth.
        assert!(
            share > 0.3 * MAX_BOOST && share < 0.4 * MAX_BOOST,
            "{share}"
        );
        assert_eq!(Scores::default().boost(5), 1.0);
        assert_eq!(scores.views(&Uuid::from_u128(3)), 0);
    }

    #[test]
    fn views_are_taken_once_and_restored_after_a_failed_flush() {
        let popularity = Popularity::default();
        let id = Uuid::from_u128(7);
        for _ in 0..3 {
            popularity.count(id);
        }
        assert_eq!(popularity.pending(), 3);
        let taken = popularity.take();
        assert_eq!(taken, vec![(id, 3)]);
        assert_eq!(popularity.pending(), 0);
        popularity.count(id);
        popularity.restore(taken);
        assert_eq!(popularity.pending(), 4);
    }
}
