//! What changed between two states of a response's screen: what a binding that crosses a
//! boundary after every answer (the browser's worker to its page) sends instead of the
//! whole [`ResponseView`]. An answer changes a few questions' states (its own, the ones
//! whose relevance, labels or calculations read it); the view has every question.

use super::types::{QuestionState, ResponseView};

/// The difference between a view of a response and a later view of it: the later view's
/// header, and its questions that are new or differ from the earlier view's at the same
/// place. Put into the earlier view at their places (the page's `withChanges` in
/// `mobile/web/survey.js`), they give the later view back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ViewChanges {
    /// The record id.
    pub id: String,
    /// The form answered.
    pub form_id: String,
    /// Its version.
    pub form_version: u32,
    /// Whether it was finalized.
    pub finalized: bool,
    /// How many items the later view has (the earlier view's beyond it are gone).
    pub question_count: u32,
    /// The items that differ, in document order, each with its place.
    pub changed: Vec<ChangedQuestion>,
    /// As [`ResponseView::error_count`].
    pub error_count: u32,
    /// As [`ResponseView::other_errors`].
    pub other_errors: Vec<String>,
}

/// One item of a [`ViewChanges`]: its place in [`ResponseView::questions`] and its state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangedQuestion {
    /// Its 0-based place in the view's items.
    pub index: u32,
    /// Its state now.
    pub question: QuestionState,
}

impl ResponseView {
    /// What changed since `earlier`; `None` when `earlier` is a view of another response
    /// (or of another version of the form), which no change can turn into this one.
    pub fn changes_since(&self, earlier: &ResponseView) -> Option<ViewChanges> {
        if earlier.id != self.id
            || earlier.form_id != self.form_id
            || earlier.form_version != self.form_version
        {
            return None;
        }
        let changed = self
            .questions
            .iter()
            .enumerate()
            .filter(|(i, q)| earlier.questions.get(*i) != Some(*q))
            .map(|(i, q)| ChangedQuestion {
                index: i as u32,
                question: q.clone(),
            })
            .collect();
        Some(ViewChanges {
            id: self.id.clone(),
            form_id: self.form_id.clone(),
            form_version: self.form_version,
            finalized: self.finalized,
            question_count: self.questions.len() as u32,
            changed,
            error_count: self.error_count,
            other_errors: self.other_errors.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::app::AnswerValue;

    /// The later view, from the earlier view `changes` were taken against: what the
    /// page's `withChanges` (`mobile/web/survey.js`) does.
    fn apply(changes: ViewChanges, earlier: &ResponseView) -> ResponseView {
        let mut questions: Vec<Option<QuestionState>> = earlier
            .questions
            .iter()
            .take(changes.question_count as usize)
            .cloned()
            .map(Some)
            .collect();
        questions.resize(changes.question_count as usize, None);
        for c in changes.changed {
            if let Some(slot) = questions.get_mut(c.index as usize) {
                *slot = Some(c.question);
            }
        }
        ResponseView {
            id: changes.id,
            form_id: changes.form_id,
            form_version: changes.form_version,
            finalized: changes.finalized,
            // Every place past the earlier view's end is among the changes.
            questions: questions.into_iter().flatten().collect(),
            error_count: changes.error_count,
            other_errors: changes.other_errors,
        }
    }

    fn question(path: &str, value: Option<i64>, relevant: bool) -> QuestionState {
        QuestionState {
            path: path.into(),
            name: path.into(),
            kind: "question".into(),
            question_type: "integer".into(),
            shown: true,
            appearance: None,
            hint: None,
            parent: None,
            screen: path.into(),
            parameters: None,
            range: None,
            label: format!("About {path}"),
            relevant,
            required: false,
            read_only: false,
            value: value.map(|value| AnswerValue::Int { value }),
            error: None,
            choices: Vec::new(),
        }
    }

    fn view(questions: Vec<QuestionState>) -> ResponseView {
        ResponseView {
            id: "r1".into(),
            form_id: "f".into(),
            form_version: 1,
            finalized: false,
            questions,
            error_count: 0,
            other_errors: Vec::new(),
        }
    }

    #[test]
    fn an_answer_sends_the_questions_it_changed_only() {
        let before = view(
            (0..60)
                .map(|i| question(&format!("q{i}"), None, i % 2 == 0))
                .collect(),
        );
        let mut after = before.clone();
        after.questions[4].value = Some(AnswerValue::Int { value: 12 });
        after.questions[5].relevant = true;
        after.error_count = 1;
        let changes = after.changes_since(&before).unwrap();
        let places: Vec<u32> = changes.changed.iter().map(|c| c.index).collect();
        assert_eq!(places, [4, 5]);
        assert_eq!(changes.question_count, 60);
        assert_eq!(changes.error_count, 1);
        assert_eq!(apply(changes, &before), after);
    }

    #[test]
    fn a_view_of_another_response_or_version_has_no_changes_against_it() {
        let before = view(vec![question("a", None, true)]);
        let mut other = before.clone();
        other.id = "r2".into();
        assert!(other.changes_since(&before).is_none());
        let mut newer = before.clone();
        newer.form_version = 2;
        assert!(newer.changes_since(&before).is_none());
    }

    fn arb_view() -> impl Strategy<Value = ResponseView> {
        prop::collection::vec((0..6usize, prop::option::of(0..3i64), any::<bool>()), 0..12)
            .prop_map(|items| {
                view(
                    items
                        .into_iter()
                        .map(|(p, v, r)| question(&format!("q{p}"), v, r))
                        .collect(),
                )
            })
    }

    proptest! {
        /// Whatever the two views (repeats added or gone, questions moved), the changes
        /// rebuild the later view exactly from the earlier one.
        #[test]
        fn changes_rebuild_the_later_view(before in arb_view(), after in arb_view()) {
            let changes = after.changes_since(&before).unwrap();
            prop_assert!(changes.changed.len() <= after.questions.len());
            prop_assert_eq!(apply(changes, &before), after);
        }
    }
}
