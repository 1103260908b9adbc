"""An example consumer of Keelson: a storefront in a governed namespace, built only from the installed
`keelson` package (`pip install -r requirements.txt`).

Stack config `shop:renderDir` renders the manifests to a folder instead of deploying them, as the
`dev` stack does; left empty (the default), the current kubeconfig context is deployed to.
"""

import pulumi
import pulumi_kubernetes as k8s

from keelson import (
    Autoscaling,
    ComputeResources,
    GovernedNamespace,
    GovernedNamespaceArgs,
    HardenedApp,
    HardenedAppArgs,
    IngressSpec,
    ResourceRequirements,
)

config = pulumi.Config("shop")
provider = k8s.Provider("kubernetes", render_yaml_to_directory=config.get("renderDir") or None)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})

namespace = GovernedNamespace("shop", GovernedNamespaceArgs(name="shop"), opts=on_cluster)

storefront = HardenedApp(
    "storefront",
    HardenedAppArgs(
        image="ghcr.io/stefanprodan/podinfo:6.7.1",
        namespace="shop",
        args=["./podinfo", "--port=8000"],
        resources=ResourceRequirements(
            requests=ComputeResources(cpu="100m", memory="128Mi"),
            limits=ComputeResources(cpu="400m", memory="256Mi"),
        ),
        autoscaling=Autoscaling(min_replicas=2, max_replicas=4),
        ingress=IngressSpec(host="shop.example.com"),
        generated_secrets=["SESSION_SECRET"],
    ),
    opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace])),
)

pulumi.export("namespace", namespace.name)
pulumi.export("url", storefront.url)
pulumi.export("internalUrl", storefront.internal_url)
