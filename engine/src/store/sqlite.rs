//! The embedded [`Store`]: one SQLite database (`ringback.db`) in WAL mode, written by a single
//! group-committing writer thread and read through a small pool of connections.
//!
//! Why this shape: SQLite allows one writer at a time, and with `synchronous=NORMAL` in WAL
//! mode a commit costs little more than appending to the WAL, so funnelling every write through
//! one thread and committing whatever queued up meanwhile in one transaction turns many small
//! writes into few commits. WAL lets the readers run alongside the writer without blocking.

mod journeys;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

pub use schema::SCHEMA_VERSION;

use super::{
    Booking, Commit, MetricRows, Millis, ServiceRecord, SessionRow, StorageRecord, StorageValue,
    Store, StoreError, StoredDocument, Then, WriteOp,
};
use crate::callback::{CallbackRecord, CallbackState};
use crate::reporting::MinuteRow;
use crate::users::{Role, User};
use writer::Request;

/// The database file created in the store's folder.
pub const DB_FILE: &str = "ringback.db";

/// How long a connection waits for a lock (checkpoints, recovery) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept for reuse; more are opened under load and closed afterwards.
const MAX_IDLE_READERS: usize = 8;
/// Prepared statements cached per connection (the store uses fewer than this).
const STATEMENT_CACHE: usize = 32;

/// What an acknowledged write ([`Commit`] resolved) survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: a commit is written to the WAL but not fsynced. Acknowledged writes
    /// survive the death of the process (`kill -9`, a panic, an abort) because the OS already
    /// holds the WAL pages and writes them out on its own; a power loss or kernel crash may
    /// lose the last commits (never corrupting the database).
    #[default]
    Process,
    /// `synchronous=FULL`: the WAL is fsynced at every commit, so acknowledged writes also
    /// survive power loss, at the price of one fsync per batch.
    PowerLoss,
}

