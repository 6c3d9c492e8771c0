//! A reply to a web-form customer reaches them where they said: on their page, and by
//! email or SMS to the address or number typed on that same submission, with the page's
//! link; its delivery status follows that email or SMS. With no sender, the page alone.

use e2e::{
    ADMIN, App, DEADLINE, FakeTwilio, OUR_NUMBER, SmtpSink, eventually, header, status_and_json,
    unique,
};
use serde_json::{Value, json};
use shared::channels::email::{ParseSettings, parse_email};

/// The routed conversation of the one submission made so far.
async fn only_conversation(app: &App, key: &str) -> String {
    eventually("the submission routed", DEADLINE, async || {
        let conversations = app.all_conversations(key).await;
        conversations.first()?["id"].as_str().map(str::to_owned)
    })
    .await
}

async fn web_reply(app: &App, key: &str, conversation: &str, text: &str) -> String {
    let response = app
        .post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": text }),
        )
        .await;
    let (status, body, raw) = status_and_json(response).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    assert_eq!(body["channel"], "web", "{raw}");
    body["id"].as_str().expect("an id").to_owned()
}

async fn reply_where(app: &App, key: &str, conversation: &str, id: &str, status: &str) -> Value {
    eventually(&format!("the reply {status}"), DEADLINE, async || {
        app.messages(key, conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id && m["delivery_status"] == status)
    })
    .await
}

/// The customer's page at `url`, as its holder loads it.
async fn page_html(app: &App, url: &str) -> String {
    let path = url
        .split_once("/c/")
        .map(|(_, t)| format!("/c/{t}"))
        .expect("a page URL");
    let page = app
        .http
        .get(app.url(&path))
        .send()
        .await
        .expect("the page answers");
    assert_eq!(page.status().as_u16(), 200);
    page.text().await.expect("a page")
}

/// The customer's page shows `text`.
async fn page_shows(app: &App, url: &str, text: &str) {
    let html = page_html(app, url).await;
    assert!(html.contains(text), "the page shows the reply: {html}");
}

#[tokio::test]
async fn a_web_reply_is_emailed_to_the_address_typed_on_the_form_with_the_page_link() {
    let sink = SmtpSink::start(&[]);
    let app = App::spawn_with(&[
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
    ])
    .await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let contact = app
        .http
        .get(app.url("/contact"))
        .send()
        .await
        .expect("the page");
    let intro = contact.text().await.expect("html");
    assert!(
        intro.contains("and by email if you give your address"),
        "{intro}"
    );

    let email = format!("{}@example.com", unique("kim"));
    let page_url = app
        .submit(&[
            ("name", "Kim"),
            ("email", &email),
            ("message", "Where is my refund?"),
        ])
        .await;
    let conversation = only_conversation(&app, &key).await;
    let id = web_reply(&app, &key, &conversation, "Your refund left us today.").await;

    let sent = eventually("the reply emailed", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert_eq!(header(&sent, "To").as_deref(), Some(email.as_str()));
    let parsed = parse_email(&sent, &ParseSettings::default()).expect("a valid email");
    assert!(
        parsed.text.contains("Your refund left us today."),
        "{}",
        parsed.text
    );
    assert!(
        parsed.text.contains(&page_url),
        "the email carries the customer's own link {page_url}: {}",
        parsed.text
    );
    // The relay took it; a bounce would mark it failed.
    let reply = reply_where(&app, &key, &conversation, &id, "sent").await;
    assert!(
        reply["provider_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("email:")),
        "the reply names the email it went as: {reply}"
    );
    page_shows(&app, &page_url, "Your refund left us today.").await;

    // A second reply in the same page goes the same way, with the same link.
    web_reply(&app, &key, &conversation, "It should arrive by Friday.").await;
    let second = eventually("the second email", DEADLINE, async || {
        sink.messages().get(1).cloned()
    })
    .await;
    let parsed = parse_email(&second, &ParseSettings::default()).expect("a valid email");
    assert!(parsed.text.contains("It should arrive by Friday.") && parsed.text.contains(&page_url));
}

#[tokio::test]
async fn a_web_reply_goes_by_sms_to_the_number_typed_and_twilio_reports_its_delivery() {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = App::spawn_with_twilio(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);

    // Typed in a national written form; the SMS goes to the number in E.164.
    let page_url = app
        .submit(&[
            ("name", "Kim"),
            ("phone", "(415) 555-0177"),
            ("message", "Is my order late?"),
        ])
        .await;
    let conversation = only_conversation(&app, &key).await;
    let id = web_reply(&app, &key, &conversation, "It ships tomorrow.").await;
    reply_where(&app, &key, &conversation, &id, "sent").await;

    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].field("To"), "+14155550177");
    assert_eq!(sent[0].field("From"), OUR_NUMBER);
    let body = sent[0].field("Body");
    assert!(
        body.contains("It ships tomorrow.") && body.contains(&page_url),
        "{body}"
    );

    let params: Vec<(String, String)> = [
        ("MessageSid", sent[0].sid.as_str()),
        ("MessageStatus", "delivered"),
        ("AccountSid", e2e::ACCOUNT_SID),
        ("To", "+14155550177"),
        ("From", OUR_NUMBER),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    app.post_twilio("/webhooks/twilio/status", &params).await;
    let delivered = reply_where(&app, &key, &conversation, &id, "delivered").await;
    assert_eq!(delivered["provider_id"], format!("twilio:{}", sent[0].sid));
}

#[tokio::test]
async fn without_an_email_or_sms_sender_the_page_alone_shows_the_reply_and_says_so() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let contact = app
        .http
        .get(app.url("/contact"))
        .send()
        .await
        .expect("the page");
    let intro = contact.text().await.expect("html");
    assert!(
        intro.contains("we will answer on the page you are taken to next.")
            && !intro.contains("by email")
            && !intro.contains("text message"),
        "{intro}"
    );
    let email = format!("{}@example.com", unique("kim"));
    let page_url = app
        .submit(&[("name", "Kim"), ("email", &email), ("message", "Hello?")])
        .await;
    let conversation = only_conversation(&app, &key).await;
    let id = web_reply(&app, &key, &conversation, "Hello Kim.").await;
    let reply = reply_where(&app, &key, &conversation, &id, "delivered").await;
    assert_eq!(reply["provider_id"], Value::Null, "{reply}");
    page_shows(&app, &page_url, "Hello Kim.").await;
}

