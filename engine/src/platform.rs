//! The service platform: configuration, templates, access-number resources, pattern groups,
//! service records and storage behind one handle that the web layer calls.
//!
//! Every change is written to the store and awaited before the caller answers, so nothing
//! acknowledged is lost. In-memory state (the resource pool, the compiled patterns) is
//! guarded by locks that are never held across an `.await`. Time is a parameter.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::config::{is_ecmascript_identifier, option, truthy, Config, ServerConfig};
use crate::patterns::PatternGroups;
use crate::reporting::{self, Recorder, Report, ReportKind};
use crate::resources::{
    Allocation, BookRequest, GroupConfig, MatchRequest, ResourceError, ResourcePool,
    DEFAULT_BOOKING_SECS,
};
use crate::service_options::Resolved;
use crate::store::{
    Booking, Millis, ServiceRecord, StorageRecord, StorageValue, Store, StoreError, WriteOp,
};
use crate::templates::Templates;

/// A node's availability (Node API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    Online,
    Offline,
    /// Draining: the process exits once in-flight requests are answered.
    Shutdown,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Online => "ONLINE",
            NodeStatus::Offline => "OFFLINE",
            NodeStatus::Shutdown => "SHUTDOWN",
        }
    }

    pub fn parse(s: &str) -> Option<NodeStatus> {
        match s {
            "ONLINE" => Some(NodeStatus::Online),
            "OFFLINE" => Some(NodeStatus::Offline),
            "SHUTDOWN" => Some(NodeStatus::Shutdown),
            _ => None,
        }
    }
}

/// Errors of the platform, each a decision for the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The request is wrong (a missing or invalid parameter, an invalid configuration).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// A resource is exhausted or the node is offline.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Forbidden(String),
    /// What the request would make exists already.
    #[error("{0}")]
    Conflict(String),
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

impl PlatformError {
    /// Replaces the message of a `NotFound` with one that names what was missing.
    fn unless_missing(self, message: impl FnOnce() -> String) -> PlatformError {
        match self {
            PlatformError::NotFound(_) => PlatformError::NotFound(message()),
            other => other,
        }
    }
}

/// A value in a service reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Null,
    Str(String),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, Field)>),
    List(Vec<Field>),
}

/// The session an inbound call matched, with its user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedCall {
    pub service_id: String,
    pub data: Vec<(String, String)>,
}

/// What a service answers: an HTTP status and a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub fields: Vec<(String, Field)>,
}

impl Reply {
    fn ok(fields: Vec<(String, Field)>) -> Reply {
        Reply {
            status: 200,
            fields,
        }
    }
}

fn s(v: impl Into<String>) -> Field {
    Field::Str(v.into())
}

/// Storage TTLs are whole seconds from 1 to one year.
pub const MAX_TTL_SECS: i64 = 365 * 24 * 3600;
/// How long a service's own storage and record live when the service sets no `_ttl`.
pub const DEFAULT_SERVICE_TTL_SECS: i64 = 24 * 3600;

/// Parses a storage TTL (seconds).
pub fn parse_ttl(ttl: &str) -> Result<i64, PlatformError> {
    match ttl.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_TTL_SECS).contains(&n) => Ok(n),
        _ => Err(PlatformError::BadRequest(format!(
            "invalid TTL '{ttl}': it must be a whole number of seconds from 1 to {MAX_TTL_SECS}"
        ))),
    }
}

/// Reads a resource group section into a pool configuration.
pub fn group_config(
    name: &str,
    options: &[(String, String)],
) -> Result<GroupConfig, PlatformError> {
    let get = |k: &str| option(options, k);
    let numbers: Vec<String> = get("numbers")
        .unwrap_or("")
        .split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    for n in &numbers {
        if !n.chars().all(|c| c.is_ascii_digit() || c == '+') {
            return Err(PlatformError::BadRequest(format!(
                "resource group '{name}': '{n}' is not an access number (digits only)"
            )));
        }
    }
    let allocation_text = get("allocation").unwrap_or("random");
    let allocation = Allocation::parse(allocation_text).ok_or_else(|| {
        PlatformError::BadRequest(format!(
            "resource group '{name}': allocation '{allocation_text}' is not random or round-robin"
        ))
    })?;
    let booking_secs = match get("_booking_expiration_timeout") {
        None | Some("") => DEFAULT_BOOKING_SECS,
        Some(v) => crate::resources::booking_secs(Some(v), DEFAULT_BOOKING_SECS),
    };
    Ok(GroupConfig {
        numbers,
        allocation,
        locking: truthy(get("locking")),
        booking_secs,
    })
}

/// The service platform of one node.
pub struct Platform {
    store: Arc<dyn Store>,
    config: RwLock<Config>,
    /// `[server]` with defaults, kept apart because every request reads it.
    server: RwLock<Arc<ServerConfig>>,
    templates: Templates,
    resources: Mutex<ResourcePool>,
    patterns: RwLock<PatternGroups>,
    node: AtomicU8,
    rng: Mutex<StdRng>,
    /// The metrics history being recorded (Tools > Metrics).
    recorder: Arc<Mutex<Recorder>>,
    /// When the metrics history is next trimmed to its retention.
    metrics_purge_due: AtomicI64,
    /// Context Services (journeys and profiles).
    cs: crate::cs::ContextServices,
}

/// What [`Platform::metrics_report`] reports.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    pub kind: ReportKind,
    pub from: Millis,
    pub to: Millis,
    pub rollup: reporting::Rollup,
    /// Buckets of a day or an hour follow this zone's clock.
    pub tz: chrono_tz::Tz,
    /// The services reported (added up, or a column each for the Services report).
    pub services: Vec<String>,
    /// The resource group of the Resources report.
    pub group: Option<String>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("node", &self.node_status())
            .finish()
    }
}

