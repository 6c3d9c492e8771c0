//! Customers' data rights through the API: an admin exports everything held on a
//! customer, or erases it, and nothing of theirs is found afterwards, not in a list, a
//! search, their old page, or the file folder; their address writing again is somebody
//! new. Agents may read a customer's history, never export or erase it.

use e2e::{ADMIN, AGENT, App, DEADLINE, eventually, problem_of, status_and_json, unique};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::path::Path;

const EMAIL_SECRET: &str = "relay-secret-0123456789";

/// A web-form customer's first message, routed: (their conversation, their page).
async fn web_customer(app: &App, key: &str, email: &str, text: &str) -> (Value, String) {
    let url = app
        .submit(&[
            ("name", "Sara"),
            ("email", email),
            ("phone", "+1 415 555 0142"),
            ("message", text),
        ])
        .await;
    let conversation = eventually("the submission routed", DEADLINE, async || {
        app.all_conversations(key)
            .await
            .into_iter()
            .find(|c| c["preview"].as_str() == Some(text))
    })
    .await;
    (conversation, url)
}

fn id_of(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {value}"))
        .to_string()
}

async fn post(app: &App, key: &str, path: &str, body: Value) {
    let (status, _, text) = status_and_json(app.post_json(key, path, &body).await).await;
    assert!(status.is_success(), "POST {path}: {text}");
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(
                files_under(&path)
                    .into_iter()
                    .map(|f| format!("{}/{f}", entry.file_name().to_string_lossy())),
            );
        } else {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[tokio::test]
async fn an_admin_exports_everything_held_on_a_customer_and_an_agent_may_not() {
    let app = App::spawn().await;
    let admin = app.create_agent("Root", "root@support.example", ADMIN);
    let agent = app.create_agent("Ada", "ada@support.example", AGENT);
    let email = format!("{}@example.com", unique("export"));
    let (conversation, _) = web_customer(&app, &agent, &email, "My kettle broke").await;
    let (conversation, contact) = (
        id_of(&conversation, "id"),
        id_of(&conversation, "contact_id"),
    );
    post(
        &app,
        &agent,
        &format!("/v1/conversations/{conversation}/notes"),
        json!({ "text": "Second kettle this year" }),
    )
    .await;
    post(
        &app,
        &agent,
        &format!("/v1/conversations/{conversation}/replies"),
        json!({ "text": "A new kettle ships today" }),
    )
    .await;

    let response = app
        .get(&admin, &format!("/v1/contacts/{contact}/export"))
        .await;
    let disposition = response
        .headers()
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (status, export, text) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        disposition.starts_with("attachment") && disposition.contains(&contact),
        "{disposition:?}"
    );
    assert_eq!(export["contact"]["id"], contact.as_str());
    let identities = export["contact"]["identities"].as_array().unwrap();
    assert!(
        identities
            .iter()
            .any(|i| i["value"] == email.as_str() && i["typed"] == true && i["proven"] == false),
        "{identities:?}"
    );
    let timeline = export["conversations"][0]["timeline"].as_array().unwrap();
    let texts: Vec<(&str, &str)> = timeline
        .iter()
        .map(|i| {
            (
                i["item"].as_str().unwrap(),
                i["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for expected in [
        ("message", "My kettle broke"),
        ("note", "Second kettle this year"),
        ("message", "A new kettle ships today"),
    ] {
        assert!(texts.contains(&expected), "{expected:?} in {texts:?}");
    }

    let refused = app
        .get(&agent, &format!("/v1/contacts/{contact}/export"))
        .await;
    let (status, _) = problem_of(refused).await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The customer's history is every agent's to read: newest first, each item naming
    // its conversation.
    let history = app
        .list_all(&agent, &format!("/v1/contacts/{contact}/timeline"))
        .await;
    assert_eq!(history.len(), timeline.len());
    assert_eq!(history[0]["text"], "A new kettle ships today");
    assert!(
        history
            .iter()
            .all(|i| i["conversation_id"] == conversation.as_str())
    );
}

#[tokio::test]
async fn an_erased_customer_is_found_nowhere_and_their_address_writing_again_is_someone_new() {
    let app = App::spawn().await;
    let admin = app.create_agent("Root", "root@support.example", ADMIN);
    let agent = app.create_agent("Ada", "ada@support.example", AGENT);
    let email = format!("{}@example.com", unique("erase"));
    let word = unique("kettle").replace('-', "");
    let text = format!("My {word} broke");
    let (conversation, page) = web_customer(&app, &agent, &email, &text).await;
    let (conversation, contact) = (
        id_of(&conversation, "id"),
        id_of(&conversation, "contact_id"),
    );
    post(
        &app,
        &agent,
        &format!("/v1/conversations/{conversation}/notes"),
        json!({ "text": "Second kettle this year" }),
    )
    .await;
    let reply = "A new kettle ships today";
    post(
        &app,
        &agent,
        &format!("/v1/conversations/{conversation}/replies"),
        json!({ "text": reply }),
    )
    .await;
    eventually("the reply on the customer's page", DEADLINE, async || {
        let html = app.http.get(&page).send().await.ok()?.text().await.ok()?;
        html.contains(reply).then_some(())
    })
    .await;
    let searched = app
        .list_all(&agent, &format!("/v1/conversations?status=all&q={word}"))
        .await;
    assert_eq!(searched.len(), 1, "the search finds it before");

    let refused = app.delete(&agent, &format!("/v1/contacts/{contact}")).await;
    assert_eq!(problem_of(refused).await.unwrap().0, StatusCode::FORBIDDEN);
    let (status, tombstone, body) =
        status_and_json(app.delete(&admin, &format!("/v1/contacts/{contact}")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tombstone["reason"], "request");
    assert_eq!(tombstone["contact_id"], contact.as_str());
    assert_eq!(tombstone["conversations"], 1);
    assert_eq!(tombstone["messages"], 2);
    assert_eq!(tombstone["notes"], 1);
    assert!(!body.contains(&email) && !body.contains(&word), "{body}");

    // Nothing of theirs through the API.
    let gone = app.get(&admin, &format!("/v1/contacts/{contact}")).await;
    assert_eq!(problem_of(gone).await.unwrap().0, StatusCode::NOT_FOUND);
    let again = app.delete(&admin, &format!("/v1/contacts/{contact}")).await;
    assert_eq!(problem_of(again).await.unwrap().0, StatusCode::NOT_FOUND);
    for path in [
        format!("/v1/conversations/{conversation}"),
        format!("/v1/conversations/{conversation}/timeline"),
        format!("/v1/contacts/{contact}/timeline"),
        format!("/v1/contacts/{contact}/export"),
    ] {
        let response = app.get(&admin, &path).await;
        assert_eq!(
            problem_of(response).await.unwrap().0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert!(app.all_conversations(&admin).await.is_empty());
    let searched = app
        .list_all(&admin, &format!("/v1/conversations?status=all&q={word}"))
        .await;
    assert!(searched.is_empty(), "{searched:?}");
    let contacts = app
        .list_all(&admin, &format!("/v1/contacts?q={email}"))
        .await;
    assert!(contacts.is_empty(), "{contacts:?}");
    let erasures = app.list_all(&admin, "/v1/erasures").await;
    assert_eq!(erasures, vec![tombstone]);

    // Their old page shows nothing of theirs, and takes no answer.
    let html = app
        .http
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&word) && !html.contains(reply), "{html}");
    let answer = app
        .http
        .post(&page)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body("message=still+there%3F")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    // The same address and phone writing again: a new contact.
    let (fresh, _) = web_customer(&app, &agent, &email, "Hello again").await;
    assert_ne!(id_of(&fresh, "contact_id"), contact);
    assert_ne!(id_of(&fresh, "id"), conversation);
    let details = app
        .get_ok(
            &agent,
            &format!("/v1/contacts/{}", id_of(&fresh, "contact_id")),
        )
        .await;
    assert_eq!(details["conversations"].as_array().unwrap().len(), 1);
}

async fn post_email(app: &App, raw: &[u8]) {
    let response = app
        .http
        .post(app.url("/webhooks/email"))
        .header(CONTENT_TYPE, "message/rfc822")
        .header("x-switchboard-email-secret", EMAIL_SECRET)
        .body(raw.to_vec())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_erased_customers_files_and_original_email_leave_the_file_folder() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET),
        ("SWITCHBOARD_EMAIL_DOMAINS", "switchboard.test"),
    ])
    .await;
    let admin = app.create_agent("Root", "root@support.example", ADMIN);
    let raw = include_bytes!("../../../shared/src/channels/email/fixtures/attachments.eml");
    post_email(&app, raw).await;
    let message = eventually("the email and its files stored", DEADLINE, async || {
        let conversation = app.all_conversations(&admin).await.into_iter().next()?;
        let message = app
            .messages(&admin, conversation["id"].as_str()?)
            .await
            .into_iter()
            .next()?;
        let files = message["attachments"].as_array()?;
        files
            .iter()
            .all(|f| !f["blob_key"].as_str().unwrap_or_default().is_empty())
            .then_some(message)
    })
    .await;
    let (message_id, contact) = (id_of(&message, "id"), id_of(&message, "contact_id"));
    let before = files_under(&app.blob_dir());
    assert!(
        before.iter().any(|f| f.starts_with("attachments/"))
            && before.iter().any(|f| f.starts_with("email/raw/")),
        "{before:?}"
    );
    let download = app
        .get(&admin, &format!("/v1/messages/{message_id}/attachments/1"))
        .await;
    assert_eq!(download.status(), StatusCode::OK);

    let (status, tombstone, body) =
        status_and_json(app.delete(&admin, &format!("/v1/contacts/{contact}")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tombstone["files"], 4, "three attachments and the original");
    assert_eq!(
        files_under(&app.blob_dir()),
        Vec::<String>::new(),
        "the folder holds nothing of theirs"
    );
    for path in [
        format!("/v1/messages/{message_id}/attachments/1"),
        format!("/v1/messages/{message_id}/original"),
    ] {
        let response = app.get(&admin, &path).await;
        assert_eq!(
            problem_of(response).await.unwrap().0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The same email delivered again is not taken in again: the router drops it, and
    // the files the webhook and the router kept for it go again.
    post_email(&app, raw).await;
    eventually(
        "the redelivered email's files gone again",
        DEADLINE,
        async || files_under(&app.blob_dir()).is_empty().then_some(()),
    )
    .await;
    assert!(
        app.all_conversations(&admin).await.is_empty(),
        "the old email came back"
    );
    // A new one from the same address is a new contact's.
    let new = format!(
        "From: Nika <nika@example.com>\r\nTo: support@switchboard.test\r\nSubject: Hello\r\n\
         Message-ID: <{}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nA new question\r\n",
        unique("new")
    );
    post_email(&app, new.as_bytes()).await;
    let conversation = eventually("the new email routed", DEADLINE, async || {
        app.all_conversations(&admin).await.into_iter().next()
    })
    .await;
    assert_ne!(id_of(&conversation, "contact_id"), contact);
    let messages = app.messages(&admin, &id_of(&conversation, "id")).await;
    let texts: Vec<&str> = messages.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["A new question"]);
}
