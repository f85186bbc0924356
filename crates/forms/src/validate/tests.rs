//! Unit tests of validation and compilation, on small hand-written forms.

use chrono::NaiveDate;
use serde_json::json;

use crate::{Answer, Answers, CompiledForm, Form, IssueKind, Value};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

/// A form with these items and a `yes_no` list.
fn form(items: serde_json::Value) -> Form {
    let json = json!({
        "id": "t", "version": 1,
        "languages": [{"code": "en", "name": "English"}, {"code": "es", "name": "Español"}],
        "items": items,
        "choices": {"yes_no": [{"name": "yes"}, {"name": "no"}]}
    });
    serde_json::from_value(json).unwrap()
}

fn compiled(items: serde_json::Value) -> CompiledForm {
    form(items).compile().unwrap()
}

fn answers(json: serde_json::Value) -> Answers {
    serde_json::from_value(json).unwrap()
}

fn kinds(v: &crate::Validation) -> Vec<(String, IssueKind)> {
    v.issues.iter().map(|i| (i.path.clone(), i.kind)).collect()
}

#[test]
fn type_checks_report_type_issues_and_keep_the_answer() {
    let f = compiled(json!([
        {"type": "integer", "name": "i"},
        {"type": "decimal", "name": "d"},
        {"type": "date", "name": "day"},
        {"type": "geopoint", "name": "g"},
        {"type": "text", "name": "t"},
        {"type": "image", "name": "img"},
        {"type": "select_one yes_no", "name": "one"},
        {"type": "select_multiple yes_no", "name": "many"}
    ]));
    let good = answers(json!({
        "i": "12", "d": "2.5", "day": "2025-01-31", "g": "10 20", "t": 5,
        "img": "a.jpg", "one": "yes", "many": "no  yes"
    }));
    let v = f.validate(&good, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(
        v.answers,
        answers(json!({
            "i": 12, "d": 2.5, "day": "2025-01-31", "g": "10 20", "t": "5",
            "img": "a.jpg", "one": "yes", "many": "no yes"
        }))
    );
    let bad = answers(json!({
        "i": "1.5", "d": "abc", "day": "31/01/2025", "g": "100 20", "t": true,
        "img": 3, "one": "maybe", "many": "yes perhaps"
    }));
    let v = f.validate(&bad, "en", today());
    use IssueKind::*;
    let expected: Vec<(String, IssueKind)> = [
        ("i", Type),
        ("d", Type),
        ("day", Type),
        ("g", Type),
        ("t", Type),
        ("img", Type),
        ("one", NotAChoice),
        ("many", NotAChoice),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_string(), k))
    .collect();
    assert_eq!(kinds(&v), expected);
    assert_eq!(v.issues[0].message, "Enter a whole number.");
    assert_eq!(v.issues[7].message, "“perhaps” is not one of the choices.");
    assert_eq!(
        v.answers, bad,
        "answers that fail a check are kept as given"
    );
    let es = f.validate(&bad, "es", today());
    assert_eq!(
        es.issues[2].message,
        "Escriba una fecha con el formato AAAA-MM-DD."
    );
}

