"""Namespace governance specs: Pod Security labels, ResourceQuota and LimitRange.

Ref: https://kubernetes.io/docs/concepts/policy/resource-quotas/
Ref: https://kubernetes.io/docs/concepts/policy/limit-range/
"""

from __future__ import annotations

from typing import Any

from ..models import LimitRangeSpec, PodSecurityLabels, ResourceQuotaSpec

PSA = "pod-security.kubernetes.io"


def pod_security_labels(levels: PodSecurityLabels) -> dict[str, str]:
    """Return the six Pod Security Admission labels (mode and mode-version for each mode)."""
    labels: dict[str, str] = {}
    for mode in ("enforce", "warn", "audit"):
        labels[f"{PSA}/{mode}"] = getattr(levels, mode)
        labels[f"{PSA}/{mode}-version"] = levels.version
    return labels


def resource_quota_spec(quota: ResourceQuotaSpec) -> dict[str, Any]:
    """Return a ResourceQuota spec bounding compute, pods and Jobs."""
    return {
        "hard": {
            "requests.cpu": quota.requests.cpu,
            "requests.memory": quota.requests.memory,
            "limits.cpu": quota.limits.cpu,
            "limits.memory": quota.limits.memory,
            "pods": str(quota.pods),
            "count/jobs.batch": str(quota.jobs),
        }
    }


def limit_range_spec(limits: LimitRangeSpec) -> dict[str, Any]:
    """Return a LimitRange spec with container defaults and the limit/request ratio ceiling."""
    return {
        "limits": [
            {
                "type": "Container",
                "defaultRequest": {"cpu": limits.default_request.cpu, "memory": limits.default_request.memory},
                "default": {"cpu": limits.default_limit.cpu, "memory": limits.default_limit.memory},
                "maxLimitRequestRatio": {
                    "cpu": limits.max_limit_request_ratio.cpu,
                    "memory": limits.max_limit_request_ratio.memory,
                },
            }
        ]
    }
