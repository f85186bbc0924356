//! Attachments in the app API: a file (a photo, a consent signature) attached to a
//! response's `image` question. The bytes are kept in the store (encrypted with it)
//! under their SHA-256; the answer is the attachment's name `<sha256>.<ext>`; the next
//! sync uploads them, resuming where a cut connection left off.

use std::io::Read;

use super::{parse_id, AnswerValue, AppError, AppResult, DeviceStore, ResponseView};

/// The largest file an app may attach, in bytes (the server's default limit).
pub const MAX_ATTACHMENT_BYTES: u64 = crate::protocol::DEFAULT_MAX_ATTACHMENT_BYTES;

fn too_large(size: u64) -> AppError {
    AppError::invalid(format!(
        "the file has {size} bytes; an attachment may have at most {} MiB",
        MAX_ATTACHMENT_BYTES / (1024 * 1024)
    ))
}

#[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::export)]
impl DeviceStore {
    /// Attach the file at `file_path` to the answer at `path` of a response: the file
    /// is copied into the store (the app may delete its own copy) and the answer set
    /// to its name (`<sha256>.<ext>`). Files over 50 MiB, empty files and unreadable
    /// ones fail with `AppException.Invalid`. Returns the response's new state.
    pub fn attach_file(
        &self,
        response_id: String,
        path: String,
        file_path: String,
        lang: String,
    ) -> AppResult<ResponseView> {
        let unreadable =
            |e: std::io::Error| AppError::invalid(format!("the file cannot be read: {e}"));
        let file = std::fs::File::open(&file_path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        if size > MAX_ATTACHMENT_BYTES {
            return Err(too_large(size));
        }
        // Read at most one byte past the limit: a file that grows while read is still
        // refused, and never read whole.
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        self.attach_bytes(response_id, path, file_path, bytes, lang)
    }

    /// Attach `bytes` (a signature drawn in the app, a photo held in memory) to the
    /// answer at `path`, as [`DeviceStore::attach_file`] does; `file_name` gives the
    /// extension (`signature.png`).
    pub fn attach_bytes(
        &self,
        response_id: String,
        path: String,
        file_name: String,
        bytes: Vec<u8>,
        lang: String,
    ) -> AppResult<ResponseView> {
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        if bytes.is_empty() {
            return Err(AppError::invalid("the file is empty"));
        }
        self.saved()?.ok_or(AppError::NotSignedIn)?;
        let id = parse_id(&response_id)?;
        // Checked before the bytes are stored, so a wrong path leaves nothing behind.
        super::parse_path(&path)?;
        let name = self.lock().add_attachment(id, &file_name, &bytes)?;
        self.set_answer(
            response_id,
            path,
            Some(AnswerValue::Text { value: name }),
            lang,
        )
    }

    /// How many attachments wait to be uploaded.
    pub fn pending_attachments(&self) -> AppResult<u64> {
        Ok(self.lock().pending_attachments_size()?.0)
    }
}
