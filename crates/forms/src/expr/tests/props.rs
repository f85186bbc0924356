//! Property tests: no input makes parsing, evaluating or showing an error panic.

use proptest::prelude::*;

use super::super::{parse, ExprError, Span};
use super::ctx;

/// Strings built from the language's own pieces, to reach deeper than random text.
fn expr_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("${age}"),
        Just("${empty}"),
        Just("${child_age}"),
        Just("${word}"),
        Just("${dob}"),
        Just("."),
        Just("1"),
        Just("2.5"),
        Just("'x'"),
        Just("'2024-01-31'"),
        Just("("),
        Just(")"),
        Just(","),
        Just("+"),
        Just("-"),
        Just("*"),
        Just(" div "),
        Just(" mod "),
        Just(" and "),
        Just(" or "),
        Just("="),
        Just("!="),
        Just("<"),
        Just(">="),
        Just("if("),
        Just("today()"),
        Just("selected("),
        Just("count("),
        Just("sum("),
        Just("concat("),
        Just("round("),
        Just("date("),
        Just("regex("),
        Just("coalesce("),
        Just("${"),
        Just("'"),
        Just("\n"),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn parser_never_panics(s in any::<String>()) {
        match parse(&s) {
            Ok(e) => { let _ = e.eval(&ctx()); }
            Err(e) => {
                let _ = e.to_string();
                prop_assert!(e.span.start <= s.chars().count());
            }
        }
    }

    #[test]
    fn language_shaped_input_never_panics(s in expr_like()) {
        match parse(&s) {
            Ok(e) => {
                let _ = e.references();
                if let Err(err) = e.eval(&ctx()) {
                    let _ = err.to_string();
                }
            }
            Err(e) => { let _ = e.to_string(); }
        }
    }

    #[test]
    fn display_never_panics(start in 0usize..200, len in 0usize..200, msg in ".*", src in any::<String>()) {
        let e = ExprError::new(Span::new(start, start.saturating_add(len)), msg, src);
        let _ = e.to_string();
        let _ = e.summary();
        let reversed = ExprError { span: Span::new(start + len, start), ..e };
        let _ = reversed.to_string();
    }
}
