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
                "{pad}{} {}{}{}",
                q.name,
                q.qtype,
                if q.required { " required" } else { "" },
                q.calculation
                    .as_ref()
                    .map(|c| format!(" = {c}"))
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
