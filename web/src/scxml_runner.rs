//! `ringback scxml run|test|validate`: runs SCXML documents to completion with real (or
//! virtual) timers and the Basic HTTP Event I/O Processor on loopback.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scxml::interp::SendTarget;
use scxml::parse::{parse_document, resolve_uri, Loader};
use scxml::system::{Capabilities, Output, System, Transport};
use scxml::EcmaDataModel;
use scxml::Event;
use serde::Serialize;

use crate::basichttp::{self, BasicHttpServer};

/// Loads `src` URIs from the file system (`file:` URIs and plain paths, relative to the base).
#[derive(Debug, Default)]
pub struct FileLoader;

impl Loader for FileLoader {
    fn load(&self, uri: &str, base: Option<&str>) -> Result<(String, String), String> {
        let resolved = resolve_uri(uri, base);
        let path = resolved.strip_prefix("file://").unwrap_or(&resolved);
        let path = path.strip_prefix("file:").unwrap_or(path);
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
        decode(&bytes)
            .map(|text| (text, resolved.clone()))
            .map_err(|(line, col, msg)| format!("'{path}' {line}:{col}: {msg}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Timeout,
    Error,
}

/// The JSON line `scxml run` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub file: String,
    pub outcome: Outcome,
    #[serde(rename = "final")]
    pub final_state: Option<String>,
    pub events: u64,
    #[serde(skip)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeout: Duration,
    pub virtual_time: bool,
    /// Print log lines of the documents to stderr.
    pub verbose: bool,
}

/// Sends Basic HTTP events with a blocking POST and picks up what the server received.
struct HttpTransport {
    rx: Rc<Receiver<basichttp::Incoming>>,
    live: basichttp::LiveSessions,
}

impl Transport for HttpTransport {
    fn send(&mut self, session: &str, target: &SendTarget, event: &Event) -> Result<(), String> {
        // The sender is live, even if it started within the current call into the system.
        basichttp::mark_live(&self.live, session);
        match target {
            SendTarget::BasicHttp(url) => basichttp::post(url, event),
            other => Err(format!("no transport for {other:?}")),
        }
    }
    fn poll(&mut self) -> Option<(String, Event)> {
        self.rx.try_recv().ok().map(|i| (i.session, i.event))
    }
}

static RUNNER_IDS: AtomicU64 = AtomicU64::new(1);

/// Decodes a document: UTF-8 (with or without a byte-order mark), or ISO-8859-1 / US-ASCII
/// when the XML declaration says so. An undecodable byte is reported with its line and column.
pub fn decode(bytes: &[u8]) -> Result<String, (usize, usize, String)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
    let declared = head
        .strip_prefix("<?xml")
        .and_then(|d| d.split("?>").next())
        .and_then(|d| d.split("encoding").nth(1))
        .map(|rest| {
            rest.trim_start_matches(|c: char| c == '=' || c.is_whitespace())
                .trim_start_matches(['"', '\''])
                .split(['"', '\''])
                .next()
                .unwrap_or("")
                .to_string()
        });
    if matches!(
        declared.as_deref(),
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1")
    ) {
        return Ok(bytes.iter().map(|&b| char::from(b)).collect());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let prefix = &bytes[..e.valid_up_to()];
            let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = prefix
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&prefix[line_start..])
                .chars()
                .count()
                + 1;
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
            Err((
                line,
                col,
                format!(
                    "the document is not valid UTF-8 (byte 0x{byte:02X}); save it as UTF-8 or declare \
                     encoding=\"ISO-8859-1\""
                ),
            ))
        }
    }
}

/// Reads and validates a document file, returning every problem as `FILE:LINE:COL: message`.
pub fn load(path: &Path) -> Result<scxml::Document, Vec<String>> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| vec![format!("{file}: {e}")])?;
    let text =
        decode(&bytes).map_err(|(line, col, msg)| vec![format!("{file}:{line}:{col}: {msg}")])?;
    let base = std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.clone());
    parse_document(&text, Some(&base), &FileLoader).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{file}:{}:{}: {}", p.pos.line, p.pos.col, p.message))
            .collect()
    })
}

