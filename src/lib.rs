//! trading-planner: plans trades for a long-term stock portfolio.
//!
//! The pure modules (`domain`, `opportunity`, `generator`, `evaluator`) do no I/O; `store` owns the SQLite database;
//! `gateway` is the HTTP surface; `cli` and `config` wire them together.

mod allocation;
pub mod analytics;
pub mod backtest;
pub mod backtest_runner;
pub mod bench;
pub mod board;
pub mod cli;
pub mod config;
mod coordinator;
pub mod demo;
pub mod domain;
pub mod evaluator;
pub mod events;
pub mod gateway;
pub mod generator;
mod http_common;
mod ledger;
mod opportunity;
mod planning;
mod portfolio_history;
mod security_view;
pub mod shadow;
pub mod store;
pub mod sync;
pub mod upstream;
