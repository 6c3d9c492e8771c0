//! One person, however they type their address or number, is one contact.

use e2e::{ADMIN, App, DEADLINE, eventually, unique};
use std::time::Duration;

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

/// Submits each `(field, value)` as its own message, then waits until all are routed.
async fn submit_all(app: &App, key: &str, senders: &[(&str, &str)]) {
    for (n, (field, value)) in senders.iter().enumerate() {
        let message = format!("message {n} from {value}");
        app.submit(&[("name", "Sam"), (field, value), ("message", &message)])
            .await;
    }
    eventually("every message routed", DEADLINE, async || {
        let texts = app.all_inbound_texts(key).await;
        (texts.len() >= senders.len()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_email_typed_in_different_case_is_one_contact_and_one_conversation() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let local = unique("case");
    let lower = format!("{local}@example.com");
    let upper = format!("{}@EXAMPLE.COM", local.to_uppercase());
    submit_all(&app, &key, &[("email", &lower), ("email", &upper)]).await;
    let conversations = app.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let contacts = app.list_all(&key, &format!("/v1/contacts?q={lower}")).await;
    assert_eq!(contacts.len(), 1, "{contacts:?}");
}

#[tokio::test]
async fn a_phone_number_in_any_format_or_digits_is_one_contact() {
    let app = App::spawn_with(&[UNLIMITED, ("SWITCHBOARD_DEFAULT_REGION", "US")]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let formats = [
        ("phone", "+1 415 555 0132"),
        ("phone", "(415) 555-0132"),
        ("phone", "415.555.0132"),
        ("phone", "+۱ ۴۱۵ ۵۵۵ ۰۱۳۲"),
        ("phone", "+١ ٤١٥ ٥٥٥ ٠١٣٢"),
    ];
    submit_all(&app, &key, &formats).await;
    let conversations = app.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let contact_id = conversations[0]["contact_id"].as_str().expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    let phones: Vec<_> = contact["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .filter(|i| i["kind"] == "phone")
        .map(|i| i["value"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(phones, ["+14155550132"], "one E.164 identity: {contact}");
}