/// Runs one document to completion.
pub fn run_file(path: &Path, http: &BasicHttpServer, opts: &RunOptions) -> RunReport {
    let file = path.display().to_string();
    let doc = match load(path) {
        Ok(d) => Arc::new(d),
        Err(problems) => {
            return RunReport {
                file,
                outcome: Outcome::Error,
                final_state: None,
                events: 0,
                reason: Some(problems.join("\n")),
            }
        }
    };
    let runner = RUNNER_IDS.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = channel();
    let live = http.register(runner, tx);
    // Shared by the transport (polled right after each send) and the wait loop below.
    let rx = Rc::new(rx);
    let caps = Capabilities {
        send_types: vec!["basichttp".into()],
        basichttp_base: Some(http.base_for(runner)),
        limits: Default::default(),
    };
    let mut dm = EcmaDataModel::new();
    let mut sys: System<EcmaDataModel> = System::new(Box::new(FileLoader), caps);
    sys.set_transport(Box::new(HttpTransport {
        rx: rx.clone(),
        live: live.clone(),
    }));
    let started = Instant::now();
    let timeout_ms = opts.timeout.as_millis() as u64;
    // Virtual time starts at zero and jumps to the next timer whenever nothing else is pending.
    let mut vnow: u64 = 0;
    let now = |vnow: u64| {
        if opts.virtual_time {
            vnow
        } else {
            started.elapsed().as_millis() as u64
        }
    };
    let top = sys.start(&mut dm, doc, now(vnow));
    let mut result: Option<(Outcome, Option<String>, Option<String>)> = None;
    loop {
        basichttp::set_live(&live, sys.session_ids());
        for out in sys.take_output() {
            match out {
                Output::Log {
                    session,
                    label,
                    message,
                } => {
                    if opts.verbose {
                        eprintln!("[{session}] {}: {message}", label.unwrap_or_default());
                    }
                }
                Output::Send {
                    session,
                    target,
                    event,
                } => {
                    let sendid = event.sendid.clone();
                    let delivered = match &target {
                        SendTarget::BasicHttp(url) => basichttp::post(url, &event),
                        other => Err(format!("unsupported target {other:?}")),
                    };
                    if let Err(e) = delivered {
                        sys.send_failed(&mut dm, &session, sendid, e, now(vnow));
                    }
                }
                Output::Finished {
                    session,
                    final_state,
                    halted,
                } if session == top => {
                    let outcome = if final_state.as_deref() == Some("pass") {
                        Outcome::Pass
                    } else if halted.is_some() {
                        Outcome::Error
                    } else {
                        Outcome::Fail
                    };
                    result = Some((outcome, final_state, halted));
                }
                Output::Finished { .. } => {}
            }
        }
        if result.is_some() {
            break;
        }
        if sys.session(&top).is_none() {
            result = Some((Outcome::Fail, None, Some("session ended".into())));
            break;
        }
        let wall = started.elapsed();
        if wall > opts.timeout.max(Duration::from_secs(1)) + Duration::from_secs(5)
            || now(vnow) > timeout_ms
        {
            break;
        }
        // Events received over HTTP come first.
        if let Ok(inc) = rx.try_recv() {
            sys.deliver(&mut dm, &inc.session, inc.event, now(vnow));
            continue;
        }
        let deadline = sys.next_deadline();
        if opts.virtual_time {
            match deadline {
                // The clock never jumps past the timeout: such a timer would fire too late.
                Some(at) if at > timeout_ms => break,
                Some(at) => {
                    vnow = vnow.max(at);
                    sys.advance(&mut dm, vnow);
                }
                None => match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(inc) => {
                        sys.deliver(&mut dm, &inc.session, inc.event, vnow);
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            }
        } else {
            let cur = now(vnow);
            let until = deadline.unwrap_or(timeout_ms + 1).min(timeout_ms + 1);
            let wait = Duration::from_millis(until.saturating_sub(cur));
            match rx.recv_timeout(wait) {
                Ok(inc) => {
                    sys.deliver(&mut dm, &inc.session, inc.event, now(vnow));
                }
                Err(RecvTimeoutError::Timeout) => sys.advance(&mut dm, now(vnow)),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    http.unregister(runner);
    let events = sys.events_processed();
    match result {
        Some((outcome, final_state, reason)) => RunReport {
            file,
            outcome,
            final_state,
            events,
            reason,
        },
        None => RunReport {
            file,
            outcome: Outcome::Timeout,
            final_state: None,
            events,
            reason: Some("no top-level final state reached before the timeout".into()),
        },
    }
}

/// Start documents in a folder: `*.scxml` not matching `*sub*.scxml`, sorted by name.
pub fn start_documents(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".scxml") && !name.contains("sub")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Runs every start document of a folder on `jobs` threads; reports in file order.
pub fn run_dir(dir: &Path, jobs: usize, opts: &RunOptions) -> std::io::Result<Vec<RunReport>> {
    let files = start_documents(dir)?;
    let http = BasicHttpServer::start()?;
    let next = AtomicU64::new(0);
    let reports = std::sync::Mutex::new(vec![None; files.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(file) = files.get(i) else { break };
                let report = run_file(file, &http, opts);
                if let Ok(mut r) = reports.lock() {
                    r[i] = Some(report);
                }
            });
        }
    });
    Ok(reports
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

/// The file name without folder, for `PASS name` lines.
pub fn short_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}
