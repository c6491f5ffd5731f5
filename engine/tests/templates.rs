//! Service templates: the embedded templates, creating services from them, validating service
//! options, and uploading templates as zip archives.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use engine::templates::{
    is_valid_option_name, OptionKind, Origin, ServiceType, TemplateError, Templates,
    MAX_ARCHIVE_BYTES, MAX_ENTRY_BYTES,
};
use zip::write::SimpleFileOptions;

const BUILTIN_NAMES: [&str; 10] = [
    "get",
    "basic_get",
    "request-interaction",
    "request-access",
    "match-interaction",
    "request-chat",
    "urs-stat",
    "office-hours",
    "capacity",
    "callback",
];

const CALLBACK_PRESETS: [&str; 8] = [
    "User Terminated Immediate",
    "User Terminated Delayed",
    "User Terminated Scheduled",
    "User Terminated Delayed Agent Preview",
    "User Originated Immediate",
    "User Originated Delayed",
    "Chat Immediate",
    "Chat Delayed",
];

fn registry() -> Templates {
    match Templates::with_builtins() {
        Ok(t) => t,
        Err(e) => panic!("embedded templates do not load: {e}"),
    }
}

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn value<'a>(options: &'a [(String, String)], key: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn validation_errors(templates: &Templates, options: &[(String, String)]) -> Vec<TemplateError> {
    match templates.validate_service(options) {
        Ok(()) => Vec::new(),
        Err(errors) => errors,
    }
}

/// A zip of `(path, contents)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, contents) in entries {
        writer.start_file(*path, options).expect("start entry");
        writer.write_all(contents).expect("write entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

const HELLO_JSON: &str = r#"{
  "name": "hello",
  "type": "ors",
  "service": "hello.scxml",
  "description": "Says hello.",
  "options": [
    {"name": "_ttl", "default": "30", "description": "Lifetime.", "category": "General", "kind": "mandatory"},
    {"name": "_greeting", "default": "", "description": "Greeting text.", "category": "General", "kind": "mandatory"}
  ]
}"#;

const HELLO_SCXML: &[u8] = b"<scxml xmlns='http://www.w3.org/2005/07/scxml'/>";

#[test]
fn all_ten_embedded_templates_load() {
    let templates = registry();
    let names: Vec<String> = templates.list().iter().map(|t| t.name.clone()).collect();
    let mut expected: Vec<String> = BUILTIN_NAMES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
    for t in templates.list() {
        assert_eq!(t.origin, Origin::BuiltIn);
        let expected_type = if t.name == "callback" {
            ServiceType::Ors
        } else {
            ServiceType::Builtin
        };
        assert_eq!(t.service_type, expected_type, "type of {}", t.name);
    }
    let callback = templates.get("callback").expect("callback template");
    assert_eq!(callback.service, "user-terminated-immediate.scxml");
    // Every scenario's chart ships with the template.
    for chart in [
        "user-terminated-immediate.scxml",
        "user-terminated-delayed.scxml",
        "user-terminated-scheduled.scxml",
        "user-terminated-delayed-agent-preview.scxml",
        "user-originated-immediate.scxml",
        "user-originated-delayed.scxml",
        "chat-immediate.scxml",
        "chat-delayed.scxml",
    ] {
        assert!(callback.files.contains_key(chart), "{chart} is missing");
    }
}

#[test]
fn every_template_has_options_with_unique_valid_names() {
    for t in registry().list() {
        assert!(!t.options.is_empty(), "{} declares no options", t.name);
        let mut seen = HashSet::new();
        for option in &t.options {
            assert!(
                seen.insert(option.name.as_str()),
                "{} declares {} twice",
                t.name,
                option.name
            );
            assert!(
                is_valid_option_name(&option.name),
                "{}: '{}' is not an identifier",
                t.name,
                option.name
            );
            assert!(
                !option.description.is_empty(),
                "{}: '{}' has no description",
                t.name,
                option.name
            );
        }
        for preset in &t.presets {
            for key in preset.values.keys() {
                assert!(
                    t.option(key).is_some(),
                    "{} preset '{}' sets undeclared '{key}'",
                    t.name,
                    preset.name
                );
            }
        }
    }
}

#[test]
fn callback_has_exactly_the_eight_scenario_presets() {
    let templates = registry();
    let callback = templates.get("callback").expect("callback template");
    let names: Vec<&str> = callback.presets.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, CALLBACK_PRESETS);
    for t in templates.list().iter().filter(|t| t.name != "callback") {
        assert!(t.presets.is_empty(), "{} has presets", t.name);
    }
    assert!(
        callback.options.len() > 50,
        "callback declares only {} options",
        callback.options.len()
    );
}

