//! Email on the Lambda functions: SES's receipt rule has written the raw email to the
//! bucket and invokes `email-inbound` with the receipt; the router stores it, the inbox
//! API lists it. The real binaries against the AWS emulator.

use e2e::function::Function;
use e2e::stack::{Source, Stack, depth};
use serde_json::{Value, json};
use shared::model::Role;

const PREFIX: &str = "email/ses/";

/// A receipt event as SES sends it to a Lambda action for the email it stored under
/// `PREFIX` + `ses_id`.
fn receipt_event(ses_id: &str, from: &str, virus: &str, spam: &str, dmarc: &str) -> Value {
    json!({
      "Records": [{
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {
          "mail": {
            "timestamp": "2026-11-24T08:00:00.000Z",
            "source": from,
            "messageId": ses_id,
            "destination": ["support@switchboard.test"],
            "headersTruncated": false,
            "headers": [{"name": "From", "value": from}],
            "commonHeaders": {
              "returnPath": from,
              "from": [from],
              "date": "Tue, 24 Nov 2026 08:00:00 +0000",
              "to": ["support@switchboard.test"],
              "subject": "My order has not arrived"
            }
          },
          "receipt": {
            "timestamp": "2026-11-24T08:00:00.000Z",
            "processingTimeMillis": 412,
            "recipients": ["support@switchboard.test"],
            "spamVerdict": {"status": spam},
            "virusVerdict": {"status": virus},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": dmarc},
            "dmarcPolicy": "none",
            "action": {
              "type": "Lambda",
              "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:email-inbound",
              "invocationType": "Event"
            }
          }
        }
      }]
    })
}

fn email(from: &str, message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Sara Ahmadi <{from}>\r\nTo: support@switchboard.test\r\nSubject: {subject}\r\n\
         Date: Tue, 24 Nov 2026 08:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn store_raw(stack: &Stack, key: &str, raw: Vec<u8>) {
    stack
        .cloud
        .clients
        .s3()
        .put_object()
        .bucket(&stack.cloud.settings.bucket)
        .key(key)
        .body(raw.into())
        .send()
        .await
        .expect("SES's S3 action stores the email");
}

async fn object_exists(stack: &Stack, key: &str) -> bool {
    stack
        .cloud
        .clients
        .s3()
        .get_object()
        .bucket(&stack.cloud.settings.bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn an_email_received_by_ses_reaches_the_inbox_once_and_a_virus_never_does() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let mut env = stack.cloud.function_env();
    env.push(("SWITCHBOARD_SES_OBJECT_PREFIX".into(), PREFIX.into()));
    env.push((
        "SWITCHBOARD_EMAIL_DOMAINS".into(),
        "switchboard.test".into(),
    ));
    let mut inbound = Function::start("email-inbound", &env).await;
    let inbox = stack.queue_url(Source::Inbound).to_owned();
    let sqs = stack.cloud.clients.sqs().clone();

    // A clean email from a domain that passes DMARC.
    let from = format!("sara.{}@example.com", e2e::unique("ses"));
    store_raw(
        &stack,
        &format!("{PREFIX}ses0001"),
        email(
            &from,
            "CAses0001@mail.example.com",
            "My order has not arrived",
            "Order 4521 is late.",
        ),
    )
    .await;
    let event = receipt_event("ses0001", &from, "PASS", "PASS", "PASS");
    inbound.invoke_ok(event.clone()).await;
    // SES retries an asynchronous invocation that failed: the same event again.
    inbound.invoke_ok(event).await;
    // The FIFO queue may drop the second as a duplicate; the router would drop it too.
    assert!(stack.drain(Source::Inbound).await >= 1);

    let conversations = stack.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let conversation_id = conversations[0]["id"].as_str().expect("an id").to_owned();
    let messages = stack.messages(&key, &conversation_id).await;
    assert_eq!(messages.len(), 1, "stored once: {messages:?}");
    assert_eq!(messages[0]["channel"], "email");
    assert_eq!(messages[0]["text"], "Order 4521 is late.");
    let contact_id = messages[0]["contact_id"].as_str().expect("a contact");
    let contact = stack
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    let identity = &contact["identities"][0];
    assert_eq!(identity["value"], from.to_lowercase(), "{contact}");
    assert_eq!(identity["proven"], true, "DMARC passed: {contact}");

    // Spam is taken in and its conversation tagged; without DMARC the sender is claimed.
    let spammer = format!("deals.{}@example.net", e2e::unique("ses"));
    store_raw(
        &stack,
        &format!("{PREFIX}ses0002"),
        email(
            &spammer,
            "CAses0002@mail.example.net",
            "You won",
            "Claim your prize.",
        ),
    )
    .await;
    inbound
        .invoke_ok(receipt_event("ses0002", &spammer, "PASS", "FAIL", "GRAY"))
        .await;
    assert_eq!(stack.drain(Source::Inbound).await, 1);
    let tagged = stack.list_all(&key, "/v1/conversations?tag=spam").await;
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_ne!(tagged[0]["id"], conversation_id.as_str());
    let spam_messages = stack
        .messages(&key, tagged[0]["id"].as_str().expect("an id"))
        .await;
    let spam_contact = stack
        .get_ok(
            &key,
            &format!(
                "/v1/contacts/{}",
                spam_messages[0]["contact_id"].as_str().expect("a contact")
            ),
        )
        .await;
    assert_eq!(
        spam_contact["identities"][0]["proven"], false,
        "{spam_contact}"
    );

    // A virus: nothing queued, the email kept where SES put it and recorded as quarantined.
    store_raw(
        &stack,
        &format!("{PREFIX}ses0003"),
        email(
            &from,
            "CAses0003@mail.example.com",
            "invoice",
            "see attachment",
        ),
    )
    .await;
    inbound
        .invoke_ok(receipt_event("ses0003", &from, "FAIL", "PASS", "PASS"))
        .await;
    assert_eq!(depth(&sqs, &inbox).await, 0, "a virus is never queued");
    assert!(object_exists(&stack, &format!("{PREFIX}ses0003")).await);
    assert!(object_exists(&stack, "email/quarantine/ses0003.json").await);
    assert_eq!(stack.all_conversations(&key).await.len(), 2);

    // An event for an email that is not in the bucket fails the invocation (SES tries
    // again) and queues nothing.
    let missing = inbound
        .invoke(receipt_event("ses-missing", &from, "PASS", "PASS", "PASS"))
        .await;
    assert!(missing.is_err(), "{missing:?}");
    assert_eq!(depth(&sqs, &inbox).await, 0);
}
