//! The sync server: takes devices' changes into an append-only log, serves the change
//! feed filtered by scope, and keeps one materialized row per record.
//!
//! - [`storage`]: the database boundary, on a SQLite file (the default) or PostgreSQL
//!   (several nodes on one database); all SQL lives there.
//! - [`curves`]: each indicator's curve, forecast and verdicts, as every page shows them.
//! - [`app`]: the router; [`handlers`]: the endpoints of `docs/protocol.md`.
//! - [`Server`]: bind and run, for the binary and for tests; [`listen`]: the accept
//!   loop (plain or TLS, connection cap, header, request and body timeouts).
//!
//! Programmatic start (what `server serve` does):
//!
//! ```no_run
//! # async fn demo() -> Result<(), server::StartError> {
//! let opts = server::ServeOptions::new("127.0.0.1:0", "./data");
//! let srv = server::Server::bind(&opts).await?;
//! println!("listening on {}", srv.local_url());
//! srv.run(server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod curves;
pub mod error;
pub mod export;
pub mod extract;
pub mod field_app;
pub mod handlers;
pub mod limits;
pub mod listen;
pub mod password_pool;
pub mod scorecard;
pub mod storage;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

pub use app::{router, router_with};
pub use error::ApiError;
pub use listen::{ConnectionLimits, TlsError, TlsFiles};
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
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The address phones and browsers use (`https://survey.example.org`): put in
    /// enrollment QR codes and links instead of the Host header; an `https://` one
    /// also marks cookies `Secure`.
    pub public_url: Option<String>,
    /// Connection cap and timeouts.
    pub limits: ConnectionLimits,
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
            tls: None,
            public_url: None,
            limits: ConnectionLimits::default(),
        }
    }
}

/// The public URL the running server was given ([`ServeOptions::public_url`]), set
/// when it starts serving; pages read it to show the address phones use.
static PUBLIC_URL: RwLock<Option<String>> = RwLock::new(None);

/// Whether the running server serves HTTPS itself (set when it starts serving).
static SERVING_HTTPS: AtomicBool = AtomicBool::new(false);

/// The address phones and browsers use to reach this server, when it was given one.
pub fn public_url() -> Option<String> {
    PUBLIC_URL.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Whether this process serves HTTPS itself (`--tls-cert`).
pub fn serving_https() -> bool {
    SERVING_HTTPS.load(Ordering::Relaxed)
}

/// Check a public URL: `http://` or `https://`, a host, no path, query or spaces.
/// Returns it without a trailing `/`.
pub fn parse_public_url(url: &str) -> Result<String, StartError> {
    let bad = |why: &str| StartError::PublicUrl(format!("`{url}`: {why}"));
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// or http://"))?;
    if rest.is_empty() {
        return Err(bad("it has no host"));
    }
    if !rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
    {
        return Err(bad("only a host and a port, with no path, query or spaces"));
    }
    Ok(trimmed.to_string())
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
    /// The TLS certificate or key could not be used.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// The public URL is not one.
    #[error("bad public URL {0}")]
    PublicUrl(String),
}

/// A server bound to its address, with its database open.
pub struct Server {
    storage: Storage,
    listener: tokio::net::TcpListener,
    first_admin_password: Option<String>,
    max_attachment_bytes: u64,
    tls: Option<tokio_rustls::TlsAcceptor>,
    public_url: Option<String>,
    limits: ConnectionLimits,
}

impl Server {
    /// Open the database (creating it, with the seed forms and the first admin, when
    /// new) and bind the address.
    pub async fn bind(opts: &ServeOptions) -> Result<Server, StartError> {
        // Checked before the database is touched: a typo fails the start at once.
        let tls = opts.tls.as_ref().map(listen::tls_acceptor).transpose()?;
        let public_url = opts
            .public_url
            .as_deref()
            .map(parse_public_url)
            .transpose()?;
        let mut limits = opts.limits;
        limits.max_connections = listen::effective_max_connections(
            limits.max_connections,
            listen::raise_open_file_limit(),
        );
        if limits.max_connections < opts.limits.max_connections {
            tracing::warn!(
                wanted = opts.limits.max_connections,
                cap = limits.max_connections,
                "connection cap lowered to fit the open-file limit"
            );
        }
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
            tls,
            public_url,
            limits,
        })
    }

    /// Whether it serves HTTPS.
    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }

    /// The base URL it answers on locally (`https://127.0.0.1:8443`).
    pub fn local_url(&self) -> String {
        let scheme = if self.is_https() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// The connection cap and timeouts in force (the cap may be lower than asked, to
    /// fit the open-file limit).
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
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

    /// Serve until `shutdown` completes, then let in-flight requests finish (waiting
    /// pulls answer at once; idle connections close).
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
        *PUBLIC_URL.write().unwrap_or_else(|p| p.into_inner()) = self.public_url.clone();
        SERVING_HTTPS.store(self.tls.is_some(), Ordering::Relaxed);
        let secure_cookies = self.tls.is_some()
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
        tracing::info!(
            header_timeout_s = self.limits.header_timeout.as_secs_f64(),
            request_timeout_s = self.limits.request_timeout.as_secs_f64(),
            body_timeout_s = self.limits.body_timeout.as_secs_f64(),
            max_connections = self.limits.max_connections,
            https = self.tls.is_some(),
            "serving"
        );
        let app = app::router_with(self.storage, self.max_attachment_bytes);
        let listen = listen::Listen {
            listener: self.listener,
            tls: self.tls,
            limits: self.limits,
            secure_cookies,
        };
        listen::serve(listen, app, shutdown).await;
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
