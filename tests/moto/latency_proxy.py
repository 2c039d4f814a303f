#!/usr/bin/env python3
"""A latency-injecting, throttling, counting HTTP proxy on 127.0.0.1, in front of moto (benchmarks).

    latency_proxy.py --port PORT --upstream http://127.0.0.1:MOTO_PORT [--delay-ms 50]
                     [--throttle-fraction F] [--throttle-rps R [--throttle-burst B]] [--seed N]
                     [--throttle-first OP=N,...] [--paginate] [--deny-region R] [--deny-op OP]

dengbao is pointed at it with `--endpoint-url http://127.0.0.1:PORT`. Every request waits --delay-ms
before it is forwarded (the round trip and service time of a real API, which moto does not have), and is
counted per service, region and operation (read from the SigV4 credential scope and the protocol).

Throttling, off by default, answers with the error the real service sends, by protocol, so the SDK's
adaptive retry is exercised:

    protocol                        HTTP  body
    EC2 query (ec2)                 503   <Response><Errors><Error><Code>RequestLimitExceeded</Code>…
    awsJson (X-Amz-Target: kms…)    400   {"__type":"ThrottlingException","message":"Rate exceeded"}
    Smithy RPC v2 CBOR (cloudwatch) 400   CBOR {"__type":"ThrottlingException","message":"Rate exceeded"}
    AWS query (iam, sts, rds, sns)  400   <ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>…
    S3 REST-XML                     503   <Error><Code>SlowDown</Code>…
    REST-JSON (guardduty)           429   {"__type":"TooManyRequestsException","message":"Rate exceeded"}

--throttle-fraction F throttles a pseudo-random fraction F of requests (deterministic with --seed);
--throttle-rps R throttles what exceeds R requests per second per service and region (token bucket of
--throttle-burst B, default R), the way AWS applies its request rate limits.
--throttle-first OP=N,... throttles the first N requests of each named operation (isolated throttles:
`GetCallerIdentity=2,DescribeSecurityGroups=3,DescribeSnapshotAttribute=3`).

--paginate pages the EC2 lists that moto 5.2.5 answers whole (it ignores MaxResults for security groups,
their rules, snapshots, volumes and most other Describe calls): the first request of a listing is
forwarded without MaxResults/NextToken, moto's whole answer is cut into pages of the requested
MaxResults, and each page is answered with a `<nextToken>` for the next, as EC2 does. Later pages are
served from the proxy's copy (after the same injected delay), so each page costs one round trip, as on
AWS, and a scan holds one page per call in memory, as it would against AWS.

--deny-region R answers every request signed for region R with the access-denied error the service
sends when a policy denies it (an organization's service control policy restricting regions, as many
tenants have); --deny-op OP does the same for every request of operation OP (e.g. DescribeRegions).

    protocol                        HTTP  body
    EC2 query (ec2)                 403   <Response><Errors><Error><Code>UnauthorizedOperation</Code>…
    awsJson (X-Amz-Target: logs…)   400   {"__type":"AccessDeniedException","message":"…"}
    AWS query (iam, sts, rds, sns)  403   <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>…
    S3 REST-XML and others          403   <Error><Code>AccessDenied</Code>… / {"__type":"AccessDeniedException"}

Control endpoints (never forwarded):

    GET  /__proxy/stats   counts as JSON: totals, peak requests in flight, first/last request times,
                          and per service/region/operation: requests, throttled, upstream seconds, bytes
    POST /__proxy/reset   zeroes the counts

Python standard library only. Listens on 127.0.0.1 and forwards to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import random
import re
import sys
import threading
import time
import urllib.parse
import uuid

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
S3_SUBRESOURCES = ("location", "replication", "encryption", "lifecycle", "publicAccessBlock", "versioning",
                   "policy", "acl", "logging", "tagging", "cors", "website", "notification", "ownershipControls")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.by: dict = {}
            self.requests = 0
            self.throttled = 0
            self.in_flight = 0
            self.peak_in_flight = 0
            self.first = None
            self.last = None

    def start(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            now = time.time()
            if self.first is None:
                self.first = now

    def done(self, key: tuple, throttled: bool, upstream: float, size: int) -> None:
        with self.lock:
            self.in_flight -= 1
            self.last = time.time()
            self.requests += 1
            self.throttled += throttled
            e = self.by.setdefault(key, [0, 0, 0.0, 0])
            e[0] += 1
            e[1] += throttled
            e[2] += upstream
            e[3] += size

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "peak_in_flight": self.peak_in_flight,
                "first_request": self.first,
                "last_request": self.last,
                "by": [
                    {"service": k[0], "region": k[1], "operation": k[2], "requests": v[0], "throttled": v[1],
                     "upstream_seconds": round(v[2], 4), "bytes": v[3]}
                    for k, v in sorted(self.by.items())
                ],
            }


class Buckets:
    """Token buckets per (service, region): take() is False when the request exceeds the rate."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(1.0, burst)
        self.state: dict = {}
        self.lock = threading.Lock()

    def take(self, key: tuple) -> bool:
        with self.lock:
            now = time.monotonic()
            tokens, at = self.state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            ok = tokens >= 1.0
            self.state[key] = (tokens - 1.0 if ok else tokens, now)
            return ok


