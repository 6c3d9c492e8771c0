//! One person, however they type their address or number, is one identity. What is
//! typed into a form never joins an existing contact by itself: the same identity typed
//! again is offered to an agent as a merge.

use e2e::{ADMIN, App, DEADLINE, eventually, unique};
use serde_json::Value;
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

/// Every contact's identities of `kind`, and the identities its suggestions name.
fn of_kind(contact: &Value, kind: &str) -> (Vec<String>, Vec<String>) {
    let values = |list: &Value, path: &str| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|i| if path.is_empty() { i } else { &i[path] })
            .filter(|i| i["kind"] == kind)
            .map(|i| i["value"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    (
        values(&contact["identities"], ""),
        values(&contact["merge_suggestions"], "identity"),
    )
}

#[tokio::test]
async fn an_email_typed_in_different_case_is_one_identity_offered_as_one_person() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let local = unique("case");
    let lower = format!("{local}@example.com");
    let upper = format!("{}@EXAMPLE.COM", local.to_uppercase());
    submit_all(&app, &key, &[("email", &lower), ("email", &upper)]).await;
    let contacts = app.list_all(&key, &format!("/v1/contacts?q={lower}")).await;
    assert_eq!(contacts.len(), 2, "each submission its own: {contacts:?}");
    for contact in &contacts {
        let (held, suggested) = of_kind(contact, "email");
        assert_eq!(held, std::slice::from_ref(&lower), "{contact}");
        assert_eq!(
            suggested,
            std::slice::from_ref(&lower),
            "one suggestion each: {contact}"
        );
    }
}

#[tokio::test]
async fn a_phone_number_in_any_format_or_digits_is_one_identity() {
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
    let contacts = app.list_all(&key, "/v1/contacts?q=%2B14155550132").await;
    assert_eq!(contacts.len(), formats.len(), "{contacts:?}");
    for contact in &contacts {
        let (held, suggested) = of_kind(contact, "phone");
        assert_eq!(held, ["+14155550132"], "one E.164 identity: {contact}");
        assert!(
            !suggested.is_empty() && suggested.iter().all(|s| s == "+14155550132"),
            "{contact}"
        );
    }
}
