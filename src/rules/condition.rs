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
//! | ports | `ports = { overlap = [22, 3389] }` or `ports = { all = true }` (+ `from`, `to`, `protocol` or `range` paths) | the rule opens one of those ports / every port; protocol-aware: `-1`/`all` opens every port, TCP and UDP (`6`, `17`) open their range, ICMP, ICMPv6 (`58`) and other protocols open none |
//! | admits | `admits = { ports = [22, 3389] }` or `admits = { all = true }` (+ `rules`, default `$.Permissions.Permission[*]`) | an Alibaba Cloud security group, after its priorities, lets any address (`0.0.0.0/0` or `::/0`) reach one of those TCP ports / everything (see [`AdmitsSpec`]) |
//! | ip | `path`, `ip = { public = true }` or `ip = { country = ["CN"] }` | some selected value is a public IP address / one the shipped IP-to-country data places in one of those countries (see [`super::geoip`]) |
//! | other account | `path`, `other_account = true` | some selected value (array items included) is `*` or names an account other than the scanned one: an account id, or an ARN (`arn:…:ACCOUNT:…`, `acs:…:ACCOUNT:…`) |
//! | decode | `decode = PATH`, `check = {...}` | the string at PATH holds JSON (possibly percent-encoded, as IAM policy documents are) and `check` holds on it; a string that does not parse is unknown |
//! | in scope | `in_scope = { tags = "$.tagSet[*]", vpc = "$.vpcId" }` | the node is inside the scope given with `--scope-*` (always, when none is given); see [`InScopeSpec`] |
//! | named | `use = "name"` | the condition a `[[define]]` table of the provider's rule files names so holds |
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
pub use crate::convert::toml_to_json;
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
    pub ip: Option<IpSpec>,
    pub other_account: Option<bool>,
    pub decode: Option<String>,
    pub in_scope: Option<InScopeSpec>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
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
/// `all = true` asks whether every TCP and every UDP port is open from anywhere: by an `Accept` of protocol
/// `ALL`, or by `Accept`s of `TCP 1/65535` and `UDP 1/65535` (the console's "all TCP" and "all UDP"), each
/// overridden by no `Drop` of that whole protocol (or of everything) from anywhere of equal or higher
/// priority; a `Drop` of a few ports leaves the rest open, which is still no filtering. ICMP is not a port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmitsSpec {
    /// JSONPath of the group's rules (default `$.Permissions.Permission[*]`).
    pub rules: Option<String>,
    /// TCP ports: true when any address can reach one of them.
    pub ports: Option<Vec<u16>>,
    /// True when any address can reach every port of every protocol.
    pub all: Option<bool>,
    /// A condition on one rule saying its source is any address in another way than a CIDR, e.g. a
    /// prefix list (`SourcePrefixListId`) whose entries hold `0.0.0.0/0` or `::/0`.
    pub anywhere: Option<Box<Spanned<ConditionSpec>>>,
}

/// The `in_scope` form: whether the node belongs to the assessed system given with `--scope-tag` /
/// `--scope-vpc` / `--scope-account`, read from its own tags and VPC. With no scope given, always true.
/// Rules use it in `scope_via`, to bring into scope what is attached to an in-scope resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InScopeSpec {
    /// JSONPath of the node's tags (items with `key`/`Key`/`TagKey` and `value`/`Value`/`TagValue`).
    pub tags: Option<String>,
    /// JSONPath of the node's VPC id.
    pub vpc: Option<String>,
}

/// Named conditions (`[[define]]` tables of a provider's rule files), which a condition uses with
/// `use = "name"`: one definition of, say, "an internet-facing interface" for every rule that needs it.
#[derive(Debug, Default)]
pub struct Defs {
    pub specs: std::collections::HashMap<String, Spanned<ConditionSpec>>,
    /// The definitions being compiled, to refuse one that uses itself.
    active: std::cell::RefCell<Vec<String>>,
}

impl Defs {
    pub fn new(specs: std::collections::HashMap<String, Spanned<ConditionSpec>>) -> Self {
        Defs {
            specs,
            active: Default::default(),
        }
    }
}

