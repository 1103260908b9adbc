"""HorizontalPodAutoscaler (autoscaling/v2) and PodDisruptionBudget specs.

Ref: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#configurable-scaling-behavior
Ref: https://kubernetes.io/docs/tasks/run-application/configure-pdb/
"""

from __future__ import annotations

from typing import Any

from ..models import Autoscaling, DisruptionBudget

SCALE_BEHAVIOR: dict[str, Any] = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    },
}
"""Double quickly under load; shed at most half every minute, and only after 5 quiet minutes."""


def _utilization(resource: str, target: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
    }


def hpa_spec(deployment_name: str, autoscaling: Autoscaling, kind: str = "Deployment") -> dict[str, Any]:
    """Return an HPA spec scaling a Deployment (or another 'kind', e.g. StatefulSet) on CPU and memory utilization."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": deployment_name},
        "minReplicas": autoscaling.min_replicas,
        "maxReplicas": autoscaling.max_replicas,
        "metrics": [
            _utilization("cpu", autoscaling.cpu_utilization),
            _utilization("memory", autoscaling.memory_utilization),
        ],
        "behavior": SCALE_BEHAVIOR,
    }


def pdb_spec(selector: dict[str, str], budget: DisruptionBudget) -> dict[str, Any]:
    """Return a PDB spec; unhealthy pods may always be evicted so a crash loop never blocks a drain."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(selector)},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    if budget.min_available is not None:
        spec["minAvailable"] = budget.min_available
    else:
        spec["maxUnavailable"] = budget.max_unavailable
    return spec
