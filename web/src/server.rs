//! `ringback serve`: the GMS-compatible server on one port — the REST API under `/genesys`,
//! backed by the embedded SQLite store in `--data-dir`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Service as _;
use actix_web::{web, App, HttpServer};
use actors::center::core::CenterCore;
use actors::center::settings::{agents_from_config, CenterSettings, DemoSettings};
use actors::center::Center;
use actors::node::{Inbound, NodeSettings};
use actors::push::PushHub;
use actors::session::core::HostSettings;
use actors::session::docs::Documents;
use actors::session::{Dispatch, Sessions};
use actors::{EngineHandle, Node};
use engine::config::Config;
use engine::platform::Platform;
use engine::store::sqlite::SqliteStore;
use engine::store::WriteOp;
use tracing::Instrument;

use crate::api::routes::{self, now, AppState};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `None`: the `[server] listen` option (default `127.0.0.1:8080`).
    pub listen: Option<String>,
    pub data_dir: PathBuf,
    /// An INI file seeding an empty store; `None`: the embedded sample configuration.
    pub config: Option<PathBuf>,
    pub workers: Option<usize>,
    /// Demo automation: agents work on their own and calls arrive (`[demo]`).
    pub demo: bool,
    /// Session host threads (default: one per core).
    pub hosts: Option<usize>,
}

/// A running server: where it listens, and how to wait for it.
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub node: Node,
    pub push: PushHub,
    pub server: actix_web::dev::Server,
}

