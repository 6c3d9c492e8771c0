//! A customer texts our Twilio number; the agent's reply goes back by SMS and Twilio's
//! status callbacks show on it.

use e2e::{
    ADMIN, App, DEADLINE, FakeTwilio, OUR_NUMBER, PUBLIC_URL, eventually, new_sid, sms_params,
    status_and_json,
};
use serde_json::{Value, json};

const CUSTOMER: &str = "+14155552671";

async fn started() -> (FakeTwilio, App, String) {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = App::spawn_with_twilio(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    (fake, app, key)
}

/// Texts `body` from `from` and returns the conversation it landed in.
async fn conversation_of(app: &App, key: &str, from: &str, body: &str) -> String {
    let twiml = app
        .post_twilio(
            "/webhooks/twilio/sms",
            &sms_params(&new_sid("SM"), from, body),
        )
        .await;
    assert_eq!(
        twiml,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
    );
    eventually("the SMS routed", DEADLINE, async || {
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
    assert_eq!(body["channel"], "sms", "{raw}");
    body["id"].as_str().expect("a message id").to_string()
}

async fn message_where(app: &App, key: &str, conversation: &str, id: &str, status: &str) -> Value {
    eventually(&format!("the reply {status}"), DEADLINE, async || {
        app.messages(key, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id && m["delivery_status"] == status)
    })
    .await
}

fn status_params(sid: &str, status: &str, error: Option<&str>) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", CUSTOMER),
        ("MessageSid", sid),
        ("AccountSid", e2e::ACCOUNT_SID),
        ("From", OUR_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(code) = error {
        params.push(("ErrorCode".into(), code.into()));
    }
    params
}

#[tokio::test]
async fn an_sms_becomes_a_conversation_and_the_reply_reaches_the_phone_and_shows_delivered() {
    let (fake, app, key) = started().await;
    let conversation = conversation_of(&app, &key, CUSTOMER, "My order has not arrived 📦").await;
    let messages = app.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["channel"], "sms");
    assert_eq!(messages[0]["text"], "My order has not arrived 📦");
    let contact_id = messages[0]["contact_id"].as_str().expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert!(
        contact["identities"]
            .as_array()
            .expect("identities")
            .iter()
            .any(|i| i["kind"] == "phone" && i["value"] == CUSTOMER && i["proven"] == true),
        "{contact}"
    );

    let id = reply(&app, &key, &conversation, "Sorry! It ships today.").await;
    message_where(&app, &key, &conversation, &id, "sent").await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].field("To"), CUSTOMER);
    assert_eq!(sent[0].field("From"), OUR_NUMBER);
    assert_eq!(sent[0].field("Body"), "Sorry! It ships today.");
    assert_eq!(
        sent[0].field("StatusCallback"),
        format!("{PUBLIC_URL}/webhooks/twilio/status")
    );

    // Twilio reports in any order; a late `sent` does not undo `delivered`.
    let callback = "/webhooks/twilio/status";
    app.post_twilio(callback, &status_params(&sent[0].sid, "delivered", None))
        .await;
    app.post_twilio(callback, &status_params(&sent[0].sid, "sent", None))
        .await;
    let delivered = message_where(&app, &key, &conversation, &id, "delivered").await;
    assert_eq!(delivered["delivery_error"], Value::Null);
    assert_eq!(
        delivered["provider_id"],
        format!("twilio:{}", sent[0].sid),
        "the reply names Twilio's message SID: {delivered}"
    );
}

#[tokio::test]
async fn an_undelivered_status_shows_the_twilio_error_on_the_reply() {
    let (fake, app, key) = started().await;
    let conversation = conversation_of(&app, &key, CUSTOMER, "hello").await;
    let id = reply(&app, &key, &conversation, "hi there").await;
    message_where(&app, &key, &conversation, &id, "sent").await;
    let sid = fake.sent()[0].sid.clone();
    app.post_twilio(
        "/webhooks/twilio/status",
        &status_params(&sid, "undelivered", Some("30003")),
    )
    .await;
    let failed = message_where(&app, &key, &conversation, &id, "failed").await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("30003"), "{reason}");
}

