//! `Node`: the one facade the web layer calls for what crosses the platform, the center and
//! the sessions: every `/genesys/1/service/...` call (builtins through the platform, urs-stat
//! through the center, `_type=ors` services as sessions), the ORS session API, and new calls and
//! chats, each matched to the session that booked its number or given its strategy.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine::config::option;
use engine::platform::{Platform, PlatformError, Reply};
use engine::routing::router::QueueReport;
use engine::store::Millis;
use engine::telephony::{IxnId, Media};
use scxml::Value;

use crate::center::now;
use crate::center::settings::CenterSettings;
use crate::handle::{EngineHandle, HandleError};
use crate::session::core::{
    CallStart, ItemTicket, Reply as HostReply, SessionInfo, StartReply, StartSpec,
};
use crate::session::docs::{DocError, Documents, LoadedDoc};
use crate::session::runner::{HttpFetch, RouteCalls, SessionError, Sessions};

/// What the node needs from configuration (`[ors]`).
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Hosts (`host` or `host:port`) whose documents a session may be started from by URL and
    /// that `session:fetch` may reach. By default none: inline documents and the server's own
    /// templates only.
    pub allowed_hosts: Vec<String>,
    /// How long `/request/{name}` waits for the chart's response.
    pub request_timeout: Duration,
    /// `http://host:port` this server answers at: the base of the URLs a callback's dialogs
    /// carry when no request gives one (a callback started by the scheduler).
    pub public_url: String,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            allowed_hosts: Vec::new(),
            request_timeout: Duration::from_secs(10),
            public_url: String::new(),
        }
    }
}

impl NodeSettings {
    /// Reads `[ors] allowed_hosts` (comma-separated) and `request_timeout` (seconds).
    pub fn from_section(opts: Option<&[(String, String)]>) -> NodeSettings {
        let opts = opts.unwrap_or(&[]);
        let allowed_hosts = option(opts, "allowed_hosts")
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let request_timeout = option(opts, "request_timeout")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .map_or(Duration::from_secs(10), Duration::from_secs_f64);
        NodeSettings {
            allowed_hosts,
            request_timeout,
            public_url: String::new(),
        }
    }

    /// Whether a URL's host is one the configuration names.
    pub fn allows(&self, url: &str) -> bool {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        let Some(rest) = rest else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority
            .rsplit('@')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let host = authority.split(':').next().unwrap_or("");
        self.allowed_hosts
            .iter()
            .any(|a| *a == authority || *a == host)
    }
}

/// Errors of node operations, each a decision for the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Document(#[from] DocError),
    #[error(transparent)]
    Center(#[from] HandleError),
    #[error(transparent)]
    Callback(#[from] engine::callback::CallbackError),
    #[error("{0}")]
    BadRequest(String),
}

/// What a service call answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceAnswer {
    Builtin(Reply),
    /// urs-stat: a queue's statistics (`None`: no activity yet).
    UrsStat(Option<QueueReport>),
    /// An ORS service: what its chart answered (its `<session:response>`), or its session id.
    Session {
        id: String,
        body: Value,
    },
}

/// What a new inbound call or chat got.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTicket {
    pub interaction: IxnId,
    /// The session that has the call: its strategy's, or the one that booked the number.
    pub session: String,
    /// The strategy document (or `matched-session`).
    pub strategy: String,
    pub items: Vec<ItemTicket>,
    /// The service the call matched (match-interaction), with its user data.
    pub matched: Option<engine::platform::MatchedCall>,
}

/// The strategies that take new calls: by number, then the default, with `[routing]`'s queue,
/// target and treatment as parameters.
#[derive(Debug)]
pub struct Inbound {
    default: Arc<LoadedDoc>,
    by_number: Vec<(String, Arc<LoadedDoc>)>,
    params: Vec<(String, Value)>,
}

