//! Retries and races never duplicate: one submission, one message; one customer, one contact.

use e2e::{ADMIN, App, DEADLINE, FakeTwilio, eventually, new_sid, sms_params, unique};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

#[tokio::test]
async fn the_same_submission_posted_five_times_is_stored_once() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let email = format!("{}@example.com", unique("retry"));
    let idempotency_key = unique("submission");
    let fields = [
        ("name", "Rita Retry"),
        ("email", email.as_str()),
        ("message", "My order arrived broken"),
        ("idempotency_key", idempotency_key.as_str()),
    ];
    for _ in 0..5 {
        app.submit(&fields).await;
    }

    let conversation_id = eventually("the submission routed", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await;
    // A duplicate would be routed just behind the original; give it time to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let conversations = app.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let messages = app.messages(&key, &conversation_id).await;
    assert_eq!(messages.len(), 1, "stored once: {messages:?}");
    assert_eq!(messages[0]["text"], "My order arrived broken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_texts_from_a_new_customer_at_once_make_one_contact_and_one_conversation() {
    const COUNT: usize = 50;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = Arc::new(App::spawn_with_twilio(&twilio, &[]).await);
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let number = "+14155550142";
    let run = unique("burst");
    let barrier = Arc::new(tokio::sync::Barrier::new(COUNT));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..COUNT {
        let (app, barrier, run) = (app.clone(), barrier.clone(), run.clone());
        tasks.spawn(async move {
            let params = sms_params(&new_sid("SM"), number, &format!("{run} message {n:02}"));
            barrier.wait().await;
            app.post_twilio("/webhooks/twilio/sms", &params).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a text task");
    }

    let deadline = DEADLINE * 2;
    let query = "/v1/contacts?q=%2B14155550142";
    let contact = eventually("the burst's contact", deadline, async || {
        app.list_all(&key, query).await.first().cloned()
    })
    .await;
    let contact_id = contact["id"].as_str().expect("a contact id").to_string();
    let messages = eventually("all 50 messages routed", deadline, async || {
        let conversations = app.all_conversations(&key).await;
        let mut messages = Vec::new();
        for conversation in &conversations {
            messages.extend(app.messages(&key, conversation["id"].as_str()?).await);
        }
        (messages.len() >= COUNT).then_some(messages)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let contacts = app.list_all(&key, query).await;
    assert_eq!(
        contacts.len(),
        1,
        "one contact for one number: {contacts:?}"
    );
    let conversations = app.all_conversations(&key).await;
    assert_eq!(
        conversations.len(),
        1,
        "one conversation: {conversations:?}"
    );
    assert_eq!(
        conversations[0]["contact_id"].as_str(),
        Some(contact_id.as_str())
    );
    let conversation_id = conversations[0]["id"].as_str().expect("an id");
    let timeline = app.messages(&key, conversation_id).await;
    assert!(timeline.len() >= messages.len());
    let inbound: Vec<_> = timeline
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), COUNT, "50 inbound messages, no more");
    let texts: HashSet<_> = inbound.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.len(), COUNT, "each message once");
    assert!(
        inbound
            .iter()
            .all(|m| m["contact_id"].as_str() == Some(contact_id.as_str())),
        "every message from the one contact"
    );
}

#[tokio::test]
async fn a_filled_honeypot_is_answered_as_accepted_but_nothing_is_stored() {
    let app = App::spawn().await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let response = app
        .post_webform(&[
            ("name", "Bot"),
            ("email", "bot@spam.example"),
            ("message", "Buy cheap watches"),
            ("website", "https://spam.example"),
        ])
        .await;
    assert!(
        response.status().is_success(),
        "a bot must not learn it was caught: {}",
        response.status()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let conversations = app.all_conversations(&key).await;
    assert!(conversations.is_empty(), "{conversations:?}");
}
