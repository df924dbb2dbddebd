//! HTTP caching and content coding of every buffered response, in one place: strong `ETag`s,
//! `Last-Modified`, conditional GETs answered with 304, `Cache-Control`, `Vary`, and brotli or gzip
//! negotiated by `Accept-Encoding`.
//!
//! Each content coding is its own representation, so it gets its own strong ETag (the body's hash,
//! suffixed with the coding): a strong validator promises byte-identical bodies. Handlers that keep
//! a rendered answer (see [`Representation`]) also keep its compressed forms, so a cached answer is
//! compressed once, not once per request. Streamed bodies (exports) are passed through.

use std::sync::{Arc, OnceLock};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, AcceptEncoding, ContentEncoding, Encoding, Header, HeaderValue, HttpDate,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use bytes::Bytes;

use crate::popularity::DependsOnPopularity;
use crate::AppState;

/// Public catalogue reads may be reused for a minute, and served stale for five more while a
/// cache revalidates: publication is not instant news, and revalidation is a cheap 304.
pub const PUBLIC_CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";
/// What depends on the caller's credentials is never stored by shared caches.
const PRIVATE_CACHE_CONTROL: &str = "private, no-cache";
/// Smaller bodies gain too little from compression to pay its header and CPU.
const MIN_COMPRESSED_LEN: usize = 512;
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;

/// A rendered body with its validator and, computed on first use, its compressed forms.
pub struct Representation {
    identity: Bytes,
    /// The body's 128-bit xxh3 hash: stable across instances and restarts, unlike std's hasher.
    tag: String,
    brotli: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

impl Representation {
    pub fn new(identity: Bytes) -> Representation {
        let tag = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&identity));
        Representation {
            identity,
            tag,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// Bytes it is likely to occupy once its compressed forms exist, for cache weighing.
    pub fn weight(&self) -> usize {
        self.identity.len() + self.identity.len() / 2 + self.tag.len()
    }

    fn body(&self, coding: Coding) -> Bytes {
        match coding {
            Coding::Identity => self.identity.clone(),
            Coding::Brotli => self
                .brotli
                .get_or_init(|| brotli_encoded(&self.identity))
                .clone(),
            Coding::Gzip => self
                .gzip
                .get_or_init(|| gzip_encoded(&self.identity))
                .clone(),
        }
    }

    fn etag(&self, coding: Coding) -> String {
        format!("\"{}{}\"", self.tag, coding.suffix())
    }
}

fn brotli_encoded(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 4);
    let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
    // Writing to a Vec cannot fail.
    let _ = std::io::Write::write_all(&mut encoder, body);
    drop(encoder);
    out.into()
}

fn gzip_encoded(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::default(),
    );
    let _ = std::io::Write::write_all(&mut encoder, body);
    encoder.finish().unwrap_or_default().into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Brotli,
    Gzip,
}

impl Coding {
    fn suffix(self) -> &'static str {
        match self {
            Coding::Identity => "",
            Coding::Brotli => "-br",
            Coding::Gzip => "-gz",
        }
    }

    fn header(self) -> Option<ContentEncoding> {
        match self {
            Coding::Identity => None,
            Coding::Brotli => Some(ContentEncoding::Brotli),
            Coding::Gzip => Some(ContentEncoding::Gzip),
        }
    }

    fn negotiate(req: &ServiceRequest) -> Coding {
        let Ok(accepted) = AcceptEncoding::parse(req) else {
            return Coding::Identity;
        };
        let supported = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
        match accepted.negotiate(supported.iter()) {
            Some(encoding) if encoding == Encoding::brotli() => Coding::Brotli,
            Some(encoding) if encoding == Encoding::gzip() => Coding::Gzip,
            _ => Coding::Identity,
        }
    }
}

/// What the request asked about freshness.
struct Conditions {
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HttpDate>,
}

impl Conditions {
    fn of(req: &ServiceRequest) -> Conditions {
        Conditions {
            if_none_match: req.headers().get(header::IF_NONE_MATCH).cloned(),
            if_modified_since: req
                .headers()
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok()),
        }
    }

    /// RFC 9110 §13.1.2 and §13.1.3: If-None-Match (weak comparison) decides when present;
    /// If-Modified-Since only otherwise.
    fn unchanged(&self, etag: &str, last_modified: Option<HttpDate>) -> bool {
        if let Some(tags) = &self.if_none_match {
            let Ok(tags) = tags.to_str() else {
                return false;
            };
            return tags
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
        }
        match (self.if_modified_since, last_modified) {
            (Some(since), Some(modified)) => {
                std::time::SystemTime::from(modified) <= std::time::SystemTime::from(since)
            }
            _ => false,
        }
    }
}

