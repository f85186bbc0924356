//! The turn-the-curve fixture, every expected number worked out by hand in the
//! comments.

use std::collections::BTreeMap;

use super::*;
use crate::table::Hidden;

const EPS: f64 = 1e-9;

fn close(a: f64, b: f64, eps: f64) -> bool {
    (a - b).abs() < eps
}

/// G12, read to three or more times a week, 2019-2025. 2020 has no value (no survey
/// that year). Survey years and the district's administrative file alternate, as an
/// indicator fed by a neighborhood or a family survey would.
///
/// | year | source | counts    | value |
/// |------|--------|-----------|-------|
/// | 2019 | survey | 8 / 20    | 40.0% |
/// | 2021 | survey | 42 / 100  | 42.0% |
/// | 2022 | admin  | 45 / 100  | 45.0% |
/// | 2023 | survey | 44 / 100  | 44.0% |
/// | 2024 | admin  | 12 / 25   | 48.0% |
/// | 2025 | survey | 483 / 1000| 48.3% |
fn g12() -> Series {
    Series::new(
        Scale::Percent,
        vec![
            // Out of order on purpose: the series sorts them.
            Point::rate(2024, 12, 25, Source::Administrative),
            Point::rate(2019, 8, 20, Source::Survey),
            Point::rate(2021, 42, 100, Source::Survey),
            Point::rate(2022, 45, 100, Source::Administrative),
            Point::rate(2023, 44, 100, Source::Survey),
            Point::rate(2025, 483, 1000, Source::Survey),
        ],
    )
    .unwrap()
}

/// Baseline 40% in 2019; targets 50% for 2023 and 55% for 2025.
fn g12_targets() -> Targets {
    Targets {
        baseline: Some(Baseline {
            year: 2019,
            value: 40.0,
        }),
        by_year: BTreeMap::from([(2023, 50.0), (2025, 55.0)]),
    }
}

/// G11, student mobility (lower is better), administrative: 2023 100/500 = 20.0%,
/// 2024 90/500 = 18.0%, 2025 95/500 = 19.0%. No target.
fn g11() -> Series {
    Series::new(
        Scale::Percent,
        vec![
            Point::rate(2023, 100, 500, Source::Administrative),
            Point::rate(2024, 90, 500, Source::Administrative),
            Point::rate(2025, 95, 500, Source::Administrative),
        ],
    )
    .unwrap()
}

/// G4, at grade level, administrative: 2024 30/100 = 30.0%, 2025 35/100 = 35.0%;
/// target 40% for 2026.
fn g4() -> (Series, Targets) {
    (
        Series::new(
            Scale::Percent,
            vec![
                Point::rate(2024, 30, 100, Source::Administrative),
                Point::rate(2025, 35, 100, Source::Administrative),
            ],
        )
        .unwrap(),
        Targets {
            baseline: None,
            by_year: BTreeMap::from([(2026, 40.0)]),
        },
    )
}

#[test]
fn each_years_value_is_its_share_and_small_years_hide() {
    let c = curve(&g12(), 10);
    let values: Vec<(i32, Option<f64>)> = c.points().iter().map(|p| (p.year, p.value)).collect();
    // 8/20 = 40.0, 42/100 = 42.0, 45/100 = 45.0, 44/100 = 44.0, 12/25 = 48.0,
    // 483/1000 = 48.3: every n is 10 or more, so all are shown.
    let expected = [
        (2019, 40.0),
        (2021, 42.0),
        (2022, 45.0),
        (2023, 44.0),
        (2024, 48.0),
        (2025, 48.3),
    ];
    assert_eq!(values.len(), expected.len());
    for ((y, v), (ey, ev)) in values.iter().zip(expected) {
        assert_eq!(*y, ey);
        assert!(close(v.unwrap(), ev, EPS), "{y}: {v:?}");
    }
    assert_eq!(c.at(2024).unwrap().source, Source::Administrative);
    assert_eq!(
        c.at(2025).unwrap().counts,
        Some(Estimate {
            numerator: 483,
            denominator: 1000
        })
    );
    assert_eq!(c.at(2020), None);

    // At 30 the two small years (n = 20 and n = 25) are hidden, with their counts.
    let c = curve(&g12(), 30);
    for year in [2019, 2024] {
        let p = c.at(year).unwrap();
        assert_eq!(p.status, Status::Suppressed(Hidden::Small));
        assert_eq!((p.value, p.counts), (None, None));
    }
    assert_eq!(c.shown().count(), 4);
}

