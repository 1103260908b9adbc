"""Backups of the platform's stateful parts: a Velero Schedule per workload with PersistentVolumeClaims.

Each Schedule must select exactly the pods of a StatefulSet that keeps claims in the namespace it
backs up (a selector that matches nothing backs up nothing, silently), every such StatefulSet must
have one, and the settings refuse a policy Velero would misread. The schema layer validates the
Schedules against Velero's own CRD, and the cluster layer stores them in a real API server.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import harness
from keelson import BackupPolicy, BackupSchedules, BackupSchedulesArgs, BackupTarget
from keelson.backups import retention_hours
from test_settings_rules import check, put


def manifests(stack: str) -> list[dict]:
    return [obj.manifest for obj in harness.kubernetes_objects(harness.run_program(stack))]


def schedules_and_stateful_sets(stack: str) -> tuple[list[dict], list[dict]]:
    objects = manifests(stack)
    schedules = [m for m in objects if m["kind"] == "Schedule"]
    with_claims = [m for m in objects if m["kind"] == "StatefulSet" and m["spec"].get("volumeClaimTemplates")]
    return schedules, with_claims


def selected(schedule: dict, stateful_sets: list[dict]) -> list[str]:
    """The StatefulSets whose pods the Schedule's label selector and namespace pick."""
    template = schedule["spec"]["template"]
    wanted = template["labelSelector"]["matchLabels"]
    return [
        f"{s['metadata']['namespace']}/{s['metadata']['name']}"
        for s in stateful_sets
        if s["metadata"]["namespace"] in template["includedNamespaces"]
        and wanted.items() <= s["spec"]["template"]["metadata"]["labels"].items()
    ]


@pytest.mark.parametrize(
    "stack, expected",
    [
        ("production", {"keelson-prometheus": "monitoring/prometheus", "keelson-loki": "logging/loki"}),
        ("cluster", {"keelson-app-worker": "keelson-cluster/worker"}),
    ],
)
def test_every_statefulset_with_claims_has_one_schedule_that_selects_exactly_its_pods(stack, expected):
    schedules, stateful_sets = schedules_and_stateful_sets(stack)
    covered = {schedule["metadata"]["name"]: selected(schedule, stateful_sets) for schedule in schedules}
    assert covered == {name: [workload] for name, workload in expected.items()}
    assert sorted(f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in stateful_sets) == sorted(expected.values())
    for schedule in schedules:
        assert schedule["metadata"]["namespace"] == "velero"
        assert schedule["spec"]["skipImmediately"] is True


def test_production_backs_up_nightly_keeps_thirty_days_and_never_copies_secrets():
    schedules, _ = schedules_and_stateful_sets("production")
    assert len(schedules) == 2
    for schedule in schedules:
        spec = schedule["spec"]
        assert spec["schedule"] == "0 3 * * *"
        template = spec["template"]
        assert template["ttl"] == "720h0m0s"
        assert (template["snapshotVolumes"], template["defaultVolumesToFsBackup"]) == (True, False)
        # Only the data Pulumi cannot rebuild: no Secret, ConfigMap or workload object is copied.
        assert template["includedNamespaceScopedResources"] == ["pods", "persistentvolumeclaims"]
        assert template["includedClusterScopedResources"] == ["persistentvolumes"]


def test_the_cluster_stack_keeps_its_six_hourly_backups_three_days():
    (schedule,), _ = schedules_and_stateful_sets("cluster")
    assert schedule["spec"]["schedule"] == "0 */6 * * *"
    assert schedule["spec"]["template"]["ttl"] == "72h0m0s"


def test_backups_are_off_unless_a_stack_turns_them_on():
    assert BackupPolicy().enabled is False
    for stack in ("local", "staging"):
        assert not [m for m in manifests(stack) if m["kind"] == "Schedule"], stack


@pytest.mark.parametrize("volumes, snapshot, files", [("snapshot", True, False), ("filesystem", False, True)])
def test_the_component_renders_the_volume_method_and_storage_location(volumes, snapshot, files):
    def program() -> None:
        BackupSchedules(
            "backups",
            BackupSchedulesArgs(
                policy=BackupPolicy(enabled=True, volumes=volumes, storage_location="offsite", retention="14d"),
                targets=[BackupTarget(name="db", namespace="data", selector={"app.kubernetes.io/name": "db"})],
                environment="staging",
            ),
        )

    (schedule,) = [obj.manifest for obj in harness.kubernetes_objects(harness.run(program))]
    template = schedule["spec"]["template"]
    assert (template["snapshotVolumes"], template["defaultVolumesToFsBackup"]) == (snapshot, files)
    assert template["storageLocation"] == "offsite"
    assert template["ttl"] == "336h0m0s"
    assert schedule["metadata"]["name"] == "keelson-db"


@pytest.mark.parametrize("text, hours", [("1d", 24), ("72h", 72), ("30d", 720), ("400d", 9600)])
def test_retention_reads_days_and_hours(text, hours):
    assert retention_hours(text) == hours


@pytest.mark.parametrize(
    "mutate, fragments",
    [
        (lambda r: put(r, "backups.retention", "12h"), ["keelson:backups.retention", "'12h'", "1d..400d"]),
        (lambda r: put(r, "backups.retention", "2w"), ["keelson:backups.retention", "'2w'", "30d or 72h"]),
        (lambda r: put(r, "backups.schedule", "@daily"), ["keelson:backups.schedule", "'@daily'", "five-field cron"]),
        (lambda r: put(r, "backups.volumes", "rsync"), ["keelson:backups.volumes", "rsync", "snapshot", "filesystem"]),
        (lambda r: put(r, "backups.namespace", "monitoring"), ["keelson:backups.namespace = 'monitoring'", "Keelson governs"]),
    ],
    ids=["retention under a day", "retention in weeks", "cron macro", "unknown volume method", "governed namespace"],
)
def test_a_backup_policy_velero_would_misread_is_refused_naming_the_key(mutate, fragments):
    check("production", mutate, fragments)


def test_backups_on_with_nothing_on_a_claim_is_refused():
    check("staging", lambda r: put(r, "backups.enabled", True), ["keelson:backups.enabled = true", "nothing to back up"])



def test_backup_schedules_refuse_a_policy_that_is_switched_off():
    target = BackupTarget(name="prometheus", namespace="monitoring", selector={"app.kubernetes.io/name": "prometheus"})
    with pytest.raises(ValidationError, match="policy.enabled is false"):
        BackupSchedulesArgs(policy=BackupPolicy(enabled=False), targets=[target])
