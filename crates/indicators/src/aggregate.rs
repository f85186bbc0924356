//! The administrative indicators (G2, G4-G7, G11): partners upload aggregate rows
//! (a school district's assessment counts, say) as CSV, one row per indicator, year,
//! group and category, with a numerator and a denominator.
//!
//! The file's header names its columns, in any order:
//! `indicator,year,group,category,numerator,denominator`. The group `all` holds the
//! overall value (its category is ignored); any other group (`race_ethnicity`,
//! `school`, `grade`...) is a disaggregation whose categories add up to the overall.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::table::{suppress, Cell, Estimate, Shown};

/// An administrative indicator: its id and what it measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminIndicator {
    /// The id grantees publish (`G4`).
    pub id: &'static str,
    /// What it measures, for a person.
    pub title: &'static str,
}

/// The indicators that come from partners' administrative data.
pub const ADMIN_INDICATORS: [AdminIndicator; 6] = [
    AdminIndicator {
        id: "G2",
        title: "Children showing age-appropriate functioning across multiple domains at the start of the program or school year",
    },
    AdminIndicator {
        id: "G4",
        title: "Students at or above grade level on state assessments",
    },
    AdminIndicator {
        id: "G5",
        title: "Average daily attendance",
    },
    AdminIndicator {
        id: "G6",
        title: "Four-year adjusted cohort graduation rate",
    },
    AdminIndicator {
        id: "G7",
        title: "Graduates who earn a degree, certificate or credential without remediation",
    },
    AdminIndicator {
        id: "G11",
        title: "Student mobility rate: entries and withdrawals over first-day enrollment",
    },
];

/// The group that holds an indicator's overall value.
pub const OVERALL: &str = "all";

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;

/// One aggregate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateRow {
    /// An administrative indicator's id.
    pub indicator: String,
    /// The year the value is for.
    pub year: i32,
    /// `all`, or the disaggregation.
    pub group: String,
    /// The category within the group (empty for `all`).
    pub category: String,
    /// How many meet the indicator.
    pub numerator: u64,
    /// How many count: the n.
    pub denominator: u64,
}

/// What is wrong with one place of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct CsvError {
    /// The line (1 is the header).
    pub line: u64,
    /// The column's name, where one is at fault.
    pub column: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct RawRow {
    indicator: String,
    year: String,
    group: String,
    #[serde(default)]
    category: String,
    numerator: String,
    denominator: String,
}

