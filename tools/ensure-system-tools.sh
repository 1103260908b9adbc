#!/usr/bin/env bash
# Install the real Prometheus tools the tests run (promtool, prometheus, amtool) from Debian's
# packages when they are missing. Needs root (as in CI) or sudo.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# --no-install-recommends keeps it to the binaries; the services are not started by the tests.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the daemons on install; the tests start their own on loopback ports.
for service in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl stop "$service" 2>/dev/null || true; fi
done
