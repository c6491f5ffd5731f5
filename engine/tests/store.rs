//! The SQLite store against a real database in a temporary folder. Time is always passed in.

// A failed unwrap is a failed test, with the value in its message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use engine::reporting::MinuteRow;
use engine::store::sqlite::{Durability, SqliteStore, DB_FILE, SCHEMA_VERSION};
use engine::store::{
    Booking, Millis, ServiceRecord, SessionRow, StorageRecord, StorageValue, Store, StoreError,
    StoredDocument, WriteOp,
};

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).expect("open the store")
}

fn write(store: &SqliteStore, ops: Vec<WriteOp>) {
    store.write(ops).wait().expect("write commits");
}

fn service(id: &str, expires_at: Option<Millis>) -> ServiceRecord {
    ServiceRecord {
        id: id.into(),
        service: "request-interaction".into(),
        created_at: 1_000,
        expires_at,
        gms_user: Some("alice".into()),
        data: BTreeMap::from([
            ("_customer_number".into(), "5551234".into()),
            ("note".into(), "quote \" and ünïcode".into()),
        ]),
    }
}

fn booking(number: &str, service_id: &str, expires_at: Millis) -> Booking {
    Booking {
        group: "access".into(),
        number: number.into(),
        access_code: Some("1234".into()),
        service_id: service_id.into(),
        phone_number: Some("+15551234".into()),
        expires_at,
        locking: true,
        booked_at: Some(1_000),
    }
}

fn text(s: &str) -> StorageValue {
    StorageValue {
        bytes: s.as_bytes().to_vec(),
        content_type: None,
        filename: None,
    }
}

fn put_storage(id: &str, expires_at: Millis, values: &[(&str, StorageValue)]) -> WriteOp {
    WriteOp::PutStorage {
        id: id.into(),
        owner: Some("owner".into()),
        expires_at,
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn open_creates_the_database_in_wal_mode_with_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("nested/store");
    let store = open(&folder);
    assert_eq!(store.path(), folder.join(DB_FILE));
    let raw = rusqlite::Connection::open(folder.join(DB_FILE)).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let version: i32 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn open_refuses_a_database_from_a_newer_build() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    raw.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    drop(raw);
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(
        err,
        StoreError::Backend(format!(
            "the database has schema version {}, newer than this build's {SCHEMA_VERSION}",
            SCHEMA_VERSION + 1
        ))
    );
}

#[test]
fn sections_keep_option_order_and_put_replaces_the_whole_section() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(
        &store,
        vec![
            WriteOp::PutSection {
                section: "service.cb".into(),
                options: options(&[("z", "1"), ("a", "2"), ("m", "3")]),
            },
            WriteOp::PutSection {
                section: "server".into(),
                options: options(&[("port", "8080")]),
            },
        ],
    );
    // Sections in name order ("server" < "service.cb"), options in the order given.
    assert_eq!(
        store.sections().unwrap(),
        vec![
            ("server".to_owned(), options(&[("port", "8080")])),
            (
                "service.cb".to_owned(),
                options(&[("z", "1"), ("a", "2"), ("m", "3")])
            ),
        ]
    );

    // Replacing drops options that are not in the new list and takes the new order.
    write(
        &store,
        vec![WriteOp::PutSection {
            section: "service.cb".into(),
            options: options(&[("m", "30"), ("b", "4")]),
        }],
    );
    assert_eq!(
        store.sections().unwrap()[1],
        ("service.cb".to_owned(), options(&[("m", "30"), ("b", "4")]))
    );

    // A repeated key keeps its first position and its last value.
    write(
        &store,
        vec![WriteOp::PutSection {
            section: "service.cb".into(),
            options: options(&[("k", "1"), ("j", "2"), ("k", "3")]),
        }],
    );
    assert_eq!(
        store.sections().unwrap()[1].1,
        options(&[("k", "3"), ("j", "2")])
    );

    write(
        &store,
        vec![WriteOp::DeleteSection {
            section: "service.cb".into(),
        }],
    );
    assert_eq!(
        store.sections().unwrap(),
        vec![("server".to_owned(), options(&[("port", "8080")]))]
    );
}

#[test]
fn templates_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let zip: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    write(
        &store,
        vec![
            WriteOp::PutTemplate {
                name: "b".into(),
                zip: zip.clone(),
            },
            WriteOp::PutTemplate {
                name: "a".into(),
                zip: vec![1, 2, 3],
            },
        ],
    );
    assert_eq!(
        store.templates().unwrap(),
        vec![("a".to_owned(), vec![1, 2, 3]), ("b".to_owned(), zip)]
    );
    write(
        &store,
        vec![
            WriteOp::PutTemplate {
                name: "a".into(),
                zip: vec![9],
            },
            WriteOp::DeleteTemplate { name: "b".into() },
        ],
    );
    assert_eq!(store.templates().unwrap(), vec![("a".to_owned(), vec![9])]);
}

