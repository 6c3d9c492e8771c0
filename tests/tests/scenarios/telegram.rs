//! A customer writes to the bot; the agent's reply comes back in the same chat.

use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, eventually, membership_update, new_user_id,
    status_and_json, text_update,
};
use serde_json::{Value, json};
use std::time::Duration;

/// Delivers one text update and returns the conversation it landed in.
async fn conversation_of(app: &App, key: &str, user_id: i64, text: &str) -> String {
    app.deliver(&text_update(1, user_id, 101, text)).await;
    eventually("the update routed", DEADLINE, async || {
        let conversations = app.all_conversations(key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await
}

async fn reply(app: &App, key: &str, conversation: &str, text: &str) -> String {
    let response = app
        .post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": text }),
        )
        .await;
    let (status, body, raw) = status_and_json(response).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    assert_eq!(body["channel"], "telegram", "{raw}");
    body["id"].as_str().expect("a message id").to_string()
}

/// Waits until the reply is no longer queued and returns it.
async fn settled(app: &App, key: &str, conversation: &str, id: &str) -> Value {
    eventually("the reply settled", DEADLINE, async || {
        app.messages(key, conversation).await.into_iter().find(|m| {
            m["id"] == id && !matches!(m["delivery_status"].as_str(), Some("queued" | "sending"))
        })
    })
    .await
}

#[tokio::test]
async fn a_customer_message_becomes_a_conversation_and_the_reply_reaches_their_chat() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let conversation = conversation_of(&app, &key, user_id, "سلام، سفارشم نرسیده 📦").await;

    let messages = app.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["text"], "سلام، سفارشم نرسیده 📦");
    assert_eq!(messages[0]["channel"], "telegram");
    let contact_id = messages[0]["contact_id"].as_str().expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(contact["name"], "سارا");
    assert!(
        contact["identities"]
            .as_array()
            .expect("identities")
            .iter()
            .any(|i| {
                i["kind"] == "telegram"
                    && i["value"].as_str() == Some(user_id.to_string().as_str())
                    && i["proven"] == true
            }),
        "the Telegram user id is a proven identity: {contact}"
    );

    let id = reply(&app, &key, &conversation, "Hi <Sara> & \"team\": on it").await;
    let sent = settled(&app, &key, &conversation, &id).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    let calls = fake.calls("sendMessage");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["chat_id"].as_i64(),
        Some(user_id),
        "64-bit chat id intact"
    );
    assert_eq!(
        calls[0].body["text"],
        "Hi &lt;Sara&gt; &amp; &quot;team&quot;: on it"
    );
    assert_eq!(calls[0].body["parse_mode"], "HTML");
}

#[tokio::test]
async fn a_long_reply_goes_out_in_parts_that_each_fit() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let conversation = conversation_of(&app, &key, new_user_id(), "help").await;
    let paragraph = "این یک پاراگراف طولانی است. ".repeat(100);
    let text = format!(
        "{}\n\n{}\n\n{}",
        paragraph.trim(),
        paragraph.trim(),
        paragraph.trim()
    );
    let id = reply(&app, &key, &conversation, &text).await;
    assert_eq!(
        settled(&app, &key, &conversation, &id).await["delivery_status"],
        "sent"
    );
    let calls = fake.calls("sendMessage");
    assert!(calls.len() >= 2, "{} parts", calls.len());
    for call in &calls {
        let part = call.body["text"].as_str().expect("text");
        assert!(part.encode_utf16().count() <= 4096);
    }
    let joined: Vec<String> = calls
        .iter()
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        joined.join("\n\n"),
        text,
        "split at the paragraph breaks, nothing lost"
    );
}

