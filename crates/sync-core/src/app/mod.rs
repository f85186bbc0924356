//! The API the Android and iOS apps call, exported through uniffi (proc-macros): one
//! [`DeviceStore`] object per store file, plain records for what screens read, one
//! error type ([`AppError`]), a foreign trait for sync progress and a cancel token.
//! The browser calls the same API through crates/sync-web (wasm-bindgen), where
//! `open_encrypted` fails (no SQLCipher there) and `attach_file` cannot read files.
//!
//! Everything here is a thin layer over [`crate::Store`], the forms engine and
//! [`crate::sync::SyncClient`]: the rules live there.

mod attachments;
mod enroll_link;
mod error;
mod forms_catalog;
mod households;
mod metadata;
mod progress;
mod refused;
mod types;
mod view_changes;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod types_tests;

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use forms::validate::Moment;
use uuid::Uuid;

pub use error::AppError;
pub use progress::{CancelToken, ProgressObserver};
pub use refused::RefusedRecord;
pub use types::*;
pub use view_changes::{ChangedQuestion, ViewChanges};

use crate::record::{Commit, FieldPath, FormRef, Scope};
use crate::store::{RecordFilter, RecordSummary, Store};
use crate::sync::{SyncClient, SyncConfig};
use enroll_link::parse_enroll_link;
use forms_catalog::Catalog;

/// The settings key of the signed-in session.
const SESSION: &str = "app_session";

/// What the store keeps of a sign-in (the token stays on the device only).
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    server_url: String,
    token: String,
    user_id: String,
    username: String,
    device_id: String,
    role: String,
    scope: Option<Scope>,
}

/// A device's store: records, forms, session and sync, for one app.
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Object)
)]
pub struct DeviceStore {
    store: Arc<Mutex<Store>>,
    /// The forms this device knows; reloaded when a sync fetched new versions.
    catalog: RwLock<Catalog>,
}

type AppResult<T> = Result<T, AppError>;

fn parse_id(id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::invalid(format!("`{id}` is not a record id")))
}

fn parse_path(path: &str) -> AppResult<FieldPath> {
    path.parse()
        .map_err(|e| AppError::invalid(format!("`{path}` is not a field path: {e}")))
}

impl DeviceStore {
    fn from_store(store: Store) -> AppResult<Arc<Self>> {
        let catalog = Catalog::load(&store)?;
        Ok(Arc::new(DeviceStore {
            store: Arc::new(Mutex::new(store)),
            catalog: RwLock::new(catalog),
        }))
    }

    /// Keep a sign-in's or an enrollment's answer in the store.
    fn keep(
        &self,
        server_url: String,
        answer: crate::protocol::TokenResponse,
        username: String,
    ) -> AppResult<Session> {
        let saved = Saved {
            server_url,
            token: answer.token,
            user_id: answer.user_id,
            username: if answer.username.is_empty() {
                username
            } else {
                answer.username
            },
            device_id: answer.device_id,
            role: answer.role,
            scope: answer.scope,
        };
        self.save(&saved)?;
        Ok(session_of(saved))
    }
}

/// When a response is validated on this device: the local time (what `now()` and
/// `today()` read, with its offset, as ODK Collect writes it) and a seed of `random()`
/// and `uuid()` fixed for the response, so the same answers draw the same value on
/// every screen of it; values the core stores at finalize are then kept by the server.
fn moment(response: Uuid) -> Moment {
    let bytes = response.as_bytes();
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[..8]);
    Moment {
        now: chrono::Local::now().fixed_offset(),
        seed: u64::from_le_bytes(seed),
    }
}

#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    uniffi::export(async_runtime = "tokio")
)]
impl DeviceStore {
    /// Open (or create) the store file at `path`, unencrypted.
    #[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::constructor)]
    pub fn open(path: String) -> AppResult<Arc<Self>> {
        Self::from_store(Store::open(&path)?)
    }

