//! Customer-page links: a secret for every conversation a submission starts, derived
//! from the installation's link secret and the submission's id (see
//! [`crate::services::page_link`]), handed to the customer and stored only as its hash.
//! Nothing the client sends goes into it.
//!
//! A client's idempotency key only de-duplicates: the first submission under a key
//! keeps, for a day, a fingerprint of what it said and its link sealed with the
//! installation's secret and that fingerprint. A retry saying the same thing unseals
//! the same link; anything else under the key is refused.

use crate::config::HttpConfig;
use crate::ports::PortError;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;

use crate::services::page_link::PageLinks;
pub use crate::services::page_link::link_hash;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// Hands out customer links.
#[derive(Clone)]
pub struct CustomerLinks {
    links: PageLinks,
}

impl std::fmt::Debug for CustomerLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerLinks(..)")
    }
}

/// A link handed out for a submission.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// The secret the customer's URL carries.
    pub token: String,
    /// What identifies the submission for exactly-once storage: the same for a retry
    /// under one idempotency key, and never the key itself.
    pub submission_id: String,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("submission_id", &self.submission_id)
            .finish_non_exhaustive()
    }
}

/// A fresh link for a submission under a client's idempotency key, and the record that
/// holds the key: the submission's fingerprint and the link sealed with it.
#[derive(Clone)]
pub struct LinkOffer {
    /// The link, if this submission is the key's first.
    pub link: IssuedLink,
    /// What the key is held under: a digest of it, never the key itself.
    pub key: String,
    /// What the key holds.
    pub record: String,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for LinkOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkOffer")
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this idempotency key was already used for a different submission")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] PortError),
}

impl CustomerLinks {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            links: PageLinks::new(secret),
        }
    }

    /// A link for a submission without an idempotency key: a new submission id, and
    /// the page's secret derived from it.
    pub fn fresh(&self) -> IssuedLink {
        let submission_id = ulid::Ulid::new().to_string();
        IssuedLink {
            token: URL_SAFE_NO_PAD.encode(self.links.token_for(&submission_id)),
            submission_id,
        }
    }

    /// A fresh link for a submission under `idempotency_key`, whose `fingerprint` is a
    /// digest of everything it says. The store holds [`LinkOffer::record`] under
    /// [`LinkOffer::key`] for [`IDEMPOTENCY_WINDOW`]; [`Self::accept`] reads what it holds.
    pub fn offer(&self, idempotency_key: &str, fingerprint: &[u8; 32]) -> LinkOffer {
        let key = hex::encode(
            self.links
                .mac(&[b"idempotency-key", idempotency_key.as_bytes()]),
        );
        // A ULID, not a digest of the key: the source id it becomes is indexed by the
        // queue and the store, where ids in time order append instead of landing on a
        // random page each.
        let submission_id = ulid::Ulid::new().to_string();
        let fresh = self.links.token_for(&submission_id);
        let record = format!(
            "{}:{}:{submission_id}",
            hex::encode(fingerprint),
            hex::encode(self.seal(&key, fingerprint, &fresh))
        );
        LinkOffer {
            link: IssuedLink {
                token: URL_SAFE_NO_PAD.encode(fresh),
                submission_id,
            },
            key,
            record,
            fingerprint: *fingerprint,
        }
    }

    /// The link of the submission the key was first used for, from the record `held`
    /// under it: the offer's own when it was first, the first one's for a retry saying the
    /// same thing, and [`LinkError::KeyReused`] for anything else.
    pub fn accept(&self, offer: &LinkOffer, held: &str) -> Result<IssuedLink, LinkError> {
        let malformed = || PortError::Internal("a stored idempotency record is malformed".into());
        let mut parts = held.split(':');
        let (Some(held_fingerprint), Some(sealed)) = (parts.next(), parts.next()) else {
            return Err(malformed().into());
        };
        // Records held before submission ids were ULIDs name none: theirs was the
        // start of the key's digest.
        let submission_id = parts.next().unwrap_or(&offer.key[..32]).to_owned();
        if held_fingerprint != hex::encode(offer.fingerprint) {
            return Err(LinkError::KeyReused);
        }
        let sealed: [u8; 32] = hex::decode(sealed)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(malformed)?;
        Ok(IssuedLink {
            token: URL_SAFE_NO_PAD.encode(self.seal(&offer.key, &offer.fingerprint, &sealed)),
            submission_id,
        })
    }

    /// XOR with a pad only the installation's secret and the same submission make:
    /// sealing and unsealing are one operation.
    fn seal(&self, digest: &str, fingerprint: &[u8; 32], bytes: &[u8; 32]) -> [u8; 32] {
        let pad = self
            .links
            .mac(&[b"link-seal", digest.as_bytes(), fingerprint]);
        std::array::from_fn(|i| bytes[i] ^ pad[i])
    }
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
pub(crate) mod tests {
    use super::*;

