//! When a scheduled callback may be booked: open slots of `_request_time_bucket` minutes,
//! capacity from the capacity service or `_max_request_by_time_bucket`, less what is booked;
//! across DST changes and year ends.

#![allow(clippy::unwrap_used)]

use engine::calendar::OfficeHours;
use engine::callback::availability::{Availability, SlotView};
use engine::callback::{iso, parse_iso, CallbackError};
use engine::capacity::Capacity;
use engine::store::Millis;

const MIN: Millis = 60_000;
const DAY: Millis = 24 * 60 * MIN;

fn opts(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
}

fn at(s: &str) -> Millis {
    parse_iso(s).unwrap()
}

/// Bookings at these instants.
fn booked(times: &[Millis]) -> impl Fn(Millis, Millis) -> u32 + '_ {
    move |s, e| times.iter().filter(|t| s <= **t && **t < e).count() as u32
}

fn starts(slots: &[SlotView]) -> Vec<String> {
    slots.iter().map(|s| s.local_start.clone()).collect()
}

#[test]
fn without_services_every_bucket_allows_the_maximum() {
    let a = Availability::new(None, None, 5, 2);
    let t0 = at("2027-01-15T08:00:00Z");
    let taken = [t0, t0 + MIN, t0 + 6 * MIN];
    let slots = a.slots(t0, t0 + 15 * MIN, &booked(&taken), 100, false);
    assert_eq!(
        slots
            .iter()
            .map(|s| (iso(s.start), s.total, s.left))
            .collect::<Vec<_>>(),
        [
            ("2027-01-15T08:05:00.000Z".to_owned(), 2, 1),
            ("2027-01-15T08:10:00.000Z".to_owned(), 2, 2),
        ],
        "08:00 is full"
    );
    let busy = a.slots(t0, t0 + 15 * MIN, &booked(&taken), 100, true);
    assert_eq!(busy.len(), 3);
    assert_eq!(busy[0].left, 0);
    assert!(a.check(t0 + 7 * MIN, &booked(&taken), DAY).is_ok());
    match a.check(t0 + 2 * MIN, &booked(&taken), DAY) {
        Err(CallbackError::Unavailable {
            message,
            availability,
        }) => {
            assert_eq!(
                message,
                "The desired time 2027-01-15T08:02:00.000Z is not available: its time slot is \
                 full. See the available time slots."
            );
            assert_eq!(availability.len(), 10);
            assert_eq!(availability.get("2027-01-15T08:05:00.000Z"), Some(&1));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    };
}

#[test]
fn office_hours_and_a_capacity_service_decide_together() {
    let hours = OfficeHours::from_options(&opts(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Mon-Fri 09:00-17:00"),
    ]))
    .unwrap();
    // One callback per 30-minute bucket from 09:00 to 10:00 on Mondays, three from 10:00.
    let capacity = Capacity::from_options(&opts(&[
        ("_timezone", "Europe/Paris"),
        ("_request_time_bucket", "30"),
        ("_capacity_1", r#"{"1":{"0800":5,"0900":1,"1000":3}}"#),
    ]))
    .unwrap();
    let a = Availability::new(Some(hours), Some(capacity), 30, 100);
    // Monday 2027-01-18, 08:00-11:00 Paris (UTC+1): 08:xx is closed; 09:00 and 09:30 allow one,
    // 10:00 and 10:30 three.
    let from = at("2027-01-18T07:00:00Z");
    let slots = a.slots(from, from + 3 * 60 * MIN, &booked(&[]), 100, false);
    assert_eq!(
        starts(&slots),
        [
            "2027-01-18T09:00:00.000+01:00",
            "2027-01-18T09:30:00.000+01:00",
            "2027-01-18T10:00:00.000+01:00",
            "2027-01-18T10:30:00.000+01:00",
        ]
    );
    assert_eq!(
        slots.iter().map(|s| s.total).collect::<Vec<_>>(),
        [1, 1, 3, 3]
    );
    // 09:10 is free; once someone is booked at 09:05, it is full and 09:30 is proposed.
    let nine_ten = at("2027-01-18T08:10:00Z");
    assert!(a.check(nine_ten, &booked(&[]), DAY).is_ok());
    let taken = [at("2027-01-18T08:05:00Z")];
    match a.check(nine_ten, &booked(&taken), DAY) {
        Err(CallbackError::Unavailable { availability, .. }) => {
            assert_eq!(
                availability.keys().next().map(String::as_str),
                Some("2027-01-18T08:30:00.000Z")
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    };
    // Out of office hours (18:00 Paris), and no capacity on Tuesdays at all.
    match a.check(at("2027-01-18T17:00:00Z"), &booked(&[]), 7 * DAY) {
        Err(CallbackError::Unavailable {
            message,
            availability,
        }) => {
            assert!(message.contains("it is outside office hours"), "{message}");
            // Next Monday morning.
            assert_eq!(
                availability.keys().next().map(String::as_str),
                Some("2027-01-25T08:00:00.000Z")
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    };
}

#[test]
fn slots_follow_dst_changes_and_year_ends() {
    let hours = OfficeHours::from_options(&opts(&[
        ("_timezone", "Europe/Paris"),
        ("_bh_regular1", "Mon-Sun 00:00-24:00"),
    ]))
    .unwrap();
    let a = Availability::new(Some(hours), None, 60, 1);
    let count = |from: &str, to: &str| a.slots(at(from), at(to), &booked(&[]), 1000, false).len();
    // 2027-03-28: 02:00 does not exist in Paris; 2027-10-31: 02:00 happens twice.
    assert_eq!(count("2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"), 23);
    assert_eq!(count("2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z"), 25);
    // New Year's Eve into New Year's Day, in Sydney (UTC+11 in summer).
    let sydney = Availability::new(
        Some(
            OfficeHours::from_options(&opts(&[
                ("_timezone", "Australia/Sydney"),
                ("_bh_regular1", "Fri-Sat 22:00-02:00"),
            ]))
            .unwrap(),
        ),
        None,
        60,
        1,
    );
    let slots = sydney.slots(
        at("2027-12-31T10:00:00Z"),
        at("2027-12-31T16:00:00Z"),
        &booked(&[]),
        100,
        false,
    );
    assert_eq!(
        starts(&slots),
        [
            "2027-12-31T22:00:00.000+11:00",
            "2027-12-31T23:00:00.000+11:00",
            "2028-01-01T00:00:00.000+11:00",
            "2028-01-01T01:00:00.000+11:00",
        ]
    );
    // And Toronto's spring forward.
    let toronto = Availability::new(
        Some(
            OfficeHours::from_options(&opts(&[
                ("_timezone", "America/Toronto"),
                ("_bh_regular1", "Sun 00:00-06:00"),
            ]))
            .unwrap(),
        ),
        None,
        30,
        1,
    );
    let slots = toronto.slots(
        at("2027-03-14T05:00:00Z"),
        at("2027-03-14T11:00:00Z"),
        &booked(&[]),
        100,
        false,
    );
    // 00:00-06:00 local with 02:00-03:00 skipped: 10 half-hours.
    assert_eq!(slots.len(), 10, "{:?}", starts(&slots));
    assert_eq!(slots[4].local_start, "2027-03-14T03:00:00.000-04:00");
}
