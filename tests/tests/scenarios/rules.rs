//! Routing rules on the local binary: an admin writes them, the dry run says what they
//! would do, the router does exactly that to a real message (with the reasons on the
//! timeline), a service-level breach runs the escalation rules once, and rules on an
//! agent's change or a reopen run once for it, never on their own changes.

use e2e::{ADMIN, AGENT, App, DEADLINE, eventually, status_and_json, unique};
use serde_json::{Value, json};
use std::time::Duration;

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

async fn created(app: &App, key: &str, path: &str, body: Value) -> Value {
    let (status, value, text) = status_and_json(app.post_json(key, path, &body).await).await;
    assert_eq!(status.as_u16(), 201, "{path}: {text}");
    value
}

/// An agent in `team`, and their id.
async fn member(app: &App, admin: &str, name: &str, team: &str) -> String {
    let key = app.create_agent(name, &format!("{}@shop.example", unique(name)), AGENT);
    let id = app.get_ok(&key, "/v1/me").await["id"]
        .as_str()
        .expect("a string")
        .to_owned();
    let (status, _, text) = status_and_json(
        app.patch_json(
            admin,
            &format!("/v1/agents/{id}"),
            &json!({ "team_ids": [team] }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    id
}

/// Submits `message` and waits for its conversation, read in full.
async fn routed(app: &App, key: &str, message: &str) -> Value {
    app.submit(&[
        ("name", "Sara"),
        ("email", &format!("{}@bank.example", unique("rules"))),
        ("message", message),
    ])
    .await;
    eventually("the message routed", DEADLINE, async || {
        for c in app.all_conversations(key).await {
            if c["preview"] == message {
                let id = c["id"].as_str()?;
                return Some(app.get_ok(key, &format!("/v1/conversations/{id}")).await);
            }
        }
        None
    })
    .await
}

fn types(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .filter(|i| i["item"] == "event")
        .filter_map(|i| i["type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_persian_payment_message_goes_where_the_dry_run_said_with_its_reasons() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let payments = created(&app, &admin, "/v1/teams", json!({ "name": "Payments" })).await;
    let team = payments["id"].as_str().expect("a string").to_owned();
    let reza = member(&app, &admin, "Reza", &team).await;
    let calendar = created(
        &app,
        &admin,
        "/v1/calendars",
        json!({ "name": "Tehran", "hours": "sat-wed 09:00-17:00 Asia/Tehran" }),
    )
    .await;
    let policy = created(
        &app,
        &admin,
        "/v1/sla-policies",
        json!({ "name": "Payments", "calendar_id": calendar["id"], "teams": [team],
                "targets": { "high": { "first_response_secs": 3600 } } }),
    )
    .await;
    let rule = created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "Payment gateway",
            "trigger": "message_received",
            "conditions": [{ "if": "text_contains", "any_of": ["درگاه", "پرداخت"] }],
            "actions": [
                { "do": "set_team", "team_id": team },
                { "do": "set_priority", "priority": "high" },
                { "do": "add_tags", "tags": ["payments"] }
            ],
            "stop_processing": true
        }),
    )
    .await;
    // Written with an Arabic kaf and yeh, as many keyboards do.
    let message = "پرداخت انجام نشد و پول از حسابم كم شد، درگاه بانكي خطا داد";

    let (status, dry, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules/dry-run",
            &json!({ "channel": "web", "text": message }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(dry["applied"][0]["rule_id"], rule["id"], "{dry}");
    assert_eq!(dry["applied"].as_array().expect("a list").len(), 1);
    let said = &dry["conversation"];
    assert_eq!(said["team_id"], team.as_str());
    assert_eq!(said["priority"], "high");
    assert_eq!(said["tags"], json!(["payments"]));

    let c = routed(&app, &admin, message).await;
    assert_eq!(c["team_id"], said["team_id"], "as the dry run said: {c}");
    assert_eq!(c["priority"], said["priority"]);
    assert_eq!(c["tags"], said["tags"]);
    assert_eq!(c["assignee_id"], reza.as_str(), "given to the team's agent");
    let id = c["id"].as_str().expect("a string");
    let timeline = app.timeline(&admin, id).await;
    let applied = timeline
        .iter()
        .find(|i| i["type"] == "rule_applied")
        .expect("the rule is on the timeline");
    assert_eq!(applied["rule_id"], rule["id"]);
    assert_eq!(applied["rule_name"], "Payment gateway");
    let kinds = types(&timeline);
    let at = kinds
        .iter()
        .position(|k| k == "rule_applied")
        .expect("present");
    assert_eq!(
        kinds[at..at + 4],
        [
            "rule_applied",
            "team_changed",
            "priority_changed",
            "tags_changed"
        ],
        "the reasons, then what they changed: {kinds:?}"
    );
    // The team's policy measures it at its new priority.
    let sla = eventually("the conversation measured", DEADLINE, async || {
        let c = app.get_ok(&admin, &format!("/v1/conversations/{id}")).await;
        (!c["sla"].is_null()).then(|| c["sla"].clone())
    })
    .await;
    assert_eq!(sla["policy_id"], policy["id"], "{sla}");
    assert_eq!(sla["first_response"]["target_secs"], 3600);

    // A message about something else: no rule, no team.
    let other = routed(&app, &admin, "سلام، سفارشم کی می‌رسد؟").await;
    assert_eq!(other["team_id"], Value::Null, "{other}");
    assert_eq!(other["priority"], "normal");
    let other_id = other["id"].as_str().expect("a string");
    assert!(!types(&app.timeline(&admin, other_id).await).contains(&"rule_applied".to_owned()));
    let (_, dry, _) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules/dry-run",
            &json!({ "channel": "web", "text": "سلام، سفارشم کی می‌رسد؟" }),
        )
        .await,
    )
    .await;
    assert_eq!(dry["applied"], json!([]), "{dry}");
}

#[tokio::test]
async fn a_breach_runs_the_escalation_rule_once_and_it_gives_the_conversation_to_the_lead() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let lead_key = app.create_agent("Lead", "lead@shop.example", AGENT);
    let lead = app.get_ok(&lead_key, "/v1/me").await["id"]
        .as_str()
        .expect("a string")
        .to_owned();
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
            "conditions": [{ "if": "status", "any_of": ["open"] }],
            "actions": [
                { "do": "assign", "agent_id": lead },
                { "do": "set_priority", "priority": "urgent" },
                { "do": "add_tags", "tags": ["escalated"] }
            ]
        }),
    )
    .await;
    let c = routed(&app, &admin, "Nobody has answered me").await;
    let id = c["id"].as_str().expect("a string").to_owned();
    assert_eq!(c["priority"], "normal", "no rule runs on the message");

    let escalated = eventually("the escalation", Duration::from_secs(30), async || {
        let c = app.get_ok(&admin, &format!("/v1/conversations/{id}")).await;
        (c["assignee_id"] == lead.as_str()).then_some(c)
    })
    .await;
    assert_eq!(escalated["priority"], "urgent");
    assert_eq!(escalated["tags"], json!(["escalated"]));
    // The lead's own list has it.
    let mine = app
        .list_all(&lead_key, "/v1/conversations?assignee=me")
        .await;
    assert_eq!(mine.len(), 1);

    // More sweeps pass: the breach is told once and the rule ran once, though its own
    // change (a new priority) moved the clocks again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let kinds = types(&app.timeline(&admin, &id).await);
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("sla_breached"), 1, "{kinds:?}");
    assert_eq!(count("rule_applied"), 1, "{kinds:?}");
    let breach = kinds
        .iter()
        .position(|k| k == "sla_breached")
        .expect("present");
    assert_eq!(kinds[breach + 1], "rule_applied", "{kinds:?}");
}

