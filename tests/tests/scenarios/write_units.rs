//! What a message costs in DynamoDB writes on AWS, counted on the emulator by a relay
//! that prices every write as on-demand DynamoDB bills it (`e2e::write_meter`). The
//! README's cost table is these figures; the budgets below keep them from growing
//! unnoticed.

use e2e::events::HttpRequest;
use e2e::stack::{Source, Stack};
use e2e::table_stream::TableStream;
use e2e::unique;
use e2e::write_meter::{WriteMeter, WriteUnits};
use serde_json::json;
use shared::model::Role;

/// Write units of each step of a web-form conversation, each the mean of `ROUNDS`.
const ROUNDS: u64 = 5;

#[tokio::test]
async fn a_web_form_conversation_costs_what_the_readme_says_in_dynamodb_writes() {
    let cloud = e2e::cloud::Cloud::create().await;
    let meter = WriteMeter::start(&cloud.endpoint).await;
    let mut stack = Stack::start_on(cloud, &[("AWS_ENDPOINT_URL", &meter.url())]).await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let mut steps: Vec<(&str, WriteUnits)> = Vec::new();
    let mut add =
        |name: &'static str, units: WriteUnits| match steps.iter_mut().find(|(n, _)| *n == name) {
            Some((_, sum)) => sum.add(units),
            None => steps.push((name, units)),
        };
    for _ in 0..ROUNDS {
        let email = format!("{}@example.com", unique("cost"));
        let before = meter.units();
        let submitted = stack
            .post_webform(&[
                ("email", email.as_str()),
                (
                    "message",
                    "The card was charged twice, please refund one of the two payments",
                ),
            ])
            .await;
        assert_eq!(submitted.status, 202, "{}", submitted.text());
        stack.deliver_batch(Source::Inbound).await;
        add("a new web-form conversation", meter.units().since(&before));

        let link = submitted.json()["conversation_url"]
            .as_str()
            .expect("a link")
            .to_owned();
        let path = link[link.find("/c/").expect("a page path")..].to_owned();
        let before = meter.units();
        let answered = stack
            .http(
                HttpRequest::new("POST", path)
                    .header("accept", "application/json")
                    .form(&[("message", "It was on the 3rd of December, order 5521")]),
            )
            .await;
        assert_eq!(answered.status, 202, "{}", answered.text());
        stack.deliver_batch(Source::Inbound).await;
        add(
            "a message in that conversation",
            meter.units().since(&before),
        );

        // The newest activity first: the conversation just answered.
        let conversation = stack.all_conversations(&key).await[0]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let before = meter.units();
        let reply = stack
            .api(
                "POST",
                &format!("/v1/conversations/{conversation}/replies"),
                &key,
                Some(&json!({ "text": "Refunded, you will see it in 3 days" })),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
        stack.deliver_batch(Source::Outbound).await;
        add("an agent's reply, sent", meter.units().since(&before));

        let before = meter.units();
        let resolved = stack
            .api(
                "PATCH",
                &format!("/v1/conversations/{conversation}"),
                &key,
                Some(&json!({ "status": "resolved" })),
            )
            .await;
        assert_eq!(resolved.status, 200, "{}", resolved.text());
        add("resolved", meter.units().since(&before));

        let before = meter.units();
        stack.deliver_stream(&mut stream).await;
        add(
            "the event log's pages for all of it",
            meter.units().since(&before),
        );
    }
    for (name, units) in &steps {
        println!(
            "{name}: {:.1} WRU a time (table {:.1}, indexes {:.1}); in {ROUNDS}: {units}",
            units.total() as f64 / ROUNDS as f64,
            units.table as f64 / ROUNDS as f64,
            units.indexes as f64 / ROUNDS as f64,
        );
    }
    // Nothing was refused, so nothing went unpriced.
    assert!(
        steps.iter().all(|(_, u)| u.refused == 0),
        "refused writes: {steps:?}"
    );
    // The budgets: today's figures, in write units per step (the mean of the rounds),
    // with half a unit to spare for an item that grows across a KB in one round. One
    // more item written in a transaction is two more a round. A change that writes
    // more must raise them here and in the README's cost table.
    let budget = [
        ("a new web-form conversation", 27.2),
        ("a message in that conversation", 17.0),
        ("an agent's reply, sent", 14.0),
        ("resolved", 10.0),
        ("the event log's pages for all of it", 3.0),
    ];
    for (name, most) in budget {
        let (_, units) = steps.iter().find(|(n, _)| *n == name).expect("a step");
        let mean = units.total() as f64 / ROUNDS as f64;
        assert!(
            mean <= most + 0.5,
            "{name}: {mean} WRU, above its budget of {most}: {units}"
        );
    }
}
