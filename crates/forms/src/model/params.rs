//! The XLSForm `parameters` column (`start=0 end=10 step=0.5`) and the bounds of a
//! `range` question read from it, as the reference converter reads them.

use std::collections::BTreeMap;

/// Split a `parameters` cell into `key=value` pairs. Pairs are separated by spaces,
/// commas or semicolons; spaces around `=` are allowed (`start = 1`). Keys are
/// lower-cased, as pyxform does.
pub fn parse_parameters(text: &str) -> Result<BTreeMap<String, String>, String> {
    // Join `key = value` into `key=value` first, so that splitting on spaces keeps pairs.
    let mut joined = String::with_capacity(text.len());
    for part in text.split('=') {
        if !joined.is_empty() {
            joined.push('=');
        }
        joined.push_str(if joined.is_empty() {
            part.trim_end()
        } else {
            part.trim()
        });
    }
    let mut pairs = BTreeMap::new();
    for pair in joined
        .split([' ', ',', ';', '\t', '\n'])
        .filter(|p| !p.is_empty())
    {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("parameter `{pair}` is not written key=value"));
        };
        if key.is_empty() || value.is_empty() {
            return Err(format!("parameter `{pair}` is not written key=value"));
        }
        pairs.insert(key.to_ascii_lowercase(), value.to_string());
    }
    Ok(pairs)
}

/// The bounds of a `range` question: from `start` to `end` (either may be the larger;
/// a slider can run downwards) in steps of `step`. pyxform's defaults are 1, 10 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeParams {
    /// The first value of the slider.
    pub start: f64,
    /// The last value of the slider.
    pub end: f64,
    /// The distance between two values (positive).
    pub step: f64,
    /// Whether answers are decimals: a bound or the step is not a whole number.
    pub decimal: bool,
}

/// The parameters a `range` accepts (pyxform's `ParametersRange`).
const RANGE_KEYS: [&str; 6] = [
    "start",
    "end",
    "step",
    "tick_interval",
    "placeholder",
    "tick_labelset",
];

impl RangeParams {
    /// The bounds in a `parameters` cell (empty: the defaults), checked as pyxform
    /// checks them: numbers, a step that is not zero and not wider than the range, no
    /// unknown parameter.
    pub fn parse(parameters: Option<&str>) -> Result<RangeParams, String> {
        let pairs = parse_parameters(parameters.unwrap_or(""))?;
        if let Some(unknown) = pairs.keys().find(|k| !RANGE_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "`{unknown}` is not a range parameter (accepted: {})",
                RANGE_KEYS.join(", ")
            ));
        }
        let number = |key: &str, default: f64| -> Result<(f64, bool), String> {
            match pairs.get(key) {
                None => Ok((default, false)),
                Some(text) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map(|n| (n, n.fract() != 0.0))
                    .ok_or_else(|| {
                        format!("range parameter `{key}` must be a number, not `{text}`")
                    }),
            }
        };
        let (start, d1) = number("start", 1.0)?;
        let (end, d2) = number("end", 10.0)?;
        let (step, d3) = number("step", 1.0)?;
        if step == 0.0 {
            return Err("range parameter `step` must not be zero".into());
        }
        let step = step.abs();
        if step > (end - start).abs() {
            return Err("range parameter `step` is wider than the range".into());
        }
        Ok(RangeParams {
            start,
            end,
            step,
            decimal: d1 || d2 || d3,
        })
    }

    /// The smallest and largest values.
    pub fn bounds(&self) -> (f64, f64) {
        (self.start.min(self.end), self.start.max(self.end))
    }

    /// Whether `n` is within the bounds and a whole number of steps from `start`.
    pub fn accepts(&self, n: f64) -> bool {
        let (lo, hi) = self.bounds();
        if !n.is_finite() || n < lo || n > hi {
            return false;
        }
        let steps = (n - self.start) / self.step;
        // Decimal steps (0.1) are not exact in binary; allow rounding noise.
        (steps - steps.round()).abs() < 1e-9 * steps.abs().max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_split_on_spaces_commas_semicolons() {
        let p = parse_parameters("start=0 End = 10;step=2,").unwrap();
        assert_eq!(p["start"], "0");
        assert_eq!(p["end"], "10");
        assert_eq!(p["step"], "2");
        assert!(parse_parameters("start").is_err());
        assert!(parse_parameters("").unwrap().is_empty());
    }

    #[test]
    fn range_defaults_and_checks() {
        let r = RangeParams::parse(None).unwrap();
        assert_eq!((r.start, r.end, r.step, r.decimal), (1.0, 10.0, 1.0, false));
        let r = RangeParams::parse(Some("start=0 end=1 step=0.1")).unwrap();
        assert!(r.decimal && r.accepts(0.3) && r.accepts(1.0) && !r.accepts(0.35));
        let down = RangeParams::parse(Some("start=10 end=0 step=2")).unwrap();
        assert!(down.accepts(4.0) && !down.accepts(5.0) && !down.accepts(12.0));
        assert!(RangeParams::parse(Some("step=0")).is_err());
        assert!(RangeParams::parse(Some("start=0 end=1 step=2")).is_err());
        assert!(RangeParams::parse(Some("start=a")).is_err());
        assert!(RangeParams::parse(Some("start=inf")).is_err());
        assert!(RangeParams::parse(Some("colour=red")).is_err());
    }
}
