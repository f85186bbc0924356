//! The records and enums screens read: plain data, generated as Kotlin data classes
//! and Swift structs.

use std::collections::HashMap;

use forms::validate::Validation;
use forms::{Item, NodeKind, Value};

use crate::record::{Conflict, HistoryEntry, Scope};

/// One answer's value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Enum)
)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AnswerValue {
    /// Yes or no.
    Bool {
        /// The value.
        value: bool,
    },
    /// A whole number.
    Int {
        /// The value.
        value: i64,
    },
    /// A decimal number.
    Decimal {
        /// The value.
        value: f64,
    },
    /// Text, a date (`2026-11-22`), a choice name, or several choice names separated
    /// by spaces (select multiple).
    Text {
        /// The value.
        value: String,
    },
}

impl AnswerValue {
    /// The app's value of a forms value; `None` for no answer.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::Bool(b) => Some(AnswerValue::Bool { value: *b }),
            Value::Int(i) => Some(AnswerValue::Int { value: *i }),
            Value::Decimal(d) => Some(AnswerValue::Decimal { value: *d }),
            Value::Text(t) => Some(AnswerValue::Text { value: t.clone() }),
        }
    }

    /// The forms value.
    pub(crate) fn into_value(self) -> Value {
        match self {
            AnswerValue::Bool { value } => Value::Bool(value),
            AnswerValue::Int { value } => Value::Int(value),
            AnswerValue::Decimal { value } => Value::Decimal(value),
            AnswerValue::Text { value } => Value::Text(value),
        }
    }
}

/// Where a record belongs (see the core's `Scope`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ScopeView {
    /// The partnership.
    pub partnership: String,
    /// The organization, if narrower.
    pub organization: Option<String>,
    /// The neighborhood, if narrower.
    pub neighborhood: Option<String>,
    /// The family, if narrower.
    pub family: Option<String>,
    /// The program, if narrower.
    pub program: Option<String>,
}

impl From<Scope> for ScopeView {
    fn from(s: Scope) -> Self {
        ScopeView {
            partnership: s.partnership,
            organization: s.organization,
            neighborhood: s.neighborhood,
            family: s.family,
            program: s.program,
        }
    }
}

/// The user signed in on this device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct Session {
    /// The server's base URL.
    pub server_url: String,
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub username: String,
    /// This device's id at the server.
    pub device_id: String,
    /// The user's role (`outreach_worker`, `parent`, `partner_staff`, ...).
    pub role: String,
    /// Where the user's records belong; none for administrators.
    pub scope: Option<ScopeView>,
}

/// A form the user can fill in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct FormInfo {
    /// Form id (`household_survey`).
    pub id: String,
    /// Version.
    pub version: u32,
    /// Title in the requested language.
    pub title: String,
}

/// One choice of a select question.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ChoiceView {
    /// The stored name.
    pub name: String,
    /// The label in the requested language.
    pub label: String,
}

/// What a screen needs to show one item of a form.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct QuestionState {
    /// Where (`child[2]/age_years`); answers are set by this path.
    pub path: String,
    /// The item name.
    pub name: String,
    /// `question`, `group`, `repeat` or `instance` (one instance of a repeat).
    pub kind: String,
    /// The question type without its list: `text`, `integer`, `decimal`, `select_one`,
    /// `select_multiple`, `rank`, `date`, `time`, `datetime`, `range`, `geopoint`,
    /// `geotrace`, `geoshape`, `barcode`, `acknowledge`, `note`, `calculate`, `hidden`,
    /// `image`, `audio`, `video`, `file`, or a metadata type (`start`, `end`, `today`,
    /// `deviceid`, `username`...); empty for groups and repeats.
    pub question_type: String,
    /// Whether the app shows this question: false for calculations, hidden values and
    /// metadata, which the core fills in and nobody is asked.
    pub shown: bool,
    /// The XLSForm `appearance` as written (`minimal`, `multiline`, `signature`...); a
    /// group's (`field-list`, `table-list`) and a repeat's too, which its instances
    /// carry as well.
    pub appearance: Option<String>,
    /// The hint (help text under the label) in the requested language, `${name}`
    /// filled in as in the label; a repeat's hint is its instances' too.
    pub hint: Option<String>,
    /// The path of the group or repeat instance this item is directly inside (a repeat
    /// instance's parent is its repeat); `None` at the top of the form. The parent
    /// comes earlier in [`ResponseView::questions`], with its label, hint and
    /// appearance: follow the parents for the headings around a question.
    pub parent: Option<String>,
    /// The path of the screen this item is shown on: items with the same `screen` are
    /// shown together. It is the outermost enclosing group whose appearance is
    /// `field-list` or `table-list`, or instance of a repeat whose appearance is; else
    /// the item's own path (one question per screen, as ODK Collect shows them).
    pub screen: String,
    /// The XLSForm `parameters` as written (`start=0 end=10 step=1`, `max-pixels=1024`).
    pub parameters: Option<String>,
    /// A `range` question's bounds.
    pub range: Option<RangeView>,
    /// The label in the requested language.
    pub label: String,
    /// Whether it is shown.
    pub relevant: bool,
    /// Whether an answer is required.
    pub required: bool,
    /// Whether it is shown but not editable.
    pub read_only: bool,
    /// The current answer (for a repeat: how many instances).
    pub value: Option<AnswerValue>,
    /// What is wrong with the answer, in the requested language.
    pub error: Option<String>,
    /// The choices of a select question offered as the answers stand (a `choice_filter`
    /// narrows them: the cities of the county answered), labelled in the requested language.
    pub choices: Vec<ChoiceView>,
}

