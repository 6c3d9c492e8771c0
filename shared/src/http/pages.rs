//! The customer-facing pages: the hosted contact form and each customer's private
//! conversation page. Plain HTML that works without JavaScript, right-to-left for
//! Persian. Every value is escaped by the template engine.

use crate::channels::webform::{FormProblem, WebformFields};
use crate::config::PageConfig;
use crate::http::WebState;
use crate::http::links::{is_token_shaped, link_hash};
use crate::http::problem::ApiError;
use crate::http::stamp::written_at;
use crate::model::{Direction, next_ulid};
use crate::services::customer_page;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The words of the pages, per language.
struct Words {
    dir: &'static str,
    heading: &'static str,
    /// By what else replies go: the page only, email, SMS, either.
    intro: [&'static str; 4],
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    email_or_phone: &'static str,
    message: &'static str,
    send: &'static str,
    conversation: &'static str,
    you: &'static str,
    support: &'static str,
    processing: &'static str,
    answer: &'static str,
    keep_link: &'static str,
    older: &'static str,
    newest: &'static str,
    /// The contact page's search step, and the heading of what it found.
    search_first: &'static str,
    search: &'static str,
    suggested: &'static str,
    help: &'static str,
    /// What is wrong with a submission: no message, a message too long, an email or a
    /// phone that does not parse, neither given, anything else.
    problems: [&'static str; 6],
}

const ENGLISH: Words = Words {
    dir: "ltr",
    heading: "Contact us",
    // Replies appear on the page; where the installation sends email or SMS, they also
    // go to the address or number typed on the form.
    intro: [
        "Write to us: we will answer on the page you are taken to next.",
        "Write to us: we will answer on the page you are taken to next, and by email if you give your address.",
        "Write to us: we will answer on the page you are taken to next, and by text message if you give your number.",
        "Write to us: we will answer on the page you are taken to next, and by email or text message to the address or number you give.",
    ],
    name: "Your name",
    email: "Email",
    phone: "Phone",
    email_or_phone: "Give an email address or a phone number (or both) so we can answer.",
    message: "How can we help?",
    send: "Send",
    conversation: "Your conversation",
    you: "You",
    support: "Support",
    processing: "We have received your message. This page will show our conversation in a moment.",
    answer: "Write a reply",
    keep_link: "Keep this page's address: it is your private link to this conversation.",
    older: "Older messages",
    newest: "Newest messages",
    search_first: "Your question may already be answered: search our help center first.",
    search: "Search",
    suggested: "These articles may answer your question:",
    help: "Help center",
    problems: [
        "Please write your message.",
        "Your message is longer than 10,000 characters; please shorten it.",
        "That email address does not look right; please check it.",
        "That phone number does not look right; please check it.",
        "Give an email address or a phone number so we can answer.",
        "Something in the form is not right; please check it and send it again.",
    ],
};

const PERSIAN: Words = Words {
    dir: "rtl",
    heading: "تماس با ما",
    intro: [
        "پیام خود را بنویسید؛ پاسخ را در صفحه‌ای می‌گیرید که پس از ارسال باز می‌شود.",
        "پیام خود را بنویسید؛ پاسخ را در صفحه‌ای می‌گیرید که پس از ارسال باز می‌شود، و اگر ایمیل خود را بدهید با ایمیل هم.",
        "پیام خود را بنویسید؛ پاسخ را در صفحه‌ای می‌گیرید که پس از ارسال باز می‌شود، و اگر شماره تلفن خود را بدهید با پیامک هم.",
        "پیام خود را بنویسید؛ پاسخ را در صفحه‌ای می‌گیرید که پس از ارسال باز می‌شود، و با ایمیل یا پیامک به نشانی یا شماره‌ای که می‌دهید.",
    ],
    name: "نام شما",
    email: "ایمیل",
    phone: "تلفن",
    email_or_phone: "برای دریافت پاسخ، ایمیل یا شماره تلفن (یا هر دو) را وارد کنید.",
    message: "چطور می‌توانیم کمک کنیم؟",
    send: "ارسال",
    conversation: "گفت‌وگوی شما",
    you: "شما",
    support: "پشتیبانی",
    processing: "پیام شما رسید. این صفحه تا لحظاتی دیگر گفت‌وگو را نشان می‌دهد.",
    answer: "پاسخ بنویسید",
    keep_link: "نشانی این صفحه را نگه دارید: پیوند خصوصی شما به این گفت‌وگوست.",
    older: "پیام‌های قدیمی‌تر",
    newest: "تازه‌ترین پیام‌ها",
    search_first: "شاید پاسخ پرسش شما آماده باشد: اول در مرکز راهنما جست‌وجو کنید.",
    search: "جست‌وجو",
    suggested: "این مقاله‌ها شاید به پرسش شما پاسخ دهند:",
    help: "مرکز راهنما",
    problems: [
        "لطفاً پیام خود را بنویسید.",
        "پیام شما بیش از ۱۰٬۰۰۰ نویسه است؛ لطفاً کوتاه‌ترش کنید.",
        "نشانی ایمیل درست به نظر نمی‌رسد؛ لطفاً آن را بررسی کنید.",
        "شماره تلفن درست به نظر نمی‌رسد؛ لطفاً آن را بررسی کنید.",
        "برای دریافت پاسخ، ایمیل یا شماره تلفن خود را وارد کنید.",
        "چیزی در فرم درست نیست؛ لطفاً آن را بررسی کنید و دوباره بفرستید.",
    ],
};

fn words(language: &str) -> &'static Words {
    if language == "fa" { &PERSIAN } else { &ENGLISH }
}

/// What the page says, in its language, of what is wrong with a submission.
pub fn problem_text(config: &PageConfig, problem: FormProblem) -> &'static str {
    let index = match problem {
        FormProblem::NoMessage => 0,
        FormProblem::MessageTooLong => 1,
        FormProblem::BadEmail => 2,
        FormProblem::BadPhone => 3,
        FormProblem::NoEmailOrPhone => 4,
        FormProblem::Other => 5,
    };
    words(&config.language).problems[index]
}

