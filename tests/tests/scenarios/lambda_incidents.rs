//! The incident's core on the Lambda functions and the emulator (DynamoDB, SQS, the
//! table's stream): declaring links what is open and matches (the `sender` runs the
//! scan), the `sweeper` links what comes after and tells each customer once, one update
//! reaches each customer page once even when its job is handed to the `sender` twice,
//! and the final update resolves those who asked about the incident alone.

use e2e::events::HttpRequest;
use e2e::stack::{Source, Stack};
use e2e::table_stream::TableStream;
use serde_json::{Value, json};
use shared::model::Role;
use std::time::Duration;

const STATUS: &str = "Card payments are failing at our bank; we are on it.";

async fn submit(stack: &mut Stack, email: &str, message: &str) -> String {
    let response = stack
        .post_webform(&[("name", "Sara"), ("email", email), ("message", message)])
        .await;
    assert_eq!(response.status, 202, "web form: {}", response.text());
    let url = response.json()["conversation_url"]
        .as_str()
        .expect("a page")
        .to_owned();
    url[url.find("/c/").expect("a page path")..].to_owned()
}

/// How often the customer page shows `text`.
async fn shown(stack: &mut Stack, page: &str, text: &str) -> usize {
    stack
        .http(HttpRequest::new("GET", page))
        .await
        .text()
        .matches(text)
        .count()
}

/// The log's news to the stream's reader, past the feed's settling second, then a sweep.
async fn settle_and_sweep(stack: &mut Stack, stream: &mut TableStream) {
    stack.deliver_stream(stream).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stack.sweep().await;
}

async fn incident(stack: &mut Stack, key: &str, id: &str) -> Value {
    stack.get_ok(key, &format!("/v1/incidents/{id}")).await
}

