"""Grafana in the MonitoringStack: GrafanaSpec, and GrafanaMixin, which creates the server.

Grafana gets its datasources (Prometheus, Alertmanager and, with a LoggingStack, Loki) and the
dashboards (dashboards.py) from provisioning ConfigMaps, a generated admin password in a Secret,
and, with 'ingress', an HTTPS Ingress. MonitoringStack (stack.py) mixes it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml
from pydantic import Field

from .. import images
from ..builders import ingress as ingress_builder
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint
from ..models import ComputeResources, ImageReference, KeelsonModel, ResourceRequirements
from ..network_models import IngressSpec
from ..platform import PlatformComponent, component_labels, config_digest
from .dashboards import PROMETHEUS_DATASOURCE_UID, render_dashboards
from .prometheus_config import ALERTMANAGER_PORT, GRAFANA_PORT, PROMETHEUS_PORT

if TYPE_CHECKING:
    from .stack import MonitoringStackArgs


class GrafanaSpec(KeelsonModel):
    """The Grafana server."""

    image: ImageReference = images.GRAFANA
    """Grafana image. Default: 11.6.1 pinned by digest (components/images.py), because the dashboards
    are built with the SDK for Grafana 11.6."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="100m", memory="128Mi"), limits=ComputeResources(cpu="400m", memory="512Mi")
    )
    """Requests and limits of the server. Default: 100m/128Mi requested, 400m/512Mi limit (ratio 4, the
    namespace LimitRange ceiling)."""
    ingress: IngressSpec | None = None
    """Public HTTPS exposure of Grafana. Default: none, cluster-internal (use port-forward), because a
    login page should face the internet only on purpose; 'sourceRanges' narrows who reaches it."""
    loki_url: str | None = Field(
        default=None, pattern=r"^http://[a-z0-9-]+\.[a-z0-9-]+\.svc(\.cluster\.local)?(:[0-9]+)?$"
    )
    """In-cluster URL of Loki for the logs datasource ('http://<service>.<namespace>.svc.cluster.local:3100',
    the LoggingStack's loki_url output). Default: none, no logs datasource; in a stack, the
    LoggingStack's. Grafana's NetworkPolicy lets it reach the Loki pods of that namespace alone."""

    @property
    def loki_endpoint(self) -> tuple[str, int]:
        """(namespace, port) of 'loki_url'."""
        assert self.loki_url is not None
        host, _, port = self.loki_url.removeprefix("http://").partition(":")
        return host.split(".")[1], int(port or 80)


class GrafanaMixin(PlatformComponent):
    """The Grafana part of MonitoringStack, which calls _grafana() once."""

    def _grafana(self, name: str, args: MonitoringStackArgs) -> Footprint:
        """The Grafana server with its datasources and dashboards; returns what it requests and may use."""
        spec = args.grafana
        labels = component_labels("grafana", args.environment, "monitoring", spec.image)
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
            spread_policy=args.spread, priority_class_name=args.priority_class_name,
        )
        footprint = pod_footprint(pod, 1)
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
        return footprint
