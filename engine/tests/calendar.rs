//! Office hours: regular hours, holidays and exceptions in a zone, across DST changes, and the
//! Calendar Service API's parameters and reply.

use chrono::{DateTime, Utc};
use engine::calendar::{CalendarError, OfficeHours};

fn calendar(options: &[(&str, &str)]) -> OfficeHours {
    OfficeHours::from_options(&opts(options)).expect("valid office-hours options")
}

fn opts(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("a UTC instant")
}

fn periods(cal: &OfficeHours, start: &str, end: &str) -> Vec<(String, String)> {
    cal.open_periods(t(start), t(end))
        .into_iter()
        .map(|(s, e)| (s.to_rfc3339(), e.to_rfc3339()))
        .collect()
}

fn p(s: &str, e: &str) -> (String, String) {
    (t(s).to_rfc3339(), t(e).to_rfc3339())
}

fn option_error(options: &[(&str, &str)]) -> (String, String) {
    match OfficeHours::from_options(&opts(options)) {
        Err(CalendarError::BadOption { option, message }) => (option, message),
        other => panic!("expected a BadOption error, got {other:?}"),
    }
}

/// The sample service `[service.business-hours]` of samples/ringback.ini.
fn los_angeles() -> OfficeHours {
    calendar(&[
        ("_timezone", "America/Los_Angeles"),
        ("_bh_regular1", "Mon-Fri 08:00-18:00"),
        ("_bh_regular2", "Sat 09:00-13:00"),
        ("_holiday1", "01-01"),
        ("_holiday2", "12-25"),
        ("_bh_add1", "12-24 09:00-12:00"),
    ])
}

#[test]
fn los_angeles_weekday_hours_are_local() {
    let cal = los_angeles();
    // Monday 2026-03-02, PST (UTC-8).
    assert!(!cal.is_open(t("2026-03-02T15:59:59Z")));
    assert!(cal.is_open(t("2026-03-02T16:00:00Z")));
    assert!(cal.is_open(t("2026-03-03T01:59:59Z")));
    assert!(
        !cal.is_open(t("2026-03-03T02:00:00Z")),
        "18:00 is closing time"
    );
    // Saturday 09:00-13:00, Sunday closed.
    assert!(cal.is_open(t("2026-03-07T17:00:00Z")));
    assert!(!cal.is_open(t("2026-03-07T21:00:00Z")));
    assert!(!cal.is_open(t("2026-03-08T20:00:00Z")));
}

#[test]
fn los_angeles_dst_week_periods_are_clipped_to_the_range() {
    // DST starts Sunday 2026-03-08: PST (UTC-8) before, PDT (UTC-7) after.
    assert_eq!(
        periods(
            &los_angeles(),
            "2026-03-06T00:00:00Z",
            "2026-03-11T00:00:00Z"
        ),
        vec![
            p("2026-03-06T00:00:00Z", "2026-03-06T02:00:00Z"), // Thursday, clipped
            p("2026-03-06T16:00:00Z", "2026-03-07T02:00:00Z"), // Friday
            p("2026-03-07T17:00:00Z", "2026-03-07T21:00:00Z"), // Saturday
            p("2026-03-09T15:00:00Z", "2026-03-10T01:00:00Z"), // Monday, PDT
            p("2026-03-10T15:00:00Z", "2026-03-11T00:00:00Z"), // Tuesday, clipped
        ]
    );
}

#[test]
fn paris_dst_week() {
    let cal = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Mon-Fri 09:00-17:00"),
    ]);
    // DST starts Sunday 2026-03-29: CET (UTC+1) before, CEST (UTC+2) after.
    assert_eq!(
        periods(&cal, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z"),
        vec![
            p("2026-03-27T08:00:00Z", "2026-03-27T16:00:00Z"),
            p("2026-03-30T07:00:00Z", "2026-03-30T15:00:00Z"),
        ]
    );
    assert!(cal.is_open(t("2026-03-30T07:00:00Z")));
    assert!(!cal.is_open(t("2026-03-30T06:59:59Z")));
}

#[test]
fn twenty_four_seven_is_one_period_across_dst() {
    let cal = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Mon-Sun 00:00-24:00"),
    ]);
    assert_eq!(
        periods(&cal, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
        vec![p("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z")]
    );
    assert!(cal.is_open(t("2026-03-29T01:30:00Z")));
}

