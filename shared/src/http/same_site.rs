//! Whether a browser's request was started by a page of another site: a form there that
//! posts here on its own (cross-site request forgery). Read from the Fetch Metadata the
//! browser sends (`Sec-Fetch-Site`), and from `Origin` where a browser sends no such
//! header.

use super::links::public_base;
use crate::config::HttpConfig;
use axum::http::{HeaderMap, Uri, header};

/// True when the request came from a page of another origin; false for one of ours, a
/// link typed or opened by the person, or a client that is no browser (no such headers).
pub fn from_another_site(config: &HttpConfig, uri: &Uri, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let ours = public_base(config, uri, headers);
    let authority = |url: &str| url.split_once("://").map(|(_, rest)| rest.to_owned());
    match (
        origin.to_str().ok().and_then(authority),
        ours.as_deref().and_then(authority),
    ) {
        (Some(theirs), Some(ours)) => !theirs.eq_ignore_ascii_case(&ours),
        // `Origin: null` (a sandboxed frame, a file) or one we cannot read.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn a_page_of_another_site_is_told_from_ours_and_from_the_person() {
        let config = crate::http::links::tests::config(None);
        let uri: Uri = "/app/link/x".parse().unwrap();
        let here = [("host", "help.example.com")];
        for (ours, pairs) in [
            (true, vec![("sec-fetch-site", "same-origin")]),
            (true, vec![("sec-fetch-site", "none")]),
            (true, vec![("origin", "https://help.example.com")]),
            (true, vec![]),
            (false, vec![("sec-fetch-site", "cross-site")]),
            (false, vec![("sec-fetch-site", "same-site")]),
            (false, vec![("origin", "https://evil.example")]),
            (false, vec![("origin", "null")]),
        ] {
            let mut all = here.to_vec();
            all.extend(pairs.iter().copied());
            assert_eq!(
                from_another_site(&config, &uri, &headers(&all)),
                !ours,
                "{pairs:?}"
            );
        }
    }
}
