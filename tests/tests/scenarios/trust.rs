//! Access only by proof, attacked through the public surfaces of the real binary: what
//! someone holding nothing but a customer's email address, phone number or idempotency
//! key can get out of it. Each test plays the attack and asserts it yields nothing.

use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, FakeTwilio, SmtpSink, eventually, message_update, new_sid,
    new_user_id, problem_of, sms_params, status_and_json, telegram_env, text_update, twilio_env,
    unique,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const EMAIL_SECRET: &str = "relay-secret-0123456789";
const VICTIM_PHONE: &str = "+14155552671";
const ATTACKER_PHONE: &str = "+14155550177";

/// Every channel an attack could use: the web form, email in and out, SMS in and out,
/// Telegram.
async fn every_channel(sink: &SmtpSink, twilio: &FakeTwilio, telegram: &FakeTelegram) -> App {
    every_channel_with(sink, twilio, telegram, &[]).await
}

/// [`every_channel`], with `extra` settings besides.
async fn every_channel_with(
    sink: &SmtpSink,
    twilio: &FakeTwilio,
    telegram: &FakeTelegram,
    extra: &[(&'static str, &str)],
) -> App {
    let mut env: Vec<(&str, String)> = vec![
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0".into()),
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET.into()),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test".into()),
        ("SWITCHBOARD_SMTP_URL", sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test".into()),
        ("SWITCHBOARD_DEFAULT_REGION", "US".into()),
    ];
    env.extend(twilio_env(twilio));
    env.extend(telegram_env(telegram));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    App::spawn_with(&env).await
}

async fn fakes() -> (SmtpSink, FakeTwilio, FakeTelegram) {
    (
        SmtpSink::start(&[]),
        FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await,
        FakeTelegram::start(e2e::BOT_TOKEN).await,
    )
}

/// The victim writes by email (the relay checks nothing: `From` is only reported).
async fn victim_emails(app: &App, from: &str, body: &str) {
    app.relay_email(EMAIL_SECRET, &format!("Victim <{from}>"), "My card", body)
        .await;
}

async fn victim_texts(app: &App, from: &str, body: &str) {
    app.post_twilio(
        "/webhooks/twilio/sms",
        &sms_params(&new_sid("SM"), from, body),
    )
    .await;
}

/// The conversation whose messages include `text`, once routed.
async fn conversation_with(app: &App, key: &str, text: &str) -> String {
    eventually(
        &format!("a conversation with {text:?}"),
        DEADLINE,
        async || {
            for c in app.all_conversations(key).await {
                let id = c["id"].as_str()?.to_string();
                if app
                    .messages(key, &id)
                    .await
                    .iter()
                    .any(|m| m["text"].as_str().is_some_and(|t| t.contains(text)))
                {
                    return Some(id);
                }
            }
            None
        },
    )
    .await
}

async fn reply(app: &App, key: &str, conversation: &str, body: Value) -> reqwest::Response {
    app.post_json(
        key,
        &format!("/v1/conversations/{conversation}/replies"),
        &body,
    )
    .await
}

async fn replied(app: &App, key: &str, conversation: &str, text: &str) {
    let (status, _, raw) =
        status_and_json(reply(app, key, conversation, json!({ "text": text })).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{raw}");
}

async fn page(app: &App, url: &str) -> String {
    let response = app.http.get(url).send().await.expect("the page answers");
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.text().await.expect("an HTML body")
}

/// The attacker's page once their own message shows on it: only then is an absence
/// on it meaningful.
async fn page_showing(app: &App, url: &str, own_text: &str) -> String {
    eventually(
        "the attacker's own message on their page",
        DEADLINE,
        async || {
            let html = page(app, url).await;
            html.contains(own_text).then_some(html)
        },
    )
    .await
}

fn assert_hidden(html: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!html.contains(secret), "the page leaks {secret:?}");
    }
}

#[tokio::test]
async fn typing_a_customers_email_or_phone_into_the_form_never_shows_their_conversation() {
    let (sink, twilio, telegram) = fakes().await;
    let app = every_channel(&sink, &twilio, &telegram).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    let victim_email = format!("{}@example.com", unique("victim"));
    victim_emails(
        &app,
        &victim_email,
        "card 4111 1111 1111 1111 was charged twice",
    )
    .await;
    let by_email = conversation_with(&app, &key, "4111 1111").await;
    replied(&app, &key, &by_email, "Your recovery code is 734-221").await;

    victim_texts(&app, VICTIM_PHONE, "passport X1234567 for the visa").await;
    let by_sms = conversation_with(&app, &key, "X1234567").await;
    replied(&app, &key, &by_sms, "We have your passport on file").await;

    // The attacker types the victim's email, and the phone in another written form.
    for (field, value) in [
        ("email", victim_email.to_uppercase()),
        ("phone", "(415) 555-2671".to_string()),
        ("phone", "+1 415 555 2671".to_string()),
    ] {
        let own = unique("attacker");
        let url = app
            .submit(&[
                ("name", "Not the victim"),
                (field, &value),
                ("message", &own),
            ])
            .await;
        let html = page_showing(&app, &url, &own).await;
        assert_hidden(
            &html,
            &["4111 1111", "734-221", "X1234567", "passport on file"],
        );
        // The victim's conversations gained nothing of the attacker's.
        for conversation in [&by_email, &by_sms] {
            let texts: Vec<String> = app
                .messages(&key, conversation)
                .await
                .iter()
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect();
            assert!(!texts.contains(&own), "{texts:?}");
        }
    }
}

#[tokio::test]
async fn a_phone_or_email_typed_beside_a_customers_address_never_receives_their_replies() {
    let (sink, twilio, telegram) = fakes().await;
    let app = every_channel(&sink, &twilio, &telegram).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    let victim_email = format!("{}@example.com", unique("victim"));
    victim_emails(&app, &victim_email, "question by email").await;
    let by_email = conversation_with(&app, &key, "question by email").await;
    victim_texts(&app, VICTIM_PHONE, "question by text").await;
    let by_sms = conversation_with(&app, &key, "question by text").await;

    let attacker_email = format!("{}@evil.example", unique("attacker"));
    let first = unique("typed email and own phone");
    app.submit(&[
        ("email", &victim_email),
        ("phone", ATTACKER_PHONE),
        ("message", &first),
    ])
    .await;
    let second = unique("typed phone and own email");
    app.submit(&[
        ("phone", VICTIM_PHONE),
        ("email", &attacker_email),
        ("message", &second),
    ])
    .await;
    let attackers_first = conversation_with(&app, &key, &first).await;
    conversation_with(&app, &key, &second).await;

    // An SMS reply in the email conversation, an email reply in the SMS one: the
    // victim proved no such address, so there is nowhere to send them.
    for (conversation, channel) in [(&by_email, "sms"), (&by_sms, "email")] {
        let response = reply(
            &app,
            &key,
            conversation,
            json!({ "text": "secret answer", "channel": channel }),
        )
        .await;
        let (status, problem) = problem_of(response).await.expect("a problem document");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    // Replies on the victim's own channels go to the victim.
    replied(&app, &key, &by_email, "answer by email").await;
    replied(&app, &key, &by_sms, "answer by text").await;
    // The attacker's own submission is answered where it was typed: their phone.
    let response = reply(
        &app,
        &key,
        &attackers_first,
        json!({ "text": "answer to the form", "channel": "sms" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    eventually("both texts sent", DEADLINE, async || {
        (twilio.sent().len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = twilio.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for sms in &sent {
        let to = sms.field("To");
        let body = sms.field("Body");
        if to == ATTACKER_PHONE {
            assert!(body.contains("answer to the form"), "{body}");
        } else {
            assert_eq!(to, VICTIM_PHONE, "{body}");
        }
    }
    let mails = eventually("the email reply sent", DEADLINE, async || {
        let mails = sink.messages();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    for raw in mails {
        let to = e2e::header(&raw, "To").unwrap_or_default();
        assert!(!to.contains(&attacker_email), "mail went to {to}");
        assert!(to.contains(&victim_email), "mail went to {to}");
    }
}

#[tokio::test]
async fn a_reused_idempotency_key_never_hands_out_the_first_submissions_link() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let idempotency_key = unique("key");
    let victim_email = format!("{}@example.com", unique("victim"));
    let fields = [
        ("email", victim_email.as_str()),
        ("message", "my IBAN is DE89 3704 0044 0532 0130 00"),
        ("idempotency_key", idempotency_key.as_str()),
    ];
    let url = app.submit(&fields).await;
    // A network retry of the same submission gets its link back.
    assert_eq!(app.submit(&fields).await, url);

    let conversation = conversation_with(&app, &key, "DE89").await;
    replied(&app, &key, &conversation, "we refunded DE89").await;
    for attack in [
        vec![
            ("email", "attacker@evil.example"),
            ("message", "hello"),
            ("idempotency_key", idempotency_key.as_str()),
        ],
        vec![
            ("email", victim_email.as_str()),
            ("message", "hello"),
            ("idempotency_key", idempotency_key.as_str()),
        ],
    ] {
        let response = app.post_webform(&attack).await;
        let (status, problem) = problem_of(response).await.expect("a problem document");
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert!(!problem.to_string().contains("/c/"), "{problem}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let texts = app.all_inbound_texts(&key).await;
    assert_eq!(
        texts.len(),
        1,
        "nothing of the refused posts was stored: {texts:?}"
    );
    assert!(!url.contains(&idempotency_key));
}

#[tokio::test]
async fn a_phone_typed_into_the_form_in_advance_never_captures_a_telegram_customer() {
    let (sink, twilio, telegram) = fakes().await;
    let app = every_channel(&sink, &twilio, &telegram).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    let bait = unique("bait");
    let url = app
        .submit(&[("phone", "415-555-2671"), ("message", &bait)])
        .await;
    page_showing(&app, &url, &bait).await;

    let user_id = new_user_id();
    app.deliver(&message_update(
        1,
        user_id,
        101,
        json!({ "contact": { "phone_number": "14155552671", "first_name": "Victim", "user_id": user_id } }),
    ))
    .await;
    app.deliver(&text_update(
        2,
        user_id,
        102,
        "my one-time code is 55-21-90",
    ))
    .await;
    let telegram_conversation = conversation_with(&app, &key, "55-21-90").await;
    replied(
        &app,
        &key,
        &telegram_conversation,
        "thanks, code 55-21-90 received",
    )
    .await;

    // The form's page never shows what came later on Telegram.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let html = page(&app, &url).await;
    assert_hidden(&html, &["55-21-90", "code 55-21-90 received"]);
    let contacts = app.list_all(&key, "/v1/contacts").await;
    assert_eq!(contacts.len(), 2, "nobody merged: {contacts:?}");
    let telegram_contact = contacts
        .iter()
        .find(|c| {
            c["identities"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i["kind"] == "telegram"))
        })
        .expect("the Telegram user's contact");
    assert!(
        telegram_contact["identities"]
            .as_array()
            .is_some_and(|ids| ids
                .iter()
                .any(|i| i["kind"] == "phone" && i["proven"] == true)),
        "the shared phone is proven on the Telegram user's own contact: {telegram_contact}"
    );
    assert_eq!(
        telegram_contact["merge_suggestions"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "an agent is offered the merge: {telegram_contact}"
    );
}

#[tokio::test]
async fn a_sender_who_proved_only_their_own_address_cannot_write_into_a_conversation_by_its_reference()
 {
    let (sink, twilio, telegram) = fakes().await;
    // The relay vouches for every sender (SPF/DKIM passed): the attacker's own address
    // is proven.
    let app = every_channel_with(
        &sink,
        &twilio,
        &telegram,
        &[("SWITCHBOARD_EMAIL_FROM_PROVEN", "true")],
    )
    .await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    victim_texts(&app, VICTIM_PHONE, "my card ends 4242").await;
    let victims = conversation_with(&app, &key, "my card ends 4242").await;

    // The attacker learned the conversation's reference (ids are time-ordered; any
    // email of ours shows one) and writes "in" it from an address they really own.
    let attacker = format!("{}@gmail.example", unique("mallory"));
    let own_text = unique("hello from mallory");
    app.relay_email(
        EMAIL_SECRET,
        &format!("Mallory <{attacker}>"),
        &format!("Re: your card [#{victims}]"),
        &own_text,
    )
    .await;
    let attackers = conversation_with(&app, &key, &own_text).await;
    assert_ne!(
        attackers, victims,
        "the attacker got a conversation of their own"
    );
    let victim_conversation = app
        .get_ok(&key, &format!("/v1/conversations/{victims}"))
        .await;
    let contact_id = victim_conversation["contact_id"]
        .as_str()
        .expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert!(
        !contact.to_string().contains(&attacker),
        "the victim's contact gained the attacker's address: {contact}"
    );
    let timeline = app.messages(&key, &victims).await;
    assert!(
        timeline
            .iter()
            .all(|m| !m["text"].as_str().unwrap_or_default().contains(&own_text)),
        "{timeline:?}"
    );

    // The agent answers the victim: the text goes to the victim's phone, and no email
    // (to the attacker or anyone) can be sent from that conversation.
    replied(&app, &key, &victims, "the card 4242 is refunded").await;
    let response = reply(
        &app,
        &key,
        &victims,
        json!({ "text": "the card 4242, by email", "channel": "email" }),
    )
    .await;
    let (status, problem) = problem_of(response).await.expect("a problem document");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let sms = eventually("the reply texted", DEADLINE, async || {
        twilio.sent().into_iter().next()
    })
    .await;
    assert_eq!(sms.field("To"), VICTIM_PHONE);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for raw in sink.messages() {
        let to = e2e::header(&raw, "To").unwrap_or_default();
        assert!(!to.contains(&attacker), "mail went to {to}");
    }
}
