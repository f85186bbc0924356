//! Hand-computed fixtures for the performance measures, and a property test.

use super::*;

fn day(y: i32, m: u32, d: u32) -> Date {
    Date::new(y, m, d).unwrap()
}

fn rec(person: &'static str, date: Date) -> Record<&'static str> {
    Record {
        person,
        date,
        on_time: None,
        follow_up_completed: None,
        check_in: false,
        answer: None,
    }
}

/// A family-engagement program's records for 2025, the answer being reading days
/// per week at each check-in.
///
/// - ana: check-ins Mon 6, 13, 20 and 27 January (four weeks running), reading 2,
///   3, -, 4 days; on time; her follow-up completed; again on 7 April, reading 5.
/// - ben: check-ins 7 and 21 January, 4 and 11 February (weeks of 6 Jan, 20 Jan,
///   3 Feb, 10 Feb: the week of 27 January is missing, so two running at most),
///   reading 5 then 4; served late; his follow-up not completed.
/// - cruz: no check-ins; contacts 3 February and 3 and 10 March, reading 1 and 1;
///   on time twice; a follow-up open on 3 March and completed on 10 March.
/// - dee: one check-in on 31 March, reading 3 (one answer: nothing to compare).
fn fixture() -> Vec<Record<&'static str>> {
    vec![
        Record {
            check_in: true,
            answer: Some(2.0),
            on_time: Some(true),
            ..rec("ana", day(2025, 1, 6))
        },
        Record {
            check_in: true,
            answer: Some(3.0),
            ..rec("ana", day(2025, 1, 13))
        },
        Record {
            check_in: true,
            ..rec("ana", day(2025, 1, 20))
        },
        Record {
            check_in: true,
            answer: Some(4.0),
            follow_up_completed: Some(true),
            ..rec("ana", day(2025, 1, 27))
        },
        Record {
            check_in: true,
            answer: Some(5.0),
            on_time: Some(false),
            ..rec("ben", day(2025, 1, 7))
        },
        Record {
            check_in: true,
            answer: Some(4.0),
            follow_up_completed: Some(false),
            ..rec("ben", day(2025, 1, 21))
        },
        Record {
            check_in: true,
            ..rec("ben", day(2025, 2, 4))
        },
        Record {
            check_in: true,
            ..rec("ben", day(2025, 2, 11))
        },
        Record {
            answer: Some(1.0),
            on_time: Some(true),
            ..rec("cruz", day(2025, 2, 3))
        },
        Record {
            answer: Some(1.0),
            on_time: Some(true),
            follow_up_completed: Some(false),
            ..rec("cruz", day(2025, 3, 3))
        },
        Record {
            follow_up_completed: Some(true),
            ..rec("cruz", day(2025, 3, 10))
        },
        Record {
            check_in: true,
            answer: Some(3.0),
            ..rec("dee", day(2025, 3, 31))
        },
        Record {
            answer: Some(5.0),
            ..rec("ana", day(2025, 4, 7))
        },
    ]
}

fn by_quarter(min_cell: u64) -> PerformanceOptions {
    PerformanceOptions {
        period: Period::Quarter,
        min_cell,
        ..PerformanceOptions::default()
    }
}

fn value(s: Shown) -> (u64, u64) {
    let e = s.value().unwrap();
    (e.numerator, e.denominator)
}

#[test]
fn each_kind_of_measure_by_quarter() {
    let m = measures(&fixture(), &by_quarter(3));
    assert_eq!(m.len(), 2);
    let q1 = &m[0];
    assert_eq!(q1.period.to_string(), "2025 Q1");
    // How much: ana, ben, cruz, dee = 4 people; 4 + 4 + 3 + 1 = 12 contacts.
    assert_eq!((q1.people_served, q1.contacts), (4, 12));
    // How well. On time: ana yes, ben late, cruz yes (dee's record does not say):
    // 2 of 3. Follow-up: ana done, ben not, cruz done on 10 March: 2 of 3.
    // Check-ins four weeks running: ana yes, ben no (2 at most), dee no (1): 1 of 3.
    assert_eq!(value(q1.on_time), (2, 3));
    assert_eq!(value(q1.follow_up), (2, 3));
    assert_eq!(value(q1.check_ins_running), (1, 3));
    // Better off: ana 2 → 4 (+2, improved), ben 5 → 4 (-1), cruz 1 → 1 (0); dee has
    // one answer. 1 of 3 improved; mean change (2 - 1 + 0) / 3 = 0.333.
    let BetterOff::Shown {
        people,
        improved,
        mean_change,
    } = q1.better_off
    else {
        panic!("{:?}", q1.better_off);
    };
    assert_eq!((people, improved), (3, 1));
    assert!((mean_change - 1.0 / 3.0).abs() < 1e-12);
    assert!((q1.better_off.percent_improved().unwrap() - 100.0 / 3.0).abs() < 1e-12);
    // Q2: ana alone, once: 1 person, 1 contact, nothing to share or compare.
    let q2 = &m[1];
    assert_eq!(q2.period.to_string(), "2025 Q2");
    assert_eq!((q2.people_served, q2.contacts), (1, 1));
    assert_eq!(q2.on_time, Shown::Value(Estimate::default()));
    assert_eq!(q2.better_off, BetterOff::NoData);
}

