//! The W3C SCXML interpreter (Appendix D algorithm) as a sans-IO session.
//!
//! A [`Session`] owns one state configuration, its queues and its data-model scope. The host
//! drives it with [`Session::start`], [`Session::deliver`], [`Session::fire_timer`] and
//! [`Session::cancel`]; each call runs to the end of a macrostep and leaves what the host must
//! do in a `Vec<Effect>`: events to route, timers to arm or cancel, invocations to start or
//! stop, log lines. Time is always a parameter; nothing here reads a clock or does I/O.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::datamodel::{DataModel, Env, Init};
use crate::event::{Event, EventType, Value, BASICHTTP_PROCESSOR, SCXML_PROCESSOR};
use crate::model::{
    Action, AssignValue, Binding, Block, Content, CustomAction, DataValue, Document, ExprId,
    HistoryKind, Param, ParamValue, StateId, StateKind, StrOrExpr, TransitionId, TransitionKind,
};
use crate::snapshot::{InvocationState, PendingSend, SessionState};

/// A fixed-size set of states, ordered by document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSet(Vec<u64>);

impl StateSet {
    pub fn with_capacity(n: usize) -> StateSet {
        StateSet(vec![0; n.div_ceil(64)])
    }
    pub fn contains(&self, s: StateId) -> bool {
        let s = s as usize;
        self.0.get(s / 64).is_some_and(|w| w & (1 << (s % 64)) != 0)
    }
    pub fn insert(&mut self, s: StateId) -> bool {
        let s = s as usize;
        if s / 64 >= self.0.len() {
            self.0.resize(s / 64 + 1, 0);
        }
        let had = self.0[s / 64] & (1 << (s % 64)) != 0;
        self.0[s / 64] |= 1 << (s % 64);
        !had
    }
    pub fn remove(&mut self, s: StateId) {
        let s = s as usize;
        if let Some(w) = self.0.get_mut(s / 64) {
            *w &= !(1 << (s % 64));
        }
    }
    pub fn clear(&mut self) {
        self.0.iter_mut().for_each(|w| *w = 0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// Members in document order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = StateId> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| (i * 64 + b) as StateId)
        })
    }
    pub fn intersects(&self, other: &StateSet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// Where an outgoing event goes (SCXML §6.2.4, Appendix C).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SendTarget {
    /// `#_parent`: the session that invoked this one.
    Parent,
    /// `#_<invokeid>`: a session this one invoked.
    Invoked(String),
    /// `#_scxml_<sessionid>`: another session on the host.
    Session(String),
    /// The Basic HTTP Event I/O Processor: POST to this URL.
    BasicHttp(String),
    /// A send type registered by the host.
    Other { type_: String, target: String },
}

/// The content handed to an invoked service.
#[derive(Debug, Clone)]
pub enum InvokeContent {
    Document(Arc<Document>),
    Value(Value),
}

#[derive(Debug, Clone)]
pub struct InvokeRequest {
    pub invokeid: String,
    /// Where the `<invoke>` is in the invoking document (its state and index there).
    pub state: StateId,
    pub index: usize,
    /// Normalised: `scxml` for the SCXML invoke types, otherwise as written.
    pub type_: String,
    pub src: Option<String>,
    pub content: Option<InvokeContent>,
    pub params: Vec<(String, Value)>,
    pub autoforward: bool,
}

/// What the host must do after a call into a session.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Deliver now.
    Send {
        target: SendTarget,
        event: Event,
    },
    /// Call [`Session::fire_timer`] with `key` when the clock reaches `at` (milliseconds).
    ArmTimer {
        key: u64,
        at: u64,
    },
    CancelTimer {
        key: u64,
    },
    Invoke(InvokeRequest),
    /// Stop the invoked session (it runs its exit handlers) and drop its events.
    CancelInvoke {
        invokeid: String,
    },
    Log {
        label: Option<String>,
        message: String,
    },
    /// The session reached a top-level final state and has exited.
    Done {
        final_state: String,
        donedata: Value,
    },
    /// The session was ended by a limit (runaway eventless loop) or an internal fault.
    Halted {
        reason: String,
    },
}

/// What the host offers a session beyond the built-in SCXML I/O processor.
pub trait Host {
    /// Whether `#_scxml_<id>` names a session the host can deliver to.
    fn session_exists(&self, id: &str) -> bool;
    /// Whether the host implements this `<send type>` (besides the SCXML processor).
    fn supports_send_type(&self, type_: &str) -> bool;
    /// Whether the host implements this `<invoke type>`.
    fn supports_invoke_type(&self, type_: &str) -> bool;
    /// Executes an action element in a foreign namespace at `now`. `scope` evaluates
    /// expressions in (and assigns to) the session's data model. An `Err` raises
    /// `error.execution`. The action completes later by delivering events back to the session.
    fn custom_action(
        &mut self,
        session_id: &str,
        action: &CustomAction,
        scope: &mut dyn ActionScope,
        now: u64,
    ) -> Result<(), String>;
}

/// What an action element's handler may do with the session running it.
pub trait ActionScope {
    /// Evaluates an expression in the session's data model (ORS action attributes are
    /// expressions).
    fn eval(&mut self, src: &str) -> Result<Value, String>;
    /// Stores a value into a location (`requestid="myId"`); an undeclared variable or a
    /// read-only system variable is an error.
    fn assign(&mut self, location: &str, value: &Value) -> Result<(), String>;
    /// The event being processed (`_event`), if any.
    fn event(&self) -> Option<&Event>;
}

struct DmScope<'a, D: DataModel> {
    dm: &'a mut D,
    scope: &'a D::Scope,
    env: Env<'a>,
}

impl<D: DataModel> ActionScope for DmScope<'_, D> {
    fn eval(&mut self, src: &str) -> Result<Value, String> {
        self.dm.eval_source(self.scope, &self.env, src)
    }
    fn assign(&mut self, location: &str, value: &Value) -> Result<(), String> {
        self.dm
            .assign_source(self.scope, &self.env, location, value)
    }
    fn event(&self) -> Option<&Event> {
        self.env.event.map(|e| &**e)
    }
}

/// A host that offers nothing beyond the SCXML processor; useful for tests.
#[derive(Debug, Default)]
pub struct NoHost;

impl Host for NoHost {
    fn session_exists(&self, _: &str) -> bool {
        false
    }
    fn supports_send_type(&self, _: &str) -> bool {
        false
    }
    fn supports_invoke_type(&self, _: &str) -> bool {
        false
    }
    fn custom_action(
        &mut self,
        _: &str,
        action: &CustomAction,
        _: &mut dyn ActionScope,
        _: u64,
    ) -> Result<(), String> {
        Err(format!(
            "no handler for <{}> in namespace {}",
            action.name, action.namespace
        ))
    }
}

