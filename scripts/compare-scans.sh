#!/usr/bin/env bash
# Scans the test estates with two dengbao binaries and compares packs and results (scripts/compare_scans.py):
# the proof that a refactoring of the collectors changes nothing a user can see.
#
#   bash scripts/compare-scans.sh BEFORE_BIN AFTER_BIN OUT_DIR [--allow PROBE_PREFIX ...]
#
# AFTER_ARGS (environment) is added to every scan of AFTER_BIN, e.g. AFTER_ARGS="--probes /tmp/probes".
# Estates: moto `mixed`, `clean`, `empty` (regions given, and `mixed` discovering its regions), `denied`
# (IAM enforced), an unreachable endpoint; the local Alibaba Cloud endpoint's `clean`, `partial`,
# `noncompliant`, `empty`, `clean` with region discovery, and `clean` with DescribeSecurityGroups denied.
# Each estate is seeded once and scanned by both binaries, so both see the same resources.
#
# Installs what it needs: the moto venv (scripts/moto.sh) and the Alibaba Cloud venv (scripts/aliyun-checks.sh);
# moto listens on DENGBAO_MOTO_PORT / DENGBAO_MOTO_DENIED_PORT (default 5510/5511), everything on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 3 ]]; then
    echo "usage: $0 BEFORE_BIN AFTER_BIN OUT_DIR [--allow PROBE_PREFIX ...]" >&2
    exit 2
fi
before="$(realpath "$1")" after="$(realpath "$2")" out="$3"
shift 3
allow=("$@")
read -r -a after_args <<<"${AFTER_ARGS:-}"
mkdir -p "$out"
out="$(realpath "$out")"

export DENGBAO_MOTO_DIR="${DENGBAO_MOTO_DIR:-$(mktemp -d)}"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
moto_install
# The Alibaba Cloud venv from its own script (installed if missing), not a second copy of where it lives.
aliyun_env="$(bash scripts/aliyun-checks.sh --env)"   # an assignment, so set -e sees a failure
eval "$aliyun_env"
aliyun_python="$DENGBAO_ALIYUN_PYTHON"
server_pid=""
cleanup() {
    moto_stop_all
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
main_port="${DENGBAO_MOTO_PORT:-5510}"
denied_port="${DENGBAO_MOTO_DENIED_PORT:-5511}"
moto_start main "$main_port"
moto_start denied "$denied_port" INITIAL_NO_AUTH_ACTION_COUNT=3
main="http://127.0.0.1:$main_port"
denied="http://127.0.0.1:$denied_port"

aws_scan() { # BIN OUT ENDPOINT KEY SECRET ARGS...
    local bin="$1" dir="$2" endpoint="$3" key="$4" secret="$5"
    shift 5
    env -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_ENDPOINT_URL \
        AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_CONFIG_FILE=/dev/null \
        AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_REGION=cn-north-1 \
        "$bin" scan --provider aws --endpoint-url "$endpoint" --out "$dir" "$@" >"$dir.log" 2>&1 || true
}

aliyun_scan() { # BIN OUT ENDPOINT ARGS...
    local bin="$1" dir="$2" endpoint="$3"
    shift 3
    env -u ALIBABA_CLOUD_SECURITY_TOKEN -u ALIBABA_CLOUD_PROFILE -u ALIBABA_CLOUD_REGION_ID \
        HOME="$out/home" ALIBABA_CLOUD_ECS_METADATA_DISABLED=true \
        ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIdengbaoTest01 ALIBABA_CLOUD_ACCESS_KEY_SECRET=dengbao-test-secret-0001 \
        "$bin" scan --provider aliyun --endpoint-url "$endpoint" --out "$dir" "$@" >"$dir.log" 2>&1 || true
}

status=0
compare() { # NAME
    python3 scripts/compare_scans.py "$out/before/$1" "$out/after/$1" "${allow[@]}" || status=1
}

both_aws() { # NAME ENDPOINT KEY SECRET ARGS...
    local name="$1"
    shift
    aws_scan "$before" "$out/before/$name" "$@"
    aws_scan "$after" "$out/after/$name" "$@" "${after_args[@]}"
    compare "$name"
}

both_aliyun() { # NAME ENDPOINT ARGS...
    local name="$1"
    shift
    aliyun_scan "$before" "$out/before/$name" "$@"
    aliyun_scan "$after" "$out/after/$name" "$@" "${after_args[@]}"
    compare "$name"
}

mkdir -p "$out/before" "$out/after" "$out/home"
regions=(--regions cn-north-1,cn-northwest-1)
for estate in mixed clean empty; do
    moto_python tests/moto/seed.py --endpoint "$main" "$estate" >"$out/seed-$estate.json"
    both_aws "aws-$estate" "$main" testing testing "${regions[@]}"
    if [[ "$estate" == mixed ]]; then
        both_aws aws-mixed-discovered "$main" testing testing
    fi
done
moto_python tests/moto/seed.py --endpoint "$denied" denied "$denied_port" >"$out/seed-denied.json"
read -r key secret < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scanner"]; print(s["AccessKeyId"], s["SecretAccessKey"])' "$out/seed-denied.json")
both_aws aws-denied "$denied" "$key" "$secret" "${regions[@]}" --max-attempts 2
closed="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
both_aws aws-unreachable "http://127.0.0.1:$closed" testing testing "${regions[@]}" --max-attempts 1 --timeout 5

aliyun_estate() { # NAME SERVER_ARGS... -- SCAN_ARGS...
    local name="$1" port_line
    shift
    local server_args=() scan_args=()
    while [[ $# -gt 0 && "$1" != -- ]]; do server_args+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift
    scan_args=("$@")
    coproc SERVER { exec "$aliyun_python" tests/aliyun/server.py "${server_args[@]}"; }
    server_pid="$SERVER_PID"
    read -r port_line <&"${SERVER[0]}"
    both_aliyun "$name" "http://127.0.0.1:${port_line#PORT }" "${scan_args[@]}"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
aregions=(--regions cn-hangzhou,cn-shanghai)
for estate in clean partial noncompliant empty; do
    aliyun_estate "aliyun-$estate" --estate "$estate" -- "${aregions[@]}"
done
aliyun_estate aliyun-clean-discovered --estate clean --
aliyun_estate aliyun-denied-groups --estate clean --deny DescribeSecurityGroups -- "${aregions[@]}"

if [[ $status -eq 0 ]]; then
    echo "compare-scans: every estate gives the same pack and results"
else
    echo "compare-scans: differences found (above)"
fi
exit $status