#[test]
fn hours_in_a_dst_gap_move_forward_and_an_overlap_takes_both_instants() {
    // 02:00-03:00 does not exist in Paris on 2026-03-29.
    let gap = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Sun 02:30-04:00"),
    ]);
    assert_eq!(
        periods(&gap, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z"),
        vec![p("2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z")]
    );
    let empty = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Sun 02:00-03:00"),
    ]);
    assert_eq!(
        periods(&empty, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z"),
        vec![]
    );
    // 02:00-03:00 happens twice in Paris on 2026-10-25 (CEST, then CET).
    let overlap = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Sun 01:00-02:30"),
    ]);
    assert_eq!(
        periods(&overlap, "2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z"),
        vec![p("2026-10-24T23:00:00Z", "2026-10-25T01:30:00Z")]
    );
}

#[test]
fn day_lists_and_wrapping_ranges() {
    let cal = calendar(&[("_bh_regular1", "Mon,Wed 10:00-12:00, 13:00-14:00")]);
    // 2026-03-02 is a Monday.
    assert!(cal.is_open(t("2026-03-02T10:00:00Z")));
    assert!(!cal.is_open(t("2026-03-02T12:30:00Z")));
    assert!(cal.is_open(t("2026-03-02T13:30:00Z")));
    assert!(!cal.is_open(t("2026-03-03T10:30:00Z")), "Tuesday is closed");
    assert!(cal.is_open(t("2026-03-04T11:59:00Z")));

    let weekend = calendar(&[("_bh_regular1", "Fri-Mon 09:00-10:00")]);
    for (day, open) in [
        ("02", true),
        ("03", false),
        ("05", false),
        ("06", true),
        ("08", true),
    ] {
        let at = t(&format!("2026-03-{day}T09:30:00Z"));
        assert_eq!(weekend.is_open(at), open, "2026-03-{day}");
    }
}

#[test]
fn overnight_range_runs_into_the_next_day() {
    let cal = calendar(&[("_bh_regular1", "Fri 22:00-06:00")]);
    assert_eq!(
        periods(&cal, "2026-03-06T00:00:00Z", "2026-03-08T00:00:00Z"),
        vec![p("2026-03-06T22:00:00Z", "2026-03-07T06:00:00Z")]
    );
}

#[test]
fn holiday_closes_and_exception_opens() {
    let cal = los_angeles();
    // Friday 2026-12-25 is a holiday.
    assert!(!cal.is_open(t("2026-12-25T18:00:00Z")));
    // Thursday 2026-12-24: the exception falls within regular hours.
    assert_eq!(
        periods(&cal, "2026-12-24T08:00:00Z", "2026-12-25T08:00:00Z"),
        vec![p("2026-12-24T16:00:00Z", "2026-12-25T02:00:00Z")]
    );
}

#[test]
fn exception_on_a_holiday_still_opens() {
    // Help: "Holiday blocks Regular Hours, but the Exception still applies".
    let cal = calendar(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Mon-Fri 09:00-17:00"),
        ("_holiday1", "07-15"),
        ("_bh_add1", "07-15 12:00-14:00"),
    ]);
    // Wednesday 2026-07-15, CEST.
    assert_eq!(
        periods(&cal, "2026-07-15T00:00:00Z", "2026-07-16T00:00:00Z"),
        vec![p("2026-07-15T10:00:00Z", "2026-07-15T12:00:00Z")]
    );
    assert!(!cal.is_open(t("2026-07-15T08:00:00Z")));
}

#[test]
fn dated_holiday_and_exception_apply_once() {
    let cal = calendar(&[
        ("_bh_regular1", "Mon-Fri 09:00-17:00"),
        ("_holiday1", "2026-07-14"),
        ("_bh_add1", "2026-03-08 10:00-12:00"),
    ]);
    assert!(!cal.is_open(t("2026-07-14T10:00:00Z")));
    assert!(
        cal.is_open(t("2027-07-14T10:00:00Z")),
        "a Wednesday a year later"
    );
    assert!(cal.is_open(t("2026-03-08T11:00:00Z")), "Sunday exception");
    assert!(!cal.is_open(t("2026-03-15T11:00:00Z")));
}

