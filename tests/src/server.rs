//! A real server process on loopback, started by a test on a free port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value as Json};

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// A server process and its data directory.
pub struct TestServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it serves HTTPS (started with `--tls-cert`).
    pub https: bool,
    /// Its data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
    /// The log level and extra arguments it was started with, for a restart.
    level: String,
    extra: Vec<String>,
    /// The PostgreSQL URL and schema it works in, when it runs on PostgreSQL.
    database: Option<(String, String)>,
    /// A schema this server alone uses, dropped after the process is killed.
    own_schema: Option<crate::pg::Schema>,
}

/// The database a test's server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file in the data directory (the default).
    Sqlite,
    /// The tests' PostgreSQL, in a fresh schema of the server's own.
    Postgres,
}

impl Database {
    /// Start a server on this database, its data (and log) in `data_dir`.
    pub fn start(self, data_dir: &Path) -> TestServer {
        match self {
            Database::Sqlite => TestServer::start(data_dir),
            Database::Postgres => {
                let schema = crate::pg::Schema::fresh();
                let mut server = TestServer::start_postgres(
                    data_dir,
                    &crate::pg::test_database_url(),
                    &schema.0,
                );
                server.own_schema = Some(schema);
                server
            }
        }
    }
}

/// Run each named scenario, `async fn name(db: Database)`, on SQLite and on
/// PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::server::Database::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::server::Database::Postgres).await
                }
            }
        )*
    };
}

/// The server binary, built by this package from the server crate's own code. Cargo
/// builds it next to the test or bench binaries (`target/<profile>/server-e2e`) before
/// running them, and beside this package's own binaries with `cargo build -p scenarios
/// --bins`; `SERVER_BIN` overrides the path.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the running binary's path");
    let name = format!("server-e2e{}", std::env::consts::EXE_SUFFIX);
    // Tests and benches run from target/<profile>/deps, binaries from target/<profile>.
    let here = exe.parent().expect("a binary lives in a directory");
    let candidates = [Some(here), here.parent()];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|dir| dir.join(&name))
        .find(|path| path.exists());
    found.unwrap_or_else(|| {
        panic!(
            "{name} not found next to {}: build it with `cargo build -p scenarios --bins` (add --release for release binaries)",
            exe.display()
        )
    })
}

impl TestServer {
    /// Start a server on a free port with its data in `data_dir`.
    pub fn start(data_dir: &Path) -> TestServer {
        Self::start_on(data_dir, "127.0.0.1:0")
    }

    /// Start a server bound to `bind`.
    pub fn start_on(data_dir: &Path, bind: &str) -> TestServer {
        // `SERVER_LOG_LEVEL=info` shows every request with its duration.
        let level = std::env::var("SERVER_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
        Self::start_logging(data_dir, bind, &level)
    }

    /// Start a server bound to `bind`, logging at `level` (`info` logs every request).
    pub fn start_logging(data_dir: &Path, bind: &str, level: &str) -> TestServer {
        Self::start_with(data_dir, bind, level, &[])
    }

    /// Start a server on a free port on PostgreSQL (`url`, in `schema`); `data_dir`
    /// holds its log.
    pub fn start_postgres(data_dir: &Path, url: &str, schema: &str) -> TestServer {
        let level = std::env::var("SERVER_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
        Self::start_with(
            data_dir,
            "127.0.0.1:0",
            &level,
            &["--database-url", url, "--database-schema", schema],
        )
    }

    /// Start a server with `extra` arguments.
    pub fn start_with(data_dir: &Path, bind: &str, level: &str, extra: &[&str]) -> TestServer {
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(server_binary())
            .args(["serve", "--bind", bind, "--data-dir"])
            .arg(data_dir)
            .args(["--admin-password", ADMIN_PASSWORD, "--log-level", level])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (https, addr) = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("server exited before listening; see {}", log.display()))
                .unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break (false, rest.trim().parse().unwrap());
            }
            if let Some(rest) = line.split("listening on https://").nth(1) {
                break (true, rest.trim().parse().unwrap());
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        let after = |flag: &str| {
            extra
                .iter()
                .position(|a| *a == flag)
                .and_then(|i| extra.get(i + 1))
                .map(|s| s.to_string())
        };
        let database = after("--database-url").zip(after("--database-schema"));
        TestServer {
            child: Some(child),
            addr,
            https,
            data_dir: data_dir.to_path_buf(),
            log,
            level: level.to_string(),
            extra: extra.iter().map(|a| a.to_string()).collect(),
            database,
            own_schema: None,
        }
    }

    /// The base URL (`https://127.0.0.1:PORT` when it serves HTTPS).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Kill the process with SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop it with SIGTERM (a clean shutdown) and wait for the process to end.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .ok()?;
        assert!(sent.success(), "kill -TERM failed");
        child.wait().ok()
    }

