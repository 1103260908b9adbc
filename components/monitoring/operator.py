"""prometheus-operator mode: the same rules and scrape targets as monitoring.coreos.com objects.

Where prometheus-operator runs, MonitoringStack emits a `Prometheus` resource, one
`PrometheusRule` per rule file (the very documents rules/ renders for the raw config) and
`ServiceMonitor`s (and a `PodMonitor` for node-exporter, which has no Service) whose relabelings
give every series the labels the rules select on (job, namespace, app, component, pod, node), so
one source of rules serves both modes.
Ref: https://prometheus-operator.dev/docs/api-reference/api/
"""

from __future__ import annotations

from typing import Any

from ..builders.labels import image_version
from .models import ScrapedApp
from .prometheus_config import app_job_name

PROMETHEUS_OPERATOR_VERSION = "0.85.0"
"""The prometheus-operator whose CRDs the objects are validated against (tools/fetch-crds.sh)."""

API_VERSION = "monitoring.coreos.com/v1"
SELECTED_BY = {"app.kubernetes.io/part-of": "keelson"}
"""The label the Prometheus resource selects its rules, ServiceMonitors and PodMonitors by."""


APP_LABELS_RELABELING = [
    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "targetLabel": "app"},
    {
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
        "targetLabel": "component",
    },
]
"""The labels the raw config's app jobs set (namespace and pod the operator sets itself)."""


def _job(name: str) -> dict[str, Any]:
    return {"action": "replace", "targetLabel": "job", "replacement": name}


def prometheus_rule_specs(rule_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return {PrometheusRule name: spec} for the rule files ('apps.rules.yaml' -> 'keelson-apps',
    'self_monitoring.rules.yaml' -> 'keelson-self-monitoring': object names take no underscore)."""
    return {
        f"keelson-{name.split('.', 1)[0].replace('_', '-')}": {"groups": document["groups"]}
        for name, document in rule_files.items()
    }


def app_service_monitor_spec(app: ScrapedApp, port: str, path: str) -> dict[str, Any]:
    """Return the ServiceMonitor spec of one app: its Service's port, its own interval, and the
    labels the app rules aggregate by (job 'keelson-app/<namespace>/<app>', app, component)."""
    return {
        "namespaceSelector": {"matchNames": [app.namespace]},
        "selector": {"matchLabels": {"app.kubernetes.io/name": app.name}},
        "endpoints": [
            {
                "port": port,
                "path": path,
                "interval": app.scrape_interval,
                "relabelings": [_job(app_job_name(app)), *APP_LABELS_RELABELING],
            }
        ],
    }


def component_service_monitor_spec(
    name: str, namespace: str, port: str, selector: dict[str, str] | None = None, path: str = "/metrics"
) -> dict[str, Any]:
    """Return the ServiceMonitor spec of a platform component (job '<name>', as the rules expect)."""
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": selector or {"app.kubernetes.io/name": name}},
        "endpoints": [{"port": port, "path": path, "relabelings": [_job(name)]}],
    }


def cluster_service_monitor_specs() -> dict[str, dict[str, Any]]:
    """Return the ServiceMonitors of the cluster sources the rules read: the API server (job
    'apiserver') through the default/kubernetes Service, the kubelet (and its cAdvisor endpoint,
    job 'cadvisor') through the kube-system/kubelet Service the operator maintains, and
    kube-state-metrics wherever it runs."""
    kubelet_endpoint = {
        "port": "https-metrics",
        "scheme": "https",
        "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "tlsConfig": {"caFile": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
        "honorLabels": True,
    }
    return {
        "keelson-apiserver": {
            "namespaceSelector": {"matchNames": ["default"]},
            "selector": {"matchLabels": {"component": "apiserver", "provider": "kubernetes"}},
            "endpoints": [
                {
                    "port": "https",
                    "scheme": "https",
                    "bearerTokenFile": kubelet_endpoint["bearerTokenFile"],
                    "tlsConfig": {**kubelet_endpoint["tlsConfig"], "serverName": "kubernetes"},
                    "relabelings": [_job("apiserver")],
                }
            ],
        },
        "keelson-kubelet": {
            "namespaceSelector": {"matchNames": ["kube-system"]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "kubelet"}},
            "endpoints": [
                {**kubelet_endpoint, "path": "/metrics", "relabelings": [_job("kubelet")]},
                {**kubelet_endpoint, "path": "/metrics/cadvisor", "relabelings": [_job("cadvisor")]},
            ],
        },
        "keelson-kube-state-metrics": {
            "namespaceSelector": {"any": True},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "kube-state-metrics"}},
            "endpoints": [{"port": "http-metrics", "honorLabels": True, "relabelings": [_job("kube-state-metrics")]}],
        },
    }


def node_exporter_pod_monitor_spec(namespace: str) -> dict[str, Any]:
    """Return the PodMonitor spec of the node-exporter pods in 'namespace': job 'node-exporter', and
    'instance' and 'node' set to the node's name, as the raw config's job does."""
    node_name = {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"]}
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": {"app.kubernetes.io/name": "node-exporter"}},
        "podMetricsEndpoints": [
            {
                "port": "metrics",
                "relabelings": [_job("node-exporter"), {**node_name, "targetLabel": "instance"}, {**node_name, "targetLabel": "node"}],
            }
        ],
    }


def prometheus_spec(
    *,
    image: str,
    replicas: int,
    retention: str,
    resources: dict[str, Any],
    pod_labels: dict[str, str],
    security_context: dict[str, Any],
    monitoring_namespace: str,
    environment: str,
    storage_class: str | None,
    storage_size: str,
    placement: dict[str, Any] | None = None,
    remote_write: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return the spec of the `Prometheus` resource the operator turns into a StatefulSet
    ('remote_write': remote_write.operator_remote_write(), credentials as Secret key references)."""
    spec: dict[str, Any] = {
        "image": image,
        "version": image_version(image),
        "replicas": replicas,
        "retention": retention,
        "resources": resources,
        "serviceAccountName": "prometheus",
        "podMetadata": {"labels": pod_labels},
        "securityContext": security_context,
        **(placement or {}),
        "externalLabels": {"environment": environment},
        "ruleSelector": {"matchLabels": SELECTED_BY},
        "serviceMonitorSelector": {"matchLabels": SELECTED_BY},
        "serviceMonitorNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}},
        "podMonitorSelector": {"matchLabels": SELECTED_BY},
        "podMonitorNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}},
        "alerting": {
            "alertmanagers": [
                {"namespace": monitoring_namespace, "name": "alertmanager", "port": "web", "apiVersion": "v2"}
            ]
        },
    }
    if remote_write:
        spec["remoteWrite"] = remote_write
    if storage_class is not None:
        spec["storage"] = {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": storage_size}},
                }
            }
        }
    return spec

