//! The Pattern Matcher: Java regular expressions with whole-value semantics, answering
//! parameter → pattern name as GMS does.

// A failed unwrap is a failed test, with the value in its message.
#![allow(clippy::unwrap_used)]

use engine::config::Config;
use engine::patterns::{Pattern, PatternError, PatternGroup, PatternGroups};

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn group(pairs: &[(&str, &str)]) -> PatternGroup {
    match PatternGroup::compile(&options(pairs)) {
        Ok(group) => group,
        Err(errors) => panic!("patterns do not compile: {errors:?}"),
    }
}

fn matched(group: &PatternGroup, params: &[(&str, &str)]) -> Vec<(String, String)> {
    group.match_params(&options(params))
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    options(pairs)
}

/// Genesys' own test (Patterns_NewUI_Tests test19): only the matching parameters come back,
/// each mapped to the name of the pattern it matched.
#[test]
fn answers_parameter_to_pattern_name_for_matching_parameters_only() {
    let emails = group(&[(
        "Email",
        r"^[_A-Za-z0-9-]+(\.[_A-Za-z0-9-]+)*@[A-Za-z0-9]+(\.[A-Za-z0-9]+)*(\.)((net)||(com))$",
    )]);
    assert_eq!(
        matched(
            &emails,
            &[
                ("param1", "a@int.com"),
                ("param2", "a@.com"),
                ("param3", "a.b@int.net")
            ]
        ),
        owned(&[("param1", "Email"), ("param3", "Email")])
    );
}

/// Genesys' test20/21/22 patterns, with Java's empty alternatives (`||`).
#[test]
fn genesys_time_date_and_ip_patterns() {
    let g = group(&[
        ("Time", r"^(([0-9])||(1[012])):[0-5][0-9]\s[aApP][mM]$"),
        (
            "Date",
            r"^(([1-9])||([012][1-9])||(3[01]))/(((0[1-9])||([1-9]))||(1[012]))/((19[0-9][0-9])||(20[0-9][0-9]))$",
        ),
        (
            "IP",
            r"^((\d)||([1-9]\d)||(1\d\d)||(2[0-4]\d)||(25[0-5]))\.((\d)||([1-9]\d)||(1\d\d)||(2[0-4]\d)||(25[0-5]))\.((\d)||([1-9]\d)||(1\d\d)||(2[0-4]\d)||(25[0-5]))\.((\d)||([1-9]\d)||(1\d\d)||(2[0-4]\d)||(25[0-5]))$",
        ),
    ]);
    assert_eq!(
        matched(
            &g,
            &[
                ("t1", "10:59 am"),
                ("t2", "13:11 Am"),
                ("t3", "0:01 pM"),
                ("d1", "01/01/2000"),
                ("d2", "01/13/1999"),
                ("d3", "1/1/1995"),
                ("i1", "135.17.36.255"),
                ("i2", "135.17.36.256"),
                ("i3", "1.0.0.1"),
            ]
        ),
        owned(&[
            ("t1", "Time"),
            ("t3", "Time"),
            ("d1", "Date"),
            ("d3", "Date"),
            ("i1", "IP"),
            ("i3", "IP"),
        ])
    );
}

#[test]
fn the_whole_value_must_match_as_with_java_string_matches() {
    let g = group(&[("local", r"\d{3}-\d{4}")]);
    assert_eq!(g.matching_pattern("555-1234"), Some("local"));
    assert_eq!(g.matching_pattern("call 555-1234"), None);
    assert_eq!(g.matching_pattern("555-12345"), None);
    assert_eq!(g.matching_pattern("555-1234\n"), None);
    // Alternation binds inside the implicit anchors: `a|b` does not match "ab".
    let alternatives = group(&[("ab", "a|b")]);
    assert_eq!(alternatives.matching_pattern("ab"), None);
    assert_eq!(alternatives.matching_pattern("b"), Some("ab"));
}

