//! One folder per channel: wire formats in, provider requests out. Pure code.

pub mod email;
pub mod form;
pub mod pbx;
pub mod telegram;
pub mod twilio;
pub mod webform;
