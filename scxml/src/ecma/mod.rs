//! The ECMAScript data model (SCXML §B.2) on boa_engine.
//!
//! One [`EcmaDataModel`] (one boa `Context`) serves every session on a thread. A session's
//! variables are the own properties of its scope object; the prototype of every scope is one
//! shared object holding `In()`. Expressions run as `function(__s){ with(__s){ ... } }`, so
//! free identifiers resolve to the session's variables first and to the ECMAScript globals
//! after. Each expression is compiled once per document per thread; the common small ones
//! (`n + 1`, `_event.data.pos`, `In('s')`) are evaluated natively by [`fast`] with boa's own
//! operators, which is several times cheaper than a call into the VM.

mod dom;
mod fast;
mod snapshot;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use boa_engine::object::builtins::{JsArray, JsFunction};
use boa_engine::property::PropertyDescriptor;
use boa_engine::string::JsStrVariant;
use boa_engine::{
    js_string, Context, JsError, JsObject, JsString, JsValue, NativeFunction, Source,
};

use crate::datamodel::{DataModel, DmResult, Env, Init};
use crate::event::{Event, Value};
use crate::interp::StateSet;
use crate::model::{Document, ExprId, ExprKind};

/// ECMAScript reserved words (ES2023 §12.7.2, with those reserved in strict mode): no variable
/// or option name may be one of them.
pub const RESERVED_WORDS: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Whether `word` is an ECMAScript reserved word.
pub fn is_reserved_word(word: &str) -> bool {
    RESERVED_WORDS.contains(&word)
}

/// Variables an expression may not assign (SCXML §5.10: system variables are read-only).
const SYSTEM_VARIABLES: [&str; 4] = ["_sessionid", "_name", "_ioprocessors", "_event"];

/// Loop iterations one script may run (per call frame) before it is stopped. boa raises an
/// uncatchable error, so a `while(true){}` ends with `error.execution` instead of stalling.
pub const DEFAULT_LOOP_LIMIT: u64 = 1_000_000;
/// Nested calls one script may make.
pub const DEFAULT_RECURSION_LIMIT: usize = 400;

enum Compiled {
    /// Evaluated natively; the boa function is compiled only if the fast path meets an
    /// identifier it cannot resolve (a global such as `Math`, or an undeclared name).
    Fast(fast::FastExpr, String, RefCell<Option<JsFunction>>),
    Js(JsFunction),
    /// The source does not compile; every evaluation raises this message.
    Error(String),
}

struct CompiledLocation {
    get: Compiled,
    set: LocationSetter,
    /// The first identifier of the location (`a` in `a.b[0]`), when it can be told.
    root: Option<String>,
}

enum LocationSetter {
    Fast(fast::FastLocation),
    Js(JsFunction),
    Error(String),
}

struct CompiledScript {
    func: Result<JsFunction, String>,
    /// Top-level `var` names: declared on the scope before the script runs, so the
    /// declaration assigns through the `with` object instead of a function-local.
    vars: Vec<JsString>,
}

enum Entry {
    Expr(Compiled),
    Location(CompiledLocation),
    Script(CompiledScript),
}

struct DocCache {
    /// Held so the document's address cannot be reused while it is a cache key.
    doc: Arc<Document>,
    entries: Vec<Option<Rc<Entry>>>,
    uses_event: Vec<bool>,
}

/// What native functions (`In()`, a host's globals) need to know about the session being
/// evaluated.
#[derive(Default)]
struct CallState {
    doc: Option<Arc<Document>>,
    configuration: StateSet,
    /// The id of the session whose code runs now.
    session: String,
}

/// Runs `f` with the id of the session whose code is running on this thread (empty outside
/// any session). Native functions a host adds to the context (`_genesys.*`) call this to learn
/// whose data they serve.
pub fn with_current_session<R>(f: impl FnOnce(&str) -> R) -> R {
    CALL.with(|c| f(&c.borrow().session))
}

thread_local! {
    /// Set before every call into boa; one data model (one Context) per thread reads it.
    static CALL: RefCell<CallState> = RefCell::new(CallState::default());
}

fn in_builtin(
    _this: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> boa_engine::JsResult<JsValue> {
    let id = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_string(ctx)?
        .to_std_string_escaped();
    let active = CALL.with(|c| {
        let st = c.borrow();
        st.doc.as_ref().is_some_and(|d| {
            d.find_state(&id)
                .is_some_and(|s| st.configuration.contains(s))
        })
    });
    Ok(JsValue::from(active))
}

/// A session's variables.
pub struct EcmaScope {
    obj: JsObject,
    /// The event `_event` was last bound to, so it is rebuilt only when the event changes.
    event: RefCell<Option<Rc<Event>>>,
}

impl std::fmt::Debug for EcmaScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcmaScope")
    }
}

