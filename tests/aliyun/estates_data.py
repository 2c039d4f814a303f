"""The "data" topic's part of the Alibaba Cloud estates (issues #14/#15): keys, RAM roles and security
preferences, console sign-ins, local disks, read-only RDS instances, backup locations.

Every estate built on `clean` gets `with_data`: an HSM key the tenant created (L3-CES2-13 符合), roles
trusted only by the account itself and by a service (L3-CES2-11 符合), MFA required at logon from mainland
networks, and console sign-ins from mainland addresses only (L3-MMS2-01 符合). The tweaks below change one
thing each; estates.py registers them (and `noncompliant` adds `signin-abroad`).
"""
import estates as e_

ACCOUNT = e_.ACCOUNT
OTHER = "5555666677778888"


def trust(principal):
    return {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}], "Version": "1"}


def signin(eid, ip, region="cn-hangzhou", user="alice"):
    return {"eventId": eid, "eventName": "ConsoleSignin", "eventType": "ConsoleSignin", "eventVersion": "1",
            "eventSource": "signin.aliyun.com", "acsRegion": region, "sourceIpAddress": ip,
            "eventTime": "2025-11-20T02:00:00Z", "userAgent": "Mozilla/5.0",
            "userIdentity": {"type": "ram-user", "userName": user, "accountId": ACCOUNT,
                             "principalId": "2169" + eid[-6:]},
            "additionalEventData": {"loginAccount": f"{user}@{ACCOUNT}.onaliyun.com", "isMFAChecked": "true"}}


def hsm_key(kid, region):
    k = e_.kms_key(kid, region, rotation="Disabled")
    k.update({"ProtectionLevel": "HSM", "DKMSInstanceId": "kst-hzz66a1b2c3d4e5f6", "RotationInterval": ""})
    return k


def with_data(e):
    hz = e["regions"]["cn-hangzhou"]
    hz["kms"].append(hsm_key("key-hz-hsm", "cn-hangzhou"))
    e["roles"] = {
        "AliyunECSInstanceRole": trust({"Service": ["ecs.aliyuncs.com"]}),
        "ops-admin": trust({"RAM": [f"acs:ram::{ACCOUNT}:root"]}),
    }
    e["security_preference"] = {"mfa": "mandatory", "masks": "116.62.0.0/16;2408:4000::/32"}
    e["signins"] = [signin("ev-000001", "116.62.1.1"), signin("ev-000002", "2408:4000::1", user="carol"),
                    # A sign-in through a private network (e.g. a bastion on a VPN) is not judged.
                    signin("ev-000003", "10.10.0.5", region="cn-shanghai")]
    return e


def t_signin_abroad(e):
    e["signins"].append(signin("ev-000104", "8.8.8.8"))


def t_signin_hongkong(e):
    # Hong Kong has its own country code: it is not the mainland.
    e["signins"].append(signin("ev-000105", "43.252.54.1", region="cn-shanghai"))


def t_no_signins(e):
    e["signins"] = []


def t_no_hsm_key(e):
    for reg in e["regions"].values():
        reg["kms"] = [k for k in reg.get("kms", []) if k["ProtectionLevel"] != "HSM"]


def t_hsm_key_disabled(e):
    for reg in e["regions"].values():
        for k in reg.get("kms", []):
            if k["ProtectionLevel"] == "HSM":
                k["KeyState"] = "Disabled"


def t_role_trusts_anyone(e):
    e["roles"]["open-role"] = trust({"RAM": ["*"]})


def t_role_trusts_other_account(e):
    e["roles"]["vendor-audit"] = trust({"RAM": [f"acs:ram::{OTHER}:root"]})


def t_mfa_not_required(e):
    e["security_preference"] = {"mfa": "independent", "masks": ""}


def t_local_disk(e):
    # Local disks cannot be encrypted and take no snapshots: neither is a finding.
    d = e_.disk("d-hz-local", "cn-hangzhou", "i-hz-app1", "", policy="", encrypted=False)
    d.update({"Category": "local_ssd_pro", "Type": "data", "EnableAutoSnapshot": False})
    e["regions"]["cn-hangzhou"]["disks"].append(d)


def t_rds_readonly_basic(e):
    hz = e["regions"]["cn-hangzhou"]
    ro = dict(hz["rds"][0], DBInstanceId="rr-hz-orders-ro", DBInstanceType="Readonly", Category="Basic")
    hz["rds"].append(ro)


def t_backup_region_unknown(e):
    e["regions"]["cn-hangzhou"]["rds_cross"][0]["CrossBackupRegion"] = ""


TWEAKS = {name[2:].replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("t_")}
