//! What agents do to conversations and contacts, seen through the API.

use e2e::{ADMIN, App, DEADLINE, eventually, status_and_json, unique};
use serde_json::{Value, json};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");

/// Submits one message from `email` and returns its routed conversation.
async fn conversation_of(app: &App, key: &str, email: &str, message: &str) -> Value {
    submitted(app, key, email, message).await.0
}

/// Submits one message from `email`: its routed conversation and its customer page.
async fn submitted(app: &App, key: &str, email: &str, message: &str) -> (Value, String) {
    let page = app
        .submit(&[("name", "Kim"), ("email", email), ("message", message)])
        .await;
    let conversation = conversation_with(app, key, message).await;
    (conversation, page)
}

/// The conversation whose messages include `text`, read again in full.
async fn conversation_with(app: &App, key: &str, text: &str) -> Value {
    eventually("the message routed", DEADLINE, async || {
        for conversation in app.all_conversations(key).await {
            let id = conversation["id"].as_str()?;
            if app
                .messages(key, id)
                .await
                .iter()
                .any(|m| m["text"] == text)
            {
                return Some(app.get_ok(key, &format!("/v1/conversations/{id}")).await);
            }
        }
        None
    })
    .await
}

#[tokio::test]
async fn a_resolved_conversation_reopens_when_the_customer_writes_again() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let email = format!("{}@example.com", unique("reopen"));
    let (first, page) = submitted(&app, &key, &email, "My tap is leaking").await;
    let id = first["id"].as_str().expect("an id");

    let (status, resolved, text) = status_and_json(
        app.patch_json(
            &key,
            &format!("/v1/conversations/{id}"),
            &json!({ "status": "resolved" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "resolve: {text}");
    assert_eq!(resolved["status"], "resolved", "{text}");
    let open = app.list_all(&key, "/v1/conversations").await;
    assert!(
        open.is_empty(),
        "a resolved conversation leaves the open list: {open:?}"
    );

    // The customer answers on their page: the same conversation comes back open.
    let response = app
        .http
        .post(&page)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("message=It+is+leaking+again")
        .send()
        .await
        .expect("the page answers");
    assert_eq!(response.status().as_u16(), 202);
    let again = eventually("the answer routed", DEADLINE, async || {
        let c = app.get_ok(&key, &format!("/v1/conversations/{id}")).await;
        (c["message_count"] == 2).then_some(c)
    })
    .await;
    assert_eq!(again["status"], "open", "{again}");
    assert_eq!(app.messages(&key, id).await.len(), 2);
    // A new submission from the same address is a conversation of its own.
    let other = conversation_of(&app, &key, &email, "A different question").await;
    assert_ne!(other["id"].as_str(), Some(id));
}

#[tokio::test]
async fn merging_two_contacts_keeps_every_identity_conversation_and_message() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let home = format!("{}@example.com", unique("home"));
    let work = format!("{}@example.org", unique("work"));
    let a = conversation_of(&app, &key, &home, "Written from home").await;
    let b = conversation_of(&app, &key, &work, "Written from work").await;
    let survivor = a["contact_id"].as_str().expect("a contact").to_string();
    let other = b["contact_id"].as_str().expect("a contact").to_string();
    assert_ne!(
        survivor, other,
        "two addresses, two contacts before the merge"
    );

    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/contacts/{survivor}/merge"),
            &json!({ "other_contact_id": other }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "merge: {status} {text}");

    let contact = app.get_ok(&key, &format!("/v1/contacts/{survivor}")).await;
    let mut emails: Vec<_> = contact["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .filter_map(|i| i["value"].as_str())
        .collect();
    emails.sort_unstable();
    let mut expected = [home.as_str(), work.as_str()];
    expected.sort_unstable();
    assert_eq!(emails, expected, "{contact}");

    let mut texts = Vec::new();
    for conversation in app.all_conversations(&key).await {
        assert_eq!(
            conversation["contact_id"].as_str(),
            Some(survivor.as_str()),
            "every conversation belongs to the survivor: {conversation}"
        );
        for message in app
            .messages(&key, conversation["id"].as_str().expect("an id"))
            .await
        {
            texts.push(message["text"].as_str().unwrap_or_default().to_string());
        }
    }
    texts.sort_unstable();
    assert_eq!(texts, ["Written from home", "Written from work"]);
}

#[tokio::test]
async fn a_merge_offers_to_fold_the_open_conversations_and_folding_makes_them_one() {
    const SECRET: &str = "email-relay-secret-0123456789";
    let app = App::spawn_with(&[UNLIMITED, ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", SECRET)]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let home = format!("{}@example.com", unique("home"));
    let work = format!("{}@example.org", unique("work"));
    let (first, second) = (unique("from home"), unique("from work"));
    app.relay_email(SECRET, &home, "Card declined", &first)
        .await;
    let a = conversation_with(&app, &key, &first).await;
    app.relay_email(SECRET, &work, "Card declined", &second)
        .await;
    let b = conversation_with(&app, &key, &second).await;
    let page_text = unique("from the site");
    let (page_conversation, _) = submitted(&app, &key, &home, &page_text).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let survivor = a["contact_id"].as_str().unwrap();

    let merged = app
        .post_json(
            &key,
            &format!("/v1/contacts/{survivor}/merge"),
            &json!({ "other_contact_id": b["contact_id"] }),
        )
        .await;
    let (status, merged, text) = status_and_json(merged).await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(merged["id"].as_str(), Some(survivor), "{merged}");
    let offer = &merged["fold_offer"];
    assert_eq!(
        offer["into"].as_str(),
        Some(b_id),
        "the most recent: {merged}"
    );
    assert_eq!(
        offer["from"],
        json!([a_id]),
        "the page is never offered: {merged}"
    );

    // A conversation with a customer page is never folded, either way.
    let page_id = page_conversation["id"].as_str().unwrap();
    for (from, into) in [(page_id, b_id), (a_id, page_id)] {
        let (status, problem, _) = status_and_json(
            app.post_json(
                &key,
                &format!("/v1/conversations/{from}/fold"),
                &json!({ "into": into }),
            )
            .await,
        )
        .await;
        assert_eq!(status.as_u16(), 409, "{problem}");
    }

    let (status, folded, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{a_id}/fold"),
            &json!({ "into": b_id }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    assert_eq!(folded["id"].as_str(), Some(b_id));
    assert_eq!(folded["message_count"], 2, "{folded}");
    let texts: Vec<Value> = app
        .messages(&key, b_id)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!(first), json!(second)],
        "one timeline, in order"
    );
    let timeline = app.timeline(&key, b_id).await;
    assert!(
        timeline
            .iter()
            .any(|i| i["type"] == "conversation_folded" && i["from"] == a_id),
        "the fold is on the record: {timeline:?}"
    );
    let gone = app.get(&key, &format!("/v1/conversations/{a_id}")).await;
    assert_eq!(gone.status().as_u16(), 404);

    // The customer writes again from the first address: it joins the one conversation.
    let later = unique("still declined");
    app.relay_email(SECRET, &home, "Card declined", &later)
        .await;
    let joined = conversation_with(&app, &key, &later).await;
    assert_eq!(joined["id"].as_str(), Some(b_id), "{joined}");

    let refused = app
        .post_json(
            &key,
            &format!("/v1/conversations/{b_id}/fold"),
            &json!({ "into": b_id }),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
}

#[tokio::test]
async fn list_rows_name_the_contact_and_waiting_shows_who_still_needs_an_answer() {
    let app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let answered = conversation_of(
        &app,
        &key,
        &format!("{}@example.com", unique("answered")),
        "Where is my parcel?",
    )
    .await;
    let unanswered = conversation_of(
        &app,
        &key,
        &format!("{}@example.com", unique("waiting")),
        "My card was charged twice",
    )
    .await;
    let (answered_id, unanswered_id) = (
        answered["id"].as_str().expect("an id"),
        unanswered["id"].as_str().expect("an id"),
    );
    assert!(answered["waiting_since"].is_string(), "{answered}");

    let rows = app.list_all(&key, "/v1/conversations").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["contact_name"], "Kim", "the row says who: {row}");
        assert_eq!(row["channel"], "web", "{row}");
    }

    let (status, _, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{answered_id}/replies"),
            &json!({ "text": "It left our depot today" }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "reply: {text}");
    let waiting = app.list_all(&key, "/v1/conversations?waiting=true").await;
    let ids: Vec<&str> = waiting.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, [unanswered_id], "only the unanswered one waits");
    assert_eq!(waiting[0]["waiting_since"], unanswered["waiting_since"]);
    let after = app
        .get_ok(&key, &format!("/v1/conversations/{answered_id}"))
        .await;
    assert_eq!(after["waiting_since"], Value::Null, "{after}");
    let everyone = app.list_all(&key, "/v1/conversations?waiting=false").await;
    assert_eq!(everyone.len(), 2, "waiting=false filters nothing");
}