#[test]
fn services_round_trip_and_skip_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let forever = ServiceRecord {
        gms_user: None,
        data: BTreeMap::new(),
        ..service("forever", None)
    };
    let expiring = service("expiring", Some(5_000));
    write(
        &store,
        vec![
            WriteOp::PutService(forever.clone()),
            WriteOp::PutService(expiring.clone()),
        ],
    );
    assert_eq!(store.service("forever").unwrap(), Some(forever.clone()));
    assert_eq!(store.service("expiring").unwrap(), Some(expiring.clone()));
    assert_eq!(store.service("missing").unwrap(), None);
    assert_eq!(
        store.services(4_999).unwrap(),
        vec![expiring.clone(), forever.clone()]
    );
    // Expired at exactly `expires_at`.
    assert_eq!(store.services(5_000).unwrap(), vec![forever.clone()]);

    let mut updated = expiring.clone();
    updated.data.insert("_status".into(), "done".into());
    write(&store, vec![WriteOp::PutService(updated.clone())]);
    assert_eq!(store.service("expiring").unwrap(), Some(updated));

    write(
        &store,
        vec![WriteOp::DeleteService {
            id: "expiring".into(),
        }],
    );
    assert_eq!(store.service("expiring").unwrap(), None);
    assert_eq!(store.services(0).unwrap(), vec![forever]);
}

#[test]
fn storage_merges_values_and_expires_at_exactly_expires_at() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let file = StorageValue {
        bytes: vec![0, 159, 146, 150],
        content_type: Some("application/octet-stream".into()),
        filename: Some("blob.bin".into()),
    };
    write(
        &store,
        vec![put_storage(
            "s1",
            2_000,
            &[("a", text("1")), ("b", text("2")), ("file", file.clone())],
        )],
    );
    write(
        &store,
        vec![WriteOp::PutStorage {
            id: "s1".into(),
            owner: Some("new-owner".into()),
            expires_at: 3_000,
            values: BTreeMap::from([("b".into(), text("20")), ("c".into(), text("3"))]),
        }],
    );
    let expected = StorageRecord {
        id: "s1".into(),
        owner: Some("new-owner".into()),
        expires_at: 3_000,
        values: BTreeMap::from([
            ("a".into(), text("1")),
            ("b".into(), text("20")),
            ("c".into(), text("3")),
            ("file".into(), file),
        ]),
    };
    assert_eq!(store.storage("s1", 2_999).unwrap(), Some(expected.clone()));
    assert_eq!(store.storage("s1", 3_000).unwrap(), None);
    assert_eq!(store.storage("missing", 0).unwrap(), None);

    write(
        &store,
        vec![WriteOp::DeleteStorageKey {
            id: "s1".into(),
            key: "a".into(),
        }],
    );
    let mut without_a = expected;
    without_a.values.remove("a");
    assert_eq!(store.storage("s1", 0).unwrap(), Some(without_a));

    write(&store, vec![WriteOp::DeleteStorage { id: "s1".into() }]);
    assert_eq!(store.storage("s1", 0).unwrap(), None);
    // A record put again after deletion starts empty.
    write(&store, vec![put_storage("s1", 9_000, &[("z", text("26"))])]);
    assert_eq!(
        store.storage("s1", 0).unwrap().unwrap().values,
        BTreeMap::from([("z".into(), text("26"))])
    );
}

#[test]
fn bookings_round_trip_and_skip_expired_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let open_booking = Booking {
        access_code: None,
        phone_number: None,
        locking: false,
        booked_at: None,
        ..booking("8001", "svc-1", 10_000)
    };
    let short = booking("8000", "svc-2", 5_000);
    write(
        &store,
        vec![
            WriteOp::PutBooking(open_booking.clone()),
            WriteOp::PutBooking(short.clone()),
        ],
    );
    assert_eq!(
        store.bookings(4_999).unwrap(),
        vec![short.clone(), open_booking.clone()]
    );
    assert_eq!(store.bookings(5_000).unwrap(), vec![open_booking.clone()]);

    // Same (group, number, service) replaces.
    let extended = Booking {
        expires_at: 20_000,
        ..short.clone()
    };
    write(&store, vec![WriteOp::PutBooking(extended.clone())]);
    assert_eq!(
        store.bookings(9_000).unwrap(),
        vec![extended, open_booking.clone()]
    );

    write(
        &store,
        vec![WriteOp::DeleteBooking {
            group: "access".into(),
            number: "8000".into(),
            service_id: "svc-2".into(),
        }],
    );
    assert_eq!(store.bookings(0).unwrap(), vec![open_booking]);
}

