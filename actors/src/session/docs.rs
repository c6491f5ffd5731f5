//! State-chart documents for sessions: their content hash, their parsed and checked form
//! (shared by every session that runs the same text), and the check of ORS-style action
//! elements at load time.
//!
//! A document is known by the SHA-256 of its text. A session's checkpoint names that hash, and
//! the store keeps the text under it, so a restored session runs the document it started with
//! even if the file or template changed since.

use std::sync::Arc;

use dashmap::DashMap;
use scxml::model::{Action, Block, Content, CustomAction, Document, EventDescriptor};
use scxml::parse::{parse_document, NoLoader, Problem};
use sha2::{Digest, Sha256};

/// The largest document a session may run (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// A parsed, checked document and where it came from.
#[derive(Debug)]
pub struct LoadedDoc {
    /// Hex SHA-256 of `source`.
    pub hash: String,
    /// A template name, a URL, or `inline`.
    pub name: String,
    pub source: Arc<str>,
    pub doc: Arc<Document>,
    /// The event descriptors of its transitions; `None` when it must hear every event (an
    /// invocation forwards events, or a descriptor is `*`).
    listens: Option<Vec<EventDescriptor>>,
}

impl LoadedDoc {
    /// Whether an event of this name could make any difference to a session of this document
    /// (a transition could take it, or it is forwarded). Others need not be delivered.
    pub fn listens_to(&self, name: &str) -> bool {
        match &self.listens {
            None => true,
            Some(ds) => ds.iter().any(|d| d.matches(name)),
        }
    }
}

fn listened_events(doc: &Document) -> Option<Vec<EventDescriptor>> {
    let forwards = doc
        .states
        .iter()
        .any(|s| s.invokes.iter().any(|i| i.autoforward));
    if forwards {
        return None;
    }
    let mut all: Vec<EventDescriptor> = Vec::new();
    for t in &doc.transitions {
        for d in &t.events {
            if *d == EventDescriptor::Any {
                return None;
            }
            if !all.contains(d) {
                all.push(d.clone());
            }
        }
    }
    Some(all)
}

/// Why a document cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// Every problem, as `line:col: message`.
    #[error("the document is not valid SCXML:\n{}", .0.join("\n"))]
    Malformed(Vec<String>),
    #[error("the document is {size} bytes, more than the {limit} allowed")]
    TooLarge { size: usize, limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Fetch(String),
}

/// The hex SHA-256 of a document's text.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Documents by content hash, parsed once.
#[derive(Debug, Default)]
pub struct Documents {
    by_hash: DashMap<String, Arc<LoadedDoc>>,
}

impl Documents {
    pub fn new() -> Documents {
        Documents::default()
    }

