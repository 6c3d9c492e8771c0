//! A scripted day of 200 conversations over five channels (the web form, email,
//! Telegram, SMS and PBX calls), each handled one of five ways by one of three agents,
//! some rated by their customers: the summary, the by-agent table and its CSV equal what
//! the test works out from the script alone.

use e2e::{
    ADMIN, AGENT, App, DEADLINE, FakeTelegram, FakeTwilio, PBX_SECRET, SmtpSink, eventually,
    message_update, new_sid, new_user_id, pbx_env, sms_params, status_and_json, telegram_env,
    twilio_env, unique, unix_now,
};
use serde_json::{Value, json};
use std::collections::HashMap;

const CONVERSATIONS: usize = 200;
const EMAIL_SECRET: &str = "relay-secret-0123456789";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Channel {
    Web,
    Email,
    Telegram,
    Sms,
    Voice,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    /// Nobody answers.
    Unanswered,
    /// One reply, then resolved: a first-contact resolution.
    OneAndDone,
    /// A reply, the customer writes again, a second reply, resolved.
    BackAndForth,
    /// A reply and resolved; the customer writes again (a reopen); a reply and resolved.
    Reopened,
    /// Resolved without a reply (a missed call returned by phone).
    ClosedUnanswered,
}

/// One conversation of the day, as the script has it.
#[derive(Clone, Debug)]
struct Planned {
    channel: Channel,
    case: Case,
    agent: usize,
    /// What the customer rates the survey after the (first) resolve, if they do.
    rating: Option<u8>,
}

/// The day's script: the same every run (a fixed seed), every channel, case and agent
/// well mixed. A call is never answered in writing: it is unanswered or resolved.
fn script() -> Vec<Planned> {
    let mut seed: u64 = 0x5eed_2026_1205;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let channels = [
        Channel::Web,
        Channel::Email,
        Channel::Telegram,
        Channel::Sms,
        Channel::Voice,
    ];
    (0..CONVERSATIONS)
        .map(|i| {
            let channel = channels[i % channels.len()];
            let case = match (channel, next(5)) {
                (Channel::Voice, n) if n < 2 => Case::Unanswered,
                (Channel::Voice, _) => Case::ClosedUnanswered,
                (_, 0) => Case::Unanswered,
                (_, 1) => Case::OneAndDone,
                (_, 2) => Case::BackAndForth,
                (_, 3) => Case::Reopened,
                _ => Case::ClosedUnanswered,
            };
            let rates = channel != Channel::Voice
                && matches!(
                    case,
                    Case::OneAndDone | Case::BackAndForth | Case::ClosedUnanswered
                )
                && next(3) > 0;
            Planned {
                channel,
                case,
                agent: next(3) as usize,
                rating: rates.then(|| 1 + next(5) as u8),
            }
        })
        .collect()
}

/// What the day adds up to, worked out from the script alone.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    conversations: i64,
    incoming: i64,
    outgoing: i64,
    resolutions: i64,
    reopened: i64,
    fcr: i64,
    first_responses: i64,
    reply_times: i64,
    surveys: i64,
    ratings: Vec<u8>,
}

impl Tally {
    fn add(&mut self, p: &Planned) {
        let (incoming, outgoing, resolutions, reopened, fcr, first, later) = match p.case {
            Case::Unanswered => (1, 0, 0, 0, 0, 0, 0),
            Case::OneAndDone => (1, 1, 1, 0, 1, 1, 0),
            Case::BackAndForth => (2, 2, 1, 0, 0, 1, 1),
            // The first resolve's first-contact resolution is taken back by the reopen;
            // the second round has one reply again.
            Case::Reopened => (2, 2, 2, 1, 1, 2, 0),
            Case::ClosedUnanswered => (1, 0, 1, 0, 0, 0, 0),
        };
        self.conversations += 1;
        self.incoming += incoming;
        self.outgoing += outgoing;
        self.resolutions += resolutions;
        self.reopened += reopened;
        self.fcr += fcr;
        self.first_responses += first;
        self.reply_times += later;
        // One survey per resolved conversation (a second resolve within the quiet days
        // asks nothing), none for a call.
        if resolutions > 0 && p.channel != Channel::Voice {
            self.surveys += 1;
        }
        self.ratings.extend(p.rating);
    }
}

