//! Scalar answer values, as they are stored in a record.

use serde::{Deserialize, Serialize};

/// One scalar value of an answer or a record field.
///
/// Answers follow the XLSForm/ODK instance conventions: a `select_multiple` answer is the
/// space-separated list of choice names (`"computer smartphone"`), a `date` is
/// `YYYY-MM-DD` text, a `geopoint` is `"lat lon altitude accuracy"` text. Keeping each
/// answer one scalar makes each answer one unit of conflict when two people edit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum Value {
    /// No value (a skipped or cleared answer).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Decimal(f64),
    /// Text: also dates, choice names, geopoints.
    Text(String),
}

impl Value {
    /// Whether the value counts as "not answered" (null or empty text).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as text, as XLSForm expressions see it (`""` for null).
    pub fn as_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Decimal(d)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
