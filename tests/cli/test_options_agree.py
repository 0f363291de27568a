"""One source of options: the CLI's defaults are the Python API's (a changed default cannot drift apart)."""

from __future__ import annotations

import inspect

import typer.main

from nasgen.cli import app
from nasgen.search import PRUNERS, SAMPLERS, search

# CLI option -> API argument where the names differ (``objective`` in Python is the stand-in scorer)
RENAMED = {"objective": "reward"}
# CLI options that build one API argument (the proxy recipe overrides) or that the API spells as a collection
PROXY_OVERRIDES = {"images_per_epoch", "batch_size", "lr", "proxy_resolution", "progressive"}
EMPTY_COLLECTIONS = {"enqueue", "scale_phi"}


def _command(name):
    return typer.main.get_command(app).commands[name]


def test_search_cli_defaults_are_the_api_defaults():
    api = inspect.signature(search).parameters
    checked = 0
    for param in _command("search").params:
        if param.name == "budget" or param.name in PROXY_OVERRIDES:
            continue
        name = RENAMED.get(param.name, param.name)
        assert name in api, f"--{param.name} has no API argument"
        default = api[name].default
        if param.name in EMPTY_COLLECTIONS:
            assert not default and not param.default, param.name
        else:
            assert param.default == default, f"--{param.name}: CLI {param.default!r}, API {default!r}"
        checked += 1
    assert checked >= 20


def test_search_cli_choices_are_the_registered_samplers_and_pruners():
    from nasgen.cli import search as cli_search

    assert set(cli_search._SAMPLERS) == set(SAMPLERS)
    assert set(cli_search._PRUNERS) == set(PRUNERS)
