//! The router: queues, agents and target escalation joined, driven through the public
//! [`Router`] API with time passed in. Every test asserts the exact events drained with
//! `take_events` and the state left behind.

#![allow(clippy::unwrap_used)]

use engine::agents::{AgentConfig, AgentError, AgentState, DEFAULT_RESERVE_TIMEOUT_MS};
use engine::queue::{Ewt, EwtConfig, EwtMethod, ItemId, QueueError};
use engine::routing::plan::TargetList;
use engine::routing::router::{
    ItemPhase, OfferEnd, RouteRequest, Router, RouterError, RouterEvent, Work,
};
use engine::store::Millis;

const S: Millis = 1000;
const T: Millis = DEFAULT_RESERVE_TIMEOUT_MS;

// ---------------------------------------------------------------- helpers

fn cfg(id: &str, pairs: &[(&str, &str)]) -> AgentConfig {
    let opts: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    AgentConfig::from_options(id, &opts).unwrap()
}

fn targets(s: &str) -> TargetList {
    TargetList::parse(s).unwrap()
}

/// A voice request to `queue` for `target` (a target string or a `_target` JSON list).
fn req(queue: &str, target: &str) -> RouteRequest {
    RouteRequest::new(queue, targets(target))
}

fn with_priority(mut r: RouteRequest, priority: i32) -> RouteRequest {
    r.priority = priority;
    r
}

fn with_media(mut r: RouteRequest, media: &str) -> RouteRequest {
    r.media = media.to_owned();
    r
}

fn router() -> Router {
    Router::new(EwtConfig::default())
}

/// Adds an agent, logs it in and makes it Ready at `at`; drops the events that caused.
fn ready_agent(r: &mut Router, id: &str, pairs: &[(&str, &str)], at: Millis) {
    r.put_agent(cfg(id, pairs), at).unwrap();
    r.login(id, at).unwrap();
    r.ready(id, at).unwrap();
    r.take_events();
}

/// Adds an agent and logs it in (Not Ready) at `at`; drops the events that caused.
fn idle_agent(r: &mut Router, id: &str, pairs: &[(&str, &str)], at: Millis) {
    r.put_agent(cfg(id, pairs), at).unwrap();
    r.login(id, at).unwrap();
    r.take_events();
}

/// Submits and drops the events that caused.
fn submit(r: &mut Router, rq: RouteRequest, at: Millis) -> ItemId {
    let id = r.submit(rq, at).unwrap();
    r.take_events();
    id
}

fn queued(item: ItemId, queue: &str, position: usize) -> RouterEvent {
    RouterEvent::Queued {
        item,
        queue: queue.to_owned(),
        position,
    }
}

fn offered(item: ItemId, agent: &str, queue: &str, expires_at: Millis) -> RouterEvent {
    offered_on(item, agent, queue, "voice", expires_at)
}

fn offered_on(
    item: ItemId,
    agent: &str,
    queue: &str,
    media: &str,
    expires_at: Millis,
) -> RouterEvent {
    RouterEvent::Offered {
        item,
        agent: agent.to_owned(),
        queue: queue.to_owned(),
        media: media.to_owned(),
        expires_at,
    }
}

fn ended(item: ItemId, agent: &str, reason: OfferEnd) -> RouterEvent {
    RouterEvent::OfferEnded {
        item,
        agent: agent.to_owned(),
        reason,
    }
}

fn state(agent: &str, state: AgentState) -> RouterEvent {
    RouterEvent::AgentState {
        agent: agent.to_owned(),
        state,
    }
}

fn distributed(item: ItemId, agent: &str, queue: &str, waited_ms: Millis) -> RouterEvent {
    RouterEvent::Distributed {
        item,
        agent: agent.to_owned(),
        queue: queue.to_owned(),
        media: "voice".to_owned(),
        waited_ms,
    }
}

fn completed(item: ItemId, agent: &str, handle_ms: Millis) -> RouterEvent {
    RouterEvent::Completed {
        item,
        agent: agent.to_owned(),
        handle_ms,
    }
}

fn targets_changed(item: ItemId, list: &[&str]) -> RouterEvent {
    RouterEvent::TargetsChanged {
        item,
        targets: list.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Accepts and completes (no wrap-up) one offer; drops the events.
fn serve(r: &mut Router, agent: &str, item: ItemId, at: Millis) {
    r.accept(agent, item, at).unwrap();
    r.complete(agent, item, 0, at).unwrap();
    r.take_events();
}

/// The item an agent holds an offer for (exactly one).
fn offer_of(r: &Router, agent: &str) -> ItemId {
    let offers = r.offers(agent);
    assert_eq!(offers.len(), 1, "offers of {agent}: {offers:?}");
    offers[0].item
}

// ---------------------------------------------------------------- order

#[test]
fn one_queue_serves_by_priority_then_age() {
    let mut r = router();
    let a = r.submit(req("VQ", "Billing@Stat.GA"), S).unwrap();
    let b = r
        .submit(with_priority(req("VQ", "Billing@Stat.GA"), 5), 2 * S)
        .unwrap();
    let c = r.submit(req("VQ", "Billing@Stat.GA"), 3 * S).unwrap();
    let d = r
        .submit(with_priority(req("VQ", "Billing@Stat.GA"), 5), 4 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [
            queued(a, "VQ", 1),
            queued(b, "VQ", 1),
            queued(c, "VQ", 3),
            queued(d, "VQ", 2),
        ]
    );
    assert_eq!(
        [a, b, c, d].map(|i| r.position(i).unwrap()),
        [3, 1, 4, 2],
        "priority 5 first, then the older item"
    );

    r.put_agent(cfg("a1", &[("groups", "Billing")]), 10 * S)
        .unwrap();
    r.login("a1", 10 * S).unwrap();
    r.take_events();
    r.ready("a1", 10 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::Ready),
            offered(b, "a1", "VQ", 10 * S + T)
        ]
    );
    let mut served = vec![b];
    for at in [11 * S, 12 * S, 13 * S] {
        let item = served[served.len() - 1];
        serve(&mut r, "a1", item, at);
        served.push(offer_of(&r, "a1"));
    }
    assert_eq!(served, [b, d, a, c]);
}

#[test]
fn two_queues_compete_for_one_agent_by_priority_then_age() {
    let mut r = router();
    let x = submit(&mut r, req("VQ1", "Billing@Stat.GA"), S);
    let y = submit(&mut r, req("VQ2", "Billing@Stat.GA"), 2 * S);
    let z = submit(
        &mut r,
        with_priority(req("VQ2", "Billing@Stat.GA"), 1),
        3 * S,
    );
    let w = submit(&mut r, req("VQ1", "Billing@Stat.GA"), 4 * S);
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 10 * S);
    let mut served = vec![offer_of(&r, "a1")];
    for at in [11 * S, 12 * S, 13 * S] {
        serve(&mut r, "a1", served[served.len() - 1], at);
        served.push(offer_of(&r, "a1"));
    }
    // Z has the higher priority; then the oldest first whichever queue it is in.
    assert_eq!(served, [z, x, y, w]);
    assert_eq!(r.item(x), None, "served items are gone");
    assert_eq!(r.item(w).unwrap().queue, "VQ1");
}

#[test]
fn spanish_item_does_not_block_the_english_item_behind_it() {
    let mut r = router();
    let spanish = submit(&mut r, req("VQ", "?:Spanish>=1@Stat.GA"), S);
    let english = submit(&mut r, req("VQ", "?:English>=1@Stat.GA"), 2 * S);
    idle_agent(&mut r, "en", &[("skills", "English=5")], 0);
    idle_agent(&mut r, "es", &[("skills", "Spanish=5")], 0);

    r.ready("en", 10 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("en", AgentState::Ready),
            offered(english, "en", "VQ", 10 * S + T)
        ]
    );
    assert_eq!(r.item(spanish).unwrap().phase, ItemPhase::Waiting);
    assert_eq!(r.position(spanish), Some(1), "it keeps its place in line");

    r.ready("es", 11 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("es", AgentState::Ready),
            offered(spanish, "es", "VQ", 11 * S + T)
        ]
    );
}

