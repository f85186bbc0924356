//! Reading a change that arrives as bytes (a push, a pull page, a file).

use automerge::Change;

/// Parse one change from outside bytes. Beyond what `Change::from_bytes` checks (the
/// chunk's structure), the chunk's checksum must match the change's hash:
/// automerge 0.12 parses a change with a wrong checksum without complaint, but a
/// document holding it then fails to load ("bad checksum"), which would make its
/// record unreadable after a restart (found by `tests/tests/fuzz.rs`).
pub fn parse_change(bytes: Vec<u8>) -> Result<Change, String> {
    // magic (4 bytes), then the checksum: the first 4 bytes of the change's hash.
    let header: Option<[u8; 4]> = bytes.get(4..8).and_then(|s| s.try_into().ok());
    let change = Change::from_bytes(bytes).map_err(|e| e.to_string())?;
    match header {
        Some(sum) if sum[..] == change.hash().0[..4] => Ok(change),
        _ => Err("bad checksum: the change's bytes were altered".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_change;
    use crate::record::{Commit, RecordDoc, RecordKind, RecordMeta, Scope};

    #[test]
    fn a_real_change_parses_and_an_altered_checksum_does_not() {
        let meta = RecordMeta {
            kind: RecordKind::Household,
            id: uuid::Uuid::new_v4(),
            scope: Scope::partnership("p1"),
            form: None,
            created_by: "w".into(),
            created_at: 0,
        };
        let mut doc =
            RecordDoc::create(meta, &forms::Answers::new(), &Commit::new("w", "x"), None).unwrap();
        let bytes = doc.changes_since(&[])[0].raw_bytes().to_vec();
        assert!(parse_change(bytes.clone()).is_ok());
        let mut altered = bytes;
        altered[5] ^= 0xff;
        assert!(parse_change(altered).unwrap_err().contains("checksum"));
        assert!(parse_change(vec![1, 2, 3]).is_err());
    }
}
