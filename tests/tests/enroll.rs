//! A phone enrolled with a one-time code, through the app API the Android and iOS apps
//! call: staff make a code (the users page; here straight in the server's database),
//! the app reads the QR code's text, enrolls, records a household and syncs; the same
//! code then fails, and so does a typo.

use std::sync::Arc;

use scenarios::on_both_databases;
use scenarios::server::{create_user, Database};
use serde_json::json;
use sync_core::app::{AppError, CancelToken, DeviceStore, ProgressObserver};
use sync_core::sync::SyncProgress;

on_both_databases!(a_phone_enrolls_with_the_qr_code_once_and_syncs,);

struct Quiet;

impl ProgressObserver for Quiet {
    fn on_progress(&self, _: SyncProgress) -> Result<(), AppError> {
        Ok(())
    }
}

async fn a_phone_enrolls_with_the_qr_code_once_and_syncs(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let server = db.start(&data);
    let url = server.url();
    create_user(
        &url,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    // What the users page does when staff press "Enroll a device".
    let storage = server.storage();
    let ana = storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "ana")
        .unwrap();
    let code = storage.create_enrollment(&ana.id, "admin").unwrap().code;
    drop(storage);

    let phone = DeviceStore::open(dir.path().join("phone.db").display().to_string()).unwrap();
    let link = format!("c2c://enroll?server={url}&code={code}");
    let session = phone
        .enroll_with_link(link.clone(), "Ana's phone".into())
        .await
        .unwrap();
    assert_eq!(session.username, "ana");
    assert_eq!(session.role, "outreach_worker");
    phone
        .create_household("Familia Rivera".into(), "12 Elm St".into())
        .unwrap();
    let summary = phone
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.pushed, 1);
    assert_eq!(server.count("records"), 1);

    // The code worked once; a second phone, or a typo, is refused.
    let other = DeviceStore::open(dir.path().join("other.db").display().to_string()).unwrap();
    match other.enroll_with_link(link, "another phone".into()).await {
        Err(AppError::Unauthorized { message }) => {
            assert!(message.contains("already used or expired"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    match other
        .enroll(url.clone(), "ZZZZZ-ZZZZZ".into(), "another phone".into())
        .await
    {
        Err(AppError::Unauthorized { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        other
            .enroll_with_link("c2c://enroll?code=X".into(), "x".into())
            .await,
        Err(AppError::Invalid { .. })
    ));
}
