//! Agents told on Telegram, on the local binary against the fake Bot API: an agent links
//! their chat with a one-time code; a breach escalated by rule reaches the team lead
//! there, without the customer's words; several things at once come as one digest; what
//! an agent turned off stays quiet; an agent who chose email is told by email.

use e2e::{ADMIN, AGENT, App, DEADLINE, FakeTelegram, eventually, new_user_id, status_and_json};
use e2e::{SmtpSink, header, text_update, unique};
use serde_json::{Value, json};
use std::time::Duration;

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");
/// A pass every second: what one second brings comes as one message.
const EVERY_SECOND: (&str, &str) = ("SWITCHBOARD_NOTIFY_EVERY_SECS", "1");
const BREACH_DEADLINE: Duration = Duration::from_secs(30);

/// The texts the bot sent to `chat`, oldest first.
fn told(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"] == chat)
        .filter_map(|c| c.body["text"].as_str().map(str::to_owned))
        .collect()
}

async fn told_eventually(fake: &FakeTelegram, chat: i64, what: &str, wanted: &str) -> String {
    eventually(what, BREACH_DEADLINE, async || {
        told(fake, chat).into_iter().find(|t| t.contains(wanted))
    })
    .await
}

async fn created(app: &App, key: &str, path: &str, body: Value) -> Value {
    let (status, value, text) = status_and_json(app.post_json(key, path, &body).await).await;
    assert_eq!(status.as_u16(), 201, "{path}: {text}");
    value
}

async fn id_of(app: &App, key: &str) -> String {
    app.get_ok(key, "/v1/me").await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// Links the agent's Telegram chat (`chat`) as they would: a code, sent to the bot.
async fn link(app: &App, fake: &FakeTelegram, key: &str, chat: i64, update_id: i64) {
    let started = created(app, key, "/v1/me/notifications/telegram", json!(null)).await;
    let command = started["command"].as_str().expect("a command");
    assert_eq!(
        command,
        format!("/start {}", started["code"].as_str().expect("a code"))
    );
    app.deliver(&text_update(update_id, chat, update_id, command))
        .await;
    told_eventually(fake, chat, "the link confirmed", "Linked").await;
}

#[tokio::test]
async fn a_linked_lead_hears_of_the_breach_the_rule_gives_them_without_the_customers_words() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[UNLIMITED, EVERY_SECOND]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let lead_key = app.create_agent("Leila Lead", "leila@shop.example", AGENT);
    let lead = id_of(&app, &lead_key).await;

    // Leila links her chat; the code is not a customer's message.
    let lead_chat = new_user_id();
    let before = app.get_ok(&lead_key, "/v1/me/notifications").await;
    assert_eq!(before["telegram_linked_at"], Value::Null, "{before}");
    assert_eq!(before["prefs"]["assigned"], true);
    link(&app, &fake, &lead_key, lead_chat, 1).await;
    let after = app.get_ok(&lead_key, "/v1/me/notifications").await;
    assert!(after["telegram_linked_at"].is_string(), "{after}");
    assert_eq!(
        after["link_code_expires_at"],
        Value::Null,
        "the code is used up"
    );

    // Someone else guesses at a code for her: refused, and told so; her chat stays.
    let stranger = new_user_id();
    let guess = format!("/start {lead}-{}", "a".repeat(24));
    app.deliver(&text_update(2, stranger, 2, &guess)).await;
    told_eventually(&fake, stranger, "the guess refused", "not valid").await;
    assert!(
        app.all_conversations(&admin).await.is_empty(),
        "neither code became a conversation"
    );

    created(
        &app,
        &admin,
        "/v1/sla-policies",
        json!({ "name": "Fast", "targets": { "normal": { "first_response_secs": 2 } } }),
    )
    .await;
    created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "Escalate to the lead",
            "trigger": "sla_breached",
            "actions": [{ "do": "assign", "agent_id": lead }, { "do": "set_priority", "priority": "high" }]
        }),
    )
    .await;
    let secret = "my card is 6037-9975-1234-5678";
    let email = format!("{}@example.ir", unique("notify"));
    app.submit(&[("name", "Sara"), ("email", &email), ("message", secret)])
        .await;
    let escalated = eventually("the escalation", BREACH_DEADLINE, async || {
        app.all_conversations(&admin)
            .await
            .into_iter()
            .find(|c| c["assignee_id"] == lead.as_str())
    })
    .await;
    let id = escalated["id"].as_str().expect("an id");

    let assigned = told_eventually(&fake, lead_chat, "the lead told", id).await;
    let all = told(&fake, lead_chat).join("\n");
    assert!(
        all.contains(&format!("Assigned to you: {id}")),
        "assigned: {all}"
    );
    for private in [secret, "6037", email.as_str(), "Sara"] {
        assert!(!all.contains(private), "{private} in a notification: {all}");
    }
    assert!(assigned.starts_with("Switchboard"), "{assigned}");
}

