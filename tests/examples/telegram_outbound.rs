//! Outbound Telegram figures: the real `switchboard` binary replies to a burst of agent
//! replies across many chats against the fake Bot API, and this prints the rate it
//! sustained, the busiest second, and the closest two messages to one chat.
//!
//!     cargo build --release -p switchboard
//!     SWITCHBOARD_BIN=target/release/switchboard \
//!         cargo run --release -p e2e --example telegram_outbound [chats] [replies-per-chat]
//!
//! Loopback only. It prints figures; it asserts nothing about time.

use e2e::pace::{busiest_second, closest_calls_to_one_chat};
use e2e::{ADMIN, App, FakeTelegram, eventually, new_user_id, status_and_json, text_update};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let chats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let per_chat: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let deadline = Duration::from_secs(600);

    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[("SWITCHBOARD_LOG", "warn")]).await;
    let key = app.create_agent("Bench", "bench@support.example", ADMIN);
    for update_id in 1..=chats {
        let update_id = i64::try_from(update_id).expect("a small number");
        app.deliver(&text_update(update_id, new_user_id(), 1, "سلام"))
            .await;
    }
    let conversations = eventually("every chat routed", deadline, async || {
        let conversations = app.all_conversations(&key).await;
        (conversations.len() == chats).then_some(conversations)
    })
    .await;

    let replies = chats * per_chat;
    let started = Instant::now();
    for n in 0..per_chat {
        for conversation in &conversations {
            let id = conversation["id"].as_str().expect("an id");
            let response = app
                .post_json(
                    &key,
                    &format!("/v1/conversations/{id}/replies"),
                    &json!({ "text": format!("reply {n}: <b>not bold</b> & on its way") }),
                )
                .await;
            let (status, _, raw) = status_and_json(response).await;
            assert_eq!(status.as_u16(), 202, "{raw}");
        }
    }
    let queued = started.elapsed();
    let calls = eventually("every reply sent", deadline, async || {
        let calls = fake.calls("sendMessage");
        (calls.len() >= replies).then_some(calls)
    })
    .await;
    let first = calls.iter().map(|c| c.at).min().expect("calls");
    let last = calls.iter().map(|c| c.at).max().expect("calls");
    let sending = last.duration_since(first);
    let rate = (calls.len() - 1) as f64 / sending.as_secs_f64();

    println!("== Telegram outbound: {chats} chats × {per_chat} replies against the fake Bot API");
    println!(
        "replies queued through the API in {:.2} s ({:.0}/s)",
        queued.as_secs_f64(),
        replies as f64 / queued.as_secs_f64()
    );
    println!(
        "sendMessage calls: {} in {:.2} s: {rate:.1}/s sustained",
        calls.len(),
        sending.as_secs_f64()
    );
    println!("busiest second: {} messages", busiest_second(&calls));
    if let Some(closest) = closest_calls_to_one_chat(&calls) {
        println!(
            "closest two messages to one chat: {:.0} ms apart",
            closest.as_secs_f64() * 1000.0
        );
    }
}
