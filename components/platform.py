"""PlatformComponent: what MonitoringStack and LoggingStack share.

Each runs its workloads in a governed namespace of its own, names every object after its role,
gives every workload a ServiceAccount without an automounted token, a NetworkPolicy and (above
one replica) a PodDisruptionBudget, and serves StatefulSets through a ClusterIP Service plus a
headless one. Those helpers live here once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator

from .builders.autoscaling import pdb_spec
from .builders.labels import image_version, selector_labels, standard_labels
from .models import DisruptionBudget, DnsLabel, KeelsonModel, NamespaceSpec
from .namespace import GovernedNamespace, GovernedNamespaceArgs
from .network_models import NetworkPeers


class StorageSpec(KeelsonModel):
    """Persistent storage of a stateful workload.

    Default: no storage class, which means an emptyDir (data lost when the pod moves), because a
    storage class is cluster-specific; set one in every real stack.
    """

    size: str = Field(default="20Gi", pattern=r"^[0-9]+(Mi|Gi|Ti)$")
    """Size of each replica's volume (the emptyDir's sizeLimit without a storage class). Default: 20Gi;
    the production stack sets 50Gi for Prometheus and 100Gi for Loki."""
    storage_class: DnsLabel | None = None
    """StorageClass of the PersistentVolumeClaims; none means emptyDir. Default: none, because a
    storage class is cluster-specific; set one in every real stack, or data is lost when the pod moves."""

    @field_validator("size")
    @classmethod
    def _size_above_zero(cls, size: str) -> str:
        if int(size[:-2]) == 0:
            raise ValueError(
                f"'{size}' holds nothing: the API server refuses a PersistentVolumeClaim of 0, and an emptyDir "
                "sizeLimit of 0 bounds nothing; give a size such as 20Gi"
            )
        return size


def component_labels(name: str, environment: str, component: str, image: str) -> dict[str, str]:
    """The app.kubernetes.io labels of a platform workload ('component' is monitoring, logging...)."""
    return standard_labels(name, f"{name}-{environment}", component, image_version(image))


def config_digest(*documents: Any) -> str:
    """A short hash of configuration documents; as a pod annotation it rolls the pods on change."""
    return hashlib.sha256(json.dumps(documents, sort_keys=True, default=str).encode()).hexdigest()[:16]


class PlatformComponent(pulumi.ComponentResource):
    """Base of the platform components: a governed namespace and the per-workload helpers."""

    def __init__(
        self,
        token: str,
        name: str,
        namespace: NamespaceSpec,
        network: NetworkPeers,
        opts: pulumi.ResourceOptions | None,
    ):
        super().__init__(token, name, None, opts)
        self._namespace = namespace.name
        self.governed_namespace = GovernedNamespace(
            f"{name}-ns",
            GovernedNamespaceArgs(**dict(namespace), network=network),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._child = pulumi.ResourceOptions(parent=self, depends_on=[self.governed_namespace])

    def _metadata(
        self, object_name: str, labels: dict[str, str], namespace: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Metadata of a namespaced object: in the component's namespace unless 'namespace' names another."""
        return {"name": object_name, "namespace": namespace or self._namespace, "labels": labels, **extra}

    def _service_account(
        self, name: str, role: str, labels: dict[str, str], namespace: str | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """A ServiceAccount whose token is never automounted (pods that need one mount it explicitly)."""
        k8s.core.v1.ServiceAccount(
            f"{name}-{role}-sa",
            metadata=self._metadata(role, labels, namespace),
            automount_service_account_token=False,
            opts=opts or self._child,
        )

    def _network_policy(
        self,
        name: str,
        role: str,
        labels: dict[str, str],
        spec: dict[str, Any],
        namespace: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{role}-netpol", metadata=self._metadata(role, labels, namespace), spec=spec, opts=opts or self._child
        )

    def _disruption_budget(self, name: str, role: str, labels: dict[str, str]) -> None:
        """A PDB letting one replica go at a time.

        Every workload gets one, singletons too: with one replica, maxUnavailable 1 lets a node drain
        evict the pod (a short outage the drain's operator chose) and never blocks the drain, where
        minAvailable 1 would block it forever. Replicated workloads keep all but one replica serving.
        """
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{role}-pdb",
            metadata=self._metadata(role, labels),
            spec=pdb_spec(selector_labels(labels), DisruptionBudget(max_unavailable=1)),
            opts=self._child,
        )

    @classmethod
    def _config_and_data_volumes(
        cls, storage: StorageSpec, labels: dict[str, str], config_maps: dict[str, str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(volumeClaimTemplates, volumes) of a stateful workload: its ConfigMaps by volume name, and
        its 'data' as a claim, or as a size-limited emptyDir when the storage has no class."""
        claims = cls._volume_claims(storage, labels)
        volumes: list[dict[str, Any]] = [{"name": volume, "configMap": {"name": config_map}} for volume, config_map in config_maps.items()]
        if not claims:
            volumes.append({"name": "data", "emptyDir": {"sizeLimit": storage.size}})
        return claims, volumes

    @staticmethod
    def _volume_claims(storage: StorageSpec, labels: dict[str, str]) -> list[dict[str, Any]]:
        """The StatefulSet's volumeClaimTemplates: one 'data' claim, or none for an emptyDir."""
        if storage.storage_class is None:
            return []
        return [
            {
                "metadata": {"name": "data", "labels": selector_labels(labels)},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage.storage_class,
                    "resources": {"requests": {"storage": storage.size}},
                },
            }
        ]

    def _stateful_set(
        self,
        name: str,
        role: str,
        labels: dict[str, str],
        replicas: int,
        pod: dict[str, Any],
        annotations: dict[str, str],
        claims: list[dict[str, Any]],
        depends_on: list[pulumi.Resource],
    ) -> k8s.apps.v1.StatefulSet:
        """A StatefulSet served by the '<role>-headless' Service; its pods start in parallel (the
        replicas are peers, not a chain) and carry 'annotations' (a config digest rolls them)."""
        return k8s.apps.v1.StatefulSet(
            f"{name}-{role}",
            metadata=self._metadata(role, labels),
            spec={
                "replicas": replicas,
                "serviceName": f"{role}-headless",
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector_labels(labels)},
                "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod},
                "volumeClaimTemplates": claims,
            },
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends_on)),
        )

    def _headless_and_service(self, role: str, labels: dict[str, str], ports: dict[str, int], name: str) -> None:
        """A ClusterIP Service for clients and a headless one giving each StatefulSet pod a DNS name."""
        selector = selector_labels(labels)
        service_ports = [
            {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"} for port_name, port in ports.items()
        ]
        k8s.core.v1.Service(
            f"{name}-{role}-service",
            metadata=self._metadata(role, labels),
            spec={"type": "ClusterIP", "selector": selector, "ports": service_ports},
            opts=self._child,
        )
        k8s.core.v1.Service(
            f"{name}-{role}-headless",
            metadata=self._metadata(f"{role}-headless", labels),
            spec={"clusterIP": "None", "publishNotReadyAddresses": True, "selector": selector, "ports": service_ports},
            opts=self._child,
        )
