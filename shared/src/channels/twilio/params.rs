//! The form parameters of a Twilio webhook call, as sent: every pair kept (the
//! signature covers them all, including the ones Twilio adds without notice).

use crate::channels::form::{FormError, parse_pairs};

/// Largest form body read from Twilio; real ones are a few kilobytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        parse_pairs(body).map(Self)
    }

    /// The first value of `name`, when present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}
