//! SCXML 1.0 document loading: XML text → [`Document`], reporting every problem found, not just the first.
//!
//! Loading runs in two passes. First the XML is read with quick-xml's `NsReader` into a small element tree
//! that keeps byte spans (so positions, raw markup of custom actions and inline `<content>` can be cut from the
//! source exactly). Then the tree is walked into the flat [`Document`] model, and [`crate::validate`] checks the
//! result. The crate performs no I/O: `src` attributes go through a host-provided [`Loader`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use quick_xml::events::attributes::AttrError;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::model::{
    Action, AssignValue, Binding, Block, Content, CustomAction, Data, DataValue, Document,
    DoneData, EventDescriptor, ExprId, ExprKind, ExprSrc, HistoryKind, InlineContent, Invoke,
    Param, ParamValue, Pos, Send, State, StateId, StateKind, StrOrExpr, Transition, TransitionId,
    TransitionKind,
};

/// The SCXML namespace. Elements without any namespace are treated as SCXML too.
pub const SCXML_NS: &str = "http://www.w3.org/2005/07/scxml";

/// Deeper element nesting is rejected, so that walking the tree can never exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Every SCXML element name, to tell a misplaced element from an unknown one.
const SCXML_ELEMENTS: &[&str] = &[
    "scxml",
    "state",
    "parallel",
    "transition",
    "initial",
    "final",
    "onentry",
    "onexit",
    "history",
    "raise",
    "if",
    "elseif",
    "else",
    "foreach",
    "log",
    "datamodel",
    "data",
    "assign",
    "donedata",
    "content",
    "param",
    "script",
    "send",
    "cancel",
    "invoke",
    "finalize",
];

/// Resolves and fetches `src` URIs (script src, data src, invoke src). The crate does no I/O itself; hosts
/// implement this.
pub trait Loader {
    /// Returns (text, resolved absolute uri) or an error message.
    fn load(&self, uri: &str, base: Option<&str>) -> Result<(String, String), String>;
}

/// A loader that loads nothing (every load fails with "no loader").
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLoader;

impl Loader for NoLoader {
    fn load(&self, _uri: &str, _base: Option<&str>) -> Result<(String, String), String> {
        Err("no loader".to_string())
    }
}

/// An in-memory loader for tests: maps a uri (as written, e.g. "file:a.txt", or resolved) to text.
#[derive(Debug, Clone, Default)]
pub struct MapLoader(pub HashMap<String, String>);

impl Loader for MapLoader {
    fn load(&self, uri: &str, base: Option<&str>) -> Result<(String, String), String> {
        let resolved = resolve_uri(uri, base);
        if let Some(text) = self.0.get(uri) {
            return Ok((text.clone(), resolved));
        }
        match self.0.get(&resolved) {
            Some(text) => Ok((text.clone(), resolved)),
            None => Err(format!("'{uri}' not found")),
        }
    }
}

/// Resolves `uri` against `base` the way RFC 3986 does for the common cases: an absolute uri (with `//`
/// authority or an absolute path) is returned as is; a relative one (optionally written `file:rel/path`)
/// replaces the last segment of `base`. `.` and `..` segments are removed.
pub fn resolve_uri(uri: &str, base: Option<&str>) -> String {
    let Some(base) = base else {
        return uri.to_string();
    };
    let path = uri.strip_prefix("file:").unwrap_or(uri);
    if uri.contains("://") || path.starts_with('/') || has_scheme(path) {
        return uri.to_string();
    }
    let dir = match base.rfind('/') {
        Some(i) => &base[..=i],
        None => match base.find(':') {
            // `file:a.scxml` → `file:`
            Some(i) => &base[..=i],
            None => "",
        },
    };
    remove_dot_segments(&format!("{dir}{path}"))
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 1 => s[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')),
        _ => false,
    }
}

fn remove_dot_segments(s: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = s.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." if i != 0 => {}
            ".." if i != 0 => {
                // Never pop the scheme/authority part or the leading empty segment of an absolute path.
                if out.len() > 1 && !matches!(out.last(), Some(&"..") | Some(&"")) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            _ => out.push(seg),
        }
        if i == last && matches!(*seg, "." | "..") && i != 0 {
            out.push("");
        }
    }
    out.join("/")
}

/// One problem found while loading a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Why a document could not be loaded: every problem found, sorted by position.
#[derive(Debug, thiserror::Error)]
#[error("{}", join_problems(&self.problems))]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

fn join_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates an SCXML document. `base_uri` is where the document came from; relative `src`
/// attributes are loaded through `loader` against it. Returns every problem found, sorted by position.
pub fn parse_document(
    src: &str,
    base_uri: Option<&str>,
    loader: &dyn Loader,
) -> Result<Document, LoadError> {
    let (doc, mut problems) = load_unchecked(src, base_uri, loader);
    if let Some(doc) = &doc {
        problems.extend(crate::validate::check_invoke_cycles(doc, loader));
    }
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    problems.dedup();
    match doc {
        Some(doc) if problems.is_empty() => {
            tracing::debug!(
                states = doc.states.len(),
                transitions = doc.transitions.len(),
                exprs = doc.exprs.len(),
                "scxml document loaded"
            );
            Ok(doc)
        }
        _ => {
            if problems.is_empty() {
                // Cannot happen (no document means a problem was recorded), but never return an empty error.
                problems.push(Problem {
                    pos: Pos { line: 1, col: 1 },
                    message: "document could not be loaded".to_string(),
                });
            }
            Err(LoadError { problems })
        }
    }
}

/// Parses and validates without following `<invoke src>` chains. Used for documents reached through
/// `<invoke src>` while looking for cycles. Problems are unsorted.
pub(crate) fn load_unchecked(
    src: &str,
    base_uri: Option<&str>,
    loader: &dyn Loader,
) -> (Option<Document>, Vec<Problem>) {
    let lines = LineIndex::new(src);
    let (tree, xml_problems) = read_tree(src);
    let mut ctx = Ctx {
        text: src,
        lines: &lines,
        loader,
        base_uri,
        problems: xml_problems
            .into_iter()
            .map(|(off, message)| Problem {
                pos: lines.pos(src, off),
                message,
            })
            .collect(),
    };
    let Some(root) = tree else {
        return (None, ctx.problems);
    };
    let doc = build_document(&mut ctx, &root);
    if let Some(doc) = &doc {
        ctx.problems.extend(crate::validate::validate(doc));
    }
    (doc, ctx.problems)
}

