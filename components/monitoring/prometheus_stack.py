"""Prometheus in the MonitoringStack: PrometheusSpec, and PrometheusMixin, which creates the servers.

The servers run as a StatefulSet with their configuration and rule files (prometheus_config.py,
rules/) in ConfigMaps, or, in operator mode, as a Prometheus resource with PrometheusRules and
ServiceMonitors (operator.py); either way with a read-only ClusterRole for service discovery, a
NetworkPolicy and a PodDisruptionBudget. MonitoringStack (stack.py) mixes it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field, field_validator

from .. import images
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint
from ..models import ComputeResources, ImageReference, KeelsonModel, ResourceRequirements
from ..network_models import NetworkPeers
from ..platform import PlatformComponent, StorageSpec, component_labels
from . import operator
from .prometheus_config import PROMETHEUS_PORT, prometheus_args, prometheus_config
from .remote_write import SECRET_NAME as REMOTE_WRITE_SECRET
from .remote_write import SECRETS_DIR as REMOTE_WRITE_SECRETS_DIR
from .remote_write import RemoteWriteTarget, check_unique_names, operator_remote_write, remote_write_secret_data
from .rules import render_rule_files, rule_files

if TYPE_CHECKING:
    from .stack import MonitoringStackArgs

_RETENTION_HOURS = {"h": 1, "d": 24, "w": 168}
_MAX_GO_HOURS = 2562047
"""The longest whole number of hours a Go time.Duration (int64 nanoseconds) holds."""


class PrometheusSpec(KeelsonModel):
    """The Prometheus servers."""

    image: ImageReference = images.PROMETHEUS
    """Prometheus image. Default: v3.5.0 pinned by digest (components/images.py), a long-term-support
    release."""
    replicas: int = Field(default=1, ge=1, le=5)
    """Identical servers scraping the same targets. Default: 1; production runs 2, so alerts keep
    firing while one server restarts."""
    retention: str = Field(default="7d", pattern=r"^[0-9]+[dhw]$")
    """How long samples are kept. Default: 7d (staging too); production keeps 15d."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="250m", memory="512Mi"), limits=ComputeResources(cpu="1", memory="2Gi")
    )
    """Requests and limits of each server. Default: 250m/512Mi requested, 1/2Gi limit (ratio 4, the
    namespace LimitRange ceiling)."""
    storage: StorageSpec = StorageSpec()
    """Volume of each server's TSDB. Default: 20Gi on an emptyDir, lost when the pod moves (see
    StorageSpec); production names a storage class."""
    remote_write: list[RemoteWriteTarget] = Field(default=[])
    """Endpoints every sample is also sent to, each with its credentials (see RemoteWriteTarget).
    Default: none, samples stay in the cluster for 'retention'."""

    @field_validator("remote_write")
    @classmethod
    def _remote_write_names_unique(cls, targets: list[RemoteWriteTarget]) -> list[RemoteWriteTarget]:
        check_unique_names(targets)
        return targets

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


