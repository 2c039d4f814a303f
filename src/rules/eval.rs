//! Evaluating compiled conditions on a node, with three-valued logic.
//!
//! A condition is `True`, `False` or `Unknown` (evidence it needed could not be read). `Unknown` never
//! becomes a pass: quantifiers and logic follow Kleene's rules, so a result is definite only when the
//! unread evidence could not have changed it.

use super::condition::{CmpOp, Condition, Join, PortSpan, PortWant, Quantifier, Selection};
use super::path::{KeyExpr, Operand, Query};
use serde_json::Value;

/// Three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
    fn not(self) -> Self {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Where a node came from: the evidence record and its request context.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Index of the record in the manifest.
    pub record: usize,
    pub region: &'a str,
    pub account: &'a str,
    pub params: &'a crate::pack::Params,
    /// The resource the rule is judging (kept when evaluation moves into joined items).
    pub resource: &'a Value,
}

impl<'a> Origin<'a> {
    /// The context keys are evaluated in.
    pub fn keys(&self) -> crate::rules::path::KeyContext<'a> {
        crate::rules::path::KeyContext {
            params: self.params,
            region: self.region,
            account: self.account,
            resource: Some(self.resource),
        }
    }
}

/// A value being judged, with its absolute location in its document.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub location: String,
    pub origin: Origin<'a>,
}

/// What decided a result: locations of the values examined, extra records used (joins), and why
/// anything was unknown.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    pub locations: Vec<String>,
    pub records: Vec<usize>,
    pub unknown: Vec<String>,
}

/// Most locations kept per resource: enough to point at the evidence, bounded for huge documents.
const MAX_LOCATIONS: usize = 16;

impl Trace {
    pub(crate) fn loc(&mut self, l: String) {
        if self.locations.len() < MAX_LOCATIONS && !self.locations.contains(&l) {
            self.locations.push(l);
        }
    }
    /// As `loc`, building the location only when there is room for it.
    fn loc_with(&mut self, l: impl FnOnce() -> String) {
        if self.locations.len() < MAX_LOCATIONS {
            self.loc(l());
        }
    }
    fn merge(&mut self, other: Trace) {
        // A trace's locations are distinct and at most MAX_LOCATIONS: into an empty trace they move
        // as they are. Records are deduplicated by whoever reads them.
        if self.locations.is_empty() {
            self.locations = other.locations;
        } else {
            for l in other.locations {
                self.loc(l);
            }
        }
        if self.records.is_empty() {
            self.records = other.records;
        } else {
            for r in other.records {
                if !self.records.contains(&r) {
                    self.records.push(r);
                }
            }
        }
        for u in other.unknown {
            if !self.unknown.contains(&u) {
                self.unknown.push(u);
            }
        }
    }
}

/// Resolves joins: the engine indexes each joined evidence set once per rule.
pub trait JoinLookup<'a> {
    /// Items of `join` whose key equals `key`, restricted to `region` when the join says so, and the
    /// reason the answer may be incomplete (the joined probe failed where it mattered).
    fn lookup(&self, join: &Join, key: &str, region: &str) -> (Vec<Node<'a>>, Option<String>);
}

