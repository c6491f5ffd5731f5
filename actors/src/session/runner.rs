//! The session hosts, live: one OS thread per host (a boa context is not `Send`), each owning a
//! [`HostCore`], fed through a channel, with the clock read at every step. A directory (a
//! `DashMap`) names the host of every session, so any handler reaches a session in one lookup;
//! new sessions are spread over the hosts round robin.
//!
//! After each batch of work a host writes the checkpoints of the sessions that changed in one
//! store write and waits for it to be durable; only then does it answer the callers and start
//! the fetches and pushes the batch asked for. A request is therefore never answered before the
//! state it produced would survive a `kill -9`, and nothing a crash undoes was ever seen
//! outside.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use dashmap::DashMap;
use engine::store::{Millis, Store, StoredDocument, WriteOp};
use scxml::interp::SendTarget;
use scxml::system::Transport;
use scxml::{Event, Value};
use tokio::sync::oneshot;

use super::checkpoint::ItemMeta;
use super::core::{
    FetchSpec, HostCore, HostEffect, HostError, HostSettings, PushSpec, Reply, SessionInfo,
    StartSpec,
};
use super::docs::{Documents, LoadedDoc};
use crate::center::core::{Notice, Owner};
use crate::center::{now, Center, NoticeSink};

/// Most messages one host takes in before it saves and answers.
const MAX_BATCH: usize = 512;

/// How often a busy host collects its ECMAScript garbage.
const GC_EVERY_MS: Millis = 100;

/// Finished sessions are remembered (410) this long in memory; after that the store's
/// tombstone answers, until it is purged too.
const TOMBSTONE_MS: Millis = 60 * 1000;

/// What a fetch returned.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResult {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Performs a session's HTTP request (`session:fetch`); the web layer provides it.
pub type HttpFetch = Arc<dyn Fn(FetchSpec) -> BoxFuture<Result<FetchResult, String>> + Send + Sync>;

/// Delivers a session's push (`notify:push`); the web layer provides it (the notifier).
pub type PushSend = Arc<dyn Fn(PushSpec) -> BoxFuture<Result<String, String>> + Send + Sync>;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Live(usize),
    Finished(Millis),
}

enum HostMsg {
    Start(StartSpec),
    Event {
        id: String,
        event: Event,
        token: Option<u64>,
    },
    Request {
        id: String,
        name: String,
        data: Value,
        token: u64,
    },
    Terminate {
        id: String,
        token: u64,
    },
    Notice {
        id: String,
        notice: Notice,
    },
    Completed {
        id: String,
        event: Event,
    },
    Info {
        id: String,
        reply: oneshot::Sender<Option<SessionInfo>>,
    },
    Restore {
        id: String,
        doc: Arc<LoadedDoc>,
        checkpoint: Vec<u8>,
        reply: Sender<Result<Vec<ItemMeta>, String>>,
    },
    Resubmitted {
        id: String,
        requestid: String,
        item: u64,
    },
    Adopt {
        id: String,
        call: crate::session::core::CallStart,
        token: u64,
    },
    Stop,
}

/// Stack of a session host thread.
const HOST_STACK_BYTES: usize = 32 << 20;

/// What the hosts share.
struct Inner {
    hosts: Vec<Sender<HostMsg>>,
    /// Every session's place; foldhash (seeded per map) keeps lookups and shard growth quick.
    directory: DashMap<String, Place, foldhash::fast::RandomState>,
    round_robin: AtomicUsize,
    tokens: AtomicU64,
    waiters: DashMap<u64, oneshot::Sender<Result<Reply, HostError>>>,
    store: Arc<dyn Store>,
    docs: Arc<Documents>,
    runtime: tokio::runtime::Handle,
    fetch: OnceLock<HttpFetch>,
    push: OnceLock<PushSend>,
    live: AtomicUsize,
    callbacks: Option<Arc<crate::callback::Callbacks>>,
}

