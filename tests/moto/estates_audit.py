"""Audit estates for moto (issues #14 and #15, the "audit" topic): trails, detection, alerting, retention.

Imported by seed.py, which offers each entry of ESTATES as a scenario: `seed.py --endpoint URL NAME`.
Every estate is shaped like a real tenant's, with the traps the audit items must see through:

  audit-split-trails     a multi-region trail that records only data events, plus a single-region trail
                         that records management events: two half trails, not one whole trail. Findings
                         alert in Beijing only; Ningxia's rule targets a Lambda function (no one is told).
  audit-whole-trail      one multi-region trail using ADVANCED event selectors (management, write-only),
                         with a key prefix; no organization trail, no Config aggregator (a single account).
                         Findings alert in both regions, Ningxia's rule on the second page of ListRules
                         (120 other rules first). Instance launches alert through EC2's state-change
                         notification in Beijing and through an API-call rule in state
                         ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS in Ningxia. The bucket's lifecycle:
                         30 days on tmp/ (not the trail's prefix), 30 days on audit/ but disabled, 400 days
                         on audit/.
  audit-whole-trail-dated  the same, plus an enabled lifecycle rule expiring audit/AWSLogs/ on a date.
  audit-read-only-trail  the one multi-region trail records read-only management events (advanced selectors).
  audit-kms-excluded     the one multi-region trail (basic selectors) excludes KMS events.

A moto gap: CloudTrail's LatestDeliveryError and CloudWatch alarms (CBOR) cannot be produced here; they
are judged on hand-made packs in tests/scenarios_audit.rs.
"""
from __future__ import annotations

import json

BJ = "cn-north-1"
NX = "cn-northwest-1"
REGIONS = (BJ, NX)


def _subscribed_topic(s, region: str, name: str) -> str:
    sns = s.client("sns", region)
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com", ReturnSubscriptionArn=True)
    return topic


def _rule(s, region: str, name: str, pattern: dict, target_arn: str, state: str = "ENABLED") -> str:
    events = s.client("events", region)
    arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)["RuleArn"]
    out = events.put_targets(Rule=name, Targets=[{"Id": "t1", "Arn": target_arn}])
    if out.get("FailedEntryCount"):
        raise RuntimeError(f"put_targets failed: {out['FailedEntries']}")
    return arn


def _base(s, prefix: str) -> dict:
    """A bucket for the trails, detectors enabled in both regions."""
    account = s.account_id()
    bucket = f"{prefix}-trail-{account}"
    s.attempt("s3.CreateBucket", lambda: s.bucket(BJ, bucket), True)
    s.put("s3.trail_bucket", bucket)
    for r in REGIONS:
        s.put(f"guardduty.{r}", s.attempt(f"guardduty {r}", lambda r=r: s.detector(r, True), True))
    return {"account": account, "bucket": bucket}


def _trail(s, name: str, bucket: str, multi: bool, key_prefix: str | None = None, **selectors) -> dict:
    ct = s.client("cloudtrail", BJ)
    kwargs = dict(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi, IncludeGlobalServiceEvents=multi)
    if key_prefix:
        kwargs["S3KeyPrefix"] = key_prefix
    arn = ct.create_trail(**kwargs)["TrailARN"]
    ct.start_logging(Name=name)
    if selectors:
        ct.put_event_selectors(TrailName=name, **selectors)
    return {"TrailARN": arn, "multi_region": multi, "selectors": selectors}


GUARDDUTY = {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}


def split_trails(s) -> None:
    b = _base(s, "dengbao-split")
    A = s.attempt
    s.put("cloudtrail.data_only", A("multi-region data-events trail", lambda: _trail(
        s, "dengbao-split-data", b["bucket"], True,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False,
                         "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws-cn:s3:::{b['bucket']}/"]}]}]), True))
    s.put("cloudtrail.management_local", A("single-region management trail", lambda: _trail(
        s, "dengbao-split-mgmt", b["bucket"], False,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]), True))
    topic = A("sns topic bj", lambda: _subscribed_topic(s, BJ, "dengbao-split-security"), True)
    s.put("alerting.bj", A("guardduty rule bj", lambda: _rule(s, BJ, "dengbao-split-findings", GUARDDUTY, topic), True))
    lam = f"arn:aws-cn:lambda:{NX}:{b['account']}:function:dengbao-split-ticketing"
    s.put("alerting.nx_lambda", A("guardduty rule nx to lambda", lambda: _rule(s, NX, "dengbao-split-findings", GUARDDUTY, lam), True))


