//! Popularity: views of public service pages, counted in memory and flushed in batches, and the
//! scores read back for ordering and for a mild search boost.
//!
//! A view costs a short critical section: nothing is written per view. Each client (address) is
//! counted at most once per service and flush window, so reloading a page does not inflate its
//! views. Every `CARTA_VIEWS_FLUSH_MS` a background task adds the counts to the database in one
//! statement (`persistence::popularity::record_views`), which also refreshes the scores of the
//! services counted. Scores are views of the last [`WINDOW_DAYS`] days.
//!
//! Answers that depend on popularity are cached like every other, under keys that carry an
//! epoch, so they are recomputed while the rest of the cache stays:
//! - the popularity epoch (`sort=popular`, `/v1/services/popular`) moves when this instance's
//!   copy of the scores changes: after each flush that counted something here, and at each
//!   reread of every score (every [`RELOAD_EVERY`]), which brings other instances' views and the
//!   window's daily move;
//! - the boost epoch (searches ranked by relevance) moves only at those rereads, and only when
//!   some service's boost, quantized to [`BOOST_LEVELS`] steps, changed: views alone do not drop
//!   every cached search every few seconds.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use persistence::{DbPool, StoreError};
use uuid::Uuid;

use crate::search::SearchIndex;

pub use persistence::popularity::WINDOW_DAYS;

/// How often every score is read again: other instances' views and the window's move reach this
/// instance's copy (and the answers it orders) within this, plus their flush interval. Also the
/// only moment the search boosts change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);
/// The strongest boost popularity gives a search score: the most viewed service's score is
/// multiplied by 1 + this. Enough to order near-ties, never to pass a clearly better match.
pub const MAX_BOOST: f32 = 0.1;
/// The boost moves in steps of `MAX_BOOST / BOOST_LEVELS` (0 to 10 tenths): a few more views
/// rarely change any service's step, so the cached searches survive most rereads.
pub const BOOST_LEVELS: u8 = 10;
/// The boost's scale tops out at the most viewed service's views, but never below this: on a
/// quiet instance one view does not earn the full boost.
pub const FULL_BOOST_VIEWS_AT_LEAST: u64 = 100;
/// Distinct (client, service) pairs remembered per flush window. Beyond it, views from pairs not
/// seen yet are not counted until the next flush, rather than counted without deduplication:
/// otherwise a flood of addresses would fill the set and then inflate a service without bound.
/// Memory stays bounded (about 1 MB), and real traffic far below it (at the default 10 s
/// interval, 10,000 distinct (reader, service) pairs a second).
pub const MAX_CLIENTS_PER_WINDOW: usize = 100_000;
/// The shortest flush interval `CARTA_VIEWS_FLUSH_MS` accepts: each flush is a transaction.
pub const MIN_FLUSH_EVERY_MS: u64 = 1_000;
/// Mark the cache keys of answers that depend on popularity; never in a path or query string
/// (a fragment is not sent).
const EPOCH_MARK: &str = "#popularity=";
/// Reads answered without `Last-Modified` (see [`DependsOnPopularity::Stored`]), for the OpenAPI
/// document.
pub const UNDATED_READS: &[&str] = &["/v1/services/popular"];
const BOOST_MARK: &str = "#boost=";

/// Parses `CARTA_VIEWS_FLUSH_MS`: at least [`MIN_FLUSH_EVERY_MS`].
pub fn parse_flush_every_ms(value: &str) -> Result<u64, String> {
    let ms: u64 = value
        .trim()
        .parse()
        .map_err(|_| format!("not a number of milliseconds: {value}"))?;
    if ms < MIN_FLUSH_EVERY_MS {
        return Err(format!(
            "{ms} ms is too short: use at least {MIN_FLUSH_EVERY_MS} ms (each flush is a database transaction)"
        ));
    }
    Ok(ms)
}

/// A copy of the scores (views in the window) of every service viewed in it: the `popular`
/// order of searches.
#[derive(Debug, Default)]
pub struct Scores {
    views: HashMap<Uuid, u64>,
}

impl Scores {
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Views of the service in the window.
    pub fn views(&self, id: &Uuid) -> u64 {
        self.views.get(id).copied().unwrap_or(0)
    }
}

