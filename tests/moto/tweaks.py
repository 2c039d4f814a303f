#!/usr/bin/env python3
"""Small changes applied on top of a seeded estate (usually `clean`), one verdict level at a time.

    tweaks.py --endpoint http://127.0.0.1:PORT TWEAK

Prints a JSON summary of what it created. boto3 only (a separate, mutating client: never dengbao).

Tweaks:
  expose-admin          a public instance (cn-north-1) behind a group opening SSH to 0.0.0.0/0 and ::/0
  expose-all            a public instance behind a group allowing all traffic from 0.0.0.0/0, in a subnet
                        whose network ACL allows all (the default ACL)
  hk-bucket             a bucket and a volume in ap-east-1 (Hong Kong: outside the mainland), in the global
                        `aws` partition (moto keeps partitions apart, as AWS does; scan with --regions ap-east-1)
  abroad-instance       an instance (with its root volume) in ap-southeast-1, in the global `aws` partition
                        (scan with --regions us-east-1: the instance is in a region the scan does not name)
  single-region-trail   the clean multi-region trail becomes single-region
  unencrypted-snapshot  an unencrypted volume and its snapshot in cn-north-1
  default-vpc-instance  an instance in cn-north-1's default VPC
  no-databases          deletes every RDS instance and snapshot (the demo estate runs without databases)
  internal-8443         the clean group dengbao-https-internal (cn-north-1) also allows 8443 from 10.0.0.0/8:
                        its rules' deciding values change, every status stays (an internal, non-admin port)
  backup-copy-dr        AWS Backup: a vault in each China region and a plan (cn-north-1) copying to the
                        Ningxia vault
  backup-copy-partner   as backup-copy-dr, plus a copy to a vault of another account (cn-northwest-1)
  backup-copy-abroad    as backup-copy-dr, plus a copy to a vault in ap-southeast-1 (the global partition)
  net-*                 the "net" topic's tweaks, in tests/moto/estates_net.py
"""
import argparse
import json
import os

import boto3

import estates_net  # the "net" topic's tweaks (net-*)

BJ = "cn-north-1"


def client(args, service, region=BJ):
    return boto3.client(service, region_name=region, endpoint_url=args.endpoint,
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))


def ami(ec2):
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    if images:
        return images[0]["ImageId"]
    return ec2.register_image(Name="dengbao-tweak-base", RootDeviceName="/dev/xvda",
                              BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]


def public_instance(args, name, permissions, tags=None):
    ec2 = client(args, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.90.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=permissions)
    # Flow log so the rest of the clean estate stays clean.
    extra = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]} if tags else {}
    inst = ec2.run_instances(ImageId=ami(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             KeyName=ec2.create_key_pair(KeyName=f"{name}-key")["KeyName"],
                             NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [sg],
                                                 "AssociatePublicIpAddress": True}], **extra)["Instances"][0]
    eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=alloc, NetworkInterfaceId=eni)
    return {"vpc": vpc, "subnet": subnet, "security_group": sg, "instance": inst["InstanceId"], "eni": eni}


