//! The webhook store's contract, on SQLite and on DynamoDB: subscriptions, the delivery
//! log (recorded once, newest first, by status, since a time), the count of failures that
//! turns a subscription off, and a delete that takes its log along.

use chrono::{Duration, SubsecRound, Utc};
use shared::backend::Store;
use shared::model::{
    AttemptOutcome, Change, ChangeType, ConversationId, Subscription, WebhookDelivery,
    WebhookDeliveryStatus, WebhookId, delivery_id,
};
use shared::ports::{PageRequest, PortError};

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        a_subscription_reads_back_with_its_secret_and_saves,
        a_delivery_is_recorded_once_and_listed_newest_first,
        failures_in_a_row_turn_a_subscription_off_and_an_arrival_resets_them,
        deleting_a_subscription_takes_its_delivery_log,
    ]
);

fn subscription(url: &str) -> Subscription {
    let now = Utc::now().trunc_subsecs(3);
    Subscription {
        id: WebhookId::new(),
        url: url.into(),
        description: Some("CRM".into()),
        types: vec![ChangeType::MessageReceived, ChangeType::ReplyFailed],
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        enabled: true,
        disabled_reason: None,
        failures_in_a_row: 0,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

fn delivery(webhook: WebhookId, seq: u32, minutes_ago: i64) -> WebhookDelivery {
    let at = (Utc::now() - Duration::minutes(minutes_ago)).trunc_subsecs(3);
    let change = Change {
        id: format!("lg_{seq}"),
        cursor: seq.to_string(),
        kind: ChangeType::MessageReceived,
        at,
        conversation_id: Some(ConversationId::new()),
        contact_id: None,
        message_id: None,
        note_id: None,
        event_id: None,
        actor_id: None,
        incident_id: None,
    };
    WebhookDelivery {
        id: delivery_id(webhook, &change.id),
        webhook_id: webhook,
        change,
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        last_attempt: None,
        next_attempt_at: Some(at),
        created_at: at,
        replays: 0,
    }
}

async fn a_subscription_reads_back_with_its_secret_and_saves(store: &dyn Store) {
    let first = subscription("https://crm.example/in");
    let second = subscription("https://ops.example/hook");
    store.create_webhook(&first).await.unwrap();
    store.create_webhook(&second).await.unwrap();
    assert!(matches!(
        store.create_webhook(&first).await,
        Err(PortError::Conflict(_))
    ));
    assert_eq!(store.webhook(first.id).await.unwrap(), Some(first.clone()));
    let all = store.list_webhooks().await.unwrap();
    assert_eq!(all, vec![first.clone(), second.clone()], "oldest first");

    let changed = Subscription {
        url: "https://crm.example/v2".into(),
        types: vec![],
        description: None,
        enabled: false,
        secret: "whsec_bmV3IHNlY3JldCBieXRlcw==".into(),
        previous_secret: Some(first.secret.clone()),
        previous_secret_expires_at: Some(first.created_at + Duration::hours(24)),
        ..first.clone()
    };
    store.save_webhook(&changed).await.unwrap();
    let saved = store.webhook(first.id).await.unwrap().unwrap();
    assert_eq!(
        saved,
        Subscription {
            version: 1,
            ..changed.clone()
        }
    );
    // A save over a version that is no longer the subscription's is refused: two admins,
    // or an admin and the sender's count of failures, never undo each other.
    assert!(matches!(
        store.save_webhook(&changed).await,
        Err(PortError::Conflict(_))
    ));
    store.count_result(first.id, false, 10, "x").await.unwrap();
    assert!(matches!(
        store.save_webhook(&saved).await,
        Err(PortError::Conflict(_))
    ));
    let counted = store.webhook(first.id).await.unwrap().unwrap();
    assert_eq!((counted.version, counted.failures_in_a_row), (2, 1));
    store.save_webhook(&counted).await.unwrap();
    let gone = subscription("https://gone.example/");
    assert!(matches!(
        store.save_webhook(&gone).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(store.webhook(gone.id).await.unwrap(), None);
}

async fn a_delivery_is_recorded_once_and_listed_newest_first(store: &dyn Store) {
    let webhook = subscription("https://crm.example/in");
    store.create_webhook(&webhook).await.unwrap();
    let older = delivery(webhook.id, 1, 30);
    let newer = delivery(webhook.id, 2, 10);
    let newest = delivery(webhook.id, 3, 1);
    store
        .add_deliveries(&[older.clone(), newer.clone()])
        .await
        .unwrap();
    // Tried, then recorded again (a batch handed over twice): the try stays.
    let tried = WebhookDelivery {
        status: WebhookDeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: None,
        last_attempt: Some(AttemptOutcome {
            at: Utc::now().trunc_subsecs(3),
            response_status: Some(204),
            response: Some(String::new()),
            duration_ms: 12,
        }),
        ..older.clone()
    };
    store.save_delivery(&tried).await.unwrap();
    store
        .add_deliveries(&[older.clone(), newest.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.delivery(webhook.id, &older.id).await.unwrap(),
        Some(tried.clone())
    );
    assert_eq!(
        store.delivery(WebhookId::new(), &older.id).await.unwrap(),
        None,
        "only under its own subscription"
    );

    let first = store
        .list_deliveries(webhook.id, None, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(first.items, vec![newest.clone(), newer.clone()]);
    let rest = store
        .list_deliveries(
            webhook.id,
            None,
            &PageRequest {
                limit: 2,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items, vec![tried.clone()]);
    assert_eq!(rest.next_cursor, None);
    let delivered = store
        .list_deliveries(
            webhook.id,
            Some(WebhookDeliveryStatus::Delivered),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(delivered.items, vec![tried.clone()]);

    let since = store
        .deliveries_since(webhook.id, newer.created_at)
        .await
        .unwrap();
    assert_eq!(since, vec![newer, newest], "oldest first, from the time on");
}

async fn failures_in_a_row_turn_a_subscription_off_and_an_arrival_resets_them(store: &dyn Store) {
    let webhook = subscription("https://crm.example/in");
    store.create_webhook(&webhook).await.unwrap();
    store
        .count_result(webhook.id, false, 3, "first reason")
        .await
        .unwrap();
    store
        .count_result(webhook.id, false, 3, "second reason")
        .await
        .unwrap();
    let now = store.webhook(webhook.id).await.unwrap().unwrap();
    assert_eq!(now.failures_in_a_row, 2);
    assert!(now.enabled);
    store.count_result(webhook.id, true, 3, "").await.unwrap();
    assert_eq!(
        store
            .webhook(webhook.id)
            .await
            .unwrap()
            .unwrap()
            .failures_in_a_row,
        0
    );
    for n in 1..=4 {
        store
            .count_result(webhook.id, false, 3, &format!("failure {n}"))
            .await
            .unwrap();
    }
    let off = store.webhook(webhook.id).await.unwrap().unwrap();
    assert!(!off.enabled);
    assert_eq!(off.failures_in_a_row, 4);
    assert_eq!(
        off.disabled_reason.as_deref(),
        Some("failure 3"),
        "the reason of the failure that turned it off"
    );
    // Counting for a subscription that is gone is harmless.
    store
        .count_result(WebhookId::new(), false, 3, "x")
        .await
        .unwrap();
}

async fn deleting_a_subscription_takes_its_delivery_log(store: &dyn Store) {
    let webhook = subscription("https://crm.example/in");
    let other = subscription("https://ops.example/in");
    store.create_webhook(&webhook).await.unwrap();
    store.create_webhook(&other).await.unwrap();
    let many: Vec<_> = (0..30).map(|n| delivery(webhook.id, n, 5)).collect();
    store.add_deliveries(&many).await.unwrap();
    let kept = delivery(other.id, 1, 5);
    store
        .add_deliveries(std::slice::from_ref(&kept))
        .await
        .unwrap();

    assert!(store.delete_webhook(webhook.id).await.unwrap());
    assert!(!store.delete_webhook(webhook.id).await.unwrap());
    assert_eq!(store.webhook(webhook.id).await.unwrap(), None);
    assert_eq!(store.delivery(webhook.id, &many[0].id).await.unwrap(), None);
    let log = store
        .list_deliveries(webhook.id, None, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(log.items.is_empty(), "{log:?}");
    assert_eq!(
        store.delivery(other.id, &kept.id).await.unwrap(),
        Some(kept),
        "another subscription's log stays"
    );
}