#[test]
fn verdicts_follow_the_target_the_direction_and_the_tolerance() {
    let c = curve(&g12(), 10);
    let v = verdicts(
        &c,
        &g12_targets(),
        Direction::of("G12"),
        &VerdictOptions::default(),
    );
    let trends: Vec<(i32, Trend, Option<i32>)> = v
        .iter()
        .map(|v| (v.year, v.trend, v.compared_with))
        .collect();
    assert_eq!(
        trends,
        [
            // The first year has nothing before it.
            (2019, Trend::NoData, None),
            // No value in 2020.
            (2020, Trend::NoData, None),
            // 42.0 - 40.0 = +2.0 (2019 is two years back, within the gap of 2); the
            // target for 2021 is the first one set after it, 50% (2023): toward it.
            (2021, Trend::RightDirection, Some(2019)),
            // 45.0 - 42.0 = +3.0 toward 50.
            (2022, Trend::RightDirection, Some(2021)),
            // 44.0 - 45.0 = -1.0, away from 50 (2023's own target).
            (2023, Trend::WrongDirection, Some(2022)),
            // 48.0 - 44.0 = +4.0; 2024 has no target, the latest earlier one (50,
            // 2023) holds: toward it.
            (2024, Trend::RightDirection, Some(2023)),
            // 48.3 - 48.0 = +0.3 < 0.5: flat.
            (2025, Trend::Flat, Some(2024)),
        ]
    );
    assert!(close(v[6].change.unwrap(), 0.3, 1e-9));
    assert_eq!(v[3].target, Some((2023, 50.0)));
    assert_eq!(v[5].target, Some((2023, 50.0)));
    assert_eq!(v[6].target, Some((2025, 55.0)));
    assert_eq!(
        v[4].reason,
        "Down 1.0 points since 2022 (from 45.0% to 44.0%), away from the target of 50.0% (2023)."
    );
    assert_eq!(
        v[6].reason,
        "Up 0.3 points since 2024 (from 48.0% to 48.3%): less than the 0.5 points tolerance, so flat."
    );
    assert_eq!(v[1].reason, "No value for 2020.");
    assert!(v[0].reason.contains("No shown value"), "{}", v[0].reason);

    // With a tolerance of 0.2 the +0.3 of 2025 counts: toward 55.
    let loose = VerdictOptions {
        tolerance: 0.2,
        ..VerdictOptions::default()
    };
    assert_eq!(
        verdict(&c, &g12_targets(), Direction::HigherIsBetter, 2025, &loose).trend,
        Trend::RightDirection
    );
    // With a gap of 1, 2021 has nothing to compare with (2020 is empty).
    let strict = VerdictOptions {
        max_gap_years: 1,
        ..VerdictOptions::default()
    };
    let v2021 = verdict(&c, &g12_targets(), Direction::HigherIsBetter, 2021, &strict);
    assert_eq!(v2021.trend, Trend::NoData);
    assert_eq!(
        v2021.reason,
        "No shown value in the year before 2021 to compare with."
    );

    // Mobility, lower is better, no target: 18.0 - 20.0 = -2.0 (right), then
    // 19.0 - 18.0 = +1.0 (wrong).
    assert_eq!(Direction::of("G11"), Direction::LowerIsBetter);
    let m = verdicts(
        &curve(&g11(), 10),
        &Targets::default(),
        Direction::of("G11"),
        &VerdictOptions::default(),
    );
    let trends: Vec<Trend> = m.iter().map(|v| v.trend).collect();
    assert_eq!(
        trends,
        [Trend::NoData, Trend::RightDirection, Trend::WrongDirection]
    );
    assert_eq!(
        m[2].reason,
        "Up 1.0 points since 2024 (from 18.0% to 19.0%); no target is set and lower is better."
    );
}

