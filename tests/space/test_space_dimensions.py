"""Fixed / Choice / IntRange: domains, membership, canonical values, sampling, bad construction."""

from __future__ import annotations

import random

import pytest

from nasgen.errors import SpecError
from nasgen.space import Choice, Fixed, IntRange, dimension_to_data, parse_dimension


def test_int_range_enumerates_both_ends_with_step() -> None:
    dim = IntRange(5, 11, 2)
    assert dim.values() == (5, 7, 9, 11)
    assert len(dim) == 4
    assert 9 in dim and 8 not in dim and 13 not in dim
    assert True not in IntRange(0, 2)  # a bool is not an int here
    assert dim.describe() == "an integer in [5, 11] step 2"


def test_choice_keeps_order_and_tells_bool_from_int() -> None:
    dim = Choice([5, 3])
    assert dim.values() == (5, 3)
    assert len(dim) == 2
    assert 3 in dim and True not in Choice([1, 2])
    assert Choice([0.0, 0.25]).canonical(0) == 0.0  # an int in a float choice maps to the float
    assert dim.describe() == "5 or 3"


def test_canonical_rejects_out_of_domain_with_the_value() -> None:
    with pytest.raises(SpecError, match=r"must be 3 or 5, got 4"):
        Choice([3, 5]).canonical(4)
    with pytest.raises(SpecError, match=r"must be an integer in \[1, 3\] step 1, got 7"):
        IntRange(1, 3).canonical(7)


def test_fixed_has_one_value() -> None:
    assert Fixed(3).values() == (3,)
    assert len(Fixed("silu")) == 1


def test_sampling_uses_the_given_rng_only() -> None:
    state = random.getstate()
    draws = [IntRange(1, 9, 2).sample(random.Random(seed)) for seed in range(50)]
    assert random.getstate() == state
    assert set(draws) <= {1, 3, 5, 7, 9} and len(set(draws)) > 1
    assert draws == [IntRange(1, 9, 2).sample(random.Random(seed)) for seed in range(50)]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Choice([]), r"choices must not be empty, got \[\]"),
        (lambda: Choice([3, 3]), r"choices must be distinct, got 3 twice"),
        (lambda: Choice([[3]]), r"each choice must be a number, a string or a bool, got \[3\]"),
        (lambda: Choice("35"), r"choices must be a list of values, got '35'"),
        (lambda: IntRange(3, 1), r"low must not exceed high, got low=3, high=1"),
        (lambda: IntRange(1, 3, 0), r"step must be positive, got step=0"),
        (lambda: IntRange(1, 3, -1), r"step must be positive, got step=-1"),
        (lambda: IntRange(1, 4, 2), r"high - low must be a multiple of step, got low=1, high=4, step=2"),
        (lambda: IntRange(True, 3), r"low must be an integer, got True"),
        (lambda: IntRange(1, 3.5), r"high must be an integer, got 3.5"),
        (lambda: Fixed(None), r"a fixed value must be a number, a string or a bool, got None"),
    ],
)
def test_bad_dimensions_raise_spec_error(build, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build()


def test_yaml_forms_round_trip() -> None:
    assert parse_dimension([3, 5]) == Choice([3, 5])
    assert parse_dimension({"low": 1, "high": 4}) == IntRange(1, 4, 1)
    assert parse_dimension(7) == Fixed(7)
    for dim in (Choice([3, 5]), IntRange(2, 8, 2), Fixed(0.25)):
        assert parse_dimension(dimension_to_data(dim)) == dim
    with pytest.raises(SpecError, match=r"unknown key 'hgh' in an integer range"):
        parse_dimension({"low": 1, "hgh": 2})
    with pytest.raises(SpecError, match=r"an integer range needs 'high'"):
        parse_dimension({"low": 1})
