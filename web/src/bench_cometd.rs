//! `ringback bench cometd`: a load client for the CometD endpoint, run as a second process on
//! loopback. It opens `--clients` long-polling Bayeux sessions (each a task with one keep-alive
//! connection: handshake, connect, subscribe to `/_genesys`, then connect after connect), then
//! publishes `--rate` GMS notifications per second, each to one device (round robin), through
//! `POST /genesys/1/notification/publish`. Every push carries its send time; the client
//! records when it arrives and reports the median and p99 delivery latency, and the server's
//! resident memory (VmRSS, and the peak VmHWM) when the server is a child it started.
//!
//! The client speaks just enough HTTP/1.1 (keep-alive, `content-length` bodies) to stay cheap:
//! ten thousand sessions fit one thread beside the server.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A running server (`http://127.0.0.1:8080`); `None`: start `ringback serve` as a child.
    pub url: Option<String>,
    pub clients: usize,
    /// Pushes per second, each to one client.
    pub rate: u64,
    /// Seconds of measured load.
    pub seconds: u64,
    /// Sessions opened at once during the ramp.
    pub ramp_concurrency: usize,
    /// Keep-alive connections the publisher spreads its requests over.
    pub publishers: usize,
    /// Each device makes a notification subscription (filter `service.bench.<n>.*`) and pushes
    /// are published by tag alone, through the subscription index; otherwise each publish
    /// names its device (`notificationDetails`).
    pub subscribed: bool,
}

/// Microseconds since the Unix epoch: the stamp a push carries.
fn micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Conn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    pub(crate) async fn open(host: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: host.to_string(),
            buf: Vec::with_capacity(1024),
        })
    }

    /// POSTs a JSON body; answers the status and the body.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        user: &str,
        body: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\ngms_user: {user}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        self.stream.write_all(head.as_bytes()).await?;
        self.stream.write_all(body.as_bytes()).await?;
        self.read_response().await
    }

    /// GETs `path`; answers the status and the body.
    pub(crate) async fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.stream.write_all(head.as_bytes()).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> std::io::Result<(u16, Vec<u8>)> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head =
                    std::str::from_utf8(&self.buf[..end]).map_err(|_| bad("a non-UTF-8 head"))?;
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok())
                    .ok_or_else(|| bad("no status"))?;
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .ok_or_else(|| bad("no content-length"))?;
                let total = end + 4 + length;
                while self.buf.len() < total {
                    self.fill().await?;
                }
                let body = self.buf[end + 4..total].to_vec();
                self.buf.drain(..total);
                return Ok((status, body));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the run measured.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    rehandshakes: u64,
    published: u64,
    publish_errors: u64,
}

type Shared = Rc<RefCell<Tally>>;

async fn bayeux(conn: &mut Conn, user: &str, messages: Value) -> std::io::Result<Vec<Value>> {
    let (status, body) = conn
        .post("/genesys/cometd", user, &messages.to_string())
        .await?;
    if status != 200 {
        return Err(std::io::Error::other(format!("HTTP {status}")));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(std::io::Error::other("a reply that is not a JSON array")),
    }
}

/// Handshake, first connect, subscribe: an open session's client id.
async fn open_session(conn: &mut Conn, user: &str) -> std::io::Result<String> {
    let hs = bayeux(
        conn,
        user,
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"], "id": "1"}]),
    )
    .await?;
    let client = hs
        .first()
        .and_then(|m| m["clientId"].as_str())
        .ok_or_else(|| std::io::Error::other(format!("handshake failed: {hs:?}")))?
        .to_string();
    bayeux(
        conn,
        user,
        json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": "2"}]),
    )
    .await?;
    bayeux(
        conn,
        user,
        json!([{"channel": "/meta/subscribe", "clientId": client, "subscription": "/_genesys", "id": "3"}]),
    )
    .await?;
    Ok(client)
}

