"""Every rendered manifest validates strictly against the official Kubernetes schemas, and the
checkov suite finds nothing to fail on them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import harness
from conftest import FIGURES
from crd_schemas import crd_errors

KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
"""The oldest Kubernetes minor Keelson supports, and the newest the schemas know."""

CHECKOV_CONFIG = harness.ROOT / ".checkov.yaml"


def _manifests(directory: Path) -> list[tuple[Path, dict]]:
    return [(path, yaml.safe_load(path.read_text())) for path in sorted(directory.rglob("*.yaml"))]


def schema_errors(manifest: dict, crd_validators) -> tuple[str, list[str]]:
    """Validate one manifest strictly: Kubernetes kinds against the official schemas of every
    supported version, custom resources (cert-manager, prometheus-operator, Velero) against their projects' own
    CRDs. Returns (source, errors)."""
    if manifest["apiVersion"].startswith(("cert-manager.io/", "monitoring.coreos.com/", "velero.io/")):
        return "CRD", crd_errors(crd_validators, manifest)
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            errors.append(f"Kubernetes {version}: {error}")
    return "Kubernetes", errors


def test_every_manifest_validates_strictly_against_the_official_schemas(mocked_manifest_dir, crd_validators):
    manifests = _manifests(mocked_manifest_dir)
    assert len(manifests) >= 3 * 20, f"suspiciously few manifests rendered: {len(manifests)}"
    failures = []
    sources: dict[str, int] = {}
    for path, manifest in manifests:
        source, errors = schema_errors(manifest, crd_validators)
        sources[source] = sources.get(source, 0) + 1
        failures.extend(f"{path.relative_to(mocked_manifest_dir)} ({error})" for error in errors)
    FIGURES["schema-validated manifests (mocked program)"] = (
        f"{len(manifests)} manifests, strict: {sources.get('Kubernetes', 0)} against the Kubernetes "
        f"{' and '.join(KUBERNETES_VERSIONS)} schemas, {sources.get('CRD', 0)} against their projects' CRDs "
        f"(cert-manager, prometheus-operator, Velero); {len(failures)} failures"
    )
    assert not failures, "manifests rejected by the official schemas:\n" + "\n".join(failures)


def test_schema_validation_rejects_a_misspelled_field():
    """The validator is live: a typo in a real manifest must fail strict validation."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolice": "Always"}]}}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSIONS[0], strict=True)


def checkov_binary() -> str:
    candidates = [os.environ.get("KEELSON_CHECKOV"), str(harness.ROOT / ".venv-checkov" / "bin" / "checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("checkov")
    if found:
        return found
    pytest.fail(
        "checkov is not installed. Run `make test` (it creates .venv-checkov with the pinned checkov), "
        "or `python3 -m venv .venv-checkov && .venv-checkov/bin/pip install -r requirements-checkov.txt`."
    )


def run_checkov(directory: Path) -> dict:
    completed = subprocess.run(
        [
            checkov_binary(),
            "--directory", str(directory),
            "--framework", "kubernetes",
            "--config-file", str(CHECKOV_CONFIG),
            "--output", "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert completed.stdout.strip(), f"checkov printed nothing (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    return {
        "passed": sum(item["summary"]["passed"] for item in reports),
        "failed": sum(item["summary"]["failed"] for item in reports),
        "skipped": sum(item["summary"]["skipped"] for item in reports),
        "failures": [
            f"{check['check_id']} {check['check_name']} in {check['file_path']} ({check['resource']})"
            for item in reports
            for check in item["results"]["failed_checks"]
        ],
    }


def test_checkov_finds_no_failed_check(mocked_manifest_dir):
    result = run_checkov(mocked_manifest_dir)
    disabled = yaml.safe_load(CHECKOV_CONFIG.read_text()).get("skip-check") or []
    FIGURES["checkov (mocked program)"] = (
        f"{result['passed']} passed, {result['failed']} failed "
        f"({len(disabled)} checks disabled in .checkov.yaml, each with its reason)"
    )
    assert result["passed"] > 0, "checkov ran no check at all"
    assert result["failed"] == 0, "checkov failed checks:\n" + "\n".join(result["failures"])


ROOT_ALLOWED = {("DaemonSet", "log-collector", "fluent-bit")}
"""Workloads allowed to run as root, each for a reason documented in .checkov.yaml."""


def test_every_workload_but_the_log_collector_runs_as_a_high_non_root_uid(mocked_manifest_dir):
    """What the two checkov checks disabled for the log collector keep enforcing everywhere else."""
    offenders = []
    checked = 0
    for path, manifest in _manifests(mocked_manifest_dir):
        if manifest["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            continue
        identity = (manifest["kind"], manifest["metadata"].get("namespace"), manifest["metadata"]["name"])
        if identity in ROOT_ALLOWED:
            continue
        checked += 1
        spec = manifest["spec"]["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else manifest["spec"]
        pod = spec["template"]["spec"]
        for container in pod["containers"]:
            context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            if context.get("runAsNonRoot") is not True or context.get("runAsUser", 0) < 10000:
                offenders.append(f"{path.relative_to(mocked_manifest_dir)}: {container['name']}")
    assert checked >= 15, f"only {checked} workloads checked"
    assert not offenders, "workloads that may run as root or with a low UID:\n" + "\n".join(offenders)
