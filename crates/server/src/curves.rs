//! Turn the curve, as every page shows it: each indicator's yearly curve (survey or
//! administrative), suppressed by the pages' smallest cell, with its baseline and
//! targets, its forecast "if nothing changes", each year's trend verdict, and its
//! disaggregated curves. The staff indicator page, its CSV and printable report, the
//! dashboard's summary and the public scorecard all read [`IndicatorCurve`], so that
//! they cannot disagree; the arithmetic itself is `indicators::trend`'s
//! (`docs/indicators.md`).
//!
//! Everything here starts from [`CurveInputs`], which one storage call fills; nothing
//! here reads the database.

use std::collections::{BTreeMap, HashMap};

use indicators::trend::{
    self, admin_groups, admin_series, curve, disaggregated_curves, forecast, survey_groups,
    survey_series, verdicts, Curve, Direction, Forecast, ForecastOptions, Series, Summary,
    VerdictOptions, YearVerdict,
};
use indicators::trend::{Status, Trend};
use indicators::{survey_indicators, AggregateRow, Dimension, Hidden, ADMIN_INDICATORS};

use crate::storage::{Storage, StorageError, SurveyFacts, Targets};

/// Where an indicator's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The household survey: the `index`th of [`indicators::survey_indicators`].
    Survey(usize),
    /// Partners' uploaded rows.
    Administrative,
}

/// An indicator the pages know, with its names in English and Spanish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorInfo {
    /// Its id (`G12`).
    pub id: &'static str,
    /// What it measures, in English.
    pub title: &'static str,
    /// What it measures, in Spanish.
    pub title_es: &'static str,
    /// Where its values come from.
    pub origin: Origin,
}

/// Spanish names, by id: the public scorecard is read in both languages.
const SPANISH: &[(&str, &str)] = &[
    ("G1", "Niños desde el nacimiento hasta el kínder con un lugar habitual, que no sea la sala de emergencias, para recibir atención cuando están enfermos o consejos de salud"),
    ("G2", "Niños que muestran un desarrollo adecuado para su edad en varias áreas al comenzar el programa o el año escolar"),
    ("G3", "Niños desde el nacimiento hasta el kínder en educación temprana en un centro o en un hogar con licencia"),
    ("G4", "Estudiantes al nivel de su grado o por encima en las pruebas estatales"),
    ("G5", "Asistencia diaria promedio"),
    ("G6", "Tasa de graduación de la escuela secundaria en cuatro años"),
    ("G7", "Graduados que obtienen un título, certificado o credencial sin cursos de recuperación"),
    ("G11", "Tasa de movilidad estudiantil (cambios de escuela durante el año)"),
    ("G12", "Niños desde el nacimiento hasta el kínder a quienes sus familiares les leen tres o más veces por semana"),
    ("G13", "Niños de kínder a 8.º grado a quienes les leen, o que leen solos, tres o más veces por semana"),
    ("G14", "Jóvenes de 9.º a 12.º grado con quienes su familia habla sobre la importancia de la universidad y la carrera"),
    ("G15", "Estudiantes con internet de banda ancha y un dispositivo conectado en casa"),
];

/// Every indicator the pages show: the survey ones, then the administrative ones.
pub fn all_indicators() -> Vec<IndicatorInfo> {
    let spanish = |id: &str| {
        SPANISH
            .iter()
            .find(|(i, _)| *i == id)
            .map_or("", |(_, t)| *t)
    };
    survey_indicators()
        .iter()
        .enumerate()
        .map(|(i, s)| IndicatorInfo {
            id: s.id,
            title: s.title,
            title_es: spanish(s.id),
            origin: Origin::Survey(i),
        })
        .chain(ADMIN_INDICATORS.iter().map(|a| IndicatorInfo {
            id: a.id,
            title: a.title,
            title_es: spanish(a.id),
            origin: Origin::Administrative,
        }))
        .collect()
}

/// The indicator with this id (exact, as URLs carry it).
pub fn find_indicator(id: &str) -> Option<IndicatorInfo> {
    all_indicators().into_iter().find(|i| i.id == id)
}

/// What the curves are computed from: one storage call's reads.
#[derive(Debug, Clone, Default)]
pub struct CurveInputs {
    /// The digested survey children the viewer may see (everyone's for the public
    /// scorecard: it only ever shows suppressed aggregates).
    pub facts: SurveyFacts,
    /// The uploaded rows of each administrative indicator, by id.
    pub rows: HashMap<String, Vec<AggregateRow>>,
    /// Baselines and targets, by indicator id.
    pub targets: HashMap<String, Targets>,
    /// The smallest cell shown.
    pub min_cell: u64,
}

