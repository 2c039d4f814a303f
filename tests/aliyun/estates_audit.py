"""The audit topic's pieces of the Alibaba Cloud test estates (issues #14 and #15): alerting that the
`clean` estate has (a CloudMonitor event rule on ECS state changes notifying a contact group, Security
Center's security alerts by SMS and e-mail), and tweaks for the traps real tenants' trails and alerts have.

estates.py adds `alerting()` to `clean` and `no_alerting()` to `empty`, and merges TWEAKS into its own.
"""


def event_rule(name, product="ecs", names=("Instance:StateChange",), types=("StatusNotification",),
               state="ENABLED", contacts=("ops",), webhooks=(), mns=()):
    return {"Name": name, "State": state, "EventType": "SYSTEM", "GroupId": "", "Description": name, "SilenceTime": 86400,
            "EventPattern": {"EventPattern": [{"Product": product,
                                               "NameList": {"NameList": list(names)},
                                               "EventTypeList": {"EventTypeList": list(types)},
                                               "LevelList": {"LevelList": ["CRITICAL", "WARN", "INFO"]}}]},
            "_targets": {"ContactParameters": {"ContactParameter": [
                             {"Id": str(i + 1), "ContactGroupName": c, "Level": "3"} for i, c in enumerate(contacts)]},
                         "WebhookParameters": {"WebhookParameter": [
                             {"Id": str(i + 1), "Url": w, "Method": "post", "Protocol": "http"} for i, w in enumerate(webhooks)]},
                         "MnsParameters": {"MnsParameter": [
                             {"Id": str(i + 1), "Arn": m, "Region": "cn-hangzhou", "Queue": "q", "Topic": ""} for i, m in enumerate(mns)]}}}


def notice(project, route):
    return {"Project": project, "Route": route, "TimeLimit": 0, "AliUid": 1234567890123456, "CurrentPage": 1}


def alerting():
    return {"cms_event_rules": [event_rule("ecs-state-change-to-ops")],
            "notice_config": [notice("sas_suspicious", 3), notice("yundun_security_Weekreport", 2)]}


def no_alerting():
    return {"cms_event_rules": [], "notice_config": []}


def t_organization_trail(e):
    """The trail is the organization's (multi-account) trail: its status is only found with
    IsOrganizationTrail=true."""
    e["trails"][0]["IsOrganizationTrail"] = True


def t_oss_delivery_failing(e):
    """The trail logs, but its OSS bucket no longer accepts the logs (deleted, or its policy changed)."""
    e["trails"][0]["_status"].update(OssBucketStatus=False,
                                     LatestDeliveryError="put oss object failed, bucket does not exist")


def t_split_trails(e):
    """Two half trails: all regions but read events only, and write events in cn-hangzhou only."""
    from estates import trail
    e["trails"] = [trail("trail-reads-all", rw="Read"), trail("trail-writes-hz", region="cn-hangzhou")]


def t_write_only_trail(e):
    e["trails"][0]["EventRW"] = "Write"


def t_alert_rules_on_page_three(e):
    """Unrelated event rules first: the ECS rule is on the third page (the server pages by 2)."""
    others = [event_rule(f"aaa-rds-{i}", product="rds", names=("Instance:FailoverStart",)) for i in range(4)]
    e["cms_event_rules"] = others + e["cms_event_rules"]


def t_alert_rule_to_queue(e):
    """The ECS rule sends to a message queue only: no one is told."""
    e["cms_event_rules"] = [event_rule("ecs-state-change-to-queue", contacts=(),
                                       mns=("acs:mns:cn-hangzhou:1234567890123456:/queues/ecs-events",))]


def t_alert_rule_disabled(e):
    e["cms_event_rules"][0]["State"] = "DISABLED"


def t_security_alerts_console_only(e):
    """Security alerts only as in-console messages (Route 4): no SMS or e-mail."""
    e["notice_config"] = [notice("sas_suspicious", 4), notice("yundun_security_Weekreport", 2)]


TWEAKS = {name[2:].replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("t_")}
