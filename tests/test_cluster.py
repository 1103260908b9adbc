"""The real API server: the production and cluster stacks applied with the real engine to a local
control plane (etcd, kube-apiserver with RBAC and Pod Security admission, controller manager,
scheduler, kwok's fake nodes). Every object is admitted and rolled out, preview and refresh find no
drift, config changes apply in place, a replace must be declared safe, the API's own authorizer
proves least privilege, a Pod Security violation is refused, and destroy leaves nothing behind.

Tests run in file order: each stack is deployed by its fixture, checked, changed, then destroyed."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import harness
from cluster import Cluster
from conftest import FIGURES
from engine import Project, Result

PSS_VIOLATION = harness.ROOT / "tests" / "fixtures" / "pss_violation"
REPLACING_OPS = {"replace", "create-replacement", "delete-replaced"}
PLATFORM_NAMESPACES = {"monitoring", "logging", "log-collector", "node-exporter"}


def unsafe_replacements(steps: list[dict], declared_safe: frozenset[str] = frozenset()) -> list[str]:
    """The resources (by Pulumi name) a preview would delete and re-create, less those declared safe.

    A replace of a StatefulSet drops its pods at once, and a replaced namespace takes everything in
    it along: a config change may only replace what its author declared safe to replace."""
    replaced = {step["urn"].rsplit("::", 1)[-1] for step in steps if step["op"] in REPLACING_OPS}
    return sorted(replaced - declared_safe)


def summary_line(result: Result) -> str:
    """The 'Resources:' block and the duration, on one line."""
    return " ".join(result.summary().split("\n\n")[0].split())


def identities(objects: list[harness.Registered]) -> Counter:
    return Counter(
        (obj.kind, obj.manifest["metadata"].get("namespace"), obj.manifest["metadata"]["name"]) for obj in objects
    )


def deploy(stack: str, cluster: Cluster, workdir) -> dict:
    """A copy of the project with 'stack' bound to the local cluster, after `pulumi up`."""
    project = Project(workdir)
    project.init_stack(stack)
    project.pulumi("config", "set", "--stack", stack, "--path", "keelson:kubernetes.kubeconfig", str(cluster.kubeconfig))
    up = project.pulumi("up", "--stack", stack, "--yes", "--skip-preview", check=False, timeout=1800)
    FIGURES[f"cluster: pulumi up --stack {stack}"] = summary_line(up)
    registered = harness.run_program(stack)
    return {
        "project": project, "up": up, "stack": stack,
        "registered": registered, "objects": harness.kubernetes_objects(registered),
    }


def assert_up_created_every_resource(deployed: dict) -> None:
    up = deployed["up"]
    assert up.returncode == 0, f"pulumi up --stack {deployed['stack']} failed on the cluster:\n{up.output[-8000:]}"
    expected = len(deployed["registered"]) + 1  # every registered resource, plus the Stack
    assert f"+ {expected} created" in up.summary(), up.output[-4000:]


def assert_the_api_server_holds_what_the_program_registers(deployed: dict, cluster: Cluster) -> None:
    expected = identities(deployed["objects"])
    live = cluster.keelson_objects({kind for kind, _, _ in expected})
    by_kind = Counter(kind for kind, _, _ in live.elements())
    FIGURES[f"cluster: Keelson objects in the API server after up ({deployed['stack']})"] = (
        f"{sum(by_kind.values())}: " + ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items()))
    )
    assert live == expected, (
        f"missing from the API server: {sorted((expected - live).elements())}; "
        f"not registered by the program: {sorted((live - expected).elements())}"
    )


CUSTOM_KINDS = {"Certificate", "ClusterIssuer", "Issuer", "PodMonitor", "Prometheus", "PrometheusRule", "Schedule", "ServiceMonitor"}
"""Kinds served by the installed CRDs: the API server validates them against the CRD schemas and
prunes fields a schema does not know, silently."""


def missing_fields(expected, live, path: str = "spec") -> list[str]:
    """The paths of 'expected' that 'live' does not hold with the same value."""
    if isinstance(expected, dict):
        if not isinstance(live, dict):
            return [path]
        return [gap for key, value in expected.items() for gap in missing_fields(value, live.get(key), f"{path}.{key}")]
    if isinstance(expected, list):
        if not isinstance(live, list) or len(live) != len(expected):
            return [path]
        return [gap for index, (want, got) in enumerate(zip(expected, live)) for gap in missing_fields(want, got, f"{path}[{index}]")]
    return [] if expected == live else [f"{path} ({expected!r} != {live!r})"]


def assert_custom_resources_keep_every_field(deployed: dict, cluster: Cluster) -> None:
    custom = [obj for obj in deployed["objects"] if obj.kind in CUSTOM_KINDS]
    assert custom, "the stack registers no custom resource"
    resources = cluster.resource_names({obj.kind for obj in custom})
    for obj in custom:
        metadata = obj.manifest["metadata"]
        where = ["--namespace", metadata["namespace"]] if metadata.get("namespace") else []
        (live,) = cluster.get(resources[obj.kind], *where, "--field-selector", f"metadata.name={metadata['name']}")
        gaps = missing_fields(obj.manifest["spec"], live["spec"])
        assert not gaps, f"{obj.label}: the API server dropped or changed {gaps} (not in the CRD schema?)"
    FIGURES[f"cluster: custom resources stored field for field ({deployed['stack']})"] = (
        f"{len(custom)} ({', '.join(sorted({obj.kind for obj in custom}))})"
    )


def assert_namespaces_enforce_what_the_stack_says(deployed: dict, cluster: Cluster) -> None:
    live = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in cluster.get("namespaces")}
    for namespace in (obj for obj in deployed["objects"] if obj.kind == "Namespace"):
        name = namespace.manifest["metadata"]["name"]
        wanted = {k: v for k, v in namespace.manifest["metadata"]["labels"].items() if k.startswith("pod-security")}
        assert wanted, f"{namespace.label}: no Pod Security labels"
        actual = {k: v for k, v in live[name].items() if k.startswith("pod-security")}
        assert actual == wanted, f"namespace {name}: Pod Security labels {actual}, the stack says {wanted}"


def assert_everything_rolled_out(cluster: Cluster, namespaces: set[str]) -> None:
    def items(resource):
        return [item for item in cluster.get(resource, "--all-namespaces") if item["metadata"]["namespace"] in namespaces]

    problems = []
    for deployment in items("deployments"):
        status = deployment["status"]
        if status.get("availableReplicas") != deployment["spec"]["replicas"]:
            problems.append(f"Deployment {deployment['metadata']['name']}: {status.get('availableReplicas')} available")
    for statefulset in items("statefulsets"):
        if statefulset["status"].get("readyReplicas") != statefulset["spec"]["replicas"]:
            problems.append(f"StatefulSet {statefulset['metadata']['name']}: {statefulset['status']}")
    for daemonset in items("daemonsets"):
        status = daemonset["status"]
        if not status.get("desiredNumberScheduled") or status.get("numberReady") != status["desiredNumberScheduled"]:
            problems.append(f"DaemonSet {daemonset['metadata']['name']}: {status}")
    ready_by_service = Counter()
    for endpoint_slice in items("endpointslices.discovery.k8s.io"):
        service = endpoint_slice["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        ready_by_service[(endpoint_slice["metadata"]["namespace"], service)] += sum(
            1 for endpoint in endpoint_slice.get("endpoints") or [] if endpoint["conditions"].get("ready")
        )
    for service in items("services"):
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        if service["spec"].get("selector") and not ready_by_service[key]:
            problems.append(f"Service {key[0]}/{key[1]}: no ready endpoint")
    for ingress in items("ingresses.networking.k8s.io"):
        if not ingress["status"].get("loadBalancer", {}).get("ingress"):
            problems.append(f"Ingress {ingress['metadata']['name']}: no address")
    for claim in items("persistentvolumeclaims"):
        if claim["status"].get("phase") != "Bound":
            problems.append(f"PersistentVolumeClaim {claim['metadata']['name']}: {claim['status'].get('phase')}")
    for job in items("jobs.batch"):
        if not job["status"].get("succeeded"):
            problems.append(f"Job {job['metadata']['name']}: not succeeded ({job['status']})")
    pods = items("pods")
    assert not problems, "\n".join(problems)

    def settled(pod: dict) -> bool:
        """Running, or, for a Job's pod, Succeeded."""
        of_job = any(owner["kind"] == "Job" for owner in pod["metadata"].get("ownerReferences", []))
        return pod["status"].get("phase") == "Running" or (of_job and pod["status"].get("phase") == "Succeeded")

    assert pods and all(settled(pod) for pod in pods), [
        (pod["metadata"]["name"], pod["status"].get("phase")) for pod in pods if not settled(pod)
    ]


