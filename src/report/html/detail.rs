//! The expanded view of one test item: requirement, test method and criteria from the catalog,
//! reasons, rationale, the resources that failed or could not be read, every rule with its resources,
//! JSONPath locations and evidence links, and the checklist.

use super::{b, bi, bip, esc, status_badge, verdict_badge, Page, MAX_ROWS_PER_RULE};
use crate::catalog::Control;
use crate::report::{evidence::ev_anchor, for_each_problem, ReportInput};
use crate::results::{ControlResult, ResourceStatus, RuleOutcome, RuleResult};
use crate::verdict::Verdict;
use std::fmt::Write;
pub(super) fn detail(
    o: &mut Page<'_>,
    input: &ReportInput<'_>,
    c: &ControlResult,
    cat: Option<&Control>,
) {
    let h = |o: &mut Page<'_>, zh: &str, en: &str| {
        let _ = write!(o, "<h4>{}</h4>", bi(zh, en));
    };
    o.push_str("<div class=\"detail-body\">");
    let _ = write!(
        o,
        "<p class=\"meta\">{} <b>{}</b> · {} <b>{}</b> · {}</p>",
        bi("责任方", "Responsibility"),
        bi(responsibility_zh(&c.responsibility), &c.responsibility),
        bi("自动化", "Automation"),
        bi(super::automation_zh(&c.automation), &c.automation),
        verdict_badge(c.verdict)
    );
    assessor_block(o, c);
    h(o, "安全要求", "Requirement");
    let clause = cat.map(|k| k.clause.as_str()).filter(|s| !s.is_empty());
    let prefix = clause.map(|s| format!("{s}) ")).unwrap_or_default();
    o.push_str(&bip(
        &format!("{prefix}{}", c.requirement),
        &format!("{prefix}{}", c.requirement_en),
    ));
    match cat {
        Some(k) => {
            h(o, "测评方法", "Test method");
            o.push_str(&bip(&k.test_method, &k.test_method_en));
            h(o, "判定标准", "Criteria");
            o.push_str("<dl class=\"criteria\">");
            let mut crit = vec![(
                Verdict::Compliant,
                &k.criteria.compliant,
                &k.criteria_en.compliant,
            )];
            if let (Some(zh), Some(en)) = (
                &k.criteria.partially_compliant,
                &k.criteria_en.partially_compliant,
            ) {
                crit.push((Verdict::PartiallyCompliant, zh, en));
            }
            crit.push((
                Verdict::NonCompliant,
                &k.criteria.non_compliant,
                &k.criteria_en.non_compliant,
            ));
            for (v, zh, en) in crit {
                let _ = write!(
                    o,
                    "<div><dt>{}</dt><dd>{}</dd></div>",
                    verdict_badge(v),
                    bi(zh, en)
                );
            }
            o.push_str("</dl>");
        }
        None => {
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi(
                    "目录中没有本项的测评方法与判定标准。",
                    "The catalog has no test method or criteria for this item."
                )
            );
        }
    }
    h(o, "结论依据", "Reasons");
    o.push_str("<ul class=\"reasons\">");
    for reason in &c.reasons {
        let _ = write!(o, "<li>{}</li>", b(reason));
    }
    o.push_str("</ul>");
    if let Some(rat) = &c.rationale {
        h(o, "判定思路", "Rationale");
        o.push_str(&bip(&rat.zh, &rat.en));
    }
    let mut any = false;
    for_each_problem(c, |p| {
        if !any {
            any = true;
            h(
                o,
                "未通过或无法读取的资源",
                "Resources that failed or could not be read",
            );
            o.push_str("<ul class=\"failing\">");
        }
        let _ = write!(
            o,
            "<li>{} <code class=\"rid\">{}</code> <span class=\"region\">{}</span> — {}</li>",
            status_badge(p.status),
            esc(&p.id),
            esc(&p.region),
            p.rules
                .iter()
                .map(|r| format!("<code>{}</code>", esc(r)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    })
    .expect("writing a page never fails (write errors are kept by the page)");
    if any {
        o.push_str("</ul>");
    }
    if !c.rules.is_empty() {
        h(o, "规则与证据", "Rules and evidence");
        for rule in &c.rules {
            rule_block(o, input, rule);
        }
    }
    if !c.checklist.is_empty() {
        h(o, "人工核查清单", "Checklist");
        o.push_str("<ol class=\"checklist\">");
        for item in &c.checklist {
            let _ = write!(o, "<li>{}</li>", b(item));
        }
        o.push_str("</ol>");
    }
    o.push_str("</div>");
}

/// The assessor's verdict beside the machine's, with who, when, why, and the attached files.
fn assessor_block(o: &mut Page<'_>, c: &ControlResult) {
    if c.assessor.is_none() && c.attachments.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h4>{}</h4><dl class=\"assessor\">",
        bi("测评人员结论", "Assessor's verdict")
    );
    if let Some(a) = &c.assessor {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{} · {} {} · {} {}</dd>",
            bi("结论", "Verdict"),
            verdict_badge(a.verdict),
            bi("测评人员", "Assessor"),
            esc(&a.assessor),
            bi("日期", "Date"),
            esc(&a.date)
        );
        if !a.notes.is_empty() {
            let _ = write!(
                o,
                "<dt>{}</dt><dd>{}</dd>",
                bi("说明", "Notes"),
                esc(&a.notes)
            );
        }
        if let Some(r) = &a.reason {
            let _ = write!(
                o,
                "<dt>{}</dt><dd>{} {}</dd>",
                bi("采纳理由", "Adopted over the machine because"),
                verdict_badge(c.verdict),
                esc(r)
            );
        }
    }
    for f in &c.attachments {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{} <code>{}</code>{}</dd>",
            bi("附件", "Attachment"),
            esc(&f.name),
            esc(&f.sha256),
            f.note
                .as_deref()
                .map(|n| format!(" — {}", esc(n)))
                .unwrap_or_default()
        );
    }
    o.push_str("</dl>");
}

