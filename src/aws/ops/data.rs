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

/// A read paged with `NextToken`: `(function, client, operation)`, then, where the API has them, the
/// fan-out key's setter (`key = …`) and the setter of the manifest's `MaxResults` (`max = …`).
macro_rules! next_token_paged {
    ($name:ident, $client:ident, $op:ident $(, key = $key:ident)? $(, max = $max:ident)?) => {
        async fn $name(c: Call) -> PageResult {
            let req = c.clients.$client.$op();
            $(let req = req.$key(c.key());)?
            $(let req = req.$max(c.int("MaxResults"));)?
            Ok(send!(c, req.set_next_token(c.token())).next_token)
        }
    };
}

next_token_paged!(
    list_backup_vaults,
    backup,
    list_backup_vaults,
    max = set_max_results
);
// The recovery points of the fan-out vault.
next_token_paged!(
    list_recovery_points_by_backup_vault,
    backup,
    list_recovery_points_by_backup_vault,
    key = backup_vault_name,
    max = set_max_results
);
next_token_paged!(
    list_backup_plans,
    backup,
    list_backup_plans,
    max = set_max_results
);
next_token_paged!(list_analyzers, accessanalyzer, list_analyzers);
// Every finding of the fan-out analyzer, whatever its status (the rules read `status`).
next_token_paged!(
    list_findings,
    accessanalyzer,
    list_findings,
    key = analyzer_arn
);

/// The fan-out plan's current version, with its rules and copy actions (the API has no pages).
async fn get_backup_plan(c: Call) -> PageResult {
    let req = c.clients.backup.get_backup_plan();
    send!(c, req.backup_plan_id(c.key()));
    Ok(None)
}
