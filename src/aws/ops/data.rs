//! The "data" topic's operations: IAM users, console passwords, MFA devices and role trust (L3-CES2-01,
//! L3-CES2-11), console sign-ins from CloudTrail's event history (L3-MMS2-01) and RDS automated backups
//! with their locations (L3-CES2-15). Page sizes equal the probe manifests' parameters, which are what the
//! records say was asked.

use super::{failure, Call, CallFuture, PageResult};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.iam.list_users" => |c| Box::pin(list_users(c)),
        "aws.iam.get_login_profile" => |c| Box::pin(get_login_profile(c)),
        "aws.iam.list_mfa_devices" => |c| Box::pin(list_mfa_devices(c)),
        "aws.iam.list_roles" => |c| Box::pin(list_roles(c)),
        "aws.cloudtrail.lookup_console_logins" => |c| Box::pin(lookup_console_logins(c)),
        "aws.rds.describe_db_instance_automated_backups" => {
            |c| Box::pin(describe_db_instance_automated_backups(c))
        }
        _ => return None,
    })
}

/// IAM's largest page (`MaxItems` in probes/aws/iam.toml).
const IAM_PAGE: i32 = 1000;

/// One page of an IAM list (`Marker` in, `IsTruncated` + `Marker` out), optionally for the fan-out user.
macro_rules! iam_page {
    ($c:ident, $op:ident $(, $per_user:ident)?) => {{
        let o = $c
            .clients
            .iam
            .$op()
            $(.$per_user($c.key()))?
            .max_items(IAM_PAGE)
            .set_marker($c.token)
            .customize()
            .interceptor($c.rec)
            .send()
            .await
            .map_err(failure)?;
        Ok(if o.is_truncated { o.marker } else { None })
    }};
}

async fn list_users(c: Call) -> PageResult {
    iam_page!(c, list_users)
}

async fn get_login_profile(c: Call) -> PageResult {
    c.clients
        .iam
        .get_login_profile()
        .user_name(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn list_mfa_devices(c: Call) -> PageResult {
    iam_page!(c, list_mfa_devices, user_name)
}

async fn list_roles(c: Call) -> PageResult {
    iam_page!(c, list_roles)
}

/// ConsoleLogin events of the region's 90-day event history (no StartTime: the whole history).
async fn lookup_console_logins(c: Call) -> PageResult {
    use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
    let attribute = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("ConsoleLogin")
        .build()
        .map_err(|e| super::Failure {
            code: "RequestFailed".into(),
            message: e.to_string(),
        })?;
    let o = c
        .clients
        .cloudtrail
        .lookup_events()
        .lookup_attributes(attribute)
        .max_results(c.page(50))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_db_instance_automated_backups(c: Call) -> PageResult {
    let o = c
        .clients
        .rds
        .describe_db_instance_automated_backups()
        .max_records(100)
        .set_marker(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.marker)
}
