//! Bad input gets a clear 4xx problem document, nothing is stored, and the server lives on.

use e2e::{ADMIN, App, problem_of};
use reqwest::StatusCode;
use std::time::Duration;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

struct Case {
    what: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// The statuses the contract allows for this case.
    expected: &'static [u16],
}

fn case(
    what: &'static str,
    content_type: &'static str,
    body: &[u8],
    expected: &'static [u16],
) -> Case {
    Case {
        what,
        content_type,
        body: body.to_vec(),
        expected,
    }
}

fn cases() -> Vec<Case> {
    let mut oversized = b"email=big%40example.com&message=".to_vec();
    oversized.extend(std::iter::repeat_n(b'a', 70 * 1024));
    let mut oversized_json = br#"{"email":"big@example.com","message":""#.to_vec();
    oversized_json.extend(std::iter::repeat_n(b'a', 70 * 1024));
    oversized_json.extend(br#""}"#);
    vec![
        case(
            "malformed urlencoded (the message field twice)",
            FORM,
            b"message=hello&message=again&email=dup%40example.com",
            &[400, 422],
        ),
        case(
            "malformed JSON (truncated)",
            JSON,
            br#"{"message": "hello", "email": "trunc@example.com""#,
            &[400],
        ),
        case(
            "JSON of the wrong shape (message is a number)",
            JSON,
            br#"{"message": 42, "email": "shape@example.com"}"#,
            &[400, 422],
        ),
        case("JSON that is an array", JSON, br#"["hello"]"#, &[400, 422]),
        case(
            "an oversized urlencoded body (70 KiB)",
            FORM,
            &oversized,
            &[413],
        ),
        case(
            "an oversized JSON body (70 KiB)",
            JSON,
            &oversized_json,
            &[413],
        ),
        case(
            "a missing message",
            FORM,
            b"name=Nora&email=nomsg%40example.com",
            &[422],
        ),
        case(
            "an empty message",
            FORM,
            b"name=Nora&email=empty%40example.com&message=",
            &[422],
        ),
        case(
            "neither email nor phone",
            FORM,
            b"name=Nobody&message=hello",
            &[422],
        ),
        case(
            "an invalid email",
            FORM,
            b"email=not-an-email&message=hello",
            &[422],
        ),
        case(
            "an invalid email in JSON",
            JSON,
            br#"{"email": "a@b@c", "message": "hello"}"#,
            &[422],
        ),
        case("an invalid phone", FORM, b"phone=12&message=hello", &[422]),
        case(
            "a phone that is words",
            FORM,
            b"phone=call+me+maybe&message=hello",
            &[422],
        ),
        case(
            "invalid UTF-8 bytes in a urlencoded body",
            FORM,
            b"email=latin%40example.com&message=caf\xe9 cr\xe8me",
            &[400, 422],
        ),
        case(
            "invalid UTF-8 percent-encoded in a urlencoded body",
            FORM,
            b"email=latin%40example.com&message=caf%E9",
            &[400, 422],
        ),
        case(
            "invalid UTF-8 bytes in a JSON body",
            JSON,
            b"{\"email\": \"latin@example.com\", \"message\": \"caf\xe9\"}",
            &[400],
        ),
        case(
            "the wrong content type (text/plain)",
            "text/plain",
            b"email=plain%40example.com&message=hello",
            &[415],
        ),
    ]
}

#[tokio::test]
async fn bad_submissions_get_a_problem_document_and_nothing_is_stored() {
    let app = App::spawn().await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let mut failures = Vec::new();
    for case in cases() {
        let response = app
            .post_raw("/webhooks/webform", case.content_type, case.body)
            .await;
        match problem_of(response).await {
            Ok((status, _)) if case.expected.contains(&status.as_u16()) => {}
            Ok((status, body)) => failures.push(format!(
                "{}: expected {:?}, got {status} {body}",
                case.what, case.expected
            )),
            Err(why) => failures.push(format!("{}: {why}", case.what)),
        }
    }

    // Anything wrongly accepted would be routed by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored = app.all_conversations(&key).await;
    let health = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("the server is still alive");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        failures.is_empty(),
        "bad input not refused properly:\n{}",
        failures.join("\n")
    );
    assert!(stored.is_empty(), "bad input was stored: {stored:?}");
}

#[tokio::test]
async fn the_web_form_rate_limit_answers_429_with_a_problem_document() {
    let app = App::spawn_with(&[("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "3")]).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let response = app
            .post_webform(&[
                ("email", "rate@example.com"),
                ("message", &format!("message {n}")),
            ])
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            problem_of(response).await.expect("a 429 problem document");
        }
    }
    assert_eq!(&statuses[..3], [202, 202, 202], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
}
