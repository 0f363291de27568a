"""``nasgen scale``: compound scaling of an architecture (the built-in ``compound_scaling`` plugin).

``nasgen scale ARCH --phi 3 | --preset b4 | --family 0-7 [-o OUT]`` and ``nasgen scale search-coefficients
ARCH``. The first form is short for ``nasgen scale apply ARCH …``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from nasgen.cli._common import console, user_errors

_DEFAULT = "apply"


class _DefaultToApply(TyperGroup):
    """A group whose first argument, when it is not a subcommand, belongs to ``apply``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


def scaling_plugin() -> ModuleType:
    """The compound-scaling plugin's interface, reached through its ``nasgen_api`` hook.

    Raises:
        PluginError: The built-in compound-scaling plugin failed to load (with the reason).
    """
    from nasgen.errors import PluginError
    from nasgen.hooks import load_plugins

    registry = load_plugins()
    if "compound_scaling" not in registry.apis or "scale" not in registry.transforms:
        reasons = "; ".join(f.message for f in registry.failures if f.module.startswith("nasgen_scaling")) or (
            "its entry point 'compound_scaling' is not installed"
        )
        raise PluginError(f"the compound-scaling plugin is not available: {reasons}")
    return registry.api("compound_scaling")


def _summary(spec: Any, base_macs: int, predicted: float | None) -> str:
    from nasgen.cost import count_cost
    from nasgen.units import format_count

    cost = count_cost(spec)
    ratio = f"measured cost ratio {cost.macs / base_macs:.3f}"
    if predicted is not None:
        ratio = f"predicted cost ratio {predicted:.3f}, {ratio}"
    return (
        f"{spec.name or spec.short_hash()}: {spec.resolution_px} px, {format_count(cost.params)} params "
        f"({cost.params:,}), {format_count(cost.macs)} MACs ({cost.macs:,}); {ratio}"
    )


def _print_family(rows: list[Any], title: str) -> None:
    cells = [
        (row.label, str(row.resolution_px), f"{row.params:,}", f"{row.macs:,}", f"{row.predicted_cost_ratio:.3f}",
         f"{row.measured_cost_ratio:.3f}")
        for row in rows
    ]
    _print_table(title, ("member", "px", "params", "MACs", "pred. ratio", "meas. ratio"), cells)
    console.print("MACs: conv + linear, batch 1 (FLOPs = 2 x MACs); ratios are MACs over the baseline's, predicted "
                  "(alpha*beta^2*gamma^2)^phi or depth*width^2*resolution^2 for presets", highlight=False)


