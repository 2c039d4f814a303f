#!/usr/bin/env python3
"""Writes ACS3-HMAC-SHA256 signature vectors with Alibaba Cloud's official Python SDK.

    python tests/aliyun/gen_vectors.py [OUT.json]        (default: tests/aliyun/vectors.json)

Each case is a real RPC call prepared by `alibabacloud_tea_openapi.client.Client.call_api` (pinned in
scripts/aliyun-requirements.txt): the SDK flattens the parameters, sets its headers and signs; the request is
captured just before it would be sent (nothing leaves the process). The timestamp and nonce are fixed per
case so the file is reproducible. For each case the file holds:

  * `request`: method, path, query and every header exactly as the SDK would send them (it signs them all),
    with its `authorization`;
  * `acs_only`: the SDK's own signature (`Utils.get_authorization`) over just the headers dengbao sends and
    signs (host and x-acs-*), for the same request.

tests/aliyun_signing.rs recomputes both with dengbao's signer and requires byte-identical results.
"""
import json
import sys
from pathlib import Path

from alibabacloud_tea_openapi import client as oa_client
from alibabacloud_tea_openapi import utils_models as oa_models
from alibabacloud_tea_openapi.utils import Utils
from darabonba.core import DaraCore
from darabonba.runtime import RuntimeOptions

CASES = [
    {
        "name": "describe-instances",
        "host": "ecs.cn-hangzhou.aliyuncs.com",
        "action": "DescribeInstances",
        "version": "2014-05-26",
        "params": {"RegionId": "cn-hangzhou", "MaxResults": 100, "NextToken": "caeba0bbb2be03f84eb48b699f0a4883"},
        "key": ("LTAI5tExampleKeyId0001", "ExampleSecret0123456789abcdefABCD"),
        "date": "2025-11-25T08:30:00Z",
        "nonce": "3156853299f313e23d1673dc12e1703d",
    },
    {
        "name": "sts-token",
        "host": "vpc.cn-shanghai.aliyuncs.com",
        "action": "DescribeFlowLogs",
        "version": "2016-04-28",
        "params": {"RegionId": "cn-shanghai", "PageSize": 50, "PageNumber": 2},
        "key": ("STS.NUgYrLnoC37mZZCNnAbez2JR", "StsSecretExample/+=xyz"),
        "token": "CAIS8wF1q6Ft5B2yfSjIr5bkEsj+of5Y5ZaYVxz2jHkFTPtroqvlhzz2IHhMeXBoA+0Xs/s1mm1W6/wYlqB6T55OSAmcNZEmGf7CG/Jv9UKMeHk=",
        "date": "2025-11-25T08:30:01Z",
        "nonce": "0b2f6ee4a3c9419f8f0f0e2c6a1d5e77",
    },
    {
        "name": "special-characters-and-lists",
        "host": "ecs.cn-beijing.aliyuncs.com",
        "action": "DescribeSecurityGroups",
        "version": "2014-05-26",
        "params": {
            "RegionId": "cn-beijing",
            "SecurityGroupName": "web sg*~/=&+ 杭州 ✓",
            "Tag": [{"Key": "env", "Value": "prod/blue"}, {"Key": "owner", "Value": "张三 <ops@example.com>"}],
            "InstanceIds": '["i-bp1", "i-bp2"]',
        },
        "key": ("LTAI5tExampleKeyId0002", "Another&Secret=With/Specials+"),
        "date": "2025-11-25T08:30:02Z",
        "nonce": "9f7d0a1b2c3d4e5f60718293a4b5c6d7",
    },
    {
        "name": "no-parameters",
        "host": "sts.aliyuncs.com",
        "action": "GetCallerIdentity",
        "version": "2015-04-01",
        "params": {},
        "key": ("LTAI5tExampleKeyId0003", "s3cr3t"),
        "date": "2025-11-25T08:30:03Z",
        "nonce": "00000000000000000000000000000001",
    },
    {
        "name": "local-endpoint-with-port",
        "host": "127.0.0.1:5520",
        "protocol": "http",
        "action": "GetTrailStatus",
        "version": "2020-07-06",
        "params": {"RegionId": "cn-hangzhou", "Name": "trail-all"},
        "key": ("testing", "testing"),
        "date": "2025-11-25T08:30:04Z",
        "nonce": "a4c1f0e2b3d4c5e6f708192a3b4c5d6e",
    },
]


