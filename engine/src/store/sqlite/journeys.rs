//! Context Services' tables: services, states and tasks (indexed columns, the rest as a small
//! JSON document), profiles with their lookup index, and metadata.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{backend, SqliteStore};
use crate::cs::model::{Extensions, ItemQuery, PurgeKind, Status};
use crate::cs::profiles::Profile;
use crate::cs::{
    Counts, Event, ExportEvents, ExportQuery, Owner, Service, ServiceQuery, State, Task, Write,
};
use crate::store::{JourneyStore, Millis, StoreError};

/// What a service row keeps beyond its indexed columns.
#[derive(Serialize, Deserialize)]
struct ServiceDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    est: Option<i64>,
    s: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Event>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    x: Extensions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ac: Option<i64>,
}

/// What a state or task row keeps beyond its indexed columns.
#[derive(Serialize, Deserialize)]
struct ItemDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    est: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    s: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Event>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    x: Extensions,
}

#[derive(Serialize, Deserialize)]
struct ProfileDoc {
    #[serde(default)]
    a: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    x: Map<String, Value>,
}

fn unreadable(what: &str, id: &str, e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("{what} {id} is unreadable: {e}"))
}

fn encode(what: &str, v: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encoding {what}: {e}")))
}

const SERVICE_COLUMNS: &str =
    "id, customer_id, contact_key, service_type, last_activity, expires_at, doc";

fn service_row(r: &Row<'_>) -> rusqlite::Result<ServiceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

type ServiceRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

fn service_of(row: ServiceRow) -> Result<Service, StoreError> {
    let (id, customer, contact, service_type, last_activity, expires_at, doc) = row;
    let doc: ServiceDoc = serde_json::from_str(&doc).map_err(|e| unreadable("service", &id, e))?;
    let owner = match (customer, contact) {
        (Some(c), _) => Owner::Customer(c),
        (None, Some(k)) => Owner::Anonymous(k),
        (None, None) => Owner::Anonymous(String::new()),
    };
    Ok(Service {
        id,
        owner,
        service_type,
        est_duration: doc.est,
        started: doc.s,
        completed: doc.c,
        extensions: doc.x,
        expires_at,
        auto_complete_after: doc.ac,
        last_activity,
    })
}

type ItemRow = (String, String, Option<String>, Option<String>, String);

fn item_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn state_of(row: ItemRow) -> Result<State, StoreError> {
    let (service_id, id, state_type, _, doc) = row;
    let doc: ItemDoc = serde_json::from_str(&doc).map_err(|e| unreadable("state", &id, e))?;
    Ok(State {
        service_id,
        id,
        state_type,
        previous_state_id: doc.prev,
        est_duration: doc.est,
        started: doc.s,
        completed: doc.c,
        extensions: doc.x,
    })
}

fn task_of(row: ItemRow) -> Result<Task, StoreError> {
    let (service_id, id, task_type, state_id, doc) = row;
    let doc: ItemDoc = serde_json::from_str(&doc).map_err(|e| unreadable("task", &id, e))?;
    Ok(Task {
        service_id,
        id,
        state_id,
        task_type,
        est_duration: doc.est,
        started: doc.s,
        completed: doc.c,
        extensions: doc.x,
    })
}

fn status_sql(status: Status, column: &str) -> String {
    match status {
        Status::Any => String::new(),
        Status::Active => format!(" AND {column} IS NULL"),
        Status::Completed => format!(" AND {column} IS NOT NULL"),
    }
}

fn types_admit(types: &[String], t: &Option<String>) -> bool {
    types.is_empty() || t.as_ref().is_some_and(|t| types.contains(t))
}

impl SqliteStore {
    /// The state or task rows `sql` reads for each service (`?1` the tenant, `?2` a service).
    fn item_rows(
        &self,
        sql: &str,
        tenant: &str,
        services: &[&str],
        what: &str,
    ) -> Result<Vec<ItemRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(backend(what))?;
            let mut out = Vec::new();
            for s in services {
                let rows = stmt
                    .query_map(params![tenant, s], item_row)
                    .map_err(backend(what))?;
                for r in rows {
                    out.push(r.map_err(backend(what))?);
                }
            }
            Ok(out)
        })
    }
}

