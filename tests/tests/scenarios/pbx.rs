//! A PBX reports calls through the CTI hook; each call becomes one item in the caller's
//! conversation, and an unanswered one asks for a call back.

use e2e::{
    ADMIN, App, DEADLINE, FakeTwilio, PBX_SECRET, eventually, new_sid, pbx_env, sms_params,
    unix_now,
};
use serde_json::{Value, json};

fn event(kind: &str, call_id: &str, from: &str, extra: Value) -> Value {
    let mut event = json!({
        "event": kind, "from": from, "to": "+982100000000", "direction": "in", "callId": call_id,
    });
    if let (Some(target), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    event
}

async fn started(extra: &[(&str, &str)]) -> (App, String) {
    let env = pbx_env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("SWITCHBOARD_DEFAULT_REGION", "IR"));
    all.extend_from_slice(extra);
    let app = App::spawn_with(&all).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    (app, key)
}

async fn voice_items(app: &App, key: &str, count: usize) -> Vec<Value> {
    eventually("the calls routed", DEADLINE, async || {
        let mut items = Vec::new();
        for conversation in app.all_conversations(key).await {
            let id = conversation["id"].as_str()?.to_string();
            items.extend(
                app.messages(key, &id)
                    .await
                    .into_iter()
                    .filter(|m| m["channel"] == "voice"),
            );
        }
        (items.len() >= count).then_some(items)
    })
    .await
}

