//! The callback service's journeys: each callback is a service of its customer (found by
//! `_customer_number` among the profiles' phone numbers, else anonymous by that number), with a
//! state per stage of the callback and its outcome as the service's disposition — so a
//! customer's journey shows their callbacks with no code in the app.

use std::collections::HashMap;

use super::facade::ContextServices;
use super::model::{Event, ItemQuery, Owner, Service, State, Write};
use super::{CsError, DEFAULT_TENANT};
use crate::callback::CallbackState;
use crate::store::Millis;

/// The service type of a callback's journey unless its service sets `_cs_service_type`.
pub const DEFAULT_SERVICE_TYPE: &str = "Callback";

/// One change of a callback, as the journal hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackNote {
    pub id: String,
    /// The journey's service type (`_cs_service_type`).
    pub service_type: String,
    pub state: CallbackState,
    /// Its state before (`None`: the callback is new).
    pub before: Option<CallbackState>,
    pub reason: Option<String>,
    pub number: Option<String>,
    /// `voice` or `chat`.
    pub media: String,
    pub created_at: Millis,
    pub at: Millis,
    /// The record left the book (expired or removed): its journal is forgotten.
    pub gone: bool,
}

/// The state type of a stage (`None`: the stage starts no state).
pub fn stage(state: CallbackState) -> Option<&'static str> {
    match state {
        CallbackState::Scheduled => Some("Callback Scheduled"),
        CallbackState::Queued => Some("Callback Queued"),
        CallbackState::Routing => Some("Callback Offered"),
        CallbackState::Processing => Some("Callback Connected"),
        CallbackState::Paused | CallbackState::Completed => None,
    }
}

/// What the journal keeps of a callback's journey between changes.
#[derive(Debug, Clone)]
pub(super) struct Journal {
    service: Service,
    /// The stage's state, while one is open.
    current: Option<State>,
    states: u32,
}

impl ContextServices {
    /// The journey of a callback whose journal is not in memory (after a restart): its service
    /// and open state from the store.
    fn journal_of(&self, id: &str) -> Result<Option<Journal>, CsError> {
        let journeys = self.store().journeys();
        let Some(service) = journeys.cs_service(DEFAULT_TENANT, id)? else {
            return Ok(None);
        };
        let all = journeys.cs_states(DEFAULT_TENANT, &[id], &ItemQuery::default())?;
        let current = all.iter().rev().find(|s| s.completed.is_none()).cloned();
        Ok(Some(Journal {
            service,
            current,
            states: all.len() as u32,
        }))
    }

    /// The owner of a callback's journey: the customer whose profile has the number as a
    /// phone number, else anonymous by the number (by the callback when it has none).
    fn callback_owner(&self, note: &CallbackNote) -> Owner {
        let Some(number) = note
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        else {
            return Owner::Anonymous(note.id.clone());
        };
        let digits = number.trim_start_matches('+');
        let candidates = if digits == number {
            &[number][..]
        } else {
            &[number, digits][..]
        };
        for candidate in candidates {
            let query = [("PhoneNumber".to_owned(), (*candidate).to_owned())];
            if let Ok((_, found)) = self.identify(DEFAULT_TENANT, &query, Some("PhoneNumber")) {
                if let Some(p) = found.first() {
                    return Owner::Customer(p.customer_id.clone());
                }
            }
        }
        Owner::Anonymous(number.to_owned())
    }