#[test]
fn past_the_target_the_better_way_still_counts() {
    // 60 then 65 against a target of 50, higher is better: already met, and up.
    let s = Series::new(
        Scale::Percent,
        vec![
            Point::rate(2020, 60, 100, Source::Survey),
            Point::rate(2021, 65, 100, Source::Survey),
            Point::rate(2022, 55, 100, Source::Survey),
        ],
    )
    .unwrap();
    let t = Targets {
        baseline: None,
        by_year: BTreeMap::from([(2020, 50.0)]),
    };
    let v = verdicts(
        &curve(&s, 10),
        &t,
        Direction::HigherIsBetter,
        &VerdictOptions::default(),
    );
    assert_eq!(v[1].trend, Trend::RightDirection);
    assert!(
        v[1].reason.contains("already met the target"),
        "{}",
        v[1].reason
    );
    // 65 to 55: still above 50, but the worse way.
    assert_eq!(v[2].trend, Trend::WrongDirection);
}

#[test]
fn the_forecast_is_the_least_squares_line_of_the_last_five_years() {
    let c = curve(&g12(), 10);
    let f = forecast(&c, &ForecastOptions::default());
    let fit = f.fit.as_ref().unwrap();
    // The last five shown years: 2021..2025 (2019 is the sixth).
    assert_eq!(fit.years, [2021, 2022, 2023, 2024, 2025]);
    // Mean year 2023; deviations -2, -1, 0, 1, 2; Sxx = 4 + 1 + 0 + 1 + 4 = 10.
    assert!(close(fit.mean_year, 2023.0, EPS));
    assert!(close(fit.sxx, 10.0, EPS));
    // Mean value (42 + 45 + 44 + 48 + 48.3) / 5 = 227.3 / 5 = 45.46.
    assert!(close(fit.mean_value, 45.46, EPS));
    // Sxy = -2×42 - 1×45 + 0×44 + 1×48 + 2×48.3 = -84 - 45 + 48 + 96.6 = 15.6;
    // slope = 15.6 / 10 = 1.56 points a year.
    assert!(close(fit.slope, 1.56, EPS));
    // Intercept, the line at the first year fitted: 45.46 - 2 × 1.56 = 42.34.
    assert!(close(fit.value_at(2021), 42.34, EPS));
    // Fitted 42.34, 43.90, 45.46, 47.02, 48.58; residuals -0.34, 1.10, -1.46, 0.98,
    // -0.28; squares 0.1156 + 1.21 + 2.1316 + 0.9604 + 0.0784 = 4.496;
    // s = √(4.496 / 3) = √1.498667 = 1.224200.
    let s = fit.residual_sd.unwrap();
    assert!(close(s, 1.224_200, 1e-6), "{s}");
    // t for 5 - 2 = 3 degrees of freedom: 1.638.
    assert_eq!(fit.t, Some(1.638));
    assert_eq!(f.points.len(), 2);
    // 2026: 45.46 + 1.56 × 3 = 50.14; half-width 1.638 × 1.224200 × √(1 + 1/5 + 9/10)
    // = 1.638 × 1.224200 × 1.449138 = 2.905869: 47.234 to 53.046.
    let p = f.points[0];
    assert_eq!(p.year, 2026);
    assert!(close(p.value, 50.14, EPS));
    let b = p.band.unwrap();
    assert!(
        close(b.low, 47.234_131, 1e-5) && close(b.high, 53.045_869, 1e-5),
        "{b:?}"
    );
    // 2027: 45.46 + 1.56 × 4 = 51.70; half-width 1.638 × 1.224200 × √(1 + 1/5 + 16/10)
    // = 1.638 × 1.224200 × 1.673320 = 3.355409: 48.345 to 55.055.
    let p = f.points[1];
    assert_eq!(p.year, 2027);
    assert!(close(p.value, 51.70, EPS));
    let b = p.band.unwrap();
    assert!(
        close(b.low, 48.344_591, 1e-5) && close(b.high, 55.055_409, 1e-5),
        "{b:?}"
    );
    assert!(
        f.note.contains("5 shown years from 2021 to 2025"),
        "{}",
        f.note
    );
}

