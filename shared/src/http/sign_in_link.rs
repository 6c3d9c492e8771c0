//! One-time sign-in links (`/app/link/<token>`): the page names who it signs in and asks
//! for a click, so a mail scanner that follows the link uses nothing up; the click opens
//! a session and goes to the inbox. Plain HTML, no script.

use super::ApiState;
use super::api::session::session_cookie;
use super::inbox::{INBOX_POLICY, language};
use super::problem::ApiError;
use super::same_site::from_another_site;
use crate::services::sign_in::SESSION_LIFETIME;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE, USER_AGENT,
};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

struct Words {
    title: &'static str,
    sign_in_as: &'static str,
    button: &'static str,
    gone: &'static str,
    gone_detail: &'static str,
    elsewhere: &'static str,
    elsewhere_detail: &'static str,
}

const ENGLISH: Words = Words {
    title: "Sign in to Switchboard",
    sign_in_as: "This link signs you in once, as",
    button: "Sign in",
    gone: "This sign-in link is used or expired",
    gone_detail: "Ask an admin for a new one, or sign in with your password.",
    elsewhere: "This sign-in was sent from another site",
    elsewhere_detail: "Nobody was signed in. Open the link you were given yourself, and press the button on its page.",
};

const PERSIAN: Words = Words {
    title: "ورود به Switchboard",
    sign_in_as: "این پیوند یک بار شما را وارد می‌کند، با نام",
    button: "ورود",
    gone: "این پیوند ورود به کار رفته یا منقضی شده است",
    gone_detail: "از مدیر پیوند تازه‌ای بخواهید، یا با گذرواژهٔ خود وارد شوید.",
    elsewhere: "این ورود از سایت دیگری فرستاده شده است",
    elsewhere_detail: "کسی وارد نشد. پیوندی را که به شما داده شده خودتان باز کنید و دکمهٔ صفحهٔ آن را بزنید.",
};

fn page(language: &str, body: Markup) -> Response {
    let dir = if language == "fa" { "rtl" } else { "ltr" };
    let words = if language == "fa" { &PERSIAN } else { &ENGLISH };
    let html = html! {
        (DOCTYPE)
        html lang=(language) dir=(dir) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (words.title) }
                link rel="stylesheet" href="/app/app.css";
            }
            body { main class="signin-link" { h1 { (words.title) } (body) } }
        }
    };
    (
        [
            (CONTENT_SECURITY_POLICY, INBOX_POLICY),
            (CACHE_CONTROL, "no-store"),
            (REFERRER_POLICY, "no-referrer"),
        ],
        Html(html.into_string()),
    )
        .into_response()
}

/// A page that says why nothing was done, with `status`.
fn refusal(language: &str, status: StatusCode, said: fn(&Words) -> (&str, &str)) -> Response {
    let words = if language == "fa" { &PERSIAN } else { &ENGLISH };
    let (title, detail) = said(words);
    let mut response = page(
        language,
        html! { p role="alert" { strong { (title) } } p { (detail) } },
    );
    *response.status_mut() = status;
    response
}

fn gone(language: &str) -> Response {
    refusal(language, StatusCode::NOT_FOUND, |w| (w.gone, w.gone_detail))
}

/// A click that a page of another site made (a form there posting here): refused, so
/// nobody's browser is signed in to an account that is not theirs without knowing.
fn from_elsewhere(language: &str) -> Response {
    refusal(language, StatusCode::FORBIDDEN, |w| {
        (w.elsewhere, w.elsewhere_detail)
    })
}

/// The link's page: whom it signs in, and the button that does.
pub async fn show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let language = language(&headers);
    let Some(agent) = state.directory.link_agent(&token).await? else {
        return Ok(gone(language));
    };
    let words = if language == "fa" { &PERSIAN } else { &ENGLISH };
    Ok(page(
        language,
        html! {
            p { (words.sign_in_as) " " strong { bdi { (agent.name) } } " (" bdi { (agent.email.as_str()) } ")." }
            form method="post" {
                button type="submit" class="btn primary" { (words.button) }
            }
        },
    ))
}

/// The click: the link is used up and a session opened; on to the inbox. Only from the
/// link's own page: a post another site's page made leaves the link as it was.
pub async fn redeem(
    State(state): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    if from_another_site(&state.config, &uri, &headers) {
        tracing::warn!("a sign-in link posted from another site: refused");
        return Ok(from_elsewhere(language(&headers)));
    }
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    let Some(signed_in) = state.directory.redeem_link(&token, user_agent).await? else {
        return Ok(gone(language(&headers)));
    };
    let mut response = Redirect::to("/app").into_response();
    response.headers_mut().append(
        SET_COOKIE,
        session_cookie(&signed_in.cookie, SESSION_LIFETIME),
    );
    Ok(response)
}
