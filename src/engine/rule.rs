//! Evaluating one rule over the evidence index.

use super::index::{EvidenceIndex, Failure};
use crate::catalog::Bilingual;
use crate::pack::EvidenceRecord;
use crate::results::{
    ResourceBuffer, ResourceResult, ResourceStatus, Resources, RuleOutcome, RuleResult,
};
use crate::rules::condition::Join;
use crate::rules::eval::{eval, JoinLookup, Location, Node, Origin, Quiet, Trace, Truth};
use crate::rules::path::{Query, Rel};
use crate::rules::{Expect, RegionsJudged, Rule};
use crate::verdict::Verdict;
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};

/// One joined item. When the joined probe's documents are in memory anyway (an index built up
/// front), a reference into them; when they are streamed, compact JSON text (a few times smaller than
/// a parsed document), parsed the first time a lookup reaches it — so a rule joining a large inventory
/// (every security group of an estate) holds text for all of it and values only for what it touches.
struct JoinItem<'i> {
    item: Item<'i>,
    record: usize,
    /// Where in its document (`$['snapshotSet'][3]`); the record's digest is prefixed on lookup.
    loc: Box<str>,
}

enum Item<'i> {
    Resident(&'i Value),
    Text {
        json: Box<str>,
        parsed: OnceCell<Value>,
    },
}

impl JoinItem<'_> {
    fn value(&self) -> &Value {
        match &self.item {
            Item::Resident(v) => v,
            Item::Text { json, parsed } => parsed.get_or_init(|| parse(json)),
        }
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("a join item is JSON this process wrote")
}

/// Join tables for one rule: key → items, built by streaming the joined probe's documents one at a
/// time (none stays in memory). Join slots that select the same items by the same key (a rule that
/// counts some items of a probe and checks none of them is bad, say) share one table.
struct Joins<'i> {
    idx: &'i EvidenceIndex<'i>,
    /// Table of each join slot of the rule.
    table_of: Vec<usize>,
    tables: Vec<HashMap<String, Vec<usize>>>,
    items: Vec<Vec<JoinItem<'i>>>,
    failures: Vec<Vec<Failure>>,
    probes: Vec<&'i str>,
}

/// Why a joined probe's items are missing altogether: it was never run.
fn never_ran(probe: &str) -> Failure {
    Failure {
        region: String::new(),
        record: None,
        code: "EvidenceMissing".into(),
        message: format!("probe {probe} was not run; the pack holds no evidence from it"),
    }
}

fn origin<'a>(idx: &'a EvidenceIndex<'_>, i: usize, resource: &'a serde_json::Value) -> Origin<'a> {
    let rec: &EvidenceRecord = &idx.pack.manifest.records[i];
    Origin {
        record: i,
        region: &rec.region,
        account: &rec.account,
        params: &rec.parameters,
        resource,
    }
}

impl<'i> Joins<'i> {
    /// Builds the tables of `rule_joins`; records of regions that were only swept are left out unless
    /// the rule judges `swept` regions.
    fn build(
        rule_joins: &'i [Join],
        idx: &'i EvidenceIndex<'i>,
        swept: bool,
    ) -> anyhow::Result<Self> {
        let mut joins = Joins {
            idx,
            table_of: Vec::new(),
            tables: Vec::new(),
            items: Vec::new(),
            failures: Vec::new(),
            probes: Vec::new(),
        };
        let mut built: Vec<(&str, &str, String)> = Vec::new();
        for j in rule_joins {
            let what = (j.probe.as_str(), j.items.source(), format!("{:?}", j.on));
            if let Some(t) = built.iter().position(|b| *b == what) {
                joins.table_of.push(t);
                continue;
            }
            joins.table_of.push(built.len());
            built.push(what);
            let mut table: HashMap<String, Vec<usize>> = HashMap::new();
            let mut items = Vec::new();
            let mut unparsable = Vec::new();
            if idx.is_loaded(&j.probe) {
                for (i, doc) in idx.documents(&j.probe) {
                    if swept || !idx.is_swept_only(i) {
                        index_items(j, idx, i, doc, &mut table, &mut items, Item::Resident);
                    }
                }
            } else {
                let text = |v: &Value| Item::Text {
                    json: v.to_string().into_boxed_str(),
                    parsed: OnceCell::new(),
                };
                for &i in idx.records(&j.probe) {
                    if !swept && idx.is_swept_only(i) {
                        continue;
                    }
                    match idx.convert(i)? {
                        Some(Ok(doc)) => index_items(j, idx, i, &doc, &mut table, &mut items, text),
                        Some(Err(e)) => unparsable.push(Failure::unparsable(
                            &idx.pack.manifest.records[i].region,
                            i,
                            &e,
                        )),
                        None => {}
                    }
                }
            }
            let mut failures: Vec<Failure> = idx
                .failures(&j.probe)
                .iter()
                .filter(|f| swept || !idx.failed_swept_only(&j.probe, &f.region))
                .cloned()
                .collect();
            if !idx.was_run(&j.probe) {
                failures.push(never_ran(&j.probe));
            }
            if !idx.is_checked(&j.probe) {
                super::index::merge_unparsable(&mut failures, unparsable);
            }
            joins.tables.push(table);
            joins.items.push(items);
            joins.failures.push(failures);
            joins.probes.push(j.probe.as_str());
        }
        Ok(joins)
    }
}