#[test]
fn create_service_fills_defaults_then_preset_then_overrides() {
    let templates = registry();
    let service = templates
        .create_service(
            "callback",
            Some("User Terminated Immediate"),
            &opts(&[("_target", "Billing@StatServer.GA"), ("_ttl", "604800")]),
        )
        .expect("create callback service");

    assert_eq!(service[0], ("_type".to_owned(), "ors".to_owned()));
    assert_eq!(service[1], ("_service".to_owned(), "callback".to_owned()));
    // Defaults.
    assert_eq!(value(&service, "_request_time_bucket"), Some("5"));
    assert_eq!(
        value(&service, "_urs_prioritization_strategy"),
        Some("WaitForTarget")
    );
    // Preset values replace defaults.
    assert_eq!(value(&service, "_call_direction"), Some("USERTERMINATED"));
    assert_eq!(value(&service, "_wait_for_agent"), Some("false"));
    // Overrides win, and are added when new.
    assert_eq!(value(&service, "_ttl"), Some("604800"));
    assert_eq!(value(&service, "_target"), Some("Billing@StatServer.GA"));
    // Request parameters and empty defaults are not filled in.
    assert_eq!(value(&service, "_customer_number"), None);
    assert_eq!(value(&service, "_business_hours_service"), None);
    // Every name appears once.
    let names: HashSet<&str> = service.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names.len(), service.len());

    assert_eq!(templates.validate_service(&service), Ok(()));
}

#[test]
fn fresh_services_of_every_template_and_preset_validate() {
    let templates = registry();
    for t in templates.list() {
        let presets: Vec<Option<&str>> = std::iter::once(None)
            .chain(t.presets.iter().map(|p| Some(p.name.as_str())))
            .collect();
        for preset in presets {
            let service = templates
                .create_service(&t.name, preset, &[])
                .expect("create service");
            assert_eq!(
                validation_errors(&templates, &service),
                [],
                "{} / {preset:?}",
                t.name
            );
        }
    }
}

#[test]
fn create_service_rejects_unknown_template_preset_and_bad_override_names() {
    let templates = registry();
    assert_eq!(
        templates.create_service("nope", None, &[]),
        Err(TemplateError::UnknownTemplate("nope".to_owned()))
    );
    assert_eq!(
        templates.create_service("callback", Some("Carrier Pigeon"), &[]),
        Err(TemplateError::UnknownPreset {
            template: "callback".to_owned(),
            preset: "Carrier Pigeon".to_owned()
        })
    );
    assert_eq!(
        templates.create_service("get", None, &opts(&[("my-opt", "1")])),
        Err(TemplateError::InvalidOptionName {
            name: "my-opt".to_owned(),
            reason: "it contains '-'"
        })
    );
}

#[test]
fn validation_rejects_unknown_templates() {
    let templates = registry();
    assert_eq!(
        validation_errors(
            &templates,
            &opts(&[("_type", "builtin"), ("_service", "nope")])
        ),
        vec![TemplateError::UnknownBuiltin("nope".to_owned())]
    );
    let ors = |service: &str| {
        validation_errors(
            &templates,
            &opts(&[("_type", "ors"), ("_service", service)]),
        )
    };
    assert_eq!(
        ors("nope"),
        vec![TemplateError::UnknownOrsService("nope".to_owned())]
    );
    assert_eq!(
        ors("http://gms:8080/genesys/1/document/hello.scxml"),
        vec![]
    );
    assert_eq!(ors("hello.scxml"), vec![]);
    assert_eq!(
        ors("ftp://host/hello"),
        vec![TemplateError::UnknownOrsService(
            "ftp://host/hello".to_owned()
        )]
    );
    assert_eq!(
        validation_errors(
            &templates,
            &opts(&[("_type", "builtin"), ("_service", "callback")])
        ),
        vec![TemplateError::TypeMismatch {
            template: "callback".to_owned(),
            declared: "builtin",
            actual: "ors"
        }]
    );
    assert_eq!(
        validation_errors(&templates, &opts(&[("_type", "soap"), ("_service", "get")])),
        vec![TemplateError::InvalidType("soap".to_owned())]
    );
    assert_eq!(
        validation_errors(&templates, &opts(&[("_online_code", "200")])),
        vec![TemplateError::MissingService]
    );
    // `_type` left out: the template's own.
    assert_eq!(
        validation_errors(&templates, &opts(&[("_service", "callback")])),
        []
    );
    assert_eq!(
        validation_errors(&templates, &opts(&[("_service", "no-such-template")])),
        vec![TemplateError::UnknownOrsService(
            "no-such-template".to_owned()
        )]
    );
}

