//! Tests of form compilation: every kind of definition error, with its place.

use serde_json::json;

use crate::{Choice, Form, FormError, FormErrorKind};

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

fn errors(items: serde_json::Value) -> Vec<FormError> {
    form(items).compile().unwrap_err()
}

#[test]
fn duplicate_names() {
    let e = errors(json!([
        {"type": "text", "name": "a"},
        {"type": "group", "name": "g", "items": [{"type": "integer", "name": "a"}]}
    ]));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].kind, FormErrorKind::DuplicateName);
    assert_eq!(e[0].item, "a");
}

#[test]
fn unknown_list() {
    let e = errors(json!([{"type": "select_one colors", "name": "c"}]));
    assert_eq!(e[0].kind, FormErrorKind::UnknownList);
    assert_eq!(
        e[0].to_string(),
        "`c`, type: there is no choice list `colors`"
    );
}

#[test]
fn unknown_reference_names_question_column_and_position() {
    let e = errors(json!([
        {"type": "integer", "name": "age"},
        {"type": "text", "name": "school", "relevant": "${age} > 4 and ${grade} = 'k'"}
    ]));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].kind, FormErrorKind::Expression);
    assert_eq!(e[0].item, "school");
    assert_eq!(e[0].column, "relevant");
    assert_eq!(e[0].span, Some(15..23));
    let text = e[0].to_string();
    assert!(
        text.starts_with("`school`, relevant, column 16: unknown question"),
        "{text}"
    );
}

#[test]
fn every_error_is_reported() {
    let e = errors(json!([
        {"type": "calculate", "name": "c"},
        // A calculation on any question is allowed (pyxform): not an error.
        {"type": "integer", "name": "n", "calculation": "1"},
        {"type": "calculate", "name": "self", "calculation": "${self} + 1"},
        {"type": "text", "name": "1bad"},
        {"type": "text", "name": "s", "constraint": ". >"},
        {"type": "group", "name": "g", "items": []},
        {"type": "text", "name": "ref_group", "relevant": "${g}"}
    ]));
    let got: Vec<(&str, &str, FormErrorKind)> = e
        .iter()
        .map(|e| (e.item.as_str(), e.column.as_str(), e.kind))
        .collect();
    use FormErrorKind::*;
    assert_eq!(
        got,
        [
            ("c", "calculation", Calculation),
            ("1bad", "name", InvalidName),
            ("self", "calculation", Expression),
            ("s", "constraint", Expression),
            ("ref_group", "relevant", Expression),
        ]
    );
}

#[test]
fn form_level_errors() {
    // `dup` feeds a select_multiple: a name with a space cannot be told apart there.
    let mut f = form(json!([
        {"type": "text", "name": "a"},
        {"type": "select_multiple dup", "name": "m"}
    ]));
    f.default_language = "fr".into();
    f.id = " ".into();
    f.choices.insert("empty".into(), vec![]);
    let choice = |name: &str| Choice {
        name: name.into(),
        label: Default::default(),
        columns: Default::default(),
    };
    f.choices
        .insert("dup".into(), vec![choice("x"), choice("x"), choice("a b")]);
    let kinds: Vec<FormErrorKind> = f.compile().unwrap_err().iter().map(|e| e.kind).collect();
    use FormErrorKind::*;
    assert_eq!(
        kinds,
        [
            InvalidName,
            UnknownLanguage,
            BadChoices,
            InvalidName,
            BadChoices
        ]
    );
}

#[test]
fn reserved_names_and_unknown_label_placeholders() {
    let e = errors(json!([
        {"type": "text", "name": "_id"},
        {"type": "note", "name": "n", "label": {"en": "Hi ${who}", "es": "Hola ${name}"}}
    ]));
    let got: Vec<(&str, &str, FormErrorKind, Option<std::ops::Range<usize>>)> = e
        .iter()
        .map(|e| (e.item.as_str(), e.column.as_str(), e.kind, e.span.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("_id", "name", FormErrorKind::InvalidName, None),
            ("n", "label", FormErrorKind::Expression, Some(3..9)),
            ("n", "label", FormErrorKind::Expression, Some(5..12)),
        ]
    );
}

#[test]
fn placeholders_are_found() {
    use super::placeholders;
    assert_eq!(
        placeholders("a ${x} b ${ y }${z"),
        [(2..6, "x"), (9..15, "y")]
    );
    assert!(placeholders("no refs").is_empty());
}

#[test]
fn compiled_forms_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<crate::CompiledForm>();
}

