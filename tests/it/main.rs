//! Integration tests of trading-planner: one test binary, one module per concern.

mod cli;
mod common;
mod fake_upstreams;
mod gateway;
mod generator_properties;
mod golden;
mod pipeline_example;
mod pipeline_routes;
mod properties;
mod worked_example;
