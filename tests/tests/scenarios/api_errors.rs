//! The agent API answers bad requests with a clear 4xx problem, never a 500, and changes nothing.

use e2e::{AGENT, App, DEADLINE, eventually, problem_of, unique, unknown_id};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// One bad request: what it is, the call, and the statuses the contract allows.
type Case<'a> = (&'a str, Method, String, Option<&'a str>, &'a [u16]);

#[tokio::test]
async fn bad_agent_requests_get_a_4xx_problem_and_change_nothing() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", AGENT);
    app.submit(&[
        ("email", &format!("{}@example.com", unique("api"))),
        ("message", "Hello there"),
    ])
    .await;
    let id = eventually("the conversation", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await;
    let before = app.get_ok(&key, &format!("/v1/conversations/{id}")).await;

    let replies = format!("/v1/conversations/{id}/replies");
    let conversation = format!("/v1/conversations/{id}");
    let cases: Vec<Case> = vec![
        (
            "an empty reply",
            Method::POST,
            replies.clone(),
            Some(r#"{"text": ""}"#),
            &[422],
        ),
        (
            "a reply without text",
            Method::POST,
            replies.clone(),
            Some("{}"),
            &[400, 422],
        ),
        (
            "a malformed JSON reply",
            Method::POST,
            replies.clone(),
            Some(r#"{"text": "#),
            &[400],
        ),
        (
            "a reply on an unknown channel",
            Method::POST,
            replies.clone(),
            Some(r#"{"text": "hi", "channel": "pigeon"}"#),
            &[400, 422],
        ),
        (
            "an unknown status",
            Method::PATCH,
            conversation.clone(),
            Some(r#"{"status": "exploded"}"#),
            &[400, 422],
        ),
        (
            "an unknown conversation",
            Method::GET,
            format!("/v1/conversations/{}", unknown_id("cv")),
            None,
            &[404],
        ),
        (
            "an id of the wrong kind",
            Method::GET,
            format!("/v1/conversations/{}", unknown_id("ct")),
            None,
            &[400, 404],
        ),
        (
            "a malformed id",
            Method::GET,
            "/v1/conversations/nonsense".into(),
            None,
            &[400, 404],
        ),
        (
            "an unknown status filter",
            Method::GET,
            "/v1/conversations?status=exploded".into(),
            None,
            &[400, 422],
        ),
        (
            "a malformed cursor",
            Method::GET,
            "/v1/conversations?cursor=%%%garbage".into(),
            None,
            &[400, 422],
        ),
    ];

    let mut failures = Vec::new();
    for (what, method, path, body, expected) in cases {
        let mut request = app.request(&key, method, &path);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let response = request.send().await.expect("the API answers");
        match problem_of(response).await {
            Ok((status, _)) if expected.contains(&status.as_u16()) => {}
            Ok((status, problem)) => failures.push(format!(
                "{what}: expected {expected:?}, got {status} {problem}"
            )),
            Err(why) => failures.push(format!("{what}: {why}")),
        }
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = app.get_ok(&key, &format!("/v1/conversations/{id}")).await;
    let messages = app.messages(&key, &id).await;
    assert!(
        failures.is_empty(),
        "bad requests not refused properly:\n{}",
        failures.join("\n")
    );
    assert_eq!(before["status"], after["status"], "{after}");
    assert_eq!(
        before["version"], after["version"],
        "nothing changed: {after}"
    );
    assert_eq!(messages.len(), 1, "no reply was queued: {messages:?}");
    let health = app.http.get(app.url("/healthz")).send().await.expect("up");
    assert_eq!(health.status(), StatusCode::OK);
}
