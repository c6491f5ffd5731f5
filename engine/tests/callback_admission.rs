//! The guards a callback request passes (gms-api.md §1.7), with the callback template's
//! defaults, the service's options and the request's parameters resolved as GMS does, and
//! time passed in. Each refusal is checked with its status class and exact message.

#![allow(clippy::unwrap_used)]

use engine::callback::admission::{
    admit, period_ms, throttled_values, Admitted, Throttles, Waiting,
};
use engine::callback::{iso, CallbackError};
use engine::service_options::Resolved;
use engine::store::Millis;
use engine::templates::Templates;

const NOW: Millis = 1_800_000_000_000; // 2027-01-15T08:00:00Z
const MIN: Millis = 60_000;

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
}

struct Case {
    templates: Templates,
    section: Vec<(String, String)>,
}

impl Case {
    fn new(section: &[(&str, &str)]) -> Case {
        let mut s = pairs(&[("_type", "ors"), ("_service", "callback")]);
        s.extend(pairs(section));
        Case {
            templates: Templates::with_builtins().unwrap(),
            section: s,
        }
    }

    fn admit_with(
        &self,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
        waiting: Waiting,
        throttles: &Throttles,
        now: Millis,
    ) -> Result<Admitted, CallbackError> {
        let t = self.templates.get("callback").unwrap();
        let params = pairs(params);
        let opts = Resolved::new(&self.section, &params, Some(&t));
        admit("cb", &opts, &pairs(headers), waiting, throttles, None, now)
    }

    fn admit(&self, params: &[(&str, &str)]) -> Result<Admitted, CallbackError> {
        self.admit_with(params, &[], Waiting::default(), &Throttles::new(), NOW)
    }

    fn values(&self, params: &[(&str, &str)], headers: &[(&str, &str)]) -> Vec<(String, String)> {
        let t = self.templates.get("callback").unwrap();
        let params = pairs(params);
        let opts = Resolved::new(&self.section, &params, Some(&t));
        throttled_values(&opts, &pairs(headers))
    }
}

fn message(r: Result<Admitted, CallbackError>) -> (String, &'static str) {
    let e = r.unwrap_err();
    let class = match e {
        CallbackError::ServiceUnavailable(_) => "503",
        CallbackError::NotFound(_) => "404",
        CallbackError::UnknownContactCenter(_) => "400",
        _ => "400",
    };
    (e.to_string(), class)
}

#[test]
fn an_immediate_request_is_for_now_and_a_past_time_counts_as_now() {
    let c = Case::new(&[]);
    assert_eq!(
        c.admit(&[("_customer_number", "5551234")]),
        Ok(Admitted {
            desired_time: NOW,
            immediate: true
        })
    );
    let past = iso(NOW - 10 * MIN);
    assert_eq!(
        c.admit(&[("_customer_number", "5551234"), ("_desired_time", &past)]),
        Ok(Admitted {
            desired_time: NOW,
            immediate: true
        })
    );
    // Within _request_execution_time_buffer (120 s by default) it queues now; later it waits.
    let soon = iso(NOW + 2 * MIN);
    assert!(
        c.admit(&[("_customer_number", "5551234"), ("_desired_time", &soon)])
            .unwrap()
            .immediate
    );
    let later = iso(NOW + 3 * MIN);
    assert_eq!(
        c.admit(&[("_customer_number", "5551234"), ("_desired_time", &later)]),
        Ok(Admitted {
            desired_time: NOW + 3 * MIN,
            immediate: false
        })
    );
}

