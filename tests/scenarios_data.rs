//! The "data" topic's scenarios (issues #14 and #15): residency, keys, identity, backups, foreign access,
//! console sign-ins from abroad. Each expected verdict is written from the guide's 判定标准, quoted beside it.
//!
//! Alibaba Cloud scenarios run against the local endpoint (tests/aliyun/server.py, estates in
//! tests/aliyun/estates_data.py). AWS scenarios whose API moto does not emulate are hand-made packs, said
//! at each: moto has no ConsoleLogin events for LookupEvents and no cross-region automated-backup
//! replication, and cannot put a trail in the global partition beside an aws-cn scan.

mod common;
use dengbao::results::{ResourceStatus, Results};
use dengbao::verdict::Verdict::{self, *};
use serde_json::{json, Value};

// ---------------------------------------------------------------- hand-made AWS packs

/// One answer of a hand-made pack: probe, region, parameters, JSON body (null: the probe ran with
/// nothing to ask about, and left no record).
type Answer = (&'static str, &'static str, Value, Value);

/// The verdicts of an `aws-cn` pack of account 111122223333 (scanned region cn-north-1) holding
/// `answers`.
fn judged(answers: &[Answer]) -> Results {
    judged_in(AWS_CN, calls(answers))
}

/// The partition and scanned region of most hand-made packs here.
const AWS_CN: (&str, &str) = ("aws-cn", "cn-north-1");

fn calls(answers: &[Answer]) -> Vec<common::Call> {
    answers
        .iter()
        .map(|(probe, region, params, body)| common::Call {
            params: params.clone(),
            ..common::ok(probe, region, body.clone())
        })
        .collect()
}

/// The verdicts of a pack of `partition`, account 111122223333, scanned in `region`, holding `calls`.
fn judged_in((partition, region): (&str, &str), calls: Vec<common::Call>) -> Results {
    let d = tempfile::tempdir().unwrap();
    let pack = common::write_provider_pack(d.path(), ("aws", partition), &[region], calls);
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    dengbao::engine::evaluate(&pack, &loaded.catalog, &loaded.rules).unwrap()
}

/// `answers` judged in (`partition`, `region`), each (probe, region) of `denied` answering AccessDenied
/// instead.
fn judged_denied(
    at: (&str, &str),
    answers: &[Answer],
    denied: &[(&'static str, &'static str)],
) -> Results {
    let mut calls = calls(answers);
    calls.retain(|c| !denied.contains(&(c.probe, c.region)));
    let refused = denied
        .iter()
        .map(|&(p, r)| common::failed(p, r, "AccessDeniedException"));
    calls.extend(refused);
    judged_in(at, calls)
}

fn item<'a>(r: &'a Results, id: &str) -> &'a dengbao::results::ControlResult {
    r.controls.iter().find(|c| c.id == id).unwrap()
}

/// Ids of the resources `rule` of item `id` judged with `status`.
fn with_status(r: &Results, id: &str, rule: &str, status: ResourceStatus) -> Vec<String> {
    let c = item(r, id);
    let rr = c.rules.iter().find(|x| x.id == rule).unwrap();
    rr.resources
        .iter()
        .filter(|x| x.status == status)
        .map(|x| x.id.clone())
        .collect()
}

/// Ids of the resources `rule` of item `id` failed.
fn failing(r: &Results, id: &str, rule: &str) -> Vec<String> {
    with_status(r, id, rule, ResourceStatus::Fail)
}

fn console_login(id: &str, ip: &str) -> Value {
    let event = json!({"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "sourceIPAddress": ip,
                       "responseElements": {"ConsoleLogin": "Success"}});
    json!({"EventId": id, "EventName": "ConsoleLogin", "CloudTrailEvent": event.to_string()})
}

/// moto has no ConsoleLogin events: a hand-made LookupEvents answer.
fn logins(events: Vec<Value>) -> Results {
    judged(&[(
        "aws.cloudtrail.lookup_console_logins",
        "cn-north-1",
        json!({}),
        json!({ "Events": events }),
    )])
}

