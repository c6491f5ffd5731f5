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
//!   buckets by (queue, current targets, media), so this looks at the head of each bucket
//!   instead of at every item.
//!
//! An offer is an agent reservation (`_agent_reserve_timeout`, default 30 s): the agent is never
//! offered beyond its capacity and an item never holds two offers ([`AgentPool`]). When the
//! agent accepts, the item is distributed (it leaves the queue and its time-to-leave feeds the
//! EWT) and becomes an interaction of the agent until it is completed. A reject frees the agent
//! and puts the item back after its `reject_retry` delay, preferring other agents; a timeout
//! does the same and also sets the agent Not Ready — the switch's usual answer to an agent who
//! does not answer, so an absent agent is not offered the next item too.
//!
//! ## Statistics for skip rules
//! `RStatAgentsReady`, `RStatAgentsReadyvoice` and `RStatAgentsTotal` are counted from the
//! agent pool at the instant the escalation reaches an entry. Other Stat Server statistics have
//! no source here: they read as "unknown" (NaN), so their skip condition never holds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::plan::{Escalation, StatKind, TargetList};
use super::target::Target;
use crate::agents::{AgentConfig, AgentError, AgentPool, AgentState, Reservation};
use crate::queue::{EwtConfig, ItemId, QueueError, QueueId, QueueSet, QueueStats};
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
    /// Agents matching a target this queue has routed to, Ready now / logged in.
    pub ready_agents: usize,
    pub logged_in_agents: usize,
}

type KeyId = u32;
type Order = (Reverse<i32>, Millis, ItemId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Escalate(ItemId),
    Retry(ItemId),
    Offer(ItemId),
    WrapUp(u32),
}

#[derive(Debug, Clone)]
struct Item {
    queue: QueueId,
    media: String,
    escalation: Escalation,
    key: KeyId,
    priority: i32,
    enqueued_at: Millis,
    reserve_timeout_ms: Millis,
    reject_retry_ms: Millis,
    phase: ItemPhase,
    /// When the escalation next changes, if it is armed.
    escalate_at: Option<Millis>,
}

impl Item {
    fn order(&self, id: ItemId) -> Order {
        (Reverse(self.priority), self.enqueued_at, id)
    }
}

/// The targets a set of items is routed to, with agent matches remembered.
#[derive(Debug, Clone)]
struct Key {
    targets: Vec<Target>,
    text: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BucketId {
    queue: QueueId,
    key: KeyId,
    media: u32,
}

/// Virtual queues, agents, and the items being routed between them.
#[derive(Debug, Default)]
pub struct Router {
    queues: QueueSet,
    pool: AgentPool,
    default_ewt: EwtConfig,
    queue_ewt: HashMap<String, EwtConfig>,
    items: HashMap<ItemId, Item>,
    next_item: u64,
    keys: Vec<Key>,
    key_ids: HashMap<String, KeyId>,
    /// Keys each queue has routed to (for its agent counts).
    queue_keys: HashMap<QueueId, BTreeSet<KeyId>>,
    medias: Vec<String>,
    buckets: HashMap<BucketId, BTreeSet<Order>>,
    /// Agent index ↔ id, for timers and the match cache.
    agent_ids: Vec<String>,
    agent_index: HashMap<String, u32>,
    /// Agents available per media (index into `medias`).
    available: HashMap<u32, BTreeSet<String>>,
    matches: HashMap<(u32, KeyId), bool>,
    timers: BTreeSet<(Millis, Timer)>,
    wrap_up: HashMap<u32, Millis>,
    work: BTreeMap<String, Vec<Work>>,
    events: Vec<RouterEvent>,
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

    fn media_id(&mut self, media: &str) -> u32 {
        if let Some(i) = self.medias.iter().position(|m| m == media) {
            return i as u32;
        }
        self.medias.push(media.to_owned());
        (self.medias.len() - 1) as u32
    }

    fn agent_idx(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.agent_index.get(id) {
            return i;
        }
        let i = self.agent_ids.len() as u32;
        self.agent_ids.push(id.to_owned());
        self.agent_index.insert(id.to_owned(), i);
        i
    }

    fn key_for(&mut self, targets: &[&Target]) -> KeyId {
        let text: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let joined = text.join("\u{1f}");
        if let Some(&k) = self.key_ids.get(&joined) {
            return k;
        }
        let k = self.keys.len() as KeyId;
        self.keys.push(Key {
            targets: targets.iter().map(|t| (*t).clone()).collect(),
            text,
        });
        self.key_ids.insert(joined, k);
        k
    }