def whole_trail(s, dated: bool = False) -> None:
    b = _base(s, "dengbao-whole")
    A = s.attempt
    s.put("cloudtrail.main", A("multi-region advanced-selector trail", lambda: _trail(
        s, "dengbao-whole-main", b["bucket"], True, key_prefix="audit",
        AdvancedEventSelectors=[{"Name": "management writes", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}]), True))
    rules = [
        {"ID": "tmp-30-days", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 30}},
        {"ID": "audit-30-days-disabled", "Status": "Disabled", "Filter": {"Prefix": "audit/"}, "Expiration": {"Days": 30}},
        {"ID": "audit-400-days", "Status": "Enabled", "Filter": {"Prefix": "audit/"}, "Expiration": {"Days": 400}},
    ]
    if dated:
        rules.append({"ID": "audit-until-a-date", "Status": "Enabled", "Filter": {"Prefix": "audit/AWSLogs/"},
                      "Expiration": {"Date": "2030-01-01T00:00:00Z"}})
    A("s3.PutBucketLifecycleConfiguration", lambda: s.client("s3", BJ).put_bucket_lifecycle_configuration(
        Bucket=b["bucket"], LifecycleConfiguration={"Rules": rules}), True)
    s.put("s3.lifecycle", [r["ID"] for r in rules])
    topics = {r: A(f"sns topic {r}", lambda r=r: _subscribed_topic(s, r, "dengbao-whole-ops"), True) for r in REGIONS}
    s.put("alerting.findings_bj", A("guardduty rule bj", lambda: _rule(s, BJ, "dengbao-whole-findings", GUARDDUTY, topics[BJ]), True))
    # Ningxia: 120 unrelated rules come first, so the findings rule is on ListRules' second page (100 a page).
    events = s.client("events", NX)
    for i in range(120):
        events.put_rule(Name=f"aaa-unrelated-{i:03d}", EventPattern=json.dumps({"source": [f"custom.app{i}"]}))
    s.put("alerting.findings_nx", A("guardduty rule nx (page 2)", lambda: _rule(s, NX, "zzz-dengbao-whole-findings", GUARDDUTY, topics[NX]), True))
    state_change = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                    "detail": {"state": ["pending", "running"]}}
    s.put("alerting.instances_bj", A("ec2 state-change rule bj", lambda: _rule(s, BJ, "dengbao-whole-instance-state", state_change, topics[BJ]), True))
    api_calls = {"source": ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"],
                 "detail": {"eventName": ["RunInstances", "StartInstances", "RebootInstances"]}}
    s.put("alerting.instances_nx", A("api-call rule nx", lambda: _rule(
        s, NX, "zzz-dengbao-whole-instance-calls", api_calls, topics[NX], "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"), True))


def read_only_trail(s) -> None:
    b = _base(s, "dengbao-reads")
    s.put("cloudtrail.main", s.attempt("multi-region read-only trail", lambda: _trail(
        s, "dengbao-reads-main", b["bucket"], True,
        AdvancedEventSelectors=[{"Name": "management reads", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]), True))


def kms_excluded(s) -> None:
    b = _base(s, "dengbao-nokms")
    s.put("cloudtrail.main", s.attempt("multi-region trail excluding KMS", lambda: _trail(
        s, "dengbao-nokms-main", b["bucket"], True,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                         "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]), True))


ESTATES = {
    "audit-split-trails": split_trails,
    "audit-whole-trail": whole_trail,
    "audit-whole-trail-dated": lambda s: whole_trail(s, dated=True),
    "audit-read-only-trail": read_only_trail,
    "audit-kms-excluded": kms_excluded,
}
