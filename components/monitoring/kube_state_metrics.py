"""kube-state-metrics in the MonitoringStack: KubeStateMetricsSpec, and KubeStateMetricsMixin, which
deploys it.

kube-state-metrics lists and watches Kubernetes objects and exports their state as series
(kube_pod_info, kube_node_status_condition, kube_horizontalpodautoscaler_*, ...), which the alert
rules and dashboards read. It runs as one hardened Deployment in the monitoring namespace, with a
ClusterRole that may only list and watch exactly the resources it is told to report
(WATCHED_RESOURCES, passed as --resources), a Service the 'kube-state-metrics' scrape job finds
(prometheus_config.py) and a NetworkPolicy letting only Prometheus in and it out only to the API
server. MonitoringStack (stack.py) mixes it in.

Ref: https://github.com/kubernetes/kube-state-metrics/tree/v2.18.0/examples/standard
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi_kubernetes as k8s

from .. import images
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint
from ..models import ComputeResources, ImageReference, KeelsonModel, ResourceRequirements
from ..platform import PlatformComponent, component_labels

if TYPE_CHECKING:
    from .stack import MonitoringStackArgs

METRICS_PORT = 8080
"""Port of the object metrics (named 'http-metrics', the name the scrape job keeps)."""
TELEMETRY_PORT = 8081
"""Port of kube-state-metrics' own metrics and its /readyz."""

WATCHED_RESOURCES: dict[str, tuple[str, str]] = {
    "certificatesigningrequests": ("certificates.k8s.io", "certificatesigningrequests"),
    "cronjobs": ("batch", "cronjobs"),
    "daemonsets": ("apps", "daemonsets"),
    "deployments": ("apps", "deployments"),
    "endpointslices": ("discovery.k8s.io", "endpointslices"),
    "horizontalpodautoscalers": ("autoscaling", "horizontalpodautoscalers"),
    "ingresses": ("networking.k8s.io", "ingresses"),
    "jobs": ("batch", "jobs"),
    "leases": ("coordination.k8s.io", "leases"),
    "limitranges": ("", "limitranges"),
    "mutatingwebhookconfigurations": ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    "namespaces": ("", "namespaces"),
    "networkpolicies": ("networking.k8s.io", "networkpolicies"),
    "nodes": ("", "nodes"),
    "persistentvolumeclaims": ("", "persistentvolumeclaims"),
    "persistentvolumes": ("", "persistentvolumes"),
    "poddisruptionbudgets": ("policy", "poddisruptionbudgets"),
    "pods": ("", "pods"),
    "replicasets": ("apps", "replicasets"),
    "replicationcontrollers": ("", "replicationcontrollers"),
    "resourcequotas": ("", "resourcequotas"),
    "services": ("", "services"),
    "statefulsets": ("apps", "statefulsets"),
    "storageclasses": ("storage.k8s.io", "storageclasses"),
    "validatingwebhookconfigurations": ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    "volumeattachments": ("storage.k8s.io", "volumeattachments"),
}
"""kube-state-metrics resource name -> (API group, resource) it lists and watches.

kube-state-metrics v2.18.0's default set (pkg/options/resource.go DefaultResources) without
'secrets' and 'configmaps': listing them returns every Secret's and ConfigMap's data in the cluster,
so the token would read every credential, for series (kube_secret_info, kube_configmap_info) no
rule or dashboard of the platform reads. The upstream example ClusterRole
(examples/standard/cluster-role.yaml) also grants those two, the opt-in resources (serviceaccounts,
endpoints, RBAC objects, ingressclasses) and 'create' on tokenreviews and subjectaccessreviews for
its optional authentication filter; none of those is granted here."""


def kube_state_metrics_args(host: str = "::", port: int = METRICS_PORT, telemetry_port: int = TELEMETRY_PORT) -> list[str]:
    """The kube-state-metrics flags: exactly WATCHED_RESOURCES, the object metrics on 'port' and its own
    on 'telemetry_port', both on 'host' (default '::', upstream's: every IPv4 and IPv6 address of the
    pod; the live test uses 127.0.0.1)."""
    return [
        f"--resources={','.join(sorted(WATCHED_RESOURCES))}",
        f"--host={host}",
        f"--port={port}",
        f"--telemetry-host={host}",
        f"--telemetry-port={telemetry_port}",
    ]


