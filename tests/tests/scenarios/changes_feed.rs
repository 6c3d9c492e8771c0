//! The changes feed (`GET /v1/events`) on the real binary: a waiting read answers when
//! something happens, and a cursor survives a restart without gaps or repeats.

use e2e::{ADMIN, App, DEADLINE, eventually, problem_of, status_and_json, unique};
use serde_json::Value;
use std::time::{Duration, Instant};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

/// One read of the feed: its events and where the next read starts.
async fn read(app: &App, key: &str, after: &str, wait: u32) -> (Vec<Value>, String) {
    let (status, page, text) = status_and_json(
        app.get(key, &format!("/v1/events?after={after}&wait={wait}"))
            .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    let events = page["events"].as_array().expect("events").clone();
    let next = page["next_cursor"].as_str().expect("a cursor").to_owned();
    (events, next)
}

/// Where the feed stands now: a read without `after`.
async fn now(app: &App, key: &str) -> String {
    let (status, page, text) = status_and_json(app.get(key, "/v1/events").await).await;
    assert!(status.is_success(), "{text}");
    assert_eq!(page["events"], serde_json::json!([]), "{text}");
    page["next_cursor"].as_str().expect("a cursor").to_owned()
}

/// Reads on from `after` until an event of `kind` has come: everything read, in order,
/// and the cursor after it.
async fn read_until(app: &App, key: &str, after: &str, kind: &str) -> (Vec<Value>, String) {
    let mut all = Vec::new();
    let mut cursor = after.to_owned();
    eventually(&format!("a {kind} event"), DEADLINE, async || {
        let (events, next) = read(app, key, &cursor, 1).await;
        all.extend(events);
        cursor = next;
        all.iter().any(|e| e["type"] == kind).then_some(())
    })
    .await;
    (all, cursor)
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("a type"))
        .collect()
}

#[tokio::test]
async fn a_waiting_read_answers_as_soon_as_a_message_arrives() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Ana", "ana@support.example", ADMIN);
    let start = now(&app, &key).await;

    let waiting = {
        let (app_url, key, start) = (app.url(""), key.clone(), start.clone());
        tokio::spawn(async move {
            let begun = Instant::now();
            let answer = reqwest::Client::new()
                .get(format!("{app_url}/v1/events?after={start}&wait=25"))
                .bearer_auth(key)
                .send()
                .await
                .expect("the feed answers");
            let page: Value = answer.json().await.expect("json");
            (page, begun.elapsed(), Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!waiting.is_finished(), "a read with no news waits");
    let text = format!("card declined {}", unique("feed"));
    let email = format!("{}@example.com", unique("feed"));
    app.submit(&[("name", "Kim"), ("email", &email), ("message", &text)])
        .await;
    let submitted = Instant::now();
    let (page, waited, answered) = waiting.await.expect("the read ends");
    let events = page["events"].as_array().expect("events");
    assert!(
        waited < Duration::from_secs(20),
        "answered on the change, not at the end of its wait: {waited:?}"
    );
    assert!(!events.is_empty(), "{page}");
    let received = events
        .iter()
        .find(|e| e["type"] == "message.received")
        .unwrap_or_else(|| panic!("the message's event: {page}"));
    let message = app
        .get_ok(
            &key,
            &format!(
                "/v1/conversations/{}/timeline",
                received["conversation_id"]
                    .as_str()
                    .expect("a conversation")
            ),
        )
        .await;
    assert!(message.to_string().contains(&text), "{message}");
    eprintln!(
        "feed: the waiting read answered {:?} after the submission was accepted",
        answered.duration_since(submitted)
    );
}

#[tokio::test]
async fn a_cursor_from_before_a_restart_reads_on_without_gaps_or_repeats() {
    let mut app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Ana", "ana@support.example", ADMIN);
    let start = now(&app, &key).await;
    let first = format!("{}@example.com", unique("before"));
    app.submit(&[("email", &first), ("message", "before the restart")])
        .await;
    let (before, cursor) = read_until(&app, &key, &start, "message.received").await;
    let conversation = before
        .iter()
        .find(|e| e["type"] == "message.received")
        .unwrap()["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{conversation}/notes"),
            &serde_json::json!({ "text": "checking with the bank" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    let (noted, cursor) = read_until(&app, &key, &cursor, "note.added").await;
    assert_eq!(types(&noted), ["note.added"]);
    assert_eq!(noted[0]["conversation_id"], conversation.as_str());
    assert!(noted[0]["actor_id"].as_str().unwrap().starts_with("ag_"));

    app.restart().await;
    let second = format!("{}@example.com", unique("after"));
    app.submit(&[("email", &second), ("message", "after the restart")])
        .await;
    let (after, _) = read_until(&app, &key, &cursor, "message.received").await;
    let mut kinds = types(&after);
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "contact.created",
            // Ana is available: the new conversation is hers.
            "conversation.assigned",
            "conversation.created",
            "message.received"
        ],
        "the second message's events, none of the first's again: {after:#?}"
    );
    for event in &after {
        assert!(
            !before.iter().chain(&noted).any(|b| b["id"] == event["id"]),
            "{event} was read before the restart"
        );
        assert_ne!(event["conversation_id"], conversation.as_str());
    }
}

#[tokio::test]
async fn the_feed_needs_a_key_and_refuses_what_it_cannot_read() {
    let app = App::spawn().await;
    let key = app.create_agent("Ana", "ana@support.example", ADMIN);
    let anonymous = reqwest::get(app.url("/v1/events")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for (query, status) in [
        ("after=not-a-cursor", 422),
        ("wait=26", 400),
        ("limit=0", 400),
        ("limit=101", 400),
    ] {
        let (got, problem) = problem_of(app.get(&key, &format!("/v1/events?{query}")).await)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(got.as_u16(), status, "{query}: {problem}");
    }
}