#[test]
fn first_pattern_in_configuration_order_names_the_match() {
    let g = group(&[("emergency", "911|112"), ("digits", r"\d+")]);
    assert_eq!(
        matched(&g, &[("a", "911"), ("b", "5551234"), ("c", "hello")]),
        owned(&[("a", "emergency"), ("b", "digits")])
    );
}

#[test]
fn customer_number_is_matched_with_a_plus_prefix() {
    let g = group(&[("e164", r"\+\d{6,15}")]);
    assert_eq!(
        matched(
            &g,
            &[
                ("_customer_number", "16504661100"),
                ("other_number", "16504661100"),
            ]
        ),
        owned(&[("_customer_number", "e164")])
    );
    // Already prefixed: not doubled.
    assert_eq!(
        matched(&g, &[("_customer_number", "+16504661100")]),
        owned(&[("_customer_number", "e164")])
    );
}

#[test]
fn java_features_lookaround_backreferences_and_possessive_quantifiers() {
    let g = group(&[
        ("repeated", r"(\w+) \1"),
        ("no_premium", r"(?!\+1900)\+1\d{10}"),
        ("after_dollar", r".*(?<=\$)\d+"),
        ("possessive", r"a++b"),
        ("atomic", r"(?>x+)y"),
    ]);
    assert_eq!(g.matching_pattern("hello hello"), Some("repeated"));
    assert_eq!(g.matching_pattern("+16504661100"), Some("no_premium"));
    assert_eq!(g.matching_pattern("+19005551234"), None);
    assert_eq!(g.matching_pattern("cost $42"), Some("after_dollar"));
    assert_eq!(g.matching_pattern("aaab"), Some("possessive"));
    assert_eq!(g.matching_pattern("xxy"), Some("atomic"));
    // A possessive quantifier never gives back: `a*+a` cannot match.
    let greedy = group(&[("never", "a*+a")]);
    assert_eq!(greedy.matching_pattern("aaa"), None);
}

#[test]
fn java_character_classes_are_ascii_unless_unicode_is_asked_for() {
    let ascii = group(&[("digits", r"\d+")]);
    // U+0661 ARABIC-INDIC DIGIT ONE is a digit for Rust's `\d`, not for Java's.
    assert_eq!(ascii.matching_pattern("\u{661}\u{662}"), None);
    assert_eq!(ascii.matching_pattern("12"), Some("digits"));
    let unicode = group(&[("digits", r"(?U)\d+")]);
    assert_eq!(unicode.matching_pattern("\u{661}\u{662}"), Some("digits"));

    let posix = group(&[("lower", r"\p{Lower}+"), ("punct", r"[\p{Punct}]+")]);
    assert_eq!(posix.matching_pattern("abc"), Some("lower"));
    assert_eq!(posix.matching_pattern("é"), None);
    assert_eq!(posix.matching_pattern("!?-["), Some("punct"));

    let java = group(&[("lower", r"\p{javaLowerCase}+"), ("latin", r"\p{IsLatin}+")]);
    assert_eq!(java.matching_pattern("éà"), Some("lower"));
    assert_eq!(java.matching_pattern("ÉA"), Some("latin"));
    let negated = group(&[("not_lower", r"\P{javaLowerCase}+")]);
    assert_eq!(negated.matching_pattern("ÉA"), Some("not_lower"));
}

#[test]
fn java_escapes_are_translated() {
    let g = group(&[
        ("quoted", r"\Q1+1=2?\E!"),
        ("unicode", r"caf\u00e9"),
        ("octal", r"\0101\x42"),
        ("control", r"a\cIb"),
        ("horizontal", r"x\hy"),
        ("line_break", r"one\Rtwo"),
        ("flags", r"(?iu)HELLO"),
    ]);
    assert_eq!(g.matching_pattern("1+1=2?!"), Some("quoted"));
    assert_eq!(g.matching_pattern("café"), Some("unicode"));
    assert_eq!(g.matching_pattern("AB"), Some("octal"));
    assert_eq!(g.matching_pattern("a\tb"), Some("control"));
    assert_eq!(g.matching_pattern("x\u{a0}y"), Some("horizontal"));
    assert_eq!(g.matching_pattern("one\r\ntwo"), Some("line_break"));
    assert_eq!(g.matching_pattern("hello"), Some("flags"));
}

