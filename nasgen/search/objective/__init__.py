"""The Optuna objective: suggest by label → freeze → cost → (infeasible | reused | evaluated) → recorded.

:class:`Objective` is what ``study.optimize`` calls; :class:`Limits` are the cost limits checked before any model is
built; :func:`suggest_params` turns a space into ``suggest_*`` calls; :class:`HardwareCost` adds predicted latency
and step time as limits and the papers' rewards (MnasNet / EfficientNet ACC·(C/T)^−0.07, EfficientNetV2
A·S^−0.07·P^−0.05).
"""

from nasgen.search.objective._hardware import OBJECTIVES, HardwareCost, Reward, reward
from nasgen.search.objective._limits import Limits, feasible_draw
from nasgen.search.objective._objective import WORST_VALUE, Objective
from nasgen.search.objective._suggest import suggest_params, suggestable_params

__all__ = [
    "OBJECTIVES",
    "WORST_VALUE",
    "HardwareCost",
    "Limits",
    "Objective",
    "Reward",
    "feasible_draw",
    "reward",
    "suggest_params",
    "suggestable_params",
]
