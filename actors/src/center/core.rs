//! The contact center's logic as a plain struct with time passed in: the router (agents and
//! virtual queues), the simulated switch, the default inbound strategy that joins them, the
//! agents' event logs, and the demo automation. [`super::CenterActor`] only adds the clock.

use std::collections::{BTreeSet, HashMap, VecDeque};

use engine::agents::{AgentConfig, AgentState};
use engine::queue::{Ewt, ItemId};
use engine::routing::plan::TargetList;
use engine::routing::router::{
    ItemView, OfferEnd, QueueReport, RouteRequest, Router, RouterError, RouterEvent,
};
use engine::store::Millis;
use engine::telephony::{
    CallState, DialRules, EventKind, Interaction, IxnId, Party, Switch, SwitchError,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;

use super::settings::{CenterSettings, DemoSettings};

/// Most events kept per agent for `events?since=N`; older ones are dropped (a client that
/// fell further behind gets the oldest kept and a gap it can see from the sequence numbers).
pub const AGENT_LOG_CAP: usize = 1000;

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
        /// The customer (number or chat id), when the item is a call the center holds.
        customer: Option<String>,
        interaction: Option<IxnId>,
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

#[derive(Debug, Default)]
struct AgentLog {
    next_seq: u64,
    events: VecDeque<AgentEvent>,
    waiters: Vec<oneshot::Sender<()>>,
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

/// An inbound call the center routes with the default strategy.
#[derive(Debug, Clone)]
struct CallRoute {
    item: ItemId,
    customer: String,
    agent: Option<String>,
}

/// What a new inbound call got.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTicket {
    pub interaction: IxnId,
    /// `None` when the call was released at once (e.g. the default queue is not set up).
    pub item: Option<ItemId>,
    pub queue: String,
    pub position: Option<usize>,
    pub ewt: Ewt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DemoTimer {
    Accept(ItemId),
    Hangup(IxnId),
    NextCall,
}

#[derive(Debug)]
struct Demo {
    settings: DemoSettings,
    rng: StdRng,
    timers: BTreeSet<(Millis, DemoTimer)>,
    calls_made: u64,
}

/// Where agent events go besides the log (the push channel `/ringback/agent/{id}`).
pub type EventSink = Box<dyn FnMut(&str, &AgentEvent) + Send>;

/// The contact center: router + switch + default inbound strategy + agent logs + demo.
pub struct CenterCore {
    router: Router,
    switch: Switch,
    settings: CenterSettings,
    calls: HashMap<IxnId, CallRoute>,
    item_calls: HashMap<ItemId, IxnId>,
    logs: HashMap<String, AgentLog>,
    /// Agents driven by the demo automation.
    auto_agents: BTreeSet<String>,
    demo: Option<Demo>,
    sink: Option<EventSink>,
}

impl std::fmt::Debug for CenterCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CenterCore")
            .field("agents", &self.logs.len())
            .field("calls", &self.calls.len())
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
            item_calls: HashMap::new(),
            logs: HashMap::new(),
            auto_agents: BTreeSet::new(),
            demo: None,
            sink: None,
            settings,
        };
        for a in agents {
            if let Err(e) = core.router.put_agent(a, now) {
                tracing::warn!(error = %e, "agent configuration ignored");
            }
        }
        core
    }

    /// Sends every agent event to `sink` as well as to the agent's log.
    pub fn set_event_sink(&mut self, sink: EventSink) {
        self.sink = Some(sink);
    }

    pub fn settings(&self) -> &CenterSettings {
        &self.settings
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
            if let Some(ixn) = self.item_calls.remove(&w.item) {
                self.calls.remove(&ixn);
                let _ = self
                    .switch
                    .hangup(ixn, &Party::Agent(agent.to_owned()), now);
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

    /// The agent hangs up the call (the interaction stays on the desktop until completed).
    pub fn hangup(
        &mut self,
        agent: &str,
        ixn: &str,
        now: Millis,
    ) -> Result<AgentView, CenterError> {
        self.known(agent)?;
        let item = self.find_work(agent, ixn)?;
        let call = self.item_calls.get(&item).copied().ok_or_else(|| {
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
        if let Some(&call) = self.item_calls.get(&item) {
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
        if let Some(call) = self.item_calls.remove(&item) {
            self.calls.remove(&call);
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
        let call = self.item_calls.get(&item).copied();
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
            if let Some(route) = self.calls.get_mut(&c) {
                route.agent = Some(to.to_owned());
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
                }
            })
            .collect();
        let interactions = self
            .router
            .work(agent)
            .iter()
            .map(|w| {
                let call = self.item_calls.get(&w.item).copied();
                let ixn = call.and_then(|c| self.switch.interaction(c));
                WorkView {
                    item: w.item,
                    queue: w.queue.clone(),
                    media: w.media.clone(),
                    since: w.since,
                    interaction: call,
                    customer: ixn.and_then(Interaction::customer).map(str::to_owned),
                    call_state: ixn.map(|i| i.state.to_string()),
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
        let call = self.item_calls.get(&item).copied();
        let customer = call
            .and_then(|c| self.calls.get(&c))
            .map(|c| c.customer.clone());
        (call, customer)
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
            .cloned()
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
        let event = AgentEvent { seq, at: now, kind };
        if let Some(sink) = self.sink.as_mut() {
            sink(agent, &event);
        }
        log.events.push_back(event);
        while log.events.len() > AGENT_LOG_CAP {
            log.events.pop_front();
        }
        for w in log.waiters.drain(..) {
            let _ = w.send(());
        }
    }

    // ---- queues and items ----------------------------------------------------------------

    /// Routes an item for a caller outside the center (a callback session).
    pub fn submit(&mut self, req: RouteRequest, now: Millis) -> Result<ItemId, CenterError> {
        let id = self.router.submit(req, now)?;
        self.pump(now);
        Ok(id)
    }

    pub fn cancel(&mut self, item: ItemId, now: Millis) -> Result<(), CenterError> {
        self.router.cancel(item, now)?;
        self.pump(now);
        Ok(())
    }

    pub fn item(&self, item: ItemId) -> Option<ItemView> {
        self.router.item(item)
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

    /// An inbound call under the default strategy: music on hold, queued in the default virtual
    /// queue for the default targets, offered to an agent, bridged on accept. `route` (queue,
    /// targets, priority) may come from the session the call matched.
    pub fn inbound_call(
        &mut self,
        ani: &str,
        dnis: &str,
        route: Option<(String, TargetList, i32)>,
        now: Millis,
    ) -> Result<CallTicket, CenterError> {
        let ixn = self.switch.inbound(ani, dnis, now)?;
        self.switch
            .play_treatment(ixn, &self.settings.inbound_treatment, now)?;
        self.route_customer(ixn, ani, "voice", route, now)
    }

    /// A chat started by `customer`, routed like an inbound call on the chat media (agents
    /// with chat capacity above 1 take several at once).
    pub fn inbound_chat(
        &mut self,
        customer: &str,
        route: Option<(String, TargetList, i32)>,
        now: Millis,
    ) -> Result<CallTicket, CenterError> {
        let ixn = self.switch.chat_start(customer, now)?;
        self.route_customer(ixn, customer, "chat", route, now)
    }

    fn route_customer(
        &mut self,
        ixn: IxnId,
        customer: &str,
        media: &str,
        route: Option<(String, TargetList, i32)>,
        now: Millis,
    ) -> Result<CallTicket, CenterError> {
        let (queue, targets, priority) = match route {
            Some(r) => r,
            None => (
                self.settings.inbound_queue.clone(),
                self.settings.inbound_targets.clone(),
                0,
            ),
        };
        let mut req = RouteRequest::new(&queue, targets);
        req.priority = priority;
        req.media = media.to_owned();
        req.reserve_timeout_ms = self.settings.reserve_timeout_ms;
        req.reject_retry_ms = self.settings.reject_retry_ms;
        let item = match self.router.submit(req, now) {
            Ok(item) => item,
            Err(e) => {
                let _ = self
                    .switch
                    .hangup(ixn, &Party::Customer(customer.to_owned()), now);
                self.pump(now);
                return Err(e.into());
            }
        };
        self.calls.insert(
            ixn,
            CallRoute {
                item,
                customer: customer.to_owned(),
                agent: None,
            },
        );
        self.item_calls.insert(item, ixn);
        self.pump(now);
        let view = self.router.item(item);
        Ok(CallTicket {
            interaction: ixn,
            item: view.as_ref().map(|v| v.item),
            queue,
            position: view.as_ref().map(|v| v.position),
            ewt: self.router.item_ewt(item, now).unwrap_or(Ewt::Unknown),
        })
    }

    /// Dials a customer number (outbound voice); the dial rules decide the outcome and when it
    /// happens. The call is not routed: its owner (a callback session) decides what follows.
    pub fn dial(&mut self, number: &str, now: Millis) -> IxnId {
        let ixn = self.switch.dial(number, now);
        self.pump(now);
        ixn
    }

    /// Starts (`Some(name)`) or stops (`None`) a treatment on a waiting customer.
    pub fn treatment(
        &mut self,
        ixn: IxnId,
        name: Option<&str>,
        now: Millis,
    ) -> Result<(), CenterError> {
        match name {
            Some(n) => self.switch.play_treatment(ixn, n, now)?,
            None => self.switch.stop_treatment(ixn, now)?,
        }
        self.pump(now);
        Ok(())
    }

    /// The customer hangs up.
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
        self.demo_timers(now);
        self.pump(now);
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

    fn on_router(&mut self, e: RouterEvent, now: Millis) {
        match e {
            RouterEvent::AgentState { agent, state } => {
                self.log(&agent, now, AgentEventKind::State { state });
            }
            RouterEvent::Offered {
                item,
                agent,
                queue,
                media,
                expires_at,
            } => {
                let (call, customer) = self.call_of(item);
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
                    },
                );
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
            }
            RouterEvent::Distributed {
                item, agent, media, ..
            } => {
                let (call, customer) = self.call_of(item);
                if let Some(ixn) = call {
                    if let Some(c) = self.calls.get_mut(&ixn) {
                        c.agent = Some(agent.clone());
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
                }
                self.log(
                    &agent,
                    now,
                    AgentEventKind::InteractionStarted {
                        item,
                        interaction: call,
                        media,
                        customer,
                    },
                );
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
            }
            RouterEvent::Transferred { item, from, to } => {
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
                self.log(
                    &to,
                    now,
                    AgentEventKind::InteractionStarted {
                        item,
                        interaction: call,
                        media,
                        customer,
                    },
                );
            }
            RouterEvent::Queued { .. }
            | RouterEvent::TargetsChanged { .. }
            | RouterEvent::Left { .. } => {}
        }
    }

    fn on_switch(&mut self, ixn: IxnId, kind: EventKind, now: Millis) {
        let EventKind::Released { by } = kind else {
            return;
        };
        let Some(route) = self.calls.get(&ixn).cloned() else {
            return;
        };
        match route.agent {
            None => {
                // Abandoned in queue (or while offered).
                self.calls.remove(&ixn);
                self.item_calls.remove(&route.item);
                let _ = self.router.cancel(route.item, now);
            }
            Some(agent) => {
                let by = match by {
                    engine::telephony::Releaser::Party(Party::Agent(_)) => "agent",
                    engine::telephony::Releaser::Party(_) => "customer",
                    engine::telephony::Releaser::Network => "network",
                };
                self.log(
                    &agent,
                    now,
                    AgentEventKind::InteractionReleased {
                        item: route.item,
                        interaction: ixn,
                        by: by.to_owned(),
                    },
                );
                // Demo agents (and every agent when the customer ends the call) go straight to
                // wrap-up; a person completes from the desktop.
                if self.auto_agents.contains(&agent) {
                    self.calls.remove(&ixn);
                    self.item_calls.remove(&route.item);
                    let acw = self
                        .demo
                        .as_ref()
                        .map_or(self.settings.after_call_work_ms, |d| d.settings.wrap_up_ms);
                    let _ = self.router.complete(&agent, route.item, acw, now);
                }
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
