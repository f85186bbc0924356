//! Partner programs' performance measures: what each program (an entry of the
//! managed program list) declares about its records, and those records read as
//! [`performance::Record`]s, which `indicators::performance::measures` turns into the
//! three questions of Results-Based Accountability (how much, how well, better off).
//!
//! A declaration is stored as JSON in `program_measures` (one row per program),
//! changed only in one audited transaction. The rules that turn a record into a
//! person, a day, a check-in, an answer and a follow-up are
//! `docs/indicators.md` section 5, "Where the records come from": keep both in step.

use std::collections::HashSet;

use chrono::NaiveDate;
use indicators::performance::{self, Date, PerformanceOptions, Period};
use indicators::trend::Direction;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::audit::{log, Act};
use super::lists::valid_code;
use super::sql::{args, Row, Sql, Value};
use super::{ListKind, Storage, StorageError};

/// The most forms (and the most indicators) one declaration names.
pub const MAX_DECLARED: usize = 20;

/// The most records one program's measures are computed from: each declared form gets
/// an equal share and keeps its newest records (the periods staff look at most). A
/// program that reaches it says so on its page. 200,000 records of about 100 bytes
/// each as held here is some 20 MB per request, at most.
pub const MAX_PROGRAM_RECORDS: usize = 200_000;

/// Records read per query while walking a form's records (`records_by_form` order).
const PAGE: i64 = 5_000;

/// The calendar periods a program's measures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodChoice {
    /// Calendar months.
    Month,
    /// Calendar quarters (the default: programs report quarterly).
    #[default]
    Quarter,
    /// Calendar years.
    Year,
}

impl PeriodChoice {
    /// Every choice, in the order a page offers them.
    pub const ALL: [PeriodChoice; 3] = [
        PeriodChoice::Month,
        PeriodChoice::Quarter,
        PeriodChoice::Year,
    ];

    /// The name URLs and the stored JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodChoice::Month => "month",
            PeriodChoice::Quarter => "quarter",
            PeriodChoice::Year => "year",
        }
    }

    /// The choice a name means, if any.
    pub fn parse(name: &str) -> Option<PeriodChoice> {
        PeriodChoice::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The computation's period.
    pub fn period(self) -> Period {
        match self {
            PeriodChoice::Month => Period::Month,
            PeriodChoice::Quarter => Period::Quarter,
            PeriodChoice::Year => Period::Year,
        }
    }
}

/// Which way of the better-off answer is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// More is better (reading days per week).
    #[default]
    Higher,
    /// Less is better (days absent).
    Lower,
}

impl Better {
    /// The computation's direction.
    pub fn direction(self) -> Direction {
        match self {
            Better::Higher => Direction::HigherIsBetter,
            Better::Lower => Direction::LowerIsBetter,
        }
    }
}

/// A "how well" measure a program may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HowWell {
    /// The share of people served on time.
    OnTime,
    /// The share of people with a follow-up completed.
    FollowUp,
    /// The share of parents with check-ins some weeks running.
    CheckIns,
}

impl HowWell {
    /// Every measure, in the order the pages show them.
    pub const ALL: [HowWell; 3] = [HowWell::OnTime, HowWell::FollowUp, HowWell::CheckIns];

    /// The name forms and the stored JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            HowWell::OnTime => "on_time",
            HowWell::FollowUp => "follow_up",
            HowWell::CheckIns => "check_ins",
        }
    }
}

fn all_how_well() -> Vec<HowWell> {
    HowWell::ALL.to_vec()
}

fn four() -> u32 {
    4
}