/// Adds the items `j` selects in record `i`'s document to `items` (each kept as `keep` makes it) and
/// their keys to `table`.
fn index_items<'v, 'i>(
    j: &Join,
    idx: &'i EvidenceIndex<'i>,
    i: usize,
    doc: &'v Value,
    table: &mut HashMap<String, Vec<usize>>,
    items: &mut Vec<JoinItem<'i>>,
    keep: impl Fn(&'v Value) -> Item<'i>,
) {
    for (v, loc) in j.items.select(doc) {
        let o = origin(idx, i, v);
        for key in j.on.values(v, &o.keys()) {
            table.entry(key).or_default().push(items.len());
        }
        items.push(JoinItem {
            item: keep(v),
            record: i,
            loc: loc.into_boxed_str(),
        });
    }
}

/// Join tables of more items than this parse an item each time it is looked up, and keep none
/// parsed: a large table is an estate's inventory (the attributes of every snapshot), whose items
/// are each looked up about once, and kept parsed they would hold the whole inventory as values.
const KEEP_PARSED_UP_TO: usize = 4096;

/// The join tables, lent to one evaluation, and the scope `in_scope` asks about.
struct Lookup<'j, 'i>(&'j Joins<'i>, &'j super::Scope);

impl JoinLookup for Lookup<'_, '_> {
    fn lookup(
        &self,
        join: &Join,
        key: &str,
        region: &str,
        reads: bool,
        f: &mut dyn FnMut(&Node<'_>) -> bool,
    ) -> Option<String> {
        let joins = self.0;
        let idx = joins.idx;
        let records = &idx.pack.manifest.records;
        let t = joins.table_of[join.slot];
        let items = &joins.items[t];
        for &n in joins.tables[t].get(key).into_iter().flatten() {
            let it = &items[n];
            if join.same_region && records[it.record].region != region {
                continue;
            }
            let parsed;
            let value = match &it.item {
                Item::Text { .. } if !reads => &Value::Null,
                Item::Text { json, .. } if items.len() > KEEP_PARSED_UP_TO => {
                    parsed = parse(json);
                    &parsed
                }
                _ => it.value(),
            };
            let node = Node {
                value,
                location: Location::InDoc {
                    digest: &records[it.record].sha256,
                    path: &it.loc,
                },
                origin: origin(idx, it.record, value),
            };
            if !f(&node) {
                break;
            }
        }
        joins.failures[t]
            .iter()
            .find(|f| !join.same_region || f.region == region || f.region.is_empty())
            .map(|f| f.describe(joins.probes[t]))
    }

    fn in_scope(
        &self,
        value: &Value,
        account: &str,
        tags: Option<&Query>,
        vpc: Option<&Query>,
    ) -> bool {
        self.1.is_empty() || self.1.contains_by(tags, vpc, value, account)
    }
}

/// What judging one resource gave.
pub enum Judged {
    Resource(ResourceResult),
    /// Outside `--scope`.
    OutOfScope,
    /// Not one the rule applies to (its `where` is false).
    NotSelected,
}

/// How a rule starts: already decided (a probe it reads was never run), or waiting for documents.
pub enum Start<'r, 'i> {
    Done(RuleResult),
    Running(RuleRun<'r, 'i>),
}

/// A rule being evaluated one document of its evidence probe at a time. Its joins are indexed once,
/// from the (loaded) documents of the joined probes.
pub struct RuleRun<'r, 'i> {
    joins: Joins<'i>,
    /// The joins of `scope_via`, built only when a scope is given.
    scope_joins: Option<Box<Joins<'i>>>,
    partial: Partial<'r>,
}

/// A rule's resources judged so far; holds no document.
pub struct Partial<'a> {
    rule: &'a Rule,
    probes: Vec<String>,
    resources: ResourceBuffer,
    out_of_scope: u64,
}

impl<'r: 'i, 'i> RuleRun<'r, 'i> {
    /// Starts `rule`: `Done` with `EvidenceMissing` when a probe it reads was not run; else its joins
    /// are built (their probes must be loaded in `idx`).
    pub fn start(
        rule: &'r Rule,
        idx: &'i EvidenceIndex<'_>,
        regions: &[String],
        scope: &super::Scope,
    ) -> anyhow::Result<Start<'r, 'i>> {
        let probes: Vec<String> = rule.probes().iter().map(|s| s.to_string()).collect();
        let missing: Vec<&String> = probes.iter().filter(|p| !idx.was_run(p)).collect();
        if !missing.is_empty() {
            let resources = missing
                .into_iter()
                .map(|p| ResourceResult {
                    id: p.clone(),
                    region: String::new(),
                    status: ResourceStatus::Error,
                    evidence: Vec::new(),
                    locations: Vec::new(),
                    reason: Some(format!(
                        "EvidenceMissing: probe {p} was not run; the pack holds no evidence from it"
                    )),
                })
                .collect();
            return Ok(Start::Done(finish(
                rule,
                probes,
                Vec::into(resources),
                regions,
                0,
            )));
        }
        let swept = rule.regions == RegionsJudged::Swept;
        let scope_joins = match (&rule.scope_via, scope.is_empty()) {
            (Some(_), false) => Some(Box::new(Joins::build(&rule.scope_joins, idx, swept)?)),
            _ => None,
        };
        Ok(Start::Running(RuleRun {
            joins: Joins::build(&rule.joins, idx, swept)?,
            scope_joins,
            partial: Partial {
                rule,
                probes,
                resources: ResourceBuffer::default(),
                out_of_scope: 0,
            },
        }))
    }

    /// The query naming the rule's resources in each document.
    pub fn resources(&self) -> &'r Query {
        &self.partial.rule.resources
    }

    /// Judges one resource, `v`, found at `rel` (by [`RuleRun::resources`]) in the document of record
    /// `i`, whose location is `doc` (see [`document`]). What it gives is added with [`RuleRun::add`].
    pub fn judge_resource(
        &self,
        idx: &EvidenceIndex<'_>,
        i: usize,
        doc: &Location<'_>,
        v: &serde_json::Value,
        rel: Rel<'_>,
        scope: &super::Scope,
    ) -> Judged {
        let rule = self.partial.rule;
        if rule.regions == RegionsJudged::Scanned && idx.is_swept_only(i) {
            return Judged::NotSelected;
        }
        let records = &idx.pack.manifest.records;
        let o = origin(idx, i, v);
        let node = Node {
            value: v,
            location: Location::Under {
                parent: doc,
                query: &rule.resources,
                rel,
            },
            origin: o,
        };
        if !scope.is_empty() && !scope.contains(rule, v, o.account) && !self.attached(&node, scope)
        {
            return Judged::OutOfScope;
        }
        let joins = Lookup(&self.joins, scope);
        let mut trace = Trace::default();
        if let Some(filter) = &rule.scope {
            match eval(filter, &node, &joins, &mut Quiet::default()) {
                Truth::False => return Judged::NotSelected,
                Truth::True => {}
                Truth::Unknown => {
                    trace
                        .unknown
                        .push("whether the resource is in scope could not be determined".into());
                }
            }
        }
        let truth = if trace.unknown.is_empty() {
            eval(&rule.require, &node, &joins, &mut trace)
        } else {
            Truth::Unknown
        };
        let id = rule
            .resource_id
            .as_ref()
            .and_then(|k| k.first(v, &o.keys()))
            .unwrap_or_else(|| loc_of(&node.location.render()));
        let mut evidence = vec![records[i].sha256.to_string()];
        for r in &trace.records {
            let d = records[*r].sha256.as_str();
            if !evidence.iter().any(|e| e == d) {
                evidence.push(d.to_string());
            }
        }
        let (status, reason) = match truth {
            Truth::True => (ResourceStatus::Pass, None),
            Truth::False => (ResourceStatus::Fail, None),
            Truth::Unknown => (ResourceStatus::Error, Some(trace.unknown.join("; "))),
        };
        Judged::Resource(ResourceResult {
            id,
            region: o.region.to_string(),
            status,
            evidence,
            locations: trace.locations,
            reason,
        })
    }

    /// Whether a resource outside the scope by its own tags and VPC is attached to one inside it
    /// (`scope_via`). When that cannot be read, it is judged: leaving it out might hide a finding.
    fn attached(&self, node: &Node<'_>, scope: &super::Scope) -> bool {
        let (Some(via), Some(joins)) = (&self.partial.rule.scope_via, &self.scope_joins) else {
            return false;
        };
        scope.admits_account(node.origin.account)
            && eval(via, node, &Lookup(joins, scope), &mut Quiet::default()) != Truth::False
    }

    /// Adds a judged resource to the rule's result. Errs only when judged resources cannot be
    /// spilled to a temporary file.
    pub fn add(&mut self, judged: Judged) -> std::io::Result<()> {
        match judged {
            Judged::Resource(r) => self.partial.resources.push(r),
            Judged::OutOfScope => {
                self.partial.out_of_scope += 1;
                Ok(())
            }
            Judged::NotSelected => Ok(()),
        }
    }

    /// The resources judged so far, without the joins (which borrow the index).
    pub fn partial(self) -> Partial<'r> {
        self.partial
    }
}

