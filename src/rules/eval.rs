//! Evaluating compiled conditions on a node, with three-valued logic.
//!
//! A condition is `True`, `False` or `Unknown` (evidence it needed could not be read). `Unknown` never
//! becomes a pass: quantifiers and logic follow Kleene's rules, so a result is definite only when the
//! unread evidence could not have changed it.

use super::condition::{CmpOp, Condition, IpWant, Join, PortSpan, PortWant};
pub use super::location::Location;
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
    pub(super) fn from_bool(b: bool) -> Self {
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
    pub location: Location<'a>,
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

/// Notes kept for items a quantifier looks at without citing them: only the records they used.
/// An item that turns out to decide the answer, or cannot be judged, is judged again with a [`Trace`].
#[derive(Debug, Default)]
pub struct Quiet {
    pub records: Vec<usize>,
}

/// What evaluation writes down as it goes: a [`Trace`], or [`Quiet`] notes. One evaluator serves
/// both, so what is judged and what is explained cannot differ.
pub trait Notes: Default {
    /// Whether locations are kept.
    const CITES: bool;
    fn loc(&mut self, l: String);
    /// As `loc`, building the location only when it would be kept.
    fn loc_with(&mut self, l: impl FnOnce() -> String);
    fn merge(&mut self, other: Self);
    /// Notes that the record at `r` was used.
    fn record(&mut self, r: usize);
    fn add_records(&mut self, rs: &[usize]);
    /// Notes why the answer is unknown.
    fn unknown(&mut self, why: String);
}

/// Most locations kept per resource: enough to point at the evidence, bounded for huge documents.
const MAX_LOCATIONS: usize = 16;

impl Notes for Trace {
    const CITES: bool = true;
    fn loc(&mut self, l: String) {
        if self.locations.len() < MAX_LOCATIONS && !self.locations.contains(&l) {
            self.locations.push(l);
        }
    }
    fn loc_with(&mut self, l: impl FnOnce() -> String) {
        if self.locations.len() < MAX_LOCATIONS {
            self.loc(l());
        }
    }
    fn merge(&mut self, other: Trace) {
        if other.locations.is_empty() && other.records.is_empty() && other.unknown.is_empty() {
            return;
        }
        // A trace's locations are distinct and at most MAX_LOCATIONS: into an empty trace they move
        // as they are.
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
            self.add_records(&other.records);
        }
        for u in other.unknown {
            if !self.unknown.contains(&u) {
                self.unknown.push(u);
            }
        }
    }
    fn record(&mut self, r: usize) {
        self.records.push(r);
    }
    fn add_records(&mut self, rs: &[usize]) {
        for r in rs {
            if !self.records.contains(r) {
                self.records.push(*r);
            }
        }
    }
    fn unknown(&mut self, why: String) {
        self.unknown.push(why);
    }
}

impl Notes for Quiet {
    const CITES: bool = false;
    fn loc(&mut self, _: String) {}
    fn loc_with(&mut self, _: impl FnOnce() -> String) {}
    fn merge(&mut self, other: Quiet) {
        if !other.records.is_empty() {
            self.records.extend(other.records);
        }
    }
    fn record(&mut self, r: usize) {
        self.records.push(r);
    }
    fn add_records(&mut self, rs: &[usize]) {
        self.records.extend_from_slice(rs);
    }
    fn unknown(&mut self, _: String) {}
}

