//! Fuzzing of everything that decodes outside input, with proptest so that CI runs it
//! within a bounded number of cases (`FUZZ_CASES`, default 256 per target; see
//! `docs/reliability.md` for a long run). Inputs are arbitrary bytes and mutations
//! (byte flips, insertions, truncations) of valid inputs: the seed instruments in
//! `crates/forms/instruments/`, bodies built from real records, and the corpus kept in
//! `tests/fuzz/corpus/` (push bodies, XLSForm expressions; add an input there when a
//! run finds one worth keeping).
//!
//! The bar for every target: no panic, and a clear error rather than a partial effect.

use std::sync::OnceLock;

use forms::{Answers, Form};
use proptest::prelude::*;
use server::auth::{Caller, Role};
use server::storage::Storage;
use sync_core::protocol::{
    decode_body, encode_body, Bytes, PullRequest, PushRequest, PushStatus, PushedChange,
    PROTOCOL_VERSION,
};
use sync_core::{Commit, RecordDoc, RecordKind, RecordMeta, Scope};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// One edit of a mutation: overwrite, insert or delete a byte at a position (taken
/// modulo the input's length).
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit], cut: Option<usize>) -> Vec<u8> {
    for e in edits {
        let n = bytes.len();
        match *e {
            Edit::Set(i, b) if n > 0 => bytes[i % n] = b,
            Edit::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Edit::Delete(i) if n > 0 => {
                bytes.remove(i % n);
            }
            _ => {}
        }
    }
    if let Some(c) = cut {
        let n = bytes.len();
        bytes.truncate(c % (n + 1));
    }
    bytes
}

fn scope() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

/// A household survey response's creating change and a later edit of it: the same
/// bytes for the same seed (id, actor and times fixed), so a failing case replays.
fn response_changes(seed: u64) -> (uuid::Uuid, Vec<automerge::Change>) {
    let at = |mut commit: Commit| {
        commit.time = 1_700_000_000;
        commit
    };
    let meta = RecordMeta {
        kind: RecordKind::Response,
        id: uuid::Uuid::from_u64_pair(seed, 1),
        scope: scope(),
        form: Some(sync_core::FormRef {
            id: "household_survey".into(),
            version: 1,
        }),
        created_by: "w".into(),
        created_at: 1_700_000_000,
    };
    let answers = scenarios::household_survey_answers(seed);
    let actor = automerge::ActorId::from(seed.to_be_bytes().as_slice());
    let mut doc = RecordDoc::create(
        meta,
        &answers,
        &at(Commit::new("w", "Started")),
        Some(actor),
    )
    .unwrap();
    let mut changes = doc.changes_since(&[]);
    let edit = doc
        .edit(&at(Commit::new("w", "Answered")), |e| {
            e.set_field("home_internet", "no")
        })
        .unwrap();
    changes.extend(edit);
    (doc.id(), changes)
}

fn valid_push_json() -> Vec<u8> {
    let (id, changes) = response_changes(7);
    serde_json::to_vec(&PushRequest {
        v: PROTOCOL_VERSION,
        changes: changes
            .iter()
            .map(|c| PushedChange {
                record: id,
                change: Bytes(c.raw_bytes().to_vec()),
            })
            .collect(),
    })
    .unwrap()
}