#[test]
fn new_item_goes_to_the_available_agent_it_matches() {
    let mut r = router();
    ready_agent(&mut r, "en", &[("skills", "English=5")], 0);
    ready_agent(&mut r, "es", &[("skills", "Spanish=5")], S);
    let item = r.submit(req("VQ", "?:Spanish>=1@Stat.GA"), 10 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [queued(item, "VQ", 1), offered(item, "es", "VQ", 10 * S + T)],
        "the longer-idle English agent does not match"
    );
}

#[test]
fn drain_events_gives_the_same_events_in_order() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let item = r.submit(req("VQ", "Billing@Stat.GA"), S).unwrap();
    let drained: Vec<RouterEvent> = r.drain_events().collect();
    assert_eq!(
        drained,
        [queued(item, "VQ", 1), offered(item, "a1", "VQ", S + T)]
    );
    assert_eq!(r.take_events(), [], "drained once");
}

// ---------------------------------------------------------------- escalation

const BILLING_THEN_SALES: &str = r#"[{"target":"Billing@Stat.GA","timeout":10},
                                     {"target":"Sales@Stat.GA"}]"#;
const BILLING_THEN_ONLY_SALES: &str =
    r#"[{"target":"Billing@Stat.GA","timeout":10,"clear":true},{"target":"Sales@Stat.GA"}]"#;

#[test]
fn escalation_offers_to_sales_at_exactly_ten_seconds() {
    let mut r = router();
    ready_agent(&mut r, "sales1", &[("groups", "Sales")], 0);
    let t0 = 100 * S;
    let item = r.submit(req("VQ", BILLING_THEN_SALES), t0).unwrap();
    assert_eq!(r.take_events(), [queued(item, "VQ", 1)]);
    assert_eq!(r.item(item).unwrap().targets, ["Billing@Stat.GA"]);
    assert_eq!(r.next_deadline(), Some(t0 + 10 * S));

    r.advance(t0 + 10 * S - 1);
    assert_eq!(r.take_events(), [], "not before the timeout");
    assert!(r.offers("sales1").is_empty());

    r.advance(t0 + 10 * S);
    assert_eq!(
        r.take_events(),
        [
            targets_changed(item, &["Billing@Stat.GA", "Sales@Stat.GA"]),
            offered(item, "sales1", "VQ", t0 + 10 * S + T),
        ]
    );
    assert_eq!(r.next_deadline(), Some(t0 + 10 * S + T), "only the offer");
}

#[test]
fn clear_false_keeps_the_first_target() {
    let mut r = router();
    let item = submit(&mut r, req("VQ", BILLING_THEN_SALES), 0);
    r.advance(10 * S);
    assert_eq!(
        r.take_events(),
        [targets_changed(item, &["Billing@Stat.GA", "Sales@Stat.GA"])]
    );
    // Billing still serves it after the switch.
    idle_agent(&mut r, "billing1", &[("groups", "Billing")], 15 * S);
    r.ready("billing1", 20 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("billing1", AgentState::Ready),
            offered(item, "billing1", "VQ", 20 * S + T)
        ]
    );
}

#[test]
fn clear_true_replaces_the_first_target() {
    let mut r = router();
    let item = submit(&mut r, req("VQ", BILLING_THEN_ONLY_SALES), 0);
    r.advance(10 * S);
    assert_eq!(r.take_events(), [targets_changed(item, &["Sales@Stat.GA"])]);
    idle_agent(&mut r, "billing1", &[("groups", "Billing")], 15 * S);
    r.ready("billing1", 20 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [state("billing1", AgentState::Ready)],
        "Billing no longer serves it"
    );
    assert_eq!(r.item(item).unwrap().targets, ["Sales@Stat.GA"]);
    idle_agent(&mut r, "sales1", &[("groups", "Sales")], 15 * S);
    r.ready("sales1", 21 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("sales1", AgentState::Ready),
            offered(item, "sales1", "VQ", 21 * S + T)
        ]
    );
}

const SKIP_BILLING_IF_NOBODY_READY: &str = r#"[
    {"target":"Billing@Stat.GA","timeout":60,
     "stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":1},
    {"target":"Sales@Stat.GA"}]"#;

#[test]
fn stat_check_skips_an_entry_with_nobody_ready() {
    let mut r = router();
    idle_agent(&mut r, "billing1", &[("groups", "Billing")], 0); // logged in, Not Ready
    ready_agent(&mut r, "sales1", &[("groups", "Sales")], 0);
    let item = r
        .submit(req("VQ", SKIP_BILLING_IF_NOBODY_READY), 5 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [
            queued(item, "VQ", 1),
            offered(item, "sales1", "VQ", 5 * S + T)
        ],
        "Billing skipped at once, without waiting its 60 s"
    );
    assert_eq!(r.item(item).unwrap().targets, ["Sales@Stat.GA"]);
    assert_eq!(
        r.next_deadline(),
        Some(5 * S + T),
        "no escalation timer left"
    );
}

#[test]
fn stat_check_keeps_an_entry_with_someone_ready() {
    let mut r = router();
    ready_agent(&mut r, "billing1", &[("groups", "Billing")], 0);
    let busy = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    r.accept("billing1", busy, 2 * S).unwrap(); // Ready, on a call
    ready_agent(&mut r, "sales1", &[("groups", "Sales")], 3 * S);
    let item = r
        .submit(req("VQ", SKIP_BILLING_IF_NOBODY_READY), 5 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [queued(item, "VQ", 1)],
        "billing1 is Ready (if busy), so Billing is kept and Sales waits its turn"
    );
    assert_eq!(r.item(item).unwrap().targets, ["Billing@Stat.GA"]);
    r.advance(65 * S);
    assert_eq!(
        r.take_events(),
        [
            targets_changed(item, &["Billing@Stat.GA", "Sales@Stat.GA"]),
            offered(item, "sales1", "VQ", 65 * S + T),
        ]
    );
}

#[test]
fn stat_check_at_a_later_switch_reads_agents_then() {
    let list = r#"[
        {"target":"Billing@Stat.GA","timeout":10},
        {"target":"Support@Stat.GA","timeout":30,
         "stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":1},
        {"target":"Sales@Stat.GA"}]"#;
    let mut r = router();
    idle_agent(&mut r, "support1", &[("groups", "Support")], 0);
    let item = submit(&mut r, req("VQ", list), 0);
    // At 10 s nobody in Support is Ready: Support is skipped and Sales added at once.
    r.advance(10 * S);
    assert_eq!(
        r.take_events(),
        [targets_changed(item, &["Billing@Stat.GA", "Sales@Stat.GA"])]
    );
    assert_eq!(r.next_deadline(), None, "the last entry stays for good");
    // Support becoming Ready later does not bring the skipped entry back.
    r.ready("support1", 11 * S).unwrap();
    assert_eq!(r.take_events(), [state("support1", AgentState::Ready)]);
}

#[test]
fn skill_expression_target_needs_every_level() {
    let mut r = router();
    ready_agent(&mut r, "low_loans", &[("skills", "English=5,Loans=1")], 0);
    ready_agent(&mut r, "low_english", &[("skills", "English=4,Loans=3")], 0);
    ready_agent(&mut r, "both", &[("skills", "English=5,Loans=2")], S);
    let item = r
        .submit(req("VQ", "?:English>=5&Loans>=2@Stat.GA"), 10 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [
            queued(item, "VQ", 1),
            offered(item, "both", "VQ", 10 * S + T)
        ]
    );
}

