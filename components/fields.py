"""Field types of the config models: DNS labels, hostnames, images, CIDRs, quantities, label keys
and values, environment variable names and mount paths, each an Annotated str whose validator says
what Kubernetes (or the tool) accepts; and how numbers and ratios are read and printed in messages."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

from .quantities import parse_cpu, parse_memory, parse_quantity

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_LABEL_KEY_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IMAGE = re.compile(
    r"^(?P<repository>[a-z0-9]+([._/-][a-z0-9]+|:[0-9]+/)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


MAX_WHOLE_NUMBER = 2**31 - 1
"""Largest whole number a field takes: Kubernetes counts, ports and seconds are int32, and so are
the numbers nginx, Loki and Prometheus read from their flags."""


def plain_number(value: Decimal | float | int) -> str:
    """Write a number as people do: 10, 2.5, 0.3333 (never 1E+1 or 1.000e+4)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _no_whitespace(text: str) -> None:
    if any(character.isspace() for character in text):
        raise ValueError(
            f"{text!r} contains whitespace; write the quantity without spaces, e.g. 500m or 512Mi, because "
            "it is handed verbatim to the API server and to cert-manager's controller flags"
        )


def _cpu(text: str) -> str:
    _no_whitespace(text)
    parse_cpu(text)
    return text


def _memory(text: str) -> str:
    _no_whitespace(text)
    parse_memory(text)
    return text


def _dns_label(text: str) -> str:
    if not _DNS_LABEL.fullmatch(text):
        raise ValueError(
            f"'{text}' is not a DNS-1123 label: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return text


def _hostname(text: str) -> str:
    if len(text) > 253 or not _HOSTNAME.fullmatch(text):
        raise ValueError(
            f"'{text}' is not a valid hostname: use lowercase DNS labels separated by dots, "
            "e.g. api.example.com (a leading '*.' is allowed for wildcards)"
        )
    return text


def _image(text: str) -> str:
    match = _IMAGE.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a container image reference (registry/repository:tag[@sha256:digest])")
    if match["tag"] is None and match["digest"] is None:
        raise ValueError(f"image '{text}' has no tag or digest; pin it, e.g. '{text}:1.2.3' or '@sha256:...'")
    if match["tag"] == "latest" and match["digest"] is None:
        raise ValueError(f"image '{text}' uses the mutable 'latest' tag; pin a version tag or a digest")
    return text


def _cidr(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        raise ValueError(f"'{text}' is not a CIDR block such as 10.0.0.0/8 ({error})") from None
    return text


def _env_name(text: str) -> str:
    if not _ENV_NAME.fullmatch(text):
        raise ValueError(f"'{text}' is not an environment variable name: use UPPER_SNAKE_CASE")
    if len(text) > 253:
        raise ValueError(f"is {len(text)} characters long; a ConfigMap or Secret key has at most 253")
    return text


def _absolute_path(text: str) -> str:
    if not text.startswith("/") or text == "/":
        raise ValueError(f"'{text}' must be an absolute directory path other than '/'")
    return text


def label_value_problem(text: str) -> str | None:
    """Return why Kubernetes refuses 'text' as a label value, or None when it is valid."""
    if len(text) > 63:
        return f"is {len(text)} characters long; a label value has at most 63"
    if not _LABEL_VALUE.fullmatch(text):
        return "is not a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    return None


def label_key_problem(text: str) -> str | None:
    """Return why Kubernetes refuses 'text' as a label key ([prefix/]name), or None when it is valid."""
    prefix, _, name = text.rpartition("/")
    if "/" in prefix or (prefix and (len(prefix) > 253 or not _LABEL_KEY_PREFIX.fullmatch(prefix))):
        return "has a prefix that is not a DNS subdomain (e.g. topology.kubernetes.io/zone)"
    if not name or label_value_problem(name) is not None:
        return "is not a label key: at most 63 letters, digits, '-', '_' and '.' after an optional 'prefix/'"
    return None


def _label_key(text: str) -> str:
    problem = label_key_problem(text)
    if problem is not None:
        raise ValueError(f"{text!r} {problem}")
    return text


def _label_value(text: str) -> str:
    problem = label_value_problem(text)
    if problem is not None:
        raise ValueError(f"{text!r} {problem}")
    return text


def ratio_value(text: str) -> Decimal:
    """Return the value of a maxLimitRequestRatio entry (a quantity such as 4 or 2500m)."""
    return parse_quantity(text)


CpuQuantity = Annotated[str, AfterValidator(_cpu)]
"""A CPU quantity in cores ("2") or millicores ("500m")."""
MemoryQuantity = Annotated[str, AfterValidator(_memory)]
"""A memory quantity such as "512Mi" or "2Gi"."""
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
"""A DNS-1123 label: a valid Kubernetes object or namespace name."""
Hostname = Annotated[str, AfterValidator(_hostname)]
ImageReference = Annotated[str, AfterValidator(_image)]
"""A container image pinned by tag or digest; 'latest' and untagged images are rejected."""
Cidr = Annotated[str, AfterValidator(_cidr)]
Port = Annotated[int, Field(ge=1, le=65535)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
"""A Kubernetes label key such as app.kubernetes.io/name or k8s-app."""
LabelValue = Annotated[str, AfterValidator(_label_value)]
"""A Kubernetes label value: at most 63 characters."""
EnvName = Annotated[str, AfterValidator(_env_name)]
"""An environment variable name in UPPER_SNAKE_CASE, also a ConfigMap or Secret key."""
MountPath = Annotated[str, AfterValidator(_absolute_path)]
"""An absolute directory path other than '/', where a volume is mounted."""
