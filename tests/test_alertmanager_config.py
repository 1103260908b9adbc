"""Alertmanager configuration: amtool accepts it for no, one and every channel; routing follows
severity with sensible fallbacks and sends Watchdog to the heartbeat alone; inhibition and grouping
follow the policy; no credential is ever written into the config, only into the Secret's files; and
a real alertmanager runs it and exposes every metric the rules read."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from keelson.monitoring.alertmanager import (
    SECRET_KEYS,
    SECRETS_DIR,
    AlertRoutingWarning,
    alertmanager_config,
    alertmanager_secret_data,
    routing_warnings,
)
from keelson.monitoring.models import AlertChannels
from keelson.monitoring.rules import all_rules, to_yaml
from conftest import FIGURES
from prometheus_tools import ALERTMANAGER_VERSION, tool

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/slack-SECRET-0001"
ROUTING_KEY = "R0UTINGKEYSECRET0000000000000001"
SMTP_PASSWORD = "smtp-SECRET-0001"
WEBHOOK_URL = "https://incidents.example.com/hooks/alertmanager/webhook-SECRET-path?token=webhook-SECRET-query"
WEBHOOK_TOKEN = "webhook-SECRET-0001"
HEARTBEAT_URL = "https://hc-ping.example.com/heartbeat-SECRET-uuid"
SECRET_VALUES = (SLACK_URL, ROUTING_KEY, SMTP_PASSWORD, WEBHOOK_URL, WEBHOOK_TOKEN, HEARTBEAT_URL)

SLACK = {"webhookUrl": SLACK_URL, "channel": "#alerts"}
PAGERDUTY = {"routingKey": ROUTING_KEY}
EMAIL = {
    "to": "oncall@example.com, platform@example.com",
    "from": "alertmanager@example.com",
    "smarthost": "smtp.example.com:587",
    "authUsername": "alertmanager",
    "authPassword": SMTP_PASSWORD,
}
WEBHOOK = {"url": WEBHOOK_URL, "bearerToken": WEBHOOK_TOKEN}
HEARTBEAT = {"url": HEARTBEAT_URL, "repeatInterval": "2m"}

CASES = {
    "no channels": {},
    "slack only": {"slack": SLACK},
    "webhook only, no token": {"webhook": {"url": WEBHOOK_URL}},
    "every channel": {"slack": SLACK, "pagerduty": PAGERDUTY, "email": EMAIL, "webhook": WEBHOOK, "heartbeat": HEARTBEAT},
}


def build(channels: dict[str, Any], secrets_dir: str = SECRETS_DIR) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlertRoutingWarning)
        return alertmanager_config(AlertChannels.model_validate(channels), secrets_dir=secrets_dir)


def receivers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {receiver["name"]: receiver for receiver in config["receivers"]}


def routes(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The child routes keyed by their (single) matcher."""
    return {route["matchers"][0]: route for route in config["route"].get("routes", []) if "matchers" in route}


