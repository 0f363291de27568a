"""The report's figures, drawn with matplotlib's Agg backend.

Why Agg: it renders to PNG in memory with no display, no browser and no network, so the same code runs on a
headless server, in CI and at the end of a search (``search()`` and ``confirm()`` write the report), and the PNGs
embed in ``report.html`` as base64 and sit beside it as files. Plotly was the alternative: its static images need
Kaleido (and a Chrome install since Kaleido 1.0), and its interactive HTML either fetches plotly.js from a CDN or
inlines ~3.5 MB of script; matplotlib is one wheel with no runtime service. Every figure is built on its own
``Figure`` object, never ``pyplot``: no global figure state, nothing left open, safe in a long-running search.

Each function returns a :class:`matplotlib.figure.Figure` or None when there is nothing to draw.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from nasgen.report._data import ReportData

__all__ = ["accuracy_vs_macs", "history", "importances", "stage_choices"]

WIDTH_IN, DPI = 9.0, 110
_COLORS = {"complete": "#1f77b4", "partial": "#9467bd", "front": "#ff7f0e", "infeasible": "#d62728",
           "baseline": "#2ca02c", "recommended": "#000000", "pruned": "#8c564b", "failed": "#d62728",
           "interrupted": "#7f7f7f", "running": "#17becf", "confirm": "#000000"}
_STAGE_FIELDS = (("present", "kept"), ("kind", "block"), ("num_layers", "layers"), ("kernel_size", "kernel"),
                 ("expand_ratio", "expand"))


def _score_axis(ax, data: ReportData) -> None:
    ax.set_ylabel("validation top-1 (%)" if data.percent else "stand-in score")


def _y(data: ReportData, value: float | None) -> float:
    """A score as drawn: accuracies in percent (so the ticks read 35, not 0.35), a stand-in score as it is."""
    return math.nan if value is None else (100.0 * value if data.percent else value)


def _macs_axis(ax) -> None:
    ax.set_xlabel("MACs (millions; conv + linear, batch 1)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}"))


def accuracy_vs_macs(data: ReportData) -> Figure:
    """Every feasible scored trial, the Pareto front, infeasible samples (a rug at their MACs), the budget,
    enqueued baselines, the recommendation and the confirmation's mean ± sd."""
    fig = Figure(figsize=(WIDTH_IN, 5.2), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    scored = data.scored
    for state, marker, fill in (("complete", "o", True), ("partial", "o", False)):
        points = [r for r in scored if r.state == state]
        if points:
            color = _COLORS[state]
            ax.scatter([r.macs for r in points], [_y(data, r.val_top1) for r in points], s=22, marker=marker,
                       alpha=0.75, facecolors=color if fill else "none", edgecolors=color, zorder=3,
                       label=f"trained architecture ({len(points)})" if state == "complete" else
                       f"partial: stopped by\nthe time limit ({len(points)})")
    front = data.pareto()
    if len(front) > 1:
        ax.step([r.macs for r in front], [_y(data, r.val_top1) for r in front], where="post",
                color=_COLORS["front"], lw=1.6, zorder=2, label=f"Pareto front ({len(front)})")
    elif front:
        ax.scatter([front[0].macs], [_y(data, front[0].val_top1)], s=60, color=_COLORS["front"], zorder=2,
                   label="Pareto front")
    _infeasible_rug(ax, data)
    _budget_line(ax, data)
    _baselines(ax, data)
    _confirmation(ax, data)
    _recommended(ax, data)
    _macs_axis(ax)
    _score_axis(ax, data)
    _macs_limits(ax, data)
    ax.grid(alpha=0.3)
    ax.set_title("Accuracy vs MACs")
    if not scored:
        ax.text(0.5, 0.6, "no scored trial yet", transform=ax.transAxes, ha="center", color="#555")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _macs_limits(ax, data: ReportData) -> None:
    """x from 0 to past the largest MACs of any sample, and the budget when it is near (the rug's points do not
    autoscale); a budget far beyond every sample would squeeze them all into the left edge."""
    largest = max(r.macs or 0 for r in data.records)
    if _budget_shown(data):
        largest = max(largest, data.budget_macs or 0)
    if largest > 0:
        ax.set_xlim(0, 1.04 * largest)


def _budget_shown(data: ReportData) -> bool:
    largest = max(r.macs or 0 for r in data.records)
    return bool(data.budget_macs) and (largest == 0 or data.budget_macs <= 2 * largest)


def _infeasible_rug(ax, data: ReportData) -> None:
    over = [r.macs for r in data.records if r.state == "infeasible" and r.macs]
    if over:
        ax.scatter(over, [0.02] * len(over), transform=ax.get_xaxis_transform(), marker="|", s=160,
                   linewidths=1.5, color=_COLORS["infeasible"], alpha=0.7, zorder=2, clip_on=False,
                   label=f"over a limit, never trained\n({len(over)}; ticks at their MACs)")


def _budget_line(ax, data: ReportData) -> None:
    if not data.budget_macs:
        return
    label = f"budget {data.budget_macs / 1e6:g}M MACs"
    if not _budget_shown(data):  # far right of every sample: named in the legend, not drawn
        label += "\n(beyond the axis: every sample\nis under half of it)"
    ax.axvline(data.budget_macs, color="#d62728", ls="--", lw=1.2, zorder=1, label=label)


def _baselines(ax, data: ReportData) -> None:
    seen = set()
    for r in data.records:
        if r.enqueued and r.enqueued not in seen and r.scored and r.macs:
            seen.add(r.enqueued)
            ax.scatter([r.macs], [_y(data, r.val_top1)], marker="D", s=70, color=_COLORS["baseline"],
                       edgecolors="black", zorder=5, label="enqueued baseline" if len(seen) == 1 else None)
            ax.annotate(r.enqueued, (r.macs, _y(data, r.val_top1)), xytext=(6, -12), textcoords="offset points",
                        fontsize=8, color="#1a661a")


def _confirmation(ax, data: ReportData) -> None:
    if data.confirm:
        ax.errorbar([c.macs for c in data.confirm], [_y(data, c.mean) for c in data.confirm],
                    yerr=[_y(data, c.sd) for c in data.confirm],
                    fmt="_", ms=12, color=_COLORS["confirm"], ecolor=_COLORS["confirm"], capsize=4, lw=1.2, zorder=6,
                    label=f"confirmation mean ± sd ({data.confirm[0].seeds} seeds)")


def _recommended(ax, data: ReportData) -> None:
    digest = data.recommended_hash
    chosen = next((c for c in data.confirm if c.hash == digest), None)
    record = next((r for r in data.scored if r.hash == digest), None)
    if chosen is not None:
        x, y = chosen.macs, _y(data, chosen.mean)
    elif record is not None:
        x, y = record.macs, _y(data, record.val_top1)
    else:
        return
    which = "recommended (confirmation)" if chosen is not None else "best proxy score"
    ax.scatter([x], [y], s=260, facecolors="none", edgecolors="black", linewidths=2, zorder=7, label=which)


def history(data: ReportData) -> Figure:
    """Score per trial number with the best so far; pruned, failed, interrupted, infeasible and running trials
    as a rug along the bottom, one row each."""
    fig = Figure(figsize=(WIDTH_IN, 4.6), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    scored = [r for r in data.scored]
    for state, fill in (("complete", True), ("partial", False)):
        points = [r for r in scored if r.state == state]
        if points:
            color = _COLORS[state]
            ax.scatter([r.number for r in points], [_y(data, r.val_top1) for r in points], s=18, alpha=0.7, zorder=3,
                       facecolors=color if fill else "none", edgecolors=color, label=f"{state} ({len(points)})")
    best, xs, ys = -math.inf, [], []
    for r in sorted((r for r in scored if r.state == "complete"), key=lambda r: r.number):
        best = max(best, _y(data, r.val_top1))
        xs.append(r.number)
        ys.append(best)
    if xs:
        last = max(r.number for r in data.records)
        ax.step(xs + [last], ys + [ys[-1]], where="post", color=_COLORS["front"], lw=1.8, zorder=4,
                label="best so far (complete)")
    _random_band(ax, data)
    rows = ("infeasible", "pruned", "failed", "interrupted", "running")
    for level, state in enumerate(rows):
        numbers = [r.number for r in data.records if r.state == state]
        if numbers:
            ax.scatter(numbers, [0.03 + 0.035 * level] * len(numbers), transform=ax.get_xaxis_transform(),
                       marker="|" if state == "infeasible" else "x", s=40, color=_COLORS[state], zorder=2,
                       label=f"{state} ({len(numbers)}; no score)")
    ax.set_xlabel("trial number")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.5, max(1, max(r.number for r in data.records)) + 0.5)
    _score_axis(ax, data)
    ax.grid(alpha=0.3)
    ax.set_title("Optimization history")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _random_band(ax, data: ReportData) -> None:
    """The stored random baseline (``baseline-random.json``): the min–max band over its seeds of the best so far
    at each trial number, and their mean (Yang et al., ICLR 2020, §4.1: a search is judged against random)."""
    if data.baseline is None:
        return
    xs, mean, low, high = data.baseline.band()
    last = max(r.number for r in data.records)
    kept = [i for i, x in enumerate(xs) if x - 1 <= last]
    if not kept:
        return
    numbers = [xs[i] - 1 for i in kept]  # best among trials 0…n at trial number n
    color = _COLORS["baseline"]
    ax.fill_between(numbers, [_y(data, low[i]) for i in kept], [_y(data, high[i]) for i in kept], step="post",
                    color=color, alpha=0.18, lw=0, zorder=1,
                    label=f"random: min–max of {len(data.baseline.runs)} seeds")  # fmt: skip
    ax.step(numbers, [_y(data, mean[i]) for i in kept], where="post", color=color, lw=1.2, ls="--", zorder=2,
            label="random: mean best so far")


def importances(data: ReportData) -> Figure | None:
    """Horizontal bars of Optuna's parameter importances (PED-ANOVA) for validation top-1; None when not estimated."""
    values = data.importances.values
    if not values:
        return None
    shown = list(values.items())[:15]
    fig = Figure(figsize=(WIDTH_IN, 0.9 + 0.32 * len(shown)), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    labels = [k for k, _ in reversed(shown)]
    ax.barh(labels, [100 * v for _, v in reversed(shown)], color=_COLORS["complete"])
    for y, (_, v) in enumerate(reversed(shown)):
        ax.text(100 * v, y, f" {100 * v:.1f}", va="center", fontsize=8)
    ax.set_xlabel("importance for validation top-1 (%; all dimensions sum to 100)")
    ax.set_xlim(0, max(100 * v for _, v in shown) * 1.15)
    more = f"; {len(values) - len(shown)} smaller not shown" if len(values) > len(shown) else ""
    evaluator = data.importances.evaluator.replace("ImportanceEvaluator", "").replace("PedAnova", "PED-ANOVA")
    ax.set_title(f"Parameter importances (Optuna {evaluator}, {data.importances.n_trials} scored trials{more})",
                 fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    return fig


def stage_choices(data: ReportData) -> Figure | None:
    """Per stage, how often each choice (kept/removed, block kind, layers, kernel, expansion) was sampled by all
    trials vs taken by the top 10 % scored ones; one small panel per stage dimension; None when the space has no
    per-stage dimension."""
    grid = _stage_grid(data)
    if not grid:
        return None
    top = _top_numbers(data)
    order = {name: k for k, (name, _) in enumerate(_STAGE_FIELDS)}
    panels = sorted(grid, key=lambda key: (key[0], order[key[1]]))
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(WIDTH_IN, 0.5 + 1.7 * nrows), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(ax for row in axes for ax in row):
        if k >= len(panels):
            ax.set_axis_off()
            continue
        stage, name = panels[k]
        _choice_bars(ax, data, grid[(stage, name)], top)
        ax.set_title(f"stage {stage}: {dict(_STAGE_FIELDS)[name]}", fontsize=9)
        if k % ncols == 0:
            ax.set_ylabel("share of trials (%)", fontsize=8)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside upper center", ncols=2, fontsize=8, frameon=False)
    return fig


def _stage_grid(data: ReportData) -> dict[tuple[int, str], str]:
    grid = {}
    pattern = re.compile(r"^stages\.(\d+)\.(\w+)$")
    wanted = {f for f, _ in _STAGE_FIELDS}
    for params in data.params.values():
        for label in params:
            m = pattern.match(label)
            if m and m[2] in wanted:
                grid[(int(m[1]), m[2])] = label
    return grid


def _top_numbers(data: ReportData) -> set[int]:
    ranked = sorted(data.scored, key=lambda r: (-(r.val_top1 or 0.0), r.number))
    return {r.number for r in ranked[: max(1, math.ceil(0.1 * len(ranked)))]}


def _choice_bars(ax, data: ReportData, label: str, top: set[int]) -> None:
    every = Counter(str(p[label]) for p in data.params.values() if label in p)
    best = Counter(str(p[label]) for n, p in data.params.items() if label in p and n in top)
    keys = sorted(every, key=_sort_key)
    xs = range(len(keys))
    total, n_top = sum(every.values()) or 1, sum(best.values()) or 1
    ax.bar([x - 0.2 for x in xs], [100 * every[k] / total for k in keys], width=0.4, color="#b0b0b0",
           label="all sampled trials")
    ax.bar([x + 0.2 for x in xs], [100 * best[k] / n_top for k in keys], width=0.4, color=_COLORS["complete"],
           label=f"top 10 % by score ({len(top)} trial(s))")
    ax.set_xticks(list(xs), [_short(k) for k in keys], fontsize=8)
    ax.set_xlim(-0.7, max(len(keys), 2) - 0.3)  # the same bar width in every panel, one choice or four
    ax.set_ylim(0, 105)
    ax.tick_params(axis="y", labelsize=7)


def _sort_key(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def _short(value: str) -> str:
    return {"True": "kept", "False": "removed", "mbconv": "MBConv", "fused_mbconv": "Fused"}.get(value, value)

