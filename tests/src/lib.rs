//! Support for the end-to-end tests: the real `switchboard` binary, started on port 0
//! with a temp SQLite file, driven over HTTP like a client would; and the real Lambda
//! function binaries, run against the AWS emulator with a Runtime API of our own and
//! invoked with the event JSON API Gateway, SQS and EventBridge send.
//!
//! Routing is asynchronous (a submission is acknowledged once it is durable on the
//! queue), so tests wait for effects with [`eventually`] instead of sleeping.

mod api;
mod app;
pub mod cloud;
pub mod cpu;
pub mod emulator_tap;
pub mod events;
mod fake_llm;
mod fake_telegram;
mod fake_twilio;
pub mod function;
pub mod pace;
mod pbx;
mod poll;
pub mod runtime;
mod smtp_sink;
pub mod stack;
pub mod table_stream;
mod telegram;
mod twilio;
mod webhook_receiver;
pub mod write_meter;

pub use api::{ADMIN, AGENT, problem_of, status_and_json};
pub use app::{App, Refusal, binary, serve_refused};
pub use fake_llm::{Asked, FakeLlm};
pub use fake_telegram::{Call, FakeTelegram, Upload};
pub use fake_twilio::{FakeTwilio, SentSms};
pub use pbx::{PBX_SECRET, pbx_env, unix_now};
pub use poll::{DEADLINE, eventually};
pub use smtp_sink::{SmtpSink, header, repo_root};
pub use telegram::{
    BOT_TOKEN, WEBHOOK_SECRET, button_update, membership_update, message_update, new_user_id,
    telegram_env, text_update, user,
};
pub use twilio::{
    ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC_URL, new_sid, sms_params, twilio_env,
    twilio_signature,
};
pub use webhook_receiver::{Received, WebhookReceiver, test_ca, verify_signatures};

/// A lock that a panicking holder did not spoil (test threads panic by design).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A syntactically valid id of the given kind (`cv`, `ct`, `ag`, …) that names nothing.
///
/// The ULID part uses Crockford base32 only (no `i`, `l`, `o`, `u`), so it parses.
pub fn unknown_id(prefix: &str) -> String {
    format!("{prefix}_01jd8x3m6k9q0w5e2r7t4y1v3h")
}

/// A marker unique to this test run, so texts and keys never collide across runs.
pub fn unique(label: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{}-{nanos:x}-{n}", std::process::id())
}
