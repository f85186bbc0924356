//! XLSForm's `or_other` (`select_one colours or_other`), spelled out as the reference
//! converter does it: the list gets an `other` choice and the select is followed by a
//! text question `<name>_other`, asked when `other` is selected.

use std::collections::BTreeMap;

use super::{Choice, Labels, Question, QuestionType};

/// The name of the choice `or_other` adds.
pub const OR_OTHER_CHOICE: &str = "other";

/// Spell out `or_other` on a select: add the `other` choice to its list when the list
/// lacks it (labelled "Other" in every language the list's labels use, as pyxform does)
/// and give the text question to place right after the select: `<name>_other`,
/// labelled "Specify other.", relevant when `other` is selected.
///
/// An error (in English, for the reader's row and column) when the question is not a
/// `select_one` / `select_multiple` or its list does not exist.
pub fn or_other(
    select: &Question,
    choices: &mut BTreeMap<String, Vec<Choice>>,
) -> Result<Question, String> {
    let list = match &select.qtype {
        QuestionType::SelectOne(l) | QuestionType::SelectMultiple(l) => l,
        other => {
            return Err(format!(
                "`or_other` is only for selects, not `{}`",
                other.name()
            ))
        }
    };
    if select.choice_filter.is_some() {
        // pyxform refuses it too: the filter would hide the added choice.
        return Err("`or_other` cannot be combined with a choice_filter".into());
    }
    let Some(list_choices) = choices.get_mut(list) else {
        return Err(format!("`or_other` on an unknown choice list `{list}`"));
    };
    if !list_choices.iter().any(|c| c.name == OR_OTHER_CHOICE) {
        let mut codes: Vec<&str> = list_choices
            .iter()
            .flat_map(|c| c.label.0.keys().map(String::as_str))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            codes.push("");
        }
        let label = Labels::from_pairs(codes.into_iter().map(|c| (c, "Other")));
        list_choices.push(Choice {
            name: OR_OTHER_CHOICE.into(),
            label,
            columns: BTreeMap::new(),
        });
    }
    let mut text = Question::new(format!("{}_other", select.name), QuestionType::Text);
    text.label = Labels::from_pairs([("", "Specify other.")]);
    text.relevant = Some(format!(
        "selected(${{{}}}, '{OR_OTHER_CHOICE}')",
        select.name
    ));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_choice_once_and_the_text_question() {
        let mut choices = BTreeMap::from([(
            "colour".to_string(),
            vec![Choice {
                name: "red".into(),
                label: Labels::from_pairs([("en", "Red"), ("es", "Rojo")]),
                columns: BTreeMap::new(),
            }],
        )]);
        let q = Question::new("fav", QuestionType::SelectOne("colour".into()));
        let text = or_other(&q, &mut choices).unwrap();
        assert_eq!(text.name, "fav_other");
        assert_eq!(text.relevant.as_deref(), Some("selected(${fav}, 'other')"));
        let other = &choices["colour"][1];
        assert_eq!(other.name, "other");
        assert_eq!(other.label.exact("es"), Some("Other"));
        or_other(&q, &mut choices).unwrap();
        assert_eq!(choices["colour"].len(), 2);
        let int = Question::new("n", QuestionType::Integer);
        assert!(or_other(&int, &mut choices).is_err());
        let missing = Question::new("m", QuestionType::SelectOne("nope".into()));
        assert!(or_other(&missing, &mut choices).is_err());
    }
}