/// One device: connect after connect, recording the latency of every push.
async fn client_loop(
    host: String,
    user: String,
    tally: Shared,
    ready: Rc<RefCell<usize>>,
    stop: Rc<RefCell<bool>>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    subscribed: bool,
) {
    let mut conn = match Conn::open(&host).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect failed: {e}");
            tally.borrow_mut().errors += 1;
            return;
        }
    };
    if subscribed {
        let body = json!({"notificationDetails": {"deviceId": user, "type": "comet"},
            "filter": format!("service.{user}.*"), "expire": 3600});
        match conn
            .post(
                "/genesys/1/notification/subscription",
                &user,
                &body.to_string(),
            )
            .await
        {
            Ok((200, _)) => {}
            other => {
                eprintln!("subscription failed: {:?}", other.map(|(s, _)| s));
                tally.borrow_mut().errors += 1;
                return;
            }
        }
    }
    let mut client = match open_session(&mut conn, &user).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("session failed: {e}");
            tally.borrow_mut().errors += 1;
            return;
        }
    };
    *ready.borrow_mut() += 1;
    drop(permit);
    let mut n: u64 = 10;
    while !*stop.borrow() {
        n += 1;
        let msg = json!([{"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling", "id": n.to_string()}]);
        let replies = match bayeux(&mut conn, &user, msg).await {
            Ok(r) => r,
            Err(_) => {
                tally.borrow_mut().errors += 1;
                match Conn::open(&host).await {
                    Ok(c) => conn = c,
                    Err(_) => return,
                }
                continue;
            }
        };
        let now = micros();
        let mut forgotten = false;
        {
            let mut t = tally.borrow_mut();
            for m in &replies {
                if m["channel"] == "/_genesys" {
                    if let Some(sent) = m["data"]["message"]["t"].as_u64() {
                        t.latencies_us.push(now.saturating_sub(sent));
                    }
                } else if m["channel"] == "/meta/connect" && m["successful"] == false {
                    t.rehandshakes += 1;
                    forgotten = true;
                }
            }
        }
        if forgotten {
            match open_session(&mut conn, &user).await {
                Ok(c) => client = c,
                Err(_) => return,
            }
        }
    }
}

/// Publishes `rate` pushes per second over `publishers` connections for `seconds`.
async fn publisher(host: String, opts: Options, tally: Shared) {
    let (tx, rx) = async_channel(opts.publishers * 4);
    let subscribed = opts.subscribed;
    for _ in 0..opts.publishers {
        let host = host.clone();
        let rx = rx.clone();
        let tally = tally.clone();
        tokio::task::spawn_local(async move {
            let Ok(mut conn) = Conn::open(&host).await else {
                return;
            };
            while let Some(device) = rx.recv().await {
                let body = if subscribed {
                    json!({"tag": format!("service.bench-{device}.push"), "message": {"t": micros()}})
                } else {
                    json!({"tag": format!("service.bench.push.{device}"), "message": {"t": micros()},
                        "notificationDetails": {"deviceId": format!("bench-{device}"), "type": "comet"}})
                };
                match conn
                    .post(
                        "/genesys/1/notification/publish",
                        "bench",
                        &body.to_string(),
                    )
                    .await
                {
                    Ok((200, _)) => tally.borrow_mut().published += 1,
                    _ => {
                        tally.borrow_mut().publish_errors += 1;
                        if let Ok(c) = Conn::open(&host).await {
                            conn = c;
                        }
                    }
                }
            }
        });
    }
    let started = Instant::now();
    let total = opts.rate * opts.seconds;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * opts.rate as f64) as u64).min(total);
        while sent < due {
            if tx.send((sent as usize) % opts.clients).await.is_err() {
                return;
            }
            sent += 1;
        }
    }
}

/// A small multi-consumer queue for one thread (the publishers share it).
fn async_channel(cap: usize) -> (Sender, Receiver) {
    let (tx, rx) = tokio::sync::mpsc::channel::<usize>(cap);
    let rx = Rc::new(tokio::sync::Mutex::new(rx));
    (Sender(tx), Receiver(rx))
}

struct Sender(tokio::sync::mpsc::Sender<usize>);
impl Sender {
    async fn send(&self, v: usize) -> Result<(), ()> {
        self.0.send(v).await.map_err(|_| ())
    }
}

#[derive(Clone)]
struct Receiver(Rc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<usize>>>);
impl Receiver {
    async fn recv(&self) -> Option<usize> {
        self.0.lock().await.recv().await
    }
}