/// One customer, and how they write again.
struct Customer {
    channel: Channel,
    /// Their email, number or Telegram id, as the channel knows them.
    address: String,
    /// Their customer page, once they wrote on the web form.
    page: Option<String>,
    /// A unique word in everything they write, to find their conversation by.
    word: String,
}

struct Day {
    app: App,
    telegram: FakeTelegram,
    sink: SmtpSink,
    admin: String,
    agents: Vec<(String, String)>,
    update_id: i64,
}

impl Day {
    /// The customer writes (or calls); returns their conversation once it is stored.
    async fn write(&mut self, c: &mut Customer, round: u32) -> String {
        let text = format!("{} question {round}", c.word);
        match c.channel {
            Channel::Web => match &c.page {
                None => {
                    let page = self
                        .app
                        .submit(&[("name", "Sara"), ("email", &c.address), ("message", &text)])
                        .await;
                    c.page = Some(page);
                }
                Some(page) => {
                    let answered = self.app.answer_on_page(page, &text, None).await;
                    assert!(answered.status().is_success(), "{}", answered.status());
                }
            },
            Channel::Email if round == 1 => {
                self.app
                    .relay_email(EMAIL_SECRET, &c.address, &c.word, &text)
                    .await;
            }
            Channel::Email => {
                // An answer to our latest reply, as a mail program writes it: to its
                // Reply-To, naming its Message-ID.
                let ours = eventually("our reply mailed", DEADLINE, async || {
                    self.sink.messages().into_iter().rev().find(|m| {
                        let raw = String::from_utf8_lossy(m);
                        raw.contains(&c.address) && !raw.contains("/s/")
                    })
                })
                .await;
                let header = |name: &str| e2e::header(&ours, name).expect(name);
                let raw = format!(
                    "From: {}\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <{}@mail.example>\r\n\
                     In-Reply-To: {}\r\nMIME-Version: 1.0\r\n\
                     Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n",
                    c.address,
                    header("Reply-To"),
                    c.word,
                    unique("m"),
                    header("Message-ID"),
                );
                let response = reqwest::Client::new()
                    .post(self.app.url("/webhooks/email"))
                    .header("content-type", "message/rfc822")
                    .header("x-switchboard-email-secret", EMAIL_SECRET)
                    .body(raw.into_bytes())
                    .send()
                    .await
                    .expect("the server answers");
                assert_eq!(response.status().as_u16(), 202);
            }
            Channel::Telegram => {
                self.update_id += 1;
                let user: i64 = c.address.parse().expect("a Telegram id");
                let update = message_update(
                    self.update_id,
                    user,
                    self.update_id,
                    json!({ "text": text, "date": chrono::Utc::now().timestamp() }),
                );
                self.app.deliver(&update).await;
            }
            Channel::Sms => {
                self.app
                    .post_twilio(
                        "/webhooks/twilio/sms",
                        &sms_params(&new_sid("SM"), &c.address, &text),
                    )
                    .await;
            }
            Channel::Voice => {
                let call = new_sid("call-");
                for (event, extra) in [
                    ("newCall", json!({})),
                    ("hangup", json!({ "cause": "noAnswer" })),
                ] {
                    let mut body = json!({
                        "event": event, "from": c.address, "to": "+14155550000",
                        "direction": "in", "callId": call,
                    });
                    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                        b.extend(e.clone());
                    }
                    let response = self
                        .app
                        .post_pbx_signed(
                            "application/json",
                            body.to_string().into_bytes(),
                            unix_now(),
                            PBX_SECRET,
                        )
                        .await;
                    assert_eq!(response.status().as_u16(), 200);
                }
                let path = format!(
                    "/v1/contacts/lookup?phone={}",
                    c.address.replace('+', "%2B")
                );
                return eventually("the call stored", DEADLINE, async || {
                    let found = self.app.get(&self.admin, &path).await;
                    if !found.status().is_success() {
                        return None;
                    }
                    let found: Value = found.json().await.ok()?;
                    found["conversation"]["id"].as_str().map(str::to_owned)
                })
                .await;
            }
        }
        let query = format!("/v1/conversations?status=all&q={}", c.word);
        eventually("the message stored", DEADLINE, async || {
            let found = self.app.get_ok(&self.admin, &query).await;
            let hit = found["items"].as_array()?.first()?.clone();
            // Stored, and the newest message is this one.
            (hit["preview"] == text.as_str())
                .then(|| hit["id"].as_str().map(str::to_owned))
                .flatten()
        })
        .await
    }

    async fn patch(&self, key: &str, id: &str, body: Value) {
        let (status, _, raw) = status_and_json(
            self.app
                .patch_json(key, &format!("/v1/conversations/{id}"), &body)
                .await,
        )
        .await;
        assert!(status.is_success(), "{raw}");
    }

    async fn reply(&self, agent: usize, id: &str) {
        let (status, _, raw) = status_and_json(
            self.app
                .post_json(
                    &self.agents[agent].0,
                    &format!("/v1/conversations/{id}/replies"),
                    &json!({ "text": "Here is your answer" }),
                )
                .await,
        )
        .await;
        assert_eq!(status.as_u16(), 202, "{raw}");
    }

    async fn resolve(&self, agent: usize, id: &str) {
        let key = self.agents[agent].0.clone();
        self.patch(&key, id, json!({ "status": "resolved" })).await;
    }

    /// The customer answers the survey of their (first) resolve with `rating`, on their
    /// own channel.
    async fn rate(&mut self, c: &Customer, id: &str, rating: u8) {
        match c.channel {
            Channel::Telegram => {
                let user: i64 = c.address.parse().expect("a Telegram id");
                let survey = eventually("the survey sent", DEADLINE, async || {
                    self.telegram.calls("sendMessage").into_iter().find(|call| {
                        call.body["chat_id"] == user && call.body["reply_markup"].is_object()
                    })
                })
                .await;
                let data = survey.body["reply_markup"]["inline_keyboard"][0]
                    [usize::from(rating - 1)]["callback_data"]
                    .as_str()
                    .expect("a button")
                    .to_owned();
                let press = format!("press-{}", c.word);
                self.update_id += 1;
                let update = e2e::button_update(self.update_id, user, &press, 1, &data);
                self.app.deliver(&update).await;
            }
            Channel::Sms => {
                eventually("the survey texted", DEADLINE, async || {
                    self.surveys_sent_to(id).await.then_some(())
                })
                .await;
                self.app
                    .post_twilio(
                        "/webhooks/twilio/sms",
                        &sms_params(&new_sid("SM"), &c.address, &rating.to_string()),
                    )
                    .await;
            }
            Channel::Email => {
                let raw = eventually("the survey mailed", DEADLINE, async || {
                    self.sink.messages().into_iter().find(|m| {
                        let text = String::from_utf8_lossy(m);
                        text.contains("/s/") && text.contains(&c.address)
                    })
                })
                .await;
                let parsed = shared::channels::email::parse_email(&raw, &Default::default())
                    .expect("the survey parses");
                let link = parsed
                    .text
                    .split_whitespace()
                    .find(|w| w.ends_with(&format!("?rating={rating}")))
                    .expect("the rating's link")
                    .to_owned();
                let action = link.split('?').next().expect("its page").to_owned();
                let sent = self
                    .app
                    .post_form_to(&action, &[("rating", rating.to_string().as_str())])
                    .await;
                assert_eq!(sent.status().as_u16(), 200);
            }
            Channel::Web => {
                let page = c.page.as_deref().expect("a page");
                let html = eventually("the page asks", DEADLINE, async || {
                    let body = reqwest::get(page).await.ok()?.text().await.ok()?;
                    body.contains("action=\"/s/").then_some(body)
                })
                .await;
                let start = html.find("action=\"/s/").expect("a form") + "action=\"".len();
                let end = start + html[start..].find('"').expect("its end");
                let sent = self
                    .app
                    .post_form_to(
                        &self.app.url(&html[start..end]),
                        &[("rating", rating.to_string().as_str())],
                    )
                    .await;
                assert_eq!(sent.status().as_u16(), 200);
            }
            Channel::Voice => unreachable!("a call is not surveyed"),
        }
        eventually("the rating recorded", DEADLINE, async || {
            self.app
                .timeline(&self.admin, id)
                .await
                .into_iter()
                .any(|i| i["type"] == "csat_rated")
                .then_some(())
        })
        .await;
    }

    async fn surveys_sent_to(&self, id: &str) -> bool {
        self.app
            .timeline(&self.admin, id)
            .await
            .into_iter()
            .any(|i| i["type"] == "survey_sent")
    }
}

