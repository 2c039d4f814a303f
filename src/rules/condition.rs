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

mod compile;
pub use compile::{compile, compile_in};
