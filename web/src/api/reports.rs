//! Tools > Metrics: the metrics history (`engine::reporting`) as reports, under
//! `/genesys/1/admin/metrics` (behind `[features] enable-metrics`, read with the role that reads
//! configuration, narrowed to the services the user sees).
//!
//! - `GET /genesys/1/admin/metrics`: what can be reported — the reports, rollups, the services
//!   the user sees (with their media), the resource groups, and how long history is kept.
//! - `GET /genesys/1/admin/metrics/{report}` with `start`, `end` (ms or ISO 8601; local times on
//!   the clock of `timezone`; default the last 24 hours), `rollup` (`1m`, `15m`, `30m`, `1h`,
//!   `1d`; default `15m`), `timezone` (default `UTC`), `service` (repeatable; default every
//!   service the user sees), `media` (`voice` or `chat`, for the hold time), `group` (the
//!   resources report), `format=csv`: JSON `{report, rollup, start, end, timezone, columns,
//!   rows}` or CSV (`text/csv`, a download).

use actix_web::web::{self, Path};
use actix_web::{HttpRequest, HttpResponse};
use engine::platform::ReportSpec;
use engine::reporting::{self, ReportKind, Rollup};
use serde_json::{json, Value};

use super::error::ApiError;
use super::routes::{authenticate, resource, State, Visible};

const DAY_MS: i64 = 86_400_000;

/// The media of a service (`_media_type`, voice unless it says chat), read as the callback
/// scenario reads it (`actors::callback::Scenario::of`).
fn media_of(state: &State, service: &str) -> &'static str {
    let chat = state.platform.service_options(service).is_some_and(|o| {
        engine::config::option(&o, "_media_type")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("chat"))
    });
    if chat {
        "chat"
    } else {
        "voice"
    }
}

/// A report's value as JSON: whole numbers (times, counts) as integers, others to three
/// decimals, nothing as `null`.
fn number(v: Option<f64>) -> Value {
    match v {
        None => Value::Null,
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => json!(v as i64),
        Some(v) => json!((v * 1000.0).round() / 1000.0),
    }
}

/// `GET /genesys/1/admin/metrics`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/metrics",
    tag = "Metrics",
    summary = "What the metrics history can report",
    responses(
        (status = 200, description = "Reports, rollups, services, resource groups, retention", body = serde_json::Value),
    ),
)]
pub(crate) async fn catalogue(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let services: Vec<Value> = Visible::of(&req, &state)
        .service_names()
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "callback": state.node.is_callback_service(&name),
                "media": media_of(&state, &name),
            })
        })
        .collect();
    let groups = state.platform.section_names("resources");
    Ok(HttpResponse::Ok().json(json!({
        "reports": ReportKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "rollups": ["1m", "15m", "30m", "1h", "1d"],
        "services": services,
        "resource_groups": groups,
        "retention_days": state.platform.reporting_settings().retention_days,
        "max_buckets": reporting::MAX_BUCKETS,
    })))
}

/// `GET /genesys/1/admin/metrics/{report}`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/metrics/{report}",
    tag = "Metrics",
    summary = "A report of the metrics history (JSON, or CSV with format=csv)",
    params(("report" = String, Path, description = "callbacks, watermark, holdtime, services or resources")),
    responses(
        (status = 200, description = "The report", content((serde_json::Value = "application/json"), (String = "text/csv"))),
    ),
)]
pub(crate) async fn report(
    req: HttpRequest,
    state: State,
    kind: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let kind = ReportKind::parse(&kind).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no report '{kind}': the reports are {}",
            ReportKind::ALL.map(|k| k.as_str()).join(", ")
        ))
    })?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let one = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let tz_name = one("timezone").unwrap_or("UTC");
    let tz = reporting::parse_tz(tz_name)
        .ok_or_else(|| ApiError::BadRequest(format!("timezone '{tz_name}' is not a time zone")))?;
    let time = |key: &str| -> Result<Option<i64>, ApiError> {
        one(key)
            .map(|v| {
                reporting::parse_time(v, tz).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "{key} '{v}' is not a time (milliseconds, or ISO 8601 such as 2026-12-06T09:30:00Z)"
                    ))
                })
            })
            .transpose()
    };
    let now = actors::center::now();
    let to = time("end")?.unwrap_or(now);
    let from = time("start")?.unwrap_or(to - DAY_MS);
    let rollup = match one("rollup") {
        None => Rollup::Min15,
        Some(r) => Rollup::parse(r).ok_or_else(|| {
            ApiError::BadRequest(format!("rollup '{r}' is not one of 1m, 15m, 30m, 1h, 1d"))
        })?,
    };
    let seen = Visible::of(&req, &state).service_names();
    let asked: Vec<&str> = pairs
        .iter()
        .filter(|(k, v)| k == "service" && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
        .collect();
    let mut services: Vec<String> = if asked.is_empty() || asked.contains(&"all") {
        seen.clone()
    } else {
        let mut out = Vec::new();
        for s in asked {
            if !seen.iter().any(|x| x == s) {
                // A service the user may not see reads as one that does not exist.
                return Err(ApiError::NotFound(format!("service '{s}' does not exist")));
            }
            out.push(s.to_owned());
        }
        out
    };
    if matches!(
        kind,
        ReportKind::Callbacks | ReportKind::Watermark | ReportKind::HoldTime
    ) {
        services.retain(|s| state.node.is_callback_service(s));
    }
    if let Some(m) = one("media") {
        let m = m.to_ascii_lowercase();
        if m != "voice" && m != "chat" && m != "all" {
            return Err(ApiError::BadRequest(format!(
                "media '{m}' is not voice, chat or all"
            )));
        }
        if m != "all" {
            services.retain(|s| media_of(&state, s) == m);
        }
    }
    let spec = ReportSpec {
        kind,
        from,
        to,
        rollup,
        tz,
        services,
        group: one("group").map(str::to_owned),
    };
    let platform = state.platform.clone();
    let report = web::block(move || platform.metrics_report(&spec))
        .await
        .map_err(|e| ApiError::Internal(format!("the report did not finish: {e}")))??;
    if one("format").is_some_and(|f| f.eq_ignore_ascii_case("csv")) {
        let name = format!(
            "ringback-{}-{}.csv",
            kind.as_str(),
            engine::callback::iso(from).get(..10).unwrap_or("report")
        );
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .body(report.to_csv()));
    }
    Ok(HttpResponse::Ok().json(json!({
        "report": kind.as_str(),
        "rollup": rollup.as_str(),
        "start": engine::callback::iso(from),
        "end": engine::callback::iso(to),
        "timezone": tz_name,
        "columns": report.columns,
        "rows": report.rows.iter().map(|row| row.iter().map(|v| number(*v)).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })))
}

/// Under the `/admin` scope.
pub(crate) fn admin_routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(resource("/metrics").route(web::get().to(catalogue)))
        .service(resource("/metrics/{report}").route(web::get().to(report)))
}
