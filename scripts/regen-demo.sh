#!/usr/bin/env bash
# Regenerates fixtures/demo-pack/ from a live scan of the `mixed` moto estate without databases
# (tests/moto/seed.py + tweaks.py no-databases), so the demo is exactly what `dengbao scan --provider aws` writes.
#
#   bash scripts/regen-demo.sh
#
# KMS is answered by a second moto server that enforces IAM and does not know the scanner's key, so the
# demo also shows what a failed probe looks like (403 InvalidClientTokenId → `error`, never a pass).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/moto.sh
export DENGBAO_MOTO_DIR="${DENGBAO_MOTO_DIR:-$(mktemp -d)}"
source scripts/moto.sh
moto_install
trap 'moto_stop_all; rm -rf "${work:-}"' EXIT
main_port="${DENGBAO_MOTO_PORT:-5520}"
kms_port="${DENGBAO_MOTO_DENIED_PORT:-5521}"
moto_start demo-main "$main_port"
moto_start demo-kms "$kms_port" INITIAL_NO_AUTH_ACTION_COUNT=3
moto_python tests/moto/seed.py --endpoint "http://127.0.0.1:$main_port" mixed >/dev/null
# The demo account runs no databases (its RDS rules have nothing in scope).
moto_python tests/moto/tweaks.py --endpoint "http://127.0.0.1:$main_port" no-databases >/dev/null
moto_python tests/moto/seed.py --endpoint "http://127.0.0.1:$kms_port" denied >/dev/null
# With every target, as scripts/test.sh builds it: the binary shares the tests' dependency build.
cargo build --quiet --locked --all-targets
work="$(mktemp -d)"
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
AWS_ENDPOINT_URL="http://127.0.0.1:$main_port" AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$kms_port" \
    "${CARGO_TARGET_DIR:-target}/debug/dengbao" scan --provider aws --regions cn-north-1,cn-northwest-1 \
    --max-attempts 2 --out "$work/scan" >/dev/null
rm -rf fixtures/demo-pack
cp -r "$work/scan/pack" fixtures/demo-pack
echo "fixtures/demo-pack regenerated: $(grep -c '"probe"' fixtures/demo-pack/manifest.json) records"