#[tokio::test]
async fn an_incident_links_tells_once_and_answers_each_page_once_on_the_lambda_functions() {
    let mut stack = Stack::start_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    // The sweeper's readers start where the log stands.
    stack.sweep().await;

    let mut related = Vec::new();
    for n in 0..4 {
        let page = submit(
            &mut stack,
            &format!("payer{n}@mail.example"),
            &format!("My payment failed at checkout ({n})"),
        )
        .await;
        related.push(page);
    }
    let unrelated = submit(&mut stack, "other@mail.example", "Where is my parcel?").await;
    stack.drain(Source::Inbound).await;
    stack.deliver_stream(&mut stream).await;

    let (status, declared) = {
        let response = stack
            .api(
                "POST",
                "/v1/incidents",
                &key,
                Some(&json!({
                    "title": "Card gateway down",
                    "status_text": { "en": STATUS },
                    "match": { "terms": ["payment failed"] },
                })),
            )
            .await;
        (response.status, response.json())
    };
    assert_eq!(status, 201, "{declared}");
    let id = declared["id"].as_str().expect("an id").to_owned();
    // The scan runs on the sender, and queues each acknowledgement.
    stack.drain(Source::Outbound).await;
    stack.drain(Source::Outbound).await;
    let linked = incident(&mut stack, &key, &id).await;
    assert_eq!(linked["linked"]["web"], 4, "{linked}");

    // Two more write after it was declared: the sweeper links them from the log.
    for n in 4..6 {
        let page = submit(
            &mut stack,
            &format!("payer{n}@mail.example"),
            &format!("payment failed again ({n})"),
        )
        .await;
        related.push(page);
    }
    stack.drain(Source::Inbound).await;
    settle_and_sweep(&mut stack, &mut stream).await;
    stack.drain(Source::Outbound).await;
    let linked = incident(&mut stack, &key, &id).await;
    assert_eq!(linked["linked"]["web"], 6, "{linked}");
    let conversations = stack
        .list_all(&key, &format!("/v1/incidents/{id}/conversations"))
        .await;
    assert_eq!(conversations.len(), 6);
    for page in related.clone() {
        assert_eq!(
            shown(&mut stack, &page, STATUS).await,
            1,
            "told once: {page}"
        );
    }
    assert_eq!(shown(&mut stack, &unrelated, STATUS).await, 0);

    // One customer asks more: their conversation will stay open.
    let asks_more = related[1].clone();
    let answered = stack
        .http(
            HttpRequest::new("POST", &asks_more)
                .header("accept", "application/json")
                .form(&[("message", "Also, can I change my address?")]),
        )
        .await;
    assert!(answered.status < 400, "{}", answered.text());
    stack.drain(Source::Inbound).await;
    settle_and_sweep(&mut stack, &mut stream).await;
    stack.drain(Source::Outbound).await;
    assert_eq!(
        shown(&mut stack, &asks_more, STATUS).await,
        1,
        "told once, whatever they write next"
    );

    // The update: its job is handed to the sender twice, as SQS may; each page gets it
    // once.
    let text = "Update: the bank is fixing its gateway.";
    let posted = stack
        .api(
            "POST",
            &format!("/v1/incidents/{id}/updates"),
            &key,
            Some(&json!({ "text": text })),
        )
        .await;
    assert_eq!(posted.status, 202, "{}", posted.text());
    let update_id = posted.json()["id"].as_str().expect("an id").to_owned();
    let job = stack.receive(Source::Outbound).await;
    assert_eq!(job.len(), 1, "the fan-out job");
    for _ in 0..2 {
        let failed = stack.invoke_consumer(Source::Outbound, &job).await;
        assert!(failed.is_empty(), "{failed:?}");
    }
    stack.delete_successes(Source::Outbound, &job, &[]).await;
    stack.drain(Source::Outbound).await;
    for page in related.clone() {
        assert_eq!(
            shown(&mut stack, &page, text).await,
            1,
            "answered once: {page}"
        );
    }
    assert_eq!(shown(&mut stack, &unrelated, text).await, 0);
    let view = incident(&mut stack, &key, &id).await;
    let update = view["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .find(|u| u["id"] == update_id.as_str())
        .expect("the update")
        .clone();
    assert_eq!(
        update["progress"],
        json!({ "queued": 6, "sent": 6, "failed": 0, "fanned_out": true }),
        "{view}"
    );

    // The final update resolves the five who asked about the outage alone.
    let last = "Card payments work again.";
    let posted = stack
        .api(
            "POST",
            &format!("/v1/incidents/{id}/updates"),
            &key,
            Some(&json!({ "text": last, "resolve": "matched" })),
        )
        .await;
    assert_eq!(posted.status, 202, "{}", posted.text());
    stack.drain(Source::Outbound).await;
    for page in related.clone() {
        assert_eq!(
            shown(&mut stack, &page, last).await,
            1,
            "answered once: {page}"
        );
    }
    let view = incident(&mut stack, &key, &id).await;
    assert_eq!(view["state"], "resolved");
    let everyone = stack.list_all(&key, "/v1/conversations?status=all").await;
    let resolved = everyone
        .iter()
        .filter(|c| c["status"] == "resolved" && c["incident_id"] == id.as_str())
        .count();
    assert_eq!(resolved, 5, "{everyone:?}");
    let open: Vec<&Value> = everyone.iter().filter(|c| c["status"] == "open").collect();
    assert_eq!(open.len(), 2, "the one who asked more, and the parcel");
    assert!(open.iter().all(|c| c["incident_id"].is_null()));

    // A proposal (the sweeper's detector makes them) is in the log from the stream, for
    // webhooks and clients, naming the incident.
    let feed = stack.get_ok(&key, "/v1/events").await;
    let cursor = feed["next_cursor"].as_str().expect("a cursor").to_owned();
    let proposal = shared::model::Incident {
        id: shared::model::IncidentId::new(),
        title: "30 of 40 new conversations in 10 minutes mention “gateway”".into(),
        status_text: Default::default(),
        matching: shared::model::IncidentMatch {
            terms: vec!["gateway".into()],
            ..Default::default()
        },
        state: shared::model::IncidentState::Proposed,
        declared_by: None,
        created_at: chrono::Utc::now(),
        resolved_at: None,
        linked: Default::default(),
        version: 0,
    };
    stack
        .cloud
        .backend()
        .incidents
        .create_incident(&proposal)
        .await
        .expect("stored");
    stack.deliver_stream(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let logged = stack
        .get_ok(&key, &format!("/v1/events?after={cursor}"))
        .await;
    assert!(
        logged["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["type"] == "incident.proposed"
                && e["incident_id"] == proposal.id.to_string().as_str()),
        "{logged}"
    );
}