/// The ECMAScript data model for all sessions of one thread.
pub struct EcmaDataModel {
    ctx: Context,
    proto: JsObject,
    docs: HashMap<usize, DocCache>,
    adhoc: HashMap<String, Rc<Entry>>,
    json_parse: JsFunction,
    dom: dom::DomBuilder,
    /// Snapshot restore: function factories by source text.
    factories: HashMap<String, JsFunction>,
    /// Declared variable names as ECMAScript strings (every session of a document declares
    /// the same ones).
    names: HashMap<Box<str>, JsString>,
}

impl std::fmt::Debug for EcmaDataModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcmaDataModel")
            .field("documents", &self.docs.len())
            .finish()
    }
}

/// At most this many declared variable names are kept as ECMAScript strings.
const MAX_NAMES: usize = 16_384;

/// A JavaScript string as Rust text: latin-1 and well-formed UTF-16 are copied directly; a
/// lone surrogate is written as `\uXXXX` (as [`JsString::to_std_string_escaped`] does).
pub(crate) fn std_string(s: &JsString) -> String {
    match s.variant() {
        JsStrVariant::Latin1(bytes) => {
            if bytes.is_ascii() {
                // ASCII is UTF-8 as it is.
                String::from_utf8(bytes.to_vec()).unwrap_or_default()
            } else {
                bytes.iter().map(|&b| char::from(b)).collect()
            }
        }
        JsStrVariant::Utf16(units) => match String::from_utf16(units) {
            Ok(text) => text,
            Err(_) => s.to_std_string_escaped(),
        },
    }
}

/// The error's first line (`TypeError: x is undefined`), without boa's stack trace.
fn js_err(e: JsError) -> String {
    let s = e.to_string();
    match s.split_once('\n') {
        Some((first, _)) => first.to_string(),
        None => s,
    }
}

impl Default for EcmaDataModel {
    fn default() -> Self {
        Self::new()
    }
}

impl EcmaDataModel {
    pub fn new() -> EcmaDataModel {
        Self::with_limits(DEFAULT_LOOP_LIMIT, DEFAULT_RECURSION_LIMIT)
    }

    pub fn with_limits(loop_limit: u64, recursion_limit: usize) -> EcmaDataModel {
        let mut ctx = Context::default();
        ctx.runtime_limits_mut()
            .set_loop_iteration_limit(loop_limit);
        ctx.runtime_limits_mut()
            .set_recursion_limit(recursion_limit);
        let proto = JsObject::with_null_proto();
        let in_fn = NativeFunction::from_fn_ptr(in_builtin);
        let in_obj = boa_engine::object::FunctionObjectBuilder::new(ctx.realm(), in_fn)
            .name(js_string!("In"))
            .length(1)
            .build();
        let _ = proto.define_property_or_throw(
            js_string!("In"),
            PropertyDescriptor::builder()
                .value(in_obj)
                .writable(false)
                .enumerable(false)
                .configurable(false),
            &mut ctx,
        );
        #[allow(clippy::expect_used)]
        let json_parse = compile_fn(&mut ctx, "JSON.parse")
            .expect("JSON.parse is an intrinsic of every boa context");
        let dom = dom::DomBuilder::new(&mut ctx);
        EcmaDataModel {
            ctx,
            proto,
            docs: HashMap::new(),
            adhoc: HashMap::new(),
            json_parse,
            dom,
            factories: HashMap::new(),
            names: HashMap::new(),
        }
    }

    /// The boa context (for hosts that add globals).
    pub fn context(&mut self) -> &mut Context {
        &mut self.ctx
    }

    /// Collects this thread's ECMAScript garbage now. boa collects when its heap passes a
    /// threshold that only grows, so under load each collection sweeps a large heap of dead
    /// session objects at once (a pause of several milliseconds on the host); collecting
    /// often keeps each pause short (about a millisecond with a few hundred live sessions).
    pub fn collect_garbage(&mut self) {
        boa_engine::gc::force_collect();
    }

    /// Drops compiled code of documents no session uses any more.
    pub fn collect_unused_documents(&mut self) {
        self.docs.retain(|_, c| Arc::strong_count(&c.doc) > 1);
    }

    fn entry(&mut self, doc: &Arc<Document>, id: ExprId) -> Rc<Entry> {
        let key = Arc::as_ptr(doc) as usize;
        let cache = self.docs.entry(key).or_insert_with(|| DocCache {
            doc: doc.clone(),
            entries: vec![None; doc.exprs.len()],
            uses_event: doc.exprs.iter().map(|e| e.src.contains("_event")).collect(),
        });
        let i = id.0 as usize;
        if let Some(Some(e)) = cache.entries.get(i) {
            return e.clone();
        }
        let src = &doc.expr(id);
        let entry = Rc::new(compile(&mut self.ctx, src.kind, &src.src));
        if let Some(slot) = self.docs.get_mut(&key).and_then(|c| c.entries.get_mut(i)) {
            *slot = Some(entry.clone());
        }
        entry
    }

