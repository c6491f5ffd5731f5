//! Router throughput: the issue's figure — 100 virtual queues holding 100,000 items, 1,000
//! agents changing state — as a mixed workload of enqueue (`submit`), dequeue (`cancel`, and
//! `accept` of offers), `position`, and reservation (agents going Ready and taking offers,
//! accepting, completing, going Not Ready). Agents have a few groups and skills and items a
//! handful of distinct targets (plain groups, skill expressions, an escalation, a stat skip), so
//! matching is real. Then how `position` and `submit` + `cancel` cost grows from 10k to 100k to
//! 1M items. Ends with a one-line summary measured outside criterion.

#![allow(clippy::unwrap_used)] // benchmark setup on data it built itself

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use engine::agents::{AgentConfig, AgentState};
use engine::queue::{EwtConfig, ItemId};
use engine::routing::plan::TargetList;
use engine::routing::router::{RouteRequest, Router, RouterError, RouterEvent};
use engine::store::Millis;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const QUEUES: usize = 100;
const ITEMS: usize = 100_000;
const AGENTS: usize = 1_000;
const BATCH: u64 = 10_000;

const GROUPS: [&str; 4] = ["Billing", "Sales", "Support", "Loans"];

/// The distinct `_target` values items are routed with.
const TARGETS: [&str; 6] = [
    "Billing@Stat.GA",
    "Sales@Stat.GA",
    "?:English>=5@Stat.GA",
    "?:Spanish>=3&English>=1@Stat.GA",
    r#"[{"target":"Support@Stat.GA","timeout":20},{"target":"Sales@Stat.GA"}]"#,
    r#"[{"target":"Loans@Stat.GA","timeout":30,"stat_to_check":"RStatAgentsReady",
         "stat_operator":"<","stat_value":1},{"target":"Billing@Stat.GA"}]"#,
];

fn agent_config(i: usize, rng: &mut StdRng) -> AgentConfig {
    let mut groups = vec![GROUPS[i % GROUPS.len()]];
    if rng.random_bool(0.5) {
        groups.push(GROUPS[(i + 1 + rng.random_range(0..3)) % GROUPS.len()]);
    }
    let mut skills = Vec::new();
    if rng.random_bool(0.8) {
        skills.push(format!("English={}", rng.random_range(1..10)));
    }
    if rng.random_bool(0.3) {
        skills.push(format!("Spanish={}", rng.random_range(1..10)));
    }
    let mut opts = vec![
        ("groups".to_owned(), groups.join(",")),
        ("skills".to_owned(), skills.join(",")),
    ];
    if rng.random_bool(0.3) {
        opts.push(("media".to_owned(), "voice,chat".to_owned()));
        opts.push(("capacity".to_owned(), "chat=2".to_owned()));
    }
    AgentConfig::from_options(&agent_name(i), &opts).unwrap()
}

fn agent_name(i: usize) -> String {
    format!("a{i}")
}

fn agent_index(name: &str) -> usize {
    name[1..].parse().unwrap()
}

/// A bag of indices with O(1) insert, remove and random pick.
#[derive(Default)]
struct Bag {
    items: Vec<usize>,
    slot: Vec<u32>,
}

const GONE: u32 = u32::MAX;

impl Bag {
    fn insert(&mut self, i: usize) {
        if self.slot.len() <= i {
            self.slot.resize(i + 1, GONE);
        }
        if self.slot[i] == GONE {
            self.slot[i] = self.items.len() as u32;
            self.items.push(i);
        }
    }

    fn remove(&mut self, i: usize) {
        let Some(&s) = self.slot.get(i) else { return };
        if s == GONE {
            return;
        }
        self.slot[i] = GONE;
        self.items.swap_remove(s as usize);
        if let Some(&moved) = self.items.get(s as usize) {
            self.slot[moved] = s;
        }
    }

    fn pick(&self, rng: &mut StdRng) -> Option<usize> {
        (!self.items.is_empty()).then(|| self.items[rng.random_range(0..self.items.len())])
    }
}

/// The router plus what the workload knows about it: live items, agents by state, offers to
/// accept and interactions to complete (both first in, first out).
struct World {
    r: Router,
    now: Millis,
    rng: StdRng,
    requests: Vec<RouteRequest>,
    live: Bag,
    ready: Bag,
    not_ready: Bag,
    offers: VecDeque<(usize, ItemId)>,
    work: VecDeque<(usize, ItemId)>,
    names: Vec<String>,
    queues: Vec<String>,
}

