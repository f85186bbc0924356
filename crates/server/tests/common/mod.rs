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
use server::storage::TokenCheck;
use server::Storage;
use sync_core::protocol::{
    decode_body, encode_body, ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse,
    PushStatus, PushedChange, PROTOCOL_VERSION,
};
use sync_core::record::{parse_change, CommitInfo};
use sync_core::{Commit, FormRef, RecordDoc, RecordKind, RecordMeta, Scope};
use tower::ServiceExt;
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub storage: Storage,
    pub app: Router,
    /// The router's shared state (its caches, such as the public scorecard's).
    pub state: server::app::AppState,
    pub admin: String,
    /// The admin's user id: the author of the changes pushed with [`Self::admin`].
    pub admin_id: String,
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
        let state = server::app::AppState::new(
            storage.clone(),
            sync_core::protocol::DEFAULT_MAX_ATTACHMENT_BYTES,
        );
        let app = server::app::router_with_state(state.clone());
        let mut s = TestServer {
            dir,
            storage,
            app,
            state,
            admin: String::new(),
            admin_id: String::new(),
            pg_schema,
        };
        let admin = s.sign_in("admin", ADMIN_PASSWORD).await.unwrap();
        (s.admin, s.admin_id) = (admin.token, admin.user_id);
        s
    }

    /// The user id of a token's user: the author its device's changes must name.
    pub fn user_id(&self, token: &str) -> String {
        match self.storage.authenticate(token).unwrap() {
            TokenCheck::Valid(caller) => caller.user_id,
            _ => panic!("not a valid token"),
        }
    }

    /// Send a request. A push is checked first: every change in it that parses must
    /// be authored by the pushing caller's user (see [`assert_authored_by`]); a test
    /// that pushes someone else's change on purpose uses [`Self::push_forged`].
    pub async fn raw(
        &self,
        path: &str,
        token: Option<&str>,
        encoding: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        if path == PUSH_PATH {
            if let Some(TokenCheck::Valid(caller)) =
                token.map(|t| self.storage.authenticate(t).unwrap())
            {
                if let Ok(push) = decode_body::<PushRequest>(&body, encoding) {
                    for pushed in push.changes {
                        if let Ok(change) = parse_change(pushed.change.0) {
                            assert_authored_by(&change, &caller.user_id);
                        }
                    }
                }
            }
        }
        self.send(path, token, encoding, body).await
    }

    /// [`Self::raw`] without the author check.
    async fn send(
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

    /// Create a user with this role and scope and sign a device in: its token (the
    /// user's id, the author of its changes, is [`Self::user_id`]).
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

    /// Push changes; each must be authored by the token's user (checked by
    /// [`Self::raw`]).
    pub async fn push(&self, token: &str, changes: &[(Uuid, &Change)]) -> Reply {
        self.post(PUSH_PATH, Some(token), &push_request(changes))
            .await
    }

    /// Push changes without checking their authors: for a test that pushes a change
    /// authored as someone else on purpose.
    pub async fn push_forged(&self, token: &str, changes: &[(Uuid, &Change)]) -> Reply {
        let body = encode_body(&push_request(changes));
        self.send(PUSH_PATH, Some(token), Some("gzip"), body).await
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

pub const PUSH_PATH: &str = "/v1/sync/push";

fn push_request(changes: &[(Uuid, &Change)]) -> PushRequest {
    PushRequest {
        v: PROTOCOL_VERSION,
        changes: changes
            .iter()
            .map(|(record, c)| PushedChange {
                record: *record,
                change: sync_core::protocol::Bytes(c.raw_bytes().to_vec()),
            })
            .collect(),
    }
}

/// The rule the server holds a push to (issue 18): a change's author, the `by` of its
/// commit message, is the pushing caller's user, and so is the `created_by` a
/// record's creating change writes. Build pushed changes with the helpers below,
/// passing the id of the user whose token pushes them ([`TestServer::user_id`],
/// [`TestServer::admin_id`]).
pub fn assert_authored_by(change: &Change, user_id: &str) {
    let info = CommitInfo::decode(change.message());
    assert_eq!(
        info.by, user_id,
        "a pushed change must be authored by the pushing user ({info:?})"
    );
    for op in change.decode().operations {
        if let (
            automerge::legacy::Key::Map(key),
            automerge::legacy::OpType::Put(automerge::ScalarValue::Str(value)),
        ) = (&op.key, &op.action)
        {
            if key == "created_by" {
                assert_eq!(
                    value.as_str(),
                    user_id,
                    "a record's created_by must be the pushing user"
                );
            }
        }
    }
}

pub fn east() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

pub fn west() -> Scope {
    Scope::partnership("p1").with_neighborhood("west")
}

/// A commit by the user `by` (a user id).
pub fn commit(by: &str, msg: &str) -> Commit {
    Commit::new(by, msg).at(1_700_000_000)
}

/// A new record of `kind` in `scope`, created by the user `by` (a user id: the user
/// whose token pushes it); returns it and its creating change.
pub fn record(
    by: &str,
    kind: RecordKind,
    scope: Scope,
    form: Option<&str>,
    answers: &Answers,
) -> (RecordDoc, Change) {
    record_at(by, kind, scope, form, answers, 1_700_000_000)
}

/// [`record`], created at `created_at` (unix seconds).
pub fn record_at(
    by: &str,
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
        created_by: by.into(),
        created_at,
    };
    let create = Commit::new(by, "create").at(created_at);
    let mut doc = RecordDoc::create(meta, answers, &create, None).unwrap();
    let mut changes = doc.changes_since(&[]);
    assert_eq!(changes.len(), 1);
    let change = changes.remove(0);
    (doc, change)
}

/// A change to a record's immutable metadata, `meta.key = value` (which the server
/// refuses), authored by `by`: the refusal is then for the metadata alone.
pub fn alter_meta(doc: &mut RecordDoc, by: &str, key: &str, value: &str) -> Change {
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::ReadDoc;
    let before = doc.heads();
    let am = doc.automerge();
    let (_, meta) = am.get(automerge::ROOT, "meta").unwrap().unwrap();
    am.put(&meta, key, value).unwrap();
    let info = CommitInfo {
        by: by.into(),
        msg: "alter".into(),
    };
    am.commit_with(
        CommitOptions::default()
            .with_message(serde_json::to_string(&info).unwrap())
            .with_time(1_700_000_000),
    );
    doc.changes_since(&before).remove(0)
}

/// A household created by the user `by`.
pub fn household(by: &str, scope: Scope) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("address", "12 Elm St");
    record(by, RecordKind::Household, scope, None, &a)
}

/// A household-survey response created by the user `by`.
pub fn survey(by: &str, scope: Scope, consent: &str) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("consent", consent);
    record(
        by,
        RecordKind::Response,
        scope,
        Some("household_survey"),
        &a,
    )
}

/// One edit of a field by the user `by`; its change.
pub fn edit(doc: &mut RecordDoc, by: &str, field: &str, value: &str) -> Change {
    doc.edit(&commit(by, "edit"), |e| e.set_field(field, value))
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
