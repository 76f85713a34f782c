//! Integration tests of trading-planner: one test binary, one module per concern.

mod cli;
mod common;
mod gateway;
mod golden;
mod properties;
mod worked_example;