impl JourneyStore for SqliteStore {
    fn cs_service(&self, tenant: &str, id: &str) -> Result<Option<Service>, StoreError> {
        let what = "reading a service";
        let row = self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {SERVICE_COLUMNS} FROM cs_services WHERE tenant = ?1 AND id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![tenant, id], service_row).optional())
            .map_err(backend(what))
        })?;
        row.map(service_of).transpose()
    }

    fn cs_services(&self, tenant: &str, q: &ServiceQuery) -> Result<Vec<Service>, StoreError> {
        let what = "reading services";
        let (column, key) = match &q.owner {
            Owner::Customer(c) => ("customer_id", c),
            Owner::Anonymous(k) => ("contact_key", k),
        };
        let mut sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM cs_services WHERE tenant = ?1 AND {column} = ?2
               AND started_at >= ?3 AND started_at <= ?4"
        );
        sql.push_str(&status_sql(q.status, "completed_at"));
        if q.completed_from.is_some() || q.completed_to.is_some() {
            sql.push_str(" AND completed_at >= ?5 AND completed_at <= ?6");
        } else {
            sql.push_str(" AND ?5 <= ?6");
        }
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        let rows = self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(backend(what))?;
            let rows = stmt
                .query_map(
                    params![
                        tenant,
                        key,
                        q.started_from.unwrap_or(i64::MIN),
                        q.started_to.unwrap_or(i64::MAX),
                        q.completed_from.unwrap_or(i64::MIN),
                        q.completed_to.unwrap_or(i64::MAX)
                    ],
                    service_row,
                )
                .map_err(backend(what))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(what))
        })?;
        rows.into_iter()
            .filter(|r| types_admit(&q.service_types, &r.3))
            .map(service_of)
            .collect()
    }

    fn cs_states(
        &self,
        tenant: &str,
        services: &[&str],
        q: &ItemQuery,
    ) -> Result<Vec<State>, StoreError> {
        let what = "reading states";
        let sql = format!(
            "SELECT service_id, id, state_type, NULL, doc FROM cs_states
             WHERE tenant = ?1 AND service_id = ?2{} ORDER BY started_at, id",
            status_sql(q.status, "completed_at")
        );
        let rows = self.item_rows(&sql, tenant, services, what)?;
        rows.into_iter()
            .filter(|r| types_admit(&q.types, &r.2))
            .map(state_of)
            .collect()
    }

    fn cs_tasks(
        &self,
        tenant: &str,
        services: &[&str],
        q: &ItemQuery,
    ) -> Result<Vec<Task>, StoreError> {
        let what = "reading tasks";
        let sql = format!(
            "SELECT service_id, id, task_type, state_id, doc FROM cs_tasks
             WHERE tenant = ?1 AND service_id = ?2{} ORDER BY started_at, id",
            status_sql(q.status, "completed_at")
        );
        let rows = self.item_rows(&sql, tenant, services, what)?;
        rows.into_iter()
            .filter(|r| types_admit(&q.types, &r.2))
            .filter(|r| q.state_id.is_none() || r.3 == q.state_id)
            .map(task_of)
            .collect()
    }

    fn cs_state(&self, tenant: &str, service: &str, id: &str) -> Result<Option<State>, StoreError> {
        let what = "reading a state";
        let row = self.read(|conn| {
            conn.prepare_cached(
                "SELECT service_id, id, state_type, NULL, doc FROM cs_states
                 WHERE tenant = ?1 AND service_id = ?2 AND id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, service, id], item_row)
                    .optional()
            })
            .map_err(backend(what))
        })?;
        row.map(state_of).transpose()
    }

    fn cs_task(&self, tenant: &str, service: &str, id: &str) -> Result<Option<Task>, StoreError> {
        let what = "reading a task";
        let row = self.read(|conn| {
            conn.prepare_cached(
                "SELECT service_id, id, task_type, state_id, doc FROM cs_tasks
                 WHERE tenant = ?1 AND service_id = ?2 AND id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, service, id], item_row)
                    .optional()
            })
            .map_err(backend(what))
        })?;
        row.map(task_of).transpose()
    }

    fn cs_item_service(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(String, &'static str)>, StoreError> {
        let what = "finding a state or task";
        self.read(|conn| {
            let state: Option<String> = conn
                .prepare_cached("SELECT service_id FROM cs_states WHERE tenant = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![tenant, id], |r| r.get(0)).optional())
                .map_err(backend(what))?;
            if let Some(s) = state {
                return Ok(Some((s, "state")));
            }
            let task: Option<String> = conn
                .prepare_cached("SELECT service_id FROM cs_tasks WHERE tenant = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![tenant, id], |r| r.get(0)).optional())
                .map_err(backend(what))?;
            Ok(task.map(|s| (s, "task")))
        })
    }

    fn cs_counts(&self, tenant: &str, owner: &Owner) -> Result<Counts, StoreError> {
        let what = "counting journeys";
        let (column, key) = match owner {
            Owner::Customer(c) => ("customer_id", c),
            Owner::Anonymous(k) => ("contact_key", k),
        };
        self.read(|conn| {
            let pair = |sql: &str| -> Result<(u64, u64), StoreError> {
                conn.prepare_cached(sql)
                    .and_then(|mut s| {
                        s.query_row(params![tenant, key], |r| {
                            Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, i64>(1)?.max(0) as u64))
                        })
                    })
                    .map_err(backend(what))
            };
            let (services, services_done) = pair(&format!(
                "SELECT COUNT(*), COUNT(completed_at) FROM cs_services WHERE tenant = ?1 AND {column} = ?2"
            ))?;
            // CROSS JOIN keeps the owner's services as the outer loop: without statistics the
            // planner would otherwise scan every state of the tenant.
            let (states, states_done) = pair(&format!(
                "SELECT COUNT(*), COUNT(i.completed_at) FROM cs_services s
                 CROSS JOIN cs_states i ON i.tenant = s.tenant AND i.service_id = s.id
                 WHERE s.tenant = ?1 AND s.{column} = ?2"
            ))?;
            let (tasks, tasks_done) = pair(&format!(
                "SELECT COUNT(*), COUNT(i.completed_at) FROM cs_services s
                 CROSS JOIN cs_tasks i ON i.tenant = s.tenant AND i.service_id = s.id
                 WHERE s.tenant = ?1 AND s.{column} = ?2"
            ))?;
            Ok(Counts {
                services,
                services_active: services - services_done,
                states,
                states_active: states - states_done,
                tasks,
                tasks_active: tasks - tasks_done,
            })
        })
    }

    fn cs_due(&self, now: Millis, limit: usize) -> Result<Vec<(String, Service)>, StoreError> {
        let what = "finding services due";
        let rows = self.read(|conn| {
            let mut out = Vec::new();
            for sql in [
                format!("SELECT tenant, {SERVICE_COLUMNS} FROM cs_services WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2"),
                format!("SELECT tenant, {SERVICE_COLUMNS} FROM cs_services WHERE idle_due <= ?1 ORDER BY idle_due LIMIT ?2"),
            ] {
                let mut stmt = conn.prepare_cached(&sql).map_err(backend(what))?;
                let rows = stmt
                    .query_map(params![now, limit as i64], |r| {
                        let row: ServiceRow =
                            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
                        Ok((r.get::<_, String>(0)?, row))
                    })
                    .map_err(backend(what))?;
                for r in rows {
                    out.push(r.map_err(backend(what))?);
                }
            }
            Ok(out)
        })?;
        let mut seen = std::collections::HashSet::new();
        rows.into_iter()
            .filter(|(t, r)| seen.insert((t.clone(), r.0.clone())))
            .take(limit)
            .map(|(t, r)| Ok((t, service_of(r)?)))
            .collect()
    }

    fn cs_purge_count(
        &self,
        tenant: &str,
        kind: PurgeKind,
        before: Millis,
    ) -> Result<u64, StoreError> {
        let what = "counting services to purge";
        let sql = format!(
            "SELECT COUNT(*) FROM cs_services WHERE tenant = ?1 AND {}",
            purge_where(kind)
        );
        self.read(|conn| {
            conn.prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params![tenant, before], |r| r.get::<_, i64>(0)))
                .map(|n| n.max(0) as u64)
                .map_err(backend(what))
        })
    }

    fn cs_export(&self, tenant: &str, q: &ExportQuery) -> Result<Vec<Service>, StoreError> {
        let what = "exporting services";
        let events = match q.events {
            ExportEvents::Any => {
                "((started_at >= ?2 AND started_at <= ?3) OR (completed_at >= ?2 AND completed_at <= ?3))"
            }
            ExportEvents::Started => "started_at >= ?2 AND started_at <= ?3",
            ExportEvents::Completed => "completed_at >= ?2 AND completed_at <= ?3",
        };
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM cs_services WHERE tenant = ?1 AND {events}{} AND id > ?4
             ORDER BY id LIMIT ?5",
            status_sql(q.status, "completed_at")
        );
        let rows = self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(backend(what))?;
            let rows = stmt
                .query_map(
                    params![
                        tenant,
                        q.from,
                        q.to,
                        q.after.as_deref().unwrap_or(""),
                        q.limit as i64
                    ],
                    service_row,
                )
                .map_err(backend(what))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(what))
        })?;
        rows.into_iter().map(service_of).collect()
    }

    fn cs_profile(&self, tenant: &str, id: &str) -> Result<Option<Profile>, StoreError> {
        let what = "reading a profile";
        let row: Option<(String, i64, i64)> = self.read(|conn| {
            conn.prepare_cached(
                "SELECT doc, created_at, updated_at FROM cs_profiles WHERE tenant = ?1 AND customer_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(backend(what))
        })?;
        row.map(|(doc, created_at, updated_at)| {
            let doc: ProfileDoc =
                serde_json::from_str(&doc).map_err(|e| unreadable("profile", id, e))?;
            Ok(Profile {
                customer_id: id.to_owned(),
                attributes: doc.a,
                extensions: doc.x,
                created_at,
                updated_at,
            })
        })
        .transpose()
    }

    fn cs_profiles_with(
        &self,
        tenant: &str,
        name: &str,
        value: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let what = "looking profiles up";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT customer_id FROM cs_profile_index
                     WHERE tenant = ?1 AND name = ?2 AND value = ?3 ORDER BY customer_id LIMIT ?4",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map(
                    params![tenant, name.to_lowercase(), value, limit as i64],
                    |r| r.get(0),
                )
                .map_err(backend(what))?;
            rows.collect::<Result<Vec<String>, _>>()
                .map_err(backend(what))
        })
    }

    fn cs_meta(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let what = "reading Context Services metadata";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT tenant, kind, name, body FROM cs_meta ORDER BY tenant, kind, name",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(backend(what))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(what))
        })
    }
}

