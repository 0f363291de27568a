"""Copying nasgen's own layer and block code into the generated ``model.py``, without importing torch.

The objects are found by import string (``"package.module:name"``) and their source is cut out of the
module file with :mod:`ast` (the same text ``inspect.getsource`` gives, but the module is never executed,
so generating code needs no torch). What is copied: the spec formulas the blocks use, the shared layers
named by ``MODEL_CODE_SHARED`` in :mod:`nasgen.nn._layers`, then per block kind its descriptor's ``source``
objects and its builder.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
from functools import lru_cache
from pathlib import Path
from typing import Any

from nasgen.errors import ExportError
from nasgen.spec import BlockKind

__all__ = ["FORMULAS", "SHARED_LAYERS", "builder_name", "kind_code", "object_source", "shared_code"]

FORMULAS = ("nasgen.spec._formulas:se_channels", "nasgen.spec._formulas:hidden_channels")
"""The spec formulas the copied blocks call."""

SHARED_LAYERS = "nasgen.nn._layers"
"""The module whose ``MODEL_CODE_SHARED`` names are copied into every ``model.py``."""


def _module_file(module: str) -> Path:
    """The ``.py`` file of ``module``, found without executing it (nor its package's ``__init__``)."""
    top, *rest = module.split(".")
    found = importlib.util.find_spec(top)
    if found is None:
        raise ExportError(f"cannot find the module {module!r} to copy its code into model.py")
    if not rest:
        return Path(found.origin or "")
    folder = Path(next(iter(found.submodule_search_locations or ()), ""))
    for part in rest[:-1]:
        folder = folder / part
    for candidate in (folder / f"{rest[-1]}.py", folder / rest[-1] / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise ExportError(f"cannot find the source file of {module!r} to copy its code into model.py")


@lru_cache(maxsize=64)
def _parsed(path: Path, mtime: float) -> tuple[str, ast.Module]:
    text = path.read_text(encoding="utf-8")
    return text, ast.parse(text)


def _definition(module: str, name: str) -> ast.AST | None:
    path = _module_file(module)
    text, tree = _parsed(path, path.stat().st_mtime)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node
    return None


def object_source(target: str | Any) -> str:
    """Source text of a top-level function or class, given as ``"module:name"`` or as the object itself.

    Decorators are included; the module is not imported when a string is given.

    Raises:
        ExportError: The object or its source cannot be found.
    """
    if not isinstance(target, str):
        try:
            return inspect.getsource(target)
        except (OSError, TypeError) as exc:
            raise ExportError(f"cannot read the source of {target!r} for model.py: {exc}") from None
    module, _, name = target.partition(":")
    node = _definition(module, name)
    if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        raise ExportError(f"{target!r} is not a top-level function or class whose source model.py can copy")
    path = _module_file(module)
    lines = _parsed(path, path.stat().st_mtime)[0].splitlines()
    for inner in sorted(_documented(node), key=lambda doc: -doc.lineno):
        _keep_summary(lines, inner)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return "\n".join(line for line in lines[first - 1 : node.end_lineno] if line is not None) + "\n"


def _documented(node: ast.AST) -> list[ast.Expr]:
    """The docstring expressions of ``node`` and of every function and class inside it."""
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(inner, clean=False) is not None:
            found.append(inner.body[0])
    return found


def _keep_summary(lines: list[Any], doc: ast.Expr) -> None:
    # model.py keeps each docstring's first paragraph (the summary); the Args/Raises/Shape sections stay in
    # nasgen's documentation, which keeps the file short. Lines are blanked to None so indices stay valid.
    start, end = doc.lineno - 1, (doc.end_lineno or doc.lineno) - 1
    blank = next((i for i in range(start + 1, end) if not lines[i].strip()), None)
    if blank is None:
        return
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    closing = lines[end].rstrip()
    quote = closing[-3:] if closing.endswith(('"""', "'''")) else '"""'
    for i in range(blank, end + 1):
        lines[i] = None
    last = blank - 1
    if len(lines[last]) + 3 <= 120 and last == start:
        lines[last] = lines[last] + quote
    else:
        lines[last] = lines[last] + "\n" + indent + quote


def shared_names() -> tuple[str, ...]:
    """The names listed in ``MODEL_CODE_SHARED`` of :data:`SHARED_LAYERS` (read from its source)."""
    node = _definition(SHARED_LAYERS, "MODEL_CODE_SHARED")
    if not isinstance(node, ast.Assign):
        raise ExportError(f"{SHARED_LAYERS} defines no MODEL_CODE_SHARED")
    return tuple(ast.literal_eval(node.value))


def shared_code(*, same_padding: bool = False) -> str:
    """The formulas and the shared layers, as one block of source; with ``same_padding`` also the layers named
    by ``MODEL_CODE_SAME_PADDING`` (TensorFlow's SAME conv), which no other network runs."""
    names = shared_names()
    if not same_padding:
        optional = _definition(SHARED_LAYERS, "MODEL_CODE_SAME_PADDING")
        skipped = set(ast.literal_eval(optional.value)) if isinstance(optional, ast.Assign) else set()
        names = tuple(name for name in names if name not in skipped)
    targets = [*FORMULAS, *(f"{SHARED_LAYERS}:{name}" for name in names)]
    return "".join("\n\n" + object_source(target) for target in targets)


def builder_name(descriptor: BlockKind) -> str:
    """The name under which ``model.py`` defines the kind's builder."""
    builder = descriptor.builder
    return builder.partition(":")[2] if isinstance(builder, str) else builder.__name__


def kind_code(descriptor: BlockKind) -> str:
    """The kind's ``source`` objects and its builder, as one block of source.

    Raises:
        ExportError: The kind has no ``source`` (see :func:`nasgen.exporting.code_unsupported`).
    """
    if descriptor.source is None:
        raise ExportError(f"block kind {descriptor.kind!r} gives no source for model.py")
    targets = [*descriptor.source, descriptor.builder]
    return "".join("\n\n" + object_source(target) for target in targets)
