//! The document model: an immutable, position-keeping representation of one SCXML document.
//!
//! States are stored flat in document order (pre-order), so a `StateId` is also the state's
//! document-order rank; the `<scxml>` element itself is state 0 (the root). Every expression,
//! location and script is kept as source text in [`Document::exprs`] and referred to by
//! [`ExprId`], so a data model can compile each one exactly once per document.

use std::sync::Arc;

/// A source position, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Index into [`Document::states`]; equal to the state's document order (root = 0).
pub type StateId = u32;
/// Index into [`Document::transitions`].
pub type TransitionId = u32;

/// Index into [`Document::exprs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

/// What an expression source is used as; a data model may compile each kind differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    /// A value expression (`expr`, `cond`, `array`, `delayexpr`, ...).
    Value,
    /// A boolean condition (`cond`).
    Cond,
    /// A left-hand side (`location`, `idlocation`, `namelist` entries, foreach `item`/`index`).
    Location,
    /// A `<script>` body (inline or loaded from `src`).
    Script,
}

#[derive(Debug, Clone)]
pub struct ExprSrc {
    pub kind: ExprKind,
    pub src: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Early,
    Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    Shallow,
    Deep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// The `<scxml>` element.
    Root,
    /// `<state>` with no child states.
    Atomic,
    /// `<state>` with child states.
    Compound,
    Parallel,
    Final,
    History(HistoryKind),
}

#[derive(Debug, Clone)]
pub struct State {
    /// The `id` attribute, or a generated id (`__state_<n>`) when absent.
    pub id: String,
    /// True when `id` was generated.
    pub generated_id: bool,
    pub kind: StateKind,
    pub parent: Option<StateId>,
    /// Child states (including history pseudo-states) in document order.
    pub children: Vec<StateId>,
    pub depth: u32,
    /// Compound and root: the initial transition (from the `initial` attribute, an `<initial>`
    /// child, or the first child state in document order). History: the default transition.
    pub initial: Option<TransitionId>,
    /// Outgoing transitions in document order (not including `initial`).
    pub transitions: Vec<TransitionId>,
    /// Each `<onentry>` element is its own block (SCXML §4.9: an error ends only its own block).
    pub onentry: Vec<Block>,
    pub onexit: Vec<Block>,
    pub invokes: Vec<Invoke>,
    /// `<data>` children of this state's `<datamodel>` (root: the top-level datamodel).
    pub data: Vec<Data>,
    pub donedata: Option<DoneData>,
    /// One past the last descendant's id: descendants are exactly `id+1 .. end`.
    pub descendants_end: StateId,
    pub pos: Pos,
}

