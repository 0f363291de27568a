"""``nasgen.search``: the best architecture a MACs budget allows, with the evidence (a study on disk).

Flow (DESIGN.md): space → Optuna ``suggest_*`` by label → frozen ``ArchSpec`` → analytic cost → over budget:
recorded infeasible, never built → else proxy training on real data (or a stand-in scorer) → study storage →
``best.yaml``, ``leaderboard.csv``, ``trials/<n>/arch.yaml``.
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console

from nasgen.config import DEFAULT_N_TRIALS, DEFAULT_TIMEOUT_S, SearchConfig, merge_settings
from nasgen.errors import BudgetError, NasgenError, SearchError
from nasgen.search._evaluate import Evaluator, ProxyEvaluator, ScorerEvaluator
from nasgen.search._objective import Limits, Objective
from nasgen.search._outputs import LeaderboardRow, best_record, write_family, write_outputs
from nasgen.search._parallel import TrialSeededSampler, data_fingerprint, fail_dead_local_trials
from nasgen.search._progress import SearchProgress
from nasgen.search._run import FailureGuard, enqueue_architectures, plugin_trial_end, resolve_enqueue, space_name
from nasgen.search._storage import Heartbeat
from nasgen.search._study import (
    SAMPLERS,
    RunLock,
    check_study_meta,
    count_finished,
    make_pruner,
    make_sampler,
    n_trials_stored,
    open_storage,
    open_study,
    recover_stale_trials,
    space_dimensions,
)
from nasgen.search._workers import WorkerPlan, check_scale_out, run_search_workers, workers_storage
from nasgen.spec import ArchSpec
from nasgen.units import format_count

__all__ = ["DEFAULT_N_TRIALS", "DEFAULT_TIMEOUT_S", "SearchConfig", "SearchResult", "search"]

# What a trial may raise and still leave the search going (recorded as a failed trial with its reason).
TRIAL_ERRORS = (RuntimeError, ArithmeticError, MemoryError, ValueError, NasgenError)


@dataclass
class SearchResult:
    """What a search found.

    Attributes:
        best_spec: The feasible architecture with the highest validation top-1 (None if none completed).
        best_value: Its validation top-1 (fraction) or stand-in score.
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
        notes: Remarks for the user (a budget above the space's largest architecture, a proxy raised to its
            floor …).
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
    console: Console | None = None,
    **settings: Any,
) -> SearchResult:
    """Search ``space`` for the architecture with the best proxy accuracy within a MACs budget.

    Every sample is costed analytically before a model is built (MACs of Conv2d and Linear layers at the
    architecture's resolution, batch 1; DESIGN.md); an over-budget sample is recorded infeasible with its
    constraint values and never trained. Running the same call again resumes the study in ``out``.

    The settings (budget, limits, trials, time, sampler, pruner, seed, objective, scale-out …) are a
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
            (``SearchConfig``).
        out: Run directory (default ``runs/<study name>``).
        storage: Optuna RDB URL of a shared study, with heartbeats (default ``sqlite:///<out>/study.db``), or
            an ``optuna.storages.BaseStorage`` (e.g. ``InMemoryStorage`` for quick experiments).
        enqueue: Architectures (names, paths or specs) evaluated first; each must lie in the space.
        proxy: Proxy :class:`~nasgen.config.TrainConfig`, or a mapping of overrides of the default proxy
            (``nasgen.train.default_proxy``); ``SearchConfig.epochs`` overrides its epochs.
        objective: Stand-in scorer ``f(spec) -> float`` used instead of proxy training (tests, studies).
        callbacks: Optuna callbacks ``f(study, frozen_trial)`` called after each trial.
        console: Where to show live progress; None shows nothing.
        **settings: Fields of :class:`~nasgen.config.SearchConfig` (``n_trials``, ``timeout``, ``seed``,
            ``sampler``, ``pruner``, ``max_params``, ``reward``, ``workers`` …), overriding ``config``.

    Returns:
        The :class:`SearchResult`.

    Raises:
        TypeError: A keyword that is not a ``SearchConfig`` field.
        BudgetError: Malformed budget or limit, or even the smallest architecture of the space exceeds it.
        SpecError: Unknown space, malformed space file, an enqueued architecture outside the space, or a bad
            setting value.
        DataError: Missing or unusable data.
        SearchError: Unknown sampler/pruner, unreachable storage, a resumed study with other settings,
            another process on the same run directory, or every trial failing.
        KeyboardInterrupt: Ctrl-C; the running trial is failed (retried on resume) and outputs are written.
    """
    if budget is not None:
        settings["budget"] = budget
    cfg = merge_settings(SearchConfig, config, settings, caller="search")
    return _search(cfg, space, data, out, storage, enqueue, proxy, objective, callbacks, console)


