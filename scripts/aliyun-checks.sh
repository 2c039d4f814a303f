#!/usr/bin/env bash
# Installs the Python side of the Alibaba Cloud tests, regenerates the signature vectors with the official
# SDK, and runs the Alibaba Cloud tests with them.
#
#   bash scripts/aliyun-checks.sh            install (idempotent), regenerate, then the aliyun tests
#   bash scripts/aliyun-checks.sh --env      install and regenerate, then print the exports for a later
#                                            `cargo test` (scripts/test.sh evals them before the whole suite)
#
# Installs a venv at ${DENGBAO_ALIYUN_VENV:-$HOME/.cache/dengbao/venv-aliyun-HASH} with the pinned packages of
# scripts/aliyun-requirements.txt (alibabacloud-tea-openapi and the product SDKs). HASH is the start of that
# file's SHA-256, so checkouts with different pins (branches built side by side) never rebuild each other's
# venv or overwrite each other's vectors. Everything runs on 127.0.0.1; nothing here talks to Alibaba Cloud.
#
# Exports DENGBAO_ALIYUN_PYTHON (the venv's python; tests start tests/aliyun/server.py with it),
# DENGBAO_ALIYUN_VECTORS (the vectors just written by tests/aliyun/gen_vectors.py), DENGBAO_ALIYUN_SLS_VECTORS
# (the SLS signature vectors written by tests/aliyun/gen_sls_vectors.py), DENGBAO_ALIYUN_OSS_VECTORS (the OSS V4
# signature vectors written by tests/aliyun/gen_oss_vectors.py) and
# DENGBAO_REQUIRE_ALIYUN=1: with it the Alibaba Cloud tests fail, rather than skip, when a piece is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/checks-lib.sh
source scripts/checks-lib.sh "$@"

requirements="scripts/aliyun-requirements.txt"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
venv="${DENGBAO_ALIYUN_VENV:-$HOME/.cache/dengbao/venv-aliyun-${want:0:12}}"
stamp="$venv/.dengbao-requirements.sha256"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null \
    || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "creating the venv $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
    "$venv/bin/python" -m pip check >&2
    echo "$want" >"$stamp"
fi
python="$venv/bin/python"
log "venv: $venv ($("$python" -c 'import importlib.metadata as m; print("alibabacloud-tea-openapi", m.version("alibabacloud-tea-openapi"))'))"

# Written beside the venv (overwritten each run), so nothing is left behind in /tmp. The committed file must
# be exactly what the pinned SDK writes (tests/aliyun_signing.rs checks it too).
regenerate() { # OUT GENERATOR COMMITTED WHAT
    "$python" "$2" "$1"
    if ! cmp -s "$1" "$3"; then
        log "the $4 writes different vectors than $3 holds:"
        diff -u "$3" "$1" >&2 || true
        exit 1
    fi
}
vectors="${DENGBAO_ALIYUN_VECTORS:-$venv/vectors.json}"
regenerate "$vectors" tests/aliyun/gen_vectors.py tests/aliyun/vectors.json SDK
# The SLS signature (LOG scheme) from the official SLS SDK's own gateway signer.
sls_vectors="${DENGBAO_ALIYUN_SLS_VECTORS:-$venv/sls_vectors.json}"
regenerate "$sls_vectors" tests/aliyun/gen_sls_vectors.py tests/aliyun/sls_vectors.json "SLS SDK"

# The OSS V4 signature (OSS4-HMAC-SHA256) from the official OSS SDK V2's own signer.
oss_vectors="${DENGBAO_ALIYUN_OSS_VECTORS:-$venv/oss_vectors.json}"
regenerate "$oss_vectors" tests/aliyun/gen_oss_vectors.py tests/aliyun/oss_vectors.json "OSS SDK"

exports_or_test "export DENGBAO_ALIYUN_PYTHON='$python' DENGBAO_ALIYUN_VECTORS='$vectors' DENGBAO_ALIYUN_SLS_VECTORS='$sls_vectors' DENGBAO_ALIYUN_OSS_VECTORS='$oss_vectors' DENGBAO_REQUIRE_ALIYUN=1" \
    "Alibaba Cloud: signing, scans against the local server, mappings" --test aliyun_signing --test aliyun_scan --test aliyun_mappings