#[test]
fn skill_expression_binds_left_to_right_not_and_first() {
    // URS: `&` and `|` have the same priority, left to right: (Spanish=1 | French=1) & Loans>=2.
    // Read C-style, Spanish=1 | (French=1 & Loans>=2) would match spanish_only.
    let expr = "?:Spanish=1|French=1&Loans>=2@Stat.GA";
    let mut r = router();
    ready_agent(&mut r, "spanish_only", &[("skills", "Spanish=1")], 0);
    let item = r.submit(req("VQ", expr), 10 * S).unwrap();
    assert_eq!(r.take_events(), [queued(item, "VQ", 1)]);
    ready_agent(
        &mut r,
        "french_loans",
        &[("skills", "French=1,Loans=2")],
        11 * S,
    );
    assert_eq!(offer_of(&r, "french_loans"), item);

    // Parentheses restore the other reading.
    let item2 = r
        .submit(req("VQ", "?:Spanish=1|(French=1&Loans>=2)@Stat.GA"), 20 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [
            queued(item2, "VQ", 2),
            offered(item2, "spanish_only", "VQ", 20 * S + T)
        ]
    );
}

// ---------------------------------------------------------------- reservation

#[test]
fn two_queues_racing_never_double_reserve_one_agent() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing,Sales")], 0);
    let i1 = r.submit(req("VQ1", "Billing@Stat.GA"), S).unwrap();
    let i2 = r.submit(req("VQ2", "Sales@Stat.GA"), S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            queued(i1, "VQ1", 1),
            offered(i1, "a1", "VQ1", S + T),
            queued(i2, "VQ2", 1),
        ]
    );
    assert_eq!(r.pool().reserved_count("a1", "voice"), 1);
    assert_eq!(r.item(i2).unwrap().phase, ItemPhase::Waiting);
    assert_eq!(r.item(i2).unwrap().agent, None);

    // The agent rejects the first: it takes the other queue's item, never both.
    r.reject("a1", i1, 2 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(i1, "a1", OfferEnd::Rejected),
            state("a1", AgentState::Ready),
            offered(i2, "a1", "VQ2", 2 * S + T),
        ]
    );
    assert_eq!(r.pool().reserved_count("a1", "voice"), 1);
    assert_eq!(r.item(i1).unwrap().phase, ItemPhase::Waiting);
}

#[test]
fn chat_capacity_two_gets_two_offers() {
    let mut r = router();
    let chat = |rq| with_media(rq, "chat");
    let c1 = submit(&mut r, chat(req("VQ1", "Web@Stat.GA")), S);
    let v1 = submit(&mut r, req("VQ2", "Web@Stat.GA"), 2 * S);
    let c2 = submit(&mut r, chat(req("VQ2", "Web@Stat.GA")), 3 * S);
    let c3 = submit(&mut r, chat(req("VQ1", "Web@Stat.GA")), 4 * S);
    idle_agent(
        &mut r,
        "a1",
        &[
            ("groups", "Web"),
            ("media", "voice,chat"),
            ("capacity", "chat=2"),
        ],
        0,
    );
    r.ready("a1", 10 * S).unwrap();
    let exp = 10 * S + T;
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::Ready),
            offered_on(c1, "a1", "VQ1", "chat", exp),
            offered_on(v1, "a1", "VQ2", "voice", exp),
            offered_on(c2, "a1", "VQ2", "chat", exp),
        ]
    );
    assert_eq!(r.pool().reserved_count("a1", "chat"), 2);
    assert_eq!(r.item(c3).unwrap().phase, ItemPhase::Waiting);

    // One chat accepted: the slot stays taken; completing it frees it for c3.
    r.accept("a1", c1, 11 * S).unwrap();
    r.take_events();
    assert_eq!(r.item(c3).unwrap().phase, ItemPhase::Waiting);
    r.complete("a1", c1, 0, 12 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            completed(c1, "a1", S),
            state("a1", AgentState::Ready),
            offered_on(c3, "a1", "VQ1", "chat", 12 * S + T),
        ]
    );
}

#[test]
fn reject_frees_agent_retries_after_delay_and_prefers_another_agent() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    idle_agent(&mut r, "a2", &[("groups", "Billing")], 0);
    let mut rq = req("VQ", "Billing@Stat.GA");
    rq.reject_retry_ms = 5 * S;
    let item = submit(&mut r, rq, 10 * S);
    assert_eq!(offer_of(&r, "a1"), item);

    r.reject("a1", item, 12 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(item, "a1", OfferEnd::Rejected),
            state("a1", AgentState::Ready),
        ]
    );
    assert!(r.pool().is_available("a1", "voice", 12 * S));
    assert_eq!(
        r.item(item).unwrap().phase,
        ItemPhase::Retrying { until: 17 * S }
    );
    assert_eq!(r.next_deadline(), Some(17 * S));

    r.ready("a2", 13 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [state("a2", AgentState::Ready)],
        "the item sits out its retry delay"
    );
    r.advance(17 * S - 1);
    assert_eq!(r.take_events(), []);
    r.advance(17 * S);
    assert_eq!(
        r.take_events(),
        [offered(item, "a2", "VQ", 17 * S + T)],
        "a1 has been idle longer, but rejected it"
    );
}

#[test]
fn reject_falls_back_to_the_same_agent_when_no_other_fits() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    r.reject("a1", item, 2 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(item, "a1", OfferEnd::Rejected),
            state("a1", AgentState::Ready),
            offered(item, "a1", "VQ", 2 * S + T),
        ],
        "reject_retry_ms = 0: offered again at once"
    );
}

#[test]
fn offer_timeout_sets_agent_not_ready_and_reoffers() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    ready_agent(&mut r, "a2", &[("groups", "Billing")], S);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    assert_eq!(offer_of(&r, "a1"), item, "the longest idle agent first");
    assert_eq!(r.next_deadline(), Some(10 * S + T));

    r.advance(10 * S + T - 1);
    assert_eq!(r.take_events(), []);
    r.advance(10 * S + T);
    assert_eq!(
        r.take_events(),
        [
            ended(item, "a1", OfferEnd::TimedOut),
            state("a1", AgentState::NotReady),
            offered(item, "a2", "VQ", 10 * S + 2 * T),
        ]
    );
    assert_eq!(
        r.pool().agent("a1").unwrap().state(10 * S + T),
        AgentState::NotReady
    );
}

#[test]
fn accept_at_the_deadline_is_no_offer_and_counts_as_a_timeout() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    ready_agent(&mut r, "a2", &[("groups", "Billing")], S);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    let deadline = 10 * S + T;
    assert_eq!(
        r.accept("a1", item, deadline),
        Err(RouterError::NoOffer {
            agent: "a1".into(),
            item
        })
    );
    assert_eq!(
        r.take_events(),
        [
            ended(item, "a1", OfferEnd::TimedOut),
            state("a1", AgentState::NotReady),
            offered(item, "a2", "VQ", deadline + T),
        ]
    );
    assert_eq!(
        r.next_deadline(),
        Some(deadline + T),
        "the old timer is gone"
    );
    r.advance(deadline);
    assert_eq!(r.take_events(), []);
}

#[test]
fn accept_just_before_the_deadline_distributes() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    let w = r.accept("a1", item, 10 * S + T - 1).unwrap();
    assert_eq!(w.since, 10 * S + T - 1);
    assert_eq!(
        r.take_events(),
        [
            distributed(item, "a1", "VQ", T - 1),
            state("a1", AgentState::Ready),
        ]
    );
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn logout_while_holding_an_offer_cancels_and_reoffers() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    ready_agent(&mut r, "a2", &[("groups", "Billing")], S);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    assert_eq!(offer_of(&r, "a1"), item);
    assert_eq!(r.logout("a1", 11 * S).unwrap(), []);
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::LoggedOut),
            ended(item, "a1", OfferEnd::Cancelled),
            offered(item, "a2", "VQ", 11 * S + T),
        ]
    );
    assert_eq!(r.next_deadline(), Some(11 * S + T));
}

