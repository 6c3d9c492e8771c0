//! The web inbox in headless Chromium (tests/browser/inbox.py) against the real binary,
//! with Telegram on a fake Bot API: an agent signs in, sees a web-form and a Telegram
//! message arrive live, merges the two contacts, replies by keyboard, writes a note,
//! assigns and resolves. Checked here: what reached the customer, and what did not.
//! Screenshots are kept in target/screenshots/.

use e2e::{ADMIN, AGENT, App, FakeLlm, FakeTelegram, repo_root};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn an_agent_works_a_conversation_in_the_browser_and_only_the_reply_reaches_the_customer() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let model = FakeLlm::start().await;
    let app = App::spawn_with_telegram(
        &fake,
        &[
            ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
            ("SWITCHBOARD_LLM_URL", model.url()),
            ("SWITCHBOARD_LLM_MODEL", "support-model-1"),
        ],
    )
    .await;
    let admin_key = app.create_agent("Root Admin", "root@support.example", ADMIN);
    let team = app
        .post_json(
            &admin_key,
            "/v1/teams",
            &serde_json::json!({"name": "Payments"}),
        )
        .await;
    assert_eq!(team.status().as_u16(), 201);
    app.create_agent("Ada Agent", "ada@support.example", AGENT);
    app.set_password("root@support.example", PASSWORD);

    let root = repo_root();
    let python = root.join(".venv/bin/python");
    let mut command = std::process::Command::new(&python);
    command
        .arg(root.join("tests/browser/inbox.py"))
        .arg(app.url(""))
        .arg(root.join("target/screenshots"))
        .env("SB_EMAIL", "root@support.example")
        .env("SB_PASSWORD", PASSWORD)
        .env("SB_AGENT_NAME", "Ada Agent")
        .env("SB_TELEGRAM_SECRET", e2e::WEBHOOK_SECRET);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the browser run ends")
        .unwrap_or_else(|e| panic!("{} runs (scripts/install-tools): {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .map(|json| serde_json::from_str(json).expect("the result is JSON"))
        .expect("the run prints its result");
    eprintln!("inbox in the browser: {result}");

    // The reply went out on Telegram, once; the note never left the inbox.
    let reply = result["reply"].as_str().expect("a reply");
    let note = result["note"].as_str().expect("a note");
    let sent: Vec<String> = fake
        .calls("sendMessage")
        .iter()
        .map(|call| call.body.to_string())
        .collect();
    assert_eq!(
        sent.iter().filter(|body| body.contains(reply)).count(),
        1,
        "{sent:?}"
    );
    // The model's draft was asked for once and went nowhere but the reply box.
    assert_eq!(model.asked().len(), 1);
    assert!(
        !sent.iter().any(|body| body.contains("Drafted from")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|body| body.contains(note)), "{sent:?}");

    // The file went as a document, by its name.
    let documents = fake.calls("sendDocument");
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(
        documents[0]
            .files
            .iter()
            .any(|f| f.file_name.as_deref() == Some("refund-form.txt")
                && f.bytes == b"Refund: 1,250,000 IRR"),
        "{documents:?}"
    );

    // Nor is it on the web customer's page.
    let page = result["customer_page"].as_str().expect("a customer page");
    let html = app
        .http
        .get(app.url(page))
        .send()
        .await
        .expect("the page answers")
        .text()
        .await
        .expect("a page");
    assert!(html.contains("web-marker"), "{html}");
    assert!(!html.contains(note), "the note is private: {html}");

    // The incident declared on its screen holds the update posted there, and is over.
    let incident = result["incident_id"].as_str().expect("an incident");
    let incident = app
        .get_ok(&admin_key, &format!("/v1/incidents/{incident}"))
        .await;
    assert_eq!(incident["title"], "Bank gateway down", "{incident}");
    assert_eq!(incident["state"], "resolved", "{incident}");
    assert!(
        incident.to_string().contains("Payments work again"),
        "{incident}"
    );

    // Assigned to Ada and resolved, as the API tells it.
    let id = result["conversation_id"]
        .as_str()
        .expect("the conversation");
    let conversation = app
        .get_ok(&admin_key, &format!("/v1/conversations/{id}"))
        .await;
    assert_eq!(conversation["status"], "resolved", "{conversation}");
    // The team's bot switch, unticked on the Teams screen.
    let teams = app.get_ok(&admin_key, "/v1/teams").await;
    assert_eq!(teams[0]["bot_answers_first"], false, "{teams}");
    let agents = app.get_ok(&admin_key, "/v1/agents").await;
    let ada = agents["items"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["name"] == "Ada Agent")
        .expect("Ada");
    assert_eq!(conversation["assignee_id"], ada["id"], "{conversation}");
}
