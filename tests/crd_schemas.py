"""cert-manager's own CRD schemas, fetched for the pinned version, as strict JSON-schema validators.

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
from components.builders import cert_manager

FETCH_SCRIPT = harness.ROOT / "tools" / "fetch-cert-manager-crds.sh"
CERT_MANAGER_KINDS = {"ClusterIssuer", "Issuer", "Certificate", "CertificateRequest", "Order", "Challenge"}


def fetch_crd_dir() -> Path:
    """The CRDs of the pinned cert-manager version, fetched (once, then cached) by the tools script."""
    version = cert_manager.CERT_MANAGER_VERSION
    how = (
        f"get them with `tools/fetch-cert-manager-crds.sh {version}` (needs Go and the Go module proxy; "
        f"it caches them under ${{XDG_CACHE_HOME:-$HOME/.cache}}/keelson/cert-manager-crds/{version}/)"
    )
    try:
        result = subprocess.run(
            ["bash", str(FETCH_SCRIPT), version], capture_output=True, text=True, timeout=300, env=os.environ.copy()
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not run {FETCH_SCRIPT.name} ({error}); {how}")
    if result.returncode != 0:
        pytest.fail(f"cert-manager v{version} CRDs are missing: {result.stderr.strip()}\n{how}")
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


def load_crd_validators(crd_dir: Path) -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """A strict validator per (apiVersion, kind) served by the fetched CRDs."""
    validators = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                validators[key] = jsonschema.Draft7Validator(schema)
    assert ("cert-manager.io/v1", "ClusterIssuer") in validators, f"no ClusterIssuer CRD in {crd_dir}"
    return validators


def crd_errors(validators, manifest: dict) -> list[str]:
    """Return the schema violations of one cert-manager object ([] when valid)."""
    validator = validators.get((manifest["apiVersion"], manifest["kind"]))
    if validator is None:
        return [f"no CRD serves {manifest['apiVersion']} {manifest['kind']}"]
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


