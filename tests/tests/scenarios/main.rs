//! Every end-to-end scenario, in one test binary: one link of the whole dependency tree
//! instead of one per file, which is most of what building the tests costs.

mod abuse_limits;
mod agent_workflow;
mod api_conformance;
mod api_errors;
mod auth;
mod bad_input;
mod cli;
mod confirm;
mod connections;
mod conversation_flow;
mod customer_page;
mod durability;
mod email;
mod email_replies;
mod exactly_once;
mod identity;
mod lambda;
mod lambda_admin;
mod lambda_email;
mod lambda_rights;
mod lambda_telegram;
mod lambda_telephony;
mod pages;
mod pbx;
mod rights;
mod sms;
mod telegram;
mod telegram_files;
mod telegram_groups;
mod telegram_identity;
mod telegram_input;
mod telegram_pace;
mod trust;
mod unicode;
mod voice;
