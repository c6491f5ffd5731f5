//! The persistence contract: what Ringback keeps durably, and how writes are acknowledged.
//!
//! Writes are batched by one writer (group commit) and a [`Commit`] resolves only once the
//! transaction holding them is durable, so a handler that awaits it before answering never
//! acknowledges anything a `kill -9` could lose. Reads are synchronous and cheap.
//! [`sqlite::SqliteStore`] is the embedded implementation; another backend implements [`Store`].

pub mod sqlite;

use crate::cs;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Milliseconds since the Unix epoch. Passed in: the store never reads the clock.
pub type Millis = i64;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("storage backend failure: {0}")]
    Backend(String),
    #[error("the store is shut down")]
    Closed,
}

/// One service instance (`POST /genesys/1/service/{name}` creates one; its `_id` is `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    pub id: String,
    /// The configured service name (`request-interaction`, `callback-immediate`, ...).
    pub service: String,
    pub created_at: Millis,
    /// When the record may be purged (`None`: kept until deleted).
    pub expires_at: Option<Millis>,
    /// The `gms_user` header of the request that created it.
    pub gms_user: Option<String>,
    /// Parameters and results, as the GMS API's string fields.
    pub data: BTreeMap<String, String>,
}

/// One value in a storage record: text or a file part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageValue {
    pub bytes: Vec<u8>,
    /// For file parts: the part's content type and file name.
    pub content_type: Option<String>,
    pub filename: Option<String>,
}

/// A storage record (`/genesys/1/storage/...`, and `/service/{id}/storage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRecord {
    pub id: String,
    pub owner: Option<String>,
    pub expires_at: Millis,
    pub values: BTreeMap<String, StorageValue>,
}

/// An access number booked by a service (request-interaction / request-access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub group: String,
    pub number: String,
    /// With `_provide_code`: the access code that, with the number, identifies the booking.
    pub access_code: Option<String>,
    pub service_id: String,
    /// The caller's number (`_phone_number`), for DNIS + ANI matching.
    pub phone_number: Option<String>,
    pub expires_at: Millis,
    /// A locking booking holds the number exclusively until it is matched or expires.
    pub locking: bool,
    /// When it was booked (`None` for bookings stored before this was kept): a match's
    /// handle time is from here.
    pub booked_at: Option<Millis>,
}

/// A state-chart document a session runs, kept by the hash of its text so a session restored
/// after a restart finds the document it started with even if the file changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// Hex SHA-256-style content hash (see the session host for how it is computed).
    pub hash: String,
    /// Where it came from: a template name, a URL, or `inline`.
    pub name: String,
    pub source: String,
}

/// A session's durable record: its latest checkpoint, or when it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub doc_hash: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Set once the session has ended (its checkpoint is then gone).
    pub finished_at: Option<Millis>,
    /// The session host's own encoding of the session (versioned by the host).
    pub checkpoint: Option<Vec<u8>>,
}

