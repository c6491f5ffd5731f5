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
    ActionScope, Effect, Host, InvokeContent, InvokeRequest, Limits, ParentLink, SendTarget,
    Session, SessionOptions, Step,
};
use crate::model::{Content, CustomAction, Document};
use crate::parse::{parse_document, Loader};
use crate::snapshot::{DocOrigin, SessionTree};

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
    /// invokeid → invoke type, for invocations a registered [`InvokeHandler`] serves.
    host_children: Vec<(String, String)>,
    origin: DocOrigin,
    /// When it last processed work (for [`System::park_idle`]).
    active_at: u64,
    /// Its last snapshot and the session revision it was taken at (kept only while parking
    /// is on, so parking a session that has not changed since does not encode it again).
    snap: Option<(u64, SessionTree)>,
}

/// A top-level session kept as its snapshot while it waits (see [`System::park_idle`]).
struct Parked {
    doc: Arc<Document>,
    tree: SessionTree,
}

/// Delivers events to targets the system does not route itself (Basic HTTP, host types, and
/// sessions that live in another system of the same host).
pub trait Transport {
    /// Sends one event; an `Err` becomes `error.communication` in the sending session.
    fn send(&mut self, session: &str, target: &SendTarget, event: &Event) -> Result<(), String>;
    /// Events that arrived from outside, as `(session id, event)`. Polled right after every
    /// send, so an event that comes back at once keeps its place in the order of sends.
    fn poll(&mut self) -> Option<(String, Event)>;
    /// Whether `#_scxml_<id>` names a session this transport can reach (one in another
    /// system); sends to it then go through [`Transport::send`] with [`SendTarget::Session`].
    fn session_exists(&self, _id: &str) -> bool {
        false
    }
}

/// What an action handler gets: the element, the session running it and the time.
pub struct ActionContext<'a> {
    pub session: &'a str,
    pub action: &'a CustomAction,
    /// The host's clock (milliseconds) at this macrostep.
    pub now: u64,
    /// Evaluates attribute expressions in, and assigns locations of, the session's data model.
    pub scope: &'a mut dyn ActionScope,
    /// Events delivered to the session's external queue after the current macrostep.
    pub reply: &'a mut Vec<Event>,
}

/// Executes action elements of one foreign namespace (ORS-style `queue:submit`, `ixn:*`, ...).
pub trait ActionHandler {
    /// Runs the action. An action that completes later delivers its events with
    /// [`System::deliver`]. An `Err` raises `error.execution` in the session.
    fn execute(&mut self, cx: ActionContext<'_>) -> Result<(), String>;
}

/// Serves `<invoke type="...">` for a type the host implements. Events from the invoked
/// service come back through [`System::deliver_from_invoked`].
pub trait InvokeHandler {
    /// Starts the invocation; an `Err` raises `error.execution` in the invoking session.
    fn start(&mut self, session: &str, request: &InvokeRequest, now: u64) -> Result<(), String>;
    /// An event for the invoked service (`<send target="#_<invokeid>">`, autoforward).
    fn send(
        &mut self,
        session: &str,
        invokeid: &str,
        event: &Event,
        now: u64,
    ) -> Result<(), String>;
    /// The invoking state was left or the session ended: stop the service.
    fn cancel(&mut self, session: &str, invokeid: &str, now: u64);
}

/// Why a session could not be started or restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SystemError {
    #[error("a session with id '{0}' already exists")]
    DuplicateId(String),
    #[error("the session id '{0}' is not usable (1 to 256 characters, no control characters)")]
    BadId(String),
    #[error("the snapshot cannot be restored: {0}")]
    Snapshot(String),
}

/// How a top-level session is started.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The session id; `None` picks one (`s1`, `s2`, ...). Unique among live sessions.
    pub id: Option<String>,
    /// Values for `<data>` of the same id, replacing the document's (ORS start parameters).
    pub data: Vec<(String, Value)>,
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
    invokers: Vec<(String, Box<dyn InvokeHandler>)>,
    /// Top-level sessions that processed work since the last [`System::take_touched`], in
    /// order, and as a set.
    touched: Vec<String>,
    touched_set: std::collections::HashSet<String>,
    counter: u64,
    timer_seq: u64,
    events_processed: u64,
    /// Parked sessions: out of the data model, rebuilt from their snapshot by the next work
    /// for them. Their timers stay in `timers`.
    /// Boxed, and hashed with foldhash (seeded per map): the map holds tens of thousands, and
    /// growing it moves and rehashes every slot.
    parked: HashMap<String, Box<Parked>, foldhash::fast::RandomState>,
    /// Idle time after which a session is parked; `None`: never.
    park_after: Option<u64>,
    /// `(active at, session)` in the order top-level sessions were last active; stale pairs
    /// (the session was active again since) are skipped.
    idle: VecDeque<(u64, String)>,
}

