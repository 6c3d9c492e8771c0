//! Logs as CloudWatch wants them: one JSON object per line, no colour codes. Lambda adds
//! the timestamp and request id to the stream; the runtime's span adds `requestId` to
//! every line of an invocation, and the SQS consumer's span the queue message's id.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Starts the subscriber once; a second call (tests) leaves the first in place.
///
/// `filter` is a level, or targets with levels (`warn,shared=debug`): `Targets` rather
/// than `EnvFilter`, which would link a regex engine for span-field filters we do not use.
pub(super) fn init(filter: &str) {
    let filter: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        // A log line that cannot be written is dropped: the subscriber's own report of
        // it would go to the same stderr with `eprintln!`, which panics there.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(json.with_filter(filter))
        .try_init();
}
