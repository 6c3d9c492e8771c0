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
