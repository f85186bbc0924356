//! One row per child of a household-survey response: the child's answers (the `child`
//! repeat group) over the household's, plus where the household is.

use std::collections::BTreeMap;

use forms::{Answer, Answers, Value};

/// A child as the indicators see it: answers by question name as text (a
/// `select_multiple` keeps its space-separated choices), the child's own answers
/// taking precedence over the household's, and the household's neighborhood.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChildRow {
    /// Answers by question name.
    pub fields: BTreeMap<String, String>,
    /// The neighborhood of the record's scope, if it has one.
    pub neighborhood: Option<String>,
}

impl ChildRow {
    /// An answer as text, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A whole-number answer (the child's age), if given and whole.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.trim().parse().ok()
    }

    /// A row from (question, answer) pairs, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> ChildRow {
        ChildRow {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            neighborhood: None,
        }
    }

    /// The choices of a `select_multiple` answer (none when unanswered).
    pub fn choices(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name).unwrap_or("").split_whitespace()
    }
}

/// The answer as text, or none for a null or a repeat group.
fn text(answer: &Answer) -> Option<String> {
    match answer {
        Answer::Value(Value::Null) | Answer::Repeat(_) => None,
        Answer::Value(Value::Text(t)) => Some(t.clone()),
        Answer::Value(Value::Int(i)) => Some(i.to_string()),
        Answer::Value(Value::Decimal(d)) => Some(d.to_string()),
        Answer::Value(Value::Bool(b)) => Some(b.to_string()),
    }
}

/// The children of one household-survey response (its `child` repeat group), each
/// with the household's answers. A response without children gives none.
pub fn children(response: &Answers, neighborhood: Option<&str>) -> Vec<ChildRow> {
    let household: BTreeMap<String, String> = response
        .iter()
        .filter_map(|(name, answer)| Some((name.clone(), text(answer)?)))
        .collect();
    response
        .repeat("child")
        .iter()
        .map(|child| {
            let mut fields = household.clone();
            for (name, answer) in child.iter() {
                if let Some(value) = text(answer) {
                    fields.insert(name.clone(), value);
                }
            }
            ChildRow {
                fields,
                neighborhood: neighborhood.map(str::to_owned),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_child_gets_the_households_answers_under_its_own() {
        let mut kid = Answers::new();
        kid.set("age_years", 4i64).set("race", "black white");
        let mut older = Answers::new();
        older
            .set("age_years", 15i64)
            .set("home_language", "child's own");
        let mut household = Answers::new();
        household
            .set("home_language", "es")
            .set("home_internet", Value::Null)
            .set_repeat("child", vec![kid, older]);
        let rows = children(&household, Some("east"));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].int("age_years"), Some(4));
        assert_eq!(rows[0].get("home_language"), Some("es"));
        assert_eq!(rows[0].get("home_internet"), None);
        assert_eq!(
            rows[0].choices("race").collect::<Vec<_>>(),
            ["black", "white"]
        );
        assert_eq!(rows[1].get("home_language"), Some("child's own"));
        assert_eq!(rows[1].neighborhood.as_deref(), Some("east"));
        assert!(children(&Answers::new(), None).is_empty());
    }
}
