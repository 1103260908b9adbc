"""The specs of a HardenedApp as plain dicts: its Deployment, the ConfigMap data it reads and its
NetworkPolicies.

Pure: HardenedApp (components/hardened_app.py) turns them into resources, and the tests call them
without Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..platform import config_digest
from . import network_policies
from .probes import probes
from .workload import hardened_container, hardened_pod_spec

if TYPE_CHECKING:
    # Type names only: hardened_app_args imports this package at run time.
    from ..hardened_app_args import HardenedAppArgs
    from ..network_models import AppPeer


def app_config(args: HardenedAppArgs) -> dict[str, str]:
    """The app's ConfigMap data: the stack-wide log level and environment, then the app's own env."""
    return {"LOG_LEVEL": args.log_level, "ENVIRONMENT": args.environment, **args.env}


def deployment_spec(
    name: str, args: HardenedAppArgs, labels: dict[str, str], selector: dict[str, str], has_secret: bool
) -> dict[str, Any]:
    """Return the Deployment spec of a HardenedApp (pure: no Pulumi resources involved)."""
    ports = {"http": args.port}
    if args.metrics_port is not None:
        ports["metrics"] = args.metrics_port
    env_from: list[dict[str, Any]] = [{"configMapRef": {"name": f"{name}-config"}}]
    if has_secret:
        env_from.append({"secretRef": {"name": f"{name}-secrets"}})
    container = hardened_container(
        name,
        args.image,
        args.resources,
        ports=ports,
        writable_paths=list(args.writable_paths),
        user_id=args.user_id,
        add_capabilities=list(args.add_capabilities),
        command=list(args.command) if args.command else None,
        args=list(args.args) if args.args else None,
        envFrom=env_from,
        volumeMounts=[{"name": "app-files", "mountPath": args.files.path, "readOnly": True}] if has_files(args) else [],
        lifecycle={"preStop": {"sleep": {"seconds": args.pre_stop_sleep_seconds}}} if args.pre_stop_sleep_seconds else None,
        **probes(args.health_check, "http"),
    )
    return {
        "replicas": args.replicas,
        "revisionHistoryLimit": args.revision_history_limit,
        "selector": {"matchLabels": selector},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {
                "labels": {**labels, **app_pod_labels(args)},
                "annotations": {
                    **args.metadata.pod_annotations,
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(args.metrics_port or args.port),
                    "prometheus.io/path": args.metrics_path,
                    "keelson.dev/scrape-interval": args.effective_scrape_interval,
                    # Env vars are read at start: a ConfigMap change must roll the pods to take effect.
                    "keelson.dev/config-hash": config_digest(app_config(args), *([dict(args.files.config)] if args.files.config else [])),
                },
            },
            "spec": hardened_pod_spec(
                [container],
                service_account=name,
                selector=selector,
                writable_paths=sorted({*args.writable_paths, *args.extra_writable_paths}),
                user_id=args.user_id,
                api_access=args.api_access,
                termination_grace_period_seconds=args.termination_grace_period_seconds,
                zone_topology_key=args.zone_topology_key,
                spread_policy=args.spread,
                priority_class_name=args.placement.priority_class_name,
                init_containers=extra_containers(args),
                volumes=[args.files.volume(name)] if has_files(args) else None,
            )
            | placement_spec(args),
        },
    }


def has_files(args: HardenedAppArgs) -> bool:
    """Whether the app mounts files (AppFiles)."""
    return bool(args.files.config or args.files.secrets)


def extra_containers(args: HardenedAppArgs) -> list[dict[str, Any]]:
    """The pod's init containers, hardened like the app's: its sidecars first (native sidecars,
    restartPolicy Always, so a proxy is up before an init container needs it and stops after the
    app), then its run-to-completion init containers."""
    built = []
    for spec, restart in [*((sidecar, "Always") for sidecar in args.sidecars), *((init, None) for init in args.init_containers)]:
        container = hardened_container(
            spec.name, spec.image, spec.resources, ports=dict(spec.ports), writable_paths=list(spec.writable_paths),
            user_id=args.user_id, **spec.container_fields(),
        )
        built.append({**container, "restartPolicy": restart} if restart else container)
    return built


def app_pod_labels(args: HardenedAppArgs) -> dict[str, str]:
    """The labels a team adds to the pods, plus the one Azure Workload Identity's webhook selects by."""
    extra = dict(args.metadata.labels)
    if args.identity.azure:
        extra["azure.workload.identity/use"] = "true"
    return extra


def placement_spec(args: HardenedAppArgs) -> dict[str, Any]:
    """The pod spec fields of 'placement' and 'identity' that are set (none by default)."""
    fields: dict[str, Any] = {
        "nodeSelector": dict(args.placement.node_selector),
        "tolerations": [toleration.spec() for toleration in args.placement.tolerations],
        "imagePullSecrets": [{"name": secret} for secret in args.identity.image_pull_secrets],
    }
    return {key: value for key, value in fields.items() if value}


def peer_rules(peers: list[AppPeer], environment: str) -> list[tuple[dict[str, Any], list[int | str]]]:
    """(NetworkPolicy peer, ports) of 'talksTo' or 'allowFrom' entries; no ports means 'http'."""
    return [
        (network_policies.peer(peer.namespace, peer.selector(environment)), list(peer.ports) or ["http"]) for peer in peers
    ]


def network_policy_specs(args: HardenedAppArgs, selector: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of a HardenedApp by role: Prometheus may reach its metrics port, the
    ingress controller its HTTP port when it has an Ingress, the 'allowFrom' peers their ports; it
    may reach what 'egress' names and the 'talksTo' peers."""
    specs: dict[str, dict[str, Any]] = {
        "allow-prometheus": network_policies.allow_ingress_from_namespace(
            selector, args.network.monitoring_namespace, args.metrics_port_name
        )
    }
    if args.ingress is not None:
        specs["allow-ingress-controller"] = network_policies.allow_ingress_from_namespace(
            selector, args.ingress_policy.controller_namespace, "http"
        )
    if args.egress:
        specs["allow-egress"] = network_policies.allow_egress(selector, args.egress)
    if args.allow_from:
        specs["allow-from-apps"] = network_policies.allow_ingress_from_peers(
            selector,
            peer_rules(args.allow_from, args.environment),
        )
    if args.talks_to:
        specs["allow-talks-to"] = network_policies.allow_egress_to_peers(
            selector,
            peer_rules(args.talks_to, args.environment),
        )
    return specs


def stateful_set_spec(deployment: dict[str, Any], args: HardenedAppArgs, name: str, selector: dict[str, str]) -> dict[str, Any]:
    """Turn a HardenedApp's Deployment spec into a StatefulSet's for 'args.storage': one claim per pod
    mounted in the app's container, a headless Service ('<name>-headless') for the pods' identities,
    pods replaced one at a time (a StatefulSet cannot surge), claims retained unless asked."""
    storage = args.storage
    assert storage is not None
    template = deployment["template"]
    app, *others = template["spec"]["containers"]
    app = {**app, "volumeMounts": [*app.get("volumeMounts", []), {"name": "data", "mountPath": storage.path}]}
    policy = "Delete" if storage.delete_claims else "Retain"
    return {
        "replicas": deployment["replicas"],
        "revisionHistoryLimit": deployment["revisionHistoryLimit"],
        "serviceName": f"{name}-headless",
        "selector": deployment["selector"],
        "updateStrategy": {"type": "RollingUpdate"},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": policy, "whenScaled": policy},
        "template": {**template, "spec": {**template["spec"], "containers": [app, *others]}},
        "volumeClaimTemplates": [storage.claim_template(selector)],
    }
