//! Email arrives at `POST /webhooks/email` from a relay: one conversation per customer,
//! each email stored once, machine-written mail never becomes a message.

use e2e::{ADMIN, App, DEADLINE, eventually, status_and_json};
use std::time::Duration;

const SECRET: &str = "relay-secret-0123456789";

async fn app() -> App {
    App::spawn_with(&[
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", SECRET),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
        ("SWITCHBOARD_EMAIL_MAX_BYTES", "65536"),
    ])
    .await
}

async fn post_email(app: &App, secret: Option<&str>, raw: &[u8]) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/webhooks/email"))
        .header("content-type", "message/rfc822")
        .body(raw.to_vec());
    if let Some(secret) = secret {
        request = request.header("x-switchboard-email-secret", secret);
    }
    request.send().await.expect("the server answers")
}

fn email(from: &str, message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Sara Ahmadi <{from}>\r\nTo: support@switchboard.test\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Posts the first email of a test and waits for its message, as stored.
async fn first_message(app: &App, key: &str, raw: &[u8]) -> serde_json::Value {
    assert_eq!(
        post_email(app, Some(SECRET), raw).await.status().as_u16(),
        202
    );
    eventually("the email routed", DEADLINE, async || {
        let conversations = app.all_conversations(key).await;
        let id = conversations.first()?["id"].as_str()?.to_string();
        app.messages(key, &id).await.into_iter().next()
    })
    .await
}

#[tokio::test]
async fn an_email_becomes_a_conversation_and_a_redelivery_stores_nothing_twice() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let raw = email(
        "Sara@Example.com",
        "m1@example.com",
        "Kettle",
        "سلام، my kettle broke.",
    );
    for _ in 0..2 {
        let response = post_email(&app, Some(SECRET), &raw).await;
        assert_eq!(response.status().as_u16(), 202);
    }
    let conversation = eventually("the email routed", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        Some(conversations.first()?["id"].as_str()?.to_string())
    })
    .await;
    let second = email(
        "sara@example.com",
        "m2@example.com",
        "Re: Kettle",
        "Also the lid.\r\n\r\nOn Mon, 3 Nov 2025, Sara wrote:\r\n> my kettle broke.",
    );
    assert_eq!(
        post_email(&app, Some(SECRET), &second)
            .await
            .status()
            .as_u16(),
        202
    );
    let messages = eventually("both emails stored", DEADLINE, async || {
        let messages = app.messages(&key, &conversation).await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let messages_now = app.messages(&key, &conversation).await;
    assert_eq!(messages_now.len(), 2, "{messages_now:?}");
    assert_eq!(messages[0]["channel"], "email");
    assert_eq!(messages[0]["text"], "سلام، my kettle broke.");
    assert_eq!(
        messages[1]["text"], "Also the lid.",
        "the quoted history is set apart"
    );
    let quoted = messages[1]["context"]
        .as_array()
        .expect("the message carries its context")
        .iter()
        .find(|entry| entry["name"] == "Quoted history")
        .unwrap_or_else(|| panic!("the quoted history is kept: {}", messages[1]));
    assert!(
        quoted["value"]
            .as_str()
            .is_some_and(|v| v.contains("> my kettle broke.")),
        "{quoted}"
    );
    assert_eq!(app.all_conversations(&key).await.len(), 1);

    // The agent can open each email exactly as it arrived.
    for (message, raw) in messages.iter().zip([&raw, &second]) {
        let id = message["id"].as_str().unwrap();
        let response = app.get(&key, &format!("/v1/messages/{id}/original")).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "message/rfc822");
        let disposition = response.headers()["content-disposition"].clone();
        assert!(disposition.to_str().unwrap().contains(&format!("{id}.eml")));
        assert_eq!(response.bytes().await.unwrap().as_ref(), raw.as_slice());
    }
    let (status, problem, _) = status_and_json(
        app.get(&key, "/v1/messages/msg_01JC0000000000000000000000/original")
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 404, "{problem}");
}

