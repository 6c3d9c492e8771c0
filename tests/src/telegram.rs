//! Telegram updates as the Bot API sends them, and an app wired to a fake Bot API.

use crate::{App, FakeTelegram};
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "7000000001:AAE-e2e_test_token";
pub const WEBHOOK_SECRET: &str = "e2e-webhook_secret-0123456789";

/// The environment that turns the Telegram channel on against `fake`.
pub fn telegram_env(fake: &FakeTelegram) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_string()),
        (
            "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET",
            WEBHOOK_SECRET.to_string(),
        ),
        ("SWITCHBOARD_TELEGRAM_API_URL", fake.url().to_string()),
    ]
}

impl App {
    /// Starts the server with the Telegram channel on, talking to `fake`.
    pub async fn spawn_with_telegram(fake: &FakeTelegram, extra: &[(&str, &str)]) -> App {
        let env = telegram_env(fake);
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        App::spawn_with(&all).await
    }

    /// Posts an update with the right secret and asserts Telegram would see 200.
    pub async fn deliver(&self, update: &Value) {
        let response = self
            .post_telegram(Some(WEBHOOK_SECRET), update.to_string().into_bytes())
            .await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 200, "webhook answered {status}: {text}");
    }
}

/// A private-chat user (a 64-bit id, as Telegram's are).
pub fn user(id: i64, first_name: &str) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": first_name, "language_code": "fa" })
}

/// A `message` update from `user_id` in their private chat with the bot.
pub fn message_update(update_id: i64, user_id: i64, message_id: i64, fields: Value) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "from": user(user_id, "سارا"),
        "chat": { "id": user_id, "first_name": "سارا", "type": "private" },
        "date": 1_735_732_800,
    });
    if let (Some(target), Some(extra)) = (message.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    json!({ "update_id": update_id, "message": message })
}

/// A text message update.
pub fn text_update(update_id: i64, user_id: i64, message_id: i64, text: &str) -> Value {
    message_update(update_id, user_id, message_id, json!({ "text": text }))
}

/// The user blocked (`kicked`) or unblocked (`member`) the bot.
pub fn membership_update(update_id: i64, user_id: i64, status: &str) -> Value {
    let bot = json!({ "id": 7_000_000_001_i64, "is_bot": true, "first_name": "Support" });
    json!({
        "update_id": update_id,
        "my_chat_member": {
            "chat": { "id": user_id, "first_name": "سارا", "type": "private" },
            "from": user(user_id, "سارا"),
            "date": 1_735_740_000,
            "old_chat_member": { "status": if status == "kicked" { "member" } else { "kicked" }, "user": bot },
            "new_chat_member": { "status": status, "user": bot },
        }
    })
}

/// A fresh 64-bit user id for each test, above 2^53 so no float could hold it.
pub fn new_user_id() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let salt = i64::from(std::process::id() % 100_000) * 1_000;
    9_007_199_254_740_993 + salt + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A `callback_query` update: `user_id` pressed the button carrying `data` under the
/// bot's message `message_id`, as Telegram sends it.
pub fn button_update(
    update_id: i64,
    user_id: i64,
    press_id: &str,
    message_id: i64,
    data: &str,
) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": press_id,
            "from": user(user_id, "سارا"),
            "message": {
                "message_id": message_id,
                "from": { "id": 7_000_000_001_i64, "is_bot": true, "first_name": "Support", "username": "support_bot" },
                "chat": { "id": user_id, "first_name": "سارا", "type": "private" },
                "date": 1_735_732_800,
                "text": "How did we do? Rate the help you got:",
            },
            "chat_instance": "-8219361851203474343",
            "data": data,
        }
    })
}
