//! The texts a screen shows: a label or hint with each `${name}` filled in.

use super::Walker;
use crate::expr::{Context as _, Resolved};
use crate::model::compile::{placeholders, Node};
use crate::validate::context::Scope;
use crate::Value;

impl Walker<'_> {
    /// An item's hint in the validation's language, `${name}` filled in at `scope`.
    pub(super) fn hint(&self, node: &Node, scope: &Scope) -> String {
        let text = node
            .hint
            .get(self.lang, &self.form.form.default_language)
            .unwrap_or("");
        if text.is_empty() {
            return String::new();
        }
        self.interpolate(text, scope)
    }

    /// A label with each `${name}` replaced by the answer as it stands (a choice by its
    /// label, the instances of a repeat question joined by `, `).
    pub(super) fn interpolate(&self, text: &str, scope: &Scope) -> String {
        let places = placeholders(text);
        if places.is_empty() {
            return text.to_string();
        }
        let ctx = self.ctx(scope, Value::Null);
        let shown = |name: &str, v: &Value| -> String {
            let text = v.as_text();
            let list = self.form.question(name).and_then(|q| q.qtype.list());
            match list {
                Some(list) => text
                    .split_whitespace()
                    .map(|c| self.form.choice_label(list, c, self.lang).unwrap_or(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                None => text,
            }
        };
        let mut out = String::new();
        let mut from = 0;
        for (range, name) in places {
            out.push_str(&text[from..range.start]);
            match ctx.resolve(name) {
                Some(Resolved::One(v)) => out.push_str(&shown(name, &v)),
                Some(Resolved::Many(vs)) => {
                    let parts: Vec<String> = vs
                        .iter()
                        .filter(|v| !v.is_empty())
                        .map(|v| shown(name, v))
                        .collect();
                    out.push_str(&parts.join(", "));
                }
                None => out.push_str(&text[range.clone()]),
            }
            from = range.end;
        }
        out.push_str(&text[from..]);
        out
    }
}
