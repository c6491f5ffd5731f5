//! `ringback bench sessions`: a load client for state-chart sessions, run as a second process
//! on loopback against `ringback serve --demo` (started as a child unless `--url` is given).
//!
//! 1. **Starts.** Sessions are started with `POST /scxml/session/start` at `--rate` per second
//!    for `--seconds`, over `--connections` keep-alive connections, open loop: each start has a
//!    scheduled send time and its latency is measured from that time to the answer, so a slow
//!    server shows up as latency, not as a lower offered rate. Each session submits a queue
//!    item that a demo agent accepts, works for a short handle time and completes; the run
//!    then waits for every session to end.
//! 2. **Live sessions** (`--live N`): N sessions that wait in a queue no agent serves, started
//!    as fast as the connections go; the server's resident memory is read with all of them
//!    alive (and their checkpoints in the store).
//! 3. **Checkpoints** (`--events N`): N events sent one after another to one session, each
//!    answered only once its checkpoint is durable (events/s through one durable session); and
//!    the size of the callback-like chart's checkpoint at each step of its lifecycle, measured
//!    in process.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bench_cometd::{
    memory_kib, paced_posts, percentile, start_server, target, ChildServer, Conn, PostTally,
};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A running server (`http://127.0.0.1:8080`); `None`: start `ringback serve --demo`.
    pub url: Option<String>,
    /// Session starts per second.
    pub rate: u64,
    pub seconds: u64,
    /// Seconds of starts at the same rate before the measured ones (not measured): the
    /// server's allocator, agent logs and store pages reach their steady state.
    pub warmup: u64,
    pub connections: usize,
    /// Demo agents serving the benchmark queue (child server only).
    pub agents: usize,
    /// Live waiting sessions to measure memory with (0: skip).
    pub live: usize,
    /// Events through one durable session (0: skip).
    pub events: u64,
    /// The callback-like chart whose checkpoint is measured (skipped when absent).
    pub charts: PathBuf,
}

const ROUTED: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
 xmlns:queue="http://www.genesyslab.com/modules/queue" initial="waiting">
 <state id="waiting">
  <onentry><queue:submit queue="'Bench'" target="'Bench@StatServer.GA'"/></onentry>
  <transition event="queue.submit.done" target="talking"/>
  <transition event="error.queue.submit" target="done"/>
 </state>
 <state id="talking"><transition event="queue.submit.completed" target="done"/></state>
 <final id="done"/>
</scxml>"#;

const WAITING: &str = r#"<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
 xmlns:queue="http://www.genesyslab.com/modules/queue" initial="waiting">
 <datamodel><data id="customer" expr="'6504661232'"/><data id="n"/></datamodel>
 <state id="waiting">
  <onentry><queue:submit queue="'Waiting'" target="'Nobody@StatServer.GA'"/></onentry>
  <transition event="poke"><assign location="n" expr="(n || 0) + 1"/></transition>
 </state>
</scxml>"#;

fn start_bench_server(agents: usize) -> anyhow::Result<(ChildServer, String)> {
    let mut ini = String::from(
        "[routing]\nreserve_timeout = 30\n\
         [demo]\ncalls_per_minute = 0\naccept_after = 0\ntalk_time = 0.02\ntalk_sigma = 0.3\n\
         wrap_up = 0\nseed = 1\n",
    );
    for i in 0..agents {
        ini.push_str(&format!("[agent.b{i}]\ngroups = Bench\n"));
    }
    start_server("sessions", &ini, &["--demo"])
}

/// Live sessions on the server (a fresh connection: an idle one may have been closed).
async fn live_sessions(host: &str) -> anyhow::Result<u64> {
    let mut conn = Conn::open(host).await?;
    let (status, body) = conn.get("/scxml/sessions?limit=1").await?;
    anyhow::ensure!(status == 200, "GET /scxml/sessions answered {status}");
    let v: Value = serde_json::from_slice(&body)?;
    Ok(v["total"].as_u64().unwrap_or(0))
}

/// Starts `total` sessions of `chart` over `connections`: paced at `rate` per second when
/// given, else as fast as they go.
async fn starts(
    host: &str,
    chart: &'static str,
    total: u64,
    rate: Option<u64>,
    connections: usize,
) -> anyhow::Result<(PostTally, f64)> {
    let body = json!({ "src": chart }).to_string();
    let body: Rc<dyn Fn(u64) -> String> = Rc::new(move |_| body.clone());
    Ok(paced_posts(host, "/scxml/session/start", total, rate, connections, body).await)
}

fn report_latency(what: &str, t: &mut PostTally, elapsed: f64) {
    t.report(what, "started", "start latency", elapsed);
}