/// The SQLite store. See the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    /// `None` once shut down; dropping the sender lets the writer drain and exit.
    sender: RwLock<Option<Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, durable against process death.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(dir, Durability::Process)
    }

    /// Opens (creating if needed) the store in `dir` with the given durability.
    pub fn open_with(dir: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("creating the store folder {}: {e}", dir.display()))
        })?;
        let path = dir.join(DB_FILE);
        let mut conn = open_connection(&path, "opening the database for writing")?;
        let what = "configuring the write connection";
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend(what))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{} could not switch to WAL mode (journal_mode is {mode})",
                path.display()
            )));
        }
        let synchronous = match durability {
            // In WAL mode NORMAL syncs only at checkpoints: enough for process death, since
            // the OS keeps the WAL. Power loss needs FULL.
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = OFF;"
        ))
        .map_err(backend(what))?;
        schema::migrate(&mut conn)?;

        // Checkpoints (copying the WAL into the database, with an fsync of each) run on their
        // own connection and thread, so a commit never waits behind one.
        let checkpoints = open_connection(&path, "opening the database for checkpoints")?;
        let (wake, woken) = crossbeam_channel::bounded(1);
        let checkpointer = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || writer::checkpoint_loop(checkpoints, woken))
            .map_err(|e| {
                StoreError::Backend(format!("starting the store checkpoint thread: {e}"))
            })?;
        let (sender, receiver) = crossbeam_channel::unbounded();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                writer::run(
                    conn,
                    receiver,
                    writer::Checkpointer::new(wake, checkpointer),
                )
            })
            .map_err(|e| StoreError::Backend(format!("starting the store writer thread: {e}")))?;
        tracing::info!(path = %path.display(), ?durability, "store opened");
        Ok(SqliteStore {
            path,
            sender: RwLock::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting writes, lets the writer commit everything already queued, and waits for
    /// it to exit. Later [`Store::write`]s fail with [`StoreError::Closed`]; reads still work.
    /// Idempotent; dropping the store does the same.
    pub fn shutdown(&self) {
        // Dropping the only sender disconnects the channel once the queue is drained.
        drop(self.sender.write().take());
        let handle = self.writer.lock().take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
            tracing::info!(path = %self.path.display(), "store shut down");
        }
    }

    /// Runs `f` on a pooled read connection (opening one if none is idle).
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = open_connection(&self.path, "opening a read connection")?;
                conn.execute_batch("PRAGMA query_only = ON")
                    .map_err(backend("configuring a read connection"))?;
                conn
            }
        };
        let result = f(&mut conn);
        let mut idle = self.readers.lock();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Store for SqliteStore {
    fn write(&self, ops: Vec<WriteOp>) -> Commit {
        let (reply, rx) = futures_channel::oneshot::channel();
        let sender = self.sender.read();
        match sender.as_ref() {
            Some(s)
                if s.send(Request {
                    ops,
                    reply: reply.into(),
                })
                .is_ok() =>
            {
                Commit(rx)
            }
            _ => Commit::failed(StoreError::Closed),
        }
    }

    fn write_then(&self, ops: Vec<WriteOp>, then: Then) {
        let sender = self.sender.read();
        let Some(s) = sender.as_ref() else {
            drop(sender);
            return then(Err(StoreError::Closed));
        };
        if let Err(e) = s.send(Request {
            ops,
            reply: writer::Reply::Then(then),
        }) {
            drop(sender);
            e.into_inner().reply.send(Err(StoreError::Closed));
        }
    }

    fn sections(&self) -> Result<Vec<(String, Vec<(String, String)>)>, StoreError> {
        let what = "reading configuration sections";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT section, key, value FROM sections ORDER BY section, ord, key",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(backend(what))?;
            let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
            for row in rows {
                let (section, key, value) = row.map_err(backend(what))?;
                match sections.last_mut() {
                    Some((name, options)) if *name == section => options.push((key, value)),
                    _ => sections.push((section, vec![(key, value)])),
                }
            }
            Ok(sections)
        })
    }

    fn templates(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let what = "reading templates";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name, zip FROM templates ORDER BY name")
                .map_err(backend(what))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(backend(what))?;
            rows.collect::<Result<_, _>>().map_err(backend(what))
        })
    }

    fn service(&self, id: &str) -> Result<Option<ServiceRecord>, StoreError> {
        let what = "reading a service record";
        self.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT id, service, created_at, expires_at, gms_user, data
                     FROM services WHERE id = ?1",
                )
                .and_then(|mut s| s.query_row([id], service_row).optional())
                .map_err(backend(what))?;
            row.map(ServiceRow::decode).transpose()
        })
    }

    fn services(&self, now: Millis) -> Result<Vec<ServiceRecord>, StoreError> {
        let what = "reading service records";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, service, created_at, expires_at, gms_user, data
                     FROM services WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY id",
                )
                .map_err(backend(what))?;
            let rows = stmt.query_map([now], service_row).map_err(backend(what))?;
            rows.map(|row| row.map_err(backend(what)).and_then(ServiceRow::decode))
                .collect()
        })
    }

    fn storage(&self, id: &str, now: Millis) -> Result<Option<StorageRecord>, StoreError> {
        let what = "reading a storage record";
        self.read(|conn| {
            // One read transaction, so the values match the metadata they are read with.
            let tx = conn.transaction().map_err(backend(what))?;
            let meta = tx
                .prepare_cached(
                    "SELECT owner, expires_at FROM storage_meta WHERE id = ?1 AND expires_at > ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![id, now], |r| {
                        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Millis>(1)?))
                    })
                    .optional()
                })
                .map_err(backend(what))?;
            let Some((owner, expires_at)) = meta else {
                return Ok(None);
            };
            let values = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT key, bytes, content_type, filename FROM storage WHERE id = ?1",
                    )
                    .map_err(backend(what))?;
                let rows = stmt
                    .query_map([id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            StorageValue {
                                bytes: r.get(1)?,
                                content_type: r.get(2)?,
                                filename: r.get(3)?,
                            },
                        ))
                    })
                    .map_err(backend(what))?;
                rows.collect::<Result<_, _>>().map_err(backend(what))?
            };
            tx.finish().map_err(backend(what))?;
            Ok(Some(StorageRecord {
                id: id.to_owned(),
                owner,
                expires_at,
                values,
            }))
        })
    }

    fn bookings(&self, now: Millis) -> Result<Vec<Booking>, StoreError> {
        let what = "reading bookings";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT grp, number, access_code, service_id, phone_number, expires_at, locking,
                            booked_at
                     FROM bookings WHERE expires_at > ?1 ORDER BY grp, number, service_id",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map([now], |r| {
                    Ok(Booking {
                        group: r.get(0)?,
                        number: r.get(1)?,
                        access_code: r.get(2)?,
                        service_id: r.get(3)?,
                        phone_number: r.get(4)?,
                        expires_at: r.get(5)?,
                        locking: r.get(6)?,
                        booked_at: r.get(7)?,
                    })
                })
                .map_err(backend(what))?;
            rows.collect::<Result<_, _>>().map_err(backend(what))
        })
    }

    fn document(&self, hash: &str) -> Result<Option<StoredDocument>, StoreError> {
        let what = "reading a document";
        self.read(|conn| {
            conn.prepare_cached("SELECT hash, name, source FROM documents WHERE hash = ?1")
                .and_then(|mut s| {
                    s.query_row([hash], |r| {
                        Ok(StoredDocument {
                            hash: r.get(0)?,
                            name: r.get(1)?,
                            source: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(backend(what))
        })
    }

    fn live_sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let what = "reading live sessions";
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, doc_hash, created_at, updated_at, finished_at, checkpoint
                     FROM sessions WHERE finished_at IS NULL ORDER BY created_at, id",
                )
                .map_err(backend(what))?;
            let rows = stmt.query_map([], session_row).map_err(backend(what))?;
            rows.collect::<Result<_, _>>().map_err(backend(what))
        })
    }

    fn callbacks(&self, now: Millis) -> Result<Vec<CallbackRecord>, StoreError> {
        let what = "reading callback records";
        let rows = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, service, state, reason, desired_time, created_at, expires_at,
                            session, data
                     FROM callbacks WHERE expires_at >= ?1 ORDER BY created_at, id",
                )
                .map_err(backend(what))?;
            let rows = stmt.query_map([now], callback_row).map_err(backend(what))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(what))
        })?;
        rows.into_iter()
            .map(|(mut record, data)| {
                record.data = serde_json::from_str(&data).map_err(|e| {
                    StoreError::Backend(format!(
                        "callback {} has unreadable properties: {e}",
                        record.id
                    ))
                })?;
                Ok(record)
            })
            .collect()
    }

    fn journeys(&self) -> &dyn crate::store::JourneyStore {
        self
    }

    fn metric_rows(
        &self,
        prefix: &str,
        from: Millis,
        to: Millis,
    ) -> Result<MetricRows, StoreError> {
        let what = "reading the metrics history";
        // Series in [prefix, prefix + U+10FFFF): every series that starts with it.
        let end = format!("{prefix}\u{10FFFF}");
        self.read(|conn| {
            let row = |r: &rusqlite::Row<'_>| {
                Ok(MinuteRow {
                    series: r.get(0)?,
                    minute: r.get(1)?,
                    n: r.get::<_, i64>(2)?.max(0) as u64,
                    sum: r.get(3)?,
                    lo: r.get(4)?,
                    hi: r.get(5)?,
                    last: r.get(6)?,
                })
            };
            // Each series of the prefix, found by seeking the key from one to the next (not by
            // scanning their rows), then its last row before `from`: index seeks only, however
            // long the history.
            let mut stmt = conn
                .prepare_cached(
                    "WITH RECURSIVE s(name) AS (
                        SELECT MIN(series) FROM metrics WHERE series >= ?1 AND series < ?2
                        UNION ALL
                        SELECT (SELECT MIN(series) FROM metrics WHERE series > s.name AND series < ?2)
                        FROM s WHERE s.name IS NOT NULL
                     )
                     SELECT m.series, m.minute, m.n, m.sum, m.lo, m.hi, m.last
                     FROM s JOIN metrics m ON m.series = s.name
                      AND m.minute = (SELECT MAX(minute) FROM metrics
                                      WHERE series = s.name AND minute < ?3)
                     WHERE s.name IS NOT NULL",
                )
                .map_err(backend(what))?;
            let prior = stmt
                .query_map(params![prefix, end, from], row)
                .map_err(backend(what))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend(what))?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT series, minute, n, sum, lo, hi, last FROM metrics
                     WHERE series >= ?1 AND series < ?2 AND minute >= ?3 AND minute < ?4
                     ORDER BY series, minute",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map(params![prefix, end, from, to], row)
                .map_err(backend(what))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend(what))?;
            Ok((prior, rows))
        })
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let what = "reading users";
        let rows = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, role, services, password_hash, created_at, updated_at
                     FROM users ORDER BY name",
                )
                .map_err(backend(what))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .map_err(backend(what))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(what))
        })?;
        rows.into_iter()
            .map(
                |(name, role, services, password_hash, created_at, updated_at)| {
                    let bad = |why: String| {
                        StoreError::Backend(format!("user {name:?} is unreadable: {why}"))
                    };
                    let role = Role::parse(&role).ok_or_else(|| bad(format!("role {role:?}")))?;
                    let services: Vec<String> =
                        serde_json::from_str(&services).map_err(|e| bad(e.to_string()))?;
                    Ok(User {
                        name,
                        role,
                        services,
                        password_hash,
                        created_at,
                        updated_at,
                    })
                },
            )
            .collect()
    }

    fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let what = "reading a session";
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, doc_hash, created_at, updated_at, finished_at, checkpoint
                 FROM sessions WHERE id = ?1",
            )
            .and_then(|mut s| s.query_row([id], session_row).optional())
            .map_err(backend(what))
        })
    }
}

