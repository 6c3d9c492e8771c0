//! A web customer proves an address they typed: a one-time link by email (through a real
//! SMTP server), a code by SMS (through the fake Twilio API). Only what comes back from
//! that address proves it; a forged, reused or wrong secret changes nothing.

use e2e::{ADMIN, App, DEADLINE, FakeTwilio, SmtpSink, eventually, header, twilio_env, unique};
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL_SECRET: &str = "relay-secret-0123456789";

async fn email_app(sink: &SmtpSink) -> App {
    App::spawn_with(&[
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
        ("SWITCHBOARD_EMAIL_WEBHOOK_SECRET", EMAIL_SECRET),
        ("SWITCHBOARD_EMAIL_FROM_PROVEN", "true"),
        ("SWITCHBOARD_SMTP_URL", &sink.url()),
        ("SWITCHBOARD_EMAIL_FROM", "support@switchboard.test"),
    ])
    .await
}

async fn post_form(app: &App, url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.post_form_to(url, fields).await
}

/// Where a redirect leads.
fn redirect_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn page_with(app: &App, url: &str, text: &str) -> String {
    eventually(&format!("{text:?} on the page"), DEADLINE, async || {
        let html = app.http.get(url).send().await.ok()?.text().await.ok()?;
        html.contains(text).then_some(html)
    })
    .await
}

/// The contact of the only conversation, once routed.
async fn contact_of_page(app: &App, key: &str) -> Value {
    let conversations = eventually("the conversation", DEADLINE, async || {
        let all = app.all_conversations(key).await;
        (!all.is_empty()).then_some(all)
    })
    .await;
    let id = conversations[0]["contact_id"]
        .as_str()
        .expect("a contact id");
    app.get_ok(key, &format!("/v1/contacts/{id}")).await
}

fn proven(contact: &Value, kind: &str, value: &str) -> bool {
    contact["identities"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["kind"] == kind && i["value"] == value && i["proven"] == true)
    })
}

/// The confirmation link in a raw email (quoted-printable soft breaks undone).
fn confirmation_link(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw).replace("=\r\n", "");
    let start = text.find("/confirm/")? + "/confirm/".len();
    let secret: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let before = &text[..start];
    let scheme = before.rfind("http")?;
    Some(format!("{}{secret}", &before[scheme..]))
}