async fn agent(app: &App, name: &str) -> (String, String) {
    let key = app.create_agent(name, &format!("{}@shop.example", unique(name)), AGENT);
    let id = app.get_ok(&key, "/v1/me").await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    (key, id)
}

/// A report row (the summary, or one agent's) holds what the script says.
fn check(row: &Value, want: &Tally, who: &str) {
    let count = |name: &str| row[name].as_i64().unwrap_or(-1);
    assert_eq!(
        count("outgoing_messages_count"),
        want.outgoing,
        "{who}: {row}"
    );
    assert_eq!(count("resolutions_count"), want.resolutions, "{who}: {row}");
    assert_eq!(count("reopened_count"), want.reopened, "{who}: {row}");
    assert_eq!(
        count("first_contact_resolutions_count"),
        want.fcr,
        "{who}: {row}"
    );
    assert_eq!(
        row["first_response"]["count"], want.first_responses,
        "{who}: {row}"
    );
    assert_eq!(row["reply_time"]["count"], want.reply_times, "{who}: {row}");
    assert_eq!(row["csat"]["surveys_sent"], want.surveys, "{who}: {row}");
    assert_eq!(row["csat"]["responses"], want.ratings.len(), "{who}: {row}");
    let mut each = [0i64; 5];
    for r in &want.ratings {
        each[usize::from(*r - 1)] += 1;
    }
    assert_eq!(row["csat"]["ratings"], json!(each), "{who}: {row}");
    if !want.ratings.is_empty() {
        let mean =
            want.ratings.iter().map(|r| f64::from(*r)).sum::<f64>() / want.ratings.len() as f64;
        let got = row["csat"]["average"].as_f64().expect("an average");
        assert!(
            (got - (mean * 1000.0).round() / 1000.0).abs() < 1e-9,
            "{who}: {got} against {mean}"
        );
    }
}

