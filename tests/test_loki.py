"""Loki configuration, checked by the real Loki the stack deploys: `loki -verify-config` accepts the
staging and production configs (and rejects retention without a delete-request store), and a live
Loki on 127.0.0.1 started from the generated config ingests pushed lines, answers LogQL queries
(including the ruler's error-burst alert expression), loads the ruler's rules, loads a new rule
file without a restart and runs the compactor with retention on. The binary comes from tools/bootstrap-loki.sh."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from keelson.logging.loki_config import LOKI_VERSION, TENANT, loki_config, retention_hours
from keelson.builders.labels import image_version
from keelson.logging.models import LOKI_IMAGE, LogAlerts, LokiSpec
from keelson.logging.rules import RULES_FILE, error_burst_expr, render_loki_rules
from keelson.logging.stack import LoggingStackArgs
from conftest import FIGURES
from harness import free_port

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "tools" / "bootstrap-loki.sh"
READY_TIMEOUT_SECONDS = 60
STACK_RETENTION = {"staging": "7d", "production": "30d"}


def loki_binary() -> Path:
    """The Loki binary tools/bootstrap-loki.sh built for LOKI_VERSION; fails with how to build it."""
    completed = subprocess.run([str(BOOTSTRAP), "--print-bin-dir"], capture_output=True, text=True, timeout=30)
    binary = Path(completed.stdout.strip()) / "loki"
    if completed.returncode != 0 or not binary.is_file():
        pytest.fail(
            f"Loki {LOKI_VERSION} is not built. Run: tools/bootstrap-loki.sh (builds "
            f"github.com/grafana/loki/v3@v{LOKI_VERSION} ./cmd/loki from the Go module proxy; needs Go >= 1.26 "
            f"and about 10 minutes on 2 cores)\n{completed.stderr.strip()}",
            pytrace=False,
        )
    return binary


def write_config(directory: Path, retention: str, alertmanager_url: str, **ports: Any) -> Path:
    """Write the stack's Loki config with every path under 'directory', and its rule files."""
    rules_dir = directory / "rules"
    (rules_dir / TENANT).mkdir(parents=True)
    for name, text in render_loki_rules(LogAlerts()).items():
        (rules_dir / TENANT / name).write_text(text)
    config = loki_config(
        LokiSpec(retention=retention),
        alertmanager_url=alertmanager_url,
        data_dir=str(directory / "data"),
        rules_dir=str(rules_dir),
        **ports,
    )
    path = directory / "loki.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def duration_seconds(text: str) -> int:
    """Seconds of a Prometheus-style duration as Loki prints it ('30d', '1w', '720h', '1h30m')."""
    units = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"([0-9]+)(ms|[ywdhms])", text)
    assert "".join(number + unit for number, unit in parts) == text, f"not a duration: {text!r}"
    return sum(int(number) * units[unit] for number, unit in parts if unit != "ms")


def test_the_image_and_the_built_binary_are_the_same_loki_release():
    assert image_version(LOKI_IMAGE) == LOKI_VERSION
    assert f'LOKI_VERSION = "{LOKI_VERSION}"' in (ROOT / "components" / "logging" / "loki_config.py").read_text(), (
        "tools/bootstrap-loki.sh reads the version from this exact line"
    )
    version = subprocess.run([str(loki_binary()), "-version"], capture_output=True, text=True, timeout=30)
    assert f"version {LOKI_VERSION}" in version.stdout + version.stderr


