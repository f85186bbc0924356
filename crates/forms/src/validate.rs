//! Validation of a response against its compiled form.
//!
//! [`CompiledForm::validate`] walks the form in document order. For each item it
//! evaluates relevance (a non-relevant group or repeat makes everything inside it
//! non-relevant), drops answers to non-relevant questions (that is not an error),
//! computes calculations, checks types, required answers and constraints, and reports
//! answers to names the form does not have. It never panics: an expression that fails
//! at run time becomes an [`IssueKind::Expression`] issue (and a failing `relevant`
//! counts as relevant, so no answer is dropped because of a broken rule).
//!
//! Answers to `note` questions are dropped (a note holds no answer) and answers given
//! for `calculate` questions are replaced by the computed value; neither is an issue.
//! Answer keys starting with `_` are metadata and kept untouched.
//!
//! Expressions see the answers as they stand at their turn: questions earlier in the
//! document already cleaned and calculated, later ones as given. When an expression
//! refers to a calculation further down, validation evaluates again (at most three more
//! times) until the calculations settle.

mod checks;
mod context;
mod formats;
mod messages;
mod walk;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CompiledForm, NodeKind, QuestionType};
use crate::{Answer, Answers, Value};
use context::Extra;
use walk::Walker;

/// When a response is validated: what `today()` and `now()` return, and the seed of
/// `random()` and `uuid()` (mixed with the response's answers). From a date: midnight
/// UTC, seed 0, so the server's results never depend on the hour; a device passes
/// [`Moment::device`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    /// The date and time, with the offset `now()` writes.
    pub now: DateTime<FixedOffset>,
    /// The seed of `random()` and `uuid()`.
    pub seed: u64,
}

impl Moment {
    /// The system clock in UTC and a seed from the process's random hasher keys: for
    /// devices, where `random()` must differ between responses.
    pub fn device() -> Moment {
        use std::hash::{BuildHasher, Hasher};
        let now = Utc::now();
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
        Moment {
            now: now.fixed_offset(),
            seed: h.finish(),
        }
    }
}

impl From<NaiveDate> for Moment {
    fn from(date: NaiveDate) -> Moment {
        Moment {
            now: date.and_time(NaiveTime::MIN).and_utc().fixed_offset(),
            seed: 0,
        }
    }
}

impl From<DateTime<FixedOffset>> for Moment {
    fn from(now: DateTime<FixedOffset>) -> Moment {
        Moment { now, seed: 0 }
    }
}

impl From<DateTime<Utc>> for Moment {
    fn from(now: DateTime<Utc>) -> Moment {
        Moment {
            now: now.fixed_offset(),
            seed: 0,
        }
    }
}

/// The outcome of validating a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The cleaned answers: answers to non-relevant and unknown questions removed, empty
    /// answers removed, values normalized (integers as `Int`, choices trimmed),
    /// calculations computed and stored; repeat instances kept in order. Answers that
    /// fail a check are kept as given, so the person can correct them.
    pub answers: Answers,
    /// Everything wrong with the response, in document order.
    pub issues: Vec<Issue>,
    /// One entry per item (question, group, repeat) per repeat instance, plus one per
    /// repeat instance (`"child[2]"`, its heading), in document order: what a screen
    /// needs to render the form.
    pub states: Vec<QuestionState>,
}

impl Validation {
    /// Whether the response has no issues and can be finalized.
    pub fn is_valid(&self) -> bool {
        self.issues.is_empty()
    }

    /// The state of the item at `path` (`"child[2]/age_years"`).
    pub fn state(&self, path: &str) -> Option<&QuestionState> {
        self.states.iter().find(|s| s.path == path)
    }

    /// The issues at `path`.
    pub fn issues_at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Issue> + 'a {
        self.issues.iter().filter(move |i| i.path == path)
    }
}

/// What kind of problem an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A required, relevant question has no answer.
    Required,
    /// The answer fails the question's constraint.
    Constraint,
    /// The answer does not fit the question type (not a number, not a date, ...).
    Type,
    /// A select answer that is not a choice of its list.
    NotAChoice,
    /// An answer to a name the form does not have (at that place).
    UnknownQuestion,
    /// An expression failed at run time.
    Expression,
    /// A repeat has a different number of instances than its `repeat_count`.
    RepeatCount,
}

