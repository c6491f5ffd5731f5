//! Capacity: weekly hourly grids applied per request time bucket, date exceptions,
//! `_max_capacity`, and the capacity API's parameters and reply.

use chrono::{DateTime, Utc};
use engine::capacity::{Capacity, CapacityError, CapacityReply};

fn opts(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn capacity(options: &[(&str, &str)]) -> Capacity {
    Capacity::from_options(&opts(options)).expect("valid capacity options")
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("a UTC instant")
}

/// `(local start HH:MM, capacity)` of each slot in the range.
fn slots(cap: &Capacity, start: &str, end: &str) -> Vec<(String, u32)> {
    cap.slots(t(start), t(end))
        .into_iter()
        .map(|s| (s.local_start.format("%H:%M").to_string(), s.capacity))
        .collect()
}

fn option_error(options: &[(&str, &str)]) -> CapacityError {
    match Capacity::from_options(&opts(options)) {
        Err(e) => e,
        Ok(c) => panic!("expected an error, got {c:?}"),
    }
}

// The help's own sample has a key with a leading space (" 1600").
const MONDAY: &str = r#"{"1":{"0900":10," 1000":5}}"#;

#[test]
fn hourly_capacity_applies_to_each_bucket() {
    let cap = capacity(&[("_capacity_1", MONDAY)]);
    assert_eq!(cap.bucket_minutes(), 5);
    // Monday 2026-03-02, UTC.
    let nine = slots(&cap, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
    assert_eq!(nine.len(), 12);
    assert_eq!(nine[0], ("09:00".to_string(), 10));
    assert_eq!(nine[11], ("09:55".to_string(), 10));
    assert_eq!(nine.iter().map(|(_, c)| c).sum::<u32>(), 120);
    assert_eq!(
        slots(&cap, "2026-03-02T10:50:00Z", "2026-03-02T11:05:00Z"),
        vec![
            ("10:50".to_string(), 5),
            ("10:55".to_string(), 5),
            ("11:00".to_string(), 0),
        ]
    );
    // Tuesday has no grid.
    assert_eq!(cap.capacity_at(t("2026-03-03T09:30:00Z")), 0);
    assert_eq!(cap.capacity_at(t("2026-03-02T09:30:00Z")), 10);
}

#[test]
fn bucket_size_and_timezone() {
    let cap = capacity(&[
        ("_timezone", "America/Los_Angeles"),
        ("_request_time_bucket", "15"),
        ("_capacity_1", MONDAY),
    ]);
    // 09:00 PST on Monday 2026-03-02 is 17:00 UTC.
    let s = cap.slots(t("2026-03-02T17:00:00Z"), t("2026-03-02T18:00:00Z"));
    assert_eq!(s.len(), 4);
    assert!(s.iter().all(|s| s.capacity == 10));
    assert_eq!(s[1].start_utc, t("2026-03-02T17:15:00Z"));
    assert_eq!(s[1].local_start.to_string(), "2026-03-02 09:15:00");
}

#[test]
fn local_hours_in_a_dst_gap_have_no_bucket() {
    let cap = capacity(&[
        ("_timezone", "America/Los_Angeles"),
        ("_request_time_bucket", "60"),
        ("_capacity_7", r#"{"7":{"0200":4,"0300":6}}"#),
    ]);
    // Sunday 2026-03-08: 02:00 PST does not exist; 03:00 PDT is 10:00 UTC.
    let s: Vec<_> = cap
        .slots(t("2026-03-08T08:00:00Z"), t("2026-03-08T12:00:00Z"))
        .into_iter()
        .map(|s| (s.start_utc, s.capacity))
        .collect();
    assert_eq!(
        s,
        vec![
            (t("2026-03-08T08:00:00Z"), 0),
            (t("2026-03-08T09:00:00Z"), 0),
            (t("2026-03-08T10:00:00Z"), 6),
            (t("2026-03-08T11:00:00Z"), 0),
        ]
    );
}

#[test]
fn exception_date_replaces_the_weekly_grid() {
    let cap = capacity(&[
        ("_capacity_1", MONDAY),
        ("_capacity_add_20260302", r#"{"20260302":{"0900":2}}"#),
        ("_capacity_add", r#"{"20260309":{"1000":7}}"#),
        ("_capacity", "[Mon]"),
    ]);
    assert_eq!(cap.capacity_at(t("2026-03-02T09:10:00Z")), 2);
    assert_eq!(
        cap.capacity_at(t("2026-03-02T10:10:00Z")),
        0,
        "whole day replaced"
    );
    assert_eq!(cap.capacity_at(t("2026-03-09T09:10:00Z")), 0);
    assert_eq!(cap.capacity_at(t("2026-03-09T10:10:00Z")), 7);
    assert_eq!(
        cap.capacity_at(t("2026-03-16T09:10:00Z")),
        10,
        "the next Monday"
    );
}

#[test]
fn above_max_capacity_is_a_capacity_exception() {
    let err = option_error(&[("_capacity_1", r#"{"1":{"0900":1001}}"#)]);
    assert_eq!(
        err,
        CapacityError::AboveMax {
            option: "_capacity_1".to_string(),
            slot: "0900".to_string(),
            value: 1001,
            max: 1000,
        }
    );
    assert!(err.to_string().contains("_max_capacity"), "{err}");
    let cap = capacity(&[
        ("_max_capacity", "2000"),
        ("_capacity_1", r#"{"1":{"0900":1001}}"#),
    ]);
    assert_eq!(cap.capacity_at(t("2026-03-02T09:00:00Z")), 1001);
    assert!(matches!(
        option_error(&[("_max_capacity", "5"), ("_capacity_add_20260302", r#"{"20260302":{"0900":6}}"#)]),
        CapacityError::AboveMax { option, .. } if option == "_capacity_add_20260302"
    ));
}

fn bad_option(err: CapacityError) -> (String, String) {
    match err {
        CapacityError::BadOption { option, message } => (option, message),
        other => panic!("expected BadOption, got {other:?}"),
    }
}

#[test]
fn malformed_options_name_the_option() {
    let (option, message) = bad_option(option_error(&[("_capacity_1", r#"{"1":{"0900":}"#)]));
    assert_eq!(option, "_capacity_1");
    assert!(message.contains("not valid JSON"), "{message}");

    let (option, message) = bad_option(option_error(&[("_capacity_2", MONDAY)]));
    assert_eq!(option, "_capacity_2");
    assert!(message.contains(r#"{"2":"#), "{message}");

    let (option, _) = bad_option(option_error(&[("_capacity_8", r#"{"8":{}}"#)]));
    assert_eq!(option, "_capacity_8");

    let (option, message) = bad_option(option_error(&[("_capacity_1", r#"{"1":{"0930":1}}"#)]));
    assert_eq!(option, "_capacity_1");
    assert!(message.contains("'0930'"), "{message}");

    let (option, message) = bad_option(option_error(&[("_capacity_1", r#"{"1":{"0900":-1}}"#)]));
    assert_eq!(option, "_capacity_1");
    assert!(message.contains("whole number"), "{message}");

    let (option, _) = bad_option(option_error(&[("_capacity_add_2026", "{}")]));
    assert_eq!(option, "_capacity_add_2026");

    let (option, _) = bad_option(option_error(&[("_timezone", "PST")]));
    assert_eq!(option, "_timezone");

    let (option, _) = bad_option(option_error(&[("_request_time_bucket", "7")]));
    assert_eq!(option, "_request_time_bucket");
}

#[test]
fn query_reads_local_times_in_the_given_timezone() {
    let cap = capacity(&[("_capacity_1", r#"{"1":{"0800":3,"0900":10}}"#)]);
    let reply: CapacityReply = cap
        .query(
            t("2000-01-01T00:00:00Z"),
            Some("2026-03-02T09:00:00.000"),
            Some("2026-03-02T10:00:00.000"),
            Some("Europe/Paris"),
        )
        .expect("query");
    assert_eq!(reply.timezone, "Europe/Paris");
    assert_eq!(reply.duration_min, 5);
    assert_eq!(reply.start, "2026-03-02T08:00:00.000Z");
    assert_eq!(reply.slots.len(), 12);
    assert_eq!(reply.slots[0].utc_time, "2026-03-02T08:00:00.000Z");
    assert_eq!(reply.slots[0].local_time, "2026-03-02T09:00:00.000");
    assert_eq!(reply.slots[0].capacity, 3);

    let json = serde_json::to_value(&reply).expect("serializable");
    assert_eq!(json["durationMin"], 5);
    assert_eq!(json["slots"][11]["localTime"], "2026-03-02T09:55:00.000");
}

#[test]
fn query_defaults_to_a_day_from_now_and_lists_only_open_slots() {
    let cap = capacity(&[("_capacity_1", MONDAY)]);
    let reply = cap
        .query(t("2026-03-02T00:00:00Z"), None, None, None)
        .expect("query");
    assert_eq!(reply.timezone, "UTC");
    assert_eq!(reply.end, "2026-03-03T00:00:00.000Z");
    assert_eq!(reply.slots.len(), 24);
    assert_eq!(reply.slots[12].utc_time, "2026-03-02T10:00:00.000Z");
    assert_eq!(reply.slots[12].capacity, 5);
}

#[test]
fn query_rejects_bad_parameters() {
    let cap = capacity(&[("_capacity_1", MONDAY)]);
    let now = t("2026-03-02T00:00:00Z");
    let parameter = |start, end, tz| match cap.query(now, start, end, tz) {
        Err(CapacityError::BadParameter { parameter, .. }) => parameter,
        other => panic!("expected BadParameter, got {other:?}"),
    };
    assert_eq!(parameter(None, None, Some("Nowhere/City")), "timezone");
    assert_eq!(parameter(Some("03/02/2026"), None, None), "start");
    assert_eq!(parameter(None, Some("2026-03-01T00:00:00"), None), "end");
    assert_eq!(parameter(None, Some("2026-05-01T00:00:00"), None), "end");
}