/// The session hosts: cheap to clone, callable from any thread.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("hosts", &self.inner.hosts.len())
            .field("live", &self.live())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Starts `hosts` host threads (at least one). `runtime` runs fetches and pushes.
    pub fn start(
        hosts: usize,
        center: Center,
        store: Arc<dyn Store>,
        docs: Arc<Documents>,
        settings: HostSettings,
        runtime: tokio::runtime::Handle,
        callbacks: Option<Arc<crate::callback::Callbacks>>,
    ) -> Sessions {
        let n = hosts.max(1);
        let mut senders = Vec::with_capacity(n);
        let mut receivers = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = crossbeam_channel::unbounded();
            senders.push(tx);
            receivers.push(rx);
        }
        let inner = Arc::new(Inner {
            hosts: senders,
            directory: DashMap::default(),
            round_robin: AtomicUsize::new(0),
            tokens: AtomicU64::new(0),
            waiters: DashMap::new(),
            store,
            docs,
            runtime,
            fetch: OnceLock::new(),
            push: OnceLock::new(),
            live: AtomicUsize::new(0),
            callbacks,
        });
        for (i, rx) in receivers.into_iter().enumerate() {
            let inner = inner.clone();
            let center = center.clone();
            let settings = settings.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("session-host-{i}"))
                // boa parses and runs scripts recursively: nested literals and deep calls (up to
                // the recursion limit) need more than the default 2 MiB, in debug builds most.
                .stack_size(HOST_STACK_BYTES)
                .spawn(move || host_loop(i, inner, center, settings, rx));
            if let Err(e) = spawned {
                tracing::error!(host = i, error = %e, "a session host thread did not start");
            }
        }
        Sessions { inner }
    }

    pub fn set_fetch(&self, fetch: HttpFetch) {
        let _ = self.inner.fetch.set(fetch);
    }

    /// Sends messages through the notification service now (what is told of a change already
    /// durable; see [`HostEffect::Notify`]).
    pub fn notify(&self, specs: Vec<PushSpec>) {
        for spec in specs {
            notify(&self.inner, spec);
        }
    }

    pub fn set_push(&self, push: PushSend) {
        let _ = self.inner.push.set(push);
    }

    pub fn documents(&self) -> &Arc<Documents> {
        &self.inner.docs
    }

    /// Sessions alive on this node.
    pub fn live(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    fn token(&self) -> (u64, oneshot::Receiver<Result<Reply, HostError>>) {
        let token = self.inner.tokens.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.inner.waiters.insert(token, tx);
        (token, rx)
    }

    fn send(&self, host: usize, msg: HostMsg) -> Result<(), SessionError> {
        self.inner
            .hosts
            .get(host)
            .ok_or(SessionError::Unavailable)?
            .send(msg)
            .map_err(|_| SessionError::Unavailable)
    }

    fn place(&self, id: &str) -> Result<usize, SessionError> {
        match self.inner.directory.get(id).map(|p| *p) {
            Some(Place::Live(h)) => Ok(h),
            Some(Place::Finished(_)) => Err(SessionError::Finished(id.to_owned())),
            None => match self.inner.store.session(id) {
                Ok(Some(row)) if row.finished_at.is_some() => {
                    Err(SessionError::Finished(id.to_owned()))
                }
                _ => Err(SessionError::NotFound(id.to_owned())),
            },
        }
    }

    async fn wait(
        &self,
        rx: oneshot::Receiver<Result<Reply, HostError>>,
    ) -> Result<Reply, SessionError> {
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(SessionError::Unavailable),
        }
    }

    /// Starts a session and answers once its first step is durable.
    pub async fn start_session(&self, mut spec: StartSpec) -> Result<Reply, SessionError> {
        let host = self.claim_id(&spec.id)?;
        let (token, rx) = self.token();
        spec.reply = Some(token);
        if let Err(e) = self.send(host, HostMsg::Start(spec)) {
            self.inner.waiters.remove(&token);
            return Err(e);
        }
        self.wait(rx).await
    }

    /// Starts a session without waiting (strategies for new calls).
    pub fn spawn_session(&self, spec: StartSpec) -> Result<(), SessionError> {
        let host = self.claim_id(&spec.id)?;
        self.send(host, HostMsg::Start(spec))
    }

    /// Reserves `id` on a host chosen round robin.
    fn claim_id(&self, id: &str) -> Result<usize, SessionError> {
        let n = self.inner.hosts.len();
        let host = self.inner.round_robin.fetch_add(1, Ordering::Relaxed) % n;
        match self.inner.directory.entry(id.to_owned()) {
            dashmap::Entry::Occupied(_) => Err(SessionError::Duplicate(id.to_owned())),
            dashmap::Entry::Vacant(v) => {
                v.insert(Place::Live(host));
                self.inner.live.fetch_add(1, Ordering::Relaxed);
                Ok(host)
            }
        }
    }

    /// Delivers an event; answers once the step it caused is durable.
    pub async fn event(&self, id: &str, name: &str, data: Value) -> Result<(), SessionError> {
        let host = self.place(id)?;
        let (token, rx) = self.token();
        let msg = HostMsg::Event {
            id: id.to_owned(),
            event: Event::external(name, data),
            token: Some(token),
        };
        if let Err(e) = self.send(host, msg) {
            self.inner.waiters.remove(&token);
            return Err(e);
        }
        self.wait(rx).await.map(|_| ())
    }

    /// A request answered by the chart's `<session:response>`, or `Timeout` after `wait`.
    pub async fn request(
        &self,
        id: &str,
        name: &str,
        data: Value,
        wait: Duration,
    ) -> Result<(u16, Value), SessionError> {
        let host = self.place(id)?;
        let (token, rx) = self.token();
        let msg = HostMsg::Request {
            id: id.to_owned(),
            name: name.to_owned(),
            data,
            token,
        };
        if let Err(e) = self.send(host, msg) {
            self.inner.waiters.remove(&token);
            return Err(e);
        }
        match tokio::time::timeout(wait, rx).await {
            Err(_) => {
                self.inner.waiters.remove(&token);
                Err(SessionError::Timeout(id.to_owned()))
            }
            Ok(Ok(Ok(Reply::Response { status, body }))) => Ok((status, body)),
            Ok(Ok(Ok(_))) => Err(SessionError::Unavailable),
            Ok(Ok(Err(e))) => Err(e.into()),
            Ok(Err(_)) => Err(SessionError::Unavailable),
        }
    }

    /// Gives a live session a call (`interaction.arrived`); answers with the call once the
    /// step is durable.
    pub async fn adopt(
        &self,
        id: &str,
        call: crate::session::core::CallStart,
    ) -> Result<Reply, SessionError> {
        let host = self.place(id)?;
        let (token, rx) = self.token();
        let msg = HostMsg::Adopt {
            id: id.to_owned(),
            call,
            token,
        };
        if let Err(e) = self.send(host, msg) {
            self.inner.waiters.remove(&token);
            return Err(e);
        }
        self.wait(rx).await
    }

    pub async fn terminate(&self, id: &str) -> Result<(), SessionError> {
        let host = self.place(id)?;
        let (token, rx) = self.token();
        if let Err(e) = self.send(
            host,
            HostMsg::Terminate {
                id: id.to_owned(),
                token,
            },
        ) {
            self.inner.waiters.remove(&token);
            return Err(e);
        }
        self.wait(rx).await.map(|_| ())
    }

    pub async fn info(&self, id: &str) -> Result<SessionInfo, SessionError> {
        let host = self.place(id)?;
        let (tx, rx) = oneshot::channel();
        self.send(
            host,
            HostMsg::Info {
                id: id.to_owned(),
                reply: tx,
            },
        )?;
        rx.await
            .map_err(|_| SessionError::Unavailable)?
            .ok_or_else(|| SessionError::NotFound(id.to_owned()))
    }

    /// Ids of live sessions, sorted, from `offset`, at most `limit`; and how many there are.
    pub fn list(&self, offset: usize, limit: usize) -> (Vec<String>, usize) {
        let mut ids: Vec<String> = self
            .inner
            .directory
            .iter()
            .filter(|e| matches!(e.value(), Place::Live(_)))
            .map(|e| e.key().clone())
            .collect();
        ids.sort();
        let total = ids.len();
        (ids.into_iter().skip(offset).take(limit).collect(), total)
    }

    /// Forgets finished sessions older than the tombstone time.
    pub fn sweep(&self, now: Millis) {
        self.inner.directory.retain(|_, p| match p {
            Place::Finished(at) => now.saturating_sub(*at) < TOMBSTONE_MS,
            Place::Live(_) => true,
        });
        self.inner.docs.collect();
    }

    /// Restores every live session from the store (at start, before serving), then submits
    /// their waiting queue items again in the order they first entered. Returns how many
    /// sessions came back, and the problems with those that could not.
    pub fn restore_all(&self, center: &Center) -> (usize, Vec<String>) {
        let rows = match self.inner.store.live_sessions() {
            Ok(r) => r,
            Err(e) => return (0, vec![format!("reading sessions: {e}")]),
        };
        let mut problems = Vec::new();
        let mut pending = Vec::new();
        for row in rows {
            let Some(bytes) = row.checkpoint else {
                continue;
            };
            let doc = match self.inner.store.document(&row.doc_hash) {
                Ok(Some(d)) => match self.inner.docs.load(&d.name, &d.source) {
                    Ok(doc) => doc,
                    Err(e) => {
                        problems.push(format!("session {}: its document: {e}", row.id));
                        continue;
                    }
                },
                Ok(None) => {
                    problems.push(format!(
                        "session {}: document {} is not in the store",
                        row.id, row.doc_hash
                    ));
                    continue;
                }
                Err(e) => {
                    problems.push(format!("session {}: {e}", row.id));
                    continue;
                }
            };
            let host = match self.claim_id(&row.id) {
                Ok(h) => h,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            // A plain channel: this runs before the server serves, possibly on its runtime.
            let (tx, rx) = crossbeam_channel::bounded(1);
            let msg = HostMsg::Restore {
                id: row.id.clone(),
                doc,
                checkpoint: bytes,
                reply: tx,
            };
            if self.send(host, msg).is_err() {
                problems.push(format!("session {}: no host", row.id));
                continue;
            }
            pending.push((row.id, host, rx));
        }
        let mut restored = 0;
        let mut items = Vec::new();
        for (id, host, rx) in pending {
            match rx.recv() {
                Ok(Ok(waiting)) => {
                    restored += 1;
                    for i in waiting {
                        items.push((id.clone(), host, i));
                    }
                }
                Ok(Err(e)) => {
                    self.inner.directory.remove(&id);
                    self.inner.live.fetch_sub(1, Ordering::Relaxed);
                    problems.push(format!("session {id}: {e}"));
                }
                Err(_) => problems.push(format!("session {id}: its host stopped")),
            }
        }
        // One thread submits them all, oldest first, so queue order survives the restart.
        items.sort_by_key(|(_, _, i)| (i.enqueued_at, i.seq));
        for (id, host, item) in items {
            let submit = match super::core::resubmission(&id, &item, now()) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("session {id}, {}: {e}", item.requestid));
                    continue;
                }
            };
            match center.with(|c, now| c.submit(submit, now)) {
                Ok(new) => {
                    let _ = self.send(
                        host,
                        HostMsg::Resubmitted {
                            id: id.clone(),
                            requestid: item.requestid.clone(),
                            item: new.0,
                        },
                    );
                }
                Err(e) => problems.push(format!("session {id}, {}: {e}", item.requestid)),
            }
        }
        (restored, problems)
    }

    /// Stops the host threads (after their queued work).
    pub fn stop(&self) {
        for h in &self.inner.hosts {
            let _ = h.send(HostMsg::Stop);
        }
    }
}

