//! The browser's binding of the app API: [`sync_core::app::DeviceStore`] through
//! wasm-bindgen, for `wasm32-unknown-unknown` only (natively this crate is empty, so
//! that `cargo build --workspace` and clippy pass).
//!
//! Build and glue (the CLI's version must equal the pinned `wasm-bindgen` crate's,
//! 0.2.130):
//!
//! ```text
//! cargo build -p sync-web --target wasm32-unknown-unknown --release --target-dir target/wasm
//! wasm-bindgen --target web --out-dir pkg target/wasm/wasm32-unknown-unknown/release/sync_web.wasm
//! ```
//!
//! The JavaScript contract (run it in a dedicated worker: the OPFS sync access handles
//! the store lives on exist only there):
//!
//! ```js
//! import init, { WebStore } from './pkg/sync_web.js';
//! await init();
//! const store = await WebStore.open('c2c.db');
//! store.createHousehold('Rivera family', '12 Oak St');
//! const households = store.households();
//! const summary = await store.sync((p) => console.log(p.phase, p.items_done));
//! // Sign-out or a revoked device: close the store, then delete its file.
//! store.free();
//! await WebStore.wipe('c2c.db');
//! ```
//!
//! - Every method is a thin call to the `DeviceStore` method of the same name
//!   (camelCase in JS); arguments are plain JS values, results plain objects with the
//!   Rust field names (snake_case), `null` for none, numbers for counts.
//! - An answer is `{type: 'bool'|'int'|'decimal'|'text', value}`.
//! - Errors are JS `Error`s whose `message` is the app error's text and whose `kind`
//!   is its variant: `Offline`, `Cancelled`, `Unauthorized`, `DeviceRevoked`,
//!   `NotSignedIn`, `Server`, `Invalid`, `NotFound`, `WrongKey`, `Storage`,
//!   `Callback`, or `NoPersistentStorage` when the OPFS VFS cannot be installed
//!   (private browsing, no OPFS, not in a dedicated worker).
//! - `sync`, `signIn` and `enroll` return promises and do not keep the store borrowed
//!   while they run: other methods (`cancelSync`, `pendingChanges`) may be called
//!   meanwhile. `cancelSync` stops the running sync at its next step.
//! - `free()` closes the database once no sync is running (a running sync holds the
//!   store until it settles: cancel it and await its promise first).
//! - There is no encrypted store in the browser (no SQLCipher): the file on OPFS is
//!   plain SQLite in WAL mode, opened exclusively (the VFS has no shared memory, so
//!   the WAL index lives in the worker's memory). Open a file once per worker and keep
//!   that one `WebStore`: the pool does not share a database between connections.
//! - Beyond the Kotlin and Swift API: `sync`'s `onProgress` may be `null`; every
//!   `ResponseView` carries a `view_number`, and `setAnswer` takes a fifth argument,
//!   `known`: the `view_number` of the view the page holds. When it is the last view
//!   handed out (in the same language), the answer's result is a `ViewChanges`
//!   (`question_count` and `changed: [{index, question}]` instead of `questions`),
//!   which the page applies to its view: an answer crosses to the page with the few
//!   questions it changed, not all of them (`mobile/web/survey.js`, `withChanges`).
//! - Sync requests go through the browser's fetch: a server on another origin than the
//!   page must answer CORS (with `Authorization` and `Content-Encoding` allowed). The
//!   browser inflates gzip answers itself, so `bytes` in the summary and progress
//!   counts them inflated.

#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::WebStore;
