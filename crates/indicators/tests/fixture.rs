//! The indicators over a fixture of 200 households (260 children), against a table
//! computed by hand from the fixture's design, suppression included.
//!
//! The design (each group's households alike but for the splits named):
//!
//! | group | households | where, language | children |
//! |---|---|---|---|
//! | A | 80 | east, English | one, age 4, pre-K, Black, not Hispanic; usual place: doctor's office 60, emergency room 10, none 10; early learning: Head Start 50, none 20, relative care 10; read: daily 30, 3+ 20, once or twice 20, never 10 |
//! | B | 60 | west, Spanish | two: age 7 grade 2 and age 15 grade 10, both Hispanic, White; internet with a smartphone 40, no internet 20; the younger read 3+ 45, once or twice 15; the older talked about college: yes 36, no 24 |
//! | C | 50 | east, Vietnamese | one, age 10 grade 5, not Hispanic; Asian 42 (read daily 21, never 21), Asian and White 8 (daily 4, never 4); internet with a computer 30, with no device 10, no internet 10 |
//! | D | 8 | west, Somali | one, age 1, not in school, Hispanic and race refused; usual place "don't know"; early learning: child care center 4, none 4; read daily 4, never 4 |
//! | E | 2 | east, English | one, age 2, not in school, Hispanic, White; usual place doctor's office; Early Head Start; read daily |

use forms::{Answers, Value};
use indicators::{
    children, overall, survey_indicators, table, ChildRow, Dimension, Hidden, Indicator, Shown,
};

fn household(
    rows: &mut Vec<ChildRow>,
    hood: &str,
    language: &str,
    internet: Option<(&str, &str)>,
    kids: Vec<Answers>,
) {
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("home_language", language);
    match internet {
        Some((yes_no, devices)) => {
            a.set("home_internet", yes_no);
            if !devices.is_empty() {
                a.set("home_devices", devices);
            }
        }
        None => {
            a.set("home_internet", Value::Null);
        }
    }
    a.set_repeat("child", kids);
    rows.extend(children(&a, Some(hood)));
}

fn kid(pairs: &[(&str, &str)], age: i64) -> Answers {
    let mut a = Answers::new();
    a.set("age_years", age);
    for (k, v) in pairs {
        a.set(*k, *v);
    }
    a
}

/// The `n`th of a group's items falls in the split whose running total first exceeds it.
fn split<'a>(n: usize, splits: &[(usize, &'a str)]) -> &'a str {
    let mut upto = 0;
    for (count, value) in splits {
        upto += count;
        if n < upto {
            return value;
        }
    }
    panic!("split past its end")
}

fn fixture() -> Vec<ChildRow> {
    let mut rows = Vec::new();
    let mut households = 0;
    for i in 0..80 {
        let place = split(i, &[(60, "doctor_office"), (10, "er"), (10, "")]);
        let mut child = vec![
            ("grade", "prek"),
            ("hispanic", "no"),
            ("race", "black"),
            ("usual_place", if place.is_empty() { "no" } else { "yes" }),
            (
                "early_learning",
                split(
                    i,
                    &[(50, "head_start"), (20, "none"), (10, "relative_care")],
                ),
            ),
            (
                "read_times",
                split(
                    i,
                    &[
                        (30, "daily"),
                        (20, "three_plus"),
                        (20, "once_twice"),
                        (10, "never"),
                    ],
                ),
            ),
        ];
        if !place.is_empty() {
            child.push(("place_type", place));
        }
        household(
            &mut rows,
            "east",
            "en",
            Some(("no", "")),
            vec![kid(&child, 4)],
        );
        households += 1;
    }
    for i in 0..60 {
        let internet = if i < 40 {
            ("yes", "smartphone")
        } else {
            ("no", "")
        };
        let younger = kid(
            &[
                ("grade", "2"),
                ("hispanic", "yes"),
                ("race", "white"),
                (
                    "read_times",
                    split(i, &[(45, "three_plus"), (15, "once_twice")]),
                ),
            ],
            7,
        );
        let older = kid(
            &[
                ("grade", "10"),
                ("hispanic", "yes"),
                ("race", "white"),
                ("college_talk", split(i, &[(36, "yes"), (24, "no")])),
            ],
            15,
        );
        household(
            &mut rows,
            "west",
            "es",
            Some(internet),
            vec![younger, older],
        );
        households += 1;
    }
    for i in 0..50 {
        let (race, read) = if i < 42 {
            ("asian", split(i, &[(21, "daily"), (21, "never")]))
        } else {
            ("asian white", split(i - 42, &[(4, "daily"), (4, "never")]))
        };
        let internet = match split(i, &[(30, "computer"), (10, "none"), (10, "")]) {
            "" => ("no", ""),
            devices => ("yes", devices),
        };
        let child = kid(
            &[
                ("grade", "5"),
                ("hispanic", "no"),
                ("race", race),
                ("read_times", read),
            ],
            10,
        );
        household(&mut rows, "east", "vi", Some(internet), vec![child]);
        households += 1;
    }
    for i in 0..8 {
        let child = kid(
            &[
                ("grade", "none"),
                ("hispanic", "refuse"),
                ("race", "refuse"),
                ("usual_place", "dk"),
                (
                    "early_learning",
                    split(i, &[(4, "child_care_center"), (4, "none")]),
                ),
                ("read_times", split(i, &[(4, "daily"), (4, "never")])),
            ],
            1,
        );
        household(&mut rows, "west", "so", None, vec![child]);
        households += 1;
    }
    for _ in 0..2 {
        let child = kid(
            &[
                ("grade", "none"),
                ("hispanic", "yes"),
                ("race", "white"),
                ("usual_place", "yes"),
                ("place_type", "doctor_office"),
                ("early_learning", "early_head_start"),
                ("read_times", "daily"),
            ],
            2,
        );
        household(&mut rows, "east", "en", Some(("no", "")), vec![child]);
        households += 1;
    }
    assert_eq!((households, rows.len()), (200, 260));
    rows
}

