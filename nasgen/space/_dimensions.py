"""Search dimensions: a fixed value, a choice among values, or an integer range (NNI ``nni.mutable`` style).

A dimension is a finite, ordered domain of plain values (``int``, ``float``, ``str``, ``bool``). In a YAML
space each field is written as a scalar (:class:`Fixed`), a list (:class:`Choice`) or a mapping
``{low, high, step}`` (:class:`IntRange`); :func:`parse_dimension` turns that form into a dimension and
:func:`dimension_to_data` turns it back.
"""

from __future__ import annotations

import abc

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nasgen.errors import SpecError, short_repr

__all__ = ["MAX_CHOICES", "Choice", "Dimension", "Fixed", "IntRange", "dimension_to_data", "parse_dimension"]

_SCALARS = (bool, int, float, str)

MAX_CHOICES = 4096
"""Most values of one :class:`Choice` (each is checked against the spec when a space is read)."""


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` (YAML ``true`` is never an integer here)."""
    return isinstance(a, bool) == isinstance(b, bool) and type(a) in _SCALARS and a == b


def _listing(values: tuple[Any, ...], limit: int = 8) -> str:
    shown = [repr(v) for v in values[:limit]]
    if len(values) > limit:
        return ", ".join(shown) + f", … ({len(values)} values)"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" or {shown[-1]}"


class Dimension(abc.ABC):
    """Base class of the three dimension kinds: a finite, ordered domain of plain values.

    Subclasses are frozen dataclasses. ``len(dim)`` is the number of values, ``value in dim`` tests
    membership (``True`` is not ``1``), :meth:`values` enumerates in order.
    """

    @abc.abstractmethod
    def values(self) -> tuple[Any, ...]:
        """Every value of the domain, in order."""

    def __len__(self) -> int:
        return len(self.values())

    def __contains__(self, value: object) -> bool:
        return any(_same(value, v) for v in self.values())

    def canonical(self, value: Any) -> Any:
        """The domain's own copy of ``value`` (``0`` → ``0.0`` in a float choice).

        Raises:
            SpecError: ``value`` is not in the domain (the message echoes it and the domain).
        """
        for candidate in self.values():
            if _same(value, candidate) or (
                type(value) is int and type(candidate) is float and float(value) == candidate
            ):
                return candidate
        raise SpecError(f"must be {self.describe()}, got {short_repr(value)}", value=value)

    def sample(self, rng: random.Random) -> Any:
        """One value drawn uniformly with ``rng`` (never the global RNG)."""
        values = self.values()
        return values[rng.randrange(len(values))]

    def describe(self) -> str:
        """Human description of the domain, e.g. ``"3 or 5"`` or ``"an integer in [1, 4] step 1"``."""
        return _listing(self.values())


@dataclass(frozen=True)
class Fixed(Dimension):
    """A field fixed to one value; not a search dimension.

    Args:
        value: The value (``int``, ``float``, ``str`` or ``bool``).

    Raises:
        SpecError: ``value`` is not a plain scalar.
    """

    value: Any

    def __post_init__(self) -> None:
        if type(self.value) not in _SCALARS:
            raise SpecError(
                f"a fixed value must be a number, a string or a bool, got {short_repr(self.value)}", value=self.value
            )

    def values(self) -> tuple[Any, ...]:
        return (self.value,)


@dataclass(frozen=True, init=False)
class Choice(Dimension):
    """A categorical dimension: one of ``choices``, in the given order (Optuna ``suggest_categorical``).

    Args:
        choices: At least one distinct plain scalar, e.g. ``[3, 5]`` or ``["mbconv", "fused_mbconv"]``.

    Raises:
        SpecError: ``choices`` is empty, holds a duplicate or a non-scalar.
    """

    choices: tuple[Any, ...]

    def __init__(self, choices: Iterable[Any]) -> None:
        if isinstance(choices, (str, bytes, dict)) or not isinstance(choices, Iterable):
            raise SpecError(f"choices must be a list of values, got {short_repr(choices)}", value=choices)
        values = tuple(choices)
        if not values:
            raise SpecError("choices must not be empty, got []", value=[])
        for value in values:
            if type(value) not in _SCALARS:
                raise SpecError(
                    f"each choice must be a number, a string or a bool, got {short_repr(value)}", value=value
                )
        if len(values) > MAX_CHOICES:
            raise SpecError(f"a choice holds at most {MAX_CHOICES} values, got {len(values)}", value=len(values))
        seen = set()
        for value in values:
            key = (isinstance(value, bool), value)  # _same as a set key: True apart from 1, 1 equal to 1.0
            if key in seen:
                raise SpecError(
                    f"choices must be distinct, got {short_repr(value)} twice in {short_repr(list(values))}",
                    value=value,
                )
            seen.add(key)
        object.__setattr__(self, "choices", values)

    def values(self) -> tuple[Any, ...]:
        return self.choices


@dataclass(frozen=True)
class IntRange(Dimension):
    """An integer dimension ``low, low + step, …, high`` (both ends included; Optuna ``suggest_int``).

    Args:
        low: Smallest value.
        high: Largest value; ``high - low`` must be a multiple of ``step``.
        step: Positive spacing.

    Raises:
        SpecError: A bound is not an ``int`` (``true`` and ``3.5`` are rejected), ``low > high``,
            ``step <= 0``, or ``high - low`` is not a multiple of ``step``.
    """

    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if type(value) is not int:
                raise SpecError(f"{name} must be an integer, got {short_repr(value)}", value=value)
        if self.step <= 0:
            raise SpecError(f"step must be positive, got step={short_repr(self.step)}", value=self.step)
        if self.low > self.high:
            low, high = short_repr(self.low), short_repr(self.high)
            raise SpecError(f"low must not exceed high, got low={low}, high={high}", value=self.low)
        if (self.high - self.low) % self.step:
            raise SpecError(
                f"high - low must be a multiple of step, got low={short_repr(self.low)}, "
                f"high={short_repr(self.high)}, step={short_repr(self.step)}",
                value=self.high,
            )

    def values(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1, self.step))

    def __len__(self) -> int:
        return (self.high - self.low) // self.step + 1

    def __contains__(self, value: object) -> bool:
        return type(value) is int and self.low <= value <= self.high and (value - self.low) % self.step == 0

    def canonical(self, value: Any) -> Any:
        if value in self:
            return value
        raise SpecError(f"must be {self.describe()}, got {short_repr(value)}", value=value)

    def sample(self, rng: random.Random) -> int:
        return self.low + self.step * rng.randrange(len(self))

    def describe(self) -> str:
        return f"an integer in [{self.low}, {self.high}] step {self.step}"


_RANGE_KEYS = ("low", "high", "step")


def parse_dimension(data: Any) -> Dimension:
    """Turn the YAML form of a field into a dimension: scalar → Fixed, list → Choice, mapping → IntRange.

    A dimension instance passes through unchanged.

    Raises:
        SpecError: Malformed form, e.g. an empty list, ``{low: 5, high: 3}``, an unknown key in a range.
    """
    if isinstance(data, Dimension):
        return data
    if isinstance(data, (list, tuple)):
        return Choice(data)
    if isinstance(data, dict):
        unknown = [key for key in data if key not in _RANGE_KEYS]
        if unknown:
            raise SpecError(
                f"unknown key {unknown[0]!r} in an integer range (expected low, high and optionally step), "
                f"got {short_repr(data)}",
                value=data,
            )
        missing = [key for key in ("low", "high") if key not in data]
        if missing:
            raise SpecError(f"an integer range needs {missing[0]!r}, got {short_repr(data)}", value=data)
        return IntRange(data["low"], data["high"], data.get("step", 1))
    return Fixed(data)


def dimension_to_data(dim: Dimension) -> Any:
    """The YAML form of a dimension (inverse of :func:`parse_dimension`)."""
    if isinstance(dim, IntRange):
        return {"low": dim.low, "high": dim.high, "step": dim.step}
    if isinstance(dim, Choice):
        return list(dim.choices)
    return dim.values()[0]
