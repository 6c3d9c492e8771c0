//! Reading a function's environment: the checks every variable goes through, and the
//! error that names a variable set wrong. A leaf: the settings of each part read with it.

use std::str::FromStr;

/// A variable that is set but wrong. The message names it.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

pub(crate) fn number<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| ConfigError {
            name,
            problem: format!("`{value}` is not a whole number in range"),
        }),
    }
}

/// An absolute http(s) URL, kept without its trailing slash.
pub(crate) fn checked_url(name: &'static str, url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.has_host() => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ConfigError {
            name,
            problem: format!("`{url}` is not an http(s) URL"),
        }),
    }
}
