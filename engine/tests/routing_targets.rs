//! Routing targets: URS target strings, skill expressions, the `_target` list and its escalation.

use engine::routing::plan::{Escalation, StatKind, StatOperator, TargetList, MAX_TARGETS};
use engine::routing::skills::SkillExpr;
use engine::routing::target::{Target, TargetError, TargetKind};

fn target(s: &str) -> Target {
    Target::parse(s).expect("valid target")
}

/// Asserts that `s` is rejected with exactly `message`, pointing at `column`.
fn bad_target(s: &str, message: &str, column: usize) {
    let e = Target::parse(s).expect_err(s);
    assert_eq!(e.to_string(), message, "message for {s:?}");
    assert_eq!(e.column(), Some(column), "column for {s:?}");
}

fn skill(s: &str) -> SkillExpr {
    SkillExpr::parse(s).expect("valid skill expression")
}

fn list(json: &str) -> TargetList {
    TargetList::parse(json).expect("valid target list")
}

fn bad_list(json: &str, message: &str) {
    let e = TargetList::parse(json).expect_err(json);
    assert_eq!(e.to_string(), message, "message for {json}");
}

fn names(ts: &[&Target]) -> Vec<String> {
    ts.iter().map(|t| t.name.clone()).collect()
}

// ---------------------------------------------------------------- target strings

#[test]
fn parses_every_target_type() {
    for (code, kind) in [
        ("A", TargetKind::Agent),
        ("AP", TargetKind::AgentPlace),
        ("GA", TargetKind::AgentGroup),
        ("GP", TargetKind::PlaceGroup),
        ("GC", TargetKind::CampaignGroup),
    ] {
        let s = format!("Customer_Service@Stat_Server.{code}");
        let t = target(&s);
        assert_eq!(t.name, "Customer_Service");
        assert_eq!(t.stat_server, "Stat_Server");
        assert_eq!(t.kind, kind);
        assert_eq!(t.skill, None);
        assert_eq!(t.to_string(), s, "display round-trips");
    }
}

#[test]
fn names_may_hold_at_signs_and_servers_dots() {
    let t = target("jane@example.com@stat.host.A");
    assert_eq!(t.name, "jane@example.com");
    assert_eq!(t.stat_server, "stat.host");
    assert_eq!(t.kind, TargetKind::Agent);
    assert_eq!(t.to_string(), "jane@example.com@stat.host.A");
    assert_eq!(target("Customer Service@Stat.GA").name, "Customer Service");
}

#[test]
fn parses_skill_targets() {
    let t = target("?:English=20&Loans>=2@StatServer.GA");
    assert_eq!(t.kind, TargetKind::AgentGroup);
    assert_eq!(t.stat_server, "StatServer");
    assert!(t.is_skill_expression());
    assert_eq!(t.name, "English=20&Loans>=2");
    assert_eq!(t.to_string(), "?:English=20&Loans>=2@StatServer.GA");

    // Spaces are allowed and dropped from the canonical form; the canonical form re-parses equal.
    let spaced = target("?: English = 20 & ( Loans >= 2 | !Mortgage>0 )@Stat.GA");
    assert_eq!(
        spaced.to_string(),
        "?:English=20&(Loans>=2|!Mortgage>0)@Stat.GA"
    );
    assert_eq!(target(&spaced.to_string()), spaced);
}

