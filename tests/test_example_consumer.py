"""Keelson as a library: the wheel installs into a fresh virtualenv and `import keelson` works from
outside the repo, and the example consumer project (examples/consumer) runs under mocks, previews
with the real engine on a render-mode provider, and deploys into the local cluster."""

from __future__ import annotations

import hashlib
import os
import runpy
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import harness
from conftest import BUILD, FIGURES
from engine import Project

EXAMPLE = harness.ROOT / "examples" / "consumer"
CONSUMER_VENV = BUILD / "consumer-venv"
WHEEL_SOURCES = ("pyproject.toml", "README.md", "components")
"""What the wheel is built from: a copy of these keeps build artifacts out of the work tree (the
`keelson` symlink is left out: the build maps the `keelson` package to components/)."""


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert completed.returncode == 0, f"`{' '.join(command)}` exited {completed.returncode}:\n{completed.stderr[-4000:]}"
    return completed


def _venv_key() -> str:
    """What the cached virtualenv's dependencies depend on: the pins, the declared deps and Python."""
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((harness.ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the repo, built like `pip wheel --no-deps .` from a copy of its package sources."""
    source = tmp_path_factory.mktemp("keelson-source")
    for name in WHEEL_SOURCES:
        path = harness.ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--quiet", "-w", str(out), str(source)])
    (built,) = out.glob("keelson-*.whl")
    return built


@pytest.fixture(scope="module")
def consumer_python(wheel) -> Path:
    """A virtualenv outside the repo's with only the wheel and the dependencies it declares, at the
    versions requirements.txt pins (cached under build/consumer-venv; the wheel is reinstalled every run)."""
    python = CONSUMER_VENV / "bin" / "python"
    marker = CONSUMER_VENV / ".keelson-deps"
    key = _venv_key()
    if not python.exists() or not marker.exists() or marker.read_text() != key:
        shutil.rmtree(CONSUMER_VENV, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(CONSUMER_VENV)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "-c", str(harness.ROOT / "requirements.txt"), str(wheel)])
        marker.write_text(key)
    else:
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
              "--force-reinstall", str(wheel)])
    return python


IMPORT_PROBE = """
import importlib.metadata, importlib.resources, importlib.util, json
import keelson
from keelson import HardenedApp, GovernedNamespace
print(json.dumps({
    "file": keelson.__file__,
    "version": keelson.__version__,
    "distribution": importlib.metadata.version("keelson"),
    "exported": sorted(name for name in keelson.__all__ if hasattr(keelson, name)),
    "lua": sorted(p.name for p in importlib.resources.files("keelson.logging").iterdir() if p.name.endswith(".lua")),
    "rule_tests": len(list((importlib.resources.files("keelson.monitoring.rules") / "tests").iterdir())),
    "top_level": sorted(importlib.metadata.distribution("keelson").read_text("top_level.txt").split()),
    "components_importable": importlib.util.find_spec("components") is not None,
}))
"""


def test_the_wheel_installs_into_a_fresh_virtualenv_and_imports_from_outside_the_repo(consumer_python, tmp_path):
    import json

    import keelson

    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    completed = _run([str(consumer_python), "-c", IMPORT_PROBE], cwd=tmp_path, env=env)
    found = json.loads(completed.stdout)
    assert Path(found["file"]).is_relative_to(CONSUMER_VENV), f"imported from {found['file']}, not from the installed wheel"
    assert found["version"] == found["distribution"] == keelson.__version__
    assert found["exported"] == sorted(keelson.__all__), "the installed package lacks part of the public API"
    assert found["lua"], "the Fluent Bit Lua filter (package data) is missing from the wheel"
    assert found["rule_tests"] > 0, "the promtool rule tests (package data) are missing from the wheel"
    # One import name of its own: no `components` package to shadow (or be shadowed by) a consumer's.
    assert found["top_level"] == ["keelson"] and not found["components_importable"], found
    FIGURES["wheel (fresh virtualenv)"] = f"keelson {found['distribution']} imports from build/consumer-venv, {len(found['exported'])} public names"


def run_example() -> list[harness.Registered]:
    return harness.run(lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"),
                       config={"shop:renderDir": "rendered"})


def test_the_example_consumer_builds_a_hardened_app_in_a_governed_namespace_under_mocks():
    registered = run_example()
    types = [resource.type for resource in registered]
    assert types.count("keelson:index:HardenedApp") == 1 and types.count("keelson:index:GovernedNamespace") == 1
    provider = next(resource for resource in registered if resource.type == "pulumi:providers:kubernetes")
    assert provider.inputs.get("renderYamlToDirectory") == "rendered"
    objects = harness.kubernetes_objects(registered)
    kinds = {resource.kind for resource in objects}
    assert {"Namespace", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "NetworkPolicy"} <= kinds
    assert {resource.manifest["metadata"].get("namespace", "shop") for resource in objects if resource.kind != "Namespace"} == {"shop"}


def ExampleCopy(workdir: Path, python: Path) -> Project:  # noqa: N802 - reads like the class it returns
    """examples/consumer copied to a temp dir, on the consumer virtualenv, with Project's offline backend."""
    return Project(workdir, source=EXAMPLE, venv=python.parent.parent, render_stacks=("dev",))


def test_the_real_engine_previews_the_example_on_a_render_mode_provider(consumer_python, tmp_path):
    project = ExampleCopy(tmp_path, consumer_python)
    project.init_stack("dev")
    preview = project.pulumi("preview", "--stack", "dev")
    expected = len(run_example()) + 1  # every registered resource, plus the Stack
    FIGURES["engine: example consumer preview"] = preview.summary().replace("\n", " ")
    assert f"+ {expected} to create" in preview.summary(), preview.output[-4000:]
    assert "storefront" in preview.stdout and "shop.example.com" in preview.stdout


def test_the_example_consumer_deploys_into_the_local_cluster_and_destroys_cleanly(consumer_python, cluster, tmp_path):
    project = Project(tmp_path, source=EXAMPLE, venv=consumer_python.parent.parent, render_stacks=(),
                      kubeconfig=cluster.kubeconfig)
    # A stack without shop:renderDir deploys with the ambient kubeconfig: here, the local cluster's.
    project.init_stack("cluster")
    registered = harness.run(lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"))
    up = project.pulumi("up", "--stack", "cluster", "--yes", "--skip-preview", check=False, timeout=1200)
    FIGURES["cluster: example consumer pulumi up"] = " ".join(up.summary().split())
    assert up.returncode == 0, up.output[-6000:]
    assert f"+ {len(registered) + 1} created" in up.summary(), up.output[-4000:]
    (storefront,) = cluster.get("deployments", "--namespace", "shop")
    assert storefront["status"].get("availableReplicas") == storefront["spec"]["replicas"] == 2
    destroy = project.pulumi("destroy", "--stack", "cluster", "--yes", "--skip-preview", check=False, timeout=1200)
    assert destroy.returncode == 0, destroy.output[-6000:]
    assert "shop" not in {namespace["metadata"]["name"] for namespace in cluster.get("namespaces")}
