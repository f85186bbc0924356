//! Operators: arithmetic, comparison, logic, dates, empty values, repeats, type errors.

use super::super::{parse, Span, XValue};
use super::{ctx, date, ev, ev_err, ev_with, num, text, yes, AnswersCtx, MapCtx};
use crate::answers::Answers;
use crate::Value;

#[test]
fn arithmetic() {
    assert_eq!(num("1 + 2"), 3.0);
    assert_eq!(num("5 - 7"), -2.0);
    assert_eq!(num("2.5 * 4"), 10.0);
    assert_eq!(num("7 div 2"), 3.5);
    assert_eq!(num("7 mod 3"), 1.0);
    assert_eq!(num("-7 mod 3"), -1.0);
    assert_eq!(num("-${age}"), -30.0);
    assert_eq!(num("${age} * ${height}"), 45.0);
    assert_eq!(num("${num_text} + 1"), 13.0, "numeric text is a number");
    assert_eq!(num("true() + 1"), 2.0);
    assert_eq!(num(". * 2"), 8.0, "`.` is the current value");
    assert!(num("1 div 0").is_infinite());
    assert_eq!(ev("1 div 0").to_value(), Value::Null);
}

#[test]
fn empty_values_are_nan_in_arithmetic_and_false_in_ordering() {
    assert!(num("${empty} + 1").is_nan());
    assert!(num("${blank} * 2").is_nan());
    assert_eq!(ev("${empty} + 1").to_value(), Value::Null);
    for op in ["<", "<=", ">", ">="] {
        assert!(!yes(&format!("${{empty}} {op} 0")), "{op}");
        assert!(!yes(&format!("0 {op} ${{blank}}")), "{op}");
    }
    let c = MapCtx {
        current: Value::Null,
        ..ctx()
    };
    assert_eq!(ev_with(". >= 0", &c), XValue::Bool(false));
    assert!(yes("${empty} = ''"));
    assert!(yes("${blank} = ''"));
    assert!(!yes("${empty} != ''"));
    assert!(!yes("${empty} = 0"));
    assert!(yes("${empty} != 0"), "NaN is unequal to everything");
}

#[test]
fn equality() {
    assert!(yes("${age} = 30"));
    assert!(
        yes("${age} = '30'"),
        "text compared with a number is read as a number"
    );
    assert!(yes("${num_text} = 12.0"));
    assert!(
        !yes("${word} = 1"),
        "text that isn't a number is just not equal"
    );
    assert!(yes("${name} = 'Ada'"));
    assert!(yes("${name} != 'ada'"));
    assert!(yes("${consent} = true()"));
    assert!(yes("${consent} != false()"));
    assert!(yes("'x' = true()"), "non-empty text is true");
    assert!(yes("1 = 1.0"));
    assert!(!yes("1 != 1"));
}

#[test]
fn relational() {
    assert!(yes("${age} > 18"));
    assert!(yes("${age} >= 30"));
    assert!(!yes("${age} < 30"));
    assert!(yes("${age} <= 30"));
    assert!(yes("'12' > 9"), "numeric text is a number");
    assert!(yes("${height} < 2"));
}

#[test]
fn logic_short_circuits() {
    assert!(yes("true() and 1"));
    assert!(!yes("true() and 0"));
    assert!(yes("false() or 'x'"));
    assert!(!yes("false() or ''"));
    assert!(!yes("${empty} and true()"));
    // The right side would be an error (unknown question): it is never evaluated.
    assert!(!yes("false() and ${missing} > 1"));
    assert!(yes("true() or ${missing} > 1"));
    assert!(yes("not(false())"));
    assert!(yes("not(${empty})"));
    assert!(!yes("not(${name})"));
}

#[test]
fn dates() {
    assert_eq!(ev("today()"), date("2024-03-15"));
    assert!(yes("${dob} <= today()"), "date text compares as a date");
    assert!(yes("today() > ${dob}"));
    assert!(
        yes("${dob} < '2021-01-01'"),
        "two date texts compare as dates"
    );
    assert_eq!(num("today() - ${dob}"), 1466.0);
    assert_eq!(num("today() - date('2024-03-01')"), 14.0);
    assert_eq!(ev("today() + 20"), date("2024-04-04"));
    assert_eq!(ev("10 + today()"), date("2024-03-25"));
    assert_eq!(ev("${dob} - 10"), date("2020-02-29"));
    assert_eq!(
        ev("today() - 1").to_value(),
        Value::Text("2024-03-14".into())
    );
    assert!(yes("today() = '2024-03-15'"));
    assert!(yes("'2024-03-15' = today()"));
    assert!(!yes("today() = 'soon'"));
    assert!(!yes("${empty} < today()"), "empty is not before any date");
    assert!(num("today() - ${empty}").is_nan());
    assert!(num("today() + ${empty}").is_nan());
    assert!(yes("(today() - ${dob}) div 365.25 >= 4"));
}

