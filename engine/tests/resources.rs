//! Access-number allocation, booking expiry and matching, with time and randomness passed in.

use engine::resources::{
    same_phone, Allocation, BookRequest, GroupConfig, MatchRequest, ResourceError, ResourcePool,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const T0: i64 = 1_700_000_000_000;

fn pool(allocation: Allocation, locking: bool, numbers: &[&str]) -> ResourcePool {
    let mut p = ResourcePool::new();
    p.configure(
        "DNIS",
        GroupConfig {
            numbers: numbers.iter().map(|n| n.to_string()).collect(),
            allocation,
            locking,
            booking_secs: 30,
        },
    );
    p
}

fn req(service: &str) -> BookRequest {
    BookRequest {
        group: "DNIS".into(),
        service_id: service.into(),
        ..BookRequest::default()
    }
}

fn coded(service: &str, length: Option<&str>) -> BookRequest {
    BookRequest {
        provide_code: true,
        code_length: length.map(String::from),
        ..req(service)
    }
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

#[test]
fn round_robin_hands_out_numbers_in_order_and_wraps() {
    let mut p = pool(Allocation::RoundRobin, false, &["100", "200", "300"]);
    let mut r = rng();
    let got: Vec<String> = (0..5)
        .map(|i| {
            p.book(&req(&format!("s{i}")), T0, &mut r)
                .expect("booked")
                .number
        })
        .collect();
    assert_eq!(got, ["100", "200", "300", "100", "200"]);
}

#[test]
fn locking_never_gives_one_number_to_two_bookings_and_runs_out() {
    let mut p = pool(Allocation::Random, true, &["100", "200", "300"]);
    let mut r = rng();
    let mut numbers: Vec<String> = (0..3)
        .map(|i| {
            p.book(&req(&format!("s{i}")), T0, &mut r)
                .expect("booked")
                .number
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["100", "200", "300"]);
    assert_eq!(
        p.book(&req("s3"), T0, &mut r),
        Err(ResourceError::NoneAvailable("DNIS".into()))
    );
    assert_eq!(p.counts("DNIS", T0), Some((0, 3)));
}

#[test]
fn locking_round_robin_skips_booked_numbers() {
    let mut p = pool(Allocation::RoundRobin, true, &["100", "200", "300"]);
    let mut r = rng();
    assert_eq!(p.book(&req("a"), T0, &mut r).expect("booked").number, "100");
    assert_eq!(p.book(&req("b"), T0, &mut r).expect("booked").number, "200");
    p.release("a");
    assert_eq!(p.book(&req("c"), T0, &mut r).expect("booked").number, "300");
    assert_eq!(p.book(&req("d"), T0, &mut r).expect("booked").number, "100");
}

#[test]
fn a_booking_expires_after_its_timeout_and_frees_a_locked_number() {
    let mut p = pool(Allocation::RoundRobin, true, &["100"]);
    let mut r = rng();
    let b = p.book(&req("a"), T0, &mut r).expect("booked");
    assert_eq!(b.expires_at, T0 + 30_000);
    assert_eq!(
        p.book(&req("b"), T0 + 29_999, &mut r),
        Err(ResourceError::NoneAvailable("DNIS".into()))
    );
    let again = p.book(&req("b"), T0 + 30_000, &mut r).expect("free again");
    assert_eq!(again.number, "100");
}

#[test]
fn booking_timeout_out_of_range_means_thirty_seconds() {
    let mut p = pool(Allocation::RoundRobin, false, &["100"]);
    let mut r = rng();
    let cases = [
        ("5", 5),
        ("1800", 1800),
        ("4", 30),
        ("1801", 30),
        ("abc", 30),
        ("120", 120),
    ];
    for (given, secs) in cases {
        let request = BookRequest {
            timeout: Some(given.into()),
            ..req("s")
        };
        let b = p.book(&request, T0, &mut r).expect("booked");
        assert_eq!(b.expires_at, T0 + secs * 1000, "timeout {given}");
    }
}

#[test]
fn access_codes_have_the_requested_length_and_are_unique_per_number() {
    let mut p = pool(Allocation::RoundRobin, false, &["100"]);
    let mut r = rng();
    let mut codes = Vec::new();
    for i in 0..50 {
        let b = p
            .book(&coded(&format!("s{i}"), Some("2")), T0, &mut r)
            .expect("booked");
        let code = b.access_code.expect("a code");
        assert_eq!(code.len(), 2);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        assert!(!codes.contains(&code), "code {code} handed out twice");
        codes.push(code);
    }
    let b = p.book(&coded("dflt", None), T0, &mut r).expect("booked");
    assert_eq!(b.access_code.map(|c| c.len()), Some(6));
    assert_eq!(
        p.book(&coded("x", Some("13")), T0, &mut r),
        Err(ResourceError::BadCodeLength("13".into()))
    );
}

#[test]
fn a_single_digit_code_space_runs_out_cleanly() {
    let mut p = pool(Allocation::RoundRobin, false, &["100"]);
    let mut r = rng();
    for i in 0..10 {
        p.book(&coded(&format!("s{i}"), Some("1")), T0, &mut r)
            .expect("ten one-digit codes exist");
    }
    assert_eq!(
        p.book(&coded("s10", Some("1")), T0, &mut r),
        Err(ResourceError::CodesExhausted {
            number: "100".into(),
            length: 1
        })
    );
}

#[test]
fn match_on_number_and_caller_id_among_shared_bookings() {
    let mut p = pool(Allocation::RoundRobin, false, &["100"]);
    let mut r = rng();
    for (service, phone) in [("alice", "+1 650 466 1111"), ("bob", "6504662222")] {
        let request = BookRequest {
            phone_number: Some(phone.into()),
            ..req(service)
        };
        p.book(&request, T0, &mut r).expect("booked");
    }
    let call = MatchRequest {
        access_number: "100".into(),
        phone_number: Some("16504662222".into()),
        access_code: None,
    };
    let m = p.find(&call, T0 + 1);
    let ids: Vec<&str> = m.iter().map(|b| b.service_id.as_str()).collect();
    assert_eq!(ids, ["bob"]);
}

#[test]
fn match_on_number_and_access_code() {
    let mut p = pool(Allocation::RoundRobin, false, &["100"]);
    let mut r = rng();
    let a = p.book(&coded("a", None), T0, &mut r).expect("booked");
    p.book(&coded("b", None), T0, &mut r).expect("booked");
    let call = MatchRequest {
        access_number: "100".into(),
        phone_number: None,
        access_code: a.access_code.clone(),
    };
    let m = p.find(&call, T0 + 1);
    let ids: Vec<&str> = m.iter().map(|b| b.service_id.as_str()).collect();
    assert_eq!(ids, ["a"]);
    let wrong = MatchRequest {
        access_code: Some("nope".into()),
        ..call
    };
    assert!(p.find(&wrong, T0 + 1).is_empty());
}

#[test]
fn expired_bookings_do_not_match_and_release_frees_them() {
    let mut p = pool(Allocation::RoundRobin, true, &["100"]);
    let mut r = rng();
    p.book(&req("a"), T0, &mut r).expect("booked");
    let call = MatchRequest {
        access_number: "100".into(),
        ..MatchRequest::default()
    };
    assert_eq!(p.find(&call, T0 + 29_999).len(), 1);
    assert!(p.find(&call, T0 + 30_000).is_empty());
    let expired = p.expire(T0 + 30_000);
    assert_eq!(expired.len(), 1);
    assert_eq!(p.release("a"), vec![]);
}

#[test]
fn unknown_and_empty_groups_are_errors() {
    let mut p = pool(Allocation::RoundRobin, true, &[]);
    let mut r = rng();
    assert_eq!(
        p.book(&req("a"), T0, &mut r),
        Err(ResourceError::EmptyGroup("DNIS".into()))
    );
    let other = BookRequest {
        group: "NOPE".into(),
        ..req("a")
    };
    assert_eq!(
        p.book(&other, T0, &mut r),
        Err(ResourceError::UnknownGroup("NOPE".into()))
    );
}

#[test]
fn reconfiguring_keeps_bookings_of_numbers_that_remain() {
    let mut p = pool(Allocation::RoundRobin, true, &["100", "200"]);
    let mut r = rng();
    p.book(&req("a"), T0, &mut r).expect("booked");
    p.book(&req("b"), T0, &mut r).expect("booked");
    let cfg = GroupConfig {
        numbers: vec!["200".into(), "300".into()],
        allocation: Allocation::RoundRobin,
        locking: true,
        booking_secs: 30,
    };
    p.configure("DNIS", cfg);
    assert_eq!(p.counts("DNIS", T0), Some((1, 2)));
    assert_eq!(p.book(&req("c"), T0, &mut r).expect("booked").number, "300");
}

#[test]
fn phone_numbers_compare_by_digits_with_prefixes() {
    assert!(same_phone("+1 (650) 466-1234", "6504661234"));
    assert!(same_phone("0033 1 23 45 67 89", "+33123456789"));
    assert!(!same_phone("6504661234", "6504661235"));
    assert!(!same_phone("1234", "91234"));
    assert!(!same_phone("", ""));
}