def _print_table(title: str, columns: tuple[str, ...], cells: list[tuple[str, ...]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        # numbers never wrap or get cut: the column is at least as wide as its widest cell
        width = max(len(row[index]) for row in cells)
        table.add_column(column, justify="left" if index == 0 else "right", min_width=width, no_wrap=True)
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _family(scaling: ModuleType, base: Any, family: str, coefficients: tuple[float, float, float],
            dropout_per_phi: float, out: Path | None) -> None:
    from nasgen.spec import save_spec

    members = scaling.parse_family(family)
    rows = scaling.family_table(base, members, *coefficients, dropout_per_phi=dropout_per_phi)
    alpha, beta, gamma = coefficients
    mode = "released presets" if isinstance(members[0], str) else f"alpha={alpha:g}, beta={beta:g}, gamma={gamma:g}"
    _print_family(rows, f"{base.name or base.short_hash()} family ({mode})")
    for row in rows if out is not None else ():
        path = save_spec(row.spec, out / f"{row.spec.name or row.spec.short_hash()}.yaml")
        console.print(f"wrote {path}", highlight=False)


def _single(scaling: ModuleType, base: Any, phi: float | None, preset: str | None,
            coefficients: tuple[float, float, float], dropout_per_phi: float, out: Path | None) -> None:
    from nasgen.cost import count_cost
    from nasgen.spec import dump_yaml, save_spec

    if preset is not None:
        scaled, predicted = scaling.scale_preset(base, preset), None
    else:
        scaled = scaling.scale(base, phi, *coefficients, dropout_per_phi=dropout_per_phi)
        predicted = scaling.predicted_cost_ratio(phi, *coefficients)
    summary = _summary(scaled, count_cost(base).macs, predicted)
    if out is None:
        # stdout stays a valid YAML document: the summary goes in a comment
        typer.echo(f"# {summary}\n{dump_yaml(scaled)}", nl=False)
        return
    console.print(f"wrote {save_spec(scaled, out)}: {summary}", highlight=False)


def _apply(
    arch: str = typer.Argument(..., help="Baseline: a built-in name (efficientnet-b0) or a YAML/JSON file."),
    phi: Optional[float] = typer.Option(None, "--phi", help="Compound coefficient phi >= 0 (formula mode)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Released multipliers b0..b7 (preset mode)."),
    family: Optional[str] = typer.Option(
        None, "--family", help="Print a family table: phi values (0-7, 1,2,3) or presets (b0-b7)."
    ),
    alpha: float = typer.Option(1.2, help="Depth coefficient (>= 1): repeats ceil(alpha^phi * L)."),
    beta: float = typer.Option(1.1, help="Width coefficient (>= 1): channels beta^phi * C, rounded to 8."),
    gamma: float = typer.Option(1.15, help="Resolution coefficient (>= 1): gamma^phi * R, nearest px."),
    dropout_per_phi: float = typer.Option(0.0, help="Raise dropout by this per unit of phi (capped at 0.5)."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="Write the scaled YAML here (with --family: a folder, one file per member)."
    ),
) -> None:
    """Scale ARCH by phi (alpha^phi depth, beta^phi width, gamma^phi resolution) or by a released preset.

    Costs are MACs of Conv2d and Linear layers at batch 1 (FLOPs = 2 x MACs). Without -o the scaled
    architecture is printed as YAML.
    """
    from nasgen.errors import SpecError
    from nasgen.spec import load_spec

    if sum(option is not None for option in (phi, preset, family)) != 1:
        raise SpecError("give exactly one of --phi, --preset or --family", path="scale", value=None)
    scaling = scaling_plugin()
    base = load_spec(arch)
    coefficients = (alpha, beta, gamma)
    if family is not None:
        _family(scaling, base, family, coefficients, dropout_per_phi, out)
    else:
        _single(scaling, base, phi, preset, coefficients, dropout_per_phi, out)


def _search_coefficients(
    arch: str = typer.Argument(..., help="Baseline: a built-in name or a YAML/JSON file."),
    step: float = typer.Option(0.1, help="Grid step of alpha, beta, gamma (0.05 includes the paper's 1.2/1.1/1.15)."),
    max_value: float = typer.Option(1.5, help="Largest coefficient tried."),
    tolerance: float = typer.Option(0.1, help="Accepted |alpha*beta^2*gamma^2 - 2|."),
    data: Optional[str] = typer.Option(None, help="Proxy data: 'embedded' (default), 'fashion-mnist' or a path."),
    seed: int = typer.Option(0, help="Seed of every proxy run."),
) -> None:
    """Grid-search alpha, beta, gamma at phi = 1 under alpha*beta^2*gamma^2 ~ 2, scoring each candidate
    with the proxy trainer (EfficientNet section 3.3, step 1); prints the table and the best triple."""
    from nasgen.spec import load_spec

    scaling = scaling_plugin()
    base = load_spec(arch)
    grid = scaling.coefficient_grid(step, max_value, tolerance=tolerance)
    console.print(f"{len(grid)} candidates; each is scaled at phi=1 and trained with the proxy", highlight=False)

    def progress(candidate: Any) -> None:
        console.print(f"  alpha={candidate.alpha:g} beta={candidate.beta:g} gamma={candidate.gamma:g}: "
                      f"val_top1 {candidate.score:.4f}", highlight=False)

    result = scaling.search_coefficients(
        base, scaling.proxy_scorer(data, seed=seed), step=step, max_value=max_value, tolerance=tolerance,
        on_candidate=progress,
    )
    cells = [
        (f"{c.alpha:g}", f"{c.beta:g}", f"{c.gamma:g}", f"{c.cost_product:.3f}", f"{c.macs:,}",
         f"{c.measured_cost_ratio:.3f}", f"{c.score:.4f}")
        for c in result.candidates
    ]
    columns = ("alpha", "beta", "gamma", "a*b^2*g^2", "MACs", "meas. ratio", "val_top1")
    _print_table("candidates, best first", columns, cells)
    best = result.best
    console.print(f"best: alpha={best.alpha:g} beta={best.beta:g} gamma={best.gamma:g} "
                  f"(val_top1 {best.score:.4f})", highlight=False)


def register(app: typer.Typer) -> None:
    scale_app = typer.Typer(
        cls=_DefaultToApply,
        no_args_is_help=True,
        help=(
            "Compound scaling (EfficientNet section 3.3): nasgen scale ARCH --phi 3 | --preset b4 | --family 0-7 "
            "[-o OUT]; nasgen scale search-coefficients ARCH."
        ),
    )
    scale_app.command("apply")(user_errors(_apply))
    scale_app.command("search-coefficients")(user_errors(_search_coefficients))
    app.add_typer(scale_app, name="scale")
