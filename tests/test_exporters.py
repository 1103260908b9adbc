"""kube-state-metrics and node-exporter under mocks: each is a toggle that renders nothing when off,
reads the API (or the node) and nothing more, is found by its scrape job, and lets only Prometheus in."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

import harness
from keelson.monitoring.kube_state_metrics import WATCHED_RESOURCES, cluster_role_rules, kube_state_metrics_args
from keelson.monitoring.node_exporter import METRICS_PORT, node_exporter_args
from keelson.monitoring.prometheus_config import prometheus_config
from keelson.monitoring.stack import MonitoringStack, MonitoringStackArgs
from keelson.network_models import NetworkPeers

NETWORK = NetworkPeers.model_validate({"apiServer": [{"cidr": "10.96.0.1/32", "ports": [443]}]})


def render(**fields) -> list[harness.Registered]:
    args = MonitoringStackArgs.model_validate({"network": NETWORK, **fields})
    return harness.run(lambda: MonitoringStack("monitoring", args))


@pytest.fixture(scope="module")
def rendered() -> list[harness.Registered]:
    return render()


def one(registered: list[harness.Registered], kind: str, name: str, namespace: str | None = None) -> dict:
    found = [
        r.manifest for r in harness.of_kind(registered, kind)
        if r.manifest["metadata"]["name"] == name and r.manifest["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


def job(config: dict, name: str) -> dict:
    (found,) = [job for job in config["scrape_configs"] if job["job_name"] == name]
    return found


def keeps(relabel: dict, values: list[str]) -> bool:
    """Whether a 'keep' relabeling keeps a target whose source labels have these values (Prometheus
    joins them with ';' and anchors the regex)."""
    assert relabel["action"] == "keep"
    return re.fullmatch(relabel["regex"], ";".join(values)) is not None


# -- toggles ---------------------------------------------------------------------------------------


def test_both_exporters_off_render_no_object_and_no_node_exporter_job():
    registered = render(kubeStateMetrics={"enabled": False}, nodeExporter={"enabled": False})
    leftovers = [r.label for r in harness.kubernetes_objects(registered) if re.search("kube-state-metrics|node-exporter", r.label)]
    assert not leftovers, f"objects rendered although both exporters are off: {leftovers}"
    config = one(registered, "ConfigMap", "prometheus-config", "monitoring")["data"]["prometheus.yml"]
    assert "job_name: node-exporter" not in config


def test_both_exporters_are_on_by_default(rendered):
    one(rendered, "Deployment", "kube-state-metrics", "monitoring")
    one(rendered, "DaemonSet", "node-exporter", "node-exporter")
    one(rendered, "Namespace", "node-exporter")


def test_turning_one_off_keeps_the_other():
    registered = render(nodeExporter={"enabled": False})
    one(registered, "Deployment", "kube-state-metrics", "monitoring")
    assert not harness.of_kind(registered, "DaemonSet")


# -- kube-state-metrics ------------------------------------------------------------------------------


def test_kube_state_metrics_may_only_list_and_watch_exactly_the_resources_it_reports(rendered):
    role = one(rendered, "ClusterRole", "monitoring-kube-state-metrics")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"list", "watch"}, f"ClusterRole monitoring-kube-state-metrics grants {verbs}"
    granted = {(group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == set(WATCHED_RESOURCES.values())
    assert not any("nonResourceURLs" in rule or "resourceNames" in rule for rule in role["rules"])
    (resources,) = [arg.split("=", 1)[1] for arg in kube_state_metrics_args() if arg.startswith("--resources=")]
    assert set(resources.split(",")) == set(WATCHED_RESOURCES), "--resources and the ClusterRole disagree"
    assert {("", "secrets"), ("", "configmaps")}.isdisjoint(granted), "listing Secrets or ConfigMaps reads their data"
    binding = one(rendered, "ClusterRoleBinding", "monitoring-kube-state-metrics")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": "monitoring"}]


def test_cluster_role_rules_group_every_resource_once():
    rules = cluster_role_rules()
    listed = [(rule["apiGroups"][0], resource) for rule in rules for resource in rule["resources"]]
    assert sorted(listed) == sorted(WATCHED_RESOURCES.values()) and len(listed) == len(set(listed))


def test_the_kube_state_metrics_job_finds_its_service_on_the_metrics_port_only(rendered):
    service = one(rendered, "Service", "kube-state-metrics", "monitoring")
    keep_name, keep_port = job(prometheus_config(), "kube-state-metrics")["relabel_configs"]
    assert keeps(keep_name, [service["metadata"]["labels"]["app.kubernetes.io/name"]])
    ports = {port["name"]: port["port"] for port in service["spec"]["ports"]}
    assert [name for name in ports if keeps(keep_port, [name])] == ["http-metrics"], ports
    assert ports["http-metrics"] == 8080
    deployment = one(rendered, "Deployment", "kube-state-metrics", "monitoring")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_kube_state_metrics_is_hardened_and_alone_gets_a_token_in_its_pod(rendered):
    deployment = one(rendered, "Deployment", "kube-state-metrics", "monitoring")
    assert deployment["spec"]["replicas"] == 1, "a second replica would export every series twice"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] and context["readOnlyRootFilesystem"], "Deployment kube-state-metrics"
    assert context["capabilities"] == {"drop": ["ALL"]} and context["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    assert any(volume["name"] == "kube-api-access" for volume in pod["volumes"]), "it lists objects: it needs a token"
    assert not any(key in pod for key in ("hostNetwork", "hostPID", "hostIPC"))
    assert container["args"] == kube_state_metrics_args()
    one(rendered, "PodDisruptionBudget", "kube-state-metrics", "monitoring")


def test_only_prometheus_reaches_kube_state_metrics_which_reaches_only_the_api_server(rendered):
    spec = one(rendered, "NetworkPolicy", "kube-state-metrics", "monitoring")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
         "ports": [{"protocol": "TCP", "port": 8080}]}
    ]
    assert spec["egress"] == [{"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}]


# -- node-exporter -----------------------------------------------------------------------------------


def test_node_exporter_runs_on_every_node_with_the_host_access_it_needs_and_no_more(rendered):
    daemon_set = one(rendered, "DaemonSet", "node-exporter", "node-exporter")
    pod = daemon_set["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"operator": "Exists"}], "a node agent tolerates every taint"
    assert pod["hostPID"] is True and pod["hostNetwork"] is True and "hostIPC" not in pod
    assert pod["automountServiceAccountToken"] is False
    assert not any(volume["name"] == "kube-api-access" for volume in pod["volumes"]), "node-exporter never calls the API"
    host_paths = {volume["name"]: volume["hostPath"]["path"] for volume in pod["volumes"] if "hostPath" in volume}
    assert host_paths == {"root": "/", "sys": "/sys"}
    (container,) = pod["containers"]
    mounts = {mount["name"]: mount for mount in container["volumeMounts"] if mount["name"] in host_paths}
    assert all(mount["readOnly"] and mount["mountPropagation"] == "HostToContainer" for mount in mounts.values()), mounts
    context = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
    assert context["capabilities"] == {"drop": ["ALL"]} and context["readOnlyRootFilesystem"] is True
    assert context.get("privileged") in (None, False) and context["allowPrivilegeEscalation"] is False
    assert "--path.rootfs=/host/root" in container["args"] and "--path.sysfs=/host/sys" in container["args"]
    assert f"--web.listen-address=[$(POD_IP)]:{METRICS_PORT}" in container["args"], "listens on the node's cluster address only"


def test_node_exporter_s_namespace_is_privileged_and_governed(rendered):
    labels = one(rendered, "Namespace", "node-exporter")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "baseline"
    for kind, name in (("ResourceQuota", "compute-quota"), ("LimitRange", "container-limits"),
                       ("NetworkPolicy", "default-deny-all"), ("NetworkPolicy", "allow-dns-egress")):
        one(rendered, kind, name, "node-exporter")


def test_the_node_exporter_job_is_named_so_and_finds_exactly_its_pods(rendered):
    daemon_set = one(rendered, "DaemonSet", "node-exporter", "node-exporter")
    pod = daemon_set["spec"]["template"]
    config = one(rendered, "ConfigMap", "prometheus-config", "monitoring")["data"]["prometheus.yml"]
    assert "job_name: node-exporter" in config
    scrape = job(prometheus_config(node_exporter_namespace="node-exporter"), "node-exporter")
    assert scrape["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["node-exporter"]}}]
    keep_name, keep_port = [relabel for relabel in scrape["relabel_configs"] if relabel.get("action") == "keep"]
    assert keeps(keep_name, [pod["metadata"]["labels"]["app.kubernetes.io/name"]])
    (port,) = pod["spec"]["containers"][0]["ports"]
    assert keeps(keep_port, [str(port["containerPort"])])
    assert {relabel.get("target_label") for relabel in scrape["relabel_configs"]} >= {"instance", "node"}
    assert "node-exporter" not in [job["job_name"] for job in prometheus_config(node_exporter_namespace=None)["scrape_configs"]]


def test_only_prometheus_reaches_node_exporter_which_reaches_nothing(rendered):
    spec = one(rendered, "NetworkPolicy", "node-exporter", "node-exporter")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["egress"] == []
    assert spec["ingress"] == [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                   "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
         "ports": [{"protocol": "TCP", "port": 9100}]}
    ]


def test_node_exporter_args_read_the_given_root_and_sys():
    args = node_exporter_args("127.0.0.1:9100", rootfs="/", sysfs="/sys")
    assert args[:4] == ["--web.listen-address=127.0.0.1:9100", "--path.rootfs=/", "--path.sysfs=/sys", "--path.udev.data=/run/udev/data"]


# -- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"nodeExporter": {"namespace": {"name": "node-exporter", "podSecurity": {"enforce": "baseline"}}}},
         "'nodeExporter.namespace.podSecurity.enforce' (baseline) must be 'privileged'"),
        ({"nodeExporter": {"namespace": {"name": "monitoring"}}},
         "'nodeExporter.namespace.name' (monitoring) must differ from 'namespace.name' (monitoring)"),
        ({"kubeStateMetrics": {"resources": {"requests": {"cpu": "10m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}}},
         "'kubeStateMetrics.resources'"),
        ({"kubeStateMetrics": {"enabled": "sometimes"}}, "kubeStateMetrics.enabled"),
        ({"nodeExporter": {"image": "docker.io/prom/node-exporter:latest"}}, "nodeExporter.image"),
    ],
    ids=["node-exporter namespace not privileged", "node-exporter beside prometheus", "ratio above the LimitRange",
         "enabled not a boolean", "latest image"],
)
def test_bad_exporter_settings_are_refused_naming_the_key(fields, message):
    with pytest.raises(ValidationError) as error:
        MonitoringStackArgs.model_validate(fields)
    assert message in str(error.value)


def test_a_privileged_namespace_off_does_not_need_to_be_privileged():
    MonitoringStackArgs.model_validate(
        {"nodeExporter": {"enabled": False, "namespace": {"name": "node-exporter", "podSecurity": {"enforce": "restricted"}}}}
    )


# -- operator mode ---------------------------------------------------------------------------------------


def test_operator_mode_scrapes_node_exporter_through_a_pod_monitor_the_prometheus_selects(crd_validators):
    from crd_schemas import crd_errors

    registered = render(operatorMode=True)
    monitors = [r.manifest for r in harness.of_kind(registered, "PodMonitor")]
    assert [monitor["metadata"]["name"] for monitor in monitors] == ["node-exporter"]
    (monitor,) = monitors
    assert not crd_errors(crd_validators, monitor), crd_errors(crd_validators, monitor)
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": ["node-exporter"]}
    daemon_set = one(registered, "DaemonSet", "node-exporter", "node-exporter")
    assert spec["selector"]["matchLabels"].items() <= daemon_set["spec"]["template"]["metadata"]["labels"].items()
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["port"] == daemon_set["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"]
    assert {"action": "replace", "targetLabel": "job", "replacement": "node-exporter"} in endpoint["relabelings"]
    (prometheus,) = [r.manifest for r in harness.of_kind(registered, "Prometheus")]
    assert prometheus["spec"]["podMonitorSelector"]["matchLabels"].items() <= monitor["metadata"]["labels"].items()
    assert prometheus["spec"]["podMonitorNamespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert not crd_errors(crd_validators, prometheus), crd_errors(crd_validators, prometheus)
    assert not harness.of_kind(render(operatorMode=True, nodeExporter={"enabled": False}), "PodMonitor")
