//! The Service Management UI: HTML, CSS and JavaScript modules embedded in the binary (`web/ui/`)
//! and served at `/genesys/` (the hub URL the help gives), so `ringback serve` is the whole
//! product: no build step, no CDN, works offline.
//!
//! Files are answered with an `ETag` (a digest of their bytes) and `Cache-Control: no-cache`, so a
//! browser revalidates and gets `304 Not Modified` until the binary changes. Pages carry a
//! Content-Security-Policy that allows only this server's own scripts (and the page's import map,
//! by its digest).

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};

use crate::api::routes::State;

static FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/ui");

/// The JavaScript sample application (`samples/web/`), served at `/genesys/sample/` when
/// `[features] enable-sample` is on (Tools > Sample frames it).
static SAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../samples/web");

/// The sample's policy: this server's scripts, styles and connections only; framed only by
/// this server's pages (the hub's Tools > Sample).
const SAMPLE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; \
    form-action 'self'";

/// The page every UI route answers with.
const INDEX: &str = "index.html";

/// A file's content type, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("md" | "txt") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
    )
}

/// The policy of the UI's pages: scripts from this server only, plus the inline import map of
/// `index.html` named by its SHA-256 (computed once from the embedded page).
fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let page = FILES
            .get_file(INDEX)
            .and_then(|f| f.contents_utf8())
            .unwrap_or_default();
        let map = page
            .split_once("<script type=\"importmap\">")
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map(|(map, _)| map)
            .unwrap_or_default();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map));
        format!(
            "default-src 'self'; script-src 'self' 'sha256-{hash}'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
             form-action 'self'"
        )
    })
}

/// How a set of pages is served: its files and the headers of its HTML pages.
struct Site {
    files: &'static Dir<'static>,
    policy: fn() -> &'static str,
    frame_options: &'static str,
}

const HUB: Site = Site {
    files: &FILES,
    policy: content_security_policy,
    frame_options: "DENY",
};

const SAMPLE_SITE: Site = Site {
    files: &SAMPLE,
    policy: || SAMPLE_POLICY,
    frame_options: "SAMEORIGIN",
};

/// One embedded file of the hub, or 404.
fn file(req: &HttpRequest, path: &str) -> HttpResponse {
    serve(&HUB, req, path)
}

/// One embedded file of `site`, or 404.
fn serve(site: &Site, req: &HttpRequest, path: &str) -> HttpResponse {
    let Some(f) = site.files.get_file(path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no UI file '{path}'"));
    };
    let tag = etag(f.contents());
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if path.ends_with(".html") {
        resp.insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static((site.policy)()),
        ))
        .insert_header((header::X_FRAME_OPTIONS, site.frame_options))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
    }
    if fresh {
        return resp.finish();
    }
    resp.content_type(content_type(path))
        .body(f.contents().to_vec())
}

/// `GET /genesys/`: the hub page.
async fn index(req: HttpRequest) -> HttpResponse {
    file(&req, INDEX)
}

/// `GET /genesys/ui/{path}`: the page's modules, styles and vendored libraries.
async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    // include_dir paths never start with `/` nor hold `..`: anything else is simply not found.
    file(&req, &path)
}

/// `/genesys` and the old GMS addresses of the UI lead to the hub.
async fn to_hub() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/genesys/"))
        .finish()
}

/// `GET /genesys/sample/{path}`: the JavaScript sample, when `[features] enable-sample` is on
/// (otherwise 404, as for a page that is not there).
async fn sample(req: HttpRequest, state: State, path: web::Path<String>) -> HttpResponse {
    if !crate::api::routes::features(&state).is_set("enable-sample") {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("the JavaScript sample is off: [features] enable-sample = false");
    }
    let path = path.into_inner();
    serve(
        &SAMPLE_SITE,
        &req,
        if path.is_empty() { INDEX } else { &path },
    )
}

/// `/genesys/sample` → `/genesys/sample/` (the sample's URLs are relative to it).
async fn to_sample() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/genesys/sample/"))
        .finish()
}

/// Mounts the UI; before the API scopes' catch-alls.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/genesys").route(web::get().to(to_hub)))
        .service(web::resource("/genesys/").route(web::get().to(index)))
        .service(web::resource("/genesys/admin/login.jsp").route(web::get().to(to_hub)))
        .service(web::resource("/genesys/develop/index.html").route(web::get().to(to_hub)))
        .service(web::resource("/genesys/ui/{path:.*}").route(web::get().to(asset)))
        .service(web::resource("/genesys/sample").route(web::get().to(to_sample)))
        .service(web::resource("/genesys/sample/{path:.*}").route(web::get().to(sample)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_known_type() {
        fn walk(dir: &Dir<'_>, out: &mut Vec<String>) {
            for f in dir.files() {
                out.push(f.path().to_string_lossy().into_owned());
            }
            for d in dir.dirs() {
                walk(d, out);
            }
        }
        for site in [&FILES, &SAMPLE] {
            let mut all = Vec::new();
            walk(site, &mut all);
            assert!(all.iter().any(|p| p == INDEX), "{all:?}");
            for p in all {
                assert_ne!(content_type(&p), "application/octet-stream", "{p}");
            }
        }
    }

    #[test]
    fn the_policy_names_the_import_map_by_its_digest() {
        let csp = content_security_policy();
        assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
        // The digest of an empty map would mean the page lost its import map.
        let empty = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(""));
        assert!(!csp.contains(&empty), "{csp}");
    }
}
