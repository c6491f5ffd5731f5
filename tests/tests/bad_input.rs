//! Bad input to the document loader: malformed XML, invalid SCXML, `<invoke src>` cycles and a few thousand
//! randomly mutated documents. Every one must come back as problems with a position, never as a panic.
//!
//! The same checks through the `ringback scxml validate` binary are in `web/tests/cli.rs`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ringback::scxml_runner::load;
use scxml::parse::{parse_document, Loader, MapLoader, NoLoader};

const HEAD: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0""#;

/// Parses `src` and asserts exactly these problems, in order: `(line, col, message)`.
fn assert_problems(src: &str, expected: &[(u32, u32, &str)]) {
    assert_problems_with(src, None, &NoLoader, expected);
}

fn assert_problems_with(
    src: &str,
    base: Option<&str>,
    loader: &dyn Loader,
    expected: &[(u32, u32, &str)],
) {
    let err = match parse_document(src, base, loader) {
        Ok(_) => panic!("expected problems {expected:#?}, but the document loaded:\n{src}"),
        Err(e) => e,
    };
    let got: Vec<(u32, u32, &str)> = err
        .problems
        .iter()
        .map(|p| (p.pos.line, p.pos.col, p.message.as_str()))
        .collect();
    assert_eq!(got, expected, "for the document\n{src}");
    // The error's Display is every problem as `LINE:COL: message`, one a line.
    let display: Vec<String> = expected
        .iter()
        .map(|(l, c, m)| format!("{l}:{c}: {m}"))
        .collect();
    assert_eq!(err.to_string(), display.join("\n"));
}

// ---- malformed XML ------------------------------------------------------------------------

#[test]
fn unclosed_tag() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=\"a\">\n"),
        &[(2, 3, "malformed XML: <state> is never closed")],
    );
}

#[test]
fn unclosed_root() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=\"a\"/>\n"),
        &[(1, 1, "malformed XML: <scxml> is never closed")],
    );
}

#[test]
fn mismatched_end_tag() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=\"a\">\n  </final>\n</scxml>"),
        &[(
            3,
            3,
            "malformed XML: ill-formed document: expected `</state>`, but `</final>` was found",
        )],
    );
}

#[test]
fn unquoted_attribute_value() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=a/>\n</scxml>"),
        &[(
            2,
            13,
            "malformed XML: attribute value must be enclosed in quotes in <state>",
        )],
    );
}

#[test]
fn attribute_without_value() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=\"a\" id/>\n</scxml>"),
        &[(
            2,
            19,
            "malformed XML: attribute name must be followed by '=' in <state>",
        )],
    );
}

#[test]
fn text_after_the_root_element() {
    assert_problems(
        &format!("{HEAD}>\n  <state id=\"a\"/>\n</scxml>\ntrailing text"),
        &[(3, 9, "malformed XML: text outside the root element")],
    );
}

#[test]
fn text_before_the_root_element() {
    assert_problems(
        &format!("hello\n{HEAD}>\n  <state id=\"a\"/>\n</scxml>"),
        &[(1, 1, "malformed XML: text outside the root element")],
    );
}

#[test]
fn empty_and_blank_input() {
    assert_problems("", &[(1, 1, "document has no root element")]);
    assert_problems("  \n\t \n", &[(1, 1, "document has no root element")]);
}

#[test]
fn deeply_nested_elements_are_rejected_not_a_stack_overflow() {
    let depth = 20_000;
    let src = format!(
        "{HEAD}>{}{}</scxml>",
        "<state>".repeat(depth),
        "</state>".repeat(depth)
    );
    let err = match parse_document(&src, None, &NoLoader) {
        Ok(_) => panic!("{depth} nested states loaded"),
        Err(e) => e,
    };
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].pos.line, 1, "{err}");
    assert_eq!(
        err.problems[0].message,
        "elements are nested more than 128 levels deep"
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bad-input-{name}"));
    std::fs::create_dir_all(&dir).expect("the scratch folder can be created");
    dir
}

