"""The Alertmanager configuration: severity routing, inhibition, and receivers without secrets.

    alertmanager_config(channels)       -> alertmanager.yml as a dict (no credential inside)
    alertmanager_secret_data(channels)  -> {file name: secret} for the Secret mounted at SECRETS_DIR
    routing_warnings(channels)          -> what the routing cannot deliver, in words

Routing: critical -> PagerDuty + Slack (repeat every 4h), warning -> Slack, info -> email
(repeat every 12h), grouped by alertname and namespace; the webhook, when set, gets a copy of
everything. The always-firing Watchdog alert (rules/self_monitoring.py) is routed first and alone:
to the heartbeat receiver (a dead man's switch service), re-sent every 'repeatInterval', or, when
no heartbeat is configured, to the 'null' receiver, so that an alert firing by design never
reaches Slack, email or the webhook. A channel that is not configured produces no receiver; its
severity falls back to the next sensible channel (critical: email; warning: email; info: Slack)
and never to PagerDuty, so a missing Slack does not turn warnings into pages.

Credentials are read by Alertmanager from files ('api_url_file', 'routing_key_file',
'auth_password_file', the webhook's and the heartbeat's 'url_file' and
'http_config.authorization.credentials_file'), so the config can live in a ConfigMap and only alertmanager_secret_data() goes into a Secret.
The webhook 'url_file' needs Alertmanager >= 0.26; the stack deploys 0.28.1 and the tests check
the config with amtool 0.28.1 (tools/bootstrap-prometheus-tools.sh).
Ref: https://prometheus.io/docs/alerting/latest/configuration/
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import SecretStr

from .models import AlertChannels
from .rules.self_monitoring import WATCHDOG

CONFIG_DIR = "/etc/alertmanager"
"""Where the MonitoringStack mounts the ConfigMap holding alertmanager.yml."""
SECRETS_DIR = f"{CONFIG_DIR}/secrets"
"""Where the MonitoringStack mounts the Secret built from alertmanager_secret_data()."""

SECRET_KEYS = {
    "slack": "slack-webhook-url",
    "pagerduty": "pagerduty-routing-key",
    "email": "smtp-auth-password",
    "webhook": "webhook-url",
    "webhook_bearer_token": "webhook-bearer-token",
    "heartbeat": "heartbeat-url",
}
"""File name (Secret key) of each credential: one per channel, plus the webhook's optional token."""

GROUP_BY = ["alertname", "namespace"]
GROUP_WAIT = "30s"
GROUP_INTERVAL = "5m"
REPEAT_INTERVAL = "12h"
CRITICAL_REPEAT_INTERVAL = "4h"
"""An unresolved page is repeated every 4 hours; anything else twice a day."""

NULL_RECEIVER = "null"
SAME_OBJECT = ["alertname", "namespace", "app", "sli", "persistentvolumeclaim", "node", "instance", "mountpoint"]
"""Labels a critical alert shares with the warnings it mutes: the same alert about the same object.
Alertmanager counts a label missing on both sides as equal, so alertname and namespace alone would
let a critical alert about one node's filesystem (no namespace label) mute the warnings of every
other node, and one app's SLO page mute another app's tickets in the same namespace."""
HEARTBEAT_RECEIVER = "heartbeat"
HEARTBEAT_GROUP_INTERVAL = "1m"
"""How often the Watchdog group is checked for a due re-send: the ping period is 'repeatInterval'
plus at most this."""
APP_DOWN_ALERTS = "AppDown|WorkerDown"

SEVERITY_CHANNELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "critical": (("pagerduty", "slack"), ("email",)),
    "warning": (("slack",), ("email",)),
    "info": (("email",), ("slack",)),
}
"""severity -> (channels used together when configured, fallbacks tried in order when none is)."""

_SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }} ({{ .CommonLabels.namespace }})"
)
_SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "<{{ .Annotations.runbook_url }}|Runbook>\n{{ end }}"
)


class AlertRoutingWarning(UserWarning):
    """Some alerts cannot reach the channel their severity asks for (or any channel at all)."""


