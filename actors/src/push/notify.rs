//! The GMS notification service (gms-api.md §3.8 and §4): subscriptions by device and tag
//! filter, publishing a tagged message to every matching subscription, and delivery by push
//! type —
//!
//! * `comet`: on the CometD channel `/_genesys` as `{"id", "tag", "message"}` to the sessions
//!   of the device's `gms_user`;
//! * `httpcb`: an HTTP POST of that JSON to the device id (a URL), retried until 200;
//! * `customhttp`: a POST of `{"deviceId", "message"}` to `customhttp.url`.
//!
//! A type not in `[push] pushEnabled` (and `ios`, `gcm`, `fcm`, ... which this server cannot
//! reach), or a comet device with no session listening, keeps the message for the device to
//! fetch with `retrieve-notifications`.
//!
//! Subscriptions and waiting messages are durable: a reply is sent only after the store has
//! committed them. They are kept as internal storage records (`ringback.notification.*`, owned
//! by a `gms_user` no HTTP header can carry, so the storage API cannot read them).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use engine::config::option;
use engine::store::{Millis, StorageValue, Store, StoreError, WriteOp};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::hub::PushHub;

/// The CometD channel GMS pushes service notifications on.
pub const GENESYS_CHANNEL: &str = "/_genesys";

/// Owner of the internal records: a control character, which no `gms_user` header can hold.
const OWNER: &str = "\u{1}ringback-push";
const SUBSCRIPTIONS: &str = "ringback.notification.subscriptions";
const PENDING: &str = "ringback.notification.pending.";
/// Records live until deleted; their entries carry their own expiry.
const FOREVER: Millis = Millis::MAX / 4;

/// What went wrong, for the API to map to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// Posts a body to a URL; answers the HTTP status. Implemented by the web layer (the actors
/// know no HTTP client).
pub type HttpPost = Arc<
    dyn Fn(String, String) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send>>
        + Send
        + Sync,
>;

/// The `[push]` options.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `pushEnabled`: the types delivered actively (default `comet`).
    pub enabled: Vec<String>,
    /// `defaultSubscriptionExpiration`, seconds (at least 30).
    pub default_expiration: i64,
    /// `customhttp.url`
    pub custom_url: Option<String>,
    /// `httpcb.attempts` (default 3) and `httpcb.retryDelay` in ms (default 1000, doubling).
    pub attempts: u32,
    pub retry_delay: Millis,
}

impl Default for PushSettings {
    fn default() -> PushSettings {
        PushSettings {
            enabled: vec!["comet".into()],
            default_expiration: 30,
            custom_url: None,
            attempts: 3,
            retry_delay: 1_000,
        }
    }
}

impl PushSettings {
    pub fn from_options(o: Option<&[(String, String)]>) -> PushSettings {
        let mut s = PushSettings::default();
        let Some(o) = o else { return s };
        if let Some(v) = option(o, "pushEnabled") {
            s.enabled = v
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect();
        }
        let num = |k: &str| option(o, k).and_then(|v| v.trim().parse::<i64>().ok());
        if let Some(n) = num("defaultSubscriptionExpiration") {
            s.default_expiration = n.max(30);
        }
        if let Some(n) = num("httpcb.attempts") {
            s.attempts = n.clamp(1, 10) as u32;
        }
        if let Some(n) = num("httpcb.retryDelay") {
            s.retry_delay = n.max(0);
        }
        s.custom_url = option(o, "customhttp.url")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from);
        s
    }
}

/// A push type of the notification API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushType {
    Comet,
    HttpCallback,
    CustomHttp,
    /// Known to GMS but delivered by services this server cannot reach (`ios`, `gcm`, ...).
    Other(String),
}

