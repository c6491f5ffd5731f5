//! A sans-IO host for many sessions on one thread: routes events between sessions
//! (`#_parent`, `#_<invokeid>`, `#_scxml_<id>`), starts and cancels invoked child sessions,
//! keeps one timer heap for delayed sends, and hands everything else (Basic HTTP sends, log
//! lines, finished sessions) to its caller as [`Output`]. Time is always a parameter.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use crate::datamodel::DataModel;
use crate::event::{Event, EventType, Value, SCXML_PROCESSOR};
use crate::interp::{
    Effect, Host, InvokeContent, InvokeRequest, Limits, ParentLink, SendTarget, Session,
    SessionOptions, Step,
};
use crate::model::{CustomAction, Document};
use crate::parse::{parse_document, Loader};

/// What the system hands back to its caller.
#[derive(Debug, Clone)]
pub enum Output {
    Log {
        session: String,
        label: Option<String>,
        message: String,
    },
    /// An event for a send type the caller implements (Basic HTTP and registered types).
    Send {
        session: String,
        target: SendTarget,
        event: Event,
    },
    /// A top-level session finished (reached `<final>`, was halted or cancelled).
    Finished {
        session: String,
        final_state: Option<String>,
        halted: Option<String>,
    },
}

enum WorkKind {
    Cancel,
    Other,
}

enum Work {
    Start,
    Deliver(Event),
    Timer(u64),
    Cancel,
    InvokeFailed(String, String),
    SendFailed(Option<String>, String),
}

struct Entry<S> {
    session: Session<S>,
    /// invokeid → child session id.
    children: Vec<(String, String)>,
}

/// Delivers events to targets the system does not route itself (Basic HTTP, host types).
pub trait Transport {
    /// Sends one event; an `Err` becomes `error.communication` in the sending session.
    fn send(&mut self, session: &str, target: &SendTarget, event: &Event) -> Result<(), String>;
    /// Events that arrived from outside, as `(session id, event)`. Polled right after every
    /// send, so an event that comes back at once keeps its place in the order of sends.
    fn poll(&mut self) -> Option<(String, Event)>;
}

/// Executes action elements of one foreign namespace (ORS-style `queue:submit`, `ixn:*`, ...).
pub trait ActionHandler {
    /// Runs `action` for `session`. `eval` evaluates an expression in the session's data model
    /// (ORS action attributes are expressions). Events pushed to `reply` are delivered to the
    /// session's external queue after the current macrostep; an action that completes later
    /// delivers its events with [`System::deliver`]. An `Err` raises `error.execution`.
    fn execute(
        &mut self,
        session: &str,
        action: &CustomAction,
        eval: &mut dyn FnMut(&str) -> Result<Value, String>,
        reply: &mut Vec<Event>,
    ) -> Result<(), String>;
}

/// Capabilities a system offers its sessions beyond the SCXML processor.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Send types the caller delivers (for example `basichttp`).
    pub send_types: Vec<String>,
    /// Where a session's Basic HTTP processor listens: the session id is appended.
    pub basichttp_base: Option<String>,
    pub limits: Limits,
}

/// Many sessions, one data model, one timer heap.
pub struct System<D: DataModel> {
    sessions: HashMap<String, Entry<D::Scope>>,
    timers: BinaryHeap<Reverse<(u64, u64, String, u64)>>,
    work: VecDeque<(String, Work)>,
    loader: Box<dyn Loader>,
    caps: Capabilities,
    output: Vec<Output>,
    transport: Option<Box<dyn Transport>>,
    handlers: Vec<(String, Box<dyn ActionHandler>)>,
    counter: u64,
    timer_seq: u64,
    events_processed: u64,
}

struct SystemHost<'a> {
    live: &'a dyn Fn(&str) -> bool,
    caps: &'a Capabilities,
    handlers: &'a mut Vec<(String, Box<dyn ActionHandler>)>,
    replies: &'a mut Vec<Event>,
}

