//! The expression [`Context`] over the answers being validated.

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::expr::{mix, Context, Resolved};
use crate::model::{Choice, CompiledForm, DataFile, NodeKind};
use crate::{Answers, Value};

/// Where evaluation happens: the repeat instances entered, outermost first, as
/// `(repeat node id, 0-based instance index)`.
pub(crate) type Scope = [(usize, usize)];

/// Answers as they stand, seen from one place in the form.
pub(crate) struct Ctx<'a> {
    pub form: &'a CompiledForm,
    pub root: &'a Answers,
    pub scope: &'a Scope,
    pub current: Value,
    pub today: NaiveDate,
    pub extra: Extra<'a>,
}

/// What expressions read besides the answers: the clock of `now()`, the seed of
/// `random()` and `uuid()`, the language of `jr:choice-name()`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extra<'a> {
    pub now: DateTime<FixedOffset>,
    pub seed: u64,
    pub lang: &'a str,
}

impl Ctx<'_> {
    /// Collect the values of node `id` reachable from `answers` through the repeat
    /// `chain` (outermost first); instances on the evaluation scope are entered alone,
    /// others all together. Returns whether several values can result.
    fn collect(
        &self,
        answers: &Answers,
        chain: &[usize],
        scope: &Scope,
        id: usize,
        out: &mut Vec<Value>,
    ) -> bool {
        let node = &self.form.nodes[id];
        let Some((&repeat, rest)) = chain.split_first() else {
            if node.kind == NodeKind::Repeat {
                // `count(${child})`: one value per instance, its 1-based position.
                let n = answers.repeat(&node.name).len();
                out.extend((1..=n as i64).map(Value::Int));
                return true;
            }
            out.push(answers.value(&node.name).cloned().unwrap_or(Value::Null));
            return false;
        };
        let instances = answers.repeat(&self.form.nodes[repeat].name);
        match scope.split_first() {
            Some((&(r, index), scope_rest)) if r == repeat => match instances.get(index) {
                Some(instance) => self.collect(instance, rest, scope_rest, id, out),
                None => {
                    out.push(Value::Null);
                    false
                }
            },
            _ => {
                for instance in instances {
                    self.collect(instance, rest, &[], id, out);
                }
                true
            }
        }
    }
}

impl Context for Ctx<'_> {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        let id = *self.form.by_name.get(name)?;
        let mut chain = Vec::new();
        let mut at = self.form.nodes[id].repeat;
        while let Some(r) = at {
            chain.push(r);
            at = self.form.nodes[r].repeat;
        }
        chain.reverse();
        let mut out = Vec::new();
        if self.collect(self.root, &chain, self.scope, id, &mut out) {
            Some(Resolved::Many(out))
        } else {
            Some(Resolved::One(out.pop().unwrap_or(Value::Null)))
        }
    }

    fn current(&self) -> Value {
        self.current.clone()
    }

    fn today(&self) -> NaiveDate {
        self.today
    }

    fn table(&self, name: &str) -> Option<&DataFile> {
        self.form.table(name)
    }

    fn now(&self) -> DateTime<FixedOffset> {
        self.extra.now
    }

    fn random_bits(&self, salt: u64) -> u64 {
        let at = self.scope.iter().fold(self.extra.seed, |h, &(r, i)| {
            mix(mix(h, r as u64), i as u64)
        });
        mix(at, salt)
    }

    fn position(&self) -> Option<usize> {
        self.scope.last().map(|&(_, i)| i + 1)
    }

    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        let id = *self.form.by_name.get(name)?;
        let mut chain = Vec::new();
        let mut up = self.form.nodes[id].repeat;
        while let Some(r) = up {
            chain.push(r);
            up = self.form.nodes[r].repeat;
        }
        chain.reverse();
        let named = |r: usize| at.iter().find(|(n, _)| *n == self.form.nodes[r].name);
        if at
            .iter()
            .any(|(n, _)| !chain.iter().any(|&r| self.form.nodes[r].name == *n))
        {
            return None;
        }
        // The named repeats at the given instances, the others as evaluation sees them.
        let mut scope = Vec::new();
        for &r in &chain {
            match (named(r), self.scope.iter().find(|(s, _)| *s == r)) {
                (Some((_, i)), _) => scope.push((r, i.saturating_sub(1))),
                (None, Some(&here)) => scope.push(here),
                (None, None) => break,
            }
        }
        let ctx = Ctx {
            form: self.form,
            root: self.root,
            scope: &scope,
            current: Value::Null,
            today: self.today,
            extra: self.extra,
        };
        ctx.resolve(name)
    }

    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        let node = self.form.node(question)?;
        let list = node.question.as_ref()?.qtype.list()?;
        if node.dynamic_list.is_some() {
            // A choice from earlier answers is labelled with itself.
            return Some(choice.to_string());
        }
        let label = self.form.choice_label(list, choice, self.extra.lang)?;
        Some(label.to_string())
    }
}

