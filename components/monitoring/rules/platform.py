"""Platform rules: the monitoring system watching itself (scrape targets, Alertmanager).

Ref: https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series
"""

from __future__ import annotations

from .helpers import alert, record

RECORDING_RULES = [
    record("job:up:avg", "avg by (job) (up)"),
]

ALERTS = [
    alert(
        "PrometheusTargetDown",
        "up == 0",
        for_="10m",
        severity="warning",
        summary="A scrape target has been unreachable for 10 minutes.",
        description="""
        Prometheus has failed to scrape {{ $labels.instance }} of job {{ $labels.job }} for 10 minutes;
        its metrics, and every alert built on them, are blind.
        """,
    ),
    alert(
        "AlertmanagerConfigReloadFailed",
        "max_over_time(alertmanager_config_last_reload_successful{%(alertmanager)s}[5m]) == 0",
        for_="10m",
        severity="critical",
        summary="Alertmanager failed to load its configuration.",
        description="""
        Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} has failed to reload its configuration
        for 10 minutes and keeps routing with the previous one.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.platform.recording", "rules": RECORDING_RULES},
    {"name": "keelson.platform.alerts", "rules": ALERTS},
]