fn callback_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(CallbackRecord, String)> {
    let state: String = r.get(2)?;
    let record = CallbackRecord {
        id: r.get(0)?,
        service: r.get(1)?,
        // An unknown name (a newer build's state) reads as QUEUED: still shown, still cancellable.
        state: CallbackState::parse(&state).unwrap_or(CallbackState::Queued),
        reason: r.get(3)?,
        desired_time: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        session: r.get(7)?,
        data: Default::default(),
    };
    Ok((record, r.get(8)?))
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        doc_hash: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        finished_at: r.get(4)?,
        checkpoint: r.get(5)?,
    })
}

/// A `services` row before its JSON `data` is decoded (decoding errors are not rusqlite's).
struct ServiceRow {
    record: ServiceRecord,
    data: String,
}

fn service_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceRow> {
    Ok(ServiceRow {
        record: ServiceRecord {
            id: r.get(0)?,
            service: r.get(1)?,
            created_at: r.get(2)?,
            expires_at: r.get(3)?,
            gms_user: r.get(4)?,
            data: Default::default(),
        },
        data: r.get(5)?,
    })
}

impl ServiceRow {
    fn decode(self) -> Result<ServiceRecord, StoreError> {
        let ServiceRow { mut record, data } = self;
        record.data = serde_json::from_str(&data).map_err(|e| {
            StoreError::Backend(format!("decoding the data of service {}: {e}", record.id))
        })?;
        Ok(record)
    }
}

fn open_connection(path: &Path, what: &str) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Backend(format!("{what} ({}): {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend(what))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Maps a rusqlite error to [`StoreError::Backend`], saying what was being done.
fn backend(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}
