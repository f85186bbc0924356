//! Server time of every staff page over a large database: 100,000 finalized
//! household-survey responses (1 to 3 children each), 20,000 check-ins, 5,000 case
//! notes (with follow-ups and referrals) and enough households to make a million
//! records, stored through the real push path in a real SQLite file.
//!
//! ```text
//! cargo bench -p server --bench pages -- [--responses N] [--households N] [--checkins N]
//!     [--case-notes N] [--data-dir DIR] [--runs N]
//! ```
//!
//! With `--data-dir` the database is kept, and a second run measures it again without
//! rebuilding. Each page is requested through the router in-process (no socket), so the
//! time is the server's alone: handler, storage, rendering. The first dashboard after
//! opening is timed apart (the indicator cache's first read).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use forms::{Answers, Value};
use http_body_util::BodyExt;
use server::auth::Role;
use server::storage::TokenCheck;
use server::Storage;
use sync_core::protocol::{Bytes, PushedChange};
use sync_core::{Commit, FormRef, RecordDoc, RecordKind, RecordMeta, Scope};
use tower::ServiceExt;
use uuid::Uuid;

struct Args {
    responses: usize,
    households: usize,
    data_dir: Option<PathBuf>,
    runs: usize,
    checkins: usize,
    case_notes: usize,
}