/// The corpus directory kept in the repository.
fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// Every push body of the corpus (`tests/fuzz/corpus/push/*.json`), sorted by name.
fn corpus_push_bodies() -> &'static Vec<Vec<u8>> {
    static BODIES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let mut paths: Vec<_> = std::fs::read_dir(corpus_dir().join("push"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

/// Every expression of the corpus (`tests/fuzz/corpus/expressions.txt`).
fn corpus_expressions() -> &'static Vec<String> {
    static EXPRESSIONS: OnceLock<Vec<String>> = OnceLock::new();
    EXPRESSIONS.get_or_init(|| {
        std::fs::read_to_string(corpus_dir().join("expressions.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Writes the corpus's generated push bodies (a real response's changes; the same with
/// an altered checksum, the second bug the fuzzing found). Run by hand when the change
/// format moves: `cargo test -p scenarios --test fuzz write_push_corpus -- --ignored`.
#[test]
#[ignore = "writes files into the repository's corpus"]
fn write_push_corpus() {
    let dir = corpus_dir().join("push");
    std::fs::write(dir.join("valid_response.json"), valid_push_json()).unwrap();
    let (id, changes) = response_changes(11);
    let mut bytes = changes[0].raw_bytes().to_vec();
    bytes[5] ^= 0xff;
    let altered = PushRequest {
        v: PROTOCOL_VERSION,
        changes: vec![PushedChange {
            record: id,
            change: Bytes(bytes),
        }],
    };
    std::fs::write(
        dir.join("bad_checksum.json"),
        serde_json::to_vec(&altered).unwrap(),
    )
    .unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// One server storage for the whole run (opening one per case would dominate).
fn storage() -> &'static (tempfile::TempDir, Storage) {
    static STORAGE: OnceLock<(tempfile::TempDir, Storage)> = OnceLock::new();
    STORAGE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        (dir, storage)
    })
}

fn storage_dir() -> &'static std::path::Path {
    storage().0.path()
}

fn caller() -> Caller {
    Caller {
        user_id: "u-fuzz".into(),
        username: "fuzz".into(),
        role: Role::OutreachWorker,
        scope: Some(scope()),
        device_id: "d-fuzz".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Arbitrary bytes as a request body, gzip or not.
    #[test]
    fn envelope_of_arbitrary_bytes_is_a_clear_error(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_body::<PushRequest>(&bytes, Some("gzip"));
        let _ = decode_body::<PullRequest>(&bytes, None);
        prop_assert!(decode_body::<PushRequest>(&gzip(&bytes), Some("gzip")).is_err()
            || serde_json::from_slice::<PushRequest>(&bytes).is_ok());
    }

    /// A valid push body, mutated before or after compression.
    #[test]
    fn mutated_push_bodies_decode_or_fail_cleanly(
        edits in prop::collection::vec(edit(), 0..12),
        cut in prop::option::of(any::<usize>()),
        after_gzip in any::<bool>(),
    ) {
        let json = valid_push_json();
        let body = if after_gzip {
            mutate(gzip(&json), &edits, cut)
        } else {
            gzip(&mutate(json, &edits, cut))
        };
        if let Ok(request) = decode_body::<PushRequest>(&body, Some("gzip")) {
            // What decodes must encode and decode again to the same message.
            let again: PushRequest = decode_body(&encode_body(&request), Some("gzip")).unwrap();
            prop_assert_eq!(again, request);
        }
    }

    /// Pushed changes whose bytes are mutated: every item gets a result, nothing panics,
    /// and the log grows by exactly the accepted changes.
    #[test]
    fn push_of_mutated_changes_answers_every_item(
        seed in 0u64..1_000,
        edits in prop::collection::vec(edit(), 0..8),
        which in 0usize..2,
        cut in prop::option::of(any::<usize>()),
    ) {
        let (_, storage) = storage();
        let (id, changes) = response_changes(seed);
        let mut items: Vec<PushedChange> = changes
            .iter()
            .map(|c| PushedChange { record: id, change: Bytes(c.raw_bytes().to_vec()) })
            .collect();
        let target = which % items.len();
        let original = items[target].change.0.clone();
        items[target].change = Bytes(mutate(original, &edits, cut));
        let before = storage.change_count().unwrap();
        let results = storage.push(&caller(), items.clone()).unwrap();
        prop_assert_eq!(results.len(), items.len());
        let accepted = results.iter().filter(|r| r.status == PushStatus::Accepted).count() as i64;
        prop_assert_eq!(storage.change_count().unwrap(), before + accepted);
        for r in &results {
            if r.status == PushStatus::Rejected {
                prop_assert!(r.reason.as_deref().is_some_and(|s| !s.is_empty()));
            }
        }
        // What was accepted loads back from the file (a fresh storage, no cache).
        let cold = Storage::open(storage_dir()).unwrap();
        prop_assert!(cold.record_doc(id).is_ok(), "{:?}", cold.record_doc(id).err());
    }

    /// A seed instrument's JSON, mutated: parsing, compiling and validating never panic.
    #[test]
    fn mutated_form_definitions_import_or_fail_cleanly(
        which in 0usize..3,
        edits in prop::collection::vec(edit(), 0..8),
        cut in prop::option::of(any::<usize>()),
    ) {
        let source = forms::instruments::SEED_SOURCES[which].1.as_bytes().to_vec();
        let text = String::from_utf8_lossy(&mutate(source, &edits, cut)).into_owned();
        if let Ok(form) = Form::from_json(&text) {
            if let Ok(compiled) = form.compile() {
                let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
                let _ = compiled.validate(&scenarios::household_survey_answers(3), "es", today);
                let _ = compiled.validate(&Answers::new(), "en", today);
            }
        }
    }

    /// An instrument's XLSForm workbook, mutated (zip directory, compressed parts, cut
    /// short): reading it gives a form or errors, never a panic or a hang.
    #[test]
    fn mutated_workbooks_read_or_fail_cleanly(
        which in 0usize..3,
        edits in prop::collection::vec(edit(), 1..6),
        cut in prop::option::of(any::<usize>()),
    ) {
        let names = ["household_survey", "literacy_checkin", "case_note"];
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/forms/instruments")
            .join(format!("{}.xlsx", names[which]));
        let bytes = mutate(std::fs::read(path).unwrap(), &edits, cut);
        match forms::xlsform::read_xlsx(&bytes) {
            Ok(form) => { let _ = form.compile(); }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// A corpus push body, mutated, plain or gzip: it decodes or fails with a clear
    /// error; what decodes goes through the real push, which answers every item and
    /// grows the log by exactly the accepted changes.
    #[test]
    fn mutated_corpus_push_bodies_are_handled_cleanly(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..8),
        cut in prop::option::of(any::<usize>()),
        gzipped in any::<bool>(),
    ) {
        let bodies = corpus_push_bodies();
        let body = mutate(which.get(bodies).clone(), &edits, cut);
        let decoded = if gzipped {
            decode_body::<PushRequest>(&gzip(&body), Some("gzip"))
        } else {
            decode_body::<PushRequest>(&body, None)
        };
        if let Ok(request) = decoded {
            let (_, storage) = storage();
            let before = storage.change_count().unwrap();
            let results = storage.push(&caller(), request.changes.clone()).unwrap();
            prop_assert_eq!(results.len(), request.changes.len());
            let accepted = results.iter().filter(|r| r.status == PushStatus::Accepted).count() as i64;
            prop_assert_eq!(storage.change_count().unwrap(), before + accepted);
        }
    }

    /// A corpus expression, mutated: parsing and compiling return a value or a
    /// positioned error whose message can be shown, never a panic.
    #[test]
    fn mutated_corpus_expressions_parse_or_fail_cleanly(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..6),
        cut in prop::option::of(any::<usize>()),
    ) {
        let source = which.get(corpus_expressions()).as_bytes().to_vec();
        let text = String::from_utf8_lossy(&mutate(source, &edits, cut)).into_owned();
        match forms::expr::parse(&text) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = forms::expr::compile(&text, &|name| name.len() % 2 == 0);
    }
}
