//! The Monitor tab's data: `GET /genesys/1/admin/nodes` answers this node and every node
//! `[cluster] nodes` lists, each `ONLINE`, `OFFLINE` or `DOWN` (unreachable), so the UI can draw
//! its green and red bars. Other nodes are asked their Node API status
//! (`GET /genesys/1/admin/node/status`) with this server's `[server]` credentials, all at once on
//! the blocking pool, each within [`PROBE_TIMEOUT`].

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde_json::{json, Value};

use super::error::ApiError;
use super::routes::{authenticate, now, State};

/// How long one other node has to answer before it is shown down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The other nodes `[cluster] nodes` lists (comma-separated base URLs, e.g.
/// `http://10.0.0.2:8080`), without a trailing `/`.
pub fn cluster_nodes(section: Option<&[(String, String)]>) -> Vec<String> {
    section
        .and_then(|s| engine::config::option(s, "nodes"))
        .map(|v| {
            v.split(',')
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What one probe found.
struct Probe {
    url: String,
    status: String,
    detail: Option<String>,
    millis: u128,
}

fn probe(agent: &ureq::Agent, url: &str, auth: Option<&str>) -> Probe {
    let started = Instant::now();
    let mut req = agent.get(&format!("{url}/genesys/1/admin/node/status"));
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    let (status, detail) = match req.call() {
        Ok(resp) => match resp.into_string() {
            Ok(body) => match body.trim() {
                s @ ("ONLINE" | "OFFLINE") => (s.to_owned(), None),
                other => (
                    "DOWN".to_owned(),
                    Some(format!("unexpected answer '{other}'")),
                ),
            },
            Err(e) => ("DOWN".to_owned(), Some(e.to_string())),
        },
        Err(ureq::Error::Status(code, _)) => ("DOWN".to_owned(), Some(format!("HTTP {code}"))),
        Err(e) => ("DOWN".to_owned(), Some(e.to_string())),
    };
    Probe {
        url: url.to_owned(),
        status,
        detail,
        millis: started.elapsed().as_millis(),
    }
}

/// `GET /genesys/1/admin/nodes`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/nodes",
    tag = "Node",
    summary = "This node and its cluster peers with their status",
    responses(
        (status = 200, description = "Nodes", body = serde_json::Value),
    ),
)]
pub(crate) async fn nodes(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let server = state.platform.server();
    let t = now();
    let own_url = server
        .external_url_base
        .clone()
        .map(|u| {
            u.trim_end_matches('/')
                .trim_end_matches("/genesys")
                .to_owned()
        })
        .unwrap_or_else(|| state.node.settings().public_url.clone());
    let mut list = vec![json!({
        "node_id": server.node_id,
        "url": own_url,
        "self": true,
        "status": state.platform.node_status().as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "started": chrono::DateTime::from_timestamp_millis(state.started_ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "uptime_s": (t - state.started_ms).max(0) / 1000,
        "live_sessions": state.node.sessions().live(),
    })];
    let others: Vec<String> = cluster_nodes(state.platform.section("cluster").as_deref())
        .into_iter()
        .filter(|u| *u != own_url)
        .collect();
    if !others.is_empty() {
        let auth = server.password.as_ref().map(|p| {
            let user = server.username.as_deref().unwrap_or("default");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{p}"))
            )
        });
        let probes = web::block(move || {
            let agent = ureq::AgentBuilder::new().timeout(PROBE_TIMEOUT).build();
            std::thread::scope(|s| {
                let handles: Vec<_> = others
                    .iter()
                    .map(|u| s.spawn(|| probe(&agent, u, auth.as_deref())))
                    .collect();
                handles
                    .into_iter()
                    .zip(&others)
                    .map(|(h, u)| {
                        h.join().unwrap_or_else(|_| Probe {
                            url: u.clone(),
                            status: "DOWN".into(),
                            detail: Some("the probe failed".into()),
                            millis: 0,
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(|e| ApiError::Internal(format!("probing the cluster failed: {e}")))?;
        for p in probes {
            let mut v = json!({
                "url": p.url, "self": false, "status": p.status, "answered_ms": p.millis,
            });
            if let Some(d) = p.detail {
                v["detail"] = json!(d);
            }
            list.push(v);
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "checked": t, "nodes": Value::Array(list) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_are_trimmed_base_urls() {
        let section = vec![(
            "nodes".to_owned(),
            " http://a:8080/ , ,http://b:8081".to_owned(),
        )];
        assert_eq!(
            cluster_nodes(Some(&section)),
            vec!["http://a:8080".to_owned(), "http://b:8081".to_owned()]
        );
        assert!(cluster_nodes(None).is_empty());
    }
}