impl Partial<'_> {
    /// Adds a resource per failure of the evidence probe (`idx` must know them all: the probe's
    /// documents were each converted once) and gives the rule's result. Errs only when judged resources
    /// cannot be spilled to a temporary file.
    pub fn finish(
        self,
        idx: &EvidenceIndex<'_>,
        regions: &[String],
    ) -> std::io::Result<RuleResult> {
        let Partial {
            rule,
            probes,
            mut resources,
            out_of_scope,
        } = self;
        let records = &idx.pack.manifest.records;
        let swept = rule.regions == RegionsJudged::Swept;
        let failures = idx
            .failures(&rule.evidence)
            .iter()
            .filter(|f| swept || !idx.failed_swept_only(&rule.evidence, &f.region));
        for f in failures {
            resources.push(ResourceResult {
                id: format!("{}@{}", rule.evidence, f.region),
                region: f.region.clone(),
                status: ResourceStatus::Error,
                evidence: f
                    .record
                    .map(|r| records[r].sha256.to_string())
                    .into_iter()
                    .collect(),
                locations: Vec::new(),
                reason: Some(format!("{}: {}", f.code, f.message)),
            })?;
        }
        if let Some(e) = unswept(idx, rule) {
            resources.push(e)?;
        }
        Ok(finish(
            rule,
            probes,
            resources.finish()?,
            regions,
            out_of_scope,
        ))
    }
}

