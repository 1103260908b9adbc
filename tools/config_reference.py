"""Generate the README's config reference from the settings models, so it cannot drift.

Usage: python tools/config_reference.py          print the reference table
       python tools/config_reference.py --write  replace it in README.md between the markers
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keelson.docstrings import with_field_docstrings  # noqa: E402
from settings import (  # noqa: E402
    STACK_WIDE_APP_FIELDS,
    STACK_WIDE_LOGGING_FIELDS,
    STACK_WIDE_MONITORING_FIELDS,
    STACK_WIDE_TLS_FIELDS,
    StackSettings,
)

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(argument) for argument in typing.get_args(annotation))
    if origin in (list, dict):
        arguments = typing.get_args(annotation)
        return f"{origin.__name__} of {_type_name(arguments[-1])}"
    if annotation is type(None):
        return "null"
    if annotation is SecretStr:
        return "secret string (`secure:`)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field, inherited=PydanticUndefined) -> str:
    value = inherited
    if value is PydanticUndefined:
        if field.is_required():
            return "**required**"
        value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [item.model_dump(by_alias=True) for item in value]
    return f"`{value!r}`".replace("|", "\\|")


def _describe(field, model: type[BaseModel] | None) -> str:
    text = field.description or (model.__doc__ or "").strip().split("\n")[0] if model else field.description or ""
    return (text or "").replace("\n", " ").replace("|", "\\|")


def rows(model: type[BaseModel], prefix: str, defaults=None) -> list[str]:
    """Rows for a model's fields; 'defaults' is the parent's default instance, whose values win."""
    lines = []
    skip: set[str] = set()
    if prefix.startswith("keelson:apps."):
        skip = set(STACK_WIDE_APP_FIELDS)
    elif prefix == "keelson:monitoring.":
        skip = set(STACK_WIDE_MONITORING_FIELDS)
    elif prefix == "keelson:tls.":
        skip = set(STACK_WIDE_TLS_FIELDS)
    elif prefix == "keelson:logging.":
        skip = set(STACK_WIDE_LOGGING_FIELDS)
    elif prefix == "keelson:logging.alerts.":
        skip = {"alertmanager_url"}
    elif prefix == "keelson:monitoring.grafana.":
        skip = {"loki_url"}
    elif prefix == "keelson:ingress.":
        skip = {"cluster_issuer"}
    for name, field in with_field_docstrings(model).model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{field.alias or name}"
        nested = _model_in(field.annotation)
        inherited = getattr(defaults, name) if defaults is not None else PydanticUndefined
        lines.append(
            f"| `{key}` | {_type_name(field.annotation)} | {_default(field, inherited)} | {_describe(field, nested)} |"
        )
        if nested is not None and nested.model_fields and typing.get_origin(field.annotation) is not list:
            is_map = typing.get_origin(field.annotation) is dict
            value = inherited if inherited is not PydanticUndefined else (
                None if field.is_required() else field.get_default(call_default_factory=True)
            )
            child_defaults = value if isinstance(value, BaseModel) else None
            lines.extend(rows(nested, key + (".<name>." if is_map else "."), defaults=child_defaults))
    return lines


def reference() -> str:
    header = ["| key | type | default | meaning |", "|---|---|---|---|"]
    body = rows(StackSettings, "keelson:")
    return "\n".join(header + body)


def main() -> int:
    table = reference()
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        text = readme.read_text()
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        readme.write_text(f"{before}{START}\n{table}\n{END}{after}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
