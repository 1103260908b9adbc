"""Rules over the whole stack: objects that must come in pairs.

A replicated workload needs a PodDisruptionBudget, or a node drain may evict every replica at once;
a namespace needs a NetworkPolicy, or every pod in it accepts traffic from anywhere in the cluster.

Ref: https://kubernetes.io/docs/concepts/workloads/pods/disruptions/
Ref: https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .resources import KubernetesObject, as_list, as_mapping
from .rules import StackRule, violation

REPLICATED_KINDS = ("Deployment", "StatefulSet")


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects pods with 'labels'.

    An empty selector selects nothing here: a PodDisruptionBudget with one would cover every pod of
    its namespace, which is never what a per-workload budget means.

    Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
    """
    match_labels = as_mapping(selector.get("matchLabels"))
    expressions = [as_mapping(item) for item in as_list(selector.get("matchExpressions"))]
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in expressions:
        key, operator = expression.get("key"), expression.get("operator")
        values = [str(value) for value in as_list(expression.get("values"))]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def least_replicas(workload: KubernetesObject, objects: list[KubernetesObject]) -> float:
    """The fewest replicas the workload runs: its `replicas`, or the minReplicas of an HPA scaling it."""
    replicas = _number(as_mapping(workload.props.get("spec")).get("replicas"), 1)
    for hpa in objects:
        if hpa.kind != "HorizontalPodAutoscaler" or hpa.namespace != workload.namespace:
            continue
        spec = as_mapping(hpa.props.get("spec"))
        target = as_mapping(spec.get("scaleTargetRef"))
        if target.get("kind") == workload.kind and target.get("name") == workload.name:
            replicas = max(replicas, _number(spec.get("minReplicas"), 1))
    return replicas


def check_disruption_budgets(objects: list[KubernetesObject]) -> list[tuple[KubernetesObject, str]]:
    budgets = [obj for obj in objects if obj.kind == "PodDisruptionBudget"]
    found = []
    for workload in objects:
        if workload.kind not in REPLICATED_KINDS:
            continue
        replicas = least_replicas(workload, objects)
        if replicas <= 1:
            continue
        labels = workload.pod_template_labels
        covered = any(
            budget.namespace == workload.namespace
            and selector_matches(as_mapping(as_mapping(budget.props.get("spec")).get("selector")), labels)
            for budget in budgets
        )
        if not covered:
            found.append(
                (
                    workload,
                    violation(
                        PDB_FOR_REPLICATED_WORKLOADS.name,
                        workload.label,
                        f"runs {replicas:g} replicas but no PodDisruptionBudget in namespace "
                        f"'{workload.namespace}' selects its pods (labels {dict(labels)})",
                        "add a PodDisruptionBudget (minAvailable or maxUnavailable) whose selector matches the pod labels",
                    ),
                )
            )
    return found


def check_network_policy_per_namespace(objects: list[KubernetesObject]) -> list[tuple[KubernetesObject, str]]:
    """Every namespace the stack declares or deploys pods into holds at least one NetworkPolicy."""
    protected = {obj.namespace for obj in objects if obj.kind == "NetworkPolicy"}
    # A declared Namespace names the violation; a namespace the stack only deploys into is named by its first workload.
    first_seen: dict[str, KubernetesObject] = {obj.name: obj for obj in objects if obj.kind == "Namespace" and obj.name}
    for obj in objects:
        if obj.pod_spec is not None:
            first_seen.setdefault(obj.namespace, obj)
    return [
        (
            obj,
            violation(
                NETWORK_POLICY_PER_NAMESPACE.name,
                f"namespace '{namespace}'" + ("" if obj.kind == "Namespace" else f" (holding {obj.label})"),
                "has no NetworkPolicy, so every pod in it accepts traffic from anywhere in the cluster",
                "add a default-deny NetworkPolicy to the namespace (a GovernedNamespace creates one) and allow "
                "only the traffic the apps need",
            ),
        )
        for namespace, obj in sorted(first_seen.items())
        if namespace not in protected
    ]


PDB_FOR_REPLICATED_WORKLOADS = StackRule(
    "keelson-pdb-for-replicated-workloads",
    "Deployments and StatefulSets with more than one replica have a PodDisruptionBudget selecting their pods.",
    check_disruption_budgets,
)
NETWORK_POLICY_PER_NAMESPACE = StackRule(
    "keelson-network-policy-per-namespace",
    "Every namespace the stack declares or runs pods in has at least one NetworkPolicy.",
    check_network_policy_per_namespace,
)

STACK_RULES = (PDB_FOR_REPLICATED_WORKLOADS, NETWORK_POLICY_PER_NAMESPACE)
