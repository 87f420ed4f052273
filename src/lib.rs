//! aitriage: intake and risk triage for AI and agentic-AI use cases.
//!
//! Layers, from pure to effectful: [`rules`] (load and compile the rule pack), [`domain`]
//! (answers, scoring, triage, the case vocabulary), [`db`] (storage on SQLite or PostgreSQL),
//! [`http`] (the JSON API), and [`cli`] (the command line).

// The library has no unsafe code at all (the binary makes one allowed call, in src/main.rs).
#![forbid(unsafe_code)]

#[macro_use]
pub mod vocab;

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod csv_safe;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod evaluate;
pub mod http;
pub mod notify;
pub mod rules;
pub mod startup;
pub mod transfer;
