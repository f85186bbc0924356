//! A record's answers as its form shows them, in the viewer's language: groups in
//! order under their labels, repeats as sub-tables (one row per entry), choices by
//! their labels (a `select_multiple` as a list), attachments as links to
//! `/records/{id}/attachments/{name}`. Unanswered (and so non-relevant) questions
//! are left out. Also the responses table's columns and cells.
//!
//! Every answer carries `data-field="{question name}"` so that tests (and anyone
//! reading the markup) can find it.

use forms::{Answer, Answers, Form, Item, Labels, Question, QuestionType, Value};
use maud::{html, Markup};

use super::url_encode;

/// A form's texts in one language.
#[derive(Clone, Copy)]
pub struct Labeler<'a> {
    /// The form.
    pub form: &'a Form,
    /// The viewer's language (`en`, `es`).
    pub lang: &'a str,
}

impl<'a> Labeler<'a> {
    /// `labels` in the viewer's language (else the form's default), else `name`.
    pub fn text(&self, labels: &'a Labels, name: &'a str) -> &'a str {
        labels
            .get(self.lang, &self.form.default_language)
            .unwrap_or(name)
    }

    /// The form's title.
    pub fn title(&self) -> &'a str {
        self.text(&self.form.title, &self.form.id)
    }

    /// The label of the choice `name` of `list`, else `name`.
    pub fn choice(&self, list: &str, name: &str) -> String {
        self.form
            .list_choices(list)
            .and_then(|choices| {
                choices
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| self.text_owned(&c.label, name))
            })
            .unwrap_or_else(|| name.to_string())
    }

    fn text_owned(&self, labels: &Labels, name: &str) -> String {
        labels
            .get(self.lang, &self.form.default_language)
            .unwrap_or(name)
            .to_string()
    }
}

/// A column of the responses table: a question outside any repeat, or a repeat
/// (shown as its number of entries).
#[derive(Clone, Copy)]
pub enum Column<'a> {
    /// A question's answer.
    Question(&'a Question),
    /// How many entries a repeat holds.
    Repeat(&'a forms::Repeat),
}

impl<'a> Column<'a> {
    /// The question's or repeat's label.
    pub fn label(&self, labeler: &Labeler<'a>) -> &'a str {
        match self {
            Column::Question(q) => labeler.text(&q.label, &q.name),
            Column::Repeat(r) => labeler.text(&r.label, &r.name),
        }
    }

    /// Its cell for one record's answers.
    pub fn cell(&self, labeler: &Labeler<'_>, answers: &Answers) -> Markup {
        match self {
            Column::Question(q) => match answers.value(&q.name) {
                Some(v) if !v.is_empty() => html! { (plain(labeler, q, v)) },
                _ => html! {},
            },
            Column::Repeat(r) => html! { (answers.repeat(&r.name).len()) },
        }
    }
}

/// The responses table's columns: the form's questions outside repeats (groups do
/// not nest answers) and one per repeat, in form order; notes hold no answer.
pub fn columns(form: &Form) -> Vec<Column<'_>> {
    fn walk<'a>(items: &'a [Item], out: &mut Vec<Column<'a>>) {
        for item in items {
            match item {
                Item::Question(q) if q.qtype != QuestionType::Note => out.push(Column::Question(q)),
                Item::Question(_) => {}
                Item::Group(g) => walk(&g.items, out),
                Item::Repeat(r) => out.push(Column::Repeat(r)),
            }
        }
    }
    let mut out = Vec::new();
    walk(&form.items, &mut out);
    out
}

/// An answer as one line of text: choices by label (several joined by `, `).
pub fn plain(labeler: &Labeler<'_>, question: &Question, value: &Value) -> String {
    let text = value.as_text();
    match &question.qtype {
        QuestionType::SelectOne(list) => labeler.choice(list, text.trim()),
        QuestionType::SelectMultiple(list) | QuestionType::Rank(list) => text
            .split_whitespace()
            .map(|c| labeler.choice(list, c))
            .collect::<Vec<_>>()
            .join(", "),
        _ => text,
    }
}

