//! [`RecordDoc`]: one record's Automerge document, and [`RecordEdit`], the edits a
//! commit may make to its fields.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ReadDoc, ROOT};
use forms::{Answer, Answers, Value};
use uuid::Uuid;

use super::path::Step;
use super::scalar::{from_am, to_scalar};
use super::{Commit, FieldPath, FormRef, RecordKind, RecordMeta, Scope};
use crate::error::{CoreError, Result};

const META: &str = "meta";
const DATA: &str = "data";
pub(crate) const RESOLUTIONS: &str = "resolutions";

/// One record: an Automerge document with immutable metadata and fields.
#[derive(Debug)]
pub struct RecordDoc {
    doc: AutoCommit,
    meta: RecordMeta,
    meta_obj: ObjId,
    data_obj: ObjId,
}

impl RecordDoc {
    /// Create a record: its first change writes the metadata and the initial fields.
    pub fn create(
        meta: RecordMeta,
        fields: &Answers,
        commit: &Commit,
        actor: Option<ActorId>,
    ) -> Result<Self> {
        if meta.kind.needs_form() && meta.form.is_none() {
            return Err(CoreError::Malformed {
                id: meta.id.to_string(),
                reason: format!("a {} must name the form it answers", meta.kind),
            });
        }
        let mut doc = AutoCommit::new();
        if let Some(actor) = actor {
            doc.set_actor(actor);
        }
        let meta_obj = doc.put_object(ROOT, META, ObjType::Map)?;
        write_meta(&mut doc, &meta_obj, &meta)?;
        let data_obj = doc.put_object(ROOT, DATA, ObjType::Map)?;
        doc.put_object(ROOT, RESOLUTIONS, ObjType::List)?;
        let mut record = RecordDoc {
            doc,
            meta,
            meta_obj,
            data_obj,
        };
        RecordEdit {
            doc: &mut record.doc,
            data: record.data_obj.clone(),
        }
        .merge_answers(&record.data_obj.clone(), fields)?;
        record.doc.commit_with(commit.options());
        Ok(record)
    }

