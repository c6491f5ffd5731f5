//! Sessions: state charts that run in the server. A session host per worker thread owns a
//! `scxml::System` on one boa context; sessions ask the contact center to queue, dial, connect
//! and play through ORS-style actions and hear back what happened as events.
//!
//! - [`core`]: one host's logic, sans-IO ([`core::HostCore`]).
//! - [`actions`]: the `queue:`, `ixn:`, `dialog:`, `session:` and `notify:` elements.
//! - [`genesys`]: the `_genesys` ECMAScript object.
//! - [`docs`]: documents by content hash, and the load-time check of action elements.
//! - [`checkpoint`]: the versioned bytes a session is saved as.
//! - [`runner`]: the host threads, the directory of sessions, durable steps ([`Sessions`]).

pub mod actions;
pub mod bench;
pub mod checkpoint;
pub mod core;
pub mod docs;
pub mod genesys;
pub mod runner;

pub use runner::{Dispatch, RouteCalls, SessionError, Sessions};
