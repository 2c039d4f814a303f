//! Synthetic evidence for the benchmarks: EC2 answers shaped like the ones AWS (and moto) send, and a
//! pack of them written with the real `PackWriter`.
#![allow(dead_code)] // each bench uses part of it

use dengbao::pack::{EvidenceRecord, Pack, PackWriter, ProbeRun, ProbeStatus, ScanInfo};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

pub const REGIONS: [&str; 2] = ["cn-north-1", "cn-northwest-1"];
pub const ACCOUNT: &str = "123456789012";
const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// One `<item>` of `securityGroupInfo` with `rules` single-CIDR ingress permissions; a few groups open
/// SSH, RDP over IPv6 or everything to the internet (as in tests/moto/scale_seed.py).
pub fn sg_item(out: &mut String, i: usize, rules: usize) {
    let id = format!("sg-{i:017x}");
    let _ = write!(
        out,
        "<item><ownerId>{ACCOUNT}</ownerId><groupId>{id}</groupId><groupName>bench-sg-{i}</groupName>\
         <groupDescription>bench group {i}</groupDescription><vpcId>vpc-{:017x}</vpcId>\
         <securityGroupArn>arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:security-group/{id}</securityGroupArn><ipPermissions>",
        i % 200
    );
    for j in 0..rules {
        let (proto, from, to, v4, v6) = match (
            i % 50 == 7 && j == 0,
            i % 97 == 11 && j + 1 == rules,
            i % 71 == 5 && j == 1,
        ) {
            (true, _, _) => ("tcp", "22", "22", Some("0.0.0.0/0"), None),
            (_, true, _) => ("-1", "", "", Some("0.0.0.0/0"), None),
            (_, _, true) => ("tcp", "3389", "3389", None, Some("::/0")),
            _ => ("tcp", "", "", None, None),
        };
        let port = (8000 + j).to_string();
        let (from, to) = if proto == "tcp" && from.is_empty() {
            (port.as_str(), port.as_str())
        } else {
            (from, to)
        };
        out.push_str("<item><ipProtocol>");
        out.push_str(proto);
        out.push_str("</ipProtocol>");
        if !from.is_empty() {
            let _ = write!(out, "<fromPort>{from}</fromPort><toPort>{to}</toPort>");
        }
        out.push_str("<groups/>");
        match (v4, v6) {
            (Some(c), _) => {
                let _ = write!(
                    out,
                    "<ipRanges><item><cidrIp>{c}</cidrIp></item></ipRanges><ipv6Ranges/>"
                );
            }
            (_, Some(c)) => {
                let _ = write!(
                    out,
                    "<ipRanges/><ipv6Ranges><item><cidrIpv6>{c}</cidrIpv6></item></ipv6Ranges>"
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "<ipRanges><item><cidrIp>10.{}.0.0/16</cidrIp><description>internal</description></item></ipRanges><ipv6Ranges/>",
                    j % 250
                );
            }
        }
        out.push_str("<prefixListIds/></item>");
    }
    out.push_str(
        "</ipPermissions><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item>\
         <cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress>",
    );
    let _ = write!(
        out,
        "<tagSet><item><key>Name</key><value>bench-sg-{i}</value></item><item><key>project</key>\
         <value>dengbao-bench</value></item></tagSet></item>"
    );
}

/// A DescribeSecurityGroups answer with groups `start..start + n`.
pub fn sg_page(start: usize, n: usize, rules: usize) -> String {
    let mut s = String::with_capacity(n * (400 + 260 * rules));
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSecurityGroupsResponse xmlns=\"{XMLNS}\">\
         <requestId>bench</requestId><securityGroupInfo>"
    );
    for i in start..start + n {
        sg_item(&mut s, i, rules);
    }
    s.push_str("</securityGroupInfo></DescribeSecurityGroupsResponse>");
    s
}

pub fn snapshot_id(i: usize) -> String {
    format!("snap-{i:017x}")
}