// ---------------------------------------------------------------------------------------------------------
// Positions

struct LineIndex {
    starts: Vec<usize>,
    /// Whether each line is pure ASCII, so that its columns are byte offsets (keeps positions O(log n) on
    /// long minified lines).
    ascii: Vec<bool>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, b) in text.bytes().enumerate() {
            line_ascii &= b.is_ascii();
            if b == b'\n' {
                starts.push(i + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            }
        }
        ascii.push(line_ascii);
        LineIndex { starts, ascii }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn pos(&self, text: &str, off: usize) -> Pos {
        let off = off.min(text.len());
        let line = self.starts.partition_point(|s| *s <= off).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = if self.ascii.get(line - 1).copied().unwrap_or(false) {
            off - start
        } else {
            text.get(start..off)
                .map_or(off - start, |s| s.chars().count())
        };
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Pass 1: XML → element tree

#[derive(Debug)]
struct Elem {
    /// In the SCXML namespace, or in no namespace at all.
    scxml: bool,
    /// The resolved namespace uri ("" when none).
    ns: String,
    local: String,
    qname: String,
    /// Attributes other than namespace declarations: (qualified name as written, normalised value).
    attrs: Vec<(String, String)>,
    /// Namespace declarations on this element: (prefix, uri); the default namespace has prefix "".
    ns_decls: Vec<(String, String)>,
    children: Vec<Node>,
    /// Byte span of the whole element.
    start: usize,
    end: usize,
    /// Byte span between the start and the end tag (empty for `<x/>`).
    inner_start: usize,
    inner_end: usize,
}

#[derive(Debug)]
enum Node {
    Elem(Elem),
    /// Character data with references resolved (text and CDATA sections merged).
    Text(String),
}

fn is_xml_ws(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

impl Elem {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn elems(&self) -> impl Iterator<Item = &Elem> {
        self.children.iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn has_elem_children(&self) -> bool {
        self.elems().next().is_some()
    }

    /// The concatenated character data of the direct children.
    fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Elem(_) => None,
            })
            .collect()
    }

    fn has_text(&self) -> bool {
        self.children
            .iter()
            .any(|n| matches!(n, Node::Text(t) if !is_xml_ws(t)))
    }

    fn is(&self, local: &str) -> bool {
        self.scxml && self.local == local
    }

    /// `<state id="s0">`, or `<state>` when it has no id.
    fn desc(&self) -> String {
        match self.attr("id") {
            Some(id) => format!("<{} id=\"{}\">", self.qname, id),
            None => format!("<{}>", self.qname),
        }
    }

    fn push_text(&mut self, s: &str) {
        if let Some(Node::Text(t)) = self.children.last_mut() {
            t.push_str(s);
        } else {
            self.children.push(Node::Text(s.to_string()));
        }
    }
}

fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

enum NsRes {
    None,
    Uri(String),
    Unknown(String),
}

/// Reads the XML into a tree. Stops at the first well-formedness error, returning no tree then.
fn read_tree(text: &str) -> (Option<Elem>, Vec<(usize, String)>) {
    let mut reader = NsReader::from_str(text);
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    loop {
        let before = to_usize(reader.buffer_position());
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => {
                let ns = match ns {
                    ResolveResult::Unbound => NsRes::None,
                    ResolveResult::Bound(n) => NsRes::Uri(n.0.to_string()),
                    ResolveResult::Unknown(p) => NsRes::Unknown(p),
                };
                (ns, event)
            }
            Err(e) => {
                let at = to_usize(reader.error_position());
                problems.push((at, format!("malformed XML: {e}")));
                return (None, problems);
            }
        };
        let after = to_usize(reader.buffer_position());
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(s) | Event::Empty(s) => {
                let qname = s.name().0.to_string();
                if !qname.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                    problems.push((
                        before,
                        "malformed XML: '<' must start an element name (write &lt; for a literal '<')".to_string(),
                    ));
                    return (None, problems);
                }
                let local = s.local_name().into_inner().to_string();
                let (scxml, ns) = match ns {
                    NsRes::None => (true, String::new()),
                    NsRes::Uri(u) => (u == SCXML_NS, u),
                    NsRes::Unknown(p) => {
                        problems.push((
                            before,
                            format!("undeclared namespace prefix '{p}' on <{qname}>"),
                        ));
                        (false, String::new())
                    }
                };
                let mut attrs = Vec::new();
                let mut ns_decls = Vec::new();
                for a in s.attributes() {
                    let a = match a {
                        Ok(a) => a,
                        Err(e) => {
                            let (rel, what) = describe_attr_error(&e);
                            // AttrError positions count from just after the `<`.
                            let at = before.saturating_add(1).saturating_add(rel).min(text.len());
                            problems.push((at, format!("malformed XML: {what} in <{qname}>")));
                            return (None, problems);
                        }
                    };
                    let key = a.key.0.to_string();
                    let value = match a.normalized_value(XmlVersion::Implicit1_0) {
                        Ok(v) => v.into_owned(),
                        Err(e) => {
                            problems.push((
                                before,
                                format!("malformed XML: bad value of attribute '{key}' in <{qname}>: {e}"),
                            ));
                            return (None, problems);
                        }
                    };
                    if key == "xmlns" {
                        ns_decls.push((String::new(), value));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        ns_decls.push((p.to_string(), value));
                    } else {
                        attrs.push((key, value));
                    }
                }
                let elem = Elem {
                    scxml,
                    ns,
                    local,
                    qname,
                    attrs,
                    ns_decls,
                    children: Vec::new(),
                    start: before,
                    end: after,
                    inner_start: after,
                    inner_end: after,
                };
                if empty {
                    if let Err(p) = attach(&mut stack, &mut root, elem) {
                        problems.push(p);
                        return (None, problems);
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        problems.push((
                            before,
                            format!("elements are nested more than {MAX_DEPTH} levels deep"),
                        ));
                        return (None, problems);
                    }
                    stack.push(elem);
                }
            }
            Event::End(_) => {
                let Some(mut elem) = stack.pop() else {
                    problems.push((before, "malformed XML: unmatched end tag".to_string()));
                    return (None, problems);
                };
                elem.inner_end = before;
                elem.end = after;
                if let Err(p) = attach(&mut stack, &mut root, elem) {
                    problems.push(p);
                    return (None, problems);
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if let Err(p) = push_text(&mut stack, &s, before) {
                    problems.push(p);
                    return (None, problems);
                }
            }
            Event::CData(c) => {
                let s = c.xml10_content();
                if let Err(p) = push_text(&mut stack, &s, before) {
                    problems.push(p);
                    return (None, problems);
                }
            }
            Event::GeneralRef(r) => {
                let resolved: Option<String> = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    predefined_entity(&r).map(String::from)
                };
                let Some(s) = resolved else {
                    problems.push((
                        before,
                        format!(
                            "malformed XML: unknown entity or bad character reference '&{};'",
                            &*r
                        ),
                    ));
                    return (None, problems);
                };
                if let Err(p) = push_text(&mut stack, &s, before) {
                    problems.push(p);
                    return (None, problems);
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    problems.push((
                        open.start,
                        format!("malformed XML: <{}> is never closed", open.qname),
                    ));
                    return (None, problems);
                }
                if root.is_none() {
                    problems.push((0, "document has no root element".to_string()));
                }
                return (root, problems);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

fn describe_attr_error(e: &AttrError) -> (usize, &'static str) {
    match *e {
        AttrError::ExpectedEq(p) => (p, "attribute name must be followed by '='"),
        AttrError::ExpectedValue(p) => (p, "'=' must be followed by a quoted attribute value"),
        AttrError::UnquotedValue(p) => (p, "attribute value must be enclosed in quotes"),
        AttrError::ExpectedQuote(p, _) => (p, "missing closing quote in attribute value"),
        AttrError::Duplicated(p, _) => (p, "duplicate attribute"),
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn attach(stack: &mut [Elem], root: &mut Option<Elem>, elem: Elem) -> Result<(), (usize, String)> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Node::Elem(elem));
        Ok(())
    } else if root.is_some() {
        Err((
            elem.start,
            format!("malformed XML: a second root element <{}>", elem.qname),
        ))
    } else {
        *root = Some(elem);
        Ok(())
    }
}

fn push_text(stack: &mut [Elem], s: &str, at: usize) -> Result<(), (usize, String)> {
    match stack.last_mut() {
        Some(parent) => {
            parent.push_text(s);
            Ok(())
        }
        None if is_xml_ws(s) => Ok(()),
        None => Err((
            at,
            "malformed XML: text outside the root element".to_string(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Pass 2: element tree → Document

/// What is shared by a document and the inline child documents inside it.
struct Ctx<'s> {
    text: &'s str,
    lines: &'s LineIndex,
    loader: &'s dyn Loader,
    base_uri: Option<&'s str>,
    problems: Vec<Problem>,
}

impl Ctx<'_> {
    fn pos(&self, off: usize) -> Pos {
        self.lines.pos(self.text, off)
    }

    fn problem(&mut self, off: usize, message: String) {
        let pos = self.pos(off);
        self.problems.push(Problem { pos, message });
    }
}

/// Transition targets are ids; they are resolved once the whole document is read.
struct PendingTargets {
    transition: TransitionId,
    names: Vec<String>,
    /// How to name the referring element in a message, e.g. `<transition>`.
    what: String,
    at: usize,
}

struct Builder<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    doc: Document,
    pending: Vec<PendingTargets>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    State,
    Parallel,
    Final,
    History,
}

fn build_document(ctx: &mut Ctx<'_>, root: &Elem) -> Option<Document> {
    if !root.is("scxml") {
        let ns = if root.ns.is_empty() {
            String::new()
        } else {
            format!(" (namespace '{}')", root.ns)
        };
        ctx.problem(
            root.start,
            format!("root element must be <scxml>, found <{}>{ns}", root.qname),
        );
        return None;
    }
    let base_uri = ctx.base_uri.map(str::to_string);
    let mut b = Builder {
        ctx,
        doc: Document {
            name: None,
            datamodel: "ecmascript".to_string(),
            binding: Binding::Early,
            states: Vec::new(),
            transitions: Vec::new(),
            exprs: Vec::new(),
            scripts: Vec::new(),
            base_uri,
            namespaces: root.ns_decls.clone(),
        },
        pending: Vec::new(),
    };
    b.build_root(root);
    b.resolve_targets();
    Some(b.doc)
}

impl Builder<'_, '_> {
    fn problem(&mut self, off: usize, message: String) {
        self.ctx.problem(off, message);
    }

    fn expr(&mut self, kind: ExprKind, src: &str, at: usize) -> ExprId {
        let id = ExprId(u32::try_from(self.doc.exprs.len()).unwrap_or(u32::MAX));
        let pos = self.ctx.pos(at);
        self.doc.exprs.push(ExprSrc {
            kind,
            src: src.to_string(),
            pos,
        });
        id
    }

    fn opt_expr(&mut self, e: &Elem, attr: &str, kind: ExprKind) -> Option<ExprId> {
        let src = e.attr(attr)?.to_string();
        Some(self.expr(kind, &src, e.start))
    }

    /// A required expression attribute; when missing, a problem is recorded and an empty source is used.
    fn req_expr(&mut self, e: &Elem, attr: &str, kind: ExprKind) -> ExprId {
        match e.attr(attr) {
            Some(src) => {
                let src = src.to_string();
                self.expr(kind, &src, e.start)
            }
            None => {
                self.missing(e, attr);
                self.expr(kind, "", e.start)
            }
        }
    }

    fn missing(&mut self, e: &Elem, attr: &str) {
        let msg = format!("{} is missing required attribute '{attr}'", e.desc());
        self.problem(e.start, msg);
    }

    /// A literal attribute and its `...expr` counterpart, which may not occur together.
    fn str_or_expr(&mut self, e: &Elem, lit: &str, expr: &str) -> Option<StrOrExpr> {
        self.exclusive(e, lit, expr);
        if let Some(v) = e.attr(lit) {
            return Some(StrOrExpr::Str(v.to_string()));
        }
        self.opt_expr(e, expr, ExprKind::Value).map(StrOrExpr::Expr)
    }

    fn exclusive(&mut self, e: &Elem, a: &str, b: &str) {
        if e.attr(a).is_some() && e.attr(b).is_some() {
            let msg = format!("{} has both '{a}' and '{b}'", e.desc());
            self.problem(e.start, msg);
        }
    }

    fn namelist(&mut self, e: &Elem) -> Vec<(String, ExprId)> {
        let Some(list) = e.attr("namelist") else {
            return Vec::new();
        };
        // Only split here: each name is compiled (and may fail) at run time (SCXML §6.2.4, test 553).
        let names: Vec<String> = list.split_whitespace().map(str::to_string).collect();
        names
            .into_iter()
            .map(|n| {
                let id = self.expr(ExprKind::Location, &n, e.start);
                (n, id)
            })
            .collect()
    }

    /// Reports an element that may not appear inside `parent`.
    fn unexpected(&mut self, child: &Elem, parent: &Elem) {
        let msg = if child.scxml && SCXML_ELEMENTS.contains(&child.local.as_str()) {
            format!(
                "element <{}> is not allowed in {}",
                child.qname,
                parent.desc()
            )
        } else {
            format!("unknown element <{}> in {}", child.qname, parent.desc())
        };
        self.problem(child.start, msg);
    }

    /// Reports non-whitespace character data directly inside a structural element.
    fn check_no_text(&mut self, e: &Elem) {
        if e.has_text() {
            let msg = format!("unexpected text in {}", e.desc());
            self.problem(e.inner_start, msg);
        }
    }

    /// Elements that take no children (`<raise>`, `<log>`, `<cancel>`, `<param>`): SCXML children and text
    /// are reported; foreign-namespace children are ignored.
    fn expect_empty(&mut self, e: &Elem) {
        self.check_no_text(e);
        for c in e.elems() {
            if c.scxml {
                self.unexpected(c, e);
            }
        }
    }

    // ----- states

    fn new_state(
        &mut self,
        e: &Elem,
        kind: StateKind,
        parent: Option<StateId>,
        depth: u32,
    ) -> StateId {
        let sid = StateId::try_from(self.doc.states.len()).unwrap_or(StateId::MAX);
        let (id, generated_id) = match (kind, e.attr("id"), e.attr("name")) {
            (StateKind::Root, _, Some(name)) => (name.to_string(), false),
            (StateKind::Root, _, None) => ("__scxml_root".to_string(), true),
            (_, Some(id), _) => (id.to_string(), false),
            (_, None, _) => (format!("__state_{sid}"), true),
        };
        if kind != StateKind::Root && !generated_id && id.trim().is_empty() {
            let msg = format!("<{}> has an empty 'id'", e.qname);
            self.problem(e.start, msg);
        }
        let pos = self.ctx.pos(e.start);
        self.doc.states.push(State {
            id,
            generated_id,
            kind,
            parent,
            children: Vec::new(),
            depth,
            initial: None,
            transitions: Vec::new(),
            onentry: Vec::new(),
            onexit: Vec::new(),
            invokes: Vec::new(),
            data: Vec::new(),
            donedata: None,
            descendants_end: sid + 1,
            pos,
        });
        if let Some(p) = parent.and_then(|p| self.doc.states.get_mut(p as usize)) {
            p.children.push(sid);
        }
        sid
    }

    fn state_mut(&mut self, sid: StateId) -> Option<&mut State> {
        self.doc.states.get_mut(sid as usize)
    }

    fn build_root(&mut self, e: &Elem) {
        self.doc.name = e.attr("name").map(str::to_string);
        if let Some(dm) = e.attr("datamodel") {
            // SCXML §5.1: the datamodels this processor supports.
            if dm != "ecmascript" && dm != "null" {
                self.problem(
                    e.start,
                    format!("<scxml> datamodel '{dm}' is not supported (expected 'ecmascript' or 'null')"),
                );
            }
            self.doc.datamodel = dm.to_string();
        }
        match e.attr("binding") {
            None | Some("early") => {}
            Some("late") => self.doc.binding = Binding::Late,
            Some(other) => self.problem(
                e.start,
                format!("<scxml> binding '{other}' is invalid (expected 'early' or 'late')"),
            ),
        }
        let root = self.new_state(e, StateKind::Root, None, 0);
        self.check_no_text(e);
        for c in e.elems() {
            if !c.scxml {
                continue;
            }
            match c.local.as_str() {
                "state" => {
                    self.build_state(c, Tag::State, root, 1);
                }
                "parallel" => {
                    self.build_state(c, Tag::Parallel, root, 1);
                }
                "final" => {
                    self.build_state(c, Tag::Final, root, 1);
                }
                "datamodel" => self.build_datamodel(c, root),
                "script" => {
                    let s = self.script(c);
                    self.doc.scripts.push(s);
                }
                _ => self.unexpected(c, e),
            }
        }
        // The 2009 working draft (and Genesys ORS) spell it `initialstate`.
        let attr = match (e.attr("initial"), e.attr("initialstate")) {
            (Some(a), Some(_)) => {
                self.problem(
                    e.start,
                    "<scxml> has both 'initial' and 'initialstate'".to_string(),
                );
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.set_compound_initial(root, e, attr, None);
        let end = StateId::try_from(self.doc.states.len()).unwrap_or(StateId::MAX);
        if let Some(s) = self.state_mut(root) {
            s.descendants_end = end;
        }
    }

    fn build_state(&mut self, e: &Elem, tag: Tag, parent: StateId, depth: u32) -> StateId {
        let kind = match tag {
            Tag::State => StateKind::Atomic,
            Tag::Parallel => StateKind::Parallel,
            Tag::Final => StateKind::Final,
            Tag::History => {
                let kind = match e.attr("type") {
                    None | Some("shallow") => HistoryKind::Shallow,
                    Some("deep") => HistoryKind::Deep,
                    Some(other) => {
                        let msg = format!(
                            "{} type '{other}' is invalid (expected 'shallow' or 'deep')",
                            e.desc()
                        );
                        self.problem(e.start, msg);
                        HistoryKind::Shallow
                    }
                };
                StateKind::History(kind)
            }
        };
        let sid = self.new_state(e, kind, Some(parent), depth);
        self.check_no_text(e);
        let mut initial_elem: Option<&Elem> = None;
        let mut has_child_states = false;
        let mut has_history = false;
        let mut history_transition: Option<&Elem> = None;
        let mut donedata_seen = false;
        for c in e.elems() {
            if !c.scxml {
                continue;
            }
            match (c.local.as_str(), tag) {
                ("onentry", Tag::State | Tag::Parallel | Tag::Final) => {
                    let block = self.block(c);
                    if let Some(s) = self.state_mut(sid) {
                        s.onentry.push(block);
                    }
                }
                ("onexit", Tag::State | Tag::Parallel | Tag::Final) => {
                    let block = self.block(c);
                    if let Some(s) = self.state_mut(sid) {
                        s.onexit.push(block);
                    }
                }
                ("transition", Tag::State | Tag::Parallel) => {
                    let t = self.build_transition(c, sid);
                    if let Some(s) = self.state_mut(sid) {
                        s.transitions.push(t);
                    }
                }
                ("transition", Tag::History) => {
                    if history_transition.is_some() {
                        let msg = format!("{} has more than one <transition>", e.desc());
                        self.problem(c.start, msg);
                    } else {
                        history_transition = Some(c);
                    }
                }
                ("initial", Tag::State) => {
                    if initial_elem.is_some() {
                        let msg = format!("{} has more than one <initial>", e.desc());
                        self.problem(c.start, msg);
                    } else {
                        initial_elem = Some(c);
                    }
                }
                ("state", Tag::State | Tag::Parallel) => {
                    has_child_states = true;
                    self.build_state(c, Tag::State, sid, depth + 1);
                }
                ("parallel", Tag::State | Tag::Parallel) => {
                    has_child_states = true;
                    self.build_state(c, Tag::Parallel, sid, depth + 1);
                }
                ("final", Tag::State) => {
                    has_child_states = true;
                    self.build_state(c, Tag::Final, sid, depth + 1);
                }
                ("history", Tag::State | Tag::Parallel) => {
                    has_history = true;
                    self.build_state(c, Tag::History, sid, depth + 1);
                }
                ("datamodel", Tag::State | Tag::Parallel) => self.build_datamodel(c, sid),
                ("invoke", Tag::State | Tag::Parallel) => {
                    let inv = self.build_invoke(c);
                    if let Some(s) = self.state_mut(sid) {
                        s.invokes.push(inv);
                    }
                }
                ("donedata", Tag::Final) => {
                    if donedata_seen {
                        let msg = format!("{} has more than one <donedata>", e.desc());
                        self.problem(c.start, msg);
                    }
                    donedata_seen = true;
                    let dd = self.build_donedata(c);
                    if let Some(s) = self.state_mut(sid) {
                        s.donedata = Some(dd);
                    }
                }
                _ => self.unexpected(c, e),
            }
        }
        match tag {
            Tag::State => {
                if has_child_states {
                    if let Some(s) = self.state_mut(sid) {
                        s.kind = StateKind::Compound;
                    }
                    self.set_compound_initial(sid, e, e.attr("initial"), initial_elem);
                } else {
                    if has_history {
                        let msg = format!("{} has <history> but no child states", e.desc());
                        self.problem(e.start, msg);
                    }
                    if e.attr("initial").is_some() {
                        let msg = format!(
                            "{} has an 'initial' attribute but no child states",
                            e.desc()
                        );
                        self.problem(e.start, msg);
                    }
                    if let Some(i) = initial_elem {
                        let msg = format!("{} has <initial> but no child states", e.desc());
                        self.problem(i.start, msg);
                    }
                }
            }
            Tag::Parallel => {
                if e.attr("initial").is_some() {
                    let msg = format!("{} cannot have an 'initial' attribute", e.desc());
                    self.problem(e.start, msg);
                }
            }
            Tag::Final => {}
            Tag::History => match history_transition {
                None => {
                    let msg = format!(
                        "{} must have a <transition> (its default history transition)",
                        e.desc()
                    );
                    self.problem(e.start, msg);
                }
                Some(t) => {
                    if t.attr("event").is_some() || t.attr("cond").is_some() {
                        let msg = format!(
                            "the default <transition> of {} cannot have 'event' or 'cond'",
                            e.desc()
                        );
                        self.problem(t.start, msg);
                    }
                    if t.attr("target").is_none_or(|v| v.trim().is_empty()) {
                        let msg = format!(
                            "the default <transition> of {} must have a 'target'",
                            e.desc()
                        );
                        self.problem(t.start, msg);
                    }
                    let tid = self.build_transition(t, sid);
                    if let Some(s) = self.state_mut(sid) {
                        s.initial = Some(tid);
                    }
                }
            },
        }
        let end = StateId::try_from(self.doc.states.len()).unwrap_or(StateId::MAX);
        if let Some(s) = self.state_mut(sid) {
            s.descendants_end = end;
        }
        sid
    }

    /// SCXML §3.6: the initial transition of a compound state (or the root) comes from the `initial`
    /// attribute, an `<initial>` child, or else the first child state in document order.
    fn set_compound_initial(
        &mut self,
        sid: StateId,
        e: &Elem,
        attr: Option<&str>,
        elem: Option<&Elem>,
    ) {
        let tid = match (attr, elem) {
            (Some(_), Some(i)) => {
                let msg = format!(
                    "{} has both an 'initial' attribute and an <initial> element",
                    e.desc()
                );
                self.problem(i.start, msg);
                self.initial_from_elem(sid, i, e)
            }
            (Some(a), None) => {
                let names: Vec<String> = a.split_whitespace().map(str::to_string).collect();
                if names.is_empty() {
                    let msg = format!("{} has an empty 'initial' attribute", e.desc());
                    self.problem(e.start, msg);
                }
                let what = format!("{} initial", e.desc());
                Some(self.synth_transition(sid, names, what, e.start, Vec::new()))
            }
            (None, Some(i)) => self.initial_from_elem(sid, i, e),
            (None, None) => {
                let first = self.doc.states.get(sid as usize).and_then(|s| {
                    s.children.iter().copied().find(|c| {
                        self.doc
                            .states
                            .get(*c as usize)
                            .is_some_and(|c| !c.is_history())
                    })
                });
                first.map(|first| {
                    let tid = self.push_transition(sid, e.start, Vec::new());
                    if let Some(t) = self.doc.transitions.get_mut(tid as usize) {
                        t.targets = vec![first];
                    }
                    tid
                })
            }
        };
        if let Some(s) = self.state_mut(sid) {
            s.initial = tid;
        }
    }

    fn initial_from_elem(&mut self, sid: StateId, i: &Elem, owner: &Elem) -> Option<TransitionId> {
        self.check_no_text(i);
        let mut transition: Option<&Elem> = None;
        for c in i.elems() {
            if !c.scxml {
                continue;
            }
            if c.local == "transition" && transition.is_none() {
                transition = Some(c);
            } else if c.local == "transition" {
                self.problem(
                    c.start,
                    format!(
                        "<initial> of {} has more than one <transition>",
                        owner.desc()
                    ),
                );
            } else {
                self.unexpected(c, i);
            }
        }
        let Some(t) = transition else {
            self.problem(
                i.start,
                format!("<initial> of {} must contain a <transition>", owner.desc()),
            );
            return None;
        };
        if t.attr("event").is_some() || t.attr("cond").is_some() {
            self.problem(
                t.start,
                format!(
                    "the <transition> in <initial> of {} cannot have 'event' or 'cond'",
                    owner.desc()
                ),
            );
        }
        if t.attr("target").is_none_or(|v| v.trim().is_empty()) {
            self.problem(
                t.start,
                format!(
                    "the <transition> in <initial> of {} must have a 'target'",
                    owner.desc()
                ),
            );
        }
        Some(self.build_transition(t, sid))
    }

    fn push_transition(&mut self, source: StateId, at: usize, actions: Block) -> TransitionId {
        let tid = TransitionId::try_from(self.doc.transitions.len()).unwrap_or(TransitionId::MAX);
        let pos = self.ctx.pos(at);
        self.doc.transitions.push(Transition {
            source,
            events: Vec::new(),
            cond: None,
            targets: Vec::new(),
            kind: TransitionKind::External,
            actions,
            pos,
        });
        tid
    }

    fn synth_transition(
        &mut self,
        source: StateId,
        names: Vec<String>,
        what: String,
        at: usize,
        actions: Block,
    ) -> TransitionId {
        let tid = self.push_transition(source, at, actions);
        self.pending.push(PendingTargets {
            transition: tid,
            names,
            what,
            at,
        });
        tid
    }

    fn build_transition(&mut self, e: &Elem, source: StateId) -> TransitionId {
        let events: Vec<EventDescriptor> = e
            .attr("event")
            .map(|ev| ev.split_whitespace().map(EventDescriptor::parse).collect())
            .unwrap_or_default();
        let cond = self.opt_expr(e, "cond", ExprKind::Cond);
        let kind = match e.attr("type") {
            None | Some("external") => TransitionKind::External,
            Some("internal") => TransitionKind::Internal,
            Some(other) => {
                self.problem(
                    e.start,
                    format!("<transition> type '{other}' is invalid (expected 'internal' or 'external')"),
                );
                TransitionKind::External
            }
        };
        let names: Vec<String> = e
            .attr("target")
            .map(|t| t.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let actions = self.block(e);
        let tid =
            self.synth_transition(source, names, "<transition>".to_string(), e.start, actions);
        if let Some(t) = self.doc.transitions.get_mut(tid as usize) {
            t.events = events;
            t.cond = cond;
            t.kind = kind;
        }
        tid
    }

    fn resolve_targets(&mut self) {
        let mut ids: HashMap<&str, StateId> = HashMap::new();
        for (i, s) in self.doc.states.iter().enumerate() {
            if s.kind != StateKind::Root {
                let i = StateId::try_from(i).unwrap_or(StateId::MAX);
                ids.entry(s.id.as_str()).or_insert(i);
            }
        }
        let mut problems = Vec::new();
        let mut resolved = Vec::new();
        for p in &self.pending {
            let mut targets = Vec::new();
            for n in &p.names {
                match ids.get(n.as_str()) {
                    Some(t) => targets.push(*t),
                    None => {
                        problems.push((p.at, format!("{} target '{n}' does not exist", p.what)))
                    }
                }
            }
            resolved.push((p.transition, targets));
        }
        for (tid, targets) in resolved {
            if let Some(t) = self.doc.transitions.get_mut(tid as usize) {
                t.targets = targets;
            }
        }
        for (at, msg) in problems {
            self.problem(at, msg);
        }
    }

    // ----- data

    fn build_datamodel(&mut self, e: &Elem, sid: StateId) {
        self.check_no_text(e);
        for c in e.elems() {
            if !c.scxml {
                continue;
            }
            if c.local != "data" {
                self.unexpected(c, e);
                continue;
            }
            let id = match c.attr("id") {
                Some(id) => id.to_string(),
                None => {
                    self.missing(c, "id");
                    String::new()
                }
            };
            let has_content = c.has_elem_children() || c.has_text();
            let given = [
                c.attr("expr").is_some(),
                c.attr("src").is_some(),
                has_content,
            ];
            if given.iter().filter(|g| **g).count() > 1 {
                let msg = format!(
                    "{} must have only one of 'expr', 'src' or child content",
                    c.desc()
                );
                self.problem(c.start, msg);
            }
            let value = if let Some(x) = self.opt_expr(c, "expr", ExprKind::Value) {
                DataValue::Expr(x)
            } else if let Some(src) = c.attr("src") {
                // SCXML §5.3: a src that cannot be fetched is error.execution when the data is bound,
                // not a load failure.
                match self.ctx.loader.load(src, self.ctx.base_uri) {
                    Ok((text, _)) => DataValue::Text(text),
                    Err(m) => {
                        DataValue::Unavailable(format!("data src '{src}' could not be loaded: {m}"))
                    }
                }
            } else if has_content {
                DataValue::Text(self.inline_text(c))
            } else {
                DataValue::None
            };
            let pos = self.ctx.pos(c.start);
            if let Some(s) = self.state_mut(sid) {
                s.data.push(Data { id, value, pos });
            }
        }
    }

    /// Child content as a string: the raw markup when there are element children, else the character data
    /// (references resolved), trimmed either way.
    fn inline_text(&self, e: &Elem) -> String {
        if e.has_elem_children() {
            self.ctx
                .text
                .get(e.inner_start..e.inner_end)
                .unwrap_or_default()
                .trim()
                .to_string()
        } else {
            e.text().trim().to_string()
        }
    }

    // ----- executable content

    fn block(&mut self, e: &Elem) -> Block {
        self.check_no_text(e);
        let mut out = Vec::new();
        for c in e.elems() {
            if let Some(a) = self.action(c, e) {
                out.push(a);
            }
        }
        out
    }

    fn action(&mut self, c: &Elem, parent: &Elem) -> Option<Action> {
        let pos = self.ctx.pos(c.start);
        if !c.scxml {
            return Some(Action::Custom(Box::new(CustomAction {
                namespace: c.ns.clone(),
                name: c.local.clone(),
                attrs: c.attrs.clone(),
                raw: self
                    .ctx
                    .text
                    .get(c.start..c.end)
                    .unwrap_or_default()
                    .to_string(),
                pos,
            })));
        }
        Some(match c.local.as_str() {
            "raise" => {
                self.expect_empty(c);
                let event = match c.attr("event") {
                    Some(ev) => ev.to_string(),
                    None => {
                        self.missing(c, "event");
                        String::new()
                    }
                };
                Action::Raise { event, pos }
            }
            "if" => self.build_if(c, pos),
            "foreach" => {
                let array = self.req_expr(c, "array", ExprKind::Value);
                let item = self.req_expr(c, "item", ExprKind::Location);
                let index = self.opt_expr(c, "index", ExprKind::Location);
                let body = self.block(c);
                Action::Foreach {
                    array,
                    item,
                    index,
                    body,
                    pos,
                }
            }
            "log" => {
                self.expect_empty(c);
                Action::Log {
                    label: c.attr("label").map(str::to_string),
                    expr: self.opt_expr(c, "expr", ExprKind::Value),
                    pos,
                }
            }
            "assign" => {
                let location = self.req_expr(c, "location", ExprKind::Location);
                let has_content = c.has_elem_children() || c.has_text();
                let value = match self.opt_expr(c, "expr", ExprKind::Value) {
                    Some(x) => {
                        if has_content {
                            let msg = format!("{} has both 'expr' and child content", c.desc());
                            self.problem(c.start, msg);
                        }
                        AssignValue::Expr(x)
                    }
                    None if has_content => AssignValue::Inline(self.inline_text(c)),
                    None => AssignValue::None,
                };
                Action::Assign {
                    location,
                    value,
                    pos,
                }
            }
            "script" => Action::Script {
                script: self.script(c),
                pos,
            },
            "send" => Action::Send(Box::new(self.build_send(c))),
            "cancel" => {
                self.expect_empty(c);
                let sendid = match self.str_or_expr(c, "sendid", "sendidexpr") {
                    Some(s) => s,
                    None => {
                        self.problem(
                            c.start,
                            "<cancel> requires 'sendid' or 'sendidexpr'".to_string(),
                        );
                        StrOrExpr::Str(String::new())
                    }
                };
                Action::Cancel { sendid, pos }
            }
            _ => {
                self.unexpected(c, parent);
                return None;
            }
        })
    }

    fn build_if(&mut self, c: &Elem, pos: Pos) -> Action {
        let cond = self.req_expr(c, "cond", ExprKind::Cond);
        let mut branches: Vec<(Option<ExprId>, Block)> = vec![(Some(cond), Vec::new())];
        let mut seen_else = false;
        self.check_no_text(c);
        for child in c.elems() {
            if child.is("elseif") || child.is("else") {
                if seen_else {
                    let msg = format!("<{}> after <else> in <if>", child.qname);
                    self.problem(child.start, msg);
                }
                if child.has_elem_children() || child.has_text() {
                    let msg = format!("<{}> must be empty", child.qname);
                    self.problem(child.start, msg);
                }
                if child.local == "elseif" {
                    let cond = self.req_expr(child, "cond", ExprKind::Cond);
                    branches.push((Some(cond), Vec::new()));
                } else {
                    seen_else = true;
                    branches.push((None, Vec::new()));
                }
                continue;
            }
            if let Some(a) = self.action(child, c) {
                if let Some((_, block)) = branches.last_mut() {
                    block.push(a);
                }
            }
        }
        Action::If { branches, pos }
    }

    fn script(&mut self, c: &Elem) -> ExprId {
        if c.has_elem_children() {
            let msg = format!("{} must contain only text", c.desc());
            self.problem(c.start, msg);
        }
        let inline = c.text();
        let has_inline = !is_xml_ws(&inline);
        match c.attr("src") {
            Some(src) => {
                if has_inline {
                    let msg = format!("{} has both 'src' and inline content", c.desc());
                    self.problem(c.start, msg);
                }
                // SCXML §5.8: a script src that cannot be fetched makes the document non-conformant.
                let text = match self.ctx.loader.load(src, self.ctx.base_uri) {
                    Ok((text, _)) => text,
                    Err(m) => {
                        let msg = format!("<script> src '{src}' could not be loaded: {m}");
                        self.problem(c.start, msg);
                        String::new()
                    }
                };
                self.expr(ExprKind::Script, &text, c.start)
            }
            None => self.expr(ExprKind::Script, &inline, c.start),
        }
    }

    fn build_param(&mut self, c: &Elem) -> Param {
        self.expect_empty(c);
        let name = match c.attr("name") {
            Some(n) => n.to_string(),
            None => {
                self.missing(c, "name");
                String::new()
            }
        };
        self.exclusive(c, "expr", "location");
        let value = if let Some(x) = self.opt_expr(c, "expr", ExprKind::Value) {
            ParamValue::Expr(x)
        } else if let Some(l) = self.opt_expr(c, "location", ExprKind::Location) {
            ParamValue::Location(l)
        } else {
            let msg = format!("<param name=\"{name}\"> requires 'expr' or 'location'");
            self.problem(c.start, msg);
            ParamValue::Expr(self.expr(ExprKind::Value, "", c.start))
        };
        Param {
            name,
            value,
            pos: self.ctx.pos(c.start),
        }
    }

    fn build_content(&mut self, c: &Elem) -> Content {
        let has_children = c.has_elem_children() || c.has_text();
        if let Some(x) = self.opt_expr(c, "expr", ExprKind::Value) {
            if has_children {
                self.problem(
                    c.start,
                    "<content> has both 'expr' and child content".to_string(),
                );
            }
            return Content::Expr(x);
        }
        let is_xml = c.has_elem_children();
        let raw = self.inline_text(c);
        let mut elems = c.elems();
        let (document, document_error) = match (elems.next(), elems.next()) {
            (Some(only), None) if only.is("scxml") && !c.has_text() => {
                // An inline child document (SCXML §6.4 <invoke>): built from the same tree, so its positions
                // are positions in this file and it inherits the namespaces declared around it. Its problems
                // are kept with it: they become error.execution when (and if) it is invoked.
                let before = self.ctx.problems.len();
                let built = build_document(self.ctx, only);
                let mut problems: Vec<Problem> = self.ctx.problems.drain(before..).collect();
                if let Some(d) = &built {
                    problems.extend(crate::validate::validate(d));
                }
                match built {
                    Some(d) if problems.is_empty() => (Some(Arc::new(d)), None),
                    _ => {
                        let text = problems
                            .iter()
                            .map(|p| format!("{}:{}: {}", p.pos.line, p.pos.col, p.message))
                            .collect::<Vec<_>>()
                            .join("; ");
                        let text = if text.is_empty() {
                            "the inline <scxml> document is not valid".to_string()
                        } else {
                            format!("the inline <scxml> document is not valid: {text}")
                        };
                        (None, Some(text))
                    }
                }
            }
            _ => (None, None),
        };
        Content::Inline(InlineContent {
            raw,
            document,
            document_error,
            is_xml,
        })
    }

    /// `<param>` and `<content>` children of `<send>`, `<invoke>` and `<donedata>`; `finalize` is given for
    /// `<invoke>` only.
    fn params_content(
        &mut self,
        e: &Elem,
        mut finalize: Option<&mut Option<Block>>,
    ) -> (Vec<Param>, Option<Content>) {
        self.check_no_text(e);
        let mut params = Vec::new();
        let mut content = None;
        for c in e.elems() {
            if !c.scxml {
                continue;
            }
            match c.local.as_str() {
                "param" => params.push(self.build_param(c)),
                "content" => {
                    if content.is_some() {
                        let msg = format!("{} has more than one <content>", e.desc());
                        self.problem(c.start, msg);
                    }
                    content = Some(self.build_content(c));
                }
                "finalize" if finalize.is_some() => {
                    let block = self.block(c);
                    if let Some(f) = finalize.as_deref_mut() {
                        if f.is_some() {
                            let msg = format!("{} has more than one <finalize>", e.desc());
                            self.problem(c.start, msg);
                        }
                        *f = Some(block);
                    }
                }
                _ => self.unexpected(c, e),
            }
        }
        (params, content)
    }

    fn build_send(&mut self, c: &Elem) -> Send {
        let event = self.str_or_expr(c, "event", "eventexpr");
        let target = self.str_or_expr(c, "target", "targetexpr");
        let type_ = self.str_or_expr(c, "type", "typeexpr");
        let delay = self.str_or_expr(c, "delay", "delayexpr");
        self.exclusive(c, "id", "idlocation");
        let id = c.attr("id").map(str::to_string);
        let idlocation = self.opt_expr(c, "idlocation", ExprKind::Location);
        let namelist = self.namelist(c);
        let (params, content) = self.params_content(c, None);
        if content.is_some() && (!namelist.is_empty() || !params.is_empty()) {
            let msg = format!(
                "{} cannot have <content> together with 'namelist' or <param>",
                c.desc()
            );
            self.problem(c.start, msg);
        }
        Send {
            event,
            target,
            type_,
            id,
            idlocation,
            delay,
            namelist,
            params,
            content,
            pos: self.ctx.pos(c.start),
        }
    }

    fn build_invoke(&mut self, c: &Elem) -> Invoke {
        let type_ = self.str_or_expr(c, "type", "typeexpr");
        let src = self.str_or_expr(c, "src", "srcexpr");
        self.exclusive(c, "id", "idlocation");
        let id = c.attr("id").map(str::to_string);
        let idlocation = self.opt_expr(c, "idlocation", ExprKind::Location);
        let namelist = self.namelist(c);
        let autoforward = match c.attr("autoforward") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                let msg = format!(
                    "{} autoforward '{other}' is invalid (expected 'true' or 'false')",
                    c.desc()
                );
                self.problem(c.start, msg);
                false
            }
        };
        let mut finalize = None;
        let (params, content) = self.params_content(c, Some(&mut finalize));
        if content.is_some() && src.is_some() {
            let msg = format!(
                "{} cannot have <content> together with 'src' or 'srcexpr'",
                c.desc()
            );
            self.problem(c.start, msg);
        }
        Invoke {
            type_,
            src,
            id,
            idlocation,
            namelist,
            autoforward,
            params,
            content,
            finalize: finalize.unwrap_or_default(),
            pos: self.ctx.pos(c.start),
        }
    }

    fn build_donedata(&mut self, c: &Elem) -> DoneData {
        let (params, content) = self.params_content(c, None);
        if content.is_some() && !params.is_empty() {
            self.problem(
                c.start,
                "<donedata> cannot have both <content> and <param>".to_string(),
            );
        }
        DoneData { content, params }
    }
}
