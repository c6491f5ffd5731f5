//! The `ringback scxml run|test|validate` command line, run as the real binary.
//!
//! These tests live in `web/` because only a package's own integration tests get
//! `CARGO_BIN_EXE_ringback`; `cargo test -p ringback-tests` does not build the binary at all.
//! The fixture documents are shared with the `ringback-tests` crate (`tests/fixtures/`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `tests/fixtures/`; commands run with it as their working directory, so documents are named
/// relative to it (`run/pass.scxml`) and appear that way in the output.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A scratch folder for documents written by a test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::create_dir_all(&dir).expect("the scratch folder can be created");
    dir
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Longest any one command may run before the test gives up on it (and kills it).
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Runs `ringback ARGS` in the fixtures folder and waits (bounded) for it to exit.
fn ringback(args: &[&str]) -> Output {
    ringback_with_input(args, "")
}

/// Runs `ringback ARGS` with `input` on its standard input.
fn ringback_with_input(args: &[&str], input: &str) -> Output {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringback"))
        .args(args)
        .current_dir(fixtures())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ringback binary starts");
    {
        let mut stdin = child.stdin.take().expect("piped stdin");
        // The command may exit before reading (a refused argument): a broken pipe is fine.
        let _ = stdin.write_all(input.as_bytes());
    }
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).map(|_| s)
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for ringback") {
            break status;
        }
        if started.elapsed() > COMMAND_LIMIT {
            // Ignoring the result: the process may have exited just now.
            let _ = child.kill();
            let _ = child.wait();
            panic!("ringback {args:?} still running after {COMMAND_LIMIT:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    Output {
        code: status.code(),
        stdout: out.join().expect("stdout reader").expect("stdout is UTF-8"),
        stderr: err.join().expect("stderr reader").expect("stderr is UTF-8"),
        elapsed,
    }
}

/// The report of `scxml run`: stdout must be exactly one JSON object with exactly these keys.
#[derive(Debug, PartialEq)]
struct Report {
    file: String,
    outcome: String,
    final_state: Option<String>,
    events: u64,
}

fn report(out: &Output) -> Report {
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stdout, got {out:#?}"
    );
    assert!(
        out.stdout.ends_with('\n'),
        "the line is newline-terminated: {out:#?}"
    );
    let json: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out:#?}"));
    let obj = json
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {json}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["events", "file", "final", "outcome"],
        "keys of {json}"
    );
    let outcome = obj["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("outcome is a string: {json}"))
        .to_string();
    assert!(
        ["pass", "fail", "timeout", "error"].contains(&outcome.as_str()),
        "outcome {outcome:?} in {json}"
    );
    let final_state = match &obj["final"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("final must be a string or null, got {other} in {json}"),
    };
    Report {
        file: obj["file"]
            .as_str()
            .unwrap_or_else(|| panic!("file is a string: {json}"))
            .to_string(),
        outcome,
        final_state,
        events: obj["events"]
            .as_u64()
            .unwrap_or_else(|| panic!("events is a non-negative integer: {json}")),
    }
}

// ---- scxml run ----------------------------------------------------------------------------

#[test]
fn run_passing_document_prints_one_json_line_and_exits_0() {
    let out = ringback(&["scxml", "run", "run/pass.scxml"]);
    let r = report(&out);
    assert_eq!(
        r,
        Report {
            file: "run/pass.scxml".into(),
            outcome: "pass".into(),
            final_state: Some("pass".into()),
            events: 1,
        },
        "{out:#?}"
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stderr, "", "a passing run says nothing on stderr");
}

#[test]
fn run_document_ending_in_final_fail_exits_1() {
    let out = ringback(&["scxml", "run", "run/fail.scxml", "--virtual-time"]);
    let r = report(&out);
    assert_eq!(r.outcome, "fail", "{out:#?}");
    assert_eq!(r.final_state.as_deref(), Some("fail"), "{out:#?}");
    assert_eq!(r.file, "run/fail.scxml");
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn run_document_waiting_forever_times_out_with_virtual_time() {
    let out = ringback(&[
        "scxml",
        "run",
        "run/wait_forever.scxml",
        "--timeout",
        "1",
        "--virtual-time",
    ]);
    let r = report(&out);
    assert_eq!(r.outcome, "timeout", "{out:#?}");
    assert_eq!(r.final_state, None, "{out:#?}");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stderr,
        "run/wait_forever.scxml: no top-level final state reached before the timeout\n"
    );
    assert!(
        out.elapsed < Duration::from_secs(10),
        "took {:?}",
        out.elapsed
    );
}

