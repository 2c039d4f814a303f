#!/usr/bin/env python3
"""Writes OSS V4 signature vectors (OSS4-HMAC-SHA256) with Alibaba Cloud's official OSS SDK V2.

    python tests/aliyun/gen_oss_vectors.py [OUT.json]     (default: tests/aliyun/oss_vectors.json)

Each case is a real OSS read made by `alibabacloud_oss_v2` (pinned in scripts/aliyun-requirements.txt) with
its default V4 signer; the SDK's HTTP client is replaced by one that keeps the signed request and raises, so
nothing leaves the process. The signing time is fixed per case so the file is reproducible. For each case the
file holds the method, bucket, region, the query as sent, every header the SDK sends, the additional headers
asked for, and its `authorization`; and `dengbao_only`: the SDK's own V4 signer (`SignerV4`) over just the
headers dengbao's client sends and signs for a read (src/aliyun/sign_oss.rs `read_headers`: x-oss-date,
x-oss-content-sha256, x-oss-security-token, plus the additional ones), for the same request. (The SDK also
sends a Content-Type that depends on the operation, and Content-MD5; dengbao sends neither on a read.)

tests/aliyun_signing.rs recomputes each with dengbao's OSS signer (src/aliyun/sign_oss.rs) and requires a
byte-identical Authorization, over the SDK's headers and over the set dengbao's client sends for a read.
"""
import datetime as _dt
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import alibabacloud_oss_v2 as oss
from alibabacloud_oss_v2 import _client as oss_client
from alibabacloud_oss_v2.signer import v4 as oss_v4

sys.path.insert(0, str(Path(__file__).parent))
from gen_vectors import write_vectors  # noqa: E402

CASES = [
    {
        "name": "list-buckets",
        "call": ("list_buckets", oss.ListBucketsRequest()),
        "region": "cn-hangzhou",
        "key": ("LTAI5tExampleKeyId0001", "ExampleSecret0123456789abcdefABCD"),
        "time": "2025-11-25T08:30:00",
    },
    {
        "name": "list-buckets-next-page",
        "call": ("list_buckets", oss.ListBucketsRequest(marker="audit logs/2025+x", max_keys=100, prefix="act")),
        "region": "cn-shanghai",
        "key": ("LTAI5tExampleKeyId0002", "Another&Secret=With/Specials+"),
        "time": "2025-11-25T08:30:01",
    },
    {
        "name": "get-bucket-info",
        "call": ("get_bucket_info", oss.GetBucketInfoRequest(bucket="actiontrail-logs")),
        "region": "cn-hangzhou",
        "key": ("LTAI5tExampleKeyId0001", "ExampleSecret0123456789abcdefABCD"),
        "time": "2025-11-25T08:30:02",
    },
    {
        "name": "get-bucket-replication-sts",
        "call": ("get_bucket_replication", oss.GetBucketReplicationRequest(bucket="data-lake-01")),
        "region": "ap-southeast-1",
        "key": ("STS.NUgYrLnoC37mZZCNnAbez2JR", "StsSecretExample/+=xyz"),
        "token": "CAIS8wF1q6Ft5B2yfSjIr5bkEsj+of5Y5ZaYVxz2jHkFTPtroqvlhzz2IHhMeXBoA+0Xs/s1mm1W6/wYlqB6T55OSAmcNZEmGf7CG/Jv9UKMeHk=",
        "time": "2025-11-25T23:59:59",
    },
    {
        "name": "get-bucket-lifecycle-additional-host",
        "call": ("get_bucket_lifecycle", oss.GetBucketLifecycleRequest(bucket="actiontrail-logs")),
        "region": "cn-beijing",
        "key": ("LTAI5tExampleKeyId0003", "s3cr3t"),
        "additional": ["host", "user-agent"],
        "time": "2025-11-26T00:00:00",
    },
    {
        "name": "local-endpoint-path-style",
        "call": ("get_bucket_info", oss.GetBucketInfoRequest(bucket="actiontrail-logs")),
        "region": "cn-hangzhou",
        "endpoint": "http://127.0.0.1:5520",
        "key": ("testing", "testing"),
        "time": "2025-11-25T08:30:03",
    },
]


class Captured(Exception):
    pass


class Capture(oss.HttpClient):
    """Keeps the request the SDK would send."""

    def __init__(self):
        self.request = None

    def send(self, request, **kwargs):
        self.request = request
        raise Captured()

    def open(self):
        pass

    def close(self):
        pass


