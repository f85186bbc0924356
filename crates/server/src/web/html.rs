//! URL encoding for links the pages build (the templates escape HTML themselves).

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