/// What a program declares about its measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    /// The forms whose records are the program's contacts (`case_note`,
    /// `literacy_checkin`).
    pub forms: Vec<String>,
    /// Only records of this organization, when set.
    #[serde(default)]
    pub organization: Option<String>,
    /// Months, quarters or years.
    #[serde(default)]
    pub period: PeriodChoice,
    /// The answer that names the person served (`participant`, `child`); without
    /// it, the record's family, else its author.
    #[serde(default)]
    pub person_question: Option<String>,
    /// The answer that gives the contact's day (`contact_date`, `week_of`); without
    /// it (or when it is not a date), the day the record was started.
    #[serde(default)]
    pub date_question: Option<String>,
    /// The numeric answer compared for "better off" (`read_days`).
    #[serde(default)]
    pub better_off_question: Option<String>,
    /// Which way of that answer is better.
    #[serde(default)]
    pub better: Better,
    /// How many calendar weeks running a parent checks in to count.
    #[serde(default = "four")]
    pub weeks_running: u32,
    /// The indicators the program contributes to (ids: `G12`).
    #[serde(default)]
    pub indicators: Vec<String>,
    /// The "how well" measures the program shows.
    #[serde(default = "all_how_well")]
    pub how_well: Vec<HowWell>,
}

impl Declaration {
    /// The computation's options at the pages' threshold, in `period` (the
    /// declared one unless a page asks for another).
    pub fn options(&self, period: PeriodChoice, min_cell: u64) -> PerformanceOptions {
        PerformanceOptions {
            period: period.period(),
            min_cell,
            better: self.better.direction(),
            weeks_running: self.weeks_running,
        }
    }

    /// Whether the program shows this "how well" measure.
    pub fn shows(&self, measure: HowWell) -> bool {
        self.how_well.contains(&measure)
    }
}

/// A stored declaration with who changed it last.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDeclaration {
    /// The program's code.
    pub program: String,
    /// What it declares.
    pub declaration: Declaration,
    /// Who saved it last (a user id).
    pub updated_by: String,
    /// When, unix seconds.
    pub updated_at: i64,
}

