//! Semantic checks on a built [`Document`] that need the whole document: ids, initial and history targets,
//! and `<invoke src>` cycles across documents. Checks that only need one element are made while parsing.

use std::collections::{HashMap, HashSet};

use crate::model::{Content, Document, HistoryKind, Invoke, Pos, StateId, StateKind, StrOrExpr};
use crate::parse::{load_unchecked, Loader, Problem};

/// How many documents deep `<invoke src>` chains are followed when looking for cycles.
const MAX_INVOKE_DEPTH: usize = 32;

/// `<invoke type>` spellings that denote an SCXML child session (SCXML §6.4.1, plus the short forms the
/// conformance tests use).
const SCXML_INVOKE_TYPES: &[&str] = &[
    "http://www.w3.org/TR/scxml/",
    "http://www.w3.org/TR/scxml",
    "scxml",
];

/// Whole-document checks; every problem found is returned.
pub fn validate(doc: &Document) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |pos: Pos, message: String| problems.push(Problem { pos, message });

    if let Some(root) = doc.states.first() {
        if root.children.is_empty() {
            push(
                root.pos,
                "<scxml> must contain at least one <state>, <parallel> or <final>".to_string(),
            );
        }
    }

    // Duplicate ids: the first definition wins for target resolution; later ones are reported.
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    for s in &doc.states {
        if s.kind == StateKind::Root || s.generated_id {
            continue;
        }
        if let Some(first) = seen.get(s.id.as_str()) {
            push(
                s.pos,
                format!("duplicate state id '{}' (first defined at {first})", s.id),
            );
        } else {
            seen.insert(s.id.as_str(), s.pos);
        }
    }

    for (sid, s) in doc.states.iter().enumerate() {
        let sid = StateId::try_from(sid).unwrap_or(StateId::MAX);
        let Some(t) = s.initial.and_then(|t| doc.transitions.get(t as usize)) else {
            continue;
        };
        match s.kind {
            StateKind::Root | StateKind::Compound => {
                // SCXML §3.3: initial targets must be descendants of the state.
                for &target in &t.targets {
                    if !is_descendant(doc, target, sid) {
                        push(
                            t.pos,
                            format!(
                                "{} initial target '{}' is not a descendant of it",
                                describe(doc, sid),
                                state_id(doc, target)
                            ),
                        );
                    }
                }
            }
            StateKind::History(kind) => {
                // SCXML §3.10: a shallow history's default targets are children of its parent; a deep
                // history's are descendants of its parent.
                let Some(parent) = s.parent else { continue };
                for &target in &t.targets {
                    let ok = target != sid
                        && match kind {
                            HistoryKind::Deep => is_descendant(doc, target, parent),
                            HistoryKind::Shallow => {
                                doc.states.get(target as usize).and_then(|t| t.parent)
                                    == Some(parent)
                            }
                        };
                    if !ok {
                        let relation = match kind {
                            HistoryKind::Deep => "a descendant",
                            HistoryKind::Shallow => "a child",
                        };
                        push(
                            t.pos,
                            format!(
                                "{} default transition target '{}' is not {relation} of '{}'",
                                describe(doc, sid),
                                state_id(doc, target),
                                state_id(doc, parent)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    problems
}

fn is_descendant(doc: &Document, a: StateId, b: StateId) -> bool {
    doc.states
        .get(b as usize)
        .is_some_and(|s| a > b && a < s.descendants_end)
}

fn state_id(doc: &Document, s: StateId) -> &str {
    doc.states.get(s as usize).map_or("?", |s| s.id.as_str())
}

/// `<state id="s0">`, as the state was written.
fn describe(doc: &Document, s: StateId) -> String {
    let Some(st) = doc.states.get(s as usize) else {
        return "<?>".to_string();
    };
    let tag = match st.kind {
        StateKind::Root => return "<scxml>".to_string(),
        StateKind::Atomic | StateKind::Compound => "state",
        StateKind::Parallel => "parallel",
        StateKind::Final => "final",
        StateKind::History(_) => "history",
    };
    if st.generated_id {
        format!("<{tag}>")
    } else {
        format!("<{tag} id=\"{}\">", st.id)
    }
}

/// Follows static `<invoke src="...">` through `loader`; reports each one that leads back to a document
/// already on the chain. Loads that fail are not problems here (they are `error.execution` at run time).
pub(crate) fn check_invoke_cycles(doc: &Document, loader: &dyn Loader) -> Vec<Problem> {
    let mut search = CycleSearch {
        loader,
        stack: vec![doc
            .base_uri
            .clone()
            .unwrap_or_else(|| "(this document)".to_string())],
        done: HashSet::new(),
    };
    let mut problems = Vec::new();
    for (src, pos) in static_invokes(doc) {
        if let Some(chain) = search.visit(&src, doc.base_uri.as_deref()) {
            problems.push(Problem {
                pos,
                message: format!("invoke src cycle: {}", chain.join(" -> ")),
            });
        }
    }
    problems
}

struct CycleSearch<'l> {
    loader: &'l dyn Loader,
    /// Resolved uris of the documents on the current chain.
    stack: Vec<String>,
    /// Documents fully explored without finding a cycle.
    done: HashSet<String>,
}

impl CycleSearch<'_> {
    fn visit(&mut self, src: &str, base: Option<&str>) -> Option<Vec<String>> {
        let (text, uri) = self.loader.load(src, base).ok()?;
        if let Some(i) = self.stack.iter().position(|u| *u == uri) {
            let mut chain = self
                .stack
                .get(i..)
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            chain.push(uri);
            return Some(chain);
        }
        if self.done.contains(&uri) || self.stack.len() >= MAX_INVOKE_DEPTH {
            return None;
        }
        let (child, _) = load_unchecked(&text, Some(&uri), self.loader);
        let invokes = child.as_ref().map(static_invokes).unwrap_or_default();
        drop(child);
        self.stack.push(uri.clone());
        for (s, _) in invokes {
            if let Some(chain) = self.visit(&s, Some(&uri)) {
                self.stack.pop();
                return Some(chain);
            }
        }
        self.stack.pop();
        self.done.insert(uri);
        None
    }
}

/// `(src, position)` of every `<invoke src>` of an SCXML type in `doc`, including those of inline child
/// documents (which live in the same file).
fn static_invokes(doc: &Document) -> Vec<(String, Pos)> {
    let mut out = Vec::new();
    let mut docs = vec![doc];
    while let Some(d) = docs.pop() {
        for inv in d.states.iter().flat_map(|s| s.invokes.iter()) {
            if let Some(Content::Inline(c)) = &inv.content {
                if let Some(inner) = &c.document {
                    docs.push(inner);
                }
            }
            if let (Some(StrOrExpr::Str(src)), true) = (&inv.src, is_scxml_invoke(inv)) {
                out.push((src.clone(), inv.pos));
            }
        }
    }
    out
}

fn is_scxml_invoke(inv: &Invoke) -> bool {
    match &inv.type_ {
        None => true,
        Some(StrOrExpr::Str(t)) => SCXML_INVOKE_TYPES.contains(&t.trim()),
        Some(StrOrExpr::Expr(_)) => false,
    }
}
