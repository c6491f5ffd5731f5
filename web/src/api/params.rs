//! Request parameters of the GMS API: `application/x-www-form-urlencoded`, `multipart/form-data`
//! (with file parts), a JSON object (the callback API accepts JSON bodies), and the query string.
//! Bounded: the body size and the number of fields are limited, and bad input is a 4xx.

use actix_multipart::Multipart;
use actix_web::web::{Bytes, Payload};
use actix_web::HttpRequest;
use futures_util::StreamExt;

use super::error::ApiError;

/// Largest request body accepted (multipart uploads included).
pub const MAX_BODY: usize = 5 * 1024 * 1024;
/// Most fields one request may carry.
pub const MAX_FIELDS: usize = 1000;

/// One parameter value: text, or an uploaded file part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    File {
        bytes: Vec<u8>,
        content_type: Option<String>,
        filename: Option<String>,
    },
}

impl Param {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Param::Text(s) => Some(s),
            Param::File { .. } => None,
        }
    }
}

/// Parameters in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Param)>);

impl Params {
    /// The last text value of `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_text())
    }

    /// Text parameters only, last value of each name winning, in first-seen order.
    pub fn texts(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.0 {
            if let Param::Text(t) = v {
                match out.iter_mut().find(|(n, _)| n == k) {
                    Some(slot) => slot.1 = t.clone(),
                    None => out.push((k.clone(), t.clone())),
                }
            }
        }
        out
    }

    fn push(&mut self, k: String, v: Param) -> Result<(), ApiError> {
        if self.0.len() >= MAX_FIELDS {
            return Err(ApiError::PayloadTooLarge(format!(
                "too many parameters: at most {MAX_FIELDS} are accepted"
            )));
        }
        self.0.push((k, v));
        Ok(())
    }
}

/// Decodes one `application/x-www-form-urlencoded` component; bytes that are not UTF-8 are
/// an error rather than silently replaced.
fn decode_component(raw: &[u8]) -> Result<String, ApiError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|_| {
        ApiError::BadRequest(format!(
            "the form parameter '{}' is not valid UTF-8; send binary data as a multipart file part",
            String::from_utf8_lossy(raw)
        ))
    })
}

/// Parses `application/x-www-form-urlencoded` text (also the query string), strictly.
pub fn urlencoded(bytes: &[u8], out: &mut Params) -> Result<(), ApiError> {
    for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        out.push(decode_component(k)?, Param::Text(decode_component(v)?))?;
    }
    Ok(())
}

fn json(bytes: &[u8], out: &mut Params) -> Result<(), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object of parameters".into(),
        ));
    };
    for (k, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        out.push(k, Param::Text(text))?;
    }
    Ok(())
}

async fn read_body(payload: &mut Payload) -> Result<Bytes, ApiError> {
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::PayloadTooLarge(format!(
                "the request body is larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn multipart(req: &HttpRequest, payload: Payload, out: &mut Params) -> Result<(), ApiError> {
    let mut mp = Multipart::new(req.headers(), payload);
    let mut total = 0usize;
    while let Some(field) = mp.next().await {
        let mut field =
            field.map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        let cd = field.content_disposition().cloned();
        let name = cd
            .as_ref()
            .and_then(|c| c.get_name())
            .map(str::to_string)
            .ok_or_else(|| ApiError::BadRequest("a multipart part has no name".into()))?;
        let filename = cd
            .as_ref()
            .and_then(|c| c.get_filename())
            .map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
            total += chunk.len();
            if total > MAX_BODY {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the request body is larger than {MAX_BODY} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let value = if filename.is_some() {
            Param::File {
                bytes,
                content_type,
                filename,
            }
        } else {
            match String::from_utf8(bytes) {
                Ok(text) => Param::Text(text),
                Err(e) => Param::File {
                    bytes: e.into_bytes(),
                    content_type,
                    filename: None,
                },
            }
        };
        out.push(name, value)?;
    }
    Ok(())
}

/// Reads the query string and the body (by its content type) into parameters.
pub async fn read(req: &HttpRequest, mut payload: Payload) -> Result<Params, ApiError> {
    let mut out = Params::default();
    urlencoded(req.query_string().as_bytes(), &mut out)?;
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        multipart(req, payload, &mut out).await?;
    } else {
        let body = read_body(&mut payload).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(out);
        }
        if ct.starts_with("application/json") {
            json(&body, &mut out)?;
        } else if ct.is_empty()
            || ct.starts_with("application/x-www-form-urlencoded")
            || ct.starts_with("text/plain")
        {
            urlencoded(&body, &mut out)?;
        } else {
            return Err(ApiError::UnsupportedMediaType(format!(
                "content type '{ct}' is not accepted: send application/x-www-form-urlencoded, multipart/form-data or application/json"
            )));
        }
    }
    Ok(out)
}
