//! Public webhooks: verify, normalize, enqueue, answer.

pub mod pbx;
pub mod telegram;
pub mod twilio;
pub mod webform;