/// A DescribeSnapshots answer with snapshots `start..start + n` (every other one encrypted).
pub fn snapshot_page(start: usize, n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSnapshotsResponse xmlns=\"{XMLNS}\">\
         <requestId>bench</requestId><snapshotSet>"
    );
    for i in start..start + n {
        let _ = write!(
            s,
            "<item><snapshotId>{}</snapshotId><volumeId>vol-{:017x}</volumeId><status>completed</status>\
             <startTime>2026-11-25T02:49:47.000Z</startTime><progress>100%</progress><ownerId>{ACCOUNT}</ownerId>\
             <description>bench backup</description><volumeSize>1</volumeSize><encrypted>{}</encrypted>\
             <storageTier>standard</storageTier><tagSet/></item>",
            snapshot_id(i),
            i / 20,
            i % 2 == 0
        );
    }
    s.push_str("</snapshotSet></DescribeSnapshotsResponse>");
    s
}

/// A DescribeSnapshotAttribute answer (createVolumePermission); public when `public`.
pub fn snapshot_attribute(i: usize, public: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSnapshotAttributeResponse xmlns=\"{XMLNS}\">\
         <requestId>bench</requestId><snapshotId>{}</snapshotId><createVolumePermission>{}</createVolumePermission>\
         </DescribeSnapshotAttributeResponse>",
        snapshot_id(i),
        if public { "<item><group>all</group></item>" } else { "" }
    )
}

/// A DescribeVpcs answer with VPCs `start..start + n`.
pub fn vpc_page(start: usize, n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeVpcsResponse xmlns=\"{XMLNS}\"><requestId>bench</requestId><vpcSet>"
    );
    for i in start..start + n {
        let _ = write!(
            s,
            "<item><vpcId>vpc-{i:017x}</vpcId><state>available</state><cidrBlock>10.{}.0.0/16</cidrBlock>\
             <ownerId>{ACCOUNT}</ownerId><isDefault>false</isDefault><tagSet><item><key>Name</key>\
             <value>bench-vpc-{i}</value></item></tagSet></item>",
            i % 250
        );
    }
    s.push_str("</vpcSet></DescribeVpcsResponse>");
    s
}

/// A DescribeFlowLogs answer: ALL on three VPCs in four, REJECT on the rest of every other.
pub fn flow_log_page(start: usize, n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeFlowLogsResponse xmlns=\"{XMLNS}\"><requestId>bench</requestId><flowLogSet>"
    );
    for i in start..start + n {
        let traffic = match i % 4 {
            0 => continue,
            1 => "REJECT",
            _ => "ALL",
        };
        let _ = write!(
            s,
            "<item><flowLogId>fl-{i:017x}</flowLogId><resourceId>vpc-{i:017x}</resourceId>\
             <trafficType>{traffic}</trafficType><logDestinationType>cloud-watch-logs</logDestinationType></item>"
        );
    }
    s.push_str("</flowLogSet></DescribeFlowLogsResponse>");
    s
}

/// A DescribeInstances answer with instances `start..start + n`, one reservation each.
pub fn instance_page(start: usize, n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse xmlns=\"{XMLNS}\"><requestId>bench</requestId><reservationSet>"
    );
    for i in start..start + n {
        let _ = write!(
            s,
            "<item><reservationId>r-{i:017x}</reservationId><ownerId>{ACCOUNT}</ownerId><instancesSet><item>\
             <instanceId>i-{i:017x}</instanceId><imageId>ami-0123456789abcdef0</imageId><instanceState><code>16</code>\
             <name>running</name></instanceState><instanceType>t3.micro</instanceType><subnetId>subnet-{:017x}</subnetId>\
             <vpcId>vpc-{:017x}</vpcId><groupSet><item><groupId>sg-{:017x}</groupId><groupName>{}</groupName></item></groupSet>\
             <metadataOptions><httpTokens>{}</httpTokens></metadataOptions><blockDeviceMapping><item>\
             <deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-{i:017x}</volumeId><status>attached</status></ebs>\
             </item></blockDeviceMapping></item></instancesSet></item>",
            i % 200,
            i % 200,
            i,
            if i % 10 == 3 { "default" } else { "web" },
            if i % 2 == 0 { "required" } else { "optional" }
        );
    }
    s.push_str("</reservationSet></DescribeInstancesResponse>");
    s
}

/// Sizes of a synthetic estate (totals over both regions).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub sgs: usize,
    pub rules_per_sg: usize,
    pub snapshots: usize,
    pub instances: usize,
    pub vpcs: usize,
    /// Items per page, as the scan asks.
    pub page: usize,
}