impl Platform {
    /// Opens the platform on a store. A store without configuration is seeded with `seed` (the
    /// `--config` file or the embedded sample); otherwise the stored configuration wins, since
    /// it holds every change made through the admin API.
    pub fn open(
        store: Arc<dyn Store>,
        seed: &Config,
        now: Millis,
    ) -> Result<Platform, PlatformError> {
        let stored = store.sections()?;
        let config = if stored.is_empty() {
            let ops = seed
                .sections()
                .iter()
                .map(|(name, options)| WriteOp::PutSection {
                    section: name.clone(),
                    options: options.clone(),
                })
                .collect();
            store.write(ops).wait()?;
            seed.clone()
        } else {
            let mut c = Config::default();
            for (name, options) in stored {
                c.set_section(&name, options).map_err(|e| {
                    PlatformError::BadRequest(format!("stored configuration is invalid: {e}"))
                })?;
            }
            c
        };
        let templates = Templates::with_builtins()
            .map_err(|e| PlatformError::BadRequest(format!("built-in templates: {e}")))?;
        for (name, zip) in store.templates()? {
            if let Err(e) = templates.add_zip(&name, &zip) {
                tracing::warn!(template = %name, error = %e, "stored template ignored");
            }
        }
        let mut pool = ResourcePool::new();
        for (group, options) in config.resource_groups() {
            match group_config(group, options) {
                Ok(cfg) => pool.configure(group, cfg),
                Err(e) => tracing::warn!(group, error = %e, "resource group ignored"),
            }
        }
        let orphans = pool.restore(store.bookings(now)?);
        let mut recorder = Recorder::new(now);
        for group in pool.group_names() {
            note_usage(&mut recorder, &pool, group, now);
        }
        if !orphans.is_empty() {
            let ops = orphans
                .into_iter()
                .map(|b| WriteOp::DeleteBooking {
                    group: b.group,
                    number: b.number,
                    service_id: b.service_id,
                })
                .collect();
            store.write(ops).wait()?;
        }
        // A stored or seeded service that GMS would accept but Ringback cannot fully read is
        // kept (it may be fixed through the admin API) and reported.
        for (name, options) in config.services() {
            if let Err(errors) = templates.validate_service(options) {
                for e in errors {
                    tracing::warn!(service = name, problem = %e, "service option problem");
                }
            }
        }
        let (patterns, errors) = PatternGroups::compile(config.pattern_groups());
        for (group, e) in errors {
            tracing::warn!(group = %group, error = %e, "pattern ignored");
        }
        let cs = crate::cs::ContextServices::open(store.clone(), &config)
            .map_err(|e| PlatformError::BadRequest(format!("Context Services: {e}")))?;
        for w in cs.warnings() {
            tracing::warn!("{w}");
        }
        Ok(Platform {
            cs,
            store,
            server: RwLock::new(Arc::new(config.server())),
            config: RwLock::new(config),
            templates,
            resources: Mutex::new(pool),
            patterns: RwLock::new(patterns),
            node: AtomicU8::new(0),
            rng: Mutex::new(StdRng::from_os_rng()),
            recorder: Arc::new(Mutex::new(recorder)),
            // Not in the first rounds, while a starting server is busiest.
            metrics_purge_due: AtomicI64::new(now + 600_000),
        })
    }