/// Whether a change at `modified` can be dated to the second: not while that second lasts, as
/// another change within it would carry the same date and a client holding the first answer
/// would be told it is current (`Last-Modified` has one-second resolution).
fn settled(modified: std::time::SystemTime) -> bool {
    unix_seconds(modified) < unix_seconds(std::time::SystemTime::now())
}

/// Whole seconds since the Unix epoch: the resolution of HTTP dates.
pub fn unix_seconds(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// The middleware. Responses marked `no-store` (health probes, the editable versions of the write
/// API) get no validators, only their body encoded.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    let coding = Coding::negotiate(&req);
    let conditions = Conditions::of(&req);
    let with_credentials = req.headers().contains_key(header::AUTHORIZATION);
    // Read before the handler runs: the answer is then at least as new as the date it carries,
    // so a client is never told an older answer is current.
    let modified = req.app_data::<web::Data<AppState>>().map(|state| {
        (
            state.search.modified_at(),
            state.popularity.modified_at(),
            state.popularity.boost_modified_at(),
        )
    });

    let response = next.call(req).await?.map_into_boxed_body();
    if matches!(
        response.response().body().size(),
        BodySize::Stream | BodySize::None
    ) {
        return Ok(response);
    }
    let kept = response
        .response()
        .extensions()
        .get::<Arc<Representation>>()
        .cloned();
    // Only answers derived from the catalogue alone (those kept until it changes) are dated by
    // its last change; anything read for a caller (audit, deliveries) is validated by its tag.
    // Those that depend on popularity also change with this instance's copy of it, or, when
    // read from the database, with any instance's flush: those are not dated at all.
    let popularity = response
        .response()
        .extensions()
        .get::<DependsOnPopularity>()
        .copied();
    let catalogue_modified = modified
        .and_then(|(catalogue, views, boosts)| match popularity {
            None => Some(catalogue),
            Some(DependsOnPopularity::Views) => Some(catalogue.max(views)),
            Some(DependsOnPopularity::Boost) => Some(catalogue.max(boosts)),
            Some(DependsOnPopularity::Stored) => None,
        })
        .filter(|modified| settled(*modified))
        .filter(|_| kept.is_some() && !with_credentials);
    let (req, response) = response.into_parts();
    let (mut response, body) = response.into_parts();
    let representation = match kept {
        Some(kept) => kept,
        None => match body.try_into_bytes() {
            Ok(bytes) => Arc::new(Representation::new(bytes)),
            Err(body) => return Ok(ServiceResponse::new(req, response.set_body(body))),
        },
    };
    let coding = if representation.identity.len() < MIN_COMPRESSED_LEN {
        Coding::Identity
    } else {
        coding
    };
    let ok = response.status() == StatusCode::OK;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = coding.header() {
        headers.insert(header::CONTENT_ENCODING, encoding.to_header_value());
    }

    let no_store = headers
        .get(header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("no-store"));
    if readable && ok && !no_store {
        // A handler's tag names the record's version, which writes check in `If-Match`; counts
        // and names shown with the record change without it, so the body's hash joins it.
        let version = headers
            .get(header::ETAG)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix('"')?.strip_suffix('"'))
            .map(str::to_owned);
        let etag = match version {
            Some(version) => format!("\"{version}.{}{}\"", representation.tag, coding.suffix()),
            None => representation.etag(coding),
        };
        if !headers.contains_key(header::CACHE_CONTROL) {
            let policy = if with_credentials {
                PRIVATE_CACHE_CONTROL
            } else {
                PUBLIC_CACHE_CONTROL
            };
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        }
        if let Some(modified) = catalogue_modified {
            if !headers.contains_key(header::LAST_MODIFIED) {
                if let Ok(value) = HeaderValue::from_str(&HttpDate::from(modified).to_string()) {
                    headers.insert(header::LAST_MODIFIED, value);
                }
            }
        }
        let last_modified = headers
            .get(header::LAST_MODIFIED)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let unchanged = conditions.unchanged(&etag, last_modified);
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        if unchanged {
            headers.remove(header::CONTENT_ENCODING);
            headers.remove(header::CONTENT_TYPE);
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return Ok(ServiceResponse::new(
                req,
                response.set_body(BoxBody::new(())),
            ));
        }
    }
    let body = representation.body(coding);
    Ok(ServiceResponse::new(
        req,
        response.set_body(BoxBody::new(body)),
    ))
}

/// Marks a request that came as HEAD and is answered as GET (a page view is not counted).
#[derive(Clone, Copy)]
pub struct AskedHead;

/// Whether `req` came as HEAD.
pub fn asked_head(req: &actix_web::HttpRequest) -> bool {
    req.extensions().contains::<AskedHead>()
}

/// HEAD is GET without the body (RFC 9110 §9.3.2), which caches and link checkers use: routes are
/// declared for GET, and the HTTP codec, which saw the request come as HEAD, sends only the
/// headers (with the length the body would have).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(AskedHead);
    }
    next.call(req).await
}
