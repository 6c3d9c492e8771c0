//! One folder per channel: wire formats in, provider requests out. Pure code.

pub mod email;
pub mod form;
pub mod telegram;
pub mod webform;
