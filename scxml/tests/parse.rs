//! Loader tests: document structure, every validation problem with its position, and the conformance files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use scxml::model::{
    Action, AssignValue, Binding, Content, DataValue, Document, EventDescriptor, ExprKind,
    HistoryKind, ParamValue, StateKind, StrOrExpr, TransitionKind,
};
use scxml::parse::{parse_document, Loader, MapLoader, NoLoader};

const NS: &str = r#"xmlns="http://www.w3.org/2005/07/scxml""#;

fn parse_ok(src: &str) -> Document {
    parse_ok_with(src, None, &NoLoader)
}

fn parse_ok_with(src: &str, base: Option<&str>, loader: &dyn Loader) -> Document {
    match parse_document(src, base, loader) {
        Ok(d) => d,
        Err(e) => panic!("expected the document to load, got:\n{e}"),
    }
}

/// Asserts exactly these problems, in this order: `(line, col, substring of the message)`.
fn check_problems(src: &str, expected: &[(u32, u32, &str)]) {
    check_problems_with(src, None, &NoLoader, expected);
}

fn check_problems_with(
    src: &str,
    base: Option<&str>,
    loader: &dyn Loader,
    expected: &[(u32, u32, &str)],
) {
    let err = match parse_document(src, base, loader) {
        Ok(_) => panic!("expected problems {expected:?}, but the document loaded"),
        Err(e) => e,
    };
    let got: Vec<(u32, u32, &str)> = err
        .problems
        .iter()
        .map(|p| (p.pos.line, p.pos.col, p.message.as_str()))
        .collect();
    let matches = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(g, e)| g.0 == e.0 && g.1 == e.1 && g.2.contains(e.2));
    assert!(matches, "expected {expected:#?}\ngot {got:#?}");
}

fn ids(doc: &Document) -> Vec<&str> {
    doc.states.iter().map(|s| s.id.as_str()).collect()
}

fn target_ids(doc: &Document, t: u32) -> Vec<&str> {
    doc.transition(t)
        .targets
        .iter()
        .map(|s| doc.state(*s).id.as_str())
        .collect()
}

fn initial_of<'d>(doc: &'d Document, id: &str) -> Vec<&'d str> {
    let s = doc
        .find_state(id)
        .unwrap_or_else(|| panic!("no state {id}"));
    let t = doc
        .state(s)
        .initial
        .unwrap_or_else(|| panic!("{id} has no initial"));
    target_ids(doc, t)
}

fn map_loader(entries: &[(&str, &str)]) -> MapLoader {
    MapLoader(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    )
}

// ----- structure

