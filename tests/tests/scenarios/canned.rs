//! Canned replies and macros on the local binary: found as an agent types, filled in for
//! the conversation, and sent by a macro that also tags and resolves in the same call;
//! the customer's page shows what was filled in as text.

use e2e::{ADMIN, AGENT, App, DEADLINE, eventually, status_and_json, unique};
use serde_json::{Value, json};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

async fn created(app: &App, key: &str, path: &str, body: Value) -> Value {
    let (status, value, text) = status_and_json(app.post_json(key, path, &body).await).await;
    assert_eq!(status.as_u16(), 201, "{path}: {text}");
    value
}

fn codes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["short_code"].as_str().unwrap_or(""),
                c["language"].as_str().unwrap_or("*")
            )
        })
        .collect()
}

#[tokio::test]
async fn a_macro_sends_a_filled_in_canned_reply_tags_and_resolves_in_one_call() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Reza", "reza@shop.example", AGENT);
    let fa = created(
        &app,
        &admin,
        "/v1/canned-replies",
        json!({ "short_code": "refund", "title": "بازپرداخت", "language": "fa",
                "text": "سلام {{contact.name}}، مبلغ به کارت شما برگشت. {{agent.name}}" }),
    )
    .await;
    created(
        &app,
        &admin,
        "/v1/canned-replies",
        json!({ "short_code": "refund", "title": "Refund", "language": "en",
                "text": "Hi {{contact.name}}, the refund is on its way. {{agent.name}}" }),
    )
    .await;
    created(
        &app,
        &admin,
        "/v1/canned-replies",
        json!({ "short_code": "shipping", "title": "Shipping times",
                "text": "Orders ship within two days ({{conversation.id}})." }),
    )
    .await;

    // Search as the agent types.
    let typed = app.get_ok(&agent, "/v1/canned-replies?q=/ref").await;
    assert_eq!(codes(&typed), ["refund:en", "refund:fa"]);
    let persian = app
        .get_ok(&agent, "/v1/canned-replies?q=ref&language=fa")
        .await;
    assert_eq!(codes(&persian), ["refund:fa"]);
    let by_text = app
        .get_ok(&agent, "/v1/canned-replies?q=%D9%83%D8%A7%D8%B1%D8%AA")
        .await;
    assert_eq!(
        codes(&by_text),
        ["refund:fa"],
        "«كارت» with an Arabic kaf finds «کارت»"
    );
    let all = app.get_ok(&agent, "/v1/canned-replies").await;
    assert_eq!(all["items"].as_array().expect("items").len(), 3);

    let page = app
        .submit(&[
            ("name", "<b>Sara</b>"),
            ("email", &format!("{}@example.ir", unique("canned"))),
            ("message", "پولم برنگشته"),
        ])
        .await;
    let id = eventually("the message routed", DEADLINE, async || {
        app.all_conversations(&agent)
            .await
            .first()
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await;
    let fa_id = fa["id"].as_str().expect("an id");
    let filled = app
        .get_ok(
            &agent,
            &format!("/v1/conversations/{id}/canned-replies/{fa_id}"),
        )
        .await;
    assert_eq!(
        filled["text"], "سلام <b>Sara</b>، مبلغ به کارت شما برگشت. Reza",
        "{filled}"
    );

    let refund = created(
        &app,
        &admin,
        "/v1/macros",
        json!({ "name": "Refund and resolve", "steps": [
            { "do": "reply", "canned_reply_id": fa_id },
            { "do": "add_tags", "tags": ["refund"] },
            { "do": "set_status", "status": "resolved" },
            { "do": "assign", "agent_id": null }
        ] }),
    )
    .await;
    let macro_id = refund["id"].as_str().expect("an id");
    let (status, ran, text) = status_and_json(
        app.post_json(
            &agent,
            &format!("/v1/conversations/{id}/macros/{macro_id}"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(ran["conversation"]["status"], "resolved", "{ran}");
    assert_eq!(ran["conversation"]["tags"], json!(["refund"]));
    let me = app.get_ok(&agent, "/v1/me").await;
    assert_eq!(
        ran["conversation"]["assignee_id"], me["id"],
        "given to who ran it"
    );
    assert_eq!(ran["reply"]["text"], filled["text"]);

    // The customer's page shows the name they typed as text, not as markup.
    let html = eventually("the reply on the page", DEADLINE, async || {
        let html = app.http.get(&page).send().await.ok()?.text().await.ok()?;
        html.contains("مبلغ به کارت شما برگشت").then_some(html)
    })
    .await;
    assert!(
        html.contains("&lt;b&gt;Sara&lt;/b&gt;"),
        "escaped on the page"
    );
    assert!(!html.contains("<b>Sara</b>"), "never markup on the page");
    // The timeline: the reply, then each change by the agent who ran it.
    let timeline = app.timeline(&agent, &id).await;
    let by_agent: Vec<&str> = timeline
        .iter()
        .filter(|i| i["item"] == "event" && i["actor_id"] == me["id"])
        .filter_map(|i| i["type"].as_str())
        .collect();
    for kind in ["tags_changed", "status_changed", "assigned"] {
        assert!(by_agent.contains(&kind), "{kind}: {by_agent:?}");
    }
}

#[tokio::test]
async fn only_admins_keep_canned_replies_and_what_does_not_read_is_refused() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ali", "ali@shop.example", AGENT);
    let hello = json!({ "short_code": "hi", "title": "Hello", "text": "Hello {{contact.name}}" });
    let (status, _, _) =
        status_and_json(app.post_json(&agent, "/v1/canned-replies", &hello).await).await;
    assert_eq!(status.as_u16(), 403);
    let hi = created(&app, &admin, "/v1/canned-replies", hello.clone()).await;
    let (status, _, text) =
        status_and_json(app.post_json(&admin, "/v1/canned-replies", &hello).await).await;
    assert_eq!(status.as_u16(), 409, "the short code is taken: {text}");
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/canned-replies",
            &json!({ "short_code": "x", "title": "X", "text": "Dear {{customer.name}}" }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");
    assert!(text.contains("customer.name"), "{text}");
    let (status, _, text) = status_and_json(
        app.post_json(
            &admin,
            "/v1/macros",
            &json!({ "name": "Lost", "steps": [
                { "do": "reply", "canned_reply_id": "cr_01jd8x3m6k9q0w5e2r7t4y1v3h" }] }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{text}");

    let hi_id = hi["id"].as_str().expect("an id");
    created(
        &app,
        &admin,
        "/v1/macros",
        json!({ "name": "Greet", "steps": [{ "do": "reply", "canned_reply_id": hi_id }] }),
    )
    .await;
    let (status, _, text) = status_and_json(
        app.delete(&admin, &format!("/v1/canned-replies/{hi_id}"))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 409, "a macro sends it: {text}");
    assert!(text.contains("Greet"), "{text}");
    let macros = app.get_ok(&agent, "/v1/macros").await;
    assert_eq!(macros["items"][0]["name"], "Greet");
}
