//! Aggregation to each verdict, failed and missing evidence, joins, determinism.

mod common;
use common::*;
use dengbao::results::{ResourceStatus, RuleOutcome};
use dengbao::verdict::Verdict;
use serde_json::json;

const FLOW: &str = r#"
[[rule]]
id = "vpc-flow"
title = { zh = "流日志", en = "flow logs" }
evidence = "t.svc.a"
resources = "$.vpcs[*]"
resource_id = "$.id"
require = { any = { join = "t.svc.b", items = "$.logs[*]", on = "$.vpc", equals = "$.id", same_region = true },
            check = { path = "$.traffic", eq = "ALL" } }

[[control]]
id = "L3-ABS2-05"
automation = "partial"
rules = ["vpc-flow"]
rationale = { zh = "理由", en = "why" }
"#;

fn vpcs(ids: &[&str]) -> serde_json::Value {
    json!({"vpcs": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()})
}

#[test]
fn every_vpc_covered_is_compliant() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1", "v2"])),
            ok(
                "t.svc.b",
                "r1",
                json!({"logs": [{"vpc": "v1", "traffic": "ALL"}, {"vpc": "v2", "traffic": "ALL"}]}),
            ),
        ],
    );
    let r = evaluate(&pack, FLOW);
    let c = control(&r, "L3-ABS2-05");
    assert_eq!(c.verdict, Verdict::Compliant);
    assert_eq!(c.rules[0].passed, 2);
    // Each resource names the VPC document and the flow-log document it was judged on, by digest.
    let v1 = &c.rules[0].resources.to_vec()[0];
    assert_eq!(v1.evidence.len(), 2);
    assert!(v1
        .evidence
        .iter()
        .all(|e| e.starts_with("sha256:") && e.len() == 71));
    assert!(
        v1.locations
            .iter()
            .any(|l| l.ends_with("#$['logs'][0]['traffic']")),
        "{:?}",
        v1.locations
    );
    assert!(
        !c.checklist.is_empty(),
        "partial automation carries the remaining checklist"
    );
}

#[test]
fn partial_coverage_is_partially_compliant_and_none_is_non_compliant() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1", "v2"])),
            ok(
                "t.svc.b",
                "r1",
                json!({"logs": [{"vpc": "v1", "traffic": "ALL"}, {"vpc": "v2", "traffic": "REJECT"}]}),
            ),
        ],
    );
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::PartiallyCompliant);
    assert!(c.reasons[0].en.contains("v2"), "{}", c.reasons[0].en);

    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1"])),
            ok("t.svc.b", "r1", json!({"logs": []})),
        ],
    );
    assert_eq!(
        control(&evaluate(&pack, FLOW), "L3-ABS2-05").verdict,
        Verdict::NonCompliant
    );
}

#[test]
fn nothing_in_scope_is_not_applicable() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&[])),
            ok("t.svc.b", "r1", json!({"logs": []})),
        ],
    );
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::NotApplicable);
    assert_eq!(c.rules[0].outcome, RuleOutcome::NotApplicable);
}

#[test]
fn failed_join_evidence_is_error_never_pass() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1"])),
            failed("t.svc.b", "r1", "AccessDeniedException"),
        ],
    );
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::Error);
    assert_eq!(
        c.rules[0].resources.to_vec()[0].status,
        ResourceStatus::Error
    );
    assert!(c.rules[0].resources.to_vec()[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("AccessDeniedException"));
    assert!(
        c.reasons[0].en.contains("could not be read"),
        "{}",
        c.reasons[0].en
    );
}

#[test]
fn failed_primary_evidence_is_error_and_a_known_failure_still_wins() {
    // Region r2's VPC list is unreadable: even with r1 fully covered, the rule cannot pass.
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1", "r2"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1"])),
            failed("t.svc.a", "r2", "Throttling"),
            ok(
                "t.svc.b",
                "r1",
                json!({"logs": [{"vpc": "v1", "traffic": "ALL"}]}),
            ),
        ],
    );
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::Error);
    let err = c.rules[0]
        .resources
        .iter()
        .find(|r| r.status == ResourceStatus::Error)
        .unwrap();
    assert_eq!(err.region, "r2");
    assert!(err.reason.as_deref().unwrap().starts_with("Throttling"));
    assert_eq!(err.evidence.len(), 1, "the error body is evidence too");

    // A failure that is certain is reported even though other evidence is missing.
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1", "r2"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1"])),
            failed("t.svc.a", "r2", "Throttling"),
            ok("t.svc.b", "r1", json!({"logs": []})),
        ],
    );
    assert_eq!(
        control(&evaluate(&pack, FLOW), "L3-ABS2-05").verdict,
        Verdict::NonCompliant
    );
}

