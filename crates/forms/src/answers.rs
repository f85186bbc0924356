//! The answers of one response: question name to value, repeat groups nested.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Value;

/// One answer: a scalar, or the instances of a repeat group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// The instances of a repeat group, in order; each holds its own answers.
    Repeat(Vec<Answers>),
    /// A scalar answer.
    Value(Value),
}

/// The answers of a response (or of one repeat instance), keyed by question name.
///
/// Question names are unique within a form (XLSForm requires it), so non-repeating
/// groups do not nest: only repeat groups do.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<String, Answer>);

impl Answers {
    /// No answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The scalar answer to a question, if any.
    pub fn value(&self, name: &str) -> Option<&Value> {
        match self.0.get(name) {
            Some(Answer::Value(v)) => Some(v),
            _ => None,
        }
    }

    /// The instances of a repeat group (empty when none).
    pub fn repeat(&self, name: &str) -> &[Answers] {
        match self.0.get(name) {
            Some(Answer::Repeat(items)) => items,
            _ => &[],
        }
    }

    /// Set a scalar answer.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.0.insert(name.into(), Answer::Value(value.into()));
        self
    }

    /// Set the instances of a repeat group.
    pub fn set_repeat(&mut self, name: impl Into<String>, items: Vec<Answers>) -> &mut Self {
        self.0.insert(name.into(), Answer::Repeat(items));
        self
    }

    /// Remove an answer, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Answer> {
        self.0.remove(name)
    }

    /// Iterate over the answers in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Answer)> {
        self.0.iter()
    }

    /// Number of answered questions at this level (repeat groups count once).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no answers at this level.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
