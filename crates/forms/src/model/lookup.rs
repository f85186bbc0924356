//! Lookups on a [`CompiledForm`]: items by name, choice lists, defaults.

use super::compile::{Node, NodeKind};
use super::{Choice, CompiledForm, Form, Question};
use crate::{Answer, Answers};

impl CompiledForm {
    /// The form definition this was compiled from.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// Give back the form definition.
    pub fn into_form(self) -> Form {
        self.form
    }

    /// The question with this name.
    pub fn question(&self, name: &str) -> Option<&Question> {
        self.node(name)?.question.as_ref()
    }

    /// What kind of item has this name (`None` when no item does).
    pub fn kind(&self, name: &str) -> Option<NodeKind> {
        Some(self.node(name)?.kind)
    }

    /// The innermost repeat group the named item is inside, if any.
    pub fn repeat_of(&self, name: &str) -> Option<&str> {
        let r = self.node(name)?.repeat?;
        Some(&self.nodes[r].name)
    }

    /// The repeat groups the named item is inside, outermost first (empty at top level).
    pub fn repeat_path(&self, name: &str) -> Vec<&str> {
        let mut path = Vec::new();
        let mut at = self.node(name).and_then(|n| n.repeat);
        while let Some(r) = at {
            path.push(self.nodes[r].name.as_str());
            at = self.nodes[r].repeat;
        }
        path.reverse();
        path
    }

    /// Names of all items (questions, groups, repeats), in document order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.iter().map(|n| n.name.as_str())
    }

    /// The choices of a choice list.
    ///
    /// A list that is an attached file (`fruits.csv`) gives the file's rows as choices.
    pub fn choices(&self, list: &str) -> Option<&[Choice]> {
        self.form
            .choices
            .get(list)
            .or_else(|| self.file_choices.get(list))
            .map(Vec::as_slice)
    }

    /// The names of the attached data files the form uses (selects from a file,
    /// `pulldata()`, `instance()` lookups), in the order of [`Form::data_files`].
    pub fn files_used(&self) -> &[String] {
        &self.files_used
    }

    /// The table `pulldata()` and `instance()` read under `name`.
    pub(crate) fn table(&self, name: &str) -> Option<&crate::model::DataFile> {
        self.tables.get(name).map(|t| t.data(&self.form))
    }

    /// The label of a choice in `lang` (falling back to the default language).
    pub fn choice_label(&self, list: &str, choice: &str, lang: &str) -> Option<&str> {
        self.choices(list)?
            .iter()
            .find(|c| c.name == choice)?
            .label
            .get(lang, &self.form.default_language)
    }

    /// The answers a new response starts with: the `default` of every top-level question
    /// (repeat instances start from [`CompiledForm::new_instance`]).
    pub fn defaults(&self) -> Answers {
        self.defaults_of(&self.roots)
    }

    /// The answers a new instance of the named repeat starts with (empty when `repeat`
    /// is not a repeat).
    pub fn new_instance(&self, repeat: &str) -> Answers {
        match self.node(repeat) {
            Some(n) if n.kind == NodeKind::Repeat => self.defaults_of(&n.children),
            _ => Answers::new(),
        }
    }

    fn defaults_of(&self, ids: &[usize]) -> Answers {
        let mut out = Answers::new();
        for &id in ids {
            let node = &self.nodes[id];
            match node.kind {
                NodeKind::Group => {
                    for (k, v) in self.defaults_of(&node.children).0 {
                        out.0.insert(k, v);
                    }
                }
                NodeKind::Repeat => {}
                NodeKind::Question => {
                    if let Some(v) = node.question.as_ref().and_then(|q| q.default.clone()) {
                        out.0.insert(node.name.clone(), Answer::Value(v));
                    }
                }
            }
        }
        out
    }

    pub(crate) fn node(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).map(|&id| &self.nodes[id])
    }
}
