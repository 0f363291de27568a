"""Confirmation: the top-K architectures of a search and its baselines, retrained with seeds, and a verdict.

MnasNet (Tan et al. 2019, §4) scored ~8,000 candidates with a 5-epoch proxy, then retrained its top 15 fully;
Yang et al. (ICLR 2020) show that in narrow spaces the seed decides proxy rankings. So a search's proxy best is a
candidate, not an answer: ``confirm`` trains the top-K feasible architectures by proxy score, plus every enqueued
baseline (``--enqueue efficientnet-b0``), with N seeds under a longer recipe (default 2× the proxy's epochs),
and recommends the cheapest architecture whose mean is not significantly below the best mean
(``_verdict.py``: one-sided Welch t-test at 5 %).

Each (architecture, recipe epochs, seed) result is stored in the study as soon as it exists
(``nasgen.runs.store_result``), so a confirmation killed half-way resumes where it stopped and workers sharing the
study share it. The data is the search's own: its memory-mapped proxy cache when it has one, else the recorded
source read with the recorded data settings (``--skip-bad-images`` …); the training is the search's evaluator
factory's ``proxy``, always from scratch, so a verdict never rests on shared weights.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasgen.errors import SearchError
from nasgen.runs import ARMS, CONFIRM_FIELDS, Run, RunDir, TrialRecord, open_run, store_result, stored_result
from nasgen.search._data import DataOptions, SearchData, open_prepared, prepare_data
from nasgen.search._run import OnComplete, complete
from nasgen.search.confirm._verdict import ALPHA, Summary, recommend, summarize, summarize_accuracy, welch_one_sided
from nasgen.spec import ArchSpec
from nasgen.units import format_count

__all__ = ["CONFIRM_FIELDS", "Candidate", "Confirmation", "check_counts", "confirm"]


@dataclass
class Candidate:
    """One architecture under confirmation and its evidence.

    Attributes:
        record: Its search trial.
        label: ``trial N`` or the baseline's name (``efficientnet-b0``).
        baseline: Enqueued as a baseline.
        scores: Validation top-1 per seed (fractions), in seed order.
        seconds: Training wall time per seed (s).
        summary: Mean, sd and 95 % interval of ``scores``.
        p_vs_best: One-sided Welch p-value of "the best is better" (1 for the best itself).
        tied: Not significantly below the best (``p_vs_best`` ≥ 5 %).
        recommended: The recommendation.
    """

    record: TrialRecord
    label: str
    baseline: bool = False
    scores: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    summary: Summary | None = None
    p_vs_best: float | None = None
    tied: bool = False
    recommended: bool = False

    @property
    def macs(self) -> int:
        """Conv + linear MACs at the architecture's resolution (docs/design.md)."""
        return int(self.record.macs or 0)

    def shown(self) -> str:
        """``86.10 ± 0.40 %`` (mean ± sd over seeds)."""
        assert self.summary is not None
        return f"{100 * self.summary.mean:.2f} ± {100 * self.summary.sd:.2f} %"


@dataclass
class Confirmation:
    """The verdict of a confirmation.

    Attributes:
        candidates: Every confirmed architecture, best mean first.
        recommended: The cheapest architecture not significantly worse than the best.
        best: The highest mean.
        epochs: Epochs of the confirmation recipe.
        seeds: Seeds per architecture.
        noise_sd: Pooled seed standard deviation of the confirmation (fraction), the noise a difference must beat.
        text: The verdict in words.
        csv_path: ``confirm.csv``, when written.
    """

    candidates: list[Candidate]
    recommended: Candidate
    best: Candidate
    epochs: int
    seeds: int
    noise_sd: float
    text: str
    csv_path: Path | None = None


Scorer = Callable[[ArchSpec, int], float]


