//! Agents and agent reservation (URS-style), as pure logic with time passed in.
//!
//! An agent comes from an `[agent.<id>]` configuration section ([`AgentConfig`]); its live state
//! is an [`Agent`]; the set of agents and the reservations held on them is an [`AgentPool`].
//!
//! Reservation follows the Genesys model (`_agent_reserve_timeout`, default 30 s, used to
//! "prevent the reservation of the same agent for two distinct calls"): when a queue's head item
//! has a current target that a Ready agent satisfies, the item reserves that agent; the agent
//! then accepts (the reservation becomes an interaction), rejects, or lets the reservation time
//! out. Reject and timeout return the agent, and the item may try again under its own rules.
//!
//! Rules kept by [`AgentPool`]:
//! - per media, an agent never holds more reservations + interactions than its capacity for that
//!   media (voice capacity 1 ⇒ one reservation *or* one call); media are independent of each other;
//! - a reservation belongs to exactly one item, and an item holds at most one reservation;
//! - a reservation of an agent who logs out or goes Not Ready is cancelled and reported, so the
//!   item can retry.
//!
//! Choice among candidates ([`AgentPool::try_reserve`]): agents this item has not already been
//! offered to (rejected or timed out) first, then the least loaded on the media, then the longest
//! idle (earliest [`Agent::ready_since`]), then the lowest agent id. An agent that rejected or let
//! the item time out is only offered it again when no other agent fits.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use crate::queue::{IdHasher, ItemId};
use crate::routing::target::{Target, TargetKind};
use crate::store::Millis;

/// `_agent_reserve_timeout` default: 30 s.
pub const DEFAULT_RESERVE_TIMEOUT_MS: Millis = 30_000;

/// The media an agent has when the `media` option is absent.
pub const DEFAULT_MEDIA: &str = "voice";

/// Options an `[agent.<id>]` section may hold; any other option is an error.
pub const AGENT_OPTIONS: [&str; 5] = ["groups", "skills", "place", "media", "capacity"];

/// Agent configuration and state errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// A configuration option is malformed; `option` names it.
    #[error("agent '{agent}': option '{option}': {message}")]
    Option {
        agent: String,
        option: String,
        message: String,
    },
    #[error("agent id must not be empty")]
    EmptyId,
    #[error("agent '{0}' is already defined")]
    DuplicateAgent(String),
    #[error("no agent '{0}'")]
    UnknownAgent(String),
    #[error("agent '{0}' is logged out")]
    LoggedOut(String),
    #[error("agent '{agent}' does not handle media '{media}'")]
    UnknownMedia { agent: String, media: String },
    #[error("agent '{agent}' is at capacity for media '{media}'")]
    AtCapacity { agent: String, media: String },
    #[error("agent '{agent}' has no '{media}' interaction in progress")]
    NoInteraction { agent: String, media: String },
    #[error("item {0} holds no reservation")]
    NoReservation(ItemId),
    /// `accept` came at or after `expires_at`: the reservation has been dropped as timed out.
    #[error("reservation of agent '{agent}' for item {item} expired")]
    Expired { item: ItemId, agent: String },
}

fn opt_err(agent: &str, option: &str, message: impl Into<String>) -> AgentError {
    AgentError::Option {
        agent: agent.to_owned(),
        option: option.to_owned(),
        message: message.into(),
    }
}

/// One `[agent.<id>]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub id: String,
    /// Agent groups (`GA` targets); also the groups the agent's place belongs to (`GP`).
    pub groups: BTreeSet<String>,
    /// Skill name → level.
    pub skills: BTreeMap<String, u32>,
    pub place: Option<String>,
    /// Media name → capacity (≥ 1). Media names are lower-cased.
    pub capacity: BTreeMap<String, u32>,
}

