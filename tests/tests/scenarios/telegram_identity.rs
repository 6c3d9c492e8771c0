//! Who a Telegram user is: their user id, the phone they share of themselves, and
//! whether they blocked the bot.

use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, FakeTwilio, eventually, membership_update, message_update,
    new_sid, new_user_id, sms_params, status_and_json, text_update, twilio_env,
};
use serde_json::{Value, json};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

fn identities(contact: &Value) -> Vec<(String, String, bool)> {
    contact["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap_or_default().to_string(),
                i["value"].as_str().unwrap_or_default().to_string(),
                i["proven"] == true,
            )
        })
        .collect()
}

#[tokio::test]
async fn sharing_ones_own_contact_joins_the_contact_who_proved_that_phone_keeping_everything() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let env = twilio_env(&twilio);
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.extend([UNLIMITED, ("SWITCHBOARD_DEFAULT_REGION", "IR")]);
    let app = App::spawn_with_telegram(&fake, &extra).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    // Yesterday by SMS: Twilio vouches for her number.
    app.post_twilio(
        "/webhooks/twilio/sms",
        &sms_params(&new_sid("SM"), "+989123456789", "پرداخت انجام نشد"),
    )
    .await;
    // Today on Telegram: a new contact, until she shares her number.
    let user_id = new_user_id();
    app.deliver(&text_update(1, user_id, 101, "سلام از تلگرام"))
        .await;
    eventually("two contacts, one per channel", DEADLINE, async || {
        (app.all_conversations(&key).await.len() == 2).then_some(())
    })
    .await;
    app.deliver(&message_update(
        2,
        user_id,
        102,
        json!({ "contact": { "phone_number": "989123456789", "first_name": "سارا", "user_id": user_id } }),
    ))
    .await;

    let contact = eventually(
        "one contact holding both identities",
        DEADLINE,
        async || {
            let contacts = app.list_all(&key, "/v1/contacts").await;
            let only = (contacts.len() == 1).then(|| contacts[0].clone())?;
            (identities(&only).len() == 2).then_some(only)
        },
    )
    .await;
    let mut held = identities(&contact);
    held.sort();
    assert_eq!(
        held,
        vec![
            ("phone".to_string(), "+989123456789".to_string(), true),
            ("telegram".to_string(), user_id.to_string(), true),
        ],
        "both proven: {contact}"
    );
    let contact_id = contact["id"].as_str().expect("an id");
    let conversations = app.all_conversations(&key).await;
    assert_eq!(conversations.len(), 2, "every conversation kept");
    let mut texts = Vec::new();
    for c in &conversations {
        assert_eq!(c["contact_id"], contact_id, "{c}");
        for m in app.messages(&key, c["id"].as_str().expect("an id")).await {
            assert_eq!(m["contact_id"], contact_id, "{m}");
            texts.push(m["text"].as_str().unwrap_or_default().to_string());
        }
    }
    texts.sort();
    assert_eq!(texts.len(), 3, "every message kept: {texts:?}");
    assert!(texts.contains(&"پرداخت انجام نشد".to_string()));
    assert!(texts.contains(&"سلام از تلگرام".to_string()));
}

#[tokio::test]
async fn a_contact_card_of_someone_else_is_only_a_message() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app =
        App::spawn_with_telegram(&fake, &[UNLIMITED, ("SWITCHBOARD_DEFAULT_REGION", "IR")]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    app.submit(&[("phone", "09351112233"), ("message", "from the site")])
        .await;
    let user_id = new_user_id();
    app.deliver(&message_update(
        1,
        user_id,
        101,
        json!({ "contact": { "phone_number": "+989351112233", "first_name": "Reza", "user_id": 5_550_001_112_i64 } }),
    ))
    .await;
    eventually("both messages routed", DEADLINE, async || {
        (app.all_conversations(&key).await.len() == 2).then_some(())
    })
    .await;
    let contacts = app.list_all(&key, "/v1/contacts").await;
    assert_eq!(contacts.len(), 2, "nobody merged: {contacts:?}");
}

#[tokio::test]
async fn a_customer_who_blocked_the_bot_is_marked_and_replies_fail_without_trying() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    app.deliver(&text_update(1, user_id, 101, "hello")).await;
    let conversation = eventually("the message routed", DEADLINE, async || {
        Some(
            app.all_conversations(&key).await.first()?["id"]
                .as_str()?
                .to_string(),
        )
    })
    .await;

    app.deliver(&membership_update(2, user_id, "kicked")).await;
    let timeline_has = |kind: &'static str| {
        let (app, key, conversation) = (&app, &key, &conversation);
        async move {
            eventually(kind, DEADLINE, async || {
                app.timeline(key, conversation)
                    .await
                    .into_iter()
                    .find(|item| item["item"] == "event" && item["type"] == kind)
            })
            .await
        }
    };
    let event = timeline_has("channel_blocked").await;
    assert_eq!(event["channel"], "telegram");
    let contact_id = app.all_conversations(&key).await[0]["contact_id"]
        .as_str()
        .expect("a contact")
        .to_string();
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(
        contact["blocked_channels"],
        json!(["telegram"]),
        "{contact}"
    );

    let response = app
        .post_json(
            &key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": "still there?" }),
        )
        .await;
    let (_, queued, _) = status_and_json(response).await;
    let id = queued["id"].as_str().expect("an id").to_string();
    let failed = eventually("the reply failed", DEADLINE, async || {
        app.messages(&key, &conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id.as_str() && m["delivery_status"] == "failed")
    })
    .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap_or_default()
            .contains("blocked"),
        "{failed}"
    );
    assert!(
        fake.calls("sendMessage").is_empty(),
        "Telegram was not asked"
    );

    app.deliver(&membership_update(3, user_id, "member")).await;
    timeline_has("channel_unblocked").await;
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(contact["blocked_channels"], json!([]), "{contact}");
}