class Helpers:
    """What tests/moto/estates_net.py's tweaks use from here."""

    def __init__(self, args):
        self.args = args

    def client(self, service, region=BJ):
        return client(self.args, service, region)

    def client_as(self, service, creds, region=BJ):
        return boto3.client(service, region_name=region, endpoint_url=self.args.endpoint,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    def ami(self, ec2):
        return ami(ec2)

    def public_instance(self, name, permissions, tags=None):
        return public_instance(self.args, name, permissions, tags)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("tweak")
    args = p.parse_args()
    t = args.tweak
    if t in estates_net.TWEAKS:
        out = estates_net.TWEAKS[t](Helpers(args))
    elif t == "expose-admin":
        out = public_instance(args, "dengbao-tweak-ssh-open", [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    elif t == "expose-all":
        out = public_instance(args, "dengbao-tweak-all-open", [
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    elif t == "hk-bucket":
        account = client(args, "sts").get_caller_identity()["Account"]
        name = f"dengbao-tweak-hk-{account}"
        client(args, "s3", "ap-east-1").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-east-1"})
        vol = client(args, "ec2", "ap-east-1").create_volume(AvailabilityZone="ap-east-1a", Size=8, Encrypted=True)["VolumeId"]
        out = {"bucket": name, "volume": vol}
    elif t == "abroad-instance":
        ec2 = client(args, "ec2", "ap-southeast-1")
        inst = ec2.run_instances(ImageId=ami(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
        vols = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", []) if "Ebs" in m]
        out = {"instance": inst["InstanceId"], "volumes": vols}
    elif t.startswith("backup-copy-"):
        account = client(args, "sts").get_caller_identity()["Account"]
        main = client(args, "backup").create_backup_vault(BackupVaultName="dengbao-main")["BackupVaultArn"]
        dr = client(args, "backup", "cn-northwest-1").create_backup_vault(BackupVaultName="dengbao-dr")["BackupVaultArn"]
        copies = [dr]
        if t == "backup-copy-partner":
            copies.append("arn:aws-cn:backup:cn-northwest-1:444455556666:backup-vault:partner")
        elif t == "backup-copy-abroad":
            copies.append(f"arn:aws:backup:ap-southeast-1:{account}:backup-vault:dengbao-sg")
        elif t != "backup-copy-dr":
            raise SystemExit(f"unknown tweak {t}")
        client(args, "backup").create_backup_plan(BackupPlan={"BackupPlanName": "dengbao-daily", "Rules": [{
            "RuleName": "daily", "TargetBackupVaultName": "dengbao-main",
            "CopyActions": [{"DestinationBackupVaultArn": c} for c in copies]}]})
        out = {"vaults": [main, dr], "copies": copies}
    elif t == "single-region-trail":
        ct = client(args, "cloudtrail")
        trails = [x for x in ct.describe_trails()["trailList"] if x.get("IsMultiRegionTrail")]
        for x in trails:
            ct.update_trail(Name=x["Name"], IsMultiRegionTrail=False)
        out = {"trails": [x["Name"] for x in trails]}
    elif t == "unencrypted-snapshot":
        ec2 = client(args, "ec2")
        vol = ec2.create_volume(AvailabilityZone=f"{BJ}a", Size=8, Encrypted=False)["VolumeId"]
        snap = ec2.create_snapshot(VolumeId=vol, Description="dengbao tweak unencrypted")["SnapshotId"]
        out = {"volume": vol, "snapshot": snap}
    elif t == "default-vpc-instance":
        ec2 = client(args, "ec2")
        default = [v for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")][0]["VpcId"]
        subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default]}])["Subnets"][0]["SubnetId"]
        sg = ec2.create_security_group(GroupName="dengbao-tweak-legacy", Description="legacy", VpcId=default)["GroupId"]
        inst = ec2.run_instances(ImageId=ami(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
                                 SecurityGroupIds=[sg], KeyName=ec2.create_key_pair(KeyName="dengbao-tweak-legacy")["KeyName"],
                                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": True}}])
        out = {"vpc": default, "instance": inst["Instances"][0]["InstanceId"]}
    elif t == "no-databases":
        gone = []
        for region in (BJ, "cn-northwest-1"):
            rds = client(args, "rds", region)
            for snap in rds.describe_db_snapshots()["DBSnapshots"]:
                if snap.get("SnapshotType") == "manual":
                    rds.delete_db_snapshot(DBSnapshotIdentifier=snap["DBSnapshotIdentifier"])
            for db in rds.describe_db_instances()["DBInstances"]:
                rds.delete_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"], SkipFinalSnapshot=True,
                                       DeleteAutomatedBackups=True)
                gone.append(db["DBInstanceIdentifier"])
        out = {"deleted": gone}
    elif t == "internal-8443":
        ec2 = client(args, "ec2")
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["dengbao-https-internal"]}])
        sg = groups["SecurityGroups"][0]["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        out = {"security_group": sg}
    else:
        raise SystemExit(f"unknown tweak {t}")
    print(json.dumps({"tweak": t, "created": out}))


if __name__ == "__main__":
    main()