/// Splits a list at `,` or `;`, trimming items and dropping empty ones.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses `name=value` pairs separated by `,` or `;` into a map (duplicates are errors).
fn pairs(
    agent: &str,
    option: &str,
    value: &str,
    lower_keys: bool,
) -> Result<BTreeMap<String, u32>, AgentError> {
    let mut out = BTreeMap::new();
    for item in list(value) {
        let Some((name, level)) = item.split_once('=') else {
            return Err(opt_err(
                agent,
                option,
                format!("'{item}' is not a name=value pair"),
            ));
        };
        let name = name.trim();
        let name = if lower_keys {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        if name.is_empty() {
            return Err(opt_err(agent, option, format!("'{item}' has no name")));
        }
        let level: u32 = level.trim().parse().map_err(|_| {
            opt_err(
                agent,
                option,
                format!("'{}' is not a non-negative integer", level.trim()),
            )
        })?;
        if out.insert(name.clone(), level).is_some() {
            return Err(opt_err(agent, option, format!("'{name}' is given twice")));
        }
    }
    Ok(out)
}

impl AgentConfig {
    /// Parses an `[agent.<id>]` section.
    ///
    /// - `groups`: `Billing,Sales` (`,` or `;`);
    /// - `skills`: `English=20,Loans=3` (`,` or `;` between pairs; levels are non-negative
    ///   integers; names are case-sensitive, as in skill expressions);
    /// - `place`: one place name;
    /// - `media`: `voice,chat` (lower-cased; default `voice`);
    /// - `capacity`: `voice=1,chat=3` (≥ 1; default 1 for each media; every media named must be
    ///   in `media`).
    ///
    /// Unknown options, repeated options and duplicate list entries are errors naming the option.
    pub fn from_options(id: &str, options: &[(String, String)]) -> Result<AgentConfig, AgentError> {
        if id.trim().is_empty() {
            return Err(AgentError::EmptyId);
        }
        let mut seen = BTreeSet::new();
        let mut groups = BTreeSet::new();
        let mut skills = BTreeMap::new();
        let mut place = None;
        let mut media: Option<Vec<String>> = None;
        let mut capacity = None;
        for (key, value) in options {
            let key = key.trim();
            if !AGENT_OPTIONS.contains(&key) {
                return Err(opt_err(
                    id,
                    key,
                    "unknown option (expected groups, skills, place, media or capacity)",
                ));
            }
            if !seen.insert(key) {
                return Err(opt_err(id, key, "given twice"));
            }
            match key {
                "groups" => {
                    for g in list(value) {
                        if !groups.insert(g.to_owned()) {
                            return Err(opt_err(id, key, format!("group '{g}' is given twice")));
                        }
                    }
                }
                "skills" => skills = pairs(id, key, value, false)?,
                "place" => {
                    let p = value.trim();
                    if p.is_empty() {
                        return Err(opt_err(id, key, "empty place name"));
                    }
                    place = Some(p.to_owned());
                }
                "media" => {
                    let mut m = Vec::new();
                    for name in list(value) {
                        let name = name.to_ascii_lowercase();
                        if m.contains(&name) {
                            return Err(opt_err(id, key, format!("media '{name}' is given twice")));
                        }
                        m.push(name);
                    }
                    if m.is_empty() {
                        return Err(opt_err(id, key, "no media given"));
                    }
                    media = Some(m);
                }
                _ => capacity = Some(pairs(id, key, value, true)?),
            }
        }
        let media = media.unwrap_or_else(|| vec![DEFAULT_MEDIA.to_owned()]);
        let mut caps: BTreeMap<String, u32> = media.iter().map(|m| (m.clone(), 1)).collect();
        for (m, n) in capacity.unwrap_or_default() {
            if n == 0 {
                return Err(opt_err(
                    id,
                    "capacity",
                    format!("capacity for '{m}' must be at least 1"),
                ));
            }
            match caps.get_mut(&m) {
                Some(slot) => *slot = n,
                None => {
                    return Err(opt_err(
                        id,
                        "capacity",
                        format!("media '{m}' is not in the agent's media"),
                    ))
                }
            }
        }
        Ok(AgentConfig {
            id: id.to_owned(),
            groups,
            skills,
            place,
            capacity: caps,
        })
    }

    /// A config with the given id, media `voice` (capacity 1) and nothing else.
    pub fn new(id: &str) -> AgentConfig {
        AgentConfig {
            id: id.to_owned(),
            groups: BTreeSet::new(),
            skills: BTreeMap::new(),
            place: None,
            capacity: BTreeMap::from([(DEFAULT_MEDIA.to_owned(), 1)]),
        }
    }

    /// Capacity for a media (0 when the agent does not handle it).
    pub fn capacity(&self, media: &str) -> u32 {
        self.capacity.get(media).copied().unwrap_or(0)
    }

    /// Whether this agent satisfies a routing target. The statistics server is not consulted.
    ///
    /// - `A`: the agent id equals the name;
    /// - `AP`: the agent's place equals the name;
    /// - `GA`: the agent is in the group; for a `?:` target, the skill expression holds over
    ///   the agent's skills (a missing skill is level 0);
    /// - `GP`: there is no place-group configuration, so a place group is taken to be the agent
    ///   group of the same name: an agent who has a place and is in group `X` matches `X@….GP`;
    /// - `GC` (campaign groups): not supported, never matches.
    pub fn matches(&self, target: &Target) -> bool {
        if let Some(expr) = &target.skill {
            return target.kind == TargetKind::AgentGroup
                && expr.eval(&|name| self.skills.get(name).copied());
        }
        match target.kind {
            TargetKind::Agent => self.id == target.name,
            TargetKind::AgentPlace => self.place.as_deref() == Some(target.name.as_str()),
            TargetKind::AgentGroup => self.groups.contains(&target.name),
            TargetKind::PlaceGroup => self.place.is_some() && self.groups.contains(&target.name),
            TargetKind::CampaignGroup => false,
        }
    }
}

/// An agent's state. Being busy is per media ([`Agent::load`]), not a state: a Ready agent with
/// spare capacity on a media can still be offered work on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    NotReady,
    Ready,
    /// Wrap-up after an interaction; blocks new work on every media until `until`.
    AfterCallWork {
        until: Millis,
    },
}

