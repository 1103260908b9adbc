"""HardenedAppArgs: everything a HardenedApp is configured by, each default documented and validated.

Kept beside components/hardened_app.py (the component) so each stays readable; import either from
there or from `components`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from .app_canary import CanarySpec
from .app_containers import ContainerSpec
from .app_files import AppFiles
from .app_jobs import JobSpec, ScheduledJob
from .app_models import AppIdentity, AppMetadata, AppPlacement, AppStorage
from .builders.security import DEFAULT_USER_ID
from .models import (
    AppComponent,
    Autoscaling,
    DisruptionBudget,
    DnsLabel,
    EnvName,
    HealthCheck,
    ImageReference,
    KeelsonModel,
    LabelKey,
    MountPath,
    NamespaceSpec,
    Port,
    ResourceRequirements,
)
from .network_models import AppPeer, EgressRule, IngressPolicy, IngressSpec, NetworkPeers
from .scheduling import SpreadPolicy

LogLevel = Literal["debug", "info", "warning", "error"]

DEFAULT_SCRAPE_INTERVALS: dict[str, str] = {"api": "5s", "worker": "10s"}
"""APIs are scraped every 5 s so latency alerts react fast; workers every 10 s."""

PLATFORM_ENV: dict[str, str] = {"LOG_LEVEL": "log_level", "ENVIRONMENT": "environment"}
"""Environment variables HardenedApp sets itself, and the field each comes from."""

class HardenedAppArgs(KeelsonModel):
    """Arguments of HardenedApp. Every default is safe; each relaxation has a named field.

    Security defaults (see components/builders/security.py):
    - runs as UID/GID 10001 (escape hatch: 'user_id'), non-root, no privilege escalation, all
      capabilities dropped (escape hatch: 'add_capabilities'), seccomp RuntimeDefault;
    - read-only root filesystem, because a writable image is where an attacker persists; the paths
      an app must write to get emptyDir mounts (escape hatch: 'writable_paths', default ['/tmp']);
    - no Kubernetes API token in the pod, because most apps never call the API and a mounted token
      is a credential to steal (escape hatch: 'api_access');
    - network: default deny, then only ingress controller -> app port, Prometheus -> metrics port
      and DNS are allowed; an app that calls anything else names it in 'egress' (default: nothing),
      because a compromised pod that can reach the internet can exfiltrate and fetch tools.
    """

    namespace: DnsLabel | NamespaceSpec | None = Field(
        default=None,
        description="Name of an existing namespace (e.g. a GovernedNamespace's), or a NamespaceSpec for the app "
        "to create and govern its own. Default: None, a governed namespace named after the app.",
    )
    image: ImageReference
    """Container image pinned by tag or digest; untagged and :latest images are rejected. Required."""
    component: AppComponent = "api"
    """'api' (serves requests) or 'worker' (background jobs); sets the component label and scrape
    interval. Default: 'api', scraped every 5 s so latency alerts react fast."""
    environment: DnsLabel = "production"
    """Environment name handed to the app (ENVIRONMENT) and used in the instance label. Default:
    'production', so an app used outside a stack is never labelled a test deployment; in a stack,
    keelson:environment sets it."""
    log_level: LogLevel = "info"
    """LOG_LEVEL handed to the app. Default: 'info'; in a stack, keelson:logLevel sets it."""
    replicas: int = Field(default=2, ge=1, le=1000)
    """Pods at first deploy; with autoscaling the HPA owns the count afterwards. Default: 2, so losing
    one pod (a crash, a node drain) is not an outage."""
    port: Port = Field(
        default=8000,
        description="Container port the app serves HTTP on. Default: 8000, an unprivileged port, so the "
        "app needs no NET_BIND_SERVICE capability.",
    )
    metrics_port: Port | None = Field(
        default=None, description="Separate metrics port. Default: none, metrics are served on the app port."
    )
    metrics_path: str = Field(default="/metrics", pattern=r"^/")
    """HTTP path Prometheus scrapes. Default: /metrics, the Prometheus client libraries' convention."""
    scrape_interval: str | None = Field(
        default=None,
        pattern=r"^[0-9]+[smh]$",
        description="Prometheus scrape interval. Default: 5s for 'api', 10s for 'worker'.",
    )
    command: list[str] | None = None
    """Overrides the image's entrypoint. Default: none, the image's own."""
    args: list[str] | None = None
    """Overrides the image's arguments. Default: none, the image's own."""
    resources: ResourceRequirements = ResourceRequirements()
    """Requests and limits of the app container. Default: 500m CPU / 512Mi requested, 2 CPU / 2Gi
    limit (see ResourceRequirements)."""
    health_check: HealthCheck = HealthCheck()
    """Liveness, readiness and startup probes. Default: HTTP /healthz and /readyz on the app port,
    with 150 s to start (see HealthCheck)."""
    autoscaling: Autoscaling | None = None
    """HorizontalPodAutoscaler bounds. Default: none, a fixed 'replicas' count, because only the app's
    team knows its load."""
    disruption_budget: DisruptionBudget | None = Field(
        default=DisruptionBudget(max_unavailable=1),
        description="Default: maxUnavailable 1, so a node drain never takes more than one pod at a time "
        "yet is never blocked. None disables the PodDisruptionBudget.",
    )
    ingress: IngressSpec | None = None
    """Public HTTPS exposure. Default: none, the app stays cluster-internal, because exposing it to
    the internet must be a decision."""
    ingress_policy: IngressPolicy = IngressPolicy()
    """Edge policy (controller, issuer, limits, headers) of the Ingress. Default: IngressPolicy's
    (rate limits, TLS 1.2+, security headers); in a stack, keelson:ingress sets it."""
    network: NetworkPeers = NetworkPeers()
    """Where Prometheus and cluster DNS live. Default: NetworkPeers' ('monitoring', kube-system's
    kube-dns); in a stack, keelson:network sets it."""
    talks_to: list[AppPeer] = Field(default=[])
    """Apps (or labelled pods) this app calls inside the cluster: an egress rule to each on its ports.
    Default: none, because under the namespace's default deny an app reaches only what it names; the
    callee must allow the call too ('allowFrom'; a stack's program adds it for apps of the stack)."""
    allow_from: list[AppPeer] = Field(default=[])
    """Apps (or labelled pods) that may call this app: an ingress rule from each to its ports (default:
    'http'). Default: none; the ingress controller and Prometheus are allowed on their own."""
    egress: list[EgressRule] = Field(default=[])
    """Allowed egress beyond DNS, e.g. [{cidr: 0.0.0.0/0, ports: [443]}] for an app calling public HTTPS
    APIs. Default: none, so an app reaches exactly what it asks for."""
    writable_paths: list[MountPath] = Field(default=["/tmp"])
    """Paths that get a writable emptyDir (256Mi at most) under the read-only root filesystem.
    Default: ['/tmp'], where most runtimes write temporary files; add the app's cache directories."""
    user_id: int = Field(default=DEFAULT_USER_ID, ge=1, le=2**31 - 1)
    """UID and GID the app runs as. Default: 10001, a high UID that no host user has."""
    add_capabilities: list[Literal["NET_BIND_SERVICE"]] = Field(default=[])
    """Capabilities added back after dropping ALL (only NET_BIND_SERVICE is allowed by the restricted
    standard). Default: none, because an app on an unprivileged port needs no capability."""
    api_access: bool = False
    """Mount a Kubernetes API token. Default: false, because a token the app never uses is only a credential to steal."""
    env: dict[EnvName, str] = Field(default={})
    """Plain environment variables (in the ConfigMap). Default: none beyond LOG_LEVEL and ENVIRONMENT,
    which HardenedApp sets itself."""
    generated_secrets: list[EnvName] = Field(
        default=[],
        description="Secret env vars whose values are generated by pulumi_random.RandomPassword (32 chars). "
        "Default: none.",
    )
    secret_env: dict[EnvName, SecretStr] = Field(
        default={},
        description="Secret env vars from Pulumi secrets (stack 'secure:' values); never logged or exported. "
        "Default: none.",
    )
    termination_grace_period_seconds: int = Field(default=30, ge=1, le=3600)
    """Seconds between SIGTERM and SIGKILL. Default: 30, Kubernetes' own default, time to finish
    in-flight requests."""
    pre_stop_sleep_seconds: int = Field(
        default=5,
        ge=0,
        le=600,
        description="Sleep before SIGTERM so endpoints and the ingress stop routing to the pod first. "
        "Default: 5, time for the endpoint change to reach the ingress controller; 0 skips the sleep.",
    )
    revision_history_limit: int = Field(default=5, ge=0, le=100)
    """Old ReplicaSets kept for rollbacks. Default: 5, half of Kubernetes' 10, enough to roll back a
    few releases."""
    zone_topology_key: LabelKey = "topology.kubernetes.io/zone"
    """Node label pods are spread across. Default: topology.kubernetes.io/zone, the well-known label
    cloud providers set on every node."""
    storage: AppStorage | None = None
    """A persistent volume per pod at 'storage.path': the app then runs as a StatefulSet with a
    headless Service (see AppStorage). Default: none, a stateless Deployment."""
    canary: CanarySpec | None = None
    """A candidate image served to a share of the Ingress' traffic beside the stable pods (see
    CanarySpec; ingress-nginx canary annotations). Needs 'ingress'. Default: none."""
    migration: JobSpec | None = None
    """A Job run before each rollout (the Deployment waits for it to succeed), e.g. a schema
    migration; its pods are the app's (see JobSpec). Default: none."""
    schedules: dict[DnsLabel, ScheduledJob] = Field(default={})
    """CronJobs of the app by name, e.g. {nightly-export: {schedule: "0 3 * * *", command: [...]}}
    (see ScheduledJob). Default: none."""
    files: AppFiles = AppFiles()
    """Configuration and secret files mounted read-only (mode 0440) at 'files.path' (see AppFiles).
    Default: none."""
    sidecars: list[ContainerSpec] = Field(default=[])
    """Native sidecars (init containers with restartPolicy Always, Kubernetes >= 1.29): they start
    before the app and stop after it, e.g. a database proxy. Hardened like the app. Default: none."""
    init_containers: list[ContainerSpec] = Field(default=[])
    """Containers that run to completion, in order, before the app starts (after the sidecars).
    Hardened like the app. Default: none."""
    placement: AppPlacement = AppPlacement()
    """nodeSelector, tolerations and priorityClassName of the pods (see AppPlacement). Default: any node, priority 0."""
    identity: AppIdentity = AppIdentity()
    """imagePullSecrets and the ServiceAccount's workload-identity annotations (see AppIdentity). Default: none."""
    metadata: AppMetadata = AppMetadata()
    """A team's own labels (every object) and pod annotations (see AppMetadata). Default: none."""
    spread: SpreadPolicy = SpreadPolicy()
    """How replicas spread across zones and nodes. Default: soft (see SpreadPolicy); production makes
    the zone spread hard."""

    @field_validator("scrape_interval")
    @classmethod
    def _scrape_interval_above_zero(cls, interval: str | None) -> str | None:
        if interval is not None and int(interval[:-1]) == 0:
            raise ValueError(
                f"'{interval}' would not scrape at {interval}: Prometheus replaces a scrape interval of 0 with "
                "the global one (30s here); give a positive interval such as 5s"
            )
        return interval

    @field_validator("generated_secrets")
    @classmethod
    def _generated_once(cls, names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"lists {', '.join(repeated)} more than once: each entry is a RandomPassword named after it, "
                "and Pulumi refuses two resources of one name"
            )
        return names

    @model_validator(mode="after")
    def _platform_env_kept(self, info: ValidationInfo) -> HardenedAppArgs:
        # The ConfigMap merges 'env' over LOG_LEVEL and ENVIRONMENT, and envFrom lets the Secret win over
        # the ConfigMap: either way the app would silently get another value than the one its field sets.
        stack_keys: dict[str, str] = (info.context or {}).get("stack_wide_app_fields", {})
        for source, names in (("env", self.env), ("generatedSecrets", self.generated_secrets), ("secretEnv", self.secret_env)):
            for name in sorted(set(names) & PLATFORM_ENV.keys()):
                field = PLATFORM_ENV[name]
                origin = (
                    f"the stack sets for every app from {stack_keys[field]}"
                    if field in stack_keys
                    else f"HardenedApp sets from '{type(self).model_fields[field].alias}'"
                )
                raise ValueError(
                    f"'{source}.{name}' would override the {name} that {origin}; remove it and set that key instead"
                )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> HardenedAppArgs:
        scaling = self.autoscaling
        if scaling is not None and not scaling.min_replicas <= self.replicas <= scaling.max_replicas:
            raise ValueError(
                f"'replicas' ({self.replicas}) must lie within 'autoscaling.minReplicas' "
                f"({scaling.min_replicas}) and 'autoscaling.maxReplicas' ({scaling.max_replicas})"
            )
        budget = self.disruption_budget
        if budget is not None and budget.min_available is not None:
            floor, floor_name = (
                (scaling.min_replicas, "autoscaling.minReplicas") if scaling else (self.replicas, "replicas")
            )
            if budget.min_available >= min(floor, self.replicas):
                raise ValueError(
                    f"'disruptionBudget.minAvailable' ({budget.min_available}) must be less than "
                    f"'{floor_name}' ({floor}) and 'replicas' ({self.replicas}): otherwise no pod can ever be "
                    "evicted and node drains block forever"
                )
        if self.pre_stop_sleep_seconds >= self.termination_grace_period_seconds:
            raise ValueError(
                f"'preStopSleepSeconds' ({self.pre_stop_sleep_seconds}) must be less than "
                f"'terminationGracePeriodSeconds' ({self.termination_grace_period_seconds})"
            )
        sources = {"env": set(self.env), "generatedSecrets": set(self.generated_secrets), "secretEnv": set(self.secret_env)}
        for first, second in (("env", "generatedSecrets"), ("env", "secretEnv"), ("generatedSecrets", "secretEnv")):
            for name in sorted(sources[first] & sources[second]):
                raise ValueError(
                    f"'{first}' and '{second}' both define {name}; keep one (the Secret would silently win "
                    "over the ConfigMap)"
                )
        if self.canary is not None and self.storage is not None:
            raise ValueError(
                f"'canary' (image {self.canary.image}) cannot be combined with 'storage' ({self.storage.path}): a canary "
                "Deployment would not get the StatefulSet's volumes; roll a stateful app out with its own updateStrategy"
            )
        if self.storage is not None and self.storage.path in self.writable_paths:
            raise ValueError(f"'storage.path' ({self.storage.path}) is also in 'writablePaths'; mount it once")
        if self.canary is not None and self.ingress is None:
            raise ValueError(
                f"'canary' (image {self.canary.image}) needs 'ingress': ingress-nginx splits the public traffic; "
                "an app without an Ingress has no traffic to split"
            )
        names = [spec.name for spec in [*self.sidecars, *self.init_containers]]
        for repeated in sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"'sidecars' and 'initContainers' name '{repeated}' more than once; container names are unique in a pod")
        for index, target in enumerate(self.talks_to):
            if target.app is None and not target.ports:
                raise ValueError(
                    f"'talksTo[{index}]' selects pods by label ({target.pod_labels}) but names no 'ports': "
                    "only a HardenedApp peer has a known default (its 'http' port)"
                )
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError(f"'metricsPort' ({self.metrics_port}) equals 'port'; leave it unset to share the port")
        return self

    def namespace_for(self, app_name: str) -> str | NamespaceSpec:
        """Return the namespace name to use, or the spec of the namespace the app must create."""
        if self.namespace is None:
            return NamespaceSpec(name=app_name)
        return self.namespace

    @property
    def extra_writable_paths(self) -> list[str]:
        """The writable paths the sidecars and init containers name (each an emptyDir of the pod)."""
        return [path for spec in [*self.sidecars, *self.init_containers] for path in spec.writable_paths]

    @property
    def container_resources(self) -> list[tuple[str, ResourceRequirements]]:
        """(field, resources) of every container of the pod: the app's, its sidecars', its init containers'."""
        return [
            ("resources", self.resources),
            *((f"sidecars[{i}].resources", spec.resources) for i, spec in enumerate(self.sidecars)),
            *((f"initContainers[{i}].resources", spec.resources) for i, spec in enumerate(self.init_containers)),
        ]

    @property
    def effective_scrape_interval(self) -> str:
        return self.scrape_interval or DEFAULT_SCRAPE_INTERVALS[self.component]

    @property
    def metrics_port_name(self) -> str:
        return "metrics" if self.metrics_port is not None else "http"
