//! A hostile device: one batch that forges a scope, alters a record's metadata and
//! writes kinds its role may not, mixed with good items. Each bad item is rejected
//! with its reason and nothing of it lands (no log entry, no record row, nothing in
//! anyone's feed); the good items of the same batch land.

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::*;
use forms::Answers;
use sync_core::protocol::PushStatus;
use sync_core::RecordKind;

on_both_backends!(
    forged_scopes_altered_metadata_and_forbidden_kinds_are_refused_and_good_items_land,
);

fn reason(r: &sync_core::protocol::PushResponse, i: usize) -> &str {
    r.results[i].reason.as_deref().unwrap_or("")
}

async fn forged_scopes_altered_metadata_and_forbidden_kinds_are_refused_and_good_items_land(
    s: TestServer,
) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let parent = s
        .user("rosa", "parent", Some(east().with_family("rivera")))
        .await;
    let staff = s.user("bo", "backbone_staff", Some(east())).await;
    let (mut home, created) = household(east());
    s.push_ok(&worker, &[(home.id(), &created)]).await;

    // The worker's batch.
    let (good_survey, good_survey_change) = survey(east(), "yes");
    let (forged, forged_change) = household(west());
    let before = home.heads();
    let altered = {
        let am = home.automerge();
        let (_, meta) = am.get(ROOT, "meta").unwrap().unwrap();
        am.put(&meta, "kind", "case_note").unwrap();
        am.commit();
        home.changes_since(&before).remove(0)
    };
    let (note, note_change) = record(
        RecordKind::CaseNote,
        east(),
        Some("case_note"),
        &Answers::new(),
    );
    let (good_home, good_home_change) = household(east());
    let r = s
        .push_ok(
            &worker,
            &[
                (good_survey.id(), &good_survey_change),
                (forged.id(), &forged_change),
                (home.id(), &altered),
                (note.id(), &note_change),
                (good_home.id(), &good_home_change),
            ],
        )
        .await;
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Accepted,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Accepted
        ]
    );
    assert!(
        reason(&r, 1).contains("outside your scope"),
        "{}",
        reason(&r, 1)
    );
    assert!(reason(&r, 2).contains("meta.kind"), "{}", reason(&r, 2));
    assert!(
        reason(&r, 3).contains("may not write case_note"),
        "{}",
        reason(&r, 3)
    );

    // The parent's batch: a check-in is theirs to write; a case note and a household
    // (even in their own family) are not.
    let (checkin, checkin_change) = record(
        RecordKind::Checkin,
        east().with_family("rivera"),
        Some("literacy_checkin"),
        &Answers::new(),
    );
    let (parent_note, parent_note_change) = record(
        RecordKind::CaseNote,
        east().with_family("rivera"),
        Some("case_note"),
        &Answers::new(),
    );
    let (parent_home, parent_home_change) = household(east().with_family("rivera"));
    let r = s
        .push_ok(
            &parent,
            &[
                (parent_note.id(), &parent_note_change),
                (checkin.id(), &checkin_change),
                (parent_home.id(), &parent_home_change),
            ],
        )
        .await;
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Rejected,
            PushStatus::Accepted,
            PushStatus::Rejected
        ]
    );
    assert!(reason(&r, 0).contains("(parent) may not write case_note"));
    assert!(reason(&r, 2).contains("may not write household"));

    // None of the refused items landed: not in the log, not as rows, not in a feed.
    let refused = [forged.id(), note.id(), parent_note.id(), parent_home.id()];
    for id in refused {
        assert!(s.storage.record(id).unwrap().is_none(), "{id} landed");
    }
    let row = s.storage.record(home.id()).unwrap().unwrap();
    assert_eq!(row.kind, "household", "the kind did not change");
    assert_eq!(
        s.changes(),
        4,
        "the household, the survey, the second household and the check-in"
    );
    let (pages, _) = pull_all(&s, &staff, 500, 10_000_000).await;
    let seen: Vec<_> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.record))
        .collect();
    for id in refused {
        assert!(!seen.contains(&id));
    }
    for id in [home.id(), good_survey.id(), good_home.id(), checkin.id()] {
        assert!(seen.contains(&id), "{id} missing from the staff feed");
    }
}
