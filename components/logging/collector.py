"""The LoggingStack's log collector: Fluent Bit on every node, in a governed namespace of its own.

COLLECTOR_POD_SECURITY and CollectorNamespaceSpec describe that namespace. CollectorMixin creates it,
then the DaemonSet with its read-only ClusterRole, its pipeline (fluent_bit.py, normalize.lua), the
optional Elasticsearch password Secret and its NetworkPolicy. LoggingStack (stack.py) mixes it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from ..builders import network_policies
from ..builders.labels import scrape_annotations, selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..models import NamespaceSpec, PodSecurityLabels
from ..namespace import GovernedNamespace, GovernedNamespaceArgs
from ..platform import PlatformComponent, component_labels, config_digest
from . import fluent_bit
from .loki_config import HTTP_PORT

if TYPE_CHECKING:
    from .stack import LoggingStackArgs

COLLECTOR_POD_SECURITY = PodSecurityLabels(enforce="privileged", warn="baseline", audit="baseline")
"""Pod Security of the collector's namespace. 'privileged' is the only level that admits hostPath
volumes, which the collector needs for /var/log and its position database ('baseline' and
'restricted' forbid every hostPath). warn and audit stay at 'baseline', so anything beyond those
known hostPaths (host namespaces, privileged containers, added capabilities) is reported. The
namespace holds the collector alone: whoever may create pods there may create privileged ones."""


class CollectorNamespaceSpec(NamespaceSpec):
    """The log collector's own namespace: a NamespaceSpec whose Pod Security defaults to
    COLLECTOR_POD_SECURITY, so a stack that only renames it or changes its quota keeps a level that
    admits the collector. Its quota and LimitRange are the usual ones; its default-deny policies too."""

    pod_security: PodSecurityLabels = COLLECTOR_POD_SECURITY
    """Pod Security of the collector's namespace. Default: COLLECTOR_POD_SECURITY, 'privileged'
    enforced (the only level admitting hostPath volumes), 'baseline' warn and audit."""


_ROOT = {"runAsNonRoot": False, "runAsUser": 0, "runAsGroup": 0}
"""What the collector changes in the hardened security contexts; every other field is kept."""


class CollectorMixin(PlatformComponent):
    """The collector part of LoggingStack, which calls _collector_governed_namespace() and then
    _fluent_bit() once."""

    def _collector_governed_namespace(self, name: str, args: LoggingStackArgs) -> None:
        """The collector's governed namespace; every collector object is created after it."""
        self.collector_governed_namespace = GovernedNamespace(
            f"{name}-collector-ns",
            GovernedNamespaceArgs(**dict(args.collector_namespace), network=args.network),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._collector_child = pulumi.ResourceOptions(parent=self, depends_on=[self.collector_governed_namespace])

    def _fluent_bit(self, name: str, args: LoggingStackArgs, loki_host: str) -> dict[str, Any]:
        """The Fluent Bit DaemonSet shipping to Loki at 'loki_host', with its RBAC, configuration and
        NetworkPolicy; returns its pod spec."""
        spec = args.fluent_bit
        labels = component_labels("fluent-bit", args.environment, "logging", spec.image)
        selector = selector_labels(labels)
        collector = args.collector_namespace.name
        self._service_account(name, "fluent-bit", labels, collector, self._collector_child)
        cluster_role_name = f"{collector}-fluent-bit"
        k8s.rbac.v1.ClusterRole(
            f"{name}-fluent-bit-clusterrole",
            metadata={"name": cluster_role_name, "labels": labels},
            rules=[{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}],
            opts=self._collector_child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-fluent-bit-clusterrolebinding",
            metadata={"name": cluster_role_name, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role_name},
            subjects=[{"kind": "ServiceAccount", "name": "fluent-bit", "namespace": collector}],
            opts=self._collector_child,
        )
        self.fluent_bit_config = fluent_bit.fluent_bit_config(
            spec,
            environment=args.environment,
            loki_host=loki_host,
            loki_port=HTTP_PORT,
            collector_namespace=collector,
            elasticsearch=args.elasticsearch,
        )
        files = fluent_bit.render_fluent_bit_files(self.fluent_bit_config)
        depends: list[pulumi.Resource] = [
            k8s.core.v1.ConfigMap(
                f"{name}-fluent-bit-config",
                metadata=self._metadata("fluent-bit-config", labels, collector),
                data=files,
                opts=self._collector_child,
            )
        ]
        env: list[dict[str, Any]] = []
        elasticsearch = args.elasticsearch
        if elasticsearch is not None and elasticsearch.password is not None:
            depends.append(
                k8s.core.v1.Secret(
                    f"{name}-fluent-bit-elasticsearch",
                    metadata=self._metadata("fluent-bit-elasticsearch", labels, collector),
                    type="Opaque",
                    string_data={"password": pulumi.Output.secret(elasticsearch.password.get_secret_value())},
                    opts=self._collector_child,
                )
            )
            env.append(
                {
                    "name": fluent_bit.ELASTICSEARCH_PASSWORD_ENV,
                    "valueFrom": {"secretKeyRef": {"name": "fluent-bit-elasticsearch", "key": "password"}},
                }
            )
        container = hardened_container(
            "fluent-bit",
            spec.image,
            spec.resources,
            ports={"metrics": fluent_bit.METRICS_PORT},
            writable_paths=["/tmp"],
            command=["/fluent-bit/bin/fluent-bit"],
            args=[f"--config={fluent_bit.CONFIG_DIR}/{fluent_bit.CONFIG_FILE}"],
            env=env or None,
            volumeMounts=[
                {"name": "config", "mountPath": fluent_bit.CONFIG_DIR, "readOnly": True},
                {"name": "var-log", "mountPath": fluent_bit.LOG_DIR, "readOnly": True},
                {"name": "state", "mountPath": spec.state_dir},
            ],
            livenessProbe={
                "httpGet": {"path": fluent_bit.UPTIME_PATH, "port": "metrics"},
                "periodSeconds": 10,
                "failureThreshold": 6,
            },
            readinessProbe={"httpGet": {"path": fluent_bit.HEALTH_PATH, "port": "metrics"}, "periodSeconds": 10},
        )
        container["securityContext"] = {**container["securityContext"], **_ROOT}
        volumes = [
            {"name": "config", "configMap": {"name": "fluent-bit-config"}},
            {"name": "var-log", "hostPath": {"path": fluent_bit.LOG_DIR, "type": "Directory"}},
            {"name": "state", "hostPath": {"path": spec.state_dir, "type": "DirectoryOrCreate"}},
        ]
        pod = hardened_pod_spec(
            [container],
            "fluent-bit",
            selector,
            writable_paths=["/tmp"],
            volumes=volumes,
            api_access=True,
            termination_grace_period_seconds=30,
            priority_class_name=args.collector_priority_class_name,
        )
        # One pod per node: spreading preferences mean nothing to a DaemonSet, and fsGroup would not
        # apply to hostPath volumes anyway.
        for key in ("affinity", "topologySpreadConstraints"):
            pod.pop(key)
        pod["securityContext"] = {**_ROOT, "seccompProfile": {"type": "RuntimeDefault"}}
        # Every node, tainted or not (control plane, dedicated pools, NoExecute): a node whose logs
        # are not collected is a blind spot.
        pod["tolerations"] = [{"operator": "Exists"}]
        k8s.apps.v1.DaemonSet(
            f"{name}-fluent-bit",
            metadata=self._metadata(
                "fluent-bit",
                labels,
                collector,
                # The policy pack's run-as-non-root exemption; the reason is FluentBitSpec's.
                annotations={
                    "policy.keelson.dev/allow-root": "reads root-owned container logs under /var/log and keeps its "
                    "position database in a root-owned host path; every capability dropped, read-only root filesystem"
                },
            ),
            spec={
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            **scrape_annotations(fluent_bit.METRICS_PORT, fluent_bit.METRICS_PATH),
                            "keelson.dev/config-hash": config_digest(files),
                        },
                    },
                    "spec": pod,
                },
            },
            opts=pulumi.ResourceOptions.merge(self._collector_child, pulumi.ResourceOptions(depends_on=depends)),
        )
        loki_selector = selector_labels(component_labels("loki", args.environment, "logging", args.loki.image))
        egress: list[dict[str, Any]] = [
            {
                "to": [network_policies.pods_in_namespace(self._namespace, loki_selector)],
                "ports": [{"protocol": "TCP", "port": HTTP_PORT}],
            },
            *network_policies.allow_egress(selector, list(args.network.api_server))["egress"],
        ]
        if elasticsearch is not None:
            egress.extend(network_policies.allow_egress(selector, [elasticsearch.egress()])["egress"])
        self._network_policy(
            name,
            "fluent-bit",
            labels,
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            network_policies.pods_in_namespace(args.monitoring_namespace, {"app.kubernetes.io/name": "prometheus"})
                        ],
                        "ports": [{"protocol": "TCP", "port": fluent_bit.METRICS_PORT}],
                    }
                ],
                "egress": egress,
            },
            collector,
            self._collector_child,
        )
        return pod
