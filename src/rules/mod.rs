//! Rules and mappings: rules as data, readable by an auditor who does not read Rust.
//!
//! Rule files live in `mappings/<framework>/<provider>/*.toml`. A file holds `[[rule]]` tables (what to
//! check, on which evidence) and `[[control]]` tables (which rules judge which test item, and why).
//! The condition language is documented in [`condition`]; docs/rules.md has worked examples.
//!
//! ```toml
//! [[rule]]
//! id = "aws-vpc-flow-logs-all-traffic"
//! title = { zh = "每个 VPC 均启用记录全部流量的流日志", en = "Every VPC has a flow log capturing ALL traffic" }
//! evidence = "aws.ec2.describe_vpcs"          # probe id whose documents are read
//! resources = "$.vpcSet[*]"                    # JSONPath: one resource per match
//! resource_id = "$.vpcId"                      # how the resource is named in results
//! require = { any = { join = "aws.ec2.describe_flow_logs", items = "$.flowLogSet[*]",
//!                     on = "$.resourceId", equals = "$.vpcId" },
//!             check = { path = "$.trafficType", eq = "ALL" } }
//! verdict = { all_fail = "non_compliant", some_fail = "partially_compliant", empty = "not_applicable" }
//!
//! [[control]]
//! id = "L3-ABS2-05"
//! automation = "partial"
//! rules = ["aws-vpc-flow-logs-all-traffic"]
//! rationale = { zh = "……", en = "……" }
//! ```

mod admits;
pub mod condition;
pub mod eval;
pub mod geoip;
pub mod location;
mod order;
pub mod prefix;
/// JSONPath queries and keys live below the rule language (collectors use them too); rule code
/// names them `path`.
pub use crate::jsonpath as path;
mod quant;

use crate::catalog::{toml_error, Automation, Bilingual, Catalog};
use crate::embedded::{line_col, SourceFile};
use crate::probes::ProbeCatalog;
use crate::verdict::Verdict;
use condition::{compile_in, Condition, ConditionSpec, Defs, Join};
use path::{KeyExpr, Query};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// How a rule's per-resource results combine into the rule's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Every resource must pass (the default).
    #[default]
    All,
    /// At least one resource must pass (e.g. "a trail that logs everything exists").
    Any,
    /// In every scanned region at least one resource must pass (e.g. an enabled detector per region).
    AnyPerRegion,
}

/// Which verdict a rule's outcome gives its control.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleVerdicts {
    /// When no resource passes (default `non_compliant`).
    #[serde(default = "default_all_fail")]
    pub all_fail: Verdict,
    /// When some pass and some fail (default `partially_compliant`).
    #[serde(default = "default_some_fail")]
    pub some_fail: Verdict,
    /// When nothing is in scope (default `not_applicable`).
    #[serde(default = "default_empty")]
    pub empty: Verdict,
    /// When the rule passes (default `compliant`). `manual` for a rule that can show an item's 不符合
    /// but never its 符合, e.g. "no customer-controlled key at all" where the certification 符合 needs
    /// is on paper only: a pass then leaves the item to the assessor, with the evidence attached.
    #[serde(default = "default_pass")]
    pub pass: Verdict,
}

fn default_all_fail() -> Verdict {
    Verdict::NonCompliant
}
fn default_some_fail() -> Verdict {
    Verdict::PartiallyCompliant
}
fn default_empty() -> Verdict {
    Verdict::NotApplicable
}
fn default_pass() -> Verdict {
    Verdict::Compliant
}

