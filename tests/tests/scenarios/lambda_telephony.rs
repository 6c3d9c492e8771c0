//! Telephony on the Lambda functions: `telephony` behind "API Gateway" with the Twilio
//! auth token and the PBX secret in SSM, MMS media fetched by the router into S3, SMS
//! replies sent by the sender, against the fake Twilio REST API and the AWS emulator.

use e2e::events::{API_HOST, HttpRequest, HttpResponse};
use e2e::function::Function;
use e2e::stack::{Source, Stack, depth};
use e2e::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, OUR_NUMBER, PBX_SECRET, new_sid, sms_params};
use serde_json::{Value, json};
use shared::channels::{pbx, twilio::signature};
use shared::model::Role;

/// What Twilio requests: the HTTP API's own URL (no `PublicUrl` configured), so the
/// function rebuilds it from the request.
const API_URL: &str = "https://e2eapi0001.execute-api.us-east-1.amazonaws.com";
const CUSTOMER: &str = "+14155552671";

/// A stack with a Twilio account and a PBX hook: their secrets in SSM, the REST API at
/// `fake`.
async fn stack_with_telephony(fake: &FakeTwilio) -> Stack {
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("twilio-auth-token", AUTH_TOKEN).await;
    let pbx_secret = cloud.put_secret("pbx-secret", PBX_SECRET).await;
    Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", &token),
            ("SWITCHBOARD_TWILIO_API_URL", fake.url()),
            ("SWITCHBOARD_TWILIO_FROM", OUR_NUMBER),
            ("SWITCHBOARD_PBX_SECRET_PARAMETER", &pbx_secret),
            ("SWITCHBOARD_DEFAULT_REGION", "US"),
        ],
    )
    .await
}

/// A form Twilio posts to `path`, signed over the URL it called (or with `signature`).
fn twilio_request(path: &str, params: &[(String, String)], signature: Option<&str>) -> HttpRequest {
    let signed = signature::sign(AUTH_TOKEN, &format!("{API_URL}{path}"), params);
    HttpRequest::new("POST", path)
        .header(signature::HEADER, signature.unwrap_or(&signed))
        .form(params)
}

fn pbx_request(event: &Value, secret: &str) -> HttpRequest {
    let body = event.to_string();
    let now = chrono::Utc::now().timestamp();
    HttpRequest::new("POST", "/webhooks/pbx")
        .header(pbx::signature::TIMESTAMP_HEADER, now.to_string())
        .header(
            pbx::signature::SIGNATURE_HEADER,
            pbx::signature::sign(secret, now, body.as_bytes()),
        )
        .json(event)
}

fn assert_twiml(response: &HttpResponse) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.headers["content-type"], "text/xml", "{response:?}");
}

#[tokio::test]
async fn a_signed_mms_reaches_the_inbox_and_the_reply_goes_out_by_sms() {
    assert!(API_URL.ends_with(API_HOST));
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let jpeg = b"\xff\xd8\xff\xe0 a photo of the damaged box".to_vec();
    let media_url = fake.add_media("ME1", "image/jpeg", jpeg.clone());
    let mut stack = stack_with_telephony(&fake).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;

    let sid = new_sid("MM");
    let mut params = sms_params(&sid, CUSTOMER, "the box came damaged 📦");
    params.retain(|(k, _)| k != "NumMedia");
    params.push(("NumMedia".into(), "1".into()));
    params.push(("MediaUrl0".into(), media_url));
    params.push(("MediaContentType0".into(), "image/jpeg".into()));

    // A forged signature, and a signature over another URL: 403, nothing queued.
    let forged = stack
        .http(twilio_request(
            "/webhooks/twilio/sms",
            &params,
            Some("bm90IHRoZSBzaWduYXR1cmU="),
        ))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    let elsewhere = signature::sign(
        AUTH_TOKEN,
        "https://support.example.com/webhooks/twilio/sms",
        &params,
    );
    let wrong_url = stack
        .http(twilio_request(
            "/webhooks/twilio/sms",
            &params,
            Some(&elsewhere),
        ))
        .await;
    assert_eq!(wrong_url.status, 403, "{}", wrong_url.text());
    assert_eq!(
        depth(&stack.cloud.sqs, stack.queue_url(Source::Inbound)).await,
        0
    );

    // Twilio's call, and its retry: one message.
    for _ in 0..2 {
        let accepted = stack
            .http(twilio_request("/webhooks/twilio/sms", &params, None))
            .await;
        assert_twiml(&accepted);
    }
    stack.drain(Source::Inbound).await;
    assert_eq!(fake.media_requests(), vec!["ME1"], "fetched once");

    let conversations = stack.all_conversations(&key).await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    let conversation = conversations[0]["id"].as_str().expect("an id").to_owned();
    let messages = stack.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = &messages[0];
    assert_eq!(message["text"], "the box came damaged 📦");
    assert_eq!(message["channel"], "sms");
    assert_eq!(message["attachments"][0]["content_type"], "image/jpeg");
    let path = format!(
        "/v1/messages/{}/attachments/0",
        message["id"].as_str().expect("an id")
    );
    let download = stack.api("GET", &path, &key, None).await;
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(download.body, jpeg);

    // The inbox API takes an SMS reply; the sender sends it from our number.
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "Sorry about that, a new one is on its way" })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!((batch.received.len(), batch.failed.len()), (1, 0));
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].field("To"), CUSTOMER);
    assert_eq!(sent[0].field("From"), OUR_NUMBER);

    // Twilio reports delivery to the telephony function; the reply shows it.
    let status: Vec<(String, String)> = [
        ("MessageSid", sent[0].sid.as_str()),
        ("MessageStatus", "delivered"),
        ("AccountSid", ACCOUNT_SID),
        ("From", OUR_NUMBER),
        ("To", CUSTOMER),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_twiml(
        &stack
            .http(twilio_request("/webhooks/twilio/status", &status, None))
            .await,
    );
    stack.drain(Source::Inbound).await;
    let messages = stack.messages(&key, &conversation).await;
    let out = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("the reply in the timeline");
    assert_eq!(out["delivery_status"], "delivered", "{out}");
}