/// One agent's live state.
#[derive(Debug, Clone)]
pub struct Agent {
    config: AgentConfig,
    state: AgentState,
    /// When the agent last became free for work (Ready, end of an interaction without wrap-up,
    /// end of wrap-up). The longest-idle agent has the earliest value.
    ready_since: Millis,
    /// Interactions in progress per media.
    busy: BTreeMap<String, u32>,
}

impl Agent {
    /// A logged-out agent.
    pub fn new(config: AgentConfig) -> Agent {
        Agent {
            config,
            state: AgentState::LoggedOut,
            ready_since: 0,
            busy: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The state at `now`: wrap-up that has ended reads as Ready.
    pub fn state(&self, now: Millis) -> AgentState {
        match self.state {
            AgentState::AfterCallWork { until } if until <= now => AgentState::Ready,
            s => s,
        }
    }

    /// Applies the end of wrap-up, if due, to the stored state.
    fn settle(&mut self, now: Millis) {
        if let AgentState::AfterCallWork { until } = self.state {
            if until <= now {
                self.state = AgentState::Ready;
                self.ready_since = until;
            }
        }
    }

    pub fn is_logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    /// When the agent last became free for work (meaningful while Ready).
    pub fn ready_since(&self, now: Millis) -> Millis {
        match self.state {
            AgentState::AfterCallWork { until } if until <= now => until,
            _ => self.ready_since,
        }
    }

    /// Interactions in progress on a media.
    pub fn load(&self, media: &str) -> u32 {
        if self.busy.is_empty() {
            return 0;
        }
        self.busy.get(media).copied().unwrap_or(0)
    }

    /// Interactions in progress over all media.
    pub fn total_load(&self) -> u32 {
        self.busy.values().sum()
    }

    /// Ready at `now`, handles `media`, and has an interaction slot free on it (reservations are
    /// the pool's business: see [`AgentPool::is_available`]).
    pub fn is_available(&self, media: &str, now: Millis) -> bool {
        self.state(now) == AgentState::Ready && self.load(media) < self.config.capacity(media)
    }

    /// Logged out → Not Ready. Logging in again is a no-op.
    pub fn login(&mut self, now: Millis) {
        self.settle(now);
        if self.state == AgentState::LoggedOut {
            self.state = AgentState::NotReady;
        }
    }

    /// → Ready (ends wrap-up early). Already Ready: no change, `ready_since` kept.
    pub fn ready(&mut self, now: Millis) -> Result<(), AgentError> {
        self.settle(now);
        match self.state {
            AgentState::LoggedOut => Err(AgentError::LoggedOut(self.config.id.clone())),
            AgentState::Ready => Ok(()),
            AgentState::NotReady | AgentState::AfterCallWork { .. } => {
                self.state = AgentState::Ready;
                self.ready_since = now;
                Ok(())
            }
        }
    }

    /// → Not Ready (ends wrap-up). Interactions in progress continue.
    pub fn not_ready(&mut self, now: Millis) -> Result<(), AgentError> {
        self.settle(now);
        if self.state == AgentState::LoggedOut {
            return Err(AgentError::LoggedOut(self.config.id.clone()));
        }
        self.state = AgentState::NotReady;
        Ok(())
    }

    /// → Logged out. Always succeeds; interactions still counted are dropped (the interaction
    /// layer owns the calls themselves).
    pub fn logout(&mut self, _now: Millis) {
        self.state = AgentState::LoggedOut;
        self.busy.clear();
    }

    /// Starts an interaction on a media. Needs a logged-in agent who handles the media and has a
    /// free slot on it; it need not be Ready (e.g. an agent-initiated call while Not Ready).
    pub fn start_interaction(&mut self, media: &str, now: Millis) -> Result<(), AgentError> {
        self.settle(now);
        self.check_slot(media, 0)?;
        bump(&mut self.busy, media);
        Ok(())
    }

    /// Ok when one more interaction fits on `media` beside `reserved` reservations.
    fn check_slot(&self, media: &str, reserved: u32) -> Result<(), AgentError> {
        if self.state == AgentState::LoggedOut {
            return Err(AgentError::LoggedOut(self.config.id.clone()));
        }
        let cap = self.config.capacity(media);
        if cap == 0 {
            return Err(AgentError::UnknownMedia {
                agent: self.config.id.clone(),
                media: media.to_owned(),
            });
        }
        if self.load(media) + reserved >= cap {
            return Err(AgentError::AtCapacity {
                agent: self.config.id.clone(),
                media: media.to_owned(),
            });
        }
        Ok(())
    }

    /// Ends an interaction. With `acw_ms > 0` a Ready agent enters wrap-up until `now + acw_ms`
    /// (an existing wrap-up is extended, never shortened); a Not Ready agent stays Not Ready.
    /// Without wrap-up a Ready agent counts as free again from `now`.
    pub fn end_interaction(
        &mut self,
        media: &str,
        acw_ms: Millis,
        now: Millis,
    ) -> Result<(), AgentError> {
        self.settle(now);
        match self.busy.get_mut(media) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                return Err(AgentError::NoInteraction {
                    agent: self.config.id.clone(),
                    media: media.to_owned(),
                })
            }
        }
        match self.state {
            AgentState::Ready | AgentState::AfterCallWork { .. } if acw_ms > 0 => {
                let end = now.saturating_add(acw_ms);
                let until = match self.state {
                    AgentState::AfterCallWork { until } => until.max(end),
                    _ => end,
                };
                self.state = AgentState::AfterCallWork { until };
            }
            AgentState::Ready => self.ready_since = now,
            _ => {}
        }
        Ok(())
    }
}

