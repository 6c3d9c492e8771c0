//! Incident fan-out figures: the real `switchboard` binary writes one incident update
//! into N linked conversations on one channel and sends it against the fakes (the Bot
//! API, Twilio, the SMTP sink; the customer page needs none). Prints how long writing
//! and sending took, the rate the provider saw, its busiest second, the progress the
//! incident showed, and the server's peak memory.
//!
//!     cargo build --release -p switchboard
//!     SWITCHBOARD_BIN=target/release/switchboard \
//!         cargo run --release -p e2e --example incident_fanout [telegram|sms|email|web] [conversations]
//!
//! Loopback only. It prints figures; it asserts nothing about time.

use e2e::pace::{busiest_second, closest_calls_to_one_chat};
use e2e::{
    ADMIN, App, FakeTelegram, FakeTwilio, SmtpSink, eventually, message_update, new_sid,
    new_user_id, sms_params, status_and_json, telegram_env, twilio_env, unique,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EMAIL_SECRET: &str = "relay-secret-0123456789";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let channel = args.next().unwrap_or_else(|| "telegram".into());
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let deadline = Duration::from_secs(3600);

    let telegram = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let sink = SmtpSink::start(&[]);
    let mut env: Vec<(&str, String)> = vec![
        ("SWITCHBOARD_LOG", "warn".into()),
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0".into()),
    ];
    match channel.as_str() {
        "telegram" => env.extend(telegram_env(&telegram)),
        "sms" => env.extend(twilio_env(&twilio)),
        "email" => env.extend([
            ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET.into()),
            ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test".into()),
            ("SWITCHBOARD_SMTP_URL", sink.url()),
            ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test".into()),
        ]),
        "web" => {}
        other => panic!("unknown channel {other}: telegram, sms, email or web"),
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = App::spawn_with(&env).await;
    let key = app.create_agent("Bench", "bench@support.example", ADMIN);
    let (status, _, raw) = status_and_json(
        app.put_json(
            &key,
            "/v1/surveys/settings",
            &json!({ "enabled": false, "quiet_days": 30 }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{raw}");

    // N customers, each with a question of their own (nothing bursts).
    let seeding = Instant::now();
    for n in 0..count {
        let text = format!("question {} from customer {n}", unique("q"));
        match channel.as_str() {
            "telegram" => {
                let n = i64::try_from(n).expect("a small number");
                app.deliver(&message_update(
                    n + 1,
                    new_user_id(),
                    n + 1,
                    json!({ "text": text, "date": chrono::Utc::now().timestamp() }),
                ))
                .await;
            }
            "sms" => {
                app.post_twilio(
                    "/webhooks/twilio/sms",
                    &sms_params(&new_sid("SM"), &format!("+1415{n:07}"), &text),
                )
                .await;
            }
            "email" => {
                app.relay_email(
                    EMAIL_SECRET,
                    &format!("customer{n}@mail.example"),
                    "A question",
                    &text,
                )
                .await;
            }
            _ => {
                app.submit(&[
                    ("name", "Sara"),
                    ("email", &format!("customer{n}@mail.example")),
                    ("message", &text),
                ])
                .await;
            }
        }
    }
    let ids: Vec<String> = eventually("every customer stored", deadline, async || {
        let all = app.list_all(&key, "/v1/conversations").await;
        (all.len() == count).then(|| {
            all.iter()
                .map(|c| c["id"].as_str().expect("an id").to_owned())
                .collect()
        })
    })
    .await;
    println!(
        "{channel}: {count} conversations stored in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    // One incident, every conversation linked by hand (no acknowledgements).
    let (status, incident, raw) = status_and_json(
        app.post_json(
            &key,
            "/v1/incidents",
            &json!({ "title": "Bench", "status_text": { "en": "We know." } }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    let id = incident["id"].as_str().expect("an id").to_owned();
    for conversation in &ids {
        let (status, _, raw) = status_and_json(
            app.post_json(
                &key,
                &format!("/v1/incidents/{id}/conversations"),
                &json!({ "conversation_id": conversation }),
            )
            .await,
        )
        .await;
        assert_eq!(status.as_u16(), 201, "{raw}");
    }

    let text = "Card payments work again; sorry for the wait.";
    let started = Instant::now();
    let (status, update, raw) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/incidents/{id}/updates"),
            &json!({ "text": text }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let update_id = update["id"].as_str().expect("an id").to_owned();
    let mut written = None;
    let progress: Value = eventually("the update out everywhere", deadline, async || {
        let view = app.get_ok(&key, &format!("/v1/incidents/{id}")).await;
        let p = view["updates"]
            .as_array()?
            .iter()
            .find(|u| u["id"] == update_id.as_str())?["progress"]
            .clone();
        if p["fanned_out"] == true && written.is_none() {
            written = Some(started.elapsed());
        }
        let settled = p["sent"].as_u64()? + p["failed"].as_u64()?;
        (p["fanned_out"] == true && settled == count as u64).then_some(p)
    })
    .await;
    let done = started.elapsed();
    println!(
        "{channel}: update written into {count} conversations in {:.1} s; all sent in {:.1} s ({:.0}/s); progress {progress}",
        written.unwrap_or(done).as_secs_f64(),
        done.as_secs_f64(),
        count as f64 / done.as_secs_f64()
    );
    match channel.as_str() {
        "telegram" => {
            let calls: Vec<_> = telegram
                .calls("sendMessage")
                .into_iter()
                .filter(|c| c.body["text"].as_str().is_some_and(|t| t.contains(text)))
                .collect();
            println!(
                "telegram: {} sendMessage calls, busiest second {} (limit 30), closest two to one chat {:?}",
                calls.len(),
                busiest_second(&calls),
                closest_calls_to_one_chat(&calls)
            );
        }
        "sms" => println!("sms: {} messages at the fake Twilio", twilio.sent().len()),
        "email" => println!("email: {} messages at the SMTP sink", sink.messages().len()),
        _ => {}
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.pid())).unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    println!("server peak memory: {}", peak.trim());
}