def confirm(
    run: Run | str | Path,
    *,
    top: int = 3,
    seeds: int = 3,
    epochs: int | None = None,
    data: Any = None,
    objective: Scorer | None = None,
    out: str | Path | None = None,
    console: Any = None,
    proxy_images: int | None = None,
    loader_workers: int | None = None,
    skip_bad_images: bool | None = None,
    init: str = "scratch",
    on_complete: Iterable[OnComplete] = (),
) -> Confirmation:
    """Confirm the top of a search with seeds and recommend an architecture.

    Args:
        run: A :class:`Run`, a run directory or a storage URL (see :func:`open_run`).
        top: Top-K feasible architectures by proxy score (complete results before partial ones) to confirm.
        seeds: Seeds per architecture (≥ 2: one seed has no spread to test with).
        epochs: Epochs of the confirmation recipe (default: 2× the proxy's).
        data: Dataset source, a loaded dataset, or the search's prepared data (default: the data the search
            used: its memory-mapped proxy cache, else the recorded source).
        objective: A stand-in ``f(spec, seed) -> score`` instead of training (tests, studies with a stand-in).
        out: Where ``confirm.csv`` and ``best.yaml`` go (default: the run directory).
        console: Where to print progress (rich Console); None prints nothing.
        proxy_images: A streamed folder: the proxy subset size (default: the search's).
        loader_workers: A streamed folder: decode processes (default: cores − 1, 1…8).
        skip_bad_images: A streamed folder: leave undecodable files out (default: as the search did).
        init: ``"scratch"`` (default: every run from a fresh initialization, the verdict's arm) or
            ``"inherited"`` (a second arm, for a study scored with ``--evaluator supernet``: every run starts from
            the weights the study's supernet holds for that architecture, as Once-for-All fine-tunes its subnets;
            ``confirm-inherited.csv``, and ``best.yaml`` is left as the scratch arm wrote it).
        on_complete: ``f(run)`` called once the outputs are written (after the report plugin).

    Returns:
        The :class:`Confirmation`.

    Raises:
        SearchError: ``top`` < 1, ``seeds`` < 2, ``epochs`` < 1, no feasible evaluated trial, a study scored by a
            stand-in with no ``objective``, no place to write the outputs, an unknown ``init``, or ``inherited``
            without a trained supernet in the run directory.
    """
    check_counts(top, seeds, epochs)
    if init not in ARMS:
        raise SearchError(f"--init: expected one of {', '.join(ARMS)}, got {init!r}")
    run = run if isinstance(run, Run) else open_run(run)
    folder = Path(out) if out is not None else run.out
    if folder is None:
        raise SearchError("confirm: a run opened from a storage URL needs --out for confirm.csv and best.yaml")
    candidates = _candidates(run, top)
    options = {"proxy_images": proxy_images, "loader_workers": loader_workers, "skip_bad_images": skip_bad_images}
    train, epochs = _scorer(run, objective, epochs, data, options, init)
    for candidate in candidates:
        _confirm_one(run, candidate, seeds, epochs, train, console, init)
    verdict = _verdict(candidates, seeds, epochs)
    if init == "inherited":  # a second arm: its own file; the verdict of record stays the scratch arm's
        verdict.csv_path = _write_csv(RunDir(folder).confirm_inherited_csv, verdict)
        return verdict
    run.study.set_user_attr("confirm_noise_sd", verdict.noise_sd)
    run.study.set_user_attr("recommendation", verdict.recommended.record.hash)
    verdict.csv_path = _write(folder, run, verdict)
    complete(run, folder, console, on_complete)
    return verdict


def check_counts(top: Any, seeds: Any, epochs: Any) -> None:
    """Check ``--top``, ``--seeds`` and ``--epochs`` of a confirmation before anything is trained.

    Raises:
        SearchError: Not a positive integer, or a single seed (no spread to test with).
    """
    for name, value, low in (("top", top, 1), ("seeds", seeds, 1), ("epochs", epochs, 1)):
        if value is None and name == "epochs":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SearchError(f"--{name}: must be a positive integer, got {value!r}")
    if seeds < 2:
        raise SearchError(
            "--seeds 1: one seed has no spread, so ties cannot be told from wins; use --seeds 2 or more (default 3)"
        )


def _candidates(run: Run, top: int) -> list[Candidate]:
    rows = [r for r in run.leaderboard() if r.feasible]
    if not rows:
        counts = ", ".join(f"{n} {state}" for state, n in run.state_counts().items()) or "no trials"
        raise SearchError(f"run {run.location!r} has no feasible, evaluated trial to confirm ({counts})")
    chosen = {r.hash: Candidate(r, label=r.enqueued or f"trial {r.number}", baseline=bool(r.enqueued)) for r in rows[:top]}
    for record in run.records():
        if record.enqueued and record.spec_yaml is not None and record.hash not in chosen:
            chosen[record.hash] = Candidate(record, label=record.enqueued, baseline=True)
    for record in run.records():  # a top-K architecture that is also a baseline carries the baseline's name
        if record.enqueued and record.hash in chosen:
            chosen[record.hash].label, chosen[record.hash].baseline = record.enqueued, True
    return list(chosen.values())


