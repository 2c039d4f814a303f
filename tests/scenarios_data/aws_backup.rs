//! AWS Backup on hand-made packs: where vaults, recovery points and copy destinations are (L3-CES2-10, L3-CES2-15).

use super::*;

// ---------------------------------------------------------------- AWS Backup (hand-made: moto 5.2.5
// lists vaults and plans but serves no ListRecoveryPointsByBackupVault and counts no recovery point; the
// copy actions themselves are scanned through moto in tests/aws_mappings.rs)

/// ListBackupVaults in `region`.
pub(super) fn vaults(region: &'static str, list: Value) -> Answer {
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
pub(super) fn backup_plans(region: &'static str, copies: &[&str]) -> Vec<Answer> {
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
