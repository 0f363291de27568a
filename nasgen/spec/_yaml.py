"""YAML reading that keeps line numbers, and conversion of pydantic errors into :class:`SpecError`.

Shared by every pydantic document nasgen reads (architectures, search spaces, schedules), so each bad
field is reported the same way: ``FILE, line L: stages.3.kernel_size: must be 3, 5 or 7, got 4``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from nasgen.errors import SpecError
from nasgen.spec._base import pydantic_errors
from nasgen.spec._models import PLUGIN_STAGE_TAG

__all__ = ["Loader", "line_of", "read_text", "spec_error_from_validation", "validate_document", "yaml_document"]


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` as a float (YAML 1.2 and JSON do; YAML 1.1 does not)."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_text(path: str | Path) -> str:
    """Read a text file, turning a missing or unreadable file into one clear :class:`SpecError`."""
    path = Path(path)
    if not path.exists():
        raise SpecError("no such file", file=str(path))
    if path.is_dir():
        raise SpecError(f"expected a file, got the directory {str(path)!r}", file=str(path))
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read file: {exc}", file=str(path)) from None


def yaml_document(text: str, *, file: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse YAML ``text`` safely into ``(data, node)``; ``node`` keeps each value's line.

    Raises:
        SpecError: YAML syntax error (with its line), or more than one document.
    """
    try:
        node = yaml.compose(text, Loader=Loader)
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise SpecError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=file) from None
    return data, node


def line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the value at ``loc`` inside a composed YAML ``node`` (deepest known match)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(key):
                    child = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            child = node.value[key]
        if child is None:
            continue  # a union tag in the loc, or a field that is absent: keep the parent's line
        node = child
        line = node.start_mark.line + 1
    return line


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Drop pydantic's discriminated-union tags (``stages.3.mbconv.kernel_size`` → ``stages.3.kernel_size``)."""
    out: list[str | int] = []
    current = data
    for key in loc:
        if key == PLUGIN_STAGE_TAG:
            continue
        if isinstance(current, dict) and isinstance(key, str) and key not in current:
            if current.get("kind") == key or "[" in key or key.startswith("function-"):
                continue
        out.append(key)
        if isinstance(current, dict):
            current = current.get(key)
        elif isinstance(current, (list, tuple)) and isinstance(key, int) and 0 <= key < len(current):
            current = current[key]
        else:
            current = None
    return out


def _is_document(value: Any) -> bool:
    return isinstance(value, dict) or len(repr(value)) > 120


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "missing":
        return "required field is missing"
    # a model-level check (e.g. resolution vs. total stride) gets the whole document as input: its own
    # message names the values, so do not append the document
    if "input" in error and "got " not in msg and kind != "missing" and not _is_document(error["input"]):
        msg = f"{msg}, got {error['input']!r}"
    return msg


def spec_error_from_validation(
    exc: ValidationError, data: Any, *, file: str | None = None, node: yaml.Node | None = None
) -> SpecError:
    """Turn the first error of a pydantic ``ValidationError`` into one :class:`SpecError`."""
    error = exc.errors(include_url=False)[0]
    loc = _clean_loc(error.get("loc", ()), data)
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        ctx = error.get("ctx", {})
        field = str(ctx.get("discriminator", "'kind'")).strip("'\"")
        loc = [*loc, field]
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        message = f"must be one of {expected}, got {tag!r}" if tag is not None else "required field is missing"
        path = ".".join(str(part) for part in loc)
        return SpecError(message, path=path, value=tag, file=file, line=line_of(node, loc))
    path = ".".join(str(part) for part in loc)
    return SpecError(_message(error), path=path, value=error.get("input"), file=file, line=line_of(node, loc))


def validate_document(
    model: type[BaseModel], data: Any, *, file: str | None = None, node: yaml.Node | None = None
) -> Any:
    """Validate ``data`` as ``model``; any failure becomes one :class:`SpecError` naming file, line, path.

    Raises:
        SpecError: The document is not a mapping, or a field is invalid.
    """
    if not isinstance(data, dict):
        raise SpecError(
            "the file is empty" if data is None else
            f"expected a mapping of fields at the top level, got {type(data).__name__}",
            file=file,
            line=node.start_mark.line + 1 if node is not None else None,
        )
    try:
        with pydantic_errors():
            return model.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, data, file=file, node=node) from None
    except SpecError as exc:
        raise exc.with_location(file=file) from None
