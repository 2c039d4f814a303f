#!/usr/bin/env bash
# Installs what the SIEM delivery tests need and runs them with it.
#
#   bash scripts/siem-checks.sh            install (idempotent), then `cargo test --test siem`
#   bash scripts/siem-checks.sh --env      install, then print the exports for a later `cargo test`
#                                          (scripts/test.sh evals them before running the whole suite)
#
# Installs, each only when missing, with apt-get (needs root or sudo):
#   * rsyslog and rsyslog-gnutls: the real syslog receiver (TCP and TLS inputs) tests/siem.rs starts
#     on 127.0.0.1 with its own config, work directory and pid file;
#   * openssl (the command-line tool): the tests' CA, server and client certificates;
#   * python3: the local Splunk HEC endpoint and the webhook receiver (tests/siem/*.py, stdlib only).
# Exports DENGBAO_REQUIRE_SIEM=1: with it the SIEM tests fail, rather than skip, when a tool is missing.
# (The OCSF validation of the events sent uses DENGBAO_REPORT_PYTHON from scripts/report-checks.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/checks-lib.sh
source scripts/checks-lib.sh "$@"

missing=()
command -v rsyslogd >/dev/null 2>&1 || missing+=(rsyslog)
# The TLS stream driver of rsyslog (lmnsd_gtls) comes in its own package.
if ! dpkg -s rsyslog-gnutls >/dev/null 2>&1; then missing+=(rsyslog-gnutls); fi
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
log "rsyslog: $(rsyslogd -v | head -n1); $(openssl version); $(python3 -V)"

exports_or_test "export DENGBAO_REQUIRE_SIEM=1" \
    "rsyslog, HEC and webhook receivers required" --test siem -- --nocapture
