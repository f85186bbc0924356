use forms::{Answers, Value};
use tempfile::TempDir;

use super::*;

fn scope() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

fn household(name: &str) -> Answers {
    let mut a = Answers::new();
    a.set("name", name).set("address", "12 Elm St");
    a
}

fn open(dir: &TempDir, name: &str, cache: usize) -> Store {
    let options = StoreOptions {
        cache_capacity: cache,
        compact_after: 4,
        ..StoreOptions::default()
    };
    Store::open_with(dir.path().join(name), options).unwrap()
}

#[test]
fn records_survive_reopen_with_the_same_actor() {
    let dir = TempDir::new().unwrap();
    let (id, actor) = {
        let mut store = open(&dir, "a.db", 8);
        let id = store
            .create(
                RecordKind::Household,
                scope(),
                None,
                &household("Lopez"),
                &Commit::new("w1", "Enrolled"),
            )
            .unwrap();
        (id, store.actor().clone())
    };
    let mut store = open(&dir, "a.db", 8);
    assert_eq!(store.actor(), &actor);
    assert_eq!(
        store.fields(id).unwrap().value("name"),
        Some(&Value::from("Lopez"))
    );
    assert_eq!(store.meta(id).unwrap().scope, scope());
    let version: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
}

#[test]
fn writes_to_records_out_of_memory_are_compacted_and_kept() {
    let dir = TempDir::new().unwrap();
    let mut store = open(&dir, "a.db", 1);
    let ids: Vec<Uuid> = (0..3)
        .map(|i| {
            store
                .create(
                    RecordKind::Household,
                    scope(),
                    None,
                    &household(&format!("h{i}")),
                    &Commit::new("w1", "Enrolled"),
                )
                .unwrap()
        })
        .collect();
    // Cache holds one document: every update below reloads from the file.
    for round in 0..10 {
        for id in &ids {
            let changed = store
                .set(
                    *id,
                    &FieldPath::field("visits"),
                    round as i64,
                    &Commit::new("w1", "Visit"),
                )
                .unwrap();
            assert!(changed);
        }
    }
    drop(store);
    let mut store = open(&dir, "a.db", 1);
    for id in &ids {
        assert_eq!(
            store.fields(*id).unwrap().value("visits"),
            Some(&Value::Int(9))
        );
        assert_eq!(store.history(*id).unwrap().len(), 11);
    }
    let chunks: i64 = store
        .conn
        .query_row("SELECT max(chunk_count) FROM records", [], |r| r.get(0))
        .unwrap();
    assert!(
        chunks < 4,
        "chunks are folded into the snapshot, found {chunks}"
    );
    assert_eq!(store.outbox_len().unwrap(), 33);
}

#[test]
fn the_outbox_drains_on_acknowledgement_and_a_failed_edit_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let mut store = open(&dir, "a.db", 8);
    let id = store
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Kim"),
            &Commit::new("w1", "Enrolled"),
        )
        .unwrap();
    let err = store.update(id, &Commit::new("w1", "bad"), |e| {
        e.set_field("name", "Park")?;
        e.set(&"kids[3]/age".parse()?, 4)
    });
    assert!(err.is_err());
    assert_eq!(
        store.fields(id).unwrap().value("name"),
        Some(&Value::from("Kim"))
    );
    assert_eq!(store.outbox_len().unwrap(), 1);
    let items = store.outbox(10).unwrap();
    assert_eq!(items[0].record_id, id);
    assert_eq!(store.acknowledge(&[items[0].hash]).unwrap(), 1);
    assert_eq!(store.acknowledge(&[items[0].hash]).unwrap(), 0);
    assert_eq!(store.outbox_len().unwrap(), 0);
}

#[test]
fn remote_pages_apply_with_their_cursor_and_repeat_harmlessly() {
    let dir = TempDir::new().unwrap();
    let mut phone = open(&dir, "phone.db", 8);
    let mut staff = open(&dir, "staff.db", 8);
    let id = phone
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Diaz"),
            &Commit::new("w1", "Enrolled"),
        )
        .unwrap();
    phone
        .set(id, &FieldPath::field("size"), 4, &Commit::new("w1", "Size"))
        .unwrap();
    let changes: Vec<Change> = phone
        .outbox(10)
        .unwrap()
        .into_iter()
        .map(|i| Change::from_bytes(i.bytes).unwrap())
        .collect();
    let report = staff
        .apply_remote(vec![(id, changes.clone())], &[], Some("7"))
        .unwrap();
    assert_eq!((report.created, report.new_changes), (1, 2));
    assert_eq!(staff.cursor().unwrap().as_deref(), Some("7"));
    let again = staff
        .apply_remote(vec![(id, changes)], &[], Some("8"))
        .unwrap();
    assert_eq!(again.new_changes, 0);
    assert_eq!(staff.fields(id).unwrap(), phone.fields(id).unwrap());
    assert_eq!(
        staff.outbox_len().unwrap(),
        0,
        "remote changes are not ours to push"
    );
    let listed = staff
        .list(&RecordFilter {
            kind: Some(RecordKind::Household),
            scope: Some(Scope::partnership("p1")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].fields.value("size"), Some(&Value::Int(4)));
    let other = staff
        .list(&RecordFilter {
            scope: Some(scope().with_family("f9")),
            ..Default::default()
        })
        .unwrap();
    assert!(other.is_empty());
}

#[test]
fn a_page_with_a_forged_change_is_refused_whole() {
    let dir = TempDir::new().unwrap();
    let mut phone = open(&dir, "phone.db", 8);
    let mut staff = open(&dir, "staff.db", 8);
    let id = phone
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Diaz"),
            &Commit::new("w1", "Enrolled"),
        )
        .unwrap();
    let creation = phone.with_record(id, |d| d.changes_since(&[])).unwrap();
    staff
        .apply_remote(vec![(id, creation)], &[], Some("1"))
        .unwrap();
    let forged = phone
        .with_record(id, |d| {
            let heads = d.heads();
            let am = d.automerge();
            let meta = automerge::ReadDoc::get(am, automerge::ROOT, "meta")
                .unwrap()
                .unwrap()
                .1;
            automerge::transaction::Transactable::put(am, &meta, "kind", "case_note").unwrap();
            am.commit();
            am.get_changes(&heads)
        })
        .unwrap();
    let err = staff
        .apply_remote(vec![(id, forged)], &[], Some("2"))
        .unwrap_err();
    assert!(matches!(err, CoreError::ImmutableMetadata { .. }));
    assert_eq!(staff.cursor().unwrap().as_deref(), Some("1"));
    assert_eq!(staff.meta(id).unwrap().kind, RecordKind::Household);
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.db");
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Store::open(&path).err().unwrap();
    assert!(err.to_string().contains("update the app"), "{err}");
}

#[test]
fn a_tombstone_removes_the_record_and_its_unsent_changes() {
    let dir = TempDir::new().unwrap();
    let mut phone = open(&dir, "phone.db", 8);
    let gone = phone
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Diaz"),
            &Commit::new("w1", "Enrolled"),
        )
        .unwrap();
    let kept = phone
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Kim"),
            &Commit::new("w1", "Enrolled"),
        )
        .unwrap();
    let report = phone.apply_remote(vec![], &[gone], Some("9")).unwrap();
    assert_eq!(report.removed, 1);
    assert!(!phone.contains(gone).unwrap());
    assert!(matches!(phone.fields(gone), Err(CoreError::NotFound(_))));
    assert!(phone.contains(kept).unwrap());
    let outbox = phone.outbox(10).unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].record_id, kept);
    assert_eq!(phone.cursor().unwrap().as_deref(), Some("9"));
}
