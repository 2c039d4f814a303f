"""The answers of the network-path actions (load balancers, NAT, EIPs, interfaces, prefix lists, peering,
CEN) the test server knows, built from an estate's region (estates.py, estates_net.py).

Estate keys, per region: `enis` (secondary interfaces; every instance's primary interface is derived from
the instance), `prefix_lists`, `nat_gateways` (each with `_entries`, its DNAT entries), `eips`, `slb` (each
with `_backends` and `_vgroups`), `alb` and `nlb` ({`lbs`, `groups`, `servers`}), `peers`; and, for the
whole account, `cens` (each with `_children`). Paging as each API documents: ECS and ALB/NLB/VpcPeer by
NextToken, VPC, CLB and CEN by PageNumber/PageSize/TotalCount.
"""
from api import ApiError, number_page, public, token_page


def primary_enis(reg):
    out = []
    for i in reg.get("instances", []):
        va = i["VpcAttributes"]
        out.append({"NetworkInterfaceId": "eni-" + i["InstanceId"][2:], "Type": "Primary", "InstanceId": i["InstanceId"],
                    "VpcId": va["VpcId"], "VSwitchId": va["VSwitchId"], "ZoneId": i["ZoneId"], "Status": "InUse",
                    "PrivateIpAddress": va["PrivateIpAddress"]["IpAddress"][0],
                    "SecurityGroupIds": {"SecurityGroupId": list(i["SecurityGroupIds"]["SecurityGroupId"])},
                    "AssociatedPublicIp": {"PublicIpAddress": "", "AllocationId": ""}, "Ipv6Sets": {"Ipv6Set": []},
                    "CreationTime": i["CreationTime"]})
    return out + [public(e) for e in reg.get("enis", [])]


def describe_network_interfaces(reg, q, cap):
    items = primary_enis(reg)
    page, nxt, n = token_page(items, q, cap, maximum=500)
    return {"NetworkInterfaceSets": {"NetworkInterfaceSet": page}, "NextToken": nxt, "TotalCount": len(items),
            "PageSize": n, "PageNumber": 1}


def describe_prefix_lists(reg, q, cap):
    items = reg.get("prefix_lists", [])
    page, nxt, _ = token_page(items, q, cap)
    return {"PrefixLists": {"PrefixList": [{k: v for k, v in public(p).items() if k != "Entries"} for p in page]},
            "NextToken": nxt}


def describe_prefix_list_attributes(reg, q, cap):
    p = next((p for p in reg.get("prefix_lists", []) if p["PrefixListId"] == q.get("PrefixListId")), None)
    if p is None:
        raise ApiError(404, "InvalidPrefixListId.NotFound", "The specified prefix list does not exist.")
    return {"PrefixListId": p["PrefixListId"], "PrefixListName": p["PrefixListName"], "AddressFamily": p["AddressFamily"],
            "MaxEntries": 10, "Description": "", "CreationTime": "2024-03-01T08:00:00Z",
            "Entries": {"Entry": [{"Cidr": c, "Description": ""} for c in p["_cidrs"]]}}


NET_ECS = {"DescribeNetworkInterfaces": describe_network_interfaces, "DescribePrefixLists": describe_prefix_lists,
           "DescribePrefixListAttributes": describe_prefix_list_attributes}


def describe_nat_gateways(reg, q, cap):
    items = reg.get("nat_gateways", [])
    page, p, n = number_page(items, q, cap, maximum=50)
    return {"NatGateways": {"NatGateway": [public(g) for g in page]}, "TotalCount": len(items), "PageNumber": p, "PageSize": n}


def describe_forward_table_entries(reg, q, cap):
    tid = q.get("ForwardTableId")
    items = [e for g in reg.get("nat_gateways", []) for e in g["_entries"] if e["ForwardTableId"] == tid]
    page, p, n = number_page(items, q, cap, maximum=50)
    return {"ForwardTableEntries": {"ForwardTableEntry": page}, "TotalCount": len(items), "PageNumber": p, "PageSize": n}


def describe_eip_addresses(reg, q, cap):
    items = reg.get("eips", [])
    page, p, n = number_page(items, q, cap)
    return {"EipAddresses": {"EipAddress": page}, "TotalCount": len(items), "PageNumber": p, "PageSize": n}


