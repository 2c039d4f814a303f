#!/usr/bin/env python3
"""A local Splunk HTTP Event Collector, written from Splunk's published HEC reference, for the tests.

    python3 hec_server.py --out events.jsonl --token TOKEN [--ack] [--busy N] [--reject-uid UID] ...
    python3 hec_server.py --selftest hec_examples.json

What it implements (Splunk docs: "Format events for HTTP Event Collector", "HTTP Event Collector
examples", "About HTTP Event Collector Indexer Acknowledgment", "Troubleshoot HTTP Event Collector"):

* POST /services/collector, /services/collector/event and /services/collector/event/1.0: a body of
  whitespace-separated JSON event objects with `event` (required, not blank) and optional `time`,
  `host`, `source`, `sourcetype`, `index`, `fields`.
* Authorization: `Authorization: Splunk <token>` (or HTTP Basic with the token as password).
* Channels: `X-Splunk-Request-Channel` header or `?channel=`; required (a GUID) when the token has
  indexer acknowledgement; acknowledgement ids are per channel, from 0.
* POST /services/collector/ack?channel=…  {"acks": [0, 1]} -> {"acks": {"0": true, "1": false}};
  an id answered true is forgotten (asked again, false).
* GET /services/collector/health -> code 17.
* Answers `{"text": ..., "code": N}` with the documented codes and HTTP statuses (CODES below);
  for a bad event in a batch, `invalid-event-number` is its 0-based index, and nothing of the batch
  is indexed.
* Faults for the tests: --busy N answers the first N event requests 503 "Server is busy" (code 9)
  with `Retry-After: 1`; --reject-uid UID treats an event whose finding_info.uid is UID as invalid
  data (code 6); --ack-never never acknowledges.

Every indexed event is appended to --out as one JSON line {"channel", "ack_id", "event": envelope}.
The first line on stdout is the port it listens on (127.0.0.1, an ephemeral port unless --port);
with --tls-cert/--tls-key it speaks HTTPS.
"""
import argparse
import base64
import json
import re
import ssl
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# code: (HTTP status, text) — Splunk's table of HEC status codes.
CODES = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EVENT_PATHS = ("/services/collector", "/services/collector/event", "/services/collector/event/1.0")


class Hec:
    def __init__(self, args):
        self.args = args
        self.tokens = {t: "enabled" for t in args.token} | {t: "disabled" for t in args.disabled_token}
        self.lock = threading.Lock()
        self.channels = {}  # channel -> {"next": int, "pending": set()}
        self.busy_left = args.busy
        self.requests = 0

    def parse_events(self, body):
        """The events of a body, or (code, index) of the first bad one."""
        dec = json.JSONDecoder()
        text = body.decode("utf-8", errors="replace")
        pos, events = 0, []
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = dec.raw_decode(text, pos)
            except json.JSONDecodeError:
                return None, (6, len(events))
            if not isinstance(obj, dict):
                return None, (6, len(events))
            if "event" not in obj:
                return None, (12, len(events))
            if obj["event"] in ("", None, {}):
                return None, (13, len(events))
            if "fields" in obj and not isinstance(obj["fields"], dict):
                return None, (15, len(events))
            uid = ((obj.get("event") or {}).get("finding_info") or {}).get("uid") if isinstance(obj["event"], dict) else None
            if uid is not None and uid in self.args.reject_uid:
                return None, (6, len(events))
            if self.args.indexes and obj.get("index", self.args.indexes[0]) not in self.args.indexes:
                return None, (7, len(events))
            events.append(obj)
        if not events:
            return None, (5, None)
        return events, None


