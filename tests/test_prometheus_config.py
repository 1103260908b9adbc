"""Prometheus configuration: promtool accepts it as generated (Kubernetes discovery included) with
its rule files, the Kubernetes discovery is well-formed and matches what HardenedApp puts on its
pods, and a real prometheus server loads and evaluates every rule without an error.

promtool and prometheus are the upstream 3.5.0 builds of tools/bootstrap-prometheus-tools.sh, the
version the stack deploys, with Kubernetes service discovery compiled in (Debian's are not)."""

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

from keelson.builders.app_deployment import deployment_spec
from keelson.builders.labels import image_version, selector_labels, standard_labels
from keelson.hardened_app import HardenedAppArgs
from keelson.monitoring.models import ScrapedApp, SloObjective
from keelson.monitoring.prometheus_config import (
    SCRAPE_INTERVAL_ANNOTATION,
    app_job_name,
    prometheus_args,
    prometheus_config,
    self_monitoring_config,
)
from keelson.monitoring.remote_write import RemoteWriteTarget, remote_write_config, remote_write_secret_data
from keelson.monitoring.rules import render_rule_files, rule_files, to_yaml
from keelson.monitoring.rules.helpers import SELECTORS
from keelson.monitoring.stack import AlertmanagerSpec, PrometheusSpec
from conftest import FIGURES
from harness import free_port, get_json
from prometheus_tools import ALERTMANAGER_VERSION, PROMETHEUS_VERSION, tool

ROOT = Path(__file__).resolve().parent.parent
LIVE_TIMEOUT_SECONDS = 60
APPS = ScrapedApp.from_intervals("keelson-production", {"api": "5s", "worker": "10s"})

K8S_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
K8S_SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata"}
META_PREFIXES = {
    "node": ("__meta_kubernetes_node_",),
    "pod": ("__meta_kubernetes_namespace", "__meta_kubernetes_pod_"),
    "endpoints": (
        "__meta_kubernetes_namespace",
        "__meta_kubernetes_endpoints_",
        "__meta_kubernetes_endpoint_",
        "__meta_kubernetes_service_",
        "__meta_kubernetes_pod_",
    ),
}
"""Meta labels each discovery role provides.
Ref: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#kubernetes_sd_config"""


def objectives() -> list[SloObjective]:
    path = ROOT / "components" / "monitoring" / "rules" / "tests" / "slo_objectives.yaml"
    return [SloObjective.model_validate(item) for item in yaml.safe_load(path.read_text())]


def write_rules(directory: Path) -> Path:
    rules = directory / "rules"
    rules.mkdir()
    for name, text in render_rule_files(objectives()).items():
        (rules / name).write_text(text)
    return rules


def kubernetes_sd_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    blocks = [(job["job_name"], job) for job in config["scrape_configs"]] + [
        ("alertmanagers", block) for block in config.get("alerting", {}).get("alertmanagers", [])
    ]
    for name, block in blocks:
        for sd in block.get("kubernetes_sd_configs", []):
            role = sd.get("role")
            if role not in K8S_ROLES:
                problems.append(f"{name}: role {role!r} is not one of {sorted(K8S_ROLES)}")
            if set(sd) - K8S_SD_KEYS:
                problems.append(f"{name}: unknown kubernetes_sd_configs keys {sorted(set(sd) - K8S_SD_KEYS)}")
            if set(sd.get("namespaces", {})) - {"names", "own_namespace"}:
                problems.append(f"{name}: unknown namespaces keys {sorted(sd['namespaces'])}")
            for selector in sd.get("selectors", []):
                if selector.get("role") not in K8S_ROLES or set(selector) - {"role", "label", "field"}:
                    problems.append(f"{name}: malformed selector {selector}")
            meta = [
                label
                for relabel in block.get("relabel_configs", [])
                for label in relabel.get("source_labels", [])
                if label.startswith("__meta_kubernetes_")
            ]
            foreign = [label for label in meta if not label.startswith(META_PREFIXES.get(role, ()))]
            if foreign:
                problems.append(f"{name}: role {role} provides no {sorted(set(foreign))}")
    return problems


