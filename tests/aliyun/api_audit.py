"""Answers of the audit topic's Alibaba Cloud actions for the test server (see api.py): CloudMonitor's event
rules and their targets (Cms 2019-01-01), and Security Center's notice settings (DescribeNoticeConfig).

Shaped as the API reference documents them (the server checks every answer against the product SDK's model):
DescribeEventRuleList pages with PageNumber/PageSize and gives Total as a string; DescribeEventRuleTargetList
answers per rule name.
"""
from api import ApiError, number_page


def cms(estate, action, q, cap):
    rules = estate.get("cms_event_rules", [])
    if action == "DescribeEventRuleList":
        page, _, _ = number_page(rules, q, cap)
        return {"EventRules": {"EventRule": [{k: v for k, v in r.items() if not k.startswith("_")} for r in page]},
                "Total": str(len(rules)), "Success": True, "Code": "200"}
    if action == "DescribeEventRuleTargetList":
        rule = next((r for r in rules if r["Name"] == q.get("RuleName")), None)
        if rule is None:
            raise ApiError(404, "ResourceNotFound", "The specified rule does not exist.")
        return dict(rule["_targets"], Code="200")
    raise KeyError(action)


def notice_config(estate):
    return {"NoticeConfigList": estate.get("notice_config", [])}
