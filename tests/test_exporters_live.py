"""The exporters for real: node_exporter and kube-state-metrics built from their Go modules at the
versions of the deployed images; kube-state-metrics' ClusterRole is upstream's example narrowed,
never widened; node_exporter on this machine on a loopback port, and kube-state-metrics against the
local control plane with nothing but a token of exactly the ClusterRole the program renders, both
scraped by a real Prometheus that finds node and cluster series, every kube_* and node_* series the
alert and recording rules read among them, and evaluates every rule on them without error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

import harness
from harness import free_port, get_json
from keelson import images
from keelson.builders.labels import image_version
from keelson.monitoring.kube_state_metrics import WATCHED_RESOURCES, kube_state_metrics_args
from keelson.monitoring.node_exporter import node_exporter_args
from keelson.monitoring.rules import render_rule_files, rule_files
from conftest import FIGURES
from prometheus_tools import tool

LIVE_TIMEOUT_SECONDS = 120
NAMESPACE = "exporters-live"
"""Where the live test's own kube-state-metrics identity and sample workload live (not a Keelson
namespace: the program's objects on the same cluster are counted by tests/test_cluster.py)."""
KSM_MODULE = "k8s.io/kube-state-metrics/v2"


def pinned(script: str, variable: str) -> str:
    match = re.search(rf"^{variable}=(\S+)$", (harness.ROOT / "tools" / script).read_text(), flags=re.MULTILINE)
    assert match, f"tools/{script} sets no {variable}"
    return match.group(1)


NODE_EXPORTER_VERSION = pinned("bootstrap-node-exporter.sh", "NODE_EXPORTER_VERSION")
KSM_VERSION = pinned("bootstrap-kube-state-metrics.sh", "KUBE_STATE_METRICS_VERSION")


def binary(name: str, script: str, env_var: str, make_target: str, minutes: str) -> Path:
    """A tool tools/<script> built, or a failing test saying how to build it."""
    built = harness.built_tool(name, script, env_var)
    if built is None:
        pytest.fail(f"{name} is missing: run `make test` (or `make {make_target}`, i.e. `tools/{script}`), which builds it "
                    f"from its Go module at the pinned version ({minutes} cold)", pytrace=False)
    return built


@pytest.fixture(scope="module")
def node_exporter() -> Path:
    return binary("node_exporter", "bootstrap-node-exporter.sh", "KEELSON_NODE_EXPORTER", "node-exporter", "under a minute")


@pytest.fixture(scope="module")
def kube_state_metrics() -> Path:
    return binary("kube-state-metrics", "bootstrap-kube-state-metrics.sh", "KEELSON_KUBE_STATE_METRICS", "kube-state-metrics",
                  "about 3 minutes")


def test_the_built_exporters_are_the_versions_the_stack_deploys():
    assert image_version(images.NODE_EXPORTER) == f"v{NODE_EXPORTER_VERSION}", "bump tools/bootstrap-node-exporter.sh with the image"
    assert image_version(images.KUBE_STATE_METRICS) == f"v{KSM_VERSION}", "bump tools/bootstrap-kube-state-metrics.sh with the image"


def test_the_built_binaries_report_their_versions(node_exporter, kube_state_metrics):
    reported = subprocess.run([str(node_exporter), "--version"], capture_output=True, text=True, timeout=30)
    assert f"version {NODE_EXPORTER_VERSION} " in reported.stdout + reported.stderr
    reported = subprocess.run([str(kube_state_metrics), "version"], capture_output=True, text=True, timeout=30)
    assert f"version v{KSM_VERSION} " in reported.stdout + reported.stderr


