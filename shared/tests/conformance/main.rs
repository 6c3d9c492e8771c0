//! One suite for the store, queue and blob ports, run against the embedded adapters and against
//! the AWS adapters on moto's server mode. `scripts/with-moto` (which `scripts/test` uses)
//! starts moto and says where it listens; without it the AWS half fails, never skips.
//!
//! Each behaviour is one function taking the port; [`on_both_backends`] makes a module of
//! it holding an `embedded` and an `aws` test, so a failure reads
//! `queue::a_second_message_with_the_same_dedup_key_is_dropped::aws`.

// Test code throughout, helpers included: a failed call is a failed test.
#![allow(clippy::unwrap_used)]

/// For each behaviour `$test`, a module `$test` with the test on each backend.
macro_rules! on_both_backends {
    (embedded: $embedded:path, aws: $aws:path, tests: [$($test:ident),* $(,)?]) => {$(
        mod $test {
            #[tokio::test]
            async fn embedded() {
                let subject = $embedded().await;
                super::$test(subject.port()).await;
            }

            #[tokio::test]
            async fn aws() {
                let subject = $aws().await;
                super::$test(subject.port()).await;
            }
        }
    )*};
}

mod backends;
mod blobs;
mod event_log;
mod identity;
mod incidents;
mod knowledge;
mod queue;
mod reports;
mod rights;
mod ses;
mod sessions;
mod signing;
mod sla;
mod store;
mod submissions;
mod surveys;
mod webhooks;