def make_handler(hec):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            if hec.args.verbose:
                sys.stderr.write("hec: " + fmt % a + "\n")

        def answer(self, code, extra=None, headers=None):
            status, text = CODES[code]
            body = {"text": text, "code": code} | (extra or {})
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def token(self):
            auth = self.headers.get("Authorization")
            if auth is None:
                return None, 2
            scheme, _, value = auth.partition(" ")
            if scheme == "Splunk":
                token = value.strip()
            elif scheme == "Basic":
                try:
                    token = base64.b64decode(value).decode().partition(":")[2]
                except Exception:
                    return None, 3
            else:
                return None, 3
            state = hec.tokens.get(token)
            if state is None:
                return None, 4
            if state == "disabled":
                return None, 1
            return token, None

        def channel(self, query):
            return self.headers.get("X-Splunk-Request-Channel") or (query.get("channel") or [None])[0]

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/services/collector/health":
                return self.answer(17)
            self.send_error(404)

        def do_POST(self):
            url = urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            query = parse_qs(url.query)
            token, err = self.token()
            if err is not None:
                return self.answer(err)
            channel = self.channel(query)
            if channel is not None and not GUID.match(channel):
                return self.answer(11)
            if url.path == "/services/collector/ack":
                return self.ack(channel, body)
            if url.path not in EVENT_PATHS:
                return self.send_error(404)
            if hec.args.ack and channel is None:
                return self.answer(10)
            with hec.lock:
                hec.requests += 1
                if hec.busy_left > 0:
                    hec.busy_left -= 1
                    return self.answer(9, headers={"Retry-After": "1"})
            events, bad = hec.parse_events(body)
            if bad is not None:
                code, index = bad
                return self.answer(code, {} if index is None else {"invalid-event-number": index})
            with hec.lock:
                ack_id = None
                if hec.args.ack:
                    ch = hec.channels.setdefault(channel, {"next": 0, "pending": set()})
                    ack_id = ch["next"]
                    ch["next"] += 1
                    ch["pending"].add(ack_id)
                with open(hec.args.out, "a", encoding="utf-8") as f:
                    for e in events:
                        f.write(json.dumps({"channel": channel, "ack_id": ack_id, "event": e}, ensure_ascii=False) + "\n")
            return self.answer(0, {} if ack_id is None else {"ackId": ack_id})

        def ack(self, channel, body):
            if not hec.args.ack:
                return self.answer(14)
            if channel is None:
                return self.answer(10)
            try:
                asked = json.loads(body)["acks"]
                assert isinstance(asked, list)
            except Exception:
                return self.answer(6)
            with hec.lock:
                ch = hec.channels.get(channel, {"pending": set()})
                out = {}
                for i in asked:
                    done = i in ch["pending"] and not hec.args.ack_never
                    if done:
                        ch["pending"].discard(i)
                    out[str(i)] = done
            data = json.dumps({"acks": out}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def selftest(path):
    """Replays Splunk's documented examples (hec_examples.json) against a server of their own."""
    fixtures = json.loads(open(path, encoding="utf-8").read())
    problems = 0
    for case in fixtures["cases"]:
        args = parse_args(["--out", "/dev/null", "--port", "0"] + case.get("server", []))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Hec(args)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        for step in case["steps"]:
            url = f"http://127.0.0.1:{httpd.server_address[1]}{step['path']}"
            data = step["body"].encode() if "body" in step else None
            req = urllib.request.Request(url, data=data, headers=step.get("headers", {}), method=step.get("method", "POST"))
            try:
                with urllib.request.urlopen(req) as r:
                    status, got = r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                status, got = e.code, json.loads(e.read())
            want = step["response"]
            if status != step["status"] or got != want:
                problems += 1
                print(f"hec selftest: {case['name']}: {step['path']}: got {status} {got}, documented {step['status']} {want}", file=sys.stderr)
        httpd.shutdown()
    print(f"hec selftest: {len(fixtures['cases'])} documented example(s), {problems} problem(s)")
    return 1 if problems else 0


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", action="append", default=[])
    p.add_argument("--disabled-token", action="append", default=[])
    p.add_argument("--ack", action="store_true", help="the tokens require indexer acknowledgement")
    p.add_argument("--ack-never", action="store_true")
    p.add_argument("--busy", type=int, default=0)
    p.add_argument("--reject-uid", action="append", default=[])
    p.add_argument("--indexes", action="append", default=[])
    p.add_argument("--selftest")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) and --tls-key")
    p.add_argument("--tls-key")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def main():
    args = parse_args(sys.argv[1:])
    if args.selftest:
        return selftest(args.selftest)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Hec(args)))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
