//! Ringback's HTTP side and command line: the SCXML runner with its Basic HTTP Event I/O
//! Processor (more of the GMS REST API arrives with the service platform).

pub mod basichttp;
pub mod bench;
pub mod scxml_runner;
