//! Every function, with its edge cases and errors.

use super::super::{Span, XValue};
use super::{date, ev, ev_err, num, text, yes};
use crate::Value;

#[test]
fn selected_and_count_selected() {
    assert!(yes("selected(${colors}, 'red')"));
    assert!(yes("selected(${colors}, 'blue')"));
    assert!(!yes("selected(${colors}, 're')"), "whole choice names only");
    assert!(!yes("selected(${empty}, 'red')"));
    assert!(yes("selected('  a   b ', 'b')"));
    assert_eq!(num("count-selected(${colors})"), 2.0);
    assert_eq!(num("count-selected(${empty})"), 0.0);
    assert!(ev_err("selected(${child_name}, 'Bo')")
        .message
        .contains("has 2 answers"));
}

#[test]
fn count_sum_min_max() {
    assert_eq!(num("count(${child_age})"), 3.0);
    assert_eq!(num("count(${nobody})"), 0.0);
    assert_eq!(
        num("count(${age})"),
        1.0,
        "a question outside repeats counts once"
    );
    let e = ev_err("count(3)");
    assert_eq!(e.span, Span::new(6, 7));
    assert_eq!(
        num("sum(${child_age})"),
        8.0,
        "unanswered instances are skipped"
    );
    assert_eq!(num("sum(${nobody})"), 0.0);
    assert_eq!(num("sum(${age})"), 30.0);
    assert_eq!(num("min(${child_age})"), 3.0);
    assert_eq!(num("max(${child_age})"), 5.0);
    assert_eq!(num("max(${child_age}, 10, ${age})"), 30.0);
    assert_eq!(num("min(4, 2.5, 9)"), 2.5);
    assert!(num("max(${nobody})").is_nan());
    let e = ev_err("sum(${child_name})");
    assert_eq!(
        e.message,
        "`${child_name}` is `Bo`, which is text, not a number"
    );
}

#[test]
fn if_coalesce_not_boolean() {
    assert_eq!(num("if(${age} > 18, 1, 2)"), 1.0);
    assert_eq!(text("if(${empty}, 'yes', 'no')"), "no");
    // The branch not taken is not evaluated.
    assert_eq!(num("if(true(), 1, ${missing})"), 1.0);
    assert_eq!(text("coalesce(${empty}, 'none')"), "none");
    assert_eq!(text("coalesce(${name}, 'none')"), "Ada");
    assert_eq!(num("coalesce(${blank}, ${empty}, ${age})"), 30.0);
    assert_eq!(text("coalesce(${blank}, ${empty})"), "");
    assert!(yes("not(0)"));
    assert!(yes("boolean('x')"));
    assert!(!yes("boolean(${empty})"));
    assert!(yes("true()"));
    assert!(!yes("false()"));
}

#[test]
fn text_functions() {
    assert_eq!(num("string-length(${name})"), 3.0);
    assert_eq!(num("string-length('héllo')"), 5.0, "characters, not bytes");
    assert_eq!(num("string-length(${empty})"), 0.0);
    assert_eq!(
        text("concat(${name}, ' is ', ${age}, ' (', ${consent}, ')')"),
        "Ada is 30 (true)"
    );
    assert_eq!(text("concat(${child_name})"), "BoCy");
    assert_eq!(text("concat(today())"), "2024-03-15");
    assert_eq!(text("join(', ', ${child_name})"), "Bo, Cy");
    assert_eq!(text("join('-', ${name})"), "Ada");
    assert!(yes("contains(${colors}, 'ed bl')"));
    assert!(yes("starts-with(${name}, 'Ad')"));
    assert!(!yes("ends-with(${name}, 'Ad')"));
    assert_eq!(text("string(${age})"), "30");
    assert_eq!(text("string(2.50)"), "2.5");
    assert_eq!(text("string(1 = 1)"), "true");
    assert_eq!(text("string(${empty})"), "");
}

#[test]
fn regex_function() {
    assert!(yes("regex(${name}, '^[A-Z][a-z]+$')"));
    assert!(
        yes("regex('abc123', '[0-9]+')"),
        "matches anywhere unless anchored"
    );
    assert!(!yes("regex('abc', '^[0-9]+$')"));
    assert!(yes("regex(${age}, '^\\d+$')"));
    // A pattern from an answer is checked when evaluating.
    let e = ev_err("regex('a', concat('(', 'x'))");
    assert_eq!(e.span, Span::new(11, 27));
    assert!(
        e.message.starts_with("not a valid regular expression: "),
        "{}",
        e.message
    );
}

#[test]
fn date_functions() {
    assert_eq!(ev("date('2024-01-31')"), date("2024-01-31"));
    assert_eq!(
        ev("date('2024-01-31T10:30:00.000+03:00')"),
        date("2024-01-31")
    );
    assert_eq!(ev("date(0)"), date("1970-01-01"));
    assert_eq!(ev("date(19797)"), date("2024-03-15"));
    assert_eq!(ev("date(${dob})"), date("2020-03-10"));
    assert_eq!(ev("date(today())"), date("2024-03-15"));
    assert_eq!(ev("date(${empty})"), XValue::Text(String::new()));
    assert!(yes("date('2024-01-31') < date('2024-02-01')"));
    let e = ev_err("date('31/01/2024')");
    assert_eq!(e.span, Span::new(5, 17));
    assert!(
        e.message.contains("write dates as 'YYYY-MM-DD'"),
        "{}",
        e.message
    );
    assert!(ev_err("date('2024-02-30')").message.contains("not a date"));
    assert!(ev_err("date(true())").message.contains("not a date"));
}

#[test]
fn number_functions() {
    assert_eq!(num("int(3.7)"), 3.0);
    assert_eq!(num("int(-3.7)"), -3.0);
    assert_eq!(num("int('12')"), 12.0);
    assert_eq!(num("number('4.5')"), 4.5);
    assert_eq!(num("number(${consent})"), 1.0);
    assert!(
        num("number('abc')").is_nan(),
        "number() is the lenient conversion"
    );
    assert!(num("number(${empty})").is_nan());
    assert_eq!(num("number(date('1970-01-11'))"), 10.0);
    assert_eq!(num("round(2.5)"), 3.0);
    assert_eq!(num("round(-2.5)"), -3.0);
    assert_eq!(num("round(1.23456, 2)"), 1.23);
    assert_eq!(num("round(1234, -2)"), 1200.0);
    assert_eq!(num("round(1.5, 40)"), 1.5);
    assert!(num("round(1.5, ${empty})").is_nan());
    assert_eq!(num("floor(-1.5)"), -2.0);
    assert_eq!(num("ceiling(1.2)"), 2.0);
    assert_eq!(num("abs(-4)"), 4.0);
    let e = ev_err("int(${word})");
    assert_eq!(e.span, Span::new(4, 11));
    assert_eq!(ev("round(2.567, 1)").to_value(), Value::Decimal(2.6));
    assert_eq!(ev("int(9.9)").to_value(), Value::Int(9));
}

#[test]
fn regex_patterns_are_cached_and_errors_are_not() {
    for _ in 0..3 {
        assert!(yes("regex(concat('a', 'b'), concat('^a', 'b$'))"));
        assert!(ev_err("regex('a', concat('(', 'x'))")
            .message
            .contains("not a valid"));
    }
    // More distinct patterns than the cache holds still work.
    for i in 0..100 {
        assert!(yes(&format!("regex('x{i}', concat('^x', '{i}$'))")));
    }
}