/// The residency sweep's failure to learn the enabled regions, for a rule judging every swept region:
/// the regions it did not reach are unknown, so the rule cannot pass.
fn unswept(idx: &EvidenceIndex<'_>, rule: &Rule) -> Option<ResourceResult> {
    let scan = &idx.pack.manifest.scan;
    let sweep = scan.sweep.as_ref()?;
    let e = sweep
        .error
        .as_ref()
        .filter(|_| rule.regions == RegionsJudged::Swept)?;
    Some(ResourceResult {
        id: format!("{}@enabled-regions", rule.evidence),
        region: String::new(),
        status: ResourceStatus::Error,
        evidence: Vec::new(),
        locations: Vec::new(),
        reason: Some(format!(
            "{}: {}; residency was checked only in {}",
            e.code,
            e.message,
            sweep.regions.join(", ")
        )),
    })
}

fn finish(
    rule: &Rule,
    probes: Vec<String>,
    mut resources: Resources,
    regions: &[String],
    out_of_scope: u64,
) -> RuleResult {
    if rule.expect == Expect::AnyPerRegion {
        resources = per_region(resources.into_vec(), regions).into();
    }
    let counts = resources.counts();
    let (passed, failed, errored) = (counts.passed, counts.failed, counts.errored);
    let outcome = match rule.expect {
        Expect::Any if passed > 0 => RuleOutcome::Pass,
        Expect::Any if errored > 0 => RuleOutcome::Error,
        Expect::Any if failed > 0 => RuleOutcome::Fail,
        Expect::All | Expect::AnyPerRegion if failed > 0 => RuleOutcome::Fail,
        _ if errored > 0 => RuleOutcome::Error,
        _ if passed == 0 => RuleOutcome::NotApplicable,
        _ => RuleOutcome::Pass,
    };
    let verdict = match outcome {
        RuleOutcome::Pass => rule.verdict.pass,
        RuleOutcome::Error => Verdict::Error,
        RuleOutcome::NotApplicable => rule.verdict.empty,
        RuleOutcome::Fail if passed > 0 && rule.expect != Expect::Any => rule.verdict.some_fail,
        RuleOutcome::Fail => rule.verdict.all_fail,
    };
    RuleResult {
        id: rule.id.clone(),
        title: rule.title.clone(),
        outcome,
        verdict,
        context: rule.context,
        evidence_probes: probes,
        passed,
        failed,
        errored,
        out_of_scope,
        resources,
        excepted: Vec::new(),
    }
}

