//! The customer's page shows the conversation safely: replies yes, notes never, no markup.

use e2e::{AGENT, App, DEADLINE, eventually, status_and_json, unique};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::json;
use std::time::Duration;

/// A customer's first message, routed: (conversation id, page url).
async fn conversation(app: &App, key: &str, message: &str) -> (String, String) {
    let email = format!("{}@example.com", unique("page"));
    let url = app
        .submit(&[("name", "Pat"), ("email", &email), ("message", message)])
        .await;
    let id = eventually("the conversation", DEADLINE, async || {
        let conversations = app.all_conversations(key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await;
    (id, url)
}

async fn page(app: &App, url: &str) -> String {
    let response = app.http.get(url).send().await.expect("the page answers");
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.text().await.expect("an HTML body")
}

#[tokio::test]
async fn a_private_note_never_appears_on_the_customer_page() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let (id, url) = conversation(&app, &key, "Where is my refund").await;
    let note = "internal: this customer already got two refunds";
    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{id}/notes"),
            &json!({ "text": note }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "note: {text}");
    let reply = "Your refund was sent this morning";
    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{id}/replies"),
            &json!({ "text": reply }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "reply: {text}");

    let html = eventually("the reply on the page", DEADLINE, async || {
        let html = page(&app, &url).await;
        html.contains(reply).then_some(html)
    })
    .await;
    assert!(
        !html.contains("two refunds"),
        "the note leaked to the customer:\n{html}"
    );
    let timeline = app.timeline(&key, &id).await;
    assert!(
        timeline
            .iter()
            .any(|i| i["item"] == "note" && i["text"] == note),
        "the agents still see the note: {timeline:?}"
    );
}

#[tokio::test]
async fn markup_in_a_message_is_shown_as_text_not_run_on_the_page() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let hostile = r#"<script>alert("pwned")</script><img src=x onerror=alert(1)>"#;
    let (id, url) = conversation(&app, &key, hostile).await;
    let reply = r#"We never run <b onmouseover="x()">markup</b>"#;
    app.post_json(
        &key,
        &format!("/v1/conversations/{id}/replies"),
        &json!({ "text": reply }),
    )
    .await;
    let html = eventually("the reply on the page", DEADLINE, async || {
        let html = page(&app, &url).await;
        html.contains("We never run").then_some(html)
    })
    .await;
    for raw in ["<script>alert(", "<img src=x", "<b onmouseover"] {
        assert!(
            !html.contains(raw),
            "{raw:?} reached the page unescaped:\n{html}"
        );
    }
    // The API still has the text exactly as the customer typed it.
    let messages = app.messages(&key, &id).await;
    assert_eq!(messages[0]["text"], hostile);
}

#[tokio::test]
async fn an_answer_posted_twice_with_one_idempotency_key_is_stored_once() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let (id, url) = conversation(&app, &key, "Can I change my address").await;
    let answer = "It is 12 Harbour Street now";
    let idempotency_key = unique("answer");
    for _ in 0..3 {
        let response = app
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(
                serde_urlencoded::to_string([
                    ("message", answer),
                    ("idempotency_key", &idempotency_key),
                ])
                .expect("encodes"),
            )
            .send()
            .await
            .expect("the page answers");
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "JSON answer on the page"
        );
    }
    eventually("the answer routed", DEADLINE, async || {
        let messages = app.messages(&key, &id).await;
        messages.iter().any(|m| m["text"] == answer).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = app.messages(&key, &id).await;
    let count = messages.iter().filter(|m| m["text"] == answer).count();
    assert_eq!(count, 1, "{messages:?}");
}

#[tokio::test]
async fn an_empty_answer_on_the_page_is_refused_and_not_stored() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let (id, url) = conversation(&app, &key, "Hello").await;
    let response = app
        .http
        .post(&url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body("message=")
        .send()
        .await
        .expect("the page answers");
    e2e::problem_of(response)
        .await
        .map(|(status, _)| assert!(status.is_client_error(), "{status}"))
        .unwrap_or_else(|why| panic!("{why}"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.messages(&key, &id).await.len(), 1);
}

/// The texts of `candidates` the page shows, in the order it shows them.
fn shown_in_order<'a>(html: &str, candidates: &'a [String]) -> Vec<&'a str> {
    let mut shown: Vec<(usize, &str)> = candidates
        .iter()
        .filter_map(|text| Some((html.find(&format!("{text}<"))?, text.as_str())))
        .collect();
    shown.sort();
    shown.into_iter().map(|(_, text)| text).collect()
}

/// The page's "older messages" link (`?before=…`), if it has one.
fn older_link(html: &str) -> Option<String> {
    let start = html.find("href=\"?before=")? + "href=\"".len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_string())
}

#[tokio::test]
async fn the_customer_page_shows_the_newest_fifty_messages_and_links_to_the_older_ones() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
        ("SWITCHBOARD_LINK_RATE_PER_MINUTE", "0"),
    ])
    .await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let (id, url) = conversation(&app, &key, "page message 00").await;
    for n in 1..60 {
        let response = app
            .answer_on_page(&url, &format!("page message {n:02}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "answer {n}");
    }
    let stored: Vec<String> = eventually("sixty messages stored", DEADLINE, async || {
        let messages = app.messages(&key, &id).await;
        (messages.len() == 60).then(|| {
            messages
                .iter()
                .map(|m| m["text"].as_str().unwrap_or_default().to_string())
                .collect()
        })
    })
    .await;

    // The first view: the newest fifty, oldest first, and a way back.
    let newest = page(&app, &url).await;
    assert_eq!(
        newest.matches("class=\"msg ").count(),
        50,
        "messages on the page"
    );
    assert_eq!(shown_in_order(&newest, &stored), stored[10..].to_vec());
    let older = older_link(&newest).expect("an older-messages link");

    // The older view: the ten before them, and no further link back.
    let earlier = page(&app, &format!("{url}{older}")).await;
    assert_eq!(earlier.matches("class=\"msg ").count(), 10);
    assert_eq!(shown_in_order(&earlier, &stored), stored[..10].to_vec());
    assert_eq!(older_link(&earlier), None);

    // A cursor that is no place at all is refused.
    let response = app
        .http
        .get(format!("{url}?before=not-a-place"))
        .send()
        .await
        .expect("the page answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// Asserts that no other site may frame `response`.
fn assert_unframeable(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let policy = header("content-security-policy");
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: Content-Security-Policy {policy:?}"
    );
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
}

#[tokio::test]
async fn every_html_page_forbids_other_sites_to_frame_it() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    let (_, url) = conversation(&app, &key, "Frame me if you can").await;
    let unknown_link = app.url(&format!("/c/{}", "A".repeat(43)));
    let mut responses = Vec::new();
    for (what, target) in [
        ("the contact page", app.url("/contact")),
        ("a customer page", url.clone()),
        ("a page still waiting for its conversation", unknown_link),
        ("a page that is no link", app.url("/c/short")),
        ("no page at all", app.url("/nowhere")),
    ] {
        let response = app.http.get(&target).send().await.expect("answers");
        responses.push((what, response));
    }
    // The contact form shown again with an error (no message given).
    let form_error = app
        .post_webform_as_browser(&[("email", "frame@example.com"), ("message", "")])
        .await;
    responses.push(("the contact form with an error", form_error));

    for (what, response) in &responses {
        assert_unframeable(response, what);
    }
    for (what, response) in responses.into_iter().take(3) {
        let html = response.text().await.expect("a body");
        assert!(html.starts_with("<!DOCTYPE html>"), "{what} is a page");
    }
}
