//! Records as Automerge documents.
//!
//! One document per record. Its root holds two maps and a list, and may hold a third map:
//!
//! - `meta`: the immutable metadata ([`RecordMeta`]), written in the record's first change;
//! - `data`: the fields (for a response: answers by question name, repeat groups as lists
//!   of maps), each answer one scalar so that each answer is one unit of conflict;
//! - `resolutions`: who resolved which conflict, how, and when;
//! - `followups` (optional, added by the first mark): who a record's follow-ups are
//!   assigned to and when they were done ([`Followup`]).
//!
//! Every commit carries its author (user id), time and message ([`Commit`]), so
//! Automerge's history is the audit trail ([`HistoryEntry`]). Concurrent writes to one
//! field keep every value ([`Conflict`]) until a person resolves them.

mod commit;
mod conflicts;
mod contain;
mod doc;
mod followup;
mod history;
mod kind;
mod meta;
mod path;
mod response;
mod scalar;
pub mod shape;
mod wire;

pub use commit::{Commit, CommitInfo};
pub use conflicts::{Conflict, ConflictValue};
pub use doc::{RecordDoc, RecordEdit};
pub use followup::{Followup, FollowupMark, FOLLOWUPS, FOLLOWUP_KINDS, MAX_NOTE};
pub use history::HistoryEntry;
pub use kind::{RecordKind, UnknownKind};
pub use meta::{FormRef, RecordMeta, Scope};
pub use path::FieldPath;
pub use response::STATUS_FIELD;
pub use wire::parse_change;

#[cfg(test)]
mod tests;
