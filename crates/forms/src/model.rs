//! The form model: XLSForm concepts as Rust types, with a JSON form that is pleasant to
//! write by hand.
//!
//! A question's `type` is written as in an XLSForm `survey` sheet: `"integer"`,
//! `"select_one yes_no"`, `"select_multiple device"`. Groups and repeats are items with
//! `"type": "group"` / `"type": "repeat"` (XLSForm's `begin group` / `begin repeat`
//! are accepted as well) and their own `items`; besides `name` they take `label`,
//! `hint`, `appearance` (`"field-list"`: the group on one screen) and `relevant` as
//! questions write them, and a repeat `repeat_count`. Labels and messages are either a
//! plain string or an object keyed by language code:
//!
//! ```json
//! { "type": "integer", "name": "age_years", "required": true,
//!   "label": { "en": "How old is this child?", "es": "¿Qué edad tiene este niño?" },
//!   "constraint": ". >= 0 and . <= 18",
//!   "constraint_message": { "en": "Enter an age from 0 to 18.", "es": "Escriba una edad de 0 a 18." } }
//! ```
//!
//! Attached CSV files travel in the definition, under `data_files` ([`DataFile`]): a
//! select whose list is a file's name (`"select_one fruits.csv"`, XLSForm's
//! `select_one_from_file fruits.csv`) takes its choices from the file's rows when the
//! form is compiled, and `pulldata('fruits', ...)` and `instance('fruits')/root/item[...]`
//! read it. A definition without files leaves the key out:
//!
//! ```json
//! { "id": "f", "version": 1,
//!   "items": [{ "type": "select_one fruits.csv", "name": "fruit" }],
//!   "data_files": [{ "name": "fruits.csv", "columns": ["name", "label"],
//!                    "rows": [["apple", "Apple"], ["kiwi", "Kiwi"]] }] }
//! ```
//!
//! A [`Form`] is checked and its expressions parsed once by [`Form::compile`], which gives
//! a [`CompiledForm`] that validates responses.

pub(crate) mod compile;
mod data_file;
mod lookup;
mod metadata;
mod or_other;
mod params;
mod qtype;
mod serde_item;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Value;

pub use compile::{is_form_id, CompiledForm, FormError, FormErrorKind, NodeKind, MAX_FORM_ID};
pub(crate) use data_file::value_label_params;
pub use data_file::{is_data_file_name, DataFile, MAX_DATA_FILE_BYTES, MAX_DATA_FILE_ROWS};
pub use metadata::{odk_timestamp, DeviceFacts, MetaMoment};
pub use or_other::{or_other, OR_OTHER_CHOICE};
pub use params::{parse_parameters, RangeParams};
pub use qtype::{MetaType, QuestionType};

/// Answer keys starting with this prefix are metadata (an instance id, say), not
/// answers: validation keeps them as they are and does not report them, and item names
/// may not start with it.
pub const META_PREFIX: &str = "_";

/// A form definition: questions, groups and repeats, choice lists and translations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Stable form id (`household_survey`); with `version` it names one definition.
    pub id: String,
    /// Version of the definition; responses record the version they were entered with.
    pub version: u32,
    /// Title shown to people, per language.
    #[serde(default)]
    pub title: Labels,
    /// Languages the form is translated into (`en` English, `es` Español).
    #[serde(default)]
    pub languages: Vec<Language>,
    /// Language code used when a text is missing in the requested language.
    #[serde(default = "default_language")]
    pub default_language: String,
    /// The items of the form, in document order.
    pub items: Vec<Item>,
    /// Choice lists by list name, referred to by `select_one list` questions.
    #[serde(default)]
    pub choices: BTreeMap<String, Vec<Choice>>,
    /// Whether a choice list may name the same choice twice (XLSForm's
    /// `allow_choice_duplicates` setting); otherwise that is a form error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_choice_duplicates: bool,
    /// The CSV files attached to the form that it uses, with their data: the choices
    /// of a select whose list is a file's name (`select_one fruits.csv`, from XLSForm's
    /// `select_one_from_file fruits.csv`), the tables of `pulldata('fruits', ...)` and
    /// `instance('fruits')/root/item[...]`. Devices get them with the form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataFile>,
    /// Attached files the form names but was published without (an XLSForm uploaded
    /// before its CSV, as ODK allows; the reader warns). Until a version with the file
    /// is published, a select from it offers no choices and `pulldata()` or an
    /// `instance()` lookup on it gives nothing. A file named here and nowhere in
    /// `data_files` is not an error; one named in neither is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_files: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_language() -> String {
    "en".to_string()
}