/// One change. A batch of them commits atomically.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Replaces a configuration section (`server`, `service.<name>`, `resources.<group>`, ...).
    PutSection {
        section: String,
        options: Vec<(String, String)>,
    },
    DeleteSection {
        section: String,
    },
    /// An uploaded template (the zip as received).
    PutTemplate {
        name: String,
        zip: Vec<u8>,
    },
    DeleteTemplate {
        name: String,
    },
    PutService(ServiceRecord),
    DeleteService {
        id: String,
    },
    /// Creates the record or merges `values` into it, setting its expiry.
    PutStorage {
        id: String,
        owner: Option<String>,
        expires_at: Millis,
        values: BTreeMap<String, StorageValue>,
    },
    DeleteStorage {
        id: String,
    },
    DeleteStorageKey {
        id: String,
        key: String,
    },
    PutBooking(Booking),
    DeleteBooking {
        group: String,
        number: String,
        service_id: String,
    },
    /// Removes every service record, storage record and booking expired at `now`.
    PurgeExpired {
        now: Millis,
    },
    /// Keeps a document (nothing happens if its hash is stored already).
    PutDocument(StoredDocument),
    /// Creates or replaces a live session's checkpoint.
    PutSession {
        id: String,
        doc_hash: String,
        created_at: Millis,
        updated_at: Millis,
        checkpoint: Vec<u8>,
    },
    /// The session ended: its checkpoint goes, a tombstone stays until purged.
    FinishSession {
        id: String,
        at: Millis,
    },
    /// Forgets sessions that finished before `before`, and documents no session uses.
    PurgeSessions {
        before: Millis,
    },
    /// Creates or replaces a callback record.
    PutCallback(crate::callback::CallbackRecord),
    DeleteCallback {
        id: String,
    },
    /// Forgets callback records that expired before `before`.
    PurgeCallbacks {
        before: Millis,
    },
    /// Creates or replaces a user.
    PutUser(crate::users::User),
    DeleteUser {
        name: String,
    },
    /// Adds minutes of the metrics history (merged with rows of the same series and minute).
    PutMetrics(Vec<crate::reporting::MinuteRow>),
    /// Forgets the metrics history before `before`.
    PurgeMetrics {
        before: Millis,
    },
    /// A change to Context Services' journeys, profiles or metadata.
    Journey(Box<crate::cs::Write>),
}

/// Resolves when the batch that holds the write is durable. Await it, or [`Commit::wait`].
pub struct Commit(pub(crate) futures_channel::oneshot::Receiver<Result<(), StoreError>>);

impl std::fmt::Debug for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Commit")
    }
}

impl Commit {
    /// Blocks until durable (for callers outside an async runtime).
    pub fn wait(self) -> Result<(), StoreError> {
        futures_executor::block_on(self)
    }

    /// A commit still to come, and what completes it: for a store that wraps another (its
    /// `write` forwards to the inner store's `write_then` with this).
    pub fn pending() -> (Then, Commit) {
        let (tx, rx) = futures_channel::oneshot::channel();
        let then: Then = Box::new(move |outcome| {
            let _ = tx.send(outcome);
        });
        (then, Commit(rx))
    }

    /// A commit that has already failed.
    pub fn failed(e: StoreError) -> Commit {
        let (tx, rx) = futures_channel::oneshot::channel();
        let _ = tx.send(Err(e));
        Commit(rx)
    }
}

impl Future for Commit {
    type Output = Result<(), StoreError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
    }
}

/// A configuration section: its name and its options in order.
pub type Section = (String, Vec<(String, String)>);

/// What [`Store::metric_rows`] reads: `(prior, rows)`.
pub type MetricRows = (
    Vec<crate::reporting::MinuteRow>,
    Vec<crate::reporting::MinuteRow>,
);

/// What [`Store::write_then`] calls with the outcome.
pub type Then = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Durable state. Implementations are shared by every worker (`Send + Sync`).
pub trait Store: Send + Sync {
    /// Queues writes; they commit together, in order, in one transaction.
    fn write(&self, ops: Vec<WriteOp>) -> Commit;

    /// Queues writes like [`write`](Self::write) and calls `then` with the outcome once they
    /// are durable (or failed), in commit order, on the store's own thread: `then` must be
    /// short and must not block (send a reply, queue a task). It saves the caller a thread
    /// waiting on the [`Commit`].
    fn write_then(&self, ops: Vec<WriteOp>, then: Then);

