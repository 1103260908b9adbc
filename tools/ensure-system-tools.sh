#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing: lua5.4, which runs the Fluent
# Bit severity filter (components/logging/normalize.lua) against sample records, shellcheck,
# which actionlint runs on the workflows' scripts, and openssl, which makes the local cluster's
# certificates (tools/local-cluster.sh), and Node.js with npm, which run the TypeScript example
# consumer (examples/ts-consumer). Needs root (as in CI) or sudo.
set -euo pipefail
missing=()
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
((${#missing[@]} == 0)) && exit 0
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