#[test]
fn malformed_targets_point_at_the_fault() {
    bad_target(
        "",
        "empty target at column 0 (expected <name>@<statserver>.<type>)",
        0,
    );
    bad_target(
        "Billing.GA",
        "missing '@' before the statistics server at column 10 (expected <name>@<statserver>.<type>)",
        10,
    );
    bad_target(
        "Billing@StatServer",
        "missing '.<type>' after the statistics server at column 18 (expected A, AP, GA, GP or GC)",
        18,
    );
    bad_target(
        "Billing@StatServer.GX",
        "unknown target type 'GX' at column 19 (expected A, AP, GA, GP or GC)",
        19,
    );
    bad_target(
        "Billing@StatServer.ga",
        "unknown target type 'ga' at column 19 (expected A, AP, GA, GP or GC)",
        19,
    );
    bad_target(
        "Billing@StatServer.",
        "missing target type after '.' at column 19 (expected A, AP, GA, GP or GC)",
        19,
    );
    bad_target(
        "Billing@.GA",
        "missing statistics server name after '@' at column 8",
        8,
    );
    bad_target(
        "@StatServer.GA",
        "missing target name before '@' at column 0 (expected <name>@<statserver>.<type>)",
        0,
    );
    bad_target(
        "?English=20@StatServer.GA",
        "a skill-expression target must start with '?:' at column 1",
        1,
    );
    bad_target(
        "?:English=20@StatServer.A",
        "a skill-expression target must be of type GA, not 'A' at column 24",
        24,
    );
    // Skill-expression faults are reported at their column in the whole target string.
    bad_target(
        "?:English=20&&Loans=2@Stat.GA",
        "expected a skill name but found '&' at column 13 (a letter or '_', then letters, digits or '_'; or '$(statistic)', '!' or '(')",
        13,
    );
    bad_target(
        "?:English==20@Stat.GA",
        "expected an integer level after '=' but found '=' at column 10",
        10,
    );
    bad_target(
        "?:@Stat.GA",
        "empty skill expression at column 2 (expected a condition such as English>=5)",
        2,
    );
}

// ---------------------------------------------------------------- skill expressions

#[test]
fn skill_expression_precedence_is_left_to_right() {
    // URS: '&' and '|' have the same priority, the left one first; '!' binds to one condition
    // or group; parentheses override.
    for (src, grouped) in [
        ("a=1|b=1&c=1", "((a=1|b=1)&c=1)"),
        ("a=1&b=1|c=1", "((a=1&b=1)|c=1)"),
        ("a=1|(b=1&c=1)", "(a=1|(b=1&c=1))"),
        ("!a>0&b>0", "(!a>0&b>0)"),
        ("!(a>0&b>0)", "!(a>0&b>0)"),
        ("!!a>0", "!!a>0"),
        ("a=1&b=1&c=1|d=1", "(((a=1&b=1)&c=1)|d=1)"),
        ("(a=1|b=1)&(c=1|d=1)", "((a=1|b=1)&(c=1|d=1))"),
    ] {
        assert_eq!(skill(src).fully_parenthesized(), grouped, "{src}");
    }
}

#[test]
fn precedence_changes_the_outcome() {
    // a=1 true, b=1 false, c=1 false: left-to-right gives (true|false)&false = false, where
    // C-style precedence would give true|(false&false) = true.
    let levels = |name: &str| match name {
        "a" => Some(1),
        "b" | "c" => Some(0),
        _ => None,
    };
    assert!(!skill("a=1|b=1&c=1").eval(&levels));
    assert!(skill("a=1|(b=1&c=1)").eval(&levels));
    // `!a>0&b>0` is `(!(a>0))&(b>0)`: a>0 is true, so the whole is false whatever b is.
    assert!(!skill("!a>0&b=0").eval(&levels));
    assert!(skill("!(a>0&b>0)").eval(&levels));
}

#[test]
fn every_comparison_operator() {
    let english = |name: &str| (name == "English").then_some(5);
    for (src, expected) in [
        ("English=5", true),
        ("English!=5", false),
        ("English<5", false),
        ("English<=5", true),
        ("English>4", true),
        ("English>=6", false),
    ] {
        assert_eq!(skill(src).eval(&english), expected, "{src}");
    }
}

#[test]
fn missing_skills_count_as_level_zero() {
    // URS: "the value of the skill (or 0 if agent has no such skill) will be used", so `<`,
    // `<=`, `=0` and `!=` match agents who lack the skill.
    let none = |_: &str| None;
    for (src, expected) in [
        ("Spanish>0", false),
        ("Spanish>=1", false),
        ("Spanish=3", false),
        ("Spanish<5", true),
        ("Spanish<=8", true),
        ("Spanish=0", true),
        ("Spanish!=3", true),
        ("!Spanish>0", true),
    ] {
        assert_eq!(skill(src).eval(&none), expected, "{src}");
    }
}

