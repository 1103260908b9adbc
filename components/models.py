"""Typed, validated specifications shared by the components' Args.

Every model rejects unknown keys (a typo in a stack file is an error, not a silent default) and
accepts both the camelCase spelling used in Pulumi stack files and the snake_case one used from
Python. Each field documents its default and, where the default trades convenience for safety,
why and which field is the escape hatch. The network models (egress, Ingress, peers) live in
network_models.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .fields import (  # noqa: F401  (re-exported: the components and settings import them from here)
    Cidr,
    CpuQuantity,
    DnsLabel,
    EnvName,
    Hostname,
    ImageReference,
    LabelKey,
    LabelValue,
    MAX_WHOLE_NUMBER,
    MemoryQuantity,
    MountPath,
    Port,
    label_key_problem,
    label_value_problem,
    plain_number,
    ratio_value,
)
from .quantities import parse_cpu, parse_memory

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
"""Pod Security Standards levels. Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/"""

AppComponent = Literal["api", "worker"]


class KeelsonModel(BaseModel):
    """Base of every config model: frozen, strict about unknown keys, camelCase aliases.

    Floats must be finite (inf and NaN mean nothing to Kubernetes or the tools) and whole numbers
    must fit in 32 bits, so a huge value fails here rather than at deploy time.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _partial_resources_keep_the_field_default(cls, data: Any) -> Any:
        """A stack that sets part of a 'resources' field (say only requests.cpu) keeps the rest of
        that field's own default (Fluent Bit's 200m/256Mi limits), not ResourceRequirements' generic
        one (2/2Gi), which would silently multiply a small workload's limits."""
        if not isinstance(data, dict) or "ResourceRequirements" not in globals():
            return data  # while models.py itself is being defined
        for name, field in cls.model_fields.items():
            if not isinstance(field.default, ResourceRequirements):
                continue
            key = next((candidate for candidate in (field.alias, name) if candidate and candidate in data), None)
            given = data.get(key) if key else None
            if not isinstance(given, dict):
                continue
            default = field.default.model_dump()
            merged = dict(given)
            for side in ("requests", "limits"):
                if side not in given:
                    merged[side] = default[side]
                elif isinstance(given[side], dict):
                    merged[side] = {**default[side], **given[side]}
            data = {**data, key: merged}
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _fits_in_32_bits(cls, value: object) -> object:
        if type(value) is int and not -MAX_WHOLE_NUMBER <= value <= MAX_WHOLE_NUMBER:
            bound = f"above {MAX_WHOLE_NUMBER}" if value > 0 else f"below -{MAX_WHOLE_NUMBER}"
            raise ValueError(f"is {bound}, beyond the whole numbers Kubernetes and the tools accept here (32 bits)")
        return value


class ComputeResources(KeelsonModel):
    """CPU and memory for one container or one quota line."""

    cpu: CpuQuantity
    """CPU in cores ("2") or millicores ("500m"). Required: an object that sets one resource sets both."""
    memory: MemoryQuantity
    """Memory such as "512Mi" or "2Gi". Required: an object that sets one resource sets both."""


