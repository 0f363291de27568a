"""Evaluators: what scores one feasible architecture — behind one base (:class:`Evaluator`), built by one factory.

- ``proxy`` (default): each architecture trained from scratch, briefly, on real data;
- ``supernet``: scored in seconds by a weight-sharing supernet derived from the space, trained once per study;
- ``zero-cost:<score>``: a score at initialization (synflow, naswot, grad_norm, snip), no training;
- a stand-in ``f(spec) -> float`` (``search(objective=…)``), and evaluators of plugins (hook ``nasgen_evaluators``).

Whatever scored a trial is in its record (``TrialRecord.evaluator``); the confirmation always retrains from
scratch, so a verdict never rests on shared weights or a zero-cost score.
"""

from nasgen.search.evaluators._base import Evaluation, Evaluator, OnEpoch
from nasgen.search.evaluators._factory import (
    BUILTIN_EVALUATORS,
    EvaluatorContext,
    evaluator_names,
    make_evaluator,
    split_name,
)
from nasgen.search.evaluators._proxy import ProxyEvaluator, release_heap
from nasgen.search.evaluators._scorer import ScorerEvaluator
from nasgen.search.evaluators._supernet import SupernetEvaluator
from nasgen.search.evaluators._zero_cost import ZeroCostEvaluator

__all__ = [
    "BUILTIN_EVALUATORS",
    "Evaluation",
    "Evaluator",
    "EvaluatorContext",
    "OnEpoch",
    "ProxyEvaluator",
    "ScorerEvaluator",
    "SupernetEvaluator",
    "ZeroCostEvaluator",
    "evaluator_names",
    "make_evaluator",
    "release_heap",
    "split_name",
]
