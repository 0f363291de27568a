"""``nasgen validate``: check a search-space or architecture file and print what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from nasgen.cli._common import console, user_errors

_SCALAR_TOP = ("resolution_px", "head_channels", "dropout", "drop_path_rate", "activation", "bn_eps", "bn_momentum")


def _looks_like_space(data: Any) -> bool:
    """A space has a ``description``, an ``optional`` stage, or a list / range where a spec has a scalar."""
    if not isinstance(data, dict):
        return False
    fields = [data.get(key) for key in _SCALAR_TOP]
    if isinstance(data.get("stem"), dict):
        fields += list(data["stem"].values())
    for stage in data.get("stages") or []:
        if isinstance(stage, dict):
            if "optional" in stage:
                return True
            fields += list(stage.values())
    return "description" in data or any(isinstance(value, (list, dict)) for value in fields)


def _macs_line(label: str, macs: int, spec: Any) -> str:
    from nasgen.units import format_count

    return f"{label}: {format_count(macs)} MACs ({macs:,}) at {spec.resolution_px} px  {' '.join(spec.display())}"


def _report_space(space: Any, budget: int | None = None) -> None:
    from nasgen.cost import count_cost
    from nasgen.units import format_count

    console.print(f"search space {space.name or ''}: {space.description}".rstrip(": "), highlight=False)
    console.print(f"architectures: {space.size():,} ({space.size():.3g})", highlight=False)
    console.print(f"dimensions: {len(space.dimensions())}", highlight=False)
    smallest, largest = space.macs_extremes()
    for label, spec in (("smallest", smallest), ("largest", largest)):
        console.print(_macs_line(label, count_cost(spec).macs, spec), highlight=False)
    console.print(f"contains: {', '.join(_known_inside(space)) or 'no built-in architecture'}", highlight=False)
    if budget is not None:
        share = space.budget_share(budget)
        console.print(f"fits {format_count(budget)} MACs: {share.describe()}", highlight=False)


def _known_inside(space: Any) -> list[str]:
    """The built-in architectures (efficientnet-b0 …) that ``space`` contains exactly."""
    from nasgen.spec import builtin_architectures, load_spec

    return [name for name in builtin_architectures() if space.contains(load_spec(name))]


def _report_arch(spec: Any) -> None:
    from nasgen.cost import count_cost
    from nasgen.units import format_count

    cost = count_cost(spec)
    console.print(f"architecture {spec.name or spec.short_hash()} ({spec.num_blocks} blocks)", highlight=False)
    console.print(_macs_line("cost", cost.macs, spec), highlight=False)
    console.print(f"params: {format_count(cost.params)} ({cost.params:,})", highlight=False)


def _not_found(name: str, archs: list[str], spaces: list[str]) -> str:
    """``no such file … (did you mean …?); built-in architectures: …; spaces: …`` — close matches first."""
    import difflib

    close = difflib.get_close_matches(name, [*archs, *spaces], n=3, cutoff=0.6)

    def listing(names: list[str]) -> str:
        return ", ".join([n for n in close if n in names] + [n for n in sorted(names) if n not in close])

    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return (
        f"no such file, and not a built-in name{hint}; built-in architectures: {listing(archs)}; "
        f"spaces: {listing(spaces)}"
    )


@user_errors
def validate(
    file: str = typer.Argument(..., help="search-space or architecture YAML file, or a built-in name"),
    budget: Optional[str] = typer.Option(
        None, help="A space: the share of it within this MACs budget (e.g. 400M), estimated on 1,000 samples."
    ),
) -> None:
    """Check a search-space or architecture file and print its size and MACs range, or its cost."""
    from nasgen.errors import SpecError
    from nasgen.space import builtin_space_files, load_space, loads_space
    from nasgen.spec import builtin_architectures, load_spec, loads_spec, read_text, yaml_document
    from nasgen.units import parse_macs

    budget_macs = None if budget is None else parse_macs(budget)
    path = Path(file)
    if not path.exists():
        if file in builtin_space_files():
            _report_space(load_space(file), budget_macs)
        elif file in builtin_architectures():
            _report_arch(load_spec(file))
        elif path.suffix in (".yaml", ".yml", ".json") or "/" in file:
            raise SpecError("no such file", file=file)
        else:  # a bare name: most likely a misspelled built-in
            raise SpecError(_not_found(file, list(builtin_architectures()), list(builtin_space_files())), file=file)
        return
    text = read_text(path)
    data, _ = yaml_document(text, file=file)
    if _looks_like_space(data):
        _report_space(loads_space(text, file=file), budget_macs)
    else:
        _report_arch(loads_spec(text, file=file))


def register(app: typer.Typer) -> None:
    """Add ``nasgen validate`` to the app (the command is the module-level :func:`validate`)."""
    app.command(
        "validate",
        help=(
            "Check a search-space or architecture file (detected from its content) and print what it holds.\n\n"
            "For a space: number of architectures, number of dimensions and the MACs range (the smallest and the "
            "largest architecture), the built-in architectures it contains and, with --budget, the share of the space "
            "within that budget. For an architecture: MACs and "
            "params. MACs are multiply-accumulates of Conv2d "
            "and Linear layers at the architecture's resolution, batch 1 (FLOPs = 2 x MACs)."
        ),
    )(validate)