def _scorer(
    run: Run, objective: Scorer | None, epochs: int | None, data: Any, options: dict[str, Any], init: str = "scratch"
) -> tuple[Scorer, int]:
    if objective is not None:
        return objective, epochs or 1
    proxy = run.meta.get("proxy")
    if not proxy:
        raise SearchError(
            f"study {run.name!r} was scored by a stand-in objective, not proxy training: pass objective= "
            "(Python) to confirm it"
        )
    from nasgen.search.evaluators import EvaluatorContext, make_evaluator
    from nasgen.train import TrainConfig

    config = TrainConfig.model_validate(json.loads(proxy))
    epochs = epochs or 2 * config.epochs
    recipe = config.replace(epochs=epochs, warmup_epochs=min(config.warmup_epochs, float(epochs)))
    dataset = _confirm_data(run, data, config, options)
    if init == "inherited":
        return _inherited_scorer(run, dataset, recipe), epochs

    def train(spec: ArchSpec, seed: int) -> float:
        evaluator = make_evaluator("proxy", EvaluatorContext(data=dataset, proxy=recipe, seed=seed))
        return float(evaluator(spec, lambda epoch, value: None).val_top1)

    return train, epochs


def _confirm_data(run: Run, data: Any, config: Any, overrides: dict[str, Any]) -> Any:
    """The data the search's proxies trained on: the search's prepared data or a loaded in-memory dataset as given;
    else the run's memory-mapped proxy cache (when the subset asked for is the search's); else the recorded source
    (or ``data``) read with the search's recorded data settings, each overridden where given."""
    from nasgen.data import ImageDataset, ImageFiles, load_dataset

    if isinstance(data, SearchData):
        return data.train
    if isinstance(data, ImageDataset):
        return data
    recorded = dict(run.meta.get("data_options") or {})
    searched_images = run.meta.get("proxy_images", recorded.get("proxy_images"))
    images = overrides["proxy_images"] if overrides["proxy_images"] is not None else searched_images
    cache = run.meta.get("proxy_cache")
    if data is None and cache and run.out is not None and (run.out / cache).is_file() and images == searched_images:
        return open_prepared(RunDir(run.out).root / cache, run.meta.get("data"), None).train
    dataset = load_dataset(data if data is not None else _data_source(run.meta.get("data")), seed=0)
    if not isinstance(dataset, ImageFiles):
        return dataset
    skip = overrides["skip_bad_images"]
    options = DataOptions(proxy_images=images, loader_workers=overrides["loader_workers"],
                          skip_bad_images=bool(recorded.get("skip_bad_images", False) if skip is None else skip),
                          max_image_pixels=recorded.get("max_image_pixels"))
    px = run.meta.get("proxy_cache_px")
    space = None
    if px is None:  # a study from before the cache's side was recorded: the search space says it
        from nasgen.search._prepare import load_search_space

        space, _ = load_search_space(run.meta.get("space"))
    out = run.out if run.out is not None else Path(".")
    return prepare_data(dataset, space=space, proxy=config, out_dir=out, seed=0, options=options, cache_px=px).train


def _data_source(recorded: Any) -> Any:
    return None if recorded in (None, "embedded") else recorded


def _inherited_scorer(run: Run, dataset: Any, recipe: Any) -> Scorer:
    """Train each architecture from the weights the study's supernet holds for it (extracted once per spec)."""
    from nasgen.supernet import load_supernet

    if run.dir is None or not (run.dir.supernet / "meta.json").is_file():
        raise SearchError(
            f"confirm --init inherited: run {run.location!r} holds no trained supernet (search it with --evaluator "
            "supernet first)"
        )
    supernet = load_supernet(run.dir.root).supernet
    extracted: dict[str, dict] = {}

    def train(spec: ArchSpec, seed: int) -> float:
        import nasgen.train

        key = spec.content_hash()
        if key not in extracted:
            extracted[key] = {k: v.clone() for k, v in supernet.extract(spec).state_dict().items()}
        result = nasgen.train.evaluate_proxy(spec, dataset, recipe, seed=seed, initial_state=extracted[key])
        return float(result.val_top1)

    return train


def _confirm_one(
    run: Run, candidate: Candidate, seeds: int, epochs: int, train: Scorer, console: Any, arm: str = "scratch"
) -> None:
    spec = run.spec_of(candidate.record)
    for seed in range(seeds):
        stored = stored_result(run, candidate.record.hash, epochs, seed, arm)
        if stored is None:
            if console is not None:
                what = "" if arm == "scratch" else " from the supernet's weights"
                console.print(f"confirm {candidate.label}{what} ({format_count(candidate.macs)} MACs): seed "
                              f"{seed + 1}/{seeds}", highlight=False, soft_wrap=True)  # fmt: skip
            start = time.perf_counter()
            score = float(train(spec, seed))
            stored = {"val_top1": score, "seconds": time.perf_counter() - start}
            store_result(run, candidate.record.hash, epochs, seed, **stored, arm=arm)  # a killed run resumes here
        candidate.scores.append(float(stored["val_top1"]))
        candidate.seconds.append(float(stored["seconds"]))
    accuracies = all(0.0 <= s <= 1.0 for s in candidate.scores)  # a stand-in's scores may be anything
    candidate.summary = (summarize_accuracy if accuracies else summarize)(candidate.scores)


