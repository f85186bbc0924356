//! The kinds of record.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a record is. Fixed when the record is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A household enrolled by an outreach worker.
    Household,
    /// A person: a child or a caregiver, member of a household.
    Person,
    /// A survey response (for instance the household survey).
    Response,
    /// A parent's weekly early-literacy check-in.
    Checkin,
    /// A case note or engagement written by partner staff.
    CaseNote,
    /// A form definition.
    Form,
}

impl RecordKind {
    /// Every kind, in a stable order.
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Household,
        RecordKind::Person,
        RecordKind::Response,
        RecordKind::Checkin,
        RecordKind::CaseNote,
        RecordKind::Form,
    ];

    /// The kind's name as stored (`household`, `case_note`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Household => "household",
            RecordKind::Person => "person",
            RecordKind::Response => "response",
            RecordKind::Checkin => "checkin",
            RecordKind::CaseNote => "case_note",
            RecordKind::Form => "form",
        }
    }

    /// Whether records of this kind must name the form they answer.
    pub fn needs_form(self) -> bool {
        matches!(
            self,
            RecordKind::Response | RecordKind::Checkin | RecordKind::CaseNote
        )
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error when a stored kind name is not one this code knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown record kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for RecordKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(kind));
        }
        assert_eq!(
            "visit".parse::<RecordKind>(),
            Err(UnknownKind("visit".into()))
        );
    }
}
