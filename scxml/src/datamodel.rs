//! The data model contract between the interpreter and an expression language, plus the
//! null data model (SCXML §B.1).
//!
//! A data model instance is shared by every session on one thread; each session owns only its
//! [`DataModel::Scope`]. Every call gets an [`Env`] describing the calling session, so the data
//! model never holds a reference back into the interpreter.

use std::rc::Rc;
use std::sync::Arc;

use crate::event::{Event, Value};
use crate::interp::StateSet;
use crate::model::{Document, ExprId};

/// What a data model may read about the session it is evaluating for.
pub struct Env<'a> {
    pub doc: &'a Arc<Document>,
    pub session_id: &'a str,
    /// `_name`: the document's `name` attribute, or empty.
    pub name: &'a str,
    /// `_ioprocessors`: `(type, location)` pairs.
    pub ioprocessors: &'a [(String, String)],
    /// `_event`: the event being processed, `None` before the first one (SCXML §5.10).
    pub event: Option<&'a Rc<Event>>,
    /// The active states, for `In(stateId)` (SCXML §5.9.1).
    pub configuration: &'a StateSet,
}

impl Env<'_> {
    /// `In(id)`: whether the state with this id is active.
    pub fn in_state(&self, id: &str) -> bool {
        self.doc
            .find_state(id)
            .is_some_and(|s| self.configuration.contains(s))
    }
}

