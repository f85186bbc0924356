//! The XLSForm edge cases in `tests/fixtures/xlsform/` (made by `make.py` there): each
//! workbook is read and its outcome, a summary of the form or its errors one per line,
//! must equal `<case>.expected`. Errors name the sheet, the row as the spreadsheet
//! numbers it, and the column.
//!
//! The reference converter's aliases, types, settings and columns in
//! `crates/forms/tests/xlsform/` (made by `make_fixtures.py` there), each as `.xlsx` and
//! `.xls`: both must read to `<case>.expected` (a fuller outline, and the warnings).
//! `XLSFORM_BLESS=1` writes the expected files from what is read, to be reviewed.
//! The CSV files attached to a case `name` are the `*.csv` in `name.files/` beside it.

#![cfg(feature = "xlsx")]

use std::path::PathBuf;

use forms::xlsform::{read_workbook, read_xlsx, Reading};
use forms::{DataFile, Form, Item, Labels};

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

fn reader_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/xlsform")
}

fn text(labels: &Labels, lang: &str) -> String {
    let mut parts: Vec<String> = labels
        .0
        .iter()
        .map(|(code, t)| {
            if code.is_empty() || code == lang {
                t.clone()
            } else {
                format!("{code}:{t}")
            }
        })
        .collect();
    parts.sort();
    parts.join(" | ")
}

/// Every kept field of every item, one item a line.
fn full_outline(form: &Form, items: &[Item], depth: usize, out: &mut Vec<String>) {
    let lang = form.default_language.as_str();
    for item in items {
        let pad = "  ".repeat(depth);
        match item {
            Item::Question(q) => {
                let mut line = format!("{pad}{} {}", q.name, q.qtype);
                let mut add = |key: &str, value: String| {
                    if !value.is_empty() {
                        line.push_str(&format!(" {key}[{value}]"));
                    }
                };
                add("label", text(&q.label, lang));
                add("hint", text(&q.hint, lang));
                add(
                    "required",
                    if q.required {
                        "yes".into()
                    } else {
                        q.required_if.clone().unwrap_or_default()
                    },
                );
                add(
                    "read_only",
                    if q.read_only {
                        "yes".into()
                    } else {
                        q.read_only_if.clone().unwrap_or_default()
                    },
                );
                add("relevant", q.relevant.clone().unwrap_or_default());
                add("constraint", q.constraint.clone().unwrap_or_default());
                add("message", text(&q.constraint_message, lang));
                add("calculation", q.calculation.clone().unwrap_or_default());
                add("filter", q.choice_filter.clone().unwrap_or_default());
                add(
                    "default",
                    q.default
                        .as_ref()
                        .map(|d| format!("{d:?}"))
                        .unwrap_or_default(),
                );
                out.push(line);
            }
            Item::Group(g) => {
                out.push(format!(
                    "{pad}group {} [{}]{}",
                    g.name,
                    text(&g.label, lang),
                    g.relevant
                        .as_ref()
                        .map(|r| format!(" if {r}"))
                        .unwrap_or_default()
                ));
                full_outline(form, &g.items, depth + 1, out);
            }
            Item::Repeat(r) => {
                out.push(format!("{pad}repeat {} [{}]", r.name, text(&r.label, lang)));
                full_outline(form, &r.items, depth + 1, out);
            }
        }
    }
}

fn full_summary(reading: &Reading) -> String {
    let form = &reading.form;
    let languages: Vec<&str> = form.languages.iter().map(|l| l.code.as_str()).collect();
    let mut lines = vec![format!(
        "ok {} version {} title [{}] default {} languages [{}]",
        form.id,
        form.version,
        text(&form.title, &form.default_language),
        form.default_language,
        languages.join(",")
    )];
    full_outline(form, &form.items, 0, &mut lines);
    for (list, choices) in &form.choices {
        let names: Vec<String> = choices
            .iter()
            .map(|c| format!("{}={}", c.name, text(&c.label, &form.default_language)))
            .collect();
        lines.push(format!("list {list}: {}", names.join(", ")));
    }
    for file in &form.data_files {
        lines.push(format!(
            "file {}: columns [{}], {} rows",
            file.name,
            file.columns.join(", "),
            file.rows.len()
        ));
        if let Some(choices) = form.list_choices(&file.name) {
            let names: Vec<String> = choices
                .iter()
                .map(|c| format!("{}={}", c.name, text(&c.label, &form.default_language)))
                .collect();
            lines.push(format!("list {}: {}", file.name, names.join(", ")));
        }
    }
    if !reading.files_used.is_empty() {
        lines.push(format!("files used: {}", reading.files_used.join(", ")));
    }
    lines.extend(reading.warnings.iter().map(|w| format!("warning: {w}")));
    lines.join("\n")
}

/// The CSV files attached to the case at `path`: `*.csv` in `<case>.files/`.
fn attached(path: &std::path::Path) -> Vec<DataFile> {
    let Ok(dir) = std::fs::read_dir(path.with_extension("files")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = dir.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            DataFile::from_csv(&name, &std::fs::read(p).unwrap()).unwrap()
        })
        .collect()
}

fn outcome(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    match read_workbook(&std::fs::read(path).unwrap(), &name, &attached(path)) {
        Ok(reading) => full_summary(&reading),
        Err(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Each reference case, as `.xlsx` and as `.xls`, reads to its expected outcome.
#[test]
fn every_reference_case_reads_the_same_from_xlsx_and_xls() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(reader_fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx" || e == "xls"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "{cases:?}");
    let bless = std::env::var_os("XLSFORM_BLESS").is_some();
    let mut wrong = Vec::new();
    for case in &cases {
        let got = outcome(case);
        let expected_path = case.with_extension("expected");
        if bless && case.extension().is_some_and(|e| e == "xlsx") {
            std::fs::write(&expected_path, format!("{got}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| format!("(no {})", expected_path.display()));
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

/// Nothing is dropped in silence: every cell of every row of the survey and choices
/// sheets (labels, hints, relevance, constraints, calculations, choices, appearance)
/// is in the published definition (its JSON), or a warning names its column.
#[test]
fn every_cell_reaches_the_definition_or_a_warning() {
    use calamine::{Reader, Xlsx};
    for case in [
        "everything_reaches_the_definition",
        "bind_and_body_columns",
        "or_other",
    ] {
        let path = reader_fixtures().join(format!("{case}.xlsx"));
        let reading =
            read_workbook(&std::fs::read(&path).unwrap(), "x.xlsx", &attached(&path)).unwrap();
        let json = reading.form.to_json();
        let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let mut checked = 0;
        for sheet in ["survey", "choices"] {
            let Ok(range) = book.worksheet_range(sheet) else {
                continue;
            };
            let mut rows = range.rows();
            let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
            for row in rows {
                for (heading, cell) in header.iter().zip(row) {
                    let text = cell.to_string();
                    if text.is_empty() || heading == "type" && text.contains(' ') {
                        continue;
                    }
                    let warned = reading
                        .warnings
                        .iter()
                        .any(|w| w.column.as_deref() == Some(heading.as_str()));
                    // A yes in `required` is `"required": true`.
                    let flag = text.eq_ignore_ascii_case("yes") && json.contains(": true");
                    assert!(
                        warned || flag || json.contains(&text),
                        "{case}: `{text}` ({sheet}, {heading}) is in neither the definition nor a warning\n{json}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 5, "{case}: {checked} cells");
    }
}
