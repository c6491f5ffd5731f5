//! The writer thread: the only owner of the write connection, committing queued requests in
//! groups (one transaction, one WAL sync, many acknowledgements).

use std::cell::Cell;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use futures_channel::oneshot;
use rusqlite::{params, Connection, TransactionBehavior};

use super::backend;
use crate::store::{StoreError, WriteOp};

/// At most this many requests share one transaction...
const MAX_BATCH_REQUESTS: usize = 1024;
/// ...and a batch stops growing once its payload passes this many bytes.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// One `Store::write` call: its operations and where to send the outcome.
pub(super) struct Request {
    pub(super) ops: Vec<WriteOp>,
    pub(super) reply: Reply,
}

/// Where a request's outcome goes.
pub(super) enum Reply {
    /// A [`Commit`](crate::store::Commit) waits on it.
    Channel(oneshot::Sender<Result<(), StoreError>>),
    /// Called on the writer thread ([`Store::write_then`](crate::store::Store::write_then)).
    Then(crate::store::Then),
}

impl Reply {
    pub(super) fn send(self, outcome: Result<(), StoreError>) {
        match self {
            // The caller may have stopped waiting; nothing to do then.
            Reply::Channel(tx) => {
                let _ = tx.send(outcome);
            }
            // A callback that panics must not take the writer (and every later write) down.
            Reply::Then(then) => {
                let run = std::panic::AssertUnwindSafe(move || then(outcome));
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("a store write's completion callback panicked");
                }
            }
        }
    }
}

impl From<oneshot::Sender<Result<(), StoreError>>> for Reply {
    fn from(tx: oneshot::Sender<Result<(), StoreError>>) -> Reply {
        Reply::Channel(tx)
    }
}

/// The WAL is checkpointed once it holds this many pages (SQLite's own default)...
const CHECKPOINT_PAGES: i32 = 1000;
/// ...and if the checkpoint thread falls this far behind, the writer checkpoints itself, so
/// the WAL cannot grow without bound.
const CHECKPOINT_BACKSTOP_PAGES: i32 = 100 * CHECKPOINT_PAGES;

thread_local! {
    /// Pages in the WAL after the writer's last commit (set by [`on_wal_commit`]).
    static WAL_PAGES: Cell<i32> = const { Cell::new(0) };
}

/// SQLite's WAL hook on the write connection. Registering it replaces SQLite's automatic
/// checkpoint, which would run (and fsync) inside the commit that crossed the threshold and
/// hold up every request in that batch for the length of two fsyncs.
fn on_wal_commit(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages);
    Ok(())
}

/// The writer's handle on the checkpoint thread.
pub(super) struct Checkpointer {
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn new(wake: Sender<()>, thread: JoinHandle<()>) -> Checkpointer {
        Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        }
    }

    /// After a commit: asks for a checkpoint once the WAL is long enough (a request already
    /// pending covers this one).
    fn after_commit(&self, conn: &Connection) {
        let pages = WAL_PAGES.get();
        if pages >= CHECKPOINT_BACKSTOP_PAGES {
            tracing::warn!(
                pages,
                "the WAL outgrew its checkpoints; checkpointing in the writer"
            );
            checkpoint(conn);
        } else if pages >= CHECKPOINT_PAGES {
            if let Some(wake) = &self.wake {
                let _ = wake.try_send(());
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the store checkpoint thread panicked");
            }
        }
    }
}

/// Copies what it can of the WAL into the database without waiting for readers or the writer
/// (`PASSIVE`); the writer starts the WAL over once it has all been copied.
fn checkpoint(conn: &Connection) {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match done {
        Ok((busy, log, copied)) => tracing::debug!(busy, log, copied, "WAL checkpointed"),
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

/// The checkpoint thread: one checkpoint per wake-up, until the writer goes.
pub(super) fn checkpoint_loop(conn: Connection, woken: Receiver<()>) {
    while woken.recv().is_ok() {
        checkpoint(&conn);
    }
    // What the last batches appended is copied before the store closes.
    checkpoint(&conn);
}

/// Runs until every sender is dropped and the queue is drained.
///
/// crossbeam's `recv` keeps returning queued messages after disconnection, so shutdown
/// finishes all accepted work before the thread exits.
pub(super) fn run(mut conn: Connection, rx: Receiver<Request>, checkpointer: Checkpointer) {
    conn.wal_hook(Some(on_wal_commit));
    let mut batch = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut bytes = payload_size(&first.ops);
        batch.push(first);
        while batch.len() < MAX_BATCH_REQUESTS && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += payload_size(&next.ops);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch, bytes);
        checkpointer.after_commit(&conn);
    }
    drop(checkpointer);
    tracing::debug!("store writer stopped");
}