#[test]
fn choice_filters_compile_against_their_list_columns() {
    let mut f = form(json!([
        {"type": "select_one county", "name": "county"},
        {"type": "select_one city", "name": "city", "choice_filter": "county = ${county} and name != 'x'"},
        {"type": "integer", "name": "n", "choice_filter": "1"},
        {"type": "select_one city", "name": "c2", "choice_filter": "county = ${nope}"},
        {"type": "select_one city", "name": "c3", "choice_filter": "state = 'a'"}
    ]));
    let choice = |name: &str, county: Option<&str>| Choice {
        name: name.into(),
        label: Default::default(),
        columns: county
            .map(|c| [("county".to_string(), c.to_string())].into())
            .unwrap_or_default(),
    };
    f.choices
        .insert("county".into(), vec![choice("north", None)]);
    f.choices
        .insert("city".into(), vec![choice("ash", Some("north"))]);
    let errors = f.compile().unwrap_err();
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.item.as_str(), e.column.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("n", "choice_filter"),
            ("c2", "choice_filter"),
            ("c3", "choice_filter")
        ],
        "{errors:?}"
    );
    assert!(errors[1].message.contains("${nope}"), "{}", errors[1]);
    assert!(errors[2].message.contains("`state`"), "{}", errors[2]);
}

#[test]
fn form_ids_are_names() {
    for good in ["household_survey", "case-note.v2", "G13", "a"] {
        assert!(crate::is_form_id(good), "{good}");
    }
    let long = "x".repeat(crate::model::MAX_FORM_ID + 1);
    for bad in [
        "",
        "../etc",
        "a\r\nb",
        "it's",
        "a b",
        "_x",
        ".hidden",
        long.as_str(),
        "ñandú",
    ] {
        assert!(!crate::is_form_id(bad), "{bad:?}");
        let mut form = crate::instruments::seed_forms().remove(0);
        form.id = bad.to_string();
        let errors = form.compile().unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.column == "id" && e.kind == FormErrorKind::InvalidName),
            "{bad:?}: {errors:?}"
        );
    }
}

#[test]
fn choices_from_answers_need_a_question_inside_a_repeat() {
    let ok = form(json!([
        {"type": "repeat", "name": "child", "items": [
            {"type": "group", "name": "g", "items": [{"type": "text", "name": "child_name"}]},
            {"type": "integer", "name": "age"}
        ]},
        {"type": "select_one ${child_name}", "name": "pick", "choice_filter": "${age} > 5"},
        {"type": "select_multiple ${child_name}", "name": "many", "choice_filter": "age > 5"}
    ]));
    let compiled = ok.compile().unwrap();
    assert_eq!(compiled.choices("${child_name}"), None);
    let e = errors(json!([
        {"type": "text", "name": "top"},
        {"type": "repeat", "name": "child", "items": [{"type": "text", "name": "child_name"}]},
        {"type": "select_one ${top}", "name": "a"},
        {"type": "select_one ${child}", "name": "b"},
        {"type": "select_one ${nobody}", "name": "c"}
    ]));
    let text: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "`a`, type: `${top}`: the choices of `a` would be the answers to `top` in each \
             instance of its repeat, but `top` is not inside a repeat",
            "`b`, type: `${child}`: the choices of `b` would be the answers to `child` in each \
             instance of its repeat, but `child` is a repeat, not a question",
            "`c`, type: `${nobody}`: the choices of `c` would be the answers to `nobody` in \
             each instance of its repeat, but there is no question `nobody` in the form",
        ]
    );
    assert!(e.iter().all(|e| e.kind == FormErrorKind::UnknownList));
}

#[test]
fn a_filter_on_choices_from_answers_names_the_repeat_s_questions() {
    let e = errors(json!([
        {"type": "integer", "name": "min_age"},
        {"type": "repeat", "name": "child", "items": [{"type": "text", "name": "child_name"}]},
        {"type": "select_one ${child_name}", "name": "pick", "choice_filter": "min_age > 1"}
    ]));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].column, "choice_filter");
    assert_eq!(
        e[0].message,
        "`min_age` is not a question of the repeat `${child_name}` comes from: write \
         `${question}` for its answers in each instance, or a question outside it"
    );
}

#[test]
fn a_choice_name_with_a_space_is_kept_for_select_one_only() {
    let f = form(json!([{"type": "select_one places", "name": "p"}]));
    let mut f = f;
    f.choices.insert(
        "places".into(),
        vec![Choice {
            name: "option a".into(),
            label: Default::default(),
            columns: Default::default(),
        }],
    );
    let compiled = f.clone().compile().unwrap();
    let v = compiled.validate(
        &serde_json::from_value(json!({"p": "option a"})).unwrap(),
        "",
        chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
    );
    assert!(v.issues.is_empty(), "{:?}", v.issues);
    f.items.push(crate::Item::Question(crate::Question::new(
        "m",
        crate::QuestionType::SelectMultiple("places".into()),
    )));
    let errors = f.compile().unwrap_err();
    assert!(errors[0].message.contains("has spaces"), "{errors:?}");
}
