"""node-exporter in the MonitoringStack: the node's own metrics (CPU, memory, filesystems, network
devices, pressure), from a DaemonSet in a governed namespace of its own.

NODE_EXPORTER_POD_SECURITY and NodeExporterNamespaceSpec describe that namespace; NodeExporterSpec
the DaemonSet; NodeExporterMixin creates both, with a NetworkPolicy letting only Prometheus in.
The 'node-exporter' scrape job (prometheus_config.py) finds its pods. MonitoringStack (stack.py)
mixes it in.

What it takes from the node, and why (the same as the upstream kube-prometheus DaemonSet):
- hostPID: node_exporter reads /proc, and only a /proc of the host's PID namespace describes the
  node (its processes, /proc/1/mountinfo for the filesystem collector) instead of the pod;
- hostNetwork: /proc/net/* describes the network namespace of the reader, so the network-device
  series are the node's only from the host's network namespace; it also makes the pod's address
  the node's, one target per node;
- hostPath / at /host/root and /sys at /host/sys, both read-only with HostToContainer propagation:
  statfs() of the node's mount points (node_filesystem_*) and the kernel's device and hardware
  state (node_hwmon_*, node_network_*, ...). Nothing is written to the node.
It runs as UID 10001 like every other platform workload, with every capability dropped, no
privilege escalation, a read-only root filesystem, seccomp RuntimeDefault and no API token.

Ref: https://github.com/prometheus/node_exporter#docker,
https://github.com/prometheus-operator/kube-prometheus/blob/main/jsonnet/kube-prometheus/components/node-exporter.libsonnet
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from .. import images
from ..builders import network_policies
from ..builders.labels import selector_labels
from ..builders.workload import hardened_container, hardened_pod_spec
from ..footprint import Footprint, pod_footprint
from ..models import ComputeResources, ImageReference, KeelsonModel, NamespaceSpec, PodSecurityLabels, ResourceRequirements
from ..namespace import GovernedNamespace, GovernedNamespaceArgs
from ..platform import PlatformComponent, component_labels
from .prometheus_config import NODE_EXPORTER_PORT

if TYPE_CHECKING:
    from .stack import MonitoringStackArgs

METRICS_PORT = NODE_EXPORTER_PORT
"""node_exporter's port (named 'metrics'); on the node's address, since the pod shares its network."""
HOST_ROOT = "/host/root"
HOST_SYS = "/host/sys"

NODE_EXPORTER_POD_SECURITY = PodSecurityLabels(enforce="privileged", warn="baseline", audit="baseline")
"""Pod Security of node-exporter's namespace. 'privileged' is the only level that admits host
namespaces (hostPID, hostNetwork, and the hostPort a host-network container port implies) and
hostPath volumes ('baseline' and 'restricted' forbid all of them). warn and audit stay at
'baseline', so anything beyond those is reported. The namespace holds node-exporter alone: whoever
may create pods there may create privileged ones."""

EXCLUDED_MOUNT_POINTS = "^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+|var/lib/kubelet/plugins/.+)($|/)"
"""Mount points left out of node_filesystem_*: kernel filesystems and the per-container and per-pod
mounts, which repeat the node's disks once per pod (kube-prometheus leaves out much the same)."""
EXCLUDED_DEVICES = "^(veth.*|cali.*|cilium.*|lxc.*|[a-f0-9]{15})$"
"""Network devices left out of node_network_*: the per-pod virtual ends (one per pod, they come and go)."""


def node_exporter_args(listen_address: str, rootfs: str = HOST_ROOT, sysfs: str = HOST_SYS) -> list[str]:
    """The node_exporter flags: the node's / and /sys read from 'rootfs' and 'sysfs' (the host mounts
    in the DaemonSet; / and /sys when the live test runs it on a machine), serving on 'listen_address'."""
    return [
        f"--web.listen-address={listen_address}",
        f"--path.rootfs={rootfs}",
        f"--path.sysfs={sysfs}",
        f"--path.udev.data={rootfs.rstrip('/')}/run/udev/data",
        f"--collector.filesystem.mount-points-exclude={EXCLUDED_MOUNT_POINTS}",
        f"--collector.netclass.ignored-devices={EXCLUDED_DEVICES}",
        f"--collector.netdev.device-exclude={EXCLUDED_DEVICES}",
    ]


class NodeExporterNamespaceSpec(NamespaceSpec):
    """node-exporter's own namespace: a NamespaceSpec whose Pod Security defaults to
    NODE_EXPORTER_POD_SECURITY, so a stack that only renames it or changes its quota keeps a level
    that admits the DaemonSet. Its quota and LimitRange are the usual ones; its default-deny policies too."""

    pod_security: PodSecurityLabels = NODE_EXPORTER_POD_SECURITY
    """Pod Security of node-exporter's namespace. Default: NODE_EXPORTER_POD_SECURITY, 'privileged'
    enforced (the only level admitting host namespaces and hostPath), 'baseline' warn and audit."""