impl Default for RuleVerdicts {
    fn default() -> Self {
        Self {
            all_fail: default_all_fail(),
            some_fail: default_some_fail(),
            empty: default_empty(),
            pass: default_pass(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    title: Bilingual,
    evidence: String,
    #[serde(default)]
    resources: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default, rename = "where")]
    scope: Option<Spanned<ConditionSpec>>,
    require: Spanned<ConditionSpec>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    verdict: RuleVerdicts,
    #[serde(default)]
    context: bool,
    #[serde(default)]
    scope_tags: Option<String>,
    #[serde(default)]
    scope_vpc: Option<String>,
    #[serde(default)]
    scope_via: Option<Spanned<ConditionSpec>>,
    #[serde(default)]
    regions: RegionsJudged,
}

/// Which regions' resources a rule judges (`regions = …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionsJudged {
    /// The scanned regions (`--regions`): every rule unless it says otherwise.
    #[default]
    Scanned,
    /// Every region its evidence probe swept (`sweep = "all_regions"`): residency is a question about
    /// the whole account, whatever `--regions` says. A rule whose evidence does not sweep but whose joins
    /// read a swept list finds joined items in every swept region.
    Swept,
}

/// A named condition (`[[define]]`), used in rules with `use = "name"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefineSpec {
    name: String,
    /// What the condition means, for the reader of the rule file.
    #[allow(dead_code)]
    description: Option<String>,
    condition: Spanned<ConditionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingSpec {
    id: String,
    automation: Automation,
    rules: Vec<String>,
    rationale: Bilingual,
    #[serde(default)]
    checklist: Option<Vec<Bilingual>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFileSpec {
    #[serde(default)]
    rule: Vec<Spanned<RuleSpec>>,
    #[serde(default)]
    control: Vec<Spanned<MappingSpec>>,
    #[serde(default)]
    define: Vec<Spanned<DefineSpec>>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub provider: String,
    pub title: Bilingual,
    /// Probe id whose documents hold the resources.
    pub evidence: String,
    pub resources: Query,
    pub resource_id: Option<KeyExpr>,
    /// Only resources satisfying this are judged (`where`).
    pub scope: Option<Condition>,
    pub require: Condition,
    pub expect: Expect,
    pub verdict: RuleVerdicts,
    /// A context rule is evaluated and reported (resources, reasons, evidence) but does not decide the
    /// verdict: e.g. an allow-all network ACL, which the guide does not count against the tenant when
    /// security groups are the boundary.
    pub context: bool,
    /// Where a resource keeps its tags (items with `key`/`Key` and `value`/`Value`), for `--scope-tag`.
    pub scope_tags: Option<Query>,
    /// Where a resource names its VPC, for `--scope-vpc`.
    pub scope_vpc: Option<Query>,
    /// When a resource is in scope through what it is attached to (`in_scope` on joined items), for
    /// resources that carry no tags of their own; judged only when a scope is given.
    pub scope_via: Option<Condition>,
    /// Every join in `scope_via`, indexed by `Join::slot` (kept apart: built only when a scope is given).
    pub scope_joins: Vec<Join>,
    /// Every join in `scope` and `require`, indexed by `Join::slot`.
    pub joins: Vec<Join>,
    /// Which regions' resources it judges.
    pub regions: RegionsJudged,
    /// `file:line` where the rule is defined.
    pub defined_at: String,
}

impl Rule {
    /// Every probe the rule reads to judge: its evidence, then joined probes (not those only
    /// `scope_via` reads, which matter only under a scope).
    pub fn probes(&self) -> Vec<&str> {
        let mut out = vec![self.evidence.as_str()];
        for j in &self.joins {
            if !out.contains(&j.probe.as_str()) {
                out.push(&j.probe);
            }
        }
        out
    }
}

/// Which rules judge a test item for one provider.
#[derive(Debug, Clone)]
pub struct ControlMapping {
    pub control: String,
    pub provider: String,
    pub automation: Automation,
    pub rules: Vec<String>,
    pub rationale: Bilingual,
    /// What remains for the assessor when automation is partial (default: the catalog's checklist).
    pub checklist: Option<Vec<Bilingual>>,
    pub defined_at: String,
}

/// Every rule and mapping of one framework.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: BTreeMap<String, Rule>,
    pub mappings: Vec<ControlMapping>,
}