#[test]
fn validation_rejects_option_names_that_are_not_identifiers() {
    let templates = registry();
    let mut service = templates.create_service("get", None, &[]).expect("get");
    for bad in ["a.b", "my-opt", "1x", "class"] {
        service.push((bad.to_owned(), "v".to_owned()));
    }
    service.push(("$ok_name2".to_owned(), "v".to_owned()));
    let errors = validation_errors(&templates, &service);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "option name 'a.b' is not a valid ECMAScript identifier: it contains '.'",
            "option name 'my-opt' is not a valid ECMAScript identifier: it contains '-'",
            "option name '1x' is not a valid ECMAScript identifier: it starts with a digit",
            "option name 'class' is not a valid ECMAScript identifier: it is an ECMAScript reserved word",
        ]
    );
}

#[test]
fn a_section_as_gms_writes_it_validates_without_the_options_it_leaves_out() {
    // A callback section from a GMS configuration: no `_ttl`, `_media_type`... (the template's
    // defaults apply), a mandatory option left empty, GMS option names as they are.
    let templates = registry();
    let service = opts(&[
        ("_type", "ors"),
        ("_service", "callback"),
        ("_target", "Billing@StatServer.GA"),
        ("_call_direction", "USERTERMINATED"),
        ("_media_type", ""),
        ("_max_time_to_wait_for_agent_on_the_call", "$wait$"),
        ("_urs_vq_priority", "5"),
        ("_enable_in_queue_checking", "strict"),
        ("_exceptions", "5551234,5559876"),
    ]);
    assert_eq!(validation_errors(&templates, &service), []);
}

#[test]
fn validation_reports_values_that_do_not_parse() {
    let templates = registry();
    let service = opts(&[
        ("_type", "ors"),
        ("_service", "callback"),
        ("_ttl", "a day"),
        ("_wait_for_agent", "yes"),
        ("_call_direction", "SIDEWAYS"),
        ("_ixn_createcall_hints", "{not json"),
        ("_request_time_bucket", "7"),
        ("my_free_text", "anything"),
    ]);
    let messages: Vec<String> = validation_errors(&templates, &service)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        messages,
        [
            "option '_ttl' must be a whole number, not 'a day'",
            "option '_wait_for_agent' must be true or false, not 'yes'",
            "option '_call_direction' must be one of USERORIGINATED, USERTERMINATED, not 'SIDEWAYS'",
            "option '_ixn_createcall_hints' must be a JSON document, not '{not json'",
            "option '_request_time_bucket' must be one of 5, 10, 15, 20, 30, 60, 120, not '7'",
        ]
    );
    // Case does not matter for booleans and choices.
    let service = opts(&[
        ("_service", "callback"),
        ("_wait_for_agent", "TRUE"),
        ("_call_direction", "userterminated"),
    ]);
    assert_eq!(validation_errors(&templates, &service), []);
}

