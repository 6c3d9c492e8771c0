//! The Telegram channel on the Lambda functions: `telegram-webhook` behind "API Gateway",
//! the bot token and webhook secret in SSM, files fetched by the router into S3, replies
//! sent by the sender, against the fake Bot API and the AWS emulator.

use e2e::events::HttpRequest;
use e2e::function::Function;
use e2e::stack::{Source, Stack, depth};
use e2e::table_stream::TableStream;
use e2e::{BOT_TOKEN, FakeTelegram, WEBHOOK_SECRET, message_update, new_user_id, text_update};
use serde_json::{Value, json};
use shared::model::Role;

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// A stack with a bot: its secrets in SSM, the Bot API at `fake`.
async fn stack_with_bot(fake: &FakeTelegram) -> Stack {
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("telegram-bot-token", BOT_TOKEN).await;
    let secret = cloud
        .put_secret("telegram-webhook-secret", WEBHOOK_SECRET)
        .await;
    Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER", &token),
            ("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER", &secret),
            ("SWITCHBOARD_TELEGRAM_API_URL", fake.url()),
        ],
    )
    .await
}

fn update_request(secret: Option<&str>, update: &Value) -> HttpRequest {
    let mut request = HttpRequest::new("POST", "/webhooks/telegram")
        .header("content-type", "application/json")
        .body(update.to_string());
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    request
}

#[tokio::test]
async fn a_telegram_photo_reaches_the_inbox_and_the_reply_goes_back_to_the_chat() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..30_000).map(|i| (i % 251) as u8))
        .collect();
    fake.add_file("lambda-photo", "photos/file_42.jpg", jpeg.clone());
    let mut stack = stack_with_bot(&fake).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let user_id = new_user_id();

    // Telegram's call without the secret token is refused and queues nothing.
    let refused = stack
        .http(update_request(
            None,
            &text_update(1, user_id, 1, "no secret"),
        ))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text());
    let wrong = stack
        .http(update_request(
            Some("not-the-secret"),
            &text_update(2, user_id, 2, "wrong secret"),
        ))
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert_eq!(
        depth(&stack.cloud.sqs, stack.queue_url(Source::Inbound)).await,
        0
    );

    let photo = message_update(
        3,
        user_id,
        3,
        json!({
            "caption": "رسید پرداخت 🧾",
            "photo": [
                { "file_id": "lambda-thumb", "file_unique_id": "t", "width": 90, "height": 90, "file_size": 900 },
                { "file_id": "lambda-photo", "file_unique_id": "p", "width": 1280, "height": 960, "file_size": 30_004 },
            ],
        }),
    );
    let accepted = stack
        .http(update_request(Some(WEBHOOK_SECRET), &photo))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    // Telegram delivers again when it misses an answer: the same update is stored once.
    let again = stack
        .http(update_request(Some(WEBHOOK_SECRET), &photo))
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    let routed = stack.drain(Source::Inbound).await;
    assert!(routed >= 1, "the router took the update");
    assert_eq!(fake.downloads(), vec!["photos/file_42.jpg"], "fetched once");

    let conversations = stack.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    let conversation = conversations[0]["id"].as_str().expect("an id").to_owned();
    let messages = stack.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = &messages[0];
    assert_eq!(message["text"], "رسید پرداخت 🧾");
    assert_eq!(message["channel"], "telegram");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["size"], jpeg.len());

    // The file is served from the bucket by the inbox API.
    let path = format!(
        "/v1/messages/{}/attachments/0",
        message["id"].as_str().expect("an id")
    );
    let download = stack.api("GET", &path, &key, None).await;
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(download.headers["content-type"], "image/jpeg");
    assert_eq!(download.body, jpeg);

    // The inbox API takes a Telegram reply; the sender sends it to the customer's chat.
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "Thanks <Sara>, it's received" })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!((batch.received.len(), batch.failed.len()), (1, 0));
    let calls = fake.calls("sendMessage");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].body["chat_id"].as_i64(), Some(user_id));
    assert_eq!(calls[0].body["text"], "Thanks &lt;Sara&gt;, it's received");
    let messages = stack.messages(&key, &conversation).await;
    let sent = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("the reply in the timeline");
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
}

