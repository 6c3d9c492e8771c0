//! The customer's text is kept exactly as sent, in any script.

use e2e::{ADMIN, App, DEADLINE, eventually, unique};
use serde_json::{Value, json};

const ZWNJ: char = '\u{200c}';

fn persian_name() -> String {
    format!("زهرا{ZWNJ}سادات رضایی")
}

fn texts() -> Vec<String> {
    vec![
        format!("سلام! سفارش ۱۲۳۴ من هنوز نرسیده؛ می{ZWNJ}خواهم پیگیری کنم."),
        "مرحبًا، طلبي رقم ٤٥٦ لم يصل بعد. شكرًا 🙏".to_string(),
        format!("Order #A-77 — سفارش «۷۷» arrived 😀👍🏽 but the box was باز{ZWNJ}شده (opened) ✔"),
        "👨‍👩‍👧‍👦 family (ZWJ), e\u{301} combining, ١٢٣ and 123 side by side".to_string(),
    ]
}

/// The conversation of the contact with this email, once every text is in it.
async fn stored_texts(app: &App, key: &str, email: &str, count: usize) -> (Value, Vec<String>) {
    eventually("the messages routed", DEADLINE, async || {
        let contacts = app.list_all(key, &format!("/v1/contacts?q={email}")).await;
        let contact = contacts.first()?.clone();
        let contact_id = contact["id"].as_str()?;
        let conversations = app.all_conversations(key).await;
        let conversation = conversations
            .iter()
            .find(|c| c["contact_id"].as_str() == Some(contact_id))?;
        let messages = app.messages(key, conversation["id"].as_str()?).await;
        let texts: Vec<String> = messages
            .iter()
            .filter_map(|m| Some(m["text"].as_str()?.to_string()))
            .collect();
        (texts.len() >= count).then_some((contact, texts))
    })
    .await
}

async fn assert_name(app: &App, key: &str, contact: &Value, name: &str) {
    let id = contact["id"].as_str().expect("a contact id");
    let contact = app.get_ok(key, &format!("/v1/contacts/{id}")).await;
    assert_eq!(contact["name"].as_str(), Some(name), "{contact}");
}

#[tokio::test]
async fn persian_and_arabic_text_round_trips_byte_for_byte_through_the_urlencoded_form() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let email = format!("{}@example.com", unique("form"));
    let name = persian_name();
    // The first text starts the conversation; the rest are answers on its page.
    let mut page = String::new();
    for (n, text) in texts().iter().enumerate() {
        let idempotency_key = format!("{}-{n}", unique("form"));
        let fields = [
            ("name", name.as_str()),
            ("email", email.as_str()),
            ("message", text.as_str()),
            ("idempotency_key", idempotency_key.as_str()),
        ];
        if n == 0 {
            page = app.submit(&fields).await;
            stored_texts(&app, &key, &email, 1).await;
        } else {
            let response = app
                .http
                .post(&page)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(serde_urlencoded::to_string(fields).expect("encodes"))
                .send()
                .await
                .expect("the page answers");
            assert_eq!(response.status().as_u16(), 202);
            stored_texts(&app, &key, &email, n + 1).await;
        }
    }
    let (contact, stored) = stored_texts(&app, &key, &email, texts().len()).await;
    assert_eq!(stored, texts(), "stored exactly as posted, in order");
    for (stored, sent) in stored.iter().zip(texts()) {
        assert_eq!(stored.as_bytes(), sent.as_bytes());
    }
    assert_name(&app, &key, &contact, &name).await;
}

#[tokio::test]
async fn persian_and_arabic_text_round_trips_byte_for_byte_through_json() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let email = format!("{}@example.com", unique("json"));
    let name = "فاطمة الزهراء 🌙".to_string();
    // The first text starts the conversation; the rest are answers on its page.
    let mut page = String::new();
    for (n, text) in texts().iter().enumerate() {
        let body = json!({
            "name": name,
            "email": email,
            "message": text,
            "idempotency_key": format!("{}-{n}", unique("json")),
        });
        if n == 0 {
            page = app.submit_json(&body).await;
        } else {
            let response = app
                .http
                .post(&page)
                .json(&body)
                .send()
                .await
                .expect("the page answers");
            assert_eq!(response.status().as_u16(), 202);
        }
        stored_texts(&app, &key, &email, n + 1).await;
    }
    let (contact, stored) = stored_texts(&app, &key, &email, texts().len()).await;
    assert_eq!(stored, texts(), "stored exactly as posted, in order");
    assert_name(&app, &key, &contact, &name).await;
}
