//! `CenterCore` with time passed in: the default inbound strategy from arrival to wrap-up,
//! abandonment, and an hour of demo traffic checked against the routing invariants at every
//! step.

#![allow(clippy::unwrap_used)] // tests on data they built

use actors::center::core::{AgentEventKind, CenterCore, Poll};
use actors::center::settings::{agents_from_config, CenterSettings, DemoSettings};
use engine::agents::AgentState;
use engine::config::Config;
use engine::routing::router::OfferEnd;
use engine::telephony::CallState;

const INI: &str = r#"
[routing]
inbound_queue = Support
inbound_target = Support@Stat.GA
reserve_timeout = 10
after_call_work = 5

[agent.ann]
groups = Support
media = voice, chat
capacity = chat=2

[agent.ben]
groups = Support
"#;

fn core(ini: &str, t0: i64) -> CenterCore {
    let (config, warnings) = Config::parse(ini).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let settings = CenterSettings::from_config(&config).unwrap();
    let (agents, problems) = agents_from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    CenterCore::new(settings, agents, t0)
}

fn events(c: &mut CenterCore, agent: &str, since: u64) -> Vec<AgentEventKind> {
    match c.poll(agent, since).unwrap() {
        Poll::Events(e) => e.into_iter().map(|e| e.kind).collect(),
        Poll::Wait(_) => Vec::new(),
    }
}

#[test]
fn a_call_goes_from_arrival_to_wrap_up() {
    let mut c = core(INI, 0);
    c.login("ann", 0).unwrap();
    let since = c.ready("ann", 0).unwrap().last_event;
    let t = c.inbound_call("+16505550100", "8000", None, 1_000).unwrap();
    assert_eq!(
        c.interaction(t.interaction).unwrap().state,
        CallState::Treatment("music".into())
    );
    let offer = c.agent("ann", 1_000).unwrap().offers[0].clone();
    assert_eq!(offer.customer.as_deref(), Some("+16505550100"));
    assert_eq!(offer.expires_at, 11_000);
    c.accept("ann", offer.offer, 3_000).unwrap();
    let call = c.interaction(t.interaction).unwrap();
    assert_eq!(call.state, CallState::Established);
    assert_eq!(call.agent(), Some("ann"));
    c.complete("ann", &t.interaction.to_string(), 63_000)
        .unwrap();
    assert_eq!(
        c.interaction(t.interaction).unwrap().state,
        CallState::Released
    );
    let view = c.agent("ann", 63_000).unwrap();
    assert_eq!(view.state, AgentState::AfterCallWork { until: 68_000 });
    assert!(view.interactions.is_empty());
    assert_eq!(c.next_deadline(), Some(68_000));
    c.advance(68_000);
    assert_eq!(c.agent("ann", 68_000).unwrap().state, AgentState::Ready);
    let kinds: Vec<&'static str> = events(&mut c, "ann", since)
        .iter()
        .map(|k| match k {
            AgentEventKind::State { .. } => "state",
            AgentEventKind::Offer { .. } => "offer",
            AgentEventKind::OfferEnded { .. } => "offer_ended",
            AgentEventKind::InteractionStarted { .. } => "started",
            AgentEventKind::InteractionReleased { .. } => "released",
            AgentEventKind::InteractionEnded { .. } => "ended",
            AgentEventKind::InteractionTransferred { .. } => "transferred",
        })
        .collect();
    assert_eq!(
        kinds,
        ["offer", "started", "state", "released", "ended", "state", "state"]
    );
    let q = c.queue("Support", 68_000).unwrap();
    assert_eq!((q.stats.entered, q.stats.distributed), (1, 1));
    assert_eq!(q.stats.aqt, Some(2.0), "offered at 1 s, accepted at 3 s");
}

#[test]
fn a_caller_who_hangs_up_while_offered_frees_the_agent() {
    let mut c = core(INI, 0);
    c.login("ben", 0).unwrap();
    let since = c.ready("ben", 0).unwrap().last_event;
    let t = c.inbound_call("+16505550101", "8000", None, 0).unwrap();
    assert_eq!(c.agent("ben", 0).unwrap().offers.len(), 1);
    c.customer_hangup(t.interaction, 2_000).unwrap();
    assert!(c.agent("ben", 2_000).unwrap().offers.is_empty());
    let ended = events(&mut c, "ben", since);
    assert!(ended.contains(&AgentEventKind::OfferEnded {
        offer: t.item.unwrap(),
        reason: OfferEnd::Cancelled
    }));
    let q = c.queue("Support", 2_000).unwrap();
    assert_eq!((q.stats.calls, q.stats.abandoned), (0, 1));
}

#[test]
fn an_offer_nobody_answers_times_out_and_the_agent_goes_not_ready() {
    let mut c = core(INI, 0);
    c.login("ben", 0).unwrap();
    c.ready("ben", 0).unwrap();
    c.inbound_call("+16505550102", "8000", None, 0).unwrap();
    assert_eq!(c.next_deadline(), Some(10_000));
    c.advance(9_999);
    assert_eq!(c.agent("ben", 9_999).unwrap().offers.len(), 1);
    c.advance(10_000);
    let ben = c.agent("ben", 10_000).unwrap();
    assert!(ben.offers.is_empty());
    assert_eq!(ben.state, AgentState::NotReady);
    assert_eq!(c.queue("Support", 10_000).unwrap().stats.wcalls, 1);
}

/// An hour of demo traffic (30 calls a minute on two agents, so the queue builds), checked at
/// every timer: no agent is ever offered or given more than its capacity, every call is
/// either queued, offered, with an agent, or over, and the queue drains once arrivals stop.
#[test]
fn an_hour_of_demo_traffic_keeps_the_routing_invariants() {
    let mut c = core(INI, 0);
    let demo = DemoSettings {
        calls_per_minute: 30.0,
        accept_after_ms: 1_500,
        talk_mean_ms: 3_000,
        talk_sigma: 0.6,
        wrap_up_ms: 500,
        dnis: "8000".into(),
        seed: 7,
    };
    c.start_demo(demo, 0);
    let mut now = 0;
    let mut steps = 0;
    while let Some(at) = c.next_deadline() {
        if at > 3_600_000 {
            break;
        }
        now = at;
        c.advance(now);
        steps += 1;
        for a in c.agents(now) {
            let voice = a.offers.iter().filter(|o| o.media == "voice").count()
                + a.interactions.iter().filter(|w| w.media == "voice").count();
            assert!(
                voice <= 1,
                "agent {} over voice capacity at {now}: {a:?}",
                a.config.id
            );
        }
    }
    assert!(steps > 1_000, "only {steps} steps");
    let q = c.queue("Support", now).unwrap();
    assert!(q.stats.entered > 1_500, "{:?}", q.stats);
    assert!(
        q.stats.distributed + q.stats.calls as u64 == q.stats.entered,
        "{:?}",
        q.stats
    );
    assert!(
        q.stats.aqt.is_some() && q.stats.ewt.seconds().is_some(),
        "{:?}",
        q.stats
    );
}
