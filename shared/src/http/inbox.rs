//! The web inbox: one page and its script and stylesheet, served from the binary on the
//! API's origin (so the session cookie is the API's). The page is a client of the `/v1`
//! API like any other; it holds no data of its own.
//!
//! The page names its script and stylesheet with their content's digest (`?v=`), so a
//! browser keeps them for a year and fetches them again only when they change. Each is
//! sent gzip-compressed to a browser that accepts it.

use axum::Router;
use axum::extract::Query;
use axum::http::header::{
    ACCEPT_ENCODING, ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, COOKIE, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::LazyLock;

const SHELL: &str = include_str!("inbox/shell.html");
const SCRIPT: &str = include_str!("inbox/app.js");
const STYLES: &str = include_str!("inbox/app.css");

/// The page runs only its own script and styles, and talks only to its own origin.
pub const INBOX_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The cookie the page's language switch sets (`fa` or `en`).
const LANGUAGE_COOKIE: &str = "sb_lang";

/// One file as served: plain and gzipped, and the digest that names its version.
struct Asset {
    plain: &'static [u8],
    gzipped: Vec<u8>,
    version: String,
    content_type: &'static str,
}

impl Asset {
    fn new(text: &'static str, content_type: &'static str) -> Self {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzipped = encoder
            .write_all(text.as_bytes())
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        Self {
            plain: text.as_bytes(),
            gzipped,
            version: hex::encode(&Sha256::digest(text.as_bytes())[..6]),
            content_type,
        }
    }

    /// The file, compressed when the browser takes gzip; kept a year when asked for by
    /// its current version.
    fn serve(&self, headers: &HeaderMap, version: Option<&str>) -> Response {
        let cache = if version == Some(self.version.as_str()) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let gzip = takes_gzip(headers) && !self.gzipped.is_empty();
        let body = if gzip {
            self.gzipped.clone()
        } else {
            self.plain.to_vec()
        };
        let mut response = (
            [
                (CONTENT_TYPE, self.content_type),
                (CACHE_CONTROL, cache),
                (VARY, "Accept-Encoding"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response();
        if gzip {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

static SCRIPT_FILE: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(SCRIPT, "text/javascript; charset=utf-8"));
static STYLES_FILE: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(STYLES, "text/css; charset=utf-8"));

fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// The page's language: the switch's cookie, else the browser's first choice between
/// Persian and English.
pub(crate) fn language(headers: &HeaderMap) -> &'static str {
    let chosen = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == LANGUAGE_COOKIE)
        .map(|c| c.value().to_owned());
    match chosen.as_deref() {
        Some("fa") => return "fa",
        Some("en") => return "en",
        _ => {}
    }
    let preferred = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|tag| tag.trim().to_ascii_lowercase());
    match preferred {
        Some(tag) if tag == "fa" || tag.starts_with("fa-") => "fa",
        _ => "en",
    }
}

/// The page, in the language the browser asks for.
async fn page(headers: HeaderMap) -> Response {
    let language = language(&headers);
    let direction = if language == "fa" { "rtl" } else { "ltr" };
    let html = SHELL
        .replace("__LANG__", language)
        .replace("__DIR__", direction)
        .replace(
            "/app/app.js\"",
            &format!("/app/app.js?v={}\"", SCRIPT_FILE.version),
        )
        .replace(
            "/app/app.css\"",
            &format!("/app/app.css?v={}\"", STYLES_FILE.version),
        );
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, INBOX_POLICY),
            (REFERRER_POLICY, "no-referrer"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (VARY, "Cookie, Accept-Language"),
        ],
        html,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Version {
    v: Option<String>,
}

async fn script(headers: HeaderMap, Query(q): Query<Version>) -> Response {
    SCRIPT_FILE.serve(&headers, q.v.as_deref())
}

async fn styles(headers: HeaderMap, Query(q): Query<Version>) -> Response {
    STYLES_FILE.serve(&headers, q.v.as_deref())
}

/// `/` and `/app`: the inbox, with its files.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/app", get(page))
        .route("/app/", get(|| async { Redirect::to("/app") }))
        .route("/app/app.js", get(script))
        .route("/app/app.css", get(styles))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn the_language_follows_the_switch_then_the_browser() {
        assert_eq!(language(&headers(&[])), "en");
        assert_eq!(
            language(&headers(&[("accept-language", "fa-IR,fa;q=0.9")])),
            "fa"
        );
        assert_eq!(
            language(&headers(&[("accept-language", "en-US,fa;q=0.5")])),
            "en"
        );
        assert_eq!(
            language(&headers(&[
                ("accept-language", "fa"),
                ("cookie", "a=b; sb_lang=en")
            ])),
            "en"
        );
        assert_eq!(language(&headers(&[("cookie", "sb_lang=fa")])), "fa");
        assert_eq!(language(&headers(&[("cookie", "sb_lang=<script>")])), "en");
    }

    #[test]
    fn gzip_is_sent_only_to_who_takes_it() {
        assert!(takes_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(!takes_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!takes_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!takes_gzip(&headers(&[])));
    }

    #[test]
    fn the_page_names_its_files_by_version() {
        let html = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(page(headers(&[("cookie", "sb_lang=fa")])));
        assert_eq!(
            html.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap(),
            INBOX_POLICY
        );
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(html.into_body(), 1 << 20))
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("lang=\"fa\""), "{body}");
        assert!(body.contains("dir=\"rtl\""), "{body}");
        assert!(body.contains(&format!("/app/app.js?v={}", SCRIPT_FILE.version)));
        assert!(body.contains(&format!("/app/app.css?v={}", STYLES_FILE.version)));
        assert!(!body.contains("__LANG__") && !body.contains("__DIR__"));
    }
}