    /// Open a record from a saved document followed by any incremental chunks
    /// (changes saved since), using `actor` for the changes this device makes.
    pub fn load<'a>(
        snapshot: &[u8],
        chunks: impl IntoIterator<Item = &'a [u8]>,
        actor: Option<ActorId>,
    ) -> Result<Self> {
        let mut doc = AutoCommit::load(snapshot)?;
        for chunk in chunks {
            doc.load_incremental(chunk)?;
        }
        if let Some(actor) = actor {
            doc.set_actor(actor);
        }
        Self::from_doc(doc)
    }

    /// Build a record from changes alone (a record first seen through sync).
    pub fn from_changes(changes: Vec<Change>, actor: Option<ActorId>) -> Result<Self> {
        let mut doc = AutoCommit::new();
        if let Some(actor) = actor {
            doc.set_actor(actor);
        }
        let (creation, rest): (Vec<Change>, Vec<Change>) =
            changes.into_iter().partition(|c| c.deps().is_empty());
        if creation.len() != 1 {
            return Err(CoreError::Malformed {
                id: "?".into(),
                reason: format!(
                    "a new record needs exactly one creating change, got {}",
                    creation.len()
                ),
            });
        }
        guarded(|| doc.apply_changes(creation))?;
        let mut record = Self::from_doc(doc)?;
        if !rest.is_empty() {
            record.apply_changes(rest)?;
        }
        Ok(record)
    }

    fn from_doc(doc: AutoCommit) -> Result<Self> {
        let malformed = |reason: &str| CoreError::Malformed {
            id: "?".into(),
            reason: reason.into(),
        };
        let (mut meta_obj, mut data_obj) = (None, None);
        for item in doc.map_range(ROOT, ..) {
            if let automerge::ValueRef::Object(ObjType::Map) = item.value {
                match item.key.as_ref() {
                    META => meta_obj = Some(item.id()),
                    DATA => data_obj = Some(item.id()),
                    _ => {}
                }
            }
        }
        let meta_obj = meta_obj.ok_or_else(|| malformed("no metadata"))?;
        let data_obj = data_obj.ok_or_else(|| malformed("no fields map"))?;
        let meta = read_meta(&doc, &meta_obj)?;
        Ok(RecordDoc {
            doc,
            meta,
            meta_obj,
            data_obj,
        })
    }

    /// The record's immutable metadata.
    pub fn meta(&self) -> &RecordMeta {
        &self.meta
    }

    /// The record id.
    pub fn id(&self) -> Uuid {
        self.meta.id
    }

    /// Every field (answers by question name, repeat groups nested). Where a field has
    /// concurrent values, this shows the one Automerge picks; see [`Self::conflicts`].
    pub fn fields(&self) -> Answers {
        read_answers(&self.doc, &self.data_obj)
    }

    /// The value at a path, if set.
    pub fn value(&self, path: &FieldPath) -> Result<Option<Value>> {
        let (parent, key) = match locate(&self.doc, &self.data_obj, path)? {
            Some(found) => found,
            None => return Ok(None),
        };
        Ok(self
            .doc
            .get(&parent, key.as_str())?
            .and_then(|(v, _)| from_am(&v)))
    }

    /// Make one commit: run `edit` on the fields, then commit with author, time and
    /// message. Returns the new change (none when the edit changed nothing). If `edit`
    /// fails, nothing of it is kept.
    pub fn edit<F>(&mut self, commit: &Commit, edit: F) -> Result<Option<Change>>
    where
        F: FnOnce(&mut RecordEdit<'_>) -> Result<()>,
    {
        let mut handle = RecordEdit {
            doc: &mut self.doc,
            data: self.data_obj.clone(),
        };
        if let Err(e) = edit(&mut handle) {
            self.doc.rollback();
            return Err(e);
        }
        let hash = match self.doc.commit_with(commit.options()) {
            Some(hash) => hash,
            None => return Ok(None),
        };
        Ok(self.doc.get_change_by_hash(&hash))
    }

    /// Apply changes from elsewhere (a sync). Changes already present are ignored;
    /// changes whose dependencies are missing wait until those arrive. A change that
    /// touches the metadata or the document's root is refused, and then none of the
    /// batch is applied.
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<()> {
        self.check_changes(&changes)?;
        let doc = &mut self.doc;
        guarded(|| doc.apply_changes(changes))
    }

    /// Refuse changes that would alter what is fixed at creation: any operation on the
    /// document root (but making the `followups` map where none was) or on the
    /// metadata map.
    pub fn check_changes(&self, changes: &[Change]) -> Result<()> {
        let (meta_counter, meta_actor) = match &self.meta_obj {
            automerge::ObjId::Id(counter, actor, _) => (*counter, actor.clone()),
            automerge::ObjId::Root => (0, ActorId::from(&[][..])),
        };
        for change in changes {
            if ReadDoc::get_change_by_hash(&self.doc, &change.hash()).is_some() {
                continue;
            }
            let decoded = super::contain::contain(|| change.decode()).ok_or_else(|| {
                CoreError::Malformed {
                    id: self.meta.id.to_string(),
                    reason: format!(
                        "change {} is internally inconsistent (it names an actor it does not list)",
                        change.hash()
                    ),
                }
            })?;
            for op in decoded.operations {
                // The one root operation taken after creation: making the follow-ups
                // map where there is none (`pred` empty: it replaces nothing).
                if matches!((&op.obj, &op.key), (ObjectId::Root, Key::Map(k)) if k == super::FOLLOWUPS)
                    && matches!(op.action, OpType::Make(ObjType::Map))
                    && op.pred.is_empty()
                {
                    continue;
                }
                let field = match (&op.obj, &op.key) {
                    (ObjectId::Root, Key::Map(k)) => Some(k.to_string()),
                    (ObjectId::Root, _) => Some("root".to_string()),
                    (ObjectId::Id(id), Key::Map(k))
                        if id.counter() == meta_counter && *id.actor() == meta_actor =>
                    {
                        Some(format!("meta.{k}"))
                    }
                    _ => None,
                };
                if let Some(field) = field {
                    return Err(CoreError::ImmutableMetadata {
                        id: self.meta.id.to_string(),
                        field,
                    });
                }
            }
        }
        Ok(())
    }

    /// The current heads (the latest changes).
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The changes made after `heads` (all of them for `&[]`).
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<Change> {
        self.doc.get_changes(heads)
    }

    /// Whether the record holds a change with this hash.
    pub fn has_change(&mut self, hash: &ChangeHash) -> bool {
        self.doc.get_change_by_hash(hash).is_some()
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Use `actor` for this device's next changes.
    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    /// The underlying Automerge document, for the sync protocol and history.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub(crate) fn parts(&self) -> (&AutoCommit, &ObjId) {
        (&self.doc, &self.data_obj)
    }
}

