//! The router: virtual queues, agents and each item's `_target` escalation in one sans-IO state
//! machine — what the routing server (URS) does for a callback waiting for an agent.
//!
//! Inputs are calls with `now` ([`Router::submit`], agent state changes, offer accept/reject,
//! interaction completion, [`Router::advance`]); outputs are [`RouterEvent`]s drained with
//! [`Router::take_events`] and the instant of the next timer ([`Router::next_deadline`]). The
//! actor above owns the clock.
//!
//! ## Matching
//! An item is *eligible* while it waits in its queue, holds no offer and is not in its retry
//! delay after a reject. The router keeps one invariant after every call:
//!
//! > no eligible item's current targets match an agent who is available for the item's media.
//!
//! So only two things can create a match, and each is handled where it happens:
//! - an item becomes eligible, or its targets widen (escalation): it looks for an agent among
//!   the *available* agents only (an index kept per media; in a busy center it is short);
//! - an agent becomes available (Ready, an offer ends, an interaction or wrap-up ends): it takes
//!   the best eligible item whose targets it matches, across every queue — highest priority,
//!   then longest waiting (URS serves by priority, then age). Waiting items are indexed in
//!   groups by (current targets, media) across queues — the queue plays no part in matching —
//!   so this looks at the head of each group (a handful: distinct target sets × media) instead
//!   of at every item or every queue. Whether an agent matches a target set is remembered until
//!   its configuration changes.
//!
//! An offer is an agent reservation (`_agent_reserve_timeout`, default 30 s): the agent is never
//! offered beyond its capacity and an item never holds two offers ([`AgentPool`]). When the
//! agent accepts, the item is distributed (it leaves the queue and its time-to-leave feeds the
//! EWT) and becomes an interaction of the agent until it is completed. A reject frees the agent
//! and puts the item back after its `reject_retry` delay, preferring other agents; a timeout
//! does the same and also sets the agent Not Ready — the switch's usual answer to an agent who
//! does not answer, so an absent agent is not offered the next item too.
//!
//! ## Cost
//! Submit, cancel, accept and a priority change cost O(log n) in the item's queue and in its
//! group; an agent coming free costs one look at the head of each group (distinct target sets ×
//! media, a handful), and an item looking for an agent a pass over the available agents of its
//! media — skipped when none of them matched its targets the last time and none has joined
//! since. `engine/benches/router.rs` measures it.
//!
//! ## Statistics for skip rules
//! `RStatAgentsReady`, `RStatAgentsReadyvoice` and `RStatAgentsTotal` are read at the instant
//! the escalation reaches an entry. The router counts them itself, per target named in a skip
//! rule, as agents change state (a count is set up from the pool the first time a target is
//! seen), so a skip check costs a lookup rather than a scan of every agent. Timers due at the
//! same instant run wrap-up ends first, so an agent free at that instant counts as Ready. Other
//! Stat Server statistics have no source here: they read as "unknown" (NaN), so their skip
//! condition never holds.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use super::plan::{Escalation, StatKind, TargetList};
use super::target::Target;
use crate::agents::{AgentConfig, AgentError, AgentPool, AgentState, Reservation};
use crate::queue::{EwtConfig, IdHasher, ItemId, QueueError, QueueId, QueueSet, QueueStats};
use crate::store::Millis;

/// Errors from router calls.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error("no routed item {0}")]
    UnknownItem(ItemId),
    #[error("agent '{agent}' holds no offer {item}")]
    NoOffer { agent: String, item: ItemId },
    #[error("agent '{agent}' has no interaction {item}")]
    NoInteraction { agent: String, item: ItemId },
    #[error("media '{0}' is not a media name (letters, digits, '-' or '_')")]
    BadMedia(String),
    #[error("virtual queue name '{0}' is not valid (1 to 255 characters, no control characters)")]
    BadQueue(String),
}

/// What an item asks of the router.
#[derive(Debug, Clone)]
pub struct RouteRequest {
    /// The virtual queue (created on first use with the router's default estimator).
    pub queue: String,
    pub targets: TargetList,
    /// Higher is served first.
    pub priority: i32,
    pub media: String,
    /// How long an agent may hold the offer (`_agent_reserve_timeout`).
    pub reserve_timeout_ms: Millis,
    /// How long the item waits before it is offered again after a reject
    /// (`_agent_reject_retry_timeout`).
    pub reject_retry_ms: Millis,
    /// When the item first entered its queue, if before now: an item resubmitted after a
    /// restart keeps its age (its place in the queue and its escalation timers).
    pub enqueued_at: Option<Millis>,
}

impl RouteRequest {
    /// A request with the defaults: priority 0, voice, 30 s offers, immediate retry.
    pub fn new(queue: &str, targets: TargetList) -> RouteRequest {
        RouteRequest {
            queue: queue.to_owned(),
            targets,
            priority: crate::queue::DEFAULT_PRIORITY,
            media: crate::agents::DEFAULT_MEDIA.to_owned(),
            reserve_timeout_ms: crate::agents::DEFAULT_RESERVE_TIMEOUT_MS,
            reject_retry_ms: 0,
            enqueued_at: None,
        }
    }
}

/// Why an offer ended without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferEnd {
    Rejected,
    TimedOut,
    /// The agent went Not Ready, logged out or was removed, or the item left.
    Cancelled,
}

impl OfferEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferEnd::Rejected => "rejected",
            OfferEnd::TimedOut => "timeout",
            OfferEnd::Cancelled => "cancelled",
        }
    }
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RouterEvent {
    /// The item entered its queue at this 1-based position.
    Queued {
        item: ItemId,
        queue: String,
        position: usize,
    },
    /// The escalation moved: these targets are now active for the item.
    TargetsChanged { item: ItemId, targets: Vec<String> },
    /// An agent was reserved for the item; the agent must accept before `expires_at`.
    Offered {
        item: ItemId,
        agent: String,
        queue: String,
        media: String,
        expires_at: Millis,
    },
    OfferEnded {
        item: ItemId,
        agent: String,
        reason: OfferEnd,
    },
    /// The agent accepted: the item left its queue after `waited_ms` and is now the agent's
    /// interaction.
    Distributed {
        item: ItemId,
        agent: String,
        queue: String,
        media: String,
        waited_ms: Millis,
    },
    /// The item left without being distributed (cancelled by its owner).
    Left { item: ItemId, queue: String },
    /// The agent's interaction for the item ended after `handle_ms` (wrap-up not counted).
    Completed {
        item: ItemId,
        agent: String,
        handle_ms: Millis,
    },
    /// The interaction moved from one agent to another (a single-step transfer).
    Transferred {
        item: ItemId,
        from: String,
        to: String,
    },
    /// The agent's state changed (as [`AgentState`] reads at the time).
    AgentState { agent: String, state: AgentState },
}

