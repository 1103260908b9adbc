"""The Prometheus server configuration: Kubernetes service discovery, rule files and Alertmanager.

    prometheus_config(apps, ...)   -> the in-cluster prometheus.yml as a dict
    self_monitoring_config(port)   -> the same rules, scraping only 127.0.0.1:<port> (live tests)
    prometheus_args(...)           -> the command-line flags (retention is a flag, not config)

Scrape jobs (Ref: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#kubernetes_sd_config):
- apiserver, kubelet, cadvisor: the control plane and nodes, over TLS with the pod's ServiceAccount
  token; the ClusterRole needs get on nodes/metrics and list/watch on nodes, endpoints, pods,
  services (no nodes/proxy: the kubelet is scraped directly, not through the API server proxy);
- kube-state-metrics: its Service, with honor_labels so its 'namespace'/'pod' labels (those of the
  objects it describes) are kept, not renamed to exported_*;
- node-exporter: its DaemonSet's pods in their own namespace, one target per node, with the
  'instance' and 'node' labels set to the node's name (stable across pod restarts);
- kubernetes-pods, kubernetes-service-endpoints: anything annotated prometheus.io/scrape=true,
  except Keelson apps (they carry keelson.dev/scrape-interval and have jobs of their own);
- prometheus, alertmanager, grafana: the MonitoringStack's own pods, by name label and port;
- keelson-app/<namespace>/<app>: one job per app at its own interval, selecting pods by namespace
  and app.kubernetes.io/name and labelling them namespace/app/component/pod (the convention the
  rules rely on, see components/monitoring/rules/helpers.py).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .models import ScrapedApp
from .remote_write import SECRETS_DIR as REMOTE_WRITE_SECRETS_DIR
from .remote_write import RemoteWriteTarget, remote_write_config
from .rules.helpers import APP_JOB_PREFIX

MONITORING_NAMESPACE = "monitoring"
NODE_EXPORTER_NAMESPACE = "node-exporter"
NODE_EXPORTER_PORT = 9100
RULES_DIR = "/etc/prometheus/rules"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
GRAFANA_PORT = 3000
SCRAPE_INTERVAL_ANNOTATION = "keelson.dev/scrape-interval"
"""HardenedApp pods carry it; its presence routes the pod to its app's own job."""

_NAME_LABEL = "__meta_kubernetes_pod_label_app_kubernetes_io_name"
_COMPONENT_LABEL = "__meta_kubernetes_pod_label_app_kubernetes_io_component"
_INTERVAL_ANNOTATION = "__meta_kubernetes_pod_annotation_keelson_dev_scrape_interval"


def _keep(source: str | list[str], regex: str) -> dict[str, Any]:
    return {"source_labels": [source] if isinstance(source, str) else source, "action": "keep", "regex": regex}


def _drop(source: str | list[str], regex: str) -> dict[str, Any]:
    return {"source_labels": [source] if isinstance(source, str) else source, "action": "drop", "regex": regex}


def _copy(source: str, target: str) -> dict[str, Any]:
    return {"source_labels": [source], "target_label": target}


