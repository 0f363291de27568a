"""``nasgen plugins``: list the loaded plugins, what each provides and where it comes from, and failures."""

from __future__ import annotations

from typing import Any

import typer

from nasgen.cli._common import console, err_console, user_errors


def _with_description(registry: Any, kind: str) -> str:
    description = registry.block_kinds[kind][0].description
    return f"{kind} ({description})" if description else kind


@user_errors
def plugins() -> None:
    """List the plugins of the entry-point group 'nasgen': what each provides, where it comes from,
    and any plugin that failed to load (with the reason)."""
    import warnings

    from nasgen.hooks import PluginLoadWarning, load_plugins

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)  # listed below instead
        registry = load_plugins()
    console.print(f"{len(registry.plugins)} plugin(s) loaded from the entry-point group 'nasgen'", highlight=False)
    for info in registry.plugins:
        where = info.source if info.path is None else f"{info.source}: {info.path}"
        console.print(f"{info.name}  ({info.module}, from {where})", highlight=False, soft_wrap=True)
        for what, names in info.provides.items():
            if what == "block_kinds":
                names = tuple(_with_description(registry, kind) for kind in names)
            if names:
                console.print(f"  {what.replace('_', ' ')}: {', '.join(names)}", highlight=False, soft_wrap=True)
        if not any(info.provides.values()):
            console.print("  provides nothing", highlight=False)
    for failure in registry.failures:
        err_console.print(f"[bold red]failed:[/] {failure.message}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``nasgen plugins`` to the app (the command is the module-level :func:`plugins`)."""
    app.command("plugins")(plugins)
