//! The staff's record list on both databases: keyset pages, filters, search, scope,
//! and the record page's history, through the storage and the router.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::Answers;
use server::storage::RecordFilter;
use sync_core::RecordKind;

on_both_backends!(the_record_list_pages_filters_searches_and_keeps_to_scope);

async fn the_record_list_pages_filters_searches_and_keeps_to_scope(s: TestServer) {
    let east_worker = s.user("e", "outreach_worker", Some(east())).await;
    let west_worker = s.user("w", "outreach_worker", Some(west())).await;
    let (east_id, west_id) = (s.user_id(&east_worker), s.user_id(&west_worker));
    let mut east_ids = Vec::new();
    for i in 0..7 {
        let mut a = Answers::new();
        a.set("name", format!("Familia Este {i}"));
        let (doc, change) = record(&east_id, RecordKind::Household, east(), None, &a);
        s.push_ok(&east_worker, &[(doc.id(), &change)]).await;
        east_ids.push(doc.id().to_string());
    }
    let mut a = Answers::new();
    a.set("name", "Familia Oeste");
    let (west_doc, change) = record(&west_id, RecordKind::Household, west(), None, &a);
    s.push_ok(&west_worker, &[(west_doc.id(), &change)]).await;
    let (survey_doc, change) = survey(&east_id, east(), "yes");
    s.push_ok(&east_worker, &[(survey_doc.id(), &change)]).await;

    // All of it, three at a time, newest first, every record once.
    let all = RecordFilter::default();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .storage
            .list_records(None, &all, after.as_ref(), 3)
            .unwrap();
        assert!(page.records.len() <= 3);
        seen.extend(page.records.iter().map(|r| r.id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9, "{seen:?}");
    let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 9);

    // Scope, kind, neighborhood and search.
    let east_only = s
        .storage
        .list_records(Some(&east()), &all, None, 50)
        .unwrap();
    assert_eq!(east_only.records.len(), 8);
    assert!(east_only
        .records
        .iter()
        .all(|r| r.id != west_doc.id().to_string()));
    let households = RecordFilter {
        kind: Some("household".into()),
        ..RecordFilter::default()
    };
    assert_eq!(
        s.storage
            .list_records(None, &households, None, 50)
            .unwrap()
            .records
            .len(),
        8
    );
    let west_hood = RecordFilter {
        neighborhood: Some("west".into()),
        ..RecordFilter::default()
    };
    let west_list = s.storage.list_records(None, &west_hood, None, 50).unwrap();
    assert_eq!(west_list.records.len(), 1);
    assert!(west_list.records[0].summary.contains("Familia Oeste"));
    let search = RecordFilter {
        search: Some("ESTE 3".into()),
        ..RecordFilter::default()
    };
    let found = s.storage.list_records(None, &search, None, 50).unwrap();
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].id, east_ids[3]);

    // The record page, with who sent its change, through the router.
    let cookie = session(&s, "admin", ADMIN_PASSWORD).await;
    let list = get(&s, "/records", Some(&cookie)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Familia Oeste"));
    let page = get(&s, &format!("/records/{}", west_doc.id()), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Familia Oeste"));
    assert!(page.body.contains("test phone"), "the device that sent it");
}
