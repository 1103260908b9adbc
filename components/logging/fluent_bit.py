"""The Fluent Bit collector configuration, as data (YAML format, Fluent Bit 3.2 and later).

    fluent_bit_config(...)        -> fluent-bit.yaml as a dict (service, parsers, pipeline)
    render_fluent_bit_files(...)  -> the ConfigMap data: fluent-bit.yaml and normalize.lua
    NORMALIZE_SCRIPT              -> the Lua filter source (normalize.lua next to this module)

The pipeline, in order (Ref: https://docs.fluentbit.io/manual/pipeline/pipeline-section):
1. tail /var/log/containers/*.log with the built-in 'docker' and 'cri' multiline parsers, so
   lines the runtime split (CRI 'P' partials, docker's 16 KiB chunks) are joined again; positions
   in a SQLite database on the node; at most 'mem_buf_limit' buffered, then the input pauses;
2. kubernetes: pod metadata (labels included) from the API server, and 'merge_log' turns a JSON
   app line into fields of the record;
3. parser on the raw line: common/combined access-log lines yield method, path, status, size and
   duration, and their request time becomes the record time;
4. lua (normalize.lua): one level (the app's, or derived from the HTTP status), canonical HTTP
   fields, service and version from the pod labels, message and an RFC 3339 timestamp;
5. modify: the stack's environment;
6. outputs: Loki (labels job, environment, namespace, app, container, level; JSON lines), and
   optionally Elasticsearch with daily '<app>-YYYY.MM.dd' indices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .models import ElasticsearchOutput, FluentBitSpec

METRICS_PORT = 2020
METRICS_PATH = "/api/v2/metrics/prometheus"
HEALTH_PATH = "/api/v1/health"
UPTIME_PATH = "/api/v1/uptime"
CONFIG_DIR = "/fluent-bit/etc/keelson"
CONFIG_FILE = "fluent-bit.yaml"
SCRIPT_FILE = "normalize.lua"
LOG_DIR = "/var/log"
CONTAINER_LOGS = "/var/log/containers/*.log"
ELASTICSEARCH_PASSWORD_ENV = "ELASTICSEARCH_PASSWORD"
"""Fluent Bit expands ${NAME} from its environment; the pod fills it from a Secret."""
TAG_PREFIX = "kube."

NORMALIZE_SCRIPT = (Path(__file__).resolve().parent / SCRIPT_FILE).read_text()
"""The Lua source of the normalize filter (see normalize.lua for what it does to a record)."""
NORMALIZE_FUNCTION = "normalize"

ACCESS_LOG_REGEX = (
    r'^(?<remote>\S+) \S+ (?<user>\S+) \[(?<time>[^\]]+)\] '
    r'"(?<method>[A-Z]+) (?<path>[^ "]+)(?: (?<protocol>[^"]*))?" '
    r'(?<status>[1-5][0-9]{2}) (?<size>[0-9]+|-)'
    r'(?: "(?<referer>[^"]*)" "(?<agent>[^"]*)")?'
    r'(?: (?<duration>[0-9]+(?:\.[0-9]+)?))?$'
)
"""Common and combined access-log lines (Apache, nginx), optionally followed by the request time in
seconds (nginx '$request_time'). Onigmo syntax, as Fluent Bit's regex parser expects."""
ACCESS_LOG_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

LOKI_LABELS = {
    "job": "fluent-bit",
    "environment": "$environment",
    "namespace": "$kubernetes['namespace_name']",
    "app": "$service",
    "container": "$kubernetes['container_name']",
    "level": "$level",
}
"""Stream labels: few and bounded (the level has five values), so Loki's index stays small. The
loki output moves these keys out of the record into the labels; the rest of the record travels
in the JSON line, queryable with '| json'."""


def access_log_parser() -> dict[str, Any]:
    """Return the regex parser of access-log lines."""
    return {
        "name": "http_access",
        "format": "regex",
        "regex": ACCESS_LOG_REGEX,
        "time_key": "time",
        "time_format": ACCESS_LOG_TIME_FORMAT,
        "time_keep": "off",
        "types": "status:integer duration:float",
    }


def _loki_output(host: str, port: int) -> dict[str, Any]:
    return {
        "name": "loki",
        "alias": "loki",
        "match": f"{TAG_PREFIX}*",
        "host": host,
        "port": port,
        "uri": "/loki/api/v1/push",
        "labels": ", ".join(f"{key}={value}" for key, value in LOKI_LABELS.items()),
        "line_format": "json",
        # The pod labels are already summarized in app/version; keep lines small.
        "remove_keys": "$kubernetes['labels'], $kubernetes['annotations']",
        "auto_kubernetes_labels": "off",
        # Never give up: while Loki is down the buffer fills, the tail input pauses at
        # mem_buf_limit and resumes from its saved offsets once Loki answers again.
        "retry_limit": "no_limits",
    }