def _annotated_target(kind: str) -> list[dict[str, Any]]:
    """Relabelings honouring the prometheus.io/{scrape,scheme,path,port} annotations of a pod or service."""
    prefix = f"__meta_kubernetes_{kind}_annotation_prometheus_io"
    return [
        _keep(f"{prefix}_scrape", "true"),
        {"source_labels": [f"{prefix}_scheme"], "regex": "(https?)", "target_label": "__scheme__"},
        {"source_labels": [f"{prefix}_path"], "regex": "(.+)", "target_label": "__metrics_path__"},
        # Works for 'ip:port' and '[ipv6]:port' alike: keep the host, swap the port.
        {
            "source_labels": ["__address__", f"{prefix}_port"],
            "regex": r"(.+?)(?::\d+)?;(\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
    ]


_RUNNING_PODS_ONLY = _drop("__meta_kubernetes_pod_phase", "Pending|Succeeded|Failed|Unknown")


def _tls_with_service_account(service_account_dir: str, verify: bool) -> dict[str, Any]:
    tls: dict[str, Any] = {"ca_file": f"{service_account_dir}/ca.crt"}
    if not verify:
        tls["insecure_skip_verify"] = True
    return {
        "scheme": "https",
        "tls_config": tls,
        "authorization": {"credentials_file": f"{service_account_dir}/token"},
    }


def _cluster_jobs(service_account_dir: str, kubelet_tls_verify: bool) -> list[dict[str, Any]]:
    node_labels = [_copy("__meta_kubernetes_node_name", "node")]
    return [
        {
            "job_name": "apiserver",
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": ["default"]}}],
            **_tls_with_service_account(service_account_dir, verify=True),
            "relabel_configs": [
                _keep(
                    [
                        "__meta_kubernetes_namespace",
                        "__meta_kubernetes_service_name",
                        "__meta_kubernetes_endpoint_port_name",
                    ],
                    "default;kubernetes;https",
                )
            ],
        },
        {
            "job_name": "kubelet",
            "kubernetes_sd_configs": [{"role": "node"}],
            **_tls_with_service_account(service_account_dir, verify=kubelet_tls_verify),
            "relabel_configs": node_labels,
        },
        {
            "job_name": "cadvisor",
            "kubernetes_sd_configs": [{"role": "node"}],
            "metrics_path": "/metrics/cadvisor",
            **_tls_with_service_account(service_account_dir, verify=kubelet_tls_verify),
            "relabel_configs": node_labels,
        },
        {
            "job_name": "kube-state-metrics",
            "honor_labels": True,
            "kubernetes_sd_configs": [{"role": "endpoints"}],
            "relabel_configs": [
                _keep("__meta_kubernetes_service_label_app_kubernetes_io_name", "kube-state-metrics"),
                _keep("__meta_kubernetes_endpoint_port_name", "http|http-metrics"),
            ],
        },
    ]


def node_exporter_job(namespace: str) -> dict[str, Any]:
    """Return the 'node-exporter' job: the running node-exporter pods of 'namespace', labelled by node."""
    return {
        "job_name": "node-exporter",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            _keep(_NAME_LABEL, "node-exporter"),
            _keep("__meta_kubernetes_pod_container_port_number", str(NODE_EXPORTER_PORT)),
            _RUNNING_PODS_ONLY,
            _copy("__meta_kubernetes_pod_node_name", "instance"),
            _copy("__meta_kubernetes_pod_node_name", "node"),
        ],
    }


def _annotated_jobs(monitoring_namespace: str) -> list[dict[str, Any]]:
    own_pods = _drop(
        ["__meta_kubernetes_namespace", _NAME_LABEL], f"{monitoring_namespace};(prometheus|alertmanager|grafana)"
    )
    return [
        {
            "job_name": "kubernetes-pods",
            # Exporters such as cert-manager label series with the namespace of the object they
            # describe; honouring it keeps 'namespace' meaningful instead of 'exported_namespace'.
            "honor_labels": True,
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": [
                *_annotated_target("pod"),
                _drop(_INTERVAL_ANNOTATION, ".+"),
                own_pods,
                _RUNNING_PODS_ONLY,
                _copy("__meta_kubernetes_namespace", "namespace"),
                _copy("__meta_kubernetes_pod_name", "pod"),
                _copy(_NAME_LABEL, "app"),
            ],
        },
        {
            "job_name": "kubernetes-service-endpoints",
            "honor_labels": True,
            "kubernetes_sd_configs": [{"role": "endpoints"}],
            "relabel_configs": [
                *_annotated_target("service"),
                _drop(_INTERVAL_ANNOTATION, ".+"),
                _drop("__meta_kubernetes_service_label_app_kubernetes_io_name", "kube-state-metrics"),
                own_pods,
                _copy("__meta_kubernetes_namespace", "namespace"),
                _copy("__meta_kubernetes_service_name", "service"),
                _copy("__meta_kubernetes_pod_name", "pod"),
            ],
        },
    ]


