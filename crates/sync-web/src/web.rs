//! [`WebStore`]: the wasm-bindgen class over [`DeviceStore`], with conversions only.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use js_sys::{Function, Promise, Reflect};
use rsqlite_vfs::VfsFilesManager;
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlite_wasm_vfs::sahpool::{install, OpfsSAHPoolCfg, OpfsSAHPoolUtil};
use sync_core::app::{
    AnswerValue, AppError, CancelToken, DeviceStore, ProgressObserver, ResponseView,
};
use sync_core::sync::SyncProgress;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

type JsResult<T> = Result<T, JsValue>;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A JS `Error` with `message` and `kind`.
fn js_error(kind: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &JsValue::from_str("kind"), &JsValue::from_str(kind));
    error.into()
}

/// The JS error of an app error: its text, and its variant as `kind`.
fn app_error(e: AppError) -> JsValue {
    let kind = match &e {
        AppError::Offline { .. } => "Offline",
        AppError::Cancelled { .. } => "Cancelled",
        AppError::Unauthorized { .. } => "Unauthorized",
        AppError::DeviceRevoked { .. } => "DeviceRevoked",
        AppError::NotSignedIn => "NotSignedIn",
        AppError::Server { .. } => "Server",
        AppError::Invalid { .. } => "Invalid",
        AppError::NotFound { .. } => "NotFound",
        AppError::WrongKey { .. } => "WrongKey",
        AppError::Storage { .. } => "Storage",
        AppError::Callback { .. } => "Callback",
    };
    js_error(kind, &e.to_string())
}

fn no_storage(e: impl std::fmt::Display) -> JsValue {
    js_error(
        "NoPersistentStorage",
        &format!("the browser's persistent storage (OPFS) cannot be used here: {e}"),
    )
}

/// A plain JS value of `value`: objects (not Maps) for structs, numbers for u64.
fn to_js<T: Serialize + ?Sized>(value: &T) -> JsResult<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("Invalid", &format!("a result cannot be passed to JS: {e}")))
}

/// A Rust value of a JS argument; a wrong shape is an `Invalid` error.
fn from_js<T: DeserializeOwned>(what: &str, value: JsValue) -> JsResult<T> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| js_error("Invalid", &format!("{what} is not well formed: {e}")))
}

/// An answer argument: `{type, value}`, or `null`/`undefined` for none.
fn answer(value: JsValue) -> JsResult<Option<AnswerValue>> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    from_js("the answer", value).map(Some)
}

/// Installs the OPFS SAH-pool VFS as SQLite's default (a second call reuses it).
async fn pool() -> JsResult<OpfsSAHPoolUtil> {
    install::<sqlite_wasm_rs::WasmOsCallback>(&OpfsSAHPoolCfg::default(), true)
        .await
        .map_err(no_storage)
}

/// The JS progress callback. wasm is single-threaded here: the wrapper's `Send` and
/// `Sync` (which `ProgressObserver` asks for) are never exercised across threads.
struct JsProgress(Option<SendWrapper<Function>>);

impl ProgressObserver for JsProgress {
    fn on_progress(&self, progress: SyncProgress) -> Result<(), AppError> {
        let Some(callback) = &self.0 else {
            return Ok(());
        };
        let failed = |e: JsValue| AppError::Callback {
            message: format!("the progress callback failed: {e:?}"),
        };
        let value = to_js(&progress).map_err(failed)?;
        callback.call1(&JsValue::NULL, &value).map_err(failed)?;
        Ok(())
    }
}

/// A device store in the browser: one SQLite file on OPFS (the SAH-pool VFS).
#[wasm_bindgen]
pub struct WebStore {
    store: Arc<DeviceStore>,
    /// The running (or last) sync's token, which `cancelSync` cancels.
    cancel: RefCell<Arc<CancelToken>>,
    /// The last response view handed to the page, which `setAnswer` sends the changes
    /// since when the page says it holds it.
    shown: RefCell<Option<Shown>>,
    /// The number of the next view handed out.
    next_view: Cell<u32>,
}

/// A response view as the page was given it.
struct Shown {
    number: u32,
    lang: String,
    view: ResponseView,
}

/// A view (or the changes since one) with the number the page names it by.
#[derive(Serialize)]
struct Numbered<'a, T> {
    #[serde(flatten)]
    view: &'a T,
    view_number: u32,
}

/// Runs `work` as a JS promise of its plain-object result, holding no borrow of the
/// `WebStore` while it runs.
fn promise<T, F>(work: F) -> Promise
where
    T: Serialize,
    F: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    future_to_promise(async move { to_js(&work.await.map_err(app_error)?) })
}

