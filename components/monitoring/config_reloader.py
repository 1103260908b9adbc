"""The config reloader sidecar: prometheus-operator's prometheus-config-reloader, beside Alertmanager.

It watches the directories a workload's ConfigMap and Secret are mounted in and, when their
content changes (the kubelet swaps the mounted files in place), POSTs to the workload's reload
endpoint, so a routing change or a rotated credential takes effect without restarting the pod.
config_reloader_args() is the one place its flags are written: the StatefulSet's sidecar and the
live test (tests/test_alertmanager_reload.py) both take them from here.
Ref: https://github.com/prometheus-operator/prometheus-operator/blob/v0.85.0/cmd/prometheus-config-reloader/main.go
Ref: https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..builders.workload import hardened_container
from ..models import ResourceRequirements


def config_reloader_args(reload_url: str, watched_dirs: Sequence[str]) -> list[str]:
    """Return the reloader's flags: POST to 'reload_url' when a file under 'watched_dirs' changes.

    --watched-dir: each directory is watched for change events (non-recursively) and hashed with
    every file beneath it; any difference triggers a reload, and it is hashed again every
    --watch-interval (3m, the upstream default) should an event be missed.
    --reload-method=http (the default, written out): a POST to --reload-url, retried every
    --retry-interval (5s) until it answers 200, so a config Alertmanager rejects is retried until
    fixed while Alertmanager keeps running its last good one (its
    alertmanager_config_last_reload_successful drops to 0: AlertmanagerConfigReloadFailed fires).
    --listen-address is left out: the reloader's own metrics and health endpoint stay off, so the
    pod opens no port beyond Alertmanager's and its NetworkPolicy is unchanged.
    """
    return [
        "--reload-method=http",
        f"--reload-url={reload_url}",
        *(f"--watched-dir={directory}" for directory in watched_dirs),
        "--watch-interval=3m",
        "--delay-interval=1s",
        "--log-format=logfmt",
    ]


def config_reloader_sidecar(
    image: str,
    resources: ResourceRequirements,
    reload_url: str,
    watched_dirs: Sequence[str],
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the reloader as a native sidecar: an init container with restartPolicy Always, which
    starts before the pod's containers and runs beside them for the pod's life.

    Hardened like every container (builders/workload.hardened_container): it only reads the
    'mounts' (read-only) and writes nothing, so the root filesystem stays read-only with no
    writable path; it runs as the pod's non-root user with every capability dropped.
    """
    return {
        **hardened_container(
            "config-reloader",
            image,
            resources,
            args=config_reloader_args(reload_url, watched_dirs),
            volumeMounts=[{**mount, "readOnly": True} for mount in mounts],
        ),
        "restartPolicy": "Always",
    }
