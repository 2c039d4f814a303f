//! EC2 (EC2 query protocol). Lists ask for the page size their probe manifest sets (`MaxResults`).

use super::{send, Call, CallFuture, PageResult};
use aws_sdk_ec2::types::{ImageAttributeName, SnapshotAttributeName};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.ec2.describe_regions" => |c| Box::pin(describe_regions(c)),
        "aws.ec2.describe_vpcs" => |c| Box::pin(describe_vpcs(c)),
        "aws.ec2.describe_subnets" => |c| Box::pin(describe_subnets(c)),
        "aws.ec2.describe_security_groups" => |c| Box::pin(describe_security_groups(c)),
        "aws.ec2.describe_security_group_rules" => |c| Box::pin(describe_security_group_rules(c)),
        "aws.ec2.describe_network_acls" => |c| Box::pin(describe_network_acls(c)),
        "aws.ec2.describe_vpc_peering_connections" => {
            |c| Box::pin(describe_vpc_peering_connections(c))
        }
        "aws.ec2.describe_transit_gateways" => |c| Box::pin(describe_transit_gateways(c)),
        "aws.ec2.describe_transit_gateway_attachments" => {
            |c| Box::pin(describe_transit_gateway_attachments(c))
        }
        "aws.ec2.describe_instances" => |c| Box::pin(describe_instances(c)),
        "aws.ec2.describe_volumes" => |c| Box::pin(describe_volumes(c)),
        "aws.ec2.describe_snapshots" => |c| Box::pin(describe_snapshots(c)),
        "aws.ec2.describe_snapshot_attribute" => |c| Box::pin(describe_snapshot_attribute(c)),
        "aws.ec2.describe_images" => |c| Box::pin(describe_images(c)),
        "aws.ec2.describe_image_attribute" => |c| Box::pin(describe_image_attribute(c)),
        "aws.ec2.get_ebs_encryption_by_default" => |c| Box::pin(get_ebs_encryption_by_default(c)),
        "aws.ec2.describe_flow_logs" => |c| Box::pin(describe_flow_logs(c)),
        "aws.ec2.describe_internet_gateways" => |c| Box::pin(describe_internet_gateways(c)),
        "aws.ec2.describe_route_tables" => |c| Box::pin(describe_route_tables(c)),
        "aws.ec2.describe_network_interfaces" => |c| Box::pin(describe_network_interfaces(c)),
        _ => return None,
    })
}

/// An EC2 list paged with `MaxResults` and `NextToken`, and nothing else asked.
macro_rules! list {
    ($($op:ident),+ $(,)?) => {$(
        async fn $op(c: Call) -> PageResult {
            let req = c.clients.ec2.$op().set_max_results(c.int("MaxResults"));
            Ok(send!(c, req.set_next_token(c.token())).next_token)
        }
    )+};
}

list!(
    describe_vpcs,
    describe_subnets,
    describe_security_groups,
    describe_security_group_rules,
    describe_network_acls,
    describe_vpc_peering_connections,
    describe_transit_gateways,
    describe_transit_gateway_attachments,
    describe_instances,
    describe_volumes,
    describe_flow_logs,
    describe_internet_gateways,
    describe_route_tables,
    describe_network_interfaces,
);

async fn describe_regions(c: Call) -> PageResult {
    send!(c, c.clients.ec2.describe_regions());
    Ok(None)
}

async fn describe_snapshots(c: Call) -> PageResult {
    let req = c
        .clients
        .ec2
        .describe_snapshots()
        .set_owner_ids(c.texts("OwnerIds"));
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn describe_snapshot_attribute(c: Call) -> PageResult {
    let attribute = c
        .text("Attribute")
        .map(|a| SnapshotAttributeName::from(a.as_str()));
    let req = c.clients.ec2.describe_snapshot_attribute();
    send!(c, req.snapshot_id(c.key()).set_attribute(attribute));
    Ok(None)
}

async fn describe_images(c: Call) -> PageResult {
    let req = c
        .clients
        .ec2
        .describe_images()
        .set_owners(c.texts("Owners"));
    let req = req.set_max_results(c.int("MaxResults"));
    Ok(send!(c, req.set_next_token(c.token())).next_token)
}

async fn describe_image_attribute(c: Call) -> PageResult {
    let attribute = c
        .text("Attribute")
        .map(|a| ImageAttributeName::from(a.as_str()));
    let req = c.clients.ec2.describe_image_attribute();
    send!(c, req.image_id(c.key()).set_attribute(attribute));
    Ok(None)
}

async fn get_ebs_encryption_by_default(c: Call) -> PageResult {
    send!(c, c.clients.ec2.get_ebs_encryption_by_default());
    Ok(None)
}
