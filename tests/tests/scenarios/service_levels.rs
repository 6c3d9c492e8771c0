//! Service levels on the local binary: an admin sets calendars and policies; the keeper
//! measures each conversation a policy covers; a breach is told once on the timeline and
//! in the event log; the list filters and sorts by due time.

use e2e::{ADMIN, AGENT, App, DEADLINE, eventually, status_and_json, unique};
use serde_json::{Value, json};
use std::time::Duration;

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

/// A breach is told by the sweeper (every 5 s) once the keeper has seen the message.
const BREACH_DEADLINE: Duration = Duration::from_secs(30);

async fn created(app: &App, key: &str, path: &str, body: Value) -> Value {
    let (status, value, text) = status_and_json(app.post_json(key, path, &body).await).await;
    assert_eq!(status.as_u16(), 201, "{path}: {text}");
    value
}

/// Submits `message` on the web form and waits until it is routed and measured.
async fn measured(app: &App, key: &str, message: &str) -> Value {
    app.submit(&[
        ("name", "Sara"),
        ("email", &format!("{}@example.ir", unique("sla"))),
        ("message", message),
    ])
    .await;
    eventually("the conversation measured", DEADLINE, async || {
        for c in app.all_conversations(key).await {
            if c["preview"] == message && !c["sla"].is_null() {
                return Some(c);
            }
        }
        None
    })
    .await
}

async fn conversation(app: &App, key: &str, id: &str) -> Value {
    app.get_ok(key, &format!("/v1/conversations/{id}")).await
}

fn ids(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(|c| c["id"].as_str()).collect()
}

