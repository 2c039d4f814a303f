#!/usr/bin/env python3
"""Compares two scans of the same estate (each a directory with `pack/` and `results.json`), modulo what
differs between two scans of one unchanged estate: times, request ids and the digests they change.

    python3 scripts/compare_scans.py BEFORE_DIR AFTER_DIR [--allow PROBE_PREFIX ...]

Each record is keyed by (probe, region, request parameters); its body is compared after request ids and
response times are blanked. Probe runs and the scan's provider, partition, accounts and regions compare as
they are. In results.json every `sha256:` digest is replaced by the digest of the normalized body it names,
so verdicts, reasons, resources, locations and evidence references compare exactly. Records and runs of a
probe whose id starts with an `--allow` prefix may differ; they are listed, not counted.

Exit status: 0 when identical (but for allowed probes), 1 otherwise. Used by scripts/compare-scans.sh.
"""
import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

# Per-request values in bodies: EC2 `<requestId>`, query `<RequestId>`, JSON `RequestId`, S3 `<RequestId>`
# and `<HostId>`, and timestamps moto or the local endpoint stamps on the answer itself.
BODY_PATTERNS = [
    (re.compile(rb"<(requestId|RequestId|RequestID|HostId)>[^<]*</\1>"), rb"<\1>*</\1>"),
    (re.compile(rb'"(RequestId|requestId)"\s*:\s*"[^"]*"'), rb'"\1":"*"'),
    # moto stamps these with the time of the request.
    (re.compile(rb'"(LatestDeliveryAttemptTime|LatestDeliveryTime)"\s*:\s*("[^"]*"|[0-9]+)'), rb'"\1":"*"'),
    (re.compile(rb"<(LatestRestorableTime)>[^<]*</\1>"), rb"<\1>*</\1>"),
]
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Reasons list resource ids in record order, which follows capture times: "…fail: b, a." → "…fail: a, b."
ID_LIST = re.compile(r"((?:resources fail|could not be judged|项资源未通过|项无法判定)[:：] ?)([^.。]*)")


def sort_ids(text: str) -> str:
    return ID_LIST.sub(lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))), text)


def normalize_body(body: bytes) -> bytes:
    for pattern, repl in BODY_PATTERNS:
        body = pattern.sub(repl, body)
    return body


def load(scan_dir: Path):
    pack = scan_dir / "pack"
    manifest = json.loads((pack / "manifest.json").read_text())
    digest_map = {}
    records = {}
    for rec in manifest["records"]:
        hexd = rec["sha256"].split(":", 1)[1]
        body = (pack / "blobs" / "sha256" / hexd[:2] / hexd).read_bytes()
        norm = "sha256:" + hashlib.sha256(normalize_body(body)).hexdigest()
        digest_map[rec["sha256"]] = norm
        key = (rec["probe"], rec["region"], json.dumps(rec["parameters"], sort_keys=True))
        value = {k: v for k, v in rec.items() if k not in ("captured_at", "request_id", "sha256", "size")}
        value["body"] = norm
        records.setdefault(key, []).append(json.dumps(value, sort_keys=True))
    for v in records.values():
        v.sort()
    runs = {(r["id"], r["region"]): r for r in manifest["probes"]}
    scan = {k: v for k, v in manifest["scan"].items() if k not in ("started_at", "finished_at")}
    results = json.loads((scan_dir / "results.json").read_text())
    for k in ("started_at", "finished_at", "pack_digest"):
        results["scan"].pop(k, None)
    results = json.loads(DIGEST.sub(lambda m: digest_map.get(m.group(0), "sha256:UNKNOWN"), json.dumps(results)))
    # Records of one probe and region are ordered by capture time, and resources follow that order.
    for control in results["controls"]:
        for reason in control["reasons"]:
            for lang in ("en", "zh"):
                reason[lang] = sort_ids(reason[lang])
        for rule in control["rules"]:
            rule["resources"].sort(key=lambda r: json.dumps(r, sort_keys=True))
    text = json.dumps(results, indent=1, sort_keys=True)
    return {"format": manifest["format"], "scan": scan, "records": records, "runs": runs, "results": text}


def allowed(probe: str, prefixes) -> bool:
    return any(probe.startswith(p) for p in prefixes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--allow", action="append", default=[], help="probe id prefix whose records may differ")
    args = ap.parse_args()
    a, b = load(args.before), load(args.after)
    problems, tolerated = [], []

    def note(probe, what):
        (tolerated if allowed(probe, args.allow) else problems).append(what)

    if a["format"] != b["format"]:
        problems.append(f"format: {a['format']} -> {b['format']}")
    if a["scan"] != b["scan"]:
        problems.append(f"scan: {a['scan']} -> {b['scan']}")
    for key in sorted(set(a["records"]) | set(b["records"])):
        ra, rb = a["records"].get(key, []), b["records"].get(key, [])
        if ra != rb:
            note(key[0], f"records {key[0]}@{key[1]} {key[2]}: {len(ra)} before, {len(rb)} after" + ("" if len(ra) != len(rb) else f"\n    {ra}\n    {rb}"))
    for key in sorted(set(a["runs"]) | set(b["runs"])):
        if a["runs"].get(key) != b["runs"].get(key):
            note(key[0], f"run {key[0]}@{key[1]}: {a['runs'].get(key)} -> {b['runs'].get(key)}")
    results_same = a["results"] == b["results"]
    if not results_same and not args.allow:
        problems.append("results.json differs")
    n = sum(len(v) for v in a["records"].values())
    for t in tolerated:
        print(f"  allowed: {t}")
    for p in problems:
        print(f"  DIFFERS: {p}")
    if not results_same:
        import difflib
        diff = list(difflib.unified_diff(a["results"].splitlines(), b["results"].splitlines(), "before", "after", lineterm="", n=2))
        print("  results.json: " + ("differs (allowed probes changed)" if args.allow else "differs"))
        for line in diff[:80]:
            print("    " + line)
    verdict = "identical" if not problems and results_same else ("identical but for allowed probes" if not problems else "DIFFERENT")
    print(f"{args.before.name}: {n} records, {len(a['runs'])} runs: {verdict}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
