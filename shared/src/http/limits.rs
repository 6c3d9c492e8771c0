//! The per-client-address limit on web-form submissions.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct RateLimits {
    webform: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimits {
    /// `per_minute` submissions per address, in bursts of up to that many; 0 is no limit.
    pub fn new(per_minute: u32) -> Self {
        let webform = NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Self { webform }
    }

    /// `Err(wait)` when the address has used its share.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.webform else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_to_its_share_and_others_are_not() {
        let limits = RateLimits::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check(a).is_ok());
        }
        assert!(limits.check(a).is_err());
        assert!(limits.check(b).is_ok());
        let unlimited = RateLimits::new(0);
        assert!((0..1000).all(|_| unlimited.check(a).is_ok()));
    }
}