#[test]
fn not_ready_while_holding_an_offer_cancels_and_reoffers() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    ready_agent(&mut r, "a2", &[("groups", "Billing")], S);
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    r.not_ready("a1", 11 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::NotReady),
            ended(item, "a1", OfferEnd::Cancelled),
            offered(item, "a2", "VQ", 11 * S + T),
        ]
    );
    // Back to Ready, a1 is not offered the item a2 holds.
    r.ready("a1", 12 * S).unwrap();
    assert_eq!(r.take_events(), [state("a1", AgentState::Ready)]);
}

#[test]
fn cancel_of_an_offered_item_frees_the_agent() {
    // Broke: `Left` was reported after the freed agent's next offer, out of order.
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    let i2 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 2 * S);
    r.cancel(i1, 3 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(i1, "a1", OfferEnd::Cancelled),
            RouterEvent::Left {
                item: i1,
                queue: "VQ".into()
            },
            state("a1", AgentState::Ready),
            offered(i2, "a1", "VQ", 3 * S + T),
        ]
    );
    assert_eq!(r.item(i1), None);
    assert_eq!(r.position(i2), Some(1));
    assert_eq!(r.cancel(i1, 4 * S), Err(RouterError::UnknownItem(i1)));
    let report = r.queue_report("VQ", 4 * S).unwrap();
    assert_eq!(
        (report.stats.abandoned, report.stats.distributed),
        (1, 0),
        "a cancel is not a distribution"
    );
}

#[test]
fn cancel_during_retry_drops_the_retry_timer() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let mut rq = req("VQ", "Billing@Stat.GA");
    rq.reject_retry_ms = 5 * S;
    let item = submit(&mut r, rq, S);
    r.reject("a1", item, 2 * S).unwrap();
    r.take_events();
    assert_eq!(r.next_deadline(), Some(7 * S));
    r.cancel(item, 3 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [RouterEvent::Left {
            item,
            queue: "VQ".into()
        }]
    );
    assert_eq!(r.next_deadline(), None);
    assert!(r.is_empty());
}

#[test]
fn accept_distributes_with_waited_ms_and_the_item_leaves_its_queue() {
    let mut r = router();
    let item = submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 25 * S);
    assert_eq!(offer_of(&r, "a1"), item);
    assert_eq!(r.item(item).unwrap().agent.as_deref(), Some("a1"));
    assert_eq!(r.item(item).unwrap().phase, ItemPhase::Offered);

    // Only the agent holding the offer can take it.
    ready_agent(&mut r, "a2", &[("groups", "Billing")], 25 * S);
    assert_eq!(
        r.accept("a2", item, 26 * S),
        Err(RouterError::NoOffer {
            agent: "a2".into(),
            item
        })
    );
    let w = r.accept("a1", item, 27 * S).unwrap();
    let expected = Work {
        item,
        queue: "VQ".into(),
        media: "voice".into(),
        since: 27 * S,
        interaction: None,
    };
    assert_eq!(w, expected);
    assert_eq!(
        r.take_events(),
        [
            distributed(item, "a1", "VQ", 17 * S),
            state("a1", AgentState::Ready),
        ]
    );
    assert_eq!(r.work("a1"), [expected]);
    assert_eq!((r.item(item), r.position(item), r.len()), (None, None, 0));
    let report = r.queue_report("VQ", 27 * S).unwrap();
    assert_eq!((report.stats.calls, report.stats.distributed), (0, 1));
    r.attach("a1", item, "call-7").unwrap();
    assert_eq!(r.work("a1")[0].interaction.as_deref(), Some("call-7"));
    assert_eq!(
        r.attach("a2", item, "call-7"),
        Err(RouterError::NoInteraction {
            agent: "a2".into(),
            item
        })
    );
}

#[test]
fn wrap_up_ends_exactly_on_time_and_the_agent_takes_the_next_item() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    r.accept("a1", i1, 2 * S).unwrap();
    let i2 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 30 * S);
    let end = 62 * S + 15 * S;
    r.complete("a1", i1, 15 * S, 62 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            completed(i1, "a1", 60 * S),
            state("a1", AgentState::AfterCallWork { until: end }),
        ]
    );
    assert_eq!(r.work("a1"), []);
    assert_eq!(r.next_deadline(), Some(end));
    r.advance(end - 1);
    assert_eq!(r.take_events(), []);
    r.advance(end);
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::Ready),
            offered(i2, "a1", "VQ", end + T),
        ]
    );
    assert_eq!(
        r.complete("a1", i1, 0, end),
        Err(RouterError::NoInteraction {
            agent: "a1".into(),
            item: i1
        })
    );
}

#[test]
fn ready_during_wrap_up_leaves_no_stale_wrap_up_timer() {
    // Broke: the wrap-up timer outlived an early Ready, kept `next_deadline` at the old end and
    // reported the agent Ready a second time there.
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    r.accept("a1", i1, S).unwrap();
    r.complete("a1", i1, 30 * S, 10 * S).unwrap();
    r.take_events();
    assert_eq!(r.next_deadline(), Some(40 * S));
    r.ready("a1", 20 * S).unwrap();
    assert_eq!(r.take_events(), [state("a1", AgentState::Ready)]);
    assert_eq!(r.next_deadline(), None, "wrap-up ended early");
    r.advance(40 * S);
    assert_eq!(
        r.take_events(),
        [],
        "no second Ready at the old wrap-up end"
    );
}

#[test]
fn not_ready_during_wrap_up_leaves_no_stale_wrap_up_timer() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    r.accept("a1", i1, S).unwrap();
    r.complete("a1", i1, 30 * S, 10 * S).unwrap();
    r.take_events();
    r.not_ready("a1", 20 * S).unwrap();
    assert_eq!(r.take_events(), [state("a1", AgentState::NotReady)]);
    assert_eq!(r.next_deadline(), None);
    r.advance(40 * S);
    assert_eq!(r.take_events(), []);
}

// ---------------------------------------------------------------- EWT and lvq

#[test]
fn handle_time_feeds_the_handle_time_estimator() {
    let mut r = router();
    r.configure_queue(
        "VQ",
        EwtConfig {
            method: EwtMethod::HandleTime,
            ..EwtConfig::default()
        },
    )
    .unwrap();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    ready_agent(&mut r, "a2", &[("groups", "Billing")], 0);
    // Two interactions: 60 s talk + 10 s wrap-up, and 100 s talk + 20 s wrap-up.
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    let i2 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    r.accept("a1", i1, 0).unwrap();
    r.accept("a2", i2, 0).unwrap();
    assert_eq!(
        r.item_ewt(i2, 0),
        None,
        "distributed items have no estimate"
    );
    r.complete("a1", i1, 10 * S, 60 * S).unwrap();
    r.complete("a2", i2, 20 * S, 100 * S).unwrap();
    r.advance(120 * S);
    r.take_events();

    // Both agents Ready and holding an offer, a third item waiting at position 3.
    let i3 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 200 * S);
    let i4 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 201 * S);
    let i5 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 202 * S);
    assert_eq!(r.item(i3).unwrap().phase, ItemPhase::Offered);
    assert_eq!(r.item(i4).unwrap().phase, ItemPhase::Offered);
    assert_eq!(r.position(i5), Some(3));
    // AHT = (70 + 120) / 2 = 95 s; EWT = AHT × position / ready agents = 95 × 3 / 2.
    assert_eq!(r.item_ewt(i5, 203 * S), Some(Ewt::Seconds(142.5)));
    let report = r.queue_report("VQ", 203 * S).unwrap();
    assert_eq!((report.ready_agents, report.logged_in_agents), (2, 2));
    // A new item would be 4th: 95 × 4 / 2.
    assert_eq!(report.stats.ewt, Ewt::Seconds(190.0));

    // No agent Ready: no estimate rather than a division by zero.
    r.not_ready("a1", 204 * S).unwrap();
    r.not_ready("a2", 204 * S).unwrap();
    assert_eq!(r.item_ewt(i5, 204 * S), Some(Ewt::Unknown));
}