#[test]
fn statistics_terms() {
    let e = skill("$(StatAgentLoggedIn)=1&English>2");
    assert_eq!(e.to_string(), "$(StatAgentLoggedIn)=1&English>2");
    assert_eq!(e.skills(), vec!["English"]);
    let skills = |_: &str| Some(3);
    assert!(e.eval_with(&skills, &|s| (s == "StatAgentLoggedIn").then_some(1)));
    assert!(!e.eval(&skills), "an absent statistic counts as 0");
}

#[test]
fn display_round_trips() {
    for src in [
        "English=20&Loans>=2",
        "(a=1|b=1)&c=1",
        "a=1|(b=1&c=1)",
        "!(a=1|b=1)",
        "!!a>0",
        "Español>=2",
        "$(StatAgentsReady)>0",
    ] {
        let e = skill(src);
        assert_eq!(e.to_string(), src);
        assert_eq!(skill(&e.to_string()), e);
    }
}

#[test]
fn malformed_skill_expressions() {
    for (src, message, column) in [
        ("English=2.5", "decimal level '2.5' is not supported at column 8 (URS compares whole numbers)", 8),
        ("English", "expected a comparison after 'English' but found end of expression at column 7 (one of =, !=, <, <=, >, >=)", 7),
        ("English=", "expected an integer level after '=' but found end of expression at column 8", 8),
        ("(English=2", "unclosed '(' at column 0 (expected a matching ')')", 0),
        ("English=2)", "unexpected ')' without a matching '(' at column 9", 9),
        ("English=2 Loans=1", "unexpected 'L' at column 10 (expected '&', '|' or the end of the expression)", 10),
        ("2English=1", "expected a skill name but found '2' at column 0 (a letter or '_', then letters, digits or '_'; or '$(statistic)', '!' or '(')", 0),
        ("$()=1", "expected a statistic name after '$(' but found ')' at column 2", 2),
        ("$(Ready=1", "expected ')' to close '$(' but found '=' at column 7", 7),
        ("English=99999999999999999999", "level '99999999999999999999' is out of range at column 8", 8),
        ("a=1&", "expected a skill name but found end of expression at column 4 (a letter or '_', then letters, digits or '_'; or '$(statistic)', '!' or '(')", 4),
    ] {
        let e = SkillExpr::parse(src).expect_err(src);
        assert_eq!(e.to_string(), message, "{src}");
        assert_eq!(e.column, column, "{src}");
    }
    let long = format!("{}=1", "s".repeat(127));
    assert_eq!(
        SkillExpr::parse(&long).expect_err("long name").to_string(),
        "skill name is 127 bytes long; at most 126 are allowed at column 0"
    );
    let deep = format!("{}a=1{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(
        SkillExpr::parse(&deep).expect_err("deep").to_string(),
        "skill expression nests '(' and '!' more than 32 deep at column 32"
    );
}

#[test]
fn long_chains_do_not_recurse() {
    let src = vec!["a=1"; 1000].join("&");
    let e = skill(&src);
    assert!(e.eval(&|_| Some(1)));
    assert!(!e.eval(&|_| None));
}

// ---------------------------------------------------------------- the `_target` list

#[test]
fn a_plain_target_is_a_one_entry_list() {
    let l = list("Customer_Service@Stat_Server.GA");
    assert_eq!(l.len(), 1);
    let e = &l.entries()[0];
    assert_eq!(e.target, target("Customer_Service@Stat_Server.GA"));
    assert_eq!(e.timeout_secs, None);
    assert!(!e.clear);
    assert_eq!(e.skip_if, None);
}

#[test]
fn parses_the_help_example_shape() {
    // The help writes timeout and stat_value as strings.
    let l = list(
        r#"[{ "target": "Billing@StatServer.GA", "timeout": "30", "clear": true,
              "stat_to_check": "RStatAgentsReady", "stat_operator": "<", "stat_value": "1" },
            { "target": "?:English=20&Loans=2@StatServer.GA", "timeout": 60 }]"#,
    );
    assert_eq!(l.len(), 2);
    let first = &l.entries()[0];
    assert_eq!(first.timeout_secs, Some(30));
    assert!(first.clear);
    let check = first.skip_if.as_ref().expect("stat check");
    assert_eq!(check.stat, StatKind::AgentsReady);
    assert_eq!(check.operator, StatOperator::Less);
    assert_eq!(check.value, 1.0);
    assert_eq!(l.entries()[1].timeout_secs, Some(60));
    assert_eq!(l.total_timeout_secs(), 30);
}

