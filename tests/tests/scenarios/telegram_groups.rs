//! With groups enabled, a customer who writes in a group is answered in that group.

use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, eventually, new_user_id, status_and_json, text_update,
};
use serde_json::{Value, json};

const GROUP: i64 = -1_001_234_567_890;

async fn reply(app: &App, key: &str, conversation: &str, text: &str) -> Value {
    let response = app
        .post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": text }),
        )
        .await;
    let (status, body, raw) = status_and_json(response).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    body
}

async fn sent(app: &App, key: &str, conversation: &str, id: &Value) {
    let message = eventually("the reply settled", DEADLINE, async || {
        app.messages(key, conversation).await.into_iter().find(|m| {
            m["id"] == *id && !matches!(m["delivery_status"].as_str(), Some("queued" | "sending"))
        })
    })
    .await;
    assert_eq!(message["delivery_status"], "sent", "{message}");
}

#[tokio::test]
async fn a_reply_to_a_group_message_goes_to_the_group_as_a_reply_and_private_chats_stay_private() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[("SWITCHBOARD_TELEGRAM_GROUPS", "true")]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let mut group = text_update(1, user_id, 5001, "@acme_support_bot my order is late");
    group["message"]["chat"] =
        json!({ "id": GROUP, "title": "Acme customers", "type": "supergroup" });
    app.deliver(&group).await;
    let conversation = eventually("the group message routed", DEADLINE, async || {
        Some(
            app.all_conversations(&key).await.first()?["id"]
                .as_str()?
                .to_string(),
        )
    })
    .await;
    let inbound = app.messages(&key, &conversation).await;
    assert_eq!(inbound.len(), 1, "{inbound:?}");
    assert_eq!(inbound[0]["text"], "@acme_support_bot my order is late");

    let queued = reply(&app, &key, &conversation, "Looking into it").await;
    assert_eq!(
        queued["reply_to"], inbound[0]["id"],
        "the reply answers the group message"
    );
    sent(&app, &key, &conversation, &queued["id"]).await;
    let calls = fake.calls("sendMessage");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["chat_id"].as_i64(),
        Some(GROUP),
        "to the group, not the user's private chat: {}",
        calls[0].body
    );
    assert_eq!(
        calls[0].body["reply_parameters"],
        json!({ "message_id": 5001, "allow_sending_without_reply": true })
    );
    assert_eq!(calls[0].body["text"], "Looking into it");

    // The same customer writes privately: the next reply goes to their own chat.
    app.deliver(&text_update(2, user_id, 7, "any news?")).await;
    eventually("the private message routed", DEADLINE, async || {
        (app.messages(&key, &conversation).await.len() == 3).then_some(())
    })
    .await;
    let queued = reply(&app, &key, &conversation, "Shipped today").await;
    sent(&app, &key, &conversation, &queued["id"]).await;
    let calls = fake.calls("sendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].body["chat_id"].as_i64(), Some(user_id));
    assert!(
        calls[1].body.get("reply_parameters").is_none(),
        "{}",
        calls[1].body
    );
}

#[tokio::test]
async fn a_bot_removed_from_the_group_fails_the_reply_without_marking_the_customer_blocked() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[("SWITCHBOARD_TELEGRAM_GROUPS", "true")]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let mut group = text_update(1, new_user_id(), 5001, "hello");
    group["message"]["chat"] = json!({ "id": GROUP, "title": "Acme customers", "type": "group" });
    app.deliver(&group).await;
    let conversation = eventually("the group message routed", DEADLINE, async || {
        Some(
            app.all_conversations(&key).await.first()?["id"]
                .as_str()?
                .to_string(),
        )
    })
    .await;
    fake.fail_next(
        "sendMessage",
        403,
        "Forbidden: bot was kicked from the group chat",
        None,
    );
    let queued = reply(&app, &key, &conversation, "hi").await;
    let failed = eventually("the reply failed", DEADLINE, async || {
        app.messages(&key, &conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == queued["id"] && m["delivery_status"] == "failed")
    })
    .await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("kicked from the group"), "{reason}");
    let contact_id = failed["contact_id"].as_str().expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(contact["blocked_channels"], json!([]), "{contact}");
}
