//! Data-driven semantics tests: a document, a few inputs, and the trace they must produce.
//!
//! The trace is the `<log>` output of every session in order (`label:message`, or just the
//! message when there is no label), then one closing line for the session under test:
//! `config: a b` (active states in document order) while it runs, `final: <id>` when it
//! reached a top-level final state, `halted: <reason>` when a limit ended it, or `gone` when it
//! ended any other way (a halted session also logs `halted:<reason>` itself). An expected line
//! may use `...` as a wildcard (`halted: more than...`).
//!
//! Time is virtual: `advance(ms)` moves the clock and fires the timers that are due.

use std::collections::HashMap;
use std::sync::Arc;

use scxml::interp::{ActionScope, NoHost, SendTarget};
use scxml::model::CustomAction;
use scxml::system::{Capabilities, Output, System};
use scxml::{
    parse_document, DataModel, Document, EcmaDataModel, Effect, Event, Host, MapLoader,
    NullDataModel, Session, SessionOptions, Step, Value,
};

// ---- Harness --------------------------------------------------------------------------------

/// One input to the session under test.
#[derive(Debug, Clone, Copy)]
enum Input {
    /// An external event, optionally with data written as an ECMAScript/JSON literal.
    Deliver(&'static str, Option<&'static str>),
    /// Moves the virtual clock forward by this many milliseconds and fires due timers.
    Advance(u64),
    /// Cancels the session from outside.
    Cancel,
}

fn deliver(name: &'static str) -> Input {
    Input::Deliver(name, None)
}

fn deliver_data(name: &'static str, data: &'static str) -> Input {
    Input::Deliver(name, Some(data))
}

fn advance(ms: u64) -> Input {
    Input::Advance(ms)
}

fn cancel() -> Input {
    Input::Cancel
}

