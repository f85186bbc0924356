//! The reader, sheet by sheet and workbook by workbook.

use super::*;
use crate::model::Item;
use crate::Value;

#[cfg(feature = "xlsx")]
#[test]
fn a_zip_bomb_is_refused_before_it_is_unpacked() {
    use std::io::Write;
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![b'0'; 1024 * 1024];
        for _ in 0..80 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
    let errors = read_xlsx(&bytes).unwrap_err();
    assert!(
        errors[0].message.contains("unpacks to 83886080 bytes"),
        "{errors:?}"
    );
    let junk = read_xlsx(b"PK\x03\x04 not really a zip").unwrap_err();
    assert!(
        junk[0].message.contains("not an .xlsx workbook"),
        "{junk:?}"
    );
}

fn sheet(name: &str, rows: &[&[&str]]) -> Sheet {
    Sheet {
        name: name.into(),
        first_row: 1,
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

fn settings() -> Sheet {
    sheet(
        "settings",
        &[
            &["form_id", "version", "form_title", "default_language"],
            &["check", "3", "Check", "English (en)"],
        ],
    )
}

#[test]
fn a_bilingual_form_with_a_repeat_reads_whole() {
    let survey = sheet(
        "survey",
        &[
            &[
                "type",
                "name",
                "label::English (en)",
                "label::Español (es)",
                "required",
                "relevant",
                "constraint",
                "constraint_message::English (en)",
                "default",
                "repeat_count",
            ],
            &[
                "select_one yes_no",
                "consent",
                "Consent?",
                "¿Consiente?",
                "yes",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "begin_repeat",
                "child",
                "Child",
                "Niño",
                "",
                "${consent} = 'yes'",
                "",
                "",
                "",
                "2",
            ],
            &[
                "integer", "age", "Age", "Edad", "TRUE()", "", ". < 18", "Under 18", "5", "",
            ],
            &["end repeat", "", "", "", "", "", "", "", "", ""],
            &["", "", "", "", "", "", "", "", "", ""],
        ],
    );
    let choices = sheet(
        "choices",
        &[
            &[
                "list_name",
                "name",
                "label::English (en)",
                "label::Español (es)",
            ],
            &["yes_no", "yes", "Yes", "Sí"],
            &["yes_no", "no", "No", "No"],
        ],
    );
    let form = from_sheets(&[survey, choices, settings()]).unwrap();
    assert_eq!((form.id.as_str(), form.version), ("check", 3));
    assert_eq!(form.default_language, "en");
    let codes: Vec<&str> = form.languages.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, ["en", "es"]);
    let Item::Question(consent) = &form.items[0] else {
        panic!()
    };
    assert!(consent.required);
    assert_eq!(consent.label.exact("es"), Some("¿Consiente?"));
    let Item::Repeat(child) = &form.items[1] else {
        panic!()
    };
    assert_eq!(child.repeat_count.as_deref(), Some("2"));
    assert_eq!(child.relevant.as_deref(), Some("${consent} = 'yes'"));
    let Item::Question(age) = &child.items[0] else {
        panic!()
    };
    assert_eq!(age.default, Some(Value::Int(5)));
    assert_eq!(age.constraint_message.exact("en"), Some("Under 18"));
    assert_eq!(form.choices["yes_no"][0].label.exact("es"), Some("Sí"));
    form.compile().unwrap();
}

#[test]
fn errors_name_the_sheet_row_and_column() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label", "required"],
            &["select_one nope", "a", "A", "maybe"],
            &["integr", "b", "B", ""],
            &["begin group", "g", "G", ""],
        ],
    );
    let errors = from_sheets(&[survey, settings()]).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("survey sheet, row 2, column required: `maybe`")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t
                .starts_with("survey sheet, row 3, column type: unknown question type `integr`")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("row 4") && t.contains("never closed")),
        "{text:?}"
    );

    // The form's own checks come back on their rows too: an unknown list.
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label"],
            &["text", "x", "X"],
            &["select_one nope", "a", "A"],
        ],
    );
    let errors = from_sheets(&[survey, settings()]).unwrap_err();
    assert_eq!(errors[0].row, 3, "{errors:?}");

    let missing = from_sheets(&[settings()]).unwrap_err();
    assert!(missing[0].message.contains("no `survey` sheet"));
    let no_id = from_sheets(&[sheet("survey", &[&["type", "name"], &["text", "x"]])]).unwrap_err();
    assert!(no_id[0].message.contains("form_id"), "{no_id:?}");
}