impl CurveInputs {
    /// Read everything the curves need, in one go: the survey children within `scope`
    /// (everyone's for `None`), every administrative indicator's rows, the targets and
    /// the smallest cell. Blocking: call it from a blocking task.
    pub fn read(storage: &Storage, scope: Option<&sync_core::Scope>) -> Result<Self, StorageError> {
        let mut rows = HashMap::new();
        for a in ADMIN_INDICATORS.iter() {
            rows.insert(a.id.to_string(), storage.aggregate_rows(a.id)?);
        }
        Ok(CurveInputs {
            facts: storage.survey_facts(scope)?,
            rows,
            targets: storage.targets()?,
            min_cell: storage.min_cell()?,
        })
    }
}

/// One indicator's curve and what the pages say about it.
#[derive(Debug, Clone)]
pub struct IndicatorCurve {
    /// Which indicator.
    pub info: IndicatorInfo,
    /// Which way is better.
    pub direction: Direction,
    /// Its baseline and targets.
    pub targets: trend::Targets,
    /// Its yearly values, suppressed.
    pub curve: Curve,
    /// Where it goes if nothing changes.
    pub forecast: Forecast,
    /// The verdict on each year from the first to the last.
    pub verdicts: Vec<YearVerdict>,
    /// The unsuppressed series the curve was made from: only [`CurveInputs::breakdowns`]
    /// reads it (the total its groups are suppressed against), never a page.
    series: Series,
}

impl IndicatorCurve {
    /// The verdict on `year`, if the curve reaches it.
    pub fn verdict_in(&self, year: i32) -> Option<&YearVerdict> {
        self.verdicts.iter().find(|v| v.year == year)
    }

    /// The latest year with a shown value.
    pub fn latest_shown(&self) -> Option<(i32, f64)> {
        self.curve.shown().last()
    }

    /// The target that holds for `year` ([`trend::Targets::for_year`]); with no year
    /// (nothing measured yet), the first target set.
    pub fn target_in(&self, year: Option<i32>) -> Option<(i32, f64)> {
        match year {
            Some(y) => self.targets.for_year(y),
            None => self.targets.by_year.iter().next().map(|(y, v)| (*y, *v)),
        }
    }
}

/// An indicator split one way: the total's curve and each group's, suppressed year by
/// year as a table.
#[derive(Debug, Clone)]
pub struct Breakdown {
    /// What it is split by ("Home language", or an uploaded group's name).
    pub title: String,
    /// The groups' curves, by category.
    pub groups: BTreeMap<String, Curve>,
}

/// The empty series a failed read leaves: the pages then say "no data", and the log
/// says why (two uploaded values for one year cannot be, as an upload replaces a year).
fn or_empty(series: Result<Series, trend::SeriesError>, id: &str) -> Series {
    series.unwrap_or_else(|e| {
        tracing::error!(indicator = id, error = %e, "an indicator's series was refused");
        Series::new(trend::Scale::Percent, Vec::new()).expect("an empty series is valid")
    })
}

impl CurveInputs {
    /// The unsuppressed yearly series of an indicator.
    fn series(&self, info: &IndicatorInfo) -> Series {
        match info.origin {
            Origin::Survey(index) => {
                let years = self.facts.years();
                or_empty(
                    survey_series(
                        index,
                        years.iter().map(|y| (*y, self.facts.children_in(*y))),
                    ),
                    info.id,
                )
            }
            Origin::Administrative => {
                or_empty(admin_series(self.admin_rows(info.id), info.id), info.id)
            }
        }
    }

    fn admin_rows(&self, id: &str) -> &[AggregateRow] {
        self.rows.get(id).map_or(&[], Vec::as_slice)
    }

    /// An indicator's curve, forecast and verdicts.
    pub fn curve(&self, info: IndicatorInfo) -> IndicatorCurve {
        let direction = Direction::of(info.id);
        let targets = self
            .targets
            .get(info.id)
            .map(Targets::trend)
            .unwrap_or_default();
        let series = self.series(&info);
        let curve = curve(&series, self.min_cell);
        let forecast = forecast(&curve, &ForecastOptions::default());
        let verdicts = verdicts(&curve, &targets, direction, &VerdictOptions::default());
        IndicatorCurve {
            info,
            direction,
            targets,
            curve,
            forecast,
            verdicts,
            series,
        }
    }