impl State {
    pub fn is_atomic(&self) -> bool {
        matches!(self.kind, StateKind::Atomic | StateKind::Final)
    }
    pub fn is_compound(&self) -> bool {
        matches!(self.kind, StateKind::Compound | StateKind::Root)
    }
    pub fn is_history(&self) -> bool {
        matches!(self.kind, StateKind::History(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    External,
    Internal,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub source: StateId,
    /// Event descriptors; empty for an eventless transition.
    pub events: Vec<EventDescriptor>,
    pub cond: Option<ExprId>,
    pub targets: Vec<StateId>,
    pub kind: TransitionKind,
    pub actions: Block,
    pub pos: Pos,
}

/// One token of a transition's `event` attribute. SCXML §3.12.1: a descriptor matches an event
/// name when it equals the name or is a prefix of it at a `.` boundary; `*` matches any name;
/// a trailing `.*` is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDescriptor {
    Any,
    Prefix(String),
}

impl EventDescriptor {
    pub fn parse(token: &str) -> EventDescriptor {
        if token == "*" {
            return EventDescriptor::Any;
        }
        let t = token.strip_suffix(".*").unwrap_or(token);
        let t = t.strip_suffix('.').unwrap_or(t);
        EventDescriptor::Prefix(t.to_string())
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            EventDescriptor::Any => true,
            EventDescriptor::Prefix(p) => {
                name == p
                    || (name.len() > p.len()
                        && name.starts_with(p.as_str())
                        && name.as_bytes()[p.len()] == b'.')
            }
        }
    }
}

pub type Block = Vec<Action>;

/// A literal attribute value or its `...expr` counterpart.
#[derive(Debug, Clone)]
pub enum StrOrExpr {
    Str(String),
    Expr(ExprId),
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: ParamValue,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum ParamValue {
    Expr(ExprId),
    Location(ExprId),
}

/// `<content>`: either `expr`, or inline children.
#[derive(Debug, Clone)]
pub enum Content {
    Expr(ExprId),
    Inline(InlineContent),
}

#[derive(Debug, Clone)]
pub struct InlineContent {
    /// The raw markup between `<content>` and `</content>`.
    pub raw: String,
    /// When the content is a single valid `<scxml>` element (an inline child document for
    /// `<invoke>`).
    pub document: Option<Arc<Document>>,
    /// When the content is a single `<scxml>` element that is not a valid document: its problems.
    /// SCXML §6.4: the child only comes into being at invoke time, so this is `error.execution`
    /// then, not a reason to reject the parent.
    pub document_error: Option<String>,
    /// True when the content holds element children (XML), not only text.
    pub is_xml: bool,
}

#[derive(Debug, Clone)]
pub struct Send {
    pub event: Option<StrOrExpr>,
    pub target: Option<StrOrExpr>,
    pub type_: Option<StrOrExpr>,
    pub id: Option<String>,
    pub idlocation: Option<ExprId>,
    pub delay: Option<StrOrExpr>,
    /// Each entry is a location; the event data gets one field per name.
    pub namelist: Vec<(String, ExprId)>,
    pub params: Vec<Param>,
    pub content: Option<Content>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Invoke {
    pub type_: Option<StrOrExpr>,
    pub src: Option<StrOrExpr>,
    pub id: Option<String>,
    pub idlocation: Option<ExprId>,
    pub namelist: Vec<(String, ExprId)>,
    pub autoforward: bool,
    pub params: Vec<Param>,
    pub content: Option<Content>,
    pub finalize: Block,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum DataValue {
    /// No `expr`, `src` or content: the variable is bound to undefined.
    None,
    Expr(ExprId),
    /// Inline content or the text of a `src` resource, interpreted by the data model
    /// (JSON when it parses as JSON, otherwise a space-normalised string).
    Text(String),
    /// `src` could not be loaded at document load time: raise `error.execution` at binding.
    Unavailable(String),
}

#[derive(Debug, Clone)]
pub struct Data {
    pub id: String,
    pub value: DataValue,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct DoneData {
    pub content: Option<Content>,
    pub params: Vec<Param>,
}

/// An action element in a foreign namespace (ORS-style `queue:submit`, ...), handled by the host.
#[derive(Debug, Clone)]
pub struct CustomAction {
    pub namespace: String,
    /// Local name, without prefix.
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Attributes whose value is to be evaluated (`...expr` attributes are passed verbatim in `attrs`;
    /// the host decides what to evaluate through the session).
    pub raw: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum Action {
    Raise {
        event: String,
        pos: Pos,
    },
    If {
        /// `(cond, block)`; the `else` branch has `None`.
        branches: Vec<(Option<ExprId>, Block)>,
        pos: Pos,
    },
    Foreach {
        array: ExprId,
        item: ExprId,
        index: Option<ExprId>,
        body: Block,
        pos: Pos,
    },
    Log {
        label: Option<String>,
        expr: Option<ExprId>,
        pos: Pos,
    },
    Assign {
        location: ExprId,
        value: AssignValue,
        pos: Pos,
    },
    Script {
        script: ExprId,
        pos: Pos,
    },
    Send(Box<Send>),
    Cancel {
        sendid: StrOrExpr,
        pos: Pos,
    },
    Custom(Box<CustomAction>),
}

#[derive(Debug, Clone)]
pub enum AssignValue {
    Expr(ExprId),
    /// Child content of `<assign>` (text or markup).
    Inline(String),
    None,
}

/// A parsed, validated SCXML document. Immutable once built; share it with `Arc`.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: Option<String>,
    /// `ecmascript` or `null`.
    pub datamodel: String,
    pub binding: Binding,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
    pub exprs: Vec<ExprSrc>,
    /// Top-level `<script>` elements (SCXML §5.8: run once, after the datamodel is initialised).
    pub scripts: Vec<ExprId>,
    /// Where the document came from; relative `src` URIs resolve against it.
    pub base_uri: Option<String>,
    /// Namespace prefixes declared on `<scxml>` (prefix → URI), for hosts that map custom actions.
    pub namespaces: Vec<(String, String)>,
}

impl Document {
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id as usize]
    }

    pub fn transition(&self, id: TransitionId) -> &Transition {
        &self.transitions[id as usize]
    }

    pub fn expr(&self, id: ExprId) -> &ExprSrc {
        &self.exprs[id.0 as usize]
    }

    /// Finds a state by its `id` attribute.
    pub fn find_state(&self, id: &str) -> Option<StateId> {
        self.states
            .iter()
            .position(|s| s.id == id && s.kind != StateKind::Root)
            .map(|i| i as StateId)
    }

    /// True when `a` is a proper descendant of `b`.
    pub fn is_descendant(&self, a: StateId, b: StateId) -> bool {
        a > b && a < self.states[b as usize].descendants_end
    }

    /// The proper ancestors of `s`, innermost first, up to (and including) the root.
    pub fn ancestors(&self, s: StateId) -> impl Iterator<Item = StateId> + '_ {
        let mut cur = self.states[s as usize].parent;
        std::iter::from_fn(move || {
            let c = cur?;
            cur = self.states[c as usize].parent;
            Some(c)
        })
    }
}