impl Form {
    /// Parse a form definition from its JSON text.
    pub fn from_json(text: &str) -> Result<Form, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The form definition as pretty JSON (the same format [`Form::from_json`] reads).
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The attached data file named `name` (`fruits.csv`).
    pub fn data_file(&self, name: &str) -> Option<&DataFile> {
        self.data_files.iter().find(|f| f.name == name)
    }

    /// The choices of `list`: the `choices` list of that name, else, when `list` names
    /// a data file (`fruits.csv`), the file's rows as choices, read with the `value=`
    /// and `label=` parameters of the first select that uses it (as
    /// [`CompiledForm::choices`] gives them). For exports and previews of an
    /// uncompiled definition.
    pub fn list_choices(&self, list: &str) -> Option<std::borrow::Cow<'_, [Choice]>> {
        if let Some(c) = self.choices.get(list) {
            return Some(std::borrow::Cow::Borrowed(c.as_slice()));
        }
        let file = self.data_file(list)?;
        let params = compile::first_select_parameters(&self.items, list);
        let (value, label) = value_label_params(params.as_deref()).unwrap_or_default();
        file.choices(value.as_deref(), label.as_deref())
            .ok()
            .map(std::borrow::Cow::Owned)
    }
}

/// A language a form is translated into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Language code, as used as key in [`Labels`] (`en`, `es`).
    pub code: String,
    /// The language's name in that language (`English`, `Español`).
    pub name: String,
}

/// A translated text: language code to text.
///
/// Written in JSON as an object (`{"en": "Yes", "es": "Sí"}`) or, for a text that is
/// the same in every language, a plain string (stored under the empty code `""`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels(pub BTreeMap<String, String>);

impl Labels {
    /// No text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Labels from `(language code, text)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Labels(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Whether no text is given in any language.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|t| t.trim().is_empty())
    }

    /// The text in `lang` (or its primary language: `es` for `es-MX`), else in
    /// `default_lang`, else the language-neutral text, else any text; `None` only when
    /// there is no text at all.
    pub fn get(&self, lang: &str, default_lang: &str) -> Option<&str> {
        let found = |code: &str| {
            self.0
                .get(code)
                .map(String::as_str)
                .filter(|t| !t.trim().is_empty())
        };
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        found(lang)
            .or_else(|| found(primary))
            .or_else(|| found(default_lang))
            .or_else(|| found(""))
            .or_else(|| {
                self.0
                    .values()
                    .map(String::as_str)
                    .find(|t| !t.trim().is_empty())
            })
    }

    /// The text in exactly `lang` (no fallback).
    pub fn exact(&self, lang: &str) -> Option<&str> {
        self.0
            .get(lang)
            .map(String::as_str)
            .filter(|t| !t.trim().is_empty())
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.get("") {
            Some(text) if self.0.len() == 1 => s.serialize_str(text),
            _ => self.0.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Plain(String),
            ByLanguage(BTreeMap<String, String>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Plain(text) => Labels(BTreeMap::from([(String::new(), text)])),
            Raw::ByLanguage(map) => Labels(map),
        })
    }
}

/// One choice of a choice list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The value stored in the answer (`yes`, `three_plus`).
    pub name: String,
    /// What people see, per language.
    #[serde(default)]
    pub label: Labels,
    /// Further columns of the XLSForm `choices` sheet (`county` for a list of
    /// cities), which a question's `choice_filter` compares: `county = ${county}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

