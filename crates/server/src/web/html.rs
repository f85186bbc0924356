//! HTML for the staff pages: escaping and the page frame. Pages are built as strings
//! on the server; every value from a record or a user goes through [`escape`].

/// Text made safe to place in HTML, in element content or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe to place in a URL's path segment or query value: every byte but
/// the unreserved characters (`A-Z a-z 0-9 - _ . ~`) percent-encoded.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}\
header{background:#1d3557;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}\
header a{color:#fff}header form{margin-left:auto}main{padding:1rem;max-width:70rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
td.num{text-align:right;white-space:nowrap}.hidden{color:#666;font-style:italic}.error{color:#a4161a}\
label{display:block;margin:.5rem 0}nav a{margin-right:.8rem}fieldset{margin:.5rem 0}";

/// A whole page: `title`, the signed-in user's name (and the sign-out form's CSRF
/// token) when there is one, and `body` (already HTML).
pub fn page(title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let header = match user {
        Some((name, csrf)) => format!(
            "<header><strong>Cradle to career</strong><nav><a href=\"/dashboard\">Indicators</a> \
             <a href=\"/records\">Records</a> <a href=\"/users\">Users</a> \
             <a href=\"/devices\">Devices</a> <a href=\"/forms\">Forms</a></nav><span>{}</span><form method=\"post\" action=\"/sign-out\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form></header>",
            escape(name),
            escape(csrf)
        ),
        None => "<header><strong>Cradle to career</strong></header>".to_string(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Cradle to career</title><style>{STYLE}</style></head>\
         <body>{header}<main>{body}</main></body></html>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let p = page("a<b", Some(("<i>ana</i>", "t\"")), "<p>ok</p>");
        assert!(p.contains("a&lt;b") && p.contains("&lt;i&gt;ana") && p.contains("t&quot;"));
        assert!(p.contains("<p>ok</p>"));
    }
}