    fn uses_event(&self, doc: &Arc<Document>, id: ExprId) -> bool {
        self.docs
            .get(&(Arc::as_ptr(doc) as usize))
            .and_then(|c| c.uses_event.get(id.0 as usize).copied())
            .unwrap_or(true)
    }

    /// Makes `_event` (and `_ioprocessors`) current before code that may read them runs.
    fn prepare(&mut self, scope: &EcmaScope, env: &Env, need_event: bool, boa_path: bool) {
        CALL.with(|c| {
            let mut st = c.borrow_mut();
            if st.session != env.session_id {
                st.session.clear();
                st.session.push_str(env.session_id);
            }
        });
        if need_event || boa_path {
            let stale = {
                let cur = scope.event.borrow();
                match (&*cur, env.event) {
                    (Some(a), Some(b)) => !Rc::ptr_eq(a, b),
                    (None, None) => false,
                    _ => true,
                }
            };
            if stale {
                *scope.event.borrow_mut() = env.event.cloned();
                if let Some(ev) = env.event {
                    let obj = self.event_object(ev);
                    let _ = scope.obj.define_property_or_throw(
                        js_string!("_event"),
                        PropertyDescriptor::builder()
                            .value(obj)
                            .writable(false)
                            .enumerable(true)
                            .configurable(true),
                        &mut self.ctx,
                    );
                }
            }
        }
        if boa_path {
            CALL.with(|c| {
                let mut st = c.borrow_mut();
                if !st.doc.as_ref().is_some_and(|d| Arc::ptr_eq(d, env.doc)) {
                    st.doc = Some(env.doc.clone());
                }
                st.configuration.clone_from(env.configuration);
            });
            self.ensure_ioprocessors(scope, env);
        }
    }

    fn ensure_ioprocessors(&mut self, scope: &EcmaScope, env: &Env) {
        let key = js_string!("_ioprocessors");
        if scope
            .obj
            .has_own_property(key.clone(), &mut self.ctx)
            .unwrap_or(true)
        {
            return;
        }
        let procs = JsObject::with_object_proto(self.ctx.intrinsics());
        for (ty, loc) in env.ioprocessors {
            let entry = JsObject::with_object_proto(self.ctx.intrinsics());
            let _ = entry.create_data_property_or_throw(
                js_string!("location"),
                JsString::from(loc.as_str()),
                &mut self.ctx,
            );
            let _ = procs.create_data_property_or_throw(
                JsString::from(ty.as_str()),
                entry,
                &mut self.ctx,
            );
        }
        let _ = scope.obj.define_property_or_throw(
            key,
            PropertyDescriptor::builder()
                .value(procs)
                .writable(false)
                .enumerable(true)
                .configurable(false),
            &mut self.ctx,
        );
    }

    /// Converts a host value into an ECMAScript value; XML becomes a DOM (SCXML §B.2).
    pub fn to_js(&mut self, v: &Value) -> JsValue {
        match v {
            Value::Xml(xml) => self
                .dom
                .build(xml, &mut self.ctx)
                .unwrap_or_else(|| JsString::from(xml.as_str()).into()),
            Value::Array(items) => {
                let vals: Vec<JsValue> = items.iter().map(|i| self.to_js(i)).collect();
                JsArray::from_iter(vals, &mut self.ctx).into()
            }
            Value::Object(props) => {
                let o = JsObject::with_object_proto(self.ctx.intrinsics());
                for (k, pv) in props {
                    let jv = self.to_js(pv);
                    let _ = o.create_data_property_or_throw(
                        JsString::from(k.as_str()),
                        jv,
                        &mut self.ctx,
                    );
                }
                o.into()
            }
            other => to_js_plain(other, &mut self.ctx),
        }
    }

    fn event_object(&mut self, ev: &Event) -> JsObject {
        let data = self.to_js(&ev.data);
        let ctx = &mut self.ctx;
        let o = JsObject::with_object_proto(ctx.intrinsics());
        let opt = |s: &Option<String>| -> JsValue {
            s.as_deref()
                .map(|s| JsValue::from(JsString::from(s)))
                .unwrap_or_default()
        };
        let fields: [(&str, JsValue); 8] = [
            ("name", JsString::from(ev.name.as_str()).into()),
            ("type", JsString::from(ev.kind.as_str()).into()),
            ("sendid", opt(&ev.sendid)),
            ("origin", opt(&ev.origin)),
            ("origintype", opt(&ev.origintype)),
            ("invokeid", opt(&ev.invokeid)),
            ("data", data),
            ("raw", opt(&ev.raw)),
        ];
        for (k, v) in fields {
            let _ = o.define_property_or_throw(
                JsString::from(k),
                PropertyDescriptor::builder()
                    .value(v)
                    .writable(false)
                    .enumerable(true)
                    .configurable(false),
                ctx,
            );
        }
        o
    }

