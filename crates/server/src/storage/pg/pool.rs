//! The PostgreSQL connection pool (deadpool-postgres), on a runtime of its own, for
//! the storage's blocking methods.
//!
//! The storage's methods are synchronous (handlers call them on blocking threads,
//! tests and tools call them anywhere). The pool and its connections' tasks need a
//! tokio runtime, so the pool owns a two-thread one and no caller needs its own:
//! [`PgPool::run`] spawns its work there and waits for the answer on a plain channel,
//! which is safe from any thread, including an async one (where blocking on the
//! caller's own runtime would panic). Code that holds a connection from
//! [`PgPool::get`] waits on each call with [`wait`].

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use tokio_postgres::NoTls;

use super::{Client, PgError};

/// Wait for a PostgreSQL call on this thread. A client's futures only talk to their
/// connection's task (on the pool's runtime) through channels, so any thread may wait
/// on them without a runtime of its own.
pub use futures_executor::block_on as wait;

/// Most connections open at once per server node: PostgreSQL allows 100 by default,
/// shared by every node and tool; a request beyond this waits for a connection.
pub const MAX_CONNECTIONS: usize = 24;

/// The longest a request waits for a free connection before it is answered 503
/// (retry later): a node at its bound answers, it never queues without end.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections to one database (and schema), with the runtime they run on.
pub struct PgPool {
    pool: Pool,
    url: String,
    schema: Option<String>,
    acquire_timeout: Duration,
    /// Taken when the pool is dropped (see the `Drop` below).
    runtime: Option<tokio::runtime::Runtime>,
}

/// A connection taken from the pool; it goes back when dropped. It derefs to the
/// plain `tokio_postgres::Client`, so its `transaction()` is tokio-postgres's own and
/// code written against `tokio_postgres::Transaction` takes it as it is.
pub struct Pooled(Object);

impl Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0
    }
}

impl PgPool {
    /// A pool for `url`, working in `schema` when given (created here when missing,
    /// so this connects once when there is a schema). Otherwise it connects lazily;
    /// check the database with a first [`PgPool::run`].
    pub fn new(url: &str, schema: Option<&str>) -> Result<PgPool, PgError> {
        PgPool::with_bounds(url, schema, MAX_CONNECTIONS, ACQUIRE_TIMEOUT)
    }

    /// [`PgPool::new`] with other bounds: at most `max_connections` at once, and
    /// [`PgError::Busy`] for a request that waited `acquire_timeout` for one (a tool
    /// that needs few connections; the tests, which reach the bounds quickly).
    pub fn with_bounds(
        url: &str,
        schema: Option<&str>,
        max_connections: usize,
        acquire_timeout: Duration,
    ) -> Result<PgPool, PgError> {
        // The session settings (statement timeout, search path) are connection
        // options, so every connection the pool makes has them.
        let manager = Manager::from_config(
            super::config(url, schema)?,
            NoTls,
            ManagerConfig {
                // Only checks that the connection is open: a session needs no reset,
                // as the storage sets nothing on it beyond the connection options.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(acquire_timeout))
            .build()
            .map_err(|e| PgError::Invalid(format!("cannot make the database pool: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| PgError::Invalid(format!("cannot start the database runtime: {e}")))?;
        let pool = PgPool {
            pool,
            url: url.to_string(),
            schema: schema.map(str::to_string),
            acquire_timeout,
            runtime: Some(runtime),
        };
        if let Some(schema) = schema {
            let schema = schema.to_string();
            pool.run(move |c| async move { super::create_schema(&c, &schema).await })?;
        }
        Ok(pool)
    }

    /// The URL and schema connections are made with.
    pub fn target(&self) -> (&str, Option<&str>) {
        (&self.url, self.schema.as_deref())
    }

    /// Run `work` with a connection on the pool's runtime and wait for its result.
    /// [`PgError::Busy`] when no connection came free within the acquire timeout.
    pub fn run<T, F, Fut>(&self, work: F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: FnOnce(Pooled) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, PgError>> + Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| PgError::Invalid("the database pool is closed".into()))?;
        let pool = self.pool.clone();
        let waited = self.acquire_timeout;
        let (answer, result) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let outcome = match pool.get().await {
                Ok(conn) => work(Pooled(conn)).await,
                Err(e) => Err(not_taken(e, waited)),
            };
            let _ = answer.send(outcome);
        });
        result
            .recv()
            .map_err(|_| PgError::Invalid("a database task ended without an answer".into()))?
    }

    /// A connection, for code that waits on its calls with [`wait`] (the push and the
    /// pull, written once for both databases, are synchronous).
    pub fn get(&self) -> Result<Pooled, PgError> {
        self.run(|conn| async move { Ok(conn) })
    }
}

/// Why no connection was taken: a wait past the bound is [`PgError::Busy`] (503,
/// retry later), a failed connect is the database's error.
fn not_taken(e: PoolError, waited: Duration) -> PgError {
    match e {
        PoolError::Timeout(TimeoutType::Wait) => PgError::Busy(waited.as_secs()),
        PoolError::Backend(e) => PgError::Db(e),
        other => PgError::Invalid(format!("the database pool failed: {other}")),
    }
}

impl Drop for PgPool {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics on an async thread: let it go. The
        // connections' tasks end with it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