#[tokio::test]
async fn a_rate_limited_reply_waits_retry_after_and_then_goes_out() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let conversation = conversation_of(&app, &key, new_user_id(), "hello").await;
    fake.fail_next(
        "sendMessage",
        429,
        "Too Many Requests: retry after 2",
        Some(2),
    );
    let id = reply(&app, &key, &conversation, "thanks for waiting").await;
    let sent = settled(&app, &key, &conversation, &id).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    let calls = fake.calls("sendMessage");
    assert_eq!(calls.len(), 2, "one refused, one sent");
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_millis(1900),
        "waited {waited:?}, not retry_after"
    );
}

#[tokio::test]
async fn a_telegram_outage_is_retried_with_backoff() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let conversation = conversation_of(&app, &key, new_user_id(), "hello").await;
    fake.fail_next("sendMessage", 500, "Internal Server Error", None);
    let id = reply(&app, &key, &conversation, "here is the answer").await;
    let sent = settled(&app, &key, &conversation, &id).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    assert_eq!(fake.calls("sendMessage").len(), 2);
}

#[tokio::test]
async fn a_reply_refused_with_403_marks_the_contact_blocked_and_the_next_reply_fails_without_trying()
 {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let conversation = conversation_of(&app, &key, user_id, "hello").await;
    fake.fail_next(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        None,
    );
    let id = reply(&app, &key, &conversation, "are you there?").await;
    let failed = settled(&app, &key, &conversation, &id).await;
    assert_eq!(failed["delivery_status"], "failed", "{failed}");
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("blocked"), "{reason}");
    assert!(
        !reason.contains(e2e::BOT_TOKEN),
        "the token never shows: {reason}"
    );

    let contact_id = failed["contact_id"]
        .as_str()
        .expect("a contact")
        .to_string();
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(
        contact["blocked_channels"],
        json!(["telegram"]),
        "the 403 marked the contact: {contact}"
    );
    let event = app
        .timeline(&key, &conversation)
        .await
        .into_iter()
        .find(|item| item["item"] == "event" && item["type"] == "channel_blocked")
        .expect("a channel_blocked event in the timeline");
    assert_eq!(event["channel"], "telegram");

    let second = reply(&app, &key, &conversation, "hello again?").await;
    let failed = settled(&app, &key, &conversation, &second).await;
    assert_eq!(failed["delivery_status"], "failed", "{failed}");
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("blocked us on telegram"), "{reason}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        fake.calls("sendMessage").len(),
        1,
        "neither the refused reply was retried nor the next one tried"
    );

    // The customer unblocks the bot: replies go out again.
    app.deliver(&membership_update(2, user_id, "member")).await;
    eventually("the contact unblocked", DEADLINE, async || {
        let contact = app
            .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
            .await;
        (contact["blocked_channels"] == json!([])).then_some(())
    })
    .await;
    let third = reply(&app, &key, &conversation, "welcome back").await;
    let sent = settled(&app, &key, &conversation, &third).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    assert_eq!(fake.calls("sendMessage").len(), 2);
}

#[tokio::test]
async fn start_is_answered_with_the_welcome_text_through_the_outbound_path() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let welcome = "سلام! پیام‌تان را بنویسید <3";
    let app =
        App::spawn_with_telegram(&fake, &[("SWITCHBOARD_TELEGRAM_WELCOME_TEXT", welcome)]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let conversation = conversation_of(&app, &key, user_id, "/start").await;
    let calls = eventually("the welcome sent", DEADLINE, async || {
        let calls = fake.calls("sendMessage");
        (!calls.is_empty()).then_some(calls)
    })
    .await;
    assert_eq!(calls[0].body["chat_id"].as_i64(), Some(user_id));
    assert_eq!(calls[0].body["text"], "سلام! پیام‌تان را بنویسید &lt;3");
    let welcome_message = eventually("the welcome in the timeline", DEADLINE, async || {
        app.messages(&key, &conversation)
            .await
            .into_iter()
            .find(|m| m["direction"] == "outbound" && m["delivery_status"] == "sent")
    })
    .await;
    assert_eq!(welcome_message["author"]["type"], "system");
    assert_eq!(welcome_message["text"], welcome);
}
