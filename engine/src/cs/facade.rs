//! [`ContextServices`]: every Context Services operation, on the store, with time passed in.
//! Each change is durable before its call returns; reads go straight to the store.
//!
//! Two writers of one record at the same moment are last-writer-wins (as on GMS's Cassandra):
//! each change reads the record, then writes it whole.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{Map, Value};

use super::business::{Catalog, Kind, MAPPABLE_EVENT_FIELDS};
use super::model::{
    check_extension_name, check_extensions, check_seconds, Counts, EventInput, ExportQuery,
    Extensions, ItemQuery, Owner, PurgeKind, Service, ServiceQuery, State, Task, Write,
};
use super::profiles::{self, ExtensionSchema, IdKey, Profile};
use super::settings::Settings;
use super::CsError;
use crate::config::Config;
use crate::store::{Millis, Store, WriteOp};

/// The disposition of what inactivity completed.
pub const AUTO_COMPLETED: &str = "auto-completed";
/// The most profiles a lookup answers.
pub const MAX_MATCHES: usize = 200;

/// A service to start.
#[derive(Debug, Clone, Default)]
pub struct StartService {
    pub owner: Option<Owner>,
    pub service_type: Option<String>,
    pub est_duration: Option<i64>,
    pub event: EventInput,
    /// Seconds to live (wins over `expiration_time`).
    pub ttl: Option<i64>,
    pub expiration_time: Option<Millis>,
    pub auto_complete_after: Option<i64>,
    pub extensions: Extensions,
}

/// A state or task to start.
#[derive(Debug, Clone, Default)]
pub struct StartItem {
    pub item_type: Option<String>,
    pub est_duration: Option<i64>,
    pub event: EventInput,
    /// States: the state before; tasks: the state it belongs to.
    pub link: Option<String>,
    pub extensions: Extensions,
}

/// An end event with the extensions it sets.
#[derive(Debug, Clone, Default)]
pub struct End {
    pub event: EventInput,
    pub extensions: Extensions,
}

/// Which record an extension belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service(String),
    State(String, String),
    Task(String, String),
}

/// What configuration says, rebuilt when it changes.
#[derive(Debug, Default)]
struct Configured {
    settings: Settings,
    /// By tenant (`""`: `[business-attributes]`).
    catalogs: HashMap<String, Arc<Catalog>>,
    warnings: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct TenantMeta {
    schemas: Vec<ExtensionSchema>,
    /// `None` until a key is stored: the default keys apply.
    keys: Option<Vec<IdKey>>,
}

/// A unique key's values held for a profile write: `(tenant, key id, values)`.
type Held = (String, u32, profiles::Pairs);

pub struct ContextServices {
    store: Arc<dyn Store>,
    node_id: RwLock<String>,
    configured: RwLock<Arc<Configured>>,
    meta: RwLock<HashMap<String, TenantMeta>>,
    /// Unique key values of profile writes not yet durable: `(tenant, key id, values)`.
    reserved: Mutex<HashSet<Held>>,
    rng: Mutex<StdRng>,
    /// The callbacks' journeys being written (`record_callbacks`), by callback id.
    journals: Mutex<HashMap<String, super::callbacks::Journal>>,
}

impl std::fmt::Debug for ContextServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextServices").finish_non_exhaustive()
    }
}

fn not_found(what: &str, id: &str) -> CsError {
    CsError::NotFound(format!("There are no {what} found for : {id}"))
}

/// Releases reservations when dropped (the write committed or failed).
struct Reservation<'a> {
    set: &'a Mutex<HashSet<Held>>,
    held: Vec<Held>,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut set = self.set.lock();
        for h in &self.held {
            set.remove(h);
        }
    }
}

