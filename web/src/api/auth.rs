//! HTTP Basic authentication as GMS applies it (gms-api.md §5): the username and the password
//! are each taken from the service's section when it sets them, else from `[server]`, and a
//! request must authenticate only when a password is configured.
//!
//! The users of the UI and the API (`ringback user add`) authenticate with HTTP Basic too:
//! [`identify`] checks a request whose credentials name a user and hands the user to the
//! handler, where the role decides ([`allowed`]). Once users exist, the admin API needs one
//! (or the configured credentials, so existing API clients keep working).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest};
use base64::Engine;
use engine::features::Features;
use engine::store::{Millis, Store, StoreError, WriteOp};
use engine::users::{
    check_name, check_put, check_remove, Action, AuthError, Check, Directory, Logins, Role, User,
};
use parking_lot::Mutex;

use super::error::ApiError;
use super::routes::AppState;

/// The credentials a request must present (`password: None` means no authentication).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Credentials {
    /// Service-level fields override server-level ones, field by field.
    pub fn resolve(server: &Credentials, service: Option<&Credentials>) -> Credentials {
        let pick = |svc: Option<&Option<String>>, srv: &Option<String>| {
            svc.and_then(|v| v.clone())
                .filter(|v| !v.is_empty())
                .or_else(|| srv.clone().filter(|v| !v.is_empty()))
        };
        Credentials {
            username: pick(service.map(|s| &s.username), &server.username),
            password: pick(service.map(|s| &s.password), &server.password),
        }
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the request's `Authorization: Basic ...` header against `required`.
pub fn check(req: &HttpRequest, required: &Credentials) -> Result<(), ApiError> {
    let Some(password) = required.password.as_deref() else {
        return Ok(());
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("authentication is required".into()))?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or_else(|| ApiError::Unauthorized("only Basic authentication is supported".into()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::Unauthorized("the Basic credentials are not valid base64".into()))?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ApiError::Unauthorized("the Basic credentials are not UTF-8".into()))?;
    let (user, pass) = text.split_once(':').unwrap_or((text.as_str(), ""));
    let user_ok = required
        .username
        .as_deref()
        .is_none_or(|u| same(u.as_bytes(), user.as_bytes()));
    if user_ok && same(password.as_bytes(), pass.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "invalid username or password".into(),
        ))
    }
}

/// How often, at most, the server re-reads the users from the store (`ringback user add` may
/// change them while it runs).
pub const USERS_RELOAD_MS: i64 = 2_000;

/// The users of the UI and the API as the server checks them: the store's users in a
/// [`Directory`], re-read when older than [`USERS_RELOAD_MS`].
pub struct Users {
    store: Arc<dyn Store>,
    dir: Mutex<Directory>,
    loaded_at: AtomicI64,
    /// Set by a change made here: the next use re-reads the store.
    stale: AtomicBool,
    /// The UI's logins (in memory: a restart logs everyone out).
    logins: Mutex<Logins>,
}

impl Users {
    pub fn load(store: Arc<dyn Store>, now: Millis) -> Result<Users, StoreError> {
        let dir = Directory::new(store.users()?);
        Ok(Users {
            store,
            dir: Mutex::new(dir),
            loaded_at: AtomicI64::new(now),
            stale: AtomicBool::new(false),
            logins: Mutex::new(Logins::new()),
        })
    }

