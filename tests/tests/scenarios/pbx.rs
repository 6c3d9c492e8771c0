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
