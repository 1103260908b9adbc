"""The GitHub Actions workflows: actionlint finds nothing (and is shown to catch a broken workflow), pull
requests test and preview both stacks with a PR comment, merges deploy staging then production behind
an approval gate, with least-privilege permissions, pinned actions and secrets from the repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import FIGURES
from harness import ROOT, built_tool

WORKFLOWS = ROOT / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
PULUMI_ACTION = "pulumi/actions@v6"


def load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_using(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses") == action]


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """The pinned actionlint binary, or a failing test saying how to build it."""
    binary = built_tool("actionlint", "bootstrap-actionlint.sh")
    if binary is None:
        pytest.fail("actionlint is missing: run `tools/bootstrap-actionlint.sh` (or `make actionlint`), which builds "
                    "github.com/rhysd/actionlint/cmd/actionlint at the pinned version with `go install`")
    return binary


def lint(actionlint: Path, cwd: Path, *paths: Path) -> tuple[int, list[dict]]:
    completed = subprocess.run(
        [str(actionlint), "-format", "{{json .}}", *map(str, paths)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode in (0, 1), f"actionlint failed to run ({completed.returncode}): {completed.stderr}"
    return completed.returncode, json.loads(completed.stdout or "[]")


def test_actionlint_finds_nothing_in_the_workflows(actionlint):
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {PULL_REQUEST, DEPLOY} <= set(workflows)
    # actionlint checks the run: scripts only when shellcheck is on PATH; without it half the check
    # would silently not run.
    assert shutil.which("shellcheck"), "shellcheck is missing: run tools/ensure-system-tools.sh (or make test)"
    returncode, findings = lint(actionlint, ROOT, *workflows)
    FIGURES["actionlint"] = f"{len(workflows)} workflows, {len(findings)} findings (with shellcheck)"
    messages = [f"{item['filepath']}:{item['line']}:{item['column']}: {item['message']} [{item['kind']}]" for item in findings]
    assert returncode == 0 and not findings, "\n".join(messages)


BROKEN_WORKFLOW = """\
name: broken
on:
  pull_request:
permissions:
  contents: read
jobs:
  preview:
    runs-on: ubuntu-24.04
    needs: tests-that-do-not-exist
    steps:
      - uses: pulumi/actions@v6
        with:
          command: preview
          comment-on-pull-request: true
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_actionlint_is_live_a_broken_workflow_fails_with_each_mistake_reported(actionlint, tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "broken.yml").write_text(BROKEN_WORKFLOW)
    returncode, findings = lint(actionlint, tmp_path, folder / "broken.yml")
    kinds = {item["kind"] for item in findings}
    text = "\n".join(item["message"] for item in findings)
    assert returncode == 1, "actionlint accepted a broken workflow"
    assert "job-needs" in kinds, text  # an unknown job in `needs`
    assert "action" in kinds and "comment-on-pull-request" in text, text  # an input pulumi/actions does not have
    # the PR title pasted into a shell script: script injection
    assert "expression" in kinds and "potentially untrusted" in text, text


