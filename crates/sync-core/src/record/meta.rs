//! Immutable record metadata: kind, id, scope, form, creator.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RecordKind;

/// Where a record belongs, which decides who may see it.
///
/// Every record belongs to a partnership; the narrower levels are optional. A parent
/// sees their `family`; an outreach worker their `neighborhood`s; partner staff their
/// `organization` (and a confidential `program` only when they work in it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Scope {
    /// The partnership (Promise Neighborhood, StriveTogether network).
    pub partnership: String,
    /// The partner organization that owns the record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The neighborhood (or census block group) the record belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighborhood: Option<String>,
    /// The family (household id) the record belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// A confidential program whose staff alone may see the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
}

impl Scope {
    /// A scope at partnership level.
    pub fn partnership(id: impl Into<String>) -> Self {
        Scope {
            partnership: id.into(),
            ..Scope::default()
        }
    }

    /// The same scope narrowed to an organization.
    pub fn with_organization(mut self, id: impl Into<String>) -> Self {
        self.organization = Some(id.into());
        self
    }

    /// The same scope narrowed to a neighborhood.
    pub fn with_neighborhood(mut self, id: impl Into<String>) -> Self {
        self.neighborhood = Some(id.into());
        self
    }

    /// The same scope narrowed to a family.
    pub fn with_family(mut self, id: impl Into<String>) -> Self {
        self.family = Some(id.into());
        self
    }

    /// The same scope narrowed to a confidential program.
    pub fn with_program(mut self, id: impl Into<String>) -> Self {
        self.program = Some(id.into());
        self
    }

    /// Whether a record in `other` falls within this scope: every level this scope
    /// names must match; levels it leaves open match anything, except the program. A
    /// record of a (confidential) program falls only within scopes that name that
    /// program: staff of an organization do not see its confidential programs' records
    /// unless they are that program's staff.
    pub fn contains(&self, other: &Scope) -> bool {
        fn level(mine: &Option<String>, theirs: &Option<String>) -> bool {
            mine.is_none() || mine == theirs
        }
        self.partnership == other.partnership
            && level(&self.organization, &other.organization)
            && level(&self.neighborhood, &other.neighborhood)
            && level(&self.family, &other.family)
            && self.program == other.program
    }
}

/// The form (and its version) a response, check-in or case note answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormRef {
    /// The form id (`household_survey`).
    pub id: String,
    /// The form version the record was started on; it keeps it for life.
    pub version: u32,
}

/// Metadata fixed when a record is created. A change that alters it is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// What the record is.
    pub kind: RecordKind,
    /// Its id.
    pub id: Uuid,
    /// Where it belongs.
    pub scope: Scope,
    /// The form it answers, for responses, check-ins and case notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormRef>,
    /// The user who created it.
    pub created_by: String,
    /// When it was created, unix seconds.
    pub created_at: i64,
}
