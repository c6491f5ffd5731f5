//! `ringback bench callbacks`: a load client for the Callback API, run as a second process on
//! loopback against `ringback serve` (started as a child unless `--url` is given).
//!
//! 1. **Creates.** Immediate user-terminated callbacks created with
//!    `POST /genesys/1/service/callback/bench-immediate` at `--rate` per second for `--seconds`,
//!    open loop over `--connections` keep-alive connections (latency from each request's
//!    scheduled send time). Each callback's session stays alive, waiting in a queue no agent
//!    serves, as a callback does until an agent is free.
//! 2. **Live callbacks** (`--live N`): N more, as fast as the connections go; the server's
//!    resident memory is read with all of them alive (records and checkpoints in the store).
//! 3. **Scheduler** (`--scheduled N`): N callbacks booked for the same minute (desired times
//!    spread over it, `_request_execution_time_buffer = 0`); once they are due, each record
//!    says when its session started (`_started_time`), and the lag after its due time is
//!    reported.

use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bench_cometd::{
    memory_kib, paced_posts, percentile, start_server, target, ChildServer, Conn, PostTally,
};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A running server (`http://127.0.0.1:8080`) with the bench services; `None`: start one.
    pub url: Option<String>,
    pub rate: u64,
    pub seconds: u64,
    /// Unmeasured seconds at the same rate first.
    pub warmup: u64,
    pub connections: usize,
    pub live: usize,
    pub scheduled: usize,
}

/// The services the benchmark uses (a `--url` server must have them too).
pub const SERVICES: &str = "\
[service.bench-immediate]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = BenchCallbacks
_target = Nobody@StatServer.GA
_max_queued_callbacks_per_service = 100000000
_throttle_callbacks_per_service_1 = 100000000
_throttle_callbacks_per_service_2 = 100000000

[service.bench-scheduled]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = false
_urs_virtual_queue = BenchScheduled
_target = Nobody@StatServer.GA
_request_execution_time_buffer = 0
_max_request_by_time_bucket = 100000000
_max_queued_callbacks_per_service = 100000000
_throttle_callbacks_per_service_1 = 100000000
_throttle_callbacks_per_service_2 = 100000000
";

/// Sends `total` creates to `service` (see [`paced_posts`]).
async fn creates(
    host: &str,
    service: &str,
    total: u64,
    rate: Option<u64>,
    connections: usize,
    body: Rc<dyn Fn(u64) -> String>,
) -> (PostTally, f64) {
    let path = format!("/genesys/1/service/callback/{service}");
    paced_posts(host, &path, total, rate, connections, body).await
}

fn report(what: &str, t: &mut PostTally, elapsed: f64) {
    t.report(what, "created", "latency", elapsed);
}

/// The i-th customer number of a phase: unique across phases (a number may have only two
/// callbacks waiting, `_enable_in_queue_checking`).
fn number(phase: u64, i: u64) -> String {
    format!("1{phase}{:08}", i % 100_000_000)
}

/// Plain immediate requests of a phase.
fn plain(phase: u64) -> Rc<dyn Fn(u64) -> String> {
    Rc::new(move |i| json!({"_customer_number": number(phase, i), "first_name": "Ada"}).to_string())
}

fn iso(ms: i64) -> String {
    crate::api::routes::iso(ms)
}

fn now_ms() -> i64 {
    crate::api::routes::now()
}