    fn eval_compiled(&mut self, scope: &EcmaScope, env: &Env, c: &Compiled) -> DmResult<JsValue> {
        match c {
            Compiled::Fast(f, src, fallback) => {
                let in_state = |id: &str| env.in_state(id);
                match f.eval(&scope.obj, &in_state, &mut self.ctx) {
                    Ok(v) => Ok(v),
                    Err(fast::FastError::Thrown(e)) => Err(js_err(e)),
                    Err(fast::FastError::Unresolved) => {
                        // Nothing was evaluated yet: let boa decide, with its exact semantics.
                        let cached = fallback.borrow().clone();
                        let func = match cached {
                            Some(f) => f,
                            None => {
                                let f = compile_expr_fn(&mut self.ctx, src)?;
                                *fallback.borrow_mut() = Some(f.clone());
                                f
                            }
                        };
                        self.prepare(scope, env, true, true);
                        self.call_fn(&func, scope, None)
                    }
                }
            }
            Compiled::Js(func) => {
                self.prepare(scope, env, true, true);
                self.call_fn(func, scope, None)
            }
            Compiled::Error(e) => Err(e.clone()),
        }
    }

    fn call_fn(
        &mut self,
        f: &JsFunction,
        scope: &EcmaScope,
        arg: Option<JsValue>,
    ) -> DmResult<JsValue> {
        let args = match arg {
            None => vec![scope.obj.clone().into()],
            Some(v) => vec![scope.obj.clone().into(), v],
        };
        let r = f
            .call(&JsValue::undefined(), &args, &mut self.ctx)
            .map_err(js_err);
        // Promise jobs queued by a script run before control returns to the interpreter.
        let _ = self.ctx.run_jobs();
        r
    }

    fn value_js(&mut self, scope: &EcmaScope, env: &Env, expr: ExprId) -> DmResult<JsValue> {
        let entry = self.entry(env.doc, expr);
        let need_event = self.uses_event(env.doc, expr);
        self.prepare(scope, env, need_event, false);
        match &*entry {
            Entry::Expr(c) => self.eval_compiled(scope, env, c),
            Entry::Location(l) => self.eval_compiled(scope, env, &l.get),
            Entry::Script(_) => Err("a script is not an expression".into()),
        }
    }

    fn init_js(&mut self, scope: &EcmaScope, env: &Env, init: Init) -> DmResult<JsValue> {
        match init {
            Init::Undefined => Ok(JsValue::undefined()),
            Init::Expr(e) => self.value_js(scope, env, e),
            Init::Value(v) => Ok(self.to_js(v)),
            Init::Text(t) => Ok(self.text_value(t)),
        }
    }

    /// SCXML §B.2.2: inline or loaded data is JSON if it parses as JSON, an XML document if
    /// it is markup, otherwise a space-normalised string.
    fn text_value(&mut self, text: &str) -> JsValue {
        let t = text.trim();
        if t.is_empty() {
            return JsValue::undefined();
        }
        if let Ok(v) = self.json_parse.call(
            &JsValue::undefined(),
            &[JsString::from(t).into()],
            &mut self.ctx,
        ) {
            return v;
        }
        if t.starts_with('<') {
            if let Some(v) = self.dom.build(t, &mut self.ctx) {
                return v;
            }
        }
        JsString::from(t.split_whitespace().collect::<Vec<_>>().join(" ").as_str()).into()
    }

    fn set_location(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        location: ExprId,
        value: JsValue,
    ) -> DmResult<()> {
        let entry = self.entry(env.doc, location);
        let Entry::Location(loc) = &*entry else {
            return Err("not a location".into());
        };
        let need_event = self.uses_event(env.doc, location);
        let src = env.doc.expr(location).src.clone();
        self.set_compiled(scope, env, loc, &src, need_event, value)
    }

    fn set_compiled(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        loc: &CompiledLocation,
        src: &str,
        need_event: bool,
        value: JsValue,
    ) -> DmResult<()> {
        if let Some(root) = &loc.root {
            if SYSTEM_VARIABLES.contains(&root.as_str()) {
                return Err(format!("'{root}' is a read-only system variable"));
            }
        }
        self.prepare(scope, env, need_event, false);
        match &loc.set {
            LocationSetter::Fast(f) => {
                let in_state = |id: &str| env.in_state(id);
                match f.assign(&scope.obj, value, &in_state, &mut self.ctx) {
                    Ok(()) => Ok(()),
                    Err(fast::FastError::Unresolved) if f.is_identifier() => Err(format!(
                        "'{}' is not a declared variable",
                        f.root_identifier()
                    )),
                    Err(fast::FastError::Unresolved) => Err(format!(
                        "cannot assign to '{}': '{}' is not a declared variable",
                        src.trim(),
                        f.root_identifier()
                    )),
                    Err(fast::FastError::Thrown(e)) => Err(js_err(e)),
                }
            }
            LocationSetter::Js(func) => {
                self.prepare(scope, env, true, true);
                self.call_fn(func, scope, Some(value)).map(|_| ())
            }
            LocationSetter::Error(e) => Err(e.clone()),
        }
    }
}

