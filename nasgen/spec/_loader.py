"""A bounded, YAML-1.2-minded safe loader for every document nasgen reads.

``yaml.SafeLoader`` executes no tags, but it is not bounded: a 1.7 KB "billion laughs" file of nested
aliases expands to 10⁹ nodes, a 1,000-deep mapping overflows Python's stack in the recursive composer, a
duplicate key silently keeps the last value, and YAML 1.1 reads ``010`` as 8, ``3:44`` as 224 and
``0xE0`` as 224. :func:`load_document` composes the document once with limits checked *while* composing
(before any work proportional to the expanded size), and turns every failure into one :class:`SpecError`
with a line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from nasgen.errors import SpecError

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_CHARS",
    "MAX_NODES",
    "Loader",
    "bool_hint",
    "load_document",
]

MAX_DOCUMENT_CHARS = 1_000_000
"""Longest document read, in characters (an EfficientNet-B0 spec is about 1.2 KB, a space 2 KB)."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and sequences (a space is 4 levels deep)."""

MAX_NODES = 100_000
"""Most nodes of the document with every alias expanded (a space has a few hundred)."""

_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_OCTAL_12 = re.compile(r"^[-+]?0o[0-7_]+$")
_YAML11_BOOL = {"yes", "no", "on", "off", "y", "n"}


class Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-3`` as a float (YAML 1.2 and JSON do; YAML 1.1 does not).

    Use :func:`load_document` to read a document: it adds the limits and the checks of the module docstring.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._weights: dict[int, tuple[int, int]] = {}  # id(node) → (expanded nodes, expanded height)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", line=self._line())
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._weigh(node)
        return node

    def compose_mapping_node(self, anchor: str | None) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        _refuse_duplicate_keys(node)
        return node

    def compose_scalar_node(self, anchor: str | None) -> yaml.ScalarNode:
        node = super().compose_scalar_node(anchor)
        _refuse_yaml11_numbers(node)
        return node

    def _line(self) -> int | None:
        event = self.peek_event() if self.check_event() else None
        return event.start_mark.line + 1 if event is not None and event.start_mark is not None else None

    def _weigh(self, node: yaml.Node) -> None:
        """Count the node's size and height with aliases expanded, from its children's (memoized) counts."""
        if id(node) in self._weights:
            return  # an alias: the anchored node was weighed when it was composed
        size, height = 1, 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        for child in children:
            child_size, child_height = self._weights.get(id(child), (1, 1))
            size += child_size
            height = max(height, child_height + 1)
        line = node.start_mark.line + 1
        if size > MAX_NODES:
            raise SpecError(f"the document expands to more than {MAX_NODES:,} values (aliases?)", line=line)
        if height > MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels once aliases are expanded", line=line)
        self._weights[id(node)] = (size, height)


# ``1e-3`` and ``1.5e3`` as floats, like YAML 1.2 and JSON (PyYAML's YAML 1.1 resolver needs a dot and a sign).
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


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            # every mapping nasgen reads is keyed by field names; `3:` or `no:` would reach pydantic as an int
            # or a bool (a TypeError there), `[a, b]:` as an unhashable key
            got = repr(_short(key_node.value)) if isinstance(key_node, yaml.ScalarNode) else f"a {key_node.id}"
            raise SpecError(
                f"a key must be a field name, got {got} (read as {key_node.tag.rsplit(':', 1)[-1]}); "
                "quote it if it is meant as text",
                line=key_node.start_mark.line + 1,
            )
        key = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise SpecError(
                f"duplicate key {_short(key_node.value)!r} (lines {seen[key]} and {line}); keep one of them",
                line=line,
            )
        seen[key] = line


