//! One session host's logic with time passed in: a `scxml::System` of sessions on one boa
//! context, the ORS-style actions they run against the contact center, the notices they hear
//! back, and what must be saved or answered after each step.
//!
//! [`HostCore`] is sans-IO. Actions on the center happen at once through a [`CenterPort`]
//! (the center is in memory: nothing a crash could expose); everything a crash must not run
//! twice or answer early — replies to callers, HTTP fetches, pushes to devices — comes out of
//! [`HostCore::take_effects`] together with the checkpoints of the sessions that changed, and
//! the runner releases it only once those checkpoints are durable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use engine::queue::ItemId;
use engine::routing::plan::TargetList;
use engine::routing::router::{QueueReport, RouteRequest};
use engine::routing::target::Target;
use engine::store::Millis;
use engine::telephony::{EventKind, IxnId, Media, Party, Releaser};
use scxml::interp::Limits;
use scxml::system::{Capabilities, Output, StartOptions, System, SystemError, Transport};
use scxml::{EcmaDataModel, Event, EventType, Value};

use super::checkpoint::{self, CallMeta, Checkpoint, ItemMeta, MetaState};
use super::docs::LoadedDoc;
use crate::center::core::{
    CenterCore, ItemStatus, LeftReason, Notice, Owner, Submit, TargetAgents,
};

/// Runs operations on the contact center: through its lock in the server, directly in tests.
pub trait CenterPort {
    fn run(&mut self, f: &mut dyn FnMut(&mut CenterCore, Millis));
}

impl CenterPort for crate::center::Center {
    fn run(&mut self, f: &mut dyn FnMut(&mut CenterCore, Millis)) {
        self.with(|c, now| f(c, now));
    }
}

/// What a host needs to know beyond the center.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// Offer and retry defaults for `queue:submit` (`[routing]`).
    pub reserve_timeout_ms: Millis,
    pub reject_retry_ms: Millis,
    /// Interpreter limits (microsteps per macrostep).
    pub limits: Limits,
    /// Boa's limits for one script: loop iterations and call depth.
    pub loop_limit: u64,
    pub recursion_limit: usize,
    /// A session idle this long is parked: kept as its snapshot, out of the thread's script
    /// heap, and rebuilt by its next event (see `scxml::System::set_park_after`). Waiting
    /// sessions then cost neither heap nor garbage-collection time. `None`: never.
    pub park_after_ms: Option<Millis>,
}

/// See [`HostSettings::park_after_ms`]: long enough that a session in a burst of events
/// (started, then routed at once) is not rebuilt between them, short enough that the script
/// heap holds only the sessions of the last moment.
pub const DEFAULT_PARK_AFTER_MS: Millis = 250;

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            reserve_timeout_ms: engine::agents::DEFAULT_RESERVE_TIMEOUT_MS,
            reject_retry_ms: 0,
            limits: Limits::default(),
            loop_limit: scxml::ecma::DEFAULT_LOOP_LIMIT,
            recursion_limit: scxml::ecma::DEFAULT_RECURSION_LIMIT,
            park_after_ms: Some(DEFAULT_PARK_AFTER_MS),
        }
    }
}

/// Errors the host answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("no session '{0}'")]
    NotFound(String),
    #[error("a session with id '{0}' already exists")]
    Duplicate(String),
    #[error("{0}")]
    BadRequest(String),
    /// The session ended before it answered.
    #[error("session '{0}' ended without answering")]
    Ended(String),
    /// The call the session was to take is gone.
    #[error("{0}")]
    CallGone(String),
    /// The step's checkpoint could not be saved: nothing it did is acknowledged.
    #[error("the session's state could not be saved: {0}")]
    Store(String),
}

/// Answers the host hands back to whoever asked (a token names the asker).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Started(StartReply),
    /// The event was queued and processed.
    Done,
    /// A `<session:response>`.
    Response {
        status: u16,
        body: Value,
    },
}

/// What a new session did in its first step.
#[derive(Debug, Clone, PartialEq)]
pub struct StartReply {
    pub id: String,
    /// The chart's `<session:response>` to its start, or its `<donedata>` if it ended.
    pub response: Option<Value>,
    /// The final state, if the session already ended.
    pub finished: Option<String>,
    /// The call the session took, if started for one.
    pub interaction: Option<IxnId>,
    /// Its queue submissions so far: `(requestid, item, queue, position, ewt)`.
    pub items: Vec<ItemTicket>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemTicket {
    pub requestid: String,
    pub item: Option<ItemId>,
    pub queue: String,
    pub position: Option<usize>,
    pub ewt: engine::queue::Ewt,
}

/// An HTTP request a session asked for (`session:fetch`).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSpec {
    pub url: String,
    pub method: String,
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub timeout_ms: Millis,
}

/// A push a session asked for (`notification:push`).
#[derive(Debug, Clone, PartialEq)]
pub struct PushSpec {
    pub tag: Option<String>,
    pub device_os: Option<String>,
    pub device_id: Option<String>,
    pub message: Value,
}

/// What the runner must do once the step's checkpoints are durable (replies, fetches, pushes),
/// and the checkpoints themselves.
#[derive(Debug)]
pub enum HostEffect {
    Reply {
        token: u64,
        reply: Result<Reply, HostError>,
    },
    Fetch {
        session: String,
        requestid: String,
        fetch: FetchSpec,
    },
    Push {
        session: String,
        requestid: String,
        push: PushSpec,
    },
    /// A message sent through the notification service once the step is durable, with no
    /// answer for the session (a callback's status notifications).
    Notify(PushSpec),
    /// The session's state to save (its document is stored under `doc.hash`).
    Save {
        id: String,
        doc: Arc<LoadedDoc>,
        created_at: Millis,
        checkpoint: Vec<u8>,
    },
    /// A `<log>` line.
    Log {
        session: String,
        label: Option<String>,
        message: String,
    },
    /// Other writes of the step (a callback record a chart changed), in its commit.
    Write(Vec<engine::store::WriteOp>),
    /// The session ended.
    Finished {
        id: String,
        at: Millis,
        final_state: Option<String>,
        halted: Option<String>,
    },
}