#[test]
fn a_form_id_that_is_not_a_name_is_read_as_one_with_a_warning() {
    let survey = sheet("survey", &[&["type", "name", "label"], &["text", "q", "Q"]]);
    let settings = sheet("settings", &[&["form_id"], &["Spec test (v2)"]]);
    let reading = read_sheets(&[survey.clone(), settings], "x.xlsx", &[]).unwrap();
    assert_eq!(reading.form.id, "Spec_test_v2");
    assert!(
        reading
            .warnings
            .iter()
            .any(|w| w.column.as_deref() == Some("form_id")
                && w.message
                    .contains("`Spec test (v2)` is read as `Spec_test_v2`")),
        "{:?}",
        reading.warnings
    );
    let nothing = sheet("settings", &[&["form_id"], &["(!)"]]);
    let errors = read_sheets(&[survey, nothing], "x.xlsx", &[]).unwrap_err();
    assert!(
        errors[0].message.contains("no letter or digit"),
        "{errors:?}"
    );
}

#[test]
fn default_language_may_name_the_language() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label::English (en)", "label::Español (es)"],
            &["text", "q", "Q", "P"],
        ],
    );
    let settings = sheet(
        "settings",
        &[&["form_id", "default_language"], &["f", "español"]],
    );
    let form = read_sheets(&[survey, settings], "", &[]).unwrap().form;
    assert_eq!(form.default_language, "es");
}

#[test]
fn a_list_on_both_choice_sheets_offers_both_with_a_warning() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label"],
            &["select_one c1", "q1", "Q1"],
            &["select_one_external c1", "q2", "Q2"],
            &["select_one_external towns", "q3", "Q3"],
        ],
    );
    let choices = sheet(
        "choices",
        &[
            &["list_name", "name", "label"],
            &["c1", "a", "A"],
            &["c1", "b", "B"],
        ],
    );
    let external = sheet(
        "external_choices",
        &[
            &["list_name", "name", "label"],
            &["c1", "b", "B again"],
            &["c1", "e", "E"],
            &["towns", "x", "X"],
        ],
    );
    let reading = read_sheets(&[survey, choices, external, settings()], "", &[]).unwrap();
    let names = |list: &str| -> Vec<String> {
        reading.form.choices[list]
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names("c1"), ["a", "b", "e"]);
    assert_eq!(names("towns"), ["x"]);
    assert!(
        reading
            .warnings
            .iter()
            .any(|w| w.sheet == "external_choices" && w.message.contains("`c1`")),
        "{:?}",
        reading.warnings
    );
}

#[test]
fn a_select_from_earlier_repeat_answers_offers_the_roster() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label", "choice_filter"],
            &["begin repeat", "child", "Child", ""],
            &["text", "child_name", "Name", ""],
            &["integer", "age", "Age", ""],
            &["end repeat", "", "", ""],
            &[
                "select one ${child_name}",
                "youngest",
                "Youngest?",
                "${age} < 5",
            ],
            &[
                "select_multiple ${child_name}",
                "in_school",
                "In school?",
                "",
            ],
        ],
    );
    let form = from_sheets(&[survey, settings()]).unwrap();
    let compiled = form.compile().unwrap();
    let answers: crate::Answers = serde_json::from_value(serde_json::json!({
        "child": [{"child_name": "Ana", "age": 3}, {"child_name": "Ben", "age": 9}],
        "youngest": "Ana", "in_school": "Ben"
    }))
    .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let v = compiled.validate(&answers, "en", today);
    assert!(v.is_valid(), "{:#?}", v.issues);
    let offered = |path: &str| v.state(path).unwrap().choices.clone().unwrap();
    assert_eq!(offered("youngest"), ["Ana"]);
    assert_eq!(offered("in_school"), ["Ana", "Ben"]);

    // Outside a repeat, `${name}` is no list: the row says why.
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label"],
            &["text", "top", "Top"],
            &["select_one ${top}", "pick", "Pick"],
        ],
    );
    let errors = from_sheets(&[survey, settings()]).unwrap_err();
    assert_eq!(
        (errors[0].row, errors[0].column.as_deref()),
        (3, Some("type"))
    );
    assert!(
        errors[0].message.contains("`top` is not inside a repeat"),
        "{errors:?}"
    );
}

// The survey sheet: groups, repeats, loops and what their rows may carry.
fn group_settings() -> Sheet {
    sheet("settings", &[&["form_id", "version"], &["groups", "1"]])
}

const HEADER: &[&str] = &[
    "type",
    "name",
    "label::English (en)",
    "hint::English (en)",
    "hint::Español (es)",
    "appearance",
    "relevant",
    "repeat_count",
    "required",
    "read_only",
    "constraint",
    "constraint_message::Español (es)",
];

