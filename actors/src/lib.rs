//! Ringback's actors: the live, clocked side of the domain in `engine`. Each actor owns one
//! sans-IO core from `engine` (or built here from them), feeds it the time, arms its next timer
//! and fans its events out. The web layer talks to them only through [`EngineHandle`] and the
//! push hub.

pub mod callback;
pub mod center;
pub mod handle;
pub mod node;
pub mod push;
pub mod session;

pub use handle::{AgentAction, EngineHandle, HandleError};
pub use node::{Node, NodeError};