/// An interaction an agent is handling, from an accepted offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    pub item: ItemId,
    pub queue: String,
    pub media: String,
    pub since: Millis,
    /// Set by the owner when the interaction exists in the switch (e.g. a call id).
    pub interaction: Option<String>,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemPhase {
    Waiting,
    /// Holds an offer to an agent.
    Offered,
    /// After a reject, waiting until this instant before it is offered again.
    Retrying {
        until: Millis,
    },
}

/// One item as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    pub item: ItemId,
    pub queue: String,
    pub priority: i32,
    pub media: String,
    pub enqueued_at: Millis,
    /// 1-based, among every item of the queue.
    pub position: usize,
    pub phase: ItemPhase,
    pub targets: Vec<String>,
    /// The agent holding the offer, while offered.
    pub agent: Option<String>,
}

/// A queue's `lvq` statistics plus the agents able to serve it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueReport {
    pub stats: QueueStats,
    /// Agents matching a target this queue has routed to: Ready (busy on a call or not; the
    /// EWT divisor), Ready with a free slot now on a media the queue carries, and logged in.
    pub ready_agents: usize,
    pub available_agents: usize,
    pub logged_in_agents: usize,
}

type KeyId = u32;
/// An agent's slot in the pool (stable for its id).
type AgentSlot = u32;
type Order = (Reverse<i32>, Millis, ItemId);
type IdMap<V> = HashMap<ItemId, V, BuildHasherDefault<IdHasher>>;

/// Timers, in the order they run when due at the same instant: wrap-up ends first, so an agent
/// free at that instant is counted (skip rules) and served like any other free agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    WrapUp(AgentSlot),
    Escalate(ItemId),
    Retry(ItemId),
    Offer(ItemId),
}

/// One routed item. Kept small: a busy center holds many, and each operation touches one.
#[derive(Debug)]
struct Item {
    queue: QueueId,
    /// Index into `Router::medias`.
    media: u32,
    key: KeyId,
    /// The group indexing it while it is eligible: (`key`, `media`).
    group: u32,
    priority: i32,
    /// Its offer timeout and reject retry delay, as an index into `Router::terms`.
    terms: u32,
    enqueued_at: Millis,
    phase: ItemPhase,
    /// The `_target` list while its targets can still change: `None` for a single target and
    /// once the last entry is current.
    escalation: Option<Box<Escalating>>,
}

/// An escalation and the instant its timer is armed for.
#[derive(Debug)]
struct Escalating {
    escalation: Escalation,
    at: Millis,
}

impl Item {
    fn order(&self, id: ItemId) -> Order {
        (Reverse(self.priority), self.enqueued_at, id)
    }

    fn escalate_at(&self) -> Option<Millis> {
        self.escalation.as_ref().map(|e| e.at)
    }
}

/// An item's offer timeout and reject retry delay (`_agent_reserve_timeout`,
/// `_agent_reject_retry_timeout`): shared by the items of a service, so kept once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Terms {
    reserve_timeout_ms: Millis,
    reject_retry_ms: Millis,
}

/// A set of targets items are routed to.
#[derive(Debug)]
struct Key {
    targets: Vec<Target>,
    text: Vec<String>,
    /// Its groups: (media, group).
    groups: Vec<(u32, u32)>,
}

/// Eligible items with the same current targets and media, across queues, in service order.
#[derive(Debug)]
struct Group {
    key: KeyId,
    media: u32,
    items: BTreeSet<Order>,
    /// The media's availability epoch at which no available agent matched `key`: until an
    /// agent joins the media's available set (or changes configuration), none will, so an
    /// item of this group need not look again.
    unmatched_at: Option<u64>,
}

/// An agent's flags as last counted in the skip-rule statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counted {
    logged_in: bool,
    ready: bool,
    /// Available for voice (`RStatAgentsReadyvoice`).
    voice: bool,
}

/// Agents matching a target named in a skip rule, per statistic.
#[derive(Debug)]
struct StatCount {
    target: Target,
    logged_in: usize,
    ready: usize,
    voice: usize,
}

impl StatCount {
    fn apply(&mut self, old: Counted, new: Counted) {
        let shift = |n: usize, old: bool, new: bool| {
            (n + usize::from(new)).saturating_sub(usize::from(old))
        };
        self.logged_in = shift(self.logged_in, old.logged_in, new.logged_in);
        self.ready = shift(self.ready, old.ready, new.ready);
        self.voice = shift(self.voice, old.voice, new.voice);
    }
}

/// An available agent's place in its media's ranking, best first: least loaded (interactions
/// and reservations held on the media), longest free, lowest id — the order
/// [`AgentPool::reserve_best`] prefers candidates in (after those an item has not tried yet).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    load: u32,
    since: Millis,
    id: String,
    slot: AgentSlot,
}

/// What the router keeps per agent slot.
#[derive(Debug, Default)]
struct AgentSide {
    /// The media the agent is available on (indices into `Router::medias`), each with its
    /// entry in `Router::ranked`.
    ranks: Vec<(u32, Rank)>,
    /// Per key: 0 not known yet, 1 no match, 2 match. Cleared when the configuration changes.
    matches: Vec<u8>,
    counted: Counted,
    /// The end of the wrap-up its timer is armed for.
    wrap_up: Option<Millis>,
    work: Vec<Work>,
}

impl AgentSide {
    fn available_on(&self, media: u32) -> bool {
        self.ranks.iter().any(|(m, _)| *m == media)
    }
}

/// Virtual queues, agents, and the items being routed between them.
#[derive(Debug, Default)]
pub struct Router {
    queues: QueueSet,
    pool: AgentPool,
    default_ewt: EwtConfig,
    queue_ewt: HashMap<String, EwtConfig, foldhash::fast::RandomState>,
    /// Boxed: growing the map under load moves pointers, not items.
    items: IdMap<Box<Item>>,
    next_item: u64,
    keys: Vec<Key>,
    /// Keys by the hash of their targets.
    key_index: HashMap<u64, Vec<KeyId>, BuildHasherDefault<IdHasher>>,
    key_hasher: foldhash::fast::RandomState,
    /// Keys each queue has routed to (for its agent counts), by queue id.
    queue_keys: Vec<BTreeSet<KeyId>>,
    /// Media each queue has carried (indexes into `medias`), for its available-agent count.
    queue_medias: Vec<BTreeSet<u32>>,
    medias: Vec<String>,
    groups: Vec<Group>,
    terms: Vec<Terms>,
    terms_index: HashMap<Terms, u32, BuildHasherDefault<IdHasher>>,
    /// Agents available per media (index into `medias`), in the order they are offered items,
    /// so an item finds its agent without ranking every available one.
    ranked: Vec<BTreeSet<Rank>>,
    /// Per media, bumped whenever an agent may have started to match there: it joined the
    /// available set, or an available agent's configuration changed.
    epochs: Vec<u64>,
    /// Per agent slot.
    agents: Vec<AgentSide>,
    stats: Vec<StatCount>,
    /// Indices into `stats` by [`Router::target_hash`].
    stat_index: HashMap<u64, Vec<usize>, BuildHasherDefault<IdHasher>>,
    timers: BTreeSet<(Millis, Timer)>,
    events: Vec<RouterEvent>,
    /// Reused buffer.
    scratch_ranks: Vec<(u32, Rank)>,
}