@pytest.fixture(scope="module")
def upstream_module() -> Path:
    """The kube-state-metrics module at the pinned version, from the Go module cache (the bootstrap
    downloaded it) or the module proxy."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        pytest.fail("go is not installed: the upstream kube-state-metrics module is read with `go mod download`", pytrace=False)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    completed = subprocess.run([go, "mod", "download", "-json", f"{KSM_MODULE}@v{KSM_VERSION}"],
                               capture_output=True, text=True, timeout=300, env=env, cwd="/")
    found = json.loads(completed.stdout or "{}")
    assert found.get("Dir"), f"go mod download {KSM_MODULE}@v{KSM_VERSION} failed: {found.get('Error') or completed.stderr}"
    return Path(found["Dir"])


def test_the_cluster_role_is_upstream_s_example_narrowed_never_widened(upstream_module):
    example = yaml.safe_load((upstream_module / "examples" / "standard" / "cluster-role.yaml").read_text())
    upstream = {
        (group, resource): set(rule["verbs"])
        for rule in example["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
    }
    for group_resource in WATCHED_RESOURCES.values():
        assert {"list", "watch"} <= upstream.get(group_resource, set()), f"upstream does not list/watch {group_resource}"
    defaults = set(re.findall(r'^\s*"([a-z]+)":\s*struct\{\}\{\},', (upstream_module / "pkg" / "options" / "resource.go").read_text(), re.M))
    assert len(defaults) >= 20, f"could not read DefaultResources from pkg/options/resource.go: {defaults}"
    assert set(WATCHED_RESOURCES) == defaults - {"secrets", "configmaps"}, (
        f"WATCHED_RESOURCES drifted from upstream's defaults less secrets and configmaps: "
        f"extra {set(WATCHED_RESOURCES) - defaults}, missing {defaults - {'secrets', 'configmaps'} - set(WATCHED_RESOURCES)}"
    )
    left_out = sorted(f"{group or 'core'}/{resource}" for group, resource in set(upstream) - set(WATCHED_RESOURCES.values()))
    FIGURES["kube-state-metrics RBAC vs upstream"] = (
        f"v{KSM_VERSION}: {len(WATCHED_RESOURCES)} resources list/watch, all in upstream's example; left out: {', '.join(left_out)}"
    )


# -- live ----------------------------------------------------------------------------------------------


def query(url: str, promql: str) -> list[dict[str, Any]]:
    answer = get_json(f"{url}/api/v1/query?query={urllib.parse.quote(promql)}")
    return answer["data"]["result"] if answer and answer.get("status") == "success" else []


class Processes:
    """Processes started by a test, each logging to a file, stopped at the end."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> Path:
        log = self.directory / f"{name}.log"
        with log.open("w") as output:
            self.started.append((name, subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=self.directory)))
        return log

    def stop(self) -> None:
        for _, process in self.started:
            process.terminate()
        for _, process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def exited(self) -> list[str]:
        return [f"{name} exited {process.returncode}" for name, process in self.started if process.poll() is not None]


SAMPLE_WORKLOAD = f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: kube-state-metrics, namespace: {NAMESPACE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: sample, namespace: {NAMESPACE}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: sample}}}}
  template:
    metadata: {{labels: {{app: sample}}}}
    spec:
      containers:
        - name: sample
          image: registry.example/sample:1.0
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: 200m, memory: 128Mi}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: sample, namespace: {NAMESPACE}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: sample}}
  minReplicas: 1
  maxReplicas: 3
  metrics:
    - type: Resource
      resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
