"""Footprint of every stack: requests and limits per component, and whether they fit the namespaces.

The figures per component are the program's own (`footprints` in __main__.py, Footprint.as_dict()).
The checks are recomputed from the registered manifests, independently of the program's arithmetic:

- quota: every namespace with a ResourceQuota holds, at its peak, what its workloads can run at
  once: a Deployment at its HPA maximum (or replicas) plus its rollout surge, a StatefulSet at its
  replicas, a DaemonSet's pods on one node (and how many nodes the quota leaves room for);
- LimitRange: every container and init container declares CPU and memory requests and limits,
  and its limit/request ratios stay within the namespace's maxLimitRequestRatio; the cert-manager
  HTTP-01 solver pods (created in each namespace that has an Ingress) are held to the same rule.
"""

from __future__ import annotations

import argparse
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import quiet, write_json  # noqa: E402

import harness  # noqa: E402
from keelson.quantities import format_cpu, format_memory, parse_cpu, parse_memory  # noqa: E402

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
QUOTA_KEYS = {
    "requests.cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"),
    "limits.memory": ("limits", "memory"),
}


def _parse(resource: str, text: Any) -> Decimal:
    return parse_cpu(str(text)) if resource == "cpu" else parse_memory(str(text))


def _format(resource: str, value: Decimal) -> str:
    return format_cpu(value) if resource == "cpu" else format_memory(value)


def _surge(strategy: dict[str, Any], replicas: int) -> int:
    """Extra pods a Deployment rollout may add (maxSurge: a count or a percentage, default 25%)."""
    if strategy.get("type") == "Recreate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)


def _pod_totals(pod_spec: dict[str, Any]) -> dict[str, Decimal]:
    totals = {key: Decimal(0) for key in QUOTA_KEYS}
    for container in pod_spec.get("containers", []):
        resources = container.get("resources", {})
        for key, (kind, resource) in QUOTA_KEYS.items():
            totals[key] += _parse(resource, resources.get(kind, {}).get(resource, "0"))
    return totals


def _peak_pods(manifest: dict[str, Any], autoscalers: dict[tuple[str, str], int]) -> tuple[int, bool]:
    """Pods of a workload at its peak, and whether that count is per node (DaemonSet)."""
    kind, spec, metadata = manifest["kind"], manifest["spec"], manifest["metadata"]
    if kind == "DaemonSet":
        surge = (spec.get("updateStrategy", {}).get("rollingUpdate") or {}).get("maxSurge", 0)
        return 1 + (1 if surge not in (0, "0", "0%") else 0), True
    replicas = spec.get("replicas", 1)
    replicas = max(replicas, autoscalers.get((metadata.get("namespace"), metadata["name"]), 0))
    if kind == "Deployment":
        return replicas + _surge(spec.get("strategy", {}), replicas), False
    return replicas, False


