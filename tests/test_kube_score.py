"""kube-score (the pinned version tools/bootstrap-kube-score.sh builds) finds no CRITICAL and no WARNING
in the rendered staging and production manifests; the only tests it does not run are the ones
.kube-score.yaml skips, each with its reason, and each skip is shown to name a real kube-score test
that still fires without it, and only on the objects the skip names. A deliberately bad Deployment
shows the tool is live."""

from __future__ import annotations

import csv
import json
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from conftest import FIGURES
from harness import ROOT, built_tool

CONFIG = ROOT / ".kube-score.yaml"
STACKS = ("staging", "production")
KUBERNETES_VERSION = "v1.33"
"""The oldest Kubernetes minor Keelson supports (tests/test_manifests.py): stable-version judges apiVersions by it."""

OPTIONAL_TESTS = (
    "container-seccomp-profile",  # the restricted Pod Security Standard requires a seccomp profile
    "container-ports-check",  # container ports are named (NetworkPolicies and probes refer to them) and valid
    "container-ephemeral-storage-request-equals-limit",  # the node's disk is never overcommitted: no eviction by a neighbour
)
"""Optional kube-score tests a hardened platform should pass. Left off: container-memory-requests-equal-limits
and container-resource-requests-equal-limits, because memory may burst by design up to each namespace's
LimitRange maxLimitRequestRatio (settings validate it), and container-cpu-requests-equal-limits: CPU is
compressible, and a limit equal to the request only adds throttling."""

BLOCKING = ("CRITICAL", "WARNING")
GRADES = {1: "CRITICAL", 5: "WARNING"}  # kube-score's scorecard.Grade; 7 and 10 are OK


def skips() -> list[dict]:
    """The entries of .kube-score.yaml: [{test: <kube-score test id>, reason: ..., objects: [...]}, ...]."""
    return yaml.safe_load(CONFIG.read_text()) or []


@pytest.fixture(scope="module")
def kube_score() -> Path:
    """The pinned kube-score binary (or $KEELSON_KUBE_SCORE), or a failing test saying how to build it."""
    binary = built_tool("kube-score", "bootstrap-kube-score.sh", "KEELSON_KUBE_SCORE")
    if binary is None or not binary.exists():
        pytest.fail("kube-score is missing: run `make test` (or `make kube-score`, i.e. `tools/bootstrap-kube-score.sh`), "
                    "which builds github.com/zegl/kube-score/cmd/kube-score at the pinned version with `go install`")
    return binary


def score(kube_score: Path, paths: list[Path], ignored: list[str]) -> list[dict]:
    """kube-score's JSON (v2) scorecard of the given manifests: one entry per object."""
    command = [
        str(kube_score), "score", "--output-format", "json", "--kubernetes-version", KUBERNETES_VERSION,
        # Only .kube-score.yaml may skip a test: `kube-score/ignore` annotations on objects are not honoured.
        "--disable-ignore-checks-annotations",
        *(f"--enable-optional-test={test}" for test in OPTIONAL_TESTS),
        *(f"--ignore-test={test}" for test in ignored),
        *map(str, paths),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    # Exit 1 means "a CRITICAL finding", which the tests report themselves.
    assert completed.returncode in (0, 1) and completed.stdout.strip(), (
        f"kube-score failed to run (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    )
    return json.loads(completed.stdout)


def findings(scorecard: list[dict]) -> list[dict]:
    """Every CRITICAL or WARNING result of a test that ran (optional tests not enabled are skipped)."""
    found = []
    for scored in scorecard:
        meta = scored["object_meta"]
        for check in scored["checks"] or []:
            if check["skipped"] or check["grade"] not in GRADES:
                continue
            summary = "; ".join(f"{c['path'] + ': ' if c['path'] else ''}{c['summary']}" for c in check["comments"] or [])
            found.append({
                "test": check["check"]["id"], "grade": GRADES[check["grade"]], "kind": scored["type_meta"]["kind"],
                "object": f"{meta.get('namespace', '')}/{meta['name']}", "summary": summary,
            })
    return found


def line(finding: dict) -> str:
    return f"{finding['kind']} {finding['object']}: {finding['test']} — {finding['summary']}"


def describe(found: list[dict]) -> str:
    """The findings grouped by grade, one `<Kind> <namespace>/<name>: <test id> — <summary>` line each."""
    return "\n".join(
        f"{grade}:\n" + "\n".join(f"  {line(f)}" for f in found if f["grade"] == grade)
        for grade in BLOCKING if any(f["grade"] == grade for f in found)
    )


@pytest.fixture(scope="module")
def scored(kube_score, mocked_manifest_dir) -> dict[str, dict]:
    """Per stack: its object count and its findings with the skips of .kube-score.yaml and without them."""
    ignored = [entry["test"] for entry in skips()]
    results = {}
    for stack in STACKS:
        paths = sorted((mocked_manifest_dir / stack).glob("*.yaml"))
        assert len(paths) >= 20, f"suspiciously few {stack} manifests rendered: {len(paths)}"
        scorecard = score(kube_score, paths, ignored)
        results[stack] = {
            "objects": len(scorecard),
            "findings": findings(scorecard),
            "unskipped": findings(score(kube_score, paths, [])),
        }
    return results


@pytest.mark.parametrize("stack", STACKS)
def test_kube_score_finds_nothing_critical_or_warning_in_the_stack(stack, scored):
    result = scored[stack]
    count = {grade: sum(f["grade"] == grade for f in result["findings"]) for grade in BLOCKING}
    before = {grade: sum(f["grade"] == grade for f in result["unskipped"]) for grade in BLOCKING}
    FIGURES[f"kube-score ({stack})"] = (
        f"{result['objects']} objects, {count['CRITICAL']} critical, {count['WARNING']} warnings, "
        f"{len(skips())} tests skipped in .kube-score.yaml (before skips: {before['CRITICAL']} critical, "
        f"{before['WARNING']} warnings); {len(OPTIONAL_TESTS)} optional tests enabled"
    )
    assert not result["findings"], f"kube-score findings in {stack}:\n" + describe(result["findings"])


BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: careless, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: careless}}
  template:
    metadata: {labels: {app: careless}}
    spec:
      securityContext: {runAsUser: 0}
      containers:
        - name: app
          image: nginx:latest