    /// Context Services: customer journeys and profiles.
    pub fn context_services(&self) -> &crate::cs::ContextServices {
        &self.cs
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The metrics history being recorded; whoever sees a change to record holds it briefly.
    pub fn recorder(&self) -> &Arc<Mutex<Recorder>> {
        &self.recorder
    }

    /// A request reached service `name` (the Services report).
    pub fn note_access(&self, name: &str, now: Millis) {
        self.recorder
            .lock()
            .count(now, &format!("svc.access|{name}"), 1);
    }

    /// Bookings ended (`how`: match, timeout or cancel), and their groups' usage now; a match
    /// also gives its handle time. Called under the pool's lock, right after the change.
    fn note_bookings(&self, pool: &ResourcePool, ended: &[Booking], how: &str, now: Millis) {
        if ended.is_empty() {
            return;
        }
        let mut rec = self.recorder.lock();
        let mut groups: Vec<&str> = Vec::new();
        for b in ended {
            rec.count(now, &format!("pool.exit|{}|{how}", b.group), 1);
            if how == "match" {
                if let Some(at) = b.booked_at {
                    rec.duration(now, &format!("pool.aht|{}", b.group), now - at);
                }
            }
            if !groups.contains(&b.group.as_str()) {
                groups.push(&b.group);
            }
        }
        for g in groups {
            note_usage(&mut rec, pool, g, now);
        }
    }

    /// Stores the metrics history not stored yet, the current minute so far too (at a
    /// graceful stop: the rest of the minute merges in after the restart).
    /// [`Platform::purge_expired`] stores the closed minutes every round.
    pub async fn flush_metrics(&self, now: Millis) -> Result<(), PlatformError> {
        let (rows, through) = self.recorder.lock().flush(now);
        let ops = if rows.is_empty() {
            Vec::new()
        } else {
            vec![WriteOp::PutMetrics(rows)]
        };
        self.write_metrics(ops, through).await
    }

    /// Writes `ops`, which hold the metrics rows taken up to `through`, and tells the recorder
    /// whether the store has them now.
    async fn write_metrics(&self, ops: Vec<WriteOp>, through: Millis) -> Result<(), PlatformError> {
        if !ops.is_empty() {
            if let Err(e) = self.store.write(ops).await {
                self.recorder.lock().not_saved();
                return Err(e.into());
            }
        }
        self.recorder.lock().saved(through);
        Ok(())
    }

    /// A report of the metrics history (Tools > Metrics) for `spec`'s services (already
    /// narrowed to what the user sees) or resource group.
    pub fn metrics_report(&self, spec: &ReportSpec) -> Result<Report, PlatformError> {
        use reporting::{rollup_by, Bucket};
        let (from, to, by, tz) = (spec.from, spec.to, spec.rollup, spec.tz);
        if to <= from {
            return Err(PlatformError::BadRequest(format!(
                "the report's end ({}) is not after its start ({})",
                crate::callback::iso(to),
                crate::callback::iso(from)
            )));
        }
        if reporting::bucket_count(from, to, by) > reporting::MAX_BUCKETS {
            return Err(PlatformError::BadRequest(format!(
                "a report holds at most {} buckets: choose a longer rollup than {} or a shorter range",
                reporting::MAX_BUCKETS,
                by.as_str()
            )));
        }
        let mut report = Report::new(spec.kind, from, to, by, tz);
        // What the recorder holds that is not stored yet: the report is current to the second.
        let (saved_through, unsaved) = self.recorder.lock().unsaved();
        // One prefix's series rolled up, summed by key.
        let read = |prefix: &str,
                    key: &dyn Fn(&str) -> Option<String>|
         -> Result<HashMap<String, Vec<Bucket>>, PlatformError> {
            // The store up to the minute the recorder holds from (it may already have some of
            // what the recorder holds: those rows are left to the recorder).
            let (mut prior, mut rows) =
                self.store
                    .metric_rows(prefix, from, to.min(saved_through).max(from))?;
            let extra = unsaved
                .iter()
                .filter(|r| r.series.starts_with(prefix))
                .cloned()
                .collect();
            reporting::merge_unsaved(&mut prior, &mut rows, extra, from, to);
            Ok(rollup_by(&prior, &rows, from, to, by, tz, key))
        };
        let exact = |want: String| move |s: &str| (s == want).then(String::new);
        let last = |s: &str| s.rsplit('|').next().map(str::to_owned);
        // The buckets of several services added up, by key.
        let across = |prefix: &dyn Fn(&str) -> String,
                      key: &dyn Fn(&str, &str) -> Option<String>|
         -> Result<HashMap<String, Vec<Bucket>>, PlatformError> {
            let mut all: HashMap<String, Vec<Bucket>> = HashMap::new();
            for svc in &spec.services {
                let p = prefix(svc);
                let kind = reporting::kind_of(&p).unwrap_or(reporting::Kind::Count);
                for (k, b) in read(&p, &|s| key(svc, s))? {
                    reporting::add_buckets(&mut all, kind, k, b);
                }
            }
            Ok(all)
        };
        let n = report.rows.len();
        let column = |b: Option<&Vec<Bucket>>, f: &dyn Fn(&Bucket) -> Option<f64>| {
            (0..n)
                .map(|i| b.and_then(|b| b.get(i)).and_then(f))
                .collect::<Vec<_>>()
        };
        // A column whose empty buckets read `none` (zero for counts and levels).
        let column_or = |b: Option<&Vec<Bucket>>, f: &dyn Fn(&Bucket) -> Option<f64>, none: f64| {
            column(b, f)
                .into_iter()
                .map(move |v| v.or(Some(none)))
                .collect::<Vec<_>>()
        };
        let secs = |v: Option<f64>| v.map(|ms| ms / 1000.0);
        match spec.kind {
            ReportKind::Callbacks | ReportKind::Watermark => {
                let states = across(&|svc| format!("cb.state|{svc}|"), &|_, s| last(s))?;
                if spec.kind == ReportKind::Callbacks {
                    for st in crate::callback::CallbackState::ALL {
                        report.push_column(
                            st.as_str(),
                            column_or(states.get(st.as_str()), &|b| b.max, 0.0),
                        );
                    }
                } else {
                    let q = states.get("QUEUED");
                    report.push_column("min", column_or(q, &|b| b.min, 0.0));
                    report.push_column("avg", column_or(q, &|b| b.avg, 0.0));
                    report.push_column("max", column_or(q, &|b| b.max, 0.0));
                }
            }
            ReportKind::HoldTime => {
                let hold = across(&|svc| format!("cb.hold|{svc}"), &|svc, s| {
                    (s == format!("cb.hold|{svc}")).then(String::new)
                })?;
                let h = hold.get("");
                report.push_column("count", column_or(h, &|b| Some(b.n as f64), 0.0));
                report.push_column("avg_seconds", column(h, &|b| secs(b.avg)));
                report.push_column("min_seconds", column(h, &|b| secs(b.min)));
                report.push_column("max_seconds", column(h, &|b| secs(b.max)));
            }
            ReportKind::Services => {
                for svc in &spec.services {
                    let p = format!("svc.access|{svc}");
                    let b = read(&p, &exact(p.clone()))?;
                    report.push_column(svc, column_or(b.get(""), &|b| Some(b.n as f64), 0.0));
                }
            }
            ReportKind::Resources => {
                let Some(g) = spec.group.as_deref() else {
                    return Err(PlatformError::BadRequest(
                        "the resources report needs a resource group (group=)".to_owned(),
                    ));
                };
                let Some((cfg, _, total)) = self.resource_group(g, spec.to) else {
                    return Err(PlatformError::NotFound(format!(
                        "resource group '{g}' does not exist"
                    )));
                };
                let used = read(&format!("pool.used|{g}"), &exact(format!("pool.used|{g}")))?;
                let exits = read(&format!("pool.exit|{g}|"), &last)?;
                let aht = read(&format!("pool.aht|{g}"), &exact(format!("pool.aht|{g}")))?;
                let u = used.get("");
                let total = total as f64;
                report.push_column("in_use", column(u, &|b| b.max.or(Some(0.0))));
                let available = |b: &Bucket| {
                    Some(if cfg.locking {
                        (total - b.max.unwrap_or(0.0)).max(0.0)
                    } else {
                        total
                    })
                };
                report.push_column("available", column_or(u, &available, total));
                report.push_column("total", std::iter::repeat_n(Some(total), n));
                for how in ["match", "timeout", "cancel"] {
                    report.push_column(how, column_or(exits.get(how), &|b| Some(b.n as f64), 0.0));
                }
                let a = aht.get("");
                report.push_column("aht_seconds", column(a, &|b| secs(b.avg)));
                report.push_column("aht_max_seconds", column(a, &|b| secs(b.max)));
            }
        }
        Ok(report)
    }

    /// `[reporting]`: how long the metrics history is kept.
    pub fn reporting_settings(&self) -> reporting::Settings {
        reporting::Settings::from_section(self.config.read().section("reporting"))
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> Config {
        self.config.read().clone()
    }

    pub fn node_status(&self) -> NodeStatus {
        match self.node.load(Ordering::Relaxed) {
            0 => NodeStatus::Online,
            1 => NodeStatus::Offline,
            _ => NodeStatus::Shutdown,
        }
    }

    pub fn set_node_status(&self, status: NodeStatus) {
        let v = match status {
            NodeStatus::Online => 0,
            NodeStatus::Offline => 1,
            NodeStatus::Shutdown => 2,
        };
        self.node.store(v, Ordering::Relaxed);
    }

    /// The `[server]` settings (credentials, node id, listen address).
    pub fn server(&self) -> Arc<ServerConfig> {
        self.server.read().clone()
    }

    /// A service id: the node id and a time-ordered UUID (v7), so new records append to the
    /// store's indexes instead of landing on random pages.
    fn new_id(&self) -> String {
        let server = self.server();
        format!("{}-{}", server.node_id, uuid::Uuid::now_v7())
    }

    // ---- Admin: configuration ---------------------------------------------------------

    /// Every configured service: name → options.
    pub fn services(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.config
            .read()
            .services()
            .map(|(n, o)| (n.to_string(), o.to_vec()))
            .collect()
    }

    pub fn service_options(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.config.read().service(name).map(<[_]>::to_vec)
    }

    /// Creates or replaces `[service.<name>]` after validating it against its template.
    pub async fn put_service(
        &self,
        name: &str,
        options: Vec<(String, String)>,
    ) -> Result<(), PlatformError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(PlatformError::BadRequest(format!(
                "invalid service name '{name}': use letters, digits, '-', '_' and '.'"
            )));
        }
        if let Err(errors) = self.templates.validate_service(&options) {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Err(PlatformError::BadRequest(format!(
                "service '{name}' is invalid: {}",
                text.join("; ")
            )));
        }
        // Calendars are checked now, so a bad option is a 400 here, not a failing service later.
        let builtin = option(&options, "_service")
            .and_then(|s| self.templates.get(s))
            .map(|t| t.service.clone());
        match builtin.as_deref() {
            Some("office-hours") => {
                self.office_hours(name, &options).map_err(|e| {
                    PlatformError::BadRequest(format!("service '{name}' is invalid: {e}"))
                })?;
            }
            Some("capacity") => {
                self.capacity(&options).map_err(|e| {
                    PlatformError::BadRequest(format!("service '{name}' is invalid: {e}"))
                })?;
            }
            _ => {}
        }
        self.put_section(&format!("service.{name}"), options).await
    }