    fn agent_matches(&mut self, agent: u32, key: KeyId) -> bool {
        if let Some(&m) = self.matches.get(&(agent, key)) {
            return m;
        }
        let m = match (
            self.agent_ids
                .get(agent as usize)
                .and_then(|id| self.pool.agent(id)),
            self.keys.get(key as usize),
        ) {
            (Some(a), Some(k)) => k.targets.iter().any(|t| a.config().matches(t)),
            _ => false,
        };
        self.matches.insert((agent, key), m);
        m
    }

    /// The statistic a skip rule reads.
    fn stat(pool: &AgentPool, now: Millis, target: &Target, kind: &StatKind) -> f64 {
        match kind {
            StatKind::AgentsReady => pool.ready_count(target, None, now) as f64,
            StatKind::AgentsReadyVoice => pool.ready_count(target, Some("voice"), now) as f64,
            StatKind::AgentsTotal => pool.logged_in_count(target) as f64,
            StatKind::Other(_) => f64::NAN,
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
        let a = self.agent_idx(&id);
        self.matches.retain(|(agent, _), _| *agent != a);
        if self.pool.agent(&id).is_some() {
            let cancelled = self.pool.set_config(config)?;
            self.offers_cancelled(cancelled, now);
            self.agent_changed(&id, now);
        } else {
            self.pool.add(config)?;
        }
        Ok(())
    }

    /// Removes an agent; its offers are cancelled (their items look for another agent) and its
    /// interactions are dropped from the router.
    pub fn remove_agent(&mut self, id: &str, now: Millis) -> Result<Vec<Work>, RouterError> {
        let cancelled = self.pool.remove(id)?;
        if let Some(&a) = self.agent_index.get(id) {
            self.matches.retain(|(agent, _), _| *agent != a);
            for set in self.available.values_mut() {
                set.remove(id);
            }
            if let Some(until) = self.wrap_up.remove(&a) {
                self.timers.remove(&(until, Timer::WrapUp(a)));
            }
        }
        self.offers_cancelled(cancelled, now);
        Ok(self.work.remove(id).unwrap_or_default())
    }

    pub fn login(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        self.pool.login(agent, now)?;
        self.agent_changed(agent, now);
        Ok(())
    }

    pub fn ready(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        self.pool.ready(agent, now)?;
        self.agent_changed(agent, now);
        Ok(())
    }

    pub fn not_ready(&mut self, agent: &str, now: Millis) -> Result<(), RouterError> {
        let cancelled = self.pool.not_ready(agent, now)?;
        self.agent_changed(agent, now);
        self.offers_cancelled(cancelled, now);
        Ok(())
    }

    /// Logs the agent out; offers are cancelled. Interactions in progress are returned and
    /// dropped (the owner ends the calls).
    pub fn logout(&mut self, agent: &str, now: Millis) -> Result<Vec<Work>, RouterError> {
        let cancelled = self.pool.logout(agent, now)?;
        self.agent_changed(agent, now);
        self.offers_cancelled(cancelled, now);
        Ok(self.work.remove(agent).unwrap_or_default())
    }

    /// Offers the agent holds now.
    pub fn offers(&self, agent: &str) -> Vec<&Reservation> {
        self.pool
            .reservations()
            .filter(|r| r.agent == agent)
            .collect()
    }

    /// Interactions the agent is handling.
    pub fn work(&self, agent: &str) -> &[Work] {
        self.work.get(agent).map_or(&[], Vec::as_slice)
    }

    /// Records the switch's interaction id for an agent's work item.
    pub fn attach(&mut self, agent: &str, item: ItemId, ixn: &str) -> Result<(), RouterError> {
        let w = self
            .work
            .get_mut(agent)
            .and_then(|ws| ws.iter_mut().find(|w| w.item == item))
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
            self.offer_timed_out(item, agent, now);
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
        if let Some(at) = it.escalate_at {
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
        self.work
            .entry(agent.to_owned())
            .or_default()
            .push(w.clone());
        self.events.push(RouterEvent::Distributed {
            item,
            agent: agent.to_owned(),
            queue: r.queue,
            media: r.media,
            waited_ms: now.saturating_sub(it.enqueued_at),
        });
        self.agent_changed(agent, now);
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
        let retry = self.items.get(&item).map_or(0, |i| i.reject_retry_ms);
        // The item sits out while the agent looks for other work, so a reject never hands the
        // same agent the same item when something else is waiting for it.
        self.set_retry(item, now.saturating_add(retry));
        self.agent_changed(agent, now);
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
        let ws = self.work.get_mut(agent).ok_or_else(no_ixn)?;
        let pos = ws.iter().position(|w| w.item == item).ok_or_else(no_ixn)?;
        let w = ws.remove(pos);
        if ws.is_empty() {
            self.work.remove(agent);
        }
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
        self.agent_changed(agent, now);
        Ok(w)
    }

    // ---- items --------------------------------------------------------------------------

    /// Queues an item and routes it at once if an agent is available. Returns its id.
    pub fn submit(&mut self, req: RouteRequest, now: Millis) -> Result<ItemId, RouterError> {
        let media = req.media.trim().to_ascii_lowercase();
        if !valid_media(&media) {
            return Err(RouterError::BadMedia(req.media));
        }
        let q = self.queue(&req.queue)?;
        let id = ItemId(self.next_item);
        let position = self.queues.enqueue(q, id, req.priority, now)?;
        self.next_item += 1;
        let mut escalation = Escalation::new(req.targets, now);
        let pool = &self.pool;
        let next = escalation.advance(now, &|t, k| Self::stat(pool, now, t, k));
        let active = escalation.active();
        let key = self.key_for(&active);
        self.queue_keys.entry(q).or_default().insert(key);
        let item = Item {
            queue: q,
            media,
            escalation,
            key,
            priority: req.priority,
            enqueued_at: now,
            reserve_timeout_ms: req.reserve_timeout_ms.max(1),
            reject_retry_ms: req.reject_retry_ms.max(0),
            phase: ItemPhase::Waiting,
            escalate_at: next,
        };
        if let Some(at) = next {
            self.timers.insert((at, Timer::Escalate(id)));
        }
        self.items.insert(id, item);
        self.events.push(RouterEvent::Queued {
            item: id,
            queue: req.queue,
            position,
        });
        self.back_to_waiting(id);
        self.try_item(id, now);
        Ok(id)
    }

    /// The item leaves without being served (abandoned, cancelled); an offer it holds ends.
    pub fn cancel(&mut self, item: ItemId, now: Millis) -> Result<(), RouterError> {
        let it = self
            .items
            .remove(&item)
            .ok_or(RouterError::UnknownItem(item))?;
        self.unbucket(item, &it);
        if let Some(at) = it.escalate_at {
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
            self.agent_changed(&agent, now);
        }
        Ok(())
    }

    /// Moves an item to another priority, keeping its age; returns its new position.
    pub fn set_priority(
        &mut self,
        item: ItemId,
        priority: i32,
        now: Millis,
    ) -> Result<usize, RouterError> {
        let it = self
            .items
            .get(&item)
            .ok_or(RouterError::UnknownItem(item))?
            .clone();
        self.unbucket(item, &it);
        let pos = self.queues.change_priority(item, priority)?;
        if let Some(i) = self.items.get_mut(&item) {
            i.priority = priority;
        }
        if it.phase == ItemPhase::Waiting {
            self.back_to_waiting(item);
            self.try_item(item, now);
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
            media: it.media.clone(),
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
    fn queue_agents(&self, q: QueueId, now: Millis) -> (usize, usize) {
        let Some(keys) = self.queue_keys.get(&q) else {
            return (0, 0);
        };
        let targets: Vec<&Target> = keys
            .iter()
            .filter_map(|k| self.keys.get(*k as usize))
            .flat_map(|k| k.targets.iter())
            .collect();
        let mut ready = 0;
        let mut logged_in = 0;
        for a in self.pool.agents() {
            if a.is_logged_in() && targets.iter().any(|t| a.config().matches(t)) {
                logged_in += 1;
                if a.state(now) == AgentState::Ready {
                    ready += 1;
                }
            }
        }
        (ready, logged_in)
    }

    /// A queue's `lvq` statistics; `None` for a queue never used.
    pub fn queue_report(&self, name: &str, now: Millis) -> Option<QueueReport> {
        let q = self.queues.queue_id(name).ok()?;
        let (ready, logged_in) = self.queue_agents(q, now);
        let stats = self.queues.stats(q, now, ready).ok()?;
        Some(QueueReport {
            stats,
            ready_agents: ready,
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
                Timer::Offer(item) => {
                    if let Some(agent) = self.pool.reservation(item).map(|r| r.agent.clone()) {
                        self.offer_timed_out(item, &agent, now);
                    }
                }
                Timer::Escalate(item) => self.escalate(item, now),
                Timer::Retry(item) => {
                    if let Some(it) = self.items.get_mut(&item) {
                        if matches!(it.phase, ItemPhase::Retrying { .. }) {
                            it.phase = ItemPhase::Waiting;
                            self.back_to_waiting(item);
                            self.try_item(item, now);
                        }
                    }
                }
                Timer::WrapUp(a) => {
                    self.wrap_up.remove(&a);
                    if let Some(id) = self.agent_ids.get(a as usize).cloned() {
                        self.agent_changed(&id, now);
                    }
                }
            }
        }
    }

    /// What happened since the last call.
    pub fn take_events(&mut self) -> Vec<RouterEvent> {
        std::mem::take(&mut self.events)
    }

    // ---- internals ----------------------------------------------------------------------

    fn bucket_of(&mut self, it: &Item) -> BucketId {
        BucketId {
            queue: it.queue,
            key: it.key,
            media: self.media_id(&it.media),
        }
    }

    fn unbucket(&mut self, id: ItemId, it: &Item) {
        let b = self.bucket_of(it);
        if let Some(set) = self.buckets.get_mut(&b) {
            set.remove(&it.order(id));
            if set.is_empty() {
                self.buckets.remove(&b);
            }
        }
    }

    /// Marks an item waiting and indexes it for agents.
    fn back_to_waiting(&mut self, id: ItemId) {
        let Some(it) = self.items.get_mut(&id) else {
            return;
        };
        it.phase = ItemPhase::Waiting;
        let it = it.clone();
        let _ = self.queues.release(id);
        let b = self.bucket_of(&it);
        self.buckets.entry(b).or_default().insert(it.order(id));
    }

    fn set_retry(&mut self, id: ItemId, until: Millis) {
        if let Some(it) = self.items.get_mut(&id) {
            it.phase = ItemPhase::Retrying { until };
            let _ = self.queues.release(id);
            self.timers.insert((until, Timer::Retry(id)));
        }
    }

    /// An eligible item looks for an available agent.
    fn try_item(&mut self, id: ItemId, now: Millis) {
        let Some(it) = self.items.get(&id) else {
            return;
        };
        if it.phase != ItemPhase::Waiting {
            return;
        }
        let media = it.media.clone();
        let key = it.key;
        let queue = it.queue;
        let timeout = it.reserve_timeout_ms;
        let m = self.media_id(&media);
        let candidates: Vec<String> = match self.available.get(&m) {
            Some(set) if !set.is_empty() => set.iter().cloned().collect(),
            _ => return,
        };
        let qname = self.queues.name(queue).unwrap_or_default().to_owned();
        let targets: Vec<Target> = self
            .keys
            .get(key as usize)
            .map(|k| k.targets.clone())
            .unwrap_or_default();
        let refs: Vec<&Target> = targets.iter().collect();
        let Some(agent) = self.pool.try_reserve_among(
            id,
            &qname,
            &refs,
            &media,
            now,
            timeout,
            candidates.iter().map(String::as_str),
        ) else {
            return;
        };
        self.offered(id, &agent, qname, media, now);
    }

    fn offered(&mut self, id: ItemId, agent: &str, queue: String, media: String, now: Millis) {
        let Some(it) = self.items.get(&id).cloned() else {
            return;
        };
        self.unbucket(id, &it);
        if let Some(i) = self.items.get_mut(&id) {
            i.phase = ItemPhase::Offered;
        }
        let _ = self.queues.reserve(id);
        let expires_at = self.pool.reservation(id).map_or(now, |r| r.expires_at);
        self.timers.insert((expires_at, Timer::Offer(id)));
        self.events.push(RouterEvent::Offered {
            item: id,
            agent: agent.to_owned(),
            queue,
            media,
            expires_at,
        });
        self.refresh_available(agent, now);
    }

    fn offer_timed_out(&mut self, item: ItemId, agent: &str, now: Millis) {
        let mut ended: Vec<Reservation> = self.pool.expire_item(item, now).into_iter().collect();
        if ended.is_empty() {
            return;
        }
        for r in &ended {
            self.timers.remove(&(r.expires_at, Timer::Offer(r.item)));
            self.events.push(RouterEvent::OfferEnded {
                item: r.item,
                agent: r.agent.clone(),
                reason: OfferEnd::TimedOut,
            });
        }
        // The agent did not answer: Not Ready, and any other offer it holds is cancelled.
        if let Ok(more) = self.pool.not_ready(agent, now) {
            self.agent_changed(agent, now);
            self.offers_cancelled(more, now);
        }
        for r in ended.drain(..) {
            self.back_to_waiting(r.item);
            self.try_item(r.item, now);
        }
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
        for r in &cancelled {
            self.try_item(r.item, now);
        }
    }

    fn escalate(&mut self, id: ItemId, now: Millis) {
        let Some(mut it) = self.items.get(&id).cloned() else {
            return;
        };
        let pool = &self.pool;
        let next = it
            .escalation
            .advance(now, &|t, k| Self::stat(pool, now, t, k));
        let active = it.escalation.active();
        let key = self.key_for(&active);
        let text = self
            .keys
            .get(key as usize)
            .map(|k| k.text.clone())
            .unwrap_or_default();
        let waiting = it.phase == ItemPhase::Waiting;
        if waiting {
            self.unbucket(id, &it);
        }
        let changed = key != it.key;
        it.key = key;
        it.escalate_at = next;
        self.queue_keys.entry(it.queue).or_default().insert(key);
        if let Some(at) = next {
            self.timers.insert((at, Timer::Escalate(id)));
        }
        self.items.insert(id, it);
        if changed {
            self.events.push(RouterEvent::TargetsChanged {
                item: id,
                targets: text,
            });
        }
        if waiting {
            self.back_to_waiting(id);
            self.try_item(id, now);
        }
    }

    /// Re-reads one agent's availability and, if it can take work, gives it the best items.
    fn agent_changed(&mut self, agent: &str, now: Millis) {
        if let Some(a) = self.pool.agent(agent) {
            self.events.push(RouterEvent::AgentState {
                agent: agent.to_owned(),
                state: a.state(now),
            });
            let wrap_up = match a.state(now) {
                AgentState::AfterCallWork { until } => Some(until),
                _ => None,
            };
            let idx = self.agent_idx(agent);
            // Wrap-up ended early (Ready, Not Ready, logout) leaves no timer behind to report
            // a second state change at its old end.
            if let Some(old) = self.wrap_up.remove(&idx) {
                self.timers.remove(&(old, Timer::WrapUp(idx)));
            }
            if let Some(until) = wrap_up {
                self.wrap_up.insert(idx, until);
                self.timers.insert((until, Timer::WrapUp(idx)));
            }
        }
        self.refresh_available(agent, now);
        self.serve_agent(agent, now);
    }

    fn refresh_available(&mut self, agent: &str, now: Millis) {
        // Every media the agent has, and every media the router knows: a media dropped from
        // the agent's configuration must not leave it indexed as available there.
        let medias: Vec<String> = self
            .pool
            .agent(agent)
            .map(|a| a.config().capacity.keys().cloned().collect())
            .unwrap_or_default();
        for media in medias {
            self.media_id(&media);
        }
        for m in 0..self.medias.len() as u32 {
            let media = self.medias[m as usize].clone();
            let avail = self.pool.is_available(agent, &media, now);
            let set = self.available.entry(m).or_default();
            if avail {
                if !set.contains(agent) {
                    set.insert(agent.to_owned());
                }
            } else {
                set.remove(agent);
            }
        }
    }

    /// Gives an available agent the best eligible items it matches, one per free slot.
    fn serve_agent(&mut self, agent: &str, now: Millis) {
        let a = self.agent_idx(agent);
        loop {
            let mut best: Option<(Order, BucketId)> = None;
            let buckets: Vec<(BucketId, Order)> = self
                .buckets
                .iter()
                .filter_map(|(b, set)| set.first().map(|o| (*b, *o)))
                .collect();
            for (b, head) in buckets {
                if !self
                    .available
                    .get(&b.media)
                    .is_some_and(|s| s.contains(agent))
                {
                    continue;
                }
                if best.as_ref().is_some_and(|(o, _)| *o <= head) {
                    continue;
                }
                if self.agent_matches(a, b.key) {
                    best = Some((head, b));
                }
            }
            let Some(((_, _, item), b)) = best else {
                return;
            };
            let media = self
                .medias
                .get(b.media as usize)
                .cloned()
                .unwrap_or_default();
            let qname = self.queues.name(b.queue).unwrap_or_default().to_owned();
            let Some(it) = self.items.get(&item) else {
                return;
            };
            let timeout = it.reserve_timeout_ms;
            let targets: Vec<Target> = self
                .keys
                .get(b.key as usize)
                .map(|k| k.targets.clone())
                .unwrap_or_default();
            let refs: Vec<&Target> = targets.iter().collect();
            let Some(got) = self.pool.try_reserve_among(
                item,
                &qname,
                &refs,
                &media,
                now,
                timeout,
                std::iter::once(agent),
            ) else {
                return;
            };
            self.offered(item, &got, qname, media, now);
        }
    }
}
