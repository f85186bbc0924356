//! Partner programs' performance measures through the real router: a program declared
//! on the web, its check-ins and case notes pushed by a phone, follow-ups marked done
//! on time, late or not at all, and each kind of measure (how much, how well, better
//! off) read from the page and the CSV against arithmetic done by hand; the smallest
//! cell shown; who sees which program; a bad declaration refused.

mod common;

use std::time::Duration;

use automerge::Change;
use axum::http::StatusCode;
use chrono::NaiveDate;
use common::pages::*;
use common::*;
use forms::Answers;
use sync_core::protocol::PushStatus;
use sync_core::{RecordDoc, RecordKind, Scope};

on_both_backends!(
    measures_of_each_kind_by_quarter_and_year,
    who_sees_a_program_and_a_bad_declaration,
    a_confidential_program_of_an_organization,
);

/// Noon UTC of a day of 2027, as unix seconds.
fn noon(month: u32, day: u32) -> i64 {
    NaiveDate::from_ymd_opt(2027, month, day)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

fn family(f: &str) -> Scope {
    east().with_family(f)
}

/// A literacy check-in of family `f`, started on 2027-`month`-`day`, with its
/// reading days.
fn checkin(by: &str, f: &str, month: u32, day: u32, read_days: i64) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("child", "a child").set("read_days", read_days);
    record_at(
        by,
        RecordKind::Checkin,
        family(f),
        Some("literacy_checkin"),
        &a,
        noon(month, day),
    )
}

/// A case note of family `f` in `scope`, contacted on `contact`, started on `started`,
/// with a follow-up date when given.
fn case_note(
    by: &str,
    scope: Scope,
    contact: (u32, u32),
    started: (u32, u32),
    followup: Option<(u32, u32)>,
) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("participant", "a parent")
        .set(
            "contact_date",
            format!("2027-{:02}-{:02}", contact.0, contact.1),
        )
        .set("contact_type", "phone");
    if let Some((m, d)) = followup {
        a.set("followup_date", format!("2027-{m:02}-{d:02}"));
    }
    record_at(
        by,
        RecordKind::CaseNote,
        scope,
        Some("case_note"),
        &a,
        noon(started.0, started.1),
    )
}

async fn push_all(s: &TestServer, token: &str, docs: &[(RecordDoc, Change)]) {
    for (doc, change) in docs {
        let r = s.push_ok(token, &[(doc.id(), change)]).await;
        assert_eq!(statuses(&r), vec![PushStatus::Accepted], "{:?}", r.results);
    }
}

/// The text of one measure's cell in one period's row of a program's page.
fn cell(body: &str, period: &str, measure: &str) -> String {
    let row = between(body, &format!("data-period=\"{period}\""), "</tr>");
    let cell = between(row, &format!("data-measure=\"{measure}\">"), "</td>");
    cell[measure.len() + 16..cell.len() - 5].to_string()
}

/// A web session of `user`, on the storage's clock like every session.
async fn staff_session(s: &TestServer, user: &str, password: &str) -> String {
    session(s, user, password).await
}