impl PushType {
    pub fn parse(s: &str) -> Result<PushType, NotifyError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "comet" => Ok(PushType::Comet),
            "httpcb" => Ok(PushType::HttpCallback),
            "customhttp" => Ok(PushType::CustomHttp),
            t @ ("ios" | "android" | "gcm" | "fcm" | "orscb") => Ok(PushType::Other(t.into())),
            other => Err(NotifyError::BadRequest(format!(
                "unknown push type '{other}': use comet, httpcb, customhttp, orscb, ios, gcm or fcm"
            ))),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            PushType::Comet => "comet",
            PushType::HttpCallback => "httpcb",
            PushType::CustomHttp => "customhttp",
            PushType::Other(t) => t,
        }
    }
}

/// Where a notification goes: the API's `notificationDetails`.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub device_id: String,
    pub kind: PushType,
    pub properties: serde_json::Map<String, Value>,
}

impl Device {
    /// Parses `{"deviceId", "type", "properties"}`.
    pub fn from_json(v: &Value) -> Result<Device, NotifyError> {
        let bad = |m: &str| NotifyError::BadRequest(m.to_string());
        let obj = v
            .as_object()
            .ok_or_else(|| bad("notificationDetails must be an object"))?;
        let device_id = obj
            .get("deviceId")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty() && d.len() <= 1024)
            .ok_or_else(|| {
                bad("notificationDetails.deviceId is required (a string up to 1024 characters)")
            })?;
        let kind = PushType::parse(
            obj.get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("notificationDetails.type is required"))?,
        )?;
        if kind == PushType::HttpCallback
            && !(device_id.starts_with("http://") || device_id.starts_with("https://"))
        {
            return Err(bad(
                "an httpcb deviceId is the URL to POST to (http:// or https://)",
            ));
        }
        let properties = match obj.get("properties") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => return Err(bad("notificationDetails.properties must be an object")),
        };
        Ok(Device {
            device_id: device_id.to_string(),
            kind,
            properties,
        })
    }

    /// The device of a service's `_device_os` / `_device_notification_id` parameters.
    pub fn of_service(device_os: &str, device_id: &str) -> Result<Device, NotifyError> {
        Device::from_json(&json!({"deviceId": device_id, "type": device_os}))
    }

    fn to_json(&self) -> Value {
        json!({"deviceId": self.device_id, "type": self.kind.name(), "properties": self.properties})
    }
}

/// One subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub subscriber_id: Option<String>,
    pub provider_name: Option<String>,
    pub device: Device,
    /// Tag patterns (`*` matches any run of characters), comma-separated; empty: every tag.
    pub filter: Vec<String>,
    pub expires_at: Millis,
}

impl Subscription {
    fn to_json(&self) -> Value {
        json!({"id": self.id, "subscriberId": self.subscriber_id, "providerName": self.provider_name,
            "notificationDetails": self.device.to_json(), "filter": self.filter.join(","),
            "expiresAt": self.expires_at})
    }

    fn from_json(v: &Value) -> Option<Subscription> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        Some(Subscription {
            id: text("id")?,
            subscriber_id: text("subscriberId"),
            provider_name: text("providerName"),
            device: Device::from_json(v.get("notificationDetails")?).ok()?,
            filter: parse_filter(v.get("filter").and_then(Value::as_str).unwrap_or("")),
            expires_at: v.get("expiresAt")?.as_i64()?,
        })
    }

    pub fn matches(&self, tag: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| glob(f, tag))
    }
}

fn parse_filter(f: &str) -> Vec<String> {
    f.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "*")
        .map(String::from)
        .collect()
}

/// `*` matches any run of characters (tags are dotted: `service.chat.*`).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(p) => p,
        None => return text.is_empty(),
    };
    let Some(mut left) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty();
    };
    for part in middle {
        match left.find(part) {
            Some(i) => left = &left[i + part.len()..],
            None => return false,
        }
    }
    left.ends_with(last)
}

/// A subscription request (`POST /genesys/1/notification/subscription`).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub subscriber_id: Option<String>,
    pub provider_name: Option<String>,
    pub device: Device,
    /// Seconds; `None`: `defaultSubscriptionExpiration`.
    pub expire: Option<i64>,
    pub filter: Option<String>,
}

