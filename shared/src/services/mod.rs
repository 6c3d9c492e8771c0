//! The use cases, written against the ports.

pub mod route;