/// Everything a call into a session needs from its caller.
pub struct Step<'a, D: DataModel> {
    pub dm: &'a mut D,
    pub host: &'a mut dyn Host,
    /// The current time in milliseconds (any epoch; used only to compute timer deadlines).
    pub now: u64,
    pub out: &'a mut Vec<Effect>,
}

/// Limits that bound a runaway chart.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Microsteps in one macrostep before the session is ended (an eventless loop never settles).
    pub max_microsteps: u32,
    /// Items one `<foreach>` may iterate.
    pub max_foreach: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_microsteps: 100_000,
            max_foreach: 1_000_000,
        }
    }
}

/// How a session is created.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// `_ioprocessors` entries beyond the SCXML processor (for example the Basic HTTP location).
    pub ioprocessors: Vec<(String, String)>,
    /// Values for `<data>` ids that replace the document's own (invoke `param`/`namelist`, §6.4.4).
    pub initial_values: Vec<(String, Value)>,
    /// Set when this session was invoked by another.
    pub parent: Option<ParentLink>,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentLink {
    pub session_id: String,
    pub invokeid: String,
}

#[derive(Debug)]
struct Invocation {
    state: StateId,
    index: usize,
    invokeid: String,
    autoforward: bool,
}

#[derive(Debug)]
struct Pending {
    key: u64,
    sendid: String,
    /// When the timer is due (milliseconds, the host's clock).
    at: u64,
    delivery: Delivery,
}

/// Where a delayed send goes when its timer fires: this session's own internal queue, or out
/// through the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Delivery {
    OwnInternal(Event),
    Out(SendTarget, Event),
}

/// One running state chart.
pub struct Session<S> {
    doc: Arc<Document>,
    id: Box<str>,
    scope: S,
    ioprocessors: Vec<(String, String)>,
    parent: Option<ParentLink>,
    limits: Limits,
    configuration: StateSet,
    states_to_invoke: StateSet,
    /// Late binding: states whose data has been bound.
    bound: StateSet,
    history: Vec<(StateId, Vec<StateId>)>,
    internal: VecDeque<Event>,
    external: VecDeque<Event>,
    current_event: Option<Rc<Event>>,
    invocations: Vec<Invocation>,
    pending: Vec<Pending>,
    counter: u64,
    running: bool,
    started: bool,
    exited: bool,
    final_state: Option<StateId>,
    initial_values: Vec<(String, Value)>,
    /// Counts the steps that changed the session (microsteps, fired timers, finalize):
    /// a host compares it to know whether a session needs saving again.
    revision: u64,
}

impl<S> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("running", &self.running)
            .field("configuration", &self.active_state_ids())
            .finish()
    }
}

type Tr = TransitionId;

/// Result of a block of executable content: `Err(())` means an error was raised and the rest of
/// the block is skipped (SCXML §4.9).
type Exec = Result<(), ()>;

impl<S> Session<S> {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn document(&self) -> &Arc<Document> {
        &self.doc
    }

    pub fn scope(&self) -> &S {
        &self.scope
    }

    /// True between [`Session::start`] and the end of the session.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// True once the session has reached a top-level final state, was cancelled or halted.
    pub fn is_finished(&self) -> bool {
        self.exited
    }

    /// The id of the top-level final state the session ended in.
    pub fn final_state(&self) -> Option<&str> {
        self.final_state.map(|s| self.doc.state(s).id.as_str())
    }

    pub fn parent(&self) -> Option<&ParentLink> {
        self.parent.as_ref()
    }

    /// Ids of the active states in document order.
    pub fn active_state_ids(&self) -> Vec<&str> {
        self.configuration
            .iter()
            .map(|s| self.doc.state(s).id.as_str())
            .collect()
    }

    pub fn is_in(&self, id: &str) -> bool {
        self.doc
            .find_state(id)
            .is_some_and(|s| self.configuration.contains(s))
    }

    /// The invoke ids of the invocations currently active.
    pub fn active_invocations(&self) -> impl Iterator<Item = &str> {
        self.invocations.iter().map(|i| i.invokeid.as_str())
    }
}

impl<S> Session<S> {
    /// The session's state as data (between macrosteps); see [`crate::snapshot`].
    pub fn snapshot<D: DataModel<Scope = S>>(&self, dm: &mut D) -> Result<SessionState, String> {
        let data = dm.snapshot_scope(&self.scope, &self.env())?;
        Ok(SessionState {
            id: self.id.to_string(),
            ioprocessors: self
                .ioprocessors
                .iter()
                .filter(|(ty, _)| {
                    ty != "scxml" && ty != SCXML_PROCESSOR && ty != BASICHTTP_PROCESSOR
                })
                .cloned()
                .collect(),
            parent: self.parent.clone(),
            configuration: self.configuration.iter().collect(),
            states_to_invoke: self.states_to_invoke.iter().collect(),
            bound: self.bound.iter().collect(),
            history: self.history.clone(),
            internal: self.internal.iter().cloned().collect(),
            external: self.external.iter().cloned().collect(),
            current_event: self.current_event.as_deref().cloned(),
            invocations: self
                .invocations
                .iter()
                .map(|i| InvocationState {
                    state: i.state,
                    index: i.index as u32,
                    invokeid: i.invokeid.clone(),
                    autoforward: i.autoforward,
                })
                .collect(),
            pending: self
                .pending
                .iter()
                .map(|p| PendingSend {
                    key: p.key,
                    sendid: p.sendid.clone(),
                    at: p.at,
                    delivery: p.delivery.clone(),
                })
                .collect(),
            counter: self.counter,
            running: self.running,
            started: self.started,
            exited: self.exited,
            final_state: self.final_state,
            initial_values: self.initial_values.clone(),
            data,
        })
    }

