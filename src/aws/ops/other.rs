//! STS, IAM, CloudTrail, Config, GuardDuty, KMS, RDS, CloudWatch, CloudWatch Logs, EventBridge, SNS,
//! Organizations. Page sizes are the manifest's (`MaxResults`, `MaxRecords`, `Limit`, `limit`).

use super::{send, Call, CallFuture, PageResult};

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

/// A read with no parameter and a single page: `(function, client, operation)`.
macro_rules! single {
    ($(($name:ident, $client:ident, $op:ident)),+ $(,)?) => {$(
        async fn $name(c: Call) -> PageResult {
            send!(c, c.clients.$client.$op());
            Ok(None)
        }
    )+};
}

single!(
    (get_caller_identity, sts, get_caller_identity),
    (get_account_summary, iam, get_account_summary),
    (
        get_account_password_policy,
        iam,
        get_account_password_policy
    ),
    (
        describe_configuration_recorders,
        config,
        describe_configuration_recorders
    ),
    (
        describe_configuration_recorder_status,
        config,
        describe_configuration_recorder_status
    ),
    (
        describe_delivery_channels,
        config,
        describe_delivery_channels
    ),
    (describe_organization, organizations, describe_organization),
);

/// A read of one fan-out item: `(function, client, operation, key setter)`.
macro_rules! keyed {
    ($(($name:ident, $client:ident, $op:ident, $key:ident)),+ $(,)?) => {$(
        async fn $name(c: Call) -> PageResult {
            send!(c, c.clients.$client.$op().$key(c.key()));
            Ok(None)
        }
    )+};
}

keyed!(
    (get_trail_status, cloudtrail, get_trail_status, name),
    (
        get_event_selectors,
        cloudtrail,
        get_event_selectors,
        trail_name
    ),
    (get_detector, guardduty, get_detector, detector_id),
    (describe_key, kms, describe_key, key_id),
    (
        get_key_rotation_status,
        kms,
        get_key_rotation_status,
        key_id
    ),
);

async fn describe_trails(c: Call) -> PageResult {
    let req = c.clients.cloudtrail.describe_trails();
    let req = req.set_include_shadow_trails(c.flag("includeShadowTrails"));
    send!(c, req.set_trail_name_list(c.texts("trailNameList")));
    Ok(None)
}

async fn describe_configuration_aggregators(c: Call) -> PageResult {
    let req = c.clients.config.describe_configuration_aggregators();
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn list_detectors(c: Call) -> PageResult {
    let req = c
        .clients
        .guardduty
        .list_detectors()
        .set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn list_keys(c: Call) -> PageResult {
    let req = c.clients.kms.list_keys().set_limit(c.int("Limit"));
    let o = send!(c, req.set_marker(c.token()));
    Ok(if o.truncated { o.next_marker } else { None })
}

async fn describe_db_instances(c: Call) -> PageResult {
    let req = c
        .clients
        .rds
        .describe_db_instances()
        .set_max_records(c.int("MaxRecords"));
    Ok(send!(c, req.set_marker(c.token())).marker)
}

async fn describe_db_snapshots(c: Call) -> PageResult {
    let req = c
        .clients
        .rds
        .describe_db_snapshots()
        .set_max_records(c.int("MaxRecords"));
    Ok(send!(c, req.set_marker(c.token())).marker)
}

async fn describe_log_groups(c: Call) -> PageResult {
    let req = c
        .clients
        .logs
        .describe_log_groups()
        .set_limit(c.int("limit"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn describe_metric_filters(c: Call) -> PageResult {
    let req = c
        .clients
        .logs
        .describe_metric_filters()
        .set_limit(c.int("limit"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn describe_alarms(c: Call) -> PageResult {
    let req = c
        .clients
        .cloudwatch
        .describe_alarms()
        .set_max_records(c.int("MaxRecords"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn list_rules(c: Call) -> PageResult {
    let req = c.clients.events.list_rules().set_limit(c.int("Limit"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn list_targets_by_rule(c: Call) -> PageResult {
    let req = c.clients.events.list_targets_by_rule().rule(c.key());
    let req = req.set_limit(c.int("Limit")).set_next_token(c.token());
    Ok(send!(c, req).next_token)
}

async fn list_subscriptions_by_topic(c: Call) -> PageResult {
    let req = c
        .clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(c.key());
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}
