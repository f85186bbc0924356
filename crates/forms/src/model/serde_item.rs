//! The JSON shape of an [`Item`]: one flat object with a `type`, like a row of an
//! XLSForm `survey` sheet, converted to and from the typed enum.

use serde::{Deserialize, Serialize};

use super::{Group, Item, Labels, Question, QuestionType, Repeat};
use crate::Value;

/// A yes/no column that may hold an expression instead: `true`, `false` or
/// `"${age} < 5"` (older definitions only have the booleans).
#[derive(Serialize, Deserialize, Default)]
#[serde(untagged)]
enum Flag {
    #[default]
    Off,
    Const(bool),
    Expr(String),
}

impl Flag {
    fn is_off(&self) -> bool {
        matches!(self, Flag::Off | Flag::Const(false))
    }

    fn present(&self) -> bool {
        !self.is_off()
    }

    /// The constant and the expression; a string that is a yes/no word is the constant.
    fn split(self) -> (bool, Option<String>) {
        match self {
            Flag::Off => (false, None),
            Flag::Const(b) => (b, None),
            Flag::Expr(text) => super::flag_or_expression(&text),
        }
    }

    fn join(constant: bool, expr: Option<String>) -> Flag {
        match expr {
            Some(e) => Flag::Expr(e),
            None if constant => Flag::Const(true),
            None => Flag::Off,
        }
    }
}

/// One item as written in JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    label: Labels,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    hint: Labels,
    #[serde(default, skip_serializing_if = "Flag::is_off")]
    required: Flag,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    required_message: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relevant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constraint: Option<String>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    constraint_message: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calculation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<Value>,
    #[serde(default, skip_serializing_if = "Flag::is_off")]
    read_only: Flag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    appearance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parameters: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    choice_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repeat_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Item>>,
}

impl TryFrom<RawItem> for Item {
    type Error = String;

    fn try_from(raw: RawItem) -> Result<Item, String> {
        let kind = raw.kind.trim();
        let container = matches!(
            kind,
            "group" | "begin group" | "begin_group" | "repeat" | "begin repeat" | "begin_repeat"
        );
        let name = &raw.name;
        let reject = |field: &str, present: bool| {
            if present {
                Err(format!("`{field}` is not allowed on {kind} `{name}`"))
            } else {
                Ok(())
            }
        };
        if container {
            reject("required", raw.required.present())?;
            reject("required_message", !raw.required_message.0.is_empty())?;
            reject("constraint", raw.constraint.is_some())?;
            reject("constraint_message", !raw.constraint_message.0.is_empty())?;
            reject("calculation", raw.calculation.is_some())?;
            reject("default", raw.default.is_some())?;
            reject("read_only", raw.read_only.present())?;
            reject("parameters", raw.parameters.is_some())?;
            reject("choice_filter", raw.choice_filter.is_some())?;
            let items = raw.items.unwrap_or_default();
            if kind.contains("group") {
                reject("repeat_count", raw.repeat_count.is_some())?;
                Ok(Item::Group(Group {
                    name: raw.name,
                    label: raw.label,
                    hint: raw.hint,
                    appearance: raw.appearance,
                    relevant: raw.relevant,
                    items,
                }))
            } else {
                Ok(Item::Repeat(Repeat {
                    name: raw.name,
                    label: raw.label,
                    hint: raw.hint,
                    appearance: raw.appearance,
                    relevant: raw.relevant,
                    items,
                    repeat_count: raw.repeat_count,
                }))
            }
        } else {
            reject("items", raw.items.is_some())?;
            reject("repeat_count", raw.repeat_count.is_some())?;
            let qtype: QuestionType = kind
                .parse()
                .map_err(|e: String| format!("question `{name}`: {e}"))?;
            let (required, required_if) = raw.required.split();
            let (read_only, read_only_if) = raw.read_only.split();
            Ok(Item::Question(Question {
                name: raw.name,
                qtype,
                label: raw.label,
                hint: raw.hint,
                required,
                required_if,
                required_message: raw.required_message,
                relevant: raw.relevant,
                constraint: raw.constraint,
                constraint_message: raw.constraint_message,
                calculation: raw.calculation,
                default: raw.default,
                read_only,
                read_only_if,
                appearance: raw.appearance,
                parameters: raw.parameters,
                choice_filter: raw.choice_filter,
            }))
        }
    }
}