class PrometheusMixin(PlatformComponent):
    """The Prometheus part of MonitoringStack, which calls _prometheus() once."""

    def _prometheus(self, name: str, args: MonitoringStackArgs) -> Footprint:
        """The Prometheus servers, or in operator mode the objects prometheus-operator runs them
        from; returns what they request and may use."""
        spec = args.prometheus
        labels = component_labels("prometheus", args.environment, "monitoring", spec.image)
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
            return self._prometheus_operator_objects(name, args, labels)
        config = prometheus_config(
            args.apps,
            monitoring_namespace=self._namespace,
            external_labels={"environment": args.environment},
            kubelet_tls_verify=args.kubelet_tls_verify,
            remote_write=spec.remote_write,
            node_exporter_namespace=args.node_exporter.namespace.name if args.node_exporter.enabled else None,
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
        claims, volumes = self._config_and_data_volumes(
            spec.storage, labels, {"config": "prometheus-config", "rules": "prometheus-rules"}
        )
        mounts = [
            {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
            {"name": "rules", "mountPath": "/etc/prometheus/rules", "readOnly": True},
            {"name": "data", "mountPath": "/prometheus"},
        ]
        depends: list[pulumi.Resource] = [self.prometheus_config, self.prometheus_rules]
        secret = self._remote_write_secret(name, labels, spec.remote_write)
        if secret is not None:
            depends.append(secret)
            volumes.append({"name": "remote-write", "secret": {"secretName": REMOTE_WRITE_SECRET, "defaultMode": 0o440}})
            mounts.append({"name": "remote-write", "mountPath": REMOTE_WRITE_SECRETS_DIR, "readOnly": True})
        container = hardened_container(
            "prometheus",
            spec.image,
            spec.resources,
            ports={"web": PROMETHEUS_PORT},
            writable_paths=["/tmp"],
            args=prometheus_args("/etc/prometheus/prometheus.yml", "/prometheus", spec.retention),
            volumeMounts=mounts,
            readinessProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5, "failureThreshold": 3},
            livenessProbe={"httpGet": {"path": "/-/healthy", "port": "web"}, "periodSeconds": 10, "failureThreshold": 6},
            startupProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5, "failureThreshold": 60},
        )
        self._headless_and_service("prometheus", labels, {"web": PROMETHEUS_PORT}, name)
        pod = hardened_pod_spec(
            [container], "prometheus", selector, writable_paths=["/tmp"], volumes=volumes, api_access=True,
            termination_grace_period_seconds=120, spread_policy=args.spread, priority_class_name=args.priority_class_name,
        )
        footprint = pod_footprint(pod, spec.replicas)
        self.prometheus = self._stateful_set(
            name,
            "prometheus",
            labels,
            spec.replicas,
            pod,
            # No config hash: Prometheus reloads its config and rules itself (prometheus_args), so a
            # scrape or rule change is a ConfigMap update, never a restart of the StatefulSet.
            {},
            claims,
            depends,
        )
        self._prometheus_network_policy(name, labels, args.network, spec.remote_write)
        self._disruption_budget(name, "prometheus", labels)
        return footprint

    def _remote_write_secret(
        self, name: str, labels: dict[str, str], targets: Sequence[RemoteWriteTarget], with_usernames: bool = False
    ) -> k8s.core.v1.Secret | None:
        """The Secret of the remote_write credentials, or None without targets."""
        credentials = remote_write_secret_data(targets, with_usernames=with_usernames)
        if not credentials:
            return None
        return k8s.core.v1.Secret(
            f"{name}-prometheus-remote-write",
            metadata=self._metadata(REMOTE_WRITE_SECRET, labels),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value.get_secret_value()) for key, value in credentials.items()},
            opts=self._child,
        )

    def _prometheus_operator_objects(self, name: str, args: MonitoringStackArgs, labels: dict[str, str]) -> Footprint:
        """Operator mode: the Prometheus resource, one PrometheusRule per rule file, ServiceMonitors and
        node-exporter's PodMonitor."""
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
        self._remote_write_secret(name, labels, spec.remote_write, with_usernames=True)
        if args.node_exporter.enabled:
            custom("podmonitor-node-exporter", "PodMonitor", "node-exporter",
                   operator.node_exporter_pod_monitor_spec(args.node_exporter.namespace.name))
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
                    for key, value in hardened_pod_spec(
                        [], "prometheus", selector_labels(labels),
                        spread_policy=args.spread, priority_class_name=args.priority_class_name,
                    ).items()
                    if key in ("affinity", "topologySpreadConstraints", "priorityClassName")
                },
                remote_write=operator_remote_write(spec.remote_write),
            ),
        )
        footprint = pod_footprint({"containers": [{"resources": resources}]}, spec.replicas)
        self._prometheus_network_policy(name, labels, args.network, spec.remote_write)
        self._disruption_budget(name, "prometheus", labels)
        return footprint

    def _prometheus_network_policy(
        self, name: str, labels: dict[str, str], network: NetworkPeers, remote_write: Sequence[RemoteWriteTarget] = ()
    ) -> None:
        """Grafana and the other Prometheus replicas may query it. It may reach the cluster's own
        networks on any port (scrape targets, kubelets and Alertmanager choose their ports) and the
        API server (discovery), and nothing outside the cluster but the remote_write endpoints'
        ports (their addresses are not known in advance, as for Alertmanager's receivers)."""
        outside = sorted({target.port for target in remote_write if target.leaves_the_pod})
        internet = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(network.cluster_networks)}}
        remote_write_egress = (
            [{"to": [internet], "ports": [{"protocol": "TCP", "port": port} for port in outside]}] if outside else []
        )
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
                    *remote_write_egress,
                ],
            },
        )
