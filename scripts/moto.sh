#!/usr/bin/env bash
# moto test harness: a pinned moto server in a private virtualenv, started and stopped by name.
#
# Run it:     bash scripts/moto.sh install
#             bash scripts/moto.sh start main 5510 [ENV=VAL ...]
#             bash scripts/moto.sh stop main
#             bash scripts/moto.sh stop_all
#             bash scripts/moto.sh python tests/moto/seed.py --endpoint http://127.0.0.1:5510 mixed
# Or source it (defines moto_install, moto_start, moto_stop, moto_stop_all = stop_all, moto_python), e.g. in test.sh:
#             source scripts/moto.sh
#             moto_install
#             trap moto_stop_all EXIT
#             moto_start main 5510
#             moto_start denied 5511 INITIAL_NO_AUTH_ACTION_COUNT=3
#
# The server only ever binds 127.0.0.1 and this script only ever contacts 127.0.0.1.
#
# Environment:
#   DENGBAO_VENV      the virtualenv (default $HOME/.cache/dengbao/venv)
#   DENGBAO_MOTO_DIR  pid and log files, NAME.pid / NAME.log / NAME.port (default ${TMPDIR:-/tmp}/dengbao-moto-$UID)
#
# Pins (also in tests/moto/README.md). boto3/botocore are the versions pip resolved for moto[server]==5.2.5.
MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.8
BOTOCORE_VERSION=1.44.8

MOTO_HOST=127.0.0.1
MOTO_START_TIMEOUT=60

moto_venv() { printf '%s\n' "${DENGBAO_VENV:-$HOME/.cache/dengbao/venv}"; }
moto_dir() { printf '%s\n' "${DENGBAO_MOTO_DIR:-${TMPDIR:-/tmp}/dengbao-moto-$(id -u)}"; }
moto_err() { printf 'moto.sh: %s\n' "$*" >&2; }

# Exit status 0 when the venv holds exactly the pinned versions (and the server extra imports).
moto_installed() {
    local py
    py="$(moto_venv)/bin/python"
    [[ -x "$py" && -x "$(moto_venv)/bin/moto_server" ]] || return 1
    "$py" - "$MOTO_VERSION" "$BOTO3_VERSION" "$BOTOCORE_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want = dict(zip(("moto", "boto3", "botocore"), sys.argv[1:]))
have = {name: version(name) for name in want}
if have != want:
    sys.exit(1)
import flask, flask_cors, moto.server  # noqa: F401  (the [server] extra)
EOF
}

moto_install() {
    local venv
    venv="$(moto_venv)"
    if moto_installed; then
        return 0
    fi
    if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        # Missing, or broken (e.g. the python it was made from is gone): (re)create it.
        printf 'moto.sh: creating virtualenv %s\n' "$venv" >&2
        mkdir -p "$(dirname "$venv")"
        python3 -m venv --clear "$venv" || { moto_err "python3 -m venv $venv failed"; return 1; }
    fi
    printf 'moto.sh: installing moto[server]==%s boto3==%s botocore==%s into %s\n' \
        "$MOTO_VERSION" "$BOTO3_VERSION" "$BOTOCORE_VERSION" "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION" "botocore==$BOTOCORE_VERSION" ||
        { moto_err "pip install failed"; return 1; }
    moto_installed || { moto_err "installed, but the versions in $venv still differ from the pins"; return 1; }
}

# Run the venv's python (for tests/moto/seed.py).
moto_python() {
    "$(moto_venv)/bin/python" "$@"
}

# HTTP status of GET http://127.0.0.1:PORT/moto-api/ ("000" when nothing answers). Never uses a proxy.
moto_probe() {
    curl --noproxy '*' --silent --output /dev/null --write-out '%{http_code}' \
        --max-time 2 "http://$MOTO_HOST:$1/moto-api/" 2>/dev/null || true
}

moto_check_name() {
    [[ "$1" =~ ^[A-Za-z0-9_-]+$ ]] || { moto_err "bad server name '$1' (letters, digits, - and _ only)"; return 1; }
}

