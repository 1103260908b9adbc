"""BackupSchedules: scheduled, expiring backups of the platform's persistent volumes, by Velero.

One Velero `Schedule` per workload that keeps data on PersistentVolumeClaims (Prometheus' TSDB,
Loki's chunks and index, every HardenedApp with 'storage'). Each run backs up the workload's pods
and, through them, their claims and volumes (snapshots, or a file-system copy), and Velero deletes
each backup when its retention ('ttl') ends.

Why Velero and not a CronJob of our own: a CronJob that snapshots volumes needs an image with a
shell and kubectl, RBAC to create VolumeSnapshots in every namespace, and its own pruning; Velero's
Schedule is the declarative form of exactly that (cron schedule, retention, storage location), and
its server already holds those rights. Keelson expects Velero to be installed, as it expects
cert-manager and ingress-nginx.

Ref: https://velero.io/docs/main/api-types/schedule/ (Schedule, its BackupSpec template).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator, model_validator

from .app_jobs import CRON_EXPRESSION
from .builders.labels import standard_labels
from .models import DnsLabel, KeelsonModel

VELERO_VERSION = "1.18.3"
"""The Velero release whose Schedule CRD the rendered objects are validated against (tools/fetch-crds.sh)."""
API_VERSION = "velero.io/v1"

_RETENTION = re.compile(r"^(?P<number>[1-9][0-9]*)(?P<unit>[hd])$")
MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 24 * 400

# Secrets and ConfigMaps are rebuilt by `pulumi up` from the stack's state, and a backup store is a
# poor place for credentials; only the data the program cannot rebuild is copied.
BACKED_UP_NAMESPACED = ["pods", "persistentvolumeclaims"]
BACKED_UP_CLUSTER_SCOPED = ["persistentvolumes"]


def retention_hours(retention: str) -> int:
    """Hours in a retention such as '30d' or '72h'."""
    match = _RETENTION.fullmatch(retention)
    if match is None:
        raise ValueError(f"'{retention}' is not a retention such as 30d or 72h")
    return int(match["number"]) * (24 if match["unit"] == "d" else 1)


class BackupPolicy(KeelsonModel):
    """When the stateful parts are backed up, where to, and for how long the backups are kept.

    Default: off, because a Schedule needs Velero (its CRDs and server) in the cluster, which a
    first deploy may not have; production turns it on. When on: every night at 03:00 UTC, kept 30
    days, volume snapshots into Velero's default storage location.
    """

    enabled: bool = False
    """Render a Velero Schedule for every workload that keeps data on PersistentVolumeClaims.
    Default: false (needs Velero installed); production sets true."""
    namespace: DnsLabel = "velero"
    """The namespace Velero's server runs in and reads its Schedules from. Default: velero."""
    schedule: str = "0 3 * * *"
    """Cron expression (five fields, UTC: Velero's server clock) of the backups. Default: '0 3 * * *',
    every night at 03:00, outside business hours in most of Europe and the Americas."""
    retention: str = "30d"
    """How long each backup is kept before Velero deletes it ('30d', '72h'; 1 to 400 days). Default:
    30d, so a corruption noticed within a month can still be rolled back."""
    storage_location: DnsLabel | None = None
    """Velero BackupStorageLocation the backups go to. Default: none, Velero's default location."""
    volumes: Literal["snapshot", "filesystem"] = "snapshot"
    """How volume data is copied: 'snapshot' (the storage provider's or CSI snapshots: fast, crash
    consistent) or 'filesystem' (Velero's node agent copies the files: works on any volume, needs the
    node agent). Default: snapshot."""

    @field_validator("schedule")
    @classmethod
    def _five_fields(cls, schedule: str) -> str:
        if not CRON_EXPRESSION.fullmatch(schedule.strip()) or "TZ=" in schedule:
            raise ValueError(f"'{schedule}' is not a five-field cron expression such as '0 3 * * *' (UTC)")
        return schedule

    @field_validator("retention")
    @classmethod
    def _retention_range(cls, retention: str) -> str:
        hours = retention_hours(retention)
        if not MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS:
            raise ValueError(
                f"'{retention}' is outside 1d..400d: under a day a nightly backup is deleted before the next "
                "one exists, and backups older than a year belong to an archive, not to Velero"
            )
        return retention

    @property
    def ttl(self) -> str:
        """The retention as the Go duration Velero reads, e.g. '720h0m0s'."""
        return f"{retention_hours(self.retention)}h0m0s"


