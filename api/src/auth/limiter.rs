//! Failed token requests, counted per client id and per IP address in fixed windows: past the
//! limit, the token endpoint answers 429 until the window ends, whether or not the next attempt
//! would be right, so guessing secrets is slow. Per instance, in memory.
//!
//! An attempt counts as failed from the moment it starts (and is forgiven when it succeeds), so
//! guesses sent in parallel cannot all slip past the limit while their secrets are checked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureLimiter {
    window: Duration,
    per_client: u32,
    per_ip: u32,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter {
            window: Duration::from_secs(300),
            per_client: 10,
            per_ip: 30,
            failures: Mutex::new(HashMap::new()),
        }
    }
}

/// Keys are prefixed so a client id can never collide with an address.
fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

impl FailureLimiter {
    /// How long the caller must wait, when either of its counters is past the limit.
    pub fn blocked(&self, client_id: Option<&str>, ip: &str) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        let wait = |key: String, limit: u32| {
            let (started, count) = failures.get(&key)?;
            let elapsed = started.elapsed();
            (elapsed < self.window && *count >= limit).then(|| self.window - elapsed)
        };
        let by_client = client_id.and_then(|id| wait(client_key(id), self.per_client));
        by_client
            .into_iter()
            .chain(wait(ip_key(ip), self.per_ip))
            .max()
    }

    /// Gives back what `record_failure` counted for an attempt that turned out right.
    pub fn forgive(&self, client_id: Option<&str>, ip: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        for key in client_id.map(client_key).into_iter().chain([ip_key(ip)]) {
            if let Some(entry) = failures.get_mut(&key) {
                entry.1 = entry.1.saturating_sub(1);
            }
        }
    }

    pub fn record_failure(&self, client_id: Option<&str>, ip: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() > 100_000 {
            // Bounded memory under a flood of distinct keys: forget the finished windows.
            failures.retain(|_, (started, _)| started.elapsed() < self.window);
        }
        let keys = client_id.map(client_key).into_iter().chain([ip_key(ip)]);
        for key in keys {
            let entry = failures.entry(key).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= self.window {
                *entry = (Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_client_and_per_address() {
        let limiter = FailureLimiter::default();
        for _ in 0..10 {
            assert_eq!(limiter.blocked(Some("a"), "1.1.1.1"), None);
            limiter.record_failure(Some("a"), "1.1.1.1");
        }
        assert!(limiter.blocked(Some("a"), "2.2.2.2").is_some());
        assert!(limiter.blocked(Some("b"), "2.2.2.2").is_none());
        for i in 0..20 {
            limiter.record_failure(Some(&format!("c{i}")), "1.1.1.1");
        }
        assert!(limiter.blocked(Some("z"), "1.1.1.1").is_some());
    }
}