#[tokio::test]
async fn an_answered_call_becomes_one_item_with_wait_and_talk_time() {
    let (app, key) = started(&[]).await;
    let id = new_sid("call-");
    let from = "09123456789";
    app.pbx_event(&event("newCall", &id, from, json!({})), 100)
        .await;
    app.pbx_event(&event("newCall", &id, from, json!({})), 99)
        .await;
    app.pbx_event(
        &event(
            "answer",
            &id,
            from,
            json!({ "user": ["Ada"], "answeringNumber": "201" }),
        ),
        88,
    )
    .await;
    app.pbx_event(
        &event("hangup", &id, from, json!({ "cause": "normalClearing" })),
        4,
    )
    .await;
    app.pbx_event(&event("answer", &id, from, json!({ "user": ["Bo"] })), 2)
        .await;
    app.pbx_event(
        &event("hangup", &id, from, json!({ "cause": "normalClearing" })),
        1,
    )
    .await;
    let items = voice_items(&app, &key, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(voice_items(&app, &key, 1).await.len(), 1, "{items:?}");
    let tagged = app
        .list_all(&key, "/v1/conversations?status=all&tag=callback")
        .await;
    assert!(
        tagged.is_empty(),
        "an answered call is no call back: {tagged:?}"
    );
    assert_eq!(
        items[0]["text"],
        "Inbound call from +989123456789, answered by Ada after 12 s, talked 1 min 24 s"
    );
}

#[tokio::test]
async fn an_unanswered_call_is_a_missed_call_to_return() {
    let (app, key) = started(&[]).await;
    let id = new_sid("call-");
    app.pbx_event(&event("newCall", &id, "+989123456789", json!({})), 30)
        .await;
    app.pbx_event(
        &event(
            "hangup",
            &id,
            "+989123456789",
            json!({ "cause": "noAnswer" }),
        ),
        10,
    )
    .await;
    let items = voice_items(&app, &key, 1).await;
    assert_eq!(
        items[0]["text"],
        "Missed call from +989123456789 (rang 20 s, noAnswer) — call back"
    );
    let to_return = eventually("the conversation tagged", DEADLINE, async || {
        let tagged = app
            .list_all(&key, "/v1/conversations?status=all&tag=callback")
            .await;
        (!tagged.is_empty()).then_some(tagged)
    })
    .await;
    assert_eq!(to_return.len(), 1);
    assert_eq!(to_return[0]["tags"], json!(["callback"]));
}

#[tokio::test]
async fn a_withheld_number_still_makes_a_call_item_without_a_phone_identity() {
    let (app, key) = started(&[]).await;
    let id = new_sid("call-");
    app.pbx_event(
        &event("hangup", &id, "anonymous", json!({ "cause": "cancel" })),
        0,
    )
    .await;
    let items = voice_items(&app, &key, 1).await;
    assert!(
        items[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("withheld")
    );
    let contact_id = items[0]["contact_id"].as_str().expect("a contact");
    let contact = app
        .get_ok(&key, &format!("/v1/contacts/{contact_id}"))
        .await;
    assert!(
        contact["identities"]
            .as_array()
            .expect("identities")
            .iter()
            .all(|i| i["kind"] != "phone"),
        "{contact}"
    );
}

#[tokio::test]
async fn unsigned_stale_and_malformed_pbx_calls_are_refused_and_store_nothing() {
    let (app, key) = started(&[]).await;
    let body = event("hangup", "x-1", "+989123456789", json!({}))
        .to_string()
        .into_bytes();
    let forged = app
        .post_pbx_signed(
            "application/json",
            body.clone(),
            unix_now(),
            "not-the-secret-at-all",
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let stale = app
        .post_pbx_signed(
            "application/json",
            body.clone(),
            unix_now() - 3600,
            PBX_SECRET,
        )
        .await;
    assert_eq!(stale.status().as_u16(), 403);
    let unsigned = app
        .post_raw("/webhooks/pbx", "application/json", body)
        .await;
    assert_eq!(unsigned.status().as_u16(), 403);
    for bad in [
        &b"{"[..],
        br#"{"event":"transfer","callId":"1"}"#,
        br#"{"event":"hangup"}"#,
    ] {
        let response = app
            .post_pbx_signed("application/json", bad.to_vec(), unix_now(), PBX_SECRET)
            .await;
        assert_eq!(response.status().as_u16(), 400);
    }
    let huge = vec![b'x'; 100_000];
    let response = app
        .post_pbx_signed("application/json", huge, unix_now(), PBX_SECRET)
        .await;
    assert_eq!(response.status().as_u16(), 413);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.all_conversations(&key).await.is_empty());
}

#[tokio::test]
async fn an_sms_and_a_call_from_one_number_written_two_ways_make_one_conversation() {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let twilio = e2e::twilio_env(&fake);
    let extra: Vec<(&str, &str)> = twilio.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (app, key) = started(&extra).await;
    app.post_twilio(
        "/webhooks/twilio/sms",
        &sms_params(&new_sid("SM"), "+989123456789", "سلام"),
    )
    .await;
    eventually("the SMS routed", DEADLINE, async || {
        (!app.all_conversations(&key).await.is_empty()).then_some(())
    })
    .await;
    let id = new_sid("call-");
    app.pbx_event(
        &event(
            "hangup",
            &id,
            "۰۹۱۲ ۳۴۵ ۶۷۸۹",
            json!({ "cause": "noAnswer" }),
        ),
        0,
    )
    .await;
    voice_items(&app, &key, 1).await;
    let conversations = app.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let id = conversations[0]["id"].as_str().expect("an id");
    let channels: Vec<Value> = app
        .messages(&key, id)
        .await
        .into_iter()
        .map(|m| m["channel"].clone())
        .collect();
    assert_eq!(channels, vec![json!("sms"), json!("voice")]);

    // The caller, looked up by the number in any written form.
    for written in ["۰۹۱۲۳۴۵۶۷۸۹", "+98 912 345 6789", "00989123456789"] {
        let query = serde_urlencoded::to_string([("phone", written)]).expect("encodes");
        let found = app
            .get_ok(&key, &format!("/v1/contacts/lookup?{query}"))
            .await;
        assert_eq!(found["conversation"]["id"], id, "{found}");
        assert_eq!(
            found["recent_messages"].as_array().map(Vec::len),
            Some(2),
            "{found}"
        );
        assert!(
            found["contact"]["identities"]
                .to_string()
                .contains("+989123456789")
        );
    }
    let unknown = app.get(&key, "/v1/contacts/lookup?phone=09350000000").await;
    assert_eq!(unknown.status().as_u16(), 404);
    let nonsense = app.get(&key, "/v1/contacts/lookup?phone=hello").await;
    assert_eq!(nonsense.status().as_u16(), 400);
    let anonymous = app
        .http
        .get(app.url("/v1/contacts/lookup?phone=09123456789"))
        .send()
        .await
        .expect("answers");
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn an_answered_call_goes_to_the_agent_whose_extension_answered() {
    let (app, admin) = started(&[]).await;
    let bo_key = app.create_agent("Bo", "bo@support.example", e2e::AGENT);
    let bo = app.get_ok(&bo_key, "/v1/me").await;
    let bo_id = bo["id"].as_str().expect("an id").to_string();
    assert_eq!(bo["phone_extension"], Value::Null);

    // The extension is set through the admin API; a malformed one is refused.
    let path = format!("/v1/agents/{bo_id}");
    let refused = app
        .patch_json(&admin, &path, &json!({ "phone_extension": "20 1; drop" }))
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    let set = app
        .patch_json(&admin, &path, &json!({ "phone_extension": "201" }))
        .await;
    assert_eq!(set.status().as_u16(), 200);
    assert_eq!(
        app.get_ok(&bo_key, "/v1/me").await["phone_extension"],
        "201"
    );
    // Or at creation, from the command line.
    let output = app
        .command()
        .args(["agent", "create", "--db"])
        .arg(app.db_path())
        .args(["--name", "Cy", "--email", "cy@support.example"])
        .args(["--phone-extension", "202"])
        .output()
        .expect("`switchboard agent create` runs");
    assert!(output.status.success(), "{output:?}");
    let agents = app.list_all(&admin, "/v1/agents").await;
    assert!(
        agents
            .iter()
            .any(|a| a["name"] == "Cy" && a["phone_extension"] == "202"),
        "{agents:#?}"
    );

    let answered = |id: &str, number: &str| {
        (
            event(
                "answer",
                id,
                "+989123456789",
                json!({ "answeringNumber": number }),
            ),
            event(
                "hangup",
                id,
                "+989123456789",
                json!({ "cause": "normalClearing" }),
            ),
        )
    };
    let id = new_sid("call-");
    app.pbx_event(&event("newCall", &id, "+989123456789", json!({})), 60)
        .await;
    let (answer, hangup) = answered(&id, "201");
    app.pbx_event(&answer, 50).await;
    app.pbx_event(&hangup, 10).await;
    let items = voice_items(&app, &admin, 1).await;
    let conversation = eventually("the call assigned to Bo", DEADLINE, async || {
        let conversations = app.all_conversations(&admin).await;
        let first = conversations.first()?;
        (first["assignee_id"] == bo_id.as_str()).then(|| first.clone())
    })
    .await;
    assert_eq!(
        items[0]["text"],
        "Inbound call from +989123456789, answered by 201 after 10 s, talked 40 s"
    );
    let timeline = app
        .timeline(&admin, conversation["id"].as_str().expect("an id"))
        .await;
    assert!(
        timeline
            .iter()
            .any(|item| item["item"] == "event" && item.to_string().contains(&bo_id)),
        "{timeline:#?}"
    );

    // An extension nobody has keeps the raw text and assigns nobody new.
    let other = new_sid("call-");
    let (answer, hangup) = answered(&other, "999");
    app.pbx_event(&event("newCall", &other, "+989120000000", json!({})), 30)
        .await;
    let rewrite = |mut e: Value| {
        e["from"] = json!("+989120000000");
        e
    };
    app.pbx_event(&rewrite(answer), 20).await;
    app.pbx_event(&rewrite(hangup), 5).await;
    let items = voice_items(&app, &admin, 2).await;
    assert!(
        items.iter().any(|i| i["text"]
            == "Inbound call from +989120000000, answered by 999 after 10 s, talked 15 s"),
        "{items:#?}"
    );
}

/// A call's events come separately and may be handled at once (on two Lambda instances
/// on AWS). Each updates the call's record with a conditional write, so an answer that
/// arrives with the ring is never overwritten by it: no answered call becomes "missed".
#[tokio::test]
async fn a_ring_and_an_answer_handled_at_once_both_count() {
    let (app, key) = started(&[]).await;
    const CALLS: usize = 12;
    let mut numbers = Vec::new();
    for n in 0..CALLS {
        let id = new_sid("call-");
        let from = format!("+98912345{n:04}");
        let ring = event("newCall", &id, &from, json!({}));
        let answer = event(
            "answer",
            &id,
            &from,
            json!({ "user": ["Ada"], "answeringNumber": "201" }),
        );
        tokio::join!(app.pbx_event(&ring, 30), app.pbx_event(&answer, 20));
        app.pbx_event(
            &event("hangup", &id, &from, json!({ "cause": "normalClearing" })),
            5,
        )
        .await;
        numbers.push(from);
    }
    let items = voice_items(&app, &key, CALLS).await;
    for from in &numbers {
        let text = items
            .iter()
            .filter_map(|m| m["text"].as_str())
            .find(|t| t.contains(from.as_str()))
            .unwrap_or_else(|| panic!("no item for {from}: {items:?}"));
        assert_eq!(
            text,
            format!("Inbound call from {from}, answered by Ada after 10 s, talked 15 s"),
        );
    }
}