#[test]
fn groups_and_repeats_keep_their_hint_and_appearance() {
    let survey = sheet(
        "survey",
        &[
            HEADER,
            &[
                "begin group",
                "visit",
                "The visit",
                "Once consent is given.",
                "Con el consentimiento.",
                "field-list",
                "1 = 1",
                "",
                "no",
                "",
                "",
                "",
            ],
            &[
                "text", "place", "Where?", "", "", "", "", "", "", "", "", "",
            ],
            &["end group", "", "", "", "", "", "", "", "", "", "", ""],
            &[
                "begin repeat",
                "member",
                "Member",
                "One per person.",
                "",
                "minimal",
                "",
                "2",
                "",
                "",
                "",
                "",
            ],
            &["text", "who", "Who?", "", "", "", "", "", "", "", "", ""],
            &["end repeat", "", "", "", "", "", "", "", "", "", "", ""],
        ],
    );
    let reading = read_sheets(&[survey, group_settings()], "groups.xlsx", &[]).unwrap();
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    let Item::Group(visit) = &reading.form.items[0] else {
        panic!("not a group")
    };
    assert_eq!(visit.appearance.as_deref(), Some("field-list"));
    assert_eq!(visit.hint.exact("en"), Some("Once consent is given."));
    assert_eq!(visit.hint.exact("es"), Some("Con el consentimiento."));
    assert_eq!(visit.relevant.as_deref(), Some("1 = 1"));
    let Item::Repeat(member) = &reading.form.items[1] else {
        panic!("not a repeat")
    };
    assert_eq!(member.appearance.as_deref(), Some("minimal"));
    assert_eq!(member.hint.exact("en"), Some("One per person."));
    assert_eq!(member.repeat_count.as_deref(), Some("2"));
}

#[test]
fn question_columns_on_a_group_are_warned_and_required_refused() {
    let survey = sheet(
        "survey",
        &[
            HEADER,
            &[
                "begin group",
                "visit",
                "The visit",
                "",
                "",
                "",
                "",
                "3",
                "",
                "yes",
                ". > 1",
                "Mal",
            ],
            &[
                "text", "place", "Where?", "", "", "", "", "", "", "", "", "",
            ],
            &[
                "end group",
                "visit",
                "Again",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    );
    let reading = read_sheets(&[survey, group_settings()], "groups.xlsx", &[]).unwrap();
    let warnings: Vec<String> = reading.warnings.iter().map(ToString::to_string).collect();
    for expected in [
        "survey sheet, row 2, column repeat_count: `repeat_count` on a group is read, not used",
        "survey sheet, row 2, column constraint: `constraint` on a group is read, not used",
        "survey sheet, row 2, column constraint_message::Español (es): \
         `constraint_message` on a group",
        "survey sheet, row 4, column label::English (en): `label` on an `end group` row",
    ] {
        assert!(
            warnings.iter().any(|w| w.starts_with(expected)),
            "{expected}: {warnings:#?}"
        );
    }
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    // `read_only: yes` on the group holds for the questions inside, as in ODK.
    let Item::Group(visit) = &reading.form.items[0] else {
        panic!("{:?}", reading.form.items)
    };
    let Item::Question(place) = &visit.items[0] else {
        panic!("{:?}", visit.items)
    };
    assert!(place.read_only);

    // As the reference: a group, repeat or loop cannot be required.
    for required in ["yes", "${place} != ''"] {
        let survey = sheet(
            "survey",
            &[
                &["type", "name", "label", "required"],
                &["begin repeat", "member", "Member", required],
                &["text", "who", "Who?", ""],
                &["end repeat", "", "", ""],
            ],
        );
        let errors = read_sheets(&[survey, group_settings()], "", &[]).unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .starts_with("survey sheet, row 2, column required: a repeat cannot be required"),
            "{errors:?}"
        );
    }
}

#[test]
fn a_loop_keeps_its_hint_and_appearance_on_the_outer_group() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label", "hint", "appearance"],
            &[
                "begin loop over fruit",
                "each",
                "Each fruit",
                "About %(label)s",
                "field-list",
            ],
            &["integer", "count", "How many %(label)s?", "", ""],
            &["end loop", "", "", "", ""],
        ],
    );
    let choices = sheet(
        "choices",
        &[
            &["list_name", "name", "label"],
            &["fruit", "apple", "Apple"],
            &["fruit", "kiwi", "Kiwi"],
        ],
    );
    let reading = read_sheets(&[survey, choices, group_settings()], "", &[]).unwrap();
    let Item::Group(each) = &reading.form.items[0] else {
        panic!("not a group")
    };
    assert_eq!(each.appearance.as_deref(), Some("field-list"));
    assert_eq!(each.hint.get("en", "en"), Some("About %(label)s"));
    assert_eq!(each.items.len(), 2);
}

#[test]
fn osm_without_a_list_reads_with_a_warning() {
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label"],
            &["osm", "building", "B"],
            &["text", "t", "T"],
        ],
    );
    let reading = read_sheets(&[survey, settings()], "", &[]).unwrap();
    assert!(
        reading
            .warnings
            .iter()
            .any(|w| w.row == 2 && w.message.contains("osm")),
        "{:?}",
        reading.warnings
    );
}