struct SystemHost<'a> {
    live: &'a dyn Fn(&str) -> bool,
    caps: &'a Capabilities,
    handlers: &'a mut Vec<(String, Box<dyn ActionHandler>)>,
    invoke_types: &'a [(String, Box<dyn InvokeHandler>)],
    replies: &'a mut Vec<Event>,
}

impl Host for SystemHost<'_> {
    fn session_exists(&self, id: &str) -> bool {
        (self.live)(id)
    }
    fn supports_send_type(&self, type_: &str) -> bool {
        self.caps.send_types.iter().any(|t| t == type_)
    }
    fn supports_invoke_type(&self, type_: &str) -> bool {
        self.invoke_types.iter().any(|(t, _)| t == type_)
    }
    fn custom_action(
        &mut self,
        session: &str,
        action: &CustomAction,
        scope: &mut dyn ActionScope,
        now: u64,
    ) -> Result<(), String> {
        match self
            .handlers
            .iter_mut()
            .find(|(ns, _)| *ns == action.namespace)
        {
            Some((_, h)) => h.execute(ActionContext {
                session,
                action,
                now,
                scope,
                reply: self.replies,
            }),
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
            invokers: Vec::new(),
            touched: Vec::new(),
            touched_set: std::collections::HashSet::new(),
            counter: 0,
            timer_seq: 0,
            events_processed: 0,
            parked: HashMap::default(),
            park_after: None,
            idle: VecDeque::new(),
        }
    }

    /// Parks top-level sessions idle for `after` ms at [`System::park_idle`]; `None` (the
    /// default) keeps every session in the data model.
    ///
    /// A parked session is kept as its snapshot: nothing of it stays in the data model, so a
    /// host with many waiting sessions has a small script heap (short collections, less
    /// memory). The next event, timer or cancel for it rebuilds it first, exactly as a
    /// restore after a restart would (values a snapshot cannot hold, such as closures over a
    /// function's locals, do not survive; see [`crate::ecma`]). Sessions with invoked
    /// children are never parked.
    pub fn set_park_after(&mut self, after: Option<u64>) {
        self.park_after = after;
        if after.is_none() {
            for e in self.sessions.values_mut() {
                e.snap = None;
            }
        }
    }

    /// Parks the sessions idle since `now - park_after` (see [`System::set_park_after`]);
    /// answers how many were parked.
    pub fn park_idle(&mut self, dm: &mut D, now: u64) -> usize {
        let Some(after) = self.park_after else {
            return 0;
        };
        if !self.work.is_empty() {
            return 0;
        }
        let mut parked = 0;
        while let Some((at, _)) = self.idle.front() {
            if at.saturating_add(after) > now {
                break;
            }
            let Some((at, sid)) = self.idle.pop_front() else {
                break;
            };
            let parkable = self.sessions.get(&sid).is_some_and(|e| {
                e.active_at == at
                    && e.session.parent().is_none()
                    && e.children.is_empty()
                    && e.host_children.is_empty()
                    && !e.session.is_finished()
            });
            if !parkable {
                continue;
            }
            let cached = self.sessions.get_mut(&sid).and_then(|e| {
                let rev = e.session.revision();
                e.snap.take().filter(|(r, _)| *r == rev).map(|(_, t)| t)
            });
            let tree = match cached {
                Some(t) => t,
                None => match self.snapshot_tree(dm, &sid) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(session = %sid, error = %e, "session not parked");
                        continue;
                    }
                },
            };
            if let Some(entry) = self.sessions.remove(&sid) {
                let doc = entry.session.document().clone();
                self.parked.insert(sid, Box::new(Parked { doc, tree }));
                parked += 1;
            }
        }
        parked
    }

    /// Rebuilds a parked session in the data model; true when `id` is alive now.
    pub fn wake(&mut self, dm: &mut D, id: &str) -> bool {
        if self.sessions.contains_key(id) {
            return true;
        }
        let Some(p) = self.parked.remove(id) else {
            return false;
        };
        let kept = p.tree.clone();
        match Session::restore(dm, p.doc.clone(), p.tree.session, self.caps.limits) {
            Ok(session) => {
                let snap = Some((session.revision(), kept));
                self.sessions.insert(
                    id.to_string(),
                    Entry {
                        session,
                        children: Vec::new(),
                        host_children: p.tree.host_invocations,
                        origin: p.tree.origin,
                        active_at: 0,
                        snap,
                    },
                );
                // Parked again at the next sweep unless it does something first.
                self.idle.push_back((0, id.to_string()));
                true
            }
            Err(e) => {
                // Its snapshot was taken here: this is a bug, not bad input. The session is
                // lost; its host hears that it finished.
                tracing::error!(session = %id, error = %e, "a parked session could not be rebuilt");
                self.output.push(Output::Finished {
                    session: id.to_string(),
                    final_state: None,
                    halted: Some(format!("could not be rebuilt from its snapshot: {e}")),
                });
                false
            }
        }
    }

    /// How many sessions are parked now.
    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }

    /// Registers the handler for action elements in `namespace` (replacing any earlier one).
    pub fn register_action_handler(&mut self, namespace: &str, handler: Box<dyn ActionHandler>) {
        self.handlers.retain(|(ns, _)| ns != namespace);
        self.handlers.push((namespace.to_string(), handler));
    }

    /// Serves `<invoke type="{type_}">` with `handler` (replacing any earlier one).
    pub fn register_invoke_handler(&mut self, type_: &str, handler: Box<dyn InvokeHandler>) {
        self.invokers.retain(|(t, _)| t != type_);
        self.invokers.push((type_.to_string(), handler));
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
        loop {
            self.counter += 1;
            let id = format!("s{}", self.counter);
            if !self.contains(&id) {
                return id;
            }
        }
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

    /// Creates and starts a top-level session with a system-chosen id; returns the id.
    pub fn start(&mut self, dm: &mut D, doc: Arc<Document>, now: u64) -> String {
        let id = self.new_id();
        self.start_entry(dm, doc, id.clone(), Vec::new(), now);
        id
    }

    /// Creates and starts a top-level session as `opts` says; returns its id.
    pub fn start_with(
        &mut self,
        dm: &mut D,
        doc: Arc<Document>,
        opts: StartOptions,
        now: u64,
    ) -> Result<String, SystemError> {
        let id = match opts.id {
            Some(id) => {
                if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
                    return Err(SystemError::BadId(id));
                }
                if self.contains(&id) {
                    return Err(SystemError::DuplicateId(id));
                }
                id
            }
            None => self.new_id(),
        };
        self.start_entry(dm, doc, id.clone(), opts.data, now);
        Ok(id)
    }

    fn start_entry(
        &mut self,
        dm: &mut D,
        doc: Arc<Document>,
        id: String,
        data: Vec<(String, Value)>,
        now: u64,
    ) {
        let opts = self.options(&id, None, data);
        let session = Session::new(dm, doc, id.clone(), opts);
        self.sessions.insert(
            id.clone(),
            Entry {
                session,
                children: Vec::new(),
                host_children: Vec::new(),
                origin: DocOrigin::Host,
                active_at: now,
                snap: None,
            },
        );
        self.work.push_back((id, Work::Start));
        self.process(dm, now);
    }

    /// The top-level sessions that changed (or ended) since the last call, each once, in the
    /// order they first changed: what a host must save again. An event that no transition
    /// took leaves a session unchanged.
    pub fn take_touched(&mut self) -> Vec<String> {
        self.touched_set.clear();
        std::mem::take(&mut self.touched)
    }

    fn touch(&mut self, sid: &str) {
        // An invoked session belongs to its top-level ancestor's snapshot.
        let mut root = sid.to_string();
        while let Some(p) = self
            .sessions
            .get(&root)
            .and_then(|e| e.session.parent())
            .map(|p| p.session_id.clone())
        {
            root = p;
        }
        if !self.touched_set.contains(&root) {
            self.touched_set.insert(root.clone());
            self.touched.push(root);
        }
    }

    /// Whether a session with this id is alive here.
    pub fn contains(&self, id: &str) -> bool {
        self.sessions.contains_key(id) || self.parked.contains_key(id)
    }

    /// A top-level session with the sessions it invoked, as data (between macrosteps).
    pub fn snapshot(&mut self, dm: &mut D, id: &str) -> Result<SessionTree, String> {
        if let Some(p) = self.parked.get(id) {
            return Ok(p.tree.clone());
        }
        let tree = self.snapshot_tree(dm, id)?;
        if self.park_after.is_some() {
            if let Some(e) = self.sessions.get_mut(id) {
                if e.session.parent().is_none() {
                    e.snap = Some((e.session.revision(), tree.clone()));
                }
            }
        }
        Ok(tree)
    }

    fn snapshot_tree(&self, dm: &mut D, id: &str) -> Result<SessionTree, String> {
        let entry = self
            .sessions
            .get(id)
            .ok_or_else(|| format!("no session '{id}'"))?;
        let mut children = Vec::new();
        for (invokeid, child) in &entry.children {
            if self.sessions.contains_key(child) {
                children.push((invokeid.clone(), self.snapshot_tree(dm, child)?));
            }
        }
        Ok(SessionTree {
            session: entry.session.snapshot(dm)?,
            origin: entry.origin.clone(),
            children,
            host_invocations: entry.host_children.clone(),
        })
    }

    /// Rebuilds a session from [`System::snapshot`], with `doc` the document of its top-level
    /// session (invoked sessions find theirs from their origin). Its timers are armed at the
    /// instants they were due; those already past fire at the next [`System::advance`], in
    /// order. Nothing runs now.
    pub fn restore(
        &mut self,
        dm: &mut D,
        doc: Arc<Document>,
        tree: SessionTree,
    ) -> Result<(), SystemError> {
        if self.contains(&tree.session.id) {
            return Err(SystemError::DuplicateId(tree.session.id));
        }
        let top = tree.session.id.clone();
        let kept = self.park_after.map(|_| tree.clone());
        let mut built = Vec::new();
        self.rebuild(dm, doc, tree, &mut built)
            .map_err(SystemError::Snapshot)?;
        for (id, mut entry) in built {
            for (key, _, at) in entry.session.pending_timers() {
                self.timer_seq += 1;
                self.timers
                    .push(Reverse((at, self.timer_seq, id.clone(), key)));
            }
            if id == top && self.park_after.is_some() {
                // Restored sessions have been idle since they were saved.
                entry.snap = kept.clone().map(|t| (entry.session.revision(), t));
                self.idle.push_back((0, id.clone()));
            }
            self.sessions.insert(id, entry);
        }
        Ok(())
    }

    fn rebuild(
        &self,
        dm: &mut D,
        doc: Arc<Document>,
        tree: SessionTree,
        built: &mut Vec<(String, Entry<D::Scope>)>,
    ) -> Result<(), String> {
        let id = tree.session.id.clone();
        if self.contains(&id) || built.iter().any(|(b, _)| *b == id) {
            return Err(format!("session '{id}' exists already"));
        }
        let mut children = Vec::new();
        for (invokeid, child) in tree.children {
            let child_doc = self.child_document(&doc, &child.origin)?;
            children.push((invokeid, child.session.id.clone()));
            self.rebuild(dm, child_doc, child, built)?;
        }
        let session = Session::restore(dm, doc, tree.session, self.caps.limits)?;
        built.push((
            id,
            Entry {
                session,
                children,
                host_children: tree.host_invocations,
                origin: tree.origin,
                active_at: 0,
                snap: None,
            },
        ));
        Ok(())
    }

    fn child_document(
        &self,
        parent: &Document,
        origin: &DocOrigin,
    ) -> Result<Arc<Document>, String> {
        match origin {
            DocOrigin::Host => Err("an invoked session has no document of its own".into()),
            DocOrigin::Inline { state, index } => {
                let inline = parent
                    .states
                    .get(*state as usize)
                    .and_then(|s| s.invokes.get(*index as usize))
                    .and_then(|i| match &i.content {
                        Some(Content::Inline(c)) => c.document.clone(),
                        _ => None,
                    });
                inline.ok_or_else(|| {
                    format!("the document has no inline child at state {state}, invoke {index}")
                })
            }
            DocOrigin::Source { uri } => {
                let (text, uri) = self.loader.load(uri, None)?;
                parse_document(&text, Some(&uri), &*self.loader)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }
            DocOrigin::Text { text } => {
                parse_document(text, parent.base_uri.as_deref(), &*self.loader)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Evaluates an expression in a live session's data model (for consoles and queries).
    pub fn eval_in(&self, dm: &mut D, id: &str, src: &str) -> Result<Value, String> {
        let entry = self
            .sessions
            .get(id)
            .ok_or_else(|| format!("no session '{id}'"))?;
        entry.session.eval_source(dm, src)
    }

    /// An event from a host-served invocation (see [`InvokeHandler`]): delivered with its
    /// `invokeid` set, so `<finalize>` and `done.invoke.<id>` work as for SCXML children.
    pub fn deliver_from_invoked(
        &mut self,
        dm: &mut D,
        session: &str,
        invokeid: &str,
        mut event: Event,
        now: u64,
    ) -> bool {
        event.invokeid = Some(invokeid.to_string());
        if event.name.starts_with("done.invoke.") {
            if let Some(e) = self.sessions.get_mut(session) {
                e.host_children.retain(|(i, _)| i != invokeid);
            }
        }
        self.deliver(dm, session, event, now)
    }

    /// Delivers an external event to a session. Returns false when there is no such session.
    pub fn deliver(&mut self, dm: &mut D, session: &str, event: Event, now: u64) -> bool {
        if !self.contains(session) {
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
            if self.contains(sid) {
                break;
            }
            self.timers.pop();
        }
        self.timers.peek().map(|Reverse((at, ..))| *at)
    }

    pub fn take_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.output)
    }

    /// A session in the data model (a parked one is not: [`System::wake`] it first).
    pub fn session(&self, id: &str) -> Option<&Session<D::Scope>> {
        self.sessions.get(id).map(|e| &e.session)
    }

    /// Ids of the sessions alive now, parked ones included.
    pub fn session_ids(&self) -> impl Iterator<Item = &str> {
        self.sessions
            .keys()
            .chain(self.parked.keys())
            .map(String::as_str)
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len() + self.parked.len()
    }

    /// Events and starts processed so far (for statistics).
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    fn process(&mut self, dm: &mut D, now: u64) {
        let mut effects = Vec::new();
        while let Some((sid, work)) = self.work.pop_front() {
            if self.parked.contains_key(&sid) && !self.wake(dm, &sid) {
                continue;
            }
            let Some(mut entry) = self.sessions.remove(&sid) else {
                continue;
            };
            let revision = entry.session.revision();
            self.events_processed += 1;
            let work_kind = match &work {
                Work::Cancel => WorkKind::Cancel,
                _ => WorkKind::Other,
            };
            let mut replies = Vec::new();
            {
                let _span = tracing::debug_span!("scxml_session", session = %sid).entered();
                let sessions = &self.sessions;
                let parked = &self.parked;
                let transport = &self.transport;
                let live = |id: &str| {
                    sessions.contains_key(id)
                        || parked.contains_key(id)
                        || id == sid
                        || transport.as_ref().is_some_and(|t| t.session_exists(id))
                };
                let mut host = SystemHost {
                    live: &live,
                    caps: &self.caps,
                    handlers: &mut self.handlers,
                    invoke_types: &self.invokers,
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
            let changed = entry.session.revision() != revision;
            // SCXML §6.4: once cancelled, an invoked session's events (from its exit handlers)
            // are not delivered to its parent.
            let cancelled = matches!(work_kind, WorkKind::Cancel);
            let top_cancelled = cancelled && entry.session.parent().is_none();
            let touched = changed || finished || cancelled;
            let parent = if cancelled {
                None
            } else {
                entry.session.parent().cloned()
            };
            let children = entry.children.clone();
            let host_children = entry.host_children.clone();
            if self.park_after.is_some() && entry.session.parent().is_none() && !finished {
                entry.active_at = now;
                self.idle.push_back((now, sid.clone()));
            }
            self.sessions.insert(sid.clone(), entry);
            if touched {
                self.touch(&sid);
            }
            for effect in effects.drain(..) {
                self.apply(dm, &sid, parent.as_ref(), effect, now);
            }
            for ev in replies {
                self.work.push_back((sid.clone(), Work::Deliver(ev)));
            }
            if top_cancelled {
                // A top-level session cancelled by its host ends like one that finished.
                self.output.push(Output::Finished {
                    session: sid.clone(),
                    final_state: None,
                    halted: None,
                });
            }
            if finished || cancelled {
                // A finished or cancelled session's invoked children are cancelled too.
                for (_, child) in children {
                    if self.sessions.contains_key(&child) {
                        self.work.push_front((child, Work::Cancel));
                    }
                }
                for (invokeid, type_) in host_children {
                    if let Some((_, h)) = self.invokers.iter_mut().find(|(t, _)| *t == type_) {
                        h.cancel(&sid, &invokeid, now);
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
                    let hosted = self
                        .sessions
                        .get(sid)
                        .and_then(|e| e.host_children.iter().find(|(i, _)| *i == inv))
                        .map(|(_, t)| t.clone());
                    if let Some(type_) = hosted {
                        let r = match self.invokers.iter_mut().find(|(t, _)| *t == type_) {
                            Some((_, h)) => h.send(sid, &inv, &event, now),
                            None => Err(format!("no handler for invoke type '{type_}'")),
                        };
                        if let Err(e) = r {
                            self.work.push_back((
                                sid.to_string(),
                                Work::SendFailed(event.sendid.clone(), e),
                            ));
                        }
                        return;
                    }
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
                    if self.contains(&target) || target == sid {
                        self.work.push_back((target, Work::Deliver(event)));
                    } else if let Some(t) = self
                        .transport
                        .as_mut()
                        .filter(|t| t.session_exists(&target))
                    {
                        if let Err(e) = t.send(sid, &SendTarget::Session(target), &event) {
                            self.work.push_back((
                                sid.to_string(),
                                Work::SendFailed(event.sendid.clone(), e),
                            ));
                        }
                        self.poll_transport();
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
                let hosted = self.sessions.get_mut(sid).and_then(|e| {
                    let i = e
                        .host_children
                        .iter()
                        .position(|(inv, _)| *inv == invokeid)?;
                    Some(e.host_children.remove(i).1)
                });
                if let Some(type_) = hosted {
                    if let Some((_, h)) = self.invokers.iter_mut().find(|(t, _)| *t == type_) {
                        h.cancel(sid, &invokeid, now);
                    }
                    return;
                }
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

    fn invoke(&mut self, dm: &mut D, parent_id: &str, req: InvokeRequest, now: u64) {
        if req.type_ != "scxml" {
            let r = match self.invokers.iter_mut().find(|(t, _)| *t == req.type_) {
                Some((_, h)) => h.start(parent_id, &req, now),
                None => Err(format!("unsupported invoke type '{}'", req.type_)),
            };
            match r {
                Ok(()) => {
                    if let Some(p) = self.sessions.get_mut(parent_id) {
                        p.host_children.push((req.invokeid, req.type_));
                    }
                }
                Err(e) => self
                    .work
                    .push_back((parent_id.to_string(), Work::InvokeFailed(req.invokeid, e))),
            }
            return;
        }
        let base = self
            .sessions
            .get(parent_id)
            .and_then(|e| e.session.document().base_uri.clone());
        let doc: Result<(Arc<Document>, DocOrigin), String> = match (&req.content, &req.src) {
            (Some(InvokeContent::Document(d)), _) => Ok((
                d.clone(),
                DocOrigin::Inline {
                    state: req.state,
                    index: req.index as u32,
                },
            )),
            (Some(InvokeContent::Value(Value::String(text) | Value::Xml(text))), _) => {
                parse_document(text, base.as_deref(), &*self.loader)
                    .map(|d| (Arc::new(d), DocOrigin::Text { text: text.clone() }))
                    .map_err(|e| e.to_string())
            }
            (Some(InvokeContent::Value(_)), _) => Err("invoke content is not a document".into()),
            (None, Some(src)) => self
                .loader
                .load(src, base.as_deref())
                .and_then(|(text, uri)| {
                    parse_document(&text, Some(&uri), &*self.loader)
                        .map(|d| (Arc::new(d), DocOrigin::Source { uri }))
                        .map_err(|e| e.to_string())
                }),
            (None, None) => Err("invoke has neither src nor content".into()),
        };
        let (doc, origin) = match doc {
            Ok(d) => d,
            Err(e) => {
                self.work
                    .push_back((parent_id.to_string(), Work::InvokeFailed(req.invokeid, e)));
                return;
            }
        };
        let child = self.child_id(parent_id, &req.invokeid);
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
                host_children: Vec::new(),
                origin,
                active_at: now,
                snap: None,
            },
        );
        if let Some(p) = self.sessions.get_mut(parent_id) {
            p.children.push((req.invokeid, child.clone()));
        }
        self.work.push_back((child, Work::Start));
    }

    /// An invoked session's id: its parent's id and its invokeid, so it stays unique when
    /// sessions are restored into another system.
    fn child_id(&self, parent: &str, invokeid: &str) -> String {
        let base = format!("{parent}.{invokeid}");
        if !self.contains(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}.{n}"))
            .find(|id| !self.contains(id))
            .unwrap_or(base)
    }
}
