//! A small pool of PostgreSQL connections on a runtime of their own, for the storage's
//! blocking methods.
//!
//! The storage's methods are synchronous (handlers call them on blocking threads,
//! tests and tools call them anywhere). A PostgreSQL call is a future; it runs on this
//! pool's own two-thread runtime and the caller waits for its answer on a plain
//! channel, which is safe from any thread, including an async one (where blocking on
//! the caller's own runtime would panic).

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use tokio_postgres::Client;

use super::{connect, PgError};

/// Most idle connections kept.
const IDLE: usize = 16;

/// Most connections open at once per server node: PostgreSQL allows 100 by default,
/// shared by every node and tool; a request beyond this waits for a connection.
pub const MAX_CONNECTIONS: usize = 24;

/// The longest a request waits for a free connection before it is answered 503
/// (retry later): a node at its bound answers, it never queues without end.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

struct Shared {
    url: String,
    schema: Option<String>,
    idle: Mutex<Vec<Client>>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// Connections to one database (and schema), with the runtime they run on.
pub struct PgPool {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// A connection taken from the pool; it goes back when dropped.
pub struct Pooled {
    client: Option<Client>,
    shared: Arc<Shared>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a pooled connection until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            let mut idle = self.shared.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE {
                idle.push(client);
            }
        }
    }
}

impl PgPool {
    /// A pool for `url`, working in `schema` when given. Connects lazily; check the
    /// database with a first [`PgPool::run`].
    pub fn new(url: &str, schema: Option<&str>) -> Result<PgPool, PgError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| PgError::Invalid(format!("cannot start the database runtime: {e}")))?;
        Ok(PgPool {
            shared: Arc::new(Shared {
                url: url.to_string(),
                schema: schema.map(str::to_string),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
            }),
            runtime: Some(runtime),
        })
    }

    /// The URL and schema connections are made with.
    pub fn target(&self) -> (&str, Option<&str>) {
        (&self.shared.url, self.shared.schema.as_deref())
    }

    /// Run `work` with a connection on the pool's runtime and wait for its result.
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
        let shared = self.shared.clone();
        let (answer, result) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let outcome = match take(shared).await {
                Ok(conn) => work(conn).await,
                Err(e) => Err(e),
            };
            let _ = answer.send(outcome);
        });
        result
            .recv()
            .map_err(|_| PgError::Invalid("a database task ended without an answer".into()))?
    }
}

impl PgPool {
    /// A connection, for code that waits on its calls with [`wait`] (the push and the
    /// pull, written once for both databases, are synchronous).
    pub fn get(&self) -> Result<Pooled, PgError> {
        self.run(|conn| async move { Ok(conn) })
    }
}

/// Wait for a PostgreSQL call on this thread. The client's futures only talk to the
/// connection's task (on the pool's runtime) through channels, so any thread may
/// wait on them, without a runtime of its own.
pub fn wait<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(output) => return output,
            std::task::Poll::Pending => std::thread::park(),
        }
    }
}

async fn take(shared: Arc<Shared>) -> Result<Pooled, PgError> {
    let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, shared.permits.clone().acquire_owned())
        .await
        .map_err(|_| PgError::Busy(ACQUIRE_TIMEOUT.as_secs()))?
        .map_err(|_| PgError::Invalid("the database pool is closed".into()))?;
    let reused = shared
        .idle
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .filter(|c| !c.is_closed());
    let client = match reused {
        Some(c) => c,
        None => connect(&shared.url, shared.schema.as_deref()).await?,
    };
    Ok(Pooled {
        client: Some(client),
        shared,
        _permit: permit,
    })
}

impl Drop for PgPool {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics on an async thread: let it go.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
