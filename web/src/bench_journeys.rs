//! `ringback bench journeys`: Context Services under load, as a second process on loopback
//! against `ringback serve` (a child, on a store prepared first).
//!
//! 1. **Starts.** `POST /genesys/1/cs/services/start` as fast as `--connections` keep-alive
//!    connections go, `--starts` of them (services of 1,000 customers): services started per
//!    second, and each start's latency (durable before it answers).
//! 2. **A long-lived customer's page.** The store holds one customer with `--services`
//!    services of `--states` states each (10,000 and 100,000 by default), written straight to
//!    the store before the server starts. Timed as the Journey Timeline asks for them: the
//!    customer's services, their figures (`/summary`), one service with its states and tasks;
//!    and, for scale, every service with every state nested.

use std::time::Instant;

use engine::cs::{Event, Owner, Service, State, Write};
use engine::store::sqlite::SqliteStore;
use engine::store::{Store, WriteOp};

use crate::bench_cometd::{paced_posts, percentile, start_server_with, Conn};

pub struct Options {
    pub starts: u64,
    pub connections: usize,
    pub services: usize,
    pub states: usize,
    pub runs: usize,
}

const CUSTOMER: &str = "0001BENCHCUSTOMR";

/// Writes the long-lived customer's journeys into the store at `data`.
fn fill(data: &std::path::Path, opts: &Options) -> anyhow::Result<String> {
    let store = SqliteStore::open(data)?;
    let now = chrono::Utc::now().timestamp_millis();
    // A service a day back from now, hours apart, each with its states a minute apart.
    let mut first = String::new();
    let mut batch = Vec::new();
    for i in 0..opts.services {
        let started = now - (opts.services - i) as i64 * 3_600_000;
        let id = format!("1-bench-{i:08}");
        if i == opts.services / 2 {
            first = id.clone();
        }
        let done = i + 1 < opts.services;
        let event = |t: i64| Event {
            timestamp: t,
            media_type: Some("voice".into()),
            interaction_id: Some(format!("ixn-{i}")),
            ..Event::default()
        };
        batch.push(Write::PutService {
            tenant: String::new(),
            service: Service {
                id: id.clone(),
                owner: Owner::Customer(CUSTOMER.into()),
                service_type: Some(
                    if i % 2 == 0 {
                        "Agency"
                    } else {
                        "BlueSky Book Flight"
                    }
                    .into(),
                ),
                est_duration: Some(600),
                started: event(started),
                completed: done.then(|| Event {
                    disposition: Some("done".into()),
                    ..event(started + 1_800_000)
                }),
                extensions: Default::default(),
                expires_at: None,
                auto_complete_after: None,
                last_activity: started,
            },
        });
        for k in 0..opts.states {
            let t = started + k as i64 * 60_000;
            batch.push(Write::PutState {
                tenant: String::new(),
                state: State {
                    service_id: id.clone(),
                    id: format!("{id}-{k}"),
                    state_type: Some("BlueSky Upsell".into()),
                    previous_state_id: None,
                    est_duration: None,
                    started: event(t),
                    completed: (done || k + 1 < opts.states).then(|| event(t + 60_000)),
                    extensions: Default::default(),
                },
            });
        }
        if batch.len() >= 20_000 {
            let ops = batch
                .drain(..)
                .map(|w| WriteOp::Journey(Box::new(w)))
                .collect();
            store.write(ops).wait()?;
        }
    }
    let ops = batch
        .drain(..)
        .map(|w| WriteOp::Journey(Box::new(w)))
        .collect();
    store.write(ops).wait()?;
    store.shutdown();
    Ok(first)
}

async fn timed(host: &str, what: &str, path: &str, runs: usize) -> anyhow::Result<()> {
    let mut conn = Conn::open(host).await?;
    let mut us = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (status, body) = conn.get(path).await?;
        us.push(t.elapsed().as_micros() as u64);
        anyhow::ensure!(
            status == 200,
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        bytes = body.len();
    }
    us.sort_unstable();
    println!(
        "  {what}: p50 {:.1} ms, p99 {:.1} ms ({runs} runs, {} KB)",
        percentile(&us, 0.5),
        percentile(&us, 0.99),
        bytes / 1024
    );
    Ok(())
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let ini = engine::config::SAMPLE_INI;
    let filled = Instant::now();
    let mut one = String::new();
    let (server, host) = start_server_with("journeys", ini, &[], |data| {
        one = fill(data, &opts)?;
        Ok(())
    })?;
    println!(
        "bench journeys: a customer with {} services and {} states written in {:.1} s (server {host})",
        opts.services,
        opts.services * opts.states,
        filled.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let result: anyhow::Result<()> = local.block_on(&rt, async {
        // 1. Starts, as fast as they go.
        let body = std::rc::Rc::new(|i: u64| {
            format!(
                r#"{{"customer_id":"c-{}","service_type":"Agency","media_type":"voice","interaction_id":"i-{i}"}}"#,
                i % 1000
            )
        });
        let (mut t, elapsed) = paced_posts(
            &host,
            "/genesys/1/cs/services/start",
            opts.starts,
            None,
            opts.connections,
            body,
        )
        .await;
        t.report(
            &format!("services started over {} connections", opts.connections),
            "started",
            "latency",
            elapsed,
        );
        anyhow::ensure!(t.errors == 0, "{} starts failed", t.errors);
        // 2. The long-lived customer's page.
        println!("a customer's page ({} services, {} states):", opts.services, opts.services * opts.states);
        let base = format!("/genesys/1/cs/customers/{CUSTOMER}");
        timed(&host, "the customer's services (the timeline)", &format!("{base}/services"), opts.runs).await?;
        timed(&host, "their figures (KPIs)", &format!("{base}/summary"), opts.runs).await?;
        timed(
            &host,
            "one service with its states and tasks",
            &format!("/genesys/1/cs/services/{one}?active_states=true&completed_states=true&active_tasks=true&completed_tasks=true"),
            opts.runs,
        )
        .await?;
        timed(
            &host,
            "every service with every state nested",
            &format!("{base}/services?active_states=true&completed_states=true"),
            opts.runs.div_ceil(4).max(1),
        )
        .await?;
        Ok(())
    });
    drop(server);
    result
}
