//! Calculations on any question, and the ODK functions that need the response:
//! `now()`, `random()`, `position(..)`, `indexed-repeat()`, `jr:choice-name()`.

use chrono::{DateTime, NaiveDate};
use serde_json::json;

use super::Moment;
use crate::{Answers, CompiledForm, Form, IssueKind, Value};

fn compiled(items: serde_json::Value) -> CompiledForm {
    let json = json!({
        "id": "t", "version": 1,
        "languages": [{"code": "en", "name": "English"}, {"code": "es", "name": "Español"}],
        "items": items,
        "choices": {"fruit": [
            {"name": "ap", "label": {"en": "Apple", "es": "Manzana"}},
            {"name": "ba", "label": {"en": "Banana"}}
        ]}
    });
    serde_json::from_value::<Form>(json)
        .unwrap()
        .compile()
        .unwrap()
}

fn answers(json: serde_json::Value) -> Answers {
    serde_json::from_value(json).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

#[test]
fn a_calculation_gives_any_question_its_answer() {
    let f = compiled(json!([
        {"type": "integer", "name": "n"},
        {"type": "integer", "name": "double", "calculation": "${n} * 2"},
        {"type": "text", "name": "big", "calculation": "${n} > 5"},
        {"type": "integer", "name": "half", "calculation": "${n} div 2"},
        {"type": "note", "name": "show", "label": "x", "calculation": "${n} + 1"},
        {"type": "date", "name": "when", "calculation": "today() + ${n}"}
    ]));
    let v = f.validate(
        &answers(json!({"n": 3, "double": 99, "show": 1})),
        "en",
        day(),
    );
    assert_eq!(
        v.answers.value("double"),
        Some(&Value::Int(6)),
        "replaces 99"
    );
    assert_eq!(v.answers.value("big"), Some(&Value::Text("false".into())));
    assert_eq!(v.answers.value("show"), None, "a note holds no answer");
    assert_eq!(
        v.state("show").unwrap().value,
        Value::Int(4),
        "but shows its value"
    );
    assert_eq!(
        v.answers.value("when"),
        Some(&Value::Text("2025-03-13".into()))
    );
    assert!(v.state("double").unwrap().read_only);
    // A computed value is checked against the question's type.
    let issues: Vec<_> = v.issues.iter().map(|i| (i.path.as_str(), i.kind)).collect();
    assert_eq!(issues, [("half", IssueKind::Type)]);
    // Computed empty: no answer, whatever was given.
    let v = f.validate(&answers(json!({"double": 4})), "en", day());
    assert_eq!(v.answers.value("double"), None);
}

#[test]
fn a_later_calculated_question_settles() {
    let f = compiled(json!([
        {"type": "calculate", "name": "early", "calculation": "${late} + 1"},
        {"type": "integer", "name": "late", "calculation": "10"}
    ]));
    let v = f.validate(&Answers::default(), "en", day());
    assert_eq!(v.answers.value("early"), Some(&Value::Int(11)));
}

#[test]
fn now_and_random_are_kept_once_given_and_deterministic_otherwise() {
    let f = compiled(json!([
        {"type": "datetime", "name": "stamp", "calculation": "now()"},
        {"type": "calculate", "name": "draw", "calculation": "random()"},
        {"type": "calculate", "name": "other", "calculation": "random()"},
        {"type": "calculate", "name": "id", "calculation": "once(uuid())"},
        {"type": "calculate", "name": "arm", "calculation": "if(${draw} < 0.5, 'a', 'b')"}
    ]));
    // The server validates with a date: now() is its midnight UTC.
    let v = f.validate(&Answers::default(), "en", day());
    assert!(v.is_valid(), "{:?}", v.issues);
    assert_eq!(
        v.answers.value("stamp"),
        Some(&Value::Text("2025-03-10T00:00:00.000+00:00".into()))
    );
    let again = f.validate(&Answers::default(), "en", day());
    assert_eq!(
        again.answers, v.answers,
        "the same response, the same values"
    );
    let draw = v.answers.value("draw").cloned().unwrap();
    assert_ne!(
        Some(&draw),
        v.answers.value("other"),
        "each question draws its own"
    );
    // A device's moment: its clock and seed.
    let at = DateTime::parse_from_rfc3339("2025-03-10T16:45:12.5-05:00").unwrap();
    let device = f.validate(&Answers::default(), "en", Moment { now: at, seed: 7 });
    assert_eq!(
        device.answers.value("stamp"),
        Some(&Value::Text("2025-03-10T16:45:12.500-05:00".into()))
    );
    assert_ne!(device.answers.value("draw"), Some(&draw));
    // The server keeps what the device computed, later edits too.
    let pushed = device.answers.clone();
    let server = f.validate(&pushed, "en", day());
    assert_eq!(server.answers, device.answers);
    assert!(server.is_valid(), "{:?}", server.issues);
    // A device-side datetime that is not one is still a type error.
    let bad = answers(json!({"stamp": "yesterday"}));
    let v = f.validate(&bad, "en", day());
    assert_eq!(v.issues[0].path, "stamp");
    assert_eq!(v.issues[0].kind, IssueKind::Type);
    // Moment::device() gives different seeds.
    assert_ne!(Moment::device().seed, Moment::device().seed);
}

#[test]
fn position_and_indexed_repeat_see_the_instances() {
    let f = compiled(json!([
        {"type": "repeat", "name": "family", "items": [
            {"type": "repeat", "name": "person", "items": [
                {"type": "integer", "name": "age"},
                {"type": "calculate", "name": "pos", "calculation": "position(..)"},
                {"type": "calculate", "name": "prev",
                 "calculation": "if(position(..) = 1, '', indexed-repeat(${age}, ${person}, position(..) - 1))"}
            ]}
        ]},
        {"type": "calculate", "name": "second",
         "calculation": "indexed-repeat(${age}, ${family}, 1, ${person}, 2)"},
        {"type": "calculate", "name": "missing",
         "calculation": "indexed-repeat(${age}, ${family}, 3, ${person}, 1)"}
    ]));
    let a = answers(json!({"family": [
        {"person": [{"age": 30}, {"age": 4}, {"age": 7}]},
        {"person": [{"age": 50}]}
    ]}));
    let v = f.validate(&a, "en", day());
    assert!(v.is_valid(), "{:?}", v.issues);
    let people = v.answers.repeat("family")[0].repeat("person");
    let got: Vec<_> = people
        .iter()
        .map(|p| (p.value("pos").cloned(), p.value("prev").cloned()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(Value::Int(1)), None),
            (Some(Value::Int(2)), Some(Value::Int(30))),
            (Some(Value::Int(3)), Some(Value::Int(4)))
        ]
    );
    assert_eq!(v.answers.value("second"), Some(&Value::Int(4)));
    assert_eq!(v.answers.value("missing"), None, "no third family");
}