fn responsibility_zh(r: &str) -> &str {
    match r {
        "tenant" => "云服务客户",
        "provider" => "云服务商",
        "shared" => "共同承担",
        other => other,
    }
}

fn outcome_label(x: RuleOutcome) -> (&'static str, &'static str) {
    match x {
        RuleOutcome::Pass => ("通过", "pass"),
        RuleOutcome::Fail => ("未通过", "fail"),
        RuleOutcome::Error => ("无法判定", "error"),
        RuleOutcome::NotApplicable => ("不适用", "not_applicable"),
    }
}

pub(super) fn digest_link(d: &str) -> String {
    let short = d
        .strip_prefix("sha256:")
        .map(|h| &h[..h.len().min(12)])
        .unwrap_or(d);
    format!(
        "<a class=\"ev-link\" href=\"#ev-{}\" title=\"{}\"><code>sha256:{}…</code></a>",
        ev_anchor(d),
        esc(d),
        esc(short)
    )
}

fn rule_block(o: &mut Page<'_>, input: &ReportInput<'_>, rule: &RuleResult) {
    let (zh, en) = outcome_label(rule.outcome);
    let _ = write!(
        o,
        "<div class=\"rule\"><h5>{} <code>{}</code> <span class=\"outcome o-{en}\">{}</span> {}</h5><p class=\"counts\">{}</p>",
        b(&rule.title),
        esc(&rule.id),
        bi(zh, en),
        verdict_badge(rule.verdict),
        bi(
            &format!("通过 {} · 未通过 {} · 无法读取 {} · 证据探针 {}", rule.passed, rule.failed, rule.errored, rule.evidence_probes.join(", ")),
            &format!("passed {} · failed {} · errored {} · evidence probes {}", rule.passed, rule.failed, rule.errored, rule.evidence_probes.join(", "))
        )
    );
    if !rule.resources.is_empty() {
        let _ = write!(
            o,
            "<table class=\"res\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            bi("资源", "Resource"),
            bi("区域", "Region"),
            bi("状态", "Status"),
            bi("证据", "Evidence"),
            bi("定位 / 说明", "Location / note")
        );
        // Failures first, then errors, then passes, each in order: the first rows of each are
        // enough (a rule may have judged a million resources).
        let mut shown: [Vec<_>; 3] = Default::default();
        for r in &rule.resources {
            let bucket = &mut shown[match r.status {
                ResourceStatus::Fail => 0,
                ResourceStatus::Error => 1,
                ResourceStatus::Pass => 2,
            }];
            if bucket.len() < MAX_ROWS_PER_RULE {
                bucket.push(r);
            }
        }
        let total = rule.resources.len();
        for res in shown.iter().flatten().take(MAX_ROWS_PER_RULE) {
            let locs: Vec<String> = res
                .locations
                .iter()
                .map(|l| match l.split_once('#') {
                    Some((d, path)) => format!(
                        "<a class=\"loc\" href=\"#ev-{}\"><code>{}</code></a>",
                        ev_anchor(d),
                        esc(path)
                    ),
                    None => format!("<code>{}</code>", esc(l)),
                })
                .collect();
            let note = res
                .reason
                .as_deref()
                .map(|r| format!("<span class=\"note\">{}</span>", esc(r)))
                .unwrap_or_default();
            let _ = write!(
                o,
                "<tr class=\"st-{}\"><td><code class=\"rid\">{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                crate::report::status_str(res.status),
                esc(&res.id),
                esc(&res.region),
                status_badge(res.status),
                res.evidence.iter().map(|d| digest_link(d)).collect::<Vec<_>>().join(" "),
                locs.join(" "),
                note
            );
        }
        o.push_str("</tbody></table>");
        if total > MAX_ROWS_PER_RULE {
            let n = total - MAX_ROWS_PER_RULE;
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi(
                    &format!("另有 {n} 项资源未列出，见 findings.csv。"),
                    &format!("{n} more resources are not listed; see findings.csv.")
                )
            );
        }
    }
    // The evidence this rule read, with where it came from.
    let mut digests: Vec<String> = Vec::new();
    for res in &rule.resources {
        for d in &res.evidence {
            if !digests.contains(d) {
                digests.push(d.clone());
            }
        }
    }
    if !digests.is_empty() {
        o.push_str("<ul class=\"ev-list\">");
        for d in digests {
            let _ = write!(o, "<li>{} {}</li>", digest_link(&d), record_line(input, &d));
        }
        o.push_str("</ul>");
    }
    o.push_str("</div>");
}

/// `probe · service:Operation · region · captured_at` of a digest's first record (and how many more).
fn record_line(input: &ReportInput<'_>, d: &str) -> String {
    let recs = input.evidence.records(d);
    match recs.first() {
        None => String::new(),
        Some(rec) => {
            let more = if recs.len() > 1 {
                format!(" (+{})", recs.len() - 1)
            } else {
                String::new()
            };
            format!(
                "<span class=\"src\"><code>{}</code> · {}:{} · {} · <time>{}</time>{}</span>",
                esc(&rec.probe),
                esc(&rec.service),
                esc(&rec.operation),
                esc(&rec.region),
                esc(&rec.captured_at),
                esc(&more)
            )
        }
    }
}