@pytest.mark.parametrize("stack", sorted(STACK_RETENTION))
def test_loki_verify_config_accepts_the_stack_config(tmp_path, stack):
    args = LoggingStackArgs(loki=LokiSpec(retention=STACK_RETENTION[stack]))
    config = write_config(tmp_path, STACK_RETENTION[stack], args.alerts.alertmanager_url)
    completed = subprocess.run(
        [str(loki_binary()), "-verify-config", f"-config.file={config}"], capture_output=True, text=True, timeout=60
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0 and "config is valid" in output, f"loki -verify-config rejected {stack}:\n{output}"
    FIGURES[f"loki -verify-config ({stack})"] = f"Loki {LOKI_VERSION}: config is valid (retention {STACK_RETENTION[stack]})"


def test_loki_verify_config_rejects_retention_without_a_delete_request_store(tmp_path):
    """The check is live, and the reason delete_request_store is part of the contract."""
    config = write_config(tmp_path, "7d", LogAlerts().alertmanager_url)
    document = yaml.safe_load(config.read_text())
    del document["compactor"]["delete_request_store"]
    config.write_text(yaml.safe_dump(document))
    completed = subprocess.run(
        [str(loki_binary()), "-verify-config", f"-config.file={config}"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode != 0
    assert "delete-request-store should be configured when retention is enabled" in completed.stdout + completed.stderr


# -- a live Loki -------------------------------------------------------------------------------


class LiveLoki:
    def __init__(self, url: str, log: Path):
        self.url = url
        self.log = log

    def get(self, path: str, **params: Any) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return response.read()

    def query(self, path: str, **params: Any) -> dict[str, Any]:
        document = json.loads(self.get(path, **params))
        assert document["status"] == "success", document
        return document["data"]

    def push(self, streams: list[dict[str, Any]]) -> int:
        request = urllib.request.Request(
            f"{self.url}/loki/api/v1/push",
            data=json.dumps({"streams": streams}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status


@pytest.fixture(scope="module")
def live_loki(tmp_path_factory) -> Iterator[LiveLoki]:
    """A real Loki on 127.0.0.1 with the production config (30d), temp storage and its own ports;
    the ruler points at a loopback port nothing listens on. Always killed afterwards."""
    binary = loki_binary()
    directory = tmp_path_factory.mktemp("loki")
    http_port, grpc_port, alertmanager_port = free_port(), free_port(), free_port()
    config = write_config(
        directory,
        STACK_RETENTION["production"],
        f"http://127.0.0.1:{alertmanager_port}",
        http_port=http_port,
        grpc_port=grpc_port,
        http_listen_address="127.0.0.1",
    )
    log = directory / "loki.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), f"-config.file={config}"], stdout=output, stderr=subprocess.STDOUT, cwd=directory
        )
    loki = LiveLoki(f"http://127.0.0.1:{http_port}", log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"loki exited with {process.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
            try:
                if loki.get("/ready").strip() == b"ready":
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"loki not ready within {READY_TIMEOUT_SECONDS}s:\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.5)
        FIGURES["live Loki"] = f"ready in {READY_TIMEOUT_SECONDS - (deadline - time.monotonic()):.0f}s"
        yield loki
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _stream(app: str, level: str, lines: list[dict[str, Any]], now_ns: int) -> dict[str, Any]:
    """A stream as the collector pushes it: its labels (LOKI_LABELS, which the loki output removes
    from the record) and the rest of each record as a JSON line."""
    return {
        "stream": {
            "job": "fluent-bit", "environment": "production", "namespace": "shop",
            "app": app, "container": app, "level": level,
        },
        "values": [[str(now_ns - (len(lines) - index) * 1_000_000), json.dumps(line)] for index, line in enumerate(lines)],
    }


def test_pushed_lines_come_back_from_a_logql_query(live_loki):
    now = time.time_ns()
    errors = [{"message": "upstream timeout", "method": "GET", "path": "/api/items", "status": 503}] * 60
    infos = [{"message": "ok", "method": "GET", "path": "/api/items", "status": 200}] * 5
    assert live_loki.push([_stream("api", "error", errors, now), _stream("api", "info", infos, now)]) == 204
    start = now - 60 * 1_000_000_000
    data = live_loki.query(
        "/loki/api/v1/query_range",
        query='{job="fluent-bit", app="api"} | json | status >= 500',
        start=str(start), end=str(now + 1_000_000_000), limit=1000,
    )
    lines = [json.loads(line) for stream in data["result"] for _, line in stream["values"]]
    assert len(lines) == 60 and {line["status"] for line in lines} == {503}
    assert {stream["stream"]["level"] for stream in data["result"]} == {"error"}
    FIGURES["live Loki push/query"] = f"pushed 65 lines (2 streams), read back {len(lines)} 5xx lines with LogQL"


def test_the_error_burst_alert_expression_fires_on_the_pushed_burst(live_loki):
    now = time.time_ns()
    errors = [{"message": "db down"}] * 55
    assert live_loki.push([_stream("checkout", "error", errors, now)]) == 204
    data = live_loki.query("/loki/api/v1/query", query=error_burst_expr(50), time=str(now + 1_000_000_000))
    firing = {(sample["metric"]["namespace"], sample["metric"]["app"]) for sample in data["result"]}
    assert ("shop", "checkout") in firing, f"LogErrorBurst's expression did not select the burst: {data['result']}"


def test_the_ruler_loaded_every_log_alert(live_loki):
    deadline = time.monotonic() + 20
    while True:
        try:
            rules = yaml.safe_load(live_loki.get("/loki/api/v1/rules")) or {}
        except urllib.error.HTTPError as error:
            rules = {"error": error.code}
        groups = [group for namespace in rules.values() if isinstance(namespace, list) for group in namespace]
        if groups or time.monotonic() > deadline:
            break
        time.sleep(1)
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    expected = {rule["alert"] for group in yaml.safe_load(render_loki_rules(LogAlerts())[RULES_FILE])["groups"] for rule in group["rules"]}
    assert alerts == expected, f"the ruler serves {alerts or rules}, expected {expected}"


def test_the_running_compactor_enforces_the_configured_retention(live_loki):
    config = yaml.safe_load(live_loki.get("/config"))
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    served = config["limits_config"]["retention_period"]
    assert duration_seconds(served) == duration_seconds(retention_hours(STACK_RETENTION["production"])), served
    services = live_loki.get("/services").decode()
    assert "compactor => Running" in services, services


def _start_time(loki: LiveLoki) -> float:
    """process_start_time_seconds of the running Loki: a restart would change it."""
    found = re.search(rb"^process_start_time_seconds ([0-9.e+]+)$", loki.get("/metrics"), flags=re.MULTILINE)
    assert found, "Loki's /metrics has no process_start_time_seconds"
    return float(found.group(1))


def _evaluated_alerts(loki: LiveLoki) -> set[str]:
    """The alerts the ruler evaluates (its Prometheus-style rules API, which lists the loaded rule
    groups; /loki/api/v1/rules reads the rule files from storage instead)."""
    try:
        groups = loki.query("/prometheus/api/v1/rules")["groups"]
    except urllib.error.HTTPError:
        return set()
    return {rule["name"] for group in groups for rule in group["rules"] if rule.get("type") == "alerting"}


def test_the_ruler_picks_up_a_new_rule_file_without_a_restart(live_loki):
    """A rule change is a ConfigMap update: the kubelet rewrites the mounted file and the ruler,
    polling its directory (ruler.poll_interval, 1m in the stack's config), loads it; the pod never
    restarts. Here the file is written beside the stack's own, in the running Loki's rule dir."""
    config = yaml.safe_load(live_loki.get("/config"))
    poll = duration_seconds(config["ruler"]["poll_interval"])
    assert poll == 60, config["ruler"]["poll_interval"]
    rule_file = live_loki.log.parent / "rules" / TENANT / "reload-probe.rules.yaml"
    before = _start_time(live_loki)
    assert _evaluated_alerts(live_loki), "the ruler evaluates none of the stack's alerts"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "reload-probe", "rules": [
        {"alert": "KeelsonReloadProbe", "expr": 'sum(count_over_time({app="reload-probe"}[5m])) > 1000000', "for": "5m"},
    ]}]}))
    started = time.monotonic()
    try:
        while "KeelsonReloadProbe" not in _evaluated_alerts(live_loki):
            assert time.monotonic() - started < poll + 45, (
                f"the ruler did not load the new rule file within {poll + 45}s:\n{live_loki.log.read_text()[-3000:]}"
            )
            time.sleep(2)
        loaded_in = time.monotonic() - started
        assert b"ready" in live_loki.get("/ready"), "Loki is not ready after the reload"
        assert _start_time(live_loki) == before, "Loki restarted instead of reloading its rules"
    finally:
        rule_file.unlink()
    FIGURES["live Loki: rule reload"] = f"new rule file evaluated by the running ruler after {loaded_in:.0f}s (poll interval {poll}s), no restart"
