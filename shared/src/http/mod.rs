//! The axum routers. The same router runs in the local server and inside Lambda.

pub mod api;
pub mod auth;
pub mod bot_answer;
pub mod client_ip;
pub mod confirm;
pub mod help;
pub mod inbox;
pub mod limits;
pub mod links;
pub mod pages;
pub mod problem;
pub mod same_site;
pub mod secret_header;
pub mod sign_in_link;
pub mod stamp;
pub mod survey_pages;
pub mod webhooks;

use crate::config::HttpConfig;
use crate::ports::{BlobStore, Queue};
use crate::services::directory::Directory;
use crate::services::inbox::Inbox;
use crate::services::ingest::Ingest;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the local server's routers reach: each part is what one group of routes takes
/// (by `FromRef`), and what the Lambda function serving that group builds alone.
#[derive(Clone)]
pub struct AppState {
    pub api: ApiState,
    pub web: WebState,
    pub channels: ChannelState,
}

impl FromRef<AppState> for ApiState {
    fn from_ref(state: &AppState) -> Self {
        state.api.clone()
    }
}

impl FromRef<AppState> for WebState {
    fn from_ref(state: &AppState) -> Self {
        state.web.clone()
    }
}

impl FromRef<AppState> for ChannelState {
    fn from_ref(state: &AppState) -> Self {
        state.channels.clone()
    }
}

/// What the web form, the customer pages and their confirmations reach: conversations
/// (to show a page), the inbound queue, keyed submissions, customer links, proofs of
/// typed addresses and the abuse limits.
#[derive(Clone)]
pub struct WebState {
    pub conversations: Arc<dyn crate::ports::ConversationStore>,
    pub ingest: Ingest,
    /// Keyed web-form submissions: the idempotency key held and the message queued.
    pub send_once: Arc<dyn crate::ports::SendOnce>,
    pub links: links::CustomerLinks,
    /// Customers proving the addresses they typed.
    pub proofs: crate::services::proof::Proofs,
    pub limits: Arc<limits::RateLimits>,
    /// Satisfaction surveys answered on their pages and the customer page.
    pub surveys: crate::services::surveys::Surveys,
    /// The help center and the contact page's suggestions.
    pub knowledge: crate::services::knowledge::Knowledge,
    pub config: Arc<HttpConfig>,
}

/// What the agent API reaches: the inbox, the directory of agents, customers' data
/// rights, the queues (dead letters), the changes feed and webhooks. The API's function
/// builds only this: no customer links, no idempotency keys.
#[derive(Clone)]
pub struct ApiState {
    pub inbox: Inbox,
    pub directory: Directory,
    pub rights: crate::services::rights::Rights,
    pub queue: Arc<dyn Queue>,
    pub changes: crate::services::feed::ChangesFeed,
    /// Outbound webhooks, where this process offers them.
    pub webhooks: Option<crate::services::webhooks::admin::Webhooks>,
    pub service_levels: crate::services::service_levels::ServiceLevels,
    pub rules: crate::services::rules::Rules,
    pub canned: crate::services::canned::Canned,
    pub notifications: crate::services::notify::Notifications,
    pub reports: crate::services::reports::Reports,
    pub surveys: crate::services::surveys::Surveys,
    pub incidents: crate::services::incidents::Incidents,
    pub knowledge: crate::services::knowledge::Knowledge,
    pub suggestions: crate::services::suggestions::Suggestions,
    /// Replies drafted by a language model, where one is configured.
    pub drafting: crate::services::drafting::Drafting,
    /// Sign-ins per client address.
    pub sign_in_limit: Arc<limits::SignInLimit>,
    pub config: Arc<HttpConfig>,
}

/// What the channel webhooks (Telegram, Twilio, the PBX, email) reach: the inbound
/// queue, the blob store (call records, raw emails) and the configuration. A function
/// that serves only channels builds only this: no store, no customer links.
#[derive(Clone)]
pub struct ChannelState {
    pub ingest: Ingest,
    pub blobs: Arc<dyn BlobStore>,
    pub config: Arc<HttpConfig>,
    /// Where a call's business hours are read, when a stored calendar decides them
    /// (`SWITCHBOARD_TWILIO_VOICE_CALENDAR`): the only store a webhook reads.
    pub calendars: Option<Arc<dyn crate::ports::SlaStore>>,
}