#[test]
fn queue_report_lvq_fields() {
    let mut r = router();
    assert_eq!(r.queue_report("VQ", 0), None, "never used");
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    submit(&mut r, req("VQ", "Billing@Stat.GA"), 10 * S);
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 20 * S);
    ready_agent(&mut r, "other", &[("groups", "Sales")], 20 * S);
    assert_eq!(offer_of(&r, "a1"), i1);
    r.accept("a1", i1, 20 * S).unwrap(); // waited 20 s from position 1: 20 s per place
    let i3 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 30 * S);
    let i4 = submit(
        &mut r,
        with_priority(req("VQ", "Billing@Stat.GA"), 5),
        40 * S,
    );
    assert_eq!(r.position(i4), Some(1));
    assert_eq!(r.position(i3), Some(3));
    r.complete("a1", i1, 0, 50 * S).unwrap();
    assert_eq!(offer_of(&r, "a1"), i4, "priority first");

    let report = r.queue_report("VQ", 60 * S).unwrap();
    let st = report.stats;
    assert_eq!((st.calls, st.wcalls), (3, 2), "i4 offered; i2, i3 waiting");
    assert_eq!((st.pos, st.wpos), (4, 3), "a new item goes after all three");
    assert_eq!(st.ewt, Ewt::Seconds(80.0), "20 s per place × 4");
    assert_eq!(st.aqt, Some(20.0));
    assert_eq!(st.time, 60);
    assert_eq!(st.head_wait, 50.0, "i2 has waited since 10 s");
    assert_eq!((st.entered, st.distributed, st.abandoned), (4, 1, 0));
    assert_eq!(
        (report.ready_agents, report.logged_in_agents),
        (1, 1),
        "the Sales agent does not serve this queue"
    );

    // i4 accepted after 30 s from position 1: samples 20 and 30 s per place.
    r.accept("a1", i4, 70 * S).unwrap();
    let st = r.queue_report("VQ", 70 * S).unwrap().stats;
    assert_eq!((st.calls, st.wcalls, st.pos, st.wpos), (2, 2, 3, 3));
    assert_eq!(st.aqt, Some(25.0));
    assert_eq!(st.ewt, Ewt::Seconds(75.0), "25 s per place × 3");
    assert_eq!(r.item_ewt(i3, 70 * S), Some(Ewt::Seconds(50.0)));
    assert_eq!(r.queue_names(), ["VQ"]);
}

// ---------------------------------------------------------------- agents

#[test]
fn put_agent_with_new_skills_reevaluates_matching() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("skills", "English=5")], 0);
    let item = submit(&mut r, req("VQ", "?:Spanish>=3@Stat.GA"), S);
    assert!(r.offers("a1").is_empty());
    r.put_agent(cfg("a1", &[("skills", "English=5,Spanish=3")]), 2 * S)
        .unwrap();
    assert_eq!(
        r.take_events(),
        [
            state("a1", AgentState::Ready),
            offered(item, "a1", "VQ", 2 * S + T),
        ],
        "the state is kept and the new skill matches at once"
    );
    // Losing the skill again does not withdraw an offer on a media the agent still handles.
    r.put_agent(cfg("a1", &[("skills", "English=5")]), 3 * S)
        .unwrap();
    assert_eq!(r.take_events(), [state("a1", AgentState::Ready)]);
    assert_eq!(offer_of(&r, "a1"), item);
}

#[test]
fn put_agent_dropping_a_media_cancels_its_offers() {
    let mut r = router();
    let opts = [
        ("groups", "Web"),
        ("media", "voice,chat"),
        ("capacity", "chat=2"),
    ];
    ready_agent(&mut r, "a1", &opts, 0);
    let chat = submit(&mut r, with_media(req("VQ", "Web@Stat.GA"), "chat"), S);
    assert_eq!(offer_of(&r, "a1"), chat);
    r.put_agent(cfg("a1", &[("groups", "Web")]), 2 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(chat, "a1", OfferEnd::Cancelled),
            state("a1", AgentState::Ready),
        ]
    );
    assert_eq!(r.item(chat).unwrap().phase, ItemPhase::Waiting);
}

#[test]
fn lowering_a_capacity_cancels_the_newest_offers_beyond_it() {
    // Broke: only offers on a media the agent no longer had were cancelled, so lowering chat
    // from 2 to 1 left the agent holding two chat offers.
    let mut r = router();
    let two = [
        ("groups", "Web"),
        ("media", "voice,chat"),
        ("capacity", "chat=2"),
    ];
    ready_agent(&mut r, "a1", &two, 0);
    let c1 = submit(&mut r, with_media(req("VQ", "Web@Stat.GA"), "chat"), S);
    let c2 = submit(&mut r, with_media(req("VQ", "Web@Stat.GA"), "chat"), 2 * S);
    assert_eq!(r.pool().reserved_count("a1", "chat"), 2);
    let one = [("groups", "Web"), ("media", "voice,chat")];
    r.put_agent(cfg("a1", &one), 3 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(c2, "a1", OfferEnd::Cancelled),
            state("a1", AgentState::Ready),
        ]
    );
    assert_eq!(offer_of(&r, "a1"), c1);
    assert_eq!(r.item(c2).unwrap().phase, ItemPhase::Waiting);
}

#[test]
fn agent_that_dropped_a_media_still_takes_work_on_the_others() {
    // Broke: the agent stayed indexed as available for the media it no longer had, so when it
    // came free it picked an item on that media, could not reserve it, and stopped looking —
    // leaving a voice item it matched waiting.
    let mut r = router();
    let opts = [("groups", "Web"), ("media", "voice,chat")];
    ready_agent(&mut r, "a1", &opts, 0);
    let v1 = submit(&mut r, req("VQ", "Web@Stat.GA"), S); // a1's voice slot is taken
    assert_eq!(offer_of(&r, "a1"), v1);
    r.put_agent(cfg("a1", &[("groups", "Web")]), 2 * S).unwrap(); // voice only now
    let c1 = submit(&mut r, with_media(req("VQ", "Web@Stat.GA"), "chat"), 3 * S);
    let v2 = submit(&mut r, req("VQ", "Web@Stat.GA"), 4 * S);
    assert_eq!(r.item(c1).unwrap().phase, ItemPhase::Waiting);
    r.reject("a1", v1, 5 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(v1, "a1", OfferEnd::Rejected),
            state("a1", AgentState::Ready),
            offered(v2, "a1", "VQ", 5 * S + T),
        ]
    );
    assert_eq!(r.item(c1).unwrap().phase, ItemPhase::Waiting);
}

#[test]
fn remove_agent_cancels_its_offers_and_returns_its_work() {
    let mut r = router();
    let opts = [("groups", "Web"), ("media", "voice,chat")];
    ready_agent(&mut r, "a1", &opts, 0);
    let v = submit(&mut r, req("VQ", "Web@Stat.GA"), S);
    r.accept("a1", v, 2 * S).unwrap();
    let c = submit(&mut r, with_media(req("VQ", "Web@Stat.GA"), "chat"), 3 * S);
    assert_eq!(offer_of(&r, "a1"), c);
    ready_agent(&mut r, "a2", &opts, 4 * S);
    r.take_events();

    let work = r.remove_agent("a1", 5 * S).unwrap();
    assert_eq!(
        work,
        [Work {
            item: v,
            queue: "VQ".into(),
            media: "voice".into(),
            since: 2 * S,
            interaction: None,
        }]
    );
    assert_eq!(
        r.take_events(),
        [
            ended(c, "a1", OfferEnd::Cancelled),
            offered_on(c, "a2", "VQ", "chat", 5 * S + T),
        ]
    );
    assert!(r.pool().agent("a1").is_none());
    assert_eq!(
        r.ready("a1", 6 * S),
        Err(RouterError::Agent(AgentError::UnknownAgent("a1".into())))
    );
    assert_eq!(
        r.remove_agent("a1", 6 * S),
        Err(RouterError::Agent(AgentError::UnknownAgent("a1".into())))
    );
    // Added again, it starts logged out and takes work like a new agent.
    ready_agent(&mut r, "a1", &opts, 7 * S);
    let v2 = r.submit(req("VQ", "Web@Stat.GA"), 8 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [queued(v2, "VQ", 2), offered(v2, "a2", "VQ", 8 * S + T)],
        "a2 has been idle on voice longer"
    );
}

