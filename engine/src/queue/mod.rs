//! Virtual queues (URS-style): items served by priority then age, O(log n) position lookups,
//! the `lvq` statistics and per-queue EWT estimators. Time is always passed in.
//!
//! A [`VirtualQueue`] holds one queue; a [`QueueSet`] holds many by name and knows which queue
//! each item is in, so "position of item X" needs no queue name. Items are identified by
//! [`ItemId`], a number the actor layer assigns (interning its callback/session ids).
//!
//! Lifecycle of an item: `enqueue` → waiting → (`reserve_next`: an agent is being offered it;
//! `release` puts it back to waiting) → `distribute`/`pop_front` (served: recorded for EWT) or
//! `remove` (abandoned/cancelled: not recorded, as URS counts only calls *distributed*).
//! A reserved item keeps its place in line until it leaves.

mod ewt;
mod tree;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub use ewt::{Ewt, EwtConfig, EwtMethod, DEFAULT_ALPHA, WINDOW};

use crate::store::Millis;
use ewt::Learned;
use tree::{OrderKey, OrderTree};

/// An item's identity, unique within a [`QueueSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u64);

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The priority an item gets when the caller has none (and the one `stats` reports `pos` for).
pub const DEFAULT_PRIORITY: i32 = 0;

/// One queued item as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueItem {
    pub id: ItemId,
    /// Higher is served first.
    pub priority: i32,
    pub enqueued_at: Millis,
    /// Offered to an agent (`reserve_next`) and not yet distributed or released.
    pub reserved: bool,
}

/// Errors from queue operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueueError {
    #[error("item {0} is already queued")]
    DuplicateItem(ItemId),
    #[error("item {0} is not queued")]
    UnknownItem(ItemId),
    #[error("no virtual queue named '{0}'")]
    UnknownQueue(String),
    #[error("virtual queue '{0}' already exists")]
    DuplicateQueue(String),
    #[error("invalid EWT configuration: {0}")]
    InvalidConfig(String),
    #[error("the queue is full")]
    Full,
}

/// URS `lvq` statistics for one queue at `time` (see `reference/gms-api.md` and the urs-stat
/// sample `{ "wcalls": 20, "wpos": 21, "time": 1467922222, "calls": 20, "ewt": 300, "pos": 21,
/// "aqt": 300, ... }`). URS does not publish field definitions (its `help/call/lvq` page is not
/// in the corpus); these are the readings this implementation commits to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueStats {
    /// `calls`: items in the queue now, reserved or not.
    pub calls: usize,
    /// `wcalls`: items waiting now (not reserved for an agent).
    pub wcalls: usize,
    /// `pos`: the 1-based position a new item with [`DEFAULT_PRIORITY`] would take now.
    pub pos: usize,
    /// `wpos`: the same position counted among waiting items only.
    pub wpos: usize,
    /// `ewt`: the queue's estimator at `pos`.
    pub ewt: Ewt,
    /// `aqt`: average time-to-leave (enqueue → distribution) of the last [`WINDOW`] items
    /// distributed, in seconds; `None` before the first.
    pub aqt: Option<f64>,
    /// `time`: when these were computed, Unix seconds.
    pub time: i64,
    /// How long the next item to serve (the first waiting one) has waited, seconds; 0 when
    /// none wait.
    pub head_wait: f64,
    /// Items ever enqueued, distributed, and removed without being distributed.
    pub entered: u64,
    pub distributed: u64,
    pub abandoned: u64,
}

impl QueueStats {
    /// `hit`: of the items that left the queue, the percentage distributed to an agent rather
    /// than abandoned or removed; `None` before any left. URS publishes no definition of its
    /// `hit` field; this is the reading this implementation commits to.
    pub fn hit(&self) -> Option<f64> {
        let left = self.distributed + self.abandoned;
        (left > 0).then(|| self.distributed as f64 * 100.0 / left as f64)
    }
}

/// Index entry: where an item sits and what it entered at.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: OrderKey,
    reserved: bool,
    /// 1-based position at enqueue, for the seconds-per-place EWT samples.
    entry_pos: usize,
}

/// Ids are assigned by the actor layer (not chosen by callers), so a fast non-keyed mix is
/// enough; splitmix64's finalizer spreads sequential ids over the table.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type IdMap<V> = HashMap<ItemId, V, BuildHasherDefault<IdHasher>>;

fn secs_between(from: Millis, to: Millis) -> f64 {
    (to.saturating_sub(from)).max(0) as f64 / 1000.0
}

/// One virtual queue.
#[derive(Debug, Clone, Default)]
pub struct VirtualQueue {
    tree: OrderTree,
    index: IdMap<Entry>,
    next_seq: u64,
    config: EwtConfig,
    learned: Learned,
    entered: u64,
    distributed: u64,
    abandoned: u64,
}