/// The search boost of every service viewed in the window, as a step of 0 to [`BOOST_LEVELS`].
/// Computed at each reread of every score only.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Boosts {
    levels: HashMap<Uuid, u8>,
}

impl Boosts {
    /// On a log scale (ten times the views is not ten times the boost), relative to the most
    /// viewed service or [`FULL_BOOST_VIEWS_AT_LEAST`], whichever is more.
    pub fn from_views(views: &HashMap<Uuid, u64>) -> Boosts {
        let top = views
            .values()
            .copied()
            .max()
            .unwrap_or(0)
            .max(FULL_BOOST_VIEWS_AT_LEAST);
        let log_top = (top as f64).ln_1p();
        let levels = views
            .iter()
            .filter_map(|(id, views)| {
                let share = ((*views as f64).ln_1p() / log_top).min(1.0);
                let level = (share * f64::from(BOOST_LEVELS)).round() as u8;
                (level > 0).then_some((*id, level))
            })
            .collect();
        Boosts { levels }
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The service's step, 0 to [`BOOST_LEVELS`].
    pub fn level(&self, id: &Uuid) -> u8 {
        self.levels.get(id).copied().unwrap_or(0)
    }

    /// What a search multiplies the service's score by: 1 without views, up to 1 + [`MAX_BOOST`].
    pub fn boost(&self, id: &Uuid) -> f32 {
        boost_at(self.level(id))
    }
}

/// The factor of a boost step.
pub fn boost_at(level: u8) -> f32 {
    1.0 + MAX_BOOST * f32::from(level) / f32::from(BOOST_LEVELS)
}

/// Marks a response that depends on popularity, and so how it may be dated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DependsOnPopularity {
    /// Ordered by this instance's copy of the scores: dated by its last change too.
    Views,
    /// Ranked with this instance's search boosts: dated by their last change too.
    Boost,
    /// Read from the database, which other instances' flushes change at any moment: not dated
    /// (`ETag` only), or `If-Modified-Since` could confirm an order that has moved.
    Stored,
}

/// Views counted in the current flush window.
struct Window {
    counts: HashMap<Uuid, u64>,
    /// Keyed hashes of the (client, service) pairs counted: no address is kept, and the key,
    /// random per window, is dropped with it.
    seen: HashSet<u64>,
    key: RandomState,
    /// The cap was reached (logged once per window).
    full: bool,
}

impl Window {
    fn new() -> Window {
        Window {
            counts: HashMap::new(),
            seen: HashSet::new(),
            key: RandomState::new(),
            full: false,
        }
    }
}

/// Who read a page, for counting each reader once per window. An IPv6 client is its /64 (one
/// subscriber's network: its hosts pick addresses at will); no address (never over TCP) is one
/// unknown client.
fn client_key(client: Option<IpAddr>) -> [u8; 16] {
    match client {
        Some(IpAddr::V4(address)) => address.to_ipv6_mapped().octets(),
        Some(IpAddr::V6(address)) => {
            let mut octets = address.octets();
            octets[8..].fill(0);
            octets
        }
        None => [0; 16],
    }
}

/// Views counted since the last flush, and where this instance's copies of the scores and boosts
/// stand.
pub struct Popularity {
    /// Locked briefly per view (a set lookup and an increment) and by the flush, which takes it
    /// whole.
    window: Mutex<Window>,
    max_clients: usize,
    /// Moves whenever the copy of the scores changes.
    epoch: AtomicU64,
    /// When the copy last changed (Unix seconds; 0: never).
    modified_at: AtomicU64,
    /// Moves whenever some service's boost step changes.
    boost_epoch: AtomicU64,
    /// When the boosts last changed (Unix seconds; 0: never).
    boost_modified_at: AtomicU64,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
}

impl Default for Popularity {
    fn default() -> Self {
        Popularity::with_max_clients(MAX_CLIENTS_PER_WINDOW)
    }
}