/// Adds the SCXML namespace and version to a document written without them.
fn complete(src: &str) -> String {
    let src = src.trim();
    match src.strip_prefix("<scxml") {
        Some(rest) if !src.contains(" xmlns=\"") => {
            format!(r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"{rest}"#)
        }
        _ => src.to_string(),
    }
}

fn load(src: &str) -> Arc<Document> {
    match parse_document(&complete(src), None, &MapLoader(HashMap::new())) {
        Ok(doc) => Arc::new(doc),
        Err(e) => panic!("the test document does not load:\n{e}"),
    }
}

/// Event data written as a literal (`{x: 1}`), converted through boa.
fn literal(src: &str) -> Value {
    let mut ctx = boa_engine::Context::default();
    match ctx.eval(boa_engine::Source::from_bytes(&format!("({src})"))) {
        Ok(v) => scxml::ecma::from_js(&v, &mut ctx).expect("the literal converts"),
        Err(e) => panic!("bad event data literal {src:?}: {e}"),
    }
}

/// `a ... b` matches any line that starts with `a` and ends with `b`; otherwise exact.
fn line_matches(expected: &str, got: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == got;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !got.starts_with(first) || !got[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &got[first.len()..got.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn assert_trace(got: &[String], expected: &[&str]) {
    let ok =
        got.len() == expected.len() && got.iter().zip(expected).all(|(g, e)| line_matches(e, g));
    assert!(ok, "trace mismatch\nexpected: {expected:#?}\ngot: {got:#?}");
}

/// Runs sessions in a [`System`] and records what they log.
struct Harness<D: DataModel> {
    dm: D,
    sys: System<D>,
    now: u64,
    trace: Vec<String>,
}

impl<D: DataModel> Harness<D> {
    fn new(dm: D, caps: Capabilities) -> Self {
        Harness {
            dm,
            sys: System::new(Box::new(MapLoader(HashMap::new())), caps),
            now: 0,
            trace: Vec::new(),
        }
    }

    fn start(&mut self, src: &str) -> String {
        let id = self.sys.start(&mut self.dm, load(src), self.now);
        self.collect();
        id
    }

    fn input(&mut self, session: &str, input: Input) {
        match input {
            Input::Deliver(name, data) => {
                let data = data.map(literal).unwrap_or_default();
                let ev = Event::external(name, data);
                self.sys.deliver(&mut self.dm, session, ev, self.now);
            }
            Input::Advance(ms) => {
                self.now += ms;
                self.sys.advance(&mut self.dm, self.now);
            }
            Input::Cancel => self.sys.cancel(&mut self.dm, session, self.now),
        }
        self.collect();
    }

    fn collect(&mut self) {
        for out in self.sys.take_output() {
            self.trace.push(match out {
                Output::Log {
                    label: Some(l),
                    message,
                    ..
                } => format!("{l}:{message}"),
                Output::Log { message, .. } => message,
                Output::Send { target, event, .. } => format!("send: {} {target:?}", event.name),
                Output::Finished {
                    final_state: Some(f),
                    ..
                } => format!("final: {f}"),
                Output::Finished {
                    halted: Some(r), ..
                } => format!("halted: {r}"),
                Output::Finished { .. } => "finished".to_string(),
            });
        }
    }

    /// Appends the closing line for `session`.
    fn close(&mut self, session: &str) {
        match self.sys.session(session) {
            Some(s) => self
                .trace
                .push(format!("config: {}", s.active_state_ids().join(" "))),
            None => {
                let ended = self.trace.last().is_some_and(|l| {
                    l.starts_with("final: ") || l.starts_with("halted: ") || l == "finished"
                });
                if !ended {
                    self.trace.push("gone".to_string());
                }
            }
        }
    }
}

/// Starts `src` in a fresh system, feeds it `inputs`, and compares the trace.
fn check(src: &str, inputs: &[Input], expected: &[&str]) {
    check_with(src, Capabilities::default(), inputs, expected);
}

fn check_with(src: &str, caps: Capabilities, inputs: &[Input], expected: &[&str]) {
    if src.contains(r#"datamodel="null""#) {
        run(NullDataModel, src, caps, inputs, expected);
    } else {
        run(EcmaDataModel::new(), src, caps, inputs, expected);
    }
}

fn run<D: DataModel>(dm: D, src: &str, caps: Capabilities, inputs: &[Input], expected: &[&str]) {
    let mut h = Harness::new(dm, caps);
    let id = h.start(src);
    for &input in inputs {
        h.input(&id, input);
    }
    h.close(&id);
    assert_trace(&h.trace, expected);
}

/// Drives one [`Session`] directly with the given [`Host`]; sends to the session itself come
/// back as external events, everything else the session asks for is ignored.
fn check_host(src: &str, host: &mut dyn Host, inputs: &[&str], expected: &[&str]) {
    let mut dm = EcmaDataModel::new();
    let mut session = Session::new(&mut dm, load(src), "h1", SessionOptions::default());
    let mut trace = Vec::new();
    // Pending inputs, next one last.
    let mut queue: Vec<Event> = inputs
        .iter()
        .rev()
        .map(|n| Event::external(*n, Value::Undefined))
        .collect();
    let mut next: Option<Event> = None;
    loop {
        let mut effects = Vec::new();
        let mut step = Step {
            dm: &mut dm,
            host: &mut *host,
            now: 0,
            out: &mut effects,
        };
        match next.take() {
            None => session.start(&mut step),
            Some(ev) => session.deliver(&mut step, ev),
        }
        let mut own = Vec::new();
        for effect in effects {
            match effect {
                Effect::Log {
                    label: Some(l),
                    message,
                } => trace.push(format!("{l}:{message}")),
                Effect::Log { message, .. } => trace.push(message),
                Effect::Send {
                    target: SendTarget::Session(s),
                    event,
                } if s == session.id() => own.push(event),
                _ => {}
            }
        }
        // The session's sends to itself were queued before the next input.
        queue.extend(own.into_iter().rev());
        next = queue.pop();
        if next.is_none() {
            break;
        }
    }
    match session.final_state() {
        Some(f) if session.is_finished() => trace.push(format!("final: {f}")),
        _ => trace.push(format!("config: {}", session.active_state_ids().join(" "))),
    }
    assert_trace(&trace, expected);
}

/// A chart with one state whose transitions log `hit` for events matching `descriptor` and
/// `miss` for everything else.
fn matcher(descriptor: &str) -> String {
    format!(
        r#"<scxml initial="s"><state id="s">
             <transition event="{descriptor}"><log expr="'hit:' + _event.name"/></transition>
             <transition event="*"><log expr="'miss:' + _event.name"/></transition>
           </state></scxml>"#
    )
}

// ---- Document order -------------------------------------------------------------------------

#[test]
fn nested_exit_runs_inside_out_then_transition_content_then_entry() {
    check(
        r#"<scxml initial="p">
             <state id="p"><onentry><log expr="'enter:p'"/></onentry><onexit><log expr="'exit:p'"/></onexit>
               <state id="c"><onentry><log expr="'enter:c'"/></onentry><onexit><log expr="'exit:c'"/></onexit>
                 <transition event="go" target="d"><log expr="'t'"/></transition></state></state>
             <state id="d"><onentry><log expr="'enter:d'"/></onentry></state>
           </scxml>"#,
        &[deliver("go")],
        &[
            "enter:p",
            "enter:c",
            "exit:c",
            "exit:p",
            "t",
            "enter:d",
            "config: d",
        ],
    );
}

#[test]
fn parallel_regions_enter_in_document_order_and_exit_in_reverse() {
    check(
        r#"<scxml initial="p">
             <parallel id="p"><onentry><log expr="'enter:p'"/></onentry><onexit><log expr="'exit:p'"/></onexit>
               <transition event="go" target="z"/>
               <state id="a"><onentry><log expr="'enter:a'"/></onentry><onexit><log expr="'exit:a'"/></onexit></state>
               <state id="b"><onentry><log expr="'enter:b'"/></onentry><onexit><log expr="'exit:b'"/></onexit></state>
             </parallel>
             <state id="z"/>
           </scxml>"#,
        &[deliver("go")],
        &[
            "enter:p",
            "enter:a",
            "enter:b",
            "exit:b",
            "exit:a",
            "exit:p",
            "config: z",
        ],
    );
}

#[test]
fn initial_transition_content_runs_after_parent_onentry_before_child_entry() {
    check(
        r#"<scxml initial="p"><state id="p">
             <onentry><log expr="'enter:p'"/></onentry>
             <initial><transition target="c"><log expr="'initial'"/></transition></initial>
             <state id="c"><onentry><log expr="'enter:c'"/></onentry></state>
           </state></scxml>"#,
        &[],
        &["enter:p", "initial", "enter:c", "config: p c"],
    );
}

#[test]
fn multiple_onentry_blocks_run_in_document_order() {
    check(
        r#"<scxml><state id="s">
             <onentry><log expr="1"/></onentry><onentry><log expr="2"/></onentry>
             <onexit><log expr="3"/></onexit><onexit><log expr="4"/></onexit>
             <transition event="go" target="t"/></state><state id="t"/></scxml>"#,
        &[deliver("go")],
        &["1", "2", "3", "4", "config: t"],
    );
}

#[test]
fn transition_with_two_targets_enters_parallel_in_document_order() {
    check(
        r#"<scxml><state id="o"><transition event="go" target="b2 a2"/></state>
           <parallel id="p"><onentry><log expr="'enter:p'"/></onentry>
             <state id="r1"><onentry><log expr="'enter:r1'"/></onentry><state id="a1"/><state id="a2"><onentry><log expr="'enter:a2'"/></onentry></state></state>
             <state id="r2"><onentry><log expr="'enter:r2'"/></onentry><state id="b1"/><state id="b2"><onentry><log expr="'enter:b2'"/></onentry></state></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &[
            "enter:p",
            "enter:r1",
            "enter:a2",
            "enter:r2",
            "enter:b2",
            "config: p r1 a2 r2 b2",
        ],
    );
}

#[test]
fn default_initial_state_is_the_first_child_state_not_history() {
    check(
        r#"<scxml><state id="p"><history id="h"><transition target="b"/></history><state id="a"/><state id="b"/></state></scxml>"#,
        &[],
        &["config: p a"],
    );
}

// ---- Transition selection -------------------------------------------------------------------

#[test]
fn first_enabled_transition_in_document_order_wins() {
    check(
        r#"<scxml><state id="s">
             <transition event="go" cond="false" target="a"/>
             <transition event="go" target="b"/>
             <transition event="go" target="c"/>
           </state><state id="a"/><state id="b"/><state id="c"/></scxml>"#,
        &[deliver("go")],
        &["config: b"],
    );
}

#[test]
fn descendant_transition_preempts_ancestor() {
    check(
        r#"<scxml><state id="p"><transition event="go" target="x"/>
             <state id="c"><transition event="go" target="y"/></state>
           </state><state id="x"/><state id="y"/></scxml>"#,
        &[deliver("go")],
        &["config: y"],
    );
}

#[test]
fn ancestor_transition_used_when_descendant_has_none_enabled() {
    check(
        r#"<scxml><state id="p"><transition event="go" target="x"/>
             <state id="c"><transition event="go" cond="false" target="y"/></state>
           </state><state id="x"/><state id="y"/></scxml>"#,
        &[deliver("go")],
        &["config: x"],
    );
}

#[test]
fn eventless_transitions_are_taken_before_internal_events() {
    check(
        r#"<scxml><state id="s"><onentry><raise event="int"/></onentry>
             <transition event="int" target="viaevent"/>
             <transition target="eventless"/>
           </state><state id="viaevent"/><state id="eventless"/></scxml>"#,
        &[],
        &["config: eventless"],
    );
}

#[test]
fn descriptor_matches_itself_and_dotted_suffixes_but_not_longer_tokens() {
    check(
        &matcher("foo"),
        &[
            deliver("foo"),
            deliver("foo.bar"),
            deliver("foobar"),
            deliver("fo"),
            deliver("foo.bar.baz"),
        ],
        &[
            "hit:foo",
            "hit:foo.bar",
            "miss:foobar",
            "miss:fo",
            "hit:foo.bar.baz",
            "config: s",
        ],
    );
}

#[test]
fn descriptor_with_trailing_dot_star_equals_the_prefix() {
    check(
        &matcher("foo.*"),
        &[deliver("foo"), deliver("foo.bar"), deliver("foobar")],
        &["hit:foo", "hit:foo.bar", "miss:foobar", "config: s"],
    );
}

#[test]
fn descriptor_star_matches_any_event() {
    check(
        r#"<scxml><state id="s"><transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[deliver("a"), deliver("b.c")],
        &["a", "b.c", "config: s"],
    );
}

#[test]
fn descriptor_list_matches_any_of_its_tokens() {
    check(
        &matcher("a b.c"),
        &[deliver("a"), deliver("b"), deliver("b.c.d"), deliver("c")],
        &["hit:a", "miss:b", "hit:b.c.d", "miss:c", "config: s"],
    );
}

// ---- Conflicts in parallel regions ----------------------------------------------------------

#[test]
fn transitions_in_two_parallel_regions_are_both_taken() {
    check(
        r#"<scxml><parallel id="p">
             <state id="r1"><state id="a1"><onexit><log expr="'exit:a1'"/></onexit><transition event="go" target="a2"><log expr="'t1'"/></transition></state>
               <state id="a2"><onentry><log expr="'enter:a2'"/></onentry></state></state>
             <state id="r2"><state id="b1"><onexit><log expr="'exit:b1'"/></onexit><transition event="go" target="b2"><log expr="'t2'"/></transition></state>
               <state id="b2"><onentry><log expr="'enter:b2'"/></onentry></state></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &[
            "exit:b1",
            "exit:a1",
            "t1",
            "t2",
            "enter:a2",
            "enter:b2",
            "config: p r1 a2 r2 b2",
        ],
    );
}

#[test]
fn earlier_region_transition_preempts_later_transition_out_of_parallel() {
    check(
        r#"<scxml><parallel id="p">
             <state id="r1"><state id="a1"><transition event="go" target="a2"/></state><state id="a2"/></state>
             <state id="r2"><state id="b1"><transition event="go" target="out"/></state></state>
           </parallel><state id="out"/></scxml>"#,
        &[deliver("go")],
        &["config: p r1 a2 r2 b1"],
    );
}

#[test]
fn earlier_transition_out_of_parallel_preempts_later_region_transition() {
    check(
        r#"<scxml><parallel id="p">
             <state id="r1"><state id="a1"><transition event="go" target="out"/></state></state>
             <state id="r2"><state id="b1"><transition event="go" target="b2"/></state><state id="b2"/></state>
           </parallel><state id="out"/></scxml>"#,
        &[deliver("go")],
        &["config: out"],
    );
}

#[test]
fn later_transition_from_a_descendant_preempts_conflicting_ancestor_transition() {
    // a1 finds p's transition (a1 has none); b1's own transition conflicts with it and b1 is a
    // descendant of p, so b1's wins (Appendix D removeConflictingTransitions).
    check(
        r#"<scxml><parallel id="p"><transition event="go" target="x"/>
             <state id="r1"><state id="a1"/></state>
             <state id="r2"><state id="b1"><transition event="go" target="y"/></state></state>
           </parallel><state id="x"/><state id="y"/></scxml>"#,
        &[deliver("go")],
        &["config: y"],
    );
}

#[test]
fn transition_enabled_from_two_atomic_states_is_taken_once() {
    check(
        r#"<scxml><parallel id="p">
             <transition event="go"><log expr="'targetless'"/></transition>
             <transition event="leave" target="x"><log expr="'leave'"/></transition>
             <state id="a"/><state id="b"/>
           </parallel><state id="x"/></scxml>"#,
        &[deliver("go"), deliver("leave")],
        &["targetless", "leave", "config: x"],
    );
}

#[test]
fn targetless_transition_never_conflicts() {
    check(
        r#"<scxml><parallel id="p">
             <state id="r1"><state id="a1"><transition event="go"><log expr="'t1'"/></transition></state></state>
             <state id="r2"><state id="b1"><transition event="go" target="out"><log expr="'t2'"/></transition></state></state>
           </parallel><state id="out"/></scxml>"#,
        &[deliver("go")],
        &["t1", "t2", "config: out"],
    );
}

// ---- Internal, external and targetless transitions ------------------------------------------

const ENTRY_EXIT_LOGS: &str =
    r#"<onentry><log expr="'enter:p'"/></onentry><onexit><log expr="'exit:p'"/></onexit>"#;

#[test]
fn external_transition_to_own_child_exits_and_reenters_source() {
    check(
        &format!(
            r#"<scxml><state id="p">{ENTRY_EXIT_LOGS}
                 <transition event="go" target="c2"/><state id="c1"/><state id="c2"/>
               </state></scxml>"#
        ),
        &[deliver("go")],
        &["enter:p", "exit:p", "enter:p", "config: p c2"],
    );
}

#[test]
fn internal_transition_to_own_child_does_not_exit_source() {
    check(
        &format!(
            r#"<scxml><state id="p">{ENTRY_EXIT_LOGS}
                 <transition event="go" type="internal" target="c2"/><state id="c1"/><state id="c2"/>
               </state></scxml>"#
        ),
        &[deliver("go")],
        &["enter:p", "config: p c2"],
    );
}

#[test]
fn targetless_transition_runs_content_without_exit_or_entry() {
    check(
        &format!(
            r#"<scxml><state id="p">{ENTRY_EXIT_LOGS}
                 <transition event="go"><log expr="'content'"/></transition><state id="c1"/>
               </state></scxml>"#
        ),
        &[deliver("go")],
        &["enter:p", "content", "config: p c1"],
    );
}

#[test]
fn internal_transition_targeting_its_own_source_behaves_as_external() {
    check(
        &format!(
            r#"<scxml><state id="p">{ENTRY_EXIT_LOGS}
                 <transition event="go" type="internal" target="p"/><state id="c1"/>
               </state></scxml>"#
        ),
        &[deliver("go")],
        &["enter:p", "exit:p", "enter:p", "config: p c1"],
    );
}

#[test]
fn internal_transition_from_a_parallel_state_behaves_as_external() {
    check(
        r#"<scxml><parallel id="p"><onentry><log expr="'enter:p'"/></onentry><onexit><log expr="'exit:p'"/></onexit>
                 <transition event="go" type="internal" target="a2"/>
                 <state id="r1"><state id="a1"/><state id="a2"/></state><state id="r2"/>
               </parallel></scxml>"#,
        &[deliver("go")],
        &["enter:p", "exit:p", "enter:p", "config: p r1 a2 r2"],
    );
}

#[test]
fn internal_transition_inside_a_region_exits_only_the_child() {
    check(
        r#"<scxml><parallel id="p"><onexit><log expr="'exit:p'"/></onexit>
             <state id="r1"><onexit><log expr="'exit:r1'"/></onexit><transition event="go" type="internal" target="a2"/><state id="a1"><onexit><log expr="'exit:a1'"/></onexit></state><state id="a2"/></state>
             <state id="r2"><onexit><log expr="'exit:r2'"/></onexit></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &["exit:a1", "config: p r1 a2 r2"],
    );
}

#[test]
fn transition_between_regions_exits_and_reenters_the_parallel() {
    // a1 -> b2: the transition domain is the root, so the whole parallel is exited and re-entered.
    check(
        r#"<scxml><parallel id="p"><onentry><log expr="'enter:p'"/></onentry><onexit><log expr="'exit:p'"/></onexit>
             <state id="r1"><state id="a1"><transition event="go" target="b2"/></state></state>
             <state id="r2"><state id="b1"/><state id="b2"/></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &["enter:p", "exit:p", "enter:p", "config: p r1 a1 r2 b2"],
    );
}

// ---- History --------------------------------------------------------------------------------

#[test]
fn shallow_history_restores_last_active_child_and_its_default_descendants() {
    check(
        r#"<scxml><state id="p"><history id="h" type="shallow"><transition target="a"/></history>
             <state id="a"><transition event="next" target="q2"/></state>
             <state id="q"><state id="q1"/><state id="q2"/></state>
             <transition event="out" target="o"/>
           </state><state id="o"><transition event="back" target="h"/></state></scxml>"#,
        &[deliver("next"), deliver("out"), deliver("back")],
        &["config: p q q1"],
    );
}

#[test]
fn deep_history_restores_the_atomic_descendants() {
    check(
        r#"<scxml><state id="p"><history id="h" type="deep"><transition target="a"/></history>
             <state id="a"><transition event="next" target="q2"/></state>
             <state id="q"><state id="q1"/><state id="q2"/></state>
             <transition event="out" target="o"/>
           </state><state id="o"><transition event="back" target="h"/></state></scxml>"#,
        &[deliver("next"), deliver("out"), deliver("back")],
        &["config: p q q2"],
    );
}

#[test]
fn history_default_transition_content_runs_after_parent_onentry() {
    check(
        r#"<scxml initial="h"><state id="p"><onentry><log expr="'enter:p'"/></onentry>
             <history id="h"><transition target="a"><log expr="'default'"/></transition></history>
             <state id="a"><onentry><log expr="'enter:a'"/></onentry></state>
           </state></scxml>"#,
        &[],
        &["enter:p", "default", "enter:a", "config: p a"],
    );
}

#[test]
fn recorded_history_skips_the_default_transition_content() {
    check(
        r#"<scxml><state id="o"><transition event="in" target="h"/></state>
           <state id="p"><history id="h"><transition target="a"><log expr="'default'"/></transition></history>
             <state id="a"><transition event="next" target="b"/></state><state id="b"/>
             <transition event="out" target="o"/>
           </state></scxml>"#,
        &[
            deliver("in"),
            deliver("next"),
            deliver("out"),
            deliver("in"),
        ],
        &["default", "config: p b"],
    );
}

#[test]
fn deep_history_in_parallel_restores_every_region() {
    check(
        r#"<scxml><state id="o"><transition event="in" target="h"/></state>
           <parallel id="p"><history id="h" type="deep"><transition target="a1 b1"/></history>
             <state id="r1"><state id="a1"><transition event="n" target="a2"/></state><state id="a2"/></state>
             <state id="r2"><state id="b1"><transition event="n" target="b2"/></state><state id="b2"/></state>
             <transition event="out" target="o"/>
           </parallel></scxml>"#,
        &[deliver("in"), deliver("n"), deliver("out"), deliver("in")],
        &["config: p r1 a2 r2 b2"],
    );
}

#[test]
fn shallow_history_of_a_parallel_reenters_it_with_its_defaults() {
    check(
        r#"<scxml><state id="o"><transition event="in" target="h"/></state>
           <state id="w"><history id="h" type="shallow"><transition target="x"/></history><state id="x"><transition event="n" target="p"/></state>
           <parallel id="p">
             <state id="r1"><state id="a1"><transition event="n" target="a2"/></state><state id="a2"/></state>
             <state id="r2"><state id="b1"/></state>
           </parallel>
             <transition event="out" target="o"/>
           </state></scxml>"#,
        &[
            deliver("in"),
            deliver("n"),
            deliver("n"),
            deliver("out"),
            deliver("in"),
        ],
        &["config: w p r1 a1 r2 b1"],
    );
}

// ---- Queues ---------------------------------------------------------------------------------

#[test]
fn internal_queue_drains_before_send_without_target() {
    check(
        r#"<scxml><state id="s"><onentry><send event="ext"/><raise event="int1"/><raise event="int2"/></onentry>
             <transition event="*"><log expr="_event.name + '/' + _event.type"/></transition>
           </state></scxml>"#,
        &[],
        &[
            "int1/internal",
            "int2/internal",
            "ext/external",
            "config: s",
        ],
    );
}

#[test]
fn internal_events_raised_while_handling_an_external_event_precede_the_next_external() {
    check(
        r#"<scxml><state id="s">
             <transition event="e1"><log expr="'e1'"/><raise event="i"/></transition>
             <transition event="i"><log expr="'i'"/></transition>
             <transition event="e2"><log expr="'e2'"/></transition>
           </state></scxml>"#,
        &[deliver("e1"), deliver("e2")],
        &["e1", "i", "e2", "config: s"],
    );
}

#[test]
fn delayed_send_fires_only_when_the_clock_reaches_it() {
    check(
        r#"<scxml><state id="s"><onentry><send event="t" delay="1s"/><send event="u" delay="500ms"/>
             <send event="v" delay="1s"/></onentry>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[advance(499), advance(1), advance(499), advance(1)],
        &["u", "t", "v", "config: s"],
    );
}

#[test]
fn cancel_prevents_a_delayed_send() {
    check(
        r#"<scxml><state id="s"><onentry><send id="x" event="t" delay="1s"/></onentry>
             <transition event="stop"><cancel sendid="x"/></transition>
             <transition event="t"><log expr="'fired'"/></transition></state></scxml>"#,
        &[deliver("stop"), advance(5000)],
        &["config: s"],
    );
}

#[test]
fn delayed_send_of_a_finished_session_is_discarded() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content>
             <scxml><final id="f"><onentry><send target="#_parent" event="late" delay="1s"/></onentry></final></scxml>
           </content></invoke>
           <transition event="done.invoke.c"><log expr="'done'"/></transition>
           <transition event="late"><log expr="'late'"/></transition></state></scxml>"##,
        &[advance(2000)],
        &["done", "config: s"],
    );
}

#[test]
fn cancelled_session_runs_onexit_and_processes_nothing_more() {
    check(
        r#"<scxml><state id="s"><onentry><send event="t" delay="1s"/></onentry>
             <onexit><log expr="'exit:s'"/></onexit>
             <transition event="t"><log expr="'fired'"/></transition></state></scxml>"#,
        &[cancel(), advance(2000), deliver("t")],
        &["exit:s", "finished"],
    );
}

#[test]
fn delayed_send_evaluates_its_data_when_executed() {
    check(
        r#"<scxml><datamodel><data id="n" expr="1"/></datamodel><state id="s"><onentry>
             <send event="t" delay="1s"><param name="x" location="n"/></send><assign location="n" expr="2"/></onentry>
             <transition event="t"><log expr="_event.data.x"/></transition></state></scxml>"#,
        &[advance(1000)],
        &["1", "config: s"],
    );
}

#[test]
fn send_to_internal_target_goes_to_the_internal_queue() {
    check(
        r##"<scxml><state id="s"><onentry><send event="ext"/><send target="#_internal" event="int"/></onentry>
             <transition event="*"><log expr="_event.name + '/' + _event.type"/></transition></state></scxml>"##,
        &[],
        &["int/internal", "ext/external", "config: s"],
    );
}

#[test]
fn cancel_with_sendidexpr_uses_the_idlocation_value() {
    check(
        r#"<scxml><datamodel><data id="sid"/></datamodel><state id="s"><onentry><send idlocation="sid" event="t" delay="1s"/><cancel sendidexpr="sid"/></onentry>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[advance(2000)],
        &["config: s"],
    );
}

// ---- _event and system variables ------------------------------------------------------------

#[test]
fn event_type_is_platform_internal_or_external() {
    check(
        r#"<scxml><datamodel><data id="x"/></datamodel><state id="s">
             <onentry><raise event="r"/><assign location="x.y" expr="1"/></onentry>
             <transition event="*"><log expr="_event.name + '/' + _event.type"/></transition></state></scxml>"#,
        &[deliver("d")],
        &[
            "r/internal",
            "error.execution/platform",
            "d/external",
            "config: s",
        ],
    );
}

#[test]
fn sendid_is_set_only_for_send_with_an_id() {
    check(
        r#"<scxml><state id="s"><onentry><send id="mine" event="a"/><send event="b"/><raise event="c"/></onentry>
             <transition event="*"><log expr="_event.name + ':' + _event.sendid"/></transition></state></scxml>"#,
        &[],
        &["c:undefined", "a:mine", "b:undefined", "config: s"],
    );
}

#[test]
fn send_sets_origin_to_the_sending_session_and_its_processor() {
    check(
        r#"<scxml><state id="s"><onentry><send event="a"/></onentry>
             <transition event="a"><log expr="_event.origin == '#_scxml_' + _sessionid"/>
               <log expr="_event.origintype"/></transition>
             <transition event="b"><log expr="_event.origin + ' ' + _event.origintype"/></transition></state></scxml>"#,
        &[deliver("b")],
        &[
            "true",
            "http://www.w3.org/TR/scxml/#SCXMLEventProcessor",
            "undefined undefined",
            "config: s",
        ],
    );
}

#[test]
fn event_data_comes_from_params_namelist_or_content() {
    check(
        r#"<scxml><datamodel><data id="n" expr="7"/></datamodel><state id="s"><onentry>
             <send event="p"><param name="a" expr="1 + 1"/><param name="b" location="n"/></send>
             <send event="nl" namelist="n"/>
             <send event="c"><content expr="[n, 'x']"/></send>
             <send event="t"><content>  some   text </content></send>
           </onentry>
           <transition event="*"><log expr="_event.name + ' ' + JSON.stringify(_event.data)"/></transition></state></scxml>"#,
        &[deliver_data("host", "{k: [1, {z: null}]}")],
        &[
            r#"p {"a":2,"b":7}"#,
            r#"nl {"n":7}"#,
            r#"c [7,"x"]"#,
            r#"t "some text""#,
            r#"host {"k":[1,{"z":null}]}"#,
            "config: s",
        ],
    );
}

#[test]
fn event_has_every_field_even_when_empty() {
    check(
        r#"<scxml><state id="s"><onentry><raise event="r"/></onentry>
             <transition event="r"><log expr="['name','type','sendid','origin','origintype','invokeid','data'].every(function(k){ return k in _event })"/>
               <log expr="_event.sendid === undefined &amp;&amp; _event.invokeid === undefined"/></transition></state></scxml>"#,
        &[],
        &["true", "true", "config: s"],
    );
}

#[test]
fn event_is_unbound_before_the_first_event() {
    check(
        r#"<scxml><state id="s"><onentry><log expr="typeof _event"/></onentry>
             <transition event="go"><log expr="typeof _event"/></transition></state></scxml>"#,
        &[deliver("go")],
        &["undefined", "object", "config: s"],
    );
}

#[test]
fn system_variables_name_sessionid_and_ioprocessors() {
    check(
        r#"<scxml name="machine"><state id="s"><onentry><log expr="_name"/><log expr="_sessionid"/>
             <log expr="_ioprocessors['scxml'].location == '#_scxml_' + _sessionid"/>
             <log expr="_ioprocessors['http://www.w3.org/TR/scxml/#SCXMLEventProcessor'].location"/>
           </onentry></state></scxml>"#,
        &[],
        &["machine", "s1", "true", "#_scxml_s1", "config: s"],
    );
}

#[test]
fn send_to_own_scxml_session_address_arrives_as_external() {
    check(
        r#"<scxml><state id="s"><onentry><send targetexpr="'#_scxml_' + _sessionid" event="me"/></onentry>
             <transition event="me"><log expr="_event.type"/></transition></state></scxml>"#,
        &[],
        &["external", "config: s"],
    );
}

// ---- Errors ---------------------------------------------------------------------------------

/// Logs every error event by name.
const LOG_ERRORS: &str = r#"<transition event="error"><log expr="_event.name"/></transition>"#;

#[test]
fn bad_assign_expr_raises_error_execution_and_aborts_the_block() {
    check(
        &format!(
            r#"<scxml><datamodel><data id="x" expr="0"/></datamodel><state id="s">
                 <onentry><assign location="x" expr="nosuch.y"/><log expr="'not reached'"/></onentry>
                 <onentry><log expr="'next block ' + x"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["next block 0", "error.execution", "config: s"],
    );
}

#[test]
fn bad_log_expr_raises_error_execution() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry><log expr="nosuch.y"/><log expr="'not reached'"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn cond_error_counts_as_false_and_raises_error_execution() {
    check(
        &format!(
            r#"<scxml><state id="s">{LOG_ERRORS}
                 <transition event="go" cond="nosuch.y" target="a"/><transition event="go" target="b"/>
               </state><state id="a"/><state id="b">{LOG_ERRORS}</state></scxml>"#
        ),
        &[deliver("go")],
        &["error.execution", "config: b"],
    );
}

#[test]
fn if_cond_error_falls_through_to_else() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry>
                 <if cond="nosuch.y"><log expr="'then'"/><elseif cond="false"/><else/><log expr="'else'"/></if>
                 <log expr="'after'"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["else", "after", "error.execution", "config: s"],
    );
}

#[test]
fn assigning_to_system_variables_is_an_error_and_leaves_them_unchanged() {
    check(
        r#"<scxml><state id="s"><onentry><assign location="_sessionid" expr="'x'"/></onentry>
                 <onentry><log expr="_sessionid"/></onentry>
                 <transition event="go"><assign location="_event" expr="1"/></transition>
                 <transition event="error"><log expr="_event.name"/><log expr="_sessionid + ' ' + _name"/></transition>
                 <transition event="x"><assign location="_name" expr="'y'"/></transition>
               </state></scxml>"#,
        &[deliver("go"), deliver("x")],
        &[
            "s1",
            "error.execution",
            "s1 ",
            "error.execution",
            "s1 ",
            "error.execution",
            "s1 ",
            "config: s",
        ],
    );
}

#[test]
fn send_to_unknown_session_raises_error_communication_before_a_later_raise() {
    check(
        r##"<scxml><state id="s"><onentry><send id="x" target="#_scxml_nosuch" event="e"/>
             <send target="#_scxml_nosuch" event="e"/><raise event="after"/></onentry>
             <transition event="*"><log expr="_event.name + ' ' + _event.sendid"/></transition></state></scxml>"##,
        &[],
        &[
            "error.communication x",
            "error.communication s1.send...",
            "after undefined",
            "config: s",
        ],
    );
}

#[test]
fn send_to_parent_when_not_invoked_raises_error_communication() {
    check(
        &format!(
            r##"<scxml><state id="s"><onentry><send target="#_parent" event="e"/><raise event="after"/></onentry>
                 {LOG_ERRORS}<transition event="after"><log expr="'after'"/></transition></state></scxml>"##
        ),
        &[],
        &["error.communication", "after", "config: s"],
    );
}

#[test]
fn unsupported_send_type_raises_error_execution() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry><send type="nosuch" event="e"/><log expr="'not reached'"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn invalid_send_delay_raises_error_execution_with_the_sendid() {
    check(
        r#"<scxml><state id="s"><onentry><send id="d" event="e" delayexpr="'soon'"/></onentry>
             <transition event="error.execution"><log expr="_event.sendid"/></transition></state></scxml>"#,
        &[],
        &["d", "config: s"],
    );
}

#[test]
fn error_in_one_transition_content_does_not_stop_another() {
    check(
        r#"<scxml><parallel id="p">
             <state id="r1"><state id="a1"><transition event="go"><log expr="nosuch.x"/><log expr="'t1 rest'"/></transition></state></state>
             <state id="r2"><state id="b1"><transition event="go"><log expr="'t2'"/></transition></state></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &["t2", "config: p r1 a1 r2 b1"],
    );
}

#[test]
fn assign_to_undeclared_variable_raises_error_execution() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry><assign location="undeclared" expr="1"/><log expr="'rest'"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn send_with_bad_param_or_namelist_is_not_sent() {
    check(
        r#"<scxml><state id="s"><onentry><send event="e"><param name="x" expr="nosuch.y"/></send><log expr="'rest'"/></onentry>
             <onentry><send event="e" namelist="nosuch"/><log expr="'rest'"/></onentry>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &["error.execution", "error.execution", "config: s"],
    );
}

// ---- foreach --------------------------------------------------------------------------------

#[test]
fn foreach_iterates_a_shallow_copy_with_index() {
    check(
        r#"<scxml><datamodel><data id="arr" expr="[10, 20, 30]"/></datamodel><state id="s"><onentry>
             <foreach array="arr" item="v" index="i"><script>arr.push(0)</script><log expr="i + '=' + v"/></foreach>
             <log expr="arr.length"/></onentry></state></scxml>"#,
        &[],
        &["0=10", "1=20", "2=30", "6", "config: s"],
    );
}

#[test]
fn foreach_declares_new_item_and_index_variables() {
    check(
        r#"<scxml><state id="s"><onentry>
             <foreach array="['a', 'b']" item="fresh" index="idx"/><log expr="fresh + idx"/></onentry></state></scxml>"#,
        &[],
        &["b1", "config: s"],
    );
}

#[test]
fn foreach_with_illegal_item_raises_error_execution_and_skips_the_body() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry><foreach array="[1, 2]" item="'not a name'"><log expr="'body'"/></foreach>
                 <log expr="'not reached'"/></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn foreach_over_a_non_array_raises_error_execution() {
    check(
        &format!(
            r#"<scxml><state id="s"><onentry><foreach array="5" item="x"><log expr="'body'"/></foreach></onentry>{LOG_ERRORS}</state></scxml>"#
        ),
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn error_in_foreach_body_stops_the_loop_and_the_block() {
    check(
        r#"<scxml><state id="s"><onentry><foreach array="[1,2,3]" item="v"><log expr="v"/><if cond="v == 2"><log expr="nosuch.x"/></if></foreach><log expr="'after'"/></onentry>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &["1", "2", "error.execution", "config: s"],
    );
}

// ---- Data -----------------------------------------------------------------------------------

#[test]
fn early_binding_assigns_every_data_element_at_start() {
    check(
        r#"<scxml><state id="a"><onentry><log expr="v"/></onentry><transition event="go" target="b"/></state>
           <state id="b"><datamodel><data id="v" expr="5"/></datamodel></state></scxml>"#,
        &[],
        &["5", "config: a"],
    );
}

#[test]
fn late_binding_assigns_data_on_first_entry_only() {
    check(
        r#"<scxml binding="late"><state id="a"><onentry><log expr="typeof v"/></onentry><transition event="go" target="b"/></state>
           <state id="b"><datamodel><data id="v" expr="5"/></datamodel>
             <onentry><log expr="v"/><assign location="v" expr="v + 1"/></onentry><transition event="go" target="a"/></state></scxml>"#,
        &[deliver("go"), deliver("go"), deliver("go")],
        &["undefined", "5", "number", "6", "config: b"],
    );
}

#[test]
fn late_binding_declares_data_variables_at_initialisation() {
    // SCXML §5.3: with late binding the processor "MUST create the data elements at document
    // initialization time", assigning their values only at first entry.
    check(
        r#"<scxml binding="late"><state id="a"><onentry><log expr="v === undefined"/></onentry>
             <transition event="error"><log expr="_event.data.message"/></transition></state>
           <state id="b"><datamodel><data id="v" expr="5"/></datamodel></state></scxml>"#,
        &[],
        &["true", "config: a"],
    );
}

#[test]
fn data_without_value_is_undefined() {
    check(
        r#"<scxml><datamodel><data id="x"/></datamodel><state id="s"><onentry><log expr="x === undefined"/></onentry></state></scxml>"#,
        &[],
        &["true", "config: s"],
    );
}

#[test]
fn data_with_json_content_is_an_object() {
    check(
        r#"<scxml><datamodel><data id="o">{"a": 1, "b": [1, 2]}</data></datamodel>
           <state id="s"><onentry><log expr="o.a + o.b[1]"/></onentry></state></scxml>"#,
        &[],
        &["3", "config: s"],
    );
}

#[test]
fn failed_data_expr_raises_error_execution_and_leaves_it_undefined() {
    check(
        r#"<scxml><datamodel><data id="x" expr="nosuch.y"/></datamodel><state id="s">
             <onentry><log expr="x === undefined"/></onentry>
             <transition event="error.execution"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &["true", "error.execution", "config: s"],
    );
}

#[test]
fn script_variables_and_functions_are_visible_to_later_expressions() {
    check(
        r#"<scxml><script>var z = 4; function dbl(n) { return 2 * n; }</script>
           <state id="s"><onentry><script>function inc(n) { return n + 1; }</script>
             <log expr="dbl(z)"/><log expr="inc(dbl(z))"/></onentry>
             <transition event="go"><log expr="inc(z)"/></transition></state></scxml>"#,
        &[deliver("go")],
        &["8", "9", "5", "config: s"],
    );
}

#[test]
fn expression_with_trailing_semicolon_evaluates() {
    check(
        r#"<scxml><datamodel><data id="x" expr="1 + 2;"/></datamodel><state id="s">
             <onentry><log expr="x * 2;"/></onentry>
             <transition event="go" cond="x == 3;"><log expr="'cond'"/></transition></state></scxml>"#,
        &[deliver("go")],
        &["6", "cond", "config: s"],
    );
}

#[test]
fn data_with_xml_content_is_a_dom() {
    check(
        r#"<scxml><datamodel><data id="d"><books><book title="x"/></books></data></datamodel><state id="s"><onentry><log expr="d.getElementsByTagName('book')[0].getAttribute('title')"/></onentry></state></scxml>"#,
        &[],
        &["x", "config: s"],
    );
}

// ---- Done events and final states -----------------------------------------------------------

#[test]
fn done_state_is_raised_after_final_onentry() {
    check(
        r#"<scxml><state id="p"><state id="a"><transition event="go" target="f"/></state>
             <final id="f"><onentry><log expr="'enter:f'"/></onentry></final>
             <transition event="done.state.p" target="x"><log expr="_event.name + ' ' + _event.type"/></transition>
           </state><state id="x"/></scxml>"#,
        &[deliver("go")],
        &["enter:f", "done.state.p internal", "config: x"],
    );
}

#[test]
fn parallel_is_done_when_every_region_is_final() {
    check(
        r#"<scxml><parallel id="p"><transition event="done.state"><log expr="_event.name"/></transition>
             <state id="r1"><state id="a"><transition event="g1" target="f1"/></state><final id="f1"/></state>
             <state id="r2"><state id="b"><transition event="g2" target="f2"/></state><final id="f2"/></state>
           </parallel></scxml>"#,
        &[deliver("g1"), deliver("g2")],
        &[
            "done.state.r1",
            "done.state.r2",
            "done.state.p",
            "config: p r1 f1 r2 f2",
        ],
    );
}

#[test]
fn donedata_params_and_content_become_event_data() {
    check(
        r#"<scxml><state id="p"><state id="a"><transition event="go" target="f"/></state>
             <final id="f"><donedata><param name="x" expr="1 + 1"/></donedata></final>
             <transition event="done.state.p" target="q"><log expr="JSON.stringify(_event.data)"/></transition></state>
           <state id="q"><final id="g"><donedata><content expr="'text'"/></donedata></final>
             <transition event="done.state.q"><log expr="_event.data"/></transition></state></scxml>"#,
        &[deliver("go")],
        &[r#"{"x":2}"#, "text", "config: q g"],
    );
}

#[test]
fn top_level_final_ends_the_session_after_exit_handlers() {
    check(
        r#"<scxml><state id="s"><onexit><log expr="'exit:s'"/></onexit><transition event="go" target="f"/></state>
           <final id="f"><onentry><log expr="'enter:f'"/><raise event="ignored"/></onentry>
             <onexit><log expr="'exit:f'"/></onexit></final></scxml>"#,
        &[deliver("go"), deliver("later")],
        &["exit:s", "enter:f", "exit:f", "final: f"],
    );
}

#[test]
fn top_level_final_finishes_a_directly_driven_session() {
    check_host(
        r#"<scxml><state id="s"><transition event="go" target="f"/></state><final id="f"/></scxml>"#,
        &mut NoHost,
        &["go", "after"],
        &["final: f"],
    );
}

#[test]
fn donedata_error_raises_error_execution_before_the_done_event() {
    check(
        r#"<scxml><state id="p" initial="f"><final id="f"><donedata><content expr="nosuch.x"/></donedata></final>
             <transition event="*"><log expr="_event.name + ' ' + _event.data"/></transition></state></scxml>"#,
        &[],
        &[
            "error.execution [object Object]",
            "done.state.p undefined",
            "config: p f",
        ],
    );
}

#[test]
fn document_whose_initial_state_is_final_ends_at_start() {
    check(
        r#"<scxml><final id="f"><onentry><log expr="'f'"/></onentry></final></scxml>"#,
        &[],
        &["f", "final: f"],
    );
}

// ---- Invoke ---------------------------------------------------------------------------------

#[test]
fn invoke_starts_at_macrostep_end_only_for_states_still_active() {
    check(
        r#"<scxml><state id="s"><onentry><raise event="int"/></onentry>
             <invoke id="c"><content><scxml><state id="cs"><onentry><log expr="'child:start'"/></onentry></state></scxml></content></invoke>
             <transition event="int" target="t"><log expr="'int'"/></transition></state>
           <state id="t"><invoke id="d"><content><scxml><state id="ds"><onentry><log expr="'child2:start'"/></onentry></state></scxml></content></invoke></state></scxml>"#,
        &[],
        &["int", "child2:start", "config: t"],
    );
}

#[test]
fn parent_and_invokeid_targets_route_between_sessions() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs">
               <onentry><send target="#_parent" event="ping"/></onentry>
               <transition event="pong"><log expr="'child got ' + _event.name + ' from ' + (_event.origin == '#_scxml_s1')"/></transition>
             </state></scxml></content></invoke>
             <transition event="ping"><log expr="'parent got ' + _event.name + ' invokeid ' + _event.invokeid"/>
               <send target="#_c" event="pong"/></transition></state></scxml>"##,
        &[],
        &[
            "parent got ping invokeid c",
            "child got pong from true",
            "config: s",
        ],
    );
}

#[test]
fn done_invoke_is_the_last_event_from_the_child() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><final id="f">
               <onentry><send target="#_parent" event="bye"/></onentry>
               <donedata><param name="v" expr="'dd'"/></donedata></final></scxml></content></invoke>
             <transition event="*"><log expr="_event.name + ' ' + _event.invokeid + ' ' + JSON.stringify(_event.data)"/></transition></state></scxml>"##,
        &[],
        &[
            "bye c undefined",
            r#"done.invoke.c c {"v":"dd"}"#,
            "config: s",
        ],
    );
}