#[tokio::test]
async fn the_webhook_function_without_a_bot_says_why_it_cannot_start() {
    let cloud = e2e::cloud::Cloud::create().await;
    let mut webhook = Function::start("telegram-webhook", &cloud.function_env()).await;
    let (kind, body) = webhook
        .init_failure()
        .await
        .expect("an init error reported to the Runtime API");
    assert!(!kind.is_empty());
    assert!(
        body.to_string()
            .contains("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bot_token_that_is_not_one_stops_the_sender_at_init() {
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("telegram-bot-token", "not a token").await;
    let mut env = cloud.function_env();
    env.push((
        "SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER".into(),
        token.clone(),
    ));
    env.push(("SWITCHBOARD_TELEGRAM_API_URL".into(), fake.url().into()));
    let mut sender = Function::start("sender", &env).await;
    let (_, body) = sender.init_failure().await.expect("an init error");
    let text = body.to_string();
    assert!(text.contains(&token), "names the parameter: {text}");
    assert!(!text.contains("not a token"), "never the value: {text}");
}

#[tokio::test]
async fn a_fifteen_character_webhook_secret_stops_the_webhook_at_init() {
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("telegram-bot-token", BOT_TOKEN).await;
    let secret = cloud
        .put_secret("telegram-webhook-secret", "abcdefghij-_123")
        .await;
    let mut env = cloud.function_env();
    env.push((
        "SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER".into(),
        token.clone(),
    ));
    env.push((
        "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER".into(),
        secret.clone(),
    ));
    let mut webhook = Function::start("telegram-webhook", &env).await;
    let (_, body) = webhook.init_failure().await.expect("an init error");
    let text = body.to_string();
    assert!(text.contains(&secret), "names the parameter: {text}");
    assert!(text.contains("at least 16"), "says the rule: {text}");
    assert!(!text.contains("abcdefghij-_123"), "never the value: {text}");
}

#[tokio::test]
async fn an_agent_links_their_chat_through_the_router_and_the_sweeper_tells_them_of_an_assignment()
{
    let fake = FakeTelegram::start(BOT_TOKEN).await;
    let mut stack = stack_with_bot(&fake).await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let admin = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let lead = stack
        .cloud
        .create_agent("Leila", "leila@support.example", Role::Agent)
        .await;
    let lead_id = stack.get_ok(&lead, "/v1/me").await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let started = stack
        .api("POST", "/v1/me/notifications/telegram", &lead, None)
        .await;
    assert_eq!(started.status, 201, "{}", started.text());
    let command = started.json()["command"]
        .as_str()
        .expect("a command")
        .to_owned();
    let lead_chat = new_user_id();
    let linked = stack
        .http(update_request(
            Some(WEBHOOK_SECRET),
            &text_update(1, lead_chat, 1, &command),
        ))
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text());
    stack.drain(Source::Inbound).await;
    let told = |fake: &FakeTelegram| -> Vec<String> {
        fake.calls("sendMessage")
            .into_iter()
            .filter(|c| c.body["chat_id"].as_i64() == Some(lead_chat))
            .filter_map(|c| c.body["text"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        told(&fake).iter().any(|t| t.starts_with("Linked")),
        "{:?}",
        told(&fake)
    );
    let settings = stack.get_ok(&lead, "/v1/me/notifications").await;
    assert!(settings["telegram_linked_at"].is_string(), "{settings}");
    assert!(
        stack.all_conversations(&admin).await.is_empty(),
        "the code is no conversation"
    );

    // The first sweep finds where the log stands; notifying starts from there.
    stack.sweep().await;
    let customer = new_user_id();
    stack
        .http(update_request(
            Some(WEBHOOK_SECRET),
            &text_update(2, customer, 2, "کارت من مسدود شد"),
        ))
        .await;
    stack.drain(Source::Inbound).await;
    let id = stack.all_conversations(&admin).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let assigned = stack
        .api(
            "PATCH",
            &format!("/v1/conversations/{id}"),
            &admin,
            Some(&json!({ "assignee_id": lead_id })),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text());
    stack.deliver_stream(&mut stream).await;
    // Past the feed's settling second.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stack.sweep().await;
    let texts = told(&fake);
    let notice = texts
        .iter()
        .find(|t| t.contains(&id))
        .unwrap_or_else(|| panic!("no notice of {id}: {texts:?}"));
    assert!(notice.contains("Assigned to you"), "{notice}");
    assert!(!notice.contains("کارت"), "no customer words: {notice}");
    // A second sweep tells nothing again.
    let before = told(&fake).len();
    stack.sweep().await;
    assert_eq!(told(&fake).len(), before);
}
