//! The ODK functions, each with concrete values and its edge cases.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::super::{parse, Context, ExprError, Resolved, XValue};
use super::is_volatile;
use crate::Value;

/// A context with a clock at `2024-03-15T10:30:00-05:00`, inside the 3rd instance of a
/// repeat, a select `fruit` with labels, and `indexed-repeat` over `kid/age`.
struct Ctx {
    vars: HashMap<String, Resolved>,
    current: Value,
    position: Option<usize>,
}

impl Context for Ctx {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        self.vars.get(name).cloned()
    }
    fn current(&self) -> Value {
        self.current.clone()
    }
    fn today(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()
    }
    fn now(&self) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2024-03-15T10:30:00.250-05:00").unwrap()
    }
    fn random_bits(&self, salt: u64) -> u64 {
        super::mix(42, salt)
    }
    fn position(&self) -> Option<usize> {
        self.position
    }
    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        let ages = [Value::Int(3), Value::Int(5)];
        match (name, at) {
            ("age", [(r, i)]) if r == "kid" => Some(Resolved::One(
                ages.get(i - 1).cloned().unwrap_or(Value::Null),
            )),
            _ => None,
        }
    }
    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        match (question, choice) {
            ("fruit", "ap") => Some("Apple".into()),
            ("fruit", "ba") => Some("Banana".into()),
            _ => None,
        }
    }
}

fn ctx() -> Ctx {
    let one = |v: Value| Resolved::One(v);
    let vars = [
        ("fruit", one("ba".into())),
        ("empty", one(Value::Null)),
        ("word", one("  hello   big  world ".into())),
        ("dt", one("2024-01-31T14:05:09.007+01:00".into())),
        ("day", one("2024-01-31".into())),
        ("n", one(Value::Int(2))),
        ("kid", Resolved::Many(vec![Value::Int(1), Value::Int(2)])),
        ("age", Resolved::Many(vec![Value::Int(3), Value::Int(5)])),
        (
            "names",
            Resolved::Many(vec!["a".into(), Value::Null, "c".into()]),
        ),
        (
            "shape",
            one("0 0 0 0; 0 0.001 0 0; 0.001 0.001 0 0; 0.001 0 0 0; 0 0 0 0".into()),
        ),
        ("trace", one("0 0 0 0;0 1 0 0".into())),
        ("ok", one("yes".into())),
    ];
    Ctx {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        current: Value::Null,
        position: Some(3),
    }
}

fn ev_in(src: &str, c: &Ctx) -> XValue {
    match parse(src).and_then(|e| e.eval(c)) {
        Ok(v) => v,
        Err(e) => panic!("`{src}` failed:\n{e}"),
    }
}

fn ev(src: &str) -> XValue {
    ev_in(src, &ctx())
}

fn err(src: &str) -> ExprError {
    match parse(src).and_then(|e| e.eval(&ctx())) {
        Ok(v) => panic!("`{src}` should fail, gave {v:?}"),
        Err(e) => e,
    }
}

fn text(src: &str) -> String {
    match ev(src) {
        XValue::Text(s) => s,
        other => panic!("`{src}` gave {other:?}, not text"),
    }
}

fn num(src: &str) -> f64 {
    match ev(src) {
        XValue::Number(n) => n,
        other => panic!("`{src}` gave {other:?}, not a number"),
    }
}

