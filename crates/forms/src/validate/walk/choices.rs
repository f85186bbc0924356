//! The choices a select offers as the answers stand: a list narrowed by its
//! `choice_filter`, or the answers to an earlier repeat's question.

use super::{answers_at, Walker};
use crate::model::CompiledForm;
use crate::validate::context::{ChoiceCtx, InstanceCtx, Scope};
use crate::{Answers, Value};

/// The scopes of the instances of the innermost repeat of `chain` (repeats outermost
/// first) under `answers`: every instance of it, within the instances of the outer
/// repeats that `scope` is in (all of them for the outer repeats it is not in).
fn instance_scopes(
    form: &CompiledForm,
    answers: &Answers,
    chain: &[usize],
    scope: &Scope,
    prefix: &mut Vec<(usize, usize)>,
    out: &mut Vec<Vec<(usize, usize)>>,
) {
    let Some((&repeat, rest)) = chain.split_first() else {
        out.push(prefix.clone());
        return;
    };
    let instances = answers.repeat(&form.nodes[repeat].name);
    match scope.split_first() {
        Some((&(r, i), scope_rest)) if r == repeat && !rest.is_empty() => {
            if let Some(instance) = instances.get(i) {
                prefix.push((repeat, i));
                instance_scopes(form, instance, rest, scope_rest, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            for (i, instance) in instances.iter().enumerate() {
                prefix.push((repeat, i));
                instance_scopes(form, instance, rest, &[], prefix, out);
                prefix.pop();
            }
        }
    }
}

impl Walker<'_> {
    /// The names of the choices of `list` that `filter` offers at `scope`, in list
    /// order, and the first evaluation error (a choice whose filter fails is not offered).
    pub(super) fn offered(
        &self,
        filter: &crate::expr::Expr,
        list: &str,
        scope: &Scope,
    ) -> (Vec<String>, Option<String>) {
        let mut names = Vec::new();
        let mut error = None;
        for choice in self.form.choices(list).into_iter().flatten() {
            let ctx = ChoiceCtx {
                inner: self.ctx(scope, Value::Null),
                choice,
            };
            match filter.eval(&ctx) {
                Ok(x) if x.truthy() => names.push(choice.name.clone()),
                Ok(_) => {}
                Err(e) => {
                    error.get_or_insert(e.summary());
                }
            }
        }
        (names, error)
    }

    /// The choices of a select from earlier answers (`select_one ${child_name}`) at
    /// `scope`: the answers to question `source` in each instance of its repeat (within
    /// the instances of outer repeats that `scope` is in), in instance order, without
    /// empty answers or repeats, kept by `filter` when given; and the first evaluation
    /// error (an instance whose filter fails is not offered).
    pub(super) fn offered_from_answers(
        &self,
        source: usize,
        filter: Option<&crate::expr::Expr>,
        scope: &Scope,
    ) -> (Vec<String>, Option<String>) {
        let node = &self.form.nodes[source];
        let Some(repeat) = node.repeat else {
            return (Vec::new(), None);
        };
        let mut chain = vec![repeat];
        while let Some(r) = self.form.nodes[chain[chain.len() - 1]].repeat {
            chain.push(r);
        }
        chain.reverse();
        let mut candidates = Vec::new();
        instance_scopes(
            self.form,
            &self.root,
            &chain,
            scope,
            &mut Vec::new(),
            &mut candidates,
        );
        let mut names: Vec<String> = Vec::new();
        let mut error = None;
        for candidate in &candidates {
            let value = answers_at(self.form, &self.root, candidate)
                .and_then(|a| a.value(&node.name))
                .map(|v| v.as_text().trim().to_string())
                .unwrap_or_default();
            if value.is_empty() || names.contains(&value) {
                continue;
            }
            if let Some(filter) = filter {
                let ctx = InstanceCtx {
                    select: self.ctx(scope, Value::Null),
                    candidate: self.ctx(candidate, Value::Null),
                    repeat,
                    value: Value::Text(value.clone()),
                };
                match filter.eval(&ctx) {
                    Ok(x) if x.truthy() => {}
                    Ok(_) => continue,
                    Err(e) => {
                        error.get_or_insert(e.summary());
                        continue;
                    }
                }
            }
            names.push(value);
        }
        (names, error)
    }
}