/// Runs the benchmark and prints its figures; an error when a create failed or a scheduled
/// callback did not start.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let (server, host) = target(opts.url.as_deref(), start_bench_server)?;
    let pid = server.as_ref().map(|s| s.child.id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let mut failures = Vec::new();
    local.block_on(&rt, async {
        // 1. Creates at a rate.
        if opts.rate > 0 && opts.seconds > 0 {
            println!(
                "bench callbacks: {} immediate user-terminated creates/s for {} s (after {} s of \
                 warm-up) over {} connections; each session waits in its queue (server {host})",
                opts.rate, opts.seconds, opts.warmup, opts.connections
            );
            if opts.warmup > 0 {
                let (t, _) = creates(
                    &host,
                    "bench-immediate",
                    opts.rate * opts.warmup,
                    Some(opts.rate),
                    opts.connections,
                    plain(1),
                )
                .await;
                if t.errors > 0 {
                    failures.push(format!("{} warm-up creates failed", t.errors));
                }
            }
            let (mut t, elapsed) = creates(
                &host,
                "bench-immediate",
                opts.rate * opts.seconds,
                Some(opts.rate),
                opts.connections,
                plain(2),
            )
            .await;
            report("creates", &mut t, elapsed);
            if t.errors > 0 {
                failures.push(format!("{} creates failed", t.errors));
            }
        }
        // 2. Live callbacks and memory.
        if opts.live > 0 {
            let before = pid.and_then(memory_kib).map_or(0, |(rss, _)| rss);
            let (mut t, elapsed) = creates(
                &host,
                "bench-immediate",
                opts.live as u64,
                None,
                opts.connections,
                plain(3),
            )
            .await;
            report("live", &mut t, elapsed);
            let marks = watermarks(&host).await?;
            if let Some((rss, hwm)) = pid.and_then(memory_kib) {
                println!(
                    "  {marks} live callbacks: server {:.0} MiB resident ({:.0} MiB peak), {:.1} KiB per callback over the {:.0} MiB before",
                    rss as f64 / 1024.0,
                    hwm as f64 / 1024.0,
                    rss.saturating_sub(before) as f64 / opts.live as f64,
                    before as f64 / 1024.0
                );
            }
            if t.errors > 0 {
                failures.push(format!("{} live creates failed", t.errors));
            }
        }
        // 3. Many due in the same minute.
        if opts.scheduled > 0 {
            let n = opts.scheduled as u64;
            // The minute starts once they are all booked (at ~20,000 creates/s, with margin).
            let minute = now_ms() + 15_000 + (n as i64 / 5);
            let body: Rc<dyn Fn(u64) -> String> = Rc::new(move |i| {
                let at = minute + (i as i64 * 60_000) / n as i64;
                json!({"_customer_number": number(4, i), "_desired_time": iso(at)}).to_string()
            });
            let (mut t, elapsed) =
                creates(&host, "bench-scheduled", n, None, opts.connections, body).await;
            report("scheduled", &mut t, elapsed);
            if t.errors > 0 {
                failures.push(format!("{} scheduled creates failed", t.errors));
            }
            if now_ms() > minute {
                failures.push("booking took longer than the margin before the minute".into());
            }
            let wait = (minute + 60_000 + 5_000 - now_ms()).max(0) as u64;
            println!(
                "  {n} callbacks due from {} over one minute; waiting {:.0} s",
                iso(minute),
                wait as f64 / 1000.0
            );
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let records = query(&host, "bench-scheduled").await?;
            let mut lags: Vec<u64> = Vec::new();
            let mut not_started = 0;
            for r in &records {
                let due = r["_desired_time"].as_str().and_then(parse_ms);
                let started = r["_started_time"].as_str().and_then(parse_ms);
                match (due, started) {
                    (Some(d), Some(s)) => lags.push(((s - d).max(0) as u64) * 1000),
                    _ => not_started += 1,
                }
            }
            lags.sort_unstable();
            println!(
                "  started: {} of {}; lag after the due time: median {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                lags.len(),
                records.len(),
                percentile(&lags, 0.5),
                percentile(&lags, 0.99),
                percentile(&lags, 1.0)
            );
            if not_started > 0 || (records.len() as u64) < n {
                failures.push(format!("{not_started} scheduled callbacks did not start"));
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    drop(server);
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failures.join("; "))
    }
}

fn parse_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

async fn watermarks(host: &str) -> anyhow::Result<u64> {
    let mut conn = Conn::open(host).await?;
    let (status, body) = conn.get("/genesys/1/admin/callback/watermarks").await?;
    anyhow::ensure!(status == 200, "watermarks answered {status}");
    let v: Value = serde_json::from_slice(&body)?;
    Ok(v["total"].as_u64().unwrap_or(0))
}

async fn query(host: &str, service: &str) -> anyhow::Result<Vec<Value>> {
    let mut conn = Conn::open(host).await?;
    let (status, body) = conn
        .get(&format!("/genesys/1/service/callback/{service}"))
        .await?;
    anyhow::ensure!(status == 200, "the query answered {status}");
    let v: Value = serde_json::from_slice(&body)?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

fn start_bench_server() -> anyhow::Result<(ChildServer, String)> {
    start_server("callbacks", SERVICES, &[])
}
