//! Agents: configuration, target matching, states, and reservation (race, reject, timeout,
//! logout, capacity, wrap-up, statistics), all with time passed in.

#![allow(clippy::unwrap_used)]

use engine::agents::{AgentConfig, AgentError, AgentPool, AgentState, DEFAULT_RESERVE_TIMEOUT_MS};
use engine::queue::{EwtConfig, ItemId, QueueSet, DEFAULT_PRIORITY};
use engine::routing::target::Target;
use engine::store::Millis;

const S: i64 = 1000;
const T: i64 = DEFAULT_RESERVE_TIMEOUT_MS;

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn cfg(id: &str, pairs: &[(&str, &str)]) -> AgentConfig {
    AgentConfig::from_options(id, &opts(pairs)).unwrap()
}

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

/// Agent id, its options, and when it became Ready.
type Spec<'a> = (&'a str, &'a [(&'a str, &'a str)], Millis);

/// A pool whose agents are all logged in and Ready at time `at`.
fn ready_pool(agents: &[Spec<'_>]) -> AgentPool {
    let mut pool = AgentPool::new();
    for (id, pairs, at) in agents {
        pool.add(cfg(id, pairs)).unwrap();
        pool.login(id, *at).unwrap();
        pool.ready(id, *at).unwrap();
    }
    pool
}

fn option_of(e: AgentError) -> String {
    match e {
        AgentError::Option { option, .. } => option,
        other => panic!("not an option error: {other}"),
    }
}

#[test]
fn parses_config() {
    let c = cfg(
        "a1",
        &[
            ("groups", "Billing, Sales"),
            ("skills", "English=20;Loans=3"),
            ("place", "P1"),
            ("media", "voice,Chat"),
            ("capacity", "chat=3"),
        ],
    );
    assert_eq!(c.id, "a1");
    assert!(c.groups.contains("Billing") && c.groups.contains("Sales"));
    assert_eq!(c.skills.get("English"), Some(&20));
    assert_eq!(c.skills.get("Loans"), Some(&3));
    assert_eq!(c.place.as_deref(), Some("P1"));
    assert_eq!(c.capacity("voice"), 1);
    assert_eq!(c.capacity("chat"), 3);
    assert_eq!(c.capacity("email"), 0);

    let d = cfg("a2", &[]);
    assert_eq!(d.capacity("voice"), 1);
    assert_eq!(d.capacity.len(), 1);
    assert!(d.groups.is_empty() && d.skills.is_empty() && d.place.is_none());
}

#[test]
fn config_errors_name_the_option() {
    let bad = |pairs: &[(&str, &str)]| {
        option_of(AgentConfig::from_options("a", &opts(pairs)).unwrap_err())
    };
    assert_eq!(bad(&[("skills", "English")]), "skills");
    assert_eq!(bad(&[("skills", "English=high")]), "skills");
    assert_eq!(bad(&[("skills", "English=-1")]), "skills");
    assert_eq!(bad(&[("skills", "=3")]), "skills");
    assert_eq!(bad(&[("skills", "a=1,a=2")]), "skills");
    assert_eq!(bad(&[("capacity", "chat=2")]), "capacity");
    assert_eq!(bad(&[("capacity", "voice=0")]), "capacity");
    assert_eq!(bad(&[("media", " , ")]), "media");
    assert_eq!(bad(&[("media", "voice,voice")]), "media");
    assert_eq!(bad(&[("place", "  ")]), "place");
    assert_eq!(bad(&[("groups", "a,a")]), "groups");
    assert_eq!(bad(&[("colour", "blue")]), "colour");
    assert_eq!(bad(&[("place", "p"), ("place", "q")]), "place");
    let msg = AgentConfig::from_options("a", &opts(&[("capacity", "chat=2")]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("'capacity'") && msg.contains("chat"), "{msg}");
    assert_eq!(
        AgentConfig::from_options(" ", &[]).unwrap_err(),
        AgentError::EmptyId
    );
}

#[test]
fn matches_each_target_kind() {
    let a = cfg(
        "alice@example.com",
        &[
            ("groups", "Billing"),
            ("skills", "English=20,Loans=2"),
            ("place", "P1"),
        ],
    );
    let no_place = cfg("bob", &[("groups", "Billing")]);

    assert!(a.matches(&t("alice@example.com@Stat.A")));
    assert!(!a.matches(&t("bob@Stat.A")));
    assert!(a.matches(&t("P1@Stat.AP")));
    assert!(!a.matches(&t("P2@Stat.AP")));
    assert!(a.matches(&t("Billing@Stat.GA")));
    assert!(!a.matches(&t("Sales@Stat.GA")));
    // Place group: the agent group of that name, for agents that have a place.
    assert!(a.matches(&t("Billing@Stat.GP")));
    assert!(!no_place.matches(&t("Billing@Stat.GP")));
    assert!(no_place.matches(&t("Billing@Stat.GA")));
    // Campaign groups are not supported.
    assert!(!a.matches(&t("Billing@Stat.GC")));

    assert!(a.matches(&t("?:English=20&Loans=2@Stat.GA")));
    assert!(a.matches(&t("?:English>=5@Stat.GA")));
    assert!(!a.matches(&t("?:English>20@Stat.GA")));
    assert!(a.matches(&t("?:French>3|Loans>1@Stat.GA")));
    assert!(!a.matches(&t("?:French>0@Stat.GA")));
    assert!(
        a.matches(&t("?:French=0@Stat.GA")),
        "a missing skill is level 0"
    );
}

#[test]
fn agent_states() {
    let mut pool = AgentPool::new();
    pool.add(cfg("a", &[("groups", "G")])).unwrap();
    assert_eq!(
        pool.add(cfg("a", &[])).unwrap_err(),
        AgentError::DuplicateAgent("a".into())
    );
    assert_eq!(pool.agent("a").unwrap().state(0), AgentState::LoggedOut);
    assert_eq!(
        pool.ready("a", 0).unwrap_err(),
        AgentError::LoggedOut("a".into())
    );
    assert!(matches!(
        pool.ready("nobody", 0),
        Err(AgentError::UnknownAgent(_))
    ));
    pool.login("a", 0).unwrap();
    assert_eq!(pool.agent("a").unwrap().state(0), AgentState::NotReady);
    assert!(!pool.agent("a").unwrap().is_available("voice", 0));
    pool.ready("a", 5).unwrap();
    let a = pool.agent("a").unwrap();
    assert!(a.is_available("voice", 5));
    assert!(!a.is_available("chat", 5));
    assert_eq!(a.ready_since(5), 5);

    pool.start_interaction("a", "voice", 6).unwrap();
    assert!(!pool.agent("a").unwrap().is_available("voice", 6));
    assert!(matches!(
        pool.start_interaction("a", "voice", 6),
        Err(AgentError::AtCapacity { .. })
    ));
    assert!(matches!(
        pool.end_interaction("a", "chat", 0, 7),
        Err(AgentError::NoInteraction { .. })
    ));
    pool.end_interaction("a", "voice", 0, 7).unwrap();
    assert_eq!(pool.agent("a").unwrap().ready_since(7), 7);
    assert!(pool.agent("a").unwrap().is_available("voice", 7));

    pool.logout("a", 8).unwrap();
    assert_eq!(pool.agent("a").unwrap().state(8), AgentState::LoggedOut);
}

#[test]
fn two_queues_race_for_one_agent() {
    let mut queues = QueueSet::new();
    let q1 = queues.add_queue("Q1", EwtConfig::default()).unwrap();
    let q2 = queues.add_queue("Q2", EwtConfig::default()).unwrap();
    queues.enqueue(q1, ItemId(1), DEFAULT_PRIORITY, 0).unwrap();
    queues.enqueue(q2, ItemId(2), DEFAULT_PRIORITY, 0).unwrap();

    let mut pool = ready_pool(&[("a", &[("groups", "Billing,Sales")], 0)]);
    let billing = t("Billing@Stat.GA");
    let sales = t("Sales@Stat.GA");

    let h1 = queues.reserve_next(q1).unwrap().unwrap();
    let h2 = queues.reserve_next(q2).unwrap().unwrap();
    let r1 = pool.try_reserve(h1.id, "Q1", &[&billing], "voice", 10, T);
    let r2 = pool.try_reserve(h2.id, "Q2", &[&sales], "voice", 10, T);
    assert_eq!(r1.as_deref(), Some("a"));
    assert_eq!(r2, None, "never double-reserved");
    queues.release(h2.id).unwrap();
    assert_eq!(pool.reservations().count(), 1);
    assert_eq!(pool.reserved_count("a", "voice"), 1);
    assert!(!pool.is_available("a", "voice", 10));
    // The same item cannot hold two reservations either.
    assert_eq!(
        pool.try_reserve(h1.id, "Q1", &[&billing], "voice", 10, T),
        None
    );

    let r = pool.accept(ItemId(1), 20).unwrap();
    assert_eq!((r.agent.as_str(), r.queue.as_str()), ("a", "Q1"));
    queues.distribute(ItemId(1), 20).unwrap();
    assert_eq!(pool.agent("a").unwrap().load("voice"), 1);
    // Busy on the call: still nothing for Q2.
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q2", &[&sales], "voice", 30, T),
        None
    );
    pool.end_interaction("a", "voice", 0, 40).unwrap();
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q2", &[&sales], "voice", 41, T)
            .as_deref(),
        Some("a")
    );
}

