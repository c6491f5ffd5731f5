//! `CallbackBook`: every callback record in memory, with what the guards and the admin API
//! count kept up to date as records change — the callbacks waiting per service and per
//! customer number, the throttles, and the number in each state per service. The store holds
//! the same records; the book is rebuilt from it at start ([`CallbackBook::load`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::admission::{Throttles, Waiting};
use super::query::Query;
use super::{CallbackRecord, CallbackState};
use crate::store::Millis;

/// A change to the book, as its observer hears it.
#[derive(Debug, Clone, Copy)]
pub enum BookChange<'a> {
    /// A record was added or changed (as it is now; `before`: its state before, `None` when
    /// it is new).
    Put {
        record: &'a CallbackRecord,
        before: Option<CallbackState>,
    },
    /// A record left the book (expired or removed), in `state`.
    Gone {
        id: &'a str,
        service: &'a str,
        state: CallbackState,
    },
}

/// Told every change, under the book's lock: it must only hand the change on (a channel send).
pub type Observer = Arc<dyn Fn(BookChange<'_>) + Send + Sync>;

#[derive(Default)]
struct Watch(Option<Observer>);

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "observed"
        } else {
            "unobserved"
        })
    }
}

impl Watch {
    fn tell(&self, change: BookChange<'_>) {
        if let Some(o) = &self.0 {
            o(change);
        }
    }
}

/// The records, indexed.
#[derive(Debug, Default)]
pub struct CallbackBook {
    /// Boxed, and hashed with foldhash (seeded per map): growing the map under load moves
    /// pointers, not records, and rehashes ids quickly.
    records: HashMap<String, Box<CallbackRecord>, foldhash::fast::RandomState>,
    /// Per service, records in each state.
    by_state: HashMap<String, BTreeMap<CallbackState, u64>>,
    /// Per service, records waiting for an agent per customer number.
    waiting_numbers: HashMap<String, BTreeMap<String, u64>>,
    /// Per service, the desired times of records that hold a slot (all but cancelled ones).
    booked: HashMap<String, BTreeMap<Millis, u64>>,
    throttles: Throttles,
    /// Hears every change (the Callback panel's live updates).
    watch: Watch,
}

impl CallbackBook {
    pub fn new() -> CallbackBook {
        CallbackBook::default()
    }

    /// The book of stored records; `throttled` gives each record's throttled values (they
    /// depend on its service's options), so the throttles count them again.
    pub fn load(
        records: Vec<CallbackRecord>,
        throttled: impl Fn(&CallbackRecord) -> Vec<(String, String)>,
    ) -> CallbackBook {
        let mut book = CallbackBook::new();
        for r in records {
            let values = throttled(&r);
            book.insert(r, &values);
        }
        book
    }

    /// From now on, `observer` hears every record added, changed or dropped.
    pub fn observe(&mut self, observer: Observer) {
        self.watch = Watch(Some(observer));
    }

    /// The observer, for a book that replaces this one.
    pub fn observer(&self) -> Option<Observer> {
        self.watch.0.clone()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record, in no particular order.
    pub fn records(&self) -> impl Iterator<Item = &CallbackRecord> {
        self.records.values().map(|r| &**r)
    }

    pub fn get(&self, id: &str) -> Option<&CallbackRecord> {
        self.records.get(id).map(|r| &**r)
    }

    pub fn throttles(&self) -> &Throttles {
        &self.throttles
    }

    /// What the admission guards count for a request of `service` for `number`.
    pub fn waiting(&self, service: &str, number: Option<&str>) -> Waiting {
        let states = self.by_state.get(service);
        let service_waiting = states.map_or(0, |m| {
            m.iter()
                .filter(|(s, _)| s.is_waiting())
                .map(|(_, n)| *n)
                .sum()
        });
        let same_number = number
            .and_then(|n| self.waiting_numbers.get(service)?.get(n).copied())
            .unwrap_or(0);
        Waiting {
            service: service_waiting,
            same_number,
        }
    }

    /// Adds an accepted record (its request counted by the throttles at its creation time).
    pub fn insert(&mut self, record: CallbackRecord, throttled: &[(String, String)]) {
        self.throttles
            .note(&record.service, throttled, record.created_at);
        let before = self.records.remove(&record.id).map(|old| {
            self.count(&old, false);
            old.state
        });
        self.count(&record, true);
        self.watch.tell(BookChange::Put {
            record: &record,
            before,
        });
        self.records.insert(record.id.clone(), Box::new(record));
    }

    /// Changes a record in place; returns it as changed.
    pub fn update(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut CallbackRecord),
    ) -> Option<&CallbackRecord> {
        let mut record = self.records.remove(id)?;
        self.count(&record, false);
        let before = Some(record.state);
        change(&mut record);
        self.count(&record, true);
        self.watch.tell(BookChange::Put {
            record: &record,
            before,
        });
        let id = record.id.clone();
        self.records.insert(id.clone(), record);
        self.records.get(&id).map(|r| &**r)
    }