#[test]
fn a_higher_threshold_hides_points_and_the_forecast_uses_fewer() {
    // At 30, 2019 (n = 20) and 2024 (n = 25) are hidden: four years are left, and the
    // line is fitted to 2021, 2022, 2023, 2025.
    let c = curve(&g12(), 30);
    let f = forecast(&c, &ForecastOptions::default());
    let fit = f.fit.unwrap();
    assert_eq!(fit.years, [2021, 2022, 2023, 2025]);
    // Mean year 8091 / 4 = 2022.75; mean value (42 + 45 + 44 + 48.3) / 4 = 44.825.
    assert!(close(fit.mean_year, 2022.75, EPS));
    assert!(close(fit.mean_value, 44.825, EPS));
    // Deviations -1.75, -0.75, 0.25, 2.25: Sxx = 3.0625 + 0.5625 + 0.0625 + 5.0625
    // = 8.75; Sxy = -1.75×42 - 0.75×45 + 0.25×44 + 2.25×48.3 = -73.5 - 33.75 + 11
    // + 108.675 = 12.425; slope = 12.425 / 8.75 = 1.42.
    assert!(close(fit.slope, 1.42, EPS));
    assert_eq!(fit.t, Some(1.886));
    assert_eq!(f.points[0].year, 2026);

    // The verdicts skip the hidden years: 2024 is not judged, 2025 compares with 2023
    // (48.3 - 44.0 = +4.3, toward 55), and 2021 has no shown year within two before.
    let v = verdicts(
        &c,
        &g12_targets(),
        Direction::HigherIsBetter,
        &VerdictOptions::default(),
    );
    let by_year = |y: i32| v.iter().find(|v| v.year == y).unwrap();
    assert_eq!(by_year(2024).trend, Trend::NoData);
    assert_eq!(
        by_year(2024).reason,
        "2024 is suppressed (fewer than 30 people), so it is not judged."
    );
    assert_eq!(by_year(2025).trend, Trend::RightDirection);
    assert_eq!(by_year(2025).compared_with, Some(2023));
    assert!(close(by_year(2025).change.unwrap(), 4.3, 1e-9));
    assert_eq!(by_year(2021).trend, Trend::NoData);
}

#[test]
fn the_summary_counts_indicators_trending_right_this_year_and_last() {
    let opts = VerdictOptions::default();
    let g12 = verdicts(
        &curve(&g12(), 10),
        &g12_targets(),
        Direction::of("G12"),
        &opts,
    );
    let g11 = verdicts(
        &curve(&g11(), 10),
        &Targets::default(),
        Direction::of("G11"),
        &opts,
    );
    let (s, t) = g4();
    let g4 = verdicts(&curve(&s, 10), &t, Direction::of("G4"), &opts);
    let s = summarize([g12.as_slice(), g11.as_slice(), g4.as_slice()], 2025);
    // 2025: G12 flat, G11 wrong (+1.0, lower is better), G4 right (30 to 35, toward
    // 40): 1 right of 3 with a verdict = 33.3%.
    assert_eq!(
        s.this_year,
        YearCount {
            year: 2025,
            right: 1,
            flat: 1,
            wrong: 1,
            no_data: 0
        }
    );
    assert!(close(
        s.this_year.percent_right().unwrap(),
        100.0 / 3.0,
        EPS
    ));
    // 2024: G12 right (+4.0), G11 right (-2.0), G4 no data (its first year): 2 of 2 =
    // 100%.
    assert_eq!(
        s.year_before,
        YearCount {
            year: 2024,
            right: 2,
            flat: 0,
            wrong: 0,
            no_data: 1
        }
    );
    assert_eq!(s.year_before.percent_right(), Some(100.0));
    assert_eq!(s.year_before.total(), 3);
    // Nothing at all: no percent, no panic.
    let empty = summarize(std::iter::empty::<&[YearVerdict]>(), 2025);
    assert_eq!(empty.this_year.percent_right(), None);
}

