//! `ApiError`: every error the REST API can answer with, as the GMS error body
//! `{"exception": "<java class>", "message": "...", "code": <status>, "phrase": "<reason>"}`
//! (gms-api.md §1.7 and §8.1: `exception` + `message`, plus `code`/`phrase` as GMS 8.5.2).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// What went wrong, with the message the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins from this client for this user: wait this many seconds.
    #[error("{0}")]
    TooManyRequests(String, u64),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    NotImplemented(String),
    /// A phone number that cannot be parsed (400, reported as GMS's `GSGException`).
    #[error("{0}")]
    InvalidPhoneNumber(String),
    /// The session has ended (events to it are refused).
    #[error("{0}")]
    Gone(String),
    /// A document or service elsewhere could not be reached or failed.
    #[error("{0}")]
    BadGateway(String),
    /// A session did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// A fault of ours (the store failed): reported as 500, logged with its detail.
    #[error("{0}")]
    Internal(String),
    /// A callback request refused, with GMS's callback exception class (and, for a desired
    /// time that cannot be booked, the free slots as `availability`).
    #[error("{0}")]
    Callback(engine::callback::CallbackError),
    /// A Context Services request refused, with its exception class.
    #[error("{0}")]
    ContextServices(engine::cs::CsError),
}

impl From<engine::cs::CsError> for ApiError {
    fn from(e: engine::cs::CsError) -> ApiError {
        ApiError::ContextServices(e)
    }
}

/// The GMS error body every error answers with (a refused desired time adds `availability`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub(crate) struct Body<'a> {
    /// GMS's Java exception class for the kind of error.
    exception: &'a str,
    message: &'a str,
    /// The HTTP status again.
    code: u16,
    /// Its reason phrase.
    phrase: &'a str,
}

impl ApiError {
    /// The Java exception class GMS reports for this kind of error.
    pub fn exception(&self) -> std::borrow::Cow<'static, str> {
        if let ApiError::ContextServices(e) = self {
            return e.exception().into();
        }
        let class: &'static str = match self {
            ApiError::BadRequest(_) => "com.genesyslab.gsg.services.ServiceException",
            ApiError::NotFound(_) => "com.genesyslab.gsg.services.ServiceNotFoundException",
            ApiError::Unauthorized(_) => "com.genesyslab.gsg.security.AuthenticationException",
            ApiError::Forbidden(_) => "com.genesyslab.gsg.security.AccessDeniedException",
            ApiError::TooManyRequests(..) => "com.genesyslab.gsg.security.AuthenticationException",
            ApiError::MethodNotAllowed(_) => {
                "com.genesyslab.gsg.services.MethodNotAllowedException"
            }
            ApiError::Conflict(_) => "com.genesyslab.gsg.services.ConflictException",
            ApiError::PayloadTooLarge(_) => "com.genesyslab.gsg.services.PayloadTooLargeException",
            ApiError::UnsupportedMediaType(_) => {
                "com.genesyslab.gsg.services.UnsupportedMediaTypeException"
            }
            ApiError::ServiceUnavailable(_) => {
                "com.genesyslab.gsg.services.ServiceUnavailableException"
            }
            ApiError::NotImplemented(_) => "com.genesyslab.gsg.services.NotImplementedException",
            ApiError::Gone(_) | ApiError::BadGateway(_) | ApiError::GatewayTimeout(_) => {
                "com.genesyslab.gsg.services.ors.OrsServiceException"
            }
            ApiError::InvalidPhoneNumber(_) | ApiError::Internal(_) => {
                "com.genesyslab.gsg.GSGException"
            }
            ApiError::Callback(e) => e.exception(),
            ApiError::ContextServices(_) => "",
        };
        class.into()
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::NotFound(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::TooManyRequests(m, _)
            | ApiError::MethodNotAllowed(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::ServiceUnavailable(m)
            | ApiError::NotImplemented(m)
            | ApiError::Gone(m)
            | ApiError::BadGateway(m)
            | ApiError::GatewayTimeout(m)
            | ApiError::InvalidPhoneNumber(m)
            | ApiError::Internal(m) => m,
            ApiError::Callback(e) => match e {
                engine::callback::CallbackError::Number(m)
                | engine::callback::CallbackError::BadRequest(m)
                | engine::callback::CallbackError::NotFound(m)
                | engine::callback::CallbackError::UnknownContactCenter(m)
                | engine::callback::CallbackError::ServiceUnavailable(m) => m,
                engine::callback::CallbackError::Unavailable { message, .. } => message,
            },
            ApiError::ContextServices(e) => match e {
                engine::cs::CsError::NotFound(m)
                | engine::cs::CsError::ProfileNotFound(m)
                | engine::cs::CsError::Invalid(m)
                | engine::cs::CsError::Tenant(m)
                | engine::cs::CsError::Conflict(m)
                | engine::cs::CsError::Disabled(m) => m,
                engine::cs::CsError::Store(engine::store::StoreError::Backend(m)) => m,
                engine::cs::CsError::Store(engine::store::StoreError::Closed) => {
                    "the store is shut down"
                }
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::InvalidPhoneNumber(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Callback(e) => match e {
                engine::callback::CallbackError::Number(_)
                | engine::callback::CallbackError::BadRequest(_)
                | engine::callback::CallbackError::Unavailable { .. }
                | engine::callback::CallbackError::UnknownContactCenter(_) => {
                    StatusCode::BAD_REQUEST
                }
                engine::callback::CallbackError::NotFound(_) => StatusCode::NOT_FOUND,
                engine::callback::CallbackError::ServiceUnavailable(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            },
            // context-services.md §4.6: an unknown service, state or task is 400.
            ApiError::ContextServices(e) => match e {
                engine::cs::CsError::NotFound(_)
                | engine::cs::CsError::Invalid(_)
                | engine::cs::CsError::Tenant(_) => StatusCode::BAD_REQUEST,
                engine::cs::CsError::ProfileNotFound(_) | engine::cs::CsError::Disabled(_) => {
                    StatusCode::NOT_FOUND
                }
                engine::cs::CsError::Conflict(_) => StatusCode::CONFLICT,
                engine::cs::CsError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                message = self.message(),
                "request failed"
            );
        }
        let exception = self.exception();
        let body = Body {
            exception: &exception,
            message: self.message(),
            code: status.as_u16(),
            phrase: status.canonical_reason().unwrap_or(""),
        };
        let mut resp = HttpResponse::build(status);
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Basic realm=\"genesys\""));
        }
        if let ApiError::TooManyRequests(_, secs) = self {
            resp.insert_header(("Retry-After", secs.to_string()));
        }
        if let ApiError::Callback(engine::callback::CallbackError::Unavailable {
            availability,
            ..
        }) = self
        {
            let mut v = serde_json::to_value(&body).unwrap_or_default();
            if let Some(map) = v.as_object_mut() {
                map.insert("availability".into(), serde_json::json!(availability));
            }
            return resp.json(v);
        }
        resp.json(body)
    }
}

