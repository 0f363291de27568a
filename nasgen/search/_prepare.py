"""What a search settles before its first trial: the space, the proxy recipe, the study's name and recorded
settings, whether the budget can be met, and the hardware costs it predicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasgen.config import SearchConfig
from nasgen.errors import BudgetError
from nasgen.search._data import DataOptions, SearchData
from nasgen.search._run import space_name
from nasgen.search._study import space_dimensions
from nasgen.search.evaluators import Evaluator
from nasgen.search.objective import Limits, Objective
from nasgen.search.samplers import N_OBJECTIVES, make_pruner
from nasgen.units import format_count

__all__ = [
    "LOW_SHARE",
    "budget_note",
    "check_reachable",
    "compact",
    "hardware_cost",
    "load_search_space",
    "proxy_recipe",
    "study_meta",
    "validate_choices",
]


def load_search_space(space: Any) -> tuple[Any, str]:
    """The :class:`~nasgen.space.SearchSpace` and its short name: a built-in name, a plugin's space (hook
    ``nasgen_search_spaces``), a YAML path or a space object.

    Raises:
        SpecError: Unknown name or malformed file.
    """
    from nasgen.space import builtin_space_files, load_space

    if isinstance(space, str) and space not in builtin_space_files() and not Path(space).exists():
        from nasgen.hooks import load_plugins

        registry = load_plugins()
        if space in registry.search_spaces:
            return registry.search_space(space), space
    if isinstance(space, (str, Path)):
        return load_space(space), space_name(space)
    return space, str(getattr(space, "name", None) or "custom")


def compact(value: int) -> str:
    """A budget as it appears in a study name: ``400M``, ``1.5G``."""
    text = format_count(value, precision=3)
    number, suffix = (text[:-1], text[-1]) if text[-1].isalpha() else (text, "")
    return number.rstrip("0").rstrip(".") + suffix if "." in number else number + suffix


def validate_choices(sampler: str, pruner: str | None) -> int:
    """The sampler's number of objectives; an explicit pruner the sampler cannot use is refused.

    Raises:
        SearchError: A pruner given with NSGA-II (the names themselves were checked by ``SearchConfig``).
    """
    n_objectives = N_OBJECTIVES[sampler]
    make_pruner(pruner if pruner is not None else "none", epochs=1, n_objectives=n_objectives)
    return n_objectives


def proxy_recipe(proxy: Any, epochs: int | None, need: bool) -> Any:
    """The proxy :class:`~nasgen.config.TrainConfig`: ``proxy`` itself, or overrides of the device's default
    recipe; ``epochs`` overrides its epochs. None when no recipe is needed (a stand-in scorer without data)."""
    if not need:
        return None
    from nasgen.train import TrainConfig, default_proxy

    config = proxy if isinstance(proxy, TrainConfig) else default_proxy().replace(**dict(proxy or {}))
    if epochs is not None:
        config = config.replace(epochs=epochs, warmup_epochs=min(config.warmup_epochs, float(epochs)))
    return config


def check_reachable(space: Any, limits: Limits, freeze_kwargs: Mapping[str, Any]) -> list[str]:
    """Refuse a budget below the space's smallest architecture; note one above its largest (no constraint).

    Raises:
        BudgetError: Even the smallest architecture of the space exceeds the budget.
    """
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


LOW_SHARE = 0.10
"""Below this share of the space within the budget, the search warns: most samples will be infeasible."""


def budget_note(share: Any) -> str:
    """The search's start line on the share of the space within its budget (a
    :class:`~nasgen.space.BudgetShare`), a warning when even its interval's top is under :data:`LOW_SHARE`."""
    text = f"the budget {format_count(share.budget_macs)} MACs fits {share.describe()} of the space"
    if share.high < LOW_SHARE:
        text = (
            f"warning: only {text.removeprefix('the budget ')}: most samples will be over the budget (recorded "
            "infeasible, never trained) until the sampler learns the constraint; raise --budget or narrow the space "
            "(nasgen validate SPACE --budget B)"
        )
    return text