fn indicator(id: &str) -> Indicator {
    survey_indicators()
        .into_iter()
        .find(|i| i.id == id)
        .unwrap()
}

/// `"62/90 68.9"`, `"hidden"` or `"hidden (complementary)"`: how a page would show it.
fn show(shown: Shown) -> String {
    match shown {
        Shown::Value(e) => format!(
            "{}/{} {:.1}",
            e.numerator,
            e.denominator,
            e.percent().unwrap()
        ),
        Shown::Hidden(Hidden::Small) => "hidden".into(),
        Shown::Hidden(Hidden::Complementary) => "hidden (complementary)".into(),
    }
}

fn shown_table(id: &str, dimension: Dimension, min_cell: u64) -> Vec<(String, String)> {
    let t = table(&indicator(id), &fixture(), dimension, min_cell);
    let mut out = vec![("total".to_string(), show(t.total))];
    out.extend(t.cells.into_iter().map(|c| (c.category, show(c.shown))));
    out
}

fn expect(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn overall_values_match_the_hand_computed_table() {
    let rows = fixture();
    let expected = [
        // A: 60 of 80 (not the emergency room, not "no"); D: 0 of 8 ("don't know");
        // E: 2 of 2.
        ("G1", "62/90 68.9"),
        // Head Start 50 + child care center 4 + Early Head Start 2.
        ("G3", "56/90 62.2"),
        // Daily or 3+: A 30 + 20, D 4, E 2.
        ("G12", "56/90 62.2"),
        // B's younger 45 of 60, C 21 + 4 of 50.
        ("G13", "70/110 63.6"),
        ("G14", "36/60 60.0"),
        // Students: B's 120 children (80 with internet and a phone), C's 50 (30 with
        // a computer; "none" is no device).
        ("G15", "110/170 64.7"),
    ];
    for (id, want) in expected {
        assert_eq!(show(overall(&indicator(id), &rows, 10)), want, "{id}");
    }
}

#[test]
fn disaggregated_tables_match_with_primary_and_complementary_suppression() {
    // The 8 children of group C with two races are a small cell; hiding them alone
    // would let 4/8 be recomputed from the total, so the next smallest (Asian) goes.
    assert_eq!(
        shown_table("G13", Dimension::RaceEthnicity, 10),
        expect(&[
            ("total", "70/110 63.6"),
            ("Asian", "hidden (complementary)"),
            ("Hispanic or Latino", "45/60 75.0"),
            ("Two or more races", "hidden"),
        ])
    );
    // Two small cells hide each other: nothing more to hide.
    assert_eq!(
        shown_table("G12", Dimension::RaceEthnicity, 10),
        expect(&[
            ("total", "56/90 62.2"),
            ("Black or African American", "50/80 62.5"),
            ("Hispanic or Latino", "hidden"),
            ("Not reported", "hidden"),
        ])
    );
    // Two cells, one small: the other would give it away.
    assert_eq!(
        shown_table("G12", Dimension::Neighborhood, 10),
        expect(&[
            ("total", "56/90 62.2"),
            ("east", "hidden (complementary)"),
            ("west", "hidden"),
        ])
    );
    assert_eq!(
        shown_table("G15", Dimension::HomeLanguage, 10),
        expect(&[
            ("total", "110/170 64.7"),
            ("Spanish", "80/120 66.7"),
            ("Vietnamese", "30/50 60.0"),
        ])
    );
    // A cell of exactly the threshold is shown.
    assert_eq!(
        shown_table("G1", Dimension::AgeBand, 10),
        expect(&[
            ("total", "62/90 68.9"),
            ("0-2", "2/10 20.0"),
            ("3 to kindergarten entry", "60/80 75.0"),
        ])
    );
    assert_eq!(
        shown_table("G14", Dimension::RaceEthnicity2024, 10),
        expect(&[
            ("total", "36/60 60.0"),
            ("Hispanic or Latino", "36/60 60.0")
        ])
    );
}

#[test]
fn the_threshold_is_configurable() {
    assert_eq!(
        shown_table("G13", Dimension::RaceEthnicity, 5),
        expect(&[
            ("total", "70/110 63.6"),
            ("Asian", "21/42 50.0"),
            ("Hispanic or Latino", "45/60 75.0"),
            ("Two or more races", "4/8 50.0"),
        ])
    );
    // A total under the threshold hides the whole table.
    assert_eq!(
        shown_table("G14", Dimension::Neighborhood, 61),
        expect(&[("total", "hidden"), ("west", "hidden")])
    );
    assert_eq!(show(overall(&indicator("G14"), &fixture(), 61)), "hidden");
}
