//! A sans-IO W3C SCXML 1.0 interpreter with an ECMAScript data model on boa_engine.
//!
//! - [`parse`] reads a document into the immutable [`model::Document`] (share it with `Arc`),
//!   reporting every problem with its line and column.
//! - [`interp::Session`] runs one state chart by the SCXML Appendix D algorithm. The host
//!   feeds it events and the current time; it hands back [`interp::Effect`]s: events to
//!   route, timers to arm or cancel, invocations to start or stop, log lines.
//! - [`datamodel::DataModel`] is the expression language: [`ecma::EcmaDataModel`] (one boa
//!   `Context` per thread, shared by all its sessions) and [`datamodel::NullDataModel`].
//! - [`system::System`] hosts many sessions on one thread: routing between them, invoked
//!   child sessions and one timer heap, still without I/O or a clock. [`snapshot`] is a
//!   session as data, so a host can save it and restore it later.
//!
//! The crate never reads the clock, spawns threads or touches the network or file system.

pub mod datamodel;
pub mod ecma;
pub mod event;
pub mod interp;
pub mod model;
pub mod parse;
pub mod snapshot;
pub mod system;
pub mod validate;

pub use datamodel::{DataModel, NullDataModel};
pub use ecma::EcmaDataModel;
pub use event::{Event, EventType, Value};
pub use interp::{Effect, Host, Session, SessionOptions, Step};
pub use model::Document;
pub use parse::{parse_document, LoadError, Loader, MapLoader, NoLoader, Problem};
pub use system::System;