#[test]
fn console_sign_ins_from_abroad_are_operation_from_abroad() {
    // 不符合: "云计算平台的运维地点应位于中国境外，境外对境内云计算平台实施运维操作不遵循国家相关规定".
    let r = logins(vec![
        console_login("e-cn", "116.62.1.1"),
        console_login("e-us", "8.8.8.8"),
    ]);
    assert_eq!(item(&r, "L3-MMS2-01").verdict, NonCompliant);
    let abroad = failing(&r, "L3-MMS2-01", "aws-console-logins-from-mainland");
    assert_eq!(abroad, ["e-us"]);
    // Hong Kong, Macao and Taiwan are 境外 for operations: not the mainland.
    for ip in ["43.252.54.1", "202.175.3.1", "61.216.0.1"] {
        let r = logins(vec![console_login("e-x", ip)]);
        assert_eq!(item(&r, "L3-MMS2-01").verdict, NonCompliant, "{ip}");
    }
    // 符合: "运维地点应位于中国境内": mainland IPv4 and IPv6; private and non-address sources are not judged.
    let r = logins(vec![
        console_login("e-cn4", "116.62.1.1"),
        console_login("e-cn6", "2408:4000::1"),
        console_login("e-vpn", "10.10.0.5"),
        console_login("e-int", "AWS Internal"),
    ]);
    assert_eq!(item(&r, "L3-MMS2-01").verdict, Compliant);
    let mms = item(&r, "L3-MMS2-01");
    assert_eq!((mms.rules[0].passed, mms.rules[0].failed), (2, 0));
    assert_eq!(
        mms.rules[0].resources.len(),
        2,
        "the VPN and internal sources are not judged"
    );
    // No sign-in in the window: no operation from abroad seen.
    assert_eq!(item(&logins(vec![]), "L3-MMS2-01").verdict, Compliant);
}

#[test]
fn a_sign_in_event_that_cannot_be_read_is_an_error_not_a_pass() {
    let mut broken = console_login("e-bad", "8.8.8.8");
    broken["CloudTrailEvent"] = json!("{not json");
    let r = logins(vec![console_login("e-cn", "116.62.1.1"), broken]);
    assert_eq!(item(&r, "L3-MMS2-01").verdict, Error);
}

/// The account's own buckets: one, not the trail's.
fn own_bucket() -> Answer {
    (
        "aws.s3.get_bucket_location",
        "cn-north-1",
        json!({"Bucket": "own-data"}),
        json!("cn-north-1"),
    )
}

fn trail(home: &str, bucket: &str) -> Value {
    json!({"trailList": [{"Name": "org", "TrailARN": format!("arn:aws-cn:cloudtrail:{home}:999988887777:trail/org"),
                          "HomeRegion": home, "S3BucketName": bucket, "IsMultiRegionTrail": true}]})
}

#[test]
fn audit_logs_stored_abroad_are_data_leaving_china() {
    // A trail of the global partition (home us-east-1) delivering to a bucket this account does not own:
    // the bucket is in that partition, abroad. CES2-10's 部分符合 needs "数据存储位置均位于中国境内": 不符合.
    let r = judged(&[
        (
            "aws.cloudtrail.describe_trails",
            "cn-north-1",
            json!({}),
            trail("us-east-1", "org-audit-logs"),
        ),
        own_bucket(),
    ]);
    let rule = "aws-trail-logs-stored-in-mainland";
    assert_eq!(
        item(&r, "L3-CES2-10")
            .rules
            .iter()
            .find(|x| x.id == rule)
            .unwrap()
            .verdict,
        NonCompliant
    );
    // An organization trail of aws-cn delivers to an aws-cn bucket of another account: in the mainland.
    let r = judged(&[
        (
            "aws.cloudtrail.describe_trails",
            "cn-north-1",
            json!({}),
            trail("cn-northwest-1", "org-audit-logs"),
        ),
        own_bucket(),
    ]);
    let c = item(&r, "L3-CES2-10");
    assert_eq!(
        c.rules.iter().find(|x| x.id == rule).unwrap().verdict,
        Compliant
    );
}

fn db_with_replica(arn: &str) -> Value {
    json!({"DescribeDBInstancesResult": {"DBInstances": {"DBInstance": [{
        "DBInstanceIdentifier": "orders", "AvailabilityZone": "cn-north-1a", "MultiAZ": "true", "Engine": "mysql",
        "DBInstanceAutomatedBackupsReplications": {"DBInstanceAutomatedBackupsReplication": [{"DBInstanceAutomatedBackupsArn": arn}]}}]}}})
}

#[test]
fn backup_copies_must_be_found_where_their_source_says() {
    // moto cannot replicate automated backups across regions: hand-made answers.
    let arn = "arn:aws-cn:rds:cn-northwest-1:111122223333:auto-backup:ab-orders";
    let found = json!({"DescribeDBInstanceAutomatedBackupsResult": {"DBInstanceAutomatedBackups": {"DBInstanceAutomatedBackup": [
        {"DBInstanceAutomatedBackupsArn": arn, "Region": "cn-northwest-1", "DBInstanceIdentifier": "orders"}]}}});
    // AWS Backup is asked too, and has no plan copying anywhere.
    let with_ningxia_answering = |backups: Value| {
        let db = db_with_replica(arn);
        let db = ("aws.rds.describe_db_instances", "cn-north-1", json!({}), db);
        let ningxia = "cn-northwest-1";
        let backups = (
            "aws.rds.describe_db_instance_automated_backups",
            ningxia,
            json!({}),
            backups,
        );
        let aws_backup = [
            backup_plans("cn-north-1", &[]),
            vec![vaults("cn-north-1", json!([]))],
        ];
        judged(&[vec![db, backups], aws_backup.concat()].concat())
    };
    // 符合: "提供查询云服务客户数据及备份存储位置的能力": the copy is listed, with its region.
    let r = with_ningxia_answering(found);
    assert_eq!(item(&r, "L3-CES2-15").verdict, Compliant);
    // 部分符合: "提供查询云服务客户部分数据及备份存储位置的能力": the copy is nowhere to be found.
    let none =
        json!({"DescribeDBInstanceAutomatedBackupsResult": {"DBInstanceAutomatedBackups": ""}});
    let r = with_ningxia_answering(none);
    assert_eq!(item(&r, "L3-CES2-15").verdict, PartiallyCompliant);
}

