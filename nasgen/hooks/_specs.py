"""Hook specifications of nasgen's plugin system (pluggy, project name and entry-point group ``nasgen``).

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names are the hooks
below. It is found through an entry point in the group ``nasgen``::

    [project.entry-points.nasgen]
    my_plugin = "my_package.plugin"

Every hook is optional; a plugin implements the ones it needs. Names a plugin provides (transforms,
block kinds, search spaces) must be unique across all plugins: a duplicate is a
:class:`~nasgen.errors.PluginError` naming both plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
from nasgen.spec import ArchSpec, BlockKind  # BlockKind lives in the spec layer; re-exported here

__all__ = ["PROJECT", "BlockKind", "NasgenHookSpecs", "Transform", "hookimpl", "hookspec"]

PROJECT = "nasgen"
"""pluggy project name, also the entry-point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Transform = Callable[..., ArchSpec]
"""``transform(spec, **options) -> ArchSpec``: a pure function that returns a new spec."""


class NasgenHookSpecs:
    """The hooks a nasgen plugin may implement (each with ``@nasgen.hooks.hookimpl``)."""

    @hookspec
    def nasgen_transforms(self) -> dict[str, Transform]:
        """Architecture transforms this plugin provides.

        Returns:
            Mapping of a unique transform name to ``transform(spec, **options) -> ArchSpec``. A
            transform must not mutate its input (specs are frozen) and should raise
            :class:`~nasgen.errors.SpecError` on bad options.
        """

    @hookspec
    def nasgen_api(self) -> dict[str, Any]:
        """Named programming interfaces this plugin offers to nasgen's CLI and top-level names.

        This is how nasgen reaches a plugin's functions beyond transforms (the compound-scaling plugin offers
        ``compound_scaling``, its module, which ``nasgen scale`` and ``nasgen.scale_family`` use) without
        importing the plugin itself.

        Returns:
            Mapping of a unique interface name to an object (a module or a namespace).
        """

    @hookspec
    def nasgen_block_kinds(self) -> list[BlockKind]:
        """Extra block kinds, one :class:`~nasgen.spec.BlockKind` descriptor each: stage options, builder, cost
        rule, ``model.py`` source, timm prefix (builder, cost rule and source may be import strings, so a
        plugin need not import torch to register a kind).

        Returns:
            :class:`BlockKind` objects; their ``kind`` tags must be unique and not built in.
        """

    @hookspec
    def nasgen_search_spaces(self) -> dict[str, str | Path | Any]:
        """Extra named search spaces.

        Returns:
            Mapping of a unique space name to a YAML path or a :class:`~nasgen.space.SearchSpace`.
        """

    @hookspec
    def nasgen_evaluators(self) -> dict[str, Callable[..., Any]]:
        """Extra evaluators a search can score with (``--evaluator NAME`` or ``NAME:ARGUMENT``).

        Returns:
            Mapping of a unique evaluator name (not a built-in one: ``proxy``, ``supernet``, ``zero-cost``) to a
            factory ``factory(context, argument) -> Evaluator``: ``context`` is the search's
            ``nasgen.search.evaluators.EvaluatorContext`` (prepared data, proxy recipe, seed …), ``argument``
            the text after ``:`` (or None), and the result a ``nasgen.search.evaluators.Evaluator``.
        """

    @hookspec
    def nasgen_trial_start(self, trial_number: int, spec: ArchSpec) -> None:
        """Called by the search before trial ``trial_number`` evaluates ``spec``.

        Args:
            trial_number: Optuna trial number (0-based).
            spec: The frozen architecture the trial evaluates.
        """

    @hookspec
    def nasgen_trial_end(self, trial_number: int, spec: ArchSpec, result: Any) -> None:
        """Called by the search when trial ``trial_number`` ends.

        Args:
            trial_number: Optuna trial number (0-based).
            spec: The architecture the trial evaluated.
            result: The trial's record: a mapping with at least ``state`` (``"complete"``,
                ``"pruned"``, ``"infeasible"`` or ``"fail"``), ``macs``, ``params`` and, when
                trained, ``val_top1``.
        """

    @hookspec
    def nasgen_run_complete(self, run: Any, out: Path | None, console: Any) -> None:
        """Called when a search or a confirmation has written its outputs (the built-in report plugin writes
        ``report.html`` here). A raising implementation does not cost the run its outputs: they are written.

        Args:
            run: The run (``nasgen.runs.Run``).
            out: The folder the outputs went to (the run directory, or ``confirm``'s ``out``); None = ``run.out``.
            console: A rich console to print to, or None (print nothing to stdout).
        """
