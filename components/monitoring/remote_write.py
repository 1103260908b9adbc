"""Prometheus remote_write: where samples are copied to (Mimir, Thanos Receive, a hosted service).

    RemoteWriteTarget                  -> one endpoint with its credentials (validated stack config)
    remote_write_config(targets)       -> the 'remote_write' section of prometheus.yml (no credential)
    remote_write_secret_data(targets)  -> {file name: secret} for the Secret mounted at SECRETS_DIR
    operator_remote_write(targets)     -> the Prometheus resource's 'remoteWrite' (operator mode)

Credentials never enter the configuration: Prometheus reads them from files of a mounted
Kubernetes Secret ('basic_auth.password_file', 'authorization.credentials_file'), re-reading them
on every request, so a rotated credential needs no restart. Only the basic-auth user name, which
is not a secret, is written into the config.
Ref: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#remote_write
"""

from __future__ import annotations

import ipaddress
from typing import Any, Sequence
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from ..models import DnsLabel, KeelsonModel

SECRETS_DIR = "/etc/prometheus/remote-write"
"""Where the Prometheus pods mount the Secret built from remote_write_secret_data()."""

SECRET_NAME = "prometheus-remote-write"
"""The Kubernetes Secret holding every target's credential files."""

_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteWriteTarget(KeelsonModel):
    """One remote_write endpoint and its credentials.

    Default: https only, because every request carries a credential and every sample (label values
    included) of the cluster; 'http://' is accepted for a loopback address alone (127.0.0.0/8, ::1,
    localhost), the escape hatch for a sidecar on the Prometheus pod that adds TLS or signing
    itself. Credentials are required, exactly one kind: 'username' with 'password', or
    'bearerToken', both `secure:` values, because an endpoint that takes unauthenticated writes
    lets anyone forge metrics.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    name: DnsLabel
    """Name of the queue (Prometheus' remote_name label on its remote-storage metrics) and of the
    credential files. Required."""
    url: str = Field(min_length=1)
    """The endpoint, e.g. https://mimir.example.com/api/v1/push. Required; https://, or http:// to a
    loopback address only. It is written into the Prometheus ConfigMap, so it must not embed a
    credential (a user:password@ part is refused; put tokens in 'bearerToken', not the query)."""
    username: str | None = Field(default=None, min_length=1)
    """Basic-auth user (not a secret). Default: none; give 'password' with it, or 'bearerToken'
    instead."""
    password: SecretStr | None = None
    """Basic-auth password, a `secure:` value. Default: none; give 'username' with it."""
    bearer_token: SecretStr | None = None
    """Token sent as 'Authorization: Bearer', a `secure:` value. Default: none; or basic auth."""

    @field_validator("url")
    @classmethod
    def _url_is_safe(cls, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        allowed = (
            "allowed: an https:// URL, or http:// to a loopback address such as http://127.0.0.1:9201/push, "
            "because remote_write sends a credential and every sample with each request"
        )
        if parts.username or parts.password:
            # The URL goes into the ConfigMap: it must not carry a credential, nor echo one here.
            raise ValueError(
                "the URL embeds a user or password, which would land in the ConfigMap in clear text; give them "
                "as 'username' and 'password' (a `secure:` value)"
            )
        if any(character.isspace() for character in url):
            raise ValueError(f"'{url.strip()}' contains spaces; {allowed}")
        if parts.scheme == "https" and host:
            return url
        if parts.scheme == "http" and _is_loopback(host):
            return url
        raise ValueError(f"'{url}' is not allowed; {allowed}")

    @model_validator(mode="after")
    def _one_kind_of_credentials(self) -> RemoteWriteTarget:
        basic = self.username is not None or self.password is not None
        if basic and (self.username is None or self.password is None):
            given, missing = ("username", "password") if self.username is not None else ("password", "username")
            raise ValueError(f"'{given}' is set without '{missing}': basic auth needs both")
        if basic and self.bearer_token is not None:
            raise ValueError("both basic auth ('username'/'password') and 'bearerToken' are set; give one of them")
        if not basic and self.bearer_token is None:
            raise ValueError(
                f"remote_write target '{self.name}' has no credentials; allowed: 'username' and 'password', or "
                "'bearerToken' (`secure:` values), because an endpoint taking unauthenticated writes lets anyone "
                "forge metrics"
            )
        return self

    @property
    def port(self) -> int:
        """The TCP port the endpoint listens on (443 or 80 unless the URL names one)."""
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def leaves_the_pod(self) -> bool:
        """Whether the endpoint is off the pod (needs an egress rule); loopback ones are not."""
        return not _is_loopback(urlsplit(self.url).hostname or "")


def check_unique_names(targets: Sequence[RemoteWriteTarget]) -> None:
    """Raise ValueError when two targets share a name (their queues and files would collide)."""
    names = [target.name for target in targets]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each remote_write target needs its own 'name'; repeated: {', '.join(repeated)}")


def _file(secrets_dir: str, target: RemoteWriteTarget, credential: str) -> str:
    return f"{secrets_dir}/{target.name}-{credential}"


def remote_write_config(targets: Sequence[RemoteWriteTarget], secrets_dir: str = SECRETS_DIR) -> list[dict[str, Any]]:
    """Return the 'remote_write' section: one entry per target, credentials read from files."""
    check_unique_names(targets)
    section = []
    for target in targets:
        entry: dict[str, Any] = {"name": target.name, "url": target.url}
        if target.bearer_token is not None:
            entry["authorization"] = {"type": "Bearer", "credentials_file": _file(secrets_dir, target, "bearer-token")}
        else:
            entry["basic_auth"] = {"username": target.username, "password_file": _file(secrets_dir, target, "password")}
        section.append(entry)
    return section


def remote_write_secret_data(
    targets: Sequence[RemoteWriteTarget], *, with_usernames: bool = False
) -> dict[str, SecretStr]:
    """Return {file name: credential} for the Secret mounted at SECRETS_DIR (values stay SecretStr).

    'with_usernames' adds '<name>-username' keys: prometheus-operator takes even the basic-auth
    user from a Secret key, not from the spec.
    """
    data: dict[str, SecretStr] = {}
    for target in targets:
        if target.bearer_token is not None:
            data[f"{target.name}-bearer-token"] = target.bearer_token
        elif target.password is not None:
            data[f"{target.name}-password"] = target.password
            if with_usernames and target.username is not None:
                data[f"{target.name}-username"] = SecretStr(target.username)
    return data


def operator_remote_write(targets: Sequence[RemoteWriteTarget]) -> list[dict[str, Any]]:
    """Return the 'remoteWrite' of the Prometheus resource: credentials as keys of SECRET_NAME.
    Ref: https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.RemoteWriteSpec"""
    check_unique_names(targets)

    def key(target: RemoteWriteTarget, credential: str) -> dict[str, str]:
        return {"name": SECRET_NAME, "key": f"{target.name}-{credential}"}

    section = []
    for target in targets:
        entry: dict[str, Any] = {"name": target.name, "url": target.url}
        if target.bearer_token is not None:
            entry["authorization"] = {"type": "Bearer", "credentials": key(target, "bearer-token")}
        else:
            entry["basicAuth"] = {"username": key(target, "username"), "password": key(target, "password")}
        section.append(entry)
    return section
