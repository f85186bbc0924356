//! Concurrent values of one field: surfaced for a person to resolve, never dropped.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ValueRef};
use forms::Value;
use serde::{Deserialize, Serialize};

use super::doc::RESOLUTIONS;
use super::path::Step;
use super::scalar::{from_am, to_scalar};
use super::{Commit, CommitInfo, FieldPath, RecordDoc};
use crate::error::Result;

/// A field that holds more than one value because people wrote it concurrently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The field (`child[2]/age_years`).
    pub path: String,
    /// Every concurrent value; exactly one is the `shown` one.
    pub values: Vec<ConflictValue>,
}

/// One of the concurrent values of a field, with who wrote it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value.
    pub value: Value,
    /// The user who wrote it (empty if unknown).
    pub author: String,
    /// When it was written, unix seconds.
    pub time: i64,
    /// Whether this is the value shown until someone resolves the conflict.
    pub shown: bool,
}

impl RecordDoc {
    /// Whether any field holds concurrent values.
    pub fn has_conflicts(&self) -> bool {
        let (doc, data) = self.parts();
        let mut found = false;
        walk(doc, data, &FieldPath::default(), &mut |_, _| found = true);
        found
    }

    /// Every field holding concurrent values, in path order.
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        let (doc, data) = self.parts();
        let mut found = Vec::new();
        walk(doc, data, &FieldPath::default(), &mut |obj, path| {
            found.push((obj.clone(), path))
        });
        let doc = self.automerge();
        found
            .into_iter()
            .filter_map(|(obj, path)| {
                let Some(Step::Key(key)) = path.0.last() else {
                    return None;
                };
                let shown = doc.get(&obj, key.as_str()).ok()??.1;
                let all = doc.get_all(&obj, key.as_str()).ok()?;
                let values = all
                    .into_iter()
                    .filter_map(|(value, id)| {
                        let value = from_am(&value)?;
                        let change = doc
                            .hash_for_opid(&id)
                            .and_then(|h| ReadDoc::get_change_by_hash(doc, &h));
                        let (author, time) = change
                            .map(|c| {
                                let info = CommitInfo::decode(c.message());
                                (info.by, c.timestamp())
                            })
                            .unwrap_or_default();
                        Some(ConflictValue {
                            value,
                            author,
                            time,
                            shown: id == shown,
                        })
                    })
                    .collect();
                Some(Conflict {
                    path: path.to_string(),
                    values,
                })
            })
            .collect()
    }

    /// Resolve the conflict on `path` by choosing `chosen` (one of the values or a new
    /// one). The write supersedes every concurrent value; the record keeps who resolved
    /// it, when, what was discarded and the `note`.
    pub fn resolve(
        &mut self,
        path: &FieldPath,
        chosen: Value,
        commit: &Commit,
        note: &str,
    ) -> Result<Option<automerge::Change>> {
        let discarded: Vec<Value> = self
            .conflicts()
            .into_iter()
            .filter(|c| c.path == path.to_string())
            .flat_map(|c| c.values.into_iter().map(|v| v.value))
            .filter(|v| *v != chosen)
            .collect();
        let discarded = serde_json::to_string(&discarded).unwrap_or_default();
        let path_text = path.to_string();
        let by = commit.user.clone();
        let at = commit.time;
        let note = note.to_string();
        let resolutions = self
            .automerge()
            .get(automerge::ROOT, RESOLUTIONS)?
            .map(|(_, id)| id);
        self.edit(commit, move |edit| {
            edit.set(path, chosen.clone())?;
            if let Some(list) = resolutions {
                edit.with_doc(|doc| {
                    let index = doc.length(&list);
                    let entry = doc.insert_object(&list, index, ObjType::Map)?;
                    doc.put(&entry, "path", path_text.as_str())?;
                    doc.put(&entry, "chosen", to_scalar(&chosen))?;
                    doc.put(&entry, "discarded", discarded.as_str())?;
                    doc.put(&entry, "by", by.as_str())?;
                    doc.put(&entry, "at", at)?;
                    doc.put(&entry, "note", note.as_str())?;
                    Ok(())
                })?;
            }
            Ok(())
        })
    }
}

/// Call `found` for every conflicted scalar field under `obj`.
fn walk<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    path: &FieldPath,
    found: &mut dyn FnMut(&ObjId, FieldPath),
) {
    for item in doc.map_range(obj, ..) {
        let here = path.push(Step::Key(item.key.to_string()));
        match item.value {
            ValueRef::Object(ObjType::List) => {
                let list = item.id();
                for entry in doc.list_range(&list, ..) {
                    if let ValueRef::Object(ObjType::Map) = entry.value {
                        walk(
                            doc,
                            &entry.id(),
                            &here.push(Step::Index(entry.index)),
                            found,
                        );
                    }
                }
            }
            ValueRef::Scalar(_) if item.conflict => found(obj, here),
            _ => {}
        }
    }
}