#[tokio::test]
async fn only_admins_write_rules_and_a_rule_that_does_not_read_is_refused() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ali", "ali@shop.example", AGENT);
    let rule = |name: &str, position: i32| {
        json!({ "name": name, "position": position, "trigger": "message_received",
                "actions": [{ "do": "add_tags", "tags": ["seen"] }] })
    };
    let (status, _, _) =
        status_and_json(app.post_json(&agent, "/v1/rules", &rule("x", 0)).await).await;
    assert_eq!(status.as_u16(), 403);

    for (body, says) in [
        (
            json!({ "name": "x", "trigger": "message_received",
                    "actions": [{ "do": "set_team", "team_id": "tm_01jd8x3m6k9q0w5e2r7t4y1v3h" }] }),
            "no team",
        ),
        (
            json!({ "name": "x", "trigger": "message_received",
                    "conditions": [{ "if": "any", "of": [{ "if": "any", "of": [] }] }],
                    "actions": [{ "do": "add_tags", "tags": ["a"] }] }),
            "nests",
        ),
        (
            json!({ "name": "x", "trigger": "message_received", "actions": [] }),
            "actions",
        ),
    ] {
        let (status, _, text) =
            status_and_json(app.post_json(&admin, "/v1/rules", &body).await).await;
        assert_eq!(status.as_u16(), 422, "{text}");
        assert!(text.contains(says), "{says}: {text}");
    }

    let late = created(&app, &admin, "/v1/rules", rule("late", 5)).await;
    let early = created(&app, &admin, "/v1/rules", rule("early", -1)).await;
    let listed = app.get_ok(&agent, "/v1/rules").await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["early", "late"], "in the order they run");
    let late_id = late["id"].as_str().expect("a string");
    let (status, replaced, text) = status_and_json(
        app.request(
            &admin,
            reqwest::Method::PUT,
            &format!("/v1/rules/{late_id}"),
        )
        .json(
            &json!({ "name": "off", "enabled": false, "trigger": "message_received",
                           "actions": [{ "do": "add_tags", "tags": ["seen"] }] }),
        )
        .send()
        .await
        .expect("the server answers"),
    )
    .await;
    assert!(status.is_success(), "{text}");
    assert_eq!(replaced["enabled"], false);
    let early_id = early["id"].as_str().expect("a string");
    let (status, _, _) =
        status_and_json(app.delete(&admin, &format!("/v1/rules/{early_id}")).await).await;
    assert_eq!(status.as_u16(), 204);
    let (status, _, _) =
        status_and_json(app.delete(&admin, &format!("/v1/rules/{early_id}")).await).await;
    assert_eq!(status.as_u16(), 404);
}

