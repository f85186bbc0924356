//! The forecast "if nothing changes": the straight line that fits the last years best
//! (ordinary least squares), carried forward, with its 80% prediction interval.

use super::{Curve, Scale};

/// How many of the latest shown years the line is fitted to, by default.
pub const DEFAULT_FIT_YEARS: usize = 5;
/// The most years a forecast reaches ahead: a straight line says little beyond that.
pub const MAX_YEARS_AHEAD: usize = 30;

/// The 0.90 quantile of Student's t for 1 to 30 degrees of freedom (a two-sided 80%
/// interval), as printed t tables give it to three decimals.
const T_90: [f64; 30] = [
    3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.350,
    1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315,
    1.314, 1.313, 1.311, 1.310,
];
/// The normal distribution's 0.90 quantile, used beyond 30 degrees of freedom.
const Z_90: f64 = 1.282;

/// The multiplier of an 80% interval with `df` degrees of freedom: the t table for 1
/// to 30, the normal value beyond; none for 0 (two points leave no scatter to measure).
pub fn t_quantile_80(df: usize) -> Option<f64> {
    match df {
        0 => None,
        1..=30 => Some(T_90[df - 1]),
        _ => Some(Z_90),
    }
}

/// What a forecast fits and how far it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastOptions {
    /// How many of the latest shown years the line is fitted to (fewer when fewer are
    /// shown; 2 at the least, whatever is asked).
    pub fit_years: usize,
    /// How many years after the last shown year to project (at most
    /// [`MAX_YEARS_AHEAD`]).
    pub years_ahead: usize,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        ForecastOptions {
            fit_years: DEFAULT_FIT_YEARS,
            years_ahead: 2,
        }
    }
}

/// The fitted line: value = `mean_value` + `slope` × (year − `mean_year`). An OLS line
/// always passes through the mean year and the mean value, which is why it is written
/// around them (and what makes it easy to check by hand).
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The years fitted, in order.
    pub years: Vec<i32>,
    /// Change per year.
    pub slope: f64,
    /// The mean of the years fitted.
    pub mean_year: f64,
    /// The mean of the values fitted.
    pub mean_value: f64,
    /// Σ (year − mean year)²: how spread out the years are.
    pub sxx: f64,
    /// The residuals' standard deviation, √(Σ residual² / (n − 2)); none with two points.
    pub residual_sd: Option<f64>,
    /// The t multiplier for n − 2 degrees of freedom; none with two points.
    pub t: Option<f64>,
}

impl Fit {
    /// How many years were fitted.
    pub fn n(&self) -> usize {
        self.years.len()
    }

    /// The line's value in `year` (unclamped).
    pub fn value_at(&self, year: i32) -> f64 {
        self.mean_value + self.slope * (f64::from(year) - self.mean_year)
    }
}

/// An interval's bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Its lower bound.
    pub low: f64,
    /// Its upper bound.
    pub high: f64,
}

/// One projected year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projected {
    /// The year.
    pub year: i32,
    /// The line's value there (clamped to 0-100 for percentages).
    pub value: f64,
    /// The 80% prediction interval (clamped likewise); none when the line was fitted
    /// to two points.
    pub band: Option<Band>,
}

/// Where the curve goes if nothing changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The line, when at least two years are shown.
    pub fit: Option<Fit>,
    /// The projected years, after the last shown year (none without a line).
    pub points: Vec<Projected>,
    /// What the forecast rests on, for a person.
    pub note: String,
}

/// The forecast of a suppressed curve: an OLS line over its last `fit_years` shown
/// points (hidden and empty years are skipped, never used), projected to the
/// `years_ahead` years after the last shown year, each with its 80% prediction
/// interval: ± t × s × √(1 + 1/n + (year − mean year)² / Sxx). With no shown point or
/// one, there is no line and no projection (the note says so); with two, the line is
/// projected without a band. Percentages are clamped to 0-100.
pub fn forecast(curve: &Curve, options: &ForecastOptions) -> Forecast {
    let shown: Vec<(i32, f64)> = curve.shown().collect();
    let k = options.fit_years.max(2);
    let fitted = &shown[shown.len().saturating_sub(k)..];
    if fitted.len() < 2 {
        return Forecast {
            fit: None,
            points: Vec::new(),
            note: format!(
                "A forecast needs at least two years with a shown value; this curve has {}.",
                fitted.len()
            ),
        };
    }
    let n = fitted.len() as f64;
    let mean_year = fitted.iter().map(|(y, _)| f64::from(*y)).sum::<f64>() / n;
    let mean_value = fitted.iter().map(|(_, v)| v).sum::<f64>() / n;
    let sxx: f64 = fitted
        .iter()
        .map(|(y, _)| (f64::from(*y) - mean_year).powi(2))
        .sum();
    let sxy: f64 = fitted
        .iter()
        .map(|(y, v)| (f64::from(*y) - mean_year) * (v - mean_value))
        .sum();
    // The years are distinct (a series holds one value a year), so sxx > 0 here; the
    // guard only keeps a division by zero out of reach.
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let df = fitted.len() - 2;
    let t = t_quantile_80(df);
    let residual_sd = t.map(|_| {
        let ssr: f64 = fitted
            .iter()
            .map(|(y, v)| (v - (mean_value + slope * (f64::from(*y) - mean_year))).powi(2))
            .sum();
        (ssr / df as f64).sqrt()
    });
    let fit = Fit {
        years: fitted.iter().map(|(y, _)| *y).collect(),
        slope,
        mean_year,
        mean_value,
        sxx,
        residual_sd,
        t,
    };
    let clamp = |v: f64| match curve.scale() {
        Scale::Percent => v.clamp(0.0, 100.0),
        Scale::Number => v,
    };
    let last = fitted[fitted.len() - 1].0;
    let points = (1..=options.years_ahead.min(MAX_YEARS_AHEAD) as i32)
        .map(|ahead| {
            let year = last + ahead;
            let value = fit.value_at(year);
            let band = match (t, residual_sd) {
                (Some(t), Some(s)) => {
                    let d = f64::from(year) - mean_year;
                    let half = t * s * (1.0 + 1.0 / n + d * d / sxx).sqrt();
                    Some(Band {
                        low: clamp(value - half),
                        high: clamp(value + half),
                    })
                }
                _ => None,
            };
            Projected {
                year,
                value: clamp(value),
                band,
            }
        })
        .collect();
    let (first, last) = (fit.years[0], last);
    let note = match t {
        Some(_) => format!(
            "A straight line through the {} shown years from {first} to {last}, carried forward; \
             the band is its 80% prediction interval.",
            fit.n()
        ),
        None => format!(
            "A straight line through the two shown years {first} and {last}, carried forward; \
             two years cannot say how far the values scatter, so there is no band."
        ),
    };
    Forecast {
        fit: Some(fit),
        points,
        note,
    }
}
