#!/usr/bin/env python3
"""Seed a local moto server with an aws-cn account for dengbao's integration tests.

    seed.py --endpoint http://127.0.0.1:PORT SCENARIO
    seed.py --endpoint http://127.0.0.1:PORT denied [PORT2]

SCENARIO is one of mixed, clean, empty, denied (see tests/moto/README.md). The server is reset first
(POST /moto-api/reset), then seeded with boto3 in cn-north-1 and cn-northwest-1. A JSON summary of what
was created (ids, ARNs, names) goes to stdout; progress and failures go to stderr.

This is a separate, mutating client. dengbao itself only reads. Only 127.0.0.1 is ever contacted.

Every optional piece is wrapped: when moto refuses it, the summary lists it under "refused" (operation,
error code, message) and seeding goes on. A refusal of a piece the tests cannot do without (a VPC,
a security group, a bucket...) is an error: exit status 1 after printing the summary.

denied: the server must have been started with IAM enforcement, INITIAL_NO_AUTH_ACTION_COUNT set to a
finite number (we use 3; see bootstrap_admin). With PORT2 the seeding goes to http://127.0.0.1:PORT2
instead of --endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

# Never go through a proxy to reach 127.0.0.1 (botocore and urllib both honour these variables).
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1"
# Do not let a developer's ~/.aws profile, region or endpoint settings leak into the seeding.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)

import boto3  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import estates_audit  # noqa: E402  (the audit topic's estates: trails, alerting, retention)

# Scenarios kept in per-topic files: name -> function(seeder).
TOPIC_ESTATES = {**estates_audit.ESTATES}
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

BJ = "cn-north-1"  # Beijing
NX = "cn-northwest-1"  # Ningxia
REGIONS = (BJ, NX)
PARTITION = "aws-cn"
HOST = "127.0.0.1"

# moto's IAM enforcement: this many requests are let through unauthenticated (they create the admin
# user, its inline policy and its access key), every later request must be signed by a known key.
BOOTSTRAP_CALLS = 3

# moto launches instances from any image id unless MOTO_ENABLE_AMI_VALIDATION is set. With
# MOTO_EC2_LOAD_DEFAULT_AMIS=false (scripts/moto.sh's default) there are no Amazon images to pick from.
FALLBACK_AMI = "ami-0123456789abcdef0"


def log(msg: str) -> None:
    print(f"seed: {msg}", file=sys.stderr)


class Seeder:
    def __init__(self, endpoint: str, key: str, secret: str, scenario: str):
        self.endpoint = endpoint
        self.key = key
        self.secret = secret
        self.summary: dict = {
            "scenario": scenario,
            "endpoint": endpoint,
            "regions": list(REGIONS),
            "created": {},
            "refused": [],
        }
        self.required_failed: list[str] = []
        self._clients: dict = {}

    # --- plumbing ------------------------------------------------------------------------------

    def client(self, service: str, region: str = BJ):
        k = (service, region, self.key)
        if k not in self._clients:
            cfg = Config(
                retries={"max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": "path"},
                connect_timeout=10,
                read_timeout=60,
            )
            self._clients[k] = boto3.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint,
                aws_access_key_id=self.key,
                aws_secret_access_key=self.secret,
                config=cfg,
            )
        return self._clients[k]

    def put(self, path: str, value) -> None:
        """summary["created"][a][b]... = value, with a dotted path."""
        node = self.summary["created"]
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value

    def attempt(self, what: str, fn, required: bool = False):
        """Run fn(); on a refusal record it (and remember it when the piece is required)."""
        try:
            return fn()
        except ClientError as e:
            err = e.response.get("Error", {})
            meta = e.response.get("ResponseMetadata", {})
            entry = {
                "what": what,
                "status": meta.get("HTTPStatusCode"),
                "code": err.get("Code"),
                "message": (err.get("Message") or "")[:300],
            }
        except Exception as e:  # moto answers some unimplemented calls with a 500 / odd body
            entry = {"what": what, "status": None, "code": type(e).__name__, "message": str(e)[:300]}
        self.summary["refused"].append(entry)
        log(f"refused: {what}: {entry['code']}: {entry['message']}")
        if required:
            self.required_failed.append(what)
        return None

    def account_id(self) -> str:
        ident = self.client("sts", BJ).get_caller_identity()
        self.summary["caller"] = {"Account": ident["Account"], "Arn": ident["Arn"], "UserId": ident["UserId"]}
        return ident["Account"]

    # --- building blocks -----------------------------------------------------------------------

    def ami_id(self, region: str) -> str:
        """An image to launch instances from: one of the Amazon images moto ships when it loads them,
        else an id moto does not check. Never an image owned by the account."""
        images = self.client("ec2", region).describe_images(Owners=["amazon"])["Images"]
        return sorted(i["ImageId"] for i in images)[0] if images else FALLBACK_AMI

    def vpc(self, region: str, name: str, cidr: str, tags: dict | None = None) -> dict:
        ec2 = self.client("ec2", region)
        all_tags = {"Name": name, "project": "dengbao-test", **(tags or {})}
        vpc = ec2.create_vpc(
            CidrBlock=cidr,
            AmazonProvidedIpv6CidrBlock=True,
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}],
        )["Vpc"]
        subnet = ec2.create_subnet(
            VpcId=vpc["VpcId"],
            CidrBlock=cidr.replace("0.0/16", "1.0/24"),
            AvailabilityZone=f"{region}a",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": f"{name}-a"}]}],
        )["Subnet"]
        default_sg = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        return {"VpcId": vpc["VpcId"], "CidrBlock": cidr, "SubnetId": subnet["SubnetId"], "DefaultSecurityGroupId": default_sg}

    def sg(self, region: str, vpc_id: str, name: str, permissions: list) -> str:
        ec2 = self.client("ec2", region)
        gid = ec2.create_security_group(
            GroupName=name,
            Description=f"dengbao test {name}",
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": name}]}],
        )["GroupId"]
        if permissions:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=permissions)
        return gid

    def instance(self, region: str, subnet_id: str, name: str, sg_ids: list | None, encrypted: bool, ami: str,
                 kms_key_id: str | None = None, key_name: str | None = None) -> str:
        """An instance whose root volume is (un)encrypted. Give kms_key_id with encrypted: without it moto
        creates alias/aws/ebs as a KeyManager=CUSTOMER key with rotation off, an extra key to judge."""
        ec2 = self.client("ec2", region)
        ebs = {"VolumeSize": 8, "VolumeType": "gp3", "Encrypted": encrypted}
        if encrypted and kms_key_id:
            ebs["KmsKeyId"] = kms_key_id
        kwargs = dict(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet_id,
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": ebs}],
            MetadataOptions={"HttpTokens": "required" if encrypted else "optional"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )
        if sg_ids:
            kwargs["SecurityGroupIds"] = sg_ids
        if key_name:
            kwargs["KeyName"] = key_name
        return ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]

    def volume(self, region: str, name: str, encrypted: bool, kms_key_id: str | None = None) -> str:
        ec2 = self.client("ec2", region)
        kwargs = dict(
            AvailabilityZone=f"{region}a",
            Size=10,
            VolumeType="gp3",
            Encrypted=encrypted,
            TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}],
        )
        if encrypted and kms_key_id:
            kwargs["KmsKeyId"] = kms_key_id
        return ec2.create_volume(**kwargs)["VolumeId"]

    def snapshot(self, region: str, volume_id: str, name: str) -> str:
        ec2 = self.client("ec2", region)
        return ec2.create_snapshot(
            VolumeId=volume_id,
            Description=f"dengbao test {name}",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": name}]}],
        )["SnapshotId"]

    def kms_key(self, region: str, alias: str, rotate: bool) -> dict:
        kms = self.client("kms", region)
        meta = kms.create_key(Description=f"dengbao test {alias}", KeyUsage="ENCRYPT_DECRYPT",
                              Tags=[{"TagKey": "project", "TagValue": "dengbao-test"}])["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=meta["KeyId"])
        if rotate:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        return {"KeyId": meta["KeyId"], "Arn": meta["Arn"], "Alias": f"alias/{alias}", "Rotation": rotate}

    def bucket(self, region: str, name: str) -> str:
        self.client("s3", region).create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
        )
        return name

    def flow_log(self, region: str, vpc_id: str, traffic: str, log_group: str, role_arn: str) -> str:
        ec2 = self.client("ec2", region)
        r = ec2.create_flow_logs(
            ResourceIds=[vpc_id],
            ResourceType="VPC",
            TrafficType=traffic,
            LogDestinationType="cloud-watch-logs",
            LogGroupName=log_group,
            DeliverLogsPermissionArn=role_arn,
        )
        if r.get("Unsuccessful"):
            raise RuntimeError(f"create_flow_logs unsuccessful: {r['Unsuccessful']}")
        return r["FlowLogIds"][0]

    def log_group(self, region: str, name: str, retention: int | None) -> str:
        logs = self.client("logs", region)
        logs.create_log_group(logGroupName=name)
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        return name

    def role(self, name: str, service: str) -> str:
        iam = self.client("iam", BJ)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def trail(self, region: str, name: str, bucket: str, multi_region: bool, validation: bool,
              kms_key: str | None, logging: bool, selectors: bool) -> dict:
        ct = self.client("cloudtrail", region)
        kwargs = dict(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region,
                      EnableLogFileValidation=validation, IncludeGlobalServiceEvents=multi_region)
        if kms_key:
            kwargs["KmsKeyId"] = kms_key
        arn = ct.create_trail(**kwargs)["TrailARN"]
        out = {"Name": name, "TrailARN": arn, "HomeRegion": region, "IsMultiRegionTrail": multi_region,
               "LogFileValidationEnabled": validation, "KmsKeyId": kms_key, "IsLogging": False}
        if logging:
            ct.start_logging(Name=name)
            out["IsLogging"] = True
        if selectors:
            self.attempt(f"cloudtrail.PutEventSelectors {region} {name}", lambda: ct.put_event_selectors(
                TrailName=name,
                EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
            ))
        return out

    def detector(self, region: str, enabled: bool) -> dict:
        gd = self.client("guardduty", region)
        did = gd.create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")["DetectorId"]
        if not enabled:
            gd.update_detector(DetectorId=did, Enable=False)
        status = gd.get_detector(DetectorId=did).get("Status")
        return {"DetectorId": did, "Status": status}

    def config_recorder(self, region: str, role_arn: str, bucket: str) -> dict:
        cfg = self.client("config", region)
        cfg.put_configuration_recorder(ConfigurationRecorder={
            "name": "default",
            "roleARN": role_arn,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == BJ},
        })
        cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
        cfg.start_configuration_recorder(ConfigurationRecorderName="default")
        return {"Name": "default", "Recording": True, "DeliveryBucket": bucket}

    def guardduty_alerting(self, region: str, prefix: str, account: str) -> dict:
        sns = self.client("sns", region)
        events = self.client("events", region)
        topic = sns.create_topic(Name=f"{prefix}-security-alerts")["TopicArn"]
        sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com",
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
        rule_arn = events.put_rule(Name=f"{prefix}-guardduty-findings",
                                   EventPattern=json.dumps({"source": ["aws.guardduty"]}),
                                   State="ENABLED", Description="GuardDuty findings to the security team")["RuleArn"]
        targets = events.put_targets(Rule=f"{prefix}-guardduty-findings",
                                     Targets=[{"Id": "sns-security", "Arn": topic}])
        if targets.get("FailedEntryCount"):
            raise RuntimeError(f"put_targets failed: {targets['FailedEntries']}")
        return {"TopicArn": topic, "SubscriptionArn": sub, "RuleArn": rule_arn, "RuleName": f"{prefix}-guardduty-findings"}

    def instance_alerting(self, region: str, prefix: str) -> dict:
        """An EventBridge rule on RunInstances/StartInstances/RebootInstances calls, to an SNS topic."""
        sns = self.client("sns", region)
        events = self.client("events", region)
        topic = sns.create_topic(Name=f"{prefix}-instance-changes")["TopicArn"]
        # A confirmed subscriber: a topic nobody is subscribed to alerts no one (issue #14).
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True)
        name = f"{prefix}-instance-lifecycle"
        pattern = {"source": ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"],
                   "detail": {"eventName": ["RunInstances", "StartInstances", "RebootInstances"]}}
        rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")["RuleArn"]
        events.put_targets(Rule=name, Targets=[{"Id": "sns-ops", "Arn": topic}])
        return {"RuleArn": rule_arn, "TopicArn": topic}

    def password_policy(self, strong: bool) -> dict:
        iam = self.client("iam", BJ)
        policy = dict(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
                      RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                      AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=5,
                      HardExpiry=False)
        if not strong:
            policy = dict(MinimumPasswordLength=8, RequireSymbols=False, RequireNumbers=True,
                          RequireUppercaseCharacters=False, RequireLowercaseCharacters=True,
                          AllowUsersToChangePassword=True)
        iam.update_account_password_policy(**policy)
        return policy

    def db(self, region: str, ident: str, multi_az: bool, encrypted: bool, kms_key: str | None = None) -> dict:
        rds = self.client("rds", region)
        kwargs = dict(DBInstanceIdentifier=ident, DBInstanceClass="db.t3.micro", Engine="mysql",
                      MasterUsername="admin", MasterUserPassword="not-a-real-password-1",
                      AllocatedStorage=20, MultiAZ=multi_az, StorageEncrypted=encrypted,
                      BackupRetentionPeriod=7 if multi_az else 0, PubliclyAccessible=False,
                      AvailabilityZone=None if multi_az else f"{region}a")
        if encrypted and kms_key:
            kwargs["KmsKeyId"] = kms_key
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        db = rds.create_db_instance(**kwargs)["DBInstance"]
        return {"DBInstanceIdentifier": ident, "DBInstanceArn": db["DBInstanceArn"], "MultiAZ": multi_az,
                "StorageEncrypted": encrypted}

    # --- scenarios ------------------------------------------------------------------------------

    def mixed(self) -> None:
        A = self.attempt
        account = self.account_id()
        # IAM first: it is global (the aws-cn partition's IAM, reached through cn-north-1).
        flow_role = A("iam.CreateRole flow-logs", lambda: self.role("dengbao-flow-logs", "vpc-flow-logs.amazonaws.com"), True)
        config_role = A("iam.CreateRole config", lambda: self.role("dengbao-config", "config.amazonaws.com"), True)
        repl_role = A("iam.CreateRole s3-replication", lambda: self.role("dengbao-s3-replication", "s3.amazonaws.com"), True)
        self.put("iam.roles", {"flow_logs": flow_role, "config": config_role, "replication": repl_role})
        self.put("iam.password_policy", A("iam.UpdateAccountPasswordPolicy", lambda: self.password_policy(strong=False)))
        self.put("organizations", A("organizations.CreateOrganization",
                                    lambda: self.client("organizations", NX).create_organization(FeatureSet="ALL")["Organization"]["Id"]))

        # KMS
        keys = {}
        keys["bj_rotated"] = A("kms.CreateKey bj rotated", lambda: self.kms_key(BJ, "dengbao-mixed-rotated", True), True)
        keys["bj_unrotated"] = A("kms.CreateKey bj unrotated", lambda: self.kms_key(BJ, "dengbao-mixed-unrotated", False), True)
        keys["nx_rotated"] = A("kms.CreateKey nx rotated", lambda: self.kms_key(NX, "dengbao-mixed-nx-rotated", True), True)
        self.put("kms", keys)
        kms_bj = (keys["bj_rotated"] or {}).get("Arn")
        kms_nx = (keys["nx_rotated"] or {}).get("Arn")

        # S3: a trail bucket (encrypted), a log bucket (lifecycle), a data bucket (public access block,
        # versioned, replicated to Ningxia) and the replica (versioned, nothing else).
        b = {
            "trail": f"dengbao-mixed-trail-{account}",
            "logs": f"dengbao-mixed-logs-{account}",
            "data": f"dengbao-mixed-data-{account}",
            "replica": f"dengbao-mixed-replica-{account}",
        }
        s3bj, s3nx = self.client("s3", BJ), self.client("s3", NX)
        A("s3.CreateBucket trail", lambda: self.bucket(BJ, b["trail"]), True)
        A("s3.CreateBucket logs", lambda: self.bucket(BJ, b["logs"]), True)
        A("s3.CreateBucket data", lambda: self.bucket(BJ, b["data"]), True)
        A("s3.CreateBucket replica", lambda: self.bucket(NX, b["replica"]), True)
        A("s3.PutBucketEncryption trail", lambda: s3bj.put_bucket_encryption(Bucket=b["trail"], ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_bj},
                       "BucketKeyEnabled": True}]}))
        A("s3.PutBucketLifecycleConfiguration logs", lambda: s3bj.put_bucket_lifecycle_configuration(Bucket=b["logs"], LifecycleConfiguration={
            "Rules": [{"ID": "expire-after-400-days", "Status": "Enabled", "Filter": {"Prefix": ""},
                       "Expiration": {"Days": 400}}]}))
        A("s3.PutPublicAccessBlock data", lambda: s3bj.put_public_access_block(Bucket=b["data"], PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}))
        A("s3.PutBucketVersioning data", lambda: s3bj.put_bucket_versioning(Bucket=b["data"], VersioningConfiguration={"Status": "Enabled"}))
        A("s3.PutBucketVersioning replica", lambda: s3nx.put_bucket_versioning(Bucket=b["replica"], VersioningConfiguration={"Status": "Enabled"}))
        A("s3.PutBucketReplication data->replica", lambda: s3bj.put_bucket_replication(Bucket=b["data"], ReplicationConfiguration={
            "Role": repl_role,
            "Rules": [{"ID": "to-ningxia", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Disabled"},
                       "Destination": {"Bucket": f"arn:{PARTITION}:s3:::{b['replica']}"}}]}))
        self.put("s3.buckets", {
            b["trail"]: {"region": BJ, "encryption": "aws:kms"},
            b["logs"]: {"region": BJ, "lifecycle": True},
            b["data"]: {"region": BJ, "public_access_block": True, "versioning": True, "replicates_to": b["replica"]},
            b["replica"]: {"region": NX, "versioning": True},
        })

        # CloudWatch Logs
        self.put("logs", {
            BJ: [A("logs bj flow", lambda: self.log_group(BJ, "/dengbao/vpc-flow-logs", 400), True),
                 A("logs bj app", lambda: self.log_group(BJ, "/dengbao/app", None))],
            NX: [A("logs nx flow", lambda: self.log_group(NX, "/dengbao/vpc-flow-logs", 400), True),
                 A("logs nx audit", lambda: self.log_group(NX, "/dengbao/audit", None))],
        })
        self.put("log_retention_days", {"/dengbao/vpc-flow-logs": 400, "/dengbao/app": None, "/dengbao/audit": None})

        # EC2, per region
        for region, short, base in ((BJ, "bj", 10), (NX, "nx", 40)):
            self.mixed_ec2(region, short, base, flow_role, (keys["bj_unrotated"] if region == BJ else keys["nx_rotated"]))

        # EBS encryption by default: Beijing only.
        A("ec2.EnableEbsEncryptionByDefault bj", lambda: self.client("ec2", BJ).enable_ebs_encryption_by_default())
        self.put("ebs_encryption_by_default", {BJ: True, NX: False})

        # CloudTrail: a multi-region, validated, KMS-encrypted, logging trail with All event selectors
        # (home Beijing), and a single-region trail in Ningxia that does not log.
        self.put("cloudtrail.multi", A("cloudtrail multi-region trail", lambda: self.trail(
            BJ, "dengbao-mixed-main", b["trail"], True, True, kms_bj, True, True), True))
        self.put("cloudtrail.single", A("cloudtrail single-region trail", lambda: self.trail(
            NX, "dengbao-mixed-local", b["replica"], False, False, None, False, False), True))

        # GuardDuty: enabled in Beijing, created then suspended in Ningxia.
        self.put("guardduty", {
            BJ: A("guardduty bj", lambda: self.detector(BJ, True), True),
            NX: A("guardduty nx suspended", lambda: self.detector(NX, False), True),
        })

        # Config: Beijing only, plus an aggregator.
        self.put("config", {BJ: A("config recorder bj", lambda: self.config_recorder(BJ, config_role, b["logs"]), True)})
        self.put("config.aggregator", A("config.PutConfigurationAggregator", lambda: self.client("config", BJ).put_configuration_aggregator(
            ConfigurationAggregatorName="dengbao-mixed-aggregator",
            AccountAggregationSources=[{"AccountIds": [account], "AllAwsRegions": True}],
        )["ConfigurationAggregator"]["ConfigurationAggregatorArn"]))

        # RDS: one Multi-AZ (encrypted), one single-AZ (unencrypted), and a snapshot.
        self.put("rds", {
            "multi_az": A("rds multi-az", lambda: self.db(BJ, "dengbao-mixed-ha", True, True, kms_bj)),
            "single_az": A("rds single-az", lambda: self.db(BJ, "dengbao-mixed-single", False, False)),
        })
        self.put("rds.snapshot", A("rds.CreateDBSnapshot", lambda: self.client("rds", BJ).create_db_snapshot(
            DBSnapshotIdentifier="dengbao-mixed-single-snap", DBInstanceIdentifier="dengbao-mixed-single",
        )["DBSnapshot"]["DBSnapshotIdentifier"]))

        # EventBridge -> SNS on GuardDuty findings (Beijing).
        self.put("alerting", {BJ: A("events+sns guardduty alerting", lambda: self.guardduty_alerting(BJ, "dengbao-mixed", account))})

    def mixed_ec2(self, region: str, short: str, base: int, flow_role: str | None, ebs_key: dict | None) -> None:
        A = self.attempt
        ec2 = self.client("ec2", region)
        ami = A(f"ec2 amazon AMI {short}", lambda: self.ami_id(region), True)
        vpcs = {}
        for i, (role, env) in enumerate((("app", "prod"), ("data", "prod"), ("dev", "dev"))):
            vpcs[role] = A(f"ec2 vpc {short} {role}", lambda role=role, env=env, i=i: self.vpc(
                region, f"dengbao-mixed-{short}-{role}", f"10.{base + i}.0.0/16", {"env": env}), True)
        default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        self.put(f"ec2.{region}.default_vpc", default_vpc[0]["VpcId"] if default_vpc else None)
        self.put(f"ec2.{region}.vpcs", vpcs)
        app = vpcs["app"] or {}
        vpc_id = app.get("VpcId")

        sgs = {
            # tcp 22 from anywhere (IPv4)
            "ssh_open": A(f"sg {short} ssh_open", lambda: self.sg(region, vpc_id, "dengbao-ssh-open", [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh from anywhere"}]}]), True),
            # tcp 3389 from anywhere, IPv6 only: a check that reads only IpRanges misses it.
            "rdp_ipv6_open": A(f"sg {short} rdp_ipv6_open", lambda: self.sg(region, vpc_id, "dengbao-rdp-ipv6-open", [
                {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                 "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "rdp from anywhere (v6)"}]}]), True),
            # tcp 443 from 10/8 and from the VPC's ULA range: restricted in both families.
            "restricted": A(f"sg {short} restricted", lambda: self.sg(region, vpc_id, "dengbao-https-internal", [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "internal"}],
                 "Ipv6Ranges": [{"CidrIpv6": "fd00::/8", "Description": "internal v6"}]}]), True),
            # every protocol and port from anywhere
            "all_open": A(f"sg {short} all_open", lambda: self.sg(region, vpc_id, "dengbao-all-open", [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "everything"}]}]), True),
        }
        sgs["default_app_vpc"] = app.get("DefaultSecurityGroupId")
        self.put(f"ec2.{region}.security_groups", sgs)

        subnet = app.get("SubnetId")
        kms_arn = (ebs_key or {}).get("Arn")
        inst = {
            "web": A(f"ec2 instance {short} web", lambda: self.instance(region, subnet, f"dengbao-{short}-web",
                                                                       [sgs["ssh_open"], sgs["restricted"]], True, ami,
                                                                       kms_arn), True),
            "win": A(f"ec2 instance {short} win", lambda: self.instance(region, subnet, f"dengbao-{short}-win",
                                                                       [sgs["rdp_ipv6_open"]], False, ami), True),
            # On the VPC's default security group, named explicitly: moto 5.2.5 leaves SecurityGroups
            # empty when run_instances gets none (AWS would use the default group).
            "default_sg": A(f"ec2 instance {short} default-sg", lambda: self.instance(
                region, subnet, f"dengbao-{short}-defaultsg", [sgs["default_app_vpc"]], False, ami), True),
        }
        self.put(f"ec2.{region}.instances", inst)

        vols = {
            "encrypted": A(f"ec2 volume {short} encrypted", lambda: self.volume(region, f"dengbao-{short}-enc", True, kms_arn), True),
            "unencrypted": A(f"ec2 volume {short} unencrypted", lambda: self.volume(region, f"dengbao-{short}-plain", False), True),
        }
        self.put(f"ec2.{region}.volumes", vols)
        snaps = {
            "encrypted": A(f"ec2 snapshot {short} encrypted", lambda: self.snapshot(region, vols["encrypted"], f"dengbao-{short}-enc"), True),
            "unencrypted": A(f"ec2 snapshot {short} unencrypted", lambda: self.snapshot(region, vols["unencrypted"], f"dengbao-{short}-plain"), True),
            "public": A(f"ec2 snapshot {short} public", lambda: self.snapshot(region, vols["unencrypted"], f"dengbao-{short}-public"), True),
        }
        A(f"ec2.ModifySnapshotAttribute {short} public", lambda: ec2.modify_snapshot_attribute(
            SnapshotId=snaps["public"], Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]), True)
        self.put(f"ec2.{region}.snapshots", snaps)

        images = {
            "private": A(f"ec2.CreateImage {short} private", lambda: ec2.create_image(
                InstanceId=inst["web"], Name=f"dengbao-{short}-web-golden", Description="private golden image")["ImageId"], True),
            "public": A(f"ec2.CreateImage {short} public", lambda: ec2.create_image(
                InstanceId=inst["win"], Name=f"dengbao-{short}-win-shared", Description="shared with everyone")["ImageId"], True),
        }
        A(f"ec2.ModifyImageAttribute {short} public", lambda: ec2.modify_image_attribute(
            ImageId=images["public"], LaunchPermission={"Add": [{"Group": "all"}]}), True)
        self.put(f"ec2.{region}.images", images)
        # CreateImage snapshots the instance's volumes; moto 5.2.5 makes these snapshots unencrypted
        # whatever the volume was, and they are owned by the account, so a scan sees them too.
        self.put(f"ec2.{region}.image_snapshots", A(f"ec2.DescribeImages {short} snapshots", lambda: sorted(
            m["Ebs"]["SnapshotId"]
            for img in ec2.describe_images(ImageIds=[i for i in images.values() if i])["Images"]
            for m in img.get("BlockDeviceMappings", []) if m.get("Ebs", {}).get("SnapshotId"))))

        # Flow logs: ALL on app, REJECT on data, none on dev (and none on the default VPC).
        lg = "/dengbao/vpc-flow-logs"
        self.put(f"ec2.{region}.flow_logs", {
            "app_all": A(f"ec2.CreateFlowLogs {short} ALL", lambda: self.flow_log(region, vpc_id, "ALL", lg, flow_role), True),
            "data_reject": A(f"ec2.CreateFlowLogs {short} REJECT", lambda: self.flow_log(
                region, vpcs["data"]["VpcId"], "REJECT", lg, flow_role), True),
            "dev": None,
        })

        # No VPC peering in `mixed`: the estate connects VPCs through the transit gateway only, so the
        # peering rule has nothing in scope (the demo's 不适用).
        # Transit gateway with the data VPC attached.
        def tgw():
            t = ec2.create_transit_gateway(Description=f"dengbao {short} hub",
                                           TagSpecifications=[{"ResourceType": "transit-gateway",
                                                               "Tags": [{"Key": "Name", "Value": f"dengbao-{short}-hub"}]}])
            tid = t["TransitGateway"]["TransitGatewayId"]
            att = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tid, VpcId=vpcs["data"]["VpcId"],
                                                            SubnetIds=[vpcs["data"]["SubnetId"]])
            return {"TransitGatewayId": tid,
                    "AttachmentId": att["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]}
        self.put(f"ec2.{region}.transit_gateway", A(f"ec2 transit gateway {short}", tgw))

    def clean(self) -> None:
        A = self.attempt
        account = self.account_id()
        flow_role = A("iam.CreateRole flow-logs", lambda: self.role("dengbao-flow-logs", "vpc-flow-logs.amazonaws.com"), True)
        config_role = A("iam.CreateRole config", lambda: self.role("dengbao-config", "config.amazonaws.com"), True)
        repl_role = A("iam.CreateRole s3-replication", lambda: self.role("dengbao-s3-replication", "s3.amazonaws.com"), True)
        self.put("iam.roles", {"flow_logs": flow_role, "config": config_role, "replication": repl_role})
        self.put("iam.password_policy", A("iam.UpdateAccountPasswordPolicy", lambda: self.password_policy(strong=True), True))

        keys = {r: A(f"kms.CreateKey {r}", lambda r=r: self.kms_key(r, f"dengbao-clean-{r}", True), True) for r in REGIONS}
        self.put("kms", keys)
        karn = {r: (keys[r] or {}).get("Arn") for r in REGIONS}

        buckets = {}
        for r in REGIONS:
            name = f"dengbao-clean-{r}-{account}"
            s3 = self.client("s3", r)
            A(f"s3.CreateBucket {r}", lambda r=r, name=name: self.bucket(r, name), True)
            A(f"s3.PutBucketEncryption {r}", lambda s3=s3, name=name, r=r: s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": karn[r]}, "BucketKeyEnabled": True}]}), True)
            A(f"s3.PutPublicAccessBlock {r}", lambda s3=s3, name=name: s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}), True)
            A(f"s3.PutBucketVersioning {r}", lambda s3=s3, name=name: s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}), True)
            A(f"s3.PutBucketLifecycleConfiguration {r}", lambda s3=s3, name=name: s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [{"ID": "keep-400-days", "Status": "Enabled",
                                                                "Filter": {"Prefix": ""}, "Expiration": {"Days": 400}}]}), True)
            buckets[r] = name
        A("s3.PutBucketReplication bj->nx", lambda: self.client("s3", BJ).put_bucket_replication(
            Bucket=buckets[BJ], ReplicationConfiguration={"Role": repl_role, "Rules": [{
                "ID": "to-ningxia", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": f"arn:{PARTITION}:s3:::{buckets[NX]}"}}]}), True)
        self.put("s3.buckets", {buckets[BJ]: {"region": BJ, "replicates_to": buckets[NX]}, buckets[NX]: {"region": NX}})

        for r in REGIONS:
            ec2 = self.client("ec2", r)
            short = "bj" if r == BJ else "nx"
            lg = A(f"logs {r}", lambda r=r: self.log_group(r, "/dengbao/vpc-flow-logs", 400), True)
            self.put(f"logs.{r}", [lg])
            ami = A(f"ec2 amazon AMI {r}", lambda r=r: self.ami_id(r), True)
            vpc = A(f"ec2 vpc {r}", lambda r=r, short=short: self.vpc(
                r, f"dengbao-clean-{short}-app", "10.60.0.0/16" if r == BJ else "10.70.0.0/16", {"env": "prod"}), True) or {}
            sg = A(f"sg {r} restricted", lambda r=r, vpc=vpc: self.sg(r, vpc.get("VpcId"), "dengbao-https-internal", [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "internal"}],
                 "Ipv6Ranges": [{"CidrIpv6": "fd00::/8", "Description": "internal v6"}]}]), True)
            default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            vpc_ids = [vpc.get("VpcId")] + [v["VpcId"] for v in default_vpc]
            flows = {v: A(f"ec2.CreateFlowLogs {r} {v}", lambda r=r, v=v: self.flow_log(r, v, "ALL", "/dengbao/vpc-flow-logs", flow_role), True)
                     for v in vpc_ids}
            key_name = A(f"ec2.CreateKeyPair {r}", lambda ec2=ec2, short=short: ec2.create_key_pair(
                KeyName=f"dengbao-clean-{short}-ops")["KeyName"], True)
            inst = A(f"ec2 instance {r}", lambda r=r, vpc=vpc, sg=sg, ami=ami, short=short, key_name=key_name: self.instance(
                r, vpc.get("SubnetId"), f"dengbao-clean-{short}-web", [sg], True, ami, karn[r], key_name), True)
            A(f"ec2.EnableEbsEncryptionByDefault {r}", lambda ec2=ec2: ec2.enable_ebs_encryption_by_default(), True)
            vol = A(f"ec2 volume {r}", lambda r=r, short=short: self.volume(r, f"dengbao-clean-{short}-data", True, karn[r]), True)
            snap = A(f"ec2 snapshot {r}", lambda r=r, vol=vol, short=short: self.snapshot(r, vol, f"dengbao-clean-{short}-data"), True)
            # No AMI here: moto 5.2.5 gives every image (CreateImage or RegisterImage) an auto-created,
            # unencrypted snapshot owned by the account, which would make this scenario non-compliant.
            self.put(f"ec2.{r}", {"vpc": vpc, "default_vpc": default_vpc[0]["VpcId"] if default_vpc else None,
                                  "security_group": sg, "flow_logs": flows, "instance": inst, "volume": vol,
                                  "snapshot": snap, "ebs_encryption_by_default": True})
            self.put(f"guardduty.{r}", A(f"guardduty {r}", lambda r=r: self.detector(r, True), True))
            self.put(f"config.{r}", A(f"config recorder {r}", lambda r=r: self.config_recorder(r, config_role, buckets[BJ]), True))

        self.put("cloudtrail.multi", A("cloudtrail multi-region trail", lambda: self.trail(
            BJ, "dengbao-clean-main", buckets[BJ], True, True, karn[BJ], True, True), True))
        self.put("rds", A("rds multi-az", lambda: self.db(BJ, "dengbao-clean-ha", True, True, karn[BJ])))
        # Findings alert in every region: GuardDuty findings and EventBridge rules are regional (issue #14).
        self.put("alerting", {r: A(f"events+sns guardduty alerting {r}", lambda r=r: self.guardduty_alerting(
            r, "dengbao-clean", account), True) for r in REGIONS})
        # Alerts on instance launch/start/reboot in every region, and audit data aggregated.
        self.put("alerting.instance_lifecycle", {r: A(f"events instance lifecycle {r}", lambda r=r: self.instance_alerting(
            r, "dengbao-clean"), True) for r in REGIONS})
        self.put("config.aggregator", A("config.PutConfigurationAggregator", lambda: self.client("config", BJ).put_configuration_aggregator(
            ConfigurationAggregatorName="dengbao-clean-aggregator",
            AccountAggregationSources=[{"AccountIds": [account], "AllAwsRegions": True}],
        )["ConfigurationAggregator"]["ConfigurationAggregatorArn"], True))

    def empty(self) -> None:
        self.account_id()
        for r in REGIONS:
            vpcs = self.client("ec2", r).describe_vpcs()["Vpcs"]
            self.put(f"ec2.{r}.default_vpcs", [v["VpcId"] for v in vpcs if v.get("IsDefault")])

    # --- denied ---------------------------------------------------------------------------------

    def denied(self) -> None:
        """IAM enforcement: a scanner user that may read EC2, STS, GuardDuty, S3, IAM and Config, but
        not KMS and not CloudTrail, plus a few resources for it to find."""
        A = self.attempt
        admin_key, admin_secret = bootstrap_admin(self)
        self.summary["admin"] = {"AccessKeyId": admin_key, "SecretAccessKey": admin_secret, "UserName": "dengbao-seed-admin"}
        # From here on, everything is signed with the admin's key.
        self.key, self.secret, self._clients = admin_key, admin_secret, {}
        account = self.account_id()

        iam = self.client("iam", BJ)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ReadMostThingsButNotKmsOrCloudTrail",
                "Effect": "Allow",
                "Action": [
                    "sts:GetCallerIdentity",
                    "ec2:Describe*", "ec2:Get*",
                    "guardduty:List*", "guardduty:Get*",
                    "s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetReplicationConfiguration",
                    "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetBucketPublicAccessBlock",
                    "iam:GetAccountSummary", "iam:GetAccountPasswordPolicy",
                    "config:Describe*",
                    "logs:Describe*",
                    "rds:Describe*",
                    "events:List*", "events:Describe*", "sns:List*", "sns:Get*",
                    "organizations:Describe*",
                ],
                "Resource": "*",
            }],
        }
        iam.create_user(UserName="dengbao-scanner")
        iam.put_user_policy(UserName="dengbao-scanner", PolicyName="dengbao-read-no-kms-no-cloudtrail",
                            PolicyDocument=json.dumps(policy))
        ak = iam.create_access_key(UserName="dengbao-scanner")["AccessKey"]
        self.summary["scanner"] = {
            "UserName": "dengbao-scanner",
            "AccessKeyId": ak["AccessKeyId"],
            "SecretAccessKey": ak["SecretAccessKey"],
            "Arn": f"arn:{PARTITION}:iam::{account}:user/dengbao-scanner",
            "allowed": policy["Statement"][0]["Action"],
            "not_allowed": ["kms:*", "cloudtrail:*"],
        }

        # A few resources for the scanner to see (or to be refused).
        bucket = f"dengbao-denied-trail-{account}"
        A("s3.CreateBucket", lambda: self.bucket(BJ, bucket), True)
        key = A("kms.CreateKey", lambda: self.kms_key(BJ, "dengbao-denied", False), True)
        self.put("kms", {BJ: key})
        self.put("cloudtrail", A("cloudtrail trail", lambda: self.trail(
            BJ, "dengbao-denied-main", bucket, True, True, None, True, False), True))
        # Only POSTs here: under IAM enforcement moto 5.2.5 rejects every GuardDuty GET (GetDetector,
        # ListDetectors) with SignatureDoesNotMatch, whoever signs it (see verify_denied).
        self.put("guardduty", {BJ: A("guardduty.CreateDetector bj", lambda: self.client("guardduty", BJ).create_detector(
            Enable=True)["DetectorId"], True)})
        vpc = A("ec2 vpc", lambda: self.vpc(BJ, "dengbao-denied-app", "10.90.0.0/16"), True) or {}
        self.put(f"ec2.{BJ}.vpc", vpc)
        self.put(f"ec2.{BJ}.ssh_open", A("sg ssh_open", lambda: self.sg(BJ, vpc.get("VpcId"), "dengbao-ssh-open", [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]), True))
        self.summary["verified"] = verify_denied(self, ak["AccessKeyId"], ak["SecretAccessKey"])


# --- moto API (plain HTTP on 127.0.0.1) ---------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def moto_api(endpoint: str, path: str, body: bytes = b"") -> str:
    # text/plain: with urllib's default form content type, Flask would swallow the body as form data.
    req = urllib.request.Request(endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with _OPENER.open(req, timeout=30) as resp:
        return resp.read().decode()


def reset(endpoint: str) -> None:
    out = json.loads(moto_api(endpoint, "/moto-api/reset"))
    if out.get("status") != "ok":
        raise SystemExit(f"seed: moto reset failed: {out}")


def arm_auth(endpoint: str) -> None:
    """Check the server enforces IAM, and re-arm its counter of unauthenticated requests.

    moto counts requests since start (or since POST /moto-api/reset-auth); the first
    INITIAL_NO_AUTH_ACTION_COUNT of them skip authentication. POST /moto-api/reset-auth BODY sets the
    limit to BODY, zeroes the counter and answers the previous limit. We read the limit the server was
    started with, refuse a server without enforcement ("inf": it is not the denied server), and set the
    limit to BOOTSTRAP_CALLS so re-seeding works and exactly the bootstrap calls go unauthenticated.
    """
    previous = json.loads(moto_api(endpoint, "/moto-api/reset-auth", b"inf"))["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    if previous == "inf":
        raise SystemExit(
            "seed: denied needs a moto server started with IAM enforcement "
            f"(INITIAL_NO_AUTH_ACTION_COUNT={BOOTSTRAP_CALLS}); {endpoint} has none. "
            "Start one: bash scripts/moto.sh start denied PORT2 INITIAL_NO_AUTH_ACTION_COUNT=3"
        )
    moto_api(endpoint, "/moto-api/reset-auth", str(BOOTSTRAP_CALLS).encode())


def bootstrap_admin(s: Seeder) -> tuple[str, str]:
    """The BOOTSTRAP_CALLS unauthenticated requests: an admin user, its policy, its access key."""
    iam = s.client("iam", BJ)  # IAM of the aws-cn partition (moto keeps one IAM per partition)
    iam.create_user(UserName="dengbao-seed-admin")  # 1
    iam.put_user_policy(UserName="dengbao-seed-admin", PolicyName="admin", PolicyDocument=json.dumps({  # 2
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))
    ak = iam.create_access_key(UserName="dengbao-seed-admin")["AccessKey"]  # 3
    return ak["AccessKeyId"], ak["SecretAccessKey"]


def verify_denied(s: Seeder, key: str, secret: str) -> dict:
    """Call a few operations with the scanner's key and check moto enforces the policy.

    What moto 5.2.5 answers (observed; also in tests/moto/README.md). Every auth failure is the same XML
    document, whatever the service's protocol, with HTTP 403, Content-Type "text/html; charset=utf-8"
    and no x-amzn-ErrorType header:

      kms ListKeys / cloudtrail DescribeTrails (awsJson1_1 services) ->
        HTTP 403
        <?xml version="1.0" encoding="utf-8"?>
        <ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws-cn:iam::123456789012:user/dengbao-scanner is not authorized to perform: kms:ListKeys</Message><Type>Sender</Type></Error></Errors></ErrorResponse>

      Real KMS would answer JSON {"__type":"AccessDeniedException",...} with x-amzn-ErrorType. boto3 cannot
      parse moto's XML as a JSON error: it reports Error.Code "403" and the whole XML as Error.Message.
      Query-protocol services (EC2, IAM, STS) get the same XML and parse it: Code "AccessDenied" (real EC2
      says "UnauthorizedOperation"). S3 answers its own <Error><Code>AccessDenied</Code>... (application/xml).

      ec2 DescribeVpcs, sts GetCallerIdentity (always allowed by moto), s3 ListBuckets, iam GetAccountSummary
        -> 200.
      guardduty ListDetectors -> HTTP 403 SignatureDoesNotMatch, even though the policy allows it: moto
        re-signs GET requests of REST-JSON services with its request headers as the payload, so no GuardDuty
        GET ever authenticates under enforcement. Recorded, not asserted.
    """
    scanner = Seeder(s.endpoint, key, secret, "denied-verify")
    results: dict = {}
    raw: dict = {}

    def capture(http_response=None, **_kw):
        raw["status"] = http_response.status_code
        raw["content_type"] = http_response.headers.get("Content-Type")
        raw["body"] = http_response.content.decode("utf-8", "replace")[:600]

    def call(name: str, service: str, region: str, op: str, expect: str | None):
        """expect: None = must succeed, "AccessDenied" = must be refused with it, "any" = just record."""
        client = scanner.client(service, region)
        client.meta.events.register("after-call", capture)
        raw.clear()
        try:
            getattr(client, op)()
            results[name] = {"ok": True}
        except ClientError as e:
            body = raw.get("body", "")
            code = e.response.get("Error", {}).get("Code")
            # The XML <Code> moto sent, whether or not boto3 could parse it for this protocol.
            if "<Code>" in body:
                code = body.split("<Code>", 1)[1].split("</Code>", 1)[0]
            results[name] = {"ok": False, "status": raw.get("status"), "code": code,
                             "content_type": raw.get("content_type"), "body": body}
        finally:
            client.meta.events.unregister("after-call", capture)
        got = results[name]
        if expect == "any":
            return
        if expect is None and not got["ok"]:
            problem = f"denied verification: {name} should succeed, got {got}"
        elif expect is not None and (got["ok"] or got["status"] != 403 or got["code"] != expect):
            problem = f"denied verification: {name} should be refused with 403 {expect}, got {got}"
        else:
            return
        log(problem)
        s.required_failed.append(problem)

    for r in REGIONS:
        call(f"ec2.DescribeVpcs {r}", "ec2", r, "describe_vpcs", None)
        call(f"kms.ListKeys {r}", "kms", r, "list_keys", "AccessDenied")
        call(f"cloudtrail.DescribeTrails {r}", "cloudtrail", r, "describe_trails", "AccessDenied")
        call(f"guardduty.ListDetectors {r}", "guardduty", r, "list_detectors", "any")
    call("sts.GetCallerIdentity", "sts", BJ, "get_caller_identity", None)
    call("s3.ListBuckets", "s3", BJ, "list_buckets", None)
    call("iam.GetAccountSummary", "iam", BJ, "get_account_summary", None)
    call("iam.ListUsers", "iam", BJ, "list_users", "AccessDenied")
    return results


# --- main -----------------------------------------------------------------------------------------


def local_endpoint(value: str) -> str:
    u = urllib.parse.urlsplit(value)
    if u.scheme != "http" or u.hostname != HOST or not u.port or u.path not in ("", "/") or u.query:
        raise argparse.ArgumentTypeError(f"--endpoint must be http://{HOST}:PORT, got {value!r}")
    return f"http://{HOST}:{u.port}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, type=local_endpoint, help=f"http://{HOST}:PORT of a moto server")
    ap.add_argument("scenario", choices=("mixed", "clean", "empty", "denied", *sorted(TOPIC_ESTATES)))
    ap.add_argument("port2", nargs="?", type=int, help="denied only: the port of the IAM-enforcing server")
    args = ap.parse_args()
    endpoint = args.endpoint
    if args.port2 is not None:
        if args.scenario != "denied":
            ap.error("PORT2 is only for the denied scenario")
        endpoint = f"http://{HOST}:{args.port2}"

    key = os.environ.get("AWS_ACCESS_KEY_ID") or "testing"
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing"
    try:
        if args.scenario == "denied":
            arm_auth(endpoint)  # before the reset: refuse a server without enforcement untouched
        reset(endpoint)
    except urllib.error.URLError as e:
        raise SystemExit(f"seed: cannot reach moto at {endpoint}: {e}")
    s = Seeder(endpoint, key, secret, args.scenario)
    if args.scenario in TOPIC_ESTATES:
        TOPIC_ESTATES[args.scenario](s)
    else:
        getattr(s, args.scenario)()
    json.dump(s.summary, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
    if s.required_failed:
        log(f"required pieces were refused: {', '.join(s.required_failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