impl VirtualQueue {
    /// An empty queue with the given estimator.
    pub fn new(config: EwtConfig) -> Result<Self, QueueError> {
        config.validate().map_err(QueueError::InvalidConfig)?;
        Ok(Self {
            config,
            ..Self::default()
        })
    }

    pub fn config(&self) -> &EwtConfig {
        &self.config
    }

    /// Switches estimator; what has been learned so far is kept.
    pub fn set_config(&mut self, config: EwtConfig) -> Result<(), QueueError> {
        config.validate().map_err(QueueError::InvalidConfig)?;
        self.config = config;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.len() == 0
    }

    /// Items not reserved for an agent.
    pub fn waiting_len(&self) -> usize {
        self.tree.waiting_len()
    }

    pub fn contains(&self, id: ItemId) -> bool {
        self.index.contains_key(&id)
    }

    /// Adds an item; returns its 1-based position.
    pub fn enqueue(
        &mut self,
        id: ItemId,
        priority: i32,
        enqueued_at: Millis,
    ) -> Result<usize, QueueError> {
        if self.index.contains_key(&id) {
            return Err(QueueError::DuplicateItem(id));
        }
        let key = OrderKey {
            priority,
            enqueued_at,
            seq: self.next_seq,
        };
        self.tree
            .insert(key, id, true)
            .map_err(|_| QueueError::Full)?;
        self.next_seq += 1;
        let pos = self.tree.rank(&key).before + 1;
        self.index.insert(
            id,
            Entry {
                key,
                reserved: false,
                entry_pos: pos,
            },
        );
        self.entered += 1;
        Ok(pos)
    }

    fn item(id: ItemId, e: &Entry) -> QueueItem {
        QueueItem {
            id,
            priority: e.key.priority,
            enqueued_at: e.key.enqueued_at,
            reserved: e.reserved,
        }
    }

    fn take(&mut self, id: ItemId) -> Result<(QueueItem, Entry), QueueError> {
        let e = self.index.remove(&id).ok_or(QueueError::UnknownItem(id))?;
        self.tree.remove(&e.key);
        Ok((Self::item(id, &e), e))
    }

    /// Removes an item that leaves without being served (abandoned, cancelled, moved).
    pub fn remove(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        let (item, _) = self.take(id)?;
        self.abandoned += 1;
        Ok(item)
    }

    /// Removes an item because it was served at `now` (not necessarily the head: skills can
    /// route a later item first). Its time-to-leave feeds the EWT estimators.
    pub fn distribute(&mut self, id: ItemId, now: Millis) -> Result<QueueItem, QueueError> {
        let (item, e) = self.take(id)?;
        self.distributed += 1;
        self.learned.record_distribution(
            secs_between(e.key.enqueued_at, now),
            e.entry_pos,
            self.config.alpha,
        );
        Ok(item)
    }

    /// Serves the first item in order (reserved or not) at `now`.
    pub fn pop_front(&mut self, now: Millis) -> Option<QueueItem> {
        let (_, id, _) = self.tree.first()?;
        self.distribute(id, now).ok()
    }

    /// The first item in order, reserved or not.
    pub fn head(&self) -> Option<QueueItem> {
        let (_, id, _) = self.tree.first()?;
        self.get(id)
    }

    /// The first item not reserved for an agent.
    pub fn next_waiting(&self) -> Option<QueueItem> {
        let (_, id, _) = self.tree.first_waiting()?;
        self.get(id)
    }

    /// Reserves the first waiting item for an agent and returns it.
    pub fn reserve_next(&mut self) -> Option<QueueItem> {
        let (_, id, _) = self.tree.first_waiting()?;
        self.reserve(id).ok()
    }

    /// Reserves a specific item (an agent was found for it).
    pub fn reserve(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        self.set_reserved(id, true)
    }

    /// Puts a reserved item back to waiting (reservation timed out or was rejected); it keeps
    /// its place.
    pub fn release(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        self.set_reserved(id, false)
    }

    fn set_reserved(&mut self, id: ItemId, reserved: bool) -> Result<QueueItem, QueueError> {
        let e = self.index.get_mut(&id).ok_or(QueueError::UnknownItem(id))?;
        if e.reserved != reserved {
            e.reserved = reserved;
            self.tree.set_waiting(&e.key, !reserved);
        }
        Ok(Self::item(id, e))
    }

