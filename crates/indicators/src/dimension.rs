//! The disaggregations: every child falls in exactly one category of each, so a
//! table's cells add up to its total (which is what lets suppression reason about
//! what a hidden cell would reveal).

use crate::definition::{BEFORE_K, GRADES_9_TO_12};
use crate::ChildRow;

/// A way to split an indicator's universe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The federal roll-up of 1997 in seven categories: Hispanic or Latino of any
    /// race; else one race alone; else two or more races. Middle Eastern or North
    /// African answers count as White, as that standard defines them.
    RaceEthnicity,
    /// The combined question of 2024: as above, with Middle Eastern or North African
    /// its own category.
    RaceEthnicity2024,
    /// The household's home language.
    HomeLanguage,
    /// The household's neighborhood.
    Neighborhood,
    /// 0-2, 3 to kindergarten entry, K-3, 4-8, 9-12.
    AgeBand,
}

/// The category for a child who did not answer, or refused.
pub const NOT_REPORTED: &str = "Not reported";

impl Dimension {
    /// Every dimension, in the order pages show them.
    pub const ALL: [Dimension; 5] = [
        Dimension::RaceEthnicity,
        Dimension::RaceEthnicity2024,
        Dimension::HomeLanguage,
        Dimension::Neighborhood,
        Dimension::AgeBand,
    ];

    /// Its name, for a person.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::RaceEthnicity => "Race and ethnicity (1997 categories)",
            Dimension::RaceEthnicity2024 => "Race and ethnicity (2024 categories)",
            Dimension::HomeLanguage => "Home language",
            Dimension::Neighborhood => "Neighborhood",
            Dimension::AgeBand => "Age band",
        }
    }

    /// The child's category.
    pub fn category(self, row: &ChildRow) -> String {
        match self {
            Dimension::RaceEthnicity => race_ethnicity(row, false),
            Dimension::RaceEthnicity2024 => race_ethnicity(row, true),
            Dimension::HomeLanguage => row.get("home_language").map_or_else(
                || NOT_REPORTED.to_string(),
                |code| language(code).to_string(),
            ),
            Dimension::Neighborhood => row
                .neighborhood
                .clone()
                .unwrap_or_else(|| NOT_REPORTED.to_string()),
            Dimension::AgeBand => age_band(row).to_string(),
        }
    }
}

fn language(code: &str) -> &str {
    match code {
        "en" => "English",
        "es" => "Spanish",
        "vi" => "Vietnamese",
        "ar" => "Arabic",
        "so" => "Somali",
        "other" => "Other",
        other => other,
    }
}

fn race_ethnicity(row: &ChildRow, mena_apart: bool) -> String {
    if row.get("hispanic") == Some("yes") {
        return "Hispanic or Latino".into();
    }
    let mut races: Vec<&str> = row
        .choices("race")
        .filter(|r| *r != "refuse")
        .map(|r| match r {
            "aian" => "American Indian or Alaska Native",
            "asian" => "Asian",
            "black" => "Black or African American",
            "nhpi" => "Native Hawaiian or Pacific Islander",
            "white" => "White",
            "mena" if mena_apart => "Middle Eastern or North African",
            "mena" => "White",
            other => other,
        })
        .collect();
    races.sort_unstable();
    races.dedup();
    match races.as_slice() {
        [] => NOT_REPORTED.into(),
        [one] => (*one).into(),
        _ => "Two or more races".into(),
    }
}

fn age_band(row: &ChildRow) -> &'static str {
    let grade = row.get("grade").unwrap_or("");
    let age = row.int("age_years");
    if BEFORE_K.contains(&grade) {
        return match age {
            Some(a) if a <= 2 => "0-2",
            Some(a) if a < 6 => "3 to kindergarten entry",
            _ => NOT_REPORTED,
        };
    }
    match grade {
        "k" | "1" | "2" | "3" => "K-3",
        "4" | "5" | "6" | "7" | "8" => "4-8",
        g if GRADES_9_TO_12.contains(&g) => "9-12",
        _ => NOT_REPORTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> ChildRow {
        ChildRow::from_pairs(pairs)
    }

    #[test]
    fn race_and_ethnicity_roll_up() {
        let cat = |pairs: &[(&str, &str)]| Dimension::RaceEthnicity.category(&row(pairs));
        let cat24 = |pairs: &[(&str, &str)]| Dimension::RaceEthnicity2024.category(&row(pairs));
        assert_eq!(
            cat(&[("hispanic", "yes"), ("race", "black")]),
            "Hispanic or Latino"
        );
        assert_eq!(
            cat(&[("hispanic", "no"), ("race", "black")]),
            "Black or African American"
        );
        assert_eq!(
            cat(&[("hispanic", "no"), ("race", "asian white")]),
            "Two or more races"
        );
        assert_eq!(
            cat(&[("hispanic", "no"), ("race", "white refuse")]),
            "White"
        );
        assert_eq!(
            cat(&[("hispanic", "refuse"), ("race", "refuse")]),
            NOT_REPORTED
        );
        assert_eq!(cat(&[]), NOT_REPORTED);
        assert_eq!(cat(&[("race", "mena white")]), "White");
        assert_eq!(
            cat24(&[("race", "mena")]),
            "Middle Eastern or North African"
        );
        assert_eq!(cat24(&[("race", "mena white")]), "Two or more races");
    }

    #[test]
    fn age_bands_follow_grade_then_age() {
        let band = |pairs: &[(&str, &str)]| Dimension::AgeBand.category(&row(pairs));
        assert_eq!(band(&[("grade", "none"), ("age_years", "1")]), "0-2");
        assert_eq!(
            band(&[("grade", "prek"), ("age_years", "4")]),
            "3 to kindergarten entry"
        );
        assert_eq!(band(&[("grade", "k"), ("age_years", "5")]), "K-3");
        assert_eq!(band(&[("grade", "8")]), "4-8");
        assert_eq!(band(&[("grade", "12")]), "9-12");
        assert_eq!(
            band(&[("grade", "none"), ("age_years", "17")]),
            NOT_REPORTED
        );
    }
}
