//! Parsing: precedence, references, compile() and positioned syntax errors.

use super::super::{compile, parse, BinaryOp, ExprError, NodeKind, Span};

/// The error parsing `src`.
fn perr(src: &str) -> ExprError {
    match parse(src) {
        Ok(e) => panic!("`{src}` should not parse, gave {e:?}"),
        Err(e) => e,
    }
}

/// Assert the error's span and that its message contains `needle`.
fn assert_err(src: &str, span: (usize, usize), needle: &str) {
    let e = perr(src);
    assert_eq!(e.span, Span::new(span.0, span.1), "span for `{src}`: {e}");
    assert!(
        e.message.contains(needle),
        "message for `{src}`: {}",
        e.message
    );
    assert_eq!(e.source_text, src);
}

#[test]
fn precedence_follows_xpath() {
    // or < and: `a or b and c` is `a or (b and c)`.
    let e = parse("1 or 0 and 0").unwrap();
    match &e.root().kind {
        NodeKind::Binary { op, right, .. } => {
            assert_eq!(*op, BinaryOp::Or);
            assert!(matches!(
                right.kind,
                NodeKind::Binary {
                    op: BinaryOp::And,
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    // multiplicative binds tighter than additive, additive than relational...
    let e = parse("1 + 2 * 3 > 6 = true()").unwrap();
    match &e.root().kind {
        NodeKind::Binary { op, left, .. } => {
            assert_eq!(*op, BinaryOp::Eq);
            assert!(matches!(
                left.kind,
                NodeKind::Binary {
                    op: BinaryOp::Gt,
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    // left associative: 10 - 4 - 3 = (10 - 4) - 3
    assert_eq!(super::num("10 - 4 - 3"), 3.0);
    assert_eq!(super::num("2 * 3 + 4"), 10.0);
    assert_eq!(super::num("2 + 3 * 4"), 14.0);
    assert_eq!(super::num("(2 + 3) * 4"), 20.0);
    assert_eq!(super::num("-2 * 3"), -6.0);
    assert_eq!(super::num("- - 2"), 2.0);
    assert!(super::yes("1 < 2 = 2 < 3"));
}

#[test]
fn spans_of_nodes() {
    let e = parse("${a} + 10").unwrap();
    assert_eq!(e.root().span, Span::new(0, 9));
    match &e.root().kind {
        NodeKind::Binary {
            op_span,
            left,
            right,
            ..
        } => {
            assert_eq!(*op_span, Span::new(5, 6));
            assert_eq!(left.span, Span::new(0, 4));
            assert_eq!(right.span, Span::new(7, 9));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.source(), "${a} + 10");
    assert_eq!(e.to_string(), "${a} + 10");
}

#[test]
fn references_in_source_order_with_duplicates() {
    let e = parse("if(${b} > 1, concat(${a}, ${b}), -${c})").unwrap();
    let refs = e.references();
    let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "a", "b", "c"]);
    assert_eq!(refs[0].1, Span::new(3, 7));
    assert_eq!(refs[3].1, Span::new(34, 38));
    assert!(parse("1 + 2").unwrap().references().is_empty());
}

#[test]
fn literals() {
    assert_eq!(super::num("2.5"), 2.5);
    assert_eq!(super::num(".5"), 0.5);
    assert_eq!(super::num("-1"), -1.0);
    assert_eq!(super::text("\"it's\""), "it's");
    assert_eq!(super::text("'say \"hi\"'"), "say \"hi\"");
    assert_eq!(super::text("''"), "");
}

#[test]
fn compile_checks_references() {
    let known = |n: &str| n == "age" || n == "name";
    assert!(compile("${age} >= 3 and ${name} != ''", &known).is_ok());
    let e = compile("${age} > 1 and ${agee} < 5", &known).unwrap_err();
    assert_eq!(e.span, Span::new(15, 22));
    assert_eq!(
        e.message,
        "unknown question `${agee}` (no question has that name)"
    );
    assert!(e
        .to_string()
        .starts_with("column 16: unknown question `${agee}`"));
    // Syntax errors come first.
    assert!(compile("${agee} +", &known)
        .unwrap_err()
        .message
        .contains("expected a value"));
}

#[test]
fn display_shows_line_and_caret() {
    let e = perr("if(${a} > 1, 2");
    assert_eq!(
        e.to_string(),
        "column 15: expected `)` after the arguments of `if(`\n  if(${a} > 1, 2\n                ^"
    );
    let e = perr("'abc' +\n  * 2");
    assert_eq!(e.line_col(), (2, 3));
    assert!(e
        .to_string()
        .starts_with("line 2, column 3: expected a value after `+`, found `*`"));
    assert!(e.to_string().ends_with("\n    * 2\n    ^"), "{e}");
    let e = perr("");
    assert_eq!(e.to_string(), "column 1: the expression is empty");
}

#[test]
fn unbalanced_parentheses() {
    assert_err(
        "(1 + 2",
        (6, 6),
        "expected `)` to close the `(` at column 1",
    );
    assert_err("(1 + 2))", (7, 8), "unexpected `)`");
    assert_err("()", (1, 2), "expected a value after `(`, found `)`");
    assert_err(
        "round(1, 2",
        (10, 10),
        "expected `)` after the arguments of `round(`",
    );
    assert_err(
        "round(1 2)",
        (8, 9),
        "expected `,` or `)` after an argument of `round(`",
    );
    assert_err("concat(1,)", (9, 10), "expected a value after `,`");
}

#[test]
fn dangling_and_missing_operators() {
    assert_err(
        "1 +",
        (3, 3),
        "expected a value after `+`, but the expression ends here",
    );
    assert_err("${a} and", (8, 8), "after `and`");
    assert_err("* 2", (0, 1), "expected a value, found `*`");
    assert_err("1 2", (2, 3), "is an operator");
    assert_err("${a} ${b}", (5, 9), "found `${b}` after a complete value");
    assert_err("and 1", (0, 3), "expected a value before `and`");
    assert_err(
        "1.2.3",
        (3, 5),
        "found the number `0.3` after a complete value",
    );
}

#[test]
fn bad_tokens() {
    assert_err("'abc", (0, 4), "no closing `'`");
    assert_err("1 = \"ab", (4, 7), "no closing `\"`");
    assert_err("${age", (0, 5), "missing its closing `}`");
    assert_err("${", (0, 2), "missing its closing `}`");
    assert_err("${}", (0, 3), "needs a question name");
    assert_err("${ age}", (0, 3), "no space");
    assert_err("${my age}", (4, 5), "expected `}` to close `${my`");
    assert_err("$age", (0, 1), "question reference");
    assert_err("1 # 2", (2, 3), "unexpected character `#`");
    assert_err("1 == 1", (2, 4), "single `=`");
    assert_err("!${a}", (0, 1), "not(");
    assert_err("1 && 2", (2, 4), "use `and`");
    assert_err("1 || 2", (2, 4), "use `or`");
    assert_err("4 / 2", (2, 3), "use `div`");
    assert_err("../x", (0, 2), "`..`");
}

#[test]
fn bare_words_and_functions() {
    assert_err("age > 3", (0, 3), "write ${age}");
    assert_err("true", (0, 4), "write `true()`");
    assert_err(
        "selectd(${a}, 'x')",
        (0, 7),
        "unknown function `selectd` (did you mean `selected`?)",
    );
    assert_err("frobnicate(1)", (0, 10), "unknown function `frobnicate`");
    assert!(!perr("frobnicate(1)").message.contains("did you mean"));
    assert_err(
        "if(1, 2)",
        (0, 8),
        "`if()` takes 3 arguments (condition, value if true, value if false), but got 2",
    );
    assert_err(
        "today(1)",
        (0, 8),
        "`today()` takes no arguments, but got 1",
    );
    assert_err("round()", (0, 7), "`round()` takes 1 to 2 arguments");
    assert_err("coalesce(1)", (0, 11), "takes at least 2 arguments");
    assert_err("regex(., '[a-')", (9, 14), "not a valid regular expression");
}

#[test]
fn nesting_limits_are_errors_not_crashes() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(perr(&deep).message.contains("nested too deeply"));
    let long = vec!["1"; 100_000].join(" + ");
    assert!(perr(&long).message.contains("nested too deeply"));
    let minus = format!("{}1", "-".repeat(10_000));
    assert!(perr(&minus).message.contains("nested too deeply"));
    // A long but reasonable chain is fine.
    let sum = vec!["1"; 100].join(" + ");
    assert_eq!(super::num(&sum), 100.0);
}

#[test]
fn deepest_accepted_tree_evaluates_on_a_small_stack() {
    let chain = vec!["${age}"; super::super::parser::MAX_DEPTH].join(" + ");
    let nested = format!("{}1{}", "(-".repeat(20), ")".repeat(20));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let a = parse(&chain).map(|e| e.eval(&super::ctx()).map(|v| v.to_value()));
            let b = parse(&nested).map(|e| e.eval(&super::ctx()).map(|v| v.to_value()));
            (a, b)
        })
        .unwrap();
    let (a, b) = handle.join().unwrap();
    assert_eq!(a, Ok(Ok(crate::Value::Int(30 * 128))));
    assert_eq!(b, Ok(Ok(crate::Value::Int(1))));
}
