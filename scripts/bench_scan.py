#!/usr/bin/env python3
"""One benchmark run of `dengbao scan` through the latency proxy, and its critical-path bound.

    bench_scan.py --bin target/release/dengbao --endpoint http://127.0.0.1:PROXY --out DIR \
                  --seed-summary seed.json --delay-ms 50 --concurrency 32 --rate 20 --results FILE.json [--label NAME]
    bench_scan.py --table FILE.json            # prints the runs of a results file side by side

Called by scripts/bench.sh once per estate size. It resets the proxy's counts, runs the scan (wall time
and peak RSS from wait4), reads the proxy's counts and the pack manifest, runs `dengbao evaluate` on the
pack (time and peak RSS of evaluation alone), computes the critical-path bound and appends the run to
--results (a JSON document: machine, then runs).

The bound is a lower bound on the collection time of this pack by this scheduler, from:

* L, the per-call latency: the injected delay (`bound_injected`), or the delay plus moto's mean
  service time for that operation (`bound_observed`, since moto is not instant: rendering 10,000
  snapshots takes it seconds, minutes while it renders other large lists; a mean measured under that
  contention can make `bound_observed` exceed what a scan achieves, so it is an estimate, not a bound);
* the probe tree (probes/aws/*.toml): GetCallerIdentity goes first; a probe's pages are sequential; a
  fan-out probe starts when its source's pages are done (depth = source depth + own pages x L);
* the token bucket of each service and region (--rate r per second, burst max(r, 1), EC2's documented 100
  scaled by r/20 when r < 20; behind the proxy's --throttle-rps R, the smaller of r and R and of the two
  bursts): the n calls of a (service, region) group that can only start at t0 need at least
  t0 + (n - burst)/r + L;
* the semaphore (--concurrency c): every call holds a permit for at least L, so the scan needs at least
  L(sts) + sum(L) / c.

The bound is the largest of these; `binding` names the constraint that set it. The collection time is the
manifest's started_at..finished_at (the scan without evaluation); `ratio` = collection time / bound.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections import defaultdict

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Probe-manifest service -> SigV4 signing name (what the proxy counts by).
SIGNING = {"cloudwatch": "monitoring"}


def http(url: str, method: str = "GET") -> bytes:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with OPENER.open(req, timeout=30) as r:
        return r.read()


def run(cmd: list, env: dict, log_path: str) -> dict:
    """Runs cmd; wall seconds, exit status and peak RSS (MiB) of that process alone (from wait4), and
    RSS samples every 0.2 s (wall-clock time, MiB) to tell which phase the peak was in."""
    t = time.monotonic()
    samples = []
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            path = f"/proc/{p.pid}/status"
            while not done.wait(0.2):
                try:
                    with open(path) as f:
                        kb = next((int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")), None)
                except (OSError, ValueError, StopIteration):
                    continue
                if kb is not None:
                    samples.append((time.time(), round(kb / 1024, 1)))

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(p.pid, 0)
        done.set()
        th.join()
    wall = time.monotonic() - t
    return {"seconds": round(wall, 3), "exit": os.waitstatus_to_exitcode(status),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "rss_samples": samples}


def phase_peaks(samples: list, collection_end: float) -> dict:
    """Largest sampled RSS while collecting and after (evaluating and writing results)."""
    before = [m for t, m in samples if t <= collection_end]
    after = [m for t, m in samples if t > collection_end]
    return {"collecting_mib": max(before, default=None), "evaluating_mib": max(after, default=None)}


def dir_size(path: str) -> tuple[int, int]:
    total = files = 0
    for root, _, names in os.walk(path):
        for n in names:
            total += os.path.getsize(os.path.join(root, n))
            files += 1
    return total, files


def probe_specs(repo: str) -> dict:
    specs = {}
    d = os.path.join(repo, "probes", "aws")
    for name in sorted(os.listdir(d)):
        if name.endswith(".toml"):
            with open(os.path.join(d, name), "rb") as f:
                doc = tomllib.load(f)
            for p in doc.get("probe", []):
                p["service"] = doc["service"]
                specs[p["id"]] = p
    return specs


def ts(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def bound(manifest: dict, specs: dict, proxy: dict, delay: float, conc: int, rate: float, observed: bool) -> dict:
    ours = rate
    proxy_rps, proxy_burst = proxy.get("throttle_rps") or 0.0, proxy.get("throttle_burst") or 0.0
    if proxy_rps > 0:
        rate = min(rate, proxy_rps)

    def burst_of(svc: str) -> float:
        b = 100.0 * min(1.0, ours / 20.0) if svc == "ec2" else max(ours, 1.0)
        if proxy_rps > 0:
            b = min(b, proxy_burst or proxy_rps)
        return max(b, 1.0)
    # Moto's mean service time per (signing service, region, operation) and per (service, region).
    up_op, up_grp = {}, defaultdict(lambda: [0.0, 0])
    for e in proxy.get("by", []):
        if e["requests"] - e["throttled"] > 0:
            m = e["upstream_seconds"] / (e["requests"] - e["throttled"])
            up_op[(e["service"], e["region"], e["operation"])] = m
            g = up_grp[(e["service"], e["region"])]
            g[0] += e["upstream_seconds"]
            g[1] += e["requests"] - e["throttled"]

    def lat(service: str, region: str, op: str) -> float:
        if not observed:
            return delay
        s = SIGNING.get(service, service)
        if (s, region, op) in up_op:
            return delay + up_op[(s, region, op)]
        g = up_grp.get((s, region))
        return delay + (g[0] / g[1] if g and g[1] else 0.0)

    calls = defaultdict(list)  # (probe, region) -> [records]
    for r in manifest["records"]:
        calls[(r["probe"], r["region"])].append(r)
    sts_l = lat("sts", manifest["scan"]["regions"][0] if manifest["scan"]["regions"] else "-", "GetCallerIdentity")

    depth_cache: dict = {}

    def chain(probe: str, region: str) -> float:
        """Sequential pages of one chain: all pages of a root probe; the longest key of a fan-out."""
        recs = calls.get((probe, region), [])
        if not recs:
            return 0.0
        spec = specs.get(probe, {})
        op_l = lat(spec.get("service", ""), region, recs[0]["operation"])
        fan = spec.get("fan_out")
        if not fan:
            return len(recs) * op_l
        per_key = defaultdict(int)
        for r in recs:
            per_key[json.dumps(r["parameters"].get(fan["param"]))] += 1
        return max(per_key.values()) * op_l

    def depth(probe: str, region: str) -> float:
        """Earliest end of probe's chain in region."""
        k = (probe, region)
        if k in depth_cache:
            return depth_cache[k]
        depth_cache[k] = 0.0
        depth_cache[k] = start(probe, region) + chain(probe, region)
        return depth_cache[k]

    def start(probe: str, region: str) -> float:
        fan = specs.get(probe, {}).get("fan_out")
        if probe == "aws.sts.get_caller_identity":
            return 0.0
        if not fan:
            return sts_l
        src = fan["from"]
        regions = [r for (p, r) in calls if p == src]
        if region in regions:
            return depth(src, region)
        return max((depth(src, r) for r in regions), default=sts_l)

    constraints = []
    total = 0.0
    groups = defaultdict(list)  # (service, region) -> [(probe, n, start)]
    for (probe, region), recs in calls.items():
        spec = specs.get(probe, {})
        svc = spec.get("service", recs[0]["service"])
        op_l = lat(svc, region, recs[0]["operation"])
        total += len(recs) * op_l
        s = start(probe, region)
        groups[(svc, region)].append((probe, len(recs), s, op_l))
        constraints.append((depth(probe, region), f"pages of {probe} in {region} ({len(recs)} call(s), chain)"))
        constraints.append((s + max(0.0, len(recs) - burst_of(svc)) / rate + op_l,
                            f"rate: {len(recs)} {probe} call(s) in {region} at {rate:g}/s after its source"))
    per_group = {}
    for (svc, region), items in sorted(groups.items()):
        n = sum(x[1] for x in items)
        t0 = min(x[2] for x in items)
        t = t0 + max(0.0, n - burst_of(svc)) / rate + min(x[3] for x in items)
        per_group[f"{svc}/{region}"] = {"calls": n, "pages": {p: c for p, c, _, _ in items}, "bound_seconds": round(t, 3)}
        constraints.append((t, f"rate: {n} {svc} call(s) in {region} at {rate:g}/s"))
    constraints.append((sts_l + total / conc, f"concurrency: {len(manifest['records'])} call(s) x latency / {conc}"))
    best = max(constraints, key=lambda c: c[0])
    return {"seconds": round(best[0], 3), "binding": best[1], "groups": per_group,
            "concurrency_seconds": round(sts_l + total / conc, 3)}


