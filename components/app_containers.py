"""The other containers of a HardenedApp's pods: init containers and native sidecars.

Both are hardened exactly like the app's own container (builders/workload.hardened_container): the
app's UID, a read-only root filesystem with emptyDir 'writablePaths', every capability dropped, no
privilege escalation, seccomp RuntimeDefault, requests and limits within the namespace LimitRange.
Ref: https://kubernetes.io/docs/concepts/workloads/pods/init-containers/
Ref: https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .fields import EnvName, MountPath
from .models import ComputeResources, DnsLabel, ImageReference, KeelsonModel, Port, ResourceRequirements

SIDECAR_RESOURCES = ResourceRequirements(
    requests=ComputeResources(cpu="50m", memory="64Mi"), limits=ComputeResources(cpu="200m", memory="256Mi")
)
"""Default requests and limits of an extra container: a proxy or an agent, far smaller than the app
(limit/request 4, the default LimitRange ceiling)."""


class ContainerSpec(KeelsonModel):
    """An init container or a sidecar of a HardenedApp, hardened like the app's container."""

    name: DnsLabel
    """Container name, unique in the pod (the app's container is named after the app). Required."""
    image: ImageReference
    """Image pinned by tag or digest, as the app's. Required."""
    command: list[str] | None = None
    """Overrides the image's entrypoint. Default: none, the image's own."""
    args: list[str] | None = None
    """Overrides the image's arguments. Default: none, the image's own."""
    resources: ResourceRequirements = SIDECAR_RESOURCES
    """Requests and limits. Default: 50m/64Mi requested, 200m/256Mi limit (see SIDECAR_RESOURCES)."""
    ports: dict[DnsLabel, Port] = Field(default={})
    """Named TCP ports the container serves, e.g. {proxy: 15001}. Default: none."""
    writable_paths: list[MountPath] = Field(default=[])
    """Paths that get a writable emptyDir (shared with any other container naming the same path).
    Default: none, the root filesystem stays read-only."""
    env: dict[EnvName, str] = Field(default={})
    """Plain environment variables. Default: none (the app's ConfigMap and Secret are not handed to
    extra containers: each gets only what it names)."""

    def container_fields(self) -> dict[str, Any]:
        """The container fields beyond those every hardened container gets."""
        return {
            "command": list(self.command) if self.command else None,
            "args": list(self.args) if self.args else None,
            "env": [{"name": key, "value": value} for key, value in self.env.items()] or None,
        }
