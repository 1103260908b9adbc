"""Backup rules: the Velero Schedules Keelson renders (components/backups.py) keep succeeding.

Velero's server reports per schedule (label 'schedule', 'keelson-<workload>' for Keelson's):
velero_backup_last_status (1 success, 0 failure; set to 1 when Velero first sees the schedule)
and velero_backup_last_successful_timestamp (Unix seconds; absent until a backup succeeds). The
rules select only 'keelson-*' schedules, so a stack without backups never matches them.

Ref: https://github.com/vmware-tanzu/velero/blob/v1.18.3/pkg/metrics/metrics.go
"""

from __future__ import annotations

from .helpers import alert, record

SCHEDULES = 'schedule=~"keelson-.+"'
MAX_AGE_HOURS = 36
"""A nightly schedule that missed one run, plus half a day of slack for slow backups."""

# One series per schedule, whichever Velero pod reported it.
RECORDING_RULES = [
    record("schedule:velero_backup_last_status:max", f"max by (schedule) (velero_backup_last_status{{{SCHEDULES}}})"),
    record(
        "schedule:velero_backup_last_successful_timestamp:max",
        f"max by (schedule) (velero_backup_last_successful_timestamp{{{SCHEDULES}}})",
    ),
]

ALERTS = [
    alert(
        "BackupFailed",
        "schedule:velero_backup_last_status:max == 0",
        for_="15m",
        severity="warning",
        summary="The last backup of a Keelson backup schedule failed.",
        description="""
        The last backup of Velero Schedule {{ $labels.schedule }} failed; the next run is the next
        chance to have a restorable copy.
        """,
    ),
    alert(
        "BackupTooOld",
        f"time() - schedule:velero_backup_last_successful_timestamp:max > {MAX_AGE_HOURS * 3600}",
        for_="15m",
        severity="critical",
        summary=f"No backup of a Keelson backup schedule succeeded for {MAX_AGE_HOURS} hours.",
        description="""
        The newest successful backup of Velero Schedule {{ $labels.schedule }} is
        {{ $value | humanizeDuration }} old; data written since then cannot be restored.
        """,
    ),
    alert(
        "BackupNeverSucceeded",
        "schedule:velero_backup_last_status:max unless on (schedule) schedule:velero_backup_last_successful_timestamp:max",
        for_=f"{MAX_AGE_HOURS}h",
        severity="critical",
        summary=f"A Keelson backup schedule has had no successful backup for {MAX_AGE_HOURS} hours.",
        description="""
        Velero knows Schedule {{ $labels.schedule }} but has reported no successful backup of it
        since it (or Velero's server) started.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.backups.recording", "rules": RECORDING_RULES},
    {"name": "keelson.backups.alerts", "rules": ALERTS},
]
