"""LoggingStack: a Fluent Bit DaemonSet shipping every container's logs to Loki, in a governed namespace.

Everything it runs on is built from data in this package: the collector pipeline (fluent_bit.py and
normalize.lua), the Loki configuration (loki_config.py) and the log-based alerts (rules.py). Loki
is hardened like a HardenedApp (builders/workload.py); the collector is hardened as far as reading
the node's log files allows (see FluentBitSpec). Each workload has its own NetworkPolicy.

This module holds the component, its Args and Loki; the collector, with its namespace's spec, lives
in collector.py, which the component mixes in.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import model_validator

from ..builders import network_policies
from ..builders.labels import scrape_annotations, selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import pod_footprint
from ..models import DnsLabel, KeelsonModel, NamespaceSpec, check_limit_range_ratios
from ..network_models import NetworkPeers
from ..scheduling import SpreadPolicy
from ..platform import component_labels, config_digest
from .collector import CollectorMixin, CollectorNamespaceSpec
from .loki_config import CONFIG_PATH, DATA_DIR, HTTP_PORT, RULES_DIR, TENANT, loki_args, loki_config
from .models import (
    ElasticsearchOutput,
    FluentBitSpec,
    LogAlerts,
    LokiSpec,
    cluster_service_namespace,
    mem_buf_bytes,
    memory_bytes,
    url_parts,
)
from .rules import render_loki_rules


class LoggingStackArgs(KeelsonModel):
    """Arguments of LoggingStack.

    Secure by default, with one documented exception: Loki runs like a HardenedApp (UID 10001,
    read-only root filesystem, no capabilities, no API token), and the Fluent Bit collector runs as
    UID 0 with every capability dropped, no privilege escalation, a read-only root filesystem and
    seccomp RuntimeDefault, mounting only /var/log (read-only) and its state directory from the
    node, with a read-only ClusterRole (pods and namespaces). Root is needed because container
    log files are root-owned and not world-readable (0640 on containerd, 0600 on CRI-O) and the
    position database must survive restarts in a root-owned host directory; without capabilities,
    root cannot bypass file permissions (no CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, no CAP_CHOWN), so
    it gets only what the file modes grant their owner root, within the two mounts.

    Two namespaces, because Pod Security is set per namespace: the collector's ('collectorNamespace',
    'privileged' to admit its hostPaths, see COLLECTOR_POD_SECURITY) holds nothing else, and Loki's
    ('namespace') enforces 'restricted' like every other platform namespace. Were Loki beside the
    collector, anyone allowed to create pods next to Loki could create privileged ones.
    """

    namespace: NamespaceSpec = NamespaceSpec(name="logging")
    """The governed namespace of Loki. Default: 'logging', Pod Security 'restricted'."""
    collector_namespace: CollectorNamespaceSpec = CollectorNamespaceSpec(name="log-collector")
    """The governed namespace of the Fluent Bit DaemonSet alone. Default: 'log-collector', Pod Security
    'privileged' enforced (hostPath), 'baseline' warn and audit."""
    environment: DnsLabel = "production"
    """Added to every record and as the 'environment' label of every stream. Default: 'production';
    in a stack, keelson:environment sets it."""
    monitoring_namespace: DnsLabel = "monitoring"
    """Namespace of Prometheus, Grafana and Alertmanager: the only peers allowed in and out. Default:
    'monitoring', the MonitoringStack's default; in a stack, keelson:monitoring.namespace.name sets it."""
    fluent_bit: FluentBitSpec = FluentBitSpec()
    """The Fluent Bit collector on every node. Default: root without capabilities, reading /var/log
    read-only (see FluentBitSpec for why)."""
    loki: LokiSpec = LokiSpec()
    """The Loki log store. Default: one replica keeping 7 days of logs on an emptyDir (see LokiSpec)."""
    alerts: LogAlerts = LogAlerts()
    """Log-based alerts of the Loki ruler. Default: error bursts, error ratios and silent collection
    raise warnings (see LogAlerts)."""
    elasticsearch: ElasticsearchOutput | None = None
    """A second output with daily '<app>-YYYY.MM.dd' indices, for teams on ELK. Default: none, Loki only."""
    network: NetworkPeers = NetworkPeers()
    """Where cluster DNS and the API server are. Default: NetworkPeers' (the RFC 1918 ranges); in a
    stack, keelson:network sets it."""
    spread: SpreadPolicy = SpreadPolicy()
    """How Loki's replicas spread across zones and nodes. Default: soft (see SpreadPolicy); in a stack,
    keelson:scheduling.spread sets it."""
    priority_class_name: DnsLabel | None = None
    """PriorityClass of Loki (the program sets PriorityClasses.platform). Default: none (priority 0),
    because the class must exist before any pod names it."""
    collector_priority_class_name: DnsLabel | None = None
    """PriorityClass of the Fluent Bit pods (the program sets PriorityClasses.collector, the highest of
    the platform: a node's logs are lost while its collector is evicted). Default: none."""

    @model_validator(mode="after")
    def _consistent(self) -> LoggingStackArgs:
        enforce = self.collector_namespace.pod_security.enforce
        if enforce != "privileged":
            raise ValueError(
                f"'collectorNamespace.podSecurity.enforce' ({enforce}) must be 'privileged': the Fluent Bit "
                "DaemonSet mounts /var/log and its state directory from the node (hostPath), which 'baseline' "
                "and 'restricted' reject"
            )
        if self.collector_namespace.name == self.namespace.name:
            raise ValueError(
                f"'collectorNamespace.name' ({self.collector_namespace.name}) must differ from 'namespace.name' "
                f"({self.namespace.name}): the collector's namespace admits privileged pods, so Loki keeps one "
                "of its own"
            )
        check_limit_range_ratios(
            [("fluentBit", self.fluent_bit.resources)], self.collector_namespace.limit_range.max_limit_request_ratio
        )
        check_limit_range_ratios([("loki", self.loki.resources)], self.namespace.limit_range.max_limit_request_ratio)
        buffer = mem_buf_bytes(self.fluent_bit.mem_buf_limit)
        memory_limit = self.fluent_bit.resources.limits.memory
        if buffer * 2 > memory_bytes(memory_limit):
            raise ValueError(
                f"'fluentBit.memBufLimit' ({self.fluent_bit.mem_buf_limit}) must be at most half of "
                f"'fluentBit.resources.limits.memory' ({memory_limit}): the rest holds parsers, filters and "
                "output retries, and a collector over its limit is OOM-killed"
            )
        host, _ = url_parts(self.alerts.alertmanager_url)
        target_namespace = cluster_service_namespace(host)
        if target_namespace != self.monitoring_namespace:
            raise ValueError(
                f"'alerts.alertmanagerUrl' ({self.alerts.alertmanager_url}) must name a Service of "
                f"'monitoringNamespace' ({self.monitoring_namespace}), e.g. http://alertmanager."
                f"{self.monitoring_namespace}.svc.cluster.local:9093, because Loki's NetworkPolicy only lets "
                "it reach Alertmanager pods there"
            )
        return self