def _search(
    cfg: SearchConfig,
    space: Any,
    data: Any,
    out: str | Path | None,
    storage: Any,
    enqueue: Iterable[str | Path | ArchSpec],
    proxy: Any,
    objective: Callable[[ArchSpec], float] | None,
    callbacks: Iterable[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]],
    console: Console | None,
) -> SearchResult:
    limits = Limits(budget_macs=cfg.budget, max_params=cfg.max_params, max_memory=cfg.max_memory)
    latency_ms, step_ms = cfg.max_latency, cfg.max_step_time
    beat = Heartbeat(cfg.heartbeat_interval, cfg.heartbeat_grace)
    callbacks = list(callbacks)
    worker_devices, threads = check_scale_out(cfg.workers, cfg.devices, cfg.threads_per_worker, objective, callbacks)
    if cfg.workers > 1 and (cfg.reward != "accuracy" or latency_ms is not None or step_ms is not None):
        raise SearchError(
            "--objective mnasnet/v2, --max-latency and --max-step-time are not supported with --workers yet; "
            "run them in one process, or share a study by --storage with one worker per process"
        )
    if cfg.confirm:
        from nasgen.search._confirm import _check_counts

        _check_counts(cfg.confirm, cfg.confirm_seeds, None)
    n_objectives = _validate_choices(cfg.sampler, cfg.pruner)
    pruner = cfg.pruner if cfg.pruner is not None else ("median" if n_objectives == 1 else "none")
    space_obj, space_label = _load_space(space)
    known = resolve_enqueue(space_obj, enqueue)
    dataset = None if objective is not None and data is None else _load_data(data, cfg.seed)
    freeze_kwargs = {} if dataset is None else {"num_classes": dataset.num_classes, "in_channels": dataset.in_channels}
    notes = _check_reachable(space_obj, limits, freeze_kwargs)
    name = cfg.study_name or f"{space_label}-{_compact(limits.budget_macs)}"
    out_dir = Path(out) if out is not None else Path("runs") / name
    data_options = {"space": space_obj, "out_dir": out_dir, "proxy_images": cfg.proxy_images,
                    "loader_workers": cfg.loader_workers, "skip_bad_images": cfg.skip_bad_images,
                    "max_image_pixels": cfg.max_image_pixels, "shared_cache": cfg.workers > 1}  # fmt: skip
    evaluator, proxy_text = _evaluator(
        objective, dataset, proxy, cfg.epochs, cfg.seed, cfg.save_weights, data_options, notes
    )
    meta = {
        "budget_macs": limits.budget_macs,
        "space": space_label,
        "space_dimensions": space_dimensions(space_obj),
        "space_hash": space_obj.content_hash(),
        "sampler": cfg.sampler,
        "max_params": limits.max_params,
        "max_memory": limits.max_memory,
        "data_fingerprint": None if dataset is None else data_fingerprint(dataset),  # by content, not path
        "proxy": proxy_text,
    }
    streamed = _streamed_images(dataset, cfg.proxy_images)
    if streamed is not None:  # a resumed study must train its proxies on the same subset
        meta["proxy_images"] = streamed
    if cfg.reward != "accuracy" or latency_ms is not None or step_ms is not None:
        meta.update(objective=cfg.reward, max_latency_ms=latency_ms, max_step_ms=step_ms)
    local = storage is None
    storage = workers_storage(storage, cfg.workers, out_dir)
    with RunLock(out_dir), _quiet_optuna():
        study = _prepare_study(
            out_dir, storage, name, cfg.sampler, pruner, cfg.seed, n_objectives, proxy_epochs(evaluator), beat
        )
        check_study_meta(study, meta)
        if "data" not in study.user_attrs:  # where the data was first read (confirm reloads it); not compared
            study.set_user_attr("data", None if dataset is None else _data_record(data))
        # a shared study: this host's killed processes left trials RUNNING; fail (reason kept) and retry them now
        requeued = recover_stale_trials(study) if local else fail_dead_local_trials(study)
        enqueue_architectures(study, known)
        objective_fn = Objective(
            space_obj,
            limits,
            evaluator,
            freeze_kwargs=freeze_kwargs,
            multi_objective=n_objectives > 1,
            seed=cfg.seed,
            out=out_dir,
        )
        adapt = {"num_classes": space_obj.num_classes, "in_channels": space_obj.in_channels, **freeze_kwargs}
        objective_fn.hardware = _hardware(
            cfg.reward, limits, latency_ms, step_ms, evaluator, objective_fn, adapt, console,
            calibration=[space_obj.sample(1000 + k, **adapt) for k in range(3)],
        )
        if cfg.workers > 1:
            plan = WorkerPlan(
                storage=str(storage), study_name=name, space=space_obj, data=data,
                proxy=getattr(evaluator, "config", None), objective=objective, limits=limits,
                freeze_kwargs=freeze_kwargs, sampler=cfg.sampler, pruner=pruner, seed=cfg.seed,
                n_trials=cfg.n_trials, timeout=cfg.timeout, out=out_dir, heartbeat=(beat.interval_s, beat.grace_s),
                save_weights=cfg.save_weights,
                multi_objective=n_objectives > 1, epochs=proxy_epochs(evaluator), devices=worker_devices,
                threads=threads, data_options={k: v for k, v in data_options.items() if k not in ("space", "out_dir")},
            )
            run_search_workers(study, plan, console)
        else:
            _run(study, objective_fn, cfg.n_trials, cfg.timeout, callbacks, console, out_dir)
        if cfg.measure_noise and objective_fn.not_started is None:
            _measure_noise(study, evaluator, cfg.seed, cfg.measure_noise, console)
        result = _result(study, out_dir, requeued, objective_fn.not_started)
        result.notes = notes
    if cfg.confirm and result.best_spec is not None:
        from nasgen.search._confirm import confirm as run_confirm
        from nasgen.search._reader import Run

        scorer = None if objective is None else (lambda spec, seed: objective(spec))
        result.confirmation = run_confirm(
            Run(result.study, str(out_dir), out_dir), top=cfg.confirm, seeds=cfg.confirm_seeds, objective=scorer,
            data=evaluator.dataset if streamed is not None else data,  # the search's own proxy cache
            console=console,
        )
        result.best_spec = result.confirmation.recommended.record.spec()
    phis = list(cfg.scale_phi)
    if phis and result.best_spec is not None:
        result.family = write_family(result.best_spec.replace(name=name), phis, out_dir / "scaled")
    if result.confirmation is None:  # confirm() writes it otherwise; a report failure is only a warning
        from nasgen.report import report_quietly  # deferred: the report reads this run through open_run's Run
        from nasgen.search._reader import Run

        report_quietly(Run(result.study, str(out_dir), out_dir), console=console)
    return result