#[test]
fn list_validation_messages() {
    let entry = |n: usize| format!(r#"{{"target":"G{n}@Stat.GA","timeout":10}}"#);
    let many = format!("[{}]", (0..16).map(entry).collect::<Vec<_>>().join(","));
    bad_list(
        &many,
        "the target list has 16 entries; at most 15 are allowed",
    );
    let fifteen = format!(
        "[{}]",
        (0..MAX_TARGETS).map(entry).collect::<Vec<_>>().join(",")
    );
    assert_eq!(list(&fifteen).len(), 15);

    bad_list("[]", "the target list is empty (expected 1 to 15 entries)");
    bad_list(
        "[1]",
        r#"_target[0] must be an object with a "target" key, not 1"#,
    );
    bad_list(
        r#"[{"target":"A@S.GA","timout":10},{"target":"B@S.GA"}]"#,
        r#"_target[0] has unknown key "timout" (expected target, timeout, clear, stat_to_check, stat_operator or stat_value)"#,
    );
    bad_list(r#"[{"timeout":10}]"#, r#"_target[0] is missing "target""#);
    bad_list(
        r#"[{"target":5}]"#,
        "_target[0].target must be a string, not 5",
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":-5},{"target":"B@S.GA"}]"#,
        "_target[0].timeout must be a whole number of seconds (0 or more), not -5",
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":"1.5"},{"target":"B@S.GA"}]"#,
        r#"_target[0].timeout must be a whole number of seconds (0 or more), not "1.5""#,
    );
    bad_list(
        r#"[{"target":"A@S.GA"},{"target":"B@S.GA"}]"#,
        r#"_target[0] is missing "timeout" (seconds to wait before switching to the next target)"#,
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":5,"clear":"yes"},{"target":"B@S.GA"}]"#,
        r#"_target[0].clear must be true or false, not "yes""#,
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":5,"stat_to_check":"RStatAgentsReady","stat_operator":">=","stat_value":1},{"target":"B@S.GA"}]"#,
        r#"_target[0].stat_operator must be "<" or ">", not ">=""#,
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":5,"stat_to_check":"RStatAgentsReady"},{"target":"B@S.GA"}]"#,
        r#"_target[0] is missing "stat_operator", "stat_value" (stat_to_check, stat_operator and stat_value go together)"#,
    );
    bad_list(
        r#"[{"target":"A@S.GA","timeout":5,"stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":"one"},{"target":"B@S.GA"}]"#,
        r#"_target[0].stat_value must be a number, not "one""#,
    );
    bad_list(
        r#"[{"target":"?:English>1@S.GA","timeout":5,"stat_to_check":"StatCallsAnswered","stat_operator":"<","stat_value":1},{"target":"B@S.GA"}]"#,
        r#"_target[0].stat_to_check "StatCallsAnswered" cannot be used with a skill-expression target (expected RStatAgentsReady, RStatAgentsReadyvoice or RStatAgentsTotal)"#,
    );
    // A bad target inside the list keeps its column.
    let e = TargetList::parse(r#"[{"target":"A@S.GA","timeout":5},{"target":"B@S.GX"}]"#)
        .expect_err("bad entry target");
    assert_eq!(
        e.to_string(),
        "_target[1].target: unknown target type 'GX' at column 4 (expected A, AP, GA, GP or GC)"
    );
    assert_eq!(e.entry(), Some(1));
    assert_eq!(e.column(), Some(4));
    assert!(matches!(
        TargetList::parse("[{"),
        Err(TargetError::List { entry: None, .. })
    ));
}

// ---------------------------------------------------------------- escalation

/// Statistics that report `ready` agents for every target named in `zero_ready`, else 5.
fn ready_except(zero_ready: &'static [&'static str]) -> impl Fn(&Target, &StatKind) -> f64 {
    move |t: &Target, _: &StatKind| {
        if zero_ready.contains(&t.name.as_str()) {
            0.0
        } else {
            5.0
        }
    }
}

const THREE: &str = r#"[
    {"target":"First@Stat.GA","timeout":30},
    {"target":"Second@Stat.GA","timeout":60},
    {"target":"Third@Stat.GA","timeout":10}
]"#;

#[test]
fn targets_accumulate_when_clear_is_false() {
    let esc = Escalation::new(list(THREE), 1_000);
    let stats = ready_except(&[]);
    assert_eq!(names(&esc.current(1_000, &stats)), ["First"]);
    assert_eq!(names(&esc.current(30_999, &stats)), ["First"]);
    assert_eq!(names(&esc.current(31_000, &stats)), ["First", "Second"]);
    assert_eq!(
        names(&esc.current(91_000, &stats)),
        ["First", "Second", "Third"]
    );
    // The last entry's timeout is ignored: it stays for good.
    assert_eq!(
        names(&esc.current(10_000_000, &stats)),
        ["First", "Second", "Third"]
    );
}

#[test]
fn clear_true_replaces_the_targets_when_leaving_the_entry() {
    let l = list(
        r#"[
        {"target":"First@Stat.GA","timeout":30,"clear":true},
        {"target":"Second@Stat.GA","timeout":60},
        {"target":"Third@Stat.GA"}
    ]"#,
    );
    let esc = Escalation::new(l, 0);
    let stats = ready_except(&[]);
    assert_eq!(names(&esc.current(0, &stats)), ["First"]);
    assert_eq!(names(&esc.current(30_000, &stats)), ["Second"]);
    assert_eq!(names(&esc.current(90_000, &stats)), ["Second", "Third"]);
}

