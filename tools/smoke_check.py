"""Post-deploy smoke check: did the release just applied really come up?

Reads the stack's outputs (the apps' namespace and in-cluster URLs, from `pulumi stack output`) and
asks the cluster the deploy went to, with kubectl and the KUBECONFIG in the environment:
  1. every app's Deployment (or StatefulSet) has rolled out: `kubectl rollout status` (new ReplicaSet, all replicas
     updated and available) within --timeout;
  2. (unless --no-http) every app answers its readiness path through the API server's Service
     proxy (GET /api/v1/namespaces/<ns>/services/<app>:http/proxy<path>), i.e. through the
     cluster's own network, without exposing anything.
Exits 0 when every check passes, 1 listing each failure (the deploy workflow then rolls back).

Usage: python tools/smoke_check.py --stack production [--outputs FILE] [--kubectl PATH]
                                   [--timeout 300] [--path /readyz] [--no-http]
--outputs reads the `pulumi stack output --json --show-secrets=false` document from a file instead
of running tools/pulumi.sh; --no-http is for clusters without a pod network (the local control
plane's fake nodes run no containers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stack_outputs(stack: str, outputs_file: str | None) -> dict:
    if outputs_file:
        return json.loads(Path(outputs_file).read_text())
    completed = subprocess.run(
        [str(ROOT / "tools" / "pulumi.sh"), "stack", "output", "--json", "--stack", stack],
        capture_output=True, text=True, check=False, timeout=300,
    )
    if completed.returncode != 0:
        raise SystemExit(f"smoke check: cannot read the outputs of stack {stack}:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def checks(outputs: dict, kubectl: str, timeout: int, path: str, http: bool) -> list[str]:
    """Every failed check, one line each."""
    namespace = outputs["namespaces"]["apps"]
    failures = []
    for app in sorted(outputs["appInternalUrls"]):
        # A HardenedApp is a Deployment, or a StatefulSet when it keeps state.
        for kind in ("deployment", "statefulset"):
            rollout = subprocess.run(
                [kubectl, "rollout", "status", f"{kind}/{app}", "-n", namespace, f"--timeout={timeout}s"],
                capture_output=True, text=True, check=False, timeout=timeout + 60,
            )
            if "NotFound" not in rollout.stderr:
                break
        if rollout.returncode != 0:
            failures.append(f"{namespace}/{app}: not rolled out: {(rollout.stderr or rollout.stdout).strip()[-500:]}")
            continue
        if http:
            probe = subprocess.run(
                [kubectl, "get", "--raw", f"/api/v1/namespaces/{namespace}/services/{app}:http/proxy{path}"],
                capture_output=True, text=True, check=False, timeout=60,
            )
            if probe.returncode != 0:
                failures.append(f"{namespace}/{app}: {path} through the Service failed: {probe.stderr.strip()[-500:]}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--outputs", help="a `pulumi stack output --json` document, instead of asking Pulumi")
    parser.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl")
    parser.add_argument("--timeout", type=int, default=300, help="seconds each rollout may take (default 300)")
    parser.add_argument("--path", default="/readyz", help="the apps' readiness path (default /readyz)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP check (clusters without a pod network)")
    options = parser.parse_args(argv)
    outputs = stack_outputs(options.stack, options.outputs)
    failures = checks(outputs, options.kubectl, options.timeout, options.path, not options.no_http)
    apps = len(outputs["appInternalUrls"])
    if failures:
        print(f"smoke check of stack {options.stack}: {len(failures)} of {apps} apps failed", file=sys.stderr)
        print("\n".join(failures), file=sys.stderr)
        return 1
    print(f"smoke check of stack {options.stack}: {apps} apps rolled out" + ("" if options.no_http else " and ready through their Services"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
