//! The guards a new callback request passes before anything is stored (gms-api.md §1.7, the
//! callback options of `templates/callback/template.json`), in the order GMS applies them:
//!
//! 1. the mandatory lookup keys are present (`_mandatory_customer_lookup_keys`);
//! 2. the customer number is allowed: not in the exception list (`_exceptions`), not premium
//!    or impossible when the service says so (`_disallow_*_phone_numbers`, needing
//!    `_default_country`);
//! 3. the desired time is not too far ahead (`_reject_future_desired_time`);
//! 4. for a callback that would queue now: the service's queue limit
//!    (`_max_queued_callbacks_per_service`), and the number's callbacks already queued
//!    (`_enable_in_queue_checking`);
//! 5. the rate throttles (`_throttle_callbacks_per_service_N` / `_throttle_ttl_N`) and the
//!    same-value throttle (`_throttle_request_parameters` / `_limit`, per day).
//!
//! [`Throttles`] remembers accepted requests; it is rebuilt from the stored records at start
//! ([`Throttles::note`] for each), so a restart does not reopen a throttle.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::{parse_iso, CallbackError};
use crate::service_options::Resolved;
use crate::store::Millis;

const DAY_MS: Millis = 86_400_000;
/// `[callback] max_queued_callbacks_per_service`'s default.
pub const DEFAULT_MAX_QUEUED: u64 = 1000;

/// What the guards need to know about the callbacks already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    /// The service's callbacks waiting for an agent.
    pub service: u64,
    /// Of those, the ones for this request's customer number.
    pub same_number: u64,
}

/// A request that passed: when it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// The desired time (now when none was asked, or one already past).
    pub desired_time: Millis,
    /// Whether it queues now (else it waits as SCHEDULED).
    pub immediate: bool,
}

/// Checks a request. `opts` resolves the service's options against the request;
/// `node_max_queued` is `[callback] max_queued_callbacks_per_service`; `headers` are the
/// request's headers (for `_enable_throttle_header_parameters`).
pub fn admit(
    service: &str,
    opts: &Resolved<'_>,
    headers: &[(String, String)],
    waiting: Waiting,
    throttles: &Throttles,
    node_max_queued: Option<u64>,
    now: Millis,
) -> Result<Admitted, CallbackError> {
    // 1. Lookup keys.
    for key in list(opts.get("_mandatory_customer_lookup_keys").unwrap_or("")) {
        if opts.get(key).is_none() {
            return Err(CallbackError::BadRequest(format!(
                "the request has no {key}, which service {service} requires \
                 (_mandatory_customer_lookup_keys)"
            )));
        }
    }
    // 2. The number.
    if let Some(number) = opts.get("_customer_number") {
        check_number(service, opts, number)?;
    }
    // 3. When.
    let desired_time = match opts.get("_desired_time") {
        None => now,
        Some(t) => parse_iso(t).ok_or_else(|| {
            CallbackError::BadRequest(format!(
                "_desired_time must be an ISO 8601 time such as 2026-12-06T14:30:00.000Z, not '{t}'"
            ))
        })?,
    }
    .max(now);
    if let Some(limit) = opts.get("_reject_future_desired_time") {
        let ahead = period_ms(limit).ok_or_else(|| {
            CallbackError::BadRequest(format!(
                "service {service}: _reject_future_desired_time must be a count and a unit \
                 (y, M, w, d, h or m), such as 1M, not '{limit}'"
            ))
        })?;
        if desired_time > now.saturating_add(ahead) {
            return Err(CallbackError::BadRequest(format!(
                "_desired_time {} is too far ahead: service {service} takes callbacks up to \
                 {limit} ahead (_reject_future_desired_time)",
                super::iso(desired_time)
            )));
        }
    }
    let buffer_s = int(opts, "_request_execution_time_buffer")
        .unwrap_or(120)
        .max(0);
    let immediate = desired_time <= now.saturating_add(buffer_s.saturating_mul(1000));
    // 4. Queue limits, for a callback that queues now (scheduled ones are never refused).
    if immediate {
        let max = int(opts, "_max_queued_callbacks_per_service")
            .map(|m| m.max(0) as u64)
            .or(node_max_queued)
            .unwrap_or(DEFAULT_MAX_QUEUED);
        if waiting.service >= max {
            return Err(CallbackError::ServiceUnavailable(format!(
                "Limit of queued callbacks for {service} is reached."
            )));
        }
    }
    let in_queue = opts
        .get("_enable_in_queue_checking")
        .unwrap_or("true")
        .to_ascii_lowercase();
    let allowed = match in_queue.as_str() {
        "strict" => Some(1),
        "false" => None,
        _ => Some(2),
    };
    if let (Some(allowed), Some(number)) = (allowed, opts.get("_customer_number")) {
        if waiting.same_number >= allowed {
            return Err(CallbackError::ServiceUnavailable(format!(
                "Callback for _customer_number={number} rejected because {} callback(s) for \
                 this number are already queued in {service} (_enable_in_queue_checking={in_queue}).",
                waiting.same_number
            )));
        }
    }
    // 5. Throttles.
    for (limit, ttl_s) in rate_throttles(opts) {
        if throttles.accepted_within(service, now, ttl_s.saturating_mul(1000)) >= limit {
            return Err(CallbackError::ServiceUnavailable(format!(
                "Limit of queued callbacks for {service} is reached for interval {ttl_s}s."
            )));
        }
    }
    if let Some(limit) = value_limit(opts) {
        for (param, value) in throttled_values(opts, headers) {
            if throttles.today(service, &param, &value, now) >= limit {
                return Err(CallbackError::ServiceUnavailable(format!(
                    "Callback for {param}={value} rejected because previous callbacks for this \
                     parameter were requested for more than {limit} times today."
                )));
            }
        }
    }
    Ok(Admitted {
        desired_time,
        immediate,
    })
}