    /// Open (or create) the store file at `path`, encrypted with `key` (SQLCipher).
    /// Keep the key in the platform's key store (Android Keystore, iOS Keychain), never
    /// beside the file. A wrong key fails with `AppException.WrongKey`.
    #[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::constructor)]
    pub fn open_encrypted(path: String, key: String) -> AppResult<Arc<Self>> {
        let options = crate::StoreOptions {
            key: Some(key),
            ..crate::StoreOptions::default()
        };
        Self::from_store(Store::open_with(&path, options)?)
    }

    /// Sign in at `server_url` (`https://host`): the device gets its own token, kept
    /// in the store with the user's role and scope.
    pub async fn sign_in(
        &self,
        server_url: String,
        username: String,
        password: String,
        device_name: String,
    ) -> AppResult<Session> {
        let client = SyncClient::new(&server_url, "", SyncConfig::default())?;
        let answer = client
            .sign_in(
                &username,
                &password,
                &device_name,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await?;
        self.keep(server_url, answer, username)
    }

    /// Enroll this device with a one-time code that staff made on the users page
    /// (typed; dashes, spaces and case do not matter), instead of a password. A code
    /// works once and for a day; a used or expired one is `AppException.Unauthorized`.
    pub async fn enroll(
        &self,
        server_url: String,
        code: String,
        device_name: String,
    ) -> AppResult<Session> {
        let client = SyncClient::new(&server_url, "", SyncConfig::default())?;
        let answer = client
            .enroll(
                &code,
                &device_name,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await?;
        self.keep(server_url, answer, String::new())
    }

    /// Enroll with the text of the QR code on the users page, or the link sent for it:
    /// the web app's `http(s)://host[:port][/prefix]/app/#enroll=<code>` (the server is
    /// everything before `/app/`), or `c2c://enroll?server=<url>&code=<code>`.
    pub async fn enroll_with_link(&self, link: String, device_name: String) -> AppResult<Session> {
        let (server_url, code) = parse_enroll_link(&link)?;
        self.enroll(server_url, code, device_name).await
    }

    /// The signed-in user, if any.
    pub fn session(&self) -> AppResult<Option<Session>> {
        Ok(self.saved()?.map(session_of))
    }

    /// Point the signed-in device at another address of its server (the partnership
    /// moved it, or a phone reaches it by another name). The token stays.
    pub fn set_server_url(&self, server_url: String) -> AppResult<()> {
        let mut saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        saved.server_url = server_url;
        self.save(&saved)
    }

    /// The forms the signed-in user fills in, titled in `lang`.
    pub fn forms(&self, lang: String) -> AppResult<Vec<FormInfo>> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        Ok(self.catalog().for_role(&saved.role, &lang))
    }

    /// Start a response to `form_id` (optionally about a household). Returns it with
    /// the state of every question in `lang`.
    pub fn start_response(
        &self,
        form_id: String,
        household_id: Option<String>,
        lang: String,
    ) -> AppResult<ResponseView> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let form = self.catalog().newest(&form_id)?;
        let kind = forms_catalog::kind_of(&form_id);
        let scope = writable_scope(&saved)?;
        let mut fields = form.defaults();
        metadata::fill_start(&form, &saved, &mut fields);
        if let Some(household) = household_id {
            parse_id(&household)?;
            fields.set("_household", household);
        }
        let commit = Commit::new(&saved.user_id, "Started");
        let id = self.lock().create(
            kind,
            scope,
            Some(FormRef {
                id: form_id.clone(),
                version: form.form().version,
            }),
            &fields,
            &commit,
        )?;
        self.response(id.to_string(), lang)
    }

    /// A response with the state of every question in `lang`.
    pub fn response(&self, id: String, lang: String) -> AppResult<ResponseView> {
        let id = parse_id(&id)?;
        let (meta, fields) = {
            let mut store = self.lock();
            (store.meta(id)?, store.fields(id)?)
        };
        let form_ref = meta
            .form
            .ok_or_else(|| AppError::invalid(format!("record {id} is not a response")))?;
        let form = self.catalog().get(&form_ref.id, form_ref.version)?;
        let validation = form.validate(&fields, &lang, moment(id));
        let questions = question_states(&validation, &form, &lang);
        let other_errors = validation
            .issues
            .iter()
            .filter(|issue| {
                !questions
                    .iter()
                    .any(|q| q.path == issue.path && q.error.is_some())
            })
            .map(|issue| format!("{}: {}", issue.path, issue.message))
            .collect();
        Ok(ResponseView {
            id: id.to_string(),
            form_id: form_ref.id,
            form_version: form_ref.version,
            finalized: is_final(&fields),
            questions,
            error_count: validation.issues.len() as u32,
            other_errors,
        })
    }

