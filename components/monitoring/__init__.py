"""Monitoring as data: Prometheus rules and configuration, Alertmanager routing, SLO alerts.

Pure builders returning plain dicts (no Pulumi resources); the MonitoringStack component turns
them into ConfigMaps, Secrets and workloads:

    from keelson.monitoring import (
        AlertChannels, ScrapedApp, SloObjective,
        render_rule_files, prometheus_config, alertmanager_config, alertmanager_secret_data,
    )
"""

from .alertmanager import (
    SECRETS_DIR,
    AlertRoutingWarning,
    alertmanager_config,
    alertmanager_secret_data,
    routing_warnings,
)
from .models import (
    AlertChannels,
    CustomSli,
    EmailChannel,
    HeartbeatChannel,
    PagerDutyChannel,
    ScrapedApp,
    SlackChannel,
    SloObjective,
    WebhookChannel,
)
from .prometheus_config import prometheus_args, prometheus_config, self_monitoring_config
from .rules import render_rule_files, rule_files, to_yaml

__all__ = [
    "SECRETS_DIR",
    "AlertChannels",
    "AlertRoutingWarning",
    "CustomSli",
    "EmailChannel",
    "HeartbeatChannel",
    "PagerDutyChannel",
    "ScrapedApp",
    "SlackChannel",
    "SloObjective",
    "WebhookChannel",
    "alertmanager_config",
    "alertmanager_secret_data",
    "prometheus_args",
    "prometheus_config",
    "render_rule_files",
    "routing_warnings",
    "rule_files",
    "self_monitoring_config",
    "to_yaml",
]