fn record(probe: &str, op: &str, region: &str, parameters: Value) -> EvidenceRecord {
    EvidenceRecord {
        probe: probe.into(),
        provider: "aws".into(),
        partition: "aws-cn".into(),
        account: ACCOUNT.into(),
        region: region.into(),
        service: probe.split('.').nth(1).unwrap_or("ec2").into(),
        operation: op.into(),
        parameters: parameters.into(),
        captured_at: "2026-11-25T00:00:00.000Z".into(),
        request_id: Some("bench".into()),
        http_status: Some(200),
        media_type: "text/xml;charset=UTF-8".into(),
        sha256: Default::default(),
        size: 0,
        error: None,
    }
}

/// Writes a pack of EC2 evidence for `sizes` into `dir` and opens it.
pub fn write_pack(dir: &Path, sizes: Sizes) -> Pack {
    let scan = ScanInfo {
        provider: "aws".into(),
        partition: "aws-cn".into(),
        accounts: vec![ACCOUNT.into()],
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        started_at: "2026-11-25T00:00:00.000Z".into(),
        finished_at: "2026-11-25T00:10:00.000Z".into(),
        sweep: None,
    };
    let mut w = PackWriter::create(dir, scan).expect("pack dir");
    let mut runs: std::collections::BTreeMap<(String, String), u64> = Default::default();
    let mut add =
        |w: &mut PackWriter, probe: &str, op: &str, region: &str, params: Value, body: String| {
            w.add_record(record(probe, op, region, params), body.as_bytes())
                .expect("blob");
            *runs.entry((probe.into(), region.into())).or_default() += 1;
        };
    for (ri, region) in REGIONS.iter().enumerate() {
        let share = |total: usize| {
            let half = total / 2;
            let start = ri * (total - half);
            (start, if ri == 0 { total - half } else { half })
        };
        let (s0, n) = share(sizes.sgs);
        for p in (0..n).step_by(sizes.page.max(1)) {
            let k = sizes.page.min(n - p);
            let body = sg_page(s0 + p, k, sizes.rules_per_sg);
            add(
                &mut w,
                "aws.ec2.describe_security_groups",
                "DescribeSecurityGroups",
                region,
                json!({"MaxResults": 1000}),
                body,
            );
        }
        let (s0, n) = share(sizes.snapshots);
        for p in (0..n).step_by(sizes.page.max(1)) {
            let k = sizes.page.min(n - p);
            add(
                &mut w,
                "aws.ec2.describe_snapshots",
                "DescribeSnapshots",
                region,
                json!({"OwnerIds": ["self"]}),
                snapshot_page(s0 + p, k),
            );
        }
        for i in s0..s0 + n {
            let params =
                json!({"Attribute": "createVolumePermission", "SnapshotId": snapshot_id(i)});
            add(
                &mut w,
                "aws.ec2.describe_snapshot_attribute",
                "DescribeSnapshotAttribute",
                region,
                params,
                snapshot_attribute(i, i % 200 == 0),
            );
        }
        let (s0, n) = share(sizes.vpcs);
        add(
            &mut w,
            "aws.ec2.describe_vpcs",
            "DescribeVpcs",
            region,
            json!({}),
            vpc_page(s0, n),
        );
        add(
            &mut w,
            "aws.ec2.describe_flow_logs",
            "DescribeFlowLogs",
            region,
            json!({}),
            flow_log_page(s0, n),
        );
        let (s0, n) = share(sizes.instances);
        for p in (0..n).step_by(sizes.page.max(1)) {
            let k = sizes.page.min(n - p);
            add(
                &mut w,
                "aws.ec2.describe_instances",
                "DescribeInstances",
                region,
                json!({}),
                instance_page(s0 + p, k),
            );
        }
    }
    for ((id, region), records) in runs {
        w.add_probe_run(ProbeRun {
            id,
            region,
            status: ProbeStatus::Ok,
            records,
            error: None,
        });
    }
    w.finish().expect("manifest");
    Pack::open(dir).expect("pack opens")
}

/// Resource-rule checks in a result: every resource judged by every (distinct) rule.
pub fn checks(results: &dengbao::results::Results) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    results
        .controls
        .iter()
        .flat_map(|c| c.rules.iter())
        .filter(|r| seen.insert(r.id.clone()))
        .map(|r| r.passed + r.failed + r.errored)
        .sum()
}