    /// Rebuilds a session from [`Session::snapshot`] with the document it ran. Indices that do
    /// not fit the document are an error (the snapshot belongs to another document).
    pub fn restore<D: DataModel<Scope = S>>(
        dm: &mut D,
        doc: Arc<Document>,
        st: SessionState,
        limits: Limits,
    ) -> Result<Session<S>, String> {
        let n = doc.states.len();
        let set = |ids: &[StateId], what: &str| -> Result<StateSet, String> {
            let mut set = StateSet::with_capacity(n);
            for &s in ids {
                if s as usize >= n {
                    return Err(format!(
                        "{what}: state {s} does not exist in a document of {n} states"
                    ));
                }
                set.insert(s);
            }
            Ok(set)
        };
        let configuration = set(&st.configuration, "configuration")?;
        let states_to_invoke = set(&st.states_to_invoke, "states to invoke")?;
        let bound = set(&st.bound, "bound states")?;
        for (h, v) in &st.history {
            set(&[*h], "history")?;
            set(v, "history")?;
        }
        if let Some(f) = st.final_state {
            set(&[f], "final state")?;
        }
        let mut invocations = Vec::with_capacity(st.invocations.len());
        for i in st.invocations {
            let ok =
                (i.state as usize) < n && (i.index as usize) < doc.state(i.state).invokes.len();
            if !ok {
                return Err(format!(
                    "invocation '{}' refers to an <invoke> the document does not have",
                    i.invokeid
                ));
            }
            invocations.push(Invocation {
                state: i.state,
                index: i.index as usize,
                invokeid: i.invokeid,
                autoforward: i.autoforward,
            });
        }
        let mut ioprocessors = vec![
            ("scxml".to_string(), format!("#_scxml_{}", st.id)),
            (SCXML_PROCESSOR.to_string(), format!("#_scxml_{}", st.id)),
        ];
        for (ty, loc) in st.ioprocessors {
            if ty == "basichttp" {
                ioprocessors.push((BASICHTTP_PROCESSOR.to_string(), loc.clone()));
            }
            ioprocessors.push((ty, loc));
        }
        let current_event = st.current_event.map(Rc::new);
        let scope = dm.restore_scope(
            &Env {
                doc: &doc,
                session_id: &st.id,
                name: doc.name.as_deref().unwrap_or(""),
                ioprocessors: &ioprocessors,
                event: current_event.as_ref(),
                configuration: &configuration,
            },
            &st.data,
        )?;
        Ok(Session {
            configuration,
            states_to_invoke,
            bound,
            doc,
            id: st.id.into_boxed_str(),
            scope,
            ioprocessors,
            parent: st.parent,
            limits,
            history: st.history,
            internal: st.internal.into(),
            external: st.external.into(),
            current_event,
            invocations,
            pending: st
                .pending
                .into_iter()
                .map(|p| Pending {
                    key: p.key,
                    sendid: p.sendid,
                    at: p.at,
                    delivery: p.delivery,
                })
                .collect(),
            counter: st.counter,
            running: st.running,
            started: st.started,
            exited: st.exited,
            final_state: st.final_state,
            initial_values: st.initial_values,
            revision: 0,
        })
    }

    /// Evaluates an ad-hoc expression in the session's data model.
    pub fn eval_source<D: DataModel<Scope = S>>(
        &self,
        dm: &mut D,
        src: &str,
    ) -> Result<Value, String> {
        dm.eval_source(&self.scope, &self.env(), src)
    }

    /// Changes with every step that changed the session (not with an event no transition
    /// took).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The delayed sends waiting for their timers: `(timer key, sendid, due at)`.
    pub fn pending_timers(&self) -> impl Iterator<Item = (u64, &str, u64)> {
        self.pending
            .iter()
            .map(|p| (p.key, p.sendid.as_str(), p.at))
    }
}

impl<S> Session<S> {
    /// Creates a session; nothing runs until [`Session::start`].
    pub fn new<D: DataModel<Scope = S>>(
        dm: &mut D,
        doc: Arc<Document>,
        id: impl Into<String>,
        opts: SessionOptions,
    ) -> Session<S> {
        let id: String = id.into();
        let n = doc.states.len();
        let mut ioprocessors = vec![
            ("scxml".to_string(), format!("#_scxml_{id}")),
            (SCXML_PROCESSOR.to_string(), format!("#_scxml_{id}")),
        ];
        for (ty, loc) in opts.ioprocessors {
            if ty == "basichttp" {
                ioprocessors.push((BASICHTTP_PROCESSOR.to_string(), loc.clone()));
            }
            ioprocessors.push((ty, loc));
        }
        let configuration = StateSet::with_capacity(n);
        let scope = dm.create_scope(&Env {
            doc: &doc,
            session_id: &id,
            name: doc.name.as_deref().unwrap_or(""),
            ioprocessors: &ioprocessors,
            event: None,
            configuration: &configuration,
        });
        Session {
            configuration,
            states_to_invoke: StateSet::with_capacity(n),
            bound: StateSet::default(),
            doc,
            id: id.into_boxed_str(),
            scope,
            ioprocessors,
            parent: opts.parent,
            limits: opts.limits,
            history: Vec::new(),
            internal: VecDeque::new(),
            external: VecDeque::new(),
            current_event: None,
            invocations: Vec::new(),
            pending: Vec::new(),
            counter: 0,
            running: false,
            started: false,
            exited: false,
            final_state: None,
            initial_values: opts.initial_values,
            revision: 0,
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            doc: &self.doc,
            session_id: &self.id,
            name: self.doc.name.as_deref().unwrap_or(""),
            ioprocessors: &self.ioprocessors,
            event: self.current_event.as_ref(),
            configuration: &self.configuration,
        }
    }
}

impl<S> Session<S> {
    // ---- Public driving API -------------------------------------------------------------

