//! Compiling a condition as written ([`ConditionSpec`]) into the form the engine evaluates
//! ([`Condition`]). A table holds exactly one form; each form checks its own keys here and names the
//! offending table's span when they are wrong, so a rule file fails at load, never while judging.

use super::{
    err, AdmitsSpec, CmpOp, CompileError, Condition, ConditionSpec, Defs, Group, InScopeSpec,
    IpSpec, IpWant, Join, PortSpan, PortWant, PortsSpec, Quantifier, Selection, SelectionSpec,
};
use crate::convert::toml_to_json;
use crate::rules::path::{KeyExpr, Operand, Query};
use std::ops::Range;
use toml::Spanned;

/// Every form a table may take, as the error for a table with none lists them.
const KNOWN_FORMS: &str = "eq, ne, same_as, gt, ge, lt, le, in, not_in, contains, matches, exists, any_address, ports, admits, ip, other_account, decode, in_scope, use, prefix_overlaps, all_of, any_of, not, all, any, none, count";

/// A comparison operator a table sets, with its literal.
type Comparison<'a> = (&'static str, CmpOp, &'a toml::Value);

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
    let comparisons = comparisons(s);
    let forms = forms_set(s, &comparisons);
    // `count` takes a comparison operator as its partner, so it is judged separately.
    if let Some(sel) = &s.count {
        return count(s, sel, &comparisons, forms.len(), &span, joins, defs);
    }
    let form = one_form(&forms, &span)?;
    check_partner_keys(s, form, &span)?;
    let at = at(&span);
    let path = || Operand::parse(s.path.as_deref().unwrap_or("$")).map_err(&at);
    Ok(match form {
        "eq" | "ne" | "gt" | "ge" | "lt" | "le" => {
            let (op, value) = comparison(comparisons[0], &span)?;
            Condition::Compare {
                path: path()?,
                op,
                value,
            }
        }
        "in" | "not_in" => {
            let list = if form == "in" { &s.in_ } else { &s.not_in };
            Condition::In {
                path: path()?,
                values: list.iter().flatten().map(toml_to_json).collect(),
                negate: form == "not_in",
            }
        }
        "contains" => Condition::Contains {
            path: path()?,
            value: toml_to_json(s.contains.as_ref().expect("checked")),
        },
        "matches" => {
            let re = regex::Regex::new(s.matches.as_ref().expect("checked"))
                .map_err(|e| at(format!("bad regex in `matches`: {e}")))?;
            Condition::Matches { path: path()?, re }
        }
        "exists" => Condition::Exists {
            path: path()?,
            expect: s.exists.expect("checked"),
        },
        "same_as" => Condition::SameAs {
            path: path()?,
            key: KeyExpr::parse(s.same_as.as_ref().expect("checked")).map_err(&at)?,
        },
        "any_address" => {
            flag_is_true(s.any_address, form, &span)?;
            Condition::AnyAddress { path: path()? }
        }
        "other_account" => {
            flag_is_true(s.other_account, form, &span)?;
            Condition::OtherAccount { path: path()? }
        }
        "ports" => ports(s.ports.as_ref().expect("checked"), &span)?,
        "admits" => admits(s.admits.as_ref().expect("checked"), &span, joins, defs)?,
        "ip" => {
            let want = ip_want(s.ip.as_ref().expect("checked"), &span)?;
            Condition::Ip {
                path: path()?,
                want,
            }
        }
        "decode" => decode(s, &span, joins, defs)?,
        "prefix_overlaps" => Condition::PrefixOverlaps(
            crate::rules::prefix::PrefixOverlap::compile(
                path()?,
                s.prefix_overlaps.as_ref().expect("checked"),
            )
            .map_err(&at)?,
        ),
        "all_of" | "any_of" => group(s, form, &span, joins, defs)?,
        "not" => Condition::Not(Box::new(compile_in(
            s.not.as_ref().expect("checked"),
            joins,
            defs,
        )?)),
        "in_scope" => in_scope(s.in_scope.as_ref().expect("checked"), &span)?,
        "use" => use_definition(s.use_.as_ref().expect("checked"), &span, joins, defs)?,
        _ => quantifier(s, form, &span, joins, defs)?,
    })
}

/// Turns a message into an error at `span`.
fn at(span: &Range<usize>) -> impl Fn(String) -> CompileError + '_ {
    move |message| CompileError {
        span: span.clone(),
        message,
    }
}

/// The comparison operators the table sets.
fn comparisons(s: &ConditionSpec) -> Vec<Comparison<'_>> {
    [
        ("eq", CmpOp::Eq, &s.eq),
        ("ne", CmpOp::Ne, &s.ne),
        ("gt", CmpOp::Gt, &s.gt),
        ("ge", CmpOp::Ge, &s.ge),
        ("lt", CmpOp::Lt, &s.lt),
        ("le", CmpOp::Le, &s.le),
    ]
    .into_iter()
    .filter_map(|(name, op, v)| v.as_ref().map(|v| (name, op, v)))
    .collect()
}

