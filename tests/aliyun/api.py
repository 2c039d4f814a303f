"""The answers of each Alibaba Cloud action the test server knows, built from an estate (estates.py).

Each handler returns the business fields of the answer, shaped as the API reference documents them (the
server adds RequestId and checks the shape against the product SDK's model). Paging follows each API:
NextToken/MaxResults (ECS lists), PageNumber/PageSize/TotalCount (VPC, KMS, images; VPC's flow logs and
network ACLs give their counts as strings), CurrentPage/PageSize with PageInfo (Security Center),
TotalRecordCount/PageRecordCount (RDS), Marker/MaxItems/IsTruncated (RAM).
"""

REGIONAL_VERSIONS = {"2014-05-26", "2016-04-28", "2020-07-06", "2016-01-20", "2014-08-15",
                     "2014-05-15", "2020-06-16", "2022-04-30", "2022-01-01"}


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def public(d):
    """A resource without the estate's private `_` fields."""
    return {k: v for k, v in d.items() if not k.startswith("_")}


def token_page(items, q, cap, default=10, maximum=100, size="MaxResults", token="NextToken"):
    start = int(q.get(token) or "0") if (q.get(token) or "0").isdigit() else None
    if start is None:
        raise ApiError(400, "InvalidParameter.NextToken", "The specified NextToken is invalid.")
    n = min(int(q.get(size) or default), maximum, cap)
    page = items[start:start + n]
    nxt = str(start + n) if start + n < len(items) else ""
    return page, nxt, n


def number_page(items, q, cap, default=10, maximum=100, page="PageNumber", size="PageSize"):
    p = int(q.get(page) or 1)
    n = min(int(q.get(size) or default), maximum, cap)
    return items[(p - 1) * n:p * n], p, n


def region_of(estate, version, q):
    if version not in REGIONAL_VERSIONS:
        return None
    r = q.get("RegionId")
    if not r:
        raise ApiError(400, "MissingRegionId", "RegionId is mandatory for this action.")
    return estate["regions"].get(r, {})


