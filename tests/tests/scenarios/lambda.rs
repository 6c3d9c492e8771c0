//! The Lambda functions end to end on the AWS emulator: the real binaries, run with a
//! Runtime API of our own, invoked with the event JSON API Gateway, SQS and EventBridge
//! send; the test plays the SQS event source mappings (receive up to 10, invoke, delete
//! what succeeded, leave the reported failures to come back).

use e2e::events::{API_HOST, HttpRequest};
use e2e::function::Function;
use e2e::stack::{Source, Stack, depth};
use e2e::table_stream::TableStream;
use e2e::unique;
use serde_json::{Value, json};
use shared::model::Role;
use std::time::{Duration, Instant};

/// Posts one web-form message and returns its `conversation_url`.
async fn submit(stack: &mut Stack, email: &str, message: &str) -> String {
    let response = stack
        .post_webform(&[("name", "Sara"), ("email", email), ("message", message)])
        .await;
    assert_eq!(response.status, 202, "web form: {}", response.text());
    let body = response.json();
    assert_eq!(body["status"], "received", "{body}");
    body["conversation_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation_url in {body}"))
        .to_owned()
}

/// The texts of every inbound message in every conversation.
async fn inbound_texts(stack: &mut Stack, key: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for conversation in stack.all_conversations(key).await {
        let id = conversation["id"].as_str().expect("a conversation id");
        for message in stack.messages(key, id).await {
            if message["direction"] == "inbound" {
                texts.push(message["text"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    texts.sort();
    texts
}

fn assert_json_logs(function: &Function) {
    for line in function.logs() {
        assert!(
            !line.contains('\u{1b}'),
            "{}: colour codes in {line:?}",
            function.name
        );
        let parsed: Result<Value, _> = serde_json::from_str(&line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "{}: a log line that is not a JSON object: {line:?}",
            function.name
        );
    }
}

#[tokio::test]
async fn a_web_form_message_is_routed_listed_answered_and_the_reply_reaches_the_customer_page() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let email = format!("{}@example.com", unique("sara"));
    let question = unique("The payment page fails");

    let link = submit(&mut stack, &email, &question).await;
    let prefix = format!("https://{API_HOST}/c/");
    assert!(
        link.starts_with(&prefix),
        "without SWITCHBOARD_PUBLIC_URL the link is on the API's own host: {link}"
    );

    let batch = stack.deliver_batch(Source::Inbound).await;
    assert_eq!(batch.received.len(), 1, "{batch:?}");
    assert!(batch.failed.is_empty(), "{batch:?}");

    let open = stack.list_all(&key, "/v1/conversations").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let conversation = open[0]["id"].as_str().expect("an id").to_owned();
    let messages = stack.messages(&key, &conversation).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["text"], question.as_str());

    let answer = unique("We are on it");
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{conversation}/replies"),
            &key,
            Some(&json!({ "text": answer })),
        )
        .await;
    assert_eq!(reply.status, 202, "reply: {}", reply.text());

    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!(batch.received.len(), 1, "{batch:?}");
    assert!(batch.failed.is_empty(), "{batch:?}");
    let messages = stack.messages(&key, &conversation).await;
    let sent = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap_or_else(|| panic!("no reply in {messages:?}"));
    assert_eq!(sent["delivery_status"], "delivered", "{sent}");

    let path = link.trim_start_matches(&format!("https://{API_HOST}"));
    let page = stack
        .http(HttpRequest::new("GET", path).header("accept", "text/html"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains(&question), "the page shows the question");
    assert!(html.contains(&answer), "the page shows the reply: {html}");

    for function in [
        &stack.webform,
        &stack.inbox_api,
        &stack.router,
        &stack.sender,
    ] {
        assert_json_logs(function);
    }
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_after_five_receives_while_its_batch_is_stored()
 {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let mut texts = Vec::new();
    for i in 0..3 {
        let text = unique(&format!("message {i}"));
        submit(&mut stack, &format!("{}@example.com", unique("c")), &text).await;
        texts.push(text);
    }
    texts.sort();
    let poison = "{\"not\": \"an inbound message\"";
    stack
        .cloud
        .sqs
        .send_message()
        .queue_url(stack.queue_url(Source::Inbound))
        .message_body(poison)
        .message_group_id("poison")
        .message_deduplication_id(unique("poison"))
        .send()
        .await
        .expect("SendMessage");

    let first = stack.deliver_batch(Source::Inbound).await;
    assert_eq!(first.received.len(), 4, "one batch: {first:?}");
    assert_eq!(first.failed.len(), 1, "only the poison fails: {first:?}");
    let poison_id = first.failed[0].clone();
    assert_eq!(inbound_texts(&mut stack, &key).await, texts);

    // The function schedules the next try a second later; SQS counts the receives.
    let started = Instant::now();
    let mut receives = 1;
    while started.elapsed() < Duration::from_secs(60) {
        let batch = stack.deliver_batch(Source::Inbound).await;
        if batch.received.is_empty() {
            if depth(&stack.cloud.sqs, stack.queue_url(Source::Inbound)).await == 0 {
                break;
            }
            continue;
        }
        assert_eq!(batch.received, std::slice::from_ref(&poison_id));
        assert_eq!(batch.failed, std::slice::from_ref(&poison_id));
        receives += 1;
    }
    assert_eq!(receives, 5, "received five times, then dead-lettered");

    let dead = stack.get_ok(&key, "/v1/dead-letters?queue=inbound").await;
    let items = dead["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{dead}");
    assert_eq!(items[0]["id"], poison_id.as_str(), "{dead}");
    assert_eq!(items[0]["body"], poison, "{dead}");

    let replay = stack
        .api(
            "POST",
            &format!("/v1/dead-letters/inbound/{poison_id}/replay"),
            &key,
            None,
        )
        .await;
    assert!(
        replay.status < 300,
        "replay: {} {}",
        replay.status,
        replay.text()
    );
    let dead = stack.get_ok(&key, "/v1/dead-letters?queue=inbound").await;
    assert_eq!(dead["items"], json!([]), "{dead}");
    let back = stack.receive(Source::Inbound).await;
    assert_eq!(
        back.len(),
        1,
        "the replayed message is on the inbound queue again"
    );
    assert_eq!(back[0].body(), Some(poison));

    // Nothing of the batch was stored twice along the way.
    assert_eq!(inbound_texts(&mut stack, &key).await, texts);
}

#[tokio::test]
async fn a_redelivered_batch_stores_nothing_twice() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let mut texts = Vec::new();
    for i in 0..4 {
        let text = unique(&format!("redelivered {i}"));
        // Two addresses typed, two messages each: two message groups.
        let email = format!("customer{}@example.com", i % 2);
        submit(&mut stack, &email, &text).await;
        texts.push(text);
    }
    texts.sort();

    let messages = stack.receive(Source::Inbound).await;
    assert_eq!(messages.len(), 4);
    // SQS delivers at least once: the same batch reaches the function twice.
    assert!(
        stack
            .invoke_consumer(Source::Inbound, &messages)
            .await
            .is_empty()
    );
    assert!(
        stack
            .invoke_consumer(Source::Inbound, &messages)
            .await
            .is_empty()
    );
    stack
        .delete_successes(Source::Inbound, &messages, &[])
        .await;

    assert_eq!(inbound_texts(&mut stack, &key).await, texts);
    let conversations = stack.all_conversations(&key).await;
    assert_eq!(
        conversations.len(),
        4,
        "each submission its own, each once: {conversations:?}"
    );
}

#[tokio::test]
async fn a_burst_of_submissions_typing_one_address_stores_each_once_on_its_own() {
    // More than routing reads of one identity's holders (three), few enough that the
    // router's batches stay well inside its time limit on the emulator.
    const BURST: usize = 6;
    // One address, so one source IP would be rate limited: lift the limit.
    let mut stack = Stack::start_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let email = format!("{}@example.com", unique("burst"));
    let mut texts = Vec::new();
    for i in 0..BURST {
        let text = unique(&format!("burst {i:02}"));
        submit(&mut stack, &email, &text).await;
        texts.push(text);
    }
    let delivered = stack.drain(Source::Inbound).await;
    assert_eq!(delivered, BURST);

    // What is typed into a form joins nothing: each submission is its own contact and
    // conversation, each stored once, and every one offered to agents as a merge.
    let conversations = stack.all_conversations(&key).await;
    assert_eq!(conversations.len(), BURST, "{conversations:?}");
    let contacts = stack
        .list_all(&key, &format!("/v1/contacts?q={email}"))
        .await;
    assert_eq!(contacts.len(), BURST, "{contacts:?}");
    assert!(
        contacts.iter().all(|c| c["merge_suggestions"]
            .as_array()
            .is_some_and(|s| !s.is_empty())),
        "{contacts:?}"
    );
    let mut stored = Vec::new();
    for c in &conversations {
        let id = c["id"].as_str().expect("an id").to_owned();
        let messages = stack.messages(&key, &id).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        stored.push(messages[0]["text"].as_str().unwrap_or_default().to_owned());
    }
    stored.sort();
    texts.sort();
    assert_eq!(stored, texts, "every one, once each");
}

#[tokio::test]
async fn the_web_form_limits_each_api_gateway_source_ip() {
    let mut stack = Stack::start_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "2")]).await;
    let post = |ip: &str, i: u32| {
        HttpRequest::new("POST", "/webhooks/webform")
            .header("accept", "application/json")
            .form(&[
                ("email", format!("limit{i}@example.com")),
                ("message", format!("hello {i}")),
            ])
            .from_ip(ip)
    };
    for i in 0..2 {
        let response = stack.http(post("198.51.100.1", i)).await;
        assert_eq!(response.status, 202, "{}", response.text());
    }
    let limited = stack.http(post("198.51.100.1", 2)).await;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert!(limited.headers.contains_key("retry-after"), "{limited:?}");
    let other = stack.http(post("198.51.100.2", 3)).await;
    assert_eq!(other.status, 202, "another address has its own share");
}

