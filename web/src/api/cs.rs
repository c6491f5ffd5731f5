//! Context Services (`/genesys/1/cs`): customer journeys — services, states and tasks — with
//! business attributes as metadata, and customer profiles with their extension schemas and
//! identification keys (UCS's API, served here). The rules are `engine::cs`; this module parses
//! requests and renders answers (context-services.md §2).
//!
//! Every request names its tenant with `ContactCenterId` when the installation has several
//! (`[cview] contact-center-ids`); with `[cview] use-role`, a Supervisor only reads. Errors are
//! the GMS body with Context Services' exception classes (an unknown service, state or task is
//! 400 `NotFoundException`, as GMS answers).
//!
//! Ringback's additions, for the Service Management UI: `GET /customers/{cid}/summary` and
//! `GET /services/anonymous/{key}/summary` (journeys, states and tasks: total and active),
//! `GET /items/{id}` (the service of a state or task id) and `GET /ui/journey-timeline` (the
//! Journey Timeline's configuration).

use actix_web::web::{self, Bytes, Path, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use engine::cs::business::{Attribute, Catalog, Kind};
use engine::cs::model::Extensions;
use engine::cs::profiles::Profile;
use engine::cs::{
    End, Event, EventInput, ExportEvents, ExportQuery, ItemQuery, Owner, PurgeKind, Service,
    ServiceQuery, StartItem, StartService, State, Status, Target, Task,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};

use super::auth;
use super::error::ApiError;
use super::routes::{authenticate, now, read_limited, resource, State as AppState};

/// The header naming a tenant.
const TENANT_HEADER: &str = "ContactCenterId";
/// The largest Context Services request body.
const MAX_CS_BODY: usize = 1024 * 1024;
/// Services per page of an export.
const EXPORT_PAGE: usize = 1000;

// ---- the request's tenant, role and body --------------------------------------------------

/// Authenticates, checks Context Services are on and the role may do this, and gives the
/// request's tenant.
fn tenant(req: &HttpRequest, state: &AppState) -> Result<String, ApiError> {
    authenticate(req, state)?;
    let cs = state.platform.context_services();
    let header = req
        .headers()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok());
    let tenant = cs.tenant(header)?;
    if let Some(auth::Authenticated(user)) = req.extensions().get::<auth::Authenticated>() {
        let change = !matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        let admin = user.role == engine::users::Role::Administrator;
        if !cs.settings().permits(admin, change) {
            return Err(ApiError::Forbidden(format!(
                "{} ({}) may only read Context Services ([cview] use-role = true)",
                user.name, user.role
            )));
        }
    }
    Ok(tenant)
}

/// The body as a JSON object (an empty body is an empty object).
async fn body_object(payload: Payload) -> Result<Map<String, Value>, ApiError> {
    let bytes = read_limited(payload, MAX_CS_BODY).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid("the request body must be a JSON object")),
        Err(e) => Err(invalid(format!("the request body is not valid JSON: {e}"))),
    }
}

async fn body_value(payload: Payload) -> Result<Value, ApiError> {
    let bytes = read_limited(payload, MAX_CS_BODY).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::ContextServices(engine::cs::CsError::Invalid(m.into()))
}

/// The query string's pairs, in order.
fn query(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A comma-separated (or repeated) list parameter.
fn list(q: &[(String, String)], name: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn flag(q: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match get(q, name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("no") | Some("0") => Ok(false),
        Some("true") | Some("yes") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(invalid(format!(
            "'{name}' must be true or false, not '{other}'"
        ))),
    }
}

/// A time: ISO 8601 (`2016-01-08T13:28:28.276Z`) or milliseconds since the epoch.
fn parse_time(name: &str, v: &Value) -> Result<i64, ApiError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| invalid(format!("'{name}' must be a time"))),
        Value::String(s) => parse_time_text(name, s),
        _ => Err(invalid(format!(
            "'{name}' must be a time (ISO 8601 or milliseconds)"
        ))),
    }
}

fn parse_time_text(name: &str, s: &str) -> Result<i64, ApiError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().timestamp_millis())
        })
        .map_err(|_| {
            invalid(format!(
                "'{name}' is not a time: '{s}' (ISO 8601 such as 2016-01-08T13:28:28.276Z, or milliseconds)"
            ))
        })
}

fn query_time(q: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    get(q, name).map(|v| parse_time_text(name, v)).transpose()
}

/// A time as Context Services writes it: UTC with milliseconds.
fn time_text(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    // Written by hand: a customer's page renders tens of thousands of these, and chrono's
    // `format` parses its pattern each time.
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    );
    out
}

fn text_of(name: &str, v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(invalid(format!("'{name}' must be text"))),
    }
}

fn seconds_of(name: &str, v: &Value) -> Result<Option<i64>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("'{name}' must be a whole number of seconds"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(format!("'{name}' must be a whole number of seconds"))),
        _ => Err(invalid(format!(
            "'{name}' must be a whole number of seconds"
        ))),
    }
}

/// Takes the event fields, the disposition and `timestamp` out of a body (a start event with a
/// disposition is refused by `EventInput::check`).
fn take_event(body: &mut Map<String, Value>) -> Result<EventInput, ApiError> {
    let mut event = EventInput::default();
    if let Some(t) = body.remove("timestamp") {
        if !t.is_null() {
            event.timestamp = Some(parse_time("timestamp", &t)?);
        }
    }
    // A start's disposition is taken too, to be refused rather than kept as an extension.
    let names = engine::cs::model::EVENT_FIELDS
        .iter()
        .chain(engine::cs::model::END_FIELDS.iter());
    for (name, _) in names {
        if let Some(v) = body.remove(*name) {
            event.fields.set(name, text_of(name, &v)?);
        }
    }
    Ok(event)
}

fn take_text(body: &mut Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    body.remove(name)
        .map(|v| text_of(name, &v))
        .transpose()
        .map(Option::flatten)
}

fn take_seconds(body: &mut Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    body.remove(name)
        .map(|v| seconds_of(name, &v))
        .transpose()
        .map(Option::flatten)
}

fn end_of(mut body: Map<String, Value>) -> Result<End, ApiError> {
    let event = take_event(&mut body)?;
    Ok(End {
        event,
        extensions: body,
    })
}

fn item_of(
    mut body: Map<String, Value>,
    type_field: &str,
    link: &str,
) -> Result<StartItem, ApiError> {
    Ok(StartItem {
        item_type: take_text(&mut body, type_field)?,
        est_duration: take_seconds(&mut body, "est_duration")?,
        link: take_text(&mut body, link)?,
        event: take_event(&mut body)?,
        extensions: body,
    })
}

// ---- rendering ----------------------------------------------------------------------------

/// Which extensions an answer carries: `extensions=a,b` (the record's own), `State.x` /
/// `Task.x` (nested records'), `*` (all).
#[derive(Default)]
struct Extensions3 {
    own: Pick,
    states: Pick,
    tasks: Pick,
}

#[derive(Default)]
enum Pick {
    #[default]
    None,
    All,
    Names(Vec<String>),
}

impl Pick {
    fn add(&mut self, name: &str) {
        match self {
            Pick::All => {}
            _ if name == "*" => *self = Pick::All,
            Pick::None => *self = Pick::Names(vec![name.to_owned()]),
            Pick::Names(v) => v.push(name.to_owned()),
        }
    }

    /// The extensions picked, in the record's order (`All`) or the order asked (`Names`).
    fn picked<'e>(
        &'e self,
        ext: &'e Extensions,
    ) -> Box<dyn Iterator<Item = (&'e String, &'e Value)> + 'e> {
        match self {
            Pick::None => Box::new(std::iter::empty()),
            Pick::All => Box::new(ext.iter()),
            Pick::Names(names) => Box::new(names.iter().filter_map(|n| ext.get(n).map(|v| (n, v)))),
        }
    }

    fn apply(&self, ext: &Extensions, out: &mut Map<String, Value>) {
        for (k, v) in self.picked(ext) {
            out.insert(k.clone(), v.clone());
        }
    }
}

impl Extensions3 {
    fn all() -> Extensions3 {
        Extensions3 {
            own: Pick::All,
            states: Pick::All,
            tasks: Pick::All,
        }
    }

