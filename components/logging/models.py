"""Typed, validated inputs of the logging builders: the collector, Loki, its alerts and Elasticsearch.

Like every Keelson model these reject unknown keys, are frozen, and accept camelCase (stack files)
and snake_case (Python) spellings. The Elasticsearch password is a pydantic SecretStr: it never
appears in a repr, a log line or the rendered Fluent Bit configuration (which reads it from an
environment variable filled from a Secret).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, ValidationInfo, field_validator, model_validator

from .. import images
from ..models import (
    Cidr,
    ComputeResources,
    DnsLabel,
    ImageReference,
    KeelsonModel,
    Port,
    ResourceRequirements,
)
from ..network_models import EgressRule
from ..platform import StorageSpec
from ..quantities import parse_memory

FLUENT_BIT_IMAGE = images.FLUENT_BIT
LOKI_IMAGE = images.LOKI
"""Keep the tag equal to LOKI_VERSION in loki_config.py: tools/bootstrap-loki.sh builds that
version and tests/test_loki.py runs it against the generated configuration."""

_HOST = re.compile(r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_IN_CLUSTER_URL = re.compile(r"^http://(?P<host>[a-z0-9.-]+):(?P<port>[0-9]{1,5})$")
_CLUSTER_SERVICE = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc(\.cluster\.local)?$")


def _host(text: str) -> str:
    if len(text) > 253 or not _HOST.fullmatch(text):
        raise ValueError(f"'{text}' is not a hostname such as elasticsearch.example.com or es-http.elastic.svc")
    return text


def _in_cluster_url(text: str) -> str:
    if not _IN_CLUSTER_URL.fullmatch(text):
        raise ValueError(
            f"'{text}' is not an in-cluster URL such as http://alertmanager.monitoring.svc.cluster.local:9093 "
            "(http://<host>:<port>, no path)"
        )
    return text


_MAX_GO_DAYS = 106751
"""The longest whole number of days a Go time.Duration (int64 nanoseconds) holds."""


def _days(text: str) -> str:
    if int(text[:-1]) < 1:
        raise ValueError(
            f"'{text}' is shorter than Loki's 24h index period, and Loki reads a retention of 0 as keeping logs "
            "forever; use at least 1d"
        )
    if int(text[:-1]) > _MAX_GO_DAYS:
        raise ValueError(f"'{text}' is longer than the {_MAX_GO_DAYS}d a Go duration holds; Loki would refuse it")
    return text


ServerHost = Annotated[str, AfterValidator(_host)]
"""A DNS name (no scheme, no port): an in-cluster Service or an external server."""
InClusterUrl = Annotated[str, AfterValidator(_in_cluster_url)]
RetentionDays = Annotated[str, Field(pattern=r"^[0-9]+d$"), AfterValidator(_days)]
"""A retention in whole days ("7d"): Loki deletes by 24h index table, so finer values are rounded."""


def url_parts(url: str) -> tuple[str, int]:
    """Return (host, port) of an InClusterUrl."""
    match = _IN_CLUSTER_URL.fullmatch(url)
    assert match is not None, url
    return match["host"], int(match["port"])


def cluster_service_namespace(host: str) -> str | None:
    """Return the namespace of a '<service>.<namespace>.svc[.cluster.local]' host, else None."""
    match = _CLUSTER_SERVICE.fullmatch(host)
    return match["namespace"] if match else None


class FluentBitSpec(KeelsonModel):
    """The Fluent Bit collector: one pod per node, tailing every container's log file.

    Default: it runs as UID 0 with every capability dropped, because the container runtime writes
    the log files root-owned and 0640 (containerd) or 0600 (CRI-O), and the tail position database
    must live in a root-owned host directory to survive restarts. Root without capabilities can read
    and write only what root owns and the pod mounts: /var/log (read-only) and 'stateDir'. A non-root
    user could read containerd's 0640 files through group 0, but neither CRI-O's 0600 files nor
    write a hostPath state dir, so it silently loses logs on some clusters.
    """

    image: ImageReference = FLUENT_BIT_IMAGE
    """Fluent Bit image; the configuration uses the YAML format of Fluent Bit 3.2 and later. Default:
    4.2.2, pinned by tag alone (components/images.py UNPINNED_DEFAULTS says why); pin a digest here."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="50m", memory="64Mi"), limits=ComputeResources(cpu="200m", memory="256Mi")
    )
    """Requests and limits of each collector pod. Default: 50m/64Mi requested, 200m/256Mi limit
    (limit/request 4, the namespace LimitRange ceiling)."""
    mem_buf_limit: str = Field(default="16MB", pattern=r"^[1-9][0-9]*MB$")
    """Most memory the tail input may buffer before it pauses (Fluent Bit 'mem_buf_limit').
    Default: 16MB, because a paused tail input loses nothing: it keeps its file offsets and resumes
    when the outputs catch up, so the log files on the node are the durable buffer. What is buffered
    when a pod is killed hard (at most this much) is lost; a graceful stop flushes it first."""
    state_dir: str = Field(default="/var/lib/fluent-bit", pattern=r"^/var/lib/[a-z0-9][a-z0-9._-]*$")
    """Host directory (hostPath, created if missing) holding the tail position database.
    Default: /var/lib/fluent-bit, because positions kept in an emptyDir die with the pod and a
    restarted collector would skip or re-send everything written meanwhile."""
    flush_seconds: int = Field(default=1, ge=1, le=60)
    """How often buffered records are sent, in seconds. Default: 1, Fluent Bit's own, so a line reaches
    Loki within seconds."""


