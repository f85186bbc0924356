//! Follow-ups: the work a record asks of staff (a case note's follow-up date, a
//! referral made, a parent's request for a call back, a household to visit), kept in
//! the record itself so that every device holding the record sees who it is assigned
//! to and when it was done.
//!
//! A record's document may hold, beside `meta`, `data` and `resolutions`, a root map
//! `followups`: one map per follow-up kind ([`FOLLOWUP_KINDS`]), each holding only
//! plain scalars of known keys: `assigned_to` (a user id), `done_at` (unix seconds),
//! `done_by` (a user id), `note` (at most [`MAX_NOTE`] characters). A record without
//! the map has no follow-up state; the first mark creates it (the only change after a
//! record's creation that may touch the document's root).

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{Change, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};

use super::{Commit, RecordDoc};
use crate::error::{CoreError, Result};

/// The root key of the follow-ups map.
pub const FOLLOWUPS: &str = "followups";

/// The kinds of follow-up a record can carry: a case note's follow-up date
/// (`followup`), a case note's referral (`referral`), a check-in's request for a call
/// back (`callback`), a household's visit (`visit`).
pub const FOLLOWUP_KINDS: [&str; 4] = ["followup", "referral", "callback", "visit"];

/// The longest note a follow-up keeps, in characters.
pub const MAX_NOTE: usize = 500;

/// The longest user id a follow-up names, in characters.
const MAX_USER: usize = 200;

/// One follow-up's state as the record holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followup {
    /// Who it is assigned to (a user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// When it was done, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
    /// Who marked it done (a user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    /// A short note (what was done, why it was assigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Followup {
    /// Whether it has been marked done.
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// A change to one follow-up, made by [`RecordDoc::mark_followup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowupMark {
    /// Assign it to a user (by id); `None` takes the assignment away.
    Assign(Option<String>),
    /// Mark it done by the commit's author at the commit's time, with an optional
    /// note.
    Done(Option<String>),
}

impl RecordDoc {
    /// Every follow-up the record holds, by kind (empty for a record without any).
    /// Where two devices created the map or a kind's map concurrently, this reads the
    /// one Automerge shows.
    pub fn followups(&self) -> BTreeMap<String, Followup> {
        let (doc, _) = self.parts();
        let mut out = BTreeMap::new();
        let Some(root) = map_at(doc, &ROOT, FOLLOWUPS) else {
            return out;
        };
        for item in doc.map_range(&root, ..) {
            if !FOLLOWUP_KINDS.contains(&item.key.as_ref()) {
                continue;
            }
            let Some(map) = map_at(doc, &root, item.key.as_ref()) else {
                continue;
            };
            let text = |key: &str| match doc.get(&map, key).ok().flatten() {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Str(t) => Some(t.to_string()),
                    _ => None,
                },
                _ => None,
            };
            let done_at = match doc.get(&map, "done_at").ok().flatten() {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Int(t) => Some(*t),
                    _ => None,
                },
                _ => None,
            };
            out.insert(
                item.key.to_string(),
                Followup {
                    assigned_to: text("assigned_to"),
                    done_at,
                    done_by: text("done_by"),
                    note: text("note"),
                },
            );
        }
        out
    }

    /// One follow-up of `kind`, if the record holds it.
    pub fn followup(&self, kind: &str) -> Option<Followup> {
        self.followups().remove(kind)
    }

    /// Change the follow-up of `kind` as one commit (author, time and message from
    /// `commit`): assign it, or mark it done by the commit's author at its time.
    /// Returns the new change (none when nothing changed).
    pub fn mark_followup(
        &mut self,
        kind: &str,
        mark: &FollowupMark,
        commit: &Commit,
    ) -> Result<Option<Change>> {
        let bad = |reason: String| CoreError::Malformed {
            id: self.meta().id.to_string(),
            reason,
        };
        if !FOLLOWUP_KINDS.contains(&kind) {
            return Err(bad(format!(
                "`{}` is not a follow-up kind",
                kind.escape_debug()
            )));
        }
        let user_ok = |u: &str| !u.trim().is_empty() && u.chars().count() <= MAX_USER;
        let note_ok = |n: &Option<String>| n.as_ref().is_none_or(|n| n.chars().count() <= MAX_NOTE);
        match mark {
            FollowupMark::Assign(Some(user)) if !user_ok(user) => {
                return Err(bad("an assignee is a user id".into()))
            }
            FollowupMark::Done(note) if !note_ok(note) => {
                return Err(bad(format!(
                    "a follow-up's note holds at most {MAX_NOTE} characters"
                )))
            }
            _ => {}
        }
        if !user_ok(&commit.user) {
            return Err(bad("a follow-up is marked by a user".into()));
        }
        self.edit(commit, |edit| {
            edit.with_doc(|doc| {
                let root = match map_at(doc, &ROOT, FOLLOWUPS) {
                    Some(id) => id,
                    None => doc.put_object(ROOT, FOLLOWUPS, ObjType::Map)?,
                };
                let map = match map_at(doc, &root, kind) {
                    Some(id) => id,
                    None => doc.put_object(&root, kind, ObjType::Map)?,
                };
                match mark {
                    FollowupMark::Assign(Some(user)) => {
                        doc.put(&map, "assigned_to", user.as_str())?
                    }
                    FollowupMark::Assign(None) => {
                        if doc.get(&map, "assigned_to")?.is_some() {
                            doc.delete(&map, "assigned_to")?;
                        }
                    }
                    FollowupMark::Done(note) => {
                        doc.put(&map, "done_at", commit.time)?;
                        doc.put(&map, "done_by", commit.user.as_str())?;
                        if let Some(note) = note {
                            doc.put(&map, "note", note.as_str())?;
                        }
                    }
                }
                Ok(())
            })
        })
    }
}

