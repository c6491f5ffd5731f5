//! The harness of the GMS API tests: the real `ringback serve` binary on a free loopback port,
//! a blocking HTTP client, multipart bodies and checks of the GMS error body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

/// Longest a server may take to say it is listening.
const START_LIMIT: Duration = Duration::from_secs(30);
/// Longest one HTTP exchange may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// The exception classes of the GMS error body, by status.
pub const BAD_REQUEST: &str = "com.genesyslab.gsg.services.ServiceException";
pub const NOT_FOUND: &str = "com.genesyslab.gsg.services.ServiceNotFoundException";
pub const UNAUTHORIZED: &str = "com.genesyslab.gsg.security.AuthenticationException";
pub const FORBIDDEN: &str = "com.genesyslab.gsg.security.AccessDeniedException";
pub const METHOD_NOT_ALLOWED: &str = "com.genesyslab.gsg.services.MethodNotAllowedException";
pub const TOO_LARGE: &str = "com.genesyslab.gsg.services.PayloadTooLargeException";
pub const UNSUPPORTED: &str = "com.genesyslab.gsg.services.UnsupportedMediaTypeException";
pub const UNAVAILABLE: &str = "com.genesyslab.gsg.services.ServiceUnavailableException";

/// A scratch folder under the target folder, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("gms-api-{name}-{}-{n}", std::process::id()));
        // Left over from an earlier run that was killed: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the scratch folder can be created");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `ringback serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub root: String,
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
    /// Basic credentials sent with every request, if set.
    auth: Option<(String, String)>,
    /// The data folder when the server owns it.
    _scratch: Option<Scratch>,
}

impl Server {
    /// A server on a fresh data folder with the embedded sample configuration.
    pub fn start() -> Server {
        let scratch = Scratch::new("data");
        let mut server = Server::start_in(scratch.path(), None);
        server._scratch = Some(scratch);
        server
    }

    /// A server on a fresh data folder seeded from a configuration file.
    pub fn start_with_config(ini: &str) -> Server {
        let scratch = Scratch::new("data");
        let config = scratch.path().join("ringback.ini");
        std::fs::write(&config, ini).expect("the configuration file can be written");
        let data = scratch.path().join("data");
        let mut server = Server::start_in(&data, Some(&config));
        server._scratch = Some(scratch);
        server
    }

    /// A server on `data_dir` (kept by the caller, e.g. across a restart).
    pub fn start_in(data_dir: &Path, config: Option<&Path>) -> Server {
        Server::start_with_args(data_dir, config, &[])
    }

    /// [`Server::start_in`] with extra `serve` arguments (e.g. `--demo`).
    pub fn start_with_args(data_dir: &Path, config: Option<&Path>, extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringback"));
        cmd.arg("serve")
            .args(extra)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ringback binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let sink = log.clone();
        // Drains stderr for the life of the process, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Some(rest) = line.split("serving http://").nth(1) {
                            let _ = tx.send(rest.to_string());
                        }
                        sink.lock().expect("log lock").push_str(&line);
                    }
                }
            }
        });
        let root = match rx.recv_timeout(START_LIMIT) {
            Ok(rest) => {
                let addr = rest
                    .split('/')
                    .next()
                    .expect("the serving line has an address");
                format!("http://{addr}")
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ringback serve did not report listening ({e}); stderr:\n{}",
                    log.lock().expect("log lock")
                );
            }
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(REQUEST_LIMIT)
            .redirects(0)
            .build();
        Server {
            child,
            root,
            log,
            agent,
            auth: None,
            _scratch: None,
        }
    }

    /// What the server wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Sends these Basic credentials with every following request (`None`: none).
    pub fn set_auth(&mut self, creds: Option<(&str, &str)>) {
        self.auth = creds.map(|(u, p)| (u.to_string(), p.to_string()));
    }

    /// `/genesys/1{path}` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}/genesys/1{path}", self.root)
    }

    /// A request to `/genesys/1{path}`.
    pub fn req(&self, method: &str, path: &str) -> ureq::Request {
        self.raw_req(method, &self.url(path))
    }

    /// A request to any URL.
    pub fn raw_req(&self, method: &str, url: &str) -> ureq::Request {
        let r = self.agent.request(method, url);
        match &self.auth {
            Some((u, p)) => r.set("Authorization", &basic(u, p)),
            None => r,
        }
    }

    /// A request on a connection of its own, never reused: for requests after which the
    /// server may close the connection abruptly.
    pub fn one_shot(&self, method: &str, path: &str) -> ureq::Request {
        let agent = ureq::AgentBuilder::new()
            .timeout(REQUEST_LIMIT)
            .max_idle_connections(0)
            .build();
        agent.request(method, &self.url(path))
    }

    pub fn get(&self, path: &str) -> Resp {
        send(self.req("GET", path), None)
    }

    pub fn delete(&self, path: &str) -> Resp {
        send(self.req("DELETE", path), None)
    }

    /// POST with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        post_form(self.req("POST", path), fields)
    }

    /// PUT with a JSON body.
    pub fn put_json(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .req("PUT", path)
            .set("Content-Type", "application/json");
        send(r, Some(body.to_string().as_bytes()))
    }

    /// POST with a `multipart/form-data` body.
    pub fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> Resp {
        let (content_type, body) = multipart(parts);
        send(
            self.req("POST", path).set("Content-Type", &content_type),
            Some(&body),
        )
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for ringback") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "ringback still running {limit:?} after it was asked to stop; stderr:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An `Authorization: Basic` header value.
pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// The media type without parameters (`text/plain`).
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("the body is UTF-8")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body of a {} answer is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, asserting the status is `status`.
    pub fn ok_json(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// Asserts a GMS error body with exactly `exception`, `message`, `code` (= the status) and
    /// `phrase`, and returns the message.
    pub fn gms_error(&self, status: u16, exception: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.content_type, "application/json",
            "a GMS error body is JSON"
        );
        let body = self.json();
        let obj = body.as_object().expect("the error body is a JSON object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["code", "exception", "message", "phrase"],
            "error body: {body}"
        );
        assert_eq!(body["exception"], exception, "error body: {body}");
        assert_eq!(body["code"], status, "error body: {body}");
        assert_eq!(body["phrase"], phrase(status), "error body: {body}");
        body["message"]
            .as_str()
            .expect("the message is a string")
            .to_string()
    }

    /// [`Resp::gms_error`] with an exact message.
    pub fn assert_error(&self, status: u16, exception: &str, message: &str) {
        assert_eq!(self.gms_error(status, exception), message);
    }
}

