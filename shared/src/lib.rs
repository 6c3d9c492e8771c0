//! Switchboard: one inbox for every customer channel.
#![forbid(unsafe_code)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod backend;
pub mod channels;
pub mod config;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "embedded")]
pub mod local;
pub mod model;
pub mod ports;
#[cfg(feature = "embedded")]
pub mod server;
pub mod services;
pub mod settings;
pub mod tls;