fn yes(src: &str) -> bool {
    match ev(src) {
        XValue::Bool(b) => b,
        other => panic!("`{src}` gave {other:?}, not a boolean"),
    }
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn now_once_and_the_clock() {
    assert_eq!(text("now()"), "2024-03-15T10:30:00.250-05:00");
    assert_eq!(text("once(now())"), "2024-03-15T10:30:00.250-05:00");
    let mut kept = ctx();
    kept.current = "2020-01-01T00:00:00.000Z".into();
    assert_eq!(
        ev_in("once(now())", &kept),
        XValue::Text("2020-01-01T00:00:00.000Z".into()),
        "once() keeps an answer already there"
    );
    // The default clock is today's midnight UTC.
    struct Plain;
    impl Context for Plain {
        fn resolve(&self, _: &str) -> Option<Resolved> {
            None
        }
        fn current(&self) -> Value {
            Value::Null
        }
        fn today(&self) -> NaiveDate {
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        }
    }
    let v = parse("now()").unwrap().eval(&Plain).unwrap();
    assert_eq!(v, XValue::Text("2024-02-29T00:00:00.000+00:00".into()));
    let v = parse("position(..)").unwrap().eval(&Plain).unwrap();
    assert_eq!(
        v,
        XValue::Number(1.0),
        "outside repeats, the root's position"
    );
}

#[test]
fn volatile_calculations_are_recognised() {
    for src in ["now()", "once(${n})", "1 + random()", "concat('a', uuid())"] {
        assert!(is_volatile(&parse(src).unwrap()), "{src}");
    }
    for src in ["${n} + 1", "today() - ${day}", "format-date(${day}, '%Y')"] {
        assert!(!is_volatile(&parse(src).unwrap()), "{src}");
    }
}

#[test]
fn random_and_uuid_come_from_the_context() {
    let r = num("random()");
    assert!((0.0..1.0).contains(&r));
    assert_eq!(
        num("random()"),
        r,
        "the same context and place: the same number"
    );
    let (a, b) = (num("random() - random()"), 0.0);
    assert!(a != b, "two calls in one expression differ");
    let id = text("uuid()");
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "version 4: {id}");
    assert!("89ab".contains(&id[19..20]), "variant: {id}");
    assert_eq!(id.matches('-').count(), 4);
    let short = text("uuid(12)");
    assert_eq!(short.len(), 12);
    assert!(short.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(text("uuid(0)"), "");
    assert!(err("uuid(-1)").message.contains("0 to 1000"));
    assert!(err("uuid(5000)").message.contains("0 to 1000"));
}

#[test]
fn date_times_convert_and_format() {
    assert_eq!(num("decimal-date-time('1970-01-02T06:00:00Z')"), 1.25);
    assert_eq!(num("decimal-date-time('1970-01-02T00:00:00-06:00')"), 1.25);
    // A date without an offset is midnight where the device is (here -05:00).
    assert!(close(
        num("decimal-date-time('1970-01-02')"),
        1.0 + 5.0 / 24.0,
        1e-9
    ));
    assert!(num("decimal-date-time(${empty})").is_nan());
    assert_eq!(text("date-time(1.5)"), "1970-01-02T07:00:00.000-05:00");
    assert_eq!(text("date-time(${empty})"), "");
    assert_eq!(
        text("date-time(date('2024-01-31'))"),
        "2024-01-31T00:00:00.000-05:00"
    );
    assert!(err("date-time('soon')").message.contains("not a date"));
    assert_eq!(num("decimal-time('06:00:00.000-05:00')"), 0.25);
    // Another offset is moved into the device's: 12:00Z is 07:00 at -05:00.
    assert!(close(num("decimal-time('12:00:00Z')"), 7.0 / 24.0, 1e-12));
    assert!(close(num("decimal-time('18:00')"), 0.75, 1e-12));
    assert!(num("decimal-time('')").is_nan());
    assert!(err("decimal-time('noon')").message.contains("not a time"));
}

#[test]
fn format_date_uses_odk_patterns() {
    assert_eq!(text("format-date(${day}, '%Y-%m-%d')"), "2024-01-31");
    assert_eq!(
        text("format-date(${day}, '%e/%n/%y %b %a')"),
        "31/1/24 Jan Wed"
    );
    assert_eq!(
        text("format-date-time(${dt}, '%d.%m.%Y %H:%M:%S.%3 %h')"),
        "31.01.2024 14:05:09.007 14"
    );
    assert_eq!(text("format-date(${empty}, '%Y')"), "", "empty stays empty");
    assert_eq!(
        text("format-date(${day}, '100%% %q')"),
        "100%% %q",
        "unknown kept"
    );
    assert_eq!(text("format-date(today(), '%Y')"), "2024");
    assert_eq!(text("format-date(date(19753), '%Y-%m-%d')"), "2024-01-31");
    // A number is days since 1970-01-01 UTC, shown where the device is (as JavaRosa).
    assert_eq!(
        text("format-date-time(19753.5, '%Y-%m-%d %H')"),
        "2024-01-31 07"
    );
}

#[test]
fn text_functions() {
    assert_eq!(text("substr('hello', 1, 3)"), "el");
    assert_eq!(text("substr('hello', 2)"), "llo");
    assert_eq!(text("substr('hello', 4, 99)"), "o");
    assert_eq!(text("substr('hello', 3, 1)"), "", "end before start");
    assert_eq!(
        text("substr('héllo', -2, 2)"),
        "hé",
        "clamped; characters, not bytes"
    );
    assert_eq!(text("substr(${empty}, 0, 2)"), "");
    assert_eq!(text("substring-before('1999/04/01', '/')"), "1999");
    assert_eq!(text("substring-after('1999/04/01', '/')"), "04/01");
    assert_eq!(text("substring-before('abc', 'x')"), "");
    assert_eq!(text("substring-after('abc', 'x')"), "");
    assert_eq!(text("substring-after('abc', '')"), "abc");
    assert_eq!(text("translate('bar', 'abc', 'ABC')"), "BAr");
    assert_eq!(text("translate('--aaa--', 'abc-', 'ABC')"), "AAA");
    assert_eq!(text("normalize-space(${word})"), "hello big world");
    assert_eq!(text("normalize-space('')"), "");
    assert_eq!(text("selected-at('a b c', 1)"), "b");
    assert_eq!(text("selected-at('a b c', 3)"), "");
    assert_eq!(text("selected-at('a b c', -1)"), "");
    assert_eq!(text("selected-at(${empty}, 0)"), "");
    assert!(yes("boolean-from-string('true')"));
    assert!(yes("boolean-from-string(' TRUE ')"));
    assert!(yes("boolean-from-string('1')"));
    assert!(!yes("boolean-from-string('yes')"));
    assert!(!yes("boolean-from-string(${empty})"));
}

#[test]
fn choice_names_give_labels() {
    assert_eq!(text("jr:choice-name(${fruit}, '${fruit}')"), "Banana");
    assert_eq!(text("jr:choice-name('ap', '/data/group/fruit')"), "Apple");
    assert_eq!(
        text("jr:choice-name('kiwi', '${fruit}')"),
        "",
        "no such choice"
    );
    assert_eq!(text("jr:choice-name(${empty}, '${fruit}')"), "");
    assert!(err("jr:choice-nam('ap', 'x')")
        .message
        .contains("did you mean `jr:choice-name`"));
}

#[test]
fn repeats_position_and_indexed_repeat() {
    assert_eq!(num("position(..)"), 3.0);
    assert_eq!(num("position(..) - 1"), 2.0);
    assert!(err("position(.)").message.contains("position(..)"));
    assert!(err("position(${n})").message.contains("position(..)"));
    assert_eq!(num("indexed-repeat(${age}, ${kid}, 2)"), 5.0);
    assert_eq!(num("indexed-repeat(${age}, ${kid}, position(..) - 2)"), 3.0);
    assert_eq!(
        text("indexed-repeat(${age}, ${kid}, 9)"),
        "",
        "past the last"
    );
    assert_eq!(text("indexed-repeat(${age}, ${kid}, 0)"), "");
    assert_eq!(text("indexed-repeat(${age}, ${kid}, ${empty})"), "");
    assert!(err("indexed-repeat(${age}, ${n}, 1)")
        .message
        .contains("not inside every repeat"));
    assert!(err("indexed-repeat(${age}, 'kid', 1)")
        .message
        .contains("write indexed-repeat"));
    assert!(err("indexed-repeat(${age}, ${kid}, 1, ${kid})")
        .message
        .contains("write indexed-repeat"));
    assert_eq!(num("count-non-empty(${names})"), 2.0);
    assert_eq!(num("count-non-empty(${empty})"), 0.0);
    assert_eq!(num("count-non-empty(${n})"), 1.0);
}

#[test]
fn math() {
    assert_eq!(num("pow(2, 10)"), 1024.0);
    assert_eq!(num("pow(4, 0.5)"), 2.0);
    assert!(num("pow(${empty}, 2)").is_nan());
    assert_eq!(num("sqrt(16)"), 4.0);
    assert!(num("sqrt(-1)").is_nan());
    assert_eq!(num("exp(0)"), 1.0);
    assert_eq!(num("exp10(3)"), 1000.0);
    assert!(close(num("log(exp(2))"), 2.0, 1e-12));
    assert_eq!(num("log10(1000)"), 3.0);
    assert!(num("log(-1)").is_nan());
    assert_eq!(num("log(0)"), f64::NEG_INFINITY);
    assert_eq!(num("pi()"), std::f64::consts::PI);
    assert!(close(num("sin(pi() div 2)"), 1.0, 1e-12));
    assert!(close(num("cos(pi())"), -1.0, 1e-12));
    assert!(close(num("tan(pi() div 4)"), 1.0, 1e-12));
    assert!(close(num("asin(1)"), std::f64::consts::FRAC_PI_2, 1e-12));
    assert_eq!(num("acos(1)"), 0.0);
    assert!(num("acos(2)").is_nan(), "out of range");
    assert!(close(num("atan(1)"), std::f64::consts::FRAC_PI_4, 1e-12));
    assert!(close(
        num("atan2(1, -1)"),
        3.0 * std::f64::consts::FRAC_PI_4,
        1e-12
    ));
    assert!(err("sqrt('four')").message.contains("not a number"));
}

#[test]
fn area_and_distance() {
    // A square of 0.001° at the equator: about 111.3 m a side.
    let a = num("area(${shape})");
    assert!(close(a, 12_392.0, 15.0), "{a}");
    assert_eq!(num("enclosed-area(${shape})"), a);
    assert_eq!(num("area('0 0; 0 1')"), 0.0, "two points enclose nothing");
    assert!(num("area(${empty})").is_nan());
    // One degree of longitude at the equator.
    let d = num("distance(${trace})");
    assert!(close(d, 111_319.5, 1.0), "{d}");
    assert_eq!(
        num("distance('0 0', '0 1')"),
        d,
        "points as separate arguments"
    );
    assert_eq!(num("distance('10 10')"), 0.0);
    assert!(num("distance(${empty})").is_nan());
    assert!(err("area('north')").message.contains("not a place"));
    assert!(err("distance('91 0;0 0')").message.contains("not a place"));
}

#[test]
fn checklists() {
    assert!(yes("checklist(1, 2, ${ok} = 'yes', ${n} > 5, true())"));
    assert!(!yes("checklist(3, -1, ${ok} = 'yes', ${n} > 5, true())"));
    assert!(yes("checklist(-1, -1, false())"));
    assert!(!yes("checklist(-1, 0, true())"));
    assert!(yes("checklist(2, 2, ${names})"), "instances each count");
    assert!(yes(
        "weighted-checklist(5, 6, ${ok} = 'yes', 2, true(), 3, false(), 100)"
    ));
    assert!(!yes(
        "weighted-checklist(6, -1, ${ok} = 'yes', 2, true(), 3)"
    ));
    assert!(err("weighted-checklist(1, 2, true(), 3, false())")
        .message
        .contains("pairs"));
    assert!(err("checklist(1, 2)").message.contains("takes at least 3"));
}

#[test]
fn every_function_is_known_to_the_parser() {
    for spec in super::SPECS {
        let name = spec_name(spec);
        if let Err(e) = parse(&format!("{name}()")) {
            assert!(!e.message.contains("unknown function"), "{name}: {e}");
        }
    }
}

fn spec_name(spec: &super::Spec) -> String {
    // The name is the text before the first `(` of an arity message.
    let at = super::Span::new(0, 0);
    let e = spec
        .check_arity(usize::MAX, at)
        .err()
        .or_else(|| spec.check_arity(0, at).err())
        .unwrap();
    e.message
        .trim_start_matches('`')
        .split("()")
        .next()
        .unwrap_or_default()
        .to_string()
}