impl WebStore {
    /// `view` for the page, numbered, and kept as the one it holds.
    fn show(&self, view: Result<ResponseView, AppError>, lang: String) -> JsResult<JsValue> {
        self.show_changes(view, lang, None)
    }

    /// The changes between the view numbered `known` (when it is the last one shown, in
    /// `lang`) and `view`; else `view` whole. Numbered either way, and kept.
    fn show_changes(
        &self,
        view: Result<ResponseView, AppError>,
        lang: String,
        known: Option<u32>,
    ) -> JsResult<JsValue> {
        let view = view.map_err(app_error)?;
        let number = self.next_view.get();
        self.next_view.set(number.wrapping_add(1));
        let changes = match &*self.shown.borrow() {
            Some(shown) if Some(shown.number) == known && shown.lang == lang => {
                view.changes_since(&shown.view)
            }
            _ => None,
        };
        let js = match &changes {
            Some(changes) => to_js(&Numbered {
                view: changes,
                view_number: number,
            }),
            None => to_js(&Numbered {
                view: &view,
                view_number: number,
            }),
        }?;
        *self.shown.borrow_mut() = Some(Shown { number, lang, view });
        Ok(js)
    }
}

#[wasm_bindgen]
impl WebStore {
    /// Install the OPFS SAH-pool VFS (once; this must run in a dedicated worker) and
    /// open (or create) the store file `name` on it.
    pub async fn open(name: String) -> JsResult<WebStore> {
        pool().await?;
        let store = DeviceStore::open(name).map_err(app_error)?;
        Ok(WebStore {
            store,
            cancel: RefCell::new(CancelToken::new()),
            shown: RefCell::new(None),
            next_view: Cell::new(1),
        })
    }

