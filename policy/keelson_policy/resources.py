"""Read Kubernetes objects the way Pulumi hands them to a policy: a type token and a property map.

Pulumi's Kubernetes provider gives every object a type token such as `kubernetes:apps/v1:Deployment`
and its properties in the manifest's own camelCase layout. During a preview the properties are a
read-only mapping (pulumi_policy's unknown-checking proxy), so nothing here assumes `dict` or
mutates what it reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KUBERNETES_PREFIX = "kubernetes:"

ANNOTATION_PREFIX = "policy.keelson.dev/"
"""Exemption annotations live under this prefix; each one's value must state the reason."""

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec.

Ref: https://kubernetes.io/docs/concepts/workloads/
"""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def kind_of(resource_type: str) -> str | None:
    """The Kubernetes kind of a Pulumi type token, or None for anything that is not a Kubernetes object.

    `kubernetes:apps/v1:Deployment` -> `Deployment`. Providers (`pulumi:providers:kubernetes`),
    component resources, Helm/YAML wrappers and server-side-apply `...Patch` resources are not
    objects of their own kind, so they give None.
    """
    if not resource_type.startswith(KUBERNETES_PREFIX):
        return None
    parts = resource_type.split(":")
    if len(parts) != 3 or "/" not in parts[1]:
        return None
    kind = parts[2]
    if kind.endswith("Patch") or kind.endswith("List"):
        return None
    return kind


@dataclass(frozen=True)
class KubernetesObject:
    """One Kubernetes object as a policy sees it."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str = ""
    pulumi_name: str = ""

    @property
    def kind(self) -> str | None:
        return kind_of(self.resource_type)

    @property
    def metadata(self) -> Mapping[str, Any]:
        return as_mapping(self.props.get("metadata"))

    @property
    def name(self) -> str | None:
        name = self.metadata.get("name")
        return name if isinstance(name, str) else None

    @property
    def namespace(self) -> str:
        """The object's namespace; the provider's default, `default`, when none is set."""
        namespace = self.metadata.get("namespace")
        return namespace if isinstance(namespace, str) and namespace else "default"

    @property
    def annotations(self) -> Mapping[str, Any]:
        return as_mapping(self.metadata.get("annotations"))

    @property
    def label(self) -> str:
        """`Kind namespace/name (pulumi name)`: how every violation message names the object."""
        name = self.name or "<generated name>"
        where = name if self.kind in CLUSTER_SCOPED_KINDS else f"{self.namespace}/{name}"
        suffix = f" (pulumi name '{self.pulumi_name}')" if self.pulumi_name and self.pulumi_name != name else ""
        return f"{self.kind} {where}{suffix}"

    def exemption(self, rule: str) -> str | None:
        """The reason given in the `policy.keelson.dev/<rule>` annotation, if any (blank reasons do not count)."""
        reason = self.annotations.get(ANNOTATION_PREFIX + rule)
        return reason.strip() if isinstance(reason, str) and reason.strip() else None

    @property
    def pod_spec(self) -> Mapping[str, Any] | None:
        """The pod spec of a workload, or None for kinds that run no pods."""
        path = POD_SPEC_PATHS.get(self.kind or "")
        if path is None:
            return None
        node: Any = self.props
        for key in path:
            node = as_mapping(node).get(key)
        return as_mapping(node)

    @property
    def pod_template_labels(self) -> Mapping[str, Any]:
        if self.kind == "Pod":
            return as_mapping(self.metadata.get("labels"))
        template = as_mapping(as_mapping(self.props.get("spec")).get("template"))
        return as_mapping(as_mapping(template.get("metadata")).get("labels"))

    def containers(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(list name, container) for every init, app and ephemeral container of the pod spec."""
        spec = self.pod_spec or {}
        for list_name in CONTAINER_LISTS:
            for container in as_list(spec.get(list_name)):
                yield list_name, as_mapping(container)


CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ClusterIssuer",
        "IngressClass",
        "Node",
    }
)
"""Kinds without a namespace (named `Kind name` rather than `Kind namespace/name`)."""


def container_label(list_name: str, container: Mapping[str, Any]) -> str:
    """`container 'api'`, `init container 'migrate'`, `ephemeral container 'debug'`."""
    prefix = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}.get(
        list_name, "container"
    )
    return f"{prefix} '{container.get('name', '<unnamed>')}'"
