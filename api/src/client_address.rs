//! The address of the client behind a request. Behind a reverse proxy or load balancer the peer is
//! the proxy: then, and only when the peer is one of the configured trusted proxies, the client is
//! the last address in `X-Forwarded-For` that is not itself a trusted proxy. Anyone can write that
//! header, so it is never believed from an untrusted peer.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Networks of the proxies in front of Carta (`CARTA_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8,192.168.1.7` (bare addresses are single hosts).
    pub fn parse(list: &[String]) -> Result<TrustedProxies, String> {
        list.iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or network: {entry}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address; `None` only when actix knows no peer (never over TCP).
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        // From the nearest hop back: each trusted proxy vouches for the entry before it. An entry
        // that is not an address ends the walk, at the last hop vouched for: nothing before it
        // can be believed.
        let entries: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            match parse_forwarded(entry) {
                Some(address) => {
                    client = address;
                    if !self.trusts(address) {
                        break;
                    }
                }
                None => break,
            }
        }
        Some(client)
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|socket| socket.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_peers() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.168.1.7".into()]).unwrap();
        let request = |peer: &str, forwarded: &str| {
            TestRequest::default()
                .peer_addr(std::net::SocketAddr::new(
                    peer.parse::<IpAddr>().unwrap(),
                    4000,
                ))
                .insert_header(("X-Forwarded-For", forwarded))
                .to_http_request()
        };
        let address = |peer, forwarded| {
            proxies
                .client_address(&request(peer, forwarded))
                .unwrap()
                .to_string()
        };
        assert_eq!(address("203.0.113.9", "1.2.3.4"), "203.0.113.9");
        assert_eq!(address("10.1.2.3", "1.2.3.4, 5.6.7.8"), "5.6.7.8");
        assert_eq!(address("10.1.2.3", "1.2.3.4, 192.168.1.7"), "1.2.3.4");
        assert_eq!(address("10.1.2.3", "garbage"), "10.1.2.3");
        // A forged entry before an unreadable one is not believed.
        assert_eq!(address("10.1.2.3", "6.6.6.6, unknown"), "10.1.2.3");
        assert_eq!(address("10.1.2.3", "1.2.3.4:5678"), "1.2.3.4");
        assert_eq!(address("10.1.2.3", "[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(address("::ffff:10.1.2.3", "1.2.3.4"), "1.2.3.4");
        assert!(TrustedProxies::parse(&["nope".into()]).is_err());
    }
}