fn args() -> Args {
    let mut a = Args {
        responses: 100_000,
        households: 900_000,
        data_dir: None,
        runs: 15,
        checkins: 20_000,
        case_notes: 5_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--responses" => a.responses = value().parse().expect("--responses N"),
            "--households" => a.households = value().parse().expect("--households N"),
            "--data-dir" => a.data_dir = Some(value().into()),
            "--runs" => a.runs = value().parse().expect("--runs N"),
            "--checkins" => a.checkins = value().parse().expect("--checkins N"),
            "--case-notes" => a.case_notes = value().parse().expect("--case-notes N"),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

const HOODS: [&str; 4] = ["east", "west", "north", "south"];

fn scope(i: usize) -> Scope {
    Scope::partnership("p1").with_neighborhood(HOODS[i % HOODS.len()])
}

/// A record's metadata, created by the user `by`: the user whose device pushes it.
fn meta(by: &str, kind: RecordKind, i: usize, form: Option<&str>) -> RecordMeta {
    RecordMeta {
        kind,
        id: Uuid::new_v4(),
        scope: scope(i),
        form: form.map(|id| FormRef {
            id: id.into(),
            version: 1,
        }),
        created_by: by.into(),
        // Two survey rounds: 2024 and 2026.
        created_at: if i.is_multiple_of(2) {
            1_710_000_000
        } else {
            1_770_000_000
        },
    }
}

fn survey(i: usize) -> Answers {
    let pick = |choices: &[&'static str], salt: usize| choices[(i * 7 + salt * 13) % choices.len()];
    let kids = (0..1 + i % 3)
        .map(|k| {
            let mut c = Answers::new();
            let grade = pick(&["none", "prek", "k", "2", "5", "8", "10", "12"], k);
            c.set(
                "age_years",
                [1i64, 4, 5, 7, 10, 13, 15, 17][(i + k * 3) % 8],
            )
            .set("grade", grade)
            .set("hispanic", pick(&["yes", "no", "no"], k + 1))
            .set(
                "race",
                pick(&["black", "white", "asian", "black white", "aian"], k + 2),
            )
            .set("usual_place", pick(&["yes", "yes", "no"], k + 3))
            .set(
                "place_type",
                pick(&["clinic", "doctor_office", "er"], k + 4),
            )
            .set(
                "early_learning",
                pick(&["head_start", "none", "child_care_center"], k + 5),
            )
            .set(
                "read_times",
                pick(&["daily", "three_plus", "once_twice", "never"], k + 6),
            )
            .set("college_talk", pick(&["yes", "no"], k + 7));
            c
        })
        .collect();
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", "en")
        .set("home_language", pick(&["en", "es", "vi", "so"], 0))
        .set("home_internet", pick(&["yes", "no"], 1))
        .set(
            "home_devices",
            pick(&["smartphone", "computer tablet", "none"], 2),
        )
        .set_repeat("child", kids)
        .set("_status", Value::from("final"));
    a
}

/// A parent's weekly check-in; one in ten asks for a call back.
fn checkin(i: usize) -> Answers {
    let mut a = Answers::new();
    a.set(
        "week_of",
        format!("2026-{:02}-{:02}", 1 + i % 11, 1 + i % 28),
    )
    .set("read_days", (i % 8) as i64)
    .set("sing_rhyme_days", ((i / 3) % 8) as i64)
    .set(
        "want_callback",
        if i.is_multiple_of(10) { "yes" } else { "no" },
    );
    a
}

/// A case note; one in five has a follow-up date, one in seven a referral made.
fn case_note(i: usize) -> Answers {
    let mut a = Answers::new();
    a.set("participant", format!("Participant {i}"))
        .set("contact_date", "2026-11-02")
        .set("contact_type", "phone")
        .set(
            "referral_status",
            if i.is_multiple_of(7) {
                "made"
            } else {
                "connected"
            },
        );
    if i.is_multiple_of(5) {
        a.set("followup_date", format!("2026-12-{:02}", 1 + i % 28));
    }
    a
}

fn household(i: usize) -> Answers {
    let mut a = Answers::new();
    a.set("name", format!("Household {i}"))
        .set("address", format!("{} Elm St", i % 9_000));
    a
}

fn fill(storage: &Storage, worker: &server::auth::Caller, responses: usize, households: usize) {
    push_all(storage, worker, responses + households, |i| {
        if i < responses {
            (
                meta(
                    &worker.user_id,
                    RecordKind::Response,
                    i,
                    Some("household_survey"),
                ),
                survey(i),
            )
        } else {
            (
                meta(&worker.user_id, RecordKind::Household, i, None),
                household(i),
            )
        }
    });
}

/// Check-ins and case notes, pushed by staff (outreach workers write neither).
fn fill_staff_records(
    storage: &Storage,
    staff: &server::auth::Caller,
    checkins: usize,
    notes: usize,
) {
    push_all(storage, staff, checkins + notes, |i| {
        if i < checkins {
            (
                meta(
                    &staff.user_id,
                    RecordKind::Checkin,
                    i,
                    Some("literacy_checkin"),
                ),
                checkin(i),
            )
        } else {
            (
                meta(&staff.user_id, RecordKind::CaseNote, i, Some("case_note")),
                case_note(i),
            )
        }
    });
}

/// Push `total` records made by `make`, as `caller`, through the real push path.
fn push_all(
    storage: &Storage,
    caller: &server::auth::Caller,
    total: usize,
    make: impl Fn(usize) -> (RecordMeta, Answers),
) {
    let started = Instant::now();
    let batch = 2_000;
    let mut done = 0;
    while done < total {
        let changes: Vec<PushedChange> = (done..(done + batch).min(total))
            .map(|i| {
                let (meta, answers) = make(i);
                let commit = Commit::new(&caller.user_id, "create").at(meta.created_at);
                let id = meta.id;
                let mut doc = RecordDoc::create(meta, &answers, &commit, None).expect("record");
                let change = doc.changes_since(&[]).remove(0);
                PushedChange {
                    record: id,
                    change: Bytes(change.raw_bytes().to_vec()),
                }
            })
            .collect();
        let n = changes.len();
        let results = storage.push(caller, changes).expect("push");
        if let Some(r) = results
            .iter()
            .find(|r| r.status == sync_core::protocol::PushStatus::Rejected)
        {
            panic!("a generated record was refused: {:?}", r.reason);
        }
        done += n;
        if done % 100_000 < batch {
            eprintln!(
                "  stored {done} of {total} records ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

async fn time(app: &axum::Router, cookie: &str, path: &str) -> (Duration, usize) {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .expect("request");
    let start = Instant::now();
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let took = start.elapsed();
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    (took, body.len())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let storage = Storage::open(&dir).expect("open");
    if storage.record_count().expect("count") == 0 {
        eprintln!(
            "building: {} responses and {} households in {}",
            args.responses,
            args.households,
            dir.display()
        );
        storage
            .create_user(
                "bench-worker",
                "password-123",
                Role::OutreachWorker,
                Some(&Scope::partnership("p1")),
            )
            .expect("worker");
        storage
            .create_user(
                "bench-staff",
                "password-123",
                Role::BackboneStaff,
                Some(&Scope::partnership("p1")),
            )
            .expect("staff");
        let worker = storage
            .sign_in("bench-worker", "password-123", "bench")
            .expect("sign in")
            .expect("worker session");
        let TokenCheck::Valid(caller) = storage.authenticate(&worker.token).expect("auth") else {
            panic!("worker token");
        };
        fill(&storage, &caller, args.responses, args.households);
        let staff = storage
            .sign_in("bench-staff", "password-123", "bench")
            .expect("sign in")
            .expect("staff session");
        let TokenCheck::Valid(staff) = storage.authenticate(&staff.token).expect("auth") else {
            panic!("staff token");
        };
        fill_staff_records(&storage, &staff, args.checkins, args.case_notes);
        // One record with a conflict, for the conflicts filter and a record page.
        let id = Uuid::new_v4();
        let mut m = meta(&caller.user_id, RecordKind::Household, 1, None);
        m.id = id;
        let commit = Commit::new(&caller.user_id, "create").at(m.created_at);
        let mut doc = RecordDoc::create(m, &household(1), &commit, None).expect("record");
        let mut other =
            RecordDoc::load(&doc.save(), [], Some(automerge::ActorId::random())).expect("fork");
        let a = doc
            .edit(&commit, |e| e.set_field("address", "1 Oak"))
            .expect("edit")
            .expect("change");
        let b = other
            .edit(&commit, |e| e.set_field("address", "2 Pine"))
            .expect("edit")
            .expect("change");
        let create = doc.changes_since(&[]).remove(0);
        let changes = [create, a, b]
            .iter()
            .map(|c| PushedChange {
                record: id,
                change: Bytes(c.raw_bytes().to_vec()),
            })
            .collect();
        storage.push(&caller, changes).expect("push conflict");
    }
    let records = storage.record_count().expect("count");
    let session = storage
        .sign_in("bench-staff", "password-123", "web session")
        .expect("sign in")
        .expect("staff session");
    let cookie = format!("{}={}", server::web::SESSION_COOKIE, session.token);
    // A reading program counting every check-in, for its measures' page: declared on
    // every run (a kept database may predate programs).
    let TokenCheck::Valid(staff) = storage.authenticate(&session.token).expect("auth") else {
        panic!("staff token");
    };
    let act = |action: &'static str| server::storage::Act {
        actor: &staff,
        address: "bench",
        action,
        subject: "reading",
        detail: String::new(),
    };
    let programs = storage
        .list_entries(server::storage::ListKind::Program)
        .expect("programs");
    if !programs.iter().any(|e| e.code == "reading") {
        storage
            .add_list_entry(
                server::storage::ListKind::Program,
                "reading",
                "Reading",
                false,
                &act("list.add"),
            )
            .expect("program");
    }
    let declaration: server::storage::Declaration = serde_json::from_value(serde_json::json!({
        "forms": ["literacy_checkin"],
        "better_off_question": "read_days",
        "indicators": ["G12"],
    }))
    .expect("a declaration");
    storage
        .declare_program("reading", &declaration, &act("program.declare"))
        .expect("declare");
    // The scorecard shows every indicator, the most it can show.
    let every: Vec<String> = server::curves::all_indicators()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    storage
        .set_public_indicators(&every, &act("scorecard.set"))
        .expect("scorecard");
    let app = server::router(storage.clone());

    let (cold, _) = time(&app, &cookie, "/dashboard").await;
    // A deep page of the list: the cursor halfway down, as if someone had paged that far.
    let db = rusqlite::Connection::open(dir.join(server::storage::DB_FILE)).expect("db");
    let (at, id): (i64, String) = db
        .query_row(
            "SELECT updated_at, id FROM records ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET ?1",
            [records / 2],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a middle record");
    let conflicted = storage
        .list_records(
            None,
            &server::storage::RecordFilter {
                conflicts: true,
                ..Default::default()
            },
            None,
            1,
        )
        .expect("conflicts")
        .records
        .first()
        .map(|r| r.id.clone())
        .expect("a conflicted record");
    // A survey halfway down the table, and a household, for their pages.
    let (survey_at, survey_id): (i64, String) = db
        .query_row(
            "SELECT created_at, id FROM records WHERE form_id = 'household_survey'
             ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?1",
            [(args.responses / 2) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a middle survey");
    let household_id: String = db
        .query_row(
            "SELECT id FROM records WHERE kind = 'household' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a household");
    let staff_id: String = db
        .query_row(
            "SELECT id FROM users WHERE username = 'bench-staff'",
            [],
            |r| r.get(0),
        )
        .expect("the staff user");
    let pages = [
        "/dashboard".to_string(),
        "/indicators/G13".into(),
        "/indicators/G15?year=2024".into(),
        "/indicators/G4".into(),
        "/indicators/G13/numbers.csv".into(),
        "/indicators/G13/report".into(),
        "/programs".into(),
        "/programs/reading".into(),
        "/programs/reading?period=month".into(),
        "/scorecard/settings".into(),
        "/scorecard".into(),
        "/records".into(),
        format!("/records?after={at}:{id}"),
        "/records?kind=response".into(),
        "/records?neighborhood=north".into(),
        "/records?conflicts=1".into(),
        "/records?q=household%2012345".into(),
        format!("/records/{conflicted}"),
        "/users".into(),
        "/devices".into(),
        "/indicators/G13/targets".into(),
        // The partnership run from the browser (issue 22).
        "/responses".into(),
        "/responses/household_survey".into(),
        format!("/responses/household_survey?after={survey_at}:{survey_id}"),
        "/responses/household_survey?neighborhood=north&status=final".into(),
        "/responses/household_survey?since=2026-01-01&until=2026-12-31".into(),
        "/responses/household_survey?q=vi".into(),
        format!("/responses/household_survey/{survey_id}"),
        "/responses/literacy_checkin".into(),
        "/responses/case_note".into(),
        "/households".into(),
        format!("/households/{household_id}"),
        "/follow-ups".into(),
        "/follow-ups?assigned=nobody&since=2026-06-01".into(),
        "/exports".into(),
        "/lists".into(),
    ];
    println!(
        "{records} records ({} survey responses); first dashboard after opening: {:.0} ms",
        args.responses,
        ms(cold)
    );
    println!("| page | median ms | max ms | bytes |");
    println!("|---|---|---|---|");
    for page in &pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.runs {
            let (t, b) = time(&app, &cookie, page).await;
            times.push(t);
            bytes = b;
        }
        times.sort();
        println!(
            "| `{page}` | {:.1} | {:.1} | {bytes} |",
            ms(times[times.len() / 2]),
            ms(*times.last().expect("runs"))
        );
    }
    // The audit log is for admins alone.
    match storage.create_user("bench-admin", "password-123", Role::Admin, None) {
        Ok(_) | Err(server::storage::StorageError::AlreadyExists(_)) => {}
        Err(e) => panic!("admin: {e}"),
    }
    let admin = storage
        .sign_in("bench-admin", "password-123", "web session")
        .expect("sign in")
        .expect("admin session");
    let admin_cookie = format!("{}={}", server::web::SESSION_COOKIE, admin.token);
    // The audit log and a user's page are an admin's (staff do not manage
    // themselves).
    for page in ["/audit".to_string(), format!("/users/{staff_id}")] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.runs {
            let (t, b) = time(&app, &admin_cookie, &page).await;
            times.push(t);
            bytes = b;
        }
        times.sort();
        println!(
            "| `{page}` (as admin) | {:.1} | {:.1} | {bytes} |",
            ms(times[times.len() / 2]),
            ms(*times.last().expect("runs"))
        );
    }
    // Exports are files, not pages: the time to the last byte, once each.
    println!();
    println!("| export | seconds | bytes |");
    println!("|---|---|---|");
    for export in [
        "/exports/literacy_checkin.csv",
        "/exports/literacy_checkin.xlsx",
        "/exports/case_note.xlsx",
        "/exports/household_survey.csv",
        "/exports/household_survey.xlsx",
    ] {
        let (t, b) = time(&app, &cookie, export).await;
        println!("| `{export}` | {:.2} | {b} |", t.as_secs_f64());
    }
}