def _component_job(name: str, port: int, monitoring_namespace: str) -> dict[str, Any]:
    return {
        "job_name": name,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [monitoring_namespace]}}],
        "relabel_configs": [
            _keep(_NAME_LABEL, name),
            _keep("__meta_kubernetes_pod_container_port_number", str(port)),
            _RUNNING_PODS_ONLY,
            _copy("__meta_kubernetes_namespace", "namespace"),
            _copy("__meta_kubernetes_pod_name", "pod"),
        ],
    }


def _scrape_timeout(interval: str) -> str:
    """The interval itself, capped at 10s: a timeout may not exceed the interval."""
    seconds = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    unit = interval.lstrip("0123456789")
    return interval if int(interval[: -len(unit)]) * seconds[unit] <= 10 else "10s"


def app_job_name(app: ScrapedApp) -> str:
    """Return the scrape job name of an app; the rules select apps by its prefix."""
    return f"{APP_JOB_PREFIX}{app.namespace}/{app.name}"


def app_scrape_job(app: ScrapedApp) -> dict[str, Any]:
    """Return the scrape job of one app: its pods, at its own interval, with the rule labels."""
    return {
        "job_name": app_job_name(app),
        "scrape_interval": app.scrape_interval,
        "scrape_timeout": _scrape_timeout(app.scrape_interval),
        "kubernetes_sd_configs": [
            {
                "role": "pod",
                "namespaces": {"names": [app.namespace]},
                "selectors": [{"role": "pod", "label": f"app.kubernetes.io/name={app.name}"}],
            }
        ],
        "relabel_configs": [
            _keep(_NAME_LABEL, app.name),
            *_annotated_target("pod"),
            _RUNNING_PODS_ONLY,
            _copy("__meta_kubernetes_namespace", "namespace"),
            _copy("__meta_kubernetes_pod_name", "pod"),
            _copy(_NAME_LABEL, "app"),
            _copy(_COMPONENT_LABEL, "component"),
        ],
    }


def _global(
    scrape_interval: str, evaluation_interval: str, external_labels: Mapping[str, str] | None
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "scrape_interval": scrape_interval,
        "scrape_timeout": _scrape_timeout(scrape_interval),
        "evaluation_interval": evaluation_interval,
    }
    if external_labels:
        settings["external_labels"] = dict(external_labels)
    return settings