#[tokio::test]
async fn a_reply_whose_sms_fails_stays_on_the_page_and_says_what_failed() {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = App::spawn_with_twilio(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let page_url = app
        .submit(&[
            ("name", "Kim"),
            ("phone", "+14155550133"),
            ("message", "Anyone there?"),
        ])
        .await;
    let conversation = only_conversation(&app, &key).await;
    fake.fail_next(400, 21211, "The 'To' number is not a valid phone number.");
    let id = web_reply(&app, &key, &conversation, "Yes, we are here.").await;
    let failed = reply_where(&app, &key, &conversation, &id, "failed").await;
    let reason = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("shown on the customer page; the sms to what they typed failed"),
        "{failed}"
    );
    page_shows(&app, &page_url, "Yes, we are here.").await;
}

/// Someone types a stranger's address into the form: the stranger gets the agent's answer
/// by email. When they answer that email, with every clue that threads an email and a
/// proven address, it starts a conversation of their own: nothing they write lands on
/// the typist's page, and their address joins no contact of the typist's.
#[tokio::test]
async fn an_email_answering_a_page_notice_never_lands_on_the_typists_page() {
    const SECRET: &str = "relay-secret-0123456789";
    let sink = SmtpSink::start(&[]);
    let app = App::spawn_with(&[
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", SECRET),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
        ("SWITCHBOARD_EMAIL_FROM_PROVEN", "true"),
    ])
    .await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let victim = format!("{}@example.com", unique("victim"));
    let page_url = app
        .submit(&[
            ("name", "Mallory"),
            ("email", &victim),
            ("message", "Send me the invoice"),
        ])
        .await;
    let page_conversation = only_conversation(&app, &key).await;
    web_reply(&app, &key, &page_conversation, "Which invoice do you mean?").await;
    let notice = eventually("the notice emailed", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    let reply_to = header(&notice, "Reply-To").expect("a Reply-To");
    let message_id = header(&notice, "Message-ID").expect("a Message-ID");
    let subject = header(&notice, "Subject").expect("a subject");

    let secret = "my card is 4111 1111 1111 1111";
    let raw = format!(
        "From: {victim}\r\nTo: {reply_to}\r\nSubject: Re: {subject}\r\n\
         Message-ID: <{}@example.com>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{secret}\r\n",
        unique("answer")
    );
    let response = app
        .http
        .post(app.url("/webhooks/email"))
        .header("content-type", "message/rfc822")
        .header("x-switchboard-email-secret", SECRET)
        .body(raw.into_bytes())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 202);

    let (own, own_contact) = eventually("the answer routed", DEADLINE, async || {
        for conversation in app.all_conversations(&key).await {
            let id = conversation["id"].as_str()?.to_owned();
            if app
                .messages(&key, &id)
                .await
                .iter()
                .any(|m| m["text"] == secret)
            {
                return Some((id, conversation["contact_id"].clone()));
            }
        }
        None
    })
    .await;
    assert_ne!(
        own, page_conversation,
        "the answer has a conversation of its own"
    );
    let page_contact = app
        .get_ok(&key, &format!("/v1/conversations/{page_conversation}"))
        .await["contact_id"]
        .clone();
    assert_ne!(
        own_contact, page_contact,
        "the proven address joins no typist's contact"
    );
    let html = page_html(&app, &page_url).await;
    assert!(
        !html.contains("4111"),
        "the typist's page shows nothing of it: {html}"
    );
}