fn check_number(service: &str, opts: &Resolved<'_>, number: &str) -> Result<(), CallbackError> {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    if list(opts.get("_exceptions").unwrap_or(""))
        .any(|e| !digits(e).is_empty() && digits(e) == digits(number))
    {
        return Err(CallbackError::Number(format!(
            "Customer Number [{number}] is disallowed, because it is in the exception list of \
             service {service}. Check option _exceptions"
        )));
    }
    let premium = truthy(opts.get("_disallow_premium_phone_numbers"));
    let impossible = truthy(opts.get("_disallow_impossible_phone_numbers"));
    if !premium && !impossible {
        return Ok(());
    }
    let Some(country) = opts.get("_default_country") else {
        let option = if premium {
            "_disallow_premium_phone_numbers"
        } else {
            "_disallow_impossible_phone_numbers"
        };
        return Err(CallbackError::Number(format!(
            "Service option {service} / _default_country is not configured. But option {option} \
             is set. We cannot validate phone numbers without knowing the country."
        )));
    };
    if premium && crate::phone::is_premium(number, Some(country)) {
        return Err(CallbackError::Number(format!(
            "Customer Number [{number}] is disallowed, because it's a premium number. Check \
             option _disallow_premium_phone_numbers"
        )));
    }
    if impossible && crate::phone::is_impossible(number, Some(country)) {
        return Err(CallbackError::Number(format!(
            "Customer Number [{number}] is disallowed, because it is invalid. Check option \
             _disallow_impossible_phone_numbers"
        )));
    }
    Ok(())
}

/// `(limit, ttl seconds)` of every `_throttle_callbacks_per_service_N` with its `_throttle_ttl_N`.
fn rate_throttles(opts: &Resolved<'_>) -> Vec<(u64, i64)> {
    let mut out = Vec::new();
    // GMS numbers them from 1; a gap ends the list.
    for n in 1.. {
        let Some(limit) = int(opts, &format!("_throttle_callbacks_per_service_{n}")) else {
            break;
        };
        if let Some(ttl) = int(opts, &format!("_throttle_ttl_{n}")).filter(|t| *t > 0) {
            out.push((limit.max(0) as u64, ttl));
        }
    }
    out
}

/// The per-day limit on one value of a throttled parameter.
fn value_limit(opts: &Resolved<'_>) -> Option<u64> {
    int(opts, "_throttle_request_parameters_limit")
        .or_else(|| int(opts, "_throttle_customer_number_limit"))
        .map(|l| l.max(0) as u64)
}

/// The throttled parameters and the values this request gives them (a header wins over the
/// body when `_enable_throttle_header_parameters` is on, as by default). Without
/// `_throttle_request_parameters`, `_throttle_customer_number_limit` throttles
/// `_customer_number`.
pub fn throttled_values(
    opts: &Resolved<'_>,
    headers: &[(String, String)],
) -> Vec<(String, String)> {
    let names: Vec<&str> = match opts.get("_throttle_request_parameters") {
        Some(l) => list(l).collect(),
        None if opts.get("_throttle_customer_number_limit").is_some() => vec!["_customer_number"],
        None => Vec::new(),
    };
    let use_headers = opts
        .get("_enable_throttle_header_parameters")
        .is_none_or(|v| truthy(Some(v)));
    names
        .into_iter()
        .filter_map(|name| {
            let header = use_headers
                .then(|| {
                    headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim())
                        .filter(|v| !v.is_empty())
                })
                .flatten();
            header
                .or_else(|| opts.get(name))
                .map(|v| (name.to_owned(), v.to_owned()))
        })
        .collect()
}