class NodeExporterSpec(KeelsonModel):
    """node-exporter on every node, tainted or not.

    Default: on, in the 'node-exporter' namespace, sharing the node's PID and network namespaces and
    reading / and /sys read-only (see the module docstring for why each is needed).
    """

    enabled: bool = True
    """Deploy node-exporter. Default: true; false when the nodes already run one (the node alerts
    then read whatever job the cluster scrapes it in)."""
    namespace: NodeExporterNamespaceSpec = NodeExporterNamespaceSpec(name="node-exporter")
    """The governed namespace of the DaemonSet alone. Default: 'node-exporter', Pod Security
    'privileged' enforced (host namespaces, hostPath), 'baseline' warn and audit."""
    image: ImageReference = images.NODE_EXPORTER
    """node-exporter image. Default: v1.10.2 pinned by digest (components/images.py)."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="50m", memory="64Mi"), limits=ComputeResources(cpu="200m", memory="128Mi")
    )
    """Requests and limits of each node's pod. Default: 50m/64Mi requested, 200m/128Mi limit."""


class NodeExporterMixin(PlatformComponent):
    """The node-exporter part of MonitoringStack, which calls _node_exporter() once."""

    def _node_exporter(self, name: str, args: MonitoringStackArgs) -> Footprint:
        """node-exporter's governed namespace, then the DaemonSet, its ServiceAccount and NetworkPolicy;
        returns what one node's pod requests and may use (nothing when it is off)."""
        spec = args.node_exporter
        if not spec.enabled:
            return Footprint()
        role = "node-exporter"
        namespace = spec.namespace.name
        self.node_exporter_governed_namespace = GovernedNamespace(
            f"{name}-{role}-ns",
            GovernedNamespaceArgs(**dict(spec.namespace), network=args.network),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.node_exporter_governed_namespace])
        labels = component_labels(role, args.environment, "monitoring", spec.image)
        selector = selector_labels(labels)
        self._service_account(name, role, labels, namespace, child)
        container = hardened_container(
            role,
            spec.image,
            spec.resources,
            ports={"metrics": METRICS_PORT},
            # The pod's address is the node's: listen there, not on every interface of the node.
            args=node_exporter_args(f"[$(POD_IP)]:{METRICS_PORT}"),
            env=[{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            volumeMounts=[
                {"name": "root", "mountPath": HOST_ROOT, "readOnly": True, "mountPropagation": "HostToContainer"},
                {"name": "sys", "mountPath": HOST_SYS, "readOnly": True, "mountPropagation": "HostToContainer"},
            ],
            # Liveness only asks whether it answers at all; readiness that it serves its page.
            livenessProbe={"tcpSocket": {"port": "metrics"}, "periodSeconds": 10, "failureThreshold": 6},
            readinessProbe={"httpGet": {"path": "/", "port": "metrics"}, "periodSeconds": 10},
        )
        pod = hardened_pod_spec(
            [container],
            role,
            selector,
            volumes=[
                {"name": "root", "hostPath": {"path": "/", "type": "Directory"}},
                {"name": "sys", "hostPath": {"path": "/sys", "type": "Directory"}},
            ],
            priority_class_name=args.priority_class_name,
        )
        # One pod per node: spreading preferences mean nothing to a DaemonSet.
        for key in ("affinity", "topologySpreadConstraints"):
            pod.pop(key)
        pod.update({"hostPID": True, "hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"})
        # Every node, tainted or not (control plane, dedicated pools, NoExecute): a node without
        # its metrics is a blind spot.
        pod["tolerations"] = [{"operator": "Exists"}]
        k8s.apps.v1.DaemonSet(
            f"{name}-{role}",
            metadata=self._metadata(role, labels, namespace),
            spec={
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
            opts=child,
        )
        self._network_policy(
            name,
            role,
            labels,
            node_exporter_network_policy(selector, self._namespace),
            namespace,
            child,
        )
        return pod_footprint(pod, 1)


def node_exporter_network_policy(selector: dict[str, str], monitoring_namespace: str) -> dict[str, Any]:
    """Only Prometheus (in 'monitoring_namespace') may reach the metrics port; node-exporter reaches nothing.

    Where the CNI enforces policies on host-network pods (Cilium's host firewall, Calico host
    endpoints) this is what holds; elsewhere a host-network pod is outside every NetworkPolicy, and
    what limits it is that it listens on the node's cluster address only, serves read-only metrics
    and holds no credentials.
    """
    return {
        "podSelector": {"matchLabels": selector},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [network_policies.pods_in_namespace(monitoring_namespace, {"app.kubernetes.io/name": "prometheus"})],
                "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
            }
        ],
        "egress": [],
    }
