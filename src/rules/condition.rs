//! The condition language: what a rule requires of each resource.
//!
//! A condition is a TOML table. Exactly one *form* per table:
//!
//! | form | keys | true when |
//! |---|---|---|
//! | comparison | `path` (default `$`) and one of `eq`, `ne`, `gt`, `ge`, `lt`, `le`, `in`, `not_in`, `contains`, `matches` | **some** value selected by `path` satisfies it |
//! | existence | `path`, `exists = true/false` | `path` selects (does not select) a non-null value |
//! | same as | `path`, `same_as = KEY` | some selected value equals the node's KEY (`account`, `region`, `param.NAME` or a JSONPath), e.g. an owner id equal to the scanned account |
//! | any address | `path`, `any_address = true` | some selected value is a CIDR meaning every address (`0.0.0.0/0`, `::/0`) |
//! | ports | `ports = { overlap = [22, 3389] }` or `ports = { all = true }` (+ `from`, `to`, `protocol` or `range` paths) | the rule opens one of those ports / every port |
//! | admits | `admits = { ports = [22, 3389] }` or `admits = { all = true }` (+ `rules`, default `$.Permissions.Permission[*]`) | an Alibaba Cloud security group, after its priorities, lets any address (`0.0.0.0/0` or `::/0`) reach one of those TCP ports / everything (see [`AdmitsSpec`]) |
//! | prefix overlap | `path`, `prefix_overlaps = { folder = KEY, then = "AWSLogs/" }` | some key prefix selected by `path` (none: the empty prefix) and the prefix `folder/then` select keys in common (one starts with the other): a lifecycle rule that reaches a trail's log files (see [`super::prefix`]) |
//! | logic | `all_of = [...]`, `any_of = [...]`, `not = {...}` | as named |
//! | quantifier | `all`, `any` or `none` = a *selection*, and `check = {...}` | every / at least one / no selected item satisfies `check` (`all` over nothing is true) |
//! | count | `count` = a *selection*, optional `check`, and one of `eq`, `ne`, `gt`, `ge`, `lt`, `le` (a number) | the number of selected items (satisfying `check`) compares so |
//!
//! A *selection* is a JSONPath relative to the current node (`"$.ipPermissions[*]"`), or a **join**
//! to another evidence set: `{ join = "aws.ec2.describe_flow_logs", items = "$.flowLogSet[*]",
//! on = "$.resourceId", equals = "$.vpcId" }` selects the items of that probe's documents whose key
//! `on` equals this node's `equals`. Keys may also be `param.NAME` (a request parameter of the record
//! the item came from), `region` or `account`. Add `same_region = true` to match only items from the
//! same region.
//!
//! In comparisons, `path` may also be `region`, `account` or `param.NAME`: the region, account or a
//! request parameter of the record the node came from (e.g. `{ path = "region", in = [...] }`).
//!
//! Paths are JSONPath (RFC 9535, via `jsonpath-rust`) where `$` is the current node. Values derived
//! from XML are strings; comparisons with a number or boolean literal compare a string by its parsed
//! value (`"22"` equals `22`, `"true"` equals `true`).
//!
//! When evidence a condition needs could not be read (a join into a probe that failed), the condition
//! is *unknown*, and a rule whose outcome depends on it reports `error`, never a pass.

pub use super::order::Group;
use crate::rules::path::{KeyExpr, Operand, Query};
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

