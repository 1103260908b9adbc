"""Log-based alerts, evaluated by the Loki ruler and routed to the MonitoringStack's Alertmanager.

    loki_rule_groups(alerts)  -> the rule groups (LogQL expressions, Prometheus rule format)
    render_loki_rules(alerts) -> {"logs.rules.yaml": "<YAML text>"}, the ruler's rule files

The expressions count lines by the stream labels the collector sets (components/logging/
fluent_bit.py LOKI_LABELS): 'namespace' and 'app' match the labels of the app alerts in
components/monitoring/rules, so Alertmanager's grouping and its AppDown inhibition apply to log
alerts too. Alerts are built by the same helper as the Prometheus ones, so each gets its severity,
summary, description and runbook_url the same way.
Ref: https://grafana.com/docs/loki/latest/alert/
"""

from __future__ import annotations

from typing import Any

from ..monitoring.rules import to_yaml
from ..monitoring.rules.helpers import alert
from .fluent_bit import LOKI_LABELS
from .models import LogAlerts

RULES_FILE = "logs.rules.yaml"
COLLECTED = f'job="{LOKI_LABELS["job"]}"'
"""Selects every stream the collector pushes."""


def error_burst_expr(threshold: int) -> str:
    """LogQL: error lines per app over 5 minutes, above 'threshold'."""
    return f'sum by (namespace, app) (count_over_time({{{COLLECTED}, level=~"error|critical"}} [5m])) > {threshold}'


def loki_rule_groups(alerts: LogAlerts) -> list[dict[str, Any]]:
    """Return the rule groups of the log-based alerts."""
    ratio = alerts.error_ratio_percent / 100
    return [
        {
            "name": "keelson-logs",
            "interval": "1m",
            "rules": [
                alert(
                    "LogErrorBurst",
                    error_burst_expr(alerts.error_burst_lines),
                    for_="2m",
                    severity="warning",
                    summary="An app logs a burst of errors.",
                    description=f"""
                    {{{{ $labels.namespace }}}}/{{{{ $labels.app }}}} logged {{{{ $value }}}} error lines in
                    the last 5 minutes (threshold {alerts.error_burst_lines}).
                    """,
                ),
                alert(
                    "LogErrorRatioHigh",
                    f"""
                    (
                      sum by (namespace, app) (count_over_time({{{COLLECTED}, level=~"error|critical"}} [10m]))
                      /
                      sum by (namespace, app) (count_over_time({{{COLLECTED}}} [10m]))
                    ) > {ratio:g}
                    and
                    sum by (namespace, app) (count_over_time({{{COLLECTED}}} [10m])) > 20
                    """,
                    for_="10m",
                    severity="warning",
                    summary="A large share of an app's log lines are errors.",
                    description=f"""
                    {{{{ $value | humanizePercentage }}}} of the lines {{{{ $labels.namespace }}}}/{{{{ $labels.app }}}}
                    logged over 10 minutes are errors (threshold {alerts.error_ratio_percent:g}%).
                    """,
                ),
                alert(
                    "LogIngestionStopped",
                    f"absent_over_time({{{COLLECTED}}} [{alerts.silence_minutes}m])",
                    for_="5m",
                    severity="warning",
                    summary="No log line has reached Loki for a while.",
                    description=f"""
                    Loki received no line from the collector for {alerts.silence_minutes} minutes: the
                    Fluent Bit DaemonSet, its NetworkPolicy or Loki's ingestion is broken.
                    """,
                ),
            ],
        }
    ]


def render_loki_rules(alerts: LogAlerts) -> dict[str, str]:
    """Return the ruler's rule files as {file name: YAML text}."""
    return {RULES_FILE: to_yaml({"groups": loki_rule_groups(alerts)})}
