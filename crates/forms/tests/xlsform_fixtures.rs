//! The XLSForm edge cases in `tests/fixtures/xlsform/` (made by `make.py` there): each
//! workbook is read and its outcome, a summary of the form or its errors one per line,
//! must equal `<case>.expected`. Errors name the sheet, the row as the spreadsheet
//! numbers it, and the column.

#![cfg(feature = "xlsx")]

use std::path::PathBuf;

use forms::xlsform::read_xlsx;
use forms::{Form, Item};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/xlsform")
}

fn outline(items: &[Item], depth: usize, out: &mut Vec<String>) {
    for item in items {
        let pad = "  ".repeat(depth);
        match item {
            Item::Question(q) => out.push(format!(
                "{pad}{} {}{}{}{}",
                q.name,
                q.qtype,
                if q.required { " required" } else { "" },
                q.calculation
                    .as_ref()
                    .map(|c| format!(" = {c}"))
                    .unwrap_or_default(),
                q.choice_filter
                    .as_ref()
                    .map(|c| format!(" where {c}"))
                    .unwrap_or_default()
            )),
            Item::Group(g) => {
                let when = g
                    .relevant
                    .as_ref()
                    .map(|r| format!(" if {r}"))
                    .unwrap_or_default();
                out.push(format!("{pad}group {}{when}", g.name));
                outline(&g.items, depth + 1, out);
            }
            Item::Repeat(r) => {
                let count = r
                    .repeat_count
                    .as_ref()
                    .map(|c| format!(" count {c}"))
                    .unwrap_or_default();
                out.push(format!("{pad}repeat {}{count}", r.name));
                outline(&r.items, depth + 1, out);
            }
        }
    }
}

fn summary(form: &Form) -> String {
    let languages: Vec<&str> = form.languages.iter().map(|l| l.code.as_str()).collect();
    let mut lines = vec![format!(
        "ok {} version {} default {} languages [{}]",
        form.id,
        form.version,
        form.default_language,
        languages.join(",")
    )];
    outline(&form.items, 0, &mut lines);
    lines.join("\n")
}

#[test]
fn every_edge_case_reads_as_expected() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    let mut wrong = Vec::new();
    for case in &cases {
        let got = match read_xlsx(&std::fs::read(case).unwrap()) {
            Ok(form) => summary(&form),
            Err(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        };
        let expected = std::fs::read_to_string(case.with_extension("expected"))
            .unwrap_or_else(|_| format!("(no {})", case.with_extension("expected").display()));
        if got.trim() != expected.trim() {
            wrong.push(format!(
                "{}:\n--- expected\n{}\n--- got\n{}",
                case.display(),
                expected.trim(),
                got
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The cascading select of `choice_filter.xlsx`: the cities offered follow the county
/// answered, and a city of another county is not a valid answer.
#[test]
fn choice_filter_offers_and_checks_the_cities_of_the_county() {
    let bytes = std::fs::read(fixtures().join("choice_filter.xlsx")).unwrap();
    let form = read_xlsx(&bytes).unwrap().compile().unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let answers = |county: &str, city: &str| {
        let mut a = forms::Answers::new();
        a.set("county", county)
            .set("city", city)
            .set("again", "yes");
        a
    };
    let offered = |v: &forms::Validation, name: &str| {
        v.states
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.choices.clone())
    };

    let good = form.validate(&answers("north", "elm"), "en", today);
    assert!(good.issues.is_empty(), "{:?}", good.issues);
    assert_eq!(
        offered(&good, "city"),
        Some(vec!["ash".into(), "elm".into()])
    );
    assert_eq!(offered(&good, "again"), Some(vec!["yes".into()]));
    assert_eq!(offered(&good, "county"), None);

    let wrong = form.validate(&answers("north", "oak"), "en", today);
    assert_eq!(wrong.issues.len(), 1, "{:?}", wrong.issues);
    assert_eq!(wrong.issues[0].path, "city");
    assert_eq!(wrong.issues[0].kind, forms::IssueKind::NotAChoice);

    let south = form.validate(&answers("south", "oak"), "en", today);
    assert!(south.issues.is_empty(), "{:?}", south.issues);
    assert_eq!(offered(&south, "city"), Some(vec!["oak".into()]));

    let mut none = forms::Answers::new();
    none.set("again", "yes");
    let unanswered = form.validate(&none, "en", today);
    assert_eq!(offered(&unanswered, "city"), Some(vec![]));
}