#[test]
fn remove_agent_in_wrap_up_drops_its_timer() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    r.accept("a1", i, 0).unwrap();
    r.complete("a1", i, 10 * S, S).unwrap();
    r.take_events();
    assert_eq!(r.next_deadline(), Some(11 * S));
    assert_eq!(r.remove_agent("a1", 2 * S).unwrap(), []);
    assert_eq!(r.next_deadline(), None);
    r.advance(11 * S);
    assert_eq!(r.take_events(), []);
}

#[test]
fn logout_returns_work_in_progress() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    r.accept("a1", i, S).unwrap();
    r.take_events();
    let work = r.logout("a1", 2 * S).unwrap();
    assert_eq!(work.iter().map(|w| w.item).collect::<Vec<_>>(), [i]);
    assert_eq!(r.take_events(), [state("a1", AgentState::LoggedOut)]);
    assert_eq!(r.work("a1"), []);
    assert_eq!(
        r.ready("a1", 3 * S),
        Err(RouterError::Agent(AgentError::LoggedOut("a1".into())))
    );
}

// ---------------------------------------------------------------- errors and priority

#[test]
fn bad_media_and_bad_queue_names_are_refused() {
    let mut r = router();
    for media in ["", "vo ice", "voice/2", &"m".repeat(65)] {
        assert_eq!(
            r.submit(with_media(req("VQ", "Billing@Stat.GA"), media), 0),
            Err(RouterError::BadMedia(media.to_owned()))
        );
    }
    let long = "q".repeat(256);
    for queue in ["", "a\nb", "tab\there", long.as_str()] {
        assert_eq!(
            r.submit(req(queue, "Billing@Stat.GA"), 0),
            Err(RouterError::BadQueue(queue.to_owned()))
        );
        assert_eq!(
            r.configure_queue(queue, EwtConfig::default()),
            Err(RouterError::BadQueue(queue.to_owned()))
        );
    }
    assert_eq!(
        r.queue_names(),
        Vec::<String>::new(),
        "no queue was created"
    );
    assert!(r.is_empty());
    assert_eq!(r.take_events(), []);

    // Media names are case-insensitive and trimmed.
    let ok = r
        .submit(with_media(req("VQ", "Billing@Stat.GA"), " Chat "), 0)
        .unwrap();
    assert_eq!(r.item(ok).unwrap().media, "chat");
    assert_eq!(r.queue_names(), ["VQ"]);
    assert_eq!(
        r.configure_queue(
            "VQ",
            EwtConfig {
                alpha: 0.0,
                ..EwtConfig::default()
            }
        ),
        Err(RouterError::Queue(QueueError::InvalidConfig(
            "alpha must be in (0, 1], got 0".into()
        )))
    );
}

#[test]
fn unknown_items_and_agents_are_refused() {
    let mut r = router();
    let ghost = ItemId(99);
    assert_eq!(r.cancel(ghost, 0), Err(RouterError::UnknownItem(ghost)));
    assert_eq!(
        r.set_priority(ghost, 3, 0),
        Err(RouterError::UnknownItem(ghost))
    );
    assert_eq!(
        r.accept("a1", ghost, 0),
        Err(RouterError::NoOffer {
            agent: "a1".into(),
            item: ghost
        })
    );
    assert_eq!(
        r.reject("a1", ghost, 0),
        Err(RouterError::NoOffer {
            agent: "a1".into(),
            item: ghost
        })
    );
    assert_eq!(
        r.complete("a1", ghost, 0, 0),
        Err(RouterError::NoInteraction {
            agent: "a1".into(),
            item: ghost
        })
    );
    let unknown = || RouterError::Agent(AgentError::UnknownAgent("a1".into()));
    assert_eq!(r.login("a1", 0), Err(unknown()));
    assert_eq!(r.ready("a1", 0), Err(unknown()));
    assert_eq!(r.not_ready("a1", 0), Err(unknown()));
    assert_eq!(r.logout("a1", 0), Err(unknown()));
    r.put_agent(cfg("a1", &[]), 0).unwrap();
    assert_eq!(
        r.not_ready("a1", 0),
        Err(RouterError::Agent(AgentError::LoggedOut("a1".into())))
    );
    assert_eq!(r.take_events(), []);
    assert_eq!((r.item(ghost), r.position(ghost)), (None, None));
}

#[test]
fn set_priority_moves_an_item_ahead() {
    let mut r = router();
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    let i2 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 2 * S);
    let i3 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 3 * S);
    assert_eq!(r.set_priority(i3, 10, 4 * S), Ok(1));
    assert_eq!([i1, i2, i3].map(|i| r.position(i).unwrap()), [2, 3, 1]);
    assert_eq!(r.item(i3).unwrap().priority, 10);
    assert_eq!(r.take_events(), []);
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 5 * S);
    assert_eq!(offer_of(&r, "a1"), i3, "served first");

    // Lowered below the rest, i1 goes last and i2 is served next.
    assert_eq!(r.set_priority(i1, -1, 6 * S), Ok(3));
    serve(&mut r, "a1", i3, 7 * S);
    assert_eq!(offer_of(&r, "a1"), i2);
}

#[test]
fn set_priority_of_an_offered_item_keeps_its_offer() {
    let mut r = router();
    ready_agent(&mut r, "a1", &[("groups", "Billing")], 0);
    let i1 = submit(&mut r, req("VQ", "Billing@Stat.GA"), S);
    let i2 = submit(&mut r, req("VQ", "Billing@Stat.GA"), 2 * S);
    assert_eq!(r.set_priority(i2, 5, 3 * S), Ok(1));
    assert_eq!(r.take_events(), []);
    assert_eq!(offer_of(&r, "a1"), i1);
    assert_eq!(r.item(i1).unwrap().phase, ItemPhase::Offered);
    // After a reject the raised item comes first.
    r.reject("a1", i1, 4 * S).unwrap();
    assert_eq!(
        r.take_events(),
        [
            ended(i1, "a1", OfferEnd::Rejected),
            state("a1", AgentState::Ready),
            offered(i2, "a1", "VQ", 4 * S + T),
        ]
    );
}

// ---------------------------------------------------------------- statistics and invariants