#[test]
fn purge_expired_removes_expired_services_storage_and_bookings() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(
        &store,
        vec![
            WriteOp::PutService(service("old", Some(1_000))),
            WriteOp::PutService(service("young", Some(1_001))),
            WriteOp::PutService(service("forever", None)),
            put_storage("old", 1_000, &[("k", text("v"))]),
            put_storage("young", 1_001, &[("k", text("v"))]),
            WriteOp::PutBooking(booking("1", "old", 1_000)),
            WriteOp::PutBooking(booking("2", "young", 1_001)),
        ],
    );
    write(&store, vec![WriteOp::PurgeExpired { now: 1_000 }]);

    // Purged rows are gone even for reads at an earlier `now`.
    assert_eq!(store.service("old").unwrap(), None);
    let ids: Vec<String> = store
        .services(0)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["forever", "young"]);
    assert_eq!(store.storage("old", 0).unwrap(), None);
    assert!(store.storage("young", 0).unwrap().is_some());
    let numbers: Vec<String> = store
        .bookings(0)
        .unwrap()
        .into_iter()
        .map(|b| b.number)
        .collect();
    assert_eq!(numbers, ["2"]);

    // No orphaned values: the purged record, put again, has only its new values.
    write(
        &store,
        vec![put_storage("old", 5_000, &[("n", text("new"))])],
    );
    assert_eq!(
        store.storage("old", 0).unwrap().unwrap().values,
        BTreeMap::from([("n".into(), text("new"))])
    );
}

#[test]
fn writes_from_one_caller_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Queue everything before waiting, so the writes share batches.
    let mut commits = Vec::new();
    for i in 0..2_000 {
        commits.push(store.write(vec![WriteOp::PutSection {
            section: "counter".into(),
            options: options(&[("n", &i.to_string())]),
        }]));
        if i % 3 == 0 {
            commits.push(store.write(vec![WriteOp::DeleteSection {
                section: "counter".into(),
            }]));
        }
    }
    commits.push(store.write(vec![WriteOp::PutSection {
        section: "counter".into(),
        options: options(&[("n", "last")]),
    }]));
    for commit in commits {
        commit.wait().unwrap();
    }
    assert_eq!(
        store.sections().unwrap(),
        vec![("counter".to_owned(), options(&[("n", "last")]))]
    );
}

#[test]
fn a_failing_write_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write(&store, vec![WriteOp::PutService(service("before", None))]);
    // Sabotage one table behind the store's back so writes touching it fail.
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    raw.execute_batch("DROP TABLE templates").unwrap();

    let mut commits = Vec::new();
    for i in 0..50 {
        commits.push(store.write(vec![WriteOp::PutService(service(&format!("s{i}"), None))]));
        if i == 25 {
            commits.push(store.write(vec![
                WriteOp::PutService(service("in-the-bad-request", None)),
                WriteOp::PutTemplate {
                    name: "t".into(),
                    zip: vec![1],
                },
            ]));
        }
    }
    let outcomes: Vec<_> = commits.into_iter().map(|c| c.wait()).collect();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.is_err()).collect();
    assert_eq!(
        failed,
        [&Err(StoreError::Backend(
            "writing a template: no such table: templates".into()
        ))]
    );
    // The bad request's other op was rolled back with it.
    assert_eq!(store.service("in-the-bad-request").unwrap(), None);
    assert_eq!(store.services(0).unwrap().len(), 51);
}

#[test]
fn many_concurrent_writers_are_all_acknowledged_and_present() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..500 {
                    let id = format!("t{t}-{i}");
                    store
                        .write(vec![
                            WriteOp::PutService(service(&id, Some(100_000))),
                            WriteOp::PutBooking(booking(&id, &id, 100_000)),
                        ])
                        .wait()
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.services(0).unwrap().len(), 4_000);
    assert_eq!(store.bookings(0).unwrap().len(), 4_000);
    for t in 0..8 {
        for i in 0..500 {
            assert!(store.service(&format!("t{t}-{i}")).unwrap().is_some());
        }
    }
}