    fn of(q: &[(String, String)]) -> Extensions3 {
        let mut e = Extensions3::default();
        for name in list(q, "extensions") {
            if name == "*" {
                e.own.add("*");
                e.states.add("*");
                e.tasks.add("*");
            } else if let Some(n) = name.strip_prefix("State.") {
                e.states.add(n);
            } else if let Some(n) = name.strip_prefix("Task.") {
                e.tasks.add(n);
            } else {
                e.own.add(&name);
            }
        }
        e
    }
}

/// A business-attribute field as answered: the value's DB id (or its name with `map-names`)
/// when the field is mapped and the value known, else the text as stored.
struct BaValue<'a> {
    catalog: &'a Catalog,
    kind: Kind,
    field: &'a str,
    stored: &'a str,
}

impl Serialize for BaValue<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self
            .catalog
            .attribute_of(self.kind, self.field)
            .and_then(|a| a.find(self.stored))
        {
            Some(v) if !self.catalog.map_names => ser.serialize_i64(v.dbid),
            Some(v) => ser.serialize_str(&v.name),
            None => ser.serialize_str(self.stored),
        }
    }
}

/// A start or end event as answered.
struct EventView<'a> {
    catalog: &'a Catalog,
    kind: Kind,
    e: &'a Event,
}

impl Serialize for EventView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("timestamp", &time_text(self.e.timestamp))?;
        for (name, v) in self.e.fields() {
            if engine::cs::business::MAPPABLE_EVENT_FIELDS.contains(&name) {
                m.serialize_entry(
                    name,
                    &BaValue {
                        catalog: self.catalog,
                        kind: self.kind,
                        field: name,
                        stored: v,
                    },
                )?;
            } else {
                m.serialize_entry(name, v)?;
            }
        }
        m.end()
    }
}

/// The common part of a record: its type, estimated duration, events and picked extensions.
#[allow(clippy::too_many_arguments)]
fn record_fields<M: SerializeMap>(
    m: &mut M,
    catalog: &Catalog,
    kind: Kind,
    item_type: &Option<String>,
    est_duration: Option<i64>,
    started: &Event,
    completed: &Option<Event>,
) -> Result<(), M::Error> {
    match item_type {
        Some(t) => m.serialize_entry(
            kind.type_field(),
            &BaValue {
                catalog,
                kind,
                field: kind.type_field(),
                stored: t,
            },
        )?,
        None => m.serialize_entry(kind.type_field(), &Value::Null)?,
    }
    if let Some(d) = est_duration {
        m.serialize_entry("est_duration", &d)?;
    }
    m.serialize_entry(
        "started",
        &EventView {
            catalog,
            kind,
            e: started,
        },
    )?;
    if let Some(c) = completed {
        m.serialize_entry(
            "completed",
            &EventView {
                catalog,
                kind,
                e: c,
            },
        )?;
    }
    Ok(())
}

impl Pick {
    fn serialize_into<M: SerializeMap>(&self, ext: &Extensions, m: &mut M) -> Result<(), M::Error> {
        self.picked(ext)
            .try_for_each(|(k, v)| m.serialize_entry(k, v))
    }
}

/// A task as answered (`nested`: within its service, without `service_id`).
struct TaskView<'a> {
    catalog: &'a Catalog,
    t: &'a Task,
    pick: &'a Pick,
    nested: bool,
}

impl Serialize for TaskView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let t = self.t;
        let mut m = ser.serialize_map(None)?;
        if !self.nested {
            m.serialize_entry("service_id", &t.service_id)?;
        }
        if let Some(s) = &t.state_id {
            m.serialize_entry("state_id", s)?;
        }
        m.serialize_entry("task_id", &t.id)?;
        record_fields(
            &mut m,
            self.catalog,
            Kind::Task,
            &t.task_type,
            t.est_duration,
            &t.started,
            &t.completed,
        )?;
        self.pick.serialize_into(&t.extensions, &mut m)?;
        m.end()
    }
}

/// A state as answered, with its tasks when asked (`active_tasks`, `completed_tasks`).
struct StateView<'a> {
    catalog: &'a Catalog,
    s: &'a State,
    pick: &'a Pick,
    nested: bool,
    tasks: Option<(bool, bool, Vec<&'a Task>, &'a Pick)>,
}

impl Serialize for StateView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let mut m = ser.serialize_map(None)?;
        if !self.nested {
            m.serialize_entry("service_id", &s.service_id)?;
        }
        m.serialize_entry("state_id", &s.id)?;
        if let Some(p) = &s.previous_state_id {
            m.serialize_entry("previous_state_id", p)?;
        }
        record_fields(
            &mut m,
            self.catalog,
            Kind::State,
            &s.state_type,
            s.est_duration,
            &s.started,
            &s.completed,
        )?;
        self.pick.serialize_into(&s.extensions, &mut m)?;
        if let Some((active, completed, tasks, pick)) = &self.tasks {
            let of = |done: bool| -> Vec<TaskView<'_>> {
                tasks
                    .iter()
                    .filter(|t| t.completed.is_some() == done)
                    .map(|t| TaskView {
                        catalog: self.catalog,
                        t,
                        pick,
                        nested: true,
                    })
                    .collect()
            };
            if *active {
                m.serialize_entry("active_tasks", &of(false))?;
            }
            if *completed {
                m.serialize_entry("completed_tasks", &of(true))?;
            }
        }
        m.end()
    }
}

/// A service as answered, with its states and tasks as asked.
struct ServiceView<'a> {
    catalog: &'a Catalog,
    s: &'a Service,
    picks: &'a Extensions3,
    nested: Nested,
    states: &'a [&'a State],
    tasks: &'a [&'a Task],
}

impl Serialize for ServiceView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let c = self.catalog;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("service_id", &s.id)?;
        match &s.owner {
            Owner::Customer(id) => m.serialize_entry("customer_id", id)?,
            Owner::Anonymous(k) => m.serialize_entry("contact_key", k)?,
        }
        record_fields(
            &mut m,
            c,
            Kind::Service,
            &s.service_type,
            s.est_duration,
            &s.started,
            &s.completed,
        )?;
        if let Some(e) = s.expires_at {
            m.serialize_entry("expiration_time", &time_text(e))?;
        }
        self.picks.own.serialize_into(&s.extensions, &mut m)?;
        let states = |done: bool| -> Vec<StateView<'_>> {
            self.states
                .iter()
                .filter(|x| x.completed.is_some() == done)
                .map(|x| StateView {
                    catalog: c,
                    s: x,
                    pick: &self.picks.states,
                    nested: true,
                    tasks: None,
                })
                .collect()
        };
        let tasks = |done: bool| -> Vec<TaskView<'_>> {
            self.tasks
                .iter()
                .filter(|x| x.completed.is_some() == done)
                .map(|x| TaskView {
                    catalog: c,
                    t: x,
                    pick: &self.picks.tasks,
                    nested: true,
                })
                .collect()
        };
        if self.nested.active_states {
            m.serialize_entry("active_states", &states(false))?;
        }
        if self.nested.completed_states {
            m.serialize_entry("completed_states", &states(true))?;
        }
        if self.nested.active_tasks {
            m.serialize_entry("active_tasks", &tasks(false))?;
        }
        if self.nested.completed_tasks {
            m.serialize_entry("completed_tasks", &tasks(true))?;
        }
        m.end()
    }
}

/// A service with every extension and nothing nested (what an export writes).
fn full_view<'a>(catalog: &'a Catalog, s: &'a Service, all: &'a Extensions3) -> ServiceView<'a> {
    ServiceView {
        catalog,
        s,
        picks: all,
        nested: Nested::default(),
        states: &[],
        tasks: &[],
    }
}