impl Inbound {
    /// Loads every strategy `[routing]` names (problems are fatal: a typo must not route calls
    /// nowhere).
    pub fn load(
        settings: &CenterSettings,
        platform: &Platform,
        docs: &Documents,
    ) -> Result<Inbound, String> {
        let load = |name: &str| -> Result<Arc<LoadedDoc>, String> {
            let (label, text) = local_document(platform, name, true)
                .map_err(|e| format!("[routing] strategy '{name}': {e}"))?;
            docs.load(&label, &text)
                .map_err(|e| format!("[routing] strategy '{name}': {e}"))
        };
        let default = load(&settings.default_strategy)?;
        let mut by_number = Vec::new();
        for (pattern, name) in &settings.strategies {
            by_number.push((pattern.clone(), load(name)?));
        }
        let params = vec![
            (
                "queue".into(),
                Value::String(settings.inbound_queue.clone()),
            ),
            (
                "target".into(),
                Value::String(settings.inbound_target_text.clone()),
            ),
            (
                "treatment".into(),
                Value::String(settings.inbound_treatment.clone()),
            ),
        ];
        Ok(Inbound {
            default,
            by_number,
            params,
        })
    }

    fn doc_for(&self, dnis: &str) -> &Arc<LoadedDoc> {
        self.by_number
            .iter()
            .find(|(p, _)| match p.strip_suffix('*') {
                Some(prefix) => dnis.starts_with(prefix),
                None => p == dnis,
            })
            .map_or(&self.default, |(_, d)| d)
    }
}

impl RouteCalls for Inbound {
    fn strategy(&self, ixn: IxnId, _: &str, dnis: &str, _: Media) -> Option<StartSpec> {
        Some(StartSpec {
            id: new_session_id(),
            doc: self.doc_for(dnis).clone(),
            params: self.params.clone(),
            call: Some(CallStart::Claim { ixn }),
            reply: None,
            writes: Vec::new(),
            notify: Vec::new(),
        })
    }
}

/// A new session id: 32 hex digits, time-ordered, unique across nodes and restarts.
pub fn new_session_id() -> String {
    uuid::Uuid::now_v7()
        .simple()
        .to_string()
        .to_ascii_uppercase()
}

/// A document named in configuration: a built-in strategy, an ORS template (its SCXML file,
/// or `template/file`), or — when `files` — a file path (`file:` or a path ending `.scxml`).
/// Returns its label and text.
pub fn local_document(
    platform: &Platform,
    name: &str,
    files: bool,
) -> Result<(String, String), DocError> {
    let name = name.trim();
    if let Some(text) = engine::templates::builtin_strategy(name) {
        return Ok((name.to_owned(), text.to_owned()));
    }
    let (template, file) = match name.split_once('/') {
        Some((t, f)) if !f.is_empty() && !name.starts_with("file:") && !name.starts_with('/') => {
            (t, Some(f))
        }
        _ => (name, None),
    };
    if let Some(t) = platform.templates().get(template) {
        let file = file.unwrap_or(&t.service);
        let bytes = t.files.get(file).ok_or_else(|| {
            DocError::NotFound(format!("template '{template}' has no file '{file}'"))
        })?;
        let text = String::from_utf8(bytes.clone()).map_err(|_| {
            DocError::Malformed(vec![format!(
                "template file '{template}/{file}' is not UTF-8"
            )])
        })?;
        return Ok((format!("{template}/{file}"), text));
    }
    if files {
        let path = name.strip_prefix("file:").unwrap_or(name);
        if name.starts_with("file:") || path.ends_with(".scxml") {
            let text = std::fs::read_to_string(path)
                .map_err(|e| DocError::NotFound(format!("{path}: {e}")))?;
            return Ok((path.to_owned(), text));
        }
    }
    Err(DocError::NotFound(format!(
        "'{name}' is not a built-in strategy ({}) or a template",
        engine::templates::builtin_strategies().join(", ")
    )))
}

struct NodeInner {
    platform: Arc<Platform>,
    engine: EngineHandle,
    sessions: Sessions,
    settings: NodeSettings,
    inbound: Arc<Inbound>,
    callbacks: Arc<crate::callback::Callbacks>,
    fetch: OnceLock<HttpFetch>,
}

/// The node facade. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}

impl Node {
    pub fn new(
        platform: Arc<Platform>,
        engine: EngineHandle,
        sessions: Sessions,
        settings: NodeSettings,
        inbound: Arc<Inbound>,
        callbacks: Arc<crate::callback::Callbacks>,
    ) -> Node {
        Node {
            inner: Arc::new(NodeInner {
                platform,
                engine,
                sessions,
                settings,
                inbound,
                callbacks,
                fetch: OnceLock::new(),
            }),
        }
    }