/// Whether a question's answer names an uploaded file.
fn is_attachment(q: &Question) -> bool {
    matches!(
        q.qtype,
        QuestionType::Image | QuestionType::Audio | QuestionType::Video | QuestionType::File
    )
}

/// One answer's value: a list for several choices, a link for an attachment.
fn value_markup(labeler: &Labeler<'_>, record_id: &str, q: &Question, value: &Value) -> Markup {
    match &q.qtype {
        QuestionType::SelectMultiple(list) | QuestionType::Rank(list) => html! {
            ul { @for c in value.as_text().split_whitespace() { li { (labeler.choice(list, c)) } } }
        },
        _ if is_attachment(q) => {
            let name = value.as_text();
            let href = format!(
                "/records/{}/attachments/{}",
                url_encode(record_id),
                url_encode(name.trim())
            );
            html! { a.attachment href=(href) { (name) } }
        }
        _ => html! { (plain(labeler, q, value)) },
    }
}

/// Whether any question of `items` (nested ones too) is answered in `answers`.
fn any_answered(items: &[Item], answers: &Answers) -> bool {
    items.iter().any(|item| match item {
        Item::Question(q) => answers.value(&q.name).is_some_and(|v| !v.is_empty()),
        Item::Group(g) => any_answered(&g.items, answers),
        Item::Repeat(r) => !answers.repeat(&r.name).is_empty(),
    })
}

/// Every answer of a record, as its form lays them out. `record_id` makes the
/// attachments' links.
pub fn record_answers(labeler: &Labeler<'_>, record_id: &str, answers: &Answers) -> Markup {
    let shown = items_markup(labeler, record_id, &labeler.form.items, answers);
    html! {
        @if any_answered(&labeler.form.items, answers) {
            (shown)
        } @else {
            p.hidden { "No answers yet." }
        }
        (unknown_answers(labeler.form, answers))
    }
}

fn items_markup(
    labeler: &Labeler<'_>,
    record_id: &str,
    items: &[Item],
    answers: &Answers,
) -> Markup {
    html! {
        dl {
            @for item in items {
                @match item {
                    Item::Question(q) => {
                        @if let Some(v) = answers.value(&q.name).filter(|v| !v.is_empty()) {
                            dt { (labeler.text(&q.label, &q.name)) }
                            dd data-field=(q.name) { (value_markup(labeler, record_id, q, v)) }
                        }
                    }
                    Item::Group(g) => {
                        @if any_answered(&g.items, answers) {
                            dt.group { (labeler.text(&g.label, &g.name)) }
                            dd data-group=(g.name) {
                                (items_markup(labeler, record_id, &g.items, answers))
                            }
                        }
                    }
                    Item::Repeat(r) => {
                        @let entries = answers.repeat(&r.name);
                        @if !entries.is_empty() {
                            dt.repeat { (labeler.text(&r.label, &r.name)) " (" (entries.len()) ")" }
                            dd { (repeat_table(labeler, record_id, r, entries)) }
                        }
                    }
                }
            }
        }
    }
}