#[tokio::test]
async fn a_signed_pbx_call_sequence_becomes_one_missed_call_to_return() {
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let mut stack = stack_with_telephony(&fake).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let call_id = new_sid("call-");
    let event = |kind: &str, extra: Value| {
        let mut event = json!({
            "event": kind, "from": "(415) 555-2671", "to": "+14155550100",
            "direction": "in", "callId": call_id,
        });
        if let (Some(target), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        event
    };

    let forged = stack
        .http(pbx_request(
            &event("newCall", json!({})),
            "not-the-pbx-secret-at-all",
        ))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    let garbage = stack
        .http(pbx_request(&json!({ "event": "teleport" }), PBX_SECRET))
        .await;
    assert_eq!(garbage.status, 400, "{}", garbage.text());

    for request in [
        pbx_request(&event("newCall", json!({})), PBX_SECRET),
        // A repeated newCall is not a second call.
        pbx_request(&event("newCall", json!({})), PBX_SECRET),
        pbx_request(&event("hangup", json!({ "cause": "noAnswer" })), PBX_SECRET),
        // An answer after the hangup is ignored.
        pbx_request(&event("answer", json!({ "user": ["Bo"] })), PBX_SECRET),
    ] {
        let answer = stack.http(request).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    stack.drain(Source::Inbound).await;

    let conversations = stack
        .list_all(&key, "/v1/conversations?status=all&tag=callback")
        .await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    let conversation = conversations[0]["id"].as_str().expect("an id").to_owned();
    let messages = stack.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["channel"], "voice");
    let text = messages[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("Missed call from +14155552671") && text.ends_with("call back"),
        "{text}"
    );

    // The call's record is in the bucket, under the prefix the template grants.
    let listed = stack
        .cloud
        .s3
        .list_objects_v2()
        .bucket(&stack.cloud.settings.bucket)
        .prefix("calls/pbx/")
        .send()
        .await
        .expect("ListObjectsV2");
    assert_eq!(listed.contents().len(), 1, "{listed:?}");
}

#[tokio::test]
async fn the_telephony_function_with_nothing_to_answer_says_why_it_cannot_start() {
    let cloud = e2e::cloud::Cloud::create().await;
    let mut function = Function::start("telephony", &cloud.function_env()).await;
    let (_, body) = function
        .init_failure()
        .await
        .expect("an init error reported to the Runtime API");
    let text = body.to_string();
    assert!(text.contains("SWITCHBOARD_TWILIO_ACCOUNT_SID"), "{text}");
}

#[tokio::test]
async fn an_empty_auth_token_stops_the_function_at_init_without_showing_it() {
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("twilio-auth-token", " ").await;
    let mut env = cloud.function_env();
    env.push(("SWITCHBOARD_TWILIO_ACCOUNT_SID".into(), ACCOUNT_SID.into()));
    env.push((
        "SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER".into(),
        token.clone(),
    ));
    let mut function = Function::start("telephony", &env).await;
    let (_, body) = function.init_failure().await.expect("an init error");
    assert!(
        body.to_string().contains(&token),
        "names the parameter: {body}"
    );
}

/// A reply on a customer page goes by SMS from the sender function to the number typed
/// on the form, with the page's link: the sender writes the link again from the link
/// secret it reads from SSM, under the public URL, and it is the one the form handed out.
#[tokio::test]
async fn a_reply_on_a_customer_page_reaches_the_typed_number_by_sms_with_its_link() {
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("twilio-auth-token", AUTH_TOKEN).await;
    let mut stack = Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", &token),
            ("SWITCHBOARD_TWILIO_API_URL", fake.url()),
            ("SWITCHBOARD_TWILIO_FROM", OUR_NUMBER),
            ("SWITCHBOARD_DEFAULT_REGION", "US"),
            ("SWITCHBOARD_PUBLIC_URL", "https://help.example.com"),
        ],
    )
    .await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let submitted = stack
        .post_webform(&[
            ("name", "Kim"),
            ("phone", "415 555 2671"),
            ("message", "Did my payment go through?"),
        ])
        .await;
    assert_eq!(submitted.status, 202, "{}", submitted.text());
    let link = submitted.json()["conversation_url"]
        .as_str()
        .expect("a link")
        .to_owned();
    assert!(link.starts_with("https://help.example.com/c/"), "{link}");
    stack.drain(Source::Inbound).await;
    let conversation = stack.all_conversations(&key).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": "Yes, it went through this morning." })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json()["channel"], "web");
    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!((batch.received.len(), batch.failed.len()), (1, 0));

    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].field("To"), CUSTOMER);
    let body = sent[0].field("Body");
    assert!(
        body.contains("Yes, it went through this morning.") && body.contains(&link),
        "{body}"
    );
    let messages = stack.messages(&key, &conversation).await;
    let answer = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("the reply");
    assert_eq!(answer["delivery_status"], "sent", "{answer}");
    assert_eq!(answer["provider_id"], format!("twilio:{}", sent[0].sid));
}