    /// Every configuration section, in name order.
    fn sections(&self) -> Result<Vec<Section>, StoreError>;
    fn templates(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    fn service(&self, id: &str) -> Result<Option<ServiceRecord>, StoreError>;
    /// Every service record not expired at `now` (used to rebuild caches at start).
    fn services(&self, now: Millis) -> Result<Vec<ServiceRecord>, StoreError>;
    /// The record, unless expired at `now`.
    fn storage(&self, id: &str, now: Millis) -> Result<Option<StorageRecord>, StoreError>;
    /// Every booking not expired at `now`.
    fn bookings(&self, now: Millis) -> Result<Vec<Booking>, StoreError>;
    fn document(&self, hash: &str) -> Result<Option<StoredDocument>, StoreError>;
    /// Every session that has not finished, in the order they were created.
    fn live_sessions(&self) -> Result<Vec<SessionRow>, StoreError>;
    /// One session's record, live or finished.
    fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// Every callback record not expired at `now`, oldest first.
    fn callbacks(&self, now: Millis) -> Result<Vec<crate::callback::CallbackRecord>, StoreError>;
    /// Every user, by name.
    fn users(&self) -> Result<Vec<crate::users::User>, StoreError>;
    /// The metrics history of the series starting with `prefix`: each series' last row
    /// before `from` (a level's value then), and its rows in `[from, to)`; by series, then
    /// minute.
    fn metric_rows(&self, prefix: &str, from: Millis, to: Millis)
        -> Result<MetricRows, StoreError>;
    /// Context Services' records.
    fn journeys(&self) -> &dyn JourneyStore;
}

/// Reads of Context Services' records (written with [`WriteOp::Journey`]). Every read is of
/// one tenant (`""` for single-tenant installations).
pub trait JourneyStore: Send + Sync {
    fn cs_service(&self, tenant: &str, id: &str) -> Result<Option<cs::Service>, StoreError>;
    /// The services the query admits, latest started first.
    fn cs_services(
        &self,
        tenant: &str,
        q: &cs::ServiceQuery,
    ) -> Result<Vec<cs::Service>, StoreError>;
    /// The states of these services the query admits, by service (in the order given), then
    /// start.
    fn cs_states(
        &self,
        tenant: &str,
        services: &[&str],
        q: &cs::ItemQuery,
    ) -> Result<Vec<cs::State>, StoreError>;
    fn cs_tasks(
        &self,
        tenant: &str,
        services: &[&str],
        q: &cs::ItemQuery,
    ) -> Result<Vec<cs::Task>, StoreError>;
    fn cs_state(
        &self,
        tenant: &str,
        service: &str,
        id: &str,
    ) -> Result<Option<cs::State>, StoreError>;
    fn cs_task(
        &self,
        tenant: &str,
        service: &str,
        id: &str,
    ) -> Result<Option<cs::Task>, StoreError>;
    /// The service of a state or task id: `(service id, "state" | "task")`.
    fn cs_item_service(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(String, &'static str)>, StoreError>;
    /// How many services, states and tasks an owner has, and how many are active.
    fn cs_counts(&self, tenant: &str, owner: &cs::Owner) -> Result<cs::Counts, StoreError>;
    /// Services due at `now`: past their expiration (any tenant), or idle past their
    /// auto-completion. At most `limit`.
    fn cs_due(&self, now: Millis, limit: usize) -> Result<Vec<(String, cs::Service)>, StoreError>;
    /// How many services a purge would remove.
    fn cs_purge_count(
        &self,
        tenant: &str,
        kind: cs::PurgeKind,
        before: Millis,
    ) -> Result<u64, StoreError>;
    /// Services for an export, in id order after `q.after`, at most `q.limit`.
    fn cs_export(&self, tenant: &str, q: &cs::ExportQuery) -> Result<Vec<cs::Service>, StoreError>;
    fn cs_profile(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<cs::profiles::Profile>, StoreError>;
    /// The customers whose lookup index holds `(name, value)` (both normalised), at most
    /// `limit`.
    fn cs_profiles_with(
        &self,
        tenant: &str,
        name: &str,
        value: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Every metadata row: `(tenant, kind, name, body)`.
    fn cs_meta(&self) -> Result<Vec<(String, String, String, String)>, StoreError>;
}
