//! The generic PBX / CTI hook: `POST /webhooks/pbx` takes the events of a call
//! (`newCall`, `answer`, `hangup`, with the field names Zammad's generic CTI uses), signed
//! with a shared secret ([`signature`]).
//!
//! The events of one call arrive separately, so each one updates a small [`CallRecord`]
//! kept in the blob store under the call's id (`calls/pbx/<sha256 of callId>.json`):
//! `newCall` notes when it rang, `answer` when and by whom it was answered, and only
//! `hangup` turns the call into a timeline item (a message on the voice channel, source
//! id `pbx:<callId>`) with the direction, wait and talk time computed from the signed
//! timestamps the events carried. So a repeated `newCall` is not a second call, an
//! `answer` after `hangup` changes nothing, and a repeated `hangup` is stored once. The
//! record is read and written without a lock: the events of one call come seconds apart.
//! An inbound call that ends unanswered (not forwarded) is a missed call: its item says
//! "call back" and carries `call_back=yes` in its context.

pub mod call;
pub mod event;
pub mod signature;

pub use call::{CallRecord, Step};
pub use event::{CtiEvent, EventKind, parse};
