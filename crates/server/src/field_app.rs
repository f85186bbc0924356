//! `GET /app/...`: the browser field app (crate `field-app`), served from the files
//! embedded at build time.
//!
//! The app is static: everything a phone does happens in its browser, in the core
//! compiled to WebAssembly, and reaches the server through the same sync endpoints
//! as the native apps. Files are revalidated by ETag (the build's id) so a phone
//! online picks up a new build, while the service worker serves them offline.

use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

/// What the app's pages may load: its own files, the wasm it compiles, its own API.
/// `wasm-unsafe-eval` is what compiling WebAssembly takes, not `eval` of text.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     worker-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// The field app's routes, to merge into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/app/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = field_app::file(path) else {
        return (StatusCode::NOT_FOUND, "No such file in the field app.").into_response();
    };
    if !field_app::BUILT && file.path == "index.html" {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The field app was built without its core (FIELD_APP_SKIP was set): rebuild the \
             server without it to serve the app.",
        )
            .into_response();
    }
    // Weak: the gzipped and the plain bytes are the same file.
    let etag = format!("W/\"{}\"", field_app::BUILD_ID);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(headers) {
        let mut r = file.gzip.into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        file.bytes.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    // Always revalidated: the ETag makes that a 304 when nothing changed, and a new
    // build reaches phones at their next visit online.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Whether the request's `Accept-Encoding` takes gzip (and does not refuse it with q=0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(encoding).unwrap(),
        );
        h
    }

    #[test]
    fn gzip_is_sent_only_to_browsers_that_take_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn files_are_served_with_their_type_and_revalidated() {
        let r = serve("manifest.webmanifest", &with("gzip"));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/manifest+json"
        );
        let etag = r.headers()[header::ETAG].clone();
        let mut again = with("gzip");
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            serve("manifest.webmanifest", &again).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            serve("nothing.js", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
        assert!(serve("../../Cargo.toml", &HeaderMap::new())
            .status()
            .is_client_error());
    }
}