#[test]
fn latin1_document_with_declared_encoding_loads() {
    let dir = scratch("latin1");
    let path = dir.join("latin1.scxml");
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">\n<state id=\"caf".to_vec();
    bytes.push(0xE9); // é in ISO-8859-1
    bytes.extend_from_slice(b"\"/></scxml>");
    std::fs::write(&path, bytes).expect("written");
    let doc = load(&path).expect("a declared ISO-8859-1 document loads");
    assert_eq!(doc.states[1].id, "caf\u{e9}");
}

#[test]
fn invalid_utf8_is_reported_at_its_line_and_column() {
    let dir = scratch("utf8-pos");
    let path = dir.join("bad.scxml");
    std::fs::write(
        &path,
        b"<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n  <state id=\"a\xff\"/>\n</scxml>",
    )
    .expect("written");
    let file = path.display().to_string();
    assert_eq!(
        load(&path).map(|_| ()),
        Err(vec![format!(
            "{file}:2:15: the document is not valid UTF-8 (byte 0xFF); save it as UTF-8 or declare \
             encoding=\"ISO-8859-1\""
        )])
    );
}

#[test]
fn binary_garbage_file() {
    let dir = scratch("garbage");
    // Not UTF-8 (and no encoding declared): reported at the first undecodable byte.
    let path = dir.join("not-utf8.scxml");
    std::fs::write(&path, b"\xff\xfe\x00<\x80scxml\x01\x02\xc3").expect("written");
    let file = path.display().to_string();
    match load(&path) {
        Ok(_) => panic!("garbage loaded"),
        Err(problems) => assert_eq!(
            problems,
            [format!(
                "{file}:1:1: the document is not valid UTF-8 (byte 0xFF); save it as UTF-8 or declare \
                 encoding=\"ISO-8859-1\""
            )]
        ),
    }
    // UTF-8, but control characters and stray markup.
    let path = dir.join("noise.scxml");
    std::fs::write(&path, "\u{1}\u{2}\u{7f}<<>>&&;\n<?<!--").expect("written");
    let file = path.display().to_string();
    match load(&path) {
        Ok(_) => panic!("noise loaded"),
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in &problems {
                assert!(
                    p.starts_with(&format!("{file}:1:")) || p.starts_with(&format!("{file}:2:")),
                    "every problem has a position: {problems:#?}"
                );
            }
            assert!(
                problems[0].contains("malformed XML"),
                "says why: {problems:#?}"
            );
        }
    }
}

// ---- invalid SCXML ------------------------------------------------------------------------

#[test]
fn unknown_elements_in_the_scxml_namespace() {
    assert_problems(
        &format!(
            "{HEAD}>\n  <state id=\"a\"><bogus/><transitio target=\"a\"/></state>\n  <sate id=\"b\"/>\n</scxml>"
        ),
        &[
            (2, 17, "unknown element <bogus> in <state id=\"a\">"),
            (2, 25, "unknown element <transitio> in <state id=\"a\">"),
            (3, 3, "unknown element <sate> in <scxml>"),
        ],
    );
}

#[test]
fn invalid_attribute_values() {
    let src = format!(
        r#"{HEAD} binding="lazy" datamodel="python">
  <state id="a">
    <history id="h" type="medium"><transition target="b"/></history>
    <state id="b">
      <invoke type="scxml" autoforward="yes" src="x.scxml"/>
      <transition event="go" type="sideways" target="a"/>
    </state>
  </state>
</scxml>"#
    );
    assert_problems(
        &src,
        &[
            (
                1,
                1,
                "<scxml> datamodel 'python' is not supported (expected 'ecmascript' or 'null')",
            ),
            (
                1,
                1,
                "<scxml> binding 'lazy' is invalid (expected 'early' or 'late')",
            ),
            (
                3,
                5,
                "<history id=\"h\"> type 'medium' is invalid (expected 'shallow' or 'deep')",
            ),
            (
                5,
                7,
                "<invoke> autoforward 'yes' is invalid (expected 'true' or 'false')",
            ),
            (
                6,
                7,
                "<transition> type 'sideways' is invalid (expected 'internal' or 'external')",
            ),
        ],
    );
}

