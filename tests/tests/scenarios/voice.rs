//! A customer calls the Twilio number: within business hours the call is put through,
//! otherwise (or unanswered) they leave a voicemail that lands in their conversation.

use e2e::{ADMIN, App, DEADLINE, FakeTwilio, eventually, new_sid};
use serde_json::Value;

const CALLER: &str = "+14155552671";

fn call_params(call_sid: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("CallSid", call_sid),
        ("AccountSid", e2e::ACCOUNT_SID),
        ("From", CALLER),
        ("To", e2e::OUR_NUMBER),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.sort();
    params
}

async fn started(hours: &str) -> (FakeTwilio, App, String) {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = App::spawn_with_twilio(
        &fake,
        &[
            (
                "SWITCHBOARD_TWILIO_VOICE_GREETING",
                "Thanks for calling <Acme>",
            ),
            ("SWITCHBOARD_TWILIO_VOICE_DIAL", "+14155550111"),
            ("SWITCHBOARD_TWILIO_VOICE_HOURS", hours),
        ],
    )
    .await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    (fake, app, key)
}

async fn voice_items(app: &App, key: &str, count: usize) -> Vec<Value> {
    eventually("the call items routed", DEADLINE, async || {
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
async fn an_unanswered_call_in_hours_goes_to_voicemail_which_lands_in_the_timeline() {
    let (fake, app, key) = started("mon-sun 00:00-23:59 +00:00").await;
    let sid = new_sid("CA");
    let twiml = app
        .post_twilio("/webhooks/twilio/voice", &call_params(&sid, &[]))
        .await;
    assert!(
        twiml.contains(r#"<Say language="en-US">Thanks for calling &lt;Acme&gt;</Say>"#),
        "{twiml}"
    );
    assert!(twiml.contains("<Number>+14155550111</Number>"), "{twiml}");
    assert!(twiml.contains(&format!(
        r#"action="{}/webhooks/twilio/voice/dial""#,
        e2e::PUBLIC_URL
    )));

    let after = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &call_params(&sid, &[("DialCallStatus", "no-answer")]),
        )
        .await;
    assert!(
        after.contains("<Record") && after.contains(r#"transcribe="true""#),
        "{after}"
    );

    let url = fake.add_media("RE1", "audio/x-wav", b"RIFF wav bytes".to_vec());
    let recording = call_params(
        &sid,
        &[
            ("RecordingUrl", url.as_str()),
            ("RecordingDuration", "14"),
            ("RecordingSid", "RE1"),
        ],
    );
    app.post_twilio("/webhooks/twilio/voice/recording", &recording)
        .await;
    app.post_twilio("/webhooks/twilio/voice/recording", &recording)
        .await;
    app.post_twilio(
        "/webhooks/twilio/voice/transcription",
        &call_params(
            &sid,
            &[
                ("TranscriptionStatus", "completed"),
                ("TranscriptionText", "Please call me back about order 1234"),
            ],
        ),
    )
    .await;
    let items = voice_items(&app, &key, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let items_again = voice_items(&app, &key, 2).await;
    assert_eq!(
        items_again.len(),
        2,
        "the repeated recording is stored once: {items_again:?}"
    );
    let texts: Vec<&str> = items.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(
        texts.contains(&"Missed call from +14155552671, voicemail of 14 s — call back"),
        "{texts:?}"
    );
    assert!(texts.contains(&"Voicemail from +14155552671: Please call me back about order 1234"));
    let voicemail = items
        .iter()
        .find(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        .expect("the recording is attached");
    assert!(
        voicemail["attachments"][0]["blob_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    let tagged = app
        .list_all(&key, "/v1/conversations?status=all&tag=callback")
        .await;
    assert_eq!(tagged.len(), 1, "the missed call is tagged to call back");
}

#[tokio::test]
async fn a_call_outside_business_hours_goes_straight_to_voicemail() {
    // Open one minute a day at midnight UTC: closed for this test.
    let (_fake, app, _key) = started("mon-sun 00:00-00:01 +00:00").await;
    let twiml = app
        .post_twilio("/webhooks/twilio/voice", &call_params(&new_sid("CA"), &[]))
        .await;
    assert!(!twiml.contains("<Dial"), "{twiml}");
    assert!(twiml.contains("<Record"), "{twiml}");
}

#[tokio::test]
async fn an_unsigned_voice_call_is_refused() {
    let (_fake, app, _key) = started("mon-sun 00:00-23:59 +00:00").await;
    let response = app
        .post_twilio_signed(
            "/webhooks/twilio/voice",
            &call_params(&new_sid("CA"), &[]),
            Some(""),
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_it_rings_is_a_missed_call_to_return() {
    let (_fake, app, key) = started("mon-sun 00:00-23:59 +00:00").await;
    let sid = new_sid("CA");
    app.post_twilio("/webhooks/twilio/voice", &call_params(&sid, &[]))
        .await;
    // The dial report of a call the caller already ended: no voicemail follows.
    let mut report: Vec<(String, String)> = call_params(&sid, &[("DialCallStatus", "no-answer")])
        .into_iter()
        .filter(|(name, _)| name != "CallStatus")
        .collect();
    report.push(("CallStatus".into(), "completed".into()));
    report.sort();
    app.post_twilio("/webhooks/twilio/voice/dial", &report)
        .await;
    app.post_twilio("/webhooks/twilio/voice/dial", &report)
        .await;

    voice_items(&app, &key, 1).await;
    // Give the repeated report time to be routed too.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let items = voice_items(&app, &key, 1).await;
    assert_eq!(
        items.len(),
        1,
        "one item for the repeated report: {items:?}"
    );
    assert_eq!(
        items[0]["text"],
        "Missed call from +14155552671, hung up while ringing — call back"
    );
    let tagged = eventually("the conversation tagged", DEADLINE, async || {
        let tagged = app
            .list_all(&key, "/v1/conversations?status=all&tag=callback")
            .await;
        (!tagged.is_empty()).then_some(tagged)
    })
    .await;
    assert_eq!(tagged.len(), 1);
}

/// The number's status callback at the end of a call.
fn ended(call_sid: &str, status: &str, duration: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = call_params(call_sid, &[("CallDuration", duration)])
        .into_iter()
        .filter(|(name, _)| name != "CallStatus")
        .collect();
    params.push(("CallStatus".into(), status.into()));
    params.sort();
    params
}

#[tokio::test]
async fn a_caller_who_hangs_up_during_the_greeting_is_one_missed_call_to_return() {
    let (_fake, app, key) = started("mon-sun 00:00-23:59 +00:00").await;
    let sid = new_sid("CA");
    app.post_twilio("/webhooks/twilio/voice", &call_params(&sid, &[]))
        .await;
    // No dial or recording report: only the call's end, and Twilio's repeat of it.
    for _ in 0..2 {
        app.post_twilio(
            "/webhooks/twilio/voice/status",
            &ended(&sid, "completed", "3"),
        )
        .await;
    }
    voice_items(&app, &key, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let items = voice_items(&app, &key, 1).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0]["text"],
        "Missed call from +14155552671, hung up during the greeting — call back"
    );
    let tagged = eventually("the conversation tagged", DEADLINE, async || {
        let tagged = app
            .list_all(&key, "/v1/conversations?status=all&tag=callback")
            .await;
        (!tagged.is_empty()).then_some(tagged)
    })
    .await;
    assert_eq!(tagged.len(), 1);
}

#[tokio::test]
async fn the_end_of_a_call_already_reported_adds_nothing() {
    let (_fake, app, key) = started("mon-sun 00:00-23:59 +00:00").await;
    // An answered call: the dial report, then the call's end.
    let answered = new_sid("CA");
    let mut report = call_params(
        &answered,
        &[("DialCallStatus", "completed"), ("DialCallDuration", "42")],
    );
    report.sort();
    app.post_twilio("/webhooks/twilio/voice/dial", &report)
        .await;
    app.post_twilio(
        "/webhooks/twilio/voice/status",
        &ended(&answered, "completed", "50"),
    )
    .await;
    // A voicemail: the recording, then the call's end.
    let voicemail = new_sid("CA");
    let recording = call_params(
        &voicemail,
        &[
            (
                "RecordingUrl",
                "https://api.twilio.com/2010-04-01/Recordings/RE1",
            ),
            ("RecordingDuration", "9"),
        ],
    );
    app.post_twilio("/webhooks/twilio/voice/recording", &recording)
        .await;
    app.post_twilio(
        "/webhooks/twilio/voice/status",
        &ended(&voicemail, "completed", "20"),
    )
    .await;
    // A status that is not the end is no missed call.
    let ringing = new_sid("CA");
    app.post_twilio("/webhooks/twilio/voice/status", &call_params(&ringing, &[]))
        .await;

    voice_items(&app, &key, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let items = voice_items(&app, &key, 2).await;
    let mut texts: Vec<&str> = items.iter().filter_map(|i| i["text"].as_str()).collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            "Inbound call from +14155552671, answered, talked 42 s",
            "Missed call from +14155552671, voicemail of 9 s — call back",
        ]
    );
}

#[tokio::test]
async fn a_stored_calendar_decides_each_call_and_its_holidays_send_callers_to_voicemail() {
    let (_fake, mut app, key) = started("mon-sun 00:00-24:00 +00:00").await;
    let today = chrono::Utc::now().date_naive();
    let holidays = [today, today + chrono::Days::new(1)].map(|d| d.to_string());
    let (status, calendar, text) = e2e::status_and_json(
        app.post_json(
            &key,
            "/v1/calendars",
            &serde_json::json!({
                "name": "Phones", "hours": "mon-sun 00:00-24:00 UTC", "holidays": holidays
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{text}");
    let id = calendar["id"].as_str().expect("an id").to_owned();
    app.set_env("SWITCHBOARD_TWILIO_VOICE_CALENDAR", &id);
    app.restart().await;
    let call = async |app: &App| {
        let sid = new_sid("CA");
        app.post_twilio("/webhooks/twilio/voice", &call_params(&sid, &[]))
            .await
    };

    let on_holiday = call(&app).await;
    assert!(!on_holiday.contains("<Dial"), "a holiday: {on_holiday}");
    assert!(on_holiday.contains("<Record"), "{on_holiday}");

    // The admin's change applies from the next call.
    let path = format!("/v1/calendars/{id}");
    let (status, _, text) = e2e::status_and_json(
        app.put_json(
            &key,
            &path,
            &serde_json::json!({ "name": "Phones", "hours": "mon-sun 00:00-24:00 UTC" }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{text}");
    let open = call(&app).await;
    assert!(open.contains("<Number>+14155550111</Number>"), "{open}");

    // Gone: the configured hours stand, and the caller is still answered.
    let gone = app.delete(&key, &path).await;
    assert_eq!(gone.status().as_u16(), 204);
    let fallback = call(&app).await;
    assert!(fallback.contains("<Dial"), "{fallback}");
}
