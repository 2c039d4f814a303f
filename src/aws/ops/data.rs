//! The "data" topic's operations: IAM users, console passwords, MFA devices and role trust (L3-CES2-01,
//! L3-CES2-11), console sign-ins from CloudTrail's event history (L3-MMS2-01), RDS automated backups and
//! AWS Backup vaults, recovery points and plans with their locations (L3-CES2-10, L3-CES2-15), and IAM
//! Access Analyzer's external access findings (L3-CES2-11). Page sizes and filters are the manifest's, as
//! recorded.

use super::{send, Call, CallFuture, Failure, PageResult};
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.iam.list_users" => |c| Box::pin(list_users(c)),
        "aws.iam.get_login_profile" => |c| Box::pin(get_login_profile(c)),
        "aws.iam.list_mfa_devices" => |c| Box::pin(list_mfa_devices(c)),
        "aws.iam.list_roles" => |c| Box::pin(list_roles(c)),
        "aws.cloudtrail.lookup_console_logins" => |c| Box::pin(lookup_events(c)),
        "aws.rds.describe_db_instance_automated_backups" => {
            |c| Box::pin(describe_db_instance_automated_backups(c))
        }
        "aws.backup.list_backup_vaults" => |c| Box::pin(list_backup_vaults(c)),
        "aws.backup.list_recovery_points_by_backup_vault" => {
            |c| Box::pin(list_recovery_points_by_backup_vault(c))
        }
        "aws.backup.list_backup_plans" => |c| Box::pin(list_backup_plans(c)),
        "aws.backup.get_backup_plan" => |c| Box::pin(get_backup_plan(c)),
        "aws.accessanalyzer.list_analyzers" => |c| Box::pin(list_analyzers(c)),
        "aws.accessanalyzer.list_findings" => |c| Box::pin(list_findings(c)),
        _ => return None,
    })
}

async fn list_users(c: Call) -> PageResult {
    let req = c.clients.iam.list_users().set_max_items(c.int("MaxItems"));
    let o = send!(c, req.set_marker(c.token()));
    Ok(if o.is_truncated { o.marker } else { None })
}

async fn list_roles(c: Call) -> PageResult {
    let req = c.clients.iam.list_roles().set_max_items(c.int("MaxItems"));
    let o = send!(c, req.set_marker(c.token()));
    Ok(if o.is_truncated { o.marker } else { None })
}

async fn list_mfa_devices(c: Call) -> PageResult {
    let req = c.clients.iam.list_mfa_devices().user_name(c.key());
    let req = req.set_max_items(c.int("MaxItems"));
    let o = send!(c, req.set_marker(c.token()));
    Ok(if o.is_truncated { o.marker } else { None })
}

/// Whether the fan-out user has a console password (the API has no pages).
async fn get_login_profile(c: Call) -> PageResult {
    send!(c, c.clients.iam.get_login_profile().user_name(c.key()));
    Ok(None)
}

/// The manifest's `LookupAttributes` (`[{ AttributeKey, AttributeValue }]`), as the SDK's type.
fn lookup_attributes(c: &Call) -> Result<Option<Vec<LookupAttribute>>, Failure> {
    let Some(list) = c.params.get("LookupAttributes").and_then(|v| v.as_array()) else {
        return Ok(None);
    };
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    list.iter()
        .map(|a| {
            LookupAttribute::builder()
                .set_attribute_key(
                    text(a, "AttributeKey").map(|k| LookupAttributeKey::from(k.as_str())),
                )
                .set_attribute_value(text(a, "AttributeValue"))
                .build()
                .map_err(|e| Failure {
                    code: "RequestFailed".into(),
                    message: format!("LookupAttributes: {e}"),
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Events of the region's 90-day event history matching the manifest's lookup attributes (no
/// StartTime: the whole history).
async fn lookup_events(c: Call) -> PageResult {
    let req = c.clients.cloudtrail.lookup_events();
    let req = req.set_lookup_attributes(lookup_attributes(&c)?);
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn describe_db_instance_automated_backups(c: Call) -> PageResult {
    let req = c.clients.rds.describe_db_instance_automated_backups();
    let req = req.set_max_records(c.int("MaxRecords"));
    Ok(send!(c, req.set_marker(c.token())).marker)
}

async fn list_backup_vaults(c: Call) -> PageResult {
    let req = c.clients.backup.list_backup_vaults();
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

/// The recovery points of the fan-out vault.
async fn list_recovery_points_by_backup_vault(c: Call) -> PageResult {
    let req = c.clients.backup.list_recovery_points_by_backup_vault();
    let req = req.backup_vault_name(c.key());
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn list_backup_plans(c: Call) -> PageResult {
    let req = c.clients.backup.list_backup_plans();
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

/// The fan-out plan's current version, with its rules and copy actions (the API has no pages).
async fn get_backup_plan(c: Call) -> PageResult {
    send!(
        c,
        c.clients.backup.get_backup_plan().backup_plan_id(c.key())
    );
    Ok(None)
}

async fn list_analyzers(c: Call) -> PageResult {
    let req = c.clients.accessanalyzer.list_analyzers();
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

/// Every finding of the fan-out analyzer, whatever its status (the rules read `status`).
async fn list_findings(c: Call) -> PageResult {
    let req = c
        .clients
        .accessanalyzer
        .list_findings()
        .analyzer_arn(c.key());
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}