#[test]
fn lookup_keys_and_times_are_checked() {
    let c = Case::new(&[]);
    assert_eq!(
        message(c.admit(&[("first_name", "Ada")])),
        (
            "the request has no _customer_number, which service cb requires \
             (_mandatory_customer_lookup_keys)"
                .into(),
            "400"
        )
    );
    assert_eq!(
        message(c.admit(&[("_customer_number", "1"), ("_desired_time", "tomorrow")])),
        (
            "_desired_time must be an ISO 8601 time such as 2026-12-06T14:30:00.000Z, not 'tomorrow'"
                .into(),
            "400"
        )
    );
    // The template's default: one month ahead at most.
    let far = iso(NOW + 31 * 24 * 60 * MIN);
    assert_eq!(
        message(c.admit(&[("_customer_number", "1"), ("_desired_time", &far)])),
        (
            "_desired_time 2027-02-15T08:00:00.000Z is too far ahead: service cb takes callbacks \
             up to 1M ahead (_reject_future_desired_time)"
                .into(),
            "400"
        )
    );
    let c = Case::new(&[("_reject_future_desired_time", "2w")]);
    let ok = iso(NOW + 13 * 24 * 60 * MIN);
    assert!(c
        .admit(&[("_customer_number", "1"), ("_desired_time", &ok)])
        .is_ok());
    assert_eq!(period_ms("1y"), Some(365 * 24 * 60 * MIN));
    assert_eq!(period_ms("90m"), Some(90 * MIN));
    assert_eq!(period_ms("1x"), None);
    assert_eq!(period_ms("M"), None);
}

#[test]
fn numbers_are_refused_as_gms_words_it() {
    let c = Case::new(&[("_disallow_premium_phone_numbers", "true")]);
    assert_eq!(
        message(c.admit(&[("_customer_number", "+19005551234")])),
        (
            "Service option cb / _default_country is not configured. But option \
             _disallow_premium_phone_numbers is set. We cannot validate phone numbers without \
             knowing the country."
                .into(),
            "400"
        )
    );
    let c = Case::new(&[
        ("_default_country", "US"),
        ("_disallow_premium_phone_numbers", "true"),
        ("_disallow_impossible_phone_numbers", "true"),
    ]);
    assert_eq!(
        message(c.admit(&[("_customer_number", "+19005551234")])),
        (
            "Customer Number [+19005551234] is disallowed, because it's a premium number. Check \
             option _disallow_premium_phone_numbers"
                .into(),
            "400"
        )
    );
    assert_eq!(
        message(c.admit(&[("_customer_number", "111")])),
        (
            "Customer Number [111] is disallowed, because it is invalid. Check option \
             _disallow_impossible_phone_numbers"
                .into(),
            "400"
        )
    );
    assert!(c.admit(&[("_customer_number", "+16504661234")]).is_ok());
    let c = Case::new(&[("_exceptions", "555-1234, 5559876")]);
    assert_eq!(
        message(c.admit(&[("_customer_number", "5551234")])),
        (
            "Customer Number [5551234] is disallowed, because it is in the exception list of \
             service cb. Check option _exceptions"
                .into(),
            "400"
        )
    );
    assert!(c.admit(&[("_customer_number", "5550000")]).is_ok());
}

#[test]
fn the_queue_limit_refuses_immediate_callbacks_only() {
    let c = Case::new(&[("_max_queued_callbacks_per_service", "3")]);
    let full = Waiting {
        service: 3,
        same_number: 0,
    };
    let r = c.admit_with(
        &[("_customer_number", "1")],
        &[],
        full,
        &Throttles::new(),
        NOW,
    );
    assert_eq!(
        message(r),
        ("Limit of queued callbacks for cb is reached.".into(), "503")
    );
    let later = iso(NOW + 60 * MIN);
    let r = c.admit_with(
        &[("_customer_number", "1"), ("_desired_time", &later)],
        &[],
        full,
        &Throttles::new(),
        NOW,
    );
    assert!(r.is_ok(), "scheduled callbacks are never refused: {r:?}");
}