def assert_destroy_leaves_nothing(deployed: dict, cluster: Cluster) -> None:
    project, stack = deployed["project"], deployed["stack"]
    destroy = project.pulumi("destroy", "--stack", stack, "--yes", "--skip-preview", check=False, timeout=1800)
    FIGURES[f"cluster: pulumi destroy --stack {stack}"] = summary_line(destroy)
    assert destroy.returncode == 0, destroy.output[-6000:]
    expected = identities(deployed["objects"])
    leftovers = cluster.keelson_objects({kind for kind, _, _ in expected})
    assert not leftovers, f"objects left behind by destroy: {sorted(leftovers)}"
    namespaces = {obj.manifest["metadata"]["name"] for obj in deployed["objects"] if obj.kind == "Namespace"}
    remaining = namespaces & {ns["metadata"]["name"] for ns in cluster.get("namespaces")}
    assert not remaining, f"namespaces still present (terminating?): {sorted(remaining)}"
    state = json.loads(project.pulumi("stack", "export", "--stack", stack).stdout)
    assert not state["deployment"].get("resources"), "the stack's state still holds resources after destroy"


# -------------------------------------------------------------------------------------------------
# production: the stack file as it ships, bound to the local cluster


@pytest.fixture(scope="module")
def production(cluster, tmp_path_factory) -> dict:
    return deploy("production", cluster, tmp_path_factory.mktemp("cluster-production"))


