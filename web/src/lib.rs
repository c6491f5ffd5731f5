//! Ringback's HTTP side and command line: the GMS REST API (`api`, `server`), the SCXML runner
//! with its Basic HTTP Event I/O Processor, and the benchmarks.

pub mod api;
pub mod basichttp;
pub mod bench;
pub mod bench_callbacks;
pub mod bench_cometd;
pub mod bench_journeys;
pub mod bench_reports;
pub mod bench_sessions;
pub mod cometd;
pub mod metrics;
pub mod scxml_runner;
pub mod server;
pub mod ui;
pub mod users_cli;
