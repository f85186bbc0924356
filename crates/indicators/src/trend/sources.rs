//! Series from what the server already holds: the digested children of each year's
//! survey responses ([`ChildFacts`]) and the uploaded administrative rows
//! ([`AggregateRow`]). The values are unsuppressed; pass them through [`super::curve`]
//! or [`super::disaggregated_curves`] before showing anything.

use std::collections::BTreeMap;

use super::{Point, Scale, Series, SeriesError, Source};
use crate::aggregate::OVERALL;
use crate::facts::{facts_estimate, facts_table};
use crate::table::Shown;
use crate::{AggregateRow, ChildFacts, Dimension};

/// The `index`th survey indicator (its position in [`crate::survey_indicators`]) as a
/// yearly series, from each year's children. A year whose children include nobody in
/// the indicator's universe is left out; a year given twice is refused.
pub fn survey_series<'a, C>(
    index: usize,
    years: impl IntoIterator<Item = (i32, C)>,
) -> Result<Series, SeriesError>
where
    C: IntoIterator<Item = &'a ChildFacts>,
{
    let points = years
        .into_iter()
        .map(|(year, children)| (year, facts_estimate(index, children)))
        .filter(|(_, e)| e.denominator > 0)
        .map(|(year, e)| Point::rate(year, e.numerator, e.denominator, Source::Survey))
        .collect();
    Series::new(Scale::Percent, points)
}

/// The `index`th survey indicator split by `dimension`: one series per category, each
/// year holding the category's counts (the categories with nobody that year are left
/// out of it).
pub fn survey_groups<'a, C>(
    index: usize,
    dimension: Dimension,
    years: impl IntoIterator<Item = (i32, C)>,
) -> Result<BTreeMap<String, Series>, SeriesError>
where
    C: IntoIterator<Item = &'a ChildFacts>,
{
    let mut points: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (year, children) in years {
        // A threshold of 0 hides nothing: these are the raw counts, suppressed later
        // by the curves.
        for cell in facts_table(index, children, dimension, 0).cells {
            if let Shown::Value(e) = cell.shown {
                points.entry(cell.category).or_default().push(Point::rate(
                    year,
                    e.numerator,
                    e.denominator,
                    Source::Survey,
                ));
            }
        }
    }
    points
        .into_iter()
        .map(|(category, points)| Ok((category, Series::new(Scale::Percent, points)?)))
        .collect()
}

/// An administrative indicator's overall series: its `all` rows, one a year.
pub fn admin_series(rows: &[AggregateRow], indicator: &str) -> Result<Series, SeriesError> {
    let points = rows
        .iter()
        .filter(|r| r.indicator.eq_ignore_ascii_case(indicator) && r.group == OVERALL)
        .map(|r| Point::rate(r.year, r.numerator, r.denominator, Source::Administrative))
        .collect();
    Series::new(Scale::Percent, points)
}

/// An administrative indicator split by one uploaded group (`race_ethnicity`,
/// `school`...): one series per category.
pub fn admin_groups(
    rows: &[AggregateRow],
    indicator: &str,
    group: &str,
) -> Result<BTreeMap<String, Series>, SeriesError> {
    let mut points: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.indicator.eq_ignore_ascii_case(indicator) && r.group == group)
    {
        points
            .entry(r.category.clone())
            .or_default()
            .push(Point::rate(
                r.year,
                r.numerator,
                r.denominator,
                Source::Administrative,
            ));
    }
    points
        .into_iter()
        .map(|(category, points)| Ok((category, Series::new(Scale::Percent, points)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::ChildRow;
    use crate::table::Hidden;
    use crate::trend::{curve, disaggregated_curves, Status};
    use crate::{parse_csv, survey_index, Digester};

    #[test]
    fn uploaded_rows_become_curves() {
        let file = b"indicator,year,group,category,numerator,denominator\n\
            G4,2024,all,,40,100\n\
            G4,2025,all,,45,100\n\
            G4,2024,race_ethnicity,Asian,3,6\n\
            G4,2024,race_ethnicity,Black or African American,17,44\n\
            G4,2024,race_ethnicity,Hispanic or Latino,20,50\n\
            G4,2025,race_ethnicity,Asian,6,12\n\
            G4,2025,race_ethnicity,Black or African American,19,38\n\
            G4,2025,race_ethnicity,Hispanic or Latino,20,50\n\
            G6,2025,all,,8,10\n";
        let rows = parse_csv(file).unwrap();
        let overall = admin_series(&rows, "g4").unwrap();
        assert_eq!(overall.points().len(), 2);
        let groups = admin_groups(&rows, "G4", "race_ethnicity").unwrap();
        assert_eq!(groups.len(), 3);
        let (total, curves) = disaggregated_curves(&overall, &groups, 10);
        // 2025: 45 of 100 = 45.0%.
        assert_eq!(total.at(2025).unwrap().value, Some(45.0));
        // 2024: Asian n = 6 is hidden, and so is the next smallest (Black, n = 44);
        // 2025: every group has n of 10 or more.
        assert_eq!(
            curves["Asian"].at(2024).unwrap().status,
            Status::Suppressed(Hidden::Small)
        );
        assert_eq!(
            curves["Black or African American"].at(2024).unwrap().status,
            Status::Suppressed(Hidden::Complementary)
        );
        assert_eq!(curves["Asian"].at(2025).unwrap().value, Some(50.0));
        assert!(admin_groups(&rows, "G4", "school").unwrap().is_empty());
    }

    #[test]
    fn digested_children_become_series() {
        let mut d = Digester::new();
        let child = |read: &str, language: &str| {
            let mut row = ChildRow::default();
            for (k, v) in [
                ("grade", "prek"),
                ("age_years", "4"),
                ("read_times", read),
                ("home_language", language),
            ] {
                row.fields.insert(k.into(), v.into());
            }
            row
        };
        // 2023: 3 of 4 read to often (2 English, 1 of 2 Spanish); 2025: 1 of 2.
        let y2023: Vec<ChildFacts> = [
            ("daily", "en"),
            ("three_plus", "en"),
            ("daily", "es"),
            ("never", "es"),
        ]
        .iter()
        .map(|(r, l)| d.digest(&child(r, l)))
        .collect();
        let y2025: Vec<ChildFacts> = [("daily", "en"), ("never", "en")]
            .iter()
            .map(|(r, l)| d.digest(&child(r, l)))
            .collect();
        let g12 = survey_index("G12").unwrap();
        let years = [(2025, &y2025), (2023, &y2023)];
        let s = survey_series(g12, years.iter().map(|(y, c)| (*y, c.iter()))).unwrap();
        let c = curve(&s, 1);
        assert_eq!(c.at(2023).unwrap().value, Some(75.0));
        assert_eq!(c.at(2025).unwrap().value, Some(50.0));
        let groups = survey_groups(
            g12,
            Dimension::HomeLanguage,
            years.iter().map(|(y, c)| (*y, c.iter())),
        )
        .unwrap();
        assert_eq!(groups["English"].points().len(), 2);
        assert_eq!(groups["Spanish"].points().len(), 1);
        // G14 (grades 9-12) has nobody: no years.
        let g14 = survey_index("G14").unwrap();
        assert!(
            survey_series(g14, years.iter().map(|(y, c)| (*y, c.iter())))
                .unwrap()
                .points()
                .is_empty()
        );
        // A year given twice is refused.
        assert_eq!(
            survey_series(g12, [(2023, y2023.iter()), (2023, y2025.iter())]),
            Err(SeriesError::DuplicateYear(2023))
        );
    }
}
