//! Reading a page's file upload (`multipart/form-data`): its CSRF token, its file, and
//! any files sent beside it (`<input type=file name=files multiple>`).

use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;

use super::session::error_page;

/// What an upload form sent.
pub struct Upload {
    /// The form's CSRF token (check it before using the file).
    pub csrf: String,
    /// The file's bytes (empty when none was chosen).
    pub file: Vec<u8>,
    /// The file's name as the browser sent it (an XLSForm's id when its settings have
    /// none).
    pub file_name: String,
    /// The `files` fields (a form's attached CSV files): name and bytes, in order; a
    /// field with no file chosen is left out.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Read the `csrf`, `file` and `files` fields of an upload form; other fields are
/// ignored. A
/// malformed or oversized body is an error page (the router's body limit applies).
pub async fn read_upload(mut form: Multipart) -> Result<Upload, Response> {
    let mut upload = Upload {
        csrf: String::new(),
        file: Vec::new(),
        file_name: String::new(),
        files: Vec::new(),
    };
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().unwrap_or("").to_string();
                if name == "file" {
                    upload.file_name = file_name.clone();
                }
                match field.bytes().await {
                    Ok(bytes) if name == "csrf" => {
                        upload.csrf = String::from_utf8_lossy(&bytes).into_owned()
                    }
                    Ok(bytes) if name == "file" => upload.file = bytes.to_vec(),
                    // A browser sends an empty, unnamed part when no file was chosen.
                    Ok(bytes) if name == "files" && !(bytes.is_empty() && file_name.is_empty()) => {
                        upload.files.push((file_name, bytes.to_vec()))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(error_page(StatusCode::BAD_REQUEST, &e.body_text())),
                }
            }
            Ok(None) => return Ok(upload),
            Err(e) => return Err(error_page(StatusCode::BAD_REQUEST, &e.body_text())),
        }
    }
}
