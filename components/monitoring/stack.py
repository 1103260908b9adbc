"""MonitoringStack: Prometheus, Alertmanager and Grafana in a governed namespace.

Everything they run on is built from data in this package: rule files (rules/), the Prometheus
and Alertmanager configurations (prometheus_config.py, alertmanager.py) and the dashboards
(dashboards.py). Every workload is hardened like a HardenedApp (builders/workload.py), has its
own NetworkPolicy, and a PodDisruptionBudget when it runs more than one replica.
"""

from __future__ import annotations

import warnings
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml
from pydantic import Field, field_validator, model_validator

from .. import images
from ..builders import ingress as ingress_builder
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint, total
from ..models import (
    ComputeResources,
    DnsLabel,
    ImageReference,
    IngressPolicy,
    IngressSpec,
    KeelsonModel,
    NamespaceSpec,
    NetworkPeers,
    ResourceRequirements,
    check_limit_range_ratios,
)
from ..scheduling import SpreadPolicy
from ..platform import PlatformComponent, StorageSpec, component_labels, config_digest
from .alertmanager import SECRETS_DIR, AlertRoutingWarning, alertmanager_config, alertmanager_secret_data, routing_warnings
from .dashboards import PROMETHEUS_DATASOURCE_UID, render_dashboards
from . import operator
from .models import AlertChannels, ScrapedApp, SloObjective
from .prometheus_config import ALERTMANAGER_PORT, GRAFANA_PORT, PROMETHEUS_PORT, prometheus_args, prometheus_config
from .rules import render_rule_files, rule_files

ALERTMANAGER_CLUSTER_PORT = 9094

_RETENTION_HOURS = {"h": 1, "d": 24, "w": 168}
_MAX_GO_HOURS = 2562047
"""The longest whole number of hours a Go time.Duration (int64 nanoseconds) holds."""


class PrometheusSpec(KeelsonModel):
    """The Prometheus servers."""

    image: ImageReference = images.PROMETHEUS
    """Prometheus image (v3.5 is a long-term-support release)."""
    replicas: int = Field(default=1, ge=1, le=5)
    """Identical servers scraping the same targets; 2 in production for HA."""
    retention: str = Field(default="7d", pattern=r"^[0-9]+[dhw]$")
    """How long samples are kept: 7d staging, 15d production."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="250m", memory="512Mi"), limits=ComputeResources(cpu="1", memory="2Gi")
    )
    """Requests and limits of each server."""
    storage: StorageSpec = StorageSpec()
    """Volume of each server's TSDB."""

    @field_validator("retention")
    @classmethod
    def _retention_is_kept(cls, retention: str) -> str:
        hours = int(retention[:-1]) * _RETENTION_HOURS[retention[-1]]
        if hours == 0:
            raise ValueError(
                f"'{retention}' would not be kept: Prometheus replaces a retention of 0 with its own default of 15d; "
                "give the retention you want, e.g. 7d"
            )
        if hours > _MAX_GO_HOURS:
            raise ValueError(f"'{retention}' is longer than the {_MAX_GO_HOURS // 24}d a Go duration holds; Prometheus would not start")
        return retention


class AlertmanagerSpec(KeelsonModel):
    """The Alertmanager cluster."""

    image: ImageReference = images.ALERTMANAGER
    """Alertmanager image."""
    replicas: int = Field(default=1, ge=1, le=5)
    """Replicas gossip to deduplicate notifications; 3 in production."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="50m", memory="64Mi"), limits=ComputeResources(cpu="200m", memory="256Mi")
    )
    """Requests and limits of each replica."""


class GrafanaSpec(KeelsonModel):
    """The Grafana server."""

    image: ImageReference = images.GRAFANA
    """Grafana image; the dashboards are built with the SDK for Grafana 11.6."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="100m", memory="128Mi"), limits=ComputeResources(cpu="400m", memory="512Mi")
    )
    """Requests and limits of the server."""
    ingress: IngressSpec | None = None
    """Public HTTPS exposure of Grafana; None keeps it cluster-internal (use port-forward)."""
    loki_url: str | None = Field(
        default=None, pattern=r"^http://[a-z0-9-]+\.[a-z0-9-]+\.svc(\.cluster\.local)?(:[0-9]+)?$"
    )
    """In-cluster URL of Loki for the logs datasource ('http://<service>.<namespace>.svc.cluster.local:3100',
    the LoggingStack's loki_url output); None until a LoggingStack exists. Grafana's NetworkPolicy
    lets it reach the Loki pods of that namespace alone."""

    @property
    def loki_endpoint(self) -> tuple[str, int]:
        """(namespace, port) of 'loki_url'."""
        assert self.loki_url is not None
        host, _, port = self.loki_url.removeprefix("http://").partition(":")
        return host.split(".")[1], int(port or 80)


