//! A program's records as its measures read them: each declared form walked along
//! `records_by_form`, newest first up to its share of [`MAX_PROGRAM_RECORDS`], and each
//! record turned into a [`performance::Record`] by the rules of `docs/indicators.md`
//! section 5 ("Where the records come from").

use chrono::NaiveDate;
use indicators::performance::{self, Date};

use super::super::sql::{Row, Sql, Value};
use super::super::{ListKind, Storage, StorageError};
use super::{Declaration, MAX_PROGRAM_RECORDS, PAGE};

/// A calendar day from text that starts `YYYY-MM-DD`.
fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn to_date(day: NaiveDate) -> Option<Date> {
    use chrono::Datelike;
    Date::new(day.year(), day.month(), day.day())
}

fn day_of(unix: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.date_naive())
}

/// An answer as text (a number's digits), when given and not empty.
fn answer_text(fields: &serde_json::Value, name: &str) -> Option<String> {
    match fields.get(name)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One stored record as the measures read it (the rules of `docs/indicators.md`
/// section 5, "Where the records come from"); `None` when it has no day at all.
fn to_record(
    d: &Declaration,
    row: &Row,
    today: NaiveDate,
) -> Result<Option<performance::Record<String>>, StorageError> {
    let kind: String = row.get(1)?;
    let family: Option<String> = row.get(2)?;
    let author: String = row.get(3)?;
    let created_at: i64 = row.get(4)?;
    let fields: serde_json::Value =
        serde_json::from_str(&row.get::<String>(5)?).unwrap_or_default();
    let followups: serde_json::Value =
        serde_json::from_str(&row.get::<String>(6)?).unwrap_or_default();
    // Prefixed so that a child named like a household id is not taken for it.
    let person = d
        .person_question
        .as_deref()
        .and_then(|q| answer_text(&fields, q))
        .map(|p| format!("answer:{p}"))
        .or_else(|| family.map(|f| format!("family:{f}")))
        .unwrap_or_else(|| format!("author:{author}"));
    let day = d
        .date_question
        .as_deref()
        .and_then(|q| answer_text(&fields, q))
        .and_then(|t| parse_day(&t))
        .or_else(|| day_of(created_at));
    let Some(date) = day.and_then(to_date) else {
        return Ok(None);
    };
    let answer = d
        .better_off_question
        .as_deref()
        .and_then(|q| answer_text(&fields, q))
        .and_then(|t| t.parse::<f64>().ok());
    let marks = followups.as_object();
    let done_at = |kind: &str| {
        marks
            .and_then(|m| m.get(&format!("{kind}_done_at")))
            .and_then(serde_json::Value::as_i64)
    };
    let due = answer_text(&fields, "followup_date");
    let (follow_up_completed, on_time) = match due {
        Some(due) => {
            let done = done_at("followup");
            let on_time = match (parse_day(&due), done.and_then(day_of)) {
                (Some(due), Some(done)) => Some(done <= due),
                (Some(due), None) => (due < today).then_some(false),
                (None, _) => None,
            };
            (Some(done.is_some()), on_time)
        }
        None => match marks.filter(|m| !m.is_empty()) {
            Some(m) => (Some(m.keys().any(|k| k.ends_with("_done_at"))), None),
            None => (None, None),
        },
    };
    Ok(Some(performance::Record {
        person,
        date,
        on_time,
        follow_up_completed,
        check_in: kind == "checkin",
        answer,
    }))
}

/// `AND ...` narrowing a form's records to a program: its own, or (when it is not
/// confidential) those of no program; the declared organization; the partnership.
fn program_conditions(
    code: &str,
    confidential: bool,
    d: &Declaration,
    partnership: Option<&str>,
    args: &mut Vec<Value>,
) -> String {
    args.push(code.into());
    let mut text = if confidential {
        format!(" AND program = ?{}", args.len())
    } else {
        format!(" AND (program = ?{} OR program IS NULL)", args.len())
    };
    if let Some(org) = &d.organization {
        args.push(org.into());
        text.push_str(&format!(" AND organization = ?{}", args.len()));
    }
    if let Some(p) = partnership {
        args.push(p.into());
        text.push_str(&format!(" AND partnership = ?{}", args.len()));
    }
    text
}

impl Storage {
    /// The records of program `code` as the measures read them (see
    /// `docs/indicators.md` section 5, "Where the records come from"): the records
    /// of the declared forms marked with the program, or with no program when the
    /// program is not confidential; of the declared organization; of `partnership`
    /// when given (the viewer's). `today` decides which open follow-ups are late.
    /// Each form is walked along `records_by_form` in pages; at most
    /// [`MAX_PROGRAM_RECORDS`] records are returned (see there).
    pub fn program_records(
        &self,
        code: &str,
        declaration: &Declaration,
        partnership: Option<&str>,
        today: NaiveDate,
    ) -> Result<Vec<performance::Record<String>>, StorageError> {
        let confidential = self
            .list_entries(ListKind::Program)?
            .iter()
            .find(|e| e.code == code)
            .is_some_and(|e| e.confidential);
        let share = MAX_PROGRAM_RECORDS / declaration.forms.len().max(1);
        let mut out = Vec::new();
        for form in &declaration.forms {
            // Newest first, so that the bound keeps the latest records; then back in
            // time order, which the measures' tie-breaking reads.
            let mut newest = Vec::new();
            let mut before: Option<(i64, String)> = None;
            'pages: loop {
                let rows = self.with_sql(|sql| {
                    program_page(
                        sql,
                        form,
                        before.as_ref(),
                        code,
                        confidential,
                        declaration,
                        partnership,
                    )
                })?;
                let full = rows.len() as i64 == PAGE;
                for row in &rows {
                    if newest.len() >= share {
                        tracing::warn!(
                            program = code,
                            form,
                            "a program's records reached the bound"
                        );
                        break 'pages;
                    }
                    if let Some(r) = to_record(declaration, row, today)? {
                        newest.push(r);
                    }
                }
                match rows.last() {
                    Some(last) if full => before = Some((last.get(4)?, last.get(0)?)),
                    _ => break,
                }
            }
            newest.reverse();
            out.append(&mut newest);
        }
        Ok(out)
    }
}

/// One page of a form's records of a program, newest first, before (created at, id).
fn program_page(
    sql: &dyn Sql,
    form: &str,
    before: Option<&(i64, String)>,
    code: &str,
    confidential: bool,
    declaration: &Declaration,
    partnership: Option<&str>,
) -> Result<Vec<Row>, StorageError> {
    // As for the exports: walk `records_by_form` in its order, the other conditions
    // behind the dialect's hint so that SQLite does not pick their indexes and sort.
    let hint = sql.dialect().walk_ordered_index();
    let mut args: Vec<Value> = vec![form.into()];
    let mut walk = "form_id = ?1".to_string();
    if let Some((created_at, id)) = before {
        args.push((*created_at).into());
        args.push(id.as_str().into());
        walk.push_str(" AND (created_at, id) < (?2, ?3)");
    }
    let conditions = program_conditions(code, confidential, declaration, partnership, &mut args);
    args.push(PAGE.into());
    let query = format!(
        "SELECT id, kind, family, created_by, created_at, fields, followups FROM records
         WHERE {walk} AND kind <> 'form' AND {hint}(TRUE{conditions})
         ORDER BY created_at DESC, id DESC LIMIT ?{}",
        args.len()
    );
    sql.rows(&query, &args)
}