/// Read an uploaded file: every row, or every error found (up to 50). A file with any
/// error is refused whole, so a partial upload never mixes with an old one.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<AggregateRow>, Vec<CsvError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut errors = Vec::new();
    match reader.headers() {
        Ok(headers) => {
            let missing: Vec<&str> = ["indicator", "year", "group", "numerator", "denominator"]
                .into_iter()
                .filter(|c| !headers.iter().any(|h| h == *c))
                .collect();
            if !missing.is_empty() {
                return Err(vec![CsvError {
                    line: 1,
                    column: None,
                    message: format!(
                        "the header lacks {}; it names indicator,year,group,category,numerator,denominator",
                        missing.join(", ")
                    ),
                }]);
            }
        }
        Err(e) => return Err(vec![csv_error(1, &e)]),
    }
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, record) in reader.deserialize::<RawRow>().enumerate() {
        let line = i as u64 + 2;
        if errors.len() >= 50 {
            break;
        }
        if rows.len() >= MAX_ROWS {
            errors.push(CsvError {
                line,
                column: None,
                message: format!("a file holds at most {MAX_ROWS} rows"),
            });
            break;
        }
        let raw = match record {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(csv_error(line, &e));
                continue;
            }
        };
        match check(raw, line) {
            Ok(row) => {
                let key = (
                    row.indicator.clone(),
                    row.year,
                    row.group.clone(),
                    row.category.clone(),
                );
                if let Some(first) = seen.insert(key, line) {
                    errors.push(CsvError {
                        line,
                        column: None,
                        message: format!(
                            "repeats the indicator, year, group and category of line {first}"
                        ),
                    });
                } else {
                    rows.push(row);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn csv_error(line: u64, e: &csv::Error) -> CsvError {
    let line = e.position().map_or(line, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => format!("cannot be read: {e}"),
    };
    CsvError {
        line,
        column: None,
        message,
    }
}

fn check(raw: RawRow, line: u64) -> Result<AggregateRow, CsvError> {
    let at = |column: &'static str, message: String| CsvError {
        line,
        column: Some(column),
        message,
    };
    let indicator = ADMIN_INDICATORS
        .iter()
        .find(|a| a.id.eq_ignore_ascii_case(&raw.indicator))
        .ok_or_else(|| {
            let ids: Vec<&str> = ADMIN_INDICATORS.iter().map(|a| a.id).collect();
            at(
                "indicator",
                format!(
                    "`{}` is not an administrative indicator (one of {})",
                    raw.indicator,
                    ids.join(", ")
                ),
            )
        })?;
    let year: i32 = raw
        .year
        .parse()
        .ok()
        .filter(|y| (1990..=2100).contains(y))
        .ok_or_else(|| at("year", format!("`{}` is not a year", raw.year)))?;
    let count = |column: &'static str, text: &str| {
        text.parse::<u64>()
            .ok()
            .filter(|n| *n <= 1_000_000_000)
            .ok_or_else(|| at(column, format!("`{text}` is not a whole number of people")))
    };
    let numerator = count("numerator", &raw.numerator)?;
    let denominator = count("denominator", &raw.denominator)?;
    if numerator > denominator {
        return Err(at(
            "numerator",
            format!("{numerator} is more than the denominator {denominator}"),
        ));
    }
    let group = raw.group.to_lowercase();
    if group.is_empty() || group.len() > 100 {
        return Err(at("group", "a group has 1 to 100 characters".into()));
    }
    if group != OVERALL && (raw.category.is_empty() || raw.category.len() > 200) {
        return Err(at(
            "category",
            "a category has 1 to 200 characters (the group `all` needs none)".into(),
        ));
    }
    Ok(AggregateRow {
        indicator: indicator.id.to_string(),
        year,
        category: if group == OVERALL {
            String::new()
        } else {
            raw.category
        },
        group,
        numerator,
        denominator,
    })
}

/// The overall value of uploaded rows for one indicator and year, suppressed.
pub fn aggregate_overall(rows: &[AggregateRow], min_cell: u64) -> Option<Shown> {
    rows.iter().find(|r| r.group == OVERALL).map(|r| {
        crate::table::shown(
            Estimate {
                numerator: r.numerator,
                denominator: r.denominator,
            },
            min_cell,
        )
    })
}

/// Each disaggregation of uploaded rows for one indicator and year, suppressed as the
/// survey tables are: (group, total, cells). The total is the `all` row when there is
/// one, else the sum of the group's cells.
pub fn aggregate_tables(rows: &[AggregateRow], min_cell: u64) -> Vec<(String, Shown, Vec<Cell>)> {
    let overall = rows.iter().find(|r| r.group == OVERALL);
    let mut groups: BTreeMap<&str, BTreeMap<String, Estimate>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.group != OVERALL) {
        groups.entry(&r.group).or_default().insert(
            r.category.clone(),
            Estimate {
                numerator: r.numerator,
                denominator: r.denominator,
            },
        );
    }
    groups
        .into_iter()
        .map(|(group, cells)| {
            let total = overall.map_or_else(
                || {
                    cells.values().fold(Estimate::default(), |t, e| Estimate {
                        numerator: t.numerator + e.numerator,
                        denominator: t.denominator + e.denominator,
                    })
                },
                |o| Estimate {
                    numerator: o.numerator,
                    denominator: o.denominator,
                },
            );
            let (total, cells) = suppress(cells, total, min_cell);
            (group.to_string(), total, cells)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hidden;

    #[test]
    fn a_good_file_reads_in_any_column_order() {
        let file = b"year,indicator,group,category,denominator,numerator\n\
            2026,G4,all,,120,54\n\
            2026,g4,race_ethnicity,Hispanic or Latino,70,30\n\
            2026,G4,race_ethnicity,Black or African American,44,22\n\
            2026,G4,race_ethnicity,Asian,6,2\n";
        let rows = parse_csv(file).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].indicator, "G4");
        assert_eq!((rows[0].numerator, rows[0].denominator), (54, 120));
        let overall = aggregate_overall(&rows, 10).unwrap();
        assert_eq!(overall.value().unwrap().denominator, 120);
        let tables = aggregate_tables(&rows, 10);
        assert_eq!(tables.len(), 1);
        let (group, _, cells) = &tables[0];
        assert_eq!(group, "race_ethnicity");
        let shown: Vec<_> = cells
            .iter()
            .map(|c| (c.category.as_str(), c.shown))
            .collect();
        assert_eq!(shown[0], ("Asian", Shown::Hidden(Hidden::Small)));
        assert_eq!(
            shown[1],
            (
                "Black or African American",
                Shown::Hidden(Hidden::Complementary)
            )
        );
        assert!(shown[2].1.value().is_some());
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let file = b"indicator,year,group,category,numerator,denominator\n\
            G9,2026,all,,1,2\n\
            G4,20x6,all,,1,2\n\
            G4,2026,all,,5,2\n\
            G4,2026,grade,,1,2\n\
            G5,2026,all,,-1,2\n\
            G5,2026,all,,1\n\
            G6,2026,all,,1,2\n\
            G6,2026,all,,1,2\n";
        let errors = parse_csv(file).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("line 2, column indicator: `G9`"),
            "{text:?}"
        );
        assert!(text[1].starts_with("line 3, column year"), "{text:?}");
        assert!(
            text[2].starts_with("line 4, column numerator: 5 is more"),
            "{text:?}"
        );
        assert!(text[3].starts_with("line 5, column category"), "{text:?}");
        assert!(text[4].starts_with("line 6, column numerator"), "{text:?}");
        assert!(
            text[5].contains("line 7") && text[5].contains("fields"),
            "{text:?}"
        );
        assert!(
            text[6].contains("line 9") && text[6].contains("line 8"),
            "{text:?}"
        );
        assert_eq!(errors.len(), 7);
        let missing = parse_csv(b"indicator,year\nG4,2026\n").unwrap_err();
        assert!(missing[0].message.contains("group"), "{missing:?}");
        assert!(parse_csv(b"\xff\xfe,\n").is_err());
        assert_eq!(
            parse_csv(b"indicator,year,group,numerator,denominator\n"),
            Ok(vec![])
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_rows_or_errors_never_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_csv(&bytes);
        }

        #[test]
        fn written_rows_read_back(rows in proptest::collection::vec(
            (0usize..6, 2000i32..2040, "[a-z]{1,8}", "[A-Za-z ]{1,12}", 0u64..5000, 0u64..5000), 0..30)
        ) {
            let mut file = String::from("indicator,year,group,category,numerator,denominator\n");
            let mut expected = Vec::new();
            let mut keys = std::collections::BTreeSet::new();
            for (i, year, group, category, a, b) in rows {
                let (numerator, denominator) = (a.min(b), a.max(b));
                let indicator = ADMIN_INDICATORS[i].id.to_string();
                let category = if group == OVERALL { String::new() } else { category.trim().to_string() };
                if category.is_empty() && group != OVERALL {
                    continue;
                }
                if !keys.insert((indicator.clone(), year, group.clone(), category.clone())) {
                    continue;
                }
                file.push_str(&format!("{indicator},{year},{group},{category},{numerator},{denominator}\n"));
                expected.push(AggregateRow { indicator, year, group, category, numerator, denominator });
            }
            proptest::prop_assert_eq!(parse_csv(file.as_bytes()), Ok(expected));
        }
    }
}
