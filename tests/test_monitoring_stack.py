"""MonitoringStack under mocks and in the whole program: hardened workloads, HA per stack, secrets
kept out of ConfigMaps and exports, and dashboards that are valid Grafana JSON querying only
series the stack records or scrapes."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

import harness
from keelson.monitoring.dashboards import render_dashboards
from keelson.monitoring.rules import rule_files


def _in_monitoring(registered, kind):
    return {
        resource.manifest["metadata"]["name"]: resource
        for resource in harness.of_kind(registered, kind)
        if resource.manifest["metadata"].get("namespace") == "monitoring"
    }


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_monitoring_workload_is_hardened_and_has_its_network_policy(program_resources, stack):
    registered = program_resources[stack]
    workloads = {**_in_monitoring(registered, "StatefulSet"), **_in_monitoring(registered, "Deployment")}
    # In operator mode the operator builds Prometheus' StatefulSet from the Prometheus resource.
    operated = {"prometheus"} if _in_monitoring(registered, "Prometheus") else set()
    assert set(workloads) | operated == {"prometheus", "alertmanager", "grafana", "kube-state-metrics"}
    policies = _in_monitoring(registered, "NetworkPolicy")
    for name, workload in workloads.items():
        pod = workload.manifest["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, f"{workload.label}: token automounted"
        assert pod["securityContext"]["runAsNonRoot"] is True, workload.label
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"], workload.label
            assert context["capabilities"]["drop"] == ["ALL"], workload.label
            assert container["resources"]["limits"] and container["resources"]["requests"], workload.label
        assert name in policies, f"{workload.label} has no NetworkPolicy of its own"
    assert {"default-deny-all", "allow-dns-egress"} <= set(policies)


def test_only_the_api_readers_get_a_token_and_every_cluster_role_only_reads(program_resources):
    registered = program_resources["production"]
    tokened = sorted(
        resource.label
        for kind in ("StatefulSet", "Deployment", "DaemonSet")
        for resource in harness.of_kind(registered, kind)
        if any(volume["name"] == "kube-api-access" for volume in resource.manifest["spec"]["template"]["spec"]["volumes"])
    )
    # Prometheus discovers targets; Fluent Bit reads pod metadata; kube-state-metrics reports the
    # objects' state. Nothing else calls the API (node-exporter reads only its node).
    assert tokened == [
        "DaemonSet log-collector/fluent-bit (logging-fluent-bit)",
        "Deployment monitoring/kube-state-metrics (monitoring-kube-state-metrics)",
        "StatefulSet monitoring/prometheus (monitoring-prometheus)",
    ]
    for role in harness.of_kind(registered, "ClusterRole"):
        verbs = {verb for rule in role.manifest["rules"] for verb in rule["verbs"]}
        assert verbs <= {"get", "list", "watch"}, f"{role.label} can write: {verbs}"


def test_production_runs_two_prometheus_and_three_clustered_alertmanagers_with_pdbs(program_resources):
    registered = program_resources["production"]
    sets = _in_monitoring(registered, "StatefulSet")
    assert sets["prometheus"].manifest["spec"]["replicas"] == 2
    alertmanager = sets["alertmanager"].manifest["spec"]
    assert alertmanager["replicas"] == 3
    args = alertmanager["template"]["spec"]["containers"][0]["args"]
    assert len([arg for arg in args if arg.startswith("--cluster.peer=")]) == 3
    assert set(_in_monitoring(registered, "PodDisruptionBudget")) == {"prometheus", "alertmanager", "grafana", "kube-state-metrics"}
    claims = sets["prometheus"].manifest["spec"]["volumeClaimTemplates"]
    assert claims[0]["spec"]["storageClassName"] == "standard"
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "50Gi"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_alertmanager_reloads_through_a_hardened_native_sidecar_and_its_pods_carry_no_config_hash(program_resources, stack):
    from keelson.monitoring.alertmanager import CONFIG_DIR, SECRETS_DIR
    from keelson.monitoring.config_reloader import config_reloader_args

    registered = program_resources[stack]
    statefulset = _in_monitoring(registered, "StatefulSet")["alertmanager"]
    template = statefulset.manifest["spec"]["template"]
    assert "keelson.dev/config-hash" not in template["metadata"].get("annotations", {}), (
        f"{statefulset.label}: a config hash would restart Alertmanager on every routing change"
    )
    (reloader,) = template["spec"]["initContainers"]
    assert reloader["name"] == "config-reloader" and reloader["restartPolicy"] == "Always", statefulset.label
    watched = [CONFIG_DIR, *([SECRETS_DIR] if "alertmanager-credentials" in _in_monitoring(registered, "Secret") else [])]
    assert reloader["args"] == config_reloader_args("http://127.0.0.1:9093/-/reload", watched), statefulset.label
    assert [mount["mountPath"] for mount in reloader["volumeMounts"]] == watched
    assert all(mount["readOnly"] for mount in reloader["volumeMounts"]), f"{statefulset.label}: the reloader may write"
    assert "ports" not in reloader, f"{statefulset.label}: the reloader opens a port"
    context = reloader["securityContext"]
    assert context["readOnlyRootFilesystem"] and context["runAsNonRoot"] and context["capabilities"]["drop"] == ["ALL"]
    assert context["allowPrivilegeEscalation"] is False and context["seccompProfile"]["type"] == "RuntimeDefault"


@pytest.mark.parametrize("stack, retention", [("staging", "7d"), ("production", "15d")])
def test_retention_follows_the_stack(program_resources, stack, retention):
    prometheus = _in_monitoring(program_resources[stack], "StatefulSet")["prometheus"].manifest
    args = prometheus["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--storage.tsdb.retention.time={retention}" in args


def test_staging_runs_single_replicas_whose_pdbs_never_block_a_drain_and_no_volume_claims(program_resources):
    registered = program_resources["staging"]
    sets = _in_monitoring(registered, "StatefulSet")
    assert sets["prometheus"].manifest["spec"]["replicas"] == sets["alertmanager"].manifest["spec"]["replicas"] == 1
    budgets = _in_monitoring(registered, "PodDisruptionBudget")
    assert set(budgets) == {"prometheus", "alertmanager", "grafana", "kube-state-metrics"}
    for name, budget in budgets.items():
        assert budget.manifest["spec"].get("maxUnavailable") == 1 and "minAvailable" not in budget.manifest["spec"], (
            f"{budget.label}: a singleton's budget must let a drain evict its one pod"
        )
    assert sets["prometheus"].manifest["spec"]["volumeClaimTemplates"] == []


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_alert_credentials_live_in_a_secret_never_in_a_config_map(program_resources, stack):
    registered = program_resources[stack]
    (secret,) = [resource for name, resource in _in_monitoring(registered, "Secret").items() if name == "alertmanager-credentials"]
    assert harness.is_secret(secret.inputs["stringData"]), f"{secret.label}: credentials are not Pulumi secrets"
    values = [value for value in secret.manifest["stringData"].values()]
    assert values
    config_maps = json.dumps([resource.manifest for resource in harness.of_kind(registered, "ConfigMap")])
    assert not [value for value in values if value in config_maps], "a credential appears in a ConfigMap"
    config = yaml.safe_load(_in_monitoring(registered, "ConfigMap")["alertmanager-config"].manifest["data"]["alertmanager.yml"])
    assert {receiver["name"] for receiver in config["receivers"]} >= {"critical", "warning"}


def test_production_routes_critical_to_pagerduty_and_slack(program_resources):
    config_map = _in_monitoring(program_resources["production"], "ConfigMap")["alertmanager-config"]
    config = yaml.safe_load(config_map.manifest["data"]["alertmanager.yml"])
    critical = next(receiver for receiver in config["receivers"] if receiver["name"] == "critical")
    assert "pagerduty_configs" in critical and "slack_configs" in critical


def test_local_without_channels_still_gets_a_valid_null_receiver(program_resources):
    config_map = _in_monitoring(program_resources["local"], "ConfigMap")["alertmanager-config"]
    config = yaml.safe_load(config_map.manifest["data"]["alertmanager.yml"])
    assert [receiver["name"] for receiver in config["receivers"]] == ["null"]


def test_grafana_admin_password_is_generated_and_stays_secret(program_resources):
    registered = program_resources["production"]
    passwords = [r for r in registered if r.type == "random:index/randomPassword:RandomPassword" and "grafana" in r.name]
    assert len(passwords) == 1 and passwords[0].inputs["length"] >= 32
    admin = _in_monitoring(registered, "Secret")["grafana-admin"]
    assert harness.is_secret(admin.inputs["stringData"])
    container = _in_monitoring(registered, "Deployment")["grafana"].manifest["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/etc/grafana/admin/admin-password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env


def test_grafana_is_exposed_over_tls_with_the_stack_issuer(program_resources):
    ingress = _in_monitoring(program_resources["production"], "Ingress")["grafana"].manifest
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert ingress["spec"]["tls"][0]["hosts"] == ["grafana.keelson.example.com"]


def test_the_prometheus_config_map_holds_the_rule_files_of_the_stack_objectives(program_resources):
    rules = _in_monitoring(program_resources["production"], "ConfigMap")["prometheus-rules"].manifest["data"]
    assert set(rules) >= set(rule_files()), "a rule file is missing from the ConfigMap"
    slo = yaml.safe_load(rules["slo.rules.yaml"])
    alerts = [rule["alert"] for group in slo["groups"] for rule in group["rules"] if "alert" in rule]
    assert alerts, "the production SLO objective produced no burn-rate alert"


# -- dashboards ---------------------------------------------------------------------------------

RAW_METRICS = {
    # scraped, not recorded: what each source exposes
    "up": "every scrape job",
    "prometheus_tsdb_head_series": "Prometheus itself",
    "prometheus_rule_evaluation_failures_total": "Prometheus itself",
    "alertmanager_config_last_reload_successful": "Alertmanager",
    "alertmanager_notifications_failed_total": "Alertmanager",
    "alertmanager_cluster_members": "Alertmanager",
    "prometheus_sd_discovered_targets": "Prometheus itself",
    "prometheus_notifications_alertmanagers_discovered": "Prometheus itself",
    "kube_node_status_condition": "kube-state-metrics",
    "node_timex_offset_seconds": "node-exporter",
    "fluentbit_output_errors_total": "Fluent Bit (annotated pods)",
    "loki_distributor_lines_received_total": "Loki (annotated pods)",
}
PROMQL_KEYWORDS = {
    "sum", "by", "max", "min", "avg", "rate", "without", "on", "ignoring", "group_left", "label_values", "count",
    "or", "vector",
}  # fmt: skip


def _series_names(expr: str) -> set[str]:
    stripped = re.sub(r'"[^"]*"', "", re.sub(r"\{[^}]*\}", "", expr))
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped))
    return {token for token in tokens if token not in PROMQL_KEYWORDS and not re.fullmatch(r"[a-z]", token)} - {
        "app", "pod", "container", "integration", "namespace", "path", "config", "node", "condition",
    }


def test_dashboards_are_valid_grafana_json_with_the_required_panels():
    dashboards = {name: json.loads(text) for name, text in render_dashboards().items()}
    titles = {}
    for name, document in dashboards.items():
        Dashboard.from_json(document)
        titles[name] = {panel["title"] for panel in document["panels"] if panel["type"] != "row"}
    assert {
        "Requests / s", "Error rate", "p99 latency", "Active pods", "CPU (% of limit)",
        "Memory working set", "Request rate by endpoint", "SLO error budget left (30d)",
    } <= titles["app-overview.json"]
    assert len(titles["platform.json"]) >= 6
    rows = {
        name: [panel["title"] for panel in document["panels"] if panel["type"] == "row"]
        for name, document in dashboards.items()
    }
    assert rows["cluster.json"] == ["API server", "Kubelets", "Nodes"]
    assert {
        "5xx ratio", "p99 latency by verb", "Shortest client certificate life (p1)", "PLEG relist p99",
        "Pod start p99", "Nodes under pressure or not Ready", "Filesystem space left", "Clock offset",
    } <= titles["cluster.json"]  # fmt: skip


def test_every_panel_query_uses_a_recorded_or_scraped_series():
    from keelson.monitoring import SloObjective

    recorded = {
        rule["record"]
        for document in rule_files([SloObjective(app="api")]).values()
        for group in document["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    unknown = []
    for name, text in render_dashboards().items():
        for panel in json.loads(text)["panels"]:
            for target in panel.get("targets", []):
                for series in _series_names(target["expr"]):
                    if series not in recorded and series not in RAW_METRICS:
                        unknown.append(f"{name} / {panel['title']}: {series}")
    assert not unknown, "panels query series nothing records or scrapes:\n" + "\n".join(unknown)


# -- remote_write -------------------------------------------------------------------------------


def test_remote_write_credentials_go_to_a_mounted_secret_and_egress_opens_only_their_port():
    config = harness.stack_config("production")
    remote = {"name": "mimir", "url": "https://mimir.example.com:8443/api/v1/push", "username": "tenant-1",
              "password": "remote-SECRET-password"}  # fmt: skip
    config["keelson:monitoring"] = {
        **config["keelson:monitoring"],
        "prometheus": {**config["keelson:monitoring"]["prometheus"], "remoteWrite": [remote]},
    }
    # The engine marks the whole key secret when a field below it is `secure:`.
    secret_keys = [*harness.stack_secret_keys("production"), "keelson:monitoring"]
    registered = harness.run_program("production", config=config, secret_keys=secret_keys)
    prometheus_yml = _in_monitoring(registered, "ConfigMap")["prometheus-config"].manifest["data"]["prometheus.yml"]
    assert "SECRET" not in prometheus_yml, "the remote_write password reached the ConfigMap"
    (target,) = yaml.safe_load(prometheus_yml)["remote_write"]
    assert target["basic_auth"] == {"username": "tenant-1", "password_file": "/etc/prometheus/remote-write/mimir-password"}
    secret = _in_monitoring(registered, "Secret")["prometheus-remote-write"]
    assert set(secret.manifest["stringData"]) == {"mimir-password"}
    pod = _in_monitoring(registered, "StatefulSet")["prometheus"].manifest["spec"]["template"]["spec"]
    assert {"name": "remote-write", "secret": {"secretName": "prometheus-remote-write", "defaultMode": 0o440}} in pod["volumes"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "remote-write", "mountPath": "/etc/prometheus/remote-write", "readOnly": True} in mounts
    egress = _in_monitoring(registered, "NetworkPolicy")["prometheus"].manifest["spec"]["egress"]
    outside = [rule for rule in egress if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule["to"])]
    assert [rule["ports"] for rule in outside] == [[{"protocol": "TCP", "port": 8443}]]


def test_in_operator_mode_remote_write_credentials_are_secret_key_references(crd_validators):
    from crd_schemas import crd_errors

    config = harness.stack_config("production")
    remote = {"name": "mimir", "url": "https://mimir.example.com/api/v1/push", "username": "tenant-1",
              "password": "remote-SECRET-password"}  # fmt: skip
    config["keelson:monitoring"] = {
        **config["keelson:monitoring"],
        "operatorMode": True,
        "prometheus": {**config["keelson:monitoring"]["prometheus"], "remoteWrite": [remote]},
    }
    registered = harness.run_program("production", config=config, secret_keys=[*harness.stack_secret_keys("production"), "keelson:monitoring"])
    (prometheus,) = _custom(registered, "Prometheus").values()
    reference = {"name": "prometheus-remote-write"}
    assert prometheus["spec"]["remoteWrite"] == [
        {"name": "mimir", "url": "https://mimir.example.com/api/v1/push",
         "basicAuth": {"username": {**reference, "key": "mimir-username"}, "password": {**reference, "key": "mimir-password"}}}
    ]  # fmt: skip
    assert "SECRET" not in json.dumps(prometheus)
    assert not crd_errors(crd_validators, prometheus), crd_errors(crd_validators, prometheus)
    secret = _in_monitoring(registered, "Secret")["prometheus-remote-write"]
    assert set(secret.manifest["stringData"]) == {"mimir-username", "mimir-password"}
    egress = _in_monitoring(registered, "NetworkPolicy")["prometheus"].manifest["spec"]["egress"]
    assert any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for rule in egress for peer in rule["to"])


def test_without_remote_write_prometheus_reaches_nothing_outside_the_cluster(program_resources):
    for stack, registered in program_resources.items():
        policies = _in_monitoring(registered, "NetworkPolicy")
        if "prometheus" not in policies:
            continue
        egress = policies["prometheus"].manifest["spec"]["egress"]
        assert not any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for rule in egress for peer in rule["to"]), stack
        assert "prometheus-remote-write" not in _in_monitoring(registered, "Secret"), stack


# -- operator mode ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def operator_mode_production():
    config = harness.stack_config("production")
    config["keelson:monitoring"] = {**config["keelson:monitoring"], "operatorMode": True}
    return harness.run_program("production", config=config)


def _custom(registered, kind):
    return {
        resource.manifest["metadata"]["name"]: resource.manifest
        for resource in registered
        if resource.type == f"kubernetes:monitoring.coreos.com/v1:{kind}"
    }


def test_operator_mode_replaces_the_prometheus_statefulset_with_operator_objects(operator_mode_production):
    registered = operator_mode_production
    assert "prometheus" not in _in_monitoring(registered, "StatefulSet")
    assert "prometheus-config" not in _in_monitoring(registered, "ConfigMap")
    (prometheus,) = _custom(registered, "Prometheus").values()
    assert prometheus["spec"]["replicas"] == 2 and prometheus["spec"]["retention"] == "15d"
    assert prometheus["spec"]["podMetadata"]["labels"]["app.kubernetes.io/name"] == "prometheus"
    datasources = yaml.safe_load(_in_monitoring(registered, "ConfigMap")["grafana-provisioning"].manifest["data"]["datasources.yaml"])
    assert datasources["datasources"][0]["url"].startswith("http://prometheus-operated.")


def test_operator_mode_rules_are_the_same_rule_data(operator_mode_production):
    from keelson.monitoring import SloObjective
    from settings import parse_settings
    from test_settings import raw_settings

    settings = parse_settings(raw_settings(harness.stack_config("production")), frozenset(harness.stack_secret_keys("production")))
    expected = rule_files(settings.monitoring.slo)
    rules = _custom(operator_mode_production, "PrometheusRule")
    assert {name: spec["spec"]["groups"] for name, spec in rules.items()} == {
        f"keelson-{file.split('.', 1)[0].replace('_', '-')}": document["groups"] for file, document in expected.items()
    }
    assert SloObjective  # the production objective is part of the expected files


def test_operator_mode_service_monitors_give_the_labels_the_rules_use(operator_mode_production):
    monitors = _custom(operator_mode_production, "ServiceMonitor")
    api = monitors["keelson-production-api"]["spec"]
    endpoint = api["endpoints"][0]
    assert (endpoint["port"], endpoint["interval"]) == ("metrics", "5s")
    assert {"action": "replace", "targetLabel": "job", "replacement": "keelson-app/keelson-production/api"} in endpoint["relabelings"]
    assert monitors["keelson-production-worker"]["spec"]["endpoints"][0]["interval"] == "10s"
    assert {"prometheus", "alertmanager", "grafana", "keelson-apiserver", "keelson-kubelet", "keelson-kube-state-metrics"} <= set(monitors)


def test_operator_mode_objects_validate_against_the_prometheus_operator_crds(operator_mode_production, crd_validators):
    from crd_schemas import crd_errors

    objects = [
        resource.manifest
        for resource in operator_mode_production
        if resource.type.startswith("kubernetes:monitoring.coreos.com/")
    ]
    assert len(objects) >= 10
    failures = [f"{o['kind']}/{o['metadata']['name']}: {error}" for o in objects for error in crd_errors(crd_validators, o)]
    assert not failures, "\n".join(failures)
    broken = json.loads(json.dumps(objects[0]))
    broken["spec"]["grups"] = broken["spec"].pop("groups", broken["spec"].pop("endpoints", []))
    assert crd_errors(crd_validators, broken), "a misspelled field passed the prometheus-operator CRD"


# -- the real tools on what each stack deploys --------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_amtool_accepts_the_alertmanager_config_each_stack_deploys(program_resources, stack, tmp_path):
    import subprocess

    from keelson.monitoring.alertmanager import SECRETS_DIR
    from prometheus_tools import tool

    resources = _in_monitoring(program_resources[stack], "ConfigMap")
    secret = _in_monitoring(program_resources[stack], "Secret")["alertmanager-credentials"].manifest
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for key, value in secret["stringData"].items():
        (secrets_dir / key).write_text(value)
    config = resources["alertmanager-config"].manifest["data"]["alertmanager.yml"].replace(SECRETS_DIR, str(secrets_dir))
    referenced = set(re.findall(rf"{re.escape(str(secrets_dir))}/([a-z0-9-]+)", config))
    assert referenced and referenced <= {path.name for path in secrets_dir.iterdir()}, "a credential file is missing"
    (tmp_path / "alertmanager.yml").write_text(config)
    result = subprocess.run([tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_promtool_accepts_the_prometheus_config_and_rules_each_stack_deploys(program_resources, stack, tmp_path):
    import subprocess

    from keelson.monitoring.prometheus_config import RULES_DIR, SERVICE_ACCOUNT_DIR
    from prometheus_tools import tool

    config_maps = _in_monitoring(program_resources[stack], "ConfigMap")
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in config_maps["prometheus-rules"].manifest["data"].items():
        (rules_dir / name).write_text(text)
    # promtool checks that the token and CA files the kubelet and API server jobs read exist.
    account_dir = tmp_path / "serviceaccount"
    account_dir.mkdir()
    (account_dir / "token").write_text("test-token")
    (account_dir / "ca.crt").write_text("")
    config = (
        config_maps["prometheus-config"].manifest["data"]["prometheus.yml"]
        .replace(RULES_DIR, str(rules_dir))
        .replace(SERVICE_ACCOUNT_DIR, str(account_dir))
    )
    (tmp_path / "prometheus.yml").write_text(config)
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(rules_dir.iterdir()))} rule files found" in result.stdout + result.stderr


def test_every_job_the_rules_guard_is_scraped_in_both_modes(operator_mode_production):
    from keelson.monitoring.prometheus_config import prometheus_config
    from keelson.monitoring.rules.self_monitoring import GUARDED_JOBS

    guarded = {guarded.job for guarded in GUARDED_JOBS}
    raw = {job["job_name"] for job in prometheus_config()["scrape_configs"]}
    assert guarded <= raw, f"guarded jobs the raw config never scrapes: {sorted(guarded - raw)}"
    endpoints = [
        *(endpoint for monitor in _custom(operator_mode_production, "ServiceMonitor").values() for endpoint in monitor["spec"]["endpoints"]),
        *(endpoint for monitor in _custom(operator_mode_production, "PodMonitor").values() for endpoint in monitor["spec"]["podMetricsEndpoints"]),
    ]
    operated = {
        relabel["replacement"]
        for endpoint in endpoints
        for relabel in endpoint.get("relabelings", [])
        if relabel.get("targetLabel") == "job"
    }
    assert guarded <= operated, f"guarded jobs no ServiceMonitor or PodMonitor scrapes: {sorted(guarded - operated)}"
