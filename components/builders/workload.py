"""Hardened containers and pod specs shared by every Keelson workload (apps, Prometheus, Grafana...).

One place decides what "hardened" means, so HardenedApp and the platform components cannot drift:
non-root fixed IDs, read-only root filesystem with writable emptyDirs, all capabilities dropped,
seccomp RuntimeDefault, no service account token unless asked, anti-affinity and zone spread.
"""

from __future__ import annotations

from typing import Any

from ..models import ResourceRequirements
from .security import DEFAULT_USER_ID, container_security_context, pod_security_context, writable_volumes


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

    'api_access' mounts the service account token; leave it False unless the workload calls the
    Kubernetes API (Prometheus' service discovery does).
    """
    writable, _ = writable_volumes(writable_paths or [])
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": api_access,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(user_id),
        "terminationGracePeriodSeconds": termination_grace_period_seconds,
        **spread(selector, zone_topology_key),
        "containers": containers,
        "volumes": writable + list(volumes or []),
    }
