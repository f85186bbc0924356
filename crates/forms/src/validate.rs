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
//! Expressions see the answers as they stand at their turn: questions earlier in the
//! document already cleaned and calculated, later ones as given. When an expression
//! refers to a calculation further down, validation evaluates again (at most three more
//! times) until the calculations settle.

mod checks;
mod context;
mod messages;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{CompiledForm, NodeKind, QuestionType};
use crate::{Answer, Answers, Value};
use checks::Bad;
use context::{Ctx, Scope};
use messages::{builtin, Msg};

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
    /// One entry per item (question, group, repeat) per repeat instance, in document
    /// order: what a screen needs to render the form.
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
    /// Where (`"child[2]/age_years"`, or `"child"` for the repeat itself).
    pub path: String,
    /// The item name.
    pub name: String,
    /// Question, group or repeat.
    pub kind: NodeKind,
    /// The label in the requested language (empty when the form has none).
    pub label: String,
    /// Whether the item is shown (it and every enclosing group are relevant).
    pub relevant: bool,
    /// Whether an answer is required.
    pub required: bool,
    /// Whether the answer is shown but not editable (calculations are read-only too).
    pub read_only: bool,
    /// The (cleaned) answer; for a repeat, the number of instances as `Int`.
    pub value: Value,
    /// The first issue with this item, if any.
    pub issue: Option<Issue>,
}

impl CompiledForm {
    /// Validate a response: see the [module docs](self) for the rules.
    ///
    /// `lang` picks the language of messages and labels (falling back to the form's
    /// default language); `today` is what `today()` returns in expressions.
    pub fn validate(&self, answers: &Answers, lang: &str, today: NaiveDate) -> Validation {
        let lang = if lang.trim().is_empty() {
            self.form.default_language.as_str()
        } else {
            lang
        };
        let mut result = self.pass(answers.clone(), lang, today);
        if self.forward_refs {
            for _ in 0..3 {
                let mut input = answers.clone();
                self.overlay_calculations(&self.roots, &mut input, &result.answers);
                let next = self.pass(input, lang, today);
                let settled = next.answers == result.answers;
                result = next;
                if settled {
                    break;
                }
            }
        }
        result
    }

    fn pass(&self, answers: Answers, lang: &str, today: NaiveDate) -> Validation {
        let mut w = Walker {
            form: self,
            lang,
            today,
            root: answers,
            issues: Vec::new(),
            states: Vec::new(),
        };
        let mut scope = Vec::new();
        w.drop_unknown(None, &scope);
        w.walk(&self.roots, &mut scope, true);
        Validation {
            answers: w.root,
            issues: w.issues,
            states: w.states,
        }
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
                    let calc = node
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

/// One validation pass over a working copy of the answers.
struct Walker<'a> {
    form: &'a CompiledForm,
    lang: &'a str,
    today: NaiveDate,
    root: Answers,
    issues: Vec<Issue>,
    states: Vec<QuestionState>,
}

/// The answers of the instance at `scope` (the root for an empty scope).
fn answers_at<'a>(form: &CompiledForm, root: &'a Answers, scope: &Scope) -> Option<&'a Answers> {
    let mut at = root;
    for &(r, i) in scope {
        at = at.repeat(&form.nodes[r].name).get(i)?;
    }
    Some(at)
}

fn answers_at_mut<'a>(
    form: &CompiledForm,
    root: &'a mut Answers,
    scope: &Scope,
) -> Option<&'a mut Answers> {
    let mut at = root;
    for &(r, i) in scope {
        match at.0.get_mut(&form.nodes[r].name) {
            Some(Answer::Repeat(instances)) => at = instances.get_mut(i)?,
            _ => return None,
        }
    }
    Some(at)
}