/// Evaluates `cond` on `node`.
pub fn eval<'a>(
    cond: &Condition,
    node: &Node<'a>,
    joins: &dyn JoinLookup<'a>,
    trace: &mut Trace,
) -> Truth {
    match cond {
        Condition::Compare { path, op, value } => {
            any_value(path, node, trace, |v| compare(v, *op, value))
        }
        Condition::In {
            path,
            values,
            negate,
        } => any_value(path, node, trace, |v| {
            values.iter().any(|x| loose_eq(v, x)) != *negate
        }),
        Condition::Contains { path, value } => any_value(path, node, trace, |v| match v {
            Value::String(s) => value.as_str().is_some_and(|needle| s.contains(needle)),
            Value::Array(a) => a.iter().any(|x| loose_eq(x, value)),
            _ => false,
        }),
        Condition::Matches { path, re } => any_value(path, node, trace, |v| {
            v.as_str().is_some_and(|s| re.is_match(s))
        }),
        Condition::Exists { path, expect } => {
            let mut found = false;
            for_values(path, node, |v, loc| {
                if !v.is_null() {
                    found = true;
                    trace.loc_with(loc);
                }
                false
            });
            Truth::from_bool(found == *expect)
        }
        Condition::SameAs { path, key } => {
            let o = node.origin;
            let keys = key.values(node.value, &o.keys());
            any_value(path, node, trace, |v| {
                crate::rules::path::scalar_string(v).is_some_and(|s| keys.contains(&s))
            })
        }
        Condition::AnyAddress { path } => any_value(path, node, trace, |v| {
            v.as_str().is_some_and(is_any_address)
        }),
        Condition::Ports {
            protocol,
            span,
            want,
        } => ports(node, protocol, span, want, trace),
        Condition::Admits { rules, want } => super::admits::admits(node, rules, want, trace),
        Condition::AllOf(items) => {
            let mut result = Truth::True;
            let mut sub = Trace::default();
            for c in items {
                let mut t = Trace::default();
                match eval(c, node, joins, &mut t) {
                    Truth::False => {
                        trace.merge(t);
                        return Truth::False;
                    }
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::True => {}
                }
                sub.merge(t);
            }
            trace.merge(sub);
            result
        }
        Condition::AnyOf(items) => {
            let mut result = Truth::False;
            let mut sub = Trace::default();
            for c in items {
                let mut t = Trace::default();
                match eval(c, node, joins, &mut t) {
                    Truth::True => {
                        trace.merge(t);
                        return Truth::True;
                    }
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::False => {}
                }
                sub.merge(t);
            }
            trace.merge(sub);
            result
        }
        Condition::Not(c) => eval(c, node, joins, trace).not(),
        Condition::Quant { kind, sel, check } => {
            let (items, incomplete) = select(sel, node, joins);
            // `deciding` keeps the trace of the items that decided the answer (the witness of `any`,
            // the counterexamples of `all`); `rest` everything else, used when nothing decided.
            let mut deciding = Trace::default();
            let mut rest = Trace::default();
            let mut unknown = incomplete.is_some();
            let (mut hits, mut misses) = (0usize, 0usize);
            for item in &items {
                let mut t = Trace::default();
                let truth = eval(check, item, joins, &mut t);
                if matches!(sel, Selection::Join(_)) {
                    t.records.push(item.origin.record);
                }
                match (truth, kind) {
                    (Truth::Unknown, _) => {
                        unknown = true;
                        rest.merge(t);
                    }
                    (Truth::True, Quantifier::All) => {
                        hits += 1;
                        rest.merge(t);
                    }
                    (Truth::True, _) => {
                        hits += 1;
                        deciding.merge(t);
                        if *kind == Quantifier::Any {
                            break;
                        }
                    }
                    (Truth::False, Quantifier::All) => {
                        misses += 1;
                        deciding.merge(t);
                    }
                    (Truth::False, _) => {
                        misses += 1;
                        rest.merge(t);
                    }
                }
            }
            if let Some(reason) = incomplete {
                rest.unknown.push(reason);
            }
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
            if decided {
                trace.merge(deciding);
            } else {
                trace.merge(deciding);
                trace.merge(rest);
            }
            truth
        }
        Condition::Count { sel, check, op, n } => {
            let (items, incomplete) = select(sel, node, joins);
            let mut count = 0f64;
            let mut unknown = incomplete.is_some();
            for item in &items {
                let mut t = Trace::default();
                let truth = match check {
                    Some(c) => eval(c, item, joins, &mut t),
                    None => {
                        t.loc(item.location.clone());
                        Truth::True
                    }
                };
                if matches!(sel, Selection::Join(_)) {
                    t.records.push(item.origin.record);
                }
                match truth {
                    Truth::True => {
                        count += 1.0;
                        trace.merge(t);
                    }
                    Truth::Unknown => {
                        unknown = true;
                        trace.merge(t);
                    }
                    Truth::False => {}
                }
            }
            if let Some(r) = incomplete {
                trace.unknown.push(r);
            }
            if unknown {
                return Truth::Unknown;
            }
            Truth::from_bool(cmp_f64(count, *op, *n))
        }
    }
}

