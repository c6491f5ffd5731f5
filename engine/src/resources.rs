//! Access-number resources: groups of numbers (DNIS) that request-interaction and
//! request-access book for a service, and match-interaction matches an inbound call against.
//!
//! - Allocation is random or round-robin.
//! - A *locking* group hands a number to one booking at a time, so matching on the number alone
//!   is reliable. A non-locking group shares numbers, and a match is told apart by the caller's
//!   number (ANI) or an access code.
//! - A booking lasts `_booking_expiration_timeout` seconds (5 to 1800, otherwise 30). It is
//!   released when it is matched or when it expires.
//!
//! Time and randomness are parameters, so every rule is tested deterministically.

use std::collections::BTreeMap;

use rand::Rng;

use crate::store::{Booking, Millis};

/// Default and bounds of `_booking_expiration_timeout`, in seconds (product help, request-access).
pub const DEFAULT_BOOKING_SECS: i64 = 30;
pub const MIN_BOOKING_SECS: i64 = 5;
pub const MAX_BOOKING_SECS: i64 = 1800;
/// Default `_access_code_length`.
pub const DEFAULT_CODE_LENGTH: usize = 6;
pub const MAX_CODE_LENGTH: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    Random,
    RoundRobin,
}

impl Allocation {
    pub fn parse(s: &str) -> Option<Allocation> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "random" => Some(Allocation::Random),
            "round-robin" | "roundrobin" | "round_robin" => Some(Allocation::RoundRobin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Allocation::Random => "random",
            Allocation::RoundRobin => "round-robin",
        }
    }
}

/// How a group is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    pub numbers: Vec<String>,
    pub allocation: Allocation,
    pub locking: bool,
    /// Seconds a booking lasts when the request does not say.
    pub booking_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource group '{0}' does not exist")]
    UnknownGroup(String),
    #[error("resource group '{0}' has no access numbers")]
    EmptyGroup(String),
    #[error("no access number of resource group '{0}' is available: all are booked")]
    NoneAvailable(String),
    #[error("_access_code_length must be between 1 and {MAX_CODE_LENGTH}, not '{0}'")]
    BadCodeLength(String),
    #[error("no free access code of length {length} for access number {number}")]
    CodesExhausted { number: String, length: usize },
}

/// A request for access information.
#[derive(Debug, Clone, Default)]
pub struct BookRequest {
    pub group: String,
    pub service_id: String,
    pub phone_number: Option<String>,
    /// `_provide_code`: also hand out an access code.
    pub provide_code: bool,
    /// `_access_code_length` as given (default 6).
    pub code_length: Option<String>,
    /// `_booking_expiration_timeout` as given; out of range means 30 s.
    pub timeout: Option<String>,
}

/// What a match looks for.
#[derive(Debug, Clone, Default)]
pub struct MatchRequest {
    pub access_number: String,
    pub phone_number: Option<String>,
    pub access_code: Option<String>,
}

#[derive(Debug)]
struct Group {
    cfg: GroupConfig,
    next: usize,
    /// Active bookings, oldest first.
    bookings: Vec<Booking>,
}

/// Every resource group and its bookings. Not synchronised: the owner wraps it in a lock, so
/// an allocation and the check that the number is free happen under one lock.
#[derive(Debug, Default)]
pub struct ResourcePool {
    groups: BTreeMap<String, Group>,
}

/// The booking length a request gets (product help: 5 to 1800 seconds, otherwise 30).
pub fn booking_secs(requested: Option<&str>, group_default: i64) -> i64 {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => group_default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (MIN_BOOKING_SECS..=MAX_BOOKING_SECS).contains(&n) => n,
            _ => DEFAULT_BOOKING_SECS,
        },
    }
}

/// The digits of a phone number, for comparing numbers written differently.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether two phone numbers are the same line: equal digits, or one is the other with a
/// country or trunk prefix (at least 7 digits in common).
pub fn same_phone(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short == long || (short.len() >= 7 && long.ends_with(short.as_str()))
}

impl ResourcePool {
    pub fn new() -> ResourcePool {
        ResourcePool::default()
    }

    /// Creates or reconfigures a group. Bookings on numbers that remain are kept.
    pub fn configure(&mut self, name: &str, cfg: GroupConfig) {
        match self.groups.get_mut(name) {
            Some(g) => {
                g.bookings.retain(|b| cfg.numbers.contains(&b.number));
                g.next = if cfg.numbers.is_empty() {
                    0
                } else {
                    g.next % cfg.numbers.len()
                };
                g.cfg = cfg;
            }
            None => {
                self.groups.insert(
                    name.to_string(),
                    Group {
                        cfg,
                        next: 0,
                        bookings: Vec::new(),
                    },
                );
            }
        }
    }