    /// The calendar of an office-hours service's options, with the office-hours services it
    /// imports (rules and schedules) read from the current configuration.
    pub fn office_hours(
        &self,
        name: &str,
        options: &[(String, String)],
    ) -> Result<crate::calendar::OfficeHours, crate::calendar::CalendarError> {
        let lookup = |name: &str| {
            let options = self.service_options(name)?;
            (self.builtin_of(name).as_deref() == Some("office-hours")).then_some(options)
        };
        crate::calendar::OfficeHours::of_service(name, options, &lookup)
    }

    /// Creates service `name` from `template` (and, optionally, one of its presets, the help's
    /// "Common Default Configuration"): the template's defaults, then the preset's values, checked
    /// and stored as [`Platform::put_service`] does. A service of that name is a `Conflict`.
    pub async fn create_service(
        &self,
        name: &str,
        template: &str,
        preset: Option<&str>,
    ) -> Result<Vec<(String, String)>, PlatformError> {
        if self.service_options(name).is_some() {
            return Err(PlatformError::Conflict(format!(
                "service '{name}' exists already"
            )));
        }
        let options = self
            .templates
            .create_service(template, preset, &[])
            .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
        self.put_service(name, options.clone()).await?;
        Ok(options)
    }

    pub async fn delete_service(&self, name: &str) -> Result<(), PlatformError> {
        self.delete_section(&format!("service.{name}"), Vec::new())
            .await
            .map_err(|e| e.unless_missing(|| format!("service '{name}' is not configured")))
    }

    /// Removes a configuration section together with `also` (in one commit); `NotFound` when
    /// the section does not exist.
    async fn delete_section(&self, section: &str, also: Vec<WriteOp>) -> Result<(), PlatformError> {
        if self.config.read().section(section).is_none() {
            return Err(PlatformError::NotFound(format!(
                "section '{section}' does not exist"
            )));
        }
        let mut ops = vec![WriteOp::DeleteSection {
            section: section.to_string(),
        }];
        ops.extend(also);
        self.store.write(ops).await?;
        self.config.write().remove_section(section);
        Ok(())
    }

    // ---- Admin: agents -------------------------------------------------------------------

    /// The `[agent.<id>]` sections, by id.
    pub fn agent_sections(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.config
            .read()
            .sections()
            .iter()
            .filter_map(|(n, o)| {
                n.strip_prefix("agent.")
                    .map(|id| (id.to_owned(), o.clone()))
            })
            .collect()
    }

    /// Validates and stores `[agent.<id>]`; returns the parsed agent.
    pub async fn put_agent(
        &self,
        id: &str,
        options: Vec<(String, String)>,
    ) -> Result<crate::agents::AgentConfig, PlatformError> {
        if id.is_empty()
            || id.len() > 128
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        {
            return Err(PlatformError::BadRequest(format!(
                "invalid agent id '{id}': use 1 to 128 letters, digits, '-', '_', '.' and '@'"
            )));
        }
        let config = crate::agents::AgentConfig::from_options(id, &options)
            .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
        self.put_section(&format!("agent.{id}"), options).await?;
        Ok(config)
    }

    pub async fn delete_agent(&self, id: &str) -> Result<(), PlatformError> {
        self.delete_section(&format!("agent.{id}"), Vec::new())
            .await
            .map_err(|e| e.unless_missing(|| format!("agent '{id}' is not configured")))
    }

    /// The builtin a configured service runs (`urs-stat`, `get`, ...), if it is builtin.
    pub fn builtin_of(&self, name: &str) -> Option<String> {
        let options = self.service_options(name)?;
        if option(&options, "_type").unwrap_or("builtin") != "builtin" {
            return None;
        }
        let service = option(&options, "_service").unwrap_or("");
        Some(match self.templates.get(service) {
            Some(t) => t.service.clone(),
            None => service.to_string(),
        })
    }

    /// A non-service section (`server`, `callback`, `push`, ...).
    pub fn section(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.config.read().section(name).map(<[_]>::to_vec)
    }

    /// Replaces a non-service configuration section.
    pub async fn put_config_section(
        &self,
        name: &str,
        options: Vec<(String, String)>,
    ) -> Result<(), PlatformError> {
        if name.starts_with("service.")
            || name.starts_with("resources.")
            || name.starts_with("patterns.")
            || name.starts_with("agent.")
        {
            return Err(PlatformError::BadRequest(format!(
                "section '{name}' is managed through its own admin API"
            )));
        }
        for (k, _) in &options {
            // Non-service sections also hold GMS's dotted and hyphenated option names.
            let plain = k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if k.is_empty() || !(plain || is_ecmascript_identifier(k)) {
                return Err(PlatformError::BadRequest(format!(
                    "invalid option name '{k}'"
                )));
            }
        }
        if name == "cview" {
            crate::cs::settings::Settings::check(&options).map_err(PlatformError::BadRequest)?;
        }
        self.put_section(name, options).await
    }

    async fn put_section(
        &self,
        section: &str,
        options: Vec<(String, String)>,
    ) -> Result<(), PlatformError> {
        // Check the section is representable before anything is written.
        let mut candidate = self.config.read().clone();
        candidate
            .set_section(section, options.clone())
            .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
        self.store
            .write(vec![WriteOp::PutSection {
                section: section.to_string(),
                options: options.clone(),
            }])
            .await?;
        let mut config = self.config.write();
        let _ = config.set_section(section, options);
        if section == "server" {
            *self.server.write() = Arc::new(config.server());
        }
        if section == "server" || section == "cview" || section.starts_with("business-attribute") {
            self.cs.configure(&config);
        }
        Ok(())
    }

    // ---- Admin: resource groups and pattern groups -----------------------------------

