//! The W3C SCXML 1.0 conformance suite (the converted IRP subset in `../shared/w3c-scxml`),
//! run through the real `ringback scxml test` runner with virtual time and the Basic HTTP
//! Event I/O Processor on loopback.

use std::path::PathBuf;
use std::time::Duration;

use ringback::scxml_runner::{run_dir, short_name, Outcome, RunOptions};

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/w3c-scxml/tests")
}

/// The start documents the manifest lists (`manifest.tsv`: a header, then one row each).
fn manifest_files() -> Option<Vec<String>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/w3c-scxml/manifest.tsv");
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| l.split('\t').nth(1))
            .map(|f| f.trim().to_string())
            .collect(),
    )
}

fn expected_failures() -> Vec<String> {
    include_str!("../expected-failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Without `../shared` (a plain clone) there is no suite to run: the test says so on its
/// output and by its name; `.ci/run` fails when `../shared` is there but the suite ran nothing.
#[test]
fn w3c_conformance_suite_passes_or_is_skipped_when_shared_is_absent() {
    let dir = suite_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: the W3C conformance folder {} is absent (a plain clone has no ../shared)",
            dir.display()
        );
        return;
    }
    let listed = manifest_files().expect("../shared/w3c-scxml/manifest.tsv is readable");
    let opts = RunOptions {
        timeout: Duration::from_secs(60),
        virtual_time: true,
        verbose: false,
    };
    let reports = run_dir(&dir, 2, &opts).expect("the conformance folder is readable");
    let mut ran: Vec<String> = reports
        .iter()
        .map(|r| short_name(&r.file).to_string())
        .collect();
    ran.sort();
    let mut wanted = listed.clone();
    wanted.sort();
    assert_eq!(
        ran,
        wanted,
        "the start documents run are not the {} the manifest lists",
        listed.len()
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