#[test]
fn many_items_racing_never_exceed_capacity() {
    let mut pool = ready_pool(&[
        (
            "a",
            &[
                ("groups", "G"),
                ("media", "voice,chat"),
                ("capacity", "chat=2"),
            ],
            0,
        ),
        ("b", &[("groups", "G")], 0),
    ]);
    let g = t("G@Stat.GA");
    let mut got = Vec::new();
    for i in 0..10 {
        if let Some(agent) = pool.try_reserve(ItemId(i), "Q", &[&g], "voice", 1, T) {
            got.push(agent);
        }
    }
    got.sort();
    assert_eq!(got, ["a", "b"]);
    let mut chats = 0;
    for i in 10..20 {
        chats += usize::from(
            pool.try_reserve(ItemId(i), "Q", &[&g], "chat", 1, T)
                .is_some(),
        );
    }
    assert_eq!(chats, 2);
}

#[test]
fn reserve_timeout_returns_agent_at_expiry() {
    let mut pool = ready_pool(&[("a", &[("groups", "G")], 0)]);
    let g = t("G@Stat.GA");
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", 100, T)
            .as_deref(),
        Some("a")
    );
    assert_eq!(pool.next_expiry(), Some(100 + T));
    assert!(pool.expire(100 + T - 1).is_empty());
    assert!(!pool.is_available("a", "voice", 100 + T - 1));
    let expired = pool.expire(100 + T);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].agent, "a");
    assert_eq!(expired[0].item, ItemId(1));
    assert_eq!(expired[0].expires_at, 100 + T);
    assert_eq!(pool.next_expiry(), None);
    assert!(pool.is_available("a", "voice", 100 + T));
    assert_eq!(pool.agent("a").unwrap().state(100 + T), AgentState::Ready);
    // Another item can take the agent; so can the same item on retry (no one else fits).
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q", &[&g], "voice", 100 + T, T)
            .as_deref(),
        Some("a")
    );
    pool.reject(ItemId(2), 100 + T + 1).unwrap();
    assert_eq!(pool.tried_agents(ItemId(1)), ["a"]);
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", 100 + T + 2, T)
            .as_deref(),
        Some("a")
    );
    // Accepting too late fails and frees the agent.
    let late = 100 + T + 2 + T;
    assert_eq!(
        pool.accept(ItemId(1), late).unwrap_err(),
        AgentError::Expired {
            item: ItemId(1),
            agent: "a".into()
        }
    );
    assert!(pool.is_available("a", "voice", late));
    assert_eq!(pool.agent("a").unwrap().load("voice"), 0);
}

