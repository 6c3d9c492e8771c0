//! What arrives at the Telegram webhook: refused unless Telegram sent it, stored once,
//! edits beside their original, files fetched behind the queue.

use e2e::{
    ADMIN, App, BOT_TOKEN, DEADLINE, FakeTelegram, WEBHOOK_SECRET, eventually, message_update,
    new_user_id, problem_of, text_update,
};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn updates_without_the_secret_or_malformed_or_huge_are_refused_and_nothing_is_stored() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let update = text_update(1, new_user_id(), 101, "hello")
        .to_string()
        .into_bytes();

    for secret in [
        None,
        Some("wrong-secret"),
        Some(""),
        Some(&WEBHOOK_SECRET[1..]),
    ] {
        let response = app.post_telegram(secret, update.clone()).await;
        let (status, _) = problem_of(response).await.expect("a problem document");
        assert_eq!(status.as_u16(), 401, "secret {secret:?}");
    }
    let malformed = app
        .post_telegram(
            Some(WEBHOOK_SECRET),
            b"{\"update_id\": 1, \"message\": {".to_vec(),
        )
        .await;
    assert_eq!(
        problem_of(malformed).await.expect("a problem").0.as_u16(),
        400
    );
    let wrong_shape = app
        .post_telegram(Some(WEBHOOK_SECRET), br#"{"update_id":"x"}"#.to_vec())
        .await;
    assert_eq!(
        problem_of(wrong_shape).await.expect("a problem").0.as_u16(),
        400
    );
    let huge = text_update(2, new_user_id(), 102, &"ب".repeat(400_000));
    let response = app
        .post_telegram(Some(WEBHOOK_SECRET), huge.to_string().into_bytes())
        .await;
    assert_eq!(
        problem_of(response).await.expect("a problem").0.as_u16(),
        413
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(app.all_conversations(&key).await.is_empty());
    assert!(app.list_all(&key, "/v1/contacts").await.is_empty());
}

#[tokio::test]
async fn unknown_update_kinds_groups_and_channel_posts_are_acknowledged_and_not_stored() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    app.deliver(&json!({ "update_id": 1, "callback_query": { "id": "1", "from": e2e::user(user_id, "S"), "data": "x" } }))
        .await;
    app.deliver(&json!({ "update_id": 2, "poll_answer": { "poll_id": "1", "option_ids": [0] } }))
        .await;
    let mut group = text_update(3, user_id, 5001, "hi group");
    group["message"]["chat"] =
        json!({ "id": -1_001_234_567_890_i64, "title": "G", "type": "supergroup" });
    app.deliver(&group).await;
    app.deliver(&json!({ "update_id": 4, "channel_post": {
        "message_id": 7, "date": 1, "text": "news",
        "chat": { "id": -1_009_876_543_210_i64, "title": "C", "type": "channel" } } }))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(app.all_conversations(&key).await.is_empty());
}

#[tokio::test]
async fn a_redelivered_update_is_stored_once_and_an_edit_is_kept_beside_its_original() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let original = text_update(10, user_id, 101, "سفارش ۱۲۳ نرسید");
    for _ in 0..3 {
        app.deliver(&original).await;
    }
    let reply = message_update(
        11,
        user_id,
        102,
        json!({ "text": "هنوز خبری نیست", "reply_to_message": original["message"] }),
    );
    app.deliver(&reply).await;
    app.deliver(&reply).await;
    let mut edited = original["message"].clone();
    edited["text"] = json!("سفارش ۱۲۴ نرسید");
    edited["edit_date"] = json!(1_735_733_100);
    let edit = json!({ "update_id": 12, "edited_message": edited });
    app.deliver(&edit).await;
    app.deliver(&edit).await;

    let conversation = eventually("three messages routed", DEADLINE, async || {
        let id = app.all_conversations(&key).await.first()?["id"]
            .as_str()?
            .to_string();
        (app.messages(&key, &id).await.len() >= 3).then_some(id)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = app.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 3, "each update once: {messages:#?}");
    let by_text = |text: &str| {
        messages
            .iter()
            .find(|m| m["text"] == text)
            .unwrap_or_else(|| panic!("no message {text:?} in {messages:#?}"))
    };
    let first = by_text("سفارش ۱۲۳ نرسید");
    assert_eq!(by_text("هنوز خبری نیست")["reply_to"], first["id"]);
    let edit = by_text("سفارش ۱۲۴ نرسید");
    assert_eq!(
        edit["edit_of"], first["id"],
        "the edit names the original, kept as it was"
    );
}