/// Every form key the table sets (`count` apart), comparisons first.
fn forms_set(s: &ConditionSpec, comparisons: &[Comparison<'_>]) -> Vec<&'static str> {
    let mut forms: Vec<&str> = comparisons.iter().map(|(n, _, _)| *n).collect();
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
    forms
}

/// The table's one form, or the error for none or several.
fn one_form<'f>(forms: &[&'f str], span: &Range<usize>) -> Result<&'f str, CompileError> {
    match forms {
        [form] => Ok(*form),
        [] => err(
            span,
            format!("condition has no operator; use one of: {KNOWN_FORMS}"),
        ),
        _ => err(
            span,
            format!(
                "condition mixes operators {}; use one per table (combine with all_of / any_of)",
                forms.join(", ")
            ),
        ),
    }
}

/// `check` and `path` only where the form takes them.
fn check_partner_keys(
    s: &ConditionSpec,
    form: &str,
    span: &Range<usize>,
) -> Result<(), CompileError> {
    let takes_check = matches!(form, "all" | "any" | "none" | "decode");
    if s.check.is_some() && !takes_check {
        return err(
            span,
            format!("`check` belongs to all / any / none / count / decode, not to `{form}`"),
        );
    }
    let no_path = takes_check
        || matches!(
            form,
            "all_of" | "any_of" | "not" | "ports" | "admits" | "in_scope" | "use"
        );
    if no_path && s.path.is_some() {
        return err(span, format!("`{form}` does not take `path`"));
    }
    Ok(())
}

fn count(
    s: &ConditionSpec,
    sel: &SelectionSpec,
    comparisons: &[Comparison<'_>],
    forms: usize,
    span: &Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    // The one comparison is `count`'s partner; any other form beside it is a mistake.
    let ([(_, op, v)], 1) = (comparisons, forms) else {
        return err(
            span,
            "`count` needs exactly one of eq, ne, gt, ge, lt, le (a number) and no other operator",
        );
    };
    let n = match v {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        _ => return err(span, "`count` compares with a number, e.g. `ge = 1`"),
    };
    if s.path.is_some() {
        return err(span, "`count` selects with its own value; remove `path`");
    }
    let check = s
        .check
        .as_ref()
        .map(|c| compile_in(c, joins, defs).map(Box::new))
        .transpose()?;
    Ok(Condition::Count {
        sel: selection(sel, span, joins)?,
        check,
        op: *op,
        n,
    })
}

/// An ordering (`gt`, `ge`, `lt`, `le`) compares with a number or a string only.
fn comparison(
    (form, op, v): Comparison<'_>,
    span: &Range<usize>,
) -> Result<(CmpOp, serde_json::Value), CompileError> {
    let value = toml_to_json(v);
    if matches!(op, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le)
        && !(value.is_number() || value.is_string())
    {
        return err(span, format!("`{form}` compares with a number or a string"));
    }
    Ok((op, value))
}

/// `any_address` and `other_account` are written `= true`; the opposite is a `not`.
fn flag_is_true(value: Option<bool>, form: &str, span: &Range<usize>) -> Result<(), CompileError> {
    if value != Some(true) {
        return err(
            span,
            format!("write `{form} = true` (to require the opposite, wrap it in `not`)"),
        );
    }
    Ok(())
}

fn ports(p: &PortsSpec, span: &Range<usize>) -> Result<Condition, CompileError> {
    let q = |x: &Option<String>, default: &str| {
        Query::compile(x.as_deref().unwrap_or(default)).map_err(at(span))
    };
    let want = port_want(&p.overlap, p.all).ok_or_else(|| {
        at(span)("`ports` needs either `overlap = [port, ...]` or `all = true`".into())
    })?;
    let span_kind = match (&p.range, p.from.is_some() || p.to.is_some()) {
        (Some(_), true) => return err(span, "`ports` takes `range` or `from`/`to`, not both"),
        (Some(r), false) => PortSpan::Range(Query::compile(r).map_err(at(span))?),
        (None, _) => PortSpan::FromTo(q(&p.from, "$.fromPort")?, q(&p.to, "$.toPort")?),
    };
    Ok(Condition::Ports {
        protocol: q(&p.protocol, "$.ipProtocol")?,
        span: span_kind,
        want,
    })
}

/// A non-empty port list or `all = true`, exactly one of them.
fn port_want(list: &Option<Vec<u16>>, all: Option<bool>) -> Option<PortWant> {
    match (list, all) {
        (Some(ports), None) if !ports.is_empty() => Some(PortWant::Overlap(ports.clone())),
        (None, Some(true)) => Some(PortWant::All),
        _ => None,
    }
}

fn admits(
    a: &AdmitsSpec,
    span: &Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    let want = port_want(&a.ports, a.all).ok_or_else(|| {
        at(span)("`admits` needs either `ports = [port, ...]` or `all = true`".into())
    })?;
    let rules = Query::compile(a.rules.as_deref().unwrap_or("$.Permissions.Permission[*]"))
        .map_err(at(span))?;
    let anywhere = a
        .anywhere
        .as_ref()
        .map(|c| compile_in(c, joins, defs).map(Box::new))
        .transpose()?;
    Ok(Condition::Admits {
        rules,
        want,
        anywhere,
    })
}

fn ip_want(ip: &IpSpec, span: &Range<usize>) -> Result<IpWant, CompileError> {
    use crate::rules::geoip::COUNTRIES;
    match (ip.public, &ip.country) {
        (Some(true), None) => Ok(IpWant::Public),
        (None, Some(list)) if !list.is_empty() => {
            if let Some(c) = list.iter().find(|c| !COUNTRIES.contains(&c.as_str())) {
                return err(span, format!("`ip.country`: the IP data compiled into dengbao places addresses in {} only, not `{c}` (docs/data.md)", COUNTRIES.join(", ")));
            }
            Ok(IpWant::Country(list.clone()))
        }
        _ => err(
            span,
            "`ip` needs either `public = true` or `country = [\"CN\"]` (to require the opposite, wrap it in `not`)",
        ),
    }
}

fn decode(
    s: &ConditionSpec,
    span: &Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    let Some(check) = &s.check else {
        return err(span, "`decode` needs `check = { ... }`: the condition the decoded document is tested against");
    };
    let path = Query::compile(s.decode.as_ref().expect("checked")).map_err(at(span))?;
    Ok(Condition::Decode {
        path,
        check: Box::new(compile_in(check, joins, defs)?),
    })
}

fn group(
    s: &ConditionSpec,
    form: &str,
    span: &Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    let all_of = form == "all_of";
    let list = if all_of { &s.all_of } else { &s.any_of };
    let list = list.as_ref().expect("checked");
    if list.is_empty() {
        return err(span, format!("`{form}` needs at least one condition"));
    }
    let items = list
        .iter()
        .map(|c| compile_in(c, joins, defs))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if all_of {
        Condition::AllOf(Group::new(items))
    } else {
        Condition::AnyOf(Group::new(items))
    })
}