#[test]
fn disaggregated_curves_suppress_every_point_with_the_tables_rule() {
    // One year, 2023: total 60/120; groups A 30/70, B 25/44, C 2/6. At 10, C is hidden
    // (n = 6) and, the total being shown, the smallest other group (B, n = 44) too, so
    // that C cannot be recomputed as the total minus A and B.
    let total = Series::new(
        Scale::Percent,
        vec![
            Point::rate(2022, 50, 100, Source::Survey),
            Point::rate(2023, 60, 120, Source::Survey),
        ],
    )
    .unwrap();
    let group = |a: (u64, u64), b: (u64, u64)| {
        Series::new(
            Scale::Percent,
            vec![
                Point::rate(2022, a.0, a.1, Source::Survey),
                Point::rate(2023, b.0, b.1, Source::Survey),
            ],
        )
        .unwrap()
    };
    let groups = BTreeMap::from([
        ("A".to_string(), group((25, 50), (30, 70))),
        ("B".to_string(), group((20, 40), (25, 44))),
        ("C".to_string(), group((5, 10), (2, 6))),
    ]);
    let (overall, curves) = disaggregated_curves(&total, &groups, 10);
    assert_eq!(overall.at(2023).unwrap().value, Some(50.0));
    // 2022: every group has n of 10 or more: all shown.
    assert!(curves
        .values()
        .all(|c| c.at(2022).unwrap().status == Status::Shown));
    assert_eq!(curves["A"].at(2023).unwrap().status, Status::Shown);
    assert_eq!(
        curves["B"].at(2023).unwrap().status,
        Status::Suppressed(Hidden::Complementary)
    );
    assert_eq!(
        curves["C"].at(2023).unwrap().status,
        Status::Suppressed(Hidden::Small)
    );
    assert_eq!(curves["B"].at(2023).unwrap().value, None);
    // The hidden years never reach a forecast: B has one shown year left, so none.
    let f = forecast(&curves["B"], &ForecastOptions::default());
    assert!(f.fit.is_none() && f.points.is_empty());
    assert_eq!(
        f.note,
        "A forecast needs at least two years with a shown value; this curve has 1."
    );
}

