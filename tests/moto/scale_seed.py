#!/usr/bin/env python3
"""Seed a local moto server with a large aws-cn estate, for the benchmarks (scripts/bench.sh).

    scale_seed.py --endpoint http://127.0.0.1:PORT [--preset small|medium|large] [--vpcs N] [--sgs N]
                  [--rules-per-sg N] [--snapshots N] [--instances N] [--buckets N] [--trails N]
                  [--keys N] [--log-groups N] [--db-instances N] [--workers N]

Sizes are totals over cn-north-1 and cn-northwest-1 (each region gets half). A preset gives the defaults
and any size flag overrides it:

    preset   vpcs  sgs    rules   snapshots  instances  buckets  trails  keys  log groups  db instances
    small      10    100   1,000        200         40       10       2    10          10             2
    medium     50  1,000  10,000      2,000        400      100       4    50          50            10
    large     200  5,000  50,000     20,000      2,000      500      10   200         200            20

The server is reset first (POST /moto-api/reset). Seeding is boto3 only (dengbao never writes), spread
over --workers processes (default 3): moto runs each request under Python's GIL, so one client process
leaves the server idle while it signs and parses; two or three keep it busy. The fast paths:

* security groups: one CreateSecurityGroup + one AuthorizeSecurityGroupIngress carrying every rule of
  the group (moto stores one rule per CIDR, so `--rules-per-sg` permissions of one CIDR each);
* instances: RunInstances with MinCount = MaxCount = up to 100;
* snapshots: a few "backup" instances per region with 20 data volumes each, and CreateSnapshots on
  them (20 snapshots per call, repeated: moto snapshots the same volumes again);
* flow logs: one CreateFlowLogs per traffic type with every VPC of the region as ResourceIds.

The estate has the shapes the shipped rules look at: ~2% of groups open SSH to 0.0.0.0/0, ~1% open
everything, ~1.4% open RDP to ::/0; a quarter of the VPCs have no flow log and a quarter only REJECT;
half the snapshots are encrypted and 1 in 200 is public; half the keys rotate; buckets vary in
encryption, public access block, versioning and lifecycle; half the trails are multi-region.

A JSON summary (sizes asked, counts created per region, seconds per phase, calls made) goes to stdout;
progress goes to stderr. Only 127.0.0.1 is ever contacted. Largest preset: about 13,000 calls.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed as base  # noqa: E402  (sets the proxy/profile environment before boto3 is imported)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

BJ, NX, REGIONS, PARTITION = base.BJ, base.NX, base.REGIONS, base.PARTITION
AMI = base.FALLBACK_AMI

PRESETS = {
    "small": dict(vpcs=10, sgs=100, rules_per_sg=10, snapshots=200, instances=40, buckets=10, trails=2,
                  keys=10, log_groups=10, db_instances=2),
    "medium": dict(vpcs=50, sgs=1000, rules_per_sg=10, snapshots=2000, instances=400, buckets=100, trails=4,
                   keys=50, log_groups=50, db_instances=10),
    "large": dict(vpcs=200, sgs=5000, rules_per_sg=10, snapshots=20000, instances=2000, buckets=500, trails=10,
                  keys=200, log_groups=200, db_instances=20),
}

# Data volumes per backup instance; CreateSnapshots gives one snapshot per volume per call.
BACKUP_VOLUMES = 20
# Instances per RunInstances call.
RUN_BATCH = 100
# Security groups per worker task.
SG_CHUNK = 50

# --- worker side (one set of clients per process) ------------------------------------------------

_W: dict = {}


def _init(endpoint: str, key: str, secret: str) -> None:
    _W.update(endpoint=endpoint, key=key, secret=secret, clients={}, calls=0)


def client(service: str, region: str):
    c = _W["clients"].get((service, region))
    if c is None:
        cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"},
                     connect_timeout=10, read_timeout=300, max_pool_connections=4)
        c = boto3.client(service, region_name=region, endpoint_url=_W["endpoint"],
                         aws_access_key_id=_W["key"], aws_secret_access_key=_W["secret"], config=cfg)
        c.meta.events.register("before-send", _count)
        _W["clients"][(service, region)] = c
    return c


def _count(**_kw) -> None:
    _W["calls"] += 1


def _calls() -> int:
    n = _W["calls"]
    _W["calls"] = 0
    return n


def tags(kind: str, name: str, **extra) -> list:
    t = {"Name": name, "project": "dengbao-bench", **extra}
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in t.items()]}]


def t_vpcs(region: str, start: int, count: int, flow_role: str) -> dict:
    """VPCs start..start+count (one /24 subnet each), then their flow logs, batched by traffic type."""
    ec2 = client("ec2", region)
    out = []
    for i in range(start, start + count):
        cidr = f"10.{i % 250}.0.0/16"
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tags("vpc", f"bench-vpc-{i}", tier=["app", "data", "dev"][i % 3]))["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{i % 250}.1.0/24", AvailabilityZone=f"{region}a")["Subnet"]["SubnetId"]
        out.append({"VpcId": vpc, "SubnetId": subnet, "index": i})
    flows = {"ALL": [], "REJECT": []}
    for v in out:
        kind = v["index"] % 4
        if kind in (2, 3):
            flows["ALL"].append(v["VpcId"])
        elif kind == 1:
            flows["REJECT"].append(v["VpcId"])
    for traffic, ids in flows.items():
        for k in range(0, len(ids), 25):
            ec2.create_flow_logs(ResourceIds=ids[k:k + 25], ResourceType="VPC", TrafficType=traffic,
                                 LogDestinationType="cloud-watch-logs", LogGroupName="/bench/vpc-flow-logs",
                                 DeliverLogsPermissionArn=flow_role)
    return {"region": region, "vpcs": out, "flow_logs": {k: len(v) for k, v in flows.items()}, "calls": _calls()}


def sg_permissions(i: int, rules: int) -> list:
    """`rules` single-CIDR permissions: internal ports, and for a few groups one open to the internet."""
    perms = [{"IpProtocol": "tcp", "FromPort": 8000 + j, "ToPort": 8000 + j,
              "IpRanges": [{"CidrIp": f"10.{j % 250}.0.0/16", "Description": "internal"}]} for j in range(rules)]
    if rules and i % 50 == 7:
        perms[0] = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    if rules and i % 97 == 11:
        perms[-1] = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    if rules > 1 and i % 71 == 5:
        perms[1] = {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    return perms


def t_sgs(region: str, start: int, count: int, vpcs: list, rules: int) -> dict:
    ec2 = client("ec2", region)
    by_vpc: dict = {}
    for i in range(start, start + count):
        vpc = vpcs[i % len(vpcs)]
        gid = ec2.create_security_group(GroupName=f"bench-sg-{i}", Description=f"bench group {i}", VpcId=vpc,
                                        TagSpecifications=tags("security-group", f"bench-sg-{i}"))["GroupId"]
        perms = sg_permissions(i, rules)
        if perms:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
        by_vpc.setdefault(vpc, []).append(gid)
    return {"region": region, "by_vpc": by_vpc, "calls": _calls()}


def t_instances(region: str, batch: int, count: int, subnet: str, sg: str, kms: str) -> dict:
    ec2 = client("ec2", region)
    encrypted = batch % 2 == 0
    ebs = {"VolumeSize": 8, "VolumeType": "gp3", "Encrypted": encrypted}
    if encrypted:
        ebs["KmsKeyId"] = kms
    r = ec2.run_instances(ImageId=AMI, MinCount=count, MaxCount=count, InstanceType="t3.micro", SubnetId=subnet,
                          SecurityGroupIds=[sg], BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": ebs}],
                          MetadataOptions={"HttpTokens": "required" if encrypted else "optional"},
                          TagSpecifications=tags("instance", f"bench-web-{region}-{batch}"))
    return {"region": region, "instances": len(r["Instances"]), "calls": _calls()}


def t_backup_host(region: str, n: int, subnet: str, sg: str, kms: str) -> dict:
    """One instance with BACKUP_VOLUMES data volumes (encrypted when n is even)."""
    ec2 = client("ec2", region)
    encrypted = n % 2 == 0
    devices = [f"/dev/sd{chr(ord('f') + k)}" for k in range(BACKUP_VOLUMES)]
    bdm = [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": encrypted, **({"KmsKeyId": kms} if encrypted else {})}}]
    bdm += [{"DeviceName": d, "Ebs": {"VolumeSize": 1, "Encrypted": encrypted, **({"KmsKeyId": kms} if encrypted else {})}}
            for d in devices]
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
                            SecurityGroupIds=[sg], BlockDeviceMappings=bdm,
                            TagSpecifications=tags("instance", f"bench-backup-{region}-{n}"))["Instances"][0]["InstanceId"]
    return {"region": region, "instance": iid, "calls": _calls()}


def t_snapshots(region: str, instance: str, rounds: int, public_every: int, first: int) -> dict:
    """`rounds` CreateSnapshots of one backup host (its data volumes only); every public_every-th snapshot
    (counting from `first` over the whole region) is shared with group all."""
    ec2 = client("ec2", region)
    made = public = 0
    for _ in range(rounds):
        snaps = ec2.create_snapshots(InstanceSpecification={"InstanceId": instance, "ExcludeBootVolume": True},
                                     Description="bench backup")["Snapshots"]
        for s in snaps:
            if (first + made) % public_every == 0:
                ec2.modify_snapshot_attribute(SnapshotId=s["SnapshotId"], Attribute="createVolumePermission",
                                              OperationType="add", GroupNames=["all"])
                public += 1
            made += 1
    return {"region": region, "snapshots": made, "public": public, "calls": _calls()}


def t_buckets(start: int, count: int, account: str, kms: dict) -> dict:
    made = {BJ: 0, NX: 0}
    for i in range(start, start + count):
        region = REGIONS[i % 2]
        s3 = client("s3", region)
        name = f"bench-{i:05d}-{account}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if i % 2 == 0:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms[region]}}]})
        if i % 3 == 0:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        if i % 5 == 0:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if i % 7 == 0:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
                {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 400}}]})
        made[region] += 1
    return {"buckets": made, "calls": _calls()}


def t_keys(region: str, start: int, count: int) -> dict:
    kms = client("kms", region)
    arns = []
    for i in range(start, start + count):
        meta = kms.create_key(Description=f"bench key {i}", Tags=[{"TagKey": "project", "TagValue": "dengbao-bench"}])["KeyMetadata"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        arns.append(meta["Arn"])
    return {"region": region, "keys": arns, "calls": _calls()}


def t_log_groups(region: str, start: int, count: int) -> dict:
    logs = client("logs", region)
    if start == 0:
        logs.create_log_group(logGroupName="/bench/vpc-flow-logs")
        logs.put_retention_policy(logGroupName="/bench/vpc-flow-logs", retentionInDays=400)
    for i in range(start, start + count):
        logs.create_log_group(logGroupName=f"/bench/app-{i}")
        if i % 2 == 0:
            logs.put_retention_policy(logGroupName=f"/bench/app-{i}", retentionInDays=180)
    return {"region": region, "log_groups": count, "calls": _calls()}


def t_dbs(region: str, start: int, count: int) -> dict:
    rds = client("rds", region)
    for i in range(start, start + count):
        rds.create_db_instance(DBInstanceIdentifier=f"bench-db-{i}", DBInstanceClass="db.t3.micro", Engine="mysql",
                               MasterUsername="admin", MasterUserPassword="not-a-real-password-1", AllocatedStorage=20,
                               MultiAZ=i % 2 == 0, StorageEncrypted=i % 3 != 0, BackupRetentionPeriod=7)
    return {"region": region, "db_instances": count, "calls": _calls()}


def t_account(account: str, trails: int, trail_bucket: str, kms: dict) -> dict:
    """The account-wide pieces: trails, detectors, a Config recorder, EBS default encryption, a password policy."""
    iam = client("iam", BJ)
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    for i in range(trails):
        region = REGIONS[i % 2]
        ct = client("cloudtrail", region)
        name = f"bench-trail-{i}"
        ct.create_trail(Name=name, S3BucketName=trail_bucket, IsMultiRegionTrail=i % 2 == 0,
                        EnableLogFileValidation=i % 3 != 1, **({"KmsKeyId": kms[region]} if i % 2 == 0 else {}))
        if i % 4 != 3:
            ct.start_logging(Name=name)
        if i % 2 == 0:
            ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}])
    for region in REGIONS:
        client("guardduty", region).create_detector(Enable=region == BJ)
    client("ec2", BJ).enable_ebs_encryption_by_default()
    role = iam.create_role(RoleName="bench-config", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    cfg = client("config", BJ)
    cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role,
                                                          "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": trail_bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    return {"trails": trails, "detectors": len(REGIONS), "calls": _calls()}


# --- coordinator ------------------------------------------------------------------------------------


def split(total: int) -> dict:
    """total over the two regions: Beijing gets the odd one."""
    return {BJ: total - total // 2, NX: total // 2}


def chunks(n: int, size: int):
    for s in range(0, n, size):
        yield s, min(size, n - s)


class Run:
    def __init__(self, pool: cf.ProcessPoolExecutor):
        self.pool = pool
        self.phases: dict = {}
        self.calls = 0

    def phase(self, name: str, jobs: list) -> list:
        """Runs jobs [(fn, args...)] in the pool; returns their results in order."""
        t = time.monotonic()
        futures = [self.pool.submit(fn, *args) for fn, *args in jobs]
        out = [f.result() for f in futures]
        calls = sum(r.get("calls", 0) for r in out)
        self.calls += calls
        secs = time.monotonic() - t
        self.phases[name] = {"seconds": round(secs, 2), "calls": calls}
        base.log(f"{name}: {len(jobs)} task(s), {calls} call(s) in {secs:.1f}s")
        return out


def seed(args, sizes: dict) -> dict:
    key = os.environ.get("AWS_ACCESS_KEY_ID") or "testing"
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing"
    base.reset(args.endpoint)
    _init(args.endpoint, key, secret)
    account = client("sts", BJ).get_caller_identity()["Account"]
    iam = client("iam", BJ)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    flow_role = iam.create_role(RoleName="bench-flow-logs", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    trail_bucket = f"bench-trail-{account}"
    client("s3", BJ).create_bucket(Bucket=trail_bucket, CreateBucketConfiguration={"LocationConstraint": BJ})
    t0 = time.monotonic()
    created: dict = {r: {} for r in REGIONS}
    with cf.ProcessPoolExecutor(max_workers=args.workers, initializer=_init,
                                initargs=(args.endpoint, key, secret)) as pool:
        run = Run(pool)
        run.calls = _calls()
        # Keys and log groups first: volumes and buckets use the keys; flow logs the log group.
        jobs = []
        for r in REGIONS:
            n = max(1, split(sizes["keys"])[r])
            jobs += [(t_keys, r, s, c) for s, c in chunks(n, 25)]
            jobs += [(t_log_groups, r, s, c) for s, c in chunks(split(sizes["log_groups"])[r], 50)] or [(t_log_groups, r, 0, 0)]
        out = run.phase("keys+log groups", jobs)
        kms = {r: [a for x in out if x.get("region") == r for a in x.get("keys", [])] for r in REGIONS}
        for r in REGIONS:
            created[r]["kms_keys"] = len(kms[r])
            created[r]["log_groups"] = split(sizes["log_groups"])[r] + 1
        key1 = {r: kms[r][0] for r in REGIONS}

        jobs = [(t_vpcs, r, s, c, flow_role) for r in REGIONS for s, c in chunks(max(1, split(sizes["vpcs"])[r]), 10)]
        out = run.phase("vpcs+subnets+flow logs", jobs)
        vpcs = {r: [v for x in out if x["region"] == r for v in x["vpcs"]] for r in REGIONS}
        for r in REGIONS:
            created[r]["vpcs"] = len(vpcs[r])
            created[r]["flow_logs"] = {k: sum(x["flow_logs"][k] for x in out if x["region"] == r) for k in ("ALL", "REJECT")}

        jobs = [(t_sgs, r, s, c, [v["VpcId"] for v in vpcs[r]], sizes["rules_per_sg"])
                for r in REGIONS for s, c in chunks(max(1, split(sizes["sgs"])[r]), SG_CHUNK)]
        out = run.phase("security groups+rules", jobs)
        sgs = {r: {} for r in REGIONS}
        for x in out:
            for v, ids in x["by_vpc"].items():
                sgs[x["region"]].setdefault(v, []).extend(ids)
        for r in REGIONS:
            created[r]["security_groups"] = sum(len(v) for v in sgs[r].values())
            created[r]["security_group_rules"] = created[r]["security_groups"] * sizes["rules_per_sg"]

        # Backup hosts (their snapshots come later), then the web fleet with what is left of the count.
        jobs, hosts = [], {}
        for r in REGIONS:
            want = split(sizes["snapshots"])[r]
            hosts[r] = min(max(1, math.ceil(want / (BACKUP_VOLUMES * 25))), max(1, split(sizes["instances"])[r])) if want else 0
            for n in range(hosts[r]):
                v = vpcs[r][n % len(vpcs[r])]
                jobs.append((t_backup_host, r, n, v["SubnetId"], sgs[r][v["VpcId"]][0], key1[r]))
        out = run.phase("backup hosts", jobs)
        host_ids = {r: [x["instance"] for x in out if x["region"] == r] for r in REGIONS}
        jobs = []
        for r in REGIONS:
            web = max(0, split(sizes["instances"])[r] - hosts[r])
            for b, (s, c) in enumerate(chunks(web, RUN_BATCH)):
                v = vpcs[r][b % len(vpcs[r])]
                group = sgs[r].get(v["VpcId"]) or [x for ids in sgs[r].values() for x in ids]
                jobs.append((t_instances, r, b, c, v["SubnetId"], group[b % len(group)], key1[r]))
        out = run.phase("instances", jobs)
        for r in REGIONS:
            created[r]["instances"] = hosts[r] + sum(x["instances"] for x in out if x["region"] == r)

        jobs = []
        for r in REGIONS:
            rounds = math.ceil(split(sizes["snapshots"])[r] / BACKUP_VOLUMES) if host_ids[r] else 0
            per_host = [rounds // len(host_ids[r]) + (1 if k < rounds % len(host_ids[r]) else 0)
                        for k in range(len(host_ids[r]))] if host_ids[r] else []
            first = 0
            for h, n in zip(host_ids[r], per_host):
                for s, c in chunks(n, 10):
                    jobs.append((t_snapshots, r, h, c, 200, first))
                    first += c * BACKUP_VOLUMES
        out = run.phase("snapshots", jobs)
        for r in REGIONS:
            created[r]["snapshots"] = sum(x["snapshots"] for x in out if x["region"] == r)
            created[r]["public_snapshots"] = sum(x["public"] for x in out if x["region"] == r)
            created[r]["volumes"] = created[r]["instances"] + len(host_ids[r]) * BACKUP_VOLUMES

        jobs = [(t_buckets, s, c, account, key1) for s, c in chunks(sizes["buckets"], 25)]
        jobs += [(t_dbs, r, s, c) for r in REGIONS for s, c in chunks(split(sizes["db_instances"])[r], 5)]
        jobs.append((t_account, account, sizes["trails"], trail_bucket, key1))
        out = run.phase("buckets+databases+trails+detectors", jobs)
        for r in REGIONS:
            created[r]["buckets"] = sum(x["buckets"][r] for x in out if "buckets" in x) + (1 if r == BJ else 0)
            created[r]["db_instances"] = sum(x["db_instances"] for x in out if x.get("region") == r and "db_instances" in x)
            created[r]["guardduty_detectors"] = 1
        created["trails"] = sizes["trails"]
    return {
        "scenario": "scale",
        "preset": args.preset,
        "sizes": sizes,
        "endpoint": args.endpoint,
        "account": account,
        "regions": list(REGIONS),
        "created": created,
        "phases": run.phases,
        "calls": run.calls,
        "seconds": round(time.monotonic() - t0, 2),
        "workers": args.workers,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, type=base.local_endpoint, help="http://127.0.0.1:PORT of a moto server")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small")
    for k in PRESETS["small"]:
        ap.add_argument("--" + k.replace("_", "-"), type=int, dest=k, help=f"total over both regions (large: {PRESETS['large'][k]})")
    ap.add_argument("--workers", type=int, default=3, help="client processes (default 3)")
    args = ap.parse_args()
    sizes = dict(PRESETS[args.preset])
    for k in sizes:
        v = getattr(args, k)
        if v is not None:
            if v < 0:
                ap.error(f"--{k.replace('_', '-')} must be >= 0")
            sizes[k] = v
    if sizes["vpcs"] > 500:
        ap.error("--vpcs: at most 500 (250 per region: the CIDRs are 10.N.0.0/16)")
    if sizes["rules_per_sg"] > 60:
        ap.error("--rules-per-sg: at most 60 (the AWS default quota of inbound rules per group)")
    summary = seed(args, sizes)
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
