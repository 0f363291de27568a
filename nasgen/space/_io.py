"""Reading search spaces from YAML and the registry of built-in spaces.

Built-in spaces are the YAML files of the repository's top-level ``search_spaces/`` folder, their one home. The
package reaches that folder as ``nasgen/search_spaces`` (in the repository a symbolic link to ``../search_spaces``,
which the wheel build follows, so a wheel holds the files themselves) and reads it through :mod:`importlib.resources`
— the same code from a checkout, an editable install and a wheel, with no fallback.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from nasgen.errors import SpecError
from nasgen.space._space import SearchSpace
from nasgen.spec import read_text, validate_document, yaml_document

__all__ = ["builtin_space_files", "builtin_spaces", "dump_space", "load_space", "loads_space"]

_SUFFIXES = (".yaml", ".yml")


def loads_space(text: str, *, file: str | None = None) -> SearchSpace:
    """Parse YAML ``text`` into a :class:`SearchSpace`.

    Raises:
        SpecError: Syntax error or invalid field, naming file, line, label path and the bad value,
            e.g. ``space.yaml, line 17: stages.3.kernel_size: must be 3, 5 or 7, got 4``.
    """
    data, node = yaml_document(text, file=file)
    return validate_document(SearchSpace, data, file=file, node=node)


_SPACE_FOLDER = "search_spaces"


def builtin_space_files() -> dict[str, Traversable | Path]:
    """Names of the built-in spaces (file names without ``.yaml``) mapped to their files in ``search_spaces/``."""
    folder = resources.files("nasgen") / _SPACE_FOLDER
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(_SUFFIXES)), key=lambda e: e.name)
    return {entry.name.rsplit(".", 1)[0]: entry for entry in entries}


@lru_cache(maxsize=None)
def _load_builtin(name: str) -> SearchSpace:
    entry = builtin_space_files()[name]
    return loads_space(entry.read_text(encoding="utf-8"), file=f"<built-in space {name}>")


def builtin_spaces() -> dict[str, str]:
    """Built-in space names mapped to their one-line descriptions.

    Example:
        >>> sorted(builtin_spaces())
        ['efficientnet-v1', 'efficientnet-v2']
    """
    return {name: _load_builtin(name).description for name in builtin_space_files()}


def load_space(source: str | Path | SearchSpace) -> SearchSpace:
    """Load a space from a built-in name (``efficientnet-v1``), a YAML path, or pass one through.

    Raises:
        SpecError: Unknown name, missing file, syntax error or invalid field.
    """
    if isinstance(source, SearchSpace):
        return source
    if not isinstance(source, (str, Path)):
        raise SpecError(
            f"expected a SearchSpace, a built-in name or a path, got {type(source).__name__}", value=source
        )
    text_source = str(source)
    names = builtin_space_files()
    if not isinstance(source, Path) and text_source in names:
        return _load_builtin(text_source)
    path = Path(text_source)
    if not path.exists() and path.suffix not in (*_SUFFIXES, ".json"):
        known = ", ".join(names) or "none found"
        raise SpecError(f"{text_source!r} is neither a file nor a built-in search space ({known})", value=text_source)
    return loads_space(read_text(path), file=text_source)


def _plain(space: SearchSpace) -> dict[str, Any]:
    data = space.model_dump(mode="python", exclude_none=True)  # dimensions dump to their YAML form
    data["stages"] = list(data["stages"])
    return data


def dump_space(space: SearchSpace) -> str:
    """YAML text of a space; ``loads_space(dump_space(s)) == s``."""
    return yaml.safe_dump(_plain(space), sort_keys=False, default_flow_style=None)
