//! Routing rules, for admins (any agent may read them and try them): conditions and
//! actions run in order on each customer message or service-level breach.

use crate::http::ApiState;
use crate::http::auth::{Admin, Caller};
use crate::http::problem::{ApiError, ApiJson, ApiPath, Problem};
use crate::model::{
    Action, AgentId, Channel, Condition, ConversationStatus, EventKind, Priority, Rule, RuleId,
    TeamId, Trigger,
};
use crate::ports::Page;
use crate::services::rules::TrialMessage;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// Default `true`.
    enabled: Option<bool>,
    /// Rules run lowest first (default 0); equals in the order they were made.
    #[serde(default)]
    position: i32,
    trigger: Trigger,
    /// All must hold; none: the rule applies to everything its trigger brings.
    #[serde(default)]
    #[schema(max_items = 20)]
    conditions: Vec<Condition>,
    #[schema(min_items = 1, max_items = 10)]
    actions: Vec<Action>,
    /// When it applies, no later rule runs (default `false`).
    #[serde(default)]
    stop_processing: bool,
    /// For an `idle` rule (and only one): how long the conversation has had no change,
    /// in minutes (1 to 525,600).
    #[schema(minimum = 1, maximum = 525600)]
    idle_minutes: Option<u32>,
}

impl RuleBody {
    fn into_rule(self, id: RuleId) -> Rule {
        Rule {
            id,
            name: self.name.trim().to_owned(),
            enabled: self.enabled.unwrap_or(true),
            position: self.position,
            trigger: self.trigger,
            conditions: self.conditions,
            actions: self.actions,
            stop_processing: self.stop_processing,
            idle_minutes: self.idle_minutes,
        }
    }
}

/// Every rule, in the order they run.
#[utoipa::path(get, path = "/v1/rules", operation_id = "list_rules", tags = ["rules"],
    responses((status = 200, body = Page<Rule>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<ApiState>, _: Caller) -> Result<Json<Page<Rule>>, ApiError> {
    Ok(Json(Page {
        items: state.rules.list().await?,
        next_cursor: None,
    }))
}

/// Make a rule. 422 for a rule that does not read or names a team, agent or calendar
/// that is not there; 409 past 200 rules.
#[utoipa::path(post, path = "/v1/rules", operation_id = "create_rule", tags = ["rules", "admin"],
    request_body = RuleBody,
    responses((status = 201, body = Rule), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    _: Admin,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let rule = state
        .rules
        .save(body.into_rule(RuleId::new()), false)
        .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replace a rule; it applies from the next message.
#[utoipa::path(put, path = "/v1/rules/{id}", operation_id = "replace_rule", tags = ["rules", "admin"],
    params(("id" = String, Path, description = "rule id (`rl_…`)")), request_body = RuleBody,
    responses((status = 200, body = Rule), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<RuleId>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<Rule>, ApiError> {
    Ok(Json(state.rules.save(body.into_rule(id), true).await?))
}

/// Delete a rule.
#[utoipa::path(delete, path = "/v1/rules/{id}", operation_id = "delete_rule", tags = ["rules", "admin"],
    params(("id" = String, Path, description = "rule id (`rl_…`)")),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<ApiState>,
    _: Admin,
    ApiPath(id): ApiPath<RuleId>,
) -> Result<StatusCode, ApiError> {
    state.rules.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A message to try the rules on, and the conversation it would land in.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    channel: Channel,
    #[schema(max_length = 20000)]
    text: String,
    #[schema(max_length = 500)]
    subject: Option<String>,
    /// The address it comes from (for `sender_domain`).
    #[schema(max_length = 320)]
    from_email: Option<String>,
    /// Default `true`: it starts a conversation.
    new_conversation: Option<bool>,
    /// The conversation as it stands before the message: defaults `normal`, `open`, no
    /// tags, no team, and one message (this one).
    priority: Option<Priority>,
    status: Option<ConversationStatus>,
    #[serde(default)]
    #[schema(max_items = 50)]
    tags: Vec<String>,
    team_id: Option<TeamId>,
    #[schema(minimum = 1, maximum = 1000000)]
    message_count: Option<u32>,
    /// The customer's tags (default none) and VIP mark (default `false`).
    #[serde(default)]
    #[schema(max_items = 20)]
    contact_tags: Vec<String>,
    #[serde(default)]
    vip: bool,
}

impl DryRunBody {
    /// The bounds the schema states.
    fn check(&self) -> Result<(), ApiError> {
        let too_long =
            |text: Option<&str>, max: usize| text.is_some_and(|t| t.chars().count() > max);
        let bad = too_long(Some(&self.text), 20_000)
            || too_long(self.subject.as_deref(), 500)
            || too_long(self.from_email.as_deref(), 320)
            || self.tags.len() > 50
            || self.contact_tags.len() > crate::model::MAX_CONTACT_TAGS
            || self
                .message_count
                .is_some_and(|n| !(1..=crate::model::MAX_MESSAGE_COUNT).contains(&n));
        match bad {
            true => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the message is longer, or the conversation larger, than a dry run takes",
            )),
            false => Ok(()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RuleRun {
    rule_id: RuleId,
    rule_name: String,
    /// What it changed, in order (the first is `rule_applied`).
    changes: Vec<EventKind>,
}

/// The conversation after the rules.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TrialOutcome {
    team_id: Option<TeamId>,
    priority: Priority,
    tags: Vec<String>,
    assignee_id: Option<AgentId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// The rules that would apply, in order.
    applied: Vec<RuleRun>,
    conversation: TrialOutcome,
}

/// What would the rules do with this message? The same evaluation routing runs, on the
/// rules as they stand; nothing is stored.
#[utoipa::path(post, path = "/v1/rules/dry-run", operation_id = "dry_run_rules", tags = ["rules"],
    request_body = DryRunBody,
    responses((status = 200, body = DryRun), (status = 422, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn dry_run(
    State(state): State<ApiState>,
    _: Caller,
    ApiJson(body): ApiJson<DryRunBody>,
) -> Result<Json<DryRun>, ApiError> {
    body.check()?;
    let trial = state
        .rules
        .try_message(&TrialMessage {
            channel: body.channel,
            text: body.text,
            subject: body.subject,
            from_email: body.from_email,
            new_conversation: body.new_conversation.unwrap_or(true),
            priority: body.priority.unwrap_or_default(),
            status: body.status.unwrap_or(ConversationStatus::Open),
            tags: body.tags,
            team_id: body.team_id,
            message_count: body.message_count.unwrap_or(1),
            contact: crate::model::ContactProfile {
                tags: body
                    .contact_tags
                    .iter()
                    .filter_map(|t| crate::model::normalize_tag(t))
                    .collect(),
                vip: body.vip,
            },
        })
        .await?;
    let c = trial.conversation;
    Ok(Json(DryRun {
        applied: trial
            .applied
            .into_iter()
            .map(|(rule_id, rule_name, changes)| RuleRun {
                rule_id,
                rule_name,
                changes,
            })
            .collect(),
        conversation: TrialOutcome {
            team_id: c.team_id,
            priority: c.priority,
            tags: c.tags,
            assignee_id: c.assignee_id,
        },
    }))
}
