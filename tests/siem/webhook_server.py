#!/usr/bin/env python3
"""A webhook receiver for the tests: checks dengbao's HMAC-SHA256 signature, then stores the events.

    WEBHOOK_SECRET=... python3 webhook_server.py --out events.jsonl [--busy N] [--reject-uid UID] [--hang N]

* The signature header `X-Dengbao-Signature-256: sha256=<hex>` must be HMAC-SHA256 of the exact body
  with the secret (compared with hmac.compare_digest); otherwise 401 and nothing is stored.
* The body must be {"events": [...]}; otherwise 400.
* --busy N: the first N requests get 429 (odd) / 503 (even) with `Retry-After: 1`.
* --reject-uid UID: a batch holding an event with finding_info.uid UID gets 400 (which event is not
  said: the sender must find it).
* --hang N: the first N requests are stored, then answered only after 60 s (to kill the sender
  while it waits).

Every accepted (or hung) event is appended to --out as {"delivery": id, "event": event}; every
request is appended to --out + ".requests" as {"status", "events", "delivery"}.
The first line on stdout is the port (127.0.0.1, ephemeral).
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--busy", type=int, default=0)
    p.add_argument("--hang", type=int, default=0)
    p.add_argument("--reject-uid", action="append", default=[])
    args = p.parse_args()
    secret = os.environ["WEBHOOK_SECRET"].encode()
    lock = threading.Lock()
    state = {"busy": args.busy, "hang": args.hang, "n": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def note(self, status, events):
            with lock, open(args.out + ".requests", "a") as f:
                f.write(json.dumps({"status": status, "events": len(events),
                                    "delivery": self.headers.get("X-Dengbao-Delivery")}) + "\n")

        def store(self, events):
            with lock, open(args.out, "a", encoding="utf-8") as f:
                for e in events:
                    f.write(json.dumps({"delivery": self.headers.get("X-Dengbao-Delivery"), "event": e}, ensure_ascii=False) + "\n")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Dengbao-Signature-256", "")
            if not hmac.compare_digest(want, got):
                self.note(401, [])
                return self.reply(401, {"error": "bad signature"})
            try:
                events = json.loads(body)["events"]
                assert isinstance(events, list)
            except Exception:
                self.note(400, [])
                return self.reply(400, {"error": "expected {\"events\": [...]}"})
            with lock:
                state["n"] += 1
                n = state["n"]
                busy = state["busy"] > 0
                state["busy"] -= int(busy)
                hang = state["hang"] > 0
                state["hang"] -= int(hang)
            if busy:
                self.note(429 if n % 2 else 503, events)
                return self.reply(429 if n % 2 else 503, {"error": "busy"}, {"Retry-After": "1"})
            if any((e.get("finding_info") or {}).get("uid") in args.reject_uid for e in events):
                self.note(400, events)
                return self.reply(400, {"error": "an event of this batch is refused"})
            self.store(events)
            if hang:
                self.note(0, events)
                time.sleep(60)
            self.note(200, events)
            return self.reply(200, {"accepted": len(events)})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