/// An item of a form: a question, a group, or a repeat group.
///
/// In JSON, every item is an object with a `type`; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_item::RawItem", into = "serde_item::RawItem")]
// A form holds a few hundred items at most, built once; boxing questions would change
// every constructor and pattern in the workspace for no measurable gain.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A question.
    Question(Question),
    /// A group: items shown together, relevant together. Groups do not nest answers.
    Group(Group),
    /// A repeat group: its items are answered once per instance (one per child).
    Repeat(Repeat),
}

impl Item {
    /// The item's name.
    pub fn name(&self) -> &str {
        match self {
            Item::Question(q) => &q.name,
            Item::Group(g) => &g.name,
            Item::Repeat(r) => &r.name,
        }
    }

    /// The items inside a group or repeat (empty for a question).
    pub fn items(&self) -> &[Item] {
        match self {
            Item::Question(_) => &[],
            Item::Group(g) => &g.items,
            Item::Repeat(r) => &r.items,
        }
    }

    /// Every question of `items`, nested ones too, in document order.
    pub fn questions(items: &[Item]) -> impl Iterator<Item = &Question> + '_ {
        items
            .iter()
            .flat_map(|item| -> Box<dyn Iterator<Item = &Question> + '_> {
                match item {
                    Item::Question(q) => Box::new(std::iter::once(q)),
                    _ => Box::new(Item::questions(item.items())),
                }
            })
    }
}

/// A question of a form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Question {
    /// Name, unique in the form; the key of its answer and of `${name}` in expressions.
    pub name: String,
    /// The question type.
    pub qtype: QuestionType,
    /// The question text, per language.
    pub label: Labels,
    /// Help text shown under the question, per language.
    pub hint: Labels,
    /// Whether an answer is always required (when the question is relevant).
    pub required: bool,
    /// XLSForm expression: an answer is required when it is true (XLSForm's `required`
    /// column holding an expression rather than yes/no); JSON writes it in `required`.
    pub required_if: Option<String>,
    /// Message shown when a required answer is missing (a built-in one when empty).
    pub required_message: Labels,
    /// XLSForm expression: the question is asked only when it is true.
    pub relevant: Option<String>,
    /// XLSForm expression the answer (`.`) must satisfy.
    pub constraint: Option<String>,
    /// Message shown when the constraint fails (a built-in one when empty).
    pub constraint_message: Labels,
    /// XLSForm expression computing the value of a `calculate` question.
    pub calculation: Option<String>,
    /// Value a new response starts with (see [`CompiledForm::defaults`]).
    pub default: Option<Value>,
    /// Whether the answer is shown but not editable.
    pub read_only: bool,
    /// XLSForm expression: the answer is read-only when it is true; JSON writes it in
    /// `read_only`.
    pub read_only_if: Option<String>,
    /// XLSForm `appearance` (`minimal`, `multiline`, `signature`...), passed to the apps
    /// as written; validation does not read it.
    pub appearance: Option<String>,
    /// XLSForm `parameters` as written (`start=0 end=10 step=1`); a `range` reads its
    /// bounds from it ([`Question::range`]), other types keep it for the apps.
    pub parameters: Option<String>,
    /// For a select: XLSForm expression deciding which choices are offered, evaluated
    /// per choice, whose columns it names bare (`county = ${county}`), `name` included.
    pub choice_filter: Option<String>,
}

impl Question {
    /// A question with a name and type, everything else empty.
    pub fn new(name: impl Into<String>, qtype: QuestionType) -> Self {
        Question {
            name: name.into(),
            qtype,
            ..Question::default()
        }
    }

    /// The bounds of a `range` question (`None` for other types); an error when its
    /// `parameters` are not valid range bounds, which [`Form::compile`] reports.
    pub fn range(&self) -> Option<Result<RangeParams, String>> {
        (self.qtype == QuestionType::Range).then(|| RangeParams::parse(self.parameters.as_deref()))
    }

    /// Set `required` from an XLSForm `required` cell: yes/no words (`yes`, `true`,
    /// `true()`, `1`, `no`...) or, otherwise, an expression.
    pub fn set_required_cell(&mut self, cell: &str) {
        (self.required, self.required_if) = flag_or_expression(cell);
    }

    /// Set `read_only` from an XLSForm `read_only` cell, as [`Question::set_required_cell`].
    pub fn set_read_only_cell(&mut self, cell: &str) {
        (self.read_only, self.read_only_if) = flag_or_expression(cell);
    }
}

