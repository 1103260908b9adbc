"""Liveness, readiness and startup probes.

Ref: https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/
"""

from __future__ import annotations

from typing import Any

from ..models import HealthCheck


def _handler(check: HealthCheck, port: str, path: str) -> dict[str, Any]:
    if check.type == "tcp":
        return {"tcpSocket": {"port": port}}
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}


def probes(check: HealthCheck, port: str) -> dict[str, dict[str, Any]]:
    """Return the three probes keyed by their container field name.

    Liveness uses a higher failure threshold than readiness so a briefly overloaded pod is first
    taken out of the Service and only restarted if it stays unhealthy. The startup probe holds the
    other two back for up to 'startup_budget_seconds'.
    """
    startup_period = 5
    return {
        "startupProbe": {
            **_handler(check, port, check.liveness_path),
            "periodSeconds": startup_period,
            "timeoutSeconds": check.timeout_seconds,
            "failureThreshold": max(1, check.startup_budget_seconds // startup_period),
        },
        "livenessProbe": {
            **_handler(check, port, check.liveness_path),
            "periodSeconds": check.period_seconds,
            "timeoutSeconds": check.timeout_seconds,
            "failureThreshold": check.failure_threshold + 2,
        },
        "readinessProbe": {
            **_handler(check, port, check.readiness_path),
            "periodSeconds": max(1, check.period_seconds // 2),
            "timeoutSeconds": check.timeout_seconds,
            "failureThreshold": check.failure_threshold,
            "successThreshold": 1,
        },
    }
