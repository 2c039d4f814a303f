#!/usr/bin/env python3
"""Writes SLS (Log Service) signature vectors with Alibaba Cloud's official Python SDK.

    python tests/aliyun/gen_sls_vectors.py [OUT.json]     (default: tests/aliyun/sls_vectors.json)

SLS does not take the RPC signature (ACS3-HMAC-SHA256): its gateway signs each request itself. Each case is a
real SLS call made by `alibabacloud_sls20201230` (pinned in scripts/aliyun-requirements.txt) through its
gateway, `alibabacloud_gateway_sls`, whose default is the `LOG <AccessKeyId>:<signature>` scheme (signature
version v1, `x-log-signaturemethod: hmac-sha256`); the request is captured just before it would be sent
(nothing leaves the process). The date is fixed per case so the file is reproducible. For each case the file
holds the method, path, query, every header the SDK sends (it signs the `x-log-*` and `x-acs-*` ones, with
Content-MD5, Content-Type and Date) and its `authorization`.

tests/aliyun_signing.rs recomputes each with dengbao's SLS signer (src/aliyun/sign_sls.rs) and requires a
byte-identical Authorization.
"""
import sys
from pathlib import Path

from alibabacloud_sls20201230 import models as sls_models
from alibabacloud_sls20201230.client import Client
from alibabacloud_tea_openapi import utils_models as oa_models
from alibabacloud_tea_util.client import Client as UtilClient
from darabonba.runtime import RuntimeOptions

sys.path.insert(0, str(Path(__file__).parent))
from gen_vectors import capture_request, write_vectors  # noqa: E402

CASES = [
    {
        "name": "get-logstore",
        "call": ("get_log_store", ("actiontrail-audit", "actiontrail_trail-all")),
        "endpoint": "cn-hangzhou.log.aliyuncs.com",
        "key": ("LTAI5tExampleKeyId0001", "ExampleSecret0123456789abcdefABCD"),
        "date": "Tue, 25 Nov 2025 08:30:00 GMT",
    },
    {
        "name": "list-logstores-with-query",
        "call": ("list_log_stores", ("audit-project", sls_models.ListLogStoresRequest(offset=100, size=100, logstore_name="action trail/*"))),
        "endpoint": "cn-shanghai.log.aliyuncs.com",
        "key": ("LTAI5tExampleKeyId0002", "Another&Secret=With/Specials+"),
        "date": "Tue, 25 Nov 2025 08:30:01 GMT",
    },
    {
        "name": "sts-token",
        "call": ("get_log_store", ("actiontrail-audit", "actiontrail_trail-all")),
        "endpoint": "cn-beijing.log.aliyuncs.com",
        "key": ("STS.NUgYrLnoC37mZZCNnAbez2JR", "StsSecretExample/+=xyz"),
        "token": "CAIS8wF1q6Ft5B2yfSjIr5bkEsj+of5Y5ZaYVxz2jHkFTPtroqvlhzz2IHhMeXBoA+0Xs/s1mm1W6/wYlqB6T55OSAmcNZEmGf7CG/Jv9UKMeHk=",
        "date": "Tue, 25 Nov 2025 08:30:02 GMT",
    },
    {
        "name": "local-endpoint-with-port",
        "call": ("get_log_store", ("actiontrail-audit", "actiontrail_trail-all")),
        "endpoint": "127.0.0.1:5520",
        "protocol": "http",
        "key": ("testing", "testing"),
        "date": "Tue, 25 Nov 2025 08:30:03 GMT",
    },
]


def sdk_request(case):
    """The request the SLS SDK builds for `case`, captured before sending."""
    UtilClient.get_date_utcstring = staticmethod(lambda: case["date"])
    key_id, secret = case["key"]
    config = oa_models.Config(access_key_id=key_id, access_key_secret=secret, security_token=case.get("token"),
                              endpoint=case["endpoint"], protocol=case.get("protocol", "https"),
                              user_agent="dengbao-vectors")
    client = Client(config)
    method, args = case["call"]
    return capture_request(lambda: getattr(client, method + "_with_options")(*args, {}, RuntimeOptions()))


def vector(case):
    r = sdk_request(case)
    headers = {k.lower(): str(v) for k, v in r.headers.items()}
    key_id, secret = case["key"]
    return {
        "name": case["name"],
        "access_key_id": key_id,
        "access_key_secret": secret,
        "security_token": case.get("token"),
        "method": r.method,
        "path": r.pathname,
        "query": sorted([k, str(v)] for k, v in (r.query or {}).items() if v is not None),
        "headers": sorted([k, v] for k, v in headers.items() if k != "authorization"),
        "authorization": headers["authorization"],
    }


def main():
    write_vectors("sls_vectors.json", "tests/aliyun/gen_sls_vectors.py",
                  ("alibabacloud-sls20201230", "alibabacloud-gateway-sls"), [vector(c) for c in CASES])


if __name__ == "__main__":
    main()
