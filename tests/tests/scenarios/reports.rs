//! Measuring support on the local binary: a scripted run of conversations on the web
//! form, Telegram and SMS, answered, resolved and reopened by two agents. The summary
//! equals what the test works out from the script and the timestamps the API shows, for
//! everyone, for one channel and for each agent, who may read only their own; so do the
//! time series, the reports side by side, the CSV and the hourly load.

use e2e::{
    ADMIN, AGENT, App, DEADLINE, FakeTelegram, FakeTwilio, eventually, message_update, new_sid,
    new_user_id, sms_params, status_and_json, telegram_env, twilio_env, unique,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Who writes, and how they write again.
enum Customer {
    Web { email: String, link: Option<String> },
    Telegram { user: i64 },
    Sms { number: String },
}

/// What the team does with a conversation.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Case {
    /// Nobody answers.
    Unanswered,
    /// One reply by Ada, then she resolves it: a first-contact resolution.
    OneAndDone,
    /// Bea replies, the customer writes again, Bea replies and resolves.
    BackAndForth,
    /// Ada replies and resolves; the customer writes again, which reopens it; Ada
    /// replies and resolves again.
    Reopened,
    /// Resolved without a reply.
    ClosedUnanswered,
}

const CASES: [Case; 5] = [
    Case::Unanswered,
    Case::OneAndDone,
    Case::BackAndForth,
    Case::Reopened,
    Case::ClosedUnanswered,
];

struct Team {
    admin: String,
    ada: (String, String),
    bea: (String, String),
}

async fn agent(app: &App, name: &str) -> (String, String) {
    let key = app.create_agent(name, &format!("{}@shop.example", unique(name)), AGENT);
    let id = app.get_ok(&key, "/v1/me").await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    (key, id)
}

impl Customer {
    /// Writes `text`, and returns the conversation it is in once it is stored.
    async fn write(&mut self, app: &App, key: &str, text: &str, update_id: &mut i64) -> String {
        match self {
            Customer::Web { email, link } => match link {
                None => {
                    *link = Some(
                        app.submit(&[("name", "Sara"), ("email", email), ("message", text)])
                            .await,
                    );
                }
                Some(url) => {
                    let answered = app.answer_on_page(url, text, None).await;
                    assert!(answered.status().is_success(), "{}", answered.status());
                }
            },
            Customer::Telegram { user } => {
                *update_id += 1;
                // Sent now: a message counts at the time Telegram says it was sent.
                let update = message_update(
                    *update_id,
                    *user,
                    *update_id,
                    json!({ "text": text, "date": chrono::Utc::now().timestamp() }),
                );
                app.deliver(&update).await;
            }
            Customer::Sms { number } => {
                app.post_twilio(
                    "/webhooks/twilio/sms",
                    &sms_params(&new_sid("SM"), number, text),
                )
                .await;
            }
        }
        eventually("the message stored", DEADLINE, async || {
            for c in app.all_conversations(key).await {
                let id = c["id"].as_str()?.to_owned();
                if c["preview"] == text {
                    return Some(id);
                }
            }
            None
        })
        .await
    }
}