/// Resolves joins: the engine indexes each joined evidence set once per rule.
pub trait JoinLookup {
    /// Calls `f` with each item of `join` whose key equals `key` (in `region` when the join says so)
    /// until it returns false; gives the reason the items may be incomplete (the joined probe failed
    /// where it mattered). When `f` does not read the items' values (`reads` false), an item not at
    /// hand may be given as `null`.
    fn lookup(
        &self,
        join: &Join,
        key: &str,
        region: &str,
        reads: bool,
        f: &mut dyn FnMut(&Node<'_>) -> bool,
    ) -> Option<String>;

    /// Whether a node whose tags and VPC are read with `tags` and `vpc` belongs to the assessed system
    /// (`--scope-*`); true when no scope was given.
    fn in_scope(
        &self,
        _value: &Value,
        _account: &str,
        _tags: Option<&Query>,
        _vpc: Option<&Query>,
    ) -> bool {
        true
    }
}

/// Evaluates `cond` on `node`.
pub fn eval<N: Notes>(
    cond: &Condition,
    node: &Node<'_>,
    joins: &dyn JoinLookup,
    trace: &mut N,
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
            // The record's own facts need no copying (`same_as = "account"` is in most rules).
            let fact = match key {
                KeyExpr::Account => Some(o.account),
                KeyExpr::Region => Some(o.region),
                _ => None,
            };
            if let Some(fact) = fact {
                return any_value(path, node, trace, |v| match v {
                    Value::String(s) => s == fact,
                    _ => crate::rules::path::scalar_string(v).is_some_and(|s| s == fact),
                });
            }
            let keys = key.values(node.value, &o.keys());
            any_value(path, node, trace, |v| match v {
                // Most keys are text: compared where they are.
                Value::String(s) => keys.iter().any(|k| k == s),
                _ => crate::rules::path::scalar_string(v).is_some_and(|s| keys.contains(&s)),
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
        Condition::Admits {
            rules,
            want,
            anywhere,
        } => super::admits::admits(node, rules, want, anywhere.as_deref(), joins, trace),
        Condition::InScope { tags, vpc } => Truth::from_bool(joins.in_scope(
            node.value,
            node.origin.account,
            tags.as_ref(),
            vpc.as_ref(),
        )),
        Condition::Ip { path, want } => any_value(path, node, trace, |v| {
            let Some(ip) = v.as_str().and_then(super::geoip::address) else {
                return false;
            };
            match want {
                IpWant::Public => super::geoip::is_public(ip),
                IpWant::Country(list) => {
                    super::geoip::country(ip).is_some_and(|c| list.iter().any(|x| x == c))
                }
            }
        }),
        Condition::OtherAccount { path } => {
            let account = node.origin.account;
            any_value(path, node, trace, |v| match v {
                Value::Array(items) => items.iter().any(|x| names_other_account(x, account)),
                x => names_other_account(x, account),
            })
        }
        Condition::Decode { path, check } => decode(path, check, node, joins, trace),
        Condition::PrefixOverlaps(p) => p.eval(node, trace),
        Condition::AllOf(group) => {
            let mut result = Truth::True;
            let mut sub = N::default();
            for c in in_order::<N>(group) {
                let mut t = N::default();
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
        Condition::AnyOf(group) => {
            let mut result = Truth::False;
            let mut sub = N::default();
            for c in in_order::<N>(group) {
                let mut t = N::default();
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
            super::quant::quantify(*kind, sel, check, node, joins, trace)
        }
        Condition::Count { sel, check, op, n } => {
            super::quant::count(sel, check.as_deref(), *op, *n, node, joins, trace)
        }
    }
}

/// Whether `v` is `*` or names an account other than `account`: a bare account id (digits), or an ARN
/// whose account field (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`, `acs:SERVICE:REGION:ACCOUNT:…`) is
/// another. Anything else (a service name, a federated provider's URL) names no account.
fn names_other_account(v: &Value, account: &str) -> bool {
    let Some(s) = v.as_str().map(str::trim) else {
        return false;
    };
    if s == "*" {
        return true;
    }
    let named = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Some(s)
    } else {
        let f: Vec<&str> = s.split(':').collect();
        match f.first() {
            Some(&"arn") if f.len() > 5 => Some(f[4]),
            Some(&"acs") if f.len() > 4 => Some(f[3]),
            _ => None,
        }
    };
    // An ARN without an account field (an S3 bucket's) names none; `*` in it names anyone.
    named.is_some_and(|a| !a.is_empty() && a != account)
}

/// Evaluates `check` on the JSON held in the string(s) at `path`; percent-encoded JSON (IAM's policy
/// documents) is decoded first. A string that is not JSON either way is unknown: its meaning could not
/// be read. Locations inside the decoded document continue the string's own location.
fn decode<N: Notes>(
    path: &Query,
    check: &Condition,
    node: &Node<'_>,
    joins: &dyn JoinLookup,
    trace: &mut N,
) -> Truth {
    let mut result = Truth::False;
    for (v, rel) in path.select_rel(node.value) {
        let at = || node.location.child(path, &rel);
        let Some(text) = v.as_str() else {
            trace.loc_with(at);
            continue;
        };
        let parsed = serde_json::from_str::<Value>(text)
            .ok()
            .or_else(|| percent_decode(text).and_then(|t| serde_json::from_str::<Value>(&t).ok()));
        let Some(doc) = parsed else {
            trace.loc_with(at);
            trace.unknown(format!("{} does not hold JSON", at()));
            result = Truth::Unknown;
            continue;
        };
        let inner = Node {
            value: &doc,
            location: Location::from(at()),
            origin: node.origin,
        };
        let mut t = N::default();
        match eval(check, &inner, joins, &mut t) {
            Truth::True => {
                trace.merge(t);
                return Truth::True;
            }
            Truth::Unknown => result = Truth::Unknown,
            Truth::False => {}
        }
        trace.merge(t);
    }
    result
}

/// `%XX` sequences decoded (a `+` is kept: it may be the document's own); `None` when there was none or
/// the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A group's conditions in the order to judge them: as written when citing, else cheapest first
/// (see [`super::order`]).
fn in_order<N: Notes>(group: &super::condition::Group) -> impl Iterator<Item = &Condition> {
    let quiet = (!N::CITES).then_some(&group.quiet_order);
    (0..group.items.len()).map(move |k| &group.items[quiet.map_or(k, |o| o[k])])
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
                if f(v, &mut || node.location.child(q, &rel)) {
                    return;
                }
            }
        }
        Operand::Key(k) => {
            let o = node.origin;
            let mut loc = || {
                let digest = node.location.digest();
                match k {
                    KeyExpr::Region => format!("{digest}@region"),
                    KeyExpr::Account => format!("{digest}@account"),
                    KeyExpr::Param(p) => format!("{digest}@param.{p}"),
                    KeyExpr::Resource(q) => format!("{digest}@resource.{}", q.as_str()),
                    KeyExpr::Path(_) => unreachable!("paths are Operand::Path"),
                }
            };
            for v in k.values(node.value, &o.keys()) {
                if f(&Value::String(v), &mut loc) {
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
    trace: &mut impl Notes,
    pred: impl Fn(&Value) -> bool,
) -> Truth {
    if let Operand::Path(q) = path {
        if q.is_single() {
            // At most one value: no list.
            return match q.first(node.value) {
                Some((v, rel)) => {
                    trace.loc_with(|| node.location.child(q, &rel));
                    Truth::from_bool(pred(v))
                }
                None => Truth::False,
            };
        }
        let selected = q.select_rel(node.value);
        if let Some((_, rel)) = selected.iter().find(|(v, _)| pred(v)) {
            trace.loc_with(|| node.location.child(q, rel));
            return Truth::True;
        }
        for (_, rel) in &selected {
            trace.loc_with(|| node.location.child(q, rel));
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
        Value::String(s) => {
            let s = s.trim();
            // Most are small whole numbers (ports, counts, days): read without the float parser.
            match s.len() {
                1..=9 if s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse::<u32>().ok().map(f64::from)
                }
                _ => s.parse::<f64>().ok(),
            }
        }
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

pub(super) fn cmp_f64(a: f64, op: CmpOp, b: f64) -> bool {
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
    trace: &mut impl Notes,
) -> Truth {
    if let Some((p, rel)) = protocol.first(node.value) {
        let text = match p {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
            _ => crate::rules::path::scalar_string(p).map(std::borrow::Cow::Owned),
        };
        if let Some(s) = text {
            match port_protocol(&s) {
                PortProtocol::Every => {
                    trace.loc_with(|| node.location.child(protocol, &rel));
                    return Truth::True;
                }
                // ICMP (`icmp -1/-1` is "all ICMP types", not every port), ICMPv6, GRE, ESP…: no ports.
                PortProtocol::Portless => {
                    trace.loc_with(|| node.location.child(protocol, &rel));
                    return Truth::False;
                }
                PortProtocol::Ports => {}
            }
        }
    }
    let (from, to) = match span {
        PortSpan::FromTo(fq, tq) => {
            let (f, t) = (fq.first(node.value), tq.first(node.value));
            if let Some((_, rel)) = &f {
                trace.loc_with(|| node.location.child(fq, rel));
            }
            if let Some((_, rel)) = &t {
                trace.loc_with(|| node.location.child(tq, rel));
            }
            (
                f.and_then(|(v, _)| as_f64(v)),
                t.and_then(|(v, _)| as_f64(v)),
            )
        }
        PortSpan::Range(r) => match r.first(node.value) {
            Some((v, rel)) => {
                trace.loc_with(|| node.location.child(r, &rel));
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
    // -1/-1 is "all ports" for the protocols that have ports (TCP and UDP).
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

/// What a rule's protocol says about ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PortProtocol {
    /// Every protocol, every port (`-1`, `all`).
    Every,
    /// A protocol with ports (TCP, UDP, by name or number): the range decides.
    Ports,
    /// A protocol without ports (ICMP, ICMPv6 `58`, GRE, ESP, …): opens no port.
    Portless,
}

/// Classifies a protocol as EC2 (`tcp`, `6`, `-1`, `icmpv6`, `58`) and Alibaba Cloud (`TCP`, `ALL`,
/// `ICMP`, `ICMPv6`, `GRE`) write it.
pub(super) fn port_protocol(p: &str) -> PortProtocol {
    match p.trim().to_ascii_lowercase().as_str() {
        "-1" | "all" => PortProtocol::Every,
        "tcp" | "6" | "udp" | "17" | "" => PortProtocol::Ports,
        _ => PortProtocol::Portless,
    }
}