/// A JSON answer, serialised straight from its views.
fn json_answer(
    status: actix_web::http::StatusCode,
    v: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(v)
        .map_err(|e| ApiError::Internal(format!("rendering the answer: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(body))
}

/// Which nested records a service answer carries.
#[derive(Default, Clone, Copy)]
struct Nested {
    active_states: bool,
    completed_states: bool,
    active_tasks: bool,
    completed_tasks: bool,
}

impl Nested {
    fn of(q: &[(String, String)]) -> Result<Nested, ApiError> {
        Ok(Nested {
            active_states: flag(q, "active_states")?,
            completed_states: flag(q, "completed_states")?,
            active_tasks: flag(q, "active_tasks")?,
            completed_tasks: flag(q, "completed_tasks")?,
        })
    }

    fn states(self) -> bool {
        self.active_states || self.completed_states
    }

    fn tasks(self) -> bool {
        self.active_tasks || self.completed_tasks
    }
}

/// Services answered with their nested states and tasks as asked: a list, or one (`one`).
fn services_answer(
    state: &AppState,
    tenant: &str,
    services: &[Service],
    q: &[(String, String)],
    one: bool,
) -> Result<HttpResponse, ApiError> {
    let cs = state.platform.context_services();
    let catalog = cs.catalog(tenant);
    let nested = Nested::of(q)?;
    let picks = Extensions3::of(q);
    let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let states = if nested.states() {
        cs.states(tenant, &ids, &ItemQuery::default())?
    } else {
        Vec::new()
    };
    let tasks = if nested.tasks() {
        cs.tasks(tenant, &ids, &ItemQuery::default())?
    } else {
        Vec::new()
    };
    let mut by_service: std::collections::HashMap<&str, (Vec<&State>, Vec<&Task>)> =
        std::collections::HashMap::new();
    for s in &states {
        by_service
            .entry(s.service_id.as_str())
            .or_default()
            .0
            .push(s);
    }
    for t in &tasks {
        by_service
            .entry(t.service_id.as_str())
            .or_default()
            .1
            .push(t);
    }
    let none = (Vec::new(), Vec::new());
    let views: Vec<ServiceView<'_>> = services
        .iter()
        .map(|s| {
            let (sts, tks) = by_service.get(s.id.as_str()).unwrap_or(&none);
            ServiceView {
                catalog: &catalog,
                s,
                picks: &picks,
                nested,
                states: sts,
                tasks: tks,
            }
        })
        .collect();
    if one {
        match views.first() {
            Some(v) => json_answer(actix_web::http::StatusCode::OK, v),
            None => Ok(HttpResponse::Ok().json(Value::Null)),
        }
    } else {
        json_answer(actix_web::http::StatusCode::OK, &views)
    }
}

fn created(field: &str, id: String) -> HttpResponse {
    HttpResponse::Created().json(json!({ field: id }))
}

// ---- services -----------------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/start",
    tag = "Context Services",
    summary = "Start a service (a customer journey)",
    request_body(content = serde_json::Value, description = "customer_id or contact_key, service_type, est_duration, the start event's fields, timestamp, ttl / expiration_time, auto_complete_after; any other key is an extension"),
    responses((status = 201, description = "The new service's id: {\"service_id\"}", body = serde_json::Value)),
)]
pub(crate) async fn start_service(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let mut body = body_object(payload).await?;
    let customer = take_text(&mut body, "customer_id")?;
    let contact = take_text(&mut body, "contact_key")?;
    let owner = match (customer, contact) {
        (Some(c), _) => Some(Owner::Customer(c)),
        (None, Some(k)) => Some(Owner::Anonymous(k)),
        (None, None) => None,
    };
    let expiration_time = body
        .remove("expiration_time")
        .filter(|v| !v.is_null())
        .map(|v| parse_time("expiration_time", &v))
        .transpose()?;
    let start = StartService {
        owner,
        service_type: take_text(&mut body, "service_type")?,
        est_duration: take_seconds(&mut body, "est_duration")?,
        ttl: take_seconds(&mut body, "ttl")?,
        expiration_time,
        auto_complete_after: take_seconds(&mut body, "auto_complete_after")?,
        event: take_event(&mut body)?,
        extensions: body,
    };
    let id = state
        .platform
        .context_services()
        .start_service(&tenant, start, now())
        .await?;
    Ok(created("service_id", id))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/end",
    tag = "Context Services",
    summary = "Complete a service",
    params(("service_id" = String, Path, description = "The service")),
    request_body(content = serde_json::Value, description = "The end event's fields, disposition, disposition_desc, timestamp; any other key is an extension (replacing one of the same name)"),
    responses((status = 204, description = "Completed")),
)]
pub(crate) async fn end_service(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let end = end_of(body_object(payload).await?)?;
    state
        .platform
        .context_services()
        .end_service(&tenant, &path, end, now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/services/{service_id}",
    tag = "Context Services",
    summary = "One service, with its states and tasks as asked",
    params(
        ("service_id" = String, Path, description = "The service"),
        ("active_states" = Option<bool>, Query, description = "Include the active states"),
        ("completed_states" = Option<bool>, Query, description = "Include the completed states"),
        ("active_tasks" = Option<bool>, Query, description = "Include the active tasks"),
        ("completed_tasks" = Option<bool>, Query, description = "Include the completed tasks"),
        ("extensions" = Option<String>, Query, description = "Extensions to include: names, State.x, Task.x, or *"),
    ),
    responses((status = 200, description = "The service", body = serde_json::Value)),
)]
pub(crate) async fn get_service(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let s = state.platform.context_services().service(&tenant, &path)?;
    services_answer(&state, &tenant, &[s], &query(&req), true)
}

#[utoipa::path(
    put,
    path = "/genesys/1/cs/services/{service_id}",
    tag = "Context Services",
    summary = "Set a service's lifetime",
    params(("service_id" = String, Path, description = "The service")),
    request_body(content = serde_json::Value, description = "{ttl} (seconds) or {expiration_time}; ttl wins"),
    responses((status = 200, description = "Set")),
)]
pub(crate) async fn service_lifetime(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let mut body = body_object(payload).await?;
    let ttl = take_seconds(&mut body, "ttl")?;
    let expiration = body
        .remove("expiration_time")
        .filter(|v| !v.is_null())
        .map(|v| parse_time("expiration_time", &v))
        .transpose()?;
    state
        .platform
        .context_services()
        .set_lifetime(&tenant, &path, ttl, expiration, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    delete,
    path = "/genesys/1/cs/services/{service_id}",
    tag = "Context Services",
    summary = "Delete a service with its states and tasks",
    params(("service_id" = String, Path, description = "The service")),
    responses((status = 200, description = "Deleted")),
)]
pub(crate) async fn delete_service(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    state
        .platform
        .context_services()
        .delete_service(&tenant, &path)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/customers/{customer_id}/services/{service_id}",
    tag = "Context Services",
    summary = "Associate a service (typically anonymous) with a customer",
    params(
        ("customer_id" = String, Path, description = "The customer"),
        ("service_id" = String, Path, description = "The service"),
    ),
    request_body(content = serde_json::Value, description = "Optional start-event fields replacing the service's"),
    responses((status = 200, description = "Associated")),
)]
pub(crate) async fn associate(
    req: HttpRequest,
    state: AppState,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (customer, sid) = path.into_inner();
    let mut body = body_object(payload).await?;
    let event = if body.is_empty() {
        None
    } else {
        Some(take_event(&mut body)?)
    };
    state
        .platform
        .context_services()
        .associate(&tenant, &customer, &sid, event, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

fn service_query(
    req: &HttpRequest,
    state: &AppState,
    tenant: &str,
    owner: Owner,
    status: Status,
) -> Result<ServiceQuery, ApiError> {
    let q = query(req);
    let types = state.platform.context_services().type_filter(
        tenant,
        Kind::Service,
        &list(&q, "service_types"),
    )?;
    Ok(ServiceQuery {
        owner,
        status,
        service_types: types,
        started_from: query_time(&q, "started_from")?,
        started_to: query_time(&q, "started_to")?,
        completed_from: query_time(&q, "completed_from")?,
        completed_to: query_time(&q, "completed_to")?,
    })
}

async fn owner_services(
    req: HttpRequest,
    state: AppState,
    owner: Owner,
    status: Status,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let q = service_query(&req, &state, &tenant, owner, status)?;
    let services = state.platform.context_services().services(&tenant, &q)?;
    services_answer(&state, &tenant, &services, &query(&req), false)
}

macro_rules! list_doc {
    ($name:ident, $path:literal, $param:literal, $summary:literal, $owner:expr, $status:expr) => {
        #[utoipa::path(
            get,
            path = $path,
            tag = "Context Services",
            summary = $summary,
            params(
                ($param = String, Path, description = "Whose services"),
                ("service_types" = Option<String>, Query, description = "Comma-separated service types (names or DB ids)"),
                ("started_from" = Option<String>, Query, description = "Started at or after (ISO 8601 or ms)"),
                ("started_to" = Option<String>, Query, description = "Started at or before"),
                ("completed_from" = Option<String>, Query, description = "Completed at or after"),
                ("completed_to" = Option<String>, Query, description = "Completed at or before"),
                ("active_states" = Option<bool>, Query, description = "Include the active states"),
                ("completed_states" = Option<bool>, Query, description = "Include the completed states"),
                ("active_tasks" = Option<bool>, Query, description = "Include the active tasks"),
                ("completed_tasks" = Option<bool>, Query, description = "Include the completed tasks"),
                ("extensions" = Option<String>, Query, description = "Extensions to include"),
            ),
            responses((status = 200, description = "The services, latest first", body = serde_json::Value)),
        )]
        pub(crate) async fn $name(
            req: HttpRequest,
            state: AppState,
            path: Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            let owner = $owner(path.into_inner());
            owner_services(req, state, owner, $status).await
        }
    };
}

