"""Rules over every container of every workload: the 'restricted' Pod Security Standard plus Keelson's
resource and image hygiene.

Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .resources import ANNOTATION_PREFIX, KubernetesObject, as_list, as_mapping, container_label
from .rules import ResourceRule, violation

ALLOW_ROOT = "allow-root"
"""Exemption annotation (`policy.keelson.dev/allow-root: <reason>`) for the rare workload that must be UID 0,
such as a log collector reading root-owned files on the host with every capability dropped."""

ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""The one capability the restricted standard lets a container add back."""

SAFE_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def shown(value: Any) -> str:
    """A setting as a violation message shows it: 'unset' rather than None, YAML spelling for booleans."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _pod_security(obj: KubernetesObject) -> Mapping[str, Any]:
    return as_mapping((obj.pod_spec or {}).get("securityContext"))


def _container_security(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_mapping(container.get("securityContext"))


def _effective(obj: KubernetesObject, container: Mapping[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's value wins over the pod's."""
    own = _container_security(container).get(key)
    return own if own is not None else _pod_security(obj).get(key)


def check_run_as_non_root(obj: KubernetesObject) -> list[str]:
    if obj.pod_spec is None or obj.exemption(ALLOW_ROOT):
        return []
    messages = []
    for list_name, container in obj.containers():
        non_root = _effective(obj, container, "runAsNonRoot")
        user = _effective(obj, container, "runAsUser")
        if user == 0:
            problem = "runs as root (runAsUser: 0)"
        elif non_root is not True:
            problem = f"may run as root (runAsNonRoot is {shown(non_root)}, not true)"
        else:
            continue
        messages.append(
            violation(
                RUN_AS_NON_ROOT.name,
                f"{obj.label} {container_label(list_name, container)}",
                problem,
                "set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod or the container, "
                f"or annotate the {obj.kind} with {ANNOTATION_PREFIX}{ALLOW_ROOT}: '<why it must be root>'",
            )
        )
    return messages


def check_read_only_root_filesystem(obj: KubernetesObject) -> list[str]:
    return [
        violation(
            READ_ONLY_ROOT_FILESYSTEM.name,
            f"{obj.label} {container_label(list_name, container)}",
            f"readOnlyRootFilesystem is {shown(_container_security(container).get('readOnlyRootFilesystem'))}, not true",
            "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write (/tmp)",
        )
        for list_name, container in obj.containers()
        if _container_security(container).get("readOnlyRootFilesystem") is not True
    ]


def check_no_privilege_escalation(obj: KubernetesObject) -> list[str]:
    messages = []
    for list_name, container in obj.containers():
        security = _container_security(container)
        if security.get("privileged") is True:
            problem = "is privileged (privileged: true)"
        elif security.get("allowPrivilegeEscalation") is not False:
            value = security.get("allowPrivilegeEscalation")
            problem = f"allowPrivilegeEscalation is {shown(value)} (Kubernetes allows escalation unless it is false)"
        else:
            continue
        messages.append(
            violation(
                NO_PRIVILEGE_ESCALATION.name,
                f"{obj.label} {container_label(list_name, container)}",
                problem,
                "set securityContext.allowPrivilegeEscalation: false and leave privileged unset or false",
            )
        )
    return messages


def check_drop_all_capabilities(obj: KubernetesObject) -> list[str]:
    messages = []
    for list_name, container in obj.containers():
        capabilities = as_mapping(_container_security(container).get("capabilities"))
        dropped = {str(item).upper() for item in as_list(capabilities.get("drop"))}
        added = sorted({str(item).upper() for item in as_list(capabilities.get("add"))} - ALLOWED_ADDED_CAPABILITIES)
        subject = f"{obj.label} {container_label(list_name, container)}"
        if "ALL" not in dropped:
            messages.append(
                violation(
                    DROP_ALL_CAPABILITIES.name,
                    subject,
                    f"capabilities.drop is {sorted(dropped) or 'unset'}, without ALL",
                    "set securityContext.capabilities.drop: [ALL]",
                )
            )
        if added:
            messages.append(
                violation(
                    DROP_ALL_CAPABILITIES.name,
                    subject,
                    f"adds capabilities {added}",
                    "add back at most NET_BIND_SERVICE, the only one the restricted standard allows",
                )
            )
    return messages


