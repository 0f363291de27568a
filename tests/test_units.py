"""Parsing and printing of counts: budgets are parsed once, at the edge."""

from __future__ import annotations

import pytest

from nasgen.errors import BudgetError
from nasgen.units import format_bytes, format_count, parse_bytes, parse_count, parse_macs


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("400M", 400_000_000),
        ("400m", 400_000_000),
        ("1.5G", 1_500_000_000),
        ("400000000", 400_000_000),
        ("4e8", 400_000_000),
        ("385.814752M", 385_814_752),
        ("8.2K", 8_200),
        (" 2T ", 2_000_000_000_000),
        (123, 123),
    ],
)
def test_parse_count(text, value) -> None:
    assert parse_macs(text) == value
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["40x", "", "M", "-3M", "0", "1.2.3M", "400 MB"])
def test_parse_count_rejects(text) -> None:
    with pytest.raises(BudgetError, match=repr(text).replace("(", r"\(").replace(".", r"\.")):
        parse_macs(text)


def test_bool_is_not_a_count() -> None:
    with pytest.raises(BudgetError):
        parse_count(True)  # type: ignore[arg-type]


def test_parse_bytes_names_the_quantity() -> None:
    assert parse_bytes("512M") == 512_000_000
    with pytest.raises(BudgetError, match="memory"):
        parse_bytes("lots")


@pytest.mark.parametrize(
    ("value", "text"),
    [(385_814_752, "385.8M"), (5_288_548, "5.3M"), (8_365_617_152, "8.4G"), (999, "999"), (1_500, "1.5K")],
)
def test_format_count(value, text) -> None:
    assert format_count(value) == text


def test_format_bytes() -> None:
    assert format_bytes(12_500_000) == "12.5 MB"
    assert format_bytes(512) == "512 B"
