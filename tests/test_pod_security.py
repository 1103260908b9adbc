"""Every rendered pod template passes its namespace's Pod Security enforce level, and all but the documented
exceptions pass restricted@latest, as judged by the real admission library (k8s.io/pod-security-admission,
built into tools/psa-check); each exception is shown to be still needed, and the checker to be live."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import harness
from conftest import FIGURES

EXCEPTIONS = {
    ("DaemonSet", "fluent-bit"): "reads root-owned container logs through hostPath mounts of /var/log; "
    "runs in its own privileged namespace",
    ("DaemonSet", "node-exporter"): "shares the node's PID and network namespaces and reads / and /sys through "
    "read-only hostPath mounts; runs in its own privileged namespace",
}
"""Pod templates allowed to fail restricted@latest, by (kind, name) in any namespace, each with its reason.
They must still pass their own namespace's enforce level."""


@pytest.fixture(scope="module")
def psa_check() -> Path:
    """The psa-check binary (or $KEELSON_PSA_CHECK), or a failing test saying how to build it."""
    binary = harness.built_tool("psa-check", "bootstrap-psa-check.sh", "KEELSON_PSA_CHECK")
    if binary is None or not binary.exists():
        pytest.fail("psa-check is missing: run `make test` (or `make psa-check`, i.e. `tools/bootstrap-psa-check.sh`), "
                    "which builds tools/psa-check against k8s.io/pod-security-admission with `go build`")
    return binary


def run_check(psa_check: Path, directory: Path) -> tuple[int, list[dict]]:
    """psa-check's exit code and its report on every pod template under the directory."""
    completed = subprocess.run([str(psa_check), "--json", str(directory)], capture_output=True, text=True, timeout=300)
    assert completed.returncode in (0, 1), f"psa-check failed to run (exit {completed.returncode}):\n{completed.stderr}"
    return completed.returncode, [json.loads(line) for line in completed.stdout.splitlines()]


def identity(report: dict) -> str:
    return f"{report['kind']} {report['namespace']}/{report['name']}"


def excepted(report: dict) -> bool:
    return (report["kind"], report["name"]) in EXCEPTIONS


def passes_namespace(report: dict) -> bool:
    return not report.get("error") and report["namespaceLevel"]["allowed"]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@pytest.fixture(scope="module")
def judged(psa_check, mocked_manifest_dir) -> dict[str, tuple[int, list[dict]]]:
    """Per stack: psa-check's exit code and reports, with the stack's figures recorded."""
    results = {stack: run_check(psa_check, mocked_manifest_dir / stack) for stack in harness.STACKS}
    for stack, (_, reports) in results.items():
        exceptions = sorted({f"{r['kind']} {r['name']}" for r in reports if excepted(r)})
        FIGURES[f"pod security ({stack})"] = (
            f"{plural(len(reports), 'pod template')}; {sum(map(passes_namespace, reports))} pass their namespace's "
            f"enforce level; {sum(r['restricted']['allowed'] for r in reports)} pass restricted@latest; "
            f"{plural(len(exceptions), 'documented exception')}" + (f" ({', '.join(exceptions)})" if exceptions else "")
        )
        failing = [f"{identity(r)}: {r['restricted']['detail']}" for r in reports if not r["restricted"]["allowed"]]
        FIGURES[f"pod security ({stack}): failing restricted@latest"] = "; ".join(failing) or "none"
    return results


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_pod_template_passes_its_namespace_s_enforce_level(stack, judged):
    returncode, reports = judged[stack]
    assert reports, f"no pod template found in the {stack} manifests"
    failures = [
        f"{identity(r)}: {r['error'] or r['namespaceLevel']['level'] + ' forbids ' + r['namespaceLevel']['detail']}"
        for r in reports if not passes_namespace(r)
    ]
    assert not failures, f"pod templates their namespace's Pod Security admission would reject ({stack}):\n" + "\n".join(
        failures
    )
    assert returncode == 0, "psa-check exited 1 although every template passed"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_pod_template_but_the_documented_exceptions_passes_restricted_at_latest(stack, judged):
    _, reports = judged[stack]
    failures = [f"{identity(r)}: {r['restricted']['detail']}" for r in reports
                if not r["restricted"]["allowed"] and not excepted(r)]
    assert not failures, f"pod templates restricted@latest rejects ({stack}):\n" + "\n".join(failures)


def test_every_documented_exception_is_still_needed_and_gives_its_reason(judged):
    """An exception whose template is gone, or passes restricted@latest in some stack, is stale and must go."""
    for (kind, name), reason in EXCEPTIONS.items():
        assert reason.strip(), f"the exception for {kind} {name} gives no reason"
        matching = [(stack, r) for stack, (_, reports) in judged.items() for r in reports if (r["kind"], r["name"]) == (kind, name)]
        assert matching, f"the exception for {kind} {name} is stale: no stack renders it"
        passing = [stack for stack, r in matching if r["restricted"]["allowed"]]
        assert not passing, f"the exception for {kind} {name} is stale: it passes restricted@latest in {passing}"


def namespace(name: str, level: str) -> str:
    return f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {{pod-security.kubernetes.io/enforce: {level}}}}}
"""


def pod(namespace_name: str, spec: str) -> str:
    return f"""\
---
apiVersion: v1
kind: Pod
metadata: {{name: probe, namespace: {namespace_name}}}
spec:
{spec}"""


PRIVILEGED_HOST_NETWORK = """\
  hostNetwork: true
  containers:
    - {name: app, image: registry.example/app:1.0, securityContext: {privileged: true}}
"""

PLAIN = """\
  containers:
    - {name: app, image: registry.example/app:1.0}
"""


def test_psa_check_is_live_a_privileged_host_network_pod_in_a_restricted_namespace_fails(psa_check, tmp_path):
    (tmp_path / "pod.yaml").write_text(namespace("strict", "restricted") + pod("strict", PRIVILEGED_HOST_NETWORK))
    returncode, (report,) = run_check(psa_check, tmp_path)
    verdict = report["namespaceLevel"]
    assert returncode == 1 and verdict["level"] == "restricted:latest" and not verdict["allowed"], report
    assert {"host namespaces", "privileged"} <= set(verdict["reasons"]), verdict
    assert "hostNetwork=true" in verdict["detail"] and "privileged=true" in verdict["detail"], verdict


def test_namespace_levels_are_read_a_baseline_namespace_admits_a_pod_restricted_rejects(psa_check, tmp_path):
    (tmp_path / "pod.yaml").write_text(namespace("relaxed", "baseline") + pod("relaxed", PLAIN))
    returncode, (report,) = run_check(psa_check, tmp_path)
    assert returncode == 0 and report["namespaceLevel"] == {"level": "baseline:latest", "allowed": True}, report
    assert not report["restricted"]["allowed"] and "runAsNonRoot != true" in report["restricted"]["reasons"], report


def test_a_pod_template_whose_namespace_is_not_in_the_manifests_fails_naming_it(psa_check, tmp_path):
    (tmp_path / "pod.yaml").write_text(pod("nowhere", PLAIN))
    returncode, (report,) = run_check(psa_check, tmp_path)
    assert returncode == 1 and report["namespaceLevel"] is None and "nowhere" in report["error"], report