def prometheus_config(
    apps: Sequence[ScrapedApp] = (),
    *,
    monitoring_namespace: str = MONITORING_NAMESPACE,
    rules_dir: str = RULES_DIR,
    service_account_dir: str = SERVICE_ACCOUNT_DIR,
    external_labels: Mapping[str, str] | None = None,
    scrape_interval: str = "30s",
    evaluation_interval: str = "30s",
    kubelet_tls_verify: bool = True,
    remote_write: Sequence[RemoteWriteTarget] = (),
    remote_write_secrets_dir: str = REMOTE_WRITE_SECRETS_DIR,
    node_exporter_namespace: str | None = NODE_EXPORTER_NAMESPACE,
) -> dict[str, Any]:
    """Return the in-cluster Prometheus configuration.

    Args:
        apps: the apps to scrape in jobs of their own (see ScrapedApp.from_intervals).
        monitoring_namespace: where Prometheus, Alertmanager and Grafana run. Default: 'monitoring'.
        rules_dir: where the rule files (components.monitoring.rules.render_rule_files) are mounted;
            every '*.yaml' there is loaded. Default: /etc/prometheus/rules.
        service_account_dir: the mounted ServiceAccount token and CA, used to scrape the API
            server and kubelets. Default: the path Kubernetes mounts it at.
        external_labels: labels added to every alert and remote-written series (e.g. cluster).
        scrape_interval / evaluation_interval: defaults for jobs without their own. Default: 30s,
            because cluster metrics change slowly and apps have their own, faster jobs.
        kubelet_tls_verify: verify the kubelet's serving certificate against the cluster CA.
            Default: True, because a scrape that skips verification sends the ServiceAccount
            token to whoever answers. Escape hatch for clusters whose kubelets use self-signed
            serving certificates (kind, minikube): False.
        remote_write: endpoints samples are copied to (see remote_write.py). Default: none.
        remote_write_secrets_dir: where their credential files are mounted. Default: the path
            the MonitoringStack mounts the remote-write Secret at.
        node_exporter_namespace: where the node-exporter DaemonSet runs, scraped in the
            'node-exporter' job. Default: 'node-exporter'; None leaves the job out (no DaemonSet).

    Alertmanager replicas are discovered as pods, so Prometheus sends every alert to each of them
    (what a clustered Alertmanager expects) rather than through a load-balanced Service.
    Retention is not configuration: pass it with prometheus_args().
    """
    names = [app_job_name(app) for app in apps]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each app may be scraped once; repeated: {', '.join(repeated)}")
    config: dict[str, Any] = {
        "global": _global(scrape_interval, evaluation_interval, external_labels),
        "rule_files": [f"{rules_dir}/*.yaml"],
        "alerting": {
            "alertmanagers": [
                {
                    "api_version": "v2",
                    "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [monitoring_namespace]}}],
                    "relabel_configs": [
                        _keep(_NAME_LABEL, "alertmanager"),
                        _keep("__meta_kubernetes_pod_container_port_number", str(ALERTMANAGER_PORT)),
                        _RUNNING_PODS_ONLY,
                    ],
                }
            ]
        },
        "scrape_configs": [
            *_cluster_jobs(service_account_dir, kubelet_tls_verify),
            *([node_exporter_job(node_exporter_namespace)] if node_exporter_namespace else []),
            *_annotated_jobs(monitoring_namespace),
            _component_job("prometheus", PROMETHEUS_PORT, monitoring_namespace),
            _component_job("alertmanager", ALERTMANAGER_PORT, monitoring_namespace),
            _component_job("grafana", GRAFANA_PORT, monitoring_namespace),
            *[app_scrape_job(app) for app in apps],
        ],
    }
    if remote_write:
        config["remote_write"] = remote_write_config(remote_write, remote_write_secrets_dir)
    return config


def self_monitoring_config(
    port: int,
    *,
    rules_dir: str = RULES_DIR,
    scrape_interval: str = "5s",
    evaluation_interval: str = "5s",
) -> dict[str, Any]:
    """Return a configuration with the same rule files and evaluation but a single target, the
    server itself at 127.0.0.1:<port>: no Kubernetes, no Alertmanager. Used by the live test.
    """
    return {
        "global": _global(scrape_interval, evaluation_interval, None),
        "rule_files": [f"{rules_dir}/*.yaml"],
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
    }


AUTO_RELOAD_INTERVAL = "30s"
"""How often Prometheus checks its config and rule files for a change. A mounted ConfigMap's update
reaches the pod within about a minute (the kubelet's sync period), so a change is live within 90 s."""


def prometheus_args(
    config_file: str,
    storage_path: str,
    retention: str,
    listen_address: str = f"0.0.0.0:{PROMETHEUS_PORT}",
    auto_reload_interval: str = AUTO_RELOAD_INTERVAL,
) -> list[str]:
    """Return the prometheus command-line flags.

    'retention' (e.g. '7d' in staging, '15d' in production) is a flag because Prometheus has no
    configuration key for it. Prometheus re-reads its config and rule files when their checksum
    changes ('auto-reload-config', checked every AUTO_RELOAD_INTERVAL), so a rule or scrape change
    reaches it without a restart and without '--web.enable-lifecycle', which would also let anyone
    who reaches the web port shut it down. A file that fails to load leaves the running config in
    place and sets prometheus_config_last_reload_successful to 0, which an alert watches.
    """
    return [
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage_path}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address={listen_address}",
        "--enable-feature=auto-reload-config",
        f"--config.auto-reload-interval={auto_reload_interval}",
    ]
