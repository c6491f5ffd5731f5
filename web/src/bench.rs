//! `ringback bench scxml`: the interpreter figures the SCXML issue asks for, measured on the
//! two charts in `../shared/bench` (release build):
//! 1. events per second through one `pingpong.scxml` session;
//! 2. `callback-like.scxml` session starts per second (start plus its first event);
//! 3. resident memory per live `callback-like` session with many sessions alive;
//! 4. events per second over the callback-like lifecycle.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use scxml::interp::{NoHost, Session, SessionOptions, Step};
use scxml::parse::{parse_document, NoLoader};
use scxml::{Document, EcmaDataModel, Event};

/// Resident set size of this process in bytes (Linux `/proc/self/statm`).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn load(dir: &Path, name: &str) -> Result<Arc<Document>, String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_document(&text, None, &NoLoader)
        .map(Arc::new)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(Debug, Clone)]
pub struct Figures {
    pub pingpong_events_per_sec: f64,
    pub callback_starts_per_sec: f64,
    pub bytes_per_live_session: f64,
    pub lifecycle_events_per_sec: f64,
    pub live_sessions: usize,
}

fn step<'a>(
    dm: &'a mut EcmaDataModel,
    host: &'a mut NoHost,
    out: &'a mut Vec<scxml::Effect>,
) -> Step<'a, EcmaDataModel> {
    Step {
        dm,
        host,
        now: 0,
        out,
    }
}

/// Sends are routed by the host; this benchmark host delivers a session's sends to itself.
fn drain_self_sends(
    session: &mut Session<scxml::ecma::EcmaScope>,
    dm: &mut EcmaDataModel,
    out: &mut Vec<scxml::Effect>,
) {
    let mut host = NoHost;
    while !out.is_empty() {
        let effects = std::mem::take(out);
        for e in effects {
            if let scxml::Effect::Send { event, .. } = e {
                session.deliver(&mut step(dm, &mut host, out), event);
            }
        }
    }
}

pub fn run(dir: &Path, events: u64, sessions: usize) -> Result<Figures, String> {
    let pingpong = load(dir, "pingpong.scxml")?;
    let callback = load(dir, "callback-like.scxml")?;
    let mut dm = EcmaDataModel::new();
    let mut host = NoHost;
    let mut out = Vec::new();

    // 1. One session, `t` events.
    let mut s = Session::new(&mut dm, pingpong.clone(), "pp", SessionOptions::default());
    s.start(&mut step(&mut dm, &mut host, &mut out));
    let t = Event::external("t", scxml::Value::Undefined);
    for _ in 0..events / 10 {
        s.deliver(&mut step(&mut dm, &mut host, &mut out), t.clone());
    }
    let started = Instant::now();
    for _ in 0..events {
        s.deliver(&mut step(&mut dm, &mut host, &mut out), t.clone());
        out.clear();
    }
    let pingpong_events_per_sec = events as f64 / started.elapsed().as_secs_f64();
    drop(s);

    // 2 and 3. Many live callback-like sessions.
    let start_ev = Event::external("start", scxml::Value::Undefined);
    let ids: Vec<String> = (0..sessions).map(|i| format!("cb{i}")).collect();
    let mut live = Vec::with_capacity(sessions);
    let rss_before = rss_bytes().unwrap_or(0);
    let started = Instant::now();
    for id in &ids {
        let mut s = Session::new(
            &mut dm,
            callback.clone(),
            id.as_str(),
            SessionOptions::default(),
        );
        s.start(&mut step(&mut dm, &mut host, &mut out));
        s.deliver(&mut step(&mut dm, &mut host, &mut out), start_ev.clone());
        out.clear();
        live.push(s);
    }
    let callback_starts_per_sec = sessions as f64 / started.elapsed().as_secs_f64();
    let rss_after = rss_bytes().unwrap_or(0);
    let bytes_per_live_session = rss_after.saturating_sub(rss_before) as f64 / sessions as f64;

    // Lifecycle: agent.reserved, dial, dial.failed, retry, dial.answered, agent.connected, hangup, done.
    let lifecycle: Vec<Event> = [
        "agent.reserved",
        "dial",
        "dial.failed",
        "retry",
        "dial.answered",
        "agent.connected",
        "hangup",
        "done",
    ]
    .iter()
    .map(|n| Event::external(*n, scxml::Value::Undefined))
    .collect();
    let started = Instant::now();
    let mut delivered = 0u64;
    for s in live.iter_mut() {
        for ev in &lifecycle {
            s.deliver(&mut step(&mut dm, &mut host, &mut out), ev.clone());
            delivered += 1;
        }
        drain_self_sends(s, &mut dm, &mut out);
    }
    let lifecycle_events_per_sec = delivered as f64 / started.elapsed().as_secs_f64();
    let finished = live.iter().filter(|s| s.is_finished()).count();
    if finished != live.len() {
        return Err(format!(
            "only {finished} of {} callback-like sessions reached their final state",
            live.len()
        ));
    }
    Ok(Figures {
        pingpong_events_per_sec,
        callback_starts_per_sec,
        bytes_per_live_session,
        lifecycle_events_per_sec,
        live_sessions: sessions,
    })
}

/// `ringback bench hello`: an actix-web hello-world server with the same HTTP stack as
/// `ringback serve`, the baseline the GMS API throughput is compared against.
pub fn hello(listen: &str, workers: Option<usize>) -> std::io::Result<()> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| {
            App::new().route(
                "/hello",
                web::to(|| async { HttpResponse::Ok().json(serde_json::json!({"msg": "hello"})) }),
            )
        });
        if let Some(w) = workers {
            server = server.workers(w.max(1));
        }
        let server = server.bind(listen)?;
        let addr = server.addrs().first().copied();
        if let Some(addr) = addr {
            eprintln!("ringback: hello world on http://{addr}/hello");
        }
        server.run().await
    })
}