def _severity_channels(channels: AlertChannels) -> dict[str, list[str]]:
    configured = set(channels.configured())
    chosen: dict[str, list[str]] = {}
    for severity, (preferred, fallbacks) in SEVERITY_CHANNELS.items():
        names = [name for name in preferred if name in configured]
        if not names:
            names = [name for name in fallbacks if name in configured][:1]
        chosen[severity] = names
    return chosen


def routing_warnings(channels: AlertChannels) -> list[str]:
    """Return, in words, every way the routing for these channels falls short of the policy."""
    if not channels.configured():
        return [
            "no alert channel is configured (slack, pagerduty, email or webhook): every alert goes to "
            f"the '{NULL_RECEIVER}' receiver and nobody is notified"
        ]
    messages = []
    for severity, names in _severity_channels(channels).items():
        preferred, fallbacks = SEVERITY_CHANNELS[severity]
        if not names:
            reach = "only the webhook" if channels.webhook else "no one"
            wanted = " nor ".join(preferred + fallbacks)
            messages.append(f"{severity} alerts reach {reach}: neither {wanted} is configured")
        elif not set(names) & set(preferred):
            messages.append(f"{severity} alerts go to {names[0]} because none of {', '.join(preferred)} is configured")
    return messages


def _secret_file(secrets_dir: str, credential: str) -> str:
    return f"{secrets_dir}/{SECRET_KEYS[credential]}"


def _channel_config(channels: AlertChannels, channel: str, secrets_dir: str) -> tuple[str, dict[str, Any]]:
    """Return (the receiver field, one entry of it) for a configured channel."""
    if channel == "slack":
        assert channels.slack is not None
        return "slack_configs", {
            "api_url_file": _secret_file(secrets_dir, "slack"),
            "channel": channels.slack.channel,
            "send_resolved": True,
            "title": _SLACK_TITLE,
            "text": _SLACK_TEXT,
        }
    if channel == "pagerduty":
        return "pagerduty_configs", {
            "routing_key_file": _secret_file(secrets_dir, "pagerduty"),
            "send_resolved": True,
            "severity": "critical",
        }
    if channel == "email":
        email = channels.email
        assert email is not None
        entry: dict[str, Any] = {
            "to": email.to,
            "from": email.from_,
            "smarthost": email.smarthost,
            "require_tls": email.require_tls,
            "send_resolved": True,
        }
        if email.auth_username is not None:
            entry["auth_username"] = email.auth_username
            entry["auth_password_file"] = _secret_file(secrets_dir, "email")
        return "email_configs", entry
    webhook = channels.webhook
    assert webhook is not None
    entry = {"url_file": _secret_file(secrets_dir, "webhook"), "send_resolved": True}
    if webhook.bearer_token is not None:
        entry["http_config"] = {
            "authorization": {"type": "Bearer", "credentials_file": _secret_file(secrets_dir, "webhook_bearer_token")}
        }
    return "webhook_configs", entry


def _receiver(name: str, channel_names: list[str], channels: AlertChannels, secrets_dir: str) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": name}
    for channel in channel_names:
        field, entry = _channel_config(channels, channel, secrets_dir)
        receiver.setdefault(field, []).append(entry)
    return receiver


def _watchdog_route(channels: AlertChannels) -> dict[str, Any]:
    """The first route: Watchdog to the heartbeat alone, re-sent as a ping every 'repeatInterval'.

    Without a heartbeat it goes to the 'null' receiver: Watchdog fires by design, so sending it
    anywhere else would be noise, and dropping it costs nothing but the dead man's switch the
    stack chose not to have.
    """
    matchers = [f'alertname="{WATCHDOG}"']
    if channels.heartbeat is None:
        return {"receiver": NULL_RECEIVER, "matchers": matchers}
    return {
        "receiver": HEARTBEAT_RECEIVER,
        "matchers": matchers,
        "group_wait": "0s",
        "group_interval": HEARTBEAT_GROUP_INTERVAL,
        "repeat_interval": channels.heartbeat.repeat_interval,
    }