class MonitoringStackArgs(KeelsonModel):
    """Arguments of MonitoringStack.

    Secure by default: every workload runs hardened (non-root, read-only root filesystem, no
    capabilities); only Prometheus gets a Kubernetes API token, because service discovery needs
    one, and its ClusterRole can only read. Alert credentials live in a Secret mounted as files,
    never in a ConfigMap, an export or a log line.
    """

    namespace: NamespaceSpec = NamespaceSpec(name="monitoring")
    """The governed namespace of the monitoring workloads."""
    environment: DnsLabel = "production"
    """Added to every alert as the 'environment' external label."""
    prometheus: PrometheusSpec = PrometheusSpec()
    alertmanager: AlertmanagerSpec = AlertmanagerSpec()
    grafana: GrafanaSpec = GrafanaSpec()
    channels: AlertChannels = AlertChannels()
    """Where alerts go; a channel left out gets no receiver."""
    slo: list[SloObjective] = Field(default=[])
    """Availability and latency objectives; each yields burn-rate alerts."""
    apps: list[ScrapedApp] = Field(default=[])
    """Apps scraped in jobs of their own, at their own interval."""
    ingress_policy: IngressPolicy = IngressPolicy()
    """Edge policy of the Grafana Ingress."""
    network: NetworkPeers = NetworkPeers()
    """Where cluster DNS lives."""
    spread: SpreadPolicy = SpreadPolicy()
    """How Prometheus and Alertmanager replicas spread across zones and nodes (see SpreadPolicy)."""
    priority_class_name: DnsLabel | None = None
    """PriorityClass of every monitoring pod (the program sets PriorityClasses.platform). Default:
    none (priority 0, like the apps), because the class must exist before any pod names it."""
    kubelet_tls_verify: bool = True
    """Verify kubelet certificates. Escape hatch for kind/minikube clusters with self-signed kubelets."""
    operator_mode: bool = False
    """Where prometheus-operator runs: emit a Prometheus resource, PrometheusRules and ServiceMonitors
    (from the same rule data) instead of a Prometheus StatefulSet with a raw config. Default: false,
    because the plain StatefulSet needs nothing installed in the cluster."""
    log_alerts_namespace: DnsLabel | None = None
    """Namespace of the Loki ruler whose log alerts Alertmanager accepts; None admits none."""
    app_metrics: dict[DnsLabel, tuple[str, str]] = Field(default={})
    """{app: (Service port name, metrics path)} for the operator-mode ServiceMonitors; default
    ('http', '/metrics')."""

    @model_validator(mode="after")
    def _objectives_target_scraped_apps(self) -> MonitoringStackArgs:
        scraped = {app.name for app in self.apps}
        unknown = [objective.app for objective in self.slo if objective.app not in scraped]
        if unknown and self.apps:
            raise ValueError(f"'slo' names apps that are not scraped: {unknown}; scraped apps: {sorted(scraped)}")
        for index, objective in enumerate(self.slo):
            for later, other in enumerate(self.slo[index + 1 :], start=index + 1):
                shared = None in (objective.namespace, other.namespace) or objective.namespace == other.namespace
                if objective.app == other.app and shared:
                    raise ValueError(
                        f"'slo[{index}]' and 'slo[{later}]' both cover app '{objective.app}' (an objective without "
                        "'namespace' covers every namespace): their recording rules would write the same series"
                    )
        return self

    @model_validator(mode="after")
    def _workloads_fit_the_limit_range(self) -> MonitoringStackArgs:
        check_limit_range_ratios(
            [(owner, getattr(self, owner).resources) for owner in ("prometheus", "alertmanager", "grafana")],
            self.namespace.limit_range.max_limit_request_ratio,
        )
        return self


def _labels(name: str, environment: str, image: str) -> dict[str, str]:
    return component_labels(name, environment, "monitoring", image)


