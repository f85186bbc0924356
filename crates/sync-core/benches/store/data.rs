//! The data: a household-survey response, and creating one in a store.

use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Store};
use uuid::Uuid;

use crate::measure::Rng;
use crate::{BenchResult, CHANGED_FIELD, LIKERT4};

pub(crate) const NEIGHBORHOODS: [&str; 12] = [
    "bg-010", "bg-011", "bg-012", "bg-020", "bg-021", "bg-030", "bg-031", "bg-040", "bg-041",
    "bg-050", "bg-051", "bg-060",
];

pub(crate) fn scope(rng: &mut Rng) -> Scope {
    Scope::partnership("promise-east")
        .with_organization("org-outreach")
        .with_neighborhood(rng.pick(&NEIGHBORHOODS))
        .with_family(Uuid::from_u64_pair(rng.next(), rng.next()).to_string())
}

pub(crate) fn form() -> FormRef {
    FormRef {
        id: "household_survey".into(),
        version: 3,
    }
}

/// A space-separated `select_multiple` answer of 1 to `max` distinct choices.
pub(crate) fn select_multiple(rng: &mut Rng, choices: &[&str], max: usize) -> String {
    let count = 1 + rng.below(max);
    let mut chosen: Vec<&str> = Vec::with_capacity(count);
    while chosen.len() < count {
        let c = rng.pick(choices);
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    chosen.join(" ")
}

/// One household-survey response: the form's household answers, ODK-style
/// metadata answers and 1-4 `child` repeat instances (uniformly), about 40 answers.
pub(crate) fn household_response(rng: &mut Rng, serial: usize) -> Answers {
    let mut a = Answers::new();
    let day = 1 + rng.below(28);
    let minute = rng.below(600);
    let start = format!(
        "2025-03-{day:02}T{:02}:{:02}:{:02}-07:00",
        9 + minute / 60,
        minute % 60,
        rng.below(60)
    );
    let end = format!(
        "2025-03-{day:02}T{:02}:{:02}:{:02}-07:00",
        9 + (minute + 20) / 60,
        (minute + 20) % 60,
        rng.below(60)
    );
    // ODK metadata and visit bookkeeping.
    a.set("start", start)
        .set("end", end)
        .set("today", format!("2025-03-{day:02}"))
        .set("deviceid", format!("android-{:016x}", rng.next()))
        .set("username", format!("worker-{:02}", rng.below(40)))
        .set(
            "instance_id",
            format!("uuid:{}", Uuid::from_u64_pair(rng.next(), rng.next())),
        )
        .set("visit_number", (1 + rng.below(3)) as i64)
        .set("duration_min", (12 + rng.below(30)) as i64)
        .set(
            "interviewer_notes",
            format!("Visit {serial}: family met at home, follow-up on pre-K enrollment requested."),
        );
    // The household questions.
    let children = 1 + rng.below(4);
    let home_language = rng.pick(&["en", "es", "vi", "ar", "so", "other"]);
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", rng.pick(&["en", "es"]))
        .set("home_language", home_language)
        .set(
            "location",
            format!(
                "45.{:06} -122.{:06} {}.0 {}.{}",
                rng.below(1_000_000),
                rng.below(1_000_000),
                20 + rng.below(60),
                3 + rng.below(10),
                rng.below(10)
            ),
        )
        .set(CHANGED_FIELD, rng.pick(&LIKERT4))
        .set("home_internet", rng.pick(&["yes", "no"]))
        .set(
            "home_devices",
            select_multiple(rng, &["computer", "tablet", "smartphone"], 3),
        )
        .set("children_count", children as i64);
    if home_language == "other" {
        a.set("home_language_other", "Tagalog");
    }
    let grades = [
        "none", "prek", "k", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
    ];
    let kids = (0..children)
        .map(|_| {
            let age = rng.below(19);
            let mut c = Answers::new();
            let usual_place = rng.pick(&["yes", "yes", "yes", "no", "dk"]);
            c.set("age_years", age as i64)
                .set("hispanic", rng.pick(&["yes", "no", "refuse"]))
                .set(
                    "race",
                    select_multiple(rng, &["aian", "asian", "black", "nhpi", "white", "mena"], 2),
                )
                .set("grade", grades[age.saturating_sub(3).min(grades.len() - 1)])
                .set("usual_place", usual_place)
                .set(
                    "early_learning",
                    rng.pick(&[
                        "none",
                        "head_start",
                        "public_prek",
                        "child_care_center",
                        "relative_care",
                    ]),
                )
                .set(
                    "read_times",
                    rng.pick(&["never", "once_twice", "three_plus", "daily"]),
                )
                .set("college_talk", rng.pick(&["yes", "no"]));
            if usual_place == "yes" {
                c.set(
                    "place_type",
                    rng.pick(&["doctor_office", "clinic", "er", "other"]),
                );
            }
            c
        })
        .collect();
    a.set_repeat("child", kids);
    a
}

/// Scalar answers in a response, repeat instances included.
pub(crate) fn count_answers(answers: &Answers) -> usize {
    answers
        .iter()
        .map(|(_, answer)| match answer {
            sync_core::Answer::Value(_) => 1,
            sync_core::Answer::Repeat(items) => items.iter().map(count_answers).sum(),
        })
        .sum()
}

/// Create one response; returns its id and the index in [`LIKERT4`] of its
/// `feel_safe_day` answer (so that the write phase can always change it).
pub(crate) fn create_one(
    store: &mut Store,
    rng: &mut Rng,
    serial: usize,
) -> BenchResult<(Uuid, u8)> {
    let answers = household_response(rng, serial);
    let feel_safe = match answers.value(CHANGED_FIELD) {
        Some(sync_core::Value::Text(t)) => LIKERT4.iter().position(|c| c == t).unwrap_or(0) as u8,
        _ => 0,
    };
    let scope = scope(rng);
    let commit = Commit::new("worker-17", "Recorded household survey");
    let id = store.create(RecordKind::Response, scope, Some(form()), &answers, &commit)?;
    Ok((id, feel_safe))
}