#[tokio::test]
async fn the_sweeper_reopens_a_snoozed_conversation_when_its_time_comes() {
    let mut stack = Stack::start().await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    submit(&mut stack, "sleepy@example.com", "Wake me up").await;
    stack.drain(Source::Inbound).await;
    let id = stack.all_conversations(&key).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let until = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let snoozed = stack
        .api(
            "PATCH",
            &format!("/v1/conversations/{id}"),
            &key,
            Some(&json!({ "status": "snoozed", "snoozed_until": until })),
        )
        .await;
    assert_eq!(snoozed.status, 200, "{}", snoozed.text());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    stack.sweep().await;
    let conversation = stack.get_ok(&key, &format!("/v1/conversations/{id}")).await;
    assert_eq!(conversation["status"], "open", "{conversation}");
}

/// On AWS the sweeper keeps the SLA clocks: each minute it reads the event log (which the
/// event-log function keeps from the table's stream) and tells the breaches that came.
#[tokio::test]
async fn the_sweeper_measures_a_conversation_from_the_log_and_tells_its_breach_once() {
    let mut stack = Stack::start().await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    let policy = stack
        .api(
            "POST",
            "/v1/sla-policies",
            &key,
            Some(&json!({ "name": "Fast", "targets": { "normal": { "first_response_secs": 2 } } })),
        )
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text());
    // The keeper's first sweep finds where the log stands: it measures from then on.
    stack.sweep().await;
    submit(&mut stack, "late@example.com", "Nobody answers").await;
    stack.drain(Source::Inbound).await;
    stack.deliver_stream(&mut stream).await;
    let id = stack.all_conversations(&key).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    // Past the two seconds, and past the feed's settling second.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    stack.sweep().await;
    let conversation = stack.get_ok(&key, &format!("/v1/conversations/{id}")).await;
    let sla = &conversation["sla"];
    assert_eq!(sla["policy_id"], policy.json()["id"], "{conversation}");
    assert_eq!(sla["first_response"]["state"], "breached", "{sla}");
    assert_eq!(sla["urgency"], "breached");
    let breached = stack.list_all(&key, "/v1/conversations?sla=breached").await;
    assert_eq!(breached.len(), 1, "{breached:?}");

    // A second sweep tells nothing again.
    stack.sweep().await;
    let timeline = stack
        .get_ok(&key, &format!("/v1/conversations/{id}/timeline"))
        .await;
    let told: Vec<&Value> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["type"] == "sla_breached")
        .collect();
    assert_eq!(told.len(), 1, "{timeline}");
    assert_eq!(told[0]["target"], "first_response");
}

