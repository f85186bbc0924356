//! The core's typed errors.

use thiserror::Error;

/// Everything that can go wrong in the core. Each variant says what a person can do.
#[derive(Debug, Error)]
pub enum CoreError {
    /// The SQLite file could not be read or written.
    #[error("device store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An Automerge document or change could not be decoded or applied.
    #[error("record document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// No record with this id in the store.
    #[error("no record with id {0}")]
    NotFound(String),
    /// A record is missing its metadata or holds malformed metadata.
    #[error("record {id} is malformed: {reason}")]
    Malformed {
        /// The record id, or `?` when unknown.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A change tried to alter metadata that is fixed at creation.
    #[error("record {id}: {field} is fixed when the record is created and cannot change")]
    ImmutableMetadata {
        /// The record id.
        id: String,
        /// The metadata field the change touched.
        field: String,
    },
    /// A field path such as `child[2]/age_years` does not parse or does not exist.
    #[error("field `{path}`: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A response was checked against a form other than the one it was started on.
    #[error("record {id} answers {wanted}, not {given}")]
    WrongForm {
        /// The record id.
        id: String,
        /// The form and version the record names.
        wanted: String,
        /// The form and version given.
        given: String,
    },
    /// The store is encrypted and the key given is wrong, or none was given (or the
    /// file is not a store at all).
    #[error("the device store cannot be opened with this key: the key is wrong, or the store is encrypted and no key was given")]
    WrongKey,
    /// An attachment that cannot be kept (empty, or for a record not in the store).
    #[error("attachment: {0}")]
    Attachment(String),
    /// The store file was written by a newer version of the app.
    #[error("the store has schema version {found}, newer than this app understands ({supported}); update the app")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this code knows.
        supported: i64,
    },
    /// Something this build cannot do: an encryption key for the store in the browser
    /// (wasm32), which has no SQLCipher.
    #[error("not available in this build: {0}")]
    Unsupported(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
