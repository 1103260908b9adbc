"""Resource footprint: what a set of workloads requests and may use, summed from their pod specs.

Computed from the same pod specs the components register, so the numbers cannot drift from what
is deployed. Exported per component and per stack, and checked against namespace quotas in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .quantities import format_cpu, format_memory, parse_cpu, parse_memory


@dataclass(frozen=True)
class Footprint:
    """CPU (cores) and memory (bytes) requested and allowed, and the pods they come from."""

    pods: int = 0
    cpu_requests: Decimal = Decimal(0)
    memory_requests: Decimal = Decimal(0)
    cpu_limits: Decimal = Decimal(0)
    memory_limits: Decimal = Decimal(0)

    def __add__(self, other: Footprint) -> Footprint:
        return Footprint(
            self.pods + other.pods,
            self.cpu_requests + other.cpu_requests,
            self.memory_requests + other.memory_requests,
            self.cpu_limits + other.cpu_limits,
            self.memory_limits + other.memory_limits,
        )

    def as_dict(self) -> dict[str, Any]:
        """The footprint in Kubernetes quantities, as exported."""
        return {
            "pods": self.pods,
            "requests": {"cpu": format_cpu(self.cpu_requests), "memory": format_memory(self.memory_requests)},
            "limits": {"cpu": format_cpu(self.cpu_limits), "memory": format_memory(self.memory_limits)},
        }


def pod_footprint(pod_spec: dict[str, Any], replicas: int) -> Footprint:
    """Return the footprint of 'replicas' pods of a pod spec: its containers and native sidecars
    (init containers with restartPolicy Always, which run beside them). Other init containers are not
    counted: they run before, not beside, the main containers."""
    per_pod = Footprint(pods=1)
    sidecars = [c for c in pod_spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    for container in [*sidecars, *pod_spec.get("containers", [])]:
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        per_pod = per_pod + Footprint(
            0,
            parse_cpu(requests.get("cpu", "0")),
            parse_memory(requests.get("memory", "0")),
            parse_cpu(limits.get("cpu", "0")),
            parse_memory(limits.get("memory", "0")),
        )
    return Footprint(
        per_pod.pods * replicas,
        per_pod.cpu_requests * replicas,
        per_pod.memory_requests * replicas,
        per_pod.cpu_limits * replicas,
        per_pod.memory_limits * replicas,
    )


def resources_footprint(resources: Any, count: int) -> Footprint:
    """Return the footprint of 'count' pods of one container with these requests and limits (a
    ResourceRequirements): what a quota must hold before any pod spec is built."""
    return Footprint(
        count,
        count * parse_cpu(resources.requests.cpu),
        count * parse_memory(resources.requests.memory),
        count * parse_cpu(resources.limits.cpu),
        count * parse_memory(resources.limits.memory),
    )


def total(footprints: list[Footprint]) -> Footprint:
    """Return the sum of several footprints."""
    result = Footprint()
    for footprint in footprints:
        result = result + footprint
    return result