"""


def test_kube_score_is_live_a_careless_deployment_gets_critical_findings(kube_score, tmp_path):
    manifest = tmp_path / "careless.yaml"
    manifest.write_text(BAD_DEPLOYMENT)
    found = findings(score(kube_score, [manifest], []))
    critical = {f["test"] for f in found if f["grade"] == "CRITICAL"}
    expected = {"container-resources", "container-image-tag", "container-security-context-user-group-id",
                "container-security-context-readonlyrootfilesystem"}
    assert expected <= critical, f"kube-score missed {sorted(expected - critical)}; it found:\n" + describe(found)
    assert "container-seccomp-profile" in {f["test"] for f in found}, "the optional seccomp test did not run"


def test_every_skip_names_a_real_kube_score_test_and_gives_its_reason(kube_score):
    listed = subprocess.run([str(kube_score), "list"], capture_output=True, text=True, check=True, timeout=60).stdout
    known = {row[0] for row in csv.reader(listed.splitlines()) if row}
    assert len(known) >= 30, f"`kube-score list` printed too few tests: {sorted(known)}"
    entries = skips()
    assert isinstance(entries, list), ".kube-score.yaml must be a list of {test, reason}"
    for entry in entries:
        assert {"test", "reason"} <= set(entry) <= {"test", "reason", "objects"}, f"malformed .kube-score.yaml entry: {entry}"
        assert entry["test"] in known, f".kube-score.yaml skips '{entry['test']}', which kube-score does not have"
        assert str(entry["reason"] or "").strip(), f".kube-score.yaml skips '{entry['test']}' without a reason"
    tests = [entry["test"] for entry in entries]
    assert len(tests) == len(set(tests)), f".kube-score.yaml skips a test twice: {tests}"


def test_every_skip_is_still_needed_and_hides_only_the_objects_it_names(scored):
    """A skip whose test finds nothing in staging or production without it is stale and must go; a skip that
    names its `objects` ("<Kind> <namespace>/<name>", wildcards allowed) hides nothing else. kube-score's
    tests are independent, so one run without any skip shows what each skip hides."""
    problems = []
    for entry in skips():
        hidden = [f for stack in STACKS for f in scored[stack]["unskipped"] if f["test"] == entry["test"]]
        if not hidden:
            problems.append(f"{entry['test']}: finds nothing without the skip; remove it")
        patterns = entry.get("objects") or []
        named = {(f["kind"], f["object"]): f for f in hidden}
        problems += [f"{entry['test']}: would also hide {line(f)}" for (kind, name), f in named.items()
                     if patterns and not any(fnmatch(f"{kind} {name}", pattern) for pattern in patterns)]
        problems += [f"{entry['test']}: '{pattern}' matches no finding; remove it" for pattern in patterns
                     if not any(fnmatch(f"{kind} {name}", pattern) for kind, name in named)]
    assert not problems, ".kube-score.yaml:\n" + "\n".join(problems)