impl Popularity {
    fn with_max_clients(max_clients: usize) -> Popularity {
        Popularity {
            window: Mutex::new(Window::new()),
            max_clients,
            epoch: AtomicU64::new(0),
            modified_at: AtomicU64::new(0),
            boost_epoch: AtomicU64::new(0),
            boost_modified_at: AtomicU64::new(0),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    /// Counts one view of a published service's page by `client`, unless that client was
    /// already counted on that service since the last flush. Returns whether it counted.
    pub fn count(&self, id: Uuid, client: Option<IpAddr>) -> bool {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let pair = window.key.hash_one((client_key(client), id));
        if window.seen.contains(&pair) {
            return false;
        }
        if window.seen.len() >= self.max_clients {
            if !window.full {
                window.full = true;
                tracing::warn!(
                    max = self.max_clients,
                    "too many distinct readers in this view window: new ones are not counted until the next flush"
                );
            }
            return false;
        }
        window.seen.insert(pair);
        *window.counts.entry(id).or_default() += 1;
        true
    }

    /// Views counted and not yet flushed.
    pub fn pending(&self) -> u64 {
        self.window
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts
            .values()
            .sum()
    }

    /// Ends the window: its counts, and a fresh window (who was counted is forgotten).
    fn take(&self) -> Vec<(Uuid, i64)> {
        let window = std::mem::replace(
            &mut *self.window.lock().unwrap_or_else(PoisonError::into_inner),
            Window::new(),
        );
        window
            .counts
            .into_iter()
            .map(|(id, count)| (id, i64::try_from(count).unwrap_or(i64::MAX)))
            .filter(|(_, views)| *views > 0)
            .collect()
    }

    /// Puts back counts a failed flush could not write, for the next one.
    fn restore(&self, taken: Vec<(Uuid, i64)>) {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, views) in taken {
            *window.counts.entry(id).or_default() += u64::try_from(views).unwrap_or(0);
        }
    }

    /// The popularity epoch: part of the cache key of every answer ordered by views.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The boost epoch: part of the cache key of every search ranked by relevance.
    pub fn boost_epoch(&self) -> u64 {
        self.boost_epoch.load(Ordering::SeqCst)
    }

    /// The cache key of an answer to `req` ordered by views.
    pub fn cache_key(&self, req: &actix_web::HttpRequest) -> String {
        keyed(req, EPOCH_MARK, self.epoch())
    }

    /// The cache key of a search answer to `req` ranked with the boosts.
    pub fn boost_cache_key(&self, req: &actix_web::HttpRequest) -> String {
        keyed(req, BOOST_MARK, self.boost_epoch())
    }

    /// When this instance's copy of the scores last changed (the Unix epoch if never).
    pub fn modified_at(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(self.modified_at.load(Ordering::SeqCst))
    }

    /// When this instance's boosts last changed (the Unix epoch if never).
    pub fn boost_modified_at(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(self.boost_modified_at.load(Ordering::SeqCst))
    }

    /// Writes the views counted since the last flush (one statement, one transaction) and
    /// updates the copy of the scores `sort=popular` searches order by. With `reload`, also
    /// moves every score's window when the day changed, reads every score again and recomputes
    /// the search boosts. Counts that could not be written are kept for the next flush.
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
        let now = || crate::http_caching::unix_seconds(std::time::SystemTime::now());
        if reload {
            let boosts = Boosts::from_views(&views);
            if boosts != *search.boosts() {
                search.set_boosts(Arc::new(boosts));
                // After the new boosts are visible: a request that reads the new epoch ranks
                // with them, and its answer is never dated later than its content.
                self.boost_epoch.fetch_add(1, Ordering::SeqCst);
                search.forget_answers_keyed(BOOST_MARK);
                self.boost_modified_at.fetch_max(now(), Ordering::SeqCst);
            }
        }
        if views != current.views {
            search.set_popularity(Arc::new(Scores { views }));
            self.epoch.fetch_add(1, Ordering::SeqCst);
            search.forget_answers_keyed(EPOCH_MARK);
            self.modified_at.fetch_max(now(), Ordering::SeqCst);
        }
        Ok(())
    }
}

