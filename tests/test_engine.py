"""The real Pulumi engine, offline: preview and up on `local`, previews of staging and production
with no cluster, in-place updates on config changes, no plaintext secret in state, and rendered
manifests that pass the same schema and checkov checks as the mocked ones."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
import yaml

import harness
from conftest import FIGURES
from engine import Project
from test_manifests import run_checkov, schema_errors

STATEFUL_KINDS = {"StatefulSet", "PersistentVolumeClaim", "Namespace"}
SLACK_WEBHOOK = "https://hooks.slack.com/services/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"


def expected_resource_count(stack: str, config: dict | None = None, secret_keys: list[str] | None = None) -> int:
    """What the engine counts: every resource the program registers, plus the Stack itself."""
    return len(harness.run_program(stack, config=config, secret_keys=secret_keys)) + 1


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict:
    """The local stack after `pulumi preview`, `pulumi up` and a second preview."""
    project = Project(tmp_path_factory.mktemp("engine-local"))
    project.init_stack("local")
    # A configured channel, so the state check below covers a configured credential too.
    project.pulumi("config", "set", "--stack", "local", "--secret", "--path", "keelson:alerting.slack.webhookUrl", SLACK_WEBHOOK)
    project.pulumi("config", "set", "--stack", "local", "--path", "keelson:alerting.slack.channel", "#keelson-local")
    preview = project.pulumi("preview", "--stack", "local")
    up = project.pulumi("up", "--stack", "local", "--yes", "--skip-preview")
    again = project.pulumi("preview", "--stack", "local", "--expect-no-changes", check=False)
    FIGURES["engine: pulumi up --stack local"] = up.summary().replace("\n", " ")
    return {"project": project, "preview": preview, "up": up, "again": again}


def rendered_manifests(project: Project) -> list[dict]:
    documents = []
    for path in sorted((project.workdir / "rendered").rglob("*.yaml")):
        documents.extend(document for document in yaml.safe_load_all(path.read_text()) if document)
    return documents


def _local_config_with_slack() -> dict:
    config = harness.stack_config("local")
    config["keelson:alerting"] = {"slack": {"webhookUrl": SLACK_WEBHOOK, "channel": "#keelson-local"}}
    return config


def test_preview_and_up_on_local_complete_and_render_every_object(local):
    config = _local_config_with_slack()
    expected = expected_resource_count("local", config, ["keelson:alerting"])
    assert f"+ {expected} to create" in local["preview"].summary(), local["preview"].output[-4000:]
    assert f"+ {expected} created" in local["up"].summary(), local["up"].output[-4000:]
    mocked = harness.kubernetes_objects(harness.run_program("local", config=config, secret_keys=["keelson:alerting"]))
    assert len(rendered_manifests(local["project"])) == len(mocked)


def test_a_second_preview_changes_nothing(local):
    assert local["again"].returncode == 0, f"preview --expect-no-changes found changes:\n{local['again'].output[-4000:]}"


def test_real_and_mocked_manifests_agree_on_kinds_and_names(local):
    def identity(manifest):
        metadata = manifest["metadata"]
        return manifest["kind"], metadata.get("namespace"), metadata["name"]

    real = sorted(identity(manifest) for manifest in rendered_manifests(local["project"]))
    registered = harness.run_program("local", config=_local_config_with_slack(), secret_keys=["keelson:alerting"])
    mocked = sorted(identity(resource.manifest) for resource in harness.kubernetes_objects(registered))
    assert real == mocked


def test_rendered_manifests_validate_strictly_and_pass_checkov(local, tmp_path, crd_validators):
    manifests = rendered_manifests(local["project"])
    failures = []
    for manifest in manifests:
        _, errors = schema_errors(manifest, crd_validators)
        failures.extend(f"{manifest['kind']}/{manifest['metadata']['name']}: {error}" for error in errors)
    for index, manifest in enumerate(manifests):
        (tmp_path / f"{index:03d}.yaml").write_text(yaml.safe_dump(manifest))
    checkov = run_checkov(tmp_path)
    FIGURES["schema-validated manifests (real engine, local)"] = f"{len(manifests)} manifests, {len(failures)} failures"
    FIGURES["checkov (real engine, local)"] = f"{checkov['passed']} passed, {checkov['failed']} failed"
    assert not failures, "\n".join(failures)
    assert checkov["passed"] > 0 and checkov["failed"] == 0, "\n".join(checkov["failures"])


def _secret_values(project: Project) -> list[str]:
    """The credential values of every rendered Secret (generated passwords, the configured webhook)."""
    values = []
    for manifest in rendered_manifests(project):
        if manifest["kind"] == "Secret":
            values.extend((manifest.get("stringData") or {}).values())
            values.extend(base64.b64decode(value).decode() for value in (manifest.get("data") or {}).values())
    # Short values are names (admin-user: admin), not credentials.
    return [value for value in values if len(value) >= 16]


def test_state_and_committed_files_hold_no_plaintext_secret(local):
    project = local["project"]
    secrets = _secret_values(project)
    assert SLACK_WEBHOOK in secrets, "the configured webhook did not reach the Alertmanager Secret"
    assert len(secrets) >= 4, f"expected the Grafana, app and webhook secrets, found {len(secrets)}"
    state = project.pulumi("stack", "export", "--stack", "local").stdout
    leaked = [value for value in secrets if value in state]
    assert not leaked, "generated secrets appear in clear text in the Pulumi state"
    outputs = project.pulumi("stack", "output", "--stack", "local", "--json").stdout
    assert not [value for value in secrets if value in outputs], "a secret leaked into the stack outputs"
    # The webhook is this test's own input (it stands in this file); the generated ones must be nowhere.
    generated = [value for value in secrets if value != SLACK_WEBHOOK]
    tracked = subprocess.run(["git", "ls-files"], cwd=harness.ROOT, capture_output=True, text=True, check=True).stdout.split()
    for path in tracked:
        file = harness.ROOT / path
        if file.is_file():
            text = file.read_text(errors="ignore")
            assert not [value for value in generated if value in text], f"a generated secret appears in {path}"


CONFIG_CHANGES = [
    ("keelson:apps.api.resources.limits.cpu", "300m", "400m"),
    ("keelson:apps.worker.disruptionBudget.minAvailable", "0", "1"),
    ("keelson:monitoring.prometheus.replicas", "2", "1"),
    ("keelson:alerting.slack.channel", "#keelson-local-moved", "#keelson-local"),
]
"""(key, changed value, value to restore): resources, replicas, a PDB and an alert channel."""


def test_config_changes_preview_as_updates_and_never_replace_stateful_resources(local):
    project = local["project"]
    for key, changed, _ in CONFIG_CHANGES:
        project.pulumi("config", "set", "--path", key, changed, "--stack", "local")
    try:
        steps = project.preview_steps("local")
    finally:
        for key, _, restored in CONFIG_CHANGES:
            project.pulumi("config", "set", "--path", key, restored, "--stack", "local")
    changed = {(step["op"], step["urn"].rsplit("::", 1)[-1]) for step in steps if step["op"] != "same"}
    # Prometheus keeps its budget at any replica count (maxUnavailable 1), so its replica change
    # touches no PodDisruptionBudget.
    assert not {name for op, name in changed if name == "monitoring-prometheus-pdb"}, sorted(changed)
    for expected in [
        ("update", "api-deployment"),
        ("update", "worker-pdb"),
        ("update", "monitoring-prometheus"),
        ("update", "monitoring-alertmanager-config"),
    ]:
        assert expected in changed, f"{expected} missing from the preview: {sorted(changed)}"
    # The channel is routing: Alertmanager's reloader applies it, its StatefulSet stays as it is.
    assert ("update", "monitoring-alertmanager") not in changed, sorted(changed)
    stateful = {
        step["urn"].rsplit("::", 1)[-1]
        for step in steps
        if step["op"] in ("replace", "create-replacement", "delete-replaced")
        and step["urn"].split("::")[-2].rsplit(":", 1)[-1] in STATEFUL_KINDS
    }
    assert not stateful, f"a config change replaces stateful resources: {stateful}"


def test_a_rule_change_previews_as_config_map_updates_only(local):
    """Prometheus reloads its rule files and Loki's ruler polls its own, so a change to an SLO target
    or a log-alert threshold updates their ConfigMaps and restarts no StatefulSet."""
    project = local["project"]
    project.pulumi("config", "set", "--path", "keelson:monitoring.slo[0].availabilityPercent", "99.9", "--stack", "local")
    project.pulumi("config", "set", "--path", "keelson:logging.alerts.errorBurstLines", "80", "--stack", "local")
    try:
        steps = project.preview_steps("local")
    finally:
        project.pulumi("config", "set", "--path", "keelson:monitoring.slo[0].availabilityPercent", "99.5", "--stack", "local")
        project.pulumi("config", "rm", "keelson:logging", "--stack", "local")
    changed = sorted((step["op"], step["urn"].rsplit("::", 1)[-1]) for step in steps if step["op"] != "same")
    FIGURES["engine: rule change (local)"] = ", ".join(f"{op} {name}" for op, name in changed)
    assert changed == [("update", "logging-loki-rules"), ("update", "monitoring-prometheus-rules")], changed


def test_an_alert_routing_change_previews_as_config_map_and_secret_updates_only(local):
    """Alertmanager's reloader sidecar reloads a changed routing (the Slack channel) and a rotated
    credential (the webhook, a file in the Secret), so neither restarts the StatefulSet."""
    project = local["project"]
    rotated = SLACK_WEBHOOK.replace("engineengine", "rotatedrotat", 1)
    project.pulumi("config", "set", "--stack", "local", "--path", "keelson:alerting.slack.channel", "#keelson-routing")
    project.pulumi("config", "set", "--stack", "local", "--secret", "--path", "keelson:alerting.slack.webhookUrl", rotated)
    try:
        steps = project.preview_steps("local")
    finally:
        project.pulumi("config", "set", "--stack", "local", "--path", "keelson:alerting.slack.channel", "#keelson-local")
        project.pulumi("config", "set", "--stack", "local", "--secret", "--path", "keelson:alerting.slack.webhookUrl", SLACK_WEBHOOK)
    changed = sorted((step["op"], step["urn"].rsplit("::", 1)[-1]) for step in steps if step["op"] != "same")
    FIGURES["engine: alert routing change (local)"] = ", ".join(f"{op} {name}" for op, name in changed)
    assert changed == [("update", "monitoring-alertmanager-config"), ("update", "monitoring-alertmanager-credentials")], changed


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_preview_without_a_cluster_completes_for(stack, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp(f"engine-{stack}"))
    project.init_stack(stack)
    preview = project.pulumi("preview", "--stack", stack)
    FIGURES[f"engine: pulumi preview --stack {stack}"] = preview.summary().replace("\n", " ")
    assert f"+ {expected_resource_count(stack)} to create" in preview.summary(), preview.output[-4000:]
    assert "error" not in preview.output.lower().replace("errored", ""), preview.output[-4000:]


def test_a_preview_that_skips_checkpoints_plans_the_same_steps(tmp_path_factory):
    """tools/pulumi.sh and the pull-request workflow preview with PULUMI_SKIP_CHECKPOINTS=true: the
    CLI then stops serializing the whole state after every step, and must plan exactly as before."""
    project = Project(tmp_path_factory.mktemp("engine-checkpoints"))
    project.init_stack("production")

    def plan(skip: str) -> dict[str, tuple[str, dict]]:
        steps = project.preview_steps("production", env={"PULUMI_SKIP_CHECKPOINTS": skip})
        return {step["urn"]: (step["op"], step.get("newState", {}).get("inputs", {})) for step in steps}

    default, skipped = plan("false"), plan("true")
    assert len(default) == expected_resource_count("production"), sorted(default)
    assert skipped == default, sorted(urn for urn in default.keys() | skipped.keys() if default.get(urn) != skipped.get(urn))


def test_tools_pulumi_sh_previews_without_checkpoints_and_updates_with_them(tmp_path):
    """Previews skip the CLI's per-step checkpoints unless the caller says otherwise; updates never do."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text('#!/usr/bin/env bash\n[[ "$1" == stack ]] && { echo "[]"; exit 0; }\necho "${PULUMI_SKIP_CHECKPOINTS-unset}"\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
    }

    def skip_checkpoints(*args: str, **extra: str) -> str:
        script = harness.ROOT / "tools" / "pulumi.sh"
        completed = subprocess.run([str(script), *args], env={**env, **extra}, capture_output=True, text=True, check=True)
        return completed.stdout.strip()

    assert skip_checkpoints("preview", "--stack", "staging") == "true"
    assert skip_checkpoints("preview", "--stack", "staging", PULUMI_SKIP_CHECKPOINTS="false") == "false"
    assert skip_checkpoints("up", "--stack", "staging", "--yes") == "unset"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_configured_credentials_of_the_stack_files_are_never_in_clear_text_in_the_repo(stack, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp(f"secrets-{stack}"))
    project.init_stack(stack)
    shown = json.loads(project.pulumi("config", "--stack", stack, "--show-secrets", "--json").stdout)
    stack_file = yaml.safe_load((harness.ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    secret_values = []

    def collect(encrypted, decrypted):
        """Walk the stack file and the decrypted config together; keep what was `secure:`."""
        if isinstance(encrypted, dict) and set(encrypted) == {"secure"}:
            secret_values.append(decrypted)
        elif isinstance(encrypted, dict):
            for key, item in encrypted.items():
                collect(item, decrypted[key])

    for key, value in stack_file.items():
        entry = shown[key]
        collect(value, entry.get("objectValue", entry.get("value")))
    assert len(secret_values) >= 1 and all(secret_values), f"Pulumi.{stack}.yaml should carry secure: credentials"
    tracked = subprocess.run(["git", "ls-files"], cwd=harness.ROOT, capture_output=True, text=True, check=True).stdout.split()
    for path in tracked:
        file = harness.ROOT / path
        if file.is_file():
            text = file.read_text(errors="ignore")
            leaked = [value for value in secret_values if value in text]
            assert not leaked, f"a credential of Pulumi.{stack}.yaml appears in clear text in {path}"
