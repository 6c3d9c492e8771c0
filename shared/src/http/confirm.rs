//! The customer page's "confirm my email / phone": the customer proves an address they
//! typed by bringing back the secret sent to it. `POST /c/{token}/confirm` sends it (a
//! link by email, a code by SMS); `GET /confirm/{secret}` shows the link's page and
//! `POST /confirm/{secret}` uses it (a mail scanner that follows links proves nothing);
//! `POST /c/{token}/code` takes a code, on the page that asked for it only. Each counts
//! against the client address's and the page's rate limits, and, in the store, a page
//! tries at most five codes a day and an address is sent at most three secrets an hour
//! ([`crate::services::proof::CODE_TRIES_PER_DAY`]): six-digit codes cannot be tried in
//! bulk, from however many addresses or processes, and nobody's inbox is flooded.

use crate::http::WebState;
use crate::http::limits::{WithinAddressLimit, WithinLinkLimit};
use crate::http::links::{is_token_shaped, link_hash, public_base};
use crate::http::pages::{html_response, layout};
use crate::http::problem::ApiError;
use crate::model::{Conversation, IdentityKind};
use crate::services::proof::{CodeTry, proof_key};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

struct Words {
    confirm_email: &'static str,
    send_link: &'static str,
    confirm_phone: &'static str,
    send_code: &'static str,
    link_sent: &'static str,
    code_sent: &'static str,
    code: &'static str,
    check: &'static str,
    confirmed: &'static str,
    confirm_heading: &'static str,
    confirm_button: &'static str,
    link_invalid: &'static str,
    code_invalid: &'static str,
    code_locked: &'static str,
}

const ENGLISH: Words = Words {
    confirm_email: "Confirm your email address, so we recognise you next time:",
    send_link: "Send me a confirmation link",
    confirm_phone: "Confirm your phone number, so we recognise you next time:",
    send_code: "Text me a code",
    link_sent: "We sent a link to your email address. Open it to confirm.",
    code_sent: "We sent a code by SMS. Enter it here:",
    code: "Code",
    check: "Confirm",
    confirmed: "Thank you: your address is confirmed.",
    confirm_heading: "Confirm your address",
    confirm_button: "Yes, this is my address",
    link_invalid: "This link is no longer valid. Ask for a new one on your conversation page.",
    code_invalid: "That code is not right, or it expired. Ask for a new one.",
    code_locked: "Too many codes were tried on this page today. Try again tomorrow.",
};

const PERSIAN: Words = Words {
    confirm_email: "نشانی ایمیل خود را تأیید کنید تا دفعهٔ بعد شما را بشناسیم:",
    send_link: "پیوند تأیید را برایم بفرست",
    confirm_phone: "شمارهٔ تلفن خود را تأیید کنید تا دفعهٔ بعد شما را بشناسیم:",
    send_code: "کد را پیامک کن",
    link_sent: "پیوندی به ایمیل شما فرستادیم. برای تأیید آن را باز کنید.",
    code_sent: "کدی با پیامک فرستادیم. آن را این‌جا وارد کنید:",
    code: "کد",
    check: "تأیید",
    confirmed: "سپاس: نشانی شما تأیید شد.",
    confirm_heading: "تأیید نشانی",
    confirm_button: "بله، این نشانی من است",
    link_invalid: "این پیوند دیگر معتبر نیست. از صفحهٔ گفت‌وگوی خود پیوند تازه بخواهید.",
    code_invalid: "این کد درست نیست یا منقضی شده است. کد تازه بخواهید.",
    code_locked: "امروز کدهای زیادی در این صفحه وارد شده است. فردا دوباره امتحان کنید.",
};

fn words(language: &str) -> &'static Words {
    if language == "fa" { &PERSIAN } else { &ENGLISH }
}

