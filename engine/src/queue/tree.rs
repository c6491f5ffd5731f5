//! The order-statistic tree behind a virtual queue: a treap in an arena, each node carrying the
//! size of its subtree and how many of those items are waiting (not reserved).
//!
//! Why a treap and not per-priority FIFO buckets: an item's enqueue time is an input, not the
//! arrival order (a waiting call turned into a callback keeps its original queue-entry time, the
//! Twilio pain point in `routing-and-ewt.md` §6), so within one priority the order is not
//! append-only. A treap keyed by `(priority desc, enqueued_at asc, seq asc)` handles any key, and
//! the subtree counts make rank ("position") O(log n) expected: one root-to-node descent summing
//! left-subtree sizes. Nodes live in one `Vec` addressed by `u32` (half the size of pointers, no
//! allocation per item once the arena has grown, freed slots reused).

use std::cmp::Ordering;

use super::ItemId;
use crate::store::Millis;

/// "No node": the arena index used for empty subtrees.
const NIL: u32 = u32::MAX;

/// Where an item sits in service order: higher priority first, then earlier enqueue time, then
/// the queue's own sequence number (so equal priority and time stay first-in, first-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrderKey {
    pub(crate) priority: i32,
    pub(crate) enqueued_at: Millis,
    pub(crate) seq: u64,
}

impl Ord for OrderKey {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then(self.enqueued_at.cmp(&other.enqueued_at))
            .then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for OrderKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone)]
struct Node {
    key: OrderKey,
    item: ItemId,
    /// Treap heap priority (random): a parent's is never below its children's.
    heap: u32,
    left: u32,
    right: u32,
    /// Items in this subtree.
    size: u32,
    /// Waiting (unreserved) items in this subtree.
    waiting: u32,
    /// The left child's `size` and `waiting`, kept here so a rank descent reads only the nodes
    /// on its path (one cache line per level instead of two).
    lsize: u32,
    lwaiting: u32,
    is_waiting: bool,
}

/// Counts of items strictly before a key in service order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rank {
    pub(crate) before: usize,
    pub(crate) waiting_before: usize,
}

/// The tree was asked to hold more items than `u32` indices can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

#[derive(Debug, Clone)]
pub(crate) struct OrderTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// xorshift state for heap priorities: deterministic, so runs (and tests) are repeatable.
    rng: u32,
}

impl Default for OrderTree {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            rng: 0x9E37_79B9,
        }
    }
}

impl OrderTree {
    pub(crate) fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    pub(crate) fn waiting_len(&self) -> usize {
        self.waiting(self.root) as usize
    }

    fn size(&self, t: u32) -> u32 {
        self.nodes.get(t as usize).map_or(0, |n| n.size)
    }

    fn waiting(&self, t: u32) -> u32 {
        self.nodes.get(t as usize).map_or(0, |n| n.waiting)
    }

    fn next_heap(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// Recomputes a node's counts from its children.
    fn pull(&mut self, t: u32) {
        let (l, r) = match self.nodes.get(t as usize) {
            Some(n) => (n.left, n.right),
            None => return,
        };
        let (ls, lw) = (self.size(l), self.waiting(l));
        let size = 1 + ls + self.size(r);
        let waiting = lw + self.waiting(r);
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.size = size;
            n.waiting = waiting + u32::from(n.is_waiting);
            n.lsize = ls;
            n.lwaiting = lw;
        }
    }

    fn key(&self, t: u32) -> Option<OrderKey> {
        self.nodes.get(t as usize).map(|n| n.key)
    }

    fn left(&self, t: u32) -> u32 {
        self.nodes.get(t as usize).map_or(NIL, |n| n.left)
    }

    fn right(&self, t: u32) -> u32 {
        self.nodes.get(t as usize).map_or(NIL, |n| n.right)
    }

