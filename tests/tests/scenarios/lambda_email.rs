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
        .s3
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
        .s3
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
    let sqs = stack.cloud.sqs.clone();

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

/// An email from `from` to `to`, answering `in_reply_to` when given.
fn answer_email(
    from: &str,
    to: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let threading = in_reply_to
        .map(|id| format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Sara Ahmadi <{from}>\r\nTo: {to}\r\nSubject: Re: My order has not arrived\r\n\
         Date: Tue, 24 Nov 2026 09:30:00 +0000\r\nMessage-ID: <{message_id}>\r\n{threading}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// What the configuration set's SNS destination hands `email-inbound`: one SES sending
/// event (as the `Message` text) about the email SES knows as `ses_id`.
fn sns_event(ses_event: &Value) -> Value {
    json!({
      "Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:switchboard-EmailEventsTopic:6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "Sns": {
          "Type": "Notification",
          "MessageId": "5b8c9d0e-1f2a-5b3c-9d4e-6f7a8b9c0d1e",
          "TopicArn": "arn:aws:sns:us-east-1:123456789012:switchboard-EmailEventsTopic",
          "Subject": null,
          "Message": ses_event.to_string(),
          "Timestamp": "2026-11-24T09:14:04.102Z",
          "SignatureVersion": "1",
          "Signature": "EXAMPLE",
          "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
          "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
          "MessageAttributes": {}
        }
      }]
    })
}

fn ses_mail(ses_id: &str, to: &str) -> Value {
    json!({
      "timestamp": "2026-11-24T09:14:02.511Z",
      "source": "Acme Support <support@switchboard.test>",
      "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/switchboard.test",
      "sendingAccountId": "123456789012",
      "messageId": ses_id,
      "destination": [to],
      "headersTruncated": false,
      "tags": {"ses:configuration-set": ["switchboard-replies"]}
    })
}

fn bounce_event(ses_id: &str, to: &str) -> Value {
    sns_event(&json!({
      "eventType": "Bounce",
      "bounce": {
        "feedbackId": "0100019347a1c2d3-5e6f7a8b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-000000",
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{
          "emailAddress": to,
          "action": "failed",
          "status": "5.1.1",
          "diagnosticCode": "smtp; 550 5.1.1 user unknown"
        }],
        "timestamp": "2026-11-24T09:14:03.208Z",
        "reportingMTA": "dsn; a8-31.smtp-out.amazonses.com"
      },
      "mail": ses_mail(ses_id, to)
    }))
}

