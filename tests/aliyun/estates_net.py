"""Tweaks for the "net" topic (issues #14/#15: exposure beyond a public IP, prefix lists, allow-all, foreign
ownership, scale of CNS2-02/CES2-09/SMC2-02), applied on top of the `clean` estate of estates.py, which
imports them into its TWEAKS. Each changes one thing a real tenant's estate has.
"""
from estates import ACCOUNT, T0, _group, _instance, _region, disk, instance, perm

OTHER = "9999888877776666"  # an account that is not the scanned one
HZ = "cn-hangzhou"


def _ssh_open_on_app(e):
    """The private application group (on i-hz-app1/2, no public IP) opens SSH to the world."""
    _group(e, "sg-hz-app")["_permissions"].append(perm("Accept", 1, "TCP", "22/22", src="0.0.0.0/0"))


def t_ping_allowed(e):
    # "HTTPS and ping from anywhere" on the web server: ICMP -1/-1 is all ICMP types, not every port.
    ps = _group(e, "sg-hz-web")["_permissions"]
    ps.append(perm("Accept", 1, "ICMP", "-1/-1", src="0.0.0.0/0"))
    ps.append(perm("Accept", 1, "ICMPv6", "-1/-1", src6="::/0"))


def t_tcp_udp_all_no_acl(e):
    # The console's "all TCP" plus "all UDP" from anywhere is everything, on a vSwitch without an ACL.
    ps = _group(e, "sg-hz-web")["_permissions"]
    ps.insert(0, perm("Accept", 1, "TCP", "1/65535", src="0.0.0.0/0"))
    ps.insert(0, perm("Accept", 1, "UDP", "1/65535", src="0.0.0.0/0"))
    _region(e, HZ)["acls"] = []


def t_ssh_via_prefix_list(e):
    # SSH from a prefix list whose entries hold 0.0.0.0/0: any address, written another way.
    _region(e, HZ)["prefix_lists"] = [{"PrefixListId": "pl-hz-anywhere", "PrefixListName": "anywhere", "AddressFamily": "IPv4",
                                        "AssociationCount": 1, "MaxEntries": 10, "Description": "", "CreationTime": T0,
                                        "_cidrs": ["10.0.0.0/8", "0.0.0.0/0"]},
                                       {"PrefixListId": "pl-hz-office", "PrefixListName": "office", "AddressFamily": "IPv4",
                                        "AssociationCount": 1, "MaxEntries": 10, "Description": "", "CreationTime": T0,
                                        "_cidrs": ["203.0.113.0/24"]}]
    p = perm("Accept", 1, "TCP", "22/22")
    p["SourcePrefixListId"] = "pl-hz-anywhere"
    _group(e, "sg-hz-web")["_permissions"].append(p)


def t_ssh_via_office_prefix_list(e):
    t_ssh_via_prefix_list(e)
    _group(e, "sg-hz-web")["_permissions"][-1]["SourcePrefixListId"] = "pl-hz-office"


def t_clb_backend_ssh(e):
    _ssh_open_on_app(e)
    _region(e, HZ)["slb"] = [{"LoadBalancerId": "lb-hz-web", "LoadBalancerName": "web", "AddressType": "internet",
                              "Address": "47.96.20.1", "LoadBalancerStatus": "active", "NetworkType": "vpc", "RegionId": HZ,
                              "VpcId": "vpc-hzprod", "_backends": ["i-hz-app1"], "_vgroups": []}]


def t_clb_vgroup_ssh(e):
    _ssh_open_on_app(e)
    _region(e, HZ)["slb"] = [{"LoadBalancerId": "lb-hz-web", "LoadBalancerName": "web", "AddressType": "internet",
                              "Address": "47.96.20.1", "LoadBalancerStatus": "active", "NetworkType": "vpc", "RegionId": HZ,
                              "VpcId": "vpc-hzprod", "_backends": [],
                              "_vgroups": [{"VServerGroupId": "rsp-hz-app", "_backends": ["i-hz-app2"]}]}]