impl ContextServices {
    /// Opens on the store with the current configuration and the stored metadata.
    pub fn open(store: Arc<dyn Store>, config: &Config) -> Result<ContextServices, CsError> {
        let mut meta: HashMap<String, TenantMeta> = HashMap::new();
        for (tenant, kind, name, body) in store.journeys().cs_meta()? {
            let value: Value = match serde_json::from_str(&body) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(tenant, kind, name, error = %e, "unreadable Context Services metadata ignored");
                    continue;
                }
            };
            let m = meta.entry(tenant.clone()).or_default();
            match kind.as_str() {
                "schema" => match ExtensionSchema::from_json(&value) {
                    Ok(s) => m.schemas.push(s),
                    Err(e) => tracing::warn!(tenant, name, error = %e, "stored schema ignored"),
                },
                "key" => {
                    let id = value.get("id").and_then(Value::as_u64).unwrap_or(0) as u32;
                    match IdKey::from_json(&value, id) {
                        Ok(k) => m.keys.get_or_insert_with(Vec::new).push(k),
                        Err(e) => tracing::warn!(tenant, name, error = %e, "stored key ignored"),
                    }
                }
                _ => {}
            }
        }
        for m in meta.values_mut() {
            if let Some(k) = &mut m.keys {
                k.sort_by_key(|k| k.id);
            }
        }
        let cs = ContextServices {
            store,
            node_id: RwLock::new(String::new()),
            configured: RwLock::new(Arc::new(Configured::default())),
            meta: RwLock::new(meta),
            reserved: Mutex::new(HashSet::new()),
            rng: Mutex::new(StdRng::from_os_rng()),
            journals: Mutex::new(HashMap::new()),
        };
        cs.configure(config);
        Ok(cs)
    }

    /// Takes up a configuration (at start, and after a section changes).
    pub fn configure(&self, config: &Config) {
        let section = |name: &str| config.section(name).map(<[_]>::to_vec).unwrap_or_default();
        let mut ba_tenants = Vec::new();
        let mut attributes = Vec::new();
        for (name, options) in config.sections() {
            if let Some(t) = name.strip_prefix("business-attributes.") {
                ba_tenants.push(t.to_owned());
            }
            if let Some(a) = name.strip_prefix("business-attribute.") {
                attributes.push((a, options.as_slice()));
            }
        }
        let settings = Settings::from_options(&section("cview"), &ba_tenants);
        let mut warnings = Vec::new();
        let mut catalogs = HashMap::new();
        let mut tenants = vec![super::DEFAULT_TENANT.to_owned()];
        tenants.extend(settings.tenants.iter().cloned());
        for t in tenants {
            let mapping = if t.is_empty() {
                section("business-attributes")
            } else {
                config
                    .section(&format!("business-attributes.{t}"))
                    .map(<[_]>::to_vec)
                    .unwrap_or_else(|| section("business-attributes"))
            };
            let (c, w) = Catalog::from_config(&mapping, attributes.iter().copied());
            if t.is_empty()
                || config
                    .section(&format!("business-attributes.{t}"))
                    .is_some()
            {
                warnings.extend(w);
            }
            catalogs.insert(t, Arc::new(c));
        }
        *self.node_id.write() = config.server().node_id;
        *self.configured.write() = Arc::new(Configured {
            settings,
            catalogs,
            warnings,
        });
    }

    /// What configuration problems were ignored (reported at start).
    pub fn warnings(&self) -> Vec<String> {
        self.configured.read().warnings.clone()
    }

    pub fn settings(&self) -> Settings {
        self.configured.read().settings.clone()
    }

    /// The tenant of a request (its `ContactCenterId`), when Context Services are on.
    pub fn tenant(&self, header: Option<&str>) -> Result<String, CsError> {
        let c = self.configured.read().clone();
        if !c.settings.enabled {
            return Err(CsError::Disabled(
                "Context Services are not enabled on this node ([cview] enabled = false)".into(),
            ));
        }
        c.settings.tenant(header)
    }

    pub fn catalog(&self, tenant: &str) -> Arc<Catalog> {
        let c = self.configured.read();
        c.catalogs
            .get(tenant)
            .or_else(|| c.catalogs.get(super::DEFAULT_TENANT))
            .cloned()
            .unwrap_or_default()
    }

    fn new_id(&self) -> String {
        format!("{}-{}", self.node_id.read(), uuid::Uuid::now_v7())
    }

    pub(super) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(super) fn journals(&self) -> &Mutex<HashMap<String, super::callbacks::Journal>> {
        &self.journals
    }

    pub(super) async fn write_all(&self, writes: Vec<Write>) -> Result<(), CsError> {
        self.commit(writes).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), CsError> {
        self.store
            .write(
                writes
                    .into_iter()
                    .map(|w| WriteOp::Journey(Box::new(w)))
                    .collect(),
            )
            .await?;
        Ok(())
    }

    /// Checks an event and maps its business-attribute fields to what records keep.
    fn canonical_event(
        &self,
        catalog: &Catalog,
        kind: Kind,
        mut event: EventInput,
        end: bool,
    ) -> Result<EventInput, CsError> {
        event.check(end)?;
        for field in MAPPABLE_EVENT_FIELDS {
            if let Some(v) = event.fields.field(field).cloned() {
                let c = catalog.canonical(kind, field, &v)?;
                event.fields.set(field, Some(c));
            }
        }
        Ok(event)
    }

    fn canonical_type(
        catalog: &Catalog,
        kind: Kind,
        t: Option<String>,
    ) -> Result<Option<String>, CsError> {
        t.map(|t| catalog.canonical(kind, kind.type_field(), &t))
            .transpose()
    }

    /// Completes a record: one already completed is refused, the end event is checked and its
    /// business-attribute fields mapped, and the end's extensions replace those of the same
    /// names. When it completed.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        tenant: &str,
        kind: Kind,
        id: &str,
        completed: &mut Option<crate::cs::Event>,
        extensions: &mut Extensions,
        end: End,
        now: Millis,
    ) -> Result<Millis, CsError> {
        if completed.is_some() {
            return Err(CsError::invalid(format!(
                "{} {id} is already completed",
                kind.as_str().to_lowercase()
            )));
        }
        check_extensions(&end.extensions)?;
        let event = self
            .canonical_event(&self.catalog(tenant), kind, end.event, true)?
            .at(now);
        let at = event.timestamp;
        *completed = Some(event);
        extensions.extend(end.extensions);
        check_extensions(extensions)?;
        Ok(at)
    }

    // ---- services ---------------------------------------------------------------------

    /// Starts a service; its id.
    pub async fn start_service(
        &self,
        tenant: &str,
        req: StartService,
        now: Millis,
    ) -> Result<String, CsError> {
        let catalog = self.catalog(tenant);
        let owner = req.owner.ok_or_else(|| {
            CsError::invalid("a service needs a 'customer_id' or a 'contact_key'")
        })?;
        owner.check()?;
        check_seconds("est_duration", req.est_duration)?;
        check_seconds("ttl", req.ttl)?;
        check_seconds("auto_complete_after", req.auto_complete_after)?;
        check_extensions(&req.extensions)?;
        let service_type = Self::canonical_type(&catalog, Kind::Service, req.service_type)?;
        let started = self
            .canonical_event(&catalog, Kind::Service, req.event, false)?
            .at(now);
        let expires_at = match (req.ttl, req.expiration_time) {
            (Some(ttl), _) => Some(now.saturating_add(ttl.saturating_mul(1000))),
            (None, e) => e,
        };
        let auto_complete_after = req
            .auto_complete_after
            .or(self.settings().auto_complete_after);
        let id = self.new_id();
        let service = Service {
            id: id.clone(),
            owner,
            service_type,
            est_duration: req.est_duration,
            last_activity: started.timestamp.max(now),
            started,
            completed: None,
            extensions: req.extensions,
            expires_at,
            auto_complete_after,
        };
        self.commit(vec![Write::PutService {
            tenant: tenant.to_owned(),
            service,
        }])
        .await?;
        Ok(id)
    }

    /// One service (400 `NotFoundException` when unknown).
    pub fn service(&self, tenant: &str, id: &str) -> Result<Service, CsError> {
        self.store
            .journeys()
            .cs_service(tenant, id)?
            .ok_or_else(|| not_found("service", id))
    }

    pub fn services(&self, tenant: &str, q: &ServiceQuery) -> Result<Vec<Service>, CsError> {
        Ok(self.store.journeys().cs_services(tenant, q)?)
    }

    /// The stored names of types a filter gives (names or DB ids).
    pub fn type_filter(
        &self,
        tenant: &str,
        kind: Kind,
        given: &[String],
    ) -> Result<Vec<String>, CsError> {
        let catalog = self.catalog(tenant);
        given
            .iter()
            .map(|t| catalog.canonical(kind, kind.type_field(), t))
            .collect()
    }

    /// Completes a service; its extensions replace those of the same names.
    pub async fn end_service(
        &self,
        tenant: &str,
        id: &str,
        end: End,
        now: Millis,
    ) -> Result<(), CsError> {
        let mut s = self.service(tenant, id)?;
        let at = self.finish(
            tenant,
            Kind::Service,
            id,
            &mut s.completed,
            &mut s.extensions,
            end,
            now,
        )?;
        s.last_activity = s.last_activity.max(at);
        self.commit(vec![Write::PutService {
            tenant: tenant.to_owned(),
            service: s,
        }])
        .await
    }

    /// Sets a service's lifetime: `ttl` seconds from now, else `expiration_time`.
    pub async fn set_lifetime(
        &self,
        tenant: &str,
        id: &str,
        ttl: Option<i64>,
        expiration_time: Option<Millis>,
        now: Millis,
    ) -> Result<(), CsError> {
        check_seconds("ttl", ttl)?;
        let mut s = self.service(tenant, id)?;
        s.expires_at = match (ttl, expiration_time) {
            (Some(ttl), _) => Some(now.saturating_add(ttl.saturating_mul(1000))),
            (None, Some(e)) => Some(e),
            (None, None) => {
                return Err(CsError::invalid(
                    "give the service's lifetime as 'ttl' (seconds) or 'expiration_time'",
                ))
            }
        };
        self.commit(vec![Write::PutService {
            tenant: tenant.to_owned(),
            service: s,
        }])
        .await
    }

    /// Deletes a service with its states and tasks.
    pub async fn delete_service(&self, tenant: &str, id: &str) -> Result<(), CsError> {
        self.service(tenant, id)?;
        self.commit(vec![Write::DeleteService {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
        }])
        .await
    }

    /// Associates a service (typically anonymous) with a customer; an event given replaces
    /// the start event's fields it sets.
    pub async fn associate(
        &self,
        tenant: &str,
        customer: &str,
        id: &str,
        event: Option<EventInput>,
        now: Millis,
    ) -> Result<(), CsError> {
        let owner = Owner::Customer(customer.to_owned());
        owner.check()?;
        let catalog = self.catalog(tenant);
        let mut s = self.service(tenant, id)?;
        if let Some(e) = event {
            let e = self.canonical_event(&catalog, Kind::Service, e, false)?;
            if let Some(t) = e.timestamp {
                s.started.timestamp = t;
            }
            for (name, v) in e.fields.fields() {
                s.started.set(name, Some(v.clone()));
            }
        }
        s.owner = owner;
        s.last_activity = s.last_activity.max(now);
        self.commit(vec![Write::PutService {
            tenant: tenant.to_owned(),
            service: s,
        }])
        .await
    }

    /// Replaces (or, with `merge`, adds keys to) one extension of a service, state or task.
    pub async fn put_extension(
        &self,
        tenant: &str,
        target: &Target,
        name: &str,
        value: Value,
        merge: bool,
        now: Millis,
    ) -> Result<(), CsError> {
        check_extension_name(name)?;
        if merge && !value.is_object() {
            return Err(CsError::invalid(format!(
                "merging into extension '{name}' takes a JSON object"
            )));
        }
        if !(value.is_object() || value.is_array()) {
            return Err(CsError::invalid(format!(
                "extension '{name}' must be an object or an array"
            )));
        }
        let put = |ext: &mut Extensions| -> Result<(), CsError> {
            match (merge, ext.get_mut(name), value.clone()) {
                (true, Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                (true, Some(_), _) => {
                    return Err(CsError::invalid(format!(
                        "extension '{name}' is not a map: it cannot be merged into"
                    )))
                }
                (_, _, v) => {
                    ext.insert(name.to_owned(), v);
                }
            }
            check_extensions(ext)
        };
        let tenant_s = tenant.to_owned();
        let writes = match target {
            Target::Service(sid) => {
                let mut s = self.service(tenant, sid)?;
                put(&mut s.extensions)?;
                s.last_activity = s.last_activity.max(now);
                vec![Write::PutService {
                    tenant: tenant_s,
                    service: s,
                }]
            }
            Target::State(sid, stid) => {
                let mut st = self.state(tenant, sid, stid)?;
                put(&mut st.extensions)?;
                vec![
                    Write::PutState {
                        tenant: tenant_s.clone(),
                        state: st,
                    },
                    Write::Touch {
                        tenant: tenant_s,
                        id: sid.clone(),
                        at: now,
                    },
                ]
            }
            Target::Task(sid, tid) => {
                let mut t = self.task(tenant, sid, tid)?;
                put(&mut t.extensions)?;
                vec![
                    Write::PutTask {
                        tenant: tenant_s.clone(),
                        task: t,
                    },
                    Write::Touch {
                        tenant: tenant_s,
                        id: sid.clone(),
                        at: now,
                    },
                ]
            }
        };
        self.commit(writes).await
    }

    // ---- states and tasks -------------------------------------------------------------

    fn new_state(
        &self,
        tenant: &str,
        service: &Service,
        req: StartItem,
        now: Millis,
    ) -> Result<State, CsError> {
        let catalog = self.catalog(tenant);
        check_seconds("est_duration", req.est_duration)?;
        check_extensions(&req.extensions)?;
        if let Some(prev) = &req.link {
            self.state(tenant, &service.id, prev)?;
        }
        Ok(State {
            service_id: service.id.clone(),
            id: self.new_id(),
            state_type: Self::canonical_type(&catalog, Kind::State, req.item_type)?,
            previous_state_id: req.link,
            est_duration: req.est_duration,
            started: self
                .canonical_event(&catalog, Kind::State, req.event, false)?
                .at(now),
            completed: None,
            extensions: req.extensions,
        })
    }

    /// Starts a state of a service (completed services take new states too, as GMS's do).
    pub async fn start_state(
        &self,
        tenant: &str,
        sid: &str,
        req: StartItem,
        now: Millis,
    ) -> Result<String, CsError> {
        let service = self.service(tenant, sid)?;
        let state = self.new_state(tenant, &service, req, now)?;
        let id = state.id.clone();
        self.commit(vec![
            Write::Touch {
                tenant: tenant.to_owned(),
                id: sid.to_owned(),
                at: state.started.timestamp.max(now),
            },
            Write::PutState {
                tenant: tenant.to_owned(),
                state,
            },
        ])
        .await?;
        Ok(id)
    }

    pub fn state(&self, tenant: &str, sid: &str, id: &str) -> Result<State, CsError> {
        self.service(tenant, sid)?;
        self.store
            .journeys()
            .cs_state(tenant, sid, id)?
            .ok_or_else(|| not_found("state", id))
    }

    pub fn task(&self, tenant: &str, sid: &str, id: &str) -> Result<Task, CsError> {
        self.service(tenant, sid)?;
        self.store
            .journeys()
            .cs_task(tenant, sid, id)?
            .ok_or_else(|| not_found("task", id))
    }

    pub fn states(
        &self,
        tenant: &str,
        services: &[&str],
        q: &ItemQuery,
    ) -> Result<Vec<State>, CsError> {
        Ok(self.store.journeys().cs_states(tenant, services, q)?)
    }

    pub fn tasks(
        &self,
        tenant: &str,
        services: &[&str],
        q: &ItemQuery,
    ) -> Result<Vec<Task>, CsError> {
        Ok(self.store.journeys().cs_tasks(tenant, services, q)?)
    }

    fn ended_state(
        &self,
        tenant: &str,
        sid: &str,
        id: &str,
        end: End,
        now: Millis,
    ) -> Result<State, CsError> {
        let mut st = self.state(tenant, sid, id)?;
        self.finish(
            tenant,
            Kind::State,
            id,
            &mut st.completed,
            &mut st.extensions,
            end,
            now,
        )?;
        Ok(st)
    }

    pub async fn end_state(
        &self,
        tenant: &str,
        sid: &str,
        id: &str,
        end: End,
        now: Millis,
    ) -> Result<(), CsError> {
        let st = self.ended_state(tenant, sid, id, end, now)?;
        self.commit(vec![
            Write::PutState {
                tenant: tenant.to_owned(),
                state: st,
            },
            Write::Touch {
                tenant: tenant.to_owned(),
                id: sid.to_owned(),
                at: now,
            },
        ])
        .await
    }

    /// Ends `from` and starts the next state in one change; the new state's id.
    pub async fn transition(
        &self,
        tenant: &str,
        sid: &str,
        from: &str,
        end: End,
        mut to: StartItem,
        now: Millis,
    ) -> Result<String, CsError> {
        let service = self.service(tenant, sid)?;
        let ended = self.ended_state(tenant, sid, from, end, now)?;
        to.link = Some(from.to_owned());
        let next = self.new_state(tenant, &service, to, now)?;
        let id = next.id.clone();
        self.commit(vec![
            Write::PutState {
                tenant: tenant.to_owned(),
                state: ended,
            },
            Write::PutState {
                tenant: tenant.to_owned(),
                state: next,
            },
            Write::Touch {
                tenant: tenant.to_owned(),
                id: sid.to_owned(),
                at: now,
            },
        ])
        .await?;
        Ok(id)
    }

    pub async fn start_task(
        &self,
        tenant: &str,
        sid: &str,
        req: StartItem,
        now: Millis,
    ) -> Result<String, CsError> {
        let catalog = self.catalog(tenant);
        self.service(tenant, sid)?;
        check_seconds("est_duration", req.est_duration)?;
        check_extensions(&req.extensions)?;
        if let Some(state) = &req.link {
            self.state(tenant, sid, state)?;
        }
        let task = Task {
            service_id: sid.to_owned(),
            id: self.new_id(),
            state_id: req.link,
            task_type: Self::canonical_type(&catalog, Kind::Task, req.item_type)?,
            est_duration: req.est_duration,
            started: self
                .canonical_event(&catalog, Kind::Task, req.event, false)?
                .at(now),
            completed: None,
            extensions: req.extensions,
        };
        let id = task.id.clone();
        self.commit(vec![
            Write::Touch {
                tenant: tenant.to_owned(),
                id: sid.to_owned(),
                at: task.started.timestamp.max(now),
            },
            Write::PutTask {
                tenant: tenant.to_owned(),
                task,
            },
        ])
        .await?;
        Ok(id)
    }

    pub async fn end_task(
        &self,
        tenant: &str,
        sid: &str,
        id: &str,
        end: End,
        now: Millis,
    ) -> Result<(), CsError> {
        let mut t = self.task(tenant, sid, id)?;
        self.finish(
            tenant,
            Kind::Task,
            id,
            &mut t.completed,
            &mut t.extensions,
            end,
            now,
        )?;
        self.commit(vec![
            Write::PutTask {
                tenant: tenant.to_owned(),
                task: t,
            },
            Write::Touch {
                tenant: tenant.to_owned(),
                id: sid.to_owned(),
                at: now,
            },
        ])
        .await
    }

    /// The service a state or task id belongs to.
    pub fn item_service(&self, tenant: &str, id: &str) -> Result<(String, &'static str), CsError> {
        self.store
            .journeys()
            .cs_item_service(tenant, id)?
            .ok_or_else(|| not_found("state or task", id))
    }

    pub fn counts(&self, tenant: &str, owner: &Owner) -> Result<Counts, CsError> {
        Ok(self.store.journeys().cs_counts(tenant, owner)?)
    }

    // ---- maintenance ------------------------------------------------------------------

    /// Purges services before `before`; how many.
    pub async fn purge(
        &self,
        tenant: &str,
        kind: PurgeKind,
        before: Millis,
    ) -> Result<u64, CsError> {
        let n = self.store.journeys().cs_purge_count(tenant, kind, before)?;
        self.commit(vec![Write::Purge {
            tenant: tenant.to_owned(),
            kind,
            before,
        }])
        .await?;
        Ok(n)
    }

    pub fn export(&self, tenant: &str, q: &ExportQuery) -> Result<Vec<Service>, CsError> {
        if q.to < q.from {
            return Err(CsError::invalid("'time_to' is before 'time_from'"));
        }
        Ok(self.store.journeys().cs_export(tenant, q)?)
    }

    /// Deletes services past their expiration and completes (with their active states and
    /// tasks) those idle past their auto-completion, at most `limit` of them; how many of
    /// each.
    pub async fn sweep(&self, now: Millis, limit: usize) -> Result<(usize, usize), CsError> {
        let due = self.store.journeys().cs_due(now, limit)?;
        let (mut deleted, mut completed) = (0, 0);
        let mut writes = Vec::new();
        for (tenant, mut s) in due {
            if s.expires_at.is_some_and(|e| e <= now) {
                deleted += 1;
                writes.push(Write::DeleteService { tenant, id: s.id });
                continue;
            }
            let end = |at: Millis| crate::cs::Event {
                timestamp: at,
                disposition: Some(AUTO_COMPLETED.to_owned()),
                disposition_desc: Some("completed after a period of inactivity".to_owned()),
                ..crate::cs::Event::default()
            };
            let ids = [s.id.as_str()];
            let active = ItemQuery {
                status: super::Status::Active,
                ..ItemQuery::default()
            };
            for mut st in self.store.journeys().cs_states(&tenant, &ids, &active)? {
                st.completed = Some(end(now));
                writes.push(Write::PutState {
                    tenant: tenant.clone(),
                    state: st,
                });
            }
            for mut t in self.store.journeys().cs_tasks(&tenant, &ids, &active)? {
                t.completed = Some(end(now));
                writes.push(Write::PutTask {
                    tenant: tenant.clone(),
                    task: t,
                });
            }
            s.completed = Some(end(now));
            completed += 1;
            writes.push(Write::PutService { tenant, service: s });
        }
        if !writes.is_empty() {
            self.commit(writes).await?;
        }
        Ok((deleted, completed))
    }

    // ---- profiles ---------------------------------------------------------------------

    fn tenant_meta(&self, tenant: &str) -> TenantMeta {
        self.meta.read().get(tenant).cloned().unwrap_or_default()
    }

    pub fn schemas(&self, tenant: &str) -> Vec<ExtensionSchema> {
        self.tenant_meta(tenant).schemas
    }

    pub fn keys(&self, tenant: &str) -> Vec<IdKey> {
        self.tenant_meta(tenant)
            .keys
            .unwrap_or_else(profiles::default_keys)
    }

    pub async fn create_schema(&self, tenant: &str, body: &Value) -> Result<String, CsError> {
        let schema = ExtensionSchema::from_json(body)?;
        if self
            .schemas(tenant)
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(&schema.name))
        {
            return Err(CsError::Conflict(format!(
                "extension schema '{}' exists",
                schema.name
            )));
        }
        let name = schema.name.clone();
        self.commit(vec![Write::PutMeta {
            tenant: tenant.to_owned(),
            kind: "schema".into(),
            name: name.clone(),
            body: schema.to_json().to_string(),
        }])
        .await?;
        self.meta
            .write()
            .entry(tenant.to_owned())
            .or_default()
            .schemas
            .push(schema);
        Ok(name)
    }

    /// One extension schema, by name (any case).
    pub fn schema(&self, tenant: &str, name: &str) -> Result<ExtensionSchema, CsError> {
        self.schemas(tenant)
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CsError::ProfileNotFound(format!("no extension schema '{name}'")))
    }

    /// One identification key, by name (any case).
    pub fn key(&self, tenant: &str, name: &str) -> Result<IdKey, CsError> {
        self.keys(tenant)
            .into_iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CsError::ProfileNotFound(format!("no identification key '{name}'")))
    }

    pub async fn delete_schema(&self, tenant: &str, name: &str) -> Result<(), CsError> {
        let schema = self.schema(tenant, name)?;
        self.commit(vec![Write::DeleteMeta {
            tenant: tenant.to_owned(),
            kind: "schema".into(),
            name: schema.name.clone(),
        }])
        .await?;
        if let Some(m) = self.meta.write().get_mut(tenant) {
            m.schemas.retain(|s| s.name != schema.name);
        }
        Ok(())
    }

    /// Adds an identification key (ids ascending from the last; the default keys are kept
    /// as stored keys once another is added).
    pub async fn create_key(&self, tenant: &str, body: &Value) -> Result<IdKey, CsError> {
        let keys = self.keys(tenant);
        let next = keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        let key = IdKey::from_json(body, next)?;
        if keys.iter().any(|k| k.name.eq_ignore_ascii_case(&key.name)) {
            return Err(CsError::Conflict(format!(
                "identification key '{}' exists",
                key.name
            )));
        }
        if key.source != "profile" && !self.schemas(tenant).iter().any(|s| s.name == key.source) {
            return Err(CsError::invalid(format!(
                "identification key '{}': source '{}' is neither profile nor an extension schema",
                key.name, key.source
            )));
        }
        let stored = self.tenant_meta(tenant).keys.is_some();
        let mut all = keys;
        all.push(key.clone());
        let writes = all
            .iter()
            .filter(|k| !stored || k.id == key.id)
            .map(|k| Write::PutMeta {
                tenant: tenant.to_owned(),
                kind: "key".into(),
                name: k.name.clone(),
                body: k.to_json().to_string(),
            })
            .collect();
        self.commit(writes).await?;
        self.meta.write().entry(tenant.to_owned()).or_default().keys = Some(all);
        Ok(key)
    }

    pub fn profile(&self, tenant: &str, id: &str) -> Result<Profile, CsError> {
        self.store
            .journeys()
            .cs_profile(tenant, id)?
            .ok_or_else(|| CsError::ProfileNotFound(format!("no customer profile '{id}'")))
    }

    /// Reserves the profile's unique key values (refusing those another profile has).
    fn reserve(&self, tenant: &str, p: &Profile) -> Result<Reservation<'_>, CsError> {
        let keys = self.keys(tenant);
        let wanted = p.unique_values(&keys);
        let mut held = Vec::new();
        let mut set = self.reserved.lock();
        for (key, pairs) in wanted {
            let mut ids: Option<Vec<String>> = None;
            for (name, value) in &pairs {
                let found =
                    self.store
                        .journeys()
                        .cs_profiles_with(tenant, name, value, MAX_MATCHES)?;
                ids = Some(match ids {
                    None => found,
                    Some(prev) => prev.into_iter().filter(|i| found.contains(i)).collect(),
                });
            }
            let taken = ids
                .unwrap_or_default()
                .into_iter()
                .any(|i| i != p.customer_id);
            let entry = (tenant.to_owned(), key.id, pairs);
            if taken || set.contains(&entry) {
                return Err(CsError::Conflict(format!(
                    "another profile has the same {} (identification key '{}' is unique)",
                    key.qualified().join(", "),
                    key.name
                )));
            }
            set.insert(entry.clone());
            held.push(entry);
        }
        Ok(Reservation {
            set: &self.reserved,
            held,
        })
    }

    async fn put_profile(&self, tenant: &str, p: Profile) -> Result<(), CsError> {
        let _reserved = self.reserve(tenant, &p)?;
        let index = p.index();
        self.commit(vec![Write::PutProfile {
            tenant: tenant.to_owned(),
            profile: p,
            index,
        }])
        .await
    }

    /// Creates a profile from its flat body (`customer_id` optional); its id.
    pub async fn create_profile(
        &self,
        tenant: &str,
        body: &Map<String, Value>,
        now: Millis,
    ) -> Result<String, CsError> {
        let (attributes, extensions) = profiles::split_body(body, &self.schemas(tenant))?;
        let id = match body.get("customer_id") {
            None | Some(Value::Null) => profiles::new_customer_id(now, &mut *self.rng.lock()),
            Some(Value::String(id))
                if !id.trim().is_empty() && id.len() <= profiles::MAX_CUSTOMER_ID =>
            {
                if self.store.journeys().cs_profile(tenant, id)?.is_some() {
                    return Err(CsError::Conflict(format!("customer profile '{id}' exists")));
                }
                id.clone()
            }
            Some(_) => {
                return Err(CsError::invalid(format!(
                    "'customer_id' must be text of at most {} characters",
                    profiles::MAX_CUSTOMER_ID
                )))
            }
        };
        self.put_profile(
            tenant,
            Profile {
                customer_id: id.clone(),
                attributes,
                extensions,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(id)
    }

    /// Replaces a profile's attributes; its extensions only where the body names them.
    pub async fn update_profile(
        &self,
        tenant: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Millis,
    ) -> Result<(), CsError> {
        let mut p = self.profile(tenant, id)?;
        let (attributes, extensions) = profiles::split_body(body, &self.schemas(tenant))?;
        p.attributes = attributes;
        p.extensions.extend(extensions);
        p.updated_at = now;
        self.put_profile(tenant, p).await
    }

    /// Inserts or replaces extension records (`{Extension: record | [records]}`).
    pub async fn insert_extension_records(
        &self,
        tenant: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Millis,
    ) -> Result<(), CsError> {
        let schemas = self.schemas(tenant);
        let mut p = self.profile(tenant, id)?;
        for (name, value) in body {
            let schema = schemas
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| CsError::invalid(format!("no extension schema '{name}'")))?;
            let checked = schema.check(value)?;
            let merged = schema.merge(p.extensions.get(&schema.name), checked);
            p.extensions.insert(schema.name.clone(), merged);
        }
        p.updated_at = now;
        self.put_profile(tenant, p).await
    }

    pub async fn delete_profile(&self, tenant: &str, id: &str) -> Result<(), CsError> {
        self.profile(tenant, id)?;
        self.commit(vec![Write::DeleteProfile {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
        }])
        .await
    }

    /// Identifies customers: the key chosen for the query (see
    /// [`profiles::choose_key`]), then the profiles holding every value it covers.
    pub fn identify(
        &self,
        tenant: &str,
        query: &[(String, String)],
        id_key: Option<&str>,
    ) -> Result<(IdKey, Vec<Profile>), CsError> {
        let keys = self.keys(tenant);
        let (key, pairs) = profiles::choose_key(&keys, query, id_key)?;
        let mut ids: Option<Vec<String>> = None;
        for (name, value) in &pairs {
            let found = self.store.journeys().cs_profiles_with(
                tenant,
                name,
                &profiles::normalise(value),
                MAX_MATCHES,
            )?;
            ids = Some(match ids {
                None => found,
                Some(prev) => prev.into_iter().filter(|i| found.contains(i)).collect(),
            });
        }
        let mut out = Vec::new();
        for id in ids.unwrap_or_default() {
            if let Some(p) = self.store.journeys().cs_profile(tenant, &id)? {
                out.push(p);
            }
        }
        Ok((key.clone(), out))
    }
}