/// Why a declaration is refused; each says what to change.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DeclarationError {
    /// No form named.
    #[error("name at least one form whose records are the program's contacts")]
    NoForms,
    /// Too many forms or indicators.
    #[error("a program names at most {MAX_DECLARED} {0}")]
    TooMany(&'static str),
    /// A form this server does not have.
    #[error("there is no form `{0}` on this server")]
    UnknownForm(String),
    /// A form named twice.
    #[error("the form `{0}` is named twice")]
    RepeatedForm(String),
    /// An indicator the pages do not know.
    #[error("there is no indicator `{0}`")]
    UnknownIndicator(String),
    /// A question name that is not a form's field name.
    #[error("the {0} `{1}` is not a question name (letters, digits and _, starting with a letter or _, at most 64)")]
    BadQuestion(&'static str, String),
    /// An organization that is not on the organization list.
    #[error("`{0}` is not an entry of the organization list")]
    UnknownOrganization(String),
    /// A number of weeks out of range.
    #[error("weeks running is a number from 1 to 52")]
    BadWeeks,
    /// The code is not on the program list.
    #[error("the program is not an entry of the program list: `{0}`")]
    UnknownProgram(String),
}

impl From<DeclarationError> for StorageError {
    fn from(e: DeclarationError) -> Self {
        StorageError::Invalid(e.to_string())
    }
}

/// Whether `name` is shaped like a form's field name.
fn field_name(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=64).contains(&name.len())
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Check a declaration against the stored forms (`known_forms`); organizations and
/// the program itself are checked inside the saving transaction.
pub fn check_declaration(
    d: &Declaration,
    known_forms: &HashSet<String>,
) -> Result<(), DeclarationError> {
    if d.forms.is_empty() {
        return Err(DeclarationError::NoForms);
    }
    if d.forms.len() > MAX_DECLARED {
        return Err(DeclarationError::TooMany("forms"));
    }
    if d.indicators.len() > MAX_DECLARED {
        return Err(DeclarationError::TooMany("indicators"));
    }
    let mut seen = HashSet::new();
    for form in &d.forms {
        if !known_forms.contains(form) {
            return Err(DeclarationError::UnknownForm(form.clone()));
        }
        if !seen.insert(form) {
            return Err(DeclarationError::RepeatedForm(form.clone()));
        }
    }
    for id in &d.indicators {
        if crate::curves::find_indicator(id).is_none() {
            return Err(DeclarationError::UnknownIndicator(id.clone()));
        }
    }
    let questions = [
        ("person question", &d.person_question),
        ("date question", &d.date_question),
        ("better-off question", &d.better_off_question),
    ];
    for (what, q) in questions {
        if let Some(q) = q.as_ref().filter(|q| !field_name(q)) {
            return Err(DeclarationError::BadQuestion(what, q.clone()));
        }
    }
    if let Some(org) = d.organization.as_ref().filter(|o| !valid_code(o)) {
        return Err(DeclarationError::UnknownOrganization(org.clone()));
    }
    if !(1..=52).contains(&d.weeks_running) {
        return Err(DeclarationError::BadWeeks);
    }
    Ok(())
}

fn read_declaration(r: &Row) -> Result<StoredDeclaration, StorageError> {
    let program: String = r.get(0)?;
    let json: String = r.get(1)?;
    let declaration = serde_json::from_str(&json)
        .map_err(|e| StorageError::Corrupt(format!("declaration of program {program}: {e}")))?;
    Ok(StoredDeclaration {
        program,
        declaration,
        updated_by: r.get(2)?,
        updated_at: r.get(3)?,
    })
}

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
    /// Every program's declaration, by program code.
    pub fn program_declarations(&self) -> Result<Vec<StoredDeclaration>, StorageError> {
        self.with_sql(|sql| {
            sql.rows(
                "SELECT program, declaration, updated_by, updated_at FROM program_measures
                 ORDER BY program",
                &[],
            )?
            .iter()
            .map(read_declaration)
            .collect()
        })
    }

    /// One program's declaration, if it has one.
    pub fn program_declaration(
        &self,
        code: &str,
    ) -> Result<Option<StoredDeclaration>, StorageError> {
        self.with_sql(|sql| {
            sql.row(
                "SELECT program, declaration, updated_by, updated_at FROM program_measures
                 WHERE program = ?1",
                &args![code],
            )?
            .as_ref()
            .map(read_declaration)
            .transpose()
        })
    }

    /// Declare (or change) program `code`'s measures, logged as `act`, in one
    /// transaction; [`StorageError::Invalid`] saying what is wrong for a bad
    /// declaration or a code that is not on the program list.
    pub fn declare_program(
        &self,
        code: &str,
        declaration: &Declaration,
        act: &Act<'_>,
    ) -> Result<(), StorageError> {
        let known: HashSet<String> = self.form_ids()?.into_iter().map(|(id, _)| id).collect();
        check_declaration(declaration, &known)?;
        let json = serde_json::to_string(declaration)
            .map_err(|e| StorageError::Invalid(format!("the declaration: {e}")))?;
        let at = self.clock().now();
        self.transact(|sql| {
            let entry = |kind: ListKind, code: &str| -> Result<bool, StorageError> {
                Ok(sql
                    .row(
                        "SELECT 1 FROM managed_lists WHERE kind = ?1 AND code = ?2",
                        &args![kind.as_str(), code],
                    )?
                    .is_some())
            };
            if !entry(ListKind::Program, code)? {
                return Err(DeclarationError::UnknownProgram(code.to_string()).into());
            }
            if let Some(org) = &declaration.organization {
                if !entry(ListKind::Organization, org)? {
                    return Err(DeclarationError::UnknownOrganization(org.clone()).into());
                }
            }
            sql.execute(
                "INSERT INTO program_measures (program, declaration, updated_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (program) DO UPDATE SET declaration = excluded.declaration,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                &args![code, json.as_str(), act.actor.user_id.as_str(), at],
            )?;
            log(sql, act, at)
        })
    }

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

#[cfg(test)]
mod tests;