impl World {
    /// `items` queued over 100 queues; every agent logged in, `ready_share` of them Ready.
    fn new(items: usize, ready_share: f64) -> World {
        let mut rng = StdRng::seed_from_u64(42);
        let mut r = Router::new(EwtConfig::default());
        let names: Vec<String> = (0..AGENTS).map(agent_name).collect();
        let mut w = World {
            r: Router::default(),
            now: 0,
            rng: StdRng::seed_from_u64(7),
            requests: TARGETS
                .iter()
                .map(|t| RouteRequest::new("", TargetList::parse(t).unwrap()))
                .collect(),
            live: Bag::default(),
            ready: Bag::default(),
            not_ready: Bag::default(),
            offers: VecDeque::new(),
            work: VecDeque::new(),
            names,
            queues: (0..QUEUES).map(|q| format!("vq{q}")).collect(),
        };
        for i in 0..AGENTS {
            r.put_agent(agent_config(i, &mut rng), 0).unwrap();
            r.login(&w.names[i], 0).unwrap();
            w.not_ready.insert(i);
        }
        r.drain_events();
        w.r = r;
        // Items arrive 1 ms apart, timers firing as time passes, as in the workload.
        for _ in 0..items {
            w.tick();
            w.submit();
        }
        for i in 0..AGENTS {
            if w.rng.random_bool(ready_share) {
                w.now += 1;
                w.r.ready(&w.names[i], w.now).unwrap();
                w.events();
            }
        }
        w
    }

    fn request(&mut self) -> RouteRequest {
        let t = self.rng.random_range(0..self.requests.len());
        let mut rq = self.requests[t].clone();
        rq.queue
            .clone_from(&self.queues[self.rng.random_range(0..QUEUES)]);
        rq.priority = self.rng.random_range(0..4);
        if self.rng.random_bool(0.1) {
            rq.media = "chat".to_owned();
        }
        rq
    }

    fn submit(&mut self) {
        let rq = self.request();
        let id = self.r.submit(rq, self.now).unwrap();
        self.live.insert(id.0 as usize);
        self.events();
    }

    fn cancel(&mut self) {
        if let Some(id) = self.live.pick(&mut self.rng) {
            self.r.cancel(ItemId(id as u64), self.now).unwrap();
            self.live.remove(id);
            self.events();
        }
    }

    /// Accepts the oldest offer still standing; false when there is none.
    fn accept(&mut self) -> bool {
        while let Some((a, item)) = self.offers.pop_front() {
            match self.r.accept(&self.names[a], item, self.now) {
                Ok(_) => {
                    self.live.remove(item.0 as usize);
                    self.work.push_back((a, item));
                    self.events();
                    return true;
                }
                // Withdrawn since (agent Not Ready, timed out, item cancelled).
                Err(RouterError::NoOffer { .. }) => self.events(),
                Err(e) => panic!("{e}"),
            }
        }
        false
    }

    fn complete(&mut self) -> bool {
        let Some((a, item)) = self.work.pop_front() else {
            return false;
        };
        let acw = if self.rng.random_bool(0.1) { 2_000 } else { 0 };
        match self.r.complete(&self.names[a], item, acw, self.now) {
            Ok(_) | Err(RouterError::NoInteraction { .. }) => {}
            Err(e) => panic!("{e}"),
        }
        self.events();
        true
    }

    /// Reads what happened: new offers, and agents' state changes.
    fn events(&mut self) {
        for e in self.r.drain_events() {
            match e {
                RouterEvent::Offered { item, agent, .. } => {
                    self.offers.push_back((agent_index(&agent), item));
                }
                RouterEvent::AgentState { agent, state } => {
                    let i = agent_index(&agent);
                    if matches!(state, AgentState::NotReady) {
                        self.ready.remove(i);
                        self.not_ready.insert(i);
                    } else {
                        self.not_ready.remove(i);
                        self.ready.insert(i);
                    }
                }
                _ => {}
            }
        }
    }

    /// One operation: 25% enqueue; 15% cancel; 10% accept (a cancel when no offer stands);
    /// 30% position; 10% complete (a position when nothing is in progress); 5% an agent goes
    /// Not Ready, 5% one goes Ready. Timers due (offer timeouts, escalations, wrap-up) fire
    /// as time moves, 1 ms per operation.
    fn step(&mut self) {
        self.tick();
        match self.rng.random_range(0..20) {
            0..=4 => self.submit(),
            5..=7 => self.cancel(),
            8..=9 => {
                if !self.accept() {
                    self.cancel();
                }
            }
            10..=15 => self.position(),
            16..=17 => {
                if !self.complete() {
                    self.position();
                }
            }
            18 => {
                if let Some(a) = self.ready.pick(&mut self.rng) {
                    self.r.not_ready(&self.names[a], self.now).unwrap();
                    self.events();
                }
            }
            _ => {
                if let Some(a) = self.not_ready.pick(&mut self.rng) {
                    self.r.ready(&self.names[a], self.now).unwrap();
                    self.events();
                }
            }
        }
    }

