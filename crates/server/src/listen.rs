//! The accept loop: HTTP/1.1 connections, plain or TLS, with a cap on connections open
//! at once, a time limit on a request's headers (and the TLS handshake), on the whole
//! request and on gaps in its body, and a graceful shutdown.
//!
//! Why not `axum::serve`: it has no header timeout and no connection cap, so 20,000
//! connections that never finished their headers used every descriptor and new clients
//! waited about 40 s (issue 18, item 5).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// Connection limits and timeouts. The defaults suit phones on slow links: a waiting
/// pull answers within 25 s and a 4 MiB attachment chunk gets a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's headers, and to finish a TLS handshake; an idle
    /// keep-alive connection is closed after as long.
    pub header_timeout: Duration,
    /// Time from a request's headers to its answer's headers (408 after).
    pub request_timeout: Duration,
    /// Longest gap between two pieces of a request's body.
    pub body_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// The certificate chain and private key the server serves HTTPS with (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain: the server's certificate first, then intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or held no usable PEM block.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// The certificate and key do not make a TLS configuration (mismatched, unsupported).
    #[error("the TLS certificate and key: {0}")]
    Config(#[from] rustls::Error),
}

/// Read the certificate chain and key into a TLS acceptor (rustls on `ring`, HTTP/1.1).
pub fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let file_error = |path: &Path, why: String| TlsError::File {
        path: path.to_path_buf(),
        why,
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error(&files.cert, "no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| file_error(&files.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Raise this process's open-file limit to its hard limit and return the soft limit
/// now in force (`None` where there is no such limit).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read or raise the open-file limit");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Descriptors kept for everything but client connections: the database and its WAL,
/// PostgreSQL connections, attachment files, the log.
const RESERVED_DESCRIPTORS: u64 = 256;

/// The connection cap in force: `wanted`, kept below the open-file limit `nofile`
/// less what the rest of the server needs (at least 16).
pub fn effective_max_connections(wanted: usize, nofile: Option<u64>) -> usize {
    match nofile {
        Some(limit) => {
            let room = limit.saturating_sub(RESERVED_DESCRIPTORS).max(16);
            wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => wanted,
    }
}

/// How the accept loop serves.
pub(crate) struct Listen {
    pub listener: TcpListener,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub limits: ConnectionLimits,
    /// Mark cookies `Secure` (serving HTTPS, or behind an `https://` public URL).
    pub secure_cookies: bool,
}

/// Serve `app` until `shutdown` completes; then stop accepting, let open connections
/// finish their requests (idle ones close at once) and return.
pub(crate) async fn serve(
    listen: Listen,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let Listen {
        listener,
        tls,
        limits,
        secure_cookies,
    } = listen;
    let app = if secure_cookies {
        app.layer(axum::middleware::map_response(mark_cookies_secure))
    } else {
        app
    };
    let service = tower::ServiceBuilder::new()
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .service(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut refused = Refusals::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Full: close it now (the client sees the connection end at once) rather
            // than leave it waiting in the backlog.
            drop(stream);
            refused.count(limits.max_connections);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let handler = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // Handlers see the client's address (rate limits on enrollment codes).
            request.extensions_mut().insert(ConnectInfo(remote));
            service.clone().oneshot(request)
        });
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let result = match tls {
                None => {
                    let connection = http.serve_connection(TokioIo::new(stream), handler);
                    watcher.watch(connection).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%remote, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%remote, "TLS handshake timed out");
                                return;
                            }
                        };
                    let connection = http.serve_connection(TokioIo::new(stream), handler);
                    watcher.watch(connection).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(connections = open, "waiting for open connections to finish");
    }
    graceful.shutdown().await;
}

/// An accept that failed: a connection reset before it was taken is nothing; out of
/// descriptors (or memory), wait a moment for some to free rather than spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %error, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Connections closed for want of room, logged at most every 10 s.
#[derive(Default)]
struct Refusals {
    since_log: u64,
    last_log: Option<Instant>,
}

impl Refusals {
    fn count(&mut self, cap: usize) {
        self.since_log += 1;
        let due = self
            .last_log
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
        if due {
            tracing::warn!(
                refused = self.since_log,
                max_connections = cap,
                "connection cap reached: new connections closed"
            );
            self.since_log = 0;
            self.last_log = Some(Instant::now());
        }
    }
}

/// Add `Secure` to every cookie an answer sets that lacks it.
async fn mark_cookies_secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let secure = cookie.to_str().ok().and_then(|text| {
            let has = text
                .split(';')
                .any(|part| part.trim().eq_ignore_ascii_case("secure"));
            if has {
                None
            } else {
                HeaderValue::from_str(&format!("{text}; Secure")).ok()
            }
        });
        headers.append(header::SET_COOKIE, secure.unwrap_or(cookie));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        assert_eq!(effective_max_connections(4096, None), 4096);
        assert_eq!(effective_max_connections(4096, Some(20_000)), 4096);
        assert_eq!(effective_max_connections(4096, Some(1024)), 768);
        assert_eq!(effective_max_connections(4096, Some(100)), 16);
    }

    #[test]
    fn public_urls_are_a_scheme_and_a_host() {
        use crate::parse_public_url;
        assert_eq!(
            parse_public_url("https://survey.example.org/").unwrap(),
            "https://survey.example.org"
        );
        assert_eq!(
            parse_public_url("http://10.0.0.5:8080").unwrap(),
            "http://10.0.0.5:8080"
        );
        for bad in [
            "survey.example.org",
            "ftp://x",
            "https://",
            "https://x/path",
            "https://x?q=1",
            "https://a b",
            "https://x\r\nSet-Cookie: a=1",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn cookies_get_secure_once() {
        let response = Response::builder()
            .header(header::SET_COOKIE, "a=1; HttpOnly; Path=/")
            .header(header::SET_COOKIE, "b=2; Secure; HttpOnly")
            .header(header::CONTENT_TYPE, "text/html")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = mark_cookies_secure(response).await;
        let cookies: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            ["a=1; HttpOnly; Path=/; Secure", "b=2; Secure; HttpOnly"]
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html");
    }
}