    /// Initialises the data model, enters the initial configuration and runs the first
    /// macrostep (SCXML Appendix D `interpret`).
    pub fn start<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>) {
        if self.started {
            return;
        }
        self.started = true;
        self.revision += 1;
        if !step.dm.supports(&self.doc.datamodel) {
            self.halt(
                step,
                format!("data model '{}' is not supported", self.doc.datamodel),
            );
            return;
        }
        self.running = true;
        let _span = tracing::debug_span!("scxml_session", id = %self.id).entered();
        // SCXML §5.3: early binding assigns every <data> at initialisation; late binding only
        // the top-level ones.
        let states: Vec<StateId> = match self.doc.binding {
            Binding::Early => (0..self.doc.states.len() as StateId).collect(),
            Binding::Late => {
                // SCXML §5.3: with late binding every variable is created at initialisation;
                // a state's values are assigned when it is first entered.
                let doc = self.doc.clone();
                for st in doc.states.iter().skip(1) {
                    for data in &st.data {
                        let r =
                            step.dm
                                .declare(&self.scope, &self.env(), &data.id, Init::Undefined);
                        if let Err(e) = r {
                            self.raise_error(
                                "error.execution",
                                format!("<data id=\"{}\">: {e}", data.id),
                                None,
                            );
                        }
                    }
                }
                self.bound.insert(0);
                vec![0]
            }
        };
        for s in states {
            self.bind_data(step, s);
        }
        let doc = self.doc.clone();
        for &script in &doc.scripts {
            let r = step.dm.exec_script(&self.scope, &self.env(), script);
            if let Err(e) = r {
                self.raise_error("error.execution", e, None);
            }
        }
        if let Some(init) = doc.state(0).initial {
            self.enter_states(step, &[init]);
        }
        self.run(step);
    }

    /// Delivers an external event and runs to the end of the resulting macrosteps.
    pub fn deliver<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, event: Event) {
        if !self.running {
            return;
        }
        self.external.push_back(event);
        self.run(step);
    }

    /// A timer armed with [`Effect::ArmTimer`] fired.
    pub fn fire_timer<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, key: u64) {
        if !self.running {
            return;
        }
        let Some(i) = self.pending.iter().position(|p| p.key == key) else {
            return; // cancelled
        };
        let p = self.pending.remove(i);
        self.revision += 1;
        match p.delivery {
            Delivery::OwnInternal(e) => self.internal.push_back(e),
            Delivery::Out(target, event) => step.out.push(Effect::Send { target, event }),
        }
        self.run(step);
    }

    /// The host could not start an invocation: raise `error.execution` (SCXML §6.4).
    pub fn invoke_failed<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        invokeid: &str,
        message: &str,
    ) {
        if !self.running {
            return;
        }
        self.revision += 1;
        self.invocations.retain(|i| i.invokeid != invokeid);
        self.raise_error(
            "error.execution",
            format!("invoke '{invokeid}' failed: {message}"),
            None,
        );
        self.run(step);
    }

    /// A `<send>` the host dispatched could not be delivered: raise `error.communication`.
    pub fn send_failed<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        sendid: Option<String>,
        message: &str,
    ) {
        if !self.running {
            return;
        }
        self.raise_error("error.communication", message.to_string(), sendid);
        self.run(step);
    }

    /// Ends the session from outside (its invoker left the invoking state): runs the exit
    /// handlers of the active states and cancels its own invocations, but sends no done event.
    pub fn cancel<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>) {
        if !self.started {
            // Cancelled before it ran: it never will.
            self.started = true;
            self.exited = true;
            return;
        }
        if self.exited {
            return;
        }
        self.running = false;
        self.exit_interpreter(step, false);
    }

    // ---- Main loop ----------------------------------------------------------------------

    fn run<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>) {
        loop {
            if !self.running {
                break;
            }
            if !self.macrostep(step) {
                return;
            }
            if !self.running {
                break;
            }
            // Appendix D: start the invocations of states entered and not exited in the macrostep.
            let to_invoke: Vec<StateId> = self.states_to_invoke.iter().collect();
            self.states_to_invoke.clear();
            for s in to_invoke {
                for i in 0..self.doc.state(s).invokes.len() {
                    self.start_invoke(step, s, i);
                }
            }
            if !self.internal.is_empty() {
                continue;
            }
            let Some(event) = self.external.pop_front() else {
                return;
            };
            self.current_event = Some(Rc::new(event));
            self.finalize_and_forward(step);
            let enabled = self.select_transitions(step, false);
            if !enabled.is_empty() {
                self.microstep(step, &enabled);
            }
        }
        if !self.exited {
            self.exit_interpreter(step, true);
        }
    }

    /// Runs eventless transitions and internal events until the chart is stable.
    /// Returns false if the session was halted.
    fn macrostep<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>) -> bool {
        let mut microsteps = 0u32;
        while self.running {
            let mut enabled = self.select_transitions(step, true);
            if enabled.is_empty() {
                let Some(event) = self.internal.pop_front() else {
                    break;
                };
                self.current_event = Some(Rc::new(event));
                enabled = self.select_transitions(step, false);
            }
            if !enabled.is_empty() {
                microsteps += 1;
                if microsteps > self.limits.max_microsteps {
                    let reason = format!(
                        "more than {} microsteps without reaching a stable configuration \
                         (an eventless transition loop that never settles); session ended",
                        self.limits.max_microsteps
                    );
                    self.halt(step, reason);
                    return false;
                }
                self.microstep(step, &enabled);
            }
        }
        true
    }

    fn halt<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, reason: String) {
        tracing::warn!(session = %self.id, %reason, "session halted");
        step.out.push(Effect::Log {
            label: Some("halted".into()),
            message: reason.clone(),
        });
        self.running = false;
        self.exited = true;
        for inv in std::mem::take(&mut self.invocations) {
            step.out.push(Effect::CancelInvoke {
                invokeid: inv.invokeid,
            });
        }
        for p in std::mem::take(&mut self.pending) {
            step.out.push(Effect::CancelTimer { key: p.key });
        }
        step.out.push(Effect::Halted { reason });
    }

    fn finalize_and_forward<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>) {
        let Some(event) = self.current_event.clone() else {
            return;
        };
        let event: &Event = &event;
        let invs: Vec<(StateId, usize, String, bool)> = self
            .invocations
            .iter()
            .map(|i| (i.state, i.index, i.invokeid.clone(), i.autoforward))
            .collect();
        for (state, index, invokeid, autoforward) in invs {
            if event.invokeid.as_deref() == Some(invokeid.as_str()) {
                // SCXML §6.5: <finalize> runs before the event is used for selection.
                self.revision += 1;
                let doc = self.doc.clone();
                let _ = self.execute_block(step, &doc.state(state).invokes[index].finalize);
                if event.name.starts_with("done.invoke.") {
                    // The invoked session is over: later sends to `#_<invokeid>` cannot be
                    // delivered (error.communication).
                    self.invocations.retain(|i| i.invokeid != invokeid);
                }
            }
            if autoforward {
                step.out.push(Effect::Send {
                    target: SendTarget::Invoked(invokeid),
                    event: event.clone(),
                });
            }
        }
    }

    fn exit_interpreter<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, done: bool) {
        self.exited = true;
        let states: Vec<StateId> = self.configuration.iter().rev().collect();
        for s in states {
            let doc = self.doc.clone();
            for block in &doc.state(s).onexit {
                let _ = self.execute_block(step, block);
            }
            self.cancel_invokes_of(step, s);
            self.configuration.remove(s);
            let st = doc.state(s);
            if done && st.kind == StateKind::Final && st.parent == Some(0) {
                self.final_state = Some(s);
                let donedata = self.donedata(step, s);
                step.out.push(Effect::Done {
                    final_state: st.id.clone(),
                    donedata,
                });
            }
        }
        for p in std::mem::take(&mut self.pending) {
            step.out.push(Effect::CancelTimer { key: p.key });
        }
        self.internal.clear();
        self.external.clear();
    }

    // ---- Transition selection -----------------------------------------------------------

    fn condition<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, t: Tr) -> bool {
        let Some(cond) = self.doc.transition(t).cond else {
            return true;
        };
        let r = step.dm.eval_cond(&self.scope, &self.env(), cond);
        match r {
            Ok(b) => b,
            Err(e) => {
                // SCXML §5.9: an error in a condition raises error.execution; it counts as false.
                self.raise_error("error.execution", e, None);
                false
            }
        }
    }

    fn select_transitions<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        eventless: bool,
    ) -> Vec<Tr> {
        let doc = self.doc.clone();
        let mut enabled: Vec<Tr> = Vec::new();
        let atomic: Vec<StateId> = self
            .configuration
            .iter()
            .filter(|&s| doc.state(s).is_atomic())
            .collect();
        let name = if eventless {
            None
        } else {
            self.current_event.as_ref().map(|e| e.name.clone())
        };
        for s in atomic {
            'search: for st in std::iter::once(s).chain(doc.ancestors(s)) {
                for &t in &doc.state(st).transitions {
                    let tr = doc.transition(t);
                    let event_ok = match &name {
                        None => tr.events.is_empty(),
                        Some(n) => tr.events.iter().any(|d| d.matches(n)),
                    };
                    if event_ok && self.condition(step, t) {
                        if !enabled.contains(&t) {
                            enabled.push(t);
                        }
                        break 'search;
                    }
                }
            }
        }
        self.remove_conflicting(enabled)
    }

    fn remove_conflicting(&self, enabled: Vec<Tr>) -> Vec<Tr> {
        let doc = &self.doc;
        let mut filtered: Vec<(Tr, StateSet)> = Vec::new();
        for t1 in enabled {
            let x1 = self.exit_set(&[t1]);
            let mut preempted = false;
            let mut remove = Vec::new();
            for (i, (t2, x2)) in filtered.iter().enumerate() {
                if x1.intersects(x2) {
                    if doc.is_descendant(doc.transition(t1).source, doc.transition(*t2).source) {
                        remove.push(i);
                    } else {
                        preempted = true;
                        break;
                    }
                }
            }
            if !preempted {
                for i in remove.into_iter().rev() {
                    filtered.remove(i);
                }
                filtered.push((t1, x1));
            }
        }
        filtered.into_iter().map(|(t, _)| t).collect()
    }

    fn exit_set(&self, transitions: &[Tr]) -> StateSet {
        let mut set = StateSet::with_capacity(self.doc.states.len());
        for &t in transitions {
            if self.doc.transition(t).targets.is_empty() {
                continue;
            }
            if let Some(domain) = self.transition_domain(t) {
                for s in self.configuration.iter() {
                    if self.doc.is_descendant(s, domain) {
                        set.insert(s);
                    }
                }
            }
        }
        set
    }

    fn effective_targets(&self, t: Tr, out: &mut Vec<StateId>) {
        for &s in &self.doc.transition(t).targets {
            if self.doc.state(s).is_history() {
                if let Some((_, v)) = self.history.iter().find(|(h, _)| *h == s) {
                    for &x in v {
                        if !out.contains(&x) {
                            out.push(x);
                        }
                    }
                } else if let Some(def) = self.doc.state(s).initial {
                    self.effective_targets(def, out);
                }
            } else if !out.contains(&s) {
                out.push(s);
            }
        }
    }

    fn transition_domain(&self, t: Tr) -> Option<StateId> {
        let doc = &self.doc;
        let tr = doc.transition(t);
        let mut targets = Vec::new();
        self.effective_targets(t, &mut targets);
        if targets.is_empty() {
            return None;
        }
        if tr.source == 0 {
            return Some(0);
        }
        if tr.kind == TransitionKind::Internal
            && doc.state(tr.source).is_compound()
            && targets.iter().all(|&s| doc.is_descendant(s, tr.source))
        {
            return Some(tr.source);
        }
        targets.push(tr.source);
        Some(self.find_lcca(&targets))
    }

    /// The least common compound ancestor (SCXML Appendix D `findLCCA`); the root counts.
    fn find_lcca(&self, states: &[StateId]) -> StateId {
        let doc = &self.doc;
        let (&first, rest) = match states.split_last() {
            Some((last, rest)) => (last, rest),
            None => return 0,
        };
        for anc in doc.ancestors(first) {
            if doc.state(anc).is_compound() && rest.iter().all(|&s| doc.is_descendant(s, anc)) {
                return anc;
            }
        }
        0
    }

    // ---- Microstep ----------------------------------------------------------------------

    fn microstep<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, enabled: &[Tr]) {
        self.revision += 1;
        self.exit_states(step, enabled);
        let doc = self.doc.clone();
        for &t in enabled {
            let _ = self.execute_block(step, &doc.transition(t).actions);
        }
        self.enter_states(step, enabled);
    }

    fn exit_states<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, enabled: &[Tr]) {
        let exit = self.exit_set(enabled);
        let doc = self.doc.clone();
        let order: Vec<StateId> = exit.iter().rev().collect();
        for &s in &order {
            self.states_to_invoke.remove(s);
        }
        for &s in &order {
            for &h in &doc.state(s).children {
                let StateKind::History(kind) = doc.state(h).kind else {
                    continue;
                };
                let value: Vec<StateId> = self
                    .configuration
                    .iter()
                    .filter(|&s0| match kind {
                        HistoryKind::Deep => doc.state(s0).is_atomic() && doc.is_descendant(s0, s),
                        HistoryKind::Shallow => doc.state(s0).parent == Some(s),
                    })
                    .collect();
                match self.history.iter_mut().find(|(x, _)| *x == h) {
                    Some(slot) => slot.1 = value,
                    None => self.history.push((h, value)),
                }
            }
        }
        for s in order {
            for block in &doc.state(s).onexit {
                let _ = self.execute_block(step, block);
            }
            self.cancel_invokes_of(step, s);
            self.configuration.remove(s);
        }
    }

    fn cancel_invokes_of<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, s: StateId) {
        let mut i = 0;
        while i < self.invocations.len() {
            if self.invocations[i].state == s {
                let inv = self.invocations.remove(i);
                step.out.push(Effect::CancelInvoke {
                    invokeid: inv.invokeid,
                });
            } else {
                i += 1;
            }
        }
    }

    fn enter_states<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, enabled: &[Tr]) {
        let doc = self.doc.clone();
        let mut entry = Entry {
            to_enter: StateSet::with_capacity(doc.states.len()),
            default_entry: StateSet::with_capacity(doc.states.len()),
            history_content: Vec::new(),
        };
        for &t in enabled {
            for &s in &doc.transition(t).targets {
                self.add_descendants(s, &mut entry);
            }
            let domain = self.transition_domain(t);
            let mut targets = Vec::new();
            self.effective_targets(t, &mut targets);
            for s in targets {
                self.add_ancestors(s, domain, &mut entry);
            }
        }
        let order: Vec<StateId> = entry.to_enter.iter().collect();
        for s in order {
            let st = doc.state(s);
            self.configuration.insert(s);
            self.states_to_invoke.insert(s);
            if doc.binding == Binding::Late && !self.bound.contains(s) {
                self.bound.insert(s);
                self.bind_data(step, s);
            }
            for block in &st.onentry {
                let _ = self.execute_block(step, block);
            }
            if entry.default_entry.contains(s) {
                if let Some(init) = st.initial {
                    let _ = self.execute_block(step, &doc.transition(init).actions);
                }
            }
            if let Some((_, t)) = entry.history_content.iter().find(|(p, _)| *p == s) {
                let _ = self.execute_block(step, &doc.transition(*t).actions);
            }
            if st.kind == StateKind::Final {
                let Some(parent) = st.parent else { continue };
                if parent == 0 {
                    self.running = false;
                } else {
                    let data = self.donedata(step, s);
                    let mut ev = Event::new(
                        format!("done.state.{}", doc.state(parent).id),
                        EventType::Internal,
                    );
                    ev.data = data;
                    self.internal.push_back(ev);
                    if let Some(gp) = doc.state(parent).parent {
                        if doc.state(gp).kind == StateKind::Parallel
                            && self.child_states(gp).all(|c| self.is_in_final(c))
                        {
                            self.internal.push_back(Event::new(
                                format!("done.state.{}", doc.state(gp).id),
                                EventType::Internal,
                            ));
                        }
                    }
                }
            }
        }
    }

    fn child_states(&self, s: StateId) -> impl Iterator<Item = StateId> + '_ {
        self.doc
            .state(s)
            .children
            .iter()
            .copied()
            .filter(|&c| !self.doc.state(c).is_history())
    }

    fn is_in_final(&self, s: StateId) -> bool {
        let st = self.doc.state(s);
        match st.kind {
            StateKind::Compound | StateKind::Root => self.child_states(s).any(|c| {
                self.doc.state(c).kind == StateKind::Final && self.configuration.contains(c)
            }),
            StateKind::Parallel => self.child_states(s).all(|c| self.is_in_final(c)),
            _ => false,
        }
    }

    fn add_descendants(&self, s: StateId, e: &mut Entry) {
        let doc = &self.doc;
        let st = doc.state(s);
        if st.is_history() {
            let parent = st.parent.unwrap_or(0);
            if let Some((_, v)) = self.history.iter().find(|(h, _)| *h == s) {
                for &x in v {
                    self.add_descendants(x, e);
                }
                for &x in v {
                    self.add_ancestors(x, Some(parent), e);
                }
            } else if let Some(def) = st.initial {
                e.history_content.push((parent, def));
                for &x in &doc.transition(def).targets {
                    self.add_descendants(x, e);
                }
                for &x in &doc.transition(def).targets {
                    self.add_ancestors(x, Some(parent), e);
                }
            }
            return;
        }
        e.to_enter.insert(s);
        if st.is_compound() {
            e.default_entry.insert(s);
            if let Some(init) = st.initial {
                for &x in &doc.transition(init).targets {
                    self.add_descendants(x, e);
                }
                for &x in &doc.transition(init).targets {
                    self.add_ancestors(x, Some(s), e);
                }
            }
        } else if st.kind == StateKind::Parallel {
            for c in self.child_states(s) {
                if !e.to_enter.iter().any(|x| doc.is_descendant(x, c) || x == c) {
                    self.add_descendants(c, e);
                }
            }
        }
    }

    fn add_ancestors(&self, s: StateId, ancestor: Option<StateId>, e: &mut Entry) {
        let doc = &self.doc;
        for anc in doc.ancestors(s) {
            if Some(anc) == ancestor || anc == 0 {
                break;
            }
            e.to_enter.insert(anc);
            if doc.state(anc).kind == StateKind::Parallel {
                for c in self.child_states(anc) {
                    if !e.to_enter.iter().any(|x| doc.is_descendant(x, c) || x == c) {
                        self.add_descendants(c, e);
                    }
                }
            }
        }
    }

    // ---- Data ---------------------------------------------------------------------------

    fn bind_data<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, s: StateId) {
        let doc = self.doc.clone();
        for data in &doc.state(s).data {
            let given = self
                .initial_values
                .iter()
                .position(|(k, _)| *k == data.id)
                .map(|i| self.initial_values.swap_remove(i).1);
            let init = match (&given, &data.value) {
                (Some(v), _) => Ok(Init::Value(v)),
                (None, DataValue::None) => Ok(Init::Undefined),
                (None, DataValue::Expr(e)) => Ok(Init::Expr(*e)),
                (None, DataValue::Text(t)) => Ok(Init::Text(t)),
                (None, DataValue::Unavailable(msg)) => Err(msg.clone()),
            };
            let r = init.and_then(|init| step.dm.declare(&self.scope, &self.env(), &data.id, init));
            if let Err(e) = r {
                // SCXML §5.3: a failed <data> leaves the variable unbound/undefined and raises
                // error.execution.
                let _ = step
                    .dm
                    .declare(&self.scope, &self.env(), &data.id, Init::Undefined);
                self.raise_error(
                    "error.execution",
                    format!("<data id=\"{}\">: {e}", data.id),
                    None,
                );
            }
        }
    }

    fn donedata<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, s: StateId) -> Value {
        let doc = self.doc.clone();
        let Some(dd) = &doc.state(s).donedata else {
            return Value::Undefined;
        };
        let r = if let Some(content) = &dd.content {
            self.content_value(step, content)
        } else {
            self.params_value(step, &[], &dd.params)
        };
        match r {
            Ok(v) => v,
            Err(e) => {
                self.raise_error("error.execution", e, None);
                Value::Undefined
            }
        }
    }

    fn content_value<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        content: &Content,
    ) -> Result<Value, String> {
        match content {
            Content::Expr(e) => step.dm.eval(&self.scope, &self.env(), *e),
            Content::Inline(inline) => Ok(step.dm.content_value(&inline.raw, inline.is_xml)),
        }
    }

    fn params_value<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        namelist: &[(String, ExprId)],
        params: &[Param],
    ) -> Result<Value, String> {
        if namelist.is_empty() && params.is_empty() {
            return Ok(Value::Undefined);
        }
        let mut props = Vec::with_capacity(namelist.len() + params.len());
        for (name, e) in namelist {
            let v = step
                .dm
                .eval(&self.scope, &self.env(), *e)
                .map_err(|err| format!("namelist '{name}': {err}"))?;
            props.push((name.clone(), v));
        }
        for p in params {
            let e = match p.value {
                ParamValue::Expr(e) | ParamValue::Location(e) => e,
            };
            let v = step
                .dm
                .eval(&self.scope, &self.env(), e)
                .map_err(|err| format!("<param name=\"{}\">: {err}", p.name))?;
            props.push((p.name.clone(), v));
        }
        Ok(Value::Object(props))
    }

    fn str_or_expr<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        v: &Option<StrOrExpr>,
    ) -> Result<Option<String>, String> {
        match v {
            None => Ok(None),
            Some(StrOrExpr::Str(s)) => Ok(Some(s.clone())),
            Some(StrOrExpr::Expr(e)) => step.dm.eval_string(&self.scope, &self.env(), *e).map(Some),
        }
    }

    fn raise_error(&mut self, name: &str, message: String, sendid: Option<String>) {
        tracing::debug!(session = %self.id, error = name, %message);
        let mut ev = Event::new(name, EventType::Platform);
        ev.sendid = sendid;
        ev.data = Value::Object(vec![("message".into(), Value::String(message))]);
        self.internal.push_back(ev);
    }

    fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    // ---- Executable content -------------------------------------------------------------

    fn execute_block<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        block: &Block,
    ) -> Exec {
        for action in block {
            self.execute(step, action)?;
        }
        Ok(())
    }

    fn fail(&mut self, message: String) -> Exec {
        self.raise_error("error.execution", message, None);
        Err(())
    }

    fn execute<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, action: &Action) -> Exec {
        match action {
            Action::Raise { event, .. } => {
                self.internal
                    .push_back(Event::new(event.clone(), EventType::Internal));
                Ok(())
            }
            Action::If { branches, .. } => {
                for (cond, block) in branches {
                    let take = match cond {
                        None => true,
                        Some(c) => {
                            match step.dm.eval_cond(&self.scope, &self.env(), *c) {
                                Ok(b) => b,
                                // SCXML §5.9: a condition that cannot be evaluated is false,
                                // and error.execution is raised.
                                Err(e) => {
                                    self.raise_error("error.execution", e, None);
                                    false
                                }
                            }
                        }
                    };
                    if take {
                        return self.execute_block(step, block);
                    }
                }
                Ok(())
            }
            Action::Foreach {
                array,
                item,
                index,
                body,
                ..
            } => {
                let items = match step.dm.items(&self.scope, &self.env(), *array) {
                    Ok(items) => items,
                    Err(e) => return self.fail(e),
                };
                let n = step.dm.item_count(&items);
                if n > self.limits.max_foreach {
                    return self.fail(format!(
                        "<foreach> over {n} items exceeds the limit of {}",
                        self.limits.max_foreach
                    ));
                }
                for i in 0..n {
                    let r = step
                        .dm
                        .assign_item(&self.scope, &self.env(), &items, i, *item, *index);
                    if let Err(e) = r {
                        return self.fail(e);
                    }
                    self.execute_block(step, body)?;
                }
                Ok(())
            }
            Action::Log { label, expr, .. } => {
                let message = match expr {
                    None => String::new(),
                    Some(e) => match step.dm.eval_string(&self.scope, &self.env(), *e) {
                        Ok(s) => s,
                        Err(e) => return self.fail(e),
                    },
                };
                tracing::info!(session = %self.id, label = label.as_deref().unwrap_or(""), %message, "log");
                step.out.push(Effect::Log {
                    label: label.clone(),
                    message,
                });
                Ok(())
            }
            Action::Assign {
                location, value, ..
            } => {
                let r = {
                    let env = self.env();
                    let init = match value {
                        AssignValue::Expr(e) => Init::Expr(*e),
                        AssignValue::Inline(t) => Init::Text(t),
                        AssignValue::None => Init::Undefined,
                    };
                    step.dm.assign(&self.scope, &env, *location, init)
                };
                r.or_else(|e| self.fail(e))
            }
            Action::Script { script, .. } => {
                let r = step.dm.exec_script(&self.scope, &self.env(), *script);
                r.or_else(|e| self.fail(e))
            }
            Action::Send(send) => self.execute_send(step, send),
            Action::Cancel { sendid, .. } => {
                let id = match self.str_or_expr(step, &Some(sendid.clone())) {
                    Ok(Some(id)) => id,
                    Ok(None) => return Ok(()),
                    Err(e) => return self.fail(e),
                };
                // SCXML §6.3: only this session's own pending sends can be cancelled.
                if let Some(i) = self.pending.iter().position(|p| p.sendid == id) {
                    let p = self.pending.remove(i);
                    step.out.push(Effect::CancelTimer { key: p.key });
                }
                Ok(())
            }
            Action::Custom(custom) => {
                let mut scope = DmScope {
                    env: self.env(),
                    scope: &self.scope,
                    dm: &mut *step.dm,
                };
                let r = step
                    .host
                    .custom_action(&self.id, custom, &mut scope, step.now);
                r.or_else(|e| self.fail(e))
            }
        }
    }

    fn execute_send<D: DataModel<Scope = S>>(
        &mut self,
        step: &mut Step<D>,
        send: &crate::model::Send,
    ) -> Exec {
        // SCXML §6.2: every argument is evaluated when <send> executes.
        let sendid = match &send.id {
            Some(id) => id.clone(),
            None => {
                let n = self.next_id();
                format!("{}.send.{n}", self.id)
            }
        };
        if let Some(loc) = send.idlocation {
            let v = Value::String(sendid.clone());
            let r = step
                .dm
                .assign(&self.scope, &self.env(), loc, Init::Value(&v));
            if let Err(e) = r {
                return self.fail(e);
            }
        }
        let explicit_id = send.id.is_some() || send.idlocation.is_some();
        let evaluated = (|| -> Result<_, String> {
            let name = self.str_or_expr(step, &send.event)?;
            let target = self.str_or_expr(step, &send.target)?;
            let type_ = self.str_or_expr(step, &send.type_)?;
            let delay = match self.str_or_expr(step, &send.delay)? {
                None => 0,
                Some(d) => parse_delay(&d).ok_or_else(|| format!("invalid delay '{d}'"))?,
            };
            let data = match &send.content {
                Some(c) => self.content_value(step, c)?,
                None => self.params_value(step, &send.namelist, &send.params)?,
            };
            Ok((name, target, type_, delay, data))
        })();
        let (name, target, type_, delay, data) = match evaluated {
            Ok(v) => v,
            Err(e) => {
                self.raise_error("error.execution", e, Some(sendid));
                return Err(());
            }
        };
        let mut event = Event::new(name.unwrap_or_default(), EventType::External);
        event.data = data;
        if explicit_id {
            event.sendid = Some(sendid.clone());
        }
        let type_ = type_.unwrap_or_else(|| SCXML_PROCESSOR.to_string());
        let delivery = if is_scxml_type(&type_) {
            event.origin = Some(format!("#_scxml_{}", self.id));
            event.origintype = Some(SCXML_PROCESSOR.to_string());
            match target.as_deref() {
                // Sends leave the session in document order through the host, so a send to
                // this session's own external queue cannot overtake an earlier send elsewhere.
                None | Some("") => Delivery::Out(SendTarget::Session(self.id.to_string()), event),
                Some("#_internal") => {
                    event.kind = EventType::Internal;
                    Delivery::OwnInternal(event)
                }
                Some("#_parent") => {
                    if self.parent.is_none() {
                        self.raise_error(
                            "error.communication",
                            "#_parent: this session was not invoked".into(),
                            Some(sendid),
                        );
                        return Ok(());
                    }
                    Delivery::Out(SendTarget::Parent, event)
                }
                Some(t) if t.starts_with("#_scxml_") => {
                    let sid = &t["#_scxml_".len()..];
                    if sid == &*self.id || step.host.session_exists(sid) {
                        Delivery::Out(SendTarget::Session(sid.to_string()), event)
                    } else {
                        self.raise_error(
                            "error.communication",
                            format!("no session '{sid}'"),
                            Some(sendid),
                        );
                        return Ok(());
                    }
                }
                Some(t) if t.starts_with("#_") => {
                    let inv = &t[2..];
                    if self.invocations.iter().any(|i| i.invokeid == inv) {
                        Delivery::Out(SendTarget::Invoked(inv.to_string()), event)
                    } else {
                        self.raise_error(
                            "error.communication",
                            format!("no active invocation '{inv}'"),
                            Some(sendid),
                        );
                        return Ok(());
                    }
                }
                Some(t) => {
                    // SCXML §6.2.4: a target the processor cannot interpret is error.execution.
                    self.raise_error(
                        "error.execution",
                        format!("invalid SCXML target '{t}'"),
                        Some(sendid),
                    );
                    return Err(());
                }
            }
        } else if is_basichttp_type(&type_) && step.host.supports_send_type("basichttp") {
            match target {
                Some(url) if !url.is_empty() => {
                    event.origintype = Some(BASICHTTP_PROCESSOR.to_string());
                    event.origin = self
                        .ioprocessors
                        .iter()
                        .find(|(k, _)| k == "basichttp")
                        .map(|(_, v)| v.clone());
                    Delivery::Out(SendTarget::BasicHttp(url), event)
                }
                _ => {
                    self.raise_error(
                        "error.communication",
                        "Basic HTTP send without a target URL".into(),
                        Some(sendid),
                    );
                    return Ok(());
                }
            }
        } else if step.host.supports_send_type(&type_) {
            Delivery::Out(
                SendTarget::Other {
                    type_,
                    target: target.unwrap_or_default(),
                },
                event,
            )
        } else {
            self.raise_error(
                "error.execution",
                format!("unsupported send type '{type_}'"),
                Some(sendid),
            );
            return Err(());
        };
        if delay > 0 {
            let key = self.next_id();
            let at = step.now.saturating_add(delay);
            step.out.push(Effect::ArmTimer { key, at });
            self.pending.push(Pending {
                key,
                sendid,
                at,
                delivery,
            });
        } else {
            match delivery {
                Delivery::OwnInternal(e) => self.internal.push_back(e),
                Delivery::Out(target, event) => step.out.push(Effect::Send { target, event }),
            }
        }
        Ok(())
    }

    fn start_invoke<D: DataModel<Scope = S>>(&mut self, step: &mut Step<D>, s: StateId, i: usize) {
        let doc = self.doc.clone();
        let inv = &doc.state(s).invokes[i];
        let invokeid = match &inv.id {
            Some(id) => id.clone(),
            None => {
                let n = self.next_id();
                format!("{}.{}.{n}", doc.state(s).id, self.id)
            }
        };
        if let Some(loc) = inv.idlocation {
            let v = Value::String(invokeid.clone());
            let r = step
                .dm
                .assign(&self.scope, &self.env(), loc, Init::Value(&v));
            if let Err(e) = r {
                self.raise_error("error.execution", e, None);
                return;
            }
        }
        let evaluated = (|| -> Result<_, String> {
            let type_ = self
                .str_or_expr(step, &inv.type_)?
                .unwrap_or_else(|| "scxml".into());
            let src = self.str_or_expr(step, &inv.src)?;
            let content = match &inv.content {
                None => None,
                Some(Content::Inline(c)) if c.document.is_some() => {
                    c.document.clone().map(InvokeContent::Document)
                }
                Some(Content::Inline(c)) if c.document_error.is_some() => {
                    return Err(c.document_error.clone().unwrap_or_default());
                }
                Some(c) => Some(InvokeContent::Value(self.content_value(step, c)?)),
            };
            let params = match self.params_value(step, &inv.namelist, &inv.params)? {
                Value::Object(p) => p,
                _ => Vec::new(),
            };
            Ok((type_, src, content, params))
        })();
        let (type_, src, content, params) = match evaluated {
            Ok(v) => v,
            Err(e) => {
                // SCXML §6.4: an error evaluating invoke arguments cancels the invocation.
                self.raise_error("error.execution", e, None);
                return;
            }
        };
        let type_ = if is_scxml_invoke_type(&type_) {
            "scxml".to_string()
        } else if step.host.supports_invoke_type(&type_) {
            type_
        } else {
            self.raise_error(
                "error.execution",
                format!("unsupported invoke type '{type_}'"),
                None,
            );
            return;
        };
        self.invocations.push(Invocation {
            state: s,
            index: i,
            invokeid: invokeid.clone(),
            autoforward: inv.autoforward,
        });
        step.out.push(Effect::Invoke(InvokeRequest {
            invokeid,
            state: s,
            index: i,
            type_,
            src,
            content,
            params,
            autoforward: inv.autoforward,
        }));
    }
}

