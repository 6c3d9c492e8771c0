//! Satisfaction surveys on the local binary: a resolved conversation's customer is asked
//! on their own channel (Telegram buttons, an SMS, an email with five links, their
//! customer page), answers once, and the rating shows on the timeline and in the
//! reports. A forged button, a mail scanner following the links and a second resolve
//! record nothing.

use e2e::{
    ADMIN, AGENT, App, DEADLINE, FakeTelegram, FakeTwilio, SmtpSink, button_update, eventually,
    header, new_sid, new_user_id, sms_params, status_and_json, text_update, unique,
};
use serde_json::{Value, json};

async fn reply(app: &App, key: &str, conversation: &str, text: &str) {
    let (status, _, raw) = status_and_json(
        app.post_json(
            key,
            &format!("/v1/conversations/{conversation}/replies"),
            &json!({ "text": text }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
}

async fn patch(app: &App, key: &str, conversation: &str, body: Value) {
    let (status, _, raw) = status_and_json(
        app.patch_json(key, &format!("/v1/conversations/{conversation}"), &body)
            .await,
    )
    .await;
    assert!(status.is_success(), "{raw}");
}

async fn resolve(app: &App, key: &str, conversation: &str) {
    patch(app, key, conversation, json!({ "status": "resolved" })).await;
}

/// The conversation whose preview is `text`, once it is stored.
async fn conversation_with(app: &App, key: &str, text: &str) -> String {
    eventually("the message stored", DEADLINE, async || {
        app.all_conversations(key)
            .await
            .into_iter()
            .find(|c| c["preview"] == text)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await
}

/// The timeline's events of `kind`.
async fn events(app: &App, key: &str, conversation: &str, kind: &str) -> Vec<Value> {
    app.timeline(key, conversation)
        .await
        .into_iter()
        .filter(|i| i["item"] == "event" && i["type"] == kind)
        .collect()
}

async fn rated(app: &App, key: &str, conversation: &str) -> Value {
    eventually("the rating recorded", DEADLINE, async || {
        events(app, key, conversation, "csat_rated")
            .await
            .into_iter()
            .next()
    })
    .await
}

/// The survey messages the fake Bot API was asked to send (those with buttons).
fn surveys_sent(fake: &FakeTelegram) -> Vec<e2e::Call> {
    fake.calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["reply_markup"].is_object())
        .collect()
}

async fn press_answer(fake: &FakeTelegram, press: &str) -> String {
    eventually("the press answered", DEADLINE, async || {
        fake.calls("answerCallbackQuery")
            .into_iter()
            .find(|c| c.body["callback_query_id"] == press)
            .and_then(|c| c.body["text"].as_str().map(str::to_owned))
    })
    .await
}

#[tokio::test]
async fn a_telegram_customer_rates_with_a_button_once_and_each_press_is_answered() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let sara = new_user_id();
    let text = unique("My parcel is late");
    app.deliver(&text_update(1, sara, 1, &text)).await;
    let id = conversation_with(&app, &key, &text).await;
    reply(&app, &key, &id, "It arrives tomorrow").await;
    resolve(&app, &key, &id).await;

    let survey = eventually("the survey sent", DEADLINE, async || {
        surveys_sent(&fake).into_iter().next()
    })
    .await;
    assert_eq!(survey.body["chat_id"], sara);
    assert!(
        survey.body["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("How did we do?"),
        "{}",
        survey.body
    );
    let buttons = survey.body["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .expect("a row of buttons")
        .clone();
    assert_eq!(buttons.len(), 5, "{}", survey.body);
    assert_eq!(buttons[0]["text"], "1 Poor");
    assert_eq!(buttons[4]["text"], "5 Great");
    let data = |n: usize| {
        buttons[n]["callback_data"]
            .as_str()
            .expect("data")
            .to_owned()
    };
    assert!(data(3).len() <= 64, "{}", data(3));
    let sent = events(&app, &key, &id, "survey_sent").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["channel"], "telegram");

    // A modified client can send any data: a token we did not sign answers nothing.
    let forged = data(3).replacen(".", ".f", 1);
    app.deliver(&button_update(2, sara, "press-forged", 90, &forged))
        .await;
    assert_eq!(
        press_answer(&fake, "press-forged").await,
        "This survey is closed."
    );

    app.deliver(&button_update(3, sara, "press-4", 90, &data(3)))
        .await;
    assert_eq!(
        press_answer(&fake, "press-4").await,
        "Thank you for your rating!"
    );
    let rating = rated(&app, &key, &id).await;
    assert_eq!(rating["rating"], 4, "{rating}");
    assert_eq!(rating["number"], 1, "{rating}");

    // The first answer stands: a second press is thanked and changes nothing.
    app.deliver(&button_update(4, sara, "press-5", 90, &data(4)))
        .await;
    assert_eq!(
        press_answer(&fake, "press-5").await,
        "You rated this already. Thank you!"
    );
    assert_eq!(events(&app, &key, &id, "csat_rated").await.len(), 1);

    // Sara writes again, and the conversation is resolved once more within the quiet
    // days: no second survey. Another customer's resolve afterwards is asked, which
    // shows the keeper has passed Sara's.
    let again = unique("One more thing");
    app.deliver(&text_update(5, sara, 2, &again)).await;
    assert_eq!(conversation_with(&app, &key, &again).await, id);
    reply(&app, &key, &id, "Sure").await;
    resolve(&app, &key, &id).await;
    let omid = new_user_id();
    let other = unique("Where is my refund?");
    app.deliver(&text_update(6, omid, 1, &other)).await;
    let other_id = conversation_with(&app, &key, &other).await;
    resolve(&app, &key, &other_id).await;
    eventually("the other customer asked", DEADLINE, async || {
        surveys_sent(&fake)
            .into_iter()
            .find(|c| c.body["chat_id"] == omid)
    })
    .await;
    let to_sara = surveys_sent(&fake)
        .into_iter()
        .filter(|c| c.body["chat_id"] == sara)
        .count();
    assert_eq!(to_sara, 1, "one survey to Sara");
    assert_eq!(events(&app, &key, &id, "survey_sent").await.len(), 1);

    // The reports count the survey and the rating.
    let summary = eventually("the rating counted", DEADLINE, async || {
        let s = app.get_ok(&key, "/v1/reports/summary").await;
        (s["csat"]["responses"] == 1 && s["csat"]["surveys_sent"] == 2).then_some(s)
    })
    .await;
    let csat = &summary["csat"];
    assert_eq!(csat["average"], 4.0, "{csat}");
    assert_eq!(csat["response_rate"], 0.5, "{csat}");
    assert_eq!(csat["satisfied_rate"], 1.0, "{csat}");
    assert_eq!(csat["ratings"], json!([0, 0, 0, 1, 0]), "{csat}");
    assert_eq!(csat["nps"], Value::Null, "{csat}");
}

#[tokio::test]
async fn an_sms_customer_rates_with_a_bare_number_and_anything_more_is_a_message() {
    let fake = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let app = App::spawn_with_twilio(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let customer = "+14155552688";
    let text = |body: &str| sms_params(&new_sid("SM"), customer, body);
    let first = unique("Where is my refund?");
    app.post_twilio("/webhooks/twilio/sms", &text(&first)).await;
    let id = conversation_with(&app, &key, &first).await;
    reply(&app, &key, &id, "Refunded today").await;
    resolve(&app, &key, &id).await;
    let survey = eventually("the survey texted", DEADLINE, async || {
        fake.sent()
            .into_iter()
            .find(|m| m.field("Body").contains("Reply with a number from 1"))
    })
    .await;
    assert_eq!(survey.field("To"), customer);

    app.post_twilio("/webhooks/twilio/sms", &text(" 4 ")).await;
    let rating = rated(&app, &key, &id).await;
    assert_eq!(rating["rating"], 4, "{rating}");
    let conversation = app.get_ok(&key, &format!("/v1/conversations/{id}")).await;
    assert_eq!(
        conversation["status"], "resolved",
        "a rating reopens nothing"
    );

    // Anything more than a number is a message: it reopens the conversation, and a
    // bare number after that is a message too.
    app.post_twilio("/webhooks/twilio/sms", &text("4 boxes please"))
        .await;
    assert_eq!(conversation_with(&app, &key, "4 boxes please").await, id);
    app.post_twilio("/webhooks/twilio/sms", &text("5")).await;
    let texts = eventually("both stored as messages", DEADLINE, async || {
        let texts: Vec<String> = app
            .messages(&key, &id)
            .await
            .into_iter()
            .filter(|m| m["direction"] == "inbound")
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect();
        (texts.len() == 3).then_some(texts)
    })
    .await;
    assert_eq!(texts, vec![first, "4 boxes please".into(), "5".into()]);
    let conversation = app.get_ok(&key, &format!("/v1/conversations/{id}")).await;
    assert_eq!(conversation["status"], "open");
    assert_eq!(events(&app, &key, &id, "csat_rated").await.len(), 1);
}

#[tokio::test]
async fn an_email_customer_rates_from_a_link_and_a_scanner_following_it_records_nothing() {
    let sink = SmtpSink::start(&[]);
    let secret = "relay-secret-0123456789";
    let app = App::spawn_with(&[
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", secret),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
    ])
    .await;
    let key = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let subject = unique("Kettle");
    app.relay_email(
        secret,
        "Sara <sara@example.com>",
        &subject,
        "My kettle broke.",
    )
    .await;
    let id = conversation_with(&app, &key, "My kettle broke.").await;
    reply(&app, &key, &id, "A new one ships today.").await;
    resolve(&app, &key, &id).await;
    let raw = eventually("the survey mailed", DEADLINE, async || {
        sink.messages()
            .into_iter()
            .find(|m| String::from_utf8_lossy(m).contains("/s/"))
    })
    .await;
    assert_eq!(header(&raw, "To").as_deref(), Some("sara@example.com"));
    assert_eq!(
        header(&raw, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let parsed =
        shared::channels::email::parse_email(&raw, &Default::default()).expect("the survey parses");
    let links: Vec<String> = parsed
        .text
        .split_whitespace()
        .filter(|w| w.contains("/s/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(links.len(), 5, "{}", parsed.text);
    assert!(links[3].ends_with("?rating=4"), "{}", links[3]);
    let html = parsed.html.expect("an HTML part");
    for link in &links {
        assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    }

    // A scanner opening every link: each shows the question, and none records a rating.
    for link in &links {
        let page = reqwest::get(link).await.expect("the page answers");
        assert_eq!(page.status().as_u16(), 200);
        let body = page.text().await.unwrap_or_default();
        assert!(body.contains("name=\"rating\""), "{body}");
    }
    let page = reqwest::get(&links[3]).await.expect("the page answers");
    let body = page.text().await.unwrap_or_default();
    assert!(
        body.contains(r#"value="4" required checked"#),
        "the link's rating is chosen: {body}"
    );
    assert!(events(&app, &key, &id, "csat_rated").await.is_empty());

    // The customer presses Send.
    let action = links[3].split('?').next().expect("a path").to_owned();
    let thanks = app
        .post_form_to(&action, &[("rating", "4"), ("comment", "Quick and kind")])
        .await;
    assert_eq!(thanks.status().as_u16(), 200);
    assert!(
        thanks
            .text()
            .await
            .unwrap_or_default()
            .contains("Thank you")
    );
    let rating = rated(&app, &key, &id).await;
    assert_eq!(rating["rating"], 4, "{rating}");
    assert_eq!(rating["comment"], "Quick and kind", "{rating}");
    let again = app.post_form_to(&action, &[("rating", "1")]).await;
    assert_eq!(again.status().as_u16(), 409);
    assert!(
        reqwest::get(&links[0])
            .await
            .expect("the page answers")
            .text()
            .await
            .unwrap_or_default()
            .contains("You rated this already")
    );

    // A token we did not sign, or a rating out of range, takes nothing.
    let forged = action.replacen("/s/", "/s/0", 1);
    assert_eq!(
        app.post_form_to(&forged, &[("rating", "5")])
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.post_form_to(&action, &[("rating", "9")])
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(events(&app, &key, &id, "csat_rated").await.len(), 1);
}

#[tokio::test]
async fn a_web_customer_rates_on_their_page_with_the_recommendation_score_when_asked() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let (status, settings, raw) = status_and_json(
        app.put_json(
            &key,
            "/v1/surveys/settings",
            &json!({ "enabled": true, "quiet_days": 30, "nps": true }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    assert_eq!(settings["nps"], true);
    let text = unique("Help with my order");
    let page = app
        .submit(&[
            ("name", "Sara"),
            ("email", "sara@mail.example"),
            ("message", &text),
        ])
        .await;
    let id = conversation_with(&app, &key, &text).await;
    reply(&app, &key, &id, "Done, it ships today").await;
    resolve(&app, &key, &id).await;
    let html = eventually("the page asks", DEADLINE, async || {
        let body = reqwest::get(&page).await.ok()?.text().await.ok()?;
        body.contains("How did we do?").then_some(body)
    })
    .await;
    assert!(html.contains("name=\"nps\""), "{html}");
    let start = html.find("action=\"/s/").expect("the survey form") + "action=\"".len();
    let end = start + html[start..].find('"').expect("its end");
    let action = app.url(&html[start..end]);
    let thanks = app
        .post_form_to(&action, &[("rating", "5"), ("nps", "9"), ("comment", "")])
        .await;
    assert_eq!(thanks.status().as_u16(), 200);
    let rating = rated(&app, &key, &id).await;
    assert_eq!(rating["rating"], 5, "{rating}");
    assert_eq!(rating["nps"], 9, "{rating}");
    assert_eq!(rating["comment"], Value::Null, "{rating}");
    let html = reqwest::get(&page)
        .await
        .expect("the page answers")
        .text()
        .await
        .unwrap_or_default();
    assert!(!html.contains("action=\"/s/"), "answered: no form any more");
    let summary = eventually("the score counted", DEADLINE, async || {
        let s = app.get_ok(&key, "/v1/reports/summary").await;
        (s["csat"]["nps_responses"] == 1).then_some(s)
    })
    .await;
    assert_eq!(summary["csat"]["nps"], 100.0, "{summary}");
    assert_eq!(summary["csat"]["average"], 5.0, "{summary}");
    let csv = app
        .get(&key, "/v1/reports/summary?format=csv")
        .await
        .text()
        .await
        .unwrap_or_default();
    let mut lines = csv.lines();
    let names: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let values: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| values[names.iter().position(|n| *n == name).expect(name)];
    assert_eq!(column("csat_average"), "5");
    assert_eq!(column("nps_score"), "100");
}

#[tokio::test]
async fn an_admin_turns_surveys_off_for_a_team_and_an_agent_cannot() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agent = app.create_agent("Ada", "ada@shop.example", AGENT);
    let (status, team, raw) = status_and_json(
        app.post_json(&admin, "/v1/teams", &json!({ "name": unique("Billing") }))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    let team = team["id"].as_str().expect("a team id").to_owned();
    let put = |key: &str, body: Value| {
        let (app, key) = (&app, key.to_owned());
        async move {
            let response = app.put_json(&key, "/v1/surveys/settings", &body).await;
            status_and_json(response).await
        }
    };
    let off_for_billing = json!({ "enabled": true, "quiet_days": 30, "teams_off": [team] });
    assert_eq!(put(&agent, off_for_billing.clone()).await.0.as_u16(), 403);
    let (status, _, raw) = put(&admin, json!({ "enabled": true, "quiet_days": 400 })).await;
    assert_eq!(status.as_u16(), 422, "{raw}");
    let (status, _, raw) = put(
        &admin,
        json!({ "enabled": true, "quiet_days": 30, "teams_off": [e2e::unknown_id("tm")] }),
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{raw}");
    let (status, _, raw) = put(&admin, off_for_billing).await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    assert_eq!(
        app.get_ok(&agent, "/v1/surveys/settings").await["teams_off"],
        json!([team])
    );

    let ask = async |name: &str| {
        let text = unique(name);
        let email = format!("{}@mail.example", unique("c"));
        app.submit(&[("name", name), ("email", &email), ("message", &text)])
            .await;
        conversation_with(&app, &admin, &text).await
    };
    let billing = ask("Billing question").await;
    patch(&app, &admin, &billing, json!({ "team_id": team })).await;
    resolve(&app, &admin, &billing).await;
    let general = ask("General question").await;
    resolve(&app, &admin, &general).await;
    eventually("the general one asked", DEADLINE, async || {
        let sent = events(&app, &admin, &general, "survey_sent").await;
        (!sent.is_empty()).then_some(())
    })
    .await;
    assert!(
        events(&app, &admin, &billing, "survey_sent")
            .await
            .is_empty()
    );
}
