//! The W3C SCXML 1.0 conformance suite (the converted IRP subset in `../shared/w3c-scxml`),
//! run through the real `ringback scxml test` runner with virtual time and the Basic HTTP
//! Event I/O Processor on loopback.

use std::path::PathBuf;
use std::time::Duration;

use ringback::scxml_runner::{run_dir, short_name, Outcome, RunOptions};

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/w3c-scxml/tests")
}

fn expected_failures() -> Vec<String> {
    include_str!("../expected-failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn w3c_conformance_suite_passes() {
    let dir = suite_dir();
    if !dir.is_dir() {
        eprintln!(
            "conformance folder {} is absent (a plain clone has no ../shared); skipping the W3C suite",
            dir.display()
        );
        return;
    }
    let opts = RunOptions {
        timeout: Duration::from_secs(60),
        virtual_time: true,
        verbose: false,
    };
    let reports = run_dir(&dir, 2, &opts).expect("the conformance folder is readable");
    assert!(
        reports.len() >= 100,
        "expected the whole suite, found {} start documents",
        reports.len()
    );
    let expected = expected_failures();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for r in &reports {
        let name = short_name(&r.file).to_string();
        let listed = expected.contains(&name);
        match (r.outcome == Outcome::Pass, listed) {
            (false, false) => unexpected.push(format!(
                "{name}: {:?} (final {:?}) {}",
                r.outcome,
                r.final_state,
                r.reason.clone().unwrap_or_default()
            )),
            (true, true) => fixed.push(name),
            _ => {}
        }
    }
    let passed = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    eprintln!(
        "W3C SCXML: {passed} of {} start documents pass",
        reports.len()
    );
    assert!(
        unexpected.is_empty(),
        "failing documents:\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these now pass; remove them from tests/expected-failures.txt: {fixed:?}"
    );
}