/// Folds resources into one entry per scanned region: a region passes when any of its resources does.
fn per_region(resources: Vec<ResourceResult>, regions: &[String]) -> Vec<ResourceResult> {
    let mut all: BTreeSet<&str> = regions.iter().map(String::as_str).collect();
    for r in &resources {
        if !r.region.is_empty() {
            all.insert(&r.region);
        }
    }
    // Errors of no region (a probe the rule reads was not run) leave every region undecided.
    let everywhere: Vec<&ResourceResult> = resources
        .iter()
        .filter(|r| r.region.is_empty() && r.status == ResourceStatus::Error)
        .collect();
    let mut out = Vec::new();
    for region in all {
        let mine: Vec<&ResourceResult> = resources
            .iter()
            .filter(|r| r.region == region)
            .chain(everywhere.iter().copied())
            .collect();
        let pick = |s: ResourceStatus| {
            mine.iter()
                .filter(|r| r.status == s)
                .copied()
                .collect::<Vec<_>>()
        };
        let (pass, err, fail) = (
            pick(ResourceStatus::Pass),
            pick(ResourceStatus::Error),
            pick(ResourceStatus::Fail),
        );
        let (status, chosen, reason) = if !pass.is_empty() {
            (ResourceStatus::Pass, pass, None)
        } else if !err.is_empty() {
            let why = err
                .iter()
                .filter_map(|r| r.reason.clone())
                .collect::<Vec<_>>()
                .join("; ");
            (ResourceStatus::Error, err, Some(why))
        } else if !fail.is_empty() {
            let ids = fail
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            (
                ResourceStatus::Fail,
                fail.clone(),
                Some(format!(
                    "no resource in this region passes (checked: {ids})"
                )),
            )
        } else {
            (
                ResourceStatus::Fail,
                Vec::new(),
                Some("no resource of this kind in this region".to_string()),
            )
        };
        let mut evidence = Vec::new();
        let mut locations = Vec::new();
        for r in &chosen {
            for e in &r.evidence {
                if !evidence.contains(e) {
                    evidence.push(e.clone());
                }
            }
            locations.extend(r.locations.iter().cloned());
        }
        out.push(ResourceResult {
            id: region.to_string(),
            region: region.to_string(),
            status,
            evidence,
            locations,
            reason,
        });
    }
    out
}

