//! Citizens' votes on services, served from memory: every instance keeps the per-service totals
//! that pages and lists show, rereads them now and then, and drops its rendered answers only when
//! they changed, so a stream of votes costs one re-render per refresh instead of one per vote.
//! Also here: the per-address and per-service vote limits, and the daily-keyed pseudonyms that
//! suppress duplicates without keeping an address (see the `opinion` migration).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
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
}

impl Default for OpinionSettings {
    fn default() -> Self {
        OpinionSettings {
            refresh_every: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(24 * 3600),
            per_address_per_minute: 20,
            per_service_per_minute: 120,
        }
    }
}

pub struct Opinions {
    pub settings: OpinionSettings,
    totals: RwLock<Arc<HashMap<Uuid, Opinion>>>,
    secrets: Mutex<Option<(NaiveDate, Vec<Vec<u8>>)>>,
    limiter: VoteLimiter,
}

impl Opinions {
    pub fn new(settings: OpinionSettings) -> Opinions {
        Opinions {
            limiter: VoteLimiter::new(
                settings.per_address_per_minute,
                settings.per_service_per_minute,
            ),
            settings,
            totals: RwLock::default(),
            secrets: Mutex::default(),
        }
    }

    /// The totals this instance last read for a service.
    pub fn of(&self, service: Uuid) -> Opinion {
        self.totals
            .read()
            .ok()
            .and_then(|totals| totals.get(&service).copied())
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

    /// The keyed hashes of the sender and of the protocol under each live day secret.
    pub async fn pseudonyms(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        sender: &[u8],
        service: Uuid,
        protocol: Option<&str>,
    ) -> Result<Pseudonyms, StoreError> {
        let secrets = self.secrets(conn).await?;
        let hash = |secret: &[u8], kind: &str, value: &[u8]| {
            // The service is part of the protocol's hash: one protocol number may exist at two
            // agencies.
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .map_err(|_| StoreError::Corrupt("opinion secret".into()))?;
            mac.update(kind.as_bytes());
            mac.update(b"\0");
            mac.update(service.as_bytes());
            mac.update(value);
            Ok::<_, StoreError>(mac.finalize().into_bytes()[..16].to_vec())
        };
        let mut pseudonyms = Pseudonyms::default();
        for secret in &secrets {
            pseudonyms.sender.push(hash(secret, "sender", sender)?);
            if let Some(protocol) = protocol {
                let normalized = protocol.trim().to_ascii_uppercase();
                pseudonyms
                    .protocol
                    .push(hash(secret, "protocol", normalized.as_bytes())?);
            }
        }
        Ok(pseudonyms)
    }

    async fn secrets(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let today = Utc::now().date_naive();
        if let Ok(cached) = self.secrets.lock() {
            if let Some((day, secrets)) = cached.as_ref().filter(|(day, _)| *day == today) {
                let _ = day;
                return Ok(secrets.clone());
            }
        }
        let mut fresh = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut fresh);
        let secrets: Vec<Vec<u8>> = store::day_secrets(conn, today, fresh)
            .await?
            .into_iter()
            .map(|(_, secret)| secret)
            .collect();
        if let Ok(mut cached) = self.secrets.lock() {
            *cached = Some((today, secrets.clone()));
        }
        Ok(secrets)
    }

    /// Rereads the totals (dropping rendered answers when they changed) and erases pseudonyms
    /// past the window. Runs on a timer; tests call it to see votes at once.
    pub async fn refresh(&self, pool: &DbPool, search: &SearchIndex) -> Result<(), StoreError> {
        let mut conn = persistence::pool::connection(pool).await?;
        let window = i64::try_from(self.settings.duplicate_window.as_secs()).unwrap_or(i64::MAX);
        store::forget_senders(&mut conn, window, Utc::now().date_naive()).await?;
        let totals: HashMap<Uuid, Opinion> =
            store::all_totals(&mut conn).await?.into_iter().collect();
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
    windows: Mutex<HashMap<LimitKey, (Instant, u32)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LimitKey {
    Address(IpAddr),
    Service(Uuid),
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
        if windows.len() > 100_000 {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let keys = [
            (LimitKey::Address(address), self.per_address),
            (LimitKey::Service(service), self.per_service),
        ];
        let mut wait = None;
        for (key, limit) in keys {
            if let Some((started, count)) = windows.get(&key) {
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
            let entry = windows.entry(key).or_insert((now, 0));
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
    }
}