#[test]
fn invoke_param_overrides_child_data() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><param name="n" expr="42"/><content><scxml>
             <datamodel><data id="n" expr="1"/><data id="m" expr="2"/></datamodel>
             <state id="cs"><onentry><log expr="n + ' ' + m"/></onentry></state></scxml></content></invoke></state></scxml>"#,
        &[],
        &["42 2", "config: s"],
    );
}

#[test]
fn leaving_the_invoking_state_cancels_the_child_and_drops_its_events() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs">
               <onentry><send target="#_parent" event="late" delay="1s"/></onentry>
               <onexit><log expr="'child:exit'"/><send target="#_parent" event="fromexit"/></onexit>
             </state></scxml></content></invoke>
             <transition event="go" target="t"/></state>
           <state id="t"><transition event="*"><log expr="'parent got ' + _event.name"/></transition></state></scxml>"##,
        &[deliver("go"), advance(2000)],
        &["child:exit", "config: t"],
    );
}

#[test]
fn autoforward_copies_external_events_to_the_child() {
    check(
        r#"<scxml><state id="s"><onentry><raise event="internal"/></onentry>
             <invoke id="c" autoforward="true"><content><scxml><state id="cs">
               <transition event="*"><log expr="'child got ' + _event.name + ' ' + JSON.stringify(_event.data)"/></transition>
             </state></scxml></content></invoke></state></scxml>"#,
        &[deliver_data("hello", "{a: 1}")],
        &[r#"child got hello {"a":1}"#, "config: s"],
    );
}

#[test]
fn finalize_runs_before_transition_selection() {
    check(
        r##"<scxml><datamodel><data id="got" expr="0"/></datamodel><state id="s">
             <invoke id="c"><content><scxml><state id="cs"><onentry>
               <send target="#_parent" event="val"><param name="x" expr="5"/></send></onentry></state></scxml></content>
               <finalize><assign location="got" expr="_event.data.x"/></finalize></invoke>
             <transition event="val" cond="got == 5" target="pass"/><transition event="val" target="fail"/></state>
           <state id="pass"/><state id="fail"/></scxml>"##,
        &[],
        &["config: pass"],
    );
}

#[test]
fn invoke_idlocation_holds_an_id_usable_as_a_send_target() {
    check(
        r#"<scxml><datamodel><data id="iid"/></datamodel><state id="s">
             <invoke idlocation="iid"><content><scxml><state id="cs">
               <transition event="hi"><log expr="'child got hi'"/></transition></state></scxml></content></invoke>
             <transition event="go"><log expr="iid.indexOf('s.') == 0"/><send targetexpr="'#_' + iid" event="hi"/></transition>
           </state></scxml>"#,
        &[deliver("go")],
        &["true", "child got hi", "config: s"],
    );
}

#[test]
fn send_to_unknown_invokeid_raises_error_communication() {
    check(
        &format!(
            r##"<scxml><state id="s"><onentry><send target="#_nosuch" event="e"/></onentry>{LOG_ERRORS}</state></scxml>"##
        ),
        &[],
        &["error.communication", "config: s"],
    );
}

#[test]
fn parent_can_reply_to_event_origin() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs">
               <onentry><send target="#_parent" event="ping"/></onentry>
               <transition event="pong"><log expr="'child got pong'"/></transition>
             </state></scxml></content></invoke>
             <transition event="ping"><send targetexpr="_event.origin" event="pong"/></transition></state></scxml>"##,
        &[],
        &["child got pong", "config: s"],
    );
}

