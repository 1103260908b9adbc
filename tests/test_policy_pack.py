"""The policy pack (policy/): each hardening rule on its own, Keelson's stacks pass them all, and the real
engine runs the pack (`pulumi preview --policy-pack policy`): zero violations on `local`, every policy
firing on a deliberately unsafe program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from conftest import FIGURES
from engine import Project

POLICY_DIR = harness.ROOT / "policy"
POLICY_PYTHON = POLICY_DIR / ".venv" / "bin" / "python"
UNSAFE_PROGRAM = harness.ROOT / "tests" / "fixtures" / "unsafe_program"
sys.path.insert(0, str(POLICY_DIR))

from keelson_policy import ALL_RULES, RESOURCE_RULES, STACK_RULES, KubernetesObject, kind_of  # noqa: E402
from keelson_policy.pod_rules import image_problem  # noqa: E402
from keelson_policy.stack_rules import selector_matches  # noqa: E402

from keelson.builders.security import container_security_context, pod_security_context  # noqa: E402

RULES = {rule.name: rule for rule in ALL_RULES}
LABELS = {"app.kubernetes.io/name": "web"}
SAFE_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}


def hardened_container(name: str = "web", image: str = "ghcr.io/example/web:1.4.2", **overrides) -> dict:
    """A container built by Keelson's own security builder: it must pass every container rule."""
    return {"name": name, "image": image, "securityContext": container_security_context(), "resources": SAFE_RESOURCES, **overrides}


def deployment(containers: list[dict], replicas: int = 1, namespace: str = "shop", pod_security: dict | None = None,
               annotations: dict | None = None, init_containers: list[dict] | None = None) -> KubernetesObject:
    pod_spec = {"securityContext": pod_security_context() if pod_security is None else pod_security, "containers": containers}
    if init_containers:
        pod_spec["initContainers"] = init_containers
    metadata = {"name": "web", "namespace": namespace, **({"annotations": annotations} if annotations else {})}
    props = {
        "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": pod_spec}},
    }
    return KubernetesObject("kubernetes:apps/v1:Deployment", props, "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web", "web")


def k8s_object(kind: str, props: dict, api: str = "core/v1") -> KubernetesObject:
    name = props["metadata"]["name"]
    return KubernetesObject(f"kubernetes:{api}:{kind}", props, f"urn:pulumi:dev::p::kubernetes:{api}:{kind}::{name}", name)


def violations(obj: KubernetesObject) -> dict[str, list[str]]:
    """Messages per rule name, only for rules that found something."""
    found = {rule.name: rule.check(obj) for rule in RESOURCE_RULES}
    return {name: messages for name, messages in found.items() if messages}


def stack_violations(objects: list[KubernetesObject]) -> dict[str, list[str]]:
    found = {rule.name: [message for _, message in rule.check(objects)] for rule in STACK_RULES}
    return {name: messages for name, messages in found.items() if messages}


# --- pure rules ----------------------------------------------------------------------------------


def test_every_rule_has_a_unique_name_the_engine_accepts_and_a_description():
    names = [rule.name for rule in ALL_RULES]
    assert len(names) == len(set(names)) == 10
    for rule in ALL_RULES:
        assert re.fullmatch(r"[a-z0-9-]{1,100}", rule.name), f"policy name '{rule.name}' is not a plain slug"
        assert rule.description.endswith("."), f"policy '{rule.name}' needs a one-sentence description"


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [
        ("kubernetes:apps/v1:Deployment", "Deployment"),
        ("kubernetes:batch/v1:CronJob", "CronJob"),
        ("kubernetes:core/v1:Service", "Service"),
        ("pulumi:providers:kubernetes", None),
        ("keelson:index:HardenedApp", None),
        ("kubernetes:apps/v1:DeploymentPatch", None),
        ("kubernetes:yaml/v2:ConfigGroup", "ConfigGroup"),
        ("random:index/randomPassword:RandomPassword", None),
    ],
)
def test_only_kubernetes_objects_are_checked(resource_type, kind):
    assert kind_of(resource_type) == kind


def test_a_container_built_by_keelsons_security_builders_passes_every_rule():
    assert violations(deployment([hardened_container()], init_containers=[hardened_container("migrate")])) == {}


def test_an_unsafe_container_breaks_every_container_rule_and_each_message_names_the_object_the_container_and_the_rule():
    unsafe = {"name": "web", "image": "docker.io/library/nginx", "securityContext": {"privileged": True}}
    found = violations(deployment([unsafe], pod_security={}))
    assert set(found) == {rule.name for rule in RESOURCE_RULES} - {"keelson-no-unapproved-load-balancer"}
    for name, messages in found.items():
        for message in messages:
            assert message.startswith(f"[{name}] Deployment shop/web container 'web': "), message
            assert "Fix: " in message, f"{name} gives no fix: {message}"