/// The resident and peak memory of a process, in KiB (Linux `/proc`).
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A `ringback serve` started for a benchmark: killed, and its folder removed, when dropped.
pub(crate) struct ChildServer {
    pub(crate) child: Child,
    dir: PathBuf,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server a load client drives and its `host:port`: the one at `url`
/// (`http://HOST:PORT`) if given, else a child that `start` starts.
pub(crate) fn target(
    url: Option<&str>,
    start: impl FnOnce() -> anyhow::Result<(ChildServer, String)>,
) -> anyhow::Result<(Option<ChildServer>, String)> {
    Ok(match url {
        Some(u) => (
            None,
            u.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
        ),
        None => {
            let (s, h) = start()?;
            (Some(s), h)
        }
    })
}

/// Starts `ringback serve` (with `args`) on a free loopback port, a fresh data folder and the
/// configuration `ini`; answers it and its `host:port` once it listens.
pub(crate) fn start_server(
    name: &str,
    ini: &str,
    args: &[&str],
) -> anyhow::Result<(ChildServer, String)> {
    start_server_with(name, ini, args, |_| Ok(()))
}

/// [`start_server`] on a data folder `prepare` fills first (the server starts once it
/// returns).
pub(crate) fn start_server_with(
    name: &str,
    ini: &str,
    args: &[&str],
    prepare: impl FnOnce(&std::path::Path) -> anyhow::Result<()>,
) -> anyhow::Result<(ChildServer, String)> {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("ringback-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    prepare(&dir.join("data"))?;
    let path = dir.join("ringback.ini");
    std::fs::write(&path, ini)?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    let guard = ChildServer { child, dir };
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.split("serving http://").nth(1) {
            let addr = rest.split('/').next().unwrap_or("").to_string();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((guard, addr));
        }
    }
    anyhow::bail!("the server exited before listening")
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Runs the benchmark and prints its figures.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let (server, host) = target(opts.url.as_deref(), || {
        start_server(
            "cometd",
            "[server]\nlisten = 127.0.0.1:0\n[push]\npushEnabled = comet\n[cometd]\ntimeout = 30000\n",
            &[],
        )
    })?;
    let pid = server.as_ref().map(|s| s.child.id());
    println!(
        "bench cometd: {} long-polling clients, {} pushes/s for {} s ({}), server {host}",
        opts.clients,
        opts.rate,
        opts.seconds,
        if opts.subscribed {
            "published by tag through one notification subscription per device"
        } else {
            "each publish naming its device"
        }
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let tally: Shared = Rc::new(RefCell::new(Tally::default()));
    let result = local.block_on(&rt, async {
        let ready = Rc::new(RefCell::new(0usize));
        let stop = Rc::new(RefCell::new(false));
        let ramp = Instant::now();
        // At most `ramp_concurrency` sessions opening at once: each holds a permit until open.
        let subscribed = opts.subscribed;
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(opts.ramp_concurrency.max(1)));
        for i in 0..opts.clients {
            let permit = gate.clone().acquire_owned().await.ok();
            let (host, tally, ready, stop) =
                (host.clone(), tally.clone(), ready.clone(), stop.clone());
            tokio::task::spawn_local(async move {
                client_loop(
                    host,
                    format!("bench-{i}"),
                    tally,
                    ready,
                    stop,
                    permit,
                    subscribed,
                )
                .await;
            });
        }
        while *ready.borrow() + (tally.borrow().errors as usize) < opts.clients {
            if ramp.elapsed() > Duration::from_secs(120) {
                anyhow::bail!(
                    "only {} of {} sessions opened in 120 s",
                    ready.borrow(),
                    opts.clients
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "ramp: {} sessions open in {:.1} s ({} failed)",
            ready.borrow(),
            ramp.elapsed().as_secs_f64(),
            tally.borrow().errors
        );
        if let Some((rss, _)) = pid.and_then(memory_kib) {
            println!(
                "server memory with every session held: {:.0} MiB resident",
                rss as f64 / 1024.0
            );
        }
        let load = Instant::now();
        publisher(host.clone(), opts.clone(), tally.clone()).await;
        let elapsed = load.elapsed().as_secs_f64();
        // Let the last pushes land.
        tokio::time::sleep(Duration::from_secs(1)).await;
        *stop.borrow_mut() = true;
        Ok(elapsed)
    });
    let elapsed = result?;
    let mut t = tally.borrow_mut();
    t.latencies_us.sort_unstable();
    let n = t.latencies_us.len();
    println!(
        "published {} pushes ({} failed) in {:.1} s: {:.0}/s; received {} ({} lost)",
        t.published,
        t.publish_errors,
        elapsed,
        t.published as f64 / elapsed,
        n,
        t.published.saturating_sub(n as u64)
    );
    println!(
        "delivery latency: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&t.latencies_us, 0.5),
        percentile(&t.latencies_us, 0.99),
        percentile(&t.latencies_us, 1.0)
    );
    println!(
        "client errors: {}, re-handshakes: {}",
        t.errors, t.rehandshakes
    );
    if let Some((rss, hwm)) = pid.and_then(memory_kib) {
        println!(
            "server memory: {:.0} MiB resident, {:.0} MiB peak",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    drop(server);
    let lost = t.published.saturating_sub(n as u64);
    if lost > 0 || t.publish_errors > 0 {
        anyhow::bail!(
            "{lost} pushes lost and {} publishes failed: every push must arrive",
            t.publish_errors
        );
    }
    Ok(())
}

/// Latencies and errors of a run of requests.
#[derive(Default)]
pub(crate) struct PostTally {
    pub(crate) latencies_us: Vec<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// The longest latency of each 100 ms of the schedule (by scheduled send time): where the
    /// tail comes from, a steady spread or a few stalls.
    pub(crate) windows: std::collections::BTreeMap<u64, u64>,
}

impl PostTally {
    /// Prints the run: `{what}: {n} {done} ({errors} failed) in … s: …/s`, then the latency
    /// (`{latency}` names it) with its median, p99 and maximum, the slow windows and the first
    /// error. Sorts the latencies.
    pub(crate) fn report(&mut self, what: &str, done: &str, latency: &str, elapsed: f64) {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        println!(
            "{what}: {n} {done} ({} failed) in {elapsed:.2} s: {:.0}/s",
            self.errors,
            n as f64 / elapsed
        );
        println!(
            "  {latency} from the scheduled send: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&self.latencies_us, 0.5),
            percentile(&self.latencies_us, 0.99),
            percentile(&self.latencies_us, 1.0)
        );
        println!(
            "  100 ms windows of the schedule with a latency over 20 ms: {}",
            self.slow_windows(20, 6)
        );
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
    }

    /// The 100 ms windows of the schedule whose longest latency passed `over_ms`, the worst
    /// `n` of them in time order: "`at 2.1 s: 78 ms, at 4.3 s: 41 ms`", or "none".
    pub(crate) fn slow_windows(&self, over_ms: u64, n: usize) -> String {
        let mut slow: Vec<(u64, u64)> = self
            .windows
            .iter()
            .filter(|(_, us)| **us > over_ms * 1000)
            .map(|(w, us)| (*w, *us))
            .collect();
        if slow.is_empty() {
            return "none".into();
        }
        let total = slow.len();
        slow.sort_by_key(|&(_, us)| std::cmp::Reverse(us));
        slow.truncate(n);
        slow.sort_unstable();
        let listed: Vec<String> = slow
            .iter()
            .map(|(w, us)| format!("at {:.1} s: {} ms", *w as f64 / 10.0, us / 1000))
            .collect();
        format!(
            "{total} of {}; worst: {}",
            self.windows.len(),
            listed.join(", ")
        )
    }
}

/// POSTs `total` JSON requests to `path` over `connections` keep-alive connections, open loop:
/// paced at `rate` per second when given (each latency counted from its scheduled send time,
/// so a slow server shows as latency, not as a lower offered rate), else as fast as they go;
/// `body(i)` is the i-th request's body. A 200 or 201 counts; anything else is an error.
pub(crate) async fn paced_posts(
    host: &str,
    path: &str,
    total: u64,
    rate: Option<u64>,
    connections: usize,
    body: Rc<dyn Fn(u64) -> String>,
) -> (PostTally, f64) {
    let tally = Rc::new(RefCell::new(PostTally::default()));
    let next = Rc::new(Cell::new(0u64));
    let path = Rc::new(path.to_owned());
    let began = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (tally, next, host, path, body) = (
            tally.clone(),
            next.clone(),
            host.to_owned(),
            path.clone(),
            body.clone(),
        );
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = match Conn::open(&host).await {
                Ok(c) => c,
                Err(e) => {
                    let mut t = tally.borrow_mut();
                    t.errors += 1;
                    t.first_error.get_or_insert(e.to_string());
                    return;
                }
            };
            loop {
                let i = next.get();
                if i >= total {
                    return;
                }
                next.set(i + 1);
                let scheduled = match rate {
                    Some(r) => {
                        let at = began + Duration::from_secs_f64(i as f64 / r as f64);
                        tokio::time::sleep_until(at).await;
                        at
                    }
                    None => tokio::time::Instant::now(),
                };
                match conn.post(&path, "bench", &body(i)).await {
                    Ok((200 | 201, _)) => {
                        let us = scheduled.elapsed().as_micros() as u64;
                        let window = (scheduled - began).as_millis() as u64 / 100;
                        let mut t = tally.borrow_mut();
                        t.latencies_us.push(us);
                        let worst = t.windows.entry(window).or_insert(0);
                        *worst = (*worst).max(us);
                    }
                    Ok((status, b)) => {
                        let mut t = tally.borrow_mut();
                        t.errors += 1;
                        t.first_error
                            .get_or_insert(format!("{status}: {}", String::from_utf8_lossy(&b)));
                    }
                    Err(e) => {
                        let mut t = tally.borrow_mut();
                        t.errors += 1;
                        t.first_error.get_or_insert(e.to_string());
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let t = std::mem::take(&mut *tally.borrow_mut());
    (t, elapsed)
}