#[test]
fn every_invalid_pattern_is_reported_with_its_name() {
    let errors = PatternGroup::compile(&options(&[
        ("fine", r"\d+"),
        ("unclosed", "(abc"),
        ("block", r"\p{InGreek}"),
        ("surrogate", r"\uD800"),
    ]))
    .unwrap_err();
    let names: Vec<&str> = errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["unclosed", "block", "surrogate"]);
    assert_eq!(errors[0].pattern, "(abc");
    assert!(
        errors[0]
            .to_string()
            .starts_with("pattern `unclosed` (`(abc`): "),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[1],
        PatternError {
            name: "block".to_owned(),
            pattern: r"\p{InGreek}".to_owned(),
            message: r"Unicode blocks (`\p{InGreek}`) are not supported; use a script (`\p{IsGreek}`) or a range".to_owned(),
        }
    );
    assert_eq!(errors[2].message, "unpaired surrogate in `\\u` escape");
}

/// `(a+)+b` on "aaaa…c" takes exponential time in a naive backtracker. Without look-around
/// or back-references it runs on the regex crate's linear engine; with them, the backtrack
/// limit ends the attempt and the value counts as not matching. Either way the call returns.
#[test]
fn catastrophic_backtracking_returns_promptly() {
    let evil = format!("{}c", "a".repeat(5000));
    let linear = Pattern::compile("nested", "(a+)+b").unwrap();
    assert!(!linear.matches(&evil));

    let backtracking = Pattern::compile("nested_with_backref", r"(a|a)+(?=b)\1?b").unwrap();
    assert!(!backtracking.matches(&evil));
    // The same pattern still matches where it should.
    assert!(backtracking.matches("aaab"));

    let g = group(&[("evil", r"(x+x+)+(?=y)y"), ("ok", "x+z")]);
    let value = format!("{}z", "x".repeat(40));
    assert_eq!(g.matching_pattern(&value), Some("ok"));
}

#[test]
fn groups_from_configuration() {
    let (config, _) = Config::parse(
        "[patterns.emergency]\n911 = \\+?911\n\n[patterns.contact]\nemail = [\\w.]+@[\\w.]+\nphone = \\+?\\d{7,15}\n\n[patterns.broken]\nbad = (\n",
    )
    .unwrap();
    let (groups, errors) = PatternGroups::compile(config.pattern_groups());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "broken");
    assert_eq!(errors[0].1.name, "bad");
    assert!(groups.group("broken").is_none());
    let names: Vec<&str> = groups.groups().map(|(n, _)| n).collect();
    assert_eq!(names, ["emergency", "contact"]);

    // The documented answer shape: {"param3":"911","param2":"email"}.
    let params = options(&[
        ("param1", "hello"),
        ("param2", "someone@example.com"),
        ("param3", "911"),
    ]);
    assert_eq!(
        groups.match_params(&params),
        owned(&[("param2", "email"), ("param3", "911")])
    );
    let contact = groups.group("contact").unwrap();
    assert_eq!(contact.match_params(&params), owned(&[("param2", "email")]));
}

#[test]
fn sample_configuration_patterns_compile() {
    let config = Config::sample();
    let (groups, errors) = PatternGroups::compile(config.pattern_groups());
    assert!(errors.is_empty(), "{errors:?}");
    let default = groups.group("default").unwrap();
    assert_eq!(default.matching_pattern("555-1234"), Some("local_number"));
    assert_eq!(
        default.matching_pattern("jane.doe@example.com"),
        Some("email")
    );
    assert_eq!(
        default.match_params(&options(&[("_customer_number", "911")])),
        owned(&[("_customer_number", "emergency")])
    );
}
