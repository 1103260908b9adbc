"""LoggingStack under mocks: Loki hardened like an app, the collector hardened as far as reading node
logs allows (root without capabilities, read-only /var/log, read-only RBAC), NetworkPolicies that
open exactly the documented flows, retention per stack enforced in the rendered Loki config, the
optional Elasticsearch output, Args validation, and every manifest strictly valid and checkov-clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

import harness
from keelson.logging import (
    ElasticsearchOutput,
    LoggingStack,
    LoggingStackArgs,
    LokiSpec,
)
from keelson.logging.fluent_bit import CONFIG_FILE, METRICS_PATH, METRICS_PORT
from keelson.logging.rules import RULES_FILE
from keelson.monitoring.stack import GrafanaSpec
from keelson.platform import StorageSpec
from conftest import FIGURES

STAGING = LoggingStackArgs(environment="staging", loki=LokiSpec(retention="7d"))
PRODUCTION = LoggingStackArgs(
    environment="production",
    loki=LokiSpec(retention="30d", storage=StorageSpec(size="50Gi", storage_class="standard")),
)
WITH_ELASTICSEARCH = LoggingStackArgs(
    environment="production",
    elasticsearch=ElasticsearchOutput(
        host="es-http.elastic.svc", port=9200, cidr="10.40.0.0/16", user="fluent-bit", password="es-mock-password"
    ),
)




def render(args: LoggingStackArgs) -> tuple[list[harness.Registered], dict[str, str]]:
    outputs: dict[str, str] = {}

    def program() -> None:
        stack = LoggingStack("logging", args)
        stack.loki_url.apply(lambda value: outputs.__setitem__("loki_url", value))
        stack.namespace.apply(lambda value: outputs.__setitem__("namespace", value))

    return harness.run(program), outputs


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[harness.Registered]]:
    return {name: render(args)[0] for name, args in {
        "staging": STAGING, "production": PRODUCTION, "elasticsearch": WITH_ELASTICSEARCH
    }.items()}


def objects(registered: list[harness.Registered], kind: str) -> dict[str, harness.Registered]:
    return {resource.manifest["metadata"]["name"]: resource for resource in harness.of_kind(registered, kind)}


def pod_of(resource: harness.Registered) -> dict[str, Any]:
    return resource.manifest["spec"]["template"]["spec"]


def workloads(registered: list[harness.Registered]) -> dict[str, harness.Registered]:
    return {**objects(registered, "DaemonSet"), **objects(registered, "StatefulSet")}


def loki_config(registered: list[harness.Registered]) -> dict[str, Any]:
    return yaml.safe_load(objects(registered, "ConfigMap")["loki-config"].manifest["data"]["loki.yaml"])


# -- component shape ---------------------------------------------------------------------------


def test_the_collector_and_loki_each_run_in_a_governed_namespace_of_their_own(rendered):
    registered = rendered["staging"]
    (component,) = [resource for resource in registered if resource.type == "keelson:index:LoggingStack"]
    children = [resource.name for resource in registered if resource.is_kubernetes_object]
    assert all(child.startswith(f"{component.name}-") for child in children), "children must be named <name>-<role>"
    assert set(workloads(registered)) == {"fluent-bit", "loki"}
    assert set(objects(registered, "Namespace")) == {"logging", "log-collector"}
    for namespace in ("logging", "log-collector"):
        governed = {r.kind for r in harness.kubernetes_objects(registered) if r.manifest["metadata"].get("namespace") == namespace}
        assert {"ResourceQuota", "LimitRange", "NetworkPolicy", "ServiceAccount"} <= governed, namespace
    placed = {
        r.manifest["metadata"]["namespace"]
        for r in harness.kubernetes_objects(registered)
        if r.manifest["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "fluent-bit"
        and r.kind not in ("ClusterRole", "ClusterRoleBinding")
    }
    assert placed == {"log-collector"}, f"collector objects outside its namespace: {placed}"
    loki = {r.label for r in harness.kubernetes_objects(registered) if r.manifest["metadata"].get("namespace") == "log-collector"
            and r.manifest["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "loki"}
    assert not loki, f"Loki objects in the collector's namespace: {loki}"


def test_outputs_are_the_namespace_and_the_in_cluster_loki_url_grafana_accepts():
    _, outputs = render(STAGING)
    assert outputs == {"namespace": "logging", "loki_url": "http://loki.logging.svc.cluster.local:3100"}
    assert GrafanaSpec(loki_url=outputs["loki_url"]).loki_endpoint == ("logging", 3100)


def test_only_the_collector_namespace_admits_privileged_pods_and_it_still_reports_beyond_baseline(rendered):
    namespaces = objects(rendered["staging"], "Namespace")
    collector = namespaces["log-collector"].manifest["metadata"]["labels"]
    assert collector["pod-security.kubernetes.io/enforce"] == "privileged", "hostPath needs 'privileged'"
    assert collector["pod-security.kubernetes.io/warn"] == collector["pod-security.kubernetes.io/audit"] == "baseline"
    loki = namespaces["logging"].manifest["metadata"]["labels"]
    assert {loki[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "warn", "audit")} == {"restricted"}
    assert collector["keelson.dev/monitored"] == loki["keelson.dev/monitored"] == "true"


# -- hardening ---------------------------------------------------------------------------------


def test_loki_runs_like_a_hardened_app(rendered):
    for stack, registered in rendered.items():
        loki = workloads(registered)["loki"]
        pod = pod_of(loki)
        assert pod["automountServiceAccountToken"] is False, f"{stack}: {loki.label} automounts a token"
        assert not any(volume["name"] == "kube-api-access" for volume in pod["volumes"]), f"{loki.label} has a token"
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        (container,) = pod["containers"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"], loki.label
        assert context["capabilities"] == {"drop": ["ALL"]}, loki.label
        assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container), loki.label
        assert not any("hostPath" in volume for volume in pod["volumes"]), f"{loki.label} mounts a host path"


def test_the_collector_is_root_without_any_capability_privilege_or_writable_image(rendered):
    collector = workloads(rendered["production"])["fluent-bit"]
    pod = pod_of(collector)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key), f"{collector.label} shares the node's {key}"
    assert pod["securityContext"] == {
        "runAsNonRoot": False, "runAsUser": 0, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}
    }
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"]}, f"{collector.label} adds capabilities back"
    assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False, collector.label
    assert context["readOnlyRootFilesystem"] is True, collector.label
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, collector.label
    assert container["resources"]["requests"] and container["resources"]["limits"], collector.label
    assert {"livenessProbe", "readinessProbe"} <= set(container), collector.label


def test_the_collector_is_not_restarted_while_an_output_is_down(rendered):
    """Liveness asks only whether Fluent Bit answers; the output-health endpoint gates readiness,
    because a restart while Loki is down would drop what the collector has buffered."""
    (container,) = pod_of(workloads(rendered["production"])["fluent-bit"])["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/uptime"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"


def test_host_paths_are_only_var_log_read_only_and_the_position_database_directory(rendered):
    collector = workloads(rendered["production"])["fluent-bit"]
    pod = pod_of(collector)
    host_paths = {volume["name"]: volume["hostPath"] for volume in pod["volumes"] if "hostPath" in volume}
    assert host_paths == {
        "var-log": {"path": "/var/log", "type": "Directory"},
        "state": {"path": "/var/lib/fluent-bit", "type": "DirectoryOrCreate"},
    }
    mounts = {mount["name"]: mount for mount in pod["containers"][0]["volumeMounts"]}
    assert mounts["var-log"] == {"name": "var-log", "mountPath": "/var/log", "readOnly": True}
    assert mounts["state"]["mountPath"] == "/var/lib/fluent-bit" and not mounts["state"].get("readOnly")
    config = yaml.safe_load(objects(rendered["production"], "ConfigMap")["fluent-bit-config"].manifest["data"][CONFIG_FILE])
    tail = config["pipeline"]["inputs"][0]
    assert tail["db"].startswith(mounts["state"]["mountPath"] + "/"), "the position database must be on the host"


def test_the_collector_runs_on_every_node_with_an_explicit_short_lived_token(rendered):
    pod = pod_of(workloads(rendered["production"])["fluent-bit"])
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["automountServiceAccountToken"] is False
    (token,) = [volume for volume in pod["volumes"] if volume["name"] == "kube-api-access"]
    assert token["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 3600
    assert "affinity" not in pod and "topologySpreadConstraints" not in pod


def test_rbac_only_reads_pods_and_namespaces(rendered):
    registered = rendered["production"]
    (role,) = objects(registered, "ClusterRole").values()
    assert role.manifest["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
    ], f"{role.label} grants more than reading pod metadata"
    (binding,) = objects(registered, "ClusterRoleBinding").values()
    assert binding.manifest["subjects"] == [{"kind": "ServiceAccount", "name": "fluent-bit", "namespace": "log-collector"}]
    assert binding.manifest["roleRef"]["name"] == role.manifest["metadata"]["name"]
    assert not objects(registered, "Role") and not objects(registered, "RoleBinding")
    for account in objects(registered, "ServiceAccount").values():
        assert account.manifest["automountServiceAccountToken"] is False, account.label


def test_both_workloads_are_scraped_through_their_pod_annotations(rendered):
    expected = {"fluent-bit": (METRICS_PORT, METRICS_PATH), "loki": (3100, "/metrics")}
    for name, workload in workloads(rendered["staging"]).items():
        template = workload.manifest["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        port, path = expected[name]
        assert annotations["prometheus.io/scrape"] == "true", workload.label
        assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (str(port), path), workload.label
        ports = [item["containerPort"] for item in template["spec"]["containers"][0]["ports"]]
        assert port in ports, f"{workload.label} is scraped on {port} but exposes {ports}"


# -- network -----------------------------------------------------------------------------------


def _peer(rule: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    peers = []
    for peer in rule.get("from", rule.get("to", [])):
        namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        app = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        cidr = peer.get("ipBlock", {}).get("cidr")
        peers.append((namespace, app or cidr))
    return peers


def _ports(rule: dict[str, Any]) -> set[int]:
    return {port["port"] for port in rule["ports"]}


def test_network_policies_open_exactly_the_documented_flows(rendered):
    policies = objects(rendered["production"], "NetworkPolicy")
    assert {"default-deny-all", "allow-dns-egress", "fluent-bit", "loki"} <= set(policies)
    collector = policies["fluent-bit"].manifest["spec"]
    (ingress,) = collector["ingress"]
    assert _peer(ingress) == [("monitoring", "prometheus")] and _ports(ingress) == {METRICS_PORT}
    egress = {tuple(_peer(rule)): _ports(rule) for rule in collector["egress"]}
    api_server = {((None, cidr),): {443, 6443} for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")}
    assert egress == {(("logging", "loki"),): {3100}, **api_server}

    loki = policies["loki"].manifest["spec"]
    (ingress,) = loki["ingress"]
    assert sorted(_peer(ingress), key=str) == sorted(
        [("log-collector", "fluent-bit"), ("monitoring", "grafana"), ("monitoring", "prometheus")], key=str
    )
    assert _ports(ingress) == {3100}
    (egress_rule,) = loki["egress"]
    assert _peer(egress_rule) == [("monitoring", "alertmanager")] and _ports(egress_rule) == {9093}
    for name in ("fluent-bit", "loki"):
        assert policies[name].manifest["spec"]["policyTypes"] == ["Ingress", "Egress"], name


def test_policy_selectors_match_the_pods_they_mean(rendered):
    registered = rendered["production"]
    sets = workloads(registered)
    pod_labels = {name: workload.manifest["spec"]["template"]["metadata"]["labels"] for name, workload in sets.items()}
    for policy in objects(registered, "NetworkPolicy").values():
        spec = policy.manifest["spec"]
        selected = spec["podSelector"].get("matchLabels", {})
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            for peer in rule.get("from", rule.get("to", [])):
                wanted = peer.get("podSelector", {}).get("matchLabels")
                if wanted and "namespaceSelector" not in peer:
                    assert any(wanted.items() <= labels.items() for labels in pod_labels.values()), (
                        f"{policy.label}: peer {wanted} selects no pod of the stack"
                    )
        if selected:
            assert any(selected.items() <= labels.items() for labels in pod_labels.values()), (
                f"{policy.label} selects no pod"
            )


# -- Loki config -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack, hours", [("staging", "168h"), ("production", "720h")])
def test_retention_follows_the_stack_and_the_compactor_enforces_it(rendered, stack, hours):
    config = loki_config(rendered[stack])
    assert config["limits_config"]["retention_period"] == hours
    compactor = config["compactor"]
    assert compactor["retention_enabled"] is True and compactor["delete_request_store"] == "filesystem"
    assert config["schema_config"]["configs"][0]["schema"] == "v13"
    assert config["schema_config"]["configs"][0]["store"] == "tsdb"
    assert config["auth_enabled"] is False


def test_the_ruler_sends_log_alerts_to_the_monitoring_alertmanager(rendered):
    registered = rendered["staging"]
    config = loki_config(registered)
    assert config["ruler"]["alertmanager_url"] == "http://alertmanager.monitoring.svc.cluster.local:9093"
    rules = yaml.safe_load(objects(registered, "ConfigMap")["loki-rules"].manifest["data"][RULES_FILE])
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"LogErrorBurst", "LogErrorRatioHigh", "LogIngestionStopped"} <= alerts
    mounts = pod_of(workloads(registered)["loki"])["containers"][0]["volumeMounts"]
    (rules_mount,) = [mount for mount in mounts if mount["name"] == "rules"]
    assert rules_mount["mountPath"] == f"{config['ruler']['storage']['local']['directory']}/fake"


def test_production_gets_a_volume_claim_and_staging_an_emptydir(rendered):
    production = workloads(rendered["production"])["loki"].manifest["spec"]
    (claim,) = production["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert not any(volume["name"] == "data" for volume in production["template"]["spec"]["volumes"])
    staging = workloads(rendered["staging"])["loki"].manifest["spec"]
    assert staging["volumeClaimTemplates"] == []
    (data,) = [volume for volume in staging["template"]["spec"]["volumes"] if volume["name"] == "data"]
    assert data["emptyDir"] == {"sizeLimit": "20Gi"}


def test_loki_runs_one_replica_whose_disruption_budget_lets_a_drain_evict_it(rendered):
    for registered in rendered.values():
        assert workloads(registered)["loki"].manifest["spec"]["replicas"] == 1
        (budget,) = objects(registered, "PodDisruptionBudget").values()
        assert budget.manifest["spec"]["maxUnavailable"] == 1 and "minAvailable" not in budget.manifest["spec"], budget.label


def test_a_config_change_rolls_the_pods():
    def hashes(args: LoggingStackArgs) -> dict[str, str]:
        registered, _ = render(args)
        return {
            name: workload.manifest["spec"]["template"]["metadata"]["annotations"]["keelson.dev/config-hash"]
            for name, workload in workloads(registered).items()
        }

    before, after = hashes(STAGING), hashes(PRODUCTION)
    assert before["loki"] != after["loki"] and before["fluent-bit"] != after["fluent-bit"]


# -- Elasticsearch -----------------------------------------------------------------------------


def test_the_elasticsearch_password_lives_in_a_secret_and_reaches_fluent_bit_as_env(rendered):
    registered = rendered["elasticsearch"]
    secret = objects(registered, "Secret")["fluent-bit-elasticsearch"]
    assert harness.is_secret(secret.inputs["stringData"]), f"{secret.label}: password is not a Pulumi secret"
    assert "es-mock-password" not in json.dumps([r.manifest for r in harness.of_kind(registered, "ConfigMap")])
    (container,) = pod_of(workloads(registered)["fluent-bit"])["containers"]
    assert container["env"] == [
        {"name": "ELASTICSEARCH_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "fluent-bit-elasticsearch", "key": "password"}}}
    ]
    egress = objects(registered, "NetworkPolicy")["fluent-bit"].manifest["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 9200}]} in egress


def test_without_elasticsearch_no_secret_or_env_is_rendered(rendered):
    registered = rendered["staging"]
    assert not objects(registered, "Secret")
    assert "env" not in pod_of(workloads(registered)["fluent-bit"])["containers"][0]


# -- validation --------------------------------------------------------------------------------

INVALID = {
    "restricted collector namespace": (
        {"collectorNamespace": {"name": "log-collector", "podSecurity": {"enforce": "restricted"}}},
        r"'collectorNamespace.podSecurity.enforce' \(restricted\) must be 'privileged'.*hostPath",
    ),
    "collector beside Loki": (
        {"collectorNamespace": {"name": "logging"}},
        r"'collectorNamespace.name' \(logging\) must differ from 'namespace.name' \(logging\)",
    ),
    "limit ratio over the LimitRange": (
        {"loki": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}},
        r"'loki.resources' limits.cpu/requests.cpu is 10 \(.*\), above .*maxLimitRequestRatio.cpu' \(4\)",
    ),
    "buffer larger than half the memory limit": (
        {"fluentBit": {"memBufLimit": "200MB"}},
        r"'fluentBit.memBufLimit' \(200MB\) must be at most half of 'fluentBit.resources.limits.memory' \(256Mi\)",
    ),
    "alertmanager outside the monitoring namespace": (
        {"alerts": {"alertmanagerUrl": "http://alertmanager.other.svc.cluster.local:9093"}},
        r"'alerts.alertmanagerUrl' .* must name a Service of 'monitoringNamespace' \(monitoring\)",
    ),
    "two loki replicas": ({"loki": {"replicas": 2}}, r"less than or equal to 1"),
    "retention below a day": ({"loki": {"retention": "0d"}}, r"shorter than Loki's 24h index period"),
    "retention in hours": ({"loki": {"retention": "36h"}}, r"should match pattern"),
    "latest image": ({"loki": {"image": "docker.io/grafana/loki:latest"}}, r"mutable 'latest' tag"),
    "elasticsearch user without password": (
        {"elasticsearch": {"host": "es.example.com", "cidr": "10.0.0.0/8", "user": "fluent"}},
        r"'user' is set without its partner",
    ),
    "unknown key": ({"loki": {"retentionDays": 7}}, r"Extra inputs are not permitted"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_bad_args_are_rejected_with_a_message_naming_key_and_value(case):
    data, message = INVALID[case]
    with pytest.raises(ValidationError, match=message):
        LoggingStackArgs.model_validate(data)


def test_a_renamed_collector_namespace_keeps_the_privileged_level_the_collector_needs():
    args = LoggingStackArgs.model_validate({"collectorNamespace": {"name": "logs-collector"}, "namespace": {"name": "logs"}})
    assert args.collector_namespace.pod_security.enforce == "privileged"
    assert args.namespace.pod_security.enforce == "restricted"


def test_the_elasticsearch_password_never_shows_in_errors_or_reprs():
    with pytest.raises(ValidationError) as error:
        LoggingStackArgs.model_validate(
            {"elasticsearch": {"host": "es.example.com", "cidr": "10.0.0.0/8", "password": "top-secret-pw"}}
        )
    assert "top-secret-pw" not in str(error.value)
    assert "'password' is set without its partner" in str(error.value)
    assert "top-secret-pw" not in repr(WITH_ELASTICSEARCH)


# -- external suites ---------------------------------------------------------------------------


def _write_manifests(directory: Path, rendered: dict[str, list[harness.Registered]]) -> list[Path]:
    paths = []
    for stack, registered in rendered.items():
        for resource in harness.kubernetes_objects(registered):
            manifest = resource.manifest
            metadata = manifest["metadata"]
            name = "-".join(filter(None, [stack, manifest["kind"].lower(), metadata.get("namespace"), metadata["name"]]))
            path = directory / f"{name}.yaml"
            path.write_text(yaml.safe_dump(manifest, sort_keys=False))
            paths.append(path)
    return paths


def test_every_manifest_validates_strictly_against_the_kubernetes_1_33_schemas(rendered, tmp_path):
    failures = []
    paths = _write_manifests(tmp_path, rendered)
    for path in paths:
        try:
            kubernetes_validate.validate(yaml.safe_load(path.read_text()), "1.33.0", strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            failures.append(f"{path.name}: {error}")
    assert len(paths) >= 3 * 18
    assert not failures, "manifests rejected by the Kubernetes 1.33 schemas:\n" + "\n".join(failures)


def test_checkov_finds_no_failed_check_on_the_logging_stack(rendered, tmp_path):
    """The collector's two root checks are disabled in .checkov.yaml (with the reason);
    tests/test_manifests.py keeps enforcing them on every other workload."""
    from test_manifests import run_checkov

    _write_manifests(tmp_path, rendered)
    result = run_checkov(tmp_path)
    assert result["passed"] > 0, "checkov ran no check at all"
    FIGURES["checkov (LoggingStack)"] = f"{result['passed']} passed, {result['failed']} failed"
    assert result["failed"] == 0, "checkov failed checks:\n" + "\n".join(result["failures"])
