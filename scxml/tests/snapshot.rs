//! Snapshot and restore: a session saved between two macrosteps and rebuilt in a fresh system
//! (a fresh data model, a re-parsed document) goes on exactly as if nothing had happened.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use scxml::parse::{parse_document, MapLoader};
use scxml::snapshot::SessionTree;
use scxml::system::{Capabilities, Output, StartOptions, System, SystemError};
use scxml::{EcmaDataModel, Event, Value};

fn load(src: &str) -> Arc<scxml::Document> {
    match parse_document(src, None, &MapLoader(HashMap::new())) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("document does not load: {e}\n{src}"),
    }
}

fn system() -> System<EcmaDataModel> {
    // Random charts may raise events in a cycle: a low microstep limit halts them quickly.
    let caps = Capabilities {
        limits: scxml::interp::Limits {
            max_microsteps: 2_000,
            ..scxml::interp::Limits::default()
        },
        ..Capabilities::default()
    };
    System::new(Box::new(MapLoader(HashMap::new())), caps)
}

/// What a run shows: log lines, ends, and after every step the configuration and a probe of
/// the data model.
struct Run {
    dm: EcmaDataModel,
    sys: System<EcmaDataModel>,
    trace: Vec<String>,
    now: u64,
}

impl Run {
    fn new() -> Run {
        Run {
            dm: EcmaDataModel::new(),
            sys: system(),
            trace: Vec::new(),
            now: 1_000,
        }
    }

    fn collect(&mut self) {
        for out in self.sys.take_output() {
            self.trace.push(match out {
                Output::Log { label, message, .. } => {
                    format!("log {}: {message}", label.unwrap_or_default())
                }
                Output::Send { target, event, .. } => format!("send {} {target:?}", event.name),
                Output::Finished {
                    final_state,
                    halted,
                    ..
                } => format!("finished {final_state:?} {halted:?}"),
            });
        }
    }

    fn probe(&mut self, id: &str, probe: &str) {
        // A parked session is rebuilt to be looked at.
        self.sys.wake(&mut self.dm, id);
        match self.sys.session(id) {
            Some(s) => {
                let config = s.active_state_ids().join(" ");
                let data = self
                    .sys
                    .eval_in(&mut self.dm, id, probe)
                    .map(|v| v.to_display_string())
                    .unwrap_or_else(|e| format!("error: {e}"));
                self.trace.push(format!("[{config}] {data}"));
            }
            None => self.trace.push("gone".into()),
        }
    }

    fn step(&mut self, id: &str, step: &Step) {
        match step {
            Step::Event(name) => {
                let ev = Event::external(name.clone(), Value::Number(self.now as f64));
                self.sys.deliver(&mut self.dm, id, ev, self.now);
            }
            Step::Wait(ms) => {
                self.now += ms;
                self.sys.advance(&mut self.dm, self.now);
            }
        }
        self.collect();
    }

    /// Parks every idle session (in [`Mode::Park`]), checking it left the data model.
    fn park(&mut self, mode: Mode) {
        if mode != Mode::Park {
            return;
        }
        let live = self.sys.session_count();
        self.sys.park_idle(&mut self.dm, self.now);
        assert_eq!(
            self.sys.parked_count(),
            live,
            "every live session is parked"
        );
        assert_eq!(
            self.sys.session_count(),
            live,
            "a parked session is still live"
        );
        if let Some(id) = self.sys.session_ids().next().map(str::to_owned) {
            assert!(
                self.sys.session(&id).is_none(),
                "a parked session is out of the data model"
            );
            assert!(self.sys.contains(&id));
        }
    }

    /// Saves the session and rebuilds it in a fresh system, with the document parsed again.
    fn reload(&mut self, id: &str, src: &str) {
        if !self.sys.contains(id) {
            return;
        }
        let tree = self.sys.snapshot(&mut self.dm, id).expect("snapshot");
        // Through the serialised form a host would store.
        let bytes = postcard_like(&tree);
        let tree: SessionTree = serde_json::from_slice(&bytes).expect("snapshot reads back");
        self.dm = EcmaDataModel::new();
        self.sys = system();
        self.sys
            .restore(&mut self.dm, load(src), tree)
            .expect("restore");
    }
}

