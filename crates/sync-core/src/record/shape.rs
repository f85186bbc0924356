//! The exact shape a record's document must have, checked on every document that
//! comes from outside (the server checks each push with it).
//!
//! A record written by this core always has this shape; a client written elsewhere
//! (Automerge's JavaScript implementation, say) can easily write something else:
//! JavaScript's default text objects instead of strings, a group's answers as a nested
//! map, times in milliseconds. Such values would be silently missing from fields,
//! exports and devices while the history lists them as changed, so they are refused,
//! with a reason that names the path. The layout is specified in `docs/protocol.md`
//! ("Record layout"):
//!
//! - the root holds exactly `meta` (map), `data` (map) and `resolutions` (list), and
//!   may hold `followups` (map);
//! - `meta` holds only the known keys, each a plain string or integer of its type;
//!   `created_by` is not empty, `created_at` is in unix *seconds* (between
//!   [`EARLIEST_CREATED_AT`] and [`LATEST_CREATED_AT`]); responses, check-ins and case
//!   notes name their form;
//! - `data` holds answers: each a plain scalar (string, integer, finite float,
//!   boolean, null) or a repeat, a list of maps of answers (at most [`MAX_DEPTH`]
//!   repeats deep); every concurrent value of a field is checked, not only the one
//!   shown;
//! - `resolutions` holds maps of plain scalars;
//! - an optional `followups` map holds one map per follow-up kind, each with only
//!   known keys of their types (see [`super::followup`]); concurrent values are
//!   taken (two devices may create it at once) and each is checked.

use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};

use super::RecordDoc;
use crate::error::{CoreError, Result};

/// The earliest `created_at` taken: 2000-01-01 in unix seconds.
pub const EARLIEST_CREATED_AT: i64 = 946_684_800;
/// The latest `created_at` taken: 2100-01-01 in unix seconds (a time in milliseconds
/// is far beyond it).
pub const LATEST_CREATED_AT: i64 = 4_102_444_800;
/// Repeats nested at most this deep.
pub const MAX_DEPTH: usize = 8;

const META_TEXT: [&str; 9] = [
    "kind",
    "id",
    "partnership",
    "organization",
    "neighborhood",
    "family",
    "program",
    "form_id",
    "created_by",
];
const META_INT: [&str; 2] = ["form_version", "created_at"];

impl RecordDoc {
    /// Check the document's whole shape (see the [module docs](self)). The error
    /// names the first path that is wrong.
    pub fn check_shape(&self) -> Result<()> {
        let (doc, _) = self.parts();
        let bad = |reason: String| CoreError::Malformed {
            id: self.meta().id.to_string(),
            reason,
        };
        let mut seen = [false; 3];
        for item in doc.map_range(ROOT, ..) {
            if item.key.as_ref() == super::followup::FOLLOWUPS {
                for (value, id) in doc.get_all(ROOT, super::followup::FOLLOWUPS)? {
                    if value != Value::Object(ObjType::Map) {
                        return Err(bad(format!(
                            "`followups` at the root must be a map, not {}",
                            describe(&value)
                        )));
                    }
                    super::followup::check_followups(doc, &id).map_err(bad)?;
                }
                continue;
            }
            let (slot, wanted) = match item.key.as_ref() {
                "meta" => (0, ObjType::Map),
                "data" => (1, ObjType::Map),
                "resolutions" => (2, ObjType::List),
                other => {
                    return Err(bad(format!(
                    "`{}` at the document's root: the root holds only meta, data, resolutions and followups",
                    other.escape_debug()
                )))
                }
            };
            if item.conflict || item.value.clone().into_value() != Value::Object(wanted) {
                return Err(bad(format!(
                    "`{}` at the root must be one {}",
                    item.key,
                    if wanted == ObjType::Map {
                        "map"
                    } else {
                        "list"
                    }
                )));
            }
            seen[slot] = true;
            match slot {
                0 => check_meta(doc, &item.id()).map_err(bad)?,
                1 => check_answers(doc, &item.id(), "", 0).map_err(bad)?,
                _ => check_resolutions(doc, &item.id()).map_err(bad)?,
            }
        }
        for (present, name) in seen.iter().zip(["meta", "data", "resolutions"]) {
            if !present {
                return Err(bad(format!("the document has no `{name}`")));
            }
        }
        let meta = self.meta();
        if meta.created_by.trim().is_empty() {
            return Err(bad(
                "meta.created_by is empty: it is the creating user's id".into(),
            ));
        }
        if !(EARLIEST_CREATED_AT..LATEST_CREATED_AT).contains(&meta.created_at) {
            return Err(bad(format!(
                "meta.created_at is {}: it must be unix seconds (milliseconds are not taken)",
                meta.created_at
            )));
        }
        if meta.kind.needs_form() && meta.form.is_none() {
            return Err(bad(format!(
                "a {} must name its form (meta.form_id and meta.form_version)",
                meta.kind
            )));
        }
        Ok(())
    }
}