list_doc!(
    customer_services,
    "/genesys/1/cs/customers/{customer_id}/services",
    "customer_id",
    "A customer's services",
    Owner::Customer,
    Status::Any
);
list_doc!(
    customer_services_active,
    "/genesys/1/cs/customers/{customer_id}/services/active",
    "customer_id",
    "A customer's active services",
    Owner::Customer,
    Status::Active
);
list_doc!(
    customer_services_completed,
    "/genesys/1/cs/customers/{customer_id}/services/completed",
    "customer_id",
    "A customer's completed services",
    Owner::Customer,
    Status::Completed
);
list_doc!(
    anonymous_services,
    "/genesys/1/cs/services/anonymous/{contact_key}",
    "contact_key",
    "An anonymous contact's services",
    Owner::Anonymous,
    Status::Any
);
list_doc!(
    anonymous_services_active,
    "/genesys/1/cs/services/anonymous/{contact_key}/active",
    "contact_key",
    "An anonymous contact's active services",
    Owner::Anonymous,
    Status::Active
);
list_doc!(
    anonymous_services_completed,
    "/genesys/1/cs/services/anonymous/{contact_key}/completed",
    "contact_key",
    "An anonymous contact's completed services",
    Owner::Anonymous,
    Status::Completed
);

async fn summary(
    req: HttpRequest,
    state: AppState,
    owner: Owner,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let c = state.platform.context_services().counts(&tenant, &owner)?;
    Ok(HttpResponse::Ok().json(json!({
        "services": {"total": c.services, "active": c.services_active, "completed": c.services - c.services_active},
        "states": {"total": c.states, "active": c.states_active, "completed": c.states - c.states_active},
        "tasks": {"total": c.tasks, "active": c.tasks_active, "completed": c.tasks - c.tasks_active},
    })))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/customers/{customer_id}/summary",
    tag = "Context Services",
    summary = "A customer's journeys in figures (Ringback): services, states and tasks, total, active and completed",
    params(("customer_id" = String, Path, description = "The customer")),
    responses((status = 200, description = "The figures", body = serde_json::Value)),
)]
pub(crate) async fn customer_summary(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    summary(req, state, Owner::Customer(path.into_inner())).await
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/services/anonymous/{contact_key}/summary",
    tag = "Context Services",
    summary = "An anonymous contact's journeys in figures (Ringback)",
    params(("contact_key" = String, Path, description = "The contact key")),
    responses((status = 200, description = "The figures", body = serde_json::Value)),
)]
pub(crate) async fn anonymous_summary(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    summary(req, state, Owner::Anonymous(path.into_inner())).await
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/items/{id}",
    tag = "Context Services",
    summary = "The service of a state or task id (Ringback)",
    params(("id" = String, Path, description = "A state or task id")),
    responses((status = 200, description = "{service_id, kind: state|task}", body = serde_json::Value)),
)]
pub(crate) async fn item(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (service_id, kind) = state
        .platform
        .context_services()
        .item_service(&tenant, &path)?;
    Ok(HttpResponse::Ok().json(json!({"service_id": service_id, "kind": kind})))
}

// ---- extensions ---------------------------------------------------------------------------

async fn extension(
    req: HttpRequest,
    state: AppState,
    target: Target,
    name: String,
    merge: bool,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let value = body_value(payload).await?;
    state
        .platform
        .context_services()
        .put_extension(&tenant, &target, &name, value, merge, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

macro_rules! extension_doc {
    ($name:ident, $path:literal, $summary:literal, $merge:expr, ($($p:ident: $pname:literal),*), $target:expr) => {
        #[utoipa::path(
            put,
            path = $path,
            tag = "Context Services",
            summary = $summary,
            params(
                $(($pname = String, Path, description = "The record's id")),*,
                ("name" = String, Path, description = "The extension"),
            ),
            request_body(content = serde_json::Value, description = "An object (or, replacing, an array)"),
            responses((status = 200, description = "Updated")),
        )]
        #[allow(unused_parens)]
        pub(crate) async fn $name(
            req: HttpRequest,
            state: AppState,
            path: Path<($(extension_doc!(@s $p)),*, String)>,
            payload: Payload,
        ) -> Result<HttpResponse, ApiError> {
            let ($($p),*, name) = path.into_inner();
            extension(req, state, $target, name, $merge, payload).await
        }
    };
    (@s $p:ident) => { String };
}

extension_doc!(
    service_extension,
    "/genesys/1/cs/services/{service_id}/extensions/{name}",
    "Replace a service's extension",
    false,
    (sid: "service_id"),
    Target::Service(sid)
);
extension_doc!(
    service_extension_merge,
    "/genesys/1/cs/services/{service_id}/extensions/{name}/merge",
    "Add keys to a service's map extension (creating it)",
    true,
    (sid: "service_id"),
    Target::Service(sid)
);
extension_doc!(
    state_extension,
    "/genesys/1/cs/services/{service_id}/states/{state_id}/extensions/{name}",
    "Replace a state's extension",
    false,
    (sid: "service_id", stid: "state_id"),
    Target::State(sid, stid)
);
extension_doc!(
    state_extension_merge,
    "/genesys/1/cs/services/{service_id}/states/{state_id}/extensions/{name}/merge",
    "Add keys to a state's map extension",
    true,
    (sid: "service_id", stid: "state_id"),
    Target::State(sid, stid)
);
extension_doc!(
    task_extension,
    "/genesys/1/cs/services/{service_id}/tasks/{task_id}/extensions/{name}",
    "Replace a task's extension",
    false,
    (sid: "service_id", tid: "task_id"),
    Target::Task(sid, tid)
);
extension_doc!(
    task_extension_merge,
    "/genesys/1/cs/services/{service_id}/tasks/{task_id}/extensions/{name}/merge",
    "Add keys to a task's map extension",
    true,
    (sid: "service_id", tid: "task_id"),
    Target::Task(sid, tid)
);

// ---- states and tasks ---------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/states/start",
    tag = "Context Services",
    summary = "Start a state",
    params(("service_id" = String, Path, description = "The service")),
    request_body(content = serde_json::Value, description = "state_type, previous_state_id, est_duration, the start event's fields, timestamp; other keys are extensions"),
    responses((status = 201, description = "{\"state_id\"}", body = serde_json::Value)),
)]
pub(crate) async fn start_state(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let item = item_of(
        body_object(payload).await?,
        "state_type",
        "previous_state_id",
    )?;
    let id = state
        .platform
        .context_services()
        .start_state(&tenant, &path, item, now())
        .await?;
    Ok(created("state_id", id))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/states/{state_id}/end",
    tag = "Context Services",
    summary = "Complete a state",
    params(("service_id" = String, Path, description = "The service"), ("state_id" = String, Path, description = "The state")),
    request_body(content = serde_json::Value, description = "The end event's fields, disposition, disposition_desc, timestamp"),
    responses((status = 204, description = "Completed")),
)]
pub(crate) async fn end_state(
    req: HttpRequest,
    state: AppState,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (sid, stid) = path.into_inner();
    let end = end_of(body_object(payload).await?)?;
    state
        .platform
        .context_services()
        .end_state(&tenant, &sid, &stid, end, now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/states/transition",
    tag = "Context Services",
    summary = "End one state and start the next in one call",
    params(("service_id" = String, Path, description = "The service")),
    request_body(content = serde_json::Value, description = "from: {state_id, disposition, disposition_desc}, to: {state_type, est_duration}, and the event fields both share"),
    responses((status = 201, description = "{\"state_id\"} of the new state", body = serde_json::Value)),
)]
pub(crate) async fn transition(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let mut body = body_object(payload).await?;
    let from = match body.remove("from") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(invalid(
                "a transition needs 'from': {state_id, disposition, disposition_desc}",
            ))
        }
    };
    let to = match body.remove("to") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(invalid(
                "a transition needs 'to': {state_type, est_duration}",
            ))
        }
    };
    let shared = take_event(&mut body)?;
    let mut from = from;
    let from_id = take_text(&mut from, "state_id")?
        .ok_or_else(|| invalid("'from' needs the 'state_id' of the state to end"))?;
    let mut end_event = shared.clone();
    end_event.fields.disposition = take_text(&mut from, "disposition")?;
    end_event.fields.disposition_desc = take_text(&mut from, "disposition_desc")?;
    let mut to = to;
    let next = StartItem {
        item_type: take_text(&mut to, "state_type")?,
        est_duration: take_seconds(&mut to, "est_duration")?,
        link: None,
        event: shared,
        extensions: to,
    };
    let end = End {
        event: end_event,
        extensions: from,
    };
    let id = state
        .platform
        .context_services()
        .transition(&tenant, &path, &from_id, end, next, now())
        .await?;
    Ok(created("state_id", id))
}

