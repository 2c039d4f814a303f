#!/usr/bin/env bash
# Scan benchmark: dengbao against moto behind a latency-injecting proxy, at several estate sizes.
# Run by hand (not in CI):
#
#   bash scripts/bench.sh                                  # small,medium,large; 50 ms; default scan settings
#   bash scripts/bench.sh --sizes small,medium --delay-ms 50 --throttle-fraction 0.02
#   bash scripts/bench.sh --no-build --label tuned -- --concurrency 64
#
# Options:
#   --sizes LIST            presets of tests/moto/scale_seed.py (small, medium, large), in order
#   --delay-ms MS           latency the proxy adds to every request (default 50)
#   --throttle-fraction F   fraction of requests the proxy answers with the service's throttling error
#   --throttle-rps R        throttle what exceeds R requests/s per service and region (as AWS does)
#   --throttle-burst B      the proxy's bucket for --throttle-rps (default R)
#   --throttle-first SPEC   throttle the first N requests of named operations, e.g. the isolated-throttles
#                           case: GetCallerIdentity=2,DescribeSecurityGroups=3,DescribeSnapshotAttribute=3
#   --no-paginate           let moto answer its EC2 lists whole (by default the proxy pages them at the
#                           requested MaxResults, as EC2 does; moto 5.2.5 ignores MaxResults for most)
#   --concurrency N         dengbao scan --concurrency (default: dengbao's default)
#   --rate R                dengbao scan --rate (default: dengbao's default)
#   --workers N             seeding processes (default 3)
#   --timeout S             dengbao scan --timeout (default 1800: moto takes minutes to render 10,000
#                           snapshots while busy, far beyond AWS; a timed-out attempt is retried and
#                           only adds to moto's queue)
#   --label NAME            name of the results file: bench-results/DATE-NAME.json
#   --no-build              use the release binary as it is
#   --bin PATH              benchmark this dengbao binary instead (implies --no-build), e.g. an older build
#   --keep                  keep the packs (printed at the end) instead of deleting them
#   -- ARGS                 more arguments for `dengbao scan`
#
# Prints, per size: wall time, API calls (counted by the proxy), calls/s, peak RSS (scan and evaluate),
# pack size, the critical-path bound and the ratio of collection time to it (see scripts/bench_scan.py for
# how the bound is computed), then a side-by-side table. Results: bench-results/*.json.
#
# Everything listens on and talks to 127.0.0.1 only. Ports: DENGBAO_BENCH_MOTO_PORT (default 5710) and
# DENGBAO_BENCH_PROXY_PORT (default 5711).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=small,medium,large
delay=50
throttle_fraction=0
throttle_rps=0
throttle_burst=0
throttle_first=""
paginate=(--paginate)
concurrency=""
rate=""
workers=3
timeout=1800
label=""
build=1
keep=0
bin=""
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --delay-ms) delay="$2"; shift 2 ;;
    --throttle-fraction) throttle_fraction="$2"; shift 2 ;;
    --throttle-rps) throttle_rps="$2"; shift 2 ;;
    --throttle-burst) throttle_burst="$2"; shift 2 ;;
    --throttle-first) throttle_first="$2"; shift 2 ;;
    --no-paginate) paginate=(); shift ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) printf 'bench.sh: unknown option %s (see the header of %s)\n' "$1" "$0" >&2; exit 2 ;;
    esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

target="${CARGO_TARGET_DIR:-target}"
if ((build)); then
    step "cargo build --release"
    cargo build --release --locked
fi
[[ -n "$bin" ]] || bin="$target/release/dengbao"
[[ -x "$bin" ]] || { printf 'bench.sh: %s not found; build it (drop --no-build)\n' "$bin" >&2; exit 1; }

# The scan's defaults, from the binary itself, so the bound uses what the scan used.
help="$("$bin" scan --help | tr -s ' \n' ' ')"
default_of() { grep -o -- "--$1 <[A-Z_]*> [^[]*\[default: [0-9.]*\]" <<<"$help" | sed 's/.*default: \([0-9.]*\)\]/\1/' | head -n1; }
[[ -n "$concurrency" ]] || concurrency="$(default_of concurrency)"
[[ -n "$rate" ]] || rate="$(default_of rate)"
[[ -n "$concurrency" && -n "$rate" ]] || { printf 'bench.sh: could not read --concurrency/--rate defaults from `dengbao scan --help`\n' >&2; exit 1; }

moto_port="${DENGBAO_BENCH_MOTO_PORT:-5710}"
proxy_port="${DENGBAO_BENCH_PROXY_PORT:-5711}"
work="$(mktemp -d "${TMPDIR:-/tmp}/dengbao-bench.XXXXXX")"
export DENGBAO_MOTO_DIR="$work/moto"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
moto_install
proxy_pid=""
cleanup() {
    if [[ -n "$proxy_pid" ]]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
    moto_stop_all
    if ((keep)); then printf 'bench.sh: packs kept in %s\n' "$work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
py="$(moto_venv)/bin/python"

step "moto on 127.0.0.1:$moto_port, proxy on 127.0.0.1:$proxy_port (+${delay} ms)"
# tests/moto/bench_site makes moto's EC2 tag lookup per resource instead of a scan of every tag in the
# region (quadratic at the large estate's 10,000 snapshots); the answers are the same.
moto_start bench "$moto_port" PYTHONPATH="$PWD/tests/moto/bench_site"
"$py" tests/moto/latency_proxy.py --port "$proxy_port" --upstream "http://127.0.0.1:$moto_port" \
    --delay-ms "$delay" --throttle-fraction "$throttle_fraction" --throttle-rps "$throttle_rps" \
    --throttle-burst "$throttle_burst" ${throttle_first:+--throttle-first "$throttle_first"} \
    "${paginate[@]}" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do
    curl --noproxy '*' -sf "http://127.0.0.1:$proxy_port/__proxy/stats" >/dev/null && break
    kill -0 "$proxy_pid" 2>/dev/null || { cat "$work/proxy.log" >&2; exit 1; }
    sleep 0.1
done

mkdir -p bench-results
results="bench-results/$(date -u +%Y%m%d-%H%M%S)${label:+-$label}.json"
IFS=, read -r -a size_list <<<"$sizes"
for size in "${size_list[@]}"; do
    step "seed: $size"
    "$py" tests/moto/scale_seed.py --endpoint "http://127.0.0.1:$moto_port" --preset "$size" \
        --workers "$workers" >"$work/seed-$size.json"
    step "scan: $size (concurrency $concurrency, rate $rate/s, +${delay} ms, throttle fraction $throttle_fraction, rps ${throttle_rps}, first ${throttle_first:-none})"
    "$py" scripts/bench_scan.py --bin "$bin" --endpoint "http://127.0.0.1:$proxy_port" --out "$work/$size" \
        --seed-summary "$work/seed-$size.json" --delay-ms "$delay" --concurrency "$concurrency" --rate "$rate" \
        --results "$results" --label "$size" -- --timeout "$timeout" "${extra[@]}" || printf 'bench.sh: the %s scan failed; see %s\n' "$size" "$work/$size/scan.log" >&2
done

step "results: $results"
"$py" scripts/bench_scan.py --table "$results"