def check_quotas(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    autoscalers = {
        (m["metadata"].get("namespace"), m["spec"]["scaleTargetRef"]["name"]): m["spec"]["maxReplicas"]
        for m in manifests
        if m["kind"] == "HorizontalPodAutoscaler"
    }
    results = []
    quotas = sorted((m for m in manifests if m["kind"] == "ResourceQuota"), key=lambda m: m["metadata"]["namespace"])
    for quota in quotas:
        namespace, hard = quota["metadata"]["namespace"], quota["spec"]["hard"]
        fixed = {key: Decimal(0) for key in QUOTA_KEYS} | {"pods": Decimal(0)}
        per_node = {key: Decimal(0) for key in QUOTA_KEYS} | {"pods": Decimal(0)}
        workloads = [m for m in manifests if m["kind"] in WORKLOAD_KINDS and m["metadata"].get("namespace") == namespace]
        for workload in workloads:
            pods, on_each_node = _peak_pods(workload, autoscalers)
            target = per_node if on_each_node else fixed
            target["pods"] += pods
            for key, value in _pod_totals(workload["spec"]["template"]["spec"]).items():
                target[key] += pods * value
        limits = {key: _parse(QUOTA_KEYS[key][1], hard[key]) for key in QUOTA_KEYS} | {"pods": Decimal(hard["pods"])}
        peak = {key: fixed[key] + per_node[key] for key in limits}
        over = [
            f"{key} {_format(QUOTA_KEYS[key][1], peak[key]) if key in QUOTA_KEYS else peak[key]} > {hard[key]}"
            for key in limits
            if peak[key] > limits[key]
        ]
        room = [math.floor((limits[key] - fixed[key]) / per_node[key]) for key in limits if per_node[key] > 0]
        results.append(
            {
                "namespace": namespace,
                "ok": not over,
                "violations": over,
                "peak": {
                    key: _format(QUOTA_KEYS[key][1], value) if key in QUOTA_KEYS else int(value)
                    for key, value in peak.items()
                },
                "hard": {key: hard[key] for key in limits},
                "daemonset_nodes_fitting": min(room) if room else None,
            }
        )
    return results


def _ratio_problems(where: str, resources: dict[str, Any], ceiling: dict[str, Any]) -> list[str]:
    problems = []
    for resource in ("cpu", "memory"):
        request = resources.get("requests", {}).get(resource)
        limit = resources.get("limits", {}).get(resource)
        if request is None or limit is None:
            problems.append(f"{where}: {resource} request or limit missing (the LimitRange default would apply)")
            continue
        ratio = _parse(resource, limit) / _parse(resource, request)
        allowed = Decimal(str(ceiling[resource]))
        if ratio > allowed:
            problems.append(f"{where}: {resource} limit/request {ratio:.3g} > {allowed}")
    return problems


def check_limit_ranges(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    ceilings = {
        m["metadata"]["namespace"]: item["maxLimitRequestRatio"]
        for m in manifests
        if m["kind"] == "LimitRange"
        for item in m["spec"]["limits"]
        if item.get("type") == "Container" and "maxLimitRequestRatio" in item
    }
    checked, problems = 0, []
    for workload in (m for m in manifests if m["kind"] in WORKLOAD_KINDS):
        namespace, name = workload["metadata"].get("namespace"), workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            where = f"{workload['kind']} {namespace}/{name} container {container['name']}"
            if namespace not in ceilings:
                problems.append(f"{where}: namespace has no LimitRange")
                continue
            checked += 1
            problems.extend(_ratio_problems(where, container.get("resources", {}), ceilings[namespace]))
    ingress_namespaces = sorted({m["metadata"]["namespace"] for m in manifests if m["kind"] == "Ingress"})
    for issuer in (m for m in manifests if m["kind"] == "ClusterIssuer"):
        for solver in issuer["spec"].get("acme", {}).get("solvers", []):
            template = solver.get("http01", {}).get("ingress", {}).get("podTemplate", {})
            if not template:
                continue
            for namespace in ingress_namespaces:
                where = f"ClusterIssuer {issuer['metadata']['name']} HTTP-01 solver pod in {namespace}"
                if namespace not in ceilings:
                    problems.append(f"{where}: namespace has no LimitRange")
                    continue
                checked += 1
                problems.extend(_ratio_problems(where, template.get("spec", {}).get("resources", {}), ceilings[namespace]))
    return {"ok": not problems, "checked": checked, "violations": problems}


def footprint(stack: str) -> dict[str, Any]:
    with quiet():
        registered = harness.run_program(stack)
    program = harness.LAST_PROGRAM
    footprints = program["footprints"]
    total = sum(footprints.values(), start=type(footprints["apps"])())
    apps_at_peak = sum((app.peak_footprint for app in program["apps"].values()), start=type(total)())
    manifests = [resource.manifest for resource in harness.kubernetes_objects(registered)]
    return {
        "stack": stack,
        "components": {name: value.as_dict() for name, value in footprints.items()}
        | {"total": total.as_dict(), "appsAtPeak": apps_at_peak.as_dict()},
        "quotas": check_quotas(manifests),
        "limit_ranges": check_limit_ranges(manifests),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the JSON result here instead of printing it")
    options = parser.parse_args()
    write_json(options.out, [footprint(stack) for stack in harness.STACKS])


if __name__ == "__main__":
    main()