/// Why a session operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no session '{0}'")]
    NotFound(String),
    #[error("session '{0}' has ended")]
    Finished(String),
    #[error("a session with id '{0}' already exists")]
    Duplicate(String),
    #[error("session '{0}' did not answer the request in time")]
    Timeout(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    CallGone(String),
    #[error("session '{0}' ended without answering the request")]
    Ended(String),
    #[error("the store failed: {0}")]
    Store(String),
    #[error("the session host is unavailable")]
    Unavailable,
}

impl From<HostError> for SessionError {
    fn from(e: HostError) -> SessionError {
        match e {
            HostError::NotFound(id) => SessionError::NotFound(id),
            HostError::Duplicate(id) => SessionError::Duplicate(id),
            HostError::BadRequest(m) => SessionError::BadRequest(m),
            HostError::Ended(id) => SessionError::Ended(id),
            HostError::CallGone(m) => SessionError::CallGone(m),
            HostError::Store(m) => SessionError::Store(m),
        }
    }
}

/// Starts the strategy of a call that arrived at a route point.
pub trait RouteCalls: Send + Sync {
    /// A [`StartSpec`] that claims the call, or `None` to leave it (it is logged).
    fn strategy(
        &self,
        ixn: engine::telephony::IxnId,
        customer: &str,
        dnis: &str,
        media: engine::telephony::Media,
    ) -> Option<StartSpec>;
}