impl Host for SystemHost<'_> {
    fn session_exists(&self, id: &str) -> bool {
        (self.live)(id)
    }
    fn supports_send_type(&self, type_: &str) -> bool {
        self.caps.send_types.iter().any(|t| t == type_)
    }
    fn supports_invoke_type(&self, _: &str) -> bool {
        false
    }
    fn custom_action(
        &mut self,
        session: &str,
        action: &CustomAction,
        eval: &mut dyn FnMut(&str) -> Result<Value, String>,
    ) -> Result<(), String> {
        match self
            .handlers
            .iter_mut()
            .find(|(ns, _)| *ns == action.namespace)
        {
            Some((_, h)) => h.execute(session, action, eval, self.replies),
            None => Err(format!(
                "no handler for <{}> in namespace {}",
                action.name, action.namespace
            )),
        }
    }
}

impl<D: DataModel> System<D> {
    pub fn new(loader: Box<dyn Loader>, caps: Capabilities) -> System<D> {
        System {
            sessions: HashMap::new(),
            timers: BinaryHeap::new(),
            work: VecDeque::new(),
            loader,
            caps,
            output: Vec::new(),
            transport: None,
            handlers: Vec::new(),
            counter: 0,
            timer_seq: 0,
            events_processed: 0,
        }
    }

    /// Registers the handler for action elements in `namespace` (replacing any earlier one).
    pub fn register_action_handler(&mut self, namespace: &str, handler: Box<dyn ActionHandler>) {
        self.handlers.retain(|(ns, _)| ns != namespace);
        self.handlers.push((namespace.to_string(), handler));
    }

    /// Sends to other targets go through `transport` instead of [`Output::Send`].
    pub fn set_transport(&mut self, transport: Box<dyn Transport>) {
        self.transport = Some(transport);
    }

    /// Picks up events that arrived through the transport.
    pub fn poll(&mut self, dm: &mut D, now: u64) {
        self.poll_transport();
        self.process(dm, now);
    }

    fn poll_transport(&mut self) {
        if let Some(t) = self.transport.as_mut() {
            while let Some((sid, ev)) = t.poll() {
                self.work.push_back((sid, Work::Deliver(ev)));
            }
        }
    }

    fn new_id(&mut self) -> String {
        self.counter += 1;
        format!("s{}", self.counter)
    }

    fn options(
        &self,
        id: &str,
        parent: Option<ParentLink>,
        initial: Vec<(String, Value)>,
    ) -> SessionOptions {
        SessionOptions {
            ioprocessors: self
                .caps
                .basichttp_base
                .as_ref()
                .map(|b| vec![("basichttp".to_string(), format!("{b}{id}"))])
                .unwrap_or_default(),
            initial_values: initial,
            parent,
            limits: self.caps.limits,
        }
    }

    /// Creates and starts a top-level session; returns its id.
    pub fn start(&mut self, dm: &mut D, doc: Arc<Document>, now: u64) -> String {
        let id = self.new_id();
        let opts = self.options(&id, None, Vec::new());
        let session = Session::new(dm, doc, id.clone(), opts);
        self.sessions.insert(
            id.clone(),
            Entry {
                session,
                children: Vec::new(),
            },
        );
        self.work.push_back((id.clone(), Work::Start));
        self.process(dm, now);
        id
    }

    /// Delivers an external event to a session. Returns false when there is no such session.
    pub fn deliver(&mut self, dm: &mut D, session: &str, event: Event, now: u64) -> bool {
        if !self.sessions.contains_key(session) {
            return false;
        }
        self.work
            .push_back((session.to_string(), Work::Deliver(event)));
        self.process(dm, now);
        true
    }

    /// Cancels a session (and its invoked children).
    pub fn cancel(&mut self, dm: &mut D, session: &str, now: u64) {
        self.work.push_back((session.to_string(), Work::Cancel));
        self.process(dm, now);
    }

    /// An [`Output::Send`] could not be delivered: the session gets `error.communication`.
    pub fn send_failed(
        &mut self,
        dm: &mut D,
        session: &str,
        sendid: Option<String>,
        message: String,
        now: u64,
    ) {
        self.work
            .push_back((session.to_string(), Work::SendFailed(sendid, message)));
        self.process(dm, now);
    }