/// Add a program to the managed list as an admin on the web.
async fn add_program(s: &TestServer, admin: &str, code: &str, label: &str) {
    let page = get(s, "/lists", Some(admin)).await;
    let csrf = hidden_csrf(&page.body);
    let added = post_form(
        s,
        "/lists",
        admin,
        &format!("csrf={csrf}&kind=program&code={code}&label={label}"),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
}

const DECLARATION: &str = "forms=literacy_checkin%2C+case_note&organization=&period=quarter\
    &person_question=&date_question=contact_date&better_off_question=read_days\
    &better=higher&weeks_running=4&indicators=G12&on_time=1&follow_up=1&check_ins=1";

/// The fixture: program `reading` (not confidential), declared on the web; the
/// records of its forms with no program in partnership p1 (east), and one case note of
/// the confidential program `other` that must not count. The person served is the
/// record's family (no person question); the day is `contact_date` for case notes
/// and the day the check-in was started for check-ins (they have no contact_date).
/// Returns the admin's session cookie, now that the clock stands at 2027-05-01.
///
/// 2027-01-04 is a Monday. Check-ins (day: reading days):
/// - a: Jan 4: 2, 11: 3, 18: 3, 25: 5 (four weeks running); Apr 5: 5, 12: 6, 19: 6,
///   26: 7 (four weeks running);
/// - b: Jan 4: 4, 11: 4, 25: 4, Feb 1: 3 (the week of Jan 18 missing); Apr 5: 3,
///   12: 5;
/// - c: Tuesdays Jan 5: 1, 12: 1, 19: 2, 26: 1 (four weeks running);
/// - d: Feb 10: 6; Tuesdays Apr 6: 6, 13: 5, 20: 5, 27: 5, May 4: 4 (five weeks).
///
/// Case notes (contact day, follow-up date, what happened):
/// - a: Feb 15, follow-up Mar 1, marked done on 2027-01-02 (on time);
/// - b: Feb 16, follow-up Mar 2, marked done on 2027-05-01 (late);
/// - e: Mar 10 but started Apr 2 (counts in Q1 by its contact day), follow-up
///   Mar 20, never done: past due on 2027-05-01 (late, not completed);
/// - c: Mar 5, no follow-up;
/// - a: Apr 20, follow-up Apr 25, marked done on 2027-01-02 (on time);
/// - f: May 10, follow-up Jun 30, not done and not yet due (on time not known,
///   follow-up not completed).
async fn fixture(s: &TestServer) -> String {
    // The clock stands at 2027-01-02, whatever day the test runs.
    s.storage.clock().freeze_at(noon(1, 2));
    let admin = staff_session(s, "admin", ADMIN_PASSWORD).await;
    add_program(s, &admin, "reading", "Reading+Buddies").await;
    add_program(s, &admin, "other", "Other+program").await;
    let page = get(s, "/programs/reading/declare", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden_csrf(&page.body);
    let saved = post_form(
        s,
        "/programs/reading/declare",
        &admin,
        &format!("csrf={csrf}&{DECLARATION}"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let audit = s.storage.audit_log(None).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "program.declare" && e.subject == "reading"),
        "{audit:?}"
    );

    let pat = s.user("pat", "partner_staff", Some(east())).await;
    let by = s.user_id(&pat);
    let mut docs = Vec::new();
    for (f, visits) in [
        ("a", &[(1, 4, 2), (1, 11, 3), (1, 18, 3), (1, 25, 5)][..]),
        ("a", &[(4, 5, 5), (4, 12, 6), (4, 19, 6), (4, 26, 7)]),
        ("b", &[(1, 4, 4), (1, 11, 4), (1, 25, 4), (2, 1, 3)]),
        ("b", &[(4, 5, 3), (4, 12, 5)]),
        ("c", &[(1, 5, 1), (1, 12, 1), (1, 19, 2), (1, 26, 1)]),
        (
            "d",
            &[
                (2, 10, 6),
                (4, 6, 6),
                (4, 13, 5),
                (4, 20, 5),
                (4, 27, 5),
                (5, 4, 4),
            ],
        ),
    ] {
        for &(m, d, read) in visits {
            docs.push(checkin(&by, f, m, d, read));
        }
    }
    let a_q1_pair = case_note(&by, family("a"), (2, 15), (2, 15), Some((3, 1)));
    let b_q1_pair = case_note(&by, family("b"), (2, 16), (2, 16), Some((3, 2)));
    let a_q2_pair = case_note(&by, family("a"), (4, 20), (4, 20), Some((4, 25)));
    docs.push(case_note(&by, family("e"), (3, 10), (4, 2), Some((3, 20))));
    docs.push(case_note(&by, family("c"), (3, 5), (3, 5), None));
    docs.push(case_note(&by, family("f"), (5, 10), (5, 10), Some((6, 30))));
    let (a_q1, b_q1, a_q2) = (a_q1_pair.0.id(), b_q1_pair.0.id(), a_q2_pair.0.id());
    docs.extend([a_q1_pair, b_q1_pair, a_q2_pair]);
    push_all(s, &pat, &docs).await;
    // Another program's case note, in the same families' neighborhood: not counted.
    let otto = s
        .user(
            "otto",
            "partner_staff",
            Some(Scope::partnership("p1").with_program("other")),
        )
        .await;
    let otto_id = s.user_id(&otto);
    let theirs = case_note(
        &otto_id,
        Scope::partnership("p1").with_program("other"),
        (1, 6),
        (1, 6),
        Some((1, 7)),
    );
    push_all(s, &otto, &[theirs]).await;

    let mark = |id: uuid::Uuid, admin: &str| {
        let action = format!("/follow-ups/{id}/followup/done");
        let admin = admin.to_string();
        async move {
            let page = get(s, "/follow-ups", Some(&admin)).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let csrf = hidden_csrf(&page.body);
            let done = post_form(s, &action, &admin, &format!("csrf={csrf}")).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        }
    };
    // Today (2027-01-02) is before every follow-up date of the fixture.
    assert!(s.storage.today() < NaiveDate::from_ymd_opt(2027, 3, 1).unwrap());
    mark(a_q1, &admin).await;
    mark(a_q2, &admin).await;
    // On to 2027-05-01: b's follow-up is done late, e's is past due.
    let ahead = noon(5, 1) - s.storage.clock().now();
    s.storage.clock().advance(Duration::from_secs(ahead as u64));
    assert_eq!(s.storage.today().to_string(), "2027-05-01");
    let admin = staff_session(s, "admin", ADMIN_PASSWORD).await;
    mark(b_q1, &admin).await;

    // Shares of 3 people are shown from here on.
    let page = get(s, "/dashboard", Some(&admin)).await;
    let csrf = hidden_csrf(&page.body);
    let set = post_form(
        s,
        "/settings/min-cell",
        &admin,
        &format!("csrf={csrf}&min_cell=3"),
    )
    .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    admin
}

async fn measures_of_each_kind_by_quarter_and_year(s: TestServer) {
    let admin = fixture(&s).await;
    // The records as the measures read them: the declared forms in order (24
    // check-ins, then 6 case notes), each form's records walked newest first and
    // handed back in time order.
    let declared = s
        .storage
        .program_declaration("reading")
        .unwrap()
        .unwrap()
        .declaration;
    let records = s
        .storage
        .program_records("reading", &declared, None, s.storage.today())
        .unwrap();
    assert_eq!(records.len(), 30);
    assert!(records[..24].iter().all(|r| r.check_in));
    assert!(records[24..].iter().all(|r| !r.check_in));
    assert!(
        records[..24].windows(2).all(|w| w[0].date <= w[1].date),
        "check-ins in time order"
    );
    let page = get(&s, "/programs/reading", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = |period: &str, measure: &str| cell(&page.body, period, measure);

    // 2027 Q1. How much: families a, b, c, d, e = 5 people; contacts: check-ins
    // 4 (a) + 4 (b) + 4 (c) + 1 (d) = 13, case notes a, b, c, e = 4: 17.
    assert_eq!(at("2027 Q1", "people_served"), "5");
    assert_eq!(at("2027 Q1", "contacts"), "17");
    // How well. On time: a (done Jan 2 ≤ Mar 1), b late (done May 1 > Mar 2), e late
    // (not done, Mar 20 < May 1); c's note says nothing: 1 of 3 = 33%.
    assert_eq!(at("2027 Q1", "on_time"), "33% (1 of 3)");
    // Follow-up completed: a yes, b yes (late, but done), e no: 2 of 3 = 67%.
    assert_eq!(at("2027 Q1", "follow_up"), "67% (2 of 3)");
    // Check-ins four weeks running: a yes, b no (Jan 18 missing), c yes, d no (one):
    // 2 of 4 = 50%.
    assert_eq!(at("2027 Q1", "check_ins"), "50% (2 of 4)");
    // Better off (reading days, first to latest): a 2 → 5 = +3, b 4 → 3 = −1,
    // c 1 → 1 = 0; d has one answer. Improved 1 of 3 = 33%; mean (3 − 1 + 0) / 3
    // = +0.67.
    assert_eq!(at("2027 Q1", "improved"), "1 of 3");
    assert_eq!(at("2027 Q1", "percent_improved"), "33%");
    assert_eq!(at("2027 Q1", "mean_change"), "+0.67");

    // 2027 Q2. How much: a, b, d, f = 4 people; contacts: a 4 + 1, b 2, d 5, f 1 = 13.
    assert_eq!(at("2027 Q2", "people_served"), "4");
    assert_eq!(at("2027 Q2", "contacts"), "13");
    // On time: a (done Jan 2 ≤ Apr 25); f not due yet says nothing: 1 of 1, under the
    // threshold of 3. Follow-up: a yes, f no: 1 of 2, under 3.
    assert_eq!(at("2027 Q2", "on_time"), "suppressed (fewer than 3)");
    assert_eq!(at("2027 Q2", "follow_up"), "suppressed (fewer than 3)");
    // Check-ins: a yes, b no (two weeks), d yes (Apr 6 to 27, four Tuesdays): 2 of 3.
    assert_eq!(at("2027 Q2", "check_ins"), "67% (2 of 3)");
    // Better off: a 5 → 7 = +2, b 3 → 5 = +2, d 6 → 4 = −2: 2 of 3 improved, mean
    // (2 + 2 − 2) / 3 = +0.67.
    assert_eq!(at("2027 Q2", "improved"), "2 of 3");
    assert_eq!(at("2027 Q2", "percent_improved"), "67%");
    assert_eq!(at("2027 Q2", "mean_change"), "+0.67");
    assert!(!page.body.contains("data-period=\"2027 Q3\""));
    assert!(
        page.body.contains("href=\"/indicators/G12\""),
        "{}",
        page.body
    );

    // By year: a, b, c, d, e, f = 6 people, 17 + 13 = 30 contacts; on time a (both
    // on time), b, e late, f unknown: 1 of 3; follow-up a, b yes, e, f no: 2 of 4;
    // check-ins a yes, b no (never four weeks), c yes, d yes (Apr 6 to May 4): 3 of 4;
    // better off a 2 → 7 = +5, b 4 → 5 = +1, c 0, d 6 → 4 = −2: 2 of 4 improved,
    // mean (5 + 1 + 0 − 2) / 4 = +1.00.
    let page = get(&s, "/programs/reading?period=year", Some(&admin)).await;
    let at = |measure: &str| cell(&page.body, "2027", measure);
    assert_eq!(at("people_served"), "6");
    assert_eq!(at("contacts"), "30");
    assert_eq!(at("on_time"), "33% (1 of 3)");
    assert_eq!(at("follow_up"), "50% (2 of 4)");
    assert_eq!(at("check_ins"), "75% (3 of 4)");
    assert_eq!(at("improved"), "2 of 4");
    assert_eq!(at("percent_improved"), "50%");
    assert_eq!(at("mean_change"), "+1.00");

    // The CSV holds the same numbers; suppressed cells say so and give no n.
    let csv = get(
        &s,
        "/programs/reading/measures.csv?period=quarter",
        Some(&admin),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert_eq!(lines[1], "2027 Q1,5,17,1,3,2,3,2,4,3,1,33.3,0.67");
    assert_eq!(
        lines[2],
        "2027 Q2,4,13,suppressed,suppressed,suppressed,suppressed,2,3,3,2,66.7,0.67"
    );

    // A threshold of 4 hides Q1's shares of 3 people and its better-off figures (3
    // compared), keeps its check-ins (4 parents) and every count.
    let page = get(&s, "/dashboard", Some(&admin)).await;
    let csrf = hidden_csrf(&page.body);
    let set = post_form(
        &s,
        "/settings/min-cell",
        &admin,
        &format!("csrf={csrf}&min_cell=4"),
    )
    .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let page = get(&s, "/programs/reading", Some(&admin)).await;
    let at = |period: &str, measure: &str| cell(&page.body, period, measure);
    let hidden = "suppressed (fewer than 4)";
    assert_eq!(at("2027 Q1", "people_served"), "5");
    assert_eq!(at("2027 Q1", "contacts"), "17");
    assert_eq!(at("2027 Q1", "on_time"), hidden);
    assert_eq!(at("2027 Q1", "follow_up"), hidden);
    assert_eq!(at("2027 Q1", "check_ins"), "50% (2 of 4)");
    for measure in ["improved", "percent_improved", "mean_change"] {
        assert_eq!(at("2027 Q1", measure), hidden);
        assert_eq!(at("2027 Q2", measure), hidden);
    }
    assert_eq!(at("2027 Q2", "check_ins"), hidden);
    assert!(!page.body.contains("1 of 3") && !page.body.contains("33%"));
}

async fn who_sees_a_program_and_a_bad_declaration(s: TestServer) {
    let admin = fixture(&s).await;
    // The list: the admin sees both programs, `other` with no measures declared.
    let list = get(&s, "/programs", Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let other = between(&list.body, "data-program=\"other\"", "</tr>");
    assert!(other.contains("no measures declared"), "{other}");
    let reading = between(&list.body, "data-program=\"reading\"", "</tr>");
    assert!(reading.contains("literacy_checkin") && reading.contains("/indicators/G12"));

    // Staff of another program: not in their list, and a 403 for the page and CSV.
    let otto = staff_session(&s, "otto", "password-123").await;
    let list = get(&s, "/programs", Some(&otto)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("data-program=\"other\""),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains("data-program=\"reading\""),
        "{}",
        list.body
    );
    for path in ["/programs/reading", "/programs/reading/measures.csv"] {
        let page = get(&s, path, Some(&otto)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.body.contains("people_served"));
    }
    // A program that does not exist answers the same to them: nothing to learn.
    let page = get(&s, "/programs/nosuch", Some(&otto)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Partner staff of the neighborhood with no program in their scope: nothing.
    let pat = staff_session(&s, "pat", "password-123").await;
    let page = get(&s, "/programs/reading", Some(&pat)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // And nobody but the backbone declares.
    let page = get(&s, "/programs/other/declare", Some(&otto)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // The program's own staff see it, with the same numbers.
    s.user(
        "rita",
        "partner_staff",
        Some(Scope::partnership("p1").with_program("reading")),
    )
    .await;
    let rita = staff_session(&s, "rita", "password-123").await;
    let list = get(&s, "/programs", Some(&rita)).await;
    assert!(
        list.body.contains("data-program=\"reading\""),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains("data-program=\"other\""),
        "{}",
        list.body
    );
    let page = get(&s, "/programs/reading", Some(&rita)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(cell(&page.body, "2027 Q1", "contacts"), "17");
    assert_eq!(cell(&page.body, "2027 Q1", "on_time"), "33% (1 of 3)");

    // A bad declaration: a 400 page with the reason, the stored one unchanged, no
    // audit line.
    let before = s.storage.program_declaration("reading").unwrap().unwrap();
    let lines = s.storage.audit_log(None).unwrap().len();
    let page = get(&s, "/programs/reading/declare", Some(&admin)).await;
    let csrf = hidden_csrf(&page.body);
    for (change, reason) in [
        ("forms=nosuch_form", "there is no form `nosuch_form`"),
        ("forms=", "name at least one form"),
        ("indicators=G99", "there is no indicator `G99`"),
        ("better_off_question=read+days", "is not a question name"),
        ("weeks_running=many", "weeks running is a number"),
        (
            "organization=nobody",
            "`nobody` is not an entry of the organization list",
        ),
    ] {
        let key = change.split('=').next().unwrap();
        let form: String = DECLARATION
            .split('&')
            .map(|kv| {
                if kv.trim().starts_with(&format!("{key}=")) {
                    change
                } else {
                    kv.trim()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        let page = post_form(
            &s,
            "/programs/reading/declare",
            &admin,
            &format!("csrf={csrf}&{form}"),
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{change}: {}",
            page.body
        );
        assert!(page.body.contains(reason), "{change}: {}", page.body);
    }
    assert_eq!(
        s.storage.program_declaration("reading").unwrap().unwrap(),
        before
    );
    assert_eq!(s.storage.audit_log(None).unwrap().len(), lines);
    // Declaring a program that is not on the list is refused too.
    let page = post_form(
        &s,
        "/programs/nosuch/declare",
        &admin,
        &format!("csrf={csrf}&{DECLARATION}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(s.storage.program_declaration("nosuch").unwrap().is_none());
}

/// A confidential program of one organization: only the records marked with it count
/// (not the organization's records of no program); the person is the answer to the
/// declared question; a note with no contact day falls back to the day the record
/// was started; the organization's staff see it, another organization's do not; the
/// page shows only the declared "how well" measure.
async fn a_confidential_program_of_an_organization(s: TestServer) {
    let admin = staff_session(&s, "admin", ADMIN_PASSWORD).await;
    let page = get(&s, "/lists", Some(&admin)).await;
    let csrf = hidden_csrf(&page.body);
    for form in [
        "kind=organization&code=eastside&label=Eastside",
        "kind=program&code=circle&label=Parent+circle&confidential=1",
    ] {
        let added = post_form(&s, "/lists", &admin, &format!("csrf={csrf}&{form}")).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    }
    let page = get(&s, "/programs/circle/declare", Some(&admin)).await;
    let csrf = hidden_csrf(&page.body);
    let saved = post_form(
        &s,
        "/programs/circle/declare",
        &admin,
        &format!(
            "csrf={csrf}&forms=case_note&organization=eastside&period=year\
             &person_question=participant&date_question=contact_date&follow_up=1"
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let eastside = Scope::partnership("p1").with_organization("eastside");
    let cara = s
        .user(
            "cara",
            "partner_staff",
            Some(eastside.clone().with_program("circle")),
        )
        .await;
    let cara_id = s.user_id(&cara);
    let ed = s.user("ed", "partner_staff", Some(eastside.clone())).await;
    let ed_id = s.user_id(&ed);
    let note = |by: &str, scope: Scope, who: &str, contact: Option<&str>, started: i64| {
        let mut a = Answers::new();
        a.set("participant", who).set("contact_type", "phone");
        if let Some(day) = contact {
            a.set("contact_date", day);
        }
        record_at(
            by,
            RecordKind::CaseNote,
            scope,
            Some("case_note"),
            &a,
            started,
        )
    };
    let circle = eastside.clone().with_program("circle");
    // Ana twice, Beto once, all in 2027 by their contact days; Caro's note has no
    // contact day, so she counts on the day it was started, in 2026.
    let ours = [
        note(
            &cara_id,
            circle.clone(),
            "Ana",
            Some("2027-02-01"),
            noon(2, 1),
        ),
        note(
            &cara_id,
            circle.clone(),
            "Ana",
            Some("2027-03-01"),
            noon(3, 1),
        ),
        note(
            &cara_id,
            circle.clone(),
            "Beto",
            Some("2027-03-02"),
            noon(3, 2),
        ),
        note(
            &cara_id,
            circle.clone(),
            "Caro",
            None,
            noon(1, 1) - 86_400 * 10,
        ),
    ];
    push_all(&s, &cara, &ours).await;
    // The organization's note of no program: not the confidential program's.
    let theirs = note(
        &ed_id,
        eastside.clone(),
        "Dora",
        Some("2027-02-03"),
        noon(2, 3),
    );
    push_all(&s, &ed, &[theirs]).await;

    // The organization's staff see the program by its declaration.
    let ed_web = staff_session(&s, "ed", "password-123").await;
    let list = get(&s, "/programs", Some(&ed_web)).await;
    assert!(
        list.body.contains("data-program=\"circle\""),
        "{}",
        list.body
    );
    let page = get(&s, "/programs/circle", Some(&ed_web)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // 2027: Ana (2 notes) and Beto (1): 2 people, 3 contacts; 2026: Caro.
    assert_eq!(cell(&page.body, "2027", "people_served"), "2");
    assert_eq!(cell(&page.body, "2027", "contacts"), "3");
    assert_eq!(cell(&page.body, "2026", "people_served"), "1");
    assert_eq!(cell(&page.body, "2026", "contacts"), "1");
    // No note asked for a follow-up: no data; on time and check-ins not declared.
    assert_eq!(cell(&page.body, "2027", "follow_up"), "no data");
    assert!(!page.body.contains("data-measure=\"on_time\""));
    assert!(!page.body.contains("data-measure=\"check_ins\""));
    assert!(!page.body.contains("data-measure=\"improved\""));

    // Another organization's reports-only user: no.
    s.user(
        "wes",
        "reports_only",
        Some(Scope::partnership("p1").with_organization("westside")),
    )
    .await;
    let wes = staff_session(&s, "wes", "password-123").await;
    let page = get(&s, "/programs/circle", Some(&wes)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let list = get(&s, "/programs", Some(&wes)).await;
    assert!(
        !list.body.contains("data-program=\"circle\""),
        "{}",
        list.body
    );
}
