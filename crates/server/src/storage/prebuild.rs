//! New records' documents built ahead of the push's writer: decoding a creating change
//! is the costliest CPU step of an ingest, so it runs on rayon's pool (a thread per
//! core for the whole process), chunk by chunk, while the writer takes the records in
//! push order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use automerge::{Change, ChangeHash};
use sync_core::RecordDoc;

use super::Storage;

/// A new record decoded (and its answers validated) ahead of the write transaction.
pub(super) struct Prebuilt {
    /// The document.
    pub doc: RecordDoc,
    /// The new record's fields, read once.
    pub fields: forms::Answers,
    /// What its row stores, as JSON: the cleaned answers when it has a form (see
    /// `validation`), else the fields.
    pub fields_json: String,
    /// Its answers checked against its form version.
    pub validation: Option<forms::validate::Validation>,
}

/// New records are built in chunks of this many, so that the writer can start on the
/// first chunk while the next ones are built.
const BUILD_CHUNK: usize = 32;

/// The new records of a push as they are built, in push order: the writer takes each
/// when it reaches it, waiting for its chunk if need be.
pub(super) struct Prebuilds {
    ready: HashMap<ChangeHash, Prebuilt>,
    coming: std::sync::mpsc::Receiver<Vec<(ChangeHash, Prebuilt)>>,
    /// Set when the writer is done: chunks not started yet are skipped.
    done: Arc<AtomicBool>,
}

impl Prebuilds {
    /// The prebuilt record of a creating change; `None` if it could not be built
    /// (the writer then builds it itself, and reports the error).
    pub(super) fn take(&mut self, hash: &ChangeHash) -> Option<Prebuilt> {
        loop {
            if let Some(found) = self.ready.remove(hash) {
                return Some(found);
            }
            self.ready.extend(self.coming.recv().ok()?);
        }
    }
}

impl Drop for Prebuilds {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

/// Start building new records: decoding a creating change is the costliest CPU step of
/// an ingest, so it runs chunk by chunk on rayon's pool (one thread per core, shared
/// by every push at once, so that concurrent pushes never start threads of their own)
/// alongside the writer. A new record's answers are validated and serialized there
/// too; the writer reuses that work when the creation is all that lands for the
/// record.
pub(super) fn build(storage: &Storage, creations: Vec<Change>) -> Prebuilds {
    let (send, coming) = std::sync::mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let today = chrono::Utc::now().date_naive();
    let mut creations = creations.into_iter().peekable();
    while creations.peek().is_some() {
        let chunk: Vec<Change> = creations.by_ref().take(BUILD_CHUNK).collect();
        let (send, storage, done) = (send.clone(), storage.clone(), done.clone());
        rayon::spawn_fifo(move || {
            if done.load(Ordering::Acquire) {
                return;
            }
            let built = chunk
                .into_iter()
                .filter_map(|c| prebuild(&storage, c, today))
                .collect();
            let _ = send.send(built);
        });
    }
    Prebuilds {
        ready: HashMap::new(),
        coming,
        done,
    }
}

fn prebuild(
    storage: &Storage,
    creation: Change,
    today: chrono::NaiveDate,
) -> Option<(ChangeHash, Prebuilt)> {
    let hash = creation.hash();
    let doc = RecordDoc::from_changes(vec![creation], None).ok()?;
    let fields = doc.fields();
    let validation = doc
        .meta()
        .form
        .as_ref()
        // Only a form in memory: a read here would take a second connection while
        // the push's transaction holds one (the writer reads it inside instead).
        .and_then(|f| storage.cached_form(&f.id, f.version))
        .map(|form| form.validate(&fields, "", today));
    // The row holds the cleaned answers of a record with a form (see push/).
    let shown = validation.as_ref().map_or(&fields, |v| &v.answers);
    let fields_json = serde_json::to_string(shown).unwrap_or_else(|_| "{}".into());
    Some((
        hash,
        Prebuilt {
            doc,
            fields,
            fields_json,
            validation,
        },
    ))
}