def ecs(estate, action, q, cap):
    if action == "DescribeRegions":
        return {"Regions": {"Region": [
            {"RegionId": r, "LocalName": r, "RegionEndpoint": f"ecs.{r}.aliyuncs.com", "Status": "available"}
            for r in sorted(estate["all_regions"])]}}
    reg = region_of(estate, "2014-05-26", q)
    if action == "DescribeInstances":
        page, nxt, n = token_page(reg.get("instances", []), q, cap)
        return {"Instances": {"Instance": [public(i) for i in page]}, "TotalCount": len(reg.get("instances", [])),
                "NextToken": nxt, "PageSize": n, "PageNumber": 1}
    if action == "DescribeSecurityGroups":
        groups = reg.get("security_groups", [])
        page, nxt, n = token_page(groups, q, cap)
        return {"SecurityGroups": {"SecurityGroup": [public(g) for g in page]}, "TotalCount": len(groups),
                "NextToken": nxt, "PageSize": n, "PageNumber": 1, "RegionId": q["RegionId"]}
    if action == "DescribeSecurityGroupAttribute":
        g = next((g for g in reg.get("security_groups", []) if g["SecurityGroupId"] == q.get("SecurityGroupId")), None)
        if g is None:
            raise ApiError(404, "InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId does not exist.")
        direction = q.get("Direction", "all")
        perms = [p for p in g["_permissions"] if direction == "all" or p["Direction"] == direction]
        # A group holds at most 1000 rules (the API's largest page): dengbao asks for 1000 and gets a group's
        # whole rule set in one answer, which `admits` needs; the page cap does not apply here.
        page, nxt, _ = token_page(perms, q, 1000, default=500, maximum=1000)
        return {"SecurityGroupId": g["SecurityGroupId"], "SecurityGroupName": g["SecurityGroupName"],
                "Description": g.get("Description", ""), "RegionId": q["RegionId"], "VpcId": g["VpcId"],
                "InnerAccessPolicy": g["_inner"], "Permissions": {"Permission": page}, "NextToken": nxt}
    if action == "DescribeDisks":
        page, nxt, n = token_page(reg.get("disks", []), q, cap, maximum=500)
        return {"Disks": {"Disk": [public(d) for d in page]}, "TotalCount": len(reg.get("disks", [])),
                "NextToken": nxt, "PageSize": n, "PageNumber": 1}
    if action == "DescribeSnapshots":
        page, nxt, n = token_page(reg.get("snapshots", []), q, cap)
        return {"Snapshots": {"Snapshot": [public(s) for s in page]}, "TotalCount": len(reg.get("snapshots", [])),
                "NextToken": nxt, "PageSize": n, "PageNumber": 1}
    if action == "DescribeImages":
        images = [i for i in reg.get("images", []) if q.get("ImageOwnerAlias") in (None, i["ImageOwnerAlias"])]
        page, p, n = number_page(images, q, cap)
        return {"Images": {"Image": [public(i) for i in page]}, "TotalCount": len(images), "PageNumber": p,
                "PageSize": n, "RegionId": q["RegionId"]}
    if action == "DescribeImageSharePermission":
        img = next((i for i in reg.get("images", []) if i["ImageId"] == q.get("ImageId")), None)
        if img is None:
            raise ApiError(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
        page, p, n = number_page(img["_accounts"], q, cap)
        return {"ImageId": img["ImageId"], "RegionId": q["RegionId"], "Accounts": {"Account": page},
                "ShareGroups": {"ShareGroup": [{"Group": g} for g in img["_share_groups"]]},
                "TotalCount": len(img["_accounts"]), "PageNumber": p, "PageSize": n}
    if action == "DescribeDiskEncryptionByDefaultStatus":
        return {"Encrypted": bool(reg.get("encryption_by_default", False))}
    if action in NET_ECS:
        return NET_ECS[action](reg, q, cap)
    if action == "DescribeAutoSnapshotPolicyEx":
        pols = reg.get("snapshot_policies", [])
        page, p, n = number_page(pols, q, cap)
        return {"AutoSnapshotPolicies": {"AutoSnapshotPolicy": page}, "TotalCount": len(pols), "PageNumber": p, "PageSize": n}
    raise KeyError(action)


def vpc(estate, action, q, cap):
    reg = region_of(estate, "2016-04-28", q)
    if action in NET_VPC:
        return NET_VPC[action](reg, q, cap)
    key = {"DescribeVpcs": "vpcs", "DescribeFlowLogs": "flow_logs", "DescribeNetworkAcls": "acls"}[action]
    items = reg.get(key, [])
    page, p, n = number_page(items, q, cap, maximum=50)
    if action == "DescribeVpcs":
        return {"Vpcs": {"Vpc": page}, "TotalCount": len(items), "PageNumber": p, "PageSize": n}
    if action == "DescribeFlowLogs":
        return {"FlowLogs": {"FlowLog": page}, "TotalCount": str(len(items)), "PageNumber": str(p), "PageSize": str(n), "Success": "true"}
    return {"NetworkAcls": {"NetworkAcl": page}, "TotalCount": str(len(items)), "PageNumber": str(p), "PageSize": str(n)}


def actiontrail(estate, action, q, cap):
    region = q.get("RegionId")
    region_of(estate, "2020-07-06", q)
    trails = estate["trails"]
    if action == "DescribeTrails":
        shadows = q.get("IncludeShadowTrails", "false").lower() == "true"
        listed = [t for t in trails if t["HomeRegion"] == region or (shadows and t["TrailRegion"] == "All")]
        return {"TrailList": [public(t) for t in listed]}
    if action == "GetTrailStatus":
        # An organization (multi-account) trail is only found when asked with IsOrganizationTrail=true.
        org = q.get("IsOrganizationTrail", "false").lower() == "true"
        t = next((t for t in trails if t["Name"] == q.get("Name") and t["HomeRegion"] == region
                  and bool(t.get("IsOrganizationTrail")) == org), None)
        if t is None:
            raise ApiError(404, "TrailNotFoundException", "The specified trail does not exist.")
        return t["_status"]
    raise KeyError(action)


def sas(estate, action, q, cap):
    if action == "DescribeVersionConfig":
        v = estate["sas_version"]
        return {"Version": v, "HighestVersion": v, "IsTrialVersion": 0, "AssetLevel": 30, "InstanceId": "sas-3b1m5kcl1fbi",
                "MVAuthCount": 0, "IsPostpay": False, "OpenTime": 1700000000000, "ReleaseTime": 1900000000000}
    if action == "DescribeNoticeConfig":
        return api_audit.notice_config(estate)
    if action == "DescribeCloudCenterInstances":
        items = [i for i in estate["sas_instances"] if q.get("MachineTypes") in (None, "ecs")]
        page, p, n = number_page(items, q, cap, default=20, page="CurrentPage")
        return {"Instances": page, "Success": True,
                "PageInfo": {"CurrentPage": p, "PageSize": n, "TotalCount": len(items), "Count": len(page)}}
    raise KeyError(action)


def cloudfw(estate, action, q, cap):
    if action != "DescribeAssetList":
        raise KeyError(action)
    if "CurrentPage" not in q or "PageSize" not in q:
        raise ApiError(400, "ErrorParamsNotEnough", "CurrentPage and PageSize are required.")
    if estate["cloudfw_assets"] is None:
        raise ApiError(400, "ErrorNoFirewallInstance", "Cloud Firewall is not activated for this account.")
    items = estate["cloudfw_assets"]
    page, _, _ = number_page(items, q, cap, page="CurrentPage")
    return {"Assets": page, "TotalCount": len(items)}


def kms(estate, action, q, cap):
    reg = region_of(estate, "2016-01-20", q)
    keys = reg.get("kms", [])
    if action == "ListKeys":
        page, p, n = number_page(keys, q, cap)
        return {"Keys": {"Key": [{"KeyId": k["KeyId"], "KeyArn": k["Arn"]} for k in page]}, "TotalCount": len(keys),
                "PageNumber": p, "PageSize": n}
    if action == "DescribeKey":
        k = next((k for k in keys if k["KeyId"] == q.get("KeyId")), None)
        if k is None:
            raise ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")
        return {"KeyMetadata": k}
    raise KeyError(action)


def ram(estate, action, q, cap):
    users = estate["users"]
    acct = estate["account"]
    if action == "ListUsers":
        start = int(q.get("Marker") or 0)
        n = min(int(q.get("MaxItems") or 100), 1000, cap)
        page = users[start:start + n]
        out = {"Users": {"User": [public(u) for u in page]}, "IsTruncated": start + n < len(users)}
        if out["IsTruncated"]:
            out["Marker"] = str(start + n)
        return out
    if action == "GetLoginProfile":
        u = next((u for u in users if u["UserName"] == q.get("UserName")), None)
        if u is None:
            raise ApiError(404, "EntityNotExist.User", "The user does not exist.")
        if not u["_console"]:
            raise ApiError(404, "EntityNotExist.User.LoginProfile", f"The login policy of user {u['UserName']} does not exist.")
        return {"LoginProfile": {"UserName": u["UserName"], "PasswordResetRequired": False, "MFABindRequired": u["_mfa"],
                                 "CreateDate": "2024-02-01T08:00:00Z"}}
    if action == "ListVirtualMFADevices":
        return {"VirtualMFADevices": {"VirtualMFADevice": [
            {"SerialNumber": f"acs:ram::{acct}:mfa/{u['UserName']}", "ActivateDate": "2024-02-01T08:05:00Z",
             "User": {"UserId": u["UserId"], "UserName": u["UserName"], "DisplayName": u["DisplayName"]}}
            for u in users if u["_mfa"]]}}
    raise KeyError(action)


def ims(estate, action, q, cap):
    if action != "GetAccountSecurityPracticeReport":
        raise KeyError(action)
    users = estate["users"]
    return {"AccountSecurityPracticeInfo": {"Score": 85, "AccountSecurityPracticeUserInfo": {
        "BindMfa": estate["root_mfa"], "RootWithAccessKey": 0, "SubUser": len(users),
        "SubUserBindMfa": sum(1 for u in users if u["_mfa"]), "SubUserPwdLevel": "high", "OldAkNum": 0,
        "UnusedAkNum": 0, "SubUserWithOldAccessKey": 0, "SubUserWithUnusedAccessKey": 0}}}


def rds(estate, action, q, cap):
    reg = region_of(estate, "2014-08-15", q)
    if action == "DescribeDBInstances":
        items = reg.get("rds", [])
        page, p, _ = number_page(items, q, cap)
        return {"Items": {"DBInstance": page}, "TotalRecordCount": len(items), "PageNumber": p, "PageRecordCount": len(page)}
    if action == "DescribeCrossRegionBackupDBInstance":
        items = reg.get("rds_cross", [])
        page, p, n = number_page(items, q, cap)
        return {"Items": {"Item": page}, "TotalRecords": len(items), "PageNumber": p, "PageSize": n,
                "ItemsNumbers": len(page), "RegionId": q["RegionId"]}
    raise KeyError(action)


def sts(estate, action, q, cap):
    if action != "GetCallerIdentity":
        raise KeyError(action)
    acct = estate["account"]
    return {"AccountId": acct, "UserId": "216959339000654321", "PrincipalId": "216959339000654321",
            "IdentityType": "RAMUser", "Arn": f"acs:ram::{acct}:user/dengbao-scanner"}


from api_net import NET_ECS, NET_VPC, slb, alb, nlb, vpcpeer, cbn  # noqa: E402
import api_audit  # noqa: E402  (the audit topic's actions; it imports this module's helpers)

PRODUCTS = {
    "2014-05-26": ecs, "2016-04-28": vpc, "2020-07-06": actiontrail, "2018-12-03": sas, "2017-12-07": cloudfw,
    "2016-01-20": kms, "2015-05-01": ram, "2019-08-15": ims, "2014-08-15": rds, "2015-04-01": sts,
    "2014-05-15": slb, "2020-06-16": alb, "2022-04-30": nlb, "2022-01-01": vpcpeer, "2017-09-12": cbn,
    "2019-01-01": api_audit.cms,
}


def answer(estate, version, action, q, cap):
    """(200, body) or (status, {Code, Message}); KeyError for an unknown action."""
    handler = PRODUCTS[version]
    try:
        # The "data" topic's actions (api_data.py) first.
        import api_data
        body = api_data.answer(estate, version, action, q, cap)
        return 200, body if body is not None else handler(estate, action, q, cap)
    except ApiError as e:
        return e.status, {"Code": e.code, "Message": e.message}
