//! One validation pass: the walk over the form in document order.

use chrono::NaiveDate;

use super::checks::{self, Bad};
use super::context::{Ctx, Extra, Scope};
use super::messages::{builtin, Msg};
use super::{Issue, IssueKind, QuestionState, Validation};
use crate::expr::{is_volatile, mix, Expr};
use crate::model::META_PREFIX;
use crate::model::{CompiledForm, NodeKind, QuestionType};
use crate::{Answer, Answers, Value};

mod choices;
mod texts;

/// One validation pass over a working copy of the answers.
pub(super) struct Walker<'a> {
    form: &'a CompiledForm,
    lang: &'a str,
    today: NaiveDate,
    extra: Extra<'a>,
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

impl<'a> Walker<'a> {
    /// Validate `answers` (a working copy, cleaned in place) in one pass.
    pub(super) fn run(form: &'a CompiledForm, answers: Answers, extra: Extra<'a>) -> Validation {
        let mut w = Walker {
            form,
            lang: extra.lang,
            today: extra.now.date_naive(),
            extra,
            root: answers,
            issues: Vec::new(),
            states: Vec::new(),
        };
        let mut scope = Vec::new();
        w.drop_unknown(None, &scope);
        w.walk(&form.roots, &mut scope, true);
        Validation {
            answers: w.root,
            issues: w.issues,
            states: w.states,
        }
    }

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

    /// What an expression evaluated at `scope`, with `.` = `current`, reads.
    fn ctx<'s>(&'s self, scope: &'s Scope, current: Value) -> Ctx<'s> {
        Ctx {
            form: self.form,
            root: &self.root,
            scope,
            current,
            today: self.today,
            extra: self.extra,
        }
    }

    /// Evaluate an expression of node `id` at `scope` with `.` = `current`.
    fn eval(
        &self,
        expr: &crate::expr::Expr,
        scope: &Scope,
        current: Value,
    ) -> Result<crate::expr::XValue, String> {
        let ctx = self.ctx(scope, current);
        expr.eval(&ctx).map_err(|e| e.summary())
    }

    /// The value of question `name`'s calculation at `scope`. A volatile calculation
    /// (`now()`, `random()`...: see `expr::odk_functions`) keeps the answer already
    /// given, so the server accepts what the device computed; otherwise it is computed
    /// with `.` the given answer (for `once()`), its random bits seeded by the name.
    fn calculate(&self, expr: &Expr, scope: &Scope, name: &str) -> Result<Value, String> {
        let given = match self.get(scope, name) {
            Some(Answer::Value(v)) => v.clone(),
            _ => Value::Null,
        };
        if !given.is_empty() && is_volatile(expr) {
            return Ok(given);
        }
        let seed = name
            .bytes()
            .fold(self.extra.seed, |h, b| mix(h, u64::from(b)));
        let ctx = Ctx {
            extra: Extra { seed, ..self.extra },
            ..self.ctx(scope, given)
        };
        let value = expr.eval(&ctx).map_err(|e| e.summary())?.to_value();
        Ok(match value {
            Value::Decimal(d) if !d.is_finite() => Value::Null,
            v => v,
        })
    }

