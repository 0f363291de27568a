"""``nasgen spaces``: list the built-in search spaces and those plugins provide."""

from __future__ import annotations

import typer

from nasgen.cli._common import console, user_errors


@user_errors
def spaces() -> None:
    """List the search spaces (built-in and from plugins): name, description, architectures, dimensions.

    Use a name with `nasgen search --space NAME` or `nasgen validate NAME`.
    """
    from rich.table import Table

    from nasgen.hooks import load_plugins
    from nasgen.space import builtin_spaces, load_space

    table = Table(title="search spaces")
    for column in ("name", "description", "architectures", "dimensions"):
        table.add_column(column, justify="right" if column in ("architectures", "dimensions") else "left")
    for name, description in builtin_spaces().items():
        space = load_space(name)
        table.add_row(name, description, f"{space.size():.3g}", str(len(space.dimensions())))
    registry = load_plugins()
    for name, (_, plugin) in sorted(registry.search_spaces.items()):
        space = registry.search_space(name)
        description = f"{space.description or ''} (plugin {plugin})".strip()
        table.add_row(name, description, f"{space.size():.3g}", str(len(space.dimensions())))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``nasgen spaces`` to the app (the command is the module-level :func:`spaces`)."""
    app.command("spaces")(spaces)
