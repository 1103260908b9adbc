"""MonitoringStack: Prometheus, Alertmanager and Grafana in a governed namespace.

Everything they run on is built from data in this package: rule files (rules/), the Prometheus
and Alertmanager configurations (prometheus_config.py, alertmanager.py) and the dashboards
(dashboards.py). Every workload is hardened like a HardenedApp (builders/workload.py), has its
own NetworkPolicy, and a PodDisruptionBudget when it runs more than one replica.

Two exporters feed the cluster's state to Prometheus, each a toggle that is on by default:
kube-state-metrics (kube_state_metrics.py) beside Prometheus, and node-exporter (node_exporter.py),
a DaemonSet in a privileged namespace of its own because it shares the nodes' PID and network
namespaces.

This module holds the component and its Args; each workload, with its spec, lives in a module of
its own that the component mixes in: prometheus_stack.py, alertmanager_stack.py, grafana.py,
kube_state_metrics.py and node_exporter.py.
"""

from __future__ import annotations

import pulumi
from pydantic import Field, model_validator

from ..footprint import Footprint, total
from ..models import DnsLabel, KeelsonModel, NamespaceSpec, check_limit_range_ratios
from ..network_models import IngressPolicy, NetworkPeers
from ..scheduling import SpreadPolicy
from .alertmanager import routing_warnings
from .alertmanager_stack import AlertmanagerMixin, AlertmanagerSpec
from .grafana import GrafanaMixin, GrafanaSpec
from .kube_state_metrics import KubeStateMetricsMixin, KubeStateMetricsSpec
from .models import AlertChannels, ScrapedApp, SloObjective
from .node_exporter import NodeExporterMixin, NodeExporterSpec
from .prometheus_config import ALERTMANAGER_PORT, PROMETHEUS_PORT
from .prometheus_stack import PrometheusMixin, PrometheusSpec


class MonitoringStackArgs(KeelsonModel):
    """Arguments of MonitoringStack.

    Secure by default: every workload runs hardened (non-root, read-only root filesystem, no
    capabilities); only Prometheus gets a Kubernetes API token, because service discovery needs
    one, and its ClusterRole can only read. Alert credentials live in a Secret mounted as files,
    never in a ConfigMap, an export or a log line.
    """

    namespace: NamespaceSpec = NamespaceSpec(name="monitoring")
    """The governed namespace of the monitoring workloads. Default: 'monitoring', Pod Security
    'restricted'."""
    environment: DnsLabel = "production"
    """Added to every alert as the 'environment' external label. Default: 'production'; in a stack,
    keelson:environment sets it."""
    prometheus: PrometheusSpec = PrometheusSpec()
    """The Prometheus servers. Default: one server keeping 7 days of samples on an emptyDir (see
    PrometheusSpec)."""
    alertmanager: AlertmanagerSpec = AlertmanagerSpec()
    """The Alertmanager cluster. Default: one replica (see AlertmanagerSpec)."""
    grafana: GrafanaSpec = GrafanaSpec()
    """The Grafana server. Default: cluster-internal, without an Ingress (see GrafanaSpec)."""
    kube_state_metrics: KubeStateMetricsSpec = KubeStateMetricsSpec()
    """kube-state-metrics, the objects' state as series. Default: on, one replica beside Prometheus,
    listing and watching only what it reports (see KubeStateMetricsSpec)."""
    node_exporter: NodeExporterSpec = NodeExporterSpec()
    """node-exporter on every node. Default: on, in its own 'node-exporter' namespace, Pod Security
    'privileged' (see NodeExporterSpec)."""
    channels: AlertChannels = AlertChannels()
    """Where alerts go; a channel left out gets no receiver. Default: none, so every alert goes to the
    'null' receiver and MonitoringStack warns that nobody is notified; in a stack, keelson:alerting sets it."""
    slo: list[SloObjective] = Field(default=[])
    """Availability and latency objectives; each yields burn-rate alerts. Default: none, because an
    objective is a promise about one app that its team makes."""
    apps: list[ScrapedApp] = Field(default=[])
    """Apps scraped in jobs of their own, at their own interval. Default: none; in a stack, one per
    entry of keelson:apps."""
    ingress_policy: IngressPolicy = IngressPolicy()
    """Edge policy of the Grafana Ingress. Default: IngressPolicy's; in a stack, keelson:ingress sets it."""
    network: NetworkPeers = NetworkPeers()
    """Where cluster DNS, the API server and the cluster's networks are. Default: NetworkPeers'
    (the RFC 1918 ranges); in a stack, keelson:network sets it."""
    spread: SpreadPolicy = SpreadPolicy()
    """How Prometheus and Alertmanager replicas spread across zones and nodes. Default: soft (see
    SpreadPolicy); in a stack, keelson:scheduling.spread sets it."""
    priority_class_name: DnsLabel | None = None
    """PriorityClass of every monitoring pod (the program sets PriorityClasses.platform). Default:
    none (priority 0, like the apps), because the class must exist before any pod names it."""
    kubelet_tls_verify: bool = True
    """Verify kubelet certificates when scraping them. Default: true; false is the escape hatch for
    kind/minikube clusters with self-signed kubelets."""
    operator_mode: bool = False
    """Where prometheus-operator runs: emit a Prometheus resource, PrometheusRules and ServiceMonitors
    (from the same rule data) instead of a Prometheus StatefulSet with a raw config. Default: false,
    because the plain StatefulSet needs nothing installed in the cluster."""
    log_alerts_namespace: DnsLabel | None = None
    """Namespace of the Loki ruler whose log alerts Alertmanager accepts. Default: none, so no log
    alert is admitted; in a stack, keelson:logging.namespace.name sets it."""
    app_metrics: dict[DnsLabel, tuple[str, str]] = Field(default={})
    """{app: (Service port name, metrics path)} for the operator-mode ServiceMonitors. Default: none,
    every app at ('http', '/metrics'); in a stack, derived from keelson:apps."""

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
        workloads = [(owner, getattr(self, owner).resources) for owner in ("prometheus", "alertmanager", "grafana")]
        if self.kube_state_metrics.enabled:
            workloads.append(("kubeStateMetrics", self.kube_state_metrics.resources))
        check_limit_range_ratios(workloads, self.namespace.limit_range.max_limit_request_ratio)
        if self.node_exporter.enabled:
            check_limit_range_ratios(
                [("nodeExporter", self.node_exporter.resources)],
                self.node_exporter.namespace.limit_range.max_limit_request_ratio,
            )
        return self

    @model_validator(mode="after")
    def _node_exporter_namespace_admits_it(self) -> MonitoringStackArgs:
        if not self.node_exporter.enabled:
            return self
        enforce = self.node_exporter.namespace.pod_security.enforce
        if enforce != "privileged":
            raise ValueError(
                f"'nodeExporter.namespace.podSecurity.enforce' ({enforce}) must be 'privileged': node-exporter shares "
                "the node's PID and network namespaces and mounts / and /sys from it, which 'baseline' and "
                "'restricted' reject"
            )
        if self.node_exporter.namespace.name == self.namespace.name:
            raise ValueError(
                f"'nodeExporter.namespace.name' ({self.node_exporter.namespace.name}) must differ from 'namespace.name' "
                f"({self.namespace.name}): node-exporter's namespace admits privileged pods, so Prometheus keeps one "
                "of its own"
            )
        return self