#[test]
fn reject_frees_agent_and_retry_prefers_another() {
    // `a` has been idle longest, so it is chosen first.
    let mut pool = ready_pool(&[
        ("b", &[("groups", "G")], 5 * S),
        ("a", &[("groups", "G")], 2 * S),
        ("c", &[("groups", "G")], 9 * S),
    ]);
    let g = t("G@Stat.GA");
    let now = 10 * S;
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", now, T)
            .as_deref(),
        Some("a")
    );
    let r = pool.reject(ItemId(1), now + 1).unwrap();
    assert_eq!(r.agent, "a");
    assert_eq!(pool.agent("a").unwrap().state(now + 1), AgentState::Ready);
    assert!(pool.is_available("a", "voice", now + 1));
    assert_eq!(
        pool.reject(ItemId(1), now + 1).unwrap_err(),
        AgentError::NoReservation(ItemId(1))
    );
    // Retry prefers an agent that has not rejected: b (idle longer than c).
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", now + 2, T)
            .as_deref(),
        Some("b")
    );
    // A different item is still offered to a first.
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q", &[&g], "voice", now + 2, T)
            .as_deref(),
        Some("a")
    );
    pool.reject(ItemId(1), now + 3).unwrap();
    // Item 1 has been turned down by a and b; c is free.
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", now + 4, T)
            .as_deref(),
        Some("c")
    );
    pool.reject(ItemId(1), now + 5).unwrap();
    // Only agents that already rejected remain (a is reserved by item 2): b again.
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", now + 6, T)
            .as_deref(),
        Some("b")
    );
    pool.accept(ItemId(1), now + 7).unwrap();
    assert!(pool.tried_agents(ItemId(1)).is_empty());
    assert_eq!(pool.agent("b").unwrap().load("voice"), 1);
    // Forgetting an item drops its reservation.
    assert_eq!(pool.forget(ItemId(2)).unwrap().agent, "a");
    assert!(pool.is_available("a", "voice", now + 8));
}

