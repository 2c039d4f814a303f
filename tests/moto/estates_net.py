"""Tweaks for the "net" topic (issues #14/#15), applied on top of the `clean` estate by tweaks.py (which
dispatches every `net-*` name here): exposure beyond a public IPv4 address (load balancers, prefix lists),
protocol-aware ports, sharing with other accounts, foreign peering, scope along attachment.

Each function gets tweaks.py's helpers and returns what it created (printed as JSON by tweaks.py).
"""

OTHER = "999988887777"  # an account that is not the scanned one


def _private_instance(h, name, permissions, tags=None):
    """A VPC with two subnets and a private instance (no public address) behind a group."""
    ec2 = h.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    sub_a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.1.0/24", AvailabilityZone="cn-north-1a")["Subnet"]["SubnetId"]
    sub_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.2.0/24", AvailabilityZone="cn-north-1b")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=permissions)
    kwargs = dict(ImageId=h.ami(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=sub_a, SecurityGroupIds=[sg],
                  KeyName=ec2.create_key_pair(KeyName=f"{name}-key")["KeyName"])
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    inst = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
    return {"vpc": vpc, "subnets": [sub_a, sub_b], "security_group": sg, "instance": inst}


SSH_ANYWHERE = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def _nlb(h, scheme):
    out = _private_instance(h, f"dengbao-net-nlb-{scheme}", SSH_ANYWHERE)
    v2 = h.client("elbv2")
    lb = v2.create_load_balancer(Name=f"net-{scheme}", Subnets=out["subnets"], Scheme=scheme, Type="network")["LoadBalancers"][0]
    tg = v2.create_target_group(Name=f"net-{scheme}-ssh", Protocol="TCP", Port=22, VpcId=out["vpc"], TargetType="instance")["TargetGroups"][0]
    v2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": out["instance"]}])
    v2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=22,
                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    return dict(out, load_balancer=lb["LoadBalancerArn"], target_group=tg["TargetGroupArn"])


def net_nlb_ssh(h):
    """A private instance registered behind an internet-facing NLB forwarding port 22; its group opens SSH."""
    return _nlb(h, "internet-facing")


def net_internal_nlb_ssh(h):
    """The same behind an internal NLB: nothing reaches it from the internet."""
    return _nlb(h, "internal")


def net_clb_ssh(h):
    """A private instance behind an internet-facing Classic Load Balancer; its group opens SSH."""
    out = _private_instance(h, "dengbao-net-clb", SSH_ANYWHERE)
    elb = h.client("elb")
    elb.create_load_balancer(LoadBalancerName="dengbao-net-clb", Subnets=[out["subnets"][0]], Scheme="internet-facing",
                             Listeners=[{"Protocol": "tcp", "LoadBalancerPort": 22, "InstancePort": 22}])
    elb.register_instances_with_load_balancer(LoadBalancerName="dengbao-net-clb", Instances=[{"InstanceId": out["instance"]}])
    return out


def net_ping_allowed(h):
    """A public web server: HTTPS, ICMP (all types, -1/-1) and ICMPv6 (58) from anywhere."""
    return h.public_instance("dengbao-net-ping", [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "58", "FromPort": -1, "ToPort": -1, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ])


def net_prefix_list_ssh(h):
    """A public instance whose group opens SSH to a managed prefix list holding 0.0.0.0/0."""
    ec2 = h.client("ec2")
    pl = ec2.create_managed_prefix_list(PrefixListName="dengbao-anywhere", MaxEntries=5, AddressFamily="IPv4",
                                        Entries=[{"Cidr": "10.0.0.0/8"}, {"Cidr": "0.0.0.0/0"}])["PrefixList"]["PrefixListId"]
    out = h.public_instance("dengbao-net-prefix-list", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": pl}]}])
    return dict(out, prefix_list=pl)


def net_snapshot_shared_with_account(h):
    """An encrypted snapshot whose createVolumePermission names another account."""
    ec2 = h.client("ec2")
    vol = ec2.create_volume(AvailabilityZone="cn-north-1a", Size=8, Encrypted=True)["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol, Description="dengbao net shared")["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add", UserIds=[OTHER])
    return {"volume": vol, "snapshot": snap}


def net_foreign_peering(h):
    """A VPC peering connection to a VPC of another account."""
    ec2 = h.client("ec2")
    vpc = [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")][0]["VpcId"]
    # moto keeps accounts apart by credentials: a role assumed in the other account acts there.
    creds = h.client("sts").assume_role(RoleArn=f"arn:aws-cn:iam::{OTHER}:role/partner", RoleSessionName="partner")["Credentials"]
    theirs = h.client_as("ec2", creds)
    peer = theirs.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer, PeerOwnerId=OTHER)
    return {"vpc": vpc, "peer_vpc": peer, "peering": pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]}


def net_scoped_untagged(h):
    """Only the instance carries the system's tag (system=payments): its group (RDP open to the world),
    its VPC (no flow log) and the snapshot of its root volume (shared with another account) carry none."""
    out = h.public_instance("dengbao-net-scoped", [
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        tags={"system": "payments"})
    ec2 = h.client("ec2")
    inst = ec2.describe_instances(InstanceIds=[out["instance"]])["Reservations"][0]["Instances"][0]
    vol = inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol, Description="dengbao net scoped")["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add", UserIds=[OTHER])
    return dict(out, volume=vol, snapshot=snap)


TWEAKS = {name.replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("net_")}