fn compile_fn(ctx: &mut Context, src: &str) -> Result<JsFunction, String> {
    let v = ctx.eval(Source::from_bytes(src)).map_err(js_err)?;
    v.as_object()
        .and_then(|o| JsFunction::from_object(o.clone()))
        .ok_or_else(|| "compiled code is not a function".to_string())
}

fn compile_expr_fn(ctx: &mut Context, src: &str) -> DmResult<JsFunction> {
    // The newline keeps a trailing `//` comment from swallowing the closing parenthesis.
    compile_fn(
        ctx,
        &format!("(function(__s){{with(__s){{return ({src}\n);}}}})"),
    )
}

fn compile_value(ctx: &mut Context, src: &str) -> Compiled {
    // `expr="new testobject();"`: a trailing semicolon is common in hand-written documents.
    let src = src.trim().trim_end_matches(';').trim_end();
    if src.is_empty() {
        return Compiled::Error("empty expression".into());
    }
    if let Some(f) = fast::compile_expr(src) {
        return Compiled::Fast(f, src.to_string(), RefCell::new(None));
    }
    match compile_expr_fn(ctx, src) {
        Ok(f) => Compiled::Js(f),
        Err(e) => Compiled::Error(format!("invalid expression '{src}': {e}")),
    }
}

fn compile(ctx: &mut Context, kind: ExprKind, src: &str) -> Entry {
    match kind {
        ExprKind::Value | ExprKind::Cond => Entry::Expr(compile_value(ctx, src)),
        ExprKind::Location => {
            let get = compile_value(ctx, src);
            let trimmed = src.trim();
            let root_len = trimmed
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(trimmed.len());
            let root = (root_len > 0).then(|| trimmed[..root_len].to_string());
            let set = if trimmed.is_empty() {
                LocationSetter::Error("empty location".into())
            } else if let Some(f) = fast::compile_location(src) {
                LocationSetter::Fast(f)
            } else {
                match compile_fn(
                    ctx,
                    &format!("(function(__s,__v){{with(__s){{({src}\n) = __v;}}}})"),
                ) {
                    Ok(f) => LocationSetter::Js(f),
                    Err(e) => LocationSetter::Error(format!("invalid location '{src}': {e}")),
                }
            };
            Entry::Location(CompiledLocation { get, set, root })
        }
        ExprKind::Script => Entry::Script(compile_script(ctx, src)),
    }
}

fn compile_script(ctx: &mut Context, src: &str) -> CompiledScript {
    use boa_engine::ast::operations::{lexically_declared_names, var_declared_names};
    use boa_engine::ast::scope::Scope;
    use boa_engine::parser::Parser;

    let parsed = {
        let mut parser = Parser::new(Source::from_bytes(src));
        parser.parse_script(&Scope::new_global(), ctx.interner_mut())
    };
    let script = match parsed {
        Ok(s) => s,
        Err(e) => {
            return CompiledScript {
                func: Err(format!("invalid script: {e}")),
                vars: Vec::new(),
            }
        }
    };
    let resolve = |ctx: &Context, sym| {
        ctx.interner()
            .resolve(sym)
            .map(|s| s.to_string())
            .unwrap_or_default()
    };
    let mut vars: Vec<String> = var_declared_names(&script)
        .into_iter()
        .map(|s| resolve(ctx, s))
        .collect();
    vars.sort();
    let lexical: Vec<String> = lexically_declared_names(&script)
        .into_iter()
        .map(|s| resolve(ctx, s))
        .collect();
    // SCXML §5.8: a script runs in the global scope. Top-level `var`s are pre-declared on the
    // scope; functions and lexical declarations are block-scoped inside `with`, so they are
    // copied to the scope at the end.
    let mut exports = String::new();
    for name in lexical.iter().chain(vars.iter()) {
        if !name.is_empty() {
            exports.push_str(&format!("__s.{name}={name};"));
        }
    }
    let func = compile_fn(
        ctx,
        &format!("(function(__s){{with(__s){{{src}\n;{exports}}}}})"),
    );
    CompiledScript {
        func,
        vars: vars.iter().map(|v| JsString::from(v.as_str())).collect(),
    }
}

impl DataModel for EcmaDataModel {
    type Scope = EcmaScope;
    type Items = Vec<JsValue>;

    fn supports(&self, name: &str) -> bool {
        name == "ecmascript"
    }

