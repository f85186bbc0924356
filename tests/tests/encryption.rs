//! Encryption at rest on the device: a store opened with a key (SQLCipher) holds none
//! of its answers in plain text, in the database file or its write-ahead log, even
//! while open; the wrong key, or none, fails with a clear error and changes nothing;
//! the right key opens it again, and an encrypted store syncs like any other.

use std::path::Path;

use scenarios::device::{all_records, sync, user_signed_in};
use scenarios::server::TestServer;
use serde_json::json;
use sync_core::{Answers, Commit, CoreError, RecordKind, Scope, Store, StoreOptions};

const KEY: &str = "9f2c1e0b7a6d4c3b2a19087f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b";
const SECRET: &str = "Ximenabrook Household";
const ADDRESS: &str = "77 Cipherwood Terrace";

fn open(path: &Path, key: Option<&str>) -> Result<Store, CoreError> {
    Store::open_with(
        path,
        StoreOptions {
            key: key.map(str::to_string),
            ..StoreOptions::default()
        },
    )
}

/// The store's files (the database, its log) that hold `needle` in plain text.
fn leaks(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[tokio::test]
async fn an_encrypted_store_holds_no_plaintext_and_refuses_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("stores");
    std::fs::create_dir_all(&stores).unwrap();
    let path = stores.join("phone.db");
    let scope = Scope::partnership("p1").with_neighborhood("east");
    // The server the store syncs with at the end: its user is the records' author.
    let server = TestServer::start(&dir.path().join("server"));
    let url = server.url();
    let ana = user_signed_in(
        &url,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;

    let mut store = open(&path, Some(KEY)).unwrap();
    let mut fields = Answers::new();
    fields.set("name", SECRET).set("address", ADDRESS);
    let id = store
        .create(
            RecordKind::Household,
            scope.clone(),
            None,
            &fields,
            &Commit::new(&ana.user_id, "Enrolled"),
        )
        .unwrap();
    // While open, with the log not yet folded in, and after closing.
    for needle in [SECRET, ADDRESS] {
        assert_eq!(
            leaks(&stores, needle),
            Vec::<String>::new(),
            "open: {needle}"
        );
    }
    drop(store);
    for needle in [SECRET, ADDRESS, "household"] {
        assert_eq!(
            leaks(&stores, needle),
            Vec::<String>::new(),
            "closed: {needle}"
        );
    }
    // A plain store, for contrast: the same answers are readable in its file.
    let plain = stores.join("plain.db");
    let mut p = open(&plain, None).unwrap();
    p.create(
        RecordKind::Household,
        scope.clone(),
        None,
        &fields,
        &Commit::new(&ana.user_id, "x"),
    )
    .unwrap();
    drop(p);
    assert!(
        !leaks(&stores, ADDRESS).is_empty(),
        "the search finds plain text"
    );
    std::fs::remove_file(&plain).unwrap();
    let _ = std::fs::remove_file(stores.join("plain.db-wal"));
    let _ = std::fs::remove_file(stores.join("plain.db-shm"));

    // The wrong key, or none: a clear error, and the file is untouched.
    let before = std::fs::read(&path).unwrap();
    for key in [Some("not the key"), None] {
        match open(&path, key) {
            Err(CoreError::WrongKey) => {}
            Err(other) => panic!("{key:?}: {other}"),
            Ok(_) => panic!("{key:?} opened the store"),
        }
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let message = CoreError::WrongKey.to_string();
    assert!(message.contains("key is wrong"), "{message}");

    // The right key opens it, and it syncs.
    let store = std::sync::Mutex::new(open(&path, Some(KEY)).unwrap());
    assert_eq!(
        store.lock().unwrap().fields(id).unwrap().value("address"),
        Some(&sync_core::Value::from(ADDRESS))
    );
    let report = sync(&store, &url, &ana.token).await.unwrap();
    assert_eq!(report.pushed, 1, "{report:?}");
    assert_eq!(all_records(&store).len(), 1);
    drop(store);
    assert_eq!(
        leaks(&stores, ADDRESS),
        Vec::<String>::new(),
        "after a sync"
    );
}