/// An XLSForm yes/no column: a constant when the cell is a yes/no word (as pyxform
/// reads them, case-insensitive), else an expression.
pub(crate) fn flag_or_expression(cell: &str) -> (bool, Option<String>) {
    let text = cell.trim();
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "true()" | "1" => (true, None),
        "" | "no" | "false" | "false()" | "0" => (false, None),
        _ => (false, Some(text.to_string())),
    }
}

/// A group of items, shown together and relevant together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// Name, unique in the form.
    pub name: String,
    /// Heading, per language.
    pub label: Labels,
    /// Help text shown under the heading, per language.
    pub hint: Labels,
    /// XLSForm `appearance` as written, passed to the apps: `field-list` shows the
    /// whole group on one screen, `table-list` its selects as one table on one screen.
    pub appearance: Option<String>,
    /// XLSForm expression: the whole group is asked only when it is true.
    pub relevant: Option<String>,
    /// The items of the group.
    pub items: Vec<Item>,
}

/// A repeat group: its items are answered once per instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Repeat {
    /// Name, unique in the form; the key of the list of instances in the answers.
    pub name: String,
    /// Heading of each instance, per language.
    pub label: Labels,
    /// Help text shown under the heading, per language.
    pub hint: Labels,
    /// XLSForm `appearance` as written, passed to the apps: `field-list` shows each
    /// instance on one screen.
    pub appearance: Option<String>,
    /// XLSForm expression: the repeat is asked only when it is true.
    pub relevant: Option<String>,
    /// The items answered in each instance.
    pub items: Vec<Item>,
    /// XLSForm expression fixing the number of instances, when given.
    pub repeat_count: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fall_back_to_default_then_neutral() {
        let l = Labels::from_pairs([("en", "Yes"), ("es", "Sí")]);
        assert_eq!(l.get("es", "en"), Some("Sí"));
        assert_eq!(l.get("fr", "en"), Some("Yes"));
        assert_eq!(l.get("es-MX", "en"), Some("Sí"));
        let plain: Labels = serde_json::from_str("\"OK\"").unwrap();
        assert_eq!(plain.get("es", "en"), Some("OK"));
        assert_eq!(serde_json::to_string(&plain).unwrap(), "\"OK\"");
        assert_eq!(Labels::new().get("en", "en"), None);
    }

    #[test]
    fn items_parse_from_hand_written_json() {
        let json = r#"{
          "id": "f", "version": 3,
          "items": [
            {"type": "select_one yes_no", "name": "q", "required": true, "label": "Q?"},
            {"type": "begin repeat", "name": "r", "repeat_count": "2", "items": [
              {"type": "integer", "name": "n", "constraint": ". > 0"}
            ]},
            {"type": "group", "name": "g", "relevant": "${q} = 'yes'", "items": []}
          ],
          "choices": {"yes_no": [{"name": "yes", "label": {"en": "Yes", "es": "Sí"}}]}
        }"#;
        let form = Form::from_json(json).unwrap();
        assert_eq!(form.default_language, "en");
        let Item::Question(q) = &form.items[0] else {
            panic!("not a question")
        };
        assert_eq!(q.qtype, QuestionType::SelectOne("yes_no".into()));
        assert!(q.required);
        let Item::Repeat(r) = &form.items[1] else {
            panic!("not a repeat")
        };
        assert_eq!(r.repeat_count.as_deref(), Some("2"));
        assert_eq!(form.items[2].name(), "g");
        let again = Form::from_json(&form.to_json()).unwrap();
        assert_eq!(again, form);
    }

    #[test]
    fn typos_in_items_are_rejected() {
        let json = r#"{"id": "f", "version": 1, "items": [
            {"type": "text", "name": "q", "requird": true}]}"#;
        let err = Form::from_json(json).unwrap_err().to_string();
        assert!(err.contains("requird"), "{err}");
        let json = r#"{"id": "f", "version": 1, "items": [
            {"type": "text", "name": "q", "items": []}]}"#;
        assert!(Form::from_json(json).is_err());
    }
}
