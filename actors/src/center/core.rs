//! The contact center's logic as a plain struct with time passed in: the router (agents and
//! virtual queues), the simulated switch, the agents' event logs and the demo automation.
//!
//! Every item submitted to a queue and every call has an [`Owner`]: the session (state chart)
//! that submitted or dialled it or that took the call, the route point a call arrived at and
//! nobody has taken yet, or the API. What happens to an item or a call is handed back as
//! `(Owner, Notice)` pairs ([`CenterCore::take_notices`]); whoever drives the core delivers
//! them. Agents' desktop events are notices too, to [`Owner::Agent`]. Strategy logic (music
//! while waiting, which queue, what to do when the caller hangs up) lives in the owners' charts,
//! not here: the core only routes, connects, plays and reports.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use engine::agents::{AgentConfig, AgentState};
use engine::queue::{Ewt, ItemId};
use engine::routing::router::{
    ItemView, OfferEnd, QueueReport, RouteRequest, Router, RouterError, RouterEvent,
};
use engine::routing::target::Target;
use engine::store::Millis;
use engine::telephony::{
    CallState, DialRules, EventKind, Interaction, IxnId, Media, Party, Releaser, Switch,
    SwitchError,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;

use super::settings::{CenterSettings, DemoSettings};

/// Most events kept per agent for `events?since=N`; older ones are dropped (a client that
/// fell further behind gets the oldest kept and a gap it can see from the sequence numbers).
pub const AGENT_LOG_CAP: usize = 1000;

/// Released calls are forgotten this long after they ended.
const RELEASED_KEPT_MS: Millis = 10 * 60 * 1000;

/// Errors from center operations.
#[derive(Debug, thiserror::Error)]
pub enum CenterError {
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error(transparent)]
    Switch(#[from] SwitchError),
    #[error("no agent '{0}'")]
    UnknownAgent(String),
    #[error("agent '{agent}' has no interaction {ixn}")]
    NoInteraction { agent: String, ixn: String },
    #[error("{0}")]
    BadRequest(String),
}

/// Who hears about an item or a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A state-chart session, by id.
    Session(Arc<str>),
    /// A call that arrived at a route point and that no session has taken yet: its owner is
    /// whoever starts strategies for new calls.
    RoutePoint,
    /// An agent's desktop (its events).
    Agent(String),
    /// Placed through the telephony API: nobody listens.
    Api,
}

/// Why an item left its queue without being routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftReason {
    /// Its owner cancelled it.
    Cancelled,
    /// The call it was routing was released (the caller hung up).
    Abandoned,
    /// It waited longer than the owner allowed.
    Timeout,
}

impl LeftReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeftReason::Cancelled => "cancelled",
            LeftReason::Abandoned => "abandoned",
            LeftReason::Timeout => "timeout",
        }
    }
}

/// What an owner hears. `tag` is the owner's own name for the item or call (a request id).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The item entered its queue at this 1-based position.
    Queued {
        tag: String,
        item: ItemId,
        queue: String,
        position: usize,
    },
    /// The escalation moved: these targets are now active.
    TargetsChanged {
        tag: String,
        item: ItemId,
        targets: Vec<String>,
    },
    /// An agent was reserved for the item and must accept before `expires_at`.
    Offered {
        tag: String,
        item: ItemId,
        agent: String,
        expires_at: Millis,
    },
    OfferEnded {
        tag: String,
        item: ItemId,
        agent: String,
        reason: OfferEnd,
    },
    /// The agent accepted: the item is routed (and its call, if it has one, connected).
    Routed {
        tag: String,
        item: ItemId,
        agent: String,
        queue: String,
        waited_ms: Millis,
        interaction: Option<IxnId>,
    },
    /// The item left its queue without being routed.
    Left {
        tag: String,
        item: ItemId,
        queue: String,
        reason: LeftReason,
    },
    /// The agent finished the routed item's interaction.
    Completed {
        tag: String,
        item: ItemId,
        agent: String,
        handle_ms: Millis,
    },
    /// The routed item moved to another agent.
    Transferred {
        tag: String,
        item: ItemId,
        from: String,
        to: String,
    },
    /// Something happened to a call (dial progress, treatments, parties, release).
    Call {
        tag: String,
        ixn: IxnId,
        event: EventKind,
    },
    /// A timed treatment played to its end.
    TreatmentDone {
        tag: String,
        ixn: IxnId,
        name: String,
    },
    /// A call arrived at a route point with no owner: someone must start its strategy (and take
    /// it with [`CenterCore::claim_call`]).
    RouteRequest {
        ixn: IxnId,
        customer: String,
        dnis: String,
        media: Media,
    },
    /// An agent's desktop event (to [`Owner::Agent`]).
    Agent(Arc<AgentEvent>),
}

/// Something an agent's desktop hears about.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEventKind {
    State {
        state: AgentState,
    },
    Offer {
        offer: ItemId,
        queue: String,
        media: String,
        expires_at: Millis,
        /// The customer (number or chat id), when the item routes a call the center holds.
        customer: Option<String>,
        interaction: Option<IxnId>,
        /// Attached data the agent sees.
        user_data: Vec<(String, String)>,
    },
    OfferEnded {
        offer: ItemId,
        reason: OfferEnd,
    },
    InteractionStarted {
        item: ItemId,
        interaction: Option<IxnId>,
        media: String,
        customer: Option<String>,
        user_data: Vec<(String, String)>,
    },
    /// A call was connected to an interaction the agent already had (a callback dialled after
    /// the agent was routed).
    InteractionConnected {
        item: ItemId,
        interaction: IxnId,
        customer: Option<String>,
    },
    InteractionReleased {
        item: ItemId,
        interaction: IxnId,
        by: String,
    },
    InteractionEnded {
        item: ItemId,
        handle_ms: Millis,
    },
    /// The interaction went to another agent (single-step transfer).
    InteractionTransferred {
        item: ItemId,
        to: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvent {
    pub seq: u64,
    pub at: Millis,
    pub kind: AgentEventKind,
}

#[derive(Debug)]
struct AgentLog {
    next_seq: u64,
    /// Shared with the notices that carry them; the whole ring is allocated at once, so the
    /// logs of many agents never grow (and copy) all together under the center's lock.
    events: VecDeque<Arc<AgentEvent>>,
    waiters: Vec<oneshot::Sender<()>>,
}

impl Default for AgentLog {
    fn default() -> AgentLog {
        AgentLog {
            next_seq: 0,
            events: VecDeque::with_capacity(AGENT_LOG_CAP),
            waiters: Vec::new(),
        }
    }
}

/// What `events?since=N` gets: events now, or a receiver that fires when there are some.
#[derive(Debug)]
pub enum Poll {
    Events(Vec<AgentEvent>),
    Wait(oneshot::Receiver<()>),
}

/// An offer as the desktop shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferView {
    pub offer: ItemId,
    pub queue: String,
    pub media: String,
    pub offered_at: Millis,
    pub expires_at: Millis,
    pub customer: Option<String>,
    pub interaction: Option<IxnId>,
    pub user_data: Vec<(String, String)>,
}

