//! The center's settings, read from configuration: `[routing]`, `[vq.<name>]`, `[telephony]`,
//! `[demo]` and the `[agent.<id>]` sections.

use engine::agents::{AgentConfig, DEFAULT_RESERVE_TIMEOUT_MS};
use engine::config::{option, Config};
use engine::queue::{EwtConfig, EwtMethod, DEFAULT_ALPHA};
use engine::routing::plan::TargetList;
use engine::store::Millis;
use engine::telephony::DialRules;

/// A configuration problem, naming the section and option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{section}] {option}: {message}")]
pub struct SettingsError {
    pub section: String,
    pub option: String,
    pub message: String,
}

fn err(section: &str, option: &str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        section: section.to_owned(),
        option: option.to_owned(),
        message: message.into(),
    }
}

/// Routing and telephony settings.
#[derive(Debug, Clone)]
pub struct CenterSettings {
    /// The virtual queue and targets of inbound calls that match no session.
    pub inbound_queue: String,
    pub inbound_targets: TargetList,
    /// `inbound_target` as written (strategies get it as text).
    pub inbound_target_text: String,
    /// The strategy that takes a new inbound call or chat: `(number pattern, document)` pairs
    /// from `strategy.<number> = <document>` (a pattern is a number, a prefix ending in `*`, or
    /// `*`), tried in order, then `default_strategy` (`inbound_strategy`, by default the
    /// `default-inbound` template).
    pub strategies: Vec<(String, String)>,
    pub default_strategy: String,
    /// What an inbound caller hears while queued.
    pub inbound_treatment: String,
    pub reserve_timeout_ms: Millis,
    pub reject_retry_ms: Millis,
    /// Wrap-up after an interaction is completed.
    pub after_call_work_ms: Millis,
    /// The estimator of queues without a `[vq.<name>]` section.
    pub default_ewt: EwtConfig,
    pub queues: Vec<(String, EwtConfig)>,
    pub dial_rules: DialRules,
}

/// The demo automation (`ringback serve --demo`).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSettings {
    /// Inbound calls per minute (Poisson arrivals); 0 stops the generator.
    pub calls_per_minute: f64,
    /// How long a demo agent takes to accept an offer.
    pub accept_after_ms: Millis,
    /// Mean and log-normal spread (σ) of talk time.
    pub talk_mean_ms: Millis,
    pub talk_sigma: f64,
    pub wrap_up_ms: Millis,
    /// The number demo calls dial in to.
    pub dnis: String,
    pub seed: u64,
}

/// An optional number in `lo..=hi` (empty or absent: `default`). `unit` goes into the message
/// (" of seconds").
fn number(
    section: &str,
    opts: &[(String, String)],
    key: &str,
    default: f64,
    (lo, hi): (f64, f64),
    unit: &str,
) -> Result<f64, SettingsError> {
    match option(opts, key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => match v.parse::<f64>() {
            Ok(n) if n.is_finite() && (lo..=hi).contains(&n) => Ok(n),
            _ => Err(err(
                section,
                key,
                format!("'{v}' is not a number{unit} from {lo} to {hi}"),
            )),
        },
    }
}

fn secs(
    section: &str,
    opts: &[(String, String)],
    key: &str,
    default: Millis,
) -> Result<Millis, SettingsError> {
    let default = default as f64 / 1000.0;
    let s = number(section, opts, key, default, (0.0, 86_400.0), " of seconds")?;
    Ok((s * 1000.0).round() as Millis)
}

/// Reads an estimator from `ewt_method` (`urs`, `aht`, `ema`), `handle_time` and `alpha`.
fn ewt(
    section: &str,
    opts: &[(String, String)],
    base: EwtConfig,
) -> Result<EwtConfig, SettingsError> {
    let mut cfg = base;
    if let Some(m) = option(opts, "ewt_method")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        cfg.method = match m.to_ascii_lowercase().as_str() {
            "urs" | "routing" | "default" => EwtMethod::RoutingDefault,
            "aht" | "urs2" | "handle_time" => EwtMethod::HandleTime,
            "ema" | "moving_average" => EwtMethod::MovingAverage,
            _ => {
                return Err(err(
                    section,
                    "ewt_method",
                    format!("'{m}' is not one of urs, aht, ema"),
                ))
            }
        };
    }
    if let Some(v) = option(opts, "handle_time")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        let aht: f64 = v.parse().map_err(|_| {
            err(
                section,
                "handle_time",
                format!("'{v}' is not a number of seconds"),
            )
        })?;
        cfg.handle_time_secs = Some(aht);
    }
    if let Some(v) = option(opts, "alpha")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        cfg.alpha = v
            .parse()
            .map_err(|_| err(section, "alpha", format!("'{v}' is not a number")))?;
    }
    cfg.validate().map_err(|m| err(section, "ewt_method", m))?;
    Ok(cfg)
}

