//! Who, when and why: the metadata every commit carries.
//!
//! Automerge 0.12 has an "author" feature, but it mints a fresh random actor whenever the
//! author changes, which defeats the one persisted actor per device that sequential
//! changes need (see ARCHITECTURE.md). So the author travels in the commit message,
//! encoded as a small JSON object `{"by": user, "msg": text}`; the time is Automerge's
//! own commit timestamp.

use chrono::Utc;
use serde::{Deserialize, Serialize};

/// The author, time and message of a commit to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The user id of the person making the change.
    pub user: String,
    /// A short message: what was done ("Recorded household survey").
    pub message: String,
    /// Unix seconds.
    pub time: i64,
}

impl Commit {
    /// A commit by `user` now.
    pub fn new(user: impl Into<String>, message: impl Into<String>) -> Self {
        Commit {
            user: user.into(),
            message: message.into(),
            time: Utc::now().timestamp(),
        }
    }

    /// The same commit at a given time (unix seconds).
    pub fn at(mut self, time: i64) -> Self {
        self.time = time;
        self
    }

    pub(crate) fn options(&self) -> automerge::transaction::CommitOptions {
        let info = CommitInfo {
            by: self.user.clone(),
            msg: self.message.clone(),
        };
        // Serializing two strings cannot fail.
        let text = serde_json::to_string(&info).unwrap_or_default();
        automerge::transaction::CommitOptions::default()
            .with_message(text)
            .with_time(self.time)
    }
}

/// The author and message read back from a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The user id; empty when the change was not made through this core.
    pub by: String,
    /// The message.
    pub msg: String,
}

impl CommitInfo {
    /// Decode a commit message; a message not written by this core becomes the text
    /// with an unknown author.
    pub fn decode(message: Option<&str>) -> Self {
        let message = message.unwrap_or_default();
        serde_json::from_str(message).unwrap_or_else(|_| CommitInfo {
            by: String::new(),
            msg: message.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trips_and_foreign_messages_survive() {
        let c = Commit::new("u-1", "Recorded \"survey\"").at(5);
        let opts = c.options();
        assert_eq!(opts.time, Some(5));
        let info = CommitInfo::decode(opts.message.as_deref());
        assert_eq!(info.by, "u-1");
        assert_eq!(info.msg, "Recorded \"survey\"");
        let foreign = CommitInfo::decode(Some("plain"));
        assert_eq!((foreign.by.as_str(), foreign.msg.as_str()), ("", "plain"));
    }
}
