//! The text of an enrollment link or QR code: the web app's link or the native
//! apps' `c2c://` form, read into a server address and a one-time code.

use super::{AppError, AppResult};

/// The server address and code of an enrollment QR code's text: the web app's link
/// (`http(s)://host[:port][/prefix]/app/#enroll=<code>`, the server being everything
/// before `/app/`) or the native apps' `c2c://enroll?server=<url>&code=<code>`.
pub(super) fn parse_enroll_link(link: &str) -> AppResult<(String, String)> {
    let bad = || AppError::invalid(format!("`{link}` is not an enrollment code's link"));
    let link = link.trim();
    if let Some(query) = link.strip_prefix("c2c://enroll?") {
        let mut server = None;
        let mut code = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("server", v)) if !v.is_empty() => server = Some(v.to_string()),
                Some(("code", v)) if !v.is_empty() => code = Some(v.to_string()),
                _ => {}
            }
        }
        return Ok((server.ok_or_else(bad)?, code.ok_or_else(bad)?));
    }
    // The web app's link: the code is in the fragment, the server before `/app/`.
    let (page, fragment) = link.split_once('#').ok_or_else(bad)?;
    let server = page.strip_suffix("/app/").ok_or_else(bad)?;
    let host = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .ok_or_else(bad)?;
    if host.is_empty() || host.starts_with('/') || server.contains(['?', ' ']) {
        return Err(bad());
    }
    let code = fragment
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some(("enroll", v)) if !v.is_empty() => Some(v.to_string()),
            _ => None,
        })
        .ok_or_else(bad)?;
    Ok((server.to_string(), code))
}