#[test]
fn invoke_with_bad_param_raises_error_execution_and_starts_nothing() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><param name="x" expr="nosuch.y"/><content><scxml><state id="cs"><onentry><log expr="'child'"/></onentry></state></scxml></content></invoke>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn reentering_the_invoking_state_starts_a_new_child() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs"><onentry><log expr="'child'"/></onentry></state></scxml></content></invoke>
             <transition event="go" target="s"/></state></scxml>"#,
        &[deliver("go")],
        &["child", "child", "config: s"],
    );
}

#[test]
fn cancelling_a_child_cancels_its_own_children() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs">
             <invoke id="g"><content><scxml><state id="gs"><onentry><log expr="'grandchild'"/></onentry><onexit><log expr="'grandchild:exit'"/></onexit></state></scxml></content></invoke>
             </state></scxml></content></invoke>
             <transition event="go" target="t"/></state><state id="t"/></scxml>"#,
        &[deliver("go")],
        &["grandchild", "grandchild:exit", "config: t"],
    );
}

#[test]
fn invoke_namelist_overrides_child_data() {
    check(
        r#"<scxml><datamodel><data id="n" expr="9"/></datamodel><state id="s"><invoke id="c" namelist="n"><content><scxml>
             <datamodel><data id="n" expr="1"/></datamodel>
             <state id="cs"><onentry><log expr="n"/></onentry></state></scxml></content></invoke></state></scxml>"#,
        &[],
        &["9", "config: s"],
    );
}