#[tokio::test]
async fn rules_on_an_agents_change_run_once_and_never_on_what_rules_changed() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ali", "ali@shop.example", AGENT);
    // Two rules that would undo each other for ever if a rule's change triggered rules.
    for (name, from, to) in [("Up", "high", "urgent"), ("Down", "urgent", "high")] {
        created(
            &app,
            &admin,
            "/v1/rules",
            json!({
                "name": name,
                "trigger": "conversation_updated",
                "conditions": [{ "if": "priority", "any_of": [from] }],
                "actions": [
                    { "do": "set_priority", "priority": to },
                    { "do": "add_tags", "tags": ["reviewed"] }
                ]
            }),
        )
        .await;
    }
    let c = routed(&app, &admin, "The card reader is broken").await;
    let id = c["id"].as_str().expect("a string").to_owned();
    let patched = app
        .patch_json(
            &agent,
            &format!("/v1/conversations/{id}"),
            &json!({ "priority": "high" }),
        )
        .await;
    assert!(patched.status().is_success());
    let reviewed = eventually("the rules ran", DEADLINE, async || {
        let c = app.get_ok(&admin, &format!("/v1/conversations/{id}")).await;
        (c["tags"] == json!(["reviewed"])).then_some(c)
    })
    .await;
    // Up then Down, in one run: back to high.
    assert_eq!(reviewed["priority"], "high");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kinds = types(&app.timeline(&admin, &id).await);
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("rule_applied"), 2, "each rule once: {kinds:?}");
    assert_eq!(
        count("priority_changed"),
        3,
        "the agent's and each rule's: {kinds:?}"
    );
    assert_eq!(count("tags_changed"), 1, "{kinds:?}");
}

