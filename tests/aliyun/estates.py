"""Alibaba Cloud estates for the test server: `clean`, `noncompliant`, `partial`, `empty`, and named tweaks.

`clean` meets every mapped MLPS item in cn-hangzhou and cn-shanghai. It includes the traps the mappings must
see through: on the web group an Accept of SSH from 0.0.0.0/0 at priority 100 is overridden by a Drop at
priority 1 (so SSH is not exposed), and the shared application group is set to InnerAccessPolicy=Drop.
Each tweak changes one thing; `partial` and `noncompliant` are bundles of tweaks (see BUNDLES).
Fields starting with `_` are the estate's own bookkeeping and never served.
"""
import copy
import zlib

import estates_audit

ACCOUNT = "1234567890123456"
T0 = "2024-03-01T08:00:00Z"
MAINLAND = ["cn-hangzhou", "cn-shanghai"]


def tags(**kv):
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in kv.items()]}


def instance(iid, region, vpc, vsw, sgs, public_ip=None, eip=None, key="ops-key", os_type="linux", ip="172.16.1.10"):
    return {
        "InstanceId": iid, "InstanceName": iid, "RegionId": region, "ZoneId": f"{region}-h", "Status": "Running",
        "InstanceType": "ecs.g7.large", "InstanceTypeFamily": "ecs.g7", "Cpu": 2, "Memory": 8192,
        "OSType": os_type, "OSName": "Alibaba Cloud Linux 3.2104 LTS 64位", "ImageId": "aliyun_3_x64_20G_alibase_20240528.vhd",
        "InstanceNetworkType": "vpc", "KeyPairName": key or "", "CreationTime": "2024-03-01T08:00Z",
        "InternetMaxBandwidthOut": 5 if public_ip else 0, "InstanceChargeType": "PostPaid",
        "VpcAttributes": {"VpcId": vpc, "VSwitchId": vsw, "NatIpAddress": "", "PrivateIpAddress": {"IpAddress": [ip]}},
        "SecurityGroupIds": {"SecurityGroupId": list(sgs)},
        "PublicIpAddress": {"IpAddress": [public_ip] if public_ip else []},
        "EipAddress": {"IpAddress": eip or "", "AllocationId": "eip-bp1" + iid[-6:] if eip else "", "InternetChargeType": ""},
        "InnerIpAddress": {"IpAddress": []},
        "Tags": tags(system="payments"),
    }


def perm(policy, priority, proto, ports, src="", src6="", src_group="", direction="ingress", dest=""):
    return {
        "SecurityGroupRuleId": f"sgr-{policy[0].lower()}{priority}{proto.lower()}{ports.replace('/', '-')}",
        "Direction": direction, "Policy": policy, "Priority": str(priority), "IpProtocol": proto, "PortRange": ports,
        "SourceCidrIp": src, "Ipv6SourceCidrIp": src6, "SourceGroupId": src_group, "DestCidrIp": dest,
        "Ipv6DestCidrIp": "", "NicType": "intranet", "CreateTime": T0, "Description": "",
    }


def group(gid, vpc, perms, inner="Drop", gtype="normal"):
    return {"SecurityGroupId": gid, "SecurityGroupName": gid, "Description": "", "VpcId": vpc,
            "SecurityGroupType": gtype, "CreationTime": T0, "ResourceGroupId": "", "ServiceManaged": False,
            "Tags": tags(system="payments"), "_inner": inner, "_permissions": perms}


def disk(did, region, iid, key_id, policy="sp-" + "daily", encrypted=True):
    return {"DiskId": did, "DiskName": did, "RegionId": region, "ZoneId": f"{region}-h", "Category": "cloud_essd",
            "Size": 40, "Type": "system", "Status": "In_use", "InstanceId": iid, "Encrypted": encrypted,
            "KMSKeyId": key_id if encrypted else "", "AutoSnapshotPolicyId": policy,
            "EnableAutomatedSnapshotPolicy": bool(policy), "EnableAutoSnapshot": True, "DeleteWithInstance": True,
            "CreationTime": T0, "Tags": tags(system="payments")}