impl Walker<'_> {
    fn path(&self, scope: &Scope, name: &str) -> String {
        let mut p = String::new();
        for &(r, i) in scope {
            p.push_str(&format!("{}[{}]/", self.form.nodes[r].name, i + 1));
        }
        p.push_str(name);
        p
    }

    fn msg(&self, m: Msg<'_>) -> String {
        builtin(m, self.lang, &self.form.form.default_language)
    }

    fn issue(&mut self, path: &str, question: &str, kind: IssueKind, message: String) -> Issue {
        let issue = Issue {
            path: path.to_string(),
            question: question.to_string(),
            kind,
            message,
        };
        self.issues.push(issue.clone());
        issue
    }

    fn get(&self, scope: &Scope, name: &str) -> Option<&Answer> {
        answers_at(self.form, &self.root, scope)?.0.get(name)
    }

    fn set(&mut self, scope: &Scope, name: &str, answer: Option<Answer>) {
        if let Some(at) = answers_at_mut(self.form, &mut self.root, scope) {
            match answer {
                Some(a) => at.0.insert(name.to_string(), a),
                None => at.0.remove(name),
            };
        }
    }

    /// Evaluate an expression of node `id` at `scope` with `.` = `current`.
    fn eval(
        &self,
        expr: &crate::expr::Expr,
        scope: &Scope,
        current: Value,
    ) -> Result<crate::expr::XValue, String> {
        let ctx = Ctx {
            form: self.form,
            root: &self.root,
            scope,
            current,
            today: self.today,
        };
        expr.eval(&ctx).map_err(|e| e.summary())
    }

    /// Report and remove answers at `scope` whose names are not items of that part of
    /// the form (`repeat` = the repeat node whose instance `scope` ends in).
    fn drop_unknown(&mut self, repeat: Option<usize>, scope: &Scope) {
        let Some(at) = answers_at(self.form, &self.root, scope) else {
            return;
        };
        let unknown: Vec<(String, bool)> = at
            .0
            .keys()
            .filter_map(|key| match self.form.by_name.get(key) {
                Some(&id) => {
                    let n = &self.form.nodes[id];
                    (n.repeat != repeat || n.kind == NodeKind::Group)
                        .then(|| (key.clone(), true))
                }
                None => Some((key.clone(), false)),
            })
            .collect();
        for (key, elsewhere) in unknown {
            let path = self.path(scope, &key);
            let m = self.msg(if elsewhere { Msg::NotInThisPart } else { Msg::Unknown });
            self.issue(&path, &key, IssueKind::UnknownQuestion, m);
            self.set(scope, &key, None);
        }
    }

    fn walk(&mut self, ids: &[usize], scope: &mut Vec<(usize, usize)>, parent_relevant: bool) {
        for &id in ids {
            let node = &self.form.nodes[id];
            let path = self.path(scope, &node.name);
            let mut first_issue = None;
            let mut relevant = parent_relevant;
            if let (true, Some(expr)) = (relevant, &node.relevant) {
                let current = self
                    .get(scope, &node.name)
                    .and_then(|a| match a {
                        Answer::Value(v) => Some(v.clone()),
                        Answer::Repeat(_) => None,
                    })
                    .unwrap_or(Value::Null);
                match self.eval(expr, scope, current) {
                    Ok(x) => relevant = x.truthy(),
                    Err(e) => {
                        let m = self.msg(Msg::Expression(&e));
                        first_issue = Some(self.issue(&path, &node.name, IssueKind::Expression, m));
                    }
                }
            }
            let label = node
                .label
                .get(self.lang, &self.form.form.default_language)
                .unwrap_or("")
                .to_string();
            let mut state = QuestionState {
                path: path.clone(),
                name: node.name.clone(),
                kind: node.kind,
                label,
                relevant,
                required: false,
                read_only: false,
                value: Value::Null,
                issue: None,
            };
            match node.kind {
                NodeKind::Group => {
                    state.issue = first_issue;
                    self.states.push(state);
                    self.walk(&node.children, scope, relevant);
                }
                NodeKind::Repeat => {
                    let n = self.repeat(id, &path, scope, relevant, &mut first_issue);
                    state.value = Value::Int(n as i64);
                    state.issue = first_issue;
                    self.states.push(state);
                    for i in 0..n {
                        scope.push((id, i));
                        self.drop_unknown(Some(id), scope);
                        self.walk(&node.children, scope, true);
                        scope.pop();
                    }
                }
                NodeKind::Question => {
                    if relevant {
                        self.question(id, &path, scope, &mut state, &mut first_issue);
                    } else {
                        self.set(scope, &node.name, None);
                    }
                    state.issue = first_issue;
                    self.states.push(state);
                }
            }
        }
    }

    /// Check the shape and count of a repeat; returns the number of instances to walk.
    fn repeat(
        &mut self,
        id: usize,
        path: &str,
        scope: &Scope,
        relevant: bool,
        first_issue: &mut Option<Issue>,
    ) -> usize {
        let node = &self.form.nodes[id];
        let name = node.name.as_str();
        if !relevant {
            self.set(scope, name, None);
            return 0;
        }
        let n = match self.get(scope, name) {
            Some(Answer::Repeat(instances)) => instances.len(),
            Some(Answer::Value(v)) if !v.is_empty() => {
                let m = self.msg(Msg::RepeatExpected);
                let issue = self.issue(path, name, IssueKind::Type, m);
                first_issue.get_or_insert(issue);
                self.set(scope, name, None);
                0
            }
            Some(Answer::Value(_)) => {
                self.set(scope, name, None);
                0
            }
            None => 0,
        };
        if let Some(expr) = &node.repeat_count {
            let outcome = self.eval(expr, scope, Value::Int(n as i64));
            let found = match outcome {
                Ok(x) => match x.to_value() {
                    Value::Int(i) => Ok(Some(i)),
                    Value::Decimal(d) if d.is_finite() && d.fract() == 0.0 => {
                        Ok(Some(d as i64))
                    }
                    Value::Text(t) => Ok(t.trim().parse::<i64>().ok()),
                    _ => Ok(None),
                },
                Err(e) => Err(e),
            };
            let issue = match found {
                Ok(Some(expected)) if expected != n as i64 => {
                    let m = self.msg(Msg::RepeatCount { expected, found: n });
                    Some(self.issue(path, name, IssueKind::RepeatCount, m))
                }
                Ok(_) => None,
                Err(e) => {
                    let m = self.msg(Msg::Expression(&e));
                    Some(self.issue(path, name, IssueKind::Expression, m))
                }
            };
            if let Some(issue) = issue {
                first_issue.get_or_insert(issue);
            }
        }
        n
    }

    /// Compute, check and store the answer of a relevant question.
    fn question(
        &mut self,
        id: usize,
        path: &str,
        scope: &Scope,
        state: &mut QuestionState,
        first_issue: &mut Option<Issue>,
    ) {
        let node = &self.form.nodes[id];
        let Some(q) = node.question.as_ref() else {
            return;
        };
        let name = q.name.as_str();
        let default_lang = self.form.form.default_language.as_str();
        state.read_only = q.read_only || q.qtype == QuestionType::Calculate;
        state.required = q.required && q.qtype.takes_input();
        let mut report = |w: &mut Self, kind, message| {
            let issue = w.issue(path, name, kind, message);
            first_issue.get_or_insert(issue);
        };
        match &q.qtype {
            QuestionType::Note => {
                // A note holds no answer.
                self.set(scope, name, None);
                return;
            }
            QuestionType::Calculate => {
                let computed = match &node.calculation {
                    Some(expr) => match self.eval(expr, scope, Value::Null) {
                        Ok(x) => x.to_value(),
                        Err(e) => {
                            let m = self.msg(Msg::Expression(&e));
                            report(self, IssueKind::Expression, m);
                            Value::Null
                        }
                    },
                    None => Value::Null,
                };
                let computed = match computed {
                    Value::Decimal(d) if !d.is_finite() => Value::Null,
                    v => v,
                };
                state.value = computed.clone();
                let stored = (!computed.is_empty()).then_some(Answer::Value(computed));
                self.set(scope, name, stored);
                return;
            }
            _ => {}
        }
        let value = match self.get(scope, name) {
            None => Value::Null,
            Some(Answer::Value(v)) => v.clone(),
            Some(Answer::Repeat(_)) => {
                let m = self.msg(Msg::NotARepeat);
                report(self, IssueKind::Type, m);
                self.set(scope, name, None);
                Value::Null
            }
        };
        if value.is_empty() {
            self.set(scope, name, None);
            if state.required {
                let m = match q.required_message.get(self.lang, default_lang) {
                    Some(m) => m.to_string(),
                    None => self.msg(Msg::Required),
                };
                report(self, IssueKind::Required, m);
            }
            return;
        }
        let choices = q
            .qtype
            .list()
            .and_then(|l| self.form.choices(l))
            .unwrap_or(&[]);
        match checks::check(&q.qtype, &value, choices) {
            Err(Bad::Type(m)) => {
                let m = self.msg(m);
                report(self, IssueKind::Type, m);
                state.value = value;
            }
            Err(Bad::NotAChoice(v)) => {
                let m = self.msg(Msg::NotAChoice(&v));
                report(self, IssueKind::NotAChoice, m);
                state.value = value;
            }
            Ok(clean) => {
                state.value = clean.clone();
                self.set(scope, name, Some(Answer::Value(clean.clone())));
                if let Some(expr) = &node.constraint {
                    match self.eval(expr, scope, clean) {
                        Ok(x) if x.truthy() => {}
                        Ok(_) => {
                            let m = match q.constraint_message.get(self.lang, default_lang) {
                                Some(m) => m.to_string(),
                                None => self.msg(Msg::Constraint),
                            };
                            report(self, IssueKind::Constraint, m);
                        }
                        Err(e) => {
                            let m = self.msg(Msg::Expression(&e));
                            report(self, IssueKind::Expression, m);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
