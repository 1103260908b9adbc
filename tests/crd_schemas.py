"""cert-manager's, prometheus-operator's and Velero's own CRD schemas, fetched for the pinned version, as strict JSON-schema validators.

The fixtures live in conftest.py; the helpers here are shared by every test that renders
cert-manager objects (the CertIssuer tests and the whole-program manifest checks).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import harness
from keelson.builders import cert_manager

FETCH_SCRIPT = harness.ROOT / "tools" / "fetch-crds.sh"
CERT_MANAGER_KINDS = {"ClusterIssuer", "Issuer", "Certificate", "CertificateRequest", "Order", "Challenge"}


def pinned_versions() -> dict[str, str]:
    """The CRD sources Keelson renders objects for, with the versions it pins."""
    from keelson.backups import VELERO_VERSION
    from keelson.monitoring.operator import PROMETHEUS_OPERATOR_VERSION

    return {
        "cert-manager": cert_manager.CERT_MANAGER_VERSION,
        "prometheus-operator": PROMETHEUS_OPERATOR_VERSION,
        "velero": VELERO_VERSION,
    }


def fetch_crd_dir(project: str = "cert-manager") -> Path:
    """The CRDs of a project's pinned version, fetched (once, then cached) by tools/fetch-crds.sh."""
    version = pinned_versions()[project]
    how = (
        f"get them with `tools/fetch-crds.sh {project} {version}` (needs Go and the Go module proxy; "
        f"it caches them under ${{XDG_CACHE_HOME:-$HOME/.cache}}/keelson/{project}-crds/{version}/)"
    )
    try:
        result = subprocess.run(
            ["bash", str(FETCH_SCRIPT), project, version],
            capture_output=True, text=True, timeout=300, env=os.environ.copy(),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not run {FETCH_SCRIPT.name} ({error}); {how}")
    if result.returncode != 0:
        pytest.fail(f"{project} v{version} CRDs are missing: {result.stderr.strip()}\n{how}")
    directory = Path(result.stdout.strip().splitlines()[-1])
    if not list(directory.glob("*.yaml")):
        pytest.fail(f"no CRD YAML in {directory}; {how}")
    return directory


def strict(schema: Any) -> Any:
    """Return the schema with additionalProperties false wherever it lists properties and does not
    preserve unknown fields, so a misspelled field is an error (as kubectl --validate=strict does)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items() if key != "properties"}
    if "properties" in schema:
        result["properties"] = {name: strict(value) for name, value in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema:
            result["additionalProperties"] = False
    return result


class _CrdLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading a bare '=' (an enum value in the relabeling CRDs) as the string
    it is in YAML 1.2 instead of YAML 1.1's 'value' tag."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load_crd_validators(*crd_dirs: Path) -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """A strict validator per (apiVersion, kind) served by the fetched CRDs."""
    validators = {}
    for path in sorted(path for crd_dir in crd_dirs for path in crd_dir.glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                validators[key] = jsonschema.Draft7Validator(schema)
    assert ("cert-manager.io/v1", "ClusterIssuer") in validators, f"no ClusterIssuer CRD in {crd_dirs}"
    return validators


def crd_errors(validators, manifest: dict) -> list[str]:
    """Return the schema violations of one custom resource ([] when valid)."""
    validator = validators.get((manifest["apiVersion"], manifest["kind"]))
    if validator is None:
        return [f"no CRD serves {manifest['apiVersion']} {manifest['kind']}"]
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


