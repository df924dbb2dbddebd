//! Webhook delivery: a background worker follows the change feed for each subscription and POSTs
//! every matching entry, signed, strictly in order, at least once. A failure keeps the cursor
//! where it is and retries with exponential backoff, so a receiver down for hours loses nothing.

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::feed::{matches, Change};
use hmac::{Hmac, Mac};
use persistence::webhooks::{self as store, Lease};
use persistence::{DbPool, StoreError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::routes::changes::ChangeEntry;

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often the worker looks for due subscriptions.
    pub poll_every: Duration,
    /// Wait before the first retry; doubles with each failure up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Limit on one delivery, connection included.
    pub timeout: Duration,
    /// How long a worker owns a subscription without renewing; longer than `timeout`.
    pub lease: Duration,
    /// Accept `http://localhost` and `http://127.0.0.1` URLs (development and tests only).
    pub allow_http_localhost: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            poll_every: Duration::from_secs(2),
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            allow_http_localhost: false,
        }
    }
}

impl WebhookSettings {
    /// The wait after the `attempt`-th consecutive failure (from 1).
    pub fn backoff(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.retry_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.retry_cap)
    }
}

/// `Carta-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// The same for every attempt at one entry for one subscription, on any instance.
pub fn delivery_id(subscription_id: Uuid, position: i64) -> Uuid {
    let digest = Sha256::new()
        .chain_update(subscription_id.as_bytes())
        .chain_update(position.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Whether a receiver may be at `ip`: a partner's URL must not reach into the network Carta runs
/// in (its database, metadata services, other internal hosts). Loopback is allowed only when
/// `allow_local` (development and tests).
pub fn reachable(ip: std::net::IpAddr, allow_local: bool) -> bool {
    use std::net::IpAddr;
    if ip.is_loopback() {
        return allow_local;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reachable(IpAddr::V4(v4), allow_local),
            None => {
                let first = v6.segments()[0];
                !(v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80) // link local
            }
        },
    }
}

/// The address a URL names literally (`https://10.0.0.5/`), which no resolver is asked about.
pub fn literal_address(url: &reqwest::Url) -> Option<std::net::IpAddr> {
    // IPv6 hosts come bracketed.
    url.host_str()?.trim_matches(['[', ']']).parse().ok()
}

/// Resolves receivers' names to their public addresses only, at each delivery: a name checked
/// once at subscription could later point inside (DNS rebinding).
struct PublicResolver {
    allow_local: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_local = self.allow_local;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> = found
                .filter(|address| reachable(address.ip(), allow_local))
                .collect();
            if allowed.is_empty() {
                return Err("o endereço do destino não é público".into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

/// Delivers for every due subscription; several may run at once, on any instance.
#[derive(Clone)]
pub struct Deliverer {
    pool: DbPool,
    settings: WebhookSettings,
    client: reqwest::Client,
}

/// What one attempt came to.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

impl Deliverer {
    pub fn new(pool: DbPool, mut settings: WebhookSettings) -> Result<Deliverer, reqwest::Error> {
        // A lease must outlast the attempt it covers, or another worker could start delivering
        // the same subscription while this one still waits for an answer.
        settings.lease = settings.lease.max(settings.timeout * 3);
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .dns_resolver(std::sync::Arc::new(PublicResolver {
                allow_local: settings.allow_http_localhost,
            }))
            // A redirect is the receiver's misconfiguration, and following one could send the
            // signed body somewhere nobody subscribed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("carta-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            pool,
            settings,
            client,
        })
    }

    /// Works through every subscription due now; returns the entries delivered. A failure
    /// postponed during this pass waits for the next one.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let started = Utc::now();
        let mut delivered = 0;
        loop {
            let lease = {
                let mut conn = persistence::pool::connection(&self.pool).await?;
                store::claim(&mut conn, started, self.settings.lease).await?
            };
            let Some(lease) = lease else {
                return Ok(delivered);
            };
            delivered += self.work(lease).await?;
        }
    }

    /// Polls for due work until the process ends.
    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                if let Err(error) = self.run_once().await {
                    tracing::warn!(%error, "webhook delivery failed; will retry");
                }
                tokio::time::sleep(self.settings.poll_every).await;
            }
        });
    }

    /// Delivers the leased subscription's entries in order until it is up to date or one fails.
    async fn work(&self, lease: Lease) -> Result<usize, StoreError> {
        let mut delivered = 0;
        let mut cursor = lease.cursor;
        let mut saved_cursor = lease.cursor;
        let mut failures = lease.attempts;
        loop {
            let entries = {
                let mut conn = persistence::pool::connection(&self.pool).await?;
                persistence::feed::changes_after(&mut conn, cursor, 100).await?
            };
            let Some(last) = entries.last().map(|change| change.position) else {
                break;
            };
            for change in entries.iter().filter(|c| matches(&lease.events, &c.event)) {
                let mut conn = persistence::pool::connection(&self.pool).await?;
                // Entries skipped so far are recorded, and the lease renewed, before each wait.
                let previous = change.position - 1;
                if previous != saved_cursor
                    && !store::advance(&mut conn, &lease, previous, self.settings.lease).await?
                {
                    return Ok(delivered);
                }
                drop(conn);
                let attempt = failures + 1;
                let outcome = self.post(&lease, change).await;
                let mut conn = persistence::pool::connection(&self.pool).await?;
                store::log_attempt(
                    &mut conn,
                    &store::Attempt {
                        subscription_id: lease.subscription_id,
                        delivery_id: delivery_id(lease.subscription_id, change.position),
                        position: change.position,
                        event: &change.event,
                        attempt,
                        status_code: outcome.status.map(i32::from),
                        error: outcome.error.as_deref(),
                        duration_ms: i32::try_from(outcome.took.as_millis()).unwrap_or(i32::MAX),
                    },
                )
                .await?;
                if !outcome.delivered() {
                    let retry_at = Utc::now()
                        + chrono::Duration::from_std(self.settings.backoff(attempt))
                            .unwrap_or_else(|_| chrono::Duration::minutes(10));
                    store::postpone(&mut conn, &lease, attempt, retry_at).await?;
                    return Ok(delivered);
                }
                delivered += 1;
                failures = 0;
                if !store::advance(&mut conn, &lease, change.position, self.settings.lease).await? {
                    return Ok(delivered);
                }
                saved_cursor = change.position;
            }
            cursor = last;
        }
        let mut conn = persistence::pool::connection(&self.pool).await?;
        if cursor != saved_cursor
            && !store::advance(&mut conn, &lease, cursor, self.settings.lease).await?
        {
            return Ok(delivered);
        }
        store::release(&mut conn, &lease).await?;
        Ok(delivered)
    }

    async fn post(&self, lease: &Lease, change: &Change) -> Outcome {
        let started = Instant::now();
        let body = match serde_json::to_vec(&ChangeEntry::from(change)) {
            Ok(body) => body,
            Err(error) => {
                return Outcome {
                    status: None,
                    error: Some(error.to_string()),
                    took: started.elapsed(),
                }
            }
        };
        let literal = reqwest::Url::parse(&lease.url)
            .ok()
            .and_then(|url| literal_address(&url));
        if literal.is_some_and(|ip| !reachable(ip, self.settings.allow_http_localhost)) {
            return Outcome {
                status: None,
                error: Some("endereço não público".to_owned()),
                took: started.elapsed(),
            };
        }
        let delivery = delivery_id(lease.subscription_id, change.position).to_string();
        let sent = self
            .client
            .post(&lease.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Carta-Event", &change.event)
            .header("Carta-Delivery", &delivery)
            .header("Idempotency-Key", &delivery)
            .header(
                "Carta-Signature",
                signature(&lease.secret, Utc::now().timestamp(), &body),
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => Outcome {
                status: Some(response.status().as_u16()),
                error: None,
                took: started.elapsed(),
            },
            Err(error) => Outcome {
                status: None,
                error: Some(describe(&error)),
                took: started.elapsed(),
            },
        }
    }
}

/// Why no response came, for the delivery log (without the URL, which the log shows already).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "tempo esgotado"
    } else if error.is_connect() {
        "falha de conexão"
    } else {
        "falha no envio"
    };
    // Only the kind: the causes (resolver and TLS messages, refused ports) would map the
    // network behind the receiver's name for whoever reads the log.
    kind.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{literal_address, reachable};

    #[test]
    fn receivers_must_be_public_addresses() {
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(reachable(public.parse().unwrap(), false), "{public}");
        }
        for internal in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!reachable(internal.parse().unwrap(), false), "{internal}");
        }
        assert!(reachable("127.0.0.1".parse().unwrap(), true));
        assert!(reachable("::1".parse().unwrap(), true));
        let address = |url: &str| literal_address(&reqwest::Url::parse(url).unwrap());
        assert_eq!(
            address("https://[::1]:8443/x"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(
            address("https://10.0.0.5/x"),
            Some("10.0.0.5".parse().unwrap())
        );
        assert_eq!(address("https://parceiro.example.org/x"), None);
    }
}
