//! Quantifiers (`any`, `all`, `none`) and `count` over the items a selection yields: the items of a
//! list in the document, or joined items of another evidence set.

use super::condition::{CmpOp, Condition, Quantifier, Selection};
use super::eval::{cmp_f64, eval, JoinLookup, Location, Node, Notes, Quiet, Truth};

/// Evaluates `kind` of `check` over the items `sel` yields from `node`.
///
/// The trace cites what decided the answer: the witness of `any`, the counterexamples of `all` and
/// `none`. When nothing decided (a passing `none` or `all`, a failing `any`), it cites what was
/// looked at. Items of a list in this document are judged quietly, and only those that decide, or
/// cannot be judged, are judged again to say where they are; a list that decides nothing is cited
/// whole (a passing `none` over `$.ipPermissions[*]` cites `ipPermissions`, not each permission).
pub(super) fn quantify<N: Notes>(
    kind: Quantifier,
    sel: &Selection,
    check: &Condition,
    node: &Node<'_>,
    joins: &dyn JoinLookup,
    trace: &mut N,
) -> Truth {
    let list = match sel {
        Selection::Path(q) if q.is_list() && N::CITES => Some(q),
        _ => None,
    };
    let decides = |t: Truth| match kind {
        Quantifier::All => t == Truth::False,
        Quantifier::Any | Quantifier::None => t == Truth::True,
    };
    // `deciding` keeps the trace of the items that decided the answer; `rest` everything else, used
    // when nothing decided.
    let mut deciding = N::default();
    let mut rest = N::default();
    let mut unknown = false;
    let (mut hits, mut misses) = (0usize, 0usize);
    let incomplete = for_each_item(sel, node, joins, true, &mut |item| {
        let mut t = N::default();
        let truth = if list.is_some() {
            let mut quiet = Quiet::default();
            match eval(check, item, joins, &mut quiet) {
                // Judged again, to say where.
                truth if truth == Truth::Unknown || decides(truth) => {
                    eval(check, item, joins, &mut t)
                }
                truth => {
                    t.add_records(&quiet.records);
                    truth
                }
            }
        } else {
            eval(check, item, joins, &mut t)
        };
        if matches!(sel, Selection::Join(_)) {
            t.record(item.origin.record);
        }
        match truth {
            Truth::Unknown => {
                unknown = true;
                rest.merge(t);
            }
            Truth::True => {
                hits += 1;
                if decides(truth) {
                    deciding.merge(t);
                    // The first witness settles `any`.
                    return kind != Quantifier::Any;
                }
                rest.merge(t);
            }
            Truth::False => {
                misses += 1;
                if decides(truth) {
                    deciding.merge(t);
                } else {
                    rest.merge(t);
                }
            }
        }
        true
    });
    if let Some(reason) = &incomplete {
        rest.unknown(reason.clone());
    }
    let unknown = unknown || incomplete.is_some();
    let truth = match kind {
        Quantifier::Any if hits > 0 => Truth::True,
        Quantifier::None if hits > 0 => Truth::False,
        Quantifier::All if misses > 0 => Truth::False,
        _ if unknown => Truth::Unknown,
        Quantifier::Any => Truth::False,
        Quantifier::None | Quantifier::All => Truth::True,
    };
    let decided = matches!(
        (truth, kind),
        (Truth::True, Quantifier::Any) | (Truth::False, Quantifier::None | Quantifier::All)
    );
    if !decided {
        if let Some(q) = list {
            if let Some(rel) = q.list(node.value) {
                trace.loc(node.location.child(q, &rel));
            }
        }
        trace.merge(rest);
    }
    trace.merge(deciding);
    truth
}

/// Evaluates `count` of the items `sel` yields from `node` (those passing `check`, when given).
pub(super) fn count<N: Notes>(
    sel: &Selection,
    check: Option<&Condition>,
    op: CmpOp,
    n: f64,
    node: &Node<'_>,
    joins: &dyn JoinLookup,
    trace: &mut N,
) -> Truth {
    let mut counted = 0f64;
    let mut unknown = false;
    // Counting every item reads none of them.
    let incomplete = for_each_item(sel, node, joins, check.is_some(), &mut |item| {
        let mut t = N::default();
        let truth = match check {
            Some(c) => eval(c, item, joins, &mut t),
            None => {
                t.loc_with(|| item.location.render());
                Truth::True
            }
        };
        if matches!(sel, Selection::Join(_)) {
            t.record(item.origin.record);
        }
        match truth {
            Truth::True => {
                counted += 1.0;
                trace.merge(t);
            }
            Truth::Unknown => {
                unknown = true;
                trace.merge(t);
            }
            Truth::False => {}
        }
        true
    });
    if let Some(r) = incomplete {
        trace.unknown(r);
        return Truth::Unknown;
    }
    if unknown {
        return Truth::Unknown;
    }
    Truth::from_bool(cmp_f64(counted, op, n))
}

/// Calls `f` with each item `sel` yields from `node`, until it returns false. Gives the reason the
/// items may be incomplete (a joined probe failed where it mattered). When `f` reads no item's value
/// (`reads` false), joined items may be given as `null` rather than read.
fn for_each_item(
    sel: &Selection,
    node: &Node<'_>,
    joins: &dyn JoinLookup,
    reads: bool,
    f: &mut dyn FnMut(&Node<'_>) -> bool,
) -> Option<String> {
    match sel {
        Selection::Path(q) => {
            q.try_for_each_rel(node.value, |v, rel| {
                f(&Node {
                    value: v,
                    location: Location::Under {
                        parent: &node.location,
                        query: q,
                        rel,
                    },
                    origin: node.origin,
                })
            });
            None
        }
        Selection::Join(j) => {
            let mut incomplete = None;
            let mut any = false;
            let mut going = true;
            for k in j.equals.values(node.value, &node.origin.keys()) {
                let why = joins.lookup(j, &k, node.origin.region, reads, &mut |it| {
                    any = true;
                    // Joined items keep their own record, region and parameters, but `resource.`
                    // still means the resource being judged.
                    let mut item = it.clone();
                    item.origin.resource = node.origin.resource;
                    going = f(&item);
                    going
                });
                incomplete = incomplete.or(why);
                if !going {
                    break;
                }
            }
            if !any && incomplete.is_none() {
                // No key on this node means nothing can match; still ask for the probe's health.
                incomplete = joins.lookup(j, "\u{0}", node.origin.region, false, &mut |_| true);
            }
            incomplete
        }
    }
}