    /// Report and remove answers at `scope` whose names are not items of that part of
    /// the form (`repeat` = the repeat node whose instance `scope` ends in). Keys starting
    /// with `_` are metadata (an instance id, say): kept, not checked.
    fn drop_unknown(&mut self, repeat: Option<usize>, scope: &Scope) {
        let Some(at) = answers_at(self.form, &self.root, scope) else {
            return;
        };
        let unknown: Vec<(String, bool)> =
            at.0.keys()
                .filter(|key| !key.starts_with(META_PREFIX))
                .filter_map(|key| match self.form.by_name.get(key) {
                    Some(&id) => {
                        let n = &self.form.nodes[id];
                        let misplaced = n.repeat != repeat && n.kind != NodeKind::Group;
                        (n.repeat != repeat || n.kind == NodeKind::Group)
                            .then(|| (key.clone(), misplaced))
                    }
                    None => Some((key.clone(), false)),
                })
                .collect();
        for (key, elsewhere) in unknown {
            let path = self.path(scope, &key);
            let m = self.msg(if elsewhere {
                Msg::NotInThisPart
            } else {
                Msg::Unknown
            });
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
                        let m = self.msg(Msg::Expression("relevant", &e));
                        first_issue = Some(self.issue(&path, &node.name, IssueKind::Expression, m));
                    }
                }
            }
            let label = node
                .label
                .get(self.lang, &self.form.form.default_language)
                .unwrap_or("");
            let label = self.interpolate(label, scope);
            let hint = self.hint(node, scope);
            let mut state = QuestionState {
                path: path.clone(),
                name: node.name.clone(),
                kind: node.kind,
                label,
                hint,
                relevant,
                required: false,
                read_only: false,
                value: Value::Null,
                issue: None,
                choices: None,
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
                    let heading = node
                        .label
                        .get(self.lang, &self.form.form.default_language)
                        .unwrap_or("");
                    for i in 0..n {
                        scope.push((id, i));
                        self.drop_unknown(Some(id), scope);
                        // The instance itself, its heading seen from inside it.
                        self.states.push(QuestionState {
                            path: format!("{path}[{}]", i + 1),
                            name: node.name.clone(),
                            kind: NodeKind::Repeat,
                            label: self.interpolate(heading, scope),
                            hint: self.hint(node, scope),
                            relevant: true,
                            required: false,
                            read_only: false,
                            value: Value::Int(i as i64 + 1),
                            issue: None,
                            choices: None,
                        });
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
                    Value::Decimal(d) if d.is_finite() && d.fract() == 0.0 => Ok(Some(d as i64)),
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
                    let m = self.msg(Msg::Expression("repeat_count", &e));
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
        // `required` and `read_only` may be expressions (XLSForm allows any boolean
        // expression there); one that fails counts as false and is reported.
        let mut flag_error = None;
        let mut flag = |expr: Option<&crate::expr::Expr>, column: &'static str| match expr {
            None => false,
            Some(e) => match self.eval(e, scope, Value::Null) {
                Ok(x) => x.truthy(),
                Err(e) => {
                    flag_error.get_or_insert((column, e));
                    false
                }
            },
        };
        let read_only_now = q.read_only || flag(node.read_only_if.as_ref(), "read_only");
        let required_now = q.required || flag(node.required_if.as_ref(), "required");
        state.read_only = read_only_now || q.qtype == QuestionType::Calculate;
        // Metadata, hidden values, notes and calculations are never required: nobody
        // is asked for them.
        state.required = required_now && q.qtype.takes_input();
        let mut report = |w: &mut Self, kind, message| {
            let issue = w.issue(path, name, kind, message);
            first_issue.get_or_insert(issue);
        };
        if let Some((column, e)) = flag_error {
            let m = self.msg(Msg::Expression(column, &e));
            report(self, IssueKind::Expression, m);
        }
        if let Some(source) = node.dynamic_list {
            let (offered, error) =
                self.offered_from_answers(source, node.choice_filter.as_ref(), scope);
            state.choices = Some(offered);
            if let Some(e) = error {
                let m = self.msg(Msg::Expression("choice_filter", &e));
                report(self, IssueKind::Expression, m);
            }
        } else if let (Some(filter), Some(list)) = (&node.choice_filter, q.qtype.list()) {
            let (offered, error) = self.offered(filter, list, scope);
            state.choices = Some(offered);
            if let Some(e) = error {
                let m = self.msg(Msg::Expression("choice_filter", &e));
                report(self, IssueKind::Expression, m);
            }
        }
        // A calculation gives the answer, of a calculate or of any other question (as
        // pyxform allows); on other questions it replaces what was given.
        let computed = node.calculation.as_ref().map(|expr| {
            self.calculate(expr, scope, name).unwrap_or_else(|e| {
                let m = self.msg(Msg::Expression("calculation", &e));
                report(self, IssueKind::Expression, m);
                Value::Null
            })
        });
        match &q.qtype {
            QuestionType::Note => {
                // A note holds no answer; a calculated one shows its value.
                state.value = computed.unwrap_or(Value::Null);
                self.set(scope, name, None);
                return;
            }
            QuestionType::Calculate => {
                let computed = computed.unwrap_or(Value::Null);
                state.value = computed.clone();
                let stored = (!computed.is_empty()).then_some(Answer::Value(computed));
                self.set(scope, name, stored);
                return;
            }
            _ => {}
        }
        if let Some(computed) = computed {
            // Shown, not edited: the calculation would overwrite an edit.
            state.read_only = true;
            let computed = match computed {
                Value::Bool(b) => Value::Text(b.to_string()),
                v => v,
            };
            let stored = (!computed.is_empty()).then_some(Answer::Value(computed));
            self.set(scope, name, stored);
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
        let list = q.qtype.list().and_then(|l| self.form.choice_sets.get(l));
        let offered = state.choices.clone();
        let is_choice = |name: &str| match &offered {
            Some(names) => names.iter().any(|n| n == name),
            None => list.is_some_and(|set| set.contains(name)),
        };
        let choice_count = match &offered {
            Some(names) => names.len(),
            None => list.map_or(0, |set| set.len()),
        };
        let check_ctx = checks::Ctx {
            is_choice: &is_choice,
            choice_count,
            range: node.range.as_ref(),
        };
        match checks::check(&q.qtype, &value, &check_ctx) {
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
                            let m = self.msg(Msg::Expression("constraint", &e));
                            report(self, IssueKind::Expression, m);
                        }
                    }
                }
            }
        }
    }
}
