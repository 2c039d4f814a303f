//! STS, IAM, CloudTrail, Config, GuardDuty, KMS, RDS, CloudWatch, CloudWatch Logs, EventBridge, SNS,
//! Organizations.

use super::{failure, Call, CallFuture, PageResult};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.sts.get_caller_identity" => |c| Box::pin(get_caller_identity(c)),
        "aws.iam.get_account_summary" => |c| Box::pin(get_account_summary(c)),
        "aws.iam.get_account_password_policy" => |c| Box::pin(get_account_password_policy(c)),
        "aws.cloudtrail.describe_trails" => |c| Box::pin(describe_trails(c)),
        "aws.cloudtrail.get_trail_status" => |c| Box::pin(get_trail_status(c)),
        "aws.cloudtrail.get_event_selectors" => |c| Box::pin(get_event_selectors(c)),
        "aws.config.describe_configuration_recorders" => {
            |c| Box::pin(describe_configuration_recorders(c))
        }
        "aws.config.describe_configuration_recorder_status" => {
            |c| Box::pin(describe_configuration_recorder_status(c))
        }
        "aws.config.describe_delivery_channels" => |c| Box::pin(describe_delivery_channels(c)),
        "aws.config.describe_configuration_aggregators" => {
            |c| Box::pin(describe_configuration_aggregators(c))
        }
        "aws.guardduty.list_detectors" => |c| Box::pin(list_detectors(c)),
        "aws.guardduty.get_detector" => |c| Box::pin(get_detector(c)),
        "aws.kms.list_keys" => |c| Box::pin(list_keys(c)),
        "aws.kms.describe_key" => |c| Box::pin(describe_key(c)),
        "aws.kms.get_key_rotation_status" => |c| Box::pin(get_key_rotation_status(c)),
        "aws.rds.describe_db_instances" => |c| Box::pin(describe_db_instances(c)),
        "aws.rds.describe_db_snapshots" => |c| Box::pin(describe_db_snapshots(c)),
        "aws.logs.describe_log_groups" => |c| Box::pin(describe_log_groups(c)),
        "aws.logs.describe_metric_filters" => |c| Box::pin(describe_metric_filters(c)),
        "aws.cloudwatch.describe_alarms" => |c| Box::pin(describe_alarms(c)),
        "aws.events.list_rules" => |c| Box::pin(list_rules(c)),
        "aws.events.list_targets_by_rule" => |c| Box::pin(list_targets_by_rule(c)),
        "aws.sns.list_subscriptions_by_topic" => |c| Box::pin(list_subscriptions_by_topic(c)),
        "aws.organizations.describe_organization" => |c| Box::pin(describe_organization(c)),
        _ => return None,
    })
}

async fn get_caller_identity(c: Call) -> PageResult {
    c.clients
        .sts
        .get_caller_identity()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_account_summary(c: Call) -> PageResult {
    c.clients
        .iam
        .get_account_summary()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_account_password_policy(c: Call) -> PageResult {
    c.clients
        .iam
        .get_account_password_policy()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_trails(c: Call) -> PageResult {
    c.clients
        .cloudtrail
        .describe_trails()
        .include_shadow_trails(true)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_trail_status(c: Call) -> PageResult {
    c.clients
        .cloudtrail
        .get_trail_status()
        .name(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_event_selectors(c: Call) -> PageResult {
    c.clients
        .cloudtrail
        .get_event_selectors()
        .trail_name(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_configuration_recorders(c: Call) -> PageResult {
    c.clients
        .config
        .describe_configuration_recorders()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_configuration_recorder_status(c: Call) -> PageResult {
    c.clients
        .config
        .describe_configuration_recorder_status()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_delivery_channels(c: Call) -> PageResult {
    c.clients
        .config
        .describe_delivery_channels()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_configuration_aggregators(c: Call) -> PageResult {
    let o = c
        .clients
        .config
        .describe_configuration_aggregators()
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn list_detectors(c: Call) -> PageResult {
    let o = c
        .clients
        .guardduty
        .list_detectors()
        .max_results(c.page(50))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn get_detector(c: Call) -> PageResult {
    c.clients
        .guardduty
        .get_detector()
        .detector_id(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn list_keys(c: Call) -> PageResult {
    let o = c
        .clients
        .kms
        .list_keys()
        .limit(1000)
        .set_marker(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(if o.truncated { o.next_marker } else { None })
}

async fn describe_key(c: Call) -> PageResult {
    c.clients
        .kms
        .describe_key()
        .key_id(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_key_rotation_status(c: Call) -> PageResult {
    c.clients
        .kms
        .get_key_rotation_status()
        .key_id(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_db_instances(c: Call) -> PageResult {
    let o = c
        .clients
        .rds
        .describe_db_instances()
        .max_records(100)
        .set_marker(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.marker)
}

async fn describe_db_snapshots(c: Call) -> PageResult {
    let o = c
        .clients
        .rds
        .describe_db_snapshots()
        .max_records(100)
        .set_marker(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.marker)
}

async fn describe_log_groups(c: Call) -> PageResult {
    let o = c
        .clients
        .logs
        .describe_log_groups()
        .limit(50)
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn list_rules(c: Call) -> PageResult {
    let o = c
        .clients
        .events
        .list_rules()
        .limit(100)
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn list_targets_by_rule(c: Call) -> PageResult {
    let o = c
        .clients
        .events
        .list_targets_by_rule()
        .rule(c.key())
        .limit(100)
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn list_subscriptions_by_topic(c: Call) -> PageResult {
    let o = c
        .clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(c.key())
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_organization(c: Call) -> PageResult {
    c.clients
        .organizations
        .describe_organization()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_metric_filters(c: Call) -> PageResult {
    let o = c
        .clients
        .logs
        .describe_metric_filters()
        .limit(50)
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_alarms(c: Call) -> PageResult {
    let o = c
        .clients
        .cloudwatch
        .describe_alarms()
        .max_records(100)
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}