    fn set_left(&mut self, t: u32, v: u32) {
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.left = v;
        }
    }

    fn set_right(&mut self, t: u32, v: u32) {
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.right = v;
        }
    }

    fn heap(&self, t: u32) -> u32 {
        self.nodes.get(t as usize).map_or(0, |n| n.heap)
    }

    /// Splits `t` into (keys < `key`, keys >= `key`).
    fn split(&mut self, t: u32, key: &OrderKey) -> (u32, u32) {
        let Some(k) = self.key(t) else {
            return (NIL, NIL);
        };
        if k < *key {
            let (l, r) = self.split(self.right(t), key);
            self.set_right(t, l);
            self.pull(t);
            (t, r)
        } else {
            let (l, r) = self.split(self.left(t), key);
            self.set_left(t, r);
            self.pull(t);
            (l, t)
        }
    }

    /// Joins two trees where every key of `a` is below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.heap(a) > self.heap(b) {
            let m = self.merge(self.right(a), b);
            self.set_right(a, m);
            self.pull(a);
            a
        } else {
            let m = self.merge(a, self.left(b));
            self.set_left(b, m);
            self.pull(b);
            b
        }
    }

    fn insert_at(&mut self, t: u32, n: u32, key: &OrderKey) -> u32 {
        if t == NIL {
            return n;
        }
        if self.heap(n) > self.heap(t) {
            let (l, r) = self.split(t, key);
            self.set_left(n, l);
            self.set_right(n, r);
            self.pull(n);
            return n;
        }
        if self.key(t).is_some_and(|k| *key < k) {
            let c = self.insert_at(self.left(t), n, key);
            self.set_left(t, c);
        } else {
            let c = self.insert_at(self.right(t), n, key);
            self.set_right(t, c);
        }
        self.pull(t);
        t
    }

    /// Inserts an item; the caller guarantees `key` is not already present (it carries a
    /// sequence number unique within the queue).
    pub(crate) fn insert(
        &mut self,
        key: OrderKey,
        item: ItemId,
        waiting: bool,
    ) -> Result<(), Full> {
        let node = Node {
            key,
            item,
            heap: self.next_heap(),
            left: NIL,
            right: NIL,
            size: 1,
            waiting: u32::from(waiting),
            lsize: 0,
            lwaiting: 0,
            is_waiting: waiting,
        };
        let n = match self.free.pop() {
            Some(slot) => {
                if let Some(s) = self.nodes.get_mut(slot as usize) {
                    *s = node;
                }
                slot
            }
            None => {
                let slot = u32::try_from(self.nodes.len()).map_err(|_| Full)?;
                if slot == NIL {
                    return Err(Full);
                }
                self.nodes.push(node);
                slot
            }
        };
        self.root = self.insert_at(self.root, n, &key);
        Ok(())
    }

    fn erase_at(&mut self, t: u32, key: &OrderKey) -> (u32, Option<u32>) {
        let Some(k) = self.key(t) else {
            return (NIL, None);
        };
        match key.cmp(&k) {
            Ordering::Equal => {
                let m = self.merge(self.left(t), self.right(t));
                (m, Some(t))
            }
            Ordering::Less => {
                let (c, removed) = self.erase_at(self.left(t), key);
                self.set_left(t, c);
                self.pull(t);
                (t, removed)
            }
            Ordering::Greater => {
                let (c, removed) = self.erase_at(self.right(t), key);
                self.set_right(t, c);
                self.pull(t);
                (t, removed)
            }
        }
    }

    /// Removes the item with `key`; returns whether it was there.
    pub(crate) fn remove(&mut self, key: &OrderKey) -> bool {
        let (root, removed) = self.erase_at(self.root, key);
        self.root = root;
        match removed {
            Some(slot) => {
                self.free.push(slot);
                true
            }
            None => false,
        }
    }

    /// How many items (and waiting items) come strictly before `key`, present or not.
    pub(crate) fn rank(&self, key: &OrderKey) -> Rank {
        let mut rank = Rank::default();
        let mut t = self.root;
        while let Some(n) = self.nodes.get(t as usize) {
            match key.cmp(&n.key) {
                Ordering::Less => t = n.left,
                Ordering::Equal => {
                    rank.before += n.lsize as usize;
                    rank.waiting_before += n.lwaiting as usize;
                    break;
                }
                Ordering::Greater => {
                    rank.before += n.lsize as usize + 1;
                    rank.waiting_before += n.lwaiting as usize + usize::from(n.is_waiting);
                    t = n.right;
                }
            }
        }
        rank
    }

    /// Marks the item with `key` waiting or reserved, fixing the counts on its path.
    pub(crate) fn set_waiting(&mut self, key: &OrderKey, waiting: bool) -> bool {
        // First find it, so the counts are only touched when the flag really changes; then walk
        // the same path again adjusting them (two descents beat allocating a path).
        let mut t = self.root;
        loop {
            let Some(n) = self.nodes.get(t as usize) else {
                return false;
            };
            match key.cmp(&n.key) {
                Ordering::Less => t = n.left,
                Ordering::Greater => t = n.right,
                Ordering::Equal if n.is_waiting == waiting => return true,
                Ordering::Equal => break,
            }
        }
        let mut t = self.root;
        while let Some(n) = self.nodes.get_mut(t as usize) {
            n.waiting = if waiting {
                n.waiting + 1
            } else {
                n.waiting.saturating_sub(1)
            };
            match key.cmp(&n.key) {
                Ordering::Less => {
                    n.lwaiting = if waiting {
                        n.lwaiting + 1
                    } else {
                        n.lwaiting.saturating_sub(1)
                    };
                    t = n.left;
                }
                Ordering::Greater => t = n.right,
                Ordering::Equal => {
                    n.is_waiting = waiting;
                    break;
                }
            }
        }
        true
    }

    fn entry(&self, t: u32) -> Option<(OrderKey, ItemId, bool)> {
        self.nodes
            .get(t as usize)
            .map(|n| (n.key, n.item, n.is_waiting))
    }

    /// The first item in service order.
    pub(crate) fn first(&self) -> Option<(OrderKey, ItemId, bool)> {
        let mut t = self.root;
        let mut last = NIL;
        while t != NIL {
            last = t;
            t = self.left(t);
        }
        self.entry(last)
    }

    /// The first waiting (unreserved) item in service order.
    pub(crate) fn first_waiting(&self) -> Option<(OrderKey, ItemId, bool)> {
        let mut t = self.root;
        while let Some(n) = self.nodes.get(t as usize) {
            if n.lwaiting > 0 {
                t = n.left;
            } else if n.is_waiting {
                return self.entry(t);
            } else {
                t = n.right;
            }
        }
        None
    }

    /// Items in service order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        let mut it = Iter {
            tree: self,
            stack: Vec::new(),
        };
        it.push_left(self.root);
        it
    }
}

/// In-order traversal with an explicit stack (no recursion, no allocation per item).
#[derive(Debug)]
pub(crate) struct Iter<'a> {
    tree: &'a OrderTree,
    stack: Vec<u32>,
}

impl Iter<'_> {
    fn push_left(&mut self, mut t: u32) {
        while t != NIL {
            self.stack.push(t);
            t = self.tree.left(t);
        }
    }
}

impl Iterator for Iter<'_> {
    type Item = (OrderKey, ItemId, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.stack.pop()?;
        self.push_left(self.tree.right(t));
        self.tree.entry(t)
    }
}