/// Delivers the center's notices: to sessions through their host, new calls to their strategy,
/// agents' events to their push channel.
pub struct Dispatch {
    sessions: Sessions,
    route: Arc<dyn RouteCalls>,
    push: Option<crate::push::PushHub>,
}

impl Dispatch {
    pub fn new(
        sessions: Sessions,
        route: Arc<dyn RouteCalls>,
        push: Option<crate::push::PushHub>,
    ) -> Dispatch {
        Dispatch {
            sessions,
            route,
            push,
        }
    }
}

impl NoticeSink for Dispatch {
    fn deliver(&self, owner: Owner, notice: Notice) {
        let inner = &self.sessions.inner;
        match owner {
            Owner::Session(id) => {
                if let Some(Place::Live(h)) = inner.directory.get(&*id).map(|p| *p) {
                    let _ = self.sessions.send(
                        h,
                        HostMsg::Notice {
                            id: id.to_string(),
                            notice,
                        },
                    );
                }
            }
            Owner::RoutePoint => {
                if let Notice::RouteRequest {
                    ixn,
                    customer,
                    dnis,
                    media,
                } = notice
                {
                    match self.route.strategy(ixn, &customer, &dnis, media) {
                        Some(spec) => {
                            if let Err(e) = self.sessions.spawn_session(spec) {
                                tracing::warn!(%ixn, error = %e, "the call's strategy did not start");
                            }
                        }
                        None => tracing::warn!(%ixn, %dnis, "no strategy for the call"),
                    }
                }
            }
            Owner::Agent(agent) => {
                if let (Some(push), Notice::Agent(e)) = (&self.push, &notice) {
                    // Building the event's JSON is most of the cost: only for a listener.
                    if !push.listens_to_agent(&agent) {
                        return;
                    }
                    if let Err(err) =
                        push.publish_to_agent(&agent, crate::push::agent_event_json(e))
                    {
                        tracing::debug!(%agent, error = %err, "agent event not pushed");
                    }
                }
            }
            Owner::Api => {}
        }
    }
}