    /// Moves an item to a new priority; its enqueue time (its age) is kept. Returns the new
    /// position.
    pub fn change_priority(&mut self, id: ItemId, priority: i32) -> Result<usize, QueueError> {
        let e = self.index.get_mut(&id).ok_or(QueueError::UnknownItem(id))?;
        if e.key.priority != priority {
            self.tree.remove(&e.key);
            e.key.priority = priority;
            self.tree
                .insert(e.key, id, !e.reserved)
                .map_err(|_| QueueError::Full)?;
        }
        let key = e.key;
        Ok(self.tree.rank(&key).before + 1)
    }

    pub fn get(&self, id: ItemId) -> Option<QueueItem> {
        self.index.get(&id).map(|e| Self::item(id, e))
    }

    /// 1-based position among all items, O(log n).
    pub fn position(&self, id: ItemId) -> Option<usize> {
        let e = self.index.get(&id)?;
        Some(self.tree.rank(&e.key).before + 1)
    }

    /// 1-based position among waiting items; `None` for a reserved or unknown item.
    pub fn waiting_position(&self, id: ItemId) -> Option<usize> {
        let e = self.index.get(&id)?;
        (!e.reserved).then(|| self.tree.rank(&e.key).waiting_before + 1)
    }

    /// Where a new item with this priority and enqueue time would go (1-based), counted among
    /// all items and among waiting items. Lets a caller quote an EWT before queueing.
    pub fn position_for(&self, priority: i32, enqueued_at: Millis) -> (usize, usize) {
        let r = self.tree.rank(&OrderKey {
            priority,
            enqueued_at,
            seq: self.next_seq,
        });
        (r.before + 1, r.waiting_before + 1)
    }

    /// The queue's estimator at a 1-based position.
    pub fn ewt(&self, position: usize, ready_agents: usize) -> Ewt {
        self.learned.estimate(&self.config, position, ready_agents)
    }

    /// The estimate for a queued item, at its position.
    pub fn item_ewt(&self, id: ItemId, ready_agents: usize) -> Option<Ewt> {
        self.position(id).map(|p| self.ewt(p, ready_agents))
    }

    /// Reports the handle time of an interaction this queue distributed (talk + after-call
    /// work), for [`EwtMethod::HandleTime`] when no fixed AHT is configured. Non-finite or
    /// negative values are ignored.
    pub fn record_handle_time(&mut self, secs: f64) {
        self.learned.record_handle_time(secs);
    }

    /// The AHT the handle-time estimator would use now.
    pub fn average_handle_time(&self) -> Option<f64> {
        self.config
            .handle_time_secs
            .or(self.learned.average_handle_time())
    }

    /// The `lvq` statistics at `now`.
    pub fn stats(&self, now: Millis, ready_agents: usize) -> QueueStats {
        let (pos, wpos) = self.position_for(DEFAULT_PRIORITY, now);
        let head_wait = self
            .tree
            .first_waiting()
            .map_or(0.0, |(k, _, _)| secs_between(k.enqueued_at, now));
        QueueStats {
            calls: self.len(),
            wcalls: self.waiting_len(),
            pos,
            wpos,
            ewt: self.ewt(pos, ready_agents),
            aqt: self.learned.average_time_to_leave(),
            time: now.div_euclid(1000),
            head_wait,
            entered: self.entered,
            distributed: self.distributed,
            abandoned: self.abandoned,
        }
    }

    /// Items in service order.
    pub fn iter(&self) -> impl Iterator<Item = QueueItem> + '_ {
        self.tree.iter().map(|(key, id, waiting)| QueueItem {
            id,
            priority: key.priority,
            enqueued_at: key.enqueued_at,
            reserved: !waiting,
        })
    }
}

/// Index of a queue inside a [`QueueSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueueId(pub u32);

/// Many named virtual queues and an item → queue index. An item is in at most one queue.
#[derive(Debug, Clone, Default)]
pub struct QueueSet {
    queues: Vec<VirtualQueue>,
    names: Vec<String>,
    by_name: HashMap<String, QueueId, foldhash::fast::RandomState>,
    owner: IdMap<QueueId>,
}

