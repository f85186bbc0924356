//! The preview of a read form: every item with its type, its text in each language
//! and its rules; groups and repeats indented; each select's choices.

use forms::{Form, Item, Labels};
use maud::{html, Markup};

/// A form's (or a choice's) text in the default language, else its id.
pub(super) fn title(labels: &Labels, default_language: &str, id: &str) -> String {
    labels
        .get(default_language, default_language)
        .unwrap_or(id)
        .to_string()
}

/// The preview table of `form`, with a line on its id, version and language.
pub(super) fn render(form: &Form) -> Markup {
    let mut languages: Vec<(String, String)> = form
        .languages
        .iter()
        .map(|l| (l.code.clone(), l.name.clone()))
        .collect();
    if languages.is_empty() {
        languages.push((form.default_language.clone(), form.default_language.clone()));
    }
    let mut rows = Vec::new();
    items(form, &form.items, 0, &languages, &mut rows);
    html! {
        p {
            "Form id " code { (form.id) } ", version " (form.version)
            ", default language " code { (form.default_language) } "."
        }
        div.scroll {
            table id="preview" {
                thead {
                    tr {
                        th { "Name" }
                        th { "Type" }
                        @for (_, name) in &languages { th { (name) } }
                        th { "Rules" }
                    }
                }
                tbody { @for row in rows { (row) } }
            }
        }
    }
}

/// An item's text in each language, a cell each; a language without one is marked.
fn texts(labels: &Labels, languages: &[(String, String)]) -> Markup {
    html! {
        @for (code, _) in languages {
            @let text = labels.exact(code).or_else(|| labels.exact("")).unwrap_or("");
            @if text.is_empty() && !labels.is_empty() {
                td class="error" { (text) }
            } @else {
                td { (text) }
            }
        }
    }
}

/// What the preview says of an item's hint and appearance, when it has them.
fn hint_and_appearance(hint: &Labels, appearance: Option<&str>, lang: &str) -> Vec<Markup> {
    let mut said = Vec::new();
    if let Some(text) = hint.get(lang, lang).filter(|t| !t.is_empty()) {
        said.push(html! { "hint: " (text) });
    }
    if let Some(a) = appearance.filter(|a| !a.is_empty()) {
        said.push(html! { "appearance " code { (a) } });
    }
    said
}

/// Rules joined by "; ".
fn joined(rules: &[Markup]) -> Markup {
    html! {
        @for (i, rule) in rules.iter().enumerate() {
            @if i > 0 { "; " }
            (rule)
        }
    }
}

/// One row of the preview: the name cell (indented by depth), the type, the texts,
/// the rules.
fn row(pad: &str, name: Markup, kind: &str, texts: Markup, rules: &[Markup]) -> Markup {
    html! {
        tr {
            td style=(pad) { (name) }
            td { (kind) }
            (texts)
            td { (joined(rules)) }
        }
    }
}

fn items(
    form: &Form,
    list: &[Item],
    depth: usize,
    languages: &[(String, String)],
    out: &mut Vec<Markup>,
) {
    let pad = format!("padding-left:{}rem", depth as f32 * 1.5);
    let lang = &form.default_language;
    for item in list {
        match item {
            Item::Question(q) => {
                let mut rules = Vec::new();
                if q.required {
                    rules.push(html! { "required" });
                }
                for (what, expr) in [
                    ("shown if", &q.relevant),
                    ("must hold", &q.constraint),
                    ("computed as", &q.calculation),
                    ("choices where", &q.choice_filter),
                ] {
                    if let Some(e) = expr {
                        rules.push(html! { (what) " " code { (e) } });
                    }
                }
                // A list from an attached file may have thousands of rows: the first few.
                if let Some(choices) = q.qtype.list().and_then(|l| form.list_choices(l)) {
                    const SHOWN: usize = 20;
                    rules.push(html! {
                        "choices: "
                        @for (i, c) in choices.iter().take(SHOWN).enumerate() {
                            @if i > 0 { ", " }
                            (title(&c.label, lang, &c.name))
                        }
                        @if choices.len() > SHOWN { ", … " (choices.len()) " in all" }
                    });
                }
                rules.extend(hint_and_appearance(&q.hint, q.appearance.as_deref(), lang));
                let name = html! { code { (q.name) } };
                let kind = q.qtype.to_string();
                out.push(row(&pad, name, &kind, texts(&q.label, languages), &rules));
            }
            Item::Group(g) => {
                let mut rules: Vec<Markup> = g
                    .relevant
                    .as_ref()
                    .map(|r| html! { "shown if " code { (r) } })
                    .into_iter()
                    .collect();
                rules.extend(hint_and_appearance(&g.hint, g.appearance.as_deref(), lang));
                let name = html! { strong { (g.name) } };
                out.push(row(&pad, name, "group", texts(&g.label, languages), &rules));
                items(form, &g.items, depth + 1, languages, out);
            }
            Item::Repeat(r) => {
                let mut rules = Vec::new();
                if let Some(e) = &r.relevant {
                    rules.push(html! { "shown if " code { (e) } });
                }
                if let Some(e) = &r.repeat_count {
                    rules.push(html! { "repeated " code { (e) } " times" });
                }
                rules.extend(hint_and_appearance(&r.hint, r.appearance.as_deref(), lang));
                let name = html! { strong { (r.name) } };
                out.push(row(
                    &pad,
                    name,
                    "repeat",
                    texts(&r.label, languages),
                    &rules,
                ));
                items(form, &r.items, depth + 1, languages, out);
            }
        }
    }
}