/// Commits `batch` in one transaction and answers every request; empties `batch`.
///
/// If anything in the group fails, the group is rolled back and its requests re-run one
/// transaction each, so a bad request fails alone and the others still commit, in order.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Request>, bytes: usize) {
    let requests = batch.len();
    let ops: usize = batch.iter().map(|r| r.ops.len()).sum();
    match run_in_transaction(conn, batch.iter().map(|r| r.ops.as_slice())) {
        Ok(()) => {
            tracing::debug!(requests, ops, bytes, "store batch committed");
            for request in batch.drain(..) {
                request.reply.send(Ok(()));
            }
        }
        Err(e) if requests == 1 => {
            tracing::warn!(error = %e, "store write failed");
            for request in batch.drain(..) {
                request.reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(
                error = %e,
                requests,
                "store batch failed; re-running its requests one by one"
            );
            for request in batch.drain(..) {
                let outcome = run_in_transaction(conn, std::iter::once(request.ops.as_slice()));
                if let Err(e) = &outcome {
                    tracing::warn!(error = %e, "store write failed");
                }
                request.reply.send(outcome);
            }
        }
    }
}

/// Applies every group of operations in one transaction; on error it is rolled back (when the
/// transaction is dropped uncommitted).
fn run_in_transaction<'a>(
    conn: &mut Connection,
    groups: impl Iterator<Item = &'a [WriteOp]>,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend("starting a write transaction"))?;
    for ops in groups {
        for op in ops {
            apply(&tx, op)?;
        }
    }
    tx.commit().map_err(backend("committing writes"))
}