/// How a session comes to own a call when it starts.
#[derive(Debug, Clone)]
pub enum CallStart {
    /// A new inbound call (or chat, with `dnis` empty) the session takes at once.
    New {
        customer: String,
        dnis: String,
        media: Media,
    },
    /// A call waiting at its route point.
    Claim { ixn: IxnId },
}

/// A request to start a session.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub id: String,
    pub doc: Arc<LoadedDoc>,
    /// Start parameters: they fill `<data>` of the same id and `_genesys.session.params`.
    pub params: Vec<(String, Value)>,
    pub call: Option<CallStart>,
    /// Whom to answer once the first step is durable.
    pub reply: Option<u64>,
    /// Written in the commit of the first step (a new callback's record).
    pub writes: Vec<engine::store::WriteOp>,
    /// Sent once the first step is durable, before anything the step itself sends (a new
    /// callback's status notifications).
    pub notify: Vec<PushSpec>,
}

/// What a session is, for `GET /scxml/session/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: String,
    pub document: String,
    pub doc_hash: String,
    pub created_at: Millis,
    pub active: Vec<String>,
    /// Each top-level `<data>` id and its value.
    pub data: Vec<(String, Value)>,
    /// Pending delayed sends: `(sendid, due at)`.
    pub timers: Vec<(String, u64)>,
    pub items: Vec<ItemMeta>,
    pub calls: Vec<CallMeta>,
}

/// The host's record of one live session.
pub(crate) struct SessionMeta {
    pub doc: Arc<LoadedDoc>,
    pub state: MetaState,
    /// Pending `/request/{name}` callers: request id → token.
    pub requests: Vec<(String, u64)>,
    /// Who is waiting for the start, answered after the first step.
    pub start: Option<u64>,
    /// A `<session:response>` to the start.
    pub start_response: Option<Value>,
    pub interaction: Option<IxnId>,
}

/// The state the sessions' actions and `_genesys` share on this thread.
pub(crate) struct HostState {
    pub center: Box<dyn CenterPort>,
    /// Boxed, and hashed with foldhash (seeded per map): a host holds tens of thousands, and
    /// growing the map moves and rehashes every slot.
    pub sessions: HashMap<String, Box<SessionMeta>, foldhash::fast::RandomState>,
    pub effects: Vec<HostEffect>,
    pub settings: HostSettings,
    pub now: Millis,
    /// The callback records, for `callback:update` (none in hosts without callbacks).
    pub callbacks: Option<Arc<crate::callback::Callbacks>>,
}

thread_local! {
    static HOST: RefCell<Option<Rc<RefCell<HostState>>>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's host state; `None` when there is none or it is in use (a native
/// function called while an action holds it).
pub(crate) fn with_host<R>(f: impl FnOnce(&mut HostState) -> R) -> Option<R> {
    HOST.with(|h| {
        let h = h.borrow();
        let st = h.as_ref()?;
        let mut st = st.try_borrow_mut().ok()?;
        Some(f(&mut st))
    })
}

impl HostState {
    /// Runs `f` on the center; `None` only if the port never ran it.
    pub fn center<R>(&mut self, f: impl FnOnce(&mut CenterCore, Millis) -> R) -> Option<R> {
        let mut f = Some(f);
        let mut out = None;
        self.center.run(&mut |c, now| {
            if let Some(f) = f.take() {
                out = Some(f(c, now));
            }
        });
        out
    }

    pub fn session_value(&self, id: &str) -> Option<Value> {
        let m = self.sessions.get(id)?;
        Some(Value::Object(vec![
            ("id".into(), Value::String(id.to_owned())),
            ("start".into(), Value::String(iso(m.state.created_at))),
            ("document".into(), Value::String(m.state.doc_name.clone())),
            ("params".into(), Value::Object(m.state.params.clone())),
        ]))
    }

    fn item_of(&self, id: &str, requestid: Option<&str>) -> Option<&ItemMeta> {
        let m = self.sessions.get(id)?;
        match requestid {
            Some(r) => m.state.items.iter().find(|i| i.requestid == r),
            None => m.state.items.first(),
        }
    }

    pub fn item_status(&mut self, id: &str, requestid: Option<&str>) -> Option<ItemStatus> {
        let item = ItemId(self.item_of(id, requestid)?.item?);
        self.center(|c, now| c.item_status(item, now)).flatten()
    }

    pub fn queue_report(&mut self, vq: &str) -> Option<QueueReport> {
        let vq = vq.to_owned();
        self.center(move |c, now| c.queue(&vq, now)).flatten()
    }

    pub fn target_agents(&mut self, target: &Target) -> TargetAgents {
        self.center(|c, now| c.target_agents(target, now))
            .unwrap_or_default()
    }

    pub fn interactions_value(&mut self, id: &str) -> Value {
        let calls = match self.sessions.get(id) {
            Some(m) => m.state.calls.clone(),
            None => return Value::Object(Vec::new()),
        };
        let mut out = Vec::new();
        for c in calls {
            let ixn = IxnId(c.ixn);
            let (state, agent, data) = self
                .center(|core, _| {
                    let i = core.interaction(ixn);
                    (
                        i.map(|i| i.state.to_string()),
                        i.and_then(|i| i.agent().map(str::to_owned)),
                        core.call_data(ixn),
                    )
                })
                .unwrap_or_default();
            out.push((
                ixn.to_string(),
                Value::Object(vec![
                    ("id".into(), Value::String(ixn.to_string())),
                    (
                        "state".into(),
                        state.map_or(Value::String("released".into()), Value::String),
                    ),
                    ("media".into(), Value::String(c.media.clone())),
                    ("customer".into(), Value::String(c.customer.clone())),
                    ("direction".into(), Value::String(c.direction.clone())),
                    ("agent".into(), agent.map_or(Value::Null, Value::String)),
                    ("requestid".into(), Value::String(c.requestid.clone())),
                    (
                        "userdata".into(),
                        Value::Object(
                            data.into_iter()
                                .map(|(k, v)| (k, Value::String(v)))
                                .collect(),
                        ),
                    ),
                ]),
            ));
        }
        Value::Object(out)
    }

    /// The item of `session` that was routed to `agent`, if any.
    pub fn routed_item(&self, session: &str, agent: &str) -> Option<ItemId> {
        self.sessions.get(session).and_then(|m| {
            m.state
                .items
                .iter()
                .find(|i| i.routed.as_deref() == Some(agent))
                .and_then(|i| i.item.map(ItemId))
        })
    }

    /// A fresh request id for a session (`q1`, `d2`, ...).
    pub fn next_request_id(&mut self, session: &str, prefix: &str) -> String {
        match self.sessions.get_mut(session) {
            Some(m) => {
                m.state.next_id += 1;
                format!("{prefix}{}", m.state.next_id)
            }
            None => format!("{prefix}0"),
        }
    }
}

/// ISO-8601 UTC with milliseconds.
pub fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// One session host: many sessions on one thread.
pub struct HostCore {
    sys: System<EcmaDataModel>,
    dm: EcmaDataModel,
    st: Rc<RefCell<HostState>>,
    /// Sessions whose step must be answered or saved, beyond those the system reports.
    touched: Vec<String>,
}

impl std::fmt::Debug for HostCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCore")
            .field("sessions", &self.sys.session_count())
            .finish_non_exhaustive()
    }
}