#[test]
fn nonexistent_and_unreachable_targets() {
    let src = format!(
        r#"{HEAD} initial="zz">
  <state id="a" initial="c">
    <state id="a1"/>
  </state>
  <state id="c"><transition target="a q"/></state>
  <parallel id="p">
    <history id="h"><transition target="a1"/></history>
    <state id="p1"/>
  </parallel>
</scxml>"#
    );
    assert_problems(
        &src,
        &[
            (1, 1, "<scxml> initial target 'zz' does not exist"),
            (
                2,
                3,
                "<state id=\"a\"> initial target 'c' is not a descendant of it",
            ),
            (5, 17, "<transition> target 'q' does not exist"),
            (
                7,
                21,
                "<history id=\"h\"> default transition target 'a1' is not a child of 'p'",
            ),
        ],
    );
}

#[test]
fn duplicate_ids() {
    assert_problems(
        &format!(
            "{HEAD}>\n  <state id=\"a\">\n    <state id=\"b\"/>\n  </state>\n  <final id=\"b\"/>\n  <parallel id=\"a\"/>\n</scxml>"
        ),
        &[
            (5, 3, "duplicate state id 'b' (first defined at 3:5)"),
            (6, 3, "duplicate state id 'a' (first defined at 2:3)"),
        ],
    );
}

#[test]
fn send_with_both_event_and_eventexpr() {
    assert_problems(
        &format!(
            "{HEAD}>\n  <state id=\"a\">\n    <onentry><send event=\"e\" eventexpr=\"'e'\"/></onentry>\n  </state>\n</scxml>"
        ),
        &[(3, 14, "<send> has both 'event' and 'eventexpr'")],
    );
}

// ---- <invoke src> cycles ------------------------------------------------------------------

const CYCLE_A: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
  <state id="a0">
    <invoke src="b.scxml"/>
  </state>
</scxml>"#;

const CYCLE_B: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
  <state id="b0">
    <invoke type="scxml" src="file:a.scxml"/>
  </state>
</scxml>"#;

#[test]
fn invoke_src_cycle_through_a_map_loader() {
    let loader = MapLoader(HashMap::from([
        ("file:/d/a.scxml".to_string(), CYCLE_A.to_string()),
        ("file:/d/b.scxml".to_string(), CYCLE_B.to_string()),
    ]));
    assert_problems_with(
        CYCLE_A,
        Some("file:/d/a.scxml"),
        &loader,
        &[(
            3,
            5,
            "invoke src cycle: file:/d/a.scxml -> file:/d/b.scxml -> file:/d/a.scxml",
        )],
    );
    assert_problems_with(
        CYCLE_B,
        Some("file:/d/b.scxml"),
        &loader,
        &[(
            3,
            5,
            "invoke src cycle: file:/d/b.scxml -> file:/d/a.scxml -> file:/d/b.scxml",
        )],
    );
}

#[test]
fn invoke_src_cycle_through_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cycle")
        .canonicalize()
        .expect("the cycle fixtures exist");
    let a = dir.join("a.scxml");
    let b = dir.join("b.scxml");
    let (an, bn) = (a.display().to_string(), b.display().to_string());
    match load(&a) {
        Ok(_) => panic!("a.scxml loaded despite the cycle"),
        Err(problems) => assert_eq!(
            problems,
            [format!("{an}:5:5: invoke src cycle: {an} -> {bn} -> {an}")]
        ),
    }
}

// ---- mutated documents --------------------------------------------------------------------

/// A valid document touching most of the grammar.
const SEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- A callback: a comment, a CDATA section and an entity for good measure. -->
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:x="urn:example" version="1.0"
       datamodel="ecmascript" binding="late" initial="idle" name="callback">
  <datamodel>
    <data id="tries" expr="0"/>
    <data id="queue"><x:q name="sales" size="3"/></data>
    <data id="items">[1, 2, 3]</data>
  </datamodel>
  <script><![CDATA[ function bump(n) { return n < 3 ? n + 1 : n; } ]]></script>
  <state id="idle">
    <onentry>
      <log label="enter" expr="'idle &amp; waiting'"/>
      <send id="t1" event="timer.ring" delay="2s"/>
      <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" targetexpr="'http://127.0.0.1:9/x'"
            namelist="tries">
        <param name="who" expr="'agent'"/>
      </send>
    </onentry>
    <transition event="timer.*" cond="tries &lt; 3" target="dialing">
      <assign location="tries" expr="bump(tries)"/>
    </transition>
    <transition event="cancel" target="done">
      <cancel sendid="t1"/>
    </transition>
  </state>
  <parallel id="dialing">
    <history id="hist" type="deep"><transition target="ring"/></history>
    <state id="line" initial="ring">
      <state id="ring">
        <transition event="answer" type="internal" target="talk"/>
      </state>
      <state id="talk">
        <onexit><raise event="hangup"/></onexit>
      </state>
    </state>
    <state id="agent">
      <invoke id="child" type="http://www.w3.org/TR/scxml/" autoforward="true">
        <param name="queue" expr="queue"/>
        <content>
          <scxml version="1.0" initial="c"><final id="c"/></scxml>
        </content>
        <finalize><assign location="tries" expr="0"/></finalize>
      </invoke>
    </state>
    <transition event="hangup" target="done">
      <if cond="tries == 3"><log expr="'last try'"/>
      <elseif cond="tries == 2"/><raise event="again"/>
      <else/><foreach array="items" item="it" index="i"><log expr="it + i"/></foreach>
      </if>
    </transition>
  </parallel>
  <final id="done">
    <donedata><param name="result" expr="tries"/></donedata>
  </final>
