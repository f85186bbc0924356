//! Attachments end to end: a 20 MiB photo uploaded through a byte-counting proxy from a
//! real device store to a real server process, the connection dropped once half of it
//! went up, the phone's store reopened, and the next sync resuming where the server
//! stands: the first half is not sent again (bytes measured at the socket), the server
//! holds the exact bytes and the device marks the attachment uploaded.

use std::time::Duration;

use scenarios::device::{device, test_config, user_signed_in, SignedIn};
use scenarios::on_both_databases;
use scenarios::proxy::Proxy;
use scenarios::server::{Database, TestServer};
use scenarios::Seeded;
use serde_json::json;
use sync_core::record::FieldPath;
use sync_core::sync::{CancellationToken, NoProgress, SyncClient, SyncConfig, SyncError};
use sync_core::{Answers, Commit, RecordKind, Scope};

on_both_databases!(
    a_20_mib_upload_cut_at_half_way_resumes_without_sending_the_first_half_again,
    a_cut_inside_one_sync_is_retried_from_the_servers_offset,
);

/// The photo's size: 20 MiB.
const SIZE: usize = 20 * 1024 * 1024;
/// The client's chunk (the default, 1 MiB).
const CHUNK: u64 = 1024 * 1024;
/// What a sync sends up besides attachment bytes: HTTP headers of a few dozen requests,
/// the record's push, the begin requests, the pull. A few KiB in practice; the bound
/// leaves room without hiding a resent chunk (1 MiB).
const OVERHEAD: u64 = 256 * 1024;

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Seeded::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// (received, complete) of the server's upload of `sha256`.
fn server_upload(server: &TestServer, sha256: &str) -> Option<(u64, bool)> {
    let received: Vec<i64> = server.column(&format!(
        "SELECT received FROM attachments WHERE sha256 = '{sha256}'"
    ));
    let complete: Vec<bool> = server.column(&format!(
        "SELECT complete FROM attachments WHERE sha256 = '{sha256}'"
    ));
    Some((*received.first()? as u64, *complete.first()?))
}

/// The server's bytes of `sha256`, its chunks in order.
fn server_bytes(server: &TestServer, sha256: &str) -> Vec<u8> {
    let chunks: Vec<Vec<u8>> = server.column(&format!(
        "SELECT bytes FROM attachment_chunks WHERE sha256 = '{sha256}' ORDER BY \"offset\""
    ));
    chunks.concat()
}

async fn sync_with(
    store: &std::sync::Mutex<sync_core::Store>,
    url: &str,
    token: &str,
    config: SyncConfig,
) -> Result<sync_core::sync::SyncReport, SyncError> {
    SyncClient::new(url, token, config)?
        .sync(store, &NoProgress, &CancellationToken::new())
        .await
}