#[test]
fn logout_while_reserved_cancels() {
    let mut pool = ready_pool(&[
        (
            "a",
            &[
                ("groups", "G"),
                ("media", "voice,chat"),
                ("capacity", "chat=2"),
            ],
            0,
        ),
        ("b", &[("groups", "G")], 1),
    ]);
    let g = t("G@Stat.GA");
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", 10, T)
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q", &[&g], "chat", 10, T)
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        pool.try_reserve(ItemId(3), "Q", &[&g], "voice", 10, T)
            .as_deref(),
        Some("b")
    );
    let cancelled = pool.logout("a", 20).unwrap();
    let items: Vec<ItemId> = cancelled.iter().map(|r| r.item).collect();
    assert_eq!(items, [ItemId(1), ItemId(2)]);
    assert!(cancelled.iter().all(|r| r.agent == "a"));
    assert!(pool.reservation(ItemId(1)).is_none());
    assert_eq!(pool.reservation(ItemId(3)).unwrap().agent, "b");
    assert_eq!(
        pool.accept(ItemId(1), 21).unwrap_err(),
        AgentError::NoReservation(ItemId(1))
    );
    // The cancelled item retries; nobody fits now (b is reserved), later b does.
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", 21, T),
        None
    );
    pool.reject(ItemId(3), 22).unwrap();
    assert_eq!(
        pool.try_reserve(ItemId(1), "Q", &[&g], "voice", 23, T)
            .as_deref(),
        Some("b")
    );
    // Not Ready also cancels.
    let cancelled = pool.not_ready("b", 24).unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].item, ItemId(1));
    assert!(pool.expire(24 + T).is_empty());
}

#[test]
fn chat_capacity_three_voice_one() {
    let mut pool = ready_pool(&[(
        "a",
        &[
            ("groups", "G"),
            ("media", "voice,chat"),
            ("capacity", "voice=1,chat=3"),
        ],
        0,
    )]);
    let g = t("G@Stat.GA");
    for i in 1..=3 {
        assert_eq!(
            pool.try_reserve(ItemId(i), "Chat", &[&g], "chat", 10, T)
                .as_deref(),
            Some("a")
        );
    }
    assert_eq!(
        pool.try_reserve(ItemId(4), "Chat", &[&g], "chat", 10, T),
        None
    );
    pool.accept(ItemId(1), 11).unwrap();
    pool.accept(ItemId(2), 11).unwrap();
    assert_eq!(pool.agent("a").unwrap().load("chat"), 2);
    assert_eq!(pool.reserved_count("a", "chat"), 1);
    // Reservation + 2 chats = capacity: a direct chat is refused too.
    assert!(matches!(
        pool.start_interaction("a", "chat", 12),
        Err(AgentError::AtCapacity { .. })
    ));
    assert_eq!(
        pool.try_reserve(ItemId(4), "Chat", &[&g], "chat", 12, T),
        None
    );
    // Voice is its own media, capacity 1.
    assert_eq!(
        pool.try_reserve(ItemId(10), "Voice", &[&g], "voice", 12, T)
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        pool.try_reserve(ItemId(11), "Voice", &[&g], "voice", 12, T),
        None
    );
    pool.accept(ItemId(3), 13).unwrap();
    pool.end_interaction("a", "chat", 0, 14).unwrap();
    assert_eq!(
        pool.try_reserve(ItemId(4), "Chat", &[&g], "chat", 15, T)
            .as_deref(),
        Some("a")
    );
    // Never more than capacity in reservations + interactions.
    assert_eq!(
        pool.agent("a").unwrap().load("chat") + pool.reserved_count("a", "chat"),
        3
    );
}

