"""YAML reading that keeps line numbers, and conversion of pydantic errors into :class:`SpecError`.

Shared by every pydantic document nasgen reads (architectures, search spaces, schedules), so each bad
field is reported the same way: ``FILE, line L: stages.3.kernel_size: must be 3, 5 or 7, got 4``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from nasgen.errors import SpecError, short_repr
from nasgen.spec._loader import MAX_DOCUMENT_CHARS, Loader, bool_hint, load_document
from nasgen.spec._base import pydantic_errors
from nasgen.spec._models import PLUGIN_STAGE_TAG

__all__ = ["Loader", "line_of", "read_text", "spec_error_from_validation", "validate_document", "yaml_document"]


def read_text(path: str | Path) -> str:
    """Read a text file, turning a missing or unreadable file into one clear :class:`SpecError`."""
    path = Path(path)
    if not path.exists():
        raise SpecError("no such file", file=str(path))
    if path.is_dir():
        raise SpecError(f"expected a file, got the directory {str(path)!r}", file=str(path))
    try:
        size = path.stat().st_size
        if size > 4 * MAX_DOCUMENT_CHARS:
            raise SpecError(
                f"the file is {size:,} bytes; a spec or space is at most {MAX_DOCUMENT_CHARS:,} characters",
                file=str(path),
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read file: {exc}", file=str(path)) from None


def yaml_document(text: str, *, file: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse YAML ``text`` safely into ``(data, node)``; ``node`` keeps each value's line.

    Bounded: see :func:`nasgen.spec._loader.load_document` (size, depth, aliases, duplicate keys, YAML 1.1
    number forms).

    Raises:
        SpecError: Any failure to read the text, with its line where known.
    """
    return load_document(text, file=file)


def node_at(node: yaml.Node | None, loc: Sequence[str | int]) -> yaml.Node | None:
    """The composed node of the value at ``loc`` (the deepest one found along the path)."""
    if node is None:
        return None
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
            continue  # a union tag in the loc, or a field that is absent: keep the parent
        node = child
    return node


def line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the value at ``loc`` inside a composed YAML ``node`` (deepest known match)."""
    found = node_at(node, loc)
    return found.start_mark.line + 1 if found is not None else None


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
    return isinstance(value, dict) or len(short_repr(value)) > 100


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
        msg = f"{msg}, got {short_repr(error['input'])}"
    return msg


def spec_error_from_validation(
    exc: ValidationError, data: Any, *, file: str | None = None, node: yaml.Node | None = None
) -> SpecError:
    """Turn the first error of a pydantic ``ValidationError`` into one :class:`SpecError`."""
    errors = exc.errors(include_url=False)
    # a misspelled field (`kernal_size`) also makes the right one missing: report the misspelling first
    error = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    loc = _clean_loc(error.get("loc", ()), data)
    if error.get("type") == "extra_forbidden" and loc:
        return _unknown_field(error, errors, loc, data, file=file, node=node)
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        ctx = error.get("ctx", {})
        field = str(ctx.get("discriminator", "'kind'")).strip("'\"")
        loc = [*loc, field]
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        message = "required field is missing"
        if tag is not None:
            message = f"must be one of {expected}, got {short_repr(tag)}"
        path = ".".join(str(part) for part in loc)
        return SpecError(message, path=path, value=tag, file=file, line=line_of(node, loc))
    path = ".".join(str(part) for part in loc)
    found = node_at(node, loc)
    message = _message(error) + bool_hint(found)
    line = found.start_mark.line + 1 if found is not None else None
    return SpecError(message, path=path, value=error.get("input"), file=file, line=line)


def _unknown_field(
    error: dict[str, Any], errors: list[dict[str, Any]], loc: list[str | int], data: Any, *, file: str | None,
    node: yaml.Node | None,
) -> SpecError:
    """``PATH: unknown field (did you mean 'kernel_size'?)``, from the fields missing beside it or known anywhere."""
    name = str(loc[-1])
    parent = loc[:-1]
    missing = [str(e["loc"][-1]) for e in errors
               if e.get("type") == "missing" and _clean_loc(e.get("loc", ()), data)[:-1] == parent]
    close = difflib.get_close_matches(name, missing, n=1, cutoff=0.6) or difflib.get_close_matches(
        name, sorted(_KNOWN_FIELDS), n=1, cutoff=0.75
    )
    hint = f"did you mean {close[0]!r}?" if close else "check the spelling"
    path = ".".join(str(part) for part in loc)
    return SpecError(f"unknown field ({hint})", path=path, value=error.get("input"), file=file,
                     line=line_of(node, loc))


_KNOWN_FIELDS = {
    "name", "description", "in_channels", "resolution_px", "stem", "stages", "head_channels", "num_classes",
    "dropout", "drop_path_rate", "activation", "bn_eps", "bn_momentum", "out_channels", "kernel_size", "stride",
    "kind", "num_layers", "expand_ratio", "se_ratio", "optional", "options", "low", "high", "step",
    "padding", "se_rounding", "residual", "expand_in_channels", "always_project",
}
"""Field names of architectures and spaces, for did-you-mean hints on a misspelled field."""


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
    except (TypeError, ValueError, RecursionError) as exc:  # pydantic refusing the input's shape itself
        raise SpecError(f"invalid document: {exc}", file=file) from None