/// The items a selection yields from `node`, and why the list may be incomplete.
fn select<'a>(
    sel: &Selection,
    node: &Node<'a>,
    joins: &dyn JoinLookup<'a>,
) -> (Vec<Node<'a>>, Option<String>) {
    match sel {
        Selection::Path(q) => {
            let mut items = Vec::new();
            q.for_each_rel(node.value, |v, rel| {
                items.push(Node {
                    value: v,
                    location: q.location(&node.location, &rel),
                    origin: node.origin,
                })
            });
            (items, None)
        }
        Selection::Join(j) => {
            let keys = j.equals.values(node.value, &node.origin.keys());
            let mut out = Vec::new();
            let mut incomplete = None;
            for k in keys {
                let (items, why) = joins.lookup(j, &k, node.origin.region);
                // Joined items keep their own record, region and parameters, but `resource.` still
                // means the resource being judged.
                out.extend(items.into_iter().map(|mut it| {
                    it.origin.resource = node.origin.resource;
                    it
                }));
                incomplete = incomplete.or(why);
            }
            if out.is_empty() && incomplete.is_none() {
                // No key on this node means nothing can match; still ask for the probe's health.
                let (_, why) = joins.lookup(j, "\u{0}", node.origin.region);
                incomplete = why;
            }
            (out, incomplete)
        }
    }
}

/// Calls `f` with each value the operand reads from `node` and a way to build its absolute location,
/// until `f` returns true.
fn for_values<'v>(
    op: &Operand,
    node: &Node<'v>,
    mut f: impl FnMut(&Value, &mut dyn FnMut() -> String) -> bool,
) {
    match op {
        Operand::Path(q) => {
            for (v, rel) in q.select_rel(node.value) {
                if f(v, &mut || q.location(&node.location, &rel)) {
                    return;
                }
            }
        }
        Operand::Key(k) => {
            let o = node.origin;
            let what = match k {
                KeyExpr::Region => "region".to_string(),
                KeyExpr::Account => "account".to_string(),
                KeyExpr::Param(p) => format!("param.{p}"),
                KeyExpr::Resource(q) => format!("resource.{}", q.as_str()),
                KeyExpr::Path(_) => unreachable!("paths are Operand::Path"),
            };
            let loc = format!("{}@{what}", node.location.split('#').next().unwrap_or(""));
            for v in k.values(node.value, &o.keys()) {
                if f(&Value::String(v), &mut || loc.clone()) {
                    return;
                }
            }
        }
    }
}

