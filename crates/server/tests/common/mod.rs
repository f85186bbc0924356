//! Helpers for the router-level tests: a server over a temporary data directory,
//! requests through `tower::ServiceExt::oneshot`, and records made by sync-core.

#![allow(dead_code)]

pub mod pages;

use automerge::Change;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use forms::Answers;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use server::api::{CreateUserRequest, CreateUserResponse, TokenRequest, TokenResponse};
use server::Storage;
use sync_core::protocol::{
    decode_body, encode_body, ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse,
    PushStatus, PushedChange, PROTOCOL_VERSION,
};
use sync_core::{Commit, FormRef, RecordDoc, RecordKind, RecordMeta, Scope};
use tower::ServiceExt;
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub storage: Storage,
    pub app: Router,
    pub admin: String,
    /// The PostgreSQL schema of a test on PostgreSQL, dropped at the end.
    pub pg_schema: Option<SchemaGuard>,
}

/// A test's PostgreSQL schema, dropped when this is.
pub struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        drop_schema(&self.0);
    }
}

/// The PostgreSQL the tests use: `TEST_DATABASE_URL`, by default the machine's.
pub fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A fresh schema name for one test.
pub fn fresh_schema() -> String {
    format!("t_{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Connect to the tests' PostgreSQL (in `schema` when given) and run `work` on a
/// thread of its own: the caller may be on an async runtime, which cannot block on
/// another.
pub fn on_postgres<T: Send + 'static, Fut: std::future::Future<Output = T>>(
    schema: Option<String>,
    work: impl FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
) -> Option<T> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = server::storage::pg::connect(&test_database_url(), schema.as_deref())
                .await
                .ok()?;
            Some(work(client).await)
        })
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Drop a test's PostgreSQL schema.
pub fn drop_schema(schema: &str) {
    let statement = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    on_postgres(None, |client| async move {
        let _ = client.batch_execute(&statement).await;
    });
}

/// Run each named test, `async fn name(s: TestServer)`, on SQLite and on PostgreSQL:
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(super::TestServer::new().await).await
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name(super::TestServer::postgres().await).await
                }
            }
        )*
    };
}

pub struct Reply {
    pub status: StatusCode,
    pub encoding: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn error(&self) -> ErrorBody {
        assert_eq!(self.encoding, None, "errors are plain JSON");
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not an ErrorBody ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn message<T: DeserializeOwned>(&self) -> T {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.encoding.as_deref(), Some("gzip"));
        decode_body(&self.body, Some("gzip")).unwrap()
    }
}