    fn create_scope(&mut self, env: &Env) -> EcmaScope {
        // A shared shape: sessions of one document declare the same variables in the same
        // order, so they all walk one chain of shapes (boa's hidden classes) and a session
        // stores only its values, not a property table of its own.
        let obj = boa_engine::object::ObjectInitializer::with_native_data_and_proto(
            boa_engine::builtins::object::OrdinaryObject,
            self.proto.clone(),
            &mut self.ctx,
        )
        .build();
        for (k, v) in [("_sessionid", env.session_id), ("_name", env.name)] {
            let _ = obj.define_property_or_throw(
                JsString::from(k),
                PropertyDescriptor::builder()
                    .value(JsString::from(v))
                    .writable(false)
                    .enumerable(true)
                    .configurable(false),
                &mut self.ctx,
            );
        }
        EcmaScope {
            obj,
            event: RefCell::new(None),
        }
    }

    fn declare(&mut self, scope: &EcmaScope, env: &Env, id: &str, init: Init) -> DmResult<()> {
        let v = self.init_js(scope, env, init)?;
        let name = match self.names.get(id) {
            Some(name) => name.clone(),
            None => {
                if self.names.len() >= MAX_NAMES {
                    self.names.clear();
                }
                let name = JsString::from(id);
                self.names.insert(id.into(), name.clone());
                name
            }
        };
        scope
            .obj
            .define_property_or_throw(
                name,
                PropertyDescriptor::builder()
                    .value(v)
                    .writable(true)
                    .enumerable(true)
                    .configurable(true),
                &mut self.ctx,
            )
            .map(|_| ())
            .map_err(js_err)
    }

    fn eval(&mut self, scope: &EcmaScope, env: &Env, expr: ExprId) -> DmResult<Value> {
        let v = self.value_js(scope, env, expr)?;
        from_js(&v, &mut self.ctx)
    }

    fn eval_string(&mut self, scope: &EcmaScope, env: &Env, expr: ExprId) -> DmResult<String> {
        let v = self.value_js(scope, env, expr)?;
        v.to_string(&mut self.ctx)
            .map(|s| std_string(&s))
            .map_err(js_err)
    }

    fn eval_cond(&mut self, scope: &EcmaScope, env: &Env, expr: ExprId) -> DmResult<bool> {
        Ok(self.value_js(scope, env, expr)?.to_boolean())
    }

    fn assign(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        location: ExprId,
        value: Init,
    ) -> DmResult<()> {
        let v = self.init_js(scope, env, value)?;
        self.set_location(scope, env, location, v)
    }

    fn exec_script(&mut self, scope: &EcmaScope, env: &Env, script: ExprId) -> DmResult<()> {
        let entry = self.entry(env.doc, script);
        let Entry::Script(s) = &*entry else {
            return Err("not a script".into());
        };
        let func = s.func.clone()?;
        for v in &s.vars {
            if !scope
                .obj
                .has_property(v.clone(), &mut self.ctx)
                .map_err(js_err)?
            {
                scope
                    .obj
                    .set(v.clone(), JsValue::undefined(), false, &mut self.ctx)
                    .map_err(js_err)?;
            }
        }
        self.prepare(scope, env, true, true);
        self.call_fn(&func, scope, None).map(|_| ())
    }

    fn items(&mut self, scope: &EcmaScope, env: &Env, array: ExprId) -> DmResult<Vec<JsValue>> {
        let v = self.value_js(scope, env, array)?;
        let Some(obj) = v.as_object() else {
            return Err(format!(
                "<foreach> array '{}' is not an array",
                env.doc.expr(array).src
            ));
        };
        if !obj.is_array() {
            return Err(format!(
                "<foreach> array '{}' is not an array",
                env.doc.expr(array).src
            ));
        }
        let arr = JsArray::from_object(obj.clone()).map_err(js_err)?;
        let len = arr.length(&mut self.ctx).map_err(js_err)?;
        // SCXML §4.6: iterate over a shallow copy, so changes made by the body do not count.
        (0..len)
            .map(|i| arr.get(i, &mut self.ctx).map_err(js_err))
            .collect()
    }

    fn item_count(&self, items: &Vec<JsValue>) -> usize {
        items.len()
    }

    fn assign_item(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        items: &Vec<JsValue>,
        i: usize,
        item: ExprId,
        index: Option<ExprId>,
    ) -> DmResult<()> {
        let value = items.get(i).cloned().unwrap_or_default();
        self.declare_or_set(scope, env, item, value)?;
        if let Some(index) = index {
            self.declare_or_set(scope, env, index, JsValue::from(i as f64))?;
        }
        Ok(())
    }