#[tokio::test]
async fn a_function_that_cannot_start_says_why_through_the_runtime_api() {
    let cloud = e2e::cloud::Cloud::create().await;
    let mut env = cloud.function_env();
    env.retain(|(k, _)| k != "SWITCHBOARD_LINK_SECRET_PARAMETER");
    env.push((
        "SWITCHBOARD_LINK_SECRET_PARAMETER".into(),
        "/no/such/parameter".into(),
    ));
    let mut webform = Function::start("webform", &env).await;
    let (error_type, body) = webform
        .init_failure()
        .await
        .expect("an init error reported before exiting");
    assert_eq!(error_type, "Runtime.InitError");
    assert_eq!(body["errorType"], "Runtime.InitError", "{body}");
    assert!(
        body["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// The template gives every function 128 MB, and Lambda stops a process that goes over:
/// each must do its real work (a batch of ten) within it. Debug builds use more than the
/// release builds deployed (`scripts/measure-lambdas` reports those).
#[tokio::test]
async fn each_function_handles_a_batch_of_ten_within_128_mb() {
    const LIMIT_KIB: u64 = 128 * 1024;
    let mut stack = Stack::start_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0")]).await;
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    for i in 0..10 {
        let email = format!("{}@example.com", unique(&format!("ten{i}")));
        submit(&mut stack, &email, &unique("a batch of ten")).await;
    }
    let batch = stack.deliver_batch(Source::Inbound).await;
    assert_eq!((batch.received.len(), batch.failed.len()), (10, 0));
    for conversation in stack.all_conversations(&key).await {
        let id = conversation["id"].as_str().expect("an id");
        let reply = stack
            .api(
                "POST",
                &format!("/v1/conversations/{id}/replies"),
                &key,
                Some(&json!({ "text": "Thanks, on it" })),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.text());
    }
    let batch = stack.deliver_batch(Source::Outbound).await;
    assert_eq!((batch.received.len(), batch.failed.len()), (10, 0));
    let mut sweeper = Function::start("sweeper", &stack.cloud.function_env()).await;
    sweeper.invoke_ok(e2e::events::scheduled_event()).await;

    for function in [
        &stack.webform,
        &stack.inbox_api,
        &stack.router,
        &stack.sender,
        &sweeper,
    ] {
        let peak = function.peak_rss_kib();
        assert!(peak < LIMIT_KIB, "{} peaked at {peak} KiB", function.name);
    }
}

/// On AWS the sweeper keeps the report counters from the event log: a conversation
/// answered once and resolved counts once, however often the sweeper runs.
#[tokio::test]
async fn the_sweeper_counts_each_conversation_once_for_the_reports() {
    let mut stack = Stack::start().await;
    let mut stream = TableStream::new(&stack.cloud.endpoint, &stack.cloud.settings.table);
    let key = stack
        .cloud
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await;
    // The first sweep finds where the log stands: counting starts from then on.
    stack.sweep().await;
    let page = submit(&mut stack, "asks@example.com", "Where is my parcel?").await;
    stack.drain(Source::Inbound).await;
    stack.deliver_stream(&mut stream).await;
    let id = stack.all_conversations(&key).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let reply = stack
        .api(
            "POST",
            &format!("/v1/conversations/{id}/replies"),
            &key,
            Some(&json!({ "text": "On its way" })),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let resolved = stack
        .api(
            "PATCH",
            &format!("/v1/conversations/{id}"),
            &key,
            Some(&json!({ "status": "resolved" })),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    stack.deliver_stream(&mut stream).await;
    // Past the feed's settling second.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    for _ in 0..2 {
        stack.sweep().await;
        let summary = stack.get_ok(&key, "/v1/reports/summary").await;
        assert_eq!(summary["conversations_count"], 1, "{summary}");
        assert_eq!(summary["incoming_messages_count"], 1, "{summary}");
        assert_eq!(summary["outgoing_messages_count"], 1, "{summary}");
        assert_eq!(summary["resolutions_count"], 1, "{summary}");
        assert_eq!(summary["first_contact_resolutions_count"], 1, "{summary}");
        assert_eq!(summary["first_response"]["count"], 1, "{summary}");
    }

    // The sweep asked the customer for a rating: on the timeline, and on their page.
    let timeline = stack
        .get_ok(&key, &format!("/v1/conversations/{id}/timeline"))
        .await;
    let asked = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["type"] == "survey_sent")
        .count();
    assert_eq!(asked, 1, "{timeline}");
    let page_path = page[page.find("/c/").expect("a page path")..].to_owned();
    let html = stack.http(HttpRequest::new("GET", &page_path)).await.text();
    let start = html.find("action=\"/s/").expect("the survey form") + "action=\"".len();
    let action = html[start..start + html[start..].find('"').expect("its end")].to_owned();
    let thanks = stack
        .http(HttpRequest::new("POST", &action).form(&[("rating", "5"), ("comment", "Fast")]))
        .await;
    assert_eq!(thanks.status, 200, "{}", thanks.text());
    // The router records it; the next sweep counts the survey and its rating.
    stack.drain(Source::Inbound).await;
    stack.deliver_stream(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stack.sweep().await;
    let summary = stack.get_ok(&key, "/v1/reports/summary").await;
    assert_eq!(summary["csat"]["surveys_sent"], 1, "{summary}");
    assert_eq!(summary["csat"]["responses"], 1, "{summary}");
    assert_eq!(summary["csat"]["average"], 5.0, "{summary}");
}

#[tokio::test]
async fn the_web_inbox_is_served_signed_in_to_listed_and_answered_through_api_gateway() {
    let mut stack = Stack::start().await;
    let directory = stack.cloud.backend().directory();
    let (admin, _) = directory
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await
        .expect("an admin");
    let password = "correct horse battery";
    directory
        .set_password(admin.id, password)
        .await
        .expect("a password");

    // The page and its files, from the API's function.
    let page = stack
        .http(HttpRequest::new("GET", "/app").header("accept-language", "fa"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let policy = &page.headers["content-security-policy"];
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = page.text();
    assert!(html.contains("dir=\"rtl\""), "{html}");
    let script_path = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its script")
        .to_owned();
    let script = stack
        .http(HttpRequest::new("GET", script_path.as_str()).header("accept-encoding", "gzip"))
        .await;
    assert_eq!(script.status, 200);
    assert_eq!(script.headers["content-encoding"], "gzip");
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(script.body.as_slice()),
        &mut plain,
    )
    .expect("the script arrives gzipped whole");
    assert!(plain.contains("/v1/session"), "the inbox script");

    // Sign in: the cookie comes back as API Gateway sets cookies.
    let signed_in = stack
        .http(
            HttpRequest::new("POST", "/v1/session")
                .json(&json!({"email": "ada@support.example", "password": password})),
        )
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let set_cookie = signed_in
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-sb_session="))
        .unwrap_or_else(|| panic!("no session cookie in {signed_in:?}"));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
    let cookie = set_cookie.split(';').next().expect("a cookie").to_owned();
    let csrf = signed_in.json()["csrf_token"]
        .as_str()
        .expect("a token")
        .to_owned();

    // A customer writes; the browser's session lists it and answers it.
    let question = unique("The payment page fails");
    submit(&mut stack, "sara@example.com", &question).await;
    stack.deliver_batch(Source::Inbound).await;
    let listed = stack
        .http(HttpRequest::new("GET", "/v1/conversations").cookie(cookie.clone()))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let conversation = listed.json()["items"][0]["id"]
        .as_str()
        .expect("the conversation is listed")
        .to_owned();
    let path = format!("/v1/conversations/{conversation}/replies");
    let answer = json!({"text": unique("We are on it")});
    let forged = stack
        .http(
            HttpRequest::new("POST", path.as_str())
                .cookie(cookie.clone())
                .json(&answer),
        )
        .await;
    assert_eq!(forged.status, 403, "no CSRF token: {}", forged.text());
    let reply = stack
        .http(
            HttpRequest::new("POST", path.as_str())
                .cookie(cookie.clone())
                .header("x-csrf-token", csrf.clone())
                .json(&answer),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());

    // Signed out, the cookie opens nothing.
    let out = stack
        .http(
            HttpRequest::new("DELETE", "/v1/session")
                .cookie(cookie.clone())
                .header("x-csrf-token", csrf),
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.text());
    let after = stack
        .http(HttpRequest::new("GET", "/v1/conversations").cookie(cookie))
        .await;
    assert_eq!(after.status, 401);

    // A one-time sign-in link: its page, then the click that opens a session, once.
    let token = directory.sign_in_link(admin.id).await.expect("a link");
    let path = format!("/app/link/{token}");
    let page = stack.http(HttpRequest::new("GET", path.as_str())).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("ada@support.example"));
    let click = stack.http(HttpRequest::new("POST", path.as_str())).await;
    assert_eq!(click.status, 303, "{}", click.text());
    let cookie = click
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-sb_session="))
        .expect("the link's session")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned();
    let me = stack
        .http(HttpRequest::new("GET", "/v1/me").cookie(cookie))
        .await;
    assert_eq!(me.status, 200, "{}", me.text());
    let again = stack.http(HttpRequest::new("POST", path.as_str())).await;
    assert_eq!(again.status, 404, "used up");
}

/// The knowledge base on AWS: an admin publishes through the API's function, which keeps
/// the search index in the bucket; the help center's function (another process, which
/// may read only that index, the articles' partition and its counters) searches it,
/// shows the article and counts the customer's "yes" for the API's report.
/// An admin's key, and the `refund-to-card` article published through the API.
async fn admin_with_refund_article(
    stack: &mut Stack,
    language: &str,
    title: &str,
    body: &str,
) -> String {
    let (_, key) = stack
        .cloud
        .backend()
        .directory()
        .create_agent("Ada", "ada@support.example", Role::Admin)
        .await
        .expect("an admin");
    let article = json!({
        "slug": "refund-to-card",
        "language": language,
        "title": title,
        "body": body,
        "status": "published",
    });
    let created = stack
        .api("POST", "/v1/articles", &key, Some(&article))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    key
}

#[tokio::test]
async fn an_article_published_through_the_api_is_searched_and_shown_by_the_help_center_from_s3() {
    let mut stack = Stack::start().await;
    let key = admin_with_refund_article(
        &mut stack,
        "fa",
        "بازگشت پول به کارت",
        "پول ظرف **۳ روز کاری** به کارتی برمی‌گردد که با آن پرداخت کرده‌اید.",
    )
    .await;

    let found = stack
        .http(HttpRequest::new(
            "GET",
            "/help?q=%D9%BE%D9%88%D9%84%D9%85+%D8%A8%D9%87+%D9%83%D8%A7%D8%B1%D8%AA%D9%85",
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    assert!(
        found.text().contains(r#"href="/help/refund-to-card""#),
        "{}",
        found.text()
    );
    let shown = stack
        .http(HttpRequest::new("GET", "/help/refund-to-card"))
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(
        shown.text().contains("<strong>۳ روز کاری</strong>"),
        "{}",
        shown.text()
    );
    let answered = stack
        .http(
            HttpRequest::new("POST", "/help/refund-to-card/feedback").form(&[("answered", "yes")]),
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.text());

    let report = stack.get_ok(&key, "/v1/reports/knowledge").await;
    assert_eq!(report["helpful"], 1, "{report}");
    assert_eq!(report["searches"], 1, "{report}");
    assert_eq!(report["top_articles"][0]["deflected"], 1, "{report}");
}

#[tokio::test]
async fn the_api_function_reads_the_language_models_key_from_ssm_and_drafts_from_the_articles() {
    let model = e2e::FakeLlm::start().await;
    let cloud = e2e::cloud::Cloud::create().await;
    let key_parameter = cloud
        .put_secret("llm-key", "sk-kept-in-ssm-0123456789")
        .await;
    let mut stack = Stack::start_on(
        cloud,
        &[
            ("SWITCHBOARD_LLM_URL", model.url()),
            ("SWITCHBOARD_LLM_MODEL", "support-model-1"),
            ("SWITCHBOARD_LLM_API_KEY_PARAMETER", &key_parameter),
        ],
    )
    .await;
    let key = admin_with_refund_article(
        &mut stack,
        "en",
        "Refund to your card",
        "Money goes back to the card you paid with within 3 working days.",
    )
    .await;
    submit(
        &mut stack,
        "sara@example.com",
        "when does my refund come back to my card?",
    )
    .await;
    stack.drain(Source::Inbound).await;
    let conversations = stack.all_conversations(&key).await;
    let id = conversations[0]["id"].as_str().expect("an id").to_owned();

    let drafted = stack
        .api(
            "POST",
            &format!("/v1/conversations/{id}/ai-draft"),
            &key,
            Some(&json!({})),
        )
        .await;
    assert_eq!(drafted.status, 200, "{}", drafted.text());
    let draft = drafted.json();
    assert_eq!(draft["articles"][0]["slug"], "refund-to-card", "{draft}");
    let asked = model.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].authorization.as_deref(),
        Some("Bearer sk-kept-in-ssm-0123456789"),
        "the key read from SSM"
    );
    assert!(
        asked[0].messages()[0].1.contains("within 3 working days"),
        "{:?}",
        asked[0].messages()
    );
}
