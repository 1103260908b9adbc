"""Alertmanager reloads without a restart: the real prometheus-config-reloader, built from its Go
module at the version of the sidecar image and run with the sidecar's own flags, makes a real
Alertmanager load a changed routing and a rotated credential, written the way the kubelet updates
mounted ConfigMaps and Secrets, while the Alertmanager process keeps running."""

from __future__ import annotations

import json
import os
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

import harness
from keelson import images
from keelson.builders.labels import image_version
from keelson.monitoring.alertmanager import SECRET_KEYS, AlertRoutingWarning, alertmanager_config, alertmanager_secret_data
from keelson.monitoring.config_reloader import config_reloader_args
from keelson.monitoring.models import AlertChannels
from keelson.monitoring.rules import to_yaml
from conftest import FIGURES
from prometheus_tools import ALERTMANAGER_VERSION, tool

RELOAD_TIMEOUT_SECONDS = 30
SLACK_URL = "https://hooks.slack.com/services/T0RELOAD/B0RELOAD/reload-SECRET-0001"
ROTATED_SLACK_URL = "https://hooks.slack.com/services/T0RELOAD/B0RELOAD/reload-SECRET-0002"


def _pinned_version() -> str:
    script = (harness.ROOT / "tools" / "bootstrap-config-reloader.sh").read_text()
    match = re.search(r"^CONFIG_RELOADER_VERSION=(\S+)$", script, flags=re.MULTILINE)
    assert match, "tools/bootstrap-config-reloader.sh sets no CONFIG_RELOADER_VERSION"
    return match.group(1)


CONFIG_RELOADER_VERSION = _pinned_version()


@pytest.fixture(scope="module")
def config_reloader() -> Path:
    built = harness.built_tool("prometheus-config-reloader", "bootstrap-config-reloader.sh", "KEELSON_CONFIG_RELOADER")
    if built is None:
        pytest.fail("prometheus-config-reloader is missing: run `make test` (or `make config-reloader`, i.e. "
                    "`tools/bootstrap-config-reloader.sh`), which builds it from its Go module at the pinned version "
                    "(about 4 minutes cold)", pytrace=False)
    return built


def test_the_built_reloader_is_the_version_the_sidecar_runs_and_the_operator_s():
    from keelson.monitoring.operator import PROMETHEUS_OPERATOR_VERSION

    assert image_version(images.CONFIG_RELOADER) == f"v{CONFIG_RELOADER_VERSION}", "bump tools/bootstrap-config-reloader.sh with the image"
    assert CONFIG_RELOADER_VERSION == PROMETHEUS_OPERATOR_VERSION, "the reloader follows the prometheus-operator release"


