//! Convergence: 3 to 5 replicas of one household make random concurrent edits offline
//! and exchange changes in random orders and batches, duplicates included. Every
//! replica must end identical, and every write must be either the visible value of its
//! field or listed among that field's conflicts, unless a later write that knew of it
//! replaced it.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Change, ChangeHash};
use forms::{Answers, Value};
use proptest::prelude::*;
use sync_core::record::FieldPath;
use sync_core::{Commit, RecordDoc, RecordKind, RecordMeta, Scope};
use uuid::Uuid;

/// The fields the replicas write: top-level and inside a repeat instance.
const PATHS: [&str; 5] = ["phone", "address", "size", "member[1]/age", "member[2]/age"];

#[derive(Debug, Clone)]
enum Step {
    /// Replica `replica` writes a fresh value to `PATHS[field]`.
    Write { replica: usize, field: usize },
    /// `to` receives a random selection of `from`'s changes, shuffled, in batches,
    /// some sent twice.
    Exchange {
        from: usize,
        to: usize,
        picks: Vec<(u16, bool)>,
        batch: usize,
    },
}

fn step(replicas: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..replicas, 0..PATHS.len()).prop_map(|(replica, field)| Step::Write { replica, field }),
        2 => (0..replicas, 0..replicas, prop::collection::vec((any::<u16>(), any::<bool>()), 0..12), 1..4usize)
            .prop_map(|(from, to, picks, batch)| Step::Exchange { from, to, picks, batch }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (3..=5usize).prop_flat_map(|n| (Just(n), prop::collection::vec(step(n), 1..40)))
}

struct Write {
    path: String,
    value: Value,
    /// Changes present at the writing replica when it wrote (its causal past).
    knew: BTreeSet<ChangeHash>,
}

fn household() -> RecordDoc {
    let meta = RecordMeta {
        kind: RecordKind::Household,
        id: Uuid::new_v4(),
        scope: Scope::partnership("p").with_neighborhood("n"),
        form: None,
        created_by: "w0".into(),
        created_at: 1,
    };
    let mut member = Answers::new();
    member.set("age", 30);
    let mut fields = Answers::new();
    fields
        .set("phone", "555")
        .set_repeat("member", vec![member.clone(), member]);
    RecordDoc::create(meta, &fields, &Commit::new("w0", "Enrolled").at(1), None).unwrap()
}

/// The visible value of every path, and its conflicting values if any.
fn observed(doc: &mut RecordDoc) -> BTreeMap<String, BTreeSet<String>> {
    let mut seen = BTreeMap::new();
    for path in PATHS {
        let value = doc.value(&path.parse::<FieldPath>().unwrap()).unwrap();
        if let Some(value) = value {
            seen.insert(path.to_string(), BTreeSet::from([format!("{value:?}")]));
        }
    }
    for conflict in doc.conflicts() {
        let values = conflict
            .values
            .iter()
            .map(|v| format!("{:?}", v.value))
            .collect();
        seen.insert(conflict.path, values);
    }
    seen
}

fn run(replicas: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let mut origin = household();
    let saved = origin.save();
    let mut docs: Vec<RecordDoc> = (0..replicas)
        .map(|_| RecordDoc::load(&saved, [], None).unwrap())
        .collect();
    let mut writes: BTreeMap<ChangeHash, Write> = BTreeMap::new();
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            Step::Write { replica, field } => {
                let doc = &mut docs[replica];
                let knew = writes
                    .keys()
                    .filter(|h| doc.has_change(h))
                    .copied()
                    .collect();
                let value = Value::Text(format!("r{replica}-w{n}"));
                let path: FieldPath = PATHS[field].parse().unwrap();
                let change = doc
                    .edit(
                        &Commit::new(format!("u{replica}"), "edit").at(n as i64),
                        |e| e.set(&path, value.clone()),
                    )
                    .unwrap()
                    .expect("a fresh value is a change");
                writes.insert(
                    change.hash(),
                    Write {
                        path: PATHS[field].into(),
                        value,
                        knew,
                    },
                );
            }
            Step::Exchange {
                from,
                to,
                picks,
                batch,
            } => {
                if from == to {
                    continue;
                }
                let all: Vec<Change> = docs[from].changes_since(&[]);
                let mut sent: Vec<Change> = Vec::new();
                for (pick, twice) in picks {
                    let change = all[pick as usize % all.len()].clone();
                    if twice {
                        sent.push(change.clone());
                    }
                    sent.push(change);
                }
                for chunk in sent.chunks(batch) {
                    docs[to].apply_changes(chunk.to_vec()).unwrap();
                }
            }
        }
    }
    // Reconnect everyone: every replica receives every other's changes, in reverse order.
    let everything: Vec<Change> = docs.iter_mut().flat_map(|d| d.changes_since(&[])).collect();
    for doc in &mut docs {
        let mut mine = everything.clone();
        mine.reverse();
        doc.apply_changes(mine).unwrap();
    }

    let mut heads: Vec<Vec<ChangeHash>> = docs
        .iter_mut()
        .map(|d| {
            let mut h = d.heads();
            h.sort();
            h
        })
        .collect();
    heads.dedup();
    prop_assert_eq!(heads.len(), 1, "replicas hold different histories");
    let first = docs[0].fields();
    let first_seen = observed(&mut docs[0]);
    for doc in &mut docs[1..] {
        prop_assert_eq!(&doc.fields(), &first);
        prop_assert_eq!(&observed(doc), &first_seen);
    }

    // Every write not replaced by a later write that knew of it is still visible.
    for (hash, write) in &writes {
        let replaced = writes
            .values()
            .any(|other| other.path == write.path && other.knew.contains(hash));
        let shown = first_seen
            .get(&write.path)
            .is_some_and(|values| values.contains(&format!("{:?}", write.value)));
        prop_assert_eq!(
            shown,
            !replaced,
            "write {:?} to {} visible={} but replaced={}",
            write.value,
            write.path,
            shown,
            replaced
        );
    }
    // And nothing else is: each visible value is a surviving write or the original.
    for (path, values) in &first_seen {
        let live = writes
            .iter()
            .filter(|(h, w)| {
                &w.path == path
                    && !writes
                        .values()
                        .any(|o| o.path == w.path && o.knew.contains(*h))
            })
            .count();
        if live > 0 {
            prop_assert_eq!(values.len(), live, "{} shows {:?}", path, values);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge_and_keep_every_concurrent_write((replicas, steps) in scenario()) {
        run(replicas, steps)?;
    }
}