"""


def rendered_cluster_role(program_resources) -> dict[str, Any]:
    (role,) = [r.manifest for r in harness.of_kind(program_resources["cluster"], "ClusterRole")
               if r.manifest["metadata"]["name"] == "monitoring-kube-state-metrics"]
    return role


def identity_manifests(role: dict[str, Any]) -> str:
    """The rendered ClusterRole's rules under the live test's own names, bound to its ServiceAccount."""
    name = f"{NAMESPACE}-kube-state-metrics"
    return yaml.safe_dump_all([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": role["rules"]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": NAMESPACE}]},
    ])


def token_kubeconfig(cluster, directory: Path) -> Path:
    """A kubeconfig for the local API server holding only the live ServiceAccount's token."""
    token = cluster.kubectl("create", "token", "kube-state-metrics", "-n", NAMESPACE, "--duration", "1h").stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    assert urllib.parse.urlparse(server["server"]).hostname in ("127.0.0.1", "localhost"), server["server"]
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "live",
        "clusters": [{"name": "local", "cluster": server}],
        "users": [{"name": "kube-state-metrics", "user": {"token": token}}],
        "contexts": [{"name": "live", "context": {"cluster": "local", "user": "kube-state-metrics"}}],
    }
    path = directory / "kube-state-metrics.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def live(cluster, program_resources, node_exporter, kube_state_metrics, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """node_exporter and kube-state-metrics on loopback ports, scraped by a real Prometheus."""
    prometheus = tool("prometheus")
    tmp_path = tmp_path_factory.mktemp("exporters-live")
    manifests = tmp_path / "live.yaml"
    manifests.write_text(SAMPLE_WORKLOAD + "---\n" + identity_manifests(rendered_cluster_role(program_resources)))
    processes = Processes(tmp_path)
    try:
        cluster.kubectl("apply", "-f", str(manifests))
        kubeconfig = token_kubeconfig(cluster, tmp_path)
        ports = {name: free_port() for name in ("node-exporter", "kube-state-metrics", "telemetry", "prometheus")}
        logs = {
            "node-exporter": processes.start("node-exporter", [
                str(node_exporter), *node_exporter_args(f"127.0.0.1:{ports['node-exporter']}", rootfs="/", sysfs="/sys")]),
            "kube-state-metrics": processes.start("kube-state-metrics", [
                str(kube_state_metrics), f"--kubeconfig={kubeconfig}",
                *kube_state_metrics_args("127.0.0.1", ports["kube-state-metrics"], ports["telemetry"])]),
        }
        rules = tmp_path / "rules"
        rules.mkdir()
        for file_name, text in render_rule_files().items():
            (rules / file_name).write_text(text)
        config = {
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "2s"},
            "rule_files": [f"{rules}/*.yaml"],
            "scrape_configs": [
                {"job_name": "node-exporter", "static_configs": [{"targets": [f"127.0.0.1:{ports['node-exporter']}"]}]},
                # As in the in-cluster job: keep the namespace/pod labels of the objects described.
                {"job_name": "kube-state-metrics", "honor_labels": True,
                 "static_configs": [{"targets": [f"127.0.0.1:{ports['kube-state-metrics']}"]}]},
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        logs["prometheus"] = processes.start("prometheus", [
            prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}"])
        yield {"url": f"http://127.0.0.1:{ports['prometheus']}", "logs": logs, "processes": processes, "ports": ports}
    finally:
        processes.stop()
        cluster.kubectl("delete", "-f", str(manifests), "--ignore-not-found", "--wait=false", check=False)


PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                   "group_right", "inf", "nan"}


def selected_metrics(expression: str) -> set[str]:
    """The metric names (and recording rules) a PromQL expression selects: what is left of its
    identifiers once strings, label matchers, ranges, grouping labels, functions and keywords are gone."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in names if name.lower() not in PROMQL_KEYWORDS}


def rule_exporter_series() -> set[str]:
    """Every kube_* and node_* metric name (kube-state-metrics' and node_exporter's) an alert or
    recording rule's expression selects."""
    return {
        name
        for document in rule_files().values() for group in document["groups"] for rule in group["rules"]
        for name in selected_metrics(rule["expr"]) if name.startswith(("kube_", "node_"))
    }


