//! `begin loop over list`, expanded as the reference converter expands it.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Choice, Group, Item, Labels};

/// `begin loop over list`: the loop's body once per choice (the reference skips a
/// choice named `none`), in a group per choice. Names are unique in a form here, so
/// each copy's names gain `_choice` and its `${references}` to the body follow;
/// `%(name)s` and `%(label)s` in labels become the choice's name and label.
pub(super) fn expand_loop(
    mut group: Group,
    list: &str,
    choices: &BTreeMap<String, Vec<Choice>>,
    rows_of: &mut HashMap<String, usize>,
    line: usize,
) -> Result<(Item, String), String> {
    let Some(entries) = choices.get(list) else {
        return Err(format!(
            "the loop's list `{list}` is not on the choices sheet"
        ));
    };
    let mut names = Vec::new();
    collect_names(&group.items, &mut names);
    let body = std::mem::take(&mut group.items);
    for choice in entries.iter().filter(|c| c.name != "none") {
        let suffix = &choice.name;
        let mut items = body.clone();
        for item in &mut items {
            rename(item, &names, suffix, choice);
        }
        let mut copies = Vec::new();
        collect_names(&items, &mut copies);
        for copy in copies {
            rows_of.insert(copy, line);
        }
        group.items.push(Item::Group(Group {
            name: format!("{}_{suffix}", group.name),
            label: substitute(&group.label, choice),
            items,
            ..Group::default()
        }));
    }
    let note = format!(
        "`begin loop over {list}` is expanded as the reference expands it: a group per \
         choice, each question's name followed by `_` and the choice's name"
    );
    Ok((Item::Group(group), note))
}

fn collect_names(items: &[Item], out: &mut Vec<String>) {
    for item in items {
        out.push(item.name().to_string());
        collect_names(item.items(), out);
    }
}

fn substitute(labels: &Labels, choice: &Choice) -> Labels {
    Labels(
        labels
            .0
            .iter()
            .map(|(code, text)| {
                let label = choice.label.get(code, code).unwrap_or(&choice.name);
                let text = text
                    .replace("%(name)s", &choice.name)
                    .replace("%(label)s", label);
                (code.clone(), text)
            })
            .collect(),
    )
}

fn rename(item: &mut Item, names: &[String], suffix: &str, choice: &Choice) {
    let fix = |e: &mut Option<String>| {
        if let Some(text) = e {
            for n in names {
                *text = text.replace(&format!("${{{n}}}"), &format!("${{{n}_{suffix}}}"));
            }
        }
    };
    match item {
        Item::Question(q) => {
            q.name = format!("{}_{suffix}", q.name);
            q.label = substitute(&q.label, choice);
            q.hint = substitute(&q.hint, choice);
            for e in [
                &mut q.relevant,
                &mut q.constraint,
                &mut q.calculation,
                &mut q.choice_filter,
            ] {
                fix(e);
            }
        }
        Item::Group(g) => {
            g.name = format!("{}_{suffix}", g.name);
            g.label = substitute(&g.label, choice);
            g.hint = substitute(&g.hint, choice);
            fix(&mut g.relevant);
            for child in &mut g.items {
                rename(child, names, suffix, choice);
            }
        }
        Item::Repeat(r) => {
            r.name = format!("{}_{suffix}", r.name);
            r.label = substitute(&r.label, choice);
            r.hint = substitute(&r.hint, choice);
            fix(&mut r.relevant);
            fix(&mut r.repeat_count);
            for child in &mut r.items {
                rename(child, names, suffix, choice);
            }
        }
    }
}
