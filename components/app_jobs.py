"""A HardenedApp's Jobs: a migration that runs before each rollout, and scheduled CronJobs.

Their pods run the app's image (unless they name another) with the app's ServiceAccount, ConfigMap,
Secret, resources and hardening; they carry the app's name and instance labels with the component
'job', so the app's Service never routes to them, and a NetworkPolicy of their own gives them the
app's egress ('egress' and 'talksTo') and no ingress at all.
Ref: https://kubernetes.io/docs/concepts/workloads/controllers/job/
Ref: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from .models import ImageReference, KeelsonModel

JOB_COMPONENT = "job"
"""The app.kubernetes.io/component of Job pods: the app's Service and its policies select by
component, so Job pods are never its endpoints."""

CRON_EXPRESSION = re.compile(r"^(\S+\s+){4}\S+$")


class JobSpec(KeelsonModel):
    """One run-to-completion command of an app.

    Default: 2 retries (backoffLimit) and a 600 s deadline, because a failing migration must fail
    the deployment quickly and visibly rather than retry for hours; no TTL, because the Job is
    Pulumi's to delete (a TTL would remove it behind Pulumi's back and the next `pulumi up` would
    run it again).
    """

    command: list[str] = Field(min_length=1)
    """The command, e.g. ["./manage", "migrate"]. Required."""
    args: list[str] | None = None
    """Its arguments. Default: none."""
    image: ImageReference | None = None
    """Image of the Job. Default: none, the app's own image (a migration ships with the code)."""
    backoff_limit: int = Field(default=2, ge=0, le=20)
    """Retries before the Job fails. Default: 2."""
    active_deadline_seconds: int = Field(default=600, ge=1, le=86400)
    """Longest a run may take, retries included. Default: 600 (10 minutes)."""

    def job_spec(self, template: dict[str, Any]) -> dict[str, Any]:
        """The Job's spec around a pod template."""
        return {
            "backoffLimit": self.backoff_limit,
            "activeDeadlineSeconds": self.active_deadline_seconds,
            "template": template,
        }


class ScheduledJob(JobSpec):
    """A JobSpec on a cron schedule (a CronJob), e.g. a nightly export or clean-up.

    Default: 'Forbid' concurrency (a slow run is never doubled), 3 successful and 3 failed runs kept
    for inspection, a run missed by more than 300 s skipped, times in UTC, a deadline of 3600 s.
    """

    schedule: str
    """Cron expression (five fields), e.g. "0 3 * * *". Required."""
    time_zone: str = "Etc/UTC"
    """IANA time zone of 'schedule'. Default: Etc/UTC, so daylight saving never skips or doubles a run."""
    concurrency_policy: Literal["Forbid", "Replace", "Allow"] = "Forbid"
    """What happens when a run is due while the last one still runs. Default: Forbid (skip the new one)."""
    successful_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    """Finished successful Jobs kept. Default: 3."""
    failed_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    """Failed Jobs kept (their pods hold the logs). Default: 3."""
    starting_deadline_seconds: int = Field(default=300, ge=10, le=86400)
    """A run that could not start within this many seconds of its time is skipped. Default: 300."""
    active_deadline_seconds: int = Field(default=3600, ge=1, le=86400)
    """Longest a run may take, retries included. Default: 3600 (one hour)."""

    @field_validator("schedule")
    @classmethod
    def _five_fields(cls, schedule: str) -> str:
        if not CRON_EXPRESSION.fullmatch(schedule.strip()) or "TZ=" in schedule:
            raise ValueError(
                f"'{schedule}' is not a five-field cron expression such as '0 3 * * *' (time zones go in 'timeZone')"
            )
        return schedule

    def cron_job_spec(self, template: dict[str, Any]) -> dict[str, Any]:
        """The CronJob's spec around a pod template."""
        return {
            "schedule": self.schedule,
            "timeZone": self.time_zone,
            "concurrencyPolicy": self.concurrency_policy,
            "successfulJobsHistoryLimit": self.successful_jobs_history_limit,
            "failedJobsHistoryLimit": self.failed_jobs_history_limit,
            "startingDeadlineSeconds": self.starting_deadline_seconds,
            "jobTemplate": {"metadata": {"labels": template["metadata"]["labels"]}, "spec": self.job_spec(template)},
        }
