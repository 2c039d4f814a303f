//! The network paths to an instance beyond its own public address: managed prefix lists (EC2, what a
//! security group rule naming `pl-…` really admits) and load balancers (Classic ELB, and ALB/NLB through
//! target groups and their registered targets). Page sizes are the manifest's (`MaxResults`, `PageSize`).

use super::{send, Call, CallFuture, PageResult};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.ec2.describe_managed_prefix_lists" => |c| Box::pin(describe_managed_prefix_lists(c)),
        "aws.ec2.get_managed_prefix_list_entries" => {
            |c| Box::pin(get_managed_prefix_list_entries(c))
        }
        "aws.elb.describe_load_balancers" => |c| Box::pin(elb_describe_load_balancers(c)),
        "aws.elbv2.describe_load_balancers" => |c| Box::pin(elbv2_describe_load_balancers(c)),
        "aws.elbv2.describe_target_groups" => |c| Box::pin(elbv2_describe_target_groups(c)),
        "aws.elbv2.describe_target_health" => |c| Box::pin(elbv2_describe_target_health(c)),
        _ => return None,
    })
}

async fn describe_managed_prefix_lists(c: Call) -> PageResult {
    let req = c.clients.ec2.describe_managed_prefix_lists();
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn get_managed_prefix_list_entries(c: Call) -> PageResult {
    let req = c.clients.ec2.get_managed_prefix_list_entries();
    let req = req
        .prefix_list_id(c.key())
        .set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn elb_describe_load_balancers(c: Call) -> PageResult {
    let req = c.clients.elb.describe_load_balancers();
    let req = req.set_page_size(c.int("PageSize"));
    Ok(send!(c, req.set_marker(c.token())).next_marker)
}

async fn elbv2_describe_load_balancers(c: Call) -> PageResult {
    let req = c.clients.elbv2.describe_load_balancers();
    let req = req.set_page_size(c.int("PageSize"));
    Ok(send!(c, req.set_marker(c.token())).next_marker)
}

async fn elbv2_describe_target_groups(c: Call) -> PageResult {
    let req = c.clients.elbv2.describe_target_groups();
    let req = req.set_page_size(c.int("PageSize"));
    Ok(send!(c, req.set_marker(c.token())).next_marker)
}

/// One target group's registered targets (the API has no pages).
async fn elbv2_describe_target_health(c: Call) -> PageResult {
    let req = c.clients.elbv2.describe_target_health();
    send!(c, req.target_group_arn(c.key()));
    Ok(None)
}
