//! HTTP Basic authentication as GMS applies it (gms-api.md §5): the username and the password
//! are each taken from the service's section when it sets them, else from `[server]`, and a
//! request must authenticate only when a password is configured.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::Engine;

use super::error::ApiError;

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
}