    /// Set (or, with `None`, clear) the answer at `path` (`child[2]/age_years`), saved
    /// at once. Returns the response's new state: an answer that breaks a constraint is
    /// kept, and its question carries the message in `lang`.
    pub fn set_answer(
        &self,
        response_id: String,
        path: String,
        value: Option<AnswerValue>,
        lang: String,
    ) -> AppResult<ResponseView> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let id = parse_id(&response_id)?;
        let field = parse_path(&path)?;
        let commit = Commit::new(&saved.user_id, format!("Answered {path}"));
        self.lock().update(id, &commit, |edit| match value {
            Some(v) => edit.set(&field, v.into_value()),
            None => edit.remove(&field),
        })?;
        self.response(response_id, lang)
    }

    /// Add an instance to the repeat `name` (a child of the household survey); returns
    /// its 1-based position.
    pub fn add_repeat(&self, response_id: String, name: String) -> AppResult<u32> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let id = parse_id(&response_id)?;
        let meta = self.lock().meta(id)?;
        let form = self.form_of(meta.form)?;
        let instance = form.new_instance(&name);
        let commit = Commit::new(&saved.user_id, format!("Added a {name}"));
        let mut index = 0;
        self.lock().update(id, &commit, |edit| {
            index = edit.add_repeat(&name, &instance)?;
            Ok(())
        })?;
        // Paths number instances from 1, like ODK.
        Ok(index as u32 + 1)
    }

    /// Finalize a response: when it has no problems, store its cleaned answers and mark
    /// it final. Returns its state either way; `error_count` says whether it worked.
    pub fn finalize_response(&self, response_id: String, lang: String) -> AppResult<ResponseView> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let id = parse_id(&response_id)?;
        let meta = self.lock().meta(id)?;
        // On the version the response was started on, whatever is newer now.
        let form = self.form_of(meta.form)?;
        self.fill_end(id, &form, &saved)?;
        let commit = Commit::new(&saved.user_id, "Finalized");
        self.lock()
            .finalize_response(id, &form, &lang, moment(id), &commit)?;
        self.response(response_id, lang)
    }

    /// Responses to `form_id` (every form when `None`) on this device.
    pub fn responses(&self, form_id: Option<String>) -> AppResult<Vec<ResponseSummary>> {
        let all = list_all(
            &self.lock(),
            RecordFilter {
                form_id,
                ..RecordFilter::default()
            },
        )?;
        Ok(all
            .into_iter()
            .filter_map(|r| {
                let form = r.meta.form?;
                Some(ResponseSummary {
                    id: r.meta.id.to_string(),
                    form_id: form.id,
                    finalized: is_final(&r.fields),
                    household_id: Some(field_text(&r.fields, "_household"))
                        .filter(|h| !h.is_empty()),
                    updated_at: r.updated_at,
                    has_conflicts: r.has_conflicts,
                })
            })
            .collect())
    }

    /// A record's history, oldest first.
    pub fn history(&self, record_id: String) -> AppResult<Vec<HistoryItem>> {
        let id = parse_id(&record_id)?;
        let history = self.lock().history(id)?;
        Ok(history.into_iter().map(HistoryItem::from).collect())
    }

    /// The fields of a record holding concurrent values.
    pub fn conflicts(&self, record_id: String) -> AppResult<Vec<ConflictView>> {
        let id = parse_id(&record_id)?;
        let conflicts = self.lock().conflicts(id)?;
        Ok(conflicts.into_iter().map(ConflictView::from).collect())
    }

    /// Resolve the conflict on `path` by choosing `chosen`, with a note.
    pub fn resolve_conflict(
        &self,
        record_id: String,
        path: String,
        chosen: AnswerValue,
        note: String,
    ) -> AppResult<()> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let id = parse_id(&record_id)?;
        let field = parse_path(&path)?;
        let commit = Commit::new(&saved.user_id, format!("Resolved {path}"));
        self.lock()
            .resolve(id, &field, chosen.into_value(), &commit, &note)?;
        Ok(())
    }

    /// How many changes wait to be sent.
    pub fn pending_changes(&self) -> AppResult<u64> {
        Ok(self.lock().outbox_len()?.max(0) as u64)
    }

    /// Send what waits, then receive what is new. `observer` hears progress after
    /// every batch and page (an exception it throws is logged, not fatal); `cancel`
    /// stops the sync between steps, losing nothing.
    pub async fn sync(
        &self,
        observer: Arc<dyn ProgressObserver>,
        cancel: Arc<CancelToken>,
    ) -> AppResult<SyncSummary> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let client = SyncClient::new(&saved.server_url, &saved.token, SyncConfig::default())?;
        let report = client
            .sync(&self.store, &progress::Relay(observer), &cancel.token())
            .await?;
        if report.forms_received > 0 {
            let catalog = Catalog::load(&self.lock())?;
            *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = catalog;
        }
        Ok(SyncSummary {
            pushed: report.pushed,
            rejected: report.rejected,
            pulled: report.pulled,
            bytes: report.bytes,
            forms: report.forms_received,
            attachments_uploaded: report.attachments_uploaded,
            attachments_refused: report.attachments_refused,
            refusals: report
                .refusals
                .into_iter()
                .map(|(record, reason)| Refusal {
                    record_id: record.to_string(),
                    reason,
                })
                .collect(),
        })
    }
}

