//! The device store: one SQLite file holding every record document, the outbox of
//! changes the server has not acknowledged, the sync cursor and the device's actor.
//!
//! Every write is one SQLite transaction. Documents are loaded on demand into a small
//! LRU cache; nothing holds every record in memory. A record's document is kept as a
//! compacted snapshot plus the changes saved since (incremental chunks), folded back
//! into the snapshot every [`StoreOptions::compact_after`] changes.

mod attachments;
mod build;
mod form_versions;
mod records;
mod schema;
mod settings;
mod sync_state;

use std::num::NonZeroUsize;
use std::path::Path;

use automerge::{ActorId, Change, ChangeHash};
use forms::Answers;
use lru::LruCache;
use rusqlite::{params, Connection};
use uuid::Uuid;

pub use attachments::{attachment_name, PendingAttachment};
pub use form_versions::StoredForm;
pub use records::{RecordFilter, RecordSummary};
pub use schema::CURRENT_VERSION;
pub use sync_state::QuarantinedChange;

use crate::error::{CoreError, Result};
use crate::record::{
    Commit, Conflict, FieldPath, FormRef, HistoryEntry, RecordDoc, RecordEdit, RecordKind,
    RecordMeta, Scope,
};

/// Writes between two WAL checkpoints (each write adds ~5-10 pages to the WAL).
const CHECKPOINT_EVERY: u32 = 200;

/// How hard SQLite works to keep a committed write across a power cut. Every mode
/// survives the app being killed; they differ only on a power cut (a phone's battery
/// dying), where an fsync per write costs ~10 ms on slow flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL` for every write: each committed write survives a power cut.
    Full,
    /// The default. Answer edits are `NORMAL` (fast; a power cut may lose the last
    /// edits of a draft); creating a record, finalizing a response, resolving a
    /// conflict and every sync step are `FULL`, and their fsync also makes every edit
    /// before them durable. A finalized interview is never lost to a power cut.
    Balanced,
    /// `synchronous=NORMAL`: survives an app crash; a power cut may lose the last
    /// writes (never corrupt the file).
    Normal,
}

/// Tuning for a [`Store`]. The defaults suit a phone.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Documents kept in memory at most.
    pub cache_capacity: usize,
    /// Fold a record's saved changes into its snapshot after this many.
    pub compact_after: u32,
    /// The key that encrypts the file (SQLCipher: AES-256, the key stretched with
    /// PBKDF2), kept by the app in the platform's key store (Android Keystore, iOS
    /// Keychain). `None`: a plain file. A store is created encrypted or plain and
    /// stays so.
    pub key: Option<String>,
    /// Durability of each write.
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity: 32,
            compact_after: 16,
            durability: Durability::Balanced,
            key: None,
        }
    }
}

/// A change made on this device that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Position in the outbox (push in this order).
    pub seq: i64,
    /// The change hash: pushing the same change twice is a no-op on the server.
    pub hash: ChangeHash,
    /// The record the change belongs to.
    pub record_id: Uuid,
    /// The change, encoded.
    pub bytes: Vec<u8>,
}

/// What applying a page of remote changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Records seen for the first time.
    pub created: usize,
    /// Records that already existed and received changes.
    pub updated: usize,
    /// Changes that were new to this device.
    pub new_changes: usize,
    /// Records removed by tombstones.
    pub removed: usize,
}

/// The device store. Not `Sync`: wrap it in a mutex to share it.
pub struct Store {
    conn: Connection,
    actor: ActorId,
    cache: LruCache<Uuid, RecordDoc>,
    options: StoreOptions,
    /// Writes since the last checkpoint.
    since_checkpoint: u32,
}

