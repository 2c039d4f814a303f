//! The `admits` condition: what an Alibaba Cloud security group lets in from any address once its
//! rules' priorities are applied (documented on [`super::condition::AdmitsSpec`]).

use super::condition::{Condition, PortWant};
use super::eval::{eval, is_any_address, JoinLookup, Location, Node, Notes, Quiet, Truth};
use super::path::{join_location, scalar_string, Query};
use serde_json::Value;

/// One ingress rule as it matters here.
struct Rule {
    accept: bool,
    priority: i64,
    /// `ALL`, `TCP`, `UDP`, `ICMP`, …, upper-cased.
    protocol: String,
    from: i64,
    to: i64,
    any_v4: bool,
    any_v6: bool,
    location: String,
}

fn field(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(scalar_string)
        .map(|s| s.trim().to_string())
}

fn parse(v: &Value, location: String) -> Option<Rule> {
    let direction = field(v, "Direction").unwrap_or_else(|| "ingress".into());
    if !direction.eq_ignore_ascii_case("ingress") {
        return None;
    }
    let policy = field(v, "Policy").unwrap_or_else(|| "Accept".into());
    let accept = match policy.to_ascii_lowercase().as_str() {
        "accept" => true,
        "drop" => false,
        _ => return None,
    };
    let priority = field(v, "Priority")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let (from, to) = field(v, "PortRange")
        .and_then(|r| {
            let (a, b) = r.split_once('/')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .unwrap_or((-1, -1));
    let (from, to) = if from < 0 && to < 0 {
        (0, 65535)
    } else {
        (from, to)
    };
    let any = |k: &str| field(v, k).is_some_and(|c| is_any_address(&c));
    Some(Rule {
        accept,
        priority,
        protocol: field(v, "IpProtocol")
            .unwrap_or_default()
            .to_ascii_uppercase(),
        from,
        to,
        any_v4: any("SourceCidrIp"),
        any_v6: any("Ipv6SourceCidrIp"),
        location,
    })
}

/// Evaluates `admits` on a security group node. A rule for which `anywhere` holds counts as from any
/// address of both families; where `anywhere` cannot be read, the answer is unknown unless it is
/// decided without that rule.
pub fn admits<N: Notes>(
    node: &Node<'_>,
    query: &Query,
    want: &PortWant,
    anywhere: Option<&Condition>,
    joins: &dyn JoinLookup,
    trace: &mut N,
) -> Truth {
    let base = node.location.render();
    let mut unknown = false;
    let mut rules: Vec<Rule> = Vec::new();
    for (v, rel) in query.select_rel(node.value) {
        let Some(mut r) = parse(v, join_location(&base, &query.location("$", &rel))) else {
            continue;
        };
        if let (Some(cond), false) = (anywhere, r.any_v4 && r.any_v6) {
            let item = Node {
                value: v,
                location: Location::Under {
                    parent: &node.location,
                    query,
                    rel,
                },
                origin: node.origin,
            };
            let mut notes = Quiet::default();
            match eval(cond, &item, joins, &mut notes) {
                Truth::True => (r.any_v4, r.any_v6) = (true, true),
                Truth::Unknown => unknown = true,
                Truth::False => {}
            }
            trace.add_records(&notes.records);
        }
        rules.push(r);
    }
    let decided = admits_rules(&rules, want, trace);
    if decided == Truth::False && unknown {
        trace.unknown(
            "whether a prefix list a rule names admits any address could not be read".into(),
        );
        return Truth::Unknown;
    }
    decided
}

fn admits_rules(rules: &[Rule], want: &PortWant, trace: &mut impl Notes) -> Truth {
    let mut overriding: Vec<String> = Vec::new();
    for v6 in [false, true] {
        let from_anywhere = |r: &&Rule| if v6 { r.any_v6 } else { r.any_v4 };
        let mut decide = |accepts, drops| decide(accepts, drops, &mut overriding);
        match want {
            PortWant::Overlap(ports) => {
                for p in ports {
                    let p = i64::from(*p);
                    let takes_part = |r: &&Rule| {
                        from_anywhere(r)
                            && matches!(r.protocol.as_str(), "TCP" | "ALL" | "-1")
                            && r.from <= p
                            && p <= r.to
                    };
                    let accepts = rules
                        .iter()
                        .filter(|r| r.accept)
                        .filter(takes_part)
                        .collect();
                    let drops = rules
                        .iter()
                        .filter(|r| !r.accept)
                        .filter(takes_part)
                        .collect();
                    if let Some(loc) = decide(accepts, drops) {
                        trace.loc(loc);
                        return Truth::True;
                    }
                }
            }
            PortWant::All => {
                // Everything is open when both TCP and UDP are open on every port from anywhere:
                // by one `ALL` rule, or by `TCP 1/65535` plus `UDP 1/65535` (a console preset). Each
                // is closed only by a Drop of that whole protocol (or of everything) at equal or
                // higher priority; a Drop of a few ports leaves the rest open, still no filtering.
                let mut open = Vec::new();
                for proto in ["TCP", "UDP"] {
                    let whole = |r: &&Rule| {
                        from_anywhere(r)
                            && (r.protocol == proto || matches!(r.protocol.as_str(), "ALL" | "-1"))
                            && r.from <= 1
                            && r.to >= 65535
                    };
                    let accepts = rules.iter().filter(|r| r.accept).filter(whole).collect();
                    let drops = rules.iter().filter(|r| !r.accept).filter(whole).collect();
                    match decide(accepts, drops) {
                        Some(loc) => open.push(loc),
                        None => break,
                    }
                }
                if open.len() == 2 {
                    open.dedup();
                    for loc in open {
                        trace.loc(loc);
                    }
                    return Truth::True;
                }
            }
        }
    }
    for l in overriding {
        trace.loc(l);
    }
    Truth::False
}

/// The best (smallest-priority) Accept that takes part wins only if no Drop of equal or smaller priority
/// takes part; returns its location, or notes the overriding Drop.
fn decide(accepts: Vec<&Rule>, drops: Vec<&Rule>, overriding: &mut Vec<String>) -> Option<String> {
    let best = accepts.into_iter().min_by_key(|r| r.priority)?;
    let blocker = drops
        .into_iter()
        .filter(|d| d.priority <= best.priority)
        .min_by_key(|d| d.priority);
    match blocker {
        None => Some(best.location.clone()),
        Some(d) => {
            overriding.push(d.location.clone());
            None
        }
    }
}
