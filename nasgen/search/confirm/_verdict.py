"""Statistics of the verdict: seed spread, confidence intervals, and which architectures are tied.

A proxy or confirmation score is one draw from a seed distribution, so a comparison is a test, not a
subtraction. For each architecture trained with n seeds: mean, sample standard deviation (n − 1), and a 95 %
Student-t interval. Two architectures are compared by Welch's unequal-variance t-test (Welch 1947), one-sided:
H₁ "the best architecture's mean is higher". An architecture whose p-value is at least ``alpha`` (5 %) is *not
significantly worse* than the best — a tie, never a loss or a win. The recommendation is the cheapest such
architecture (MnasNet and EfficientNet pick by accuracy under a cost; this picks by cost among the accuracy ties).

The t distribution is computed here (regularized incomplete beta function by Lentz's continued fraction,
Numerical Recipes §6.4), so the runtime needs no SciPy; the tests check it against SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ALPHA",
    "Summary",
    "recommend",
    "student_t_sf",
    "student_t_ppf",
    "summarize",
    "summarize_accuracy",
    "welch_one_sided",
]

ALPHA = 0.05
"""Significance level of "significantly worse" (one-sided)."""


def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (``df`` may be fractional, as Welch's)."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if t * t < df:  # near 0: df/(df+t²) rounds to 1, so use the complementary argument t²/(df+t²)
        tail = 0.5 - 0.5 * _betainc(0.5, df / 2.0, t * t / (df + t * t))
    else:
        tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def student_t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (0 < q < 1), by bisection."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    low, high = -1e6, 1e6
    for _ in range(200):
        mid = 0.5 * (low + high)
        if 1.0 - student_t_sf(mid, df) < q:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Summary:
    """The seed distribution of one architecture's score.

    Attributes:
        n: Number of seeds.
        mean: Mean score (fraction for accuracies).
        sd: Sample standard deviation (n − 1 in the denominator); 0 for n = 1.
        ci_low: Lower end of the 95 % Student-t interval of the mean (= mean for n = 1).
        ci_high: Upper end.
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


def summarize(values: Sequence[float], level: float = 0.95) -> Summary:
    """Mean, sample sd and the ``level`` Student-t interval of ``values``.

    Raises:
        ValueError: No values.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarize")
    mean = math.fsum(values) / n
    if n == 1:
        return Summary(1, mean, 0.0, mean, mean)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = student_t_ppf(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)


_LOGIT_CLIP = 1e-4
"""Accuracies of exactly 0 or 1 enter the logit scale as ``1e-4`` / ``1 − 1e-4`` (a finite, very wide end)."""


def _logit(p: float) -> float:
    p = min(max(p, _LOGIT_CLIP), 1.0 - _LOGIT_CLIP)
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def summarize_accuracy(values: Sequence[float], level: float = 0.95) -> Summary:
    """:func:`summarize` for accuracies (fractions in [0, 1]): the same mean and sd, and a ``level`` interval that
    stays inside [0, 1] — the Student-t interval of the seeds' logits, ``log(p / (1 − p))``, mapped back (a
    bounded-outcome interval: symmetric on the logit scale, so it narrows towards 0 and 1 as accuracies can only
    approach them; where the seeds are far from the bounds it matches the plain t interval to a few hundredths of a
    point). With three seeds a plain t interval of [63.18, 106.27] % said nothing true above 100 %.

    Raises:
        ValueError: No values, or a value outside [0, 1].
    """
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"summarize_accuracy: accuracies must lie in [0, 1], got {list(values)!r}")
    plain = summarize(values, level)
    if plain.n == 1:
        return plain
    logits = summarize([_logit(v) for v in values], level)
    return Summary(plain.n, plain.mean, plain.sd, _expit(logits.ci_low), _expit(logits.ci_high))


def welch_one_sided(best: Sequence[float], other: Sequence[float]) -> float:
    """One-sided Welch t-test p-value of H₁ "mean(best) > mean(other)".

    A large p-value means ``other`` is not significantly worse. With no spread in either sample the test
    degenerates: p = 0.5 for equal means, else 0 (``best`` higher) or 1.

    Raises:
        ValueError: A sample with fewer than 2 values (no spread to test with).
    """
    if len(best) < 2 or len(other) < 2:
        raise ValueError("Welch's test needs at least 2 seeds per architecture")
    a, b = summarize(best), summarize(other)
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    diff = a.mean - b.mean
    if va + vb == 0.0:
        return 0.5 if diff == 0 else (0.0 if diff > 0 else 1.0)
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va**2 / (a.n - 1) if va else 0.0) + (vb**2 / (b.n - 1) if vb else 0.0))
    return student_t_sf(t, df)


def recommend(
    scores: dict[str, Sequence[float]], costs: dict[str, float], alpha: float = ALPHA
) -> tuple[str, str, dict[str, float]]:
    """The cheapest architecture not significantly worse than the best.

    Args:
        scores: ``{key: per-seed scores}`` (≥ 2 seeds each).
        costs: ``{key: cost}`` (MACs, or latency when measured); lower is better.
        alpha: Significance level of the one-sided Welch test.

    Returns:
        ``(recommended key, best key, {key: p-value vs the best})``; the best's own p-value is 1.

    Raises:
        ValueError: No scores, or a key with fewer than 2 seeds.
    """
    if not scores:
        raise ValueError("nothing to recommend from")
    means = {key: math.fsum(values) / len(values) for key, values in scores.items()}
    best = max(means, key=lambda key: (means[key], -costs[key]))
    p_values = {key: (1.0 if key == best else welch_one_sided(scores[best], values)) for key, values in scores.items()}
    tied = [key for key in scores if p_values[key] >= alpha]
    chosen = min(tied, key=lambda key: (costs[key], -means[key]))
    return chosen, best, p_values
