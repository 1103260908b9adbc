"""Where replicas may run and who is evicted last: spread policy and the platform's PriorityClasses.

Ref: https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
Ref: https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from .builders.labels import MANAGED_BY, PART_OF
from .models import DnsLabel, KeelsonModel


class SpreadPolicy(KeelsonModel):
    """How the replicas of a workload spread across zones and nodes.

    Default: soft (zone spread 'ScheduleAnyway', node anti-affinity 'preferred'), because a small
    or single-zone cluster must still run every replica. Production sets the zone spread hard
    ('DoNotSchedule' with 'minZones' 3): a replica that cannot keep the zones balanced stays
    Pending (and visible) instead of silently piling into one zone that can fail whole. Node
    anti-affinity stays 'preferred' even there, since 'required' caps the replicas at the node
    count (an autoscaler's maximum plus the rollout's surge pod would need that many nodes).
    """

    zone_spread: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"
    """What the scheduler does when a replica would unbalance the zones by more than one. Default:
    'ScheduleAnyway', so a small or single-zone cluster still runs every replica."""
    min_zones: int | None = Field(default=None, ge=1, le=100)
    """Zones that must exist before the spread counts as balanced (the constraint's minDomains):
    with fewer, each zone takes at most one replica. Only with zoneSpread 'DoNotSchedule'. Default:
    none, the zones the cluster has; production sets 3."""
    node_anti_affinity: Literal["preferred", "required"] = "preferred"
    """'required' never puts two replicas on one node; 'preferred' only tries to. Default:
    'preferred', because 'required' caps the replicas at the node count."""

    @model_validator(mode="after")
    def _min_zones_needs_a_hard_spread(self) -> SpreadPolicy:
        if self.min_zones is not None and self.zone_spread != "DoNotSchedule":
            raise ValueError(
                f"'minZones' ({self.min_zones}) needs 'zoneSpread' DoNotSchedule, not '{self.zone_spread}': "
                "the API server refuses minDomains on a constraint that never blocks scheduling"
            )
        return self


class PriorityClasses(KeelsonModel):
    """The PriorityClasses of the platform's pods.

    Default: the log collector at 1000000 and the rest of the platform (Prometheus, Alertmanager,
    Grafana, Loki) at 100000, because under node pressure the kubelet evicts lower priorities first:
    apps (priority 0) go before the platform, and the collector, one per node and the only reader of
    that node's logs, goes last. The collector may preempt lower-priority pods to get onto a full
    node (a node without it is a blind spot); the platform class never preempts running apps.
    Kubernetes' own system-* classes (2000000000 and up) stay above both.
    """

    platform: DnsLabel = "keelson-platform"
    """Name of the class of Prometheus, Alertmanager, Grafana and Loki. Default: 'keelson-platform'."""
    platform_value: int = Field(default=100000, ge=1, le=1000000000)
    """Its priority. Default: 100000, above the apps (0), so they are evicted first, and far below
    Kubernetes' system classes."""
    collector: DnsLabel = "keelson-log-collector"
    """Name of the class of the Fluent Bit DaemonSet. Default: 'keelson-log-collector'."""
    collector_value: int = Field(default=1000000, ge=1, le=1000000000)
    """Its priority; above the platform's. Default: 1000000, so a node's log collector is the last
    platform pod evicted from it."""

    @model_validator(mode="after")
    def _collector_above_platform(self) -> PriorityClasses:
        if self.collector_value <= self.platform_value:
            raise ValueError(
                f"'collectorValue' ({self.collector_value}) must be above 'platformValue' ({self.platform_value}): "
                "the log collector is the last platform pod a node should evict"
            )
        if self.collector == self.platform:
            raise ValueError(f"'collector' and 'platform' name the same PriorityClass ('{self.platform}')")
        return self


class PlatformPriorityClasses(pulumi.ComponentResource):
    """The cluster-scoped PriorityClasses named by PriorityClasses: create them before the pods that use them."""

    def __init__(self, name: str, args: PriorityClasses, opts: pulumi.ResourceOptions | None = None):
        super().__init__("keelson:index:PlatformPriorityClasses", name, None, opts)
        labels = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY}
        for role, class_name, value, preemption, what in (
            ("platform", args.platform, args.platform_value, "Never", "Keelson's platform workloads: evicted after the apps"),
            ("collector", args.collector, args.collector_value, "PreemptLowerPriority", "Keelson's log collector: evicted last"),
        ):
            k8s.scheduling.v1.PriorityClass(
                f"{name}-{role}",
                metadata={"name": class_name, "labels": labels},
                value=value,
                preemption_policy=preemption,
                global_default=False,
                description=what,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