@pytest.mark.parametrize("case", CASES)
def test_amtool_accepts_the_config_with_its_secret_files_beside_it(case, tmp_path):
    amtool = tool("amtool")
    channels = AlertChannels.model_validate(CASES[case])
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for key, value in alertmanager_secret_data(channels).items():
        (secrets / key).write_text(value.get_secret_value())
    config = build(CASES[case], secrets_dir=str(secrets))
    path = tmp_path / "alertmanager.yml"
    text = to_yaml(config)
    path.write_text(text)
    leaked = [value for value in SECRET_VALUES if value in text]
    assert not leaked, f"'{case}': credentials written into the Alertmanager config: {leaked}"
    result = subprocess.run(
        [amtool, "check-config", path.name], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "SUCCESS" in output, f"amtool rejected the '{case}' config:\n{output}\n{text}"
    referenced = {Path(value) for value in _file_fields(config)}
    for file in referenced:
        assert file.parent == secrets and file.is_file(), f"'{case}': the config reads {file}, which the Secret lacks"
    unused = sorted(file.name for file in secrets.iterdir() if file not in referenced)
    assert not unused, f"'{case}': Secret files the config never reads: {unused}"
    found = " ".join(line.strip() for line in output.splitlines()[2:] if line.strip())
    FIGURES[f"amtool check-config ({case})"] = f"SUCCESS, {found} (amtool {ALERTMANAGER_VERSION})"


def _file_fields(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k.endswith("_file")] + [f for v in node.values() for f in _file_fields(v)]
    if isinstance(node, list):
        return [f for item in node for f in _file_fields(item)]
    return []


ROUTED = {
    "every channel": {"critical": "webhook,critical", "warning": "webhook,warning", "info": "webhook,info", "watchdog": "heartbeat"},
    "slack only": {"critical": "critical", "warning": "warning", "info": "info", "watchdog": "null"},
    "pagerduty only": {"critical": "critical", "warning": "null", "info": "null", "watchdog": "null"},
    "no channels": {"critical": "null", "warning": "null", "info": "null", "watchdog": "null"},
}
"""case -> {severity of an AppDown alert, or 'watchdog' for Watchdog (severity info): receivers amtool reports}."""


@pytest.mark.parametrize("case", ROUTED)
def test_amtool_routes_each_severity_to_the_expected_receivers(case, tmp_path):
    amtool = tool("amtool")
    channels = {**CASES, "pagerduty only": {"pagerduty": PAGERDUTY}}[case]
    path = tmp_path / "alertmanager.yml"
    path.write_text(to_yaml(build(channels, secrets_dir=str(tmp_path))))
    for severity, expected in ROUTED[case].items():
        labels = ["severity=info", "alertname=Watchdog"] if severity == "watchdog" else [f"severity={severity}", "alertname=AppDown"]
        result = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={path}", *labels],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected, f"'{case}': a {severity} alert reached {result.stdout.strip()!r}"


@pytest.mark.parametrize("case", CASES)
def test_no_secret_value_appears_in_the_config_text(case):
    text = to_yaml(build(CASES[case]))
    leaked = [value for value in SECRET_VALUES if value in text] + (["SECRET"] if "SECRET" in text else [])
    assert not leaked, f"'{case}': credentials written into the Alertmanager config: {leaked}"


def test_every_credential_is_read_from_the_mounted_secret_directory():
    config = build(CASES["every channel"])
    by_name = receivers(config)
    assert by_name["critical"]["pagerduty_configs"][0]["routing_key_file"] == f"{SECRETS_DIR}/pagerduty-routing-key"
    assert by_name["critical"]["slack_configs"][0]["api_url_file"] == f"{SECRETS_DIR}/slack-webhook-url"
    assert by_name["info"]["email_configs"][0]["auth_password_file"] == f"{SECRETS_DIR}/smtp-auth-password"
    (webhook,) = by_name["webhook"]["webhook_configs"]
    assert webhook["url_file"] == f"{SECRETS_DIR}/webhook-url" and "url" not in webhook
    authorization = webhook["http_config"]["authorization"]
    assert authorization == {"type": "Bearer", "credentials_file": f"{SECRETS_DIR}/webhook-bearer-token"}
    data = alertmanager_secret_data(AlertChannels.model_validate(CASES["every channel"]))
    (heartbeat,) = by_name["heartbeat"]["webhook_configs"]
    assert heartbeat == {"url_file": f"{SECRETS_DIR}/heartbeat-url", "send_resolved": False}
    assert set(data) == set(SECRET_KEYS.values())
    assert {key: value.get_secret_value() for key, value in data.items()} == dict(
        zip(SECRET_KEYS.values(), (SLACK_URL, ROUTING_KEY, SMTP_PASSWORD, WEBHOOK_URL, WEBHOOK_TOKEN, HEARTBEAT_URL))
    )
    assert "SECRET" not in repr(data), "secret values must not print"


def test_routing_sends_critical_to_pagerduty_and_slack_warning_to_slack_info_to_email():
    config = build(CASES["every channel"])
    route = config["route"]
    assert route["group_by"] == ["alertname", "namespace"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "12h")
    by_matcher = routes(config)
    assert by_matcher['severity="critical"']["receiver"] == "critical"
    assert by_matcher['severity="critical"']["repeat_interval"] == "4h"
    assert by_matcher['severity="warning"']["receiver"] == "warning"
    assert by_matcher['severity="info"']["receiver"] == "info"
    assert route["routes"][1] == {"receiver": "webhook", "continue": True}, "the webhook gets a copy of everything"
    by_name = receivers(config)
    assert set(by_name["critical"]) == {"name", "pagerduty_configs", "slack_configs"}
    assert set(by_name["warning"]) == {"name", "slack_configs"}
    assert set(by_name["info"]) == {"name", "email_configs"}
    assert set(by_name) == {"critical", "warning", "info", "webhook", "heartbeat"}


def test_watchdog_goes_first_and_only_to_the_heartbeat_pinging_every_repeat_interval():
    watchdog = build(CASES["every channel"])["route"]["routes"][0]
    assert watchdog == {
        "receiver": "heartbeat",
        "matchers": ['alertname="Watchdog"'],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "2m",
    }, "Watchdog must stop at its own route (no 'continue'), before the webhook's copy-everything route"


def test_without_a_heartbeat_watchdog_goes_to_the_null_receiver():
    config = build(CASES["slack only"])
    assert config["route"]["routes"][0] == {"receiver": "null", "matchers": ['alertname="Watchdog"']}
    assert receivers(config)["null"] == {"name": "null"}
    assert "heartbeat" not in receivers(config)


def test_inhibition_mutes_lower_severities_and_the_other_alerts_of_a_down_app():
    rules = build(CASES["every channel"])["inhibit_rules"]
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity=~"warning|info"'],
        "equal": ["alertname", "namespace", "app", "sli", "persistentvolumeclaim", "node", "instance", "mountpoint"],
    } in rules
    app_down = next(rule for rule in rules if any("AppDown" in matcher for matcher in rule["source_matchers"]))
    assert app_down["equal"] == ["namespace", "app"]
    assert app_down["target_matchers"] == ['alertname!~"AppDown|WorkerDown"']