#[test]
fn in_queue_checking_allows_two_one_or_any() {
    let one = Waiting {
        service: 1,
        same_number: 1,
    };
    let two = Waiting {
        service: 2,
        same_number: 2,
    };
    let t = Throttles::new();
    let default = Case::new(&[]);
    assert!(default
        .admit_with(&[("_customer_number", "1")], &[], one, &t, NOW)
        .is_ok());
    assert_eq!(
        message(default.admit_with(&[("_customer_number", "1")], &[], two, &t, NOW)),
        (
            "Callback for _customer_number=1 rejected because 2 callback(s) for this number are \
             already queued in cb (_enable_in_queue_checking=true)."
                .into(),
            "503"
        )
    );
    let strict = Case::new(&[("_enable_in_queue_checking", "strict")]);
    assert!(strict
        .admit_with(&[("_customer_number", "1")], &[], one, &t, NOW)
        .is_err());
    let off = Case::new(&[("_enable_in_queue_checking", "false")]);
    assert!(off
        .admit_with(&[("_customer_number", "1")], &[], two, &t, NOW)
        .is_ok());
}

#[test]
fn rate_throttles_count_the_requests_accepted_in_their_window() {
    let c = Case::new(&[
        ("_throttle_callbacks_per_service_1", "2"),
        ("_throttle_ttl_1", "60"),
        ("_throttle_callbacks_per_service_2", "3"),
        ("_throttle_ttl_2", "600"),
        ("_enable_in_queue_checking", "false"),
    ]);
    let mut t = Throttles::new();
    let params = [("_customer_number", "1")];
    let try_at = |t: &Throttles, at| c.admit_with(&params, &[], Waiting::default(), t, at);
    t.note("cb", &[], NOW);
    t.note("cb", &[], NOW + 10_000);
    assert_eq!(
        message(try_at(&t, NOW + 20_000)),
        (
            "Limit of queued callbacks for cb is reached for interval 60s.".into(),
            "503"
        )
    );
    // The first window has moved past both: the second still counts them.
    assert!(try_at(&t, NOW + 61_000).is_ok());
    t.note("cb", &[], NOW + 61_000);
    assert_eq!(
        message(try_at(&t, NOW + 120_000)),
        (
            "Limit of queued callbacks for cb is reached for interval 600s.".into(),
            "503"
        )
    );
    assert!(try_at(&t, NOW + 601_000).is_ok());
    // Another service's requests do not count.
    let other = Throttles::new();
    assert!(try_at(&other, NOW).is_ok());
}

#[test]
fn the_same_value_throttle_counts_per_day_and_reads_headers_first() {
    let c = Case::new(&[
        ("_throttle_request_parameters", "_customer_number"),
        ("_throttle_request_parameters_limit", "2"),
        ("_enable_in_queue_checking", "false"),
    ]);
    let mut t = Throttles::new();
    let params = [("_customer_number", "5551234")];
    let values = c.values(&params, &[]);
    assert_eq!(
        values,
        [("_customer_number".to_owned(), "5551234".to_owned())]
    );
    t.note("cb", &values, NOW);
    t.note("cb", &values, NOW + MIN);
    let r = c.admit_with(&params, &[], Waiting::default(), &t, NOW + 2 * MIN);
    assert_eq!(
        message(r),
        (
            "Callback for _customer_number=5551234 rejected because previous callbacks for this \
             parameter were requested for more than 2 times today."
                .into(),
            "503"
        )
    );
    // A header names another number: it wins over the body.
    let headers = [("_customer_number", "5550000")];
    assert!(c
        .admit_with(&params, &headers, Waiting::default(), &t, NOW + 2 * MIN)
        .is_ok());
    // The next UTC day starts afresh.
    let tomorrow = (NOW / 86_400_000 + 1) * 86_400_000;
    assert!(c
        .admit_with(&params, &[], Waiting::default(), &t, tomorrow)
        .is_ok());
    // `_throttle_customer_number_limit`, the older name, throttles _customer_number alone.
    let old = Case::new(&[("_throttle_customer_number_limit", "6")]);
    assert_eq!(old.values(&params, &[]), values);
    let mut t = Throttles::new();
    for i in 0..6 {
        t.note("cb", &values, NOW + i);
    }
    t.prune(NOW + 10);
    assert!(old
        .admit_with(&params, &[], Waiting::default(), &t, NOW + 10)
        .is_err());
}