#[test]
fn choice_name_gives_the_label_in_the_language() {
    let f = compiled(json!([
        {"type": "select_one fruit", "name": "pick"},
        {"type": "calculate", "name": "shown", "calculation": "jr:choice-name(${pick}, '${pick}')"}
    ]));
    let a = answers(json!({"pick": "ap"}));
    let shown = |lang: &str| {
        f.validate(&a, lang, day())
            .answers
            .value("shown")
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(shown("en"), Value::Text("Apple".into()));
    assert_eq!(shown("es"), Value::Text("Manzana".into()));
    let a = answers(json!({"pick": "ba"}));
    let v = f.validate(&a, "es", day());
    assert_eq!(
        v.answers.value("shown"),
        Some(&Value::Text("Banana".into())),
        "falls back to the default language"
    );
}

#[test]
fn a_workbook_calculation_on_any_type_reads_and_trigger_is_a_warning() {
    use crate::xlsform::{read_sheets, Sheet};
    let sheet = |name: &str, rows: &[&[&str]]| Sheet {
        name: name.into(),
        first_row: 1,
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    };
    let survey = sheet(
        "survey",
        &[
            &["type", "name", "label", "calculation", "trigger"],
            &["integer", "n", "N", "", ""],
            &["integer", "double", "Double", "${n} * 2", ""],
            &["datetime", "changed", "Changed", "now()", "${n}"],
            &["text", "cleared", "Cleared", "", "${n}"],
            &["calculate", "ts", "", "once(decimal-date-time(now()))", ""],
        ],
    );
    let settings = sheet("settings", &[&["form_id"], &["t"]]);
    let reading = read_sheets(&[survey, settings], "t.xlsx", &[]).unwrap();
    let warnings: Vec<String> = reading.warnings.iter().map(|w| w.to_string()).collect();
    let trigger: Vec<&String> = warnings.iter().filter(|w| w.contains("trigger")).collect();
    assert_eq!(trigger.len(), 2, "{warnings:?}");
    assert!(
        trigger[0].contains("row 4, column trigger")
            && trigger[0].contains("compute the calculation"),
        "{trigger:?}"
    );
    assert!(
        trigger[1].contains("row 5") && trigger[1].contains("do not clear"),
        "{trigger:?}"
    );
    let f = reading.form.compile().unwrap();
    let v = f.validate(&answers(json!({"n": 4})), "", day());
    assert!(v.is_valid(), "{:?}", v.issues);
    assert_eq!(v.answers.value("double"), Some(&Value::Int(8)));
    assert_eq!(
        v.answers.value("changed"),
        Some(&Value::Text("2025-03-10T00:00:00.000+00:00".into()))
    );
    assert_eq!(v.answers.value("ts"), Some(&Value::Int(20157)));
}

#[test]
fn a_trigger_names_questions_someone_answers() {
    use crate::xlsform::{read_sheets, Sheet};
    let read = |trigger: &str| {
        let rows: Vec<Vec<String>> = [
            ["type", "name", "label", "calculation", "trigger"],
            ["text", "a", "A", "", ""],
            ["text", "b", "B", "", ""],
            ["integer", "two", "Two", "1 + 1", ""],
            ["calculate", "nine", "", "5 + 4", ""],
            ["datetime", "c", "C", "now()", trigger],
        ]
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
        let survey = Sheet {
            name: "survey".into(),
            first_row: 1,
            rows,
        };
        read_sheets(&[survey], "t.xlsx", &[])
    };
    assert!(read("${a}").is_ok());
    assert!(read(" ${a} , ${b} ").is_ok());
    assert!(read("${a},, ${b} ,").is_ok(), "empty parts are skipped");
    for bad in ["${a}${b}", ",${a}${b}", ",", "6", "a"] {
        let errors = read(bad).unwrap_err();
        assert!(
            errors[0].to_string().contains("row 6, column trigger")
                && errors[0].message.contains("a trigger names questions"),
            "{bad}: {errors:?}"
        );
    }
    let errors = read("${zz}").unwrap_err();
    assert!(
        errors[0].message.contains("${zz} is not a question"),
        "{errors:?}"
    );
    for calculated in ["${two}", "${nine}"] {
        let errors = read(calculated).unwrap_err();
        assert!(errors[0].message.contains("is calculated"), "{errors:?}");
    }
}
