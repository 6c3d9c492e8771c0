//! The agent API under `/v1`, with its OpenAPI document built from the handlers.

mod admin;
mod contacts;
mod conversations;
mod events;
mod messages;
mod problems_doc;
mod replies;
mod webhooks;

use super::AppState;
use crate::services::inbox::MAX_REPLY_FILE_BYTES;
use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard agent API", description = "One inbox for every customer channel."),
    modifiers(&BearerAuth),
    tags((name = "admin", description = "Operations that need an admin's key"))
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
    }
}

/// A reply's files, with room for its text and the form's framing.
const REPLY_BODY_LIMIT: usize = MAX_REPLY_FILE_BYTES as usize + 1024 * 1024;

/// The `/v1` routes and the document that describes them.
pub fn router() -> axum::Router<AppState> {
    let (router, doc) = parts();
    let doc = std::sync::Arc::new(doc);
    router.route(
        "/v1/openapi.json",
        get(move || std::future::ready(Json(doc.as_ref().clone()))),
    )
}

/// The `/v1` routes, and the OpenAPI document built from their handlers.
fn parts() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get, conversations::patch))
        .routes(routes!(conversations::timeline))
        .merge(
            // A reply may carry files: its body may be as large as they are allowed to be.
            OpenApiRouter::new()
                .routes(routes!(replies::reply))
                .layer(DefaultBodyLimit::max(REPLY_BODY_LIMIT)),
        )
        .routes(routes!(conversations::note))
        .routes(routes!(conversations::fold))
        .routes(routes!(events::read))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::patch, webhooks::delete))
        .routes(routes!(webhooks::ping))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::replay_one))
        .routes(routes!(webhooks::replay_since))
        .routes(routes!(messages::attachment))
        .routes(routes!(messages::original))
        .routes(routes!(contacts::search))
        .routes(routes!(contacts::lookup))
        .routes(routes!(contacts::get, contacts::erase))
        .routes(routes!(contacts::timeline))
        .routes(routes!(contacts::export))
        .routes(routes!(contacts::merge))
        .routes(routes!(admin::me, admin::patch_me))
        .routes(routes!(admin::list_agents, admin::create_agent))
        .routes(routes!(admin::patch_agent))
        .routes(routes!(admin::list_teams, admin::create_team))
        .routes(routes!(admin::dead_letters))
        .routes(routes!(admin::replay))
        .routes(routes!(admin::erasures))
        .split_for_parts();
    problems_doc::document_problems(&mut doc);
    (router, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id_and_a_summary() {
        let (_, doc) = parts();
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
}
