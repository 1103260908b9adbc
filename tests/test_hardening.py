"""The second hardening pass, per stack under mocks: each node agent (the log collector, node-exporter)
alone in a privileged namespace, host access only where they need it,
egress no wider than the stack names, digest-pinned platform images, PriorityClasses with the
collector above the platform, ephemeral storage for every emptyDir, Ingress source ranges, a hard
zone spread in production and drain-safe budgets for singletons; plus the settings that guard them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import harness
from keelson import images
from keelson.builders.workload import LOG_ALLOWANCE
from keelson.quantities import parse_memory
from settings import SettingsError, parse_settings

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def workloads(registered: list[harness.Registered]) -> list[harness.Registered]:
    return [resource for kind in WORKLOAD_KINDS for resource in harness.of_kind(registered, kind)]


def pod(resource: harness.Registered) -> dict[str, Any]:
    return resource.manifest["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's containers and its init containers (native sidecars among them)."""
    return [*spec.get("initContainers", []), *spec["containers"]]


def named(registered: list[harness.Registered], kind: str, name: str) -> harness.Registered:
    (found,) = [r for r in harness.of_kind(registered, kind) if r.manifest["metadata"]["name"] == name]
    return found


PRIVILEGED_NAMESPACES = {
    "log-collector": {"DaemonSet log-collector/fluent-bit (logging-fluent-bit)"},
    "node-exporter": {"DaemonSet node-exporter/node-exporter (monitoring-node-exporter)"},
}
"""The namespaces enforcing Pod Security 'privileged', each holding exactly one node agent: Fluent Bit
(hostPath /var/log) and node-exporter (hostPID, hostNetwork, read-only hostPath / and /sys)."""