impl From<engine::users::ChangeError> for ApiError {
    fn from(e: engine::users::ChangeError) -> ApiError {
        use engine::users::ChangeError as C;
        let m = e.to_string();
        match e {
            C::NewNeedsRoleAndPassword(_) => ApiError::BadRequest(m),
            C::LastAdministrator(_) => ApiError::Conflict(m),
            C::NotFound(_) => ApiError::NotFound(m),
        }
    }
}

impl From<actors::session::SessionError> for ApiError {
    fn from(e: actors::session::SessionError) -> ApiError {
        use actors::session::SessionError as S;
        let m = e.to_string();
        match e {
            S::NotFound(_) => ApiError::NotFound(m),
            S::Finished(_) | S::Ended(_) => ApiError::Gone(m),
            S::Duplicate(_) | S::CallGone(_) => ApiError::Conflict(m),
            S::Timeout(_) => ApiError::GatewayTimeout(m),
            S::BadRequest(_) => ApiError::BadRequest(m),
            S::Store(_) => ApiError::Internal(m),
            S::Unavailable => ApiError::ServiceUnavailable(m),
        }
    }
}

impl From<actors::session::docs::DocError> for ApiError {
    fn from(e: actors::session::docs::DocError) -> ApiError {
        use actors::session::docs::DocError as D;
        let m = e.to_string();
        match e {
            D::Malformed(_) | D::NotFound(_) => ApiError::BadRequest(m),
            D::TooLarge { .. } => ApiError::PayloadTooLarge(m),
            D::Forbidden(_) => ApiError::Forbidden(m),
            D::Fetch(_) => ApiError::BadGateway(m),
        }
    }
}

impl From<actors::NodeError> for ApiError {
    fn from(e: actors::NodeError) -> ApiError {
        use actors::NodeError as N;
        match e {
            N::Platform(p) => p.into(),
            N::Session(s) => s.into(),
            N::Document(d) => d.into(),
            N::Center(c) => c.into(),
            N::BadRequest(m) => ApiError::BadRequest(m),
            N::Callback(c) => ApiError::Callback(c),
        }
    }
}