/// The reason phrase of a status, as the GMS body's `phrase`.
pub fn phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        other => panic!("no phrase known for {other}"),
    }
}

/// Sends a request and returns the answer, 4xx and 5xx included.
pub fn send(req: ureq::Request, body: Option<&[u8]>) -> Resp {
    let url = req.url().to_string();
    try_send(req, body).unwrap_or_else(|e| panic!("the request failed: {url}: {e}"))
}

/// [`send`], returning a transport failure (e.g. a connection reset) instead of panicking.
pub fn try_send(req: ureq::Request, body: Option<&[u8]>) -> Result<Resp, Box<ureq::Transport>> {
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(Box::new(t)),
    };
    let status = resp.status();
    let content_type = resp.content_type().to_string();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .expect("the body can be read");
    Ok(Resp {
        status,
        content_type,
        headers,
        body,
    })
}

/// Sends `fields` as an `application/x-www-form-urlencoded` body.
pub fn post_form(req: ureq::Request, fields: &[(&str, &str)]) -> Resp {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    send(
        req.set("Content-Type", "application/x-www-form-urlencoded"),
        Some(body.as_bytes()),
    )
}

/// One part of a multipart body.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        filename: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

const BOUNDARY: &str = "ringback-test-7d93a1f0c2";

/// A `multipart/form-data` body: `(content type header, body)`.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
            Part::File {
                name,
                filename,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                         Content-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// The sample configuration a fresh server serves (`samples/ringback.ini`).
pub fn sample_ini() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/ringback.ini");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The sample configuration without its `[features]` section: every UI switch at its default.
pub fn sample_ini_default_features() -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in sample_ini().lines() {
        let t = line.trim();
        if t.starts_with('[') {
            skipping = t == "[features]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Long-polls an agent's desktop events (`/ringback/1/agents/{agent}/events`) after `since`
/// until one of `kind` arrives; the event and the sequence to go on from.
pub fn wait_event(server: &Server, agent: &str, mut since: u64, kind: &str) -> (Value, u64) {
    for _ in 0..20 {
        let url = format!(
            "{}/ringback/1/agents/{agent}/events?since={since}&timeout=5",
            server.root
        );
        let page = send(server.raw_req("GET", &url), None).ok_json(200);
        for e in page["events"].as_array().expect("events array") {
            since = e["seq"].as_u64().expect("seq");
            if e["type"] == kind {
                return (e.clone(), since);
            }
        }
    }
    panic!("agent {agent} never got a '{kind}' event");
}

/// A one-connection-at-a-time HTTP receiver: answers each POST with the next status of
/// `statuses` (then 200) and hands the bodies over.
pub fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let addr = listener.local_addr().expect("its address");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().expect("a second handle"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tx.send((path, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (format!("http://{addr}"), rx)
}

/// `ringback user add NAME --role ROLE [--services SERVICES]` with the password on stdin.
pub fn add_user(data: &Path, name: &str, role: &str, services: &str, password: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringback"));
    cmd.args(["user", "add", name, "--role", role, "--data-dir"])
        .arg(data);
    if !services.is_empty() {
        cmd.args(["--services", services]);
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ringback user add starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("the password is written");
    assert!(
        child.wait().expect("user add ends").success(),
        "user add {name}"
    );
}
