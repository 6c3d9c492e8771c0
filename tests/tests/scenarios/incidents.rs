//! Crisis mode on the real binary, with the fake Telegram, the fake Twilio and the SMTP
//! sink: 300 customers on four channels write about a failed card payment, 50 write
//! about other things. The incident links exactly the 300 and tells each of them the
//! status text once; one update reaches each of them exactly once on their own channel,
//! across a `kill -9` in the middle of it; the final update resolves those who asked
//! about the incident alone and leaves open those who asked something more.

use e2e::pace::{busiest_second, closest_calls_to_one_chat};
use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, FakeTwilio, SmtpSink, eventually, message_update, new_sid,
    new_user_id, sms_params, status_and_json, telegram_env, twilio_env, unique,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const EMAIL_SECRET: &str = "relay-secret-0123456789";
/// Customers who write about the outage before it is declared, and after.
const BEFORE: usize = 250;
const AFTER: usize = 50;
const UNRELATED: usize = 50;
const STATUS_EN: &str =
    "Card payments are failing at our bank's gateway. We are on it; no need to pay twice.";
const STATUS_FA: &str = "پرداخت با کارت به‌خاطر قطعی درگاه بانک انجام نمی‌شود. در حال پیگیری هستیم.";
/// How long the whole flow may wait for the fan-out of one update.
const FAN_OUT_DEADLINE: Duration = Duration::from_secs(120);

