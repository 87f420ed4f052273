//! Integration tests: the real routes and storage, one fresh database per test.

mod helpers;

mod agents;
mod browser;
mod cli;
mod errors;
mod instances;
mod intake;
mod layering;
mod notify;
mod openapi;
mod pages;
mod portfolio;
mod rules_admin;
mod security;
mod similar;
mod transfer;
mod workflow;