#[test]
fn stat_counts_follow_agents_through_state_and_config_changes() {
    // Each submit reads RStatAgentsReady for Billing: below 1, the item starts on Sales.
    let first_targets = |r: &mut Router, at: Millis| {
        let item = r
            .submit(req("VQ", SKIP_BILLING_IF_NOBODY_READY), at)
            .unwrap();
        r.take_events();
        let t = r.item(item).unwrap().targets;
        r.cancel(item, at).unwrap();
        r.take_events();
        t
    };
    let billing = vec!["Billing@Stat.GA".to_owned()];
    let sales = vec!["Sales@Stat.GA".to_owned()];
    let mut r = router();
    assert_eq!(first_targets(&mut r, 0), sales, "no agent at all");
    idle_agent(&mut r, "b1", &[("groups", "Billing")], 0);
    assert_eq!(first_targets(&mut r, S), sales, "logged in, Not Ready");
    r.ready("b1", 2 * S).unwrap();
    assert_eq!(first_targets(&mut r, 2 * S), billing, "Ready");

    // On a call and then in wrap-up.
    let i = submit(&mut r, req("VQ", "Billing@Stat.GA"), 3 * S);
    r.accept("b1", i, 3 * S).unwrap();
    assert_eq!(first_targets(&mut r, 4 * S), billing, "Ready on a call");
    r.complete("b1", i, 10 * S, 5 * S).unwrap();
    assert_eq!(first_targets(&mut r, 6 * S), sales, "in wrap-up");
    r.advance(15 * S);
    assert_eq!(first_targets(&mut r, 15 * S), billing, "wrap-up over");

    // Configuration: out of the group, back in; removed; added again.
    r.put_agent(cfg("b1", &[("groups", "Sales")]), 16 * S)
        .unwrap();
    assert_eq!(first_targets(&mut r, 16 * S), sales, "left Billing");
    r.put_agent(cfg("b1", &[("groups", "Billing")]), 17 * S)
        .unwrap();
    assert_eq!(first_targets(&mut r, 17 * S), billing, "back in Billing");
    r.remove_agent("b1", 18 * S).unwrap();
    assert_eq!(first_targets(&mut r, 18 * S), sales, "removed");
    ready_agent(&mut r, "b1", &[("groups", "Billing")], 19 * S);
    assert_eq!(first_targets(&mut r, 19 * S), billing, "added again");
    r.logout("b1", 20 * S).unwrap();
    assert_eq!(first_targets(&mut r, 20 * S), sales, "logged out");
}

#[test]
fn wrap_up_ending_with_an_escalation_counts_the_agent_ready() {
    // Both due at 10 s: the wrap-up end runs first, so the Loans agent counts as Ready and the
    // Loans entry is kept.
    let list = r#"[{"target":"Billing@Stat.GA","timeout":10},
                   {"target":"Loans@Stat.GA","timeout":60,
                    "stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":1},
                   {"target":"Sales@Stat.GA"}]"#;
    let mut r = router();
    ready_agent(&mut r, "l1", &[("groups", "Loans")], 0);
    let i = submit(&mut r, req("OTHER", "Loans@Stat.GA"), 0);
    r.accept("l1", i, 0).unwrap();
    r.complete("l1", i, 8 * S, 2 * S).unwrap(); // wrap-up until 10 s
    let item = submit(&mut r, req("VQ", list), 0);
    r.advance(10 * S);
    assert_eq!(
        r.take_events(),
        [
            state("l1", AgentState::Ready),
            targets_changed(item, &["Billing@Stat.GA", "Loans@Stat.GA"]),
            offered(item, "l1", "VQ", 10 * S + T),
        ]
    );
}

mod random {
    //! Random operations against a small center, checking after each one what must always
    //! hold: the matching invariant, capacity, and offers consistent with item phases.

    use super::*;
    use engine::routing::target::Target;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::{BTreeMap, BTreeSet};

    const TARGETS: [&str; 6] = [
        "G1@Stat.GA",
        "G2@Stat.GA",
        "?:English>=5@Stat.GA",
        "?:English>=3&Loans>=1|Spanish>=5@Stat.GA",
        r#"[{"target":"G3@Stat.GA","timeout":5},{"target":"G1@Stat.GA","timeout":5,"clear":true},
            {"target":"G2@Stat.GA"}]"#,
        r#"[{"target":"G2@Stat.GA","timeout":8,"stat_to_check":"RStatAgentsReady",
             "stat_operator":"<","stat_value":1},{"target":"G3@Stat.GA"}]"#,
    ];

    fn random_config(rng: &mut StdRng, id: &str) -> AgentConfig {
        let groups: Vec<&str> = ["G1", "G2", "G3"]
            .into_iter()
            .filter(|_| rng.random_bool(0.4))
            .collect();
        let skills = format!(
            "English={},Loans={},Spanish={}",
            rng.random_range(0..8),
            rng.random_range(0..3),
            rng.random_range(0..8)
        );
        let mut opts = vec![("groups", groups.join(",")), ("skills", skills)];
        if rng.random_bool(0.4) {
            opts.push(("media", "voice,chat".into()));
            opts.push(("capacity", format!("chat={}", rng.random_range(1..3))));
        }
        let pairs: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        cfg(id, &pairs)
    }

    struct Model {
        live: BTreeSet<ItemId>,
        /// Work in progress: item → agent.
        work: BTreeMap<ItemId, String>,
    }

    impl Model {
        fn read(&mut self, events: Vec<RouterEvent>) {
            for e in events {
                match e {
                    RouterEvent::Distributed { item, agent, .. } => {
                        assert!(self.live.remove(&item), "{item} distributed twice");
                        self.work.insert(item, agent);
                    }
                    RouterEvent::Left { item, .. } => {
                        assert!(self.live.remove(&item), "{item} left twice");
                    }
                    _ => {}
                }
            }
        }

        fn drop_work(&mut self, work: &[Work]) {
            for w in work {
                self.work.remove(&w.item);
            }
        }
    }

    fn check(r: &Router, m: &Model, now: Millis) {
        assert_eq!(r.len(), m.live.len());
        let pool = r.pool();
        for &id in &m.live {
            let v = r.item(id).unwrap();
            let reservation = pool.reservation(id);
            match v.phase {
                ItemPhase::Offered => {
                    let res = reservation.unwrap_or_else(|| panic!("{id} offered, no reservation"));
                    assert_eq!(v.agent.as_deref(), Some(res.agent.as_str()));
                    assert!(res.expires_at > now, "{id}: offer past its deadline");
                }
                ItemPhase::Waiting | ItemPhase::Retrying { .. } => {
                    assert!(reservation.is_none(), "{id} {:?} holds an offer", v.phase);
                }
            }
            if v.phase == ItemPhase::Waiting {
                let targets: Vec<Target> = v
                    .targets
                    .iter()
                    .map(|t| Target::parse(t).unwrap())
                    .collect();
                for a in pool.agents() {
                    let matches = targets.iter().any(|t| a.config().matches(t));
                    assert!(
                        !(matches && pool.is_available(a.id(), &v.media, now)),
                        "{id} waits on {:?} while {} is available for it",
                        v.targets,
                        a.id()
                    );
                }
            }
        }
        for a in pool.agents() {
            for (media, cap) in &a.config().capacity {
                // Interactions may exceed a capacity lowered under them; offers never do.
                let (load, held) = (a.load(media), pool.reserved_count(a.id(), media));
                assert!(
                    held == 0 || load + held <= *cap,
                    "{} over capacity on {media}: load {load}, offers {held}, capacity {cap}",
                    a.id()
                );
            }
            assert_eq!(
                r.offers(a.id()).len(),
                pool.reservations().filter(|x| x.agent == a.id()).count()
            );
        }
    }

    #[test]
    fn random_operations_keep_the_router_consistent() {
        let requests: Vec<TargetList> = TARGETS.iter().map(|t| targets(t)).collect();
        for seed in 0..8 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut r = router();
            let ids: Vec<String> = (0..6).map(|i| format!("a{i}")).collect();
            for id in &ids {
                let c = random_config(&mut rng, id);
                r.put_agent(c, 0).unwrap();
            }
            let mut m = Model {
                live: BTreeSet::new(),
                work: BTreeMap::new(),
            };
            let mut now: Millis = 0;
            for _ in 0..1000 {
                let target = now + rng.random_range(0..2_500);
                // Timers run exactly when due, as the actor above runs them.
                while let Some(d) = r.next_deadline().filter(|d| *d <= target) {
                    r.advance(d);
                    now = d;
                    let ev = r.take_events();
                    m.read(ev);
                    check(&r, &m, now);
                }
                now = target;
                let agent = ids[rng.random_range(0..ids.len())].clone();
                let live: Vec<ItemId> = m.live.iter().copied().collect();
                let pick = |rng: &mut StdRng| live[rng.random_range(0..live.len())];
                match rng.random_range(0..100) {
                    0..=24 => {
                        let mut rq = RouteRequest::new(
                            ["VQ1", "VQ2", "VQ3"][rng.random_range(0..3)],
                            requests[rng.random_range(0..requests.len())].clone(),
                        );
                        rq.priority = rng.random_range(0..3);
                        rq.reserve_timeout_ms = rng.random_range(1..20) * S;
                        rq.reject_retry_ms = rng.random_range(0..3) * S;
                        if rng.random_bool(0.3) {
                            rq.media = "chat".into();
                        }
                        m.live.insert(r.submit(rq, now).unwrap());
                    }
                    25..=31 if !live.is_empty() => r.cancel(pick(&mut rng), now).unwrap(),
                    32..=34 if !live.is_empty() => {
                        let p = rng.random_range(-1..4);
                        r.set_priority(pick(&mut rng), p, now).unwrap();
                    }
                    35..=49 => {
                        let offers: Vec<(String, ItemId)> = r
                            .pool()
                            .reservations()
                            .map(|x| (x.agent.clone(), x.item))
                            .collect();
                        if !offers.is_empty() {
                            let (a, item) = offers[rng.random_range(0..offers.len())].clone();
                            if rng.random_bool(0.7) {
                                r.accept(&a, item, now).unwrap();
                            } else {
                                r.reject(&a, item, now).unwrap();
                            }
                        }
                    }
                    50..=61 => {
                        if let Some((&item, a)) = m.work.iter().nth(rng.random_range(0..10)) {
                            let a = a.clone();
                            let acw = rng.random_range(0..3) * S;
                            r.complete(&a, item, acw, now).unwrap();
                            m.work.remove(&item);
                        }
                    }
                    62..=77 => {
                        let _ = r.login(&agent, now);
                        r.ready(&agent, now).unwrap();
                    }
                    78..=85 => {
                        let _ = r.not_ready(&agent, now);
                    }
                    86..=89 => {
                        if let Ok(work) = r.logout(&agent, now) {
                            m.drop_work(&work);
                        }
                    }
                    90..=95 => {
                        let c = random_config(&mut rng, &agent);
                        r.put_agent(c, now).unwrap();
                        // Work on a media the agent no longer has stays with the router.
                    }
                    _ => {
                        let work = r.remove_agent(&agent, now).unwrap();
                        m.drop_work(&work);
                        let c = random_config(&mut rng, &agent);
                        r.put_agent(c, now).unwrap();
                    }
                }
                let ev = r.take_events();
                m.read(ev);
                check(&r, &m, now);
            }
        }
    }
}