async fn reply(app: &App, key: &str, conversation: &str, text: &str) {
    let (status, _, raw) = status_and_json(
        app.post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": text }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
}

async fn resolve(app: &App, key: &str, conversation: &str) {
    let (status, _, raw) = status_and_json(
        app.patch_json(
            key,
            &format!("/v1/conversations/{conversation}"),
            &json!({ "status": "resolved" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{raw}");
}

/// Seconds from `from` to `to` (RFC 3339), whole seconds as the counters keep them.
fn secs(from: &Value, to: &Value) -> i64 {
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
    };
    (at(to) - at(from)).num_seconds()
}

/// Times measured, by whom.
#[derive(Default)]
struct Expected {
    first_response: Vec<(i64, &'static str)>,
    reply_time: Vec<(i64, &'static str)>,
    resolution: Vec<i64>,
}

fn median(values: &mut [i64]) -> i64 {
    values.sort_unstable();
    // Nearest rank: the value at or above half of them.
    values[values.len().div_ceil(2) - 1]
}

fn near(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
    assert!(
        (got - want).abs() <= 1.0 + 0.03 * want,
        "{what}: {got} against {want}"
    );
}

#[tokio::test]
async fn the_summary_counts_what_the_team_did_for_everyone_each_channel_and_each_agent() {
    // The day in Tehran (+03:30 all year) the conversations are made on: a run across
    // Tehran's midnight asks from that day on.
    let made_on = (chrono::Utc::now() + chrono::TimeDelta::minutes(210)).date_naive();
    let telegram = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let env: Vec<(&str, String)> = telegram_env(&telegram)
        .into_iter()
        .chain(twilio_env(&twilio))
        .chain([("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0".to_owned())])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = App::spawn_with(&env).await;
    let team = Team {
        admin: app.create_agent("Root", "root@shop.example", ADMIN),
        ada: agent(&app, "Ada").await,
        bea: agent(&app, "Bea").await,
    };
    let key = &team.admin;
    let mut update_id = 7000;
    let mut conversations: Vec<(String, Case, &'static str)> = Vec::new();
    for (i, channel) in ["web", "telegram", "sms"].into_iter().enumerate() {
        for (j, case) in CASES.into_iter().enumerate() {
            let mut customer = match channel {
                "web" => Customer::Web {
                    email: format!("{}@mail.example", unique("sara")),
                    link: None,
                },
                "telegram" => Customer::Telegram {
                    user: new_user_id(),
                },
                _ => Customer::Sms {
                    number: format!("+1415555{:04}", 2600 + i * 10 + j),
                },
            };
            let text = |n: u32| format!("{} {channel} {case:?} question {n}", unique("q"));
            let id = customer.write(&app, key, &text(1), &mut update_id).await;
            let (ada, bea) = (&team.ada.0, &team.bea.0);
            match case {
                Case::Unanswered => {}
                Case::OneAndDone => {
                    // Times that differ: one, two and three seconds to answer.
                    tokio::time::sleep(std::time::Duration::from_secs(i as u64 + 1)).await;
                    reply(&app, ada, &id, "Here is your answer").await;
                    resolve(&app, ada, &id).await;
                }
                Case::BackAndForth => {
                    reply(&app, bea, &id, "Which order?").await;
                    assert_eq!(
                        customer.write(&app, key, &text(2), &mut update_id).await,
                        id
                    );
                    reply(&app, bea, &id, "Found it, on its way").await;
                    resolve(&app, bea, &id).await;
                }
                Case::Reopened => {
                    reply(&app, ada, &id, "Done").await;
                    resolve(&app, ada, &id).await;
                    assert_eq!(
                        customer.write(&app, key, &text(2), &mut update_id).await,
                        id,
                        "writing again reopens it"
                    );
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    reply(&app, ada, &id, "Done again").await;
                    resolve(&app, ada, &id).await;
                }
                Case::ClosedUnanswered => resolve(&app, key, &id).await,
            }
            conversations.push((id, case, channel));
        }
    }

    // What the script did, from the timestamps the API shows.
    let names: HashMap<&str, &'static str> =
        HashMap::from([(team.ada.1.as_str(), "ada"), (team.bea.1.as_str(), "bea")]);
    let mut expected = Expected::default();
    for (id, _, _) in &conversations {
        let conversation = app.get_ok(key, &format!("/v1/conversations/{id}")).await;
        let timeline = app.timeline(key, id).await;
        let mut cycle_start = conversation["created_at"].clone();
        let mut waiting: Option<Value> = None;
        let mut answered = false;
        let mut resolved = false;
        for item in &timeline {
            let at = item["created_at"].clone();
            match (item["item"].as_str(), item["direction"].as_str()) {
                (Some("message"), Some("inbound")) => {
                    if resolved {
                        resolved = false;
                        answered = false;
                        cycle_start = at.clone();
                    }
                    waiting.get_or_insert(at);
                }
                (Some("message"), Some("outbound")) => {
                    let by = names[item["author"]["agent_id"].as_str().expect("an agent")];
                    if let Some(since) = waiting.take() {
                        let list = if answered {
                            &mut expected.reply_time
                        } else {
                            &mut expected.first_response
                        };
                        list.push((secs(&since, &at), by));
                    }
                    answered = true;
                }
                (Some("event"), _)
                    if item["type"] == "status_changed" && item["to"] == "resolved" =>
                {
                    expected.resolution.push(secs(&cycle_start, &at));
                    resolved = true;
                    waiting = None;
                }
                _ => {}
            }
        }
    }
    assert_eq!(expected.first_response.len(), 12);
    assert_eq!(expected.reply_time.len(), 3);
    assert_eq!(expected.resolution.len(), 15);

    let report = |path: String, key: String| {
        let app = &app;
        async move {
            let (status, body, raw) =
                status_and_json(app.get(&key, &format!("/v1/reports/{path}")).await).await;
            assert_eq!(status.as_u16(), 200, "{path}: {raw}");
            body
        }
    };
    let summary = |query: String, key: String| report(format!("summary{query}"), key);
    // The counters follow the log within a second or so.
    let all = eventually("the counters caught up", DEADLINE, async || {
        let s = summary(String::new(), key.clone()).await;
        (s["incoming_messages_count"] == 21
            && s["outgoing_messages_count"] == 15
            && s["resolutions_count"] == 15)
            .then_some(s)
    })
    .await;
    assert_eq!(all["dimension"], "all");
    assert_eq!(all["conversations_count"], 15, "{all}");
    assert_eq!(all["reopened_count"], 3, "{all}");
    // One-and-done and the second round of each reopened one: six of fifteen.
    assert_eq!(all["first_contact_resolutions_count"], 6, "{all}");
    assert_eq!(all["fcr_rate"], 0.4, "{all}");
    assert_eq!(all["previous"]["conversations_count"], 0, "{all}");
    let check = |timing: &Value, values: &[i64], what: &str| {
        assert_eq!(timing["count"], values.len(), "{what}: {timing}");
        let mut sorted = values.to_vec();
        let mean = values.iter().sum::<i64>() as f64 / values.len() as f64;
        near(&timing["avg_secs"], mean, &format!("{what} mean"));
        near(
            &timing["median_secs"],
            median(&mut sorted) as f64,
            &format!("{what} median"),
        );
    };
    let times = |list: &[(i64, &str)], who: Option<&str>| -> Vec<i64> {
        list.iter()
            .filter(|(_, by)| who.is_none_or(|w| w == *by))
            .map(|(s, _)| *s)
            .collect()
    };
    check(
        &all["first_response"],
        &times(&expected.first_response, None),
        "first response",
    );
    check(
        &all["reply_time"],
        &times(&expected.reply_time, None),
        "reply time",
    );
    check(
        &all["resolution_time"],
        &expected.resolution,
        "resolution time",
    );

    // Around the clock, business time is calendar time (no SLA policy here).
    let business = summary("?business_hours=true".into(), key.clone()).await;
    assert_eq!(business["first_response"], all["first_response"]);

    // One channel: five conversations, seven customer messages.
    let by_telegram = summary("?channel=telegram".into(), key.clone()).await;
    assert_eq!(by_telegram["dimension"], "channel:telegram");
    assert_eq!(by_telegram["conversations_count"], 5, "{by_telegram}");
    assert_eq!(by_telegram["incoming_messages_count"], 7, "{by_telegram}");

    // Each agent reads their own numbers with their own key, and only those.
    for (who, (agent_key, agent_id), replies) in [("ada", &team.ada, 9), ("bea", &team.bea, 6)] {
        let mine = summary(String::new(), agent_key.clone()).await;
        assert_eq!(mine["dimension"], format!("agent:{agent_id}"));
        assert_eq!(mine["outgoing_messages_count"], replies, "{who}: {mine}");
        check(
            &mine["first_response"],
            &times(&expected.first_response, Some(who)),
            &format!("{who}'s first response"),
        );
        let as_admin_sees = summary(format!("?agent_id={agent_id}"), key.clone()).await;
        assert_eq!(as_admin_sees["first_response"], mine["first_response"]);
    }
    let (status, _, _) = status_and_json(
        app.get(
            &team.bea.0,
            &format!("/v1/reports/summary?agent_id={}", team.ada.1),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 403, "an agent reads no one else's numbers");
    let (status, _, _) = status_and_json(
        app.get(&team.bea.0, "/v1/reports/summary?channel=sms")
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 403, "nor the whole team's");

    // Dates in the zone asked for, Solar Hijri too; a bad one is a clear 400.
    // Tehran keeps +03:30 all year.
    let today = (chrono::Utc::now() + chrono::TimeDelta::minutes(210)).date_naive();
    let solar = summary(
        format!(
            "?tz=Asia/Tehran&since={}&until={}",
            shared::model::solar_hijri(made_on).expect("a day"),
            today
        ),
        key.clone(),
    )
    .await;
    assert_eq!(solar["since"], made_on.to_string());
    assert_eq!(solar["conversations_count"], 15, "{solar}");
    // Day by day: today holds them all.
    let series = report(
        "timeseries?metric=conversations_count&group_by=day".into(),
        key.clone(),
    )
    .await;
    let points = series["points"].as_array().expect("points");
    assert_eq!(points.len(), 7, "{series}");
    assert_eq!(points[6]["value"], 15.0, "{series}");
    let total: f64 = points.iter().filter_map(|p| p["value"].as_f64()).sum();
    assert_eq!(total, 15.0, "{series}");

    // Side by side: each channel had five; each agent their own replies.
    let by_channel = report("by/channel".into(), key.clone()).await;
    let rows = by_channel["items"].as_array().expect("items");
    assert_eq!(rows.len(), 3, "{by_channel}");
    assert!(
        rows.iter().all(|r| r["conversations_count"] == 5),
        "{by_channel}"
    );
    let by_agent = report("by/agent".into(), key.clone()).await;
    for (name, replies) in [("Ada", 9), ("Bea", 6)] {
        let row = by_agent["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {by_agent}"));
        assert_eq!(row["outgoing_messages_count"], replies, "{row}");
    }
    let (status, _, _) = status_and_json(app.get(&team.ada.0, "/v1/reports/by/agent").await).await;
    assert_eq!(status.as_u16(), 403, "side by side is for admins");

    // The same as CSV, to open in a spreadsheet.
    let csv = app.get(key, "/v1/reports/summary?format=csv").await;
    assert_eq!(csv.status().as_u16(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers()
    );
    let text = csv.text().await.expect("a body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("since,until,dimension,conversations_count,"),
        "{text}"
    );
    assert!(lines[1].contains(",all,15,21,15,15,3,6,0.4,12,"), "{text}");

    // When customers write: Telegram's seven messages, in the hours of today they came.
    let volume = report("volume?weeks=1".into(), key.clone()).await;
    let telegram = volume["hourly"]
        .as_array()
        .expect("hourly")
        .iter()
        .find(|c| c["channel"] == "telegram")
        .expect("telegram");
    assert_eq!(telegram["total"], 7, "{volume}");
    let hourly: f64 = telegram["by_weekday"]
        .as_array()
        .expect("weekdays")
        .iter()
        .flat_map(|d| {
            d.as_array()
                .expect("hours")
                .iter()
                .filter_map(Value::as_f64)
        })
        .sum();
    assert_eq!(hourly, 7.0, "{volume}");

    // A tag put on conversations this week, and none the week before, is rising.
    for (id, _, _) in conversations.iter().take(2) {
        let (status, _, raw) = status_and_json(
            app.patch_json(
                key,
                &format!("/v1/conversations/{id}"),
                &json!({ "tags": ["payment"] }),
            )
            .await,
        )
        .await;
        assert!(status.is_success(), "{raw}");
    }
    let rising = eventually("the tag counted", DEADLINE, async || {
        let volume = report("volume?weeks=1".into(), key.clone()).await;
        let first = volume["rising_tags"].get(0)?.clone();
        (first["tag"] == "payment" && first["this_week"] == 2).then_some(first)
    })
    .await;
    assert_eq!(rising["last_week"], 0, "{rising}");
    assert_eq!(rising["growth"], Value::Null, "{rising}");

    for bad in [
        "timeseries?metric=happiness",
        "summary?format=xml",
        "summary?since=yesterday",
        "summary?tz=Mars/Olympus",
        "summary?since=2026-12-05&until=2026-12-01",
        "volume?weeks=0",
    ] {
        let (status, _, raw) =
            status_and_json(app.get(key, &format!("/v1/reports/{bad}")).await).await;
        assert!(
            [400, 422].contains(&status.as_u16()),
            "{bad}: {status} {raw}"
        );
    }
}