/// A one-line explanation of a rule result, in Chinese and English.
pub fn reason(r: &RuleResult) -> Bilingual {
    let ids = |s: ResourceStatus| {
        // The first ten ids; a spilled list is read only as far as the tenth.
        let n = match s {
            ResourceStatus::Pass => r.passed,
            ResourceStatus::Fail => r.failed,
            ResourceStatus::Error => r.errored,
        };
        let shown: Vec<String> = r
            .resources
            .iter()
            .filter(|x| x.status == s)
            .take(10)
            .map(|x| x.id.clone())
            .collect();
        let shown = shown.join(", ");
        if n > 10 {
            format!("{shown}, … (+{})", n - 10)
        } else {
            shown
        }
    };
    let total = r.passed + r.failed + r.errored;
    let (t_zh, t_en) = if r.context {
        (
            format!("参考（不计入结论）：{}", r.title.zh),
            format!("Context (does not count): {}", r.title.en),
        )
    } else {
        (r.title.zh.clone(), r.title.en.clone())
    };
    match r.outcome {
        RuleOutcome::Pass => Bilingual {
            zh: format!("【{t_zh}】满足：{} 项资源均通过。", r.passed),
            en: format!("{t_en}: met — {} of {total} resources pass.", r.passed),
        },
        RuleOutcome::NotApplicable if r.out_of_scope > 0 => Bilingual {
            zh: format!(
                "【{t_zh}】不适用：证据中的 {} 项资源均不在给定的评估范围（--scope-*）内，且未挂载到范围内的资源，本规则没有判定任何资源。",
                r.out_of_scope
            ),
            en: format!(
                "{t_en}: nothing in scope — all {} resources in the evidence are outside the scope given (--scope-*) and attached to nothing inside it; this rule judged none.",
                r.out_of_scope
            ),
        },
        RuleOutcome::NotApplicable => Bilingual {
            zh: format!("【{t_zh}】不适用：证据中没有需要检查的资源。"),
            en: format!(
                "{t_en}: nothing in scope — the evidence holds no resource this rule applies to."
            ),
        },
        RuleOutcome::Fail => {
            let mut zh = format!(
                "【{t_zh}】不满足：{}/{total} 项资源未通过：{}。",
                r.failed,
                ids(ResourceStatus::Fail)
            );
            let mut en = format!(
                "{t_en}: not met — {} of {total} resources fail: {}.",
                r.failed,
                ids(ResourceStatus::Fail)
            );
            if r.errored > 0 {
                zh.push_str(&format!(
                    " 另有 {} 项无法判定：{}。",
                    r.errored,
                    ids(ResourceStatus::Error)
                ));
                en.push_str(&format!(
                    " {} more could not be judged: {}.",
                    r.errored,
                    ids(ResourceStatus::Error)
                ));
            }
            Bilingual { zh, en }
        }
        RuleOutcome::Error => {
            let causes: Vec<String> = r
                .resources
                .iter()
                .filter(|x| x.status == ResourceStatus::Error)
                .filter_map(|x| x.into_owned().reason)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .take(5)
                .collect();
            Bilingual {
                zh: format!(
                    "【{t_zh}】无法判定：所需证据无法读取（{}）。",
                    causes.join("；")
                ),
                en: format!(
                    "{t_en}: cannot be judged — evidence it needs could not be read ({}).",
                    causes.join("; ")
                ),
            }
        }
    }
}

/// The in-document part of a `sha256:…#$…` location.
fn loc_of(location: &str) -> String {
    location
        .split_once('#')
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| location.to_string())
}

/// The location of record `i`'s document: `sha256:<digest>#$`.
pub fn document<'a>(idx: &'a EvidenceIndex<'_>, i: usize) -> Location<'a> {
    Location::InDoc {
        digest: &idx.pack.manifest.records[i].sha256,
        path: "$",
    }
}