#[test]
fn transfer_moves_the_interaction_and_frees_the_first_agent_for_the_next_item() {
    let mut r = router();
    ready_agent(&mut r, "ann", &[("groups", "Billing")], 0);
    idle_agent(&mut r, "sam", &[("groups", "Supervisors")], 0);
    let first = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    r.accept("ann", first, S).unwrap();
    let second = submit(&mut r, req("VQ", "Billing@Stat.GA"), 2 * S);
    r.take_events();

    // Sam is Not Ready but logged in: a transfer still reaches him.
    let w = r.transfer("ann", first, "sam", 5 * S).unwrap();
    assert_eq!((w.item, w.since), (first, S));
    let events = r.take_events();
    assert_eq!(
        events[0],
        RouterEvent::Transferred {
            item: first,
            from: "ann".into(),
            to: "sam".into()
        }
    );
    // Ann is free at once and takes the waiting item.
    assert!(events.iter().any(|e| matches!(e,
        RouterEvent::Offered { item, agent, .. } if *item == second && agent == "ann")));
    assert_eq!(r.work("sam").len(), 1);
    assert!(r.work("ann").is_empty());

    // Sam is now at voice capacity: nothing more can be transferred to him.
    r.accept("ann", second, 6 * S).unwrap();
    assert!(matches!(
        r.transfer("ann", second, "sam", 7 * S),
        Err(RouterError::Agent(AgentError::AtCapacity { ref agent, .. })) if agent == "sam"
    ));
    assert_eq!(r.work("ann").len(), 1, "a refused transfer changes nothing");
    assert!(matches!(
        r.transfer("ann", first, "sam", 7 * S),
        Err(RouterError::NoInteraction { ref agent, item }) if agent == "ann" && item == first
    ));
    assert!(matches!(
        r.transfer("ann", second, "nobody", 7 * S),
        Err(RouterError::Agent(AgentError::UnknownAgent(ref a))) if a == "nobody"
    ));
    // Completion on the receiving side records the whole handle time (1 s → 61 s).
    let done = r.complete("sam", first, 0, 61 * S).unwrap();
    assert_eq!(done.item, first);
    assert!(r.take_events().contains(&RouterEvent::Completed {
        item: first,
        agent: "sam".into(),
        handle_ms: 60 * S
    }));
}

#[test]
fn available_agents_count_only_the_media_the_queue_carries() {
    let mut r = router();
    ready_agent(
        &mut r,
        "ann",
        &[
            ("groups", "Billing"),
            ("media", "voice,chat"),
            ("capacity", "chat=2"),
        ],
        0,
    );
    let first = submit(&mut r, req("VQ", "Billing@Stat.GA"), 0);
    r.accept("ann", first, S).unwrap();
    submit(&mut r, req("VQ", "Billing@Stat.GA"), 2 * S);
    let report = r.queue_report("VQ", 2 * S).unwrap();
    // Busy on voice with chat slots free: Ready, but not available to this voice queue.
    assert_eq!(
        (
            report.ready_agents,
            report.available_agents,
            report.logged_in_agents
        ),
        (1, 0, 1)
    );
    assert_eq!(report.stats.wcalls, 1);
}

// ---------------------------------------------------------------- resubmission after a restart

#[test]
fn a_resubmitted_item_keeps_its_age_its_place_and_its_escalation() {
    let mut r = router();
    // Before the restart: `old` entered at 0 s, `young` at 5 s.
    let list =
        r#"[{"target":"Sales@StatServer.GA","timeout":10},{"target":"Support@StatServer.GA"}]"#;
    let mut old = req("vq", list);
    old.enqueued_at = Some(0);
    let mut young = req("vq", list);
    young.enqueued_at = Some(5 * S);
    // After it, at 8 s, a new item arrives first; the resubmitted ones come in afterwards.
    let fresh = submit(&mut r, req("vq", list), 8 * S);
    let young = submit(&mut r, young, 8 * S);
    let old = submit(&mut r, old, 8 * S);
    assert_eq!(r.position(old), Some(1));
    assert_eq!(r.position(young), Some(2));
    assert_eq!(r.position(fresh), Some(3));
    // `old` adds Support 10 s after it first entered, not 10 s after resubmission.
    assert_eq!(r.next_deadline(), Some(10 * S));
    r.advance(10 * S);
    assert_eq!(
        r.take_events(),
        vec![RouterEvent::TargetsChanged {
            item: old,
            targets: vec!["Sales@StatServer.GA".into(), "Support@StatServer.GA".into()],
        }]
    );
    let view = r.item(old).unwrap();
    assert_eq!(view.enqueued_at, 0);
    // A support agent takes the oldest first; it waited the whole 12 s.
    ready_agent(&mut r, "sam", &[("groups", "Support")], 12 * S);
    r.accept("sam", old, 12 * S).unwrap();
    let events = r.take_events();
    assert!(
        events.contains(&distributed(old, "sam", "vq", 12 * S)),
        "{events:?}"
    );
    // An entry time in the future is taken as now.
    let mut later = req("vq", list);
    later.enqueued_at = Some(99 * S);
    let later = submit(&mut r, later, 13 * S);
    assert_eq!(r.item(later).unwrap().enqueued_at, 13 * S);
}
