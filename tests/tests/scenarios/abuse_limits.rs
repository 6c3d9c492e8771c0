//! The public routes' rate limits, attacked as a security review did: a client writing
//! its own `X-Forwarded-For`, answers on one customer page from one address, and a flood
//! of answers on one page from many addresses.

use e2e::{App, DEADLINE, eventually, problem_of, unique};
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};

/// Asserts a 429 is a problem document that says when to come back.
async fn assert_limited(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|secs| secs >= 1),
        "{what}: Retry-After {retry_after:?}"
    );
    problem_of(response)
        .await
        .unwrap_or_else(|why| panic!("{what}: {why}"));
}

/// A customer's first message through the web form, routed: its page's URL.
async fn routed_page(app: &App, text: &str) -> String {
    let email = format!("{}@example.com", unique("limits"));
    let url = app.submit(&[("email", &email), ("message", text)]).await;
    page_shows(app, &url, text).await;
    url
}

/// Waits until the page at `url` shows `text`.
async fn page_shows(app: &App, url: &str, text: &str) {
    eventually("the text on the customer page", DEADLINE, async || {
        let html = app.http.get(url).send().await.ok()?.text().await.ok()?;
        html.contains(text).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_spoofed_leftmost_forwarded_address_no_longer_escapes_the_rate_limit() {
    // One proxy in front, which appends the address it was reached from; the older
    // setting means the same.
    for proxy in [
        ("SWITCHBOARD_TRUSTED_PROXY_HOPS", "1"),
        ("SWITCHBOARD_TRUST_PROXY", "true"),
    ] {
        let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "3"), proxy]).await;
        let mut statuses = Vec::new();
        for n in 0..6 {
            // The attacker writes a fresh leftmost entry every time; the proxy appends
            // the one address it really comes from.
            let forwarded = format!("10.{n}.{n}.{n}, 203.0.113.7");
            let message = format!("spoofed {n}");
            let response = app
                .post_webform_forwarded(
                    &forwarded,
                    &[("email", "spoof@example.com"), ("message", &message)],
                )
                .await;
            statuses.push(response.status().as_u16());
            if n >= 3 {
                assert_limited(response, &format!("{proxy:?}: post {n}")).await;
            }
        }
        assert_eq!(statuses, [202, 202, 202, 429, 429, 429], "{proxy:?}");
        // Another client behind the same proxy has a share of its own.
        let other = app
            .post_webform_forwarded(
                "10.0.0.0, 203.0.113.8",
                &[("email", "other@example.com"), ("message", "hello")],
            )
            .await;
        assert_eq!(other.status(), StatusCode::ACCEPTED, "{proxy:?}");
    }
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_is_ignored() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "2")]).await;
    let mut statuses = Vec::new();
    for n in 0..3 {
        let response = app
            .post_webform_forwarded(
                &format!("198.51.100.{n}"),
                &[("email", "direct@example.com"), ("message", "hello")],
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 429]);
}

#[tokio::test]
async fn answers_on_a_customer_page_count_against_the_address_limit() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "3"),
        ("SWITCHBOARD_LINK_RATE_PER_MINUTE", "0"),
    ])
    .await;
    // One submission and two answers: the address's three.
    let url = routed_page(&app, "My parcel is lost").await;
    for n in 0..2 {
        let response = app.answer_on_page(&url, &format!("answer {n}"), None).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "answer {n}");
    }
    let over = app.answer_on_page(&url, "one answer too many", None).await;
    assert_limited(over, "the fourth post from one address").await;
    let form = app
        .post_webform(&[("email", "again@example.com"), ("message", "again")])
        .await;
    assert_limited(form, "a web-form post from the same address").await;
}

#[tokio::test]
async fn a_flood_of_answers_on_one_link_from_many_addresses_is_answered_429() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_LINK_RATE_PER_MINUTE", "5"),
        ("SWITCHBOARD_TRUSTED_PROXY_HOPS", "1"),
    ])
    .await;
    let url = routed_page(&app, "Please call me back").await;
    let mut statuses = Vec::new();
    for n in 0..8 {
        // Each answer from an address of its own: the address limit never bites.
        let from = format!("198.51.100.{n}");
        let response = app
            .answer_on_page(&url, &format!("flood {n}"), Some(&from))
            .await;
        statuses.push(response.status().as_u16());
        if n >= 5 {
            assert_limited(response, &format!("answer {n}")).await;
        }
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429, 429]);

    // Another customer's page still takes answers.
    let other = routed_page(&app, "Where is my invoice").await;
    let response = app
        .answer_on_page(&other, "found it", Some("198.51.100.200"))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // The refused answers were never taken in.
    page_shows(&app, &url, "flood 4").await;
    let page = app.http.get(&url).send().await.expect("the page answers");
    let html = page.text().await.expect("an HTML body");
    for n in 5..8 {
        assert!(
            !html.contains(&format!("flood {n}")),
            "flood {n} was stored"
        );
    }
}
