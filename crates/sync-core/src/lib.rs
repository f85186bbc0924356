//! The shared core of the survey and sync system.
//!
//! - [`record`]: every record (household, person, response, literacy check-in, case note,
//!   form definition) is one Automerge document with immutable metadata, typed answers,
//!   an audit trail and surfaced conflicts.
//! - [`store`]: the device store, one SQLite file holding the documents, the outbox of
//!   changes the server has not acknowledged, the sync cursor and the device's actor.
//! - [`app`]: the API the Android and iOS apps call, exported through uniffi (with the
//!   `ffi` feature, on by default), and the browser's (crates/sync-web, wasm-bindgen).
//! - [`forms`] (re-exported): the form model, the XLSForm expression language and
//!   response validation, shared with the server.
//!
//! Natively the store is SQLCipher and the client speaks TLS through rustls on tokio.
//! For the browser (`wasm32-unknown-unknown`, built with `default-features = false`)
//! the store is plain SQLite (an encryption key is refused), the client uses the
//! browser's fetch, and batch work runs on the calling thread.

#[cfg(all(feature = "ffi", not(target_arch = "wasm32")))]
uniffi::setup_scaffolding!();

pub mod app;
pub mod error;
pub mod parallel;
pub mod protocol;
pub mod record;
pub mod store;
pub mod sync;

pub use error::CoreError;
pub use forms;
pub use forms::{Answer, Answers, Value};
pub use record::{
    Commit, Conflict, ConflictValue, FormRef, HistoryEntry, RecordDoc, RecordKind, RecordMeta,
    Scope,
};

pub use store::{
    ApplyReport, Durability, OutboxItem, RecordFilter, RecordSummary, Store, StoreOptions,
};
