//! Replies by email through a real SMTP server (aiosmtpd), and the customer's answers
//! to them threading back: by the Message-ID they answer, by the reply token of the
//! address, never by a clue a stranger copied. Bounces mark the reply failed; an
//! auto-reply to it is never answered.

use e2e::{ADMIN, App, DEADLINE, SmtpSink, eventually, header, status_and_json};
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "relay-secret-0123456789";

/// A server whose resolved conversations never reopen by themselves: an email that
/// lands in one got there by threading alone.
async fn app(sink: &SmtpSink) -> App {
    App::spawn_with(&[
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", SECRET),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
        ("SWITCHBOARD_EMAIL_FROM_NAME", "Acme Support"),
        ("SWITCHBOARD_REOPEN_WINDOW_HOURS", "0"),
    ])
    .await
}

async fn post_email(app: &App, raw: String) {
    let response = reqwest::Client::new()
        .post(app.url("/webhooks/email"))
        .header("content-type", "message/rfc822")
        .header("x-switchboard-email-secret", SECRET)
        .body(raw.into_bytes())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 202);
}

fn email(from: &str, to: &str, id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn reply(app: &App, key: &str, conversation: &str, body: Value) -> String {
    let response = app
        .post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &body,
        )
        .await;
    let (status, json, raw) = status_and_json(response).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    assert_eq!(json["channel"], "email", "{raw}");
    json["id"].as_str().expect("a message id").to_string()
}

async fn reply_status(app: &App, key: &str, conversation: &str, id: &str, status: &str) -> Value {
    eventually(&format!("the reply {status}"), DEADLINE, async || {
        app.messages(key, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id && m["delivery_status"] == status)
    })
    .await
}