def test_a_real_prometheus_scrapes_node_and_cluster_series_from_the_real_exporters(live, cluster):
    url, logs = live["url"], live["logs"]
    wanted = {
        "node-exporter up": 'up{job="node-exporter"} == 1',
        "kube-state-metrics up": 'up{job="kube-state-metrics"} == 1',
        "node_filesystem_avail_bytes": 'node_filesystem_avail_bytes{job="node-exporter"} > 0',
        "node_cpu_seconds_total": 'node_cpu_seconds_total{job="node-exporter",mode="idle"}',
        "node_memory_MemAvailable_bytes": "node_memory_MemAvailable_bytes > 0",
        "kube_node_status_condition Ready": 'kube_node_status_condition{condition="Ready",status="true"} == 1',
        "kube_pod_info": f'kube_pod_info{{namespace="{NAMESPACE}"}}',
        "kube_deployment_status_replicas_available": f'kube_deployment_status_replicas_available{{namespace="{NAMESPACE}",deployment="sample"}} == 1',
        "kube_horizontalpodautoscaler_spec_max_replicas": f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NAMESPACE}"}} == 3',
    }
    rules_read = rule_exporter_series()
    assert any(name.startswith("kube_") for name in rules_read), "the rules read no kube_* series: the regex or the rules changed"
    found: dict[str, list[dict[str, Any]]] = {}
    names: set[str] = set()
    deadline = time.monotonic() + LIVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = {label: query(url, promql) for label, promql in wanted.items()}
        answer = get_json(f"{url}/api/v1/label/__name__/values")
        names = set(answer["data"]) if answer and answer.get("status") == "success" else set()
        if all(found.values()) and rules_read <= names:
            break
        exited = live["processes"].exited()
        assert not exited, f"{exited}:\n" + "\n".join(f"--- {n}\n{p.read_text()[-2000:]}" for n, p in logs.items())
        time.sleep(1)
    missing = [label for label, result in found.items() if not result]
    assert not missing and rules_read <= names, (
        f"not scraped within {LIVE_TIMEOUT_SECONDS}s: {missing}; rule series missing: {sorted(rules_read - names)}\n"
        + "\n".join(f"--- {n}\n{p.read_text()[-2000:]}" for n, p in logs.items())
    )
    nodes = {series["metric"]["node"] for series in found["kube_node_status_condition Ready"]}
    kwok_nodes = {node["metadata"]["name"] for node in cluster.get("nodes", "-l", "type=kwok")}
    assert kwok_nodes and kwok_nodes <= nodes, f"Ready nodes {nodes}, the cluster's kwok nodes {kwok_nodes}"
    denied = [line for line in logs["kube-state-metrics"].read_text().splitlines() if re.search("forbidden|Failed to watch", line, re.I)]
    assert not denied, "the rendered ClusterRole does not cover what kube-state-metrics watches:\n" + "\n".join(denied[:10])
    counts = {prefix: sum(1 for name in names if name.startswith(prefix)) for prefix in ("node_", "kube_")}
    FIGURES["live exporters"] = (
        f"node_exporter {NODE_EXPORTER_VERSION} and kube-state-metrics v{KSM_VERSION} scraped by a real Prometheus: "
        f"{counts['node_']} node_* and {counts['kube_']} kube_* metric names, {len(found['node_filesystem_avail_bytes'])} "
        f"filesystems, {len(nodes)} Ready nodes, all {len(rules_read)} kube_*/node_* series the rules read "
        f"({', '.join(sorted(rules_read))}); no RBAC denial"
    )


def test_the_rules_evaluate_without_error_on_the_real_exporters_series(live):
    """Every rule loads and evaluates cleanly, and each recording rule that reads only the exporters'
    series records something: the label names the rules select on (namespace, pod, container,
    mountpoint, fstype, job...) are the ones the real exporters export."""
    url = live["url"]
    rules = [rule for document in rule_files().values() for group in document["groups"] for rule in group["rules"]]
    fed = sorted(rule["record"] for rule in rules if "record" in rule
                 and selected_metrics(rule["expr"]) and all(name.startswith(("kube_", "node_")) for name in selected_metrics(rule["expr"])))
    assert fed, "no recording rule reads only kube_*/node_* series: the selector regex or the rules changed"
    loaded: list[dict[str, Any]] = []
    empty = fed
    deadline = time.monotonic() + LIVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = get_json(f"{url}/api/v1/rules")
        loaded = [rule for group in (answer or {}).get("data", {}).get("groups", []) for rule in group["rules"]]
        empty = [record for record in fed if not query(url, record)]
        if len(loaded) == len(rules) and all(rule["health"] != "unknown" for rule in loaded) and not empty:
            break
        time.sleep(1)
    broken = [f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}" for rule in loaded if rule["health"] != "ok"]
    assert len(loaded) == len(rules) and not broken, f"{len(loaded)}/{len(rules)} rules loaded; failing:\n" + "\n".join(broken)
    assert not empty, f"recording rules over the exporters' series recorded nothing within {LIVE_TIMEOUT_SECONDS}s: {empty}"
    FIGURES["live exporters: rules"] = (
        f"{len(loaded)} rules evaluated on the real exporters' series, all health ok; "
        f"{len(fed)} recording rules over kube_*/node_* series recorded ({', '.join(fed)})"
    )


def test_the_live_identity_cannot_read_secrets_or_configmaps(live, cluster):
    subject = f"system:serviceaccount:{NAMESPACE}:kube-state-metrics"
    assert cluster.can_i(subject, "watch", "pods") and cluster.can_i(subject, "list", "nodes")
    for resource in ("secrets", "configmaps"):
        assert not cluster.can_i(subject, "list", resource), f"the kube-state-metrics ClusterRole lets it list {resource}"