def t_internal_clb_ssh(e):
    # The same, behind an intranet CLB: not internet-facing, the open group stays context.
    t_clb_backend_ssh(e)
    _region(e, HZ)["slb"][0]["AddressType"] = "intranet"


def _v2(e, product, address_type="Internet"):
    _ssh_open_on_app(e)
    _region(e, HZ)[product] = {
        "lbs": [{"LoadBalancerId": f"{product}-hz-web", "LoadBalancerName": "web", "AddressType": address_type,
                 "LoadBalancerStatus": "Active", "VpcId": "vpc-hzprod"}],
        "groups": [{"ServerGroupId": f"sgp-hz-{product}", "ServerGroupName": "app", "ServerGroupType": "Instance",
                    "RelatedLoadBalancerIds": [f"{product}-hz-web"], "VpcId": "vpc-hzprod", "Protocol": "TCP"}],
        "servers": [{"ServerGroupId": f"sgp-hz-{product}", "ServerId": "i-hz-app1", "ServerType": "Ecs",
                     "ServerIp": "172.16.1.11", "Port": 22, "Status": "Available", "Weight": 100, "Description": ""}],
    }


def t_alb_backend_ssh(e):
    _v2(e, "alb")


def t_nlb_backend_ssh(e):
    _v2(e, "nlb")


def t_dnat_ssh(e):
    # An internet NAT gateway maps public port 2222 to SSH on the private i-hz-app1.
    _ssh_open_on_app(e)
    _region(e, HZ)["nat_gateways"] = [{
        "NatGatewayId": "ngw-hz-1", "Name": "ngw", "RegionId": HZ, "VpcId": "vpc-hzprod", "NetworkType": "internet",
        "NatType": "Enhanced", "Status": "Available", "ForwardTableIds": {"ForwardTableId": ["ftb-hz-1"]},
        "SnatTableIds": {"SnatTableId": []},
        "_entries": [{"ForwardTableId": "ftb-hz-1", "ForwardEntryId": "fwd-hz-1", "ForwardEntryName": "ssh",
                      "ExternalIp": "47.96.30.1", "ExternalPort": "2222", "InternalIp": "172.16.1.11", "InternalPort": "22",
                      "IpProtocol": "TCP", "Status": "Available", "NatGatewayId": "ngw-hz-1"}]}]


def t_eni_eip_ssh(e):
    # A secondary interface of i-hz-app1, in its own group opening SSH to the world, with an EIP bound to it.
    hz = _region(e, HZ)
    hz["security_groups"].append(dict(_group(e, "sg-hz-app"), SecurityGroupId="sg-hz-eni", SecurityGroupName="sg-hz-eni",
                                      _permissions=[perm("Accept", 1, "TCP", "22/22", src="0.0.0.0/0")]))
    hz["enis"] = [{"NetworkInterfaceId": "eni-hz-second", "Type": "Secondary", "InstanceId": "i-hz-app1", "VpcId": "vpc-hzprod",
                   "VSwitchId": "vsw-hzprod", "ZoneId": f"{HZ}-h", "Status": "InUse", "PrivateIpAddress": "172.16.1.50",
                   "SecurityGroupIds": {"SecurityGroupId": ["sg-hz-eni"]}, "AssociatedPublicIp": {"PublicIpAddress": "", "AllocationId": ""},
                   "Ipv6Sets": {"Ipv6Set": []}, "CreationTime": T0}]
    hz["eips"] = [{"AllocationId": "eip-hz-second", "IpAddress": "47.96.40.1", "InstanceId": "eni-hz-second",
                   "InstanceType": "NetworkInterface", "InstanceRegionId": HZ, "Status": "InUse", "RegionId": HZ}]