/// What customers ask on an ordinary day.
const EVERYDAY: &[&str] = &[
    "Where is my parcel?",
    "Do you ship to Tabriz?",
    "Can I change the size of my order?",
    "سلام، سفارشم کی می‌رسه؟",
    "How do I return a broken mug",
    "I want to cancel my order please",
    "آیا ارسال به شیراز دارید؟",
    "My invoice shows the wrong address",
    "Is the blue jacket back in stock?",
    "کد تخفیف من کار نمی‌کنه",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Channel {
    Web,
    Email,
    Telegram,
    Sms,
}

const CHANNELS: [Channel; 4] = [
    Channel::Web,
    Channel::Email,
    Channel::Telegram,
    Channel::Sms,
];

#[derive(Clone, Debug)]
struct Customer {
    channel: Channel,
    /// Their email, Telegram id or number.
    address: String,
    /// A word in all they write, to find their conversation by.
    word: String,
    related: bool,
    persian: bool,
}

impl Customer {
    fn new(n: usize, related: bool) -> Self {
        let channel = CHANNELS[n % CHANNELS.len()];
        let word = unique(&format!("c{n}")).replace('-', "x");
        let address = match channel {
            Channel::Web | Channel::Email => format!("{word}@mail.example"),
            Channel::Telegram => new_user_id().to_string(),
            Channel::Sms => format!("+1415557{n:04}"),
        };
        Self {
            channel,
            address,
            word,
            related,
            persian: related && n.is_multiple_of(3),
        }
    }

    fn first_text(&self, n: usize) -> String {
        let w = &self.word;
        match (self.related, self.persian, n % 3) {
            (true, true, _) => format!("سلام، پرداخت ناموفق بود ولی پول کم شد {w}"),
            (true, false, 1) => format!("My card payment failed at checkout {w}"),
            (true, false, _) => format!("The bank gateway shows an error when I pay {w}"),
            (false, _, _) => format!("{} {w}", EVERYDAY[(n / 6) % EVERYDAY.len()]),
        }
    }
}

struct Crisis {
    app: App,
    telegram: FakeTelegram,
    twilio: FakeTwilio,
    sink: SmtpSink,
    admin: String,
    update_id: i64,
}

impl Crisis {
    async fn write(&mut self, c: &Customer, text: &str) {
        match c.channel {
            Channel::Web => {
                let page = self
                    .app
                    .submit(&[("name", "Sara"), ("email", &c.address), ("message", text)])
                    .await;
                assert!(page.contains("/c/"), "{page}");
            }
            Channel::Email => {
                self.app
                    .relay_email(EMAIL_SECRET, &c.address, &c.word, text)
                    .await;
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
                        &sms_params(&new_sid("SM"), &c.address, text),
                    )
                    .await;
            }
        }
    }

    /// Every customer's conversation id, found by the word all they write holds;
    /// none until each is stored.
    async fn conversations(&self, customers: &[Customer]) -> Option<HashMap<String, String>> {
        let mut by_word = HashMap::new();
        for c in customers {
            let path = format!("/v1/conversations?status=all&q={}", c.word);
            let found = self.app.get_ok(&self.admin, &path).await;
            let hits = found["items"].as_array()?;
            assert!(hits.len() <= 1, "one conversation each: {found}");
            let id = hits.first()?["id"].as_str()?.to_owned();
            by_word.insert(c.word.clone(), id);
        }
        Some(by_word)
    }

    async fn incident(&self, id: &str) -> Value {
        self.app
            .get_ok(&self.admin, &format!("/v1/incidents/{id}"))
            .await
    }

    fn linked_total(incident: &Value) -> u64 {
        incident["linked"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
    }

    /// The conversation ids linked to the incident, every page.
    async fn linked_ids(&self, id: &str) -> Vec<String> {
        self.app
            .list_all(&self.admin, &format!("/v1/incidents/{id}/conversations"))
            .await
            .into_iter()
            .map(|l| {
                l["conversation"]["id"]
                    .as_str()
                    .expect("a conversation id")
                    .to_owned()
            })
            .collect()
    }

    /// How many messages holding `needle` each customer received on their own channel,
    /// counted at each fake (a web-form customer hears by email, at what they typed).
    fn received(&self, customers: &[Customer], needle: &str) -> HashMap<String, usize> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for call in self.telegram.calls("sendMessage") {
            if call.body["text"]
                .as_str()
                .is_some_and(|t| t.contains(needle))
            {
                *counts.entry(call.body["chat_id"].to_string()).or_default() += 1;
            }
        }
        for sms in self.twilio.sent() {
            if sms.field("Body").contains(needle) {
                *counts.entry(sms.field("To").to_owned()).or_default() += 1;
            }
        }
        for raw in self.sink.messages() {
            let Ok(parsed) = shared::channels::email::parse_email(&raw, &Default::default()) else {
                continue;
            };
            if !parsed.text.contains(needle) {
                continue;
            }
            let to = e2e::header(&raw, "To").unwrap_or_default();
            if let Some(c) = customers.iter().find(|c| to.contains(&c.address)) {
                *counts.entry(c.address.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// Waits until every customer in `who` received `needle` (and for stragglers a
    /// moment more), then asserts each received it exactly once and nobody else did.
    async fn each_received_once(&self, customers: &[Customer], who: &[&Customer], needle: &str) {
        eventually(
            &format!("all {} told", who.len()),
            FAN_OUT_DEADLINE,
            async || {
                let counts = self.received(customers, needle);
                (who.iter().all(|c| counts.contains_key(&c.address))).then_some(())
            },
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let counts = self.received(customers, needle);
        for c in who {
            assert_eq!(
                counts.get(&c.address).copied(),
                Some(1),
                "{:?} customer {} got `{needle}` {:?} times",
                c.channel,
                c.address,
                counts.get(&c.address)
            );
        }
        assert_eq!(
            counts.values().sum::<usize>(),
            who.len(),
            "only those customers, once each"
        );
    }

    /// Waits until the update has been written everywhere and every reply has gone or
    /// failed; returns its progress.
    async fn update_done(&self, id: &str, update_id: &str, total: u64) -> Value {
        eventually("the update out everywhere", FAN_OUT_DEADLINE, async || {
            let incident = self.incident(id).await;
            let update = incident["updates"]
                .as_array()?
                .iter()
                .find(|u| u["id"] == update_id)?
                .clone();
            let p = &update["progress"];
            let settled = p["sent"].as_u64()? + p["failed"].as_u64()?;
            (p["fanned_out"] == true && p["queued"] == total && settled == total).then(|| p.clone())
        })
        .await
    }
}

#[tokio::test]
async fn an_outage_on_four_channels_is_one_incident_answered_once_each_across_a_kill() {
    let telegram = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let sink = SmtpSink::start(&[]);
    let env: Vec<(&str, String)> = telegram_env(&telegram)
        .into_iter()
        .chain(twilio_env(&twilio))
        .chain([
            ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0".to_owned()),
            ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET.to_owned()),
            ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test".to_owned()),
            ("SWITCHBOARD_SMTP_URL", sink.url()),
            (
                "SWITCHBOARD_EMAIL_FROM",
                "support@switchboard.test".to_owned(),
            ),
        ])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = App::spawn_with(&env).await;
    let admin = app.create_agent("Root", "root@shop.example", ADMIN);
    // Surveys would be one more message each at the end; this test counts updates.
    let (status, _, raw) = status_and_json(
        app.put_json(
            &admin,
            "/v1/surveys/settings",
            &json!({ "enabled": false, "quiet_days": 30 }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{raw}");
    let mut crisis = Crisis {
        app,
        telegram,
        twilio,
        sink,
        admin,
        update_id: 70_000,
    };

    let feed_start = crisis.app.get_ok(&crisis.admin, "/v1/events").await["next_cursor"]
        .as_str()
        .expect("where the feed stands")
        .to_owned();

    // The flood: the outage and everyday questions mixed, on four channels.
    let mut customers: Vec<Customer> = Vec::new();
    for n in 0..BEFORE + UNRELATED {
        let related = n % 6 != 5;
        let c = Customer::new(n, related);
        crisis.write(&c, &c.first_text(n)).await;
        customers.push(c);
    }
    let related_before = customers.iter().filter(|c| c.related).count();
    assert_eq!(related_before, BEFORE, "the script's mix");
    eventually("the flood stored", Duration::from_secs(60), async || {
        crisis.conversations(&customers).await
    })
    .await;

    // The burst is noticed: an incident is proposed, in the log for webhooks and
    // clients, naming words of each wording of the outage and of nothing else.
    let related_wordings: Vec<String> = (0..6)
        .map(|n| {
            Customer {
                related: true,
                persian: n % 3 == 0,
                ..customers[0].clone()
            }
            .first_text(n)
        })
        .collect();
    let proposed = eventually(
        "an incident proposed for every wording",
        DEADLINE,
        async || {
            let list = crisis
                .app
                .get_ok(&crisis.admin, "/v1/incidents?state=proposed")
                .await;
            let items = list["items"].as_array()?;
            assert!(items.len() <= 1, "one proposal: {list}");
            let proposal = items.first()?.clone();
            let terms = proposal["match"]["terms"].as_array()?.clone();
            related_wordings
                .iter()
                .all(|w| {
                    let w = shared::model::normalize_text(w);
                    terms
                        .iter()
                        .any(|t| t.as_str().is_some_and(|t| w.contains(t)))
                })
                .then_some(proposal)
        },
    )
    .await;
    let id = proposed["id"].as_str().expect("an id").to_owned();
    let terms: Vec<String> = proposed["match"]["terms"]
        .as_array()
        .expect("terms")
        .iter()
        .map(|t| t.as_str().expect("a term").to_owned())
        .collect();
    eprintln!("proposed: {} {terms:?}", proposed["title"]);
    let matches = |text: &str| {
        let text = shared::model::normalize_text(text);
        terms.iter().any(|t| text.contains(t.as_str()))
    };
    for (n, c) in customers.iter().enumerate() {
        assert_eq!(matches(&c.first_text(n)), c.related, "{}", c.first_text(n));
    }
    let mut after = feed_start.clone();
    let mut logged = false;
    while !logged {
        let page = crisis
            .app
            .get_ok(
                &crisis.admin,
                &format!("/v1/events?after={after}&limit=100"),
            )
            .await;
        let events = page["events"].as_array().expect("events");
        assert!(!events.is_empty(), "incident.proposed in the feed");
        logged = events
            .iter()
            .any(|e| e["type"] == "incident.proposed" && e["incident_id"] == id.as_str());
        after = page["next_cursor"].as_str().expect("a cursor").to_owned();
    }
    // Accepting it wants what customers are told first.
    let refused = crisis
        .app
        .post_json(
            &crisis.admin,
            &format!("/v1/incidents/{id}/accept"),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    let mut matching = proposed["match"].clone();
    matching["terms"]
        .as_array_mut()
        .expect("terms")
        .push(json!("payment failed"));
    let (status, _, raw) = status_and_json(
        crisis
            .app
            .put_json(
                &crisis.admin,
                &format!("/v1/incidents/{id}"),
                &json!({
                    "title": "Card gateway down",
                    "status_text": { "en": STATUS_EN, "fa": STATUS_FA },
                    "match": matching,
                }),
            )
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    // Accepted: what is open and matches is linked, and told the status once.
    let (status, incident, raw) = status_and_json(
        crisis
            .app
            .post_json(
                &crisis.admin,
                &format!("/v1/incidents/{id}/accept"),
                &json!({}),
            )
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    assert_eq!(incident["state"], "active");
    eventually("the open ones linked", DEADLINE * 4, async || {
        (Crisis::linked_total(&crisis.incident(&id).await) == BEFORE as u64).then_some(())
    })
    .await;

    // More write after it was declared, one of them five times, and an auto-reply
    // about it arrives by email: the keeper links the people, never the robot.
    let started = customers.len();
    for n in started..started + AFTER {
        let c = Customer::new(n, true);
        crisis.write(&c, &c.first_text(n)).await;
        customers.push(c);
    }
    let insistent = customers[started + 2].clone();
    assert_eq!(insistent.channel, Channel::Telegram);
    for round in 0..4 {
        let text = format!("payment failed, hello?? {} {round}", insistent.word);
        crisis.write(&insistent, &text).await;
    }
    let robot = format!("{}@mail.example", unique("robot"));
    let auto_reply = format!(
        "From: {robot}\r\nTo: support@switchboard.test\r\nSubject: Out of office\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <{}@mail.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nI am away; my payment failed too.\r\n",
        unique("m")
    );
    let taken = reqwest::Client::new()
        .post(crisis.app.url("/webhooks/email"))
        .header("content-type", "message/rfc822")
        .header("x-switchboard-email-secret", EMAIL_SECRET)
        .body(auto_reply.into_bytes())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(taken.status().as_u16(), 202, "taken, and set aside");

    let related: Vec<&Customer> = customers.iter().filter(|c| c.related).collect();
    assert_eq!(related.len(), BEFORE + AFTER);
    let incident = eventually("every related one linked", DEADLINE * 4, async || {
        let incident = crisis.incident(&id).await;
        (Crisis::linked_total(&incident) == (BEFORE + AFTER) as u64).then_some(incident)
    })
    .await;
    for (channel, name) in CHANNELS.iter().zip(["web", "email", "telegram", "sms"]) {
        let want = related.iter().filter(|c| c.channel == *channel).count();
        assert_eq!(
            incident["linked"][name], want,
            "linked on {name}: {}",
            incident["linked"]
        );
    }
    let by_word = eventually("all stored", DEADLINE, async || {
        crisis.conversations(&customers).await
    })
    .await;
    let linked = crisis.linked_ids(&id).await;
    assert_eq!(linked.len(), BEFORE + AFTER, "one link each");
    for c in &customers {
        let cid = by_word[&c.word].clone();
        assert_eq!(
            linked.contains(&cid),
            c.related,
            "{:?} {} related: {}",
            c.channel,
            c.word,
            c.related
        );
        let shown = crisis
            .app
            .get_ok(&crisis.admin, &format!("/v1/conversations/{cid}"))
            .await;
        assert_eq!(
            shown["incident_id"].as_str() == Some(id.as_str()),
            c.related,
            "the conversation shows its incident"
        );
    }

    // Each related customer is told the status once, in their language; the insistent
    // one too, for all five messages; the robot and the unrelated never.
    let persian: Vec<&Customer> = related.iter().copied().filter(|c| c.persian).collect();
    let english: Vec<&Customer> = related.iter().copied().filter(|c| !c.persian).collect();
    crisis
        .each_received_once(&customers, &english, STATUS_EN)
        .await;
    crisis
        .each_received_once(&customers, &persian, STATUS_FA)
        .await;
    assert!(
        crisis
            .sink
            .messages()
            .iter()
            .all(|m| { !String::from_utf8_lossy(m).contains(&robot) }),
        "automatic mail is never answered"
    );

    // Some customers ask something beyond the outage: they will stay open.
    let beyond: Vec<Customer> = related
        .iter()
        .filter(|c| {
            matches!(c.channel, Channel::Telegram | Channel::Sms) && c.word != insistent.word
        })
        .take(10)
        .map(|c| (*c).clone())
        .collect();
    for c in &beyond {
        let text = format!("Also, can I change my delivery address? {}", c.word);
        crisis.write(c, &text).await;
    }
    for c in &beyond {
        let cid = by_word[&c.word].clone();
        eventually("the extra question stored", DEADLINE, async || {
            let shown = crisis
                .app
                .get_ok(&crisis.admin, &format!("/v1/conversations/{cid}"))
                .await;
            shown["preview"]
                .as_str()
                .is_some_and(|p| p.starts_with("Also"))
                .then_some(())
        })
        .await;
    }

    // One update, with the sender killed in the middle of it while Telegram holds the
    // messages it was given: after the restart nobody gets it twice, or never.
    let first = format!("Update {}: the bank is fixing its gateway.", unique("u1"));
    let (status, update, raw) = status_and_json(
        crisis
            .app
            .post_json(
                &crisis.admin,
                &format!("/v1/incidents/{id}/updates"),
                &json!({ "text": first }),
            )
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let first_id = update["id"].as_str().expect("an id").to_owned();
    let telegram_first = |t: &FakeTelegram| {
        t.calls("sendMessage")
            .into_iter()
            .filter(|c| c.body["text"].as_str().is_some_and(|x| x.contains(&first)))
            .count()
    };
    eventually("some of it sent", FAN_OUT_DEADLINE, async || {
        (telegram_first(&crisis.telegram) >= 15).then_some(())
    })
    .await;
    crisis.telegram.hold();
    // Until every sender slot is stuck at Telegram: nothing is between the provider and
    // the store when the process dies.
    let mut seen = telegram_first(&crisis.telegram);
    let mut steady = Instant::now();
    while steady.elapsed() < Duration::from_millis(1500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = telegram_first(&crisis.telegram);
        if now != seen {
            seen = now;
            steady = Instant::now();
        }
    }
    assert!(
        seen < (BEFORE + AFTER) / 4,
        "the kill lands mid-fan-out ({seen} sent on Telegram)"
    );
    crisis.app.kill9();
    crisis.telegram.release();
    crisis.app.restart().await;
    let progress = crisis
        .update_done(&id, &first_id, (BEFORE + AFTER) as u64)
        .await;
    crisis
        .each_received_once(&customers, &related, &first)
        .await;
    eprintln!("killed with {seen} sent on Telegram; after the restart: {progress}");
    assert!(
        progress["failed"].as_u64() > Some(0),
        "the replies caught mid-send are failed, not sent again: {progress}"
    );

    // Telegram's pace held throughout: 30 a second from the bot, 1 a second per chat.
    let calls = crisis.telegram.calls("sendMessage");
    let busiest = busiest_second(&calls);
    eprintln!(
        "{} Telegram messages, at most {busiest} in one second",
        calls.len()
    );
    assert!(busiest <= 31, "{busiest} messages within one second");
    let closest = closest_calls_to_one_chat(&calls).expect("chats got several");
    assert!(
        closest >= Duration::from_millis(900),
        "two messages to one chat {closest:?} apart"
    );

    // The final update resolves those who asked about the outage alone; those who asked
    // more stay open, out of the incident, their clocks running again.
    let last = format!("Update {}: card payments work again.", unique("u2"));
    let (status, update, raw) = status_and_json(
        crisis
            .app
            .post_json(
                &crisis.admin,
                &format!("/v1/incidents/{id}/updates"),
                &json!({ "text": last, "resolve": "matched" }),
            )
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let last_id = update["id"].as_str().expect("an id").to_owned();
    crisis
        .update_done(&id, &last_id, (BEFORE + AFTER) as u64)
        .await;
    crisis.each_received_once(&customers, &related, &last).await;
    let incident = crisis.incident(&id).await;
    assert_eq!(incident["state"], "resolved");
    for c in &related {
        let cid = by_word[&c.word].clone();
        let asked_more = beyond.iter().any(|b| b.word == c.word);
        let shown = eventually("the conversation settled", DEADLINE, async || {
            let shown = crisis
                .app
                .get_ok(&crisis.admin, &format!("/v1/conversations/{cid}"))
                .await;
            let settled = if asked_more {
                shown["incident_id"].is_null()
            } else {
                shown["status"] == "resolved"
            };
            settled.then_some(shown)
        })
        .await;
        if asked_more {
            assert_eq!(shown["status"], "open", "{cid} asked more: stays open");
        } else {
            assert_eq!(
                shown["incident_id"],
                id.as_str(),
                "{cid} keeps its incident"
            );
        }
    }
    // A resolved incident takes no more updates.
    let late = crisis
        .app
        .post_json(
            &crisis.admin,
            &format!("/v1/incidents/{id}/updates"),
            &json!({ "text": "one more" }),
        )
        .await;
    assert_eq!(late.status().as_u16(), 409);
}