async fn a_20_mib_upload_cut_at_half_way_resumes_without_sending_the_first_half_again(
    db: Database,
) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(
        &server.url(),
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;

    // A household whose consent photo is 20 MiB of random bytes (incompressible).
    let photo = random_bytes(SIZE, 7);
    let phone = device(dir.path(), "phone");
    let (id, name) = {
        let mut store = phone.lock().unwrap();
        let mut a = Answers::new();
        a.set("address", "12 Elm St");
        let id = store
            .create(
                RecordKind::Household,
                Scope::partnership("p1").with_neighborhood("east"),
                None,
                &a,
                &Commit::new(&ana, "Enrolled"),
            )
            .unwrap();
        let name = store.add_attachment(id, "consent.JPG", &photo).unwrap();
        let path: FieldPath = "consent_photo".parse().unwrap();
        store
            .set(id, &path, name.clone(), &Commit::new(&ana, "Photo"))
            .unwrap();
        (id, name)
    };
    let sha = name[..64].to_string();
    assert!(name.ends_with(".jpg"), "{name}");

    // First sync: one attempt per request, and the connection dropped once half the
    // photo went up. The sync ends offline; the record's push went through before.
    proxy.reset_counts();
    proxy.cut_next_request_after(SIZE as u64 / 2);
    let first = sync_with(
        &phone,
        &proxy.url(),
        &token,
        SyncConfig {
            attempts: 1,
            ..test_config()
        },
    )
    .await;
    assert!(matches!(first, Err(SyncError::Offline { .. })), "{first:?}");
    let up_first = proxy.bytes_up();
    assert_eq!(
        proxy.state.cuts.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert!(
        server.column::<i64>(&format!("SELECT COUNT(*) FROM records WHERE id = '{id}'"))[0] == 1,
        "the record's changes went first"
    );
    // The server kept every whole chunk before the cut, nothing of the cut one.
    let (held, complete) = server_upload(&server, &sha).expect("the upload was begun");
    assert!(!complete);
    assert_eq!(held % CHUNK, 0, "only whole chunks are kept: {held}");
    assert!(
        held + CHUNK + OVERHEAD >= SIZE as u64 / 2 && held < SIZE as u64 / 2,
        "the server holds {held} bytes after a cut at {}",
        SIZE / 2
    );
    assert_eq!(server_bytes(&server, &sha), photo[..held as usize]);

    // The phone's app is killed and started again: the store is reopened.
    drop(phone);
    let phone = device(dir.path(), "phone");
    let pending = phone.lock().unwrap().pending_attachments().unwrap();
    assert_eq!(pending.len(), 1, "still waiting for the server");

    // Second sync: it asks the server how much it holds and sends only the rest.
    proxy.reset_counts();
    let report = sync_with(&phone, &proxy.url(), &token, test_config())
        .await
        .unwrap();
    let up_second = proxy.bytes_up();
    let rest = SIZE as u64 - held;
    assert_eq!(report.attachments_uploaded, 1);
    assert_eq!(
        report.attachment_bytes, rest,
        "exactly what the server lacked"
    );
    assert!(
        up_second >= rest && up_second < rest + OVERHEAD,
        "the resumed sync sent {up_second} bytes up for {rest} missing"
    );
    // Over both attempts: the photo once, plus at most the chunk that was cut.
    let total = up_first + up_second;
    assert!(
        total < SIZE as u64 + CHUNK + 2 * OVERHEAD && total < SIZE as u64 * 11 / 10,
        "{total} bytes up in all for a {SIZE}-byte photo"
    );
    println!(
        "attachment e2e: size {SIZE}, held after cut {held}, up first {up_first}, \
         up second {up_second}, total up {total} ({:.3} x size)",
        total as f64 / SIZE as f64
    );

    // The server holds the exact bytes, checked; the phone knows it.
    assert_eq!(server_upload(&server, &sha), Some((SIZE as u64, true)));
    assert!(
        server_bytes(&server, &sha) == photo,
        "the server's bytes differ"
    );
    assert!(phone
        .lock()
        .unwrap()
        .pending_attachments()
        .unwrap()
        .is_empty());

    // A third sync sends no attachment byte.
    proxy.reset_counts();
    let again = sync_with(&phone, &proxy.url(), &token, test_config())
        .await
        .unwrap();
    assert_eq!((again.attachments_uploaded, again.attachment_bytes), (0, 0));
    assert!(proxy.bytes_up() < OVERHEAD);
    assert!(!server.log_has_panic());
}

async fn a_cut_inside_one_sync_is_retried_from_the_servers_offset(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(
        &server.url(),
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    let size = 3 * 1024 * 1024 + 123;
    let photo = random_bytes(size, 11);
    let phone = device(dir.path(), "phone");
    let name = {
        let mut store = phone.lock().unwrap();
        let id = store
            .create(
                RecordKind::Household,
                Scope::partnership("p1").with_neighborhood("east"),
                None,
                &Answers::new(),
                &Commit::new(&ana, "Enrolled"),
            )
            .unwrap();
        let name = store.add_attachment(id, "sig.png", &photo).unwrap();
        store
            .set(
                id,
                &"signature".parse().unwrap(),
                name.clone(),
                &Commit::new(&ana, "Signed"),
            )
            .unwrap();
        name
    };
    // Cut twice in one sync (the second cut is armed once the first fired): the
    // client's retries go on where the server stands.
    proxy.reset_counts();
    proxy.cut_next_request_after(1_500_000);
    let cutter = {
        let state = proxy.state.clone();
        tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            while state.cuts.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            state.cut_request_after.store(700_000, Ordering::SeqCst);
        })
    };
    let report = sync_with(&phone, &proxy.url(), &token, test_config())
        .await
        .unwrap();
    cutter.await.unwrap();
    assert_eq!(report.attachments_uploaded, 1);
    assert!(proxy.state.cuts.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let sha = &name[..64];
    assert_eq!(server_upload(&server, sha), Some((size as u64, true)));
    assert!(server_bytes(&server, sha) == photo);
    // At most two cut chunks sent again.
    assert!(
        proxy.bytes_up() < size as u64 + 2 * CHUNK + OVERHEAD,
        "{} up for {size}",
        proxy.bytes_up()
    );
    assert!(phone
        .lock()
        .unwrap()
        .pending_attachments()
        .unwrap()
        .is_empty());
}
