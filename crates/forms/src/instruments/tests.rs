//! Tests of the seed instruments, the household survey above all.

use super::*;

#[test]
fn every_seed_form_parses_and_compiles() {
    for (id, json) in SEED_SOURCES {
        let form = Form::from_json(json).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(form.id, id);
        let codes: Vec<&str> = form.languages.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["en", "es"], "{id}");
        if let Err(errors) = form.compile() {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{id} does not compile:\n{}", text.join("\n"));
        }
    }
    assert_eq!(seed_forms().len(), 3);
}

mod household {
    use chrono::NaiveDate;

    use crate::instruments::seed_form;
    use crate::{Answers, CompiledForm, IssueKind, Validation, Value};

    fn form() -> CompiledForm {
        seed_form("household_survey").unwrap().unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
    }

    fn child(pairs: &[(&str, Value)]) -> Answers {
        let mut a = Answers::new();
        for (k, v) in pairs {
            a.set(*k, v.clone());
        }
        a
    }

    /// A realistic visit: a Spanish-speaking household with a 4-year-old in pre-K, an
    /// 8-year-old in 3rd grade and a 15-year-old in 10th grade.
    fn response() -> Answers {
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set("has_child", "yes")
            .set("interview_language", "es")
            .set("home_language", "es")
            .set("location", "39.1031 -84.512 150 5")
            .set("feel_safe_day", "somewhat_safe")
            .set("home_internet", "yes")
            .set("home_devices", "smartphone tablet");
        let t = |s: &str| Value::from(s);
        a.set_repeat(
            "child",
            vec![
                child(&[
                    ("age_years", Value::Int(4)),
                    ("hispanic", t("yes")),
                    ("race", t("white")),
                    ("grade", t("prek")),
                    ("usual_place", t("yes")),
                    ("place_type", t("clinic")),
                    ("early_learning", t("head_start")),
                    ("read_times", t("three_plus")),
                ]),
                child(&[
                    ("age_years", Value::Int(8)),
                    ("hispanic", t("yes")),
                    ("race", t("black white")),
                    ("grade", t("3")),
                    ("read_times", t("daily")),
                ]),
                child(&[
                    ("age_years", Value::Int(15)),
                    ("hispanic", t("no")),
                    ("race", t("asian")),
                    ("grade", t("10")),
                    ("college_talk", t("yes")),
                ]),
            ],
        );
        a
    }

    fn instance(a: &mut Answers, i: usize) -> &mut Answers {
        match a.0.get_mut("child") {
            Some(crate::Answer::Repeat(items)) => &mut items[i],
            _ => panic!("no child repeat"),
        }
    }

    fn only_issue(v: &Validation) -> &crate::Issue {
        assert_eq!(v.issues.len(), 1, "{:#?}", v.issues);
        &v.issues[0]
    }