fn postcard_like(tree: &SessionTree) -> Vec<u8> {
    serde_json::to_vec(tree).expect("snapshot serialises")
}

#[derive(Debug, Clone)]
enum Step {
    Event(String),
    Wait(u64),
}

/// How a run is interrupted between its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Straight,
    /// Saved and rebuilt in a fresh system before every step.
    Reload,
    /// Parked (kept as its snapshot, out of the data model) after every step; the next step
    /// rebuilds it.
    Park,
}

fn run(src: &str, steps: &[Step], probe: &str, mode: Mode) -> Vec<String> {
    let mut r = Run::new();
    if mode == Mode::Park {
        r.sys.set_park_after(Some(0));
    }
    let id = r
        .sys
        .start_with(
            &mut r.dm,
            load(src),
            StartOptions {
                id: Some("session-1".into()),
                data: vec![("start".into(), Value::String("given".into()))],
            },
            r.now,
        )
        .expect("start");
    r.collect();
    r.probe(&id, probe);
    r.park(mode);
    for s in steps {
        if mode == Mode::Reload {
            r.reload(&id, src);
        }
        r.step(&id, s);
        r.probe(&id, probe);
        r.park(mode);
    }
    r.trace
}

fn same_with_and_without_reload(src: &str, steps: &[Step], probe: &str) -> Vec<String> {
    let straight = run(src, steps, probe, Mode::Straight);
    let reloaded = run(src, steps, probe, Mode::Reload);
    assert_eq!(
        straight, reloaded,
        "a restored session went another way\n{src}\nsteps: {steps:?}"
    );
    straight
}

const VALUES: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
  <datamodel>
    <data id="start"/>
    <data id="n" expr="0"/>
    <data id="neg" expr="-0"/>
    <data id="odd" expr="[1.5, NaN, Infinity, -Infinity, undefined, null, 'x\u2028y', 1e300, 5e-324]"/>
    <data id="nested" expr="({a: {b: [1, {c: 'd'}]}, $rb: 'mine', u: undefined})"/>
    <data id="when" expr="new Date(1700000000123)"/>
    <data id="xml"><root><item id="1">one</item></root></data>
  </datamodel>
  <script>
    function bump(k) { n = n + k; return n; }
    var arrow = (x) => x * 2 + n;
  </script>
  <state id="a">
    <transition event="go" target="b"><assign location="n" expr="bump(2)"/></transition>
  </state>
  <state id="b">
    <transition event="go" target="a"><assign location="n" expr="arrow(n)"/></transition>
  </state>
</scxml>"#;

#[test]
fn values_that_json_cannot_hold_survive_a_restore() {
    let probe = "[start, n, 1/neg, JSON.stringify(odd), odd.length, odd[4] === undefined, \
                 isNaN(odd[1]), odd[2], odd[3], odd[8] > 0, nested.$rb, 'u' in nested, \
                 nested.a.b[1].c, when.getTime(), when instanceof Date, \
                 xml.getElementsByTagName('item')[0].getAttribute('id'), bump(0), arrow(1)].join('|')";
    let trace = same_with_and_without_reload(
        VALUES,
        &[
            Step::Event("go".into()),
            Step::Event("go".into()),
            Step::Event("go".into()),
        ],
        probe,
    );
    // The values read back as they were written, including -0, NaN and a key named `$rb`.
    assert_eq!(
        trace[0],
        "[a] given|0|-Infinity|[1.5,null,null,null,null,null,\"x\u{2028}y\",1e+300,5e-324]|9|true|true|Infinity|-Infinity|true|mine|true|d|1700000000123|true|1|0|2"
    );
    assert_eq!(trace.last().map(String::as_str), Some("[b] given|8|-Infinity|[1.5,null,null,null,null,null,\"x\u{2028}y\",1e+300,5e-324]|9|true|true|Infinity|-Infinity|true|mine|true|d|1700000000123|true|1|8|10"));
}

