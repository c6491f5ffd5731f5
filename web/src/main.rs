//! The `ringback` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ringback::basichttp::BasicHttpServer;
use ringback::scxml_runner::{self, Outcome, RunOptions};

// Sessions, notices and requests allocate many small, short-lived values across threads;
// mimalloc's per-thread free lists serve them with far less contention than the system malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ringback",
    version,
    about = "Ringback: a contact-center mobile engagement server (GMS/ORS-style) in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the GMS REST API under /genesys, with its embedded store.
    Serve {
        /// Address to listen on (default: the [server] listen option, 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Folder of the embedded store.
        #[arg(long, default_value = "./ringback-data")]
        data_dir: PathBuf,
        /// A GMS-style INI file that seeds an empty store (default: the embedded sample).
        #[arg(long)]
        config: Option<PathBuf>,
        /// HTTP worker threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Session host threads, each running many state-chart sessions (default: one per core).
        #[arg(long)]
        hosts: Option<usize>,
        /// Demo mode: the configured agents work on their own (log in, go ready, accept
        /// offers, talk, wrap up) and simulated calls arrive ([demo] section), so work flows.
        #[arg(long)]
        demo: bool,
    },
    /// SCXML tools: run documents, run a conformance folder, validate.
    Scxml {
        #[command(subcommand)]
        command: ScxmlCommand,
    },
    /// Users of the UI and the API (kept in the store of a data folder).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Benchmarks (run a release build).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user; the password is read from standard input (asked for on a terminal).
    Add {
        name: String,
        /// Administrator, Supervisor or CallbackReadOnly.
        #[arg(long)]
        role: String,
        /// Services or virtual service groups (`_service_groups`) the user sees, comma-separated
        /// (default: all).
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
        /// Folder of the embedded store.
        #[arg(long, default_value = "./ringback-data")]
        data_dir: PathBuf,
    },
    /// Lists the users with their roles and services.
    List {
        #[arg(long, default_value = "./ringback-data")]
        data_dir: PathBuf,
    },
    /// Removes a user.
    Remove {
        name: String,
        #[arg(long, default_value = "./ringback-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The Callback API against `ringback serve`: immediate callbacks created per second with
    /// their latency (sessions staying alive in queue), memory with many live callbacks, and
    /// the scheduler's lag with many callbacks due in the same minute.
    Callbacks {
        /// A running server (http://HOST:PORT) configured with the bench services (see
        /// `bench_callbacks::SERVICES`); default: start one.
        #[arg(long)]
        url: Option<String>,
        /// Creates per second; 0 skips this phase.
        #[arg(long, default_value_t = 5_000)]
        rate: u64,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Seconds of unmeasured creates at the same rate first.
        #[arg(long, default_value_t = 1)]
        warmup: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Live callbacks to measure memory with (0 skips).
        #[arg(long, default_value_t = 0)]
        live: usize,
        /// Callbacks due in the same minute (0 skips).
        #[arg(long, default_value_t = 0)]
        scheduled: usize,
    },
    /// State-chart sessions through the ORS session API against `ringback serve --demo`:
    /// starts per second with their latency, memory with many live sessions, events through
    /// one durable session, and checkpoint sizes.
    Sessions {
        /// A running server (http://HOST:PORT); default: start `ringback serve --demo`.
        #[arg(long)]
        url: Option<String>,
        /// Session starts per second (each routed to a demo agent); 0 skips this phase.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds of unmeasured starts at the same rate first (steady state).
        #[arg(long, default_value_t = 1)]
        warmup: u64,
        /// Keep-alive connections the starts are spread over.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Demo agents serving the benchmark queue.
        #[arg(long, default_value_t = 2_000)]
        agents: usize,
        /// Live sessions to measure memory with (0 skips).
        #[arg(long, default_value_t = 0)]
        live: usize,
        /// Events through one durable session (0 skips).
        #[arg(long, default_value_t = 2_000)]
        events: u64,
        /// Folder holding callback-like.scxml (its checkpoint size is measured).
        #[arg(long, default_value = "../shared/bench")]
        charts: PathBuf,
    },
    /// Interpreter figures on ../shared/bench/{pingpong,callback-like}.scxml.
    Scxml {
        /// Folder holding pingpong.scxml and callback-like.scxml.
        #[arg(long, default_value = "../shared/bench")]
        charts: PathBuf,
        /// Events through the ping-pong session.
        #[arg(long, default_value_t = 2_000_000)]
        events: u64,
        /// Live callback-like sessions.
        #[arg(long, default_value_t = 100_000)]
        sessions: usize,
    },
    /// CometD load: long-polling clients and individual pushes; latency and server memory.
    Cometd {
        /// A running server (http://HOST:PORT); default: start `ringback serve` as a child.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// Pushes per second, each to one client.
        #[arg(long, default_value_t = 5_000)]
        rate: u64,
        /// Seconds of measured load.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Sessions opening at once during the ramp.
        #[arg(long, default_value_t = 200)]
        ramp: usize,
        /// Keep-alive connections carrying the publishes.
        #[arg(long, default_value_t = 64)]
        publishers: usize,
        /// Each device subscribes through the notification API; pushes go by tag alone.
        #[arg(long)]
        subscribed: bool,
    },
    /// Context Services: services started per second, and a long-lived customer's Journey
    /// Timeline (10,000 services, 100,000 states) as the server answers it (p50, p99).
    Journeys {
        /// Services started, as fast as the connections go.
        #[arg(long, default_value_t = 20_000)]
        starts: u64,
        /// Keep-alive connections carrying the starts.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// The long-lived customer's services.
        #[arg(long, default_value_t = 10_000)]
        services: usize,
        /// States per service.
        #[arg(long, default_value_t = 10)]
        states: usize,
        /// Times each page request is timed.
        #[arg(long, default_value_t = 40)]
        runs: usize,
    },
    /// Tools > Metrics reports over a store holding a full month of minute rows: the time the
    /// server takes to compute each report (p50, p99).
    Reports {
        /// Days of history (the retention period).
        #[arg(long, default_value_t = 31)]
        days: i64,
        /// Callback services with history.
        #[arg(long, default_value_t = 20)]
        services: usize,
        /// Times each report is computed.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// An actix-web hello-world server (GET /hello): the HTTP baseline for bench/http.sh.
    Hello {
        #[arg(long, default_value = "127.0.0.1:18089")]
        listen: String,
        #[arg(long)]
        workers: Option<usize>,
    },
}

#[derive(Subcommand)]
enum ScxmlCommand {
    /// Run one document to completion; prints one JSON line.
    Run {
        file: PathBuf,
        /// Give up after this many seconds (of virtual time with --virtual-time).
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        /// Jump the clock to the next timer whenever the session is idle.
        #[arg(long)]
        virtual_time: bool,
        /// Print the document's <log> output to stderr.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Run every start document (*.scxml, not *sub*.scxml) of a folder.
    Test {
        dir: PathBuf,
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        #[arg(long)]
        virtual_time: bool,
    },
    /// Validate a document; prints every problem as FILE:LINE:COL: message.
    Validate { file: PathBuf },
}

/// Turns transparent huge pages off for this process. mimalloc asks the kernel for huge pages
/// (`MADV_HUGEPAGE`), and as sessions and records grow the heap, each first touch of a new 2 MiB
/// page zeroes it inside the faulting thread: measured on a 2-core VM, ~5 ms per page, stalling a
/// session host or an HTTP worker in the middle of a request. Without them, `ringback bench
/// callbacks --rate 5000` went from a p99 of 20–33 ms to 5–8 ms, and `bench sessions --rate
/// 10000` from 11–13 ms to 5–6 ms (the same advice databases give for latency-bound servers).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
}

fn user(command: UserCommand) -> ExitCode {
    use ringback::users_cli;
    let outcome = match command {
        UserCommand::Add {
            name,
            role,
            services,
            data_dir,
        } => users_cli::read_password(&name, &mut std::io::stdin().lock())
            .and_then(|pw| users_cli::add(&data_dir, &name, &role, &services, &pw)),
        UserCommand::List { data_dir } => users_cli::list(&data_dir),
        UserCommand::Remove { name, data_dir } => users_cli::remove(&data_dir, &name),
    };
    match outcome {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ringback user: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    no_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            config,
            workers,
            hosts,
            demo,
        } => match ringback::server::serve(ringback::server::ServeOptions {
            listen,
            data_dir,
            config,
            workers,
            demo,
            hosts,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback serve: {e}");
                ExitCode::from(1)
            }
        },
        Command::Scxml { command } => scxml(command),
        Command::User { command } => user(command),
        Command::Bench {
            command:
                BenchCommand::Scxml {
                    charts,
                    events,
                    sessions,
                },
        } => bench_scxml(&charts, events, sessions),
        Command::Bench {
            command:
                BenchCommand::Cometd {
                    url,
                    clients,
                    rate,
                    seconds,
                    ramp,
                    publishers,
                    subscribed,
                },
        } => match ringback::bench_cometd::run(ringback::bench_cometd::Options {
            url,
            clients: clients.max(1),
            rate: rate.max(1),
            seconds: seconds.max(1),
            ramp_concurrency: ramp.max(1),
            publishers: publishers.max(1),
            subscribed,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench cometd: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            command:
                BenchCommand::Sessions {
                    url,
                    rate,
                    seconds,
                    warmup,
                    connections,
                    agents,
                    live,
                    events,
                    charts,
                },
        } => match ringback::bench_sessions::run(ringback::bench_sessions::Options {
            url,
            rate,
            seconds,
            warmup,
            connections: connections.max(1),
            agents,
            live,
            events,
            charts,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench sessions: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            command:
                BenchCommand::Callbacks {
                    url,
                    rate,
                    seconds,
                    warmup,
                    connections,
                    live,
                    scheduled,
                },
        } => match ringback::bench_callbacks::run(ringback::bench_callbacks::Options {
            url,
            rate,
            seconds,
            warmup,
            connections: connections.max(1),
            live,
            scheduled,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench callbacks: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            command:
                BenchCommand::Reports {
                    days,
                    services,
                    runs,
                },
        } => match ringback::bench_reports::run(ringback::bench_reports::Options {
            days: days.max(1),
            services: services.max(1),
            runs: runs.max(1),
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench reports: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            command:
                BenchCommand::Journeys {
                    starts,
                    connections,
                    services,
                    states,
                    runs,
                },
        } => match ringback::bench_journeys::run(ringback::bench_journeys::Options {
            starts,
            connections: connections.max(1),
            services: services.max(1),
            states,
            runs: runs.max(1),
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench journeys: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            command: BenchCommand::Hello { listen, workers },
        } => match ringback::bench::hello(&listen, workers) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ringback bench hello: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn bench_scxml(charts: &std::path::Path, events: u64, sessions: usize) -> ExitCode {
    if !charts.join("pingpong.scxml").is_file() {
        eprintln!(
            "{}: the benchmark charts are not there (they live in ../shared/bench, which a plain clone lacks)",
            charts.display()
        );
        return ExitCode::from(2);
    }
    match ringback::bench::run(charts, events.max(1), sessions.max(1)) {
        Ok(f) => {
            println!(
                "pingpong.scxml         {:>12.0} events/s (one session)",
                f.pingpong_events_per_sec
            );
            println!(
                "callback-like.scxml    {:>12.0} session starts/s (start + first event)",
                f.callback_starts_per_sec
            );
            println!(
                "callback-like.scxml    {:>12.0} bytes RSS per live session ({} alive)",
                f.bytes_per_live_session, f.live_sessions
            );
            println!(
                "callback-like.scxml    {:>12.0} lifecycle events/s",
                f.lifecycle_events_per_sec
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn duration(secs: f64) -> Duration {
    Duration::from_secs_f64(if secs.is_finite() && secs > 0.0 {
        secs.min(86_400.0)
    } else {
        60.0
    })
}

fn scxml(command: ScxmlCommand) -> ExitCode {
    match command {
        ScxmlCommand::Run {
            file,
            timeout,
            virtual_time,
            verbose,
        } => {
            if let Err(problems) = scxml_runner::load(&file) {
                for p in problems {
                    eprintln!("{p}");
                }
                let report = scxml_runner::RunReport {
                    file: file.display().to_string(),
                    outcome: Outcome::Error,
                    final_state: None,
                    events: 0,
                    reason: None,
                };
                match serde_json::to_string(&report) {
                    Ok(line) => println!("{line}"),
                    Err(e) => eprintln!("{e}"),
                }
                return ExitCode::from(2);
            }
            let http = match BasicHttpServer::start() {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("cannot start the Basic HTTP processor: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = RunOptions {
                timeout: duration(timeout),
                virtual_time,
                verbose,
            };
            let report = scxml_runner::run_file(&file, &http, &opts);
            if let Some(reason) = &report.reason {
                eprintln!("{}: {reason}", report.file);
            }
            match serde_json::to_string(&report) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("{e}"),
            }
            if report.outcome == Outcome::Pass {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        ScxmlCommand::Test {
            dir,
            jobs,
            timeout,
            virtual_time,
        } => {
            let opts = RunOptions {
                timeout: duration(timeout),
                virtual_time,
                verbose: false,
            };
            let reports = match scxml_runner::run_dir(&dir, jobs, &opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{}: {e}", dir.display());
                    return ExitCode::from(2);
                }
            };
            let mut failed = 0;
            for r in &reports {
                let name = scxml_runner::short_name(&r.file);
                if r.outcome == Outcome::Pass {
                    println!("PASS {name}");
                } else {
                    failed += 1;
                    let why = r.reason.clone().unwrap_or_else(|| {
                        format!(
                            "outcome {:?}, final state {}",
                            r.outcome,
                            r.final_state.as_deref().unwrap_or("none")
                        )
                    });
                    println!("FAIL {name}: {}", why.replace('\n', " | "));
                }
            }
            println!("{} passed, {} failed", reports.len() - failed, failed);
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        ScxmlCommand::Validate { file } => match scxml_runner::load(&file) {
            Ok(_) => ExitCode::SUCCESS,
            Err(problems) => {
                for p in problems {
                    println!("{p}");
                }
                ExitCode::from(1)
            }
        },
    }
}
