//! Partner programs' performance measures: what each program (an entry of the
//! managed program list) declares about its records, and (in [`records`]) those
//! records read as [`indicators::performance::Record`]s, which `indicators::performance::measures` turns into the
//! three questions of Results-Based Accountability (how much, how well, better off).
//!
//! A declaration is stored as JSON in `program_measures` (one row per program),
//! changed only in one audited transaction. The rules that turn a record into a
//! person, a day, a check-in, an answer and a follow-up are
//! `docs/indicators.md` section 5, "Where the records come from": keep both in step.

use std::collections::HashSet;

use indicators::performance::{PerformanceOptions, Period};
use indicators::trend::Direction;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::audit::{log, Act};
use super::lists::valid_code;
use super::sql::{args, Row};
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
}

mod records;
#[cfg(test)]
mod tests;