#[test]
fn run_document_waiting_forever_times_out_in_real_time() {
    let out = ringback(&["scxml", "run", "run/wait_forever.scxml", "--timeout", "1"]);
    let r = report(&out);
    assert_eq!(r.outcome, "timeout", "{out:#?}");
    assert_eq!(r.final_state, None, "{out:#?}");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.elapsed >= Duration::from_secs(1) && out.elapsed < Duration::from_secs(10),
        "a 1 s real-time timeout took {:?}",
        out.elapsed
    );
}

#[test]
fn run_virtual_time_never_fires_timers_past_the_timeout() {
    // The document's only way out is a <send delay="3600s">; a 1 s timeout must end the run first,
    // as it does without --virtual-time.
    let out = ringback(&[
        "scxml",
        "run",
        "run/delay_past_timeout.scxml",
        "--timeout",
        "1",
        "--virtual-time",
    ]);
    let r = report(&out);
    assert_eq!(r.outcome, "timeout", "{out:#?}");
    assert_eq!(r.final_state, None, "{out:#?}");
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn run_unloadable_document_exits_2_with_problems_on_stderr() {
    let out = ringback(&["scxml", "run", "run/broken.scxml"]);
    let r = report(&out);
    assert_eq!(
        r,
        Report {
            file: "run/broken.scxml".into(),
            outcome: "error".into(),
            final_state: None,
            events: 0,
        }
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.stderr,
        "run/broken.scxml:4:5: <transition> target 'nowhere' does not exist\n"
    );
}

#[test]
fn run_missing_file_exits_2() {
    let out = ringback(&["scxml", "run", "run/no-such-file.scxml"]);
    let r = report(&out);
    assert_eq!(r.outcome, "error", "{out:#?}");
    assert_eq!(r.final_state, None);
    assert_eq!(out.code, Some(2), "{out:#?}");
    // The OS error text varies; the line names the file and nothing else goes to stderr.
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:#?}");
    assert!(
        lines[0].starts_with("run/no-such-file.scxml: ") && lines[0].len() > 25,
        "{out:#?}"
    );
}

#[test]
fn run_virtual_time_skips_long_delays_with_the_same_outcome_as_real_time() {
    // Sends delayed 10 s and 30 s; passes only if they arrive in delay order.
    let virt = ringback(&["scxml", "run", "run/delay_long.scxml", "--virtual-time"]);
    assert!(
        virt.elapsed < Duration::from_secs(10),
        "30 s of virtual time took {:?} of wall time",
        virt.elapsed
    );
    let virt_report = report(&virt);
    assert_eq!(virt.code, Some(0), "{virt:#?}");

    // The same chart with 100 ms and 300 ms, run on the real clock.
    let real = ringback(&["scxml", "run", "run/delay_short.scxml"]);
    assert!(
        real.elapsed >= Duration::from_millis(300),
        "real time cannot beat the 300 ms delay: {:?}",
        real.elapsed
    );
    let real_report = report(&real);
    assert_eq!(real.code, Some(0), "{real:#?}");

    assert_eq!(virt_report.outcome, "pass");
    assert_eq!(virt_report.final_state.as_deref(), Some("pass"));
    assert_eq!(
        (
            &virt_report.outcome,
            &virt_report.final_state,
            virt_report.events
        ),
        (
            &real_report.outcome,
            &real_report.final_state,
            real_report.events
        ),
        "virtual and real time disagree"
    );
}

// ---- scxml test ---------------------------------------------------------------------------

#[test]
fn test_folder_reports_each_start_document_in_name_order_and_exits_1_on_a_failure() {
    for jobs in ["1", "3"] {
        let out = ringback(&[
            "scxml",
            "test",
            "suite_mixed",
            "--jobs",
            jobs,
            "--virtual-time",
        ]);
        // xsub1.scxml would FAIL on its own; it is only invoked by a_pass.scxml.
        assert_eq!(
            out.stdout,
            "PASS a_pass.scxml\n\
             FAIL b_fail.scxml: outcome Fail, final state fail\n\
             PASS c_pass.scxml\n\
             2 passed, 1 failed\n",
            "--jobs {jobs}: {out:#?}"
        );
        assert_eq!(out.code, Some(1), "--jobs {jobs}: {out:#?}");
    }
}

#[test]
fn test_folder_of_passing_documents_exits_0() {
    let out = ringback(&["scxml", "test", "suite_pass", "--virtual-time"]);
    assert_eq!(
        out.stdout, "PASS one.scxml\nPASS two.scxml\n2 passed, 0 failed\n",
        "{out:#?}"
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
}

#[test]
fn test_missing_folder_exits_2() {
    let out = ringback(&["scxml", "test", "no-such-folder"]);
    assert_eq!(out.stdout, "", "{out:#?}");
    assert!(
        out.stderr.starts_with("no-such-folder: "),
        "names the folder: {out:#?}"
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
}

// ---- scxml validate -----------------------------------------------------------------------

/// Asserts `validate FILE` prints exactly these problems, each as `FILE:LINE:COL: message`.
fn assert_validate(file: &str, expected: &[(u32, u32, &str)]) {
    let out = ringback(&["scxml", "validate", file]);
    let expected: Vec<String> = expected
        .iter()
        .map(|(line, col, msg)| format!("{file}:{line}:{col}: {msg}"))
        .collect();
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, expected, "{out:#?}");
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn validate_reports_every_problem_with_its_position() {
    assert_validate(
        "validate/many_problems.scxml",
        &[
            (
                3,
                1,
                "<scxml> binding 'lazy' is invalid (expected 'early' or 'late')",
            ),
            (
                5,
                5,
                "<transition> type 'sideways' is invalid (expected 'internal' or 'external')",
            ),
            (6, 5, "<transition> target 'nowhere' does not exist"),
            (7, 5, "unknown element <frobnicate> in <state id=\"s0\">"),
            (11, 7, "<send> has both 'event' and 'eventexpr'"),
            (14, 3, "duplicate state id 's0' (first defined at 4:3)"),
        ],
    );
}

#[test]
fn validate_valid_document_prints_nothing_and_exits_0() {
    let out = ringback(&["scxml", "validate", "validate/valid.scxml"]);
    assert_eq!(out.stdout, "", "{out:#?}");
    assert_eq!(out.stderr, "", "{out:#?}");
    assert_eq!(out.code, Some(0), "{out:#?}");
}

#[test]
fn validate_reports_an_invoke_src_cycle_across_files() {
    let dir = fixtures()
        .join("cycle")
        .canonicalize()
        .expect("the cycle fixtures exist");
    let a = dir.join("a.scxml").display().to_string();
    let b = dir.join("b.scxml").display().to_string();
    assert_validate(
        "cycle/a.scxml",
        &[(5, 5, &format!("invoke src cycle: {a} -> {b} -> {a}"))],
    );
    assert_validate(
        "cycle/b.scxml",
        &[(5, 5, &format!("invoke src cycle: {b} -> {a} -> {b}"))],
    );
}

#[test]
fn validate_malformed_xml_reports_position() {
    let dir = scratch("malformed");
    let cases: &[(&str, &str, (u32, u32, &str))] = &[
        (
            "unclosed.scxml",
            "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">\n  <state id=\"a\">\n",
            (2, 3, "malformed XML: <state> is never closed"),
        ),
        (
            "mismatched.scxml",
            "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">\n  <state id=\"a\">\n  </final>\n</scxml>\n",
            (
                3,
                3,
                "malformed XML: ill-formed document: expected `</state>`, but `</final>` was found",
            ),
        ),
        (
            "empty.scxml",
            "",
            (1, 1, "document has no root element"),
        ),
    ];
    for (name, text, (line, col, msg)) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("the scratch document can be written");
        let file = path.display().to_string();
        let out = ringback(&["scxml", "validate", &file]);
        assert_eq!(
            out.stdout,
            format!("{file}:{line}:{col}: {msg}\n"),
            "{out:#?}"
        );
        assert_eq!(out.code, Some(1), "{out:#?}");
    }
}

/// Bytes that are not UTF-8 (and not XML): a byte-order mark of the wrong kind, NUL, a lone
/// continuation byte.
const GARBAGE: &[u8] = b"\xff\xfe\x00<\x80scxml\x01\x02\xc3";

#[test]
fn validate_binary_garbage_is_reported_not_a_crash() {
    let path = scratch("garbage").join("garbage.scxml");
    std::fs::write(&path, GARBAGE).expect("the garbage file can be written");
    let file = path.display().to_string();
    let out = ringback(&["scxml", "validate", &file]);
    assert_eq!(
        out.stdout,
        format!("{file}:1:1: the document is not valid UTF-8 (byte 0xFF); save it as UTF-8 or declare encoding=\"ISO-8859-1\"\n"),
        "{out:#?}"
    );
    assert_eq!(out.code, Some(1), "{out:#?}");

    let run = ringback(&["scxml", "run", &file]);
    assert_eq!(report(&run).outcome, "error", "{run:#?}");
    assert_eq!(
        run.stderr,
        format!("{file}:1:1: the document is not valid UTF-8 (byte 0xFF); save it as UTF-8 or declare encoding=\"ISO-8859-1\"\n")
    );
    assert_eq!(run.code, Some(2), "{run:#?}");
}

#[test]
fn validate_binary_garbage_reports_a_position() {
    let path = scratch("garbage-pos").join("garbage.scxml");
    std::fs::write(&path, GARBAGE).expect("the garbage file can be written");
    let file = path.display().to_string();
    let out = ringback(&["scxml", "validate", &file]);
    // The first byte is already invalid.
    assert!(
        out.stdout.starts_with(&format!("{file}:1:1: ")) && out.stdout.contains("UTF-8"),
        "{out:#?}"
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn user_add_list_remove_keep_users_in_the_data_folder_with_hashed_passwords() {
    let dir = scratch("users");
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let data = dir.join("data");
    let data = data.to_str().expect("a UTF-8 path");

    let empty = ringback(&["user", "list", "--data-dir", data]);
    assert_eq!(empty.code, Some(0), "{empty:?}");
    assert!(empty.stdout.starts_with("no users in "), "{empty:?}");

    let add = ringback_with_input(
        &[
            "user",
            "add",
            "ann",
            "--role",
            "administrator",
            "--data-dir",
            data,
        ],
        "correct horse\n",
    );
    assert_eq!(add.code, Some(0), "{add:?}");
    assert_eq!(add.stdout, "added ann (Administrator, all services)\n");
    let add = ringback_with_input(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "Supervisor",
            "--services",
            "callback-support,support",
            "--data-dir",
            data,
        ],
        "battery staple\r\n",
    );
    assert_eq!(add.code, Some(0), "{add:?}");

    let list = ringback(&["user", "list", "--data-dir", data]);
    assert_eq!(
        list.stdout,
        "NAME  ROLE              SERVICES\n\
         ann   Administrator     all services\n\
         bob   Supervisor        callback-support,support\n"
    );
    // The password is in the database only as an Argon2id hash.
    let db = std::fs::read(Path::new(data).join("ringback.db")).expect("the database file");
    let wal = std::fs::read(Path::new(data).join("ringback.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("correct horse") && !text.contains("battery staple"));
    }
    assert!(
        String::from_utf8_lossy(&db).contains("$argon2id$")
            || String::from_utf8_lossy(&wal).contains("$argon2id$")
    );

    for (args, input, error) in [
        (
            vec!["add", "ann", "--role", "Supervisor"],
            "pw\n",
            "exists already",
        ),
        (
            vec!["add", "cy", "--role", "agent"],
            "pw\n",
            "unknown role \"agent\"",
        ),
        (
            vec!["add", "cy", "--role", "Supervisor"],
            "\n",
            "the password is empty",
        ),
        (
            vec!["add", "c:y", "--role", "Supervisor"],
            "pw\n",
            "holds a colon",
        ),
        (vec!["remove", "cy"], "", "no user \"cy\""),
    ] {
        let args = [vec!["user"], args, vec!["--data-dir", data]].concat();
        let out = ringback_with_input(&args, input);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains(error), "{args:?}: {out:?}");
    }

    let remove = ringback(&["user", "remove", "bob", "--data-dir", data]);
    assert_eq!(
        (remove.code, remove.stdout.as_str()),
        (Some(0), "removed bob\n")
    );
    let list = ringback(&["user", "list", "--data-dir", data]);
    assert_eq!(
        list.stdout,
        "NAME  ROLE              SERVICES\nann   Administrator     all services\n"
    );
}