#[test]
fn after_call_work_blocks_until_its_end() {
    let mut pool = ready_pool(&[("a", &[("groups", "G")], 0)]);
    let g = t("G@Stat.GA");
    assert!(pool
        .try_reserve(ItemId(1), "Q", &[&g], "voice", 10, T)
        .is_some());
    pool.accept(ItemId(1), 11).unwrap();
    pool.end_interaction("a", "voice", 5 * S, 100).unwrap();
    let end = 100 + 5 * S;
    assert_eq!(
        pool.agent("a").unwrap().state(end - 1),
        AgentState::AfterCallWork { until: end }
    );
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q", &[&g], "voice", end - 1, T),
        None
    );
    assert_eq!(pool.ready_count(&g, None, end - 1), 0);
    assert_eq!(pool.logged_in_count(&g), 1);
    assert_eq!(pool.agent("a").unwrap().state(end), AgentState::Ready);
    assert_eq!(pool.agent("a").unwrap().ready_since(end + 7), end);
    assert_eq!(
        pool.try_reserve(ItemId(2), "Q", &[&g], "voice", end, T)
            .as_deref(),
        Some("a")
    );

    // Ready ends wrap-up early; Not Ready during wrap-up stays Not Ready.
    pool.accept(ItemId(2), end + 1).unwrap();
    pool.end_interaction("a", "voice", 60 * S, end + 2).unwrap();
    pool.ready("a", end + 3).unwrap();
    assert!(pool.is_available("a", "voice", end + 3));
    pool.start_interaction("a", "voice", end + 4).unwrap();
    pool.not_ready("a", end + 5).unwrap();
    pool.end_interaction("a", "voice", 60 * S, end + 6).unwrap();
    assert_eq!(
        pool.agent("a").unwrap().state(end + 120 * S),
        AgentState::NotReady
    );
}

#[test]
fn statistics_counts() {
    let mut pool = AgentPool::new();
    for (id, pairs) in [
        ("a", &[("groups", "G"), ("media", "voice,chat")][..]),
        ("b", &[("groups", "G")][..]),
        ("c", &[("groups", "G"), ("skills", "English=5")][..]),
        ("d", &[("groups", "H"), ("skills", "English=9")][..]),
        ("e", &[("groups", "G")][..]),
    ] {
        pool.add(cfg(id, pairs)).unwrap();
    }
    for id in ["a", "b", "c", "d"] {
        pool.login(id, 0).unwrap();
    }
    for id in ["a", "b", "d"] {
        pool.ready(id, 0).unwrap();
    }
    let g = t("G@Stat.GA");
    let english = t("?:English>=5@Stat.GA");
    assert_eq!(pool.logged_in_count(&g), 3); // e is logged out
    assert_eq!(pool.ready_count(&g, None, 1), 2); // c is Not Ready
    assert_eq!(pool.ready_count(&g, Some("voice"), 1), 2);
    assert_eq!(pool.ready_count(&g, Some("chat"), 1), 1);
    assert_eq!(pool.logged_in_count(&english), 2);
    assert_eq!(pool.ready_count(&english, Some("voice"), 1), 1);

    // A reserved (or busy) agent is still Ready but not available for that media.
    let b = pool
        .try_reserve(ItemId(1), "Q", &[&g], "voice", 2, T)
        .unwrap();
    assert_eq!(b, "a"); // a and b idle equally long: lowest id
    assert_eq!(pool.ready_count(&g, None, 2), 2);
    assert_eq!(pool.ready_count(&g, Some("voice"), 2), 1);
    assert_eq!(pool.ready_count(&g, Some("chat"), 2), 1);
    pool.accept(ItemId(1), 3).unwrap();
    assert_eq!(pool.ready_count(&g, Some("voice"), 3), 1);
    assert_eq!(pool.ready_count(&t("a@Stat.A"), Some("voice"), 3), 0);
}