impl CenterSettings {
    pub fn from_config(config: &Config) -> Result<CenterSettings, SettingsError> {
        let empty: Vec<(String, String)> = Vec::new();
        let r = config.section("routing").unwrap_or(&empty);
        let target = option(r, "inbound_target").unwrap_or("Agents@StatServer.GA");
        let inbound_targets = TargetList::parse(target)
            .map_err(|e| err("routing", "inbound_target", e.to_string()))?;
        let default_ewt = ewt(
            "routing",
            r,
            EwtConfig {
                method: EwtMethod::RoutingDefault,
                handle_time_secs: None,
                alpha: DEFAULT_ALPHA,
            },
        )?;
        let mut queues = Vec::new();
        for (name, opts) in config.sections() {
            if let Some(vq) = name.strip_prefix("vq.") {
                queues.push((vq.to_owned(), ewt(name, opts, default_ewt)?));
            }
        }
        let t = config.section("telephony").unwrap_or(&empty);
        let dial_rules = match option(t, "dial_rules")
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => DialRules::default(),
            Some(json) => DialRules::from_json(json)
                .map_err(|e| err("telephony", "dial_rules", e.to_string()))?,
        };
        let strategies = r
            .iter()
            .filter_map(|(k, v)| {
                let pattern = k.strip_prefix("strategy.")?.trim();
                let doc = v.trim();
                (!pattern.is_empty() && !doc.is_empty())
                    .then(|| (pattern.to_owned(), doc.to_owned()))
            })
            .collect();
        let default_strategy = option(r, "inbound_strategy")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or("default-inbound")
            .to_owned();
        Ok(CenterSettings {
            inbound_target_text: target.trim().to_owned(),
            strategies,
            default_strategy,
            inbound_queue: option(r, "inbound_queue")
                .unwrap_or("Inbound")
                .trim()
                .to_owned(),
            inbound_targets,
            inbound_treatment: option(r, "inbound_treatment")
                .unwrap_or("music")
                .trim()
                .to_owned(),
            reserve_timeout_ms: secs("routing", r, "reserve_timeout", DEFAULT_RESERVE_TIMEOUT_MS)?
                .max(1),
            reject_retry_ms: secs("routing", r, "reject_retry", 0)?,
            after_call_work_ms: secs("routing", r, "after_call_work", 0)?,
            default_ewt,
            queues,
            dial_rules,
        })
    }
}

impl CenterSettings {
    /// The strategy document for a call to `dnis`.
    pub fn strategy_for(&self, dnis: &str) -> &str {
        self.strategies
            .iter()
            .find(|(p, _)| match p.strip_suffix('*') {
                Some(prefix) => dnis.starts_with(prefix),
                None => p == dnis,
            })
            .map_or(self.default_strategy.as_str(), |(_, d)| d.as_str())
    }
}

impl DemoSettings {
    pub fn from_config(config: &Config) -> Result<DemoSettings, SettingsError> {
        let empty: Vec<(String, String)> = Vec::new();
        let d = config.section("demo").unwrap_or(&empty);
        let calls_per_minute = number("demo", d, "calls_per_minute", 12.0, (0.0, 600_000.0), "")?;
        let talk_sigma = number("demo", d, "talk_sigma", 0.5, (0.0, 3.0), "")?;
        let seed = match option(d, "seed").map(str::trim) {
            None | Some("") => 1,
            Some(v) => v
                .parse()
                .map_err(|_| err("demo", "seed", format!("'{v}' is not a whole number")))?,
        };
        Ok(DemoSettings {
            calls_per_minute,
            accept_after_ms: secs("demo", d, "accept_after", 2_000)?,
            talk_mean_ms: secs("demo", d, "talk_time", 30_000)?,
            talk_sigma,
            wrap_up_ms: secs("demo", d, "wrap_up", 3_000)?,
            dnis: option(d, "dnis").unwrap_or("8000").trim().to_owned(),
            seed,
        })
    }
}

/// The `[agent.<id>]` sections; a bad one is reported and skipped, so one typo does not stop
/// the center.
pub fn agents_from_config(config: &Config) -> (Vec<AgentConfig>, Vec<String>) {
    let mut agents = Vec::new();
    let mut problems = Vec::new();
    for (name, opts) in config.sections() {
        if let Some(id) = name.strip_prefix("agent.") {
            match AgentConfig::from_options(id, opts) {
                Ok(a) => agents.push(a),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    (agents, problems)
}