/// The confirmation offers on a customer page: one per typed address still unproven,
/// when a channel can carry its secret. `step`: where a confirmation stands
/// (`?confirm=email|phone|done|bad-code|locked`).
pub async fn offers(
    state: &WebState,
    conversation: &Conversation,
    token: &str,
    step: Option<&str>,
) -> Markup {
    let confirm = format!("/c/{token}/confirm");
    let code = format!("/c/{token}/code");
    let w = words(&state.config.page.language);
    let email = state
        .proofs
        .provable(conversation, IdentityKind::Email)
        .await
        .ok()
        .flatten();
    let phone = state
        .proofs
        .provable(conversation, IdentityKind::Phone)
        .await
        .ok()
        .flatten();
    html! {
        @match step {
            Some("done") => p.notice role="status" { (w.confirmed) },
            Some("bad-code") => p.error role="alert" { (w.code_invalid) },
            Some("locked") => p.error role="alert" { (w.code_locked) },
            _ => {}
        }
        @if let Some(email) = email {
            form.confirm method="post" action=(confirm) {
                @if step == Some("email") { p.notice role="status" { (w.link_sent) } }
                p { (w.confirm_email) " " bdi { (email.value) } }
                input type="hidden" name="kind" value="email";
                button type="submit" { (w.send_link) }
            }
        }
        @if let Some(phone) = phone {
            form.confirm method="post" action=(confirm) {
                p { (w.confirm_phone) " " bdi dir="ltr" { (phone.value) } }
                input type="hidden" name="kind" value="phone";
                button type="submit" { (w.send_code) }
            }
            @if matches!(step, Some("phone") | Some("bad-code")) {
                form.confirm method="post" action=(code) {
                    p.notice role="status" { (w.code_sent) }
                    label for="code" { (w.code) }
                    input #code name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required;
                    button type="submit" { (w.check) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct ConfirmFields {
    kind: Option<String>,
    code: Option<String>,
}

fn fields(body: &Bytes) -> Result<ConfirmFields, ApiError> {
    serde_urlencoded::from_bytes(body)
        .or_else(|_| serde_json::from_slice(body))
        .map_err(|_| ApiError::bad_request("send `kind` (email or phone) or `code` as a form"))
}

/// The conversation a page token names.
async fn page_conversation(state: &WebState, token: &str) -> Result<Conversation, ApiError> {
    if !is_token_shaped(token) {
        return Err(ApiError::not_found("conversation"));
    }
    let id = state
        .conversations
        .conversation_for_link(&link_hash(token))
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    state
        .conversations
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// `POST /c/{token}/confirm`: sends the secret to the typed address of `kind`.
pub async fn request(
    State(state): State<WebState>,
    Path(token): Path<String>,
    _: WithinAddressLimit,
    _: WithinLinkLimit,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let conversation = page_conversation(&state, &token).await?;
        let kind = fields(&body)?.kind.unwrap_or_default();
        match kind.as_str() {
            "email" => {
                let base = public_base(&state.config, &uri, &headers).unwrap_or_default();
                state
                    .proofs
                    .send_link(&conversation, &format!("{base}/confirm/"))
                    .await?;
            }
            "phone" => {
                state
                    .proofs
                    .send_code(&conversation, &link_hash(&token))
                    .await?;
            }
            _ => return Err(ApiError::invalid("`kind` must be email or phone")),
        }
        Ok::<_, ApiError>(Redirect::to(&format!("/c/{token}?confirm={kind}")))
    }
    .await;
    match result {
        Ok(redirect) => redirect.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /c/{token}/code`: the code sent by SMS, good on this page only.
pub async fn code(
    State(state): State<WebState>,
    Path(token): Path<String>,
    _: WithinAddressLimit,
    _: WithinLinkLimit,
    body: Bytes,
) -> Response {
    let result = async {
        page_conversation(&state, &token).await?;
        let code = fields(&body)?.code.unwrap_or_default();
        let step = match state
            .proofs
            .try_code(&link_hash(&token), code.trim())
            .await?
        {
            CodeTry::Proven(_) => "done",
            CodeTry::Wrong => "bad-code",
            CodeTry::Locked => "locked",
        };
        Ok::<_, ApiError>(Redirect::to(&format!("/c/{token}?confirm={step}")))
    }
    .await;
    match result {
        Ok(redirect) => redirect.into_response(),
        Err(e) => e.into_response(),
    }
}

fn is_secret_shaped(secret: &str) -> bool {
    is_token_shaped(secret)
}

/// `GET /confirm/{secret}`: a page with one button; following a link changes nothing.
pub async fn link_page(State(state): State<WebState>, Path(secret): Path<String>) -> Response {
    let config = &state.config.page;
    let w = words(&config.language);
    if !is_secret_shaped(&secret) {
        return invalid(&state);
    }
    let body = html! {
        h1 { (w.confirm_heading) }
        form method="post" {
            button type="submit" { (w.confirm_button) }
        }
    };
    html_response(
        StatusCode::OK,
        layout(config, w.confirm_heading, false, body),
    )
}

/// `POST /confirm/{secret}`: uses the link, once.
pub async fn use_link(
    State(state): State<WebState>,
    Path(secret): Path<String>,
    _: WithinAddressLimit,
) -> Response {
    if !is_secret_shaped(&secret) {
        return invalid(&state);
    }
    match state.proofs.confirm(&proof_key(&secret)).await {
        Ok(Some(_)) => {
            let config = &state.config.page;
            let w = words(&config.language);
            let body =
                html! { h1 { (w.confirm_heading) } p.notice role="status" { (w.confirmed) } };
            html_response(
                StatusCode::OK,
                layout(config, w.confirm_heading, false, body),
            )
        }
        Ok(None) => invalid(&state),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn invalid(state: &WebState) -> Response {
    let config = &state.config.page;
    let w = words(&config.language);
    let body = html! { h1 { (w.confirm_heading) } p.error role="alert" { (w.link_invalid) } };
    html_response(
        StatusCode::GONE,
        layout(config, w.confirm_heading, false, body),
    )
}