/// An interaction on an agent's desktop.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkView {
    pub item: ItemId,
    pub queue: String,
    pub media: String,
    pub since: Millis,
    pub interaction: Option<IxnId>,
    pub customer: Option<String>,
    /// The switch's state of the call (`established`, `released`, ...), when there is one.
    pub call_state: Option<String>,
    pub user_data: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub config: AgentConfig,
    pub state: AgentState,
    pub offers: Vec<OfferView>,
    pub interactions: Vec<WorkView>,
    /// The sequence number of the agent's latest event (0: none yet).
    pub last_event: u64,
    pub auto: bool,
}

/// A call the center holds.
#[derive(Debug, Clone)]
struct CallInfo {
    owner: Owner,
    tag: String,
    customer: String,
    /// The item routing it, while there is one.
    item: Option<ItemId>,
    /// The agent it is connected to.
    agent: Option<String>,
    /// The timed treatment playing: its end.
    treatment_end: Option<Millis>,
    /// Set while a timed treatment is being stopped at its end (reported as done, not stopped).
    treatment_finishing: bool,
    /// Attached data, shown to agents.
    user_data: Vec<(String, String)>,
}

/// An item the center routes for an owner.
#[derive(Debug, Clone)]
struct ItemInfo {
    owner: Owner,
    tag: String,
    call: Option<IxnId>,
    /// When it leaves its queue if not routed by then.
    deadline: Option<Millis>,
    user_data: Vec<(String, String)>,
    /// The agent working it, once routed.
    agent: Option<String>,
}

/// What a chat party does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatSay {
    Text(String),
    /// Typing started (`true`) or stopped.
    Typing(bool),
}

/// What a queue submission asks for.
#[derive(Debug, Clone)]
pub struct Submit {
    pub request: RouteRequest,
    pub owner: Owner,
    pub tag: String,
    /// The call the item routes: connected to the agent when the item is routed, and the item
    /// leaves (abandoned) if the call is released first.
    pub interaction: Option<IxnId>,
    /// How long the item may wait before it leaves (`Left{Timeout}`).
    pub timeout_ms: Option<Millis>,
    pub user_data: Vec<(String, String)>,
}

/// A routed item's position and estimated wait, for `_genesys.queue`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStatus {
    pub queue: String,
    pub position: Option<usize>,
    pub ewt: Ewt,
    pub agent: Option<String>,
    pub routed: bool,
}

/// Agents able to serve a target right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetAgents {
    pub ready: usize,
    pub available: usize,
    pub logged_in: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DemoTimer {
    Accept(ItemId),
    Hangup(IxnId),
    /// A routed item with no call (a callback's virtual interaction) is done.
    Finish(ItemId),
    NextCall,
}

#[derive(Debug)]
struct Demo {
    settings: DemoSettings,
    rng: StdRng,
    timers: BTreeSet<(Millis, DemoTimer)>,
    calls_made: u64,
    /// The demo agent working each item that has no call.
    working: HashMap<ItemId, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    ItemDeadline(ItemId),
    TreatmentEnd(IxnId),
    DialTimeout(IxnId),
    Purge,
}

/// The contact center: router + switch + owners and notices + agent logs + demo.
pub struct CenterCore {
    router: Router,
    switch: Switch,
    settings: CenterSettings,
    calls: HashMap<IxnId, CallInfo>,
    /// Ordered by id (ids only grow): no table to rebuild, under the lock, as it grows.
    items: BTreeMap<ItemId, ItemInfo>,
    timers: BTreeSet<(Millis, Timer)>,
    /// Why items being cancelled leave (read when the router reports them gone).
    leaving: HashMap<ItemId, LeftReason>,
    logs: HashMap<String, AgentLog>,
    /// Agents driven by the demo automation.
    auto_agents: BTreeSet<String>,
    demo: Option<Demo>,
    outbox: Vec<(Owner, Notice)>,
}

impl std::fmt::Debug for CenterCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CenterCore")
            .field("agents", &self.logs.len())
            .field("calls", &self.calls.len())
            .field("items", &self.items.len())
            .field("demo", &self.demo.is_some())
            .finish_non_exhaustive()
    }
}

impl CenterCore {
    pub fn new(settings: CenterSettings, agents: Vec<AgentConfig>, now: Millis) -> CenterCore {
        let mut router = Router::new(settings.default_ewt);
        for (name, ewt) in &settings.queues {
            if let Err(e) = router.configure_queue(name, *ewt) {
                tracing::warn!(queue = %name, error = %e, "virtual queue configuration ignored");
            }
        }
        let mut core = CenterCore {
            router,
            switch: Switch::new(settings.dial_rules.clone()),
            calls: HashMap::new(),
            items: BTreeMap::new(),
            timers: BTreeSet::new(),
            leaving: HashMap::new(),
            logs: HashMap::new(),
            auto_agents: BTreeSet::new(),
            demo: None,
            outbox: Vec::new(),
            settings,
        };
        for a in agents {
            if let Err(e) = core.router.put_agent(a, now) {
                tracing::warn!(error = %e, "agent configuration ignored");
            }
        }
        core.outbox.clear();
        core.router.take_events();
        core
    }

    pub fn settings(&self) -> &CenterSettings {
        &self.settings
    }

    /// What happened since the last call, each with the owner to tell.
    pub fn take_notices(&mut self) -> Vec<(Owner, Notice)> {
        std::mem::take(&mut self.outbox)
    }