class ResourceRequirements(KeelsonModel):
    """Requests and limits of a container.

    Default: 500m/512Mi requested, 2/2Gi limit, because every container must declare both for the
    scheduler and the namespace ResourceQuota to work, and a 4x burst fits most web workloads.
    """

    requests: ComputeResources = ComputeResources(cpu="500m", memory="512Mi")
    """What the scheduler reserves for the container. Default: 500m CPU and 512Mi for an app, the
    LimitRange's default request (each platform workload's 'resources' sets its own); size it from use."""
    limits: ComputeResources = ComputeResources(cpu="2", memory="2Gi")
    """The most the container may use (CPU is throttled above it, memory is OOM-killed). Default: 2 CPU
    and 2Gi for an app, a 4x burst over the request, the most the default LimitRange allows (each
    platform workload's 'resources' sets its own, also 4x)."""

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourceRequirements:
        for resource, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            request = getattr(self.requests, resource)
            limit = getattr(self.limits, resource)
            if parse(request) <= 0:
                raise ValueError(
                    f"'requests.{resource}' ({request}) must be above zero: a LimitRange with "
                    "maxLimitRequestRatio (every governed namespace has one) rejects a container whose request is 0"
                )
            if parse(limit) < parse(request):
                raise ValueError(
                    f"'limits.{resource}' ({limit}) must be greater than or equal to "
                    f"'requests.{resource}' ({request})"
                )
        return self

    def ratio(self, resource: Literal["cpu", "memory"]) -> Decimal:
        """Return limit / request for one resource (what a LimitRange's maxLimitRequestRatio bounds)."""
        parse = parse_cpu if resource == "cpu" else parse_memory
        return parse(getattr(self.limits, resource)) / parse(getattr(self.requests, resource))

    def ratios_above(self, ceiling: Any) -> list[tuple[str, str, str]]:
        """(resource, 'limits.cpu/requests.cpu is 10 (1/100m)', allowed) for each resource whose
        limit/request ratio is above 'ceiling' (a maxLimitRequestRatio with cpu and memory)."""
        found = []
        for resource in ("cpu", "memory"):
            ratio, allowed = self.ratio(resource), getattr(ceiling, resource)
            if ratio > ratio_value(allowed):
                found.append((
                    resource,
                    f"limits.{resource}/requests.{resource} is {plain_number(ratio)} "
                    f"({getattr(self.limits, resource)}/{getattr(self.requests, resource)})",
                    allowed,
                ))
        return found


def check_limit_range_ratios(workloads: list[tuple[str, ResourceRequirements]], ceiling: Any) -> None:
    """Raise for the first workload whose limit/request ratio is above the namespace LimitRange's
    maxLimitRequestRatio ('ceiling', with cpu and memory): the API server would reject its pods."""
    for owner, resources in workloads:
        for resource, described, allowed in resources.ratios_above(ceiling):
            raise ValueError(
                f"'{owner}.resources' {described}, above 'namespace.limitRange.maxLimitRequestRatio.{resource}' "
                f"({allowed}): the LimitRange would reject the pods"
            )


class PodSecurityLabels(KeelsonModel):
    """Pod Security Admission levels for a namespace.

    Default: 'restricted' for enforce, warn and audit, because it is the only level that forbids
    root, privilege escalation and host access. Escape hatch: set 'enforce' to 'baseline' (as the
    staging stack does) while keeping 'warn'/'audit' at 'restricted' to see what would break.
    Ref: https://kubernetes.io/docs/concepts/security/pod-security-admission/
    """

    enforce: PodSecurityLevel = "restricted"
    """Pods violating this level are rejected. Default: 'restricted' ('privileged' in the log collector's
    namespace, for its hostPaths), the only level that forbids root, privilege escalation and host
    access; 'baseline' is the escape hatch (the staging stack uses it)."""
    warn: PodSecurityLevel = "restricted"
    """Violations of this level are returned to the client as warnings. Default: 'restricted'
    ('baseline' in the log collector's namespace), so a relaxed 'enforce' still shows what would break."""
    audit: PodSecurityLevel = "restricted"
    """Violations of this level are recorded in the audit log. Default: 'restricted' ('baseline' in the
    log collector's namespace), so the log shows what would break even under a relaxed 'enforce'."""
    version: str = Field(
        default="v1.33",
        pattern=r"^(latest|v1\.[0-9]+)$",
        description="Policy version the labels pin. Default: v1.33, so a cluster upgrade never tightens "
        "the policy under running workloads without a reviewed change.",
    )


class ResourceQuotaSpec(KeelsonModel):
    """Ceilings for everything a namespace may request.

    Default: 30 CPU / 60Gi requested, 60 CPU / 120Gi limits, 100 pods, 200 Jobs, because an
    unbounded namespace lets one runaway autoscaler starve the cluster.
    """

    requests: ComputeResources = ComputeResources(cpu="30", memory="60Gi")
    """Sum of all requests in the namespace. Default: 30 CPU and 60Gi, so one runaway autoscaler
    cannot reserve the whole cluster; raise it when the apps' autoscaling maximums need more."""
    limits: ComputeResources = ComputeResources(cpu="60", memory="120Gi")
    """Sum of all limits in the namespace. Default: 60 CPU and 120Gi, twice the requests, so the
    pods keep room to burst together."""
    pods: int = Field(default=100, ge=1)
    """Most pods the namespace may hold. Default: 100, so a runaway controller cannot fill the
    cluster with pods."""
    jobs: int = Field(default=200, ge=0)
    """Most Jobs (count/jobs.batch) the namespace may hold. Default: 200, so finished Jobs that are
    never cleaned up cannot pile up without bound."""


