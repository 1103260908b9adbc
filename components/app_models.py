"""Where a HardenedApp's pods run, which identity they carry, and the metadata a team adds to them.

Each group is a nested model of HardenedAppArgs ('placement', 'identity', 'metadata'), validated
like every Keelson model, and empty by default: Keelson adds nothing a cluster has not asked for.
Ref: https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
Ref: https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodeselector
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .fields import MountPath
from .models import DnsLabel, KeelsonModel, LabelKey, LabelValue

RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/",)
"""Labels Keelson sets itself (selectors and the recommended set): a team's labels may not replace them."""
RESERVED_ANNOTATION_PREFIXES = ("prometheus.io/", "keelson.dev/")
"""Pod annotations Keelson sets itself (scrape discovery, config hash, scrape interval)."""

WORKLOAD_IDENTITY_KEYS = {
    "eks.amazonaws.com/role-arn": "AWS IAM Roles for Service Accounts (IRSA) and EKS Pod Identity",
    "iam.gke.io/gcp-service-account": "GKE Workload Identity",
    "azure.workload.identity/client-id": "Azure Workload Identity",
}
"""ServiceAccount annotations of the managed clouds' workload identity, each naming its system."""


class Toleration(KeelsonModel):
    """A taint the app's pods tolerate. Ref:
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling"""

    key: LabelKey
    """Taint key. Required: Kubernetes reads a toleration without a key as tolerating every taint of
    every node, the control plane's included."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """'Equal' matches 'value'; 'Exists' matches any value of 'key'. Default: Equal, the narrower one."""
    value: LabelValue | None = None
    """Taint value, for operator 'Equal'. Default: none."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to tolerate. Default: none, i.e. every effect of the matching taint."""
    toleration_seconds: int | None = Field(default=None, ge=0)
    """For 'NoExecute': how long a pod stays on a node after the taint appears. Default: none, forever."""

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError(f"'value' ({self.value}) must be empty with operator 'Exists', which matches any value")
        if self.operator == "Equal" and self.value is None:
            raise ValueError("'value' is required with operator 'Equal' (or use operator 'Exists')")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError(
                f"'tolerationSeconds' ({self.toleration_seconds}) applies only to effect 'NoExecute', not {self.effect}"
            )
        return self

    def spec(self) -> dict[str, Any]:
        """The pod spec's toleration entry."""
        fields = {"key": self.key, "operator": self.operator, "value": self.value, "effect": self.effect,
                  "tolerationSeconds": self.toleration_seconds}
        return {name: value for name, value in fields.items() if value is not None}


class AppPlacement(KeelsonModel):
    """Which nodes an app's pods may run on, and how they rank when a node runs short.

    Default: any schedulable node, priority 0, because the cluster's own defaults are the least
    surprising; dedicated node pools are reached with 'nodeSelector' plus a matching 'tolerations'.
    """

    node_selector: dict[LabelKey, LabelValue] = Field(default={})
    """Node labels the pods require, e.g. {node.kubernetes.io/instance-type: m7i.large}. Default: none."""
    tolerations: list[Toleration] = Field(default=[])
    """Taints the pods tolerate (each names its key). Default: none, so tainted pools stay closed."""
    priority_class_name: DnsLabel | None = None
    """A PriorityClass that exists in the cluster. Default: none (priority 0): below the platform's
    classes, so under node pressure apps are evicted before monitoring and log collection."""


class AppIdentity(KeelsonModel):
    """Who the app's pods are to registries and to cloud APIs.

    Default: no pull secrets and no annotations, because a credential the app does not need is one
    more to steal; cloud access goes through workload identity on the ServiceAccount, never keys.
    """

    image_pull_secrets: list[DnsLabel] = Field(default=[])
    """Secrets (kubernetes.io/dockerconfigjson, in the app's namespace) to pull a private image with.
    Default: none: public images, or the nodes' own registry credentials."""
    service_account_annotations: dict[LabelKey, str] = Field(default={})
    """Annotations of the app's ServiceAccount, e.g. {eks.amazonaws.com/role-arn: arn:aws:iam::…} for
    IRSA, {iam.gke.io/gcp-service-account: app@project.iam.gserviceaccount.com} for GKE or
    {azure.workload.identity/client-id: <uuid>} for Azure (which also labels the pods
    azure.workload.identity/use=true). Default: none. The API token is still not mounted unless
    'apiAccess' is on; the cloud SDKs read their own projected token."""

    @property
    def azure(self) -> bool:
        """Whether Azure Workload Identity is asked for (its webhook selects pods by a label)."""
        return "azure.workload.identity/client-id" in self.service_account_annotations


class AppMetadata(KeelsonModel):
    """Labels and annotations a team adds to every object of the app (labels) and to its pods
    (annotations), e.g. cost centres or a service mesh's opt-in.

    Default: none. Keelson's own keys are refused, because selectors, Prometheus discovery and the
    config-hash rollout depend on them.
    """

    labels: dict[LabelKey, LabelValue] = Field(default={})
    """Added to the metadata of every object and to the pod template. Default: none."""
    pod_annotations: dict[LabelKey, str] = Field(default={})
    """Added to the pod template. Default: none."""

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if key.startswith(RESERVED_LABEL_PREFIXES):
                raise ValueError(f"'{key}' is one of the app.kubernetes.io labels Keelson sets and selects by; use another key")
        return labels

    @field_validator("pod_annotations")
    @classmethod
    def _annotations_not_reserved(cls, annotations: dict[str, str]) -> dict[str, str]:
        for key in annotations:
            if key.startswith(RESERVED_ANNOTATION_PREFIXES):
                raise ValueError(
                    f"'{key}' is an annotation Keelson sets itself (Prometheus discovery or the config-hash rollout); "
                    "use another key"
                )
        return annotations


class AppStorage(KeelsonModel):
    """A persistent volume per pod, for apps that keep state: the app then runs as a StatefulSet.

    Each pod gets its own PersistentVolumeClaim ('data', from the StatefulSet's volumeClaimTemplates)
    mounted at 'path'; the root filesystem stays read-only. Default for the claims: kept when the app
    is deleted or scaled down, because deleting data must be a decision, not a side effect.
    """

    path: MountPath
    """Where the volume is mounted in the app's container. Required."""
    size: str = Field(default="10Gi", pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")
    """Size of each pod's volume. Default: 10Gi."""
    storage_class: DnsLabel | None = None
    """StorageClass of the claims. Default: none, the cluster's default StorageClass."""
    delete_claims: bool = False
    """Delete the claims with the StatefulSet and on scale-down. Default: false (claims are retained)."""

    def claim_template(self, selector: dict[str, str]) -> dict[str, Any]:
        """The StatefulSet's volumeClaimTemplate."""
        spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": self.size}}}
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return {"metadata": {"name": "data", "labels": dict(selector)}, "spec": spec}