    /// One millisecond passes; timers due fire.
    fn tick(&mut self) {
        self.now += 1;
        if self.r.next_deadline().is_some_and(|d| d <= self.now) {
            self.r.advance(self.now);
            self.events();
        }
    }

    fn position(&mut self) {
        if let Some(id) = self.live.pick(&mut self.rng) {
            black_box(self.r.position(ItemId(id as u64)));
        }
    }
}

fn mixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("router_mixed_100q_100k_1000a");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    let mut w = World::new(ITEMS, 0.5);
    g.bench_function("10k_ops", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                w.step();
            }
        })
    });
    g.finish();
}

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// (items, position ns, submit + cancel ns) per size, for the summary.
static SCALING: Mutex<Vec<(usize, f64, f64)>> = Mutex::new(Vec::new());

/// `position` and `submit` + `cancel` with `n` items queued and every agent Ready and busy.
fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("router_items");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in SIZES {
        let mut w = World::new(n, 1.0);
        let ids: Vec<u64> = w.live.items.iter().map(|&i| i as u64).collect();
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::new("position", n), &n, |b, _| {
            b.iter(|| {
                k = (k + 7919) % ids.len();
                black_box(w.r.position(ItemId(ids[k])))
            })
        });
        g.bench_with_input(BenchmarkId::new("submit_cancel", n), &n, |b, _| {
            b.iter(|| {
                let rq = w.request();
                let id = w.r.submit(rq, w.now).unwrap();
                w.r.cancel(id, w.now).unwrap();
                w.r.drain_events();
            })
        });

        // The same, timed plainly for the closing line.
        let mut rng = StdRng::seed_from_u64(9);
        let look: Vec<ItemId> = (0..1_000_000)
            .map(|_| ItemId(ids[rng.random_range(0..ids.len())]))
            .collect();
        let t = Instant::now();
        for id in &look {
            black_box(w.r.position(*id));
        }
        let pos_ns = t.elapsed().as_nanos() as f64 / look.len() as f64;
        let rounds = 200_000;
        let reqs: Vec<RouteRequest> = (0..rounds).map(|_| w.request()).collect();
        let t = Instant::now();
        for rq in reqs {
            let id = w.r.submit(rq, w.now).unwrap();
            w.r.cancel(id, w.now).unwrap();
            w.r.drain_events();
        }
        let churn_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        SCALING.lock().unwrap().push((n, pos_ns, churn_ns));
    }
    g.finish();
}

/// The mixed workload over `items` items, timed plainly: (ops/s, items and offers at the end).
fn mixed_rate(items: usize, ops: u64) -> (f64, usize, usize) {
    let mut w = World::new(items, 0.5);
    let t = Instant::now();
    for _ in 0..ops {
        w.step();
    }
    let rate = ops as f64 / t.elapsed().as_secs_f64();
    (rate, w.r.len(), w.offers.len())
}

/// Plain timing of the mixed workload (and of the same with 10k items, where the data fits in
/// cache), and the scaling figures, on one line.
fn summary() {
    let (rate, left, offers) = mixed_rate(ITEMS, 2_000_000);
    let (small, _, _) = mixed_rate(10_000, 2_000_000);
    let scaling = SCALING.lock().unwrap();
    let fmt = |f: &dyn Fn(&(usize, f64, f64)) -> f64| {
        scaling
            .iter()
            .map(|s| format!("{:.0} ns @{}k", f(s), s.0 / 1000))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "SUMMARY router: mixed {:.2} M ops/s over {QUEUES} queues / {ITEMS} items ({left} at the \
         end, {offers} offers standing) / {AGENTS} agents; {:.2} M ops/s with 10k items; \
         position() {}; submit+cancel {}",
        rate / 1e6,
        small / 1e6,
        fmt(&|s| s.1),
        fmt(&|s| s.2),
    );
}

criterion::criterion_group!(benches, mixed, scaling);

fn main() {
    benches();
    summary();
    Criterion::default().configure_from_args().final_summary();
}