async fn list_states(
    req: HttpRequest,
    state: AppState,
    sid: String,
    status: Status,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let q = query(&req);
    let cs = state.platform.context_services();
    cs.service(&tenant, &sid)?;
    let catalog = cs.catalog(&tenant);
    let types = cs.type_filter(&tenant, Kind::State, &list(&q, "state_types"))?;
    let states = cs.states(
        &tenant,
        &[sid.as_str()],
        &ItemQuery {
            status,
            types,
            state_id: None,
        },
    )?;
    let picks = Extensions3::of(&q);
    let active_tasks = flag(&q, "active_tasks")?;
    let completed_tasks = flag(&q, "completed_tasks")?;
    let tasks = if active_tasks || completed_tasks {
        cs.tasks(&tenant, &[sid.as_str()], &ItemQuery::default())?
    } else {
        Vec::new()
    };
    let views: Vec<StateView<'_>> = states
        .iter()
        .map(|s| StateView {
            catalog: &catalog,
            s,
            pick: &picks.own,
            nested: false,
            tasks: (active_tasks || completed_tasks).then(|| {
                let mine = tasks
                    .iter()
                    .filter(|t| t.state_id.as_deref() == Some(s.id.as_str()))
                    .collect();
                (active_tasks, completed_tasks, mine, &picks.tasks)
            }),
        })
        .collect();
    json_answer(actix_web::http::StatusCode::OK, &views)
}

async fn list_tasks(
    req: HttpRequest,
    state: AppState,
    sid: String,
    status: Status,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let q = query(&req);
    let cs = state.platform.context_services();
    cs.service(&tenant, &sid)?;
    let catalog = cs.catalog(&tenant);
    let types = cs.type_filter(&tenant, Kind::Task, &list(&q, "task_types"))?;
    let state_id = get(&q, "state_id")
        .filter(|s| !s.is_empty())
        .map(String::from);
    let tasks = cs.tasks(
        &tenant,
        &[sid.as_str()],
        &ItemQuery {
            status,
            types,
            state_id,
        },
    )?;
    let picks = Extensions3::of(&q);
    let views: Vec<TaskView<'_>> = tasks
        .iter()
        .map(|t| TaskView {
            catalog: &catalog,
            t,
            pick: &picks.own,
            nested: false,
        })
        .collect();
    json_answer(actix_web::http::StatusCode::OK, &views)
}

macro_rules! items_doc {
    ($name:ident, $path:literal, $summary:literal, $list:ident, $status:expr, $types:literal) => {
        #[utoipa::path(
            get,
            path = $path,
            tag = "Context Services",
            summary = $summary,
            params(
                ("service_id" = String, Path, description = "The service"),
                ($types = Option<String>, Query, description = "Comma-separated types (names or DB ids)"),
                ("extensions" = Option<String>, Query, description = "Extensions to include"),
            ),
            responses((status = 200, description = "The records, in start order", body = serde_json::Value)),
        )]
        pub(crate) async fn $name(req: HttpRequest, state: AppState, path: Path<String>) -> Result<HttpResponse, ApiError> {
            $list(req, state, path.into_inner(), $status).await
        }
    };
}

items_doc!(
    states,
    "/genesys/1/cs/services/{service_id}/states",
    "A service's states",
    list_states,
    Status::Any,
    "state_types"
);
items_doc!(
    states_active,
    "/genesys/1/cs/services/{service_id}/states/active",
    "A service's active states",
    list_states,
    Status::Active,
    "state_types"
);
items_doc!(
    states_completed,
    "/genesys/1/cs/services/{service_id}/states/completed",
    "A service's completed states",
    list_states,
    Status::Completed,
    "state_types"
);
items_doc!(
    tasks,
    "/genesys/1/cs/services/{service_id}/tasks",
    "A service's tasks",
    list_tasks,
    Status::Any,
    "task_types"
);
items_doc!(
    tasks_active,
    "/genesys/1/cs/services/{service_id}/tasks/active",
    "A service's active tasks",
    list_tasks,
    Status::Active,
    "task_types"
);
items_doc!(
    tasks_completed,
    "/genesys/1/cs/services/{service_id}/tasks/completed",
    "A service's completed tasks",
    list_tasks,
    Status::Completed,
    "task_types"
);

#[utoipa::path(
    get,
    path = "/genesys/1/cs/services/{service_id}/states/{state_id}",
    tag = "Context Services",
    summary = "One state",
    params(("service_id" = String, Path, description = "The service"), ("state_id" = String, Path, description = "The state"), ("extensions" = Option<String>, Query, description = "Extensions to include")),
    responses((status = 200, description = "The state", body = serde_json::Value)),
)]
pub(crate) async fn get_state(
    req: HttpRequest,
    state: AppState,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (sid, stid) = path.into_inner();
    let cs = state.platform.context_services();
    let s = cs.state(&tenant, &sid, &stid)?;
    let picks = Extensions3::of(&query(&req));
    let catalog = cs.catalog(&tenant);
    let view = StateView {
        catalog: &catalog,
        s: &s,
        pick: &picks.own,
        nested: false,
        tasks: None,
    };
    json_answer(actix_web::http::StatusCode::OK, &view)
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/tasks/start",
    tag = "Context Services",
    summary = "Start a task",
    params(("service_id" = String, Path, description = "The service")),
    request_body(content = serde_json::Value, description = "task_type, state_id, est_duration, the start event's fields, timestamp; other keys are extensions"),
    responses((status = 201, description = "{\"task_id\"}", body = serde_json::Value)),
)]
pub(crate) async fn start_task(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let item = item_of(body_object(payload).await?, "task_type", "state_id")?;
    let id = state
        .platform
        .context_services()
        .start_task(&tenant, &path, item, now())
        .await?;
    Ok(created("task_id", id))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/services/{service_id}/tasks/{task_id}/end",
    tag = "Context Services",
    summary = "Complete a task",
    params(("service_id" = String, Path, description = "The service"), ("task_id" = String, Path, description = "The task")),
    request_body(content = serde_json::Value, description = "The end event's fields, disposition, disposition_desc, timestamp"),
    responses((status = 204, description = "Completed")),
)]
pub(crate) async fn end_task(
    req: HttpRequest,
    state: AppState,
    path: Path<(String, String)>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (sid, tid) = path.into_inner();
    let end = end_of(body_object(payload).await?)?;
    state
        .platform
        .context_services()
        .end_task(&tenant, &sid, &tid, end, now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/services/{service_id}/tasks/{task_id}",
    tag = "Context Services",
    summary = "One task",
    params(("service_id" = String, Path, description = "The service"), ("task_id" = String, Path, description = "The task"), ("extensions" = Option<String>, Query, description = "Extensions to include")),
    responses((status = 200, description = "The task", body = serde_json::Value)),
)]
pub(crate) async fn get_task(
    req: HttpRequest,
    state: AppState,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (sid, tid) = path.into_inner();
    let cs = state.platform.context_services();
    let t = cs.task(&tenant, &sid, &tid)?;
    let picks = Extensions3::of(&query(&req));
    let catalog = cs.catalog(&tenant);
    let view = TaskView {
        catalog: &catalog,
        t: &t,
        pick: &picks.own,
        nested: false,
    };
    json_answer(actix_web::http::StatusCode::OK, &view)
}

// ---- business attributes ------------------------------------------------------------------

