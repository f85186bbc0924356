//! The expression [`Context`] over the answers being validated.

use chrono::NaiveDate;

use crate::expr::{Context, Resolved};
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