impl HostCore {
    /// A host on this thread (one per thread: it owns the thread's `_genesys`). `transport`
    /// reaches sessions on other hosts.
    pub fn new(
        center: Box<dyn CenterPort>,
        settings: HostSettings,
        transport: Option<Box<dyn Transport>>,
    ) -> HostCore {
        let mut dm = EcmaDataModel::with_limits(settings.loop_limit, settings.recursion_limit);
        if let Err(e) = super::genesys::install(dm.context()) {
            tracing::error!(error = %e, "_genesys could not be defined");
        }
        let caps = Capabilities {
            limits: settings.limits,
            ..Capabilities::default()
        };
        let mut sys = System::new(Box::new(scxml::NoLoader), caps);
        sys.set_park_after(settings.park_after_ms.map(|ms| ms.max(0) as u64));
        let st = Rc::new(RefCell::new(HostState {
            center,
            sessions: HashMap::default(),
            effects: Vec::new(),
            settings,
            now: 0,
            callbacks: None,
        }));
        super::actions::register(&mut sys, &st);
        if let Some(t) = transport {
            sys.set_transport(t);
        }
        HOST.with(|h| {
            if h.borrow().is_some() {
                tracing::warn!("a second session host on one thread replaces the first's _genesys");
            }
            *h.borrow_mut() = Some(st.clone());
        });
        HostCore {
            sys,
            dm,
            st,
            touched: Vec::new(),
        }
    }

    /// Lets charts change callback records (`callback:update`).
    pub fn set_callbacks(&mut self, callbacks: Arc<crate::callback::Callbacks>) {
        self.st.borrow_mut().callbacks = Some(callbacks);
    }

    pub fn len(&self) -> usize {
        self.sys.session_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: &str) -> bool {
        self.sys.contains(id)
    }

    /// Ids of the live sessions.
    pub fn ids(&self) -> Vec<String> {
        self.st.borrow().sessions.keys().cloned().collect()
    }

    fn set_now(&mut self, now: Millis) {
        self.st.borrow_mut().now = now;
    }

    fn touch(&mut self, id: &str) {
        if !self.touched.iter().any(|t| t == id) {
            self.touched.push(id.to_owned());
        }
    }

    /// Starts a session (taking its call first, if it has one).
    pub fn start(&mut self, spec: StartSpec, now: Millis) -> Result<(), HostError> {
        self.set_now(now);
        if self.sys.contains(&spec.id) || self.st.borrow().sessions.contains_key(&spec.id) {
            return Err(HostError::Duplicate(spec.id));
        }
        let id = spec.id.clone();
        let writes = spec.writes;
        let notify = spec.notify;
        let mut params = spec.params;
        let mut calls = Vec::new();
        let mut interaction = None;
        if let Some(call) = spec.call {
            let (ixn, customer, dnis, media_name) = self.take_call(&id, &call, "call")?;
            for (k, v) in [
                ("interaction", ixn.to_string()),
                ("ani", customer.clone()),
                ("dnis", dnis),
                ("media", media_name.to_owned()),
            ] {
                if !params.iter().any(|(pk, _)| pk == k) {
                    params.push((k.to_owned(), Value::String(v)));
                }
            }
            calls.push(CallMeta {
                ixn: ixn.0,
                requestid: "call".into(),
                customer,
                media: media_name.to_owned(),
                direction: "inbound".into(),
            });
            interaction = Some(ixn);
        }
        self.st.borrow_mut().sessions.insert(
            id.clone(),
            Box::new(SessionMeta {
                doc: spec.doc.clone(),
                state: MetaState {
                    created_at: now,
                    doc_name: spec.doc.name.clone(),
                    params: params.clone(),
                    items: Vec::new(),
                    calls,
                    next_id: 0,
                },
                requests: Vec::new(),
                start: spec.reply,
                start_response: None,
                interaction,
            }),
        );
        self.touch(&id);
        let started = self.sys.start_with(
            &mut self.dm,
            spec.doc.doc.clone(),
            StartOptions {
                id: Some(id.clone()),
                data: params,
            },
            now.max(0) as u64,
        );
        match started {
            Ok(_) => {}
            Err(SystemError::DuplicateId(d)) => {
                self.st.borrow_mut().sessions.remove(&id);
                return Err(HostError::Duplicate(d));
            }
            Err(e) => {
                self.st.borrow_mut().sessions.remove(&id);
                return Err(HostError::BadRequest(e.to_string()));
            }
        }
        {
            // Before the step's own effects: a record the chart changes is written after, and
            // its creation is told before its changes.
            let mut st = self.st.borrow_mut();
            let first: Vec<HostEffect> = (!writes.is_empty())
                .then_some(HostEffect::Write(writes))
                .into_iter()
                .chain(notify.into_iter().map(HostEffect::Notify))
                .collect();
            st.effects.splice(0..0, first);
        }
        self.after_step();
        Ok(())
    }