def machine() -> dict:
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem, "os": platform.platform(),
            "rustc": out(["rustc", "--version"]), "git": out(["git", "rev-parse", "--short", "HEAD"]),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def table(path: str) -> None:
    with open(path) as f:
        doc = json.load(f)
    rows = [
        ("estate", lambda r: r["label"]),
        ("security groups", lambda r: f"{r['estate'].get('security_groups', 0):,}"),
        ("sg rules", lambda r: f"{r['estate'].get('security_group_rules', 0):,}"),
        ("snapshots", lambda r: f"{r['estate'].get('snapshots', 0):,}"),
        ("instances", lambda r: f"{r['estate'].get('instances', 0):,}"),
        ("buckets", lambda r: f"{r['estate'].get('buckets', 0):,}"),
        ("records", lambda r: f"{r['records']:,}"),
        ("API requests (proxy)", lambda r: f"{r['api_requests']:,}"),
        ("throttled (proxy)", lambda r: f"{r['throttled']:,}"),
        ("retries (dengbao)", lambda r: f"{r.get('retries', 0):,}"),
        ("scan wall s", lambda r: f"{r['scan']['seconds']:.1f}"),
        ("collection s", lambda r: f"{r['collection_seconds']:.1f}"),
        ("calls/s", lambda r: f"{r['calls_per_second']:.1f}"),
        ("bound (injected) s", lambda r: f"{r['bound_injected']['seconds']:.1f}"),
        ("ratio (injected)", lambda r: f"{r['ratio_injected']:.2f}"),
        ("bound (observed) s", lambda r: f"{r['bound_observed']['seconds']:.1f}"),
        ("ratio (observed)", lambda r: f"{r['ratio_observed']:.2f}"),
        ("scan peak RSS MiB", lambda r: f"{r['scan']['peak_rss_mib']:.0f}"),
        ("  while collecting", lambda r: f"{r['scan'].get('rss_phase_peaks', {}).get('collecting_mib') or 0:.0f}"),
        ("  while evaluating", lambda r: f"{r['scan'].get('rss_phase_peaks', {}).get('evaluating_mib') or 0:.0f}"),
        ("evaluate s", lambda r: f"{r['evaluate']['seconds']:.1f}"),
        ("evaluate peak RSS MiB", lambda r: f"{r['evaluate']['peak_rss_mib']:.0f}"),
        ("pack MiB", lambda r: f"{r['pack_bytes'] / 2**20:.1f}"),
        ("results.json MiB", lambda r: f"{r['results_bytes'] / 2**20:.1f}"),
    ]
    runs = doc["runs"]
    width = max(len(n) for n, _ in rows)
    cols = [[f(r) for r in runs] for _, f in rows]
    cw = max([len(c) for col in cols for c in col] + [8])
    for (name, _), col in zip(rows, cols):
        print(f"{name:<{width}}  " + "  ".join(f"{c:>{cw}}" for c in col))
    for r in runs:
        print(f"{r['label']}: bound (injected) set by {r['bound_injected']['binding']}; "
              f"observed: {r['bound_observed']['binding']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", help="print the runs of this results file and exit")
    ap.add_argument("--bin")
    ap.add_argument("--endpoint")
    ap.add_argument("--out")
    ap.add_argument("--seed-summary")
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--results")
    ap.add_argument("--label", default="")
    ap.add_argument("extra", nargs="*", help="more `dengbao scan` arguments (after --)")
    a = ap.parse_args()
    if a.table:
        table(a.table)
        return 0
    for k in ("bin", "endpoint", "out", "seed_summary", "results"):
        if not getattr(a, k):
            ap.error(f"--{k.replace('_', '-')} is required")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(a.seed_summary) as f:
        seed = json.load(f)
    estate = defaultdict(int)
    for region, counts in seed["created"].items():
        if isinstance(counts, dict):
            for k, v in counts.items():
                if isinstance(v, int):
                    estate[k] += v
    http(a.endpoint + "/__proxy/reset", "POST")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1")
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(k, None)
    os.makedirs(a.out, exist_ok=True)
    scan_dir = os.path.join(a.out, "scan")
    cmd = [a.bin, "scan", "--provider", "aws", "--regions", "cn-north-1,cn-northwest-1", "--endpoint-url", a.endpoint,
           "--concurrency", str(a.concurrency), "--rate", str(a.rate), "--out", scan_dir, *a.extra]
    print(f"bench: {a.label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    scan = run(cmd, env, os.path.join(a.out, "scan.log"))
    proxy = json.loads(http(a.endpoint + "/__proxy/stats"))
    if scan["exit"] != 0:
        print(f"bench: scan exited {scan['exit']}; see {a.out}/scan.log", file=sys.stderr)
    pack = os.path.join(scan_dir, "pack")
    with open(os.path.join(pack, "manifest.json")) as f:
        manifest = json.load(f)
    evaluate = run([a.bin, "evaluate", pack, "--out", os.path.join(a.out, "eval")], env, os.path.join(a.out, "evaluate.log"))
    pack_bytes, pack_files = dir_size(pack)
    results_bytes = os.path.getsize(os.path.join(scan_dir, "results.json")) if os.path.exists(os.path.join(scan_dir, "results.json")) else 0
    specs = probe_specs(repo)
    delay = a.delay_ms / 1000.0
    collection = ts(manifest["scan"]["finished_at"]) - ts(manifest["scan"]["started_at"])
    scan["rss_phase_peaks"] = phase_peaks(scan.pop("rss_samples"), ts(manifest["scan"]["finished_at"]))
    evaluate.pop("rss_samples", None)
    b_inj = bound(manifest, specs, proxy, delay, a.concurrency, a.rate, observed=False)
    b_obs = bound(manifest, specs, proxy, delay, a.concurrency, a.rate, observed=True)
    pages = defaultdict(dict)
    for r in manifest["records"]:
        pages[r["probe"]][r["region"]] = pages[r["probe"]].get(r["region"], 0) + 1
    entry = {
        "label": a.label,
        "estate": dict(estate),
        "seed_seconds": seed.get("seconds"),
        "params": {"delay_ms": a.delay_ms, "concurrency": a.concurrency, "rate": a.rate, "extra": a.extra,
                   "proxy_paginates": bool(proxy.get("paginate")), "throttle_fraction": proxy.get("throttle_fraction"),
                   "throttle_rps": proxy.get("throttle_rps"), "throttle_first": proxy.get("throttle_first")},
        "scan": scan,
        "evaluate": evaluate,
        "collection_seconds": round(collection, 3),
        "records": len(manifest["records"]),
        "failed_records": sum(1 for r in manifest["records"] if r.get("error")),
        "failed_runs": sum(1 for p in manifest["probes"] if p["status"] == "error"),
        "api_requests": proxy["requests"],
        "throttled": proxy["throttled"],
        "peak_in_flight": proxy["peak_in_flight"],
        # What dengbao's rate controllers saw (manifest `rates`, dengbao.pack/v2).
        "throttles_seen": sum(r["throttles"] for r in manifest.get("rates", [])),
        "retries": sum(r["retries"] for r in manifest.get("rates", [])),
        "rates": [r for r in manifest.get("rates", []) if r["throttles"] or r["retries"]],
        "calls_per_second": round(proxy["requests"] / collection, 2) if collection > 0 else 0,
        "pack_bytes": pack_bytes,
        "pack_files": pack_files,
        "results_bytes": results_bytes,
        "pages": pages,
        "proxy": proxy["by"],
        "bound_injected": b_inj,
        "bound_observed": b_obs,
        "ratio_injected": round(collection / b_inj["seconds"], 3) if b_inj["seconds"] else None,
        "ratio_observed": round(collection / b_obs["seconds"], 3) if b_obs["seconds"] else None,
    }
    doc = {"machine": machine(), "runs": []}
    if os.path.exists(a.results):
        with open(a.results) as f:
            doc = json.load(f)
    doc["runs"].append(entry)
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.results)
    print(f"bench: {a.label}: {entry['records']} records, {proxy['requests']} requests ({proxy['throttled']} throttled, {entry['retries']} retried), "
          f"collection {collection:.1f}s (scan {scan['seconds']:.1f}s, exit {scan['exit']}), "
          f"bound {b_inj['seconds']:.1f}s injected / {b_obs['seconds']:.1f}s observed -> ratio "
          f"{entry['ratio_injected']} / {entry['ratio_observed']}; peak RSS scan {scan['peak_rss_mib']} MiB, "
          f"evaluate {evaluate['peak_rss_mib']} MiB; pack {pack_bytes / 2**20:.1f} MiB", file=sys.stderr, flush=True)
    return 0 if scan["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
