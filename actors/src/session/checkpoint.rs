//! A session's checkpoint: what the store keeps so the session survives a restart.
//!
//! The bytes are `RB`, a format version, then the postcard encoding of [`Checkpoint`]: the
//! interpreter's [`SessionTree`] (configuration, data, queues, timers with their deadlines,
//! invocations) and the host's own record of the session (start parameters, the queue items
//! and calls it owns). Version 2 (written now) compresses that encoding with LZ4 (its size
//! first): a callback's checkpoint repeats its options and user data, and halving what every
//! step writes halves the store's write-ahead log. Version 1 (uncompressed) is still read. A
//! version this build does not know is refused, never guessed at.

use engine::store::Millis;
use scxml::snapshot::SessionTree;
use scxml::Value;
use serde::{Deserialize, Serialize};

/// The format this build writes.
pub const VERSION: u8 = 2;
/// The uncompressed format of earlier builds.
const VERSION_PLAIN: u8 = 1;
const MAGIC: &[u8; 2] = b"RB";
/// No session's state is this big (a damaged size is refused before anything is allocated).
const MAX_PLAIN: usize = 256 << 20;

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
    let plain = postcard::to_stdvec(cp).map_err(|e| format!("encoding a checkpoint: {e}"))?;
    let packed = lz4_flex::compress_prepend_size(&plain);
    let mut out = Vec::with_capacity(packed.len() + 3);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&packed);
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a session checkpoint (no RB header)")?;
    match body.split_first() {
        Some((&VERSION, rest)) => {
            let size = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or("a truncated checkpoint")?;
            if size > MAX_PLAIN {
                return Err(format!("a checkpoint that claims {size} bytes"));
            }
            let plain = lz4_flex::decompress_size_prepended(rest)
                .map_err(|e| format!("reading a checkpoint: {e}"))?;
            postcard::from_bytes(&plain).map_err(|e| format!("reading a checkpoint: {e}"))
        }
        Some((&VERSION_PLAIN, rest)) => {
            postcard::from_bytes(rest).map_err(|e| format!("reading a checkpoint: {e}"))
        }
        Some((v, _)) => Err(format!(
            "checkpoint format version {v} is not one this build reads (it reads \
             {VERSION_PLAIN} and {VERSION})"
        )),
        None => Err("an empty checkpoint".into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sample() -> Checkpoint {
        let src = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"
            datamodel="ecmascript"><datamodel><data id="n" expr="'ten ten ten ten'"/></datamodel>
            <state id="a"/></scxml>"#;
        let doc = scxml::parse::parse_document(src, None, &scxml::NoLoader).unwrap();
        let mut dm = scxml::EcmaDataModel::new();
        let mut sys = scxml::system::System::new(
            Box::new(scxml::NoLoader),
            scxml::system::Capabilities::default(),
        );
        let id = sys.start(&mut dm, Arc::new(doc), 0);
        Checkpoint {
            tree: sys.snapshot(&mut dm, &id).unwrap(),
            meta: MetaState {
                created_at: 7,
                doc_name: "callback".into(),
                params: vec![("_customer_number".into(), Value::String("5551234".into()))],
                ..MetaState::default()
            },
        }
    }

    #[test]
    fn compressed_checkpoints_read_back_and_plain_ones_still_read() {
        let cp = sample();
        let bytes = encode(&cp).unwrap();
        assert_eq!(&bytes[..3], b"RB\x02");
        assert_eq!(decode(&bytes).unwrap(), cp);
        // What builds before the compressed format wrote.
        let mut plain = b"RB\x01".to_vec();
        plain.extend(postcard::to_stdvec(&cp).unwrap());
        assert_eq!(decode(&plain).unwrap(), cp);
    }

    #[test]
    fn damaged_and_unknown_checkpoints_are_refused() {
        assert!(decode(b"RB\x03xx").unwrap_err().contains("version 3"));
        assert!(decode(b"XX\x02").is_err());
        assert!(decode(b"RB\x02\x01").unwrap_err().contains("truncated"));
        // A size no session has: refused before anything is allocated.
        let huge = [b'R', b'B', 2, 0xff, 0xff, 0xff, 0x7f, 0];
        assert!(decode(&huge).unwrap_err().contains("claims"));
        let mut cut = encode(&sample()).unwrap();
        cut.truncate(cut.len() - 3);
        assert!(decode(&cut).is_err());
    }
}
