//! A customer writes on the website, an agent answers, the customer answers back.

use e2e::{AGENT, App, DEADLINE, eventually, status_and_json, unique};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

#[tokio::test]
async fn a_web_form_message_reaches_an_agent_and_the_reply_reaches_the_customer_page() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada Agent", "ada@support.example", AGENT);
    let email = format!("{}@example.com", unique("customer"));
    let first = "Hello, my parcel 4471 has not arrived yet";

    // A browser posts the form and is sent to the customer's conversation page.
    let response = app
        .post_webform_as_browser(&[
            ("name", "Cleo Customer"),
            ("email", &email),
            ("message", first),
            ("page", "https://shop.example/orders"),
        ])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "browser form post"
    );
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a 303 has a Location")
        .to_string();
    let page_url = if location.starts_with("http") {
        location.clone()
    } else {
        app.url(&location)
    };
    assert!(
        page_url.starts_with(&app.url("/c/")),
        "Location {location:?} should point at /c/<token> on this server"
    );

    let conversation = eventually(
        "the conversation in the agent's inbox",
        DEADLINE,
        async || {
            let list = app.get_ok(&key, "/v1/conversations").await;
            list["items"].as_array()?.first().cloned()
        },
    )
    .await;
    let conversation_id = conversation["id"].as_str().expect("an id").to_string();
    let contact_id = conversation["contact_id"]
        .as_str()
        .expect("a contact_id")
        .to_string();
    assert_eq!(conversation["status"], "open", "{conversation}");
    assert_eq!(conversation["channel"], "web", "{conversation}");
    let messages = app.messages(&key, &conversation_id).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["text"], first);
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(
        messages[0]["contact_id"].as_str(),
        Some(contact_id.as_str())
    );

    // The agent replies; the reply is queued and then delivered to the page.
    let reply = "Sorry about that Cleo, parcel 4471 left our depot today";
    let (status, queued, text) = status_and_json(
        app.post_json(
            &key,
            &format!("/v1/conversations/{conversation_id}/replies"),
            &json!({ "text": reply }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "reply: {text}");
    assert_eq!(queued["text"], reply, "{text}");
    assert_eq!(queued["direction"], "outbound", "{text}");
    let reply_id = queued["id"]
        .as_str()
        .expect("the reply has an id")
        .to_string();

    let page = eventually("the reply on the customer page", DEADLINE, async || {
        let response = app.http.get(&page_url).send().await.ok()?;
        let html = response.text().await.ok()?;
        html.contains(reply).then_some(html)
    })
    .await;
    assert!(
        page.contains(first),
        "the page shows the customer's own message"
    );

    eventually("the web reply marked delivered", DEADLINE, async || {
        let messages = app.messages(&key, &conversation_id).await;
        let reply = messages.iter().find(|m| m["id"] == reply_id.as_str())?;
        (reply["delivery_status"] == "delivered").then_some(())
    })
    .await;

    // The customer answers on the page.
    let answer = "Great news, thank you very much";
    let response = app
        .http
        .post(&page_url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "text/html")
        .body(serde_urlencoded::to_string([("message", answer)]).expect("encodes"))
        .send()
        .await
        .expect("the page answers");
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "answer on the page"
    );

    let answered: Value = eventually("the answer in the timeline", DEADLINE, async || {
        let messages = app.messages(&key, &conversation_id).await;
        messages.into_iter().find(|m| m["text"] == answer)
    })
    .await;
    assert_eq!(answered["direction"], "inbound", "{answered}");
    assert_eq!(answered["channel"], "web", "{answered}");
    assert_eq!(
        answered["conversation_id"].as_str(),
        Some(conversation_id.as_str())
    );
    assert_eq!(
        answered["contact_id"].as_str(),
        Some(contact_id.as_str()),
        "the answer comes from the same contact"
    );
    let all = app.all_conversations(&key).await;
    assert_eq!(all.len(), 1, "still one conversation: {all:?}");
    let texts: Vec<_> = app
        .messages(&key, &conversation_id)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(texts, [first, reply, answer], "timeline oldest first");
}

#[tokio::test]
async fn a_json_submission_answers_202_with_a_conversation_url_on_this_server() {
    let app = App::spawn().await;
    let message = "Is the blue kettle back in stock";
    let url = app
        .submit_json(&json!({
            "name": "Jun",
            "email": format!("{}@example.com", unique("jun")),
            "message": message,
        }))
        .await;
    assert!(
        url.starts_with(&app.url("/c/")),
        "conversation_url {url:?} should be {}/c/<token> (the default public URL is the \
         address actually listened on)",
        app.url("")
    );
    let page = eventually("the message on the customer page", DEADLINE, async || {
        let response = app.http.get(&url).send().await.ok()?;
        let ok = response.status() == StatusCode::OK;
        let html = response.text().await.ok()?;
        (ok && html.contains(message)).then_some(html)
    })
    .await;
    assert!(page.contains("<"), "the customer page is HTML");
}

#[tokio::test]
async fn an_unknown_conversation_page_is_404_not_a_crash() {
    let app = App::spawn().await;
    let response = app
        .http
        .get(app.url("/c/this-token-does-not-exist"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let health = app.http.get(app.url("/healthz")).send().await.expect("up");
    assert_eq!(health.status(), StatusCode::OK);
}
