//! Attached files a workbook names but was uploaded without.
//!
//! The reference converter accepts such a workbook (ODK Central then asks for the
//! files), so it publishes here too, with a warning on each row that names a missing
//! file: the form records the file in [`Form::missing_files`], and until a version
//! with it is published, a select from it offers no choices and `pulldata()` or an
//! `instance()` lookup on it gives nothing. Lists in `.xml` or `.geojson` files, which
//! devices cannot read yet, are treated the same way with their own warning.

use std::collections::{BTreeSet, HashMap};

use super::XlsFormWarning;
use crate::expr::{self, TableUse};
use crate::model::{DataFile, Form, Item};

/// Record in `form.missing_files` every file its selects, `pulldata()` calls and
/// `instance()` lookups name that `files` lacks, and warn on each row that names one.
pub(super) fn record(
    form: &mut Form,
    files: &[DataFile],
    rows_of: &HashMap<String, usize>,
    heading: impl Fn(&str) -> String,
    sheet: &str,
    warnings: &mut Vec<XlsFormWarning>,
) {
    let mut missing = BTreeSet::new();
    let mut found = Vec::new();
    walk(&form.items, &mut |question, column, name| {
        found.push((question.to_string(), column, name));
    });
    for (question, column, named) in found {
        let (file, message) = match named {
            Named::List(list) => {
                let lower = list.to_ascii_lowercase();
                let csv = lower.ends_with(".csv");
                if !(csv || lower.ends_with(".xml") || lower.ends_with(".geojson"))
                    || form.choices.contains_key(&list)
                    || files.iter().any(|f| f.name == list)
                {
                    continue;
                }
                let message = if csv {
                    format!(
                        "needs the file `{list}`: attach it beside the workbook; until a \
                         version with it is published, `{question}` offers no choices"
                    )
                } else {
                    format!(
                        "`{list}`: only CSV files are read; save the list as a CSV file \
                         (columns `name`, `label`) and attach it; until then `{question}` \
                         offers no choices"
                    )
                };
                (list, message)
            }
            Named::Table(table) => {
                let stem = table.strip_suffix(".csv").unwrap_or(&table).to_string();
                let full = format!("{stem}.csv");
                if form.choices.contains_key(&stem) || files.iter().any(|f| f.name == full) {
                    continue;
                }
                let message = format!(
                    "needs the file `{full}`: attach it beside the workbook; until a \
                     version with it is published, what `{question}` reads from it is empty"
                );
                (full, message)
            }
        };
        missing.insert(file);
        warnings.push(XlsFormWarning {
            sheet: sheet.to_string(),
            row: rows_of.get(&question).copied().unwrap_or(1),
            column: Some(heading(column)),
            message,
        });
    }
    form.missing_files = missing.into_iter().collect();
}

/// A file named by a question.
enum Named {
    /// The list of a select (`select_one fruits.csv`).
    List(String),
    /// The first argument of `pulldata('fruits', ...)`, or `instance('fruits')`.
    Table(String),
}

fn walk(items: &[Item], found: &mut impl FnMut(&str, &'static str, Named)) {
    for item in items {
        match item {
            Item::Question(q) => {
                if let Some(list) = q.qtype.list() {
                    found(&q.name, "type", Named::List(list.to_string()));
                }
                let columns = [
                    ("relevant", &q.relevant),
                    ("constraint", &q.constraint),
                    ("calculation", &q.calculation),
                    ("required", &q.required_if),
                    ("read_only", &q.read_only_if),
                    ("choice_filter", &q.choice_filter),
                ];
                for (column, text) in columns {
                    for table in text.as_deref().map(tables_named).unwrap_or_default() {
                        found(&q.name, column, Named::Table(table));
                    }
                }
            }
            Item::Group(g) => {
                for table in g.relevant.as_deref().map(tables_named).unwrap_or_default() {
                    found(&g.name, "relevant", Named::Table(table));
                }
                walk(&g.items, found);
            }
            Item::Repeat(r) => {
                for text in [&r.relevant, &r.repeat_count].into_iter().flatten() {
                    for table in tables_named(text) {
                        found(&r.name, "relevant", Named::Table(table));
                    }
                }
                walk(&r.items, found);
            }
        }
    }
}

/// The tables an expression names (`pulldata('fruits', ...)`, `instance('fruits')`),
/// as the form's compile reads them ([`crate::expr::Expr::tables`]); bare names are
/// read as a choice filter's columns. One that does not parse names none here: compile
/// reports it.
fn tables_named(text: &str) -> Vec<String> {
    let Ok(expr) = expr::compile_filter(text, &|_| true, &|_| true) else {
        return Vec::new();
    };
    expr.tables()
        .into_iter()
        .filter_map(|table| match table {
            TableUse::Pulldata { file, .. } => file,
            TableUse::Lookup { table, .. } => Some(table),
        })
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::tables_named;

    #[test]
    fn tables_are_found_in_expressions() {
        assert_eq!(
            tables_named(
                "pulldata('fruits', 'price', 'name', ${f}) + pulldata( \"veg.csv\" ,'a','b',1)"
            ),
            ["fruits", "veg.csv"]
        );
        assert_eq!(
            tables_named("instance('places')/root/item[name = ${p}]/label"),
            ["places"]
        );
        assert!(tables_named("concat('pulldata', ${x})").is_empty());
    }
}
