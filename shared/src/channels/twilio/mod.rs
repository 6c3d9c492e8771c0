//! The Twilio channel: SMS and MMS in at `POST /webhooks/twilio/sms`, replies out
//! through the REST API with delivery reported at `POST /webhooks/twilio/status`.
//! Every webhook call is signed ([`signature`]); the work happens behind the queue.

pub mod client;
pub mod inbound;
pub mod outbound;
pub mod params;
pub mod sender;
pub mod signature;
pub mod status;
pub mod twiml;
pub mod voice;

pub use client::TwilioApi;
pub use inbound::{Normalized, normalize_sms};
pub use params::Params;
pub use sender::{MediaFetcher, SmsSender};
pub use status::normalize_status;