class KubeletVolume:
    """A directory laid out as the kubelet lays out a ConfigMap or Secret volume: the files are
    symlinks through '..data' to a timestamped directory, and an update writes a new directory and
    renames a new '..data' link over the old one, so readers see every file change at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation = 0
        root.mkdir(parents=True, exist_ok=True)

    def write(self, files: dict[str, str]) -> None:
        self.generation += 1
        payload = self.root / f"..generation_{self.generation}"
        payload.mkdir()
        for name, content in files.items():
            (payload / name).write_text(content)
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(f"..data/{name}")
        staged = self.root / "..data_tmp"
        staged.symlink_to(payload.name)
        os.replace(staged, self.root / "..data")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
        return response.read().decode()


def _wait_for(predicate, what: str, logs: list[Path], timeout: float = RELOAD_TIMEOUT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    tails = "\n".join(f"--- {log.name}:\n{log.read_text()[-3000:]}" for log in logs)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tails}", pytrace=False)


def _config(channel: str, secrets_dir: Path) -> tuple[str, dict[str, str]]:
    channels = AlertChannels.model_validate({"slack": {"webhookUrl": SLACK_URL, "channel": channel}})
    secrets = {key: value.get_secret_value() for key, value in alertmanager_secret_data(channels).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlertRoutingWarning)  # Slack alone takes every severity, on purpose
        config = alertmanager_config(channels, secrets_dir=str(secrets_dir))
    return to_yaml(config), secrets


def test_the_reloader_makes_a_running_alertmanager_load_a_new_routing_and_a_rotated_credential(config_reloader, tmp_path):
    config_dir = KubeletVolume(tmp_path / "etc-alertmanager")
    secrets_dir = KubeletVolume(config_dir.root / "secrets")
    config_text, secrets = _config("#before-reload", secrets_dir.root)
    secrets_dir.write(secrets)
    config_dir.write({"alertmanager.yml": config_text})
    web, cluster = _free_port(), _free_port()
    base = f"http://127.0.0.1:{web}"
    am_log, reloader_log = tmp_path / "alertmanager.log", tmp_path / "config-reloader.log"
    alertmanager_command = [
        tool("alertmanager"), f"--config.file={config_dir.root / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{web}", f"--cluster.listen-address=127.0.0.1:{cluster}",
        f"--cluster.advertise-address=127.0.0.1:{cluster}",
    ]  # fmt: skip
    # The sidecar's flags exactly, but for the port: the StatefulSet's reload URL is 127.0.0.1:9093.
    reloader_command = [
        str(config_reloader),
        *config_reloader_args(f"{base}/-/reload", [str(config_dir.root), str(secrets_dir.root)]),
    ]
    processes: list[subprocess.Popen] = []
    try:
        with am_log.open("w") as output:
            alertmanager = subprocess.Popen(alertmanager_command, stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
        processes.append(alertmanager)
        logs = [am_log, reloader_log]
        status = lambda: json.loads(_get(f"{base}/api/v2/status"))  # noqa: E731
        before = _wait_for(status, "Alertmanager's /api/v2/status", logs)
        assert "#before-reload" in before["config"]["original"]
        with reloader_log.open("w") as output:
            reloader = subprocess.Popen(reloader_command, stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
        processes.append(reloader)
        _wait_for(lambda: "started watching config file and directories" in reloader_log.read_text(), "the reloader to watch", logs)

        started = time.monotonic()
        changed_text, _ = _config("#after-reload", secrets_dir.root)
        config_dir.write({"alertmanager.yml": changed_text})
        after = _wait_for(lambda: (s := status()) and "#after-reload" in s["config"]["original"] and s, "the new routing", logs)
        routing_seconds = time.monotonic() - started
        assert "#before-reload" not in after["config"]["original"]
        assert after["uptime"] == before["uptime"], "Alertmanager restarted instead of reloading"
        assert alertmanager.poll() is None, f"Alertmanager exited:\n{am_log.read_text()[-3000:]}"

        reload_stamp = re.compile(r"^alertmanager_config_last_reload_success_timestamp_seconds (\S+)$", re.MULTILINE)
        stamp = lambda: float(reload_stamp.search(_get(f"{base}/metrics")).group(1))  # noqa: E731
        first = stamp()
        time.sleep(1.2)  # the metric counts whole seconds
        started = time.monotonic()
        secrets_dir.write({**secrets, SECRET_KEYS["slack"]: ROTATED_SLACK_URL})
        _wait_for(lambda: stamp() > first, "a reload after the credential rotation", logs)
        rotation_seconds = time.monotonic() - started
        final = status()
        assert final["uptime"] == before["uptime"], "Alertmanager restarted on the credential rotation"
        assert "#after-reload" in final["config"]["original"]
        assert alertmanager.poll() is None and reloader.poll() is None
        assert reloader_log.read_text().count("Reload triggered") == 2, reloader_log.read_text()[-3000:]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    FIGURES["live alertmanager reload"] = (
        f"prometheus-config-reloader {CONFIG_RELOADER_VERSION} + alertmanager {ALERTMANAGER_VERSION}: new routing live in "
        f"{routing_seconds:.1f}s, rotated credential reloaded in {rotation_seconds:.1f}s, uptime unchanged ({before['uptime']})"
    )
