//! A session's state as plain data, so a host can make sessions durable: [`System::snapshot`]
//! hands out a [`SessionTree`] (the session and the sessions it invoked) and
//! [`System::restore`] rebuilds it, with its timers due at the instants they were due before.
//!
//! A snapshot names states by their index in the document, so it is only meaningful with the
//! document the session ran; hosts keep that document (by content hash, say) beside it. The
//! data model's variables are in the data model's own encoding ([`SessionState::data`]).
//!
//! [`System::snapshot`]: crate::system::System::snapshot
//! [`System::restore`]: crate::system::System::restore

use serde::{Deserialize, Serialize};

use crate::event::{Event, Value};
use crate::interp::{Delivery, ParentLink};
use crate::model::StateId;

/// Everything one session is, between two macrosteps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub id: String,
    /// `_ioprocessors` beyond the SCXML processor.
    pub ioprocessors: Vec<(String, String)>,
    pub parent: Option<ParentLink>,
    pub configuration: Vec<StateId>,
    pub states_to_invoke: Vec<StateId>,
    /// Late binding: states whose data has been bound.
    pub bound: Vec<StateId>,
    pub history: Vec<(StateId, Vec<StateId>)>,
    pub internal: Vec<Event>,
    pub external: Vec<Event>,
    /// `_event`: the last event processed.
    pub current_event: Option<Event>,
    pub invocations: Vec<InvocationState>,
    /// Delayed sends, each with the instant its timer is due.
    pub pending: Vec<PendingSend>,
    pub counter: u64,
    pub running: bool,
    pub started: bool,
    pub exited: bool,
    pub final_state: Option<StateId>,
    /// Initial values not yet bound (late binding binds them on entry).
    pub initial_values: Vec<(String, Value)>,
    /// The session's variables, in the data model's own encoding.
    pub data: String,
}

/// An active `<invoke>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationState {
    pub state: StateId,
    pub index: u32,
    pub invokeid: String,
    pub autoforward: bool,
}

/// A delayed `<send>` waiting for its timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingSend {
    pub key: u64,
    pub sendid: String,
    /// When the timer is due, on the host's clock (milliseconds).
    pub at: u64,
    pub delivery: Delivery,
}

/// Where an invoked session's document came from, so a restore can find it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DocOrigin {
    /// A top-level session: the host supplies the document.
    Host,
    /// Inline `<content>` of the parent's `<invoke>` at this state and index.
    Inline { state: StateId, index: u32 },
    /// Loaded from this (resolved) URI through the system's loader.
    Source { uri: String },
    /// Parsed from `<content expr>` text.
    Text { text: String },
}

/// A session with the sessions it invoked (recursively) and its host-type invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTree {
    pub session: SessionState,
    pub origin: DocOrigin,
    /// invokeid → the invoked SCXML session.
    pub children: Vec<(String, SessionTree)>,
    /// invokeid → invoke type, for invocations a host handler serves.
    pub host_invocations: Vec<(String, String)>,
}