#[tokio::test]
async fn a_conversation_that_wakes_from_its_snooze_runs_the_reopen_rules() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "Back on top",
            "trigger": "reopened",
            "actions": [
                { "do": "set_priority", "priority": "high" },
                { "do": "add_tags", "tags": ["follow-up"] }
            ]
        }),
    )
    .await;
    let c = routed(&app, &admin, "Call me back tomorrow").await;
    let id = c["id"].as_str().expect("a string").to_owned();
    let until = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let snoozed = app
        .patch_json(
            &admin,
            &format!("/v1/conversations/{id}"),
            &json!({ "status": "snoozed", "snoozed_until": until }),
        )
        .await;
    assert!(snoozed.status().is_success());
    // The sweeper wakes it (every 5 s); the reopen rule runs on that.
    let woken = eventually("woken and raised", Duration::from_secs(30), async || {
        let c = app.get_ok(&admin, &format!("/v1/conversations/{id}")).await;
        (c["status"] == "open" && c["priority"] == "high").then_some(c)
    })
    .await;
    assert_eq!(woken["tags"], json!(["follow-up"]));
    let kinds = types(&app.timeline(&admin, &id).await);
    let applied = kinds
        .iter()
        .rposition(|k| k == "rule_applied")
        .expect("applied");
    let woke = kinds
        .iter()
        .rposition(|k| k == "status_changed")
        .expect("woken");
    assert!(woke < applied, "the reason follows the wake: {kinds:?}");
}

#[tokio::test]
async fn a_rule_answers_with_a_canned_reply_filled_in_for_the_customer() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let canned = created(
        &app,
        &admin,
        "/v1/canned-replies",
        json!({ "short_code": "ack", "title": "We got it",
                "text": "Thanks {{contact.name}}, we got your message ({{conversation.id}})." }),
    )
    .await;
    let canned_id = canned["id"].as_str().expect("an id").to_owned();
    let rule = created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "Acknowledge",
            "trigger": "message_received",
            "conditions": [{ "if": "new_conversation", "is": true }],
            "actions": [{ "do": "send_canned", "canned_reply_id": canned_id }]
        }),
    )
    .await;
    app.submit(&[
        ("name", "Sara"),
        ("email", &format!("{}@bank.example", unique("ack"))),
        ("message", "Where is my parcel?"),
    ])
    .await;
    // The answer is the conversation's latest message: find it by being the only one.
    let c = eventually("the message routed", DEADLINE, async || {
        app.all_conversations(&admin).await.into_iter().next()
    })
    .await;
    let id = c["id"].as_str().expect("a string").to_owned();
    let answer = eventually("the answer", DEADLINE, async || {
        app.messages(&admin, &id)
            .await
            .into_iter()
            .find(|m| m["direction"] == "outbound")
    })
    .await;
    assert_eq!(
        answer["text"],
        format!("Thanks Sara, we got your message ({id})."),
        "{answer}"
    );
    assert_eq!(answer["author"]["type"], "system", "{answer}");

    // The reply a rule sends cannot go while the rule does; a breach rule sends none.
    let (status, problem, _) = status_and_json(
        app.delete(&admin, &format!("/v1/canned-replies/{canned_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("rule Acknowledge"),
        "{problem}"
    );
    let (status, problem, _) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({ "name": "late", "trigger": "sla_breached",
                     "actions": [{ "do": "send_canned", "canned_reply_id": canned_id }] }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{problem}");
    let rule_id = rule["id"].as_str().expect("an id");
    let deleted = app.delete(&admin, &format!("/v1/rules/{rule_id}")).await;
    assert!(deleted.status().is_success());
    let deleted = app
        .delete(&admin, &format!("/v1/canned-replies/{canned_id}"))
        .await;
    assert!(deleted.status().is_success());
}

#[tokio::test]
async fn a_conversation_left_unanswered_is_escalated_once_by_an_idle_rule() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({
                "name": "Unanswered for a minute", "trigger": "idle",
                "conditions": [{ "if": "waiting", "is": true }],
                "actions": [{ "do": "set_priority", "priority": "urgent" }]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "an idle rule names its spell: {text}");
    assert!(text.contains("idle_minutes"), "{text}");
    let rule = created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "Unanswered for a minute", "trigger": "idle", "idle_minutes": 1,
            "conditions": [{ "if": "waiting", "is": true }],
            "actions": [{ "do": "set_priority", "priority": "urgent" },
                        { "do": "add_note", "text": "Waiting over a minute" }]
        }),
    )
    .await;
    assert_eq!(rule["idle_minutes"], 1);

    let unanswered = routed(&app, &admin, "Is anyone there?").await;
    let answered = routed(&app, &admin, "Where is order 12?").await;
    let answered_id = answered["id"].as_str().expect("an id");
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            &format!("/v1/conversations/{answered_id}/replies"),
            &json!({ "text": "It left today" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");

    let id = unanswered["id"].as_str().expect("an id");
    let path = format!("/v1/conversations/{id}");
    let escalated = eventually("the idle rule", Duration::from_secs(100), async || {
        let c = app.get_ok(&admin, &path).await;
        (c["priority"] == "urgent").then_some(c)
    })
    .await;
    assert_eq!(escalated["priority"], "urgent");
    // A few more sweeps: the rule ran once for the spell, and not on the answered one.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let kinds = types(&app.timeline(&admin, id).await);
    assert_eq!(
        kinds.iter().filter(|k| *k == "rule_applied").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"rule_note".to_owned()), "{kinds:?}");
    let other = app
        .get_ok(&admin, &format!("/v1/conversations/{answered_id}"))
        .await;
    assert_eq!(
        other["priority"], "normal",
        "answered: not waiting ({other})"
    );
}