/// The bounds of a `range` question: a slider from `start` to `end` (either may be the
/// larger) in steps of `step`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct RangeView {
    /// The first value.
    pub start: f64,
    /// The last value.
    pub end: f64,
    /// The distance between two values (positive).
    pub step: f64,
    /// Whether answers are decimals (else whole numbers).
    pub decimal: bool,
}

/// A response (survey, check-in, case note) as a screen shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ResponseView {
    /// The record id.
    pub id: String,
    /// The form answered.
    pub form_id: String,
    /// Its version.
    pub form_version: u32,
    /// Whether it was finalized.
    pub finalized: bool,
    /// Every item in document order, with its state: a group, a repeat and each of
    /// its instances before the items inside them (their `parent`); items sharing a
    /// `screen` (a `field-list` group) are shown on one screen.
    pub questions: Vec<QuestionState>,
    /// How many problems stand in the way of finalizing.
    pub error_count: u32,
    /// Problems no item above carries, as `path: message` (an answer to a question the
    /// form does not have, from a record written elsewhere or on another version):
    /// shown apart, so that a refusal to finalize always says why.
    pub other_errors: Vec<String>,
}

/// A response, check-in or case note in a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ResponseSummary {
    /// The record id.
    pub id: String,
    /// The form answered.
    pub form_id: String,
    /// Whether it was finalized.
    pub finalized: bool,
    /// The household it is about, if any.
    pub household_id: Option<String>,
    /// Last written on this device, unix seconds.
    pub updated_at: i64,
    /// Whether a field holds concurrent values.
    pub has_conflicts: bool,
}

/// A member of a household.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct Member {
    /// The person's record id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Relationship to the household (`child`, `parent`, `grandparent`, ...).
    pub relationship: String,
    /// Date of birth (`2019-04-02`), if known.
    pub birth_date: Option<String>,
}

/// A household and its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct Household {
    /// The record id.
    pub id: String,
    /// The household's name (`Rivera family`).
    pub name: String,
    /// Street address.
    pub address: String,
    /// Members, oldest record first.
    pub members: Vec<Member>,
    /// Whether a field holds concurrent values.
    pub has_conflicts: bool,
}

/// One change in a record's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct HistoryItem {
    /// Who.
    pub author: String,
    /// When, unix seconds.
    pub time: i64,
    /// Why (`Enrolled`, `Answered age_years`).
    pub message: String,
    /// Fields touched.
    pub fields: Vec<String>,
}

impl From<HistoryEntry> for HistoryItem {
    fn from(h: HistoryEntry) -> Self {
        HistoryItem {
            author: h.author,
            time: h.time,
            message: h.message,
            fields: h.fields,
        }
    }
}

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ConflictValueView {
    /// The value (none: removed).
    pub value: Option<AnswerValue>,
    /// Who wrote it.
    pub author: String,
    /// When, unix seconds.
    pub time: i64,
    /// Whether it is the one shown until someone resolves the conflict.
    pub shown: bool,
}

/// A field holding concurrent values (two people changed it offline).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct ConflictView {
    /// The field's path.
    pub path: String,
    /// Every concurrent value.
    pub values: Vec<ConflictValueView>,
}

