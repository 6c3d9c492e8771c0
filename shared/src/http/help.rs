//! The public help center: `/help` (every published article by category, and a search),
//! `/help/<slug>` (one article, with "did this answer your question?"), and the search
//! as JSON that the contact page's suggestions read as its visitor types. Server-
//! rendered and whole without JavaScript; each article right-to-left when it is
//! Persian. Article bodies are Markdown rendered by the model's one sanitizing
//! renderer; every other value is escaped by the template engine.

use super::WebState;
use super::limits::WithinSearchLimit;
use super::pages::{html_response, layout};
use super::problem::ApiError;
use crate::model::knowledge::{Counted, Hit, render_markdown};
use crate::model::normalize_tag;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

/// Longest question searched, in characters.
const MAX_QUESTION_CHARS: usize = 500;
/// Articles one search shows.
const SHOWN: usize = 8;
/// Articles the contact page suggests.
pub const SUGGESTED: usize = 3;

struct Words {
    heading: &'static str,
    search: &'static str,
    search_hint: &'static str,
    found: &'static str,
    nothing: &'static str,
    contact: &'static str,
    others: &'static str,
    all: &'static str,
    asked: &'static str,
    yes: &'static str,
    no: &'static str,
    thanks_yes: &'static str,
    thanks_no: &'static str,
    back: &'static str,
}

const ENGLISH: Words = Words {
    heading: "Help center",
    search: "Search",
    search_hint: "Ask your question in your own words",
    found: "Articles that may answer it",
    nothing: "No article matches that yet.",
    contact: "Write to us",
    others: "Other",
    all: "All articles",
    asked: "Did this answer your question?",
    yes: "Yes, it did",
    no: "No",
    thanks_yes: "Glad it helped. Thank you for telling us.",
    thanks_no: "Sorry it did not. Write to us and a person will answer.",
    back: "Help center",
};

const PERSIAN: Words = Words {
    heading: "مرکز راهنما",
    search: "جست‌وجو",
    search_hint: "پرسش خود را به زبان خودتان بنویسید",
    found: "مقاله‌هایی که شاید پاسخ شما باشند",
    nothing: "هنوز مقاله‌ای برای این پرسش نداریم.",
    contact: "به ما پیام دهید",
    others: "دیگر",
    all: "همهٔ مقاله‌ها",
    asked: "آیا این مقاله به پرسش شما پاسخ داد؟",
    yes: "بله، پاسخ داد",
    no: "نه",
    thanks_yes: "خوشحالیم که کمک کرد. از اینکه گفتید ممنونیم.",
    thanks_no: "متأسفیم. به ما پیام دهید تا یکی از همکاران پاسخ دهد.",
    back: "مرکز راهنما",
};

fn words(language: &str) -> &'static Words {
    if language == "fa" { &PERSIAN } else { &ENGLISH }
}

fn direction(language: &str) -> &'static str {
    match language.split('-').next().unwrap_or("") {
        "fa" | "ar" | "he" | "ur" | "ps" | "ckb" => "rtl",
        _ => "ltr",
    }
}

#[derive(Deserialize)]
pub struct HelpQuery {
    q: Option<String>,
}

/// A question as searched: trimmed, at most [`MAX_QUESTION_CHARS`].
fn question(q: Option<&str>) -> Option<String> {
    let q = q?.trim();
    (!q.is_empty()).then(|| q.chars().take(MAX_QUESTION_CHARS).collect())
}

/// The hits of a search, as links with their summaries.
pub fn hit_list(hits: &[Hit]) -> Markup {
    html! {
        ul.hits {
            @for hit in hits {
                li lang=(hit.doc.language) dir=(direction(&hit.doc.language)) {
                    a href={ "/help/" (hit.doc.slug) } { (hit.doc.title) }
                    @if !hit.doc.summary.is_empty() { p.hint { (hit.doc.summary) } }
                }
            }
        }
    }
}

fn search_form(w: &Words, q: &str) -> Markup {
    html! {
        form.search method="get" action="/help" role="search" accept-charset="utf-8" {
            label for="q" { (w.search_hint) }
            input #q name="q" type="search" maxlength="500" value=(q);
            button type="submit" { (w.search) }
        }
    }
}

/// `GET /help`: every published article by category, or what a search found.
pub async fn index(
    State(state): State<WebState>,
    _: WithinSearchLimit,
    Query(query): Query<HelpQuery>,
) -> Response {
    let config = &state.config.page;
    let w = words(&config.language);
    let asked = question(query.q.as_deref());
    let body = match &asked {
        Some(q) => {
            let hits = match state.knowledge.customer_search(q, None, SHOWN).await {
                Ok(hits) => hits,
                Err(e) => return ApiError::from(e).into_response(),
            };
            html! {
                h1 { (w.heading) }
                (search_form(w, q))
                @if hits.is_empty() {
                    p { (w.nothing) " " a href={ "/contact?q=" (urlencoding(q)) } { (w.contact) } }
                } @else {
                    h2 { (w.found) }
                    (hit_list(&hits))
                    p { a href={ "/contact?q=" (urlencoding(q)) } { (w.contact) } }
                }
                p { a href="/help" { (w.all) } }
            }
        }
        None => {
            let index = match state.knowledge.index().await {
                Ok(index) => index,
                Err(e) => return ApiError::from(e).into_response(),
            };
            let mut categories: Vec<(String, Vec<&crate::model::knowledge::IndexedArticle>)> =
                Vec::new();
            let mut sorted: Vec<_> = index.articles().iter().collect();
            sorted.sort_by(|a, b| (&a.category, &a.title).cmp(&(&b.category, &b.title)));
            for article in sorted {
                let name = article
                    .category
                    .clone()
                    .unwrap_or_else(|| w.others.to_owned());
                match categories.last_mut() {
                    Some((last, list)) if *last == name => list.push(article),
                    _ => categories.push((name, vec![article])),
                }
            }
            html! {
                h1 { (w.heading) }
                (search_form(w, ""))
                @for (category, articles) in &categories {
                    section {
                        h2 { (category) }
                        ul {
                            @for a in articles {
                                li lang=(a.language) dir=(direction(&a.language)) {
                                    a href={ "/help/" (a.slug) } { (a.title) }
                                }
                            }
                        }
                    }
                }
                p { a href="/contact" { (w.contact) } }
            }
        }
    };
    html_response(StatusCode::OK, layout(config, w.heading, false, body))
}