/// One agent held for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub agent: String,
    pub item: ItemId,
    /// The virtual queue the item was reserved from.
    pub queue: String,
    pub media: String,
    pub reserved_at: Millis,
    /// The reservation times out at this instant (inclusive: `expire(expires_at)` ends it).
    pub expires_at: Millis,
}

/// Adds one to a per-media count (allocating the key only the first time).
fn bump(counts: &mut BTreeMap<String, u32>, media: &str) {
    match counts.get_mut(media) {
        Some(n) => *n += 1,
        None => {
            counts.insert(media.to_owned(), 1);
        }
    }
}

/// An agent in the pool with the reservations it holds.
#[derive(Debug, Clone)]
struct Slot {
    agent: Agent,
    /// Reservations held per media (kept with the pool's `reservations`, so availability
    /// checks do not scan every reservation).
    held: BTreeMap<String, u32>,
    /// The items reserved on this agent.
    items: Vec<ItemId>,
}

/// How a candidate ranks for a reservation, lowest first: not already tried by the item, least
/// loaded on the media, longest idle, lowest id.
type Preference<'a> = (bool, u32, Millis, &'a str);

/// A reservation with the slot of its agent.
#[derive(Debug, Clone)]
struct Held {
    r: Reservation,
    slot: u32,
}

/// Agents plus the reservations held on them.
///
/// Each agent id keeps one slot number for the pool's lifetime, even across removal and
/// re-adding, so the router can index its own per-agent state by it.
#[derive(Debug, Clone, Default)]
pub struct AgentPool {
    slots: Vec<Option<Slot>>,
    /// The slot of every id ever added.
    slot_of: HashMap<String, u32, foldhash::fast::RandomState>,
    /// Agents present, by id (the order [`agents`](Self::agents) lists them in).
    present: BTreeMap<String, u32>,
    reservations: BTreeMap<ItemId, Held>,
    /// Agents (slots) each item was offered to and that rejected it or let it time out.
    tried: HashMap<ItemId, Vec<u32>, BuildHasherDefault<IdHasher>>,
}

impl AgentPool {
    pub fn new() -> AgentPool {
        AgentPool::default()
    }