    /// The notices queued since the last call, keeping the queue's room for the next ones.
    pub fn drain_notices(&mut self) -> std::vec::Drain<'_, (Owner, Notice)> {
        self.outbox.drain(..)
    }

    /// Turns the demo on: every configured agent is driven automatically (logs in, goes
    /// Ready, accepts offers, talks for a drawn handle time, hangs up) and calls arrive at the
    /// configured rate.
    pub fn start_demo(&mut self, settings: DemoSettings, now: Millis) {
        let mut demo = Demo {
            rng: StdRng::seed_from_u64(settings.seed),
            settings,
            timers: BTreeSet::new(),
            calls_made: 0,
            working: HashMap::new(),
        };
        if demo.settings.calls_per_minute > 0.0 {
            let first = now.saturating_add(demo_gap(&mut demo));
            demo.timers.insert((first, DemoTimer::NextCall));
        }
        self.demo = Some(demo);
        let ids: Vec<String> = self
            .router
            .pool()
            .agents()
            .map(|a| a.id().to_owned())
            .collect();
        for id in ids {
            self.make_auto(&id, now);
        }
        self.pump(now);
    }

    fn make_auto(&mut self, id: &str, now: Millis) {
        self.auto_agents.insert(id.to_owned());
        let _ = self.router.login(id, now);
        let _ = self.router.ready(id, now);
    }

    /// Demo calls made so far.
    pub fn demo_calls(&self) -> u64 {
        self.demo.as_ref().map_or(0, |d| d.calls_made)
    }

    // ---- agents ------------------------------------------------------------------------

    /// Adds or reconfigures an agent (admin API). In demo mode a new agent is automated too.
    pub fn put_agent(&mut self, config: AgentConfig, now: Millis) -> Result<(), CenterError> {
        let id = config.id.clone();
        let new = self.router.pool().agent(&id).is_none();
        self.router.put_agent(config, now)?;
        if new && self.demo.is_some() {
            self.make_auto(&id, now);
        }
        self.pump(now);
        Ok(())
    }

    /// Removes an agent; calls it was on are released.
    pub fn remove_agent(&mut self, id: &str, now: Millis) -> Result<(), CenterError> {
        let work = self.router.remove_agent(id, now)?;
        self.auto_agents.remove(id);
        self.drop_work(id, work, now);
        self.logs.remove(id);
        self.pump(now);
        Ok(())
    }

    fn known(&self, agent: &str) -> Result<(), CenterError> {
        match self.router.pool().agent(agent) {
            Some(_) => Ok(()),
            None => Err(CenterError::UnknownAgent(agent.to_owned())),
        }
    }

    pub fn login(&mut self, agent: &str, now: Millis) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.router.login(agent, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    pub fn ready(&mut self, agent: &str, now: Millis) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.router.ready(agent, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    pub fn not_ready(&mut self, agent: &str, now: Millis) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.router.not_ready(agent, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    /// Logs out; calls the agent is on are released.
    pub fn logout(&mut self, agent: &str, now: Millis) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        let work = self.router.logout(agent, now)?;
        self.drop_work(agent, work, now);
        self.pump(now);
        self.agent(agent, now)
    }

    fn drop_work(&mut self, agent: &str, work: Vec<engine::routing::router::Work>, now: Millis) {
        for w in work {
            if let Some(call) = self.items.remove(&w.item).and_then(|i| i.call) {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.item = None;
                }
                let _ = self
                    .switch
                    .hangup(call, &Party::Agent(agent.to_owned()), now);
            }
        }
    }

    pub fn accept(
        &mut self,
        agent: &str,
        offer: ItemId,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.router.accept(agent, offer, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    pub fn reject(
        &mut self,
        agent: &str,
        offer: ItemId,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.router.reject(agent, offer, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    /// Finds the agent's work item by interaction id (the switch's call id) or item id.
    fn find_work(&self, agent: &str, ixn: &str) -> Result<ItemId, CenterError> {
        self.router
            .work(agent)
            .iter()
            .find(|w| w.interaction.as_deref() == Some(ixn) || w.item.0.to_string() == ixn)
            .map(|w| w.item)
            .ok_or_else(|| CenterError::NoInteraction {
                agent: agent.to_owned(),
                ixn: ixn.to_owned(),
            })
    }

    fn item_call(&self, item: ItemId) -> Option<IxnId> {
        self.items.get(&item).and_then(|i| i.call)
    }

    /// Whether `item` holds an agent with no call on it yet (a callback routed to its agent
    /// before the customer is on the line): [`CenterCore::cancel`] would free the agent.
    pub fn holds_agent_without_call(&self, item: ItemId) -> bool {
        self.items
            .get(&item)
            .is_some_and(|i| i.call.is_none() && i.agent.is_some())
    }

    /// The agent hangs up the call (the interaction stays on the desktop until completed).
    pub fn hangup(
        &mut self,
        agent: &str,
        ixn: &str,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        let item = self.find_work(agent, ixn)?;
        let call = self.item_call(item).ok_or_else(|| {
            CenterError::BadRequest(format!(
                "interaction {ixn} has no call in the switch to hang up; complete it instead"
            ))
        })?;
        self.switch
            .hangup(call, &Party::Agent(agent.to_owned()), now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    /// The agent is done with the interaction: a live call is hung up first; wrap-up follows
    /// (`after_call_work`) unless the agent is done with that too.
    pub fn complete(
        &mut self,
        agent: &str,
        ixn: &str,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        let item = self.find_work(agent, ixn)?;
        if let Some(call) = self.item_call(item) {
            if self
                .switch
                .interaction(call)
                .is_some_and(|i| i.state != CallState::Released)
            {
                self.switch
                    .hangup(call, &Party::Agent(agent.to_owned()), now)?;
                self.pump(now);
            }
        }
        // A demo agent's work ends with its call; anyone else's ends here.
        if !self.router.work(agent).iter().any(|w| w.item == item) {
            return self.agent(agent, now);
        }
        self.router
            .complete(agent, item, self.settings.after_call_work_ms, now)?;
        self.pump(now);
        self.agent(agent, now)
    }

    /// Single-step transfer of the agent's interaction to agent `to`: the call is re-bridged
    /// in the switch and the interaction moves on both desktops.
    pub fn transfer(
        &mut self,
        agent: &str,
        ixn: &str,
        to: &str,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        self.known(to)?;
        let item = self.find_work(agent, ixn)?;
        let call = self.item_call(item);
        if let Some(c) = call.and_then(|c| self.switch.interaction(c)) {
            if c.state != CallState::Established {
                return Err(CenterError::BadRequest(format!(
                    "interaction {ixn} is {}: only a connected call can be transferred",
                    c.state
                )));
            }
        }
        self.router.transfer(agent, item, to, now)?;
        if let Some(c) = call {
            self.switch.transfer(c, to, now)?;
            if let Some(info) = self.calls.get_mut(&c) {
                info.agent = Some(to.to_owned());
            }
        }
        self.pump(now);
        self.agent(agent, now)
    }

    pub fn agent(&self, agent: &str, now: Millis) -> Result<AgentView, CenterError> {
        let a = self
            .router
            .pool()
            .agent(agent)
            .ok_or_else(|| CenterError::UnknownAgent(agent.to_owned()))?;
        let offers = self
            .router
            .offers(agent)
            .into_iter()
            .map(|r| {
                let (call, customer) = self.call_of(r.item);
                OfferView {
                    offer: r.item,
                    queue: r.queue.clone(),
                    media: r.media.clone(),
                    offered_at: r.reserved_at,
                    expires_at: r.expires_at,
                    customer,
                    interaction: call,
                    user_data: self.user_data(r.item),
                }
            })
            .collect();
        let interactions = self
            .router
            .work(agent)
            .iter()
            .map(|w| {
                let call = self.item_call(w.item);
                let ixn = call.and_then(|c| self.switch.interaction(c));
                WorkView {
                    item: w.item,
                    queue: w.queue.clone(),
                    media: w.media.clone(),
                    since: w.since,
                    interaction: call,
                    customer: ixn.and_then(Interaction::customer).map(str::to_owned),
                    call_state: ixn.map(|i| i.state.to_string()),
                    user_data: self.user_data(w.item),
                }
            })
            .collect();
        Ok(AgentView {
            config: a.config().clone(),
            state: a.state(now),
            offers,
            interactions,
            last_event: self
                .logs
                .get(agent)
                .map_or(0, |l| l.next_seq.saturating_sub(1)),
            auto: self.auto_agents.contains(agent),
        })
    }

    /// The call the center holds for an item, and its customer.
    fn call_of(&self, item: ItemId) -> (Option<IxnId>, Option<String>) {
        let call = self.item_call(item);
        let customer = call
            .and_then(|c| self.calls.get(&c))
            .map(|c| c.customer.clone());
        (call, customer)
    }

    /// The data attached to an item and to its call (the call's win on the same key).
    fn user_data(&self, item: ItemId) -> Vec<(String, String)> {
        let Some(info) = self.items.get(&item) else {
            return Vec::new();
        };
        let mut data = info.user_data.clone();
        if let Some(c) = info.call.and_then(|c| self.calls.get(&c)) {
            for (k, v) in &c.user_data {
                match data.iter_mut().find(|(dk, _)| dk == k) {
                    Some(slot) => slot.1.clone_from(v),
                    None => data.push((k.clone(), v.clone())),
                }
            }
        }
        data
    }

    pub fn agents(&self, now: Millis) -> Vec<AgentView> {
        let ids: Vec<String> = self
            .router
            .pool()
            .agents()
            .map(|a| a.id().to_owned())
            .collect();
        ids.iter()
            .filter_map(|id| self.agent(id, now).ok())
            .collect()
    }

    /// Events after `since`, or a receiver that fires once there are some.
    pub fn poll(&mut self, agent: &str, since: u64) -> Result<Poll, CenterError> {
        self.known(agent)?;
        let log = self.logs.entry(agent.to_owned()).or_default();
        let events: Vec<AgentEvent> = log
            .events
            .iter()
            .filter(|e| e.seq > since)
            .map(|e| AgentEvent::clone(e))
            .collect();
        if !events.is_empty() {
            return Ok(Poll::Events(events));
        }
        let (tx, rx) = oneshot::channel();
        log.waiters.retain(|w| !w.is_closed());
        log.waiters.push(tx);
        Ok(Poll::Wait(rx))
    }

    fn log(&mut self, agent: &str, now: Millis, kind: AgentEventKind) {
        let log = self.logs.entry(agent.to_owned()).or_default();
        log.next_seq = log.next_seq.max(1);
        let seq = log.next_seq;
        log.next_seq += 1;
        let event = Arc::new(AgentEvent { seq, at: now, kind });
        self.outbox
            .push((Owner::Agent(agent.to_owned()), Notice::Agent(event.clone())));
        while log.events.len() >= AGENT_LOG_CAP {
            log.events.pop_front();
        }
        log.events.push_back(event);
        for w in log.waiters.drain(..) {
            let _ = w.send(());
        }
    }

    /// Queues a notice for an owner. Nobody listens for API calls; a call at its route point
    /// only asks for a strategy ([`Notice::RouteRequest`], queued directly).
    fn notify(&mut self, owner: &Owner, notice: Notice) {
        if !matches!(owner, Owner::Api | Owner::RoutePoint) {
            self.outbox.push((owner.clone(), notice));
        }
    }

    // ---- queues and items ----------------------------------------------------------------

    /// Queues an item for its owner; what happens to it comes back as notices with its tag.
    pub fn submit(&mut self, s: Submit, now: Millis) -> Result<ItemId, CenterError> {
        if let Some(ixn) = s.interaction {
            let call = self.calls.get(&ixn).ok_or_else(|| {
                CenterError::BadRequest(format!(
                    "interaction {ixn} is not a call this center holds"
                ))
            })?;
            if let Some(item) = call.item {
                return Err(CenterError::BadRequest(format!(
                    "interaction {ixn} is already being routed (item {item})"
                )));
            }
            if self
                .switch
                .interaction(ixn)
                .is_none_or(|i| i.state == CallState::Released)
            {
                return Err(SwitchError::Released(ixn).into());
            }
        }
        let item = self.router.submit(s.request, now)?;
        let deadline = s.timeout_ms.map(|t| now.saturating_add(t.max(0)));
        if let Some(at) = deadline {
            self.timers.insert((at, Timer::ItemDeadline(item)));
        }
        if let Some(ixn) = s.interaction {
            if let Some(c) = self.calls.get_mut(&ixn) {
                c.item = Some(item);
            }
        }
        self.items.insert(
            item,
            ItemInfo {
                owner: s.owner,
                tag: s.tag,
                call: s.interaction,
                deadline,
                user_data: s.user_data,
                agent: None,
            },
        );
        self.pump(now);
        Ok(item)
    }

    /// Takes an item back: a waiting item leaves its queue (`Left{Cancelled}`); an item
    /// already routed to an agent without a call of its own (a callback whose customer could
    /// not be reached) ends on that agent's desktop with no wrap-up (`Completed`), freeing
    /// the agent.
    pub fn cancel(&mut self, item: ItemId, now: Millis) -> Result<(), CenterError> {
        let routed = self
            .items
            .get(&item)
            .filter(|i| i.call.is_none())
            .and_then(|i| i.agent.clone());
        match routed {
            Some(agent) if self.router.work(&agent).iter().any(|w| w.item == item) => {
                self.router.complete(&agent, item, 0, now)?;
            }
            _ => self.leave(item, LeftReason::Cancelled, now)?,
        }
        self.pump(now);
        Ok(())
    }

    fn leave(&mut self, item: ItemId, reason: LeftReason, now: Millis) -> Result<(), CenterError> {
        self.leaving.insert(item, reason);
        let r = self.router.cancel(item, now);
        if r.is_err() {
            self.leaving.remove(&item);
        }
        Ok(r?)
    }

    /// Moves a waiting item to another priority; returns its new position.
    pub fn set_priority(
        &mut self,
        item: ItemId,
        priority: i32,
        now: Millis,
    ) -> Result<usize, CenterError> {
        let pos = self.router.set_priority(item, priority, now)?;
        self.pump(now);
        Ok(pos)
    }

    /// Adds data to an item the agent sees.
    pub fn attach_item_data(
        &mut self,
        item: ItemId,
        data: Vec<(String, String)>,
    ) -> Result<(), CenterError> {
        let info = self
            .items
            .get_mut(&item)
            .ok_or(CenterError::Router(RouterError::UnknownItem(item)))?;
        merge(&mut info.user_data, data);
        Ok(())
    }

    pub fn item(&self, item: ItemId) -> Option<ItemView> {
        self.router.item(item)
    }

    /// Where an item stands: waiting (position and estimated wait) or routed to an agent.
    pub fn item_status(&self, item: ItemId, now: Millis) -> Option<ItemStatus> {
        if let Some(v) = self.router.item(item) {
            return Some(ItemStatus {
                queue: v.queue,
                position: Some(v.position),
                ewt: self.router.item_ewt(item, now).unwrap_or(Ewt::Unknown),
                agent: v.agent,
                routed: false,
            });
        }
        let info = self.items.get(&item)?;
        let agent = info
            .call
            .and_then(|c| self.calls.get(&c))
            .and_then(|c| c.agent.clone());
        Some(ItemStatus {
            queue: String::new(),
            position: None,
            ewt: Ewt::Seconds(0.0),
            agent,
            routed: true,
        })
    }

    pub fn queue(&self, name: &str, now: Millis) -> Option<QueueReport> {
        self.router.queue_report(name, now)
    }

    pub fn queues(&self, now: Millis) -> Vec<(String, QueueReport)> {
        self.router
            .queue_names()
            .into_iter()
            .filter_map(|n| self.router.queue_report(&n, now).map(|r| (n, r)))
            .collect()
    }

    /// Agents matching `target` that are Ready, Ready with a free voice or chat slot, and
    /// logged in.
    pub fn target_agents(&self, target: &Target, now: Millis) -> TargetAgents {
        let mut t = TargetAgents::default();
        for a in self.router.pool().agents() {
            if !a.is_logged_in() || !a.config().matches(target) {
                continue;
            }
            t.logged_in += 1;
            if a.state(now) == AgentState::Ready {
                t.ready += 1;
                let pool = self.router.pool();
                if ["voice", "chat"]
                    .iter()
                    .any(|m| pool.is_available(a.id(), m, now))
                {
                    t.available += 1;
                }
            }
        }
        t
    }

    /// Items being routed (waiting or offered).
    pub fn waiting_items(&self) -> usize {
        self.router.len()
    }

    // ---- telephony -----------------------------------------------------------------------

    pub fn dial_rules(&self) -> &DialRules {
        self.switch.rules()
    }

    pub fn set_dial_rules(&mut self, rules: DialRules) {
        self.switch.set_rules(rules);
    }

    pub fn interaction(&self, ixn: IxnId) -> Option<&Interaction> {
        self.switch.interaction(ixn)
    }

    /// Who owns a call, and its tag.
    pub fn call_owner(&self, ixn: IxnId) -> Option<(&Owner, &str)> {
        self.calls.get(&ixn).map(|c| (&c.owner, c.tag.as_str()))
    }

    /// The data attached to a call.
    pub fn call_data(&self, ixn: IxnId) -> Vec<(String, String)> {
        self.calls
            .get(&ixn)
            .map(|c| c.user_data.clone())
            .unwrap_or_default()
    }

    /// An inbound call from `ani` to `dnis`. Its owner hears everything that happens to it;
    /// with no owner it waits at the route point and a [`Notice::RouteRequest`] asks for a
    /// strategy to take it.
    pub fn inbound_call(
        &mut self,
        ani: &str,
        dnis: &str,
        owner: Option<(Owner, String)>,
        now: Millis,
    ) -> Result<IxnId, CenterError> {
        let ixn = self.switch.inbound(ani, dnis, now)?;
        self.take_call(ixn, ani, dnis, Media::Voice, owner, now);
        Ok(ixn)
    }

    /// A chat started by `customer`, like an inbound call on the chat media.
    pub fn inbound_chat(
        &mut self,
        customer: &str,
        owner: Option<(Owner, String)>,
        now: Millis,
    ) -> Result<IxnId, CenterError> {
        let ixn = self.switch.chat_start(customer, now)?;
        self.take_call(ixn, customer, "", Media::Chat, owner, now);
        Ok(ixn)
    }

    fn take_call(
        &mut self,
        ixn: IxnId,
        customer: &str,
        dnis: &str,
        media: Media,
        owner: Option<(Owner, String)>,
        now: Millis,
    ) {
        let announce = owner.is_none();
        let (owner, tag) = owner.unwrap_or((Owner::RoutePoint, String::new()));
        self.calls.insert(
            ixn,
            CallInfo {
                owner,
                tag,
                customer: customer.to_owned(),
                item: None,
                agent: None,
                treatment_end: None,
                treatment_finishing: false,
                user_data: Vec::new(),
            },
        );
        self.pump(now);
        if announce {
            self.outbox.push((
                Owner::RoutePoint,
                Notice::RouteRequest {
                    ixn,
                    customer: customer.to_owned(),
                    dnis: dnis.to_owned(),
                    media,
                },
            ));
        }
    }

    /// A session takes a call waiting at its route point (or hands it on); fails if the call is
    /// gone.
    pub fn claim_call(
        &mut self,
        ixn: IxnId,
        owner: Owner,
        tag: String,
    ) -> Result<Interaction, CenterError> {
        let i = self
            .switch
            .interaction(ixn)
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        if i.state == CallState::Released {
            return Err(SwitchError::Released(ixn).into());
        }
        let i = i.clone();
        let c = self
            .calls
            .get_mut(&ixn)
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        c.owner = owner;
        c.tag = tag;
        Ok(i)
    }

    /// Dials a customer for `owner`; the dial rules decide the outcome and when, and the owner
    /// hears the progress. With `timeout_ms`, a dial not answered by then is given up.
    pub fn dial(
        &mut self,
        number: &str,
        owner: Owner,
        tag: String,
        timeout_ms: Option<Millis>,
        now: Millis,
    ) -> IxnId {
        let ixn = self.switch.dial(number, now);
        self.track_dial(ixn, number, owner, tag, timeout_ms, now);
        self.pump(now);
        ixn
    }

    /// Keeps a dialled call for its owner, given up after `timeout_ms` if not answered.
    fn track_dial(
        &mut self,
        ixn: IxnId,
        number: &str,
        owner: Owner,
        tag: String,
        timeout_ms: Option<Millis>,
        now: Millis,
    ) {
        self.calls.insert(
            ixn,
            CallInfo {
                owner,
                tag,
                customer: number.to_owned(),
                item: None,
                agent: None,
                treatment_end: None,
                treatment_finishing: false,
                user_data: Vec::new(),
            },
        );
        if let Some(t) = timeout_ms {
            self.timers
                .insert((now.saturating_add(t.max(0)), Timer::DialTimeout(ixn)));
        }
    }

    /// `item`, if given, is work `agent` holds (routed to them).
    fn check_routed(&self, agent: &str, item: Option<ItemId>) -> Result<(), CenterError> {
        match item {
            Some(item) if !self.router.work(agent).iter().any(|w| w.item == item) => {
                Err(CenterError::NoInteraction {
                    agent: agent.to_owned(),
                    ixn: item.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Call `ixn` now has `agent` on it: with `item` (the agent's routed item), the call is that
    /// interaction on the agent's desktop.
    fn agent_on_call(&mut self, ixn: IxnId, agent: &str, item: Option<ItemId>, now: Millis) {
        if let Some(c) = self.calls.get_mut(&ixn) {
            c.agent = Some(agent.to_owned());
            if item.is_some() {
                c.item = item;
            }
        }
        let Some(item) = item else {
            return;
        };
        if let Some(info) = self.items.get_mut(&item) {
            info.call = Some(ixn);
        }
        let _ = self.router.attach(agent, item, &ixn.to_string());
        let customer = self.calls.get(&ixn).map(|c| c.customer.clone());
        self.log(
            agent,
            now,
            AgentEventKind::InteractionConnected {
                item,
                interaction: ixn,
                customer,
            },
        );
    }

    /// Dials `number` from `agent`'s phone (a callback that calls the agent first): the agent
    /// is on the call while it rings and talks to the customer as soon as they answer. With
    /// `item` (the agent's routed item), the call is that interaction on the agent's desktop
    /// from the start. The outcome goes to `owner` as for [`dial`](Self::dial).
    #[allow(clippy::too_many_arguments)]
    pub fn dial_from_agent(
        &mut self,
        number: &str,
        agent: &str,
        item: Option<ItemId>,
        owner: Owner,
        tag: String,
        timeout_ms: Option<Millis>,
        now: Millis,
    ) -> Result<IxnId, CenterError> {
        self.known(agent)?;
        self.check_routed(agent, item)?;
        let ixn = self.switch.dial_from(agent, number, now)?;
        self.track_dial(ixn, number, owner, tag, timeout_ms, now);
        self.agent_on_call(ixn, agent, item, now);
        self.pump(now);
        Ok(ixn)
    }

    /// Starts (`Some(name)`) or stops (`None`) a treatment on a waiting customer; a treatment
    /// with a duration ends by itself ([`Notice::TreatmentDone`]).
    pub fn treatment(
        &mut self,
        ixn: IxnId,
        name: Option<&str>,
        duration_ms: Option<Millis>,
        now: Millis,
    ) -> Result<(), CenterError> {
        if let Some(end) = self
            .calls
            .get_mut(&ixn)
            .and_then(|c| c.treatment_end.take())
        {
            self.timers.remove(&(end, Timer::TreatmentEnd(ixn)));
        }
        match name {
            Some(n) => {
                self.switch.play_treatment(ixn, n, now)?;
                // The treatment it replaces stops first (and is reported stopped).
                self.pump(now);
                if let Some(d) = duration_ms {
                    let end = now.saturating_add(d.max(0));
                    self.timers.insert((end, Timer::TreatmentEnd(ixn)));
                    if let Some(c) = self.calls.get_mut(&ixn) {
                        c.treatment_end = Some(end);
                    }
                }
            }
            None => self.switch.stop_treatment(ixn, now)?,
        }
        self.pump(now);
        Ok(())
    }

    /// Connects `agent` to a call (a callback dialled once the agent was routed). With `item`
    /// (the agent's routed item), the call becomes that interaction on the agent's desktop.
    pub fn connect(
        &mut self,
        ixn: IxnId,
        agent: &str,
        item: Option<ItemId>,
        now: Millis,
    ) -> Result<(), CenterError> {
        self.known(agent)?;
        if !self.calls.contains_key(&ixn) {
            return Err(SwitchError::UnknownInteraction(ixn).into());
        }
        self.check_routed(agent, item)?;
        self.switch.connect_agent(ixn, agent, now)?;
        self.agent_on_call(ixn, agent, item, now);
        self.pump(now);
        Ok(())
    }

    /// The strategy ends a call (network release).
    pub fn release_call(&mut self, ixn: IxnId, now: Millis) -> Result<(), CenterError> {
        self.switch.release_call(ixn, now)?;
        self.pump(now);
        Ok(())
    }

    /// The owner lets go of a call without ending it (its session ended while an agent talks):
    /// nobody hears about it any more.
    pub fn disown_call(&mut self, ixn: IxnId) {
        if let Some(c) = self.calls.get_mut(&ixn) {
            c.owner = Owner::Api;
        }
    }

    /// Adds data to a call (the agent sees it).
    pub fn attach_call_data(
        &mut self,
        ixn: IxnId,
        data: Vec<(String, String)>,
    ) -> Result<(), CenterError> {
        let c = self
            .calls
            .get_mut(&ixn)
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        merge(&mut c.user_data, data);
        Ok(())
    }

    /// The customer hangs up.
    /// The customer of a live chat says something or types.
    pub fn customer_chat(
        &mut self,
        ixn: IxnId,
        say: &ChatSay,
        now: Millis,
    ) -> Result<(), CenterError> {
        let customer = self
            .switch
            .interaction(ixn)
            .and_then(|i| i.customer().map(str::to_owned))
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        self.chat(ixn, &Party::Customer(customer), say, now)
    }

    /// An agent says something or types in a chat on their desktop (`ixn` as the desktop
    /// names it: the interaction or item id).
    pub fn agent_chat(
        &mut self,
        agent: &str,
        ixn: &str,
        say: &ChatSay,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        let item = self.find_work(agent, ixn)?;
        let call = self.item_call(item).ok_or_else(|| {
            CenterError::BadRequest(format!("interaction {ixn} is not a chat in the switch"))
        })?;
        self.chat(call, &Party::Agent(agent.to_owned()), say, now)?;
        self.agent(agent, now)
    }

    fn chat(
        &mut self,
        ixn: IxnId,
        from: &Party,
        say: &ChatSay,
        now: Millis,
    ) -> Result<(), CenterError> {
        match say {
            ChatSay::Text(text) => self.switch.chat_message(ixn, from, text, now)?,
            ChatSay::Typing(started) => self.switch.chat_typing(ixn, from, *started, now)?,
        }
        self.pump(now);
        Ok(())
    }

    pub fn customer_hangup(&mut self, ixn: IxnId, now: Millis) -> Result<(), CenterError> {
        let customer = self
            .switch
            .interaction(ixn)
            .and_then(|i| i.customer().map(str::to_owned))
            .ok_or(SwitchError::UnknownInteraction(ixn))?;
        self.switch.hangup(ixn, &Party::Customer(customer), now)?;
        self.pump(now);
        Ok(())
    }

    // ---- time ------------------------------------------------------------------------------

    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.router.next_deadline(),
            self.switch.next_deadline(),
            self.timers.first().map(|(at, _)| *at),
            self.demo
                .as_ref()
                .and_then(|d| d.timers.first().map(|(at, _)| *at)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires everything due at `now`.
    pub fn advance(&mut self, now: Millis) {
        self.router.advance(now);
        self.own_timers(now);
        self.demo_timers(now);
        self.pump(now);
    }

    fn own_timers(&mut self, now: Millis) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, timer));
            match timer {
                Timer::ItemDeadline(item) => {
                    let waiting = self.router.item(item).is_some();
                    if waiting
                        && self
                            .items
                            .get(&item)
                            .is_some_and(|i| i.deadline == Some(at))
                    {
                        let _ = self.leave(item, LeftReason::Timeout, now);
                    }
                }
                Timer::TreatmentEnd(ixn) => {
                    let playing = self
                        .calls
                        .get(&ixn)
                        .is_some_and(|c| c.treatment_end == Some(at));
                    if playing {
                        if let Some(c) = self.calls.get_mut(&ixn) {
                            c.treatment_end = None;
                            c.treatment_finishing = true;
                        }
                        // Reported as TreatmentDone when the switch says it stopped.
                        if self.switch.stop_treatment(ixn, now).is_err() {
                            if let Some(c) = self.calls.get_mut(&ixn) {
                                c.treatment_finishing = false;
                            }
                        }
                    }
                }
                Timer::DialTimeout(ixn) => {
                    let ringing = self.switch.interaction(ixn).is_some_and(|i| {
                        matches!(i.state, CallState::Dialing | CallState::Ringing)
                    });
                    if ringing {
                        if let Some(c) = self.calls.get(&ixn) {
                            let (owner, tag) = (c.owner.clone(), c.tag.clone());
                            self.notify(
                                &owner,
                                Notice::Call {
                                    tag,
                                    ixn,
                                    event: EventKind::NoAnswer,
                                },
                            );
                        }
                        let _ = self.switch.release_call(ixn, now);
                    }
                }
                Timer::Purge => {
                    self.switch
                        .purge_released(now.saturating_sub(RELEASED_KEPT_MS));
                }
            }
            self.pump(now);
        }
    }

    /// Handles router and switch events until both are quiet.
    fn pump(&mut self, now: Millis) {
        for _ in 0..10_000 {
            let routed = self.router.take_events();
            let switched = self.switch.advance(now);
            if routed.is_empty() && switched.is_empty() {
                return;
            }
            for e in routed {
                self.on_router(e, now);
            }
            for e in switched {
                self.on_switch(e.ixn, e.kind, now);
            }
        }
        tracing::error!("center events did not settle after 10000 rounds");
    }

    fn item_owner(&self, item: ItemId) -> Option<(Owner, String)> {
        self.items
            .get(&item)
            .map(|i| (i.owner.clone(), i.tag.clone()))
    }

    fn on_router(&mut self, e: RouterEvent, now: Millis) {
        match e {
            RouterEvent::AgentState { agent, state } => {
                self.log(&agent, now, AgentEventKind::State { state });
            }
            RouterEvent::Queued {
                item,
                queue,
                position,
            } => {
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(
                        &owner,
                        Notice::Queued {
                            tag,
                            item,
                            queue,
                            position,
                        },
                    );
                }
            }
            RouterEvent::TargetsChanged { item, targets } => {
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(&owner, Notice::TargetsChanged { tag, item, targets });
                }
            }
            RouterEvent::Offered {
                item,
                agent,
                queue,
                media,
                expires_at,
            } => {
                let (call, customer) = self.call_of(item);
                let user_data = self.user_data(item);
                self.log(
                    &agent,
                    now,
                    AgentEventKind::Offer {
                        offer: item,
                        queue,
                        media,
                        expires_at,
                        customer,
                        interaction: call,
                        user_data,
                    },
                );
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(
                        &owner,
                        Notice::Offered {
                            tag,
                            item,
                            agent: agent.clone(),
                            expires_at,
                        },
                    );
                }
                if self.auto_agents.contains(&agent) {
                    if let Some(d) = self.demo.as_mut() {
                        let at = now.saturating_add(d.settings.accept_after_ms);
                        d.timers.insert((at, DemoTimer::Accept(item)));
                    }
                }
            }
            RouterEvent::OfferEnded {
                item,
                agent,
                reason,
            } => {
                self.log(
                    &agent,
                    now,
                    AgentEventKind::OfferEnded {
                        offer: item,
                        reason,
                    },
                );
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(
                        &owner,
                        Notice::OfferEnded {
                            tag,
                            item,
                            agent,
                            reason,
                        },
                    );
                }
            }
            RouterEvent::Distributed {
                item,
                agent,
                queue,
                media,
                waited_ms,
            } => {
                let (call, customer) = self.call_of(item);
                if let Some(info) = self.items.get_mut(&item) {
                    info.agent = Some(agent.clone());
                    if let Some(d) = info.deadline.take() {
                        self.timers.remove(&(d, Timer::ItemDeadline(item)));
                    }
                }
                if let Some(ixn) = call {
                    if let Some(c) = self.calls.get_mut(&ixn) {
                        c.agent = Some(agent.clone());
                        if let Some(end) = c.treatment_end.take() {
                            self.timers.remove(&(end, Timer::TreatmentEnd(ixn)));
                        }
                    }
                    match self.switch.connect_agent(ixn, &agent, now) {
                        Ok(()) => {
                            let _ = self.router.attach(&agent, item, &ixn.to_string());
                        }
                        Err(e) => tracing::warn!(%ixn, error = %e, "connecting the agent failed"),
                    }
                    if self.auto_agents.contains(&agent) {
                        if let Some(d) = self.demo.as_mut() {
                            let talk = demo_talk(d);
                            d.timers
                                .insert((now.saturating_add(talk), DemoTimer::Hangup(ixn)));
                        }
                    }
                } else if self.auto_agents.contains(&agent) {
                    // A demo agent works an item without a call for a handle time too.
                    if let Some(d) = self.demo.as_mut() {
                        let talk = demo_talk(d);
                        d.working.insert(item, agent.clone());
                        d.timers
                            .insert((now.saturating_add(talk), DemoTimer::Finish(item)));
                    }
                }
                let user_data = self.user_data(item);
                self.log(
                    &agent,
                    now,
                    AgentEventKind::InteractionStarted {
                        item,
                        interaction: call,
                        media,
                        customer,
                        user_data,
                    },
                );
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(
                        &owner,
                        Notice::Routed {
                            tag,
                            item,
                            agent,
                            queue,
                            waited_ms,
                            interaction: call,
                        },
                    );
                }
            }
            RouterEvent::Left { item, queue } => {
                let reason = self.leaving.remove(&item).unwrap_or(LeftReason::Cancelled);
                if let Some(info) = self.items.remove(&item) {
                    if let Some(d) = info.deadline {
                        self.timers.remove(&(d, Timer::ItemDeadline(item)));
                    }
                    if let Some(c) = info.call.and_then(|c| self.calls.get_mut(&c)) {
                        c.item = None;
                    }
                    self.notify(
                        &info.owner,
                        Notice::Left {
                            tag: info.tag,
                            item,
                            queue,
                            reason,
                        },
                    );
                }
            }
            RouterEvent::Completed {
                item,
                agent,
                handle_ms,
            } => {
                self.log(
                    &agent,
                    now,
                    AgentEventKind::InteractionEnded { item, handle_ms },
                );
                if let Some(info) = self.items.remove(&item) {
                    if let Some(c) = info.call.and_then(|c| self.calls.get_mut(&c)) {
                        c.item = None;
                    }
                    self.notify(
                        &info.owner,
                        Notice::Completed {
                            tag: info.tag,
                            item,
                            agent,
                            handle_ms,
                        },
                    );
                }
            }
            RouterEvent::Transferred { item, from, to } => {
                if let Some(info) = self.items.get_mut(&item) {
                    info.agent = Some(to.clone());
                }
                let (call, customer) = self.call_of(item);
                let media = self
                    .router
                    .work(&to)
                    .iter()
                    .find(|w| w.item == item)
                    .map(|w| w.media.clone())
                    .unwrap_or_default();
                self.log(
                    &from,
                    now,
                    AgentEventKind::InteractionTransferred {
                        item,
                        to: to.clone(),
                    },
                );
                let user_data = self.user_data(item);
                self.log(
                    &to,
                    now,
                    AgentEventKind::InteractionStarted {
                        item,
                        interaction: call,
                        media,
                        customer,
                        user_data,
                    },
                );
                if let Some((owner, tag)) = self.item_owner(item) {
                    self.notify(
                        &owner,
                        Notice::Transferred {
                            tag,
                            item,
                            from,
                            to,
                        },
                    );
                }
            }
        }
    }

    fn on_switch(&mut self, ixn: IxnId, kind: EventKind, now: Millis) {
        let Some(call) = self.calls.get(&ixn).cloned() else {
            return;
        };
        if let EventKind::TreatmentStopped { name } = &kind {
            if let Some(end) = call.treatment_end {
                self.timers.remove(&(end, Timer::TreatmentEnd(ixn)));
            }
            if let Some(c) = self.calls.get_mut(&ixn) {
                c.treatment_end = None;
                c.treatment_finishing = false;
            }
            if call.treatment_finishing {
                let done = Notice::TreatmentDone {
                    tag: call.tag.clone(),
                    ixn,
                    name: name.clone(),
                };
                self.notify(&call.owner, done);
                return;
            }
        }
        let released = match &kind {
            EventKind::Released { by } => Some(by.clone()),
            _ => None,
        };
        self.notify(
            &call.owner,
            Notice::Call {
                tag: call.tag.clone(),
                ixn,
                event: kind,
            },
        );
        let Some(by) = released else {
            return;
        };
        self.timers
            .insert((now.saturating_add(RELEASED_KEPT_MS), Timer::Purge));
        match (call.item, call.agent) {
            (Some(item), None) => {
                // Abandoned while waiting (or while offered).
                let _ = self.leave(item, LeftReason::Abandoned, now);
                self.calls.remove(&ixn);
            }
            (item, Some(agent)) => {
                let by = match by {
                    Releaser::Party(Party::Agent(_)) => "agent",
                    Releaser::Party(_) => "customer",
                    Releaser::Network => "network",
                };
                if let Some(item) = item {
                    self.log(
                        &agent,
                        now,
                        AgentEventKind::InteractionReleased {
                            item,
                            interaction: ixn,
                            by: by.to_owned(),
                        },
                    );
                    // Demo agents go straight to wrap-up; a person completes from the desktop.
                    if self.auto_agents.contains(&agent) {
                        let acw = self
                            .demo
                            .as_ref()
                            .map_or(self.settings.after_call_work_ms, |d| d.settings.wrap_up_ms);
                        let _ = self.router.complete(&agent, item, acw, now);
                    }
                }
                if item.is_none()
                    || self
                        .router
                        .work(&agent)
                        .iter()
                        .all(|w| Some(w.item) != item)
                {
                    self.calls.remove(&ixn);
                }
            }
            (None, None) => {
                self.calls.remove(&ixn);
            }
        }
    }

    fn demo_timers(&mut self, now: Millis) {
        loop {
            let Some(d) = self.demo.as_mut() else {
                return;
            };
            let Some(&(at, timer)) = d.timers.first() else {
                return;
            };
            if at > now {
                return;
            }
            d.timers.remove(&(at, timer));
            match timer {
                DemoTimer::Accept(item) => {
                    // Only if the offer still sits with a demo agent (it may have moved on).
                    let agent = self
                        .router
                        .item(item)
                        .and_then(|v| v.agent)
                        .filter(|a| self.auto_agents.contains(a));
                    if let Some(agent) = agent {
                        let _ = self.router.accept(&agent, item, now);
                    }
                }
                DemoTimer::Hangup(ixn) => {
                    if let Some(agent) = self.calls.get(&ixn).and_then(|c| c.agent.clone()) {
                        let _ = self.switch.hangup(ixn, &Party::Agent(agent), now);
                    }
                }
                DemoTimer::Finish(item) => {
                    let agent = self.demo.as_mut().and_then(|d| d.working.remove(&item));
                    let wrap = self.demo.as_ref().map_or(0, |d| d.settings.wrap_up_ms);
                    if let Some(agent) = agent {
                        // Only if the agent still has it (a session may have connected a call
                        // to it, or the agent was logged out).
                        let no_call = self.item_call(item).is_none();
                        if no_call && self.router.work(&agent).iter().any(|w| w.item == item) {
                            let _ = self.router.complete(&agent, item, wrap, now);
                        }
                    }
                }
                DemoTimer::NextCall => {
                    let (ani, dnis, next) = {
                        let d = match self.demo.as_mut() {
                            Some(d) => d,
                            None => return,
                        };
                        d.calls_made += 1;
                        let ani = format!("+1555{:07}", d.rng.random_range(0..10_000_000u32));
                        let dnis = d.settings.dnis.clone();
                        let next = now.saturating_add(demo_gap(d));
                        (ani, dnis, next)
                    };
                    // The call waits at its route point until a strategy takes it.
                    if let Err(e) = self.inbound_call(&ani, &dnis, None, now) {
                        tracing::warn!(error = %e, "demo call failed");
                    }
                    if let Some(d) = self.demo.as_mut() {
                        d.timers.insert((next, DemoTimer::NextCall));
                    }
                }
            }
            self.pump(now);
        }
    }
}

/// Adds `data` to `into`, replacing values of keys already there.
fn merge(into: &mut Vec<(String, String)>, data: Vec<(String, String)>) {
    for (k, v) in data {
        match into.iter_mut().find(|(ik, _)| *ik == k) {
            Some(slot) => slot.1 = v,
            None => into.push((k, v)),
        }
    }
}

/// Milliseconds until the next demo call: exponential inter-arrival times (Poisson arrivals).
fn demo_gap(d: &mut Demo) -> Millis {
    let mean_ms = 60_000.0 / d.settings.calls_per_minute.max(0.001);
    let u: f64 = d.rng.random_range(f64::EPSILON..1.0);
    (-u.ln() * mean_ms).clamp(1.0, 3_600_000.0) as Millis
}

/// A handle time drawn from a log-normal distribution with the configured mean and spread
/// (handle times are right-skewed: most calls short, a few long).
fn demo_talk(d: &mut Demo) -> Millis {
    let mean = d.settings.talk_mean_ms.max(1) as f64;
    let sigma: f64 = d.settings.talk_sigma.clamp(0.0, 3.0);
    // Box–Muller for one standard normal sample.
    let u1: f64 = d.rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = d.rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    let mu = mean.ln() - sigma * sigma / 2.0;
    (mu + sigma * z).exp().clamp(1.0, 3_600_000.0) as Millis
}