    /// The HTTP client that fetches documents started by URL.
    pub fn set_fetch(&self, fetch: HttpFetch) {
        let _ = self.inner.fetch.set(fetch);
    }

    pub fn platform(&self) -> &Arc<Platform> {
        &self.inner.platform
    }

    pub fn engine(&self) -> &EngineHandle {
        &self.inner.engine
    }

    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    pub fn settings(&self) -> &NodeSettings {
        &self.inner.settings
    }

    pub fn callbacks(&self) -> &Arc<crate::callback::Callbacks> {
        &self.inner.callbacks
    }

    // ---- services ----------------------------------------------------------------------

    /// `POST|GET /genesys/1/service/{name}`.
    pub async fn call_service(
        &self,
        name: &str,
        params: &[(String, String)],
        gms_user: Option<&str>,
    ) -> Result<ServiceAnswer, NodeError> {
        let p = &self.inner.platform;
        let options = p.service_options(name).ok_or_else(|| {
            PlatformError::NotFound(format!("service '{name}' is not configured"))
        })?;
        p.note_access(name, crate::center::now());
        let kind = option(&options, "_type").unwrap_or("builtin");
        if kind == "ors" {
            return self.ors_service(name, &options, params).await;
        }
        if p.builtin_of(name).as_deref() == Some("urs-stat") {
            return self.urs_stat(name, &options, params).await;
        }
        Ok(ServiceAnswer::Builtin(
            p.call_service(name, params, gms_user, now()).await?,
        ))
    }

