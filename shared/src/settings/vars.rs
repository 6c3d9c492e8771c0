//! Reading settings: a lookup of variables (the environment, with the local server's
//! flags before it), the checks every value goes through, and the error that names a
//! setting given wrong.

use super::schema::Setting;
use std::str::FromStr;

/// A setting that is given but wrong. The message names its variable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &Setting, problem: impl Into<String>) -> Self {
        Self {
            name: setting.name,
            problem: problem.into(),
        }
    }

    /// A check that covers several settings: the error names the first of `named` whose
    /// word its message has, else `otherwise`.
    pub fn naming(
        named: &'static [(&'static str, &'static Setting)],
        otherwise: &'static Setting,
    ) -> impl Fn(String) -> Self {
        move |problem| {
            let setting = named
                .iter()
                .find(|(word, _)| problem.contains(word))
                .map_or(otherwise, |(_, setting)| *setting);
            Self::new(setting, problem)
        }
    }

    /// Turns a check's message into this setting's error.
    pub fn of(setting: &'static Setting) -> impl Fn(String) -> Self {
        move |problem| Self::new(setting, problem)
    }
}

/// A variable's value by its name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where settings are read from. Unset and empty (or blank) are the same: the default.
pub struct Vars<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Vars<'a> {
    /// From `lookup`, a function from a variable's name to its value.
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
        }
    }

    /// These variables alone, for tests.
    #[cfg(test)]
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Vars<'static> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vars::new(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// The process environment.
    pub fn env() -> Self {
        Self::new(|name| std::env::var(name).ok())
    }

    /// `given` (a setting's name and value, the local server's flags) before `self`.
    pub fn with_overrides(self, given: Vec<(&'static str, String)>) -> Self {
        Self::new(move |name| {
            given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| (self.lookup)(name))
        })
    }

    /// The value given, if any.
    pub fn given(&self, setting: &Setting) -> Option<String> {
        (self.lookup)(setting.name).filter(|v| !v.trim().is_empty())
    }

    /// The value given, else the default.
    pub fn text(&self, setting: &Setting) -> Option<String> {
        self.given(setting)
            .or_else(|| setting.default.map(str::to_owned))
    }

    /// The value given or the default, parsed; none when neither is.
    pub fn parsed<T: FromStr>(&self, setting: &'static Setting) -> Result<Option<T>, ConfigError> {
        self.text(setting)
            .map(|value| {
                value.trim().parse().map_err(|_| {
                    ConfigError::new(setting, format!("`{value}` is not a valid value here"))
                })
            })
            .transpose()
    }

    /// A whole number, the default when not given.
    pub fn number<T: FromStr + Default>(
        &self,
        setting: &'static Setting,
    ) -> Result<T, ConfigError> {
        match self.text(setting) {
            None => Ok(T::default()),
            Some(value) => value.trim().parse().map_err(|_| {
                ConfigError::new(setting, format!("`{value}` is not a whole number in range"))
            }),
        }
    }

    /// A switch: true, false (also 1/0, yes/no).
    pub fn switch(&self, setting: &'static Setting) -> Result<bool, ConfigError> {
        let value = self.text(setting).map(|v| v.trim().to_ascii_lowercase());
        match value.as_deref() {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(other) => Err(ConfigError::new(
                setting,
                format!("`{other}` is not true or false"),
            )),
        }
    }

    /// An absolute http(s) URL, kept without its trailing slash.
    pub fn url(&self, setting: &'static Setting) -> Result<Option<String>, ConfigError> {
        self.text(setting)
            .map(|url| {
                let trimmed = url.trim().trim_end_matches('/');
                match url::Url::parse(trimmed) {
                    Ok(parsed)
                        if matches!(parsed.scheme(), "https" | "http") && parsed.has_host() =>
                    {
                        Ok(trimmed.to_owned())
                    }
                    _ => Err(ConfigError::new(
                        setting,
                        format!("`{url}` is not an http(s) URL"),
                    )),
                }
            })
            .transpose()
    }

    /// A comma-separated list, its items trimmed, the empty ones dropped.
    pub fn list(&self, setting: &Setting) -> Vec<String> {
        self.text(setting)
            .map(|v| {
                v.split(',')
                    .map(|item| item.trim().to_owned())
                    .filter(|item| !item.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}