#[derive(Deserialize)]
pub struct ArticleQuery {
    feedback: Option<String>,
}

/// `GET /help/{slug}`: one published article.
pub async fn article(
    State(state): State<WebState>,
    Path(slug): Path<String>,
    Query(query): Query<ArticleQuery>,
) -> Response {
    let config = &state.config.page;
    let w = words(&config.language);
    let found = match crate::model::knowledge::normalize_slug(&slug) {
        Some(s) if s == slug => state.knowledge.published(&slug).await,
        _ => Ok(None),
    };
    let article = match found {
        Ok(Some(article)) => article,
        Ok(None) => return ApiError::not_found("article").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let dir = direction(&article.language);
    let body = html! {
        p { a href="/help" { (w.back) } }
        article lang=(article.language) dir=(dir) {
            h1 { (article.title) }
            div.article { (PreEscaped(render_markdown(&article.body))) }
            @if !article.tags.is_empty() {
                p.hint { @for t in &article.tags { @if let Some(t) = normalize_tag(t) { bdi.tag { "#" (t) } " " } } }
            }
        }
        @match query.feedback.as_deref() {
            Some("yes") => { p.notice role="status" { (w.thanks_yes) } }
            Some("no") => { p.notice role="status" { (w.thanks_no) " " a href="/contact" { (w.contact) } } }
            _ => {
                form.feedback method="post" action={ "/help/" (article.slug) "/feedback" } {
                    p { (w.asked) }
                    button type="submit" name="answered" value="yes" { (w.yes) }
                    " "
                    button.secondary type="submit" name="answered" value="no" { (w.no) }
                }
            }
        }
    };
    html_response(StatusCode::OK, layout(config, &article.title, false, body))
}

#[derive(Deserialize)]
pub struct Feedback {
    answered: String,
}

/// `POST /help/{slug}/feedback`: "did this answer your question?", counted per article.
pub async fn feedback(
    State(state): State<WebState>,
    _: WithinSearchLimit,
    Path(slug): Path<String>,
    axum::Form(form): axum::Form<Feedback>,
) -> Response {
    let helpful = match form.answered.as_str() {
        "yes" => true,
        "no" => false,
        _ => return ApiError::bad_request("`answered` is yes or no").into_response(),
    };
    let article = match crate::model::knowledge::normalize_slug(&slug) {
        Some(s) if s == slug => state.knowledge.published(&slug).await,
        _ => Ok(None),
    };
    let article = match article {
        Ok(Some(article)) => article,
        Ok(None) => return ApiError::not_found("article").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let counted = match helpful {
        true => Counted::Helpful(article.id),
        false => Counted::NotHelpful(article.id),
    };
    state.knowledge.count(&[counted]).await;
    let answer = if helpful { "yes" } else { "no" };
    Redirect::to(&format!("/help/{}?feedback={answer}", article.slug)).into_response()
}

/// One article a search found, as the contact page shows it.
#[derive(Serialize)]
pub struct Suggestion {
    title: String,
    summary: String,
    url: String,
    language: String,
}

/// `GET /help/search.json?q=`: the best articles for a question, for the contact page's
/// suggestions as its visitor types.
pub async fn search_json(
    State(state): State<WebState>,
    _: WithinSearchLimit,
    Query(query): Query<HelpQuery>,
) -> Response {
    let Some(q) = question(query.q.as_deref()) else {
        return ApiError::bad_request("`q` is 1 to 500 characters").into_response();
    };
    // Not counted: it runs as the visitor types, so it would keep half-written words
    // (and count one question many times). The search step and the help center count.
    match state.knowledge.search(&q, None, SUGGESTED).await {
        Ok(hits) => {
            let suggestions: Vec<Suggestion> = hits
                .into_iter()
                .map(|h| Suggestion {
                    url: format!("/help/{}", h.doc.slug),
                    title: h.doc.title,
                    summary: h.doc.summary,
                    language: h.doc.language,
                })
                .collect();
            let mut response = Json(suggestions).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The contact page's suggestions as its visitor types: a progressive enhancement of the
/// page's search step, which works without it.
pub const CONTACT_SCRIPT: &str = include_str!("help/contact.js");

pub async fn contact_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CONTACT_SCRIPT,
    )
        .into_response()
}

/// `text` for a URL's query.
pub fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