    /// Kill it, then start it again on the same port with the same data (the same
    /// directory, or the same PostgreSQL schema).
    pub fn restart(&mut self) {
        self.kill();
        let bind = self.addr.to_string();
        let mut next = None;
        for _ in 0..50 {
            // The port may linger for a moment after the kill.
            let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
            let attempt = std::panic::catch_unwind(|| {
                TestServer::start_with(&self.data_dir, &bind, &self.level, &extra)
            });
            if let Ok(server) = attempt {
                next = Some(server);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut next = next.expect("server restarts");
        self.child = next.child.take();
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's peak resident memory so far, in KiB (Linux `VmHWM`).
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// A read-only look into the server's database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.data_dir.join("server.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// The server's database opened in this process, as a second node would (what a
    /// staff page does, done without the page).
    pub fn storage(&self) -> server::Storage {
        match &self.database {
            Some((url, schema)) => server::Storage::open_postgres(url, Some(schema)).unwrap(),
            None => server::Storage::open(&self.data_dir).unwrap(),
        }
    }

    /// How many rows a table of the server's database holds (SQLite or PostgreSQL).
    pub fn count(&self, table: &str) -> i64 {
        self.column::<i64>(&format!("SELECT COUNT(*) FROM {table}"))[0]
    }

    /// The record of every change in the server's log, once per change.
    pub fn logged_record_ids(&self) -> Vec<String> {
        self.column("SELECT record_id FROM changes")
    }

    /// The hash of every change in the server's log.
    pub fn logged_change_hashes(&self) -> Vec<Vec<u8>> {
        self.column("SELECT hash FROM changes")
    }

    /// The first column of every row a query returns from the server's database
    /// (SQLite or PostgreSQL).
    pub fn column<T>(&self, sql: &str) -> Vec<T>
    where
        T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> + Send + 'static,
    {
        if let Some((url, schema)) = &self.database {
            return crate::pg::column(url, schema, sql);
        }
        let db = self.db();
        let mut statement = db.prepare(sql).unwrap();
        let values = statement
            .query_map([], |row| row.get::<_, T>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        values
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the server's log shows a panic.
    pub fn log_has_panic(&self) -> bool {
        std::fs::read_to_string(&self.log)
            .map(|l| l.contains("panicked"))
            .unwrap_or(false)
    }

    /// Run a one-off server command on this data directory (e.g. `restore-epoch`).
    pub fn command(data_dir: &Path, args: &[&str]) -> String {
        let out = Command::new(server_binary())
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Read an answer's JSON body, gzip-compressed or not.
pub async fn read_json(response: reqwest::Response) -> Json {
    let gzip = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let bytes = response.bytes().await.unwrap();
    if gzip {
        sync_core::protocol::decode_body(&bytes, Some("gzip")).unwrap()
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// Sign in and get a device token.
pub async fn token(base: &str, username: &str, password: &str, device: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/auth/token"))
        .json(&json!({"v": 1, "username": username, "password": password, "device_name": device}))
        .send()
        .await
        .unwrap();
    let answer = read_json(response).await;
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_string()
}

/// Create a user (as admin); the password is `{username}-password`.
pub async fn create_user(base: &str, username: &str, role: &str, scope: Json) {
    let admin = token(base, "admin", ADMIN_PASSWORD, "admin console").await;
    let password = format!("{username}-password");
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/admin/users"))
        .bearer_auth(&admin)
        .json(&json!({"v": 1, "username": username, "password": password, "role": role, "scope": scope}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "create user: {}",
        response.text().await.unwrap()
    );
}

/// Sign in a user made by [`create_user`] on another device.
pub async fn device_token(base: &str, username: &str, device: &str) -> String {
    token(base, username, &format!("{username}-password"), device).await
}

/// Create a user (as admin) and return a device token for them.
pub async fn user_with_token(base: &str, username: &str, role: &str, scope: Json) -> String {
    create_user(base, username, role, scope).await;
    device_token(base, username, &format!("{username}'s phone")).await
}