NET_VPC = {"DescribeNatGateways": describe_nat_gateways, "DescribeForwardTableEntries": describe_forward_table_entries,
           "DescribeEipAddresses": describe_eip_addresses}


def _region(estate, q):
    r = q.get("RegionId")
    if not r:
        raise ApiError(400, "MissingRegionId", "RegionId is mandatory for this action.")
    return estate["regions"].get(r, {})


def _backends(ids):
    return {"BackendServer": [{"ServerId": i, "Weight": 100, "Type": "ecs", "Description": ""} for i in ids]}


def slb(estate, action, q, cap):
    reg = _region(estate, q)
    lbs = reg.get("slb", [])
    if action == "DescribeLoadBalancers":
        page, p, n = number_page(lbs, q, cap)
        return {"LoadBalancers": {"LoadBalancer": [public(lb) for lb in page]}, "TotalCount": len(lbs), "PageNumber": p, "PageSize": n}
    lb = next((lb for lb in lbs if lb["LoadBalancerId"] == q.get("LoadBalancerId")), None)
    if action == "DescribeVServerGroupAttribute":
        g = next((g for lb in lbs for g in lb["_vgroups"] if g["VServerGroupId"] == q.get("VServerGroupId")), None)
        if g is None:
            raise ApiError(404, "InvalidParameter.VServerGroupId", "The specified VServerGroupId does not exist.")
        owner = next(lb for lb in lbs if g in lb["_vgroups"])
        return {"VServerGroupId": g["VServerGroupId"], "VServerGroupName": g["VServerGroupId"], "LoadBalancerId": owner["LoadBalancerId"],
                "BackendServers": _backends(g["_backends"])}
    if lb is None:
        raise ApiError(404, "InvalidLoadBalancerId.NotFound", "The specified LoadBalancerId does not exist.")
    if action == "DescribeLoadBalancerAttribute":
        return dict(public(lb), BackendServers=_backends(lb["_backends"]))
    if action == "DescribeVServerGroups":
        return {"VServerGroups": {"VServerGroup": [{"VServerGroupId": g["VServerGroupId"], "VServerGroupName": g["VServerGroupId"]}
                                                   for g in lb["_vgroups"]]}}
    raise KeyError(action)


def _load_balancers_v2(product):
    def handler(estate, action, q, cap):
        lb = _region(estate, q).get(product, {})
        key, items = {"ListLoadBalancers": ("LoadBalancers", lb.get("lbs", [])),
                      "ListServerGroups": ("ServerGroups", lb.get("groups", [])),
                      "ListServerGroupServers": ("Servers", [s for s in lb.get("servers", [])
                                                            if s["ServerGroupId"] == q.get("ServerGroupId")])}[action]
        page, nxt, n = token_page(items, q, cap)
        return {key: page, "NextToken": nxt, "MaxResults": n, "TotalCount": len(items)}
    return handler


alb = _load_balancers_v2("alb")
nlb = _load_balancers_v2("nlb")


def vpcpeer(estate, action, q, cap):
    if action != "ListVpcPeerConnections":
        raise KeyError(action)
    items = _region(estate, q).get("peers", [])
    page, nxt, n = token_page(items, q, cap)
    return {"VpcPeerConnects": page, "NextToken": nxt, "MaxResults": n, "TotalCount": len(items)}


def cbn(estate, action, q, cap):
    cens = estate.get("cens", [])
    if action == "DescribeCens":
        page, p, n = number_page(cens, q, cap)
        return {"Cens": {"Cen": [public(c) for c in page]}, "TotalCount": len(cens), "PageNumber": p, "PageSize": n}
    if action == "DescribeCenAttachedChildInstances":
        c = next((c for c in cens if c["CenId"] == q.get("CenId")), None)
        if c is None:
            raise ApiError(404, "ParameterCenInstanceId", "The specified CEN instance does not exist.")
        page, p, n = number_page(c["_children"], q, cap)
        return {"ChildInstances": {"ChildInstance": page}, "TotalCount": len(c["_children"]), "PageNumber": p, "PageSize": n}
    raise KeyError(action)