#[test]
fn odd_series_give_errors_or_empty_answers_never_a_panic() {
    assert_eq!(
        Series::new(
            Scale::Percent,
            vec![
                Point::rate(2020, 1, 2, Source::Survey),
                Point::rate(2020, 1, 3, Source::Administrative)
            ]
        ),
        Err(SeriesError::DuplicateYear(2020))
    );
    assert!(matches!(
        Series::new(
            Scale::Percent,
            vec![Point::rate(2020, 3, 2, Source::Survey)]
        ),
        Err(SeriesError::NumeratorOverDenominator { .. })
    ));
    assert!(matches!(
        Series::new(
            Scale::Percent,
            vec![Point::plain(2020, 101.0, None, Source::Survey)]
        ),
        Err(SeriesError::BadValue { .. })
    ));
    assert!(Series::new(
        Scale::Number,
        vec![Point::plain(2020, f64::NAN, None, Source::Survey)]
    )
    .is_err());
    assert_eq!(
        Series::new(
            Scale::Number,
            vec![Point::plain(1000, 1.0, None, Source::Survey)]
        ),
        Err(SeriesError::YearOutOfRange(1000))
    );

    // Empty: no verdicts, no forecast.
    let empty = curve(&Series::new(Scale::Percent, vec![]).unwrap(), 10);
    assert!(verdicts(
        &empty,
        &Targets::default(),
        Direction::HigherIsBetter,
        &VerdictOptions::default()
    )
    .is_empty());
    let f = forecast(&empty, &ForecastOptions::default());
    assert!(f.fit.is_none());
    assert!(f.note.contains("this curve has 0"));

    // A zero denominator is no data, not a suppressed cell.
    let zero = curve(
        &Series::new(
            Scale::Percent,
            vec![Point::rate(2020, 0, 0, Source::Survey)],
        )
        .unwrap(),
        10,
    );
    assert_eq!(zero.at(2020).unwrap().status, Status::NoData);
    assert_eq!(
        verdict(
            &zero,
            &Targets::default(),
            Direction::HigherIsBetter,
            2020,
            &VerdictOptions::default()
        )
        .reason,
        "Nobody was counted in 2020."
    );

    // Two years: a line, no band. Plain numbers are not clamped; a plain value with a
    // small n is hidden, one without an n is shown.
    let two = Series::new(
        Scale::Number,
        vec![
            Point::plain(2020, 3.0, None, Source::Administrative),
            Point::plain(2021, 1.0, Some(50), Source::Administrative),
            Point::plain(2022, 9.0, Some(5), Source::Administrative),
        ],
    )
    .unwrap();
    let c = curve(&two, 10);
    assert_eq!(
        c.at(2022).unwrap().status,
        Status::Suppressed(Hidden::Small)
    );
    let f = forecast(
        &c,
        &ForecastOptions {
            fit_years: 0,
            years_ahead: 3,
        },
    );
    let fit = f.fit.unwrap();
    // (2020, 3) and (2021, 1): slope -2; 2022 → -1, 2023 → -3, 2024 → -5.
    assert!(close(fit.slope, -2.0, EPS));
    let values: Vec<f64> = f.points.iter().map(|p| p.value).collect();
    assert_eq!(values, [-1.0, -3.0, -5.0]);
    assert!(f.points.iter().all(|p| p.band.is_none()));
    assert!(f.note.contains("no band"));

    // A percentage line heading below zero is clamped.
    let falling = Series::new(
        Scale::Percent,
        vec![
            Point::rate(2020, 20, 100, Source::Survey),
            Point::rate(2021, 10, 100, Source::Survey),
            Point::rate(2022, 1, 100, Source::Survey),
        ],
    )
    .unwrap();
    let f = forecast(&curve(&falling, 10), &ForecastOptions::default());
    assert!(f
        .points
        .iter()
        .all(|p| p.value >= 0.0 && p.band.unwrap().low >= 0.0));
    assert_eq!(f.points[1].value, 0.0);
}

#[test]
fn targets_hold_from_their_year_and_before_the_first() {
    let t = g12_targets();
    assert_eq!(t.for_year(2019), Some((2023, 50.0)));
    assert_eq!(t.for_year(2023), Some((2023, 50.0)));
    assert_eq!(t.for_year(2024), Some((2023, 50.0)));
    assert_eq!(t.for_year(2030), Some((2025, 55.0)));
    assert_eq!(Targets::default().for_year(2020), None);
    let odd = Targets {
        baseline: None,
        by_year: BTreeMap::from([(2020, 30.0), (2022, f64::NAN)]),
    };
    assert_eq!(odd.for_year(2023), Some((2020, 30.0)));
    assert_eq!(t_quantile_80(0), None);
    assert_eq!(t_quantile_80(1), Some(3.078));
    assert_eq!(t_quantile_80(30), Some(1.310));
    assert_eq!(t_quantile_80(31), Some(1.282));
}

