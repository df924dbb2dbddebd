//! Citizens' votes on services, served from memory: every instance keeps the per-service totals
//! that pages and lists show, rereads them now and then, and drops its rendered answers only when
//! they changed, so a stream of votes costs one re-render per refresh instead of one per vote.
//! Also here: the per-address and per-service vote limits, and the daily-keyed pseudonyms that
//! suppress duplicates without keeping an address (see the `opinion` migration).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::feedback::Opinion;
use domain::service::{Service, ServiceSummary};
use hmac::{Hmac, Mac};
use persistence::opinion::{self as store, Pseudonyms};
use persistence::{DbPool, StoreError};
use sha2::Sha256;
use uuid::Uuid;

use crate::search::SearchIndex;

#[derive(Debug, Clone)]
pub struct OpinionSettings {
    /// How often totals are reread (and old pseudonyms erased).
    pub refresh_every: Duration,
    /// A second vote of the same sender (or protocol) on a service within this time replaces the
    /// first. At most a day: the hashing secrets live two days.
    pub duplicate_window: Duration,
    /// Votes accepted per client address per minute (feedback and ratings together). Generous:
    /// mobile carriers put many citizens behind one address.
    pub per_address_per_minute: u32,
    /// Votes accepted per service per minute, from all addresses: a flood from many addresses
    /// cannot swing one service's figures quickly.
    pub per_service_per_minute: u32,
    /// The secret each day's hashing key is derived from. It never enters the database, so a
    /// dump or a backup cannot test addresses against the stored hashes. Instances that share a
    /// database should share it (`CARTA_OPINION_SECRET`) for duplicates to be seen across them.
    pub secret: Vec<u8>,
}

impl Default for OpinionSettings {
    fn default() -> Self {
        OpinionSettings {
            refresh_every: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(24 * 3600),
            per_address_per_minute: 20,
            per_service_per_minute: 120,
            secret: random_secret(),
        }
    }
}

/// A fresh random secret, for an instance given none.
pub fn random_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    secret
}

/// The longest duplicate window: a day's key must still exist to recognise a vote.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Per service: the totals shown and the version of its votes (see the migration).
type Totals = HashMap<Uuid, (Opinion, i64)>;

pub struct Opinions {
    pub settings: OpinionSettings,
    totals: RwLock<Arc<Totals>>,
    limiter: VoteLimiter,
}

impl Opinions {
    pub fn new(mut settings: OpinionSettings) -> Opinions {
        settings.duplicate_window = settings.duplicate_window.min(MAX_WINDOW);
        Opinions {
            limiter: VoteLimiter::new(
                settings.per_address_per_minute,
                settings.per_service_per_minute,
            ),
            settings,
            totals: RwLock::default(),
        }
    }

    /// The totals this instance last read for a service.
    pub fn of(&self, service: Uuid) -> Opinion {
        self.totals
            .read()
            .ok()
            .and_then(|totals| totals.get(&service).map(|(opinion, _)| *opinion))
            .unwrap_or_default()
    }

    pub fn decorate(&self, service: &mut Service) {
        service.opinion = self.of(service.id);
    }

    pub fn decorate_summary(&self, service: &mut ServiceSummary) {
        service.opinion = self.of(service.id);
    }

    /// How long the sender must wait when a limit is reached; otherwise counts the vote.
    pub fn admit(&self, address: IpAddr, service: Uuid) -> Option<Duration> {
        self.limiter.admit(address, service)
    }

    /// The keyed hashes of the sender and of the protocol under today's and yesterday's keys
    /// (today's first): a vote is recognised across midnight, and a day later it cannot be.
    pub fn pseudonyms(&self, sender: &[u8], service: Uuid, protocol: Option<&str>) -> Pseudonyms {
        let today = Utc::now().date_naive();
        let days = [Some(today), today.pred_opt()];
        let mut pseudonyms = Pseudonyms::default();
        for day in days.into_iter().flatten() {
            let key = keyed(&self.settings.secret, &[b"day", day.to_string().as_bytes()]);
            // The service is part of each hash: one protocol number may exist at two agencies,
            // and one sender's hashes on two services must not match.
            let service = service.as_bytes().as_slice();
            pseudonyms
                .sender
                .push(keyed(&key, &[b"sender", service, sender])[..16].to_vec());
            if let Some(protocol) = protocol {
                let normalized = protocol.trim().to_ascii_uppercase();
                pseudonyms.protocol.push(
                    keyed(&key, &[b"protocol", service, normalized.as_bytes()])[..16].to_vec(),
                );
            }
        }
        pseudonyms
    }