def _measure_noise(study: optuna.Study, evaluator: Evaluator, seed: int, extra: int, console: Any) -> None:
    """Train the first complete, evaluated architecture with ``extra`` more seeds; record the proxy's seed sd."""
    from nasgen.search._reader import Run
    from nasgen.search._verdict import summarize

    if "proxy_noise_sd" in study.user_attrs or not isinstance(evaluator, ProxyEvaluator):
        return
    first = next((r for r in Run(study, study.study_name).records() if r.state == "complete" and r.scored), None)
    if first is None:
        return
    scores = [float(first.val_top1)]
    for k in range(1, extra + 1):
        if console is not None:
            console.print(f"noise: trial {first.number} again with seed {seed + k} ({k}/{extra})", highlight=False)
        again = ProxyEvaluator(evaluator.dataset, evaluator.config, seed=seed + k)
        scores.append(again(first.spec(), lambda epoch, value: None).val_top1)
    study.set_user_attr("proxy_noise_sd", summarize(scores).sd)
    study.set_user_attr("proxy_noise_trial", first.number)
    study.set_user_attr("proxy_noise_seeds", len(scores))
    study.set_user_attr("proxy_noise_scores", scores)


def _hardware(
    reward: str,
    limits: Limits,
    latency_ms: float | None,
    step_ms: float | None,
    evaluator: Evaluator,
    objective: Objective,
    freeze_kwargs: Mapping[str, Any],
    console: Any,
    calibration: list[Any] = (),  # type: ignore[assignment]
) -> Any:
    """The search's :class:`HardwareCost`, or None when only MACs and accuracy matter (the ``v2`` reference is
    B0 with the classes and channels the search's architectures have)."""
    from nasgen.search._hardware import HardwareCost

    if reward == "accuracy" and latency_ms is None and step_ms is None:
        return None
    from nasgen.spec import load_spec

    config = getattr(evaluator, "config", None)
    reference = load_spec("efficientnet-b0").replace(**freeze_kwargs)
    return HardwareCost(
        reward,
        budget_macs=limits.budget_macs,
        max_latency_ms=latency_ms,
        max_step_ms=step_ms,
        proxy_batch=int(getattr(config, "batch_size", 128)),
        proxy_px=lambda spec: objective.evaluator_px(spec) or spec.resolution_px,
        reference=reference,
        console=console,
        calibration=calibration,
    )


