//! The agent API under `/v1`, with its OpenAPI document built from the handlers.

mod admin;
mod articles;
mod canned;
mod contacts;
mod conversations;
mod events;
mod incidents;
mod messages;
mod notifications;
mod problems_doc;
mod replies;
mod reports;
mod rules;
mod service_levels;
pub(crate) mod session;
mod suggestions;
mod surveys;
mod webhooks;

use super::ApiState;
use crate::services::inbox::MAX_REPLY_FILE_BYTES;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::{PathItemExt, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard agent API", description = "One inbox for every customer channel."),
    modifiers(&BearerAuth),
    tags((name = "admin", description = "Operations that need an admin's key"),
         (name = "session", description = "Signing in to the web inbox from a browser"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // A browser signed in at `POST /v1/session` is let in by its cookie wherever a
        // key is (with `X-CSRF-Token` on every change).
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::http::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// A reply's files, with room for its text and the form's framing.
const REPLY_BODY_LIMIT: usize = MAX_REPLY_FILE_BYTES as usize + 1024 * 1024;

/// Every `/v1` operation once, its handlers grouped by path; `large_bodies` marks a path
/// whose bodies may be as large as a reply's files. Both the router and the OpenAPI
/// document are built from this list, so nothing is served undocumented or documented
/// unserved.
macro_rules! operations {
    ($build:ident) => {
        $build! {
            [conversations::list],
            [conversations::get, conversations::patch],
            [conversations::timeline],
            [replies::reply] large_bodies,
            [conversations::note],
            [conversations::fold],
            [events::read],
            [webhooks::list, webhooks::create],
            [webhooks::get, webhooks::patch, webhooks::delete],
            [webhooks::ping],
            [webhooks::rotate_secret],
            [webhooks::deliveries],
            [webhooks::replay_one],
            [webhooks::replay_since],
            [messages::attachment],
            [messages::original],
            [contacts::search],
            [contacts::lookup],
            [contacts::get, contacts::erase, contacts::patch],
            [contacts::timeline],
            [contacts::export],
            [contacts::merge],
            [admin::me, admin::patch_me],
            [session::change_password],
            [session::sign_in, session::current, session::sign_out],
            [session::list_sessions],
            [session::end_session],
            [session::set_password],
            [notifications::get, notifications::put],
            [notifications::start_link, notifications::unlink],
            [admin::list_agents, admin::create_agent],
            [admin::patch_agent],
            [admin::list_teams, admin::create_team],
            [admin::patch_team],
            [admin::dead_letters],
            [admin::replay],
            [admin::erasures],
            [service_levels::list_calendars, service_levels::create_calendar],
            [service_levels::replace_calendar, service_levels::delete_calendar],
            [service_levels::list_policies, service_levels::create_policy],
            [service_levels::replace_policy, service_levels::delete_policy],
            [rules::list, rules::create],
            [rules::replace, rules::delete],
            [rules::dry_run],
            [canned::search, canned::create],
            [canned::replace, canned::delete],
            [canned::fill],
            [canned::list_macros, canned::create_macro],
            [canned::replace_macro, canned::delete_macro],
            [canned::run_macro],
            [reports::summary],
            [reports::timeseries],
            [reports::by],
            [reports::volume],
            [reports::knowledge],
            [surveys::settings, surveys::set_settings],
            [incidents::list_incidents, incidents::declare_incident],
            [incidents::get_incident, incidents::edit_incident],
            [incidents::accept_incident],
            [incidents::incident_conversations, incidents::link_to_incident],
            [incidents::unlink_from_incident],
            [incidents::post_incident_update],
            [articles::list, articles::create],
            [articles::search],
            [articles::reindex],
            [articles::get, articles::replace, articles::delete],
            [articles::revisions],
            [suggestions::suggestions],
            [suggestions::article_reply],
            [suggestions::ai_draft],
        }
    };
}

/// The router of the operations: each handler at the path and methods its
/// `#[utoipa::path]` names. Only those two are read here, so a process that serves the
/// API does not carry the code that builds the document.
macro_rules! routed {
    ($( [ $first:ident :: $first_handler:ident $(, $module:ident :: $handler:ident)* ] $($large:ident)? ),* $(,)?) => {{
        let router = axum::Router::<ApiState>::new();
        $(
            let router = {
                let path = utoipa_axum::paste! {
                    <$first::[<__path_ $first_handler>] as utoipa::Path>::path()
                };
                let mut methods = axum::routing::MethodRouter::<ApiState>::new();
                serve_at_its_methods!(methods, $first::$first_handler);
                $( serve_at_its_methods!(methods, $module::$handler); )*
                $(
                    let _large_bodies = stringify!($large);
                    methods = methods.layer(DefaultBodyLimit::max(REPLY_BODY_LIMIT));
                )?
                router.route(&path, methods)
            };
        )*
        router
    }};
}

/// Adds a handler to a path's method router at the methods its `#[utoipa::path]` names.
macro_rules! serve_at_its_methods {
    ($methods:ident, $module:ident :: $handler:ident) => {
        utoipa_axum::paste! {
            for method in <$module::[<__path_ $handler>] as utoipa::Path>::methods() {
                $methods = $methods.on(method.to_method_filter(), $module::$handler);
            }
        }
    };
}

/// The document of the operations, from their `#[utoipa::path]`s.
macro_rules! documented {
    ($( [ $($module:ident :: $handler:ident),+ ] $($large:ident)? ),* $(,)?) => {
        OpenApiRouter::<ApiState>::with_openapi(ApiDoc::openapi())
            $( .routes(routes!($($module::$handler),+)) )*
            .split_for_parts()
            .1
    };
}

/// The OpenAPI document as served: `shared/openapi.json`, generated from the handlers
/// (a test fails while it differs from [`document`], and tells how to regenerate it).
pub const DOCUMENT: &str = include_str!("../../../openapi.json");

/// The `/v1` routes and the document that describes them.
pub fn router() -> axum::Router<ApiState> {
    operations!(routed).route(
        "/v1/openapi.json",
        get(|| {
            std::future::ready((
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                DOCUMENT,
            ))
        }),
    )
}

/// The OpenAPI document built from the handlers.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = operations!(documented);
    problems_doc::document_problems(&mut doc);
    session_opens_what_a_key_opens(&mut doc);
    doc
}

/// Every operation a key opens, a signed-in browser's session opens too.
fn session_opens_what_a_key_opens(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    let session = SecurityRequirement::new("session", Vec::<String>::new());
    problems_doc::each_operation(doc, |operation| {
        if let Some(security) = &mut operation.security
            && security.contains(&bearer)
            && !security.contains(&session)
        {
            security.push(session.clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id_and_a_summary() {
        let doc = document();
        let mut ids = std::collections::HashMap::new();
        let mut faults = Vec::new();
        for (path, item) in &doc.paths.paths {
            let operations = [
                ("get", &item.get),
                ("post", &item.post),
                ("put", &item.put),
                ("patch", &item.patch),
                ("delete", &item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let at = format!("{method} {path}");
                match &operation.operation_id {
                    Some(id) => {
                        if let Some(other) = ids.insert(id.clone(), at.clone()) {
                            faults.push(format!("{at}: operationId {id} is also {other}'s"));
                        }
                    }
                    None => faults.push(format!("{at}: no operationId")),
                }
                if operation.summary.as_deref().is_none_or(str::is_empty) {
                    faults.push(format!("{at}: no summary"));
                }
            }
        }
        assert!(faults.is_empty(), "{faults:#?}");
    }

    /// `shared/openapi.json` is what clients read; regenerate it after changing a handler
    /// with `SWITCHBOARD_WRITE_OPENAPI=1 cargo test -p shared --lib served_document`.
    #[test]
    fn the_served_document_is_the_one_the_handlers_describe() {
        let generated = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var_os("SWITCHBOARD_WRITE_OPENAPI").is_some() {
            let file = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
            std::fs::write(file, &generated).unwrap();
        }
        let served: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let built: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert!(
            served == built,
            "shared/openapi.json is out of date: regenerate it with \
             SWITCHBOARD_WRITE_OPENAPI=1 cargo test -p shared --lib served_document"
        );
    }
}