#[tokio::test]
async fn a_photo_is_fetched_behind_the_queue_and_downloadable_through_the_api() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..50_000).map(|i| (i % 251) as u8))
        .collect();
    fake.add_file("photo-large", "photos/file_7.jpg", jpeg.clone());
    let user_id = new_user_id();
    let album = "13912345678901234";
    for (n, (small, large)) in [("photo-small", "photo-large"), ("p2-small", "p2-large")]
        .into_iter()
        .enumerate()
    {
        let n = n as i64;
        app.deliver(&message_update(
            20 + n,
            user_id,
            200 + n,
            json!({
                "media_group_id": album,
                "caption": if n == 0 { "رسید" } else { "" },
                "photo": [
                    { "file_id": small, "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900 },
                    { "file_id": large, "file_unique_id": "l", "width": 1280, "height": 960, "file_size": 50_004 },
                ],
            }),
        ))
        .await;
    }
    let conversation = eventually("the album routed", DEADLINE, async || {
        let id = app.all_conversations(&key).await.first()?["id"]
            .as_str()?
            .to_string();
        (app.messages(&key, &id).await.len() == 2).then_some(id)
    })
    .await;
    let messages = app.messages(&key, &conversation).await;
    assert!(
        messages.iter().all(|m| m["media_group"] == album),
        "shown together: {messages:#?}"
    );
    let photo = messages
        .iter()
        .find(|m| m["text"] == "رسید")
        .expect("the captioned photo");
    let attachment = &photo["attachments"][0];
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["size"], jpeg.len());
    assert_eq!(fake.downloads(), vec!["photos/file_7.jpg"]);
    let missing = messages
        .iter()
        .find(|m| m["text"] != "رسید")
        .expect("the other photo");
    assert!(
        missing["attachments"][0]["fetch_error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid file_id")),
        "a file Telegram refuses is kept with the reason: {missing}"
    );

    let path = format!(
        "/v1/messages/{}/attachments/0",
        photo["id"].as_str().expect("an id")
    );
    let response = app.get(&key, &path).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "image/jpeg"
    );
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), jpeg);
    let anonymous = app
        .http
        .get(app.url(&path))
        .send()
        .await
        .expect("an answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let other = format!(
        "/v1/messages/{}/attachments/0",
        missing["id"].as_str().expect("an id")
    );
    assert_eq!(app.get(&key, &other).await.status().as_u16(), 409);
    let beyond = format!(
        "/v1/messages/{}/attachments/5",
        photo["id"].as_str().expect("an id")
    );
    assert_eq!(app.get(&key, &beyond).await.status().as_u16(), 404);
}

// The commands block this test's thread; the fake answers from another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sets_the_webhook_with_the_secret_and_shows_its_state() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let set = app
        .command()
        .args([
            "telegram",
            "set-webhook",
            "--url",
            "https://support.example.com/webhooks/telegram",
        ])
        .output()
        .expect("set-webhook runs");
    let out =
        String::from_utf8_lossy(&set.stdout).to_string() + &String::from_utf8_lossy(&set.stderr);
    assert!(set.status.success(), "{out}");
    assert!(!out.contains(BOT_TOKEN), "the token never shows: {out}");
    let calls = fake.calls("setWebhook");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["url"],
        "https://support.example.com/webhooks/telegram"
    );
    assert_eq!(calls[0].body["secret_token"], WEBHOOK_SECRET);
    assert_eq!(
        calls[0].body["allowed_updates"],
        json!([
            "message",
            "edited_message",
            "my_chat_member",
            "callback_query"
        ])
    );

    let info = app
        .command()
        .args(["telegram", "info"])
        .output()
        .expect("info runs");
    let out = String::from_utf8_lossy(&info.stdout).to_string();
    assert!(
        info.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        out.contains("url: https://support.example.com/webhooks/telegram"),
        "{out}"
    );
    assert!(out.contains("pending updates: 3"), "{out}");
    assert!(out.contains("502 Bad Gateway"), "{out}");

    let refused = app
        .command()
        .env("SWITCHBOARD_TELEGRAM_BOT_TOKEN", "7000000001:wrong")
        .args(["telegram", "info"])
        .output()
        .expect("info runs");
    let err = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(!refused.status.success());
    assert!(
        !err.contains("7000000001:wrong"),
        "the token never shows: {err}"
    );
}

#[tokio::test]
async fn a_fifteen_character_webhook_secret_stops_serve_with_a_clear_message() {
    let secret = "abcdefghij-_123";
    assert_eq!(secret.len(), 15);
    let refusal = e2e::serve_refused(&[
        ("SWITCHBOARD_TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", secret),
    ])
    .await;
    assert!(!refusal.status.success(), "{refusal:?}");
    assert!(
        refusal
            .stderr
            .contains("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET")
            && refusal.stderr.contains("at least 16"),
        "the message names the setting and the rule: {refusal:?}"
    );
    assert!(!refusal.stderr.contains(secret), "never the secret itself");
    assert!(!refusal.stdout.contains("listening on"), "{refusal:?}");

    // Sixteen characters are enough.
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let env = e2e::telegram_env(&fake);
    let mut sixteen: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sixteen.retain(|(k, _)| *k != "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET");
    sixteen.push(("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", "abcdefghij-_1234"));
    let app = App::spawn_with(&sixteen).await;
    let response = app
        .post_telegram(Some("abcdefghij-_1234"), b"{\"update_id\":1}".to_vec())
        .await;
    assert_eq!(response.status().as_u16(), 200);
}