/// The raw messages SES v2 took, as moto keeps them: (SES message id, raw MIME).
async fn sent_raw_messages(stack: &Stack) -> Vec<(String, String)> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", stack.cloud.endpoint))
        .await
        .expect("moto's data")
        .json()
        .await
        .expect("moto's data is JSON");
    data["ses"]["RawMessage"]
        .as_array()
        .map(|sent| {
            sent.iter()
                .map(|m| {
                    (
                        m["id"].as_str().unwrap_or_default().to_owned(),
                        m["raw_data"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One header of a raw message, unfolded.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut()
            && line.starts_with([' ', '\t'])
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_owned());
        }
    }
    value
}

async fn resolve(stack: &mut Stack, key: &str, conversation: &str) {
    let resolved = stack
        .api(
            "PATCH",
            &format!("/v1/conversations/{conversation}"),
            key,
            Some(&json!({ "status": "resolved" })),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text());
}

#[tokio::test]
async fn an_agents_email_reply_goes_out_through_ses_and_the_customers_answers_and_bounces_come_back()
 {
    let cloud = e2e::cloud::Cloud::create().await;
    // What the template and the operator set up: the verified domain and the
    // configuration set that publishes the replies' events.
    let ses = cloud.clients.sesv2();
    ses.create_email_identity()
        .email_identity("switchboard.test")
        .send()
        .await
        .expect("the domain identity");
    let events = format!("sb-{}", e2e::unique("cs").replace('_', "-"))
        .chars()
        .take(64)
        .collect::<String>();
    ses.create_configuration_set()
        .configuration_set_name(&events)
        .send()
        .await
        .expect("the configuration set");
    let email_env = [
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
        ("SWITCHBOARD_EMAIL_FROM_NAME", "Acme Support"),
        ("SWITCHBOARD_SES_CONFIGURATION_SET", events.as_str()),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
        ("SWITCHBOARD_SES_OBJECT_PREFIX", PREFIX),
        // A resolved conversation never reopens by itself: only threading brings an
        // answer back to it.
        ("SWITCHBOARD_REOPEN_WINDOW_HOURS", "0"),
    ];
    let mut env = cloud.function_env();
    env.extend(
        email_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut stack = Stack::start_on(cloud, &email_env).await;
    let mut inbound = Function::start("email-inbound", &env).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;

    // The customer writes; SES receives it.
    let customer = format!("sara.{}@example.com", e2e::unique("reply")).to_lowercase();
    let customer_mid = format!("CA{}@mail.example.com", e2e::unique("m1"));
    let with_receipt = format!(
        "From: Sara Ahmadi <{customer}>\r\nTo: support@switchboard.test\r\n\
         Subject: My order has not arrived\r\nDate: Tue, 24 Nov 2026 08:00:00 +0000\r\n\
         Message-ID: <{customer_mid}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOrder 4521 is late.\r\n\
         --b1\r\nContent-Type: text/plain; name=\"receipt.txt\"\r\n\
         Content-Disposition: attachment; filename=\"receipt.txt\"\r\n\r\n\
         Order 4521, paid 24 November.\r\n--b1--\r\n"
    );
    store_raw(
        &stack,
        &format!("{PREFIX}in-0001"),
        with_receipt.into_bytes(),
    )
    .await;
    inbound
        .invoke_ok(receipt_event("in-0001", &customer, "PASS", "PASS", "PASS"))
        .await;
    assert_eq!(stack.drain(Source::Inbound).await, 1);
    let conversations = stack.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let conversation = conversations[0]["id"].as_str().expect("an id").to_owned();
    // The router read the attachment back from the raw email `email-inbound` kept.
    let first = stack.messages(&key, &conversation).await;
    let file = &first[0]["attachments"][0];
    assert_eq!(file["filename"], "receipt.txt", "{first:?}");
    assert!(file.get("fetch_error").is_none(), "{file}");
    assert_ne!(file["blob_key"], "", "{file}");

    // The agent replies by email; the sender hands the raw MIME to SES.
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "A new kettle ships today.", "channel": "email" })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!(batch.received.len(), 1, "{batch:?}");
    assert!(batch.failed.is_empty(), "{batch:?}");
    let sent = sent_raw_messages(&stack).await;
    let (ses_id, raw) = sent
        .iter()
        .find(|(_, raw)| raw.contains(&conversation))
        .unwrap_or_else(|| panic!("SES took no email naming {conversation}: {sent:?}"))
        .clone();
    assert_eq!(
        header(&raw, "In-Reply-To").as_deref(),
        Some(format!("<{customer_mid}>").as_str()),
        "{raw}"
    );
    let references = header(&raw, "References").unwrap_or_default();
    assert!(references.contains(&format!("<{customer_mid}>")), "{raw}");
    assert!(
        header(&raw, "To").is_some_and(|to| to.contains(&customer)),
        "{raw}"
    );
    let reply_to = header(&raw, "Reply-To").unwrap_or_default();
    let token_address = reply_to
        .split(['<', '>', ' '])
        .find(|part| part.starts_with("support+") && part.ends_with("@switchboard.test"))
        .unwrap_or_else(|| panic!("no tokenized Reply-To in {raw}"))
        .to_owned();
    assert!(
        header(&raw, "Subject").is_some_and(|s| s.contains(&format!("[#{conversation}]"))),
        "{raw}"
    );
    let messages = stack.messages(&key, &conversation).await;
    let ours = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap_or_else(|| panic!("no reply in {messages:?}"));
    assert_eq!(ours["delivery_status"], "sent", "{ours}");
    let reply_id = ours["id"].as_str().expect("an id").to_owned();

    // The customer answers SES's Message-ID, to the plain support address, after the
    // conversation was resolved: it comes back to the same conversation.
    resolve(&mut stack, &key, &conversation).await;
    store_raw(
        &stack,
        &format!("{PREFIX}in-0002"),
        answer_email(
            &customer,
            "support@switchboard.test",
            &format!("CA{}@mail.example.com", e2e::unique("m2")),
            Some(&format!("{ses_id}@email.amazonses.com")),
            "Thanks, and the invoice?",
        ),
    )
    .await;
    inbound
        .invoke_ok(receipt_event("in-0002", &customer, "PASS", "PASS", "PASS"))
        .await;
    assert_eq!(stack.drain(Source::Inbound).await, 1);
    assert_eq!(stack.all_conversations(&key).await.len(), 1);
    let texts: Vec<Value> = stack
        .messages(&key, &conversation)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert!(
        texts.contains(&json!("Thanks, and the invoice?")),
        "{texts:?}"
    );

    // An answer that names no Message-ID, only the token address, threads as well.
    resolve(&mut stack, &key, &conversation).await;
    store_raw(
        &stack,
        &format!("{PREFIX}in-0003"),
        answer_email(
            &customer,
            &token_address,
            &format!("CA{}@mail.example.com", e2e::unique("m3")),
            None,
            "Sent from my phone.",
        ),
    )
    .await;
    inbound
        .invoke_ok(receipt_event("in-0003", &customer, "PASS", "PASS", "PASS"))
        .await;
    assert_eq!(stack.drain(Source::Inbound).await, 1);
    assert_eq!(stack.all_conversations(&key).await.len(), 1);
    let texts: Vec<Value> = stack
        .messages(&key, &conversation)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert!(texts.contains(&json!("Sent from my phone.")), "{texts:?}");

    // The reply bounces: SNS hands the event over, twice. The reply fails with the
    // recipient server's reason, once.
    let bounce = bounce_event(&ses_id, &customer);
    assert_eq!(inbound.invoke_ok(bounce.clone()).await["records"], 1);
    inbound.invoke_ok(bounce.clone()).await;
    stack.drain(Source::Inbound).await;
    let timeline_before = stack
        .list_all(&key, &format!("/v1/conversations/{conversation}/timeline"))
        .await;
    let failed = timeline_before
        .iter()
        .find(|item| item["id"] == reply_id.as_str())
        .unwrap_or_else(|| panic!("the reply is gone: {timeline_before:?}"));
    assert_eq!(failed["delivery_status"], "failed", "{failed}");
    assert_eq!(
        failed["delivery_error"],
        format!("the email to {customer} bounced: 5.1.1 smtp; 550 5.1.1 user unknown"),
        "{failed}"
    );
    // Past the queue's deduplication (a late redelivery), the same event stores nothing.
    inbound.invoke_ok(bounce).await;
    stack.drain(Source::Inbound).await;
    let timeline_after = stack
        .list_all(&key, &format!("/v1/conversations/{conversation}/timeline"))
        .await;
    assert_eq!(timeline_after, timeline_before);

    // A second reply is delivered, then the customer reports it as spam: it stays
    // delivered and the conversation is tagged for the team.
    let second = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "Here is the invoice." })),
        )
        .await;
    assert_eq!(second.status, 202, "{}", second.text());
    assert_eq!(stack.deliver_batch(Source::Outbound).await.failed.len(), 0);
    let (second_ses_id, _) = sent_raw_messages(&stack)
        .await
        .into_iter()
        .find(|(id, raw)| *id != ses_id && raw.contains(&conversation))
        .expect("the second reply at SES");
    let delivered = sns_event(&json!({
      "eventType": "Delivery",
      "mail": ses_mail(&second_ses_id, &customer),
      "delivery": {
        "timestamp": "2026-11-24T09:20:03.925Z",
        "processingTimeMillis": 1414,
        "recipients": [customer],
        "smtpResponse": "250 2.0.0 OK",
        "reportingMTA": "a8-31.smtp-out.amazonses.com"
      }
    }));
    let complaint = sns_event(&json!({
      "eventType": "Complaint",
      "complaint": {
        "feedbackId": "0100019347c3e4f5-8a9b0c1d-3e4f-4a5b-0c1d-2e3f4a5b6c7d-000000",
        "complainedRecipients": [{"emailAddress": customer}],
        "timestamp": "2026-11-24T10:02:44.000Z",
        "userAgent": "Yahoo!-Mail-Feedback/2.0",
        "complaintFeedbackType": "abuse"
      },
      "mail": ses_mail(&second_ses_id, &customer)
    }));
    inbound.invoke_ok(delivered).await;
    inbound.invoke_ok(complaint).await;
    stack.drain(Source::Inbound).await;
    let messages = stack.messages(&key, &conversation).await;
    let second = messages
        .iter()
        .rev()
        .find(|m| m["direction"] == "outbound")
        .expect("the second reply");
    assert_eq!(second["delivery_status"], "delivered", "{second}");
    let tagged = stack
        .list_all(&key, "/v1/conversations?status=all&tag=complaint")
        .await;
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(tagged[0]["id"], conversation.as_str());

    // An event SES could not have sent refuses the invocation and queues nothing.
    let inbox = stack.queue_url(Source::Inbound).to_owned();
    let garbage = sns_event(&json!({"eventType": "Bounce", "mail": {"messageId": "<x@evil>"}}));
    assert!(inbound.invoke(garbage).await.is_err());
    assert_eq!(depth(&stack.cloud.sqs, &inbox).await, 0);

    // Without any clue, the same customer's next email starts a new conversation: the
    // answers above came back by threading alone.
    store_raw(
        &stack,
        &format!("{PREFIX}in-0004"),
        answer_email(
            &customer,
            "support@switchboard.test",
            &format!("CA{}@mail.example.com", e2e::unique("m4")),
            None,
            "A new question.",
        ),
    )
    .await;
    resolve(&mut stack, &key, &conversation).await;
    inbound
        .invoke_ok(receipt_event("in-0004", &customer, "PASS", "PASS", "PASS"))
        .await;
    assert_eq!(stack.drain(Source::Inbound).await, 1);
    assert_eq!(stack.all_conversations(&key).await.len(), 2);
}