    /// A resource group's configuration and `(available, total)` numbers.
    pub fn resource_group(&self, group: &str, now: Millis) -> Option<(GroupConfig, usize, usize)> {
        let pool = self.resources.lock();
        let cfg = pool.group(group)?.clone();
        let (available, total) = pool.counts(group, now)?;
        Some((cfg, available, total))
    }

    pub async fn put_resource_group(
        &self,
        group: &str,
        options: Vec<(String, String)>,
    ) -> Result<(), PlatformError> {
        let cfg = group_config(group, &options)?;
        self.put_section(&format!("resources.{group}"), options)
            .await?;
        self.resources.lock().configure(group, cfg);
        Ok(())
    }

    pub async fn delete_resource_group(&self, group: &str) -> Result<(), PlatformError> {
        let section = format!("resources.{group}");
        if self.config.read().section(&section).is_none() {
            return Err(PlatformError::NotFound(format!(
                "resource group '{group}' does not exist"
            )));
        }
        let bookings = self.resources.lock().remove(group).unwrap_or_default();
        let ops = bookings
            .into_iter()
            .map(|b| WriteOp::DeleteBooking {
                group: b.group,
                number: b.number,
                service_id: b.service_id,
            })
            .collect();
        self.delete_section(&section, ops).await
    }