def proxy_epochs(evaluator: Evaluator) -> int:
    """Epochs of the proxy behind ``evaluator`` (1 for a stand-in scorer), for Hyperband's max resource."""
    config = getattr(evaluator, "config", None)
    return int(getattr(config, "epochs", 1))


def _compact(value: int) -> str:
    text = format_count(value, precision=3)
    number, suffix = (text[:-1], text[-1]) if text[-1].isalpha() else (text, "")
    return number.rstrip("0").rstrip(".") + suffix if "." in number else number + suffix


def _load_space(space: Any) -> tuple[Any, str]:
    from nasgen.space import builtin_space_files, load_space

    if isinstance(space, str) and space not in builtin_space_files() and not Path(space).exists():
        from nasgen.hooks import load_plugins

        registry = load_plugins()
        if space in registry.search_spaces:  # a space contributed by a plugin (hook nasgen_search_spaces)
            return registry.search_space(space), space
    if isinstance(space, (str, Path)):
        return load_space(space), space_name(space)
    return space, str(getattr(space, "name", None) or "custom")


def _streamed_images(dataset: Any, proxy_images: int | None) -> int | None:
    """The proxy subset size when ``dataset`` is streamed (a folder or list), else ``None``."""
    from nasgen.data._cache import DEFAULT_PROXY_IMAGES
    from nasgen.data._files import ImageFiles

    if not isinstance(dataset, ImageFiles):
        return None
    return DEFAULT_PROXY_IMAGES if proxy_images is None else proxy_images


def _data_record(data: Any) -> str:
    """Where the data came from, for the report and for ``confirm`` to reload: the source as given, or the folder
    or list a loaded streamed dataset (``load_dataset(folder)``) was opened from (not its repr of every path)."""
    from nasgen.data._files import ImageFiles

    return data.name if isinstance(data, ImageFiles) else str(data or "embedded")


def _load_data(data: Any, seed: int) -> Any:
    from nasgen.search._data import load_search_data

    return load_search_data(data, seed)


def _check_reachable(space: Any, limits: Limits, freeze_kwargs: Mapping[str, Any]) -> list[str]:
    """Refuse a budget below the space's smallest architecture; note one above its largest (no constraint)."""
    smallest, largest = space.macs_range(**freeze_kwargs)
    if smallest > limits.budget_macs:
        raise BudgetError(
            f"budget {format_count(limits.budget_macs)} MACs ({limits.budget_macs:,}) is below the smallest "
            f"architecture of the space, {format_count(smallest)} MACs ({smallest:,}){_counted_for(freeze_kwargs)}; "
            "raise --budget or use a smaller space"
        )
    if largest <= limits.budget_macs:
        return [
            f"the budget {format_count(limits.budget_macs)} MACs is above the largest architecture of the space, "
            f"{format_count(largest)} MACs{_counted_for(freeze_kwargs)}: every sample is feasible and the budget "
            "does not constrain this search"
        ]
    return []


def _counted_for(freeze_kwargs: Mapping[str, Any]) -> str:
    # The search adapts the stem and classifier to the data; `nasgen validate` counts the space as written.
    if not freeze_kwargs:
        return ""
    return (
        f" (counted for this data: {freeze_kwargs['in_channels']} input channel(s), {freeze_kwargs['num_classes']} "
        "classes)"
    )


def _validate_choices(sampler: str, pruner: str | None) -> int:
    """The sampler's number of objectives; an explicit pruner the sampler cannot use is refused.

    (The names themselves were checked by :class:`~nasgen.config.SearchConfig`.)
    """
    _, n_objectives = make_sampler(sampler, seed=0, n_existing=0, parallel=False)
    # an explicit pruner under NSGA-II is refused (make_pruner says why), never dropped without a word
    make_pruner(pruner if pruner is not None else "none", epochs=1, n_objectives=n_objectives)
    return n_objectives