    /// Fires every timer due at `now`.
    pub fn advance(&mut self, dm: &mut D, now: u64) {
        while let Some(Reverse((at, _, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, _, sid, key))) = self.timers.pop() {
                self.work.push_back((sid, Work::Timer(key)));
                self.process(dm, now);
            }
        }
    }

    /// When the next timer is due, if any session is waiting on one.
    pub fn next_deadline(&mut self) -> Option<u64> {
        // Drop timers of sessions that are gone.
        while let Some(Reverse((_, _, sid, _))) = self.timers.peek() {
            if self.sessions.contains_key(sid) {
                break;
            }
            self.timers.pop();
        }
        self.timers.peek().map(|Reverse((at, ..))| *at)
    }

    pub fn take_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.output)
    }

    pub fn session(&self, id: &str) -> Option<&Session<D::Scope>> {
        self.sessions.get(id).map(|e| &e.session)
    }

    /// Ids of the sessions alive now.
    pub fn session_ids(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Events and starts processed so far (for statistics).
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    fn process(&mut self, dm: &mut D, now: u64) {
        let mut effects = Vec::new();
        while let Some((sid, work)) = self.work.pop_front() {
            let Some(mut entry) = self.sessions.remove(&sid) else {
                continue;
            };
            self.events_processed += 1;
            let work_kind = match &work {
                Work::Cancel => WorkKind::Cancel,
                _ => WorkKind::Other,
            };
            let mut replies = Vec::new();
            {
                let _span = tracing::debug_span!("scxml_session", session = %sid).entered();
                let sessions = &self.sessions;
                let live = |id: &str| sessions.contains_key(id) || id == sid;
                let mut host = SystemHost {
                    live: &live,
                    caps: &self.caps,
                    handlers: &mut self.handlers,
                    replies: &mut replies,
                };
                let mut step = Step {
                    dm: &mut *dm,
                    host: &mut host,
                    now,
                    out: &mut effects,
                };
                let s = &mut entry.session;
                match work {
                    Work::Start => s.start(&mut step),
                    Work::Deliver(ev) => s.deliver(&mut step, ev),
                    Work::Timer(key) => s.fire_timer(&mut step, key),
                    Work::Cancel => s.cancel(&mut step),
                    Work::InvokeFailed(id, msg) => s.invoke_failed(&mut step, &id, &msg),
                    Work::SendFailed(sendid, msg) => s.send_failed(&mut step, sendid, &msg),
                }
            }
            let finished = entry.session.is_finished();
            // SCXML §6.4: once cancelled, an invoked session's events (from its exit handlers)
            // are not delivered to its parent.
            let cancelled = matches!(work_kind, WorkKind::Cancel);
            let parent = if cancelled {
                None
            } else {
                entry.session.parent().cloned()
            };
            let children = entry.children.clone();
            self.sessions.insert(sid.clone(), entry);
            for effect in effects.drain(..) {
                self.apply(dm, &sid, parent.as_ref(), effect, now);
            }
            for ev in replies {
                self.work.push_back((sid.clone(), Work::Deliver(ev)));
            }
            if finished || cancelled {
                // A finished or cancelled session's invoked children are cancelled too.
                for (_, child) in children {
                    if self.sessions.contains_key(&child) {
                        self.work.push_front((child, Work::Cancel));
                    }
                }
                self.sessions.remove(&sid);
            }
        }
    }

    fn apply(
        &mut self,
        dm: &mut D,
        sid: &str,
        parent: Option<&ParentLink>,
        effect: Effect,
        now: u64,
    ) {
        match effect {
            Effect::Send { target, mut event } => match target {
                SendTarget::Parent => {
                    // `parent` is None for a session being cancelled: its events are dropped.
                    if let Some(p) = parent {
                        event.invokeid = Some(p.invokeid.clone());
                        self.work
                            .push_back((p.session_id.clone(), Work::Deliver(event)));
                    }
                }
                SendTarget::Invoked(inv) => {
                    let child = self
                        .sessions
                        .get(sid)
                        .and_then(|e| e.children.iter().find(|(i, _)| *i == inv))
                        .map(|(_, c)| c.clone());
                    match child {
                        Some(child) if self.sessions.contains_key(&child) => {
                            self.work.push_back((child, Work::Deliver(event)));
                        }
                        _ => self.work.push_back((
                            sid.to_string(),
                            Work::SendFailed(
                                event.sendid.clone(),
                                format!("invoked session '{inv}' has ended"),
                            ),
                        )),
                    }
                }
                SendTarget::Session(target) => {
                    if self.sessions.contains_key(&target) || target == sid {
                        self.work.push_back((target, Work::Deliver(event)));
                    } else {
                        self.work.push_back((
                            sid.to_string(),
                            Work::SendFailed(
                                event.sendid.clone(),
                                format!("no session '{target}'"),
                            ),
                        ));
                    }
                }
                other => match self.transport.as_mut() {
                    Some(t) => {
                        if let Err(e) = t.send(sid, &other, &event) {
                            self.work.push_back((
                                sid.to_string(),
                                Work::SendFailed(event.sendid.clone(), e),
                            ));
                        }
                        self.poll_transport();
                    }
                    None => self.output.push(Output::Send {
                        session: sid.to_string(),
                        target: other,
                        event,
                    }),
                },
            },
            Effect::ArmTimer { key, at } => {
                self.timer_seq += 1;
                self.timers
                    .push(Reverse((at, self.timer_seq, sid.to_string(), key)));
            }
            // The session ignores a timer it no longer has; the heap entry is dropped lazily.
            Effect::CancelTimer { .. } => {}
            Effect::Invoke(req) => self.invoke(dm, sid, req, now),
            Effect::CancelInvoke { invokeid } => {
                let child = self.sessions.get_mut(sid).and_then(|e| {
                    let i = e.children.iter().position(|(inv, _)| *inv == invokeid)?;
                    Some(e.children.remove(i).1)
                });
                if let Some(child) = child {
                    self.work.push_front((child, Work::Cancel));
                }
            }
            Effect::Log { label, message } => self.output.push(Output::Log {
                session: sid.to_string(),
                label,
                message,
            }),
            Effect::Done {
                final_state,
                donedata,
            } => match parent {
                Some(p) => {
                    let mut ev =
                        Event::new(format!("done.invoke.{}", p.invokeid), EventType::External);
                    ev.invokeid = Some(p.invokeid.clone());
                    ev.data = donedata;
                    ev.origin = Some(format!("#_scxml_{sid}"));
                    ev.origintype = Some(SCXML_PROCESSOR.to_string());
                    self.work
                        .push_back((p.session_id.clone(), Work::Deliver(ev)));
                }
                None => self.output.push(Output::Finished {
                    session: sid.to_string(),
                    final_state: Some(final_state),
                    halted: None,
                }),
            },
            Effect::Halted { reason } => {
                if parent.is_none() {
                    self.output.push(Output::Finished {
                        session: sid.to_string(),
                        final_state: None,
                        halted: Some(reason),
                    });
                }
            }
        }
    }

    fn invoke(&mut self, dm: &mut D, parent_id: &str, req: InvokeRequest, _now: u64) {
        let base = self
            .sessions
            .get(parent_id)
            .and_then(|e| e.session.document().base_uri.clone());
        let doc: Result<Arc<Document>, String> = match (&req.content, &req.src) {
            (Some(InvokeContent::Document(d)), _) => Ok(d.clone()),
            (Some(InvokeContent::Value(Value::String(text) | Value::Xml(text))), _) => {
                parse_document(text, base.as_deref(), &*self.loader)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }
            (Some(InvokeContent::Value(_)), _) => Err("invoke content is not a document".into()),
            (None, Some(src)) => self
                .loader
                .load(src, base.as_deref())
                .and_then(|(text, uri)| {
                    parse_document(&text, Some(&uri), &*self.loader)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                }),
            (None, None) => Err("invoke has neither src nor content".into()),
        };
        let doc = match doc {
            Ok(d) => d,
            Err(e) => {
                self.work
                    .push_back((parent_id.to_string(), Work::InvokeFailed(req.invokeid, e)));
                return;
            }
        };
        let child = self.new_id();
        let opts = self.options(
            &child,
            Some(ParentLink {
                session_id: parent_id.to_string(),
                invokeid: req.invokeid.clone(),
            }),
            req.params,
        );
        let session = Session::new(dm, doc, child.clone(), opts);
        self.sessions.insert(
            child.clone(),
            Entry {
                session,
                children: Vec::new(),
            },
        );
        if let Some(p) = self.sessions.get_mut(parent_id) {
            p.children.push((req.invokeid, child.clone()));
        }
        self.work.push_back((child, Work::Start));
    }
}