fn valid_media(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 64
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_queue(q: &str) -> bool {
    !q.is_empty() && q.len() <= 255 && !q.chars().any(char::is_control)
}

/// The index of a media name, added on first use.
fn media_index(medias: &mut Vec<String>, media: &str) -> u32 {
    if let Some(i) = medias.iter().position(|m| m == media) {
        return i as u32;
    }
    medias.push(media.to_owned());
    (medias.len() - 1) as u32
}

/// Whether an agent matches a key's targets, remembered on the agent's side.
fn key_matches(
    side: &mut AgentSide,
    pool: &AgentPool,
    slot: AgentSlot,
    keys: &[Key],
    key: KeyId,
) -> bool {
    let k = key as usize;
    match side.matches.get(k) {
        Some(1) => return false,
        Some(2) => return true,
        _ => {}
    }
    let m = match (pool.by_slot(slot), keys.get(k)) {
        (Some(a), Some(key)) => key.targets.iter().any(|t| a.config().matches(t)),
        _ => false,
    };
    if side.matches.len() <= k {
        side.matches.resize(k + 1, 0);
    }
    if let Some(c) = side.matches.get_mut(k) {
        *c = if m { 2 } else { 1 };
    }
    m
}

impl Router {
    /// An empty router whose queues use `default_ewt` unless configured otherwise.
    pub fn new(default_ewt: EwtConfig) -> Router {
        Router {
            default_ewt,
            next_item: 1,
            ..Router::default()
        }
    }

    /// The estimator a queue uses (applied now if the queue exists, else when it is created).
    pub fn configure_queue(&mut self, name: &str, ewt: EwtConfig) -> Result<(), RouterError> {
        if !valid_queue(name) {
            return Err(RouterError::BadQueue(name.to_owned()));
        }
        ewt.validate().map_err(QueueError::InvalidConfig)?;
        if let Ok(q) = self.queues.queue_id(name) {
            self.queues.set_config(q, ewt)?;
        }
        self.queue_ewt.insert(name.to_owned(), ewt);
        Ok(())
    }

    fn queue(&mut self, name: &str) -> Result<QueueId, RouterError> {
        if let Ok(q) = self.queues.queue_id(name) {
            return Ok(q);
        }
        if !valid_queue(name) {
            return Err(RouterError::BadQueue(name.to_owned()));
        }
        let cfg = self
            .queue_ewt
            .get(name)
            .copied()
            .unwrap_or(self.default_ewt);
        Ok(self.queues.add_queue(name, cfg)?)
    }

    /// The router's side of an agent slot, created on first use.
    fn side(&mut self, slot: AgentSlot) -> &mut AgentSide {
        let i = slot as usize;
        if self.agents.len() <= i {
            self.agents.resize_with(i + 1, AgentSide::default);
        }
        &mut self.agents[i]
    }

    /// Feeds what identifies a target to a hasher: its name (for a skill target, the canonical
    /// expression text), server, type and whether it is a skill expression — cheaper than
    /// hashing the expression tree, and equal targets hash equal.
    fn hash_target(t: &Target, h: &mut impl Hasher) {
        t.name.hash(h);
        t.stat_server.hash(h);
        t.kind.hash(h);
        t.skill.is_some().hash(h);
    }

    fn target_hash(&self, t: &Target) -> u64 {
        let mut h = self.key_hasher.build_hasher();
        Self::hash_target(t, &mut h);
        h.finish()
    }

    fn key_for(&mut self, targets: &[&Target]) -> KeyId {
        let mut h = self.key_hasher.build_hasher();
        targets.len().hash(&mut h);
        for t in targets {
            Self::hash_target(t, &mut h);
        }
        let hash = h.finish();
        if let Some(ks) = self.key_index.get(&hash) {
            for &k in ks {
                let same = self.keys.get(k as usize).is_some_and(|key| {
                    key.targets.len() == targets.len()
                        && key.targets.iter().eq(targets.iter().copied())
                });
                if same {
                    return k;
                }
            }
        }
        let k = self.keys.len() as KeyId;
        self.keys.push(Key {
            targets: targets.iter().map(|t| (*t).clone()).collect(),
            text: targets.iter().map(|t| t.to_string()).collect(),
            groups: Vec::new(),
        });
        self.key_index.entry(hash).or_default().push(k);
        k
    }

    fn group_for(&mut self, key: KeyId, media: u32) -> u32 {
        let Some(k) = self.keys.get_mut(key as usize) else {
            return u32::MAX;
        };
        if let Some(&(_, g)) = k.groups.iter().find(|(m, _)| *m == media) {
            return g;
        }
        let g = self.groups.len() as u32;
        k.groups.push((media, g));
        self.groups.push(Group {
            key,
            media,
            items: BTreeSet::new(),
            unmatched_at: None,
        });
        g
    }

    fn terms_for(&mut self, terms: Terms) -> u32 {
        if let Some(&t) = self.terms_index.get(&terms) {
            return t;
        }
        let t = self.terms.len() as u32;
        self.terms.push(terms);
        self.terms_index.insert(terms, t);
        t
    }

    fn terms_of(&self, item: &Item) -> Terms {
        self.terms
            .get(item.terms as usize)
            .copied()
            .unwrap_or(Terms {
                reserve_timeout_ms: crate::agents::DEFAULT_RESERVE_TIMEOUT_MS,
                reject_retry_ms: 0,
            })
    }

    fn note_queue_key(&mut self, q: QueueId, key: KeyId) {
        let i = q.0 as usize;
        if self.queue_keys.len() <= i {
            self.queue_keys.resize_with(i + 1, BTreeSet::new);
        }
        if let Some(keys) = self.queue_keys.get_mut(i) {
            keys.insert(key);
        }
    }

    /// The index into `stats` of a target's counts.
    fn stat_of(&self, target: &Target, hash: u64) -> Option<usize> {
        self.stat_index
            .get(&hash)?
            .iter()
            .copied()
            .find(|&i| self.stats.get(i).is_some_and(|c| c.target == *target))
    }

    /// Starts counting the agents of every target a skip rule of `list` names.
    fn register_stats(&mut self, list: &TargetList) {
        for e in list.entries() {
            if e.skip_if.is_none() {
                continue;
            }
            let hash = self.target_hash(&e.target);
            if self.stat_of(&e.target, hash).is_some() {
                continue;
            }
            let mut count = StatCount {
                target: e.target.clone(),
                logged_in: 0,
                ready: 0,
                voice: 0,
            };
            for (slot, a) in self.pool.slots() {
                if a.config().matches(&count.target) {
                    let counted = self
                        .agents
                        .get(slot as usize)
                        .map(|s| s.counted)
                        .unwrap_or_default();
                    count.apply(Counted::default(), counted);
                }
            }
            self.stat_index
                .entry(hash)
                .or_default()
                .push(self.stats.len());
            self.stats.push(count);
        }
    }

    /// The statistic a skip rule reads. Every target a skip rule names is registered when its
    /// item is submitted, so a count is always there; were one missing, the statistic would
    /// read as unknown (NaN) and the entry be kept.
    fn stat(&self, target: &Target, kind: &StatKind) -> f64 {
        let hash = self.target_hash(target);
        let Some(c) = self.stat_of(target, hash).and_then(|i| self.stats.get(i)) else {
            debug_assert!(false, "skip-rule target {target} not registered");
            return f64::NAN;
        };
        match kind {
            StatKind::AgentsReady => c.ready as f64,
            StatKind::AgentsReadyVoice => c.voice as f64,
            StatKind::AgentsTotal => c.logged_in as f64,
            StatKind::Other(_) => f64::NAN,
        }
    }

    /// Moves an agent's contribution to the skip-rule statistics to `new`.
    fn account(&mut self, slot: AgentSlot, new: Counted) {
        let side = self.side(slot);
        let old = side.counted;
        if old == new {
            return;
        }
        side.counted = new;
        let Some(a) = self.pool.by_slot(slot) else {
            return;
        };
        for c in &mut self.stats {
            if a.config().matches(&c.target) {
                c.apply(old, new);
            }
        }
    }

    // ---- agents -------------------------------------------------------------------------

    pub fn pool(&self) -> &AgentPool {
        &self.pool
    }

    /// Adds an agent (logged out), or replaces the configuration of one that exists (its state
    /// is kept; offers on media it no longer handles are cancelled).
    pub fn put_agent(&mut self, config: AgentConfig, now: Millis) -> Result<(), RouterError> {
        let id = config.id.clone();
        if let Some(slot) = self.pool.slot(&id) {
            // Counted under the old configuration: taken out before it changes.
            self.account(slot, Counted::default());
            let cancelled = match self.pool.set_config(config) {
                Ok(c) => c,
                Err(e) => {
                    self.refresh_agent(slot, now);
                    return Err(e.into());
                }
            };
            self.side(slot).matches.clear();
            // It may match targets it did not before, on media it is already available on.
            for e in &mut self.epochs {
                *e += 1;
            }
            self.offers_cancelled(cancelled, now);
            self.agent_changed(slot, now);
        } else {
            self.pool.add(config)?;
            if let Some(slot) = self.pool.slot(&id) {
                self.side(slot).matches.clear();
                self.refresh_agent(slot, now);
            }
        }
        Ok(())
    }

    /// Removes an agent; its offers are cancelled (their items look for another agent) and its
    /// interactions are dropped from the router.
    pub fn remove_agent(&mut self, id: &str, now: Millis) -> Result<Vec<Work>, RouterError> {
        let slot = self.pool.slot(id);
        if let Some(s) = slot {
            self.account(s, Counted::default());
        }
        let cancelled = self.pool.remove(id)?;
        let mut work = Vec::new();
        if let Some(s) = slot {
            let side = self.side(s);
            let ranks = std::mem::take(&mut side.ranks);
            side.matches.clear();
            work = std::mem::take(&mut side.work);
            if let Some(until) = side.wrap_up.take() {
                self.timers.remove(&(until, Timer::WrapUp(s)));
            }
            for (m, rank) in ranks {
                if let Some(set) = self.ranked.get_mut(m as usize) {
                    set.remove(&rank);
                }
            }
        }
        self.offers_cancelled(cancelled, now);
        Ok(work)
    }

    pub fn login(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        self.pool.login(agent, now)?;
        self.changed(agent, now);
        Ok(())
    }

    pub fn ready(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        self.pool.ready(agent, now)?;
        self.changed(agent, now);
        Ok(())
    }

    pub fn not_ready(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        let cancelled = self.pool.not_ready(agent, now)?;
        self.changed(agent, now);
        self.offers_cancelled(cancelled, now);
        Ok(())
    }

    /// Logs the agent out; offers are cancelled. Interactions in progress are returned and
    /// dropped (the owner ends the calls).
    pub fn logout(&mut self, agent: &str, now: Millis) -> Result<Vec<Work>, RouterError> {
        let cancelled = self.pool.logout(agent, now)?;
        self.changed(agent, now);
        self.offers_cancelled(cancelled, now);
        Ok(match self.pool.slot(agent) {
            Some(s) => std::mem::take(&mut self.side(s).work),
            None => Vec::new(),
        })
    }

    /// Offers the agent holds now, by item.
    pub fn offers(&self, agent: &str) -> Vec<&Reservation> {
        self.pool.reservations_of(agent)
    }

    /// Interactions the agent is handling.
    pub fn work(&self, agent: &str) -> &[Work] {
        self.pool
            .slot(agent)
            .and_then(|s| self.agents.get(s as usize))
            .map_or(&[], |s| s.work.as_slice())
    }

    /// Records the switch's interaction id for an agent's work item.
    pub fn attach(&mut self, agent: &str, item: ItemId, ixn: &str) -> Result<(), RouterError> {
        let w = self
            .pool
            .slot(agent)
            .and_then(|s| self.agents.get_mut(s as usize))
            .and_then(|side| side.work.iter_mut().find(|w| w.item == item))
            .ok_or_else(|| RouterError::NoInteraction {
                agent: agent.to_owned(),
                item,
            })?;
        w.interaction = Some(ixn.to_owned());
        Ok(())
    }

    /// The agent accepts an offer: the item is distributed and becomes the agent's interaction.
    pub fn accept(&mut self, agent: &str, item: ItemId, now: Millis) -> Result<Work, RouterError> {
        self.check_offer(agent, item)?;
        if self
            .pool
            .reservation(item)
            .is_some_and(|r| now >= r.expires_at)
        {
            // Accepting at or after the deadline counts as the timeout it is.
            self.offer_timed_out(item, now);
            return Err(RouterError::NoOffer {
                agent: agent.to_owned(),
                item,
            });
        }
        let r = self.pool.accept(item, now)?;
        let it = self
            .items
            .remove(&item)
            .ok_or(RouterError::UnknownItem(item))?;
        self.timers.remove(&(r.expires_at, Timer::Offer(item)));
        if let Some(at) = it.escalate_at() {
            self.timers.remove(&(at, Timer::Escalate(item)));
        }
        self.queues.distribute(item, now)?;
        let w = Work {
            item,
            queue: r.queue.clone(),
            media: r.media.clone(),
            since: now,
            interaction: None,
        };
        self.events.push(RouterEvent::Distributed {
            item,
            agent: agent.to_owned(),
            queue: r.queue,
            media: r.media,
            waited_ms: now.saturating_sub(it.enqueued_at),
        });
        if let Some(s) = self.pool.slot(agent) {
            self.side(s).work.push(w.clone());
            self.agent_changed(s, now);
        }
        Ok(w)
    }

    /// The agent rejects an offer: the agent stays Ready; the item retries after its
    /// `reject_retry` delay, preferring other agents.
    pub fn reject(&mut self, agent: &str, item: ItemId, now: Millis) -> Result<(), RouterError> {
        self.check_offer(agent, item)?;
        let r = self.pool.reject(item, now)?;
        self.timers.remove(&(r.expires_at, Timer::Offer(item)));
        self.events.push(RouterEvent::OfferEnded {
            item,
            agent: agent.to_owned(),
            reason: OfferEnd::Rejected,
        });
        let retry = self
            .items
            .get(&item)
            .map_or(0, |i| self.terms_of(i).reject_retry_ms);
        // The item sits out while the agent looks for other work, so a reject never hands the
        // same agent the same item when something else is waiting for it.
        self.set_retry(item, now.saturating_add(retry));
        self.changed(agent, now);
        if retry == 0 {
            self.timers.remove(&(now, Timer::Retry(item)));
            self.back_to_waiting(item);
            self.try_item(item, now);
        }
        Ok(())
    }

    fn check_offer(&self, agent: &str, item: ItemId) -> Result<(), RouterError> {
        match self.pool.reservation(item) {
            Some(r) if r.agent == agent => Ok(()),
            _ => Err(RouterError::NoOffer {
                agent: agent.to_owned(),
                item,
            }),
        }
    }

    /// The agent's interaction ends (`acw_ms` of wrap-up follows); its handle time feeds the
    /// queue's handle-time estimator.
    pub fn complete(
        &mut self,
        agent: &str,
        item: ItemId,
        acw_ms: Millis,
        now: Millis,
    ) -> Result<Work, RouterError> {
        let no_ixn = || RouterError::NoInteraction {
            agent: agent.to_owned(),
            item,
        };
        let slot = self.pool.slot(agent).ok_or_else(no_ixn)?;
        let ws = &mut self.agents.get_mut(slot as usize).ok_or_else(no_ixn)?.work;
        let pos = ws.iter().position(|w| w.item == item).ok_or_else(no_ixn)?;
        let w = ws.remove(pos);
        self.pool.end_interaction(agent, &w.media, acw_ms, now)?;
        let handle_ms = now.saturating_sub(w.since);
        if let Ok(q) = self.queues.queue_id(&w.queue) {
            let secs = handle_ms.saturating_add(acw_ms.max(0)) as f64 / 1000.0;
            self.queues.record_handle_time(q, secs)?;
        }
        self.events.push(RouterEvent::Completed {
            item,
            agent: agent.to_owned(),
            handle_ms,
        });
        self.agent_changed(slot, now);
        Ok(w)
    }

    /// Moves an agent's interaction to another agent (single-step transfer). The receiving
    /// agent must be logged in, handle the media and have a free slot on it (offers held count);
    /// it need not be Ready. The first agent is free at once, with no wrap-up; the interaction
    /// keeps its start time, so the handle time recorded at completion covers both agents.
    pub fn transfer(
        &mut self,
        from: &str,
        item: ItemId,
        to: &str,
        now: Millis,
    ) -> Result<Work, RouterError> {
        let no_ixn = || RouterError::NoInteraction {
            agent: from.to_owned(),
            item,
        };
        let from_slot = self.pool.slot(from).ok_or_else(no_ixn)?;
        let media = self
            .agents
            .get(from_slot as usize)
            .and_then(|a| a.work.iter().find(|w| w.item == item))
            .map(|w| w.media.clone())
            .ok_or_else(no_ixn)?;
        let to_slot = self
            .pool
            .slot(to)
            .ok_or_else(|| AgentError::UnknownAgent(to.to_owned()))?;
        if to_slot == from_slot {
            return Err(RouterError::Agent(AgentError::AtCapacity {
                agent: to.to_owned(),
                media,
            }));
        }
        // The receiving side first: if it cannot take the interaction nothing changes.
        self.pool.start_interaction(to, &media, now)?;
        self.pool.end_interaction(from, &media, 0, now)?;
        let ws = &mut self
            .agents
            .get_mut(from_slot as usize)
            .ok_or_else(no_ixn)?
            .work;
        let pos = ws.iter().position(|w| w.item == item).ok_or_else(no_ixn)?;
        let w = ws.remove(pos);
        if let Some(a) = self.agents.get_mut(to_slot as usize) {
            a.work.push(w.clone());
        }
        self.events.push(RouterEvent::Transferred {
            item,
            from: from.to_owned(),
            to: to.to_owned(),
        });
        self.agent_changed(to_slot, now);
        self.agent_changed(from_slot, now);
        Ok(w)
    }

    // ---- items --------------------------------------------------------------------------

    /// Queues an item and routes it at once if an agent is available. Returns its id.
    pub fn submit(&mut self, req: RouteRequest, now: Millis) -> Result<ItemId, RouterError> {
        let trimmed = req.media.trim();
        let m = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            let lower = trimmed.to_ascii_lowercase();
            if !valid_media(&lower) {
                return Err(RouterError::BadMedia(req.media));
            }
            media_index(&mut self.medias, &lower)
        } else {
            if !valid_media(trimmed) {
                return Err(RouterError::BadMedia(req.media));
            }
            media_index(&mut self.medias, trimmed)
        };
        let q = self.queue(&req.queue)?;
        let id = ItemId(self.next_item);
        let entered = req.enqueued_at.map_or(now, |at| at.min(now));
        let position = self.queues.enqueue(q, id, req.priority, entered)?;
        self.next_item += 1;
        let (key, escalation) = self.start_targets(req.targets, entered, now);
        self.note_queue_key(q, key);
        let qi = q.0 as usize;
        if self.queue_medias.len() <= qi {
            self.queue_medias.resize_with(qi + 1, BTreeSet::new);
        }
        if let Some(ms) = self.queue_medias.get_mut(qi) {
            ms.insert(m);
        }
        let group = self.group_for(key, m);
        let terms = self.terms_for(Terms {
            reserve_timeout_ms: req.reserve_timeout_ms.max(1),
            reject_retry_ms: req.reject_retry_ms.max(0),
        });
        let item = Item {
            queue: q,
            media: m,
            key,
            group,
            priority: req.priority,
            terms,
            enqueued_at: entered,
            phase: ItemPhase::Waiting,
            escalation,
        };
        if let Some(at) = item.escalate_at() {
            self.timers.insert((at, Timer::Escalate(id)));
        }
        if let Some(g) = self.groups.get_mut(group as usize) {
            g.items.insert(item.order(id));
        }
        self.items.insert(id, Box::new(item));
        self.events.push(RouterEvent::Queued {
            item: id,
            queue: req.queue,
            position,
        });
        self.try_item(id, now);
        Ok(id)
    }

    /// The key of a new item's targets at `now`, and its escalation if they can change; the
    /// escalation runs from `entered` (earlier than now for a resubmitted item).
    fn start_targets(
        &mut self,
        list: TargetList,
        entered: Millis,
        now: Millis,
    ) -> (KeyId, Option<Box<Escalating>>) {
        if list.len() == 1 {
            // One entry never escalates and is never skipped (it is the last).
            if let Some(e) = list.entries().first() {
                return (self.key_for(&[&e.target]), None);
            }
        }
        self.register_stats(&list);
        let mut escalation = Escalation::new(list, entered);
        let next = escalation.advance(now, &|t, k| self.stat(t, k));
        let key = self.key_for(&escalation.active());
        (key, next.map(|at| Box::new(Escalating { escalation, at })))
    }

    /// The item leaves without being served (abandoned, cancelled); an offer it holds ends.
    pub fn cancel(&mut self, item: ItemId, now: Millis) -> Result<(), RouterError> {
        let it = self
            .items
            .remove(&item)
            .ok_or(RouterError::UnknownItem(item))?;
        if it.phase == ItemPhase::Waiting {
            if let Some(g) = self.groups.get_mut(it.group as usize) {
                g.items.remove(&it.order(item));
            }
        }
        if let Some(at) = it.escalate_at() {
            self.timers.remove(&(at, Timer::Escalate(item)));
        }
        if let ItemPhase::Retrying { until } = it.phase {
            self.timers.remove(&(until, Timer::Retry(item)));
        }
        let queue = self.queues.name(it.queue).unwrap_or_default().to_owned();
        self.queues.remove(item)?;
        let freed = self.pool.forget(item).map(|r| {
            self.timers.remove(&(r.expires_at, Timer::Offer(item)));
            self.events.push(RouterEvent::OfferEnded {
                item,
                agent: r.agent.clone(),
                reason: OfferEnd::Cancelled,
            });
            r.agent
        });
        // The item has left before its agent looks for other work: events stay in order.
        self.events.push(RouterEvent::Left { item, queue });
        if let Some(agent) = freed {
            self.changed(&agent, now);
        }
        Ok(())
    }

    /// Moves an item to another priority, keeping its age; returns its new position.
    pub fn set_priority(
        &mut self,
        item: ItemId,
        priority: i32,
        _now: Millis,
    ) -> Result<usize, RouterError> {
        if !self.items.contains_key(&item) {
            return Err(RouterError::UnknownItem(item));
        }
        let pos = self.queues.change_priority(item, priority)?;
        if let Some(it) = self.items.get_mut(&item) {
            let old = it.order(item);
            it.priority = priority;
            // Priority plays no part in matching, so no new match can arise: only the
            // item's place among the eligible changes.
            if it.phase == ItemPhase::Waiting {
                if let Some(g) = self.groups.get_mut(it.group as usize) {
                    g.items.remove(&old);
                    g.items.insert(it.order(item));
                }
            }
        }
        Ok(pos)
    }

    pub fn item(&self, item: ItemId) -> Option<ItemView> {
        let it = self.items.get(&item)?;
        let (_, position) = self.queues.position(item)?;
        Some(ItemView {
            item,
            queue: self.queues.name(it.queue).unwrap_or_default().to_owned(),
            priority: it.priority,
            media: self
                .medias
                .get(it.media as usize)
                .cloned()
                .unwrap_or_default(),
            enqueued_at: it.enqueued_at,
            position,
            phase: it.phase,
            targets: self
                .keys
                .get(it.key as usize)
                .map(|k| k.text.clone())
                .unwrap_or_default(),
            agent: self.pool.reservation(item).map(|r| r.agent.clone()),
        })
    }

    /// Items being routed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item's 1-based position in its queue, O(log n).
    pub fn position(&self, item: ItemId) -> Option<usize> {
        self.queues.position(item).map(|(_, p)| p)
    }

    /// The item's estimated wait.
    pub fn item_ewt(&self, item: ItemId, now: Millis) -> Option<crate::queue::Ewt> {
        let q = self.queues.queue_of(item)?;
        let ready = self.queue_agents(q, now).0;
        self.queues.item_ewt(item, ready)
    }

    /// Ready and logged-in agents matching any target the queue has routed to.
    fn queue_agents(&self, q: QueueId, now: Millis) -> (usize, usize, usize) {
        let Some(keys) = self.queue_keys.get(q.0 as usize) else {
            return (0, 0, 0);
        };
        let targets: Vec<&Target> = keys
            .iter()
            .filter_map(|k| self.keys.get(*k as usize))
            .flat_map(|k| k.targets.iter())
            .collect();
        let mut ready = 0;
        let mut available = 0;
        let mut logged_in = 0;
        for a in self.pool.agents() {
            if a.is_logged_in() && targets.iter().any(|t| a.config().matches(t)) {
                logged_in += 1;
                if a.state(now) == AgentState::Ready {
                    ready += 1;
                    let medias = self.queue_medias.get(q.0 as usize);
                    if medias.is_some_and(|ms| {
                        ms.iter().any(|&m| {
                            self.medias
                                .get(m as usize)
                                .is_some_and(|name| self.pool.is_available(a.id(), name, now))
                        })
                    }) {
                        available += 1;
                    }
                }
            }
        }
        (ready, available, logged_in)
    }

    /// A queue's `lvq` statistics; `None` for a queue never used.
    pub fn queue_report(&self, name: &str, now: Millis) -> Option<QueueReport> {
        let q = self.queues.queue_id(name).ok()?;
        let (ready, available, logged_in) = self.queue_agents(q, now);
        let stats = self.queues.stats(q, now, ready).ok()?;
        Some(QueueReport {
            stats,
            ready_agents: ready,
            available_agents: available,
            logged_in_agents: logged_in,
        })
    }

    /// Names of the queues in use.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.queues().map(|(_, n)| n.to_owned()).collect()
    }

    // ---- time ---------------------------------------------------------------------------

    /// The instant of the next timer (offer timeout, escalation, retry, end of wrap-up).
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Fires every timer due at `now`.
    pub fn advance(&mut self, now: Millis) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, timer));
            match timer {
                Timer::Offer(item) => self.offer_timed_out(item, now),
                Timer::Escalate(item) => self.escalate(item, now),
                Timer::Retry(item) => {
                    let retrying = self
                        .items
                        .get(&item)
                        .is_some_and(|it| matches!(it.phase, ItemPhase::Retrying { .. }));
                    if retrying {
                        self.back_to_waiting(item);
                        self.try_item(item, now);
                    }
                }
                Timer::WrapUp(slot) => self.agent_changed(slot, now),
            }
        }
    }

    /// What happened since the last call.
    pub fn take_events(&mut self) -> Vec<RouterEvent> {
        std::mem::take(&mut self.events)
    }

    /// What happened since the last call, drained in order; the router keeps its buffer, so a
    /// caller draining after every call allocates nothing for events.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, RouterEvent> {
        self.events.drain(..)
    }

    // ---- internals ----------------------------------------------------------------------

    /// Marks an item waiting and indexes it for agents.
    fn back_to_waiting(&mut self, id: ItemId) {
        let Some(it) = self.items.get_mut(&id) else {
            return;
        };
        it.phase = ItemPhase::Waiting;
        let (order, group) = (it.order(id), it.group);
        let _ = self.queues.release(id);
        if let Some(g) = self.groups.get_mut(group as usize) {
            g.items.insert(order);
        }
    }

    fn set_retry(&mut self, id: ItemId, until: Millis) {
        if let Some(it) = self.items.get_mut(&id) {
            it.phase = ItemPhase::Retrying { until };
            let _ = self.queues.release(id);
            self.timers.insert((until, Timer::Retry(id)));
        }
    }

    /// Checks the per-media agent indexes against the pool: the agents available on each media
    /// at `now`, ranked as [`AgentPool::reserve_best`] ranks them. Meant for tests; call it after
    /// [`advance`](Self::advance)`(now)` (a wrap-up that ended is applied there).
    pub fn audit_index(&self, now: Millis) -> Result<(), String> {
        for (m, media) in self.medias.iter().enumerate() {
            let mut want = BTreeSet::new();
            for slot in self.pool.agents().filter_map(|a| self.pool.slot(a.id())) {
                if !self.pool.is_available_at(slot, media, now) {
                    continue;
                }
                if let Some((load, since, id)) = self.pool.standing(slot, media, now) {
                    want.insert(Rank {
                        load,
                        since,
                        id: id.to_owned(),
                        slot,
                    });
                }
            }
            let empty = BTreeSet::new();
            let ranked = self.ranked.get(m).unwrap_or(&empty);
            if *ranked != want {
                return Err(format!(
                    "{media}: ranked {ranked:?}, the pool says {want:?}"
                ));
            }
            // Each agent's own list of media agrees with the index.
            for r in ranked {
                if !self.agents.get(r.slot as usize).is_some_and(|side| {
                    side.ranks.iter().any(|(om, or)| *om == m as u32 && or == r)
                }) {
                    return Err(format!(
                        "{media}: agent slot {} does not list {r:?}",
                        r.slot
                    ));
                }
            }
        }
        Ok(())
    }

    /// An eligible item looks for an available agent.
    fn try_item(&mut self, id: ItemId, now: Millis) {
        let Some(it) = self.items.get(&id) else {
            return;
        };
        if it.phase != ItemPhase::Waiting {
            return;
        }
        let (key, m, q, g) = (it.key, it.media, it.queue, it.group);
        let timeout = self.terms_of(it).reserve_timeout_ms;
        if self.ranked.get(m as usize).is_none_or(BTreeSet::is_empty) {
            return;
        }
        let epoch = self.epochs.get(m as usize).copied().unwrap_or(0);
        if self
            .groups
            .get(g as usize)
            .is_some_and(|g| g.unmatched_at == Some(epoch))
        {
            return;
        }
        let media = self.medias.get(m as usize).map_or("", String::as_str);
        // The first matching agent in rank order, one the item has not tried before if any.
        let tried = self.pool.tried(id);
        let mut pick = None;
        for again in [false, true] {
            pick = self.ranked.get(m as usize).and_then(|set| {
                set.iter().map(|r| r.slot).find(|&a| {
                    tried.contains(&a) == again
                        && self
                            .agents
                            .get_mut(a as usize)
                            .is_some_and(|side| key_matches(side, &self.pool, a, &self.keys, key))
                })
            });
            if pick.is_some() || tried.is_empty() {
                break;
            }
        }
        #[cfg(debug_assertions)]
        {
            // The index must agree with ranking every matching available agent.
            let all: Vec<AgentSlot> = self
                .ranked
                .get(m as usize)
                .into_iter()
                .flatten()
                .map(|r| r.slot)
                .filter(|&a| {
                    self.agents
                        .get_mut(a as usize)
                        .is_some_and(|side| key_matches(side, &self.pool, a, &self.keys, key))
                })
                .collect();
            let best = self.pool.best(id, media, now, all).map(|(_, slot)| slot);
            debug_assert_eq!(pick, best, "the ranked index disagrees with the pool");
        }
        let queue = self.queues.name(q).unwrap_or_default();
        let got = match pick {
            Some(slot) => {
                self.pool
                    .reserve_best(id, queue, media, now, timeout, std::iter::once(slot))
            }
            None => None,
        };
        match got {
            Some(slot) => self.offered(id, slot, now),
            None => {
                if let Some(group) = self.groups.get_mut(g as usize) {
                    group.unmatched_at = Some(epoch);
                }
            }
        }
    }

    /// The pool has just reserved `slot` for `id`.
    fn offered(&mut self, id: ItemId, slot: AgentSlot, now: Millis) {
        let Some(it) = self.items.get_mut(&id) else {
            return;
        };
        it.phase = ItemPhase::Offered;
        let (order, group, q, m) = (it.order(id), it.group, it.queue, it.media);
        if let Some(g) = self.groups.get_mut(group as usize) {
            g.items.remove(&order);
        }
        let _ = self.queues.reserve(id);
        let (agent, expires_at) = self
            .pool
            .reservation(id)
            .map_or((String::new(), now), |r| (r.agent.clone(), r.expires_at));
        self.timers.insert((expires_at, Timer::Offer(id)));
        self.events.push(RouterEvent::Offered {
            item: id,
            agent,
            queue: self.queues.name(q).unwrap_or_default().to_owned(),
            media: self.medias.get(m as usize).cloned().unwrap_or_default(),
            expires_at,
        });
        self.refresh_agent(slot, now);
    }

    fn offer_timed_out(&mut self, item: ItemId, now: Millis) {
        let Some(r) = self.pool.expire_item(item, now) else {
            return;
        };
        self.timers.remove(&(r.expires_at, Timer::Offer(item)));
        self.events.push(RouterEvent::OfferEnded {
            item,
            agent: r.agent.clone(),
            reason: OfferEnd::TimedOut,
        });
        // The agent did not answer: Not Ready, and any other offer it holds is cancelled.
        if let Ok(more) = self.pool.not_ready(&r.agent, now) {
            self.changed(&r.agent, now);
            self.offers_cancelled(more, now);
        }
        self.back_to_waiting(item);
        self.try_item(item, now);
    }

    fn offers_cancelled(&mut self, cancelled: Vec<Reservation>, now: Millis) {
        for r in &cancelled {
            self.timers.remove(&(r.expires_at, Timer::Offer(r.item)));
            self.events.push(RouterEvent::OfferEnded {
                item: r.item,
                agent: r.agent.clone(),
                reason: OfferEnd::Cancelled,
            });
            self.back_to_waiting(r.item);
        }
        // Their agents stand differently now (freed slots, perhaps a new configuration): the
        // index is brought up to date before the items look again.
        for r in &cancelled {
            if let Some(slot) = self.pool.slot(&r.agent) {
                self.refresh_agent(slot, now);
            }
        }
        for r in &cancelled {
            self.try_item(r.item, now);
        }
    }

    fn escalate(&mut self, id: ItemId, now: Millis) {
        let Some(it) = self.items.get_mut(&id) else {
            return;
        };
        let Some(mut escalating) = it.escalation.take() else {
            return;
        };
        let (old_key, old_group, order, q, m, phase) =
            (it.key, it.group, it.order(id), it.queue, it.media, it.phase);
        let next = escalating.escalation.advance(now, &|t, k| self.stat(t, k));
        let key = self.key_for(&escalating.escalation.active());
        self.note_queue_key(q, key);
        let group = self.group_for(key, m);
        if let Some(it) = self.items.get_mut(&id) {
            it.key = key;
            it.group = group;
            it.escalation = next.map(|at| {
                escalating.at = at;
                escalating
            });
        }
        if let Some(at) = next {
            self.timers.insert((at, Timer::Escalate(id)));
        }
        if key == old_key {
            return;
        }
        self.events.push(RouterEvent::TargetsChanged {
            item: id,
            targets: self
                .keys
                .get(key as usize)
                .map(|k| k.text.clone())
                .unwrap_or_default(),
        });
        if phase == ItemPhase::Waiting {
            if let Some(g) = self.groups.get_mut(old_group as usize) {
                g.items.remove(&order);
            }
            if let Some(g) = self.groups.get_mut(group as usize) {
                g.items.insert(order);
            }
            self.try_item(id, now);
        }
    }

    /// [`agent_changed`](Self::agent_changed) by id.
    fn changed(&mut self, agent: &str, now: Millis) {
        if let Some(slot) = self.pool.slot(agent) {
            self.agent_changed(slot, now);
        }
    }

    /// Re-reads one agent's availability and, if it can take work, gives it the best items.
    fn agent_changed(&mut self, slot: AgentSlot, now: Millis) {
        let Some(a) = self.pool.by_slot(slot) else {
            return;
        };
        let state = a.state(now);
        self.events.push(RouterEvent::AgentState {
            agent: a.id().to_owned(),
            state,
        });
        let wrap_up = match state {
            AgentState::AfterCallWork { until } => Some(until),
            _ => None,
        };
        // Wrap-up ended early (Ready, Not Ready, logout) leaves no timer behind to report a
        // second state change at its old end.
        let old = std::mem::replace(&mut self.side(slot).wrap_up, wrap_up);
        if old != wrap_up {
            if let Some(at) = old {
                self.timers.remove(&(at, Timer::WrapUp(slot)));
            }
            if let Some(at) = wrap_up {
                self.timers.insert((at, Timer::WrapUp(slot)));
            }
        }
        self.refresh_agent(slot, now);
        self.serve_agent(slot, now);
    }

    /// Re-reads on which media the agent is available (every media it has; one dropped from
    /// its configuration is dropped here too) and its skip-rule counts.
    fn refresh_agent(&mut self, slot: AgentSlot, now: Millis) {
        let mut fresh = std::mem::take(&mut self.scratch_ranks);
        fresh.clear();
        let mut counted = Counted::default();
        self.side(slot);
        if let Some(a) = self.pool.by_slot(slot) {
            counted.logged_in = a.is_logged_in();
            counted.ready = a.state(now) == AgentState::Ready;
            let old = self.agents.get(slot as usize).map_or(&[][..], |s| &s.ranks);
            for media in a.config().capacity.keys() {
                if !self.pool.is_available_at(slot, media, now) {
                    continue;
                }
                let Some((load, since, id)) = self.pool.standing(slot, media, now) else {
                    continue;
                };
                let m = media_index(&mut self.medias, media);
                counted.voice |= media == "voice";
                // An unchanged standing keeps its entry (no new id string).
                let same = old
                    .iter()
                    .find(|(om, r)| *om == m && r.load == load && r.since == since && r.id == id);
                let rank = match same {
                    Some((_, r)) => r.clone(),
                    None => Rank {
                        load,
                        since,
                        id: id.to_owned(),
                        slot,
                    },
                };
                fresh.push((m, rank));
            }
        }
        if self.ranked.len() < self.medias.len() {
            self.ranked.resize_with(self.medias.len(), BTreeSet::new);
            self.epochs.resize(self.medias.len(), 0);
        }
        let Some(side) = self.agents.get_mut(slot as usize) else {
            return;
        };
        let old = std::mem::replace(&mut side.ranks, fresh);
        for entry in &old {
            if !side.ranks.contains(entry) {
                if let Some(set) = self.ranked.get_mut(entry.0 as usize) {
                    set.remove(&entry.1);
                }
            }
        }
        for entry in &side.ranks {
            if old.contains(entry) {
                continue;
            }
            if let Some(set) = self.ranked.get_mut(entry.0 as usize) {
                set.insert(entry.1.clone());
            }
            // Newly available on this media: an agent may match there that did not before.
            if !old.iter().any(|(om, _)| *om == entry.0) {
                if let Some(e) = self.epochs.get_mut(entry.0 as usize) {
                    *e += 1;
                }
            }
        }
        self.scratch_ranks = old;
        self.account(slot, counted);
    }

    /// Gives an available agent the best eligible items it matches, one per free slot.
    fn serve_agent(&mut self, slot: AgentSlot, now: Millis) {
        loop {
            let Some(side) = self.agents.get_mut(slot as usize) else {
                return;
            };
            if side.ranks.is_empty() {
                return;
            }
            let mut best: Option<(Order, u32)> = None;
            for (g, group) in self.groups.iter().enumerate() {
                let Some(head) = group.items.first() else {
                    continue;
                };
                if best.as_ref().is_some_and(|(o, _)| o <= head) || !side.available_on(group.media)
                {
                    continue;
                }
                if key_matches(side, &self.pool, slot, &self.keys, group.key) {
                    best = Some((*head, g as u32));
                }
            }
            let Some(((_, _, item), g)) = best else {
                return;
            };
            let Some(m) = self.groups.get(g as usize).map(|g| g.media) else {
                return;
            };
            let Some((q, timeout)) = self
                .items
                .get(&item)
                .map(|it| (it.queue, self.terms_of(it).reserve_timeout_ms))
            else {
                return;
            };
            let got = self.pool.reserve_best(
                item,
                self.queues.name(q).unwrap_or_default(),
                self.medias.get(m as usize).map_or("", String::as_str),
                now,
                timeout,
                std::iter::once(slot),
            );
            if got.is_some() {
                self.offered(item, slot, now);
            } else {
                // The index and the pool disagree (never expected): re-read the agent, and
                // stop unless that took the media off its list, so this cannot loop.
                self.refresh_agent(slot, now);
                if self
                    .agents
                    .get(slot as usize)
                    .is_none_or(|s| s.available_on(m))
                {
                    return;
                }
            }
        }
    }
}
