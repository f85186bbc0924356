//! A TCP proxy for tests: counts the bytes that cross it, can cut a connection in the
//! middle of a response, the way a phone loses its signal, and can inject random
//! faults from a seed: cuts at random byte offsets in either direction (a request or a
//! response truncated), delays, and replays (everything a client sent on a connection
//! sent again on a new one, as a retrying middlebox or a duplicated packet train would;
//! the server's answers to a replay are read and thrown away).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Counters and faults shared by the proxy's connections.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Bytes from clients to the server.
    pub up: AtomicU64,
    /// Bytes from the server to clients.
    pub down: AtomicU64,
    /// When non-zero: the connection carrying the next bytes down is cut once this many
    /// more bytes have reached the client (then it resets to zero).
    pub cut_response_after: AtomicU64,
    /// When non-zero: the connection carrying the next bytes up is cut once this many
    /// more bytes have reached the server (then it resets to zero).
    pub cut_request_after: AtomicU64,
    /// How many connections were cut.
    pub cuts: AtomicU64,
    /// Random faults: the chance, per thousand, that a chunk crossing the proxy (either
    /// way) cuts its connection at a random offset inside the chunk. 0: none.
    pub cut_per_mille: AtomicU64,
    /// Random faults: each chunk waits up to this many milliseconds first. 0: none.
    pub max_delay_ms: AtomicU64,
    /// The random generator's state (xorshift); set it for a reproducible run.
    pub seed: AtomicU64,
    /// Random faults: the chance, per thousand, that a closed connection's requests are
    /// sent to the server again on a new connection. 0: none.
    pub replay_per_mille: AtomicU64,
    /// How many connections were replayed.
    pub replays: AtomicU64,
    /// How many random faults were injected (cuts, delays and replays).
    pub faults: AtomicU64,
}

/// A connection's requests are kept for a replay up to this many bytes.
const REPLAY_MAX_BYTES: usize = 16 * 1024 * 1024;

/// What happens to one chunk crossing the proxy.
enum Fault {
    /// Forward it, after waiting this long.
    Pass(u64),
    /// Forward this many of its bytes, then cut the connection.
    Cut(usize),
}

impl ProxyState {
    fn random(&self) -> u64 {
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let before = self
            .seed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| Some(step(x.max(1))))
            .unwrap_or(1);
        step(before.max(1))
    }

    /// Decide the fate of a chunk of `len` bytes.
    fn fault(&self, len: usize) -> Fault {
        let rate = self.cut_per_mille.load(Ordering::SeqCst);
        if rate > 0 && self.random() % 1000 < rate {
            self.faults.fetch_add(1, Ordering::SeqCst);
            self.cuts.fetch_add(1, Ordering::SeqCst);
            return Fault::Cut((self.random() % (len as u64 + 1)) as usize);
        }
        let max_delay = self.max_delay_ms.load(Ordering::SeqCst);
        if max_delay > 0 {
            let wait = self.random() % (max_delay + 1);
            if wait > 0 {
                self.faults.fetch_add(1, Ordering::SeqCst);
            }
            return Fault::Pass(wait);
        }
        Fault::Pass(0)
    }

    /// Whether to replay a connection that just closed.
    fn replay(&self) -> bool {
        let rate = self.replay_per_mille.load(Ordering::SeqCst);
        if rate > 0 && self.random() % 1000 < rate {
            self.faults.fetch_add(1, Ordering::SeqCst);
            self.replays.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        false
    }
}

