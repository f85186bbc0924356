//! The PostgreSQL the end-to-end tests use: `TEST_DATABASE_URL` (by default the
//! machine's, `postgres://postgres@127.0.0.1:5432/test`), each test in a schema of its
//! own that is dropped at the end.
//!
//! The calls here are synchronous: each runs on a thread of its own with a small
//! runtime, so a test may make them from anywhere, an async test included.

/// The PostgreSQL URL the tests use.
pub fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A test's own schema, dropped (with everything in it) when this is.
pub struct Schema(pub String);

impl Schema {
    /// A schema name no other test uses (created by the first server that opens it).
    pub fn fresh() -> Schema {
        Schema(format!(
            "t_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
    }

    /// How many rows `table` holds.
    pub fn count(&self, table: &str) -> i64 {
        count(&test_database_url(), &self.0, table)
    }
}

/// How many rows `table` holds in `schema` of the database at `url`.
pub fn count(url: &str, schema: &str, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_a_thread(
        move |client| async move { client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0) },
        Some((url.to_string(), schema.to_string())),
    )
}

/// The first column of every row `sql` returns in `schema` of the database at `url`.
pub fn column<T>(url: &str, schema: &str, sql: &str) -> Vec<T>
where
    T: for<'a> tokio_postgres::types::FromSql<'a> + Send + 'static,
{
    let sql = sql.to_string();
    on_a_thread(
        move |client| async move {
            client
                .query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, T>(0))
                .collect()
        },
        Some((url.to_string(), schema.to_string())),
    )
}

impl Drop for Schema {
    fn drop(&mut self) {
        let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0);
        on_a_thread(
            move |client| async move {
                let _ = client.batch_execute(&statement).await;
            },
            None,
        );
    }
}

/// Connect (to `url` and `schema` when given, else to the tests' database) and run
/// `work` on a thread with its own runtime.
fn on_a_thread<T, F, Fut>(work: F, target: Option<(String, String)>) -> T
where
    T: Send + 'static,
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (url, schema) = match target {
                Some((url, schema)) => (url, Some(schema)),
                None => (test_database_url(), None),
            };
            let client = server::storage::pg::connect(&url, schema.as_deref())
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
            work(client).await
        })
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}
