//! The public community scorecard's cache: the page anyone may open without signing
//! in, so a crowd (a link in the local paper, a partner's embed) must not reach the
//! records. [`ScorecardCache`] keeps the rendered page in each language with when it
//! was built, and serves those bytes until they are older than [`TTL`] or
//! [`ScorecardCache::invalidate`] is called (staff changed what it shows). One build
//! reads the records once and renders both languages; builds are single-flight: a
//! crowd arriving at a cold cache waits on one build and gets its bytes.
//!
//! What a page holds is decided by its renderer (`web::scorecard`); the cache hands it
//! only suppressed aggregates ([`ScorecardData`]).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;

use crate::curves::{self, CurveInputs, IndicatorCurve};
use crate::storage::{Storage, StorageError};

/// How long a built page is served before it is rebuilt.
pub const TTL: Duration = Duration::from_secs(5 * 60);

/// After a failed build, how long the cache answers without trying again (the stale
/// page, or 503 with this as Retry-After), so that a crowd cannot hammer a database
/// that is down.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The scorecard's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    En,
    /// Spanish (`?lang=es`).
    Es,
}

/// What a scorecard page is rendered from: only suppressed aggregates.
#[derive(Debug, Clone)]
pub struct ScorecardData {
    /// The curves of the indicators on the scorecard, in `curves::all_indicators`
    /// order.
    pub curves: Vec<IndicatorCurve>,
    /// The smallest cell shown.
    pub min_cell: u64,
    /// When the data was read, unix seconds (the page says how fresh it is).
    pub read_at: i64,
}

impl ScorecardData {
    /// The data from `inputs`: the curves of the `public` indicators only.
    pub fn from_inputs(inputs: &CurveInputs, public: &[String], read_at: i64) -> Self {
        let curves = curves::all_indicators()
            .into_iter()
            .filter(|info| public.iter().any(|id| id == info.id))
            .map(|info| inputs.curve(info))
            .collect();
        ScorecardData {
            curves,
            min_cell: inputs.min_cell,
            read_at,
        }
    }
}

/// Renders a page of the scorecard (an HTML document) from its data.
pub type Render = fn(&ScorecardData, Lang) -> String;

/// Why a page could not be built.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The storage failed.
    #[error("reading the scorecard's data: {0}")]
    Storage(#[from] StorageError),
    /// The blocking task failed (it panicked or was cancelled).
    #[error("the scorecard's build task failed: {0}")]
    Task(String),
}

/// No page to serve: the build failed and nothing was built before. Answer 503 with
/// `Retry-After: retry_after_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable {
    /// When to try again, in seconds.
    pub retry_after_secs: u64,
}

/// Both languages' pages from one build.
#[derive(Debug, Clone)]
struct Pages {
    en: Bytes,
    es: Bytes,
    /// When they were built, by the storage's clock, in milliseconds.
    built_ms: i64,
    /// The [`ScorecardCache::invalidate`] generation they were built in.
    generation: u64,
}

impl Pages {
    fn of(&self, lang: Lang) -> Bytes {
        match lang {
            Lang::En => self.en.clone(),
            Lang::Es => self.es.clone(),
        }
    }
}

/// The cache of the public scorecard's pages. Shared by every request.
pub struct ScorecardCache {
    storage: Storage,
    render: Render,
    /// The pages served; read without waiting on a build.
    pages: RwLock<Option<Arc<Pages>>>,
    /// Held while building, so that one request builds and the others wait for it.
    building: tokio::sync::Mutex<()>,
    /// Bumped by [`Self::invalidate`]: pages of an older generation are stale.
    generation: AtomicU64,
    /// How many builds ran (for tests and the log).
    builds: AtomicU64,
    /// When the last build failed, in milliseconds (`i64::MIN` when none has).
    failed_ms: AtomicI64,
}

impl ScorecardCache {
    /// An empty cache over `storage` (whose clock decides the pages' age), rendering
    /// with `render`.
    pub fn new(storage: Storage, render: Render) -> Self {
        ScorecardCache {
            storage,
            render,
            pages: RwLock::new(None),
            building: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            builds: AtomicU64::new(0),
            failed_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Mark the pages stale: the next request rebuilds them. Called after staff change
    /// what the scorecard shows (its indicators, targets, uploads, the smallest cell).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many builds have run: each one read the records once.
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Acquire)
    }

