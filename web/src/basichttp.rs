//! The SCXML Basic HTTP Event I/O Processor (SCXML Appendix D.2) on loopback.
//!
//! Incoming: `POST /basichttp/{runner}/{session}` becomes an external event. Its name is the
//! `_scxmleventname` parameter, or `HTTP.POST` without one; the other form parameters become
//! `_event.data` fields and the request body becomes `_event.raw`.
//! Outgoing: an event is POSTed form-encoded with `_scxmleventname`, one field per
//! `namelist`/`param` entry; `<content>` is sent percent-encoded as the body.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use scxml::event::{Event, Value, BASICHTTP_PROCESSOR};

/// An event received for a session of one runner.
#[derive(Debug)]
pub struct Incoming {
    pub session: String,
    pub event: Event,
}

/// The ids of a runner's live sessions: a POST to any other id is answered 404, never
/// acknowledged and dropped.
pub type LiveSessions = Arc<Mutex<HashSet<String>>>;

type Routes = Arc<Mutex<HashMap<u64, (Sender<Incoming>, LiveSessions)>>>;

/// Replaces the set of live sessions.
pub fn set_live<'a>(live: &LiveSessions, ids: impl Iterator<Item = &'a str>) {
    if let Ok(mut l) = live.lock() {
        l.clear();
        l.extend(ids.map(String::from));
    }
}

/// Adds one live session.
pub fn mark_live(live: &LiveSessions, id: &str) {
    if let Ok(mut l) = live.lock() {
        if !l.contains(id) {
            l.insert(id.to_string());
        }
    }
}

/// A loopback HTTP server shared by every runner of one process.
#[derive(Clone)]
pub struct BasicHttpServer {
    port: u16,
    routes: Routes,
}

impl std::fmt::Debug for BasicHttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicHttpServer")
            .field("port", &self.port)
            .finish()
    }
}

async fn receive(
    req: HttpRequest,
    path: web::Path<(u64, String)>,
    body: web::Bytes,
    routes: web::Data<Routes>,
) -> HttpResponse {
    let (runner, session) = path.into_inner();
    // `_event.raw`: the request as it arrived (request line, headers, body).
    let mut raw = format!("{} {} {:?}\r\n", req.method(), req.uri(), req.version());
    for (k, v) in req.headers() {
        raw.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap_or("")));
    }
    raw.push_str("\r\n");
    raw.push_str(&String::from_utf8_lossy(&body));
    let mut name = None;
    let mut data = Vec::new();
    let query = req.query_string();
    let pairs = form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(&body));
    for (k, v) in pairs {
        if k == "_scxmleventname" {
            name = Some(v.into_owned());
        } else {
            data.push((k.into_owned(), Value::String(v.into_owned())));
        }
    }
    let mut event = Event::external(
        name.unwrap_or_else(|| format!("HTTP.{}", req.method())),
        if data.is_empty() {
            Value::Undefined
        } else {
            Value::Object(data)
        },
    );
    event.raw = Some(raw);
    event.origintype = Some(BASICHTTP_PROCESSOR.to_string());
    let route = routes.lock().ok().and_then(|r| r.get(&runner).cloned());
    let Some((tx, live)) = route else {
        return HttpResponse::NotFound().body("no such SCXML runner");
    };
    if !live.lock().is_ok_and(|l| l.contains(&session)) {
        return HttpResponse::NotFound().body("no such SCXML session");
    }
    match tx.send(Incoming { session, event }) {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(_) => HttpResponse::NotFound().body("no such SCXML session"),
    }
}

impl BasicHttpServer {
    /// Starts the server on `127.0.0.1` on a free port, in a thread of its own.
    pub fn start() -> std::io::Result<BasicHttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
        let data = web::Data::new(routes.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/basichttp/{runner}/{session}", web::post().to(receive))
                .route("/basichttp/{runner}/{session}", web::get().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        std::thread::Builder::new()
            .name("basichttp".into())
            .spawn(move || {
                if let Err(e) = actix_web::rt::System::new().block_on(server) {
                    tracing::error!(error = %e, "basic http server stopped");
                }
            })?;
        Ok(BasicHttpServer { port, routes })
    }

    /// The URL prefix of a runner's sessions; the session id is appended.
    pub fn base_for(&self, runner: u64) -> String {
        format!("http://127.0.0.1:{}/basichttp/{runner}/", self.port)
    }

    /// Routes a runner's events to `tx`; returns the set of its live sessions to keep current.
    pub fn register(&self, runner: u64, tx: Sender<Incoming>) -> LiveSessions {
        let live = LiveSessions::default();
        if let Ok(mut r) = self.routes.lock() {
            r.insert(runner, (tx, live.clone()));
        }
        live
    }

    pub fn unregister(&self, runner: u64) {
        if let Ok(mut r) = self.routes.lock() {
            r.remove(&runner);
        }
    }
}

/// POSTs an event to a Basic HTTP target. Returns an error message when it was not delivered.
pub fn post(url: &str, event: &Event) -> Result<(), String> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    if !event.name.is_empty() {
        form.append_pair("_scxmleventname", &event.name);
    }
    let body = match &event.data {
        Value::Object(props) => {
            for (k, v) in props {
                form.append_pair(k, &v.to_display_string());
            }
            form.finish()
        }
        Value::Undefined | Value::Null => form.finish(),
        other => {
            let head = form.finish();
            let content = percent_encoding::utf8_percent_encode(
                &other.to_display_string(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            if head.is_empty() {
                content
            } else {
                format!("{head}&{content}")
            }
        }
    };
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    agent
        .post(url)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&body)
        .map(|_| ())
        .map_err(|e| format!("POST {url}: {e}"))
}