#[tokio::test]
async fn a_reply_to_a_customer_who_sent_stop_fails_for_good_with_the_reason() {
    let (fake, app, key) = started().await;
    let conversation = conversation_of(&app, &key, CUSTOMER, "STOP").await;
    fake.fail_next(400, 21610, "Attempt to send to unsubscribed recipient");
    let id = reply(&app, &key, &conversation, "are you still there?").await;
    let failed = message_where(&app, &key, &conversation, &id, "failed").await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("STOP") && reason.contains("21610"),
        "{reason}"
    );
    assert!(!reason.contains(e2e::AUTH_TOKEN), "{reason}");
    assert!(fake.sent().is_empty(), "not retried");
}

#[tokio::test]
async fn a_rate_limited_sms_is_retried_and_goes_out() {
    let (fake, app, key) = started().await;
    let conversation = conversation_of(&app, &key, CUSTOMER, "hello").await;
    fake.fail_next(429, 20429, "Too Many Requests");
    let id = reply(&app, &key, &conversation, "on it").await;
    message_where(&app, &key, &conversation, &id, "sent").await;
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn twilio_calls_without_the_right_signature_are_refused_and_store_nothing() {
    let (_fake, app, key) = started().await;
    let params = sms_params(&new_sid("SM"), CUSTOMER, "forged");
    let path = "/webhooks/twilio/sms";
    for signature in [Some(""), Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")] {
        let response = app.post_twilio_signed(path, &params, signature).await;
        assert_eq!(response.status().as_u16(), 403);
    }
    // Signed for other parameters than those posted.
    let signed = e2e::twilio_signature(path, &params);
    let mut tampered = params.clone();
    tampered[5].1 = "changed".into();
    let response = app.post_twilio_signed(path, &tampered, Some(&signed)).await;
    assert_eq!(response.status().as_u16(), 403);
    // Malformed and oversized bodies.
    let response = app
        .post_raw(
            path,
            "application/x-www-form-urlencoded",
            b"Body=%zz".to_vec(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 403, "unsigned garbage");
    let huge = vec![("Body".to_string(), "x".repeat(200_000))];
    let response = app.post_twilio_signed(path, &huge, None).await;
    assert_eq!(response.status().as_u16(), 413);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.all_conversations(&key).await.is_empty());
}

#[tokio::test]
async fn an_sms_delivered_twice_is_stored_once() {
    let (_fake, app, key) = started().await;
    let params = sms_params(&new_sid("SM"), CUSTOMER, "only once");
    app.post_twilio("/webhooks/twilio/sms", &params).await;
    app.post_twilio("/webhooks/twilio/sms", &params).await;
    let conversation = eventually("the SMS routed", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.messages(&key, &conversation).await.len(), 1);
}

#[tokio::test]
async fn an_mms_photo_is_fetched_with_the_account_credentials_into_the_message() {
    let (fake, app, key) = started().await;
    let url = fake.add_media("ME1", "image/jpeg", b"\xff\xd8\xff jpeg bytes".to_vec());
    let mut params = sms_params(&new_sid("MM"), CUSTOMER, "the damaged box");
    params.retain(|(k, _)| k != "NumMedia");
    params.push(("NumMedia".into(), "1".into()));
    params.push(("MediaUrl0".into(), url));
    params.push(("MediaContentType0".into(), "image/jpeg".into()));
    app.post_twilio("/webhooks/twilio/sms", &params).await;
    let message = eventually("the MMS routed", DEADLINE, async || {
        let conversation = app.all_conversations(&key).await.first()?["id"]
            .as_str()?
            .to_string();
        app.messages(&key, &conversation).await.into_iter().next()
    })
    .await;
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["content_type"], "image/jpeg", "{message}");
    assert_eq!(attachment["filename"], "media1.jpg");
    assert!(
        attachment["blob_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty()),
        "{message}"
    );
    assert_eq!(fake.media_requests(), vec!["ME1"]);
}
