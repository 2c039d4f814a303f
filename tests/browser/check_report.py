#!/usr/bin/env python3
"""Drives report.html in headless Chromium and checks what a reader sees. Standard library only.

    python3 check_report.py --chromium PATH --html report.html --results results.json \
        --artifacts DIR [--xss-html xss.html]

Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: NUL-terminated
JSON on file descriptors 3 and 4), so no port is opened and nothing but file:// URLs is loaded. The
script:

1. loads the page and checks the Chinese default, the counts per verdict and the 46 items, with no
   script error, no Content-Security-Policy violation and no request other than file:// and data:;
2. clicks the language toggle and checks the English texts are shown and the Chinese ones hidden;
3. filters to 不符合 and checks only the non-compliant items remain;
4. clicks the first item open and checks the requirement, test method, criteria, reasons, failing
   resources and evidence links are shown; follows an evidence link and checks the raw body opens;
5. saves screenshots (report.png, report-zh.png) and a PDF (report.pdf) in the artifact directory, and
   checks the print stylesheet hides the controls and shows the expanded items;
6. with --xss-html, loads a report rendered from hostile evidence and checks nothing ran.

Exits 1 with a message on the first failed check.
"""
import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe",
]


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Browser:
    """A headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, chromium, workdir):
        self.profile = tempfile.mkdtemp(prefix="dengbao-chromium-", dir=workdir)
        to_chrome_r, self._to_chrome_w = os.pipe()
        self._from_chrome_r, from_chrome_w = os.pipe()

        def child_fds():
            # Chromium reads commands on fd 3 and writes answers on fd 4.
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = open(os.path.join(workdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def _recv(self, timeout=30):
        deadline = time.time() + timeout
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise Fail("Chromium did not answer in time")
            chunk = os.read(self._from_chrome_r, 1 << 20)
            if not chunk:
                raise Fail("Chromium closed the DevTools pipe (see chromium.log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._recv()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def js(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Fail(f"script error in check: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, path):
        self.events.clear()
        self.call("Page.navigate", {"url": "file://" + os.path.abspath(path)})
        for _ in range(100):
            if self.js("document.readyState === 'complete' && document.documentElement.dataset.ready === '1'"):
                return
            time.sleep(0.1)
        raise Fail(f"{path} did not finish loading (data-ready never set: did the script run?)")

    def click(self, selector):
        """A real mouse click in the middle of the first element matching selector."""
        box = self.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            if (!el) return null; el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2, r.width, r.height]; }})()""")
        check(box is not None, f"nothing matches {selector}")
        check(box[2] > 0 and box[3] > 0, f"{selector} is not visible")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
        time.sleep(0.1)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self):
        """Script errors, console errors (CSP violations among them) and non-local requests so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("console: " + p["entry"].get("text", "")[:300])
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: " + json.dumps(p.get("args"))[:300])
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not (url.startswith("file://") or url.startswith("data:") or url == "about:blank"):
                    out.append("request: " + url)
        return out

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Fail:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def visible_text(b, selector):
    return b.js(f"(() => {{ const el = document.querySelector({json.dumps(selector)}); return el ? el.innerText : null; }})()")


def run(args):
    results = json.load(open(args.results, encoding="utf-8"))
    summary = results["summary"]
    os.makedirs(args.artifacts, exist_ok=True)
    b = Browser(args.chromium, args.artifacts)
    try:
        b.open(args.html)
        # 1. Default view: Chinese, every item, the counts.
        check(b.js("document.documentElement.dataset.lang") == "zh", "Chinese is not the default language")
        h1 = visible_text(b, "h1")
        check("等级保护测评报告" in h1 and "assessment report" not in h1, f"h1 shows {h1!r}")
        shown = b.js("document.querySelectorAll('tbody.item:not([hidden])').length")
        check(shown == len(results["controls"]) == summary["total"], f"{shown} items shown, results have {summary['total']}")
        for v in ("compliant", "partially_compliant", "non_compliant", "not_applicable", "manual", "error"):
            n = b.js(f"document.querySelector('.card[data-verdict={v}] .n').textContent")
            check(int(n) == summary[v], f"card {v} shows {n}, results say {summary[v]}")
        check(b.js("document.querySelectorAll('svg.bar').length") > 0, "no chart")
        b.screenshot(os.path.join(args.artifacts, "report-zh.png"))

        # 2. English.
        b.click("#lang-toggle")
        check(b.js("document.documentElement.dataset.lang") == "en", "the toggle did not switch to English")
        check(b.js("document.documentElement.lang") == "en", "lang attribute not switched")
        h1 = visible_text(b, "h1")
        check("MLPS 2.0 assessment report" in h1 and "等级保护" not in h1, f"h1 shows {h1!r} in English mode")
        check(visible_text(b, "#lang-toggle") == "中文", "toggle label not switched")

        # 3. Filter to 不符合.
        b.js("""(() => { const s = document.getElementById('f-verdict');
            s.value = [...s.options].find(o => o.dataset.zh === '不符合').value;
            s.dispatchEvent(new Event('change', {bubbles: true})); })()""")
        verdicts = b.js("[...document.querySelectorAll('tbody.item:not([hidden])')].map(t => t.dataset.verdict)")
        check(len(verdicts) == summary["non_compliant"] and set(verdicts) == {"non_compliant"},
              f"filter 不符合 shows {verdicts}")
        check(visible_text(b, "#count") == f"Showing {len(verdicts)} of {summary['total']}", "count line wrong")

        # 4. Expand the first non-compliant item and read it.
        first = b.js("document.querySelector('tbody.item:not([hidden])').dataset.id")
        control = next(c for c in results["controls"] if c["id"] == first)
        b.click(f"tbody.item[data-id='{first}'] button.toggle")
        check(b.js(f"!document.getElementById('d-{first}').hidden"), "the item did not expand")
        text = visible_text(b, f"#d-{first}")
        for needle in ["Requirement", control["requirement_en"], "Test method", "Criteria", "Reasons",
                       control["reasons"][0]["en"], "Rules and evidence", "sha256:"]:
            check(needle in text, f"expanded {first} does not show {needle!r}")
        check(control["requirement"] not in text, "Chinese requirement shown in English mode")
        failing = {r["id"] for rule in control["rules"] for r in rule["resources"] if r["status"] == "fail"}
        check(failing, f"{first} has no failing resource in the results")
        for rid in failing:
            check(rid in text, f"failing resource {rid} not shown")
        b.screenshot(os.path.join(args.artifacts, "report.png"))

        # Follow the first evidence link into the appendix.
        href = b.js(f"document.querySelector('#d-{first} a.ev-link').getAttribute('href')")
        b.click(f"#d-{first} a.ev-link")
        time.sleep(0.2)
        check(b.js(f"document.querySelector('{href}').open"), f"evidence {href} did not open")
        ev_text = visible_text(b, href)
        probes = {p for rule in control["rules"] for p in rule["evidence_probes"]}
        check(any(p in ev_text for p in probes), f"evidence {href} names none of the probes {sorted(probes)}")
        if not args.no_pack:
            check(len(b.js(f"document.querySelector('{href} pre.body').innerText").strip()) > 0, "empty body")

        # 5. Print: no controls, every shown item expanded.
        b.call("Emulation.setEmulatedMedia", {"media": "print"})
        check(b.js("getComputedStyle(document.querySelector('.toolbar')).display") == "none", "toolbar printed")
        check(b.js("getComputedStyle(document.getElementById('lang-toggle')).display") == "none", "toggle printed")
        hidden_details = b.js("""[...document.querySelectorAll('tbody.item:not([hidden]) tr.detail')]
            .filter(d => getComputedStyle(d).display === 'none').length""")
        check(hidden_details == 0, f"{hidden_details} shown items print collapsed")
        pdf = b.call("Page.printToPDF", {"printBackground": True, "landscape": True})["data"]
        with open(os.path.join(args.artifacts, "report.pdf"), "wb") as f:
            f.write(base64.b64decode(pdf))
        b.call("Emulation.setEmulatedMedia", {"media": ""})

        problems = b.problems()
        check(not problems, "page problems: " + "; ".join(problems))

        # 6. Hostile evidence.
        if args.xss_html:
            b.open(args.xss_html)
            b.click("#expand-all")
            check(b.js("typeof window.__dengbao_xss") == "undefined", "injected script ran")
            check(b.js("document.scripts.length") == 1, "extra <script> element in the page")
            check(b.js("document.querySelectorAll('[onerror],[onload],[onclick],iframe,object,embed').length") == 0,
                  "injected element or handler in the page")
            check(b.js("document.body.innerText.includes('<script>')"), "hostile text is not shown as text")
            problems = b.problems()
            check(not problems, "hostile page problems: " + "; ".join(problems))
    finally:
        b.close()
    print(f"browser: ok — {summary['total']} items, language toggle, filter 不符合 ({summary['non_compliant']}), "
          f"expanded {first}, evidence {href}; artifacts in {args.artifacts}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chromium", required=True)
    p.add_argument("--html", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--artifacts", required=True)
    p.add_argument("--xss-html")
    p.add_argument("--no-pack", action="store_true", help="the report was rendered without the pack")
    args = p.parse_args()
    try:
        run(args)
    except Fail as e:
        print(f"browser: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
