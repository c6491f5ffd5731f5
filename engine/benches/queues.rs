//! Virtual-queue throughput: a mixed workload over 100 queues holding 100,000 items with 1,000
//! agents changing state, and how `position` (and enqueue + remove churn) cost grows from 10k to
//! 1M items in one queue. Ends with a one-line summary measured outside criterion.

#![allow(clippy::unwrap_used)] // benchmark setup on data it built itself

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use engine::queue::{EwtConfig, EwtMethod, ItemId, QueueId, QueueSet, VirtualQueue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const QUEUES: u32 = 100;
const ITEMS: u64 = 100_000;
const AGENTS: usize = 1_000;
const BATCH: u64 = 10_000;

/// The mixed workload's state: the queues, the live items (a bag with O(1) removal, indexed by
/// id), and agents' ready flags.
struct World {
    set: QueueSet,
    live: Vec<u64>,
    slot: Vec<u32>,
    next_id: u64,
    now: i64,
    ready: Vec<bool>,
    ready_count: usize,
    rng: StdRng,
}

const GONE: u32 = u32::MAX;

impl World {
    fn new() -> Self {
        let mut set = QueueSet::new();
        let methods = [
            EwtMethod::RoutingDefault,
            EwtMethod::MovingAverage,
            EwtMethod::HandleTime,
        ];
        for q in 0..QUEUES {
            let cfg = EwtConfig {
                method: methods[q as usize % 3],
                handle_time_secs: Some(90.0),
                ..EwtConfig::default()
            };
            set.add_queue(&format!("vq{q}"), cfg).unwrap();
        }
        let mut w = World {
            set,
            live: Vec::new(),
            slot: Vec::new(),
            next_id: 0,
            now: 0,
            ready: vec![true; AGENTS],
            ready_count: AGENTS,
            rng: StdRng::seed_from_u64(42),
        };
        for _ in 0..ITEMS {
            w.enqueue();
        }
        w
    }

    fn enqueue(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        let q = QueueId(self.rng.random_range(0..QUEUES));
        let prio = self.rng.random_range(0..4);
        self.now += 1;
        self.set.enqueue(q, ItemId(id), prio, self.now).unwrap();
        self.slot.push(self.live.len() as u32);
        self.live.push(id);
    }

    fn forget(&mut self, id: u64) {
        let i = self.slot[id as usize] as usize;
        self.slot[id as usize] = GONE;
        self.live.swap_remove(i);
        if let Some(&moved) = self.live.get(i) {
            self.slot[moved as usize] = i as u32;
        }
    }

    fn random_live(&mut self) -> Option<u64> {
        (!self.live.is_empty()).then(|| self.live[self.rng.random_range(0..self.live.len())])
    }

    /// One operation: 30% enqueue, 30% position, 10% pop_front,
    /// 10% remove (abandon), 10% reserve (look at the head, reserve it, distribute it),
    /// 10% an agent changes state and a queue's stats (with its EWT) are read.
    fn step(&mut self) {
        let q = QueueId(self.rng.random_range(0..QUEUES));
        match self.rng.random_range(0..10) {
            0..=2 => self.enqueue(),
            3..=5 => {
                if let Some(id) = self.random_live() {
                    black_box(self.set.position(ItemId(id)));
                }
            }
            6 => {
                self.now += 1;
                if let Some(item) = self.set.pop_front(q, self.now).unwrap() {
                    self.forget(item.id.0);
                }
            }
            7 => {
                if let Some(id) = self.random_live() {
                    self.set.remove(ItemId(id)).unwrap();
                    self.forget(id);
                }
            }
            8 => {
                if self.set.head(q).unwrap().is_some() {
                    if let Some(item) = self.set.reserve_next(q).unwrap() {
                        self.now += 1;
                        self.set.distribute(item.id, self.now).unwrap();
                        self.forget(item.id.0);
                    }
                }
            }
            _ => {
                let a = self.rng.random_range(0..AGENTS);
                self.ready[a] = !self.ready[a];
                if self.ready[a] {
                    self.ready_count += 1;
                } else {
                    self.ready_count -= 1;
                }
                black_box(self.set.stats(q, self.now, self.ready_count).unwrap());
            }
        }
    }
}

/// One queue of `n` items with four priorities and shuffled enqueue times.
fn big_queue(n: u64) -> VirtualQueue {
    let mut rng = StdRng::seed_from_u64(n);
    let mut q = VirtualQueue::new(EwtConfig::default()).unwrap();
    for id in 0..n {
        q.enqueue(
            ItemId(id),
            rng.random_range(0..4),
            rng.random_range(0..1_000_000),
        )
        .unwrap();
    }
    q
}

const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

fn mixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixed_100q_100k");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let mut w = World::new();
    g.bench_function("10k_ops", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                w.step();
            }
        })
    });
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_queue");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for n in SIZES {
        let mut q = big_queue(n);
        let mut rng = StdRng::seed_from_u64(7);
        g.bench_with_input(BenchmarkId::new("position", n), &n, |b, &n| {
            b.iter_batched(
                || ItemId(rng.random_range(0..n)),
                |id| black_box(q.position(id)),
                BatchSize::SmallInput,
            )
        });
        let mut next = n;
        g.bench_with_input(BenchmarkId::new("enqueue_remove", n), &n, |b, _| {
            b.iter(|| {
                let id = ItemId(next);
                next += 1;
                q.enqueue(id, 1, 500_000).unwrap();
                q.remove(id).unwrap();
            })
        });
    }
    g.finish();
}

/// Plain timing for the closing note: mixed ops/s and mean position() cost per size.
fn summary() {
    let mut w = World::new();
    let ops = 3_000_000u64;
    let t = Instant::now();
    for _ in 0..ops {
        w.step();
    }
    let mixed = ops as f64 / t.elapsed().as_secs_f64();
    let mut pos = Vec::new();
    for n in SIZES {
        let q = big_queue(n);
        let mut rng = StdRng::seed_from_u64(9);
        let look: Vec<ItemId> = (0..1_000_000)
            .map(|_| ItemId(rng.random_range(0..n)))
            .collect();
        let t = Instant::now();
        for id in &look {
            black_box(q.position(*id));
        }
        pos.push(t.elapsed().as_nanos() as f64 / look.len() as f64);
    }
    println!(
        "SUMMARY queues: mixed {:.2} M ops/s over {QUEUES} queues / {ITEMS} items / {AGENTS} agents; \
         position() {:.0} ns @10k, {:.0} ns @100k, {:.0} ns @1M (random ids, one queue)",
        mixed / 1e6,
        pos[0],
        pos[1],
        pos[2]
    );
}

criterion::criterion_group!(benches, mixed, scaling);

fn main() {
    benches();
    summary();
    Criterion::default().configure_from_args().final_summary();
}