fn apply(conn: &Connection, op: &WriteOp) -> Result<(), StoreError> {
    match op {
        WriteOp::PutSection { section, options } => {
            let what = "writing a configuration section";
            conn.prepare_cached("DELETE FROM sections WHERE section = ?1")
                .and_then(|mut s| s.execute([section]))
                .map_err(backend(what))?;
            // A repeated key keeps its first position and takes its last value, as inserting
            // into an ordered map would.
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO sections (section, key, value, ord) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (section, key) DO UPDATE SET value = excluded.value",
                )
                .map_err(backend(what))?;
            for (ord, (key, value)) in options.iter().enumerate() {
                insert
                    .execute(params![section, key, value, ord as i64])
                    .map_err(backend(what))?;
            }
        }
        WriteOp::DeleteSection { section } => {
            conn.prepare_cached("DELETE FROM sections WHERE section = ?1")
                .and_then(|mut s| s.execute([section]))
                .map_err(backend("deleting a configuration section"))?;
        }
        WriteOp::PutTemplate { name, zip } => {
            conn.prepare_cached("INSERT OR REPLACE INTO templates (name, zip) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![name, zip]))
                .map_err(backend("writing a template"))?;
        }
        WriteOp::DeleteTemplate { name } => {
            conn.prepare_cached("DELETE FROM templates WHERE name = ?1")
                .and_then(|mut s| s.execute([name]))
                .map_err(backend("deleting a template"))?;
        }
        WriteOp::PutService(record) => {
            let data = serde_json::to_string(&record.data).map_err(|e| {
                StoreError::Backend(format!("encoding service {} data: {e}", record.id))
            })?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO services
                     (id, service, created_at, expires_at, gms_user, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    record.id,
                    record.service,
                    record.created_at,
                    record.expires_at,
                    record.gms_user,
                    data
                ])
            })
            .map_err(backend("writing a service record"))?;
        }
        WriteOp::DeleteService { id } => {
            conn.prepare_cached("DELETE FROM services WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(backend("deleting a service record"))?;
        }
        WriteOp::PutStorage {
            id,
            owner,
            expires_at,
            values,
        } => {
            let what = "writing a storage record";
            conn.prepare_cached(
                "INSERT INTO storage_meta (id, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE
                     SET owner = excluded.owner, expires_at = excluded.expires_at",
            )
            .and_then(|mut s| s.execute(params![id, owner, expires_at]))
            .map_err(backend(what))?;
            let mut put = conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO storage (id, key, bytes, content_type, filename)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(backend(what))?;
            for (key, value) in values {
                put.execute(params![
                    id,
                    key,
                    value.bytes,
                    value.content_type,
                    value.filename
                ])
                .map_err(backend(what))?;
            }
        }
        WriteOp::DeleteStorage { id } => {
            let what = "deleting a storage record";
            conn.prepare_cached("DELETE FROM storage WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(backend(what))?;
            conn.prepare_cached("DELETE FROM storage_meta WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(backend(what))?;
        }
        WriteOp::DeleteStorageKey { id, key } => {
            conn.prepare_cached("DELETE FROM storage WHERE id = ?1 AND key = ?2")
                .and_then(|mut s| s.execute([id, key]))
                .map_err(backend("deleting a storage value"))?;
        }
        WriteOp::PutBooking(b) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO bookings
                     (grp, number, service_id, access_code, phone_number, expires_at, locking,
                      booked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    b.group,
                    b.number,
                    b.service_id,
                    b.access_code,
                    b.phone_number,
                    b.expires_at,
                    b.locking,
                    b.booked_at
                ])
            })
            .map_err(backend("writing a booking"))?;
        }
        WriteOp::DeleteBooking {
            group,
            number,
            service_id,
        } => {
            conn.prepare_cached(
                "DELETE FROM bookings WHERE grp = ?1 AND number = ?2 AND service_id = ?3",
            )
            .and_then(|mut s| s.execute([group, number, service_id]))
            .map_err(backend("deleting a booking"))?;
        }
        WriteOp::PurgeExpired { now } => {
            let what = "purging expired records";
            // Expired means `expires_at <= now`, the same rule the reads apply.
            for sql in [
                "DELETE FROM services WHERE expires_at <= ?1",
                "DELETE FROM storage WHERE id IN
                     (SELECT id FROM storage_meta WHERE expires_at <= ?1)",
                "DELETE FROM storage_meta WHERE expires_at <= ?1",
                "DELETE FROM bookings WHERE expires_at <= ?1",
            ] {
                conn.prepare_cached(sql)
                    .and_then(|mut s| s.execute([now]))
                    .map_err(backend(what))?;
            }
        }
        WriteOp::PutDocument(d) => {
            conn.prepare_cached(
                "INSERT INTO documents (hash, name, source) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hash) DO NOTHING",
            )
            .and_then(|mut s| s.execute([&d.hash, &d.name, &d.source]))
            .map_err(backend("writing a document"))?;
        }
        WriteOp::PutSession {
            id,
            doc_hash,
            created_at,
            updated_at,
            checkpoint,
        } => {
            conn.prepare_cached(
                "INSERT INTO sessions (id, doc_hash, created_at, updated_at, finished_at, checkpoint)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5)
                 ON CONFLICT (id) DO UPDATE SET doc_hash = excluded.doc_hash,
                     updated_at = excluded.updated_at, finished_at = NULL,
                     checkpoint = excluded.checkpoint",
            )
            .and_then(|mut s| s.execute(params![id, doc_hash, created_at, updated_at, checkpoint]))
            .map_err(backend("writing a session checkpoint"))?;
        }
        WriteOp::FinishSession { id, at } => {
            conn.prepare_cached(
                "UPDATE sessions SET finished_at = ?2, updated_at = ?2, checkpoint = NULL
                 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, at]))
            .map_err(backend("finishing a session"))?;
        }
        WriteOp::PurgeSessions { before } => {
            let what = "purging finished sessions";
            conn.prepare_cached("DELETE FROM sessions WHERE finished_at < ?1")
                .and_then(|mut s| s.execute([before]))
                .map_err(backend(what))?;
            conn.prepare_cached(
                "DELETE FROM documents WHERE hash NOT IN (SELECT doc_hash FROM sessions)",
            )
            .and_then(|mut s| s.execute([]))
            .map_err(backend(what))?;
        }
        WriteOp::PutCallback(r) => {
            let what = "writing a callback record";
            let data = serde_json::to_string(&r.data).map_err(|e| {
                StoreError::Backend(format!("encoding callback {} properties: {e}", r.id))
            })?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO callbacks
                     (id, service, state, reason, desired_time, created_at, expires_at, session, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    r.id,
                    r.service,
                    r.state.as_str(),
                    r.reason,
                    r.desired_time,
                    r.created_at,
                    r.expires_at,
                    r.session,
                    data
                ])
            })
            .map_err(backend(what))?;
        }
        WriteOp::DeleteCallback { id } => {
            conn.prepare_cached("DELETE FROM callbacks WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(backend("deleting a callback record"))?;
        }
        WriteOp::PurgeCallbacks { before } => {
            conn.prepare_cached("DELETE FROM callbacks WHERE expires_at < ?1")
                .and_then(|mut s| s.execute([before]))
                .map_err(backend("purging expired callback records"))?;
        }
        WriteOp::PutUser(u) => {
            let services = serde_json::to_string(&u.services)
                .map_err(|e| StoreError::Backend(format!("encoding a user's services: {e}")))?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO users
                 (name, role, services, password_hash, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    u.name,
                    u.role.as_str(),
                    services,
                    u.password_hash,
                    u.created_at,
                    u.updated_at
                ])
            })
            .map_err(backend("writing a user"))?;
        }
        WriteOp::DeleteUser { name } => {
            conn.prepare_cached("DELETE FROM users WHERE name = ?1")
                .and_then(|mut s| s.execute([name]))
                .map_err(backend("deleting a user"))?;
        }
        WriteOp::PutMetrics(rows) => {
            let what = "writing the metrics history";
            let mut put = conn
                .prepare_cached(
                    "INSERT INTO metrics (series, minute, n, sum, lo, hi, last)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (series, minute) DO UPDATE SET
                        n = n + excluded.n, sum = sum + excluded.sum,
                        lo = MIN(lo, excluded.lo), hi = MAX(hi, excluded.hi),
                        last = excluded.last",
                )
                .map_err(backend(what))?;
            for r in rows {
                put.execute(params![
                    r.series,
                    r.minute,
                    i64::try_from(r.n).unwrap_or(i64::MAX),
                    r.sum,
                    r.lo,
                    r.hi,
                    r.last
                ])
                .map_err(backend(what))?;
            }
        }
        WriteOp::PurgeMetrics { before } => {
            conn.prepare_cached("DELETE FROM metrics WHERE minute < ?1")
                .and_then(|mut s| s.execute([before]))
                .map_err(backend("purging the metrics history"))?;
        }
        WriteOp::Journey(w) => super::journeys::apply(conn, w)?,
    }
    Ok(())
}