def snapshot(sid, region, did, encrypted=True):
    return {"SnapshotId": sid, "SnapshotName": sid, "RegionId": region, "SourceDiskId": did, "SourceDiskType": "system",
            "SourceDiskSize": "40", "Encrypted": encrypted, "KMSKeyId": "", "Status": "accomplished",
            "Progress": "100%", "CreationTime": T0, "RetentionDays": 30, "Category": "standard", "Tags": tags()}


def kms_key(kid, region, creator=ACCOUNT, rotation="Enabled", spec="Aliyun_AES_256"):
    return {"KeyId": kid, "Arn": f"acs:kms:{region}:{ACCOUNT}:key/{kid}", "Creator": creator, "KeyState": "Enabled",
            "KeySpec": spec, "KeyUsage": "ENCRYPT/DECRYPT", "Origin": "Aliyun_KMS", "ProtectionLevel": "SOFTWARE",
            "AutomaticRotation": rotation, "RotationInterval": "31536000s" if rotation == "Enabled" else "",
            "CreationDate": T0, "Description": "", "DeletionProtection": "Disabled", "PrimaryKeyVersion": "v1"}


def vpc(vid, region, cidr, default=False):
    return {"VpcId": vid, "VpcName": vid, "RegionId": region, "Status": "Available", "CidrBlock": cidr,
            "IsDefault": default, "OwnerId": int(ACCOUNT), "VRouterId": "vrt-" + vid[4:], "CreationTime": T0,
            "Description": "", "Ipv6CidrBlock": "", "VSwitchIds": {"VSwitchId": ["vsw-" + vid[4:]]}, "Tags": {"Tag": []}}


def flow_log(fid, region, resource, traffic="All", rtype="VPC", status="Active"):
    return {"FlowLogId": fid, "FlowLogName": fid, "RegionId": region, "ResourceType": rtype, "ResourceId": resource,
            "TrafficType": traffic, "Status": status, "BusinessStatus": "Normal", "ProjectName": "flowlog-audit",
            "LogStoreName": "flowlog", "AggregationInterval": 10, "CreationTime": T0, "Description": ""}


def acl(aid, region, vid, vsw, entries):
    return {"NetworkAclId": aid, "NetworkAclName": aid, "RegionId": region, "VpcId": vid, "Status": "Available",
            "OwnerId": int(ACCOUNT), "CreationTime": T0, "Description": "",
            "IngressAclEntries": {"IngressAclEntry": entries},
            "EgressAclEntries": {"EgressAclEntry": [{"NetworkAclEntryId": "nae-out", "NetworkAclEntryName": "all-out",
                                                     "Policy": "accept", "Protocol": "all", "Port": "-1/-1",
                                                     "DestinationCidrIp": "0.0.0.0/0", "EntryType": "custom",
                                                     "IpVersion": "IPv4", "Description": ""}]},
            "Resources": {"Resource": [{"ResourceId": vsw, "ResourceType": "VSwitch", "Status": "BINDED"}]}}


def acl_entry(policy, proto, port, src):
    return {"NetworkAclEntryId": f"nae-{policy}-{port.replace('/', '-')}", "NetworkAclEntryName": "", "Policy": policy,
            "Protocol": proto, "Port": port, "SourceCidrIp": src, "EntryType": "custom", "IpVersion": "IPv4", "Description": ""}


def sas_instance(iid, region, online=True, auth=3, ip="172.16.1.10"):
    return {"InstanceId": iid, "InstanceName": iid, "Uuid": "uuid-" + iid, "RegionId": region, "Region": region,
            "RegionName": region, "ClientStatus": "online" if online else "offline", "AuthVersion": auth,
            "AuthVersionName": "Enterprise" if auth != 1 else "Free", "Ip": ip, "IntranetIp": ip, "InternetIp": "",
            "Os": "linux", "OsName": "Alibaba Cloud Linux 3", "Vendor": 0, "VendorName": "ALIYUN", "AssetType": "0",
            "Bind": True, "Status": "Running", "RiskStatus": "NO", "Flag": 0, "GroupId": 1, "GroupTrace": "default",
            "VulCount": 0, "SafeEventCount": 0, "HcStatus": "NO", "AlarmStatus": "NO"}


