//! The error answers every operation can give, written into the OpenAPI document once
//! instead of on each handler: all of them are `application/problem+json` (see
//! [`crate::http::problem`]), and which ones apply follows from the operation's shape.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

const PROBLEM: &str = "application/problem+json";

/// Rewrites every error response to the problem type, and adds those an operation can
/// give by its shape: a malformed request (400), no key (401, when it needs one), an
/// unknown id in its path (404), a body too large, of another type or not valid (413,
/// 415, 422), a cursor this server did not issue (422), and a failure on our side (5XX).
pub fn document_problems(doc: &mut OpenApi) {
    each_operation(doc, document_operation);
}

/// Calls `f` on every operation of the document.
pub fn each_operation(doc: &mut OpenApi, mut f: impl FnMut(&mut Operation)) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            f(operation);
        }
    }
}

fn document_operation(operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let cursor = parameters.iter().any(|p| {
        matches!(p.parameter_in, ParameterIn::Query)
            && matches!(p.name.as_str(), "cursor" | "after")
    });
    let body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());

    let mut wanted = vec![
        ("400", "The path, query or body could not be read"),
        (
            "5XX",
            "Something failed on our side, or the service is busy (503 with Retry-After)",
        ),
    ];
    if secured {
        wanted.push(("401", "No valid `Authorization: Bearer <api key>` header"));
    }
    if in_path {
        wanted.push(("404", "Nothing has that id"));
    }
    if body {
        wanted.push(("413", "The body is larger than this operation takes"));
        wanted.push(("415", "The body is not of a type this operation takes"));
        wanted.push(("422", "The body does not describe a valid change"));
    }
    if cursor {
        wanted.push(("422", "The cursor is not one this server issued"));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in wanted {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response) {
            response.content.clear();
            response.content.insert(
                PROBLEM.to_owned(),
                Content::new(Some(Ref::from_schema_name("Problem"))),
            );
        }
    }
}
