//! The scheduler of SCHEDULED callbacks: each is started `_request_execution_time_buffer`
//! seconds before its desired time. Sans-IO: the caller asks for the next deadline, takes what
//! is due at a time it passes in, starts those sessions, and reports a start that failed; after
//! `_max_ors_submit_attempts` failures the callback ends with `SUBMIT_FAILED`.
//!
//! Nothing here is durable: at start the caller schedules every stored SCHEDULED record again
//! (a start time already past is due at once, oldest first), and a callback leaves SCHEDULED,
//! durably, when its session starts, so none is started twice.

use std::collections::{BTreeSet, HashMap};

use crate::store::Millis;

/// What to do after a failed start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// Try again at this time.
    At(Millis),
    /// The attempts are used up: the callback fails (`SUBMIT_FAILED`).
    GiveUp { attempts: u32 },
}

/// Callbacks waiting for their start time.
#[derive(Debug, Default)]
pub struct Scheduler {
    queue: BTreeSet<(Millis, String)>,
    start_at: HashMap<String, Millis>,
    failures: HashMap<String, u32>,
}

impl Scheduler {
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    pub fn len(&self) -> usize {
        self.start_at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.start_at.is_empty()
    }

    /// Schedules (or reschedules) `id` to start at `at`.
    pub fn schedule(&mut self, id: &str, at: Millis) {
        if let Some(old) = self.start_at.insert(id.to_owned(), at) {
            self.queue.remove(&(old, id.to_owned()));
        }
        self.queue.insert((at, id.to_owned()));
    }

    /// Forgets `id` (cancelled, or started elsewhere).
    pub fn cancel(&mut self, id: &str) {
        if let Some(at) = self.start_at.remove(id) {
            self.queue.remove(&(at, id.to_owned()));
        }
        self.failures.remove(id);
    }

    pub fn start_time(&self, id: &str) -> Option<Millis> {
        self.start_at.get(id).copied()
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Takes up to `max` callbacks due by `now`, earliest first (equal times by id). They are
    /// no longer scheduled; report each as [`started`](Self::started) or
    /// [`failed`](Self::failed).
    pub fn take_due(&mut self, now: Millis, max: usize) -> Vec<(String, Millis)> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.queue.first() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            if let Some((at, id)) = self.queue.pop_first() {
                self.start_at.remove(&id);
                out.push((id, at));
            }
        }
        out
    }

    /// Its session started: its failures are forgotten.
    pub fn started(&mut self, id: &str) {
        self.failures.remove(id);
    }

    /// Its session did not start at `now`: scheduled again `retry_ms` later, unless that was
    /// attempt number `max_attempts` (at least 1).
    pub fn failed(&mut self, id: &str, now: Millis, max_attempts: u32, retry_ms: Millis) -> Retry {
        let n = self.failures.entry(id.to_owned()).or_insert(0);
        *n += 1;
        let attempts = *n;
        if attempts >= max_attempts.max(1) {
            self.failures.remove(id);
            return Retry::GiveUp { attempts };
        }
        let at = now.saturating_add(retry_ms.max(0));
        self.schedule(id, at);
        Retry::At(at)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn due_callbacks_come_out_in_time_order_once() {
        let mut s = Scheduler::new();
        s.schedule("b", 200);
        s.schedule("a", 100);
        s.schedule("c", 100);
        s.schedule("late", 900);
        // Rescheduling replaces the old time.
        s.schedule("late", 300);
        assert_eq!(s.next_deadline(), Some(100));
        assert_eq!(s.take_due(99, 10), []);
        assert_eq!(
            s.take_due(250, 2),
            [("a".to_owned(), 100), ("c".to_owned(), 100)]
        );
        assert_eq!(s.take_due(250, 10), [("b".to_owned(), 200)]);
        assert_eq!(s.take_due(250, 10), []);
        s.cancel("late");
        assert!(s.is_empty());
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn failed_starts_retry_then_give_up() {
        let mut s = Scheduler::new();
        s.schedule("x", 0);
        assert_eq!(s.take_due(0, 1).len(), 1);
        assert_eq!(s.failed("x", 0, 3, 5_000), Retry::At(5_000));
        assert_eq!(s.start_time("x"), Some(5_000));
        s.take_due(5_000, 1);
        assert_eq!(s.failed("x", 5_000, 3, 5_000), Retry::At(10_000));
        s.take_due(10_000, 1);
        assert_eq!(
            s.failed("x", 10_000, 3, 5_000),
            Retry::GiveUp { attempts: 3 }
        );
        assert!(s.is_empty());
        // A start after failures forgets them.
        s.schedule("y", 0);
        s.take_due(0, 1);
        s.failed("y", 0, 2, 1);
        s.take_due(1, 1);
        s.started("y");
        s.schedule("y", 2);
        s.take_due(2, 1);
        assert_eq!(s.failed("y", 2, 2, 1), Retry::At(3));
    }
}