// ---------------------------------------------------------------- AWS Backup (hand-made: moto 5.2.5
// lists vaults and plans but serves no ListRecoveryPointsByBackupVault and counts no recovery point; the
// copy actions themselves are scanned through moto in tests/aws_mappings.rs)

/// ListBackupVaults in `region`.
fn vaults(region: &'static str, list: Value) -> Answer {
    let body = json!({ "BackupVaultList": list });
    ("aws.backup.list_backup_vaults", region, json!({}), body)
}

/// A vault as ListBackupVaults lists it: its name is the ARN's last part.
fn vault(arn: &str, recovery_points: u64) -> Value {
    let name = arn.rsplit(':').next().unwrap();
    json!({"BackupVaultName": name, "BackupVaultArn": arn, "NumberOfRecoveryPoints": recovery_points})
}

/// ListRecoveryPointsByBackupVault of the vault `arn` (in `region`): these recovery points.
fn recovery_points(region: &'static str, arn: &str, points: &[&str]) -> Answer {
    let name = arn.rsplit(':').next().unwrap();
    let list: Vec<Value> = points
        .iter()
        .map(|p| json!({"RecoveryPointArn": p, "BackupVaultName": name, "BackupVaultArn": arn,
                        "ResourceArn": "arn:aws-cn:ec2:cn-north-1:111122223333:volume/vol-1", "Status": "COMPLETED"}))
        .collect();
    let params = json!({ "BackupVaultName": name });
    let body = json!({ "RecoveryPoints": list });
    (
        "aws.backup.list_recovery_points_by_backup_vault",
        region,
        params,
        body,
    )
}

