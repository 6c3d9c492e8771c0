//! The typed settings the HTTP layer and the services run with, validated at start.

use crate::model::DefaultRegion;

/// How the hosted pages look.
#[derive(Clone, Debug)]
pub struct PageConfig {
    pub title: String,
    /// A CSS colour for the header and buttons.
    pub color: String,
    pub logo_url: Option<String>,
    /// `en` or `fa`.
    pub language: String,
}

impl PageConfig {
    pub fn new(
        title: String,
        color: String,
        logo_url: Option<String>,
        language: String,
    ) -> Result<Self, String> {
        let color_ok =
            color.len() <= 32 && color.chars().all(|c| c.is_ascii_alphanumeric() || c == '#');
        if !color_ok {
            return Err(format!("`{color}` is not a colour: use a name or #rrggbb"));
        }
        if let Some(logo) = &logo_url
            && !(logo.starts_with("https://") || logo.starts_with("data:image/"))
        {
            return Err("the logo URL must start with https:// or data:image/".into());
        }
        if !matches!(language.as_str(), "en" | "fa") {
            return Err(format!("`{language}` is not a page language (en, fa)"));
        }
        Ok(Self {
            title,
            color,
            logo_url,
            language,
        })
    }
}

/// What the public and agent routers need to know.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Where customers reach this server; links handed out start with it. `None`: the
    /// scheme and host each request came in on (behind API Gateway, whose URL the SAM
    /// template cannot hand to its own functions).
    pub public_url: Option<String>,
    pub default_region: DefaultRegion,
    pub webform_max_bytes: usize,
    /// Web-form submissions per client address per minute; 0 turns the limit off.
    pub webform_rate_per_minute: u32,
    /// Take the client's address from `X-Forwarded-For` (behind a proxy you run).
    pub trust_proxy: bool,
    pub page: PageConfig,
}
