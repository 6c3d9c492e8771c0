//! The survey's pages: `GET /s/{token}` shows the question (an email's link chooses its
//! rating: `?rating=4`), `POST /s/{token}` takes the answer. Following a link records
//! nothing, so a mail scanner that opens every link answers no survey; only the
//! customer's press of "Send" does. The customer page offers the same form while its
//! conversation's survey is open.

use crate::http::WebState;
use crate::http::limits::WithinAddressLimit;
use crate::http::pages::{html_response, layout};
use crate::model::{
    ConversationId, Inbound, NPS_SCORES, RATINGS, SourceId, SurveyAnswer, SurveyReply, next_ulid,
    survey_words,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Chosen {
    rating: Option<String>,
}

#[derive(Deserialize)]
struct AnswerFields {
    rating: Option<String>,
    nps: Option<String>,
    comment: Option<String>,
}

/// Longest token read: a survey token is about 45 characters.
const MAX_TOKEN: usize = 80;

/// The form that answers the survey `token` names, `chosen` ticked.
fn form(state: &WebState, token: &str, chosen: Option<u8>, nps: bool) -> Markup {
    let w = survey_words(&state.config.page.language);
    html! {
        form.survey method="post" action={ "/s/" (token) } accept-charset="utf-8" {
            p { strong { (w.question) } }
            fieldset.scale {
                @for (rating, label) in RATINGS.zip(w.labels) {
                    label {
                        input type="radio" name="rating" value=(rating) required checked[chosen == Some(rating)];
                        (label)
                    }
                }
            }
            @if nps {
                p { (w.nps_question) }
                fieldset.scale {
                    @for score in NPS_SCORES {
                        label { input type="radio" name="nps" value=(score); (score) }
                    }
                }
            }
            label for="comment" { (w.comment) }
            textarea #comment name="comment" maxlength="2000" {}
            button type="submit" { (w.send) }
        }
    }
}

/// The survey form a customer page offers: its conversation's survey while it takes an
/// answer; else nothing.
pub async fn offer(state: &WebState, conversation: ConversationId) -> Markup {
    let survey = state.surveys.open_survey(conversation).await.ok().flatten();
    let Some(survey) = survey else {
        return html! {};
    };
    let Ok(Some(tokens)) = state.surveys.key.tokens().await else {
        return html! {};
    };
    let nps = state.surveys.settings().await.is_ok_and(|s| s.nps);
    form(
        state,
        &tokens.token(survey.conversation_id, survey.number),
        None,
        nps,
    )
}

fn page(state: &WebState, status: StatusCode, body: Markup) -> Response {
    let config = &state.config.page;
    let w = survey_words(&config.language);
    html_response(status, layout(config, w.email_subject, false, body))
}

fn said(state: &WebState, status: StatusCode, text: &str) -> Response {
    let w = survey_words(&state.config.page.language);
    page(
        state,
        status,
        html! { h1 { (w.email_subject) } p.notice role="status" { (text) } },
    )
}

/// `GET /s/{token}`: the question, the link's rating chosen.
pub async fn show(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(chosen): Query<Chosen>,
) -> Response {
    let w = survey_words(&state.config.page.language);
    let verified = match verify(&state, &token).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let Some((id, number)) = verified else {
        return said(&state, StatusCode::NOT_FOUND, w.closed);
    };
    let survey = match state.surveys.store.survey(id).await {
        Ok(s) => s.filter(|s| s.number == number),
        Err(e) => return crate::http::problem::ApiError::from(e).into_response(),
    };
    let Some(survey) = survey else {
        return said(&state, StatusCode::GONE, w.closed);
    };
    if survey.answer.is_some() {
        return said(&state, StatusCode::OK, w.already);
    }
    if !survey.open_at(chrono::Utc::now()) {
        return said(&state, StatusCode::GONE, w.closed);
    }
    let chosen = chosen
        .rating
        .and_then(|r| r.parse::<u8>().ok())
        .filter(|r| RATINGS.contains(r));
    let nps = state.surveys.settings().await.is_ok_and(|s| s.nps);
    let body = html! {
        h1 { (w.email_subject) }
        (form(&state, &token, chosen, nps))
    };
    page(&state, StatusCode::OK, body)
}

/// `POST /s/{token}`: the answer, taken once.
pub async fn answer(
    State(state): State<WebState>,
    Path(token): Path<String>,
    _: WithinAddressLimit,
    body: Bytes,
) -> Response {
    let w = survey_words(&state.config.page.language);
    let verified = match verify(&state, &token).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let Some((id, number)) = verified else {
        return said(&state, StatusCode::NOT_FOUND, w.closed);
    };
    let Ok(fields) = serde_urlencoded::from_bytes::<AnswerFields>(&body) else {
        return crate::http::problem::ApiError::bad_request(
            "send `rating` (1–5), and `nps` (0–10) and `comment` if you like, as a form",
        )
        .into_response();
    };
    let number_field = |v: Option<String>| -> Result<Option<u8>, ()> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<u8>().map(Some).map_err(|_| ()),
        }
    };
    let (Ok(Some(rating)), Ok(nps)) = (number_field(fields.rating), number_field(fields.nps))
    else {
        return crate::http::problem::ApiError::invalid("`rating` is a number from 1 to 5")
            .into_response();
    };
    let now = chrono::Utc::now();
    let answer = match SurveyAnswer::new(rating, nps, fields.comment.as_deref(), now) {
        Ok(answer) => answer,
        Err(reason) => return crate::http::problem::ApiError::invalid(reason).into_response(),
    };
    // The score only where it was asked.
    let asks_nps = state.surveys.settings().await.is_ok_and(|s| s.nps);
    // Said at once when it can be seen here; the router records the answer (the first
    // one stands) with the `csat_rated` event.
    match state.surveys.store.survey(id).await {
        Ok(Some(s)) if s.number == number && s.answer.is_some() => {
            return said(&state, StatusCode::CONFLICT, w.already);
        }
        Ok(Some(s)) if s.number == number && s.open_at(now) => {}
        Ok(_) => return said(&state, StatusCode::GONE, w.closed),
        Err(e) => return crate::http::problem::ApiError::from(e).into_response(),
    }
    let reply = Inbound::SurveyAnswer(SurveyReply {
        source_id: SourceId::new("survey", &format!("{id}:{number}:{}", next_ulid())),
        received_at: now,
        survey_token: token,
        rating: answer.rating,
        nps: answer.nps.filter(|_| asks_nps),
        comment: answer.comment,
        callback_query_id: None,
        by: None,
    });
    match state.ingest.submit(&reply).await {
        Ok(()) => said(&state, StatusCode::OK, w.thanks),
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

/// The survey a token names; none for a token we did not sign.
async fn verify(state: &WebState, token: &str) -> Result<Option<(ConversationId, u32)>, Response> {
    if token.len() > MAX_TOKEN {
        return Ok(None);
    }
    state
        .surveys
        .verify(token)
        .await
        .map_err(|e| crate::http::problem::ApiError::from(e).into_response())
}