#[test]
fn a_year_and_the_lower_is_better_reading() {
    let opts = PerformanceOptions {
        period: Period::Year,
        min_cell: 3,
        ..PerformanceOptions::default()
    };
    let m = measures(&fixture(), &opts);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].period.to_string(), "2025");
    // 13 records of 4 people; ana's latest answer is now 5 (7 April): changes +3,
    // -1, 0, mean 2 / 3.
    assert_eq!((m[0].people_served, m[0].contacts), (4, 13));
    let BetterOff::Shown { mean_change, .. } = m[0].better_off else {
        panic!("{:?}", m[0].better_off);
    };
    assert!((mean_change - 2.0 / 3.0).abs() < 1e-12);
    // Were fewer days better, only ben (-1) would have improved.
    let lower = PerformanceOptions {
        better: Direction::LowerIsBetter,
        ..opts
    };
    let m = measures(&fixture(), &lower);
    assert!(matches!(
        m[0].better_off,
        BetterOff::Shown { improved: 1, .. }
    ));
    // By month: January holds ana's four weeks running.
    let months = measures(
        &fixture(),
        &PerformanceOptions {
            period: Period::Month,
            min_cell: 1,
            ..opts
        },
    );
    let keys: Vec<String> = months.iter().map(|m| m.period.to_string()).collect();
    assert_eq!(keys, ["2025-01", "2025-02", "2025-03", "2025-04"]);
    // January: ana (run) and ben (6 and 20 January weeks only): 1 of 2.
    assert_eq!(value(months[0].check_ins_running), (1, 2));
}

#[test]
fn a_higher_threshold_hides_the_shares_and_the_mean() {
    // At 4, every Q1 share has a denominator of 3: hidden; the counts stay.
    let m = measures(&fixture(), &by_quarter(4));
    let q1 = &m[0];
    assert_eq!((q1.people_served, q1.contacts), (4, 12));
    for s in [q1.on_time, q1.follow_up, q1.check_ins_running] {
        assert_eq!(s, Shown::Hidden(Hidden::Small));
    }
    assert_eq!(q1.better_off, BetterOff::Suppressed(Hidden::Small));
    assert_eq!(q1.better_off.percent_improved(), None);
}

#[test]
fn the_order_of_the_records_does_not_matter() {
    let mut reversed = fixture();
    reversed.reverse();
    assert_eq!(
        measures(&reversed, &by_quarter(3)),
        measures(&fixture(), &by_quarter(3))
    );
    assert!(measures::<u32>(&[], &by_quarter(3)).is_empty());
}

#[test]
fn dates_and_weeks() {
    assert_eq!(day(1970, 1, 1).days(), 0);
    assert_eq!(day(2000, 3, 1).days(), 11_017);
    assert_eq!(day(1969, 12, 31).days(), -1);
    // 6 January 2025 is a Monday: it starts a week; Sunday the 12th ends it.
    assert_eq!(day(2025, 1, 6).week(), day(2025, 1, 12).week());
    assert_eq!(day(2025, 1, 13).week(), day(2025, 1, 6).week() + 1);
    assert_eq!(Date::new(2025, 2, 29), None);
    assert!(Date::new(2024, 2, 29).is_some());
    assert_eq!(Date::new(2025, 13, 1), None);
    assert_eq!(Date::new(2025, 4, 31), None);
    assert!(has_run(&BTreeSet::from([1, 2, 3, 4]), 4));
    assert!(!has_run(&BTreeSet::from([1, 2, 4, 5]), 4));
    assert!(!has_run(&BTreeSet::new(), 1));
}

proptest::proptest! {
    #[test]
    fn any_records_give_measures_never_a_panic(
        rows in proptest::collection::vec(
            (0u8..6, 1i32..9999, 1u32..13, 1u32..29, proptest::option::of(proptest::bool::ANY),
             proptest::option::of(proptest::bool::ANY), proptest::bool::ANY,
             proptest::option::of(proptest::num::f64::ANY)),
            0..40),
        min_cell in 0u64..20,
        period in 0usize..3,
        weeks in 0u32..6,
    ) {
        let records: Vec<Record<u8>> = rows
            .into_iter()
            .map(|(person, y, m, d, on_time, follow_up_completed, check_in, answer)| Record {
                person,
                date: Date::new(y, m, d).unwrap(),
                on_time,
                follow_up_completed,
                check_in,
                answer,
            })
            .collect();
        let opts = PerformanceOptions {
            period: [Period::Month, Period::Quarter, Period::Year][period],
            min_cell,
            weeks_running: weeks,
            ..PerformanceOptions::default()
        };
        let m = measures(&records, &opts);
        let contacts: u64 = m.iter().map(|m| m.contacts).sum();
        proptest::prop_assert_eq!(contacts, records.len() as u64);
        for period in &m {
            if let BetterOff::Shown { people, improved, mean_change } = period.better_off {
                proptest::prop_assert!(improved <= people && people >= min_cell);
                proptest::prop_assert!(mean_change.is_finite());
            }
        }
    }
}
