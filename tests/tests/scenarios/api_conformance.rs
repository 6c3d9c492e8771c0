//! The agent API's OpenAPI document against the real binary: schemathesis sends requests
//! generated from the document (valid ones and broken ones) and checks every answer
//! against it: status codes, content types, bodies, and that valid requests are taken and
//! invalid ones refused. A seeded conversation gives the operations that take an id a
//! real one to work on (its stateful phase may erase that contact on the way, as an
//! admin may). The configuration and hooks are in `tests/schemathesis/`.

use e2e::{ADMIN, App, DEADLINE, WebhookReceiver, eventually, status_and_json, unique};
use std::process::Command;

#[tokio::test]
async fn schemathesis_finds_no_answer_the_openapi_document_does_not_describe() {
    let app = App::spawn().await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let email = format!("{}@example.com", unique("kim"));
    app.submit(&[
        ("name", "Kim"),
        ("email", &email),
        ("message", "My card payment failed twice"),
    ])
    .await;
    let conversation = eventually("the submission routed", DEADLINE, async || {
        app.all_conversations(&key).await.into_iter().next()
    })
    .await;
    let conversation_id = conversation["id"].as_str().expect("an id").to_owned();
    let contact_id = conversation["contact_id"]
        .as_str()
        .expect("a contact")
        .to_owned();
    let message_id = app.messages(&key, &conversation_id).await[0]["id"]
        .as_str()
        .expect("a message id")
        .to_owned();
    let agent_id = app.get_ok(&key, "/v1/me").await["id"]
        .as_str()
        .expect("an agent id")
        .to_owned();

    let receiver = WebhookReceiver::start().await;
    let webhook_url = receiver.url("/schemathesis");
    let (status, webhook, text) = status_and_json(
        app.post_json(
            &key,
            "/v1/webhooks",
            &serde_json::json!({ "url": webhook_url, "types": ["note.added"] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let webhook_id = webhook["webhook"]["id"].as_str().expect("an id").to_owned();

    let doc = app.get_ok(&key, "/v1/openapi.json").await;
    let root = e2e::repo_root();
    let config = root.join("tests/schemathesis");
    let schemathesis = root.join(".venv/bin/schemathesis");
    let output = Command::new(&schemathesis)
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .args(["run", &app.url("/v1/openapi.json"), "--checks", "all"])
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &config)
        .env("SWITCHBOARD_CONVERSATION_ID", &conversation_id)
        .env("SWITCHBOARD_CONTACT_ID", &contact_id)
        .env("SWITCHBOARD_MESSAGE_ID", &message_id)
        .env("SWITCHBOARD_AGENT_ID", &agent_id)
        .env("SWITCHBOARD_WEBHOOK_ID", &webhook_id)
        .env("SWITCHBOARD_WEBHOOK_URL", &webhook_url)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} runs (scripts/install-tools): {e}",
                schemathesis.display()
            )
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |methods| methods.len()))
        .sum();
    assert!(
        report.contains(&format!("Tested: {operations}\n")),
        "all {operations} operations were tested: {report}"
    );
}