    /// `urs-stat`: the queue named by `name` (the service's `_urs_stat_url_parameters` first,
    /// then the request's), cached for `_caching_policy` seconds.
    async fn urs_stat(
        &self,
        service: &str,
        options: &[(String, String)],
        params: &[(String, String)],
    ) -> Result<ServiceAnswer, NodeError> {
        let opt = |k: &str| option(options, k);
        let mut merged: Vec<(String, String)> = opt("_urs_stat_url_parameters")
            .map(|p| form_urlencoded::parse(p.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        merged.extend(params.iter().cloned());
        let name = merged
            .iter()
            .rev()
            .find(|(k, v)| k == "name" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                NodeError::BadRequest(format!(
                    "service '{service}' needs the virtual queue: pass name=<VQ> or set \
                     _urs_stat_url_parameters=name=<VQ>"
                ))
            })?;
        let caching = match opt("_caching_policy").map(str::trim) {
            None | Some("") => 30,
            Some(v) => v.parse::<u64>().map_err(|_| {
                PlatformError::Unavailable(format!(
                    "service '{service}' is misconfigured: _caching_policy '{v}' is not a number of seconds"
                ))
            })?,
        };
        let report = self
            .inner
            .engine
            .urs_stat(service, &name, caching, now())
            .await?;
        Ok(ServiceAnswer::UrsStat(report))
    }

    /// A `_type=ors` service: one session per request, running `_service`, with the service's
    /// options and the request's parameters as start parameters. A configured option wins
    /// over the same request parameter unless `_overwritable_options` lists it.
    async fn ors_service(
        &self,
        name: &str,
        options: &[(String, String)],
        params: &[(String, String)],
    ) -> Result<ServiceAnswer, NodeError> {
        let service = option(options, "_service").unwrap_or("").trim();
        if service.is_empty() {
            return Err(PlatformError::Unavailable(format!(
                "service '{name}' is misconfigured: an ORS service needs _service (a template \
                 name or a document URL)"
            ))
            .into());
        }
        let doc = self.document(service, true).await?;
        let overwritable: Vec<&str> = option(options, "_overwritable_options")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        let mut merged: Vec<(String, Value)> = options
            .iter()
            .filter(|(k, _)| k != "_type" && k != "_service")
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        for (k, v) in params {
            match merged.iter_mut().find(|(mk, _)| mk == k) {
                Some(slot) if overwritable.contains(&k.as_str()) => {
                    slot.1 = Value::String(v.clone())
                }
                Some(_) => {}
                None => merged.push((k.clone(), Value::String(v.clone()))),
            }
        }
        merged.push(("_service_name".into(), Value::String(name.to_owned())));
        let id = new_session_id();
        let reply = self.start(id.clone(), doc, merged, None).await?;
        let body = reply
            .response
            .unwrap_or_else(|| Value::Object(vec![("_id".into(), Value::String(id.clone()))]));
        Ok(ServiceAnswer::Session { id, body })
    }

    /// Gives a call to a live session (a callback's): `interaction.arrived`.
    pub async fn adopted(
        &self,
        id: &str,
        call: CallStart,
        matched: Option<engine::platform::MatchedCall>,
    ) -> Result<CallTicket, NodeError> {
        let reply = match self.inner.sessions.adopt(id, call).await? {
            HostReply::Started(r) => r,
            other => {
                return Err(NodeError::BadRequest(format!(
                    "the session host answered a call with {other:?}"
                )))
            }
        };
        let interaction = reply
            .interaction
            .ok_or_else(|| NodeError::BadRequest("the session did not take the call".into()))?;
        Ok(CallTicket {
            interaction,
            session: id.to_owned(),
            strategy: "callback".into(),
            items: reply.items,
            matched,
        })
    }

    async fn start(
        &self,
        id: String,
        doc: Arc<LoadedDoc>,
        params: Vec<(String, Value)>,
        call: Option<CallStart>,
    ) -> Result<StartReply, NodeError> {
        let spec = StartSpec {
            id,
            doc,
            params,
            call,
            reply: None,
            writes: Vec::new(),
            notify: Vec::new(),
        };
        match self.inner.sessions.start_session(spec).await? {
            HostReply::Started(r) => Ok(r),
            other => Err(NodeError::BadRequest(format!(
                "the session host answered a start with {other:?}"
            ))),
        }
    }

    // ---- documents ---------------------------------------------------------------------

    /// The document `src` names: inline markup, a built-in strategy or template, or an
    /// `http(s)` URL on an allowed host; file paths only when `from_config`.
    pub async fn document(
        &self,
        src: &str,
        from_config: bool,
    ) -> Result<Arc<LoadedDoc>, NodeError> {
        let docs = self.inner.sessions.documents();
        let src = src.trim();
        if src.starts_with('<') {
            return Ok(docs.load("inline", src)?);
        }
        if src.starts_with("http://") || src.starts_with("https://") {
            if !self.inner.settings.allows(src) {
                return Err(DocError::Forbidden(format!(
                    "documents are not fetched from '{src}': its host is not in [ors] allowed_hosts"
                ))
                .into());
            }
            let fetch = self.inner.fetch.get().cloned().ok_or_else(|| {
                DocError::Fetch("this server has no HTTP client for documents".into())
            })?;
            let r = fetch(crate::session::core::FetchSpec {
                url: src.to_owned(),
                method: "GET".into(),
                body: None,
                content_type: None,
                timeout_ms: 10_000,
            })
            .await
            .map_err(|e| DocError::Fetch(format!("fetching {src}: {e}")))?;
            if !(200..300).contains(&r.status) {
                return Err(DocError::Fetch(format!("fetching {src}: HTTP {}", r.status)).into());
            }
            return Ok(docs.load(src, &r.body)?);
        }
        let (label, text) = local_document(&self.inner.platform, src, from_config)?;
        Ok(docs.load(&label, &text)?)
    }

    /// A template's file (`GET /genesys/1/document/service_template/<name>/<file>`); the
    /// built-in strategies are the files of `strategies`.
    /// Every document [`Node::template_file`] serves: the SCXML and other files of each
    /// template, then the built-in strategies (`strategies`), as (template, file, size).
    pub fn template_files(&self) -> Vec<(String, String, usize)> {
        let mut out: Vec<(String, String, usize)> = self
            .inner
            .platform
            .templates()
            .list()
            .iter()
            .flat_map(|t| {
                t.files
                    .iter()
                    .map(|(f, bytes)| (t.name.clone(), f.clone(), bytes.len()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for name in engine::templates::builtin_strategies() {
            if let Some(text) = engine::templates::builtin_strategy(&name) {
                out.push(("strategies".into(), format!("{name}.scxml"), text.len()));
            }
        }
        out
    }

    pub fn template_file(&self, template: &str, file: &str) -> Option<Vec<u8>> {
        if template == "strategies" {
            let name = file.strip_suffix(".scxml")?;
            return engine::templates::builtin_strategy(name).map(|t| t.as_bytes().to_vec());
        }
        self.inner
            .platform
            .templates()
            .get(template)?
            .files
            .get(file)
            .cloned()
    }

    // ---- the ORS session API -------------------------------------------------------------

    /// `POST /scxml/session/start`.
    pub async fn start_session(
        &self,
        src: &str,
        params: Vec<(String, Value)>,
    ) -> Result<StartReply, NodeError> {
        let doc = self.document(src, false).await?;
        self.start(new_session_id(), doc, params, None).await
    }

    pub async fn event(&self, id: &str, name: &str, data: Value) -> Result<(), NodeError> {
        Ok(self.inner.sessions.event(id, name, data).await?)
    }

    pub async fn request(
        &self,
        id: &str,
        name: &str,
        data: Value,
    ) -> Result<(u16, Value), NodeError> {
        let wait = self.inner.settings.request_timeout;
        Ok(self.inner.sessions.request(id, name, data, wait).await?)
    }

    pub async fn terminate(&self, id: &str) -> Result<(), NodeError> {
        Ok(self.inner.sessions.terminate(id).await?)
    }

    pub async fn info(&self, id: &str) -> Result<SessionInfo, NodeError> {
        Ok(self.inner.sessions.info(id).await?)
    }

    pub fn list(&self, offset: usize, limit: usize) -> (Vec<String>, usize) {
        self.inner.sessions.list(offset, limit)
    }

    // ---- calls and chats -----------------------------------------------------------------

    /// A new inbound call: matched to the session that booked the number called (DNIS and
    /// ANI, as match-interaction does), else given the strategy for its number, with the match's
    /// user data as parameters.
    pub async fn inbound_call(&self, ani: &str, dnis: &str) -> Result<CallTicket, NodeError> {
        let matched = self.inner.platform.match_call(dnis, ani, now()).await?;
        self.route_new(ani, dnis, Media::Voice, matched).await
    }

    /// A chat started by `customer`, given the default strategy on the chat media.
    pub async fn inbound_chat(&self, customer: &str) -> Result<CallTicket, NodeError> {
        self.route_new(customer, "", Media::Chat, None).await
    }

    async fn route_new(
        &self,
        customer: &str,
        dnis: &str,
        media: Media,
        matched: Option<engine::platform::MatchedCall>,
    ) -> Result<CallTicket, NodeError> {
        if let Some(m) = &matched {
            // The number was booked by a callback's session: it takes the call.
            let live = self.inner.callbacks.get(&m.service_id).is_some_and(|r| {
                !r.state.is_final() && r.session.as_deref() == Some(&m.service_id)
            });
            if live {
                let call = CallStart::New {
                    customer: customer.to_owned(),
                    dnis: dnis.to_owned(),
                    media,
                };
                return self.adopted(&m.service_id, call, matched.clone()).await;
            }
        }
        let inbound = &self.inner.inbound;
        let doc = inbound.doc_for(dnis).clone();
        let mut params = inbound.params.clone();
        if let Some(m) = &matched {
            params.push(("_id".into(), Value::String(m.service_id.clone())));
            params.push((
                "userdata".into(),
                Value::Object(
                    m.data
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            ));
        }
        let strategy = doc.name.clone();
        let id = new_session_id();
        let call = CallStart::New {
            customer: customer.to_owned(),
            dnis: dnis.to_owned(),
            media,
        };
        let reply = self.start(id.clone(), doc, params, Some(call)).await?;
        let interaction = reply
            .interaction
            .ok_or_else(|| NodeError::BadRequest("the strategy did not take the call".into()))?;
        Ok(CallTicket {
            interaction,
            session: id,
            strategy,
            items: reply.items,
            matched,
        })
    }
}

/// Milliseconds a tombstone of a finished session is kept in the store (events to it are then
/// 410; afterwards 404).
pub const FINISHED_KEPT_MS: Millis = 10 * 60 * 1000;
