//! The bot's answer on a customer page: while the conversation waits on it, the page
//! shows "this solved it" and "talk to a person" under the article it sent; the holder
//! of the page's link answers, once. The answer goes on the inbound queue for the router,
//! as a Telegram press does (see `services::answer_first`): the page's function writes
//! nothing to the store.

use super::WebState;
use super::limits::{WithinAddressLimit, WithinLinkLimit};
use super::links::{is_token_shaped, link_hash};
use super::problem::ApiError;
use crate::model::{
    ArticleId, BotAnswerTaken, BotOutcome, Conversation, ConversationStatus, Inbound, Message,
    SourceId, next_ulid,
};
use crate::services::answer_first::{ANSWERED_TAG, HANDED_OVER_TAG, SELF_SERVED_TAG, bot_words};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

/// The article the bot answered with, while the conversation still waits on the
/// customer's answer to it.
pub fn waiting_on(conversation: &Conversation, messages: &[Message]) -> Option<ArticleId> {
    let waiting = conversation.status == ConversationStatus::Pending
        && conversation.tags.iter().any(|t| t == ANSWERED_TAG)
        && !conversation
            .tags
            .iter()
            .any(|t| t == SELF_SERVED_TAG || t == HANDED_OVER_TAG);
    if !waiting {
        return None;
    }
    // The page reads oldest first.
    crate::services::answer_first::unanswered_bot_article(messages.iter().rev())
}

/// The two buttons, posted to the page's own `bot` address.
pub fn buttons(token: &str, article: ArticleId, language: &str) -> Markup {
    let words = bot_words(language);
    html! {
        form.bot method="post" action={ (token) "/bot" } {
            input type="hidden" name="article" value=(article.to_string());
            button type="submit" name="outcome" value="solved" { (words.solved) }
            " "
            button.secondary type="submit" name="outcome" value="person" { (words.person) }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Taken {
    outcome: String,
    article: String,
}

/// `POST /c/{token}/bot`: the customer's answer to the bot's article.
pub async fn take(
    State(state): State<WebState>,
    Path(token): Path<String>,
    _: WithinAddressLimit,
    _: WithinLinkLimit,
    axum::Form(form): axum::Form<Taken>,
) -> Response {
    if !is_token_shaped(&token) {
        return ApiError::not_found("conversation").into_response();
    }
    let outcome = match form.outcome.as_str() {
        "solved" => BotOutcome::Solved,
        "person" => BotOutcome::Person,
        _ => return ApiError::bad_request("`outcome` is solved or person").into_response(),
    };
    let Ok(article) = form.article.parse::<ArticleId>() else {
        return ApiError::bad_request("`article` is not an article id").into_response();
    };
    let conversation = match state
        .conversations
        .conversation_for_link(&link_hash(&token))
        .await
    {
        Ok(Some(id)) => id,
        Ok(None) => return ApiError::not_found("conversation").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let taken = Inbound::BotAnswerTaken(BotAnswerTaken {
        source_id: SourceId::new("page", &format!("bot:{conversation}:{}", next_ulid())),
        received_at: chrono::Utc::now(),
        conversation_id: conversation,
        article_id: article,
        bot_outcome: outcome,
        callback_query_id: None,
        by: None,
    });
    match state.ingest.submit(&taken).await {
        Ok(()) => Redirect::to(&format!("/c/{token}")).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
