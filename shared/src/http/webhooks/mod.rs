//! Public webhooks: verify, normalize, enqueue, answer.

pub mod telegram;
pub mod webform;