#[test]
fn every_callback_option_gms_documents_is_in_the_template() {
    // The options ../shared/reference/callback-options.md lists as missing, plus the ones the
    // template had: each is declared, with a description.
    let templates = registry();
    let t = templates.get("callback").expect("callback template");
    for name in [
        "_urs_vq_priority",
        "_urs_vq_priority_increment",
        "_urs_vq_priority_increment_interval",
        "_urs_call_interaction_age",
        "_urs_udata_xfer_keys",
        "_max_queue_wait",
        "_min_queue_wait",
        "_urs_ewt_virtual_queue",
        "_cannot_dial_buffer_time",
        "_urs_extension_data",
        "_urs_request_timeout",
        "_urs_sec_server_url",
        "_delay_connid_attempt_loop",
        "_agent_reserve_timeout",
        "_agent_reserve_delay_before_release",
        "_ixn_redirect_hints",
        "_ixn_redirect_confirm",
        "_transfer_to_agent_retry_timeout",
        "_src_route_point",
        "_on_route_done_delay",
        "_retain_session_until_ixn_deleted",
        "_max_time_to_wait_for_ixn_delete",
        "_max_number_of_user_availability_confirmation_attempts",
        "_agent_availability_notification_delay",
        "_max_notify_delivery_attempts",
        "_notification_message_file",
        "_provider_name",
        "_enable_notification_reminder",
        "_notification_reminder_buffer",
        "_status_notification_debug",
        "_status_notification_language",
        "_enable_in_queue_checking",
        "_throttle_customer_number_limit",
        "_enable_throttle_header_parameters",
        "_enable_reject_out_of_office_hours",
        "_chat_400_response_on_disconnected",
        "_client_timeout",
        "_client_timeout_notification",
        "_client_timeout_notification_message",
        "_agent_timeout_notification_message",
        "_filtering_chat_events",
        "_rep_userevent_enable",
        "_rep_userevent_dn",
        "_rep_userevent_switch",
        "_rep_userevent_mediatype",
        "_use_reporting_aggregator",
        "_reporting_aggregator_url",
        "_originating_interaction_id",
        "_max_time_to_reach_eta_pos_threshold",
        "_min_urs_ewt_pos_polling_interval",
        "_max_urs_ewt_pos_polling_interval",
        "_service_type",
        "_offer_callback",
        "_offer_callback_vxml_app_url",
        "_exceptions",
    ] {
        let o = t
            .option(name)
            .unwrap_or_else(|| panic!("{name} is not declared"));
        assert!(!o.description.is_empty(), "{name} has no description");
    }
    // The ones that only mean something in a Genesys deployment say so.
    for name in [
        "_urs_sec_server_url",
        "_src_route_point",
        "_rep_userevent_dn",
        "_offer_callback",
    ] {
        let o = t.option(name).expect("declared");
        assert!(
            o.description.contains("no effect here"),
            "{name}: {}",
            o.description
        );
    }
}

#[test]
fn validation_reports_duplicate_options() {
    let templates = registry();
    let mut service = templates.create_service("get", None, &[]).expect("get");
    service.push(("_online_code".to_owned(), "204".to_owned()));
    assert_eq!(
        validation_errors(&templates, &service),
        vec![TemplateError::DuplicateOption("_online_code".to_owned())]
    );
}

#[test]
fn uploaded_zip_with_a_top_folder_adds_a_template_and_keeps_its_files() {
    let templates = registry();
    let bytes = zip_of(&[
        ("hello/template.json", HELLO_JSON.as_bytes()),
        ("hello/hello.scxml", HELLO_SCXML),
        ("hello/src/lib.js", b"var x = 1;"),
        ("__MACOSX/hello/._template.json", b"junk"),
    ]);
    let t = templates.add_zip("hello", &bytes).expect("upload");
    assert_eq!(t.origin, Origin::Uploaded);
    assert_eq!(t.service_type, ServiceType::Ors);
    assert_eq!(
        t.files.keys().map(String::as_str).collect::<Vec<_>>(),
        ["hello.scxml", "src/lib.js"]
    );
    assert_eq!(
        t.files.get("hello.scxml").map(Vec::as_slice),
        Some(HELLO_SCXML)
    );
    assert_eq!(
        t.options.iter().map(|o| o.kind).collect::<Vec<_>>(),
        [OptionKind::Mandatory, OptionKind::Mandatory]
    );
    assert!(templates.get("hello").is_some());

    // The uploaded template takes part in validation, also when named by its SCXML file.
    let service = opts(&[
        ("_type", "ors"),
        ("_service", "hello.scxml"),
        ("_ttl", "30"),
    ]);
    assert_eq!(validation_errors(&templates, &service), []);

    assert_eq!(
        templates.remove("hello").map(|t| t.name.clone()),
        Ok("hello".to_owned())
    );
    assert_eq!(templates.get("hello"), None);
    assert_eq!(
        templates.remove("hello").map(|t| t.name.clone()),
        Err(TemplateError::UnknownTemplate("hello".to_owned()))
    );
}

#[test]
fn uploaded_zip_with_template_json_at_the_root_is_accepted() {
    let templates = Templates::empty();
    let bytes = zip_of(&[("template.json", HELLO_JSON.as_bytes())]);
    let t = templates.add_zip("hello", &bytes).expect("upload");
    assert!(t.files.is_empty());
    assert_eq!(templates.list().len(), 1);
}

#[test]
fn zip_entry_with_parent_traversal_is_rejected() {
    let templates = Templates::empty();
    let bytes = zip_of(&[
        ("template.json", HELLO_JSON.as_bytes()),
        ("../evil", b"pwned"),
    ]);
    assert_eq!(
        templates.add_zip("hello", &bytes),
        Err(TemplateError::UnsafePath("../evil".to_owned()))
    );
    assert!(templates.list().is_empty());
}

