//! Uploads, hash checks and limits on one SQLite store.

use sha2::{Digest, Sha256};

use super::*;
use crate::auth::Caller;
use crate::auth::Role;
use crate::storage::Storage;
use sync_core::Scope;

fn setup() -> (tempfile::TempDir, Storage, Caller) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let caller = Caller {
        user_id: "u1".into(),
        username: "ana".into(),
        role: Role::OutreachWorker,
        scope: Some(Scope::partnership("p1")),
        device_id: "d1".into(),
    };
    (dir, storage, caller)
}

fn uploads(s: &Storage) -> i64 {
    s.with_sql(|c| {
        c.row("SELECT count(*) FROM attachments", &[])?
            .map_or(Ok(0), |r| r.get(0))
    })
    .unwrap()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..])
}

fn begin(s: &Storage, c: &Caller, hash: &str, size: u64) -> Result<UploadState, AttachmentError> {
    let new = NewAttachment {
        sha256: hash,
        size,
        record_id: Uuid::new_v4(),
        name: "x.png",
    };
    s.begin_attachment(c, &new, 1000)
}

#[test]
fn chunks_append_only_at_the_offset_and_complete_with_the_right_hash() {
    let (_dir, s, c) = setup();
    let data: Vec<u8> = (0..250u32).map(|i| (i * 7) as u8).collect();
    let h = sha(&data);
    let st = begin(&s, &c, &h, 250).unwrap();
    assert_eq!((st.received, st.complete), (0, false));
    let st = s.append_attachment(&c, &h, 0, &data[..100]).unwrap();
    assert_eq!(st.received, 100);
    // A repeated chunk (its answer lost) and a skipped one are both refused with
    // where the server stands.
    for offset in [0, 150] {
        match s.append_attachment(&c, &h, offset, &data[100..150]) {
            Err(AttachmentError::WrongOffset { received, .. }) => assert_eq!(received, 100),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        s.append_attachment(&c, &h, 100, &[0u8; 151]),
        Err(AttachmentError::PastEnd {
            end: 251,
            size: 250
        })
    ));
    // Beginning again tells where to resume.
    assert_eq!(begin(&s, &c, &h, 250).unwrap().received, 100);
    assert!(s.attachment_bytes(&h).unwrap().is_none(), "unfinished");
    let st = s.append_attachment(&c, &h, 100, &data[100..]).unwrap();
    assert_eq!((st.received, st.complete), (250, true));
    assert_eq!(s.attachment_bytes(&h).unwrap().unwrap(), data);
    // Complete: a late retry is answered, not refused.
    assert!(
        s.append_attachment(&c, &h, 100, &data[100..])
            .unwrap()
            .complete
    );
    assert!(begin(&s, &c, &h, 250).unwrap().complete);
    assert!(matches!(
        begin(&s, &c, &h, 249),
        Err(AttachmentError::Invalid(_))
    ));
}

#[test]
fn a_hash_mismatch_discards_the_upload() {
    let (_dir, s, c) = setup();
    let data = vec![1u8; 64];
    let h = sha(&data);
    begin(&s, &c, &h, 64).unwrap();
    s.append_attachment(&c, &h, 0, &data[..32]).unwrap();
    assert!(matches!(
        s.append_attachment(&c, &h, 32, &[2u8; 32]),
        Err(AttachmentError::HashMismatch(_))
    ));
    assert_eq!(uploads(&s), 0, "discarded");
    assert!(matches!(
        s.append_attachment(&c, &h, 0, &data),
        Err(AttachmentError::NotBegun(_))
    ));
    // Started again, it completes.
    assert_eq!(begin(&s, &c, &h, 64).unwrap().received, 0);
    assert!(s.append_attachment(&c, &h, 0, &data).unwrap().complete);
    let count: i64 = s
        .with_sql(|c| {
            c.row("SELECT count(*) FROM attachment_chunks", &[])?
                .map_or(Ok(0), |r| r.get(0))
        })
        .unwrap();
    assert_eq!(count, 1, "the discarded chunk is gone");
}

#[test]
fn size_limit_bad_hash_and_empty_are_refused() {
    let (_dir, s, c) = setup();
    let h = sha(b"x");
    assert!(matches!(
        begin(&s, &c, &h, 1001),
        Err(AttachmentError::TooLarge {
            size: 1001,
            max: 1000
        })
    ));
    assert!(matches!(
        begin(&s, &c, &h, 0),
        Err(AttachmentError::Invalid(_))
    ));
    assert!(matches!(
        begin(&s, &c, &h.to_uppercase(), 1),
        Err(AttachmentError::Invalid(_))
    ));
    assert!(matches!(
        begin(&s, &c, "abc", 1),
        Err(AttachmentError::Invalid(_))
    ));
    assert_eq!(uploads(&s), 0);
}