def alertmanager_config(channels: AlertChannels, *, secrets_dir: str = SECRETS_DIR) -> dict[str, Any]:
    """Return the Alertmanager configuration for the configured channels.

    Args:
        channels: the alert channels; any subset may be configured.
        secrets_dir: where alertmanager_secret_data() is mounted. Default: SECRETS_DIR.

    Receivers are named after the severity they serve ('critical', 'warning', 'info') plus
    'webhook' and 'heartbeat'; with no channel at all the config holds a single receiver, 'null',
    which is still valid (and takes Watchdog too). Each shortfall is also emitted as an
    AlertRoutingWarning (see routing_warnings()).

    Inhibition: a critical alert mutes warning and info alerts of the same alertname about the
    same object (SAME_OBJECT: namespace, app, SLI, volume claim, node, instance, mount point);
    AppDown (or WorkerDown) mutes every other alert of that app (same namespace and 'app' label,
    see components/monitoring/rules/helpers.py).
    """
    for message in routing_warnings(channels):
        warnings.warn(message, AlertRoutingWarning, stacklevel=2)

    by_severity = {
        severity: _receiver(severity, names, channels, secrets_dir)
        for severity, names in _severity_channels(channels).items()
        if names
    }
    receivers = list(by_severity.values())
    routes: list[dict[str, Any]] = []
    root = next((name for name in ("warning", "info") if name in by_severity), None)
    if channels.webhook is not None:
        receivers.append(_receiver("webhook", ["webhook"], channels, secrets_dir))
        if by_severity:
            routes.append({"receiver": "webhook", "continue": True})
        root = root or "webhook"
    for severity in by_severity:
        route: dict[str, Any] = {"receiver": severity, "matchers": [f'severity="{severity}"']}
        if severity == "critical":
            route["repeat_interval"] = CRITICAL_REPEAT_INTERVAL
        routes.append(route)
    routes.insert(0, _watchdog_route(channels))
    if channels.heartbeat is not None:
        receivers.append(
            {
                "name": HEARTBEAT_RECEIVER,
                "webhook_configs": [{"url_file": _secret_file(secrets_dir, "heartbeat"), "send_resolved": False}],
            }
        )
    if root is None:
        # Only PagerDuty, or nothing: what matches no route must not page, so it goes nowhere.
        root = NULL_RECEIVER
    if NULL_RECEIVER in (root, routes[0]["receiver"]):
        receivers.append({"name": NULL_RECEIVER})

    top: dict[str, Any] = {
        "receiver": root,
        "group_by": list(GROUP_BY),
        "group_wait": GROUP_WAIT,
        "group_interval": GROUP_INTERVAL,
        "repeat_interval": REPEAT_INTERVAL,
        "routes": routes,
    }
    return {
        "route": top,
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity=~"warning|info"'],
                "equal": list(SAME_OBJECT),
            },
            {
                "source_matchers": [f'alertname=~"{APP_DOWN_ALERTS}"'],
                "target_matchers": [f'alertname!~"{APP_DOWN_ALERTS}"'],
                "equal": ["namespace", "app"],
            },
        ],
        "receivers": receivers,
    }


def alertmanager_secret_data(channels: AlertChannels) -> dict[str, SecretStr]:
    """Return {file name: credential} for the Secret mounted at the config's 'secrets_dir'.

    Values stay SecretStr so they never print; the MonitoringStack unwraps them into
    pulumi.Output.secret(...) string data.
    """
    data: dict[str, SecretStr] = {}
    if channels.slack is not None:
        data[SECRET_KEYS["slack"]] = channels.slack.webhook_url
    if channels.pagerduty is not None:
        data[SECRET_KEYS["pagerduty"]] = channels.pagerduty.routing_key
    if channels.email is not None and channels.email.auth_password is not None:
        data[SECRET_KEYS["email"]] = channels.email.auth_password
    if channels.webhook is not None:
        data[SECRET_KEYS["webhook"]] = channels.webhook.url
        if channels.webhook.bearer_token is not None:
            data[SECRET_KEYS["webhook_bearer_token"]] = channels.webhook.bearer_token
    if channels.heartbeat is not None:
        data[SECRET_KEYS["heartbeat"]] = channels.heartbeat.url
    return data