fn attribute_json(catalog: &Catalog, a: &Attribute) -> Value {
    json!({
        "name": a.name,
        "dbid": a.dbid,
        "display_name": a.display_name,
        "description": a.description,
        "map_name": catalog.map_names,
        "cv_attributes": a.cv_attributes,
        "values": a.values.iter().map(|v| json!({
            "name": v.name,
            "dbid": v.dbid,
            "display_name": v.display_name,
            "description": v.description,
        })).collect::<Vec<_>>(),
    })
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/business-attributes",
    tag = "Context Services",
    summary = "The business attributes (or the one behind a cv-attribute)",
    params(("cv-attribute" = Option<String>, Query, description = "A mapped field such as Service.service_type")),
    responses((status = 200, description = "The attributes with their values", body = serde_json::Value)),
)]
pub(crate) async fn business_attributes(
    req: HttpRequest,
    state: AppState,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let catalog = state.platform.context_services().catalog(&tenant);
    let q = query(&req);
    if let Some(cv) = get(&q, "cv-attribute") {
        let a = catalog.by_cv_attribute(cv).ok_or_else(|| {
            ApiError::ContextServices(engine::cs::CsError::ProfileNotFound(format!(
                "no business attribute is mapped to '{cv}'"
            )))
        })?;
        return Ok(HttpResponse::Ok().json(attribute_json(&catalog, a)));
    }
    let all: Vec<Value> = catalog
        .attributes()
        .map(|a| attribute_json(&catalog, a))
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/business-attributes/{name}",
    tag = "Context Services",
    summary = "One business attribute with its values",
    params(("name" = String, Path, description = "The attribute")),
    responses((status = 200, description = "The attribute", body = serde_json::Value)),
)]
pub(crate) async fn business_attribute(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let catalog = state.platform.context_services().catalog(&tenant);
    let a = catalog.attribute(&path).ok_or_else(|| {
        ApiError::ContextServices(engine::cs::CsError::ProfileNotFound(format!(
            "no business attribute '{}'",
            path.as_str()
        )))
    })?;
    Ok(HttpResponse::Ok().json(attribute_json(&catalog, a)))
}

// ---- maintenance --------------------------------------------------------------------------

#[utoipa::path(
    post,
    path = "/genesys/1/cs/maintenance/purge",
    tag = "Context Services",
    summary = "Purge services before a limit",
    request_body(content = serde_json::Value, description = "{limit: time, operation: purge.service.(all|started|started.anonymous|completed|completed.anonymous)}"),
    responses((status = 200, description = "{\"purged\": n}", body = serde_json::Value)),
)]
pub(crate) async fn purge(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_object(payload).await?;
    let limit = body
        .get("limit")
        .ok_or_else(|| invalid("a purge needs 'limit' (a time)"))
        .and_then(|v| parse_time("limit", v))?;
    let op = body
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or("purge.service.all");
    let kind = PurgeKind::parse(op).ok_or_else(|| {
        invalid(format!(
            "unknown operation '{op}' (purge.service.all, started, started.anonymous, completed or completed.anonymous)"
        ))
    })?;
    let n = state
        .platform
        .context_services()
        .purge(&tenant, kind, limit)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "purged": n })))
}

