//! Field paths: `age_years`, `child[2]/age_years` (repeat instances count from 1, as in ODK).

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// One step of a path into a record's fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// A field or question name.
    Key(String),
    /// A repeat instance, 0-based.
    Index(usize),
}

/// A path to a field of a record, possibly inside repeat instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(pub Vec<Step>);

impl FieldPath {
    /// The path of a top-level field.
    pub fn field(name: impl Into<String>) -> Self {
        FieldPath(vec![Step::Key(name.into())])
    }

    /// The path of a field inside instance `index` (0-based) of repeat group `repeat`.
    pub fn in_repeat(repeat: impl Into<String>, index: usize, name: impl Into<String>) -> Self {
        FieldPath(vec![
            Step::Key(repeat.into()),
            Step::Index(index),
            Step::Key(name.into()),
        ])
    }

    /// The same path with one more step.
    pub fn push(&self, step: Step) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        FieldPath(steps)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for step in &self.0 {
            match step {
                Step::Key(k) => {
                    if !first {
                        f.write_str("/")?;
                    }
                    f.write_str(k)?;
                }
                Step::Index(i) => write!(f, "[{}]", i + 1)?,
            }
            first = false;
        }
        Ok(())
    }
}

impl FromStr for FieldPath {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| CoreError::BadPath {
            path: s.to_string(),
            reason: reason.to_string(),
        };
        let mut steps = Vec::new();
        for part in s.split('/') {
            let (name, rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            let valid = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
            if name.is_empty() || !name.chars().all(valid) {
                return Err(bad(
                    "each step needs a name of letters, digits, `_`, `-` or `.`",
                ));
            }
            steps.push(Step::Key(name.to_string()));
            if rest.is_empty() {
                continue;
            }
            let index = rest
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad("a repeat instance is written `[n]` with n from 1"))?;
            steps.push(Step::Index(index - 1));
        }
        Ok(FieldPath(steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let p: FieldPath = "child[2]/age_years".parse().unwrap();
        assert_eq!(p, FieldPath::in_repeat("child", 1, "age_years"));
        assert_eq!(p.to_string(), "child[2]/age_years");
        assert_eq!(FieldPath::field("consent").to_string(), "consent");
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in ["", "child[0]/age", "child[x]", "a//b", "child[2", "a b"] {
            assert!(
                bad.parse::<FieldPath>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