/// The `ip` form: what an IP address must be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpSpec {
    /// True when the address is public (globally routed).
    pub public: Option<bool>,
    /// True when the shipped data places the address in one of these countries (ISO 3166 codes).
    pub country: Option<Vec<String>>,
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
        /// Also from anywhere: a rule for which this holds (`anywhere`).
        anywhere: Option<Box<Condition>>,
    },
    InScope {
        tags: Option<Query>,
        vpc: Option<Query>,
    },
    Ip {
        path: Operand,
        want: IpWant,
    },
    OtherAccount {
        path: Operand,
    },
    Decode {
        path: Query,
        check: Box<Condition>,
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

/// What an `ip` condition looks for.
#[derive(Debug, Clone)]
pub enum IpWant {
    Public,
    Country(Vec<String>),
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

/// Compiles a condition; `joins` collects every join so the engine can index it once per rule.
pub fn compile(
    spec: &Spanned<ConditionSpec>,
    joins: &mut Vec<Join>,
) -> Result<Condition, CompileError> {
    compile_in(spec, joins, &Defs::default())
}

/// As [`compile`], with the named conditions `defs` that `use` may name.
pub fn compile_in(
    spec: &Spanned<ConditionSpec>,
    joins: &mut Vec<Join>,
    defs: &Defs,
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
        ("ip", s.ip.is_some()),
        ("other_account", s.other_account.is_some()),
        ("decode", s.decode.is_some()),
        ("in_scope", s.in_scope.is_some()),
        ("use", s.use_.is_some()),
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
            .map(|c| compile_in(c, joins, defs).map(Box::new))
            .transpose()?;
        return Ok(Condition::Count {
            sel: selection(sel, &span, joins)?,
            check,
            op: *op,
            n,
        });
    }
    if forms.len() != 1 {
        let known = "eq, ne, same_as, gt, ge, lt, le, in, not_in, contains, matches, exists, any_address, ports, admits, ip, other_account, decode, in_scope, use, prefix_overlaps, all_of, any_of, not, all, any, none, count";
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
    let is_quant = matches!(form, "all" | "any" | "none" | "decode");
    if s.check.is_some() && !is_quant {
        return err(
            &span,
            format!("`check` belongs to all / any / none / count / decode, not to `{form}`"),
        );
    }
    let logic_or_quant = matches!(
        form,
        "all_of" | "any_of" | "not" | "ports" | "admits" | "in_scope" | "use"
    ) || is_quant;
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
            let anywhere = a
                .anywhere
                .as_ref()
                .map(|c| compile_in(c, joins, defs).map(Box::new))
                .transpose()?;
            Condition::Admits {
                rules,
                want,
                anywhere,
            }
        }
        "ip" => {
            let ip = s.ip.as_ref().expect("checked");
            let want = match (ip.public, &ip.country) {
                (Some(true), None) => IpWant::Public,
                (None, Some(list)) if !list.is_empty() => {
                    if let Some(c) = list
                        .iter()
                        .find(|c| !super::geoip::COUNTRIES.contains(&c.as_str()))
                    {
                        return err(&span, format!("`ip.country`: the IP data compiled into dengbao places addresses in {} only, not `{c}` (docs/data.md)", super::geoip::COUNTRIES.join(", ")));
                    }
                    IpWant::Country(list.clone())
                }
                _ => {
                    return err(
                        &span,
                        "`ip` needs either `public = true` or `country = [\"CN\"]` (to require the opposite, wrap it in `not`)",
                    )
                }
            };
            Condition::Ip {
                path: path()?,
                want,
            }
        }
        "other_account" => {
            if s.other_account != Some(true) {
                return err(
                    &span,
                    "write `other_account = true` (to require the opposite, wrap it in `not`)",
                );
            }
            Condition::OtherAccount { path: path()? }
        }
        "decode" => {
            let Some(check) = &s.check else {
                return err(&span, "`decode` needs `check = { ... }`: the condition the decoded document is tested against");
            };
            let q =
                Query::compile(s.decode.as_ref().expect("checked")).map_err(|m| CompileError {
                    span: span.clone(),
                    message: m,
                })?;
            Condition::Decode {
                path: q,
                check: Box::new(compile_in(check, joins, defs)?),
            }
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
                .map(|c| compile_in(c, joins, defs))
                .collect::<Result<Vec<_>, _>>()?;
            if form == "all_of" {
                Condition::AllOf(Group::new(items))
            } else {
                Condition::AnyOf(Group::new(items))
            }
        }
        "not" => Condition::Not(Box::new(compile_in(
            s.not.as_ref().expect("checked"),
            joins,
            defs,
        )?)),
        "in_scope" => {
            let i = s.in_scope.as_ref().expect("checked");
            let q = |x: &Option<String>| {
                x.as_deref()
                    .map(Query::compile)
                    .transpose()
                    .map_err(|m| CompileError {
                        span: span.clone(),
                        message: m,
                    })
            };
            if i.tags.is_none() && i.vpc.is_none() {
                return err(&span, "`in_scope` needs `tags` and/or `vpc` (JSONPaths)");
            }
            Condition::InScope {
                tags: q(&i.tags)?,
                vpc: q(&i.vpc)?,
            }
        }
        "use" => use_definition(s.use_.as_ref().expect("checked"), &span, joins, defs)?,
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
                check: Box::new(compile_in(check, joins, defs)?),
            }
        }
    })
}

/// Compiles the definition `name` in place of a `use`: its joins become this rule's own.
fn use_definition(
    name: &str,
    span: &std::ops::Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    let Some(def) = defs.specs.get(name) else {
        let mut known: Vec<&str> = defs.specs.keys().map(String::as_str).collect();
        known.sort_unstable();
        return err(
            span,
            format!(
                "no condition named `{name}` is defined ([[define]] tables of this provider: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
    };
    if defs.active.borrow().iter().any(|n| n == name) {
        return err(span, format!("condition `{name}` uses itself"));
    }
    defs.active.borrow_mut().push(name.to_string());
    let compiled = compile_in(def, joins, defs);
    defs.active.borrow_mut().pop();
    // A problem inside the definition is reported where it is defined (checked on its own at load);
    // here it can only be a cycle, named at the `use`.
    compiled.map_err(|e| CompileError {
        span: span.clone(),
        message: format!("in condition `{name}`: {}", e.message),
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
