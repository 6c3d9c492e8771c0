//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed by the auth token, over the URL
//! Twilio requested followed by every POST parameter (names sorted, the values of one
//! name sorted). A JSON body is covered by a `bodySHA256` query parameter instead.
//!
//! <https://www.twilio.com/docs/usage/webhooks/webhooks-security>

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac13::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header Twilio signs every webhook call with.
pub const HEADER: &str = "x-twilio-signature";

/// The signature Twilio computes for `url` and the form `params` it posts there.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm never runs.
        Err(_) => return String::new(),
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `presented` is Twilio's signature of a form post to `url` with `params`.
/// The URL counts with and without its default port (`:443`, `:80`): Twilio signs
/// the URL as it was configured, and either may have been.
pub fn verify_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    presented: &str,
) -> bool {
    url_forms(url)
        .iter()
        .any(|candidate| same(&sign(auth_token, candidate, params), presented))
}

/// Whether `presented` signs a JSON post to `url`: the URL's `bodySHA256` must be the
/// body's SHA-256 (hex), and the signature covers the URL alone.
pub fn verify_json(auth_token: &str, url: &str, body: &[u8], presented: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let Some(claimed) = parsed
        .query_pairs()
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
    else {
        return false;
    };
    let actual = hex::encode(Sha256::digest(body));
    let hash_ok = bool::from(
        claimed
            .to_ascii_lowercase()
            .as_bytes()
            .ct_eq(actual.as_bytes()),
    );
    hash_ok && verify_form(auth_token, url, &[], presented)
}

fn same(expected: &str, presented: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(presented.trim().as_bytes()))
}

/// `url` as given, and with its default port added or removed.
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return forms;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return forms,
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let other = match host_port.rsplit_once(':') {
        // Not an IPv6 literal's colon: a port follows.
        Some((host, port)) if !port.contains(']') => {
            if port == default_port {
                Some(host.to_owned())
            } else {
                None
            }
        }
        _ => Some(format!("{host_port}:{default_port}")),
    };
    if let Some(host) = other {
        forms.push(format!("{scheme}://{userinfo}{host}{tail}"));
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn call_params() -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn the_published_test_vector_signs_as_twilio_does() {
        assert_eq!(
            sign(TOKEN, URL, &call_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify_form(
            TOKEN,
            URL,
            &call_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn the_url_counts_with_and_without_its_default_port() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            sign(TOKEN, with_port, &call_params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // Configured without the port, Twilio signed with it; and the other way round.
        assert!(verify_form(
            TOKEN,
            URL,
            &call_params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(verify_form(
            TOKEN,
            with_port,
            &call_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert_eq!(
            url_forms("http://a.example:80/x"),
            vec!["http://a.example:80/x", "http://a.example/x"]
        );
        assert_eq!(url_forms("http://a.example:8080/x").len(), 1);
    }

    #[test]
    fn repeated_parameters_are_signed_with_their_values_sorted() {
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(sign(TOKEN, URL, &params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn a_json_body_is_covered_by_its_hash_in_the_url() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(hex::encode(Sha256::digest(body)), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert!(verify_json(
            TOKEN,
            &url,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        // Another body under the same URL and signature.
        assert!(!verify_json(
            TOKEN,
            &url,
            br#"{"property": "other"}"#,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        // No hash in the URL.
        assert!(!verify_json(
            TOKEN,
            URL,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn forged_missing_and_tampered_signatures_fail() {
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!verify_form(TOKEN, URL, &call_params(), ""));
        assert!(!verify_form(
            TOKEN,
            URL,
            &call_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B9="
        ));
        assert!(!verify_form("54321", URL, &call_params(), good));
        let mut tampered = call_params();
        tampered[4].1 = "+18005551213".into();
        assert!(!verify_form(TOKEN, URL, &tampered, good));
        let mut extra = call_params();
        extra.push(("Body".into(), "added".into()));
        assert!(!verify_form(TOKEN, URL, &extra, good));
        assert!(!verify_form(
            TOKEN,
            "https://mycompany.com/other.php",
            &call_params(),
            good
        ));
    }
}
