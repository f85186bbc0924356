//! Indicators as data: a universe (which children count in the denominator) and a
//! numerator (which of them meet the indicator), each a [`Condition`] over a
//! [`ChildRow`]'s answers. Adding an indicator is adding a value, not code.

use crate::ChildRow;

/// A condition on a child's answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The question has an answer.
    Answered(&'static str),
    /// The answer is one of these choices.
    In(&'static str, &'static [&'static str]),
    /// The question is answered, with none of these choices.
    AnsweredNotIn(&'static str, &'static [&'static str]),
    /// A `select_multiple` answer holds at least one of these choices.
    AnyOf(&'static str, &'static [&'static str]),
    /// A whole-number answer is below this.
    Below(&'static str, i64),
    /// Every one of these holds.
    All(Vec<Condition>),
}

impl Condition {
    /// Whether the child meets the condition.
    pub fn holds(&self, row: &ChildRow) -> bool {
        match self {
            Condition::Answered(q) => row.get(q).is_some_and(|v| !v.is_empty()),
            Condition::In(q, choices) => row.get(q).is_some_and(|v| choices.contains(&v)),
            Condition::AnsweredNotIn(q, choices) => row
                .get(q)
                .is_some_and(|v| !v.is_empty() && !choices.contains(&v)),
            Condition::AnyOf(q, choices) => row.choices(q).any(|c| choices.contains(&c)),
            Condition::Below(q, limit) => row.int(q).is_some_and(|v| v < *limit),
            Condition::All(all) => all.iter().all(|c| c.holds(row)),
        }
    }
}

/// One indicator: the share of its universe that meets its numerator.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// The id grantees publish (`G12`).
    pub id: &'static str,
    /// What it measures, for a person.
    pub title: &'static str,
    /// Who counts in the denominator.
    pub universe: Condition,
    /// Who of them counts in the numerator.
    pub numerator: Condition,
}

/// Grades before kindergarten.
pub const BEFORE_K: &[&str] = &["none", "prek"];
/// Kindergarten to grade 8.
pub const K_TO_8: &[&str] = &["k", "1", "2", "3", "4", "5", "6", "7", "8"];
/// High school.
pub const GRADES_9_TO_12: &[&str] = &["9", "10", "11", "12"];
/// Every school grade, kindergarten to 12.
pub const K_TO_12: &[&str] = &[
    "k", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
];

/// Birth to kindergarten entry, as the household survey asks it: not yet in
/// kindergarten and under 6.
fn birth_to_k() -> Condition {
    Condition::All(vec![
        Condition::In("grade", BEFORE_K),
        Condition::Below("age_years", 6),
    ])
}

/// Read to or reading three or more times a week.
const READ_OFTEN: &[&str] = &["three_plus", "daily"];

/// The six indicators the household survey feeds. Each universe holds the children of
/// its age range whose caregiver answered the indicator's question ("don't know" is an
/// answer, and counts against the indicator).
pub fn survey_indicators() -> Vec<Indicator> {
    let answered_in = |band: Condition, question: &'static str| {
        Condition::All(vec![band, Condition::Answered(question)])
    };
    vec![
        Indicator {
            id: "G1",
            title: "Children birth to kindergarten entry with a usual place, other than an emergency room, for care when sick or for health advice",
            universe: answered_in(birth_to_k(), "usual_place"),
            numerator: Condition::All(vec![
                Condition::In("usual_place", &["yes"]),
                Condition::AnsweredNotIn("place_type", &["er"]),
            ]),
        },
        Indicator {
            id: "G3",
            title: "Children birth to kindergarten entry in center-based or formal home-based early learning",
            universe: answered_in(birth_to_k(), "early_learning"),
            numerator: Condition::AnsweredNotIn("early_learning", &["none", "relative_care"]),
        },
        Indicator {
            id: "G12",
            title: "Children birth to kindergarten entry whose family members read to them three or more times a week",
            universe: answered_in(birth_to_k(), "read_times"),
            numerator: Condition::In("read_times", READ_OFTEN),
        },
        Indicator {
            id: "G13",
            title: "Children in kindergarten to grade 8 read to, or reading by themselves, three or more times a week",
            universe: answered_in(Condition::In("grade", K_TO_8), "read_times"),
            numerator: Condition::In("read_times", READ_OFTEN),
        },
        Indicator {
            id: "G14",
            title: "Children in grades 9 to 12 whose family members talk with them about the importance of college and career",
            universe: answered_in(Condition::In("grade", GRADES_9_TO_12), "college_talk"),
            numerator: Condition::In("college_talk", &["yes"]),
        },
        Indicator {
            id: "G15",
            title: "Students with broadband internet and a connected device at home",
            universe: Condition::In("grade", K_TO_12),
            numerator: Condition::All(vec![
                Condition::In("home_internet", &["yes"]),
                Condition::AnyOf("home_devices", &["computer", "tablet", "smartphone"]),
            ]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> ChildRow {
        ChildRow::from_pairs(pairs)
    }

    #[test]
    fn conditions_read_answers_as_the_instrument_gives_them() {
        let r = row(&[
            ("grade", "prek"),
            ("age_years", "4"),
            ("home_devices", "tablet none"),
        ]);
        assert!(birth_to_k().holds(&r));
        assert!(!birth_to_k().holds(&row(&[("grade", "prek"), ("age_years", "6")])));
        assert!(
            !birth_to_k().holds(&row(&[("grade", "prek")])),
            "no age: not counted"
        );
        assert!(Condition::AnyOf("home_devices", &["tablet"]).holds(&r));
        assert!(!Condition::AnyOf("home_devices", &["computer"]).holds(&r));
        assert!(!Condition::AnsweredNotIn("place_type", &["er"]).holds(&r));
        assert!(Condition::AnsweredNotIn("place_type", &["er"])
            .holds(&row(&[("place_type", "clinic")])));
    }

    #[test]
    fn an_emergency_room_is_not_a_usual_place() {
        let g1 = &survey_indicators()[0];
        let base = [
            ("grade", "none"),
            ("age_years", "2"),
            ("usual_place", "yes"),
        ];
        let with = |place: &str| {
            let mut r = row(&base);
            r.fields.insert("place_type".into(), place.into());
            r
        };
        assert!(g1.numerator.holds(&with("doctor_office")));
        assert!(!g1.numerator.holds(&with("er")));
        assert!(g1.universe.holds(&row(&[
            ("grade", "none"),
            ("age_years", "2"),
            ("usual_place", "dk")
        ])));
    }
}