/// Every value at `obj[key]`, the concurrent ones too.
fn values<'a, R: ReadDoc>(
    doc: &'a R,
    obj: &ObjId,
    key: impl Into<automerge::Prop>,
) -> Vec<Value<'a>> {
    doc.get_all(obj, key)
        .map(|all| all.into_iter().map(|(v, _)| v).collect())
        .unwrap_or_default()
}

fn check_meta<R: ReadDoc>(doc: &R, meta: &ObjId) -> std::result::Result<(), String> {
    for item in doc.map_range(meta, ..) {
        let key = item.key.as_ref();
        let text = META_TEXT.contains(&key);
        if !text && !META_INT.contains(&key) {
            return Err(format!("meta.{}: not a metadata field", key.escape_debug()));
        }
        let value = item.value.clone().into_value();
        let ok = match &value {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(_) => text,
                ScalarValue::Int(_) => !text,
                _ => false,
            },
            Value::Object(_) => false,
        };
        if !ok || item.conflict {
            return Err(format!(
                "meta.{key}: must be one plain {} ({})",
                if text { "string" } else { "integer" },
                describe(&value)
            ));
        }
    }
    Ok(())
}

fn check_answers<R: ReadDoc>(
    doc: &R,
    map: &ObjId,
    prefix: &str,
    depth: usize,
) -> std::result::Result<(), String> {
    for item in doc.map_range(map, ..) {
        // Every concurrent value of a conflicted field; the one value otherwise,
        // without a second lookup (this runs on every push, for every answer).
        let all = if item.conflict {
            doc.get_all(map, item.key.as_ref()).unwrap_or_default()
        } else {
            vec![(item.value.clone().into_value(), item.id())]
        };
        for (value, id) in all {
            let path = || format!("{prefix}{}", item.key);
            match value {
                Value::Scalar(s) => check_scalar(&s).map_err(|e| format!("`{}`: {e}", path()))?,
                Value::Object(ObjType::List) => {
                    if depth + 1 > MAX_DEPTH {
                        return Err(format!(
                            "`{}`: repeats nested more than {MAX_DEPTH} deep",
                            path()
                        ));
                    }
                    check_repeat(doc, &id, &path(), depth + 1)?;
                }
                Value::Object(other) => {
                    return Err(format!("`{}`: {}", path(), describe_object(other)));
                }
            }
        }
    }
    Ok(())
}

fn check_repeat<R: ReadDoc>(
    doc: &R,
    list: &ObjId,
    path: &str,
    depth: usize,
) -> std::result::Result<(), String> {
    for entry in doc.list_range(list, ..) {
        let all = if entry.conflict {
            doc.get_all(list, entry.index).unwrap_or_default()
        } else {
            vec![(entry.value.clone().into_value(), entry.id())]
        };
        let here = || format!("{path}[{}]", entry.index + 1);
        for (value, id) in all {
            match value {
                Value::Object(ObjType::Map) => {
                    check_answers(doc, &id, &format!("{}/", here()), depth)?
                }
                other => {
                    return Err(format!(
                        "`{}`: a repeat is a list of maps of answers, not {}",
                        here(),
                        describe(&other)
                    ))
                }
            }
        }
    }
    Ok(())
}