</scxml>
"#;

/// xorshift64: deterministic, dependency-free.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that matter to XML, inserted more often than random ones.
const INTERESTING: &[u8] = b"<>/=\"'&;![]-?: \n\txmlns#{}";

fn mutate(rng: &mut XorShift, src: &[u8]) -> Vec<u8> {
    let mut bytes = src.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        let at = rng.below(len + 1);
        match rng.below(4) {
            // Delete a substring.
            0 if len > 0 => {
                let start = at.min(len - 1);
                let n = (1 + rng.below(24)).min(len - start);
                bytes.drain(start..start + n);
            }
            // Insert a byte.
            1 => {
                let b = if rng.below(2) == 0 {
                    INTERESTING[rng.below(INTERESTING.len())]
                } else {
                    (rng.next() & 0xff) as u8
                };
                bytes.insert(at, b);
            }
            // Duplicate a substring somewhere else.
            2 if len > 0 => {
                let start = rng.below(len);
                let n = (1 + rng.below(64)).min(len - start);
                let piece: Vec<u8> = bytes[start..start + n].to_vec();
                bytes.splice(at..at, piece);
            }
            // Swap two single bytes.
            _ if len > 1 => {
                let other = rng.below(len);
                bytes.swap(at.min(len - 1), other);
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn seed_document_is_valid() {
    if let Err(e) = parse_document(SEED, Some("file:/d/seed.scxml"), &NoLoader) {
        panic!("the seed document must load:\n{e}");
    }
}

#[test]
fn mutated_documents_never_panic() {
    const MUTANTS: usize = 5000;
    let started = Instant::now();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut loaded, mut rejected) = (0usize, 0usize);
    let mut panics: Vec<String> = Vec::new();
    for i in 0..MUTANTS {
        let bytes = mutate(&mut rng, SEED.as_bytes());
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let result = catch_unwind(AssertUnwindSafe(|| {
            parse_document(&text, Some("file:/d/seed.scxml"), &NoLoader)
        }));
        match result {
            Ok(Ok(_)) => loaded += 1,
            Ok(Err(e)) => {
                rejected += 1;
                assert!(
                    !e.problems.is_empty(),
                    "mutant {i}: an error without problems"
                );
                for p in &e.problems {
                    assert!(
                        p.pos.line >= 1 && p.pos.col >= 1 && !p.message.is_empty(),
                        "mutant {i}: problem without position or message: {p:?}\n{text}"
                    );
                }
            }
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push(format!("mutant {i} panicked: {msg}\n{text}"));
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!("{MUTANTS} mutants: {loaded} loaded, {rejected} rejected, in {elapsed:?}");
    assert!(
        panics.is_empty(),
        "{} of {MUTANTS} mutants panicked; the first:\n{}",
        panics.len(),
        panics[0]
    );
    // The mutations must actually exercise both paths.
    assert!(
        rejected > MUTANTS / 4,
        "too few rejected: {rejected} of {MUTANTS}"
    );
    assert!(loaded > 0, "no mutant loaded");
    assert!(
        elapsed < Duration::from_secs(60),
        "parsing {MUTANTS} small documents took {elapsed:?}"
    );
}