#[test]
fn reopening_shows_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path(), Durability::PowerLoss).unwrap();
    write(
        &store,
        vec![
            WriteOp::PutSection {
                section: "server".into(),
                options: options(&[("b", "1"), ("a", "2")]),
            },
            WriteOp::PutTemplate {
                name: "t".into(),
                zip: vec![7; 10],
            },
            WriteOp::PutService(service("svc", Some(9_000))),
            put_storage("st", 9_000, &[("k", text("v"))]),
            WriteOp::PutBooking(booking("1", "svc", 9_000)),
        ],
    );
    // Queued but not awaited: shutdown still commits it.
    let last = store.write(vec![WriteOp::PutService(service("last", None))]);
    drop(store);
    assert_eq!(last.wait(), Ok(()));

    let store = open(dir.path());
    assert_eq!(
        store.sections().unwrap(),
        vec![("server".to_owned(), options(&[("b", "1"), ("a", "2")]))]
    );
    assert_eq!(
        store.templates().unwrap(),
        vec![("t".to_owned(), vec![7; 10])]
    );
    assert_eq!(
        store.service("svc").unwrap(),
        Some(service("svc", Some(9_000)))
    );
    assert_eq!(store.service("last").unwrap(), Some(service("last", None)));
    assert_eq!(
        store.storage("st", 0).unwrap().unwrap().values,
        BTreeMap::from([("k".into(), text("v"))])
    );
    assert_eq!(store.bookings(0).unwrap(), vec![booking("1", "svc", 9_000)]);
}

fn put_session(id: &str, doc: &str, at: Millis, checkpoint: &[u8]) -> WriteOp {
    WriteOp::PutSession {
        id: id.into(),
        doc_hash: doc.into(),
        created_at: 1_000,
        updated_at: at,
        checkpoint: checkpoint.to_vec(),
    }
}

#[test]
fn sessions_keep_their_latest_checkpoint_then_a_tombstone_until_purged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let doc = |hash: &str, source: &str| StoredDocument {
        hash: hash.into(),
        name: "inline".into(),
        source: source.into(),
    };
    write(
        &store,
        vec![
            WriteOp::PutDocument(doc("h1", "<scxml/>")),
            // The same hash again keeps the first text: a hash names one text.
            WriteOp::PutDocument(doc("h1", "ignored")),
            WriteOp::PutDocument(doc("h2", "<scxml version='1.0'/>")),
            put_session("a", "h1", 1_000, b"a1"),
            put_session("b", "h2", 1_000, b"b1"),
            put_session("a", "h1", 2_000, b"a2"),
        ],
    );
    assert_eq!(store.document("h1").unwrap(), Some(doc("h1", "<scxml/>")));
    let live = store.live_sessions().unwrap();
    let ids: Vec<(&str, Option<&[u8]>)> = live
        .iter()
        .map(|r| (r.id.as_str(), r.checkpoint.as_deref()))
        .collect();
    assert_eq!(ids, [("a", Some(&b"a2"[..])), ("b", Some(&b"b1"[..]))]);
    write(
        &store,
        vec![WriteOp::FinishSession {
            id: "a".into(),
            at: 3_000,
        }],
    );
    assert_eq!(
        store.session("a").unwrap(),
        Some(SessionRow {
            id: "a".into(),
            doc_hash: "h1".into(),
            created_at: 1_000,
            updated_at: 3_000,
            finished_at: Some(3_000),
            checkpoint: None,
        })
    );
    assert_eq!(store.live_sessions().unwrap().len(), 1);
    // Purging forgets the tombstone and the document only it used.
    write(&store, vec![WriteOp::PurgeSessions { before: 3_001 }]);
    assert_eq!(store.session("a").unwrap(), None);
    assert_eq!(store.document("h1").unwrap(), None);
    assert!(store.document("h2").unwrap().is_some());
    assert!(store.session("b").unwrap().is_some());
}

#[test]
fn a_version_1_database_gains_the_session_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What the first release wrote: the initial schema only.
        let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        raw.execute_batch(
            "CREATE TABLE templates (name TEXT PRIMARY KEY NOT NULL, zip BLOB NOT NULL);
             CREATE TABLE sections (section TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                 ord INTEGER NOT NULL, PRIMARY KEY (section, key)) WITHOUT ROWID;
             CREATE TABLE services (id TEXT PRIMARY KEY NOT NULL, service TEXT NOT NULL,
                 created_at INTEGER NOT NULL, expires_at INTEGER NULL, gms_user TEXT NULL,
                 data TEXT NOT NULL) WITHOUT ROWID;
             CREATE TABLE storage_meta (id TEXT PRIMARY KEY NOT NULL, owner TEXT NULL,
                 expires_at INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE storage (id TEXT NOT NULL, key TEXT NOT NULL, bytes BLOB NOT NULL,
                 content_type TEXT NULL, filename TEXT NULL, PRIMARY KEY (id, key));
             CREATE TABLE bookings (grp TEXT NOT NULL, number TEXT NOT NULL,
                 service_id TEXT NOT NULL, access_code TEXT NULL, phone_number TEXT NULL,
                 expires_at INTEGER NOT NULL, locking INTEGER NOT NULL,
                 PRIMARY KEY (grp, number, service_id)) WITHOUT ROWID;
             INSERT INTO templates VALUES ('kept', x'01');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store.templates().unwrap(),
        vec![("kept".to_owned(), vec![1])]
    );
    write(&store, vec![put_session("s", "h", 5, b"x")]);
    assert_eq!(store.live_sessions().unwrap().len(), 1);
}