/// One backup plan in `region` (ListBackupPlans, GetBackupPlan) whose rule copies to each of `copies`;
/// none: no plan at all (GetBackupPlan ran with nothing to ask).
fn backup_plans(region: &'static str, copies: &[&str]) -> Vec<Answer> {
    if copies.is_empty() {
        let list = json!({ "BackupPlansList": [] });
        return vec![
            ("aws.backup.list_backup_plans", region, json!({}), list),
            ("aws.backup.get_backup_plan", region, json!({}), Value::Null),
        ];
    }
    let actions: Vec<Value> = copies
        .iter()
        .map(|c| json!({ "DestinationBackupVaultArn": c }))
        .collect();
    let plan = json!({"BackupPlanId": "p-1", "BackupPlan": {"BackupPlanName": "daily",
        "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "Default", "CopyActions": actions}]}});
    let list = json!({"BackupPlansList": [{"BackupPlanId": "p-1", "BackupPlanName": "daily"}]});
    vec![
        ("aws.backup.list_backup_plans", region, json!({}), list),
        (
            "aws.backup.get_backup_plan",
            region,
            json!({"BackupPlanId": "p-1"}),
            plan,
        ),
    ]
}

/// No RDS database: what the RDS backup rule of L3-CES2-15 reads, empty.
fn no_databases() -> Vec<Answer> {
    let dbs = json!({"DescribeDBInstancesResult": {"DBInstances": ""}});
    let backups =
        json!({"DescribeDBInstanceAutomatedBackupsResult": {"DBInstanceAutomatedBackups": ""}});
    vec![
        (
            "aws.rds.describe_db_instances",
            "cn-north-1",
            json!({}),
            dbs,
        ),
        (
            "aws.rds.describe_db_instance_automated_backups",
            "cn-north-1",
            json!({}),
            backups,
        ),
    ]
}

fn rule_verdict(r: &Results, id: &str, rule: &str) -> Verdict {
    item(r, id)
        .rules
        .iter()
        .find(|x| x.id == rule)
        .unwrap()
        .verdict
}

const BJ_DEFAULT: &str = "arn:aws-cn:backup:cn-north-1:111122223333:backup-vault:Default";
const NX_DR: &str = "arn:aws-cn:backup:cn-northwest-1:111122223333:backup-vault:dr";

/// The Beijing vault with two recovery points, copied by a plan to each of `copies`; Ningxia's `dr`
/// vault holds one copy.
fn beijing_backups(copies: &[&str]) -> Vec<Answer> {
    let bj_points = [
        "arn:aws-cn:ec2:cn-north-1::snapshot/snap-1",
        "arn:aws-cn:ec2:cn-north-1::snapshot/snap-2",
    ];
    let nx_points = ["arn:aws-cn:ec2:cn-northwest-1::snapshot/snap-9"];
    [
        no_databases(),
        backup_plans("cn-north-1", copies),
        vec![
            vaults("cn-north-1", json!([vault(BJ_DEFAULT, 2)])),
            vaults("cn-northwest-1", json!([vault(NX_DR, 1)])),
            recovery_points("cn-north-1", BJ_DEFAULT, &bj_points),
            recovery_points("cn-northwest-1", NX_DR, &nx_points),
        ],
    ]
    .concat()
}

#[test]
fn aws_backup_copies_must_be_found_where_their_arn_says() {
    // 符合: "提供查询云服务客户数据及备份存储位置的能力": the plan copies to Ningxia's `dr` vault, which
    // Ningxia lists; every vault and recovery point is listed with its region.
    let r = judged(&beijing_backups(&[NX_DR]));
    assert_eq!(item(&r, "L3-CES2-15").verdict, Compliant);
    let inventory = item(&r, "L3-CES2-15").rules.iter();
    let points = inventory
        .clone()
        .find(|x| x.id == "aws-backup-recovery-point-locations")
        .unwrap();
    assert!(points.context);
    assert_eq!((points.passed, points.failed), (3, 0));
    let vaults_listed = inventory
        .clone()
        .find(|x| x.id == "aws-backup-vault-locations")
        .unwrap();
    assert_eq!((vaults_listed.passed, vaults_listed.failed), (2, 0));
    // 部分符合: "提供查询云服务客户部分数据及备份存储位置的能力": a copy into a partner account's vault,
    // which this account cannot list: where that backup is cannot be queried from here.
    let partner = "arn:aws-cn:backup:cn-northwest-1:444455556666:backup-vault:partner";
    let r = judged(&beijing_backups(&[NX_DR, partner]));
    assert_eq!(item(&r, "L3-CES2-15").verdict, PartiallyCompliant);
    let rule = "aws-backup-copy-destinations-located";
    assert_eq!(failing(&r, "L3-CES2-15", rule), [partner]);
    // Ningxia's vault list could not be read: whether the copy is there is unknown (无法判定), never 符合.
    let ningxia_vaults = ("aws.backup.list_backup_vaults", "cn-northwest-1");
    let r = judged_denied(AWS_CN, &beijing_backups(&[NX_DR]), &[ningxia_vaults]);
    assert_eq!(item(&r, "L3-CES2-15").verdict, Error);
}

#[test]
fn aws_backups_stored_abroad_are_data_leaving_china() {
    // L3-CES2-10's 部分符合 needs "数据存储位置均位于中国境内"; backups in a vault abroad, or a plan copying
    // backups abroad, store data outside China: 不符合. An account of the global partition, scanned in
    // us-east-1 and eu-west-1 (every region of that partition is outside the mainland).
    let us = "arn:aws:backup:us-east-1:111122223333:backup-vault:Default";
    let empty = "arn:aws:backup:eu-west-1:111122223333:backup-vault:unused";
    let uncounted = "arn:aws:backup:eu-west-1:111122223333:backup-vault:fresh";
    let copy_abroad = "arn:aws:backup:eu-west-1:111122223333:backup-vault:unused";
    let answers = [
        backup_plans("us-east-1", &[copy_abroad]),
        vec![
            vaults("us-east-1", json!([vault(us, 4)])),
            // The list counts no recovery point in `fresh` (AWS: the count may be approximate), but its
            // own listing shows one; `unused` is empty by both.
            vaults("eu-west-1", json!([vault(empty, 0), vault(uncounted, 0)])),
            recovery_points("us-east-1", us, &["arn:aws:ec2:us-east-1::snapshot/snap-1"]),
            recovery_points("eu-west-1", empty, &[]),
            recovery_points(
                "eu-west-1",
                uncounted,
                &["arn:aws:ec2:eu-west-1::snapshot/snap-2"],
            ),
        ],
    ]
    .concat();
    let r = judged_in(("aws", "us-east-1"), calls(&answers));
    assert_eq!(item(&r, "L3-CES2-10").verdict, NonCompliant);
    let vaults_rule = "aws-backup-vaults-in-mainland";
    assert_eq!(failing(&r, "L3-CES2-10", vaults_rule), [uncounted, us]);
    assert_eq!(
        with_status(&r, "L3-CES2-10", vaults_rule, ResourceStatus::Pass),
        [empty],
        "an empty vault stores nothing"
    );
    let copies_rule = "aws-backup-copies-stay-in-mainland";
    assert_eq!(failing(&r, "L3-CES2-10", copies_rule), [copy_abroad]);
    // An empty-counted vault abroad whose recovery points could not be listed: unknown, never a pass.
    let points = (
        "aws.backup.list_recovery_points_by_backup_vault",
        "eu-west-1",
    );
    let r = judged_denied(("aws", "us-east-1"), &answers, &[points]);
    assert_eq!(rule_verdict(&r, "L3-CES2-10", vaults_rule), NonCompliant);
    let c = item(&r, "L3-CES2-10").rules.iter();
    let vaults_result = c.clone().find(|x| x.id == vaults_rule).unwrap();
    assert_eq!(
        (vaults_result.failed, vaults_result.errored),
        (1, 2),
        "the US vault counts 4 points; eu-west-1's two are unknown"
    );
    // In the mainland (aws-cn, Beijing and Ningxia) neither rule finds anything abroad.
    let r = judged(&beijing_backups(&[NX_DR]));
    assert_eq!(rule_verdict(&r, "L3-CES2-10", vaults_rule), Compliant);
    assert_eq!(rule_verdict(&r, "L3-CES2-10", copies_rule), Compliant);
}

/// ListRoles with these (name, trust policy) roles.
fn list_roles(trusts: &[(&str, Value)]) -> Answer {
    let list: Vec<Value> = trusts
        .iter()
        .map(|(name, doc)| {
            // IAM returns the trust policy URL-encoded.
            let encoded: String = doc
                .to_string()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            json!({"RoleName": name, "AssumeRolePolicyDocument": encoded})
        })
        .collect();
    let body = json!({"ListRolesResult": {"Roles": list}});
    ("aws.iam.list_roles", "cn-north-1", json!({}), body)
}

/// The roles, in an account without an access analyzer.
fn roles(trusts: &[(&str, Value)]) -> Results {
    judged(&[&[list_roles(trusts)][..], &analyzers(&[])].concat())
}

/// The account's own operations role only.
fn own_role() -> Answer {
    let own = trust(json!({"AWS": "arn:aws-cn:iam::111122223333:root"}), None);
    list_roles(&[("ops", own)])
}

// ---------------------------------------------------------------- IAM Access Analyzer (hand-made: moto
// 5.2.5 does not emulate the service; it answers 500)

const ANALYZER: &str = "arn:aws-cn:access-analyzer:cn-north-1:111122223333:analyzer/account";

/// ListAnalyzers in cn-north-1 with one active ACCOUNT analyzer holding `findings` (ListFindings), or
/// with no analyzer at all when `findings` is empty (ListFindings then ran with nothing to ask).
fn analyzers(findings: &[Value]) -> Vec<Answer> {
    if findings.is_empty() {
        return vec![
            (
                "aws.accessanalyzer.list_analyzers",
                "cn-north-1",
                json!({}),
                json!({ "analyzers": [] }),
            ),
            (
                "aws.accessanalyzer.list_findings",
                "cn-north-1",
                json!({}),
                Value::Null,
            ),
        ];
    }
    let list = json!({"analyzers": [{"arn": ANALYZER, "name": "account", "type": "ACCOUNT", "status": "ACTIVE"}]});
    vec![
        (
            "aws.accessanalyzer.list_analyzers",
            "cn-north-1",
            json!({}),
            list,
        ),
        (
            "aws.accessanalyzer.list_findings",
            "cn-north-1",
            json!({ "analyzerArn": ANALYZER }),
            json!({ "findings": findings }),
        ),
    ]
}

/// An external access finding on bucket `bucket` for `principal`, as ListFindings summarizes it.
fn finding(bucket: &str, principal: Value, public: bool, status: &str) -> Value {
    json!({"id": format!("f-{bucket}"), "resource": format!("arn:aws-cn:s3:::{bucket}"), "resourceType": "AWS::S3::Bucket",
           "principal": principal, "action": ["s3:GetObject"], "isPublic": public, "condition": {},
           "status": status, "resourceOwnerAccount": "111122223333"})
}

/// The account's own role beside the analyzer's findings.
fn with_findings(findings: &[Value]) -> Results {
    judged(&[&[own_role()][..], &analyzers(findings)].concat())
}

#[test]
fn access_analyzer_public_findings_are_access_no_one_authorized() {
    let vendor = finding(
        "vendor-share",
        json!({"AWS": "444455556666"}),
        false,
        "ACTIVE",
    );
    let reviewed = finding("website", json!({"AWS": "*"}), true, "ARCHIVED");
    let closed = finding("old-share", json!({"AWS": "*"}), true, "RESOLVED");
    // 符合: "只有在云服务客户授权下，云服务商或第三方才具有云服务客户数据管理权限": the vendor's access is
    // a grant the tenant wrote (listed for the assessor to match with its approval); the public website
    // bucket was reviewed and archived as intended; the resolved finding is access that no longer exists.
    let r = with_findings(&[vendor.clone(), reviewed.clone(), closed.clone()]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Compliant);
    let listed = failing(&r, "L3-CES2-11", "aws-active-external-access-findings");
    assert_eq!(listed, ["arn:aws-cn:s3:::vendor-share"]);
    assert!(failing(&r, "L3-CES2-11", "aws-access-analyzer-every-region").is_empty());
    // 不符合: "云服务商或第三方未经云服务客户授权下具有云服务客户数据管理权限": an active finding that
    // anyone can reach the bucket: no party was authorized, every third party has the access.
    let open = finding("exports", json!({"AWS": "*"}), true, "ACTIVE");
    let r = with_findings(&[vendor, reviewed, closed, open]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, NonCompliant);
    let rule = "aws-no-active-public-access-findings";
    assert_eq!(failing(&r, "L3-CES2-11", rule), ["arn:aws-cn:s3:::exports"]);
}

#[test]
fn no_access_analyzer_is_context_never_a_pass() {
    // No analyzer in the region: nothing there was analyzed. The region is listed (context) and the
    // findings check has nothing to judge (不适用), never 符合; the item rests on the role trust policies.
    let r = with_findings(&[]);
    let c = item(&r, "L3-CES2-11");
    assert_eq!(c.verdict, Compliant);
    let unanalyzed = failing(&r, "L3-CES2-11", "aws-access-analyzer-every-region");
    assert_eq!(unanalyzed.len(), 1, "{unanalyzed:?}");
    let findings = rule_verdict(&r, "L3-CES2-11", "aws-no-active-public-access-findings");
    assert_eq!(findings, NotApplicable);
    // The findings could not be read (the analyzer list was denied): 无法判定, never 符合.
    let analyzers_then_findings = [
        ("aws.accessanalyzer.list_analyzers", "cn-north-1"),
        ("aws.accessanalyzer.list_findings", "cn-north-1"),
    ];
    let r = judged_denied(AWS_CN, &[own_role()], &analyzers_then_findings);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Error);
}

fn trust(principal: Value, condition: Option<Value>) -> Value {
    let mut st = json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

#[test]
fn roles_anyone_may_assume_give_unauthorized_management_rights() {
    // moto's IAM does hold roles, but the judgement is on the trust document alone: hand-made, so the
    // URL-encoding IAM uses is exercised byte for byte.
    let own = (
        "ops",
        trust(json!({"AWS": "arn:aws-cn:iam::111122223333:root"}), None),
    );
    let service = (
        "ec2-role",
        trust(json!({"Service": "ec2.amazonaws.com.cn"}), None),
    );
    let vendor = (
        "vendor",
        trust(json!({"AWS": ["arn:aws-cn:iam::444455556666:root"]}), None),
    );
    let guarded = (
        "org-wide",
        trust(
            json!({"AWS": "*"}),
            Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
        ),
    );
    // 符合: "只有在云服务客户授权下，云服务商或第三方才具有云服务客户数据管理权限": a vendor's role was
    // set up by the tenant (an authorization, listed as context for the assessor).
    let r = roles(&[
        own.clone(),
        service.clone(),
        vendor.clone(),
        guarded.clone(),
    ]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Compliant);
    let listed = failing(&r, "L3-CES2-11", "aws-roles-trusted-by-other-accounts");
    assert_eq!(listed, ["vendor", "org-wide"]);
    // 不符合: "云服务商或第三方未经云服务客户授权下具有云服务客户数据管理权限": anyone may assume it.
    let open = ("open", trust(json!({"AWS": "*"}), None));
    let r = roles(&[own, service, vendor, guarded, open]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, NonCompliant);
}

fn key(id: &str, manager: &str, origin: &str) -> Answer {
    (
        "aws.kms.describe_key",
        "cn-north-1",
        json!({ "KeyId": id }),
        json!({"KeyMetadata": {"KeyId": id, "KeyManager": manager, "KeyState": "Enabled", "Origin": origin, "KeySpec": "SYMMETRIC_DEFAULT"}}),
    )
}

#[test]
fn aws_keys_can_show_non_compliance_never_compliance() {
    // 不符合: "未部署…硬件加密机，云服务客户借助此服务实现对加解密密钥的完全控制": only AWS-managed keys.
    let r = judged(&[key("k-aws", "AWS", "AWS_KMS")]);
    assert_eq!(item(&r, "L3-CES2-13").verdict, NonCompliant);
    // A CloudHSM key store shows hardware, not the certification 符合 needs: left to the assessor.
    let r = judged(&[
        key("k-aws", "AWS", "AWS_KMS"),
        key("k-hsm", "CUSTOMER", "AWS_CLOUDHSM"),
    ]);
    let c = item(&r, "L3-CES2-13");
    assert_eq!(c.verdict, Manual);
    assert_eq!(c.automation, "manual");
    assert!(c.checklist.iter().any(|x| x.zh.contains("国家密码管理局")));
    // Rotation is never asked of imported or CloudHSM keys (they cannot rotate automatically).
    let r = judged(&[
        key("k-imp", "CUSTOMER", "EXTERNAL"),
        key("k-hsm", "CUSTOMER", "AWS_CLOUDHSM"),
    ]);
    let rotation = item(&r, "L3-CES2-13")
        .rules
        .iter()
        .find(|x| x.id == "aws-kms-customer-keys-rotated")
        .unwrap();
    assert_eq!((rotation.passed, rotation.failed), (0, 0));
}

fn dbs(list: Value) -> Results {
    judged(&[(
        "aws.rds.describe_db_instances",
        "cn-north-1",
        json!({}),
        json!({"DescribeDBInstancesResult": {"DBInstances": {"DBInstance": list}}}),
    )])
}

#[test]
fn aurora_clusters_and_read_replicas_are_not_single_az_databases() {
    let r = dbs(json!([
        {"DBInstanceIdentifier": "single", "Engine": "mysql", "MultiAZ": "false", "AvailabilityZone": "cn-north-1a"},
        {"DBInstanceIdentifier": "aurora-1", "Engine": "aurora-mysql", "MultiAZ": "false", "DBClusterIdentifier": "aur"},
        {"DBInstanceIdentifier": "replica", "Engine": "mysql", "MultiAZ": "false", "ReadReplicaSourceDBInstanceIdentifier": "single"},
    ]));
    let c = item(&r, "L3-CES2-16");
    // CES2-16's 符合 and 不符合 are about the provider's storage documents: judged by hand.
    assert_eq!((c.verdict, c.automation.as_str()), (Manual, "manual"));
    let flagged = failing(&r, "L3-CES2-16", "aws-rds-multi-az");
    assert_eq!(flagged, ["single"]);
}

// ---------------------------------------------------------------- Alibaba Cloud, local endpoint

fn aliyun(tweaks: &[&str]) -> Option<Results> {
    aliyun_with(tweaks, &[]).map(|(r, _)| r)
}

/// As [`aliyun`], with more arguments for the server (`--deny-region R`); also gives the manifest.
fn aliyun_with(tweaks: &[&str], server: &[&str]) -> Option<(Results, Value)> {
    use common::aliyun::*;
    let py = python()?;
    let mut args = server.to_vec();
    args.extend(["--estate", "clean"]);
    for t in tweaks {
        args.extend(["--tweak", t]);
    }
    let s = start(&py, &args);
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(
        &s.endpoint,
        d.path(),
        &["--regions", "cn-hangzhou,cn-shanghai"],
        &[],
    );
    assert_eq!(code, 0, "{tweaks:?}: {log}");
    assert!(s.requests().iter().all(|r| r.get("rejected").is_none()));
    let manifest = std::fs::read(d.path().join("pack/manifest.json")).unwrap();
    Some((
        results(d.path()),
        serde_json::from_slice(&manifest).unwrap(),
    ))
}

fn expect(r: &Results, what: &str, table: &[(&str, Verdict)]) {
    for (id, want) in table {
        let c = item(r, id);
        assert_eq!(
            c.verdict,
            *want,
            "{what} {id}: {:?}",
            c.reasons.iter().map(|x| &x.en).collect::<Vec<_>>()
        );
    }
}

#[test]
fn aliyun_clean_data_estate() {
    let Some(r) = aliyun(&[]) else { return };
    expect(
        &r,
        "clean",
        &[
            // 符合: "部署经国家密码管理局检测认证的硬件加密机…": an enabled HSM key the tenant created.
            ("L3-CES2-13", Compliant),
            // 符合: only the tenant's own account and a service may assume its roles.
            ("L3-CES2-11", Compliant),
            // 符合: sign-ins from mainland addresses only (a VPN address is not judged).
            ("L3-MMS2-01", Compliant),
            ("L3-CES2-15", Compliant),
            ("L3-CES2-01", Manual),
            ("L3-CES2-16", Manual),
        ],
    );
}

#[test]
fn aliyun_sign_ins_from_abroad_and_hong_kong() {
    // 不符合: "运维地点应位于中国境外…": a sign-in from the US, or from Hong Kong (not the mainland).
    for t in ["signin-abroad", "signin-hongkong"] {
        let Some(r) = aliyun(&[t]) else { return };
        expect(&r, t, &[("L3-MMS2-01", NonCompliant)]);
    }
    let Some(r) = aliyun(&["no-signins"]) else {
        return;
    };
    expect(&r, "no-signins", &[("L3-MMS2-01", Compliant)]);
}

#[test]
fn aliyun_keys_roles_and_backups() {
    type Case<'a> = (&'a str, &'a [(&'a str, Verdict)]);
    let cases: &[Case] = &[
        // 不符合: "未部署经国家密码管理局检测认证的硬件加密机": software keys only, or the HSM key disabled.
        ("no-hsm-key", &[("L3-CES2-13", NonCompliant)]),
        ("hsm-key-disabled", &[("L3-CES2-13", NonCompliant)]),
        // 不符合: "云服务商或第三方未经云服务客户授权下具有云服务客户数据管理权限": any account may assume it.
        ("role-trusts-anyone", &[("L3-CES2-11", NonCompliant)]),
        // A role the tenant set up for another account is an authorization: listed as context.
        ("role-trusts-other-account", &[("L3-CES2-11", Compliant)]),
        // 部分符合: "提供查询云服务客户部分数据及备份存储位置的能力": a backup whose destination is not named.
        (
            "backup-region-unknown",
            &[("L3-CES2-15", PartiallyCompliant)],
        ),
        // Trail logs to an OSS bucket outside the mainland: data stored abroad.
        ("trail-logs-abroad", &[("L3-CES2-10", NonCompliant)]),
    ];
    for (t, table) in cases {
        let Some(r) = aliyun(&[t]) else { return };
        expect(&r, t, table);
        if *t == "role-trusts-other-account" {
            let listed = failing(&r, "L3-CES2-11", "aliyun-roles-trusted-by-other-accounts");
            assert_eq!(listed, ["vendor-audit"]);
        }
    }
}