class BackupTarget(KeelsonModel):
    """One workload whose volumes are backed up."""

    name: DnsLabel
    """Names the Schedule ('keelson-<name>'), e.g. 'prometheus' or 'app-worker'. Required."""
    namespace: DnsLabel
    """The workload's namespace. Required."""
    selector: dict[str, str] = Field(min_length=1)
    """Labels of the workload's pods; their claims and volumes come with them. Required."""


class BackupSchedulesArgs(KeelsonModel):
    """Arguments of BackupSchedules."""

    policy: BackupPolicy = BackupPolicy(enabled=True)
    """Schedule, retention, location and volume method shared by every target. Default: nightly at
    03:00 UTC, kept 30 days, snapshots (see BackupPolicy)."""
    targets: list[BackupTarget] = Field(min_length=1)
    """The workloads to back up, one Schedule each. Required, at least one."""
    environment: str = "local"
    """Environment label of the Schedules. Default: local; the program passes the stack's."""

    @model_validator(mode="after")
    def _policy_is_on(self) -> BackupSchedulesArgs:
        """A policy switched off cannot render Schedules: refused, not silently backed up anyway."""
        if not self.policy.enabled:
            raise ValueError(
                "policy.enabled is false, but BackupSchedules renders a Schedule per target; "
                "leave BackupSchedules out to have no backups, or set policy.enabled to true"
            )
        return self


def schedule_spec(policy: BackupPolicy, target: BackupTarget) -> dict[str, Any]:
    """The spec of one target's Velero Schedule."""
    template: dict[str, Any] = {
        "includedNamespaces": [target.namespace],
        "includedNamespaceScopedResources": list(BACKED_UP_NAMESPACED),
        "includedClusterScopedResources": list(BACKED_UP_CLUSTER_SCOPED),
        "labelSelector": {"matchLabels": dict(target.selector)},
        "ttl": policy.ttl,
        "snapshotVolumes": policy.volumes == "snapshot",
        "defaultVolumesToFsBackup": policy.volumes == "filesystem",
    }
    if policy.storage_location:
        template["storageLocation"] = policy.storage_location
    # A Schedule's first backup waits for its first cron time instead of running at every `pulumi up`.
    return {"schedule": policy.schedule, "skipImmediately": True, "template": template}


class BackupSchedules(pulumi.ComponentResource):
    """A Velero Schedule per stateful workload: '<policy.namespace>/keelson-<target.name>'.

    Restore one workload's data (then `pulumi up` rebuilds everything else):
    `velero restore create --from-schedule keelson-<name> --include-resources persistentvolumeclaims,persistentvolumes`
    with the workload scaled to 0.
    """

    def __init__(self, name: str, args: BackupSchedulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:BackupSchedules", name, None, opts)
        self.schedules: dict[str, k8s.apiextensions.CustomResource] = {}
        for target in args.targets:
            labels = standard_labels(f"keelson-{target.name}", f"backup-{args.environment}", "backup", VELERO_VERSION)
            self.schedules[target.name] = k8s.apiextensions.CustomResource(
                f"{name}-{target.name}",
                api_version=API_VERSION,
                kind="Schedule",
                metadata={"name": f"keelson-{target.name}", "namespace": args.policy.namespace, "labels": labels},
                spec=schedule_spec(args.policy, target),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names = sorted(f"{args.policy.namespace}/keelson-{target.name}" for target in args.targets)
        self.register_outputs({"schedules": self.names})