    /// What a store does with an offer: holds its record unless the key is held.
    fn take(
        links: &CustomerLinks,
        held: &mut std::collections::HashMap<String, String>,
        key: &str,
        fingerprint: &[u8; 32],
    ) -> Result<IssuedLink, LinkError> {
        let offer = links.offer(key, fingerprint);
        let record = held
            .entry(offer.key.clone())
            .or_insert(offer.record.clone());
        links.accept(&offer, record)
    }

    #[test]
    fn links_are_random_and_a_key_gives_its_link_back_only_for_the_same_submission() {
        let links = CustomerLinks::new(b"secret");
        let mut store = std::collections::HashMap::new();
        let one = [1; 32];
        let other = [2; 32];

        let (a, b) = (links.fresh(), links.fresh());
        assert_ne!(
            a.token, b.token,
            "two submissions without a key share nothing"
        );
        assert!(is_token_shaped(&a.token));

        let first = take(&links, &mut store, "k1", &one).unwrap();
        assert!(is_token_shaped(&first.token));
        let retry = take(&links, &mut store, "k1", &one).unwrap();
        assert_eq!(first, retry, "a retry gets its link back");
        assert!(matches!(
            take(&links, &mut store, "k1", &other),
            Err(LinkError::KeyReused)
        ));
        let elsewhere = take(&links, &mut Default::default(), "k1", &one).unwrap();
        assert_ne!(
            elsewhere.token, first.token,
            "the same secret, key and body make another link: nothing derives it"
        );
        assert!(
            store
                .iter()
                .all(|(k, v)| !k.contains("k1") && !v.contains(&first.token)),
            "neither the key nor the link is stored in the clear"
        );
    }

    #[test]
    fn a_retry_keeps_the_first_submission_id_and_a_record_from_before_ulids_still_reads() {
        let links = CustomerLinks::new(b"secret");
        let mut store = std::collections::HashMap::new();
        let first = take(&links, &mut store, "k1", &[1; 32]).unwrap();
        assert!(first.submission_id.parse::<ulid::Ulid>().is_ok());
        let later = take(&links, &mut store, "k2", &[1; 32]).unwrap();
        let taken_at = |link: &IssuedLink| {
            link.submission_id
                .parse::<ulid::Ulid>()
                .unwrap()
                .timestamp_ms()
        };
        assert!(
            taken_at(&later) >= taken_at(&first),
            "submission ids sort in the order they were taken"
        );

        let offer = links.offer("k3", &[3; 32]);
        let (fingerprint_and_seal, _) = offer.record.rsplit_once(':').unwrap();
        let legacy = links.accept(&offer, fingerprint_and_seal).unwrap();
        assert_eq!(legacy.token, offer.link.token);
        assert_eq!(legacy.submission_id, offer.key[..32]);
        assert!(matches!(
            links.accept(&offer, "no-colon"),
            Err(LinkError::Store(_))
        ));
    }

    pub(crate) fn config(public_url: Option<&str>) -> HttpConfig {
        HttpConfig {
            public_url: public_url.map(str::to_owned),
            default_region: Default::default(),
            webform_max_bytes: 1,
            limits: crate::settings::Settings::defaults().http.limits,
            page: crate::config::PageConfig::new(Some("t".into()), "red".into(), None, "en".into())
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
