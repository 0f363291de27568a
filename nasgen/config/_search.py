"""Search settings: one model with the defaults that :func:`nasgen.search.search` and ``nasgen search`` share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, field_validator

from nasgen.config._base import ConfigModel, parsed_already
from nasgen.config._supernet import SUPERNET_PRESETS
from nasgen.config._data import DEFAULT_MAX_IMAGE_PIXELS, MaxImagePixels
from nasgen.errors import SearchError
from nasgen.units import parse_bytes, parse_count, parse_duration_ms, parse_macs

__all__ = [
    "BASELINES",
    "EVALUATORS",
    "ZERO_COST_SCORES",
    "DEFAULT_HEARTBEAT_GRACE_S",
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_N_TRIALS",
    "DEFAULT_TIMEOUT_S",
    "PRUNERS",
    "REWARDS",
    "SAMPLERS",
    "SearchConfig",
]

#: Sampler names, their one home; ``nasgen.search.samplers`` holds a factory for each (checked at its import).
SAMPLERS = ("tpe", "random", "nsga2", "evolution")
#: Pruner names; ``"none"`` turns pruning off.
PRUNERS = ("none", "median", "hyperband")
#: Rewards of the search (``nasgen.search.objective``): proxy top-1, the MnasNet reward, the EfficientNetV2 one.
REWARDS = ("accuracy", "mnasnet", "v2")
#: Baseline samplers of ``--baseline`` (the report draws their band beside the search's curve).
BASELINES = ("random",)

#: Built-in evaluators (``nasgen.search.evaluators``): proxy training from scratch, a weight-sharing supernet, the
#: zero-cost scores; plugins may
#: add more (hook ``nasgen_evaluators``), so other well-formed names are checked by the search, not here.
EVALUATORS = ("proxy", "supernet", "zero-cost")
#: The zero-cost scores of ``zero-cost:<score>`` (``nasgen.train.ZERO_COST_SCORES`` implements each; checked there).
ZERO_COST_SCORES = ("synflow", "naswot", "grad_norm", "snip")

DEFAULT_N_TRIALS = 20
DEFAULT_TIMEOUT_S = 600.0
"""Defaults that keep the bare ``nasgen search --budget 400M`` inside 15 minutes on a 2-core CPU."""

DEFAULT_HEARTBEAT_INTERVAL_S = 30
DEFAULT_HEARTBEAT_GRACE_S = 120
"""A running trial on a shared storage beats every 30 s; one silent for 120 s is failed (reason kept) and retried."""


class SearchConfig(ConfigModel):
    """How to search: the budget and limits, the trial count and time, the sampler, the objective, scale-out.

    Sizes and times are given as numbers or with units (``"400M"``, ``"1.5G"``, ``"5ms"``) and stored parsed,
    in the unit each attribute names. What is not a setting — the space, the data, the run directory, the
    storage, architectures to enqueue, the proxy recipe, a stand-in scorer, callbacks, the console — is an
    argument of :func:`nasgen.search.search`.

    Attributes:
        budget: MACs budget (conv + linear MACs at the architecture's resolution, batch 1; docs/design.md),
            given as ``"400M"``, ``"1.5G"`` or ``400000000``; required.
        max_params: Parameter limit (``"5M"``), checked before training like the budget; ``None`` (default) = none.
        max_memory: Activation-memory limit in bytes (``"50M"``); ``None`` (default) = none.
        max_latency: Predicted inference latency limit at batch 1 on this device, in ms (``"5ms"``, ``"0.02s"``),
            checked before training (per-block lookup tables, ``nasgen.cost.predict_latency``); default none.
        max_step_time: Predicted training-step limit at the proxy's batch and resolution, in ms (``"300ms"``).
        evaluator: What scores a feasible architecture (``nasgen.search.evaluators``): ``"proxy"`` (default; trained
            from scratch briefly), ``"supernet"`` (one weight-sharing supernet trained once per study, each subnet
            scored in seconds: docs/supernet.md), ``"zero-cost:<score>"`` (a score at initialization: synflow,
            naswot, grad_norm, snip), or a plugin's evaluator.
        supernet_recipe: With ``evaluator="supernet"``: the supernet's recipe, ``"quick"`` (minutes on a CPU, for
            trying things), ``"cpu"`` or ``"gpu"`` (default ``None``: ``"gpu"`` on CUDA, else ``"cpu"``).
        reward: The objective (default ``"accuracy"``, proxy top-1), ``"mnasnet"`` (ACC·(C/T)^−0.07, EfficientNet
            §4 / MnasNet §3) or ``"v2"`` (A·S^−0.07·P^−0.05, EfficientNetV2 §3.3).
        n_trials: Finished trials (complete, infeasible, reused or pruned) the study should hold (default 20).
        timeout: Seconds a call may run (default 600); no new trial starts when the mean trial would not fit;
            ``None`` = no limit.
        epochs: Proxy epochs, overriding the proxy recipe's (default ``None``: the recipe's).
        seed: Seed of the sampler and of every proxy training run (default 0).
        sampler: ``"tpe"`` (default), ``"random"``, ``"nsga2"`` (accuracy vs MACs, Pareto front) or
            ``"evolution"`` (regularized evolution, population 50, tournament 25; random for the first 50 trials).
        feasible_start: Draw each sampler's random startup trials within the analytic limits (MACs, params, memory)
            instead of over the whole space (TPE's first 10, evolution's first 50, NSGA-II's first generation, every
            trial of ``random``); the draws rejected are counted on the trial, never trials (default True;
            ``--no-feasible-start`` samples the whole space; ``nasgen.search.samplers.FeasibleStartSampler``, docs/search.md).
        baseline: ``"random"``: after the search, run ``baseline_seeds`` random searches of ``n_trials`` trials each on
            the same space, budget and evaluator, apart from the study (``<out>/baseline/random-<k>/``), and store
            their best-so-far curves in ``<out>/baseline-random.json``, which the report draws as a band beside
            the search's own curve (default ``None``: none; ``nasgen.runs.read_baseline``, docs/search.md).
        baseline_seeds: Random searches of the baseline (default 3; seeds ``seed + 1`` …).
        pruner: ``"median"``, ``"hyperband"`` or ``"none"``; ``None`` (default) is ``"median"``, or ``"none"``
            under ``nsga2``, where Optuna cannot prune (another pruner with ``nsga2`` is refused by the search).
        study_name: Study name (default ``None``: ``<space>-<budget>``, e.g. ``efficientnet-v1-400M``).
        save_weights: Keep the best trial's proxy weights as ``trials/<n>/weights.safetensors`` (default False).
        scale_phi: Compound-scaling φ values (EfficientNet §3.3): the best architecture's scaled family is
            written to ``scaled/<name>-phi<φ>.yaml`` (default none).
        confirm: After the search, confirm its top ``confirm`` architectures and every enqueued baseline with
            ``confirm_seeds`` seeds under 2× the proxy's epochs (default 0 = no confirmation).
        confirm_seeds: Seeds per architecture of the confirmation (default 3, at least 2).
        measure_noise: Retrain the first evaluated architecture with this many more seeds under the proxy, once
            per study, and record the proxy's seed sd that the leaderboard's ties use (default 0).
        proxy_images: Folder or list data: the proxy trains on this many files (class-balanced), decoded once into
            a uint8 cache shared by every trial (default ``None`` = 12,000, the embedded proxy's data size).
        loader_workers: Decode processes for building that cache (default ``None`` = cores − 1, 1…8).
        skip_bad_images: Leave undecodable files out of the cache (listed in the notes) instead of failing.
        max_image_pixels: A file claiming more pixels (width × height, from its header) is a bad image, refused or
            skipped as above (a decompression bomb); default PIL's own limit, 89,478,485 px.
        workers: Worker processes on this machine sharing the study (default 1); above 1 the default storage is
            a JournalStorage ``<out>/study.log`` and SQLite is refused.
        devices: ``"cpu"`` or GPU indices ``"0,1"`` for the workers, round robin (default: every GPU, else CPU).
        threads_per_worker: Intra-op threads of each worker (default: the cores divided by ``workers``).
        heartbeat_interval: Seconds between heartbeats of a running trial on a shared storage (default 30).
        heartbeat_grace: Seconds without a heartbeat after which the trial is failed (reason recorded) and
            retried once (default 120).

    Raises:
        BudgetError: A malformed budget, size or time limit (``"400Q"``, ``"-1ms"``).
        SearchError: An unknown sampler, pruner or reward; ``n_trials`` < 1; a timeout that is not positive.
        SpecError: Any other bad value or an unknown setting, naming it.

    Example:
        >>> SearchConfig(budget="400M", n_trials=50).budget
        400000000
    """

    budget: int
    max_params: int | None = None
    max_memory: int | None = None
    max_latency: float | None = None
    max_step_time: float | None = None
    evaluator: str = "proxy"
    supernet_recipe: Literal[SUPERNET_PRESETS] | None = None
    reward: Literal[REWARDS] = "accuracy"
    n_trials: int = DEFAULT_N_TRIALS
    timeout: float | None = DEFAULT_TIMEOUT_S
    epochs: int | None = Field(None, ge=1)
    seed: int = 0
    sampler: Literal[SAMPLERS] = "tpe"
    feasible_start: bool = True
    baseline: Literal[BASELINES] | None = None
    baseline_seeds: int = Field(3, ge=1)
    pruner: Literal[PRUNERS] | None = None
    study_name: str | None = None
    save_weights: bool = False
    scale_phi: tuple[float, ...] = ()
    confirm: int = 0
    confirm_seeds: int = 3
    measure_noise: int = Field(0, ge=0)
    proxy_images: int | None = Field(None, ge=2)
    loader_workers: int | None = Field(None, ge=0)
    skip_bad_images: bool = False
    max_image_pixels: MaxImagePixels = DEFAULT_MAX_IMAGE_PIXELS
    # checked where they are used (nasgen.search.workers / nasgen.runs.storage), with messages that name the option
    workers: int = 1
    devices: str | None = None
    threads_per_worker: int | None = None
    heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL_S
    heartbeat_grace: int = DEFAULT_HEARTBEAT_GRACE_S

    @field_validator("budget", mode="before")
    @classmethod
    def _parse_budget(cls, value: Any, info: Any) -> int:
        return value if parsed_already(info) else parse_macs(value)

    @field_validator("max_params", mode="before")
    @classmethod
    def _parse_params(cls, value: Any, info: Any) -> int | None:
        return value if value is None or parsed_already(info) else parse_count(value, what="max-params")

    @field_validator("max_memory", mode="before")
    @classmethod
    def _parse_memory(cls, value: Any, info: Any) -> int | None:
        return value if value is None or parsed_already(info) else parse_bytes(value)

    @field_validator("max_latency", "max_step_time", mode="before")
    @classmethod
    def _parse_time(cls, value: Any, info: Any) -> float | None:
        if value is None or parsed_already(info):
            return value
        return parse_duration_ms(value, what=info.field_name.replace("_", "-"))

    @field_validator("evaluator", mode="before")
    @classmethod
    def _known_evaluator(cls, value: Any) -> Any:
        return check_evaluator(value)

    @field_validator("reward", mode="before")
    @classmethod
    def _known_reward(cls, value: Any) -> Any:
        return _choice("reward", value, REWARDS)

    @field_validator("sampler", mode="before")
    @classmethod
    def _known_sampler(cls, value: Any) -> Any:
        return _choice("sampler", value, SAMPLERS)

    @field_validator("pruner", mode="before")
    @classmethod
    def _known_pruner(cls, value: Any) -> Any:
        return None if value is None else _choice("pruner", value, PRUNERS)

    @field_validator("n_trials", mode="before")
    @classmethod
    def _positive_trials(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SearchError(f"n_trials: must be a positive integer, got {value!r}")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _positive_timeout(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise SearchError(f"timeout: must be a positive number of seconds, got {value!r}")
        return value

    @field_validator("scale_phi", mode="before")
    @classmethod
    def _phi_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else value


_EVALUATOR_NAME = re.compile(r"^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]+)?$")


def check_evaluator(value: Any) -> str:
    """An ``--evaluator`` value: a built-in name, ``zero-cost:<score>``, or a well-formed plugin name.

    Raises:
        SearchError: Not a name, a built-in name with a wrong argument, or an unknown zero-cost score.
    """
    known = f"{', '.join(EVALUATORS)} (zero-cost:<score> with one of {', '.join(ZERO_COST_SCORES)}) or a plugin's"
    if not isinstance(value, str) or not _EVALUATOR_NAME.match(value):
        raise SearchError(f"evaluator: expected {known}, got {value!r}")
    name, _, argument = value.partition(":")
    if name == "zero-cost" and argument not in ZERO_COST_SCORES:
        raise SearchError(f"evaluator: zero-cost needs one of {', '.join(ZERO_COST_SCORES)} (zero-cost:synflow), got "
                          f"{value!r}")
    if name in EVALUATORS and name != "zero-cost" and argument:
        raise SearchError(f"evaluator: {name!r} takes no argument, got {value!r}")
    return value


def _choice(what: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise SearchError(f"{what}: expected one of {', '.join(allowed)}, got {value!r}")
    return value