def cloudfw_asset(iid, region, ip, status="open"):
    return {"InternetAddress": ip, "IntranetAddress": "172.16.1.10", "ResourceInstanceId": iid, "BindInstanceId": iid,
            "BindInstanceName": iid, "Name": iid, "ProtectStatus": status, "ResourceType": "EcsPublicIP",
            "Type": "EcsPublicIP", "RegionID": region, "IpVersion": 4, "RiskLevel": "low", "SgStatus": "pass",
            "RegionStatus": "enable", "SyncStatus": "enable", "AliUid": int(ACCOUNT), "Note": "", "CreateTimeStamp": "1709280000"}


def user(name, console=True, mfa=True):
    return {"UserId": "2169" + str(zlib.crc32(name.encode())).zfill(12), "UserName": name, "DisplayName": name,
            "CreateDate": T0, "UpdateDate": T0, "Comments": "", "_console": console, "_mfa": mfa}


def trail(name="trail-all", home="cn-hangzhou", region="All", rw="All", logging=True, oss="audit-logs-1234",
          oss_loc="cn-hangzhou", sls=f"acs:log:cn-hangzhou:{ACCOUNT}:project/actiontrail-audit"):
    return {"Name": name, "HomeRegion": home, "TrailRegion": region, "EventRW": rw,
            "Status": "Enable" if logging else "Disable", "OssBucketName": oss, "OssBucketLocation": oss_loc,
            "OssKeyPrefix": "actiontrail", "OssWriteRoleArn": f"acs:ram::{ACCOUNT}:role/aliyunactiontraildefaultrole",
            "SlsProjectArn": sls, "SlsWriteRoleArn": f"acs:ram::{ACCOUNT}:role/aliyunactiontraildefaultrole",
            "IsOrganizationTrail": False, "TrailArn": f"acs:actiontrail:{home}:{ACCOUNT}:trail/{name}",
            "CreateTime": "2024-03-01 16:00:00", "UpdateTime": "2024-03-01 16:00:00", "StartLoggingTime": "2024-03-01 16:00:00",
            "Region": region,
            "_status": {"IsLogging": logging, "LatestDeliveryTime": "2025-11-25 08:00:00", "StartLoggingTime": "2024-03-01 16:00:00",
                        "StopLoggingTime": "", "OssBucketStatus": True, "SlsLogStoreStatus": True, "LatestDeliveryError": ""}}


