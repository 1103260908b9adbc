"""The Loki configuration: single binary, filesystem storage, enforced retention, ruler.

    loki_config(spec, ...)  -> loki.yaml as a dict; every path lives under 'data_dir' (or
                               'rules_dir'), so tests run the real binary against a temp dir
    loki_args(config_path)  -> the command-line flags

Single-binary mode (target 'all') keeps every Loki component in one process: rings use the
in-memory store, gRPC between components goes over 127.0.0.1, and nothing gossips. Retention is
enforced by the compactor: it marks chunks older than 'limits_config.retention_period' and
deletes them after 'retention_delete_delay'; it refuses to start with retention on unless a delete
request store is set, which is why 'delete_request_store' is part of the contract.
Ref: https://grafana.com/docs/loki/latest/operations/storage/retention/
Ref: https://grafana.com/docs/loki/latest/configure/
"""

from __future__ import annotations

from typing import Any

from .models import LokiSpec

LOKI_VERSION = "3.7.8"
"""The Loki release the stack deploys and tools/bootstrap-loki.sh builds (keep LOKI_IMAGE's tag equal)."""
HTTP_PORT = 3100
GRPC_PORT = 9095
DATA_DIR = "/loki"
RULES_DIR = "/etc/loki/rules"
CONFIG_PATH = "/etc/loki/config/loki.yaml"
TENANT = "fake"
"""The tenant Loki uses when auth is disabled; the ruler reads its rules from <rules_dir>/fake/."""
SCHEMA_START = "2024-04-01"
"""First day of the tsdb/v13 schema period; any date before the first write works."""


def retention_hours(retention: str) -> str:
    """Return a whole-day retention ("7d") as the hours Loki's duration fields expect ("168h")."""
    return f"{int(retention[:-1]) * 24}h"


def loki_config(
    spec: LokiSpec,
    *,
    alertmanager_url: str,
    data_dir: str = DATA_DIR,
    rules_dir: str = RULES_DIR,
    http_port: int = HTTP_PORT,
    grpc_port: int = GRPC_PORT,
    http_listen_address: str | None = None,
) -> dict[str, Any]:
    """Return the Loki configuration.

    Args:
        spec: retention and per-tenant limits.
        alertmanager_url: where the ruler sends log-based alerts.
        data_dir: the volume holding chunks, index, WAL, compactor and ruler state.
        rules_dir: the ruler's rule directory (rule files under '<rules_dir>/fake/').
        http_port / grpc_port: listen ports; gRPC only ever listens on 127.0.0.1 (in-process
            traffic between the components of the single binary).
        http_listen_address: where the HTTP API listens. Default: None, Loki's own default of
            every address (IPv4 and IPv6) of the pod, so the Service reaches it; tests pass 127.0.0.1.
    """
    retention = retention_hours(spec.retention)
    limits = spec.limits
    server: dict[str, Any] = {
        "http_listen_port": http_port,
        "grpc_listen_address": "127.0.0.1",
        "grpc_listen_port": grpc_port,
        "log_level": "info",
    }
    if http_listen_address is not None:
        server["http_listen_address"] = http_listen_address
    return {
        "target": "all",
        "auth_enabled": False,
        "server": server,
        "common": {
            "path_prefix": data_dir,
            "replication_factor": 1,
            "instance_addr": "127.0.0.1",
            "ring": {"instance_addr": "127.0.0.1", "kvstore": {"store": "inmemory"}},
            "storage": {
                "filesystem": {"chunks_directory": f"{data_dir}/chunks", "rules_directory": rules_dir},
            },
        },
        "schema_config": {
            "configs": [
                {
                    "from": SCHEMA_START,
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "storage_config": {
            "tsdb_shipper": {
                "active_index_directory": f"{data_dir}/tsdb-index",
                "cache_location": f"{data_dir}/tsdb-cache",
            },
            "filesystem": {"directory": f"{data_dir}/chunks"},
        },
        "ingester": {"wal": {"enabled": True, "dir": f"{data_dir}/wal"}},
        "compactor": {
            "working_directory": f"{data_dir}/compactor",
            "compaction_interval": "10m",
            "retention_enabled": True,
            "retention_delete_delay": "2h",
            "retention_delete_worker_count": 150,
            "delete_request_store": "filesystem",
        },
        "limits_config": {
            "retention_period": retention,
            "ingestion_rate_mb": limits.ingestion_rate_mb,
            "ingestion_burst_size_mb": limits.ingestion_burst_size_mb,
            "max_global_streams_per_user": limits.max_global_streams_per_user,
            "max_line_size": limits.max_line_size,
            "max_line_size_truncate": True,
            "max_query_series": limits.max_query_series,
            "max_entries_limit_per_query": limits.max_entries_limit_per_query,
            "per_stream_rate_limit": limits.per_stream_rate_limit,
            "per_stream_rate_limit_burst": limits.per_stream_rate_limit,
            "reject_old_samples": True,
            "reject_old_samples_max_age": retention,
            "allow_structured_metadata": True,
            "volume_enabled": True,
        },
        "ruler": {
            "alertmanager_url": alertmanager_url,
            "enable_api": True,
            "evaluation_interval": "1m",
            # Rule files are re-read this often, so a rule change needs no restart.
            "poll_interval": "1m",
            "rule_path": f"{data_dir}/rules-temp",
            "storage": {"type": "local", "local": {"directory": rules_dir}},
            "ring": {"kvstore": {"store": "inmemory"}},
            "wal": {"dir": f"{data_dir}/ruler-wal"},
        },
        "analytics": {"reporting_enabled": False},
        "tracing": {"enabled": False},
    }


def loki_args(config_path: str = CONFIG_PATH) -> list[str]:
    """Return Loki's command-line flags."""
    return [f"-config.file={config_path}", "-target=all"]
