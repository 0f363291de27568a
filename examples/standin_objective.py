"""A search with a stand-in objective, then the verdict (``nasgen.confirm``) on it — no training at all.

``nasgen.run_search(..., objective=f)`` scores each sampled architecture with ``f(spec) -> float`` instead of a
proxy training: useful to try a space, a budget or a sampler in seconds, to plug in your own evaluator (a
lookup table, a predictor, a remote job), or in tests. Budgets, infeasible samples, the leaderboard and
``best.yaml`` work as in a real search.

The verdict then treats the score as what it is, a noisy number: ``nasgen.confirm(run, objective=g)``
re-scores the top architectures with several seeds (``g(spec, seed)``, here the stand-in plus seeded noise
of sd 2 points), and recommends the *cheapest* architecture whose mean is not significantly below the best
(one-sided Welch t-test at 5 %): a difference smaller than the noise is a tie, never a win. The same as
``nasgen confirm RUN --top 3 --seeds 3`` after a real search.

Run: ``python examples/standin_objective.py [--trials 12] [--out runs/examples/standin]``
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import nasgen
from nasgen import ArchSpec

HERE = Path(__file__).parent


def standin(spec: ArchSpec) -> float:
    """A made-up accuracy that grows with MACs and saturates (bigger is better, but less and less)."""
    return 0.92 - 0.4 * math.exp(-nasgen.count_cost(spec).macs / 1e6)


def standin_with_seed(spec: ArchSpec, seed: int) -> float:
    """The stand-in as one seeded training run would give it: plus noise of sd 0.02 (2 points)."""
    return standin(spec) + random.Random(f"{spec.content_hash()}:{seed}").gauss(0.0, 0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("runs/examples/standin"))
    args = parser.parse_args()

    result = nasgen.run_search("5M", space=HERE / "small_space.yaml", objective=standin, n_trials=args.trials,
                               sampler="random", seed=0, out=args.out)
    print(f"searched {len(result.leaderboard)} feasible architectures; best trial {result.best_trial}: "
          f"{result.best_value:.4f}, {nasgen.count_cost(result.best_spec).macs} MACs")

    verdict = nasgen.confirm(result.out, top=3, seeds=3, objective=standin_with_seed)
    for candidate in verdict.candidates:
        print(f"  {candidate.label}: {candidate.shown()}, {candidate.macs} MACs, "
              f"p = {candidate.p_vs_best:.3f}{' tie' if candidate.tied else ''}"
              f"{' <- recommended' if candidate.recommended else ''}")
    print(f"recommended: {verdict.recommended.label}, {verdict.recommended.macs} MACs")
    print(f"confirm.csv: {verdict.csv_path}")


if __name__ == "__main__":
    main()