impl TestServer {
    pub async fn new() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::open(dir).await
    }

    pub async fn open(dir: tempfile::TempDir) -> TestServer {
        let storage = Storage::open(dir.path()).unwrap();
        Self::with_storage(dir, storage, None).await
    }

    /// The same database opened by a fresh server process: its caches start empty.
    pub async fn reopen(self) -> TestServer {
        let TestServer {
            dir,
            storage,
            pg_schema,
            ..
        } = self;
        drop(storage);
        match pg_schema {
            Some(schema) => {
                let storage =
                    Storage::open_postgres(&test_database_url(), Some(&schema.0)).unwrap();
                Self::with_storage(dir, storage, Some(schema)).await
            }
            None => Self::open(dir).await,
        }
    }

    /// A server on PostgreSQL (`TEST_DATABASE_URL`), in a schema of its own.
    pub async fn postgres() -> TestServer {
        let schema = fresh_schema();
        let storage = Storage::open_postgres(&test_database_url(), Some(&schema)).unwrap();
        Self::with_storage(
            tempfile::tempdir().unwrap(),
            storage,
            Some(SchemaGuard(schema)),
        )
        .await
    }

    /// Run a statement straight on the test's database, SQLite or PostgreSQL (to
    /// age a session, or count rows no endpoint shows): the first column of the first
    /// row as an integer for a query, else the rows changed.
    pub fn sql(&self, statement: &str) -> i64 {
        let statement = statement.to_string();
        match &self.pg_schema {
            Some(schema) => on_postgres(Some(schema.0.clone()), |c| async move {
                if statement.trim_start().to_uppercase().starts_with("SELECT") {
                    c.query_one(&statement, &[]).await.unwrap().get::<_, i64>(0)
                } else {
                    c.execute(&statement, &[]).await.unwrap() as i64
                }
            })
            .expect("the tests' PostgreSQL answers"),
            None => {
                let db = rusqlite::Connection::open(self.dir.path().join(server::storage::DB_FILE))
                    .unwrap();
                if statement.trim_start().to_uppercase().starts_with("SELECT") {
                    db.query_row(&statement, [], |r| r.get(0)).unwrap()
                } else {
                    db.execute(&statement, []).unwrap() as i64
                }
            }
        }
    }

    async fn with_storage(
        dir: tempfile::TempDir,
        storage: Storage,
        pg_schema: Option<SchemaGuard>,
    ) -> TestServer {
        storage.ensure_admin(Some(ADMIN_PASSWORD)).unwrap();
        let app = server::router(storage.clone());
        let mut s = TestServer {
            dir,
            storage,
            app,
            admin: String::new(),
            pg_schema,
        };
        s.admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap().token;
        s
    }

    pub async fn raw(
        &self,
        path: &str,
        token: Option<&str>,
        encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::post(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(e) = encoding {
            req = req.header("content-encoding", e);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let encoding = resp
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            encoding,
            body,
        }
    }

    pub async fn post<T: Serialize>(&self, path: &str, token: Option<&str>, msg: &T) -> Reply {
        self.raw(path, token, Some("gzip"), encode_body(msg)).await
    }

    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenResponse, ErrorBody> {
        let r = self
            .post(
                "/v1/auth/token",
                None,
                &TokenRequest {
                    v: PROTOCOL_VERSION,
                    username: username.into(),
                    password: password.into(),
                    device_name: "test phone".into(),
                },
            )
            .await;
        if r.status == StatusCode::OK {
            Ok(r.message())
        } else {
            Err(r.error())
        }
    }

    /// Create a user with this role and scope and sign a device in: its token.
    pub async fn user(&self, name: &str, role: &str, scope: Option<Scope>) -> String {
        let r = self
            .post(
                "/v1/admin/users",
                Some(&self.admin),
                &CreateUserRequest {
                    v: PROTOCOL_VERSION,
                    username: name.into(),
                    password: "password-123".into(),
                    role: role.into(),
                    scope,
                },
            )
            .await;
        let _: CreateUserResponse = r.message();
        self.sign_in(name, "password-123").await.unwrap().token
    }

    pub async fn push(&self, token: &str, changes: &[(Uuid, &Change)]) -> Reply {
        let msg = PushRequest {
            v: PROTOCOL_VERSION,
            changes: changes
                .iter()
                .map(|(record, c)| PushedChange {
                    record: *record,
                    change: sync_core::protocol::Bytes(c.raw_bytes().to_vec()),
                })
                .collect(),
        };
        self.post("/v1/sync/push", Some(token), &msg).await
    }

    pub async fn push_ok(&self, token: &str, changes: &[(Uuid, &Change)]) -> PushResponse {
        self.push(token, changes).await.message()
    }

    pub async fn pull(
        &self,
        token: &str,
        cursor: Option<&str>,
        limit: u32,
        max_bytes: u64,
    ) -> Reply {
        let msg = PullRequest {
            v: PROTOCOL_VERSION,
            cursor: cursor.map(str::to_string),
            limit,
            max_bytes,
            actor: None,
            wait_ms: None,
        };
        self.post("/v1/sync/pull", Some(token), &msg).await
    }

    pub async fn pull_ok(
        &self,
        token: &str,
        cursor: Option<&str>,
        limit: u32,
        max_bytes: u64,
    ) -> PullResponse {
        self.pull(token, cursor, limit, max_bytes).await.message()
    }

    pub fn changes(&self) -> i64 {
        self.storage.change_count().unwrap()
    }
}

pub fn east() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

pub fn west() -> Scope {
    Scope::partnership("p1").with_neighborhood("west")
}

pub fn commit(msg: &str) -> Commit {
    Commit::new("worker-1", msg).at(1_700_000_000)
}

/// A new record of `kind` in `scope`; returns it and its creating change.
pub fn record(
    kind: RecordKind,
    scope: Scope,
    form: Option<&str>,
    answers: &Answers,
) -> (RecordDoc, Change) {
    record_at(kind, scope, form, answers, 1_700_000_000)
}

/// [`record`], created at `created_at` (unix seconds).
pub fn record_at(
    kind: RecordKind,
    scope: Scope,
    form: Option<&str>,
    answers: &Answers,
    created_at: i64,
) -> (RecordDoc, Change) {
    let meta = RecordMeta {
        kind,
        id: Uuid::new_v4(),
        scope,
        form: form.map(|id| FormRef {
            id: id.into(),
            version: 1,
        }),
        created_by: "worker-1".into(),
        created_at,
    };
    let create = Commit::new("worker-1", "create").at(created_at);
    let mut doc = RecordDoc::create(meta, answers, &create, None).unwrap();
    let mut changes = doc.changes_since(&[]);
    assert_eq!(changes.len(), 1);
    let change = changes.remove(0);
    (doc, change)
}

pub fn household(scope: Scope) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("address", "12 Elm St");
    record(RecordKind::Household, scope, None, &a)
}

pub fn survey(scope: Scope, consent: &str) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("consent", consent);
    record(RecordKind::Response, scope, Some("household_survey"), &a)
}

/// One edit of a field; its change.
pub fn edit(doc: &mut RecordDoc, field: &str, value: &str) -> Change {
    doc.edit(&commit("edit"), |e| e.set_field(field, value))
        .unwrap()
        .expect("the edit changes something")
}

pub fn statuses(r: &sync_core::protocol::PushResponse) -> Vec<PushStatus> {
    r.results.iter().map(|r| r.status).collect()
}

pub async fn pull_all(
    s: &TestServer,
    token: &str,
    limit: u32,
    max_bytes: u64,
) -> (Vec<PullResponse>, String) {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.pull_ok(token, cursor.as_deref(), limit, max_bytes).await;
        cursor = Some(page.cursor.clone());
        let more = page.more;
        pages.push(page);
        if !more {
            break;
        }
        assert!(pages.len() < 1000, "paging does not end");
    }
    (pages, cursor.unwrap())
}