/// Opens the store and configuration and binds the listener (port 0 picks a free port).
pub fn start(opts: &ServeOptions) -> anyhow::Result<Running> {
    let seed = match &opts.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let (config, warnings) =
                Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            for w in warnings {
                tracing::warn!("{}: {w}", path.display());
            }
            config
        }
        None => Config::sample(),
    };
    let store = SqliteStore::open(&opts.data_dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", opts.data_dir.display()))?;
    let mut metrics = crate::metrics::Metrics::new();
    let platform = Arc::new(Platform::open(
        metrics.timed(Arc::new(store)),
        &seed,
        now(),
    )?);
    let listen = opts
        .listen
        .clone()
        .unwrap_or_else(|| platform.server().listen.clone());
    let listener = TcpListener::bind(&listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let push = PushHub::new(
        crate::cometd::config_from(platform.section("cometd").as_deref())
            .map_err(|e| anyhow::anyhow!(e))?,
    );
    crate::cometd::install_services(&push);
    let push_data = web::Data::new(push.clone());
    let notifier = web::Data::new(crate::api::notification::start(&platform, push.clone())?);
    // Routing and telephony: the center, from the stored configuration.
    let config = platform.config();
    let settings = CenterSettings::from_config(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (agents, problems) = agents_from_config(&config);
    for p in problems {
        tracing::warn!("agent skipped: {p}");
        eprintln!("ringback: agent skipped: {p}");
    }
    let center = Center::start(CenterCore::new(settings.clone(), agents, now()));
    let engine = EngineHandle::new(center.clone());
    // Sessions: one host thread per core, their checkpoints in the store.
    let docs = Arc::new(Documents::new());
    let host_settings = HostSettings {
        reserve_timeout_ms: settings.reserve_timeout_ms,
        reject_retry_ms: settings.reject_retry_ms,
        ..HostSettings::default()
    };
    let hosts = opts.workers_for_hosts();
    let (callbacks, warnings) = actors::callback::Callbacks::open(&platform, now())?;
    for w in warnings {
        tracing::warn!("[callback] {w}");
    }
    let callbacks = Arc::new(callbacks);
    let sessions = Sessions::start(
        hosts,
        center.clone(),
        platform.store().clone(),
        docs.clone(),
        host_settings,
        tokio::runtime::Handle::current(),
        Some(callbacks.clone()),
    );
    let inbound =
        Arc::new(Inbound::load(&settings, &platform, &docs).map_err(|e| anyhow::anyhow!("{e}"))?);
    // The center's notices: to sessions, new calls to their strategy, agents' events to push.
    center.set_sink(Arc::new(Dispatch::new(
        sessions.clone(),
        inbound.clone(),
        Some(push.clone()),
    )));
    let mut node_settings = NodeSettings::from_section(platform.section("ors").as_deref());
    node_settings.public_url = format!("http://{addr}");
    let node = Node::new(
        platform.clone(),
        engine.clone(),
        sessions.clone(),
        node_settings.clone(),
        inbound,
        callbacks,
    );
    let fetch = crate::api::ors::http_fetch(node_settings, addr);
    sessions.set_fetch(fetch.clone());
    node.set_fetch(fetch);
    sessions.set_push(crate::api::ors::push_send(notifier.get_ref().clone()));
    // Sessions that were alive when the server stopped come back before anything is served.
    let (restored, problems) = sessions.restore_all(&center);
    for p in &problems {
        tracing::warn!("session not restored: {p}");
        eprintln!("ringback: session not restored: {p}");
    }
    if restored > 0 {
        tracing::info!(restored, "sessions restored");
        eprintln!("ringback: {restored} sessions restored");
    }
    // Scheduled callbacks start when due (those due while the server was down at once).
    node.run_scheduler(&tokio::runtime::Handle::current());
    // Each callback's journey in Context Services.
    node.run_journal();
    if opts.demo {
        let demo = DemoSettings::from_config(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        center.with(|c, now| c.start_demo(demo, now));
    }
    let users = Arc::new(
        crate::api::auth::Users::load(platform.store().clone(), now())
            .map_err(|e| anyhow::anyhow!("reading the users: {e}"))?,
    );
    let (_, warnings) =
        engine::features::Features::from_options(&platform.section("features").unwrap_or_default());
    for w in warnings {
        tracing::warn!("{w}");
        eprintln!("ringback: {w}");
    }
    match users.len(now()) {
        0 if platform.server().password.is_none() => eprintln!(
            "ringback: no users and no [server] password: the admin API is open to anyone who \
             reaches it (add a user with `ringback user add NAME --role Administrator`)"
        ),
        0 => {}
        n => eprintln!(
            "ringback: {n} user(s): the admin API needs one of them (HTTP Basic){}",
            if platform.server().password.is_some() {
                " or the [server] credentials"
            } else {
                ""
            }
        ),
    }
    metrics.follow(node.clone(), push.clone());
    let metrics = Arc::new(metrics);
    let measured = metrics.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let state = web::Data::new(AppState {
        users,
        engine: engine.clone(),
        platform: platform.clone(),
        node: node.clone(),
        shutdown: tx,
        started_ms: now(),
        closing: closing.clone(),
        metrics,
        data_dir: opts.data_dir.clone(),
    });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(push_data.clone())
            .app_data(notifier.clone())
            .app_data(web::PayloadConfig::new(crate::api::params::MAX_BODY))
            .wrap(actix_web::middleware::from_fn(crate::api::auth::identify))
            .wrap_fn({
                let measured = measured.clone();
                move |req, srv| {
                    let span =
                        tracing::info_span!("request", method = %req.method(), path = %req.path());
                    let started = std::time::Instant::now();
                    let method = req.method().to_string();
                    let route = req.match_pattern();
                    let measured = measured.clone();
                    let answer = srv.call(req).instrument(span);
                    async move {
                        let res = answer.await;
                        let status = match &res {
                            Ok(r) => r.status().as_u16(),
                            Err(e) => e.as_response_error().status_code().as_u16(),
                        };
                        measured.request(&method, route, status, started.elapsed().as_secs_f64());
                        res
                    }
                }
            })
            .configure(crate::cometd::configure)
            .configure(crate::ui::configure)
            .configure(crate::api::notification::configure)
            // Before the /genesys/1 scope, which answers 404 for paths it does not know.
            .configure(crate::api::ors::configure)
            .configure(routes::configure)
            .configure(crate::api::callback::configure_v2)
            .configure(crate::api::center::configure)
            .route("/metrics", web::get().to(crate::metrics::scrape))
            .default_service(web::to(routes::outside_api))
    })
    .shutdown_timeout(10)
    // Pushes are small writes: without this, Nagle's algorithm holds a websocket event back
    // until the client's delayed ACK (~40 ms).
    .tcp_nodelay(true)
    // Signals are ours (below), so open event streams end before the graceful stop waits.
    .disable_signals();
    if let Some(w) = opts.workers {
        server = server.workers(w.max(1));
    }
    let server = server.listen(listener)?.run();
    let handle = server.handle();
    // Node API SHUTDOWN, Ctrl-C or SIGTERM: end the event streams, answer in-flight requests,
    // then stop.
    actix_web::rt::spawn(async move {
        let why = tokio::select! {
            r = rx.recv() => if r.is_some() { "on request" } else { return },
            _ = actix_web::rt::signal::ctrl_c() => "on Ctrl-C",
            () = terminated() => "on SIGTERM",
        };
        tracing::info!("shutting down {why}");
        let _ = closing_tx.send(true);
        handle.stop(true).await;
    });
    // Bookings, storage, service and callback records expire on their own; finished sessions
    // are forgotten after an hour.
    let purger = platform.clone();
    let swept = sessions.clone();
    let expiring = node.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            let t = now();
            // With the metrics history's closed minutes (and its oldest, once an hour).
            if let Err(e) = purger.purge_expired(t).await {
                tracing::warn!(error = %e, "purging expired records failed");
            }
            swept.sweep(t);
            // Context Services: expired journeys deleted, idle ones completed.
            match purger.context_services().sweep(t, 1000).await {
                Ok((0, 0)) => {}
                Ok((deleted, completed)) => {
                    tracing::info!(
                        deleted,
                        completed,
                        "journeys expired or completed for inactivity"
                    )
                }
                Err(e) => tracing::warn!(error = %e, "sweeping journeys failed"),
            }
            // Paused and resumed callback services (`_paused_services_list`).
            let told = expiring.apply_pauses().await;
            if told > 0 {
                tracing::info!(told, "callbacks paused or resumed");
            }
            // Callback records past their _ttl, once a minute.
            if n.is_multiple_of(12) {
                match expiring.expire_callbacks(t).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "callback records expired"),
                    Err(e) => tracing::warn!(error = %e, "expiring callback records failed"),
                }
            }
            if n.is_multiple_of(60) {
                let before = t - actors::node::FINISHED_KEPT_MS;
                if let Err(e) = purger
                    .store()
                    .write(vec![WriteOp::PurgeSessions { before }])
                    .await
                {
                    tracing::warn!(error = %e, "purging finished sessions failed");
                }
            }
        }
    });
    // Bayeux §connect: sessions with no connect for maxInterval end; checked every second.
    actix_web::rt::spawn(push.clone().run_sweeper(Duration::from_secs(1)));
    Ok(Running {
        addr,
        node,
        push,
        server,
    })
}

/// Resolves when the process is asked to terminate (SIGTERM; never where there is no such signal).
async fn terminated() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        if let Ok(mut s) = signal(SignalKind::terminate()) {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

impl ServeOptions {
    /// Session hosts: `--hosts`, else one per core.
    fn workers_for_hosts(&self) -> usize {
        self.hosts.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(std::num::NonZeroUsize::get)
                .unwrap_or(2)
        })
    }
}

/// Runs the server until it is stopped (Ctrl-C, or the Node API's SHUTDOWN).
pub fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let running = start(&opts)?;
        tracing::info!(addr = %running.addr, data_dir = %opts.data_dir.display(), "ringback serving");
        eprintln!(
            "ringback: serving http://{}/genesys/1/ (data in {})",
            running.addr,
            opts.data_dir.display()
        );
        eprintln!(
            "ringback: Service Management UI at http://{}/genesys/",
            running.addr
        );
        running.server.await?;
        // The current minute of the metrics history, so a restart loses none of it.
        if let Err(e) = running.node.platform().flush_metrics(now()).await {
            tracing::warn!(error = %e, "saving the metrics history at the stop failed");
        }
        Ok(())
    })
}
