//! 6. Accessibility: every screen a worker goes through, on a phone in Spanish (and the
//!    sign-in screen and home in English), audited as Chromium computes it
//!    (`scenarios::a11y`): every control named in the accessibility tree a screen
//!    reader reads, text contrast AA, targets of 44 × 44 px at least, the document's
//!    language, no sideways scrolling, no forced tab order; and after every move
//!    between screens, the focus on the new screen (not lost on the page's body).

use fantoccini::Client;
use scenarios::a11y::audit;
use scenarios::app_page::{
    answer_screen, enroll, enrollment_code, next_screen, phone, ready, screen, survey_step, sync,
};
use scenarios::chromium::{all, click, find, goto, Screenshots};

/// Where the focus is: `body` when it was lost.
async fn focused(c: &Client) -> String {
    c.execute(
        "const a = document.activeElement;
         return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') : 'none';",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_of_a_worker_passes_the_accessibility_audit() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let super::Partnership {
        dir,
        driver,
        server,
        base,
    } = super::Partnership::start().await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/6-a11y");
    let c = phone(&driver, &dir.path().join("phone")).await;
    let mut problems = Vec::new();

    // Signed out: the sign-in screen, in English.
    goto(&c, &format!("{base}/app/")).await;
    ready(&c).await;
    screen(&c, "start").await;
    problems.extend(audit(&c, "sign-in", "en").await);

    // The audit sees what it looks for: a page given each fault finds each.
    // (Styles set through the CSSOM: the app's CSP refuses style attributes.)
    c.execute(
        "const d = document.createElement('div');
         const add = (tag, text, style, attrs = {}) => {
             const e = document.createElement(tag);
             e.textContent = text;
             Object.assign(e.style, style);
             for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
             d.appendChild(e);
         };
         add('button', '', {});
         add('p', 'pale', {color: '#aaa', background: '#fff'});
         add('button', 'forced', {}, {tabindex: '3'});
         add('a', 'x', {display: 'inline-block', width: '10px', height: '10px', overflow: 'hidden'}, {href: '#x'});
         add('div', 'wide', {width: '900px'});
         document.body.appendChild(d);
         document.documentElement.lang = 'fr';",
        vec![],
    )
    .await
    .unwrap();
    let found = audit(&c, "faults", "en").await.join("\n");
    for fault in [
        "a button without a name",
        "contrast 2.32:1",
        "tabindex=3",
        "a target of 10 x 10 px",
        "<html lang=\"fr\">",
        "px wide on a 360 px screen",
    ] {
        assert!(found.contains(fault), "the audit missed {fault:?}: {found}");
    }
    c.refresh().await.unwrap();
    ready(&c).await;
    screen(&c, "start").await;

    enroll(&c, &base, &enrollment_code(&server, "ana"), "worker-home").await;
    problems.extend(audit(&c, "home (en)", "en").await);
    click(&c, "[data-test=lang-es]").await;
    screen(&c, "worker-home").await;
    problems.extend(audit(&c, "home", "es").await);

    click(&c, "[data-test=add-household]").await;
    screen(&c, "add-household").await;
    problems.extend(audit(&c, "add a household", "es").await);
    find(&c, "[data-test=household-name]")
        .await
        .send_keys("Familia Soto")
        .await
        .unwrap();
    find(&c, "[data-test=household-address]")
        .await
        .send_keys("3 Pine St")
        .await
        .unwrap();
    click(&c, "[data-test=save-household]").await;
    screen(&c, "household").await;
    click(&c, "details.add summary").await;
    problems.extend(audit(&c, "a household, adding a member", "es").await);
    shots.take(&c, "household").await;

    // The household survey, screen by screen: one child, then on to the review.
    click(&c, "[data-test=start-form][data-form=household_survey]").await;
    let mut children = 0;
    let mut screens = 0;
    loop {
        screen(&c, "survey").await;
        screens += 1;
        assert!(screens < 80, "the survey never reached its review screen");
        let step = survey_step(&c).await;
        let focus = focused(&c).await;
        if focus == "body" || focus == "none" {
            problems.push(format!(
                "survey screen {screens}: the focus was lost ({focus})"
            ));
        }
        problems.extend(audit(&c, &format!("survey screen {screens}"), "es").await);
        if step == "finalize" {
            break;
        }
        if !all(&c, "[data-test=add-repeat]").await.is_empty() && children == 0 {
            children += 1;
            click(&c, "[data-test=add-repeat]").await;
            find(&c, "[data-test=question][data-path^='child[1]']").await;
            continue;
        }
        answer_screen(&c, "Bien").await;
        if screens <= 3 {
            shots.take(&c, &format!("survey-{screens}")).await;
        }
        next_screen(&c).await;
    }
    shots.take(&c, "review").await;
    click(&c, "[data-test=finalize]").await;
    // Finalized, the app goes back to the household, the survey listed as finished.
    screen(&c, "household").await;
    find(&c, "[data-test=response-row]").await;
    problems.extend(audit(&c, "the household, its survey finished", "es").await);
    shots.take(&c, "finalized").await;

    // Back home after a sync: the list, the outbox and the sync's outcome.
    click(&c, "button.link.back").await;
    screen(&c, "worker-home").await;
    sync(&c).await;
    problems.extend(audit(&c, "home after a sync", "es").await);
    shots.take(&c, "synced").await;
    shots.assert_all_png();

    eprintln!("{screens} survey screens audited");
    assert!(
        problems.is_empty(),
        "{} accessibility problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