    /// Takes a call for session `id`: a new inbound call or chat, or one waiting at its route
    /// point. Answers the call, the customer, the number called and the media.
    fn take_call(
        &mut self,
        id: &str,
        call: &CallStart,
        tag: &str,
    ) -> Result<(IxnId, String, String, &'static str), HostError> {
        let owner = Owner::Session(Arc::from(id));
        let taken = {
            let mut st = self.st.borrow_mut();
            st.center(|c, now| match call {
                CallStart::New {
                    customer,
                    dnis,
                    media,
                } => {
                    let o = Some((owner.clone(), tag.to_owned()));
                    let ixn = match media {
                        Media::Chat => c.inbound_chat(customer, o, now),
                        Media::Voice => c.inbound_call(customer, dnis, o, now),
                    }?;
                    Ok::<_, crate::center::CenterError>((
                        ixn,
                        customer.clone(),
                        dnis.clone(),
                        *media,
                    ))
                }
                CallStart::Claim { ixn } => {
                    let i = c.claim_call(*ixn, owner.clone(), tag.to_owned())?;
                    let dnis = i
                        .parties
                        .iter()
                        .find_map(|p| match p {
                            Party::RoutePoint(d) => Some(d.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    Ok((
                        *ixn,
                        i.customer().unwrap_or_default().to_owned(),
                        dnis,
                        i.media,
                    ))
                }
            })
        };
        let (ixn, customer, dnis, media) = match taken {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(HostError::CallGone(e.to_string())),
            None => return Err(HostError::CallGone("the center is unavailable".into())),
        };
        let media_name = match media {
            Media::Voice => "voice",
            Media::Chat => "chat",
        };
        Ok((ixn, customer, dnis, media_name))
    }

    /// A call for a live session (an inbound call matched to the number the session booked,
    /// a chat started on its URL): the session takes it and hears `interaction.arrived`
    /// {interaction, ani, dnis, media}. `token` is answered with the call once durable.
    pub fn adopt(
        &mut self,
        id: &str,
        call: CallStart,
        token: Option<u64>,
        now: Millis,
    ) -> Result<(), HostError> {
        self.set_now(now);
        if !self.sys.contains(id) || !self.st.borrow().sessions.contains_key(id) {
            return Err(HostError::NotFound(id.to_owned()));
        }
        let requestid = self.st.borrow_mut().next_request_id(id, "call");
        let (ixn, customer, dnis, media_name) = self.take_call(id, &call, &requestid)?;
        let requestid = {
            let mut st = self.st.borrow_mut();
            if let Some(m) = st.sessions.get_mut(id) {
                m.state.calls.push(CallMeta {
                    ixn: ixn.0,
                    requestid: requestid.clone(),
                    customer: customer.clone(),
                    media: media_name.to_owned(),
                    direction: "inbound".into(),
                });
                m.interaction.get_or_insert(ixn);
            }
            requestid
        };
        let data = Value::Object(vec![
            ("requestid".into(), Value::String(requestid)),
            ("interaction".into(), Value::String(ixn.to_string())),
            ("ani".into(), Value::String(customer)),
            ("dnis".into(), Value::String(dnis)),
            ("media".into(), Value::String(media_name.to_owned())),
        ]);
        self.touch(id);
        self.sys.deliver(
            &mut self.dm,
            id,
            Event::external("interaction.arrived", data),
            now.max(0) as u64,
        );
        if let Some(token) = token {
            self.st.borrow_mut().effects.push(HostEffect::Reply {
                token,
                reply: Ok(Reply::Started(StartReply {
                    id: id.to_owned(),
                    response: None,
                    finished: None,
                    interaction: Some(ixn),
                    items: Vec::new(),
                })),
            });
        }
        self.after_step();
        Ok(())
    }

    /// Delivers an external event (`/event/{name}`, a `<send>` from another host).
    pub fn event(
        &mut self,
        id: &str,
        event: Event,
        reply: Option<u64>,
        now: Millis,
    ) -> Result<(), HostError> {
        self.set_now(now);
        if !self.sys.deliver(&mut self.dm, id, event, now.max(0) as u64) {
            return Err(HostError::NotFound(id.to_owned()));
        }
        if let Some(token) = reply {
            self.st.borrow_mut().effects.push(HostEffect::Reply {
                token,
                reply: Ok(Reply::Done),
            });
        }
        self.after_step();
        Ok(())
    }

    /// A request (`/request/{name}`): delivered as event `name` whose `sendid` is the request
    /// id the chart answers with `<session:response>`.
    pub fn request(
        &mut self,
        id: &str,
        name: &str,
        data: Value,
        token: u64,
        now: Millis,
    ) -> Result<(), HostError> {
        self.set_now(now);
        let rid = {
            let mut st = self.st.borrow_mut();
            if !st.sessions.contains_key(id) {
                return Err(HostError::NotFound(id.to_owned()));
            }
            let rid = format!("request-{token}");
            if let Some(m) = st.sessions.get_mut(id) {
                m.requests.push((rid.clone(), token));
            }
            rid
        };
        let mut ev = Event::external(name, data);
        ev.sendid = Some(rid);
        if !self.sys.deliver(&mut self.dm, id, ev, now.max(0) as u64) {
            return Err(HostError::NotFound(id.to_owned()));
        }
        self.after_step();
        Ok(())
    }

    /// Cancels a session (its exit handlers run; its items leave their queues).
    pub fn terminate(
        &mut self,
        id: &str,
        reply: Option<u64>,
        now: Millis,
    ) -> Result<(), HostError> {
        self.set_now(now);
        if !self.sys.contains(id) {
            return Err(HostError::NotFound(id.to_owned()));
        }
        self.sys.cancel(&mut self.dm, id, now.max(0) as u64);
        if let Some(token) = reply {
            self.st.borrow_mut().effects.push(HostEffect::Reply {
                token,
                reply: Ok(Reply::Done),
            });
        }
        self.touch(id);
        self.after_step();
        Ok(())
    }

    /// Fires the timers due at `now`.
    pub fn advance(&mut self, now: Millis) {
        self.set_now(now);
        self.sys.advance(&mut self.dm, now.max(0) as u64);
        self.after_step();
    }

    /// Parks the sessions idle long enough (see [`HostSettings::park_after_ms`]).
    pub fn park_idle(&mut self, now: Millis) -> usize {
        self.sys.park_idle(&mut self.dm, now.max(0) as u64)
    }

    /// How many of the live sessions are parked.
    pub fn parked(&self) -> usize {
        self.sys.parked_count()
    }

    pub fn next_deadline(&mut self) -> Option<Millis> {
        self.sys.next_deadline().map(|t| t as Millis)
    }

    /// A notice from the center for session `id`.
    pub fn notice(&mut self, id: &str, notice: Notice, now: Millis) {
        self.set_now(now);
        // Most notices are news no transition of the chart waits for (queued, offered): those
        // are neither built nor delivered, unless they change the host's records.
        let name = notice_name(&notice);
        let heard = {
            let st = self.st.borrow();
            match st.sessions.get(id) {
                Some(m) => name.is_none_or(|n| m.doc.listens_to(n)),
                None => return,
            }
        };
        // Notices that change what the host records of the session (routed, left, ended)
        // make it worth saving even if no transition takes them.
        let records = matches!(
            notice,
            Notice::Routed { .. }
                | Notice::Left { .. }
                | Notice::Completed { .. }
                | Notice::Transferred { .. }
                | Notice::Call {
                    event: EventKind::Released { .. },
                    ..
                }
        );
        if !heard && !records {
            return;
        }
        let Some(ev) = self.notice_event(id, notice) else {
            return;
        };
        let delivered = heard && self.sys.deliver(&mut self.dm, id, ev, now.max(0) as u64);
        if records && (delivered || !heard) {
            self.touch(id);
        }
        self.after_step();
    }

    /// Completion of a `session:fetch` or `notification:push`.
    pub fn completed(&mut self, id: &str, event: Event, now: Millis) {
        self.set_now(now);
        self.sys.deliver(&mut self.dm, id, event, now.max(0) as u64);
        self.after_step();
    }

    /// Turns a center notice into the session's event, keeping the host's records current.
    fn notice_event(&mut self, id: &str, notice: Notice) -> Option<Event> {
        // The estimate is read before the record is borrowed (both live in the host state).
        let queued_ewt = match &notice {
            Notice::Queued { item, .. } => {
                let item = *item;
                self.st
                    .borrow_mut()
                    .center(|c, now| c.item_status(item, now))
                    .flatten()
                    .and_then(|s| s.ewt.seconds())
            }
            _ => None,
        };
        let mut st = self.st.borrow_mut();
        let meta = st.sessions.get_mut(id)?;
        let obj = |pairs: Vec<(&str, Value)>| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        };
        let s = |v: &str| Value::String(v.to_owned());
        let n = |v: f64| Value::Number(v);
        let ev = match notice {
            Notice::Queued {
                tag,
                queue,
                position,
                ..
            } => Event::external(
                "queue.submit.queued",
                obj(vec![
                    ("requestid", s(&tag)),
                    ("queue", s(&queue)),
                    ("position", n(position as f64)),
                    ("ewt", queued_ewt.map_or(Value::Null, n)),
                ]),
            ),
            Notice::TargetsChanged { tag, targets, .. } => Event::external(
                "queue.submit.targets",
                obj(vec![
                    ("requestid", s(&tag)),
                    (
                        "targets",
                        Value::Array(targets.iter().map(|t| s(t)).collect()),
                    ),
                ]),
            ),
            Notice::Offered {
                tag,
                agent,
                expires_at,
                ..
            } => Event::external(
                "queue.submit.offered",
                obj(vec![
                    ("requestid", s(&tag)),
                    ("agent", s(&agent)),
                    ("expires", s(&iso(expires_at))),
                ]),
            ),
            Notice::OfferEnded {
                tag, agent, reason, ..
            } => Event::external(
                "queue.submit.offerended",
                obj(vec![
                    ("requestid", s(&tag)),
                    ("agent", s(&agent)),
                    ("reason", s(reason.as_str())),
                ]),
            ),
            Notice::Routed {
                tag,
                agent,
                queue,
                waited_ms,
                interaction,
                ..
            } => {
                if let Some(i) = meta.state.items.iter_mut().find(|i| i.requestid == tag) {
                    i.routed = Some(agent.clone());
                }
                Event::external(
                    "queue.submit.done",
                    obj(vec![
                        ("requestid", s(&tag)),
                        ("agent", s(&agent)),
                        ("queue", s(&queue)),
                        ("waited", n(waited_ms as f64 / 1000.0)),
                        (
                            "interaction",
                            interaction.map_or(Value::Null, |i| s(&i.to_string())),
                        ),
                    ]),
                )
            }
            Notice::Left {
                tag, queue, reason, ..
            } => {
                meta.state.items.retain(|i| i.requestid != tag);
                let message = match reason {
                    LeftReason::Cancelled => "the submission was cancelled",
                    LeftReason::Abandoned => "the call it was routing was released",
                    LeftReason::Timeout => "no agent was found before the timeout",
                };
                let mut e = Event::external(
                    "error.queue.submit",
                    obj(vec![
                        ("requestid", s(&tag)),
                        ("queue", s(&queue)),
                        ("reason", s(reason.as_str())),
                        ("message", s(message)),
                    ]),
                );
                e.kind = EventType::Platform;
                e
            }
            Notice::Completed {
                tag,
                agent,
                handle_ms,
                ..
            } => {
                meta.state.items.retain(|i| i.requestid != tag);
                Event::external(
                    "queue.submit.completed",
                    obj(vec![
                        ("requestid", s(&tag)),
                        ("agent", s(&agent)),
                        ("handle", n(handle_ms as f64 / 1000.0)),
                    ]),
                )
            }
            Notice::Transferred { tag, from, to, .. } => {
                if let Some(i) = meta.state.items.iter_mut().find(|i| i.requestid == tag) {
                    i.routed = Some(to.clone());
                }
                Event::external(
                    "queue.submit.transferred",
                    obj(vec![
                        ("requestid", s(&tag)),
                        ("from", s(&from)),
                        ("to", s(&to)),
                    ]),
                )
            }
            Notice::TreatmentDone { tag, ixn, name } => Event::external(
                "dialog.play.done",
                obj(vec![
                    ("requestid", s(&tag)),
                    ("interaction", s(&ixn.to_string())),
                    ("treatment", s(&name)),
                    ("reason", s("completed")),
                ]),
            ),
            Notice::Call { tag, ixn, event } => {
                let ix = s(&ixn.to_string());
                let (name, mut fields) = match event {
                    EventKind::Dialing { number } => {
                        ("interaction.dial.dialing", vec![("number", s(&number))])
                    }
                    EventKind::Ringing => ("interaction.dial.ringing", vec![]),
                    EventKind::Answered => {
                        ("interaction.dial.done", vec![("outcome", s("answered"))])
                    }
                    EventKind::AnsweringMachine => {
                        ("interaction.dial.done", vec![("outcome", s("machine"))])
                    }
                    EventKind::Busy => ("error.interaction.dial", vec![("reason", s("busy"))]),
                    EventKind::NoAnswer => {
                        ("error.interaction.dial", vec![("reason", s("noanswer"))])
                    }
                    EventKind::InvalidNumber => {
                        ("error.interaction.dial", vec![("reason", s("invalid"))])
                    }
                    EventKind::Established => ("interaction.established", vec![]),
                    EventKind::TreatmentStarted { name } => {
                        ("dialog.play.started", vec![("treatment", s(&name))])
                    }
                    EventKind::TreatmentStopped { name } => (
                        "dialog.play.done",
                        vec![("treatment", s(&name)), ("reason", s("stopped"))],
                    ),
                    EventKind::PartyJoined { party } => {
                        ("interaction.partyadded", party_fields(&party))
                    }
                    EventKind::PartyLeft { party } => {
                        ("interaction.partyremoved", party_fields(&party))
                    }
                    EventKind::Transferred { from, to } => (
                        "interaction.transferred",
                        vec![("from", s(&from)), ("to", s(&to))],
                    ),
                    EventKind::Message { from, text } => {
                        let mut f = party_fields(&from);
                        f.push(("text", s(&text)));
                        ("interaction.message", f)
                    }
                    EventKind::Released { by } => {
                        meta.state.calls.retain(|c| c.ixn != ixn.0);
                        let by = match by {
                            Releaser::Party(Party::Agent(_)) => "agent",
                            Releaser::Party(_) => "customer",
                            Releaser::Network => "network",
                        };
                        ("interaction.deleted", vec![("by", s(by))])
                    }
                    EventKind::Arrived { .. } | EventKind::ChatStarted { .. } => return None,
                };
                fields.insert(0, ("interaction", ix));
                fields.insert(0, ("requestid", s(&tag)));
                let mut e = Event::external(name, obj(fields));
                if name.starts_with("error.") {
                    e.kind = EventType::Platform;
                }
                e
            }
            Notice::RouteRequest { .. } | Notice::Agent(_) => return None,
        };
        Some(ev)
    }

    /// After any step: sessions that ended are cleaned up, and the touched ones are answered.
    fn after_step(&mut self) {
        for out in self.sys.take_output() {
            match out {
                Output::Finished {
                    session,
                    final_state,
                    halted,
                } => self.finished(&session, final_state, halted),
                Output::Log {
                    session,
                    label,
                    message,
                } => self.st.borrow_mut().effects.push(HostEffect::Log {
                    session,
                    label,
                    message,
                }),
                Output::Send { .. } => {}
            }
        }
        for id in self.sys.take_touched() {
            self.touch(&id);
        }
    }

    fn finished(&mut self, id: &str, final_state: Option<String>, halted: Option<String>) {
        let Some(meta) = self.st.borrow_mut().sessions.remove(id) else {
            return;
        };
        if let Some(reason) = &halted {
            tracing::warn!(session = %id, %reason, "session halted");
        }
        // What the session still owns: waiting items leave, calls not yet with an agent end,
        // calls with an agent stay up without an owner. A callback's agent held with no call
        // yet (its customer was never connected) is freed: that reservation was all the work.
        let callback = self
            .st
            .borrow()
            .callbacks
            .as_ref()
            .is_some_and(|c| c.get(id).is_some());
        let items: Vec<ItemId> = meta
            .state
            .items
            .iter()
            .filter_map(|i| i.item.map(|item| (ItemId(item), i.routed.is_some())))
            .filter(|(item, routed)| {
                !routed
                    || callback
                        && self
                            .st
                            .borrow_mut()
                            .center(|c, _| c.holds_agent_without_call(*item))
                            .unwrap_or(false)
            })
            .map(|(item, _)| item)
            .collect();
        let calls: Vec<IxnId> = meta.state.calls.iter().map(|c| IxnId(c.ixn)).collect();
        {
            let mut st = self.st.borrow_mut();
            st.center(|c, now| {
                for item in &items {
                    let _ = c.cancel(*item, now);
                }
                for ixn in &calls {
                    let with_agent = c.interaction(*ixn).and_then(|i| i.agent()).is_some();
                    if with_agent {
                        c.disown_call(*ixn);
                    } else {
                        let _ = c.release_call(*ixn, now);
                        c.disown_call(*ixn);
                    }
                }
            });
            for (_, token) in meta.requests {
                st.effects.push(HostEffect::Reply {
                    token,
                    reply: Err(HostError::Ended(id.to_owned())),
                });
            }
            if let Some(token) = meta.start {
                st.effects.push(HostEffect::Reply {
                    token,
                    reply: Ok(Reply::Started(StartReply {
                        id: id.to_owned(),
                        response: meta.start_response,
                        finished: final_state.clone(),
                        interaction: meta.interaction,
                        items: Vec::new(),
                    })),
                });
            }
            if let Some((record, told)) = st.callbacks.as_ref().and_then(|c| c.session_ended(id)) {
                st.effects.push(HostEffect::Write(vec![
                    engine::store::WriteOp::PutCallback(record),
                ]));
                st.effects.extend(told.into_iter().map(HostEffect::Notify));
            }
            let at = st.now;
            st.effects.push(HostEffect::Finished {
                id: id.to_owned(),
                at,
                final_state,
                halted,
            });
        }
    }

    /// Answers and checkpoints for everything that changed since the last call. The runner
    /// saves the checkpoints, then releases the rest.
    pub fn take_effects(&mut self) -> Vec<HostEffect> {
        let touched = std::mem::take(&mut self.touched);
        for id in touched {
            if !self.sys.contains(&id) {
                continue;
            }
            self.answer_start(&id);
            match self.checkpoint(&id) {
                Ok(effect) => self.st.borrow_mut().effects.push(effect),
                Err(e) => tracing::error!(session = %id, error = %e, "checkpoint failed"),
            }
        }
        std::mem::take(&mut self.st.borrow_mut().effects)
    }

    fn answer_start(&mut self, id: &str) {
        let (token, response, interaction, items) = {
            let mut st = self.st.borrow_mut();
            let Some(m) = st.sessions.get_mut(id) else {
                return;
            };
            let Some(token) = m.start.take() else {
                return;
            };
            let items: Vec<ItemMeta> = m.state.items.clone();
            (token, m.start_response.take(), m.interaction, items)
        };
        let tickets = items
            .into_iter()
            .map(|i| {
                let status = i.item.and_then(|item| {
                    self.st
                        .borrow_mut()
                        .center(|c, now| c.item_status(ItemId(item), now))
                        .flatten()
                });
                ItemTicket {
                    requestid: i.requestid,
                    item: i.item.map(ItemId),
                    queue: i.queue,
                    position: status.as_ref().and_then(|s| s.position),
                    ewt: status.map_or(engine::queue::Ewt::Unknown, |s| s.ewt),
                }
            })
            .collect();
        self.st.borrow_mut().effects.push(HostEffect::Reply {
            token,
            reply: Ok(Reply::Started(StartReply {
                id: id.to_owned(),
                response,
                finished: None,
                interaction,
                items: tickets,
            })),
        });
    }

    fn checkpoint(&mut self, id: &str) -> Result<HostEffect, String> {
        let tree = self.sys.snapshot(&mut self.dm, id)?;
        let st = self.st.borrow();
        let m = st
            .sessions
            .get(id)
            .ok_or_else(|| format!("no record of session '{id}'"))?;
        let cp = Checkpoint {
            tree,
            meta: m.state.clone(),
        };
        Ok(HostEffect::Save {
            id: id.to_owned(),
            doc: m.doc.clone(),
            created_at: m.state.created_at,
            checkpoint: checkpoint::encode(&cp)?,
        })
    }

    /// What a session is now.
    pub fn info(&mut self, id: &str) -> Option<SessionInfo> {
        let (doc, state) = {
            let st = self.st.borrow();
            let m = st.sessions.get(id)?;
            (m.doc.clone(), m.state.clone())
        };
        self.sys.wake(&mut self.dm, id);
        let session = self.sys.session(id)?;
        let active = session
            .active_state_ids()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let timers = session
            .pending_timers()
            .map(|(_, sendid, at)| (sendid.to_owned(), at))
            .collect();
        let ids: Vec<String> = doc
            .doc
            .states
            .iter()
            .flat_map(|s| s.data.iter().map(|d| d.id.clone()))
            .collect();
        let mut data = Vec::new();
        for d in ids {
            let v = self
                .sys
                .eval_in(&mut self.dm, id, &d)
                .unwrap_or(Value::Undefined);
            data.push((d, v));
        }
        Some(SessionInfo {
            id: id.to_owned(),
            document: doc.name.clone(),
            doc_hash: doc.hash.clone(),
            created_at: state.created_at,
            active,
            data,
            timers,
            items: state.items,
            calls: state.calls,
        })
    }

    /// Rebuilds a session from its checkpoint. Its timers keep their deadlines; the queue items
    /// it had waiting are returned for the caller to submit again (in entry order, across
    /// hosts) with [`HostCore::resubmit`]; its calls did not survive the restart (the switch is
    /// simulated in memory): it hears `interaction.deleted` for each, and `error.queue.submit`
    /// (abandoned) for an item that was routing one.
    pub fn restore(
        &mut self,
        id: &str,
        doc: Arc<LoadedDoc>,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Vec<ItemMeta>, String> {
        self.set_now(now);
        let cp = checkpoint::decode(bytes)?;
        if cp.tree.session.id != id {
            return Err(format!(
                "the checkpoint of '{id}' holds session '{}'",
                cp.tree.session.id
            ));
        }
        self.sys
            .restore(&mut self.dm, doc.doc.clone(), cp.tree)
            .map_err(|e| e.to_string())?;
        let mut state = cp.meta;
        let lost: Vec<CallMeta> = std::mem::take(&mut state.calls);
        // An item that was routing one of those calls leaves with it (the caller is gone).
        let abandoned: Vec<ItemMeta> = state
            .items
            .iter()
            .filter(|i| i.routed.is_none() && i.interaction.is_some())
            .cloned()
            .collect();
        state
            .items
            .retain(|i| !(i.routed.is_none() && i.interaction.is_some()));
        let mut waiting = Vec::new();
        for i in &mut state.items {
            i.item = None;
            if i.routed.is_none() {
                waiting.push(i.clone());
            }
        }
        // Items already routed went with the agents' state; the session keeps its record.
        self.st.borrow_mut().sessions.insert(
            id.to_owned(),
            Box::new(SessionMeta {
                doc,
                state,
                requests: Vec::new(),
                start: None,
                start_response: None,
                interaction: None,
            }),
        );
        for c in lost {
            let ev = Event::external(
                "interaction.deleted",
                Value::Object(vec![
                    ("requestid".into(), Value::String(c.requestid.clone())),
                    (
                        "interaction".into(),
                        Value::String(IxnId(c.ixn).to_string()),
                    ),
                    ("by".into(), Value::String("restart".into())),
                ]),
            );
            self.sys.deliver(&mut self.dm, id, ev, now.max(0) as u64);
        }
        for i in abandoned {
            let mut ev = Event::external(
                "error.queue.submit",
                Value::Object(vec![
                    ("requestid".into(), Value::String(i.requestid.clone())),
                    ("queue".into(), Value::String(i.queue.clone())),
                    ("reason".into(), Value::String("abandoned".into())),
                    (
                        "message".into(),
                        Value::String("the call it was routing did not survive the restart".into()),
                    ),
                ]),
            );
            ev.kind = EventType::Platform;
            self.sys.deliver(&mut self.dm, id, ev, now.max(0) as u64);
        }
        self.touch(id);
        self.after_step();
        Ok(waiting)
    }

    /// Submits a restored session's waiting item again, keeping its age (in tests; the
    /// server submits all hosts' items from one thread, oldest first).
    pub fn resubmit(&mut self, id: &str, item: &ItemMeta, now: Millis) -> Result<ItemId, String> {
        self.set_now(now);
        let submit = resubmission(id, item, now)?;
        let new = self
            .st
            .borrow_mut()
            .center(|c, now| c.submit(submit, now))
            .ok_or("the center is unavailable")?
            .map_err(|e| e.to_string())?;
        self.set_item(id, &item.requestid, new.0);
        Ok(new)
    }

    /// Records the center's new id for a resubmitted item.
    pub fn set_item(&mut self, id: &str, requestid: &str, item: u64) {
        if let Some(i) = self
            .st
            .borrow_mut()
            .sessions
            .get_mut(id)
            .and_then(|m| m.state.items.iter_mut().find(|i| i.requestid == requestid))
        {
            i.item = Some(item);
        }
        self.touch(id);
    }

    /// Collects the data model's garbage (see `EcmaDataModel::collect_garbage`).
    pub fn collect_garbage(&mut self) {
        self.dm.collect_garbage();
    }

    /// Drops compiled code of documents no session runs any more.
    pub fn collect(&mut self) {
        self.dm.collect_unused_documents();
    }
}

/// The submission that puts a restored session's waiting item back in its queue with its age.
pub fn resubmission(id: &str, item: &ItemMeta, now: Millis) -> Result<Submit, String> {
    let targets = TargetList::parse(&item.targets).map_err(|e| e.to_string())?;
    let mut request = RouteRequest::new(&item.queue, targets);
    request.priority = item.priority;
    request.media = item.media.clone();
    request.reserve_timeout_ms = item.reserve_timeout_ms;
    request.reject_retry_ms = item.reject_retry_ms;
    request.enqueued_at = Some(item.enqueued_at);
    Ok(Submit {
        request,
        owner: Owner::Session(Arc::from(id)),
        tag: item.requestid.clone(),
        interaction: None,
        timeout_ms: item.deadline.map(|d| d.saturating_sub(now).max(0)),
        user_data: item.user_data.clone(),
    })
}

/// The event a notice becomes, by name, when that does not depend on its contents (`None`:
/// it does, or it becomes none).
fn notice_name(n: &Notice) -> Option<&'static str> {
    Some(match n {
        Notice::Queued { .. } => "queue.submit.queued",
        Notice::TargetsChanged { .. } => "queue.submit.targets",
        Notice::Offered { .. } => "queue.submit.offered",
        Notice::OfferEnded { .. } => "queue.submit.offerended",
        Notice::Routed { .. } => "queue.submit.done",
        Notice::Left { .. } => "error.queue.submit",
        Notice::Completed { .. } => "queue.submit.completed",
        Notice::Transferred { .. } => "queue.submit.transferred",
        Notice::TreatmentDone { .. } => "dialog.play.done",
        _ => return None,
    })
}

fn party_fields(p: &Party) -> Vec<(&'static str, Value)> {
    let (kind, id) = match p {
        Party::Customer(c) => ("customer", c),
        Party::Agent(a) => ("agent", a),
        Party::RoutePoint(r) => ("routepoint", r),
    };
    vec![
        ("party", Value::String(kind.into())),
        ("id", Value::String(id.clone())),
    ]
}