#[test]
fn structure_of_compound_parallel_history_final() {
    let doc = parse_ok(&format!(
        r#"<scxml {NS} version="1.0" name="machine" binding="late">
  <state id="a" initial="a2">
    <history id="ah" type="deep"><transition target="a1"/></history>
    <state id="a1"/>
    <state id="a2"><transition event="go" target="p"/></state>
  </state>
  <parallel id="p">
    <state id="r1"/>
    <state id="r2"><initial><transition target="r2b"><log expr="1"/></transition></initial>
      <state id="r2a"/><state id="r2b"/>
    </state>
  </parallel>
  <final id="done"/>
</scxml>"#
    ));
    assert_eq!(
        ids(&doc),
        ["machine", "a", "ah", "a1", "a2", "p", "r1", "r2", "r2a", "r2b", "done"]
    );
    assert_eq!(doc.name.as_deref(), Some("machine"));
    assert_eq!(doc.binding, Binding::Late);
    assert_eq!(doc.datamodel, "ecmascript");
    let kinds: Vec<StateKind> = doc.states.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            StateKind::Root,
            StateKind::Compound,
            StateKind::History(HistoryKind::Deep),
            StateKind::Atomic,
            StateKind::Atomic,
            StateKind::Parallel,
            StateKind::Atomic,
            StateKind::Compound,
            StateKind::Atomic,
            StateKind::Atomic,
            StateKind::Final,
        ]
    );
    let ends: Vec<u32> = doc.states.iter().map(|s| s.descendants_end).collect();
    assert_eq!(ends, [11, 5, 3, 4, 5, 10, 7, 10, 9, 10, 11]);
    let depths: Vec<u32> = doc.states.iter().map(|s| s.depth).collect();
    assert_eq!(depths, [0, 1, 2, 2, 2, 1, 2, 2, 3, 3, 1]);
    let parents: Vec<Option<u32>> = doc.states.iter().map(|s| s.parent).collect();
    assert_eq!(
        parents,
        [
            None,
            Some(0),
            Some(1),
            Some(1),
            Some(1),
            Some(0),
            Some(5),
            Some(5),
            Some(7),
            Some(7),
            Some(0)
        ]
    );
    assert_eq!(doc.state(0).children, [1, 5, 10]);
    assert_eq!(doc.state(1).children, [2, 3, 4]);

    assert_eq!(initial_of(&doc, "a"), ["a2"]);
    assert_eq!(initial_of(&doc, "ah"), ["a1"]);
    assert_eq!(initial_of(&doc, "r2"), ["r2b"]);
    // The root's initial is its first child state; a parallel has none.
    assert_eq!(
        target_ids(&doc, doc.state(0).initial.unwrap_or(u32::MAX)),
        ["a"]
    );
    assert!(doc.state(5).initial.is_none());
    // The <initial> transition keeps its executable content and is not an outgoing transition.
    let r2 = doc.find_state("r2").unwrap_or(0);
    let init = doc.transition(doc.state(r2).initial.unwrap_or(u32::MAX));
    assert_eq!(init.source, r2);
    assert!(matches!(init.actions.as_slice(), [Action::Log { .. }]));
    assert!(doc.state(r2).transitions.is_empty());
    // Outgoing transitions.
    let a2 = doc.find_state("a2").unwrap_or(0);
    let [t] = doc.state(a2).transitions.as_slice() else {
        panic!("a2 should have one transition")
    };
    assert_eq!(target_ids(&doc, *t), ["p"]);
    assert_eq!(
        doc.transition(*t).events,
        [EventDescriptor::Prefix("go".into())]
    );
    assert_eq!(doc.transition(*t).source, a2);
    assert_eq!(doc.transition(*t).pos.line, 5);
    assert_eq!(doc.transition(*t).pos.col, 20);
}

#[test]
fn initial_forms_and_default_first_non_history_child() {
    let doc = parse_ok(
        r#"<scxml initialstate="b">
  <state id="a"><history id="h"><transition target="a2"/></history><state id="a1"/><state id="a2"/></state>
  <state id="b" initial="b1 b2"><parallel id="b0"><state id="b1"/><state id="b2"/></parallel></state>
</scxml>"#,
    );
    assert_eq!(
        target_ids(&doc, doc.state(0).initial.unwrap_or(u32::MAX)),
        ["b"]
    );
    assert_eq!(initial_of(&doc, "a"), ["a1"]);
    assert_eq!(initial_of(&doc, "b"), ["b1", "b2"]);
    assert_eq!(doc.state(0).id, "__scxml_root");
    assert!(doc.state(0).generated_id);
    assert_eq!(doc.state(2).kind, StateKind::History(HistoryKind::Shallow));
}

#[test]
fn generated_ids_follow_document_order() {
    let doc = parse_ok("<scxml><state><state/><final/></state><final id='f'/></scxml>");
    assert_eq!(
        ids(&doc),
        ["__scxml_root", "__state_1", "__state_2", "__state_3", "f"]
    );
    assert!(doc.state(1).generated_id);
    assert!(!doc.state(4).generated_id);
    assert_eq!(doc.find_state("f"), Some(4));
}

#[test]
fn event_descriptors_and_transition_attributes() {
    let doc = parse_ok(
        r#"<scxml><state id="s">
  <transition event="a  b.c.* error. *" cond="x &gt; 1" type="internal"/>
  <transition/>
</state></scxml>"#,
    );
    let t = doc.transition(doc.state(1).transitions[0]);
    assert_eq!(
        t.events,
        [
            EventDescriptor::Prefix("a".into()),
            EventDescriptor::Prefix("b.c".into()),
            EventDescriptor::Prefix("error".into()),
            EventDescriptor::Any,
        ]
    );
    assert_eq!(t.kind, TransitionKind::Internal);
    let cond = doc.expr(t.cond.unwrap_or(scxml::model::ExprId(u32::MAX)));
    assert_eq!(cond.src, "x > 1");
    assert_eq!(cond.kind, ExprKind::Cond);
    let t2 = doc.transition(doc.state(1).transitions[1]);
    assert!(t2.events.is_empty() && t2.cond.is_none() && t2.targets.is_empty());
    assert_eq!(t2.kind, TransitionKind::External);
}

