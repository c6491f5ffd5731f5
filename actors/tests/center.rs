//! `CenterCore` with time passed in: owners hear what happens to their items and calls.

#![allow(clippy::unwrap_used)] // tests on data they built

use std::sync::Arc;

use actors::center::core::{CenterCore, LeftReason, Notice, Owner, Submit};
use actors::center::settings::{agents_from_config, CenterSettings};
use engine::agents::AgentState;
use engine::config::Config;
use engine::routing::plan::TargetList;
use engine::routing::router::RouteRequest;
use engine::telephony::{CallState, EventKind, Party, Releaser};

const INI: &str = r#"
[routing]
inbound_queue = Support
inbound_target = Support@Stat.GA
reserve_timeout = 10
after_call_work = 5

[agent.ben]
groups = Support
"#;

fn core(t0: i64) -> CenterCore {
    let (config, warnings) = Config::parse(INI).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let settings = CenterSettings::from_config(&config).unwrap();
    let (agents, problems) = agents_from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    CenterCore::new(settings, agents, t0)
}

fn session(id: &str) -> Owner {
    Owner::Session(Arc::from(id))
}

fn submit(owner: Owner, tag: &str) -> Submit {
    Submit {
        request: RouteRequest::new("Support", TargetList::parse("Support@Stat.GA").unwrap()),
        owner,
        tag: tag.into(),
        interaction: None,
        timeout_ms: None,
        user_data: vec![("account".into(), "42".into())],
    }
}

/// The notices for one owner, without the agents' desktop events.
fn for_owner(c: &mut CenterCore, owner: &Owner) -> Vec<Notice> {
    c.take_notices()
        .into_iter()
        .filter(|(o, _)| o == owner)
        .map(|(_, n)| n)
        .collect()
}

#[test]
fn an_owner_hears_its_item_from_queued_to_completed() {
    let mut c = core(0);
    let me = session("s1");
    let item = c.submit(submit(me.clone(), "q1"), 0).unwrap();
    assert_eq!(
        for_owner(&mut c, &me),
        [Notice::Queued {
            tag: "q1".into(),
            item,
            queue: "Support".into(),
            position: 1
        }]
    );
    c.login("ben", 1_000).unwrap();
    c.ready("ben", 1_000).unwrap();
    let offer = c.agent("ben", 1_000).unwrap().offers[0].clone();
    assert_eq!(offer.user_data, [("account".to_string(), "42".to_string())]);
    c.accept("ben", item, 2_000).unwrap();
    c.complete("ben", &item.0.to_string(), 9_000).unwrap();
    assert_eq!(
        for_owner(&mut c, &me),
        [
            Notice::Offered {
                tag: "q1".into(),
                item,
                agent: "ben".into(),
                expires_at: 31_000
            },
            Notice::Routed {
                tag: "q1".into(),
                item,
                agent: "ben".into(),
                queue: "Support".into(),
                waited_ms: 2_000,
                interaction: None
            },
            Notice::Completed {
                tag: "q1".into(),
                item,
                agent: "ben".into(),
                handle_ms: 7_000
            },
        ]
    );
    assert_eq!(
        c.agent("ben", 9_000).unwrap().state,
        AgentState::AfterCallWork { until: 14_000 }
    );
}

#[test]
fn an_item_routing_a_call_is_abandoned_when_the_caller_hangs_up() {
    let mut c = core(0);
    let me = session("s1");
    let ixn = c
        .inbound_call("+16505550100", "8000", Some((me.clone(), "call".into())), 0)
        .unwrap();
    let mut s = submit(me.clone(), "q1");
    s.interaction = Some(ixn);
    let item = c.submit(s, 0).unwrap();
    // One call is routed by one item at a time.
    let mut again = submit(me.clone(), "q2");
    again.interaction = Some(ixn);
    assert!(c
        .submit(again, 0)
        .unwrap_err()
        .to_string()
        .contains("already being routed"));
    c.take_notices();
    c.customer_hangup(ixn, 5_000).unwrap();
    let notices = for_owner(&mut c, &me);
    let last_two = &notices[notices.len() - 2..];
    assert_eq!(
        last_two,
        [
            Notice::Call {
                tag: "call".into(),
                ixn,
                event: EventKind::Released {
                    by: Releaser::Party(Party::Customer("+16505550100".into()))
                }
            },
            Notice::Left {
                tag: "q1".into(),
                item,
                queue: "Support".into(),
                reason: LeftReason::Abandoned
            },
        ]
    );
    let q = c.queue("Support", 5_000).unwrap();
    assert_eq!((q.stats.calls, q.stats.abandoned), (0, 1));
}

#[test]
fn an_item_leaves_at_its_timeout_and_a_new_call_asks_for_a_strategy() {
    let mut c = core(0);
    let me = session("s1");
    let mut s = submit(me.clone(), "q1");
    s.timeout_ms = Some(5_000);
    let item = c.submit(s, 0).unwrap();
    c.take_notices();
    assert_eq!(c.next_deadline(), Some(5_000));
    c.advance(4_999);
    assert!(c.item(item).is_some());
    c.advance(5_000);
    assert_eq!(
        for_owner(&mut c, &me),
        [Notice::Left {
            tag: "q1".into(),
            item,
            queue: "Support".into(),
            reason: LeftReason::Timeout
        }]
    );
    // A call with no owner waits at its route point and asks for a strategy.
    let ixn = c.inbound_call("+16505550100", "8000", None, 6_000).unwrap();
    assert_eq!(
        for_owner(&mut c, &Owner::RoutePoint),
        [Notice::RouteRequest {
            ixn,
            customer: "+16505550100".into(),
            dnis: "8000".into(),
            media: engine::telephony::Media::Voice
        }]
    );
    assert_eq!(c.interaction(ixn).unwrap().state, CallState::Alerting);
    c.claim_call(ixn, me.clone(), "call".into()).unwrap();
    c.release_call(ixn, 7_000).unwrap();
    let notices = for_owner(&mut c, &me);
    assert!(matches!(
        notices.last(),
        Some(Notice::Call {
            event: EventKind::Released {
                by: Releaser::Network
            },
            ..
        })
    ));
}
