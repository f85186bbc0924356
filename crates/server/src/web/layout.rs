//! The one layout of the staff pages and the components they share, as maud
//! templates: every value is escaped unless a page says otherwise (`PreEscaped`), and
//! a template that does not close its tags does not compile.
//!
//! - [`page`]: the frame (header, navigation, sign-out form) around a page's body;
//! - [`csrf_field`], [`post_button`]: forms that change something carry the session's
//!   CSRF token;
//! - [`data_table`]: a table of rows that scrolls sideways on a small phone;
//! - [`filter_bar`]: the `GET` form of a list's filters, the same on every list;
//! - [`pager`]: the "newer / older" links of a keyset-paged list.

use maud::{html, Markup, PreEscaped, DOCTYPE};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}\
header{background:#1d3557;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}\
header a{color:#fff}header form{margin-left:auto}main{padding:1rem;max-width:80rem}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
td.num{text-align:right;white-space:nowrap}.hidden{color:#666;font-style:italic}.error{color:#a4161a}.ok{color:#2b6a30}\
label{display:block;margin:.5rem 0}nav a{margin-right:.8rem}fieldset{margin:.5rem 0}\
.filters{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:end;margin:.5rem 0}.filters label{margin:0}\
.pager a{margin-right:1rem}.inline{display:inline}.due{color:#a4161a;font-weight:600}\
input,select,button{font-size:1rem;max-width:100%}\
input:not([type=checkbox]):not([type=radio]),select,button{min-height:1.75rem}\
label:has(>input[type=checkbox]),label:has(>input[type=radio]){display:flex;align-items:center;gap:.4rem;min-height:1.75rem}\
td a,li a{display:inline-block;min-height:1.5rem;min-width:1.5rem;padding-top:.15rem}\
.trend.right{color:#2b6a30;font-weight:600}.trend.wrong{color:#a4161a;font-weight:600}\
@media print{header,.no-print,form{display:none}main{max-width:none;padding:0}.scroll{overflow:visible}\
section,table,svg{break-inside:avoid}a{color:inherit;text-decoration:none}}";

/// Where a signed-in staff member can go; every page shows the same links.
const NAV: &[(&str, &str)] = &[
    ("/dashboard", "Indicators"),
    ("/programs", "Programs"),
    ("/follow-ups", "Follow-ups"),
    ("/responses", "Responses"),
    ("/households", "Households"),
    ("/records", "Records"),
    ("/exports", "Exports"),
    ("/users", "Users"),
    ("/lists", "Lists"),
    ("/devices", "Devices"),
    ("/forms", "Forms"),
    ("/scorecard/settings", "Scorecard"),
    ("/audit", "Audit log"),
];

/// A time (unix seconds) as every page shows it: `2026-12-06 14:05 UTC`.
pub fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Who a page is for: the signed-in user's name and the CSRF token of their forms.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The user name shown in the header.
    pub username: &'a str,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: &'a str,
}

/// A whole page: `title`, the header (with the navigation and the sign-out form when
/// someone is signed in), then `body`.
pub fn page(title: &str, viewer: Option<Viewer<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Cradle to career" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "Cradle to career" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Pages" {
                            @for (href, label) in NAV {
                                a href=(href) { (label) } " "
                            }
                        }
                        span { (viewer.username) }
                        form method="post" action="/sign-out" {
                            (csrf_field(viewer.csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden field every posted form carries.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A form that is one button: posts the CSRF token (and `fields`, name and value) to
/// `action`.
pub fn post_button(action: &str, csrf: &str, fields: &[(&str, &str)], label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" { (label) }
        }
    }
}

/// A table with a header row; each row is its cells' markup. Wrapped so that a wide
/// table scrolls on its own instead of widening the page.
pub fn data_table<R>(caption: Option<&str>, headers: &[&str], rows: R) -> Markup
where
    R: IntoIterator<Item = Vec<Markup>>,
{
    html! {
        div.scroll {
            table {
                @if let Some(caption) = caption {
                    caption { (caption) }
                }
                thead { tr { @for h in headers { th scope="col" { (h) } } } }
                tbody {
                    @for row in rows {
                        tr { @for cell in row { td { (cell) } } }
                    }
                }
            }
        }
    }
}

/// One field of a list's filters.
#[derive(Debug, Clone)]
pub enum Filter<'a> {
    /// A text box: name, label, current value.
    Text(&'a str, &'a str, &'a str),
    /// A date picker: name, label, current value (`YYYY-MM-DD` or empty).
    Date(&'a str, &'a str, &'a str),
    /// A choice among (value, label) options, the first meaning "any": name, label,
    /// options, current value.
    Choice(&'a str, &'a str, Vec<(String, String)>, &'a str),
}

impl<'a> Filter<'a> {
    /// A choice among `options` (the first meaning "any"), or a text box when there is
    /// nothing to choose from or the current value is not among them (a neighborhood
    /// no managed list names yet is still found by typing it).
    pub fn choice_or_text(
        name: &'a str,
        label: &'a str,
        options: Vec<(String, String)>,
        value: &'a str,
    ) -> Filter<'a> {
        let known = value.is_empty() || options.iter().any(|(o, _)| o == value);
        if options.len() > 1 && known {
            Filter::Choice(name, label, options, value)
        } else {
            Filter::Text(name, label, value)
        }
    }
}

/// The filters of a list as one `GET` form to `action`: each field keeps its current
/// value, and "Show" reloads the list with them.
pub fn filter_bar(action: &str, filters: &[Filter<'_>]) -> Markup {
    html! {
        form.filters method="get" action=(action) role="search" {
            @for filter in filters {
                @match filter {
                    Filter::Text(name, label, value) => {
                        label { (label) " " input type="search" name=(name) value=(value); }
                    }
                    Filter::Date(name, label, value) => {
                        label { (label) " " input type="date" name=(name) value=(value); }
                    }
                    Filter::Choice(name, label, options, value) => {
                        label {
                            (label) " "
                            select name=(name) {
                                @for (option, text) in options {
                                    option value=(option) selected[option == value] { (text) }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

/// The links of a keyset-paged list: back to the first page, and on to the next
/// (`next` is the next page's whole URL, when there is one).
pub fn pager(first: &str, is_first: bool, next: Option<&str>) -> Markup {
    html! {
        p.pager {
            @if !is_first { a href=(first) { "« First page" } }
            @if let Some(next) = next { a href=(next) rel="next" { "Next page »" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_markup_kept() {
        let viewer = Viewer {
            username: "<i>ana</i>",
            csrf: "t\"",
        };
        let p = page("a<b", Some(viewer), html! { p { "ok" } }).into_string();
        assert!(p.contains("a&lt;b"), "{p}");
        assert!(p.contains("&lt;i&gt;ana"), "{p}");
        assert!(p.contains("value=\"t&quot;\""), "{p}");
        assert!(p.contains("<p>ok</p>"));
        let signed_out = page("Sign in", None, html! {}).into_string();
        assert!(!signed_out.contains("Sign out") && !signed_out.contains("<nav"));
    }

    #[test]
    fn a_filter_keeps_its_value_and_a_table_its_rows() {
        let bar = filter_bar(
            "/responses/x",
            &[
                Filter::Text("q", "Search", "o'neil"),
                Filter::Choice(
                    "status",
                    "Status",
                    vec![
                        ("".into(), "Any".into()),
                        ("complete".into(), "Complete".into()),
                    ],
                    "complete",
                ),
            ],
        )
        .into_string();
        assert!(bar.contains("value=\"o'neil\"") || bar.contains("value=\"o&#39;neil\""));
        assert!(
            bar.contains("<option value=\"complete\" selected>"),
            "{bar}"
        );
        let table = data_table(
            None,
            &["A", "B"],
            vec![vec![html! { "1" }, html! { "<2>" }]],
        )
        .into_string();
        assert!(table.contains("<td>1</td><td>&lt;2&gt;</td>"), "{table}");
    }
}
