"""Hardened containers and pod specs shared by every Keelson workload (apps, Prometheus, Grafana...).

One place decides what "hardened" means, so HardenedApp and the platform components cannot drift:
non-root fixed IDs, read-only root filesystem with writable emptyDirs, all capabilities dropped,
seccomp RuntimeDefault, no service account token unless asked, anti-affinity and zone spread.
"""

from __future__ import annotations

from typing import Any

from ..images import has_digest
from ..models import ResourceRequirements
from ..quantities import format_memory, parse_memory
from ..scheduling import SpreadPolicy
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


def image_pull_policy(image: str) -> str:
    """Return 'IfNotPresent' for an image pinned by digest and 'Always' for one pinned by tag.

    A digest names the image's content: a copy already on the node is byte for byte the one asked
    for, so pulling again proves nothing and only adds a registry round trip (and a registry outage
    to every restart). A tag can be moved to other content, so 'Always' makes the kubelet resolve
    it again and check the pod's pull credentials on every start.
    """
    return "IfNotPresent" if has_digest(image) else "Always"


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
        "imagePullPolicy": image_pull_policy(image),
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


LOG_ALLOWANCE = "128Mi"
"""Ephemeral storage a container needs beyond its emptyDirs: its log files on the node (the
kubelet keeps up to 5 x 10Mi per container by default) with room to spare; the read-only root
filesystem writes nothing else."""


def spread(
    selector: dict[str, str], zone_topology_key: str = "topology.kubernetes.io/zone", policy: SpreadPolicy | None = None
) -> dict[str, Any]:
    """Return affinity and topologySpreadConstraints that keep replicas on distinct nodes and zones.

    The default SpreadPolicy makes both preferences (never blocking scheduling), so a small cluster
    still runs every replica; a stack's policy can make either hard (see SpreadPolicy).
    """
    policy = policy or SpreadPolicy()
    term = {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": dict(selector)}}
    anti_affinity = (
        {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
        if policy.node_anti_affinity == "required"
        else {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}
    )
    constraint: dict[str, Any] = {
        "maxSkew": 1,
        "topologyKey": zone_topology_key,
        "whenUnsatisfiable": policy.zone_spread,
        "labelSelector": {"matchLabels": dict(selector)},
    }
    if policy.min_zones is not None:
        constraint["minDomains"] = policy.min_zones
    return {"affinity": {"podAntiAffinity": anti_affinity}, "topologySpreadConstraints": [constraint]}


def with_ephemeral_storage(container: dict[str, Any], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the container with ephemeral-storage requests and limits covering what it writes to
    the node: the sizeLimits of the emptyDirs it mounts plus LOG_ALLOWANCE.

    Request equals limit, so the scheduler reserves the disk the pod may fill (an emptyDir holding
    a staging Prometheus' 20Gi is invisible to it otherwise), and a pod going past it is evicted
    alone instead of pushing its node into disk pressure.
    """
    sizes = {volume["name"]: volume["emptyDir"].get("sizeLimit") for volume in volumes if "emptyDir" in volume}
    mounted = [sizes[mount["name"]] for mount in container.get("volumeMounts", []) if sizes.get(mount["name"])]
    total = format_memory(sum((parse_memory(size) for size in mounted), parse_memory(LOG_ALLOWANCE)))
    resources = container.get("resources", {})
    return {
        **container,
        "resources": {
            **resources,
            "requests": {**resources.get("requests", {}), "ephemeral-storage": total},
            "limits": {**resources.get("limits", {}), "ephemeral-storage": total},
        },
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
    spread_policy: SpreadPolicy | None = None,
    priority_class_name: str | None = None,
    init_containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a pod spec: hardened pod security context, emptyDirs for writable paths, spreading.

    'init_containers' (hardened like the others; those with restartPolicy Always are native
    sidecars) run before the containers, in order; they get no API token.

    'api_access' gives the containers a Kubernetes API token; leave it False unless the workload
    calls the API (Prometheus' service discovery does). The token is never automounted: when asked
    for, it is an explicit projected volume (1 h lifetime, rotated by the kubelet) at the standard
    path, so client libraries find it and no other pod of the service account gets one.
    Every container gets ephemeral-storage requests and limits (with_ephemeral_storage).
    """
    writable, _ = writable_volumes(writable_paths or [])
    all_volumes = writable + list(volumes or [])
    if api_access:
        all_volumes.append(API_TOKEN_VOLUME)
        containers = [
            {**container, "volumeMounts": [*container.get("volumeMounts", []), API_TOKEN_MOUNT]} for container in containers
        ]
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(user_id),
        "terminationGracePeriodSeconds": termination_grace_period_seconds,
        **({"priorityClassName": priority_class_name} if priority_class_name else {}),
        **spread(selector, zone_topology_key, spread_policy),
        **(
            {"initContainers": [with_ephemeral_storage(container, all_volumes) for container in init_containers]}
            if init_containers
            else {}
        ),
        "containers": [with_ephemeral_storage(container, all_volumes) for container in containers],
        "volumes": all_volumes,
    }