#[test]
fn executable_content() {
    let doc = parse_ok(&format!(
        r#"<scxml {NS}><state id="s"><onentry>
  <raise event="e1"/>
  <if cond="a"><log label="A"/><elseif cond="b"/><log expr="'b'"/><else/><assign location="x" expr="1"/></if>
  <foreach array="arr" item="it" index="i"><cancel sendidexpr="sid"/></foreach>
  <assign location="y"><![CDATA[ {{"k": 1}} ]]></assign>
  <assign location="z"/>
  <script>var v = 1 &lt; 2;</script>
  <send event="ev" targetexpr="t" delay="1s" idlocation="loc" namelist="a b &quot;foo">
    <param name="p" location="q"/>
  </send>
  <send eventexpr="'e'"><content>some &amp; text</content></send>
  <send event="x"><content><payload><a>1</a></payload></content></send>
</onentry><onentry/><onexit><log expr="1"/></onexit></state></scxml>"#
    ));
    let s = doc.state(1);
    assert_eq!(s.onentry.len(), 2);
    assert_eq!(s.onexit.len(), 1);
    let b = &s.onentry[0];
    assert_eq!(b.len(), 9);
    assert!(matches!(&b[0], Action::Raise { event, .. } if event == "e1"));
    let Action::If { branches, .. } = &b[1] else {
        panic!("expected if")
    };
    assert_eq!(branches.len(), 3);
    assert_eq!(
        doc.expr(branches[0].0.unwrap_or(scxml::model::ExprId(0)))
            .src,
        "a"
    );
    assert_eq!(
        doc.expr(branches[1].0.unwrap_or(scxml::model::ExprId(0)))
            .src,
        "b"
    );
    assert!(branches[2].0.is_none());
    assert_eq!(
        branches.iter().map(|b| b.1.len()).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    let Action::Foreach {
        array,
        item,
        index,
        body,
        ..
    } = &b[2]
    else {
        panic!("expected foreach")
    };
    assert_eq!(doc.expr(*array).src, "arr");
    assert_eq!(doc.expr(*item).kind, ExprKind::Location);
    assert_eq!(index.map(|i| doc.expr(i).src.as_str()), Some("i"));
    assert!(matches!(
        body.as_slice(),
        [Action::Cancel {
            sendid: StrOrExpr::Expr(_),
            ..
        }]
    ));
    assert!(
        matches!(&b[3], Action::Assign { value: AssignValue::Inline(v), .. } if v == r#"{"k": 1}"#)
    );
    assert!(matches!(
        &b[4],
        Action::Assign {
            value: AssignValue::None,
            ..
        }
    ));
    let Action::Script { script, .. } = &b[5] else {
        panic!("expected script")
    };
    assert_eq!(doc.expr(*script).src, "var v = 1 < 2;");
    assert_eq!(doc.expr(*script).kind, ExprKind::Script);
    let Action::Send(send) = &b[6] else {
        panic!("expected send")
    };
    assert!(matches!(&send.event, Some(StrOrExpr::Str(e)) if e == "ev"));
    assert!(matches!(&send.target, Some(StrOrExpr::Expr(_))));
    assert!(matches!(&send.delay, Some(StrOrExpr::Str(d)) if d == "1s"));
    assert!(send.idlocation.is_some() && send.id.is_none());
    // Namelist entries are kept verbatim, even invalid ones: they fail at run time, not at load.
    let names: Vec<&str> = send.namelist.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "\"foo"]);
    assert_eq!(doc.expr(send.namelist[2].1).kind, ExprKind::Location);
    assert_eq!(send.params.len(), 1);
    assert!(matches!(send.params[0].value, ParamValue::Location(_)));
    let Action::Send(send) = &b[7] else {
        panic!("expected send")
    };
    let Some(Content::Inline(c)) = &send.content else {
        panic!("expected inline content")
    };
    assert_eq!(c.raw, "some & text");
    assert!(!c.is_xml && c.document.is_none());
    let Action::Send(send) = &b[8] else {
        panic!("expected send")
    };
    let Some(Content::Inline(c)) = &send.content else {
        panic!("expected inline content")
    };
    assert_eq!(c.raw, "<payload><a>1</a></payload>");
    assert!(c.is_xml && c.document.is_none());
}

