//! Switchboard: one inbox for every customer channel.
#![forbid(unsafe_code)]

pub mod model;
pub mod ports;
pub mod services;
