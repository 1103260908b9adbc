"""Pod and container security contexts that satisfy the 'restricted' Pod Security Standard.

Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
"""

from __future__ import annotations

from typing import Any

DEFAULT_USER_ID = 10001
"""A high UID, so the container never shares an ID with a host user (checkov CKV_K8S_40 asks >= 10000)."""


def pod_security_context(user_id: int = DEFAULT_USER_ID, group_id: int | None = None) -> dict[str, Any]:
    """Return the pod-level security context: non-root, fixed IDs, RuntimeDefault seccomp."""
    group = user_id if group_id is None else group_id
    return {
        "runAsNonRoot": True,
        "runAsUser": user_id,
        "runAsGroup": group,
        "fsGroup": group,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(
    user_id: int = DEFAULT_USER_ID,
    group_id: int | None = None,
    add_capabilities: list[str] | None = None,
    read_only_root_filesystem: bool = True,
) -> dict[str, Any]:
    """Return the container-level security context.

    Every capability is dropped; 'add_capabilities' is the escape hatch for the rare workload that
    needs one back (the restricted standard allows only NET_BIND_SERVICE).
    """
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if add_capabilities:
        capabilities["add"] = list(add_capabilities)
    return {
        "runAsNonRoot": True,
        "runAsUser": user_id,
        "runAsGroup": user_id if group_id is None else group_id,
        "readOnlyRootFilesystem": read_only_root_filesystem,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": capabilities,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def volume_name_for(path: str) -> str:
    """Return a DNS-label volume name for a mount path ("/var/cache/app" -> "writable-var-cache-app")."""
    slug = "-".join(part for part in path.strip("/").replace("_", "-").replace(".", "-").split("/") if part)
    return f"writable-{slug or 'root'}"[:63].rstrip("-")


def writable_volumes(paths: list[str], size_limit: str = "256Mi") -> tuple[list[dict], list[dict]]:
    """Return (volumes, volumeMounts) giving each path a size-limited emptyDir.

    A read-only root filesystem breaks any app that writes to /tmp or a cache directory; these
    mounts keep the root read-only while giving the app the few paths it writes to.
    """
    volumes = [{"name": volume_name_for(path), "emptyDir": {"sizeLimit": size_limit}} for path in paths]
    mounts = [{"name": volume_name_for(path), "mountPath": path} for path in paths]
    return volumes, mounts
