//! AWS rules judged on small hand-made packs: what moto cannot emulate (CloudWatch's CBOR protocol,
//! root MFA), and the evaluation scope.

use dengbao::pack::{EvidenceRecord, Pack, PackWriter, ProbeRun, ProbeStatus, ScanInfo};
use dengbao::results::Results;
use dengbao::verdict::Verdict;
use serde_json::{json, Value};

struct Body {
    probe: &'static str,
    region: &'static str,
    media_type: &'static str,
    bytes: Vec<u8>,
    params: Value,
}

fn json_body(probe: &'static str, region: &'static str, v: Value) -> Body {
    Body {
        probe,
        region,
        media_type: "application/json",
        bytes: serde_json::to_vec(&v).unwrap(),
        params: json!({}),
    }
}

fn aws_pack(dir: &std::path::Path, bodies: Vec<Body>) -> Pack {
    let scan = ScanInfo {
        provider: "aws".into(),
        partition: "aws-cn".into(),
        accounts: vec!["111122223333".into()],
        regions: vec!["cn-north-1".into(), "cn-northwest-1".into()],
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        sweep: None,
    };
    let mut w = PackWriter::create(dir, scan).unwrap();
    let mut runs: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for (i, b) in bodies.into_iter().enumerate() {
        *runs.entry((b.probe.into(), b.region.into())).or_default() += 1;
        let rec = EvidenceRecord {
            probe: b.probe.into(),
            provider: "aws".into(),
            partition: "aws-cn".into(),
            account: "111122223333".into(),
            region: b.region.into(),
            service: b.probe.split('.').nth(1).unwrap().into(),
            operation: "Op".into(),
            parameters: b.params.into(),
            captured_at: format!("2026-01-01T00:00:{i:02}Z"),
            request_id: None,
            http_status: Some(200),
            media_type: b.media_type.into(),
            sha256: Default::default(),
            size: 0,
            error: None,
        };
        w.add_record(rec, &b.bytes).unwrap();
    }
    for ((id, region), n) in runs {
        w.add_probe_run(ProbeRun {
            id,
            region,
            status: ProbeStatus::Ok,
            records: n,
            error: None,
        });
    }
    w.finish().unwrap();
    Pack::open(dir).unwrap()
}

fn evaluate(pack: &Pack, scope: &dengbao::engine::Scope) -> Results {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    dengbao::engine::evaluate_scoped(pack, &loaded.catalog, &loaded.rules, scope).unwrap()
}

fn verdict(r: &Results, id: &str) -> Verdict {
    r.controls.iter().find(|c| c.id == id).unwrap().verdict
}

fn recorders(region: &'static str) -> Vec<Body> {
    vec![
        json_body(
            "aws.config.describe_configuration_recorders",
            region,
            json!({"ConfigurationRecorders": [{"name": "default", "recordingGroup": {"allSupported": true}}]}),
        ),
        json_body(
            "aws.config.describe_configuration_recorder_status",
            region,
            json!({"ConfigurationRecordersStatus": [{"name": "default", "recording": true}]}),
        ),
    ]
}

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).unwrap();
    out
}

/// `n` alarms that notify an SNS topic. (Issue #14 changed this helper: alarms used to have only
/// `ActionsEnabled`, which is the default and notifies no one, so they no longer count.)
fn alarms(region: &'static str, n: usize) -> Body {
    let list: Vec<Value> = (0..n)
        .map(|i| {
            json!({"AlarmName": format!("a{i}"), "ActionsEnabled": true,
                   "AlarmActions": [format!("arn:aws-cn:sns:{region}:111122223333:ops")]})
        })
        .collect();
    Body {
        probe: "aws.cloudwatch.describe_alarms",
        region,
        media_type: "application/cbor",
        bytes: cbor(&json!({"MetricAlarms": list})),
        params: json!({}),
    }
}

#[test]
fn cloudwatch_alarms_in_every_region_make_smc2_04_compliant() {
    let d = tempfile::tempdir().unwrap();
    let mut b = recorders("cn-north-1");
    b.extend(recorders("cn-northwest-1"));
    b.push(alarms("cn-north-1", 2));
    b.push(alarms("cn-northwest-1", 1));
    assert_eq!(
        verdict(
            &evaluate(&aws_pack(d.path(), b), &Default::default()),
            "L3-SMC2-04"
        ),
        Verdict::Compliant
    );
}

#[test]
fn a_region_without_alarms_is_partial() {
    let d = tempfile::tempdir().unwrap();
    let mut b = recorders("cn-north-1");
    b.extend(recorders("cn-northwest-1"));
    b.push(alarms("cn-north-1", 2));
    b.push(alarms("cn-northwest-1", 0));
    assert_eq!(
        verdict(
            &evaluate(&aws_pack(d.path(), b), &Default::default()),
            "L3-SMC2-04"
        ),
        Verdict::PartiallyCompliant
    );
}

