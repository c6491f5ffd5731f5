//! The telephony simulator: dial rules (matching, JSON, validation) and the switch's
//! interactions, timers, treatments, bridging, hang-ups, transfers and chats.

#![allow(clippy::unwrap_used)]

use engine::telephony::{
    CallState, DialRules, EventKind, IxnId, Outcome, Party, Releaser, RulesError, Switch,
    SwitchError, SwitchEvent,
};

fn rules(json: &str) -> DialRules {
    DialRules::from_json(json).unwrap()
}

fn kinds(events: &[SwitchEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

fn field_error(json: &str) -> (Option<usize>, String) {
    match DialRules::from_json(json) {
        Err(RulesError::Field { index, field, .. }) => (index, field),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn cust(n: &str) -> Party {
    Party::Customer(n.into())
}

fn agent(a: &str) -> Party {
    Party::Agent(a.into())
}

const SAMPLE: &str = r#"{"rules":[
    {"match":"6505550100","outcome":"busy","after_ms":500},
    {"match":"650*","outcome":"answer","after_ms":2000},
    {"match":"/^\\+1900/","outcome":"invalid","after_ms":10},
    {"match":"6505550100","outcome":"machine","after_ms":1},
    {"match":"/^555\\d{4}$/","outcome":"no_answer","after_ms":30000}
  ],
  "default":{"outcome":"machine","after_ms":3000}}"#;

#[test]
fn first_matching_rule_wins_then_default() {
    let r = rules(SAMPLE);
    assert_eq!(r.outcome("6505550100"), (Outcome::Busy, 500));
    assert_eq!(r.outcome("6505550199"), (Outcome::Answer, 2000));
    assert_eq!(r.outcome("+19005551234"), (Outcome::Invalid, 10));
    assert_eq!(r.outcome("5551234"), (Outcome::NoAnswer, 30000));
    assert_eq!(r.outcome("55512345"), (Outcome::Machine, 3000));
    assert_eq!(r.outcome("+14155550000"), (Outcome::Machine, 3000));
}

#[test]
fn undialable_numbers_are_invalid_whatever_the_rules() {
    let r = rules(r#"{"rules":[{"match":"*","outcome":"answer","after_ms":5}]}"#);
    assert_eq!(r.outcome("12"), (Outcome::Invalid, 0));
    assert_eq!(r.outcome("650-555-0100"), (Outcome::Invalid, 0));
    assert_eq!(r.outcome("++1650"), (Outcome::Invalid, 0));
    assert_eq!(r.outcome(""), (Outcome::Invalid, 0));
    assert_eq!(r.outcome("1234567890123456"), (Outcome::Invalid, 0));
    assert_eq!(r.outcome("+123"), (Outcome::Answer, 5));
    assert_eq!(r.outcome("123456789012345"), (Outcome::Answer, 5));
}

#[test]
fn default_rules_answer_after_a_second() {
    assert_eq!(
        DialRules::default().outcome("5550100"),
        (Outcome::Answer, 1000)
    );
    let r = rules(r#"{"rules":[]}"#);
    assert_eq!(r.outcome("5550100"), (Outcome::Answer, 1000));
}

#[test]
fn rules_json_round_trip() {
    let r = rules(SAMPLE);
    let again = DialRules::from_json(&r.to_json()).unwrap();
    assert_eq!(again.to_value(), r.to_value());
    assert_eq!(r.to_value()["rules"][2]["match"], "/^\\+1900/");
    assert_eq!(r.to_value()["rules"][1]["match"], "650*");
    assert_eq!(r.to_value()["default"]["outcome"], "machine");
    // serde (de)serialisation goes through the same shape and validation.
    let via_serde: DialRules = serde_json::from_str(SAMPLE).unwrap();
    assert_eq!(serde_json::to_value(&via_serde).unwrap(), r.to_value());
    let bad: Result<DialRules, _> = serde_json::from_str(r#"{"rules":[{"match":"1*2"}]}"#);
    assert!(bad.unwrap_err().to_string().contains("rules[0].match"));
    // after_ms defaults to 0.
    let r = rules(r#"{"rules":[{"match":"5550100","outcome":"busy"}]}"#);
    assert_eq!(r.outcome("5550100"), (Outcome::Busy, 0));
}

#[test]
fn rules_validation_names_the_rule_and_field() {
    let ok = r#"{"match":"1","outcome":"answer"}"#;
    let case = |bad: &str| field_error(&format!(r#"{{"rules":[{ok},{bad}]}}"#));
    assert_eq!(case(r#"{"outcome":"busy"}"#), (Some(1), "match".into()));
    assert_eq!(
        case(r#"{"match":"","outcome":"busy"}"#),
        (Some(1), "match".into())
    );
    assert_eq!(
        case(r#"{"match":"1*2","outcome":"busy"}"#),
        (Some(1), "match".into())
    );
    assert_eq!(
        case(r#"{"match":"/(/","outcome":"busy"}"#),
        (Some(1), "match".into())
    );
    assert_eq!(
        case(r#"{"match":7,"outcome":"busy"}"#),
        (Some(1), "match".into())
    );
    assert_eq!(
        case(r#"{"match":"1","outcome":"hold"}"#),
        (Some(1), "outcome".into())
    );
    assert_eq!(case(r#"{"match":"1"}"#), (Some(1), "outcome".into()));
    assert_eq!(
        case(r#"{"match":"1","outcome":"busy","after_ms":-1}"#),
        (Some(1), "after_ms".into())
    );
    assert_eq!(
        case(r#"{"match":"1","outcome":"busy","after_ms":1.5}"#),
        (Some(1), "after_ms".into())
    );
    assert_eq!(
        case(r#"{"match":"1","outcome":"busy","after_ms":3600001}"#),
        (Some(1), "after_ms".into())
    );
    assert_eq!(
        case(r#"{"match":"1","outcome":"busy","delay":1}"#),
        (Some(1), "delay".into())
    );
    assert_eq!(case(r#""1""#), (Some(1), "".into()));
    assert_eq!(
        field_error(r#"{"default":{"outcome":"nope"}}"#),
        (None, "default.outcome".into())
    );
    assert_eq!(
        field_error(r#"{"default":{"outcome":"busy","after_ms":"5"}}"#),
        (None, "default.after_ms".into())
    );
    assert_eq!(field_error(r#"{"rules":{}}"#), (None, "rules".into()));
    assert_eq!(field_error(r#"{"rule":[]}"#), (None, "rule".into()));
    assert_eq!(field_error("[]"), (None, "".into()));
    let err = DialRules::from_json(&format!(
        r#"{{"rules":[{ok},{{"match":"1","outcome":"x"}}]}}"#
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("rules[1].outcome: unknown outcome"),
        "{err}"
    );
    assert!(matches!(
        DialRules::from_json("{"),
        Err(RulesError::Json(_))
    ));
}

/// Dials `number` at t=1000 under SAMPLE-like rules and checks the outcome fires at exactly
/// 1000 + after_ms, not a millisecond before.
fn outcome_fires_at(outcome: &str, after: i64) -> (Switch, IxnId, Vec<SwitchEvent>) {
    let mut sw = Switch::new(rules(&format!(
        r#"{{"rules":[{{"match":"5550100","outcome":"{outcome}","after_ms":{after}}}]}}"#
    )));
    let id = sw.dial("5550100", 1000);
    assert_eq!(sw.next_deadline(), Some(1000 + after));
    let first = sw.advance(1000 + after - 1);
    assert_eq!(
        first[0].kind,
        EventKind::Dialing {
            number: "5550100".into()
        }
    );
    assert!(first.iter().all(|e| e.at == 1000));
    let events = sw.advance(1000 + after);
    assert!(events.iter().all(|e| e.at == 1000 + after && e.ixn == id));
    assert_eq!(sw.next_deadline(), None);
    (sw, id, [first, events].concat())
}

#[test]
fn each_outcome_fires_at_exactly_after_ms() {
    let (sw, id, ev) = outcome_fires_at("answer", 2000);
    assert_eq!(kinds(&ev)[1..], [EventKind::Ringing, EventKind::Answered]);
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Connected);

    let (sw, id, ev) = outcome_fires_at("machine", 700);
    assert_eq!(
        kinds(&ev)[1..],
        [EventKind::Ringing, EventKind::AnsweringMachine]
    );
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Connected);

    let released = EventKind::Released {
        by: Releaser::Network,
    };
    let (sw, id, ev) = outcome_fires_at("busy", 300);
    assert_eq!(kinds(&ev)[1..], [EventKind::Busy, released.clone()]);
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Released);
    assert_eq!(sw.interaction(id).unwrap().released_at, Some(1300));

    let (sw, id, ev) = outcome_fires_at("no_answer", 30000);
    assert_eq!(
        kinds(&ev)[1..],
        [EventKind::Ringing, EventKind::NoAnswer, released.clone()]
    );
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Released);

    let (_, _, ev) = outcome_fires_at("invalid", 0);
    assert_eq!(kinds(&ev)[1..], [EventKind::InvalidNumber, released]);
}

#[test]
fn a_call_placed_from_an_agent_is_established_when_answered_and_takes_the_agent_when_not() {
    let mut sw = Switch::new(rules(
        r#"{"rules":[{"match":"5550100","outcome":"answer","after_ms":500},
                     {"match":"5550200","outcome":"busy","after_ms":100}]}"#,
    ));
    assert!(sw.dial_from("", "5550100", 0).is_err());
    let id = sw.dial_from("ann", "5550100", 0).unwrap();
    let i = sw.interaction(id).unwrap();
    assert_eq!((i.agent(), i.customer()), (Some("ann"), Some("5550100")));
    assert_eq!(i.state, CallState::Ringing);
    let ev = sw.advance(500);
    assert_eq!(
        kinds(&ev)[1..],
        [
            EventKind::Ringing,
            EventKind::Answered,
            EventKind::Established
        ]
    );
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Established);
    // An established call cannot take an agent again.
    assert!(sw.connect_agent(id, "bob", 600).is_err());

    let busy = sw.dial_from("bob", "5550200", 1000).unwrap();
    let ev = sw.advance(1100);
    assert_eq!(
        kinds(&ev)[1..],
        [
            EventKind::Busy,
            EventKind::Released {
                by: Releaser::Network
            }
        ]
    );
    assert_eq!(sw.interaction(busy).unwrap().state, CallState::Released);
}

#[test]
fn undialable_number_is_released_as_invalid_at_once() {
    let mut sw = Switch::new(DialRules::default());
    let id = sw.dial("abc", 50);
    assert_eq!(id.to_string(), "ixn-1");
    let ev = sw.advance(50);
    assert_eq!(
        kinds(&ev),
        [
            EventKind::Dialing {
                number: "abc".into()
            },
            EventKind::InvalidNumber,
            EventKind::Released {
                by: Releaser::Network
            }
        ]
    );
}

#[test]
fn timers_fire_in_time_order_and_ops_fire_due_timers_first() {
    let mut sw = Switch::new(rules(
        r#"{"rules":[{"match":"5551*","outcome":"answer","after_ms":300},
                     {"match":"5552*","outcome":"busy","after_ms":100}]}"#,
    ));
    let a = sw.dial("5551000", 0);
    let b = sw.dial("5552000", 0);
    assert_eq!((a, b), (IxnId(1), IxnId(2)));
    assert_eq!(sw.next_deadline(), Some(100));
    sw.advance(0);
    // An operation at t=400 first fires both due outcomes, in order.
    sw.play_treatment(a, "music", 400).unwrap();
    let ev = sw.advance(400);
    let seq: Vec<(IxnId, i64, EventKind)> =
        ev.iter().map(|e| (e.ixn, e.at, e.kind.clone())).collect();
    assert_eq!(
        seq,
        [
            (b, 100, EventKind::Busy),
            (
                b,
                100,
                EventKind::Released {
                    by: Releaser::Network
                }
            ),
            (a, 300, EventKind::Answered),
            (
                a,
                400,
                EventKind::TreatmentStarted {
                    name: "music".into()
                }
            ),
        ]
    );
}

#[test]
fn rule_changes_do_not_affect_dials_in_progress() {
    let mut sw = Switch::new(rules(r#"{"default":{"outcome":"busy","after_ms":100}}"#));
    let a = sw.dial("5550100", 0);
    sw.set_rules(rules(r#"{"default":{"outcome":"answer","after_ms":50}}"#));
    let b = sw.dial("5550100", 0);
    sw.advance(100);
    assert_eq!(sw.interaction(a).unwrap().state, CallState::Released);
    assert_eq!(sw.interaction(b).unwrap().state, CallState::Connected);
}

#[test]
fn inbound_treatment_connect_and_customer_hangup() {
    let mut sw = Switch::default();
    let id = sw.inbound("6505550100", "8001", 10).unwrap();
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Alerting);
    sw.play_treatment(id, "ringback", 20).unwrap();
    sw.play_treatment(id, "music", 30).unwrap();
    assert_eq!(
        sw.interaction(id).unwrap().state,
        CallState::Treatment("music".into())
    );
    sw.connect_agent(id, "a1", 40).unwrap();
    let ix = sw.interaction(id).unwrap();
    assert_eq!(ix.state, CallState::Established);
    assert_eq!(ix.parties, [cust("6505550100"), agent("a1")]);
    assert_eq!(ix.agent(), Some("a1"));
    sw.hangup(id, &cust("6505550100"), 90).unwrap();
    let ev = sw.advance(90);
    assert_eq!(
        kinds(&ev),
        [
            EventKind::Arrived {
                ani: "6505550100".into(),
                dnis: "8001".into()
            },
            EventKind::TreatmentStarted {
                name: "ringback".into()
            },
            EventKind::TreatmentStopped {
                name: "ringback".into()
            },
            EventKind::TreatmentStarted {
                name: "music".into()
            },
            EventKind::TreatmentStopped {
                name: "music".into()
            },
            EventKind::PartyJoined { party: agent("a1") },
            EventKind::PartyLeft {
                party: Party::RoutePoint("8001".into())
            },
            EventKind::Established,
            EventKind::PartyLeft {
                party: cust("6505550100")
            },
            EventKind::Released {
                by: Releaser::Party(cust("6505550100"))
            },
        ]
    );
    assert_eq!(
        ev.iter().map(|e| e.at).collect::<Vec<_>>(),
        [10, 20, 30, 30, 40, 40, 40, 40, 90, 90]
    );
    assert_eq!(sw.interaction(id).unwrap().released_at, Some(90));
    assert!(ev.iter().all(|e| e.ixn == id));
}

#[test]
fn outbound_answer_treatment_stop_connect_and_agent_hangup() {
    let mut sw = Switch::new(rules(r#"{"default":{"outcome":"answer","after_ms":100}}"#));
    let id = sw.dial("+16505550100", 0);
    sw.advance(100);
    sw.play_treatment(id, "please-wait", 110).unwrap();
    sw.stop_treatment(id, 120).unwrap();
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Connected);
    sw.connect_agent(id, "a7", 130).unwrap();
    sw.hangup(id, &agent("a7"), 200).unwrap();
    let ev = sw.advance(200);
    assert_eq!(
        kinds(&ev),
        [
            EventKind::TreatmentStarted {
                name: "please-wait".into()
            },
            EventKind::TreatmentStopped {
                name: "please-wait".into()
            },
            EventKind::PartyJoined { party: agent("a7") },
            EventKind::Established,
            EventKind::PartyLeft { party: agent("a7") },
            EventKind::Released {
                by: Releaser::Party(agent("a7"))
            },
        ]
    );
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Released);
}

#[test]
fn hangup_while_ringing_cancels_the_outcome() {
    let mut sw = Switch::new(rules(r#"{"default":{"outcome":"answer","after_ms":100}}"#));
    let id = sw.dial("5550100", 0);
    sw.hangup(id, &cust("5550100"), 50).unwrap();
    assert_eq!(sw.next_deadline(), None);
    let ev = sw.advance(1000);
    assert!(!kinds(&ev).contains(&EventKind::Answered));
    assert_eq!(sw.interaction(id).unwrap().state, CallState::Released);
}

#[test]
fn transfer_to_another_agent() {
    let mut sw = Switch::default();
    let id = sw.inbound("5550100", "8001", 0).unwrap();
    sw.connect_agent(id, "a1", 10).unwrap();
    sw.advance(10);
    sw.transfer(id, "a2", 20).unwrap();
    let ev = sw.advance(20);
    assert_eq!(
        kinds(&ev),
        [
            EventKind::PartyLeft { party: agent("a1") },
            EventKind::PartyJoined { party: agent("a2") },
            EventKind::Transferred {
                from: "a1".into(),
                to: "a2".into()
            },
        ]
    );
    let ix = sw.interaction(id).unwrap();
    assert_eq!(ix.parties, [cust("5550100"), agent("a2")]);
    assert_eq!(ix.state, CallState::Established);
    assert_eq!(
        sw.hangup(id, &agent("a1"), 30),
        Err(SwitchError::NotAParty {
            ixn: id,
            party: agent("a1")
        })
    );
    assert!(matches!(
        sw.transfer(id, "a2", 30),
        Err(SwitchError::AlreadyAParty { .. })
    ));
}

#[test]
fn chat_message_flow() {
    let mut sw = Switch::default();
    let id = sw.chat_start("web-42", 0).unwrap();
    sw.chat_message(id, &cust("web-42"), "hello?", 5).unwrap();
    assert!(matches!(
        sw.chat_message(id, &agent("a1"), "hi", 6),
        Err(SwitchError::NotAParty { .. })
    ));
    sw.connect_agent(id, "a1", 10).unwrap();
    sw.chat_typing(id, &agent("a1"), true, 11).unwrap();
    assert!(matches!(
        sw.chat_typing(id, &agent("a2"), true, 11),
        Err(SwitchError::NotAParty { .. })
    ));
    sw.chat_message(id, &agent("a1"), "hi, how can I help?", 12)
        .unwrap();
    assert!(matches!(
        sw.play_treatment(id, "music", 13),
        Err(SwitchError::WrongMedia { .. })
    ));
    sw.hangup(id, &cust("web-42"), 20).unwrap();
    let ev = sw.advance(20);
    assert_eq!(
        kinds(&ev),
        [
            EventKind::ChatStarted {
                customer: "web-42".into()
            },
            EventKind::Message {
                from: cust("web-42"),
                text: "hello?".into()
            },
            EventKind::PartyJoined { party: agent("a1") },
            EventKind::Established,
            EventKind::Message {
                from: agent("a1"),
                text: "hi, how can I help?".into()
            },
            EventKind::PartyLeft {
                party: cust("web-42")
            },
            EventKind::Released {
                by: Releaser::Party(cust("web-42"))
            },
        ]
    );
    // The transcript has the messages and who joined, left and typed, as the Chat API shows.
    let ix = sw.interaction(id).unwrap();
    assert_eq!(
        ix.transcript
            .iter()
            .map(|m| (m.at, m.kind.name(), m.text.as_str()))
            .collect::<Vec<_>>(),
        [
            (0, "Notice.Joined", ""),
            (5, "Message.Text", "hello?"),
            (10, "Notice.Joined", ""),
            (11, "Notice.TypingStarted", ""),
            (12, "Message.Text", "hi, how can I help?"),
            (20, "Notice.Left", "")
        ]
    );
    assert_eq!(ix.transcript[3].from, agent("a1"));
    assert!(matches!(
        sw.chat_message(id, &agent("a1"), "bye", 21),
        Err(SwitchError::Released(_))
    ));
}

#[test]
fn invalid_operations_are_errors() {
    let mut sw = Switch::new(rules(r#"{"default":{"outcome":"answer","after_ms":100}}"#));
    let ghost = IxnId(99);
    assert_eq!(
        sw.hangup(ghost, &cust("1"), 0),
        Err(SwitchError::UnknownInteraction(ghost))
    );
    assert_eq!(
        sw.connect_agent(ghost, "a1", 0).unwrap_err().to_string(),
        "unknown interaction ixn-99"
    );

    let id = sw.dial("5550100", 0);
    let err = sw.connect_agent(id, "a1", 10).unwrap_err();
    assert!(matches!(
        err,
        SwitchError::WrongState {
            state: CallState::Ringing,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "interaction ixn-1 is ringing: cannot connect an agent"
    );
    assert!(matches!(
        sw.play_treatment(id, "music", 10),
        Err(SwitchError::WrongState { .. })
    ));
    assert!(matches!(
        sw.stop_treatment(id, 10),
        Err(SwitchError::WrongState { .. })
    ));
    assert!(matches!(
        sw.transfer(id, "a1", 10),
        Err(SwitchError::WrongState { .. })
    ));
    assert!(matches!(
        sw.chat_message(id, &cust("5550100"), "x", 10),
        Err(SwitchError::WrongMedia { .. })
    ));
    assert!(matches!(
        sw.play_treatment(id, "", 10),
        Err(SwitchError::Empty { .. })
    ));
    assert!(matches!(
        sw.inbound("", "8001", 10),
        Err(SwitchError::Empty { .. })
    ));

    sw.advance(100);
    sw.connect_agent(id, "a1", 110).unwrap();
    assert!(matches!(
        sw.connect_agent(id, "a2", 120),
        Err(SwitchError::WrongState {
            state: CallState::Established,
            ..
        })
    ));
    sw.hangup(id, &cust("5550100"), 130).unwrap();
    assert_eq!(
        sw.hangup(id, &cust("5550100"), 140),
        Err(SwitchError::Released(id))
    );
    assert_eq!(
        sw.hangup(id, &agent("a1"), 140).unwrap_err().to_string(),
        "interaction ixn-1 is already released"
    );
}

#[test]
fn ids_parse_and_released_interactions_can_be_purged() {
    assert_eq!("ixn-12".parse::<IxnId>(), Ok(IxnId(12)));
    assert!("ixn-".parse::<IxnId>().is_err());
    let mut sw = Switch::default();
    let a = sw.inbound("5550100", "8001", 0).unwrap();
    let b = sw.inbound("5550101", "8001", 0).unwrap();
    sw.hangup(a, &cust("5550100"), 10).unwrap();
    assert_eq!(sw.purge_released(10), 0);
    assert_eq!(sw.purge_released(11), 1);
    assert!(sw.interaction(a).is_none());
    assert!(sw.interaction(b).is_some());
}

#[test]
fn events_serialise_with_ids_as_strings() {
    let mut sw = Switch::default();
    let id = sw.inbound("5550100", "8001", 7).unwrap();
    sw.hangup(id, &cust("5550100"), 8).unwrap();
    let ev = sw.advance(8);
    assert_eq!(
        serde_json::to_value(&ev[0]).unwrap(),
        serde_json::json!({"ixn":"ixn-1","at":7,"event":"arrived","ani":"5550100","dnis":"8001"})
    );
    assert_eq!(
        serde_json::to_value(&ev[2]).unwrap(),
        serde_json::json!({"ixn":"ixn-1","at":8,"event":"released",
                           "by":{"type":"party","id":{"type":"customer","id":"5550100"}}})
    );
}