class LimitRangeSpec(KeelsonModel):
    """Per-container defaults and bounds of a namespace.

    Default: containers without resources get 500m/512Mi requests and 2/2Gi limits, and no
    container may set a limit more than 4x its request, because unbounded bursts make node
    pressure unpredictable.
    """

    default_request: ComputeResources = ComputeResources(cpu="500m", memory="512Mi")
    """Requests given to containers that declare none. Default: 500m CPU and 512Mi, a HardenedApp's
    default request, so a container without resources is still counted and scheduled."""
    default_limit: ComputeResources = ComputeResources(cpu="2", memory="2Gi")
    """Limits given to containers that declare none. Default: 2 CPU and 2Gi, 4x the default request."""
    max_limit_request_ratio: ComputeResources = ComputeResources(cpu="4", memory="4")
    """Highest limit/request ratio a container may have; app resources are checked against it.
    Default: 4 for CPU and memory, because unbounded bursts make node pressure unpredictable."""

    @model_validator(mode="after")
    def _defaults_within_bounds(self) -> LimitRangeSpec:
        for resource, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            request_text = getattr(self.default_request, resource)
            limit_text = getattr(self.default_limit, resource)
            ratio_text = getattr(self.max_limit_request_ratio, resource)
            request, limit, ceiling = parse(request_text), parse(limit_text), ratio_value(ratio_text)
            if ceiling < 1:
                raise ValueError(
                    f"'maxLimitRequestRatio.{resource}' ({ratio_text}) must be at least 1: the API server refuses "
                    "a ratio below 1, since no limit can be below its request"
                )
            if request <= 0:
                raise ValueError(
                    f"'defaultRequest.{resource}' ({request_text}) must be above zero: the LimitRange would "
                    "reject every container that relies on it, its limit/request ratio being undefined"
                )
            if request > limit:
                raise ValueError(
                    f"'defaultRequest.{resource}' ({request_text}) must not be above 'defaultLimit.{resource}' "
                    f"({limit_text}): the API server refuses such a LimitRange"
                )
            if limit / request > ceiling:
                raise ValueError(
                    f"'defaultLimit.{resource}'/'defaultRequest.{resource}' is {plain_number(limit / request)} "
                    f"({limit_text}/{request_text}), above 'maxLimitRequestRatio.{resource}' ({ratio_text}): "
                    "every container that relies on the defaults would be rejected"
                )
        return self


SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""Namespaces Kubernetes creates and runs in; the whole 'kube-' prefix is reserved for them.
Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces"""


def system_namespace(name: str) -> bool:
    """Whether 'name' is a namespace Kubernetes itself owns."""
    return name in SYSTEM_NAMESPACES or name.startswith("kube-")


class NamespaceSpec(KeelsonModel):
    """A governed namespace: Pod Security labels, quota, limit range and default-deny policies."""

    name: DnsLabel
    """The namespace name (a DNS-1123 label); never one of Kubernetes' own (default, kube-*). Required
    whenever the namespace object is given."""

    @field_validator("name")
    @classmethod
    def _not_a_system_namespace(cls, name: str) -> str:
        if system_namespace(name):
            raise ValueError(
                f"'{name}' is a namespace Kubernetes itself runs in (default and kube-* are reserved): "
                "its quota, LimitRange and default-deny policies would land on the cluster's own pods; "
                "choose a name of your own"
            )
        return name

    pod_security: PodSecurityLabels = PodSecurityLabels()
    """Pod Security Admission levels. Default: 'restricted' enforced, warned and audited (see
    PodSecurityLabels for why and the escape hatch)."""
    quota: ResourceQuotaSpec = ResourceQuotaSpec()
    """ResourceQuota of the namespace. Default: 30 CPU / 60Gi requested, 60 CPU / 120Gi limits, 100
    pods, 200 Jobs, because an unbounded namespace can starve the cluster (see ResourceQuotaSpec)."""
    limit_range: LimitRangeSpec = LimitRangeSpec()
    """LimitRange of the namespace's containers. Default: 500m/512Mi requests and 2/2Gi limits for
    containers without resources, and limits at most 4x the requests (see LimitRangeSpec)."""
    monitored: bool = Field(
        default=True,
        description="Labels the namespace keelson.dev/monitored=true, a marker for tools that pick monitored "
        "namespaces by label (no Keelson component selects on it). Default: true.",
    )


class HealthCheck(KeelsonModel):
    """Liveness, readiness and startup probes of the main container.

    Default: HTTP GET /healthz (liveness) and /readyz (readiness) on the app port, with a startup
    probe allowing 150 s before liveness starts, because a slow start must not be killed as a hang.
    Use type 'tcp' for workers without an HTTP endpoint.
    """

    type: Literal["http", "tcp"] = "http"
    """'http' probes GET the paths below; 'tcp' only opens the port. Default: 'http', because an open
    port does not prove the app answers; use 'tcp' for workers without an HTTP endpoint."""
    liveness_path: str = Field(default="/healthz", pattern=r"^/")
    """Path whose failure restarts the container; the startup probe checks it too. Default: /healthz."""
    readiness_path: str = Field(default="/readyz", pattern=r"^/")
    """Path whose failure takes the pod out of the Service. Default: /readyz, apart from /healthz, so
    an overloaded app can stop taking traffic without being restarted."""
    period_seconds: int = Field(default=10, ge=1, le=300)
    """Seconds between liveness checks (readiness checks twice as often). Default: 10, Kubernetes'
    own default."""
    timeout_seconds: int = Field(default=2, ge=1, le=60)
    """Seconds a check may take. Default: 2, above Kubernetes' 1, so a brief stall is not a failure."""
    failure_threshold: int = Field(default=3, ge=1, le=30)
    """Failed readiness checks before the pod is unready (liveness allows 2 more). Default: 3, so a
    briefly overloaded pod leaves the Service before liveness would restart it."""
    startup_budget_seconds: int = Field(
        default=150,
        ge=5,
        le=3600,
        description="How long the startup probe waits for the first success before liveness applies. "
        "Default: 150, because a slow start must not be killed as a hang.",
    )


class Autoscaling(KeelsonModel):
    """HorizontalPodAutoscaler (autoscaling/v2) bounds and targets.

    Default: 70 % CPU and 80 % memory utilization targets; the scaling behaviour (up 100 % per
    30 s, down 50 % per 60 s after a 300 s stabilization window) is fixed so a traffic dip never
    halves capacity at once.
    """

    min_replicas: int = Field(ge=1)
    """Fewest pods the autoscaler keeps. Required."""
    max_replicas: int = Field(ge=1, le=1000)
    """Most pods the autoscaler may run. Required; a stack checks that its namespace quota fits this many pods."""
    cpu_utilization: int = Field(default=70, ge=10, le=100)
    """Target average CPU use, percent of requests. Default: 70, leaving headroom while new pods start."""
    memory_utilization: int = Field(default=80, ge=10, le=100)
    """Target average memory use, percent of requests. Default: 80, leaving headroom while new pods start."""

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"'minReplicas' ({self.min_replicas}) must be less than or equal to "
                f"'maxReplicas' ({self.max_replicas})"
            )
        return self


class DisruptionBudget(KeelsonModel):
    """PodDisruptionBudget: give exactly one of minAvailable or maxUnavailable.

    A budget that can never be satisfied during a drain (minAvailable at or above the replica
    count, or maxUnavailable 0) blocks node upgrades forever; HardenedAppArgs rejects it.
    """

    min_available: int | None = Field(default=None, ge=0)
    """Pods that must stay up during voluntary disruptions. Default: none; give this or 'maxUnavailable'."""
    max_unavailable: int | None = Field(default=None, ge=0)
    """Pods that may be down at once during voluntary disruptions. Default: none; give this or
    'minAvailable' (HardenedApp's default budget is maxUnavailable 1)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> DisruptionBudget:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError(
                f"give exactly one of 'minAvailable' ({self.min_available}) and "
                f"'maxUnavailable' ({self.max_unavailable})"
            )
        if self.max_unavailable == 0:
            raise ValueError("'maxUnavailable' (0) blocks every voluntary eviction; use 1 or more")
        return self