def test_no_channel_gives_a_single_null_receiver_and_a_warning():
    with pytest.warns(AlertRoutingWarning, match="no alert channel is configured"):
        config = alertmanager_config(AlertChannels())
    assert config["receivers"] == [{"name": "null"}]
    assert config["route"]["receiver"] == "null"
    assert config["route"]["routes"] == [{"receiver": "null", "matchers": ['alertname="Watchdog"']}]
    assert routing_warnings(AlertChannels()) and "nobody is notified" in routing_warnings(AlertChannels())[0]


def test_a_receiver_without_a_channel_is_not_emitted_and_its_severity_falls_back():
    config = build(CASES["slack only"])
    by_name = receivers(config)
    assert set(by_name) == {"critical", "warning", "info", "null"}, "'null' takes only Watchdog"
    assert all(set(receiver) == {"name", "slack_configs"} for name, receiver in by_name.items() if name != "null")
    assert "pagerduty_configs" not in to_yaml(config) and "email_configs" not in to_yaml(config)
    assert routing_warnings(AlertChannels.model_validate(CASES["slack only"])) == [
        "info alerts go to slack because none of email is configured"
    ]


def test_warnings_never_fall_back_to_pagerduty():
    channels = AlertChannels.model_validate({"pagerduty": PAGERDUTY})
    with pytest.warns(AlertRoutingWarning) as recorded:
        config = alertmanager_config(channels)
    assert set(receivers(config)) == {"critical", "null"}
    assert config["route"]["receiver"] == "null", "what matches no route must not page"
    assert [str(w.message) for w in recorded] == [
        "warning alerts reach no one: neither slack nor email is configured",
        "info alerts reach no one: neither email nor slack is configured",
    ]


def test_email_only_takes_every_severity_and_says_so():
    channels = AlertChannels.model_validate({"email": EMAIL})
    config = build({"email": EMAIL})
    assert set(receivers(config)) == {"critical", "warning", "info", "null"}
    assert routing_warnings(channels) == [
        "critical alerts go to email because none of pagerduty, slack is configured",
        "warning alerts go to email because none of slack is configured",
    ]


def test_a_webhook_alone_receives_everything_at_the_root():
    config = build(CASES["webhook only, no token"])
    assert config["route"]["receiver"] == "webhook"
    assert [route["receiver"] for route in config["route"]["routes"]] == ["null"], "only Watchdog is routed elsewhere"
    (webhook,) = receivers(config)["webhook"]["webhook_configs"]
    assert webhook == {"url_file": f"{SECRETS_DIR}/webhook-url", "send_resolved": True}
    data = alertmanager_secret_data(AlertChannels.model_validate(CASES["webhook only, no token"]))
    assert {key: value.get_secret_value() for key, value in data.items()} == {"webhook-url": WEBHOOK_URL}


@pytest.mark.parametrize(
    "channels, message",
    [
        ({"slack": {**SLACK, "webhookUrl": "http://hooks.slack.com/x"}}, r"must be an https:// URL \(got http://\)"),
        ({"slack": {**SLACK, "channel": "Alerts Room"}}, "is not a Slack channel"),
        ({"pagerduty": {"routingKey": "short"}}, "32-character integration key"),
        ({"email": {**EMAIL, "to": "oncall@"}}, "'oncall@' is not an email address"),
        ({"email": {**EMAIL, "from": "alertmanager"}}, "'alertmanager' is not an email address"),
        ({"email": {**EMAIL, "smarthost": "smtp.example.com"}}, "is not host:port"),
        ({"email": {**EMAIL, "authPassword": None}}, "'authUsername' is set without"),
        ({"webhook": {"url": "http://incidents.example.com/hook"}}, r"must be an https:// URL \(got http://\)"),
        ({"webhook": {"url": "incidents.example.com/hook"}}, r"must be an https:// URL \(got no scheme\)"),
        ({"webhook": {"bearerToken": "x"}}, "webhook.url\n  Field required"),
        ({"heartbeat": {"url": "http://hc-ping.example.com/x"}}, r"must be an https:// URL \(got http://\)"),
        ({"heartbeat": {"url": HEARTBEAT_URL, "repeatInterval": "0m"}}, "is not a positive Prometheus duration"),
        ({"teams": {}}, "Extra inputs are not permitted"),
    ],
)
def test_malformed_channels_are_rejected_with_a_clear_message(channels, message):
    with pytest.raises(ValueError, match=message):
        AlertChannels.model_validate(channels)


