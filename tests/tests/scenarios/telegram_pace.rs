//! A burst of replies to many chats keeps to the Bot API's pace: at most 30 messages in
//! any second from the bot, at most one a second in any chat.

use e2e::pace::{busiest_second, closest_calls_to_one_chat};
use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, eventually, new_user_id, status_and_json, text_update,
};
use serde_json::json;
use std::time::Duration;

const CHATS: usize = 40;
/// Replies to the first chat; every other chat gets one.
const TO_FIRST_CHAT: usize = 3;

#[tokio::test]
async fn a_burst_of_replies_keeps_to_thirty_a_second_and_one_a_second_per_chat() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    for update_id in 1..=CHATS {
        let update_id = i64::try_from(update_id).expect("a small number");
        app.deliver(&text_update(update_id, new_user_id(), 1, "سلام"))
            .await;
    }
    let conversations = eventually("every chat routed", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        (conversations.len() == CHATS).then_some(conversations)
    })
    .await;

    let mut replies = 0;
    for (index, conversation) in conversations.iter().enumerate() {
        let id = conversation["id"].as_str().expect("an id");
        let count = if index == 0 { TO_FIRST_CHAT } else { 1 };
        for n in 0..count {
            let response = app
                .post_json(
                    &key,
                    &format!("/v1/conversations/{id}/replies"),
                    &json!({ "text": format!("reply {n}") }),
                )
                .await;
            let (status, _, raw) = status_and_json(response).await;
            assert_eq!(status.as_u16(), 202, "{raw}");
            replies += 1;
        }
    }

    let calls = eventually("every reply sent", DEADLINE, async || {
        let calls = fake.calls("sendMessage");
        (calls.len() >= replies).then_some(calls)
    })
    .await;
    assert_eq!(calls.len(), replies, "each reply sent once");
    // The fake stamps a call when it arrives, so scheduling noise can pull the 31st of
    // evenly spaced sends (due a full second after the first) a moment early: one over
    // is noise, a burst without pacing would put all 40 into the first second.
    let busiest = busiest_second(&calls);
    assert!(busiest <= 31, "{busiest} messages within one second");
    let closest = closest_calls_to_one_chat(&calls).expect("one chat got three replies");
    assert!(
        closest >= Duration::from_millis(900),
        "two messages to one chat {closest:?} apart"
    );
}