def test_pull_requests_run_make_test_then_preview_both_stacks_as_a_pr_comment():
    workflow = load(PULL_REQUEST)
    assert list(workflow["on"]) == ["pull_request"]
    test = workflow["jobs"]["test"]
    assert any(step.get("run") == "make test" for step in test["steps"]), "the test job must run `make test`"
    assert steps_using(test, "actions/setup-python@v6")[0]["with"]["python-version"] == "3.11"
    assert steps_using(test, "actions/setup-go@v6"), "the toolchain is built with Go"
    preview = workflow["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["staging", "production"]
    (pulumi,) = steps_using(preview, PULUMI_ACTION)
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy", "previews enforce the hardening policy pack"
    assert preview["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_merges_to_main_deploy_staging_then_production_behind_the_production_environment():
    workflow = load(DEPLOY)
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    staging, production = workflow["jobs"]["staging"], workflow["jobs"]["production"]
    assert production["needs"] == "staging", "production deploys only after staging succeeded"
    assert production["environment"]["name"] == "production", "the approval gate is the production environment"
    assert "Required reviewers" in DEPLOY.read_text(), "the workflow must say where the reviewers are configured"
    for job, stack in ((staging, "staging"), (production, "production")):
        (pulumi,) = steps_using(job, PULUMI_ACTION)
        assert (pulumi["with"]["command"], pulumi["with"]["stack-name"]) == ("up", stack)
    assert workflow["concurrency"]["cancel-in-progress"] is False, "a deploy must never be cancelled half-way"


@pytest.mark.parametrize("path", [PULL_REQUEST, DEPLOY], ids=lambda path: path.name)
def test_every_job_asks_only_for_the_permissions_it_needs(path):
    workflow = load(path)
    assert workflow["permissions"] == {}, f"{path.name}: the workflow-level default must grant nothing"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions")
        assert granted, f"{path.name} job '{name}' declares no permissions"
        extra = {scope: level for scope, level in granted.items() if level != "read" and scope != "pull-requests"}
        assert not extra, f"{path.name} job '{name}' asks for write access it does not need: {extra}"
        assert "pull-requests" not in granted or steps_using(job, PULUMI_ACTION)[0]["with"].get("comment-on-pr"), (
            f"{path.name} job '{name}' may write to pull requests without commenting on them"
        )
    assert "concurrency" in workflow, f"{path.name} has no concurrency group"


@pytest.mark.parametrize("path", [PULL_REQUEST, DEPLOY], ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_release_tag(path):
    for name, job in load(path)["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1] if "@" in step["uses"] else ""
                assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), (
                    f"{path.name} job '{name}' uses {step['uses']}: pin a release tag or commit, not a branch"
                )


@pytest.mark.parametrize("path", [PULL_REQUEST, DEPLOY], ids=lambda path: path.name)
def test_credentials_come_from_repository_secrets_never_from_files_in_the_repo(path):
    workflow = load(path)
    text = path.read_text()
    for name, job in workflow["jobs"].items():
        if not steps_using(job, PULUMI_ACTION):
            continue
        environment = job["env"]
        assert environment["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", name
        assert environment["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", name
        kubeconfig_steps = [step for step in job["steps"] if "KUBECONFIG_CONTENT" in step.get("env", {})]
        assert kubeconfig_steps and all("secrets." in step["env"]["KUBECONFIG_CONTENT"] for step in kubeconfig_steps), (
            f"{path.name} job '{name}' must take its kubeconfig from a secret"
        )
        assert all('"$RUNNER_TEMP/kubeconfig"' in step["run"] for step in kubeconfig_steps), (
            f"{path.name} job '{name}' must write the kubeconfig outside the checkout"
        )
    assert "keelson-example" not in text, "the example passphrase must never reach CI"


def test_every_shell_script_of_the_project_passes_shellcheck():
    """The scripts the workflows and the Makefile call (tools/*.sh, tools/lib, .ci/run) pass
    shellcheck, following the files they source; a script with a finding fails the suite."""
    assert shutil.which("shellcheck"), "shellcheck is missing: run tools/ensure-system-tools.sh (or make test)"
    scripts = sorted([*ROOT.glob("tools/*.sh"), *ROOT.glob("tools/lib/*.sh"), ROOT / ".ci" / "run"])
    assert len(scripts) >= 10 and ROOT / "tools" / "rollback.sh" in scripts
    completed = subprocess.run(
        ["shellcheck", "--external-sources", "--source-path=SCRIPTDIR", "--format=gcc", *map(str, scripts)],
        capture_output=True, text=True, timeout=300,
    )
    FIGURES["shellcheck"] = f"{len(scripts)} scripts, {len(completed.stdout.splitlines())} findings"
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_workflows_run_the_pinned_cli_and_previews_skip_the_per_step_checkpoints():
    """The CLI the workflows install is the one the toolchain builds (tools/pulumi-versions.env);
    previews skip the per-step checkpoints as tools/pulumi.sh does, deploys keep them."""
    from engine import toolchain_pins

    pinned = toolchain_pins()["PULUMI_VERSION"]
    for path in (PULL_REQUEST, DEPLOY):
        for name, job in load(path)["jobs"].items():
            for step in steps_using(job, PULUMI_ACTION):
                assert step["with"]["pulumi-version"] == pinned, f"{path.name} job '{name}' installs another CLI than {pinned}"
                skip = job.get("env", {}).get("PULUMI_SKIP_CHECKPOINTS")
                expected = "true" if step["with"]["command"] == "preview" else None
                assert skip == expected, f"{path.name} job '{name}' ({step['with']['command']}): PULUMI_SKIP_CHECKPOINTS={skip!r}"