impl Store {
    /// Open (or create) the store at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Open (or create) the store at `path`.
    ///
    /// In the browser (wasm32) there is no SQLCipher: a `key` fails with
    /// [`CoreError::Unsupported`], and the store holds its file exclusively through its
    /// one connection (the browser's VFS has no shared memory, which WAL then needs not).
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        #[cfg(target_arch = "wasm32")]
        if options.key.is_some() {
            return Err(CoreError::Unsupported(
                "an encrypted store (the browser build has no SQLCipher)".into(),
            ));
        }
        let mut conn = Connection::open(path)?;
        // Before the first read: a WAL store opened in exclusive mode keeps its WAL index
        // in memory, where the browser's VFS (OPFS sync access handles) has no shared
        // memory to keep it in. The pool lets one connection at a time have the file anyway.
        #[cfg(target_arch = "wasm32")]
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        if let Some(key) = &options.key {
            // Must come first: every page is read through the key. SQLCipher does not
            // record its page size in the file, so it is given on every open (the
            // same 8 KiB as a plain store's, below).
            conn.pragma_update(None, "key", key)?;
            conn.pragma_update(None, "cipher_page_size", 8192)?;
        }
        // The first read of the file tells whether the key (or its absence) fits.
        if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
            return Err(match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => CoreError::WrongKey,
                _ => e.into(),
            });
        }
        // A record row (~2.6 KB) fits an 8 KiB page whole; with 4 KiB pages it would
        // waste most of one. Only takes effect on a new file.
        conn.pragma_update(None, "page_size", 8192)?;
        // WAL: an answer's commit appends its pages and (synchronous=NORMAL) flushes
        // nothing. With a rollback journal every commit wrote each page twice and flushed
        // several times: in the browser that was half an answer's time (docs/benchmarks.md).
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Still correct on a rollback journal, only slower.
            tracing::warn!(%mode, "the device store could not use WAL");
        }
        // Checkpoints run after durable steps (see `durably`), not inside an answer
        // edit, where one took 23-44 ms every ~100 writes; this is only the backstop.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        // Record ids are random UUIDs, so inserts land all over the id index: a 16 MiB
        // page cache keeps a 100,000-record index in memory (the default is 2 MiB).
        conn.pragma_update(None, "cache_size", -16_384)?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Balanced | Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // Deleted content is overwritten: a record removed by a tombstone (consent
        // withdrawn) leaves no trace of its answers in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let actor = settings::device_actor(&conn)?;
        let capacity =
            NonZeroUsize::new(options.cache_capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(Store {
            conn,
            actor,
            cache: LruCache::new(capacity),
            options,
            since_checkpoint: 0,
        })
    }

    /// This device's Automerge actor: created once, persisted, reused for every change.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Create a record with its first fields. Returns its id.
    pub fn create(
        &mut self,
        kind: RecordKind,
        scope: Scope,
        form: Option<FormRef>,
        fields: &Answers,
        commit: &Commit,
    ) -> Result<Uuid> {
        let meta = RecordMeta {
            kind,
            id: Uuid::new_v4(),
            scope,
            form,
            created_by: commit.user.clone(),
            created_at: commit.time,
        };
        self.create_with_meta(meta, fields, commit)
    }

    /// Create a record with the given metadata (its id chosen by the caller).
    pub fn create_with_meta(
        &mut self,
        meta: RecordMeta,
        fields: &Answers,
        commit: &Commit,
    ) -> Result<Uuid> {
        let id = meta.id;
        let mut doc = RecordDoc::create(meta, fields, commit, Some(self.actor.clone()))?;
        let changes = doc.changes_since(&[]);
        let raw = changes
            .iter()
            .flat_map(|c| c.raw_bytes().iter().copied())
            .collect();
        self.durably(|store| {
            let tx = store.conn.transaction()?;
            let row = records::prepare(&mut doc, raw, changes.len());
            records::insert(&tx, doc.meta(), row, commit.time)?;
            for change in &changes {
                records::push_outbox(&tx, id, change, commit.time)?;
            }
            Ok(tx.commit()?)
        })?;
        self.cache.put(id, doc);
        Ok(id)
    }

    /// Make one commit to a record. Returns whether anything changed. If `edit` fails
    /// or the write fails, nothing of it is kept.
    pub fn update<F>(&mut self, id: Uuid, commit: &Commit, edit: F) -> Result<bool>
    where
        F: FnOnce(&mut RecordEdit<'_>) -> Result<()>,
    {
        let mut doc = self.take(id)?;
        let change = match doc.edit(commit, edit) {
            Ok(Some(change)) => change,
            Ok(None) => {
                self.cache.put(id, doc);
                return Ok(false);
            }
            // The document may hold a half-made edit: drop it, reload next time.
            Err(e) => return Err(e),
        };
        self.persist_local(&mut doc, &change, commit.time)?;
        self.since_checkpoint += 1;
        self.cache.put(id, doc);
        Ok(true)
    }

    /// Set one field (or answer) of a record.
    pub fn set(
        &mut self,
        id: Uuid,
        path: &FieldPath,
        value: impl Into<forms::Value>,
        commit: &Commit,
    ) -> Result<bool> {
        let value = value.into();
        self.update(id, commit, |edit| edit.set(path, value))
    }

    /// Make the next transactions fsync (in `Balanced` mode), until `relax`.
    fn harden(&self) -> Result<()> {
        if self.options.durability == Durability::Balanced {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(())
    }

    /// Back to the mode's everyday setting after [`Self::harden`].
    fn relax(&self) -> Result<()> {
        if self.options.durability == Durability::Balanced {
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        Ok(())
    }

    /// Run `write` with fsync on commit (in `Balanced` mode), whatever it returns;
    /// then, every [`CHECKPOINT_EVERY`] writes, fold the WAL into the database file
    /// here rather than in the middle of an answer edit.
    fn durably<T>(&mut self, write: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.harden()?;
        let out = write(self);
        self.since_checkpoint += 1;
        self.relax()?;
        if self.since_checkpoint >= CHECKPOINT_EVERY {
            self.since_checkpoint = 0;
            // PASSIVE never waits for readers; what it cannot fold now waits for next time.
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        out
    }

    fn persist_local(&mut self, doc: &mut RecordDoc, change: &Change, time: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        records::append_chunks(
            &tx,
            doc,
            std::slice::from_ref(change),
            time,
            self.options.compact_after,
        )?;
        records::push_outbox(&tx, doc.id(), change, time)?;
        tx.commit()?;
        Ok(())
    }

    /// Run `read` on a record's document (loaded on demand).
    pub fn with_record<T>(
        &mut self,
        id: Uuid,
        read: impl FnOnce(&mut RecordDoc) -> T,
    ) -> Result<T> {
        let mut doc = self.take(id)?;
        let out = read(&mut doc);
        self.cache.put(id, doc);
        Ok(out)
    }

    /// A record's metadata.
    pub fn meta(&mut self, id: Uuid) -> Result<RecordMeta> {
        self.with_record(id, |doc| doc.meta().clone())
    }

    /// A record's fields: answers by question name, repeat groups included.
    pub fn fields(&mut self, id: Uuid) -> Result<Answers> {
        self.with_record(id, |doc| doc.fields())
    }

    /// A record's history, oldest first.
    pub fn history(&mut self, id: Uuid) -> Result<Vec<HistoryEntry>> {
        self.with_record(id, |doc| doc.history())
    }

    /// The fields of a record that hold concurrent values.
    pub fn conflicts(&mut self, id: Uuid) -> Result<Vec<Conflict>> {
        self.with_record(id, |doc| doc.conflicts())
    }

    /// Resolve a conflict on `path` by choosing `chosen`; recorded with who, when, how.
    pub fn resolve(
        &mut self,
        id: Uuid,
        path: &FieldPath,
        chosen: forms::Value,
        commit: &Commit,
        note: &str,
    ) -> Result<()> {
        let mut doc = self.take(id)?;
        if let Some(change) = doc.resolve(path, chosen, commit, note)? {
            self.durably(|store| store.persist_local(&mut doc, &change, commit.time))?;
        }
        self.cache.put(id, doc);
        Ok(())
    }

    /// Validate a response against its form and, when valid, store the cleaned answers
    /// and mark it final (see [`RecordDoc::finalize`]). Nothing is written when invalid.
    pub fn finalize_response(
        &mut self,
        id: Uuid,
        form: &forms::CompiledForm,
        lang: &str,
        at: impl Into<forms::validate::Moment>,
        commit: &Commit,
    ) -> Result<forms::validate::Validation> {
        let mut doc = self.take(id)?;
        let (validation, change) = match doc.finalize(form, lang, at, commit) {
            Ok(done) => done,
            Err(e) => {
                self.cache.put(id, doc);
                return Err(e);
            }
        };
        if let Some(change) = change {
            self.durably(|store| store.persist_local(&mut doc, &change, commit.time))?;
        }
        self.cache.put(id, doc);
        Ok(validation)
    }

    /// List records (metadata and current fields) without loading their documents.
    pub fn list(&self, filter: &RecordFilter) -> Result<Vec<RecordSummary>> {
        records::list(&self.conn, filter)
    }

    /// How many records the store holds.
    pub fn count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))?)
    }

    /// The oldest unacknowledged changes, at most `limit`, in the order they were made.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>> {
        records::outbox(&self.conn, limit)
    }

    /// How many changes wait for the server.
    pub fn outbox_len(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
    }

    /// How many changes wait for the server, and their size in bytes.
    pub fn outbox_size(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Drop acknowledged changes from the outbox; returns how many were there.
    pub fn acknowledge(&mut self, hashes: &[ChangeHash]) -> Result<usize> {
        self.durably(|store| store.acknowledge_now(hashes))
    }

    fn acknowledge_now(&mut self, hashes: &[ChangeHash]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut removed = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
            for hash in hashes {
                removed += stmt.execute(params![hash.as_ref()])?;
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// The sync cursor: how far this device has read the server's change feed.
    pub fn cursor(&self) -> Result<Option<String>> {
        settings::get_text(&self.conn, settings::CURSOR)
    }

    /// Apply a page of changes from the server and store the new cursor, in one
    /// transaction: a crash at any point loses nothing and repeats nothing. A change
    /// that would alter a record's metadata fails the whole page.
    pub fn apply_remote(
        &mut self,
        page: Vec<(Uuid, Vec<Change>)>,
        tombstones: &[Uuid],
        cursor: Option<&str>,
    ) -> Result<ApplyReport> {
        self.durably(|store| store.apply_remote_now(page, tombstones, cursor))
    }

    fn apply_remote_now(
        &mut self,
        page: Vec<(Uuid, Vec<Change>)>,
        tombstones: &[Uuid],
        cursor: Option<&str>,
    ) -> Result<ApplyReport> {
        let mut report = ApplyReport::default();
        let mut touched = Vec::with_capacity(page.len());
        let now = chrono::Utc::now().timestamp();
        let tx = self.conn.transaction()?;
        // Records new to this device are built in parallel, the others updated in turn.
        let mut new = Vec::new();
        let mut known = Vec::new();
        for (id, changes) in page {
            if self.cache.contains(&id) || records::exists(&tx, id)? {
                known.push((id, changes));
            } else {
                new.push((id, changes));
            }
        }
        for built in build::build_new(new, &self.actor, self.options.cache_capacity)? {
            records::insert(&tx, &built.meta, built.row, now)?;
            report.created += 1;
            report.new_changes += built.count;
            touched.extend(built.doc);
        }
        for (id, changes) in known {
            let mut doc = match self.cache.pop(&id) {
                Some(doc) => doc,
                None => records::load(&tx, id, &self.actor)?
                    .ok_or_else(|| CoreError::NotFound(id.to_string()))?,
            };
            let before = doc.heads();
            let fresh: Vec<Change> = changes
                .into_iter()
                .filter(|c| !doc.has_change(&c.hash()))
                .collect();
            if !fresh.is_empty() {
                doc.apply_changes(fresh.clone())?;
                let applied = doc.changes_since(&before).len();
                records::append_chunks(&tx, &mut doc, &fresh, now, self.options.compact_after)?;
                report.updated += 1;
                report.new_changes += applied;
            }
            touched.push(doc);
        }
        for id in tombstones {
            records::remove(&tx, *id)?;
            attachments::remove_for_record(&tx, *id)?;
            touched.retain(|doc| doc.id() != *id);
            self.cache.pop(id);
            report.removed += 1;
        }
        if let Some(cursor) = cursor {
            settings::set_text(&tx, settings::CURSOR, cursor)?;
        }
        tx.commit()?;
        for doc in touched {
            self.cache.put(doc.id(), doc);
        }
        if report.removed > 0 {
            // The log still holds the removed records' old pages: fold it in and cut it.
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(report)
    }

    /// Take a record's document out of the cache, or load it from the file.
    fn take(&mut self, id: Uuid) -> Result<RecordDoc> {
        if let Some(doc) = self.cache.pop(&id) {
            return Ok(doc);
        }
        records::load(&self.conn, id, &self.actor)?
            .ok_or_else(|| CoreError::NotFound(id.to_string()))
    }

    /// A setting of this device (the app's signed-in session, for one).
    pub(crate) fn setting(&self, key: &str) -> Result<Option<String>> {
        settings::get_text(&self.conn, key)
    }

    /// Store a setting of this device.
    pub(crate) fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.durably(|store| settings::set_text(&store.conn, key, value))
    }

    /// Whether the record exists in this store.
    pub fn contains(&self, id: Uuid) -> Result<bool> {
        records::exists(&self.conn, id)
    }
}

#[cfg(test)]
mod tests;