#[test]
fn evidence_never_collected_is_error() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(d.path(), &["r1"], vec![ok("t.svc.a", "r1", vpcs(&["v1"]))]);
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.rules[0].resources.to_vec()[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("EvidenceMissing: probe t.svc.b"));
}

#[test]
fn unparsable_body_is_error() {
    let d = tempfile::tempdir().unwrap();
    let scan = dengbao::pack::ScanInfo {
        provider: "t".into(),
        partition: "t".into(),
        accounts: vec!["1".into()],
        regions: vec!["r1".into()],
        started_at: "x".into(),
        finished_at: "y".into(),
        sweep: None,
    };
    let mut w = dengbao::pack::PackWriter::create(d.path(), scan).unwrap();
    let rec = |probe: &str| dengbao::pack::EvidenceRecord {
        probe: probe.into(),
        provider: "t".into(),
        partition: "t".into(),
        account: "1".into(),
        region: "r1".into(),
        service: "svc".into(),
        operation: "List".into(),
        parameters: json!({}).into(),
        captured_at: "t".into(),
        request_id: None,
        http_status: Some(200),
        media_type: "application/json".into(),
        sha256: Default::default(),
        size: 0,
        error: None,
    };
    w.add_record(rec("t.svc.a"), b"{\"vpcs\": [ {\"id\": ")
        .unwrap();
    w.add_record(rec("t.svc.b"), b"{\"logs\": []}").unwrap();
    w.finish().unwrap();
    let pack = dengbao::pack::Pack::open(d.path()).unwrap();
    let c = control(&evaluate(&pack, FLOW), "L3-ABS2-05").clone();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.rules[0].resources.to_vec()[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("UnparsableResponse"));
}

const PER_REGION: &str = r#"
[[rule]]
id = "detector-per-region"
title = { zh = "检测器", en = "detector" }
evidence = "t.svc.c"
resources = "$.detectors[*]"
resource_id = "$.id"
require = { path = "$.status", eq = "ENABLED" }
expect = "any_per_region"

[[rule]]
id = "some-trail"
title = { zh = "跟踪", en = "trail" }
evidence = "t.svc.a"
resources = "$.trails[*]"
require = { path = "$.multi", eq = true }
expect = "any"
verdict = { all_fail = "partially_compliant", empty = "non_compliant" }

[[control]]
id = "L3-ABS2-03"
automation = "partial"
rules = ["detector-per-region"]
rationale = { zh = "理由", en = "why" }

[[control]]
id = "L3-ABS2-07"
automation = "full"
rules = ["some-trail"]
rationale = { zh = "理由", en = "why" }
"#;

#[test]
fn any_per_region_needs_every_region_and_suspended_does_not_count() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1", "r2", "r3"],
        vec![
            ok(
                "t.svc.c",
                "r1",
                json!({"detectors": [{"id": "d1", "status": "ENABLED"}]}),
            ),
            ok(
                "t.svc.c",
                "r2",
                json!({"detectors": [{"id": "d2", "status": "DISABLED"}]}),
            ),
            ok("t.svc.c", "r3", json!({"detectors": []})),
            ok("t.svc.a", "r1", json!({"trails": []})),
        ],
    );
    let r = evaluate(&pack, PER_REGION);
    let c = control(&r, "L3-ABS2-03");
    assert_eq!(c.verdict, Verdict::PartiallyCompliant);
    let resources = c.rules[0].resources.to_vec();
    let by: Vec<(&str, ResourceStatus)> = resources
        .iter()
        .map(|x| (x.id.as_str(), x.status))
        .collect();
    assert_eq!(
        by,
        vec![
            ("r1", ResourceStatus::Pass),
            ("r2", ResourceStatus::Fail),
            ("r3", ResourceStatus::Fail)
        ]
    );
    // No trail at all: the rule's `empty` verdict says non_compliant.
    assert_eq!(control(&r, "L3-ABS2-07").verdict, Verdict::NonCompliant);
}