/// How one delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent to this many CometD sessions.
    Comet(usize),
    /// An HTTP delivery was started (it retries on its own).
    Http,
    /// Kept for `retrieve-notifications`.
    Kept,
}

/// Subscriptions by id, and indexed by the literal start of each filter (up to its first
/// `*`), so a publish looks only at the subscriptions whose filter could match its tag: one
/// lookup per prefix of the tag, however many subscriptions there are.
#[derive(Debug, Default)]
struct Subscriptions {
    by_id: HashMap<String, Subscription>,
    by_prefix: HashMap<String, HashSet<String>>,
}

fn literal_prefix(filter: &str) -> &str {
    filter.split('*').next().unwrap_or("")
}

impl Subscriptions {
    fn prefixes(sub: &Subscription) -> Vec<&str> {
        if sub.filter.is_empty() {
            vec![""]
        } else {
            sub.filter.iter().map(|f| literal_prefix(f)).collect()
        }
    }

    fn insert(&mut self, sub: Subscription) {
        for p in Subscriptions::prefixes(&sub) {
            self.by_prefix
                .entry(p.to_string())
                .or_default()
                .insert(sub.id.clone());
        }
        self.by_id.insert(sub.id.clone(), sub);
    }

    fn remove(&mut self, id: &str) -> Option<Subscription> {
        let sub = self.by_id.remove(id)?;
        for p in Subscriptions::prefixes(&sub) {
            if let Some(set) = self.by_prefix.get_mut(p) {
                set.remove(id);
                if set.is_empty() {
                    self.by_prefix.remove(p);
                }
            }
        }
        Some(sub)
    }

    /// Live subscriptions whose filter matches `tag`.
    fn matching(&self, tag: &str, now: Millis) -> Vec<&Subscription> {
        let mut ids: HashSet<&str> = HashSet::new();
        for (i, _) in tag.char_indices().chain(std::iter::once((tag.len(), ' '))) {
            if let Some(set) = self.by_prefix.get(&tag[..i]) {
                ids.extend(set.iter().map(String::as_str));
            }
        }
        ids.into_iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(|s| s.expires_at > now && s.matches(tag))
            .collect()
    }
}

struct Inner {
    hub: PushHub,
    store: Arc<dyn Store>,
    post: HttpPost,
    settings: Mutex<PushSettings>,
    subscriptions: Mutex<Subscriptions>,
}

/// The notification service: cloneable, shared by the API and the actors that notify.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

fn json_value(v: &Value) -> StorageValue {
    StorageValue {
        bytes: v.to_string().into_bytes(),
        content_type: Some("application/json".into()),
        filename: None,
    }
}

fn message_id() -> String {
    // Time-ordered, so a device's waiting messages sort in publishing order.
    uuid::Uuid::now_v7().simple().to_string()
}

impl Notifier {
    /// Loads the subscriptions still alive at `now`.
    pub fn open(
        hub: PushHub,
        store: Arc<dyn Store>,
        post: HttpPost,
        settings: PushSettings,
        now: Millis,
    ) -> Result<Notifier, NotifyError> {
        let mut subs = Subscriptions::default();
        if let Some(record) = store.storage(SUBSCRIPTIONS, now)? {
            for (id, v) in &record.values {
                match serde_json::from_slice::<Value>(&v.bytes)
                    .ok()
                    .as_ref()
                    .and_then(Subscription::from_json)
                {
                    Some(s) if s.expires_at > now => subs.insert(s),
                    Some(_) => {}
                    None => {
                        tracing::warn!(subscription = %id, "unreadable notification subscription skipped")
                    }
                }
            }
        }
        Ok(Notifier {
            inner: Arc::new(Inner {
                hub,
                store,
                post,
                settings: Mutex::new(settings),
                subscriptions: Mutex::new(subs),
            }),
        })
    }

    pub fn hub(&self) -> &PushHub {
        &self.inner.hub
    }

    pub fn set_settings(&self, settings: PushSettings) {
        *self.inner.settings.lock() = settings;
    }

