//! The staff pages through the router: requests with a cookie, form posts, sign-in.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::TestServer;

pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub async fn send(s: &TestServer, req: Request<Body>) -> Page {
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub async fn get(s: &TestServer, path: &str, cookie: Option<&str>) -> Page {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    send(s, req.body(Body::empty()).unwrap()).await
}

pub async fn post_form(s: &TestServer, path: &str, cookie: &str, form: &str) -> Page {
    let req = Request::post(path)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    send(s, req).await
}

/// `name=value` of a Set-Cookie header of the page.
pub fn set_cookie(page: &Page, name: &str) -> Option<(String, String)> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let pair = v.split(';').next().unwrap().to_string();
            (pair, v)
        })
}

/// The CSRF token of the page's first form.
pub fn hidden_csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

/// Sign in through the form; the session cookie (`c2c_session=...`).
pub async fn sign_in(s: &TestServer, user: &str, password: &str) -> Page {
    let form = get(s, "/sign-in", None).await;
    let (login, _) = set_cookie(&form, "c2c_login").unwrap();
    let csrf = hidden_csrf(&form.body);
    post_form(
        s,
        "/sign-in",
        &login,
        &format!("username={user}&password={password}&csrf={csrf}"),
    )
    .await
}

/// Sign in and return the session cookie, or fail.
pub async fn session(s: &TestServer, user: &str, password: &str) -> String {
    let page = sign_in(s, user, password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    set_cookie(&page, "c2c_session").unwrap().0
}

/// The text from `start` to the first `end` after it, both included, or fail.
pub fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in {body}"));
    let rest = &body[at..];
    let stop = rest[start.len()..]
        .find(end)
        .map_or(rest.len(), |e| start.len() + e + end.len());
    &rest[..stop]
}

/// Post a file (and the CSRF token) as `multipart/form-data`, as a browser does.
pub async fn post_file(s: &TestServer, path: &str, cookie: &str, csrf: &str, file: &str) -> Page {
    post_upload(s, path, cookie, csrf, "rows.csv", file.as_bytes()).await
}

/// Post a named file's bytes (and the CSRF token) as `multipart/form-data`.
#[allow(dead_code)]
pub async fn post_upload(
    s: &TestServer,
    path: &str,
    cookie: &str,
    csrf: &str,
    filename: &str,
    file: &[u8],
) -> Page {
    let mut body = format!(
        "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--XBOUNDARYX--\r\n");
    let req = Request::post(path)
        .header("cookie", cookie)
        .header("content-type", "multipart/form-data; boundary=XBOUNDARYX")
        .body(Body::from(body))
        .unwrap();
    send(s, req).await
}