/// What a visitor typed, kept when the form is shown again with an error.
#[derive(Default)]
pub struct FormValues {
    name: String,
    email: String,
    phone: String,
    message: String,
    page: String,
}

impl From<&WebformFields> for FormValues {
    fn from(f: &WebformFields) -> Self {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        Self {
            name: v(&f.name),
            email: v(&f.email),
            phone: v(&f.phone),
            message: v(&f.message),
            page: v(&f.page),
        }
    }
}

pub(super) fn layout(config: &PageConfig, title: &str, refresh: bool, body: Markup) -> Markup {
    let w = words(&config.language);
    html! {
        (DOCTYPE)
        html lang=(config.language) dir=(w.dir) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                @if refresh { meta http-equiv="refresh" content="3"; }
                title { (title) " · " (config.title) }
                style { (maud::PreEscaped(STYLE.replace("ACCENT", &config.color))) }
            }
            body {
                header {
                    @if let Some(logo) = &config.logo_url { img src=(logo) alt="" height="40"; }
                    strong { (config.title) }
                }
                main { (body) }
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,Tahoma,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}\
header{display:flex;gap:.75rem;align-items:center;padding:1rem 1.5rem;background:ACCENT;color:#fff}\
main{max-width:40rem;margin:1.5rem auto;padding:0 1rem}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input,textarea{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #c5ccd6;border-radius:.4rem;font:inherit}\
textarea{min-height:8rem}button{margin-top:1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:ACCENT;color:#fff;font:inherit;cursor:pointer}\
.error{background:#fde8e8;border:1px solid #f5a3a3;padding:.75rem;border-radius:.4rem}\
.hint{color:#5b6572;font-size:.9rem}.trap{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip-path:inset(50%);white-space:nowrap}\
.msg{padding:.75rem 1rem;border-radius:.6rem;margin:.5rem 0;white-space:pre-wrap;unicode-bidi:plaintext}\
.in{background:#fff;border:1px solid #dde2e8}.out{background:#e8f1ff;border:1px solid #c4dafc}\
.who{font-size:.8rem;color:#5b6572;margin-bottom:.25rem}.file{font-size:.9rem;color:#5b6572}\
.notice{background:#e9f7ef;border:1px solid #9fd8b5;padding:.75rem;border-radius:.4rem}\
.confirm{margin:1rem 0;padding:.75rem 1rem;border:1px dashed #c5ccd6;border-radius:.6rem}\
.survey{margin:1rem 0;padding:.75rem 1rem;border:1px solid #c4dafc;border-radius:.6rem;background:#fff}\
.scale{display:flex;flex-wrap:wrap;gap:.4rem;border:0;padding:0;margin:.5rem 0}\
.scale label{display:inline-flex;gap:.3rem;align-items:center;margin:0;padding:.4rem .7rem;border:1px solid #c5ccd6;border-radius:.4rem;font-weight:400;cursor:pointer}\
.scale input{width:auto}\
.secondary{background:#fff;color:ACCENT;border:1px solid ACCENT}\
.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}.search label{flex-basis:100%}.search input{flex:1}.search button{margin-top:0}\
#search-step{margin:1rem 0;padding:.75rem 1rem;border:1px dashed #c5ccd6;border-radius:.6rem}#search-step button{margin-top:.5rem}\
.hits{list-style:none;padding:0}.hits li{margin:.5rem 0;padding:.6rem .8rem;background:#fff;border:1px solid #dde2e8;border-radius:.5rem}\
.hits .hint{margin:.25rem 0 0}.article{line-height:1.7}.tag{color:#5b6572;unicode-bidi:isolate}.feedback{margin-top:2rem;padding-top:1rem;border-top:1px solid #dde2e8}";

/// The policy of every response that is not a page: no other site may frame it. The
/// router sets it on any response that has no policy of its own.
pub const FRAME_ANCESTORS: &str = "frame-ancestors 'none'";

/// The pages' policy: nothing but their inline style, the logo, forms posted back here,
/// and no other site may frame them (clickjacking; the router adds `X-Frame-Options`
/// for older browsers).
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The contact page's policy: the pages' own, and its suggestions script, which reads
/// the help center's search from this origin.
const CONTACT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
    script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn html_response(status: StatusCode, markup: Markup) -> Response {
    html_response_with(status, markup, PAGE_POLICY)
}

fn html_response_with(status: StatusCode, markup: Markup, policy: &'static str) -> Response {
    let mut response = (status, axum::response::Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(policy),
    );
    response
}

/// What the contact page's search step found: the question and its articles.
pub struct Suggested<'a> {
    pub question: &'a str,
    pub hits: &'a [crate::model::knowledge::Hit],
}

/// The hosted contact page, with an error and the visitor's values when shown again, and
/// the help center's articles for the question its search step asked.
pub fn contact_page(
    config: &PageConfig,
    error: Option<&str>,
    values: &FormValues,
    suggested: Option<Suggested<'_>>,
    status: StatusCode,
) -> Response {
    let w = words(&config.language);
    let body = html! {
        h1 { (w.heading) }
        p { (w.intro[usize::from(config.answers_by_email) + 2 * usize::from(config.answers_by_sms)]) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form #search-step method="get" action="/contact" role="search" accept-charset="utf-8" {
            label for="q" { (w.search_first) }
            input #q name="q" type="search" maxlength="500" value=(suggested.as_ref().map_or("", |s| s.question));
            input type="hidden" name="page" value=(values.page);
            button.secondary type="submit" { (w.search) }
        }
        @if let Some(found) = &suggested {
            @if !found.hits.is_empty() {
                section.suggested {
                    p.hint { (w.suggested) }
                    (super::help::hit_list(found.hits))
                }
            }
        }
        p { a href="/help" { (w.help) } }
        form method="post" action="/webhooks/webform" accept-charset="utf-8" {
            label for="name" { (w.name) }
            input #name name="name" autocomplete="name" maxlength="200" value=(values.name);
            label for="email" { (w.email) }
            input #email name="email" type="email" autocomplete="email" dir="ltr" value=(values.email);
            label for="phone" { (w.phone) }
            input #phone name="phone" type="tel" autocomplete="tel" dir="ltr" value=(values.phone);
            p.hint { (w.email_or_phone) }
            label for="message" { (w.message) }
            textarea #message name="message" required maxlength="10000" { (values.message) }
            div #suggestions hidden aria-live="polite" data-heading=(w.suggested) {}
            div.trap aria-hidden="true" {
                label for="website" { "Website" }
                input #website name="website" tabindex="-1" autocomplete="off";
            }
            input type="hidden" name="page" value=(values.page);
            input type="hidden" name="idempotency_key" value=(next_ulid().to_string());
            button type="submit" { (w.send) }
        }
        script src="/help/contact.js" defer {}
    };
    html_response_with(
        status,
        layout(config, w.heading, false, body),
        CONTACT_POLICY,
    )
}

#[derive(serde::Deserialize)]
pub struct ContactQuery {
    page: Option<String>,
    /// The search step's question: its articles are shown, and the message starts as it.
    q: Option<String>,
}

pub async fn contact(
    State(state): State<WebState>,
    _: super::limits::WithinSearchLimit,
    query: axum::extract::Query<ContactQuery>,
) -> Response {
    let question: Option<String> = query
        .0
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(500).collect());
    let values = FormValues {
        page: query.0.page.unwrap_or_default(),
        message: question.clone().unwrap_or_default(),
        ..Default::default()
    };
    let hits = match &question {
        Some(q) => match state
            .knowledge
            .customer_search(q, None, super::help::SUGGESTED)
            .await
        {
            Ok(hits) => hits,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => Vec::new(),
    };
    let suggested = question.as_deref().map(|q| Suggested {
        question: q,
        hits: &hits,
    });
    contact_page(&state.config.page, None, &values, suggested, StatusCode::OK)
}

#[derive(serde::Deserialize)]
pub struct CustomerQuery {
    /// Show the messages from before this one (the page's "older" link).
    before: Option<String>,
    /// Where a confirmation of a typed address stands (see [`super::confirm`]).
    confirm: Option<String>,
}

/// `GET /c/{token}`: the customer's own conversation, newest messages first in view
/// ([`customer_page::PAGE_MESSAGES`] at a time, older ones a link away). Notes and
/// events never show.
pub async fn customer(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Response {
    if !is_token_shaped(&token) {
        return ApiError::not_found("conversation").into_response();
    }
    let before = match query.before.as_deref().map(ulid::Ulid::from_string) {
        None => None,
        Some(Ok(position)) => Some(position),
        Some(Err(_)) => {
            return ApiError::bad_request("`before` is not a place in this conversation")
                .into_response();
        }
    };
    let config = &state.config.page;
    let w = words(&config.language);
    let conversation = match state
        .conversations
        .conversation_for_link(&link_hash(&token))
        .await
    {
        Ok(c) => c,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(conversation) = conversation else {
        return html_response(
            StatusCode::OK,
            layout(
                config,
                w.conversation,
                true,
                html! { h1 { (w.conversation) } p { (w.processing) } },
            ),
        );
    };
    let view = match customer_page::view(state.conversations.as_ref(), conversation, before).await {
        Ok(view) => view,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (offers, bot_waits) = match state.conversations.conversation(conversation).await {
        Ok(Some(c)) => (
            super::confirm::offers(&state, &c, &token, query.confirm.as_deref()).await,
            super::bot_answer::waiting_on(&c, &view.messages),
        ),
        Ok(None) => (html! {}, None),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let survey = super::survey_pages::offer(&state, conversation).await;
    let body = html! {
        h1 { (w.conversation) }
        p.hint { (w.keep_link) }
        @if let Some(older) = view.older {
            p { a.older href={ "?before=" (older) } { (w.older) } }
        }
        @for m in &view.messages {
            @let inbound = m.direction == Direction::Inbound;
            div class={ "msg " (if inbound { "in" } else { "out" }) } {
                div.who { (if inbound { w.you } else { w.support }) " · " bdi dir=(w.dir) { time datetime=(m.created_at.to_rfc3339()) { (written_at(m.created_at, config.time_zone, &config.language)) } } }
                (m.text)
                @for a in &m.attachments {
                    div.file { "📎 " (a.filename.as_deref().unwrap_or("attachment")) }
                }
            }
            @if let Some(article) = bot_waits.filter(|a| m.context.iter().any(|c| c.value == a.to_string())) {
                (super::bot_answer::buttons(&token, article, &config.language))
            }
        }
        @if before.is_some() {
            // Relative: the page's own path without the query, wherever it is mounted.
            p { a.newest href=(token) { (w.newest) } }
        }
        (offers)
        (survey)
        form method="post" action=(token) accept-charset="utf-8" {
            label for="message" { (w.answer) }
            textarea #message name="message" required maxlength="10000" {}
            input type="hidden" name="idempotency_key" value=(next_ulid().to_string());
            button type="submit" { (w.send) }
        }
    };
    html_response(StatusCode::OK, layout(config, w.conversation, false, body))
}