/// Sends to sessions of other hosts.
struct HostTransport {
    me: usize,
    inner: std::sync::Weak<Inner>,
}

impl Transport for HostTransport {
    fn send(&mut self, _from: &str, target: &SendTarget, event: &Event) -> Result<(), String> {
        let SendTarget::Session(id) = target else {
            return Err("this server delivers only to SCXML sessions".into());
        };
        let inner = self.inner.upgrade().ok_or("the server is stopping")?;
        match inner.directory.get(id).map(|p| *p) {
            Some(Place::Live(h)) => inner
                .hosts
                .get(h)
                .ok_or("no such host")?
                .send(HostMsg::Event {
                    id: id.clone(),
                    event: event.clone(),
                    token: None,
                })
                .map_err(|_| "the host is stopping".to_string()),
            _ => Err(format!("no session '{id}'")),
        }
    }

    fn poll(&mut self) -> Option<(String, Event)> {
        None
    }

    fn session_exists(&self, id: &str) -> bool {
        self.inner.upgrade().is_some_and(|inner| {
            matches!(inner.directory.get(id).map(|p| *p), Some(Place::Live(h)) if h != self.me)
        })
    }
}

fn host_loop(
    me: usize,
    inner: Arc<Inner>,
    center: Center,
    settings: HostSettings,
    rx: Receiver<HostMsg>,
) {
    let transport = HostTransport {
        me,
        inner: Arc::downgrade(&inner),
    };
    let mut core = HostCore::new(Box::new(center), settings, Some(Box::new(transport)));
    if let Some(c) = &inner.callbacks {
        core.set_callbacks(c.clone());
    }
    let mut written_docs: HashSet<String> = HashSet::new();
    let docs_lost = Arc::new(AtomicBool::new(false));
    let mut last_collect = now();
    let mut last_gc = now();
    let mut busy_since_gc = false;
    loop {
        let wait = match core.next_deadline() {
            Some(at) => Duration::from_millis(u64::try_from(at - now()).unwrap_or(0)),
            None => Duration::from_secs(1),
        };
        let first = match rx.recv_timeout(wait.min(Duration::from_secs(1))) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let _span = tracing::debug_span!("session_host", host = me).entered();
        let mut stop = false;
        let mut batch = 0;
        busy_since_gc |= first.is_some();
        let mut next = first;
        while let Some(msg) = next {
            let t = now();
            if handle(&mut core, &inner, msg, t) {
                stop = true;
                break;
            }
            batch += 1;
            if batch >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        let t = now();
        core.advance(t);
        let effects = core.take_effects();
        if !effects.is_empty() {
            save(&inner, &mut written_docs, &docs_lost, effects, t);
        }
        core.park_idle(t);
        // Short, frequent collections rather than boa's rare long ones (a busy host collects
        // ten times a second, about a millisecond each; an idle one does not).
        if busy_since_gc && t - last_gc >= GC_EVERY_MS {
            core.collect_garbage();
            last_gc = t;
            busy_since_gc = false;
        }
        if t - last_collect > 60_000 {
            core.collect();
            last_collect = t;
        }
        if stop {
            return;
        }
    }
}

/// Handles one message; true to stop.
fn handle(core: &mut HostCore, inner: &Arc<Inner>, msg: HostMsg, now: Millis) -> bool {
    let fail = |token: Option<u64>, e: HostError| {
        if let Some((_, tx)) = token.and_then(|t| inner.waiters.remove(&t)) {
            let _ = tx.send(Err(e));
        }
    };
    match msg {
        HostMsg::Start(spec) => {
            let id = spec.id.clone();
            let token = spec.reply;
            if let Err(e) = core.start(spec, now) {
                tracing::debug!(session = %id, error = %e, "session not started");
                inner.directory.remove(&id);
                inner.live.fetch_sub(1, Ordering::Relaxed);
                fail(token, e);
            }
        }
        HostMsg::Event { id, event, token } => {
            if let Err(e) = core.event(&id, event, token, now) {
                fail(token, e);
            }
        }
        HostMsg::Request {
            id,
            name,
            data,
            token,
        } => {
            if let Err(e) = core.request(&id, &name, data, token, now) {
                fail(Some(token), e);
            }
        }
        HostMsg::Terminate { id, token } => {
            if let Err(e) = core.terminate(&id, Some(token), now) {
                fail(Some(token), e);
            }
        }
        HostMsg::Notice { id, notice } => core.notice(&id, notice, now),
        HostMsg::Completed { id, event } => core.completed(&id, event, now),
        HostMsg::Info { id, reply } => {
            let _ = reply.send(core.info(&id));
        }
        HostMsg::Restore {
            id,
            doc,
            checkpoint,
            reply,
        } => {
            let _ = reply.send(core.restore(&id, doc, &checkpoint, now));
        }
        HostMsg::Resubmitted {
            id,
            requestid,
            item,
        } => core.set_item(&id, &requestid, item),
        HostMsg::Adopt { id, call, token } => {
            if let Err(e) = core.adopt(&id, call, Some(token), now) {
                fail(Some(token), e);
            }
        }
        HostMsg::Stop => return true,
    }
    false
}

/// Saves the batch's checkpoints (on the host thread); the replies, fetches and pushes that
/// must wait for them go with the write and are released by the store's writer once the batch
/// is durable ([`release`]). The host goes on with the next batch while the store commits; the
/// store commits, and releases, in order. A batch that only moved sessions along (notices) is
/// written with nothing waiting on it; a later batch that waits also waits for it.
fn save(
    inner: &Arc<Inner>,
    written_docs: &mut HashSet<String>,
    docs_lost: &Arc<AtomicBool>,
    mut effects: Vec<HostEffect>,
    now: Millis,
) {
    if docs_lost.swap(false, Ordering::Relaxed) {
        // A write failed: the documents it carried may be missing; write them again.
        written_docs.clear();
    }
    let mut ops = Vec::new();
    let mut answers = false;
    // The writes move into the batch (`release` needs only the answers).
    for e in &mut effects {
        match e {
            HostEffect::Save {
                id,
                doc,
                created_at,
                checkpoint,
            } => {
                if written_docs.insert(doc.hash.clone()) {
                    ops.push(WriteOp::PutDocument(StoredDocument {
                        hash: doc.hash.clone(),
                        name: doc.name.clone(),
                        source: doc.source.to_string(),
                    }));
                }
                ops.push(WriteOp::PutSession {
                    id: id.clone(),
                    doc_hash: doc.hash.clone(),
                    created_at: *created_at,
                    updated_at: now,
                    checkpoint: std::mem::take(checkpoint),
                });
            }
            HostEffect::Finished {
                id,
                at,
                final_state,
                halted,
            } => {
                answers = true;
                ops.push(WriteOp::FinishSession {
                    id: id.clone(),
                    at: *at,
                });
                // Marked at once, so whoever is answered next sees the session ended.
                tracing::debug!(session = %id, ?final_state, ?halted, "session finished");
                inner.directory.insert(id.clone(), Place::Finished(*at));
                inner.live.fetch_sub(1, Ordering::Relaxed);
            }
            HostEffect::Reply { .. }
            | HostEffect::Fetch { .. }
            | HostEffect::Push { .. }
            | HostEffect::Notify(_) => answers = true,
            HostEffect::Write(writes) => ops.append(writes),
            HostEffect::Log {
                session,
                label,
                message,
            } => {
                tracing::debug!(%session, label = label.as_deref().unwrap_or(""), %message, "chart log");
            }
        }
    }
    if !answers && ops.is_empty() {
        return;
    }
    superseded_dropped(&mut ops);
    let effects = if answers { effects } else { Vec::new() };
    // Even with nothing to write, the answers go through the store: it releases in commit
    // order, after the earlier batches they may depend on.
    let (inner2, docs_lost) = (inner.clone(), docs_lost.clone());
    inner.store.write_then(
        ops,
        Box::new(move |outcome| {
            release(
                &inner2,
                &docs_lost,
                outcome.map_err(|e| e.to_string()),
                effects,
            )
        }),
    );
}

/// Drops every checkpoint or callback record that a later one of the same session or callback
/// in the same batch replaces: the batch commits atomically, so only the last is ever seen
/// (a callback's create and its first state change, a start and the event that followed it).
fn superseded_dropped(ops: &mut Vec<WriteOp>) {
    fn key(op: &WriteOp) -> Option<(bool, &str)> {
        match op {
            WriteOp::PutSession { id, .. } => Some((false, id)),
            WriteOp::PutCallback(record) => Some((true, &record.id)),
            _ => None,
        }
    }
    let mut seen: HashSet<(bool, &str)> = HashSet::new();
    let keep: Vec<bool> = ops
        .iter()
        .rev()
        .map(|op| key(op).is_none_or(|k| seen.insert(k)))
        .collect();
    if keep.iter().all(|k| *k) {
        return;
    }
    let mut keep = keep.into_iter().rev();
    ops.retain(|_| keep.next().unwrap_or(true));
}

/// Once a batch is durable (on the store's writer thread): answers its replies and starts its
/// fetches and pushes. Short and non-blocking: sends and spawns only.
fn release(
    inner: &Arc<Inner>,
    docs_lost: &AtomicBool,
    durable: Result<(), String>,
    effects: Vec<HostEffect>,
) {
    if let Err(e) = &durable {
        tracing::error!(error = %e, "saving session checkpoints failed");
        docs_lost.store(true, Ordering::Relaxed);
    }
    for e in effects {
        match e {
            HostEffect::Reply { token, reply } => {
                if let Some((_, tx)) = inner.waiters.remove(&token) {
                    let reply = match &durable {
                        Ok(()) => reply,
                        Err(m) => Err(HostError::Store(m.clone())),
                    };
                    let _ = tx.send(reply);
                }
            }
            HostEffect::Fetch {
                session,
                requestid,
                fetch,
            } if durable.is_ok() => start_fetch(inner, session, requestid, fetch),
            HostEffect::Push {
                session,
                requestid,
                push,
            } if durable.is_ok() => start_push(inner, session, requestid, push),
            HostEffect::Notify(spec) if durable.is_ok() => notify(inner, spec),
            _ => {}
        }
    }
}

/// Sends a message through the notification service, with nobody to answer (a failure is
/// logged; deliveries are retried by the notifier itself).
fn notify(inner: &Arc<Inner>, spec: PushSpec) {
    let Some(push) = inner.push.get().cloned() else {
        tracing::debug!(tag = ?spec.tag, "no notification service: status notification dropped");
        return;
    };
    inner.runtime.spawn(async move {
        let tag = spec.tag.clone();
        if let Err(e) = push(spec).await {
            tracing::warn!(?tag, error = %e, "notification not sent");
        }
    });
}

fn complete(inner: &Arc<Inner>, id: &str, event: Event) {
    if let Some(Place::Live(h)) = inner.directory.get(id).map(|p| *p) {
        if let Some(tx) = inner.hosts.get(h) {
            let _ = tx.send(HostMsg::Completed {
                id: id.to_owned(),
                event,
            });
        }
    }
}

fn start_fetch(inner: &Arc<Inner>, session: String, requestid: String, spec: FetchSpec) {
    let inner2 = inner.clone();
    let Some(fetch) = inner.fetch.get().cloned() else {
        let ev = error_event(
            "error.fetch",
            &requestid,
            "this server has no HTTP client for session:fetch",
        );
        complete(inner, &session, ev);
        return;
    };
    inner.runtime.spawn(async move {
        let ev = match fetch(spec).await {
            Ok(r) => {
                let data = match serde_json::from_str::<serde_json::Value>(&r.body) {
                    Ok(v) => json_value(&v),
                    Err(_) => Value::String(r.body.clone()),
                };
                let fields = vec![
                    ("requestid".to_owned(), Value::String(requestid.clone())),
                    ("status".to_owned(), Value::Number(f64::from(r.status))),
                    (
                        "contenttype".to_owned(),
                        r.content_type.map_or(Value::Null, Value::String),
                    ),
                    ("data".to_owned(), data),
                ];
                if (200..300).contains(&r.status) {
                    Event::external("session.fetch.done", Value::Object(fields))
                } else {
                    let mut e = Event::external("error.fetch", Value::Object(fields));
                    e.kind = scxml::EventType::Platform;
                    e
                }
            }
            Err(m) => error_event("error.fetch", &requestid, &m),
        };
        complete(&inner2, &session, ev);
    });
}

fn start_push(inner: &Arc<Inner>, session: String, requestid: String, spec: PushSpec) {
    let inner2 = inner.clone();
    let Some(push) = inner.push.get().cloned() else {
        let ev = error_event(
            "error.notify.push",
            &requestid,
            "this server has no notification service",
        );
        complete(inner, &session, ev);
        return;
    };
    inner.runtime.spawn(async move {
        let ev = match push(spec).await {
            Ok(id) => Event::external(
                "notify.push.done",
                Value::Object(vec![
                    ("requestid".into(), Value::String(requestid)),
                    ("id".into(), Value::String(id)),
                ]),
            ),
            Err(m) => error_event("error.notify.push", &requestid, &m),
        };
        complete(&inner2, &session, ev);
    });
}

fn error_event(name: &str, requestid: &str, message: &str) -> Event {
    let mut e = Event::external(
        name,
        Value::Object(vec![
            ("requestid".into(), Value::String(requestid.to_owned())),
            ("message".into(), Value::String(message.to_owned())),
        ]),
    );
    e.kind = scxml::EventType::Platform;
    e
}

/// A JSON value as an event value.
pub fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_value).collect()),
        serde_json::Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), json_value(v))).collect())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;
    use engine::callback::{CallbackRecord, CallbackState};

    fn callback(id: &str, state: CallbackState) -> WriteOp {
        WriteOp::PutCallback(CallbackRecord {
            id: id.into(),
            service: "s".into(),
            state,
            reason: None,
            desired_time: 0,
            created_at: 0,
            expires_at: 1,
            session: Some(id.into()),
            data: Default::default(),
        })
    }

    fn checkpoint(id: &str, byte: u8) -> WriteOp {
        WriteOp::PutSession {
            id: id.into(),
            doc_hash: "h".into(),
            created_at: 0,
            updated_at: 0,
            checkpoint: vec![byte],
        }
    }

    #[test]
    fn a_batch_keeps_only_the_last_record_and_checkpoint_of_each() {
        let mut ops = vec![
            callback("a", CallbackState::Scheduled),
            checkpoint("a", 1),
            callback("b", CallbackState::Queued),
            callback("a", CallbackState::Queued),
            WriteOp::FinishSession {
                id: "c".into(),
                at: 5,
            },
            checkpoint("a", 2),
            WriteOp::DeleteCallback { id: "b".into() },
        ];
        // The first two ("a" SCHEDULED and checkpoint 1) are replaced later in the batch.
        let expected = ops[2..].to_vec();
        superseded_dropped(&mut ops);
        assert_eq!(ops, expected);
        // Nothing superseded: nothing moves.
        let mut alone = vec![checkpoint("x", 1), callback("x", CallbackState::Queued)];
        superseded_dropped(&mut alone);
        assert_eq!(
            alone,
            vec![checkpoint("x", 1), callback("x", CallbackState::Queued)]
        );
    }
}