def _refuse_yaml11_numbers(node: yaml.ScalarNode) -> None:
    """Refuse the plain (unquoted) number forms that YAML 1.1 and 1.2 read differently."""
    if node.style is not None:
        return  # quoted: a string, as written
    text, line = node.value, node.start_mark.line + 1
    if node.tag == "tag:yaml.org,2002:int" and not _DECIMAL_INT.match(text):
        try:
            value = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - safe loader, one int scalar
        except Exception:  # noqa: BLE001 - only used for the message
            value = None
        read = f" YAML 1.1 reads it as {value}," if isinstance(value, int) and len(text) < 40 else ""
        raise SpecError(
            f"{_short(text)!r} is not a plain decimal integer:{read} write the number in decimal digits "
            f"(no leading 0, '_', ':' or 0x), or quote it for a string",
            line=line,
        )
    if node.tag == "tag:yaml.org,2002:float" and (":" in text or "_" in text):
        raise SpecError(
            f"{_short(text)!r} is not a plain number (YAML 1.1 reads ':' as base 60 and drops '_'): write it "
            f"in decimal digits, or quote it for a string",
            line=line,
        )
    if node.tag == "tag:yaml.org,2002:str" and _OCTAL_12.match(text):
        raise SpecError(
            f"{_short(text)!r} is a YAML 1.2 octal that this YAML 1.1 reader takes as a string: write the "
            f"number in decimal digits, or quote it for a string",
            line=line,
        )


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bool_hint(node: yaml.Node | None) -> str:
    """A hint to quote ``node`` when YAML 1.1 read an unquoted ``no`` / ``yes`` / ``on`` / ``off`` as a bool."""
    if (
        isinstance(node, yaml.ScalarNode)
        and node.style is None
        and node.tag == "tag:yaml.org,2002:bool"
        and node.value.lower() in _YAML11_BOOL
    ):
        value = node.value.lower() in ("yes", "on", "y")
        return f" (YAML reads an unquoted {node.value} as the boolean {value}: quote it, '{node.value}', for a string)"
    return ""


def _line_at(text: str, position: int | None) -> int | None:
    return text.count("\n", 0, position) + 1 if position is not None else None


def load_document(text: str, *, file: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into ``(data, node)`` within the limits of this module.

    Args:
        text: The document (YAML 1.1 read the YAML 1.2 way where they differ, or refused; JSON is YAML).
        file: Named in errors.

    Returns:
        The plain data (dicts, lists, scalars; aliases share objects) and the composed node graph, which
        keeps each value's line; ``(None, None)`` for an empty document.

    Raises:
        SpecError: Too long, too deep, too many values once aliases are expanded, a duplicate key, a YAML
            1.1 number form, a NUL or other forbidden character, a syntax error or more than one document;
            with the line where known. Nothing else escapes (a RecursionError or MemoryError included).
    """
    if not isinstance(text, str):
        raise SpecError(f"expected YAML text, got {type(text).__name__}", file=file)
    if len(text) > MAX_DOCUMENT_CHARS:
        raise SpecError(f"the document is longer than {MAX_DOCUMENT_CHARS:,} characters ({len(text):,})", file=file)
    nul = text.find("\x00")
    if nul >= 0:
        raise SpecError("a NUL byte (\\x00) is not allowed in YAML (is this a binary file?)", file=file,
                        line=_line_at(text, nul))
    try:
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except SpecError as exc:
        raise exc.with_location(file=file) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise SpecError(f"YAML syntax error: {problem}", file=file,
                        line=mark.line + 1 if mark is not None else None) from None
    except yaml.reader.ReaderError as exc:
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise SpecError(f"YAML error: unacceptable character #x{code:04x}", file=file,
                        line=_line_at(text, exc.position)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {_short(str(exc), 200)}", file=file) from None
    except (RecursionError, MemoryError) as exc:
        raise SpecError(f"the document is too large or too deep to read ({type(exc).__name__})", file=file) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. `!!int abc`, a 5,000-digit integer
        raise SpecError(f"YAML value error: {_short(str(exc), 200)}", file=file) from None
    return data, node