fn keyed(req: &actix_web::HttpRequest, mark: &str, epoch: u64) -> String {
    format!("{}?{}{mark}{epoch}", req.path(), req.query_string())
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
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn address(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])))
    }

    #[test]
    fn the_boost_is_mild_log_scaled_quantized_and_neutral_without_views() {
        let most = Uuid::from_u128(1);
        let some = Uuid::from_u128(2);
        let boosts = Boosts::from_views(&HashMap::from([(most, 1000), (some, 10)]));
        assert_eq!(boosts.boost(&Uuid::from_u128(3)), 1.0);
        assert!((boosts.boost(&most) - (1.0 + MAX_BOOST)).abs() < 1e-6);
        // Log-scaled: a hundredth of the views is about a third of the boost, not a hundredth,
        // in tenths of it.
        assert_eq!(boosts.level(&some), 3);
        assert!((boosts.boost(&some) - (1.0 + 0.3 * MAX_BOOST)).abs() < 1e-6);
        assert!(Boosts::default().is_empty());
        assert_eq!(Boosts::default().boost(&most), 1.0);
    }

    #[test]
    fn one_view_on_a_quiet_instance_is_not_the_full_boost() {
        let only = Uuid::from_u128(1);
        let boosts = Boosts::from_views(&HashMap::from([(only, 1)]));
        // ln 2 / ln 101: 15% of the scale, rounded to two tenths.
        assert_eq!(boosts.level(&only), 2);
        let busy = Boosts::from_views(&HashMap::from([(only, 100)]));
        assert_eq!(busy.level(&only), BOOST_LEVELS);
    }

    #[test]
    fn a_few_more_views_rarely_change_a_step() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let before = Boosts::from_views(&HashMap::from([(a, 5000), (b, 300)]));
        let after = Boosts::from_views(&HashMap::from([(a, 5004), (b, 303)]));
        assert_eq!(before, after);
    }

    #[test]
    fn a_client_counts_once_per_service_and_window() {
        let popularity = Popularity::default();
        let page = Uuid::from_u128(7);
        let other = Uuid::from_u128(8);
        assert!(popularity.count(page, address("203.0.113.5")));
        assert!(!popularity.count(page, address("203.0.113.5")));
        // Another service, another client: counted.
        assert!(popularity.count(other, address("203.0.113.5")));
        assert!(popularity.count(page, address("203.0.113.6")));
        // One IPv6 subscriber network is one client, whatever host address it picks.
        assert!(popularity.count(page, address("2001:db8:1:2::1")));
        assert!(!popularity.count(page, address("2001:db8:1:2:ffff::9")));
        assert!(popularity.count(page, address("2001:db8:1:3::1")));
        assert_eq!(popularity.pending(), 5);
        // A new window forgets who was counted.
        assert_eq!(popularity.take().len(), 2);
        assert!(popularity.count(page, address("203.0.113.5")));
    }

    #[test]
    fn beyond_the_cap_new_clients_are_not_counted_until_the_flush() {
        let popularity = Popularity::with_max_clients(3);
        let page = Uuid::from_u128(7);
        for last in 1..=5 {
            popularity.count(page, address(&format!("198.51.100.{last}")));
        }
        assert_eq!(popularity.pending(), 3);
        assert_eq!(popularity.take(), vec![(page, 3)]);
        assert!(popularity.count(page, address("198.51.100.5")));
    }

    #[test]
    fn views_are_taken_once_and_restored_after_a_failed_flush() {
        let popularity = Popularity::default();
        let id = Uuid::from_u128(7);
        for last in 1..=3 {
            popularity.count(id, address(&format!("192.0.2.{last}")));
        }
        assert_eq!(popularity.pending(), 3);
        let taken = popularity.take();
        assert_eq!(taken, vec![(id, 3)]);
        assert_eq!(popularity.pending(), 0);
        popularity.count(id, address("192.0.2.1"));
        popularity.restore(taken);
        assert_eq!(popularity.pending(), 4);
    }

    #[test]
    fn the_flush_interval_has_a_floor() {
        assert_eq!(parse_flush_every_ms("10000"), Ok(10_000));
        assert_eq!(parse_flush_every_ms("1000"), Ok(1_000));
        let error = parse_flush_every_ms("1").unwrap_err();
        assert!(error.contains("at least 1000 ms"), "{error}");
        assert!(parse_flush_every_ms("999").is_err());
        assert!(parse_flush_every_ms("soon").is_err());
    }
}
