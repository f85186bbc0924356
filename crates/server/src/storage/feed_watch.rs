//! The feed's high-water mark as it moves, for pulls that wait for news instead of
//! asking again and again (`wait_ms` in a pull).
//!
//! Every commit that adds to the feed (a push, a resolution, a purge's tombstones)
//! announces the new mark after it committed; a waiting pull subscribes before it
//! reads, so a change that commits after its read wakes it. With several server nodes
//! on PostgreSQL, a node's listener on the feed's notification channel announces the
//! marks of the other nodes' commits here too.

use tokio::sync::watch;

use super::Storage;

/// The mark and whether the server is shutting down (waiting pulls then answer at
/// once, so that shutdown does not wait out their timeouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedMark {
    /// The feed's high-water mark (the last sequence number handed out).
    pub seq: i64,
    /// Whether the server is shutting down.
    pub closing: bool,
}

impl Storage {
    /// A receiver of the feed's mark; `changed()` wakes when a commit moves it or the
    /// server starts shutting down.
    pub fn feed_watch(&self) -> watch::Receiver<FeedMark> {
        self.inner.feed.subscribe()
    }

    /// Announce a mark: this node's commit to the feed (the write turn's), or
    /// another node's (heard on PostgreSQL's channel).
    pub fn announce_seq(&self, seq: i64) {
        self.inner.feed.send_if_modified(|mark| {
            let newer = seq > mark.seq;
            if newer {
                mark.seq = seq;
            }
            newer
        });
    }

    /// Wake every waiting pull: the server is shutting down.
    pub fn close_feed(&self) {
        self.inner.feed.send_modify(|mark| mark.closing = true);
    }
}
