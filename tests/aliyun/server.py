#!/usr/bin/env python3
"""A local Alibaba Cloud OpenAPI endpoint for dengbao's tests, on 127.0.0.1 only.

    python tests/aliyun/server.py --estate clean [--tweak NAME ...] [--deny ACTION|all ...] [--deny-region R ...]
                                  [--throttle ACTION=N ...] [--fail5xx ACTION=N ...] [--storage-secret AK=SECRET ...]
                                  [--log FILE]

Prints `PORT <n>` once it listens, then serves until killed. Every request is checked as Alibaba Cloud's
gateway checks it: an `ACS3-HMAC-SHA256` Authorization over the signed headers (recomputed with the
official SDK's own `Utils.get_authorization`, never with dengbao's code), `x-acs-content-sha256` equal to
the body's hash, a fresh `x-acs-date`, a nonce never seen before, a known AccessKey and, for STS
credentials, the matching `x-acs-security-token`. Failures answer as the gateway does
(`SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`, `SignatureNonceUsed`, ...).

Answers are shaped exactly like the API reference: every body served is first round-tripped through the
product SDK's response model (`<Action>ResponseBody().from_map(body).to_map() == body`), so a key that the
API does not have, or a wrong nesting, fails the test instead of passing unnoticed. Pages are as small as
`--page-cap` (default 2) so that every paging style is exercised with small estates.

`--deny-region R` refuses every call in region R (its `RegionId`) as RAM refuses a call an explicit Deny
applies to (a policy, or a resource directory control policy, restricting the regions a tenant may use).

OSS (`OSS4-HMAC-SHA256`) and SLS (`LOG`) requests are checked and answered by storage.py, with their own
signatures and error bodies.

Estates and tweaks are in estates.py; the answers of each action in api.py.
"""
import argparse
import datetime
import hashlib
import importlib
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from alibabacloud_tea_openapi.utils import Utils

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import api  # noqa: E402
import estates  # noqa: E402
import storage  # noqa: E402

# AccessKey id -> (secret, security token or None). `testing` is what the tests pass; STS keys are issued
# by AssumeRole below.
KEYS = {"testing": ("testing", None), "LTAIdengbaoTest01": ("dengbao-test-secret-0001", None), "LTAI-profile": ("profile-secret", None), "STS.testing": ("sts-secret", "sts-token-1")}
KEYS_LOCK = threading.Lock()

SDK_MODELS = {
    "2014-05-26": "alibabacloud_ecs20140526",
    "2016-04-28": "alibabacloud_vpc20160428",
    "2020-07-06": "alibabacloud_actiontrail20200706",
    "2018-12-03": "alibabacloud_sas20181203",
    "2017-12-07": "alibabacloud_cloudfw20171207",
    "2016-01-20": "alibabacloud_kms20160120",
    "2015-05-01": "alibabacloud_ram20150501",
    "2019-08-15": "alibabacloud_ims20190815",
    "2014-08-15": "alibabacloud_rds20140815",
    "2015-04-01": "alibabacloud_sts20150401",
    "2014-05-15": "alibabacloud_slb20140515",
    "2020-06-16": "alibabacloud_alb20200616",
    "2022-04-30": "alibabacloud_nlb20220430",
    "2022-01-01": "alibabacloud_vpcpeer20220101",
    "2017-09-12": "alibabacloud_cbn20170912",
    "2019-01-01": "alibabacloud_cms20190101",
}

REQUIRED_SIGNED = ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]


def check_shape(version, action, body):
    """The body must survive the product SDK's response model unchanged."""
    mod = importlib.import_module(SDK_MODELS[version] + ".models")
    cls = getattr(mod, action + "ResponseBody")
    back = cls().from_map(json.loads(json.dumps(body))).to_map()
    # Every field served must survive the model (the model may add empty lists of its own).
    problem = diff(body, back)
    if problem:
        raise AssertionError(f"{action}: the answer is not shaped like the API reference: {problem}")