class LoggingStack(CollectorMixin):
    """Fluent Bit (DaemonSet on every node) and Loki (single-binary StatefulSet) with their
    configuration, log-based alert rules, RBAC, Services and NetworkPolicies.

    Outputs:
        namespace: Loki's namespace.
        collector_namespace: the Fluent Bit collector's namespace.
        loki_url: Loki's in-cluster URL (the MonitoringStack's GrafanaSpec.loki_url).
    """

    namespace: pulumi.Output[str]
    collector_namespace: pulumi.Output[str]
    loki_url: pulumi.Output[str]

    def __init__(self, name: str, args: LoggingStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:LoggingStack", name, args.namespace, args.network, opts)
        self.args = args
        self.loki_host = f"loki.{self._namespace}.svc.cluster.local"
        self._collector_governed_namespace(name, args)

        loki_pod = self._loki(name, args)
        collector_pod = self._fluent_bit(name, args, self.loki_host)
        self.footprint = pod_footprint(loki_pod, args.loki.replicas) + pod_footprint(collector_pod, 1)
        """Loki plus the collector pod of one node (the DaemonSet runs one per node)."""

        self.namespace = self.governed_namespace.name
        self.collector_namespace = self.collector_governed_namespace.name
        self.loki_url = pulumi.Output.from_input(f"http://{self.loki_host}:{HTTP_PORT}")
        self.register_outputs(
            {"namespace": self.namespace, "collector_namespace": self.collector_namespace, "loki_url": self.loki_url}
        )

    def _from_monitoring(self, app: str) -> dict[str, Any]:
        return network_policies.pods_in_namespace(self.args.monitoring_namespace, {"app.kubernetes.io/name": app})

    def _loki(self, name: str, args: LoggingStackArgs) -> dict[str, Any]:
        spec = args.loki
        labels = component_labels("loki", args.environment, "logging", spec.image)
        selector = selector_labels(labels)
        self._service_account(name, "loki", labels)
        self.loki_config = loki_config(spec, alertmanager_url=args.alerts.alertmanager_url)
        self.loki_rules = render_loki_rules(args.alerts)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-loki-config",
            metadata=self._metadata("loki-config", labels),
            data={"loki.yaml": yaml.safe_dump(self.loki_config, sort_keys=False)},
            opts=self._child,
        )
        rules_map = k8s.core.v1.ConfigMap(
            f"{name}-loki-rules",
            metadata=self._metadata("loki-rules", labels),
            data=self.loki_rules,
            opts=self._child,
        )
        claims, volumes = self._config_and_data_volumes(spec.storage, labels, {"config": "loki-config", "rules": "loki-rules"})
        container = hardened_container(
            "loki",
            spec.image,
            spec.resources,
            ports={"http": HTTP_PORT},
            writable_paths=["/tmp"],
            args=loki_args(CONFIG_PATH),
            volumeMounts=[
                {"name": "config", "mountPath": CONFIG_PATH.rsplit("/", 1)[0], "readOnly": True},
                {"name": "rules", "mountPath": f"{RULES_DIR}/{TENANT}", "readOnly": True},
                {"name": "data", "mountPath": DATA_DIR},
            ],
            readinessProbe={"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
            livenessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 6},
            startupProbe={"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5, "failureThreshold": 60},
        )
        pod = hardened_pod_spec(
            [container], "loki", selector, writable_paths=["/tmp"], volumes=volumes, termination_grace_period_seconds=60,
            spread_policy=args.spread, priority_class_name=args.priority_class_name,
        )
        self._headless_and_service("loki", labels, {"http": HTTP_PORT}, name)
        self._disruption_budget(name, "loki", labels)
        self._stateful_set(
            name,
            "loki",
            labels,
            spec.replicas,
            pod,
            {
                **scrape_annotations(HTTP_PORT, "/metrics"),
                # Loki reads its config only at start, so a config change rolls it; the ruler polls
                # its rule files every minute, so a rule change is a ConfigMap update alone.
                "keelson.dev/config-hash": config_digest(self.loki_config),
            },
            claims,
            [config_map, rules_map],
        )
        collector = selector_labels(component_labels("fluent-bit", args.environment, "logging", args.fluent_bit.image))
        _, alertmanager_port = url_parts(args.alerts.alertmanager_url)
        self._network_policy(
            name,
            "loki",
            labels,
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            network_policies.pods_in_namespace(args.collector_namespace.name, collector),
                            self._from_monitoring("grafana"),
                            self._from_monitoring("prometheus"),
                        ],
                        "ports": [{"protocol": "TCP", "port": HTTP_PORT}],
                    }
                ],
                "egress": [
                    {
                        "to": [self._from_monitoring("alertmanager")],
                        "ports": [{"protocol": "TCP", "port": alertmanager_port}],
                    }
                ],
            },
        )
        return pod