#[test]
fn datamodel_script_and_data_values() {
    let loader = map_loader(&[("file:data.json", "[1, 2]"), ("lib.js", "var lib = 1;")]);
    let doc = parse_ok_with(
        r#"<scxml datamodel="ecmascript">
  <datamodel>
    <data id="a" expr="1 + 1"/>
    <data id="b" src="file:data.json"/>
    <data id="c" src="file:missing.json"/>
    <data id="d"> [3, 4] </data>
    <data id="e"><x y="1"/></data>
    <data id="f"/>
  </datamodel>
  <script src="lib.js"/>
  <script>var top = 2;</script>
  <state id="s"><datamodel><data id="local" expr="0"/></datamodel></state>
</scxml>"#,
        Some("file:/docs/main.scxml"),
        &loader,
    );
    let data = &doc.state(0).data;
    assert_eq!(data.len(), 6);
    assert!(matches!(&data[0].value, DataValue::Expr(x) if doc.expr(*x).src == "1 + 1"));
    assert!(matches!(&data[1].value, DataValue::Text(t) if t == "[1, 2]"));
    assert!(matches!(&data[2].value, DataValue::Unavailable(m) if m.contains("missing.json")));
    assert!(matches!(&data[3].value, DataValue::Text(t) if t == "[3, 4]"));
    assert!(matches!(&data[4].value, DataValue::Text(t) if t == r#"<x y="1"/>"#));
    assert!(matches!(&data[5].value, DataValue::None));
    assert_eq!(data[3].pos.line, 6);
    assert_eq!(doc.scripts.len(), 2);
    assert_eq!(doc.expr(doc.scripts[0]).src, "var lib = 1;");
    assert_eq!(doc.expr(doc.scripts[1]).src, "var top = 2;");
    assert_eq!(doc.state(1).data.len(), 1);
    assert_eq!(doc.state(1).data[0].id, "local");
}

#[test]
fn data_src_is_resolved_against_the_base_uri() {
    let loader = map_loader(&[("file:/docs/sub/v.txt", "hello")]);
    let doc = parse_ok_with(
        r#"<scxml><datamodel><data id="v" src="file:sub/v.txt"/></datamodel><state/></scxml>"#,
        Some("file:/docs/main.scxml"),
        &loader,
    );
    assert!(matches!(&doc.state(0).data[0].value, DataValue::Text(t) if t == "hello"));
}

#[test]
fn script_src_failure_is_a_problem() {
    check_problems(
        "<scxml>\n<script src=\"nope.js\"/><state/></scxml>",
        &[(
            2,
            1,
            "<script> src 'nope.js' could not be loaded: no loader",
        )],
    );
}

#[test]
fn invoke_with_inline_child_document() {
    let src = format!(
        r#"<scxml {NS} datamodel="ecmascript">
  <state id="s">
    <invoke id="child" type="scxml" autoforward="true" namelist="x">
      <param name="p" expr="1"/>
      <content>
        <scxml initial="sub0" version="1.0">
          <state id="sub0"><transition event="e" target="subF"/></state>
          <final id="subF"/>
        </scxml>
      </content>
      <finalize><assign location="x" expr="_event.data"/></finalize>
    </invoke>
  </state>
</scxml>"#
    );
    let doc = parse_ok(&src);
    let inv = &doc.state(1).invokes[0];
    assert_eq!(inv.id.as_deref(), Some("child"));
    assert!(inv.autoforward);
    assert_eq!(inv.namelist.len(), 1);
    assert_eq!(inv.params.len(), 1);
    assert_eq!(inv.finalize.len(), 1);
    let Some(Content::Inline(c)) = &inv.content else {
        panic!("expected inline content")
    };
    assert!(c.is_xml);
    assert!(c.raw.starts_with("<scxml initial=\"sub0\"") && c.raw.ends_with("</scxml>"));
    let Some(child) = &c.document else {
        panic!("expected a child document")
    };
    assert_eq!(ids(child), ["__scxml_root", "sub0", "subF"]);
    assert_eq!(
        target_ids(child, child.state(0).initial.unwrap_or(u32::MAX)),
        ["sub0"]
    );
    // The child document's positions are positions in this file.
    assert_eq!((child.state(1).pos.line, child.state(1).pos.col), (7, 11));
}

#[test]
fn problems_in_an_inline_child_document_are_kept_with_it_for_invoke_time() {
    // SCXML §6.4: the child only comes into being when it is invoked, so the parent loads and
    // the child's problems (with their positions in this file) become error.execution then.
    let doc = parse_ok(
        r#"<scxml><state id="s">
  <invoke><content><scxml><state id="x"><transition target="nosuch"/></state></scxml></content></invoke>
</state></scxml>"#,
    );
    let Some(Content::Inline(inline)) = &doc.states[1].invokes[0].content else {
        panic!("expected inline content");
    };
    assert!(inline.document.is_none());
    assert_eq!(
        inline.document_error.as_deref(),
        Some("the inline <scxml> document is not valid: 2:41: <transition> target 'nosuch' does not exist")
    );
}

#[test]
fn custom_namespace_actions_keep_their_markup() {
    let doc = parse_ok(
        r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="www.genesyslab.com/modules/queue">
  <state id="s">
    <onentry>
      <queue:submit queue="vq1" priority="5" timeout="100"><queue:targets type="agent"/></queue:submit>
    </onentry>
    <queue:ignored-here/>
  </state>
</scxml>"#,
    );
    assert_eq!(
        doc.namespaces,
        [
            (String::new(), "http://www.w3.org/2005/07/scxml".to_string()),
            (
                "queue".to_string(),
                "www.genesyslab.com/modules/queue".to_string()
            ),
        ]
    );
    let [Action::Custom(c)] = doc.state(1).onentry[0].as_slice() else {
        panic!("expected one custom action")
    };
    assert_eq!(c.namespace, "www.genesyslab.com/modules/queue");
    assert_eq!(c.name, "submit");
    assert_eq!(
        c.attrs,
        [
            ("queue".to_string(), "vq1".to_string()),
            ("priority".to_string(), "5".to_string()),
            ("timeout".to_string(), "100".to_string()),
        ]
    );
    assert_eq!(
        c.raw,
        r#"<queue:submit queue="vq1" priority="5" timeout="100"><queue:targets type="agent"/></queue:submit>"#
    );
    assert_eq!((c.pos.line, c.pos.col), (4, 7));
}

// ----- problems

#[test]
fn three_problems_are_all_reported_in_order() {
    check_problems(
        r#"<scxml>
  <state id="a"><transition target="nosuch"/></state>
  <state id="a"/>
  <state id="b"><onentry><raise/></onentry></state>
</scxml>"#,
        &[
            (2, 17, "<transition> target 'nosuch' does not exist"),
            (3, 3, "duplicate state id 'a' (first defined at 2:3)"),
            (4, 26, "<raise> is missing required attribute 'event'"),
        ],
    );
}

#[test]
fn unknown_and_misplaced_elements() {
    check_problems(
        r#"<scxml xmlns="http://www.w3.org/2005/07/scxml"><state id="s0">
<stat id="x"/>
<onentry><state/><bogus/></onentry>
</state></scxml>"#,
        &[
            (2, 1, "unknown element <stat> in <state id=\"s0\">"),
            (3, 10, "element <state> is not allowed in <onentry>"),
            (3, 18, "unknown element <bogus> in <onentry>"),
        ],
    );
}

#[test]
fn invalid_attribute_values() {
    check_problems(
        r#"<scxml datamodel="xpath" binding="sometimes">
<state id="s"><transition type="sideways"/>
<invoke autoforward="yes"/></state>
<state id="t"><history id="h" type="medium"><transition target="t1"/></history><state id="t1"/></state>
</scxml>"#,
        &[
            (1, 1, "<scxml> datamodel 'xpath' is not supported"),
            (1, 1, "<scxml> binding 'sometimes' is invalid"),
            (2, 15, "<transition> type 'sideways' is invalid"),
            (3, 1, "<invoke> autoforward 'yes' is invalid"),
            (4, 15, "<history id=\"h\"> type 'medium' is invalid"),
        ],
    );
}

#[test]
fn missing_required_attributes() {
    check_problems(
        r#"<scxml><datamodel><data expr="1"/></datamodel><state id="s"><onentry>
<assign expr="1"/>
<foreach/>
<if><log/></if>
<send><param expr="1"/></send>
<cancel/>
</onentry></state></scxml>"#,
        &[
            (1, 19, "<data> is missing required attribute 'id'"),
            (2, 1, "<assign> is missing required attribute 'location'"),
            (3, 1, "<foreach> is missing required attribute 'array'"),
            (3, 1, "<foreach> is missing required attribute 'item'"),
            (4, 1, "<if> is missing required attribute 'cond'"),
            (5, 7, "<param> is missing required attribute 'name'"),
            (6, 1, "<cancel> requires 'sendid' or 'sendidexpr'"),
        ],
    );
}

#[test]
fn mutually_exclusive_attributes_and_children() {
    check_problems(
        r#"<scxml><datamodel><data id="d" expr="1">2</data></datamodel><state id="s"><onentry>
<send event="a" eventexpr="b" target="t" targetexpr="t" delay="1s" delayexpr="d" id="i" idlocation="l"/>
<send event="a" namelist="x"><content>1</content></send>
<assign location="x" expr="1">2</assign>
<cancel sendid="a" sendidexpr="b"/>
<param name="p"/>
</onentry>
<invoke src="a.scxml"><content>x</content></invoke>
</state></scxml>"#,
        &[
            (
                1,
                19,
                "<data id=\"d\"> must have only one of 'expr', 'src' or child content",
            ),
            (2, 1, "<send id=\"i\"> has both 'event' and 'eventexpr'"),
            (2, 1, "<send id=\"i\"> has both 'target' and 'targetexpr'"),
            (2, 1, "<send id=\"i\"> has both 'delay' and 'delayexpr'"),
            (2, 1, "<send id=\"i\"> has both 'id' and 'idlocation'"),
            (
                3,
                1,
                "<send> cannot have <content> together with 'namelist' or <param>",
            ),
            (4, 1, "<assign> has both 'expr' and child content"),
            (5, 1, "<cancel> has both 'sendid' and 'sendidexpr'"),
            (6, 1, "element <param> is not allowed in <onentry>"),
            (
                8,
                1,
                "<invoke> cannot have <content> together with 'src' or 'srcexpr'",
            ),
        ],
    );
}

#[test]
fn initial_problems() {
    check_problems(
        r#"<scxml initial="s1">
<state id="s" initial="a"><initial><transition target="a"/></initial><state id="a"/></state>
<state id="s1" initial="s"><state id="s1a"/></state>
<state id="atomic" initial="x"/>
<parallel id="p" initial="p1"><state id="p1"/></parallel>
<state id="onlyhist"><history id="oh"><transition target="s"/></history></state>
</scxml>"#,
        &[
            (
                2,
                27,
                "has both an 'initial' attribute and an <initial> element",
            ),
            (
                3,
                1,
                "<state id=\"s1\"> initial target 's' is not a descendant of it",
            ),
            (
                4,
                1,
                "<state id=\"atomic\"> has an 'initial' attribute but no child states",
            ),
            (
                5,
                1,
                "<parallel id=\"p\"> cannot have an 'initial' attribute",
            ),
            (
                6,
                1,
                "<state id=\"onlyhist\"> has <history> but no child states",
            ),
            (
                6,
                39,
                "<history id=\"oh\"> default transition target 's' is not a child of 'onlyhist'",
            ),
        ],
    );
}

#[test]
fn history_problems() {
    check_problems(
        r#"<scxml>
<state id="s">
  <history id="h1"/>
  <history id="h2"><transition event="e" target="a"/></history>
  <history id="h3"><transition target="b"/></history>
  <history id="h4" type="deep"><transition target="b"/></history>
  <history id="h5" type="deep"><transition target="other"/></history>
  <state id="a"><state id="b"/></state>
</state>
<state id="other"/>
</scxml>"#,
        &[
            (3, 3, "<history id=\"h1\"> must have a <transition>"),
            (
                4,
                20,
                "the default <transition> of <history id=\"h2\"> cannot have 'event' or 'cond'",
            ),
            (
                5,
                20,
                "<history id=\"h3\"> default transition target 'b' is not a child of 's'",
            ),
            (
                7,
                32,
                "<history id=\"h5\"> default transition target 'other' is not a descendant of 's'",
            ),
        ],
    );
}

#[test]
fn final_with_children_and_empty_root() {
    check_problems(
        "<scxml><final id=\"f\"><state id=\"x\"/></final></scxml>",
        &[(1, 22, "element <state> is not allowed in <final id=\"f\">")],
    );
    check_problems(
        "<scxml>\n  <datamodel/>\n</scxml>",
        &[(
            1,
            1,
            "<scxml> must contain at least one <state>, <parallel> or <final>",
        )],
    );
    check_problems(
        "<state id='x'/>",
        &[(1, 1, "root element must be <scxml>, found <state>")],
    );
}

#[test]
fn if_structure_problems() {
    check_problems(
        r#"<scxml><state><onentry><if cond="a"><else/><elseif cond="b"/><else/></if></onentry></state></scxml>"#,
        &[
            (1, 44, "<elseif> after <else>"),
            (1, 62, "<else> after <else>"),
        ],
    );
}

#[test]
fn expressions_are_not_checked_at_load() {
    let doc = parse_ok(
        r#"<scxml><state><onentry><send event="e" namelist="&quot;foo"/><log expr="(("/></onentry></state></scxml>"#,
    );
    assert_eq!(doc.exprs.len(), 2);
}

#[test]
fn malformed_xml() {
    check_problems(
        "<scxml>\n  <state id=\"a\">\n  </stat>\n</scxml>",
        &[(3, 3, "malformed XML")],
    );
    check_problems(
        "<scxml><state id=a/></scxml>",
        &[(
            1,
            18,
            "malformed XML: attribute value must be enclosed in quotes in <state>",
        )],
    );
    check_problems("<scxml>\n<state>\n", &[(2, 1, "<state> is never closed")]);
    check_problems(
        "<scxml><state/><onentry>1 < 2</onentry></scxml>",
        &[(1, 27, "'<' must start an element name")],
    );
    check_problems("", &[(1, 1, "document has no root element")]);
    check_problems("<scxml/><scxml/>", &[(1, 9, "a second root element")]);
    check_problems(
        "<scxml><state>&nbsp;</state></scxml>",
        &[(1, 15, "unknown entity")],
    );
    // An earlier namespace problem is kept when the XML breaks later.
    check_problems(
        "<scxml><state><onentry><p:x/></onentry></state>\n<",
        &[
            (1, 24, "undeclared namespace prefix 'p'"),
            (2, 1, "malformed XML"),
        ],
    );
}

#[test]
fn never_panics_on_odd_input() {
    let inputs = [
        "<",
        "<<<<",
        "<scxml",
        "<scxml></scxml>",
        "<?xml version='1.0'?>",
        "<!DOCTYPE scxml><scxml><state/></scxml>",
        "<scxml><![CDATA[",
        "<scxml>&#0;</scxml>",
        "<scxml>&#xFFFFFFFF;</scxml>",
        "<scxml xmlns:a=''><a:b/></scxml>",
        "\u{feff}<scxml><state/></scxml>",
        "<scxml><state id='é'><transition target='é'/></state></scxml>",
        "<scxml><state><invoke><content><scxml><state><invoke><content><scxml/></content></invoke></state></scxml></content></invoke></state></scxml>",
    ];
    for input in inputs {
        let _ = parse_document(input, None, &NoLoader);
    }
    // Deep nesting is refused rather than overflowing the stack.
    let deep = format!(
        "<scxml>{}{}</scxml>",
        "<state>".repeat(100_000),
        "</state>".repeat(100_000)
    );
    let err = match parse_document(&deep, None, &NoLoader) {
        Ok(_) => panic!("deep nesting should be refused"),
        Err(e) => e,
    };
    assert!(
        err.problems[0].message.contains("nested more than"),
        "{err}"
    );
    // Nesting just under the limit, through the recursive parts of the walk.
    let ifs = format!(
        "<scxml><state><onentry>{}{}</onentry></state></scxml>",
        "<if cond='a'>".repeat(120),
        "</if>".repeat(120)
    );
    parse_ok(&ifs);
    let docs = format!(
        "<scxml><state>{}{}</state></scxml>",
        "<invoke><content><scxml><state>".repeat(30),
        "</state></scxml></content></invoke>".repeat(30)
    );
    parse_ok(&docs);
    // Every prefix of a real document.
    let doc = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="s"><datamodel><data id="x">[1]</data></datamodel><state id="s"><onentry><if cond="x"><send event="e"><content>é</content></send><else/></if></onentry><transition event="e" target="f"/></state><final id="f"/></scxml>"#;
    for (i, _) in doc.char_indices() {
        let _ = parse_document(&doc[..i], None, &NoLoader);
    }
}

#[test]
fn load_error_display_has_one_line_per_problem() {
    let err = match parse_document(
        "<scxml>\n<state id='a'/><state id='a'/>\n<state><transition target='zz'/></state></scxml>",
        None,
        &NoLoader,
    ) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e,
    };
    assert_eq!(
        err.to_string(),
        "2:16: duplicate state id 'a' (first defined at 2:1)\n3:8: <transition> target 'zz' does not exist"
    );
}

#[test]
fn invoke_src_cycle_is_reported() {
    let loader = map_loader(&[
        (
            "b.scxml",
            r#"<scxml><state><invoke src="c.scxml"/></state></scxml>"#,
        ),
        (
            "c.scxml",
            r#"<scxml><state><invoke type="scxml" src="a.scxml"/></state></scxml>"#,
        ),
        (
            "a.scxml",
            r#"<scxml><state><invoke src="b.scxml"/></state></scxml>"#,
        ),
        ("leaf.scxml", "<scxml><final/></scxml>"),
    ]);
    check_problems_with(
        "<scxml><state>\n  <invoke src=\"b.scxml\"/>\n  <invoke src=\"leaf.scxml\"/>\n  <invoke src=\"absent.scxml\"/>\n</state></scxml>",
        Some("a.scxml"),
        &loader,
        &[(2, 3, "invoke src cycle: a.scxml -> b.scxml -> c.scxml -> a.scxml")],
    );
    // A document invoking itself.
    let me = r#"<scxml><state><invoke src="me.scxml"/></state></scxml>"#;
    let loader = map_loader(&[("me.scxml", me)]);
    check_problems_with(
        me,
        Some("me.scxml"),
        &loader,
        &[(1, 15, "invoke src cycle: me.scxml -> me.scxml")],
    );
    // srcexpr is not followed; an acyclic chain is fine.
    let loader = map_loader(&[("leaf.scxml", "<scxml><final/></scxml>")]);
    parse_ok_with(
        r#"<scxml><state><invoke src="leaf.scxml"/><invoke srcexpr="'a.scxml'"/></state></scxml>"#,
        Some("a.scxml"),
        &loader,
    );
}

// ----- conformance files

/// Loads `file:` uris relative to the conformance folder.
struct FolderLoader(PathBuf);

impl Loader for FolderLoader {
    fn load(&self, uri: &str, _base: Option<&str>) -> Result<(String, String), String> {
        let rel = uri.strip_prefix("file:").unwrap_or(uri);
        let path = self.0.join(rel);
        std::fs::read_to_string(&path)
            .map(|text| (text, path.display().to_string()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[test]
fn every_conformance_document_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/w3c-scxml/tests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("conformance folder ../shared/w3c-scxml absent; skipping");
        return;
    };
    let loader = FolderLoader(dir.clone());
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scxml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        let base = format!("{}/", dir.display());
        if let Err(e) = parse_document(&text, Some(&base), &loader) {
            failures.push(format!("{}:\n{e}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
