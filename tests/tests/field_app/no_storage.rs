//! 8. Where the browser keeps no data the app says so and offers no form: here an
//!    address without https:// (a partnership serving the app over plain HTTP on its
//!    network: `field.test`, mapped to the server by Chromium's resolver, is not a
//!    secure context, so the browser gives it no origin-private file system). The
//!    message says why, in the phone's language, and nothing can be filled in.

use scenarios::a11y::audit;
use scenarios::app_page::{ready, screen};
use scenarios::chromium::{all, click, goto, text, BrowserOptions, Screenshots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_without_https_gets_a_clear_message_and_no_form() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let super::Partnership {
        dir,
        driver,
        server: _server,
        base,
    } = super::Partnership::start().await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/8-no-storage");
    let c = driver
        .browser(&BrowserOptions {
            phone: true,
            profile: Some(dir.path().join("phone")),
            args: vec!["--host-resolver-rules=MAP field.test 127.0.0.1".into()],
            ..BrowserOptions::default()
        })
        .await;
    let port = base.rsplit(':').next().unwrap();
    goto(&c, &format!("http://field.test:{port}/app/")).await;
    ready(&c).await;
    screen(&c, "no-storage").await;
    let secure = c
        .execute("return window.isSecureContext", vec![])
        .await
        .unwrap();
    assert_eq!(
        secure, false,
        "field.test over http is not a secure context"
    );
    let said = text(&c, "[data-test=storage-blocked]").await;
    assert!(said.contains("https://"), "{said}");
    shots.take(&c, "insecure-en").await;
    let mut problems = audit(&c, "no storage (en)", "en").await;

    click(&c, "[data-test=lang-es]").await;
    screen(&c, "no-storage").await;
    let said = text(&c, "[data-test=storage-blocked]").await;
    assert!(said.contains("sin https://"), "{said}");
    shots.take(&c, "insecure-es").await;
    problems.extend(audit(&c, "no storage (es)", "es").await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Nothing to fill in: no sign-in form, no household, no survey.
    for control in [
        "[data-test=sign-in]",
        "[data-test=add-household]",
        "form",
        "input",
    ] {
        assert!(
            all(&c, control).await.is_empty(),
            "{control} on the no-storage screen"
        );
    }
    c.close().await.unwrap();
    shots.assert_all_png();
}
