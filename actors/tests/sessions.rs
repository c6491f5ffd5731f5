//! Sessions against the contact center with time passed in: each ORS-style action and each
//! notice, the default inbound strategy as a chart, checkpoints restored into a fresh host and
//! center, and charts that misbehave.

#![allow(clippy::unwrap_used)] // tests on data they built

mod harness;

use actors::center::core::{AgentEventKind, Poll};
use actors::center::settings::DemoSettings;
use actors::session::core::{CallStart, HostError, Reply};
use actors::session::docs::{DocError, Documents};
use engine::agents::AgentState;
use engine::telephony::{CallState, DialRules, IxnId, Media};
use harness::{obj, s, Harness};
use scxml::Value;

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

/// A chart that runs `onentry` and logs every event it gets as `name {data}`.
fn chart(onentry: &str) -> String {
    chart_with(onentry, "")
}

/// [`chart`] with transitions of its own before the catch-all.
fn chart_with(onentry: &str, transitions: &str) -> String {
    format!(
        r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
       xmlns:queue="http://www.genesyslab.com/modules/queue"
       xmlns:ixn="http://www.genesyslab.com/modules/interaction"
       xmlns:dialog="http://www.genesyslab.com/modules/dialog"
       xmlns:session="http://www.genesyslab.com/modules/session"
       xmlns:notify="http://www.genesyslab.com/modules/notification" initial="s">
  <datamodel><data id="rid"/><data id="ixn"/><data id="interaction"/><data id="n" expr="0"/></datamodel>
  <state id="s">
    <onentry>{onentry}</onentry>
    {transitions}
    <transition event="*"><log label="ev" expr="_event.name + ' ' + JSON.stringify(_event.data)"/></transition>
  </state>
</scxml>"#
    )
}

fn ready(h: &mut Harness, agent: &str) {
    h.center(|c, now| {
        c.login(agent, now).unwrap();
        c.ready(agent, now).unwrap();
    });
}

fn agent_event_kinds(h: &mut Harness, agent: &str) -> Vec<&'static str> {
    let events = match h.core.borrow_mut().poll(agent, 0).unwrap() {
        Poll::Events(e) => e,
        Poll::Wait(_) => Vec::new(),
    };
    events
        .iter()
        .map(|e| match e.kind {
            AgentEventKind::State { .. } => "state",
            AgentEventKind::Offer { .. } => "offer",
            AgentEventKind::OfferEnded { .. } => "offer_ended",
            AgentEventKind::InteractionStarted { .. } => "started",
            AgentEventKind::InteractionConnected { .. } => "connected",
            AgentEventKind::InteractionReleased { .. } => "released",
            AgentEventKind::InteractionEnded { .. } => "ended",
            AgentEventKind::InteractionTransferred { .. } => "transferred",
        })
        .collect()
}

// ---- queue ----------------------------------------------------------------------------------

#[test]
fn submit_is_queued_offered_routed_and_completed() {
    let mut h = Harness::new(INI, 0);
    h.start(
        "q",
        &chart(
            r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'" requestid="rid" priority="2"/>
               <log label="rid" expr="rid"/>"#,
        ),
        &[],
    );
    h.run_to(1_000);
    // Waiting for an agent, the session is kept as its snapshot; the offer rebuilds it.
    assert_eq!((h.host.len(), h.host.parked()), (1, 1));
    ready(&mut h, "ann");
    h.run_to(3_000);
    let offer = h.center(|c, now| c.agent("ann", now).unwrap().offers[0].offer);
    h.center(|c, now| c.accept("ann", offer, now).unwrap());
    h.run_to(10_000);
    h.center(|c, now| c.complete("ann", &offer.0.to_string(), now).unwrap());
    assert_eq!(
        h.logs_of("q"),
        [
            "rid: q1",
            r#"ev: queue.submit.queued {"requestid":"q1","queue":"Support","position":1,"ewt":null}"#,
            r#"ev: queue.submit.offered {"requestid":"q1","agent":"ann","expires":"1970-01-01T00:00:11.000Z"}"#,
            r#"ev: queue.submit.done {"requestid":"q1","agent":"ann","queue":"Support","waited":3,"interaction":null}"#,
            r#"ev: queue.submit.completed {"requestid":"q1","agent":"ann","handle":7}"#,
        ]
    );
}

