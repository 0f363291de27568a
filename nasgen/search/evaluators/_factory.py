"""One factory for every evaluator: the search, its workers and the confirmation build evaluators here.

``--evaluator NAME[:ARGUMENT]`` (``SearchConfig.evaluator``) picks the factory: the built-ins below, or one a plugin
contributes through the ``nasgen_evaluators`` hook. A factory is called as ``factory(context, argument)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nasgen.errors import SearchError
from nasgen.search.evaluators._base import Evaluator
from nasgen.search.evaluators._proxy import ProxyEvaluator
from nasgen.search.evaluators._scorer import ScorerEvaluator
from nasgen.search.evaluators._zero_cost import ZeroCostEvaluator
from nasgen.spec import ArchSpec

__all__ = ["BUILTIN_EVALUATORS", "EvaluatorContext", "evaluator_names", "make_evaluator", "split_name"]


@dataclass(frozen=True)
class EvaluatorContext:
    """What an evaluator may be built from, prepared once per study by the search (and rebuilt the same way by a
    worker process or by ``confirm``).

    Attributes:
        data: The prepared training data (small data as loaded; a streamed folder's proxy cache), or None for a
            stand-in scorer without data.
        proxy: The stand-alone proxy recipe (``nasgen.config.TrainConfig``), or None without data.
        seed: The study's seed.
        save_weights: Keep the trained weights of the best trial (``--save-weights``).
        scorer: A stand-in ``f(spec) -> float``, or None.
        options: Evaluator-specific settings (``supernet_recipe``: a preset name of ``nasgen.config``'s
            ``SUPERNET_PRESETS`` or a ``SupernetRecipe``).
        space: The search space (the supernet is derived from it).
        run_dir: The run directory (where a supernet is trained and found by workers).
    """

    data: Any = None
    proxy: Any = None
    seed: int = 0
    save_weights: bool = False
    scorer: Callable[[ArchSpec], float] | None = None
    options: dict[str, Any] | None = None
    space: Any = None
    run_dir: Any = None

    def option(self, name: str, default: Any = None) -> Any:
        """The setting ``name`` of ``options`` (None when not given)."""
        return (self.options or {}).get(name, default)

    def require_data(self, evaluator: str) -> None:
        """Raises: SearchError: ``evaluator`` needs data and a proxy recipe, and the search has neither."""
        if self.data is None or self.proxy is None:
            raise SearchError(f"evaluator {evaluator!r} trains on data: pass data (or drop the stand-in objective)")


def _proxy(context: EvaluatorContext, argument: str | None) -> Evaluator:
    _no_argument("proxy", argument)
    context.require_data("proxy")
    return ProxyEvaluator(context.data, context.proxy, seed=context.seed, keep_weights=context.save_weights)


def _zero_cost(context: EvaluatorContext, argument: str | None) -> Evaluator:
    if not argument:
        from nasgen.train import ZERO_COST_SCORES

        raise SearchError(f"evaluator 'zero-cost' needs a score: zero-cost:<score>, one of {', '.join(ZERO_COST_SCORES)}")
    context.require_data("zero-cost")
    return ZeroCostEvaluator(argument, context.data, context.proxy, seed=context.seed)


def _supernet(context: EvaluatorContext, argument: str | None) -> Evaluator:
    _no_argument("supernet", argument)
    context.require_data("supernet")
    from nasgen.search.evaluators._supernet import SupernetEvaluator
    from nasgen.supernet import default_supernet_recipe, supernet_recipe

    recipe = context.option("supernet_recipe")
    if recipe is None:
        recipe = default_supernet_recipe()
    elif isinstance(recipe, str):
        recipe = supernet_recipe(recipe)
    return SupernetEvaluator(context.space, context.data, recipe, seed=context.seed, run_dir=context.run_dir)


BUILTIN_EVALUATORS: dict[str, Callable[[EvaluatorContext, str | None], Evaluator]] = {
    "proxy": _proxy,
    "supernet": _supernet,
    "zero-cost": _zero_cost,
}
"""Evaluator factories by name (``nasgen.config.EVALUATORS`` lists the same names for the CLI)."""


def _no_argument(name: str, argument: str | None) -> None:
    if argument:
        raise SearchError(f"evaluator {name!r} takes no argument, got {name}:{argument}")


def split_name(text: str) -> tuple[str, str | None]:
    """``"zero-cost:synflow"`` → ``("zero-cost", "synflow")``; ``"proxy"`` → ``("proxy", None)``."""
    name, _, argument = str(text).partition(":")
    return name, (argument or None)


def _plugin_factories() -> dict[str, tuple[Any, str]]:
    from nasgen.hooks import load_plugins

    return dict(load_plugins().evaluators)


def evaluator_names() -> list[str]:
    """Every evaluator a search can use: the built-ins, then those of loaded plugins."""
    return [*BUILTIN_EVALUATORS, *(name for name in _plugin_factories() if name not in BUILTIN_EVALUATORS)]


def make_evaluator(name: str, context: EvaluatorContext) -> Evaluator:
    """The evaluator ``name`` (``proxy``, ``supernet``, ``zero-cost:<score>``, a plugin's) for ``context``; a
    stand-in scorer in the context wins over the name (``search(objective=…)``).

    Raises:
        SearchError: An unknown name (naming the known ones), an argument the evaluator does not take, a plugin
            evaluator clashing with a built-in one, a factory returning something that is not an Evaluator, or an
            evaluator that needs data where there is none.
    """
    if context.scorer is not None:
        return ScorerEvaluator(context.scorer)
    base, argument = split_name(name)
    plugins = _plugin_factories()
    for clash in set(plugins) & set(BUILTIN_EVALUATORS):
        raise SearchError(f"evaluator {clash!r} of plugin {plugins[clash][1]!r} clashes with the built-in evaluator")
    factory = BUILTIN_EVALUATORS.get(base) or (plugins[base][0] if base in plugins else None)
    if factory is None:
        raise SearchError(
            f"evaluator: expected one of {', '.join(evaluator_names())} (zero-cost takes zero-cost:<score>), got "
            f"{name!r}"
        )
    evaluator = factory(context, argument)
    if not isinstance(evaluator, Evaluator):
        raise SearchError(f"evaluator {name!r}: its factory returned {type(evaluator).__name__}, not an Evaluator")
    return evaluator