/// The edits one commit may make to a record's fields.
pub struct RecordEdit<'a> {
    doc: &'a mut AutoCommit,
    data: ObjId,
}

impl RecordEdit<'_> {
    /// Set a field (or an answer inside a repeat instance) to a value.
    pub fn set(&mut self, path: &FieldPath, value: impl Into<Value>) -> Result<()> {
        let (parent, key) =
            locate(self.doc, &self.data, path)?.ok_or_else(|| CoreError::BadPath {
                path: path.to_string(),
                reason: "no such repeat instance".into(),
            })?;
        self.doc
            .put(&parent, key.as_str(), to_scalar(&value.into()))?;
        Ok(())
    }

    /// Run raw Automerge operations inside this commit (for this crate's own
    /// bookkeeping, such as conflict resolutions).
    pub(crate) fn with_doc<T>(
        &mut self,
        f: impl FnOnce(&mut AutoCommit) -> Result<T>,
    ) -> Result<T> {
        f(self.doc)
    }

    /// Set a top-level field.
    pub fn set_field(&mut self, name: &str, value: impl Into<Value>) -> Result<()> {
        self.set(&FieldPath::field(name), value)
    }

    /// Remove a field.
    pub fn remove(&mut self, path: &FieldPath) -> Result<()> {
        if let Some((parent, key)) = locate(self.doc, &self.data, path)? {
            if self.doc.get(&parent, key.as_str())?.is_some() {
                self.doc.delete(&parent, key.as_str())?;
            }
        }
        Ok(())
    }

    /// Add an instance at the end of repeat group `name` (created if absent), with its
    /// answers; returns its 0-based index.
    pub fn add_repeat(&mut self, name: &str, answers: &Answers) -> Result<usize> {
        let list = match object(self.doc, &self.data, name) {
            Some(list) => list,
            None => self.doc.put_object(&self.data, name, ObjType::List)?,
        };
        let index = self.doc.length(&list);
        let item = self.doc.insert_object(&list, index, ObjType::Map)?;
        self.merge_answers(&item, answers)?;
        Ok(index)
    }

    /// Remove instance `index` (0-based) of repeat group `name`.
    pub fn remove_repeat(&mut self, name: &str, index: usize) -> Result<()> {
        let list = object(self.doc, &self.data, name).filter(|l| index < self.doc.length(l));
        let list = list.ok_or_else(|| CoreError::BadPath {
            path: format!("{name}[{}]", index + 1),
            reason: "no such repeat instance".into(),
        })?;
        self.doc.delete(&list, index)?;
        Ok(())
    }

    /// Make the fields equal `answers`, writing only what differs, so that an unchanged
    /// answer never becomes a conflict. Fields absent from `answers` are removed.
    pub fn replace_answers(&mut self, answers: &Answers) -> Result<()> {
        let data = self.data.clone();
        let stale: Vec<String> = self
            .doc
            .keys(&data)
            .filter(|k| !answers.0.contains_key(k))
            .collect();
        for key in stale {
            self.doc.delete(&data, key.as_str())?;
        }
        self.merge_answers(&data, answers)
    }

    /// Write the given answers into map `obj`, leaving other fields as they are.
    fn merge_answers(&mut self, obj: &ObjId, answers: &Answers) -> Result<()> {
        for (name, answer) in answers.iter() {
            match answer {
                Answer::Value(value) => {
                    let current = self
                        .doc
                        .get(obj, name.as_str())?
                        .and_then(|(v, _)| from_am(&v));
                    if current.as_ref() != Some(value) {
                        self.doc.put(obj, name.as_str(), to_scalar(value))?;
                    }
                }
                Answer::Repeat(items) => {
                    let list = match object(self.doc, obj, name) {
                        Some(list) => list,
                        None => self.doc.put_object(obj, name.as_str(), ObjType::List)?,
                    };
                    let existing = self.doc.length(&list);
                    for (i, item) in items.iter().enumerate() {
                        let target = match (i < existing)
                            .then(|| self.doc.get(&list, i).ok().flatten())
                            .flatten()
                        {
                            Some((automerge::Value::Object(ObjType::Map), id)) => id,
                            _ => {
                                if i < existing {
                                    self.doc.delete(&list, i)?;
                                }
                                self.doc.insert_object(&list, i, ObjType::Map)?
                            }
                        };
                        let stale: Vec<String> = self
                            .doc
                            .keys(&target)
                            .filter(|k| !item.0.contains_key(k))
                            .collect();
                        for key in stale {
                            self.doc.delete(&target, key.as_str())?;
                        }
                        self.merge_answers(&target, item)?;
                    }
                    for i in (items.len()..existing).rev() {
                        self.doc.delete(&list, i)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Run an Automerge operation on changes from outside. Automerge 0.12 can panic on a
/// change that decodes but is internally inconsistent (seen with byte-flipped changes:
/// an actor index out of range); that must be an error, never a crash. After such a
/// failure the document may be half-updated: callers drop it and reload.
fn guarded(
    apply: impl FnOnce() -> std::result::Result<(), automerge::AutomergeError>,
) -> Result<()> {
    match super::contain::contain(apply) {
        Some(result) => Ok(result?),
        None => Err(CoreError::Malformed {
            id: "?".into(),
            reason: "a change is internally inconsistent and could not be applied".into(),
        }),
    }
}

/// The object stored at `obj[key]`, if the key holds one.
fn object<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (automerge::Value::Object(_), id) => Some(id),
        _ => None,
    }
}

/// Find the map holding the last key of `path`, and that key. `None` when a repeat
/// instance on the way does not exist.
fn locate<R: ReadDoc>(doc: &R, data: &ObjId, path: &FieldPath) -> Result<Option<(ObjId, String)>> {
    let bad = |reason: &str| CoreError::BadPath {
        path: path.to_string(),
        reason: reason.into(),
    };
    let Some((Step::Key(last), walk)) = path.0.split_last() else {
        return Err(bad("a path ends with a field name"));
    };
    let mut current = data.clone();
    let mut steps = walk.iter();
    while let Some(step) = steps.next() {
        let (Step::Key(name), Some(Step::Index(i))) = (step, steps.next()) else {
            return Err(bad("inner steps are repeat instances, like `child[2]`"));
        };
        let Some(list) = object(doc, &current, name) else {
            return Ok(None);
        };
        match doc.get(&list, *i)? {
            Some((automerge::Value::Object(ObjType::Map), id)) => current = id,
            _ => return Ok(None),
        }
    }
    Ok(Some((current, last.clone())))
}

/// Read a map of answers (repeat groups are lists of maps).
pub(crate) fn read_answers<R: ReadDoc>(doc: &R, obj: &ObjId) -> Answers {
    let mut answers = Answers::new();
    for item in doc.map_range(obj, ..) {
        let answer = match &item.value {
            automerge::ValueRef::Object(ObjType::List) => {
                let list = item.id();
                let items = doc
                    .list_range(&list, ..)
                    .filter_map(|entry| match entry.value {
                        automerge::ValueRef::Object(ObjType::Map) => {
                            Some(read_answers(doc, &entry.id()))
                        }
                        _ => None,
                    })
                    .collect();
                Answer::Repeat(items)
            }
            automerge::ValueRef::Scalar(_) => match from_am(&item.value.clone().into_value()) {
                Some(value) => Answer::Value(value),
                None => continue,
            },
            automerge::ValueRef::Object(_) => continue,
        };
        answers.0.insert(item.key.to_string(), answer);
    }
    answers
}

fn write_meta(doc: &mut AutoCommit, obj: &ObjId, meta: &RecordMeta) -> Result<()> {
    doc.put(obj, "kind", meta.kind.as_str())?;
    doc.put(obj, "id", meta.id.to_string())?;
    doc.put(obj, "partnership", meta.scope.partnership.as_str())?;
    let optional = [
        ("organization", &meta.scope.organization),
        ("neighborhood", &meta.scope.neighborhood),
        ("family", &meta.scope.family),
        ("program", &meta.scope.program),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            doc.put(obj, key, value.as_str())?;
        }
    }
    if let Some(form) = &meta.form {
        doc.put(obj, "form_id", form.id.as_str())?;
        doc.put(obj, "form_version", i64::from(form.version))?;
    }
    doc.put(obj, "created_by", meta.created_by.as_str())?;
    doc.put(obj, "created_at", meta.created_at)?;
    Ok(())
}

fn read_meta<R: ReadDoc>(doc: &R, obj: &ObjId) -> Result<RecordMeta> {
    // One pass over the map: much cheaper than a lookup per key.
    let values: std::collections::HashMap<String, Value> = doc
        .map_range(obj, ..)
        .filter_map(|item| {
            let value = match &item.value {
                automerge::ValueRef::Scalar(_) => from_am(&item.value.clone().into_value())?,
                automerge::ValueRef::Object(_) => return None,
            };
            Some((item.key.to_string(), value))
        })
        .collect();
    let get = |key: &str| -> Option<Value> { values.get(key).cloned() };
    let text = |key: &str| match get(key) {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    };
    let id_text = text("id").unwrap_or_default();
    let malformed = |reason: String| CoreError::Malformed {
        id: if id_text.is_empty() {
            "?".into()
        } else {
            id_text.clone()
        },
        reason,
    };
    let kind = text("kind")
        .ok_or_else(|| malformed("no kind".into()))?
        .parse::<RecordKind>()
        .map_err(|e| malformed(e.to_string()))?;
    let id = Uuid::parse_str(&id_text).map_err(|_| malformed("id is not a UUID".into()))?;
    let partnership = text("partnership").ok_or_else(|| malformed("no partnership".into()))?;
    let form = match (text("form_id"), get("form_version")) {
        (Some(id), Some(Value::Int(v))) => Some(FormRef {
            id,
            version: u32::try_from(v).map_err(|_| malformed("bad form version".into()))?,
        }),
        (None, None) => None,
        _ => return Err(malformed("form id and version must come together".into())),
    };
    let created_at = match get("created_at") {
        Some(Value::Int(t)) => t,
        _ => return Err(malformed("no creation time".into())),
    };
    Ok(RecordMeta {
        kind,
        id,
        scope: Scope {
            partnership,
            organization: text("organization"),
            neighborhood: text("neighborhood"),
            family: text("family"),
            program: text("program"),
        },
        form,
        created_by: text("created_by").unwrap_or_default(),
        created_at,
    })
}