def test_pulumi_up_of_production_creates_every_resource_on_the_api_server(production, cluster):
    assert_up_created_every_resource(production)
    assert_the_api_server_holds_what_the_program_registers(production, cluster)
    assert_custom_resources_keep_every_field(production, cluster)


def test_production_namespaces_enforce_the_pod_security_levels_of_the_stack_file(production, cluster):
    assert_namespaces_enforce_what_the_stack_says(production, cluster)
    labels = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in cluster.get("namespaces")}
    assert labels["keelson-production"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_production_workloads_roll_out_and_every_service_has_ready_endpoints(production, cluster):
    assert_everything_rolled_out(cluster, {"keelson-production", *PLATFORM_NAMESPACES})


def test_the_post_deploy_smoke_check_passes_on_the_release_and_fails_on_a_missing_app(production, cluster, tmp_path):
    """tools/smoke_check.py, which the deploy workflow runs after `pulumi up` (and rolls back on):
    the stack's outputs name the apps, the cluster says whether each rolled out. The fake nodes run
    no containers, so the HTTP check through the Services is left to real clusters (--no-http)."""
    import subprocess
    import sys

    outputs = json.loads(production["project"].pulumi("stack", "output", "--json", "--stack", "production").stdout)
    env = {"KUBECONFIG": str(cluster.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def smoke(document: dict) -> subprocess.CompletedProcess:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(document))
        return subprocess.run(
            [sys.executable, str(harness.ROOT / "tools" / "smoke_check.py"), "--stack", "production", "--outputs", str(path),
             "--kubectl", str(cluster.bin_dir / "kubectl"), "--timeout", "60", "--no-http"],
            capture_output=True, text=True, env=env, timeout=600,
        )

    passed = smoke(outputs)
    assert passed.returncode == 0, passed.stderr
    FIGURES["cluster: smoke check (production)"] = passed.stdout.strip()
    failed = smoke({**outputs, "appInternalUrls": {**outputs["appInternalUrls"], "ghost": "http://ghost"}})
    assert failed.returncode == 1 and "keelson-production/ghost: not rolled out" in failed.stderr, failed.stderr


def test_a_preview_after_up_shows_no_changes(production):
    preview = production["project"].pulumi("preview", "--stack", "production", "--expect-no-changes", check=False)
    assert preview.returncode == 0, f"preview after up found changes:\n{preview.output[-6000:]}"


def test_refresh_finds_no_drift_between_the_state_and_the_api_server(production):
    refresh = production["project"].pulumi(
        "refresh", "--stack", "production", "--yes", "--skip-preview", "--expect-no-changes", check=False
    )
    FIGURES["cluster: pulumi refresh --stack production"] = summary_line(refresh)
    assert refresh.returncode == 0, f"refresh found drift:\n{refresh.output[-6000:]}"


def test_rbac_grants_each_identity_only_what_it_needs(production, cluster):
    prometheus = "system:serviceaccount:monitoring:prometheus"
    assert cluster.can_i(prometheus, "list", "pods"), "Prometheus must discover pods in every namespace"
    assert cluster.can_i(prometheus, "watch", "endpointslices.discovery.k8s.io")
    assert not cluster.can_i(prometheus, "get", "secrets"), "Prometheus can read Secrets"
    assert not cluster.can_i(prometheus, "list", "secrets", "monitoring"), "Prometheus can list its own Secrets"
    assert not cluster.can_i(prometheus, "delete", "pods"), "Prometheus can delete pods"

    state_metrics = "system:serviceaccount:monitoring:kube-state-metrics"
    for verb, resource in (("list", "pods"), ("watch", "nodes"), ("list", "horizontalpodautoscalers.autoscaling")):
        assert cluster.can_i(state_metrics, verb, resource), f"kube-state-metrics cannot {verb} {resource}"
    for verb, resource in (("list", "secrets"), ("list", "configmaps"), ("get", "pods"), ("delete", "pods"),
                           ("create", "tokenreviews.authentication.k8s.io")):
        assert not cluster.can_i(state_metrics, verb, resource), f"kube-state-metrics can {verb} {resource}"
    node_exporter = "system:serviceaccount:node-exporter:node-exporter"
    assert not cluster.can_i(node_exporter, "list", "pods"), "node-exporter can list pods; it reads only its node"

    namespace = "keelson-production"
    roles = [obj for obj in production["objects"] if obj.kind == "Role" and obj.manifest["metadata"]["namespace"] == namespace]
    assert len(roles) == 2, [role.label for role in roles]
    all_named = {(rule["resources"][0], name) for role in roles for rule in role.manifest["rules"] for name in rule["resourceNames"]}
    for role in roles:
        app = role.manifest["metadata"]["name"].removesuffix("-read-own-config")
        subject = f"system:serviceaccount:{namespace}:{app}"
        own = {(rule["resources"][0], name) for rule in role.manifest["rules"] for name in rule["resourceNames"]}
        for resource, name in sorted(own):
            assert cluster.can_i(subject, "get", f"{resource}/{name}", namespace), f"{app} cannot read its {resource}/{name}"
        for resource, name in sorted(all_named - own):
            assert not cluster.can_i(subject, "get", f"{resource}/{name}", namespace), f"{app} can read {resource}/{name}"
        for verb, resource in (("list", "configmaps"), ("list", "secrets"), ("get", "pods"), ("update", f"configmaps/{app}-config")):
            assert not cluster.can_i(subject, verb, resource, namespace), f"{app} can {verb} {resource}"

    accounts = [
        f"system:serviceaccount:{account['metadata']['namespace']}:{account['metadata']['name']}"
        for account in cluster.get("serviceaccounts", "--all-namespaces", "-l", "app.kubernetes.io/part-of=keelson")
    ]
    assert len(accounts) >= 5, accounts
    for subject in accounts:
        namespace_of = subject.split(":")[2]
        for verb, resource in (("create", "pods/exec"), ("create", "pods/attach"), ("create", "pods/portforward")):
            assert not cluster.can_i(subject, verb, resource, namespace_of), f"{subject} can {verb} {resource}"
            assert not cluster.can_i(subject, verb, resource), f"{subject} can {verb} {resource} cluster-wide"
    FIGURES["cluster: least privilege (kubectl auth can-i)"] = (
        f"{len(accounts)} ServiceAccounts: none can exec/attach/port-forward; Prometheus lists pods, reads no Secret; "
        "kube-state-metrics lists and watches, reads no Secret or ConfigMap; "
        f"{len(roles)} apps read only their own ConfigMap/Secret"
    )


def test_a_pod_that_breaks_the_namespace_pod_security_level_is_refused_by_the_api_server(production, cluster, tmp_path):
    project = Project(tmp_path, source=PSS_VIOLATION, render_stacks=(), kubeconfig=cluster.kubeconfig)
    project.init_stack("dev")
    project.pulumi("config", "set", "--stack", "dev", "pss:namespace", "keelson-production")
    up = project.pulumi("up", "--stack", "dev", "--yes", "--skip-preview", check=False, timeout=600)
    assert up.returncode != 0, "the API server admitted a pod that breaks Pod Security"
    namespace = next(ns for ns in cluster.get("namespaces") if ns["metadata"]["name"] == "keelson-production")
    version = namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"]
    assert f'violates PodSecurity "restricted:{version}"' in up.output, up.output[-4000:]
    assert "hostNetwork=true" in up.output and "hostPath" in up.output, up.output[-4000:]
    assert not cluster.get("pods", "--namespace", "keelson-production", "--field-selector", "metadata.name=host-shell")
    refusal = next(line for line in up.output.splitlines() if "violates PodSecurity" in line)
    FIGURES["cluster: Pod Security refusal"] = refusal.strip()[:240]


IN_PLACE_CHANGES = [
    ("keelson:monitoring.prometheus.replicas", "3"),
    ("keelson:apps.worker.resources.requests.cpu", "300m"),
    ("keelson:monitoring.prometheus.retention", "20d"),
    ("keelson:logging.loki.retention", "45d"),
    ("keelson:alerting.slack.channel", "#keelson-alerts-moved"),
]
"""Replicas, resources, retention and an alert channel: each must apply without replacing anything."""


def test_config_changes_apply_to_the_cluster_as_in_place_updates(production, cluster):
    project = production["project"]
    for key, value in IN_PLACE_CHANGES:
        project.pulumi("config", "set", "--stack", "production", "--path", key, value)
    steps = project.preview_steps("production")
    assert not unsafe_replacements(steps), f"a config change would replace: {unsafe_replacements(steps)}"
    changed = {step["urn"].rsplit("::", 1)[-1] for step in steps if step["op"] == "update"}
    assert {"monitoring-prometheus", "worker-deployment", "logging-loki-config", "monitoring-alertmanager-config"} <= changed, changed
    up = project.pulumi("up", "--stack", "production", "--yes", "--skip-preview", check=False, timeout=1800)
    FIGURES["cluster: pulumi up (config change)"] = summary_line(up)
    assert up.returncode == 0, up.output[-6000:]
    assert "replaced" not in up.summary() and "updated" in up.summary(), up.summary()
    prometheus = cluster.get("statefulsets", "--namespace", "monitoring", "--field-selector", "metadata.name=prometheus")[0]
    assert prometheus["spec"]["replicas"] == 3
    assert any("--storage.tsdb.retention.time=20d" in arg for arg in prometheus["spec"]["template"]["spec"]["containers"][0]["args"])
    worker = cluster.get("deployments", "--namespace", "keelson-production", "--field-selector", "metadata.name=worker")[0]
    assert worker["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "300m"
    assert_everything_rolled_out(cluster, {"keelson-production", *PLATFORM_NAMESPACES})


def test_a_volume_claim_change_previews_as_a_replace_and_is_refused_unless_declared_safe(production):
    project = production["project"]
    project.pulumi("config", "set", "--stack", "production", "--path", "keelson:monitoring.prometheus.storage.size", "80Gi")
    try:
        steps = project.preview_steps("production")
    finally:
        project.pulumi("config", "set", "--stack", "production", "--path", "keelson:monitoring.prometheus.storage.size", "50Gi")
    assert unsafe_replacements(steps) == ["monitoring-prometheus"], (
        "a StatefulSet's volumeClaimTemplates are immutable: the change must preview as a replace "
        f"of the Prometheus StatefulSet, got {unsafe_replacements(steps)}"
    )
    assert not unsafe_replacements(steps, declared_safe=frozenset({"monitoring-prometheus"}))


def test_a_failed_release_rolls_back_to_the_last_commit_that_passed_its_smoke_check(production, cluster, tmp_path):
    """tools/rollback.sh, the deploy workflow's rollback step, on the real engine and API server:
    release A passes and is tagged, release B (log level debug) is applied, and the script brings
    the cluster back to A from a worktree of A's commit, then passes the smoke check there."""
    import shutil
    import subprocess

    project = production["project"]
    workdir = project.workdir
    (workdir / "tools" / "lib").mkdir(parents=True, exist_ok=True)
    for script in ("rollback.sh", "smoke_check.py", "lib/script-head.sh"):
        shutil.copy2(harness.ROOT / "tools" / script, workdir / "tools" / script)
    (workdir / ".gitignore").write_text(".pulumi/\n.venv\n__pycache__/\n")
    identity = ["-c", "user.name=Keelson release", "-c", "user.email=release@keelson.dev"]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(workdir), *identity, *args], check=True, capture_output=True, text=True).stdout.strip()

    def log_level() -> str:
        (config,) = cluster.get("configmaps", "--namespace", "keelson-production", "--field-selector", "metadata.name=api-config")
        return config["data"]["LOG_LEVEL"]

    git("init", "--quiet", "--initial-branch", "main")
    git("add", "--all")
    git("commit", "--quiet", "--message", "release A")
    release_a = git("rev-parse", "HEAD")
    project.pulumi("stack", "tag", "set", "keelson:deployed-commit", release_a, "--stack", "production")
    project.pulumi("config", "set", "--stack", "production", "keelson:logLevel", "debug")
    git("commit", "--quiet", "--all", "--message", "release B: debug logs")
    up = project.pulumi("up", "--stack", "production", "--yes", "--skip-preview", check=False, timeout=1800)
    assert up.returncode == 0 and log_level() == "debug", up.output[-4000:]

    env = {
        **project.env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "HOME": str(tmp_path),
        "SMOKE_CHECK_ARGS": f"--kubectl {cluster.bin_dir / 'kubectl'} --timeout 120 --no-http",
    }

    def rollback(stack: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(workdir / "tools" / "rollback.sh"), stack], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=1800)

    rolled = rollback("production")
    assert rolled.returncode == 0, rolled.stderr[-6000:]
    assert rolled.stdout.strip() == release_a, rolled.stdout
    FIGURES["cluster: rollback (production)"] = rolled.stderr.strip().splitlines()[-1]
    assert log_level() == "warning", "the API server still holds release B's config after the rollback"
    assert "rolled out" in rolled.stderr
    assert git("worktree", "list").count("\n") == 0, "the rollback left its worktree behind"
    # Back on A: the checkout of release A previews no change against the stack.
    git("checkout", "--quiet", release_a)
    preview = project.pulumi("preview", "--stack", "production", "--expect-no-changes", check=False)
    assert preview.returncode == 0, preview.output[-4000:]

    never_tagged = rollback("staging")
    assert never_tagged.returncode == 1
    assert "no commit of stack staging ever passed its smoke check" in never_tagged.stderr, never_tagged.stderr


