"""Benchmarks under Pulumi mocks: program evaluation, component overhead, scaling with app count.

Each subcommand runs in a fresh interpreter started by bench/run.py and writes its figures as JSON;
run by hand (`python bench/mocked.py overhead`) it prints them.

    evaluation --stack S   one cold run (clock started before any import) and warm runs of __main__.py
    overhead               the apps' resources registered by HardenedApp vs replayed as bare SDK calls
    scaling --apps N       the whole program with N HardenedApps: run times and peak memory
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()
"""Before any Pulumi import: the start of a cold run."""

import argparse  # noqa: E402
import copy  # noqa: E402
import gc  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median, program_body, quiet, timed_run, write_json  # noqa: E402

OVERHEAD_STACK = "production"
"""The apps of this stack file are the template of the overhead benchmark."""


# ---------------------------------------------------------------------------------------------
# 1. Program evaluation
# ---------------------------------------------------------------------------------------------


def evaluation(stack: str, warm_runs: int) -> dict[str, Any]:
    """One cold run of __main__.py (imports included), then 'warm_runs' runs in the same process."""
    import harness

    config, secret_keys = harness.stack_config(stack), harness.stack_secret_keys(stack)
    with quiet():
        cold = timed_run(program_body(), config, secret_keys, stack, started=STARTED)
        warm = [timed_run(program_body(), config, secret_keys, stack) for _ in range(warm_runs)]
    return {
        "stack": stack,
        "resources": len(cold.registered),
        "cold_to_last_registration": cold.to_last_registration,
        "warm_to_last_registration": [run.to_last_registration for run in warm],
        "warm_total": [run.total for run in warm],
    }


# ---------------------------------------------------------------------------------------------
# 2. Component overhead
# ---------------------------------------------------------------------------------------------


def _camel_to_snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _sdk_class(type_token: str) -> type:
    """The pulumi_kubernetes / pulumi_random class of a type token, e.g.
    kubernetes:networking.k8s.io/v1:NetworkPolicy -> k8s.networking.v1.NetworkPolicy."""
    import pulumi_kubernetes as k8s
    import pulumi_random as random

    package, module, kind = type_token.split(":")
    if package == "random":
        return getattr(random, kind)
    group, version = module.split("/")
    return getattr(getattr(getattr(k8s, group.split(".")[0]), version), kind)


def _app_args(copies: int) -> dict[str, dict[str, Any]]:
    """'copies' of each app of the overhead stack, as the raw (camelCase) Args the program would
    validate; every copy gets its own name and host."""
    import harness
    from settings import parse_settings

    config = harness.stack_config(OVERHEAD_STACK)
    raw = {key.removeprefix("keelson:"): value for key, value in config.items() if key.startswith("keelson:")}
    settings = parse_settings(raw, frozenset(harness.stack_secret_keys(OVERHEAD_STACK)))
    apps: dict[str, dict[str, Any]] = {}
    for index in range(copies):
        for name in settings.apps:
            args = settings.app_args(name).model_dump(by_alias=True, mode="json")
            copy_name = f"{name}-{index:02d}"
            if args.get("ingress"):
                args["ingress"]["host"] = f"{copy_name}.{args['ingress']['host']}"
            apps[copy_name] = args
    return apps


def _component_body(apps: dict[str, dict[str, Any]]) -> Callable[[], None]:
    """HardenedApp as the program uses it: validate the Args (pydantic), then build the component."""
    import pulumi
    import pulumi_kubernetes as k8s

    from keelson.hardened_app import HardenedApp, HardenedAppArgs

    def body() -> None:
        provider = k8s.Provider("kubernetes", render_yaml_to_directory="rendered")
        on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
        for name, raw in apps.items():
            HardenedApp(name, HardenedAppArgs.model_validate(raw), opts=on_cluster)

    return body


def _replay_plan(registered: list[Any]) -> list[tuple[type, str, dict[str, Any], list[str]]]:
    """Turn the recorded registrations into bare constructor calls: (class, name, kwargs, the kwargs
    that travelled as Pulumi secrets). Component resources and the provider are left out."""
    import harness

    plan = []
    for registration in registered:
        if registration.type.startswith(("keelson:", "pulumi:providers:")):
            continue
        manifest = registration.manifest
        kwargs = {_camel_to_snake(key): value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
        secrets = [_camel_to_snake(key) for key, value in registration.inputs.items() if harness.is_secret(value)]
        plan.append((_sdk_class(registration.type), registration.name, kwargs, secrets))
    return plan


def _bare_body(plan: list[tuple[type, str, dict[str, Any], list[str]]]) -> Callable[[], None]:
    """The same resources as plain SDK calls: no component, no pydantic, no builders."""
    import pulumi
    import pulumi_kubernetes as k8s

    def body() -> None:
        provider = k8s.Provider("kubernetes", render_yaml_to_directory="rendered")
        on_cluster = pulumi.ResourceOptions(provider=provider)
        for sdk_class, name, kwargs, secrets in plan:
            if secrets:
                kwargs = {**kwargs, **{key: pulumi.Output.secret(kwargs[key]) for key in secrets}}
            opts = on_cluster if sdk_class.__module__.startswith("pulumi_kubernetes") else None
            sdk_class(name, **kwargs, opts=opts)

    return body


def _signature(registered: list[Any]) -> list[tuple[str, str, str]]:
    import json

    return sorted(
        (registration.type, registration.name, json.dumps(registration.manifest, sort_keys=True))
        for registration in registered
        if not registration.type.startswith(("keelson:", "pulumi:providers:"))
    )


def overhead(copies: int, repeats: int) -> dict[str, Any]:
    """Median time of the component path and the bare path, alternated in one process."""
    apps = _app_args(copies)
    component = _component_body(apps)
    with quiet():
        captured = timed_run(component)
    plan = _replay_plan(captured.registered)
    bare = _bare_body(plan)
    with quiet():
        replayed = timed_run(bare)
    identical = _signature(captured.registered) == _signature(replayed.registered)
    component_times, bare_times = [], []
    with quiet():
        for _ in range(repeats):
            gc.collect()
            component_times.append(timed_run(component).total)
            gc.collect()
            bare_times.append(timed_run(bare).total)
    return {
        "apps": len(apps),
        "resources": len(plan),
        "identical_manifests": identical,
        "component": median(component_times),
        "bare": median(bare_times),
        "component_runs": component_times,
        "bare_runs": bare_times,
        "ratio": median(component_times) / median(bare_times),
        "paired_ratio": median([c / b for c, b in zip(component_times, bare_times)]),
    }


# ---------------------------------------------------------------------------------------------
# 3. Scaling
# ---------------------------------------------------------------------------------------------

SCALING_STACK = "staging"


def scaling_config(count: int) -> dict[str, Any]:
    """The staging stack with 'count' apps (APIs with an Ingress and workers, alternating; each API
    talks to the worker after it) in the shared namespace, whose quota is raised to fit them all at
    their autoscaling maximum, with a Job or an HTTP-01 solver pod per app on top."""
    import harness

    config = copy.deepcopy(harness.stack_config(SCALING_STACK))
    template = config["keelson:apps"]
    apps: dict[str, Any] = {}
    for index in range(count):
        component = "api" if index % 2 == 0 else "worker"
        name = f"{component}-{index:03d}"
        app = copy.deepcopy(template[component])
        if "ingress" in app:
            app["ingress"] = {"host": f"{name}.staging.keelson.example.com"}
        partner = f"worker-{index + 1:03d}"
        if "talksTo" in app:
            app["talksTo"] = [
                {**peer, "app": partner} if peer.get("app") == "worker" else peer
                for peer in app["talksTo"]
                if peer.get("app") != "worker" or index + 1 < count
            ]
        apps[name] = app
    config["keelson:apps"] = apps
    peak_pods = sum(app["autoscaling"]["maxReplicas"] + 1 for app in apps.values()) + count
    config["keelson:namespace"] = {
        **config["keelson:namespace"],
        "quota": {
            "requests": {"cpu": str(2 * peak_pods), "memory": f"{2 * peak_pods}Gi"},
            "limits": {"cpu": str(4 * peak_pods), "memory": f"{4 * peak_pods}Gi"},
            "pods": peak_pods,
        },
    }
    first = next(iter(apps))
    config["keelson:monitoring"] = {
        **config["keelson:monitoring"],
        "slo": [{**objective, "app": first} for objective in config["keelson:monitoring"]["slo"]],
    }
    return config


class FullCollections:
    """Counts CPython's full (generation 2) garbage collections inside a 'with' block, and their time:
    their cost grows with the live heap, so it is what bends a run's time above linear."""

    def __init__(self) -> None:
        self.count, self.seconds, self._started = 0, 0.0, 0.0

    def _record(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._record)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._record)