/// A running proxy in front of `target`.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Counters and faults.
    pub state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Start a proxy on a free loopback port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        let sent = relay(client, server, state.clone()).await;
                        if !sent.is_empty() && state.replay() {
                            replay(target, sent).await;
                        }
                    }
                });
            }
        });
        Proxy { addr, state, task }
    }

    /// The base URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Total bytes both ways so far.
    pub fn bytes(&self) -> u64 {
        self.state.up.load(Ordering::SeqCst) + self.state.down.load(Ordering::SeqCst)
    }

    /// Reset the byte counters.
    pub fn reset_counts(&self) {
        self.state.up.store(0, Ordering::SeqCst);
        self.state.down.store(0, Ordering::SeqCst);
    }

    /// Inject random faults from now on: cut `cut_per_mille` of the chunks at a random
    /// offset and delay each chunk up to `max_delay_ms`, from `seed`.
    pub fn inject_faults(&self, cut_per_mille: u64, max_delay_ms: u64, seed: u64) {
        self.state.seed.store(seed.max(1), Ordering::SeqCst);
        self.state
            .max_delay_ms
            .store(max_delay_ms, Ordering::SeqCst);
        self.state
            .cut_per_mille
            .store(cut_per_mille, Ordering::SeqCst);
    }

    /// Also replay `per_mille` of the connections once they close (see the module).
    pub fn inject_replays(&self, per_mille: u64) {
        self.state
            .replay_per_mille
            .store(per_mille, Ordering::SeqCst);
    }

    /// Stop injecting random faults.
    pub fn stop_faults(&self) {
        self.state.replay_per_mille.store(0, Ordering::SeqCst);
        self.state.cut_per_mille.store(0, Ordering::SeqCst);
        self.state.max_delay_ms.store(0, Ordering::SeqCst);
    }

    /// Cut the connection that carries the next bytes up once `bytes` more bytes have
    /// reached the server (a request cut mid-body, as an upload losing its signal).
    pub fn cut_next_request_after(&self, bytes: u64) {
        self.state.cut_request_after.store(bytes, Ordering::SeqCst);
    }

    /// Bytes from clients to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.state.up.load(Ordering::SeqCst)
    }

    /// Cut the next response after `bytes` bytes have reached the client.
    pub fn cut_next_response_after(&self, bytes: u64) {
        self.state.cut_response_after.store(bytes, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Send `sent` (a closed connection's bytes from its client) to the server again on a
/// new connection, and read the answers to the end without passing them on.
async fn replay(target: SocketAddr, sent: Vec<u8>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    if server.write_all(&sent).await.is_err() {
        return;
    }
    let _ = server.shutdown().await;
    let mut sink = vec![0u8; 64 * 1024];
    let deadline = std::time::Duration::from_secs(30);
    let _ = tokio::time::timeout(deadline, async {
        while let Ok(n) = server.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Relay one connection both ways until either side closes. Returns what the client
/// sent (kept only while replays are on, up to `REPLAY_MAX_BYTES`).
async fn relay(client: TcpStream, server: TcpStream, state: Arc<ProxyState>) -> Vec<u8> {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // A request cut (`cut_request_after`) drops the whole connection, the answer too:
    // the client must see a dropped connection, not an answer to half a body.
    let request_cut = Arc::new(tokio::sync::Notify::new());
    let cut_down = request_cut.clone();
    let up_state = state.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut sent = Vec::new();
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if up_state.replay_per_mille.load(Ordering::SeqCst) > 0
                && sent.len() + n <= REPLAY_MAX_BYTES
            {
                sent.extend_from_slice(&buf[..n]);
            }
            let budget = up_state
                .cut_request_after
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    (left > 0).then(|| left.saturating_sub(n as u64))
                })
                .unwrap_or(0);
            if budget > 0 && budget <= n as u64 {
                let keep = budget as usize;
                let _ = server_write.write_all(&buf[..keep]).await;
                up_state.up.fetch_add(keep as u64, Ordering::SeqCst);
                up_state.cuts.fetch_add(1, Ordering::SeqCst);
                request_cut.notify_one();
                return sent;
            }
            match up_state.fault(n) {
                Fault::Cut(keep) => {
                    let _ = server_write.write_all(&buf[..keep]).await;
                    up_state.up.fetch_add(keep as u64, Ordering::SeqCst);
                    return sent;
                }
                Fault::Pass(wait) if wait > 0 => {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                Fault::Pass(_) => {}
            }
            up_state.up.fetch_add(n as u64, Ordering::SeqCst);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
        sent
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let read = tokio::select! {
                read = server_read.read(&mut buf) => read,
                // Dropping both halves here closes the client's side at once.
                () = cut_down.notified() => return,
            };
            let n = match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let budget = state
                .cut_response_after
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    (left > 0).then(|| left.saturating_sub(n as u64))
                })
                .unwrap_or(0);
            if budget > 0 && budget <= n as u64 {
                let keep = budget as usize;
                let _ = client_write.write_all(&buf[..keep]).await;
                state.down.fetch_add(keep as u64, Ordering::SeqCst);
                state.cuts.fetch_add(1, Ordering::SeqCst);
                return;
            }
            match state.fault(n) {
                Fault::Cut(keep) => {
                    let _ = client_write.write_all(&buf[..keep]).await;
                    state.down.fetch_add(keep as u64, Ordering::SeqCst);
                    return;
                }
                Fault::Pass(wait) if wait > 0 => {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                Fault::Pass(_) => {}
            }
            state.down.fetch_add(n as u64, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down).0
}
