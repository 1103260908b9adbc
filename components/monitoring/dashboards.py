"""Grafana dashboards as code, built with the Grafana Foundation SDK.

Three dashboards, provisioned into Grafana from ConfigMaps by the MonitoringStack:

- App overview: requests/s, error rate %, p99 latency, active pods, CPU %, memory, request rate
  by endpoint and the SLO error budget left, per app of the selected namespace;
- Platform: Prometheus, Alertmanager and logging (Fluent Bit, Loki) health;
- Cluster: the API server, the kubelets and the nodes, the signals of rules/kubernetes.py and
  rules/nodes.py.

Queries use the recording rules of components/monitoring/rules where one exists, so a panel and
the alert on the same signal agree. Ref: https://grafana.github.io/grafana-foundation-sdk/
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROMETHEUS_DATASOURCE_UID = "keelson-prometheus"
"""The uid the provisioned Prometheus datasource gets, so dashboards never depend on a default."""

PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_DATASOURCE_UID)
APPS = 'namespace="$namespace"'


def _query(expr: str, legend: str = "{{app}}") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id("A").datasource(PROMETHEUS)


def _timeseries(title: str, unit: str, expr: str, legend: str = "{{app}}", width: int = 12) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .datasource(PROMETHEUS)
        .with_target(_query(expr, legend))
        .height(8)
        .span(width)
    )


def _stat(title: str, unit: str, expr: str, legend: str = "{{app}}") -> stat.Panel:
    return stat.Panel().title(title).unit(unit).datasource(PROMETHEUS).with_target(_query(expr, legend)).height(5).span(6)


def app_overview() -> dashboard.Dashboard:
    """Return the App overview dashboard builder."""
    namespace = (
        dashboard.QueryVariable("namespace")
        .label("Namespace")
        .datasource(PROMETHEUS)
        .query("label_values(namespace_app_component:up:avg, namespace)")
    )
    return (
        dashboard.Dashboard("Keelson / App overview")
        .uid("keelson-app-overview")
        .tags(["keelson", "apps"])
        .refresh("30s")
        .time("now-3h", "now")
        .with_variable(namespace)
        .with_row(dashboard.Row("Golden signals"))
        .with_panel(_stat("Requests / s", "reqps", f"sum by (app) (namespace_app:http_requests:rate5m{{{APPS}}})"))
        .with_panel(
            _stat("Error rate", "percent", f"100 * namespace_app:http_requests_errors:ratio_rate5m{{{APPS}}}")
        )
        .with_panel(_stat("p99 latency", "s", f"namespace_app:http_request_duration_seconds:p99_5m{{{APPS}}}"))
        .with_panel(_stat("Active pods", "short", f'sum by (app) (up{{job=~"keelson-app/.+", {APPS}}})'))
        .with_row(dashboard.Row("Resources"))
        .with_panel(
            _timeseries(
                "CPU (% of limit)",
                "percent",
                f"100 * max by (container) (namespace_pod_container:container_cpu_usage:ratio_limit{{{APPS}}})",
                "{{container}}",
            )
        )
        .with_panel(
            _timeseries("Memory working set", "bytes", f"namespace_app:container_memory_working_set_bytes:sum{{{APPS}}}")
        )
        .with_row(dashboard.Row("Traffic and objectives"))
        .with_panel(
            _timeseries(
                "Request rate by endpoint",
                "reqps",
                f"namespace_app_path:http_requests:rate5m{{{APPS}}}",
                "{{app}} {{path}}",
            )
        )
        .with_panel(
            _timeseries(
                "SLO error budget left (30d)",
                "percentunit",
                f"namespace_app:slo_availability_error_budget:remaining_30d{{{APPS}}}",
                "{{app}} availability",
            )
        )
    )


def platform() -> dashboard.Dashboard:
    """Return the Platform dashboard builder: the health of monitoring and logging themselves."""
    return (
        dashboard.Dashboard("Keelson / Platform")
        .uid("keelson-platform")
        .tags(["keelson", "platform"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_row(dashboard.Row("Prometheus"))
        .with_panel(_stat("Targets up", "percentunit", "avg(up)", "all targets"))
        .with_panel(_stat("Head series", "short", 'sum(prometheus_tsdb_head_series{job="prometheus"})', "series"))
        .with_panel(
            _timeseries(
                "Rule evaluation failures / s",
                "short",
                'sum by (pod) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[5m]))',
                "{{pod}}",
            )
        )
        .with_panel(
            _stat(
                "Scrape jobs discovering nothing",
                "short",
                'count(max by (config) (prometheus_sd_discovered_targets{job="prometheus", name="scrape"}) == 0) or vector(0)',
                "jobs",
            )
        )
        .with_panel(
            _stat(
                "Alertmanagers discovered",
                "short",
                'min(prometheus_notifications_alertmanagers_discovered{job="prometheus"})',
                "least of all servers",
            )
        )
        .with_row(dashboard.Row("Alertmanager"))
        .with_panel(
            _stat(
                "Config reload OK",
                "bool",
                'min(alertmanager_config_last_reload_successful{job="alertmanager"})',
                "all replicas",
            )
        )
        .with_panel(
            _timeseries(
                "Failed notifications / s",
                "short",
                'sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}[5m]))',
                "{{integration}}",
            )
        )
        .with_panel(
            _timeseries(
                "Cluster members seen",
                "short",
                'max by (pod) (alertmanager_cluster_members{job="alertmanager"})',
                "{{pod}}",
            )
        )
        .with_row(dashboard.Row("Logging"))
        .with_panel(
            _timeseries(
                "Log collector output errors / s",
                "short",
                "sum by (pod) (rate(fluentbit_output_errors_total[5m]))",
                "{{pod}}",
            )
        )
        .with_panel(
            _timeseries(
                "Log store ingested lines / s",
                "short",
                "sum(rate(loki_distributor_lines_received_total[5m]))",
                "lines",
            )
        )
    )


def cluster() -> dashboard.Dashboard:
    """Return the Cluster dashboard builder: API server, kubelets and nodes (kubernetes-mixin's signals)."""
    return (
        dashboard.Dashboard("Keelson / Cluster")
        .uid("keelson-cluster")
        .tags(["keelson", "cluster"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_row(dashboard.Row("API server"))
        .with_panel(
            _stat("5xx ratio", "percentunit", "max(job:apiserver_request_errors:ratio_rate5m)", "API server")
        )
        .with_panel(
            _stat(
                "Shortest client certificate life (p1)",
                "s",
                "min(job:apiserver_client_certificate_expiration_seconds:p1_5m)",
                "API server",
            )
        )
        .with_panel(
            _timeseries("p99 latency by verb", "s", "job_verb:apiserver_request_duration_seconds:p99_5m", "{{verb}}")
        )
        .with_row(dashboard.Row("Kubelets"))
        .with_panel(_stat("Kubelets up", "short", 'sum(up{job="kubelet"})', "kubelets"))
        .with_panel(
            _timeseries("PLEG relist p99", "s", "node:kubelet_pleg_relist_duration_seconds:p99_5m", "{{node}}", width=9)
        )
        .with_panel(
            _timeseries("Pod start p99", "s", "node:kubelet_pod_start_sli_duration_seconds:p99_5m", "{{node}}", width=9)
        )
        .with_row(dashboard.Row("Nodes"))
        .with_panel(
            _stat(
                "Nodes under pressure or not Ready",
                "short",
                'count(max by (node, condition) (kube_node_status_condition{job="kube-state-metrics", '
                'condition=~"MemoryPressure|DiskPressure|PIDPressure", status="true"}) == 1 or max by (node) '
                '(kube_node_status_condition{job="kube-state-metrics", condition="Ready", status="true"}) == 0) '
                "or vector(0)",
                "nodes",
            )
        )
        .with_panel(
            _timeseries(
                "Filesystem space left",
                "percentunit",
                "instance_device_mountpoint:node_filesystem_avail_bytes:ratio",
                "{{instance}} {{mountpoint}}",
                width=9,
            )
        )
        .with_panel(
            _timeseries(
                "Clock offset", "s", 'node_timex_offset_seconds{job="node-exporter"}', "{{instance}}", width=9
            )
        )
    )


DASHBOARDS = {"app-overview.json": app_overview, "platform.json": platform, "cluster.json": cluster}


def dashboard_json(builder: dashboard.Dashboard) -> dict[str, Any]:
    """Return the dashboard as the JSON document Grafana provisions."""
    return json.loads(JSONEncoder(sort_keys=True, indent=2).encode(builder.build()))


def render_dashboards() -> dict[str, str]:
    """Return {file name: dashboard JSON text} for the dashboards ConfigMap."""
    return {name: json.dumps(dashboard_json(build()), indent=2, sort_keys=True) for name, build in DASHBOARDS.items()}