struct Entry {
    to_enter: StateSet,
    default_entry: StateSet,
    /// (parent of a history state, default transition whose content runs after parent entry)
    history_content: Vec<(StateId, TransitionId)>,
}

fn is_scxml_type(t: &str) -> bool {
    t == SCXML_PROCESSOR || t == "scxml"
}

fn is_basichttp_type(t: &str) -> bool {
    t == BASICHTTP_PROCESSOR || t == "basichttp"
}

/// SCXML §6.4.1: the SCXML invoke type in any of its accepted spellings.
fn is_scxml_invoke_type(t: &str) -> bool {
    matches!(
        t,
        "http://www.w3.org/TR/scxml/" | "http://www.w3.org/TR/scxml" | "scxml"
    )
}

/// Parses a CSS2-style time value (`.5s`, `1500ms`, `2s`, `1m`) into milliseconds.
pub fn parse_delay(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else if let Some(n) = s.strip_suffix('d') {
        (n, 86_400_000.0)
    } else {
        (s, 1.0)
    };
    let num = num.trim();
    if num.is_empty()
        || !num.chars().all(|c| c.is_ascii_digit() || c == '.')
        || num.chars().filter(|&c| c == '.').count() > 1
        || num == "."
    {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let ms = (v * mult).round();
    (0.0..1e15).contains(&ms).then_some(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_delay;

    #[test]
    fn delays_follow_css2_time_values() {
        assert_eq!(parse_delay(".5s"), Some(500));
        assert_eq!(parse_delay("1.5s"), Some(1500));
        assert_eq!(parse_delay("250ms"), Some(250));
        assert_eq!(parse_delay("2m"), Some(120_000));
        assert_eq!(parse_delay("10"), Some(10));
        assert_eq!(parse_delay("s"), None);
        assert_eq!(parse_delay("-1s"), None);
        assert_eq!(parse_delay("1..2s"), None);
    }
}
