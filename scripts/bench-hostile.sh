#!/usr/bin/env bash
# Memory benchmark on hostile-sized bodies (issue #12). Run by hand (not in CI):
#
#   bash scripts/bench-hostile.sh                    # release build, then a 300 MB body, XML and JSON
#   bash scripts/bench-hostile.sh --mb 50 --no-build
#
# Generates a pack with one huge DescribeSnapshots-shaped body of many small items (XML and JSON
# variants) and records the peak RSS of `verify`, `evaluate` and each report format (html, xlsx, csv,
# md, ocsf) against the target of at most 2.5x the body's size. Results: bench-results/DATE-hostile.json.
#
# Options: --mb N (body size, default 300), --variants xml,json, --formats html,xlsx,csv,md,ocsf,
# --history fresh|again|none (evaluate's history: a new database per run, the default; the same pack
# evaluated twice into it; or --no-history), --cap-mib N (address-space cap per command, default 8192: a format that does not scale fails instead of
# swapping the machine), --no-build, --bin PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

mb=300
variants=xml,json
formats=html,xlsx,csv,md,ocsf
cap=8192
history=fresh
build=1
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --mb) mb="$2"; shift 2 ;;
        --variants) variants="$2"; shift 2 ;;
        --formats) formats="$2"; shift 2 ;;
        --cap-mib) cap="$2"; shift 2 ;;
        --history) history="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --bin) bin="$2"; build=0; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
target="${CARGO_TARGET_DIR:-target}"
if [ -z "$bin" ]; then
    bin="$target/release/dengbao"
fi
if [ "$build" = 1 ]; then
    cargo build --release --locked
fi
stamp="$(date -u +%Y%m%d-%H%M%S)"
python3 scripts/bench_hostile.py --bin "$bin" --mb "$mb" --variants "$variants" --formats "$formats" --cap-mib "$cap" --history "$history" \
    --out "bench-results/$stamp-hostile.json"
