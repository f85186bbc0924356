//! New records' documents built ahead of the push's writer: decoding a creating change
//! is the costliest CPU step of an ingest, so it runs on a thread per core, chunk by
//! chunk, while the writer takes the records in push order.

use std::collections::HashMap;

use automerge::{Change, ChangeHash};
use sync_core::RecordDoc;

use super::Storage;

/// A new record decoded (and its answers validated) ahead of the write transaction.
pub(super) struct Prebuilt {
    /// The document.
    pub doc: RecordDoc,
    /// The new record's fields, read once.
    pub fields: forms::Answers,
    /// The same, as the JSON its row stores.
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

/// Start building new records: decoding a creating change is the costliest CPU step of
/// an ingest, so it runs on one thread per core, chunk by chunk, alongside the writer. A new
/// record's answers are validated and serialized there too; the writer reuses that
/// work when the creation is all that lands for the record. Call inside a thread scope;
/// the builder ends when its chunks are done or the writer has gone.
pub(super) fn build<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    storage: &'scope Storage,
    creations: Vec<Change>,
) -> Prebuilds {
    let (send, coming) = std::sync::mpsc::channel();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(creations.into_iter()));
    let today = chrono::Utc::now().date_naive();
    for _ in 0..sync_core::parallel::threads() {
        let (send, queue) = (send.clone(), queue.clone());
        scope.spawn(move || loop {
            let chunk: Vec<Change> = match queue.lock() {
                Ok(mut queue) => queue.by_ref().take(BUILD_CHUNK).collect(),
                Err(_) => return,
            };
            if chunk.is_empty() {
                return;
            }
            let built = chunk
                .into_iter()
                .filter_map(|c| prebuild(storage, c, today))
                .collect();
            if send.send(built).is_err() {
                return;
            }
        });
    }
    Prebuilds {
        ready: HashMap::new(),
        coming,
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
    let fields_json = serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into());
    let validation = doc
        .meta()
        .form
        .as_ref()
        .and_then(|f| storage.form(&f.id, f.version))
        .map(|form| form.validate(&fields, "", today));
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
