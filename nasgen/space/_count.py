"""Exact count of the distinct architectures of a space.

Global dimensions multiply. Stages are harder: with optional stages, the architectures' stage lists are
the strings of the language ``S_0 S_1 … S_{n-1}`` where ``S_i`` is stage ``i``'s domain ``D_i`` (a
product of its field domains), or ``D_i ∪ {ε}`` when the stage is optional. Two removal patterns can give
the same list (two adjacent optional stages with overlapping domains), so the product formula
``∏ (1 + |D_i|)`` would overcount. We count distinct strings exactly with the subset construction of
the automaton that reads a stage list (a deterministic automaton follows one path per string):

* a symbol's *type* is the set of stages whose domain contains it; the number of symbols of each type
  follows from the sizes of the domains' intersections (products of per-field intersections) by
  inclusion–exclusion over the overlapping sets of stages;
* a state of the deterministic automaton is the set of "next stage" positions still possible;
  reading a symbol of type ``T`` moves from position ``q`` to ``j + 1`` for each ``j ∈ T`` reachable from
  ``q`` by skipping optional stages only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nasgen.space._space import SearchSpace

__all__ = ["count_stage_sequences", "space_size"]

Domain = tuple[frozenset, ...]  # per field: the set of values


def _field_classes(sets: list[frozenset]) -> dict[frozenset[int], int]:
    """``{stages: number of values}`` grouping one field's values by the set of stages holding them."""
    by_domain: dict[frozenset, list[int]] = {}
    for i, values in enumerate(sets):
        by_domain.setdefault(values, []).append(i)  # equal domains are looked at once
    classes: dict[frozenset[int], int] = {}
    for value in frozenset().union(*by_domain):
        holders = frozenset(i for values, stages in by_domain.items() if value in values for i in stages)
        classes[holders] = classes.get(holders, 0) + 1
    return classes


def _symbol_types(domains: list[Domain]) -> dict[frozenset[int], int]:
    """``{type: number of symbols of exactly that type}`` for the types that occur.

    A symbol is one value per field; its type is the intersection over fields of the stages holding each
    value. Grouping each field's values by their holders first, then intersecting field by field, costs
    O(fields × classes × types) instead of one term per overlapping set of stages (2ⁿ for n equal stages).
    """
    if not domains:
        return {}
    types: dict[frozenset[int], int] = {frozenset(range(len(domains))): 1}
    for field in range(len(domains[0])):
        following: dict[frozenset[int], int] = {}
        classes = _field_classes([domain[field] for domain in domains])
        for group, count in types.items():
            for holders, number in classes.items():
                joint = group & holders
                if joint:
                    following[joint] = following.get(joint, 0) + count * number
        types = following
    return types


def count_stage_sequences(domains: list[Domain], optional: list[bool]) -> int:
    """Number of distinct stage lists: strings of ``S_0 … S_{n-1}`` (see the module docstring).

    Args:
        domains: Per stage, the tuple of its fields' value sets (fields in the same order for all stages).
        optional: Per stage, whether it may be removed.
    """
    n = len(domains)

    def reach(q: int) -> list[int]:
        """Stages that can hold the next symbol from position ``q`` (skipping optional stages)."""
        out = []
        for j in range(q, n):
            out.append(j)
            if not optional[j]:
                break
        return out

    def accepting(state: frozenset[int]) -> bool:
        return any(all(optional[q:]) for q in state)

    types = _symbol_types(domains)
    layer: dict[frozenset[int], int] = {frozenset({0}): 1}
    total = 0
    for _ in range(n):
        following: dict[frozenset[int], int] = {}
        for state, ways in layer.items():
            targets = {j for q in state for j in reach(q)}
            for group, count in types.items():
                nxt = frozenset(j + 1 for j in targets & group)
                if nxt:
                    following[nxt] = following.get(nxt, 0) + ways * count
        total += sum(ways for state, ways in following.items() if accepting(state))
        layer = following
    return total


def space_size(space: SearchSpace) -> int:
    """See :meth:`SearchSpace.size`."""
    globals_size = math.prod(
        len(dim) for label, dim in space.all_dimensions().items() if not label.startswith("stages.")
    )
    domains = [
        tuple(frozenset(dim.values()) for dim in stage.field_dimensions().values()) for stage in space.stages
    ]
    return globals_size * count_stage_sequences(domains, [stage.optional for stage in space.stages])