    /// The document with this text, parsed and checked (once per text).
    pub fn load(&self, name: &str, text: &str) -> Result<Arc<LoadedDoc>, DocError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(DocError::TooLarge {
                size: text.len(),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let hash = content_hash(text);
        if let Some(d) = self.by_hash.get(&hash) {
            return Ok(d.clone());
        }
        let doc = parse_document(text, None, &NoLoader).map_err(|e| {
            DocError::Malformed(e.problems.iter().map(ToString::to_string).collect())
        })?;
        let problems = check_actions(&doc);
        if !problems.is_empty() {
            return Err(DocError::Malformed(
                problems.iter().map(ToString::to_string).collect(),
            ));
        }
        let listens = listened_events(&doc);
        let loaded = Arc::new(LoadedDoc {
            hash: hash.clone(),
            name: name.to_owned(),
            source: Arc::from(text),
            doc: Arc::new(doc),
            listens,
        });
        self.by_hash.insert(hash, loaded.clone());
        Ok(loaded)
    }

    pub fn by_hash(&self, hash: &str) -> Option<Arc<LoadedDoc>> {
        self.by_hash.get(hash).map(|d| d.clone())
    }

    /// Forgets documents no session holds any more.
    pub fn collect(&self) {
        self.by_hash.retain(|_, d| Arc::strong_count(d) > 1);
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// An ORS module's namespace without scheme and trailing slash
/// (`www.genesyslab.com/modules/queue`), or `None` for another namespace.
pub fn ors_module(namespace: &str) -> Option<&str> {
    let ns = namespace
        .strip_prefix("http://")
        .or_else(|| namespace.strip_prefix("https://"))
        .unwrap_or(namespace)
        .trim_end_matches('/');
    ns.strip_prefix("www.genesyslab.com/modules/")
}

/// One action element: its required attributes (each a list of accepted spellings) and the
/// optional ones.
struct Spec {
    name: &'static str,
    required: &'static [&'static [&'static str]],
    optional: &'static [&'static str],
}

const QUEUE: &[Spec] = &[
    Spec {
        name: "submit",
        required: &[&["queue", "vq"], &["target", "targets"]],
        optional: &[
            "priority",
            "timeout",
            "media",
            "interaction",
            "ixnid",
            "requestid",
            "userdata",
            "reservetimeout",
            "rejectretry",
        ],
    },
    Spec {
        name: "cancel",
        required: &[],
        optional: &["requestid"],
    },
    Spec {
        name: "priority",
        required: &[&["priority"]],
        optional: &["requestid"],
    },
];

const INTERACTION: &[Spec] = &[
    Spec {
        name: "dial",
        required: &[&["number", "destination"]],
        optional: &["timeout", "ixnid", "requestid", "userdata", "agent"],
    },
    Spec {
        name: "create",
        required: &[&["number", "destination"]],
        optional: &["timeout", "ixnid", "requestid", "userdata", "agent"],
    },
    Spec {
        name: "connect",
        required: &[&["interaction", "ixnid"], &["agent"]],
        optional: &["requestid"],
    },
    Spec {
        name: "redirect",
        required: &[&["interaction", "ixnid"], &["to", "agent"]],
        optional: &["requestid", "timeout", "priority"],
    },
    Spec {
        name: "release",
        required: &[],
        optional: &["interaction", "ixnid", "requestid"],
    },
    Spec {
        name: "hangup",
        required: &[],
        optional: &["interaction", "ixnid", "requestid"],
    },
    Spec {
        name: "attach",
        required: &[&["data", "userdata"]],
        optional: &["interaction", "ixnid", "requestid"],
    },
];

const DIALOG: &[Spec] = &[
    Spec {
        name: "play",
        required: &[&["treatment", "uri", "announcement", "prompt"]],
        optional: &["interaction", "ixnid", "duration", "requestid"],
    },
    Spec {
        name: "stop",
        required: &[],
        optional: &["interaction", "ixnid", "requestid"],
    },
];

const SESSION: &[Spec] = &[
    Spec {
        name: "fetch",
        required: &[&["src", "url", "srcexpr"]],
        optional: &[
            "method",
            "timeout",
            "data",
            "content",
            "requestid",
            "headers",
            "enctype",
        ],
    },
    Spec {
        name: "response",
        required: &[],
        optional: &["requestid", "data", "status", "namelist"],
    },
];

const NOTIFICATION: &[Spec] = &[Spec {
    name: "push",
    required: &[&["message"]],
    optional: &["tag", "device_os", "device_id", "deviceid", "requestid"],
}];

/// Ringback's `callback` module: a chart changes the record of the callback it runs.
const CALLBACK: &[Spec] = &[Spec {
    name: "update",
    required: &[],
    optional: &["state", "reason", "data", "event"],
}];

/// The action elements of each ORS module, for documentation and checks.
fn module_specs(module: &str) -> Option<&'static [Spec]> {
    match module {
        "queue" => Some(QUEUE),
        "interaction" => Some(INTERACTION),
        "dialog" => Some(DIALOG),
        "session" => Some(SESSION),
        "notification" => Some(NOTIFICATION),
        "callback" => Some(CALLBACK),
        _ => None,
    }
}

/// Every action element in a foreign namespace that the session host does not implement, or
/// that lacks a required attribute or has one it does not know: each a problem at its
/// position. Inline child documents are checked too.
pub fn check_actions(doc: &Document) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk_document(doc, &mut |a| check_action(a, &mut problems));
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    problems
}

fn check_action(a: &CustomAction, problems: &mut Vec<Problem>) {
    let mut report = |message: String| {
        problems.push(Problem {
            pos: a.pos,
            message,
        })
    };
    let Some(module) = ors_module(&a.namespace) else {
        report(format!(
            "<{}> is in namespace '{}', which this server does not implement (ORS modules are \
             www.genesyslab.com/modules/queue, interaction, dialog, session, notification, callback)",
            a.name, a.namespace
        ));
        return;
    };
    let Some(specs) = module_specs(module) else {
        report(format!(
            "<{}>: the ORS module '{module}' is not implemented here (queue, interaction, \
             dialog, session and notification are)",
            a.name
        ));
        return;
    };
    let Some(spec) = specs.iter().find(|s| s.name == a.name) else {
        let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
        report(format!(
            "unknown action <{}> in module '{module}' (it has {})",
            a.name,
            known.join(", ")
        ));
        return;
    };
    let has = |name: &str| a.attrs.iter().any(|(k, _)| local(k) == name);
    for alternatives in spec.required {
        if !alternatives.iter().any(|n| has(n)) {
            report(format!(
                "<{module}:{}> needs the attribute {}",
                a.name,
                alternatives
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
    }
    for (k, _) in &a.attrs {
        let k = local(k);
        let known =
            spec.required.iter().any(|alts| alts.contains(&k)) || spec.optional.contains(&k);
        if !known {
            report(format!(
                "<{module}:{}> has no attribute '{k}' (it takes {})",
                a.name,
                spec.required
                    .iter()
                    .flat_map(|alts| alts.iter())
                    .chain(spec.optional.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

/// An attribute's local name (without a namespace prefix).
fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn walk_document(doc: &Document, f: &mut dyn FnMut(&CustomAction)) {
    for s in &doc.states {
        for b in s.onentry.iter().chain(s.onexit.iter()) {
            walk_block(b, f);
        }
        for inv in &s.invokes {
            walk_block(&inv.finalize, f);
            if let Some(Content::Inline(c)) = &inv.content {
                if let Some(child) = &c.document {
                    walk_document(child, f);
                }
            }
        }
    }
    for t in &doc.transitions {
        walk_block(&t.actions, f);
    }
}

fn walk_block(block: &Block, f: &mut dyn FnMut(&CustomAction)) {
    for a in block {
        match a {
            Action::Custom(c) => f(c),
            Action::If { branches, .. } => {
                for (_, b) in branches {
                    walk_block(b, f);
                }
            }
            Action::Foreach { body, .. } => walk_block(body, f),
            _ => {}
        }
    }
}
