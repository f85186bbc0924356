//! Forms with attached data files: choices from a file, `pulldata()`, `instance()`
//! lookups, the JSON shape, and `allow_choice_duplicates`.

use chrono::NaiveDate;
use serde_json::json;

use crate::{Answers, DataFile, Form, FormErrorKind, IssueKind, Value};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

fn fruits() -> DataFile {
    DataFile::from_csv(
        "fruits.csv",
        "name,label::English (en),label::Español (es),color,price\n\
         apple,Apple,Manzana,red,3\nkiwi,Kiwi,Kiwi,green,5\nlime,Lime,Lima,green,2\n"
            .as_bytes(),
    )
    .unwrap()
}

fn form(items: serde_json::Value, files: Vec<DataFile>) -> Form {
    let mut form: Form = serde_json::from_value(json!({
        "id": "t", "version": 1,
        "languages": [{"code": "en", "name": "English"}, {"code": "es", "name": "Español"}],
        "items": items,
        "choices": {"yn": [{"name": "yes", "label": "Yes"}, {"name": "no", "label": "No"}]}
    }))
    .unwrap();
    form.data_files = files;
    form
}

fn answers(json: serde_json::Value) -> Answers {
    serde_json::from_value(json).unwrap()
}

#[test]
fn select_from_file_offers_and_checks_the_files_rows() {
    let f = form(
        json!([
            {"type": "select_one fruits.csv", "name": "fruit"},
            {"type": "select_multiple fruits.csv", "name": "greens", "choice_filter": "color = 'green'"}
        ]),
        vec![fruits()],
    )
    .compile()
    .unwrap();
    assert_eq!(f.files_used(), ["fruits.csv"]);
    let names: Vec<&str> = f
        .choices("fruits.csv")
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["apple", "kiwi", "lime"]);
    assert_eq!(f.choice_label("fruits.csv", "apple", "es"), Some("Manzana"));
    let v = f.validate(
        &answers(json!({"fruit": "kiwi", "greens": "kiwi lime"})),
        "en",
        today(),
    );
    assert!(v.is_valid(), "{:#?}", v.issues);
    let v = f.validate(
        &answers(json!({"fruit": "pear", "greens": "apple"})),
        "en",
        today(),
    );
    let kinds: Vec<(&str, IssueKind)> =
        v.issues.iter().map(|i| (i.path.as_str(), i.kind)).collect();
    assert_eq!(kinds[0], ("fruit", IssueKind::NotAChoice));
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(
        v.state("greens").unwrap().choices.as_deref(),
        Some(&["kiwi".to_string(), "lime".to_string()][..])
    );
}

#[test]
fn value_and_label_parameters_pick_the_columns() {
    let f = form(
        json!([{"type": "select_one fruits.csv", "name": "c", "parameters": "value=color label=name"}]),
        vec![fruits()],
    )
    .compile()
    .unwrap();
    let cs = f.choices("fruits.csv").unwrap();
    assert_eq!(cs[0].name, "red");
    assert_eq!(cs[0].label.get("en", "en"), Some("apple"));
    let errors = form(
        json!([
            {"type": "select_one fruits.csv", "name": "a", "parameters": "value=id"},
        ]),
        vec![fruits()],
    )
    .compile()
    .unwrap_err();
    assert_eq!(errors[0].column, "parameters");
    assert!(errors[0].message.contains("no column `id`"), "{errors:?}");
    let errors = form(
        json!([
            {"type": "select_one fruits.csv", "name": "a"},
            {"type": "select_one fruits.csv", "name": "b", "parameters": "value=color"}
        ]),
        vec![fruits()],
    )
    .compile()
    .unwrap_err();
    assert!(errors[0].message.contains("same `value=`"), "{errors:?}");
}

