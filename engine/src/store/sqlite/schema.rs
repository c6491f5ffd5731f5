//! The SQLite schema and its migrations, versioned with `PRAGMA user_version`.
//!
//! Migration `i` (0-based) takes a database from version `i` to `i + 1`. A new issue that
//! changes the schema appends a migration; it never edits one that has shipped.

use rusqlite::Connection;

use super::backend;
use crate::store::StoreError;

/// The schema version this build writes (`PRAGMA user_version` after [`migrate`]).
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "
    CREATE TABLE sections (
        section TEXT NOT NULL,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        ord     INTEGER NOT NULL,
        PRIMARY KEY (section, key)
    ) WITHOUT ROWID;

    CREATE TABLE templates (
        name TEXT PRIMARY KEY NOT NULL,
        zip  BLOB NOT NULL
    );

    CREATE TABLE services (
        id         TEXT PRIMARY KEY NOT NULL,
        service    TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NULL,
        gms_user   TEXT NULL,
        data       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX services_expires_at ON services (expires_at);

    CREATE TABLE storage_meta (
        id         TEXT PRIMARY KEY NOT NULL,
        owner      TEXT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX storage_meta_expires_at ON storage_meta (expires_at);

    CREATE TABLE storage (
        id           TEXT NOT NULL,
        key          TEXT NOT NULL,
        bytes        BLOB NOT NULL,
        content_type TEXT NULL,
        filename     TEXT NULL,
        PRIMARY KEY (id, key)
    );

    CREATE TABLE bookings (
        grp          TEXT NOT NULL,
        number       TEXT NOT NULL,
        service_id   TEXT NOT NULL,
        access_code  TEXT NULL,
        phone_number TEXT NULL,
        expires_at   INTEGER NOT NULL,
        locking      INTEGER NOT NULL,
        PRIMARY KEY (grp, number, service_id)
    ) WITHOUT ROWID;
    CREATE INDEX bookings_expires_at ON bookings (expires_at);
    ",
    // 2: state-chart sessions and the documents they run (the session host's checkpoints).
    "
    CREATE TABLE documents (
        hash   TEXT PRIMARY KEY NOT NULL,
        name   TEXT NOT NULL,
        source TEXT NOT NULL
    );

    -- Checkpoints are small (hundreds of bytes) and written often: keyed by id alone
    -- (WITHOUT ROWID, one B-tree, no second index to keep up), ids being time-ordered.
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY NOT NULL,
        doc_hash    TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        finished_at INTEGER NULL,
        checkpoint  BLOB NULL
    ) WITHOUT ROWID;
    ",
    // 3: callback records; finished sessions found by when they finished (the purge).
    "
    CREATE TABLE callbacks (
        id           TEXT PRIMARY KEY NOT NULL,
        service      TEXT NOT NULL,
        state        TEXT NOT NULL,
        reason       TEXT NULL,
        desired_time INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        session      TEXT NULL,
        data         TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX callbacks_expires_at ON callbacks (expires_at);

    CREATE INDEX sessions_finished_at ON sessions (finished_at) WHERE finished_at IS NOT NULL;
    ",
    // 4: users of the UI and the API (passwords as Argon2id PHC strings).
    "
    CREATE TABLE users (
        name          TEXT PRIMARY KEY NOT NULL,
        role          TEXT NOT NULL,
        services      TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 5: the metrics history (engine::reporting), and when each booking was made.
    "
    CREATE TABLE metrics (
        series TEXT NOT NULL,
        minute INTEGER NOT NULL,
        n      INTEGER NOT NULL,
        sum    REAL NOT NULL,
        lo     REAL NOT NULL,
        hi     REAL NOT NULL,
        last   REAL NOT NULL,
        PRIMARY KEY (series, minute)
    ) WITHOUT ROWID;
    CREATE INDEX metrics_minute ON metrics (minute);

    ALTER TABLE bookings ADD COLUMN booked_at INTEGER NULL;
    ",
    // 6: Context Services — journeys (services, states, tasks), profiles with their lookup
    // index, and metadata (extension schemas, identification keys). Ids are time-ordered, so
    // new rows append; a customer's services are found by (tenant, customer, start).
    "
    CREATE TABLE cs_services (
        tenant        TEXT NOT NULL,
        id            TEXT NOT NULL,
        customer_id   TEXT NULL,
        contact_key   TEXT NULL,
        service_type  TEXT NULL,
        started_at    INTEGER NOT NULL,
        completed_at  INTEGER NULL,
        expires_at    INTEGER NULL,
        idle_due      INTEGER NULL,
        last_activity INTEGER NOT NULL,
        doc           TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    -- A customer's services, and their figures (completed_at covered: counting reads the index).
    CREATE INDEX cs_services_customer ON cs_services (tenant, customer_id, started_at, completed_at)
        WHERE customer_id IS NOT NULL;
    CREATE INDEX cs_services_contact ON cs_services (tenant, contact_key, started_at, completed_at)
        WHERE contact_key IS NOT NULL;
    CREATE INDEX cs_services_started ON cs_services (tenant, started_at);
    CREATE INDEX cs_services_completed ON cs_services (tenant, completed_at)
        WHERE completed_at IS NOT NULL;
    CREATE INDEX cs_services_expires ON cs_services (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX cs_services_idle ON cs_services (idle_due) WHERE idle_due IS NOT NULL;

    CREATE TABLE cs_states (
        tenant       TEXT NOT NULL,
        service_id   TEXT NOT NULL,
        id           TEXT NOT NULL,
        state_type   TEXT NULL,
        started_at   INTEGER NOT NULL,
        completed_at INTEGER NULL,
        doc          TEXT NOT NULL,
        PRIMARY KEY (tenant, service_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX cs_states_id ON cs_states (tenant, id);
    -- Counting a customer's states reads this small index, not the rows with their documents.
    CREATE INDEX cs_states_done ON cs_states (tenant, service_id, completed_at);

    CREATE TABLE cs_tasks (
        tenant       TEXT NOT NULL,
        service_id   TEXT NOT NULL,
        id           TEXT NOT NULL,
        state_id     TEXT NULL,
        task_type    TEXT NULL,
        started_at   INTEGER NOT NULL,
        completed_at INTEGER NULL,
        doc          TEXT NOT NULL,
        PRIMARY KEY (tenant, service_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX cs_tasks_id ON cs_tasks (tenant, id);
    CREATE INDEX cs_tasks_done ON cs_tasks (tenant, service_id, completed_at);

    CREATE TABLE cs_profiles (
        tenant      TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        doc         TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (tenant, customer_id)
    ) WITHOUT ROWID;

    CREATE TABLE cs_profile_index (
        tenant      TEXT NOT NULL,
        name        TEXT NOT NULL,
        value       TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        PRIMARY KEY (tenant, name, value, customer_id)
    ) WITHOUT ROWID;
    CREATE INDEX cs_profile_index_customer ON cs_profile_index (tenant, customer_id);

    CREATE TABLE cs_meta (
        tenant TEXT NOT NULL,
        kind   TEXT NOT NULL,
        name   TEXT NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (tenant, kind, name)
    ) WITHOUT ROWID;
    ",
];

/// Brings the database up to [`SCHEMA_VERSION`], one transaction per migration.
///
/// A database written by a newer build (a higher version) is refused rather than guessed at.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend("reading the schema version"))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let to = from + 1;
        let tx = conn
            .transaction()
            .map_err(backend("starting a schema migration"))?;
        tx.execute_batch(sql)
            .map_err(backend(&format!("migrating the schema to version {to}")))?;
        // PRAGMA takes no bound parameters; `to` is a small integer we produced.
        tx.execute_batch(&format!("PRAGMA user_version = {to}"))
            .map_err(backend("recording the schema version"))?;
        tx.commit()
            .map_err(backend(&format!("committing schema version {to}")))?;
        tracing::info!(version = to, "store schema migrated");
    }
    Ok(())
}