    pub fn remove(&mut self, id: &str) -> Option<CallbackRecord> {
        let r = self.records.remove(id)?;
        self.count(&r, false);
        self.watch.tell(BookChange::Gone {
            id: &r.id,
            service: &r.service,
            state: r.state,
        });
        Some(*r)
    }

    /// Records of `service` (all services when `None`) matching `query`, by desired time then id.
    pub fn query(&self, service: Option<&str>, query: &Query) -> Vec<&CallbackRecord> {
        let mut found: Vec<&CallbackRecord> = match query.ids() {
            Some(ids) => ids.iter().filter_map(|id| self.get(id)).collect(),
            None => self.records.values().map(|r| &**r).collect(),
        };
        found.retain(|r| service.is_none_or(|s| r.service == s) && query.matches(r));
        found.sort_by(|a, b| (a.desired_time, &a.id).cmp(&(b.desired_time, &b.id)));
        found.dedup_by(|a, b| a.id == b.id);
        found
    }

    /// Records of `service` holding a slot with a desired time in `[start, end)`.
    pub fn booked(&self, service: &str, start: Millis, end: Millis) -> u32 {
        if start >= end {
            return 0;
        }
        let n: u64 = self
            .booked
            .get(service)
            .map_or(0, |m| m.range(start..end).map(|(_, n)| *n).sum());
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Records in each state, per service (the admin API's watermarks).
    pub fn counts(&self) -> &HashMap<String, BTreeMap<CallbackState, u64>> {
        &self.by_state
    }

    /// Drops the records that expired by `now`; returns their ids.
    pub fn expire(&mut self, now: Millis) -> Vec<String> {
        let gone: Vec<String> = self
            .records
            .values()
            .filter(|r| r.expires_at < now)
            .map(|r| r.id.clone())
            .collect();
        for id in &gone {
            self.remove(id);
        }
        self.throttles.prune(now);
        gone
    }

    fn count(&mut self, r: &CallbackRecord, add: bool) {
        tally(&mut self.by_state, &r.service, r.state, add);
        let cancelled = r.state.is_final()
            && r.reason
                .as_deref()
                .is_some_and(|x| x.starts_with(super::reason::CANCELLED));
        if !cancelled {
            tally(&mut self.booked, &r.service, r.desired_time, add);
        }
        if r.state.is_waiting() {
            if let Some(number) = r.data.get("_customer_number") {
                tally(&mut self.waiting_numbers, &r.service, number.clone(), add);
            }
        }
    }
}

/// Adds one to (or takes one from) the count of `key` under `service`, forgetting counts that
/// reach zero and services left with none.
fn tally<K: Ord>(counts: &mut HashMap<String, BTreeMap<K, u64>>, service: &str, key: K, add: bool) {
    let per_key = counts.entry(service.to_owned()).or_default();
    if add {
        *per_key.entry(key).or_insert(0) += 1;
    } else if let Some(n) = per_key.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_key.remove(&key);
        }
    }
    if per_key.is_empty() {
        counts.remove(service);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(
        id: &str,
        service: &str,
        number: &str,
        state: CallbackState,
        at: Millis,
    ) -> CallbackRecord {
        CallbackRecord {
            id: id.into(),
            service: service.into(),
            state,
            reason: None,
            desired_time: at,
            created_at: at,
            expires_at: at + 1_000,
            session: None,
            data: [("_customer_number".to_owned(), number.to_owned())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn the_observer_hears_every_put_change_and_removal() {
        use std::sync::Mutex;
        let heard: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = heard.clone();
        let mut book = CallbackBook::new();
        book.observe(Arc::new(move |c| {
            let line = match c {
                BookChange::Put { record: r, before } => format!(
                    "put {} {}{}",
                    r.id,
                    before.map_or(String::new(), |b| format!("{} -> ", b.as_str())),
                    r.state.as_str()
                ),
                BookChange::Gone { id, service, state } => {
                    format!("gone {id} {service} {}", state.as_str())
                }
            };
            sink.lock().unwrap().push(line);
        }));
        book.insert(record("a", "s", "1", CallbackState::Scheduled, 0), &[]);
        book.insert(record("b", "s", "2", CallbackState::Queued, 5_000), &[]);
        book.update("a", |r| r.set_state(CallbackState::Queued, None));
        book.update("missing", |r| r.set_state(CallbackState::Queued, None));
        assert_eq!(book.expire(2_000), ["a"]);
        let again = CallbackBook::load(Vec::new(), |_| Vec::new());
        assert!(again.observer().is_none());
        assert!(book.observer().is_some());
        assert_eq!(
            *heard.lock().unwrap(),
            [
                "put a SCHEDULED",
                "put b QUEUED",
                "put a SCHEDULED -> QUEUED",
                "gone a s QUEUED"
            ]
        );
    }

    #[test]
    fn counts_follow_every_change() {
        use CallbackState::*;
        let mut book = CallbackBook::load(
            vec![
                record("a", "cb", "1", Queued, 10),
                record("b", "cb", "1", Scheduled, 20),
                record("c", "cb", "2", Routing, 30),
                record("d", "other", "1", Queued, 40),
            ],
            |r| {
                vec![(
                    "_customer_number".into(),
                    r.data["_customer_number"].clone(),
                )]
            },
        );
        assert_eq!(
            book.waiting("cb", Some("1")),
            Waiting {
                service: 2,
                same_number: 1
            }
        );
        assert_eq!(
            book.waiting("cb", Some("9")),
            Waiting {
                service: 2,
                same_number: 0
            }
        );
        book.update("b", |r| r.state = Queued).unwrap();
        assert_eq!(
            book.waiting("cb", Some("1")),
            Waiting {
                service: 3,
                same_number: 2
            }
        );
        book.update("a", |r| r.set_state(Completed, Some("CANCELLED")))
            .unwrap();
        assert_eq!(
            book.waiting("cb", Some("1")),
            Waiting {
                service: 2,
                same_number: 1
            }
        );
        assert_eq!(
            book.counts()["cb"],
            [(Queued, 1), (Routing, 1), (Completed, 1)]
                .into_iter()
                .collect()
        );
        // Queries: one service or all, by desired time.
        let q = Query::from_params(&[("_customer_number".into(), "1".into())], &[]).unwrap();
        let ids = |v: Vec<&CallbackRecord>| v.into_iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(book.query(Some("cb"), &q)), ["a", "b"]);
        assert_eq!(ids(book.query(None, &q)), ["a", "b", "d"]);
        let by_id = Query::from_params(
            &[
                ("_id".into(), "d".into()),
                ("_id".into(), "c".into()),
                ("_id".into(), "d".into()),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(ids(book.query(None, &by_id)), ["c", "d"]);
        // Slots: every record but cancelled ones holds one (b at 20, c at 30; not a).
        assert_eq!(book.booked("cb", 0, 100), 2);
        assert_eq!(book.booked("cb", 25, 100), 1);
        // Expiry drops records and their counts.
        assert_eq!(book.expire(1_015), ["a"]);
        assert_eq!(book.len(), 3);
        assert_eq!(
            book.counts()["cb"],
            [(Queued, 1), (Routing, 1)].into_iter().collect()
        );
        assert!(book.remove("c").is_some());
        assert_eq!(
            book.waiting("cb", None),
            Waiting {
                service: 1,
                same_number: 0
            }
        );
    }
}