@pytest.mark.parametrize("stack", harness.STACKS)
def test_each_privileged_namespace_holds_its_node_agent_and_nothing_else(program_resources, stack):
    registered = program_resources[stack]
    privileged = {
        r.manifest["metadata"]["name"]
        for r in harness.of_kind(registered, "Namespace")
        if r.manifest["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    }
    assert privileged == set(PRIVILEGED_NAMESPACES), f"{stack}: namespaces enforcing 'privileged': {privileged}"
    for namespace, expected in PRIVILEGED_NAMESPACES.items():
        inside = {r.label for r in workloads(registered) if r.manifest["metadata"]["namespace"] == namespace}
        assert inside == expected, f"{stack}: workloads in the privileged namespace {namespace}: {inside}"


def test_host_namespaces_and_host_paths_are_the_node_agents_alone_and_read_only_where_they_read(program_resources):
    for workload in workloads(program_resources["production"]):
        spec = pod(workload)
        host = {key for key in ("hostPID", "hostNetwork", "hostIPC") if spec.get(key)}
        paths = {volume["name"]: volume["hostPath"]["path"] for volume in spec["volumes"] if "hostPath" in volume}
        name = workload.manifest["metadata"]["name"]
        if name == "node-exporter":
            assert host == {"hostPID", "hostNetwork"} and set(paths.values()) == {"/", "/sys"}, workload.label
            (container,) = spec["containers"]
            mounts = [m for m in container["volumeMounts"] if m["name"] in paths]
            assert mounts and all(m.get("readOnly") for m in mounts), f"{workload.label}: a host path is writable"
            assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        elif name == "fluent-bit":
            assert not host and set(paths.values()) == {"/var/log", "/var/lib/fluent-bit"}, workload.label
        else:
            assert not host and not paths, f"{workload.label}: host namespaces {host}, host paths {paths}"


def test_turning_node_exporter_off_leaves_the_collector_the_only_privileged_namespace():
    config = harness.stack_config("staging")
    config["keelson:monitoring"] = {**config["keelson:monitoring"], "nodeExporter": {"enabled": False}}
    registered = harness.run_program("staging", config)
    privileged = {
        r.manifest["metadata"]["name"]
        for r in harness.of_kind(registered, "Namespace")
        if r.manifest["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    }
    assert privileged == {"log-collector"}, privileged
    assert not [r.label for r in harness.kubernetes_objects(registered) if "node-exporter" in r.label]


INTERNET_ALLOWED = {"alertmanager": "sends notifications to Slack, PagerDuty and SMTP relays on the internet"}
"""Policies that may reach the internet, each with the reason; never the cluster's own networks."""


@pytest.mark.parametrize("stack", harness.STACKS)
def test_no_network_policy_lets_a_pod_reach_anywhere(program_resources, stack):
    cluster_networks = set(harness.stack_config(stack).get("keelson:network", {}).get("clusterNetworks", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]))
    for policy in harness.of_kind(program_resources[stack], "NetworkPolicy"):
        for rule in policy.manifest["spec"].get("egress", []):
            assert rule.get("to"), f"{policy.label}: an egress rule without 'to' reaches every address"
            for peer in rule["to"]:
                block = peer.get("ipBlock", {})
                if block.get("cidr") == "0.0.0.0/0":
                    assert policy.manifest["metadata"]["name"] in INTERNET_ALLOWED, f"{policy.label}: egress to 0.0.0.0/0"
                    assert set(block.get("except", [])) == cluster_networks, f"{policy.label}: the internet rule reaches into the cluster"
                assert peer.get("namespaceSelector") != {} or peer.get("podSelector"), f"{policy.label}: any pod anywhere"


def test_prometheus_reaches_only_the_cluster_networks_and_the_api_server_the_stack_names(program_resources):
    registered = program_resources["production"]
    egress = named(registered, "NetworkPolicy", "prometheus").manifest["spec"]["egress"]
    cidrs = {peer["ipBlock"]["cidr"] for rule in egress for peer in rule["to"]}
    config = harness.stack_config("production")["keelson:network"]
    assert cidrs == set(config["clusterNetworks"]) | {rule["cidr"] for rule in config["apiServer"]}


def test_grafana_reaches_loki_only_in_the_logging_namespace(program_resources):
    egress = named(program_resources["production"], "NetworkPolicy", "grafana").manifest["spec"]["egress"]
    (loki,) = [rule for rule in egress if rule["ports"] == [{"protocol": "TCP", "port": 3100}]]
    assert loki["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "logging"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "loki"}},
        }
    ]


@pytest.mark.parametrize("stack", harness.STACKS)
def test_apps_reach_nothing_beyond_dns_unless_they_ask(program_resources, stack):
    names = {r.manifest["metadata"]["name"] for r in harness.of_kind(program_resources[stack], "NetworkPolicy")}
    assert not {name for name in names if name.endswith("-allow-egress")}, f"{stack}: an app got egress it did not ask for"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_platform_images_are_pinned_by_digest_and_pulled_only_when_missing(program_resources, stack):
    for workload in workloads(program_resources[stack]):
        for container in containers(pod(workload)):
            image = container["image"]
            pinned = images.has_digest(image)
            assert container["imagePullPolicy"] == ("IfNotPresent" if pinned else "Always"), workload.label
            if workload.manifest["metadata"]["labels"]["app.kubernetes.io/component"] in ("monitoring", "logging"):
                assert pinned or image in images.UNPINNED_DEFAULTS, f"{workload.label}: {image} has no digest"


def test_production_pins_every_image_by_digest_but_the_documented_default(program_resources):
    unpinned = {
        container["image"]
        for workload in workloads(program_resources["production"])
        for container in containers(pod(workload))
        if not images.has_digest(container["image"])
    }
    assert unpinned == set(images.UNPINNED_DEFAULTS), unpinned


@pytest.mark.parametrize("stack", harness.STACKS)
def test_the_collector_outranks_the_platform_and_the_apps_stay_at_zero(program_resources, stack):
    registered = program_resources[stack]
    values = {r.manifest["metadata"]["name"]: r.manifest["value"] for r in harness.of_kind(registered, "PriorityClass")}
    assert values["keelson-log-collector"] > values["keelson-platform"] > 0
    for workload in workloads(registered):
        component = workload.manifest["metadata"]["labels"]["app.kubernetes.io/component"]
        expected = {"logging": "keelson-platform", "monitoring": "keelson-platform"}.get(component)
        if workload.manifest["metadata"]["name"] == "fluent-bit":
            expected = "keelson-log-collector"
        assert pod(workload).get("priorityClassName") == expected, workload.label


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_container_reserves_the_ephemeral_storage_its_empty_dirs_can_fill(program_resources, stack):
    for workload in workloads(program_resources[stack]):
        spec = pod(workload)
        sizes = {v["name"]: parse_memory(v["emptyDir"]["sizeLimit"]) for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(spec):
            mounted = sum(sizes.get(mount["name"], 0) for mount in container.get("volumeMounts", []))
            wanted = mounted + parse_memory(LOG_ALLOWANCE)
            resources = container["resources"]
            for side in ("requests", "limits"):
                assert parse_memory(resources[side]["ephemeral-storage"]) == wanted, f"{workload.label} {side}"


def test_staging_prometheus_reserves_its_twenty_gigabyte_empty_dir(program_resources):
    (container,) = pod(named(program_resources["staging"], "StatefulSet", "prometheus"))["containers"]
    assert container["resources"]["requests"]["ephemeral-storage"] == "20864Mi"  # 20Gi + /tmp 256Mi + 128Mi logs


def test_grafana_login_is_reachable_only_from_the_production_allowlist(program_resources):
    annotations = named(program_resources["production"], "Ingress", "grafana").manifest["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/whitelist-source-range"] == "198.51.100.0/24,203.0.113.0/24"
    staging = named(program_resources["staging"], "Ingress", "grafana").manifest["metadata"]["annotations"]
    assert "nginx.ingress.kubernetes.io/whitelist-source-range" not in staging


@pytest.mark.parametrize("stack, hard", [("local", False), ("staging", False), ("production", True), ("cluster", False)])
def test_zone_spread_is_hard_in_production_and_soft_elsewhere(program_resources, stack, hard):
    for workload in workloads(program_resources[stack]):
        spec = pod(workload)
        if workload.kind == "DaemonSet":
            assert "topologySpreadConstraints" not in spec, workload.label
            continue
        (constraint,) = spec["topologySpreadConstraints"]
        assert constraint["whenUnsatisfiable"] == ("DoNotSchedule" if hard else "ScheduleAnyway"), workload.label
        assert constraint.get("minDomains") == (3 if hard else None), workload.label
        assert "preferredDuringSchedulingIgnoredDuringExecution" in spec["affinity"]["podAntiAffinity"], workload.label


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_platform_workload_has_a_budget_that_never_blocks_a_drain(program_resources, stack):
    registered = program_resources[stack]
    budgets = {(r.manifest["metadata"]["namespace"], r.manifest["metadata"]["name"]): r for r in harness.of_kind(registered, "PodDisruptionBudget")}
    autoscaled = {(r.manifest["metadata"]["namespace"], r.manifest["metadata"]["name"]): r.manifest["spec"]["minReplicas"] for r in harness.of_kind(registered, "HorizontalPodAutoscaler")}
    for workload in workloads(registered):
        if workload.kind == "DaemonSet":
            continue
        key = (workload.manifest["metadata"]["namespace"], workload.manifest["metadata"]["name"])
        assert key in budgets, f"{workload.label} has no PodDisruptionBudget"
        spec = budgets[key].manifest["spec"]
        replicas = autoscaled.get(key) or workload.manifest["spec"]["replicas"]
        assert spec.get("maxUnavailable", 0) >= 1 or spec.get("minAvailable", replicas) < replicas, budgets[key].label


# -- the settings that guard them -----------------------------------------------------------------


def settings_error(stack: str, mutate) -> str:
    raw = copy.deepcopy({k.removeprefix("keelson:"): v for k, v in harness.stack_config(stack).items() if k.startswith("keelson:")})
    mutate(raw)
    with pytest.raises(SettingsError) as error:
        parse_settings(raw, set(harness.stack_secret_keys(stack)))
    return str(error.value)


def test_require_image_digests_refuses_a_tag_naming_the_key_and_how_to_pin_it():
    message = settings_error("staging", lambda raw: raw.update(requireImageDigests=True))
    assert "keelson:apps.api.image = 'ghcr.io/stefanprodan/podinfo:6.7.1': keelson:requireImageDigests is on" in message
    assert "crane digest ghcr.io/stefanprodan/podinfo:6.7.1" in message
    assert "keelson:monitoring.prometheus.image" not in message, "the digest-pinned defaults pass"
    assert "keelson:logging.fluentBit.image" not in message, "the documented unpinned default passes"
    assert "keelson:monitoring.alertmanager.reloaderImage" not in message, "the documented unpinned default passes"


def test_require_image_digests_refuses_a_stack_s_own_tagged_platform_image():
    def mutate(raw: dict) -> None:
        raw.update(requireImageDigests=True)
        for app in raw["apps"].values():
            app["image"] += "@sha256:" + "a" * 64
        raw["logging"]["fluentBit"] = {"image": "cr.fluentbit.io/fluent/fluent-bit:4.2.3"}
        raw.setdefault("monitoring", {}).setdefault("alertmanager", {})["reloaderImage"] = (
            "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.1"
        )

    message = settings_error("staging", mutate)
    assert "keelson:logging.fluentBit.image = 'cr.fluentbit.io/fluent/fluent-bit:4.2.3'" in message
    assert (
        "keelson:monitoring.alertmanager.reloaderImage = 'quay.io/prometheus-operator/prometheus-config-reloader:v0.85.1'"
        in message
    )
    assert "keelson:apps" not in message


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda raw: raw.update(scheduling={"spread": {"minZones": 3}}),
         "'minZones' (3) needs 'zoneSpread' DoNotSchedule, not 'ScheduleAnyway'"),
        (lambda raw: raw.update(scheduling={"priorityClasses": {"collectorValue": 10}}),
         "'collectorValue' (10) must be above 'platformValue' (100000)"),
        (lambda raw: raw["logging"].update(collectorNamespace={"name": "logging"}),
         "'collectorNamespace.name' (logging) must differ from 'namespace.name' (logging)"),
        (lambda raw: raw["logging"].update(collectorNamespace={"name": "monitoring"}),
         "keelson:logging.collectorNamespace.name = 'monitoring' is already keelson:monitoring.namespace.name"),
        (lambda raw: raw["monitoring"]["grafana"]["ingress"].update(sourceRanges=["10.0.0.300/8"]),
         "sourceRanges"),
        (lambda raw: raw.update(network={"apiServer": [{"cidr": "10.0.0.1/32", "ports": []}]}),
         "keelson:network.apiServer"),
        (lambda raw: raw["monitoring"].update(nodeExporter={"namespace": {"name": "log-collector"}}),
         "keelson:monitoring.nodeExporter.namespace.name = 'log-collector' is already keelson:logging.collectorNamespace.name"),
        (lambda raw: raw["monitoring"].update(nodeExporter={"namespace": {"name": "node-exporter", "podSecurity": {"enforce": "restricted"}}}),
         "'nodeExporter.namespace.podSecurity.enforce' (restricted) must be 'privileged'"),
        (lambda raw: raw["monitoring"].update(nodeExporter={"namespace": {"name": "node-exporter", "quota": {"requests": {"cpu": "10m", "memory": "60Gi"}}}}),
         "keelson:monitoring.nodeExporter.namespace.quota.requests.cpu (10m) is below the 50m needed by the node-exporter pod of one node"),
    ],
    ids=["minZones on a soft spread", "collector below platform", "collector beside loki",
         "collector in monitoring", "bad source range", "api server without ports",
         "node-exporter beside the collector", "node-exporter namespace restricted", "node-exporter quota below its pod"],
)
def test_bad_hardening_settings_are_refused_before_anything_is_registered(mutate, fragment):
    assert fragment in settings_error("staging", mutate)
