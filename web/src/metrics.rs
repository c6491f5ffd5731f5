//! `GET /metrics`: the server's figures in the Prometheus text format (`prometheus-client`):
//! HTTP requests by method, route and status with their latency, store commit latency (from
//! the write to durable, as callers wait for it), and, read at each scrape, live sessions,
//! queue lengths, callbacks by service and state, and CometD sessions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse};
use engine::store::{
    Booking, Commit, Millis, Section, ServiceRecord, SessionRow, StorageRecord, Store, StoreError,
    StoredDocument, Then, WriteOp,
};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::api::error::ApiError;
use crate::api::routes::{authenticate, State};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    /// The route's pattern (`/genesys/1/service/callback/{name}`), never the raw path, so the
    /// label set stays small; `unmatched` for paths no route knows.
    route: String,
    status: u16,
}

/// The server's metrics: what is recorded as it happens, and the registry a scrape encodes.
pub struct Metrics {
    registry: Registry,
    http: Family<HttpLabels, Histogram>,
    commits: Histogram,
    failed_commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Read at each scrape: the figures the node already keeps.
#[derive(Debug)]
struct Live {
    node: actors::Node,
    push: actors::push::PushHub,
    failed_commits: Arc<AtomicU64>,
}

/// A gauge without labels.
fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: usize,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(metric)
}

/// A gauge per label set.
fn gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: Vec<(Vec<(&str, String)>, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in values {
        ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
            .encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        gauge(
            &mut encoder,
            "ringback_live_sessions",
            "State-chart sessions alive on this node",
            self.node.sessions().live(),
        )?;
        let queues = self.node.engine().center().with(|c, now| c.queues(now));
        gauges(
            &mut encoder,
            "ringback_queue_items",
            "Items in each virtual queue (reserved or not)",
            queues
                .iter()
                .map(|(q, r)| (vec![("queue", q.clone())], n(r.stats.calls)))
                .collect(),
        )?;
        gauges(
            &mut encoder,
            "ringback_queue_agents_ready",
            "Agents Ready for each virtual queue's targets",
            queues
                .iter()
                .map(|(q, r)| (vec![("queue", q.clone())], n(r.ready_agents)))
                .collect(),
        )?;
        let mut callbacks = Vec::new();
        for (service, states) in self.node.callbacks().counts() {
            for (state, count) in states {
                callbacks.push((
                    vec![
                        ("service", service.clone()),
                        ("state", state.as_str().to_owned()),
                    ],
                    count,
                ));
            }
        }
        gauges(
            &mut encoder,
            "ringback_callbacks",
            "Callback records by service and state",
            callbacks,
        )?;
        let push = self.push.stats();
        gauge(
            &mut encoder,
            "ringback_cometd_sessions",
            "CometD (Bayeux) sessions",
            push.sessions,
        )?;
        gauge(
            &mut encoder,
            "ringback_cometd_held_connects",
            "CometD long polls held open now",
            push.held,
        )?;
        let metric = encoder.encode_descriptor(
            "ringback_store_failed_commits",
            "Store writes that did not become durable",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.failed_commits.load(Ordering::Relaxed)).encode(metric)
    }
}

impl Metrics {
    /// The metrics of a server (with [`Metrics::follow`], also what it keeps).
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let http = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to ~8 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 15))
        });
        registry.register(
            "ringback_http_request_duration_seconds",
            "HTTP requests by method, route and status, and how long they took",
            http.clone(),
        );
        let commits = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "ringback_store_commit_seconds",
            "Store writes, from the write to durable",
            commits.clone(),
        );
        Metrics {
            registry,
            http,
            commits,
            failed_commits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Adds the figures read at each scrape.
    pub fn follow(&mut self, node: actors::Node, push: actors::push::PushHub) {
        self.registry.register_collector(Box::new(Live {
            node,
            push,
            failed_commits: self.failed_commits.clone(),
        }));
    }

    /// Records one HTTP request.
    pub fn request(&self, method: &str, route: Option<String>, status: u16, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.unwrap_or_else(|| "unmatched".to_owned()),
                status,
            })
            .observe(seconds);
    }

    /// `store`, with the time of each of its writes recorded.
    pub fn timed(&self, store: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(TimedStore {
            inner: store,
            commits: self.commits.clone(),
            failed: self.failed_commits.clone(),
        })
    }

    /// The text a scrape answers.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// A store whose writes are timed from the write to durable.
struct TimedStore {
    inner: Arc<dyn Store>,
    commits: Histogram,
    failed: Arc<AtomicU64>,
}

impl TimedStore {
    fn timing(&self, then: Then) -> Then {
        let started = Instant::now();
        let commits = self.commits.clone();
        let failed = self.failed.clone();
        Box::new(move |outcome| {
            commits.observe(started.elapsed().as_secs_f64());
            if outcome.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            then(outcome);
        })
    }
}

impl Store for TimedStore {
    fn write(&self, ops: Vec<WriteOp>) -> Commit {
        let (then, commit) = Commit::pending();
        self.inner.write_then(ops, self.timing(then));
        commit
    }
    fn write_then(&self, ops: Vec<WriteOp>, then: Then) {
        self.inner.write_then(ops, self.timing(then));
    }
    fn sections(&self) -> Result<Vec<Section>, StoreError> {
        self.inner.sections()
    }
    fn templates(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.templates()
    }
    fn service(&self, id: &str) -> Result<Option<ServiceRecord>, StoreError> {
        self.inner.service(id)
    }
    fn services(&self, now: Millis) -> Result<Vec<ServiceRecord>, StoreError> {
        self.inner.services(now)
    }
    fn storage(&self, id: &str, now: Millis) -> Result<Option<StorageRecord>, StoreError> {
        self.inner.storage(id, now)
    }
    fn bookings(&self, now: Millis) -> Result<Vec<Booking>, StoreError> {
        self.inner.bookings(now)
    }
    fn document(&self, hash: &str) -> Result<Option<StoredDocument>, StoreError> {
        self.inner.document(hash)
    }
    fn live_sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        self.inner.live_sessions()
    }
    fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        self.inner.session(id)
    }
    fn callbacks(&self, now: Millis) -> Result<Vec<engine::callback::CallbackRecord>, StoreError> {
        self.inner.callbacks(now)
    }
    fn users(&self) -> Result<Vec<engine::users::User>, StoreError> {
        self.inner.users()
    }
    fn metric_rows(
        &self,
        prefix: &str,
        from: Millis,
        to: Millis,
    ) -> Result<engine::store::MetricRows, StoreError> {
        self.inner.metric_rows(prefix, from, to)
    }
    fn journeys(&self) -> &dyn engine::store::JourneyStore {
        self.inner.journeys()
    }
}

/// `GET /metrics`.
pub(crate) async fn scrape(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::Internal(format!("encoding the metrics failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus_client::encoding::prometheus_text::CONTENT_TYPE)
        .body(text))
}