    /// Rereads the totals (dropping rendered answers when they changed) and erases pseudonyms
    /// past the window. Runs on a timer; tests call it to see votes at once.
    pub async fn refresh(&self, pool: &DbPool, search: &SearchIndex) -> Result<(), StoreError> {
        let mut conn = persistence::pool::connection(pool).await?;
        let window = i64::try_from(self.settings.duplicate_window.as_secs()).unwrap_or(i64::MAX);
        store::forget_senders(&mut conn, window).await?;
        let totals: Totals = store::all_totals(&mut conn)
            .await?
            .into_iter()
            .map(|(id, opinion, version)| (id, (opinion, version)))
            .collect();
        let changed = self
            .totals
            .read()
            .map(|current| **current != totals)
            .unwrap_or(true);
        if changed {
            if let Ok(mut current) = self.totals.write() {
                *current = Arc::new(totals);
            }
            search.invalidate_answers();
        }
        Ok(())
    }
}

/// HMAC-SHA256 of the parts, each ended by a NUL so that no two lists of parts collide.
fn keyed(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
        mac.update(b"\0");
    }
    mac.finalize().into_bytes().to_vec()
}

/// Keeps `opinions` fresh until it is dropped.
pub fn spawn_refresher(opinions: &Arc<Opinions>, pool: DbPool, search: Arc<SearchIndex>) {
    let opinions: Weak<Opinions> = Arc::downgrade(opinions);
    tokio::spawn(async move {
        loop {
            let Some(every) = opinions.upgrade().map(|o| o.settings.refresh_every) else {
                return;
            };
            let Some(current) = opinions.upgrade() else {
                return;
            };
            if let Err(error) = current.refresh(&pool, &search).await {
                tracing::warn!(%error, "could not reread the opinion totals; will retry");
            }
            drop(current);
            tokio::time::sleep(every).await;
        }
    });
}

/// Fixed one-minute windows per client address and per service, in memory, per instance.
struct VoteLimiter {
    per_address: u32,
    per_service: u32,
    windows: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    counts: HashMap<LimitKey, (Instant, u32)>,
    swept: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LimitKey {
    Address(IpAddr),
    Service(Uuid),
}

/// Whom the address limit counts: an IPv4 address, or an IPv6 /64 (what one subscriber is
/// usually given: counting single IPv6 addresses would give each sender endless fresh ones).
fn limited_address(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

const WINDOW: Duration = Duration::from_secs(60);

impl VoteLimiter {
    fn new(per_address: u32, per_service: u32) -> VoteLimiter {
        VoteLimiter {
            per_address,
            per_service,
            windows: Mutex::default(),
        }
    }

    fn admit(&self, address: IpAddr, service: Uuid) -> Option<Duration> {
        // A poisoned lock only means a panic elsewhere; limits are not worth failing votes over.
        let mut windows = match self.windows.lock() {
            Ok(windows) => windows,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        // Windows past their minute are forgotten once a minute: no address stays in memory.
        if windows
            .swept
            .is_none_or(|swept| now.duration_since(swept) >= WINDOW)
        {
            windows
                .counts
                .retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
            windows.swept = Some(now);
        }
        let keys = [
            (
                LimitKey::Address(limited_address(address)),
                self.per_address,
            ),
            (LimitKey::Service(service), self.per_service),
        ];
        let mut wait = None;
        for (key, limit) in keys {
            if let Some((started, count)) = windows.counts.get(&key) {
                let elapsed = now.duration_since(*started);
                if elapsed < WINDOW && *count >= limit {
                    wait = wait.max(Some(WINDOW - elapsed));
                }
            }
        }
        if wait.is_some() {
            return wait;
        }
        for (key, _) in keys {
            let entry = windows.counts.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn limits_apply_per_address_and_per_service() {
        let limiter = VoteLimiter::new(3, 5);
        let (a, b, c) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let (s, t) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            assert_eq!(limiter.admit(a, s), None);
        }
        assert!(limiter.admit(a, t).is_some(), "the address is spent");
        assert_eq!(limiter.admit(b, s), None);
        assert_eq!(limiter.admit(b, s), None);
        assert!(limiter.admit(c, s).is_some(), "the service is spent");
        assert_eq!(limiter.admit(c, t), None);

        let limiter = VoteLimiter::new(1, 100);
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_subscriber: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limiter.admit(one, s), None);
        assert!(limiter.admit(same_subscriber, s).is_some());
        assert_eq!(limiter.admit(other, s), None);
    }
}