#[test]
fn expect_any_passes_with_one_good_resource() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok(
                "t.svc.a",
                "r1",
                json!({"trails": [{"multi": false}, {"multi": "true"}]}),
            ),
            ok("t.svc.c", "r1", json!({"detectors": []})),
        ],
    );
    let r = evaluate(&pack, PER_REGION);
    assert_eq!(control(&r, "L3-ABS2-07").verdict, Verdict::Compliant);
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", json!({"trails": [{"multi": false}]})),
            ok("t.svc.c", "r1", json!({"detectors": []})),
        ],
    );
    assert_eq!(
        control(&evaluate(&pack, PER_REGION), "L3-ABS2-07").verdict,
        Verdict::PartiallyCompliant
    );
}

#[test]
fn unmapped_items_are_manual_with_a_checklist_and_summary_counts_all() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1"])),
            ok("t.svc.b", "r1", json!({"logs": []})),
        ],
    );
    let r = evaluate(&pack, FLOW);
    let m = control(&r, "L3-CMS2-01");
    assert_eq!(m.verdict, Verdict::Manual);
    assert!(!m.checklist.is_empty());
    assert!(m
        .checklist
        .iter()
        .all(|i| !i.zh.is_empty() && !i.en.is_empty()));
    assert_eq!(r.summary.total, 46);
    assert_eq!(r.summary.manual, 45);
    assert_eq!(r.summary.non_compliant, 1);
}

#[test]
fn combine_orders_verdicts_by_severity() {
    use dengbao::engine::combine;
    use Verdict::*;
    assert_eq!(combine([Compliant, NonCompliant, Error]), NonCompliant);
    assert_eq!(combine([Compliant, Error, PartiallyCompliant]), Error);
    assert_eq!(combine([Compliant, PartiallyCompliant]), PartiallyCompliant);
    assert_eq!(combine([Compliant, NotApplicable]), Compliant);
    assert_eq!(combine([NotApplicable, NotApplicable]), NotApplicable);
}

#[test]
fn evaluation_is_deterministic() {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1", "r2"],
        vec![
            ok("t.svc.a", "r1", vpcs(&["v1", "v2", "v3"])),
            ok("t.svc.a", "r2", vpcs(&["v4"])),
            ok(
                "t.svc.b",
                "r1",
                json!({"logs": [{"vpc": "v2", "traffic": "ALL"}]}),
            ),
            ok("t.svc.b", "r2", json!({"logs": []})),
        ],
    );
    let a = evaluate(&pack, FLOW).to_json_bytes();
    let b = evaluate(&dengbao::pack::Pack::open(d.path()).unwrap(), FLOW).to_json_bytes();
    assert_eq!(a, b);
}

