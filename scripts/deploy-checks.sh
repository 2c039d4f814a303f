#!/usr/bin/env bash
# Checks the scheduling recipes in deploy/ with the tools their platforms ship:
#   * the systemd units with `systemd-analyze verify` (Debian package `systemd`, installed when missing);
#   * the Kubernetes CronJob against the Kubernetes schema with `kubernetes-validate` (PyPI, pinned, in a
#     venv at ${DENGBAO_DEPLOY_VENV:-$HOME/.cache/dengbao/venv-deploy}).
#
#   bash scripts/deploy-checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes version whose schema the CronJob must satisfy.
KUBERNETES_VERSION=1.33.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
    log "apt-get install systemd"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y systemd >/dev/null \
        || { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y systemd >/dev/null; }
fi
log "systemd-analyze verify deploy/systemd/*"
systemd-analyze verify deploy/systemd/dengbao-selfcheck.service deploy/systemd/dengbao-selfcheck.timer

venv="${DENGBAO_DEPLOY_VENV:-$HOME/.cache/dengbao/venv-deploy}"
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
    log "venv with kubernetes-validate $KUBERNETES_VALIDATE_VERSION at $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
log "kubernetes-validate deploy/kubernetes/cronjob.yaml (Kubernetes $KUBERNETES_VERSION, strict)"
"$venv/bin/kubernetes-validate" --strict --kubernetes-version "$KUBERNETES_VERSION" deploy/kubernetes/cronjob.yaml

log "crontab line: five time fields and a dengbao command"
grep -Ev '^(#|[A-Z_]+=|$)' deploy/crontab | awk 'NF < 6 || $6 !~ /dengbao$/ { print "deploy/crontab: bad line: " $0; bad = 1 } END { exit bad }'
