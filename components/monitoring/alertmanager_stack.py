"""Alertmanager in the MonitoringStack: AlertmanagerSpec, and AlertmanagerMixin, which creates the cluster.

Its configuration comes from alertmanager.py: the routing in a ConfigMap, the channel credentials
in a Secret mounted as files. A config reloader sidecar (config_reloader.py) reloads Alertmanager
when either changes, so a routing change never restarts the pods. Above one replica the pods gossip on ALERTMANAGER_CLUSTER_PORT to
deduplicate notifications. MonitoringStack (stack.py) mixes it in.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field

from .. import images
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint
from ..models import ComputeResources, ImageReference, KeelsonModel, ResourceRequirements
from ..platform import PlatformComponent, component_labels
from .alertmanager import CONFIG_DIR, SECRETS_DIR, AlertRoutingWarning, alertmanager_config, alertmanager_secret_data
from .config_reloader import config_reloader_sidecar
from .prometheus_config import ALERTMANAGER_PORT

if TYPE_CHECKING:
    from .stack import MonitoringStackArgs

ALERTMANAGER_CLUSTER_PORT = 9094
"""The port Alertmanager replicas gossip on (TCP and UDP) to deduplicate notifications."""


class AlertmanagerSpec(KeelsonModel):
    """The Alertmanager cluster."""

    image: ImageReference = images.ALERTMANAGER
    """Alertmanager image. Default: v0.28.1 pinned by digest (components/images.py); the webhook's
    url_file needs 0.26 or later."""
    replicas: int = Field(default=1, ge=1, le=5)
    """Replicas gossip to deduplicate notifications. Default: 1; production runs 3, so notifications
    survive a lost replica."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="50m", memory="64Mi"), limits=ComputeResources(cpu="200m", memory="256Mi")
    )
    """Requests and limits of each replica. Default: 50m/64Mi requested, 200m/256Mi limit (ratio 4, the
    namespace LimitRange ceiling)."""
    reloader_image: ImageReference = images.CONFIG_RELOADER
    """Image of the config reloader sidecar, which reloads Alertmanager when its ConfigMap or Secret
    changes. Default: prometheus-config-reloader v0.85.0, the release of the prometheus-operator
    Keelson installs, pinned by tag alone (components/images.py UNPINNED_DEFAULTS says why); pin a
    digest here."""
    reloader_resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="10m", memory="48Mi"), limits=ComputeResources(cpu="40m", memory="96Mi")
    )
    """Requests and limits of the reloader sidecar of each replica. Default: 10m/48Mi requested,
    40m/96Mi limit: it idles at about 35Mi resident and hashes two small directories on a change and
    every 3 minutes."""


class AlertmanagerMixin(PlatformComponent):
    """The Alertmanager part of MonitoringStack, which calls _alertmanager() once."""

    def _alertmanager(self, name: str, args: MonitoringStackArgs) -> Footprint:
        """The Alertmanager cluster; returns what it requests and may use."""
        spec = args.alertmanager
        labels = component_labels("alertmanager", args.environment, "monitoring", spec.image)
        selector = selector_labels(labels)
        self._service_account(name, "alertmanager", labels)
        with warnings.catch_warnings():
            # MonitoringStack.__init__ already logged routing_warnings() through Pulumi.
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
        mounts = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}]
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
                f"--config.file={CONFIG_DIR}/alertmanager.yml",
                "--storage.path=/alertmanager",
                f"--web.listen-address=0.0.0.0:{ALERTMANAGER_PORT}",
                *cluster_args,
            ],
            volumeMounts=mounts,
            readinessProbe={"httpGet": {"path": "/-/ready", "port": "web"}, "periodSeconds": 5},
            livenessProbe={"httpGet": {"path": "/-/healthy", "port": "web"}, "periodSeconds": 10, "failureThreshold": 6},
        )
        config_mounts = [mount for mount in mounts if mount["name"] in ("config", "credentials")]
        reloader = config_reloader_sidecar(
            spec.reloader_image,
            spec.reloader_resources,
            f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/reload",
            [mount["mountPath"] for mount in config_mounts],
            config_mounts,
        )
        self._headless_and_service("alertmanager", labels, ports, name)
        pod = hardened_pod_spec(
            [container], "alertmanager", selector, volumes=volumes, init_containers=[reloader],
            spread_policy=args.spread, priority_class_name=args.priority_class_name,
        )
        footprint = pod_footprint(pod, spec.replicas)
        # No config hash: the reloader sidecar reloads a changed routing or credential in place, so
        # such a change is a ConfigMap or Secret update, never a restart of the StatefulSet.
        self._stateful_set(name, "alertmanager", labels, spec.replicas, pod, {}, [], depends)
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
        return footprint