/// A condition as written in a rule file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub path: Option<String>,
    pub eq: Option<toml::Value>,
    pub ne: Option<toml::Value>,
    pub gt: Option<toml::Value>,
    pub ge: Option<toml::Value>,
    pub lt: Option<toml::Value>,
    pub le: Option<toml::Value>,
    #[serde(rename = "in")]
    pub in_: Option<Vec<toml::Value>>,
    pub not_in: Option<Vec<toml::Value>>,
    pub contains: Option<toml::Value>,
    pub matches: Option<String>,
    pub exists: Option<bool>,
    pub same_as: Option<String>,
    pub any_address: Option<bool>,
    pub ports: Option<PortsSpec>,
    pub admits: Option<AdmitsSpec>,
    pub prefix_overlaps: Option<super::prefix::PrefixSpec>,
    pub all_of: Option<Vec<Spanned<ConditionSpec>>>,
    pub any_of: Option<Vec<Spanned<ConditionSpec>>>,
    pub not: Option<Box<Spanned<ConditionSpec>>>,
    pub all: Option<SelectionSpec>,
    pub any: Option<SelectionSpec>,
    pub none: Option<SelectionSpec>,
    pub count: Option<SelectionSpec>,
    pub check: Option<Box<Spanned<ConditionSpec>>>,
}

/// The `ports` form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortsSpec {
    /// True when the rule opens any of these ports.
    pub overlap: Option<Vec<u16>>,
    /// True when the rule opens every port.
    pub all: Option<bool>,
    /// Path of the first port (default `$.fromPort`).
    pub from: Option<String>,
    /// Path of the last port (default `$.toPort`).
    pub to: Option<String>,
    /// Path of a `"from/to"` range (Alibaba Cloud's `PortRange`), instead of `from`/`to`.
    pub range: Option<String>,
    /// Path of the protocol (default `$.ipProtocol`); `-1`, `all` and `ALL` mean every protocol and port.
    pub protocol: Option<String>,
}

/// The `admits` form: what an Alibaba Cloud security group lets in from anywhere, once its rules'
/// priorities are applied.
///
/// The node is a security group as `DescribeSecurityGroupAttribute` answers it; `rules` selects its
/// rules, read by their documented fields: `Direction` (only `ingress` counts), `Policy` (`Accept`, the
/// default, or `Drop`, any case), `Priority` (1 = highest, the default; 100 = lowest), `IpProtocol`,
/// `PortRange` (`22/22`; `-1/-1` = every port) and `SourceCidrIp` / `Ipv6SourceCidrIp`.
///
/// For each port and address family, only rules whose source is the whole family (`0.0.0.0/0`, `::/0`)
/// and whose protocol is `TCP` or `ALL` and range covers the port take part; the one with the smallest
/// priority number decides, and at equal priority `Drop` wins. So a `Drop` at priority 1 overrides an
/// `Accept` at priority 1 or 100, while a `Drop` at 100 does not override an `Accept` at 1.
/// `all = true` asks whether an `Accept` of protocol `ALL` over every port from anywhere is overridden by
/// no `Drop` of everything (protocol `ALL`, every port) from anywhere of equal or higher priority; a
/// `Drop` of a few ports leaves the rest open, which is still no filtering.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmitsSpec {
    /// JSONPath of the group's rules (default `$.Permissions.Permission[*]`).
    pub rules: Option<String>,
    /// TCP ports: true when any address can reach one of them.
    pub ports: Option<Vec<u16>>,
    /// True when any address can reach every port of every protocol.
    pub all: Option<bool>,
}

/// What a quantifier or count iterates over.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SelectionSpec {
    Path(String),
    Join(JoinSpec),
}

/// A join into another evidence set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    /// Probe id of the other evidence set.
    pub join: String,
    /// JSONPath selecting the candidate items in each of its documents (default `$`).
    pub items: Option<String>,
    /// Key of a candidate item.
    pub on: String,
    /// Key of the current node that `on` must equal.
    pub equals: String,
    #[serde(default)]
    pub same_region: bool,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    Compare {
        path: Operand,
        op: CmpOp,
        value: Value,
    },
    In {
        path: Operand,
        values: Vec<Value>,
        negate: bool,
    },
    Contains {
        path: Operand,
        value: Value,
    },
    Matches {
        path: Operand,
        re: regex::Regex,
    },
    Exists {
        path: Operand,
        expect: bool,
    },
    SameAs {
        path: Operand,
        key: KeyExpr,
    },
    AnyAddress {
        path: Operand,
    },
    Ports {
        protocol: Query,
        span: PortSpan,
        want: PortWant,
    },
    Admits {
        rules: Query,
        want: PortWant,
    },
    PrefixOverlaps(super::prefix::PrefixOverlap),
    AllOf(Group),
    AnyOf(Group),
    Not(Box<Condition>),
    Quant {
        kind: Quantifier,
        sel: Selection,
        check: Box<Condition>,
    },
    Count {
        sel: Selection,
        check: Option<Box<Condition>>,
        op: CmpOp,
        n: f64,
    },
}

