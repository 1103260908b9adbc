#!/usr/bin/env bash
# Run the Pulumi CLI for this project, offline and self-contained:
# - the CLI and plugins come from `pulumi` on PATH, or else from the pinned toolchain that
#   tools/bootstrap-pulumi.sh builds from Go modules and caches (KEELSON_TOOLCHAIN=build forces it);
# - state lives in a file backend under .pulumi/ (git-ignored), plugins in .pulumi/home;
# - the four stacks (local, staging, production, cluster) are created on first use.
# Usage: tools/pulumi.sh <pulumi arguments...>     e.g. tools/pulumi.sh preview --stack staging
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ "${KEELSON_TOOLCHAIN:-auto}" == "build" ]] || ! command -v pulumi >/dev/null 2>&1; then
  bin_dir=$(tools/bootstrap-pulumi.sh --print-bin-dir 2>/dev/null || true)
  if [[ -z "$bin_dir" ]]; then
    tools/bootstrap-pulumi.sh >&2
    bin_dir=$(tools/bootstrap-pulumi.sh --print-bin-dir)
  fi
  export PATH="$bin_dir:$PATH"
  # Never reach out for plugins: the built ones are installed into PULUMI_HOME below.
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_IGNORE_AMBIENT_PLUGINS=true
fi

export PULUMI_HOME="${PULUMI_HOME:-$root/.pulumi/home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$root/.pulumi/state}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
# A preview persists nothing, yet the CLI (3.277) serializes and integrity-checks the whole state
# after each of its steps, then discards it: quadratic in the stack's size. Previews skip those
# checkpoints (the planned steps are the same: tests/test_engine.py); updates keep them, since
# they are the record of what a failed update already created. PULUMI_SKIP_CHECKPOINTS=false
# restores the CLI's default.
if [[ "${1:-}" == preview ]]; then
  export PULUMI_SKIP_CHECKPOINTS="${PULUMI_SKIP_CHECKPOINTS:-true}"
fi
# The example stacks' state and secure values are encrypted with this passphrase. It protects
# nothing real (the stack files hold placeholders): set your own before configuring real secrets.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-keelson-example}"
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}"

if [[ -n "${bin_dir:-}" ]]; then
  # shellcheck source=pulumi-versions.env
  . tools/pulumi-versions.env
  for plugin in "kubernetes $PULUMI_KUBERNETES_VERSION" "random $PULUMI_RANDOM_VERSION"; do
    read -r name version <<<"$plugin"
    if [[ ! -d "$PULUMI_HOME/plugins/resource-$name-v$version" ]]; then
      pulumi plugin install resource "$name" "$version" --file "$bin_dir/pulumi-resource-$name" >/dev/null
    fi
  done
fi

existing=$(pulumi stack ls --json 2>/dev/null || echo "[]")
for stack in local staging production cluster; do
  if ! grep -q "\"name\": \"$stack\"" <<<"$existing"; then
    pulumi stack init "$stack" --secrets-provider passphrase --non-interactive >/dev/null
  fi
done

# Render mode must never pick up a cluster from the environment.
if [[ " $* " == *" --stack local "* || " $* " == *" -s local "* ]]; then
  unset KUBECONFIG
fi
exec pulumi "$@"