    /// The directory, re-read from the store first when stale (a failed read keeps the last).
    fn fresh(&self, now: Millis) -> parking_lot::MutexGuard<'_, Directory> {
        let mut dir = self.dir.lock();
        if self.stale.swap(false, Ordering::Relaxed)
            || now - self.loaded_at.load(Ordering::Relaxed) >= USERS_RELOAD_MS
        {
            self.loaded_at.store(now, Ordering::Relaxed);
            match self.store.users() {
                Ok(users) => {
                    dir.replace(users);
                    self.logins.lock().keep_users(&dir);
                }
                Err(e) => tracing::warn!(error = %e, "re-reading the users failed"),
            }
        }
        dir
    }

    /// Whether any user exists (then the admin API needs one).
    pub fn any(&self, now: Millis) -> bool {
        !self.fresh(now).is_empty()
    }

    pub fn len(&self, now: Millis) -> usize {
        self.fresh(now).len()
    }

    /// Checks a name and password from `client`; Argon2 runs on actix's blocking pool.
    pub async fn authenticate(
        self: Arc<Self>,
        name: String,
        password: String,
        client: String,
        now: Millis,
    ) -> Result<User, ApiError> {
        let check = self.fresh(now).check(&name, &password, &client, now);
        let (check, password, ok) = if matches!(check, Check::Verify(_) | Check::Unknown) {
            // Argon2 (or its stand-in for an unknown name): off the request thread.
            actix_web::web::block(move || {
                let ok = check.verify(&password);
                (check, password, ok)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("verifying a password: {e}")))?
        } else {
            let ok = check.verify(&password);
            (check, password, ok)
        };
        self.fresh(now)
            .settle(check, &name, &password, &client, ok, now)
            .map_err(|e| match e {
                AuthError::Invalid => ApiError::Unauthorized(e.to_string()),
                AuthError::Throttled(secs) => ApiError::TooManyRequests(e.to_string(), secs),
            })
    }

    /// Checks a name and password and opens a UI login: the user, its session token and its
    /// CSRF token.
    pub async fn login(
        self: Arc<Self>,
        name: String,
        password: String,
        client: String,
        now: Millis,
    ) -> Result<(User, String, String), ApiError> {
        let user = self
            .clone()
            .authenticate(name, password, client, now)
            .await?;
        let (token, csrf) = self.logins.lock().open(&user.name, now);
        Ok((user, token, csrf))
    }

    /// The user of an open login and its CSRF token (the user as stored now).
    pub fn session(&self, token: &str, now: Millis) -> Option<(User, String)> {
        let dir = self.fresh(now);
        let mut logins = self.logins.lock();
        let login = logins.find(token, now)?;
        let user = dir.get(&login.user)?.clone();
        Some((user, login.csrf.clone()))
    }

    /// Every user, by name.
    pub fn all(&self, now: Millis) -> Vec<User> {
        self.fresh(now).users().into_iter().cloned().collect()
    }

    pub fn get(&self, name: &str, now: Millis) -> Option<User> {
        self.fresh(now).get(name).cloned()
    }

    /// Adds `name` (a role and a password needed) or changes what is given; durable before it
    /// answers, with whether the user is new. The last Administrator keeps its role.
    pub async fn put(
        self: Arc<Self>,
        name: String,
        role: Option<Role>,
        services: Option<Vec<String>>,
        password: Option<String>,
        now: Millis,
    ) -> Result<(User, bool), ApiError> {
        check_name(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let users = self.stored()?;
        let existing = check_put(&users, &name, role, password.is_some())?.cloned();
        let created = existing.is_none();
        // Hashing a password is deliberately slow: off the request thread.
        let user = actix_web::web::block(move || match existing {
            None => User::new(
                &name,
                role.unwrap_or(Role::CallbackReadOnly),
                &services.unwrap_or_default(),
                password.as_deref().unwrap_or_default(),
                now,
            ),
            Some(u) => u.changed(role, services.as_deref(), password.as_deref(), now),
        })
        .await
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        self.commit(WriteOp::PutUser(user.clone())).await?;
        Ok((user, created))
    }

    /// Removes `name`; the last Administrator stays.
    pub async fn remove(self: Arc<Self>, name: String) -> Result<(), ApiError> {
        check_remove(&self.stored()?, &name)?;
        self.commit(WriteOp::DeleteUser { name }).await
    }

    /// The users as stored now (a change is checked against these, not the cached ones).
    fn stored(&self) -> Result<Vec<User>, ApiError> {
        self.store
            .users()
            .map_err(|e| ApiError::Internal(format!("reading the users: {e}")))
    }

    async fn commit(&self, op: WriteOp) -> Result<(), ApiError> {
        let done = self.store.write(vec![op]).await;
        self.stale.store(true, Ordering::Relaxed);
        done.map_err(|e| ApiError::Internal(format!("the store failed: {e}")))
    }

    /// Ends a login; false when it was not open.
    pub fn logout(&self, token: &str) -> bool {
        self.logins.lock().close(token)
    }
}

/// The name of the UI's session cookie.
pub const SESSION_COOKIE: &str = "RINGBACK_SESSION";

/// The header a logged-in UI echoes its CSRF token in on every state-changing request.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The CSRF token of the login a request came with (set by [`identify`]).
#[derive(Debug, Clone)]
pub struct LoginCsrf(pub String);

/// The user a request authenticated as, kept in its extensions by [`identify`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub User);

/// The name and password of an `Authorization: Basic` header, if it holds one.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let header = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':').unwrap_or((text.as_str(), ""));
    Some((user.to_owned(), pass.to_owned()))
}