impl From<Item> for RawItem {
    fn from(item: Item) -> RawItem {
        let empty = |kind: &str, name: String, label: Labels, relevant: Option<String>| RawItem {
            kind: kind.to_string(),
            name,
            label,
            hint: Labels::new(),
            required: Flag::Off,
            required_message: Labels::new(),
            relevant,
            constraint: None,
            constraint_message: Labels::new(),
            calculation: None,
            default: None,
            read_only: Flag::Off,
            appearance: None,
            parameters: None,
            choice_filter: None,
            repeat_count: None,
            items: None,
        };
        match item {
            Item::Question(q) => RawItem {
                hint: q.hint,
                required: Flag::join(q.required, q.required_if),
                required_message: q.required_message,
                constraint: q.constraint,
                constraint_message: q.constraint_message,
                calculation: q.calculation,
                default: q.default,
                read_only: Flag::join(q.read_only, q.read_only_if),
                appearance: q.appearance,
                parameters: q.parameters,
                choice_filter: q.choice_filter,
                ..empty(&q.qtype.to_string(), q.name, q.label, q.relevant)
            },
            Item::Group(g) => RawItem {
                hint: g.hint,
                appearance: g.appearance,
                items: Some(g.items),
                ..empty("group", g.name, g.label, g.relevant)
            },
            Item::Repeat(r) => RawItem {
                hint: r.hint,
                appearance: r.appearance,
                items: Some(r.items),
                repeat_count: r.repeat_count,
                ..empty("repeat", r.name, r.label, r.relevant)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Form;
    use super::*;

    fn items(json: &str) -> Result<Vec<Item>, serde_json::Error> {
        Form::from_json(&format!(
            r#"{{"id": "f", "version": 1, "items": [{json}]}}"#
        ))
        .map(|f| f.items)
    }

    #[test]
    fn groups_and_repeats_keep_hint_and_appearance() {
        let read = items(
            r#"{"type": "group", "name": "visit", "label": "The visit",
                "hint": {"en": "Once consent is given.", "es": "Con el consentimiento."},
                "appearance": "field-list", "items": [
                  {"type": "begin repeat", "name": "member", "hint": "One per person.",
                   "appearance": "minimal", "items": []}]}"#,
        )
        .unwrap();
        let Item::Group(g) = &read[0] else {
            panic!("not a group")
        };
        assert_eq!(g.appearance.as_deref(), Some("field-list"));
        assert_eq!(g.hint.get("es", "en"), Some("Con el consentimiento."));
        let Item::Repeat(r) = &g.items[0] else {
            panic!("not a repeat")
        };
        assert_eq!(r.appearance.as_deref(), Some("minimal"));
        assert_eq!(r.hint.get("en", "en"), Some("One per person."));
        // Written under the keys questions use, and read back the same.
        let json = serde_json::to_value(&read[0]).unwrap();
        assert_eq!(json["appearance"], "field-list");
        assert_eq!(json["hint"]["en"], "Once consent is given.");
        assert_eq!(json["items"][0]["hint"], "One per person.");
        let again: Item = serde_json::from_value(json).unwrap();
        assert_eq!(again, read[0]);
    }

    #[test]
    fn groups_without_them_are_written_as_before() {
        // An older definition (no hint, no appearance) parses, and is written back
        // without the keys.
        let read = items(r#"{"type": "group", "name": "g", "label": "G", "items": []}"#).unwrap();
        let Item::Group(g) = &read[0] else {
            panic!("not a group")
        };
        assert!(g.hint.is_empty() && g.appearance.is_none());
        let json = serde_json::to_value(&read[0]).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["items", "label", "name", "type"]);
    }

    #[test]
    fn question_only_fields_are_still_refused_on_groups() {
        for field in [
            r#""required": true"#,
            r#""constraint": ". > 1""#,
            r#""read_only": true"#,
            r#""parameters": "start=1""#,
        ] {
            let err = items(&format!(
                r#"{{"type": "group", "name": "g", {field}, "items": []}}"#
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("is not allowed on group `g`"),
                "{field}: {err}"
            );
        }
    }
}