impl DeviceStore {
    fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        // The catalog is replaced whole, never left half-built: a poisoned lock is fine.
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The form (at its version) a response answers.
    fn form_of(&self, form: Option<FormRef>) -> AppResult<Arc<forms::CompiledForm>> {
        let form = form.ok_or_else(|| AppError::invalid("this record answers no form"))?;
        self.catalog().get(&form.id, form.version)
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the store as SQLite left it: usable.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, saved: &Saved) -> AppResult<()> {
        let json = serde_json::to_string(saved).map_err(|e| AppError::Storage {
            message: format!("the session could not be saved: {e}"),
        })?;
        Ok(self.lock().set_setting(SESSION, &json)?)
    }

    fn saved(&self) -> AppResult<Option<Saved>> {
        let Some(json) = self.lock().setting(SESSION)? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| AppError::Storage {
                message: format!("the saved session is unreadable: {e}"),
            })
    }
}

/// Every record `filter` selects, read page by page.
fn list_all(store: &Store, mut filter: RecordFilter) -> AppResult<Vec<RecordSummary>> {
    filter.limit = 500;
    let mut out = Vec::new();
    loop {
        let page = store.list(&filter)?;
        let Some(last) = page.last() else { break };
        filter.after = Some(last.meta.id);
        out.extend(page);
    }
    Ok(out)
}

/// A field's value as text (empty when unanswered).
fn field_text(fields: &forms::Answers, name: &str) -> String {
    fields
        .value(name)
        .map(forms::Value::as_text)
        .unwrap_or_default()
}

/// Whether a response was finalized (see [`crate::record::STATUS_FIELD`]).
fn is_final(fields: &forms::Answers) -> bool {
    field_text(fields, crate::record::STATUS_FIELD) == "final"
}

fn session_of(saved: Saved) -> Session {
    Session {
        server_url: saved.server_url,
        user_id: saved.user_id,
        username: saved.username,
        device_id: saved.device_id,
        role: saved.role,
        scope: saved.scope.map(ScopeView::from),
    }
}

/// Where new records of this user go: their scope (administrators have none and must
/// use the staff tools).
fn writable_scope(saved: &Saved) -> AppResult<Scope> {
    saved.scope.clone().ok_or_else(|| {
        AppError::invalid("this user has no scope to record in (administrators use the staff site)")
    })
}
