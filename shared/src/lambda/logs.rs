//! Logs as CloudWatch wants them: one JSON object per line, no colour codes. Lambda adds
//! the timestamp and request id to the stream; the runtime's span adds `requestId` to
//! every line of an invocation, and the SQS consumer's span the queue message's id.

use tracing_subscriber::EnvFilter;

/// Starts the subscriber once; a second call (tests) leaves the first in place.
pub(super) fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