    /// Adds a (logged-out) agent.
    pub fn add(&mut self, config: AgentConfig) -> Result<(), AgentError> {
        if self.present.contains_key(&config.id) {
            return Err(AgentError::DuplicateAgent(config.id));
        }
        let slot = match self.slot_of.get(&config.id) {
            Some(&s) => s,
            None => {
                let s = u32::try_from(self.slots.len())
                    .map_err(|_| opt_err(&config.id, "id", "too many agents"))?;
                self.slots.push(None);
                self.slot_of.insert(config.id.clone(), s);
                s
            }
        };
        self.present.insert(config.id.clone(), slot);
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            *entry = Some(Slot {
                agent: Agent::new(config),
                held: BTreeMap::new(),
                items: Vec::new(),
            });
        }
        Ok(())
    }

    /// Replaces an agent's configuration, keeping its state and interactions. Reservations that
    /// no longer fit — on media the agent no longer handles, or beyond its new capacity on a
    /// media (the most recent first) — are cancelled and returned.
    pub fn set_config(&mut self, config: AgentConfig) -> Result<Vec<Reservation>, AgentError> {
        let id = config.id.clone();
        let agent = self
            .agent(&id)
            .ok_or_else(|| AgentError::UnknownAgent(id.clone()))?;
        let mut by_media: BTreeMap<&str, Vec<&Reservation>> = BTreeMap::new();
        for r in self.reservations_of(&id) {
            by_media.entry(r.media.as_str()).or_default().push(r);
        }
        let mut gone: Vec<ItemId> = Vec::new();
        for (media, mut held) in by_media {
            let room = config.capacity(media).saturating_sub(agent.load(media)) as usize;
            if held.len() > room {
                held.sort_by_key(|r| (r.reserved_at, r.item));
                gone.extend(held[room..].iter().map(|r| r.item));
            }
        }
        gone.sort_unstable();
        self.agent_mut(&id)?.config = config;
        Ok(gone.into_iter().filter_map(|i| self.unhold(i)).collect())
    }

    /// Removes an agent; its reservations are cancelled and returned.
    pub fn remove(&mut self, id: &str) -> Result<Vec<Reservation>, AgentError> {
        let Some(slot) = self.present.get(id).copied() else {
            return Err(AgentError::UnknownAgent(id.to_owned()));
        };
        let cancelled = self.cancel_slot(slot);
        self.present.remove(id);
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            *entry = None;
        }
        for tried in self.tried.values_mut() {
            tried.retain(|&s| s != slot);
        }
        Ok(cancelled)
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.by_slot(self.slot(id)?)
    }

    /// Agents, by id.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> + '_ {
        self.present.values().filter_map(|&s| self.by_slot(s))
    }

    /// The slot of a present agent.
    pub(crate) fn slot(&self, id: &str) -> Option<u32> {
        let s = *self.slot_of.get(id)?;
        self.by_slot(s).map(|_| s)
    }

    pub(crate) fn by_slot(&self, slot: u32) -> Option<&Agent> {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(|s| &s.agent)
    }

    /// Present agents with their slots, by id.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (u32, &Agent)> + '_ {
        self.present
            .values()
            .filter_map(|&s| self.by_slot(s).map(|a| (s, a)))
    }

    fn slot_mut(&mut self, id: &str) -> Result<&mut Slot, AgentError> {
        let s = self.slot(id);
        s.and_then(|s| self.slots.get_mut(s as usize))
            .and_then(Option::as_mut)
            .ok_or_else(|| AgentError::UnknownAgent(id.to_owned()))
    }

    fn agent_mut(&mut self, id: &str) -> Result<&mut Agent, AgentError> {
        self.slot_mut(id).map(|s| &mut s.agent)
    }

    /// The reservation an item holds.
    pub fn reservation(&self, item: ItemId) -> Option<&Reservation> {
        self.reservations.get(&item).map(|h| &h.r)
    }

    /// All reservations, by item.
    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> + '_ {
        self.reservations.values().map(|h| &h.r)
    }

    /// The reservations an agent holds, by item.
    pub fn reservations_of(&self, agent: &str) -> Vec<&Reservation> {
        let mut out: Vec<&Reservation> = self
            .slot(agent)
            .and_then(|s| self.slots.get(s as usize))
            .and_then(Option::as_ref)
            .map(|s| {
                s.items
                    .iter()
                    .filter_map(|i| self.reservation(*i))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|r| r.item);
        out
    }

    /// Reservations an agent holds on a media.
    pub fn reserved_count(&self, agent: &str, media: &str) -> u32 {
        self.slot(agent).map_or(0, |s| self.held_at(s, media))
    }

    fn held_at(&self, slot: u32, media: &str) -> u32 {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .and_then(|s| s.held.get(media))
            .copied()
            .unwrap_or(0)
    }

    /// Records a reservation (the one place one is added).
    fn hold(&mut self, slot: u32, r: Reservation) {
        if let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
            bump(&mut s.held, &r.media);
            s.items.push(r.item);
        }
        self.reservations.insert(r.item, Held { r, slot });
    }

    /// Drops an item's reservation (the one place one is removed).
    fn unhold(&mut self, item: ItemId) -> Option<Reservation> {
        let Held { r, slot } = self.reservations.remove(&item)?;
        if let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
            if let Some(n) = s.held.get_mut(&r.media) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    s.held.remove(&r.media);
                }
            }
            if let Some(i) = s.items.iter().position(|&i| i == item) {
                s.items.swap_remove(i);
            }
        }
        Some(r)
    }

    /// Like [`unhold`](Self::unhold), also giving the agent's slot.
    fn unhold_with_slot(&mut self, item: ItemId) -> Option<(Reservation, u32)> {
        let slot = self.reservations.get(&item)?.slot;
        self.unhold(item).map(|r| (r, slot))
    }

    /// Agents the item was offered to that rejected it or let it time out.
    pub fn tried_agents(&self, item: ItemId) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .tried
            .get(&item)
            .map(|t| {
                t.iter()
                    .filter_map(|&s| self.by_slot(s))
                    .map(Agent::id)
                    .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Whether the agent could be reserved for `media` at `now`: Ready, handles the media, and
    /// interactions + reservations on it are below capacity.
    pub fn is_available(&self, agent: &str, media: &str, now: Millis) -> bool {
        self.slot(agent)
            .is_some_and(|s| self.is_available_at(s, media, now))
    }

    /// [`is_available`](Self::is_available) by slot.
    pub(crate) fn is_available_at(&self, slot: u32, media: &str, now: Millis) -> bool {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .is_some_and(|s| {
                let a = &s.agent;
                a.state(now) == AgentState::Ready
                    && a.load(media) + s.held.get(media).copied().unwrap_or(0)
                        < a.config.capacity(media)
            })
    }

    /// Logs an agent in (Not Ready).
    pub fn login(&mut self, agent: &str, now: Millis) -> Result<(), AgentError> {
        self.agent_mut(agent)?.login(now);
        Ok(())
    }

    pub fn ready(&mut self, agent: &str, now: Millis) -> Result<(), AgentError> {
        self.agent_mut(agent)?.ready(now)
    }

    /// → Not Ready; the agent's reservations are cancelled and returned so their items retry.
    pub fn not_ready(&mut self, agent: &str, now: Millis) -> Result<Vec<Reservation>, AgentError> {
        self.agent_mut(agent)?.not_ready(now)?;
        Ok(self.cancel_agent(agent))
    }

    /// → Logged out; the agent's reservations are cancelled and returned so their items retry.
    pub fn logout(&mut self, agent: &str, now: Millis) -> Result<Vec<Reservation>, AgentError> {
        self.agent_mut(agent)?.logout(now);
        Ok(self.cancel_agent(agent))
    }

    fn cancel_agent(&mut self, agent: &str) -> Vec<Reservation> {
        self.slot(agent)
            .map(|s| self.cancel_slot(s))
            .unwrap_or_default()
    }

    /// Cancels an agent's reservations, in item order.
    fn cancel_slot(&mut self, slot: u32) -> Vec<Reservation> {
        let mut items = self
            .slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(|s| s.items.clone())
            .unwrap_or_default();
        items.sort_unstable();
        items.into_iter().filter_map(|i| self.unhold(i)).collect()
    }

    /// Starts an interaction that did not come through a reservation (e.g. a direct call);
    /// refused when interactions + reservations on the media are at capacity.
    pub fn start_interaction(
        &mut self,
        agent: &str,
        media: &str,
        now: Millis,
    ) -> Result<(), AgentError> {
        let reserved = self.reserved_count(agent, media);
        let a = self.agent_mut(agent)?;
        a.settle(now);
        a.check_slot(media, reserved)?;
        a.start_interaction(media, now)
    }

    /// Ends an interaction; see [`Agent::end_interaction`] for wrap-up.
    pub fn end_interaction(
        &mut self,
        agent: &str,
        media: &str,
        acw_ms: Millis,
        now: Millis,
    ) -> Result<(), AgentError> {
        self.agent_mut(agent)?.end_interaction(media, acw_ms, now)
    }

    /// Reserves an agent for `item` (the head of `queue`) if one is available for `media` and
    /// satisfies any of `targets`; returns the agent id. `None` when no agent fits or when the
    /// item already holds a reservation. The reservation expires at `now + timeout_ms` (see
    /// [`DEFAULT_RESERVE_TIMEOUT_MS`]). The order of preference is in the module docs.
    pub fn try_reserve(
        &mut self,
        item: ItemId,
        queue: &str,
        targets: &[&Target],
        media: &str,
        now: Millis,
        timeout_ms: Millis,
    ) -> Option<String> {
        let all: Vec<String> = self.present.keys().cloned().collect();
        self.try_reserve_among(
            item,
            queue,
            targets,
            media,
            now,
            timeout_ms,
            all.iter().map(String::as_str),
        )
    }

    /// [`try_reserve`](Self::try_reserve) choosing only among `candidates` (a caller that keeps
    /// an index of available agents passes it, instead of scanning every agent). Unknown ids
    /// are ignored; the order of preference is the same.
    #[allow(clippy::too_many_arguments)] // the reservation's whole description, as in try_reserve
    pub fn try_reserve_among<'c>(
        &mut self,
        item: ItemId,
        queue: &str,
        targets: &[&Target],
        media: &str,
        now: Millis,
        timeout_ms: Millis,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<String> {
        let matching: Vec<u32> = candidates
            .into_iter()
            .filter_map(|id| self.slot(id))
            .filter(|&s| {
                self.by_slot(s)
                    .is_some_and(|a| targets.iter().any(|t| a.config.matches(t)))
            })
            .collect();
        let slot = self.reserve_best(item, queue, media, now, timeout_ms, matching)?;
        self.by_slot(slot).map(|a| a.id().to_owned())
    }

    /// Reserves the preferred available agent among `candidates` (slots of agents already known
    /// to match the item's targets) and returns its slot. The order of preference is in the
    /// module docs.
    pub(crate) fn reserve_best(
        &mut self,
        item: ItemId,
        queue: &str,
        media: &str,
        now: Millis,
        timeout_ms: Millis,
        candidates: impl IntoIterator<Item = u32>,
    ) -> Option<u32> {
        let (id, slot) = self.best(item, media, now, candidates)?;
        let r = Reservation {
            agent: id.to_owned(),
            item,
            queue: queue.to_owned(),
            media: media.to_owned(),
            reserved_at: now,
            expires_at: now.saturating_add(timeout_ms),
        };
        self.hold(slot, r);
        Some(slot)
    }

    /// The agent (id and slot) [`reserve_best`](Self::reserve_best) would reserve, if any.
    pub(crate) fn best(
        &self,
        item: ItemId,
        media: &str,
        now: Millis,
        candidates: impl IntoIterator<Item = u32>,
    ) -> Option<(&str, u32)> {
        if self.reservations.contains_key(&item) {
            return None;
        }
        let tried = self.tried.get(&item);
        let mut best: Option<(Preference<'_>, u32)> = None;
        for slot in candidates {
            let Some(s) = self.slots.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            let a = &s.agent;
            if a.state(now) != AgentState::Ready {
                continue;
            }
            // Most candidates hold nothing: skip the lookups by media name then.
            let held = if s.held.is_empty() {
                0
            } else {
                s.held.get(media).copied().unwrap_or(0)
            };
            let load = a.load(media) + held;
            let rank = (
                tried.is_some_and(|t| t.contains(&slot)),
                load,
                a.ready_since(now),
                a.id(),
            );
            // Only a candidate that would be the new best is checked for a free slot (a
            // lookup by media name): most are not.
            if best.as_ref().is_none_or(|(b, _)| rank < *b) && load < a.config.capacity(media) {
                best = Some((rank, slot));
            }
        }
        best.map(|((_, _, _, id), slot)| (id, slot))
    }

    /// The slots an item was offered to and that rejected it or let it time out.
    pub(crate) fn tried(&self, item: ItemId) -> &[u32] {
        self.tried.get(&item).map_or(&[], Vec::as_slice)
    }

    /// An agent's standing on a media, the leading part of the order
    /// [`reserve_best`](Self::reserve_best) ranks candidates in: interactions and reservations
    /// held on the media, when it last became free, and its id.
    pub(crate) fn standing(
        &self,
        slot: u32,
        media: &str,
        now: Millis,
    ) -> Option<(u32, Millis, &str)> {
        let s = self.slots.get(slot as usize)?.as_ref()?;
        let held = s.held.get(media).copied().unwrap_or(0);
        Some((
            s.agent.load(media) + held,
            s.agent.ready_since(now),
            s.agent.id(),
        ))
    }

    /// The agent accepts: the reservation becomes an interaction on its media. At or after
    /// `expires_at` the reservation is dropped as timed out and [`AgentError::Expired`] returned.
    pub fn accept(&mut self, item: ItemId, now: Millis) -> Result<Reservation, AgentError> {
        let (r, slot) = self
            .unhold_with_slot(item)
            .ok_or(AgentError::NoReservation(item))?;
        if now >= r.expires_at {
            self.note_tried(item, slot);
            return Err(AgentError::Expired {
                item,
                agent: r.agent,
            });
        }
        // The slot was held by the reservation, so it fits; logout/not-ready would have
        // cancelled the reservation.
        let agent = self
            .slots
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .map(|s| &mut s.agent)
            .ok_or_else(|| AgentError::UnknownAgent(r.agent.clone()))?;
        agent.start_interaction(&r.media, now)?;
        self.tried.remove(&item);
        Ok(r)
    }

    /// The agent rejects: the agent is free again (still Ready) and the item may retry; its
    /// next [`try_reserve`](Self::try_reserve) prefers any other agent that fits.
    pub fn reject(&mut self, item: ItemId, _now: Millis) -> Result<Reservation, AgentError> {
        let (r, slot) = self
            .unhold_with_slot(item)
            .ok_or(AgentError::NoReservation(item))?;
        self.note_tried(item, slot);
        Ok(r)
    }

    fn note_tried(&mut self, item: ItemId, slot: u32) {
        let tried = self.tried.entry(item).or_default();
        if !tried.contains(&slot) {
            tried.push(slot);
        }
    }

    /// Ends every reservation with `expires_at <= now`, returning them (ordered by expiry, then
    /// item). Their agents are free again; each item prefers another agent on its next try.
    pub fn expire(&mut self, now: Millis) -> Vec<Reservation> {
        let due: Vec<ItemId> = self
            .reservations()
            .filter(|r| r.expires_at <= now)
            .map(|r| r.item)
            .collect();
        let mut out: Vec<Reservation> = Vec::with_capacity(due.len());
        for item in due {
            if let Some((r, slot)) = self.unhold_with_slot(item) {
                self.note_tried(item, slot);
                out.push(r);
            }
        }
        out.sort_by_key(|r| (r.expires_at, r.item));
        out
    }

    /// Ends one item's reservation if it is due at `now` (a caller with its own timers uses this
    /// instead of [`expire`](Self::expire)). The agent is free again; the item prefers another
    /// agent on its next try.
    pub fn expire_item(&mut self, item: ItemId, now: Millis) -> Option<Reservation> {
        if self.reservation(item)?.expires_at > now {
            return None;
        }
        let (r, slot) = self.unhold_with_slot(item)?;
        self.note_tried(item, slot);
        Some(r)
    }

    /// The earliest reservation expiry, for the caller's timer.
    pub fn next_expiry(&self) -> Option<Millis> {
        self.reservations().map(|r| r.expires_at).min()
    }

    /// The item left (distributed, abandoned, cancelled): drops its reservation, if any, and
    /// what the pool remembers about it.
    pub fn forget(&mut self, item: ItemId) -> Option<Reservation> {
        self.tried.remove(&item);
        self.unhold(item)
    }

    /// Agents matching `target` that are Ready at `now` (`RStatAgentsReady`); with a media,
    /// only those that could be reserved for it now, i.e. with a free slot counting
    /// reservations (`RStatAgentsReadyvoice`). Scans every agent: the router keeps its own
    /// counts instead.
    pub fn ready_count(&self, target: &Target, media: Option<&str>, now: Millis) -> usize {
        self.slots()
            .filter(|(_, a)| a.config.matches(target))
            .filter(|(s, a)| match media {
                Some(m) => self.is_available_at(*s, m, now),
                None => a.state(now) == AgentState::Ready,
            })
            .count()
    }

    /// Logged-in agents matching `target` (`RStatAgentsTotal`).
    pub fn logged_in_count(&self, target: &Target) -> usize {
        self.agents()
            .filter(|a| a.is_logged_in() && a.config.matches(target))
            .count()
    }
}
