"""Field descriptions from the docstring under each field, read when a reader asks for them.

pydantic can read these docstrings itself (`use_attribute_docstrings`), but it does so for every
model when its class is created, parsing each class's source: about a third of Keelson's own import
time, paid by every `pulumi preview` (bench/RESULTS.md). Only the README's config reference
(tools/config_reference.py) and the Args documentation test read descriptions, so they call
`with_field_docstrings` on a model before reading its fields.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

from pydantic import BaseModel


@cache
def _docstrings(cls: type) -> dict[str, str]:
    """{field name: docstring} for the string literals right under the annotated fields of 'cls' itself."""
    try:
        source = textwrap.dedent("".join(inspect.getsourcelines(cls)[0]))
    except (OSError, TypeError):
        return {}
    if source.startswith((" ", "\t")):
        # A multi-line string less indented than the class body: parse the class inside a function.
        source = "def _wrapper():\n" + textwrap.indent(source, "    ")
    statement = ast.parse(source).body[0]
    if isinstance(statement, ast.FunctionDef):
        statement = statement.body[0]
    found: dict[str, str] = {}
    previous: ast.stmt | None = None
    for node in getattr(statement, "body", []):
        if (
            isinstance(previous, ast.AnnAssign)
            and isinstance(previous.target, ast.Name)
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found[previous.target.id] = inspect.cleandoc(node.value.value)
        previous = node
    return found


def with_field_docstrings(model: type[BaseModel]) -> type[BaseModel]:
    """'model', each field without a description given the docstring written under it in the class
    that declares it (what pydantic's `use_attribute_docstrings` gives); returns the model."""
    for name, field in model.model_fields.items():
        if field.description is not None:
            continue
        declaring = next((cls for cls in model.__mro__ if name in vars(cls).get("__annotations__", {})), None)
        if declaring is not None:
            field.description = _docstrings(declaring).get(name)
    return model
