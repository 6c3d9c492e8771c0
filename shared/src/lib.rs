//! Switchboard: one inbox for every customer channel.
#![forbid(unsafe_code)]

pub mod channels;
pub mod config;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod http;
#[cfg(feature = "embedded")]
pub mod local;
pub mod model;
pub mod ports;
pub mod services;