def _evaluator(
    objective: Callable[[ArchSpec], float] | None,
    dataset: Any,
    proxy: Any,
    epochs: int | None,
    seed: int,
    save_weights: bool,
    data_options: Mapping[str, Any],
    notes: list[str],
) -> tuple[Evaluator, str | None]:
    if objective is not None:
        return ScorerEvaluator(objective), None
    from nasgen.train import TrainConfig, default_proxy

    config = proxy if isinstance(proxy, TrainConfig) else default_proxy().replace(**dict(proxy or {}))
    if epochs is not None:
        config = config.replace(epochs=epochs, warmup_epochs=min(config.warmup_epochs, float(epochs)))
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    from nasgen.search._data import search_data

    options = dict(data_options)
    dataset, data_notes = search_data(dataset, options.pop("space"), config, **options)
    notes.extend(data_notes)
    return ProxyEvaluator(dataset, config, seed=seed, keep_weights=save_weights), text


def _prepare_study(
    out_dir: Path,
    storage: Any,
    name: str,
    sampler: str,
    pruner: str,
    seed: int,
    n_objectives: int,
    epochs: int,
    heartbeat: Any = None,
) -> optuna.Study:
    shared = storage is not None
    url = storage or f"sqlite:///{(out_dir / 'study.db').resolve()}"
    backend = open_storage(url, shared=shared, heartbeat=heartbeat)
    _check_run_dir(out_dir, backend if not shared else None, name)
    sampler_obj, _ = make_sampler(sampler, seed=seed, n_existing=n_trials_stored(backend, name), parallel=shared)
    if shared:  # seeds from (study seed, trial number): workers never share a random stream
        sampler_obj = TrialSeededSampler(SAMPLERS[sampler][0], seed, True)
    pruner_obj = make_pruner(pruner, epochs=epochs, n_objectives=n_objectives)
    return open_study(backend, name, sampler=sampler_obj, pruner=pruner_obj, n_objectives=n_objectives)


RUN_DIR_MARKER = ".nasgen-study"


def _check_run_dir(out_dir: Path, local_backend: Any, name: str) -> None:
    """Refuse a run directory that already belongs to another study; mark it as ``name``'s.

    The per-trial folders, ``best.yaml`` and ``leaderboard.csv`` of one directory describe one study: a second
    study written into it would overwrite ``trials/N`` of the first and leave outputs that disagree.

    Raises:
        SearchError: ``out_dir`` holds outputs or a local ``study.db`` of another study.
    """
    marker = out_dir / RUN_DIR_MARKER
    owners: set[str] = set()
    if marker.is_file():
        owners.add(marker.read_text(encoding="utf-8").strip())
    if local_backend is not None:
        owners.update(s.study_name for s in local_backend.get_all_studies())
    owners.discard("")
    if owners and name not in owners:
        listed = ", ".join(repr(o) for o in sorted(owners))
        raise SearchError(
            f"run directory {str(out_dir)!r} holds study {listed}, not {name!r} (a study's name comes from its "
            "space and budget unless --study-name is given): resume it with the same settings or "
            "--study-name, or pass another --out for a new study"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        marker.write_text(name + "\n", encoding="utf-8")


def _run(
    study: optuna.Study,
    objective: Objective,
    n_trials: int,
    timeout: float | None,
    callbacks: list[Any],
    console: Console | None,
    out_dir: Path,
) -> None:
    done = count_finished(study)
    if done >= n_trials:
        return
    guard = FailureGuard()
    try:
        with SearchProgress(n_trials, done, timeout, console) as progress:
            objective.on_start = _started(progress, objective)
            if console is not None:
                objective.on_note = lambda text: console.print(text, highlight=False, soft_wrap=True, markup=False)
            objective.deadline = None if timeout is None else time.monotonic() + timeout
            study.optimize(
                objective,
                timeout=timeout,
                catch=TRIAL_ERRORS,
                callbacks=[progress, guard, plugin_trial_end, *callbacks],
            )
    finally:
        write_outputs(study, out_dir)
    guard.raise_if_tripped()


def _started(progress: SearchProgress, objective: Objective) -> Callable[[int, ArchSpec], None]:
    from nasgen import hooks

    def started(number: int, spec: ArchSpec) -> None:
        progress.trial_started(number, spec, objective.evaluator_px(spec))
        hooks.trial_start(number, spec)

    return started


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    # Optuna logs every trial at INFO and a failed trial's traceback at WARNING; the progress display and
    # the trial's recorded failure reason replace both (Ctrl-C then prints one line). Restored afterwards.
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _result(study: optuna.Study, out_dir: Path, requeued: list[int], stopped: str | None = None) -> SearchResult:
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
    )