moto_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# moto_start NAME PORT [ENV=VAL ...]
moto_start() {
    if [[ $# -lt 2 ]]; then
        moto_err "usage: start NAME PORT [ENV=VAL ...]"
        return 2
    fi
    local name="$1" port="$2" dir pidfile log pid code waited kv
    shift 2
    moto_check_name "$name" || return 2
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65535)); then
        moto_err "bad port '$port' (1024-65535)"
        return 2
    fi
    for kv in "$@"; do
        [[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { moto_err "bad environment assignment '$kv' (want NAME=VALUE)"; return 2; }
    done
    moto_installed || { moto_err "moto $MOTO_VERSION is not installed in $(moto_venv); run: bash scripts/moto.sh install"; return 1; }
    command -v curl >/dev/null || { moto_err "curl is needed to wait for the server"; return 1; }

    dir="$(moto_dir)"
    mkdir -p "$dir"
    pidfile="$dir/$name.pid"
    log="$dir/$name.log"
    if [[ -f "$pidfile" ]] && moto_alive "$(cat "$pidfile")"; then
        moto_err "server '$name' is already running (pid $(cat "$pidfile"), port $(cat "$dir/$name.port" 2>/dev/null)); stop it first"
        return 1
    fi
    code="$(moto_probe "$port")"
    if [[ "$code" != "000" ]]; then
        moto_err "something already answers on $MOTO_HOST:$port (HTTP $code); pick another port"
        return 1
    fi

    # Defaults the caller can override with its own NAME=VALUE: no Amazon AMIs (moto would otherwise
    # load ~44 public images per region, and their snapshots, which DescribeSnapshots returns even for
    # OwnerIds=self).
    local defaults=(MOTO_EC2_LOAD_DEFAULT_AMIS=false)

    # env execs moto_server, so $! is the server's own pid. stdin/stdout/stderr are detached from the
    # caller so a test runner reading our output does not wait for the server.
    env "${defaults[@]}" "$@" "$(moto_venv)/bin/moto_server" -H "$MOTO_HOST" -p "$port" </dev/null >"$log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$pidfile"
    printf '%s\n' "$port" >"$dir/$name.port"

    waited=0
    while :; do
        if ! moto_alive "$pid"; then
            moto_err "server '$name' (pid $pid) exited before answering on $MOTO_HOST:$port; last lines of $log:"
            tail -n 20 "$log" >&2
            rm -f "$pidfile" "$dir/$name.port"
            return 1
        fi
        code="$(moto_probe "$port")"
        if [[ "$code" == 200 ]]; then
            break
        fi
        if ((waited >= MOTO_START_TIMEOUT * 5)); then
            moto_err "server '$name' (pid $pid) did not answer http://$MOTO_HOST:$port/moto-api/ within ${MOTO_START_TIMEOUT}s (last HTTP status $code); last lines of $log:"
            tail -n 20 "$log" >&2
            moto_stop "$name"
            return 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    printf 'moto.sh: %s up on http://%s:%s (pid %s, log %s)\n' "$name" "$MOTO_HOST" "$port" "$pid" "$log" >&2
}

# moto_stop NAME: TERM, then KILL after 10 s. Succeeds when the server is not running.
moto_stop() {
    if [[ $# -ne 1 ]]; then
        moto_err "usage: stop NAME"
        return 2
    fi
    local name="$1" dir pidfile pid i
    moto_check_name "$name" || return 2
    dir="$(moto_dir)"
    pidfile="$dir/$name.pid"
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && moto_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            moto_alive "$pid" || break
            sleep 0.2
        done
        if moto_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$dir/$name.port"
}

# moto_stop_all: stops every server with a pid file. Never fails, so it is safe in a trap.
moto_stop_all() {
    local dir f
    dir="$(moto_dir)"
    [[ -d "$dir" ]] || return 0
    for f in "$dir"/*.pid; do
        [[ -e "$f" ]] || continue
        moto_stop "$(basename "$f" .pid)" || true
    done
    return 0
}

moto_main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
    install) moto_install "$@" ;;
    start) moto_start "$@" ;;
    stop) moto_stop "$@" ;;
    stop_all | stop-all) moto_stop_all ;;
    python) moto_python "$@" ;;
    venv) moto_venv ;;
    *)
        moto_err "usage: $0 install | start NAME PORT [ENV=VAL ...] | stop NAME | stop_all | python ARGS... | venv"
        return 2
        ;;
    esac
}

# For traps in the sourcing script: trap stop_all EXIT
stop_all() { moto_stop_all; }

# Executed (not sourced): dispatch the command line. Sourced: only define the functions (prefixed moto_,
# so that sourcing does not shadow commands such as install(1)).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    moto_main "$@"
fi