fn export_query(
    q: &[(String, String)],
    body: &Map<String, Value>,
) -> Result<(ExportQuery, bool), ApiError> {
    let param = |name: &str| -> Option<Value> {
        body.get(name)
            .cloned()
            .or_else(|| get(q, name).map(|v| Value::from(v.to_owned())))
    };
    let from = param("time_from")
        .ok_or_else(|| invalid("an export needs 'time_from'"))
        .and_then(|v| parse_time("time_from", &v))?;
    let to = param("time_to")
        .map(|v| parse_time("time_to", &v))
        .transpose()?
        .unwrap_or_else(now);
    let events = match param("filter_events")
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("any")
    {
        "any" => ExportEvents::Any,
        "started" => ExportEvents::Started,
        "completed" => ExportEvents::Completed,
        other => {
            return Err(invalid(format!(
                "filter_events is any, started or completed, not '{other}'"
            )))
        }
    };
    let status = match param("filter_state")
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("any")
    {
        "any" => Status::Any,
        "active" => Status::Active,
        "inactive" | "completed" => Status::Completed,
        other => {
            return Err(invalid(format!(
                "filter_state is any, active or inactive, not '{other}'"
            )))
        }
    };
    let ids_only = match param("export_content")
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("services")
    {
        "services" | "full" => false,
        "ids" | "service_ids" => true,
        other => {
            return Err(invalid(format!(
                "export_content is services or ids, not '{other}'"
            )))
        }
    };
    Ok((
        ExportQuery {
            from,
            to,
            events,
            status,
            after: None,
            limit: EXPORT_PAGE,
        },
        ids_only,
    ))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/maintenance/services/stream",
    tag = "Context Services",
    summary = "Export services as a JSON stream",
    params(
        ("time_from" = String, Query, description = "From (required; ISO 8601 or ms)"),
        ("time_to" = Option<String>, Query, description = "To (default now)"),
        ("filter_events" = Option<String>, Query, description = "any, started or completed"),
        ("filter_state" = Option<String>, Query, description = "any, active or inactive"),
        ("export_content" = Option<String>, Query, description = "services (default) or ids"),
    ),
    responses((status = 200, description = "A JSON array of services (or ids)", body = serde_json::Value)),
)]
pub(crate) async fn export_stream(
    req: HttpRequest,
    state: AppState,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let (first, ids_only) = export_query(&query(&req), &Map::new())?;
    // The first page now, so a bad request is an error status rather than a broken stream.
    let cs_state = state.clone();
    let page = move |q: &ExportQuery| -> Result<(Vec<Service>, Bytes), ApiError> {
        let cs = cs_state.platform.context_services();
        let services = cs.export(&tenant, q)?;
        let catalog = cs.catalog(&tenant);
        let all = Extensions3::all();
        let mut text = String::new();
        for s in &services {
            if !text.is_empty() || q.after.is_some() {
                text.push(',');
            }
            let v = if ids_only {
                serde_json::to_string(&s.id)
            } else {
                serde_json::to_string(&full_view(&catalog, s, &all))
            };
            text.push_str(
                &v.map_err(|e| ApiError::Internal(format!("rendering the export: {e}")))?,
            );
        }
        Ok((services, Bytes::from(text)))
    };
    let (services, bytes) = page(&first)?;
    let next = (services.len() == EXPORT_PAGE).then(|| ExportQuery {
        after: services.last().map(|s| s.id.clone()),
        ..first.clone()
    });
    let head = futures_util::stream::iter([
        Ok::<_, actix_web::Error>(Bytes::from_static(b"[")),
        Ok(bytes),
    ]);
    let rest = futures_util::stream::unfold(next, move |next| {
        let page = page.clone();
        async move {
            let q = next?;
            match page(&q) {
                Ok((services, bytes)) => {
                    let more = (services.len() == EXPORT_PAGE).then(|| ExportQuery {
                        after: services.last().map(|s| s.id.clone()),
                        ..q
                    });
                    Some((Ok(bytes), more))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an export stream ended early");
                    None
                }
            }
        }
    });
    let tail = futures_util::stream::iter([Ok(Bytes::from_static(b"]"))]);
    use futures_util::StreamExt;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(head.chain(rest).chain(tail)))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/maintenance/services/files",
    tag = "Context Services",
    summary = "Export services to files in the export folder ([cview] export-folder, under the data folder)",
    request_body(content = serde_json::Value, description = "time_from (required), time_to, filter_events, filter_state, export_content"),
    responses((status = 200, description = "{\"created\": [file names], \"services\": n}", body = serde_json::Value)),
)]
pub(crate) async fn export_files(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_object(payload).await?;
    let (mut q, ids_only) = export_query(&query(&req), &body)?;
    // `[cview] export-folder`, relative to the store's folder (default `cs-exports` there).
    let folder = state
        .platform
        .section("cview")
        .and_then(|o| engine::config::option(&o, "export-folder").map(String::from))
        .unwrap_or_else(|| "cs-exports".to_owned());
    let folder = state.data_dir.join(folder).to_string_lossy().into_owned();
    let cs_state = state.clone();
    let written = web::block(move || -> Result<(Vec<String>, usize), ApiError> {
        use std::io::Write as _;
        let cs = cs_state.platform.context_services();
        let catalog = cs.catalog(&tenant);
        let all = Extensions3::all();
        std::fs::create_dir_all(&folder)
            .map_err(|e| ApiError::Internal(format!("creating the export folder {folder}: {e}")))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let json_name = format!("{folder}/services-{stamp}.json");
        let csv_name = format!("{folder}/services-{stamp}.csv");
        let open = |n: &str| {
            std::fs::File::create(n)
                .map(std::io::BufWriter::new)
                .map_err(|e| ApiError::Internal(format!("creating {n}: {e}")))
        };
        let (mut json_out, mut csv_out) = (open(&json_name)?, open(&csv_name)?);
        let io = |e: std::io::Error| ApiError::Internal(format!("writing the export: {e}"));
        writeln!(
            csv_out,
            "service_id,customer_id,contact_key,service_type,started,completed,disposition"
        )
        .map_err(io)?;
        let mut n = 0;
        loop {
            let page = cs.export(&tenant, &q)?;
            for s in &page {
                n += 1;
                let line = if ids_only {
                    serde_json::to_string(&s.id)
                } else {
                    serde_json::to_string(&full_view(&catalog, s, &all))
                }
                .map_err(|e| ApiError::Internal(format!("rendering the export: {e}")))?;
                writeln!(json_out, "{line}").map_err(io)?;
                let (cid, key) = match &s.owner {
                    Owner::Customer(c) => (c.as_str(), ""),
                    Owner::Anonymous(k) => ("", k.as_str()),
                };
                let cell = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
                writeln!(
                    csv_out,
                    "{},{},{},{},{},{},{}",
                    cell(&s.id),
                    cell(cid),
                    cell(key),
                    cell(s.service_type.as_deref().unwrap_or("")),
                    time_text(s.started.timestamp),
                    s.completed
                        .as_ref()
                        .map(|c| time_text(c.timestamp))
                        .unwrap_or_default(),
                    cell(
                        s.completed
                            .as_ref()
                            .and_then(|c| c.disposition.as_deref())
                            .unwrap_or("")
                    ),
                )
                .map_err(io)?;
            }
            if page.len() < EXPORT_PAGE {
                break;
            }
            q.after = page.last().map(|s| s.id.clone());
        }
        json_out.flush().map_err(io)?;
        csv_out.flush().map_err(io)?;
        Ok((vec![json_name, csv_name], n))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the export failed: {e}")))??;
    Ok(HttpResponse::Ok().json(json!({"created": written.0, "services": written.1})))
}

// ---- profiles -----------------------------------------------------------------------------

fn profile_json(p: &Profile, extensions: &Pick) -> Value {
    let mut m = Map::new();
    m.insert("customer_id".into(), p.customer_id.clone().into());
    for (k, v) in &p.attributes {
        m.insert(k.clone(), v.clone());
    }
    extensions.apply(&p.extensions, &mut m);
    Value::Object(m)
}

fn profile_pick(q: &[(String, String)]) -> Pick {
    let mut pick = Pick::None;
    for n in list(q, "extensions") {
        pick.add(&n);
    }
    pick
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/profiles",
    tag = "Customer Profiles",
    summary = "Create a customer profile",
    request_body(content = serde_json::Value, description = "customer_id (optional), attributes, and extensions by schema name"),
    responses((status = 201, description = "{\"customer_id\"}, with Location", body = serde_json::Value)),
)]
pub(crate) async fn create_profile(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_object(payload).await?;
    let id = state
        .platform
        .context_services()
        .create_profile(&tenant, &body, now())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/genesys/1/cs/profiles/{id}")))
        .json(json!({ "customer_id": id })))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/profiles",
    tag = "Customer Profiles",
    summary = "Identify customers by their attributes",
    params(
        ("id_key" = Option<String>, Query, description = "The identification key to use (default: chosen from the attributes given)"),
        ("include_profile" = Option<String>, Query, description = "yes (default) or no"),
        ("extensions" = Option<String>, Query, description = "Extensions to include"),
    ),
    responses((status = 200, description = "The profiles that match", body = serde_json::Value)),
)]
pub(crate) async fn identify(req: HttpRequest, state: AppState) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let q = query(&req);
    let include = !matches!(
        get(&q, "include_profile")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("no" | "false")
    );
    let reserved = [
        "id_key",
        "include_profile",
        "extensions",
        "include_extensions",
    ];
    let attrs: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| !reserved.contains(&k.as_str()))
        .cloned()
        .collect();
    if attrs.is_empty() {
        return Err(invalid(
            "give the attributes to identify by, e.g. ?PhoneNumber=5125",
        ));
    }
    let (_, found) =
        state
            .platform
            .context_services()
            .identify(&tenant, &attrs, get(&q, "id_key"))?;
    let pick = profile_pick(&q);
    let out: Vec<Value> = found
        .iter()
        .map(|p| {
            if include {
                profile_json(p, &pick)
            } else {
                json!({"customer_id": p.customer_id})
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/profiles/{customer_id}",
    tag = "Customer Profiles",
    summary = "A customer profile",
    params(("customer_id" = String, Path, description = "The customer"), ("extensions" = Option<String>, Query, description = "Extensions to include (names or *)")),
    responses((status = 200, description = "The profile", body = serde_json::Value)),
)]
pub(crate) async fn get_profile(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let p = state.platform.context_services().profile(&tenant, &path)?;
    Ok(HttpResponse::Ok().json(profile_json(&p, &profile_pick(&query(&req)))))
}

#[utoipa::path(
    put,
    path = "/genesys/1/cs/profiles/{customer_id}",
    tag = "Customer Profiles",
    summary = "Replace a profile's attributes (extensions only where given)",
    params(("customer_id" = String, Path, description = "The customer")),
    request_body(content = serde_json::Value, description = "The profile"),
    responses((status = 200, description = "Replaced")),
)]
pub(crate) async fn put_profile(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_object(payload).await?;
    state
        .platform
        .context_services()
        .update_profile(&tenant, &path, &body, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    delete,
    path = "/genesys/1/cs/profiles/{customer_id}",
    tag = "Customer Profiles",
    summary = "Delete a profile",
    params(("customer_id" = String, Path, description = "The customer")),
    responses((status = 200, description = "Deleted")),
)]
pub(crate) async fn delete_profile(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    state
        .platform
        .context_services()
        .delete_profile(&tenant, &path)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/profiles/{customer_id}/extensions",
    tag = "Customer Profiles",
    summary = "Insert or replace extension records",
    params(("customer_id" = String, Path, description = "The customer")),
    request_body(content = serde_json::Value, description = "{Extension: record or [records]}"),
    responses((status = 200, description = "Stored")),
)]
pub(crate) async fn profile_extensions(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_object(payload).await?;
    state
        .platform
        .context_services()
        .insert_extension_records(&tenant, &path, &body, now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/profiles/extensions",
    tag = "Customer Profiles",
    summary = "The profile extension schemas",
    responses((status = 200, description = "The schemas", body = serde_json::Value)),
)]
pub(crate) async fn schemas(req: HttpRequest, state: AppState) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let all: Vec<Value> = state
        .platform
        .context_services()
        .schemas(&tenant)
        .iter()
        .map(|s| s.to_json())
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/metadata/profiles/extensions",
    tag = "Customer Profiles",
    summary = "Create a profile extension schema",
    request_body(content = serde_json::Value, description = "{name, type: single-valued|multi-valued, attributes: [{name, type, length, default, mandatory}], unique: [...]}"),
    responses((status = 201, description = "{\"name\"}", body = serde_json::Value)),
)]
pub(crate) async fn create_schema(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_value(payload).await?;
    let name = state
        .platform
        .context_services()
        .create_schema(&tenant, &body)
        .await?;
    Ok(HttpResponse::Created().json(json!({ "name": name })))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/profiles/extensions/{name}",
    tag = "Customer Profiles",
    summary = "One profile extension schema",
    params(("name" = String, Path, description = "The schema")),
    responses((status = 200, description = "The schema", body = serde_json::Value)),
)]
pub(crate) async fn schema(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let s = state.platform.context_services().schema(&tenant, &path)?;
    Ok(HttpResponse::Ok().json(s.to_json()))
}

#[utoipa::path(
    delete,
    path = "/genesys/1/cs/metadata/profiles/extensions/{name}",
    tag = "Customer Profiles",
    summary = "Delete a profile extension schema",
    params(("name" = String, Path, description = "The schema")),
    responses((status = 200, description = "Deleted")),
)]
pub(crate) async fn delete_schema(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    state
        .platform
        .context_services()
        .delete_schema(&tenant, &path)
        .await?;
    Ok(HttpResponse::Ok().finish())
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/identification-keys",
    tag = "Customer Profiles",
    summary = "The identification keys, in the order lookups try them",
    responses((status = 200, description = "The keys", body = serde_json::Value)),
)]
pub(crate) async fn keys(req: HttpRequest, state: AppState) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let all: Vec<Value> = state
        .platform
        .context_services()
        .keys(&tenant)
        .iter()
        .map(|k| k.to_json())
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