# The headers dengbao's client sends and signs (src/aliyun/client.rs `v3_headers`).
DENGBAO_SIGNS = {
    "host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256",
    "x-acs-accesskey-id", "x-acs-security-token",
}


class Captured(Exception):
    pass


def capture_request(send):
    """Runs `send()` with the SDK's transport replaced: gives the request the SDK would send (nothing leaves
    the process)."""
    seen = {}

    def capture(request, runtime):
        seen["request"] = request
        raise Captured()

    DaraCore.do_action = staticmethod(capture)
    # The default user agent names the local platform and Python; fixed, the file is the same everywhere.
    Utils.get_user_agent = staticmethod(lambda _ua=None: "AlibabaCloud TeaDSL/2 dengbao-vectors")
    try:
        send()
    except Exception as e:  # noqa: BLE001 - the capture aborts the call; the SDK may wrap it
        if "request" not in seen:
            raise RuntimeError(f"the SDK failed before sending: {e!r}") from e
    return seen["request"]


def sdk_request(case):
    """The request the SDK builds for `case`, captured before sending."""
    Utils.get_timestamp = staticmethod(lambda: case["date"])
    Utils.get_nonce = staticmethod(lambda: case["nonce"])
    key_id, secret = case["key"]
    config = oa_models.Config(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=case.get("token"),
        endpoint=case["host"],
        protocol=case.get("protocol", "https"),
        user_agent="dengbao-vectors",
    )
    client = oa_client.Client(config)
    params = oa_models.Params(
        action=case["action"], version=case["version"], protocol=case.get("protocol", "HTTPS"),
        pathname="/", method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )
    req = oa_models.OpenApiRequest(query=Utils.query(case["params"]))
    return capture_request(lambda: client.call_api(params, req, RuntimeOptions()))


class Subset:
    def __init__(self, method, pathname, query, headers):
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


def vector(case):
    r = sdk_request(case)
    headers = {k.lower(): str(v) for k, v in r.headers.items()}
    auth = headers.pop("authorization")
    acs = {k: v for k, v in headers.items() if k in DENGBAO_SIGNS}
    key_id, secret = case["key"]
    acs_auth = Utils.get_authorization(
        Subset(r.method, r.pathname, r.query, acs), "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], key_id, secret
    )
    return {
        "name": case["name"],
        "access_key_id": key_id,
        "access_key_secret": secret,
        "security_token": case.get("token"),
        "action": case["action"],
        "version": case["version"],
        "params": case["params"],
        "request": {
            "method": r.method,
            "path": r.pathname,
            "query": sorted([k, str(v)] for k, v in r.query.items()),
            "headers": sorted([k, v] for k, v in headers.items()),
            "body": r.body or "",
            "authorization": auth,
        },
        "acs_only": {"headers": sorted([k, v] for k, v in acs.items()), "authorization": acs_auth},
    }


def write_vectors(default_name, generator, sdk, cases):
    """Writes the cases to argv[1] (default: `default_name` beside this file), naming the SDK versions."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name(default_name)
    from importlib.metadata import version
    doc = {"generator": generator, "sdk": {name: version(name) for name in sdk}, "cases": cases}
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} vectors to {out}", file=sys.stderr)


def main():
    write_vectors("vectors.json", "tests/aliyun/gen_vectors.py", ("alibabacloud-tea-openapi", "darabonba-core"),
                  [vector(c) for c in CASES])


if __name__ == "__main__":
    main()
