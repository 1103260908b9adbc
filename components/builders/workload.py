"""Hardened containers and pod specs shared by every Keelson workload (apps, Prometheus, Grafana...).

One place decides what "hardened" means, so HardenedApp and the platform components cannot drift:
non-root fixed IDs, read-only root filesystem with writable emptyDirs, all capabilities dropped,
seccomp RuntimeDefault, no service account token unless asked, anti-affinity and zone spread.
"""

from __future__ import annotations

from typing import Any

from ..models import ResourceRequirements
from .security import DEFAULT_USER_ID, container_security_context, pod_security_context, writable_volumes


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_TOKEN_VOLUME: dict[str, Any] = {
    "name": "kube-api-access",
    "projected": {
        "defaultMode": 0o444,
        "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ],
    },
}
"""The same projected volume Kubernetes would automount, made explicit. Ref:
https://kubernetes.io/docs/concepts/security/service-accounts/#assign-to-pod"""
API_TOKEN_MOUNT = {"name": "kube-api-access", "mountPath": SERVICE_ACCOUNT_DIR, "readOnly": True}


def resources_spec(resources: ResourceRequirements) -> dict[str, Any]:
    """Return a container's `resources` block."""
    return {
        "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
        "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
    }


def hardened_container(
    name: str,
    image: str,
    resources: ResourceRequirements,
    ports: dict[str, int] | None = None,
    writable_paths: list[str] | None = None,
    user_id: int = DEFAULT_USER_ID,
    add_capabilities: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return a container with the hardened security context, resources and named TCP ports.

    'writable_paths' get volumeMounts named as in writable_volumes(); extra container fields
    (args, env, probes, volumeMounts...) pass through 'fields' and extra volumeMounts are appended.
    """
    _, mounts = writable_volumes(writable_paths or [])
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "Always",
        "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"} for port_name, port in (ports or {}).items()],
        "resources": resources_spec(resources),
        "securityContext": container_security_context(user_id, add_capabilities=add_capabilities),
    }
    extra_mounts = fields.pop("volumeMounts", [])
    container.update({key: value for key, value in fields.items() if value is not None})
    container["volumeMounts"] = mounts + list(extra_mounts)
    if not container["ports"]:
        del container["ports"]
    return container


def spread(selector: dict[str, str], zone_topology_key: str = "topology.kubernetes.io/zone") -> dict[str, Any]:
    """Return affinity and topologySpreadConstraints that keep replicas on distinct nodes and zones.

    Both are preferences (never block scheduling): a small cluster still runs every replica.
    """
    return {
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": dict(selector)},
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": zone_topology_key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(selector)},
            }
        ],
    }


def hardened_pod_spec(
    containers: list[dict[str, Any]],
    service_account: str,
    selector: dict[str, str],
    writable_paths: list[str] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    user_id: int = DEFAULT_USER_ID,
    api_access: bool = False,
    termination_grace_period_seconds: int = 30,
    zone_topology_key: str = "topology.kubernetes.io/zone",
) -> dict[str, Any]:
    """Return a pod spec: hardened pod security context, emptyDirs for writable paths, spreading.

    'api_access' gives the containers a Kubernetes API token; leave it False unless the workload
    calls the API (Prometheus' service discovery does). The token is never automounted: when asked
    for, it is an explicit projected volume (1 h lifetime, rotated by the kubelet) at the standard
    path, so client libraries find it and no other pod of the service account gets one.
    """
    writable, _ = writable_volumes(writable_paths or [])
    extra_volumes = list(volumes or [])
    if api_access:
        extra_volumes.append(API_TOKEN_VOLUME)
        containers = [
            {**container, "volumeMounts": [*container.get("volumeMounts", []), API_TOKEN_MOUNT]} for container in containers
        ]
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(user_id),
        "terminationGracePeriodSeconds": termination_grace_period_seconds,
        **spread(selector, zone_topology_key),
        "containers": containers,
        "volumes": writable + extra_volumes,
    }