#[test]
fn invalid_options_name_the_option() {
    let (option, message) = option_error(&[("_bh_regular1", "Mox-Fri 08:00-18:00")]);
    assert_eq!(option, "_bh_regular1");
    assert!(message.contains("'Mox'"), "{message}");

    let (option, message) = option_error(&[("_bh_regular2", "Mon-Fri 08:00-25:00")]);
    assert_eq!(option, "_bh_regular2");
    assert!(message.contains("'25:00'"), "{message}");

    let (option, message) = option_error(&[("_timezone", "Mars/Olympus_Mons")]);
    assert_eq!(option, "_timezone");
    assert!(message.contains("unknown time zone"), "{message}");

    let (option, message) = option_error(&[("_holiday3", "13-01")]);
    assert_eq!(option, "_holiday3");
    assert!(message.contains("[yyyy-]MM-dd"), "{message}");

    let (option, _) = option_error(&[("_bh_add1", "07-14")]);
    assert_eq!(option, "_bh_add1");

    let (option, message) = option_error(&[("_bh_regular1", "Mon 10:00-10:00")]);
    assert_eq!(option, "_bh_regular1");
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn empty_template_defaults_are_ignored() {
    let cal = calendar(&[
        ("_timezone", "UTC"),
        ("_bh_regular1", ""),
        ("_holiday1", ""),
        ("_bh_add1", ""),
        ("_ttl", "30"),
    ]);
    assert!(!cal.is_open(t("2026-03-02T10:00:00Z")));
}

#[test]
fn query_without_parameters_reports_the_current_period() {
    let cal = los_angeles();
    let now = t("2026-03-02T20:00:00Z");
    let reply = cal.query(now, None, None, None).expect("query");
    assert!(reply.open);
    assert_eq!(reply.error, None);
    assert_eq!(reply.timezone, "America/Los_Angeles");
    assert_eq!(reply.start, "2026-03-02T20:00:00.000Z");
    assert_eq!(reply.end, reply.start);
    assert_eq!(reply.periods.len(), 1);
    assert_eq!(reply.periods[0].start, "2026-03-02T16:00:00.000Z");
    assert_eq!(reply.periods[0].end, "2026-03-03T02:00:00.000Z");
    assert_eq!(
        reply.periods[0].local_start,
        "2026-03-02T08:00:00.000-08:00"
    );

    let json = serde_json::to_value(&reply).expect("serializable");
    assert!(json["error"].is_null());
    assert_eq!(
        json["periods"][0]["localEnd"],
        "2026-03-02T18:00:00.000-08:00"
    );

    let closed = cal
        .query(t("2026-03-08T20:00:00Z"), None, None, None)
        .expect("query");
    assert!(!closed.open);
    assert!(closed.periods.is_empty());
}

#[test]
fn query_with_range_and_number_of_days() {
    let cal = los_angeles();
    let now = t("2000-01-01T00:00:00Z");
    let reply = cal
        .query(now, Some("2026-03-09T00:00:00.000Z"), None, Some("2"))
        .expect("query");
    assert_eq!(reply.end, "2026-03-11T00:00:00.000Z");
    let starts: Vec<_> = reply.periods.iter().map(|p| p.start.as_str()).collect();
    assert_eq!(
        starts,
        ["2026-03-09T15:00:00.000Z", "2026-03-10T15:00:00.000Z"]
    );
    assert!(!reply.open, "Sunday 17:00 local");

    // `end` wins over `number-of-days`; an offset is honoured.
    let reply = cal
        .query(
            now,
            Some("2026-03-09T08:00:00-07:00"),
            Some("2026-03-09T09:00:00-07:00"),
            Some("5"),
        )
        .expect("query");
    assert!(reply.open);
    assert_eq!(reply.end, "2026-03-09T16:00:00.000Z");
    assert_eq!(reply.periods.len(), 1);
}

fn parameter_error(result: Result<engine::calendar::CalendarReply, CalendarError>) -> String {
    match result {
        Err(CalendarError::BadParameter { parameter, .. }) => parameter,
        other => panic!("expected a BadParameter error, got {other:?}"),
    }
}

#[test]
fn query_rejects_bad_parameters() {
    let cal = los_angeles();
    let now = t("2026-03-02T20:00:00Z");
    assert_eq!(
        parameter_error(cal.query(now, Some("yesterday"), None, None)),
        "start"
    );
    assert_eq!(
        parameter_error(cal.query(now, None, Some("2026-13-01"), None)),
        "end"
    );
    assert_eq!(
        parameter_error(cal.query(now, None, None, Some("367"))),
        "number-of-days"
    );
    assert_eq!(
        parameter_error(cal.query(now, None, None, Some("-1"))),
        "number-of-days"
    );
    assert_eq!(
        parameter_error(cal.query(now, None, Some("2026-03-01T00:00:00Z"), None)),
        "end"
    );
    assert_eq!(
        parameter_error(cal.query(now, None, Some("2028-03-01T00:00:00Z"), None)),
        "end"
    );
}

/// Office-hours services by name, as a configuration holds them.
fn services() -> std::collections::HashMap<&'static str, Vec<(String, String)>> {
    [
        (
            "federal",
            // Its zone is disregarded by a rule import.
            opts(&[("_timezone", "Asia/Tokyo"), ("_holiday1", "07-04")]),
        ),
        (
            "special",
            opts(&[("_timezone", "UTC"), ("_bh_add1", "2027-07-04 18:00-21:00")]),
        ),
        (
            "sfo",
            opts(&[
                ("_timezone", "America/Los_Angeles"),
                ("_bh_regular1", "Mon-Fri 09:00-17:00"),
                ("_import_rule1", "federal"),
                ("_import_rule2", "special"),
            ]),
        ),
        (
            "amsterdam",
            opts(&[
                ("_timezone", "Europe/Amsterdam"),
                ("_bh_regular1", "Mon-Fri 09:00-17:00"),
            ]),
        ),
        (
            "all",
            opts(&[
                ("_timezone", "Europe/Paris"),
                ("_import_schedule1", "sfo"),
                ("_import_schedule2", "amsterdam"),
            ]),
        ),
        ("loop-a", opts(&[("_import_rule1", "loop-b")])),
        ("loop-b", opts(&[("_import_schedule1", "loop-a")])),
    ]
    .into_iter()
    .collect()
}

