#!/usr/bin/env python3
"""Memory on hostile-sized bodies (issue #12): peak RSS of `verify`, `evaluate` and every report format
on a pack with one huge body made of many small items, shaped like a DescribeSnapshots page, in an XML
and a JSON variant. Run by scripts/bench-hostile.sh (which builds the release binary); by hand:

    python3 scripts/bench_hostile.py --bin target/release/dengbao --mb 300 --out bench-results/X.json

Peak RSS is the kernel's ru_maxrss of each command (os.wait4), in MiB. The target is at most 2.5x the
body's size. Packs are generated into a temporary directory, streamed (never held in memory here).
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ITEM_XML = (
    "<item><snapshotId>snap-{n:017x}</snapshotId><volumeId>vol-{n:017x}</volumeId>"
    "<status>completed</status><startTime>2026-01-01T00:00:00.000Z</startTime><progress>100%</progress>"
    "<ownerId>111122223333</ownerId><volumeSize>8</volumeSize><description>bench {n}</description>"
    "<encrypted>true</encrypted><storageTier>standard</storageTier></item>"
)


def item_json(n):
    return json.dumps(
        {
            "snapshotId": f"snap-{n:017x}", "volumeId": f"vol-{n:017x}", "status": "completed",
            "startTime": "2026-01-01T00:00:00.000Z", "progress": "100%", "ownerId": "111122223333",
            "volumeSize": "8", "description": f"bench {n}", "encrypted": "true", "storageTier": "standard",
        },
        separators=(",", ":"),
    )


def write_body(path, variant, target_bytes):
    """Writes the body, hashing as it goes; returns (sha256 hex, size, items)."""
    h = hashlib.sha256()
    size = 0
    n = 0
    with open(path, "wb") as f:
        def put(s):
            nonlocal size
            b = s.encode()
            h.update(b)
            f.write(b)
            size += len(b)
        if variant == "xml":
            put('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                "<requestId>bench</requestId><snapshotSet>")
            while size < target_bytes:
                put("".join(ITEM_XML.format(n=n + k) for k in range(1000)))
                n += 1000
            put("</snapshotSet></DescribeSnapshotsResponse>")
        else:
            put('{"requestId":"bench","snapshotSet":[')
            while size < target_bytes:
                put(("," if n else "") + ",".join(item_json(n + k) for k in range(1000)))
                n += 1000
            put("]}")
    return h.hexdigest(), size, n


def make_pack(root, variant, target_bytes):
    tmp = os.path.join(root, "body.tmp")
    hexd, size, items = write_body(tmp, variant, target_bytes)
    blob_dir = os.path.join(root, "blobs", "sha256", hexd[:2])
    os.makedirs(blob_dir)
    os.rename(tmp, os.path.join(blob_dir, hexd))
    region = "cn-north-1"
    record = {
        "probe": "aws.ec2.describe_snapshots", "provider": "aws", "partition": "aws-cn",
        "account": "111122223333", "region": region, "service": "ec2", "operation": "DescribeSnapshots",
        "parameters": {"OwnerIds": ["self"]}, "captured_at": "2026-01-01T00:00:01Z", "request_id": "bench",
        "http_status": 200, "media_type": "text/xml;charset=UTF-8" if variant == "xml" else "application/json",
        "sha256": "sha256:" + hexd, "size": size,
    }
    runs = [
        {"id": p, "region": region, "status": "ok", "records": r}
        for p, r in [("aws.ec2.describe_snapshot_attribute", 0), ("aws.ec2.describe_snapshots", 1)]
    ]
    manifest = {
        "format": "dengbao.pack/v1", "created_by": "bench_hostile.py",
        "scan": {"provider": "aws", "partition": "aws-cn", "accounts": ["111122223333"], "regions": [region],
                 "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z"},
        "probes": runs, "records": [record],
    }
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return size, items


def measure(argv, cwd, cap_mib):
    """Runs argv under an address-space cap of cap_mib; returns (exit code, wall seconds, peak RSS MiB)."""
    import resource
    cap = cap_mib * 2**20

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    started = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, cwd=cwd, stdout=null, stderr=subprocess.PIPE, preexec_fn=limit)
        _, status, usage = os.wait4(p.pid, 0)
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"  {' '.join(argv[1:3])}: exit {code}: {err.strip()[-400:]}", file=sys.stderr)
    return code, round(time.monotonic() - started, 2), round(usage.ru_maxrss / 1024, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mb", type=int, default=300, help="body size in MB (10^6 bytes)")
    ap.add_argument("--variants", default="xml,json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workdir", default=None, help="where packs are generated (default: a temp dir)")
    ap.add_argument("--formats", default="html,xlsx,csv,md,ocsf", help="report formats to measure")
    ap.add_argument("--history", choices=["fresh", "again", "none"], default="fresh",
                    help="evaluate's scan history: a new database for this run (fresh: a first scan), the same "
                    "evaluated twice into it (again: also measures a scan compared with the previous one), "
                    "or --no-history; never the user's own history")
    ap.add_argument("--cap-mib", type=int, default=8192,
                    help="address-space cap per command (MiB), so a format that does not scale fails rather than swapping the machine")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="dengbao-bench-hostile-", dir=args.workdir)
    runs = []
    try:
        for variant in args.variants.split(","):
            d = os.path.join(work, variant)
            pack = os.path.join(d, "pack")
            os.makedirs(pack)
            size, items = make_pack(pack, variant, args.mb * 1_000_000)
            print(f"{variant}: body {size / 1e6:.1f} MB, {items} snapshots", file=sys.stderr)
            history = ["--no-history"] if args.history == "none" else ["--history", "history.sqlite3"]
            steps = [("verify", [binary, "verify", "pack"]),
                     ("evaluate", [binary, "evaluate", "pack", "--out", "out"] + history)]
            if args.history == "again":
                steps.append(("evaluate again", [binary, "evaluate", "pack", "--out", "out"] + history))
            for fmt in [f for f in args.formats.split(",") if f]:
                steps.append((f"report {fmt}", [binary, "report", "out/results.json", "--pack", "pack",
                                               "--out", f"report-{fmt}", "--format", fmt]))
            result = {"variant": variant, "body_bytes": size, "items": items, "target_mib": round(2.5 * size / 2**20, 1), "cap_mib": args.cap_mib,
                      "history": args.history, "steps": {}}
            for name, argv in steps:
                code, secs, rss = measure(argv, d, args.cap_mib)
                ok = code == 0 and rss <= result["target_mib"]
                result["steps"][name] = {"exit": code, "seconds": secs, "peak_rss_mib": rss,
                                         "ratio_to_body": round(rss * 2**20 / size, 2), "within_target": ok}
                print(f"  {name:12} exit {code}  {secs:8.1f} s  peak {rss:8.1f} MiB  "
                      f"({rss * 2**20 / size:.2f}x body){'' if ok else '  OVER TARGET'}", file=sys.stderr)
            results_json = os.path.join(d, "out", "results.json")
            if os.path.exists(results_json):
                result["results_json_bytes"] = os.path.getsize(results_json)
            runs.append(result)
            shutil.rmtree(d)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    doc = {"machine": {"cores": os.cpu_count(), "os": platform.platform(), "git": git, "rustc": rustc,
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
           "bench": "hostile bodies (issue #12): peak RSS per command; target <= 2.5x the body", "runs": runs}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    print(f"results: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