    /// Every indicator's curve, in [`all_indicators`] order.
    pub fn all_curves(&self) -> Vec<IndicatorCurve> {
        all_indicators()
            .into_iter()
            .map(|info| self.curve(info))
            .collect()
    }

    /// An indicator's disaggregated curves (of `c`, from [`Self::curve`]): by each
    /// disaggregation of the survey, or by each group an upload holds.
    pub fn breakdowns(&self, c: &IndicatorCurve) -> Vec<Breakdown> {
        let info = &c.info;
        let total = &c.series;
        let split = |title: String, groups: Result<BTreeMap<String, Series>, _>| {
            let groups: BTreeMap<String, Series> = groups.unwrap_or_else(|e| {
                tracing::error!(indicator = info.id, error = %e, "a disaggregation was refused");
                BTreeMap::new()
            });
            let (_, curves) = disaggregated_curves(total, &groups, self.min_cell);
            Breakdown {
                title,
                groups: curves,
            }
        };
        match info.origin {
            Origin::Survey(index) => {
                let years = self.facts.years();
                Dimension::ALL
                    .into_iter()
                    .map(|d| {
                        split(
                            d.title().to_string(),
                            survey_groups(
                                index,
                                d,
                                years.iter().map(|y| (*y, self.facts.children_in(*y))),
                            ),
                        )
                    })
                    .collect()
            }
            Origin::Administrative => {
                let rows = self.admin_rows(info.id);
                let mut groups: Vec<&str> = rows
                    .iter()
                    .map(|r| r.group.as_str())
                    .filter(|g| *g != indicators::aggregate::OVERALL)
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                groups
                    .into_iter()
                    .map(|g| split(g.to_string(), admin_groups(rows, info.id, g)))
                    .collect()
            }
        }
    }
}

/// The year the dashboard's summary is for: the latest year in which any indicator
/// has a shown value. None when none has.
pub fn summary_year(curves: &[IndicatorCurve]) -> Option<i32> {
    curves
        .iter()
        .filter_map(|c| c.latest_shown().map(|(y, _)| y))
        .max()
}

/// The dashboard's count of indicators trending the right way in [`summary_year`],
/// against the year before.
pub fn summary(curves: &[IndicatorCurve]) -> Option<Summary> {
    let year = summary_year(curves)?;
    Some(trend::summarize(
        curves.iter().map(|c| c.verdicts.as_slice()),
        year,
    ))
}

/// The header of [`numbers_csv`].
pub const NUMBERS_HEADER: [&str; 12] = [
    "indicator",
    "breakdown",
    "group",
    "year",
    "kind",
    "value",
    "numerator",
    "n",
    "status",
    "verdict",
    "low_80",
    "high_80",
];

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Shown => "shown",
        Status::NoData => "no data",
        Status::Suppressed(Hidden::Small) => "suppressed (small)",
        Status::Suppressed(Hidden::Complementary) => "suppressed (complementary)",
    }
}

/// The class a page gives a verdict (`trend right`, `trend none` for none).
pub fn trend_class(trend: Option<Trend>) -> &'static str {
    match trend {
        Some(Trend::RightDirection) => "trend right",
        Some(Trend::WrongDirection) => "trend wrong",
        Some(Trend::Flat) => "trend flat",
        Some(Trend::NoData) | None => "trend none",
    }
}

/// A verdict as the CSV and the pages name it.
pub fn trend_text(trend: Trend) -> &'static str {
    match trend {
        Trend::RightDirection => "right direction",
        Trend::WrongDirection => "wrong direction",
        Trend::Flat => "flat",
        Trend::NoData => "no data",
    }
}