def _counted_for(freeze_kwargs: Mapping[str, Any]) -> str:
    # The search adapts the stem and classifier to the data; `nasgen validate` counts the space as written.
    if not freeze_kwargs:
        return ""
    return (
        f" (counted for this data: {freeze_kwargs['in_channels']} input channel(s), {freeze_kwargs['num_classes']} "
        "classes)"
    )


def study_meta(
    cfg: SearchConfig, space: Any, space_label: str, limits: Limits, data: SearchData, proxy: Any,
    evaluator: Evaluator,
) -> dict[str, Any]:
    """The settings a study is created with and a resumed one must match (``check_study_meta``)."""
    meta: dict[str, Any] = {
        "budget_macs": limits.budget_macs,
        "space": space_label,
        "space_dimensions": space_dimensions(space),
        "space_hash": space.content_hash(),
        "sampler": cfg.sampler,
        "max_params": limits.max_params,
        "max_memory": limits.max_memory,
        "data_fingerprint": data.fingerprint,  # by content, not path
        "proxy": None if proxy is None else json.dumps(proxy.model_dump(mode="json"), sort_keys=True),
        "evaluator": json.dumps(evaluator.settings(), sort_keys=True),
    }
    if data.streamed_images is not None:  # a resumed study must train its proxies on the same subset
        meta["proxy_images"] = data.streamed_images
    if cfg.reward != "accuracy" or cfg.max_latency is not None or cfg.max_step_time is not None:
        meta.update(objective=cfg.reward, max_latency_ms=cfg.max_latency, max_step_ms=cfg.max_step_time)
    return meta


def run_record(data: SearchData, options: DataOptions, save_weights: bool) -> dict[str, Any]:
    """Study attributes written on every run and never compared: how the data was read (a resume may move the data
    or add ``--skip-bad-images``; its fingerprint is compared instead), which ``confirm`` reads the data back with;
    and whether weights are kept (what ``export`` explains a missing weights file with)."""
    record: dict[str, Any] = {"data_options": options.recorded(), "save_weights": bool(save_weights)}
    if data.cache_file is not None:
        record["proxy_cache"] = data.cache_file
    if data.cache_px is not None:
        record["proxy_cache_px"] = data.cache_px
    return record


def hardware_cost(
    cfg: SearchConfig,
    limits: Limits,
    evaluator: Evaluator,
    proxy: Any,
    objective: Objective,
    freeze_kwargs: Mapping[str, Any],
    console: Any,
    calibration: list[Any],
) -> Any:
    """The search's :class:`~nasgen.search.objective.HardwareCost`, or None when only MACs and accuracy matter
    (the ``v2`` reference is B0 with the classes and channels the search's architectures have)."""
    if cfg.reward == "accuracy" and cfg.max_latency is None and cfg.max_step_time is None:
        return None
    from nasgen.search.objective import HardwareCost
    from nasgen.spec import load_spec

    batch = evaluator.batch_size or (proxy.batch_size if proxy is not None else 128)
    return HardwareCost(
        cfg.reward,
        budget_macs=limits.budget_macs,
        max_latency_ms=cfg.max_latency,
        max_step_ms=cfg.max_step_time,
        proxy_batch=int(batch),
        proxy_px=lambda spec: objective.evaluator_px(spec) or spec.resolution_px,
        reference=load_spec("efficientnet-b0").replace(**freeze_kwargs),
        console=console,
        calibration=calibration,
    )


def feasible_start(space: Any, limits: Any, freeze_kwargs: Any, seed: int) -> Any:
    """``wrap(sampler)`` giving ``sampler`` a feasible start within ``limits`` (``FeasibleStartSampler``)."""
    import functools

    from nasgen.search.objective import feasible_draw
    from nasgen.search.samplers import FeasibleStartSampler

    draw = functools.partial(feasible_draw, space, limits, freeze_kwargs=dict(freeze_kwargs))
    return lambda sampler: FeasibleStartSampler(sampler, draw, seed)