/// The value a `<data>`, `<assign>` or parameter gets.
pub enum Init<'a> {
    Undefined,
    Expr(ExprId),
    /// Inline or loaded text (JSON when it parses as such, XML when it is markup, else a string).
    Text(&'a str),
    Value(&'a Value),
}

/// Errors from the data model are strings; the interpreter turns them into `error.execution`.
pub type DmResult<T> = Result<T, String>;

pub trait DataModel {
    /// Per-session data (variables). Must be cheap: one per live session.
    type Scope;
    /// A shallow copy of a `<foreach>` array.
    type Items;

    /// The `datamodel` attribute values this model implements.
    fn supports(&self, name: &str) -> bool;

    /// Creates the scope of a new session (binds `_sessionid` and `_name`).
    fn create_scope(&mut self, env: &Env) -> Self::Scope;

    /// Creates (or re-binds) the variable `id` (SCXML §5.2 `<data>`).
    fn declare(&mut self, scope: &Self::Scope, env: &Env, id: &str, init: Init) -> DmResult<()>;

    fn eval(&mut self, scope: &Self::Scope, env: &Env, expr: ExprId) -> DmResult<Value>;

    /// Evaluates to a string (ECMAScript `ToString`).
    fn eval_string(&mut self, scope: &Self::Scope, env: &Env, expr: ExprId) -> DmResult<String>;

    /// Evaluates a condition. SCXML §5.9: an error is reported and the condition counts as false.
    fn eval_cond(&mut self, scope: &Self::Scope, env: &Env, expr: ExprId) -> DmResult<bool>;

    /// `<assign>` and `idlocation`: stores a value into a location; an invalid location is an error.
    fn assign(
        &mut self,
        scope: &Self::Scope,
        env: &Env,
        location: ExprId,
        value: Init,
    ) -> DmResult<()>;

    fn exec_script(&mut self, scope: &Self::Scope, env: &Env, script: ExprId) -> DmResult<()>;

    /// `<foreach>`: a shallow copy of the iterable (SCXML §4.6).
    fn items(&mut self, scope: &Self::Scope, env: &Env, array: ExprId) -> DmResult<Self::Items>;
    fn item_count(&self, items: &Self::Items) -> usize;
    /// Assigns item `i` (and its index) to the foreach variables, declaring them if needed.
    fn assign_item(
        &mut self,
        scope: &Self::Scope,
        env: &Env,
        items: &Self::Items,
        i: usize,
        item: ExprId,
        index: Option<ExprId>,
    ) -> DmResult<()>;

    /// The value of inline `<content>` (of `<send>`, `<donedata>`, `<invoke>`), interpreted the
    /// way this data model interprets data (SCXML §5.6: JSON, XML or text).
    fn content_value(&mut self, text: &str, is_xml: bool) -> Value;

    /// Evaluates an ad-hoc expression that is not part of a document (custom actions, consoles).
    fn eval_source(&mut self, scope: &Self::Scope, env: &Env, src: &str) -> DmResult<Value>;

    /// Stores a value into a location given as source text (a custom action's `requestid`
    /// attribute, say), with the checks `<assign>` makes.
    fn assign_source(
        &mut self,
        scope: &Self::Scope,
        env: &Env,
        location: &str,
        value: &Value,
    ) -> DmResult<()>;

    /// The session's variables in this data model's own encoding (for snapshots).
    fn snapshot_scope(&mut self, scope: &Self::Scope, env: &Env) -> DmResult<String>;

    /// A scope holding the variables of [`DataModel::snapshot_scope`]'s output.
    fn restore_scope(&mut self, env: &Env, snapshot: &str) -> DmResult<Self::Scope>;
}

/// The null data model (SCXML §B.1): no variables; the only expression is `In('id')`.
#[derive(Debug, Default)]
pub struct NullDataModel;

impl NullDataModel {
    fn in_call(env: &Env, src: &str) -> DmResult<bool> {
        let s = src.trim();
        let inner = s
            .strip_prefix("In(")
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
            .ok_or_else(|| format!("the null data model only supports In(): '{s}'"))?;
        let id = inner
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .or_else(|| inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
            .ok_or_else(|| format!("In() needs a quoted state id: '{s}'"))?;
        Ok(env.in_state(id))
    }
}

impl DataModel for NullDataModel {
    type Scope = ();
    type Items = usize;

    fn supports(&self, name: &str) -> bool {
        name == "null"
    }

    fn create_scope(&mut self, _env: &Env) {}

    fn declare(&mut self, _: &(), _: &Env, id: &str, _: Init) -> DmResult<()> {
        Err(format!("the null data model has no variables ('{id}')"))
    }

    fn eval(&mut self, _: &(), env: &Env, expr: ExprId) -> DmResult<Value> {
        Self::in_call(env, &env.doc.expr(expr).src).map(Value::Bool)
    }

    fn eval_string(&mut self, _: &(), env: &Env, expr: ExprId) -> DmResult<String> {
        Err(format!(
            "the null data model cannot evaluate '{}'",
            env.doc.expr(expr).src
        ))
    }

    fn eval_cond(&mut self, _: &(), env: &Env, expr: ExprId) -> DmResult<bool> {
        Self::in_call(env, &env.doc.expr(expr).src)
    }

    fn assign(&mut self, _: &(), env: &Env, location: ExprId, _: Init) -> DmResult<()> {
        Err(format!(
            "the null data model has no locations ('{}')",
            env.doc.expr(location).src
        ))
    }

    fn exec_script(&mut self, _: &(), _: &Env, _: ExprId) -> DmResult<()> {
        Err("the null data model has no scripting".into())
    }

    fn items(&mut self, _: &(), _: &Env, _: ExprId) -> DmResult<usize> {
        Err("the null data model has no <foreach>".into())
    }

    fn item_count(&self, items: &usize) -> usize {
        *items
    }

    fn assign_item(
        &mut self,
        _: &(),
        _: &Env,
        _: &usize,
        _: usize,
        _: ExprId,
        _: Option<ExprId>,
    ) -> DmResult<()> {
        Err("the null data model has no <foreach>".into())
    }

    fn content_value(&mut self, text: &str, is_xml: bool) -> Value {
        if is_xml {
            Value::Xml(text.trim().to_string())
        } else {
            Value::String(text.split_whitespace().collect::<Vec<_>>().join(" "))
        }
    }

    fn eval_source(&mut self, _: &(), env: &Env, src: &str) -> DmResult<Value> {
        Self::in_call(env, src).map(Value::Bool)
    }

    fn assign_source(&mut self, _: &(), _: &Env, location: &str, _: &Value) -> DmResult<()> {
        Err(format!(
            "the null data model has no locations ('{location}')"
        ))
    }

    fn snapshot_scope(&mut self, _: &(), _: &Env) -> DmResult<String> {
        Ok(String::new())
    }

    fn restore_scope(&mut self, _: &Env, _: &str) -> DmResult<()> {
        Ok(())
    }
}