#[test]
fn pulldata_and_lookups_evaluate_over_the_file() {
    let f = form(
        json!([
            {"type": "select_one fruits.csv", "name": "fruit"},
            {"type": "calculate", "name": "price", "calculation": "pulldata('fruits', 'price', 'name', ${fruit})"},
            {"type": "calculate", "name": "color", "calculation": "instance('fruits')/root/item[name = ${fruit}]/color"},
            {"type": "calculate", "name": "yes_label", "calculation": "instance('yn')/root/item[name = 'yes']/label"},
            {"type": "calculate", "name": "first", "calculation": "instance('fruits')/root/item/name"},
            {"type": "integer", "name": "paid", "constraint": ". >= ${price}"},
            {"type": "select_one yn", "name": "sure",
             "choice_filter": "name != instance('yn')/root/item[label = 'No']/name"}
        ]),
        vec![fruits()],
    )
    .compile()
    .unwrap();
    let v = f.validate(
        &answers(json!({"fruit": "kiwi", "paid": 6, "sure": "yes"})),
        "en",
        today(),
    );
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(v.answers.value("price"), Some(&Value::Text("5".into())));
    assert_eq!(v.answers.value("color"), Some(&Value::Text("green".into())));
    assert_eq!(
        v.answers.value("yes_label"),
        Some(&Value::Text("Yes".into()))
    );
    assert_eq!(v.answers.value("first"), Some(&Value::Text("apple".into())));
    let v = f.validate(
        &answers(json!({"fruit": "kiwi", "paid": 4, "sure": "no"})),
        "en",
        today(),
    );
    let kinds: Vec<(&str, IssueKind)> =
        v.issues.iter().map(|i| (i.path.as_str(), i.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("paid", IssueKind::Constraint),
            ("sure", IssueKind::NotAChoice)
        ]
    );
    // No row matches: empty, as ODK.
    let v = f.validate(&answers(json!({"fruit": "apple"})), "en", today());
    assert_eq!(v.answers.value("price"), Some(&Value::Text("3".into())));
}

#[test]
fn missing_files_and_columns_are_form_errors() {
    let errors = form(
        json!([
            {"type": "select_one fruits.csv", "name": "a"},
            {"type": "select_one places.xml", "name": "b"},
            {"type": "calculate", "name": "c", "calculation": "pulldata('prices', 'p', 'name', 'x')"},
            {"type": "calculate", "name": "d", "calculation": "pulldata(${a}, 'p', 'name', 'x')"}
        ]),
        vec![],
    )
    .compile()
    .unwrap_err();
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.item.as_str(), e.column.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a", "type"),
            ("b", "type"),
            ("c", "calculation"),
            ("d", "calculation")
        ]
    );
    assert_eq!(
        errors[0].message,
        "needs the file `fruits.csv`: upload it beside the workbook"
    );
    assert!(errors[1].message.contains("only CSV"), "{}", errors[1]);
    assert_eq!(
        errors[2].message,
        "needs the file `prices.csv`: upload it beside the workbook"
    );
    assert!(errors.iter().all(|e| e.kind == FormErrorKind::DataFile));
    let errors = form(
        json!([
            {"type": "calculate", "name": "c", "calculation": "pulldata('fruits', 'size', 'name', 'x')"},
            {"type": "calculate", "name": "d", "calculation": "instance('fruits')/root/item[size = 1]/name"},
            {"type": "calculate", "name": "e", "calculation": "instance('nothing')/root/item/name"}
        ]),
        vec![fruits()],
    )
    .compile()
    .unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].message.contains("no column `size`"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].message.contains("no column `size`"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].message.contains("no choice list `nothing`"),
        "{}",
        errors[2]
    );
}

