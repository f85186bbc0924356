use automerge::transaction::Transactable;
use automerge::ReadDoc;
use forms::{Answers, Value};
use uuid::Uuid;

use super::*;
use crate::CoreError;

fn meta(kind: RecordKind) -> RecordMeta {
    RecordMeta {
        kind,
        id: Uuid::new_v4(),
        scope: Scope::partnership("p1").with_neighborhood("east"),
        form: kind.needs_form().then(|| FormRef {
            id: "household_survey".into(),
            version: 1,
        }),
        created_by: "worker-1".into(),
        created_at: 100,
    }
}

fn child(age: i64) -> Answers {
    let mut a = Answers::new();
    a.set("age_years", age);
    a
}

fn survey() -> RecordDoc {
    let mut answers = Answers::new();
    answers
        .set("consent", "yes")
        .set_repeat("child", vec![child(4), child(9)]);
    RecordDoc::create(
        meta(RecordKind::Response),
        &answers,
        &Commit::new("worker-1", "Started survey").at(100),
        None,
    )
    .unwrap()
}

#[test]
fn create_reads_back_metadata_answers_and_repeats() {
    let mut doc = survey();
    assert_eq!(doc.meta().kind, RecordKind::Response);
    let fields = doc.fields();
    assert_eq!(fields.value("consent"), Some(&Value::from("yes")));
    assert_eq!(fields.repeat("child").len(), 2);
    let path: FieldPath = "child[2]/age_years".parse().unwrap();
    assert_eq!(doc.value(&path).unwrap(), Some(Value::Int(9)));
    // Saved and loaded, the record is the same.
    let bytes = doc.save();
    let loaded = RecordDoc::load(&bytes, [], None).unwrap();
    assert_eq!(loaded.meta(), doc.meta());
    assert_eq!(loaded.fields(), fields);
}

#[test]
fn a_response_must_name_its_form() {
    let mut m = meta(RecordKind::Response);
    m.form = None;
    let err = RecordDoc::create(m, &Answers::new(), &Commit::new("u", "x"), None).unwrap_err();
    assert!(err.to_string().contains("must name the form"), "{err}");
}

#[test]
fn unchanged_answers_make_no_change_and_failed_edits_keep_nothing() {
    let mut doc = survey();
    let same = doc.fields();
    let change = doc
        .edit(&Commit::new("u", "save"), |e| e.replace_answers(&same))
        .unwrap();
    assert!(
        change.is_none(),
        "rewriting the same answers must not commit"
    );
    let err = doc.edit(&Commit::new("u", "bad"), |e| {
        e.set_field("consent", "no")?;
        e.set(&"child[7]/age_years".parse().unwrap(), 3)
    });
    assert!(matches!(err, Err(CoreError::BadPath { .. })));
    assert_eq!(doc.fields().value("consent"), Some(&Value::from("yes")));
}

#[test]
fn replace_answers_adds_and_removes_repeat_instances() {
    let mut doc = survey();
    let mut next = doc.fields();
    next.set_repeat("child", vec![child(4), child(10), child(15)]);
    next.remove("consent");
    doc.edit(&Commit::new("u", "edit"), |e| e.replace_answers(&next))
        .unwrap()
        .unwrap();
    assert_eq!(doc.fields(), next);
    next.set_repeat("child", vec![child(4)]);
    doc.edit(&Commit::new("u", "edit"), |e| e.replace_answers(&next))
        .unwrap()
        .unwrap();
    assert_eq!(doc.fields().repeat("child"), &[child(4)]);
}