class LokiLimits(KeelsonModel):
    """Per-tenant limits of Loki ('limits_config'). Auth is off, so they bound the whole cluster.

    Default: 8 MB/s ingestion (16 MB bursts), 10000 active streams, 256KB lines, because a single
    chatty app must hit its limit (and get 429s the collector retries) before Loki runs out of memory.
    Ref: https://grafana.com/docs/loki/latest/configure/#limits_config
    """

    ingestion_rate_mb: float = Field(default=8, gt=0)
    """Sustained ingestion rate, MB per second. Default: 8, so a chatty app is throttled (429s the
    collector retries) before Loki runs out of memory."""
    ingestion_burst_size_mb: float = Field(default=16, gt=0)
    """Largest burst above the sustained rate, MB. Default: 16, twice the rate."""
    max_global_streams_per_user: int = Field(default=10000, ge=1)
    """Most active streams (distinct label sets). Default: 10000, so a label with unbounded values
    cannot blow up Loki's index and memory."""
    max_line_size: str = Field(default="256KB", pattern=r"^[1-9][0-9]*(KB|MB)$")
    """Longest accepted log line; longer lines are truncated (max_line_size_truncate). Default: 256KB,
    room for a long stack trace."""
    max_query_series: int = Field(default=1000, ge=1)
    """Most series a metric query may return. Default: 1000, so one query cannot exhaust Loki."""
    max_entries_limit_per_query: int = Field(default=5000, ge=1)
    """Most log lines a query may return. Default: 5000, Loki's own default."""
    per_stream_rate_limit: str = Field(default="3MB", pattern=r"^[1-9][0-9]*(KB|MB)$")
    """Ingestion rate of one stream, per second (also its burst). Default: 3MB, Loki's own default rate."""

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> LokiLimits:
        if self.ingestion_burst_size_mb < self.ingestion_rate_mb:
            raise ValueError(
                f"'ingestionBurstSizeMb' ({self.ingestion_burst_size_mb:g}) must be at least "
                f"'ingestionRateMb' ({self.ingestion_rate_mb:g})"
            )
        return self


class LokiSpec(KeelsonModel):
    """The Loki log store, in single-binary mode with filesystem storage.

    Default: one replica, because filesystem chunks and index live on one pod's volume; a second
    replica would not see them (more replicas need object storage, which Keelson does not configure).
    """

    image: ImageReference = LOKI_IMAGE
    """Loki image; tools/bootstrap-loki.sh builds the same version for the tests. Default: 3.7.8
    pinned by digest (components/images.py)."""
    replicas: int = Field(default=1, ge=1, le=1)
    """Loki pods. Default and only value: 1, because filesystem storage is local to the pod."""
    retention: RetentionDays = "7d"
    """How long logs are kept, enforced by the compactor. Default: 7d (staging too); production keeps 30d."""
    resources: ResourceRequirements = ResourceRequirements(
        requests=ComputeResources(cpu="250m", memory="512Mi"), limits=ComputeResources(cpu="1", memory="2Gi")
    )
    """Requests and limits of the Loki pod. Default: 250m/512Mi requested, 1/2Gi limit (ratio 4, the
    namespace LimitRange ceiling)."""
    storage: StorageSpec = StorageSpec()
    """Volume for chunks, index, WAL and compactor state; no storage class means emptyDir. Default:
    20Gi on an emptyDir, lost when the pod moves (see StorageSpec); production names a storage class."""
    limits: LokiLimits = LokiLimits()
    """Per-tenant limits. Default: 8 MB/s ingestion, 10000 streams, 256KB lines, so one chatty app hits
    its limit before Loki runs out of memory (see LokiLimits)."""