#[utoipa::path(
    post,
    path = "/genesys/1/cs/metadata/identification-keys",
    tag = "Customer Profiles",
    summary = "Define an identification key",
    request_body(content = serde_json::Value, description = "{name, source: profile|<extension>, attributes: [...], unique}"),
    responses((status = 201, description = "The key with its id", body = serde_json::Value)),
)]
pub(crate) async fn create_key(
    req: HttpRequest,
    state: AppState,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let body = body_value(payload).await?;
    let key = state
        .platform
        .context_services()
        .create_key(&tenant, &body)
        .await?;
    Ok(HttpResponse::Created().json(key.to_json()))
}

/// The Journey Timeline's configuration when `[cview] timeline` sets none.
pub const DEFAULT_TIMELINE: &str = r#"{
  "search": [
    {"label": "Email", "attributes": ["EmailAddress"]},
    {"label": "Phone Number", "attributes": ["PhoneNumber"]},
    {"label": "Name", "attributes": ["LastName", "FirstName"]}
  ],
  "header": ["LastName", "FirstName"],
  "profile": [
    {"title": "Identification", "fields": [
      {"label": "Customer Name", "attributes": ["LastName", "FirstName"]},
      {"label": "Title", "attributes": ["Title"]},
      {"label": "Company", "attributes": ["Company"]}]},
    {"title": "Segmentation", "fields": [
      {"label": "City", "attributes": ["City"]},
      {"label": "Language", "attributes": ["Language"]},
      {"label": "Sentiment", "attributes": ["Sentiment"]}]},
    {"title": "Contact Information", "fields": [
      {"label": "Phones", "attributes": ["PhoneNumber"]},
      {"label": "Emails", "attributes": ["EmailAddress"]}]}
  ]
}"#;

#[utoipa::path(
    get,
    path = "/genesys/1/cs/ui/journey-timeline",
    tag = "Context Services",
    summary = "The Journey Timeline's configuration (Ringback): search keys, header and profile sections",
    responses((status = 200, description = "The configuration", body = serde_json::Value)),
)]
pub(crate) async fn timeline_config(
    req: HttpRequest,
    state: AppState,
) -> Result<HttpResponse, ApiError> {
    tenant(&req, &state)?;
    // The admin API refuses a `timeline` that is not a JSON object; one seeded from a file that
    // is not is reported and the default shown.
    let configured = state.platform.context_services().settings().timeline;
    let value = match configured.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(v @ Value::Object(_))) => v,
        Some(_) => {
            tracing::warn!("[cview] timeline is not a JSON object: the default is shown");
            serde_json::from_str(DEFAULT_TIMELINE).unwrap_or(Value::Null)
        }
        None => serde_json::from_str(DEFAULT_TIMELINE).unwrap_or(Value::Null),
    };
    Ok(HttpResponse::Ok().json(value))
}

#[utoipa::path(
    get,
    path = "/genesys/1/cs/metadata/identification-keys/{name}",
    tag = "Customer Profiles",
    summary = "One identification key",
    params(("name" = String, Path, description = "The key")),
    responses((status = 200, description = "The key", body = serde_json::Value)),
)]
pub(crate) async fn key(
    req: HttpRequest,
    state: AppState,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant(&req, &state)?;
    let k = state.platform.context_services().key(&tenant, &path)?;
    Ok(HttpResponse::Ok().json(k.to_json()))
}

/// The `/genesys/1/cs` scope (literal paths before the patterns they would also match).
pub fn scope() -> actix_web::Scope {
    web::scope("/cs")
        .service(resource("/services/start").route(web::post().to(start_service)))
        .service(
            resource("/services/anonymous/{key}/active")
                .route(web::get().to(anonymous_services_active)),
        )
        .service(
            resource("/services/anonymous/{key}/completed")
                .route(web::get().to(anonymous_services_completed)),
        )
        .service(
            resource("/services/anonymous/{key}/summary").route(web::get().to(anonymous_summary)),
        )
        .service(resource("/services/anonymous/{key}").route(web::get().to(anonymous_services)))
        .service(
            resource("/services/{sid}")
                .route(web::get().to(get_service))
                .route(web::put().to(service_lifetime))
                .route(web::delete().to(delete_service)),
        )
        .service(resource("/services/{sid}/end").route(web::post().to(end_service)))
        .service(
            resource("/services/{sid}/extensions/{name}").route(web::put().to(service_extension)),
        )
        .service(
            resource("/services/{sid}/extensions/{name}/merge")
                .route(web::put().to(service_extension_merge)),
        )
        .service(resource("/services/{sid}/states").route(web::get().to(states)))
        .service(resource("/services/{sid}/states/active").route(web::get().to(states_active)))
        .service(
            resource("/services/{sid}/states/completed").route(web::get().to(states_completed)),
        )
        .service(resource("/services/{sid}/states/start").route(web::post().to(start_state)))
        .service(resource("/services/{sid}/states/transition").route(web::post().to(transition)))
        .service(resource("/services/{sid}/states/{stid}").route(web::get().to(get_state)))
        .service(resource("/services/{sid}/states/{stid}/end").route(web::post().to(end_state)))
        .service(
            resource("/services/{sid}/states/{stid}/extensions/{name}")
                .route(web::put().to(state_extension)),
        )
        .service(
            resource("/services/{sid}/states/{stid}/extensions/{name}/merge")
                .route(web::put().to(state_extension_merge)),
        )
        .service(resource("/services/{sid}/tasks").route(web::get().to(tasks)))
        .service(resource("/services/{sid}/tasks/active").route(web::get().to(tasks_active)))
        .service(resource("/services/{sid}/tasks/completed").route(web::get().to(tasks_completed)))
        .service(resource("/services/{sid}/tasks/start").route(web::post().to(start_task)))
        .service(resource("/services/{sid}/tasks/{tid}").route(web::get().to(get_task)))
        .service(resource("/services/{sid}/tasks/{tid}/end").route(web::post().to(end_task)))
        .service(
            resource("/services/{sid}/tasks/{tid}/extensions/{name}")
                .route(web::put().to(task_extension)),
        )
        .service(
            resource("/services/{sid}/tasks/{tid}/extensions/{name}/merge")
                .route(web::put().to(task_extension_merge)),
        )
        .service(resource("/customers/{cid}/services").route(web::get().to(customer_services)))
        .service(
            resource("/customers/{cid}/services/active")
                .route(web::get().to(customer_services_active)),
        )
        .service(
            resource("/customers/{cid}/services/completed")
                .route(web::get().to(customer_services_completed)),
        )
        .service(resource("/customers/{cid}/services/{sid}").route(web::post().to(associate)))
        .service(resource("/customers/{cid}/summary").route(web::get().to(customer_summary)))
        .service(resource("/items/{id}").route(web::get().to(item)))
        .service(
            resource("/metadata/business-attributes").route(web::get().to(business_attributes)),
        )
        .service(
            resource("/metadata/business-attributes/{name}")
                .route(web::get().to(business_attribute)),
        )
        .service(resource("/maintenance/purge").route(web::post().to(purge)))
        .service(resource("/maintenance/services/stream").route(web::get().to(export_stream)))
        .service(resource("/maintenance/services/files").route(web::post().to(export_files)))
        .service(
            resource("/profiles")
                .route(web::post().to(create_profile))
                .route(web::get().to(identify)),
        )
        .service(
            resource("/profiles/{cid}")
                .route(web::get().to(get_profile))
                .route(web::put().to(put_profile))
                .route(web::delete().to(delete_profile)),
        )
        .service(resource("/profiles/{cid}/extensions").route(web::post().to(profile_extensions)))
        .service(
            resource("/metadata/profiles/extensions")
                .route(web::get().to(schemas))
                .route(web::post().to(create_schema)),
        )
        .service(
            resource("/metadata/profiles/extensions/{name}")
                .route(web::get().to(schema))
                .route(web::delete().to(delete_schema)),
        )
        .service(
            resource("/metadata/identification-keys")
                .route(web::get().to(keys))
                .route(web::post().to(create_key)),
        )
        .service(resource("/metadata/identification-keys/{name}").route(web::get().to(key)))
        .service(resource("/ui/journey-timeline").route(web::get().to(timeline_config)))
        .default_service(web::to(super::routes::not_found))
}