#[test]
fn child_session_has_its_own_name_and_sessionid() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><content><scxml name="kid"><state id="cs"><onentry><log expr="_name + ' ' + _sessionid + ' ' + _ioprocessors['scxml'].location"/></onentry></state></scxml></content></invoke></state></scxml>"#,
        &[],
        &["kid s1.c #_scxml_s1.c", "config: s"],
    );
}

#[test]
fn send_to_a_finished_invoked_child_raises_error_communication() {
    // SCXML §C.1: a send to a session that "does not exist or is inaccessible" places
    // error.communication on the internal queue; the child ended with done.invoke.c (§6.4).
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><final id="f"/></scxml></content></invoke>
             <transition event="done.invoke.c"><send target="#_c" event="hello"/><raise event="after"/></transition>
             <transition event="*"><log expr="_event.name"/></transition></state></scxml>"##,
        &[],
        &["error.communication", "after", "config: s"],
    );
}

#[test]
fn unsupported_invoke_type_raises_error_execution() {
    check(
        r#"<scxml><state id="s"><invoke id="c" type="nosuch"/><transition event="*"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &["error.execution", "config: s"],
    );
}

#[test]
fn autoforwarded_events_include_child_events_after_finalize() {
    check(
        r##"<scxml><datamodel><data id="f" expr="0"/></datamodel><state id="s"><invoke id="c" autoforward="true"><content><scxml><state id="cs">
               <transition event="ext"><log expr="'child got ext'"/><send target="#_parent" event="reply"/></transition>
               <transition event="reply"><log expr="'child got its reply back'"/></transition>
             </state></scxml></content><finalize><assign location="f" expr="f + 1"/></finalize></invoke>
             <transition event="reply"><log expr="'parent got reply ' + f"/></transition></state></scxml>"##,
        &[deliver("ext")],
        &[
            "child got ext",
            "parent got reply 1",
            "child got its reply back",
            "config: s",
        ],
    );
}

