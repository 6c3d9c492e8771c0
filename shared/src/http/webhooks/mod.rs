//! Public webhooks: verify, normalize, enqueue, answer.

pub mod email;
pub mod telegram;
pub mod webform;
