# Shared by scripts/*-checks.sh (sourced, not run): the `run | --env` mode, logging, root, apt-get.
#
#   source scripts/checks-lib.sh "$@"     sets $mode to `run` or `--env` (anything else: usage, exit 2)

mode="${1:-run}"
case "$mode" in
    run | --env) ;;
    *) echo "usage: $0 [--env]" >&2; exit 2 ;;
esac

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else log "need root to run: $*"; return 1
    fi
}

# apt-get install, with one `apt-get update` and a retry when the package lists are stale.
apt_install() {
    log "apt-get install $*"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2; then
        log "apt-get update, then retry"
        as_root apt-get update >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2
    fi
}

# The end of every checks script: with --env, prints the exports (for scripts/test.sh to eval);
# otherwise sets them and runs `cargo test --locked` with the remaining arguments.
#   exports_or_test "export A=1 B=2" "what the tests need" --test NAME ...
exports_or_test() {
    local exports="$1" what="$2"
    shift 2
    if [ "$mode" = --env ]; then
        echo "$exports"
        exit 0
    fi
    eval "$exports"
    log "cargo test $* ($what)"
    cargo test --locked "$@"
}