#[test]
fn an_offer_that_times_out_goes_to_another_agent() {
    let mut h = Harness::new(INI, 0);
    ready(&mut h, "ann");
    h.start(
        "q",
        &chart(r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'"/>"#),
        &[],
    );
    ready(&mut h, "ben");
    // ann holds the offer for the 10 s reservation timeout, then goes Not Ready; ben gets it.
    h.run_to(10_000);
    assert_eq!(
        h.center(|c, now| c.agent("ann", now).unwrap().state),
        AgentState::NotReady
    );
    let offer = h.center(|c, now| c.agent("ben", now).unwrap().offers[0].offer);
    h.center(|c, now| c.accept("ben", offer, now).unwrap());
    let names: Vec<String> = h
        .logs_of("q")
        .iter()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        names,
        [
            "ev: queue.submit.queued",
            "ev: queue.submit.offered",
            "ev: queue.submit.offerended",
            "ev: queue.submit.offered",
            "ev: queue.submit.done",
        ]
    );
    assert!(h.logs_of("q")[2].contains(r#""agent":"ann","reason":"timeout""#));
    assert!(h.logs_of("q")[4].contains(r#""agent":"ben""#));
}

#[test]
fn cancel_priority_timeout_and_bad_targets_are_reported() {
    let mut h = Harness::new(INI, 0);
    h.start(
        "q",
        &chart_with(
            r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'" requestid="rid"/>
               <queue:submit queue="'Support'" target="'Support@Stat.GA'" timeout="5"/>
               <queue:priority requestid="rid" priority="10"/>
               <queue:submit queue="'Support'" target="'nobody@'"/>"#,
            r#"<transition event="stop"><queue:cancel requestid="rid"/></transition>"#,
        ),
        &[],
    );
    h.run_to(5_000);
    h.event("q", "later", Value::Undefined);
    let body = chart(r#"<queue:cancel requestid="'q1'"/><queue:cancel requestid="'q9'"/>"#);
    // Cancel from a second session's chart is refused: items belong to their session.
    h.start("other", &body, &[]);
    let logs = h.logs_of("q");
    let names: Vec<&str> = logs.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
    // An action's own outcome comes right after the step that ran it; the center's notices
    // (queued, timeout) after that.
    assert_eq!(
        names,
        [
            "queue.priority.done",
            "error.queue.submit",
            "queue.submit.queued",
            "queue.submit.queued",
            "error.queue.submit",
            "later",
        ],
        "{logs:#?}"
    );
    assert!(
        logs[1].contains(r#""requestid":"q3","reason":"invalid""#),
        "{}",
        logs[1]
    );
    assert!(
        logs[0].contains(r#""requestid":"q1","position":1"#),
        "{}",
        logs[0]
    );
    assert!(logs[4].contains(r#""requestid":"q2","queue":"Support","reason":"timeout""#));
    assert_eq!(
        h.logs_of("other"),
        [
            r#"ev: error.queue.cancel {"message":"no queue submission 'q1' in this session"}"#,
            r#"ev: error.queue.cancel {"message":"no queue submission 'q9' in this session"}"#,
        ]
    );
    // Its owner can.
    h.event("q", "stop", Value::Undefined);
    assert_eq!(
        h.logs_of("q")[6..],
        [
            r#"ev: queue.cancel.done {"requestid":"q1"}"#,
            r#"ev: error.queue.submit {"requestid":"q1","queue":"Support","reason":"cancelled","message":"the submission was cancelled"}"#,
        ]
    );
    assert_eq!(h.center(|c, _| c.waiting_items()), 0);
}

#[test]
fn queue_reads_through_genesys() {
    let mut h = Harness::new(INI, 0);
    h.start(
        "a",
        &chart(r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'"/>"#),
        &[],
    );
    h.run_to(2_000);
    h.start(
        "b",
        &chart(
            r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'" requestid="rid"/>
               <log label="pos" expr="_genesys.queue.position(rid) + ' ' + _genesys.queue.position()"/>
               <log label="stats" expr="JSON.stringify(_genesys.queue.stats('Support'))"/>
               <log label="agents" expr="JSON.stringify(_genesys.queue.agents('Support@Stat.GA'))"/>
               <log label="me" expr="_genesys.session.id + ' ' + _genesys.session.params.who"/>
               <log label="none" expr="_genesys.queue.position('nope') === undefined"/>"#,
        ),
        &[("who", s("bob"))],
    );
    assert_eq!(
        h.logs_of("b"),
        [
            "pos: 2 2",
            r#"stats: {"calls":2,"waiting":2,"ewt":null,"aqt":null,"entered":2,"distributed":0,"abandoned":0,"ready":0,"available":0,"loggedIn":0}"#,
            r#"agents: {"ready":0,"available":0,"loggedIn":0}"#,
            "me: b bob",
            "none: true",
            r#"ev: queue.submit.queued {"requestid":"q1","queue":"Support","position":2,"ewt":null}"#,
        ]
    );
}

// ---- calls ----------------------------------------------------------------------------------

fn dial_chart() -> String {
    chart(
        r#"<ixn:dial number="'+16505550100'" ixnid="ixn" requestid="rid"/>
           <log label="dialled" expr="rid + ' ' + ixn"/>"#,
    )
}

fn dial_outcome(rule: &str) -> Vec<String> {
    let mut h = Harness::new(INI, 0);
    let rules = DialRules::from_json(&format!(r#"{{"rules":[{{"match":"*",{rule}}}]}}"#)).unwrap();
    h.center(|c, _| c.set_dial_rules(rules));
    h.start("d", &dial_chart(), &[]);
    h.run_to(60_000);
    h.logs_of("d")
}

#[test]
fn dial_progress_for_each_outcome() {
    assert_eq!(
        dial_outcome(r#""outcome":"answer","after_ms":2000"#),
        [
            "dialled: d1 ixn-1",
            r#"ev: interaction.dial.dialing {"requestid":"d1","interaction":"ixn-1","number":"+16505550100"}"#,
            r#"ev: interaction.dial.ringing {"requestid":"d1","interaction":"ixn-1"}"#,
            r#"ev: interaction.dial.done {"requestid":"d1","interaction":"ixn-1","outcome":"answered"}"#,
        ]
    );
    assert_eq!(
        dial_outcome(r#""outcome":"machine","after_ms":2000"#)[3],
        r#"ev: interaction.dial.done {"requestid":"d1","interaction":"ixn-1","outcome":"machine"}"#
    );
    let busy = dial_outcome(r#""outcome":"busy","after_ms":500"#);
    assert_eq!(
        busy[2..],
        [
            r#"ev: error.interaction.dial {"requestid":"d1","interaction":"ixn-1","reason":"busy"}"#,
            r#"ev: interaction.deleted {"requestid":"d1","interaction":"ixn-1","by":"network"}"#,
        ]
    );
    let no_answer = dial_outcome(r#""outcome":"no_answer","after_ms":30000"#);
    assert_eq!(
        no_answer[3],
        r#"ev: error.interaction.dial {"requestid":"d1","interaction":"ixn-1","reason":"noanswer"}"#
    );
    let invalid = dial_outcome(r#""outcome":"invalid""#);
    assert!(invalid[2].contains(r#""reason":"invalid""#), "{invalid:?}");
}

#[test]
fn a_dial_timeout_gives_up_before_the_network_does() {
    let mut h = Harness::new(INI, 0);
    let rules =
        DialRules::from_json(r#"{"rules":[{"match":"*","outcome":"answer","after_ms":20000}]}"#)
            .unwrap();
    h.center(|c, _| c.set_dial_rules(rules));
    h.start(
        "d",
        &chart(r#"<ixn:dial number="'6505550100'" timeout="5"/>"#),
        &[],
    );
    h.run_to(30_000);
    let logs = h.logs_of("d");
    assert_eq!(
        logs[2..],
        [
            r#"ev: error.interaction.dial {"requestid":"d1","interaction":"ixn-1","reason":"noanswer"}"#,
            r#"ev: interaction.partyremoved {"requestid":"d1","interaction":"ixn-1","party":"customer","id":"6505550100"}"#,
            r#"ev: interaction.deleted {"requestid":"d1","interaction":"ixn-1","by":"network"}"#,
        ]
    );
}

#[test]
fn treatments_start_stop_and_end_by_themselves() {
    let mut h = Harness::new(INI, 0);
    h.start_with(
        "t",
        &chart(
            r#"<dialog:play treatment="'music'"/>
               <dialog:play interaction="interaction" announcement="'welcome'" duration="3"/>"#,
        ),
        &[],
        Some(CallStart::New {
            customer: "+16505550101".into(),
            dnis: "8000".into(),
            media: Media::Voice,
        }),
    );
    h.run_to(5_000);
    h.event("t", "hold", Value::Undefined);
    assert_eq!(
        h.logs_of("t"),
        [
            r#"ev: dialog.play.started {"requestid":"call","interaction":"ixn-1","treatment":"music"}"#,
            r#"ev: dialog.play.done {"requestid":"call","interaction":"ixn-1","treatment":"music","reason":"stopped"}"#,
            r#"ev: dialog.play.started {"requestid":"call","interaction":"ixn-1","treatment":"welcome"}"#,
            r#"ev: dialog.play.done {"requestid":"call","interaction":"ixn-1","treatment":"welcome","reason":"completed"}"#,
            "ev: hold undefined",
        ]
    );
    assert_eq!(
        h.center(|c, _| c.interaction(IxnId(1)).unwrap().state.clone()),
        CallState::Connected
    );
}

#[test]
fn stop_and_actions_on_calls_the_session_does_not_own() {
    let mut h = Harness::new(INI, 0);
    h.start_with(
        "t",
        &chart(
            r#"<dialog:play treatment="'music'"/><dialog:stop/>
               <ixn:attach data="({account: 42})"/>
               <log label="ixns" expr="JSON.stringify(_genesys.ixn.interactions)"/>
               <dialog:play interaction="'ixn-77'" treatment="'x'"/>
               <ixn:release interaction="'ixn-77'"/>
               <ixn:release/>"#,
        ),
        &[],
        Some(CallStart::New {
            customer: "+16505550101".into(),
            dnis: "8000".into(),
            media: Media::Voice,
        }),
    );
    let logs = h.logs_of("t");
    assert_eq!(
        logs[0],
        r#"ixns: {"ixn-1":{"id":"ixn-1","state":"connected","media":"voice","customer":"+16505550101","direction":"inbound","agent":null,"requestid":"call","userdata":{"account":"42"}}}"#
    );
    let names: Vec<&str> = logs[1..]
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "dialog.stop.done",
            "interaction.attach.done",
            "error.dialog.play",
            "error.interaction.release",
            "interaction.release.done",
            "dialog.play.started",
            "dialog.play.done",
            "interaction.partyremoved",
            "interaction.partyremoved",
            "interaction.deleted",
        ],
        "{logs:#?}"
    );
    assert!(
        logs[3].contains("is not a call this session owns"),
        "{}",
        logs[3]
    );
}

// ---- the default inbound strategy -----------------------------------------------------------

#[test]
fn an_inbound_call_runs_the_default_strategy_from_arrival_to_wrap_up() {
    let mut h = Harness::new(INI, 0);
    ready(&mut h, "ann");
    let ixn = h.center(|c, now| c.inbound_call("+16505550100", "8000", None, now).unwrap());
    assert_eq!(h.started, 1);
    assert_eq!(
        h.center(|c, _| c.interaction(ixn).unwrap().state.clone()),
        CallState::Treatment("music".into())
    );
    let offer = h.center(|c, now| c.agent("ann", now).unwrap().offers[0].clone());
    assert_eq!(offer.customer.as_deref(), Some("+16505550100"));
    assert_eq!(offer.interaction, Some(ixn));
    h.run_to(3_000);
    h.center(|c, now| c.accept("ann", offer.offer, now).unwrap());
    let call = h.center(|c, _| c.interaction(ixn).unwrap().clone());
    assert_eq!(call.state, CallState::Established);
    assert_eq!(call.agent(), Some("ann"));
    h.run_to(63_000);
    h.center(|c, now| c.complete("ann", &ixn.to_string(), now).unwrap());
    assert_eq!(
        h.center(|c, now| c.agent("ann", now).unwrap().state),
        AgentState::AfterCallWork { until: 68_000 }
    );
    h.run_to(68_000);
    assert_eq!(
        h.center(|c, now| c.agent("ann", now).unwrap().state),
        AgentState::Ready
    );
    assert_eq!(
        agent_event_kinds(&mut h, "ann"),
        ["state", "state", "offer", "started", "state", "released", "ended", "state", "state"]
    );
    assert_eq!(h.finished, [("in-1".to_string(), "ended".to_string())]);
    let q = h.center(|c, now| c.queue("Support", now).unwrap());
    assert_eq!((q.stats.entered, q.stats.distributed), (1, 1));
    assert_eq!(q.stats.aqt, Some(3.0), "offered at 0 s, accepted at 3 s");
}

#[test]
fn a_caller_who_hangs_up_while_offered_abandons_and_frees_the_agent() {
    let mut h = Harness::new(INI, 0);
    ready(&mut h, "ben");
    let ixn = h.center(|c, now| c.inbound_call("+16505550101", "8000", None, now).unwrap());
    assert_eq!(
        h.center(|c, now| c.agent("ben", now).unwrap().offers.len()),
        1
    );
    h.run_to(2_000);
    h.center(|c, now| c.customer_hangup(ixn, now).unwrap());
    assert!(h.center(|c, now| c.agent("ben", now).unwrap().offers.is_empty()));
    let q = h.center(|c, now| c.queue("Support", now).unwrap());
    assert_eq!((q.stats.calls, q.stats.abandoned), (0, 1));
    assert_eq!(h.finished, [("in-1".to_string(), "ended".to_string())]);
}

#[test]
fn a_strategy_per_number_and_a_claim_that_comes_too_late() {
    let ini = format!("{INI}\nstrategy.9* = no-such-strategy\n");
    let ini = ini.replace(
        "[routing]\n",
        "[routing]\nstrategy.7000 = default-inbound\n",
    );
    let (config, _) = engine::config::Config::parse(&ini).unwrap();
    let settings = actors::center::settings::CenterSettings::from_config(&config).unwrap();
    assert_eq!(settings.strategy_for("7000"), "default-inbound");
    assert_eq!(settings.strategy_for("8000"), "default-inbound");
    // A call released before its strategy takes it cannot be claimed.
    let mut h = Harness::new(INI, 0);
    let ixn = h
        .core
        .borrow_mut()
        .inbound_call("+1650", "8000", None, 0)
        .unwrap();
    h.core.borrow_mut().customer_hangup(ixn, 0).unwrap();
    h.core.borrow_mut().take_notices();
    let err = h
        .host
        .start(
            actors::session::core::StartSpec {
                id: "late".into(),
                doc: h.doc("x", &chart("")),
                params: Vec::new(),
                call: Some(CallStart::Claim { ixn }),
                reply: None,
                writes: Vec::new(),
                notify: Vec::new(),
            },
            0,
        )
        .unwrap_err();
    assert_eq!(
        err,
        HostError::CallGone(format!("interaction {ixn} is already released"))
    );
}

/// An hour of demo traffic through the chart gives exactly what the hard-coded strategy it
/// replaced gave (counts recorded from that implementation, same seed).
#[test]
fn an_hour_of_demo_traffic_through_charts_matches_the_old_strategy() {
    let mut h = Harness::new(INI, 0);
    let demo = DemoSettings {
        calls_per_minute: 30.0,
        accept_after_ms: 1_500,
        talk_mean_ms: 3_000,
        talk_sigma: 0.6,
        wrap_up_ms: 500,
        dnis: "8000".into(),
        seed: 7,
    };
    h.center(|c, now| c.start_demo(demo, now));
    let mut steps = 0;
    loop {
        let next = [h.core.borrow().next_deadline(), h.host.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else { break };
        if at > 3_600_000 {
            break;
        }
        h.tick(at);
        steps += 1;
        for a in h.core.borrow().agents(at) {
            let voice = a.offers.iter().filter(|o| o.media == "voice").count()
                + a.interactions.iter().filter(|w| w.media == "voice").count();
            assert!(
                voice <= 1,
                "agent {} over voice capacity at {at}",
                a.config.id
            );
        }
    }
    assert!(steps > 1_000, "only {steps} steps");
    let now = h.now();
    let q = h.center(|c, _| c.queue("Support", now).unwrap());
    // Recorded from the built-in strategy: 1756 entered, 1446 distributed, 310 waiting,
    // none abandoned, aqt 623.99671875 s; ann's log at 5071 events, ben's at 5052.
    assert_eq!(
        (
            q.stats.entered,
            q.stats.distributed,
            q.stats.calls,
            q.stats.abandoned
        ),
        (1756, 1446, 310, 0)
    );
    assert_eq!(q.stats.aqt, Some(623.99671875));
    let last: Vec<(String, u64)> = h
        .core
        .borrow()
        .agents(now)
        .iter()
        .map(|a| (a.config.id.clone(), a.last_event))
        .collect();
    assert_eq!(last, [("ann".to_string(), 5071), ("ben".to_string(), 5052)]);
    // Every call got its own strategy session; those waiting or talking are alive.
    assert_eq!(h.started, h.core.borrow().demo_calls());
    let talking = h
        .core
        .borrow()
        .agents(now)
        .iter()
        .filter(|a| !a.interactions.is_empty())
        .count();
    assert_eq!(h.host.len(), 310 + talking);
}

// ---- requests and responses -------------------------------------------------------------------

#[test]
fn requests_are_answered_by_the_chart_and_the_start_by_its_response() {
    let mut h = Harness::new(INI, 0);
    let body = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
       xmlns:session="http://www.genesyslab.com/modules/session" initial="s">
      <datamodel><data id="count" expr="0"/><data id="greeting" expr="'hello'"/></datamodel>
      <state id="s">
        <onentry><session:response data="({msg: greeting})"/></onentry>
        <transition event="check-queue-position">
          <assign location="count" expr="count + 1"/>
          <session:response data="({position: count, asked: _event.data.who})"/>
        </transition>
        <transition event="quiet"/>
        <transition event="stop" target="end"/>
      </state>
      <final id="end"/>
    </scxml>"#;
    let token = h.start("r", body, &[]);
    match h.reply(token) {
        Some(Ok(Reply::Started(r))) => {
            assert_eq!(r.response, Some(obj(&[("msg", s("hello"))])));
            assert_eq!(r.finished, None);
        }
        other => panic!("{other:?}"),
    }
    h.host
        .request(
            "r",
            "check-queue-position",
            obj(&[("who", s("app"))]),
            50,
            0,
        )
        .unwrap();
    h.host
        .request("r", "quiet", Value::Undefined, 51, 0)
        .unwrap();
    h.settle();
    assert_eq!(
        h.reply(50),
        Some(&Ok(Reply::Response {
            status: 200,
            body: obj(&[("position", Value::Number(1.0)), ("asked", s("app"))])
        }))
    );
    assert_eq!(
        h.reply(51),
        None,
        "no response yet: the caller waits (the server times out)"
    );
    h.event("r", "stop", Value::Undefined);
    assert_eq!(h.reply(51), Some(&Err(HostError::Ended("r".into()))));
    assert_eq!(
        h.host.request("r", "quiet", Value::Undefined, 52, 0),
        Err(HostError::NotFound("r".into()))
    );
}

#[test]
fn fetch_and_push_wait_for_the_step_to_be_saved() {
    let mut h = Harness::new(INI, 0);
    h.start(
        "f",
        &chart(
            r#"<session:fetch src="'http://example.test/api'" method="'post'" data="({a: 1})" requestid="rid"/>
               <notify:push tag="'service.callback.update.1'" message="({pos: 3})"/>
               <log label="rid" expr="rid"/>"#,
        ),
        &[],
    );
    assert_eq!(
        h.effects,
        [
            "fetch f f1 POST http://example.test/api",
            r#"push f n2 Some("service.callback.update.1") {"pos":3}"#,
        ]
    );
    assert_eq!(h.logs_of("f"), ["rid: f1"]);
}

// ---- restore ----------------------------------------------------------------------------------

#[test]
fn restored_sessions_resubmit_their_items_in_entry_order_and_route_to_completion() {
    let mut h = Harness::new(INI, 0);
    let body = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
       xmlns:queue="http://www.genesyslab.com/modules/queue" initial="waiting">
      <datamodel><data id="agent"/></datamodel>
      <state id="waiting">
        <onentry><queue:submit queue="'Support'" target="'Support@Stat.GA'"/></onentry>
        <transition event="queue.submit.done" target="talking"><assign location="agent" expr="_event.data.agent"/></transition>
      </state>
      <state id="talking"><transition event="queue.submit.completed" target="done"/></state>
      <final id="done"/>
    </scxml>"#;
    for i in 0..20 {
        h.run_to(i * 100);
        h.start(&format!("s{i:02}"), body, &[]);
    }
    // "The server dies": a fresh center and host, restored from the last checkpoints.
    let saved = h.saved.clone();
    assert_eq!(saved.len(), 20);
    let settings = h.settings.clone();
    let (config, _) = engine::config::Config::parse(INI).unwrap();
    let (agents, _) = actors::center::settings::agents_from_config(&config);
    drop(h);
    let core = std::rc::Rc::new(std::cell::RefCell::new(
        actors::center::core::CenterCore::new(settings.clone(), agents, 50_000),
    ));
    let mut h = Harness::with_core(core, settings, 50_000);
    let mut waiting = Vec::new();
    // Restore in any order; resubmission goes by entry time.
    for (id, doc, bytes) in saved.iter().rev() {
        let items = h.host.restore(id, doc.clone(), bytes, 50_000).unwrap();
        for i in items {
            waiting.push((i.enqueued_at, i.seq, id.clone(), i));
        }
    }
    waiting.sort_by_key(|(at, seq, _, _)| (*at, *seq));
    let mut submitted = Vec::new();
    for (_, _, id, item) in &waiting {
        submitted.push(h.host.resubmit(id, item, 50_000).unwrap());
    }
    h.settle();
    let positions: Vec<usize> = submitted
        .iter()
        .map(|i| h.center(|c, _| c.item(*i).unwrap().position))
        .collect();
    assert_eq!(positions, (1..=20).collect::<Vec<_>>());
    let first = h.center(|c, _| c.item(submitted[0]).unwrap().enqueued_at);
    assert_eq!(first, 0, "the oldest keeps its age");
    // Route all of them: ann takes and completes each in turn; every session ends.
    ready(&mut h, "ann");
    let mut order = Vec::new();
    for step in 0..20 {
        let t = 50_000 + step * 1_000;
        h.run_to(t);
        let offer = h.center(|c, now| c.agent("ann", now).unwrap().offers.clone());
        assert_eq!(offer.len(), 1, "one offer at a time");
        order.push(offer[0].offer);
        h.center(|c, now| c.accept("ann", offer[0].offer, now).unwrap());
        h.center(|c, now| {
            c.complete("ann", &offer[0].offer.0.to_string(), now)
                .unwrap()
        });
        h.run_to(t + 600);
        h.center(|c, now| {
            if c.agent("ann", now).unwrap().state != AgentState::Ready {
                c.ready("ann", now).unwrap();
            }
        });
    }
    assert_eq!(order, submitted, "served oldest first, each once");
    let mut ended: Vec<String> = h.finished.iter().map(|(id, _)| id.clone()).collect();
    ended.sort();
    assert_eq!(
        ended,
        (0..20).map(|i| format!("s{i:02}")).collect::<Vec<_>>()
    );
    assert!(h.finished.iter().all(|(_, f)| f == "done"));
}

// ---- bad charts ------------------------------------------------------------------------------

#[test]
fn unknown_actions_and_attributes_are_refused_at_load_with_positions() {
    let docs = Documents::new();
    let text = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
       xmlns:queue="http://www.genesyslab.com/modules/queue"
       xmlns:ixn="www.genesyslab.com/modules/interaction"
       xmlns:x="urn:other" initial="s">
  <state id="s">
    <onentry>
      <queue:submitt queue="'a'"/>
      <queue:submit queue="'a'"/>
      <ixn:dial number="'1'" colour="'red'"/>
      <x:thing/>
    </onentry>
  </state>
</scxml>"#;
    match docs.load("inline", text) {
        Err(DocError::Malformed(problems)) => assert_eq!(
            problems,
            [
                "7:7: unknown action <submitt> in module 'queue' (it has submit, cancel, priority)",
                "8:7: <queue:submit> needs the attribute 'target' or 'targets'",
                "9:7: <interaction:dial> has no attribute 'colour' (it takes number, destination, timeout, ixnid, requestid, userdata, agent)",
                "10:7: <thing> is in namespace 'urn:other', which this server does not implement (ORS modules are www.genesyslab.com/modules/queue, interaction, dialog, session, notification, callback)",
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        docs.load("big", &" ".repeat(2 << 20)),
        Err(DocError::TooLarge { .. })
    ));
}

#[test]
fn runaway_charts_end_and_the_host_keeps_serving_the_others() {
    let mut h = Harness::new(INI, 0);
    let looping = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
      <state id="a"><transition target="b"/></state>
      <state id="b"><transition target="a"/></state>
    </scxml>"#;
    let spinning = chart(r#"<script>while (true) {}</script><log label="after" expr="'no'"/>"#);
    h.start("loop", looping, &[]);
    h.start("spin", &spinning, &[]);
    h.start(
        "fine",
        &chart(r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'"/>"#),
        &[],
    );
    assert_eq!(h.finished.len(), 1);
    assert_eq!(h.finished[0].0, "loop");
    assert!(
        h.finished[0].1.contains("100000 microsteps"),
        "{:?}",
        h.finished
    );
    let spin = h.logs_of("spin");
    assert_eq!(spin.len(), 1, "{spin:?}");
    assert!(spin[0].starts_with("ev: error.execution"), "{spin:?}");
    assert!(h.logs_of("fine")[0].contains("queue.submit.queued"));
    assert!(h.host.contains("spin") && h.host.contains("fine"));
}

#[test]
fn a_restored_session_hears_its_lost_calls_and_their_abandoned_items() {
    let mut h = Harness::new(INI, 0);
    h.start_with(
        "c",
        &chart(r#"<queue:submit queue="'Support'" target="'Support@Stat.GA'" interaction="interaction"/>"#),
        &[],
        Some(CallStart::New {
            customer: "+16505550100".into(),
            dnis: "7000".into(),
            media: Media::Voice,
        }),
    );
    let saved = h.saved.clone();
    let settings = h.settings.clone();
    drop(h);
    let core = std::rc::Rc::new(std::cell::RefCell::new(
        actors::center::core::CenterCore::new(settings.clone(), Vec::new(), 10_000),
    ));
    let mut h = Harness::with_core(core, settings, 10_000);
    let (id, doc, bytes) = &saved[0];
    let waiting = h.host.restore(id, doc.clone(), bytes, 10_000).unwrap();
    assert!(
        waiting.is_empty(),
        "an item routing a lost call is not resubmitted"
    );
    h.settle();
    assert_eq!(
        h.logs_of("c"),
        [
            r#"ev: interaction.deleted {"requestid":"call","interaction":"ixn-1","by":"restart"}"#,
            r#"ev: error.queue.submit {"requestid":"q1","queue":"Support","reason":"abandoned","message":"the call it was routing did not survive the restart"}"#,
        ]
    );
}
