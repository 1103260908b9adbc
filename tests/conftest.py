"""Shared fixtures: stack configs and the whole program's registrations per stack, computed once."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The CRDs of the pinned cert-manager version (fetched once, then cached)."""
    from crd_schemas import fetch_crd_dir

    return fetch_crd_dir()


@pytest.fixture(scope="session")
def crd_validators(crd_dir):
    """A strict validator per (apiVersion, kind) served by the cert-manager, prometheus-operator and Velero CRDs."""
    from crd_schemas import fetch_crd_dir, load_crd_validators

    return load_crd_validators(crd_dir, fetch_crd_dir("prometheus-operator"), fetch_crd_dir("velero"))


@pytest.fixture
def staging_config() -> dict:
    """A fresh, mutable copy of the staging stack's config."""
    return copy.deepcopy(harness.stack_config("staging"))


@pytest.fixture(scope="session")
def program_resources() -> dict[str, list[harness.Registered]]:
    """Every resource __main__.py registers, per stack, with that stack's real config file."""
    return {stack: harness.run_program(stack) for stack in harness.STACKS}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A fresh local control plane (tools/local-cluster.sh) shared by the tests that deploy to it,
    stopped and deleted at the end of the run."""
    from cluster import Cluster

    started = Cluster.start(tmp_path_factory.mktemp("cluster") / "state")
    FIGURES["cluster: control plane"] = (
        f"Kubernetes {started.status['kubernetes']} at {started.status['api_server']}, ready in "
        f"{started.status['started_seconds']}s, {started.status['memory_mib']} MiB resident"
    )
    yield started
    started.stop()


BUILD = TESTS.parent / "build"
FIGURES: dict[str, str] = {}
"""Figures the layers report (manifest counts, checkov results), printed at the end of the run."""


@pytest.fixture(scope="session")
def mocked_manifest_dir(program_resources, tmp_path_factory) -> Path:
    """Every Kubernetes object of every stack, one YAML file each, under build/manifests/mocked/<stack>/."""
    import shutil

    import yaml

    root = BUILD / "manifests" / "mocked"
    shutil.rmtree(root, ignore_errors=True)
    for stack, registered in program_resources.items():
        folder = root / stack
        folder.mkdir(parents=True)
        for resource in harness.kubernetes_objects(registered):
            manifest = resource.manifest
            metadata = manifest["metadata"]
            filename = "-".join(filter(None, [manifest["kind"].lower(), metadata.get("namespace"), metadata["name"]]))
            (folder / f"{filename}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("keelson figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