    /// Delete the store file `name` (and its journal) from the SAH pool, on sign-out or
    /// when the device was revoked. Close the store first: `store.free()` (once no sync
    /// is running), then `await WebStore.wipe(name)`.
    pub async fn wipe(name: String) -> JsResult<()> {
        let pool = pool().await?;
        let names = pool.names().map_err(no_storage)?;
        let wanted = [
            name.clone(),
            format!("{name}-journal"),
            format!("{name}-wal"),
            format!("{name}-shm"),
        ];
        for file in names {
            if wanted.iter().any(|w| file.trim_start_matches('/') == w) {
                pool.remove(&file).map_err(|e| {
                    js_error("Storage", &format!("`{file}` cannot be deleted: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// The signed-in user (`Session`), or `null`.
    pub fn session(&self) -> JsResult<JsValue> {
        to_js(&self.store.session().map_err(app_error)?)
    }

    /// Sign in at `serverUrl`: a promise of the `Session`.
    #[wasm_bindgen(js_name = signIn)]
    pub fn sign_in(
        &self,
        server_url: String,
        username: String,
        password: String,
        device_name: String,
    ) -> Promise {
        let store = self.store.clone();
        promise(async move {
            store
                .sign_in(server_url, username, password, device_name)
                .await
        })
    }

    /// Enroll with a one-time code: a promise of the `Session`.
    pub fn enroll(&self, server_url: String, code: String, device_name: String) -> Promise {
        let store = self.store.clone();
        promise(async move { store.enroll(server_url, code, device_name).await })
    }

    /// The forms the signed-in user fills in (`FormInfo[]`), titled in `lang`.
    pub fn forms(&self, lang: String) -> JsResult<JsValue> {
        to_js(&self.store.forms(lang).map_err(app_error)?)
    }

    /// Start a response (`ResponseView`); `householdId` may be `null`.
    #[wasm_bindgen(js_name = startResponse)]
    pub fn start_response(
        &self,
        form_id: String,
        household_id: Option<String>,
        lang: String,
    ) -> JsResult<JsValue> {
        let view = self
            .store
            .start_response(form_id, household_id, lang.clone());
        self.show(view, lang)
    }

    /// A response (`ResponseView`) in `lang`.
    pub fn response(&self, id: String, lang: String) -> JsResult<JsValue> {
        self.show(self.store.response(id, lang.clone()), lang)
    }

    /// Set (`{type, value}`) or clear (`null`) the answer at `path`: the new
    /// `ResponseView`, or, when `known` is the `view_number` of the last view handed
    /// out (in `lang`), the `ViewChanges` since it.
    #[wasm_bindgen(js_name = setAnswer)]
    pub fn set_answer(
        &self,
        response_id: String,
        path: String,
        value: JsValue,
        lang: String,
        known: Option<u32>,
    ) -> JsResult<JsValue> {
        let value = answer(value)?;
        let view = self
            .store
            .set_answer(response_id, path, value, lang.clone());
        self.show_changes(view, lang, known)
    }

    /// Add an instance to the repeat `name`: the number of instances.
    #[wasm_bindgen(js_name = addRepeat)]
    pub fn add_repeat(&self, response_id: String, name: String) -> JsResult<u32> {
        self.store.add_repeat(response_id, name).map_err(app_error)
    }

    /// Finalize a response: its `ResponseView`.
    #[wasm_bindgen(js_name = finalizeResponse)]
    pub fn finalize_response(&self, response_id: String, lang: String) -> JsResult<JsValue> {
        let view = self.store.finalize_response(response_id, lang.clone());
        self.show(view, lang)
    }

    /// The responses (`ResponseSummary[]`), of one form or (`null`) all.
    pub fn responses(&self, form_id: Option<String>) -> JsResult<JsValue> {
        to_js(&self.store.responses(form_id).map_err(app_error)?)
    }

    /// Create a household: its id.
    #[wasm_bindgen(js_name = createHousehold)]
    pub fn create_household(&self, name: String, address: String) -> JsResult<String> {
        self.store
            .create_household(name, address)
            .map_err(app_error)
    }

    /// Add a member to a household (`birthDate` may be `null`): the person's id.
    #[wasm_bindgen(js_name = addMember)]
    pub fn add_member(
        &self,
        household_id: String,
        name: String,
        relationship: String,
        birth_date: Option<String>,
    ) -> JsResult<String> {
        self.store
            .add_member(household_id, name, relationship, birth_date)
            .map_err(app_error)
    }

    /// The households and their members (`Household[]`).
    pub fn households(&self) -> JsResult<JsValue> {
        to_js(&self.store.households().map_err(app_error)?)
    }

    /// A record's history (`HistoryItem[]`), oldest first.
    pub fn history(&self, record_id: String) -> JsResult<JsValue> {
        to_js(&self.store.history(record_id).map_err(app_error)?)
    }

    /// The fields of a record holding concurrent values (`ConflictView[]`).
    pub fn conflicts(&self, record_id: String) -> JsResult<JsValue> {
        to_js(&self.store.conflicts(record_id).map_err(app_error)?)
    }

    /// Resolve the conflict on `path` by choosing `chosen` (`{type, value}`).
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(
        &self,
        record_id: String,
        path: String,
        chosen: JsValue,
        note: String,
    ) -> JsResult<()> {
        let chosen: AnswerValue = from_js("the chosen value", chosen)?;
        self.store
            .resolve_conflict(record_id, path, chosen, note)
            .map_err(app_error)
    }

    /// The records with changes the server refused (`RefusedRecord[]`), titled in
    /// `lang`, the latest refusal first.
    #[wasm_bindgen(js_name = refusedChanges)]
    pub fn refused_changes(&self, lang: String) -> JsResult<JsValue> {
        to_js(&self.store.refused_changes(lang).map_err(app_error)?)
    }

    /// How many changes wait to be sent.
    #[wasm_bindgen(js_name = pendingChanges)]
    pub fn pending_changes(&self) -> JsResult<f64> {
        Ok(self.store.pending_changes().map_err(app_error)? as f64)
    }

    /// How many attachments wait to be uploaded.
    #[wasm_bindgen(js_name = pendingAttachments)]
    pub fn pending_attachments(&self) -> JsResult<f64> {
        Ok(self.store.pending_attachments().map_err(app_error)? as f64)
    }

    /// Attach `bytes` (a `Uint8Array`; `fileName` gives the extension) to the answer
    /// at `path`: the new `ResponseView`.
    #[wasm_bindgen(js_name = attachBytes)]
    pub fn attach_bytes(
        &self,
        response_id: String,
        path: String,
        file_name: String,
        bytes: Vec<u8>,
        lang: String,
    ) -> JsResult<JsValue> {
        let view = self
            .store
            .attach_bytes(response_id, path, file_name, bytes, lang.clone());
        self.show(view, lang)
    }

    /// Send what waits, then receive what is new: a promise of the `SyncSummary`.
    /// `onProgress` (optional) hears a `SyncProgress` after every batch and page; an
    /// exception it throws is logged, not fatal.
    pub fn sync(&self, on_progress: Option<Function>) -> Promise {
        let store = self.store.clone();
        let cancel = CancelToken::new();
        *self.cancel.borrow_mut() = cancel.clone();
        let observer = Arc::new(JsProgress(on_progress.map(SendWrapper::new)));
        promise(async move { store.sync(observer, cancel).await })
    }

    /// Cancel the running sync (it stops at its next step, losing nothing; its
    /// promise fails with kind `Cancelled`).
    #[wasm_bindgen(js_name = cancelSync)]
    pub fn cancel_sync(&self) {
        self.cancel.borrow().cancel();
    }
}
