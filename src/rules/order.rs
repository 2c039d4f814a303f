//! The order an `all_of` or `any_of` tries its conditions in when nothing is cited.
//!
//! Judged for a citation, a group's conditions run in the order written, so the trace says what
//! the rule author would expect. Judged quietly (the items a quantifier passes over; see
//! [`super::eval::Quiet`]), nothing of the order can be seen: `and` and `or` over three values give
//! the same answer in any order, and a quiet trace keeps no locations. So there a group tries its
//! cheap conditions first and stops sooner, e.g. a security group rule's ports (three fields) before
//! whether any of its address ranges is open to the internet (two lists). Conditions reading other
//! evidence (joins) stay where they were written: which joined records a resource used is cited.

use super::condition::{Condition, Selection};

/// The conditions of an `all_of` or `any_of`.
#[derive(Debug, Clone)]
pub struct Group {
    /// As written.
    pub items: Vec<Condition>,
    /// Positions in `items`, in the order to try them when judging quietly.
    pub quiet_order: Vec<usize>,
}

impl Group {
    pub fn new(items: Vec<Condition>) -> Self {
        let mut quiet_order: Vec<usize> = (0..items.len()).collect();
        // Each run of conditions that read no joins is sorted by cost (stable: ties keep their order).
        for run in
            quiet_order.chunk_by_mut(|a, b| !reads_joins(&items[*a]) && !reads_joins(&items[*b]))
        {
            if !reads_joins(&items[run[0]]) {
                run.sort_by_key(|&i| cost(&items[i]));
            }
        }
        Group { items, quiet_order }
    }
}

/// A rough cost of judging `c`: fields read, counting an assumed eight items per list.
pub fn cost(c: &Condition) -> u32 {
    const ITEMS: u32 = 8;
    match c {
        Condition::Compare { .. }
        | Condition::In { .. }
        | Condition::Contains { .. }
        | Condition::Matches { .. }
        | Condition::Exists { .. }
        | Condition::SameAs { .. }
        | Condition::AnyAddress { .. }
        | Condition::OtherAccount { .. }
        | Condition::InScope { .. }
        | Condition::PrefixOverlaps(_) => 1,
        Condition::Ip { .. } => 2,
        Condition::Decode { check, .. } => 20 + cost(check),
        Condition::Ports { .. } => 3,
        Condition::Admits { .. } => 6 * ITEMS,
        Condition::AllOf(g) | Condition::AnyOf(g) => g.items.iter().map(cost).sum(),
        Condition::Not(c) => cost(c),
        Condition::Quant { sel, check, .. } => selection_cost(sel) + ITEMS * cost(check),
        Condition::Count { sel, check, .. } => {
            selection_cost(sel) + ITEMS * check.as_deref().map_or(0, cost)
        }
    }
}

fn selection_cost(sel: &Selection) -> u32 {
    match sel {
        Selection::Path(_) => 1,
        // Not ordered (see `reads_joins`); a lookup is dearer than a field.
        Selection::Join(_) => 4,
    }
}

/// Whether judging `c` can read another probe's evidence.
pub fn reads_joins(c: &Condition) -> bool {
    match c {
        Condition::AllOf(g) | Condition::AnyOf(g) => g.items.iter().any(reads_joins),
        Condition::Not(c) | Condition::Decode { check: c, .. } => reads_joins(c),
        Condition::Quant { sel, check, .. } => {
            matches!(sel, Selection::Join(_)) || reads_joins(check)
        }
        Condition::Count { sel, check, .. } => {
            matches!(sel, Selection::Join(_)) || check.as_deref().is_some_and(reads_joins)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::condition::{compile, ConditionSpec};

    fn group(text: &str) -> Group {
        #[derive(serde::Deserialize)]
        struct Wrap {
            c: toml::Spanned<ConditionSpec>,
        }
        let w: Wrap = toml::from_str(&format!("c = {text}")).unwrap();
        match compile(&w.c, &mut Vec::new()).unwrap() {
            Condition::AllOf(g) | Condition::AnyOf(g) => g,
            other => panic!("not a group: {other:?}"),
        }
    }

    #[test]
    fn cheap_conditions_first_and_joins_where_written() {
        let g = group(
            r#"{ all_of = [
                { any = "$.ranges[*]", check = { path = "$.cidr", any_address = true } },
                { ports = { overlap = [22] } },
                { path = "$.a", eq = 1 },
                { count = { join = "t.svc.b", on = "$.id", equals = "$.id" }, ge = 1 },
                { any = "$.b[*]", check = { path = "$.x", eq = 1 } },
                { path = "$.c", eq = 1 },
            ] }"#,
        );
        assert_eq!(g.quiet_order, [2, 1, 0, 3, 5, 4]);
    }
}