impl RuleSet {
    /// The mapping of `control` for `provider`, if any.
    pub fn mapping(&self, control: &str, provider: &str) -> Option<&ControlMapping> {
        self.mappings
            .iter()
            .find(|m| m.control == control && m.provider == provider)
    }

    /// Providers that have mappings, sorted.
    pub fn providers(&self) -> Vec<String> {
        let mut p: Vec<String> = self.mappings.iter().map(|m| m.provider.clone()).collect();
        p.sort();
        p.dedup();
        p
    }
}

/// Loads and validates every rule file. `files` are the framework directory's TOML files; those under
/// `<provider>/` are rule files. Returns every problem found, each as `file:line:col: what is wrong`.
pub fn load(
    files: &[SourceFile],
    catalog: &Catalog,
    probes: &ProbeCatalog,
) -> Result<RuleSet, Vec<String>> {
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    let rule_files: Vec<(&SourceFile, &str)> = files
        .iter()
        .filter_map(|f| Some((f, f.rel.split_once('/')?.0)))
        .filter(|(_, provider)| *provider != "controls")
        .collect();
    let defs = definitions(&rule_files, probes, &mut errors);
    for (f, provider) in rule_files {
        let empty = Defs::default();
        let defs = defs.get(provider).unwrap_or(&empty);
        if let Err(mut e) = load_file(f, provider, catalog, probes, defs, &mut set) {
            errors.append(&mut e);
        }
    }
    // Cross-file checks: every mapped rule exists and belongs to the provider.
    for m in &set.mappings {
        if m.automation == Automation::Manual {
            // A manual item is judged by hand: its rules attach evidence, and may show 不符合, never 符合.
            for r in m.rules.iter().filter_map(|r| set.rules.get(r)) {
                if !r.context && r.verdict.pass != Verdict::Manual {
                    errors.push(format!(
                        "{}: control {} is mapped `manual`, but rule `{}` ({}) gives {} when it passes; make it `context = true` or give it `verdict.pass = \"manual\"`",
                        m.defined_at, m.control, r.id, r.defined_at, r.verdict.pass
                    ));
                }
            }
        } else if m
            .rules
            .iter()
            .all(|r| set.rules.get(r).is_some_and(|x| x.context))
        {
            errors.push(format!(
                "{}: control {} maps only context rules; at least one rule must decide the verdict",
                m.defined_at, m.control
            ));
        }
        for r in &m.rules {
            match set.rules.get(r) {
                None => errors.push(format!(
                    "{}: control {} names rule `{r}`, which no rule file defines",
                    m.defined_at, m.control
                )),
                Some(rule) if rule.provider != m.provider => errors.push(format!(
                    "{}: control {} ({}) names rule `{r}` of provider {}",
                    m.defined_at, m.control, m.provider, rule.provider
                )),
                Some(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// The `[[define]]` tables of each provider's files, each checked on its own (problems are reported
/// where it is defined). A file that does not parse is reported when it is loaded.
fn definitions(
    files: &[(&SourceFile, &str)],
    probes: &ProbeCatalog,
    errors: &mut Vec<String>,
) -> std::collections::HashMap<String, Defs> {
    let mut specs: std::collections::HashMap<String, std::collections::HashMap<_, _>> =
        Default::default();
    let mut located: Vec<(&SourceFile, &str, String, std::ops::Range<usize>)> = Vec::new();
    for (f, provider) in files {
        let Ok(spec) = toml::from_str::<RuleFileSpec>(&f.text) else {
            continue;
        };
        for d in spec.define {
            let span = d.span();
            let d = d.into_inner();
            let (l, c) = line_col(&f.text, span.start);
            let mine = specs.entry(provider.to_string()).or_default();
            if mine.insert(d.name.clone(), d.condition).is_some() {
                errors.push(format!(
                    "{}:{l}:{c}: condition `{}` is defined twice for {provider}",
                    f.display, d.name
                ));
            }
            located.push((f, provider, d.name, span));
        }
    }
    let defs: std::collections::HashMap<String, Defs> =
        specs.into_iter().map(|(p, s)| (p, Defs::new(s))).collect();
    for (f, provider, name, span) in located {
        let d = &defs[provider];
        let mut joins = Vec::new();
        let result = compile_in(&d.specs[&name], &mut joins, d);
        let at = |start: usize| {
            let (l, c) = line_col(&f.text, start);
            format!("{}:{l}:{c}", f.display)
        };
        if let Err(e) = result {
            errors.push(format!(
                "{}: condition `{name}`: {}",
                at(e.span.start),
                e.message
            ));
        }
        for j in &joins {
            if !j.probe.starts_with(&format!("{provider}.")) || probes.get(&j.probe).is_none() {
                errors.push(format!(
                    "{}: condition `{name}`: no {provider} probe `{}` is declared",
                    at(span.start),
                    j.probe
                ));
            }
        }
    }
    defs
}

fn load_file(
    f: &SourceFile,
    provider: &str,
    catalog: &Catalog,
    probes: &ProbeCatalog,
    defs: &Defs,
    set: &mut RuleSet,
) -> Result<(), Vec<String>> {
    let spec: RuleFileSpec =
        toml::from_str(&f.text).map_err(|e| vec![friendly(toml_error(f, &e).to_string())])?;
    let mut errors = Vec::new();
    let at = |span: std::ops::Range<usize>| {
        let (l, c) = line_col(&f.text, span.start);
        format!("{}:{l}:{c}", f.display)
    };
    for r in &spec.rule {
        let where_ = at(r.span());
        match compile_rule(r.get_ref(), provider, probes, defs, &f.text, &f.display) {
            Ok(mut rule) => {
                rule.defined_at = where_.clone();
                if let Some(prev) = set.rules.get(&rule.id) {
                    errors.push(format!(
                        "{where_}: rule id `{}` is already defined at {}",
                        rule.id, prev.defined_at
                    ));
                } else {
                    set.rules.insert(rule.id.clone(), rule);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    for m in &spec.control {
        let where_ = at(m.span());
        let ms = m.get_ref();
        if catalog.get(&ms.id).is_none() {
            errors.push(format!(
                "{where_}: control `{}` is not a test item of framework {}",
                ms.id, catalog.framework.id
            ));
            continue;
        }
        if ms.rules.is_empty() {
            errors.push(format!("{where_}: control {} maps no rules", ms.id));
            continue;
        }
        if let Some(prev) = set.mapping(&ms.id, provider) {
            errors.push(format!(
                "{where_}: control {} is already mapped for {provider} at {}",
                ms.id, prev.defined_at
            ));
            continue;
        }
        set.mappings.push(ControlMapping {
            control: catalog.get(&ms.id).expect("checked").id.clone(),
            provider: provider.to_string(),
            automation: ms.automation,
            rules: ms.rules.clone(),
            rationale: ms.rationale.clone(),
            checklist: ms.checklist.clone(),
            defined_at: where_,
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn compile_rule(
    r: &RuleSpec,
    provider: &str,
    probes: &ProbeCatalog,
    defs: &Defs,
    text: &str,
    display: &str,
) -> Result<Rule, String> {
    let loc = |span: std::ops::Range<usize>| {
        let (l, c) = line_col(text, span.start);
        format!("{display}:{l}:{c}")
    };
    let head = |msg: String| format!("{display}: rule `{}`: {msg}", r.id);
    if r.id.is_empty()
        || !r
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(head(
            "id must be lower-case letters, digits, `-` and `.`".into(),
        ));
    }
    let mut joins = Vec::new();
    let scope = r
        .scope
        .as_ref()
        .map(|s| compile_in(s, &mut joins, defs))
        .transpose()
        .map_err(|e| format!("{}: rule `{}`, `where`: {}", loc(e.span), r.id, e.message))?;
    let require = compile_in(&r.require, &mut joins, defs)
        .map_err(|e| format!("{}: rule `{}`: {}", loc(e.span), r.id, e.message))?;
    let mut scope_joins = Vec::new();
    let scope_via = r
        .scope_via
        .as_ref()
        .map(|s| compile_in(s, &mut scope_joins, defs))
        .transpose()
        .map_err(|e| {
            format!(
                "{}: rule `{}`, `scope_via`: {}",
                loc(e.span),
                r.id,
                e.message
            )
        })?;
    let resources = Query::compile(r.resources.as_deref().unwrap_or("$"))
        .map_err(|m| head(format!("resources: {m}")))?;
    let resource_id = r
        .resource_id
        .as_deref()
        .map(KeyExpr::parse)
        .transpose()
        .map_err(|m| head(format!("resource_id: {m}")))?;
    let joined = joins.iter().chain(&scope_joins).map(|j| &j.probe);
    for probe in std::iter::once(&r.evidence).chain(joined) {
        if !probe.starts_with(&format!("{provider}.")) {
            return Err(head(format!(
                "probe `{probe}` is not a {provider} probe (ids start with `{provider}.`)"
            )));
        }
        if probes.get(probe).is_none() {
            return Err(head(format!("no probe `{probe}` is declared under probes/{provider}/; `dengbao probes list` shows the known ones")));
        }
    }
    // A rule may judge swept regions when its evidence sweeps, or when it looks a resource up in a
    // swept list (a backup copy's destination vault, in any enabled region).
    let sweeps = |p: &String| probes.get(p).is_some_and(|p| p.sweep.is_some());
    if r.regions == RegionsJudged::Swept
        && !sweeps(&r.evidence)
        && !joins.iter().any(|j| sweeps(&j.probe))
    {
        return Err(head(format!(
            "regions = \"swept\" needs evidence from a probe that sweeps every region, or a join into one; `{}` declares no `sweep = \"all_regions\"`",
            r.evidence
        )));
    }
    let v = r.verdict;
    for (name, verdict) in [("all_fail", v.all_fail), ("some_fail", v.some_fail)] {
        if !matches!(verdict, Verdict::NonCompliant | Verdict::PartiallyCompliant) {
            return Err(head(format!(
                "verdict.{name} must be non_compliant or partially_compliant, not {verdict}"
            )));
        }
    }
    if matches!(v.empty, Verdict::Error | Verdict::Manual) {
        return Err(head(format!("verdict.empty cannot be {}", v.empty)));
    }
    if !matches!(v.pass, Verdict::Compliant | Verdict::Manual) {
        return Err(head(format!(
            "verdict.pass must be compliant or manual, not {}",
            v.pass
        )));
    }
    Ok(Rule {
        id: r.id.clone(),
        provider: provider.to_string(),
        title: r.title.clone(),
        evidence: r.evidence.clone(),
        resources,
        resource_id,
        scope,
        require,
        expect: r.expect,
        verdict: r.verdict,
        context: r.context,
        scope_tags: r
            .scope_tags
            .as_deref()
            .map(Query::compile)
            .transpose()
            .map_err(|m| head(format!("scope_tags: {m}")))?,
        scope_vpc: r
            .scope_vpc
            .as_deref()
            .map(Query::compile)
            .transpose()
            .map_err(|m| head(format!("scope_vpc: {m}")))?,
        joins,
        scope_via,
        scope_joins,
        regions: r.regions,
        defined_at: String::new(),
    })
}

/// Makes serde's message for a selection that is neither a path nor a join say what to write.
fn friendly(msg: String) -> String {
    msg.replace(
        "data did not match any variant of untagged enum SelectionSpec",
        "expected a JSONPath string or a join table { join = \"probe.id\", items = \"$...\", on = \"$...\", equals = \"$...\" }",
    )
}