proptest::proptest! {
    #[test]
    fn forecasting_never_panics_and_the_band_holds_the_forecast(
        points in proptest::collection::vec((1900i32..2200, 0u64..2000, 0u64..2000, proptest::bool::ANY), 0..12),
        plain in proptest::collection::vec((1900i32..2200, -1e9f64..1e9, proptest::option::of(0u64..50)), 0..12),
        min_cell in 0u64..40,
        fit_years in 0usize..40,
        years_ahead in 0usize..50,
    ) {
        let rates: Vec<Point> = points
            .into_iter()
            .map(|(y, a, b, survey)| {
                let source = if survey { Source::Survey } else { Source::Administrative };
                Point::rate(y, a.min(b), a.max(b), source)
            })
            .collect();
        let plain: Vec<Point> = plain
            .into_iter()
            .map(|(y, v, n)| Point::plain(y, v, n, Source::Administrative))
            .collect();
        let options = ForecastOptions { fit_years, years_ahead };
        for (scale, pts) in [(Scale::Percent, rates), (Scale::Number, plain)] {
            // Duplicate years are refused; keep the first of each to forecast anyway.
            let series = match Series::new(scale, pts.clone()) {
                Ok(s) => s,
                Err(_) => {
                    let mut seen = std::collections::BTreeSet::new();
                    let unique = pts.into_iter().filter(|p| seen.insert(p.year)).collect();
                    Series::new(scale, unique).unwrap()
                }
            };
            let c = curve(&series, min_cell);
            let f = forecast(&c, &options);
            let shown = c.shown().count();
            proptest::prop_assert_eq!(f.fit.is_some(), shown >= 2);
            for p in &f.points {
                proptest::prop_assert!(p.value.is_finite());
                if let Some(b) = p.band {
                    proptest::prop_assert!(b.low <= p.value && p.value <= b.high, "{:?}", p);
                }
                if scale == Scale::Percent {
                    proptest::prop_assert!((0.0..=100.0).contains(&p.value));
                }
            }
            let v = verdicts(&c, &Targets::default(), Direction::HigherIsBetter, &VerdictOptions::default());
            let _ = summarize([v.as_slice()], 2020);
        }
    }
}

proptest::proptest! {
    #[test]
    fn disaggregated_curves_never_show_a_small_or_recomputable_group(
        cells in proptest::collection::vec(
            proptest::collection::vec((0u64..30, 0u64..30), 4),
            1..5,
        ),
        min_cell in 1u64..15,
    ) {
        // Groups "g0".."g3", years 2020.. ; the total of a year is the sum of its groups.
        let mut groups: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        let mut totals = Vec::new();
        for (i, year_cells) in cells.iter().enumerate() {
            let year = 2020 + i as i32;
            let (mut n, mut d) = (0, 0);
            for (g, (a, b)) in year_cells.iter().enumerate() {
                let (num, den) = (*a.min(b), *a.max(b));
                groups.entry(format!("g{g}")).or_default().push(Point::rate(year, num, den, Source::Survey));
                n += num;
                d += den;
            }
            totals.push(Point::rate(year, n, d, Source::Survey));
        }
        let total = Series::new(Scale::Percent, totals).unwrap();
        let groups: BTreeMap<String, Series> = groups
            .into_iter()
            .map(|(g, p)| (g, Series::new(Scale::Percent, p).unwrap()))
            .collect();
        let (overall, curves) = disaggregated_curves(&total, &groups, min_cell);
        for (i, year_cells) in cells.iter().enumerate() {
            let year = 2020 + i as i32;
            let mut hidden = 0;
            for (g, (a, b)) in year_cells.iter().enumerate() {
                let p = curves[&format!("g{g}")].at(year).unwrap();
                let den = *a.max(b);
                if p.status == Status::Shown {
                    proptest::prop_assert!(den >= min_cell);
                }
                if matches!(p.status, Status::Suppressed(_)) {
                    hidden += 1;
                }
            }
            if overall.at(year).unwrap().status == Status::Shown {
                proptest::prop_assert!(hidden != 1, "one hidden group beside a shown total");
            }
        }
    }
}
