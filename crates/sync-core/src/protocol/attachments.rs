//! Attachment uploads (`POST /v1/attachments`, `PUT /v1/attachments/{sha256}`): the
//! messages both sides share and the limits of a chunk. An attachment (a consent
//! signature, a photo) is named by the SHA-256 of its bytes, so the same bytes are
//! stored once and an upload cut anywhere resumes from what the server holds.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most bytes in one `PUT /v1/attachments/{sha256}` chunk.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The server's default limit of one attachment's size (50 MiB); the server's
/// `--max-attachment-mb` changes it.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;

/// Begin (or look up) an upload: `POST /v1/attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentBegin {
    /// Protocol version.
    pub v: u32,
    /// The SHA-256 of the whole attachment, 64 lower-case hex digits.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The record whose answer names it.
    pub record_id: Uuid,
    /// Its file name as answers carry it (`<sha256>.<ext>`).
    pub name: String,
}

/// How much of an attachment the server holds: the answer to a begin and to a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentStatus {
    /// Protocol version.
    pub v: u32,
    /// Bytes the server holds, from the start: the next chunk's offset.
    pub received: u64,
    /// Whether the server holds every byte and checked their SHA-256.
    pub complete: bool,
}

/// Whether `text` is a SHA-256 as attachments are named by: 64 lower-case hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The SHA-256 in an attachment's file name (`<sha256>.<ext>`, the extension 1 to 8
/// lower-case letters or digits), or `None` when `name` is not an attachment's name.
pub fn attachment_sha256(name: &str) -> Option<&str> {
    let (sha, ext) = name.split_once('.')?;
    let ext_ok = (1..=8).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (is_sha256_hex(sha) && ext_ok).then_some(sha)
}

/// The extension an attachment's name gets from its original file name: lower-case,
/// letters and digits only, at most 8 characters; `bin` when there is none.
pub fn attachment_extension(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let ext = match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    let valid = (1..=8).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        ext
    } else {
        "bin".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_and_extensions() {
        let sha = "ab".repeat(32);
        assert_eq!(attachment_sha256(&format!("{sha}.jpg")), Some(sha.as_str()));
        assert_eq!(attachment_sha256(&format!("{sha}.JPG")), None);
        assert_eq!(attachment_sha256(&format!("{sha}.")), None);
        assert_eq!(attachment_sha256(&format!("{sha}.toolongext")), None);
        assert_eq!(attachment_sha256(&format!("{}.png", "AB".repeat(32))), None);
        assert_eq!(attachment_sha256("yes"), None);
        assert_eq!(attachment_extension("/sdcard/DCIM/Photo.JPEG"), "jpeg");
        assert_eq!(attachment_extension("signature"), "bin");
        assert_eq!(attachment_extension(".hidden"), "bin");
        assert_eq!(attachment_extension("a.tar.gz"), "gz");
        assert_eq!(attachment_extension("x.p-ng"), "bin");
        assert_eq!(attachment_extension("x.abcdefghi"), "bin");
        assert!(is_sha256_hex(&sha) && !is_sha256_hex("abc"));
    }
}