/// The map at `obj[key]`, if that key holds one.
fn map_at<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// Check the `followups` map at `map` (see the module docs): known kinds, each a map
/// of known keys holding plain scalars of their type. Every concurrent value is
/// checked, so a losing one cannot hide a foreign shape.
pub(crate) fn check_followups<R: ReadDoc>(doc: &R, map: &ObjId) -> std::result::Result<(), String> {
    for item in doc.map_range(map, ..) {
        let kind = item.key.as_ref();
        if !FOLLOWUP_KINDS.contains(&kind) {
            return Err(format!(
                "`followups.{}`: not a follow-up kind (followup, referral, callback, visit)",
                kind.escape_debug()
            ));
        }
        for (value, id) in doc.get_all(map, kind).unwrap_or_default() {
            if value != Value::Object(ObjType::Map) {
                return Err(format!(
                    "`followups.{kind}`: must be a map, not {}",
                    super::shape::describe(&value)
                ));
            }
            for entry in doc.map_range(&id, ..) {
                let key = entry.key.as_ref();
                let wants_text = match key {
                    "assigned_to" | "done_by" | "note" => true,
                    "done_at" => false,
                    other => {
                        return Err(format!(
                            "`followups.{kind}.{}`: not a follow-up field (assigned_to, done_at, done_by, note)",
                            other.escape_debug()
                        ))
                    }
                };
                let limit = if key == "note" { MAX_NOTE } else { MAX_USER };
                for (v, _) in doc.get_all(&id, key).unwrap_or_default() {
                    let fine = match &v {
                        Value::Scalar(s) => match s.as_ref() {
                            ScalarValue::Str(t) => wants_text && t.chars().count() <= limit,
                            ScalarValue::Int(_) => !wants_text,
                            _ => false,
                        },
                        Value::Object(_) => false,
                    };
                    if !fine {
                        return Err(format!(
                            "`followups.{kind}.{key}`: must be {}, not {}",
                            if wants_text {
                                format!("a plain string of at most {limit} characters")
                            } else {
                                "a plain integer (unix seconds)".to_string()
                            },
                            super::shape::describe(&v)
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FormRef, RecordKind, RecordMeta, Scope};
    use automerge::AutoCommit;
    use forms::Answers;
    use uuid::Uuid;

    fn note() -> RecordDoc {
        let meta = RecordMeta {
            kind: RecordKind::CaseNote,
            id: Uuid::new_v4(),
            scope: Scope::partnership("p1"),
            form: Some(FormRef {
                id: "case_note".into(),
                version: 1,
            }),
            created_by: "u1".into(),
            created_at: 1_700_000_000,
        };
        let mut answers = Answers::new();
        answers.set("participant", "Ana");
        RecordDoc::create(
            meta,
            &answers,
            &Commit::new("u1", "create").at(1_700_000_000),
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_record_without_followups_has_none_and_keeps_its_shape() {
        let r = note();
        assert!(r.followups().is_empty());
        r.check_shape().unwrap();
    }

    #[test]
    fn marks_are_changes_another_device_takes() {
        let mut server = note();
        let mut phone = RecordDoc::load(&server.save(), [], None).unwrap();
        let heads = server.heads();
        server.set_actor(automerge::ActorId::random());
        let assign = server
            .mark_followup(
                "referral",
                &FollowupMark::Assign(Some("u2".into())),
                &Commit::new("u9", "Assigned").at(1_700_000_100),
            )
            .unwrap()
            .expect("a change");
        let done = server
            .mark_followup(
                "referral",
                &FollowupMark::Done(Some("called".into())),
                &Commit::new("u9", "Done").at(1_700_000_200),
            )
            .unwrap()
            .expect("a change");
        server.check_shape().unwrap();
        phone
            .check_changes(&[assign.clone(), done.clone()])
            .unwrap();
        let changes = server.changes_since(&heads);
        assert_eq!(changes.len(), 2);
        phone.apply_changes(changes).unwrap();
        phone.check_shape().unwrap();
        let f = phone.followup("referral").unwrap();
        assert_eq!(f.assigned_to.as_deref(), Some("u2"));
        assert_eq!(f.done_at, Some(1_700_000_200));
        assert_eq!(f.done_by.as_deref(), Some("u9"));
        assert_eq!(f.note.as_deref(), Some("called"));
        assert!(f.is_done());
        // Taking the assignment away.
        server
            .mark_followup(
                "referral",
                &FollowupMark::Assign(None),
                &Commit::new("u9", "x"),
            )
            .unwrap()
            .unwrap();
        assert_eq!(server.followup("referral").unwrap().assigned_to, None);
        // Unknown kinds and overlong notes are refused before anything is written.
        assert!(server
            .mark_followup("nap", &FollowupMark::Done(None), &Commit::new("u9", "x"))
            .is_err());
        let long = "x".repeat(MAX_NOTE + 1);
        assert!(server
            .mark_followup(
                "visit",
                &FollowupMark::Done(Some(long)),
                &Commit::new("u9", "x")
            )
            .is_err());
    }

    /// `note()` bent with raw Automerge operations under `followups`; why it is
    /// refused (by the shape check, or by the change check for a replaced map).
    fn bent(edit: impl FnOnce(&mut AutoCommit, &ObjId)) -> String {
        let mut record = note();
        let mut doc = AutoCommit::load(&record.save()).unwrap();
        let root = doc.put_object(ROOT, FOLLOWUPS, ObjType::Map).unwrap();
        edit(&mut doc, &root);
        doc.commit();
        let again = RecordDoc::load(&doc.save(), [], None).unwrap();
        again.check_shape().unwrap_err().to_string()
    }

    #[test]
    fn a_foreign_followups_shape_is_refused_with_its_path() {
        let unknown = bent(|doc, root| {
            let m = doc.put_object(root, "followup", ObjType::Map).unwrap();
            doc.put(&m, "priority", "high").unwrap();
        });
        assert!(unknown.contains("followups.followup.priority"), "{unknown}");

        let list = bent(|doc, root| {
            doc.put_object(root, "callback", ObjType::List).unwrap();
        });
        assert!(
            list.contains("followups.callback") && list.contains("a list"),
            "{list}"
        );

        let text_time = bent(|doc, root| {
            let m = doc.put_object(root, "visit", ObjType::Map).unwrap();
            doc.put(&m, "done_at", "yesterday").unwrap();
        });
        assert!(
            text_time.contains("followups.visit.done_at") && text_time.contains("integer"),
            "{text_time}"
        );

        let kind = bent(|doc, root| {
            doc.put_object(root, "lunch", ObjType::Map).unwrap();
        });
        assert!(kind.contains("followups.lunch"), "{kind}");

        let text_object = bent(|doc, root| {
            let m = doc.put_object(root, "referral", ObjType::Map).unwrap();
            let t = doc.put_object(&m, "note", ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, "hi").unwrap();
        });
        assert!(
            text_object.contains("followups.referral.note"),
            "{text_object}"
        );

        let long = bent(|doc, root| {
            let m = doc.put_object(root, "referral", ObjType::Map).unwrap();
            doc.put(&m, "note", "x".repeat(MAX_NOTE + 1)).unwrap();
        });
        assert!(long.contains("followups.referral.note"), "{long}");

        let mut record = note();
        let mut doc = AutoCommit::load(&record.save()).unwrap();
        doc.put(ROOT, FOLLOWUPS, "none").unwrap();
        doc.commit();
        let scalar = RecordDoc::load(&doc.save(), [], None).unwrap();
        let reason = scalar.check_shape().unwrap_err().to_string();
        assert!(
            reason.contains("`followups`") && reason.contains("map"),
            "{reason}"
        );
    }

    #[test]
    fn only_making_the_map_may_touch_the_root() {
        let mut server = note();
        let mut phone = RecordDoc::load(&server.save(), [], None).unwrap();
        server
            .mark_followup("visit", &FollowupMark::Done(None), &Commit::new("u9", "x"))
            .unwrap()
            .unwrap();
        // Replacing the existing map would wipe it: refused like any root operation.
        let replaced = server
            .edit(&Commit::new("u9", "wipe"), |e| {
                e.with_doc(|d| {
                    d.put_object(ROOT, FOLLOWUPS, ObjType::Map)?;
                    Ok(())
                })
            })
            .unwrap()
            .unwrap();
        let all = server.changes_since(&[]);
        let first = all
            .into_iter()
            .filter(|c| c.hash() != replaced.hash())
            .collect();
        phone.apply_changes(first).unwrap();
        assert!(phone.apply_changes(vec![replaced]).is_err());
        // Nor a scalar put at the root.
        let other = server
            .edit(&Commit::new("u9", "extra"), |e| {
                e.with_doc(|d| {
                    d.put(ROOT, "extra", 1)?;
                    Ok(())
                })
            })
            .unwrap()
            .unwrap();
        assert!(phone.check_changes(&[other]).is_err());
    }
}