/// Each agent's row of `by/agent`, as JSON and as CSV, holds what they did.
fn check_agents(table: &Value, csv: &str, agents: &[String], by_agent: &[Tally]) {
    let rows = table["items"].as_array().expect("items");
    let csv = csv_rows(csv);
    for (n, id) in agents.iter().enumerate() {
        let dimension = format!("agent:{id}");
        let row = rows
            .iter()
            .find(|r| r["dimension"] == dimension)
            .unwrap_or_else(|| panic!("agent {n} in {table}"));
        check(row, &by_agent[n], &format!("agent {n}"));
        let cells = csv
            .iter()
            .find(|r| r.get("dimension") == Some(&dimension))
            .unwrap_or_else(|| panic!("agent {n} in the CSV"));
        let want = &by_agent[n];
        for (column, value) in [
            ("outgoing_messages_count", want.outgoing),
            ("resolutions_count", want.resolutions),
            ("first_contact_resolutions_count", want.fcr),
            ("csat_responses_count", want.ratings.len() as i64),
            ("surveys_sent_count", want.surveys),
        ] {
            assert_eq!(cells[column], value.to_string(), "agent {n}: {column}");
        }
    }
}

/// A CSV as rows of named cells.
fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|line| {
            names
                .iter()
                .cloned()
                .zip(line.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_scripted_day_of_two_hundred_conversations_adds_up_to_what_the_script_says() {
    let telegram = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let sink = SmtpSink::start(&[]);
    let smtp = sink.url();
    let env: Vec<(&str, String)> = telegram_env(&telegram)
        .into_iter()
        .chain(twilio_env(&twilio))
        .chain(pbx_env())
        .chain([
            ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0".to_owned()),
            ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET.to_owned()),
            ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test".to_owned()),
            ("SWITCHBOARD_SMTP_URL", smtp),
            (
                "SWITCHBOARD_EMAIL_FROM",
                "support@switchboard.test".to_owned(),
            ),
        ])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = App::spawn_with(&env).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    let agents = vec![
        agent(&app, "Ada").await,
        agent(&app, "Bea").await,
        agent(&app, "Cy").await,
    ];
    let mut day = Day {
        app,
        telegram,
        sink,
        admin,
        agents,
        update_id: 40_000,
    };

    let plan = script();
    let mut all = Tally::default();
    let mut by_agent: Vec<Tally> = (0..3).map(|_| Tally::default()).collect();
    for (n, p) in plan.iter().enumerate() {
        all.add(p);
        by_agent[p.agent].add(p);
        let word = unique(&format!("w{n}")).replace('-', "x");
        let address = match p.channel {
            Channel::Web | Channel::Email => format!("{word}@mail.example"),
            Channel::Telegram => new_user_id().to_string(),
            Channel::Sms | Channel::Voice => format!("+1415556{n:04}"),
        };
        let mut customer = Customer {
            channel: p.channel,
            address,
            page: None,
            word,
        };
        let id = day.write(&mut customer, 1).await;
        // The scripted agent takes it first: what follows counts for them.
        let agent_id = day.agents[p.agent].1.clone();
        let admin = day.admin.clone();
        day.patch(&admin, &id, json!({ "assignee_id": agent_id }))
            .await;
        let a = p.agent;
        match p.case {
            Case::Unanswered => {}
            Case::OneAndDone => {
                day.reply(a, &id).await;
                day.resolve(a, &id).await;
            }
            Case::BackAndForth => {
                day.reply(a, &id).await;
                assert_eq!(day.write(&mut customer, 2).await, id);
                day.reply(a, &id).await;
                day.resolve(a, &id).await;
            }
            Case::Reopened => {
                day.reply(a, &id).await;
                day.resolve(a, &id).await;
                // Written once the survey went: the customer's answer is a message.
                eventually("the survey sent", DEADLINE, async || {
                    day.surveys_sent_to(&id).await.then_some(())
                })
                .await;
                assert_eq!(day.write(&mut customer, 2).await, id);
                day.reply(a, &id).await;
                day.resolve(a, &id).await;
            }
            Case::ClosedUnanswered => day.resolve(a, &id).await,
        }
        if let Some(rating) = p.rating {
            day.rate(&customer, &id, rating).await;
        }
    }
    assert!(
        [
            Channel::Web,
            Channel::Email,
            Channel::Telegram,
            Channel::Sms,
            Channel::Voice
        ]
        .iter()
        .all(|ch| plan
            .iter()
            .any(|p| p.channel == *ch && p.rating.is_some() == (*ch != Channel::Voice))),
        "every channel in the day, rated where it can be"
    );

    let app = &day.app;
    let summary = eventually("the day counted", DEADLINE, async || {
        let s = app.get_ok(&day.admin, "/v1/reports/summary").await;
        (s["csat"]["responses"] == all.ratings.len() && s["resolutions_count"] == all.resolutions)
            .then_some(s)
    })
    .await;
    assert_eq!(
        summary["conversations_count"], all.conversations,
        "{summary}"
    );
    assert_eq!(
        summary["incoming_messages_count"], all.incoming,
        "{summary}"
    );
    check(&summary, &all, "everyone");

    // Side by side, each agent's row holds what they did; the same as CSV.
    let table = app.get_ok(&day.admin, "/v1/reports/by/agent").await;
    let csv = app
        .get(&day.admin, "/v1/reports/by/agent?format=csv")
        .await
        .text()
        .await
        .expect("a CSV");
    let ids: Vec<String> = day.agents.iter().map(|(_, id)| id.clone()).collect();
    check_agents(&table, &csv, &ids, &by_agent);
}

/// The same day on the Lambda functions and the AWS emulator, for the channels the
/// test stack serves (email through SES has its own tests): the first 15 of the
/// script without its emails. Each phase runs what AWS would run after it: the router
/// on the inbound queue, the event log on the table's stream, the sweeper's minute,
/// the sender on the outbound queue.
#[tokio::test]
async fn the_same_day_adds_up_the_same_on_the_lambda_functions() {
    use e2e::events::HttpRequest;
    use e2e::stack::{Source, Stack};
    use e2e::table_stream::TableStream;
    use shared::channels::{pbx, twilio::signature};

    const API_URL: &str = "https://e2eapi0001.execute-api.us-east-1.amazonaws.com";
    let telegram = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let cloud = e2e::cloud::Cloud::create().await;
    let bot = cloud.put_secret("day-bot-token", e2e::BOT_TOKEN).await;
    let hook = cloud
        .put_secret("day-webhook-secret", e2e::WEBHOOK_SECRET)
        .await;
    let auth = cloud.put_secret("day-twilio-token", e2e::AUTH_TOKEN).await;
    let pbx_secret = cloud.put_secret("day-pbx-secret", PBX_SECRET).await;
    let mut stack = Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_TELEGRAM_BOT_TOKEN_PARAMETER", &bot),
            ("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET_PARAMETER", &hook),
            ("SWITCHBOARD_TELEGRAM_API_URL", telegram.url()),
            ("SWITCHBOARD_TWILIO_ACCOUNT_SID", e2e::ACCOUNT_SID),
            ("SWITCHBOARD_TWILIO_AUTH_TOKEN_PARAMETER", &auth),
            ("SWITCHBOARD_TWILIO_API_URL", twilio.url()),
            ("SWITCHBOARD_TWILIO_FROM", e2e::OUR_NUMBER),
            ("SWITCHBOARD_PBX_SECRET_PARAMETER", &pbx_secret),
            ("SWITCHBOARD_DEFAULT_REGION", "US"),
        ],
    )
    .await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let admin = stack
        .cloud
        .create_agent("Root", "root@shop.example", shared::model::Role::Admin)
        .await;
    let mut agents = Vec::new();
    for name in ["Ada", "Bea", "Cy"] {
        let key = stack
            .cloud
            .create_agent(
                name,
                &format!("{}@shop.example", unique(name)),
                shared::model::Role::Agent,
            )
            .await;
        let id = stack.get_ok(&key, "/v1/me").await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        agents.push((key, id));
    }
    // The first sweep finds where the log stands: counting starts from then on.
    stack.sweep().await;

    let plan: Vec<Planned> = script()
        .into_iter()
        .take(15)
        .filter(|p| p.channel != Channel::Email)
        .collect();
    let mut all = Tally::default();
    let mut by_agent: Vec<Tally> = (0..3).map(|_| Tally::default()).collect();
    for p in &plan {
        all.add(p);
        by_agent[p.agent].add(p);
    }
    /// A form Twilio posts to `path`, signed over the URL it called.
    fn twilio_form(path: &str, params: &[(String, String)]) -> HttpRequest {
        let signed = signature::sign(e2e::AUTH_TOKEN, &format!("{API_URL}{path}"), params);
        HttpRequest::new("POST", path)
            .header(signature::HEADER, signed)
            .form(params)
    }
    let mut update_id = 70_000;
    // What each customer writes, in order; run all of one round, then route them.
    struct Live {
        customer: Customer,
        id: String,
    }
    async fn write(stack: &mut Stack, c: &mut Customer, round: u32, update_id: &mut i64) {
        let text = format!("{} question {round}", c.word);
        let response = match c.channel {
            Channel::Web => match &c.page {
                None => {
                    let r = stack
                        .post_webform(&[
                            ("name", "Sara"),
                            ("email", &c.address),
                            ("message", &text),
                        ])
                        .await;
                    c.page = r.json()["conversation_url"].as_str().map(str::to_owned);
                    r
                }
                Some(page) => {
                    let path = page[page.find("/c/").expect("a page path")..].to_owned();
                    stack
                        .http(
                            HttpRequest::new("POST", &path)
                                .header("accept", "application/json")
                                .form(&[("message", text.as_str())]),
                        )
                        .await
                }
            },
            Channel::Telegram => {
                *update_id += 1;
                let user: i64 = c.address.parse().expect("a Telegram id");
                let update = message_update(
                    *update_id,
                    user,
                    *update_id,
                    json!({ "text": text, "date": chrono::Utc::now().timestamp() }),
                );
                stack
                    .http(
                        HttpRequest::new("POST", "/webhooks/telegram")
                            .header("x-telegram-bot-api-secret-token", e2e::WEBHOOK_SECRET)
                            .json(&update),
                    )
                    .await
            }
            Channel::Sms => {
                let params = sms_params(&new_sid("SM"), &c.address, &text);
                stack
                    .http(twilio_form("/webhooks/twilio/sms", &params))
                    .await
            }
            Channel::Voice => {
                let call = new_sid("call-");
                let mut last = None;
                for (event, extra) in [
                    ("newCall", json!({})),
                    ("hangup", json!({ "cause": "noAnswer" })),
                ] {
                    let mut body = json!({
                        "event": event, "from": c.address, "to": "+14155550000",
                        "direction": "in", "callId": call,
                    });
                    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                        b.extend(e.clone());
                    }
                    let now = unix_now();
                    let raw = body.to_string();
                    let request = HttpRequest::new("POST", "/webhooks/pbx")
                        .header(pbx::signature::TIMESTAMP_HEADER, now.to_string())
                        .header(
                            pbx::signature::SIGNATURE_HEADER,
                            pbx::signature::sign(PBX_SECRET, now, raw.as_bytes()),
                        )
                        .json(&body);
                    last = Some(stack.http(request).await);
                }
                last.expect("a call")
            }
            Channel::Email => unreachable!("no email on this stack"),
        };
        assert!(
            (200..300).contains(&response.status) || response.status == 303,
            "{}: {}",
            response.status,
            response.text()
        );
    }

    // Round one: every customer writes; the router stores them all.
    let mut live = Vec::new();
    for (n, p) in plan.iter().enumerate() {
        let word = unique(&format!("m{n}")).replace('-', "x");
        let address = match p.channel {
            Channel::Web | Channel::Email => format!("{word}@mail.example"),
            Channel::Telegram => new_user_id().to_string(),
            Channel::Sms | Channel::Voice => format!("+1415557{n:04}"),
        };
        let mut customer = Customer {
            channel: p.channel,
            address,
            page: None,
            word,
        };
        write(&mut stack, &mut customer, 1, &mut update_id).await;
        live.push(Live {
            customer,
            id: String::new(),
        });
    }
    stack.drain(Source::Inbound).await;
    let conversations = stack.all_conversations(&admin).await;
    assert_eq!(
        conversations.len(),
        plan.len(),
        "every customer's conversation"
    );
    for l in &mut live {
        let word = format!("{} question 1", l.customer.word);
        let found = conversations.iter().find(|c| {
            c["preview"] == word.as_str()
                || (l.customer.channel == Channel::Voice
                    && c["preview"]
                        .as_str()
                        .is_some_and(|p| p.contains(&l.customer.address)))
        });
        l.id = found
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("the conversation of {}", l.customer.word))
            .to_owned();
    }
    let reply = async |stack: &mut Stack, agent: usize, id: &str| {
        let r = stack
            .api(
                "POST",
                &format!("/v1/conversations/{id}/replies"),
                &agents[agent].0,
                Some(&json!({ "text": "Here is your answer" })),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text());
    };
    let patch = async |stack: &mut Stack, key: &str, id: &str, body: Value| {
        let r = stack
            .api(
                "PATCH",
                &format!("/v1/conversations/{id}"),
                key,
                Some(&body),
            )
            .await;
        assert!((200..300).contains(&r.status), "{}", r.text());
    };
    // The agents answer; the back-and-forth customers write again.
    for (p, l) in plan.iter().zip(&live) {
        let agent_id = agents[p.agent].1.clone();
        patch(
            &mut stack,
            &admin,
            &l.id,
            json!({ "assignee_id": agent_id }),
        )
        .await;
        if matches!(
            p.case,
            Case::OneAndDone | Case::BackAndForth | Case::Reopened
        ) {
            reply(&mut stack, p.agent, &l.id).await;
        }
    }
    for (p, l) in plan.iter().zip(&mut live) {
        if p.case == Case::BackAndForth {
            write(&mut stack, &mut l.customer, 2, &mut update_id).await;
        }
    }
    stack.drain(Source::Inbound).await;
    for (p, l) in plan.iter().zip(&live) {
        if p.case == Case::BackAndForth {
            reply(&mut stack, p.agent, &l.id).await;
        }
        if p.case != Case::Unanswered {
            let key = agents[p.agent].0.clone();
            patch(&mut stack, &key, &l.id, json!({ "status": "resolved" })).await;
        }
    }
    // A minute passes: the log is kept, the sweeper asks the resolved for a rating,
    // the sender delivers the replies and the surveys.
    let minute = async |stack: &mut Stack, stream: &mut TableStream| {
        stack.deliver_stream(stream).await;
        // Past the feed's settling second.
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        stack.sweep().await;
        stack.drain(Source::Outbound).await;
    };
    minute(&mut stack, &mut stream).await;

    // The reopened write again and are answered; the rest rate on their channel.
    for (p, l) in plan.iter().zip(&mut live) {
        if p.case == Case::Reopened {
            write(&mut stack, &mut l.customer, 2, &mut update_id).await;
        }
        let Some(rating) = p.rating else { continue };
        let c = &l.customer;
        match c.channel {
            Channel::Telegram => {
                let user: i64 = c.address.parse().expect("a Telegram id");
                let survey = telegram
                    .calls("sendMessage")
                    .into_iter()
                    .find(|call| {
                        call.body["chat_id"] == user && call.body["reply_markup"].is_object()
                    })
                    .expect("the survey sent");
                let data = survey.body["reply_markup"]["inline_keyboard"][0]
                    [usize::from(rating - 1)]["callback_data"]
                    .as_str()
                    .expect("a button")
                    .to_owned();
                update_id += 1;
                let press = e2e::button_update(update_id, user, &format!("p{}", c.word), 1, &data);
                let r = stack
                    .http(
                        HttpRequest::new("POST", "/webhooks/telegram")
                            .header("x-telegram-bot-api-secret-token", e2e::WEBHOOK_SECRET)
                            .json(&press),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
            Channel::Sms => {
                let params = sms_params(&new_sid("SM"), &c.address, &rating.to_string());
                let r = stack
                    .http(twilio_form("/webhooks/twilio/sms", &params))
                    .await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
            Channel::Web => {
                let page = c.page.as_deref().expect("a page");
                let path = page[page.find("/c/").expect("a page path")..].to_owned();
                let html = stack.http(HttpRequest::new("GET", &path)).await.text();
                let start = html.find("action=\"/s/").expect("the survey form") + "action=\"".len();
                let action =
                    html[start..start + html[start..].find('"').expect("its end")].to_owned();
                let r = stack
                    .http(HttpRequest::new("POST", &action).form(&[("rating", rating.to_string())]))
                    .await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
            Channel::Email | Channel::Voice => unreachable!("not rated here"),
        }
    }
    stack.drain(Source::Inbound).await;
    for (p, l) in plan.iter().zip(&live) {
        if p.case == Case::Reopened {
            reply(&mut stack, p.agent, &l.id).await;
            let key = agents[p.agent].0.clone();
            patch(&mut stack, &key, &l.id, json!({ "status": "resolved" })).await;
        }
    }
    // Counted by the next minutes (each reader of the log has its share of a sweep).
    let mut summary = Value::Null;
    for _ in 0..5 {
        minute(&mut stack, &mut stream).await;
        summary = stack.get_ok(&admin, "/v1/reports/summary").await;
        if summary["resolutions_count"] == all.resolutions
            && summary["csat"]["responses"] == all.ratings.len()
        {
            break;
        }
    }
    assert_eq!(
        summary["conversations_count"], all.conversations,
        "{summary}"
    );
    assert_eq!(
        summary["incoming_messages_count"], all.incoming,
        "{summary}"
    );
    check(&summary, &all, "everyone");
    let table = stack.get_ok(&admin, "/v1/reports/by/agent").await;
    let csv = stack
        .api("GET", "/v1/reports/by/agent?format=csv", &admin, None)
        .await
        .text();
    let ids: Vec<String> = agents.iter().map(|(_, id)| id.clone()).collect();
    check_agents(&table, &csv, &ids, &by_agent);
}