def test_the_container_setting_wins_over_the_pod_setting_as_the_kubelet_applies_them():
    root_container = hardened_container(securityContext={**container_security_context(), "runAsUser": 0})
    assert "runs as root (runAsUser: 0)" in violations(deployment([root_container]))["keelson-run-as-non-root"][0]
    # seccomp and runAsNonRoot may come from the pod alone
    container_without_pod_fields = {**container_security_context()}
    for key in ("runAsNonRoot", "runAsUser", "seccompProfile"):
        container_without_pod_fields.pop(key)
    assert violations(deployment([hardened_container(securityContext=container_without_pod_fields)])) == {}


def test_root_is_allowed_only_with_an_annotation_that_gives_the_reason():
    root = {**container_security_context(), "runAsNonRoot": False, "runAsUser": 0}
    reason = {"policy.keelson.dev/allow-root": "reads root-owned logs under /var/log with every capability dropped"}
    assert "keelson-run-as-non-root" in violations(deployment([hardened_container(securityContext=root)]))
    assert violations(deployment([hardened_container(securityContext=root)], annotations=reason)) == {}
    blank = {"policy.keelson.dev/allow-root": "  "}
    assert "keelson-run-as-non-root" in violations(deployment([hardened_container(securityContext=root)], annotations=blank))


def test_capabilities_must_drop_all_and_may_add_back_only_net_bind_service():
    def with_capabilities(capabilities):
        return deployment([hardened_container(securityContext={**container_security_context(), "capabilities": capabilities})])

    assert violations(with_capabilities({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})) == {}
    added = violations(with_capabilities({"drop": ["ALL"], "add": ["SYS_ADMIN"]}))["keelson-drop-all-capabilities"]
    assert added == [
        "[keelson-drop-all-capabilities] Deployment shop/web container 'web': adds capabilities ['SYS_ADMIN']. "
        "Fix: add back at most NET_BIND_SERVICE, the only one the restricted standard allows."
    ]
    assert "without ALL" in violations(with_capabilities({"drop": ["NET_RAW"]}))["keelson-drop-all-capabilities"][0]


def test_allow_privilege_escalation_must_be_set_to_false_because_kubernetes_defaults_it_to_true():
    security = {**container_security_context()}
    security.pop("allowPrivilegeEscalation")
    message = violations(deployment([hardened_container(securityContext=security)]))["keelson-no-privilege-escalation"][0]
    assert "allowPrivilegeEscalation is unset" in message


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("ghcr.io/example/web:1.4.2", None),
        ("registry.local:5000/web:2024.06", None),
        ("ghcr.io/example/web@sha256:" + "a" * 64, None),
        ("nginx", "image 'nginx' has no tag, so it pulls whatever 'latest' is at the time"),
        ("registry.local:5000/web", "image 'registry.local:5000/web' has no tag, so it pulls whatever 'latest' is at the time"),
        ("nginx:latest", "image 'nginx:latest' uses the mutable 'latest' tag"),
        ("", "has no image"),
    ],
)
def test_images_are_pinned_by_a_version_tag_or_a_digest(image, problem):
    assert image_problem(image) == problem