#[test]
fn a_met_stat_check_skips_the_entry_at_once() {
    let l = list(
        r#"[
        {"target":"First@Stat.GA","timeout":30,
         "stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":1},
        {"target":"Second@Stat.GA","timeout":60},
        {"target":"Third@Stat.GA"}
    ]"#,
    );
    let esc = Escalation::new(l.clone(), 0);
    // Nobody ready in First: Second is used from t=0, and its own timeout runs from t=0.
    let stats = ready_except(&["First"]);
    assert_eq!(names(&esc.current(0, &stats)), ["Second"]);
    assert_eq!(names(&esc.current(59_999, &stats)), ["Second"]);
    assert_eq!(names(&esc.current(60_000, &stats)), ["Second", "Third"]);

    // Agents ready in First: the check is not met, First is used for its 30 s.
    let esc = Escalation::new(l, 0);
    let stats = ready_except(&[]);
    assert_eq!(names(&esc.current(0, &stats)), ["First"]);
    assert_eq!(names(&esc.current(30_000, &stats)), ["First", "Second"]);
}

#[test]
fn a_skip_at_a_switch_moves_on_at_the_same_instant() {
    let l = list(
        r#"[
        {"target":"First@Stat.GA","timeout":30},
        {"target":"Second@Stat.GA","timeout":60,"clear":true,
         "stat_to_check":"RStatAgentsReadyvoice","stat_operator":"<","stat_value":1},
        {"target":"Third@Stat.GA"}
    ]"#,
    );
    let esc = Escalation::new(l, 0);
    let stats = ready_except(&["Second"]);
    assert_eq!(names(&esc.current(29_999, &stats)), ["First"]);
    // Second is skipped, so neither its target nor its clear applies: First's clear=false adds
    // Third.
    assert_eq!(names(&esc.current(30_000, &stats)), ["First", "Third"]);
}

#[test]
fn the_last_entry_is_never_skipped() {
    let l = list(
        r#"[
        {"target":"First@Stat.GA","timeout":30,"clear":true,
         "stat_to_check":"RStatAgentsTotal","stat_operator":"<","stat_value":1},
        {"target":"Last@Stat.GA",
         "stat_to_check":"RStatAgentsTotal","stat_operator":"<","stat_value":1}
    ]"#,
    );
    let esc = Escalation::new(l, 0);
    let stats = ready_except(&["First", "Last"]);
    assert_eq!(names(&esc.current(0, &stats)), ["Last"]);
    assert_eq!(esc.next_change(0), Some(30_000));
    let single = Escalation::new(list("Only@Stat.GA"), 0);
    assert_eq!(names(&single.current(5, &stats)), ["Only"]);
    assert_eq!(single.next_change(0), None);
}

