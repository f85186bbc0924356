//! The declaration's checks and defaults (the records' rules are tested through the
//! pages in `tests/programs.rs`).

use std::collections::HashSet;

use super::*;

fn known() -> HashSet<String> {
    ["case_note", "literacy_checkin"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn declaring(forms: &[&str]) -> Declaration {
    serde_json::from_value(serde_json::json!({ "forms": forms })).unwrap()
}

#[test]
fn a_declaration_of_forms_alone_takes_the_defaults() {
    let d = declaring(&["case_note"]);
    assert_eq!(d.period, PeriodChoice::Quarter);
    assert_eq!(d.better, Better::Higher);
    assert_eq!(d.weeks_running, 4);
    assert_eq!(d.how_well, HowWell::ALL.to_vec());
    assert_eq!(d.person_question, None);
    assert_eq!(check_declaration(&d, &known()), Ok(()));
    // It reads back as it was written.
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Declaration>(&json).unwrap(), d);
}

#[test]
fn a_bad_declaration_says_what_is_wrong() {
    let check = |d: &Declaration| check_declaration(d, &known()).unwrap_err();
    assert_eq!(check(&declaring(&[])), DeclarationError::NoForms);
    assert_eq!(
        check(&declaring(&["case_note", "nope"])),
        DeclarationError::UnknownForm("nope".into())
    );
    assert_eq!(
        check(&declaring(&["case_note", "case_note"])),
        DeclarationError::RepeatedForm("case_note".into())
    );
    let many = vec!["case_note"; MAX_DECLARED + 1];
    assert_eq!(check(&declaring(&many)), DeclarationError::TooMany("forms"));
    let mut d = declaring(&["case_note"]);
    d.indicators = vec!["G12".into(), "G0".into()];
    assert_eq!(check(&d), DeclarationError::UnknownIndicator("G0".into()));
    d.indicators = vec!["G12".into()];
    for bad in ["read days", "1st", "", "días", &"x".repeat(65)] {
        d.better_off_question = Some(bad.to_string());
        assert!(
            matches!(
                check(&d),
                DeclarationError::BadQuestion("better-off question", _)
            ),
            "{bad}"
        );
    }
    d.better_off_question = Some("read_days".into());
    d.organization = Some("East Side".into());
    assert_eq!(
        check(&d),
        DeclarationError::UnknownOrganization("East Side".into())
    );
    d.organization = Some("eastside".into());
    for weeks in [0, 53] {
        d.weeks_running = weeks;
        assert_eq!(check(&d), DeclarationError::BadWeeks);
    }
    d.weeks_running = 52;
    assert_eq!(check_declaration(&d, &known()), Ok(()));
}

#[test]
fn field_names_are_those_a_form_may_have() {
    for good in ["read_days", "_x", "q1", "contact_date"] {
        assert!(field_name(good), "{good}");
    }
    for bad in ["", "1q", "a-b", "a b", "a.b"] {
        assert!(!field_name(bad), "{bad}");
    }
}