/// CPU seconds (user + system) a process has used (Linux `/proc`, 100 ticks a second).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn print_memory(pid: Option<u32>, what: &str) {
    if let Some((rss, hwm)) = pid.and_then(memory_kib) {
        println!(
            "  server memory {what}: {:.0} MiB resident, {:.0} MiB peak",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
}

/// Runs the benchmark and prints its figures; an error when a start failed or a session never
/// finished.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let (server, host) = target(opts.url.as_deref(), || start_bench_server(opts.agents))?;
    let pid = server.as_ref().map(|s| s.child.id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let mut failures = Vec::new();
    local.block_on(&rt, async {
        // 1. Starts at a rate, each routed to a demo agent.
        if opts.rate > 0 && opts.seconds > 0 {
            let total = opts.rate * opts.seconds;
            println!(
                "bench sessions: {} starts/s for {} s (after {} s of warm-up) over {} connections; \
                 each session is routed to one of {} demo agents (server {host})",
                opts.rate, opts.seconds, opts.warmup, opts.connections, opts.agents
            );
            if opts.warmup > 0 {
                let (t, _) = starts(
                    &host,
                    ROUTED,
                    opts.rate * opts.warmup,
                    Some(opts.rate),
                    opts.connections,
                )
                .await?;
                if t.errors > 0 {
                    failures.push(format!("{} warm-up starts failed", t.errors));
                }
            }
            let cpu0 = pid.and_then(cpu_seconds);
            let (mut t, elapsed) =
                starts(&host, ROUTED, total, Some(opts.rate), opts.connections).await?;
            report_latency("starts", &mut t, elapsed);
            print_memory(pid, "after the starts");
            if t.errors > 0 {
                failures.push(format!("{} starts failed", t.errors));
            }
            let drain = Instant::now();
            let mut left = live_sessions(&host).await?;
            while left > 0 && drain.elapsed() < Duration::from_secs(120) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                left = live_sessions(&host).await?;
            }
            println!(
                "  routed to agents and finished: {} of {} ({:.1} s after the last start)",
                t.latencies_us.len() as u64 - left.min(t.latencies_us.len() as u64),
                t.latencies_us.len(),
                drain.elapsed().as_secs_f64()
            );
            if let (Some(c0), Some(c1)) = (cpu0, pid.and_then(cpu_seconds)) {
                println!(
                    "  server CPU: {:.2} s for {} sessions, {:.0} µs per session (start to end)",
                    c1 - c0,
                    t.latencies_us.len(),
                    (c1 - c0) * 1e6 / t.latencies_us.len().max(1) as f64
                );
            }
            if left > 0 {
                failures.push(format!("{left} sessions never finished"));
            }
        }
        // 2. Many live sessions.
        if opts.live > 0 {
            let before = pid.and_then(memory_kib).map_or(0, |(rss, _)| rss);
            println!("live sessions: starting {} that wait in a queue", opts.live);
            let (mut t, elapsed) =
                starts(&host, WAITING, opts.live as u64, None, opts.connections).await?;
            report_latency("live", &mut t, elapsed);
            let live = live_sessions(&host).await?;
            if let Some((rss, hwm)) = pid.and_then(memory_kib) {
                println!(
                    "  {live} live sessions: server {:.0} MiB resident ({:.0} MiB peak), {:.1} KiB per session over the {:.0} MiB before",
                    rss as f64 / 1024.0,
                    hwm as f64 / 1024.0,
                    (rss.saturating_sub(before)) as f64 / live.max(1) as f64,
                    before as f64 / 1024.0
                );
            }
            if t.errors > 0 {
                failures.push(format!("{} live starts failed", t.errors));
            }
        }
        // 3. Events through one durable session.
        if opts.events > 0 {
            let mut probe = Conn::open(&host).await?;
            let body = json!({ "src": WAITING }).to_string();
            let (status, b) = probe.post("/scxml/session/start", "bench", &body).await?;
            anyhow::ensure!(status == 200, "start answered {status}");
            let id = serde_json::from_slice::<Value>(&b)?["sessionid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let path = format!("/scxml/session/{id}/event/poke");
            let began = Instant::now();
            let mut lat = Vec::with_capacity(opts.events as usize);
            for _ in 0..opts.events {
                let t = Instant::now();
                let (status, _) = probe.post(&path, "bench", "{}").await?;
                anyhow::ensure!(status == 200, "an event answered {status}");
                lat.push(t.elapsed().as_micros() as u64);
            }
            let secs = began.elapsed().as_secs_f64();
            lat.sort_unstable();
            println!(
                "one durable session: {} events in {secs:.2} s: {:.0} events/s, each answered after its checkpoint (median {:.2} ms, p99 {:.2} ms)",
                opts.events,
                opts.events as f64 / secs,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            );
        }
        Ok::<(), anyhow::Error>(())
    })?;
    drop(server);
    checkpoint_sizes(&opts.charts);
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failures.join("; "))
    }
}

/// The callback-like chart's checkpoint at each step of its lifecycle, measured in process.
fn checkpoint_sizes(charts: &Path) {
    let path = charts.join("callback-like.scxml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("checkpoint size: {} is absent, skipped", path.display());
        return;
    };
    match actors::session::bench::checkpoint_sizes(
        &text,
        &[
            "start",
            "agent.reserved",
            "dial",
            "dial.failed",
            "retry",
            "dial.answered",
            "agent.connected",
            "hangup",
        ],
    ) {
        Ok(sizes) => {
            let steps: Vec<String> = sizes
                .iter()
                .map(|(state, bytes)| format!("{state} {bytes}"))
                .collect();
            let total: usize = sizes.iter().map(|(_, b)| b).sum();
            println!(
                "callback-like checkpoint bytes by state: {} (mean {:.0})",
                steps.join(", "),
                total as f64 / sizes.len().max(1) as f64
            );
        }
        Err(e) => println!("checkpoint size: {e}"),
    }
}