#[test]
fn greater_than_checks_and_other_statistics() {
    let l = list(
        r#"[
        {"target":"Busy@Stat.GA","timeout":30,
         "stat_to_check":"StatCallsWaiting","stat_operator":">","stat_value":"10"},
        {"target":"Overflow@Stat.GA"}
    ]"#,
    );
    let esc = Escalation::new(l, 0);
    let waiting = |n: f64| {
        move |_: &Target, s: &StatKind| {
            assert_eq!(s, &StatKind::Other("StatCallsWaiting".into()));
            n
        }
    };
    assert_eq!(names(&esc.current(0, &waiting(11.0))), ["Overflow"]);
    assert_eq!(names(&esc.current(0, &waiting(10.0))), ["Busy"]);
}

#[test]
fn next_change_for_timers() {
    let esc = Escalation::new(list(THREE), 1_000);
    assert_eq!(esc.next_change(0), Some(31_000));
    assert_eq!(esc.next_change(1_000), Some(31_000));
    assert_eq!(esc.next_change(30_999), Some(31_000));
    assert_eq!(esc.next_change(31_000), Some(91_000));
    assert_eq!(esc.next_change(91_000), None);
}

#[test]
fn advance_commits_decisions() {
    let l = list(
        r#"[
        {"target":"First@Stat.GA","timeout":30,
         "stat_to_check":"RStatAgentsReady","stat_operator":"<","stat_value":1},
        {"target":"Second@Stat.GA","timeout":60},
        {"target":"Third@Stat.GA"}
    ]"#,
    );
    let mut esc = Escalation::new(l, 0);
    // At t=0 nobody is ready in First: it is skipped, and the timer is for Second's timeout.
    assert_eq!(esc.advance(0, &ready_except(&["First"])), Some(60_000));
    assert_eq!(esc.position(), 1);
    assert_eq!(names(&esc.active()), ["Second"]);
    // Agents becoming ready in First later does not bring it back.
    let stats = ready_except(&[]);
    assert_eq!(names(&esc.current(10_000, &stats)), ["Second"]);
    assert_eq!(esc.next_change(10_000), Some(60_000));
    assert_eq!(esc.advance(60_000, &stats), None);
    assert_eq!(names(&esc.active()), ["Second", "Third"]);
}

#[test]
fn zero_timeouts_and_repeated_targets() {
    let l = list(
        r#"[
        {"target":"A@Stat.GA","timeout":0},
        {"target":"A@Stat.GA","timeout":0},
        {"target":"B@Stat.GA"}
    ]"#,
    );
    let esc = Escalation::new(l, 0);
    assert_eq!(names(&esc.current(0, &ready_except(&[]))), ["A", "B"]);
}

#[test]
fn huge_timeouts_do_not_overflow() {
    let l =
        list(r#"[{"target":"A@Stat.GA","timeout":18446744073709551615},{"target":"B@Stat.GA"}]"#);
    let esc = Escalation::new(l, i64::MAX - 5);
    assert_eq!(
        names(&esc.current(i64::MAX, &ready_except(&[]))),
        ["A", "B"]
    );
    assert_eq!(esc.next_change(0), Some(i64::MAX));
}

#[test]
fn no_input_panics() {
    // Every prefix and suffix of awkward inputs (multi-byte characters, stray operators) is
    // either parsed or rejected with an error.
    for s in [
        "?:Español>=2&(Ünïcode<3|!$(Stat)!=1)@Stät.GA",
        "é@é.é",
        "?:((((!!!)))&|<=>=@@..",
        "[{\"target\":\"é@S.GA\",\"timeout\":\"é\"}]",
    ] {
        for (i, _) in s.char_indices() {
            let _ = Target::parse(&s[i..]);
            let _ = Target::parse(&s[..i]);
            let _ = SkillExpr::parse(&s[i..]);
            let _ = TargetList::parse(&s[..i]);
        }
    }
}