#[tokio::test]
async fn several_things_at_once_are_one_digest_and_what_an_agent_turned_off_stays_quiet() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app =
        App::spawn_with_telegram(&fake, &[UNLIMITED, ("SWITCHBOARD_NOTIFY_EVERY_SECS", "3")]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let ana_key = app.create_agent("Ana Lima", "ana@shop.example", AGENT);
    let ana = id_of(&app, &ana_key).await;
    let chat = new_user_id();
    link(&app, &fake, &ana_key, chat, 1).await;
    // Nobody takes the new conversations as they come: only the admin assigns them.
    for key in [&admin, &ana_key] {
        let away = app
            .patch_json(key, "/v1/me", &json!({ "availability": "away" }))
            .await;
        assert!(away.status().is_success());
    }
    for n in 0..3 {
        app.submit(&[
            ("name", "Sara"),
            ("email", &format!("{}@example.ir", unique("digest"))),
            ("message", &format!("order {n} is late")),
        ])
        .await;
    }
    let conversations = eventually("three conversations", DEADLINE, async || {
        let all = app.all_conversations(&admin).await;
        (all.len() == 3).then_some(all)
    })
    .await;
    assert!(
        conversations.iter().all(|c| c["assignee_id"].is_null()),
        "{conversations:?}"
    );
    let ids: Vec<String> = conversations
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect();
    let linked_at = told(&fake, chat).len();
    for id in &ids {
        let response = app
            .patch_json(
                &admin,
                &format!("/v1/conversations/{id}"),
                &json!({ "assignee_id": ana }),
            )
            .await;
        assert!(response.status().is_success());
    }
    let texts = eventually("every assignment told", DEADLINE, async || {
        let texts = told(&fake, chat)[linked_at..].to_vec();
        let joined = texts.join("\n");
        ids.iter().all(|id| joined.contains(id)).then_some(texts)
    })
    .await;
    // Three assignments in well under one pass: one message, or two if a pass fell
    // between them; never one each.
    assert!(texts.len() <= 2, "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("updates")),
        "a digest: {texts:?}"
    );

    // Ana turns assignments off; a mention in a note still reaches her, the assignment
    // made with it does not.
    let (status, prefs, text) = status_and_json(
        app.put_json(
            &ana_key,
            "/v1/me/notifications",
            &json!({ "assigned": false, "messages": true, "sla": true, "mentions": true }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(prefs["prefs"]["assigned"], false);
    app.submit(&[
        ("name", "Reza"),
        ("email", &format!("{}@example.ir", unique("quiet"))),
        ("message", "one more"),
    ])
    .await;
    let fourth = eventually("a fourth conversation", DEADLINE, async || {
        app.all_conversations(&admin)
            .await
            .into_iter()
            .find(|c| !ids.contains(&c["id"].as_str().unwrap_or_default().to_owned()))
    })
    .await;
    let fourth = fourth["id"].as_str().expect("an id").to_owned();
    let seen = told(&fake, chat).len();
    app.patch_json(
        &admin,
        &format!("/v1/conversations/{fourth}"),
        &json!({ "assignee_id": ana }),
    )
    .await;
    created(
        &app,
        &admin,
        &format!("/v1/conversations/{fourth}/notes"),
        json!({ "text": "@ana can you call her back?" }),
    )
    .await;
    let mention = told_eventually(&fake, chat, "the mention told", "mentioned you").await;
    assert!(mention.contains("Root mentioned you"), "{mention}");
    let since = told(&fake, chat)[seen..].join("\n");
    assert!(!since.contains("Assigned to you"), "{since}");

    // Unlinked, she hears nothing more, and an old code links nothing.
    let (status, unlinked, _) =
        status_and_json(app.delete(&ana_key, "/v1/me/notifications/telegram").await).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(unlinked["telegram_linked_at"], Value::Null);
}

#[tokio::test]
async fn an_agent_who_chose_email_is_told_by_email_and_only_them() {
    let sink = SmtpSink::start(&[]);
    let app = App::spawn_with(&[
        UNLIMITED,
        EVERY_SECOND,
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
        ("SWITCHBOARD_EMAIL_FROM_NAME", "Acme Support"),
    ])
    .await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let ana_key = app.create_agent("Ana", "ana@shop.example", AGENT);
    let ana = id_of(&app, &ana_key).await;
    let bo_key = app.create_agent("Bo", "bo@shop.example", AGENT);
    let bo = id_of(&app, &bo_key).await;
    let (status, prefs, text) = status_and_json(
        app.put_json(
            &ana_key,
            "/v1/me/notifications",
            &json!({ "assigned": true, "messages": true, "sla": true, "mentions": true, "email": true }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(prefs["prefs"]["email"], true);
    let before = app.get_ok(&bo_key, "/v1/me/notifications").await;
    assert_eq!(before["prefs"]["email"], false, "chosen, never assumed");

    let secret = "my passport number is K1234567";
    app.submit(&[
        ("name", "Sara"),
        ("email", &format!("{}@example.ir", unique("mailnote"))),
        ("message", secret),
    ])
    .await;
    let c = eventually("the conversation", DEADLINE, async || {
        app.all_conversations(&admin).await.into_iter().next()
    })
    .await;
    let id = c["id"].as_str().expect("an id").to_owned();
    for agent in [&ana, &bo] {
        let response = app
            .patch_json(
                &admin,
                &format!("/v1/conversations/{id}"),
                &json!({ "assignee_id": agent }),
            )
            .await;
        assert!(response.status().is_success());
    }
    let mail = eventually("Ana emailed", BREACH_DEADLINE, async || {
        sink.messages().into_iter().find(|m| {
            header(m, "To").is_some_and(|to| to.contains("ana@shop.example"))
                && String::from_utf8_lossy(m).contains(&id)
        })
    })
    .await;
    let raw = String::from_utf8_lossy(&mail).to_string();
    assert_eq!(
        header(&mail, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        header(&mail, "From").is_some_and(|f| f.contains("support@switchboard.test")),
        "{raw}"
    );
    assert!(
        header(&mail, "Subject").is_some_and(|s| s.starts_with("Switchboard")),
        "{raw}"
    );
    assert!(!raw.contains("K1234567"), "no customer words: {raw}");
    // Bo chose no email: none reaches him.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| header(m, "To").is_some_and(|to| to.contains("bo@shop.example"))),
        "Bo was emailed"
    );
}

#[tokio::test]
async fn a_rule_leaves_a_note_calls_an_agent_who_hears_nothing_else_and_sets_the_policy() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[UNLIMITED, EVERY_SECOND]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let nima_key = app.create_agent("Nima", "nima@shop.example", AGENT);
    let nima = id_of(&app, &nima_key).await;
    let chat = new_user_id();
    link(&app, &fake, &nima_key, chat, 1).await;
    // Nima turned every notice off: a rule that names him is told all the same.
    let quiet = json!({ "assigned": false, "messages": false, "sla": false, "mentions": false });
    let (status, _, text) = status_and_json(
        app.put_json(&nima_key, "/v1/me/notifications", &quiet)
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");

    created(
        &app,
        &admin,
        "/v1/sla-policies",
        json!({ "name": "Everyone", "targets": { "normal": { "first_response_secs": 86400 } } }),
    )
    .await;
    let gateway = created(
        &app,
        &admin,
        "/v1/sla-policies",
        json!({ "name": "Gateway outage", "targets": { "normal": { "first_response_secs": 600 } } }),
    )
    .await;
    let note = "Bank gateway outage: answer with the status page.";
    let rule = |policy: &Value| {
        json!({
            "name": "Gateway down",
            "trigger": "message_received",
            "conditions": [{ "if": "text_contains", "any_of": ["درگاه"] }],
            "actions": [
                { "do": "add_note", "text": note },
                { "do": "notify_agents", "agent_ids": [nima] },
                { "do": "apply_sla_policy", "sla_policy_id": policy["id"] },
            ]
        })
    };
    // What it names must exist.
    let missing = json!({ "id": "sla_01KBQ8Z6Y7N000000000000000" });
    let (status, _, text) =
        status_and_json(app.post_json(&admin, "/v1/rules", &rule(&missing)).await).await;
    assert_eq!(status.as_u16(), 422, "{text}");
    assert!(text.contains("no SLA policy"), "{text}");
    created(&app, &admin, "/v1/rules", rule(&gateway)).await;

    let message = "درگاه پرداخت کار نمی‌کند";
    let email = format!("{}@example.ir", unique("called"));
    app.submit(&[("name", "Sara"), ("email", &email), ("message", message)])
        .await;
    let c = eventually("the gateway policy applied", DEADLINE, async || {
        for c in app.all_conversations(&admin).await {
            if c["preview"] == message && c["sla"]["policy_name"] == "Gateway outage" {
                return Some(c);
            }
        }
        None
    })
    .await;
    assert_eq!(c["sla"]["first_response"]["target_secs"], 600, "{c}");
    let id = c["id"].as_str().expect("an id");

    let timeline = app.timeline(&admin, id).await;
    let noted = timeline
        .iter()
        .find(|i| i["type"] == "rule_note")
        .expect("the rule's note is on the timeline");
    assert_eq!(noted["text"], note);
    let called = timeline
        .iter()
        .find(|i| i["type"] == "agents_called")
        .expect("the call is on the timeline");
    assert_eq!(called["agent_ids"], json!([nima]));

    let said = told_eventually(&fake, chat, "Nima called", id).await;
    assert!(said.contains("Rule «Gateway down» calls you"), "{said}");
    for private in [message, email.as_str(), "Sara"] {
        assert!(
            !said.contains(private),
            "{private} in a notification: {said}"
        );
    }
}