    /// Records callbacks' changes in their journeys, in order, in one durable write; how many
    /// records it wrote.
    pub async fn record_callbacks(&self, notes: Vec<CallbackNote>) -> Result<usize, CsError> {
        let mut writes = Vec::new();
        let mut touched: HashMap<String, Journal> = HashMap::new();
        let mut finished = Vec::new();
        for note in notes {
            if note.gone {
                touched.remove(&note.id);
                self.journals().lock().remove(&note.id);
                continue;
            }
            if note.before == Some(note.state) {
                continue;
            }
            let known = match touched.remove(&note.id) {
                Some(j) => Some(j),
                None => match self.journals().lock().remove(&note.id) {
                    Some(j) => Some(j),
                    None if note.before.is_some() => self.journal_of(&note.id)?,
                    None => None,
                },
            };
            let mut j = match known {
                Some(j) => j,
                None => {
                    let started = Event {
                        timestamp: note.created_at,
                        interaction_id: Some(note.id.clone()),
                        application_type: Some("callback".to_owned()),
                        media_type: Some(note.media.clone()),
                        ..Event::default()
                    };
                    let service = Service {
                        id: note.id.clone(),
                        owner: self.callback_owner(&note),
                        service_type: Some(note.service_type.clone()),
                        est_duration: None,
                        started,
                        completed: None,
                        extensions: Default::default(),
                        expires_at: None,
                        auto_complete_after: None,
                        last_activity: note.at,
                    };
                    writes.push(Write::PutService {
                        tenant: DEFAULT_TENANT.to_owned(),
                        service: service.clone(),
                    });
                    Journal {
                        service,
                        current: None,
                        states: 0,
                    }
                }
            };
            let end = |reason: Option<&String>| Event {
                timestamp: note.at,
                disposition: reason.cloned(),
                ..Event::default()
            };
            // The open stage ends when the callback moves on (a pause keeps it open).
            if note.state != CallbackState::Paused {
                if let Some(mut st) = j.current.take() {
                    st.completed = Some(end(if note.state == CallbackState::Completed {
                        note.reason.as_ref()
                    } else {
                        None
                    }));
                    writes.push(Write::PutState {
                        tenant: DEFAULT_TENANT.to_owned(),
                        state: st,
                    });
                }
            }
            if let Some(kind) = stage(note.state) {
                j.states += 1;
                let st = State {
                    service_id: note.id.clone(),
                    id: format!("{}-{}", note.id, j.states),
                    state_type: Some(kind.to_owned()),
                    previous_state_id: None,
                    est_duration: None,
                    started: Event {
                        timestamp: note.at,
                        media_type: Some(note.media.clone()),
                        ..Event::default()
                    },
                    completed: None,
                    extensions: Default::default(),
                };
                writes.push(Write::PutState {
                    tenant: DEFAULT_TENANT.to_owned(),
                    state: st.clone(),
                });
                j.current = Some(st);
            }
            j.service.last_activity = j.service.last_activity.max(note.at);
            if note.state == CallbackState::Completed {
                j.service.completed = Some(end(note.reason.as_ref()));
                writes.push(Write::PutService {
                    tenant: DEFAULT_TENANT.to_owned(),
                    service: j.service.clone(),
                });
                finished.push(note.id.clone());
            }
            // No `Touch` in between: a callback's journey is not auto-completed (the callback
            // ends it), so its activity is written only with the service, at the end.
            touched.insert(note.id, j);
        }
        for id in finished {
            touched.remove(&id);
        }
        let writes = last_of_each(writes);
        let n = writes.len();
        if n > 0 {
            self.write_all(writes).await?;
        }
        self.journals().lock().extend(touched);
        Ok(n)
    }
}

/// The writes with only the last of each record kept (a batch is atomic: a state started and
/// ended within it is written once, ended).
fn last_of_each(writes: Vec<Write>) -> Vec<Write> {
    let key = |w: &Write| -> Option<(u8, String)> {
        match w {
            Write::PutService { service, .. } => Some((0, service.id.clone())),
            Write::PutState { state, .. } => Some((1, state.id.clone())),
            _ => None,
        }
    };
    let mut last: HashMap<(u8, String), usize> = HashMap::new();
    for (i, w) in writes.iter().enumerate() {
        if let Some(k) = key(w) {
            last.insert(k, i);
        }
    }
    writes
        .into_iter()
        .enumerate()
        .filter(|(i, w)| key(w).is_none_or(|k| last.get(&k) == Some(i)))
        .map(|(_, w)| w)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_writes_each_record_once_as_it_ends() {
        let state = |id: &str, done: bool| Write::PutState {
            tenant: String::new(),
            state: State {
                service_id: "cb".into(),
                id: id.into(),
                state_type: None,
                previous_state_id: None,
                est_duration: None,
                started: Event::default(),
                completed: done.then(Event::default),
                extensions: Default::default(),
            },
        };
        let kept = last_of_each(vec![state("a", false), state("b", false), state("a", true)]);
        assert_eq!(kept, vec![state("b", false), state("a", true)]);
    }

    #[test]
    fn each_working_stage_is_a_state() {
        assert_eq!(stage(CallbackState::Queued), Some("Callback Queued"));
        assert_eq!(stage(CallbackState::Routing), Some("Callback Offered"));
        assert_eq!(stage(CallbackState::Processing), Some("Callback Connected"));
        assert_eq!(stage(CallbackState::Completed), None);
        assert_eq!(stage(CallbackState::Paused), None);
    }
}