/// A repeat's entries as a table: a column per question inside it (a repeat inside
/// it shows its count), a row per entry.
fn repeat_table(
    labeler: &Labeler<'_>,
    record_id: &str,
    repeat: &forms::Repeat,
    entries: &[Answers],
) -> Markup {
    let mut inner = Vec::new();
    fn walk<'a>(items: &'a [Item], out: &mut Vec<Column<'a>>) {
        for item in items {
            match item {
                Item::Question(q) if q.qtype != QuestionType::Note => out.push(Column::Question(q)),
                Item::Question(_) => {}
                Item::Group(g) => walk(&g.items, out),
                Item::Repeat(r) => out.push(Column::Repeat(r)),
            }
        }
    }
    walk(&repeat.items, &mut inner);
    html! {
        div.scroll {
            table data-field=(repeat.name) {
                thead { tr {
                    th scope="col" { "#" }
                    @for c in &inner { th scope="col" { (c.label(labeler)) } }
                } }
                tbody {
                    @for (i, entry) in entries.iter().enumerate() {
                        tr.entry {
                            td.num { (i + 1) }
                            @for c in &inner {
                                @match c {
                                    Column::Question(q) => {
                                        td data-field=(q.name) {
                                            @if let Some(v) = entry.value(&q.name).filter(|v| !v.is_empty()) {
                                                (value_markup(labeler, record_id, q, v))
                                            }
                                        }
                                    }
                                    Column::Repeat(r) => {
                                        td data-field=(r.name) { (entry.repeat(&r.name).len()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Answers the form does not ask (metadata such as `_status`, `_household`, or
/// questions of another version), shown apart by name so nothing stored is hidden.
fn unknown_answers(form: &Form, answers: &Answers) -> Markup {
    fn names(items: &[Item], out: &mut Vec<String>) {
        for item in items {
            out.push(item.name().to_string());
            names(item.items(), out);
        }
    }
    let mut known = Vec::new();
    names(&form.items, &mut known);
    let other: Vec<(&String, String)> = answers
        .iter()
        .filter(|(name, _)| !known.contains(name) && !name.starts_with('_'))
        .filter_map(|(name, answer)| match answer {
            Answer::Value(v) if !v.is_empty() => Some((name, v.as_text())),
            Answer::Value(_) => None,
            Answer::Repeat(entries) => Some((name, format!("{} entries", entries.len()))),
        })
        .collect();
    html! {
        @if !other.is_empty() {
            h2 { "Other answers" }
            dl.other {
                @for (name, text) in &other {
                    dt { (name) }
                    dd data-field=(name) { (text) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_show_by_label_in_the_viewers_language() {
        let form = forms::instruments::seed_forms()
            .into_iter()
            .find(|f| f.id == "household_survey")
            .unwrap();
        let mut kid = Answers::new();
        kid.set("age_years", 8i64).set("grade", "3");
        let mut a = Answers::new();
        a.set("consent", "yes").set_repeat("child", vec![kid]);
        let es = Labeler {
            form: &form,
            lang: "es",
        };
        let page = record_answers(&es, "r1", &a).into_string();
        assert!(page.contains("data-field=\"consent\">Sí<"), "{page}");
        assert_eq!(page.matches("<tr class=\"entry\">").count(), 1, "{page}");
        let en = Labeler {
            form: &form,
            lang: "en",
        };
        let cols = columns(&form);
        assert!(cols
            .iter()
            .any(|c| matches!(c, Column::Repeat(r) if r.name == "child")));
        let consent = cols
            .iter()
            .find(|c| c.label(&en).starts_with("We are asking"));
        assert_eq!(consent.unwrap().cell(&en, &a).into_string(), "Yes");
    }

    #[test]
    fn attachments_link_to_the_records_route_and_empty_answers_are_left_out() {
        let form = Form::from_json(
            r#"{"id":"visit","version":1,"title":"Visit","languages":[],
                "default_language":"en","choices":{},
                "items":[{"type":"image","name":"photo","label":"Photo"},
                         {"type":"text","name":"note","label":"Note"},
                         {"type":"group","name":"g","label":"Nothing here",
                          "items":[{"type":"text","name":"inner","label":"Inner"}]}]}"#,
        )
        .unwrap();
        let mut a = Answers::new();
        let name = format!("{}.jpg", "ab".repeat(32));
        a.set("photo", name.as_str())
            .set("note", "")
            .set("inner", Value::Null);
        let page = record_answers(
            &Labeler {
                form: &form,
                lang: "en",
            },
            "r-1",
            &a,
        )
        .into_string();
        assert!(
            page.contains(&format!("href=\"/records/r-1/attachments/{name}\"")),
            "{page}"
        );
        assert!(!page.contains("data-field=\"note\"") && !page.contains("Nothing here"));
    }
}