/// Middleware: a request whose Basic credentials name a user is checked against the users
/// (a wrong password is refused here, 401, or 429 after repeated failures) and carries the
/// user on to its handler; any other request passes unchanged (the configured GMS credentials
/// are checked by the handler, as before).
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let users = req.app_data::<Data<AppState>>().map(|s| s.users.clone());
    let creds = basic_credentials(req.request());
    let Some(users) = users else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let now = chrono::Utc::now().timestamp_millis();
    // A fresh login needs no earlier one (a stale tab's cookie must not stand in its way).
    if creds.is_none() && req.path() != "/genesys/1/admin/login" {
        // A UI login: its cookie names it; a state-changing request must echo its CSRF token.
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        if let Some((user, csrf)) = token.and_then(|t| users.session(&t, now)) {
            let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            let echoed = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| same(v.as_bytes(), csrf.as_bytes()));
            if !safe && !echoed {
                let e = ApiError::Forbidden(format!(
                    "a state-changing request of a logged-in session needs its {CSRF_HEADER} header"
                ));
                return Ok(req.error_response(e));
            }
            req.extensions_mut().insert(Authenticated(user));
            req.extensions_mut().insert(LoginCsrf(csrf));
        }
    }
    if let Some((name, password)) = creds {
        if users.fresh(now).get(&name).is_some() {
            let client = req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            match users.authenticate(name, password, client, now).await {
                Ok(user) => {
                    req.extensions_mut().insert(Authenticated(user));
                }
                Err(e) => return Ok(req.error_response(e)),
            }
        }
    }
    // The UI's own requests (`X-Requested-With: XMLHttpRequest`) get no Basic challenge: the
    // browser would answer a 401 with its password dialog instead of showing the login page.
    let from_ui = req
        .headers()
        .get("X-Requested-With")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"XMLHttpRequest"));
    let mut resp = next
        .call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)?;
    if from_ui {
        resp.headers_mut()
            .remove(actix_web::http::header::WWW_AUTHENTICATE);
    }
    Ok(resp)
}

/// What a request asks to do, from its method and path.
pub fn action_of(req: &HttpRequest) -> Action {
    let path = req.path();
    let read = req.method() == Method::GET || req.method() == Method::HEAD;
    let callbacks = path.starts_with("/genesys/1/admin/callback/")
        || path.starts_with("/genesys/1/service/callback/")
        || path == "/genesys/1/service/callback"
        || path.starts_with("/genesys/2/service/callback");
    if path == "/genesys/1/admin/users" || path.starts_with("/genesys/1/admin/users/") {
        return Action::Administer;
    }
    match (callbacks, path.starts_with("/genesys/1/admin/"), read) {
        (true, _, true) => Action::ReadCallbacks,
        (true, _, false) => Action::ChangeCallbacks,
        (false, true, true) => Action::ReadConfig,
        (false, true, false) => Action::Administer,
        (false, false, _) => Action::UseServices,
    }
}

/// The `[features]` switch a request's endpoint depends on: its name, the value that lets the
/// request through, and what it is called in the UI.
pub fn switch_for(req: &HttpRequest) -> Option<(&'static str, bool, &'static str)> {
    let path = req.path();
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/genesys/1/admin/resources") {
        Some(("enable-resources", true, "the Resources panel"))
    } else if under("/genesys/1/admin/patterns") {
        Some(("enable-patterns", true, "the Patterns panel"))
    } else if under("/genesys/1/admin/documents") {
        Some(("enable-downloaddfm", true, "the Download DFM panel"))
    } else if under("/genesys/1/admin/metrics") {
        Some(("enable-metrics", true, "the Metrics panel"))
    } else if path == "/genesys/1/admin/callback/cancel"
        || path == "/genesys/1/admin/callback/reportcancelled"
    {
        Some((
            "disable-bulk-cancel-and-export-callback",
            false,
            "the bulk cancel and export of callbacks",
        ))
    } else {
        None
    }
}

/// For a request from a user: whether the `[features]` switch of its endpoint lets it through
/// (403 when not). Clients with the configured GMS credentials are not held to the UI's panels.
pub fn switched_on(features: &Features, req: &HttpRequest) -> Result<(), ApiError> {
    match switch_for(req) {
        Some((name, needed, what)) if features.is_set(name) != needed => Err(ApiError::Forbidden(
            format!("{what} is off: [features] {name} = {}", !needed),
        )),
        _ => Ok(()),
    }
}

