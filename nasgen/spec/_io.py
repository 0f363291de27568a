"""Loading and saving :class:`ArchSpec` as YAML or JSON, the built-in reference architectures, and
the JSON Schema. YAML is read with ``yaml.safe_load`` only."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from nasgen.errors import SpecError
from nasgen.spec._models import ArchSpec
from nasgen.spec._yaml import read_text, validate_document, yaml_document

__all__ = [
    "builtin_architectures",
    "dump_json",
    "dump_yaml",
    "json_schema",
    "load_spec",
    "loads_spec",
    "save_spec",
    "spec_from_dict",
]

_ARCH_PACKAGE = "nasgen.archs"


def spec_from_dict(data: Any, *, file: str | None = None) -> ArchSpec:
    """Validate plain data (as from YAML/JSON) into an :class:`ArchSpec`.

    Raises:
        SpecError: Naming the field path and the bad value.
    """
    return validate_document(ArchSpec, data, file=file)


def loads_spec(text: str, *, file: str | None = None) -> ArchSpec:
    """Parse YAML (or JSON, a subset of YAML) text into an :class:`ArchSpec`.

    Raises:
        SpecError: Syntax error or invalid field, with the file and line where known.
    """
    data, node = yaml_document(text, file=file)
    return validate_document(ArchSpec, data, file=file, node=node)


def builtin_architectures() -> dict[str, str]:
    """Names of the shipped reference architectures mapped to their YAML file names."""
    folder = resources.files(_ARCH_PACKAGE)
    return {
        entry.name.removesuffix(".yaml"): entry.name
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def load_spec(source: str | Path | ArchSpec) -> ArchSpec:
    """Load an architecture from a built-in name (``efficientnet-b0``), a YAML/JSON path, or pass one through.

    Raises:
        SpecError: Unknown name, missing file, syntax error or invalid field.
    """
    if isinstance(source, ArchSpec):
        return source
    if not isinstance(source, (str, Path)):
        raise SpecError(
            f"expected an ArchSpec, a built-in name or a path, got {type(source).__name__}", value=source
        )
    text_source = str(source)
    builtins = builtin_architectures()
    if not isinstance(source, Path) and text_source in builtins:
        text = resources.files(_ARCH_PACKAGE).joinpath(builtins[text_source]).read_text(encoding="utf-8")
        return loads_spec(text, file=f"<built-in {text_source}>")
    path = Path(text_source)
    if not path.exists() and path.suffix not in (".yaml", ".yml", ".json"):
        names = ", ".join(builtins)
        raise SpecError(f"{text_source!r} is neither a file nor a built-in architecture ({names})")
    return loads_spec(read_text(path), file=text_source)


def _plain(spec: ArchSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_none=True)


def dump_yaml(spec: ArchSpec) -> str:
    """YAML text of a spec, fields in declaration order; ``loads_spec(dump_yaml(s)) == s``."""
    return yaml.safe_dump(_plain(spec), sort_keys=False, default_flow_style=False)


def dump_json(spec: ArchSpec, *, indent: int | None = 2) -> str:
    """JSON text of a spec; ``loads_spec(dump_json(s)) == s``."""
    return json.dumps(_plain(spec), indent=indent)


def save_spec(spec: ArchSpec, path: str | Path) -> Path:
    """Write a spec to ``path`` as JSON when it ends in ``.json``, YAML otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_json(spec) if path.suffix == ".json" else dump_yaml(spec), encoding="utf-8")
    return path


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ArchSpec` (for editors checking YAML files)."""
    schema = ArchSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "nasgen architecture")
    return schema
