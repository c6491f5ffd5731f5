//! A session's checkpoint: what the store keeps so the session survives a restart.
//!
//! The bytes are `RB`, a format version, then the postcard encoding of [`Checkpoint`]: the
//! interpreter's [`SessionTree`] (configuration, data, queues, timers with their deadlines,
//! invocations) and the host's own record of the session (start parameters, the queue items
//! and calls it owns). A version this build does not know is refused, never guessed at.

use engine::store::Millis;
use scxml::snapshot::SessionTree;
use scxml::Value;
use serde::{Deserialize, Serialize};

/// The format this build writes.
pub const VERSION: u8 = 1;
const MAGIC: &[u8; 2] = b"RB";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub tree: SessionTree,
    pub meta: MetaState,
}

/// The host's durable record of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetaState {
    pub created_at: Millis,
    /// Where the document came from (template name, URL, `inline`).
    pub doc_name: String,
    /// The start parameters (`_genesys.session.params`).
    pub params: Vec<(String, Value)>,
    /// Queue submissions that have not ended.
    pub items: Vec<ItemMeta>,
    /// Calls the session owns.
    pub calls: Vec<CallMeta>,
    /// For generated request ids.
    pub next_id: u64,
}

/// A queue submission, with everything needed to submit it again after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemMeta {
    pub requestid: String,
    pub queue: String,
    /// The target (or `_target` list) as text.
    pub targets: String,
    pub priority: i32,
    pub media: String,
    pub reserve_timeout_ms: Millis,
    pub reject_retry_ms: Millis,
    /// When it leaves if not routed by then.
    pub deadline: Option<Millis>,
    /// The call it routes (an id of one of the session's calls).
    pub interaction: Option<u64>,
    pub user_data: Vec<(String, String)>,
    pub enqueued_at: Millis,
    /// The center's id for it when first submitted: orders resubmissions of items that entered
    /// in the same millisecond.
    pub seq: u64,
    /// The center's id for it now (not meaningful after a restart until resubmitted).
    pub item: Option<u64>,
    /// Set once routed: the agent.
    pub routed: Option<String>,
}

/// A call the session owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallMeta {
    pub ixn: u64,
    pub requestid: String,
    pub customer: String,
    pub media: String,
    /// `inbound` (taken at a route point), `outbound` (dialled).
    pub direction: String,
}

pub fn encode(cp: &Checkpoint) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    postcard::to_io(cp, &mut out).map_err(|e| format!("encoding a checkpoint: {e}"))?;
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a session checkpoint (no RB header)")?;
    match body.split_first() {
        Some((&VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| format!("reading a checkpoint: {e}"))
        }
        Some((v, _)) => Err(format!(
            "checkpoint format version {v} is not one this build reads (it reads {VERSION})"
        )),
        None => Err("an empty checkpoint".into()),
    }
}
