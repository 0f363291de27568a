"""Parsing and printing of counts: budgets are parsed once, at the edge."""

from __future__ import annotations

import pytest

from nasgen.errors import BudgetError
from nasgen.units import format_bytes, format_count, parse_bytes, parse_count, parse_duration_ms, parse_macs


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("400M", 400_000_000),
        ("400k", 400_000),
        ("1.5g", 1_500_000_000),
        ("1e18", 10**18),
        (".5K", 500),
        ("1000e-3", 1),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2.5", "count: must be a whole number, got '2.5' = 2.5"),
        ("1.0001K", "count: must be a whole number, got '1.0001K' = 1000.1"),
        ("0.5", "count: must be a whole number, got '0.5' = 0.5 (did you mean a suffix, e.g. 0.5M or 0.5G?)"),
        ("1m", "count: 'm' means milli; write M for millions (e.g. 400M), got '1m'"),
        ("400m", "count: 'm' means milli; write M for millions (e.g. 400M), got '400m'"),
        ("1e400", "count: must be at most 1e18, got '1e400'"),
        ("1e999999999", "count: must be at most 1e18, got '1e999999999'"),
        ("2e18", "count: must be at most 1e18, got '2e18'"),
        ("9" * 30, f"count: must be at most 1e18, got '{'9' * 30}'"),
        (10**19, "count: must be at most 1e18, got 10000000000000000000"),
        ("0.0", "count: must be positive, got '0.0'"),
    ],
)
def test_parse_count_is_exact_and_bounded(text, message) -> None:
    with pytest.raises(BudgetError) as info:
        parse_count(text)
    assert str(info.value) == message


def test_decimal_arithmetic_is_exact() -> None:
    # 385.814752 * 1e6 in floats is 385814751.99999994; Decimal gives the count exactly
    assert parse_count("385.814752M") == 385_814_752
    assert parse_count("0.000001T") == 1_000_000
    assert parse_count("1.0001M") == 1_000_100


def test_budget_1e400_is_a_clean_cli_error(tmp_path) -> None:
    from typer.testing import CliRunner

    from nasgen.cli import app

    result = CliRunner().invoke(app, ["search", "--budget", "1e400", "--n-trials", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "budget (MACs): must be at most 1e18, got '1e400'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "ms"),
    [("5ms", 5.0), ("0.3s", 300.0), ("800us", 0.8), ("5m", 300_000.0), ("5min", 300_000.0), ("1.5h", 5_400_000.0),
     (" 90 s", 90_000.0)],
)
def test_parse_duration(text, ms) -> None:
    # "m" is minutes (as `timeout 5m`), milliseconds are "ms"
    assert parse_duration_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["5", "5x", "-1m", "0s", "nanms"])
def test_parse_duration_refuses(text) -> None:
    with pytest.raises(BudgetError, match="latency-budget"):
        parse_duration_ms(text, what="latency-budget")
