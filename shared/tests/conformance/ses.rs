//! The SES v2 sender on moto: the raw message SES takes carries the threading headers,
//! the stored provider id is the one customers' answers name, and a refusal is
//! permanent. (AWS only: SES has no embedded twin; the SMTP sender has its own
//! end-to-end scenarios against a real SMTP server.)

use crate::backends::{endpoint, sdk_config};
use chrono::Utc;
use shared::aws::SesSender;
use shared::channels::email::ReplyTokens;
use shared::channels::email::outbound::OutboundSettings;
use shared::channels::email::thread::provider_key;
use shared::model::{
    Author, Channel, ContactId, Conversation, ConversationId, ConversationStatus, DeliveryStatus,
    Direction, EmailAddress, Identity, Message, MessageId, Priority,
};
use shared::ports::{ChannelSender, OutboundDelivery, SendError};

fn delivery(from_customer: &str) -> OutboundDelivery {
    let now = Utc::now();
    let conversation = Conversation {
        id: ConversationId::new(),
        contact_id: ContactId::new(),
        status: ConversationStatus::Open,
        snoozed_until: None,
        priority: Priority::Normal,
        tags: vec![],
        team_id: None,
        assignee_id: None,
        subject: Some("Kettle".into()),
        channel: Channel::Email,
        channels: vec![Channel::Email],
        message_count: 1,
        preview: String::new(),
        created_at: now,
        updated_at: now,
        last_inbound_at: None,
        waiting_since: None,
        incident_id: None,
        resolved_at: None,
        version: 1,
    };
    let message = |direction, external_id: Option<&str>| Message {
        id: MessageId::new(),
        conversation_id: conversation.id,
        contact_id: conversation.contact_id,
        direction,
        channel: Channel::Email,
        author: Author::System,
        text: "A new kettle ships today.".into(),
        attachments: vec![],
        source_id: None,
        delivery_status: DeliveryStatus::Queued,
        delivery_error: None,
        created_at: now,
        reply_to: None,
        edit_of: None,
        media_group: None,
        external_id: external_id.map(str::to_owned),
        context: Vec::new(),
        original: None,
        sent_from: Vec::new(),
        provider_id: None,
    };
    OutboundDelivery {
        message: message(Direction::Outbound, None),
        answering: Some(message(Direction::Inbound, Some(from_customer))),
        conversation,
        recipient: Some(Identity::email(
            &EmailAddress::parse("sara@example.com").unwrap(),
        )),
        files: vec![],
        choices: Vec::new(),
    }
}

fn settings(from: &str) -> OutboundSettings {
    OutboundSettings {
        from: EmailAddress::parse(from).unwrap(),
        from_name: Some("Acme Support".into()),
        reply_address: EmailAddress::parse(from).unwrap(),
    }
}

#[tokio::test]
async fn a_reply_goes_to_ses_raw_with_its_threading_headers_and_ses_id() {
    let client = aws_sdk_sesv2::Client::new(&sdk_config().await);
    let domain = format!(
        "{}.example.net",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    client
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    // Bounces and complaints are published through a configuration set.
    let events = format!("sb-{}", ulid::Ulid::new().to_string().to_lowercase());
    client
        .create_configuration_set()
        .configuration_set_name(&events)
        .send()
        .await
        .unwrap();
    let tokens = ReplyTokens::new(b"ses test key");
    let sender = SesSender::new(
        client.clone(),
        settings(&format!("support@{domain}")),
        tokens.clone(),
        Some(events),
    );
    let customer_id = format!("c-{}@mail.example.com", ulid::Ulid::new());
    let d = delivery(&customer_id);
    let sent = sender.send(&d).await.unwrap();
    let provider_id = sent.provider_id.unwrap();
    let ses_id = provider_id
        .strip_prefix("email:")
        .and_then(|p| p.strip_suffix("@email.amazonses.com"))
        .unwrap();
    // A customer answering through another region's host is matched all the same.
    assert_eq!(
        provider_key(&format!("<{ses_id}@eu-west-1.amazonses.com>")),
        provider_id
    );
    let data = reqwest::get(format!("{}/moto-api/data.json", endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(data.contains(&format!("In-Reply-To: <{customer_id}>")));
    assert!(data.contains(&tokens.reply_address(&format!("support@{domain}"), d.conversation.id)));

    // From an address SES has not verified: refused for good, the agent sees why.
    let unverified = SesSender::new(
        client,
        settings("support@unverified.example.org"),
        tokens,
        None,
    );
    match unverified.send(&delivery("x@example.com")).await {
        Err(SendError::Permanent { reason }) => assert!(reason.contains("SES"), "{reason}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}