async fn resolve(app: &App, key: &str, conversation: &str) {
    let response = app
        .patch_json(
            key,
            &format!("/v1/conversations/{conversation}"),
            &json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

/// Waits until `count` emails were routed, then returns the conversation ids.
async fn conversations_after(app: &App, key: &str, count: usize) -> Vec<String> {
    eventually("the emails routed", DEADLINE, async || {
        let texts = app.all_inbound_texts(key).await;
        (texts.len() >= count).then_some(())
    })
    .await;
    app.all_conversations(key)
        .await
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect()
}

fn angle(value: &str) -> &str {
    let start = value.find('<').map_or(0, |i| i + 1);
    let end = value[start..].find('>').map_or(value.len(), |i| start + i);
    &value[start..end]
}

#[tokio::test]
async fn a_reply_goes_out_by_smtp_and_the_customers_answers_thread_back_to_it() {
    let sink = SmtpSink::start(&[]);
    let app = app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    post_email(
        &app,
        email(
            "Sara Ahmadi <sara@example.com>",
            "support@switchboard.test",
            "c1@mail.example.com",
            "Kettle",
            "",
            "My kettle broke.",
        ),
    )
    .await;
    let conversation = conversations_after(&app, &key, 1).await.remove(0);
    let id = reply(
        &app,
        &key,
        &conversation,
        json!({ "text": "Sorry to hear it.\nA new one ships today." }),
    )
    .await;
    reply_status(&app, &key, &conversation, &id, "sent").await;
    let sent = eventually("the sink received the reply", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    let our_id = angle(&header(&sent, "Message-ID").expect("a Message-ID")).to_owned();
    assert!(our_id.ends_with("@switchboard.test"), "{our_id}");
    assert_eq!(
        header(&sent, "In-Reply-To").as_deref(),
        Some("<c1@mail.example.com>")
    );
    assert_eq!(
        header(&sent, "References").as_deref(),
        Some("<c1@mail.example.com>")
    );
    assert_eq!(
        angle(&header(&sent, "To").unwrap_or_default()),
        "sara@example.com"
    );
    assert!(
        header(&sent, "From")
            .unwrap_or_default()
            .contains("Acme Support")
    );
    assert_eq!(
        header(&sent, "Subject").as_deref(),
        Some(format!("Re: Kettle [#{conversation}]").as_str())
    );
    let reply_to = angle(&header(&sent, "Reply-To").expect("a Reply-To")).to_owned();
    assert!(reply_to.starts_with("support+"), "{reply_to}");
    let text = String::from_utf8_lossy(&sent);
    assert!(
        text.contains("text/plain") && text.contains("text/html"),
        "{text}"
    );

    // She answers our Message-ID (and nothing else names the conversation): it reopens.
    resolve(&app, &key, &conversation).await;
    post_email(
        &app,
        email(
            "sara@example.com",
            "support@switchboard.test",
            "c2@mail.example.com",
            "Kettle",
            &format!("In-Reply-To: <{our_id}>\r\nReferences: <c1@mail.example.com> <{our_id}>\r\n"),
            "Thanks!\r\n\r\nOn Mon, Acme Support wrote:\r\n> Sorry to hear it.",
        ),
    )
    .await;
    assert_eq!(
        conversations_after(&app, &key, 2).await,
        vec![conversation.clone()]
    );

    // Outlook, answering only through the token address, headers and subject bare.
    resolve(&app, &key, &conversation).await;
    post_email(
        &app,
        email(
            "sara@example.com",
            &reply_to,
            "c3@mail.example.com",
            "AW: new question",
            "Thread-Index: AQHZ5d3xkq==\r\n",
            "One more thing.",
        ),
    )
    .await;
    assert_eq!(
        conversations_after(&app, &key, 3).await,
        vec![conversation.clone()]
    );
    let messages = app.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[2]["text"], "Thanks!");
    assert_eq!(
        messages[2]["reply_to"], id,
        "the answer points at our reply"
    );
}

#[tokio::test]
async fn a_stranger_copying_the_token_or_the_reference_gets_a_conversation_of_their_own() {
    let sink = SmtpSink::start(&[]);
    let app = app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    post_email(
        &app,
        email(
            "sara@example.com",
            "support@switchboard.test",
            "s1@example.com",
            "Kettle",
            "",
            "help",
        ),
    )
    .await;
    let conversation = conversations_after(&app, &key, 1).await.remove(0);
    reply(&app, &key, &conversation, json!({ "text": "on it" })).await;
    let sent = eventually("the reply sent", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    let our_id = angle(&header(&sent, "Message-ID").unwrap_or_default()).to_owned();
    let reply_to = angle(&header(&sent, "Reply-To").unwrap_or_default()).to_owned();
    post_email(
        &app,
        email(
            "mallory@example.net",
            &reply_to,
            "x1@example.net",
            &format!("Re: Kettle [#{conversation}]"),
            &format!("In-Reply-To: <{our_id}>\r\n"),
            "let me in",
        ),
    )
    .await;
    let conversations = conversations_after(&app, &key, 2).await;
    assert_eq!(conversations.len(), 2, "{conversations:?}");
    assert_eq!(app.messages(&key, &conversation).await.len(), 2);
}

#[tokio::test]
async fn a_bounce_fails_the_reply_and_an_auto_reply_to_it_is_never_answered() {
    let sink = SmtpSink::start(&[]);
    let app = app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    post_email(
        &app,
        email(
            "sara@example.com",
            "support@switchboard.test",
            "b1@example.com",
            "Lid",
            "",
            "the lid",
        ),
    )
    .await;
    let conversation = conversations_after(&app, &key, 1).await.remove(0);
    let id = reply(&app, &key, &conversation, json!({ "text": "which lid?" })).await;
    reply_status(&app, &key, &conversation, &id, "sent").await;
    let sent = eventually("the reply sent", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    let our_id = angle(&header(&sent, "Message-ID").unwrap_or_default()).to_owned();

    post_email(
        &app,
        email(
            "sara@example.com",
            "support@switchboard.test",
            "ooo1@example.com",
            "Out of office: Re: Lid",
            &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: <{our_id}>\r\n"),
            "I am away until Monday.",
        ),
    )
    .await;
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: support@switchboard.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
         Final-Recipient: rfc822; sara@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n\
         Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@switchboard.test\r\n\
         To: sara@example.com\r\nMessage-ID: <{our_id}>\r\nSubject: Re: Lid\r\n\r\n--B--\r\n"
    );
    post_email(&app, dsn).await;
    let failed = reply_status(&app, &key, &conversation, &id, "failed").await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("5.2.2") && reason.contains("sara@example.com"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.all_inbound_texts(&key).await,
        vec!["the lid".to_string()]
    );
    assert_eq!(app.all_conversations(&key).await.len(), 1);
    assert_eq!(sink.messages().len(), 1, "nothing answered the auto-reply");
}

#[tokio::test]
async fn a_refusing_relay_fails_the_reply_with_its_reason_and_a_web_form_customer_gets_email() {
    let sink = SmtpSink::start(&["gone@example.com"]);
    let app = app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    post_email(
        &app,
        email(
            "gone@example.com",
            "support@switchboard.test",
            "g1@example.com",
            "Hi",
            "",
            "hello",
        ),
    )
    .await;
    let conversation = conversations_after(&app, &key, 1).await.remove(0);
    let id = reply(&app, &key, &conversation, json!({ "text": "hi" })).await;
    let failed = reply_status(&app, &key, &conversation, &id, "failed").await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("550"), "{reason}");

    app.submit(&[
        ("name", "Kim"),
        ("email", "kim@example.org"),
        ("message", "from the site"),
    ])
    .await;
    let web = eventually("the form routed", DEADLINE, async || {
        app.all_conversations(&key)
            .await
            .into_iter()
            .find(|c| c["channel"] == "web")
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await;
    let id = reply(
        &app,
        &key,
        &web,
        json!({ "text": "answered by email", "channel": "email" }),
    )
    .await;
    reply_status(&app, &key, &web, &id, "sent").await;
    let mail = eventually("the sink received it", DEADLINE, async || {
        sink.messages()
            .into_iter()
            .find(|m| header(m, "To").is_some_and(|to| to.contains("kim@example.org")))
    })
    .await;
    assert!(String::from_utf8_lossy(&mail).contains("answered by email"));
}
