"""``nasgen schema``: print the JSON Schema of architecture files, or of search-space files with ``--space``."""

from __future__ import annotations

import json

import typer

from nasgen.cli._common import console, user_errors


@user_errors
def schema(
    space: bool = typer.Option(False, "--space", help="The schema of search-space files instead."),
) -> None:
    """Print the JSON Schema of architecture YAML/JSON files, or of search-space files with --space
    (for editor validation: nasgen schema --space > space.schema.json)."""
    if space:
        from nasgen.space import space_json_schema

        console.print_json(json.dumps(space_json_schema()))
        return
    from nasgen.spec import json_schema

    console.print_json(json.dumps(json_schema()))


def register(app: typer.Typer) -> None:
    """Add ``nasgen schema`` to the app (the command is the module-level :func:`schema`)."""
    app.command("schema")(schema)