fn imported(name: &str) -> Result<OfficeHours, CalendarError> {
    let all = services();
    let lookup = |n: &str| all.get(n).cloned();
    OfficeHours::of_service(name, &all[name], &lookup)
}

#[test]
fn imported_rules_apply_in_the_importing_zone() {
    let sfo = imported("sfo").expect("sfo");
    // Friday 2027-07-02 is a working day: 09:00-17:00 PDT.
    assert_eq!(
        periods(&sfo, "2027-07-02T00:00:00Z", "2027-07-03T12:00:00Z"),
        [p("2027-07-02T16:00:00Z", "2027-07-03T00:00:00Z")]
    );
    // Monday 2027-07-05 too; Sunday 2027-07-04 is the imported holiday (in Los Angeles, not in
    // Tokyo), where only the imported exception opens, 18:00-21:00 local.
    assert_eq!(
        periods(&sfo, "2027-07-04T00:00:00Z", "2027-07-06T00:00:00Z"),
        [
            p("2027-07-05T01:00:00Z", "2027-07-05T04:00:00Z"),
            p("2027-07-05T16:00:00Z", "2027-07-06T00:00:00Z"),
        ]
    );
    // The yearly holiday on a weekday closes the whole day (Monday 2033-07-04).
    assert_eq!(
        periods(&sfo, "2033-07-04T00:00:00Z", "2033-07-05T12:00:00Z"),
        Vec::<(String, String)>::new()
    );
}

#[test]
fn imported_schedules_are_a_union_in_their_own_zones_across_dst() {
    let all = imported("all").expect("all");
    // Monday 2027-03-15: Los Angeles is already on PDT (UTC-7), Amsterdam still on CET (UTC+1):
    // 08:00-16:00 UTC and 16:00-24:00 UTC meet and merge.
    assert_eq!(
        periods(&all, "2027-03-15T00:00:00Z", "2027-03-16T06:00:00Z"),
        [p("2027-03-15T08:00:00Z", "2027-03-16T00:00:00Z")]
    );
    // Monday 2027-03-29: Amsterdam on CEST (UTC+2): 07:00-15:00 UTC, a gap before 16:00.
    assert_eq!(
        periods(&all, "2027-03-29T00:00:00Z", "2027-03-30T06:00:00Z"),
        [
            p("2027-03-29T07:00:00Z", "2027-03-29T15:00:00Z"),
            p("2027-03-29T16:00:00Z", "2027-03-30T00:00:00Z"),
        ]
    );
    // The Calendar API shows them in the main service's zone.
    let reply = all
        .query(
            t("2027-03-29T12:00:00Z"),
            Some("2027-03-29T00:00:00Z"),
            None,
            Some("1"),
        )
        .expect("query");
    assert_eq!(reply.timezone, "Europe/Paris");
    assert_eq!(
        reply.periods[0].local_start,
        "2027-03-29T09:00:00.000+02:00"
    );
}

#[test]
fn imports_of_unknown_services_and_cycles_are_errors() {
    match imported("loop-a") {
        Err(CalendarError::BadOption { option, message }) => {
            assert_eq!(option, "_import_rule1");
            assert_eq!(
                message,
                "imported 'loop-b': invalid option _import_schedule1: importing 'loop-a' comes \
                 back to it (loop-a → loop-b → loop-a)"
            );
        }
        other => panic!("expected a cycle error, got {other:?}"),
    }
    let all = services();
    let lookup = |n: &str| all.get(n).cloned();
    match OfficeHours::with_imports(&opts(&[("_import_schedule1", "nowhere")]), &lookup) {
        Err(CalendarError::BadOption { option, message }) => {
            assert_eq!(option, "_import_schedule1");
            assert_eq!(message, "'nowhere' is not an office-hours service");
        }
        other => panic!("expected an unknown-service error, got {other:?}"),
    }
    // Without a way to look services up, an import cannot be read.
    assert!(OfficeHours::from_options(&opts(&[("_import_rule1", "federal")])).is_err());
}
