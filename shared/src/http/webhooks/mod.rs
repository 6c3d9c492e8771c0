//! Public webhooks: verify, normalize, enqueue, answer.

pub mod email;
pub mod pbx;
pub mod telegram;
pub mod twilio;
pub mod webform;