// ---- Limits ---------------------------------------------------------------------------------

const EVENTLESS_LOOP: &str = r#"<scxml><state id="a"><transition target="b"/></state><state id="b"><transition target="a"/></state></scxml>"#;

#[test]
fn eventless_loop_halts_its_session_and_others_keep_running() {
    let mut h = Harness::new(EcmaDataModel::new(), Capabilities::default());
    let other = h.start(
        r#"<scxml><state id="s"><transition event="ping"><log expr="'pong'"/></transition></state></scxml>"#,
    );
    let looping = h.start(EVENTLESS_LOOP);
    assert!(
        h.sys.session(&looping).is_none(),
        "the looping session is gone"
    );
    h.input(&other, deliver("ping"));
    h.close(&other);
    assert_trace(
        &h.trace,
        &[
            "halted:more than 100000 microsteps...",
            "halted: more than 100000 microsteps...",
            "pong",
            "config: s",
        ],
    );
}

#[test]
fn eventless_loop_halts_at_the_configured_microstep_limit() {
    let mut caps = Capabilities::default();
    caps.limits.max_microsteps = 10;
    check_with(
        EVENTLESS_LOOP,
        caps,
        &[],
        &[
            "halted:more than 10 microsteps...",
            "halted: more than 10 microsteps...",
        ],
    );
}