def cluster_role_rules() -> list[dict[str, Any]]:
    """ClusterRole rules granting list and watch on WATCHED_RESOURCES, one rule per API group."""
    groups: dict[str, list[str]] = {}
    for group, resource in WATCHED_RESOURCES.values():
        groups.setdefault(group, []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": ["list", "watch"]}
        for group, resources in sorted(groups.items())
    ]


class KubeStateMetricsSpec(KeelsonModel):
    """kube-state-metrics: the state of the cluster's objects as series.

    Default: on, one replica, because the pod, HPA and node alerts read its series; a second replica
    would export every series twice (each replica reports every object), so it is not offered.
    """

    enabled: bool = True
    """Deploy kube-state-metrics. Default: true; false when the cluster already runs one (the
    'kube-state-metrics' scrape job finds any Service labelled app.kubernetes.io/name=kube-state-metrics)."""
    image: ImageReference = images.KUBE_STATE_METRICS
    """kube-state-metrics image. Default: v2.18.0 pinned by digest (components/images.py)."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="50m", memory="128Mi"), limits=ComputeResources(cpu="200m", memory="256Mi")
    )
    """Requests and limits. Default: 50m/128Mi requested, 200m/256Mi limit, near kube-prometheus'
    190Mi/250Mi; its memory grows with the number of objects, so raise it on large clusters."""


class KubeStateMetricsMixin(PlatformComponent):
    """The kube-state-metrics part of MonitoringStack, which calls _kube_state_metrics() once."""

    def _kube_state_metrics(self, name: str, args: MonitoringStackArgs) -> Footprint:
        """kube-state-metrics with its RBAC, Service, NetworkPolicy and budget; returns what it requests
        and may use (nothing when it is off)."""
        spec = args.kube_state_metrics
        if not spec.enabled:
            return Footprint()
        role = "kube-state-metrics"
        labels = component_labels(role, args.environment, "monitoring", spec.image)
        selector = selector_labels(labels)
        self._service_account(name, role, labels)
        cluster_role_name = f"{self._namespace}-{role}"
        k8s.rbac.v1.ClusterRole(
            f"{name}-{role}-clusterrole",
            metadata={"name": cluster_role_name, "labels": labels},
            rules=cluster_role_rules(),
            opts=self._child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-{role}-clusterrolebinding",
            metadata={"name": cluster_role_name, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role_name},
            subjects=[{"kind": "ServiceAccount", "name": role, "namespace": self._namespace}],
            opts=self._child,
        )
        container = hardened_container(
            role,
            spec.image,
            spec.resources,
            ports={"http-metrics": METRICS_PORT, "telemetry": TELEMETRY_PORT},
            args=kube_state_metrics_args(),
            livenessProbe={"httpGet": {"path": "/livez", "port": "http-metrics"}, "initialDelaySeconds": 5, "timeoutSeconds": 5},
            readinessProbe={"httpGet": {"path": "/readyz", "port": "telemetry"}, "initialDelaySeconds": 5, "timeoutSeconds": 5},
        )
        pod = hardened_pod_spec(
            [container], role, selector, api_access=True,
            spread_policy=args.spread, priority_class_name=args.priority_class_name,
        )
        self._disruption_budget(name, role, labels)
        k8s.apps.v1.Deployment(
            f"{name}-{role}",
            metadata=self._metadata(role, labels),
            spec={
                # One replica: each replica exports every object, so two would double every series.
                "replicas": 1,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
            opts=self._child,
        )
        k8s.core.v1.Service(
            f"{name}-{role}-service",
            metadata=self._metadata(role, labels),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http-metrics", "port": METRICS_PORT, "targetPort": "http-metrics", "protocol": "TCP"}],
            },
            opts=self._child,
        )
        self._network_policy(
            name,
            role,
            labels,
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                        "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
                    }
                ],
                "egress": network_policies.allow_egress(selector, list(args.network.api_server))["egress"],
            },
        )
        return pod_footprint(pod, 1)