class FixedClock:
    """Stands in for the `datetime` module inside the SDK's V4 signer: `now()` is the case's time."""

    def __init__(self, when):
        fixed = when

        class _Datetime(_dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return fixed

        self.datetime, self.timezone, self.timedelta = _Datetime, _dt.timezone, _dt.timedelta


def sdk_request(case):
    when = _dt.datetime.fromisoformat(case["time"]).replace(tzinfo=_dt.timezone.utc)
    oss_v4.datetime = FixedClock(when)
    key_id, secret = case["key"]
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(key_id, secret, case.get("token"))
    cfg.region = case["region"]
    if "endpoint" in case:
        cfg.endpoint = case["endpoint"]
        cfg.use_path_style = True
    cfg.additional_headers = case.get("additional")
    # The default user agent names the local platform and Python; fixed, the file is the same everywhere.
    oss_client.utils.get_default_user_agent = lambda: "alibabacloud-python-sdk-v2"
    cfg.user_agent = "dengbao-vectors"
    cfg.retry_max_attempts = 1
    capture = Capture()
    cfg.http_client = capture
    client = oss.Client(cfg)
    method, request = case["call"]
    try:
        getattr(client, method)(request)
    except Exception:  # noqa: BLE001 - the capture aborts the call; the SDK wraps it
        pass
    if capture.request is None:
        raise RuntimeError(f"{case['name']}: the SDK sent nothing")
    return capture.request


# The headers dengbao's client signs on a read (src/aliyun/sign_oss.rs `read_headers`).
DENGBAO_SIGNS = {"x-oss-date", "x-oss-content-sha256", "x-oss-security-token"}


def sign_subset(case, r, bucket, headers):
    """The SDK's V4 signer over `headers` only, for the request `r` at the case's time."""
    key_id, secret = case["key"]
    request = oss.HttpRequest(method=r.method, url=r.url)
    request.headers.update(headers)
    when = _dt.datetime.fromisoformat(case["time"]).replace(tzinfo=_dt.timezone.utc)
    ctx = oss.SigningContext(
        product="oss", region=case["region"], bucket=bucket, request=request,
        credentials=oss.Credentials(key_id, secret, case.get("token")),
        signing_time=when, additional_headers=case.get("additional"),
    )
    oss.signer.SignerV4().sign(ctx)
    return request.headers["Authorization"]


def vector(case):
    r = sdk_request(case)
    parts = urlsplit(r.url)
    headers = {k.lower(): str(v) for k, v in r.headers.items()}
    key_id, secret = case["key"]
    bucket = getattr(case["call"][1], "bucket", None)
    return {
        "name": case["name"],
        "access_key_id": key_id,
        "access_key_secret": secret,
        "security_token": case.get("token"),
        "region": case["region"],
        "method": r.method,
        "url": r.url,
        "host": parts.netloc,
        "bucket": bucket,
        "query": sorted([unquote(k), unquote(v)] for k, v in parse_qsl(parts.query, keep_blank_values=True)),
        "raw_query": parts.query,
        # What the SDK's client signed as additional headers (its Authorization names them).
        "additional_headers": named_additional(headers["authorization"]),
        "headers": sorted([k, v] for k, v in headers.items() if k != "authorization"),
        "authorization": headers["authorization"],
        "dengbao_only": dengbao_only(case, r, bucket, headers),
    }


def named_additional(authorization):
    for field in authorization.split(" ", 1)[1].split(","):
        if field.startswith("AdditionalHeaders="):
            return field[len("AdditionalHeaders="):].split(";")
    return []


def dengbao_only(case, r, bucket, headers):
    extra = {h.lower() for h in case.get("additional") or []}
    subset = {k: v for k, v in headers.items() if k in DENGBAO_SIGNS or k in extra}
    subset.pop("authorization", None)
    if "host" in extra:  # the HTTP library adds Host after signing; signed, it must be the real one
        subset["host"] = urlsplit(r.url).netloc
    return {"headers": sorted([k, v] for k, v in subset.items()), "additional_headers": sorted(extra),
            "authorization": sign_subset(case, r, bucket, subset)}


def main():
    write_vectors("oss_vectors.json", "tests/aliyun/gen_oss_vectors.py", ("alibabacloud-oss-v2",),
                  [vector(c) for c in CASES])


if __name__ == "__main__":
    main()
