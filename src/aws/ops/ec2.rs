//! EC2 (EC2 query protocol). Every list asks for the page size its probe manifest sets (`MaxResults`:
//! what is asked is what the record says was asked), else the largest the API allows.

use super::{failure, Call, CallFuture, PageResult};
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

async fn describe_regions(c: Call) -> PageResult {
    c.clients
        .ec2
        .describe_regions()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_vpcs(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_vpcs()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_subnets(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_subnets()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_security_groups(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_security_groups()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_security_group_rules(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_security_group_rules()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_network_acls(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_network_acls()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_vpc_peering_connections(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_vpc_peering_connections()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_transit_gateways(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_transit_gateways()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_transit_gateway_attachments(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_transit_gateway_attachments()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_instances(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_instances()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_volumes(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_volumes()
        .max_results(c.page(500))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_snapshots(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_snapshot_attribute(c: Call) -> PageResult {
    let req = c
        .clients
        .ec2
        .describe_snapshot_attribute()
        .snapshot_id(c.key())
        .attribute(SnapshotAttributeName::CreateVolumePermission);
    req.customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_images(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_images()
        .owners("self")
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_image_attribute(c: Call) -> PageResult {
    let req = c
        .clients
        .ec2
        .describe_image_attribute()
        .image_id(c.key())
        .attribute(ImageAttributeName::LaunchPermission);
    req.customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_ebs_encryption_by_default(c: Call) -> PageResult {
    c.clients
        .ec2
        .get_ebs_encryption_by_default()
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn describe_flow_logs(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_flow_logs()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_internet_gateways(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_internet_gateways()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_route_tables(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_route_tables()
        .max_results(c.page(100))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}

async fn describe_network_interfaces(c: Call) -> PageResult {
    let o = c
        .clients
        .ec2
        .describe_network_interfaces()
        .max_results(c.page(1000))
        .set_next_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.next_token)
}