/// True when some value the operand reads satisfies `pred`. The trace gets the location of the first
/// value that does, or else of every value read.
fn any_value(
    path: &Operand,
    node: &Node<'_>,
    trace: &mut Trace,
    pred: impl Fn(&Value) -> bool,
) -> Truth {
    if let Operand::Path(q) = path {
        if q.is_single() {
            // At most one value: no list.
            return match q.first(node.value) {
                Some((v, rel)) => {
                    trace.loc_with(|| q.location(&node.location, &rel));
                    Truth::from_bool(pred(v))
                }
                None => Truth::False,
            };
        }
        let selected = q.select_rel(node.value);
        if let Some((_, rel)) = selected.iter().find(|(v, _)| pred(v)) {
            trace.loc_with(|| q.location(&node.location, rel));
            return Truth::True;
        }
        for (_, rel) in &selected {
            trace.loc_with(|| q.location(&node.location, rel));
        }
        return Truth::False;
    }
    let mut read = Vec::new();
    let mut hit = None;
    for_values(path, node, |v, loc| {
        if pred(v) {
            hit = Some(loc());
            true
        } else {
            read.push(loc());
            false
        }
    });
    match hit {
        Some(l) => {
            trace.loc(l);
            Truth::True
        }
        None => {
            for l in read {
                trace.loc(l);
            }
            Truth::False
        }
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Equality where XML-derived strings equal the number or boolean they spell.
pub fn loose_eq(v: &Value, lit: &Value) -> bool {
    match (v, lit) {
        (Value::String(a), Value::String(b)) => a == b,
        (_, Value::Number(_)) | (Value::Number(_), Value::String(_)) => {
            matches!((as_f64(v), as_f64(lit)), (Some(a), Some(b)) if a == b)
        }
        (Value::String(s), Value::Bool(b)) => {
            s.trim()
                .eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        _ => v == lit,
    }
}

fn compare(v: &Value, op: CmpOp, lit: &Value) -> bool {
    match op {
        CmpOp::Eq => loose_eq(v, lit),
        CmpOp::Ne => !v.is_null() && !loose_eq(v, lit),
        _ => {
            let ord = match (as_f64(v), as_f64(lit)) {
                (Some(a), Some(b)) if lit.is_number() || v.is_number() => a.partial_cmp(&b),
                _ => match (v.as_str(), lit.as_str()) {
                    (Some(a), Some(b)) => Some(a.cmp(b)),
                    _ => None,
                },
            };
            let Some(ord) = ord else { return false };
            match op {
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Ge => ord.is_ge(),
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Eq | CmpOp::Ne => unreachable!(),
            }
        }
    }
}

fn cmp_f64(a: f64, op: CmpOp, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
    }
}

/// A CIDR whose prefix length is 0 covers every address of its family (`0.0.0.0/0`, `::/0`).
pub fn is_any_address(s: &str) -> bool {
    let Some((addr, len)) = s.trim().split_once('/') else {
        return false;
    };
    len.trim() == "0" && addr.trim().parse::<std::net::IpAddr>().is_ok()
}

fn ports(
    node: &Node<'_>,
    protocol: &Query,
    span: &PortSpan,
    want: &PortWant,
    trace: &mut Trace,
) -> Truth {
    if let Some((p, rel)) = protocol.first(node.value) {
        if let Some(s) = crate::rules::path::scalar_string(p) {
            if matches!(s.trim(), "-1" | "all" | "ALL" | "All") {
                trace.loc_with(|| protocol.location(&node.location, &rel));
                return Truth::True;
            }
        }
    }
    let (from, to) = match span {
        PortSpan::FromTo(fq, tq) => {
            let (f, t) = (fq.first(node.value), tq.first(node.value));
            if let Some((_, rel)) = &f {
                trace.loc_with(|| fq.location(&node.location, rel));
            }
            if let Some((_, rel)) = &t {
                trace.loc_with(|| tq.location(&node.location, rel));
            }
            (
                f.and_then(|(v, _)| as_f64(v)),
                t.and_then(|(v, _)| as_f64(v)),
            )
        }
        PortSpan::Range(r) => match r.first(node.value) {
            Some((v, rel)) => {
                trace.loc_with(|| r.location(&node.location, &rel));
                let parsed = v
                    .as_str()
                    .and_then(|s| s.split_once('/'))
                    .map(|(a, b)| (a.trim().parse::<f64>().ok(), b.trim().parse::<f64>().ok()));
                parsed.unwrap_or((None, None))
            }
            None => (None, None),
        },
    };
    let (Some(from), Some(to)) = (from, to) else {
        return Truth::False;
    };
    // -1/-1 is "all ports" for protocols that have them (Alibaba Cloud, EC2 with protocol -1).
    let (from, to) = if from < 0.0 && to < 0.0 {
        (0.0, 65535.0)
    } else {
        (from, to)
    };
    Truth::from_bool(match want {
        PortWant::All => from <= 1.0 && to >= 65535.0,
        PortWant::Overlap(ports) => ports
            .iter()
            .any(|p| from <= f64::from(*p) && f64::from(*p) <= to),
    })
}
