"""Parsing and printing of counts such as ``400M`` MACs, ``5.3M`` params or ``1.5G`` bytes.

Suffixes are decimal (SI): ``K`` = 10³, ``M`` = 10⁶, ``G`` = 10⁹, ``T`` = 10¹². Units are parsed once,
at the edge (CLI options, YAML fields); inside nasgen every count is a plain ``int``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from nasgen.errors import BudgetError

__all__ = ["MAX_COUNT", "format_bytes", "format_count", "parse_bytes", "parse_count", "parse_duration_ms", "parse_macs"]

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([kKmMgGtT]?)\s*$")
MAX_COUNT = 10**18
"""Largest count accepted (10¹⁸; EfficientNet-B7 has 3.8·10¹⁰ MACs)."""


def _exact(mantissa: str, exponent: str | None, suffix: str, text: object, what: str) -> int:
    """``mantissa · 10^exponent · suffix`` in exact decimal arithmetic; an error unless a whole number."""
    number = Decimal(mantissa).scaleb(int(exponent) if exponent else 0) if len(exponent or "") < 8 else None
    if number is None or (number and number.adjusted() + len(str(_SUFFIX[suffix])) - 1 > 18):
        raise BudgetError(f"{what}: must be at most 1e18, got {text!r}")
    number *= _SUFFIX[suffix]
    if number != number.to_integral_value():
        hint = " (did you mean a suffix, e.g. 0.5M or 0.5G?)" if not suffix and number < 1 else ""
        raise BudgetError(f"{what}: must be a whole number, got {text!r} = {number.normalize():f}{hint}")
    return int(number)


def parse_count(text: str | int, *, what: str = "count") -> int:
    """Parse ``"400M"``, ``"1.5G"``, ``"400000000"`` or ``"4e8"`` into an ``int``, exactly.

    Decimal arithmetic (``"385.814752M"`` is 385,814,752, never a float's 385,814,751.99…); the result
    must be a whole number (``"2.5"`` and ``"1.0001K"`` are refused, not rounded). Suffixes K (or k), M, G
    (or g), T (or t); a lower-case ``m`` is refused, since it means milli.

    Args:
        text: The count, with an optional decimal suffix.
        what: Name of the quantity for the error message (``"budget"``, ``"max-params"``).

    Raises:
        BudgetError: The text is not a positive whole count of at most 10¹⁸, e.g. ``"40x"``, ``"-3M"``,
            ``"0"``, ``"2.5"``, ``"1m"`` or ``"1e400"``.
    """
    if isinstance(text, bool):
        raise BudgetError(f"{what}: expected a count like 400M, got {text!r}")
    if isinstance(text, int):
        value = text
    else:
        match = _PATTERN.match(str(text))
        if match is None:
            raise BudgetError(f"{what}: expected a count like 400M, 1.5G or 400000000, got {text!r}")
        mantissa, exponent, suffix = match.groups()
        if suffix == "m":
            raise BudgetError(f"{what}: 'm' means milli; write M for millions (e.g. 400M), got {text!r}")
        value = _exact(mantissa, exponent, suffix.upper(), text, what)
    if value <= 0:
        raise BudgetError(f"{what}: must be positive, got {text!r}")
    if value > MAX_COUNT:
        raise BudgetError(f"{what}: must be at most 1e18, got {text!r}")
    return value


def parse_macs(text: str | int) -> int:
    """Parse a MACs budget (multiply-accumulates of Conv2d and Linear layers), e.g. ``"400M"``.

    Raises:
        BudgetError: As :func:`parse_count`.
    """
    return parse_count(text, what="budget (MACs)")


def parse_bytes(text: str | int) -> int:
    """Parse a memory size in bytes with decimal suffixes (``"512M"`` = 512·10⁶ bytes).

    Raises:
        BudgetError: As :func:`parse_count`.
    """
    return parse_count(text, what="memory (bytes)")


def format_count(value: int | float, precision: int = 1) -> str:
    """Print a count with a decimal suffix: ``385814752 → "385.8M"``, ``5288548 → "5.3M"``."""
    for suffix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(value) >= scale:
            return f"{value / scale:.{precision}f}{suffix}"
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def format_bytes(value: int | float, precision: int = 1) -> str:
    """Print a byte size with decimal suffixes: ``12_500_000 → "12.5 MB"``."""
    for suffix, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if abs(value) >= scale:
            return f"{value / scale:.{precision}f} {suffix}"
    return f"{int(value)} B"


# "m" is minutes here (as in `timeout 5m` and Go's durations); milliseconds are "ms"
_DURATION_UNITS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0, "h": 3_600_000.0}


def parse_duration_ms(text: str | float, *, what: str = "duration") -> float:
    """Parse a time with its unit, ``"5ms"``, ``"0.3s"``, ``"800us"``, ``"5m"`` or ``"5min"``, ``"1h"``, into
    milliseconds.

    A bare number is refused: ``5`` could be seconds or milliseconds.

    Raises:
        BudgetError: No unit, an unknown unit, a number that is not positive and finite.
    """
    import math

    from nasgen.errors import BudgetError

    raw = str(text).strip()
    unit = next((u for u in sorted(_DURATION_UNITS, key=len, reverse=True) if raw.endswith(u)), None)
    if unit is None:
        raise BudgetError(f"{what}: give a unit (ms, s, us, m = minutes, h), e.g. 5ms, got {text!r}")
    try:
        value = float(raw[: -len(unit)].strip())
    except ValueError:
        raise BudgetError(f"{what}: expected a number and a unit, e.g. 5ms, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise BudgetError(f"{what}: must be a positive time, e.g. 5ms, got {text!r}")
    return value * _DURATION_UNITS[unit]