#[test]
fn empty_answers_are_removed_and_required_only_when_relevant() {
    let f = compiled(json!([
        {"type": "select_one yes_no", "name": "a", "required": true},
        {"type": "text", "name": "b", "required": true, "relevant": "${a} = 'yes'"},
        {"type": "text", "name": "c"}
    ]));
    let v = f.validate(&answers(json!({"a": "no", "c": "  "})), "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(v.answers, answers(json!({"a": "no"})));
    assert!(!v.state("b").unwrap().relevant);
    let v = f.validate(&answers(json!({"a": "yes", "b": null})), "en", today());
    assert_eq!(kinds(&v), [("b".to_string(), IssueKind::Required)]);
}

#[test]
fn calculations_are_computed_and_stored() {
    let f = compiled(json!([
        {"type": "integer", "name": "n"},
        {"type": "calculate", "name": "double", "calculation": "${n} * 2"},
        {"type": "calculate", "name": "label", "calculation": "concat('n=', ${n})"},
        {"type": "calculate", "name": "half", "calculation": "${n} div 4"},
        {"type": "note", "name": "show", "label": "Double: ${double}"}
    ]));
    let v = f.validate(
        &answers(json!({"n": 3, "double": 99, "show": "x"})),
        "en",
        today(),
    );
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(
        v.answers,
        answers(json!({"n": 3, "double": 6, "label": "n=3", "half": 0.75}))
    );
    assert!(v.state("double").unwrap().read_only);
    // With no input the arithmetic is NaN: nothing is stored.
    let v = f.validate(&Answers::new(), "en", today());
    assert_eq!(v.answers, answers(json!({"label": "n="})));
}

#[test]
fn a_calculation_further_down_settles() {
    let f = compiled(json!([
        {"type": "integer", "name": "age"},
        {"type": "text", "name": "school", "relevant": "${is_child} = 'yes'"},
        {"type": "calculate", "name": "is_child", "calculation": "if(${age} < 18, 'yes', 'no')"}
    ]));
    assert!(f.forward_refs);
    let v = f.validate(&answers(json!({"age": 9, "school": "Oak"})), "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(
        v.answers,
        answers(json!({"age": 9, "school": "Oak", "is_child": "yes"}))
    );
    let v = f.validate(&answers(json!({"age": 40, "school": "Oak"})), "en", today());
    assert_eq!(v.answers, answers(json!({"age": 40, "is_child": "no"})));
}

#[test]
fn a_non_relevant_group_hides_everything_inside() {
    let f = compiled(json!([
        {"type": "select_one yes_no", "name": "work"},
        {"type": "group", "name": "job", "relevant": "${work} = 'yes'", "items": [
            {"type": "text", "name": "employer", "required": true},
            {"type": "group", "name": "inner", "items": [
                {"type": "integer", "name": "hours", "required": true}
            ]},
            {"type": "repeat", "name": "shift", "items": [
                {"type": "text", "name": "day"}
            ]}
        ]}
    ]));
    let input = answers(json!({
        "work": "no", "employer": "ACME", "hours": 40, "shift": [{"day": "mon"}]
    }));
    let v = f.validate(&input, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(v.answers, answers(json!({"work": "no"})));
    for path in ["job", "employer", "inner", "hours", "shift"] {
        assert!(!v.state(path).unwrap().relevant, "{path}");
    }
    let v = f.validate(&answers(json!({"work": "yes"})), "en", today());
    assert_eq!(
        kinds(&v),
        [
            ("employer".to_string(), IssueKind::Required),
            ("hours".to_string(), IssueKind::Required)
        ]
    );
}

#[test]
fn repeat_instances_see_their_own_siblings() {
    let f = compiled(json!([
        {"type": "repeat", "name": "kid", "items": [
            {"type": "integer", "name": "age"},
            {"type": "select_one yes_no", "name": "in_school", "relevant": "${age} >= 5"},
            {"type": "integer", "name": "older", "constraint": ". = ${age} + 1"},
            {"type": "calculate", "name": "is_teen", "calculation": "${age} >= 13"}
        ]},
        {"type": "calculate", "name": "total_age", "calculation": "sum(${age})"},
        {"type": "calculate", "name": "kids", "calculation": "count(${kid})"},
        {"type": "text", "name": "teen_note", "relevant": "${age} >= 13"}
    ]));
    let input = answers(json!({
        "kid": [
            {"age": 3, "in_school": "yes", "older": 4},
            {"age": 14, "in_school": "no", "older": 9}
        ],
        "teen_note": "any instance over 13 makes this relevant"
    }));
    let v = f.validate(&input, "en", today());
    assert_eq!(
        kinds(&v),
        [("kid[2]/older".to_string(), IssueKind::Constraint)]
    );
    assert_eq!(v.issues[0].message, "This answer is not allowed.");
    assert_eq!(v.issues[0].question, "older");
    let kids = v.answers.repeat("kid");
    assert_eq!(kids[0].value("in_school"), None);
    assert_eq!(kids[1].value("in_school"), Some(&Value::from("no")));
    assert_eq!(kids[0].value("is_teen"), Some(&Value::Bool(false)));
    assert_eq!(kids[1].value("is_teen"), Some(&Value::Bool(true)));
    assert_eq!(v.answers.value("total_age"), Some(&Value::Int(17)));
    assert_eq!(v.answers.value("kids"), Some(&Value::Int(2)));
    assert!(v.answers.value("teen_note").is_some());
    assert_eq!(v.state("kid").unwrap().value, Value::Int(2));
    assert!(v.state("kid[2]/in_school").unwrap().relevant);
}

#[test]
fn nested_repeats_resolve_through_the_enclosing_instance() {
    let f = compiled(json!([
        {"type": "repeat", "name": "family", "items": [
            {"type": "text", "name": "surname"},
            {"type": "repeat", "name": "member", "items": [
                {"type": "text", "name": "first"},
                {"type": "calculate", "name": "full", "calculation": "concat(${first}, ' ', ${surname})"}
            ]}
        ]}
    ]));
    let input = answers(json!({"family": [
        {"surname": "Ruiz", "member": [{"first": "Ana"}, {"first": "Luis"}]},
        {"surname": "Tran", "member": [{"first": "Mai"}]}
    ]}));
    let v = f.validate(&input, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    let fam = v.answers.repeat("family");
    assert_eq!(
        fam[0].repeat("member")[1].value("full"),
        Some(&Value::from("Luis Ruiz"))
    );
    assert_eq!(
        fam[1].repeat("member")[0].value("full"),
        Some(&Value::from("Mai Tran"))
    );
    assert!(v.state("family[2]/member[1]/full").is_some());
}

#[test]
fn repeat_count_and_answer_shapes() {
    let f = compiled(json!([
        {"type": "integer", "name": "n"},
        {"type": "repeat", "name": "r", "repeat_count": "${n}", "items": [
            {"type": "text", "name": "x"}
        ]}
    ]));
    let v = f.validate(&answers(json!({"n": 2, "r": [{"x": "a"}]})), "es", today());
    assert_eq!(kinds(&v), [("r".to_string(), IssueKind::RepeatCount)]);
    assert_eq!(v.issues[0].message, "Se esperaban 2 entradas y hay 1.");
    let v = f.validate(
        &answers(json!({"r": "oops", "n": [{"x": "a"}]})),
        "en",
        today(),
    );
    assert_eq!(
        kinds(&v),
        [
            ("n".to_string(), IssueKind::Type),
            ("r".to_string(), IssueKind::Type)
        ]
    );
    assert_eq!(v.answers, Answers::new());
}

#[test]
fn runtime_expression_errors_become_issues() {
    let f = compiled(json!([
        {"type": "text", "name": "t"},
        {"type": "text", "name": "u", "relevant": "${t} > 3"},
        {"type": "integer", "name": "v", "constraint": ". > ${t}"}
    ]));
    let v = f.validate(
        &answers(json!({"t": "hello", "u": "kept", "v": 1})),
        "en",
        today(),
    );
    assert_eq!(
        kinds(&v),
        [
            ("u".to_string(), IssueKind::Expression),
            ("v".to_string(), IssueKind::Expression)
        ]
    );
    assert!(v.issues[0]
        .message
        .starts_with("The form could not evaluate a rule (relevant): column"));
    // A failing `relevant` counts as relevant: the answer is not dropped.
    assert_eq!(v.answers.value("u"), Some(&Value::from("kept")));
}

#[test]
fn messages_fall_back_to_the_default_language() {
    let f = compiled(json!([
        {"type": "integer", "name": "n", "required": true,
         "label": {"en": "Number", "es": "Número"},
         "required_message": {"en": "Give a number."}}
    ]));
    let v = f.validate(&Answers::new(), "es", today());
    assert_eq!(v.issues[0].message, "Give a number.");
    assert_eq!(v.states[0].label, "Número");
    let v = f.validate(&Answers::new(), "fr", today());
    assert_eq!(v.states[0].label, "Number");
    let v = f.validate(&Answers::new(), "", today());
    assert_eq!(v.states[0].label, "Number");
}

#[test]
fn defaults_fill_a_new_response() {
    let f = compiled(json!([
        {"type": "integer", "name": "n", "default": 7},
        {"type": "group", "name": "g", "items": [{"type": "text", "name": "t", "default": "hi"}]},
        {"type": "repeat", "name": "r", "items": [{"type": "select_one yes_no", "name": "y", "default": "no"}]}
    ]));
    assert_eq!(f.defaults(), answers(json!({"n": 7, "t": "hi"})));
    assert_eq!(f.new_instance("r"), answers(json!({"y": "no"})));
    assert_eq!(f.new_instance("n"), Answers::new());
    assert_eq!(f.repeat_of("y"), Some("r"));
    assert_eq!(f.repeat_path("y"), ["r"]);
    assert_eq!(f.repeat_of("t"), None);
    assert_eq!(f.kind("g"), Some(crate::NodeKind::Group));
    assert_eq!(f.names().collect::<Vec<_>>(), ["n", "g", "t", "r", "y"]);
}

#[test]
fn metadata_keys_are_kept_and_group_names_are_not_answers() {
    let f = compiled(json!([
        {"type": "group", "name": "g", "items": [{"type": "text", "name": "t"}]},
        {"type": "repeat", "name": "r", "items": [{"type": "text", "name": "x"}]}
    ]));
    let input = answers(json!({
        "_form_version": 1, "g": "oops", "t": "a",
        "r": [{"_id": "3f2c", "x": "b"}, {"_id": "9a1e", "t": "misplaced"}]
    }));
    let v = f.validate(&input, "en", today());
    assert_eq!(
        kinds(&v),
        [
            ("g".to_string(), IssueKind::UnknownQuestion),
            ("r[2]/t".to_string(), IssueKind::UnknownQuestion)
        ]
    );
    assert_eq!(
        v.issues[0].message,
        "This question is not part of the form."
    );
    assert_eq!(
        v.issues[1].message,
        "This question does not belong in this part of the form."
    );
    assert_eq!(
        v.answers,
        answers(json!({
            "_form_version": 1, "t": "a",
            "r": [{"_id": "3f2c", "x": "b"}, {"_id": "9a1e"}]
        }))
    );
}

#[test]
fn labels_show_answers_in_place_of_placeholders() {
    let f = compiled(json!([
        {"type": "text", "name": "name"},
        {"type": "select_multiple yes_no", "name": "picks"},
        {"type": "repeat", "name": "kid", "label": "Child: ${kid_name} (${name})", "items": [
            {"type": "text", "name": "kid_name"},
            {"type": "note", "name": "hello", "label": {"en": "Hello ${kid_name}!", "es": "¡Hola ${kid_name}!"}}
        ]},
        {"type": "note", "name": "summary", "label": "${name}: ${kid_name}; ${picks}; ${missing"}
    ]));
    let input = answers(json!({
        "name": "Ana", "picks": "yes no",
        "kid": [{"kid_name": "Leo"}, {"kid_name": "Mia"}]
    }));
    let v = f.validate(&input, "es", today());
    assert_eq!(v.state("kid[2]/hello").unwrap().label, "¡Hola Mia!");
    assert_eq!(v.state("kid").unwrap().label, "Child: Leo, Mia (Ana)");
    assert_eq!(v.state("kid[1]").unwrap().label, "Child: Leo (Ana)");
    assert_eq!(v.state("kid[2]").unwrap().value, Value::Int(2));
    assert_eq!(
        v.state("summary").unwrap().label,
        "Ana: Leo, Mia; yes, no; ${missing"
    );
}

#[test]
fn hints_show_answers_in_place_of_placeholders() {
    let f = compiled(json!([
        {"type": "text", "name": "name"},
        {"type": "group", "name": "g", "hint": "About ${name}'s home", "items": [
            {"type": "integer", "name": "rooms", "hint": {"en": "Rooms at ${name}'s", "es": "Cuartos de ${name}"}}
        ]},
        {"type": "repeat", "name": "kid", "hint": "Child of ${name}", "items": [
            {"type": "text", "name": "kid_name", "hint": "As ${name} says it"}
        ]},
        {"type": "text", "name": "plain"}
    ]));
    let input = answers(json!({"name": "Ana", "kid": [{"kid_name": "Leo"}]}));
    let v = f.validate(&input, "es", today());
    assert_eq!(v.state("rooms").unwrap().hint, "Cuartos de Ana");
    assert_eq!(v.state("g").unwrap().hint, "About Ana's home");
    assert_eq!(v.state("kid").unwrap().hint, "Child of Ana");
    assert_eq!(v.state("kid[1]").unwrap().hint, "Child of Ana");
    assert_eq!(v.state("kid[1]/kid_name").unwrap().hint, "As Ana says it");
    assert_eq!(v.state("plain").unwrap().hint, "");
    // An unknown name in a group's hint is refused, as in a question's.
    let bad = form(json!([
        {"type": "group", "name": "g", "hint": "${nobody}", "items": [{"type": "text", "name": "t"}]}
    ]))
    .compile()
    .unwrap_err();
    assert_eq!(bad[0].column, "hint", "{bad:?}");
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;
    use crate::instruments::seed_form;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Decimal),
            "[ a-z0-9.:-]{0,12}".prop_map(Value::Text),
            prop_oneof![
                Just("yes"),
                Just("no"),
                Just("prek"),
                Just("10"),
                Just("2025-03-11")
            ]
            .prop_map(Value::from),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("consent"),
            Just("has_child"),
            Just("home_internet"),
            Just("home_devices"),
            Just("age_years"),
            Just("grade"),
            Just("college_talk"),
            Just("location"),
            Just("children_count"),
            Just("child"),
            Just("household"),
            Just("zzz"),
        ]
        .prop_map(String::from)
    }

    fn level() -> impl Strategy<Value = Answers> {
        prop::collection::btree_map(name(), value().prop_map(Answer::Value), 0..10)
            .prop_map(Answers)
    }

    fn response() -> impl Strategy<Value = Answers> {
        (level(), prop::collection::vec(level(), 0..4), any::<bool>()).prop_map(
            |(mut top, kids, with_kids)| {
                if with_kids {
                    top.set_repeat("child", kids);
                }
                top
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn validating_any_response_never_panics(a in response()) {
            let f = seed_form("household_survey").unwrap().unwrap();
            let v = f.validate(&a, "es", today());
            // Cleaning is idempotent on what it keeps.
            let again = f.validate(&v.answers, "es", today());
            prop_assert_eq!(&again.answers, &v.answers);
        }
    }
}
