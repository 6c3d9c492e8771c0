//! Switchboard: one inbox for every customer channel.
#![forbid(unsafe_code)]

#[cfg(feature = "embedded")]
pub mod embedded;
pub mod model;
pub mod ports;
pub mod services;