#[test]
fn root_mfa_passes_when_the_summary_says_so() {
    let d = tempfile::tempdir().unwrap();
    let xml = b"<GetAccountSummaryResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetAccountSummaryResult><SummaryMap>\
<entry><key>AccountMFAEnabled</key><value>1</value></entry><entry><key>Users</key><value>3</value></entry>\
</SummaryMap></GetAccountSummaryResult></GetAccountSummaryResponse>".to_vec();
    let b = vec![Body {
        probe: "aws.iam.get_account_summary",
        region: "cn-north-1",
        media_type: "text/xml",
        bytes: xml,
        params: json!({}),
    }];
    let r = evaluate(&aws_pack(d.path(), b), &Default::default());
    let c = r.controls.iter().find(|c| c.id == "L3-CES2-01").unwrap();
    let mfa = c
        .rules
        .iter()
        .find(|x| x.id == "aws-root-mfa-enabled")
        .unwrap();
    assert_eq!(mfa.outcome, dengbao::results::RuleOutcome::Pass);
}

fn vpc_pack(dir: &std::path::Path) -> Pack {
    let vpcs = json!({"vpcSet": [
        {"vpcId": "vpc-pay", "ownerId": "111122223333", "tagSet": [{"key": "system", "value": "payments"}]},
        {"vpcId": "vpc-lab", "ownerId": "111122223333", "tagSet": [{"key": "system", "value": "lab"}]},
    ]});
    let logs = json!({"flowLogSet": [{"resourceId": "vpc-pay", "trafficType": "ALL", "flowLogStatus": "ACTIVE"}]});
    let empty = |p| json_body(p, "cn-northwest-1", json!({}));
    aws_pack(
        dir,
        vec![
            json_body("aws.ec2.describe_vpcs", "cn-north-1", vpcs),
            json_body("aws.ec2.describe_flow_logs", "cn-north-1", logs),
            empty("aws.ec2.describe_vpcs"),
            empty("aws.ec2.describe_flow_logs"),
            // The flow-log rule reads interfaces (an unused default VPC needs no flow log), and under a
            // scope the instances in each VPC (a VPC holding an in-scope instance is in scope): none here.
            empty("aws.ec2.describe_network_interfaces"),
            empty("aws.ec2.describe_instances"),
        ],
    )
}

#[test]
fn out_of_scope_resources_never_decide() {
    let d = tempfile::tempdir().unwrap();
    let pack = vpc_pack(d.path());
    // The whole account: the lab VPC has no flow log.
    assert_eq!(
        verdict(&evaluate(&pack, &Default::default()), "L3-ABS2-05"),
        Verdict::PartiallyCompliant
    );
    // The payments system only: compliant, and the lab VPC is counted as out of scope.
    let scope = dengbao::engine::Scope {
        tags: vec![("system".into(), "payments".into())],
        ..Default::default()
    };
    let r = evaluate(&pack, &scope);
    assert_eq!(verdict(&r, "L3-ABS2-05"), Verdict::Compliant);
    let rule = &r
        .controls
        .iter()
        .find(|c| c.id == "L3-ABS2-05")
        .unwrap()
        .rules[0];
    assert_eq!((rule.passed, rule.out_of_scope), (1, 1));
    assert_eq!(r.scan.scope, scope, "the scope is part of the results");
    // By VPC id, the same.
    let by_vpc = dengbao::engine::Scope {
        vpcs: vec!["vpc-pay".into()],
        ..Default::default()
    };
    assert_eq!(
        verdict(&evaluate(&pack, &by_vpc), "L3-ABS2-05"),
        Verdict::Compliant
    );
    // Another account's resources are out of scope entirely.
    let other = dengbao::engine::Scope {
        accounts: vec!["999999999999".into()],
        ..Default::default()
    };
    assert_eq!(
        verdict(&evaluate(&pack, &other), "L3-ABS2-05"),
        Verdict::NotApplicable
    );
}

#[test]
fn scope_flags_work_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    vpc_pack(&d.path().join("pack"));
    let out = d.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dengbao"))
        .args([
            "evaluate",
            d.path().join("pack").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--scope-tag",
            "system=payments",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Results =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(verdict(&r, "L3-ABS2-05"), Verdict::Compliant);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_dengbao"))
        .args([
            "evaluate",
            d.path().join("pack").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--scope-tag",
            "payments",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not KEY=VALUE"));
}