#[test]
fn zip_entry_with_absolute_path_is_rejected() {
    let bytes = zip_of(&[
        ("template.json", HELLO_JSON.as_bytes()),
        ("/etc/passwd", b"root"),
    ]);
    assert_eq!(
        Templates::empty().add_zip("hello", &bytes),
        Err(TemplateError::UnsafePath("/etc/passwd".to_owned()))
    );
}

#[test]
fn oversize_archive_is_rejected() {
    let bytes = vec![0u8; MAX_ARCHIVE_BYTES + 1];
    assert_eq!(
        Templates::empty().add_zip("hello", &bytes),
        Err(TemplateError::ArchiveTooLarge {
            size: MAX_ARCHIVE_BYTES + 1,
            limit: MAX_ARCHIVE_BYTES
        })
    );
}

#[test]
fn oversize_entry_is_rejected_even_when_it_compresses_well() {
    let big = vec![b'a'; usize::try_from(MAX_ENTRY_BYTES).expect("fits") + 1];
    let bytes = zip_of(&[("template.json", HELLO_JSON.as_bytes()), ("big.wav", &big)]);
    assert!(bytes.len() < MAX_ARCHIVE_BYTES);
    assert_eq!(
        Templates::empty().add_zip("hello", &bytes),
        Err(TemplateError::EntryTooLarge {
            name: "big.wav".to_owned(),
            limit: MAX_ENTRY_BYTES
        })
    );
}

#[test]
fn archive_with_too_many_entries_is_rejected() {
    let names: Vec<String> = (0..201).map(|i| format!("f{i}.txt")).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("template.json", HELLO_JSON.as_bytes())];
    entries.extend(names.iter().map(|n| (n.as_str(), b"x".as_slice())));
    assert_eq!(
        Templates::empty().add_zip("hello", &zip_of(&entries)),
        Err(TemplateError::TooManyEntries {
            count: 202,
            limit: 200
        })
    );
}

#[test]
fn garbage_and_incomplete_archives_are_rejected_without_panicking() {
    let templates = Templates::empty();
    assert!(matches!(
        templates.add_zip("hello", b"this is not a zip"),
        Err(TemplateError::BadArchive(_))
    ));
    let no_json = zip_of(&[("hello/hello.scxml", HELLO_SCXML)]);
    assert_eq!(
        templates.add_zip("hello", &no_json),
        Err(TemplateError::MissingTemplateJson)
    );
    let two_folders = zip_of(&[
        ("a/template.json", HELLO_JSON.as_bytes()),
        ("b/other.txt", b"x"),
    ]);
    assert_eq!(
        templates.add_zip("hello", &two_folders),
        Err(TemplateError::MissingTemplateJson)
    );
    let mut truncated = zip_of(&[("template.json", HELLO_JSON.as_bytes())]);
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        templates.add_zip("hello", &truncated),
        Err(TemplateError::BadArchive(_))
    ));
}

#[test]
fn invalid_template_json_is_rejected_with_the_reason() {
    let templates = Templates::empty();
    let numeric_default = HELLO_JSON.replace(r#""default": "30""#, r#""default": 30"#);
    assert!(matches!(
        templates.add_zip(
            "hello",
            &zip_of(&[("template.json", numeric_default.as_bytes())])
        ),
        Err(TemplateError::InvalidTemplateJson(_))
    ));
    let dotted = HELLO_JSON.replace("_greeting", "greeting.text");
    assert_eq!(
        templates
            .add_zip("hello", &zip_of(&[("template.json", dotted.as_bytes())]))
            .map(|t| t.name.clone()),
        Err(TemplateError::InvalidTemplate {
            template: "hello".to_owned(),
            problem: "option 'greeting.text' is not a valid ECMAScript identifier: it contains '.'"
                .to_owned()
        })
    );
    assert_eq!(
        templates
            .add_zip("bye", &zip_of(&[("template.json", HELLO_JSON.as_bytes())]))
            .map(|t| t.name.clone()),
        Err(TemplateError::NameMismatch {
            archive: "bye".to_owned(),
            declared: "hello".to_owned()
        })
    );
    assert_eq!(
        templates.add_zip("../x", b"").map(|t| t.name.clone()),
        Err(TemplateError::InvalidTemplateName("../x".to_owned()))
    );
}