    /// The names of the configuration sections `<prefix>.<name>` (resource groups with
    /// `resources`, pattern groups with `patterns`), in order.
    pub fn section_names(&self, prefix: &str) -> Vec<String> {
        let dotted = format!("{prefix}.");
        let mut names: Vec<String> = self
            .config
            .read()
            .sections()
            .iter()
            .filter_map(|(name, _)| name.strip_prefix(&dotted).map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    pub fn pattern_group(&self, group: &str) -> Option<Vec<(String, String)>> {
        self.config
            .read()
            .section(&format!("patterns.{group}"))
            .map(<[_]>::to_vec)
    }

    pub async fn put_pattern_group(
        &self,
        group: &str,
        options: Vec<(String, String)>,
    ) -> Result<(), PlatformError> {
        if let Err(errors) = crate::patterns::PatternGroup::compile(&options) {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Err(PlatformError::BadRequest(text.join("; ")));
        }
        self.put_section(&format!("patterns.{group}"), options)
            .await?;
        self.recompile_patterns();
        Ok(())
    }

    pub async fn delete_pattern_group(&self, group: &str) -> Result<(), PlatformError> {
        self.delete_section(&format!("patterns.{group}"), Vec::new())
            .await
            .map_err(|e| e.unless_missing(|| format!("pattern group '{group}' does not exist")))?;
        self.recompile_patterns();
        Ok(())
    }

    fn recompile_patterns(&self) {
        let (patterns, _) = PatternGroups::compile(self.config.read().pattern_groups());
        *self.patterns.write() = patterns;
    }

    /// Pattern Matcher API: the parameters whose value matches a pattern (of one group, or
    /// of any group).
    pub fn match_patterns(
        &self,
        group: Option<&str>,
        params: &[(String, String)],
    ) -> Result<Vec<(String, String)>, PlatformError> {
        let patterns = self.patterns.read();
        match group {
            None => Ok(patterns.match_params(params)),
            Some(g) => patterns
                .group(g)
                .map(|grp| grp.match_params(params))
                .ok_or_else(|| {
                    PlatformError::NotFound(format!("pattern group '{g}' does not exist"))
                }),
        }
    }

    // ---- Admin: templates ---------------------------------------------------------------

    pub async fn upload_template(&self, name: &str, zip: Vec<u8>) -> Result<(), PlatformError> {
        self.templates
            .add_zip(name, &zip)
            .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
        self.store
            .write(vec![WriteOp::PutTemplate {
                name: name.to_string(),
                zip,
            }])
            .await?;
        Ok(())
    }

    pub async fn delete_template(&self, name: &str) -> Result<(), PlatformError> {
        self.templates.remove(name).map_err(|e| match e {
            crate::templates::TemplateError::UnknownTemplate(_) => {
                PlatformError::NotFound(e.to_string())
            }
            other => PlatformError::BadRequest(other.to_string()),
        })?;
        self.store
            .write(vec![WriteOp::DeleteTemplate {
                name: name.to_string(),
            }])
            .await?;
        Ok(())
    }

    // ---- Service API ----------------------------------------------------------------------

    /// `POST /genesys/1/service/{name}`: runs the configured service.
    pub async fn call_service(
        &self,
        name: &str,
        params: &[(String, String)],
        gms_user: Option<&str>,
        now: Millis,
    ) -> Result<Reply, PlatformError> {
        let options = self.service_options(name).ok_or_else(|| {
            PlatformError::NotFound(format!("service '{name}' is not configured"))
        })?;
        let opt = |k: &str| option(&options, k);
        let kind = opt("_type").unwrap_or("builtin").to_string();
        // `_service` names a template; the template says which builtin implements it (an
        // uploaded template may reuse one: `"service": "get"`).
        let service = opt("_service").unwrap_or("");
        let builtin = match self.templates.get(service) {
            Some(t) if kind == "builtin" => t.service.clone(),
            _ => service.to_string(),
        };
        if kind != "builtin" {
            return Err(PlatformError::NotImplemented(format!(
                "service '{name}' is an ORS service ('{builtin}'); SCXML services are not served yet"
            )));
        }
        let template = self.templates.get(service);
        let resolved = Resolved::new(&options, params, template.as_deref());
        let param = |k: &str| resolved.param(k);
        // The service's own value wins over the request's unless `_overwritable_options` says
        // otherwise; the template's default fills what neither gives.
        let value = |k: &str| resolved.get(k);
        match builtin.as_str() {
            "get" => Ok(self.get_service(&options)),
            "basic_get" => basic_get(&options),
            "request-interaction" => {
                let group = value("_resource_group").unwrap_or("DNIS").to_string();
                let id = self.new_id();
                let ttl = value("_ttl")
                    .and_then(|t| t.parse::<i64>().ok())
                    .filter(|t| *t > 0)
                    .unwrap_or(DEFAULT_SERVICE_TTL_SECS);
                let record = ServiceRecord {
                    id: id.clone(),
                    service: name.to_string(),
                    created_at: now,
                    expires_at: Some(now.saturating_add(ttl.saturating_mul(1000))),
                    gms_user: gms_user.map(String::from),
                    data: params.iter().cloned().collect(),
                };
                let req = BookRequest {
                    group,
                    service_id: id,
                    phone_number: value("_phone_number").map(String::from),
                    provide_code: truthy(value("_provide_code")),
                    code_length: value("_access_code_length").map(String::from),
                    timeout: value("_booking_expiration_timeout").map(String::from),
                };
                self.book(Some(record), req, now).await
            }
            "request-access" => {
                let id = param("_id").ok_or_else(|| {
                    PlatformError::BadRequest("request-access needs the '_id' of a service".into())
                })?;
                match self.store.service(id)? {
                    Some(r) if r.expires_at.is_none_or(|e| e > now) => {}
                    _ => {
                        return Err(PlatformError::NotFound(format!(
                            "service '{id}' does not exist or has ended"
                        )))
                    }
                }
                let group = value("_resource_group").ok_or_else(|| {
                    PlatformError::BadRequest(
                        "request-access needs '_resource_group' (a resource group name)".into(),
                    )
                })?;
                let req = BookRequest {
                    group: group.to_string(),
                    service_id: id.to_string(),
                    phone_number: value("_phone_number").map(String::from),
                    provide_code: truthy(value("_provide_code")),
                    code_length: value("_access_code_length").map(String::from),
                    timeout: value("_booking_expiration_timeout").map(String::from),
                };
                self.book(None, req, now).await
            }
            "match-interaction" => {
                let number = param("_access_number").ok_or_else(|| {
                    PlatformError::BadRequest(
                        "match-interaction needs '_access_number' (the number called)".into(),
                    )
                })?;
                let req = MatchRequest {
                    access_number: number.to_string(),
                    phone_number: param("_phone_number").map(String::from),
                    access_code: param("_access_code").map(String::from),
                };
                self.match_interaction(
                    req,
                    // `_return_data` is the help's spelling, `_return_user_data` GMS's.
                    truthy(value("_return_user_data")) || truthy(value("_return_data")),
                    truthy(value("_return_multiple_matches")),
                    truthy(value("_delete_service")),
                    now,
                )
                .await
            }
            "office-hours" => {
                let hours = self.office_hours(name, &options).map_err(|e| {
                    PlatformError::Unavailable(format!("service '{name}' is misconfigured: {e}"))
                })?;
                let reply = hours
                    .query(
                        utc(now)?,
                        param("start"),
                        param("end"),
                        param("number-of-days"),
                    )
                    .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
                json_reply(&reply)
            }
            "capacity" => {
                let capacity = self.capacity(&options).map_err(|e| {
                    PlatformError::Unavailable(format!("service '{name}' is misconfigured: {e}"))
                })?;
                let reply = capacity
                    .query(utc(now)?, param("start"), param("end"), param("timezone"))
                    .map_err(|e| PlatformError::BadRequest(e.to_string()))?;
                json_reply(&reply)
            }
            // urs-stat is answered by the routing actor (the web layer sends it there).
            "urs-stat" | "request-chat" => Err(PlatformError::NotImplemented(format!(
                "the '{builtin}' builtin service is not served yet"
            ))),
            other => Err(PlatformError::BadRequest(format!(
                "service '{name}' names an unknown builtin '{other}'"
            ))),
        }
    }

    /// The calendar of the capacity service `name` (`_capacity_service` of a callback service).
    pub fn capacity_of(&self, name: &str) -> Result<crate::capacity::Capacity, PlatformError> {
        let options = self
            .service_options(name)
            .filter(|_| self.builtin_of(name).as_deref() == Some("capacity"))
            .ok_or_else(|| {
                PlatformError::Unavailable(format!("'{name}' is not a configured capacity service"))
            })?;
        self.capacity(&options).map_err(|e| {
            PlatformError::Unavailable(format!("service '{name}' is misconfigured: {e}"))
        })
    }

    /// A capacity service's calendar; `[capacity] _max_capacity` bounds every value.
    fn capacity(
        &self,
        options: &[(String, String)],
    ) -> Result<crate::capacity::Capacity, crate::capacity::CapacityError> {
        let mut opts = options.to_vec();
        if let Some(max) = self.config.read().get("capacity", "_max_capacity") {
            opts.push(("_max_capacity".to_string(), max.to_string()));
        }
        crate::capacity::Capacity::from_options(&opts)
    }

    fn get_service(&self, options: &[(String, String)]) -> Reply {
        let code = |k: &str, d: u16| {
            option(options, k)
                .and_then(|v| v.trim().parse::<u16>().ok())
                .filter(|c| (100..600).contains(c))
                .unwrap_or(d)
        };
        let status = match self.node_status() {
            NodeStatus::Online => code("_online_code", 200),
            NodeStatus::Offline | NodeStatus::Shutdown => code("_offline_code", 503),
        };
        Reply {
            status,
            fields: custom_options(options),
        }
    }

    /// Books an access number for `req.service_id` (a user-originated callback's session),
    /// durable before it returns.
    pub async fn book_access(
        &self,
        req: BookRequest,
        now: Millis,
    ) -> Result<Booking, PlatformError> {
        self.book_durably(None, req, now).await
    }

    async fn book(
        &self,
        record: Option<ServiceRecord>,
        req: BookRequest,
        now: Millis,
    ) -> Result<Reply, PlatformError> {
        let booking = self.book_durably(record, req, now).await?;
        let mut fields = vec![
            ("_id".to_string(), s(booking.service_id.clone())),
            ("_access_number".to_string(), s(booking.number.clone())),
        ];
        if let Some(code) = &booking.access_code {
            fields.push(("_access_code".to_string(), s(code.clone())));
        }
        fields.push((
            "_expiration_time".to_string(),
            Field::Int((booking.expires_at - now).max(0) / 1000),
        ));
        Ok(Reply::ok(fields))
    }

    async fn book_durably(
        &self,
        record: Option<ServiceRecord>,
        req: BookRequest,
        now: Millis,
    ) -> Result<Booking, PlatformError> {
        let booking = {
            let mut pool = self.resources.lock();
            // Bookings past their time end as timeouts before the group is looked at.
            let expired = pool.expire(now);
            self.note_bookings(&pool, &expired, "timeout", now);
            let mut rng = self.rng.lock();
            let booked = pool.book(&req, now, &mut *rng);
            if let Ok(b) = &booked {
                note_usage(&mut self.recorder.lock(), &pool, &b.group, now);
            }
            booked.map_err(|e| match e {
                ResourceError::UnknownGroup(_) => PlatformError::BadRequest(e.to_string()),
                ResourceError::BadCodeLength(_) => PlatformError::BadRequest(e.to_string()),
                ResourceError::EmptyGroup(_)
                | ResourceError::NoneAvailable(_)
                | ResourceError::CodesExhausted { .. } => PlatformError::Unavailable(e.to_string()),
            })?
        };
        let mut ops = Vec::with_capacity(2);
        if let Some(r) = record {
            ops.push(WriteOp::PutService(r));
        }
        ops.push(WriteOp::PutBooking(booking.clone()));
        if let Err(e) = self.store.write(ops).await {
            // Not durable: the booking must not stay handed out.
            let mut pool = self.resources.lock();
            pool.release(&booking.service_id);
            note_usage(&mut self.recorder.lock(), &pool, &booking.group, now);
            return Err(e.into());
        }
        Ok(booking)
    }

    async fn match_interaction(
        &self,
        req: MatchRequest,
        return_user_data: bool,
        multiple: bool,
        delete_service: bool,
        now: Millis,
    ) -> Result<Reply, PlatformError> {
        // Find and release under one lock: two calls can never match the same booking.
        let matched: Vec<Booking> = {
            let mut pool = self.resources.lock();
            let found = pool.find(&req, now);
            let chosen: Vec<Booking> = if multiple {
                found
            } else {
                found.into_iter().take(1).collect()
            };
            for b in &chosen {
                pool.release(&b.service_id);
            }
            self.note_bookings(&pool, &chosen, "match", now);
            chosen
        };
        if matched.is_empty() {
            return Err(PlatformError::NotFound(format!(
                "no service matches access number {}{}",
                req.access_number,
                match (&req.access_code, &req.phone_number) {
                    (Some(c), _) => format!(" with access code {c}"),
                    (None, Some(p)) => format!(" from {p}"),
                    _ => String::new(),
                }
            )));
        }
        let mut ops = Vec::new();
        let mut results = Vec::new();
        for b in &matched {
            ops.push(WriteOp::DeleteBooking {
                group: b.group.clone(),
                number: b.number.clone(),
                service_id: b.service_id.clone(),
            });
            let mut fields = vec![
                ("_id".to_string(), s(b.service_id.clone())),
                ("_data_id".to_string(), s(b.service_id.clone())),
            ];
            if return_user_data {
                let data = self
                    .store
                    .service(&b.service_id)?
                    .map(|r| user_data(&r.data))
                    .unwrap_or_default();
                fields.push(("user_data".to_string(), Field::Map(data)));
            }
            if delete_service {
                ops.push(WriteOp::DeleteService {
                    id: b.service_id.clone(),
                });
            }
            results.push(fields);
        }
        self.store.write(ops).await?;
        if multiple {
            Ok(Reply::ok(vec![(
                "matches".to_string(),
                Field::List(results.into_iter().map(Field::Map).collect()),
            )]))
        } else {
            Ok(Reply::ok(results.into_iter().next().unwrap_or_default()))
        }
    }

    /// Matches an inbound call to the session that booked its access number (DNIS + ANI, as
    /// match-interaction does), releasing the booking. `None` when nothing matches.
    pub async fn match_call(
        &self,
        dnis: &str,
        ani: &str,
        now: Millis,
    ) -> Result<Option<MatchedCall>, PlatformError> {
        let req = MatchRequest {
            access_number: dnis.to_string(),
            phone_number: Some(ani.to_string()),
            access_code: None,
        };
        let reply = match self.match_interaction(req, true, false, false, now).await {
            Ok(r) => r,
            Err(PlatformError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut id = None;
        let mut data = Vec::new();
        for (k, v) in reply.fields {
            match (k.as_str(), v) {
                ("_id", Field::Str(s)) => id = Some(s),
                ("user_data", Field::Map(m)) => {
                    data = m
                        .into_iter()
                        .filter_map(|(k, v)| match v {
                            Field::Str(s) => Some((k, s)),
                            _ => None,
                        })
                        .collect();
                }
                _ => {}
            }
        }
        Ok(id.map(|service_id| MatchedCall { service_id, data }))
    }

    /// `GET /genesys/1/service/{id}`: a service instance's record.
    pub fn service_record(&self, id: &str, now: Millis) -> Result<ServiceRecord, PlatformError> {
        self.store
            .service(id)?
            .filter(|r| r.expires_at.is_none_or(|e| e > now))
            .ok_or_else(|| {
                PlatformError::NotFound(format!("service instance '{id}' does not exist"))
            })
    }

    /// `DELETE /genesys/1/service/{id}`: ends a service instance and releases its resources.
    pub async fn delete_service_record(&self, id: &str, now: Millis) -> Result<(), PlatformError> {
        self.service_record(id, now)?;
        let released = {
            let mut pool = self.resources.lock();
            let released = pool.release(id);
            self.note_bookings(&pool, &released, "cancel", now);
            released
        };
        let mut ops: Vec<WriteOp> = released
            .into_iter()
            .map(|b| WriteOp::DeleteBooking {
                group: b.group,
                number: b.number,
                service_id: b.service_id,
            })
            .collect();
        ops.push(WriteOp::DeleteService { id: id.to_string() });
        ops.push(WriteOp::DeleteStorage { id: id.to_string() });
        self.store.write(ops).await?;
        Ok(())
    }

    // ---- Storage API ----------------------------------------------------------------------

    /// Creates a storage record; returns its id.
    pub async fn create_storage(
        &self,
        custom_id: Option<&str>,
        ttl: i64,
        values: BTreeMap<String, StorageValue>,
        owner: Option<&str>,
        now: Millis,
    ) -> Result<String, PlatformError> {
        let id = match custom_id {
            Some(c) => {
                if owner.is_none() {
                    return Err(PlatformError::BadRequest(
                        "a storage record with a custom id needs the gms_user header".into(),
                    ));
                }
                if c.is_empty()
                    || c.len() > 128
                    || !c
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
                {
                    return Err(PlatformError::BadRequest(format!(
                        "invalid storage id '{c}': use up to 128 letters, digits, '-', '_' and '.'"
                    )));
                }
                if let Some(existing) = self.store.storage(c, now)? {
                    if existing.owner.as_deref() != owner {
                        return Err(PlatformError::Forbidden(format!(
                            "storage '{c}' belongs to another gms_user"
                        )));
                    }
                }
                c.to_string()
            }
            // Time-ordered, like service ids, so inserts append.
            None => uuid::Uuid::now_v7().simple().to_string(),
        };
        let mut ops = Vec::with_capacity(2);
        if self.store.storage(&id, now)?.is_none() {
            // An expired record not purged yet must not lend its old keys to the new one.
            ops.push(WriteOp::DeleteStorage { id: id.clone() });
        }
        ops.push(WriteOp::PutStorage {
            id: id.clone(),
            owner: owner.map(String::from),
            expires_at: now.saturating_add(ttl.saturating_mul(1000)),
            values,
        });
        self.store.write(ops).await?;
        Ok(id)
    }

    /// Adds or replaces values of an existing record and resets its TTL.
    pub async fn update_storage(
        &self,
        id: &str,
        ttl: i64,
        values: BTreeMap<String, StorageValue>,
        requester: Option<&str>,
        now: Millis,
    ) -> Result<(), PlatformError> {
        let existing = self.storage(id, requester, now)?;
        self.store
            .write(vec![WriteOp::PutStorage {
                id: id.to_string(),
                owner: existing.owner,
                expires_at: now.saturating_add(ttl.saturating_mul(1000)),
                values,
            }])
            .await?;
        Ok(())
    }

    /// Reads a record; a record created with a `gms_user` is readable by that user only.
    pub fn storage(
        &self,
        id: &str,
        requester: Option<&str>,
        now: Millis,
    ) -> Result<StorageRecord, PlatformError> {
        let record = self
            .store
            .storage(id, now)?
            .ok_or_else(|| PlatformError::NotFound(format!("storage '{id}' does not exist")))?;
        match (&record.owner, requester) {
            (Some(owner), Some(r)) if owner != r => Err(PlatformError::Forbidden(format!(
                "storage '{id}' belongs to another gms_user"
            ))),
            (Some(_), None) => Err(PlatformError::Forbidden(format!(
                "storage '{id}' needs the gms_user header of its owner"
            ))),
            _ => Ok(record),
        }
    }

    pub async fn delete_storage(
        &self,
        id: &str,
        key: Option<&str>,
        requester: Option<&str>,
        now: Millis,
    ) -> Result<(), PlatformError> {
        let record = self.storage(id, requester, now)?;
        let op = match key {
            None => WriteOp::DeleteStorage { id: id.to_string() },
            Some(k) => {
                if !record.values.contains_key(k) {
                    return Err(PlatformError::NotFound(format!(
                        "storage '{id}' has no key '{k}'"
                    )));
                }
                WriteOp::DeleteStorageKey {
                    id: id.to_string(),
                    key: k.to_string(),
                }
            }
        };
        self.store.write(vec![op]).await?;
        Ok(())
    }

    /// A service's own storage: created on first write, living as long as the service.
    pub async fn put_service_storage(
        &self,
        service_id: &str,
        values: BTreeMap<String, StorageValue>,
        now: Millis,
    ) -> Result<(), PlatformError> {
        let record = self.service_record(service_id, now)?;
        let expires_at = record
            .expires_at
            .unwrap_or(now.saturating_add(DEFAULT_SERVICE_TTL_SECS * 1000));
        let mut ops = Vec::with_capacity(2);
        if self.store.storage(service_id, now)?.is_none() {
            ops.push(WriteOp::DeleteStorage {
                id: service_id.to_string(),
            });
        }
        ops.push(WriteOp::PutStorage {
            id: service_id.to_string(),
            owner: None,
            expires_at,
            values,
        });
        self.store.write(ops).await?;
        Ok(())
    }

    /// Removes everything expired: bookings from the pool, and records from the store. The
    /// same write stores the metrics history's closed minutes and, once an hour, forgets the
    /// history past `[reporting] metrics-retention-days` (one commit per round, not three).
    pub async fn purge_expired(&self, now: Millis) -> Result<(), PlatformError> {
        {
            let mut pool = self.resources.lock();
            let expired = pool.expire(now);
            self.note_bookings(&pool, &expired, "timeout", now);
        }
        let (rows, through) = self.recorder.lock().take(now);
        let mut ops = vec![WriteOp::PurgeExpired { now }];
        if !rows.is_empty() {
            ops.push(WriteOp::PutMetrics(rows));
        }
        if now >= self.metrics_purge_due.load(Ordering::Relaxed) {
            self.metrics_purge_due
                .store(now + 3_600_000, Ordering::Relaxed);
            let days = self.reporting_settings().retention_days;
            ops.push(WriteOp::PurgeMetrics {
                before: now - days * 86_400_000,
            });
        }
        self.write_metrics(ops, through).await
    }
}

/// A resource group's numbers in use now, for the metrics history.
fn note_usage(rec: &mut Recorder, pool: &ResourcePool, group: &str, now: Millis) {
    rec.set_level(
        now,
        &format!("pool.used|{group}"),
        pool.in_use(group) as f64,
    );
}

fn utc(now: Millis) -> Result<chrono::DateTime<chrono::Utc>, PlatformError> {
    chrono::DateTime::from_timestamp_millis(now)
        .ok_or_else(|| PlatformError::BadRequest(format!("time {now} is out of range")))
}

fn field_of(v: serde_json::Value) -> Field {
    match v {
        serde_json::Value::Null => Field::Null,
        serde_json::Value::Bool(b) => Field::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Field::Int(i),
            None => Field::Str(n.to_string()),
        },
        serde_json::Value::String(s) => Field::Str(s),
        serde_json::Value::Array(items) => Field::List(items.into_iter().map(field_of).collect()),
        serde_json::Value::Object(map) => {
            Field::Map(map.into_iter().map(|(k, v)| (k, field_of(v))).collect())
        }
    }
}

/// A 200 reply with the fields of a serialisable answer (calendars).
fn json_reply(answer: &impl serde::Serialize) -> Result<Reply, PlatformError> {
    match serde_json::to_value(answer) {
        Ok(serde_json::Value::Object(map)) => Ok(Reply::ok(
            map.into_iter().map(|(k, v)| (k, field_of(v))).collect(),
        )),
        Ok(_) | Err(_) => Err(PlatformError::Unavailable(
            "the calendar answer could not be encoded".into(),
        )),
    }
}

/// Options that hold credentials: never part of a reply.
const SECRET_OPTIONS: [&str; 2] = ["username", "password"];

/// Options without a leading underscore (credentials excepted): the values a get service
/// echoes.
fn custom_options(options: &[(String, String)]) -> Vec<(String, Field)> {
    options
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && !SECRET_OPTIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), s(v.clone())))
        .collect()
}

/// Parameters without a leading underscore: a service's user data.
fn user_data(data: &BTreeMap<String, String>) -> Vec<(String, Field)> {
    data.iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), s(v.clone())))
        .collect()
}

/// The basic_get builtin: answers with the `result` status; with 200, the custom options.
fn basic_get(options: &[(String, String)]) -> Result<Reply, PlatformError> {
    let result = option(options, "result")
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "200".into());
    let status = result
        .parse::<u16>()
        .ok()
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| {
            PlatformError::BadRequest(format!(
                "basic_get option 'result' must be an HTTP status code, not '{result}'"
            ))
        })?;
    let fields = if status == 200 {
        custom_options(options)
    } else {
        Vec::new()
    };
    Ok(Reply { status, fields })
}