#[test]
fn date_type_errors() {
    let e = ev_err("today() * 2");
    assert_eq!(e.span, Span::new(8, 9));
    assert!(
        e.message
            .contains("`*` can't be used with a date (`today()`)"),
        "{}",
        e.message
    );
    let e = ev_err("today() + ${dob}");
    assert!(e.message.contains("both dates"), "{}", e.message);
    assert_eq!(ev_err("-today()").span, Span::new(0, 8));
    assert!(
        ev_err("today() + 1e9").message.contains("found `e9`"),
        "no exponents"
    );
    assert!(ev_err("today() + 99999999")
        .message
        .contains("out of range"));
}

#[test]
fn text_in_arithmetic_is_a_positioned_error() {
    let e = ev_err("'abc' + 1");
    assert_eq!(e.span, Span::new(0, 5));
    assert_eq!(e.message, "`'abc'` is text, not a number");
    assert_eq!(e.summary(), "column 1: `'abc'` is text, not a number");
    let e = ev_err("1 + ${word}");
    assert_eq!(e.span, Span::new(4, 11));
    assert_eq!(e.message, "`${word}` is `abc`, which is text, not a number");
    let e = ev_err("${word} > 3");
    assert_eq!(e.span, Span::new(0, 7));
    assert!(ev_err("-'x'").message.contains("text, not a number"));
    assert!(ev_err("${name} mod 2")
        .message
        .contains("`${name}` is `Ada`"));
}

#[test]
fn unknown_question_at_evaluation() {
    let e = ev_err("1 + ${ghost}");
    assert_eq!(e.span, Span::new(4, 12));
    assert_eq!(e.message, "unknown question `${ghost}`");
    assert!(
        e.to_string().contains("\n  1 + ${ghost}\n      ^^^^^^^^"),
        "{e}"
    );
}

#[test]
fn many_values_from_a_repeat() {
    assert_eq!(
        ev("${child_age}"),
        XValue::Nodes(vec![Value::Int(3), Value::Int(5), Value::Null])
    );
    // Comparisons are true if any instance matches (XPath node-set semantics).
    assert!(yes("${child_age} > 4"));
    assert!(!yes("${child_age} > 5"));
    assert!(yes("${child_name} = 'Cy'"));
    assert!(yes("'Bo' = ${child_name}"));
    assert!(!yes("${nobody} = ''"));
    assert!(yes("${child_age} = ${kid} - 2"));
    // One instance behaves like a single value; none like empty.
    assert_eq!(num("${kid} + 1"), 8.0);
    assert!(num("${nobody} + 1").is_nan());
    // Arithmetic on several is an error.
    let e = ev_err("${child_age} + 1");
    assert_eq!(e.span, Span::new(0, 12));
    assert!(
        e.message
            .contains("has 3 answers (one per repeat instance)"),
        "{}",
        e.message
    );
    assert!(ev("${child_age}").truthy());
    assert!(!ev("${nobody}").truthy());
}

#[test]
fn inside_a_repeat_siblings_are_single_values() {
    let kid = |name: &str, age: i64| {
        let mut a = Answers::new();
        a.set("child_name", name).set("child_age", age);
        a
    };
    let mut answers = Answers::new();
    answers
        .set("household", "H1")
        .set_repeat("children", vec![kid("Bo", 3), kid("Cy", 9)]);
    let inside = AnswersCtx {
        answers: &answers,
        at: Some(("children", 1)),
    };
    let outside = AnswersCtx {
        answers: &answers,
        at: None,
    };
    assert_eq!(ev_with("${child_age} + 1", &inside), XValue::Number(10.0));
    assert_eq!(
        ev_with("concat(${household}, '-', ${child_name})", &inside),
        XValue::Text("H1-Cy".into())
    );
    assert_eq!(
        ev_with("count(${child_age})", &outside),
        XValue::Number(2.0)
    );
    assert_eq!(ev_with("count(${children})", &outside), XValue::Number(2.0));
    assert_eq!(ev_with("sum(${child_age})", &outside), XValue::Number(12.0));
    assert_eq!(ev_with("${child_age} >= 9", &outside), XValue::Bool(true));
    assert!(parse("${child_age} * 2").unwrap().eval(&outside).is_err());
}

#[test]
fn values_convert_for_storage_and_display() {
    assert_eq!(ev("2 * 3").to_value(), Value::Int(6));
    assert_eq!(ev("7 div 2").to_value(), Value::Decimal(3.5));
    assert_eq!(ev("1 < 2").to_value(), Value::Bool(true));
    assert_eq!(ev("'x'").to_value(), Value::Text("x".into()));
    assert_eq!(ev("${kid}").to_value(), Value::Int(7));
    assert_eq!(ev("${nobody}").to_value(), Value::Null);
    assert_eq!(text("string(2 * 3)"), "6");
    assert_eq!(text("string(-0.5 * 3)"), "-1.5");
    assert_eq!(text("string(1 div 0)"), "Infinity");
    assert_eq!(text("string(${empty} + 1)"), "NaN");
    assert_eq!(ev("today()").to_text(), "2024-03-15");
    assert!(ev("${blank}").is_empty() && ev("${empty} + 1").is_empty());
    assert!(!ev("0").is_empty() && !ev("false()").is_empty());
    assert!(ev("${nobody}").is_empty());
}
