"""Files a HardenedApp reads: configuration and secrets mounted read-only under one directory.

The files live in a ConfigMap ('<app>-files') and a Secret ('<app>-file-secrets'), projected into
one read-only volume, so the root filesystem stays read-only and nothing the app writes can change
them. Every file is mode 0440: readable by the pod's group (fsGroup, the app's GID), by no other user.
Ref: https://kubernetes.io/docs/concepts/storage/projected-volumes/
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import AfterValidator, Field, SecretStr, model_validator

from .fields import MountPath
from .models import KeelsonModel

FILE_MODE = 0o440
"""Owner root, group the app's fsGroup: the app reads its files, no other user of the node or pod can."""

_FILE_NAME = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def _file_name(text: str) -> str:
    if not _FILE_NAME.fullmatch(text) or text in (".", ".."):
        raise ValueError(f"'{text}' is not a file name a ConfigMap or Secret key allows: letters, digits, '-', '_' and '.'")
    return text


FileName = Annotated[str, AfterValidator(_file_name)]


class AppFiles(KeelsonModel):
    """Configuration and secret files of an app, mounted read-only at 'path'.

    Default: no files. Secret files must be `secure:` values in stack files, like every credential.
    A change of a config file rolls the pods (it is part of the config hash); a secret file change
    reaches the running pods through the kubelet's refresh of projected volumes (about a minute).
    """

    path: MountPath = "/etc/app"
    """Directory the files appear in. Default: /etc/app."""
    config: dict[FileName, str] = Field(default={})
    """Plain files by name, e.g. {app.yaml: "..."}. Default: none."""
    secrets: dict[FileName, SecretStr] = Field(default={})
    """Secret files by name (Pulumi secrets end to end). Default: none."""

    @model_validator(mode="after")
    def _one_name_one_file(self) -> AppFiles:
        for name in sorted(set(self.config) & set(self.secrets)):
            raise ValueError(f"'{name}' is in both 'config' and 'secrets'; one directory holds one file of a name")
        return self

    def volume(self, app: str) -> dict[str, Any]:
        """The projected volume of the files."""
        sources: list[dict[str, Any]] = []
        if self.config:
            sources.append({"configMap": {"name": f"{app}-files"}})
        if self.secrets:
            sources.append({"secret": {"name": f"{app}-file-secrets"}})
        return {"name": "app-files", "projected": {"defaultMode": FILE_MODE, "sources": sources}}


def register_files(
    app: str, files: AppFiles, metadata: Any, opts: pulumi.ResourceOptions
) -> tuple[list[pulumi.Resource], dict[str, list[str]]]:
    """Register the ConfigMap and Secret of the files; return them and {resource kind: names} for
    the app's Role (which reads its own objects by name)."""
    created: list[pulumi.Resource] = []
    names: dict[str, list[str]] = {"configmaps": [], "secrets": []}
    if files.config:
        created.append(
            k8s.core.v1.ConfigMap(f"{app}-files", metadata=metadata(f"{app}-files"), data=dict(files.config), opts=opts)
        )
        names["configmaps"].append(f"{app}-files")
    if files.secrets:
        created.append(
            k8s.core.v1.Secret(
                f"{app}-file-secrets",
                metadata=metadata(f"{app}-file-secrets"),
                type="Opaque",
                string_data={key: pulumi.Output.secret(value.get_secret_value()) for key, value in files.secrets.items()},
                opts=opts,
            )
        )
        names["secrets"].append(f"{app}-file-secrets")
    return created, names
