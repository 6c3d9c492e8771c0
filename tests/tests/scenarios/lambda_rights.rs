//! Customers' data rights on the Lambda functions and the emulator: `inbox-api` erases a
//! contact on request, the `sweeper` erases what is past the retention period.

use e2e::stack::{Source, Stack};
use e2e::unique;
use serde_json::Value;
use shared::model::{ConversationId, ConversationStatus, Role};

async fn submit(stack: &mut Stack, email: &str, message: &str) {
    let response = stack
        .post_webform(&[("name", "Sara"), ("email", email), ("message", message)])
        .await;
    assert_eq!(response.status, 202, "web form: {}", response.text());
    stack.drain(Source::Inbound).await;
}

fn id(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {value}"))
        .to_owned()
}

#[tokio::test]
async fn the_inbox_api_erases_a_contact_with_everything_of_theirs_and_leaves_a_tombstone() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Root", "root@support.example", Role::Admin)
        .await;
    let email = format!("{}@example.com", unique("aws-erase"));
    submit(&mut stack, &email, "Please forget me").await;
    let conversation = stack.all_conversations(&key).await.remove(0);
    let contact = id(&conversation, "contact_id");
    let export = stack
        .get_ok(&key, &format!("/v1/contacts/{contact}/export"))
        .await;
    let timeline = export["conversations"][0]["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|i| i["text"] == "Please forget me"),
        "{export}"
    );

    let erased = stack
        .api("DELETE", &format!("/v1/contacts/{contact}"), &key, None)
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text());
    let tombstone = erased.json();
    assert_eq!(tombstone["contact_id"], contact.as_str());
    assert_eq!(tombstone["messages"], 1);
    let gone = stack
        .api("GET", &format!("/v1/contacts/{contact}"), &key, None)
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text());
    assert!(stack.all_conversations(&key).await.is_empty());
    assert_eq!(stack.list_all(&key, "/v1/erasures").await, vec![tombstone]);
}

#[tokio::test]
async fn the_sweeper_erases_a_resolved_conversation_past_the_retention_period() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Root", "root@support.example", Role::Admin)
        .await;
    submit(
        &mut stack,
        &format!("{}@example.com", unique("old")),
        "Long ago",
    )
    .await;
    let old = stack.all_conversations(&key).await.remove(0);
    // Resolved forty days ago.
    let conversations = stack.cloud.backend().conversations;
    let id_of: ConversationId = id(&old, "id").parse().unwrap();
    let stored = conversations.conversation(id_of).await.unwrap().unwrap();
    let then = chrono::Utc::now() - chrono::Duration::days(40);
    let resolved = shared::model::Conversation {
        status: ConversationStatus::Resolved,
        resolved_at: Some(then),
        updated_at: then,
        ..stored.clone()
    };
    conversations
        .save_conversation(&resolved, stored.version, &[])
        .await
        .unwrap();
    submit(
        &mut stack,
        &format!("{}@example.com", unique("new")),
        "Just now",
    )
    .await;

    stack.sweep().await;
    assert_eq!(
        stack.all_conversations(&key).await.len(),
        2,
        "no retention, no erasure"
    );
    stack
        .sweep_with(&[("SWITCHBOARD_RETENTION_DAYS", "30")])
        .await;
    let left = stack.all_conversations(&key).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["preview"], "Just now");
    let gone = stack
        .api(
            "GET",
            &format!("/v1/contacts/{}", id(&old, "contact_id")),
            &key,
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text());
    let tombstones = stack.list_all(&key, "/v1/erasures").await;
    assert_eq!(tombstones.len(), 1, "{tombstones:?}");
    assert_eq!(tombstones[0]["reason"], "retention");
    assert_eq!(tombstones[0]["contact_id"], id(&old, "contact_id").as_str());
}
