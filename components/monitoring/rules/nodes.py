"""Node rules: node conditions from kube-state-metrics, filesystems and clocks from node-exporter.

- conditions (job 'kube-state-metrics'): a node NotReady, or under MemoryPressure, DiskPressure or
  PIDPressure (the kubelet then evicts pods). Kubernetes has no CPU pressure condition: CPU is
  compressible, so a saturated node throttles instead of evicting;
- filesystems (job 'node-exporter'): little space left *and* on track to run out, so a volume
  that is simply full but stable does not page at night;
- clocks: an offset from the reference above 50 ms and growing, or NTP not synchronised.

Thresholds and windows are node-mixin's.
Ref: https://github.com/prometheus/node_exporter/blob/master/docs/node-mixin/alerts/alerts.libsonnet
Ref: https://kubernetes.io/docs/reference/node/node-status/#condition
"""

from __future__ import annotations

from .helpers import alert, record

PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure")

_FILESYSTEMS = '%(node_exporter)s, fstype!="", mountpoint!=""'
"""Real mounts only: node-exporter also reports filesystems without a type or mount point."""

RECORDING_RULES = [
    record(
        "instance_device_mountpoint:node_filesystem_avail_bytes:ratio",
        f"""
        node_filesystem_avail_bytes{{{_FILESYSTEMS}}}
        /
        node_filesystem_size_bytes{{{_FILESYSTEMS}}}
        """,
    ),
]


def _filling_up(percent_left: int, hours: int, severity: str) -> dict:
    return alert(
        "NodeFilesystemSpaceFillingUp",
        f"""
        instance_device_mountpoint:node_filesystem_avail_bytes:ratio < {percent_left / 100}
        and
        predict_linear(node_filesystem_avail_bytes{{{_FILESYSTEMS}}}[6h], {hours} * 3600) < 0
        and
        node_filesystem_readonly{{{_FILESYSTEMS}}} == 0
        """,
        for_="1h",
        severity=severity,
        summary=f"A node filesystem has less than {percent_left} % left and fills up within {hours} hours.",
        description=f"""
        Filesystem {{{{ $labels.mountpoint }}}} ({{{{ $labels.device }}}}) on {{{{ $labels.instance }}}}
        has {{{{ $value | humanizePercentage }}}} of its space left and, at the pace of the last 6 hours,
        is full within {hours} hours: the kubelet then evicts pods for DiskPressure.
        """,
    )


ALERTS = [
    alert(
        "KubeNodeNotReady",
        'max by (node) (kube_node_status_condition{%(kube_state_metrics)s, condition="Ready", status="true"}) == 0',
        for_="15m",
        severity="warning",
        summary="A node has not been Ready for 15 minutes.",
        description="""
        Node {{ $labels.node }} has not been Ready for 15 minutes: no new pod is scheduled on it, and
        its pods are evicted once the not-ready toleration (5 minutes by default) runs out.
        """,
    ),
    alert(
        "KubeNodePressure",
        f"""
        max by (node, condition) (
          kube_node_status_condition{{
            %(kube_state_metrics)s, condition=~"{'|'.join(PRESSURE_CONDITIONS)}", status="true"
          }}
        ) == 1
        """,
        for_="5m",
        severity="warning",
        summary="A node reports memory, disk or PID pressure.",
        description="""
        Node {{ $labels.node }} has reported {{ $labels.condition }} for 5 minutes: the kubelet
        evicts pods from it, lowest priority first, and the scheduler avoids it.
        """,
    ),
    _filling_up(15, 24, "warning"),
    _filling_up(10, 4, "critical"),
    alert(
        "NodeClockSkewDetected",
        """
        (
          node_timex_offset_seconds{%(node_exporter)s} > 0.05
          and deriv(node_timex_offset_seconds{%(node_exporter)s}[5m]) >= 0
        )
        or
        (
          node_timex_offset_seconds{%(node_exporter)s} < -0.05
          and deriv(node_timex_offset_seconds{%(node_exporter)s}[5m]) <= 0
        )
        """,
        for_="10m",
        severity="warning",
        summary="A node's clock is more than 50 ms off and not converging.",
        description="""
        The clock of {{ $labels.instance }} is {{ $value | humanizeDuration }} off its reference and
        not converging: certificate validity, token expiry and log ordering go wrong with it.
        """,
    ),
    alert(
        "NodeClockNotSynchronising",
        """
        min_over_time(node_timex_sync_status{%(node_exporter)s}[5m]) == 0
        and
        node_timex_maxerror_seconds{%(node_exporter)s} >= 16
        """,
        for_="10m",
        severity="warning",
        summary="A node's clock is not synchronised.",
        description="""
        The clock of {{ $labels.instance }} is not synchronised by NTP and its estimated maximum error
        has reached 16 seconds: check the time daemon (chronyd, systemd-timesyncd) and its upstream.
        """,
    ),
]

GROUPS = [
    {"name": "keelson.nodes.recording", "rules": RECORDING_RULES},
    {"name": "keelson.nodes.alerts", "rules": ALERTS},
]