impl ChannelState {
    pub fn new(queue: Arc<dyn Queue>, blobs: Arc<dyn BlobStore>, config: HttpConfig) -> Self {
        Self {
            ingest: Ingest::new(queue),
            blobs,
            config: Arc::new(config),
            calendars: None,
        }
    }

    /// Reads calls' business hours from `calendars`.
    pub fn with_calendars(mut self, calendars: Arc<dyn crate::ports::SlaStore>) -> Self {
        self.calendars = Some(calendars);
        self
    }
}

/// Largest JSON body the agent API reads.
const API_BODY_LIMIT: usize = 1024 * 1024;

/// The agent API.
pub fn api_router() -> Router<ApiState> {
    api::router()
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .merge(inbox::router())
        .route(
            "/app/link/{token}",
            get(sign_in_link::show).post(sign_in_link::redeem),
        )
}

/// The most a small customer form (a code, a button, a yes/no, a survey answer) may
/// send; anything longer is refused (413) before it is read.
const SMALL_FORM_LIMIT: usize = 16 * 1024;

/// The web-form webhook and the customer pages.
pub fn webform_router() -> Router<WebState> {
    let small = || DefaultBodyLimit::max(SMALL_FORM_LIMIT);
    Router::new()
        .route("/webhooks/webform", post(webhooks::webform::submit))
        .route("/contact", get(pages::contact))
        .route("/help", get(help::index))
        .route("/help/search.json", get(help::search_json))
        .route("/help/contact.js", get(help::contact_script))
        .route("/help/{slug}", get(help::article))
        .route("/help/{slug}/feedback", post(help::feedback).layer(small()))
        .route(
            "/c/{token}",
            get(pages::customer).post(webhooks::webform::answer),
        )
        .route("/c/{token}/confirm", post(confirm::request).layer(small()))
        .route("/c/{token}/bot", post(bot_answer::take).layer(small()))
        .route("/c/{token}/code", post(confirm::code).layer(small()))
        .route(
            "/confirm/{secret}",
            get(confirm::link_page)
                .post(confirm::use_link)
                .layer(small()),
        )
        .route(
            "/s/{token}",
            get(survey_pages::show)
                .post(survey_pages::answer)
                .layer(small()),
        )
}

/// The Telegram webhook.
pub fn telegram_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ChannelState: FromRef<S>,
{
    Router::new().route("/webhooks/telegram", post(webhooks::telegram::receive))
}

/// The email webhook (raw `message/rfc822` from a relay).
pub fn email_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ChannelState: FromRef<S>,
{
    Router::new().route("/webhooks/email", post(webhooks::email::receive))
}

/// The Twilio webhooks: SMS in, delivery reports.
pub fn twilio_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ChannelState: FromRef<S>,
{
    Router::new()
        .route("/webhooks/twilio/sms", post(webhooks::twilio::sms))
        .route("/webhooks/twilio/status", post(webhooks::twilio::status))
        .route("/webhooks/twilio/voice", post(webhooks::twilio::voice))
        .route(
            "/webhooks/twilio/voice/dial",
            post(webhooks::twilio::voice_dial),
        )
        .route(
            "/webhooks/twilio/voice/recording",
            post(webhooks::twilio::voice_recording),
        )
        .route(
            "/webhooks/twilio/voice/transcription",
            post(webhooks::twilio::voice_transcription),
        )
        .route(
            "/webhooks/twilio/voice/status",
            post(webhooks::twilio::voice_status),
        )
}

/// The PBX / CTI hook.
pub fn pbx_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ChannelState: FromRef<S>,
{
    Router::new().route("/webhooks/pbx", post(webhooks::pbx::receive))
}

/// Every router on one app, as the local server mounts it.
pub fn app(state: AppState) -> Router {
    finish(
        Router::new()
            .merge(api_router().with_state(state.api.clone()))
            .merge(webform_router().with_state(state.web.clone()))
            .merge(telegram_router())
            .merge(email_router())
            .merge(twilio_router())
            .merge(pbx_router()),
        state,
    )
}

/// `routes` ready to serve, as every deployment serves them: with `/healthz`, a problem
/// document for any other route, and no response another site may frame. The local
/// server finishes all routers as one app; each HTTP Lambda function finishes its own.
pub fn finish<S: Clone + Send + Sync + 'static>(routes: Router<S>, state: S) -> Router {
    routes
        .route("/healthz", get(|| async { "ok" }))
        .fallback(problem::not_found)
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(pages::FRAME_ANCESTORS),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}