fn check_resolutions<R: ReadDoc>(doc: &R, list: &ObjId) -> std::result::Result<(), String> {
    for index in 0..doc.length(list) {
        for (value, id) in doc.get_all(list, index).unwrap_or_default() {
            if value != Value::Object(ObjType::Map) {
                return Err(format!(
                    "`resolutions[{}]`: a resolution is a map, not {}",
                    index + 1,
                    describe(&value)
                ));
            }
            for item in doc.map_range(&id, ..) {
                for v in values(doc, &id, item.key.as_ref()) {
                    let fine = match &v {
                        Value::Scalar(s) => check_scalar(s).is_ok(),
                        Value::Object(_) => false,
                    };
                    if !fine {
                        return Err(format!(
                            "`resolutions[{}]/{}`: must be a plain scalar, not {}",
                            index + 1,
                            item.key,
                            describe(&v)
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_scalar(s: &ScalarValue) -> std::result::Result<(), String> {
    match s {
        ScalarValue::Str(_)
        | ScalarValue::Int(_)
        | ScalarValue::Uint(_)
        | ScalarValue::Boolean(_)
        | ScalarValue::Null => Ok(()),
        ScalarValue::F64(f) if f.is_finite() => Ok(()),
        ScalarValue::F64(_) => Err("not a finite number".into()),
        other => Err(format!(
            "{}; an answer is a plain string, number, boolean or null",
            describe_scalar(other)
        )),
    }
}

pub(crate) fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => describe_scalar(s).to_string(),
        Value::Object(o) => describe_object(*o).to_string(),
    }
}

fn describe_scalar(s: &ScalarValue) -> &'static str {
    match s {
        ScalarValue::Str(_) => "a string",
        ScalarValue::Int(_) | ScalarValue::Uint(_) => "an integer",
        ScalarValue::F64(_) => "a float",
        ScalarValue::Boolean(_) => "a boolean",
        ScalarValue::Null => "null",
        ScalarValue::Bytes(_) => "bytes",
        ScalarValue::Counter(_) => "an Automerge counter",
        ScalarValue::Timestamp(_) => "an Automerge timestamp",
        ScalarValue::Unknown { .. } => "a value of an unknown type",
    }
}

fn describe_object(o: ObjType) -> &'static str {
    match o {
        ObjType::Text => {
            "an Automerge text object; answers are plain (immutable) strings: in Automerge's JavaScript API, where a plain string becomes text, write `new ImmutableString(...)`"
        }
        ObjType::Map | ObjType::Table => {
            "a nested map; a group's answers are written flat among the fields, and only a repeat holds maps (as a list)"
        }
        ObjType::List => "a list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Commit, FormRef, RecordKind, RecordMeta, Scope};
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;
    use forms::Answers;
    use uuid::Uuid;

    fn meta(kind: RecordKind, form: bool) -> RecordMeta {
        RecordMeta {
            kind,
            id: Uuid::new_v4(),
            scope: Scope::partnership("p1"),
            form: form.then(|| FormRef {
                id: "household_survey".into(),
                version: 1,
            }),
            created_by: "u1".into(),
            created_at: 1_700_000_000,
        }
    }

    /// A record made by this core, then bent with raw Automerge operations the way a
    /// foreign client could write it; the reason it is refused.
    fn bent(edit: impl FnOnce(&mut AutoCommit, &ObjId, &ObjId)) -> String {
        let mut answers = Answers::new();
        answers.set("consent", "yes");
        let mut record = RecordDoc::create(
            meta(RecordKind::Response, true),
            &answers,
            &Commit::new("u1", "create"),
            None,
        )
        .unwrap();
        record.check_shape().unwrap();
        let mut doc = AutoCommit::load(&record.save()).unwrap();
        let get = |doc: &AutoCommit, key: &str| match doc.get(ROOT, key).unwrap() {
            Some((_, id)) => id,
            None => panic!("{key}"),
        };
        let (m, d) = (get(&doc, "meta"), get(&doc, "data"));
        edit(&mut doc, &m, &d);
        doc.commit();
        let again = RecordDoc::load(&doc.save(), [], None);
        match again {
            Ok(r) => r.check_shape().unwrap_err().to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_record_made_here_has_the_shape() {
        let mut answers = Answers::new();
        answers.set("consent", "yes").set("age", 4).set("x", 2.5);
        let child = {
            let mut a = Answers::new();
            a.set("name", "Ana");
            a
        };
        answers
            .0
            .insert("child".into(), forms::Answer::Repeat(vec![child]));
        for (kind, form) in [(RecordKind::Response, true), (RecordKind::Household, false)] {
            let r = RecordDoc::create(meta(kind, form), &answers, &Commit::new("u1", "c"), None)
                .unwrap();
            r.check_shape().unwrap();
        }
    }

    #[test]
    fn foreign_shapes_are_refused_with_their_path() {
        let text = bent(|doc, _, data| {
            let t = doc.put_object(data, "name", ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, "Ana").unwrap();
        });
        assert!(
            text.contains("`name`") && text.contains("text object"),
            "{text}"
        );

        let group = bent(|doc, _, data| {
            let g = doc.put_object(data, "caregiver", ObjType::Map).unwrap();
            doc.put(&g, "age", 30).unwrap();
        });
        assert!(
            group.contains("`caregiver`") && group.contains("nested map"),
            "{group}"
        );

        let nested = bent(|doc, _, data| {
            let list = doc.put_object(data, "child", ObjType::List).unwrap();
            let item = doc.insert_object(&list, 0, ObjType::Map).unwrap();
            let t = doc.put_object(&item, "name", ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, "Ana").unwrap();
        });
        assert!(nested.contains("`child[1]/name`"), "{nested}");

        let scalars = bent(|doc, _, data| {
            let list = doc.put_object(data, "ages", ObjType::List).unwrap();
            doc.insert(&list, 0, 3).unwrap();
        });
        assert!(scalars.contains("`ages[1]`"), "{scalars}");

        let counter = bent(|doc, _, data| {
            doc.put(data, "visits", ScalarValue::counter(1)).unwrap();
        });
        assert!(
            counter.contains("`visits`") && counter.contains("counter"),
            "{counter}"
        );

        let ms = bent(|doc, meta, _| {
            doc.put(meta, "created_at", 1_700_000_000_000_i64).unwrap();
        });
        assert!(
            ms.contains("meta.created_at") && ms.contains("seconds"),
            "{ms}"
        );

        let extra = bent(|doc, meta, _| {
            doc.put(meta, "role", "admin").unwrap();
        });
        assert!(extra.contains("meta.role"), "{extra}");

        let no_resolutions = bent(|doc, _, _| {
            doc.delete(ROOT, "resolutions").unwrap();
        });
        assert!(no_resolutions.contains("resolutions"), "{no_resolutions}");

        let root = bent(|doc, _, _| {
            doc.put(ROOT, "extra", 1).unwrap();
        });
        assert!(root.contains("`extra`"), "{root}");

        let no_form = bent(|doc, meta, _| {
            doc.delete(meta, "form_id").unwrap();
            doc.delete(meta, "form_version").unwrap();
        });
        assert!(no_form.contains("must name its form"), "{no_form}");

        let anonymous = bent(|doc, meta, _| {
            doc.put(meta, "created_by", "").unwrap();
        });
        assert!(anonymous.contains("created_by"), "{anonymous}");
    }

    #[test]
    fn a_losing_concurrent_value_is_checked_too() {
        let mut answers = Answers::new();
        answers.set("name", "Ana");
        let mut record = RecordDoc::create(
            meta(RecordKind::Household, false),
            &answers,
            &Commit::new("u1", "create"),
            None,
        )
        .unwrap();
        let bytes = record.save();
        let mut a = AutoCommit::load(&bytes).unwrap();
        let mut b = AutoCommit::load(&bytes).unwrap();
        a.set_actor(automerge::ActorId::from(&[1u8; 16][..]));
        b.set_actor(automerge::ActorId::from(&[2u8; 16][..]));
        let data = |d: &AutoCommit| d.get(ROOT, "data").unwrap().unwrap().1;
        let (da, db) = (data(&a), data(&b));
        a.put(&da, "name", "Ana María").unwrap();
        let t = b.put_object(&db, "name", ObjType::Text).unwrap();
        b.splice_text(&t, 0, 0, "x").unwrap();
        a.commit();
        b.commit();
        a.merge(&mut b).unwrap();
        let merged = RecordDoc::load(&a.save(), [], None).unwrap();
        let reason = merged.check_shape().unwrap_err().to_string();
        assert!(
            reason.contains("`name`") && reason.contains("text object"),
            "{reason}"
        );
    }
}
