//! The UI's login: `POST /genesys/1/admin/login` (form or JSON `username`, `password`) opens a
//! login and sets its session cookie (HttpOnly, SameSite=Strict, `Path=/genesys`);
//! `POST /genesys/1/admin/logout` ends it; `GET /genesys/1/admin/me` says who the request is
//! (and, for a login, the CSRF token its state-changing requests must send in `X-CSRF-Token`).

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::web::Payload;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use engine::users::{User, LOGIN_MAX_MS};
use serde_json::{json, Value};

use super::auth::{Authenticated, LoginCsrf, SESSION_COOKIE};
use super::error::ApiError;
use super::params;
use super::routes::{features, now, State};

/// The `[features]` switches, for the UI to show its panels.
fn features_json(state: &State) -> Value {
    Value::Object(
        features(state)
            .all()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect(),
    )
}

/// Whether Context Services are on (the Context Services and Journey Timeline panels), who
/// may change them, and whether the installation is single-tenant (the panels' condition).
fn context_services_json(state: &State) -> Value {
    let s = state.platform.context_services().settings();
    json!({
        "enabled": s.enabled,
        "use_role": s.use_role,
        "single_tenant": s.tenants.is_empty(),
    })
}

/// What the UI hears of its user.
fn me_json(state: &State, user: &User, csrf: Option<&str>) -> Value {
    let mut v = json!({
        "user": user.name,
        "role": user.role.as_str(),
        "services": user.services,
        "features": features_json(state),
        "context_services": context_services_json(state),
    });
    if let Some(c) = csrf {
        v["csrf"] = json!(c);
    }
    v
}

fn session_cookie(req: &HttpRequest, value: &str, age: CookieAge) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_owned())
        .path("/genesys")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(age)
        .finish()
}

/// `POST /genesys/1/admin/login`.
#[utoipa::path(
    post,
    path = "/genesys/1/admin/login",
    tag = "Users",
    summary = "Logs in (a session cookie and a CSRF token)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The user, its features and the CSRF token", body = serde_json::Value),
    ),
)]
pub(crate) async fn login(
    req: HttpRequest,
    state: State,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let p = params::read(&req, payload).await?;
    let texts = p.texts();
    let get = |k: &str| {
        texts
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let (Some(name), Some(password)) = (get("username"), get("password")) else {
        return Err(ApiError::BadRequest(
            "a login needs 'username' and 'password'".into(),
        ));
    };
    let t = now();
    if state.users.len(t) == 0 {
        return Err(ApiError::BadRequest(
            "this server has no users: add the first with \
             `ringback user add NAME --role Administrator` (the API is open until then)"
                .into(),
        ));
    }
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let (user, token, csrf) = state.users.clone().login(name, password, client, t).await?;
    tracing::info!(user = %user.name, role = %user.role, "logged in");
    let age = CookieAge::milliseconds(LOGIN_MAX_MS);
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&req, &token, age))
        .json(me_json(&state, &user, Some(&csrf))))
}

/// `POST /genesys/1/admin/logout`: ends the login (if any) and clears its cookie.
#[utoipa::path(
    post,
    path = "/genesys/1/admin/logout",
    tag = "Users",
    summary = "Logs out",
    responses(
        (status = 204, description = "Logged out"),
    ),
)]
pub(crate) async fn logout(req: HttpRequest, state: State) -> HttpResponse {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        state.users.logout(c.value());
    }
    HttpResponse::NoContent()
        .cookie(session_cookie(&req, "", CookieAge::ZERO))
        .finish()
}

/// `GET /genesys/1/admin/me`: the request's user; on a server without users, that it is open.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/me",
    tag = "Users",
    summary = "Who is asking: the user, role, services and the UI's features",
    responses(
        (status = 200, description = "The user", body = serde_json::Value),
    ),
)]
pub(crate) async fn me(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    let ext = req.extensions();
    if let Some(Authenticated(user)) = ext.get::<Authenticated>() {
        let csrf = ext.get::<LoginCsrf>().map(|c| c.0.as_str());
        return Ok(HttpResponse::Ok().json(me_json(&state, user, csrf)));
    }
    if state.users.len(now()) == 0 {
        return Ok(HttpResponse::Ok().json(json!({
            "user": null,
            "open": true,
            "features": features_json(&state),
            "context_services": context_services_json(&state),
            "message": "this server has no users: add the first with \
                        `ringback user add NAME --role Administrator`",
        })));
    }
    Err(ApiError::Unauthorized("not logged in".into()))
}
