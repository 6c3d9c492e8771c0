//! The website channel: a plain HTML form or a JSON post, and the customer page.

mod inbound;

pub use inbound::{
    FormProblem, Submission, WebformError, WebformFields, checked_idempotency_key, checked_message,
    parse_fields,
};
