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
//! row), so numbers are handed out in commit order. A reader first reads `last_seq`
//! (the high-water mark), then the log up to it: every number up to a committed
//! `last_seq` belongs to a committed change, or was never used (its transaction
//! rolled back: a gap, which a reader passes over, never a change it skips).
//!
//! The cost: writers to the log take turns from their draw to their commit, across
//! nodes, which is the order SQLite's single writer gives one node; a push draws its
//! numbers as late as it can. Reads, sign-ins and pages run on every node at once.
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

/// One change as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    /// The change's hash.
    pub hash: Vec<u8>,
    /// The record it belongs to.
    pub record_id: String,
    /// The encoded change.
    pub bytes: Vec<u8>,
    /// Who sent it.
    pub user_id: String,
    /// From which device.
    pub device_id: String,
    /// Its Automerge actor.
    pub actor: Option<Vec<u8>>,
    /// When the server took it (unix seconds).
    pub received_at: i64,
}

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

/// Append a change at `seq` (drawn by [`draw`] in the same transaction).
pub async fn append(tx: &Transaction<'_>, seq: i64, change: &LoggedChange) -> Result<(), PgError> {
    tx.execute(
        "INSERT INTO changes (seq, hash, record_id, bytes, user_id, device_id, received_at, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &seq,
            &change.hash,
            &change.record_id,
            &change.bytes,
            &change.user_id,
            &change.device_id,
            &change.received_at,
            &change.actor,
        ],
    )
    .await?;
    Ok(())
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

/// Up to `limit` changes after `cursor`, in order, and the cursor after them: the
/// last one's `seq`, or the high-water mark when fewer than `limit` remain (so a
/// reader moves past gaps). Reading the mark before the log is what keeps a change
/// that commits while this runs from being passed over.
pub async fn read_after(
    client: &impl GenericClient,
    cursor: i64,
    limit: i64,
) -> Result<(Vec<(i64, LoggedChange)>, i64), PgError> {
    let mark = high_water(client).await?;
    let rows = client
        .query(
            "SELECT seq, hash, record_id, bytes, user_id, device_id, received_at, actor
               FROM changes WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            &[&cursor, &mark, &limit],
        )
        .await?;
    let full = rows.len() as i64 == limit;
    let changes: Vec<(i64, LoggedChange)> = rows
        .into_iter()
        .map(|r| {
            (
                r.get(0),
                LoggedChange {
                    hash: r.get(1),
                    record_id: r.get(2),
                    bytes: r.get(3),
                    user_id: r.get(4),
                    device_id: r.get(5),
                    received_at: r.get(6),
                    actor: r.get(7),
                },
            )
        })
        .collect();
    let next = match changes.last() {
        Some((seq, _)) if full => *seq,
        _ => mark.max(cursor),
    };
    Ok((changes, next))
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