/// A period such as `1M`: a count and a unit (`y` years of 365 days, `M` months of 30 days,
/// `w`, `d`, `h`, `m` minutes).
pub fn period_ms(s: &str) -> Option<Millis> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let count: i64 = s.get(..s.len() - unit.len_utf8())?.trim().parse().ok()?;
    let unit_ms: Millis = match unit {
        'y' => 365 * DAY_MS,
        'M' => 30 * DAY_MS,
        'w' => 7 * DAY_MS,
        'd' => DAY_MS,
        'h' => 3_600_000,
        'm' => 60_000,
        _ => return None,
    };
    (count >= 0).then(|| count.saturating_mul(unit_ms))
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|k| !k.is_empty())
}

fn int(opts: &Resolved<'_>, key: &str) -> Option<i64> {
    opts.get(key).and_then(|v| v.trim().parse().ok())
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Per throttled value: the UTC day and how many requests were accepted with it that day.
type DayCounts = BTreeMap<String, (i64, u64)>;

/// Accepted requests, for the throttles.
#[derive(Debug, Default)]
pub struct Throttles {
    /// Per service: when requests were accepted, oldest first (a day at most).
    accepted: HashMap<String, VecDeque<Millis>>,
    /// Per service, parameter and value: the UTC day and how many were accepted on it. The
    /// values (one per customer number) are a B-tree: it never rehashes as it grows, and a
    /// lookup borrows the strings.
    per_value: HashMap<String, HashMap<String, DayCounts>>,
}

impl Throttles {
    pub fn new() -> Throttles {
        Throttles::default()
    }

    /// Records an accepted request of `service` at `at` with its throttled values.
    pub fn note(&mut self, service: &str, values: &[(String, String)], at: Millis) {
        let q = self.accepted.entry(service.to_owned()).or_default();
        // Kept in order even when records are replayed out of order at start.
        let pos = q.partition_point(|t| *t <= at);
        q.insert(pos, at);
        while q.front().is_some_and(|t| *t <= at - DAY_MS) {
            q.pop_front();
        }
        let day = at.div_euclid(DAY_MS);
        if values.is_empty() {
            return;
        }
        let params = match self.per_value.get_mut(service) {
            Some(p) => p,
            None => self.per_value.entry(service.to_owned()).or_default(),
        };
        for (param, value) in values {
            let by_value = match params.get_mut(param.as_str()) {
                Some(v) => v,
                None => params.entry(param.clone()).or_default(),
            };
            let slot = match by_value.get_mut(value.as_str()) {
                Some(slot) => slot,
                None => by_value.entry(value.clone()).or_insert((day, 0)),
            };
            if slot.0 < day {
                *slot = (day, 0);
            }
            if slot.0 == day {
                slot.1 += 1;
            }
        }
    }

    fn accepted_within(&self, service: &str, now: Millis, window: Millis) -> u64 {
        self.accepted.get(service).map_or(0, |q| {
            let from = q.partition_point(|t| *t <= now - window);
            (q.len() - from) as u64
        })
    }

    fn today(&self, service: &str, param: &str, value: &str, now: Millis) -> u64 {
        let slot = self
            .per_value
            .get(service)
            .and_then(|p| p.get(param))
            .and_then(|v| v.get(value));
        match slot {
            Some((day, n)) if *day == now.div_euclid(DAY_MS) => *n,
            _ => 0,
        }
    }

    /// Forgets what no throttle can count any more (older than a day).
    pub fn prune(&mut self, now: Millis) {
        self.accepted.retain(|_, q| {
            while q.front().is_some_and(|t| *t <= now - DAY_MS) {
                q.pop_front();
            }
            !q.is_empty()
        });
        let today = now.div_euclid(DAY_MS);
        self.per_value.retain(|_, params| {
            params.retain(|_, by_value| {
                by_value.retain(|_, (day, _)| *day == today);
                !by_value.is_empty()
            });
            !params.is_empty()
        });
    }
}
