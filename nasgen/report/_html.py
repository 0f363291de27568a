"""``report.html``: one self-contained page (inline CSS, figures as base64 PNG, no script, no network fetch)."""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from typing import Any

from nasgen.report._data import FIGURES as captions
from nasgen.report._data import ReportData, proxy_recipe
from nasgen.runs import near_chance
from nasgen.units import format_count

__all__ = ["render"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:0;background:#f6f7f9}
main{max-width:1060px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}.verdict{background:#eef5ff;border-left:4px solid #1f77b4;padding:10px 14px}
.warn{background:#fff1e6;border-left-color:#d62728}
.note{color:#555;font-size:13px}img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e4e4e4;
text-align:right;vertical-align:top}th{background:#f0f2f5;position:sticky;top:0}td.l,th.l{text-align:left}
td{white-space:nowrap}td.mono,td.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
text-align:left}td.mono{white-space:normal;color:#333;padding-top:0}tr.sub td{border-bottom:1px solid #ccc}
tr.main td{border-bottom:none}.tag{display:inline-block;margin-left:4px;padding:0 5px;border-radius:3px;
background:#e3f3e3;color:#1a661a;font-size:11px}
tr.rec{background:#fff6d6}dl{display:grid;grid-template-columns:max-content auto;gap:4px 18px;margin:0}
dt{color:#555}dd{margin:0}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:20px}
"""


def render(
    data: ReportData,
    figures: dict[str, tuple[str, bytes]],
    seconds: float | None = None,
    left_out: dict[str, str] | None = None,
) -> str:
    """The page: headline, figures (``{name: (caption, png bytes)}``), why the others are not drawn
    (``left_out``: ``{name: reason}``), leaderboard, confirmation and facts."""
    left_out = dict(left_out or {})
    if "importances" not in figures:
        left_out.setdefault("importances", data.importances.note)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>nasgen report: {_e(data.run.name)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>nasgen search report: {_e(data.run.name)}</h1>",
        f'<p class="sub">{_e(_subtitle(data))}</p>',
        _headline(data),
        _continue(data),
        _cards(data),
    ]
    for name, (caption, png) in figures.items():
        parts.append(f'<h2 id="fig-{_e(name)}">{_e(caption)}</h2>')
        parts.append(f'<img alt="{_e(caption)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
        note = _FIGURE_NOTES.get(name, "")
        if name == "history":
            note += " " + _baseline_note(data)
        parts.append(f'<p class="note">{_e(note.strip())} (also written as {_e(name)}.png)</p>')
    for name, why in left_out.items():
        parts.append(f"<h2>{_e(dict(captions).get(name, name))}</h2>")
        parts.append(f'<p class="note">Not drawn: {_e(why)}.</p>')
    parts += [_leaderboard(data), _confirm_table(data), _family(data), _facts(data, seconds), "</main></body></html>"]
    return "\n".join(p for p in parts if p)


def _baseline_note(data: ReportData) -> str:
    """What the history says about the stored random baseline (``--baseline random``), or why it is not drawn."""
    if data.baseline is None:
        return data.baseline_note + ("." if data.baseline_note else "")
    xs, mean, _low, _high = data.baseline.band()
    return (f"The green band is the best so far of {len(data.baseline.runs)} random searches of the same space, "
            f"budget and evaluator (min–max over seeds; dashed: their mean, {_pct(data, mean[-1])} after "
            f"{xs[-1]} trials; {data.baseline.path.name}).")


_FIGURE_NOTES = {
    "accuracy_vs_macs": "Each dot is a trained architecture; red ticks along the bottom are samples over a limit "
    "(costed, never trained) at their MACs; the dashed line is the budget; the black ring marks the recommendation "
    "after a confirmation, else the best proxy score (the legend says which).",
    "history": "Score per trial in sampling order; the orange step is the best complete score so far; trials without "
    "a score (infeasible, pruned, failed, interrupted, running) are marked along the bottom.",
    "importances": "How much each dimension decides whether an architecture reaches the top 10 % by validation top-1 "
    "(Optuna's PED-ANOVA evaluator over the scored trials); with few trials this is a rough guide.",
    "stage_choices": "Per stage, the share of each choice among all sampled trials (grey) and among the top 10 % by "
    "score (blue); a choice the top favours much more than the sampler did is one that mattered.",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(data: ReportData, value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.{digits}f} %" if data.percent else f"{value:g}"


def _subtitle(data: ReportData) -> str:
    live = data.counts.get("running", 0) + data.counts.get("waiting", 0)
    if live:
        state = f"snapshot of a running study ({live} trial(s) running or waiting)"
    else:
        stop = data.meta.get("last_stop")
        state = f"stopped: {stop['reason']}" if isinstance(stop, dict) and stop.get("reason") else "study not running"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{data.run.location} · {state} · generated {when}"


def _continue(data: ReportData) -> str:
    """How to go on with a study that stopped before its trial count (the search's own words, recorded)."""
    stop = data.meta.get("last_stop")
    if not isinstance(stop, dict) or not stop.get("resume"):
        return ""
    return f'<p class="verdict">{_e(stop["resume"])}</p>'



def _headline(data: ReportData) -> str:
    rec = next((c for c in data.confirm if c.recommended), None)
    if rec is not None:
        text = (f"Recommended: {rec.label}, {_pct(data, rec.mean)} ± {_pct(data, rec.sd)} over {rec.seeds} seeds at "
                f"{format_count(rec.macs)} MACs, {format_count(rec.params)} params (the cheapest architecture not "
                "significantly below the best confirmed mean).")
    elif data.rows:
        top = data.rows[0]
        text = (f"Best proxy score: trial {top.trial}, {_pct(data, top.val_top1)} at {format_count(top.macs)} MACs, "
                f"{format_count(top.params)} params. A single proxy score is noisy: `nasgen confirm` retrains the "
                "top with seeds before calling a winner.")
    else:
        text = "No trial has a score yet."
    chance = _near_chance(data)
    return f'<p class="verdict">{_e(text)}</p>' + (f'<p class="verdict warn">{_e(chance)}</p>' if chance else "")


def _near_chance(data: ReportData) -> str | None:
    """A warning when the best proxy score is within 5 points of chance (1 / classes): the ranking is noise."""
    if not data.rows or not data.percent or data.rows[0].proxy_px is None:
        return None
    record = next((r for r in data.records if r.spec_yaml), None)
    classes = None if record is None else record.spec().num_classes
    if not near_chance(data.rows[0].val_top1, classes):
        return None
    return (f"The best proxy score, {_pct(data, data.rows[0].val_top1)}, is within 5 points of chance "
            f"({_pct(data, 1 / classes)} for {classes} classes): this ranking is likely noise. More proxy epochs "
            "or images per epoch (nasgen search --epochs, --images-per-epoch) give the scores room to differ.")


def _cards(data: ReportData) -> str:
    cards = [("trials", len(data.records))]
    cards += [(state, n) for state, n in data.counts.items()]
    if data.budget_macs:
        cards.append(("budget MACs", format_count(data.budget_macs)))
    wall = data.wall_seconds()
    if wall is not None:
        cards.append(("wall time", _duration(wall)))
    body = "".join(f'<div class="card"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in cards)
    return f'<div class="cards">{body}</div>'


def _leaderboard(data: ReportData) -> str:
    if not data.rows:
        return "<h2>Leaderboard</h2><p>No scored, feasible trial yet.</p>"
    confirmed = {c.hash: c for c in data.confirm}
    head = ["rank", "trial", "val top-1" if data.percent else "score", "confirmed mean ± sd", "MACs", "params",
            "res px", "proxy px", "epochs", "train s", "scored by", "status", "hash", "stages"]
    rows = []
    recommended = data.recommended_hash
    baselines = {rec.hash: rec.enqueued for rec in data.records if rec.enqueued and rec.hash}
    for r in data.rows:
        c = confirmed.get(r.hash)
        shown = "—" if c is None else f"{_pct(data, c.mean)} ± {_pct(data, c.sd)}"
        attrs = (f'data-rank="{r.rank}" data-trial="{r.trial}" data-macs="{r.macs}" data-params="{r.params}" '
                 f'data-val-top1="{r.val_top1!r}" data-hash="{_e(r.hash)}"')
        cls = ' class="main rec"' if r.hash == recommended else ' class="main"'
        cells = [str(r.rank), str(r.trial), _pct(data, r.val_top1), shown, format_count(r.macs),
                 format_count(r.params), _opt(r.resolution_px), _opt(r.proxy_px), _opt(r.epochs),
                 f"{r.train_seconds:.1f}", r.evaluator or "—", r.status]
        tds = [f"<td>{_e(x)}</td>" for x in cells]
        if r.hash in baselines:  # an enqueued reference architecture (--enqueue efficientnet-b0)
            tds[1] = f'<td>{r.trial}<span class="tag">{_e(baselines[r.hash])}</span></td>'
        tds = "".join(tds)
        sub = "sub rec" if r.hash == recommended else "sub"
        rows.append(f'<tr{cls} {attrs}>{tds}<td class="hash">{_e(r.hash[:12])}</td></tr>'  # stages: a row of their own
                    f'<tr class="{sub}"><td></td><td class="mono" colspan="{len(head) - 1}">{_e(r.display)}</td></tr>')
    ths = "".join(f'<th{" class=l" if h == "hash" else ""}>{_e(h)}</th>' for h in head[:-1])
    note = (f"The {len(data.rows)} best distinct scored architectures, the rows of leaderboard.csv; MACs are conv + "
            "linear multiply-accumulates at the architecture's own resolution, batch 1 (FLOPs = 2 × MACs).")
    return (f'<h2 id="leaderboard">Leaderboard</h2><p class="note">{_e(note)}</p>'
            f'<table id="leaderboard-table"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _confirm_table(data: ReportData) -> str:
    if not data.confirm:
        return ""
    head = ["architecture", "trial", "MACs", "params", "seeds", "mean", "sd", "p vs best", "verdict"]
    rows = []
    for c in data.confirm:
        verdict = "recommended" if c.recommended else ("" if c.tied is None else ("tie" if c.tied else "worse"))
        cells = [c.trial, format_count(c.macs), format_count(c.params), c.seeds, _pct(data, c.mean),
                 _pct(data, c.sd), "—" if c.p_vs_best is None else f"{c.p_vs_best:.3f}", verdict]
        attrs = f'data-hash="{_e(c.hash)}" data-mean="{c.mean!r}" data-sd="{c.sd!r}"'
        rows.append(f'<tr{" class=rec" if c.recommended else ""} {attrs}><td class="l">{_e(c.label)}</td>'
                    + "".join(f"<td>{_e(x)}</td>" for x in cells) + "</tr>")
    ths = "".join(f'<th{" class=l" if h == "architecture" else ""}>{_e(h)}</th>' for h in head)
    return (f'<h2 id="confirmation">Confirmation</h2><p class="note">From {_e(data.confirm_source)}: validation '
            "top-1 over seeds under the longer recipe; a tie is not significantly below the best mean (one-sided "
            f'Welch t-test at 5 %).</p><table id="confirm-table"><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _family(data: ReportData) -> str:
    if not data.family:
        return ""
    head = ["member", "φ", "resolution px", "params", "MACs", "MACs / baseline", "predicted (α·β²·γ²)^φ"]
    rows = []
    for m in data.family:
        cells = [f"{m.phi:g}", m.resolution_px, format_count(m.params), format_count(m.macs),
                 _ratio(m.measured_cost_ratio), _ratio(m.predicted_cost_ratio)]
        rows.append(f'<tr data-phi="{m.phi!r}" data-macs="{m.macs}"><td class="l">{_e(m.name)}</td>'
                    + "".join(f"<td>{_e(x)}</td>" for x in cells) + "</tr>")
    ths = "".join(f'<th{" class=l" if h == "member" else ""}>{_e(h)}</th>' for h in head)
    note = ("The recommended architecture (best.yaml) compound-scaled into scaled/ (EfficientNet §3.3, the "
            "compound-scaling plugin's coefficients): the measured MACs ratio to it against the first-order "
            "prediction; channel rounding and whole layers move the measurement off it.")
    return (f'<h2 id="family">Scaled family</h2><p class="note">{_e(note)}</p><table id="family-table">'
            f"<thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _facts(data: ReportData, seconds: float | None) -> str:
    meta = data.meta
    recipe = proxy_recipe(meta)
    seeds = sorted({r.seed for r in data.records if r.seed is not None})
    facts = [
        ("study", data.run.name),
        ("storage", data.run.location),
        ("search space", meta.get("space", "—")),
        ("budget", f"{format_count(data.budget_macs)} MACs" if data.budget_macs else "—"),
        ("other limits", _limits(meta)),
        ("sampler", f"{meta.get('sampler', '—')} ({data.run.n_objectives} objective(s))"),
        ("data", meta.get("data") or "none (a stand-in score)"),
        ("scored by", _scored_by(data)),
        ("proxy recipe", _recipe(recipe) if recipe else "none: scored by a stand-in objective"),
        ("training seeds", ", ".join(map(str, seeds)) or "—"),
        ("proxy noise", _noise(data)),
        ("wall time", "—" if data.wall_seconds() is None else _duration(data.wall_seconds())),
        ("trials by state", ", ".join(f"{n} {s}" for s, n in data.counts.items())),
        ("report rendered in", "—" if seconds is None else f"{seconds:.1f} s"),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    return f'<h2 id="facts">The run</h2><dl id="facts-list">{body}</dl>'


def _scored_by(data: ReportData) -> str:
    """Which evaluators scored the trials, with their counts (``supernet (980 trials)``); the confirmation, when there
    is one, always trained from scratch."""
    counts: dict[str, int] = {}
    for record in data.records:
        if record.scored_by is not None and record.val_top1 is not None:
            counts[record.scored_by] = counts.get(record.scored_by, 0) + 1
    text = ", ".join(f"{name} ({n} trial(s))" for name, n in counts.items()) or "—"
    return text + ("; confirmed by training from scratch" if data.confirm else "")


def _limits(meta: dict[str, Any]) -> str:
    parts = []
    if meta.get("max_params"):
        parts.append(f"params ≤ {format_count(int(meta['max_params']))}")
    if meta.get("max_memory"):
        parts.append(f"activation memory ≤ {format_count(int(meta['max_memory']))} B")
    return ", ".join(parts) or "none"


def _recipe(recipe: dict[str, Any]) -> str:
    keys = ("epochs", "images_per_epoch", "batch_size", "lr", "optimizer", "resolution_px", "progressive")
    shown = [f"{k.replace('_', ' ')} {recipe[k]}" for k in keys if recipe.get(k) is not None]
    rest = len([k for k in recipe if k not in keys])
    return ", ".join(shown) + (f" (+{rest} more settings in the study's 'proxy' attribute)" if rest else "")


def _noise(data: ReportData) -> str:
    sd = data.meta.get("proxy_noise_sd")
    if sd is None:
        return "not measured (nasgen search --measure-noise N)"
    return f"seed sd {100 * float(sd):.2f} points (trial {data.meta.get('proxy_noise_trial')})"


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(round(seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else (f"{m} min {s:02d} s" if m else f"{seconds:.1f} s")


def _opt(value: Any) -> str:
    return "—" if value is None else str(value)
