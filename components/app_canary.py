"""A HardenedApp's canary: a second Deployment with the new image, given a weighted share of the
public traffic by ingress-nginx.

The canary's pods carry the app's name and instance labels with the component '<component>-canary':
the stable Deployment, Service and policies (which select by component) never see them, while the
peers that admit the app by name and instance ('allowFrom') admit the canary too. It gets its own
Service, NetworkPolicies (the app's, for its pods) and PodDisruptionBudget, and a second Ingress for
the same host marked canary, which the controller routes 'weight' percent of requests to.
Ref: https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#canary
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .builders.app_deployment import deployment_spec, network_policy_specs
from .builders.autoscaling import pdb_spec
from .builders.ingress import NGINX, ingress_spec
from .builders.labels import image_version, selector_labels
from .models import DisruptionBudget, ImageReference, KeelsonModel

if TYPE_CHECKING:
    from .hardened_app_args import HardenedAppArgs


class CanarySpec(KeelsonModel):
    """A release tried on a share of the traffic before it replaces the app's image.

    Default: 10 % of requests to one canary pod, because a canary is a small, watched experiment;
    promote it by setting the app's 'image' to the canary's and removing 'canary'.
    """

    image: ImageReference
    """The candidate image. Required."""
    weight: int = Field(default=10, ge=1, le=99)
    """Percent of the Ingress' requests the canary serves. Default: 10."""
    replicas: int = Field(default=1, ge=1, le=100)
    """Canary pods. Default: 1."""


def canary_labels(labels: dict[str, str], canary: CanarySpec) -> dict[str, str]:
    """The app's labels with the canary's component and version."""
    return {
        **labels,
        "app.kubernetes.io/component": f"{labels['app.kubernetes.io/component']}-canary",
        "app.kubernetes.io/version": image_version(canary.image)[:63],
    }


def register_canary(
    name: str, args: HardenedAppArgs, labels: dict[str, str], metadata: Any, opts: pulumi.ResourceOptions, has_secret: bool
) -> list[pulumi.Resource]:
    """Register the canary's Deployment, Service, policies, budget and weighted Ingress."""
    canary = args.canary
    assert canary is not None and args.ingress is not None
    canary_name = f"{name}-canary"
    own = canary_labels(labels, canary)
    selector = selector_labels(own)

    def own_metadata(object_name: str, **extra: Any) -> dict[str, Any]:
        return {**metadata(object_name, **extra), "labels": own}

    release = args.model_copy(update={"image": canary.image, "replicas": canary.replicas, "autoscaling": None})
    created: list[pulumi.Resource] = [
        k8s.apps.v1.Deployment(
            canary_name, metadata=own_metadata(canary_name), spec=deployment_spec(name, release, own, selector, has_secret), opts=opts
        )
    ]
    ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    service = k8s.core.v1.Service(
        f"{canary_name}-service",
        metadata=own_metadata(canary_name),
        spec={"type": "ClusterIP", "selector": selector, "ports": ports},
        opts=opts,
    )
    created.append(service)
    for role, spec in network_policy_specs(args, selector).items():
        created.append(
            k8s.networking.v1.NetworkPolicy(f"{canary_name}-{role}", metadata=own_metadata(f"{canary_name}-{role}"), spec=spec, opts=opts)
        )
    created.append(
        k8s.policy.v1.PodDisruptionBudget(
            f"{canary_name}-pdb", metadata=own_metadata(canary_name), spec=pdb_spec(selector, DisruptionBudget(max_unavailable=1)), opts=opts
        )
    )
    # Only the stable Ingress asks cert-manager for the certificate; the canary serves the same Secret.
    annotations = {f"{NGINX}/canary": "true", f"{NGINX}/canary-weight": str(canary.weight)}
    created.append(
        k8s.networking.v1.Ingress(
            f"{canary_name}-ingress",
            metadata=own_metadata(canary_name, annotations=annotations),
            spec=ingress_spec(args.ingress_policy, args.ingress.host, args.ingress.path, canary_name, f"{name}-tls"),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service])),
        )
    )
    return created