def t_foreign_peering(e):
    _region(e, HZ)["peers"] = [{"InstanceId": "pcc-hz-partner", "Name": "partner", "OwnerId": int(ACCOUNT),
                                "AcceptingOwnerUid": int(OTHER), "AcceptingRegionId": HZ, "RegionId": HZ, "Status": "Activated",
                                "Vpc": {"VpcId": "vpc-hzprod"}, "AcceptingVpc": {"VpcId": "vpc-partner"}}]


def t_own_peering(e):
    t_foreign_peering(e)
    _region(e, HZ)["peers"][0]["AcceptingOwnerUid"] = int(ACCOUNT)


def t_foreign_cen(e):
    e["cens"] = [{"CenId": "cen-1", "Name": "hub", "Status": "Active", "CreationTime": T0,
                  "_children": [{"CenId": "cen-1", "ChildInstanceId": "vpc-hzprod", "ChildInstanceType": "VPC",
                                 "ChildInstanceRegionId": HZ, "ChildInstanceOwnerId": int(ACCOUNT), "Status": "Attached"},
                                {"CenId": "cen-1", "ChildInstanceId": "vpc-other", "ChildInstanceType": "VPC",
                                 "ChildInstanceRegionId": HZ, "ChildInstanceOwnerId": int(OTHER), "Status": "Attached"}]}]


def t_classic_network(e):
    i = _instance(e, "i-hz-app2")
    i["InstanceNetworkType"] = "classic"
    i["VpcAttributes"]["VpcId"], i["VpcAttributes"]["VSwitchId"] = "", ""


def t_image_shared_with_account(e):
    _region(e, HZ)["images"][0]["_accounts"] = [{"AliyunId": OTHER, "SharedTime": T0}]


def t_unencrypted_local_disk(e):
    d = disk("d-hz-local", HZ, "i-hz-app1", "", "", encrypted=False)
    d["Category"], d["Type"] = "local_ssd_pro", "data"
    _region(e, HZ)["disks"].append(d)


def t_empty_default_vpc_without_flow_log(e):
    hz = _region(e, HZ)
    hz["flow_logs"] = [f for f in hz["flow_logs"] if f["ResourceId"] != "vpc-hzdefault"]


def t_scoped_untagged(e):
    """Only the instances carry the system's tag (as on most real estates): groups, snapshots and VPCs
    carry none. The web group opens RDP to the world and a snapshot of an in-scope disk is unencrypted."""
    for reg in e["regions"].values():
        for kind in ("security_groups", "snapshots", "disks"):
            for x in reg.get(kind, []):
                x["Tags"] = {"Tag": []}
        for v in reg.get("vpcs", []):
            v["Tags"] = {"Tag": []}
    _group(e, "sg-hz-web")["_permissions"].append(perm("Accept", 1, "TCP", "3389/3389", src="0.0.0.0/0"))
    _region(e, HZ)["snapshots"][0]["Encrypted"] = False


def t_unscoped_extra_instance(e):
    """An instance of another system (no tag) next to the assessed one."""
    hz = _region(e, HZ)
    extra = instance("i-hz-other", HZ, "vpc-hzprod", "vsw-hzprod", ["sg-hz-app"], ip="172.16.1.99")
    extra["Tags"] = {"Tag": []}
    hz["instances"].append(extra)




def t_ipv6_ssh(e):
    # i-hz-app1 has no public IPv4 but an IPv6 address; its group opens SSH to ::/0.
    i = _instance(e, "i-hz-app1")
    i["NetworkInterfaces"] = {"NetworkInterface": [{
        "NetworkInterfaceId": "eni-hz-app1", "Type": "Primary", "MacAddress": "00:16:3e:00:00:01",
        "PrimaryIpAddress": "172.16.1.11", "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": "2408:4005:3b4:f100::11"}]}}]}
    _group(e, "sg-hz-app")["_permissions"].append(perm("Accept", 1, "TCP", "22/22", src6="::/0"))


TWEAKS = {name[2:].replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("t_")}
