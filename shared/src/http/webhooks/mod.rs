//! Public webhooks: verify, normalize, enqueue, answer.

pub mod webform;
