"""``nasgen search``: the best architecture within a MACs budget, with its evidence in a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import console, err_console, setting_default, user_errors
from nasgen.config import BASELINES, PRUNERS, SAMPLERS, SearchConfig

# Defaults and choices are SearchConfig's (nasgen.config), never copied here; tests/cli/test_options_agree.py
# checks every field: an option with the same default, a help text, and the same choices.


def _default(name: str):
    return setting_default(SearchConfig, name)


def _off_last(names: tuple[str, ...]) -> tuple[str, ...]:
    """Choices as the CLI lists them: ``none`` (off) after the ones that do something."""
    return tuple(sorted(names, key=lambda name: name == "none"))


def _proxy_overrides(
    images_per_epoch: int | None,
    batch_size: int | None,
    lr: float | None,
    proxy_resolution: int | None,
    progressive: bool = False,
) -> dict[str, object]:
    overrides: dict[str, object] = {"progressive": True} if progressive else {}
    if images_per_epoch is not None:
        overrides["images_per_epoch"] = images_per_epoch
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    if lr is not None:
        overrides["lr"] = lr
    if proxy_resolution is not None:
        overrides["resolution_px"] = proxy_resolution
    return overrides


def _phis(text: str | None) -> list[float]:
    from nasgen.errors import SearchError

    if not text:
        return []
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SearchError(f"--scale-phi: expected numbers separated by commas, e.g. 1,2,3, got {text!r}") from None


def _check_choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    from nasgen.errors import SearchError

    if value not in allowed:
        raise SearchError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")


@user_errors
def search(
    budget: str = typer.Option(..., help="MACs budget (conv + linear MACs, batch 1): 400M, 1.5G or 400000000."),
    space: str = typer.Option("efficientnet-v1", help="Built-in search space name or a space YAML file."),
    data: Optional[str] = typer.Option(
        None,
        help="embedded (default), fashion-mnist, or a path: IDX folder, .npz, ImageFolder tree or path,label .csv "
        "(the proxy trains on --proxy-images of it).",
    ),
    n_trials: int = typer.Option(
        _default("n_trials"), help="Finished trials (evaluated, infeasible, reused or pruned) to reach."
    ),
    timeout: Optional[float] = typer.Option(
        _default("timeout"), help="Seconds this run may take; no trial starts that would not fit."
    ),
    epochs: Optional[int] = typer.Option(
        _default("epochs"), help="Proxy training epochs (default: the proxy recipe's)."
    ),
    seed: int = typer.Option(_default("seed"), help="Seed of the sampler and the proxy runs."),
    sampler: str = typer.Option(
        _default("sampler"),
        help="tpe, random, nsga2 (accuracy vs MACs) or evolution (regularized; its first 50 trials are random).",
    ),
    feasible_start: bool = typer.Option(
        _default("feasible_start"),
        help="Random startup trials drawn within the limits.",
    ),
    baseline: Optional[str] = typer.Option(
        _default("baseline"),
        help="random: also random searches for the report's band (<out>/baseline/).",
    ),
    baseline_seeds: int = typer.Option(_default("baseline_seeds"), help="Searches of --baseline."),
    pruner: Optional[str] = typer.Option(
        _default("pruner"),
        help="median (default), hyperband or none; nsga2 cannot prune (none, the default there).",
    ),
    out: Optional[Path] = typer.Option(None, help="Run directory (default runs/<study name>)."),
    storage: Optional[str] = typer.Option(
        None,
        help="Shared study: postgresql://USER:PASSWORD@HOST/DB (many machines; pip install 'nasgen[postgres]') or "
        "journal:///FILE.log (JournalStorage, one machine or a shared filesystem). Default: <out>/study.db, or "
        "<out>/study.log with --workers.",
    ),
    study_name: Optional[str] = typer.Option(_default("study_name"), help="Study name (default <space>-<budget>)."),
    enqueue: list[str] = typer.Option([], help="Architecture (name or YAML) to evaluate first; repeatable."),
    max_params: Optional[str] = typer.Option(_default("max_params"), help="Parameter limit, e.g. 5M."),
    max_memory: Optional[str] = typer.Option(
        _default("max_memory"), help="Activation-memory limit in bytes, e.g. 50M."
    ),
    save_weights: bool = typer.Option(
        _default("save_weights"), "--save-weights", help="Keep the best trial's proxy weights (safetensors)."
    ),
    images_per_epoch: Optional[int] = typer.Option(None, help="Proxy: training images drawn per epoch."),
    batch_size: Optional[int] = typer.Option(None, help="Proxy: training batch size."),
    lr: Optional[float] = typer.Option(None, help="Proxy: peak learning rate."),
    proxy_resolution: Optional[int] = typer.Option(
        None, help="Proxy: training resolution in px for a 224-px arch."
    ),
    progressive: bool = typer.Option(
        False,
        "--progressive",
        help="Proxy: EfficientNetV2 progressive learning. Experimental: 4.2 points lower on the CPU proxy "
        "(docs/progressive.md).",
    ),
    scale_phi: Optional[str] = typer.Option(
        None, help="Write the best architecture's compound-scaled family for these phi, e.g. 1,2,3."
    ),
    reward: str = typer.Option(
        _default("reward"),
        "--reward",
        help="accuracy (proxy top-1), mnasnet (ACC*(C/T)^-0.07, C = MACs, or latency with --max-latency; "
        "EfficientNet §4) or v2 (A*S^-0.07*P^-0.05, S = predicted step time, P = params, both / B0's; "
        "EfficientNetV2 §3.3).",
    ),
    objective: Optional[str] = typer.Option(
        None, "--objective", hidden=True, help="Deprecated spelling of --reward (kept so old commands run)."
    ),
    evaluator: str = typer.Option(
        _default("evaluator"),
        help="proxy (brief training from scratch), supernet (weight sharing: seconds a subnet), "
        "zero-cost:<score> (synflow, naswot, grad_norm, snip) or a plugin's.",
    ),
    supernet_recipe: Optional[str] = typer.Option(
        _default("supernet_recipe"),
        help="With --evaluator supernet: quick (minutes on a CPU), cpu or gpu (default: gpu on CUDA, else cpu).",
    ),
    max_latency: Optional[str] = typer.Option(
        _default("max_latency"), help="Predicted latency limit at batch 1 on this device, with a unit: 5ms, 0.02s."
    ),
    max_step_time: Optional[str] = typer.Option(
        _default("max_step_time"),
        help="Predicted training-step limit at the proxy's batch and resolution, e.g. 300ms.",
    ),
    measure_noise: int = typer.Option(
        _default("measure_noise"),
        help="Retrain the first evaluated architecture with N more seeds (the proxy's noise).",
    ),
    confirm: int = typer.Option(
        _default("confirm"),
        help="Then confirm the top K (and enqueued baselines) with --confirm-seeds seeds at 2x the proxy's epochs; "
        "0 = no.",
    ),
    confirm_seeds: int = typer.Option(
        _default("confirm_seeds"), help="Seeds per architecture of the --confirm run (2 or more)."
    ),
    proxy_images: Optional[int] = typer.Option(
        _default("proxy_images"), min=2,
        help="Folder/list data: class-balanced images for the proxy, decoded once (default 12000).",
    ),
    loader_workers: Optional[int] = typer.Option(
        _default("loader_workers"), min=0, help="Folder/list data: decode processes (default: cores - 1, 1-8)."
    ),
    skip_bad_images: bool = typer.Option(
        _default("skip_bad_images"),
        "--skip-bad-images",
        help="Folder/list data: leave out files that cannot be decoded or claim more than --max-image-pixels, "
        "and list them (default: fail).",
    ),
    max_image_pixels: str = typer.Option(
        _default("max_image_pixels"), metavar="PIXELS",
        help="Folder/list data: largest image (width x height, from its header) decoded, e.g. 400M; a file "
        "claiming more is a bad file, a decompression bomb (the default is PIL's own limit).",
    ),
    workers: int = typer.Option(
        _default("workers"),
        help="Worker processes on this machine sharing the study; --n-trials counts the whole study.",
    ),
    devices: Optional[str] = typer.Option(
        _default("devices"),
        help="Devices of the workers, round robin: cpu, or GPU indices like 0,1 (default: every GPU, else cpu).",
    ),
    threads_per_worker: Optional[int] = typer.Option(
        _default("threads_per_worker"),
        help="Torch threads of each worker (default: this machine's cores divided by --workers).",
    ),
    heartbeat_interval: int = typer.Option(
        _default("heartbeat_interval"), help="Shared storage: seconds between a running trial's heartbeats."
    ),
    heartbeat_grace: int = typer.Option(
        _default("heartbeat_grace"),
        help="Shared storage: seconds without a heartbeat before a trial is failed (reason kept), retried once.",
    ),
) -> None:
    """Search a space for the most accurate architecture within a MACs budget.

    Over-budget samples are costed analytically and never trained.

    Outputs in the run directory: study.db (optuna-dashboard opens it), best.yaml, leaderboard.csv, report.html.

    Run the same command again to resume.
    """
    _check_choice("--sampler", sampler, SAMPLERS)
    if baseline is not None:
        _check_choice("--baseline", baseline, BASELINES)
    if pruner is not None:
        _check_choice("--pruner", pruner, _off_last(PRUNERS))
    config = SearchConfig(
        budget=budget, n_trials=n_trials, timeout=timeout, epochs=epochs, seed=seed, sampler=sampler,
        feasible_start=feasible_start, baseline=baseline, baseline_seeds=baseline_seeds, pruner=pruner, study_name=study_name, max_params=max_params, max_memory=max_memory,
        save_weights=save_weights, scale_phi=_phis(scale_phi), confirm=confirm, confirm_seeds=confirm_seeds,
        measure_noise=measure_noise, reward=_reward(reward, objective), max_latency=max_latency,
        max_step_time=max_step_time, evaluator=evaluator, supernet_recipe=supernet_recipe,
        proxy_images=proxy_images, loader_workers=loader_workers, skip_bad_images=skip_bad_images,
        max_image_pixels=max_image_pixels,
        workers=workers, devices=devices, threads_per_worker=threads_per_worker,
        heartbeat_interval=heartbeat_interval, heartbeat_grace=heartbeat_grace,
    )  # fmt: skip
    from nasgen.runs import near_chance_warning, summary_table
    from nasgen.search import search as run_search

    try:
        result = run_search(
            config=config,
            space=space,
            data=data,
            out=out,
            storage=storage,
            enqueue=tuple(enqueue),
            proxy=_proxy_overrides(images_per_epoch, batch_size, lr, proxy_resolution, progressive),
            console=err_console,
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: completed trials are kept; run the same command again to resume")
        raise typer.Exit(130) from None
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    console.print(
        summary_table(result.study, result.leaderboard, result.study.user_attrs["budget_macs"]),
        soft_wrap=not console.is_terminal,  # logs and pipes keep whole lines, not 80 columns
    )
    resume = result.stopped.get("resume")
    if resume and result.not_started is None:
        err_console.print(f"note: {result.stopped['reason']}; {resume}", highlight=False, soft_wrap=True, markup=False)
    if result.best_spec is None:
        reason = result.not_started or _nothing_evaluated(result.study)
        message = f"error: {reason}; outputs in {result.out}"
        err_console.print(message, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2)  # the search ran (its trials are kept), but the settings left no architecture to use
    warning = near_chance_warning(result.leaderboard, result.best_spec.num_classes, epochs or _proxy_epochs(result))
    if warning is not None:
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True, markup=False)
    if result.best_partial:
        err_console.print(
            "note: the best result is partial (the time limit stopped its trial before the last epoch); run the "
            "same command again to retry it under the whole recipe",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    _print_noise(result)
    if result.confirmation is not None:
        from nasgen.cli.confirm import verdict_table

        console.print(verdict_table(result.confirmation), soft_wrap=not console.is_terminal)
        console.print(result.confirmation.text, highlight=False, soft_wrap=True, markup=False)
        console.print(f"recommended: written to {result.out / 'best.yaml'}", highlight=False)
    else:
        console.print(f"best: trial {result.best_trial}, written to {result.out / 'best.yaml'}", highlight=False)
    for path in result.family:
        console.print(f"scaled: {path}", highlight=False)


# `nasgen search --help` in groups, so that 40 options read at 80 columns (issue 31)
_PANELS = {
    "Budget and limits": ("budget", "max_params", "max_memory", "max_latency", "max_step_time"),
    "What is searched and how it is scored": ("space", "data", "enqueue", "evaluator", "supernet_recipe", "reward",
                                              "objective"),
    "Trials": ("n_trials", "timeout", "seed", "sampler", "pruner"),
    "Sampling against random (docs/search.md)": ("feasible_start", "baseline", "baseline_seeds"),
    "Proxy training": ("epochs", "images_per_epoch", "batch_size", "lr", "proxy_resolution", "progressive",
                       "measure_noise"),
    "Folder and list data": ("proxy_images", "loader_workers", "skip_bad_images", "max_image_pixels"),
    "Outputs and confirmation": ("out", "study_name", "save_weights", "scale_phi", "confirm", "confirm_seeds"),
    "Scale-out": ("storage", "workers", "devices", "threads_per_worker", "heartbeat_interval", "heartbeat_grace"),
}


def _group_options() -> None:
    import inspect

    panel_of = {name: panel for panel, names in _PANELS.items() for name in names}
    for name, parameter in inspect.signature(search).parameters.items():
        parameter.default.rich_help_panel = panel_of[name]


def register(app: typer.Typer) -> None:
    """Add ``nasgen search`` to the app (the command is the module-level :func:`search`)."""
    _group_options()
    app.command("search")(search)


def _reward(reward: str, objective: str | None) -> str:
    """``--reward``, or the deprecated ``--objective`` (with a note) when that is what was given."""
    if objective is None:
        return reward
    from nasgen.config import SearchConfig

    SearchConfig(budget=1, reward=objective)  # a bad value is its one error line (SearchError), before any note
    err_console.print("note: --objective is deprecated; it is now --reward (the same values)", highlight=False,
                      soft_wrap=True, markup=False)
    return objective


def _print_noise(result) -> None:
    """Say which leaderboard differences are within the proxy's noise (ties), or that the noise is unknown."""
    from nasgen.runs import tie_note

    note = tie_note(result.leaderboard, result.study.user_attrs)
    if note:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)


def _proxy_epochs(result) -> int | None:
    import json

    proxy = result.study.user_attrs.get("proxy")
    try:
        return int(json.loads(proxy)["epochs"]) if proxy else None
    except (ValueError, KeyError, TypeError):
        return None


def _nothing_evaluated(study) -> str:
    from nasgen.runs import Run

    counts = Run(study).state_counts()
    infeasible = counts.get("infeasible", 0)
    text = (
        f"no architecture was evaluated in {sum(counts.values())} trial(s): {infeasible} over the limits (never "
        f"trained), {counts.get('pruned', 0)} pruned, {counts.get('failed', 0)} failed"
        + (f", {counts['interrupted']} interrupted" if counts.get("interrupted") else "")
    )
    if infeasible:
        text += "; raise the budget or --n-trials (the same command resumes the study)"
    return text
