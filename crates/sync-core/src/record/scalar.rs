//! Conversion between answer values and Automerge scalars.

use automerge::ScalarValue;
use forms::Value;

/// The Automerge scalar that stores a value.
pub(crate) fn to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Decimal(d) => ScalarValue::F64(*d),
        Value::Text(s) => ScalarValue::Str(s.as_str().into()),
    }
}

/// The value a stored Automerge scalar stands for. Kinds this core never writes
/// (bytes, counters, timestamps) are read leniently rather than rejected.
pub(crate) fn from_scalar(scalar: &ScalarValue) -> Value {
    match scalar {
        ScalarValue::Null => Value::Null,
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Int(i) => Value::Int(*i),
        ScalarValue::Uint(u) => i64::try_from(*u).map_or(Value::Decimal(*u as f64), Value::Int),
        ScalarValue::F64(d) => Value::Decimal(*d),
        ScalarValue::Str(s) => Value::Text(s.to_string()),
        ScalarValue::Counter(c) => Value::Int(i64::from(c)),
        ScalarValue::Timestamp(t) => Value::Int(*t),
        ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Value::Null,
    }
}

/// A value read from a document: a scalar converted, an object is none.
pub(crate) fn from_am(value: &automerge::Value<'_>) -> Option<Value> {
    match value {
        automerge::Value::Scalar(s) => Some(from_scalar(s)),
        automerge::Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        for v in [
            Value::Null,
            Value::Bool(true),
            Value::Int(-3),
            Value::Decimal(2.5),
            Value::Text("sí".into()),
        ] {
            assert_eq!(from_scalar(&to_scalar(&v)), v);
        }
    }
}
