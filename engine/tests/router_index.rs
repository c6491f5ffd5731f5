//! The router's per-media agent index against the pool it summarises: random sequences of
//! agent changes, submissions, offers, answers and time, with the index audited after each
//! step (and, in debug builds, every routing decision checked against ranking every agent).

#![allow(clippy::unwrap_used)]

use engine::agents::AgentConfig;
use engine::queue::{EwtConfig, ItemId};
use engine::routing::plan::TargetList;
use engine::routing::router::{RouteRequest, Router};
use engine::store::Millis;
use proptest::prelude::*;

const AGENTS: [&str; 5] = ["a1", "a2", "b10", "b2", "c"];
const TARGETS: [&str; 3] = ["A@Stat.GA", "B@Stat.GA", "A@Stat.GA|B@Stat.GA"];

#[derive(Debug, Clone)]
enum Op {
    /// Agent, groups choice, chat capacity.
    Put(usize, usize, u8),
    Login(usize),
    Ready(usize),
    NotReady(usize),
    Logout(usize),
    Remove(usize),
    /// Target choice, chat or voice, priority.
    Submit(usize, bool, i32),
    /// The agent answers its first offer (accept or reject).
    Answer(usize, bool),
    /// The agent ends its first interaction with this much wrap-up.
    Complete(usize, Millis),
    /// Cancels the n-th submitted item.
    Cancel(usize),
    Wait(Millis),
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 0..AGENTS.len();
    prop_oneof![
        (agent.clone(), 0..3usize, 0..3u8).prop_map(|(a, g, c)| Op::Put(a, g, c)),
        agent.clone().prop_map(Op::Login),
        agent.clone().prop_map(Op::Ready),
        agent.clone().prop_map(Op::NotReady),
        agent.clone().prop_map(Op::Logout),
        agent.clone().prop_map(Op::Remove),
        (0..TARGETS.len(), any::<bool>(), -2..3i32).prop_map(|(t, c, p)| Op::Submit(t, c, p)),
        (agent.clone(), any::<bool>()).prop_map(|(a, y)| Op::Answer(a, y)),
        (agent, 0..3_000i64).prop_map(|(a, w)| Op::Complete(a, w)),
        (0..40usize).prop_map(Op::Cancel),
        (0..20_000i64).prop_map(Op::Wait),
    ]
}

fn config(id: &str, groups: usize, chat: u8) -> AgentConfig {
    let groups = ["A", "B", "A,B"][groups];
    let mut opts = vec![("groups".to_owned(), groups.to_owned())];
    if chat > 0 {
        opts.push(("media".to_owned(), "voice,chat".to_owned()));
        opts.push(("capacity".to_owned(), format!("chat={chat}")));
    }
    AgentConfig::from_options(id, &opts).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_index_matches_the_pool(ops in proptest::collection::vec(op(), 1..80)) {
        let mut r = Router::new(EwtConfig::default());
        let mut now: Millis = 1_000;
        let mut items: Vec<ItemId> = Vec::new();
        for a in AGENTS {
            r.put_agent(config(a, 2, 1), now).unwrap();
            r.login(a, now).unwrap();
            r.ready(a, now).unwrap();
        }
        for op in ops {
            // Errors (an unknown agent, an item already gone, …) are part of the sequence:
            // what matters is the state they leave.
            match op {
                Op::Put(a, g, c) => { let _ = r.put_agent(config(AGENTS[a], g, c), now); }
                Op::Login(a) => { let _ = r.login(AGENTS[a], now); }
                Op::Ready(a) => { let _ = r.ready(AGENTS[a], now); }
                Op::NotReady(a) => { let _ = r.not_ready(AGENTS[a], now); }
                Op::Logout(a) => { let _ = r.logout(AGENTS[a], now); }
                Op::Remove(a) => { let _ = r.remove_agent(AGENTS[a], now); }
                Op::Submit(t, chat, p) => {
                    let mut rq = RouteRequest::new("VQ", TargetList::parse(TARGETS[t]).unwrap());
                    rq.priority = p;
                    if chat {
                        rq.media = "chat".to_owned();
                    }
                    items.push(r.submit(rq, now).unwrap());
                }
                Op::Answer(a, yes) => {
                    let first = r.offers(AGENTS[a]).first().map(|o| o.item);
                    if let Some(item) = first {
                        if yes {
                            let _ = r.accept(AGENTS[a], item, now);
                        } else {
                            let _ = r.reject(AGENTS[a], item, now);
                        }
                    }
                }
                Op::Complete(a, acw) => {
                    let first = r.work(AGENTS[a]).first().map(|w| w.item);
                    if let Some(item) = first {
                        r.complete(AGENTS[a], item, acw, now).unwrap();
                    }
                }
                Op::Cancel(n) => {
                    if let Some(&item) = items.get(n) {
                        let _ = r.cancel(item, now);
                    }
                }
                Op::Wait(ms) => {
                    now += ms;
                }
            }
            r.advance(now);
            r.take_events();
            prop_assert_eq!(r.audit_index(now), Ok(()));
        }
    }
}