/// Evaluation streams each probe's documents and keeps joined ones only while needed; the results are
/// the same as when every document is converted up front, unparsable bodies and failures included.
#[test]
fn streamed_evaluation_equals_evaluation_of_a_converted_index() {
    let rules_text = format!(
        "{FLOW}\n{}",
        r#"
[[rule]]
id = "logs-all"
title = { zh = "流日志", en = "flow logs" }
evidence = "t.svc.b"
resources = "$.logs[*]"
require = { path = "$.traffic", eq = "ALL" }

[[control]]
id = "L3-ABS2-03"
automation = "partial"
rules = ["logs-all"]
rationale = { zh = "理由", en = "why" }
"#
    );
    let d = tempfile::tempdir().unwrap();
    let scan = dengbao::pack::ScanInfo {
        provider: "t".into(),
        partition: "t".into(),
        accounts: vec!["1".into()],
        regions: vec!["r1".into(), "r2".into(), "r3".into()],
        started_at: "x".into(),
        finished_at: "y".into(),
        sweep: None,
    };
    let mut w = dengbao::pack::PackWriter::create(d.path(), scan).unwrap();
    let rec = |probe: &str, region: &str, failed: bool| dengbao::pack::EvidenceRecord {
        probe: probe.into(),
        provider: "t".into(),
        partition: "t".into(),
        account: "1".into(),
        region: region.into(),
        service: "svc".into(),
        operation: "List".into(),
        parameters: json!({}).into(),
        captured_at: "t".into(),
        request_id: None,
        http_status: Some(if failed { 403 } else { 200 }),
        media_type: "application/json".into(),
        sha256: Default::default(),
        size: 0,
        error: failed.then(|| dengbao::pack::ProbeError {
            code: "AccessDenied".into(),
            message: "no".into(),
        }),
    };
    let body = |v: serde_json::Value| v.to_string().into_bytes();
    w.add_record(
        rec("t.svc.a", "r1", false),
        &body(vpcs(&["v1", "v2", "v3"])),
    )
    .unwrap();
    w.add_record(rec("t.svc.a", "r2", false), b"{\"vpcs\": [")
        .unwrap();
    w.add_record(rec("t.svc.a", "r3", true), b"{}").unwrap();
    w.add_record(
        rec("t.svc.b", "r1", false),
        &body(
            json!({"logs": [{"vpc": "v1", "traffic": "ALL"}, {"vpc": "v2", "traffic": "REJECT"}]}),
        ),
    )
    .unwrap();
    w.add_record(rec("t.svc.b", "r2", false), b"<not json")
        .unwrap();
    for (id, region, status) in [
        ("t.svc.a", "r1", dengbao::pack::ProbeStatus::Ok),
        ("t.svc.a", "r2", dengbao::pack::ProbeStatus::Ok),
        ("t.svc.a", "r3", dengbao::pack::ProbeStatus::Error),
        ("t.svc.b", "r1", dengbao::pack::ProbeStatus::Ok),
        ("t.svc.b", "r2", dengbao::pack::ProbeStatus::Ok),
        ("t.svc.b", "r3", dengbao::pack::ProbeStatus::Error),
    ] {
        w.add_probe_run(dengbao::pack::ProbeRun {
            id: id.into(),
            region: region.into(),
            status,
            records: 1,
            error: (status == dengbao::pack::ProbeStatus::Error).then(|| {
                dengbao::pack::ProbeError {
                    code: "ConnectionError".into(),
                    message: "refused".into(),
                }
            }),
        });
    }
    w.finish().unwrap();
    let pack = dengbao::pack::Pack::open(d.path()).unwrap();
    let set = rules(&rules_text).unwrap();
    let streamed = dengbao::engine::evaluate(&pack, &catalog(), &set).unwrap();
    let mut index = dengbao::engine::EvidenceIndex::build(&pack).unwrap();
    let converted = dengbao::engine::evaluate_index(
        &mut index,
        &catalog(),
        &set,
        &dengbao::engine::Scope::default(),
    )
    .unwrap();
    assert_eq!(streamed.to_json_bytes(), converted.to_json_bytes());
    let flow = control(&streamed, "L3-ABS2-05");
    let resources = flow.rules[0].resources.to_vec();
    let reasons: Vec<&str> = resources
        .iter()
        .filter_map(|r| r.reason.as_deref())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("UnparsableResponse")),
        "{reasons:?}"
    );
    assert_eq!(control(&streamed, "L3-ABS2-03").rules[0].failed, 1);
}

/// A rule over thousands of resources keeps them in a temporary file, not in memory; the results are
/// the same, byte for byte, as the same results held in memory.
#[test]
fn many_resources_spill_to_disk_and_give_the_same_results() {
    let n = dengbao::results::SPILL_AT * 3 + 7;
    let ids: Vec<String> = (0..n).map(|i| format!("v{i:05}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", vpcs(&ids)),
            ok(
                "t.svc.b",
                "r1",
                json!({"logs": [{"vpc": "v00002", "traffic": "ALL"}]}),
            ),
        ],
    );
    let results = evaluate(&pack, FLOW);
    let rule = &results
        .controls
        .iter()
        .find(|c| c.id == "L3-ABS2-05")
        .unwrap()
        .rules[0];
    assert!(rule.resources.is_spilled());
    assert_eq!(rule.resources.len(), n);
    assert_eq!((rule.passed, rule.failed), (1, n as u64 - 1));
    let failing: Vec<String> = rule
        .resources
        .iter()
        .filter(|r| r.status == ResourceStatus::Fail)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(failing.len(), n - 1);
    assert_eq!(&failing[..3], ["v00000", "v00001", "v00003"]);
    let reason = &results
        .controls
        .iter()
        .find(|c| c.id == "L3-ABS2-05")
        .unwrap()
        .reasons[0]
        .en;
    assert!(reason.contains(&format!("(+{})", n - 1 - 10)), "{reason}");
    let bytes = results.to_json_bytes();
    // Reading results.json back (as `report` does) spills the large list again as it is read.
    let read_back: dengbao::results::Results = serde_json::from_slice(&bytes).unwrap();
    assert!(read_back
        .controls
        .iter()
        .any(|c| c.rules.iter().any(|r| r.resources.is_spilled())));
    assert_eq!(read_back.to_json_bytes(), bytes);
    assert_eq!(read_back, results);
    let file = d.path().join("results.json");
    results.write_json(&file).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
}