/// Roughly how many bytes a request carries, to bound a batch's size.
fn payload_size(ops: &[WriteOp]) -> usize {
    ops.iter()
        .map(|op| match op {
            WriteOp::PutSection { section, options } => {
                section.len()
                    + options
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
            }
            WriteOp::PutTemplate { name, zip } => name.len() + zip.len(),
            WriteOp::PutService(r) => {
                r.id.len()
                    + r.service.len()
                    + r.data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            }
            WriteOp::PutStorage { id, values, .. } => {
                id.len()
                    + values
                        .iter()
                        .map(|(k, v)| k.len() + v.bytes.len())
                        .sum::<usize>()
            }
            WriteOp::PutBooking(b) => b.group.len() + b.number.len() + b.service_id.len(),
            WriteOp::PutDocument(d) => d.hash.len() + d.name.len() + d.source.len(),
            WriteOp::PutSession { id, checkpoint, .. } => id.len() + checkpoint.len() + 64,
            WriteOp::PutCallback(r) => {
                r.id.len() + r.data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + 96
            }
            WriteOp::PutMetrics(rows) => rows.iter().map(|r| r.series.len() + 48).sum(),
            _ => 64,
        })
        .sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(ops: Vec<WriteOp>) -> (Request, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, rx) = oneshot::channel();
        let reply = reply.into();
        (Request { ops, reply }, rx)
    }

    fn put_template(name: &str) -> WriteOp {
        WriteOp::PutTemplate {
            name: name.into(),
            zip: vec![1],
        }
    }

    #[test]
    fn the_writer_never_checkpoints_in_a_commit_and_a_long_wal_wakes_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        super::super::schema::migrate(&mut conn).unwrap();
        conn.wal_hook(Some(on_wal_commit));
        let (sender, woken) = crossbeam_channel::bounded(1);
        let other = Connection::open(&path).unwrap();
        // The checkpoint thread starts its loop once told (or once `go` is dropped), so the
        // wake it would take at once is still there to be counted.
        let (go, started) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = started.recv();
            checkpoint_loop(other, woken)
        });
        let checkpointer = Checkpointer::new(sender.clone(), thread);
        // Declared after the checkpointer, so a failing assertion drops this sender first and
        // the checkpointer's join (which waits for every sender to go) ends instead of hanging.
        let wake = sender;

        // A short WAL asks for nothing.
        let (small, _rx) = request(vec![put_template("small")]);
        commit_batch(&mut conn, &mut vec![small], 0);
        checkpointer.after_commit(&conn);
        assert!(WAL_PAGES.get() < CHECKPOINT_PAGES);
        assert!(wake.is_empty());

        // Past the threshold in one commit, and past it again in the next: SQLite's own
        // checkpoint would have reset the WAL inside the first commit.
        let big = |n: &str| WriteOp::PutTemplate {
            name: n.into(),
            zip: vec![7; 4 * 1024 * 1024],
        };
        let (first, _rx1) = request(vec![big("big1")]);
        commit_batch(&mut conn, &mut vec![first], 0);
        let after_first = WAL_PAGES.get();
        assert!(after_first >= CHECKPOINT_PAGES, "{after_first} pages");
        // No checkpoint has been asked for yet (the hook only counts).
        let (second, _rx2) = request(vec![put_template("after")]);
        commit_batch(&mut conn, &mut vec![second], 0);
        assert!(WAL_PAGES.get() > after_first);
        let db_size = || std::fs::metadata(&path).unwrap().len();
        assert!(
            db_size() < 1024 * 1024,
            "the template is only in the WAL yet"
        );
        checkpointer.after_commit(&conn);
        assert_eq!(wake.len(), 1, "the checkpointer was woken");
        drop(go);

        // Its thread copies the WAL into the database (and once more as the writer goes).
        drop(wake);
        drop(checkpointer);
        assert!(
            db_size() > 4 * 1024 * 1024,
            "the checkpoint copied the template"
        );
    }

    #[test]
    fn a_failing_request_in_a_batch_fails_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        // Make one request fail: the table its second op touches is gone.
        conn.execute_batch("DROP TABLE bookings").unwrap();
        let (a, a_rx) = request(vec![put_template("a")]);
        let (bad, bad_rx) = request(vec![
            put_template("in-bad"),
            WriteOp::DeleteBooking {
                group: "g".into(),
                number: "n".into(),
                service_id: "s".into(),
            },
        ]);
        let (c, c_rx) = request(vec![put_template("c")]);
        let mut batch = vec![a, bad, c];
        commit_batch(&mut conn, &mut batch, 0);
        assert!(batch.is_empty());

        let outcome = |mut rx: oneshot::Receiver<_>| rx.try_recv().unwrap().unwrap();
        assert_eq!(outcome(a_rx), Ok(()));
        assert_eq!(
            outcome(bad_rx),
            Err(StoreError::Backend(
                "deleting a booking: no such table: bookings".into()
            ))
        );
        assert_eq!(outcome(c_rx), Ok(()));
        let names: Vec<String> = conn
            .prepare("SELECT name FROM templates ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["a", "c"]);
    }
}
