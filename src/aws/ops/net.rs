//! The network paths to an instance beyond its own public address: managed prefix lists (EC2, what a
//! security group rule naming `pl-…` really admits) and load balancers (Classic ELB, and ALB/NLB through
//! target groups and their registered targets). Every list asks for its probe manifest's page size.

use super::{failure, Call, CallFuture, PageResult};

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

/// Sends `$req` with the recorder attached and gives the answer's `$next` page token.
macro_rules! page {
    ($c:ident, $req:expr, $next:ident) => {{
        let o = $req
            .customize()
            .interceptor($c.rec)
            .send()
            .await
            .map_err(failure)?;
        Ok(o.$next)
    }};
}

/// A paged list call: `$op` of client `$client`, page size `$size($n)` (or the manifest's), continuing from
/// the page token with `$from`, the next page's token read from `$next`.
macro_rules! list {
    ($name:ident, $client:ident . $op:ident, $size:ident($n:expr), $from:ident -> $next:ident) => {
        async fn $name(c: Call) -> PageResult {
            let req = c
                .clients
                .$client
                .$op()
                .$size(c.page($n))
                .$from(c.token.clone());
            page!(c, req, $next)
        }
    };
}

list!(describe_managed_prefix_lists, ec2.describe_managed_prefix_lists, max_results(100), set_next_token -> next_token);
list!(elb_describe_load_balancers, elb.describe_load_balancers, page_size(400), set_marker -> next_marker);
list!(elbv2_describe_load_balancers, elbv2.describe_load_balancers, page_size(400), set_marker -> next_marker);
list!(elbv2_describe_target_groups, elbv2.describe_target_groups, page_size(400), set_marker -> next_marker);

async fn get_managed_prefix_list_entries(c: Call) -> PageResult {
    let req = c
        .clients
        .ec2
        .get_managed_prefix_list_entries()
        .prefix_list_id(c.key())
        .max_results(c.page(100))
        .set_next_token(c.token.clone());
    page!(c, req, next_token)
}

async fn elbv2_describe_target_health(c: Call) -> PageResult {
    let req = c
        .clients
        .elbv2
        .describe_target_health()
        .target_group_arn(c.key());
    req.customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}
