//! The Basic HTTP Event I/O Processor on a real loopback server: documents run through
//! `scxml_runner::run_file` in real time, and an external HTTP client posting to sessions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, TryRecvError};
use std::time::{Duration, Instant};

use ringback::basichttp::{self, BasicHttpServer};
use ringback::scxml_runner::{run_file, Outcome, RunOptions, RunReport};
use scxml::event::{EventType, Value, BASICHTTP_PROCESSOR};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/basichttp")
        .join(name)
}

fn real_time(secs: u64) -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(secs),
        virtual_time: false,
        verbose: false,
    }
}

fn server() -> BasicHttpServer {
    BasicHttpServer::start().expect("the Basic HTTP server starts on loopback")
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build()
}

/// POSTs a form body; returns the status and the response body.
fn post_form(url: &str, body: &str) -> (u16, String) {
    let result = agent()
        .post(url)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(body);
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = resp.status();
    (status, resp.into_string().expect("a text response"))
}

fn assert_passed(report: &RunReport) {
    assert_eq!(
        (report.outcome, report.final_state.as_deref()),
        (Outcome::Pass, Some("pass")),
        "{report:#?}"
    );
}

#[test]
fn document_sends_itself_an_event_over_http() {
    // The document checks _event.data.a == '1', _event.raw starts with POST and _event.origintype.
    let http = server();
    let report = run_file(&fixture("self_send.scxml"), &http, &real_time(10));
    assert_passed(&report);
}

#[test]
fn send_to_a_closed_port_raises_error_communication() {
    let http = server();
    let started = Instant::now();
    // A port this test bound and let go of: nobody listens there now (port 9 may be open on
    // some machines).
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address").port()
    };
    let doc = std::fs::read_to_string(fixture("closed_port.scxml"))
        .expect("the fixture")
        .replace("{PORT}", &port.to_string());
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("closed_port_{}.scxml", std::process::id()));
    std::fs::write(&path, doc).expect("the document is written");
    let report = run_file(&path, &http, &real_time(10));
    assert_passed(&report);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "error.communication must come from the refused connection, not the document's 4 s fallback timer: {:?}",
        started.elapsed()
    );
}

/// Accepts one HTTP request on `listener` within `limit` (bounded polling), answers 200 and returns the body.
fn accept_one_post(listener: &TcpListener, limit: Duration) -> String {
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let started = Instant::now();
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    started.elapsed() < limit,
                    "no request arrived within {limit:?}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    stream.set_nonblocking(false).expect("a blocking stream");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    read_request_and_reply(stream)
}