    /// Removes a group; returns its bookings (to delete from the store).
    pub fn remove(&mut self, name: &str) -> Option<Vec<Booking>> {
        self.groups.remove(name).map(|g| g.bookings)
    }

    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.get(name).map(|g| &g.cfg)
    }

    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Puts back bookings read from the store at start (those of unknown groups are returned).
    pub fn restore(&mut self, bookings: Vec<Booking>) -> Vec<Booking> {
        let mut orphans = Vec::new();
        for b in bookings {
            match self.groups.get_mut(&b.group) {
                Some(g) if g.cfg.numbers.contains(&b.number) => g.bookings.push(b),
                _ => orphans.push(b),
            }
        }
        for g in self.groups.values_mut() {
            g.bookings.sort_by_key(|b| b.expires_at);
        }
        orphans
    }

    /// `(available, total)` numbers of a group at `now`: for a locking group, numbers not
    /// booked; for a non-locking group every number is available.
    pub fn counts(&self, name: &str, now: Millis) -> Option<(usize, usize)> {
        let g = self.groups.get(name)?;
        let total = g.cfg.numbers.len();
        if !g.cfg.locking {
            return Some((total, total));
        }
        let booked = g
            .cfg
            .numbers
            .iter()
            .filter(|n| {
                g.bookings
                    .iter()
                    .any(|b| &b.number == *n && b.expires_at > now)
            })
            .count();
        Some((total - booked, total))
    }

    /// Books an access number (and code) for a service.
    pub fn book(
        &mut self,
        req: &BookRequest,
        now: Millis,
        rng: &mut impl Rng,
    ) -> Result<Booking, ResourceError> {
        let g = self
            .groups
            .get_mut(&req.group)
            .ok_or_else(|| ResourceError::UnknownGroup(req.group.clone()))?;
        g.bookings.retain(|b| b.expires_at > now);
        let code_length = match req.code_length.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_CODE_LENGTH,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_CODE_LENGTH).contains(&n) => n,
                _ => return Err(ResourceError::BadCodeLength(s.to_string())),
            },
        };
        let n = g.cfg.numbers.len();
        if n == 0 {
            return Err(ResourceError::EmptyGroup(req.group.clone()));
        }
        let free = |g: &Group, i: usize| {
            !g.cfg.locking || !g.bookings.iter().any(|b| b.number == g.cfg.numbers[i])
        };
        let index = match g.cfg.allocation {
            Allocation::RoundRobin => {
                let start = g.next % n;
                let found = (0..n).map(|k| (start + k) % n).find(|&i| free(g, i));
                if let Some(i) = found {
                    g.next = (i + 1) % n;
                }
                found
            }
            Allocation::Random => {
                let candidates: Vec<usize> = (0..n).filter(|&i| free(g, i)).collect();
                if candidates.is_empty() {
                    None
                } else {
                    Some(candidates[rng.random_range(0..candidates.len())])
                }
            }
        };
        let Some(index) = index else {
            return Err(ResourceError::NoneAvailable(req.group.clone()));
        };
        let number = g.cfg.numbers[index].clone();
        let access_code = if req.provide_code {
            // Unique among the active bookings of this number, so number + code is a key.
            let mut code = None;
            for _ in 0..200 {
                let c: String = (0..code_length)
                    .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                    .collect();
                if !g
                    .bookings
                    .iter()
                    .any(|b| b.number == number && b.access_code.as_deref() == Some(c.as_str()))
                {
                    code = Some(c);
                    break;
                }
            }
            Some(code.ok_or(ResourceError::CodesExhausted {
                number: number.clone(),
                length: code_length,
            })?)
        } else {
            None
        };
        let secs = booking_secs(req.timeout.as_deref(), g.cfg.booking_secs);
        let booking = Booking {
            group: req.group.clone(),
            number,
            access_code,
            service_id: req.service_id.clone(),
            phone_number: req.phone_number.clone().filter(|p| !p.trim().is_empty()),
            expires_at: now.saturating_add(secs.saturating_mul(1000)),
            locking: g.cfg.locking,
            booked_at: Some(now),
        };
        g.bookings.push(booking.clone());
        Ok(booking)
    }

    /// Active bookings that match an inbound call, newest first. The access code, when given,
    /// must match; the caller's number, when given and the booking has one, must match.
    pub fn find(&self, req: &MatchRequest, now: Millis) -> Vec<Booking> {
        let mut out: Vec<Booking> = self
            .groups
            .values()
            .flat_map(|g| g.bookings.iter())
            .filter(|b| b.expires_at > now && b.number == req.access_number.trim())
            .filter(|b| match req.access_code.as_deref().map(str::trim) {
                Some(code) if !code.is_empty() => b.access_code.as_deref() == Some(code),
                _ => true,
            })
            .filter(
                |b| match (req.phone_number.as_deref(), b.phone_number.as_deref()) {
                    (Some(ani), Some(booked)) if !ani.trim().is_empty() => same_phone(ani, booked),
                    // The caller's number is required when the booking has none to compare and
                    // neither a code nor a lock tells bookings apart.
                    (Some(ani), None) if !ani.trim().is_empty() => {
                        b.locking || req.access_code.is_some()
                    }
                    _ => true,
                },
            )
            .cloned()
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.expires_at));
        out
    }

    /// Bookings of a group held now (until their expiry is noticed).
    pub fn in_use(&self, name: &str) -> usize {
        self.groups.get(name).map_or(0, |g| g.bookings.len())
    }

    /// Releases every booking of a service; returns them.
    pub fn release(&mut self, service_id: &str) -> Vec<Booking> {
        let mut released = Vec::new();
        for g in self.groups.values_mut() {
            let (gone, kept): (Vec<Booking>, Vec<Booking>) = std::mem::take(&mut g.bookings)
                .into_iter()
                .partition(|b| b.service_id == service_id);
            g.bookings = kept;
            released.extend(gone);
        }
        released
    }

    /// Drops bookings expired at `now`; returns them.
    pub fn expire(&mut self, now: Millis) -> Vec<Booking> {
        let mut expired = Vec::new();
        for g in self.groups.values_mut() {
            let (gone, kept): (Vec<Booking>, Vec<Booking>) = std::mem::take(&mut g.bookings)
                .into_iter()
                .partition(|b| b.expires_at <= now);
            g.bookings = kept;
            expired.extend(gone);
        }
        expired
    }
}