class MonitoringStack(PrometheusMixin, AlertmanagerMixin, GrafanaMixin, KubeStateMetricsMixin, NodeExporterMixin):
    """Prometheus (StatefulSet), Alertmanager (clustered StatefulSet) and Grafana (Deployment)
    with their configuration, rules, dashboards, RBAC, Services, NetworkPolicies and PDBs; and the
    kube-state-metrics Deployment and node-exporter DaemonSet they scrape, unless turned off.

    Outputs:
        namespace: the monitoring namespace.
        node_exporter_namespace: node-exporter's namespace (None when it is off).
        prometheus_url / alertmanager_url: in-cluster URLs.
        grafana_url: public URL when Grafana has an Ingress, else its in-cluster URL.
        grafana_admin_password: the generated admin password (a Pulumi secret).
    """

    namespace: pulumi.Output[str]
    node_exporter_namespace: pulumi.Output[str] | None
    prometheus_url: pulumi.Output[str]
    alertmanager_url: pulumi.Output[str]
    grafana_url: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:MonitoringStack", name, args.namespace, args.network, opts)
        self.args = args
        namespace = self._namespace
        for message in routing_warnings(args.channels):
            pulumi.log.warn(f"alert routing: {message}", resource=self)

        self._footprints: dict[str, Footprint] = {
            "prometheus": self._prometheus(name, args),
            "alertmanager": self._alertmanager(name, args),
            "grafana": self._grafana(name, args),
            "kube-state-metrics": self._kube_state_metrics(name, args),
            "node-exporter": self._node_exporter(name, args),
        }
        self.footprint = total(list(self._footprints.values()))
        """What Prometheus, Alertmanager, Grafana and the exporters request and may use, all replicas
        together (node-exporter counted for one node)."""
        suffix = f".{namespace}.svc.cluster.local"
        self.namespace = self.governed_namespace.name
        self.node_exporter_namespace = self.node_exporter_governed_namespace.name if args.node_exporter.enabled else None
        prometheus_service = "prometheus-operated" if args.operator_mode else "prometheus"
        self.prometheus_url = pulumi.Output.from_input(f"http://{prometheus_service}{suffix}:{PROMETHEUS_PORT}")
        self.alertmanager_url = pulumi.Output.from_input(f"http://alertmanager{suffix}:{ALERTMANAGER_PORT}")
        self.grafana_url = pulumi.Output.from_input(
            f"https://{args.grafana.ingress.host}{args.grafana.ingress.path}" if args.grafana.ingress else f"http://grafana{suffix}"
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "node_exporter_namespace": self.node_exporter_namespace,
                "prometheus_url": self.prometheus_url,
                "alertmanager_url": self.alertmanager_url,
                "grafana_url": self.grafana_url,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )
