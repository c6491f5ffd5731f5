//! When a scheduled callback may be booked (gms-api.md §1.5): the slots of
//! `_request_time_bucket` minutes in which the office is open (`_business_hours_service`),
//! each allowing the capacity service's number (`_capacity_service`) or, without one,
//! `_max_request_by_time_bucket`, less the callbacks already booked in it.
//!
//! A slot is offered when the office is open at its start. Slots start at local hour
//! boundaries in the capacity service's zone (without one, the office's zone, else UTC).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::{iso, CallbackError};
use crate::calendar::OfficeHours;
use crate::capacity::Capacity;
use crate::store::Millis;

/// One bookable slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotView {
    pub start: Millis,
    /// Wall-clock start in `tz` with its offset (`2027-01-15T09:00:00.000+01:00`).
    pub local_start: String,
    /// Callbacks the slot allows, and how many more it takes.
    pub total: u32,
    pub left: u32,
}

/// What a callback service books against.
#[derive(Debug, Clone)]
pub struct Availability {
    hours: Option<OfficeHours>,
    capacity: Capacity,
}

/// How many callbacks are booked in `[start, end)`.
pub type Booked<'a> = &'a dyn Fn(Millis, Millis) -> u32;

/// At most this many slots are listed when a desired time is refused.
pub const PROPOSED_SLOTS: usize = 10;

impl Availability {
    /// `capacity`: the capacity service's grid (built with the callback service's bucket), or
    /// `None` for `max_per_bucket` in every slot.
    pub fn new(
        hours: Option<OfficeHours>,
        capacity: Option<Capacity>,
        bucket_minutes: u32,
        max_per_bucket: u32,
    ) -> Availability {
        let capacity = capacity.unwrap_or_else(|| {
            let tz = hours.as_ref().map_or(Tz::UTC, OfficeHours::timezone);
            Capacity::uniform(tz, bucket_minutes, max_per_bucket)
        });
        Availability { hours, capacity }
    }

    pub fn timezone(&self) -> Tz {
        self.capacity.timezone()
    }

    pub fn bucket_minutes(&self) -> u32 {
        self.capacity.bucket_minutes()
    }

    /// Open slots starting in `[start, end)`, in time order, at most `max` of them; full ones
    /// only with `report_busy`.
    pub fn slots(
        &self,
        start: Millis,
        end: Millis,
        booked: Booked<'_>,
        max: usize,
        report_busy: bool,
    ) -> Vec<SlotView> {
        let (Some(s), Some(e)) = (utc(start), utc(end)) else {
            return Vec::new();
        };
        let len = i64::from(self.bucket_minutes()) * 60_000;
        let tz = self.timezone();
        let mut out = Vec::new();
        for slot in self.capacity.slots(s, e) {
            if out.len() >= max {
                break;
            }
            if slot.capacity == 0
                || self
                    .hours
                    .as_ref()
                    .is_some_and(|h| !h.is_open(slot.start_utc))
            {
                continue;
            }
            let at = slot.start_utc.timestamp_millis();
            let left = slot.capacity.saturating_sub(booked(at, at + len));
            if left == 0 && !report_busy {
                continue;
            }
            out.push(SlotView {
                start: at,
                local_start: slot
                    .start_utc
                    .with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
                total: slot.capacity,
                left,
            });
        }
        out
    }

    /// Checks a desired time for a scheduled callback: the office must be open then and its
    /// slot have room. Refused, the error carries the next free slots from that time (up to
    /// [`PROPOSED_SLOTS`], within `horizon` ms), as GMS's `availability` map.
    pub fn check(
        &self,
        desired: Millis,
        booked: Booked<'_>,
        horizon: Millis,
    ) -> Result<(), CallbackError> {
        let len = i64::from(self.bucket_minutes()) * 60_000;
        // The slot containing the desired time.
        let slot = self
            .capacity
            .slots(
                utc(desired - len).unwrap_or_default(),
                utc(desired + 1).unwrap_or_default(),
            )
            .into_iter()
            .rev()
            .find(|s| s.start_utc.timestamp_millis() <= desired);
        let open = self
            .hours
            .as_ref()
            .is_none_or(|h| utc(desired).is_some_and(|t| h.is_open(t)));
        let room = slot.is_some_and(|s| {
            let at = s.start_utc.timestamp_millis();
            s.capacity > booked(at, at + len)
        });
        if open && room {
            return Ok(());
        }
        let availability: BTreeMap<String, u32> = self
            .slots(
                desired,
                desired.saturating_add(horizon),
                booked,
                PROPOSED_SLOTS,
                false,
            )
            .into_iter()
            .map(|s| (iso(s.start), s.left))
            .collect();
        let why = if open {
            "its time slot is full"
        } else {
            "it is outside office hours"
        };
        Err(CallbackError::Unavailable {
            message: format!(
                "The desired time {} is not available: {why}. See the available time slots.",
                iso(desired)
            ),
            availability,
        })
    }
}

fn utc(ms: Millis) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}