#[test]
fn other_instance_paths_are_clear_errors() {
    for bad in [
        "instance('fruits')",
        "instance('fruits')/root/item",
        "instance('fruits')/item/name",
        "instance('fruits')/root/item[name = 'a']/label/x",
        "instance(${a})/root/item/name",
        "instance('fruits')/root/item[name = 'a'/name",
    ] {
        let err = crate::expr::parse(bad).unwrap_err();
        assert!(
            err.message
                .contains("instance('list')/root/item[column = value]/column"),
            "{bad}: {err}"
        );
    }
    // Division stays `div`, and a path without instance() is still refused.
    let err = crate::expr::parse("${a} / 2").unwrap_err();
    assert!(err.message.contains("use `div`"), "{err}");
}

#[test]
fn json_carries_the_files_and_old_definitions_still_read() {
    let f = form(
        json!([{"type": "select_one fruits.csv", "name": "fruit"}]),
        vec![fruits()],
    );
    let text = f.to_json();
    assert!(text.contains("\"data_files\""), "{text}");
    let back = Form::from_json(&text).unwrap();
    assert_eq!(back, f);
    assert!(back.compile().is_ok());
    let plain = form(json!([{"type": "text", "name": "t"}]), vec![]);
    let text = plain.to_json();
    assert!(!text.contains("data_files") && !text.contains("allow_choice_duplicates"));
    assert_eq!(Form::from_json(&text).unwrap(), plain);
    let bad_name = Form {
        data_files: vec![DataFile {
            name: "../x.csv".into(),
            columns: vec!["name".into()],
            rows: vec![],
        }],
        ..plain
    };
    let errors = bad_name.compile().unwrap_err();
    assert_eq!(errors[0].column, "data_files");
}

#[test]
fn duplicate_choices_only_with_the_setting() {
    let mut f = form(json!([{"type": "select_one yn", "name": "a"}]), vec![]);
    f.choices.get_mut("yn").unwrap().push(crate::Choice {
        name: "yes".into(),
        label: crate::Labels::from_pairs([("", "Yes again")]),
        columns: Default::default(),
    });
    let errors = f.clone().compile().unwrap_err();
    assert!(errors[0].message.contains("appears twice"), "{errors:?}");
    f.allow_choice_duplicates = true;
    let c = f.compile().unwrap();
    assert_eq!(c.choices("yn").unwrap().len(), 3);
    let v = c.validate(&answers(json!({"a": "yes"})), "en", today());
    assert!(v.is_valid());
}

#[test]
fn a_file_published_missing_gives_no_choices_and_empty_lookups() {
    let items = json!([
        {"type": "select_one fruits.csv", "name": "fruit"},
        {"type": "select_one fruits.csv", "name": "red", "choice_filter": "color = 'red'"},
        {"type": "calculate", "name": "price", "calculation": "pulldata('fruits', 'price', 'name', ${fruit})"},
        {"type": "calculate", "name": "tag", "calculation": "concat('x', instance('fruits')/root/item[name = ${fruit}]/color)"}
    ]);
    // Named nowhere: an error, as before.
    let err = form(items.clone(), vec![]).compile().unwrap_err();
    assert!(
        err.iter().any(|e| e.kind == FormErrorKind::DataFile),
        "{err:?}"
    );
    assert!(
        err[0].message.contains("needs the file `fruits.csv`"),
        "{err:?}"
    );
    // Named as missing: it compiles; no choices, and what is read from it is empty.
    let mut missing = form(items, vec![]);
    missing.missing_files = vec!["fruits.csv".into()];
    let round = Form::from_json(&missing.to_json()).unwrap();
    assert_eq!(round.missing_files, ["fruits.csv"]);
    let f = round.compile().unwrap();
    assert!(f.choices("fruits.csv").unwrap().is_empty());
    assert!(f.files_used().is_empty());
    let v = f.validate(&answers(json!({})), "en", today());
    assert!(v.is_valid(), "{:?}", v.issues);
    assert_eq!(v.answers.value("tag"), Some(&Value::from("x")));
    let v = f.validate(&answers(json!({"fruit": "kiwi"})), "en", today());
    assert!(
        v.issues.iter().any(|i| i.kind == IssueKind::NotAChoice),
        "{:?}",
        v.issues
    );
}
