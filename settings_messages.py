"""Settings error messages: one line per problem, "key = value: what is allowed, and why".

settings.py validates; this module turns pydantic's error locations into config keys
(keelson:apps.api.resources, not apps.api.resources or .[key]), shows values as users write them,
and never shows a credential: a value at (or inside) a secret field reads [secret], and a last
scrub replaces any credential text a rule's message may have quoted.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator

from pydantic import BaseModel, SecretStr

import settings_rules

CONFIG_NAMESPACE = "keelson"
SECRET_SHOWN_AS = "[secret]"
"""What a message shows instead of a credential's value."""


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The types a value at 'annotation' may have (Optional and unions spread out, None left out)."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(member) for member in typing.get_args(annotation) if member is not type(None)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _holds_credential(annotation: Any) -> bool:
    """Whether a value of this type is, or directly carries, a credential (so it is never echoed)."""
    for member in _members(annotation):
        if member is SecretStr:
            return True
        if typing.get_origin(member) in (dict, list, tuple) and any(
            SecretStr in _members(argument) for argument in typing.get_args(member)
        ):
            return True
        if _is_model(member) and (
            member.model_config.get("hide_input_in_errors")
            or any(SecretStr in _members(field.annotation) for field in member.model_fields.values())
        ):
            return True
    return False


def _child(annotation: Any, part: Any) -> Any:
    """The type one location part leads to, or None when the schema does not know it."""
    if _is_model(annotation):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin in (list, tuple):
        return typing.get_args(annotation)[0]
    return None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class _Location:
    """Where an error sits in the config: its key, its last field, and how to show its value."""

    key: str
    field_name: str | None
    hidden: bool
    """The value is (or carries) a credential: it is shown as [secret]."""
    other_member: bool
    """The error comes from a union member the input plainly was not meant for (an object given
    where a name or an object is allowed fails as a name too); the member it was meant for reports."""


def _locate(loc: tuple[Any, ...], value: Any, root: type[BaseModel]) -> _Location:
    """Follow an error location through the schema.

    Pydantic adds parts that are no config key: the member a union tried ('NamespaceSpec',
    'function-after[...]') and '[key]' for a dict key; they are left out, so an app named 'str'
    still reads keelson:apps.str. Keys that are not plain words are quoted (keelson:apps['a b']).
    """
    key, field_name, other_member = CONFIG_NAMESPACE, None, False
    annotation: Any = root
    inside_credential = False
    for part in loc:
        members = _members(annotation) if annotation is not None else []
        if len(members) > 1:
            annotation = next((member for member in members if getattr(member, "__name__", None) == part), None) or next(
                (member for member in members if not _is_model(member)), members[0]
            )
            object_given = isinstance(value, dict) and part == loc[-1]
            other_member = other_member or (object_given and not _is_model(annotation)) or (
                _is_model(annotation) and isinstance(value, str) and part == loc[-1]
            )
            continue
        if part == "[key]":
            continue
        annotation = members[0] if members else None
        if isinstance(part, int):
            key += f"[{part}]"
        elif key == CONFIG_NAMESPACE:
            key += f":{_printable(str(part))}"
            field_name = str(part)
        else:
            key += f".{part}" if _PLAIN_KEY.fullmatch(str(part)) else f"[{str(part)!r}]"
            field_name = str(part)
        inside_credential = inside_credential or _holds_credential(annotation)
        annotation = _child(annotation, part)
    hidden = _holds_credential(annotation) if annotation is not None else inside_credential
    return _Location(key, field_name, hidden, other_member)


def _printable(text: str) -> str:
    """One problem per line: a line break or control character a user value brought in is escaped."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def _shown(value: Any) -> str:
    """A value as the user wrote it: 0.00001, not 1e-05."""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return repr(value)


def describe(error: dict[str, Any], root: type[BaseModel]) -> str | None:
    """One line per problem ("key = value: what is allowed, and why"), or None for union noise."""
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith(f"{CONFIG_NAMESPACE}:"):
        return message
    value = error.get("input")
    where = _locate(error["loc"], value, root)
    if where.other_member:
        return None
    if error["type"] == "extra_forbidden":
        return f"{where.key}: unknown key; check the spelling against the config reference in README.md"
    message = _printable(message)
    # A validator may open by naming its field or the value, which "key = value" already says.
    for opening in (f"'{where.field_name}' ", f"{_printable(repr(value))} " if isinstance(value, str) and not where.hidden else None):
        if opening and message.startswith(opening):
            message = message.removeprefix(opening)
    if error["type"] == "missing" or isinstance(value, (dict, list, tuple)) or (value is None and not where.hidden):
        return f"{where.key}: {message}"
    if where.hidden:
        return f"{where.key} = {SECRET_SHOWN_AS}: {message}"
    zero = settings_rules.ZERO_MEANS.get(where.field_name or "")
    if zero and value == 0 and not isinstance(value, bool) and error["type"] in ("greater_than_equal", "greater_than"):
        message = f"{message}: {zero}"
    return f"{where.key} = {_printable(_shown(value))}: {message}"


def _credential_values(value: Any, annotation: Any) -> Iterator[str]:
    """Every text given where a credential belongs (or under a key a credential's model does not know)."""
    members = _members(annotation) if annotation is not None else []
    if SecretStr in members or annotation is None:
        if isinstance(value, str):
            yield value
        elif isinstance(value, (dict, list)):
            for item in value.values() if isinstance(value, dict) else value:
                yield from _credential_values(item, None)
        return
    model = next((member for member in members if _is_model(member)), None)
    if isinstance(value, dict) and model is not None:
        bearing = _holds_credential(model)
        for key, item in value.items():
            child = _child(model, key)
            if child is not None:
                yield from _credential_values(item, child)
            elif bearing:
                yield from _credential_values(item, None)
        return
    container = next((member for member in members if typing.get_origin(member) in (dict, list, tuple)), None)
    if container is not None and isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _credential_values(item, _child(container, 0))


def scrubbed(lines: list[str], raw: dict[str, Any], root: type[BaseModel]) -> list[str]:
    """A last guard: no line may carry a credential's value, whatever rule produced it."""
    credentials = sorted({text for text in _credential_values(raw, root) if len(text) >= 6}, key=len, reverse=True)
    for credential in credentials:
        lines = [line.replace(credential, SECRET_SHOWN_AS) for line in lines]
    return lines