/// Where a ports condition reads its range.
#[derive(Debug, Clone)]
pub enum PortSpan {
    FromTo(Query, Query),
    Range(Query),
}

/// What a ports condition looks for.
#[derive(Debug, Clone)]
pub enum PortWant {
    Overlap(Vec<u16>),
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
}

/// A compiled selection.
#[derive(Debug, Clone)]
pub enum Selection {
    Path(Query),
    Join(Box<Join>),
}

/// A compiled join.
#[derive(Debug, Clone)]
pub struct Join {
    pub probe: String,
    pub items: Query,
    pub on: KeyExpr,
    pub equals: KeyExpr,
    pub same_region: bool,
    /// Index of this join in the rule (for the per-rule lookup table).
    pub slot: usize,
}

/// A compile error with the byte span of the offending table.
#[derive(Debug)]
pub struct CompileError {
    pub span: std::ops::Range<usize>,
    pub message: String,
}

fn err<T>(span: &std::ops::Range<usize>, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        span: span.clone(),
        message: message.into(),
    })
}

/// Converts a TOML literal to JSON.
pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Compiles a condition; `joins` collects every join so the engine can index it once per rule.
pub fn compile(
    spec: &Spanned<ConditionSpec>,
    joins: &mut Vec<Join>,
) -> Result<Condition, CompileError> {
    let span = spec.span();
    let s = spec.get_ref();
    let cmp_ops: Vec<(&str, CmpOp, &Option<toml::Value>)> = vec![
        ("eq", CmpOp::Eq, &s.eq),
        ("ne", CmpOp::Ne, &s.ne),
        ("gt", CmpOp::Gt, &s.gt),
        ("ge", CmpOp::Ge, &s.ge),
        ("lt", CmpOp::Lt, &s.lt),
        ("le", CmpOp::Le, &s.le),
    ];
    let cmp_set: Vec<_> = cmp_ops.iter().filter(|(_, _, v)| v.is_some()).collect();
    let mut forms: Vec<&str> = cmp_set.iter().map(|(n, _, _)| *n).collect();
    for (name, present) in [
        ("in", s.in_.is_some()),
        ("not_in", s.not_in.is_some()),
        ("contains", s.contains.is_some()),
        ("matches", s.matches.is_some()),
        ("exists", s.exists.is_some()),
        ("same_as", s.same_as.is_some()),
        ("any_address", s.any_address.is_some()),
        ("ports", s.ports.is_some()),
        ("admits", s.admits.is_some()),
        ("prefix_overlaps", s.prefix_overlaps.is_some()),
        ("all_of", s.all_of.is_some()),
        ("any_of", s.any_of.is_some()),
        ("not", s.not.is_some()),
        ("all", s.all.is_some()),
        ("any", s.any.is_some()),
        ("none", s.none.is_some()),
    ] {
        if present {
            forms.push(name);
        }
    }
    // `count` takes a comparison operator as its partner, so it is judged separately.
    if let Some(sel) = &s.count {
        if cmp_set.len() != 1 || forms.len() != 1 {
            return err(&span, "`count` needs exactly one of eq, ne, gt, ge, lt, le (a number) and no other operator");
        }
        let (_, op, v) = cmp_set[0];
        let n = match v.as_ref().expect("checked") {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return err(&span, "`count` compares with a number, e.g. `ge = 1`"),
        };
        if s.path.is_some() {
            return err(&span, "`count` selects with its own value; remove `path`");
        }
        let check = s
            .check
            .as_ref()
            .map(|c| compile(c, joins).map(Box::new))
            .transpose()?;
        return Ok(Condition::Count {
            sel: selection(sel, &span, joins)?,
            check,
            op: *op,
            n,
        });
    }
    if forms.len() != 1 {
        let known = "eq, ne, same_as, gt, ge, lt, le, in, not_in, contains, matches, exists, any_address, ports, admits, prefix_overlaps, all_of, any_of, not, all, any, none, count";
        return if forms.is_empty() {
            err(
                &span,
                format!("condition has no operator; use one of: {known}"),
            )
        } else {
            err(&span, format!("condition mixes operators {}; use one per table (combine with all_of / any_of)", forms.join(", ")))
        };
    }
    let form = forms[0];
    let is_quant = matches!(form, "all" | "any" | "none");
    if s.check.is_some() && !is_quant {
        return err(
            &span,
            format!("`check` belongs to all / any / none / count, not to `{form}`"),
        );
    }
    let logic_or_quant =
        matches!(form, "all_of" | "any_of" | "not" | "ports" | "admits") || is_quant;
    if logic_or_quant && s.path.is_some() {
        return err(&span, format!("`{form}` does not take `path`"));
    }
    let path = || {
        Operand::parse(s.path.as_deref().unwrap_or("$")).map_err(|m| CompileError {
            span: span.clone(),
            message: m,
        })
    };
    Ok(match form {
        "eq" | "ne" | "gt" | "ge" | "lt" | "le" => {
            let (_, op, v) = cmp_set[0];
            let value = toml_to_json(v.as_ref().expect("checked"));
            if matches!(op, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le)
                && !(value.is_number() || value.is_string())
            {
                return err(
                    &span,
                    format!("`{form}` compares with a number or a string"),
                );
            }
            Condition::Compare {
                path: path()?,
                op: *op,
                value,
            }
        }
        "in" | "not_in" => {
            let list = if form == "in" {
                s.in_.as_ref()
            } else {
                s.not_in.as_ref()
            };
            let values = list.expect("checked").iter().map(toml_to_json).collect();
            Condition::In {
                path: path()?,
                values,
                negate: form == "not_in",
            }
        }
        "contains" => Condition::Contains {
            path: path()?,
            value: toml_to_json(s.contains.as_ref().expect("checked")),
        },
        "matches" => {
            let pat = s.matches.as_ref().expect("checked");
            let re = regex::Regex::new(pat).map_err(|e| CompileError {
                span: span.clone(),
                message: format!("bad regex in `matches`: {e}"),
            })?;
            Condition::Matches { path: path()?, re }
        }
        "exists" => Condition::Exists {
            path: path()?,
            expect: s.exists.expect("checked"),
        },
        "same_as" => {
            let key =
                KeyExpr::parse(s.same_as.as_ref().expect("checked")).map_err(|m| CompileError {
                    span: span.clone(),
                    message: m,
                })?;
            Condition::SameAs { path: path()?, key }
        }
        "any_address" => {
            if s.any_address != Some(true) {
                return err(
                    &span,
                    "write `any_address = true` (to require the opposite, wrap it in `not`)",
                );
            }
            Condition::AnyAddress { path: path()? }
        }
        "ports" => {
            let p = s.ports.as_ref().expect("checked");
            let q = |x: &Option<String>, d: &str| {
                Query::compile(x.as_deref().unwrap_or(d)).map_err(|m| CompileError {
                    span: span.clone(),
                    message: m,
                })
            };
            let want = match (&p.overlap, p.all) {
                (Some(ports), None) if !ports.is_empty() => PortWant::Overlap(ports.clone()),
                (None, Some(true)) => PortWant::All,
                _ => {
                    return err(
                        &span,
                        "`ports` needs either `overlap = [port, ...]` or `all = true`",
                    )
                }
            };
            let span_kind = match (&p.range, p.from.is_some() || p.to.is_some()) {
                (Some(_), true) => {
                    return err(&span, "`ports` takes `range` or `from`/`to`, not both")
                }
                (Some(r), false) => PortSpan::Range(q(&Some(r.clone()), "")?),
                (None, _) => PortSpan::FromTo(q(&p.from, "$.fromPort")?, q(&p.to, "$.toPort")?),
            };
            Condition::Ports {
                protocol: q(&p.protocol, "$.ipProtocol")?,
                span: span_kind,
                want,
            }
        }
        "admits" => {
            let a = s.admits.as_ref().expect("checked");
            let want = match (&a.ports, a.all) {
                (Some(ports), None) if !ports.is_empty() => PortWant::Overlap(ports.clone()),
                (None, Some(true)) => PortWant::All,
                _ => {
                    return err(
                        &span,
                        "`admits` needs either `ports = [port, ...]` or `all = true`",
                    )
                }
            };
            let rules = Query::compile(a.rules.as_deref().unwrap_or("$.Permissions.Permission[*]"))
                .map_err(|m| CompileError {
                    span: span.clone(),
                    message: m,
                })?;
            Condition::Admits { rules, want }
        }
        "prefix_overlaps" => {
            let spec = s.prefix_overlaps.as_ref().expect("checked");
            Condition::PrefixOverlaps(
                super::prefix::PrefixOverlap::compile(path()?, spec).map_err(|m| CompileError {
                    span: span.clone(),
                    message: m,
                })?,
            )
        }
        "all_of" | "any_of" => {
            let list = if form == "all_of" {
                s.all_of.as_ref()
            } else {
                s.any_of.as_ref()
            }
            .expect("checked");
            if list.is_empty() {
                return err(&span, format!("`{form}` needs at least one condition"));
            }
            let items = list
                .iter()
                .map(|c| compile(c, joins))
                .collect::<Result<Vec<_>, _>>()?;
            if form == "all_of" {
                Condition::AllOf(Group::new(items))
            } else {
                Condition::AnyOf(Group::new(items))
            }
        }
        "not" => Condition::Not(Box::new(compile(s.not.as_ref().expect("checked"), joins)?)),
        _ => {
            let (kind, sel) = match form {
                "all" => (Quantifier::All, s.all.as_ref()),
                "any" => (Quantifier::Any, s.any.as_ref()),
                _ => (Quantifier::None, s.none.as_ref()),
            };
            let Some(check) = &s.check else {
                return err(&span, format!("`{form}` needs `check = {{ ... }}`: the condition each selected item is tested against"));
            };
            let sel = selection(sel.expect("checked"), &span, joins)?;
            Condition::Quant {
                kind,
                sel,
                check: Box::new(compile(check, joins)?),
            }
        }
    })
}

fn selection(
    spec: &SelectionSpec,
    span: &std::ops::Range<usize>,
    joins: &mut Vec<Join>,
) -> Result<Selection, CompileError> {
    let mk = |m: String| CompileError {
        span: span.clone(),
        message: m,
    };
    Ok(match spec {
        SelectionSpec::Path(p) => Selection::Path(Query::compile(p).map_err(mk)?),
        SelectionSpec::Join(j) => {
            let join = Join {
                probe: j.join.clone(),
                items: Query::compile(j.items.as_deref().unwrap_or("$")).map_err(mk)?,
                on: KeyExpr::parse(&j.on).map_err(mk)?,
                equals: KeyExpr::parse(&j.equals).map_err(mk)?,
                same_region: j.same_region,
                slot: joins.len(),
            };
            joins.push(join.clone());
            Selection::Join(Box::new(join))
        }
    })
}
