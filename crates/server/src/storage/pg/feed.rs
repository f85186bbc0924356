//! The change feed's order on PostgreSQL, with several server nodes writing.
//!
//! Readers page through the log by sequence number (`seq > cursor`), and a cursor only
//! moves forward. A plain sequence (`SERIAL`) hands numbers out when a row is
//! inserted, not when its transaction commits: a push that drew 7 can commit after one
//! that drew 8, and a reader that read 8 and moved its cursor past it never sees 7.
//!
//! **Scheme: commit-ordered sequences.** A writer draws its numbers from the counter
//! row `feed_sequence` with `UPDATE ... RETURNING`, which row-locks it until the
//! writer's transaction ends. Another writer's draw, on any node, waits for that end
//! and then counts on from the committed value (READ COMMITTED re-reads the updated
//! row), so numbers are handed out in commit order. A pull reads `last_seq` (the
//! high-water mark, [`high_water`]) and then the log up to it, in one snapshot: every
//! number up to a committed `last_seq` belongs to a committed change, or was never
//! used (its transaction rolled back: a gap, which a reader passes over, never a
//! change it skips). `tests/pg_feed.rs` checks this through `Storage::push` and
//! `Storage::pull`, with a push forced to commit late; it fails when the draw is a
//! plain sequence.
//!
//! The cost: writers to the log take turns from their draw to their commit, across
//! nodes, which is the order SQLite's single writer gives one node. A push takes the
//! counter's lock when it begins (`SELECT ... FOR UPDATE` in the push's PostgreSQL
//! write), earlier than its draw needs: pushes on every node take turns whole, each
//! loading the documents it touches after the one before committed. Reads, sign-ins
//! and pages run on every node at once.
//! Rejected: a visibility watermark on transaction ids (`pg_snapshot_xmin`), which
//! lets writers overlap but makes the cursor a (transaction id, seq) pair that a
//! restore or a wraparound-safe comparison must carry, for write concurrency a
//! partnership's pushes do not need.
//!
//! A commit also notifies the channel [`channel`] (`NOTIFY` is delivered at commit,
//! only if the transaction commits), so a node waiting on the feed wakes when another
//! node's push lands.

use tokio_postgres::{AsyncMessage, GenericClient, NoTls, Transaction};

use super::PgError;

/// Draw `count` sequence numbers inside `tx`; returns the first. The counter stays
/// locked until `tx` ends, so draw as late in the transaction as possible.
pub async fn draw(tx: &Transaction<'_>, count: i64) -> Result<i64, PgError> {
    if count < 1 {
        return Err(PgError::Invalid(format!("cannot draw {count} numbers")));
    }
    let last: i64 = tx
        .query_one(
            "UPDATE feed_sequence SET last_seq = last_seq + $1 RETURNING last_seq",
            &[&count],
        )
        .await?
        .get(0);
    Ok(last - count + 1)
}

/// Tell every node, at commit, that the feed reached `last_seq`.
pub async fn notify(tx: &Transaction<'_>, channel: &str, last_seq: i64) -> Result<(), PgError> {
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&channel, &last_seq.to_string()],
    )
    .await?;
    Ok(())
}

/// The feed's high-water mark: every change a reader may read has `seq` at most this.
pub async fn high_water(client: &impl GenericClient) -> Result<i64, PgError> {
    Ok(client
        .query_one("SELECT last_seq FROM feed_sequence", &[])
        .await?
        .get(0))
}

/// The notification channel of the feed of the tables in `schema` (deployments
/// sharing a database keep their schemas, and channels, apart).
pub fn channel(schema: Option<&str>) -> String {
    match schema {
        Some(s) => format!("c2c_feed_{s}"),
        None => "c2c_feed".to_string(),
    }
}

/// A connection listening on the feed's channel: [`FeedListener::marks`] holds the
/// newest high-water mark any node announced. Dropping it ends the listening.
pub struct FeedListener {
    /// Kept alive for the connection it listens on.
    _client: tokio_postgres::Client,
    marks: tokio::sync::watch::Receiver<i64>,
}

impl FeedListener {
    /// The announced marks (starts at 0): `changed().await` wakes on a newer one.
    pub fn marks(&self) -> tokio::sync::watch::Receiver<i64> {
        self.marks.clone()
    }
}

/// Listen on the feed's channel of `schema` from a connection of its own.
pub async fn listen(url: &str, schema: Option<&str>) -> Result<FeedListener, PgError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| PgError::Invalid(format!("`{url}` is not a PostgreSQL URL: {e}")))?;
    if let Some(s) = schema.filter(|s| !super::plain_name(s)) {
        return Err(PgError::Invalid(format!(
            "`{s}` is not a plain schema name"
        )));
    }
    let (client, mut connection) = config.connect(NoTls).await?;
    let (marks_tx, marks) = tokio::sync::watch::channel(0i64);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut messages = std::pin::pin!(futures_util::stream::poll_fn(
            move |cx| connection.poll_message(cx)
        ));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Ok(seq) = n.payload().parse::<i64>() {
                        marks_tx.send_if_modified(|mark| {
                            let newer = seq > *mark;
                            if newer {
                                *mark = seq;
                            }
                            newer
                        });
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the feed listener's connection failed");
                    break;
                }
            }
        }
    });
    // The channel name is `c2c_feed` or `c2c_feed_<plain schema name>`: safe unquoted.
    client
        .batch_execute(&format!("LISTEN {}", channel(schema)))
        .await?;
    Ok(FeedListener {
        _client: client,
        marks,
    })
}