    pub fn subscription(&self, id: &str, now: Millis) -> Option<Subscription> {
        self.inner
            .subscriptions
            .lock()
            .by_id
            .get(id)
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    /// Creates a subscription once it is durable; returns its id.
    pub async fn subscribe(
        &self,
        req: NewSubscription,
        now: Millis,
    ) -> Result<String, NotifyError> {
        let default = self.inner.settings.lock().default_expiration;
        let expire = match req.expire {
            None => default,
            Some(n) if n > 0 => n.min(365 * 24 * 3600),
            Some(n) => {
                return Err(NotifyError::BadRequest(format!(
                    "expire must be a positive number of seconds, not {n}"
                )))
            }
        };
        let sub = Subscription {
            id: message_id(),
            subscriber_id: req.subscriber_id,
            provider_name: req.provider_name,
            device: req.device,
            filter: parse_filter(req.filter.as_deref().unwrap_or("")),
            expires_at: now.saturating_add(expire.saturating_mul(1000)),
        };
        let values = BTreeMap::from([(sub.id.clone(), json_value(&sub.to_json()))]);
        self.inner
            .store
            .write(vec![WriteOp::PutStorage {
                id: SUBSCRIPTIONS.into(),
                owner: Some(OWNER.into()),
                expires_at: FOREVER,
                values,
            }])
            .await?;
        tracing::info!(subscription = %sub.id, device_type = sub.device.kind.name(), "notification subscription created");
        let id = sub.id.clone();
        self.inner.subscriptions.lock().insert(sub);
        Ok(id)
    }

    /// Deletes a subscription once the store has.
    pub async fn unsubscribe(&self, id: &str, now: Millis) -> Result<(), NotifyError> {
        if self.subscription(id, now).is_none() {
            return Err(NotifyError::NotFound(format!(
                "notification subscription '{id}' does not exist"
            )));
        }
        self.inner
            .store
            .write(vec![WriteOp::DeleteStorageKey {
                id: SUBSCRIPTIONS.into(),
                key: id.to_string(),
            }])
            .await?;
        self.inner.subscriptions.lock().remove(id);
        Ok(())
    }

    /// Publishes `message` with `tag` to every matching subscription, and to `direct` if
    /// given. Returns the message id and how each delivery went. Messages kept for polling
    /// are durable before this returns.
    pub async fn publish(
        &self,
        tag: &str,
        message: Value,
        direct: Option<Device>,
        now: Millis,
    ) -> Result<(String, Vec<Delivery>), NotifyError> {
        if tag.trim().is_empty() || tag.len() > 512 {
            return Err(NotifyError::BadRequest(
                "tag is required (up to 512 characters)".into(),
            ));
        }
        let mut targets: Vec<(Device, Millis)> = self
            .inner
            .subscriptions
            .lock()
            .matching(tag, now)
            .into_iter()
            .map(|s| (s.device.clone(), s.expires_at))
            .collect();
        let default = self.inner.settings.lock().default_expiration;
        if let Some(d) = direct {
            targets.push((d, now + default * 1000));
        }
        // One message to a device once, however many of its subscriptions match.
        targets.sort_by(|a, b| a.0.device_id.cmp(&b.0.device_id).then(b.1.cmp(&a.1)));
        targets.dedup_by(|a, b| a.0.device_id == b.0.device_id && a.0.kind == b.0.kind);
        let id = message_id();
        let payload = json!({"id": id, "tag": tag, "message": message});
        let mut deliveries = Vec::with_capacity(targets.len());
        for (device, keep_until) in targets {
            deliveries.push(
                self.deliver(&device, &id, &payload, keep_until, now)
                    .await?,
            );
        }
        Ok((id, deliveries))
    }

    /// A service event for the device a service was created for (`_device_os` and
    /// `_device_notification_id`): tag `service.<kind>.<event>.<service id>` (gms-api.md §4).
    pub async fn service_event(
        &self,
        device: &Device,
        kind: &str,
        event: &str,
        service_id: &str,
        message: Value,
        now: Millis,
    ) -> Result<Delivery, NotifyError> {
        let tag = format!("service.{kind}.{event}.{service_id}");
        let id = message_id();
        let payload = json!({"id": id, "tag": tag, "message": message});
        let default = self.inner.settings.lock().default_expiration;
        self.deliver(device, &id, &payload, now + default * 1000, now)
            .await
    }

    async fn deliver(
        &self,
        device: &Device,
        id: &str,
        payload: &Value,
        keep_until: Millis,
        now: Millis,
    ) -> Result<Delivery, NotifyError> {
        let settings = self.inner.settings.lock().clone();
        let enabled = settings.enabled.iter().any(|t| t == device.kind.name());
        match &device.kind {
            PushType::Comet if enabled => {
                let n = self
                    .inner
                    .hub
                    .deliver_to_user(&device.device_id, GENESYS_CHANNEL, payload.clone())
                    .unwrap_or(0);
                if n > 0 {
                    return Ok(Delivery::Comet(n));
                }
            }
            PushType::HttpCallback if enabled => {
                self.spawn_post(device.device_id.clone(), payload.to_string(), &settings);
                return Ok(Delivery::Http);
            }
            PushType::CustomHttp if enabled => {
                let url = device
                    .properties
                    .get("url")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .or(settings.custom_url.clone());
                if let Some(url) = url {
                    let body = json!({"deviceId": device.device_id, "message": payload});
                    self.spawn_post(url, body.to_string(), &settings);
                    return Ok(Delivery::Http);
                }
            }
            _ => {}
        }
        self.keep(&device.device_id, id, payload, keep_until.max(now + 30_000))
            .await?;
        Ok(Delivery::Kept)
    }

    async fn keep(
        &self,
        device_id: &str,
        id: &str,
        payload: &Value,
        until: Millis,
    ) -> Result<(), NotifyError> {
        self.inner
            .store
            .write(vec![WriteOp::PutStorage {
                id: format!("{PENDING}{device_id}"),
                owner: Some(OWNER.into()),
                expires_at: until,
                values: BTreeMap::from([(id.to_string(), json_value(payload))]),
            }])
            .await?;
        Ok(())
    }

    /// POSTs in the background: `attempts` tries, the delay doubling, until a 2xx.
    fn spawn_post(&self, url: String, body: String, settings: &PushSettings) {
        let post = self.inner.post.clone();
        let attempts = settings.attempts;
        let mut delay = settings.retry_delay;
        tokio::spawn(async move {
            for attempt in 1..=attempts {
                match post(url.clone(), body.clone()).await {
                    Ok(status) if (200..300).contains(&status) => return,
                    Ok(status) => tracing::warn!(%url, status, attempt, "push callback refused"),
                    Err(e) => tracing::warn!(%url, error = %e, attempt, "push callback failed"),
                }
                if attempt < attempts {
                    tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                    delay = delay.saturating_mul(2);
                }
            }
            tracing::error!(%url, attempts, "push callback given up");
        });
    }

    /// The messages kept for a device, oldest first; they are removed once the store has
    /// committed that.
    pub async fn retrieve(&self, device_id: &str, now: Millis) -> Result<Vec<Value>, NotifyError> {
        let id = format!("{PENDING}{device_id}");
        let Some(record) = self.inner.store.storage(&id, now)? else {
            return Ok(Vec::new());
        };
        let messages = record
            .values
            .values()
            .filter_map(|v| serde_json::from_slice::<Value>(&v.bytes).ok())
            .collect();
        self.inner
            .store
            .write(vec![WriteOp::DeleteStorage { id }])
            .await?;
        Ok(messages)
    }

    /// Forgets expired subscriptions.
    pub async fn purge(&self, now: Millis) -> Result<usize, NotifyError> {
        let expired: Vec<String> = self
            .inner
            .subscriptions
            .lock()
            .by_id
            .values()
            .filter(|s| s.expires_at <= now)
            .map(|s| s.id.clone())
            .collect();
        if expired.is_empty() {
            return Ok(0);
        }
        let ops = expired
            .iter()
            .map(|id| WriteOp::DeleteStorageKey {
                id: SUBSCRIPTIONS.into(),
                key: id.clone(),
            })
            .collect();
        self.inner.store.write(ops).await?;
        let mut subs = self.inner.subscriptions.lock();
        for id in &expired {
            subs.remove(id);
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests on data they built themselves
mod tests {
    use super::*;

    #[test]
    fn tag_filters_are_globs() {
        assert!(glob("service.chat.*", "service.chat.refresh.180-9"));
        assert!(!glob("service.chat.*", "service.callback.x"));
        assert!(glob("*.refresh.*", "service.chat.refresh.1"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
        let s = Subscription {
            id: "1".into(),
            subscriber_id: None,
            provider_name: None,
            device: Device::of_service("comet", "alice").unwrap(),
            filter: parse_filter("service.a.*, service.b.*"),
            expires_at: 0,
        };
        assert!(s.matches("service.b.x") && !s.matches("service.c.x"));
        assert!(Subscription {
            filter: parse_filter(""),
            ..s
        }
        .matches("anything"));
    }

    #[test]
    fn the_prefix_index_finds_exactly_the_matching_subscriptions() {
        let mut subs = Subscriptions::default();
        for (id, filter) in [
            ("all", ""),
            ("chat", "service.chat.*"),
            ("mid", "service.*.refresh.*"),
            ("cb", "service.callback.*"),
        ] {
            subs.insert(Subscription {
                id: id.into(),
                subscriber_id: None,
                provider_name: None,
                device: Device::of_service("comet", id).unwrap(),
                filter: parse_filter(filter),
                expires_at: 10,
            });
        }
        fn ids(subs: &Subscriptions, tag: &str, now: Millis) -> Vec<String> {
            let mut v: Vec<String> = subs
                .matching(tag, now)
                .iter()
                .map(|s| s.id.clone())
                .collect();
            v.sort();
            v
        }
        assert_eq!(
            ids(&subs, "service.chat.refresh.1", 0),
            ["all", "chat", "mid"]
        );
        assert_eq!(ids(&subs, "service.callback.x", 0), ["all", "cb"]);
        assert!(
            ids(&subs, "service.chat.refresh.1", 10).is_empty(),
            "expired"
        );
        subs.remove("chat");
        assert_eq!(ids(&subs, "service.chat.refresh.1", 0), ["all", "mid"]);
        assert!(!subs.by_prefix.contains_key("service.chat."));
    }

    #[test]
    fn devices_are_validated() {
        assert_eq!(
            Device::from_json(&json!({"deviceId": "x", "type": "pager"})),
            Err(NotifyError::BadRequest(
                "unknown push type 'pager': use comet, httpcb, customhttp, orscb, ios, gcm or fcm"
                    .into()
            ))
        );
        assert_eq!(
            Device::from_json(&json!({"deviceId": "not-a-url", "type": "httpcb"})),
            Err(NotifyError::BadRequest(
                "an httpcb deviceId is the URL to POST to (http:// or https://)".into()
            ))
        );
        assert_eq!(
            Device::from_json(&json!({"type": "comet"})),
            Err(NotifyError::BadRequest(
                "notificationDetails.deviceId is required (a string up to 1024 characters)".into()
            ))
        );
    }

    #[test]
    fn subscriptions_round_trip_through_their_stored_form() {
        let s = Subscription {
            id: "abc".into(),
            subscriber_id: Some("sub".into()),
            provider_name: Some("GMS".into()),
            device: Device::of_service("httpcb", "http://127.0.0.1:1/cb").unwrap(),
            filter: parse_filter("service.*"),
            expires_at: 42,
        };
        assert_eq!(Subscription::from_json(&s.to_json()), Some(s));
    }

    /// A notifier on a fresh store in `dir`, whose HTTP posts are refused.
    fn notifier(dir: &std::path::Path, now: Millis) -> Notifier {
        let store = engine::store::sqlite::SqliteStore::open(dir).unwrap();
        let post: HttpPost =
            Arc::new(|_, _| Box::pin(async { Err("no network in tests".to_string()) }));
        let hub = PushHub::new(super::super::BayeuxConfig::default());
        Notifier::open(hub, Arc::new(store), post, PushSettings::default(), now).unwrap()
    }

    fn comet(id: &str) -> Device {
        Device::of_service("comet", id).unwrap()
    }

    #[tokio::test]
    async fn subscriptions_expire_and_are_purged() {
        let dir = tempfile::tempdir().unwrap();
        let n = notifier(dir.path(), 0);
        let sub = NewSubscription {
            subscriber_id: None,
            provider_name: None,
            device: Device::of_service("ios", "phone").unwrap(),
            expire: Some(30),
            filter: None,
        };
        let id = n.subscribe(sub, 0).await.unwrap();
        let (_, got) = n
            .publish("service.a.b.1", json!(1), None, 29_999)
            .await
            .unwrap();
        assert_eq!(got, [Delivery::Kept]);
        let (_, got) = n
            .publish("service.a.b.2", json!(2), None, 30_000)
            .await
            .unwrap();
        assert!(got.is_empty(), "an expired subscription matches nothing");
        assert_eq!(
            n.unsubscribe(&id, 30_000).await,
            Err(NotifyError::NotFound(format!(
                "notification subscription '{id}' does not exist"
            )))
        );
        assert_eq!(n.purge(30_000).await, Ok(1));
        drop(n);
        // Reopened: the purged subscription stays gone; the kept message is still there.
        let n = notifier(dir.path(), 30_000);
        assert!(n.subscription(&id, 0).is_none());
        let kept = n.retrieve("phone", 30_000).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["tag"], "service.a.b.1");
    }

    #[tokio::test]
    async fn a_service_event_reaches_the_comet_device_it_is_for() {
        let dir = tempfile::tempdir().unwrap();
        let n = notifier(dir.path(), 0);
        let hub = n.hub().clone();
        let hs = hub.handle(
            vec![json!({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]})],
            super::super::Transport::LongPolling,
            Some("alice"),
            None,
        );
        let reply: Value = serde_json::from_str(&hs.replies[0]).unwrap();
        let client = reply["clientId"].as_str().unwrap();
        hub.handle(
            vec![json!({"channel": "/meta/subscribe", "clientId": client, "subscription": GENESYS_CHANNEL})],
            super::super::Transport::LongPolling,
            Some("alice"),
            None,
        );
        let got = n
            .service_event(
                &comet("alice"),
                "callback",
                "status",
                "180-92e0",
                json!({"_state": "QUEUED"}),
                0,
            )
            .await
            .unwrap();
        assert_eq!(got, Delivery::Comet(1));
        let got = hub.handle(
            vec![json!({"channel": "/meta/connect", "clientId": client, "connectionType": "long-polling"})],
            super::super::Transport::LongPolling,
            Some("alice"),
            None,
        );
        let event: Value = serde_json::from_str(&got.replies[0]).unwrap();
        assert_eq!(event["channel"], GENESYS_CHANNEL);
        assert_eq!(event["data"]["tag"], "service.callback.status.180-92e0");
        assert_eq!(event["data"]["message"], json!({"_state": "QUEUED"}));
        // Bob has no session: his event waits for retrieve-notifications.
        let got = n
            .service_event(&comet("bob"), "callback", "status", "1", json!({}), 0)
            .await
            .unwrap();
        assert_eq!(got, Delivery::Kept);
    }

    #[test]
    fn push_settings_come_from_the_push_section() {
        let o = vec![
            ("pushEnabled".to_string(), "comet, httpcb".to_string()),
            ("defaultSubscriptionExpiration".to_string(), "5".to_string()),
        ];
        let s = PushSettings::from_options(Some(&o));
        assert_eq!(s.enabled, ["comet", "httpcb"]);
        assert_eq!(s.default_expiration, 30, "at least 30 seconds");
    }
}