#[test]
fn concurrent_writes_are_conflicts_until_resolved_and_history_tells_who() {
    let mut a = survey();
    let mut b = RecordDoc::load(&a.save(), [], None).unwrap();
    let age = FieldPath::in_repeat("child", 0, "age_years");
    a.edit(&Commit::new("ana", "fix age").at(200), |e| e.set(&age, 5))
        .unwrap();
    b.edit(&Commit::new("ben", "fix age").at(201), |e| e.set(&age, 6))
        .unwrap();
    b.edit(&Commit::new("ben", "consent").at(202), |e| {
        e.set_field("consent", "no")
    })
    .unwrap();
    let from_b = b.changes_since(&[]);
    a.apply_changes(from_b).unwrap();
    assert!(a.has_conflicts());
    let conflicts = a.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "child[1]/age_years");
    let mut seen: Vec<(String, Value)> = conflicts[0]
        .values
        .iter()
        .map(|v| (v.author.clone(), v.value.clone()))
        .collect();
    seen.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        seen,
        vec![("ana".into(), Value::Int(5)), ("ben".into(), Value::Int(6))]
    );
    assert_eq!(conflicts[0].values.iter().filter(|v| v.shown).count(), 1);

    a.resolve(
        &age,
        Value::Int(5),
        &Commit::new("sup", "resolve").at(300),
        "birth certificate",
    )
    .unwrap()
    .unwrap();
    assert!(!a.has_conflicts());
    assert_eq!(a.value(&age).unwrap(), Some(Value::Int(5)));
    let (doc, _) = a.parts();
    let list = doc.get(automerge::ROOT, "resolutions").unwrap().unwrap().1;
    let entry = doc.get(&list, 0).unwrap().unwrap().1;
    let by = doc
        .get(&entry, "by")
        .unwrap()
        .unwrap()
        .0
        .as_str()
        .map(String::from);
    assert_eq!(by.as_deref(), Some("sup"));
    let discarded = doc.get(&entry, "discarded").unwrap().unwrap().0;
    assert_eq!(discarded.as_str(), Some("[6]"));

    let history = a.history();
    assert_eq!(history.len(), 5);
    assert!(history[0].created && history[0].author == "worker-1");
    assert!(history[0].fields.contains(&"consent".to_string()));
    let last = history.last().unwrap();
    assert_eq!((last.author.as_str(), last.time), ("sup", 300));
    assert_eq!(last.fields, vec!["child[1]/age_years".to_string()]);
    let ben: Vec<_> = history.iter().filter(|h| h.author == "ben").collect();
    assert!(ben.iter().any(|h| h.fields == vec!["consent".to_string()]));
}

#[test]
fn changes_that_touch_metadata_or_root_are_refused() {
    let mut doc = survey();
    let mut evil = RecordDoc::load(&doc.save(), [], None).unwrap();
    let am = evil.automerge();
    let meta_obj = am.get(automerge::ROOT, "meta").unwrap().unwrap().1;
    am.put(&meta_obj, "partnership", "other").unwrap();
    am.commit();
    let forged = am.get_changes(&doc.heads());
    let err = doc.apply_changes(forged).unwrap_err();
    assert!(
        matches!(&err, CoreError::ImmutableMetadata { field, .. } if field == "meta.partnership"),
        "{err}"
    );
    let am = evil.automerge();
    let heads = am.get_heads();
    am.put_object(automerge::ROOT, "data", automerge::ObjType::Map)
        .unwrap();
    am.commit();
    let forged = am.get_changes(&heads);
    assert!(matches!(
        doc.apply_changes(forged),
        Err(CoreError::ImmutableMetadata { .. })
    ));
    assert_eq!(doc.meta().scope.partnership, "p1");
}

#[test]
fn a_record_from_changes_needs_its_creation() {
    let mut doc = survey();
    doc.edit(&Commit::new("u", "x"), |e| e.set_field("consent", "no"))
        .unwrap();
    let all = doc.changes_since(&[]);
    let rebuilt = RecordDoc::from_changes(all.clone(), None).unwrap();
    assert_eq!(rebuilt.fields(), doc.fields());
    let err = RecordDoc::from_changes(all[1..].to_vec(), None).unwrap_err();
    assert!(err.to_string().contains("creating change"), "{err}");
}

#[test]
fn a_record_loads_from_its_raw_changes_concatenated() {
    let mut doc = survey();
    doc.edit(&Commit::new("u", "x"), |e| e.set_field("consent", "no"))
        .unwrap();
    let raw: Vec<u8> = doc
        .changes_since(&[])
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let loaded = RecordDoc::load(&raw, [], None).unwrap();
    assert_eq!(loaded.fields(), doc.fields());
    assert_eq!(loaded.meta(), doc.meta());
}