#[tokio::test]
async fn attachments_of_an_email_are_kept_with_the_message() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let raw = include_bytes!("../../../shared/src/channels/email/fixtures/attachments.eml");
    let message = first_message(&app, &key, raw).await;
    let attachments = message["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 3, "{message}");
    assert_eq!(attachments[1]["filename"], "invoice 4521.pdf");
    assert!(
        !attachments[1]["blob_key"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{message}"
    );
    assert_eq!(attachments[0]["content_type"], "image/png");
}

/// A sender names an attachment's type. One named a script or a style sheet, served
/// as such from the inbox's own origin, would pass the inbox's `script-src 'self'`: it is
/// served as bytes to save, in a sandbox, while a picture keeps its type.
#[tokio::test]
async fn an_attachment_that_claims_to_be_a_script_downloads_as_bytes() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let raw = "From: Mallory <mallory@example.net>\r\nTo: support@switchboard.test\r\n\
         Subject: invoice\r\nMessage-ID: <js1@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: text/javascript\r\n\
         Content-Disposition: attachment; filename=\"app.js\"\r\n\r\n\
         document.title = 'pwned';\r\n\
         --b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"dot.png\"\r\n\r\n\
         iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n\
         --b--\r\n";
    let message = first_message(&app, &key, raw.as_bytes()).await;
    let id = message["id"].as_str().expect("an id");
    assert_eq!(message["attachments"][0]["content_type"], "text/javascript");
    let script = app
        .get(&key, &format!("/v1/messages/{id}/attachments/0"))
        .await;
    assert_eq!(script.status().as_u16(), 200);
    let headers = script.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(
        script.bytes().await.unwrap().as_ref(),
        b"document.title = 'pwned';".as_slice(),
        "the file itself is unchanged"
    );
    let picture = app
        .get(&key, &format!("/v1/messages/{id}/attachments/1"))
        .await;
    assert_eq!(picture.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn machine_written_mail_never_becomes_a_message() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    for raw in [
        include_bytes!("../../../shared/src/channels/email/fixtures/auto_reply.eml").as_slice(),
        include_bytes!("../../../shared/src/channels/email/fixtures/mailing_list.eml"),
        include_bytes!("../../../shared/src/channels/email/fixtures/dsn_bounce.eml"),
        include_bytes!("../../../shared/src/channels/email/fixtures/own_domain.eml"),
    ] {
        assert_eq!(
            post_email(&app, Some(SECRET), raw).await.status().as_u16(),
            202
        );
    }
    let raw = email("tom@example.org", "m3@example.org", "Hello", "a person");
    assert_eq!(
        post_email(&app, Some(SECRET), &raw).await.status().as_u16(),
        202
    );
    eventually("the person's email routed", DEADLINE, async || {
        (!app.all_conversations(&key).await.is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let texts = app.all_inbound_texts(&key).await;
    assert_eq!(texts, vec!["a person".to_string()]);
}

#[tokio::test]
async fn the_webhook_refuses_a_wrong_secret_and_bad_bodies_and_stores_nothing() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let raw = email("sara@example.com", "m4@example.com", "Hi", "hello");
    assert_eq!(post_email(&app, None, &raw).await.status().as_u16(), 401);
    assert_eq!(
        post_email(&app, Some("wrong-secret-0123456789"), &raw)
            .await
            .status()
            .as_u16(),
        401
    );
    let (status, _, raw_body) = status_and_json(post_email(&app, Some(SECRET), b"").await).await;
    assert_eq!(status.as_u16(), 400, "{raw_body}");
    let no_sender = b"From: nobody\r\nSubject: x\r\n\r\nbody\r\n";
    assert_eq!(
        post_email(&app, Some(SECRET), no_sender)
            .await
            .status()
            .as_u16(),
        422
    );
    let huge = email(
        "sara@example.com",
        "m5@example.com",
        "Big",
        &"x".repeat(70_000),
    );
    assert_eq!(
        post_email(&app, Some(SECRET), &huge)
            .await
            .status()
            .as_u16(),
        413
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.all_conversations(&key).await.is_empty());
}

#[tokio::test]
async fn email_import_queues_an_mbox_once() {
    let app = app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let mut mbox = b"From sara@example.com Mon Nov  3 09:00:00 2025\n".to_vec();
    mbox.extend(email("sara@example.com", "i1@example.com", "One", "first"));
    mbox.extend(b"\nFrom tom@example.org Mon Nov  3 10:00:00 2025\n");
    mbox.extend(email("tom@example.org", "i2@example.org", "Two", "second"));
    let file = app.db_path().with_extension("mbox");
    std::fs::write(&file, &mbox).expect("mbox written");
    let import = || {
        let output = app
            .command()
            .args(["email", "import", "--db"])
            .arg(app.db_path())
            .arg(&file)
            .output()
            .expect("the import runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = import();
    assert!(
        first.ends_with("2 queued, 0 already imported, 0 skipped, 0 failed\n"),
        "{first}"
    );
    let texts = eventually("both imported emails routed", DEADLINE, async || {
        let texts = app.all_inbound_texts(&key).await;
        (texts.len() >= 2).then_some(texts)
    })
    .await;
    let again = import();
    assert!(
        again.ends_with("0 queued, 2 already imported, 0 skipped, 0 failed\n"),
        "the second import says what it did: {again}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut texts_now = app.all_inbound_texts(&key).await;
    texts_now.sort();
    assert_eq!(
        texts_now,
        vec!["first".to_string(), "second".to_string()],
        "{texts:?}"
    );
}