    #[test]
    fn realistic_response_is_valid_and_counts_children() {
        let input = response();
        let v = form().validate(&input, "es", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        let mut expected = input.clone();
        expected.set("children_count", Value::Int(3));
        assert_eq!(v.answers, expected);
        // What a screen shows.
        let s = v.state("child[3]/college_talk").unwrap();
        assert!(s.relevant);
        assert!(s.label.starts_with("En el último mes"), "{}", s.label);
        assert!(!v.state("child[1]/college_talk").unwrap().relevant);
        assert!(v.state("child[1]/usual_place").unwrap().relevant);
        assert!(!v.state("child[2]/usual_place").unwrap().relevant);
        assert!(v.state("child[2]/read_times").unwrap().relevant);
        assert!(!v.state("child[3]/read_times").unwrap().relevant);
        assert!(v.state("child[1]/age_years").unwrap().required);
        assert_eq!(v.state("child").unwrap().value, Value::Int(3));
        assert!(!v.state("end_no_consent").unwrap().relevant);
    }

    #[test]
    fn missing_required_answer() {
        let mut a = response();
        instance(&mut a, 1).remove("grade");
        let v = form().validate(&a, "en", today());
        let issue = only_issue(&v);
        assert_eq!(issue.kind, IssueKind::Required);
        assert_eq!(issue.path, "child[2]/grade");
        assert_eq!(issue.question, "grade");
        assert_eq!(issue.message, "This answer is required.");
        let v = form().validate(&a, "es", today());
        assert_eq!(only_issue(&v).message, "Esta respuesta es obligatoria.");
        assert_eq!(
            v.state("child[2]/grade").unwrap().issue.as_ref(),
            Some(&v.issues[0])
        );
    }

    #[test]
    fn missing_consent_uses_the_forms_message() {
        let mut a = response();
        a.remove("consent");
        let v = form().validate(&a, "es", today());
        let issue = only_issue(&v);
        assert_eq!(issue.kind, IssueKind::Required);
        assert_eq!(issue.path, "consent");
        assert_eq!(issue.message, "Pida el consentimiento antes de continuar.");
        // Everything after consent is not relevant: dropped, not reported.
        assert_eq!(v.answers.len(), 0, "{:?}", v.answers);
    }

    #[test]
    fn age_25_violates_the_constraint() {
        let mut a = response();
        instance(&mut a, 2).set("age_years", 25i64);
        let v = form().validate(&a, "en", today());
        let issue = only_issue(&v);
        assert_eq!(issue.kind, IssueKind::Constraint);
        assert_eq!(issue.path, "child[3]/age_years");
        assert_eq!(issue.message, "Enter an age from 0 to 18.");
        let v = form().validate(&a, "es", today());
        assert_eq!(
            only_issue(&v).message,
            "Escriba una edad entre 0 y 18 años."
        );
        // The answer is kept so it can be corrected.
        assert_eq!(
            v.answers.repeat("child")[2].value("age_years"),
            Some(&Value::Int(25))
        );
    }

    #[test]
    fn a_choice_not_in_the_list() {
        let mut a = response();
        a.set("home_language", "fr");
        let v = form().validate(&a, "en", today());
        let issue = only_issue(&v);
        assert_eq!(issue.kind, IssueKind::NotAChoice);
        assert_eq!(issue.path, "home_language");
        assert_eq!(issue.message, "“fr” is not one of the choices.");
        let v = form().validate(&a, "es", today());
        assert_eq!(only_issue(&v).message, "«fr» no es una de las opciones.");

        let mut a = response();
        instance(&mut a, 1).set("race", "black martian");
        let v = form().validate(&a, "en", today());
        let issue = only_issue(&v);
        assert_eq!(
            (issue.kind, issue.path.as_str()),
            (IssueKind::NotAChoice, "child[2]/race")
        );
    }

    #[test]
    fn answers_to_non_relevant_questions_are_dropped() {
        let mut a = response();
        instance(&mut a, 0).set("college_talk", "yes"); // a 4-year-old
        instance(&mut a, 2).set("usual_place", "no"); // a 15-year-old
        let v = form().validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        assert_eq!(v.answers.repeat("child")[0].value("college_talk"), None);
        assert_eq!(v.answers.repeat("child")[2].value("usual_place"), None);

        let mut a = response();
        a.set("home_internet", "no");
        let v = form().validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        assert_eq!(v.answers.value("home_devices"), None);
        assert_eq!(v.answers.value("home_internet"), Some(&Value::from("no")));
    }

    #[test]
    fn no_consent_ends_the_survey() {
        let mut a = response();
        a.set("consent", "no");
        let v = form().validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        let mut expected = Answers::new();
        expected.set("consent", "no");
        assert_eq!(v.answers, expected);
        assert!(v.state("end_no_consent").unwrap().relevant);
        assert!(!v.state("child").unwrap().relevant);

        let mut a = response();
        a.set("has_child", "no");
        let v = form().validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        assert_eq!(v.answers.len(), 2);
    }

    #[test]
    fn none_is_exclusive_among_devices() {
        let mut a = response();
        a.set("home_devices", "none smartphone");
        let v = form().validate(&a, "es", today());
        let issue = only_issue(&v);
        assert_eq!(issue.kind, IssueKind::Constraint);
        assert_eq!(
            issue.message,
            "No se puede marcar «Ninguno» junto con un aparato."
        );
    }

    #[test]
    fn unknown_and_misplaced_answers_are_reported_and_removed() {
        let mut a = response();
        a.set("favorite_color", "blue");
        a.set("age_years", 3i64); // belongs inside a child
        instance(&mut a, 0).set("consent", "yes"); // belongs at the top
        let v = form().validate(&a, "en", today());
        let mut got: Vec<(&str, IssueKind)> =
            v.issues.iter().map(|i| (i.path.as_str(), i.kind)).collect();
        got.sort_by_key(|x| x.0);
        assert_eq!(
            got,
            [
                ("age_years", IssueKind::UnknownQuestion),
                ("child[1]/consent", IssueKind::UnknownQuestion),
                ("favorite_color", IssueKind::UnknownQuestion),
            ]
        );
        let mut expected = response();
        expected.set("children_count", 3i64);
        assert_eq!(v.answers, expected);
    }

    #[test]
    fn integer_answers_typed_as_text_are_normalized() {
        let mut a = response();
        instance(&mut a, 0).set("age_years", " 4");
        let v = form().validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        assert_eq!(
            v.answers.repeat("child")[0].value("age_years"),
            Some(&Value::Int(4))
        );
    }
}

mod checkin_and_case_note {
    use chrono::NaiveDate;