#[test]
fn runaway_script_raises_error_execution_and_the_session_continues() {
    check(
        r#"<scxml><state id="s"><onentry><script>while (true) {}</script><log expr="'not reached'"/></onentry>
             <transition event="error.execution" target="t"><log expr="_event.data.message"/></transition></state>
           <state id="t"><onentry><log expr="'still running'"/></onentry></state></scxml>"#,
        &[],
        &["...loop...", "still running", "config: t"],
    );
}

#[test]
fn unbounded_recursion_raises_error_execution() {
    check(
        r#"<scxml><state id="s"><onentry><script>function f() { return f(); } f();</script></onentry>
             <transition event="error.execution" target="t"><log expr="_event.data.message"/></transition></state>
           <state id="t"/></scxml>"#,
        &[],
        &["...recursive calls...", "config: t"],
    );
}

#[test]
fn halted_child_does_not_disturb_its_parent() {
    check(
        r##"<scxml><state id="s"><invoke id="c"><content><scxml><state id="a"><transition target="b"/></state><state id="b"><transition target="a"/></state></scxml></content></invoke>
             <transition event="*"><log expr="'parent got ' + _event.name"/></transition></state></scxml>"##,
        &[deliver("go")],
        &[
            "halted:more than 100000 microsteps...",
            "parent got go",
            "config: s",
        ],
    );
}

// ---- ECMAScript expressions -----------------------------------------------------------------

/// Evaluates each expression twice, as written (small expressions take the native fast path
/// of `ecma/fast.rs`) and wrapped in a function call (which always goes through boa), and
/// expects `expr:value` from both.
fn check_expressions(rows: &[(&str, &str)]) {
    let mut logs = String::new();
    let mut expected = Vec::new();
    for (e, v) in rows {
        let e_xml = e
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;");
        logs.push_str(&format!(
            r#"<log label="{e_xml}" expr="{e_xml}"/>
               <log label="{e_xml}" expr="(function () {{ return ({e_xml}); }})()"/>"#
        ));
        expected.extend([format!("{e}:{v}"), format!("{e}:{v}")]);
    }
    expected.push("config: s".into());
    let doc = format!(
        r#"<scxml><datamodel><data id="n" expr="2"/><data id="str" expr="'10'"/>
             <data id="o" expr="({{a: {{b: 1}}, u: undefined, z: null}})"/><data id="arr" expr="[1, 2]"/></datamodel>
           <state id="s"><onentry>{logs}</onentry>
             <transition event="error"><log expr="'ERROR ' + _event.data.message"/></transition></state></scxml>"#
    );
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    check(&doc, &[], &expected);
}

