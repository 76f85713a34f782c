//! Integration tests of trading-planner: one test binary, one module per concern.

mod board;
mod browser;
mod cli;
mod common;
mod compat_planning;
mod crash;
mod dashboard;
mod execution_upstream;
mod fake_upstreams;
mod gateway;
mod gateway_routes;
mod generator_properties;
mod golden;
mod http_surface;
mod legacy_import;
mod operations;
mod pipeline_example;
mod pipeline_routes;
mod planning_api;
mod properties;
mod server;
mod shadow_cli;
mod shadow_gateway;
mod sync_faults;
mod upstream_clients;
mod worked_example;
