"""The whole program under mocks, once per stack, with that stack's real Pulumi.<stack>.yaml."""

from __future__ import annotations

import re
from typing import Any

import pytest

import harness


@pytest.mark.parametrize("stack", harness.STACKS)
def test_each_stack_runs_an_api_and_a_worker_in_its_governed_namespace(program_resources, stack):
    registered = program_resources[stack]
    apps = sorted(resource.name for resource in registered if resource.type == "keelson:index:HardenedApp")
    assert apps == ["api", "worker"]
    namespaces = {resource.manifest["metadata"]["name"] for resource in harness.of_kind(registered, "Namespace")}
    assert namespaces == {f"keelson-{stack}", "monitoring", "logging", "log-collector", "node-exporter"}
    deployments = {
        resource.manifest["metadata"]["name"]
        for resource in harness.of_kind(registered, "Deployment")
        if resource.manifest["metadata"]["namespace"] == f"keelson-{stack}"
    }
    apps = harness.stack_config(stack)["keelson:apps"]
    canary = {"api-canary"} if "canary" in apps["api"] else set()
    stateful = {name for name, app in apps.items() if "storage" in app}
    assert deployments == ({"api", "worker"} - stateful) | canary
    assert stateful <= {r.manifest["metadata"]["name"] for r in harness.of_kind(registered, "StatefulSet")}


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_kubernetes_object_goes_through_the_explicit_provider(program_resources, stack):
    providers = [resource for resource in program_resources[stack] if resource.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1, "exactly one explicit Kubernetes provider"
    strays = [resource.label for resource in harness.kubernetes_objects(program_resources[stack]) if not resource.provider]
    assert not strays, f"objects on a default provider: {strays}"
    assert all("kubernetes::kubernetes" in resource.provider for resource in harness.kubernetes_objects(program_resources[stack]))


def test_only_the_local_stack_renders_to_a_directory(program_resources):
    def provider_inputs(stack):
        return next(r.inputs for r in program_resources[stack] if r.type == "pulumi:providers:kubernetes")

    assert provider_inputs("local").get("renderYamlToDirectory") == "rendered"
    assert "renderYamlToDirectory" not in provider_inputs("staging")
    assert "renderYamlToDirectory" not in provider_inputs("production")


def _by_name(registered, kind):
    """The objects of one kind in the apps' namespace, by name."""
    return {
        resource.manifest["metadata"]["name"]: resource.manifest
        for resource in harness.of_kind(registered, kind)
        if resource.manifest["metadata"].get("namespace", "").startswith("keelson-")
        or resource.manifest["metadata"]["name"].startswith("keelson-")
    }


def test_staging_and_production_differ_only_as_their_stack_files_say(program_resources):
    staging, production = program_resources["staging"], program_resources["production"]
    assert _by_name(staging, "Deployment")["api"]["spec"]["replicas"] == 2
    assert _by_name(production, "Deployment")["api"]["spec"]["replicas"] == 5
    assert (_by_name(staging, "HorizontalPodAutoscaler")["api"]["spec"]["minReplicas"],
            _by_name(staging, "HorizontalPodAutoscaler")["api"]["spec"]["maxReplicas"]) == (2, 5)
    assert (_by_name(production, "HorizontalPodAutoscaler")["api"]["spec"]["minReplicas"],
            _by_name(production, "HorizontalPodAutoscaler")["api"]["spec"]["maxReplicas"]) == (3, 20)
    staging_labels = _by_name(staging, "Namespace")["keelson-staging"]["metadata"]["labels"]
    production_labels = _by_name(production, "Namespace")["keelson-production"]["metadata"]["labels"]
    assert staging_labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert staging_labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert production_labels["pod-security.kubernetes.io/enforce"] == "restricted"
    issuer = "cert-manager.io/cluster-issuer"
    assert _by_name(staging, "Ingress")["api"]["metadata"]["annotations"][issuer] == "letsencrypt-staging"
    assert _by_name(production, "Ingress")["api"]["metadata"]["annotations"][issuer] == "letsencrypt-production"
    assert _by_name(staging, "ConfigMap")["api-config"]["data"]["LOG_LEVEL"] == "debug"
    assert _by_name(production, "ConfigMap")["api-config"]["data"]["LOG_LEVEL"] == "warning"


def test_production_has_a_pdb_for_every_app(program_resources):
    pdbs = _by_name(program_resources["production"], "PodDisruptionBudget")
    assert pdbs["api"]["spec"]["minAvailable"] == 2
    assert pdbs["worker"]["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_object_carries_the_keelson_labels(program_resources, stack):
    unlabeled = [
        resource.label
        for resource in harness.kubernetes_objects(program_resources[stack])
        if resource.manifest["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "keelson"
    ]
    assert not unlabeled, f"objects without app.kubernetes.io/part-of=keelson: {unlabeled}"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_secret_value_is_a_pulumi_secret(program_resources, stack):
    for secret in harness.of_kind(program_resources[stack], "Secret"):
        assert harness.is_secret(secret.inputs["stringData"]), f"{secret.label}: stringData is not a Pulumi secret"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_container_fits_its_namespace_limit_range(program_resources, stack):
    from keelson.quantities import parse_cpu, parse_memory

    limit_ranges = {
        resource.manifest["metadata"]["namespace"]: resource.manifest["spec"]["limits"][0]
        for resource in harness.of_kind(program_resources[stack], "LimitRange")
    }
    workloads = [
        resource
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
        for resource in harness.of_kind(program_resources[stack], kind)
    ]
    assert len(workloads) >= 5
    for deployment in workloads:
        ceiling = {
            resource: float(value)
            for resource, value in limit_ranges[deployment.manifest["metadata"]["namespace"]]["maxLimitRequestRatio"].items()
        }
        for container in deployment.manifest["spec"]["template"]["spec"]["containers"]:
            resources = container["resources"]
            cpu = parse_cpu(resources["limits"]["cpu"]) / parse_cpu(resources["requests"]["cpu"])
            memory = parse_memory(resources["limits"]["memory"]) / parse_memory(resources["requests"]["memory"])
            assert cpu <= ceiling["cpu"] and memory <= ceiling["memory"], f"{deployment.label}: ratio above LimitRange"


def _pod_totals(pod: dict) -> dict:
    """A pod's effective requests and limits, as the scheduler and the quota count them: its
    containers plus its native sidecars (init containers with restartPolicy Always), or, if larger,
    the biggest plain init container plus the sidecars started before it."""
    from keelson.quantities import parse_cpu, parse_memory

    fields = {"cpu": ("requests", "cpu", parse_cpu), "memory": ("requests", "memory", parse_memory),
              "cpu_limits": ("limits", "cpu", parse_cpu), "memory_limits": ("limits", "memory", parse_memory)}
    totals = {}
    for field, (section, resource, parse) in fields.items():
        def amount(container: dict) -> Any:
            return parse(container["resources"][section][resource])

        sidecars, init_peak = 0, 0
        for container in pod.get("initContainers") or []:
            if container.get("restartPolicy") == "Always":
                sidecars += amount(container)
            else:
                init_peak = max(init_peak, amount(container) + sidecars)
        totals[field] = max(sum(amount(container) for container in pod["containers"]) + sidecars, init_peak)
    return totals


def _manifest_totals(manifests) -> dict:
    totals = {"pods": 0, "cpu": 0, "memory": 0, "cpu_limits": 0, "memory_limits": 0}
    for manifest in manifests:
        replicas = manifest["spec"].get("replicas", 1)
        totals["pods"] += replicas
        if manifest["kind"] == "Prometheus":
            # Operator mode: the operator builds the pods from the custom resource's own resources.
            pod = {"containers": [{"resources": manifest["spec"]["resources"]}]}
        else:
            pod = manifest["spec"]["template"]["spec"]
        for field, amount in _pod_totals(pod).items():
            totals[field] += replicas * amount
    return totals


@pytest.mark.parametrize("stack", harness.STACKS)
def test_the_footprint_export_adds_up_the_rendered_workloads(stack):
    registered = harness.run_program(stack)
    footprints = harness.LAST_PROGRAM["footprints"]
    # The monitoring footprint counts node-exporter's DaemonSet for one node (one pod, no 'replicas').
    for component, namespaces in (("apps", {f"keelson-{stack}"}), ("monitoring", {"monitoring", "node-exporter"})):
        manifests = [
            resource.manifest
            for kind in ("Deployment", "StatefulSet", "Prometheus", "DaemonSet")
            for resource in harness.of_kind(registered, kind)
            if resource.manifest["metadata"]["namespace"] in namespaces
        ]
        expected = _manifest_totals(manifests)
        footprint = footprints[component]
        assert (footprint.pods, footprint.cpu_requests, footprint.memory_requests) == (
            expected["pods"], expected["cpu"], expected["memory"]
        ), f"{stack} {component}: footprint {footprint} disagrees with the manifests {expected}"
        if component == "monitoring":
            assert any(m["kind"] == "DaemonSet" for m in manifests), f"{stack}: no node-exporter DaemonSet counted"
        assert (footprint.cpu_limits, footprint.memory_limits) == (expected["cpu_limits"], expected["memory_limits"])


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_namespace_fits_its_quota_at_peak(stack):
    from keelson.quantities import parse_cpu, parse_memory

    registered = harness.run_program(stack)
    program = harness.LAST_PROGRAM
    quotas = {
        resource.manifest["metadata"]["namespace"]: resource.manifest["spec"]["hard"]
        for resource in harness.of_kind(registered, "ResourceQuota")
    }
    peaks = {
        f"keelson-{stack}": sum((app.peak_footprint for app in program["apps"].values()), start=type(program["footprints"]["apps"])()),
        "monitoring": program["monitoring"].footprint,
    }
    for namespace, peak in peaks.items():
        hard = quotas[namespace]
        assert peak.cpu_requests <= parse_cpu(hard["requests.cpu"]), f"{namespace}: CPU requests above quota"
        assert peak.memory_requests <= parse_memory(hard["requests.memory"]), f"{namespace}: memory requests above quota"
        assert peak.cpu_limits <= parse_cpu(hard["limits.cpu"]), f"{namespace}: CPU limits above quota"
        assert peak.memory_limits <= parse_memory(hard["limits.memory"]), f"{namespace}: memory limits above quota"
        assert peak.pods <= int(hard["pods"]), f"{namespace}: pods above quota"


@pytest.mark.parametrize("stack", harness.STACKS)
def test_the_api_may_call_the_worker_and_nothing_else_may(program_resources, stack):
    """Both sides of api -> worker, under the namespace's default deny: the api's egress selects the
    worker's pods on their container port, and the worker's ingress admits exactly the api's pods there."""
    registered = program_resources[stack]
    policies = _by_name(registered, "NetworkPolicy")
    workloads = {**_by_name(registered, "Deployment"), **_by_name(registered, "StatefulSet")}
    pods = {name: workload["spec"]["template"] for name, workload in workloads.items()}
    worker_port = next(p["containerPort"] for p in pods["worker"]["spec"]["containers"][0]["ports"] if p["name"] == "http")

    (egress,) = policies["api-allow-talks-to"]["spec"]["egress"]
    (target,) = egress["to"]
    assert target["podSelector"]["matchLabels"].items() <= pods["worker"]["metadata"]["labels"].items()
    assert not target["podSelector"]["matchLabels"].items() <= pods["api"]["metadata"]["labels"].items()
    assert egress["ports"] == [{"protocol": "TCP", "port": worker_port}]

    (ingress,) = policies["worker-allow-from-apps"]["spec"]["ingress"]
    (source,) = ingress["from"]
    assert source["podSelector"]["matchLabels"].items() <= pods["api"]["metadata"]["labels"].items()
    assert ingress["ports"] == [{"protocol": "TCP", "port": worker_port}]
    assert "worker-allow-talks-to" not in policies and "api-allow-from-apps" not in policies, "only api calls worker"


def test_the_program_and_its_tests_import_keelson_and_never_components():
    """One import name: `keelson` (a symlink to components/ in the repository, the package name in
    the wheel). A module imported under both names would exist twice, with two sets of classes."""
    import subprocess
    import sys

    probe = "import sys, settings, keelson; print(sorted(m for m in sys.modules if m.split('.')[0] == 'components'))"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=harness.ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]", f"modules imported as components: {completed.stdout}"
    grep = subprocess.run(
        ["git", "grep", "-n", "-E", r"^\s*(from|import) components\b", "--", "*.py"],
        cwd=harness.ROOT, capture_output=True, text=True, timeout=60,
    )
    assert grep.stdout == "", f"imports of `components` (use `keelson`):\n{grep.stdout}"


RFC1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_KINDS = {"Namespace", "Service"}
"""Kinds whose names the API server checks as DNS labels (63 characters, no dot), not subdomains."""


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_object_name_is_one_the_api_server_accepts(stack):
    """The API server refuses a name with an underscore or a capital; mocks accept anything, so the
    names are checked here for every kind, custom resources included."""
    bad = []
    for resource in harness.kubernetes_objects(harness.run_program(stack)):
        name = resource.manifest["metadata"]["name"]
        limit = 63 if resource.kind in DNS_LABEL_KINDS or "." not in name else 253
        if not RFC1123_SUBDOMAIN.match(name) or len(name) > limit or (resource.kind in DNS_LABEL_KINDS and "." in name):
            bad.append(f"{resource.kind} {name}")
    assert not bad, f"names the API server would refuse: {bad}"
