//! A record's history: every change with who, when, why and which fields.

use std::collections::BTreeSet;

use automerge::{PatchAction, Prop};
use serde::{Deserialize, Serialize};

use super::{CommitInfo, RecordDoc};

/// One change in a record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The change hash (hex).
    pub hash: String,
    /// The user who made it (empty if unknown).
    pub author: String,
    /// When, unix seconds.
    pub time: i64,
    /// The commit message.
    pub message: String,
    /// The fields it wrote or removed, as paths (`child[2]/age_years`).
    pub fields: Vec<String>,
    /// Whether this change created the record.
    pub created: bool,
}

impl RecordDoc {
    /// Every change of the record, oldest first (in causal order).
    pub fn history(&mut self) -> Vec<HistoryEntry> {
        let changes = self.changes_since(&[]);
        let doc = self.automerge();
        changes
            .iter()
            .map(|change| {
                let info = CommitInfo::decode(change.message());
                let patches = doc.diff(change.deps(), &[change.hash()]);
                let mut fields = BTreeSet::new();
                for patch in patches {
                    let mut props: Vec<Prop> = patch.path.into_iter().map(|(_, p)| p).collect();
                    match patch.action {
                        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                            props.push(Prop::Map(key))
                        }
                        PatchAction::PutSeq { index, .. }
                        | PatchAction::Insert { index, .. }
                        | PatchAction::DeleteSeq { index, .. } => props.push(Prop::Seq(index)),
                        _ => {}
                    }
                    if let Some(path) = field_path(&props) {
                        fields.insert(path);
                    }
                }
                HistoryEntry {
                    hash: change.hash().to_string(),
                    author: info.by,
                    time: change.timestamp(),
                    message: info.msg,
                    fields: fields.into_iter().collect(),
                    created: change.deps().is_empty(),
                }
            })
            .collect()
    }
}

/// `data/child/1/age` as `child[2]/age`; paths outside the fields are not listed.
fn field_path(props: &[Prop]) -> Option<String> {
    let (first, rest) = props.split_first()?;
    if *first != Prop::Map("data".into()) || rest.is_empty() {
        return None;
    }
    let mut out = String::new();
    for prop in rest {
        match prop {
            Prop::Map(key) => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(key);
            }
            Prop::Seq(i) => out.push_str(&format!("[{}]", i + 1)),
        }
    }
    Some(out)
}