impl From<Conflict> for ConflictView {
    fn from(c: Conflict) -> Self {
        ConflictView {
            path: c.path,
            values: c
                .values
                .into_iter()
                .map(|v| ConflictValueView {
                    value: AnswerValue::from_value(&v.value),
                    author: v.author,
                    time: v.time,
                    shown: v.shown,
                })
                .collect(),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct SyncSummary {
    /// Changes the server accepted (or had already).
    pub pushed: u64,
    /// Changes the server refused (kept aside on the device, see the quarantine).
    pub rejected: u64,
    /// Changes received.
    pub pulled: u64,
    /// Bytes moved, both directions.
    pub bytes: u64,
    /// Form versions received (published on the server since the last sync); the
    /// forms list offers their newest versions from now on.
    pub forms: u64,
    /// Attachments (photos, signatures) the server now holds whole.
    pub attachments_uploaded: u64,
    /// Attachments the server refused (too large, out of scope); they stay on the
    /// device and are tried again at the next sync.
    pub attachments_refused: u64,
    /// Why changes were refused (`rejected`): each record and the server's reason,
    /// once per record and reason.
    pub refusals: Vec<Refusal>,
}

/// A record with a change the server refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct Refusal {
    /// The record id.
    pub record_id: String,
    /// The server's reason (`out of scope`, `not allowed for role parent`...).
    pub reason: String,
}

/// Each item of `items` (and below) by name, with the group or repeat it is directly
/// inside.
fn items_by_name<'a>(
    items: &'a [Item],
    parent: Option<&'a Item>,
    out: &mut HashMap<&'a str, (&'a Item, Option<&'a Item>)>,
) {
    for item in items {
        out.insert(item.name(), (item, parent));
        items_by_name(item.items(), Some(item), out);
    }
}

/// Whether an appearance shows a group (or a repeat's instance) on one screen.
fn one_screen(appearance: Option<&str>) -> bool {
    appearance.is_some_and(|a| {
        a.split_whitespace()
            .any(|word| matches!(word, "field-list" | "table-list"))
    })
}

/// The path of the item a state is directly inside (see [`QuestionState::parent`]).
fn parent_path(path: &str, is_instance: bool, parent: Option<&Item>) -> Option<String> {
    if is_instance {
        return path.rsplit_once('[').map(|(repeat, _)| repeat.to_string());
    }
    // Groups do not nest answers: a group's path is its name after the instance its
    // items are in (`member[2]/health`), and an instance's items follow its path.
    let instance = path.rsplit_once('/').map(|(before, _)| before);
    match parent? {
        Item::Group(g) => Some(match instance {
            Some(before) => format!("{before}/{}", g.name),
            None => g.name.clone(),
        }),
        Item::Repeat(_) => instance.map(str::to_string),
        Item::Question(_) => None,
    }
}

/// The per-question states of a validation, for a screen.
pub(crate) fn question_states(
    validation: &Validation,
    form: &forms::CompiledForm,
    lang: &str,
) -> Vec<QuestionState> {
    let mut by_name = HashMap::new();
    items_by_name(&form.form().items, None, &mut by_name);
    // For each group or instance path: the screen its items are shown on, when one
    // field-list holds them.
    let mut covering: HashMap<String, Option<String>> = HashMap::new();
    validation
        .states
        .iter()
        .map(|s| {
            let question = form.question(&s.name);
            let is_instance = s.path.ends_with(']');
            let (item, container) = match by_name.get(s.name.as_str()) {
                Some(&(item, container)) => (Some(item), container),
                None => (None, None),
            };
            let appearance = match item {
                Some(Item::Question(q)) => q.appearance.as_deref(),
                Some(Item::Group(g)) => g.appearance.as_deref(),
                Some(Item::Repeat(r)) => r.appearance.as_deref(),
                None => None,
            };
            // The validation's hint: `${name}` filled in as in the label.
            let hint = (!s.hint.is_empty()).then(|| s.hint.clone());
            let parent = parent_path(&s.path, is_instance, container);
            let around = parent
                .as_ref()
                .and_then(|p| covering.get(p).cloned().flatten());
            // A repeat's instances are its screens, not the repeat itself.
            let owns = one_screen(appearance) && (is_instance || s.kind != NodeKind::Repeat);
            let inside = around.clone().or_else(|| owns.then(|| s.path.clone()));
            if s.kind != NodeKind::Question {
                covering.insert(s.path.clone(), inside);
            }
            let screen = around.unwrap_or_else(|| s.path.clone());
            let kind = if is_instance {
                "instance".to_string()
            } else {
                format!("{:?}", s.kind).to_lowercase()
            };
            let list = question.and_then(|q| q.qtype.list().map(str::to_string));
            let choices = list
                .as_deref()
                .and_then(|l| form.choices(l).map(|cs| (l, cs)))
                .map(|(l, cs)| {
                    cs.iter()
                        // A choice_filter offers only some choices, as answers stand.
                        .filter(|c| {
                            s.choices
                                .as_ref()
                                .is_none_or(|offered| offered.contains(&c.name))
                        })
                        .map(|c| ChoiceView {
                            name: c.name.clone(),
                            label: form
                                .choice_label(l, &c.name, lang)
                                .unwrap_or(&c.name)
                                .to_string(),
                        })
                        .collect()
                })
                // No list: choices from earlier answers (`select_one ${child_name}`),
                // each answer its own label.
                .or_else(|| {
                    let offered = s.choices.as_ref().filter(|_| list.is_some())?;
                    Some(
                        offered
                            .iter()
                            .map(|name| ChoiceView {
                                name: name.clone(),
                                label: name.clone(),
                            })
                            .collect(),
                    )
                })
                .unwrap_or_default();
            QuestionState {
                path: s.path.clone(),
                name: s.name.clone(),
                kind,
                question_type: question
                    .filter(|_| !is_instance)
                    .map(|q| q.qtype.name().to_string())
                    .unwrap_or_default(),
                shown: question.is_none_or(|q| q.qtype.is_shown()),
                appearance: appearance.map(str::to_string),
                hint,
                parent,
                screen,
                parameters: question.and_then(|q| q.parameters.clone()),
                range: form.range(&s.name).map(|r| RangeView {
                    start: r.start,
                    end: r.end,
                    step: r.step,
                    decimal: r.decimal,
                }),
                label: s.label.clone(),
                relevant: s.relevant,
                required: s.required,
                read_only: s.read_only,
                value: AnswerValue::from_value(&s.value),
                error: s.issue.as_ref().map(|i| i.message.clone()),
                choices,
            }
        })
        .collect()
}
