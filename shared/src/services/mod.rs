//! The use cases, written against the ports.

pub mod answer_first;
pub mod answerer;
pub mod canned;
pub mod customer_page;
pub mod delivery;
pub mod directory;
pub mod email;
pub mod erasure;
pub mod error;
pub mod feed;
pub mod inbox;
pub mod incidents;
pub mod ingest;
pub mod knowledge;
pub mod lookup;
pub mod notify;
pub mod page_link;
pub mod proof;
pub mod recipient;
pub mod reports;
pub mod rights;
pub mod route;
pub mod router;
pub mod rule_runs;
pub mod rules;
pub mod send;
pub mod service_levels;
pub mod sign_in;
pub mod sla;
pub mod subscriber;
pub mod surveys;
pub mod sweep;
pub mod threading;
pub mod webhooks;
pub mod worker;

pub use error::{ServiceError, ServiceResult};