#[test]
fn aliyun_local_disks_and_read_only_instances_are_not_findings() {
    let Some(r) = aliyun(&["local-disk", "rds-readonly-basic", "mfa-not-required"]) else {
        return;
    };
    // Local disks cannot be encrypted or snapshotted (issue #14, false fail 5).
    for (id, rule) in [
        ("L3-CES2-09", "aliyun-disks-encrypted"),
        ("L3-CES2-16", "aliyun-disks-have-automatic-snapshots"),
    ] {
        let failing = with_status(&r, id, rule, ResourceStatus::Fail);
        assert!(
            !failing.contains(&"d-hz-local".to_string()),
            "{rule}: {failing:?}"
        );
    }
    // A read-only instance copies its primary: not a single-node database.
    let single = failing(&r, "L3-CES2-16", "aliyun-rds-not-single-node");
    assert!(single.is_empty(), "{single:?}");
    // MFA not required at logon is supporting evidence of CES2-01, shown as context.
    let mfa = failing(&r, "L3-CES2-01", "aliyun-mfa-required-at-logon");
    assert_eq!(mfa.len(), 1);
    expect(
        &r,
        "local-disk",
        &[("L3-CES2-09", Compliant), ("L3-CES2-01", Manual)],
    );
}

#[test]
fn aliyun_residency_sweeps_every_region_whatever_regions_says() {
    // An instance, its disk and snapshot in cn-hongkong; the scan names cn-hangzhou and cn-shanghai only.
    // Issue #14: that gave 符合. Hong Kong is outside the mainland: 不符合 (L3-PES2-01, "基础设施位于中国
    // 境外"; L3-CES2-10, data stored outside China).
    let Some((r, manifest)) = aliyun_with(&["hongkong"], &[]) else {
        return;
    };
    expect(
        &r,
        "hongkong",
        &[("L3-PES2-01", NonCompliant), ("L3-CES2-10", NonCompliant)],
    );
    for (rule, id) in [
        ("aliyun-instances-in-mainland", "i-hk-1"),
        ("aliyun-disks-in-mainland", "d-hk-1"),
        ("aliyun-snapshots-in-mainland", "s-hk-1"),
    ] {
        assert_eq!(failing(&r, "L3-PES2-01", rule), [id], "{rule}");
    }
    assert_eq!(
        manifest["scan"]["regions"],
        json!(["cn-hangzhou", "cn-shanghai"])
    );
    let swept = &manifest["scan"]["sweep"];
    assert!(
        swept["regions"]
            .as_array()
            .unwrap()
            .contains(&json!("cn-hongkong")),
        "{swept}"
    );
    // Rules judging the scanned regions do not judge the swept-only one: Hong Kong's security group and
    // flow logs were never read, and its disk is not judged for encryption.
    for id in ["L3-CES2-09", "L3-ABS2-01", "L3-ABS2-05"] {
        assert!(
            common::resources_of(&r, id)
                .iter()
                .all(|x| x.region != "cn-hongkong"),
            "{id} judged a swept-only region"
        );
    }

    // A region the tenant's policy denies: its lists cannot be read, so residency is 无法判定 there —
    // `error` naming the region and the cause, never 符合.
    let Some((r, _)) = aliyun_with(&[], &["--deny-region", "ap-southeast-1"]) else {
        return;
    };
    expect(
        &r,
        "denied region",
        &[
            ("L3-PES2-01", Verdict::Error),
            ("L3-CES2-10", Verdict::Error),
        ],
    );
    common::assert_errors_only_in(&r, "L3-PES2-01", "ap-southeast-1", "Forbidden.RAM");

    // The region list itself denied: the enabled regions are unknown, and so is residency.
    let Some((r, _)) = aliyun_with(&[], &["--deny", "DescribeRegions"]) else {
        return;
    };
    expect(&r, "regions unknown", &[("L3-PES2-01", Verdict::Error)]);
    let why = common::error_reasons(&r, "L3-PES2-01");
    assert!(
        why.iter()
            .any(|w| w.contains("enabled regions could not be read") && w.contains("Forbidden.RAM")),
        "{why:?}"
    );
}