/// Every number a curve's charts draw, as CSV lines (with [`NUMBERS_HEADER`] first):
/// the baseline, each target, each year's value (a hidden value and its n are left
/// empty, with its status) and verdict, each forecast year with its 80% range, and
/// each breakdown's group curves. Only suppressed values: what the charts show.
pub fn numbers_csv(c: &IndicatorCurve, breakdowns: &[Breakdown]) -> String {
    let id = c.info.id.to_string();
    let num = |v: f64| format!("{v:.2}");
    let mut out = crate::export::line(&NUMBERS_HEADER.map(String::from));
    let mut row = |breakdown: &str, group: &str, year: i32, kind: &str, rest: [String; 7]| {
        let mut fields = vec![
            id.clone(),
            breakdown.to_string(),
            group.to_string(),
            year.to_string(),
            kind.to_string(),
        ];
        fields.extend(rest);
        out.push_str(&crate::export::line(&fields));
    };
    let e = String::new;
    if let Some(b) = c.targets.baseline {
        row(
            "all",
            "",
            b.year,
            "baseline",
            [num(b.value), e(), e(), e(), e(), e(), e()],
        );
    }
    for (year, value) in &c.targets.by_year {
        row(
            "all",
            "",
            *year,
            "target",
            [num(*value), e(), e(), e(), e(), e(), e()],
        );
    }
    let point_fields = |p: &indicators::trend::CurvePoint| {
        [
            p.value.map(num).unwrap_or_default(),
            p.counts
                .map(|e| e.numerator.to_string())
                .unwrap_or_default(),
            p.counts
                .map(|e| e.denominator.to_string())
                .unwrap_or_default(),
            status_text(p.status).to_string(),
        ]
    };
    for p in c.curve.points() {
        let [value, numerator, n, status] = point_fields(p);
        let verdict = c
            .verdict_in(p.year)
            .map(|v| trend_text(v.trend).to_string())
            .unwrap_or_default();
        row(
            "all",
            "",
            p.year,
            "value",
            [value, numerator, n, status, verdict, e(), e()],
        );
    }
    for p in &c.forecast.points {
        let (low, high) = p.band.map_or((e(), e()), |b| (num(b.low), num(b.high)));
        row(
            "all",
            "",
            p.year,
            "forecast",
            [num(p.value), e(), e(), e(), e(), low, high],
        );
    }
    for b in breakdowns {
        for (group, curve) in &b.groups {
            for p in curve.points() {
                let [value, numerator, n, status] = point_fields(p);
                row(
                    &b.title,
                    group,
                    p.year,
                    "value",
                    [value, numerator, n, status, e(), e(), e()],
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_indicator_has_a_spanish_name() {
        let all = all_indicators();
        assert_eq!(all.len(), 12);
        for i in &all {
            assert!(!i.title_es.is_empty(), "{} has no Spanish name", i.id);
        }
        assert_eq!(find_indicator("G12").unwrap().origin, Origin::Survey(2));
        assert!(find_indicator("g12").is_none());
    }

    #[test]
    fn administrative_rows_become_curves_with_targets_and_verdicts() {
        let rows = indicators::parse_csv(
            b"indicator,year,group,category,numerator,denominator\n\
              G4,2023,all,,30,100\nG4,2024,all,,35,100\nG4,2025,all,,33,100\n\
              G4,2025,school,Lincoln,3,5\nG4,2025,school,Grant,30,95\n",
        )
        .unwrap();
        let mut inputs = CurveInputs {
            min_cell: 10,
            ..CurveInputs::default()
        };
        inputs.rows.insert("G4".into(), rows);
        inputs.targets.insert(
            "G4".into(),
            Targets {
                by_year: [(2024, 40.0)].into(),
                ..Targets::default()
            },
        );
        let g4 = inputs.curve(find_indicator("G4").unwrap());
        assert_eq!(g4.latest_shown(), Some((2025, 33.0)));
        // 2024: +5 toward 40; 2025: −2, away from the 2024 target that still stands.
        assert_eq!(
            g4.verdict_in(2024).unwrap().trend,
            trend::Trend::RightDirection
        );
        assert_eq!(
            g4.verdict_in(2025).unwrap().trend,
            trend::Trend::WrongDirection
        );
        assert_eq!(g4.verdict_in(2025).unwrap().target, Some((2024, 40.0)));
        let b = inputs.breakdowns(&g4);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].title, "school");
        // Lincoln (n 5) is hidden, and Grant with it (it would give Lincoln away).
        assert_eq!(b[0].groups["Lincoln"].at(2025).unwrap().value, None);
        assert_eq!(b[0].groups["Grant"].at(2025).unwrap().value, None);
        let csv = numbers_csv(&g4, &b);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], NUMBERS_HEADER.join(","));
        assert!(lines.contains(&"G4,all,,2024,target,40.00,,,,,,"));
        assert!(lines.contains(&"G4,all,,2025,value,33.00,33,100,shown,wrong direction,,"));
        assert!(lines.contains(&"G4,school,Lincoln,2025,value,,,,suppressed (small),,,"));
        // Three shown years: a forecast with a band (the line through 30, 35, 33).
        assert!(lines
            .iter()
            .any(|l| l.starts_with("G4,all,,2026,forecast,")));
        let all = inputs.all_curves();
        assert_eq!(summary_year(&all), Some(2025));
        let s = summary(&all).unwrap();
        assert_eq!((s.this_year.wrong, s.year_before.right), (1, 1));
    }
}
