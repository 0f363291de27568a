"""``nasgen.search``: the best architecture a MACs budget allows, with the evidence (a study on disk).

Flow (docs/design.md): space → Optuna ``suggest_*`` by label → frozen ``ArchSpec`` → analytic cost → over budget:
recorded infeasible, never built → else an evaluator scores it (proxy training on real data, a supernet, a zero-cost
score or a stand-in) → study storage → ``best.yaml``, ``leaderboard.csv``, ``trials/<n>/arch.yaml`` → completion
callbacks (the report plugin writes ``report.html``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from nasgen.config import DEFAULT_N_TRIALS, DEFAULT_TIMEOUT_S, SearchConfig, merge_settings
from nasgen.errors import SearchError
from nasgen.runs import LeaderboardRow, Run, RunLock, best_record, write_family, write_outputs
from nasgen.runs.storage import Heartbeat
from nasgen.search import _prepare as prepare
from nasgen.search._data import DataOptions, SearchData, prepare_data
from nasgen.search._run import OnComplete, complete, enqueue_architectures, quiet_optuna, resolve_enqueue, run_trials
from nasgen.search._study import check_study_meta, prepare_study, recover_stale_trials
from nasgen.search.evaluators import Evaluator, EvaluatorContext, make_evaluator
from nasgen.search.objective import Limits, Objective
from nasgen.search.workers import (
    WorkerPlan,
    check_scale_out,
    fail_dead_local_trials,
    run_search_workers,
    workers_storage,
)
from nasgen.spec import ArchSpec

__all__ = ["DEFAULT_N_TRIALS", "DEFAULT_TIMEOUT_S", "SearchConfig", "SearchResult", "search"]


@dataclass
class SearchResult:
    """What a search found.

    Attributes:
        best_spec: The feasible architecture with the highest validation top-1 (None if none completed).
        best_value: Its validation top-1 (fraction) or the evaluator's score.
        best_trial: Its trial number.
        study: The Optuna study (``study.trials`` holds every candidate with its user attributes).
        out: The run directory.
        leaderboard: Top rows, best first (as in ``leaderboard.csv``).
        pareto: Trial numbers on the accuracy/MACs Pareto front (NSGA-II only; feasible trials).
        requeued: Trials found interrupted (or stopped by the time limit) and enqueued again on this run.
        family: Files of the compound-scaled family of the best architecture (``scale_phi``).
        best_partial: The best result is partial: the time limit stopped its trial before the last epoch.
        not_started: Why no trial was started (the first one would not finish an epoch in time), or None.
        confirmation: The :class:`~nasgen.search.Confirmation` when ``confirm`` was asked for (then ``best_spec``
            is its recommendation, and ``best.yaml`` holds it with its evidence).
        notes: Remarks for the user (a budget above the space's largest architecture, the proxy cache …).
        evaluator: The name of the evaluator that scored the trials (``proxy``, ``zero-cost:synflow`` …).
        budget_share: The share of the space within the budget, estimated on 500 random samples
            (:class:`~nasgen.space.BudgetShare`; None when the budget does not constrain the space).
        stopped: Why this run ended and how to continue: ``{"reason", "finished", "n_trials", "resume"}`` (also the
            study attribute ``last_stop``, which the report shows).
    """

    best_spec: ArchSpec | None
    best_value: float | None
    best_trial: int | None
    study: optuna.Study
    out: Path
    leaderboard: list[LeaderboardRow]
    pareto: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    family: list[Path] = field(default_factory=list)
    best_partial: bool = False
    not_started: str | None = None
    notes: list[str] = field(default_factory=list)
    confirmation: Any = None
    evaluator: str = "proxy"
    budget_share: Any = None
    stopped: dict[str, Any] = field(default_factory=dict)


def search(
    budget: str | int | None = None,
    *,
    config: SearchConfig | None = None,
    space: Any = "efficientnet-v1",
    data: Any = None,
    out: str | Path | None = None,
    storage: str | optuna.storages.BaseStorage | None = None,
    enqueue: Iterable[str | Path | ArchSpec] = (),
    proxy: Any = None,
    objective: Callable[[ArchSpec], float] | None = None,
    callbacks: Iterable[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    on_complete: Iterable[OnComplete] = (),
    console: Console | None = None,
    **settings: Any,
) -> SearchResult:
    """Search ``space`` for the architecture with the best score within a MACs budget.

    Every sample is costed analytically before a model is built (MACs of Conv2d and Linear layers at the
    architecture's resolution, batch 1; docs/design.md); an over-budget sample is recorded infeasible with its
    constraint values and never trained. Running the same call again resumes the study in ``out``.

    The settings (budget, limits, trials, time, sampler, pruner, evaluator, seed, objective, scale-out …) are a
    :class:`~nasgen.config.SearchConfig`, declared there once with their defaults and units. They can be given
    as ``config=``, as keywords (``search("400M", n_trials=50, sampler="nsga2")``: each keyword names a field of
    ``SearchConfig`` and overrides it in ``config``), or both; ``budget`` may be the first positional argument.

    Example:
        >>> from nasgen.config import SearchConfig
        >>> result = search(config=SearchConfig(budget="400M", n_trials=10), out="runs/demo")  # doctest: +SKIP
        >>> result.best_spec.display()  # doctest: +SKIP

    Args:
        budget: MACs budget, ``"400M"``, ``"1.5G"`` or ``400000000`` (``SearchConfig.budget``; required here or
            in ``config``).
        config: The search settings (default: ``SearchConfig`` built from ``budget`` and ``settings``).
        space: Built-in space name, YAML path, or a ``SearchSpace`` (default ``"efficientnet-v1"``).
        data: A source for :func:`nasgen.data.load_dataset` or what it returned (None = the embedded
            Fashion-MNIST subset; with a stand-in ``objective`` and no data, specs keep the space's classes and
            channels). An ImageFolder tree or ``path,label`` list — a path, or ``load_dataset(folder)``'s
            :class:`~nasgen.data.ImageFiles` — is streamed: the proxies train on its ``proxy_images`` cache
            (``SearchConfig``), memory-mapped in the run directory.
        out: Run directory (default ``runs/<study name>``).
        storage: Optuna RDB URL of a shared study, with heartbeats (default ``sqlite:///<out>/study.db``), or
            an ``optuna.storages.BaseStorage`` (e.g. ``InMemoryStorage`` for quick experiments).
        enqueue: Architectures (names, paths or specs) evaluated first; each must lie in the space.
        proxy: Proxy :class:`~nasgen.config.TrainConfig`, or a mapping of overrides of the default proxy
            (``nasgen.train.default_proxy``); ``SearchConfig.epochs`` overrides its epochs.
        objective: Stand-in scorer ``f(spec) -> float`` used instead of any evaluator (tests, studies).
        callbacks: Optuna callbacks ``f(study, frozen_trial)`` called after each trial.
        on_complete: ``f(run)`` called once the outputs are written (after the plugins' ``nasgen_run_complete``
            hooks, which write the report).
        console: Where to show live progress; None shows nothing.
        **settings: Fields of :class:`~nasgen.config.SearchConfig` (``n_trials``, ``timeout``, ``seed``,
            ``sampler``, ``pruner``, ``evaluator``, ``max_params``, ``reward``, ``workers`` …), overriding ``config``.

    Returns:
        The :class:`SearchResult`.

    Raises:
        TypeError: A keyword that is not a ``SearchConfig`` field.
        BudgetError: Malformed budget or limit, or even the smallest architecture of the space exceeds it.
        SpecError: Unknown space, malformed space file, an enqueued architecture outside the space, or a bad
            setting value.
        DataError: Missing or unusable data.
        SearchError: Unknown sampler/pruner/evaluator, unreachable storage, a resumed study with other settings,
            another process on the same run directory, or every trial failing.
        KeyboardInterrupt: Ctrl-C; the running trial is failed (retried on resume) and outputs are written.
    """
    if budget is not None:
        settings["budget"] = budget
    cfg = merge_settings(SearchConfig, config, settings, caller="search")
    return _search(cfg, space, data, out, storage, enqueue, proxy, objective, list(callbacks), list(on_complete),
                   console)  # fmt: skip


def _search(
    cfg: SearchConfig,
    space: Any,
    data: Any,
    out: str | Path | None,
    storage: Any,
    enqueue: Iterable[str | Path | ArchSpec],
    proxy: Any,
    objective: Callable[[ArchSpec], float] | None,
    callbacks: list[Any],
    on_complete: list[OnComplete],
    console: Console | None,
) -> SearchResult:
    limits = Limits(budget_macs=cfg.budget, max_params=cfg.max_params, max_memory=cfg.max_memory)
    beat = Heartbeat(cfg.heartbeat_interval, cfg.heartbeat_grace)
    devices, threads = check_scale_out(cfg.workers, cfg.devices, cfg.threads_per_worker, objective, callbacks)
    if cfg.workers > 1 and (cfg.reward != "accuracy" or cfg.max_latency is not None or cfg.max_step_time is not None):
        raise SearchError(
            "--reward mnasnet/v2, --max-latency and --max-step-time are not supported with --workers yet; "
            "run them in one process, or share a study by --storage with one worker per process"
        )
    if cfg.confirm:
        from nasgen.search.confirm import check_counts

        check_counts(cfg.confirm, cfg.confirm_seeds, None)
    n_objectives = prepare.validate_choices(cfg.sampler, cfg.pruner)
    pruner = cfg.pruner if cfg.pruner is not None else ("median" if n_objectives == 1 else "none")
    space_obj, space_label = prepare.load_search_space(space)
    known = resolve_enqueue(space_obj, enqueue)
    name = cfg.study_name or f"{space_label}-{prepare.compact(limits.budget_macs)}"
    out_dir = Path(out) if out is not None else Path("runs") / name
    recipe = prepare.proxy_recipe(proxy, cfg.epochs, objective is None or data is not None)
    options = DataOptions.of(cfg)
    prepared = prepare_data(data, space=space_obj, proxy=recipe, out_dir=out_dir, seed=cfg.seed, options=options,
                            need_data=objective is None)  # fmt: skip
    notes = prepare.check_reachable(space_obj, limits, prepared.freeze_kwargs)
    share = None if notes else space_obj.budget_share(limits.budget_macs, samples=500, **prepared.freeze_kwargs)
    notes += prepared.notes
    evaluator_options = {"supernet_recipe": cfg.supernet_recipe}
    context = EvaluatorContext(data=prepared.train, proxy=recipe, seed=cfg.seed, save_weights=cfg.save_weights,
                               scorer=objective, options=evaluator_options, space=space_obj,
                               run_dir=out_dir)  # fmt: skip
    evaluator = make_evaluator(cfg.evaluator, context)
    meta = prepare.study_meta(cfg, space_obj, space_label, limits, prepared, recipe, evaluator)
    local = storage is None
    storage = workers_storage(storage, cfg.workers, out_dir)
    with RunLock(out_dir), quiet_optuna():
        wrap = prepare.feasible_start(space_obj, limits, prepared.freeze_kwargs, cfg.seed) if cfg.feasible_start else None
        study = prepare_study(out_dir, storage, name, sampler=cfg.sampler, pruner=pruner, seed=cfg.seed,
                              n_objectives=n_objectives, epochs=evaluator.epochs, heartbeat=beat,
                              wrap=wrap)  # fmt: skip
        check_study_meta(study, meta)
        warning = None if share is None else prepare.budget_note(share)
        if warning is not None and warning.startswith("warning:") and console is not None:  # the start line
            console.print(warning, highlight=False, soft_wrap=True, markup=False)
        _record_run(study, prepared, options, cfg.save_weights)
        # a shared study: this host's killed processes left trials RUNNING; fail (reason kept) and retry them now
        requeued = recover_stale_trials(study) if local else fail_dead_local_trials(study)
        enqueue_architectures(study, known)
        notes += evaluator.setup(out_dir, console)
        objective_fn = Objective(space_obj, limits, evaluator, freeze_kwargs=prepared.freeze_kwargs,
                                 multi_objective=n_objectives > 1, seed=cfg.seed, out=out_dir)  # fmt: skip
        adapt = {"num_classes": space_obj.num_classes, "in_channels": space_obj.in_channels, **prepared.freeze_kwargs}
        objective_fn.hardware = prepare.hardware_cost(
            cfg, limits, evaluator, recipe, objective_fn, adapt, console,
            calibration=[space_obj.sample(1000 + k, **adapt) for k in range(3)],
        )
        if cfg.workers > 1:
            plan = WorkerPlan(
                storage=str(storage), study_name=name, space=space_obj, evaluator=cfg.evaluator,
                data=None if prepared.cache_file else data,  # a streamed folder: the workers map the cache
                cache=prepared.cache_file, fingerprint=prepared.fingerprint, proxy=recipe, objective=objective,
                evaluator_options=evaluator_options, limits=limits, freeze_kwargs=prepared.freeze_kwargs, sampler=cfg.sampler,
                pruner=pruner, seed=cfg.seed, n_trials=cfg.n_trials, timeout=cfg.timeout, out=out_dir,
                heartbeat=(beat.interval_s, beat.grace_s), save_weights=cfg.save_weights,
                multi_objective=n_objectives > 1, epochs=evaluator.epochs, devices=devices, threads=threads,
                feasible_start=cfg.feasible_start,
            )
            run_search_workers(study, plan, console)
        else:
            run_trials(study, objective_fn, cfg.n_trials, cfg.timeout, callbacks, console, out_dir)
        if cfg.measure_noise and objective_fn.not_started is None:
            _measure_noise(study, evaluator, cfg.seed, cfg.measure_noise, console)
        stop = _stop_record(study, cfg, objective_fn.not_started)
        study.set_user_attr("last_stop", stop)
        result = _result(study, out_dir, requeued, objective_fn.not_started, evaluator.name)
        result.stopped = stop
        result.notes, result.budget_share = notes, share
    run = Run(result.study, out=out_dir)
    if cfg.baseline is not None:
        _run_baseline(cfg, run, space, data, out_dir, proxy, objective, console)
    if cfg.confirm and result.best_spec is not None:
        from nasgen.search.confirm import confirm as run_confirm

        scorer = None if objective is None else (lambda spec, seed: objective(spec))
        result.confirmation = run_confirm(run, top=cfg.confirm, seeds=cfg.confirm_seeds, objective=scorer,
                                          data=prepared, console=console, on_complete=on_complete)  # fmt: skip
        result.best_spec = result.confirmation.recommended.record.spec()
    phis = list(cfg.scale_phi)
    if phis and result.best_spec is not None:
        result.family = write_family(result.best_spec.replace(name=name), phis, out_dir)
    if result.confirmation is None:  # confirm() completes the run otherwise
        complete(run, out_dir, console, on_complete)
    return result


def _run_baseline(
    cfg: SearchConfig, run: Run, space: Any, data: Any, out_dir: Path, proxy: Any, objective: Any, console: Any
) -> Path:
    """``cfg.baseline_seeds`` searches by ``cfg.baseline`` (random) of ``cfg.n_trials`` each, with the search's
    settings otherwise, each in its own run directory under ``<out>/baseline/`` (resumable like any search; a
    supernet is the parent's, linked, never trained again), and their best-so-far curves written to
    ``<out>/baseline-<sampler>.json`` with the settings they share with the study (``nasgen.runs.baseline_key``).

    Raises:
        SearchError: A baseline run's settings differ from the study's (a bug: they are the same settings).
    """
    from nasgen.runs import RunDir, baseline_key, best_so_far, write_baseline

    files = RunDir(out_dir)
    key = baseline_key(run.meta)
    curves = []
    for k in range(cfg.baseline_seeds):
        seed = cfg.seed + 1 + k
        sub_dir = files.baseline_runs / f"{cfg.baseline}-{seed}"
        _link_supernet(files.supernet, RunDir(sub_dir).supernet)
        sub = cfg.model_copy(update={"sampler": cfg.baseline, "seed": seed, "baseline": None, "confirm": 0,
                                     "scale_phi": (), "study_name": None, "workers": 1, "measure_noise": 0})  # fmt: skip
        if console is not None:
            console.print(f"baseline: {cfg.n_trials} {cfg.baseline} trials (seed {seed}) in {sub_dir}", highlight=False)
        result = _search(sub, space, data, sub_dir, None, (), proxy, objective, [], [], None)
        sub_run = Run(result.study, out=sub_dir)
        if baseline_key(sub_run.meta) != key:
            raise SearchError(f"{sub_dir}: the baseline's settings differ from the study's: {baseline_key(sub_run.meta)}")
        # the score the report's history draws (val top-1 or the stand-in's score), complete trials only
        values = [r.val_top1 if r.state == "complete" and r.scored and r.feasible else None
                  for r in sorted(sub_run.records(), key=lambda r: r.number)]  # fmt: skip
        curves.append({"seed": seed, "best": best_so_far([v if v is None else float(v) for v in values])})
    return write_baseline(files.baseline(cfg.baseline), sampler=cfg.baseline, key=key, runs=curves)


def _link_supernet(source: Path, target: Path) -> None:
    """The parent's trained supernet in a baseline run's directory: hard links (a copy where links fail)."""
    import shutil

    if not source.is_dir() or target.exists():
        return
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def _record_run(study: optuna.Study, data: SearchData, options: DataOptions, save_weights: bool) -> None:
    """Where the data came from (kept from the first run: confirm reloads it), how it was read and whether weights
    are kept (each run)."""
    if "data" not in study.user_attrs:
        study.set_user_attr("data", data.source)
    for key, value in prepare.run_record(data, options, save_weights).items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)


def _stop_record(study: optuna.Study, cfg: SearchConfig, not_started: str | None) -> dict[str, Any]:
    """Why this run of the search ended and how to go on, as the study records it for the report:
    ``{"reason", "finished", "n_trials", "resume"}`` (``resume`` empty when the study holds its trials)."""
    from nasgen.search._study import count_finished

    done = count_finished(study)
    again = "run the same command again: it resumes the study where it stopped"
    if not_started is not None:
        reason, resume = "the first trial would not finish one proxy epoch within the time limit", (
            f"{again}, with a larger --timeout (or fewer --epochs / --images-per-epoch)")
    elif done >= cfg.n_trials:
        reason, resume = f"{done} of {cfg.n_trials} trials finished (--n-trials)", ""
    else:
        reason = f"the time limit of {cfg.timeout:g} s (--timeout) ended it after {done} of {cfg.n_trials} trials"
        resume = f"{done} of {cfg.n_trials} trials are done: {again} to continue (each run gets --timeout again)"
    return {"reason": reason, "finished": done, "n_trials": cfg.n_trials, "resume": resume}


def _measure_noise(study: optuna.Study, evaluator: Evaluator, seed: int, extra: int, console: Any) -> None:
    """Score the first complete, evaluated architecture with ``extra`` more seeds; record the evaluator's seed sd."""
    from nasgen.search.confirm import summarize

    if "proxy_noise_sd" in study.user_attrs or not evaluator.seeded:
        return
    first = next((r for r in Run(study).records() if r.state == "complete" and r.scored), None)
    if first is None:
        return
    scores = [float(first.val_top1)]
    for k in range(1, extra + 1):
        if console is not None:
            console.print(f"noise: trial {first.number} again with seed {seed + k} ({k}/{extra})", highlight=False)
        scores.append(evaluator.with_seed(seed + k)(first.spec(), lambda epoch, value: None).val_top1)
    study.set_user_attr("proxy_noise_sd", summarize(scores).sd)
    study.set_user_attr("proxy_noise_trial", first.number)
    study.set_user_attr("proxy_noise_seeds", len(scores))
    study.set_user_attr("proxy_noise_scores", scores)


def _result(
    study: optuna.Study, out_dir: Path, requeued: list[int], stopped: str | None, evaluator: str
) -> SearchResult:
    rows = write_outputs(study, out_dir)
    best = best_record(study)
    pareto = [t.number for t in study.best_trials] if len(study.directions) > 1 else []
    return SearchResult(
        best_spec=None if best is None else best.spec(),
        best_value=None if best is None else best.val_top1,
        best_trial=None if best is None else best.number,
        best_partial=best is not None and best.partial,
        not_started=stopped,
        study=study,
        out=out_dir,
        leaderboard=rows,
        pareto=pareto,
        requeued=requeued,
        evaluator=evaluator,
    )