#[tokio::test]
async fn following_the_emailed_link_proves_the_typed_address_once() {
    let sink = SmtpSink::start(&[]);
    let app = email_app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let address = format!("{}@example.com", unique("sara"));
    let url = app
        .submit(&[("name", "Sara"), ("email", &address), ("message", "hello")])
        .await;
    page_with(&app, &url, "Send me a confirmation link").await;
    let contact = contact_of_page(&app, &key).await;
    assert!(
        !proven(&contact, "email", &address),
        "typed, not proven yet"
    );

    let response = post_form(&app, &format!("{url}/confirm"), &[("kind", "email")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mail = eventually("the confirmation email", DEADLINE, async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert!(
        header(&mail, "To").is_some_and(|to| to.contains(&address)),
        "the link goes to the typed address only"
    );
    let link = confirmation_link(&mail).expect("a link in the email");
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    let page_html = app
        .http
        .get(&url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        !page_html.contains(&link),
        "the page never shows the secret"
    );

    // Following the link changes nothing by itself (mail scanners follow links).
    let shown = app.http.get(&link).send().await.expect("the link page");
    assert_eq!(shown.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!proven(
        &contact_of_page(&app, &key).await,
        "email",
        &address
    ));

    let used = post_form(&app, &link, &[]).await;
    assert_eq!(used.status(), StatusCode::OK);
    let contact = eventually("the address proven", DEADLINE, async || {
        let contact = contact_of_page(&app, &key).await;
        proven(&contact, "email", &address).then_some(contact)
    })
    .await;
    assert_eq!(
        post_form(&app, &link, &[]).await.status(),
        StatusCode::GONE,
        "a link works once"
    );
    eventually("the offer gone from the page", DEADLINE, async || {
        let html = app.http.get(&url).send().await.ok()?.text().await.ok()?;
        (!html.contains("Send me a confirmation link")).then_some(())
    })
    .await;

    // From now on the proven rules hold: an authenticated email from the address joins
    // this contact.
    app.relay_email(
        EMAIL_SECRET,
        &format!("Sara <{address}>"),
        "again",
        "writing by email now",
    )
    .await;
    let by_email = eventually("the email routed", DEADLINE, async || {
        let all = app.all_conversations(&key).await;
        (all.len() == 2).then_some(all)
    })
    .await;
    for c in &by_email {
        assert_eq!(c["contact_id"], contact["id"], "{c}");
    }
}

#[tokio::test]
async fn an_address_is_sent_three_confirmation_links_an_hour_from_every_page() {
    let sink = SmtpSink::start(&[]);
    let app = email_app(&sink).await;
    let address = format!("{}@example.com", unique("victim"));
    let first = app.submit(&[("email", &address), ("message", "one")]).await;
    let second = app.submit(&[("email", &address), ("message", "two")]).await;
    for page in [&first, &second] {
        page_with(&app, page, "Send me a confirmation link").await;
    }
    for page in [&first, &second, &first] {
        let response = post_form(&app, &format!("{page}/confirm"), &[("kind", "email")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let response = post_form(&app, &format!("{second}/confirm"), &[("kind", "email")]).await;
    assert_too_many(&response);
    exactly_three_sent("links", || sink.messages().len()).await;
}

fn assert_too_many(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

/// Waits until `sent` counts three, then checks that no fourth follows.
async fn exactly_three_sent(what: &str, sent: impl Fn() -> usize) {
    eventually(&format!("three {what} sent"), DEADLINE, async || {
        (sent() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sent(), 3, "a fourth of the {what} went out");
}

#[tokio::test]
async fn a_forged_or_reused_link_changes_nothing() {
    let sink = SmtpSink::start(&[]);
    let app = email_app(&sink).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let address = format!("{}@example.com", unique("sam"));
    let url = app.submit(&[("email", &address), ("message", "hi")]).await;
    page_with(&app, &url, "Send me a confirmation link").await;
    for forged in [
        "A".repeat(43),
        "not-a-secret".to_string(),
        url.rsplit('/').next().unwrap_or_default().to_string(),
    ] {
        let response = post_form(&app, &app.url(&format!("/confirm/{forged}")), &[]).await;
        assert_eq!(response.status(), StatusCode::GONE, "{forged}");
    }
    let response = post_form(&app, &format!("{url}/confirm"), &[("kind", "sms")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!proven(
        &contact_of_page(&app, &key).await,
        "email",
        &address
    ));
    assert!(sink.messages().is_empty(), "nothing was sent");
}

/// A server that texts through a fake Twilio API, its per-address and per-link rates
/// off (what the code tests hold is counted in the store).
async fn sms_app() -> (FakeTwilio, App) {
    let twilio = FakeTwilio::start(e2e::ACCOUNT_SID, e2e::AUTH_TOKEN).await;
    let env = twilio_env(&twilio);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"));
    let app = App::spawn_with(&all).await;
    (twilio, app)
}

/// Asks `page` for a code and reads it from the first text the fake Twilio got:
/// the code, and the number it went to.
async fn code_texted(app: &App, twilio: &FakeTwilio, page: &str) -> (String, String) {
    page_with(app, page, "Text me a code").await;
    let response = post_form(app, &format!("{page}/confirm"), &[("kind", "phone")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let sms = eventually("the code texted", DEADLINE, async || {
        twilio.sent().into_iter().next()
    })
    .await;
    let code: String = sms
        .field("Body")
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    assert_eq!(code.len(), 6, "{}", sms.field("Body"));
    (code, sms.field("To").to_owned())
}

#[tokio::test]
async fn a_code_texted_to_the_typed_phone_proves_it_on_that_page_only() {
    let (twilio, app) = sms_app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let phone = "+14155550166";
    let url = app
        .submit(&[("phone", "(415) 555-0166"), ("message", "call me")])
        .await;
    let (code, to) = code_texted(&app, &twilio, &url).await;
    assert_eq!(to, phone);

    // The code is worth nothing on another page, and a wrong code proves nothing.
    let other = app
        .submit(&[("phone", "(415) 555-0167"), ("message", "another")])
        .await;
    page_with(&app, &other, "Text me a code").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for (page, attempt) in [(&other, code.as_str()), (&url, wrong)] {
        let response = post_form(&app, &format!("{page}/code"), &[("code", attempt)]).await;
        let location = redirect_of(&response);
        assert!(location.ends_with("?confirm=bad-code"), "{location}");
    }
    let response = post_form(&app, &format!("{url}/code"), &[("code", &code)]).await;
    let location = redirect_of(&response);
    assert!(location.ends_with("?confirm=done"), "{location}");
    eventually("the phone proven", DEADLINE, async || {
        let conversations = app.all_conversations(&key).await;
        for c in conversations {
            let id = c["contact_id"].as_str()?.to_string();
            let contact = app.get_ok(&key, &format!("/v1/contacts/{id}")).await;
            if proven(&contact, "phone", phone) {
                return Some(());
            }
        }
        None
    })
    .await;
    let again = post_form(&app, &format!("{url}/code"), &[("code", &code)]).await;
    let location = redirect_of(&again);
    assert!(
        location.ends_with("?confirm=bad-code"),
        "a code works once: {location}"
    );
}

#[tokio::test]
async fn a_page_tries_five_codes_a_day_and_a_number_is_texted_three_codes_an_hour() {
    // The per-address and per-link rates are off: what holds here is counted in the
    // store, as it must be where many processes answer (Lambda).
    let (twilio, app) = sms_app().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let url = app
        .submit(&[("phone", "(415) 555-0168"), ("message", "call me back")])
        .await;
    let (code, _) = code_texted(&app, &twilio, &url).await;
    let code: u32 = code.parse().expect("a six-digit code");

    // Five wrong guesses are answered as wrong...
    for n in 1..=5 {
        let guess = format!("{:06}", (code + n) % 1_000_000);
        let response = post_form(&app, &format!("{url}/code"), &[("code", &guess)]).await;
        let location = redirect_of(&response);
        assert!(location.ends_with("?confirm=bad-code"), "{location}");
    }
    // ...and after them even the right code is not looked at today.
    let right = format!("{code:06}");
    let response = post_form(&app, &format!("{url}/code"), &[("code", &right)]).await;
    let location = redirect_of(&response);
    assert!(location.ends_with("?confirm=locked"), "{location}");
    let page = page_with(
        &app,
        &format!("{url}?confirm=locked"),
        "Too many codes were tried",
    )
    .await;
    assert!(!page.contains("name=\"code\""), "no code form: {page}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let contact = contact_of_page(&app, &key).await;
    assert!(
        !proven(&contact, "phone", "+14155550168"),
        "the phone was proven: {contact}"
    );

    // The number gets three codes this hour, from this page or any other.
    let other = app
        .submit(&[("phone", "+1 415 555 0168"), ("message", "me again")])
        .await;
    page_with(&app, &other, "Text me a code").await;
    let response = post_form(&app, &format!("{other}/confirm"), &[("kind", "phone")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = post_form(&app, &format!("{url}/confirm"), &[("kind", "phone")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = post_form(&app, &format!("{other}/confirm"), &[("kind", "phone")]).await;
    assert_too_many(&response);
    exactly_three_sent("codes", || twilio.sent().len()).await;

    // A code form's body is a few bytes: a large one is refused unread.
    let response = post_form(
        &app,
        &format!("{other}/code"),
        &[("code", &"1".repeat(20_000))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