/// The context of a `choice_filter`: the answers as [`Ctx`] sees them, and the choice
/// being filtered, whose columns bare names read.
pub(crate) struct ChoiceCtx<'a> {
    pub inner: Ctx<'a>,
    pub choice: &'a Choice,
}

impl Context for ChoiceCtx<'_> {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        self.inner.resolve(name)
    }

    fn current(&self) -> Value {
        Value::Text(self.choice.name.clone())
    }

    fn today(&self) -> NaiveDate {
        self.inner.today
    }

    fn table(&self, name: &str) -> Option<&DataFile> {
        self.inner.table(name)
    }

    fn now(&self) -> DateTime<FixedOffset> {
        self.inner.now()
    }

    fn random_bits(&self, salt: u64) -> u64 {
        self.inner.random_bits(salt)
    }

    fn position(&self) -> Option<usize> {
        self.inner.position()
    }

    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        self.inner.indexed(name, at)
    }

    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        self.inner.choice_label(question, choice)
    }

    fn column(&self, name: &str) -> Option<Value> {
        if name == "name" {
            return Some(Value::Text(self.choice.name.clone()));
        }
        // Compiling checked the column exists in the list; a choice without it is blank.
        Some(
            self.choice
                .columns
                .get(name)
                .map(|v| Value::Text(v.clone()))
                .unwrap_or(Value::Null),
        )
    }
}

/// The context of a `choice_filter` on a select from earlier answers (`select_one
/// ${child_name}`), for one candidate instance of the repeat the answers come from:
/// questions of that repeat (`${age}`, or bare `age`) read the candidate instance's
/// answers, every other name reads as from the select.
pub(crate) struct InstanceCtx<'a> {
    /// The answers as seen from the select.
    pub select: Ctx<'a>,
    /// The answers as seen from inside the candidate instance.
    pub candidate: Ctx<'a>,
    /// The repeat the answers come from.
    pub repeat: usize,
    /// The candidate's answer (the choice's name), for `.`.
    pub value: Value,
}

impl InstanceCtx<'_> {
    /// Whether the named item is inside the candidate's repeat (at any depth).
    fn in_repeat(&self, name: &str) -> bool {
        let form = self.select.form;
        let mut at = form.by_name.get(name).and_then(|&id| form.nodes[id].repeat);
        while let Some(r) = at {
            if r == self.repeat {
                return true;
            }
            at = form.nodes[r].repeat;
        }
        false
    }
}

impl Context for InstanceCtx<'_> {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        if self.in_repeat(name) {
            self.candidate.resolve(name)
        } else {
            self.select.resolve(name)
        }
    }

    fn current(&self) -> Value {
        self.value.clone()
    }

    fn today(&self) -> NaiveDate {
        self.select.today
    }

    fn table(&self, name: &str) -> Option<&DataFile> {
        self.select.table(name)
    }

    fn now(&self) -> DateTime<FixedOffset> {
        self.select.now()
    }

    fn random_bits(&self, salt: u64) -> u64 {
        self.select.random_bits(salt)
    }

    fn position(&self) -> Option<usize> {
        self.select.position()
    }

    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        self.select.indexed(name, at)
    }

    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        self.select.choice_label(question, choice)
    }

    fn column(&self, name: &str) -> Option<Value> {
        // Compiling checked that bare names are questions of the candidate's repeat.
        match self.candidate.resolve(name)? {
            Resolved::One(v) => Some(v),
            Resolved::Many(vs) => vs.into_iter().next(),
        }
    }
}
