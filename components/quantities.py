"""Kubernetes resource quantities, parsed the way the API server parses them.

Ref: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {
    "m": Decimal("0.001"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
}
_QUANTITY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def parse_quantity(text: str) -> Decimal:
    """Return the value of a Kubernetes quantity in base units (cores or bytes).

    Raises ValueError naming the text and the accepted forms when it does not parse.
    """
    match = _QUANTITY.match(str(text).strip())
    if match is None:
        raise ValueError(
            f"'{text}' is not a Kubernetes quantity; use a number with an optional suffix "
            "such as 500m, 2, 512Mi or 2Gi"
        )
    try:
        number = Decimal(match["number"])
    except InvalidOperation as error:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"'{text}' is not a Kubernetes quantity") from error
    suffix = match["suffix"] or ""
    if suffix in _BINARY_SUFFIXES:
        return number * _BINARY_SUFFIXES[suffix]
    return number * _DECIMAL_SUFFIXES[suffix]


def parse_cpu(text: str) -> Decimal:
    """Return a CPU quantity in cores; memory-style suffixes (Mi, Gi...) are rejected."""
    if re.search(r"i$", str(text).strip()):
        raise ValueError(f"'{text}' is a memory quantity; CPU is given in cores (2) or millicores (500m)")
    return parse_quantity(text)


def parse_memory(text: str) -> Decimal:
    """Return a memory quantity in bytes; millis ("512m") are rejected as a near-certain typo for Mi."""
    if str(text).strip().endswith("m"):
        raise ValueError(f"'{text}' means milli-bytes; memory is given as 512Mi, 2Gi or plain bytes")
    return parse_quantity(text)


def format_cpu(cores: Decimal) -> str:
    """Format cores as the shortest exact quantity string (2, 1500m)."""
    millicores = cores * 1000
    if millicores % 1000 == 0:
        return str(int(cores))
    return f"{int(millicores)}m"


def format_memory(size: Decimal) -> str:
    """Format bytes with the largest binary suffix that divides them exactly."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY_SUFFIXES[suffix]
        if size % unit == 0 and size >= unit:
            return f"{int(size / unit)}{suffix}"
    return str(int(size))