#[test]
fn operators_agree_on_fast_and_general_paths() {
    check_expressions(&[
        ("n + 1", "3"),
        ("str + 1", "101"),
        ("str * n", "20"),
        ("str - 1", "9"),
        ("'3' * '4'", "12"),
        ("null == undefined", "true"),
        ("null === undefined", "false"),
        ("0 == ''", "true"),
        ("arr == '1,2'", "true"),
        ("-'3'", "-3"),
        ("+true", "1"),
        ("0 || 'x'", "x"),
        ("'' && 'y'", ""),
        ("'a' + {}", "a[object Object]"),
        ("0x10", "16"),
        ("1e3", "1000"),
        (".5", "0.5"),
        ("'\\u0041\\x42\\t'.length", "3"),
        ("'abc'.length", "3"),
        ("typeof null", "object"),
        ("typeof nosuch", "undefined"),
        ("typeof o.u", "undefined"),
        ("-0", "0"),
        ("1/0", "Infinity"),
        ("0/0", "NaN"),
        ("'10' < '9'", "true"),
        ("10 < '9'", "false"),
        ("arr + ''", "1,2"),
        ("!!'0'", "true"),
        ("1 + 2 * 3 - 4 / 2", "5"),
        ("2 - 1 - 1", "0"),
        ("true ? 1 : false ? 2 : 3", "1"),
        ("false || true && false", "false"),
        ("NaN == NaN", "false"),
        ("o.a.b", "1"),
        ("o['a']['b']", "1"),
        ("o.z === null", "true"),
        ("arr[1]", "2"),
        ("arr['1']", "2"),
        ("arr.length", "2"),
        ("7 % 3", "1"),
        ("-7 % 3", "-1"),
        ("2 * -3", "-6"),
        ("1 - -1", "2"),
        ("'a' < 'b'", "true"),
        ("undefined", "undefined"),
        ("null", "null"),
        ("[1, [2, 3]]", "1,2,3"),
        ("({x: 1}).x", "1"),
        ("typeof In", "function"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("1e21", "1e+21"),
        ("123456789012", "123456789012"),
        ("2 ** 10", "1024"),
        ("n == 2 ? 'two' : 'other'", "two"),
        ("!n", "false"),
        ("typeof typeof n", "string"),
        ("'x' + n * 2", "x4"),
        ("(n + 1) * 2", "6"),
        ("1 < 2 < 3", "true"),
        ("3 > 2 > 1", "false"),
        ("'b' + 'a' + +'a' + 'a'", "baNaNa"),
        ("[] + []", ""),
        ("1 == '1'", "true"),
        ("1 === '1'", "false"),
        ("true + 1", "2"),
        ("'5' - - '2'", "7"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1e-7"),
        ("-1e-7", "-1e-7"),
        ("100 / 3", "33.333333333333336"),
    ]);
}

#[test]
fn runtime_errors_become_error_execution_with_the_script_message() {
    check(
        r#"<scxml><datamodel><data id="o" expr="({z: null})"/></datamodel><state id="s"><onentry><log expr="o.z.q"/></onentry><onentry><log expr="nosuch"/></onentry><onentry><log expr="o.u.q"/></onentry><onentry><log expr="'ok'"/></onentry>
          <transition event="error"><log expr="_event.data.message"/></transition></state></scxml>"#,
        &[],
        &[
            "ok",
            "TypeError...",
            "ReferenceError...",
            "TypeError...",
            "config: s",
        ],
    );
}

#[test]
fn cond_converts_with_to_boolean() {
    check(
        r#"<scxml><state id="s">
          <transition event="go" cond="''"><log expr="'empty'"/></transition>
          <transition event="go" cond="0"><log expr="'zero'"/></transition>
          <transition event="go" cond="null"><log expr="'null'"/></transition>
          <transition event="go" cond="undefined"><log expr="'undef'"/></transition>
          <transition event="go" cond="NaN"><log expr="'nan'"/></transition>
          <transition event="go" cond="'0'"><log expr="'str0'"/></transition>
          <transition event="go2" cond="[]"><log expr="'arr'"/></transition>
          <transition event="error"><log expr="_event.data.message"/></transition>
        </state></scxml>"#,
        &[deliver("go"), deliver("go2")],
        &["str0", "arr", "config: s"],
    );
}

#[test]
fn assign_to_member_locations_and_invalid_locations() {
    check(
        r#"<scxml><datamodel><data id="o" expr="({a: {}})"/><data id="arr" expr="[0, 0]"/></datamodel><state id="s"><onentry>
          <assign location="o.a.b" expr="1"/><assign location="o['c']" expr="2"/><assign location="arr[1]" expr="3"/>
          <log expr="JSON.stringify(o) + JSON.stringify(arr)"/></onentry>
          <onentry><assign location="o.x.y" expr="1"/></onentry>
          <onentry><assign location="o.a.b + 1" expr="1"/></onentry>
          <transition event="error"><log expr="_event.name"/></transition></state></scxml>"#,
        &[],
        &[
            r#"{"a":{"b":1},"c":2}[0,3]"#,
            "error.execution",
            "error.execution",
            "config: s",
        ],
    );
}

// ---- Custom actions -------------------------------------------------------------------------

/// Records custom actions and evaluates their `queue` attribute.
#[derive(Default)]
struct QueueHost {
    seen: Vec<String>,
    fail: bool,
}

impl Host for QueueHost {
    fn session_exists(&self, _: &str) -> bool {
        false
    }
    fn supports_send_type(&self, _: &str) -> bool {
        false
    }
    fn supports_invoke_type(&self, _: &str) -> bool {
        false
    }
    fn custom_action(
        &mut self,
        session_id: &str,
        action: &CustomAction,
        scope: &mut dyn ActionScope,
        _now: u64,
    ) -> Result<(), String> {
        let attr = |k: &str| {
            action
                .attrs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let queue = scope.eval(&attr("queue"))?;
        self.seen.push(format!(
            "{session_id} {} {} queue={} priority={}",
            action.namespace,
            action.name,
            queue.to_display_string(),
            attr("priority")
        ));
        if self.fail {
            Err("queue is full".into())
        } else {
            Ok(())
        }
    }
}

const SUBMIT: &str = r#"<scxml><state id="s"><onentry>
    <q:submit xmlns:q="www.genesyslab.com/modules/queue" queue="'vq1'" priority="5"/>
    <log expr="'after submit'"/></onentry>
  <transition event="error.execution"><log expr="_event.data.message"/></transition></state></scxml>"#;

#[test]
fn custom_action_reaches_the_host_with_namespace_name_and_attributes() {
    let mut host = QueueHost::default();
    check_host(SUBMIT, &mut host, &[], &["after submit", "config: s"]);
    assert_eq!(
        host.seen,
        ["h1 www.genesyslab.com/modules/queue submit queue=vq1 priority=5"]
    );
}

#[test]
fn custom_action_error_from_host_raises_error_execution() {
    let mut host = QueueHost {
        fail: true,
        ..QueueHost::default()
    };
    check_host(SUBMIT, &mut host, &[], &["queue is full", "config: s"]);
}

#[test]
fn custom_action_without_handler_raises_error_execution_naming_the_element() {
    check_host(
        SUBMIT,
        &mut NoHost,
        &[],
        &[
            "no handler for <submit> in namespace www.genesyslab.com/modules/queue",
            "config: s",
        ],
    );
}

// ---- Null data model ------------------------------------------------------------------------

#[test]
fn null_data_model_evaluates_in_conditions() {
    check(
        r#"<scxml datamodel="null"><parallel id="p">
             <state id="r1"><state id="a"><transition event="go" cond="In('y')" target="b"/>
               <transition event="go" cond="In('x')" target="c"/></state><state id="b"/><state id="c"/></state>
             <state id="r2"><state id="x"/><state id="y"/></state>
           </parallel></scxml>"#,
        &[deliver("go")],
        &["config: p r1 c r2 x"],
    );
}

// ---- Values leaving the data model, and inline content ----------------------------------

#[test]
fn cyclic_value_in_send_params_raises_error_execution_instead_of_exhausting_memory() {
    check(
        r#"<scxml><datamodel><data id="o" expr="(function(){ var o = {}; o.self = o; return o; })()"/></datamodel>
             <state id="s"><onentry><send event="e"><param name="p" expr="o"/></send></onentry>
               <transition event="error.execution"><log expr="_event.data.message"/></transition></state></scxml>"#,
        &[],
        &[
            "<param name=\"p\">: the value contains a cycle and cannot leave the data model",
            "config: s",
        ],
    );
}

#[test]
fn shared_substructure_is_bounded_when_it_leaves_the_data_model() {
    // 2^40 paths through 40 shared objects: refused instead of expanded.
    check(
        r#"<scxml><datamodel><data id="o" expr="(function(){ var o = 1; for (var i = 0; i &lt; 40; i++) o = {a: o, b: o}; return o; })()"/></datamodel>
             <state id="s"><onentry><send event="e"><param name="p" expr="o"/></send></onentry>
               <transition event="error.execution"><log expr="_event.data.message"/></transition></state></scxml>"#,
        &[],
        &["<param name=\"p\">: the value has more than 100000 parts and cannot leave the data model", "config: s"],
    );
}

#[test]
fn xml_data_leaves_the_data_model_as_markup_and_returns_as_a_dom() {
    check(
        r#"<scxml><datamodel><data id="x"><books xmlns=""><book title="t1"/><book title="t2">text</book></books></data></datamodel>
             <state id="s"><onentry><send event="e"><content expr="x"/></send></onentry>
               <transition event="e"><log expr="_event.data.getElementsByTagName('book')[1].getAttribute('title') + ' ' + _event.data.documentElement.textContent"/></transition></state></scxml>"#,
        &[],
        &["t2 text", "config: s"],
    );
}

#[test]
fn inline_json_and_xml_content_become_objects_and_doms_in_event_data() {
    check(
        r#"<scxml><state id="s"><onentry>
               <send event="json"><content>{"product": "bar", "size": 27}</content></send>
               <send event="literal"><content>{ product : "baz" }</content></send>
               <send event="xml"><content><order id="o1"><item/></order></content></send>
               <send event="text"><content>  plain   words  </content></send>
             </onentry>
             <transition event="json"><log expr="_event.data.product + ' ' + (_event.data.size + 1)"/></transition>
             <transition event="literal"><log expr="_event.data.product"/></transition>
             <transition event="xml"><log expr="_event.data.getElementsByTagName('order')[0].getAttribute('id')"/></transition>
             <transition event="text"><log expr="'[' + _event.data + ']'"/></transition></state></scxml>"#,
        &[],
        &["bar 28", "baz", "o1", "[plain words]", "config: s"],
    );
}

#[test]
fn invalid_inline_child_document_is_error_execution_at_invoke_time_not_a_load_error() {
    check(
        r#"<scxml><state id="s"><invoke id="c"><content><scxml><state id="cs"><transition target="nowhere"/></state></scxml></content></invoke>
             <transition event="error.execution"><log expr="_event.data.message"/></transition></state></scxml>"#,
        &[],
        &["the inline <scxml> document is not valid: ...transition> target 'nowhere' does not exist", "config: s"],
    );
}