_POD_LABEL = "__meta_kubernetes_pod_label_"


def pod_meta_label(kind: str, key: str) -> str:
    """The meta label Kubernetes discovery turns a pod label or annotation into."""
    return f"__meta_kubernetes_pod_{kind}_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def scrape_job(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(job for job in config["scrape_configs"] if job["job_name"] == name)


@pytest.fixture
def service_account_dir(tmp_path) -> Path:
    """Stand-ins for the token and CA Kubernetes mounts; promtool checks that they exist."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("not-a-real-token\n")
    (directory / "ca.crt").write_text("")
    return directory


def promtool_check_config(directory: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = directory / "prometheus.yml"
    path.write_text(to_yaml(config))
    return subprocess.run(
        [tool("promtool"), "check", "config", path.name],
        cwd=directory, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_upstream_tools_are_the_versions_the_stack_deploys():
    assert image_version(PrometheusSpec().image) == f"v{PROMETHEUS_VERSION}", "bump tools/bootstrap-prometheus-tools.sh"
    assert image_version(AlertmanagerSpec().image) == f"v{ALERTMANAGER_VERSION}", "bump tools/bootstrap-prometheus-tools.sh"
    for name, version in (("promtool", PROMETHEUS_VERSION), ("prometheus", PROMETHEUS_VERSION)):
        result = subprocess.run([tool(name), "--version"], capture_output=True, text=True, timeout=30, check=False)
        assert f"version {version} " in result.stdout + result.stderr, result.stdout + result.stderr


def test_promtool_check_config_accepts_the_config_as_generated_next_to_its_rule_files(tmp_path, service_account_dir):
    rules = write_rules(tmp_path)
    config = prometheus_config(APPS, rules_dir=str(rules), service_account_dir=str(service_account_dir))
    assert not kubernetes_sd_problems(config), "\n".join(kubernetes_sd_problems(config))
    assert "kubernetes_sd_configs" in json.dumps(config) and "file_sd_configs" not in json.dumps(config)
    result = promtool_check_config(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "FAILED" not in output, f"promtool check config failed:\n{output}"
    assert f"SUCCESS: {len(rule_files(objectives()))} rule files found" in output, output
    summary = "; ".join(line.strip() for line in output.splitlines() if "SUCCESS" in line and "rules found" not in line)
    sd_jobs = sum("kubernetes_sd_configs" in job for job in config["scrape_configs"])
    FIGURES["promtool check config"] = (
        f"{summary} ({len(config['scrape_configs'])} scrape jobs, {sd_jobs} with kubernetes_sd_configs, as generated; "
        f"promtool {PROMETHEUS_VERSION})"
    )


@pytest.mark.parametrize(
    "sd, message",
    [
        ({"role": "pods"}, "unknown Kubernetes SD role"),
        ({"role": "pod", "selectors": [{"role": "node", "label": "a=b"}]}, "pod role supports only pod selectors"),
        ({"role": "pod", "namespace": {"names": ["x"]}}, "field namespace not found"),
    ],
)
def test_promtool_really_validates_kubernetes_discovery(tmp_path, sd, message):
    """Guards against a promtool without Kubernetes discovery: it would reject every block alike."""
    config = {"scrape_configs": [{"job_name": "probe", "kubernetes_sd_configs": [sd]}]}
    result = promtool_check_config(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output, output
    assert "field kubernetes_sd_configs not found" not in output, output


def test_the_config_has_the_cluster_component_and_per_app_jobs():
    config = prometheus_config(APPS)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert len(jobs) >= 7 and len(jobs) == len(config["scrape_configs"])
    for name in (
        "apiserver", "kubelet", "cadvisor", "kube-state-metrics", "node-exporter", "kubernetes-pods",
        "kubernetes-service-endpoints", "prometheus", "alertmanager", "grafana",
    ):  # fmt: skip
        assert name in jobs, f"scrape job '{name}' is missing"
    api, worker = jobs["keelson-app/keelson-production/api"], jobs["keelson-app/keelson-production/worker"]
    assert (api["scrape_interval"], api["scrape_timeout"]) == ("5s", "5s")
    assert (worker["scrape_interval"], worker["scrape_timeout"]) == ("10s", "10s")
    sd = api["kubernetes_sd_configs"][0]
    assert sd["namespaces"] == {"names": ["keelson-production"]}
    assert sd["selectors"] == [{"role": "pod", "label": "app.kubernetes.io/name=api"}]
    targets = {relabel.get("target_label") for relabel in api["relabel_configs"]}
    assert {"namespace", "app", "component", "pod", "__address__", "__metrics_path__"} <= targets
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yaml"]
    assert "retention" not in json.dumps(config), "retention is a command-line flag, not configuration"


def test_app_jobs_are_what_the_rules_select_as_apps():
    selector = re.fullmatch(r'job=~"(.+)"', SELECTORS["apps"])
    assert selector is not None
    for app in APPS:
        assert re.fullmatch(selector.group(1), app_job_name(app)), f"rules do not select job {app_job_name(app)}"
    for job in prometheus_config(APPS)["scrape_configs"]:
        if not job["job_name"].startswith("keelson-app/"):
            assert not re.fullmatch(selector.group(1), job["job_name"]), f"rules count {job['job_name']} as an app"


def test_the_app_job_reads_exactly_the_annotations_and_labels_hardened_app_puts_on_its_pods():
    args = HardenedAppArgs(image="ghcr.io/stefanprodan/podinfo:6.7.1", component="worker", port=8000)
    labels = standard_labels("worker", "worker-production", "worker", "6.7.1")
    pod = deployment_spec("worker", args, labels, selector_labels(labels), has_secret=False)["template"]["metadata"]
    meta = {pod_meta_label("annotation", key): value for key, value in pod["annotations"].items()}
    meta |= {pod_meta_label("label", key): value for key, value in pod["labels"].items()}
    app = ScrapedApp(name="worker", namespace="keelson-production", scrape_interval=args.effective_scrape_interval)
    job = next(job for job in prometheus_config([app])["scrape_configs"] if job["job_name"] == app_job_name(app))
    read = {label for relabel in job["relabel_configs"] for label in relabel.get("source_labels", [])}
    pod_meta = {label for label in read if label.startswith(("__meta_kubernetes_pod_annotation_", _POD_LABEL))}
    optional = {pod_meta_label("annotation", "prometheus.io/scheme")}
    assert pod_meta <= set(meta) | optional, f"the job reads what the pod lacks: {sorted(pod_meta - set(meta))}"
    assert job["scrape_interval"] == pod["annotations"][SCRAPE_INTERVAL_ANNOTATION] == "10s"
    interval_meta = pod_meta_label("annotation", SCRAPE_INTERVAL_ANNOTATION)
    assert interval_meta in meta
    for generic in ("kubernetes-pods", "kubernetes-service-endpoints"):
        drops = [
            relabel
            for relabel in scrape_job(prometheus_config(), generic)["relabel_configs"]
            if relabel.get("action") == "drop" and relabel["source_labels"] == [interval_meta]
        ]
        assert drops, f"{generic} would scrape Keelson app pods a second time"


def test_kubelet_tls_is_verified_unless_explicitly_relaxed():
    assert "insecure_skip_verify" not in scrape_job(prometheus_config(), "kubelet")["tls_config"]
    relaxed = prometheus_config(kubelet_tls_verify=False)
    assert scrape_job(relaxed, "kubelet")["tls_config"]["insecure_skip_verify"] is True
    assert "insecure_skip_verify" not in json.dumps(scrape_job(relaxed, "apiserver"))


def test_alerts_go_to_every_alertmanager_pod_of_the_monitoring_namespace():
    (alertmanagers,) = prometheus_config(monitoring_namespace="observability")["alerting"]["alertmanagers"]
    assert alertmanagers["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["observability"]}}]
    keeps = {relabel["regex"] for relabel in alertmanagers["relabel_configs"] if relabel.get("action") == "keep"}
    assert keeps == {"alertmanager", "9093"}


def test_retention_and_listen_address_are_flags():
    flags = prometheus_args("/etc/prometheus/prometheus.yml", "/prometheus", "15d")
    assert "--storage.tsdb.retention.time=15d" in flags and "--web.listen-address=0.0.0.0:9090" in flags
    # Config and rules reload themselves; the lifecycle API (which can also stop Prometheus) stays off.
    assert "--enable-feature=auto-reload-config" in flags and "--config.auto-reload-interval=30s" in flags
    assert not [flag for flag in flags if "lifecycle" in flag]


@pytest.mark.parametrize("interval", ["5", "0s", "1d", "five"])
def test_scrape_intervals_must_be_positive_prometheus_durations(interval):
    with pytest.raises(ValueError, match="positive Prometheus duration"):
        ScrapedApp(name="api", namespace="keelson-production", scrape_interval=interval)


def test_an_app_listed_twice_is_rejected():
    with pytest.raises(ValueError, match="repeated: keelson-app/keelson-production/api"):
        prometheus_config([APPS[0], APPS[0]])


UNEXPOSED_WITHOUT_ALERTMANAGER = {"prometheus_notifications_errors_total", "prometheus_notifications_sent_total"}
"""Counters labelled by Alertmanager URL: a server with no Alertmanager (the live test's) has no
series of them yet. Their names are in prometheus v3.5.0's notifier/metric.go."""


@pytest.fixture
def live_prometheus(tmp_path) -> Iterator[tuple[str, Path]]:
    """A real prometheus on 127.0.0.1:<free port> with the self-only config and the real rule files."""
    binary = tool("prometheus")
    port = free_port()
    rules = write_rules(tmp_path)
    config = tmp_path / "prometheus.yml"
    live_config = self_monitoring_config(port, rules_dir=str(rules), evaluation_interval="2s")
    # A queue to a closed loopback port: its prometheus_remote_storage_* metrics exist (and fail).
    token = tmp_path / "remote-write-token"
    token.write_text("not-a-real-token")
    live_config["remote_write"] = remote_write_config(
        [RemoteWriteTarget(name="live", url=f"http://127.0.0.1:{free_port()}/push", bearer_token="x")], str(tmp_path)
    )
    live_config["remote_write"][0]["authorization"]["credentials_file"] = str(token)
    config.write_text(to_yaml(live_config))
    log = tmp_path / "prometheus.log"
    flags = prometheus_args(
        str(config), str(tmp_path / "data"), "1h", listen_address=f"127.0.0.1:{port}", auto_reload_interval="1s"
    )
    with log.open("w") as output:
        process = subprocess.Popen([binary, *flags], stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_real_prometheus_loads_and_evaluates_every_rule_without_error(live_prometheus):
    url, log = live_prometheus
    expected = [group for document in rule_files(objectives()).values() for group in document["groups"]]
    expected_groups = [group["name"] for group in expected]
    expected_rules = sum(len(group["rules"]) for group in expected)
    deadline = time.monotonic() + LIVE_TIMEOUT_SECONDS
    groups: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = get_json(f"{url}/api/v1/rules")
        groups = answer["data"]["groups"] if answer and answer.get("status") == "success" else []
        evaluated = groups and all(rule["health"] != "unknown" for group in groups for rule in group["rules"])
        if len(groups) == len(expected_groups) and evaluated:
            break
        time.sleep(0.5)
    else:
        pytest.fail(
            f"prometheus did not load and evaluate every rule group within {LIVE_TIMEOUT_SECONDS}s: "
            f"{len(groups)}/{len(expected_groups)} groups.\n{log.read_text()[-3000:]}"
        )
    assert sorted(group["name"] for group in groups) == sorted(expected_groups)
    loaded = [rule for group in groups for rule in group["rules"]]
    assert len(loaded) == expected_rules
    broken = [
        f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}"
        for rule in loaded
        if rule["health"] != "ok" or rule.get("lastError")
    ]
    assert not broken, "rules failing in a real prometheus:\n" + "\n".join(broken)

    query = urllib.parse.quote('job:up:avg{job="prometheus"}')
    while time.monotonic() < deadline:
        answer = get_json(f"{url}/api/v1/query?query={query}")
        result = answer["data"]["result"] if answer and answer.get("status") == "success" else []
        if result and float(result[0]["value"][1]) == 1.0:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the recording rule job:up:avg never recorded the self-scrape within {LIVE_TIMEOUT_SECONDS}s")
    exposed = set((get_json(f"{url}/api/v1/label/__name__/values") or {}).get("data", []))
    used = {
        name
        for group in expected
        for rule in group["rules"]
        for name in re.findall(r"\b(prometheus_[a-z_]+)\b", rule["expr"])
    }
    unknown = sorted(used - exposed - UNEXPOSED_WITHOUT_ALERTMANAGER)
    assert not unknown, f"rules read prometheus_* metrics a real {PROMETHEUS_VERSION} server does not expose: {unknown}"
    version = (get_json(f"{url}/api/v1/status/buildinfo") or {}).get("data", {}).get("version", "?")
    FIGURES["live prometheus"] = f"{version}: {len(groups)} groups, {len(loaded)} rules loaded, all health ok"


def rule_names(url: str) -> set[str]:
    answer = get_json(f"{url}/api/v1/rules") or {}
    groups = answer.get("data", {}).get("groups", []) if answer.get("status") == "success" else []
    return {rule["name"] for group in groups for rule in group["rules"]}


def test_a_real_prometheus_picks_up_a_changed_rule_file_without_a_restart(live_prometheus, tmp_path):
    """The flags the StatefulSet runs with make Prometheus reload changed rule files by itself, which
    is why a rule change is a ConfigMap update and not a restart (the test runs a 1 s check
    interval instead of the StatefulSet's 30 s)."""
    url, log = live_prometheus
    deadline = time.monotonic() + LIVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not rule_names(url):
        time.sleep(0.5)
    before = rule_names(url)
    assert before and "KeelsonReloadProbe" not in before, log.read_text()[-3000:]
    build = get_json(f"{url}/api/v1/status/runtimeinfo") or {}
    started = build.get("data", {}).get("startTime")
    rules_dir = tmp_path / "rules"  # where live_prometheus wrote the rule files its config globs
    probe = {"groups": [{"name": "keelson.reload-probe", "rules": [{"alert": "KeelsonReloadProbe", "expr": "vector(1)"}]}]}
    (rules_dir / "reload-probe.rules.yaml").write_text(to_yaml(probe))
    while time.monotonic() < deadline and "KeelsonReloadProbe" not in rule_names(url):
        time.sleep(0.5)
    after = rule_names(url)
    assert "KeelsonReloadProbe" in after and before <= after, (
        f"prometheus did not load the new rule file within {LIVE_TIMEOUT_SECONDS}s:\n{log.read_text()[-3000:]}"
    )
    restarted = (get_json(f"{url}/api/v1/status/runtimeinfo") or {}).get("data", {}).get("startTime")
    assert restarted == started, "prometheus restarted instead of reloading"
    FIGURES["live prometheus: rule file reloaded without restart"] = f"{len(before)} -> {len(after)} rules"


# -- remote_write -------------------------------------------------------------------------------

REMOTE_PASSWORD = "remote-SECRET-password"
REMOTE_TOKEN = "remote-SECRET-token"
REMOTE_TARGETS = [
    RemoteWriteTarget(name="mimir", url="https://mimir.example.com/api/v1/push", username="tenant-1", password=REMOTE_PASSWORD),
    RemoteWriteTarget(name="grafana-cloud", url="https://prometheus.grafana.example.net/api/prom/push", bearer_token=REMOTE_TOKEN),
    RemoteWriteTarget(name="signer", url="http://127.0.0.1:9201/push", bearer_token=REMOTE_TOKEN),
]


def test_promtool_accepts_remote_write_with_credentials_read_from_the_secret_files(tmp_path, service_account_dir):
    secrets = tmp_path / "remote-write"
    secrets.mkdir()
    for key, value in remote_write_secret_data(REMOTE_TARGETS).items():
        (secrets / key).write_text(value.get_secret_value())
    config = prometheus_config(
        APPS, service_account_dir=str(service_account_dir), rules_dir=str(write_rules(tmp_path)),
        remote_write=REMOTE_TARGETS, remote_write_secrets_dir=str(secrets),
    )  # fmt: skip
    text = to_yaml(config)
    assert "SECRET" not in text, "a remote_write credential was written into prometheus.yml"
    result = promtool_check_config(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "SUCCESS" in output, f"promtool rejected remote_write:\n{output}\n{text}"
    assert config["remote_write"] == [
        {"name": "mimir", "url": "https://mimir.example.com/api/v1/push",
         "basic_auth": {"username": "tenant-1", "password_file": f"{secrets}/mimir-password"}},
        {"name": "grafana-cloud", "url": "https://prometheus.grafana.example.net/api/prom/push",
         "authorization": {"type": "Bearer", "credentials_file": f"{secrets}/grafana-cloud-bearer-token"}},
        {"name": "signer", "url": "http://127.0.0.1:9201/push",
         "authorization": {"type": "Bearer", "credentials_file": f"{secrets}/signer-bearer-token"}},
    ]  # fmt: skip
    # promtool does not open remote_write credential files, so the test checks that each one the
    # config reads is a key of the Secret, and that the Secret holds nothing else.
    referenced = sorted(
        Path(auth.get("password_file") or auth.get("credentials_file")).name
        for target in config["remote_write"]
        for auth in (target.get("basic_auth") or target["authorization"],)
    )
    assert sorted(path.name for path in secrets.iterdir()) == referenced == [
        "grafana-cloud-bearer-token", "mimir-password", "signer-bearer-token",
    ]  # fmt: skip


def test_promtool_really_checks_the_remote_write_section(tmp_path, service_account_dir):
    config = prometheus_config(APPS, service_account_dir=str(service_account_dir), rules_dir=str(write_rules(tmp_path)))
    config["remote_write"] = [{"url": "https://mimir.example.com/push", "basic_auth": {"username": "u"},
                               "authorization": {"credentials_file": "/nonexistent"}}]  # fmt: skip
    result = promtool_check_config(tmp_path, config)
    assert result.returncode != 0, "promtool accepted basic_auth and authorization together"
    assert "at most one of basic_auth" in result.stdout + result.stderr


def test_without_remote_write_the_config_has_no_remote_write_section():
    assert "remote_write" not in prometheus_config(APPS)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"url": "http://mimir.example.com/push", "bearerToken": "t"},
         r"'http://mimir.example.com/push' is not allowed; allowed: an https:// URL, or http:// to a loopback address"),
        ({"url": "mimir.example.com/push", "bearerToken": "t"}, r"'mimir.example.com/push' is not allowed"),
        ({"url": "https://tenant:hunter2@mimir.example.com/push", "bearerToken": "t"}, r"embeds a user or password"),
        ({"url": "https://mimir.example.com/push"}, r"remote_write target 'mimir' has no credentials; allowed: 'username' and"),
        ({"url": "https://mimir.example.com/push", "username": "tenant"}, r"'username' is set without 'password'"),
        ({"url": "https://mimir.example.com/push", "password": "p"}, r"'password' is set without 'username'"),
        ({"url": "https://mimir.example.com/push", "username": "u", "password": "p", "bearerToken": "t"},
         r"both basic auth \('username'/'password'\) and 'bearerToken' are set"),
    ],
)  # fmt: skip
def test_bad_remote_write_targets_are_rejected_naming_the_value_and_what_is_allowed(fields, message):
    with pytest.raises(ValueError, match=message) as caught:
        RemoteWriteTarget.model_validate({"name": "mimir", **fields})
    assert "hunter2" not in str(caught.value)


def test_two_remote_write_targets_may_not_share_a_name():
    with pytest.raises(ValueError, match="repeated: mimir"):
        PrometheusSpec.model_validate({"remoteWrite": [{"name": "mimir", "url": "https://a.example.com", "bearerToken": "t"}] * 2})