def clean():
    hz, sh = "cn-hangzhou", "cn-shanghai"
    web_perms = [
        perm("Accept", 1, "TCP", "443/443", src="0.0.0.0/0"),
        perm("Accept", 1, "TCP", "443/443", src6="::/0"),
        # The trap: SSH from anywhere is accepted at priority 100 but dropped at priority 1.
        perm("Accept", 100, "TCP", "22/22", src="0.0.0.0/0"),
        perm("Drop", 1, "TCP", "22/22", src="0.0.0.0/0"),
        perm("Accept", 1, "TCP", "22/22", src="10.10.0.0/16"),
        perm("Accept", 1, "ALL", "-1/-1", direction="egress", dest="0.0.0.0/0"),
    ]
    app_perms = [perm("Accept", 1, "TCP", "8080/8080", src_group="sg-hz-web"),
                 perm("Accept", 1, "TCP", "22/22", src="10.10.0.0/16")]
    regions = {
        hz: {
            "instances": [
                instance("i-hz-web", hz, "vpc-hzprod", "vsw-hzprod", ["sg-hz-web"], public_ip="47.96.10.1", ip="172.16.1.10"),
                instance("i-hz-app1", hz, "vpc-hzprod", "vsw-hzprod", ["sg-hz-app"], ip="172.16.1.11"),
                instance("i-hz-app2", hz, "vpc-hzprod", "vsw-hzprod", ["sg-hz-app"], ip="172.16.1.12"),
            ],
            "security_groups": [group("sg-hz-web", "vpc-hzprod", web_perms),
                                group("sg-hz-app", "vpc-hzprod", app_perms, inner="Drop")],
            "disks": [disk("d-hz-web", hz, "i-hz-web", "key-hz-cmk", "sp-hz-daily"),
                      disk("d-hz-app1", hz, "i-hz-app1", "key-hz-cmk", "sp-hz-daily"),
                      disk("d-hz-app2", hz, "i-hz-app2", "key-hz-cmk", "sp-hz-daily")],
            "snapshots": [snapshot("s-hz-1", hz, "d-hz-web"), snapshot("s-hz-2", hz, "d-hz-app1"), snapshot("s-hz-3", hz, "d-hz-app2")],
            "images": [{"ImageId": "m-hz-golden", "ImageName": "golden", "ImageOwnerAlias": "self", "ImageOwnerId": int(ACCOUNT),
                        "IsPublic": False, "IsSelfShared": "", "OSType": "linux", "Status": "Available", "Size": 40,
                        "CreationTime": T0, "Architecture": "x86_64", "Tags": tags(),
                        "_share_groups": [], "_accounts": []}],
            "encryption_by_default": True,
            "snapshot_policies": [{"AutoSnapshotPolicyId": "sp-hz-daily", "AutoSnapshotPolicyName": "daily", "RegionId": hz,
                                   "Status": "Normal", "TimePoints": '["1"]', "RepeatWeekdays": '["1","2","3","4","5","6","7"]',
                                   "RetentionDays": 30, "DiskNums": 3, "VolumeNums": 0, "EnableCrossRegionCopy": True,
                                   "TargetCopyRegions": '["cn-shanghai"]', "CopiedSnapshotsRetentionDays": 30, "Type": "Custom"}],
            "vpcs": [vpc("vpc-hzprod", hz, "172.16.0.0/16"), vpc("vpc-hzdefault", hz, "172.31.0.0/16", default=True)],
            "flow_logs": [flow_log("fl-hz-prod", hz, "vpc-hzprod"), flow_log("fl-hz-default", hz, "vpc-hzdefault")],
            "acls": [acl("nacl-hz", hz, "vpc-hzprod", "vsw-hzprod",
                         [acl_entry("accept", "tcp", "443/443", "0.0.0.0/0"), acl_entry("accept", "tcp", "22/22", "10.10.0.0/16"),
                          acl_entry("drop", "all", "-1/-1", "0.0.0.0/0")])],
            "kms": [kms_key("key-hz-cmk", hz), kms_key("key-hz-ecs", hz, creator="Ecs", rotation="Disabled")],
            "rds": [{"DBInstanceId": "rm-hz-orders", "DBInstanceDescription": "orders", "RegionId": hz, "ZoneId": f"{hz}-h",
                     "Engine": "MySQL", "EngineVersion": "8.0", "DBInstanceStatus": "Running", "Category": "HighAvailability",
                     "DBInstanceClass": "mysql.n2.medium.2c", "DBInstanceType": "Primary", "InstanceNetworkType": "VPC",
                     "VpcId": "vpc-hzprod", "VSwitchId": "vsw-hzprod", "PayType": "Postpaid", "CreateTime": T0,
                     "LockMode": "Unlock", "ConnectionMode": "Standard", "DBInstanceNetType": "Intranet"}],
            "rds_cross": [{"DBInstanceId": "rm-hz-orders", "DBInstanceDescription": "orders", "DBInstanceStatus": "Running",
                           "Engine": "MySQL", "EngineVersion": "8.0", "BackupEnabled": "Enable", "CrossBackupRegion": sh,
                           "CrossBackupType": "1", "LogBackupEnabled": "Enable", "Retention": 7, "RetentType": 1,
                           "LockMode": "Unlock", "BackupEnabledTime": T0, "LogBackupEnabledTime": T0}],
        },
        sh: {
            "instances": [instance("i-sh-batch", sh, "vpc-shprod", "vsw-shprod", ["sg-sh-batch"], ip="172.18.1.10")],
            "security_groups": [group("sg-sh-batch", "vpc-shprod", [perm("Accept", 1, "TCP", "22/22", src="10.10.0.0/16")], inner="Accept")],
            "disks": [disk("d-sh-batch", sh, "i-sh-batch", "key-sh-cmk", "sp-sh-daily")],
            "snapshots": [snapshot("s-sh-1", sh, "d-sh-batch")],
            "images": [],
            "encryption_by_default": True,
            "snapshot_policies": [{"AutoSnapshotPolicyId": "sp-sh-daily", "AutoSnapshotPolicyName": "daily", "RegionId": sh,
                                   "Status": "Normal", "TimePoints": '["2"]', "RepeatWeekdays": '["1","3","5"]', "RetentionDays": 14,
                                   "DiskNums": 1, "VolumeNums": 0, "EnableCrossRegionCopy": False, "TargetCopyRegions": "[]",
                                   "CopiedSnapshotsRetentionDays": 0, "Type": "Custom"}],
            "vpcs": [vpc("vpc-shprod", sh, "172.18.0.0/16")],
            "flow_logs": [flow_log("fl-sh-prod", sh, "vpc-shprod")],
            "acls": [],
            "kms": [kms_key("key-sh-cmk", sh, spec="Aliyun_SM4")],
            "rds": [], "rds_cross": [],
        },
    }
    return {
        "account": ACCOUNT,
        "all_regions": ["cn-beijing", "cn-hangzhou", "cn-hongkong", "cn-shanghai", "ap-southeast-1"],
        "regions": regions,
        "trails": [trail()],
        "sas_version": 3,
        "sas_instances": [sas_instance(i["InstanceId"], r, ip=i["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0])
                          for r, reg in regions.items() for i in reg["instances"]],
        "cloudfw_assets": [cloudfw_asset("i-hz-web", hz, "47.96.10.1")],
        "users": [user("alice"), user("bob", console=False, mfa=False), user("carol")],
        "root_mfa": True,
        **estates_audit.alerting(),
    }


def empty():
    return {"account": ACCOUNT, "all_regions": MAINLAND, "regions": {}, "trails": [], "sas_version": 1,
            "sas_instances": [], "cloudfw_assets": None, "users": [], "root_mfa": True, "buckets": [],
            "sls_projects": {}, **estates_audit.no_alerting()}


def _region(e, r):
    return e["regions"][r]


def _group(e, gid):
    return next(g for reg in e["regions"].values() for g in reg["security_groups"] if g["SecurityGroupId"] == gid)


def _instance(e, iid):
    return next(i for reg in e["regions"].values() for i in reg["instances"] if i["InstanceId"] == iid)


def t_expose_ssh(e):
    _group(e, "sg-hz-web")["_permissions"].append(perm("Accept", 1, "TCP", "22/22", src="0.0.0.0/0"))


def t_weak_drop(e):
    # Accept at priority 1, the Drop only at priority 100: the Drop does not win.
    ps = _group(e, "sg-hz-web")["_permissions"]
    for p in ps:
        if p["PortRange"] == "22/22" and p["SourceCidrIp"] == "0.0.0.0/0":
            p["Priority"] = "1" if p["Policy"] == "Accept" else "100"


def t_equal_priority(e):
    # Accept and Drop both at priority 5: Drop wins ties, SSH stays closed.
    for p in _group(e, "sg-hz-web")["_permissions"]:
        if p["PortRange"] == "22/22" and p["SourceCidrIp"] == "0.0.0.0/0":
            p["Priority"] = "5"


def t_expose_all_no_acl(e):
    _group(e, "sg-hz-web")["_permissions"].insert(0, perm("Accept", 1, "ALL", "-1/-1", src="0.0.0.0/0"))
    _region(e, "cn-hangzhou")["acls"] = []


def t_mgmt_and_business_open(e):
    _group(e, "sg-hz-web")["_permissions"].append(perm("Accept", 1, "TCP", "3389/3389", src="0.0.0.0/0"))


def t_basic_group_shared(e):
    _group(e, "sg-hz-app")["_inner"] = "Accept"


def t_self_all_traffic(e):
    _group(e, "sg-hz-app")["_permissions"].append(perm("Accept", 1, "ALL", "-1/-1", src_group="sg-hz-app"))


def t_agent_offline(e):
    e["sas_instances"][-1]["ClientStatus"] = "offline"


def t_sas_free(e):
    e["sas_version"] = 1
    for i in e["sas_instances"]:
        i["AuthVersion"], i["AuthVersionName"] = 1, "Free"


def t_public_unwatched(e):
    sh = _region(e, "cn-shanghai")
    sh["instances"].append(instance("i-sh-pub", "cn-shanghai", "vpc-shprod", "vsw-shprod", ["sg-sh-batch"], eip="106.14.20.2", ip="172.18.1.20"))
    sh["disks"].append(disk("d-sh-pub", "cn-shanghai", "i-sh-pub", "key-sh-cmk", "sp-sh-daily"))
    e["sas_instances"].append(sas_instance("i-sh-pub", "cn-shanghai", online=False, ip="172.18.1.20"))


def t_vpc_without_flow_log(e):
    _region(e, "cn-shanghai")["flow_logs"] = []


def t_no_flow_logs(e):
    for reg in e["regions"].values():
        reg["flow_logs"] = [flow_log("fl-drop-only", reg["vpcs"][0]["RegionId"], reg["vpcs"][0]["VpcId"], traffic="Drop")]


def t_single_region_trail(e):
    e["trails"] = [trail(region="cn-hangzhou")]


def t_trail_home_elsewhere(e):
    # The multi-region trail lives in a region that is not scanned: it is asked about there.
    e["trails"][0]["HomeRegion"] = "cn-beijing"


def t_no_trail(e):
    e["trails"] = []


def t_trail_logs_abroad(e):
    e["trails"][0]["OssBucketLocation"] = "cn-hongkong"


def t_user_without_mfa(e):
    e["users"][2]["_mfa"] = False


def t_root_without_mfa(e):
    e["root_mfa"] = False
    for u in e["users"]:
        u["_mfa"] = False


def t_linux_password_login(e):
    for reg in e["regions"].values():
        for i in reg["instances"]:
            i["KeyPairName"] = ""


def t_unencrypted_snapshot(e):
    _region(e, "cn-hangzhou")["snapshots"][0]["Encrypted"] = False


def t_public_image(e):
    _region(e, "cn-hangzhou")["images"][0]["_share_groups"] = ["all"]


def t_unencrypted_everything(e):
    for reg in e["regions"].values():
        reg["encryption_by_default"] = False
        for d in reg["disks"]:
            d["Encrypted"], d["KMSKeyId"] = False, ""
        for s in reg["snapshots"]:
            s["Encrypted"] = False


def t_key_not_rotated(e):
    _region(e, "cn-hangzhou")["kms"][0]["AutomaticRotation"] = "Disabled"


def t_only_service_keys(e):
    for reg in e["regions"].values():
        reg["kms"] = [k for k in reg["kms"] if k["Creator"] != ACCOUNT]


def t_default_vpc_instance(e):
    i = _instance(e, "i-hz-app2")
    i["VpcAttributes"]["VpcId"], i["VpcAttributes"]["VSwitchId"] = "vpc-hzdefault", "vsw-hzdefault"


def t_all_in_default_vpc(e):
    for reg in e["regions"].values():
        default = vpc("vpc-" + reg["vpcs"][0]["RegionId"] + "-def", reg["vpcs"][0]["RegionId"], "172.31.0.0/16", default=True)
        reg["vpcs"].append(default)
        for i in reg["instances"]:
            i["VpcAttributes"]["VpcId"] = default["VpcId"]


def t_rds_basic(e):
    _region(e, "cn-hangzhou")["rds"][0]["Category"] = "Basic"


def t_rds_zone_unknown(e):
    _region(e, "cn-hangzhou")["rds"][0]["ZoneId"] = ""


def t_disk_without_policy(e):
    d = _region(e, "cn-hangzhou")["disks"][0]
    d["AutoSnapshotPolicyId"], d["EnableAutomatedSnapshotPolicy"] = "", False


def t_backup_to_hongkong(e):
    _region(e, "cn-hangzhou")["rds_cross"][0]["CrossBackupRegion"] = "cn-hongkong"


def t_copy_abroad(e):
    _region(e, "cn-hangzhou")["snapshot_policies"][0]["TargetCopyRegions"] = '["cn-shanghai", "ap-southeast-1"]'


def t_hongkong(e):
    hk = "cn-hongkong"
    e["regions"][hk] = {
        "instances": [instance("i-hk-1", hk, "vpc-hk", "vsw-hk", ["sg-hk"], ip="172.20.1.10")],
        "security_groups": [group("sg-hk", "vpc-hk", [perm("Accept", 1, "TCP", "22/22", src="10.10.0.0/16")])],
        "disks": [disk("d-hk-1", hk, "i-hk-1", "key-hk-cmk", "sp-hk-daily")],
        "snapshots": [snapshot("s-hk-1", hk, "d-hk-1")], "images": [], "encryption_by_default": True,
        "snapshot_policies": [], "vpcs": [vpc("vpc-hk", hk, "172.20.0.0/16")], "flow_logs": [flow_log("fl-hk", hk, "vpc-hk")],
        "acls": [], "kms": [kms_key("key-hk-cmk", hk)], "rds": [], "rds_cross": [],
    }
    e["sas_instances"].append(sas_instance("i-hk-1", hk, ip="172.20.1.10"))


def t_no_cloudfw(e):
    e["cloudfw_assets"] = None


def t_no_instances(e):
    for reg in e["regions"].values():
        reg["instances"] = []
    e["sas_instances"] = []


TWEAKS = {name[2:].replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("t_")}
TWEAKS.update(estates_audit.TWEAKS)

import estates_net  # noqa: E402  (the "net" topic's tweaks; it imports this module's helpers)

TWEAKS.update(estates_net.TWEAKS)

BUNDLES = {
    "partial": ["expose-ssh", "mgmt-and-business-open", "basic-group-shared", "agent-offline", "public-unwatched",
                "vpc-without-flow-log", "single-region-trail", "trail-logs-abroad", "user-without-mfa",
                "unencrypted-snapshot", "key-not-rotated", "default-vpc-instance", "rds-basic", "rds-zone-unknown"],
    "noncompliant": ["hongkong", "expose-all-no-acl", "mgmt-and-business-open", "self-all-traffic", "sas-free",
                     "no-cloudfw", "no-flow-logs", "no-trail", "root-without-mfa", "linux-password-login", "public-image",
                     "unencrypted-everything", "only-service-keys", "all-in-default-vpc", "rds-basic",
                     "disk-without-policy", "backup-to-hongkong", "copy-abroad"],
}

ESTATES = {"clean": clean, "empty": empty, "partial": clean, "noncompliant": clean}

# The "data" topic's estate parts and tweaks (estates_data.py).
import estates_data  # noqa: E402

TWEAKS.update(estates_data.TWEAKS)
BUNDLES["noncompliant"].append("signin-abroad")
# OSS buckets and SLS logstores (storage.py).
import storage  # noqa: E402

TWEAKS.update(storage.TWEAKS)
for _name in ("clean", "partial", "noncompliant"):
    ESTATES[_name] = lambda: storage.with_storage(estates_data.with_data(clean()))


def build(name, tweaks):
    e = copy.deepcopy(ESTATES[name]())
    for t in BUNDLES.get(name, []) + list(tweaks):
        if t not in TWEAKS:
            raise SystemExit(f"unknown tweak {t}; known: {', '.join(sorted(TWEAKS))}")
        TWEAKS[t](e)
    return e
