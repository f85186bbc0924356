//! The sync server: takes devices' changes into an append-only log, serves the change
//! feed filtered by scope, and keeps one materialized row per record.
//!
//! - [`storage`]: the database boundary (SQLite now; all SQL in `storage::sqlite`).
//! - [`app`]: the router; [`handlers`]: the endpoints of `docs/protocol.md`.
//! - [`Server`]: bind and run, for the binary and for tests.
//!
//! Programmatic start (what `server serve` does):
//!
//! ```no_run
//! # async fn demo() -> Result<(), server::StartError> {
//! let opts = server::ServeOptions::new("127.0.0.1:0", "./data");
//! let srv = server::Server::bind(&opts).await?;
//! println!("listening on http://{}", srv.local_addr());
//! srv.run(server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod export;
pub mod extract;
pub mod handlers;
pub mod limits;
pub mod password_pool;
pub mod storage;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use app::{router, router_with};
pub use error::ApiError;
pub use storage::{Storage, StorageError};

/// What [`Server::bind`] needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub bind: String,
    /// Directory of the database.
    pub data_dir: PathBuf,
    /// Password of the first admin (random when none).
    pub admin_password: Option<String>,
    /// The largest attachment taken, in bytes.
    pub max_attachment_bytes: u64,
    /// A PostgreSQL database (`postgres://user@host:5432/db`) instead of the SQLite
    /// file in `data_dir`. Only part of the server runs there so far.
    pub database_url: Option<String>,
    /// The PostgreSQL schema (the database's default when none).
    pub database_schema: Option<String>,
}

impl ServeOptions {
    /// Options with a random first-admin password.
    pub fn new(bind: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        ServeOptions {
            bind: bind.into(),
            data_dir: data_dir.into(),
            admin_password: None,
            max_attachment_bytes: sync_core::protocol::DEFAULT_MAX_ATTACHMENT_BYTES,
            database_url: None,
            database_schema: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Storage(#[from] StorageError),
    /// The address could not be bound, or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A server bound to its address, with its database open.
pub struct Server {
    storage: Storage,
    listener: tokio::net::TcpListener,
    first_admin_password: Option<String>,
    max_attachment_bytes: u64,
}

impl Server {
    /// Open the database (creating it, with the seed forms and the first admin, when
    /// new) and bind the address.
    pub async fn bind(opts: &ServeOptions) -> Result<Server, StartError> {
        let dir = opts.data_dir.clone();
        let url = opts.database_url.clone();
        let schema = opts.database_schema.clone();
        let password = opts.admin_password.clone();
        let (storage, first_admin_password) = tokio::task::spawn_blocking(move || {
            let storage = match url {
                Some(url) => Storage::open_postgres(&url, schema.as_deref())?,
                None => Storage::open(&dir)?,
            };
            let first = storage.ensure_admin(password.as_deref())?;
            Ok::<_, StorageError>((storage, first))
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
        let listener = tokio::net::TcpListener::bind(&opts.bind).await?;
        Ok(Server {
            storage,
            listener,
            first_admin_password,
            max_attachment_bytes: opts.max_attachment_bytes,
        })
    }

    /// The address actually bound (the real port for `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The first admin's password when this start created the admin.
    pub fn first_admin_password(&self) -> Option<&str> {
        self.first_admin_password.as_deref()
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Serve until `shutdown` completes, then let in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        // Read every survey response into the indicators' cache now, so that the first
        // dashboard after a start is as fast as the rest.
        let warm = self.storage.clone();
        tokio::task::spawn_blocking(move || {
            let start = std::time::Instant::now();
            match warm.survey_facts(None) {
                Ok(facts) => tracing::info!(
                    responses = facts.responses.len(),
                    ms = start.elapsed().as_millis() as u64,
                    "indicator cache ready"
                ),
                Err(e) => tracing::warn!(error = %e, "indicator cache not warmed"),
            }
        });
        // On PostgreSQL, other nodes' commits wake this node's waiting pulls.
        if let Some((url, schema)) = self.storage.postgres_target() {
            tokio::spawn(relay_other_nodes(self.storage.clone(), url, schema));
        }
        // Waiting pulls answer at once when shutdown starts, instead of holding it up.
        let closing = self.storage.clone();
        let shutdown = async move {
            shutdown.await;
            closing.close_feed();
        };
        let app = app::router_with(self.storage, self.max_attachment_bytes);
        // Handlers see the client's address (rate limits on enrollment codes).
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        Ok(())
    }
}

/// Listen on the feed's PostgreSQL channel and announce every mark another node's
/// commit sends, reconnecting (after a pause) when the connection drops.
async fn relay_other_nodes(storage: Storage, url: String, schema: Option<String>) {
    loop {
        match storage::pg::feed::listen(&url, schema.as_deref()).await {
            Ok(listener) => {
                let mut marks = listener.marks();
                while marks.changed().await.is_ok() {
                    let seq = *marks.borrow_and_update();
                    storage.announce_seq(seq);
                }
                tracing::warn!("the feed listener stopped; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen on the feed; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Completes on ctrl-c or SIGTERM. The handlers are installed when this is called
/// (inside the runtime), not when the future is first polled, so a signal that comes
/// right after the server says it is listening still stops it cleanly.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut streams = {
        use tokio::signal::unix::{signal, SignalKind};
        [SignalKind::terminate(), SignalKind::interrupt()]
            .into_iter()
            .filter_map(|kind| signal(kind).ok())
            .collect::<Vec<_>>()
    };
    async move {
        #[cfg(unix)]
        {
            let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
            if waits.len() == 0 {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                futures_util::future::select_all(waits).await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