/// The services a purge removes (`?2`: its limit).
fn purge_where(kind: PurgeKind) -> &'static str {
    match kind {
        PurgeKind::All => "started_at < ?2",
        PurgeKind::Started { anonymous: false } => "completed_at IS NULL AND started_at < ?2",
        PurgeKind::Started { anonymous: true } => {
            "completed_at IS NULL AND started_at < ?2 AND customer_id IS NULL"
        }
        PurgeKind::Completed { anonymous: false } => "completed_at < ?2",
        PurgeKind::Completed { anonymous: true } => "completed_at < ?2 AND customer_id IS NULL",
    }
}

fn item_doc(
    est: Option<i64>,
    prev: Option<&String>,
    s: &Event,
    c: &Option<Event>,
    x: &Extensions,
) -> ItemDoc {
    ItemDoc {
        est,
        prev: prev.cloned(),
        s: s.clone(),
        c: c.clone(),
        x: x.clone(),
    }
}

/// Applies one change on the writer's connection (inside its batch's transaction).
pub(super) fn apply(conn: &Connection, w: &Write) -> Result<(), StoreError> {
    match w {
        Write::PutService { tenant, service: s } => {
            let what = "writing a service";
            let doc = encode(
                what,
                &ServiceDoc {
                    est: s.est_duration,
                    s: s.started.clone(),
                    c: s.completed.clone(),
                    x: s.extensions.clone(),
                    ac: s.auto_complete_after,
                },
            )?;
            let (customer, contact) = match &s.owner {
                Owner::Customer(c) => (Some(c), None),
                Owner::Anonymous(k) => (None, Some(k)),
            };
            conn.prepare_cached(
                "INSERT OR REPLACE INTO cs_services
                 (tenant, id, customer_id, contact_key, service_type, started_at, completed_at,
                  expires_at, idle_due, last_activity, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    tenant,
                    s.id,
                    customer,
                    contact,
                    s.service_type,
                    s.started.timestamp,
                    s.completed.as_ref().map(|c| c.timestamp),
                    s.expires_at,
                    s.idle_due(),
                    s.last_activity,
                    doc
                ])
            })
            .map_err(backend(what))?;
        }
        Write::PutState { tenant, state: s } => {
            let what = "writing a state";
            let doc = encode(
                what,
                &item_doc(
                    s.est_duration,
                    s.previous_state_id.as_ref(),
                    &s.started,
                    &s.completed,
                    &s.extensions,
                ),
            )?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO cs_states
                 (tenant, service_id, id, state_type, started_at, completed_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    tenant,
                    s.service_id,
                    s.id,
                    s.state_type,
                    s.started.timestamp,
                    s.completed.as_ref().map(|c| c.timestamp),
                    doc
                ])
            })
            .map_err(backend(what))?;
        }
        Write::PutTask { tenant, task: t } => {
            let what = "writing a task";
            let doc = encode(
                what,
                &item_doc(
                    t.est_duration,
                    None,
                    &t.started,
                    &t.completed,
                    &t.extensions,
                ),
            )?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO cs_tasks
                 (tenant, service_id, id, state_id, task_type, started_at, completed_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    tenant,
                    t.service_id,
                    t.id,
                    t.state_id,
                    t.task_type,
                    t.started.timestamp,
                    t.completed.as_ref().map(|c| c.timestamp),
                    doc
                ])
            })
            .map_err(backend(what))?;
        }
        Write::Touch { tenant, id, at } => {
            // The idle deadline moves with the activity (by the service's own allowance).
            conn.prepare_cached(
                "UPDATE cs_services SET
                   idle_due = CASE WHEN idle_due IS NULL THEN NULL
                                   ELSE idle_due + (MAX(last_activity, ?3) - last_activity) END,
                   last_activity = MAX(last_activity, ?3)
                 WHERE tenant = ?1 AND id = ?2",
            )
            .and_then(|mut st| st.execute(params![tenant, id, at]))
            .map_err(backend("recording a service's activity"))?;
        }
        Write::DeleteService { tenant, id } => {
            let what = "deleting a service";
            for sql in [
                "DELETE FROM cs_states WHERE tenant = ?1 AND service_id = ?2",
                "DELETE FROM cs_tasks WHERE tenant = ?1 AND service_id = ?2",
                "DELETE FROM cs_services WHERE tenant = ?1 AND id = ?2",
            ] {
                conn.prepare_cached(sql)
                    .and_then(|mut st| st.execute(params![tenant, id]))
                    .map_err(backend(what))?;
            }
        }
        Write::Purge {
            tenant,
            kind,
            before,
        } => {
            let what = "purging services";
            let chosen = format!(
                "SELECT id FROM cs_services WHERE tenant = ?1 AND {}",
                purge_where(*kind)
            );
            for sql in [
                format!("DELETE FROM cs_states WHERE tenant = ?1 AND service_id IN ({chosen})"),
                format!("DELETE FROM cs_tasks WHERE tenant = ?1 AND service_id IN ({chosen})"),
                format!("DELETE FROM cs_services WHERE tenant = ?1 AND id IN ({chosen})"),
            ] {
                conn.prepare_cached(&sql)
                    .and_then(|mut st| st.execute(params![tenant, before]))
                    .map_err(backend(what))?;
            }
        }
        Write::PutProfile {
            tenant,
            profile: p,
            index,
        } => {
            let what = "writing a profile";
            let doc = encode(
                what,
                &ProfileDoc {
                    a: p.attributes.clone(),
                    x: p.extensions.clone(),
                },
            )?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO cs_profiles (tenant, customer_id, doc, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![tenant, p.customer_id, doc, p.created_at, p.updated_at]))
            .map_err(backend(what))?;
            conn.prepare_cached(
                "DELETE FROM cs_profile_index WHERE tenant = ?1 AND customer_id = ?2",
            )
            .and_then(|mut st| st.execute(params![tenant, p.customer_id]))
            .map_err(backend(what))?;
            let mut put = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO cs_profile_index (tenant, name, value, customer_id)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend(what))?;
            for (name, value) in index {
                put.execute(params![tenant, name.to_lowercase(), value, p.customer_id])
                    .map_err(backend(what))?;
            }
        }
        Write::DeleteProfile { tenant, id } => {
            let what = "deleting a profile";
            for sql in [
                "DELETE FROM cs_profile_index WHERE tenant = ?1 AND customer_id = ?2",
                "DELETE FROM cs_profiles WHERE tenant = ?1 AND customer_id = ?2",
            ] {
                conn.prepare_cached(sql)
                    .and_then(|mut st| st.execute(params![tenant, id]))
                    .map_err(backend(what))?;
            }
        }
        Write::PutMeta {
            tenant,
            kind,
            name,
            body,
        } => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO cs_meta (tenant, kind, name, body) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute(params![tenant, kind, name, body]))
            .map_err(backend("writing Context Services metadata"))?;
        }
        Write::DeleteMeta { tenant, kind, name } => {
            conn.prepare_cached(
                "DELETE FROM cs_meta WHERE tenant = ?1 AND kind = ?2 AND name = ?3",
            )
            .and_then(|mut st| st.execute(params![tenant, kind, name]))
            .map_err(backend("deleting Context Services metadata"))?;
        }
    }
    Ok(())
}
