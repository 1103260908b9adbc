"""Fluent Bit pipeline: the generated fluent-bit.yaml has the inputs, filters and outputs the product
owes, the access-log regex of the generated parser extracts HTTP fields from real-world lines, and
the generated Lua script, run by a real Lua interpreter on records shaped like the ones the
kubernetes filter hands it, derives the level from the HTTP status and normalizes every record.

No Fluent Bit binary is packaged for Debian (apt has no 'fluent-bit'), so the configuration is
checked structurally here; the Lua and the regex, the parts that carry logic, run for real."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from keelson.logging.fluent_bit import (
    ACCESS_LOG_TIME_FORMAT,
    CONFIG_DIR,
    CONFIG_FILE,
    LOKI_LABELS,
    NORMALIZE_FUNCTION,
    SCRIPT_FILE,
    fluent_bit_config,
    render_fluent_bit_files,
)
from keelson.logging.models import ElasticsearchOutput, FluentBitSpec
from conftest import FIGURES

LUA_INSTALL_HINT = "apt-get install -y lua5.4 (Debian/Ubuntu package 'lua5.4')"
SCRIPT_PATH = Path(__file__).resolve().parent.parent / "components" / "logging" / SCRIPT_FILE


def generated(elasticsearch: ElasticsearchOutput | None = None) -> dict[str, Any]:
    """The collector config exactly as the LoggingStack renders it into its ConfigMap."""
    config = fluent_bit_config(
        FluentBitSpec(),
        environment="staging",
        loki_host="loki.logging.svc.cluster.local",
        loki_port=3100,
        collector_namespace="logging",
        elasticsearch=elasticsearch,
    )
    return yaml.safe_load(render_fluent_bit_files(config)[CONFIG_FILE])


def plugin(section: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [entry for entry in section if entry["name"] == name]
    assert len(matches) == 1, f"expected one '{name}' plugin, found {len(matches)}"
    return matches[0]


def python_regex(onigmo: str) -> re.Pattern[str]:
    """Compile an Onigmo pattern with Python's re: only the named-group syntax differs."""
    return re.compile(re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", onigmo))


def access_parser() -> dict[str, Any]:
    return next(parser for parser in generated()["parsers"] if parser["name"] == "http_access")


def apply_types(fields: dict[str, Any], types: str) -> dict[str, Any]:
    """What the parser's 'types' option does to the captured strings."""
    casts = {"integer": int, "float": float}
    converted = dict(fields)
    for item in types.split():
        key, kind = item.split(":")
        if converted.get(key) is not None:
            converted[key] = casts[kind](converted[key])
    return converted


# -- structure ---------------------------------------------------------------------------------


def test_the_config_round_trips_as_yaml_with_service_parsers_and_pipeline():
    config = generated()
    assert list(config) == ["service", "parsers", "pipeline"]
    assert set(config["pipeline"]) == {"inputs", "filters", "outputs"}
    service = config["service"]
    assert (service["http_server"], service["http_port"], service["health_check"]) == ("on", 2020, "on")


def test_the_tail_input_reads_container_logs_with_both_multiline_parsers_and_a_bounded_buffer():
    tail = plugin(generated()["pipeline"]["inputs"], "tail")
    assert tail["path"] == "/var/log/containers/*.log"
    assert [parser.strip() for parser in tail["multiline.parser"].split(",")] == ["docker", "cri"]
    assert tail["mem_buf_limit"] == FluentBitSpec().mem_buf_limit
    assert tail["db"].startswith(FluentBitSpec().state_dir + "/"), "tail positions must live in the host state dir"
    assert tail["db.locking"] == "true" and tail["skip_long_lines"] == "on"
    assert "_logging_fluent-bit-" in tail["exclude_path"], "the collector must not tail its own logs"


def test_filters_merge_json_then_parse_access_logs_then_normalize_then_add_the_environment():
    filters = generated()["pipeline"]["filters"]
    assert [entry["name"] for entry in filters] == ["kubernetes", "parser", "lua", "modify"]
    kubernetes = filters[0]
    assert (kubernetes["merge_log"], kubernetes["keep_log"], kubernetes["labels"]) == ("on", "off", "on")
    parser = filters[1]
    assert (parser["key_name"], parser["parser"], parser["reserve_data"]) == ("log", "http_access", "on")
    lua = filters[2]
    assert lua["script"] == f"{CONFIG_DIR}/{SCRIPT_FILE}" and lua["call"] == NORMALIZE_FUNCTION
    assert f"function {NORMALIZE_FUNCTION}(" in render_fluent_bit_files(generated())[SCRIPT_FILE]
    assert filters[3]["set"] == "environment staging"


def test_loki_gets_json_lines_with_few_bounded_stream_labels():
    loki = plugin(generated()["pipeline"]["outputs"], "loki")
    labels = dict(item.strip().split("=", 1) for item in loki["labels"].split(","))
    assert labels == LOKI_LABELS
    assert set(labels) == {"job", "environment", "namespace", "app", "container", "level"}
    assert loki["line_format"] == "json" and loki["auto_kubernetes_labels"] == "off"
    assert (loki["host"], loki["port"]) == ("loki.logging.svc.cluster.local", 3100)


def test_elasticsearch_is_off_by_default_and_writes_daily_app_indices_when_configured():
    assert [output["name"] for output in generated()["pipeline"]["outputs"]] == ["loki"]
    output = ElasticsearchOutput(host="es.example.com", cidr="10.20.0.0/16", user="fluent", password="s3cret-value")
    config = generated(output)
    es = plugin(config["pipeline"]["outputs"], "es")
    assert es["logstash_format"] == "on" and es["logstash_prefix_key"] == "$service"
    index = es["logstash_prefix_key"].lstrip("$")
    record = {index: "api"}
    name = record[index] + es["logstash_prefix_separator"] + datetime(2025, 1, 31).strftime(es["logstash_dateformat"])
    assert name == "api-2025.01.31"
    assert es["http_passwd"] == "${ELASTICSEARCH_PASSWORD}", "the password must come from the environment"
    assert "s3cret-value" not in render_fluent_bit_files(fluent_bit_config(
        FluentBitSpec(), environment="x", loki_host="l", loki_port=1, collector_namespace="n", elasticsearch=output
    ))[CONFIG_FILE]
    assert (es["tls"], es["tls.verify"], es["suppress_type_name"], es["replace_dots"]) == ("on", "on", "on", "on")


# -- the access-log regex ----------------------------------------------------------------------

ACCESS_LINES = {
    "combined with request time": (
        '10.1.2.3 - - [31/Jan/2025:10:15:32 +0000] "GET /api/items?page=2 HTTP/1.1" 503 162 '
        '"-" "curl/8.5.0" 0.284',
        {"method": "GET", "path": "/api/items?page=2", "status": 503, "duration": 0.284, "size": "162"},
    ),
    "combined": (
        '192.168.0.7 - frank [10/Oct/2000:13:55:36 -0700] "POST /login HTTP/1.0" 404 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
        {"method": "POST", "path": "/login", "status": 404, "duration": None, "user": "frank"},
    ),
    "common, no body": (
        '127.0.0.1 - - [01/Feb/2025:00:00:01 +0100] "HEAD /healthz HTTP/1.1" 200 -',
        {"method": "HEAD", "path": "/healthz", "status": 200, "size": "-", "agent": None},
    ),
}
NOT_ACCESS_LINES = [
    '{"level":"info","ts":"2025-01-31T10:15:32.123Z","caller":"http/logging.go:33","msg":"request started",'
    '"proto":"HTTP/1.1","uri":"/healthz","method":"GET","remote":"10.0.0.1:53412","user-agent":"kube-probe/1.33"}',
    "Starting worker pool with 4 workers",
    'GET /api/items 200',
]


@pytest.mark.parametrize("case", sorted(ACCESS_LINES))
def test_the_generated_access_log_regex_extracts_method_path_status_and_duration(case):
    line, expected = ACCESS_LINES[case]
    parser = access_parser()
    match = python_regex(parser["regex"]).match(line)
    assert match, f"the http_access parser does not match a {case} line: {line}"
    fields = apply_types(match.groupdict(), parser["types"])
    assert {key: fields[key] for key in expected} == expected
    datetime.strptime(fields["time"], parser["time_format"])


@pytest.mark.parametrize("line", NOT_ACCESS_LINES)
def test_the_access_log_regex_leaves_json_and_plain_lines_alone(line):
    assert python_regex(access_parser()["regex"]).match(line) is None


def test_the_access_log_time_format_is_the_one_the_parser_uses():
    assert access_parser()["time_format"] == ACCESS_LOG_TIME_FORMAT
    parsed = datetime.strptime("31/Jan/2025:10:15:32 +0000", ACCESS_LOG_TIME_FORMAT)
    assert parsed.timestamp() == 1738318532


# -- the Lua normalize filter, run by a real interpreter ---------------------------------------


def require_lua() -> str:
    for name in ("lua5.4", "lua"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"no Lua interpreter ('lua5.4') on PATH; install it with: {LUA_INSTALL_HINT}", pytrace=False)


def lua_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(key)}] = {lua_literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no Lua literal for {value!r}")


def collected(line: str, labels: dict[str, str] | None = None, container: str = "api") -> dict[str, Any]:
    """The record the lua filter receives for a container log line: what the kubernetes filter
    (merge_log on, keep_log off) and the access-log parser filter (reserve_data, preserve_key)
    make of it, using the generated parser regex."""
    record: dict[str, Any] = {"stream": "stdout"}
    try:
        merged = json.loads(line)
    except json.JSONDecodeError:
        merged = None
    if isinstance(merged, dict):
        record.update(merged)
    else:
        record["log"] = line
        parser = access_parser()
        match = python_regex(parser["regex"]).match(line)
        if match:
            fields = {key: value for key, value in match.groupdict().items() if value is not None}
            fields.pop(parser["time_key"])
            record.update(apply_types(fields, parser["types"]))
    record["kubernetes"] = {
        "namespace_name": "shop",
        "pod_name": f"{container}-7d9c5b8f6-x2x7q",
        "container_name": container,
        "labels": labels if labels is not None else {"app.kubernetes.io/name": "api", "app.kubernetes.io/version": "1.4.2"},
    }
    return record


def run_normalize(records: dict[str, dict[str, Any]], timestamp: float = 1738318532.25) -> dict[str, dict[str, Any]]:
    """Call the generated script's normalize() on each record with a real Lua; return the results."""
    script = render_fluent_bit_files(generated())[SCRIPT_FILE]
    calls = "\n".join(
        f"""
        do
          local code, ts, out = {NORMALIZE_FUNCTION}("kube.var.log.containers.x.log", {timestamp!r}, {lua_literal(record)})
          print("@case\\t{name}\\t" .. code .. "\\t" .. string.format("%.6f", ts))
          for key, value in pairs(out) do
            if type(value) ~= "table" then print(key .. "\\t" .. type(value) .. "\\t" .. tostring(value)) end
          end
        end"""
        for name, record in records.items()
    )
    harness = f"local chunk = assert(load({lua_literal(script)}, \"normalize.lua\"))\nchunk()\n{calls}\n"
    completed = subprocess.run([require_lua(), "-"], input=harness, capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0, f"Lua failed:\n{completed.stderr}"
    results: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] = {}
    for row in completed.stdout.splitlines():
        parts = row.split("\t")
        if parts[0] == "@case":
            current = results[parts[1]] = {}
            assert parts[2] == "2", f"{parts[1]}: normalize must return 2 (record changed, time kept), got {parts[2]}"
            assert float(parts[3]) == pytest.approx(timestamp)
            continue
        key, kind, text = parts
        current[key] = {"string": str, "number": float, "boolean": lambda word: word == "true"}[kind](text)
    return results


STATUS_ONLY = {
    "json 503": '{"msg": "upstream timeout", "status": 503, "method": "GET", "path": "/api/items"}',
    "json 404": '{"msg": "no such item", "status_code": "404", "method": "GET", "uri": "/api/items/9"}',
    "json 200": '{"msg": "ok", "status": 200, "method": "GET", "path": "/api/items", "duration_ms": 12}',
    "access 503": '10.1.2.3 - - [31/Jan/2025:10:15:32 +0000] "GET /api/items HTTP/1.1" 503 162 "-" "curl/8.5.0" 0.284',
    "access 404": '10.1.2.3 - - [31/Jan/2025:10:15:32 +0000] "DELETE /api/items/3 HTTP/1.1" 404 0 "-" "curl/8.5.0"',
    "access 200": '127.0.0.1 - - [01/Feb/2025:00:00:01 +0100] "HEAD /healthz HTTP/1.1" 200 -',
}


def test_without_an_app_level_the_level_follows_the_http_status():
    results = run_normalize({name: collected(line) for name, line in STATUS_ONLY.items()})
    expected = {"503": "error", "404": "warning", "200": "info"}
    levels = {name: results[name]["level"] for name in STATUS_ONLY}
    assert levels == {name: expected[name.split()[1]] for name in STATUS_ONLY}
    FIGURES["fluent-bit parsing (lua5.4 + generated regex)"] = (
        f"{len(STATUS_ONLY)} status-derived levels, {len(ACCESS_LINES)} access-log lines parsed, "
        f"{len(NOT_ACCESS_LINES)} non-access lines left alone"
    )


def test_http_fields_are_canonical_whatever_the_app_calls_them():
    results = run_normalize({name: collected(line) for name, line in STATUS_ONLY.items()})
    assert results["json 404"]["path"] == "/api/items/9" and results["json 404"]["status"] == 404
    assert results["json 200"]["duration"] == pytest.approx(0.012)
    access = results["access 503"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/items", 503)
    assert access["duration"] == pytest.approx(0.284)
    assert "log" not in access and access["message"].startswith("10.1.2.3 - - ["), "the raw line becomes the message"


def test_an_app_level_wins_over_the_status_and_is_canonicalized():
    lines = {
        "zap warn with 500": '{"level": "WARN", "msg": "retrying", "status": 500}',
        "pino numeric error": '{"level": 50, "msg": "db down"}',
        "zap dpanic": '{"level": "dpanic", "msg": "invariant broken"}',
        "severity key": '{"severity": "err", "message": "disk full"}',
        "unknown level word": '{"level": "verbose", "msg": "x", "status": 404}',
    }
    results = run_normalize({name: collected(line) for name, line in lines.items()})
    assert {name: result["level"] for name, result in results.items()} == {
        "zap warn with 500": "warning",
        "pino numeric error": "error",
        "zap dpanic": "critical",
        "severity key": "error",
        "unknown level word": "warning",
    }


def test_a_podinfo_line_gets_service_version_message_path_and_one_rfc3339_timestamp():
    line = NOT_ACCESS_LINES[0]
    result = run_normalize({"podinfo": collected(line)}, timestamp=1738318532.123456)["podinfo"]
    assert (result["service"], result["version"]) == ("api", "1.4.2")
    assert (result["level"], result["message"], result["path"], result["method"]) == (
        "info", "request started", "/healthz", "GET"
    )
    assert result["timestamp"] == "2025-01-31T10:15:32.123Z"
    assert "ts" not in result and "msg" not in result, "the app's own time and msg keys are replaced"


def test_a_plain_line_of_an_unlabelled_pod_is_info_from_its_container():
    record = collected("Starting worker pool with 4 workers", labels={}, container="worker")
    result = run_normalize({"plain": record})["plain"]
    assert (result["level"], result["service"], result["message"]) == (
        "info", "worker", "Starting worker pool with 4 workers"
    )
    assert "version" not in result and "status" not in result


def test_the_lua_script_sticks_to_lua_5_1_so_fluent_bits_luajit_runs_it():
    source = re.sub(r"--[^\n]*", "", SCRIPT_PATH.read_text())
    source = re.sub(r'"[^"\n]*"', '""', source)
    forbidden = {
        "integer division //": r"//",
        "goto": r"\bgoto\b",
        "attribs <const>/<close>": r"<(const|close)>",
        "math.tointeger": r"math\.tointeger",
        "utf8 library": r"\butf8\.",
        "bitwise operators": r"(?<![~=<>])(&|\||<<|>>)|~(?!=)",
    }
    found = [name for name, pattern in forbidden.items() if re.search(pattern, source)]
    assert not found, f"normalize.lua uses Lua 5.3+ features LuaJIT lacks: {found}"