/// A new call from `CUSTOMER`, as Twilio posts it.
fn call_params() -> Vec<(String, String)> {
    let sid = new_sid("CA");
    let mut params: Vec<(String, String)> = [
        ("CallSid", sid.as_str()),
        ("AccountSid", ACCOUNT_SID),
        ("From", CUSTOMER),
        ("To", OUR_NUMBER),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.sort();
    params
}

#[tokio::test]
async fn the_telephony_function_reads_the_voice_calendar_from_the_table_at_each_call() {
    use shared::model::{Calendar, CalendarId};
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let cloud = e2e::cloud::Cloud::create().await;
    let token = cloud.put_secret("twilio-auth-token", AUTH_TOKEN).await;
    let today = chrono::Utc::now().date_naive();
    let mut calendar = Calendar {
        id: CalendarId::new(),
        name: "Phones".into(),
        hours: "mon-sun 00:00-24:00 UTC".into(),
        holidays: vec![today, today + chrono::Days::new(1)],
    };
    let slas = cloud.backend().slas;
    slas.save_calendar(&calendar).await.expect("saved");
    let id = calendar.id.to_string();
    let mut stack = Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", &token),
            ("SWITCHBOARD_TWILIO_API_URL", fake.url()),
            ("SWITCHBOARD_TWILIO_FROM", OUR_NUMBER),
            ("SWITCHBOARD_TWILIO_VOICE_DIAL", "+14155550111"),
            ("SWITCHBOARD_TWILIO_VOICE_CALENDAR", &id),
        ],
    )
    .await;
    let path = "/webhooks/twilio/voice";
    let on_holiday = stack.http(twilio_request(path, &call_params(), None)).await;
    assert_twiml(&on_holiday);
    let text = on_holiday.text();
    assert!(
        !text.contains("<Dial") && text.contains("<Record"),
        "{text}"
    );

    calendar.holidays.clear();
    slas.save_calendar(&calendar).await.expect("saved");
    let open = stack.http(twilio_request(path, &call_params(), None)).await;
    assert_twiml(&open);
    assert!(
        open.text().contains("<Number>+14155550111</Number>"),
        "{}",
        open.text()
    );
}
