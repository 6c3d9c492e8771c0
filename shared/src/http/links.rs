//! Customer-page links: unguessable tokens derived from the submission, so a retried
//! submission gets the same link. Only the token's hash is stored.

use crate::config::HttpConfig;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The token for the message with this source id.
    pub fn token_for(&self, source_id: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable_key());
        mac.update(b"customer-link\0");
        mac.update(source_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

fn unreachable_key() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this only satisfies the type.
    Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| std::process::abort())
}

/// What the store keeps for a token.
pub fn link_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Where the links handed out in answer to this request start: the configured public
/// URL; else the scheme and host of the request itself (behind API Gateway, `lambda_http`
/// builds an absolute URI from the API's host and `X-Forwarded-Proto`); else its `Host`
/// header, over plain HTTP (a server reached directly does not terminate TLS). `None`
/// when none of these names a host: links are then relative.
pub fn public_base(config: &HttpConfig, uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &config.public_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    request_base(uri, headers)
}

/// The scheme and host a request came in on, as [`public_base`] takes them when no public
/// URL is configured.
pub fn request_base(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        return Some(format!("{scheme}://{authority}"));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: Authority = host.parse().ok()?;
    // A host header with user info is no host we serve.
    (!authority.as_str().contains('@')).then(|| format!("http://{authority}"))
}

/// A token has the shape we issue: 43 characters of URL-safe base64.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_submission_gets_the_same_link_and_others_do_not() {
        let signer = LinkSigner::new(b"secret");
        assert_eq!(signer.token_for("webform:a"), signer.token_for("webform:a"));
        assert_ne!(signer.token_for("webform:a"), signer.token_for("webform:b"));
        assert_ne!(
            LinkSigner::new(b"other").token_for("webform:a"),
            signer.token_for("webform:a")
        );
        assert!(is_token_shaped(&signer.token_for("x")));
    }

    fn config(public_url: Option<&str>) -> HttpConfig {
        HttpConfig {
            public_url: public_url.map(str::to_owned),
            default_region: Default::default(),
            webform_max_bytes: 1,
            limits: Default::default(),
            page: crate::config::PageConfig::new("t".into(), "red".into(), None, "en".into())
                .unwrap(),
            telegram: None,
            email: None,
            twilio: None,
            pbx: None,
        }
    }

    #[test]
    fn links_start_with_the_configured_url_else_where_the_request_came_in() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            "abc.execute-api.eu-west-1.amazonaws.com".parse().unwrap(),
        );
        let absolute: Uri = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/webform"
            .parse()
            .unwrap();
        let relative: Uri = "/webhooks/webform".parse().unwrap();

        let configured = config(Some("https://help.example.com/"));
        assert_eq!(
            public_base(&configured, &absolute, &headers).as_deref(),
            Some("https://help.example.com")
        );
        let from_request = config(None);
        assert_eq!(
            public_base(&from_request, &absolute, &headers).as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            public_base(&from_request, &relative, &headers).as_deref(),
            Some("http://abc.execute-api.eu-west-1.amazonaws.com")
        );
        for bad in ["evil.example@abc", "a b", ""] {
            headers.insert(header::HOST, bad.parse().unwrap());
            assert_eq!(
                public_base(&from_request, &relative, &headers),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            public_base(&from_request, &relative, &HeaderMap::new()),
            None
        );
    }
}
