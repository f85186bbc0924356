//! A form's items as a flat list of nodes in document order, each knowing its parent
//! repeat: what the compiled form and the validation walk index by node id.

use super::{Node, NodeKind};
use crate::model::Item;

/// Append `item` and its descendants in document order; returns the item's node id.
pub(super) fn flatten(item: &Item, repeat: Option<usize>, nodes: &mut Vec<Node>) -> usize {
    let id = nodes.len();
    let (kind, question, label, hint, relevant_src, repeat_count_src) = match item {
        Item::Question(q) => (
            NodeKind::Question,
            Some(q.clone()),
            q.label.clone(),
            q.hint.clone(),
            q.relevant.clone(),
            None,
        ),
        Item::Group(g) => (
            NodeKind::Group,
            None,
            g.label.clone(),
            g.hint.clone(),
            g.relevant.clone(),
            None,
        ),
        Item::Repeat(r) => (
            NodeKind::Repeat,
            None,
            r.label.clone(),
            r.hint.clone(),
            r.relevant.clone(),
            r.repeat_count.clone(),
        ),
    };
    nodes.push(Node {
        name: item.name().to_string(),
        kind,
        question,
        label,
        hint,
        relevant: None,
        constraint: None,
        calculation: None,
        repeat_count: None,
        choice_filter: None,
        dynamic_list: None,
        required_if: None,
        read_only_if: None,
        range: None,
        relevant_src,
        repeat_count_src,
        children: Vec::new(),
        repeat,
    });
    let inner = if kind == NodeKind::Repeat {
        Some(id)
    } else {
        repeat
    };
    for child in item.items() {
        let c = flatten(child, inner, nodes);
        nodes[id].children.push(c);
    }
    id
}
