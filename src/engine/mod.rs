//! Offline evaluation: a pack, the catalog and the rules in; [`Results`] out. No network, no clock.

mod index;
mod judging;
mod rule;
mod scope;

/// The scope now lives in [`crate::scope`] (results record it); the engine applies it.
pub use crate::scope::Scope;
pub use index::{EvidenceIndex, Failure};

use crate::catalog::{Automation, Bilingual, Catalog, Control, Responsibility};
use crate::pack::{Pack, ProbeStatus};
use crate::results::*;
use crate::rules::{Rule, RuleSet};
use crate::verdict::Verdict;
use anyhow::Result;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Evaluates `pack` against every test item of `catalog`.
pub fn evaluate(pack: &Pack, catalog: &Catalog, rules: &RuleSet) -> Result<Results> {
    evaluate_scoped(pack, catalog, rules, &Scope::default())
}

/// Evaluates `pack`, judging only resources inside `scope`.
///
/// Documents are converted as rules need them: the documents of each probe that rules judge are
/// streamed, one at a time, through every rule reading that probe; joined probes are streamed into
/// per-rule join tables that keep each joined item as compact text, parsed when first looked up. Only
/// the probes rules read are converted, and no document outlives the step that reads it.
pub fn evaluate_scoped(
    pack: &Pack,
    catalog: &Catalog,
    rules: &RuleSet,
    scope: &Scope,
) -> Result<Results> {
    // After a live scan, what the collecting threads freed must not add to evaluation's peak.
    crate::heap::release_freed();
    let mut index = EvidenceIndex::open(pack);
    let (results, timings) = evaluate_timed(&mut index, catalog, rules, scope)?;
    tracing::debug!(
        total_ms = timings.total.as_millis() as u64,
        judging_ms = timings.judging.as_millis() as u64,
        "evaluated the pack (the rest of the time went to reading and converting documents, and join tables)"
    );
    Ok(results)
}

/// Where an evaluation spent its time.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    /// The whole evaluation.
    pub total: Duration,
    /// Judging: every rule over every resource of each document once it is converted (reading and
    /// converting documents, and building join tables, are the rest of `total`).
    pub judging: Duration,
}

/// Evaluates `pack` through `index`, which may hold documents already (e.g. built with
/// [`EvidenceIndex::build`]); documents it loads are dropped again when no longer needed.
pub fn evaluate_index(
    index: &mut EvidenceIndex<'_>,
    catalog: &Catalog,
    rules: &RuleSet,
    scope: &Scope,
) -> Result<Results> {
    evaluate_timed(index, catalog, rules, scope).map(|(results, _)| results)
}

/// As [`evaluate_index`], saying where the time went.
pub fn evaluate_timed(
    index: &mut EvidenceIndex<'_>,
    catalog: &Catalog,
    rules: &RuleSet,
    scope: &Scope,
) -> Result<(Results, Timings)> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let pack = index.pack;
    let scan = &pack.manifest.scan;
    let provider = scan.provider.as_str();
    // Every rule the provider's mappings use, in first-use order, and how often each is used.
    let mut uses: HashMap<&str, usize> = HashMap::new();
    let mut needed = Vec::new();
    for control in &catalog.controls {
        if let Some(mapping) = rules.mapping(&control.id, provider) {
            for id in &mapping.rules {
                let n = uses.entry(id.as_str()).or_default();
                if *n == 0 {
                    needed.push(&rules.rules[id]);
                }
                *n += 1;
            }
        }
    }
    let mut rule_cache = evaluate_rules(index, &needed, &scan.regions, scope, &mut timings)?;
    let mut controls = Vec::with_capacity(catalog.controls.len());
    let mut summary = Summary::default();
    for control in &catalog.controls {
        let result = match rules.mapping(&control.id, provider) {
            None => manual_result(control, provider),
            Some(mapping) => {
                let mut rule_results = Vec::new();
                for id in &mapping.rules {
                    // Moved out on its last use; cloned only for a rule that judges several items.
                    let left = uses.get_mut(id.as_str()).expect("counted");
                    *left -= 1;
                    let r = if *left == 0 {
                        rule_cache.remove(id.as_str())
                    } else {
                        rule_cache.get(id.as_str()).cloned()
                    };
                    rule_results.push(r.expect("every needed rule was evaluated"));
                }
                let verdict = combine(
                    rule_results
                        .iter()
                        .filter(|r| !r.context)
                        .map(|r| r.verdict),
                );
                let mut reasons: Vec<Bilingual> = rule_results.iter().map(rule::reason).collect();
                let checklist = if mapping.automation != Automation::Full {
                    reasons.push(if mapping.automation == Automation::Partial {
                        Bilingual {
                            zh: "本项仅部分可由 API 证据判定；其余部分需按检查清单人工核查。".into(),
                            en: "Only part of this item can be judged from API evidence; check the rest by hand using the checklist.".into(),
                        }
                    } else {
                        Bilingual {
                            zh: "本项的符合须人工核查：上列 API 证据供参考（可据以发现不符合），按检查清单收集其余证据。".into(),
                            en: "Whether this item is met is checked by hand: the API evidence above supports the assessor (and can show non-compliance); collect the rest using the checklist.".into(),
                        }
                    });
                    mapping
                        .checklist
                        .clone()
                        .unwrap_or_else(|| control.checklist.clone())
                } else {
                    Vec::new()
                };
                ControlResult {
                    automation: mapping.automation.as_str().to_string(),
                    verdict,
                    reasons,
                    rationale: Some(mapping.rationale.clone()),
                    rules: rule_results,
                    checklist,
                    ..control_header(control)
                }
            }
        };
        summary.add(result.verdict);
        controls.push(result);
    }
    let probes = pack
        .manifest
        .probes
        .iter()
        .map(|p| ProbeResult {
            id: p.id.clone(),
            region: p.region.clone(),
            status: match p.status {
                ProbeStatus::Ok => "ok".into(),
                ProbeStatus::Error => "error".into(),
            },
            records: p.records,
            error: p.error.clone(),
        })
        .collect();
    let results = Results {
        schema: RESULTS_SCHEMA.into(),
        tool: Tool {
            name: "dengbao".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        framework: FrameworkRef {
            id: catalog.framework.id.clone(),
            name: catalog.framework.name.clone(),
            name_en: catalog.framework.name_en.clone(),
            standard: catalog.framework.standard.clone(),
            test_items: catalog.framework.test_items.clone(),
        },
        scan: Scan {
            provider: scan.provider.clone(),
            partition: scan.partition.clone(),
            accounts: scan.accounts.clone(),
            regions: scan.regions.clone(),
            started_at: scan.started_at.clone(),
            finished_at: scan.finished_at.clone(),
            pack_digest: pack.digest(),
            scope: scope.clone(),
            document_conversion: crate::convert::XML_CONVERSION.into(),
        },
        summary,
        controls,
        probes,
        exceptions: None,
        assessment: None,
    };
    timings.total = started.elapsed();
    Ok((results, timings))
}