class LogAlerts(KeelsonModel):
    """Log-based alerts evaluated by the Loki ruler and sent to the MonitoringStack's Alertmanager.

    Default: an app logging more than 50 error lines in 5 minutes, or more than 10 % of its lines at
    error level for 10 minutes, pages as a warning, because error bursts show up in logs before (or
    without) an HTTP 5xx metric, e.g. in workers.
    """

    alertmanager_url: InClusterUrl = "http://alertmanager.monitoring.svc.cluster.local:9093"
    """Alertmanager the ruler sends to; the MonitoringStack's 'alertmanager_url' output. Default: the
    MonitoringStack's in 'monitoring'; in a stack, derived from keelson:monitoring.namespace.name."""
    error_burst_lines: int = Field(default=50, ge=1)
    """Error lines per app within 5 minutes that raise LogErrorBurst. Default: 50."""
    error_ratio_percent: float = Field(default=10, gt=0, lt=100)
    """Share of an app's lines at error level, over 10 minutes, that raises LogErrorRatioHigh.
    Default: 10 (percent)."""
    silence_minutes: int = Field(default=15, ge=5, le=1440)
    """Minutes without any collected line before LogIngestionStopped fires. Default: 15, so a collector
    restart does not raise it."""


class ElasticsearchOutput(KeelsonModel):
    """A second copy of every record to Elasticsearch, in daily indices '<app>-YYYY.MM.dd'.

    Default: TLS on and verified, because the records carry whatever apps log. Records of pods
    without an 'app.kubernetes.io/name' label go to '<container name>-YYYY.MM.dd'.
    Ref: https://docs.fluentbit.io/manual/pipeline/outputs/elasticsearch
    """

    host: ServerHost
    """Elasticsearch host (an ingest node or a load balancer). Required."""
    port: Port = 9200
    """Elasticsearch's HTTP port. Default: 9200, Elasticsearch's own."""
    cidr: Cidr
    """Network the Elasticsearch nodes live in; the collector may reach only it, on 'port'. Required."""
    tls: bool = True
    """Send over TLS. Default: true, because the records carry whatever apps log."""
    tls_verify: bool = True
    """Verify the server certificate. Default: true; false is the escape hatch for self-signed test
    clusters."""
    password: SecretStr | None = None
    """Basic-auth password, a `secure:` value kept in a Secret and handed to Fluent Bit as an
    environment variable. Default: none, no authentication; give 'user' with it."""
    user: str | None = None
    """Basic-auth user; give 'password' with it. Default: none, no authentication."""
    fallback_prefix: DnsLabel = "logs"
    """Index prefix of records that have no service name at all. Default: 'logs'."""

    @field_validator("user")
    @classmethod
    def _credentials_in_pairs(cls, user: str | None, info: ValidationInfo) -> str | None:
        # A field check on 'user' (validated after 'password'), not a model check: pydantic puts the
        # input of the failing validator in the error, and here that is the user, never the password.
        if "password" not in info.data:
            return user  # 'password' itself failed validation and is reported on its own
        if (user is None) != (info.data.get("password") is None):
            given = "'user'" if user is not None else "'password'"
            raise ValueError(f"{given} is set without its partner: give both 'user' and 'password' or neither")
        return user

    def egress(self) -> EgressRule:
        """The egress rule the collector needs to reach Elasticsearch."""
        return EgressRule(cidr=self.cidr, ports=[self.port])


def mem_buf_bytes(value: str) -> int:
    """Bytes of a Fluent Bit 'NNMB' size (Fluent Bit's units are decimal: 1 MB is 10^6 bytes)."""
    return int(value[:-2]) * 1000 * 1000


def memory_bytes(quantity: str) -> int:
    """Bytes of a Kubernetes memory quantity."""
    return int(parse_memory(quantity))