#[test]
fn timers_keep_their_deadlines_across_a_restore() {
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
      <state id="wait">
        <onentry>
          <send event="t1" delay="1s" id="one"/>
          <send event="t2" delay="2500ms"/>
          <send event="t3" delay="3s" id="three"/>
          <cancel sendid="three"/>
        </onentry>
        <transition event="t1"><log label="t1" expr="_event.name"/></transition>
        <transition event="t2" target="done"><log label="t2" expr="_event.name"/></transition>
      </state>
      <final id="done"/>
    </scxml>"#;
    let doc = load(chart);
    let mut dm = EcmaDataModel::new();
    let mut sys = system();
    sys.start_with(
        &mut dm,
        doc.clone(),
        StartOptions {
            id: Some("timers".into()),
            data: Vec::new(),
        },
        10_000,
    )
    .expect("start");
    let tree = sys.snapshot(&mut dm, "timers").expect("snapshot");
    let due: Vec<u64> = tree.session.pending.iter().map(|p| p.at).collect();
    assert_eq!(due, vec![11_000, 12_500]);
    // The server was down from 10.5 s to 12 s: the first timer fires at once, the second on time.
    let mut dm = EcmaDataModel::new();
    let mut sys = system();
    sys.restore(&mut dm, doc, tree).expect("restore");
    assert_eq!(sys.next_deadline(), Some(11_000));
    sys.advance(&mut dm, 12_000);
    let logs: Vec<String> = sys
        .take_output()
        .into_iter()
        .map(|o| format!("{o:?}"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].contains("t1"), "{logs:?}");
    assert_eq!(sys.next_deadline(), Some(12_500));
    sys.advance(&mut dm, 12_500);
    let out = sys.take_output();
    assert!(
        matches!(out.last(), Some(Output::Finished { final_state: Some(f), .. }) if f == "done"),
        "{out:?}"
    );
}

#[test]
fn invoked_children_are_saved_with_their_parent() {
    let chart = r##"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="p">
      <datamodel><data id="pongs" expr="0"/></datamodel>
      <state id="p">
        <invoke id="kid">
          <content>
            <scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="c">
              <datamodel><data id="k" expr="0"/></datamodel>
              <state id="c">
                <transition event="ping"><assign location="k" expr="k + 1"/>
                  <send target="#_parent" event="pong"><param name="k" expr="k"/></send></transition>
              </state>
            </scxml>
          </content>
        </invoke>
        <transition event="poke"><send target="#_kid" event="ping"/></transition>
        <transition event="pong"><assign location="pongs" expr="_event.data.k"/></transition>
      </state>
    </scxml>"##;
    let steps = [
        Step::Event("poke".into()),
        Step::Event("poke".into()),
        Step::Event("poke".into()),
    ];
    let trace = same_with_and_without_reload(chart, &steps, "pongs");
    assert_eq!(trace.last().map(String::as_str), Some("[p] 3"));
}

#[test]
fn restore_refuses_a_live_id_and_a_snapshot_of_another_document() {
    let chart = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
      <state id="a"/><state id="b"/><state id="c"/></scxml>"#;
    let other = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="x">
      <state id="x"/></scxml>"#;
    let mut dm = EcmaDataModel::new();
    let mut sys = system();
    let opts = || StartOptions {
        id: Some("dup".into()),
        data: Vec::new(),
    };
    sys.start_with(&mut dm, load(chart), opts(), 0)
        .expect("start");
    assert_eq!(
        sys.start_with(&mut dm, load(chart), opts(), 0),
        Err(SystemError::DuplicateId("dup".into()))
    );
    let mut tree = sys.snapshot(&mut dm, "dup").expect("snapshot");
    assert_eq!(
        sys.restore(&mut dm, load(chart), tree.clone()),
        Err(SystemError::DuplicateId("dup".into()))
    );
    tree.session.configuration = vec![0, 3];
    let mut fresh = system();
    let err = fresh
        .restore(&mut dm, load(other), tree)
        .expect_err("another document");
    assert!(err.to_string().contains("state 3 does not exist"), "{err}");
}

