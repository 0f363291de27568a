"""``nasgen schema``: print the JSON Schema of architecture files."""

from __future__ import annotations

import json

import typer

from nasgen.cli._common import console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("schema")
    @user_errors
    def schema() -> None:
        """Print the JSON Schema of architecture YAML/JSON files (for editor validation)."""
        from nasgen.spec import json_schema

        console.print_json(json.dumps(json_schema()))
