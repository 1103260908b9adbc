"""A local Kubernetes control plane for the tests: tools/local-cluster.sh on its own folder and ports,
and a kubectl bound to it.

The control plane is real (etcd, kube-apiserver with RBAC and Pod Security admission, the controller
manager, the scheduler); kwok plays the nodes' kubelets, so pods go Running/Ready without running.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import ROOT

PORT_BASE = os.environ.get("KEELSON_TEST_CLUSTER_PORT_BASE", "17000")
"""The tests' cluster listens on 17xxx, so a user's `make cluster-up` (16xxx) can run beside it
(KEELSON_TEST_CLUSTER_PORT_BASE moves it, for two test runs at once)."""

KEELSON_SELECTOR = "app.kubernetes.io/part-of=keelson"


def kubernetes_bin_dir() -> Path:
    """The folder of the built control plane, or a failing test saying how to build it."""
    completed = subprocess.run(
        [str(ROOT / "tools" / "bootstrap-kubernetes.sh"), "--print-bin-dir"], capture_output=True, text=True
    )
    if completed.returncode != 0:
        pytest.fail(
            "the local Kubernetes control plane is not built: run `make kubernetes` "
            "(tools/bootstrap-kubernetes.sh builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, "
            "kubectl and kwok from Go modules, about 20 minutes cold)"
        )
    return Path(completed.stdout.strip().splitlines()[-1])


@dataclass
class Cluster:
    """A running local control plane."""

    directory: Path
    kubeconfig: Path
    bin_dir: Path
    status: dict[str, str]

    @classmethod
    def start(cls, directory: Path) -> "Cluster":
        bin_dir = kubernetes_bin_dir()
        completed = subprocess.run(
            [str(ROOT / "tools" / "local-cluster.sh"), "up"],
            env=cls._env(directory), capture_output=True, text=True, timeout=900,
        )
        if completed.returncode != 0:
            pytest.fail(f"the local control plane did not start:\n{completed.stderr[-6000:]}")
        status = dict(
            line.split("=", 1) for line in (directory / "status").read_text().splitlines() if "=" in line
        )
        return cls(directory, Path(completed.stdout.strip().splitlines()[-1]), bin_dir, status)

    def stop(self) -> None:
        subprocess.run(
            [str(ROOT / "tools" / "local-cluster.sh"), "down"], env=self._env(self.directory),
            capture_output=True, text=True, timeout=120,
        )

    @staticmethod
    def _env(directory: Path) -> dict[str, str]:
        return {**os.environ, "KEELSON_CLUSTER_DIR": str(directory), "KEELSON_CLUSTER_PORT_BASE": PORT_BASE}

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if check and completed.returncode != 0:
            raise AssertionError(f"`kubectl {' '.join(args)}` exited {completed.returncode}:\n{completed.stderr[-3000:]}")
        return completed

    def get(self, *args: str) -> list[dict]:
        """The objects `kubectl get ARGS -o json` returns."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)["items"]

    def can_i(self, subject: str, verb: str, resource: str, namespace: str | None = None) -> bool:
        """Whether RBAC allows 'subject' the request (`kubectl auth can-i` asks the API server: a
        SubjectAccessReview answered by the real authorizer)."""
        where = ["--namespace", namespace] if namespace else ["--all-namespaces"]
        completed = self.kubectl("auth", "can-i", verb, resource, "--as", subject, *where, check=False)
        answer = completed.stdout.strip()
        assert answer in ("yes", "no"), f"kubectl auth can-i {verb} {resource} --as {subject}: {completed.stderr}"
        return answer == "yes"

    def keelson_objects(self, kinds: set[str]) -> Counter:
        """(kind, namespace, name) of every object of these kinds that carries Keelson's part-of label."""
        found: Counter = Counter()
        resources = self.resource_names(kinds)
        for kind, resource in sorted(resources.items()):
            for item in self.get(resource, "--all-namespaces", "-l", KEELSON_SELECTOR):
                metadata = item["metadata"]
                found[(kind, metadata.get("namespace"), metadata["name"])] += 1
        return found

    def resource_names(self, kinds: set[str]) -> dict[str, str]:
        """kind -> the fully qualified resource name kubectl takes (e.g. ingresses.networking.k8s.io)."""
        listing = self.kubectl("api-resources", "--verbs", "list", "-o", "wide", "--no-headers").stdout
        names: dict[str, str] = {}
        for line in listing.splitlines():
            fields = line.split()
            # NAME [SHORTNAMES] APIVERSION NAMESPACED KIND VERBS...
            namespaced_at = next(i for i, field in enumerate(fields) if field in ("true", "false"))
            name, api_version, kind = fields[0], fields[namespaced_at - 1], fields[namespaced_at + 1]
            group = api_version.split("/")[0] if "/" in api_version else ""
            if kind in kinds and kind not in names:
                names[kind] = f"{name}.{group}" if group else name
        missing = kinds - names.keys()
        assert not missing, f"the API server serves no resource for the kinds {sorted(missing)}"
        return names