def _verdict(candidates: list[Candidate], seeds: int, epochs: int) -> Confirmation:
    feasible = {c.record.hash: c for c in candidates if c.record.feasible}
    chosen, best, p_values = recommend(
        {key: c.scores for key, c in feasible.items()}, {key: float(c.macs) for key, c in feasible.items()}
    )
    for candidate in candidates:
        key = candidate.record.hash
        candidate.p_vs_best = 1.0 if key == best else welch_one_sided(feasible[best].scores, candidate.scores)
        candidate.tied = candidate.p_vs_best >= ALPHA
        candidate.recommended = key == chosen
    ranked = sorted(candidates, key=lambda c: (-c.summary.mean, c.macs))
    pooled = math.sqrt(sum(c.summary.sd**2 for c in candidates) / len(candidates))
    verdict = Confirmation(ranked, feasible[chosen], feasible[best], epochs, seeds, pooled, "")
    verdict.text = _words(verdict)
    return verdict


def _words(verdict: Confirmation) -> str:
    rec, best = verdict.recommended, verdict.best
    noise = f"seed sd {100 * verdict.noise_sd:.2f} points, {verdict.seeds} seeds × {verdict.epochs} epochs"
    if len(verdict.candidates) == 1:
        return (
            f"only one architecture was confirmed, {rec.label}: {rec.shown()} at {format_count(rec.macs)} MACs — "
            f"there is nothing to compare it with, so it is recommended without a test (confirm more with --top, "
            f"or --enqueue a baseline) ({noise})"
        )
    parts = [f"recommended {rec.label}: {rec.shown()} at {format_count(rec.macs)} MACs"]
    if rec is not best:
        parts.append(
            f"not significantly below the best mean, {best.label} {best.shown()} at {format_count(best.macs)} MACs "
            f"(p = {rec.p_vs_best:.2f})"
        )
    ties = [c for c in verdict.candidates if c.tied and c is not rec and c is not best]
    if ties:
        parts.append("tied with " + ", ".join(f"{c.label} (p = {c.p_vs_best:.2f})" for c in ties))
    for base in (c for c in verdict.candidates if c.baseline and c is not rec):
        share = f"{100 * rec.macs / base.macs:.0f} % of {base.label}'s MACs" if base.macs else base.label
        p_base = welch_one_sided(base.scores, rec.scores)  # H1: the baseline is better
        if p_base >= ALPHA:
            parts.append(f"{share} at {base.label}'s accuracy ({base.label} {base.shown()}; p = {p_base:.2f})")
        else:
            gap = 100 * (base.summary.mean - rec.summary.mean)
            parts.append(f"{share}, {gap:.2f} points below {base.label} ({base.shown()}; p = {p_base:.3f})")
    worse = [c for c in verdict.candidates if not c.tied]
    if worse:
        parts.append("significantly below the best: " + ", ".join(c.label for c in worse))
    return "; ".join(parts) + f" ({noise}; one-sided Welch t-test at 5 %)"


def _write(folder: Path, run: Run, verdict: Confirmation) -> Path:
    files = RunDir(folder)
    path = _write_csv(files.confirm_csv, verdict)
    rec = verdict.recommended
    header = (
        f"# nasgen confirm, study {run.name}: recommended {rec.label} (trial {rec.record.number}), val top-1 "
        f"{rec.shown()} over {verdict.seeds} seeds × {verdict.epochs} epochs, 95 % interval (logit scale) "
        f"[{100 * rec.summary.ci_low:.2f}, {100 * rec.summary.ci_high:.2f}] %; {format_count(rec.macs)} MACs, "
        f"{format_count(rec.record.params or 0)} params\n# {verdict.text}\n"
    )
    files.best_yaml.write_text(header + (rec.record.spec_yaml or ""), encoding="utf-8")
    return path


def _write_csv(path: Path, verdict: Confirmation) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CONFIRM_FIELDS)
        writer.writeheader()
        for rank, c in enumerate(verdict.candidates, start=1):
            s = c.summary
            writer.writerow({
                "rank": rank, "trial": c.record.number, "label": c.label, "baseline": c.baseline,
                "feasible": c.record.feasible, "macs": c.macs, "params": c.record.params,
                "proxy_val_top1": c.record.val_top1, "seeds": s.n, "mean": s.mean, "sd": s.sd, "ci95_low": s.ci_low,
                "ci95_high": s.ci_high, "p_vs_best": c.p_vs_best, "tied_with_best": c.tied,
                "recommended": c.recommended, "wall_seconds": round(sum(c.seconds), 3), "hash": c.record.hash,
                "display": c.record.display,
            })
    return path