fn read_request_and_reply(stream: TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).expect("a request line");
    assert!(
        request_line.starts_with("POST "),
        "expected a POST: {request_line:?}"
    );
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().expect("a numeric Content-Length");
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the request body");
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .expect("the response is written");
    String::from_utf8(body).expect("a UTF-8 body")
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII hex");
                out.push(u8::from_str_radix(hex, 16).expect("a hex escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

/// Runs `poke.scxml.in` (which POSTs its own `_ioprocessors['basichttp'].location` to the test's
/// listener, then waits for `poke`) on a thread; calls `with_location` with that location while the
/// session waits, and returns the run's report.
fn with_waiting_session(name: &str, with_location: impl FnOnce(&str)) -> RunReport {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let report_url = format!(
        "http://127.0.0.1:{}/ready",
        listener.local_addr().expect("bound").port()
    );
    let template =
        std::fs::read_to_string(fixture("poke.scxml.in")).expect("the poke template exists");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("basichttp-{name}"));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let doc = dir.join("poke.scxml");
    std::fs::write(&doc, template.replace("@REPORT_URL@", &report_url)).expect("written");

    let http = server();
    let (tx, rx) = channel();
    let runner = std::thread::spawn(move || {
        let report = run_file(&doc, &http, &real_time(10));
        // The receiver may be gone if the test already failed.
        let _ = tx.send(());
        report
    });
    let body = accept_one_post(&listener, Duration::from_secs(10));
    assert_eq!(
        form_value(&body, "_scxmleventname").as_deref(),
        Some("ready"),
        "{body}"
    );
    let location = form_value(&body, "location").expect("the document sent its location");
    assert!(
        location.starts_with("http://127.0.0.1:") && location.contains("/basichttp/"),
        "{location}"
    );
    with_location(&location);
    // run_file ends on its own (pass, fail or its 10 s timeout); wait a bounded time for it.
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the run finishes");
    runner.join().expect("the runner thread does not panic")
}

#[test]
fn external_client_posts_an_event_to_a_waiting_session() {
    let report = with_waiting_session("poke", |location| {
        let (status, _) = post_form(location, "_scxmleventname=poke&x=42");
        assert_eq!(status, 200, "POST {location}");
    });
    // The document checks _event.data.x == '42' and _event.raw.
    assert_passed(&report);
}

#[test]
fn post_to_an_unknown_session_of_a_live_runner_is_404() {
    let report = with_waiting_session("unknown-session", |location| {
        let base = &location[..location.rfind('/').expect("a session segment") + 1];
        let (status, body) = post_form(
            &format!("{base}no-such-session"),
            "_scxmleventname=poke&x=42",
        );
        assert_eq!((status, body.as_str()), (404, "no such SCXML session"));
        let (status, _) = post_form(location, "_scxmleventname=poke&x=42");
        assert_eq!(status, 200);
    });
    assert_passed(&report);
}

#[test]
fn server_turns_a_form_post_into_an_external_event() {
    let http = server();
    let (tx, rx) = channel();
    let runner = 7_000_001;
    let live = http.register(runner, tx);
    basichttp::mark_live(&live, "session-1");
    let url = format!("{}session-1", http.base_for(runner));
    let (status, _) = post_form(&url, "_scxmleventname=poke&x=42&y=a%20b");
    assert_eq!(status, 200);
    let incoming = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the event reaches the runner's channel");
    assert_eq!(incoming.session, "session-1");
    let ev = incoming.event;
    assert_eq!(ev.name, "poke");
    assert_eq!(ev.kind, EventType::External);
    assert_eq!(ev.origintype.as_deref(), Some(BASICHTTP_PROCESSOR));
    assert_eq!(
        ev.data,
        Value::Object(vec![
            ("x".into(), Value::String("42".into())),
            ("y".into(), Value::String("a b".into())),
        ])
    );
    let raw = ev.raw.expect("_event.raw is set");
    assert!(
        raw.starts_with(&format!("POST /basichttp/{runner}/session-1 HTTP/1.1\r\n")),
        "{raw:?}"
    );
    assert!(
        raw.ends_with("\r\n\r\n_scxmleventname=poke&x=42&y=a%20b"),
        "{raw:?}"
    );
    assert!(
        raw.to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded\r\n"),
        "{raw:?}"
    );
}

#[test]
fn server_names_an_event_without_scxmleventname_after_the_method() {
    let http = server();
    let (tx, rx) = channel();
    let runner = 7_000_002;
    let live = http.register(runner, tx);
    basichttp::mark_live(&live, "s");
    let (status, _) = post_form(&format!("{}s", http.base_for(runner)), "");
    assert_eq!(status, 200);
    let incoming = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the event arrives");
    assert_eq!(incoming.event.name, "HTTP.POST");
    assert_eq!(incoming.event.data, Value::Undefined);
}

#[test]
fn post_to_an_unknown_runner_is_404() {
    let http = server();
    let (status, body) = post_form(
        &format!("{}s", http.base_for(7_999_999)),
        "_scxmleventname=poke",
    );
    assert_eq!((status, body.as_str()), (404, "no such SCXML runner"));

    // A runner that has gone away is unknown too.
    let (tx, rx) = channel();
    http.register(7_000_003, tx);
    http.unregister(7_000_003);
    let (status, body) = post_form(
        &format!("{}s", http.base_for(7_000_003)),
        "_scxmleventname=poke",
    );
    assert_eq!((status, body.as_str()), (404, "no such SCXML runner"));
    assert!(
        matches!(rx.try_recv(), Err(TryRecvError::Disconnected)),
        "nothing was delivered, and the server let go of the channel"
    );
}
