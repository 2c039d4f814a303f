#!/usr/bin/env bash
# Installs the third-party tools the report tests check with, and runs those tests with them.
#
#   bash scripts/report-checks.sh            install (idempotent), then `cargo test --test report`
#   bash scripts/report-checks.sh --env      install, then print the exports for a later `cargo test`
#                                            (scripts/test.sh evals them before running the whole suite)
#
# Installs, each only when missing:
#   * Debian packages `chromium` (the browser test) and `fonts-noto-cjk` (Chinese glyphs in the
#     screenshots), with apt-get; needs root (or sudo).
#   * a Python venv at ${DENGBAO_REPORT_VENV:-$HOME/.cache/dengbao/venv-report} with the pinned packages of
#     scripts/report-requirements.txt (openpyxl, pydantic-ocsf); rebuilt when that file changes.
#
# Exports DENGBAO_CHROMIUM, DENGBAO_REPORT_PYTHON and DENGBAO_REQUIRE_TOOLS=1: with it the report tests fail,
# rather than skip, when a tool is missing. Screenshots and the PDF go to <target>/test-artifacts
# (or $DENGBAO_ARTIFACTS).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/checks-lib.sh
source scripts/checks-lib.sh "$@"

venv="${DENGBAO_REPORT_VENV:-$HOME/.cache/dengbao/venv-report}"
requirements="scripts/report-requirements.txt"

# Debian packages.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    missing+=(fonts-noto-cjk)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
chromium="$(command -v chromium)"
log "chromium: $("$chromium" --version 2>/dev/null | head -n1)"

# The Python venv, rebuilt when the pinned requirements change.
stamp="$venv/.dengbao-requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null \
    || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "creating the venv $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        -r "$requirements" >&2
    "$venv/bin/python" -m pip check >&2
    echo "$want" >"$stamp"
fi
log "venv: $venv ($("$venv/bin/python" -c 'import openpyxl, importlib.metadata as m; print("openpyxl", openpyxl.__version__, "pydantic-ocsf", m.version("pydantic-ocsf"))'))"

exports_or_test "export DENGBAO_CHROMIUM='$chromium' DENGBAO_REPORT_PYTHON='$venv/bin/python' DENGBAO_REQUIRE_TOOLS=1" \
    "browser, openpyxl and OCSF checks required" --test report -- --nocapture