def scaling(count: int, repeats: int, trace: bool) -> dict[str, Any]:
    """Wall times of 'repeats' runs of the program with 'count' apps (after an untimed one); the
    process's peak resident set after them; with 'trace', one more run under tracemalloc for the
    peak of Python allocations during a run."""
    import harness

    config = scaling_config(count)
    secret_keys = harness.stack_secret_keys(SCALING_STACK)
    result: dict[str, Any] = {"apps": count}
    with quiet():
        result["resources"] = len(timed_run(program_body(), config, secret_keys, SCALING_STACK).registered)
        times, full_collections, full_collection_seconds = [], [], []
        for _ in range(repeats):
            gc.collect()
            with FullCollections() as collections:
                times.append(timed_run(program_body(), config, secret_keys, SCALING_STACK).total)
            full_collections.append(collections.count)
            full_collection_seconds.append(collections.seconds)
        result["runs"] = times
        result["full_gc_counts"] = full_collections
        result["full_gc_seconds"] = full_collection_seconds
        result["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if trace:
            gc.collect()
            tracemalloc.start()
            timed_run(program_body(), config, secret_keys, SCALING_STACK)
            result["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=["evaluation", "overhead", "scaling"])
    parser.add_argument("--stack", default="staging")
    parser.add_argument("--warm", type=int, default=1, help="warm runs after the cold one (evaluation)")
    parser.add_argument("--copies", type=int, default=10, help="copies of the stack's apps (overhead)")
    parser.add_argument("--apps", type=int, default=10, help="number of HardenedApps (scaling)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--trace", action="store_true", help="add a run under tracemalloc (scaling)")
    parser.add_argument("--out", help="write the JSON result here instead of printing it")
    options = parser.parse_args()
    if options.benchmark == "evaluation":
        result = evaluation(options.stack, options.warm)
    elif options.benchmark == "overhead":
        result = overhead(options.copies, options.repeats)
    else:
        result = scaling(options.apps, options.repeats, options.trace)
    write_json(options.out, result)


if __name__ == "__main__":
    main()