/// Evaluates `needed`, grouped by evidence probe: each rule's join tables are built (streaming the
/// joined probes), then the group's documents stream through all of its rules, each document
/// converted once and dropped after.
fn evaluate_rules<'r>(
    index: &mut EvidenceIndex<'_>,
    needed: &[&'r Rule],
    regions: &[String],
    scope: &Scope,
    timings: &mut Timings,
) -> Result<HashMap<&'r str, RuleResult>> {
    let mut groups: Vec<(&'r str, Vec<&'r Rule>)> = Vec::new();
    for rule in needed {
        match groups.iter_mut().find(|(e, _)| *e == rule.evidence) {
            Some((_, g)) => g.push(rule),
            None => groups.push((rule.evidence.as_str(), vec![rule])),
        }
    }
    let mut out = HashMap::new();
    for (evidence, group) in &groups {
        let resident = index.is_loaded(evidence);
        let mut unparsable = Vec::new();
        let mut running: Vec<&'r Rule> = Vec::new();
        let partials = {
            let idx = &*index;
            let mut runs = Vec::new();
            for &rule in group {
                match rule::RuleRun::start(rule, idx, regions, scope)? {
                    rule::Start::Done(r) => {
                        out.insert(rule.id.as_str(), r);
                    }
                    rule::Start::Running(run) => {
                        running.push(rule);
                        runs.push(run);
                    }
                }
            }
            if !runs.is_empty() {
                let groups = judging::Groups::new(&runs);
                if resident {
                    for (i, doc) in idx.documents(evidence) {
                        let started = Instant::now();
                        judging::judge_document(&mut runs, &groups, idx, i, doc, scope, None)?;
                        timings.judging += started.elapsed();
                    }
                } else {
                    for &i in idx.records(evidence) {
                        let judged = judging::convert_and_judge(
                            &mut runs,
                            &groups,
                            idx,
                            i,
                            scope,
                            &mut timings.judging,
                        )?;
                        if let Some(Err(e)) = judged {
                            unparsable.push(Failure::unparsable(
                                &idx.pack.manifest.records[i].region,
                                i,
                                &e,
                            ));
                        }
                    }
                }
            }
            runs.into_iter()
                .map(rule::RuleRun::partial)
                .collect::<Vec<_>>()
        };
        if !partials.is_empty() && !resident {
            index.add_unparsable(evidence, unparsable);
        }
        for (rule, p) in running.into_iter().zip(partials) {
            out.insert(rule.id.as_str(), p.finish(index, regions)?);
        }
    }
    Ok(out)
}

/// Combines rule verdicts into a control verdict: the most severe wins (see [`Verdict::severity`]);
/// `not_applicable` only when every rule is.
pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts
        .into_iter()
        .max_by_key(|v| v.severity())
        .unwrap_or(Verdict::Manual)
}

fn control_header(c: &Control) -> ControlResult {
    ControlResult {
        id: c.id.clone(),
        layer: c.layer.clone(),
        layer_en: c.layer_en.clone(),
        control_point: c.control_point.clone(),
        control_point_en: c.control_point_en.clone(),
        requirement: c.requirement.clone(),
        requirement_en: c.requirement_en.clone(),
        responsibility: match c.responsibility {
            Responsibility::Tenant => "tenant",
            Responsibility::Provider => "provider",
            Responsibility::Shared => "shared",
        }
        .into(),
        automation: Automation::Manual.as_str().into(),
        verdict: Verdict::Manual,
        verdict_with_exceptions: None,
        reasons: Vec::new(),
        rationale: None,
        rules: Vec::new(),
        checklist: Vec::new(),
        assessor: None,
        attachments: Vec::new(),
    }
}

fn manual_result(c: &Control, provider: &str) -> ControlResult {
    ControlResult {
        reasons: vec![Bilingual {
            zh: format!("本项无法由 {provider} API 证据判定（{}），需人工核查：按检查清单收集证据。", c.automation_note),
            en: format!("This item cannot be judged from {provider} API evidence ({}); collect the evidence in the checklist.", c.automation_note_en),
        }],
        checklist: c.checklist.clone(),
        ..control_header(c)
    }
}
