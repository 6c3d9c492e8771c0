//! Who gets a new conversation, on the local binary: an agent who speaks the customer's
//! language while one can take it, and only an agent with the skill a rule asks for.

use e2e::{ADMIN, AGENT, App, DEADLINE, eventually, status_and_json, unique};
use serde_json::{Value, json};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

/// An agent with these skills and languages, and their id.
async fn agent(app: &App, admin: &str, name: &str, skills: &[&str], languages: &[&str]) -> String {
    let key = app.create_agent(name, &format!("{}@shop.example", unique(name)), AGENT);
    let id = id_of(app, &key).await;
    let (status, agent, text) = status_and_json(
        app.patch_json(
            admin,
            &format!("/v1/agents/{id}"),
            &json!({ "skills": skills, "languages": languages }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    assert_eq!(agent["languages"], json!(languages));
    id
}

/// Sets `agent` away, as `admin`.
async fn set_away(app: &App, admin: &str, agent: &str) {
    let (status, _, text) = status_and_json(
        app.patch_json(
            admin,
            &format!("/v1/agents/{agent}"),
            &json!({ "availability": "away" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
}

/// The id of the agent whose key is `key`.
async fn id_of(app: &App, key: &str) -> String {
    app.get_ok(key, "/v1/me").await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// Submits `message` and waits for its conversation, assigned or not.
async fn routed(app: &App, key: &str, message: &str) -> Value {
    app.submit(&[
        ("name", "Sara"),
        ("email", &format!("{}@example.ir", unique("assign"))),
        ("message", message),
    ])
    .await;
    eventually("the message routed", DEADLINE, async || {
        app.all_conversations(key)
            .await
            .into_iter()
            .find(|c| c["preview"] == message)
    })
    .await
}

#[tokio::test]
async fn a_customer_gets_an_agent_who_speaks_their_language_and_has_the_skill_asked_for() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    // The admin takes no conversations.
    set_away(&app, &admin, &id_of(&app, &admin).await).await;
    let ana = agent(&app, &admin, "Ana", &[], &["en"]).await;
    let reza = agent(&app, &admin, "Reza", &[], &["fa", "en"]).await;
    let sam = agent(&app, &admin, "Sam", &["refunds"], &["en"]).await;
    let (status, rule, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({
                "name": "Refunds need the skill",
                "trigger": "message_received",
                "conditions": [{ "if": "text_contains", "any_of": ["refund", "بازپرداخت"] }],
                "actions": [{ "do": "require_skill", "skill": "refunds" }]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{text}");
    assert_eq!(rule["actions"][0]["skill"], "refunds");

    // Persian: Reza, the one who speaks it, each time.
    for text in ["سلام، سفارشم کی می‌رسد؟", "درگاه پرداخت کار نمی‌کند"]
    {
        let c = routed(&app, &admin, text).await;
        assert_eq!(c["assignee_id"], reza.as_str(), "{text}: {c}");
    }
    // English: any of the three in turn; the first two go to two different agents.
    let first = routed(&app, &admin, "Where is my order?").await;
    let second = routed(&app, &admin, "My parcel never came").await;
    let english = [first["assignee_id"].clone(), second["assignee_id"].clone()];
    assert_ne!(english[0], english[1], "in turn: {english:?}");
    for who in &english {
        assert!(
            [&ana, &reza, &sam].iter().any(|a| who == a.as_str()),
            "{who}"
        );
    }
    // A refund, in either language: only Sam has the skill.
    for text in ["I want a refund for order 12", "لطفا بازپرداخت کنید"] {
        let c = routed(&app, &admin, text).await;
        assert_eq!(c["assignee_id"], sam.as_str(), "{text}: {c}");
        assert!(
            c["tags"]
                .as_array()
                .expect("tags")
                .contains(&json!("skill:refunds")),
            "{c}"
        );
    }
    // Nobody with the skill can take it: it waits unassigned.
    set_away(&app, &admin, &sam).await;
    let waiting = routed(&app, &admin, "refund please").await;
    assert_eq!(waiting["assignee_id"], Value::Null, "{waiting}");
}

#[tokio::test]
async fn skills_and_languages_that_do_not_read_are_refused() {
    let app = App::spawn_with(&[]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let me = id_of(&app, &admin).await;
    for (body, says) in [
        (json!({ "languages": ["farsi"] }), "language"),
        (json!({ "skills": ["no spaces"] }), "skill"),
    ] {
        let (status, problem, text) = status_and_json(
            app.patch_json(&admin, &format!("/v1/agents/{me}"), &body)
                .await,
        )
        .await;
        assert_eq!(status.as_u16(), 422, "{text}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{problem}"
        );
    }
    let (status, problem, _) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({ "name": "x", "trigger": "message_received",
                     "conditions": [{ "if": "language", "any_of": ["klingon"] }],
                     "actions": [{ "do": "add_tags", "tags": ["x"] }] }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{problem}");
}

#[tokio::test]
async fn an_agent_going_offline_hands_their_conversations_back_by_rule() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    set_away(&app, &admin, &id_of(&app, &admin).await).await;
    let ana_key = app.create_agent("Ana", "ana@shop.example", AGENT);
    let ana = id_of(&app, &ana_key).await;
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({
                "name": "Back to the queue",
                "trigger": "assignee_offline",
                "actions": [{ "do": "unassign" }, { "do": "add_tags", "tags": ["returned"] }]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{text}");
    let c = routed(&app, &admin, "Is my order on its way?").await;
    assert_eq!(c["assignee_id"], ana.as_str());
    let id = c["id"].as_str().expect("an id");

    let (status, me, text) = status_and_json(
        app.patch_json(&ana_key, "/v1/me", &json!({ "availability": "offline" }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(me["availability"], "offline");
    let back = app.get_ok(&admin, &format!("/v1/conversations/{id}")).await;
    assert_eq!(back["assignee_id"], Value::Null, "{back}");
    assert_eq!(back["tags"], json!(["returned"]));
    // Offline, Ana gets no new conversation.
    let next = routed(&app, &admin, "Another question").await;
    assert_eq!(next["assignee_id"], Value::Null, "{next}");
}

#[tokio::test]
async fn an_idle_agent_is_set_away_and_is_back_with_their_next_request() {
    let app = App::spawn_with(&[("SWITCHBOARD_AWAY_AFTER_IDLE_MINUTES", "1")]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let bo_key = app.create_agent("Bo", "bo@shop.example", AGENT);
    let bo = app.get_ok(&bo_key, "/v1/me").await;
    assert_eq!(bo["availability"], "available");
    let bo_id = bo["id"].as_str().expect("an id").to_owned();
    // A minute without a request from Bo (the admin's keep the admin seen).
    let away = eventually(
        "Bo set away",
        std::time::Duration::from_secs(90),
        async || {
            app.list_all(&admin, "/v1/agents")
                .await
                .into_iter()
                .find(|a| a["id"] == bo_id.as_str() && a["availability"] == "away")
        },
    )
    .await;
    assert_eq!(away["idle_away"], true, "{away}");
    assert!(away["last_seen_at"].is_string(), "{away}");
    let back = app.get_ok(&bo_key, "/v1/me").await;
    assert_eq!(back["availability"], "available", "{back}");
    assert_eq!(back["idle_away"], false);
    // An agent who chose away stays away.
    app.patch_json(&bo_key, "/v1/me", &json!({ "availability": "away" }))
        .await;
    assert_eq!(app.get_ok(&bo_key, "/v1/me").await["availability"], "away");
}

#[tokio::test]
async fn a_least_loaded_team_gives_each_new_conversation_to_whoever_has_fewest() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    set_away(&app, &admin, &id_of(&app, &admin).await).await;
    let (status, team, text) = status_and_json(
        app.post_json(&admin, "/v1/teams", &json!({ "name": "Desk" }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{text}");
    assert_eq!(team["assignment"], "round_robin", "the default: {team}");
    let team_id = team["id"].as_str().expect("an id").to_owned();
    let path = format!("/v1/teams/{team_id}");
    let (status, _, text) = status_and_json(
        app.patch_json(&admin, &path, &json!({ "assignment": "random" }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");
    let (status, _, text) = status_and_json(
        app.patch_json(
            &admin,
            "/v1/teams/tm_01KBQ8Z6Y7N000000000000000",
            &json!({ "assignment": "least_loaded" }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 404, "{text}");
    let (status, changed, text) = status_and_json(
        app.patch_json(&admin, &path, &json!({ "assignment": "least_loaded" }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(changed["assignment"], "least_loaded");

    let ana = agent(&app, &admin, "Ana", &[], &[]).await;
    let reza = agent(&app, &admin, "Reza", &[], &[]).await;
    for member in [&ana, &reza] {
        let (status, _, text) = status_and_json(
            app.patch_json(
                &admin,
                &format!("/v1/agents/{member}"),
                &json!({ "team_ids": [team_id] }),
            )
            .await,
        )
        .await;
        assert!(status.is_success(), "{text}");
    }
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({
                "name": "Everything to the desk",
                "trigger": "message_received",
                "actions": [{ "do": "set_team", "team_id": team_id }]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{text}");

    // Reza is away: Ana takes the first two.
    set_away(&app, &admin, &reza).await;
    for n in 1..=2 {
        let c = routed(&app, &admin, &format!("Order {n} is late")).await;
        assert_eq!(c["assignee_id"], ana.as_str(), "{c}");
    }
    let (status, _, text) = status_and_json(
        app.patch_json(
            &admin,
            &format!("/v1/agents/{reza}"),
            &json!({ "availability": "available" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{text}");
    // Back, Reza has fewest: he takes two in a row (in turn would have alternated),
    // then they are even and take turns.
    let mut given = Vec::new();
    for n in 3..=6 {
        let c = routed(&app, &admin, &format!("Order {n} is late")).await;
        given.push(c["assignee_id"].as_str().expect("assigned").to_owned());
    }
    assert_eq!(given[..2], [reza.clone(), reza.clone()], "{given:?}");
    assert_ne!(given[2], given[3], "even: in turn ({given:?})");
}