def diff(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                return f"{path}.{k} is not a field of the SDK model"
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


class Req:
    """What `Utils.get_authorization` reads."""

    def __init__(self, method, pathname, query, headers):
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


class State:
    def __init__(self, args):
        self.args = args
        self.estate = estates.build(args.estate, args.tweak)
        self.deny = set(args.deny)
        self.deny_regions = set(args.deny_region)
        self.throttle = dict(kv.split("=") for kv in args.throttle)
        self.fail5xx = dict(kv.split("=") for kv in args.fail5xx)
        self.counts = {}
        self.nonces = set()
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def note(self, entry):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self.log.flush()


def verify(state, method, path, query, headers, body):
    """None when the signature is valid, else (status, code, message)."""
    auth = headers.get("authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards (ACS3-HMAC-SHA256 expected)."
    fields = dict(p.split("=", 1) for p in auth[len("ACS3-HMAC-SHA256 "):].split(","))
    ak, signed = fields.get("Credential", ""), fields.get("SignedHeaders", "").split(";")
    for h in REQUIRED_SIGNED:
        if h not in signed or h not in headers:
            return 400, "IncompleteSignature", f"The header {h} must be present and signed."
    with KEYS_LOCK:
        known = KEYS.get(ak)
    if known is None:
        return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
    secret, token = known
    if token is not None:
        if headers.get("x-acs-security-token") != token or "x-acs-security-token" not in signed:
            return 400, "InvalidSecurityToken.Mismatch", "The security token does not match the AccessKey."
    elif "x-acs-security-token" in headers:
        return 400, "InvalidSecurityToken.MismatchWithAccessKey", "A security token was sent with a permanent AccessKey."
    payload = hashlib.sha256(body).hexdigest()
    if headers["x-acs-content-sha256"] != payload:
        return 400, "ContentSHA256NotMatch", "x-acs-content-sha256 is not the SHA-256 of the body."
    date = datetime.datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds()) > 900:
        return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
    with state.lock:
        nonce = headers["x-acs-signature-nonce"]
        if nonce in state.nonces:
            return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
        state.nonces.add(nonce)
    want = Utils.get_authorization(
        Req(method, path, query, {h: headers[h] for h in signed if h in headers}),
        "ACS3-HMAC-SHA256", payload, ak, secret,
    )
    if want != auth:
        return 400, "SignatureDoesNotMatch", "Specified signature does not match our calculation."
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def answer(self, status, body, request_id):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("x-acs-request-id", request_id)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message, request_id, host):
        self.answer(status, {"RequestId": request_id, "HostId": host, "Code": code, "Message": message,
                             "Recommend": "https://api.aliyun.com/troubleshoot?q=" + code}, request_id)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        st = self.state
        request_id = str(uuid.uuid4()).upper()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # OSS and SLS sign their own way (storage.py checks and answers them).
        if self.headers.get("Authorization", "").startswith(("OSS4-HMAC-SHA256 ", "LOG ")):
            with KEYS_LOCK:
                keys = dict(KEYS)
            return storage.handle(self, keys, st.estate, method, request_id, st.args.page_cap, st.args.storage_secret, st.deny)
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        action, version = headers.get("x-acs-action", ""), headers.get("x-acs-version", "")
        host = headers.get("host", "")
        entry = {"action": action, "version": version, "query": query, "path": parts.path,
                 "headers": sorted(headers), "raw_query": parts.query}
        bad = verify(st, method, parts.path or "/", query, headers, body)
        if bad:
            entry["rejected"] = bad[1]
            st.note(entry)
            return self.error(bad[0], bad[1], bad[2], request_id, host)
        with st.lock:
            n = st.counts[action] = st.counts.get(action, 0) + 1
        entry["n"] = n
        st.note(entry)
        if action in st.deny or ("all" in st.deny and action != "AssumeRole"):
            return self.error(403, "Forbidden.RAM", f"User not authorized to operate on the specified resource, or this API doesn't support RAM. ({action})", request_id, host)
        if query.get("RegionId") in st.deny_regions:
            return self.error(403, "Forbidden.RAM", f"User not authorized to operate on the specified resource: an explicit Deny applies to region {query['RegionId']}. ({action})", request_id, host)
        if n <= int(st.throttle.get(action, 0)):
            return self.error(400, "Throttling.User", "Request was denied due to user flow control.", request_id, host)
        if n <= int(st.fail5xx.get(action, 0)):
            return self.error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", request_id, host)
        if action == "AssumeRole":
            return self.assume_role(query, request_id, host)
        try:
            status, out = api.answer(st.estate, version, action, query, st.args.page_cap)
        except KeyError as e:
            return self.error(404, "InvalidAction.NotFound", f"Specified api is not found, please check your url and method. ({version} {action}: {e})", request_id, host)
        if status == 200:
            try:
                check_shape(version, action, dict(out, RequestId=request_id))
            except AssertionError as e:
                print(f"server.py: {e}", file=sys.stderr, flush=True)
                return self.error(500, "FixtureShape", str(e), request_id, host)
            out = dict(out, RequestId=request_id)
            return self.answer(200, out, request_id)
        return self.error(status, out["Code"], out["Message"], request_id, host)

    def assume_role(self, query, request_id, host):
        if not query.get("RoleArn", "").startswith("acs:ram::"):
            return self.error(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.", request_id, host)
        key_id = "STS.NK" + uuid.uuid4().hex[:20]
        secret, token = uuid.uuid4().hex, "CAIS" + uuid.uuid4().hex + uuid.uuid4().hex
        with KEYS_LOCK:
            KEYS[key_id] = (secret, token)
        expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = {
            "RequestId": request_id,
            "AssumedRoleUser": {"Arn": query["RoleArn"] + "/" + query.get("RoleSessionName", ""), "AssumedRoleId": "3442424:" + query.get("RoleSessionName", "")},
            "Credentials": {"AccessKeyId": key_id, "AccessKeySecret": secret, "SecurityToken": token, "Expiration": expiry},
        }
        check_shape("2015-04-01", "AssumeRole", out)
        self.answer(200, out, request_id)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--estate", default="clean", choices=sorted(estates.ESTATES))
    p.add_argument("--tweak", action="append", default=[])
    p.add_argument("--deny", action="append", default=[])
    p.add_argument("--deny-region", action="append", default=[])
    p.add_argument("--throttle", action="append", default=[], help="ACTION=N: the first N calls are throttled")
    p.add_argument("--fail5xx", action="append", default=[], help="ACTION=N: the first N calls get 503")
    p.add_argument("--page-cap", type=int, default=2)
    p.add_argument("--storage-secret", action="append", default=[],
                   help="AK=SECRET: OSS and SLS check AK's signatures against SECRET (storage.py)")
    p.add_argument("--log")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
