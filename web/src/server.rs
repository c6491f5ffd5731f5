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
use actors::push::PushHub;
use actors::EngineHandle;
use engine::config::Config;
use engine::platform::Platform;
use engine::store::sqlite::SqliteStore;
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
}

/// A running server: where it listens, and how to wait for it.
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub platform: Arc<Platform>,
    pub engine: EngineHandle,
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
    let platform = Arc::new(Platform::open(Arc::new(store), &seed, now())?);
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
    // Routing and telephony: the center actor, from the stored configuration.
    let config = platform.config();
    let settings = CenterSettings::from_config(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (agents, problems) = agents_from_config(&config);
    for p in problems {
        tracing::warn!("agent skipped: {p}");
        eprintln!("ringback: agent skipped: {p}");
    }
    let mut core = CenterCore::new(settings, agents, now());
    // Agents' events also go out on their push channel, /ringback/agent/{id}.
    let agent_push = push.clone();
    core.set_event_sink(Box::new(move |agent, event| {
        if let Err(e) = agent_push.publish_to_agent(agent, crate::api::center::event_json(event)) {
            tracing::debug!(%agent, error = %e, "agent event not pushed");
        }
    }));
    if opts.demo {
        let demo = DemoSettings::from_config(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        core.start_demo(demo, now());
    }
    let engine = EngineHandle::start(core);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let state = web::Data::new(AppState {
        engine: engine.clone(),
        platform: platform.clone(),
        shutdown: tx,
    });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(push_data.clone())
            .app_data(notifier.clone())
            .app_data(web::PayloadConfig::new(crate::api::params::MAX_BODY))
            .wrap_fn(|req, srv| {
                let span =
                    tracing::info_span!("request", method = %req.method(), path = %req.path());
                srv.call(req).instrument(span)
            })
            .configure(crate::cometd::configure)
            .configure(crate::api::notification::configure)
            .configure(routes::configure)
            .configure(crate::api::center::configure)
            .default_service(web::to(routes::outside_api))
    })
    .shutdown_timeout(10)
    // Pushes are small writes: without this, Nagle's algorithm holds a websocket event back
    // until the client's delayed ACK (~40 ms).
    .tcp_nodelay(true);
    if let Some(w) = opts.workers {
        server = server.workers(w.max(1));
    }
    let server = server.listen(listener)?.run();
    let handle = server.handle();
    // Node API SHUTDOWN: answer in-flight requests, then stop.
    actix_web::rt::spawn(async move {
        if rx.recv().await.is_some() {
            tracing::info!("shutting down on request");
            handle.stop(true).await;
        }
    });
    // Bookings, storage and service records expire on their own.
    let purger = platform.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = purger.purge_expired(now()).await {
                tracing::warn!(error = %e, "purging expired records failed");
            }
        }
    });
    // Bayeux §connect: sessions with no connect for maxInterval end; checked every second.
    actix_web::rt::spawn(push.clone().run_sweeper(Duration::from_secs(1)));
    Ok(Running {
        addr,
        platform,
        engine,
        push,
        server,
    })
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
        running.server.await?;
        Ok(())
    })
}
