//! `/genesys/1/admin/users`: an Administrator lists, adds, changes and removes users (what
//! `ringback user` does from a shell). Passwords go in, never out.

use actix_web::web::{Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use engine::users::{ChangeError, Role, User};
use serde_json::{json, Value};

use super::error::ApiError;
use super::routes::{authenticate, iso, now, read_json, State};

fn user_json(u: &User) -> Value {
    json!({
        "user": u.name,
        "role": u.role.as_str(),
        "services": u.services,
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
    })
}

/// `GET /genesys/1/admin/users`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/users",
    tag = "Users",
    summary = "Every user",
    responses(
        (status = 200, description = "Users", body = Vec<serde_json::Value>),
    ),
)]
pub(crate) async fn list(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let users: Vec<Value> = state.users.all(now()).iter().map(user_json).collect();
    Ok(HttpResponse::Ok().json(users))
}

/// `GET /genesys/1/admin/users/{name}`.
#[utoipa::path(
    get,
    path = "/genesys/1/admin/users/{name}",
    tag = "Users",
    summary = "A user",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 200, description = "The user", body = serde_json::Value),
    ),
)]
pub(crate) async fn get(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let u = state
        .users
        .get(&name, now())
        .ok_or_else(|| ChangeError::NotFound(name.into_inner()))?;
    Ok(HttpResponse::Ok().json(user_json(&u)))
}

/// `PUT /genesys/1/admin/users/{name}` `{"role", "services", "password"}`: adds the user (a
/// role and a password needed; 201) or changes what the body names (200).
#[utoipa::path(
    put,
    path = "/genesys/1/admin/users/{name}",
    tag = "Users",
    summary = "Creates or changes a user",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = serde_json::Value),
        (status = 201, description = "Created", body = serde_json::Value),
    ),
)]
pub(crate) async fn put(
    req: HttpRequest,
    state: State,
    name: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    let Value::Object(body) = read_json(payload).await? else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object: role, services, password".into(),
        ));
    };
    if let Some(k) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "role" | "services" | "password"))
    {
        return Err(ApiError::BadRequest(format!(
            "unknown field '{k}' (a user has role, services and password)"
        )));
    }
    let role = match body.get("role") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(Role::parse(r).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown role '{r}' (one of Administrator, Supervisor, CallbackReadOnly)"
            ))
        })?),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "role must be a string, not {other}"
            )))
        }
    };
    let services: Option<Vec<String>> = match body.get("services") {
        None | Some(Value::Null) => None,
        Some(Value::String(list)) => Some(list.split(',').map(str::to_owned).collect()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        ApiError::BadRequest("every service must be a string".into())
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "services must be a list of names, not {other}"
            )))
        }
    };
    let password = match body.get("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => return Err(ApiError::BadRequest("password must be a string".into())),
    };
    let (user, created) = state
        .users
        .clone()
        .put(name.into_inner(), role, services, password, now())
        .await?;
    let mut answer = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer.json(user_json(&user)))
}

/// `DELETE /genesys/1/admin/users/{name}`.
#[utoipa::path(
    delete,
    path = "/genesys/1/admin/users/{name}",
    tag = "Users",
    summary = "Removes a user",
    params(("name" = String, Path, description = "The name (a service, template, queue or event)")),
    responses(
        (status = 204, description = "Removed"),
    ),
)]
pub(crate) async fn delete(
    req: HttpRequest,
    state: State,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&req, &state)?;
    state.users.clone().remove(name.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