def test_pulumi_destroy_of_production_leaves_no_keelson_object_and_an_empty_state(production, cluster):
    assert_destroy_leaves_nothing(production, cluster)


# -------------------------------------------------------------------------------------------------
# the cluster stack: the staging profile with prometheus-operator mode (its CRDs are installed)


@pytest.fixture(scope="module")
def cluster_stack(cluster, tmp_path_factory) -> dict:
    return deploy("cluster", cluster, tmp_path_factory.mktemp("cluster-stack"))


def test_pulumi_up_of_the_cluster_stack_creates_every_resource_in_operator_mode(cluster_stack, cluster):
    assert_up_created_every_resource(cluster_stack)
    assert_the_api_server_holds_what_the_program_registers(cluster_stack, cluster)
    assert_custom_resources_keep_every_field(cluster_stack, cluster)
    kinds = {obj.kind for obj in cluster_stack["objects"]}
    assert {"Prometheus", "PrometheusRule", "ServiceMonitor", "ClusterIssuer", "Certificate"} <= kinds, kinds


def test_the_cluster_stack_rolls_out_enforces_its_levels_and_previews_no_changes(cluster_stack, cluster):
    assert_namespaces_enforce_what_the_stack_says(cluster_stack, cluster)
    assert_everything_rolled_out(cluster, {"keelson-cluster", *PLATFORM_NAMESPACES})
    preview = cluster_stack["project"].pulumi("preview", "--stack", "cluster", "--expect-no-changes", check=False)
    assert preview.returncode == 0, f"preview after up found changes:\n{preview.output[-6000:]}"


def test_pulumi_destroy_of_the_cluster_stack_leaves_nothing(cluster_stack, cluster):
    assert_destroy_leaves_nothing(cluster_stack, cluster)