#[test]
fn write_after_shutdown_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.shutdown();
    store.shutdown();
    assert_eq!(
        store.write(vec![WriteOp::PurgeExpired { now: 0 }]).wait(),
        Err(StoreError::Closed)
    );
    // Reads still work.
    assert_eq!(store.services(0).unwrap(), vec![]);
}

const CHILD_DIR_VAR: &str = "RINGBACK_STORE_KILL_TEST_DIR";
const ACK: &str = "acked ";

/// Not a test on its own: the child process of `acknowledged_writes_survive_kill_9`. Writes
/// until killed, printing each id once its commit has resolved.
#[test]
#[ignore = "child process of acknowledged_writes_survive_kill_9"]
fn kill_9_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let store = open(Path::new(&dir));
    let mut stdout = std::io::stdout().lock();
    for i in 0u64.. {
        let id = format!("svc-{i}");
        // Two writes in flight at a time, so kills land mid-batch as well as between.
        let first = store.write(vec![WriteOp::PutService(service(&id, None))]);
        let id2 = format!("svc-{i}-b");
        let second = store.write(vec![WriteOp::PutBooking(booking(&id2, &id2, i64::MAX))]);
        first.wait().unwrap();
        writeln!(stdout, "{ACK}{id}").unwrap();
        second.wait().unwrap();
        writeln!(stdout, "{ACK}{id2}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill_9_child_writer", "--nocapture", "--ignored"])
        .env(CHILD_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < 2_000 {
        let line = lines
            .next()
            .expect("the child stopped before being killed")
            .unwrap();
        if let Some(id) = line.strip_prefix(ACK) {
            acked.push(id.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Whatever the child printed before dying was acknowledged too.
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix(ACK) {
            acked.push(id.to_owned());
        }
    }

    let store = open(dir.path());
    let bookings: std::collections::HashSet<String> = store
        .bookings(0)
        .unwrap()
        .into_iter()
        .map(|b| b.service_id)
        .collect();
    for id in &acked {
        let present = if id.ends_with("-b") {
            bookings.contains(id)
        } else {
            store.service(id).unwrap().is_some()
        };
        assert!(
            present,
            "{id} was acknowledged but lost ({} acked)",
            acked.len()
        );
    }
}

/// Group commit throughput: `cargo test --release -p engine --test store -- --ignored
/// --nocapture bench`.
#[test]
#[ignore = "benchmark; run with --release --ignored --nocapture bench"]
fn bench_service_and_booking_writes() {
    for durability in [Durability::Process, Durability::PowerLoss] {
        for in_flight in [1usize, 16, 256] {
            bench_writes(durability, 4, in_flight);
        }
    }
}

/// `threads` threads each keep `in_flight` PutService+PutBooking writes outstanding, waiting
/// on every Commit (1 = write, wait, repeat).
fn bench_writes(durability: Durability, threads: usize, in_flight: usize) {
    const PER_THREAD: usize = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_with(dir.path(), durability).unwrap());
    let per_thread = match (durability, in_flight) {
        (Durability::PowerLoss, 1) => PER_THREAD / 20,
        _ => PER_THREAD,
    };
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut pending = std::collections::VecDeque::with_capacity(in_flight);
                for i in 0..per_thread {
                    if pending.len() == in_flight {
                        let commit: engine::store::Commit = pending.pop_front().unwrap();
                        commit.wait().unwrap();
                    }
                    let id = format!("t{t}-{i}");
                    pending.push_back(store.write(vec![
                        WriteOp::PutService(service(&id, Some(1_000_000))),
                        WriteOp::PutBooking(booking(&id, &id, 1_000_000)),
                    ]));
                }
                for commit in pending {
                    commit.wait().unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let pairs = (threads * per_thread) as f64;
    println!(
        "bench {durability:?}: {threads} threads x {in_flight} in flight: {:.0} acknowledged \
         PutService+PutBooking writes/s ({:.0} ops/s), {pairs} writes in {elapsed:.2}s",
        pairs / elapsed,
        2.0 * pairs / elapsed,
    );
    assert_eq!(store.bookings(0).unwrap().len(), threads * per_thread);
}

#[test]
fn write_then_calls_back_in_commit_order_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    let (tx, rx) = std::sync::mpsc::channel();
    for name in ["a", "b", "c"] {
        let (tx, reader) = (tx.clone(), store.clone());
        store.write_then(
            vec![WriteOp::PutTemplate {
                name: name.into(),
                zip: vec![1],
            }],
            Box::new(move |outcome| {
                // Durable: a reader already sees it.
                let seen = reader.templates().unwrap().iter().any(|(n, _)| n == name);
                tx.send((name, outcome, seen)).unwrap();
            }),
        );
    }
    let got: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
    assert_eq!(
        got,
        [
            ("a", Ok(()), true),
            ("b", Ok(()), true),
            ("c", Ok(()), true)
        ]
    );
    // A callback that panics leaves the writer serving the next writes.
    store.write_then(vec![], Box::new(|_| panic!("a callback bug")));
    let tx2 = tx.clone();
    store.write_then(
        vec![],
        Box::new(move |outcome| tx2.send(("after", outcome, true)).unwrap()),
    );
    assert_eq!(rx.recv().unwrap(), ("after", Ok(()), true));
    // After shutdown the callback still runs, with the store's refusal.
    store.shutdown();
    store.write_then(
        vec![],
        Box::new(move |outcome| tx.send(("late", outcome, false)).unwrap()),
    );
    assert_eq!(rx.recv().unwrap(), ("late", Err(StoreError::Closed), false));
}

#[test]
fn callback_records_round_trip_replace_and_expire() {
    use engine::callback::{CallbackRecord, CallbackState};
    let dir = tempfile::tempdir().unwrap();
    let record = |id: &str, expires_at: Millis| CallbackRecord {
        id: id.into(),
        service: "cb".into(),
        state: CallbackState::Scheduled,
        reason: None,
        desired_time: 5_000,
        created_at: 1_000,
        expires_at,
        session: None,
        data: [("_customer_number", "5551234"), ("note", "é \"quoted\"")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    {
        let store = open(dir.path());
        write(
            &store,
            vec![
                WriteOp::PutCallback(record("a", 100_000)),
                WriteOp::PutCallback(record("b", 10_000)),
                WriteOp::PutCallback(record("c", 100_000)),
                WriteOp::DeleteCallback { id: "c".into() },
            ],
        );
        let mut a = record("a", 100_000);
        a.state = CallbackState::Completed;
        a.reason = Some("CANCELLED".into());
        a.session = Some("s-1".into());
        write(&store, vec![WriteOp::PutCallback(a)]);
    }
    let store = open(dir.path());
    let ids = |now| -> Vec<String> {
        store
            .callbacks(now)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(0), ["a", "b"]);
    assert_eq!(ids(20_000), ["a"], "b expired at 10 s");
    let a = store.callbacks(0).unwrap().remove(0);
    assert_eq!(a.state, CallbackState::Completed);
    assert_eq!(a.reason.as_deref(), Some("CANCELLED"));
    assert_eq!(a.session.as_deref(), Some("s-1"));
    assert_eq!(a.data, record("a", 0).data);
    write(&store, vec![WriteOp::PurgeCallbacks { before: 20_000 }]);
    assert_eq!(ids(0), ["a"], "the purge removed b");
}

#[test]
fn users_are_kept_by_name_with_their_role_services_and_password_hash() {
    use engine::users::{Role, User};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(
        store.users().unwrap().is_empty(),
        "a fresh store has no users"
    );
    let bea = User::new(
        "bea",
        Role::Supervisor,
        &["callback-support".into(), "support".into()],
        "pw-bea",
        1_000,
    )
    .unwrap();
    let al = User::new("al", Role::Administrator, &[], "pw-al", 2_000).unwrap();
    write(
        &store,
        vec![WriteOp::PutUser(bea.clone()), WriteOp::PutUser(al.clone())],
    );
    assert_eq!(store.users().unwrap(), [al.clone(), bea.clone()]);

    // Replacing keeps one row per name; the hash read back still verifies.
    let bea2 = User {
        role: Role::CallbackReadOnly,
        updated_at: 3_000,
        ..bea
    };
    write(&store, vec![WriteOp::PutUser(bea2.clone())]);
    drop(store);
    let store = open(dir.path());
    let users = store.users().unwrap();
    assert_eq!(users, [al.clone(), bea2]);
    assert!(users[1].verify("pw-bea"));
    assert!(!users[1].verify("pw-al"));

    write(&store, vec![WriteOp::DeleteUser { name: "bea".into() }]);
    assert_eq!(store.users().unwrap(), [al]);
}

fn minute_row(series: &str, minute: Millis, lo: f64, hi: f64, last: f64) -> MinuteRow {
    MinuteRow {
        series: series.into(),
        minute,
        n: 1,
        sum: hi,
        lo,
        hi,
        last,
    }
}

#[test]
fn the_metrics_history_merges_minutes_reads_by_prefix_with_the_prior_row_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    const M: Millis = 60_000;
    write(
        &store,
        vec![WriteOp::PutMetrics(vec![
            minute_row("cb.state|a|QUEUED", 0, 0.0, 4.0, 3.0),
            minute_row("cb.state|a|QUEUED", 5 * M, 3.0, 9.0, 2.0),
            minute_row("cb.state|b|QUEUED", 2 * M, 0.0, 1.0, 1.0),
            minute_row("pool.used|DNIS", 6 * M, 0.0, 1.0, 1.0),
        ])],
    );
    // The rest of minute 5, written after a restart, merges into it.
    write(
        &store,
        vec![WriteOp::PutMetrics(vec![minute_row(
            "cb.state|a|QUEUED",
            5 * M,
            1.0,
            5.0,
            1.0,
        )])],
    );
    let (prior, rows) = store.metric_rows("cb.state|a|", 3 * M, 10 * M).unwrap();
    assert_eq!(
        prior,
        vec![minute_row("cb.state|a|QUEUED", 0, 0.0, 4.0, 3.0)]
    );
    assert_eq!(
        rows,
        vec![MinuteRow {
            n: 2,
            sum: 14.0,
            ..minute_row("cb.state|a|QUEUED", 5 * M, 1.0, 9.0, 1.0)
        }]
    );
    let (prior, rows) = store.metric_rows("cb.state|", 0, 10 * M).unwrap();
    assert!(prior.is_empty());
    assert_eq!(rows.len(), 3, "both services, not the pool: {rows:?}");
    write(&store, vec![WriteOp::PurgeMetrics { before: 5 * M }]);
    let (prior, rows) = store.metric_rows("", 0, 10 * M).unwrap();
    assert!(prior.is_empty());
    assert_eq!(
        rows.iter().map(|r| r.minute).collect::<Vec<_>>(),
        [5 * M, 6 * M]
    );
}

fn cs_event(t: Millis) -> engine::cs::Event {
    engine::cs::Event {
        timestamp: t,
        media_type: Some("voice".into()),
        ..engine::cs::Event::default()
    }
}

fn cs_service(id: &str, owner: engine::cs::Owner, started: Millis) -> engine::cs::Service {
    engine::cs::Service {
        id: id.into(),
        owner,
        service_type: Some("Agency".into()),
        est_duration: Some(60),
        started: cs_event(started),
        completed: None,
        extensions: serde_json::from_str(r#"{"Story":[{"title":"x"}]}"#).unwrap(),
        expires_at: None,
        auto_complete_after: Some(10),
        last_activity: started,
    }
}

fn journey(w: engine::cs::Write) -> WriteOp {
    WriteOp::Journey(Box::new(w))
}

#[test]
fn journeys_round_trip_filter_count_sweep_and_purge_by_tenant() {
    use engine::cs::model::{ItemQuery, PurgeKind, Status};
    use engine::cs::{Owner, ServiceQuery, State, Write};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let cust = Owner::Customer("c1".into());
    let mut done = cs_service("s1", cust.clone(), 1_000);
    done.completed = Some(cs_event(2_000));
    let active = cs_service("s2", cust.clone(), 3_000);
    let anon = cs_service("s3", Owner::Anonymous("+1555".into()), 500);
    let state = |id: &str, t: Millis, completed: bool| State {
        service_id: "s2".into(),
        id: id.into(),
        state_type: Some("Upsell".into()),
        previous_state_id: None,
        est_duration: None,
        started: cs_event(t),
        completed: completed.then(|| cs_event(t + 1)),
        extensions: Default::default(),
    };
    write(
        &store,
        vec![
            journey(Write::PutService {
                tenant: String::new(),
                service: done.clone(),
            }),
            journey(Write::PutService {
                tenant: String::new(),
                service: active.clone(),
            }),
            journey(Write::PutService {
                tenant: String::new(),
                service: anon.clone(),
            }),
            // Another tenant's service of the same customer id is not this tenant's.
            journey(Write::PutService {
                tenant: "acme".into(),
                service: cs_service("s9", cust.clone(), 9),
            }),
            journey(Write::PutState {
                tenant: String::new(),
                state: state("st1", 3_100, true),
            }),
            journey(Write::PutState {
                tenant: String::new(),
                state: state("st2", 3_200, false),
            }),
        ],
    );
    let j = store.journeys();
    assert_eq!(j.cs_service("", "s2").unwrap(), Some(active.clone()));
    assert_eq!(j.cs_service("", "s9").unwrap(), None);
    let mut q = ServiceQuery::of(cust.clone());
    let ids = |v: Vec<engine::cs::Service>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(j.cs_services("", &q).unwrap()),
        ["s2", "s1"],
        "latest first"
    );
    q.status = Status::Completed;
    assert_eq!(ids(j.cs_services("", &q).unwrap()), ["s1"]);
    q.status = Status::Any;
    q.started_from = Some(2_500);
    assert_eq!(ids(j.cs_services("", &q).unwrap()), ["s2"]);
    let anon_q = ServiceQuery::of(Owner::Anonymous("+1555".into()));
    assert_eq!(ids(j.cs_services("", &anon_q).unwrap()), ["s3"]);
    let active_states = ItemQuery {
        status: Status::Active,
        ..ItemQuery::default()
    };
    let states = j.cs_states("", &["s2"], &active_states).unwrap();
    assert_eq!(
        states.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["st2"]
    );
    assert_eq!(
        j.cs_item_service("", "st1").unwrap(),
        Some(("s2".into(), "state"))
    );
    let c = j.cs_counts("", &cust).unwrap();
    assert_eq!(
        (c.services, c.services_active, c.states, c.states_active),
        (2, 1, 2, 1)
    );
    // Activity moves the idle deadline: s2 (active, 10 s allowance) is due at 13_000, then
    // 20_000 after activity at 10_000; s3 at 10_500 and acme's s9 at 10_009, the earliest first.
    write(
        &store,
        vec![journey(Write::Touch {
            tenant: String::new(),
            id: "s2".into(),
            at: 10_000,
        })],
    );
    let due = j.cs_due(15_000, 10).unwrap();
    assert_eq!(
        due.iter().map(|(_, s)| s.id.as_str()).collect::<Vec<_>>(),
        ["s9", "s3"]
    );
    assert_eq!(j.cs_due(20_000, 10).unwrap().len(), 3);
    // Purge the anonymous active ones, then everything started before 2_500.
    let anon_purge = PurgeKind::Started { anonymous: true };
    assert_eq!(j.cs_purge_count("", anon_purge, 10_000).unwrap(), 1);
    write(
        &store,
        vec![journey(Write::Purge {
            tenant: String::new(),
            kind: anon_purge,
            before: 10_000,
        })],
    );
    assert_eq!(j.cs_service("", "s3").unwrap(), None);
    write(
        &store,
        vec![journey(Write::Purge {
            tenant: String::new(),
            kind: PurgeKind::All,
            before: 2_500,
        })],
    );
    assert_eq!(
        ids(j.cs_services("", &ServiceQuery::of(cust.clone())).unwrap()),
        ["s2"]
    );
    write(
        &store,
        vec![journey(Write::DeleteService {
            tenant: String::new(),
            id: "s2".into(),
        })],
    );
    assert_eq!(
        j.cs_states("", &["s2"], &ItemQuery::default()).unwrap(),
        vec![]
    );
    assert_eq!(
        j.cs_service("acme", "s9").unwrap().map(|s| s.id),
        Some("s9".into())
    );
}

#[test]
fn profiles_are_found_through_their_index_and_metadata_is_kept() {
    use engine::cs::profiles::Profile;
    use engine::cs::Write;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let p = Profile {
        customer_id: "c1".into(),
        attributes: serde_json::from_str(
            r#"{"PhoneNumber":["5125","6504661100"],"LastName":"Jones"}"#,
        )
        .unwrap(),
        extensions: Default::default(),
        created_at: 1,
        updated_at: 1,
    };
    let index = p.index();
    write(
        &store,
        vec![journey(Write::PutProfile {
            tenant: String::new(),
            profile: p.clone(),
            index,
        })],
    );
    let j = store.journeys();
    assert_eq!(j.cs_profile("", "c1").unwrap(), Some(p.clone()));
    assert_eq!(
        j.cs_profiles_with("", "PhoneNumber", "6504661100", 10)
            .unwrap(),
        ["c1"]
    );
    assert_eq!(
        j.cs_profiles_with("", "lastname", "jones", 10).unwrap(),
        ["c1"]
    );
    // A replaced profile's old values no longer find it.
    let mut q = p.clone();
    q.attributes = serde_json::from_str(r#"{"PhoneNumber":"777"}"#).unwrap();
    let index = q.index();
    write(
        &store,
        vec![journey(Write::PutProfile {
            tenant: String::new(),
            profile: q,
            index,
        })],
    );
    assert!(j
        .cs_profiles_with("", "PhoneNumber", "5125", 10)
        .unwrap()
        .is_empty());
    write(
        &store,
        vec![journey(Write::DeleteProfile {
            tenant: String::new(),
            id: "c1".into(),
        })],
    );
    assert!(j
        .cs_profiles_with("", "PhoneNumber", "777", 10)
        .unwrap()
        .is_empty());
    write(
        &store,
        vec![journey(Write::PutMeta {
            tenant: "t".into(),
            kind: "schema".into(),
            name: "X".into(),
            body: "{}".into(),
        })],
    );
    assert_eq!(
        j.cs_meta().unwrap(),
        [("t".into(), "schema".into(), "X".into(), "{}".into())]
    );
}