def test_every_container_declares_cpu_and_memory_requests_and_limits():
    partial = hardened_container(resources={"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}})
    assert violations(deployment([partial]))["keelson-resource-requests-and-limits"] == [
        "[keelson-resource-requests-and-limits] Deployment shop/web container 'web': has no requests.memory, limits.cpu. "
        "Fix: set resources.requests and resources.limits for both cpu and memory."
    ]


def test_cron_jobs_are_checked_through_their_job_template():
    pod = {"containers": [{"name": "report", "image": "report:latest"}]}
    cron = k8s_object("CronJob", {"metadata": {"name": "report", "namespace": "ops"},
                                  "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}, "batch/v1")
    assert "CronJob ops/report container 'report'" in violations(cron)["keelson-pinned-image-tags"][0]


def test_a_load_balancer_service_needs_an_annotation_that_gives_the_reason():
    def service(service_type, annotations=None):
        metadata = {"name": "web", "namespace": "shop", **({"annotations": annotations} if annotations else {})}
        return k8s_object("Service", {"metadata": metadata, "spec": {"type": service_type}})

    assert violations(service("ClusterIP")) == {}
    assert violations(service("LoadBalancer"))["keelson-no-unapproved-load-balancer"][0].startswith(
        "[keelson-no-unapproved-load-balancer] Service shop/web: is of type LoadBalancer"
    )
    approved = {"policy.keelson.dev/allow-load-balancer": "the MQTT broker takes device traffic on TCP 8883"}
    assert violations(service("LoadBalancer", approved)) == {}


def _pdb(namespace: str, selector: dict) -> KubernetesObject:
    return k8s_object("PodDisruptionBudget", {"metadata": {"name": "web", "namespace": namespace},
                                              "spec": {"minAvailable": 1, "selector": selector}}, "policy/v1")


def _network_policy(namespace: str) -> KubernetesObject:
    return k8s_object("NetworkPolicy", {"metadata": {"name": "default-deny", "namespace": namespace},
                                        "spec": {"podSelector": {}}}, "networking.k8s.io/v1")


def test_a_multi_replica_deployment_needs_a_disruption_budget_in_its_namespace_that_selects_its_pods():
    web = deployment([hardened_container()], replicas=3)
    netpol = _network_policy("shop")
    assert stack_violations([web, netpol])["keelson-pdb-for-replicated-workloads"] == [
        "[keelson-pdb-for-replicated-workloads] Deployment shop/web: runs 3 replicas but no PodDisruptionBudget in "
        "namespace 'shop' selects its pods (labels {'app.kubernetes.io/name': 'web'}). Fix: add a PodDisruptionBudget "
        "(minAvailable or maxUnavailable) whose selector matches the pod labels."
    ]
    assert stack_violations([web, netpol, _pdb("shop", {"matchLabels": LABELS})]) == {}
    assert stack_violations([web, netpol, _pdb("other", {"matchLabels": LABELS})])
    assert stack_violations([web, netpol, _pdb("shop", {"matchLabels": {"app.kubernetes.io/name": "api"}})])
    assert stack_violations([deployment([hardened_container()], replicas=1), netpol]) == {}


def test_an_autoscaler_with_more_than_one_minimum_replica_makes_a_deployment_replicated():
    hpa = k8s_object("HorizontalPodAutoscaler", {"metadata": {"name": "web", "namespace": "shop"},
                                                 "spec": {"minReplicas": 2, "maxReplicas": 5,
                                                          "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}},
                     "autoscaling/v2")
    found = stack_violations([deployment([hardened_container()], replicas=1), hpa, _network_policy("shop")])
    assert "runs 2 replicas" in found["keelson-pdb-for-replicated-workloads"][0]


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "web", "tier": "db"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
        ({}, False),
    ],
)
def test_disruption_budget_selectors_follow_kubernetes_label_selector_semantics(selector, matches):
    assert selector_matches(selector, {"app": "web"}) is matches


def test_every_declared_namespace_and_every_namespace_with_pods_needs_a_network_policy():
    namespace = k8s_object("Namespace", {"metadata": {"name": "shop"}})
    elsewhere = deployment([hardened_container()], namespace="default")
    found = stack_violations([namespace, elsewhere])["keelson-network-policy-per-namespace"]
    assert [message.split(":")[0] for message in found] == [
        "[keelson-network-policy-per-namespace] namespace 'default' (holding Deployment default/web)",
        "[keelson-network-policy-per-namespace] namespace 'shop'",
    ]
    assert stack_violations([namespace, elsewhere, _network_policy("shop"), _network_policy("default")]) == {}


@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_kubernetes_object_of_the_keelson_program_passes_every_rule_under_mocks(stack, program_resources):
    objects = [
        KubernetesObject(resource.type, resource.manifest, "", resource.name)
        for resource in harness.kubernetes_objects(program_resources[stack])
    ]
    found = [message for obj in objects for rule in RESOURCE_RULES for message in rule.check(obj)]
    found += [message for rule in STACK_RULES for _, message in rule.check(objects)]
    assert not found, "\n".join(found)


# --- the pack, through pulumi_policy and the real engine -------------------------------------------


@pytest.fixture(scope="module")
def policy_python() -> Path:
    """The policy pack's own virtualenv (policy/.venv), or a failing test saying how to build it."""
    if not POLICY_PYTHON.exists():
        pytest.fail(f"the policy pack's virtualenv is missing: run `make policy-venv` (creates {POLICY_PYTHON.parent.parent} "
                    "from policy/requirements.txt)")
    return POLICY_PYTHON


WIRING_PROBE = """
import json, sys
from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
from pulumi_policy.policy import PolicyResource, PolicyResourceOptions
from keelson_policy.pack import policies

deployment = json.loads(sys.argv[1])
urn = "urn:pulumi:dev::probe::kubernetes:apps/v1:Deployment::web"
options = PolicyResourceOptions(False, [], None, [], None, [], None)
found = {}
for policy in policies():
    reported = []
    report = lambda message, urn=None: reported.append([message, urn])
    if isinstance(policy, ResourceValidationPolicy):
        policy.validate(ResourceValidationArgs("kubernetes:apps/v1:Deployment", deployment, urn, "web", options, None, {}), report)
    else:
        resource = PolicyResource("kubernetes:apps/v1:Deployment", deployment, urn, "web", options, None, None, [], {})
        policy.validate(StackValidationArgs([resource], {}), report)
    found[policy.name] = reported
print(json.dumps(found))
"""


def test_the_pack_runs_every_rule_through_pulumi_policys_validation_args(policy_python):
    unsafe = deployment([{"name": "web", "image": "nginx"}], replicas=2, pod_security={}).props
    completed = subprocess.run([str(policy_python), "-c", WIRING_PROBE, json.dumps(unsafe)], cwd=POLICY_DIR,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout)
    assert set(found) == set(RULES)
    silent = [name for name, reported in found.items() if not reported and name != "keelson-no-unapproved-load-balancer"]
    assert not silent, f"policies that reported nothing on an unsafe Deployment: {silent}"
    for name in ("keelson-pdb-for-replicated-workloads", "keelson-network-policy-per-namespace"):
        assert found[name][0][1] == "urn:pulumi:dev::probe::kubernetes:apps/v1:Deployment::web", f"{name} names no URN"


def ProgramCopy(source: Path, workdir: Path) -> Project:  # noqa: N802 - reads like the class it returns
    """Any Pulumi program (not Keelson's) copied to a temp dir, with Project's offline backend and plugins."""
    return Project(workdir, source=source, render_stacks=("dev",))


VIOLATION = re.compile(r"^\s*- \[(?P<level>\w+)\]\s+(?P<policy>[\w.-]+)\s+\((?P<resource>[^)]*)\)\n(?:.*\n)*?\s*(?P<message>\[(?P=policy)\] .+)$", re.MULTILINE)


def policy_violations(output: str) -> list[dict[str, str]]:
    """The violations `pulumi preview --policy-pack` printed: level, policy, resource and message."""
    return [match.groupdict() for match in VIOLATION.finditer(output)]


def _policy_preview(project: Project, stack: str):
    result = project.pulumi("preview", "--stack", stack, "--policy-pack", str(POLICY_DIR), check=False)
    if "RunPlugin not implemented" in result.output:
        pytest.fail(
            "the pinned Python language host cannot start policy packs (`method RunPlugin not implemented`): "
            "rebuild the toolchain with a host that implements RunPlugin (`make toolchain`, LANGHOST_REV >= 2 in "
            "tools/bootstrap-pulumi.sh)"
        )
    return result


def test_the_local_stack_previews_with_the_policy_pack_and_zero_violations(policy_python, tmp_path):
    project = Project(tmp_path)
    project.init_stack("local")
    result = _policy_preview(project, "local")
    found = policy_violations(result.output)
    FIGURES["policy pack (real engine, local)"] = f"{len(found)} violations; {result.summary().replace(chr(10), ' ')}"
    assert result.returncode == 0 and not found, "\n".join(v["message"] for v in found) or result.output[-4000:]
    assert "keelson-hardening@v0.1.0" in result.output, f"the policy pack did not run:\n{result.output[-3000:]}"


def test_a_deliberately_unsafe_program_breaks_every_policy_with_a_message_naming_the_resource(policy_python, tmp_path):
    project = ProgramCopy(UNSAFE_PROGRAM, tmp_path)
    project.pulumi("stack", "init", "dev", "--secrets-provider", "passphrase")
    result = _policy_preview(project, "dev")
    found = policy_violations(result.output)
    fired = {violation["policy"] for violation in found}
    FIGURES["policy pack (real engine, unsafe program)"] = f"{len(fired)}/{len(RULES)} policies fired, {len(found)} violations"
    assert result.returncode != 0, "a preview with mandatory violations must fail"
    assert fired == set(RULES), f"policies that did not fire: {sorted(set(RULES) - fired)}\n{result.output[-4000:]}"
    for violation in found:
        assert violation["level"] == "mandatory", violation
        assert re.search(r"(Deployment|Service) shop/web|namespace 'shop'", violation["message"]), violation