def _elasticsearch_output(output: ElasticsearchOutput) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "name": "es",
        "alias": "elasticsearch",
        "match": f"{TAG_PREFIX}*",
        "host": output.host,
        "port": output.port,
        "tls": "on" if output.tls else "off",
        "tls.verify": "on" if output.tls_verify else "off",
        "logstash_format": "on",
        "logstash_prefix": output.fallback_prefix,
        "logstash_prefix_key": "$service",
        "logstash_prefix_separator": "-",
        "logstash_dateformat": "%Y.%m.%d",
        "suppress_type_name": "on",
        "replace_dots": "on",
        # A retried bulk request must not index the same record twice.
        "generate_id": "on",
        # Finite, so an Elasticsearch outage cannot hold the buffer Loki's records share.
        "retry_limit": 5,
    }
    if output.user is not None:
        settings["http_user"] = output.user
        settings["http_passwd"] = "${" + ELASTICSEARCH_PASSWORD_ENV + "}"
    return settings


def fluent_bit_config(
    spec: FluentBitSpec,
    *,
    environment: str,
    loki_host: str,
    loki_port: int,
    collector_namespace: str,
    collector_container: str = "fluent-bit",
    elasticsearch: ElasticsearchOutput | None = None,
    config_dir: str = CONFIG_DIR,
) -> dict[str, Any]:
    """Return fluent-bit.yaml as a dict.

    Args:
        spec: the collector settings (buffer limit, state directory, flush interval).
        environment: added to every record and as the 'environment' stream label.
        loki_host / loki_port: where the Loki push API answers.
        collector_namespace / collector_container: the collector's own log files are skipped, so a
            failing output cannot feed its own error messages back into the pipeline.
        elasticsearch: a second output, or None.
        config_dir: where the ConfigMap (this file and normalize.lua) is mounted.
    """
    outputs = [_loki_output(loki_host, loki_port)]
    if elasticsearch is not None:
        outputs.append(_elasticsearch_output(elasticsearch))
    return {
        "service": {
            "flush": spec.flush_seconds,
            "grace": 10,
            "daemon": "off",
            "log_level": "info",
            "http_server": "on",
            "http_listen": "0.0.0.0",
            "http_port": METRICS_PORT,
            # /api/v1/health fails while outputs keep failing (readiness). Liveness only asks
            # whether the process answers: restarting while Loki is down would drop the buffer.
            "health_check": "on",
            "hc_errors_count": 5,
            "hc_retry_failure_count": 5,
            "hc_period": 60,
        },
        "parsers": [access_log_parser()],
        "pipeline": {
            "inputs": [
                {
                    "name": "tail",
                    "alias": "containers",
                    "tag": f"{TAG_PREFIX}*",
                    "path": CONTAINER_LOGS,
                    "exclude_path": f"/var/log/containers/*_{collector_namespace}_{collector_container}-*.log",
                    "multiline.parser": "docker, cri",
                    "db": f"{spec.state_dir}/tail-containers.db",
                    "db.sync": "normal",
                    "db.locking": "true",
                    "mem_buf_limit": spec.mem_buf_limit,
                    "storage.type": "memory",
                    "buffer_chunk_size": "64KB",
                    "buffer_max_size": "256KB",
                    "skip_long_lines": "on",
                    "refresh_interval": 10,
                    "rotate_wait": 30,
                    "read_from_head": "false",
                }
            ],
            "filters": [
                {
                    "name": "kubernetes",
                    "alias": "pod-metadata",
                    "match": f"{TAG_PREFIX}*",
                    "kube_tag_prefix": f"{TAG_PREFIX}var.log.containers.",
                    "merge_log": "on",
                    "merge_log_trim": "on",
                    "keep_log": "off",
                    "labels": "on",
                    "annotations": "off",
                    "k8s-logging.parser": "off",
                    "k8s-logging.exclude": "on",
                    "buffer_size": "256KB",
                    # The projected token rotates hourly; re-read it well before it expires.
                    "kube_token_ttl": "600",
                },
                {
                    "name": "parser",
                    "alias": "access-log",
                    "match": f"{TAG_PREFIX}*",
                    "key_name": "log",
                    "parser": "http_access",
                    "reserve_data": "on",
                    "preserve_key": "on",
                },
                {
                    "name": "lua",
                    "alias": "normalize",
                    "match": f"{TAG_PREFIX}*",
                    "script": f"{config_dir}/{SCRIPT_FILE}",
                    "call": NORMALIZE_FUNCTION,
                    "type_int_key": "status",
                },
                {
                    "name": "modify",
                    "alias": "environment",
                    "match": f"{TAG_PREFIX}*",
                    "set": f"environment {environment}",
                },
            ],
            "outputs": outputs,
        },
    }


def render_fluent_bit_files(config: dict[str, Any]) -> dict[str, str]:
    """Return the ConfigMap data: the YAML configuration and the Lua script it calls."""
    # No line folding: the regex and the label list stay one line each, as written here.
    return {CONFIG_FILE: yaml.safe_dump(config, sort_keys=False, width=4096), SCRIPT_FILE: NORMALIZE_SCRIPT}
