"""nasgen needs Optuna 5 APIs: an older Optuna is a clear error at import, not an AttributeError mid-trial."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import optuna
import pytest

from nasgen.errors import SearchError
from nasgen.search._version import MIN_OPTUNA, check_optuna_version


@pytest.mark.parametrize("version", ["4.8.0", "4.0.0", "3.6.1", "garbage"])
def test_old_optuna_is_refused(version: str) -> None:
    with pytest.raises(SearchError) as info:
        check_optuna_version(version)
    assert str(info.value) == (
        "nasgen needs Optuna >= 5.0 (Trial.set_constraint, RetryHeartbeatStaleTrialCallback), "
        f"found Optuna {version}: pip install 'optuna>=5.0'"
    )


@pytest.mark.parametrize("version", ["5.0.0", "5.1.0.dev0", "6.0.0", "10.2"])
def test_new_optuna_is_accepted(version: str) -> None:
    check_optuna_version(version)


def test_import_of_nasgen_search_checks_the_installed_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna, "__version__", "4.8.0")
    monkeypatch.delitem(sys.modules, "nasgen.search")
    with pytest.raises(SearchError, match="found Optuna 4.8.0"):
        importlib.import_module("nasgen.search")


def test_the_apis_that_need_optuna_5_exist_in_the_installed_one() -> None:
    assert callable(optuna.trial.Trial.set_constraint)
    assert callable(optuna.storages.RetryHeartbeatStaleTrialCallback)
    check_optuna_version(optuna.__version__)


def test_pyproject_lower_bound_matches() -> None:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    bound = re.search(r'"optuna>=([0-9.]+)"', text).group(1)
    assert tuple(int(part) for part in bound.split(".")) == MIN_OPTUNA
