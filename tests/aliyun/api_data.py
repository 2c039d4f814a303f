"""Answers for the "data" topic's actions (RAM roles, the account's security preferences, ActionTrail's
console sign-ins), shaped as the API reference documents them; api.py asks here first.

Estates keep these under `roles` ({name: trust policy dict}), `security_preference` and `signins`
(ActionTrail events); estates without them answer empty.
"""
import json
import zlib

from api import ApiError, public, token_page


def ram(estate, action, q, cap):
    roles = estate.get("roles", {})
    acct = estate["account"]
    if action == "ListRoles":
        names = sorted(roles)
        start = int(q.get("Marker") or 0)
        n = min(int(q.get("MaxItems") or 100), 1000, cap)
        page = names[start:start + n]
        out = {"Roles": {"Role": [role(acct, r) for r in page]}, "IsTruncated": start + n < len(names)}
        if out["IsTruncated"]:
            out["Marker"] = str(start + n)
        return out
    if action == "GetRole":
        name = q.get("RoleName")
        if name not in roles:
            raise ApiError(404, "EntityNotExist.Role", f"The role {name} does not exist.")
        return {"Role": dict(role(acct, name), AssumeRolePolicyDocument=json.dumps(roles[name], separators=(",", ":")),
                             IsServiceLinkedRole=False)}
    return None


def role(acct, name):
    return {"RoleId": "3000" + str(zlib.crc32(name.encode())).zfill(12), "RoleName": name,
            "Arn": f"acs:ram::{acct}:role/{name}", "Description": "", "CreateDate": "2024-03-01T08:00:00Z",
            "UpdateDate": "2024-03-01T08:00:00Z", "MaxSessionDuration": 3600}


def ims(estate, action, q, cap):
    if action != "GetSecurityPreference":
        return None
    pref = estate.get("security_preference", {})
    return {"SecurityPreference": {
        "LoginProfilePreference": {"AllowUserToChangePassword": True, "EnableSaveMFATicket": False,
                                   "LoginSessionDuration": 6, "LoginNetworkMasks": pref.get("masks", ""),
                                   "MFAOperationForLogin": pref.get("mfa", "independent"),
                                   "OperationForRiskLogin": "autonomous"},
        "MFAPreference": {"AllowUserToManageMFADevices": True},
        "AccessKeyPreference": {"AllowUserToManageAccessKeys": False}}}


def actiontrail(estate, action, q, cap):
    if action != "LookupEvents":
        return None
    if q.get("LookupAttribute.1.Key") != "EventName":
        raise ApiError(400, "InvalidParameter", "dengbao's test server answers LookupEvents by EventName only.")
    region = q.get("RegionId")
    events = [public(e) for e in estate.get("signins", [])
              if e["eventName"] == q.get("LookupAttribute.1.Value") and e["acsRegion"] == region]
    page, nxt, _ = token_page(events, q, cap, default=20, maximum=50)
    return {"Events": page, "NextToken": nxt, "StartTime": "2025-10-26T08:00:00Z", "EndTime": "2025-11-25T08:00:00Z"}


HANDLERS = {"2015-05-01": ram, "2019-08-15": ims, "2020-07-06": actiontrail}


def answer(estate, version, action, q, cap):
    """The answer of an action handled here, or None."""
    handler = HANDLERS.get(version)
    return handler(estate, action, q, cap) if handler else None