    fn content_value(&mut self, text: &str, is_xml: bool) -> Value {
        let t = text.trim();
        if let Ok(v) = self.json_parse.call(
            &JsValue::undefined(),
            &[JsString::from(t).into()],
            &mut self.ctx,
        ) {
            if let Ok(v) = from_js(&v, &mut self.ctx) {
                return v;
            }
        }
        if is_xml && parse_is_xml(t) {
            return Value::Xml(t.to_string());
        }
        if t.starts_with('{') || t.starts_with('[') {
            // Content written in the document itself may be an ECMAScript literal rather than
            // strict JSON (`{ productName : "bar" }`). Never applied to data from outside.
            if let Ok(f) = compile_fn(&mut self.ctx, &format!("(function(){{return ({t}\n);}})")) {
                if let Ok(v) = f.call(&JsValue::undefined(), &[], &mut self.ctx) {
                    if let Ok(v) = from_js(&v, &mut self.ctx) {
                        return v;
                    }
                }
            }
        }
        Value::String(t.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn eval_source(&mut self, scope: &EcmaScope, env: &Env, src: &str) -> DmResult<Value> {
        let entry = match self.adhoc.get(src) {
            Some(e) => e.clone(),
            None => {
                let e = Rc::new(Entry::Expr(compile_value(&mut self.ctx, src)));
                if self.adhoc.len() > 4096 {
                    self.adhoc.clear();
                }
                self.adhoc.insert(src.to_string(), e.clone());
                e
            }
        };
        self.prepare(scope, env, true, false);
        let Entry::Expr(c) = &*entry else {
            return Err("not an expression".into());
        };
        let v = self.eval_compiled(scope, env, c)?;
        from_js(&v, &mut self.ctx)
    }

    fn assign_source(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        location: &str,
        value: &Value,
    ) -> DmResult<()> {
        let key = format!("\u{1}location:{location}");
        let entry = match self.adhoc.get(&key) {
            Some(e) => e.clone(),
            None => {
                let e = Rc::new(compile(&mut self.ctx, ExprKind::Location, location));
                if self.adhoc.len() > 4096 {
                    self.adhoc.clear();
                }
                self.adhoc.insert(key, e.clone());
                e
            }
        };
        let Entry::Location(loc) = &*entry else {
            return Err("not a location".into());
        };
        let v = self.to_js(value);
        self.set_compiled(scope, env, loc, location, true, v)
    }

    fn snapshot_scope(&mut self, scope: &EcmaScope, _env: &Env) -> DmResult<String> {
        snapshot::encode(&mut self.ctx, &scope.obj, &SYSTEM_VARIABLES)
    }

    fn restore_scope(&mut self, env: &Env, text: &str) -> DmResult<EcmaScope> {
        let scope = self.create_scope(env);
        let vars = snapshot::Decoder {
            json_parse: &self.json_parse,
            scope: &scope.obj,
            factories: &mut self.factories,
            dom: &self.dom,
        }
        .decode(text, &mut self.ctx)?;
        for (k, v) in vars {
            scope
                .obj
                .define_property_or_throw(
                    k,
                    PropertyDescriptor::builder()
                        .value(v)
                        .writable(true)
                        .enumerable(true)
                        .configurable(true),
                    &mut self.ctx,
                )
                .map_err(js_err)?;
        }
        Ok(scope)
    }
}

impl EcmaDataModel {
    /// `<foreach>` `item`/`index`: SCXML §4.6 declares a new variable when it is not already
    /// declared; the name must be a legal variable name.
    fn declare_or_set(
        &mut self,
        scope: &EcmaScope,
        env: &Env,
        loc: ExprId,
        v: JsValue,
    ) -> DmResult<()> {
        let name = env.doc.expr(loc).src.trim();
        if is_identifier(name) {
            if SYSTEM_VARIABLES.contains(&name) {
                return Err(format!("'{name}' is a read-only system variable"));
            }
            return scope
                .obj
                .set(JsString::from(name), v, true, &mut self.ctx)
                .map(|_| ())
                .map_err(js_err);
        }
        Err(format!("'{name}' is not a legal variable name"))
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !is_reserved_word(s)
}

/// Converts a host value into an ECMAScript value; XML stays a string (see
/// [`EcmaDataModel::to_js`] for the DOM).
pub fn to_js_plain(v: &Value, ctx: &mut Context) -> JsValue {
    match v {
        Value::Undefined => JsValue::undefined(),
        Value::Null => JsValue::null(),
        Value::Bool(b) => JsValue::from(*b),
        Value::Number(n) => JsValue::from(*n),
        Value::String(s) | Value::Xml(s) => JsString::from(s.as_str()).into(),
        Value::Array(items) => {
            let vals: Vec<JsValue> = items.iter().map(|i| to_js_plain(i, ctx)).collect();
            JsArray::from_iter(vals, ctx).into()
        }
        Value::Object(props) => {
            let o = JsObject::with_object_proto(ctx.intrinsics());
            for (k, pv) in props {
                let jv = to_js_plain(pv, ctx);
                let _ = o.create_data_property_or_throw(JsString::from(k.as_str()), jv, ctx);
            }
            o.into()
        }
    }
}

/// At most this many values are converted out of the data model in one go.
const MAX_CONVERTED_VALUES: usize = 100_000;

/// Converts an ECMAScript value to a host value: own enumerable properties; functions become
/// `undefined`; a DOM node becomes its markup. A value reached again through its own
/// ancestors (a cycle) is an error, and so is a value of more than 100,000 parts or deeper
/// than 64 levels, so a shared or cyclic structure cannot blow up memory.
pub fn from_js(v: &JsValue, ctx: &mut Context) -> DmResult<Value> {
    let mut conv = Conversion {
        path: Vec::new(),
        budget: MAX_CONVERTED_VALUES,
    };
    conv.value(v, ctx)
}

struct Conversion {
    /// Objects being converted, outermost first (for the cycle check).
    path: Vec<JsObject>,
    budget: usize,
}

impl Conversion {
    fn value(&mut self, v: &JsValue, ctx: &mut Context) -> DmResult<Value> {
        if self.budget == 0 {
            return Err(format!(
                "the value has more than {MAX_CONVERTED_VALUES} parts and cannot leave the data model"
            ));
        }
        self.budget -= 1;
        if v.is_undefined() {
            return Ok(Value::Undefined);
        }
        if v.is_null() {
            return Ok(Value::Null);
        }
        if let Some(b) = v.as_boolean() {
            return Ok(Value::Bool(b));
        }
        if let Some(n) = v.as_number() {
            return Ok(Value::Number(n));
        }
        if let Some(s) = v.as_string() {
            return Ok(Value::String(std_string(&s)));
        }
        let Some(obj) = v.as_object() else {
            return Ok(v
                .to_string(ctx)
                .map(|s| Value::String(std_string(&s)))
                .unwrap_or_default());
        };
        if obj.is_callable() {
            return Ok(Value::Undefined);
        }
        if self.path.iter().any(|o| JsObject::equals(o, &obj)) {
            return Err("the value contains a cycle and cannot leave the data model".into());
        }
        if self.path.len() >= 64 {
            return Err("the value is nested more than 64 levels deep".into());
        }
        if let Some(xml) = dom_markup(&obj, ctx) {
            return Ok(Value::Xml(xml));
        }
        self.path.push(obj.clone());
        let r = self.object(&obj, ctx);
        self.path.pop();
        r
    }

    fn object(&mut self, obj: &JsObject, ctx: &mut Context) -> DmResult<Value> {
        if obj.is_array() {
            let len = obj
                .get(js_string!("length"), ctx)
                .and_then(|l| l.to_length(ctx))
                .unwrap_or(0);
            if len as usize > self.budget {
                return Err(format!(
                    "the value has more than {MAX_CONVERTED_VALUES} parts and cannot leave the data model"
                ));
            }
            let mut items = Vec::with_capacity(len as usize);
            for i in 0..len {
                let item = obj.get(i, ctx).unwrap_or_default();
                items.push(self.value(&item, ctx)?);
            }
            return Ok(Value::Array(items));
        }
        // Object.entries: own enumerable string-keyed properties, in property order.
        let entries = snapshot::own_entries(obj, ctx)?;
        let mut props = Vec::with_capacity(entries.len());
        for (name, pv) in entries {
            props.push((name, self.value(&pv, ctx)?));
        }
        Ok(Value::Object(props))
    }
}

/// Whether `text` is well-formed XML markup.
fn parse_is_xml(text: &str) -> bool {
    dom::is_well_formed(text)
}

/// The markup of a DOM node built by [`dom`] (it has `nodeType` and a `toXML` method).
fn dom_markup(obj: &JsObject, ctx: &mut Context) -> Option<String> {
    // Nodes carry `nodeType` themselves; most objects are not nodes, so look there first.
    if obj.is_ordinary()
        && !obj
            .borrow()
            .properties()
            .contains_key(&js_string!("nodeType").into())
    {
        return None;
    }
    let node_type = obj.get(js_string!("nodeType"), ctx).ok()?;
    node_type.as_number()?;
    let to_xml = obj.get(js_string!("toXML"), ctx).ok()?;
    let f = to_xml.as_object().and_then(JsFunction::from_object)?;
    let s = f.call(&obj.clone().into(), &[], ctx).ok()?;
    s.as_string().map(|s| std_string(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_leave_the_data_model_as_they_were_written() {
        // ASCII and latin-1 (boa keeps both one byte a character), UTF-16 beyond latin-1.
        for text in [
            "plain ascii",
            "café crème",
            "日本語 and ascii",
            "emoji 🎉",
            "",
        ] {
            assert_eq!(std_string(&JsString::from(text)), text);
        }
        // A lone surrogate has no UTF-8 form: written as boa writes it.
        let lone = JsString::from(&[0x61u16, 0xD800, 0x62][..]);
        assert_eq!(std_string(&lone), lone.to_std_string_escaped());
        assert!(std_string(&lone).starts_with('a'));
    }
}
