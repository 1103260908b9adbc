"""Storage rules: how full each PersistentVolumeClaim is, from the kubelet's volume stats.

Ref: https://kubernetes.io/docs/reference/instrumentation/metrics/ (kubelet_volume_stats_*)
"""

from __future__ import annotations

from .helpers import alert, record

RECORDING_RULES = [
    record(
        "namespace_persistentvolumeclaim:kubelet_volume_stats_used_bytes:ratio",
        """
        max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{%(kubelet)s})
        /
        max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{%(kubelet)s})
        """,
    ),
    record(
        "namespace_persistentvolumeclaim:kubelet_volume_stats_available_bytes:ratio",
        """
        max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{%(kubelet)s})
        /
        max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{%(kubelet)s})
        """,
    ),
]

# One name, two severities (as kubernetes-mixin's KubePersistentVolumeFillingUp): the warning comes
# first; once the critical one fires, Alertmanager's critical-mutes-warning rule silences it.
ALERTS = [
    alert(
        "PersistentVolumeFillingUp",
        "namespace_persistentvolumeclaim:kubelet_volume_stats_used_bytes:ratio > 0.85",
        for_="5m",
        severity="warning",
        summary="A persistent volume is more than 85 % full.",
        description="""
        Volume claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is
        {{ $value | humanizePercentage }} full (threshold 85%).
        """,
    ),
    alert(
        "PersistentVolumeFillingUp",
        "namespace_persistentvolumeclaim:kubelet_volume_stats_available_bytes:ratio < 0.10",
        for_="5m",
        severity="critical",
        summary="A persistent volume has less than 10 % free space.",
        description="""
        Volume claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has only
        {{ $value | humanizePercentage }} of its space free (threshold 10%); writes fail when it is full.
        """,
    ),
]

# kubernetes-mixin's KubePersistentVolumeFillingUp with predict_linear: a volume under 15 % free
# that, at the pace of the last 6 hours, is full within 4 days warns before the thresholds above.
ALERTS.append(
    alert(
        "PersistentVolumeFullInFourDays",
        """
        namespace_persistentvolumeclaim:kubelet_volume_stats_available_bytes:ratio < 0.15
        and on (namespace, persistentvolumeclaim)
        max by (namespace, persistentvolumeclaim) (
          predict_linear(kubelet_volume_stats_available_bytes{%(kubelet)s}[6h], 4 * 24 * 3600)
        ) < 0
        """,
        for_="1h",
        severity="warning",
        summary="A persistent volume is predicted to be full within four days.",
        description="""
        Volume claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has
        {{ $value | humanizePercentage }} of its space free and, at the pace of the last 6 hours, is
        full within four days.
        """,
    )
)

GROUPS = [
    {"name": "keelson.storage.recording", "rules": RECORDING_RULES},
    {"name": "keelson.storage.alerts", "rules": ALERTS},
]