/// For a request from a user: whether the role allows it (403 when not).
pub fn allowed(user: &User, req: &HttpRequest) -> Result<(), ApiError> {
    let action = action_of(req);
    if user.may(action) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{} ({}) may not {}",
            user.name,
            user.role,
            match action {
                Action::ReadCallbacks => "read callbacks",
                Action::ChangeCallbacks => "create, change or cancel callbacks",
                Action::ReadConfig => "read the configuration",
                Action::UseServices => "use this service",
                Action::Administer => "administer this server",
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn creds(u: Option<&str>, p: Option<&str>) -> Credentials {
        Credentials {
            username: u.map(String::from),
            password: p.map(String::from),
        }
    }

    fn basic(user: &str, pass: &str) -> String {
        let raw = format!("{user}:{pass}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn each_field_comes_from_the_service_when_it_sets_it() {
        let server = creds(Some("srv"), Some("srvpw"));
        let svc = creds(None, Some("svcpw"));
        assert_eq!(
            Credentials::resolve(&server, Some(&svc)),
            creds(Some("srv"), Some("svcpw"))
        );
        assert_eq!(Credentials::resolve(&server, None), server);
        let only_user = creds(Some("u"), None);
        assert_eq!(
            Credentials::resolve(&Credentials::default(), Some(&only_user)),
            only_user
        );
    }

    #[test]
    fn no_password_means_no_authentication() {
        let req = TestRequest::default().to_http_request();
        assert_eq!(check(&req, &creds(Some("u"), None)), Ok(()));
    }

    #[test]
    fn right_and_wrong_credentials() {
        let required = creds(Some("default"), Some("password"));
        let ok = TestRequest::default()
            .insert_header((AUTHORIZATION, basic("default", "password")))
            .to_http_request();
        assert_eq!(check(&ok, &required), Ok(()));
        let wrong = TestRequest::default()
            .insert_header((AUTHORIZATION, basic("default", "nope")))
            .to_http_request();
        assert_eq!(
            check(&wrong, &required),
            Err(ApiError::Unauthorized(
                "invalid username or password".into()
            ))
        );
        let missing = TestRequest::default().to_http_request();
        assert_eq!(
            check(&missing, &required),
            Err(ApiError::Unauthorized("authentication is required".into()))
        );
        let garbage = TestRequest::default()
            .insert_header((AUTHORIZATION, "Basic !!!"))
            .to_http_request();
        assert_eq!(
            check(&garbage, &required),
            Err(ApiError::Unauthorized(
                "the Basic credentials are not valid base64".into()
            ))
        );
    }

    #[test]
    fn users_are_re_read_from_the_store_once_stale() {
        use engine::store::sqlite::SqliteStore;
        use engine::store::WriteOp;
        use engine::users::Role;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("the store opens"));
        let users = Users::load(store.clone(), 0).expect("users load");
        assert!(!users.any(0));
        let ann = User::new("ann", Role::Supervisor, &[], "pw", 0).expect("a user");
        store
            .write(vec![WriteOp::PutUser(ann)])
            .wait()
            .expect("the write commits");
        assert!(
            !users.any(USERS_RELOAD_MS - 1),
            "not re-read before it is stale"
        );
        assert!(users.any(USERS_RELOAD_MS));
        store
            .write(vec![WriteOp::DeleteUser { name: "ann".into() }])
            .wait()
            .expect("the write commits");
        assert!(users.any(2 * USERS_RELOAD_MS - 1));
        assert!(!users.any(2 * USERS_RELOAD_MS));
        store.shutdown();
    }

    #[test]
    fn what_a_request_asks_to_do_comes_from_its_method_and_path() {
        let cases = [
            (
                "GET",
                "/genesys/1/admin/callback/queues",
                Action::ReadCallbacks,
            ),
            (
                "POST",
                "/genesys/1/admin/callback/cancel",
                Action::ChangeCallbacks,
            ),
            (
                "GET",
                "/genesys/1/service/callback/cb/1-2",
                Action::ReadCallbacks,
            ),
            ("GET", "/genesys/1/service/callback", Action::ReadCallbacks),
            (
                "POST",
                "/genesys/1/service/callback/cb",
                Action::ChangeCallbacks,
            ),
            (
                "DELETE",
                "/genesys/1/service/callback/cb/1-2",
                Action::ChangeCallbacks,
            ),
            (
                "GET",
                "/genesys/2/service/callback/cb/availability",
                Action::ReadCallbacks,
            ),
            ("GET", "/genesys/1/admin/services", Action::ReadConfig),
            ("PUT", "/genesys/1/admin/services/x", Action::Administer),
            ("GET", "/genesys/1/admin/users", Action::Administer),
            ("GET", "/genesys/1/admin/users/ann", Action::Administer),
            (
                "POST",
                "/genesys/1/service/request-interaction",
                Action::UseServices,
            ),
            ("GET", "/genesys/1/storage/1-2", Action::UseServices),
        ];
        for (method, path, action) in cases {
            let req = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).expect("a method"))
                .uri(path)
                .to_http_request();
            assert_eq!(action_of(&req), action, "{method} {path}");
        }
    }
}