// ---- random charts --------------------------------------------------------------------------

/// A small deterministic generator (the chart is a function of the seed).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Chart {
    ids: Vec<String>,
    /// History pseudo-states, declared before any transition is written.
    histories: Vec<String>,
    out: String,
}

const EVENTS: [&str; 4] = ["a", "b", "c", "d"];

fn action(g: &mut Gen, ids: &[String]) -> String {
    match g.below(9) {
        0 | 1 => r#"<assign location="n" expr="n + 1"/>"#.into(),
        2 => format!(r#"<log label="l" expr="tag('{}')"/>"#, g.below(100)),
        3 => format!(r#"<raise event="{}"/>"#, g.pick(&EVENTS)),
        4 => format!(
            r#"<send event="{}" delay="{}ms" id="t{}"/>"#,
            g.pick(&EVENTS),
            g.pick(&["500", "1000", "1500", "2500"]),
            g.below(3)
        ),
        5 => format!(r#"<cancel sendid="t{}"/>"#, g.below(3)),
        6 => r#"<assign location="o.k" expr="o.f(o.k)"/>"#.into(),
        7 => format!(
            r#"<if cond="In('{}')"><assign location="n" expr="n * 2"/><else/><log expr="'no'"/></if>"#,
            ids[g.below(ids.len() as u64) as usize]
        ),
        _ => format!(
            r##"<send event="{}" target="#_internal"/>"##,
            g.pick(&EVENTS)
        ),
    }
}

fn actions(g: &mut Gen, ids: &[String], max: u64) -> String {
    (0..g.below(max + 1)).map(|_| action(g, ids)).collect()
}

/// Declares the states (ids first, so transitions can target any of them).
fn shape(g: &mut Gen, c: &mut Chart, depth: u32) -> Vec<(String, &'static str, Vec<usize>)> {
    let mut nodes = Vec::new();
    fn build(
        g: &mut Gen,
        c: &mut Chart,
        nodes: &mut Vec<(String, &'static str, Vec<usize>)>,
        depth: u32,
    ) -> usize {
        let id = format!("S{}", c.ids.len());
        c.ids.push(id.clone());
        let idx = nodes.len();
        let kind = if depth == 0 || g.chance(40) {
            if g.chance(10) {
                "final"
            } else {
                "atomic"
            }
        } else if g.chance(20) {
            "parallel"
        } else {
            "compound"
        };
        if kind == "compound" && g.chance(40) {
            c.histories.push(format!("{id}h"));
        }
        nodes.push((id, kind, Vec::new()));
        if kind == "compound" || kind == "parallel" {
            let n = 1 + g.below(3);
            for _ in 0..n {
                let child = build(g, c, nodes, depth - 1);
                nodes[idx].2.push(child);
            }
        }
        idx
    }
    build(g, c, &mut nodes, depth);
    nodes
}

fn emit(
    g: &mut Gen,
    c: &mut Chart,
    nodes: &[(String, &'static str, Vec<usize>)],
    i: usize,
    parent: &str,
) {
    let (id, kind, children) = &nodes[i];
    let ids = c.ids.clone();
    let tag = match *kind {
        // <final> may only be the child of a compound state.
        "final" if parent == "compound" => "final",
        "parallel" => "parallel",
        _ => "state",
    };
    c.out.push_str(&format!(r#"<{tag} id="{id}">"#));
    if tag != "final" {
        let entry = actions(g, &ids, 2);
        if !entry.is_empty() {
            c.out.push_str(&format!("<onentry>{entry}</onentry>"));
        }
        let exit = actions(g, &ids, 1);
        if !exit.is_empty() {
            c.out.push_str(&format!("<onexit>{exit}</onexit>"));
        }
        for _ in 0..g.below(4) {
            let target = if g.chance(25) {
                String::new()
            } else if g.chance(20) && !c.histories.is_empty() {
                let h = c.histories[g.below(c.histories.len() as u64) as usize].clone();
                format!(r#" target="{h}""#)
            } else {
                format!(r#" target="{}""#, ids[g.below(ids.len() as u64) as usize])
            };
            let (event, cond) = if g.chance(15) {
                // Eventless transitions are guarded so they settle.
                (String::new(), r#" cond="n &lt; 12""#.to_string())
            } else {
                let cond = match g.below(4) {
                    0 => r#" cond="n % 2 == 0""#.to_string(),
                    1 => r#" cond="o.k &gt; 2""#.to_string(),
                    _ => String::new(),
                };
                (format!(r#" event="{}""#, g.pick(&EVENTS)), cond)
            };
            let type_ = if g.chance(30) {
                r#" type="internal""#
            } else {
                ""
            };
            let body = if event.is_empty() {
                format!(
                    r#"<assign location="n" expr="n + 1"/>{}"#,
                    actions(g, &ids, 1)
                )
            } else {
                actions(g, &ids, 2)
            };
            c.out.push_str(&format!(
                "<transition{event}{cond}{target}{type_}>{body}</transition>"
            ));
        }
        if *kind == "compound" && c.histories.contains(&format!("{id}h")) {
            let deep = if id.len() % 2 == 0 { "deep" } else { "shallow" };
            c.out.push_str(&format!(
                r#"<history id="{id}h" type="{deep}"><transition target="{}"/></history>"#,
                nodes[children[0]].0
            ));
        }
    }
    for &child in children {
        emit(g, c, nodes, child, kind);
    }
    c.out.push_str(&format!("</{tag}>"));
}

fn random_chart(seed: u64) -> String {
    let mut g = Gen(seed | 1);
    let mut c = Chart {
        ids: Vec::new(),
        histories: Vec::new(),
        out: String::new(),
    };
    let nodes = shape(&mut g, &mut c, 3);
    let mut body = String::new();
    std::mem::swap(&mut body, &mut c.out);
    emit(&mut g, &mut c, &nodes, 0, "");
    body.push_str(&c.out);
    format!(
        r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">
  <datamodel><data id="start"/><data id="n" expr="0"/>
    <data id="o" expr="({{k: 1, f: function (x) {{ return x + n % 3; }}}})"/></datamodel>
  <script>function tag(s) {{ return s + ':' + n + ':' + o.k; }}</script>
  {body}
  <final id="END"/>
</scxml>"#
    )
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::sample::select(EVENTS.to_vec()).prop_map(|e| Step::Event(e.to_string())),
        1 => prop::sample::select(vec![250u64, 500, 1000, 2500]).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Run → snapshot → restore (into a fresh system, after every step) → continue gives the
    /// same trace as the run that was never interrupted.
    #[test]
    fn restore_after_every_step_changes_nothing(
        seed in any::<u64>(),
        steps in prop::collection::vec(step_strategy(), 1..24),
    ) {
        let chart = random_chart(seed);
        let probe = "JSON.stringify([start, n, o.k, o.f(1), tag('p')])";
        let straight = run(&chart, &steps, probe, Mode::Straight);
        let reloaded = run(&chart, &steps, probe, Mode::Reload);
        prop_assert_eq!(straight, reloaded, "chart:\n{}", chart);
    }

    /// Parked after every step (the next step rebuilds it from its snapshot in the same
    /// system) → the same trace as the run that stayed in the data model.
    #[test]
    fn parking_after_every_step_changes_nothing(
        seed in any::<u64>(),
        steps in prop::collection::vec(step_strategy(), 1..24),
    ) {
        let chart = random_chart(seed);
        let probe = "JSON.stringify([start, n, o.k, o.f(1), tag('p')])";
        let straight = run(&chart, &steps, probe, Mode::Straight);
        let parked = run(&chart, &steps, probe, Mode::Park);
        prop_assert_eq!(straight, parked, "chart:\n{}", chart);
    }
}