impl QueueSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a queue.
    pub fn add_queue(&mut self, name: &str, config: EwtConfig) -> Result<QueueId, QueueError> {
        if self.by_name.contains_key(name) {
            return Err(QueueError::DuplicateQueue(name.to_owned()));
        }
        let q = VirtualQueue::new(config)?;
        let id = QueueId(u32::try_from(self.queues.len()).map_err(|_| QueueError::Full)?);
        self.queues.push(q);
        self.names.push(name.to_owned());
        self.by_name.insert(name.to_owned(), id);
        Ok(id)
    }

    /// The queue's id, or the queue itself by name.
    pub fn queue_id(&self, name: &str) -> Result<QueueId, QueueError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| QueueError::UnknownQueue(name.to_owned()))
    }

    pub fn queue(&self, q: QueueId) -> Option<&VirtualQueue> {
        self.queues.get(q.0 as usize)
    }

    pub fn name(&self, q: QueueId) -> Option<&str> {
        self.names.get(q.0 as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.queues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Items queued across all queues.
    pub fn items(&self) -> usize {
        self.owner.len()
    }

    /// Queue names and ids.
    pub fn queues(&self) -> impl Iterator<Item = (QueueId, &str)> + '_ {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (QueueId(i as u32), n.as_str()))
    }

    fn q_mut(&mut self, q: QueueId) -> Result<&mut VirtualQueue, QueueError> {
        self.queues
            .get_mut(q.0 as usize)
            .ok_or_else(|| QueueError::UnknownQueue(format!("#{}", q.0)))
    }

    fn q(&self, q: QueueId) -> Result<&VirtualQueue, QueueError> {
        self.queues
            .get(q.0 as usize)
            .ok_or_else(|| QueueError::UnknownQueue(format!("#{}", q.0)))
    }

    /// Queues an item; an item already in any queue of the set is refused.
    pub fn enqueue(
        &mut self,
        q: QueueId,
        id: ItemId,
        priority: i32,
        enqueued_at: Millis,
    ) -> Result<usize, QueueError> {
        if self.owner.contains_key(&id) {
            return Err(QueueError::DuplicateItem(id));
        }
        let pos = self.q_mut(q)?.enqueue(id, priority, enqueued_at)?;
        self.owner.insert(id, q);
        Ok(pos)
    }

    /// Which queue an item is in.
    pub fn queue_of(&self, id: ItemId) -> Option<QueueId> {
        self.owner.get(&id).copied()
    }

    fn owner_of(&self, id: ItemId) -> Result<QueueId, QueueError> {
        self.queue_of(id).ok_or(QueueError::UnknownItem(id))
    }

    /// The item's queue and 1-based position there.
    pub fn position(&self, id: ItemId) -> Option<(QueueId, usize)> {
        let q = self.queue_of(id)?;
        Some((q, self.queue(q)?.position(id)?))
    }

    pub fn get(&self, id: ItemId) -> Option<(QueueId, QueueItem)> {
        let q = self.queue_of(id)?;
        Some((q, self.queue(q)?.get(id)?))
    }

    /// The item's EWT at its position in its queue.
    pub fn item_ewt(&self, id: ItemId, ready_agents: usize) -> Option<Ewt> {
        self.queue(self.queue_of(id)?)?.item_ewt(id, ready_agents)
    }

    /// Abandon / cancel.
    pub fn remove(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        let q = self.owner_of(id)?;
        let item = self.q_mut(q)?.remove(id)?;
        self.owner.remove(&id);
        Ok(item)
    }

    /// Served at `now`.
    pub fn distribute(&mut self, id: ItemId, now: Millis) -> Result<QueueItem, QueueError> {
        let q = self.owner_of(id)?;
        let item = self.q_mut(q)?.distribute(id, now)?;
        self.owner.remove(&id);
        Ok(item)
    }

    /// Serves the head of a queue at `now`.
    pub fn pop_front(&mut self, q: QueueId, now: Millis) -> Result<Option<QueueItem>, QueueError> {
        let item = self.q_mut(q)?.pop_front(now);
        if let Some(i) = item {
            self.owner.remove(&i.id);
        }
        Ok(item)
    }

    pub fn head(&self, q: QueueId) -> Result<Option<QueueItem>, QueueError> {
        Ok(self.q(q)?.head())
    }

    pub fn reserve_next(&mut self, q: QueueId) -> Result<Option<QueueItem>, QueueError> {
        Ok(self.q_mut(q)?.reserve_next())
    }

    pub fn reserve(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        let q = self.owner_of(id)?;
        self.q_mut(q)?.reserve(id)
    }

    pub fn release(&mut self, id: ItemId) -> Result<QueueItem, QueueError> {
        let q = self.owner_of(id)?;
        self.q_mut(q)?.release(id)
    }

    pub fn change_priority(&mut self, id: ItemId, priority: i32) -> Result<usize, QueueError> {
        let q = self.owner_of(id)?;
        self.q_mut(q)?.change_priority(id, priority)
    }

    pub fn record_handle_time(&mut self, q: QueueId, secs: f64) -> Result<(), QueueError> {
        self.q_mut(q)?.record_handle_time(secs);
        Ok(())
    }

    pub fn set_config(&mut self, q: QueueId, config: EwtConfig) -> Result<(), QueueError> {
        self.q_mut(q)?.set_config(config)
    }

    pub fn stats(
        &self,
        q: QueueId,
        now: Millis,
        ready_agents: usize,
    ) -> Result<QueueStats, QueueError> {
        Ok(self.q(q)?.stats(now, ready_agents))
    }
}
