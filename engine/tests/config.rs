//! GMS-style configuration: parsing, warnings, errors with line numbers, round trips and the
//! embedded sample.

// A failed unwrap is a failed test, with the value in its message.
#![allow(clippy::unwrap_used)]

use engine::config::{Config, ConfigError, EditError, ServerConfig, Warning};

fn parse(text: &str) -> (Config, Vec<Warning>) {
    match Config::parse(text) {
        Ok(parsed) => parsed,
        Err(error) => panic!("does not parse: {error}"),
    }
}

fn pairs(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn sections_options_comments_and_blank_lines() {
    let (config, warnings) = parse(
        "# leading comment\n\
         ; another comment\n\
         \n\
         [server]\n\
         node_id = 7\n\
         listen=0.0.0.0:9090\n\
         \n\
         [service.get]\n\
         \t_type = builtin \n\
         _service =get\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.get("server", "node_id"), Some("7"));
    assert_eq!(config.get("server", "listen"), Some("0.0.0.0:9090"));
    assert_eq!(config.get("service.get", "_type"), Some("builtin"));
    assert_eq!(config.get("service.get", "_service"), Some("get"));
    assert_eq!(config.get("service.get", "missing"), None);
    assert_eq!(config.get("missing", "_type"), None);
    let names: Vec<&str> = config.sections().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["server", "service.get"]);
}

#[test]
fn values_are_verbatim_after_trimming() {
    let (config, warnings) = parse(
        "[service.capacity]\n\
         _capacity_1 = {\"1\":{\"0000\":1,\"0100\":3}}\n\
         _bh_regular1 = Mon-Fri 08:00-18:00\n\
         _eta_pos_threshold = 0:10,10:5,20:2\n\
         _formula = a=b # not a comment\n\
         _quoted = \"kept\"\n\
         _empty =\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let get = |k| config.get("service.capacity", k);
    assert_eq!(get("_capacity_1"), Some(r#"{"1":{"0000":1,"0100":3}}"#));
    assert_eq!(get("_bh_regular1"), Some("Mon-Fri 08:00-18:00"));
    assert_eq!(get("_eta_pos_threshold"), Some("0:10,10:5,20:2"));
    assert_eq!(get("_formula"), Some("a=b # not a comment"));
    assert_eq!(get("_quoted"), Some("\"kept\""));
    assert_eq!(get("_empty"), Some(""));
}

#[test]
fn duplicate_key_keeps_the_last_value_and_warns() {
    let (config, warnings) = parse("[push]\npushEnabled = gcm\npushEnabled = comet\n");
    assert_eq!(config.get("push", "pushEnabled"), Some("comet"));
    assert_eq!(config.section("push").map(<[_]>::len), Some(1));
    assert_eq!(
        warnings,
        [Warning {
            line: 3,
            message: "option `pushEnabled` in [push] is set again; the last value wins".to_owned()
        }]
    );
}

#[test]
fn repeated_section_is_merged_with_a_warning() {
    let (config, warnings) = parse("[server]\na = 1\n[push]\nb = 2\n[server]\nc = 3\n");
    assert_eq!(
        config.section("server"),
        Some(pairs(&[("a", "1"), ("c", "3")]).as_slice())
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 5);
}

#[test]
fn gms_option_spellings_load_as_they_are() {
    let (config, warnings) = parse(
        "[callback]\nqueue-polling-rate = 60\nqueue-polling-rate-recover = 3600\n\
         log-background-activity = false\n[server]\nweb_port = 8080\n\
         [push]\npushEnabled = comet\n[cview]\nfilter-keys = _customer_number\n\
         returned-keys = _customer_number,_desired_time\n",
    );
    assert_eq!(warnings, []);
    assert_eq!(config.get("callback", "queue-polling-rate"), Some("60"));
    assert_eq!(
        config.get("callback", "log-background-activity"),
        Some("false")
    );
    assert_eq!(
        config.get("cview", "returned-keys"),
        Some("_customer_number,_desired_time")
    );
}

#[test]
fn non_identifier_service_option_names_are_kept_with_a_warning() {
    let (config, warnings) = parse(
        "[service.cb]\n_type = ors\nmy-option = 30\n[patterns.default]\n!@#$ = x\n911 = 911\n",
    );
    assert_eq!(config.get("service.cb", "my-option"), Some("30"));
    assert_eq!(config.get("patterns.default", "!@#$"), Some("x"));
    // Pattern names are free-form labels: no warning for them.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, 3);
    assert!(warnings[0].message.contains("`my-option`"));
}

#[test]
fn key_before_any_section_is_an_error_with_its_line() {
    let error = Config::parse("# comment\n\nnode_id = 1\n[server]\n").unwrap_err();
    assert_eq!(
        error,
        ConfigError {
            line: 3,
            message: "option `node_id` appears before any [section]".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "line 3: option `node_id` appears before any [section]"
    );
}

#[test]
fn malformed_lines_are_errors_with_their_line() {
    let cases = [
        (
            "[server]\nlisten\n",
            2,
            "expected `[section]` or `key = value`, found `listen`",
        ),
        (
            "[server]\n = value\n",
            2,
            "option without a name before `=`",
        ),
        (
            "[server\n",
            1,
            "section header `[server` is missing its closing `]`",
        ),
        ("[ok]\n[]\n", 2, "invalid section name in `[]`"),
        ("[ok]\n[a]b]\n", 2, "invalid section name in `[a]b]`"),
    ];
    for (text, line, message) in cases {
        let error = Config::parse(text).unwrap_err();
        assert_eq!(
            (error.line, error.message.as_str()),
            (line, message),
            "{text:?}"
        );
    }
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let (config, _) = parse("\u{feff}[server]\r\nnode_id = 2\r\n");
    assert_eq!(config.get("server", "node_id"), Some("2"));
}

#[test]
fn to_ini_round_trips() {
    let text = "[server]\nnode_id=3\n# gone after a round trip\n[service.capacity]\n_capacity_1 = {\"1\":{\"0900\":5}}\n_empty =\n[empty]\n";
    let (config, _) = parse(text);
    let written = config.to_ini();
    assert_eq!(
        written,
        "[server]\nnode_id = 3\n\n[service.capacity]\n_capacity_1 = {\"1\":{\"0900\":5}}\n_empty =\n\n[empty]\n"
    );
    let (again, warnings) = parse(&written);
    assert!(warnings.is_empty());
    assert_eq!(again, config);
}

#[test]
fn editing_sections() {
    let mut config = Config::default();
    config
        .set_section(
            "service.hello",
            pairs(&[
                ("_type", "ors"),
                ("_service", "hello"),
                ("_type", "builtin"),
            ]),
        )
        .unwrap();
    assert_eq!(
        config.section("service.hello"),
        Some(pairs(&[("_type", "builtin"), ("_service", "hello")]).as_slice())
    );
    config.set("service.hello", "_ttl", "30").unwrap();
    config.set("push", "pushEnabled", "comet").unwrap();
    assert_eq!(config.get("service.hello", "_ttl"), Some("30"));
    assert_eq!(config.get("push", "pushEnabled"), Some("comet"));

    config
        .set_section("service.hello", pairs(&[("_type", "builtin")]))
        .unwrap();
    assert_eq!(config.section("service.hello").map(<[_]>::len), Some(1));

    assert_eq!(
        config.remove_section("push"),
        Some(pairs(&[("pushEnabled", "comet")]))
    );
    assert_eq!(config.remove_section("push"), None);
    assert_eq!(config.section("push"), None);
}

#[test]
fn edits_that_would_break_the_ini_text_are_refused() {
    let mut config = Config::default();
    assert_eq!(
        config.set("a]b", "k", "v"),
        Err(EditError::SectionName("a]b".to_owned()))
    );
    assert_eq!(
        config.set("server", "k=v", "v"),
        Err(EditError::OptionName("k=v".to_owned()))
    );
    assert_eq!(
        config.set("server", "#k", "v"),
        Err(EditError::OptionName("#k".to_owned()))
    );
    assert_eq!(
        config.set("server", "k", "line1\nline2"),
        Err(EditError::Value("k".to_owned()))
    );
    assert_eq!(
        config.set_section("", Vec::new()),
        Err(EditError::SectionName(String::new()))
    );
    assert_eq!(config, Config::default());
}

#[test]
fn services_resource_groups_and_pattern_groups() {
    let (config, _) = parse(
        "[service.a]\n_type = builtin\n[service.]\nx = 1\n[services]\ny = 2\n[resources.DNIS]\nnumbers = 1, 2\n[patterns.p]\nn = x\n[service.b]\n_type = ors\n",
    );
    let services: Vec<&str> = config.services().map(|(n, _)| n).collect();
    assert_eq!(services, ["a", "b"]);
    assert_eq!(
        config.service("b"),
        Some(pairs(&[("_type", "ors")]).as_slice())
    );
    assert_eq!(config.service("c"), None);
    let groups: Vec<&str> = config.resource_groups().map(|(n, _)| n).collect();
    assert_eq!(groups, ["DNIS"]);
    let patterns: Vec<&str> = config.pattern_groups().map(|(n, _)| n).collect();
    assert_eq!(patterns, ["p"]);
}

#[test]
fn server_options_have_defaults() {
    assert_eq!(
        Config::default().server(),
        ServerConfig {
            username: None,
            password: None,
            node_id: "1".to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            external_url_base: None,
            access_code_prefix: None,
        }
    );
    let (config, _) = parse(
        "[server]\nusername = default\npassword =\nnode_id = 4\nlisten = 0.0.0.0:80\nexternal_url_base = http://gms:8080/genesys/\naccess_code_prefix = 12\n",
    );
    let server = config.server();
    assert_eq!(server.username.as_deref(), Some("default"));
    // An empty password is no password: authentication stays off.
    assert_eq!(server.password, None);
    assert_eq!(server.node_id, "4");
    assert_eq!(server.listen, "0.0.0.0:80");
    assert_eq!(
        server.external_url_base.as_deref(),
        Some("http://gms:8080/genesys/")
    );
    assert_eq!(server.access_code_prefix.as_deref(), Some("12"));
}

#[test]
fn sample_parses_without_warnings_and_round_trips() {
    let (config, warnings) = parse(engine::config::SAMPLE_INI);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config, Config::sample());
    let (again, _) = parse(&config.to_ini());
    assert_eq!(again, config);
}

#[test]
fn sample_has_the_services_a_fresh_server_needs() {
    let config = Config::sample();
    let server = config.server();
    assert_eq!(server.password, None, "no password by default");
    assert_eq!(config.get("push", "pushEnabled"), Some("comet"));
    assert!(config.section("callback").is_some());

    let services: Vec<(&str, Option<&str>)> = config
        .services()
        .map(|(name, options)| {
            let service = options
                .iter()
                .find(|(k, _)| k == "_service")
                .map(|(_, v)| v.as_str());
            (name, service)
        })
        .collect();
    for (name, service) in [
        ("request-interaction", "request-interaction"),
        ("request-access", "request-access"),
        ("match-interaction", "match-interaction"),
        ("get", "get"),
        ("business-hours", "office-hours"),
        ("capacity", "capacity"),
    ] {
        assert!(
            services.contains(&(name, Some(service))),
            "service.{name} with _service = {service} missing from {services:?}"
        );
        assert_eq!(
            config.get(&format!("service.{name}"), "_type"),
            Some("builtin")
        );
    }
    assert_eq!(config.get("service.get", "_online_code"), Some("200"));
    assert_eq!(config.get("service.get", "_offline_code"), Some("503"));
    assert_eq!(
        config.get("service.request-interaction", "_resource_group"),
        Some("DNIS")
    );
    assert_eq!(
        config.get("service.business-hours", "_timezone"),
        Some("America/Los_Angeles")
    );
    assert_eq!(
        config.get("service.business-hours", "_bh_regular1"),
        Some("Mon-Fri 08:00-18:00")
    );
    for day in 1..=5 {
        let key = format!("_capacity_{day}");
        let value = config.get("service.capacity", &key).unwrap();
        let json: serde_json::Value = serde_json::from_str(value).unwrap();
        assert!(json.get(day.to_string()).is_some(), "{key} = {value}");
    }

    let (group, options) = config.resource_groups().next().unwrap();
    assert_eq!(group, "DNIS");
    let get = |k: &str| {
        options
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("allocation"), Some("round-robin"));
    assert_eq!(get("_booking_expiration_timeout"), Some("30"));
    let numbers: Vec<&str> = get("numbers").unwrap().split(',').map(str::trim).collect();
    assert_eq!(numbers.len(), 10);
    assert!(numbers
        .iter()
        .all(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit())));

    assert!(config.pattern_groups().any(|(name, _)| name == "default"));
}

/// A service's charts read its options by name, so a service option must be an identifier;
/// node sections keep GMS's spelling (`[features] enable-resources`, `queue-polling-rate`).
#[test]
fn sample_service_option_names_are_ecmascript_identifiers() {
    for (section, options) in Config::sample().sections() {
        if !section.starts_with("service.") {
            continue;
        }
        for (key, _) in options {
            assert!(
                engine::config::is_ecmascript_identifier(key),
                "[{section}] {key}"
            );
        }
    }
}