/// One problem with a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// Where: question names joined by `/`, repeat instances numbered from 1 like ODK
    /// (`"child[2]/age_years"`).
    pub path: String,
    /// The question (or repeat) name.
    pub question: String,
    /// The kind of problem.
    pub kind: IssueKind,
    /// What to tell the person, in the requested language: the form's own
    /// `required_message` / `constraint_message` when given, else a built-in text.
    pub message: String,
}

/// What a screen needs to render one item of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionState {
    /// Where (`"child[2]/age_years"`; `"child"` for the repeat, `"child[2]"` for one of
    /// its instances).
    pub path: String,
    /// The item name.
    pub name: String,
    /// Question, group or repeat.
    pub kind: NodeKind,
    /// The label in the requested language (empty when the form has none).
    pub label: String,
    /// The hint in the requested language, `${name}` filled in as in the label (empty
    /// when the form has none).
    pub hint: String,
    /// Whether the item is shown (it and every enclosing group are relevant).
    pub relevant: bool,
    /// Whether an answer is required.
    pub required: bool,
    /// Whether the answer is shown but not editable (calculations are read-only too).
    pub read_only: bool,
    /// The (cleaned) answer; for a repeat, the number of instances as `Int`; for a repeat
    /// instance, its 1-based position.
    pub value: Value,
    /// The first issue with this item, if any.
    pub issue: Option<Issue>,
    /// For a select with a `choice_filter`: the names of the choices offered as the
    /// answers stand, in list order. For a select from earlier answers (`select_one
    /// ${child_name}`): those answers, in the order of the repeat's instances, each
    /// once, filtered likewise (each is its own label). `None`: every choice of its list.
    pub choices: Option<Vec<String>>,
}

impl CompiledForm {
    /// Validate a response: see the [module docs](self) for the rules.
    ///
    /// `lang` picks the language of messages and labels (falling back to the form's
    /// default language); `at` is when: a date (what `today()` returns; `now()` is its
    /// midnight UTC) or a [`Moment`] (a date-time, and the seed of `random()`).
    pub fn validate(&self, answers: &Answers, lang: &str, at: impl Into<Moment>) -> Validation {
        let lang = if lang.trim().is_empty() {
            self.form.default_language.as_str()
        } else {
            lang
        };
        let at: Moment = at.into();
        // The same response validated at the same moment draws the same random bits.
        // Only forms that draw any pay for reading the answers into the seed.
        let seed = if self.volatile {
            serde_json::to_string(answers)
                .unwrap_or_default()
                .bytes()
                .fold(at.seed, |h, b| h.rotate_left(5) ^ u64::from(b))
        } else {
            at.seed
        };
        let extra = Extra {
            now: at.now,
            seed: crate::expr::mix(seed, 1),
            lang,
        };
        let mut result = self.pass(answers.clone(), extra);
        if self.forward_refs {
            for _ in 0..3 {
                let mut input = answers.clone();
                self.overlay_calculations(&self.roots, &mut input, &result.answers);
                let next = self.pass(input, extra);
                let settled = next.answers == result.answers;
                result = next;
                if settled {
                    break;
                }
            }
        }
        result
    }

    fn pass(&self, answers: Answers, extra: Extra<'_>) -> Validation {
        Walker::run(self, answers, extra)
    }

    /// Copy computed calculations from `from` into `into`, instance by instance.
    fn overlay_calculations(&self, ids: &[usize], into: &mut Answers, from: &Answers) {
        for &id in ids {
            let node = &self.nodes[id];
            match node.kind {
                NodeKind::Group => self.overlay_calculations(&node.children, into, from),
                NodeKind::Repeat => {
                    if let Some(Answer::Repeat(instances)) = into.0.get_mut(&node.name) {
                        for (inst, src) in instances.iter_mut().zip(from.repeat(&node.name)) {
                            self.overlay_calculations(&node.children, inst, src);
                        }
                    }
                }
                NodeKind::Question => {
                    let calc = node.calculation.is_some()
                        || node
                            .question
                            .as_ref()
                            .is_some_and(|q| q.qtype == QuestionType::Calculate);
                    if calc {
                        match from.0.get(&node.name) {
                            Some(a) => into.0.insert(node.name.clone(), a.clone()),
                            None => into.0.remove(&node.name),
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod dynamic_tests;
#[cfg(test)]
mod odk_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod types_tests;
