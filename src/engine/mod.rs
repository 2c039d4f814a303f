//! Offline evaluation: a pack, the catalog and the rules in; [`Results`] out. No network, no clock.

mod index;
mod rule;
mod scope;

pub use index::{EvidenceIndex, Failure};
pub use scope::Scope;

use crate::catalog::{Automation, Bilingual, Catalog, Control, Responsibility};
use crate::pack::{Pack, ProbeStatus};
use crate::results::*;
use crate::rules::RuleSet;
use crate::verdict::Verdict;
use anyhow::Result;
use std::collections::HashMap;

/// Evaluates `pack` against every test item of `catalog`.
pub fn evaluate(pack: &Pack, catalog: &Catalog, rules: &RuleSet) -> Result<Results> {
    evaluate_scoped(pack, catalog, rules, &Scope::default())
}

/// Evaluates `pack`, judging only resources inside `scope`.
pub fn evaluate_scoped(
    pack: &Pack,
    catalog: &Catalog,
    rules: &RuleSet,
    scope: &Scope,
) -> Result<Results> {
    let index = EvidenceIndex::build(pack)?;
    let scan = &pack.manifest.scan;
    let provider = scan.provider.as_str();
    let mut rule_cache: HashMap<&str, RuleResult> = HashMap::new();
    let mut controls = Vec::with_capacity(catalog.controls.len());
    let mut summary = Summary::default();
    for control in &catalog.controls {
        let result = match rules.mapping(&control.id, provider) {
            None => manual_result(control, provider),
            Some(mapping) => {
                let mut rule_results = Vec::new();
                for id in &mapping.rules {
                    let rule = &rules.rules[id];
                    let r = rule_cache
                        .entry(rule.id.as_str())
                        .or_insert_with(|| rule::evaluate_rule(rule, &index, &scan.regions, scope))
                        .clone();
                    rule_results.push(r);
                }
                let verdict = combine(
                    rule_results
                        .iter()
                        .filter(|r| !r.context)
                        .map(|r| r.verdict),
                );
                let mut reasons: Vec<Bilingual> = rule_results.iter().map(rule::reason).collect();
                let checklist = if mapping.automation == Automation::Partial {
                    reasons.push(Bilingual {
                        zh: "本项仅部分可由 API 证据判定；其余部分需按检查清单人工核查。".into(),
                        en: "Only part of this item can be judged from API evidence; check the rest by hand using the checklist.".into(),
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
    Ok(Results {
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
    })
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
        reasons: Vec::new(),
        rationale: None,
        rules: Vec::new(),
        checklist: Vec::new(),
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
