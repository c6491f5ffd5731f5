//! The service platform on the real SQLite store, with time passed in: booking expiry,
//! storage TTLs, and what survives reopening the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use engine::config::Config;
use engine::platform::{Field, Platform, PlatformError};
use engine::store::sqlite::SqliteStore;
use engine::store::StorageValue;
use futures_executor::block_on;

const T0: i64 = 1_800_000_000_000;

fn open(dir: &std::path::Path) -> Platform {
    let store = SqliteStore::open(dir).expect("the store opens");
    Platform::open(Arc::new(store), &Config::sample(), T0).expect("the platform opens")
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, Field)], key: &str) -> &'a str {
    match fields.iter().find(|(k, _)| k == key).map(|(_, v)| v) {
        Some(Field::Str(s)) => s,
        other => panic!("{key}: {other:?}"),
    }
}

fn text(v: &str) -> StorageValue {
    StorageValue {
        bytes: v.as_bytes().to_vec(),
        content_type: None,
        filename: None,
    }
}

#[test]
fn a_booking_matches_until_it_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path());
    let book = |now| {
        block_on(p.call_service(
            "request-interaction",
            &params(&[
                ("_provide_code", "true"),
                ("_booking_expiration_timeout", "5"),
            ]),
            None,
            now,
        ))
        .expect("booked")
    };
    let matching = |r: &engine::platform::Reply, now| {
        block_on(p.call_service(
            "match-interaction",
            &params(&[
                ("_access_number", field(&r.fields, "_access_number")),
                ("_access_code", field(&r.fields, "_access_code")),
            ]),
            None,
            now,
        ))
    };
    let early = book(T0);
    let m = matching(&early, T0 + 4_999).expect("matches before it expires");
    assert_eq!(field(&m.fields, "_id"), field(&early.fields, "_id"));
    let late = book(T0);
    match matching(&late, T0 + 5_000) {
        Err(PlatformError::NotFound(msg)) => {
            assert!(msg.starts_with("no service matches access number"), "{msg}")
        }
        other => panic!("expected no match after expiry, got {other:?}"),
    }
}

#[test]
fn storage_expires_at_its_ttl_and_an_expired_record_lends_nothing_to_a_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path());
    let mut first = BTreeMap::new();
    first.insert("old".to_string(), text("1"));
    let id =
        block_on(p.create_storage(Some("cust-1"), 10, first, Some("alice"), T0)).expect("created");
    assert_eq!(id, "cust-1");
    assert!(p.storage("cust-1", Some("alice"), T0 + 9_999).is_ok());
    assert_eq!(
        p.storage("cust-1", Some("alice"), T0 + 10_000).map(|_| ()),
        Err(PlatformError::NotFound(
            "storage 'cust-1' does not exist".into()
        ))
    );
    // Expired but not purged: a new record with the same id starts empty.
    let mut second = BTreeMap::new();
    second.insert("new".to_string(), text("2"));
    block_on(p.create_storage(Some("cust-1"), 10, second, Some("alice"), T0 + 20_000))
        .expect("created again");
    let r = p
        .storage("cust-1", Some("alice"), T0 + 20_001)
        .expect("readable");
    assert_eq!(r.values.keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(
        p.storage("cust-1", Some("bob"), T0 + 20_001).map(|_| ()),
        Err(PlatformError::Forbidden(
            "storage 'cust-1' belongs to another gms_user".into()
        ))
    );
}

#[test]
fn configuration_services_and_bookings_survive_reopening_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (id, number, code) = {
        let p = open(dir.path());
        block_on(p.put_service(
            "hello",
            params(&[
                ("_type", "builtin"),
                ("_service", "get"),
                ("greeting", "hi"),
            ]),
        ))
        .expect("service configured");
        let r = block_on(p.call_service(
            "request-interaction",
            &params(&[
                ("_provide_code", "true"),
                ("_booking_expiration_timeout", "600"),
            ]),
            None,
            T0,
        ))
        .expect("booked");
        (
            field(&r.fields, "_id").to_string(),
            field(&r.fields, "_access_number").to_string(),
            field(&r.fields, "_access_code").to_string(),
        )
    };
    let p = open(dir.path());
    assert_eq!(
        p.service_options("hello"),
        Some(params(&[
            ("_type", "builtin"),
            ("_service", "get"),
            ("greeting", "hi")
        ]))
    );
    let m = block_on(p.call_service(
        "match-interaction",
        &params(&[("_access_number", &number), ("_access_code", &code)]),
        None,
        T0 + 1_000,
    ))
    .expect("the booking survived");
    assert_eq!(field(&m.fields, "_id"), id);
}

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, body) in files {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("zip entry");
            z.write_all(body.as_bytes()).expect("zip write");
        }
        z.finish().expect("zip finish");
    }
    buf.into_inner()
}

#[test]
fn a_service_made_from_an_uploaded_template_runs_the_builtin_the_template_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path());
    let template = r#"{"name":"greeter","type":"builtin","service":"get","description":"greets",
        "options":[{"name":"greeting","default":"hello","description":"what to say","category":"General","kind":"mandatory"}]}"#;
    block_on(p.upload_template("greeter", zip_of(&[("greeter/template.json", template)])))
        .expect("uploaded");
    block_on(p.put_service(
        "hi",
        params(&[
            ("_type", "builtin"),
            ("_service", "greeter"),
            ("greeting", "hey"),
        ]),
    ))
    .expect("configured");
    let r = block_on(p.call_service("hi", &[], None, T0)).expect("served");
    assert_eq!(r.status, 200);
    assert_eq!(field(&r.fields, "greeting"), "hey");
    // The upload is durable too.
    drop(p);
    let p = open(dir.path());
    assert!(p.templates().get("greeter").is_some());
}

#[test]
fn a_configured_option_beats_the_request_unless_the_service_lets_it_be_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path());
    let configure = |extra: &[(&str, &str)]| {
        let mut options = params(&[
            ("_type", "builtin"),
            ("_service", "request-interaction"),
            ("_resource_group", "DNIS"),
            ("_provide_code", "false"),
        ]);
        options.extend(params(extra));
        block_on(p.put_service("ri", options)).expect("configured");
    };
    let book = || {
        block_on(p.call_service("ri", &params(&[("_provide_code", "true")]), None, T0))
            .expect("booked")
    };
    let has_code = |r: &engine::platform::Reply| r.fields.iter().any(|(k, _)| k == "_access_code");

    configure(&[]);
    assert!(!has_code(&book()), "the service's _provide_code=false wins");
    configure(&[("_overwritable_options", "_target, _provide_code")]);
    assert!(
        has_code(&book()),
        "listed in _overwritable_options: the request wins"
    );
    // Left out of the section: the request decides, and without it the template's default.
    block_on(p.put_service(
        "ri",
        params(&[
            ("_service", "request-interaction"),
            ("_resource_group", "DNIS"),
        ]),
    ))
    .expect("configured");
    assert!(has_code(&book()));
    let plain = block_on(p.call_service("ri", &[], None, T0)).expect("booked");
    assert!(
        !has_code(&plain),
        "the template's default _provide_code is false"
    );
}