@pytest.mark.parametrize(
    "channels",
    [
        {"slack": {"webhookUrl": "http://hooks.slack.com/SECRET-x", "channel": "#a"}},
        {"webhook": {"url": "http://incidents.example.com/SECRET-x"}},
    ],
)
def test_a_rejected_url_is_not_echoed_in_the_error(channels):
    with pytest.raises(ValueError) as error:
        AlertChannels.model_validate(channels)
    assert "SECRET-x" not in str(error.value)


def test_the_webhook_url_never_prints():
    channels = AlertChannels.model_validate(CASES["every channel"])
    assert "SECRET" not in repr(channels) and "SECRET" not in str(channels.webhook)


def test_the_rendered_config_is_yaml_of_the_config_data():
    config = build(CASES["every channel"])
    assert yaml.safe_load(to_yaml(config)) == config


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_real_alertmanager_runs_the_config_and_exposes_every_metric_the_rules_read(tmp_path):
    """The alertmanager 0.28.1 binary loads the 'every channel' config (heartbeat included) as a
    one-member cluster, and its /metrics has every alertmanager_* series the rules select."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    channels = AlertChannels.model_validate(CASES["every channel"])
    for key, value in alertmanager_secret_data(channels).items():
        (secrets / key).write_text(value.get_secret_value())
    config = tmp_path / "alertmanager.yml"
    config.write_text(to_yaml(build(CASES["every channel"], secrets_dir=str(secrets))))
    web, cluster = _free_port(), _free_port()
    log = tmp_path / "alertmanager.log"
    command = [
        tool("alertmanager"), f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{web}", f"--cluster.listen-address=127.0.0.1:{cluster}",
        f"--cluster.advertise-address=127.0.0.1:{cluster}",
    ]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        exposed: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "alertmanager_cluster_members" not in exposed:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=2) as response:  # noqa: S310
                    text = response.read().decode()
                exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert exposed, f"alertmanager never served /metrics:\n{log.read_text()[-3000:]}"
    finally:
        process.terminate()
        process.wait(timeout=10)
    used = {name for rule in all_rules() for name in re.findall(r"\b(alertmanager_[a-z_]+)\b", rule["expr"])}
    assert used, "the rules read no alertmanager_* metric"
    assert used <= exposed, f"rules read metrics alertmanager {ALERTMANAGER_VERSION} does not expose: {sorted(used - exposed)}"
    FIGURES["live alertmanager"] = f"{ALERTMANAGER_VERSION}: {len(used)} alertmanager_* metrics the rules read, all exposed"


def test_a_critical_alert_mutes_only_the_warnings_about_the_same_object():
    """Every pair of alerts sharing a name across severities: the critical one mutes the warning
    about the same object (the inhibition's 'equal' labels agree) and no other."""
    from keelson.monitoring.models import SloObjective

    (rule,) = [r for r in build(CASES["every channel"])["inhibit_rules"] if r["source_matchers"] == ['severity="critical"']]
    rules = [r for r in all_rules([SloObjective(app="api", namespace="p"), SloObjective(app="web", namespace="p")]) if "alert" in r]
    by_name: dict[str, set[str]] = {}
    for alert in rules:
        by_name.setdefault(alert["alert"], set()).add(alert["labels"]["severity"])
    paired = sorted(name for name, severities in by_name.items() if {"critical", "warning"} <= severities)
    assert paired, "no alert has both severities"
    # Labels each paired alert carries besides its static ones: what tells two objects apart.
    object_labels = {
        "PersistentVolumeFillingUp": {"persistentvolumeclaim"},
        "NodeFilesystemSpaceFillingUp": {"instance", "mountpoint"},
        "KubeClientCertificateExpiration": set(),
        "SLOAvailabilityErrorBudgetBurn": {"app"},
        "SLOLatencyErrorBudgetBurn": {"app"},
    }
    assert set(paired) <= set(object_labels), f"pairs without a documented object: {set(paired) - set(object_labels)}"
    for name in paired:
        missing = object_labels[name] - set(rule["equal"])
        assert not missing, f"a critical {name} would mute the warnings of other objects: 'equal' lacks {missing}"