fn in_scope(i: &InScopeSpec, span: &Range<usize>) -> Result<Condition, CompileError> {
    if i.tags.is_none() && i.vpc.is_none() {
        return err(span, "`in_scope` needs `tags` and/or `vpc` (JSONPaths)");
    }
    let q = |x: &Option<String>| {
        x.as_deref()
            .map(Query::compile)
            .transpose()
            .map_err(at(span))
    };
    Ok(Condition::InScope {
        tags: q(&i.tags)?,
        vpc: q(&i.vpc)?,
    })
}

fn quantifier(
    s: &ConditionSpec,
    form: &str,
    span: &Range<usize>,
    joins: &mut Vec<Join>,
    defs: &Defs,
) -> Result<Condition, CompileError> {
    let (kind, sel) = match form {
        "all" => (Quantifier::All, &s.all),
        "any" => (Quantifier::Any, &s.any),
        _ => (Quantifier::None, &s.none),
    };
    let Some(check) = &s.check else {
        return err(span, format!("`{form}` needs `check = {{ ... }}`: the condition each selected item is tested against"));
    };
    let sel = selection(sel.as_ref().expect("checked"), span, joins)?;
    Ok(Condition::Quant {
        kind,
        sel,
        check: Box::new(compile_in(check, joins, defs)?),
    })
}

/// Compiles the definition `name` in place of a `use`: its joins become this rule's own.
fn use_definition(
    name: &str,
    span: &Range<usize>,
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
    span: &Range<usize>,
    joins: &mut Vec<Join>,
) -> Result<Selection, CompileError> {
    let mk = at(span);
    Ok(match spec {
        SelectionSpec::Path(p) => Selection::Path(Query::compile(p).map_err(&mk)?),
        SelectionSpec::Join(j) => {
            let join = Join {
                probe: j.join.clone(),
                items: Query::compile(j.items.as_deref().unwrap_or("$")).map_err(&mk)?,
                on: KeyExpr::parse(&j.on).map_err(&mk)?,
                equals: KeyExpr::parse(&j.equals).map_err(&mk)?,
                same_region: j.same_region,
                slot: joins.len(),
            };
            joins.push(join.clone());
            Selection::Join(Box::new(join))
        }
    })
}
