//! The abuse limits on the public routes that store what they are sent: per client
//! address (web-form submissions and customer-page answers, one budget) and per
//! customer link (answers on one page, from any number of addresses). Handlers take
//! [`WithinAddressLimit`] and [`WithinLinkLimit`] as extractors; a request over a limit
//! is answered 429 with `Retry-After` before its body is read.
//!
//! The counts live in this process: on Lambda each instance keeps its own.

use crate::config::PublicLimits;
use crate::http::client_ip::{client_ip, client_key};
use crate::http::links::{is_token_shaped, link_hash};
use crate::http::problem::ApiError;
use crate::http::{ApiState, WebState};
use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// Keys kept before the idle ones are swept out: a flood of new keys cannot grow the
/// map without bound.
const SWEEP_ABOVE: usize = 100_000;

/// Help-center searches and answers one client address may make per minute (the
/// contact page searches as its visitor types).
const SEARCHES_PER_MINUTE: u32 = 120;

/// Sign-ins one client address may try per minute.
const SIGN_INS_PER_MINUTE: u32 = 30;

/// The sign-in limit per client address: a guesser spread over many accounts is slowed
/// here, one aimed at a single account by its lockout.
pub struct SignInLimit {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for SignInLimit {
    fn default() -> Self {
        Self {
            per_address: keyed(SIGN_INS_PER_MINUTE),
        }
    }
}

impl SignInLimit {
    /// `Err(wait)` when the address has used its share.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        check(self.per_address.as_ref(), &ip)
    }
}

pub struct RateLimits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    searches: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_link: Option<DefaultKeyedRateLimiter<String>>,
    trusted_proxy_hops: u8,
}

impl RateLimits {
    /// Each limit allows bursts of up to its count, refilled evenly over the minute.
    pub fn new(limits: &PublicLimits) -> Self {
        Self {
            per_address: keyed(limits.per_address_per_minute),
            searches: match limits.per_address_per_minute {
                0 => None,
                _ => keyed(SEARCHES_PER_MINUTE),
            },
            per_link: keyed(limits.per_link_per_minute),
            trusted_proxy_hops: limits.trusted_proxy_hops,
        }
    }

    /// `Err(wait)` when the address has used its share.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        check(self.per_address.as_ref(), &ip)
    }

    /// `Err(wait)` when the address has made its share of help-center searches.
    pub fn check_search(&self, ip: IpAddr) -> Result<(), Duration> {
        check(self.searches.as_ref(), &ip)
    }

    /// `Err(wait)` when the link (its token's hash) has had its share of answers.
    pub fn check_link(&self, link_hash: &str) -> Result<(), Duration> {
        check(self.per_link.as_ref(), &link_hash.to_owned())
    }
}

fn keyed<K: Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: Hash + Eq + Clone>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > SWEEP_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ))
    })
}

/// The address of the request's client: its connection's peer, or the entry of
/// `X-Forwarded-For` the trusted proxies wrote; an IPv6 client by its /64 network
/// ([`client_key`]).
fn request_client(parts: &Parts, hops: u8) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    client_ip(&parts.headers, peer, hops).map(client_key)
}

/// The request's client address is within its share of public posts. A request whose
/// address is unknown (no peer) is not counted.
#[derive(Debug)]
pub struct WithinAddressLimit;

impl FromRequestParts<WebState> for WithinAddressLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let limits = &state.limits;
        if let Some(ip) = request_client(parts, limits.trusted_proxy_hops) {
            limits.check_address(ip).map_err(|wait| {
                ApiError::too_many(
                    wait,
                    "too many submissions from your address; try again in a minute",
                )
            })?;
        }
        Ok(Self)
    }
}

/// The request's client address is within its share of help-center searches (and of
/// "did this answer your question?").
#[derive(Debug)]
pub struct WithinSearchLimit;

impl FromRequestParts<WebState> for WithinSearchLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let limits = &state.limits;
        if let Some(ip) = request_client(parts, limits.trusted_proxy_hops) {
            limits.check_search(ip).map_err(|wait| {
                ApiError::too_many(
                    wait,
                    "too many searches from your address; try again in a minute",
                )
            })?;
        }
        Ok(Self)
    }
}

/// The request's client address is within its share of sign-ins; holds the client's
/// network (`unknown` when the request names none), whose tries at each email are counted.
#[derive(Debug)]
pub struct WithinSignInLimit(pub String);

impl FromRequestParts<ApiState> for WithinSignInLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let client = request_client(parts, state.config.limits.trusted_proxy_hops);
        if let Some(ip) = client {
            state.sign_in_limit.check(ip).map_err(|wait| {
                ApiError::too_many(wait, "too many sign-ins from your address; wait a minute")
            })?;
        }
        Ok(Self(
            client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// The customer link in the path (`/c/{token}`) is within its share of answers. A path
/// that is no token is left to the handler, which finds no conversation for it.
#[derive(Debug)]
pub struct WithinLinkLimit;

impl FromRequestParts<WebState> for WithinLinkLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let Ok(Path(token)) = Path::<String>::from_request_parts(parts, state).await else {
            return Ok(Self);
        };
        if is_token_shaped(&token) {
            state
                .limits
                .check_link(&link_hash(&token))
                .map_err(|wait| {
                    ApiError::too_many(
                        wait,
                        "too many answers on this conversation; try again in a minute",
                    )
                })?;
        }
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: u32, per_link: u32) -> RateLimits {
        RateLimits::new(&PublicLimits {
            per_address_per_minute: per_address,
            per_link_per_minute: per_link,
            trusted_proxy_hops: 0,
        })
    }

    #[test]
    fn an_address_is_held_to_its_share_and_others_are_not() {
        let limits = limits(3, 0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check_address(a).is_ok());
        }
        let wait = limits.check_address(a).unwrap_err();
        assert!(wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limits.check_address(b).is_ok());
        let unlimited = self::limits(0, 0);
        assert!((0..1000).all(|_| unlimited.check_address(a).is_ok()));
    }

    #[test]
    fn a_link_is_held_to_its_share_and_others_are_not() {
        let limits = limits(0, 2);
        assert!(limits.check_link("aa").is_ok());
        assert!(limits.check_link("aa").is_ok());
        assert!(limits.check_link("aa").is_err());
        assert!(limits.check_link("bb").is_ok());
        let unlimited = self::limits(0, 0);
        assert!((0..1000).all(|_| unlimited.check_link("aa").is_ok()));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let e = ApiError::too_many(Duration::ZERO, "x");
        assert_eq!(e.retry_after_secs, Some(1));
        let e = ApiError::too_many(Duration::from_millis(1), "x");
        assert_eq!(e.retry_after_secs, Some(1));
        let e = ApiError::too_many(Duration::from_secs(6), "x");
        assert_eq!(e.retry_after_secs, Some(6));
        let e = ApiError::too_many(Duration::from_millis(6001), "x");
        assert_eq!(e.retry_after_secs, Some(7));
    }
}
