"""The user's guide states the space format as the code has it; the docs stay inside the repository.

The field tables of docs/guide.md are parsed and compared with the space models: every field listed once,
required or with the model's default, and the kernel sizes, strides and activations the spec accepts.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic_core import PydanticUndefined

from nasgen.space import SearchSpace, StageSpace, StemSpace
from nasgen.space._dimensions import Dimension
from nasgen.spec import ACTIVATIONS, KERNEL_SIZES, STRIDES

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "guide.md").read_text()


def _table(title: str) -> dict[str, list[str]]:
    """The field table after the line starting with ``title``: ``{field: [default, accepts, meaning]}``."""
    lines = GUIDE.split(title, 1)[1].split("\n\n", 2)[1].splitlines()
    rows = {}
    for line in lines[2:]:  # header and separator
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def _default(model: type, name: str) -> object:
    default = model.model_fields[name].default
    if default is PydanticUndefined:
        return "required"
    return default.values()[0] if isinstance(default, Dimension) else default


def test_guide_tables_list_every_field_with_its_default() -> None:
    for title, model in (("Top level (`SearchSpace`)", SearchSpace), ("`stem` (`StemSpace`)", StemSpace),
                         ("Each item of `stages` (`StageSpace`)", StageSpace)):
        rows = _table(title)
        assert list(rows) == list(model.model_fields), title
        for name, (default, _accepts, _meaning) in rows.items():
            shown = "required" if default == "required" else yaml.safe_load(default.strip("`"))
            assert shown == _default(model, name), (title, name, default)


def test_guide_states_the_specs_choices() -> None:
    stage = _table("Each item of `stages` (`StageSpace`)")
    stem = _table("`stem` (`StemSpace`)")
    top = _table("Top level (`SearchSpace`)")
    for rows in (stage, stem):
        assert rows["kernel_size"][1] == ", ".join(map(str, KERNEL_SIZES))
        assert rows["stride"][1] == ", ".join(map(str, STRIDES))
    assert re.findall(r"`(\w+)`", top["activation"][1]) == list(ACTIVATIONS)


def test_guide_names_every_example_and_they_exist() -> None:
    named = set(re.findall(r"`(examples/[\w./-]+)`", GUIDE))
    assert {p for p in named if not (ROOT / p).exists()} == set()
    files = {f"examples/{p.relative_to(ROOT / 'examples').as_posix()}" for p in (ROOT / "examples").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert {f for f in files if f not in named and not f.startswith("examples/plugin/")} == set()
    assert "examples/plugin/" in named


def test_docs_stay_inside_the_repository() -> None:
    for path in (ROOT / "docs").glob("*.md"):
        text = path.read_text()
        assert "../" not in text and "shared/DESIGN" not in text, path.name
    readme = (ROOT / "README.md").read_text()
    assert "examples/" in readme and "docs/guide.md" in readme
