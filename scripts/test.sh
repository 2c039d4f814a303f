#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Installs what it needs
# (scripts/report-checks.sh installs chromium and a Python venv for the report checks;
# scripts/aliyun-checks.sh a venv with Alibaba Cloud's Python SDK for the signing and local-server tests;
# scripts/siem-checks.sh rsyslog, rsyslog-gnutls and openssl for the SIEM delivery tests).
#
#   bash scripts/test.sh
#
# Set CARGO_TARGET_DIR to reuse a build directory between runs (CI keeps one outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

CARGO_DENY_VERSION=0.20.2

step "toolchain: $(cargo --version)"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    step "installing cargo-deny $CARGO_DENY_VERSION (once per machine)"
    cargo install --locked "cargo-deny@$CARGO_DENY_VERSION"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo deny check licenses bans sources"
cargo deny check licenses bans sources

step "dengbao rules check (the shipped mappings)"
# Built with every target, so the binary shares the tests' dependency build: `cargo run` alone resolves
# features without the dev-dependencies' and would compile every SDK crate a second time.
cargo build --quiet --locked --all-targets
"${CARGO_TARGET_DIR:-target}/debug/dengbao" rules check

step "moto (pinned, in a private virtualenv) on 127.0.0.1"
# A private pid/log directory: concurrent runs (and other checkouts) never share servers.
export DENGBAO_MOTO_DIR="${DENGBAO_MOTO_DIR:-$(mktemp -d)}"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
moto_install
trap 'moto_stop_all; rm -f "${log:-}"' EXIT
main_port="${DENGBAO_MOTO_PORT:-5510}"
denied_port="${DENGBAO_MOTO_DENIED_PORT:-5511}"
amis_port="${DENGBAO_MOTO_AMIS_PORT:-5512}"
moto_start main "$main_port"
moto_start denied "$denied_port" INITIAL_NO_AUTH_ACTION_COUNT=3
# Amazon's public AMIs loaded: their snapshots are listed as other accounts' (the fan-out owner filter test).
moto_start amis "$amis_port" MOTO_EC2_LOAD_DEFAULT_AMIS=true
export DENGBAO_MOTO_ENDPOINT="http://127.0.0.1:$main_port"
export DENGBAO_MOTO_DENIED_ENDPOINT="http://127.0.0.1:$denied_port"
export DENGBAO_MOTO_AMIS_ENDPOINT="http://127.0.0.1:$amis_port"
export DENGBAO_MOTO_PYTHON="$(moto_venv)/bin/python"
export DENGBAO_REQUIRE_MOTO=1

step "benchmark proxy: EC2 paging (tests/moto/test_latency_proxy.py)"
"$DENGBAO_MOTO_PYTHON" tests/moto/test_latency_proxy.py --endpoint "$DENGBAO_MOTO_ENDPOINT"

step "report check tools: chromium, fonts-noto-cjk, a venv with openpyxl and pydantic-ocsf"
# Installs what is missing and exports DENGBAO_CHROMIUM, DENGBAO_REPORT_PYTHON and DENGBAO_REQUIRE_TOOLS=1,
# so the browser, openpyxl and OCSF checks in tests/report.rs run (and fail, never skip).
report_env="$(bash scripts/report-checks.sh --env)"   # an assignment, so set -e sees a failure
eval "$report_env"

step "Alibaba Cloud checks: a venv with the official SDK (pinned); signature vectors regenerated"
# Installs what is missing, regenerates tests/aliyun/vectors.json's cases with alibabacloud-tea-openapi and
# exports DENGBAO_ALIYUN_PYTHON, DENGBAO_ALIYUN_VECTORS and DENGBAO_REQUIRE_ALIYUN=1, so the signing,
# local-server scan and mapping tests run (and fail, never skip).
aliyun_env="$(bash scripts/aliyun-checks.sh --env)"   # an assignment, so set -e sees a failure
eval "$aliyun_env"

step "strace (Debian): the hostile-pack test checks every path dengbao opens"
# tests/hostile_packs.rs runs verify/evaluate/report under strace; with DENGBAO_REQUIRE_STRACE=1 a
# missing strace fails that test instead of skipping it.
if ! command -v strace >/dev/null 2>&1; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y strace >/dev/null \
        || { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y strace >/dev/null; }
fi
strace -V | head -n1
export DENGBAO_REQUIRE_STRACE=1

step "OpenSSH client (Debian openssh-client): ssh-keygen and ssh-agent check signed packs"
# tests/signing.rs signs with dengbao and verifies with `ssh-keygen -Y verify` (and the other way), also
# through a running ssh-agent; with DENGBAO_REQUIRE_SSH_KEYGEN=1 a missing tool fails those tests.
if ! command -v ssh-keygen >/dev/null 2>&1 || ! command -v ssh-agent >/dev/null 2>&1; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-client >/dev/null \
        || { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-client >/dev/null; }
fi
ssh -V
export DENGBAO_REQUIRE_SSH_KEYGEN=1

step "SIEM receivers: rsyslog + rsyslog-gnutls, openssl, python3"
# Installs what is missing and exports DENGBAO_REQUIRE_SIEM=1, so the delivery tests of tests/siem.rs
# (real rsyslog over TCP and TLS, the local HEC endpoint, the webhook receiver) run and fail, never skip.
siem_env="$(bash scripts/siem-checks.sh --env)"   # an assignment, so set -e sees a failure
eval "$siem_env"

step "scheduling recipes: systemd-analyze verify, kubernetes-validate (scripts/deploy-checks.sh)"
bash scripts/deploy-checks.sh

# Scans record into the history by default; the suite's go to a private directory, never the user's.
export XDG_DATA_HOME="$(mktemp -d)"

step "cargo test"
log="$(mktemp)"
# --no-fail-fast: one run names every failing test, not only those of the first failing binary.
cargo test --locked --no-fail-fast 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ndengbao: %d passed, %d failed\n", p, f; exit (f > 0) }' "$log"