def check_seccomp_profile(obj: KubernetesObject) -> list[str]:
    messages = []
    for list_name, container in obj.containers():
        profile = as_mapping(_effective(obj, container, "seccompProfile"))
        if profile.get("type") in SAFE_SECCOMP_TYPES:
            continue
        messages.append(
            violation(
                SECCOMP_PROFILE.name,
                f"{obj.label} {container_label(list_name, container)}",
                f"seccompProfile.type is {shown(profile.get('type'))} on the container and the pod",
                "set securityContext.seccompProfile.type: RuntimeDefault on the pod (or Localhost with a profile)",
            )
        )
    return messages


def check_resource_requests_and_limits(obj: KubernetesObject) -> list[str]:
    messages = []
    for list_name, container in obj.containers():
        if list_name == "ephemeralContainers":
            continue  # Kubernetes forbids resources on ephemeral containers.
        resources = as_mapping(container.get("resources"))
        missing = [
            f"{section}.{resource}"
            for section in ("requests", "limits")
            for resource in ("cpu", "memory")
            if as_mapping(resources.get(section)).get(resource) in (None, "")
        ]
        if missing:
            messages.append(
                violation(
                    RESOURCE_REQUESTS_AND_LIMITS.name,
                    f"{obj.label} {container_label(list_name, container)}",
                    f"has no {', '.join(missing)}",
                    "set resources.requests and resources.limits for both cpu and memory",
                )
            )
    return messages


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it names a tag other than 'latest' or a digest.

    Ref: https://kubernetes.io/docs/concepts/containers/images/#image-names
    """
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    if "@" in image:
        return None  # a digest pins the exact content
    last_segment = image.rsplit("/", 1)[-1]  # a registry port ("host:5000/app") is not a tag
    if ":" not in last_segment:
        return f"image '{image}' has no tag, so it pulls whatever 'latest' is at the time"
    tag = last_segment.rsplit(":", 1)[1]
    if tag == "latest":
        return f"image '{image}' uses the mutable 'latest' tag"
    if not tag:
        return f"image '{image}' has an empty tag"
    return None


def check_pinned_image_tags(obj: KubernetesObject) -> list[str]:
    messages = []
    for list_name, container in obj.containers():
        problem = image_problem(container.get("image"))
        if problem:
            messages.append(
                violation(
                    PINNED_IMAGE_TAGS.name,
                    f"{obj.label} {container_label(list_name, container)}",
                    problem,
                    "reference a released version tag (app:1.4.2) or a digest (app@sha256:...)",
                )
            )
    return messages


RUN_AS_NON_ROOT = ResourceRule(
    "keelson-run-as-non-root",
    "Containers run as a non-root user (runAsNonRoot: true, runAsUser not 0).",
    check_run_as_non_root,
)
READ_ONLY_ROOT_FILESYSTEM = ResourceRule(
    "keelson-read-only-root-filesystem",
    "Containers have a read-only root filesystem.",
    check_read_only_root_filesystem,
)
NO_PRIVILEGE_ESCALATION = ResourceRule(
    "keelson-no-privilege-escalation",
    "Containers are not privileged and set allowPrivilegeEscalation: false.",
    check_no_privilege_escalation,
)
DROP_ALL_CAPABILITIES = ResourceRule(
    "keelson-drop-all-capabilities",
    "Containers drop ALL capabilities and add back at most NET_BIND_SERVICE.",
    check_drop_all_capabilities,
)
SECCOMP_PROFILE = ResourceRule(
    "keelson-seccomp-profile",
    "Containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
    check_seccomp_profile,
)
RESOURCE_REQUESTS_AND_LIMITS = ResourceRule(
    "keelson-resource-requests-and-limits",
    "Containers declare cpu and memory requests and limits.",
    check_resource_requests_and_limits,
)
PINNED_IMAGE_TAGS = ResourceRule(
    "keelson-pinned-image-tags",
    "Container images name a version tag or a digest, never 'latest' or no tag.",
    check_pinned_image_tags,
)

POD_RULES = (
    RUN_AS_NON_ROOT,
    READ_ONLY_ROOT_FILESYSTEM,
    NO_PRIVILEGE_ESCALATION,
    DROP_ALL_CAPABILITIES,
    SECCOMP_PROFILE,
    RESOURCE_REQUESTS_AND_LIMITS,
    PINNED_IMAGE_TAGS,
)
