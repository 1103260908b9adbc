"""The app.kubernetes.io label set every Keelson object carries, and the annotations that get a pod scraped.

Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
"""

from __future__ import annotations

PART_OF = "keelson"
MANAGED_BY = "pulumi"
MONITORED_NAMESPACE_LABEL = "keelson.dev/monitored"
"""Namespaces carrying this label ("true") are scraped by the MonitoringStack."""


def standard_labels(name: str, instance: str, component: str, version: str) -> dict[str, str]:
    """Return the full recommended label set for an object.

    Values are truncated to the 63 characters Kubernetes allows in a label value.
    """
    return {
        "app.kubernetes.io/name": name[:63],
        "app.kubernetes.io/instance": instance[:63],
        "app.kubernetes.io/version": version[:63],
        "app.kubernetes.io/component": component[:63],
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector_labels(labels: dict[str, str]) -> dict[str, str]:
    """Return the labels a selector may use: everything but the version.

    A Deployment's selector is immutable, so a label that changes on every release
    (app.kubernetes.io/version) must never be part of it.
    """
    return {
        key: value
        for key, value in labels.items()
        if key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")
    }


def image_version(image: str) -> str:
    """Return the tag of an image reference (or the short digest when only a digest is given)."""
    reference = image.split("@", 1)
    name = reference[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return reference[1].split(":", 1)[1][:12] if len(reference) == 2 else "unversioned"


def scrape_annotations(port: int, path: str) -> dict[str, str]:
    """Return the annotations the MonitoringStack's 'kubernetes-pods' job discovers pods by."""
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": path}