#[tokio::test]
async fn an_agent_marks_a_customer_vip_and_their_next_message_is_urgent() {
    let fake = e2e::FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ana", "ana@shop.example", AGENT);
    let customer = e2e::new_user_id();
    app.deliver(&e2e::text_update(1, customer, 1, "Hello, my order?"))
        .await;
    let first = eventually("the first message", DEADLINE, async || {
        app.all_conversations(&agent)
            .await
            .into_iter()
            .find(|c| c["preview"] == "Hello, my order?")
    })
    .await;
    let contact = first["contact_id"].as_str().expect("a contact");
    let path = format!("/v1/contacts/{contact}");

    let (status, _, text) = status_and_json(
        app.patch_json(&agent, &path, &json!({ "tags": ["no spaces"] }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");
    let (status, _, text) = status_and_json(
        app.patch_json(
            &agent,
            "/v1/contacts/ct_01KBQ8Z6Y7N000000000000000",
            &json!({ "vip": true }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 404, "{text}");
    let (status, marked, text) = status_and_json(
        app.patch_json(
            &agent,
            &path,
            &json!({ "vip": true, "tags": ["Wholesale", "wholesale"] }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(marked["vip"], true);
    assert_eq!(marked["tags"], json!(["wholesale"]));
    let read = app.get_ok(&agent, &path).await;
    assert_eq!(
        (read["vip"].clone(), read["tags"].clone()),
        (json!(true), json!(["wholesale"]))
    );

    created(
        &app,
        &admin,
        "/v1/rules",
        json!({
            "name": "VIPs first", "trigger": "message_received",
            "conditions": [{ "if": "vip", "is": true }],
            "actions": [{ "do": "set_priority", "priority": "urgent" }]
        }),
    )
    .await;
    let said = app
        .post_json(
            &admin,
            "/v1/rules/dry-run",
            &json!({ "channel": "telegram", "text": "hi", "vip": true }),
        )
        .await;
    let (status, said, text) = status_and_json(said).await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(said["conversation"]["priority"], "urgent", "{said}");

    // The router reads the rules at most a second old.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.deliver(&e2e::text_update(2, customer, 2, "Any news?"))
        .await;
    let id = first["id"].as_str().expect("an id");
    let c = eventually("the VIP rule", DEADLINE, async || {
        let c = app.get_ok(&agent, &format!("/v1/conversations/{id}")).await;
        (c["message_count"] == 2).then_some(c)
    })
    .await;
    assert_eq!(c["priority"], "urgent", "{c}");
}