    fn current(&self) -> Option<Arc<Pages>> {
        // A writer that panicked left a whole `Option<Arc<_>>`: the value is sound.
        self.pages.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn fresh(&self, pages: &Pages) -> bool {
        let age = self.storage.clock().now_ms().saturating_sub(pages.built_ms);
        pages.generation == self.generation.load(Ordering::Acquire)
            && (0..TTL.as_millis() as i64).contains(&age)
    }

    fn recently_failed(&self) -> bool {
        let failed = self.failed_ms.load(Ordering::Acquire);
        failed != i64::MIN
            && self.storage.clock().now_ms().saturating_sub(failed) < RETRY_AFTER.as_millis() as i64
    }

    /// The page in `lang`: the cached bytes while fresh, else built once for every
    /// request waiting. When a build fails, the last page built is served however old
    /// (a stale scorecard is better than none, and it only ever held suppressed
    /// aggregates), and builds are not tried again for [`RETRY_AFTER`]; with no page
    /// at all the answer is [`Unavailable`].
    pub async fn page(&self, lang: Lang) -> Result<Bytes, Unavailable> {
        if let Some(pages) = self.current().filter(|p| self.fresh(p)) {
            return Ok(pages.of(lang));
        }
        let _turn = self.building.lock().await;
        // Whoever held the turn before may have built the pages this request wanted.
        let current = self.current();
        if let Some(pages) = current.as_ref().filter(|p| self.fresh(p)) {
            return Ok(pages.of(lang));
        }
        // A request that goes away while building drops its turn with the build's
        // future; the next one in line then builds again. Rare, and still one build
        // at a time.
        if !self.recently_failed() {
            match self.build().await {
                Ok(pages) => {
                    self.failed_ms.store(i64::MIN, Ordering::Release);
                    let bytes = pages.of(lang);
                    *self.pages.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(pages));
                    return Ok(bytes);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the public scorecard could not be built");
                    self.failed_ms
                        .store(self.storage.clock().now_ms(), Ordering::Release);
                }
            }
        }
        match current {
            Some(stale) => Ok(stale.of(lang)),
            None => Err(Unavailable {
                retry_after_secs: RETRY_AFTER.as_secs(),
            }),
        }
    }

    /// Read the data (every record's aggregates: the page shows nothing finer) and
    /// render both languages, on a blocking thread.
    async fn build(&self) -> Result<Pages, BuildError> {
        self.builds.fetch_add(1, Ordering::AcqRel);
        // Read the generation first: an invalidation during the build leaves these
        // pages stale, so the change it announced is not lost.
        let generation = self.generation.load(Ordering::Acquire);
        let storage = self.storage.clone();
        let render = self.render;
        let built = tokio::task::spawn_blocking(move || -> Result<Pages, BuildError> {
            let clock = storage.clock().clone();
            let inputs = CurveInputs::read(&storage, None)?;
            let public = storage.public_indicators()?;
            let data = ScorecardData::from_inputs(&inputs, &public, clock.now());
            Ok(Pages {
                en: Bytes::from(render(&data, Lang::En)),
                es: Bytes::from(render(&data, Lang::Es)),
                built_ms: clock.now_ms(),
                generation,
            })
        })
        .await
        .map_err(|e| BuildError::Task(e.to_string()))??;
        tracing::info!(builds = self.builds(), "the public scorecard was rebuilt");
        Ok(built)
    }
}

impl std::fmt::Debug for ScorecardCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScorecardCache")
            .field("builds", &self.builds())
            .field("generation", &self.generation.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page that says what it was built from.
    fn render(data: &ScorecardData, lang: Lang) -> String {
        format!("{lang:?} {} {}", data.curves.len(), data.min_cell)
    }

    /// Break the storage's reads under the cache: another connection drops the table
    /// of the scorecard's indicators.
    fn break_storage(dir: &std::path::Path) {
        let db = rusqlite::Connection::open(dir.join(crate::storage::DB_FILE)).unwrap();
        db.execute_batch("DROP TABLE public_indicators").unwrap();
    }

    #[tokio::test]
    async fn a_failed_build_serves_the_stale_page_then_waits_before_trying_again() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.clock().freeze();
        let cache = ScorecardCache::new(storage.clone(), render);
        assert_eq!(cache.page(Lang::En).await.unwrap(), "En 0 10");
        assert_eq!(cache.page(Lang::Es).await.unwrap(), "Es 0 10");
        assert_eq!(cache.builds(), 1, "one build renders both languages");

        storage.set_min_cell(12).unwrap();
        break_storage(dir.path());
        cache.invalidate();
        // The rebuild fails: the stale page is served.
        assert_eq!(cache.page(Lang::En).await.unwrap(), "En 0 10");
        assert_eq!(cache.builds(), 2);
        // Within RETRY_AFTER nothing is tried again, however many ask.
        for _ in 0..10 {
            assert_eq!(cache.page(Lang::Es).await.unwrap(), "Es 0 10");
        }
        assert_eq!(cache.builds(), 2);
        storage.clock().advance(RETRY_AFTER);
        assert_eq!(cache.page(Lang::En).await.unwrap(), "En 0 10");
        assert_eq!(cache.builds(), 3, "tried again after the pause");
    }

    #[tokio::test]
    async fn a_cold_cache_that_cannot_build_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        break_storage(dir.path());
        let cache = ScorecardCache::new(storage, render);
        assert_eq!(
            cache.page(Lang::En).await,
            Err(Unavailable {
                retry_after_secs: 30
            })
        );
        assert_eq!(cache.builds(), 1);
    }
}