class MonitoringStack(PlatformComponent):
    """Prometheus (StatefulSet), Alertmanager (clustered StatefulSet) and Grafana (Deployment)
    with their configuration, rules, dashboards, RBAC, Services, NetworkPolicies and PDBs.

    Outputs:
        namespace: the monitoring namespace.
        prometheus_url / alertmanager_url: in-cluster URLs.
        grafana_url: public URL when Grafana has an Ingress, else its in-cluster URL.
        grafana_admin_password: the generated admin password (a Pulumi secret).
    """

    namespace: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    alertmanager_url: pulumi.Output[str]
    grafana_url: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:MonitoringStack", name, args.namespace, args.network, opts)
        self.args = args
        namespace = self._namespace
        self._footprints: dict[str, Footprint] = {}
        for message in routing_warnings(args.channels):
            pulumi.log.warn(f"alert routing: {message}", resource=self)

        self._prometheus(name, args)
        self._alertmanager(name, args)
        self._grafana(name, args)

        self.footprint = total(list(self._footprints.values()))
        """What Prometheus, Alertmanager and Grafana request and may use, all replicas together."""
        suffix = f".{namespace}.svc.cluster.local"
        self.namespace = self.governed_namespace.name
        prometheus_service = "prometheus-operated" if args.operator_mode else "prometheus"
        self.prometheus_url = pulumi.Output.from_input(f"http://{prometheus_service}{suffix}:{PROMETHEUS_PORT}")
        self.alertmanager_url = pulumi.Output.from_input(f"http://alertmanager{suffix}:{ALERTMANAGER_PORT}")
        self.grafana_url = pulumi.Output.from_input(
            f"https://{args.grafana.ingress.host}{args.grafana.ingress.path}" if args.grafana.ingress else f"http://grafana{suffix}"
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "prometheus_url": self.prometheus_url,
                "alertmanager_url": self.alertmanager_url,
                "grafana_url": self.grafana_url,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )

    @staticmethod
    def _placement(args: MonitoringStackArgs) -> dict[str, Any]:
        """The scheduling arguments of every monitoring pod: the stack's spread and priority."""
        return {"spread_policy": args.spread, "priority_class_name": args.priority_class_name}

    def _prometheus_network_policy(self, name: str, labels: dict[str, str], network: NetworkPeers) -> None:
        """Grafana and the other Prometheus replicas may query it. It may reach the cluster's own
        networks on any port (scrape targets, kubelets and Alertmanager choose their ports) and the
        API server (discovery), and nothing outside the cluster."""
        self._network_policy(
            name,
            "prometheus",
            labels,
            {
                "podSelector": {"matchLabels": selector_labels(labels)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": peer}}}
                            for peer in ("grafana", "prometheus")
                        ],
                        "ports": [{"protocol": "TCP", "port": PROMETHEUS_PORT}],
                    }
                ],
                "egress": [
                    *network_policies.allow_egress_to_networks(list(network.cluster_networks)),
                    *network_policies.allow_egress(selector_labels(labels), list(network.api_server))["egress"],
                ],
            },
        )

    def _prometheus(self, name: str, args: MonitoringStackArgs) -> None:
        spec = args.prometheus
        labels = _labels("prometheus", args.environment, spec.image)
        selector = selector_labels(labels)
        self._service_account(name, "prometheus", labels)
        cluster_role_name = f"{self._namespace}-prometheus"
        k8s.rbac.v1.ClusterRole(
            f"{name}-prometheus-clusterrole",
            metadata={"name": cluster_role_name, "labels": labels},
            rules=[
                {"apiGroups": [""], "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list", "watch"]},
                {"nonResourceURLs": ["/metrics", "/metrics/cadvisor"], "verbs": ["get"]},
            ],
            opts=self._child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-prometheus-clusterrolebinding",
            metadata={"name": cluster_role_name, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role_name},
            subjects=[{"kind": "ServiceAccount", "name": "prometheus", "namespace": self._namespace}],
            opts=self._child,
        )
        if args.operator_mode:
            self._prometheus_operator_objects(name, args, labels)
            return
        config = prometheus_config(
            args.apps,
            monitoring_namespace=self._namespace,
            external_labels={"environment": args.environment},
            kubelet_tls_verify=args.kubelet_tls_verify,
        )
        self.prometheus_config = k8s.core.v1.ConfigMap(
            f"{name}-prometheus-config",
            metadata=self._metadata("prometheus-config", labels),
            data={"prometheus.yml": yaml.safe_dump(config, sort_keys=False)},
            opts=self._child,
        )
        self.rule_files = render_rule_files(args.slo)
        self.prometheus_rules = k8s.core.v1.ConfigMap(
            f"{name}-prometheus-rules",
            metadata=self._metadata("prometheus-rules", labels),
            data=self.rule_files,
            opts=self._child,
        )
        claims = self._volume_claims(spec.storage, labels)
        volumes = [
            {"name": "config", "configMap": {"name": "prometheus-config"}},
            {"name": "rules", "configMap": {"name": "prometheus-rules"}},
        ]
        if not claims:
            volumes.append({"name": "data", "emptyDir": {"sizeLimit": spec.storage.size}})
        container = hardened_container(
            "prometheus",
            spec.image,
            spec.resources,
            ports={"web": PROMETHEUS_PORT},
            writable_paths=["/tmp"],
            args=prometheus_args("/etc/prometheus/prometheus.yml", "/prometheus", spec.retention),
            volumeMounts=[
                {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
                {"name": "rules", "mountPath": "/etc/prometheus/rules", "readOnly": True},
                {"name": "data", "mountPath": "/prometheus"},
            ],
            readinessProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5, "failureThreshold": 3},
            livenessProbe={"httpGet": {"path": "/-/healthy", "port": "web"}, "periodSeconds": 10, "failureThreshold": 6},
            startupProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5, "failureThreshold": 60},
        )
        self._headless_and_service("prometheus", labels, {"web": PROMETHEUS_PORT}, name)
        pod = hardened_pod_spec(
            [container], "prometheus", selector, writable_paths=["/tmp"], volumes=volumes, api_access=True,
            termination_grace_period_seconds=120, **self._placement(args),
        )
        self._footprints["prometheus"] = pod_footprint(pod, spec.replicas)
        self.prometheus = self._stateful_set(
            name,
            "prometheus",
            labels,
            spec.replicas,
            pod,
            # A config or rule change rolls the pods, so what runs is what was reviewed.
            {"keelson.dev/config-hash": config_digest(config, self.rule_files)},
            claims,
            [self.prometheus_config, self.prometheus_rules],
        )
        self._prometheus_network_policy(name, labels, args.network)
        self._disruption_budget(name, "prometheus", labels)

    def _prometheus_operator_objects(self, name: str, args: MonitoringStackArgs, labels: dict[str, str]) -> None:
        """Operator mode: the Prometheus resource, one PrometheusRule per rule file, ServiceMonitors."""
        spec = args.prometheus
        selected = {**labels, **operator.SELECTED_BY}

        def custom(role: str, kind: str, object_name: str, body: dict[str, Any]) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{role}",
                api_version=operator.API_VERSION,
                kind=kind,
                metadata=self._metadata(object_name, selected),
                spec=body,
                opts=self._child,
            )

        self.rule_files = render_rule_files(args.slo)
        for rule_name, rule_spec in operator.prometheus_rule_specs(rule_files(args.slo)).items():
            custom(f"rule-{rule_name}", "PrometheusRule", rule_name, rule_spec)
        for app in args.apps:
            port, path = args.app_metrics.get(app.name, ("http", "/metrics"))
            custom(
                f"servicemonitor-{app.namespace}-{app.name}",
                "ServiceMonitor",
                f"{app.namespace}-{app.name}",
                operator.app_service_monitor_spec(app, port, path),
            )
        platform = {
            "prometheus": ("web", {"operated-prometheus": "true"}),
            "alertmanager": ("web", None),
            "grafana": ("http", None),
        }
        for component, (port, selector) in platform.items():
            custom(
                f"servicemonitor-{component}",
                "ServiceMonitor",
                component,
                operator.component_service_monitor_spec(component, self._namespace, port, selector),
            )
        for monitor_name, monitor_spec in operator.cluster_service_monitor_specs().items():
            custom(f"servicemonitor-{monitor_name}", "ServiceMonitor", monitor_name, monitor_spec)
        resources = hardened_container("prometheus", spec.image, spec.resources)["resources"]
        custom(
            "prometheus",
            "Prometheus",
            "keelson",
            operator.prometheus_spec(
                image=spec.image,
                replicas=spec.replicas,
                retention=spec.retention,
                resources=resources,
                pod_labels=labels,
                security_context=hardened_pod_spec([], "prometheus", {})["securityContext"],
                monitoring_namespace=self._namespace,
                environment=args.environment,
                storage_class=spec.storage.storage_class,
                storage_size=spec.storage.size,
                placement={
                    key: value
                    for key, value in hardened_pod_spec([], "prometheus", selector_labels(labels), **self._placement(args)).items()
                    if key in ("affinity", "topologySpreadConstraints", "priorityClassName")
                },
            ),
        )
        self._footprints["prometheus"] = pod_footprint({"containers": [{"resources": resources}]}, spec.replicas)
        self._prometheus_network_policy(name, labels, args.network)
        self._disruption_budget(name, "prometheus", labels)

    def _alertmanager(self, name: str, args: MonitoringStackArgs) -> None:
        spec = args.alertmanager
        labels = _labels("alertmanager", args.environment, spec.image)
        selector = selector_labels(labels)
        self._service_account(name, "alertmanager", labels)
        with warnings.catch_warnings():
            # routing_warnings() were already logged through Pulumi in __init__.
            warnings.simplefilter("ignore", AlertRoutingWarning)
            config = alertmanager_config(args.channels, secrets_dir=SECRETS_DIR)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-alertmanager-config",
            metadata=self._metadata("alertmanager-config", labels),
            data={"alertmanager.yml": yaml.safe_dump(config, sort_keys=False)},
            opts=self._child,
        )
        credentials = alertmanager_secret_data(args.channels)
        volumes = [{"name": "config", "configMap": {"name": "alertmanager-config"}}]
        mounts = [{"name": "config", "mountPath": "/etc/alertmanager", "readOnly": True}]
        depends: list[pulumi.Resource] = [config_map]
        if credentials:
            secret = k8s.core.v1.Secret(
                f"{name}-alertmanager-credentials",
                metadata=self._metadata("alertmanager-credentials", labels),
                type="Opaque",
                string_data={key: pulumi.Output.secret(value.get_secret_value()) for key, value in credentials.items()},
                opts=self._child,
            )
            depends.append(secret)
            volumes.append({"name": "credentials", "secret": {"secretName": "alertmanager-credentials", "defaultMode": 0o440}})
            mounts.append({"name": "credentials", "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append({"name": "data", "emptyDir": {"sizeLimit": "1Gi"}})
        mounts.append({"name": "data", "mountPath": "/alertmanager"})
        peers = [
            f"--cluster.peer=alertmanager-{index}.alertmanager-headless.{self._namespace}.svc.cluster.local:{ALERTMANAGER_CLUSTER_PORT}"
            for index in range(spec.replicas)
        ]
        cluster_args = (
            [f"--cluster.listen-address=0.0.0.0:{ALERTMANAGER_CLUSTER_PORT}", *peers]
            if spec.replicas > 1
            else ["--cluster.listen-address="]
        )
        ports = {"web": ALERTMANAGER_PORT}
        if spec.replicas > 1:
            ports["mesh"] = ALERTMANAGER_CLUSTER_PORT
        container = hardened_container(
            "alertmanager",
            spec.image,
            spec.resources,
            ports=ports,
            args=[
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
                f"--web.listen-address=0.0.0.0:{ALERTMANAGER_PORT}",
                *cluster_args,
            ],
            volumeMounts=mounts,
            readinessProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5},
            livenessProbe={"httpGet": {"path": "/-/healthy", "port": "web"}, "periodSeconds": 10, "failureThreshold": 6},
        )
        self._headless_and_service("alertmanager", labels, ports, name)
        pod = hardened_pod_spec([container], "alertmanager", selector, volumes=volumes, **self._placement(args))
        self._footprints["alertmanager"] = pod_footprint(pod, spec.replicas)
        self._stateful_set(
            name, "alertmanager", labels, spec.replicas, pod, {"keelson.dev/config-hash": config_digest(config)}, [], depends
        )
        egress_ports = [{"protocol": "TCP", "port": 443}]
        if args.channels.email is not None:
            egress_ports.append({"protocol": "TCP", "port": int(args.channels.email.smarthost.rsplit(":", 1)[1])})
        senders: list[dict[str, Any]] = [
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": peer}}} for peer in ("prometheus", "grafana")
        ]
        if args.log_alerts_namespace:
            senders.append(
                {
                    "namespaceSelector": {
                        "matchLabels": {network_policies.NAMESPACE_NAME_LABEL: args.log_alerts_namespace}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "loki"}},
                }
            )
        ingress_rules: list[dict[str, Any]] = [
            {"from": senders, "ports": [{"protocol": "TCP", "port": ALERTMANAGER_PORT}]}
        ]
        # The notification services (Slack, PagerDuty, SMTP relays) live on the internet at addresses
        # nobody publishes in advance: any address on their ports, except the cluster's own networks.
        internet = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(args.network.cluster_networks)}}
        egress_rules: list[dict[str, Any]] = [{"to": [internet], "ports": egress_ports}]
        if spec.replicas > 1:
            mesh = [{"protocol": protocol, "port": ALERTMANAGER_CLUSTER_PORT} for protocol in ("TCP", "UDP")]
            ingress_rules.append({"from": [{"podSelector": {"matchLabels": selector}}], "ports": mesh})
            egress_rules.append({"to": [{"podSelector": {"matchLabels": selector}}], "ports": mesh})
        self._network_policy(
            name,
            "alertmanager",
            labels,
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress_rules,
                "egress": egress_rules,
            },
        )
        self._disruption_budget(name, "alertmanager", labels)

    def _grafana(self, name: str, args: MonitoringStackArgs) -> None:
        spec = args.grafana
        labels = _labels("grafana", args.environment, spec.image)
        selector = selector_labels(labels)
        self._service_account(name, "grafana", labels)
        password = random.RandomPassword(
            f"{name}-grafana-admin-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.grafana_admin_password = password.result
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=self._metadata("grafana-admin", labels),
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=self._child,
        )
        datasources = [
            {
                "name": "Prometheus",
                "uid": PROMETHEUS_DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                # The operator serves its Prometheus pods through the 'prometheus-operated' Service.
                "url": f"http://{'prometheus-operated' if args.operator_mode else 'prometheus'}"
                f".{self._namespace}.svc.cluster.local:{PROMETHEUS_PORT}",
                "isDefault": True,
                "editable": False,
            },
            {
                "name": "Alertmanager",
                "uid": "keelson-alertmanager",
                "type": "alertmanager",
                "access": "proxy",
                "url": f"http://alertmanager.{self._namespace}.svc.cluster.local:{ALERTMANAGER_PORT}",
                "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
                "editable": False,
            },
        ]
        if spec.loki_url:
            datasources.append(
                {"name": "Loki", "uid": "keelson-loki", "type": "loki", "access": "proxy", "url": spec.loki_url, "editable": False}
            )
        provisioning = k8s.core.v1.ConfigMap(
            f"{name}-grafana-provisioning",
            metadata=self._metadata("grafana-provisioning", labels),
            data={
                "datasources.yaml": yaml.safe_dump({"apiVersion": 1, "datasources": datasources}, sort_keys=False),
                "dashboards.yaml": yaml.safe_dump(
                    {
                        "apiVersion": 1,
                        "providers": [
                            {
                                "name": "keelson",
                                "folder": "Keelson",
                                "type": "file",
                                "disableDeletion": True,
                                "allowUiUpdates": False,
                                "options": {"path": "/var/lib/grafana/dashboards"},
                            }
                        ],
                    },
                    sort_keys=False,
                ),
            },
            opts=self._child,
        )
        self.dashboards = render_dashboards()
        dashboards = k8s.core.v1.ConfigMap(
            f"{name}-grafana-dashboards",
            metadata=self._metadata("grafana-dashboards", labels),
            data=self.dashboards,
            opts=self._child,
        )
        container = hardened_container(
            "grafana",
            spec.image,
            spec.resources,
            ports={"http": GRAFANA_PORT},
            writable_paths=["/tmp", "/var/lib/grafana"],
            env=[
                {"name": "GF_SECURITY_ADMIN_USER__FILE", "value": "/etc/grafana/admin/admin-user"},
                {"name": "GF_SECURITY_ADMIN_PASSWORD__FILE", "value": "/etc/grafana/admin/admin-password"},
                {"name": "GF_PATHS_PROVISIONING", "value": "/etc/grafana/provisioning"},
                {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
                {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
                {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
                {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
                {"name": "GF_SECURITY_COOKIE_SECURE", "value": "true"},
                {"name": "GF_SECURITY_DISABLE_GRAVATAR", "value": "true"},
                {"name": "GF_SERVER_ROOT_URL", "value": f"https://{spec.ingress.host}" if spec.ingress else "http://localhost:3000"},
            ],
            volumeMounts=[
                {"name": "admin", "mountPath": "/etc/grafana/admin", "readOnly": True},
                {"name": "provisioning", "mountPath": "/etc/grafana/provisioning/datasources/datasources.yaml", "subPath": "datasources.yaml", "readOnly": True},
                {"name": "provisioning", "mountPath": "/etc/grafana/provisioning/dashboards/dashboards.yaml", "subPath": "dashboards.yaml", "readOnly": True},
                {"name": "dashboards", "mountPath": "/var/lib/grafana/dashboards", "readOnly": True},
            ],
            readinessProbe={"httpGet": {"path": "/api/health", "port": "http"}, "periodSeconds": 5},
            # Liveness only asks whether the server answers at all: /api/health also fails while the
            # database is busy, which should take Grafana out of the Service, not restart it.
            livenessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 6},
        )
        volumes = [
            {"name": "admin", "secret": {"secretName": "grafana-admin", "defaultMode": 0o440}},
            {"name": "provisioning", "configMap": {"name": "grafana-provisioning"}},
            {"name": "dashboards", "configMap": {"name": "grafana-dashboards"}},
        ]
        pod = hardened_pod_spec(
            [container], "grafana", selector, writable_paths=["/tmp", "/var/lib/grafana"], volumes=volumes,
            **self._placement(args),
        )
        self._footprints["grafana"] = pod_footprint(pod, 1)
        self._disruption_budget(name, "grafana", labels)
        k8s.apps.v1.Deployment(
            f"{name}-grafana",
            metadata=self._metadata("grafana", labels),
            spec={
                # One replica: Grafana keeps sessions in its embedded SQLite database.
                "replicas": 1,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"keelson.dev/config-hash": config_digest(datasources, self.dashboards)},
                    },
                    "spec": pod,
                },
            },
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=[admin, provisioning, dashboards])
            ),
        )
        k8s.core.v1.Service(
            f"{name}-grafana-service",
            metadata=self._metadata("grafana", labels),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=self._child,
        )
        ingress_from: list[dict[str, Any]] = []
        if spec.ingress is not None:
            headers = k8s.core.v1.ConfigMap(
                f"{name}-grafana-security-headers",
                metadata=self._metadata("grafana-security-headers", labels),
                data=ingress_builder.security_headers(args.ingress_policy),
                opts=self._child,
            )
            k8s.networking.v1.Ingress(
                f"{name}-grafana-ingress",
                metadata=self._metadata(
                    "grafana",
                    labels,
                    annotations=ingress_builder.ingress_annotations(
                        args.ingress_policy, f"{self._namespace}/grafana-security-headers", list(spec.ingress.source_ranges)
                    ),
                ),
                spec=ingress_builder.ingress_spec(
                    args.ingress_policy, spec.ingress.host, spec.ingress.path, "grafana", "grafana-tls"
                ),
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[headers])),
            )
            ingress_from.append(
                {
                    "namespaceSelector": {
                        "matchLabels": {network_policies.NAMESPACE_NAME_LABEL: args.ingress_policy.controller_namespace}
                    }
                }
            )
        ingress_from.append({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}})
        egress: list[dict[str, Any]] = [
            {
                "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                "ports": [{"protocol": "TCP", "port": PROMETHEUS_PORT}],
            },
            {
                "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}}}],
                "ports": [{"protocol": "TCP", "port": ALERTMANAGER_PORT}],
            },
        ]
        if spec.loki_url:
            loki_namespace, loki_port = spec.loki_endpoint
            egress.append({
                "to": [network_policies.pods_in_namespace(loki_namespace, {"app.kubernetes.io/name": "loki"})],
                "ports": [{"protocol": "TCP", "port": loki_port}],
            })
        self._network_policy(
            name,
            "grafana",
            labels,
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": ingress_from, "ports": [{"protocol": "TCP", "port": GRAFANA_PORT}]}],
                "egress": egress,
            },
        )