    use crate::instruments::seed_form;
    use crate::{Answers, IssueKind};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
    }

    #[test]
    fn week_of_cannot_be_in_the_future() {
        let form = seed_form("literacy_checkin").unwrap().unwrap();
        let mut a = Answers::new();
        a.set("child", "person-7f3a")
            .set("week_of", "2025-03-10")
            .set("read_days", 8i64)
            .set("want_callback", "no")
            .set("callback_note", "call me");
        let v = form.validate(&a, "es", today());
        assert_eq!(v.issues.len(), 1, "{:#?}", v.issues);
        assert_eq!(v.issues[0].path, "read_days");
        assert_eq!(
            v.issues[0].message,
            "Escriba un número de días entre 0 y 7."
        );
        assert_eq!(v.answers.value("callback_note"), None);

        a.set("read_days", 3i64).set("week_of", "2025-03-11");
        let v = form.validate(&a, "en", today());
        assert_eq!(v.issues.len(), 1, "{:#?}", v.issues);
        assert_eq!(v.issues[0].kind, IssueKind::Constraint);
        assert_eq!(v.issues[0].message, "The week cannot be in the future.");
    }

    #[test]
    fn followup_comes_after_contact() {
        let form = seed_form("case_note").unwrap().unwrap();
        let mut a = Answers::new();
        a.set("participant", "person-1")
            .set("contact_date", "2025-03-03")
            .set("contact_type", "home_visit")
            .set("services", "toolkit_delivery early_learning_referral")
            .set("referral_to", "org-42")
            .set("referral_status", "made")
            .set("ferpa_release", "no")
            .set("followup_date", "2025-03-17");
        let v = form.validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);

        a.set("followup_date", "2025-03-03");
        let v = form.validate(&a, "es", today());
        assert_eq!(v.issues.len(), 1, "{:#?}", v.issues);
        assert_eq!(v.issues[0].path, "followup_date");
        assert_eq!(
            v.issues[0].message,
            "La fecha de seguimiento debe ser posterior a la fecha del contacto."
        );

        a.remove("referral_to");
        a.set("followup_date", "2025-03-04");
        let v = form.validate(&a, "en", today());
        assert!(v.is_valid(), "{:#?}", v.issues);
        assert_eq!(v.answers.value("referral_status"), None);
    }
}