#[tokio::test]
async fn a_raised_priority_breaches_its_short_target_and_the_breach_is_told_once() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@shop.example", ADMIN);
    let tehran = created(
        &app,
        &key,
        "/v1/calendars",
        json!({ "name": "Tehran, every day", "hours": "sat-fri 00:00-24:00 Asia/Tehran",
                "holidays": ["2027-03-21"] }),
    )
    .await;
    let policy = created(
        &app,
        &key,
        "/v1/sla-policies",
        json!({
            "name": "Web",
            "calendar_id": tehran["id"],
            "channels": ["web"],
            "targets": {
                "normal": { "first_response_secs": 3600, "resolution_secs": 86400 },
                "urgent": { "first_response_secs": 2 }
            }
        }),
    )
    .await;

    let start = app.get_ok(&key, "/v1/events").await["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let c = measured(&app, &key, "درگاه پرداخت کار نمی‌کند").await;
    let id = c["id"].as_str().expect("a string").to_owned();
    let sla = &c["sla"];
    assert_eq!(sla["policy_id"], policy["id"], "{sla}");
    assert_eq!(sla["priority"], "normal");
    assert_eq!(sla["urgency"], "ok");
    assert_eq!(sla["first_response"]["state"], "running", "{sla}");
    assert_eq!(sla["first_response"]["target_secs"], 3600);
    assert_eq!(sla["resolution"]["state"], "running");
    assert_eq!(sla["next_response"]["state"], "none");
    assert_eq!(sla["due_at"], sla["first_response"]["due_at"]);
    let due = app.list_all(&key, "/v1/conversations?sort=due").await;
    assert_eq!(ids(&due), [id.as_str()]);
    assert!(
        app.list_all(&key, "/v1/conversations?sla=breached")
            .await
            .is_empty()
    );

    // Urgent allows two seconds: spent already, or soon.
    let (status, _, text) = status_and_json(
        app.patch_json(
            &key,
            &format!("/v1/conversations/{id}"),
            &json!({ "priority": "urgent" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    let breach = eventually("the breach told", BREACH_DEADLINE, async || {
        app.timeline(&key, &id)
            .await
            .into_iter()
            .find(|i| i["type"] == "sla_breached")
    })
    .await;
    assert_eq!(breach["target"], "first_response", "{breach}");
    let now = conversation(&app, &key, &id).await;
    assert_eq!(now["sla"]["urgency"], "breached", "{now}");
    assert_eq!(now["sla"]["first_response"]["state"], "breached");
    assert_eq!(now["sla"]["first_response"]["target_secs"], 2);
    // Urgent sets no resolution target: that clock stopped.
    assert_eq!(now["sla"]["resolution"]["state"], "none");
    let breached = app.list_all(&key, "/v1/conversations?sla=breached").await;
    assert_eq!(ids(&breached), [id.as_str()]);

    // The event log tells it once, however many sweeps pass.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let told: Vec<Value> = app
        .timeline(&key, &id)
        .await
        .into_iter()
        .filter(|i| i["type"] == "sla_breached")
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let events = app
        .get_ok(&key, &format!("/v1/events?after={start}&limit=100"))
        .await;
    let logged: Vec<&Value> = events["events"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["type"] == "conversation.sla_breached")
        .collect();
    assert_eq!(logged.len(), 1, "{events}");
    assert_eq!(logged[0]["conversation_id"], id.as_str());

    // The reply comes late: the target stays breached, and nothing is owed any more.
    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{id}/replies"),
            &json!({ "text": "سلام، در حال بررسی هستیم" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    let answered = eventually("the reply measured", DEADLINE, async || {
        let c = conversation(&app, &key, &id).await;
        c["sla"]["due_at"].is_null().then_some(c)
    })
    .await;
    assert_eq!(answered["sla"]["first_response"]["state"], "breached");
    assert!(
        app.list_all(&key, "/v1/conversations?sla=breached")
            .await
            .is_empty()
    );
    assert!(
        app.list_all(&key, "/v1/conversations?sort=due")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_reply_in_time_meets_the_first_response_and_a_resolve_stops_the_clocks() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@shop.example", ADMIN);
    created(
        &app,
        &key,
        "/v1/sla-policies",
        json!({
            "name": "Everyone",
            "targets": { "normal": {
                "first_response_secs": 3600, "next_response_secs": 1800, "resolution_secs": 7200
            } }
        }),
    )
    .await;
    let first = measured(&app, &key, "Where is my order?").await;
    let second = measured(&app, &key, "My card was charged twice").await;
    let (a, b) = (
        first["id"].as_str().expect("a string"),
        second["id"].as_str().expect("a string"),
    );
    // Soonest due first: the first message's hour runs out first.
    let due = app.list_all(&key, "/v1/conversations?sort=due").await;
    assert_eq!(ids(&due), [a, b]);
    let page = app.get_ok(&key, "/v1/conversations?sort=due&limit=1").await;
    assert_eq!(ids(page["items"].as_array().expect("a list")), [a]);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    let rest = app
        .get_ok(
            &key,
            &format!("/v1/conversations?sort=due&limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(ids(rest["items"].as_array().expect("a list")), [b]);

    app.post_json(
        &key,
        &format!("/v1/conversations/{a}/replies"),
        &json!({ "text": "It ships today" }),
    )
    .await;
    let met = eventually("the reply measured", DEADLINE, async || {
        let c = conversation(&app, &key, a).await;
        (c["sla"]["first_response"]["state"] == "met").then_some(c)
    })
    .await;
    assert!(met["sla"]["first_response"]["done_at"].is_string(), "{met}");
    assert_eq!(met["sla"]["resolution"]["state"], "running");
    // Only the resolution is owed now, two hours from the first message: b comes first.
    let due = app.list_all(&key, "/v1/conversations?sort=due").await;
    assert_eq!(ids(&due), [b, a]);

    app.patch_json(
        &key,
        &format!("/v1/conversations/{a}"),
        &json!({ "status": "resolved" }),
    )
    .await;
    let resolved = eventually("the resolve measured", DEADLINE, async || {
        let c = conversation(&app, &key, a).await;
        (c["sla"]["resolution"]["state"] == "met").then_some(c)
    })
    .await;
    assert_eq!(resolved["sla"]["next_response"]["state"], "none");
    assert!(resolved["sla"]["due_at"].is_null(), "{resolved}");
    let due = app
        .list_all(&key, "/v1/conversations?sort=due&status=all")
        .await;
    assert_eq!(ids(&due), [b], "a resolved conversation owes nothing");
}

#[tokio::test]
async fn only_admins_set_service_levels_and_what_does_not_read_is_refused() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ali", "ali@shop.example", AGENT);
    let calendar = json!({ "name": "Office", "hours": "sat-wed 09:00-17:00 Asia/Tehran" });

    let (status, _, _) =
        status_and_json(app.post_json(&agent, "/v1/calendars", &calendar).await).await;
    assert_eq!(status.as_u16(), 403);
    let office = created(&app, &admin, "/v1/calendars", calendar.clone()).await;
    // Agents may read them.
    let list = app.get_ok(&agent, "/v1/calendars").await;
    assert_eq!(list["items"][0]["id"], office["id"]);

    for (body, says) in [
        (
            json!({ "name": "Office", "hours": "sat-wed 09:00-17:00 Mars/Olympus" }),
            "time zone",
        ),
        (
            json!({ "name": "Office", "hours": "someday 9-5" }),
            "business hours",
        ),
    ] {
        let (status, problem, text) =
            status_and_json(app.post_json(&admin, "/v1/calendars", &body).await).await;
        assert_eq!(status.as_u16(), 422, "{text}");
        assert!(
            problem["detail"].as_str().expect("a string").contains(says),
            "{text}"
        );
    }
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/sla-policies",
            &json!({ "name": "Nothing", "targets": {} }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");
    assert!(text.contains("at least one target"), "{text}");
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/sla-policies",
            &json!({ "name": "Lost", "calendar_id": "cal_01jd8x3m6k9q0w5e2r7t4y1v3h",
                     "targets": { "high": { "first_response_secs": 60 } } }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");

    let policy = created(
        &app,
        &admin,
        "/v1/sla-policies",
        json!({ "name": "Office hours", "calendar_id": office["id"],
                "targets": { "high": { "first_response_secs": 3600 } } }),
    )
    .await;
    let office_id = office["id"].as_str().expect("a string");
    let (status, _, text) = status_and_json(
        app.delete(&admin, &format!("/v1/calendars/{office_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 409, "a policy counts in it: {text}");
    assert!(text.contains("Office hours"), "{text}");
    let policy_id = policy["id"].as_str().expect("a string");
    let (status, replaced, text) = status_and_json(
        app.request(
            &admin,
            reqwest::Method::PUT,
            &format!("/v1/sla-policies/{policy_id}"),
        )
        .json(&json!({ "name": "Around the clock",
                           "targets": { "high": { "first_response_secs": 1800 } } }))
        .send()
        .await
        .expect("the server answers"),
    )
    .await;
    assert!(status.is_success(), "{text}");
    assert_eq!(replaced["calendar_id"], Value::Null);
    let (status, _, _) = status_and_json(
        app.delete(&admin, &format!("/v1/calendars/{office_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 204);
    let (status, _, _) = status_and_json(
        app.delete(&admin, &format!("/v1/sla-policies/{policy_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 204);
    let (status, _, _) = status_and_json(
        app.delete(&admin, &format!("/v1/sla-policies/{policy_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 404);
}

#[tokio::test]
async fn a_target_running_out_is_told_due_soon_before_it_is_breached_and_rules_run_on_both() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@shop.example", ADMIN);
    created(
        &app,
        &key,
        "/v1/sla-policies",
        json!({ "name": "Forty seconds", "channels": ["web"],
                "targets": { "normal": { "first_response_secs": 40 } } }),
    )
    .await;
    for (trigger, tag) in [("sla_due_soon", "hurry"), ("sla_breached", "late")] {
        created(
            &app,
            &key,
            "/v1/rules",
            json!({ "name": tag, "trigger": trigger,
                    "actions": [{ "do": "add_tags", "tags": [tag] }] }),
        )
        .await;
    }
    let c = measured(&app, &key, "Is anyone there?").await;
    let id = c["id"].as_str().expect("a string").to_owned();
    // Ten seconds left (a quarter of forty): two sweeps fall in that window.
    let warned = eventually("told due soon", Duration::from_secs(45), async || {
        let now = conversation(&app, &key, &id).await;
        now["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("hurry")))
            .then_some(now)
    })
    .await;
    assert_eq!(warned["sla"]["urgency"], "due_soon", "{warned}");
    let late = eventually("told breached", Duration::from_secs(45), async || {
        let now = conversation(&app, &key, &id).await;
        now["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("late")))
            .then_some(now)
    })
    .await;
    assert_eq!(late["sla"]["urgency"], "breached");
    let kinds: Vec<String> = app
        .timeline(&key, &id)
        .await
        .iter()
        .filter(|i| i["item"] == "event")
        .filter_map(|i| i["type"].as_str().map(str::to_owned))
        .collect();
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("sla_due_soon"), 1, "{kinds:?}");
    assert_eq!(count("sla_breached"), 1, "{kinds:?}");
    let soon = kinds.iter().position(|k| k == "sla_due_soon");
    let breached = kinds.iter().position(|k| k == "sla_breached");
    assert!(soon < breached, "{kinds:?}");
}

#[tokio::test]
async fn nowruz_is_entered_in_the_solar_hijri_calendar_and_shown_so_in_persian() {
    let app = App::spawn_with(&[]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/calendars",
            &json!({ "name": "Tehran", "hours": "sat-wed 09:00-17:00 Asia/Tehran",
                     "holidays": ["1404-12-30"] }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "1404 has no 30 Esfand: {text}");
    assert!(text.contains("Solar Hijri"), "{text}");
    let calendar = created(
        &app,
        &admin,
        "/v1/calendars",
        json!({ "name": "Tehran", "hours": "sat-wed 09:00-17:00 Asia/Tehran",
                "holidays": ["1406-01-01", "۱۴۰۶-۰۱-۰۲", "2027-03-23", "1406-01-01"] }),
    )
    .await;
    assert_eq!(
        calendar["holidays"],
        json!(["2027-03-21", "2027-03-22", "2027-03-23"]),
        "kept Gregorian, once each: {calendar}"
    );
    assert!(calendar.get("holidays_solar_hijri").is_none(), "{calendar}");
    let persian: Value = app
        .http
        .get(app.url("/v1/calendars"))
        .bearer_auth(&admin)
        .header("accept-language", "fa-IR,fa;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        persian["items"][0]["holidays_solar_hijri"],
        json!(["1406-01-01", "1406-01-02", "1406-01-03"]),
        "{persian}"
    );
}