class FirstN:
    """Throttles the first N requests of each named operation: take() is True while some are left."""

    def __init__(self, spec: str) -> None:
        self.left: dict = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            op, _, n = part.partition("=")
            self.left[op] = int(n)
        self.lock = threading.Lock()

    def take(self, op: str) -> bool:
        with self.lock:
            if self.left.get(op, 0) > 0:
                self.left[op] -= 1
                return True
            return False


def cbor_text(s: str) -> bytes:
    b = s.encode()
    n = len(b)
    head = bytes([0x60 | n]) if n < 24 else bytes([0x78, n]) if n < 256 else bytes([0x79]) + n.to_bytes(2, "big")
    return head + b


def throttle_response(service: str, headers, body: bytes) -> tuple[int, dict, bytes]:
    """The throttling error the real service would send for this request."""
    rid = str(uuid.uuid4())
    ctype = (headers.get("Content-Type") or "").lower()
    if service == "ec2":
        return 503, {"Content-Type": "text/xml;charset=UTF-8"}, (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
            f"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
    if service == "s3":
        return 503, {"Content-Type": "application/xml", "x-amz-request-id": rid}, (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
            f"<Message>Please reduce your request rate.</Message><RequestId>{rid}</RequestId></Error>").encode()
    if headers.get("X-Amz-Target"):
        return 400, {"Content-Type": ctype or "application/x-amz-json-1.1", "x-amzn-RequestId": rid,
                     "x-amzn-ErrorType": "ThrottlingException"}, json.dumps(
            {"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    if "cbor" in ctype or headers.get("smithy-protocol") == "rpc-v2-cbor":
        doc = b"\xa2" + cbor_text("__type") + cbor_text("ThrottlingException") + cbor_text("message") + cbor_text("Rate exceeded")
        return 400, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": rid,
                     "x-amzn-query-error": "Throttling;Sender"}, doc
    if b"Action=" in body or "x-www-form-urlencoded" in ctype:
        return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            f"</Error><RequestId>{rid}</RequestId></ErrorResponse>").encode()
    return 429, {"Content-Type": "application/json", "x-amzn-RequestId": rid,
                 "x-amzn-ErrorType": "TooManyRequestsException"}, json.dumps(
        {"__type": "TooManyRequestsException", "message": "Rate exceeded"}).encode()


def denied_response(service: str, region: str, op: str, headers, body: bytes) -> tuple[int, dict, bytes]:
    """The error the real service sends when an explicit deny in a service control policy applies."""
    rid = str(uuid.uuid4())
    ctype = (headers.get("Content-Type") or "").lower()
    why = (f"User: arn:aws:sts::123456789012:assumed-role/dengbao-audit/scan is not authorized to perform: "
           f"{service}:{op} in region {region} with an explicit deny in a service control policy")
    if service == "ec2":
        return 403, {"Content-Type": "text/xml;charset=UTF-8"}, (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
            f"<Message>You are not authorized to perform this operation. {why}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>").encode()
    if headers.get("X-Amz-Target"):
        return 400, {"Content-Type": ctype or "application/x-amz-json-1.1", "x-amzn-RequestId": rid,
                     "x-amzn-ErrorType": "AccessDeniedException"}, json.dumps(
            {"__type": "AccessDeniedException", "message": why}).encode()
    if service == "s3" or b"Action=" in body or "x-www-form-urlencoded" in ctype:
        if service == "s3":
            return 403, {"Content-Type": "application/xml", "x-amz-request-id": rid}, (
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                f"<Message>{why}</Message><RequestId>{rid}</RequestId></Error>").encode()
        return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{why}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>").encode()
    return 403, {"Content-Type": "application/json", "x-amzn-RequestId": rid,
                 "x-amzn-ErrorType": "AccessDeniedException"}, json.dumps(
        {"__type": "AccessDeniedException", "message": why}).encode()


def operation(service: str, method: str, path: str, headers, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[1]
    if body and b"Action=" in body:
        q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if q.get("Action"):
            return q["Action"][0]
    u = urllib.parse.urlsplit(path)
    if service == "s3":
        keys = [k.split("=", 1)[0] for k in u.query.split("&") if k]
        sub = next((k for k in keys if k in S3_SUBRESOURCES), None)
        if u.path in ("", "/"):
            return f"{method} /"
        return f"{method} /bucket" + (f"?{sub}" if sub else "")
    # REST-JSON: collapse ids, e.g. GET /detector/abc123 -> GET /detector/{id}
    parts = [p if re.fullmatch(r"[A-Za-z-]+", p) else "{id}" for p in u.path.split("/") if p]
    return f"{method} /" + "/".join(parts)


# EC2 Describe calls and the element holding their list (the answer's only `<item>` list at top level).
EC2_LISTS = {
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeSecurityGroupRules": "securityGroupRuleSet",
    "DescribeSnapshots": "snapshotSet",
    "DescribeVolumes": "volumeSet",
    "DescribeNetworkInterfaces": "networkInterfaceSet",
    "DescribeSubnets": "subnetSet",
    "DescribeVpcs": "vpcSet",
    "DescribeRouteTables": "routeTableSet",
    "DescribeNetworkAcls": "networkAclSet",
    "DescribeFlowLogs": "flowLogSet",
    "DescribeImages": "imagesSet",
    "DescribeInternetGateways": "internetGatewaySet",
    "DescribeVpcPeeringConnections": "vpcPeeringConnectionSet",
    "DescribeTransitGateways": "transitGatewaySet",
    "DescribeTransitGatewayAttachments": "transitGatewayAttachments",
}
ITEM_TAG = re.compile(rb"<(/?)item(/?)>")
NEXT_TOKEN = re.compile(rb"<nextToken>[^<]*</nextToken>|<nextToken/>")


def split_list(body: bytes, tag: str) -> tuple[bytes, list, bytes] | None:
    """(what comes before the items, the top-level <item> elements, what comes after) of the list
    element `tag`, or None when the answer has no such element (then it is passed on unchanged)."""
    open_t, close_t = f"<{tag}>".encode(), f"</{tag}>".encode()
    start = body.find(open_t)
    if start < 0:
        return None if body.find(f"<{tag}/>".encode()) < 0 else (body, [], b"")
    start += len(open_t)
    items, depth, item_start, pos = [], 0, None, start
    while True:
        m = ITEM_TAG.search(body, pos)
        end = body.find(close_t, pos)
        if end < 0:
            return None
        if m is None or (depth == 0 and m.start() > end):
            break
        closing, empty = m.group(1), m.group(2)
        if empty:
            if depth == 0:
                items.append(body[m.start():m.end()])
        elif closing:
            depth -= 1
            if depth == 0:
                items.append(body[item_start:m.end()])
        else:
            if depth == 0:
                item_start = m.start()
            depth += 1
        pos = m.end()
    return body[:start], items, body[end:]


class Pager:
    """Listings cut into pages, by the token that asks for their next page. A token stays valid (the
    SDK may retry a page), which is fine for a benchmark's lifetime."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listings: dict = {}

    def get(self, token: str):
        with self.lock:
            return self.listings.get(token)

    def page(self, parts: tuple, start: int, size: int) -> bytes:
        head, items, tail = parts
        end = start + max(1, size)
        tail = NEXT_TOKEN.sub(b"", tail)
        if end < len(items):
            token = uuid.uuid4().hex
            with self.lock:
                self.listings[token] = (parts, end)
            # After the list's closing tag, where EC2 puts it.
            close = tail.index(b">") + 1
            tail = tail[:close] + b"<nextToken>" + token.encode() + b"</nextToken>" + tail[close:]
        return head + b"".join(items[start:end]) + tail


def make_handler(args, stats: Stats, buckets: Buckets | None, rng: random.Random, first: FirstN | None = None):
    upstream = urllib.parse.urlsplit(args.upstream)
    pager = Pager()
    local = threading.local()
    rng_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "dengbao-latency-proxy"

        def log_message(self, *a) -> None:  # quiet
            pass

        def _send(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _control(self) -> bool:
            if not self.path.startswith("/__proxy/"):
                return False
            if self.path == "/__proxy/stats":
                snap = stats.snapshot()
                snap.update(delay_ms=args.delay_ms, throttle_fraction=args.throttle_fraction,
                            throttle_rps=args.throttle_rps, throttle_burst=args.throttle_burst or args.throttle_rps,
                            throttle_first=args.throttle_first,
                            paginate=args.paginate)
                self._send(200, {"Content-Type": "application/json"}, json.dumps(snap, indent=1).encode())
            elif self.path == "/__proxy/reset" and self.command == "POST":
                stats.reset()
                self._send(200, {"Content-Type": "application/json"}, b'{"status":"ok"}')
            else:
                self._send(404, {"Content-Type": "text/plain"}, b"unknown proxy endpoint\n")
            return True

        def _upstream(self) -> http.client.HTTPConnection:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=600)
                local.conn = conn
            return conn

        def _page_request(self, body: bytes) -> tuple[bytes, tuple | None, int | None]:
            """For a paged EC2 list: (the body to forward, the listing a NextToken of ours continues,
            the page size); the body unchanged and no page size for anything else."""
            q = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            params = dict(q)
            if params.get("Action") not in EC2_LISTS or "MaxResults" not in params:
                return body, None, None
            size = int(params["MaxResults"])
            token = params.get("NextToken")
            if token:
                listing = pager.get(token)
                return body, listing, (size if listing is not None else None)
            rest = [(k, v) for k, v in q if k not in ("MaxResults", "NextToken")]
            return urllib.parse.urlencode(rest).encode(), None, size

        def _forward(self, body: bytes) -> tuple[int, dict, bytes, float]:
            fwd = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            t = time.monotonic()
            for attempt in range(2):  # a kept-alive upstream connection may have been closed
                conn = self._upstream()
                try:
                    conn.request(self.command, self.path, body=body or None, headers=fwd)
                    resp = conn.getresponse()
                    out = resp.read()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    local.conn = None
                    if attempt:
                        raise
            upstream_s = time.monotonic() - t
            headers = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            if resp.will_close:
                conn.close()
                local.conn = None
            return resp.status, headers, out, upstream_s

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self._control():
                return
            m = SCOPE.search(self.headers.get("Authorization") or "")
            service, region = (m.group(2), m.group(1)) if m else ("unsigned", "-")
            key = (service, region, operation(service, self.command, self.path, self.headers, body))
            stats.start()
            throttled, upstream_s, size = False, 0.0, 0
            try:
                if args.delay_ms:
                    time.sleep(args.delay_ms / 1000.0)
                if args.throttle_fraction:
                    with rng_lock:
                        throttled = rng.random() < args.throttle_fraction
                if not throttled and first is not None:
                    throttled = first.take(key[2])
                if not throttled and buckets is not None:
                    throttled = not buckets.take(key[:2])
                listing = page_size = None
                if region == args.deny_region or key[2] == args.deny_op:
                    status, headers, out = denied_response(service, region, key[2], self.headers, body)
                elif throttled:
                    status, headers, out = throttle_response(service, self.headers, body)
                else:
                    fwd_body = body
                    if args.paginate and service == "ec2":
                        fwd_body, listing, page_size = self._page_request(body)
                    if listing is not None:
                        status, headers, out = 200, {"Content-Type": "text/xml;charset=UTF-8"}, pager.page(
                            listing[0], listing[1], page_size)
                    else:
                        status, headers, out, upstream_s = self._forward(fwd_body)
                        tag = page_size and EC2_LISTS.get(key[2])
                        parts = split_list(out, tag) if tag and status == 200 else None
                        if parts is not None:
                            out = pager.page(parts, 0, page_size)
                size = len(out)
                self._send(status, headers, out)
            finally:
                stats.done(key, throttled, upstream_s, size)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _proxy

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help=f"http://{HOST}:PORT of moto")
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--throttle-fraction", type=float, default=0.0)
    ap.add_argument("--throttle-rps", type=float, default=0.0)
    ap.add_argument("--throttle-burst", type=float, default=0.0)
    ap.add_argument("--throttle-first", default="", help="OP=N,...: throttle the first N requests of OP")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--paginate", action="store_true", help="page the EC2 lists moto answers whole")
    ap.add_argument("--deny-region", default="", help="deny every request signed for this region")
    ap.add_argument("--deny-op", default="", help="deny every request of this operation")
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.upstream)
    if u.scheme != "http" or u.hostname != HOST or not u.port:
        ap.error(f"--upstream must be http://{HOST}:PORT")
    stats = Stats()
    buckets = Buckets(args.throttle_rps, args.throttle_burst or args.throttle_rps) if args.throttle_rps > 0 else None
    server = http.server.ThreadingHTTPServer((HOST, args.port), make_handler(
        args, stats, buckets, random.Random(args.seed), FirstN(args.throttle_first) if args.throttle_first else None))
    server.daemon_threads = True
    server.request_queue_size = 256
    print(f"latency_proxy: http://{HOST}:{args.port} -> {args.upstream}, delay {args.delay_ms} ms, "
          f"throttle fraction {args.throttle_fraction}, throttle rps {args.throttle_rps or 'off'}, "
          f"paginate {args.paginate}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
